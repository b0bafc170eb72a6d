"""PyEPO's shortest-path experiment through ``lpgd.torch``: a linear model predicts the 40 arc
costs of a 5 × 5 grid from 5 features and is trained with SPO+, PFYL or LPGD (blackbox
backpropagation) through the shortest-path oracle; the score is PyEPO's normalised regret.

The loop follows lpgd-combinatorial's Rust loop step for step — the same data (PyEPO's generator),
the same initialisation, shuffles and noise (one ``lpgd.data.RandomState`` shared by all), Adam
with the same settings — so its regret matches ``lpgd.data.train_linear`` for the same seed (up
to the last bits of torch's Adam and matrix products).

    python examples/pyepo_shortest_path.py             # PyEPO's protocol: 1000 + 1000, 20 epochs
    python examples/pyepo_shortest_path.py --quick     # 200 + 200, 3 epochs
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import lpgd.torch as lt
from lpgd import combinatorial, data


def run(rule: str, n_train: int = 1000, n_test: int = 1000, epochs: int = 20, batch: int = 32,
        lr: float = 0.01, seed: int = 42, data_seed: int = 135, deg: int = 4,
        noise: float = 0.5, tau: float = 1.0, samples: int = 10, sigma: float = 1.0,
        threads: int | None = None) -> dict:
    """Trains with ``rule`` (``"spo+"``, ``"pfyl"``, ``"lpgd"``); returns the test regret per
    epoch and the training time."""
    d = data.shortest_path_data(n_train + n_test, 5, (5, 5), deg, noise, data_seed)
    x, c = torch.from_numpy(d["features"]), torch.from_numpy(d["costs"])
    oracle = combinatorial.grid_shortest_path(5, 5)
    y_true = torch.from_numpy(oracle.solve(d["costs"])[0])
    z_true = (c * y_true).sum(1)
    rng = data.RandomState(seed)
    p, dim = x.shape[1], c.shape[1]
    bound = 1.0 / np.sqrt(p)
    model = torch.nn.Linear(p, dim, dtype=torch.float64)
    with torch.no_grad():  # nn.Linear's initialisation, drawn from the shared generator
        model.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, dim * p).reshape(dim, p)))
        model.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, dim)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if rule == "spo+":
        loss_fn = lt.SPOPlus(oracle, reduction="sum", threads=threads)
    elif rule == "pfyl":
        loss_fn = lt.PFYLoss(oracle, samples=samples, sigma=sigma, generator=rng,
                             reduction="sum", threads=threads)
    elif rule == "lpgd":
        layer = lt.CombinatorialLayer(oracle, rule="lpgd", tau=tau, side="right",
                                      threads=threads)
    else:
        raise ValueError(f"unknown rule {rule!r}")

    def regret():
        with torch.no_grad():
            c_hat = model(x[n_train:]).numpy()
        decisions = oracle.solve(np.ascontiguousarray(c_hat), threads)[0]
        return data.normalized_regret(d["costs"][n_train:], decisions, z_true[n_train:].numpy())

    curve = []
    start = time.perf_counter()
    order = list(range(n_train))
    for _ in range(epochs):
        order = rng.shuffle(order)  # reshuffled from the last epoch's order, as in the Rust loop
        for k in range(0, n_train, batch):
            idx = torch.tensor(order[k:k + batch])
            c_hat = model(x[idx])
            if rule == "spo+":
                loss = loss_fn(c_hat, c[idx], y_true[idx])
            elif rule == "pfyl":
                loss = loss_fn(c_hat, y_true[idx])
            else:
                loss = (layer(c_hat) * c[idx]).sum()  # the regret's decision cost
            optimizer.zero_grad()
            # Per-item gradients summed, then averaged: LPGD's perturbation τ·g must see each
            # item's own gradient, not one divided by the batch size.
            loss.backward()
            for prm in model.parameters():
                prm.grad /= len(idx)
            optimizer.step()
        curve.append(regret())
    return {"regret_per_epoch": curve, "test_regret": curve[-1],
            "wall_s": time.perf_counter() - start}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rules", default="spo+,pfyl,lpgd")
    args = ap.parse_args()
    sizes = dict(n_train=200, n_test=200, epochs=3) if args.quick else {}
    for rule in args.rules.split(","):
        r = run(rule, **sizes)
        print(f"{rule:6s} test regret {r['test_regret']:.4f}  ({r['wall_s']:.2f} s)")


if __name__ == "__main__":
    main()
