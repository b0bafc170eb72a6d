"""A training loop through three cvxpylayers layers: seconds per Adam step, lpgd (warm forwards) against
Moreau with ``warm_start=True``, lpgd's own cold path and diffcp, one process.

    pip install "moreau==0.4.1" "diffcp==1.1.9" "cvxpylayers==1.2.0"   # benchmark-only
    python lpgd-python/bench/training_loop.py --threads 1 [--steps 12] [--batch 128]

The layers are those of ``cvxpylayers_peers.py`` (nonnegative least squares with A and b as
parameters, an LP selection layer, a portfolio). The parameters themselves are trained: Adam
(learning rate ``--lr``) on ``mean ‖x(θ) − x̂‖²`` against the solutions x̂ of fixed target
parameters, the same start for every library. From one step to the next only the parameters
move, a little — the situation warm forwards are for. Reported per layer and library: the mean
seconds per step (forward, backward and Adam) and of its forward over steps 2..K (step 1 has
nothing to start from), the mean share of lpgd's forwards answered from their guess, and the
loss at the first and the last step (lpgd's warm and cold paths must give the same curve; a
library whose step-1 loss differs returned other forward solutions). lpgd runs ``LpgdSolver(tau=0.1, rho=0.1,
backend="clarabel+face")``, diffcp ``mode="lpgd"`` with Clarabel (same τ, ρ), Moreau its implicit
backward. ``RAYON_NUM_THREADS`` is set from ``--threads`` before Moreau is imported (its CPU
solver reads it once), so run the script once per thread count. Prints a markdown table.
"""

import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=12)
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--lr", type=float, default=1e-2)
ap.add_argument("--layers", default="nnls,lp,portfolio")
ap.add_argument("--no-diffcp", action="store_true", help="skip diffcp (the slowest)")
ARGS = ap.parse_args()
os.environ["RAYON_NUM_THREADS"] = str(ARGS.threads)

import cvxpy as cp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from cvxpylayers.torch import CvxpyLayer  # noqa: E402

from lpgd.cvxpylayers import LpgdSolver  # noqa: E402

torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cvxpylayers_peers import layers  # noqa: E402


def libraries(threads):
    """(label, solver for CvxpyLayer, solver_args, keyword arguments of a layer call)."""
    lpgd = dict(tau=0.1, rho=0.1, backend="clarabel+face", threads=threads)
    out = [("lpgd warm", lambda: LpgdSolver(**lpgd), {}, {}),
           ("lpgd cold", lambda: LpgdSolver(warm=False, **lpgd), {}, {})]
    try:
        import moreau  # noqa: F401, PLC0415
        out.append(("moreau warm_start", lambda: "MOREAU", {}, {"warm_start": True}))
        out.append(("moreau", lambda: "MOREAU", {}, {}))
    except ImportError:
        pass
    if not ARGS.no_diffcp:
        try:
            import diffcp  # noqa: F401, PLC0415
            out.append(("diffcp", lambda: "DIFFCP",
                        {"mode": "lpgd", "solve_method": "Clarabel",
                         "derivative_kwargs": {"tau": 0.1, "rho": 0.1},
                         "n_jobs_forward": threads, "n_jobs_backward": threads}, {}))
        except ImportError:
            pass
    return out


def train(layer, solver, start, target, args, call):
    """Adam on the parameters from `start`: seconds per step and of its forward, lpgd's warm
    shares, the losses."""
    params = [v.clone().requires_grad_(True) for v in start]
    opt = torch.optim.Adam(params, lr=ARGS.lr)
    times, forwards, shares, losses = [], [], [], []
    for _ in range(ARGS.steps):
        t = time.perf_counter()
        opt.zero_grad()
        (x,) = layer(*params, solver_args=args, **call)
        forwards.append(time.perf_counter() - t)
        shares.append(getattr(solver, "last_warm_share", None))
        loss = ((x - target) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
        losses.append(float(loss.detach()))
    return times, forwards, shares, losses


def main():
    rng = np.random.default_rng(0)
    wanted = ARGS.layers.split(",")
    print(f"threads = {ARGS.threads}, batch {ARGS.batch}, {ARGS.steps} Adam steps (lr {ARGS.lr}); "
          "s/step is the mean over steps 2..K")
    print("| layer | library | s/step | forward s/step | Moreau warm / this | warm share | "
          f"loss step 1 | loss step {ARGS.steps} |")
    print("|---|---|---|---|---|---|---|---|")
    cases = []
    for name, problem, params, variables, start in layers(ARGS.batch, rng):
        # Fixed targets: the solutions at other parameters, solved once with lpgd (drawn for
        # every layer, so a layer's numbers do not depend on which others run).
        truth = [v + 0.5 * torch.tensor(rng.standard_normal(v.shape)) for v in start]
        if name not in wanted:
            continue
        with torch.no_grad():
            (target,) = CvxpyLayer(problem, parameters=params, variables=variables,
                                   solver=LpgdSolver(backend="clarabel", warm=False))(*truth)
        cases.append((name, problem, params, variables, start, target))
    # Library by library over all layers, diffcp last: its BLAS threads keep spinning for a
    # while after it returns, which would slow whatever is measured next.
    rows = {}
    for label, solver, args, call in libraries(ARGS.threads):
        for name, problem, params, variables, start, target in cases:
            s = solver()
            layer = CvxpyLayer(problem, parameters=params, variables=variables, solver=s)
            times, forwards, shares, losses = train(layer, s, start, target, args, call)
            share = None if shares[0] is None else float(np.mean(shares[1:]))
            rows.setdefault(name, []).append(
                (label, float(np.mean(times[1:])), float(np.mean(forwards[1:])), share, losses))
    for name, *_ in cases:
        peer = next((r for r in rows[name] if r[0] == "moreau warm_start"), None)
        for label, per_step, forward, share, losses in rows[name]:
            ratio = "" if peer is None else f"{peer[1] / per_step:.2f}×"
            share = "" if share is None else f"{share:.2f}"
            print(f"| {name} | {label} | {per_step:.4f} | {forward:.4f} | {ratio} | {share} | "
                  f"{losses[0]:.5g} | {losses[-1]:.5g} |")
        warm = next(r for r in rows[name] if r[0] == "lpgd warm")[4]
        cold = next(r for r in rows[name] if r[0] == "lpgd cold")[4]
        gap = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(warm, cold))
        print(f"| {name} | lpgd warm vs cold loss curve | max relative gap {gap:.1e} | | | | | |")


if __name__ == "__main__":
    sys.exit(main())
