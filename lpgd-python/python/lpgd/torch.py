"""PyTorch layers on lpgd's Rust core: conic programs without cvxpy, and combinatorial layers.

- :class:`ConicLayer` — ``min ½xᵀPx + cᵀx  s.t.  Ax + s = b, s ∈ K`` over a batch of values with a
  fixed sparsity structure; LPGD gradients with respect to A's stored values, b, c and P's.
- :class:`CombinatorialLayer` — ``y(w) = argmin_{y ∈ X} ⟨w, y⟩`` of any oracle of
  :mod:`lpgd.combinatorial` (or your own Python solver) with the rules LPGD (right side = blackbox
  backpropagation), NID and DPO.
- :class:`SPOPlus`, :class:`PFYLoss` — the SPO+ and perturbed Fenchel–Young losses.

Every pass is one Rust call for the whole batch, on all cores with the GIL released; the rules
are computed by the Rust functions themselves, so gradients equal the Rust core's bit for bit.
Inputs may be any float dtype and CPU device; the work is done in float64 and results come back
in the input's dtype and device.

A note on scale: LPGD moves the linear terms by ``τ`` times the *incoming gradient*, so a loss
averaged over the batch shrinks the perturbation by the batch size. Sum per-item losses (or scale
``tau``) when the step should not depend on how the batch is split — across data-parallel
processes, for instance.

>>> import torch, lpgd.torch as lt
>>> from lpgd import combinatorial
>>> layer = lt.CombinatorialLayer(combinatorial.top_k(4, 2), rule="lpgd", tau=1.0)
>>> w = torch.tensor([[0.3, -1.0, 0.2, 0.9]], dtype=torch.float64, requires_grad=True)
>>> y = layer(w)
>>> y.tolist()
[[0.0, 1.0, 1.0, 0.0]]
>>> (y[:, 2]).sum().backward()   # a loss that dislikes item 2
>>> w.grad.tolist()              # (y(w + τg) − y(w)) / τ: item 2 dearer, item 0 cheaper
[[1.0, 0.0, -1.0, 0.0]]
"""

from __future__ import annotations

import operator

import numpy as np
import scipy.sparse as sp
import torch

from . import _lpgd
from ._errors import SolverError, raise_failures
from ._kept import KeptSession
from .data import RandomState
from .diffcp_compat import _cones

__all__ = ["CombinatorialLayer", "ConicLayer", "PFYLoss", "SPOPlus", "SolverError"]



def _np(t: torch.Tensor) -> np.ndarray:
    """A contiguous float64 numpy copy of a tensor (detached, on the CPU)."""
    return np.ascontiguousarray(t.detach().to("cpu", torch.float64).numpy())


def _back(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(device=like.device, dtype=like.dtype)


def _check_on_failure(on_failure: str) -> None:
    if on_failure not in ("raise", "nan"):
        raise ValueError(f"on_failure must be 'raise' or 'nan', not {on_failure!r}")


class _Configured:
    """A layer's LPGD configuration (:class:`lpgd._lpgd.LpgdConfig`, checked once when the layer
    is built) and its values."""

    config: "_lpgd.LpgdConfig"

    @property
    def tau(self) -> float:
        """LPGD's step τ."""
        return self.config.tau

    @property
    def rho(self) -> float:
        """The proximal weight ρ."""
        return self.config.rho

    @property
    def side(self) -> str:
        """The side: ``"right"``, ``"left"`` or ``"centered"``."""
        return self.config.side

    @property
    def fallback(self) -> str:
        """The fallback for a failed re-solve."""
        return self.config.fallback

    @property
    def threads(self) -> int | None:
        """Worker threads (None: all cores)."""
        return self.config.threads


def _pattern(matrix, shape=None, upper=False):
    """Canonical CSC pattern (sorted, duplicates merged) of a scipy matrix, dense array or tensor
    whose nonzero positions are the structure."""
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().numpy()
    a = sp.csc_matrix(matrix, shape=shape)
    if upper:
        a = sp.csc_matrix(sp.triu(a))
    a = a.copy()
    a.sum_duplicates()
    a.sort_indices()
    return a


# ---------------------------------------------------------------------------------------------
# Conic layer


class _ConicFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, layer, keys, a_values, b, c, p_values):
        s = layer._structure
        session = s.solve(_np(a_values), _np(b), _np(c),
                          None if p_values is None else _np(p_values), layer.backend,
                          layer.cold, layer.high_accuracy, layer.threads,
                          layer._warm, keys if layer._warm is not None else None)
        layer._last_session = session
        x, y, sl, errors = session.stacked()
        raise_failures(errors, "ConicLayer forward", layer.on_failure)
        ctx.layer, ctx.session = layer, session
        ctx.likes = (a_values, b, c, p_values)
        return _back(x, c), _back(y, c), _back(sl, c)

    @staticmethod
    def backward(ctx, gx, gy, gs):
        layer, session = ctx.layer, ctx.session
        a_values, b, c, p_values = ctx.likes
        bsz = c.shape[0]

        def grad(g, k):
            return np.zeros((bsz, k)) if g is None else _np(g)

        da, db, dc, dp, errors = session.backward_stacked(
            grad(gx, layer.n), grad(gy, layer.m), grad(gs, layer.m), layer.config)
        raise_failures(errors, "ConicLayer backward", layer.on_failure)
        return (None, None, _back(da, a_values), _back(db, b), _back(dc, c),
                None if p_values is None else _back(dp, p_values))


class ConicLayer(_Configured, KeptSession, torch.nn.Module):
    """A batch of conic programs ``min ½xᵀPx + cᵀx  s.t.  Ax + s = b, s ∈ K`` as a torch layer.

    The structure is given once: the sparsity of ``A`` (a scipy matrix, dense array or tensor
    whose nonzero positions are the pattern; values are ignored), the cones in diffcp's dict
    (``{"z": k, "l": k, "q": [k, …], "ep": k, "p": [α, …]}``, in that row order), and optionally
    the sparsity of ``P`` (its upper triangle is used). A call gives the values::

        x = layer(A_values, b, c)            # or layer(A_values, b, c, P_values)

    with ``A_values`` of shape ``(B, A_nnz)`` in the canonical (column-major, sorted) order of
    :attr:`A_pattern`, ``b`` ``(B, m)``, ``c`` ``(B, n)``, ``P_values`` ``(B, P_nnz)``; any of
    them may drop the batch dimension to be shared by all items (its gradient is then summed).
    :meth:`values_of` gathers values from dense matrices, differentiably.

    The backward pass is LPGD (``tau``, ``rho``, ``side``; ``fallback`` one of ``"none"``,
    ``"other_side"``, ``"shrink_tau"``), re-solving the whole batch in one Rust call with the
    forward pass's backend and options. ``outputs`` picks what a call returns, from ``"x"``,
    ``"y"``, ``"s"``. A failed item raises :class:`lpgd.SolverError` naming it
    (``on_failure="raise"``) or gives NaN in its rows (``"nan"``), never spoiling the others.

    ``backend`` is one of :func:`lpgd._lpgd.backends`, optionally with the suffix ``"+face"``
    (e.g. ``"clarabel+face"``): re-solves on the forward solution's active face with one sparse
    factorization where that is certified optimal (and, on QPs and proximal LPs, by an active-set
    continuation where the face moved), and the forward solution polished the same way —
    faster backward passes on QPs and exact gradients at small ``tau``. ``"+face+boundary"`` also
    solves second-order cones on their boundary (Newton's method; it pays for SOCPs at small
    ``tau``).

    **Warm forwards** (``warm=True``, the default; they take effect with a ``"+face"`` backend):
    each item starts from its last answer — by ``keys`` (``layer(A_values, b, c, keys=idx)``,
    one integer per item, e.g. dataset indices, so shuffled batches find their item) where given
    and known, else the last answer at its position — and is certified exactly on that answer's
    face (or continued from it) at the cost of one factorization instead of an interior-point
    solve; a guess that does not certify is solved from scratch, so the answer never depends on
    it beyond the certificate's tolerance (1e-9). :attr:`last_warm_share` is the share of the
    last call's items answered from their guess; :meth:`reset_warm` forgets the kept answers.
    """

    def __init__(self, A, cones: dict, P=None, *, backend: str = "clarabel", tau: float = 0.1,
                 rho: float = 0.0, side: str = "centered", fallback: str = "none",
                 outputs=("x",), on_failure: str = "raise", threads: int | None = None,
                 cold: bool = False, high_accuracy: bool = False, warm: bool = True):
        super().__init__()
        _check_on_failure(on_failure)
        self.config = _lpgd.LpgdConfig(float(tau), float(rho), side, fallback, threads)
        plain = backend
        for suffix in ("+face+boundary", "+face"):
            if plain.endswith(suffix):
                plain = plain[: -len(suffix)]
                break
        if plain not in _lpgd.backends():
            raise ValueError(f"backend {backend!r} is not built in; have {_lpgd.backends()} "
                             "(each also with the suffix '+face' or '+face+boundary')")
        outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if not outputs or any(o not in ("x", "y", "s") for o in outputs):
            raise ValueError("outputs must name some of 'x', 'y', 's'")
        a = _pattern(A)
        m, n = a.shape
        p = None if P is None else _pattern(P, shape=(n, n), upper=True)
        if p is not None and p.shape != (n, n):
            raise ValueError(f"P must be {n} × {n}, not {p.shape}")
        i64 = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
        self._structure = _lpgd.ConicStructure(
            m, n, i64(a.indptr), i64(a.indices), _cones(cones),
            None if p is None else i64(p.indptr), None if p is None else i64(p.indices))
        self.A_pattern = (i64(a.indptr), i64(a.indices))
        self.P_pattern = None if p is None else (i64(p.indptr), i64(p.indices))
        self.m, self.n = m, n
        self.backend, self.outputs, self.on_failure = backend, outputs, on_failure
        self.cold, self.high_accuracy = cold, high_accuracy
        self._keep(warm)

    @property
    def A_nnz(self) -> int:
        """Stored entries of A (the length of a row of ``A_values``)."""
        return self._structure.a_nnz

    @property
    def P_nnz(self) -> int:
        """Stored entries of P's upper triangle (0 without P)."""
        return self._structure.p_nnz

    def values_of(self, A: torch.Tensor, P: torch.Tensor | None = None):
        """``A_values`` (and ``P_values``) gathered from dense ``(…, m, n)`` (and ``(…, n, n)``)
        tensors at the pattern's positions; differentiable, so gradients reach the dense
        entries on the pattern."""
        def gather(t, pattern):
            indptr, rows = pattern
            cols = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            return t[..., torch.from_numpy(rows), torch.from_numpy(cols)]
        a = gather(A, self.A_pattern)
        if P is None:
            return a
        if self.P_pattern is None:
            raise ValueError("the layer has no P")
        return a, gather(P, self.P_pattern)

    def forward(self, A_values, b, c, P_values=None, *, keys=None):
        """Solves the batch; returns the outputs named at construction (one tensor or a tuple).
        ``keys`` (one integer per item) name the items for warm forwards."""
        if (P_values is None) != (self.P_pattern is None):
            raise ValueError("give P_values exactly when the layer has P")
        args = [A_values, b, c] + ([] if P_values is None else [P_values])
        args = [torch.as_tensor(t) for t in args]
        widths = [self.A_nnz, self.m, self.n, self.P_nnz]
        batched = [t.dim() == 2 for t in args]
        for t, k, name in zip(args, widths, ("A_values", "b", "c", "P_values")):
            if t.dim() not in (1, 2) or t.shape[-1] != k:
                raise ValueError(f"{name}: expected shape (B, {k}) or ({k},), got "
                                 f"{tuple(t.shape)}")
        sizes = {t.shape[0] for t, bt in zip(args, batched) if bt}
        if len(sizes) > 1:
            raise ValueError(f"batch sizes differ: {sorted(sizes)}")
        bsz = sizes.pop() if sizes else 1
        args = [t if bt else t.unsqueeze(0).expand(bsz, -1) for t, bt in zip(args, batched)]
        if len(args) == 3:
            args.append(None)
        if keys is not None:
            # operator.index: integers only (a float key would be truncated into another's).
            keys = [operator.index(k) for k in (keys.tolist() if hasattr(keys, "tolist") else keys)]
            if len(keys) != bsz:
                raise ValueError(f"{len(keys)} keys for {bsz} items")
            if any(k < 0 for k in keys):
                raise ValueError("keys must be nonnegative integers")
        x, y, s = _ConicFunction.apply(self, keys, *args)
        out = {"x": x, "y": y, "s": s}
        picked = [out[o] if any(batched) else out[o][0] for o in self.outputs]
        return picked[0] if len(picked) == 1 else tuple(picked)


# ---------------------------------------------------------------------------------------------
# Combinatorial layers


def _sign(sense: str) -> float:
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', not {sense!r}")
    return 1.0 if sense == "min" else -1.0


def _generator(generator) -> RandomState:
    if isinstance(generator, RandomState):
        return generator
    return RandomState(int(0 if generator is None else generator))


def _check_perturbation(samples, sigma):
    if int(samples) < 1:
        raise ValueError(f"samples must be at least 1, not {samples!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be positive and finite, not {sigma!r}")


def _batched(t: torch.Tensor, dim: int, name: str):
    t = torch.as_tensor(t)
    if t.dim() not in (1, 2) or t.shape[-1] != dim:
        raise ValueError(f"{name}: expected shape (B, {dim}) or ({dim},), got {tuple(t.shape)}")
    return (t, True) if t.dim() == 2 else (t.unsqueeze(0), False)


class _CombinatorialFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, layer, costs):
        w = layer._sign * _np(costs)
        o = layer.oracle
        if layer.rule == "dpo":
            noise, sols, errors = o.perturbed(w, layer.samples, layer.sigma, layer.generator,
                                              layer.threads)
            y = sols.sum(axis=1) / layer.samples  # the Rust mean: summed in sample order
            ctx.samples = (noise, sols)
        else:
            y, errors = o.solve(w, layer.threads)
        raise_failures(errors, f"{layer.rule} layer forward", layer.on_failure)
        ctx.layer, ctx.w, ctx.y, ctx.like = layer, w, y, costs
        return _back(y, costs)

    @staticmethod
    def backward(ctx, gy):
        layer = ctx.layer
        g = _np(gy)
        if layer.rule == "lpgd":
            gw, errors = layer.oracle.lpgd_backward(ctx.w, ctx.y, g, layer.config)
            raise_failures(errors, "lpgd layer backward", layer.on_failure)
        elif layer.rule == "nid":
            gw = -g
        else:
            noise, sols = ctx.samples
            gw = _lpgd.dpo_backward_stacked(noise, sols, g, layer.sigma, layer.baseline)
        return None, _back(layer._sign * gw, ctx.like)


class CombinatorialLayer(_Configured, torch.nn.Module):
    """``y(w) = argmin_{y ∈ X} ⟨w, y⟩`` (``sense="max"``: argmax) over a batch of costs
    ``(B, dim)`` (or one ``(dim,)`` vector), with a gradient rule for the backward pass:

    - ``"lpgd"`` — LPGD with step ``tau`` and ``side``; the right side is blackbox
      backpropagation (DBB) with λ = τ. One extra oracle call per item (two when centred).
    - ``"nid"`` — the negative identity (no oracle call).
    - ``"dpo"`` — the differentiable perturbed optimizer: the forward pass returns the mean of
      ``samples`` solutions under Gaussian noise of scale ``sigma`` drawn from ``generator``
      (an :class:`lpgd.data.RandomState` shared across calls, or a seed), the backward pass
      PyEPO's estimator with the mean-reward ``baseline``.

    ``oracle`` is one of :mod:`lpgd.combinatorial` (or ``python_oracle(fn, dim)``).
    """

    def __init__(self, oracle, rule: str = "lpgd", *, tau: float = 1.0, side: str = "right",
                 samples: int = 10, sigma: float = 1.0, baseline: bool = True, generator=None,
                 sense: str = "min", on_failure: str = "raise", threads: int | None = None):
        super().__init__()
        if rule not in ("lpgd", "nid", "dpo"):
            raise ValueError(f"rule must be 'lpgd', 'nid' or 'dpo', not {rule!r}")
        _check_on_failure(on_failure)
        self.config = _lpgd.LpgdConfig(float(tau), 0.0, side, "none", threads)
        _check_perturbation(samples, sigma)
        self.oracle, self.rule = oracle, rule
        self.samples, self.sigma, self.baseline = int(samples), float(sigma), bool(baseline)
        self.generator = _generator(generator)
        self._sign, self.sense = _sign(sense), sense
        self.on_failure = on_failure

    def forward(self, costs):
        """The solutions (``(B, dim)``, or ``(dim,)`` for one cost vector)."""
        w, batched = _batched(costs, self.oracle.dim, "costs")
        y = _CombinatorialFunction.apply(self, w)
        return y if batched else y[0]


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


class _SPOPlusFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, c_hat, c, y_star):
        s = module._sign
        loss, grad, errors = module.oracle.spo_plus(s * _np(c_hat), s * _np(c), _np(y_star),
                                                    module.threads)
        raise_failures(errors, "SPO+", module.on_failure)
        ctx.grad, ctx.like = s * grad, c_hat
        return _back(loss, c_hat)

    @staticmethod
    def backward(ctx, gl):
        return None, _back(ctx.grad, ctx.like) * gl.unsqueeze(-1), None, None


class SPOPlus(torch.nn.Module):
    """SPO+: ``loss(ĉ, c) = max_y (c − 2ĉ)ᵀy + 2ĉᵀy* − z*`` for a minimising oracle (the
    mirrored form for ``sense="max"``), with subgradient ``2(y* − y(2ĉ − c))``. Call it as
    ``loss(c_hat, c, y_star=None)``; ``y_star`` (the true solutions) is solved when not given."""

    def __init__(self, oracle, *, sense: str = "min", reduction: str = "mean",
                 on_failure: str = "raise", threads: int | None = None):
        super().__init__()
        _check_on_failure(on_failure)
        _reduce(torch.zeros(1), reduction)
        self.oracle, self._sign, self.sense = oracle, _sign(sense), sense
        self.reduction, self.on_failure, self.threads = reduction, on_failure, threads

    def forward(self, c_hat, c, y_star=None):
        """The SPO+ loss, reduced as configured."""
        d = self.oracle.dim
        ch, batched = _batched(c_hat, d, "c_hat")
        c, _ = _batched(c, d, "c")
        if y_star is None:
            ys, errors = self.oracle.solve(self._sign * _np(c), self.threads)
            raise_failures(errors, "SPO+ true solutions", self.on_failure)
            y_star = torch.from_numpy(ys)
        ys, _ = _batched(y_star, d, "y_star")
        losses = _SPOPlusFunction.apply(self, ch, c, ys)
        return _reduce(losses if batched else losses[0], self.reduction)


class _PFYFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, theta, y_star):
        s = module._sign
        w = s * _np(theta)
        noise, sols, errors = module.oracle.perturbed(w, module.samples, module.sigma,
                                                      module.generator, module.threads)
        raise_failures(errors, "PFYL", module.on_failure)
        loss, grad = _lpgd.pfyl_stacked(noise, sols, w, module.sigma, _np(y_star))
        ctx.grad, ctx.like = s * grad, theta
        return _back(loss, theta)

    @staticmethod
    def backward(ctx, gl):
        return None, _back(ctx.grad, ctx.like) * gl.unsqueeze(-1), None


class PFYLoss(torch.nn.Module):
    """The perturbed Fenchel–Young loss of predictions ``θ`` against true solutions ``y*``:
    ``⟨θ, y*⟩ − mean_m ⟨θ + σZ_m, y_m⟩`` for a minimising oracle (mirrored for ``sense="max"``),
    gradient ``y* − ȳ``; noise from ``generator`` (an :class:`lpgd.data.RandomState` or seed).
    Call it as ``loss(theta, y_star)``."""

    def __init__(self, oracle, *, samples: int = 10, sigma: float = 1.0, generator=None,
                 sense: str = "min", reduction: str = "mean", on_failure: str = "raise",
                 threads: int | None = None):
        super().__init__()
        _check_on_failure(on_failure)
        _check_perturbation(samples, sigma)
        _reduce(torch.zeros(1), reduction)
        self.oracle, self.samples, self.sigma = oracle, int(samples), float(sigma)
        self.generator = _generator(generator)
        self._sign, self.sense = _sign(sense), sense
        self.reduction, self.on_failure, self.threads = reduction, on_failure, threads

    def forward(self, theta, y_star):
        """The PFY loss, reduced as configured."""
        d = self.oracle.dim
        th, batched = _batched(theta, d, "theta")
        ys, _ = _batched(y_star, d, "y_star")
        losses = _PFYFunction.apply(self, th, ys)
        return _reduce(losses if batched else losses[0], self.reduction)
