"""A cvxpylayers backend: ``CvxpyLayer(problem, parameters, variables, solver=LpgdSolver(...))``.

A ``cvxpylayers.interfaces.base.SolverInterface`` for cvxpylayers 1.2: a batch is solved in one
Rust call, and the backward pass re-solves the LPGD-perturbed problems with the solvers kept from
the forward pass (the forward problem is never solved again). Works for every framework
cvxpylayers supports (torch, jax), through its numpy batch entry points.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from cvxpylayers.interfaces.base import SolverInterface

from . import _lpgd, diffcp_compat
from ._errors import raise_failures
from ._kept import KeptSession


def _cone_dict(dims) -> dict:
    """cvxpy's cone dimensions as diffcp's cone dict (rows in SCS's order: zero, nonneg, soc,
    psd — cvxpy's SCS form, the lower triangle by columns with off-diagonals scaled by √2, which
    is lpgd's — exp, power)."""
    get = dims.get if isinstance(dims, dict) else (lambda k, d=None: getattr(dims, k, d))
    if list(get("pnd", []) or []):
        raise diffcp_compat.UnsupportedError("n-dimensional power cones are not supported")
    return {
        "z": int(get("zero", 0) or 0),
        "l": int(get("nonneg", 0) or 0),
        "q": [int(k) for k in (get("soc", []) or [])],
        "s": [int(k) for k in (get("psd", []) or [])],
        "ep": int(get("exp", 0) or 0),
        "p": [float(a) for a in (get("p3d", []) or [])],
    }


def _canonical(indptr, rows, m):
    """For CSC arrays whose columns may be unsorted or hold duplicates: the canonical pattern
    (indptr, rows) and a sparse matrix S with ``values @ S`` summing given values into it; S is
    None when the pattern is canonical already."""
    indptr = np.asarray(indptr, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    n = len(indptr) - 1
    cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = cols * max(m, 1) + rows
    if len(key) < 2 or np.all(np.diff(key) > 0):
        return indptr, rows, None
    unique, inverse = np.unique(key, return_inverse=True)
    gather = sp.csc_matrix((np.ones(len(key)), (np.arange(len(key)), inverse)),
                           shape=(len(key), len(unique)))
    ucols = unique // max(m, 1)
    return (np.searchsorted(ucols, np.arange(n + 1)).astype(np.int64),
            (unique % max(m, 1)).astype(np.int64), gather)


class LpgdSolver(KeptSession, SolverInterface):
    """LPGD on lpgd's Rust core as a cvxpylayers solver.

    ``tau`` and ``rho`` are LPGD's step and proximal weight, ``side`` one of ``"centered"``,
    ``"right"``, ``"left"``, ``backend`` a name of :func:`lpgd.backends` (optionally with
    ``"+face"`` or ``"+face+boundary"``), ``threads`` the worker count (None: all cores),
    ``on_failure`` ``"raise"`` (``SolverError`` naming the item) or ``"nan"``.

    ``warm`` (default on; effective with a ``"+face"`` backend): each item of a batch starts
    from the answer at its position in the previous batch, certified exactly on that answer's
    face or solved from scratch (see :class:`lpgd.torch.ConicLayer`); ``last_warm_share`` is the
    share of the last batch answered so, ``reset_warm()`` forgets the kept answers.

    The problem's structure (the patterns of A and P, the cones) is compiled once, when the layer
    is set up; a batch then crosses into Rust as stacked values in one call, and the backward
    pass re-solves with the solvers kept from the forward pass (one analysis for the layer).
    """

    canon_solver = "SCS"  # the same canonical form cvxpylayers builds for diffcp
    supports_quad_obj = True

    def __init__(self, tau=1.0, rho=0.1, side="centered", backend="clarabel", threads=None,
                 on_failure="raise", high_accuracy=False, warm=True):
        side = _lpgd.LpgdConfig(float(tau), float(rho), side).side  # checked once, here
        self.mode = {"centered": "lpgd", "right": "lpgd_right", "left": "lpgd_left"}[side]
        self.options = {
            "derivative_kwargs": {"tau": float(tau), "rho": float(rho)},
            "backend": backend,
            "on_failure": on_failure,
            "high_accuracy": high_accuracy,
        }
        self.threads = -1 if threads is None else int(threads)
        self._keep(warm)

    def setup(self, ctx) -> None:
        indices, indptr, (m, n1) = ctx.reduced_A.problem_data_index
        indices, indptr = np.asarray(indices), np.asarray(indptr)
        n = n1 - 1
        self.shape = (m, n)
        self.split = int(indptr[n])  # entries of A's columns, then of the b column
        self.b_rows = indices[self.split:]
        a_indptr, a_rows, self.a_gather = _canonical(indptr[: n + 1], indices[: self.split], m)
        p_struct = getattr(getattr(ctx, "reduced_P", None), "problem_data_index", None)
        p_indptr = p_rows = self.p_gather = None
        if p_struct is not None:
            p_indices, p_ptr, p_shape = p_struct
            cols = np.repeat(np.arange(p_shape[1]), np.diff(p_ptr))
            if np.any(np.asarray(p_indices) > cols):
                raise NotImplementedError("a quadratic cost stored below its diagonal is not supported yet")
            p_indptr, p_rows, self.p_gather = _canonical(p_ptr, p_indices, n)
        self.has_p = p_indptr is not None
        self.cones = _cone_dict(ctx.cone_dims)
        self.structure = _lpgd.ConicStructure(m, n, a_indptr, a_rows, diffcp_compat._cones(self.cones),
                                              p_indptr, p_rows)
        self.reset_warm()  # answers of another layer's structure are no guesses

    def _values(self, P, q, A):
        """The batch's stacked values in the compiled structure's order."""
        m, _ = self.shape
        A = np.atleast_2d(np.asarray(A, dtype=np.float64))
        a = -A[:, : self.split]
        if self.a_gather is not None:
            a = np.asarray(a @ self.a_gather)
        b = np.zeros((A.shape[0], m))
        np.add.at(b, (slice(None), self.b_rows), A[:, self.split:])
        c = np.ascontiguousarray(np.atleast_2d(np.asarray(q, dtype=np.float64))[:, :-1])
        p = None
        if self.has_p:
            p = np.atleast_2d(np.asarray(P, dtype=np.float64))
            if self.p_gather is not None:
                p = np.asarray(p @ self.p_gather)
            p = np.ascontiguousarray(p)
        return np.ascontiguousarray(a), b, c, p

    def solve_numpy_batch(self, P, q, A, dims, solver_args, needs_grad):
        options = {**self.options, **(solver_args or {})}
        mode = options.pop("mode", self.mode)
        solver = diffcp_compat._solver_options(options)
        on_failure = options.get("on_failure", "raise")
        threads = diffcp_compat._threads(self.threads)
        a, b, c, p = self._values(P, q, A)
        session = self.structure.solve(a, b, c, p, solver["backend"], solver["cold"],
                                       solver["high_accuracy"], threads, self._warm,
                                       max_iter=solver["max_iter"],
                                       time_limit=solver["time_limit"])
        self._last_session = session
        x, y, _, errors = session.stacked()
        raise_failures(errors, "forward", on_failure)
        state = None
        if needs_grad:
            deriv = diffcp_compat._derivative_options(mode if mode in diffcp_compat.LPGD_MODES
                                                      else self.mode, options, threads)
            state = (session, deriv, threads, on_failure)
        return x, y, state

    def derivative_numpy_batch(self, dprimal, ddual, saved_state):
        session, deriv, threads, on_failure = saved_state
        dx = np.ascontiguousarray(np.atleast_2d(np.asarray(dprimal, dtype=np.float64)))
        dy = np.ascontiguousarray(np.atleast_2d(np.asarray(ddual, dtype=np.float64)))
        da, db, dc, dp, errors = session.backward_stacked(dx, dy, np.zeros_like(dy), deriv)
        raise_failures(errors, "backward", on_failure)
        if self.a_gather is not None:
            da = np.asarray(da @ self.a_gather.T)  # each given entry gets its canonical entry's
        dq = np.hstack([dc, np.zeros((dc.shape[0], 1))])
        dA = np.hstack([-da, db[:, self.b_rows]])
        dP = None
        if self.has_p:
            dP = dp if self.p_gather is None else np.asarray(dp @ self.p_gather.T)
        return dP, dq, dA

    # The torch layer enters at the batch methods; overriding them keeps the batch one Rust call
    # (the defaults would loop over items) and hands the whole saved state to the backward.

    def solve_torch_batch(self, P, q, A, dims, solver_args, needs_grad):
        import torch  # noqa: PLC0415

        def np_(t):
            return None if t is None else t.detach().cpu().numpy().astype(np.float64)

        primal, dual, state = self.solve_numpy_batch(np_(P), np_(q), np_(A), dims, solver_args, needs_grad)
        like = q
        return (torch.as_tensor(primal, dtype=like.dtype, device=like.device),
                torch.as_tensor(dual, dtype=like.dtype, device=like.device), state)

    def derivative_torch_batch(self, dprimal, ddual, saved_state):
        import torch  # noqa: PLC0415

        dP, dq, dA = self.derivative_numpy_batch(
            dprimal.detach().cpu().numpy(), ddual.detach().cpu().numpy(), saved_state)
        conv = lambda a: None if a is None else torch.as_tensor(a, dtype=dprimal.dtype, device=dprimal.device)  # noqa: E731
        return conv(dP), conv(dq), conv(dA)
