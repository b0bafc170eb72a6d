"""ConicLayer's Python overhead and thread scaling on a batch of 64 ``qp_box_medium`` problems.

Times forward + backward of the torch layer against the bare Rust calls it makes (the structure's
``solve`` and the session's ``backward_stacked`` on ready float64 arrays): the difference is what
the Python layer (tensor conversion, autograd, checks) costs. Then the layer on one thread against
two. Medians of ``--repeats`` runs.

    python bench/conic_layer_overhead.py [--batch 64] [--repeats 15] [--out out/conic_layer.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import torch

import lpgd.torch as lt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import load_problem_file  # noqa: E402


def median_time(f, repeats):
    f()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--rho", type=float, default=0.1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    A, P, cone, instances = load_problem_file("qp_box_medium")
    B = args.batch
    pick = [instances[i % len(instances)] for i in range(B)]
    b = np.array([inst["b"] for inst in pick])
    c = np.array([inst["c"] for inst in pick])
    rng = np.random.default_rng(0)
    gx = rng.standard_normal(c.shape)
    result = {"batch": B, "family": "qp_box_medium", "tau": args.tau, "rho": args.rho}
    for threads in (1, 2):
        layer = lt.ConicLayer(A, cone, P, tau=args.tau, rho=args.rho, side="centered",
                              threads=threads)
        a_vals, p_vals = layer.values_of(torch.from_numpy(A.toarray()),
                                         torch.from_numpy(P.toarray()))
        a_np = np.ascontiguousarray(np.broadcast_to(a_vals.numpy(), (B, layer.A_nnz)))
        p_np = np.ascontiguousarray(np.broadcast_to(p_vals.numpy(), (B, layer.P_nnz)))
        zeros = np.zeros((B, layer.m))

        def bare():
            s = layer._structure.solve(a_np, b, c, p_np, "clarabel", False, False, threads)
            s.stacked()
            s.backward_stacked(gx, zeros, zeros, layer.config)

        bt = torch.from_numpy(b)
        gt = torch.from_numpy(gx)

        def through_torch():
            ct = torch.from_numpy(c).requires_grad_()
            x = layer(a_vals, bt, ct, p_vals)
            x.backward(gt)

        t_bare = median_time(bare, args.repeats)
        t_layer = median_time(through_torch, args.repeats)
        result[f"threads_{threads}"] = {"rust_s": t_bare, "layer_s": t_layer,
                                        "python_overhead": t_layer / t_bare - 1}
        print(f"{threads} thread(s): Rust calls {t_bare * 1e3:.1f} ms, layer {t_layer * 1e3:.1f} ms,"
              f" Python overhead {100 * (t_layer / t_bare - 1):.1f} %")
    speedup = result["threads_1"]["layer_s"] / result["threads_2"]["layer_s"]
    result["two_threads_speedup"] = speedup
    print(f"two threads / one: {speedup:.2f}x")
    if args.out:
        pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
