"""PyEPO's shortest-path 5 × 5 protocol through ``lpgd.torch`` against PyEPO 2.2.7 with OR-Tools.

The protocol: ``genData(2000, 5, (5, 5), deg=4, noise_width=0.5, seed=135)``, 1000 instances to
train and 1000 to test, a linear model trained with Adam (lr 0.01, batch 32) for 20 epochs with
SPO+ and with PFYL (10 samples, σ = 1), the normalised regret at the end. lpgd's run is the torch
loop of ``examples/pyepo_shortest_path.py``; PyEPO's is its own tutorial loop (``optDataset``,
``SPOPlus`` / ``perturbedFenchelYoung`` with one process, ``metric.regret``), timed the same way:
training plus one regret evaluation per epoch.

PyEPO and OR-Tools are not test dependencies; install them to run the comparison:

    pip install pyepo==2.2.7 ortools==9.15.6755
    python bench/pyepo_speed.py [--epochs 20] [--rules spo+,pfyl] [--out out/pyepo_speed.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
import pyepo_shortest_path  # noqa: E402


def pyepo_run(rule: str, n_train: int, n_test: int, epochs: int, seed: int = 42) -> dict:
    """PyEPO's own loop with OR-Tools (one process)."""
    import pyepo  # noqa: PLC0415
    from torch.utils.data import DataLoader  # noqa: PLC0415

    x, c = pyepo.data.shortestpath.genData(n_train + n_test, 5, (5, 5), deg=4,
                                           noise_width=0.5, seed=135)
    optmodel = pyepo.model.ort.shortestPathModel(grid=(5, 5))
    train = pyepo.data.dataset.optDataset(optmodel, x[:n_train], c[:n_train])
    test = pyepo.data.dataset.optDataset(optmodel, x[n_train:], c[n_train:])
    torch.manual_seed(seed)
    loader = DataLoader(train, batch_size=32, shuffle=True)
    test_loader = DataLoader(test, batch_size=32, shuffle=False)
    model = torch.nn.Linear(5, 40)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    if rule == "spo+":
        loss_fn = pyepo.func.SPOPlus(optmodel, processes=1)
    else:
        loss_fn = pyepo.func.perturbedFenchelYoung(optmodel, n_samples=10, sigma=1.0,
                                                   processes=1, seed=seed)
    curve = []
    start = time.perf_counter()
    for _ in range(epochs):
        for xb, cb, wb, zb in loader:
            cp = model(xb)
            loss = loss_fn(cp, cb, wb, zb) if rule == "spo+" else loss_fn(cp, wb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append(pyepo.metric.regret(model, optmodel, test_loader))
    return {"regret_per_epoch": curve, "test_regret": curve[-1],
            "wall_s": time.perf_counter() - start}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rules", default="spo+,pfyl")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-pyepo", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = {}
    # Warm-up: torch imports parts of itself lazily on the first optimizer step (a few tenths of a
    # second); neither side's timing should include that.
    pyepo_shortest_path.run("spo+", n_train=64, n_test=64, epochs=1)
    for rule in args.rules.split(","):
        ours = pyepo_shortest_path.run(rule, n_train=1000, n_test=1000, epochs=args.epochs,
                                       threads=args.threads)
        row = {"lpgd_torch": ours}
        line = f"{rule:5s} lpgd.torch {ours['wall_s']:7.2f} s, regret {ours['test_regret']:.4f}"
        if not args.skip_pyepo:
            theirs = pyepo_run(rule, 1000, 1000, args.epochs)
            row["pyepo"] = theirs
            row["speedup"] = theirs["wall_s"] / ours["wall_s"]
            line += (f" | PyEPO+OR-Tools {theirs['wall_s']:7.2f} s, regret "
                     f"{theirs['test_regret']:.4f} | {row['speedup']:.0f}x")
        print(line, flush=True)
        rows[rule] = row
    if args.out:
        pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
