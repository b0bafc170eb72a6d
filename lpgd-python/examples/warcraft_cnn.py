"""A small CNN on Warcraft-like terrain maps, trained through the vertex shortest-path layer with
LPGD (right side: blackbox backpropagation), as in Vlastelica et al.'s Warcraft experiment.

The network sees only the image; it predicts a nonnegative cost per cell, the layer returns the
shortest path under those costs, and the loss is the Hamming distance to the true shortest path.
The score is the true cost of the predicted path over the optimal one (1.0 is perfect).

    python examples/warcraft_cnn.py                 # 12 × 12 maps
    python examples/warcraft_cnn.py --maps 1000 --epochs 10
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import lpgd.torch as lt
from lpgd import combinatorial, data


class CellCosts(torch.nn.Module):
    """Image → one positive cost per cell: a tile-sized convolution, a 1 × 1 head, and a floor
    that keeps the perturbed costs ``w + τg`` of the backward pass nonnegative for Dijkstra
    (with the loss averaged over a batch of B, ``|τg| ≤ τ/B``)."""

    def __init__(self, tile: int, hidden: int = 16, floor: float = 0.2):
        super().__init__()
        self.floor = floor
        self.features = torch.nn.Conv2d(3, hidden, kernel_size=tile, stride=tile)
        self.head = torch.nn.Conv2d(hidden, 1, kernel_size=1)

    def forward(self, images):
        h = torch.relu(self.features(images))
        return self.floor + torch.nn.functional.softplus(self.head(h)).flatten(1)


def run(maps: int = 400, grid: int = 12, tile: int = 4, epochs: int = 6, batch: int = 32,
        lr: float = 2e-2, tau: float = 20.0, seed: int = 0) -> dict:
    """Trains on 80 % of the maps; returns the test path-cost ratio per epoch (before training
    first)."""
    torch.manual_seed(seed)
    d = data.terrain_maps(maps, grid=grid, tile=tile, seed=seed)
    images = torch.from_numpy(d["images"])
    costs, paths = d["costs"], torch.from_numpy(d["paths"]).float()
    n_train = int(0.8 * maps)
    oracle = combinatorial.vertex_shortest_path(grid, grid)
    layer = lt.CombinatorialLayer(oracle, rule="lpgd", tau=tau, side="right")
    model = CellCosts(tile, floor=1.25 * tau / batch).to(images.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    optimal = (costs[n_train:] * d["paths"][n_train:]).sum(1)

    def ratio():
        with torch.no_grad():
            y, _ = oracle.solve(model(images[n_train:]).double().numpy())
        return float(((costs[n_train:] * y).sum(1) / optimal).mean())

    curve = [ratio()]
    for _ in range(epochs):
        order = torch.randperm(n_train)
        for k in range(0, n_train - batch + 1, batch):  # full batches: |τg| ≤ τ/batch
            idx = order[k:k + batch]
            y = layer(model(images[idx]))
            target = paths[idx]
            loss = (y * (1 - 2 * target) + target).sum(1).mean()  # Hamming distance
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append(ratio())
    return {"path_cost_ratio": curve}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--maps", type=int, default=400)
    ap.add_argument("--grid", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args()
    r = run(maps=args.maps, grid=args.grid, epochs=args.epochs)
    print("test path cost / optimal per epoch:",
          " ".join(f"{v:.3f}" for v in r["path_cost_ratio"]))


if __name__ == "__main__":
    main()
