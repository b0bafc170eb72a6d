"""Times diffcp's LPGD on the same problem files and in the same way as `lpgd-bench grad`.

Not part of the test suite (the project's tests need no Python). Use it to put the peer and lpgd
side by side on one machine:

    pip install diffcp
    python3 lpgd-bench/peer/diffcp_bench.py data/diffcp/lp_box_medium.json --side centered --limit 64
    cargo run --release -p lpgd-bench -- grad --problem data/diffcp/lp_box_medium.json \
        --tau 0.1 --rho 0.1 --side centered --threads 1 --limit 64 --out /tmp/lpgd.json

Prints the median forward and backward milliseconds per instance, single-threaded.
"""

import argparse
import json
import statistics
import time

import diffcp
import numpy as np
from scipy import sparse


def csc(d):
    return sparse.csc_matrix((np.array(d["vals"], dtype=float), np.array(d["rows"]), np.array(d["indptr"])),
                             shape=tuple(d["shape"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problem")
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--rho", type=float, default=0.1)
    ap.add_argument("--side", choices=["centered", "right", "left"], default="centered")
    ap.add_argument("--limit", type=int, default=64)
    args = ap.parse_args()
    with open(args.problem) as f:
        doc = json.load(f)
    A = csc(doc["A"])
    P = None
    if doc.get("P"):
        upper = csc(doc["P"])
        P = sparse.csc_matrix(upper + sparse.triu(upper, 1).T)
    cone = {k: v for k, v in doc["cone"].items() if v}
    mode = {"centered": "lpgd", "right": "lpgd_right", "left": "lpgd_left"}[args.side]
    fwd, bwd = [], []
    for inst in doc["instances"][: args.limit]:
        b, c = np.array(inst["b"]), np.array(inst["c"])
        dx = np.array(inst["dx"])
        dy = np.array(inst.get("dy", np.zeros(len(b))))
        ds = np.array(inst.get("ds", np.zeros(len(b))))
        t0 = time.perf_counter()
        x, y, s, _, DT = diffcp.solve_and_derivative(
            A.copy(), b, c, cone, P=P, mode=mode, solve_method="Clarabel",
            derivative_kwargs=dict(tau=args.tau, rho=args.rho))
        t1 = time.perf_counter()
        DT(dx, dy, ds)
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
    print(json.dumps({
        "problem": args.problem, "side": args.side, "tau": args.tau, "rho": args.rho,
        "instances": len(fwd),
        "forward_ms_median": 1e3 * statistics.median(fwd),
        "backward_ms_median": 1e3 * statistics.median(bwd),
    }))


if __name__ == "__main__":
    main()
