"""A gradient audit: LPGD through the cvxpylayers backend against central finite differences and
against diffcp's implicit derivative, on the layer kinds cvxpylayers documents.

    python lpgd-python/bench/gradient_audit.py [--json out.json]     # prints a markdown table

For each layer (least squares, logistic regression, an LP, a QP, an SOCP, a power-cone and a
PSD layer; a few items, parameters drawn from a fixed seed) and a random linear loss ``w·x``:

- ``fd``: central finite differences of the loss over every parameter entry (step 1e-4), the
  forward solved by ``clarabel+face`` with Clarabel's high accuracy (a face-certified forward
  is exact, so the differences carry no solver noise there);
- ``lpgd <backend>``: ``LpgdSolver(tau=1e-5, rho=0, side="centered")``'s gradient with Clarabel
  at its default accuracy, at high accuracy, and with the certified face re-solve, and whether
  every re-solve of the backward pass was certified exactly on a face (``last_info``);
- ``diffcp dense``: diffcp 1.1.9's implicit derivative (``mode="dense"``, Clarabel) when diffcp is
  installed (benchmark-only).

The error is ``max|g − g_fd| / max(1, max|g_fd|)``. ``audit()`` is what the test suite runs.
"""

from __future__ import annotations

import argparse
import json
import sys

import cvxpy as cp
import numpy as np
import torch
from cvxpylayers.torch import CvxpyLayer

from lpgd.cvxpylayers import LpgdSolver

# (label, LpgdSolver options): the plain backend at its default accuracy (its re-solves' noise
# over τ), at high accuracy, and the certified face re-solve.
BACKENDS = (("clarabel", {"backend": "clarabel"}),
            ("clarabel high accuracy", {"backend": "clarabel", "high_accuracy": True}),
            ("clarabel+face", {"backend": "clarabel+face"}))


def layers(rng):
    """(kind, problem, parameters, variable, parameter values)."""
    out = []
    x, A, b = cp.Variable(4), cp.Parameter((8, 4)), cp.Parameter(8)
    out.append(("least squares", cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b))), [A, b], x,
                [rng.standard_normal((8, 4)), rng.standard_normal(8)]))
    th, Z = cp.Variable(3), cp.Parameter((10, 3))
    labels = np.sign(rng.standard_normal(10))
    out.append(("logistic regression",
                cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(labels, Z @ th)))
                                       + 0.1 * cp.sum_squares(th))),
                [Z], th, [rng.standard_normal((10, 3))]))
    x, h = cp.Variable(3), cp.Parameter(5)
    G = np.vstack([rng.standard_normal((2, 3)), -np.eye(3)])
    out.append(("LP", cp.Problem(cp.Minimize(np.ones(3) @ x), [G @ x <= h]), [h], x,
                [np.abs(rng.standard_normal(5)) + 0.5]))
    x, q = cp.Variable(5), cp.Parameter(5)
    out.append(("QP (simplex projection)",
                cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x) + q @ x), [x >= 0, cp.sum(x) == 1]),
                [q], x, [0.3 * rng.standard_normal(5)]))
    x, a = cp.Variable(3), cp.Parameter(3)
    out.append(("SOCP", cp.Problem(cp.Minimize(np.array([1.0, -0.5, 0.2]) @ x),
                                   [cp.norm(x - a, 2) <= 1]), [a], x, [rng.standard_normal(3)]))
    x, a = cp.Variable(2, nonneg=True), cp.Parameter(2, pos=True)
    out.append(("power cone", cp.Problem(cp.Minimize(cp.sum(cp.power(x, 1.5)) - a @ x)), [a], x,
                [np.abs(rng.standard_normal(2)) + 0.5]))
    X, C = cp.Variable((2, 2), symmetric=True), cp.Parameter((2, 2), symmetric=True)
    c0 = rng.standard_normal((2, 2))
    out.append(("PSD (projection)", cp.Problem(cp.Minimize(cp.sum_squares(X - C)), [X >> 0]), [C],
                X, [c0 + c0.T]))
    return out


def _loss_and_grad(layer, values, w, solver_args=None, grad=True):
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=grad) for v in values]
    (x,) = layer(*params, solver_args=solver_args or {})
    loss = (x.reshape(-1) * torch.as_tensor(w, dtype=x.dtype)).sum()
    if not grad:
        return float(loss), None
    loss.backward()
    return float(loss), np.concatenate([p.grad.numpy().ravel() for p in params])


def _finite_differences(layer, values, w, h):
    flat = np.concatenate([np.ravel(v) for v in values])
    shapes = [np.shape(v) for v in values]

    def unflatten(v):
        out, k = [], 0
        for s in shapes:
            size = int(np.prod(s)) if s else 1
            out.append(v[k:k + size].reshape(s))
            k += size
        return out

    g = np.zeros_like(flat)
    for i in range(len(flat)):
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        with torch.no_grad():
            lu, _ = _loss_and_grad(layer, unflatten(up), w, grad=False)
            ld, _ = _loss_and_grad(layer, unflatten(down), w, grad=False)
        g[i] = (lu - ld) / (2 * h)
    return g


def _error(g, ref):
    return float(np.max(np.abs(g - ref)) / max(1.0, float(np.max(np.abs(ref)))))


def audit(kinds=None, backends=BACKENDS, tau=1e-5, h=1e-4, seed=0, diffcp=True):
    """One row per (layer, method): kind, method, error against finite differences, certified
    (lpgd: every re-solve certified on a face; None for other methods) or the error message."""
    rng = np.random.default_rng(seed)
    rows = []
    for kind, problem, params, var, values in layers(rng):
        if kinds is not None and kind not in kinds:
            continue
        w = rng.standard_normal(int(np.prod(var.shape)) if var.shape else 1)
        exact = CvxpyLayer(problem, parameters=params, variables=[var],
                           solver=LpgdSolver(backend="clarabel+face", high_accuracy=True,
                                             warm=False))
        fd = _finite_differences(exact, values, w, h)
        for backend, options in backends:
            solver = LpgdSolver(tau=tau, rho=0.0, side="centered", warm=False, **options)
            layer = CvxpyLayer(problem, parameters=params, variables=[var], solver=solver)
            try:
                _, g = _loss_and_grad(layer, values, w)
                certified = all(bool(c) for c in solver.last_info["certified"])
                rows.append({"kind": kind, "method": f"lpgd {backend}", "error": _error(g, fd),
                             "certified": certified})
            except Exception as e:  # noqa: BLE001 - a layer a backend cannot serve is a row too
                rows.append({"kind": kind, "method": f"lpgd {backend}", "error": None,
                             "certified": None, "message": str(e).splitlines()[0]})
        if diffcp:
            rows.append(_diffcp_row(kind, problem, params, var, values, w, fd))
    return rows


def _diffcp_row(kind, problem, params, var, values, w, fd):
    try:
        import diffcp  # noqa: F401, PLC0415
    except ImportError:
        return {"kind": kind, "method": "diffcp dense", "error": None, "certified": None,
                "message": "diffcp not installed"}
    try:
        layer = CvxpyLayer(problem, parameters=params, variables=[var], solver="DIFFCP")
        _, g = _loss_and_grad(layer, values, w, {"mode": "dense", "solve_method": "Clarabel"})
        return {"kind": kind, "method": "diffcp dense", "error": _error(g, fd), "certified": None}
    except Exception as e:  # noqa: BLE001
        return {"kind": kind, "method": "diffcp dense", "error": None, "certified": None,
                "message": str(e).splitlines()[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = audit()
    print("| layer | method | max error vs finite differences | every re-solve certified |")
    print("|---|---|---|---|")
    for r in rows:
        err = f"{r['error']:.1e}" if r["error"] is not None else r.get("message", "—")
        cert = "" if r["certified"] is None else ("yes" if r["certified"] else "no")
        print(f"| {r['kind']} | {r['method']} | {err} | {cert} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
