"""diffcp's API for the LPGD modes, on lpgd's Rust core.

``solve_and_derivative(_batch)``, ``solve_only(_batch)`` and ``solve_and_derivative_internal``
with diffcp 1.1.9's signatures and semantics for ``mode="lpgd" | "lpgd_left" | "lpgd_right"``
(``derivative_kwargs={"tau": τ, "rho": ρ}``). A batch is one Rust call on all cores with the GIL
released (``n_jobs_forward`` / ``n_jobs_backward`` set the thread count); the caller's matrices
are never modified, and unsorted or duplicate indices are handled (gradients come back on A's own
stored entries, in its order, explicit zeros included).

``install()`` makes ``import diffcp`` resolve to this module (for cvxpylayers and cvxpy). Modes
other than LPGD (``"lsqr"``, ``"dense"``) are handed to the real diffcp when it is installed and
are a clear error otherwise.

Failures: by default a failed item raises :class:`SolverError` naming the item and its status;
``on_failure="nan"`` returns NaN for the failed items instead (and keeps the others).

>>> import numpy as np, scipy.sparse as sp
>>> from lpgd import diffcp_compat as diffcp
>>> A = sp.csc_matrix(np.array([[1.0], [-1.0]]))          # x ≤ 1, −x ≤ 0
>>> x, y, s, D, DT = diffcp.solve_and_derivative(A, np.array([1.0, 0.0]), np.array([-1.0]),
...                                              {"l": 2}, mode="lpgd_right",
...                                              derivative_kwargs={"tau": 0.5, "rho": 0.0})
>>> round(float(x[0]), 6)                                  # max x: the bound x ≤ 1
1.0
>>> dA, db, dc = DT(np.array([1.0]), np.zeros(2), np.zeros(2))
>>> round(float(db[0]), 6)                                 # moving the bound moves x one for one
1.0
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _lpgd
from ._errors import SolverError, UnsupportedError, raise_failures

__version__ = "1.1.9"  # the diffcp API this module implements (cvxpy parses three integers)

# Cone constants, as diffcp (and SCS) name them.
ZERO = "z"
POS = "l"
SOC = "q"
PSD = "s"
EXP = "ep"
EXP_DUAL = "ed"
POWER = "p"

LPGD_MODES = {"lpgd": "centered", "lpgd_left": "left", "lpgd_right": "right"}


_real_diffcp = None


def _real():
    """The real diffcp package, for non-LPGD modes, or None."""
    global _real_diffcp
    if _real_diffcp is None:
        saved = sys.modules.pop("diffcp", None)
        try:
            import diffcp as real  # noqa: PLC0415

            _real_diffcp = real if real is not sys.modules[__name__] else False
        except ImportError:
            _real_diffcp = False
        finally:
            if saved is not None:
                sys.modules["diffcp"] = saved
    return _real_diffcp or None


def install() -> None:
    """Make ``import diffcp`` resolve to this module (call before importing cvxpylayers)."""
    _real()  # remember the real diffcp, if any, before shadowing it
    sys.modules["diffcp"] = sys.modules[__name__]


# ---------------------------------------------------------------------------------------------
# Conversions


def _cones(cone_dict: dict) -> list[tuple[str, float]]:
    """diffcp's cone dict as (kind, size or exponent) pairs in SCS order."""
    out: list[tuple[str, float]] = []
    if cone_dict.get(EXP_DUAL, 0):
        raise UnsupportedError("dual exponential cones are not supported")
    if cone_dict.get(ZERO, 0):
        out.append(("z", float(cone_dict[ZERO])))
    if cone_dict.get(POS, 0):
        out.append(("l", float(cone_dict[POS])))
    for k in cone_dict.get(SOC, []) or []:
        out.append(("q", float(k)))
    psd = cone_dict.get(PSD, []) or []
    for k in [psd] if isinstance(psd, (int, np.integer)) else psd:
        out.append(("s", float(k)))  # solved where the backend has PSD cones (clarabel-sdp)
    for _ in range(int(cone_dict.get(EXP, 0) or 0)):
        out.append(("ep", 1.0))
    for a in cone_dict.get(POWER, []) or []:
        if a < 0:
            raise UnsupportedError("dual power cones (negative exponents) are not supported")
        out.append(("p", float(a)))
    return out


class _Csc:
    """A sparse matrix in canonical CSC form (sorted, duplicates summed) and the map from the
    caller's stored entries to the canonical ones, so gradients go back in the caller's order."""

    def __init__(self, matrix, upper: bool = False):
        a = sp.csc_matrix(matrix)  # a new object; the caller's matrix is not touched
        m, n = a.shape
        indptr = np.asarray(a.indptr, dtype=np.int64)
        rows = np.asarray(a.indices, dtype=np.int64)
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        if upper and (rows > cols).any():
            a = sp.csc_matrix(sp.triu(a))
            indptr = np.asarray(a.indptr, dtype=np.int64)
            rows = np.asarray(a.indices, dtype=np.int64)
            cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        key = cols * max(m, 1) + rows
        if a.has_canonical_format:
            # Sorted, no duplicates (the common case): the caller's entries are the canonical ones.
            unique, inverse = key, np.arange(len(key))
            data = np.array(a.data, dtype=np.float64)
        else:
            unique, inverse = np.unique(key, return_inverse=True)
            data = np.zeros(len(unique))
            np.add.at(data, inverse, np.asarray(a.data, dtype=np.float64))
        ucols = unique // max(m, 1)
        self.shape = (m, n)
        self.keys = unique  # (column, row) of each canonical entry, sorted
        self.indptr = np.searchsorted(ucols, np.arange(n + 1)).astype(np.int64)
        self.rows = (unique % max(m, 1)).astype(np.int64)
        self.data = data
        self.inverse = inverse
        self.caller_indptr = indptr
        self.caller_rows = rows

    @classmethod
    def many(cls, matrices, upper: bool = False) -> list:
        """One `_Csc` per matrix; a matrix object passed several times (one P for a whole batch)
        is converted once."""
        seen: dict = {}
        out: list[_Csc | None] = []
        for matrix in matrices:
            if matrix is None:
                out.append(None)
                continue
            key = id(matrix)
            if key not in seen:
                seen[key] = cls(matrix, upper=upper)
            out.append(seen[key])
        return out

    def raw(self):
        return (self.shape[0], self.shape[1], self.indptr, self.rows, self.data)

    def to_caller(self, values: np.ndarray) -> sp.csc_matrix:
        """A matrix with the caller's pattern holding `values` (given on the canonical entries)."""
        return sp.csc_matrix(
            (np.asarray(values)[self.inverse], self.caller_rows, self.caller_indptr),
            shape=self.shape,
        )

    def from_caller(self, matrix) -> np.ndarray:
        """Values on the canonical entries of a direction given with the caller's pattern."""
        d = sp.csc_matrix(matrix)
        out = np.zeros(len(self.data))
        if d.nnz:
            dc = d.tocoo()
            key = dc.col.astype(np.int64) * max(self.shape[0], 1) + dc.row.astype(np.int64)
            pos = np.searchsorted(self.keys, key)
            ok = (pos < len(self.keys)) & (self.keys[np.minimum(pos, len(self.keys) - 1)] == key)
            if not ok.all():
                raise ValueError("dA has an entry outside A's sparsity pattern")
            np.add.at(out, pos, dc.data)
        return out


def _f64(v) -> np.ndarray:
    """A contiguous float64 vector (a copy only where needed)."""
    return np.ascontiguousarray(v, dtype=np.float64).ravel()


def _threads(n_jobs) -> int | None:
    if n_jobs is None or n_jobs == -1 or n_jobs == 0:
        return None
    return int(n_jobs)


# Keywords the drop-in takes: lpgd's own, diffcp's, and the accuracy and limit keywords of
# diffcp, SCS and Clarabel (mapped onto the backend). SCS's and Clarabel's tuning knobs do not
# reach lpgd's backends: they are accepted with a warning. Anything else is a TypeError.
_OWN = {"backend", "solve_method", "high_accuracy", "cold", "on_failure", "mode",
        "derivative_kwargs", "n_jobs_forward", "n_jobs_backward", "warm_starts", "Ps",
        "return_dP", "return_info", "verbose"}
_ACCURACY = {"eps", "eps_abs", "eps_rel", "eps_infeas", "tol_gap_abs", "tol_gap_rel", "tol_feas",
             "tol_ktratio"}
_LIMITS = {"max_iters": "max_iter", "max_iter": "max_iter", "time_limit_secs": "time_limit",
           "time_limit": "time_limit"}
_TUNING = {"acceleration_lookback", "acceleration_interval", "use_indirect", "normalize", "scale",
           "adaptive_scale", "rho_x", "alpha", "gpu", "write_data_filename", "log_csv_filename",
           "equilibrate_enable", "equilibrate_max_iter", "direct_solve_method", "presolve_enable",
           "static_regularization_enable", "static_regularization_constant",
           "iterative_refinement_enable", "max_step_fraction"}


def _check_keywords(kwargs: dict) -> None:
    unknown = sorted(k for k in kwargs if k not in _OWN | _ACCURACY | set(_LIMITS) | _TUNING)
    if unknown:
        raise TypeError(f"unknown solver keyword(s) {unknown}; lpgd takes {sorted(_OWN)}, the "
                        f"accuracy keywords {sorted(_ACCURACY)} and the limits {sorted(_LIMITS)}")
    tuning = sorted(k for k in kwargs if k in _TUNING)
    if tuning:
        warnings.warn(f"solver tuning keyword(s) {tuning} do not apply to lpgd's backends and "
                      "are ignored", stacklevel=3)


def _solver_options(kwargs: dict) -> dict:
    """Backend choice, accuracy and limits from diffcp-, SCS- and Clarabel-style keyword
    arguments (an unknown keyword is a TypeError). ``max_iters``/``max_iter`` and
    ``time_limit_secs``/``time_limit`` reach the backend (Clarabel): a solve they stop answers
    its last iterate, with the status ``"iteration_limit"``/``"time_limit"`` in the info."""
    _check_keywords(kwargs)
    backend = str(kwargs.get("backend", "clarabel")).lower()
    method = kwargs.get("solve_method")
    if method is not None and str(method).lower() not in ("clarabel", "ecos", "scs"):
        backend = str(method).lower()
    high = bool(kwargs.get("high_accuracy", False))
    for key in _ACCURACY:
        if key in kwargs and kwargs[key] is not None and float(kwargs[key]) < 1e-8:
            high = True
    limits: dict[str, int | float | None] = {"max_iter": None, "time_limit": None}
    for key, name in _LIMITS.items():
        value = kwargs.get(key)
        if value is None:
            continue
        if name == "max_iter":
            if isinstance(value, bool) or int(value) != value:
                raise ValueError(f"{key} must be a whole number of iterations, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        limits[name] = value
    return {"backend": backend, "cold": bool(kwargs.get("cold", False)), "high_accuracy": high,
            **limits}


def _derivative_options(mode: str, kwargs: dict, threads=None) -> "_lpgd.LpgdConfig":
    """The LPGD configuration of diffcp's ``mode`` and ``derivative_kwargs``, checked once."""
    dk = dict(kwargs.get("derivative_kwargs") or {})
    return _lpgd.LpgdConfig(float(dk.get("tau", 1.0)), float(dk.get("rho", 0.1)),
                            LPGD_MODES[mode], str(dk.get("fallback", "none")), threads)


# ---------------------------------------------------------------------------------------------
# diffcp's functions


def _warm_starts(warm_starts, count):
    """diffcp's warm starts (one ``(x, y, s)`` or None per problem) as the forwards' guesses."""
    if warm_starts is None:
        return None
    warm_starts = list(warm_starts)
    if len(warm_starts) != count:
        raise ValueError(f"{len(warm_starts)} warm starts for {count} problems")
    out = []
    for w in warm_starts:
        if w is None:
            out.append(None)
            continue
        if len(w) != 3:
            raise ValueError("a warm start is (x, y, s)")
        out.append(tuple(_f64(v) for v in w))
    return out


def _forward(As, bs, cs, cone_dicts, Ps, n_jobs, kwargs, warm_starts=None):
    mats = _Csc.many(As)
    pmats = _Csc.many(Ps, upper=True)
    opts = _solver_options(kwargs)
    session = _lpgd.solve(
        [m.raw() for m in mats],
        [_f64(b) for b in bs],
        [_f64(c) for c in cs],
        [_cones(k) for k in cone_dicts],
        [None if p is None else p.raw() for p in pmats],
        opts["backend"],
        opts["cold"],
        opts["high_accuracy"],
        _threads(n_jobs),
        _warm_starts(warm_starts, len(As)),
        opts["max_iter"],
        opts["time_limit"],
    )
    return session, mats, pmats


def solve_only_batch(As, bs, cs, cone_dicts, n_jobs_forward=-1, warm_starts=None, **kwargs):
    """Solves every problem; returns (xs, ys, ss). ``mode`` and ``derivative_kwargs`` are
    accepted and ignored (as cvxpylayers passes them at inference). ``warm_starts`` (one
    ``(x, y, s)`` or None per problem) are certified exactly on their face by a ``+face``
    backend, else the problem is solved from scratch (the answer never depends on them beyond
    the certificate's tolerance). With ``return_info=True`` a fourth value is appended: one
    dict per problem saying how good its answer is (:func:`_infos`)."""
    Ps = kwargs.pop("Ps", None) or [None] * len(As)
    return_info = bool(kwargs.pop("return_info", False))
    on_failure = kwargs.get("on_failure", "raise")
    session, _, _ = _forward(As, bs, cs, cone_dicts, Ps, n_jobs_forward, kwargs, warm_starts)
    xs, errors = session.primal()
    raise_failures(errors, "forward", on_failure)
    out = list(xs), list(session.dual()), list(session.slack())
    return (*out, _infos(session)) if return_info else out


def _infos(session) -> list:
    """Per problem: ``status`` (``"solved"``, ``"almost_solved"``, ``"iteration_limit"``,
    ``"time_limit"``, or a failure's kind such as ``"infeasible"``), ``iterations``, the
    verification's relative ``primal_residual``, ``dual_residual`` and ``gap``, ``warm`` and
    ``error`` (the message, None where solved)."""
    columns = session.info()
    keys = list(columns)
    return [{k: (columns[k][i].item() if hasattr(columns[k][i], "item") else columns[k][i])
             for k in keys} for i in range(len(session))]


def solve_only(A, b, c, cone_dict, warm_start=None, **kwargs):
    """Solves one problem; returns (x, y, s)."""
    if "P" in kwargs:
        kwargs["Ps"] = [kwargs.pop("P")]
    xs, ys, ss = solve_only_batch([A], [b], [c], [cone_dict], n_jobs_forward=1,
                                  warm_starts=None if warm_start is None else [warm_start],
                                  **kwargs)
    return xs[0], ys[0], ss[0]


def solve_and_derivative_batch(
    As, bs, cs, cone_dicts, n_jobs_forward=-1, n_jobs_backward=-1, mode="lpgd", warm_starts=None, **kwargs
):
    """Solves every problem; returns (xs, ys, ss, D_batch, DT_batch) with LPGD's forward mode
    ``D_batch(dAs, dbs, dcs) -> (dxs, dys, dss)`` and backward ``DT_batch(dxs, dys, dss) ->
    (dAs, dbs, dcs)`` (and ``dPs`` when ``return_dP=True``). ``warm_starts`` and
    ``return_info`` as in :func:`solve_only_batch`."""
    if mode not in LPGD_MODES:
        real = _real()
        if real is None:
            raise SolverError(
                f"mode '{mode}' is not LPGD; install the real diffcp for it, or use "
                "mode='lpgd' | 'lpgd_left' | 'lpgd_right'"
            )
        return real.solve_and_derivative_batch(
            As, bs, cs, cone_dicts, n_jobs_forward, n_jobs_backward, mode, warm_starts, **kwargs
        )
    Ps = kwargs.pop("Ps", None) or [None] * len(As)
    return_dP = bool(kwargs.pop("return_dP", False))
    return_info = bool(kwargs.pop("return_info", False))
    on_failure = kwargs.get("on_failure", "raise")
    deriv = _derivative_options(mode, kwargs, _threads(n_jobs_backward))
    session, mats, pmats = _forward(As, bs, cs, cone_dicts, Ps, n_jobs_forward, kwargs, warm_starts)
    xs, errors = session.primal()
    raise_failures(errors, "forward", on_failure)
    ys, ss = session.dual(), session.slack()

    def DT_batch(dxs, dys, dss, **_):
        das, dbs, dcs, dps, errs = session.backward(
            [_f64(v) for v in dxs],
            [_f64(v) for v in dys],
            [_f64(v) for v in dss],
            deriv,
        )
        raise_failures(errs, "backward", on_failure)
        dAs = [m.to_caller(v) for m, v in zip(mats, das)]
        if return_dP:
            dPs = [None if p is None else p.to_caller(v) for p, v in zip(pmats, dps)]
            return dAs, list(dbs), list(dcs), dPs
        return dAs, list(dbs), list(dcs)

    def D_batch(dAs, dbs, dcs, **_):
        dxs, dys, dss, errs = session.jvp(
            [m.from_caller(d) for m, d in zip(mats, dAs)],
            [_f64(v) for v in dbs],
            [_f64(v) for v in dcs],
            deriv,
        )
        raise_failures(errs, "forward mode", on_failure)
        return list(dxs), list(dys), list(dss)

    out = list(xs), list(ys), list(ss), D_batch, DT_batch
    return (*out, _infos(session)) if return_info else out


def solve_and_derivative(A, b, c, cone_dict, warm_start=None, mode="lpgd", **kwargs):
    """One problem: (x, y, s, D, DT) with D(dA, db, dc) and DT(dx, dy, ds)."""
    if "P" in kwargs:
        kwargs["Ps"] = [kwargs.pop("P")]
    xs, ys, ss, D_batch, DT_batch = solve_and_derivative_batch(
        [A], [b], [c], [cone_dict], n_jobs_forward=1, n_jobs_backward=1, mode=mode,
        warm_starts=None if warm_start is None else [warm_start], **kwargs
    )

    def D(dA, db, dc, **kw):
        dxs, dys, dss = D_batch([dA], [db], [dc], **kw)
        return dxs[0], dys[0], dss[0]

    def DT(dx, dy, ds, **kw):
        out = DT_batch([dx], [dy], [ds], **kw)
        return tuple(v[0] for v in out)

    return xs[0], ys[0], ss[0], D, DT


def solve_and_derivative_internal(A, b, c, cone_dict, warm_start=None, mode="lpgd", **kwargs) -> Any:
    """As :func:`solve_and_derivative` (diffcp's internal entry point has the same result)."""
    return solve_and_derivative(A, b, c, cone_dict, warm_start=warm_start, mode=mode, **kwargs)
