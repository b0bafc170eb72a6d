"""Three cvxpylayers layers, batch 128: lpgd's backend against solver="MOREAU" and diffcp, one process.

    pip install "moreau==0.4.1" "diffcp==1.1.9" "cvxpylayers==1.2.0"   # benchmark-only
    python lpgd-python/bench/cvxpylayers_peers.py --threads 1 [--repeats 5]

The layers (parameters predicted per item, as in a training loop):

- ``nnls``: nonnegative least squares ``min ‖A x − b‖²  s.t. x ≥ 0`` with A (30 × 20) and b
  as parameters;
- ``lp``: an LP selection layer ``min cᵀx  s.t. 0 ≤ x ≤ 1, Σx = 5`` over 50 items, c a parameter;
- ``portfolio``: ``max μᵀx − γ‖Lᵀx‖²  s.t. Σx = 1, x ≥ 0`` over 30 assets, μ a parameter.

Each timing is one forward + backward of the whole batch through ``CvxpyLayer`` (torch), the
fastest of ``--repeats``; lpgd runs ``LpgdSolver(tau=0.1, rho=0.1)`` (centred LPGD), the real
diffcp 1.1.9 ``mode="lpgd"`` with Clarabel (same τ, ρ), Moreau its implicit backward. ``RAYON_NUM_THREADS`` is set from ``--threads`` before Moreau is imported (its
CPU solver reads it once), so run the script once per thread count. Prints a markdown table.
"""

import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--backend", default="clarabel")
ARGS, _ = ap.parse_known_args()  # (training_loop.py imports this module with its own flags)
os.environ["RAYON_NUM_THREADS"] = str(ARGS.threads)

import cvxpy as cp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from cvxpylayers.torch import CvxpyLayer  # noqa: E402

from lpgd.cvxpylayers import LpgdSolver  # noqa: E402

torch.set_num_threads(1)


def layers(batch, rng):
    """(name, problem, parameters, variables, batched parameter values)."""
    out = []
    x = cp.Variable(20)
    A, b = cp.Parameter((30, 20)), cp.Parameter(30)
    out.append(("nnls", cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b)), [x >= 0]), [A, b], [x],
                [torch.tensor(rng.standard_normal((batch, 30, 20))),
                 torch.tensor(rng.standard_normal((batch, 30)))]))
    x, c = cp.Variable(50), cp.Parameter(50)
    out.append(("lp", cp.Problem(cp.Minimize(c @ x), [x >= 0, x <= 1, cp.sum(x) == 5]), [c], [x],
                [torch.tensor(rng.standard_normal((batch, 50)))]))
    n = 30
    L = rng.standard_normal((n, n)) / np.sqrt(n)
    x, mu = cp.Variable(n), cp.Parameter(n)
    out.append(("portfolio", cp.Problem(cp.Maximize(mu @ x - 0.5 * cp.sum_squares(L.T @ x)),
                                        [cp.sum(x) == 1, x >= 0]), [mu], [x],
                [torch.tensor(0.1 * rng.standard_normal((batch, n)))]))
    return out


def solvers(threads):
    """(label, solver for CvxpyLayer, solver_args)."""
    out = [(f"lpgd {ARGS.backend}", LpgdSolver(tau=0.1, rho=0.1, backend=ARGS.backend, threads=threads), {})]
    try:
        import moreau  # noqa: F401, PLC0415
        out.append(("moreau", "MOREAU", {}))
    except ImportError:
        pass
    try:
        import diffcp  # noqa: F401, PLC0415
        out.append(("diffcp", "DIFFCP", {"mode": "lpgd", "solve_method": "Clarabel",
                                         "derivative_kwargs": {"tau": 0.1, "rho": 0.1},
                                         "n_jobs_forward": threads, "n_jobs_backward": threads}))
    except ImportError:
        pass
    return out


def run(layer, values, args):
    params = [v.clone().requires_grad_(True) for v in values]
    t = time.perf_counter()
    (x,) = layer(*params, solver_args=args)
    forward = time.perf_counter() - t
    weights = torch.arange(1, x.shape[1] + 1, dtype=x.dtype) / x.shape[1]
    t = time.perf_counter()
    (x * weights).sum().backward()
    return forward, time.perf_counter() - t, x.detach()


def main():
    rng = np.random.default_rng(0)
    print(f"threads = {ARGS.threads}, batch {ARGS.batch}, fastest of {ARGS.repeats}")
    print("| layer | library | forward ms | backward ms | total ms | Moreau / this (total) |")
    print("|---|---|---|---|---|---|")
    for name, problem, params, variables, values in layers(ARGS.batch, rng):
        rows = []
        for label, solver, args in solvers(ARGS.threads):
            layer = CvxpyLayer(problem, parameters=params, variables=variables, solver=solver)
            run(layer, values, args)  # warm-up (compilation, thread pools)
            runs = [run(layer, values, args) for _ in range(ARGS.repeats)]
            rows.append((label, min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]))
        peer = next((r for r in rows if r[0] == "moreau"), None)
        for label, f, b, x in rows:
            ratio = "" if peer is None else f"{(peer[1] + peer[2]) / (f + b):.2f}×"
            print(f"| {name} | {label} | {1e3 * f:.1f} | {1e3 * b:.1f} | {1e3 * (f + b):.1f} | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
