"""lpgd against diffcp on the same machine, same problem files, same solver (Clarabel), one thread.

    pip install diffcp
    cargo build --release -p lpgd-bench
    python3 lpgd-bench/peer/compare_diffcp.py --limit 64 --repeats 3

Runs diffcp_bench.py and `lpgd-bench grad --threads 1` alternately, `--repeats` times each, and
keeps the fastest median of each (the machine's noise only ever adds time). Prints a markdown table
of forward and backward milliseconds per instance and the speed-up of forward+backward.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def diffcp_run(path, side, limit, tau, rho):
    out = subprocess.run([sys.executable, os.path.join(HERE, "diffcp_bench.py"), path, "--side", side,
                          "--limit", str(limit), "--tau", str(tau), "--rho", str(rho)],
                         check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    return d["forward_ms_median"], d["backward_ms_median"]


def lpgd_run(binary, path, side, limit, tau, rho):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([binary, "grad", "--problem", path, "--tau", str(tau), "--rho", str(rho), "--side", side,
                        "--threads", "1", "--limit", str(limit), "--out", f.name],
                       check=True, capture_output=True, text=True)
        s = json.load(open(f.name))["summary"]
    return s["forward_ms_median"], s["backward_ms_median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--rho", type=float, default=0.1)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "lpgd-bench"))
    args = ap.parse_args()
    print(f"| family (medium) | side | diffcp fwd / bwd ms | lpgd fwd / bwd ms | speed-up (fwd+bwd) |")
    print("|---|---|---|---|---|")
    for family in ["lp_box", "qp_box", "qp_socp", "portfolio"]:
        path = os.path.join(ROOT, "data", "diffcp", f"{family}_medium.json")
        for side in ["right", "centered"]:
            peer, ours = [], []
            for _ in range(args.repeats):
                peer.append(diffcp_run(path, side, args.limit, args.tau, args.rho))
                ours.append(lpgd_run(args.binary, path, side, args.limit, args.tau, args.rho))
            pf, pb = min(p[0] for p in peer), min(p[1] for p in peer)
            of, ob = min(o[0] for o in ours), min(o[1] for o in ours)
            print(f"| {family} | {side} | {pf:.2f} / {pb:.2f} | {of:.2f} / {ob:.2f} | {(pf + pb) / (of + ob):.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
