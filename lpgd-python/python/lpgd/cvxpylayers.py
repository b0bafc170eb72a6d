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

from . import diffcp_compat


def _cone_dict(dims) -> dict:
    """cvxpy's cone dimensions as diffcp's cone dict (rows: zero, nonneg, soc, exp, power)."""
    get = dims.get if isinstance(dims, dict) else (lambda k, d=None: getattr(dims, k, d))
    if list(get("psd", []) or []):
        raise diffcp_compat.SolverError("positive semidefinite cones are not supported yet")
    if list(get("pnd", []) or []):
        raise diffcp_compat.SolverError("n-dimensional power cones are not supported")
    return {
        "z": int(get("zero", 0) or 0),
        "l": int(get("nonneg", 0) or 0),
        "q": [int(k) for k in (get("soc", []) or [])],
        "ep": int(get("exp", 0) or 0),
        "p": [float(a) for a in (get("p3d", []) or [])],
    }


class LpgdSolver(SolverInterface):
    """LPGD on lpgd's Rust core as a cvxpylayers solver.

    ``tau`` and ``rho`` are LPGD's step and proximal weight, ``side`` one of ``"centered"``,
    ``"right"``, ``"left"``, ``backend`` a name of :func:`lpgd.backends`, ``threads`` the worker
    count (None: all cores), ``on_failure`` ``"raise"`` (``SolverError`` naming the item) or
    ``"nan"``.
    """

    canon_solver = "SCS"  # the same canonical form cvxpylayers builds for diffcp
    supports_quad_obj = True

    def __init__(self, tau=1.0, rho=0.1, side="centered", backend="clarabel", threads=None,
                 on_failure="raise", high_accuracy=False):
        mode = {"centered": "lpgd", "centred": "lpgd", "right": "lpgd_right", "left": "lpgd_left"}
        if side not in mode:
            raise ValueError(f"unknown side '{side}' (centered, right or left)")
        self.mode = mode[side]
        self.options = {
            "derivative_kwargs": {"tau": float(tau), "rho": float(rho)},
            "backend": backend,
            "on_failure": on_failure,
            "high_accuracy": high_accuracy,
        }
        self.threads = -1 if threads is None else int(threads)

    def setup(self, ctx) -> None:
        indices, indptr, (m, n1) = ctx.reduced_A.problem_data_index
        self.a_indices = np.asarray(indices)
        self.a_indptr = np.asarray(indptr)
        self.shape = (m, n1 - 1)
        n = n1 - 1
        self.split = int(self.a_indptr[n])  # entries of A's columns, then of the b column
        self.b_rows = self.a_indices[self.split:]
        p_struct = getattr(getattr(ctx, "reduced_P", None), "problem_data_index", None)
        self.p_structure = None
        if p_struct is not None:
            p_indices, p_indptr, p_shape = p_struct
            cols = np.repeat(np.arange(p_shape[1]), np.diff(p_indptr))
            if np.any(np.asarray(p_indices) > cols):
                raise NotImplementedError("a quadratic cost stored below its diagonal is not supported yet")
            self.p_structure = (np.asarray(p_indices), np.asarray(p_indptr), tuple(p_shape))
        self.cones = _cone_dict(ctx.cone_dims)

    def _data(self, P, q, A):
        m, n = self.shape
        As, bs, cs, Ps = [], [], [], []
        for i in range(q.shape[0]):
            vals = np.asarray(A[i], dtype=np.float64)
            As.append(sp.csc_matrix((-vals[: self.split], self.a_indices[: self.split],
                                     self.a_indptr[: n + 1]), shape=(m, n)))
            b = np.zeros(m)
            np.add.at(b, self.b_rows, vals[self.split:])
            bs.append(b)
            cs.append(np.asarray(q[i][:-1], dtype=np.float64))
            if P is not None and self.p_structure is not None:
                pi, pp, shape = self.p_structure
                Ps.append(sp.csc_matrix((np.asarray(P[i], dtype=np.float64), pi, pp), shape=shape))
            else:
                Ps.append(None)
        return As, bs, cs, Ps

    def solve_numpy_batch(self, P, q, A, dims, solver_args, needs_grad):
        As, bs, cs, Ps = self._data(P, q, A)
        options = {**self.options, **(solver_args or {})}
        options.pop("mode", None)
        if needs_grad:
            xs, ys, _, _, DT = diffcp_compat.solve_and_derivative_batch(
                As, bs, cs, [self.cones] * len(As), n_jobs_forward=self.threads,
                n_jobs_backward=self.threads, mode=self.mode, Ps=Ps,
                return_dP=any(p is not None for p in Ps), **options)
            state = (DT, [b.shape[0] for b in bs], any(p is not None for p in Ps))
        else:
            xs, ys, _ = diffcp_compat.solve_only_batch(
                As, bs, cs, [self.cones] * len(As), n_jobs_forward=self.threads, Ps=Ps, **options)
            state = None
        return np.stack(xs), np.stack(ys), state

    def derivative_numpy_batch(self, dprimal, ddual, saved_state):
        DT, ms, with_p = saved_state
        dxs = [np.asarray(v, dtype=np.float64) for v in dprimal]
        dys = [np.asarray(v, dtype=np.float64) for v in ddual]
        out = DT(dxs, dys, [np.zeros(m) for m in ms])
        dAs, dbs, dcs = out[:3]
        dq = np.stack([np.hstack([dc, [0.0]]) for dc in dcs])
        dA = np.stack([np.hstack([-dA.data, db[self.b_rows]]) for dA, db in zip(dAs, dbs)])
        dP = np.stack([p.data for p in out[3]]) if with_p else None
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
