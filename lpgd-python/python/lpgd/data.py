"""Data for the combinatorial layers: PyEPO's generators (the numbers PyEPO's ``genData`` draws
for the same seed), Warcraft-like terrain maps, numpy's legacy generator as the Rust loops use it,
PyEPO's normalised regret, and the Rust training loop of PyEPO's protocol.

>>> from lpgd import data
>>> d = data.shortest_path_data(4, 5, (5, 5), deg=4, noise_width=0.5, seed=135)
>>> d["features"].shape, d["costs"].shape
((4, 5), (4, 40))
"""

from __future__ import annotations

import numpy as np

from . import _lpgd
from ._lpgd import RandomState

__all__ = [
    "RandomState",
    "knapsack_data",
    "normalized_regret",
    "shortest_path_data",
    "terrain_maps",
    "train_linear",
]


def shortest_path_data(num_data, num_feat, grid, deg=1, noise_width=0.0, seed=135) -> dict:
    """PyEPO's ``shortestpath.genData``: ``features`` (n × p), ``costs`` (n × arcs), ``B``."""
    rows, cols = (int(g) for g in grid)
    return _lpgd.shortest_path_data(
        int(num_data), int(num_feat), (rows, cols), int(deg), float(noise_width), int(seed),
    )


def knapsack_data(num_data, num_feat, num_item, dim, deg=1, noise_width=0.0, seed=135) -> dict:
    """PyEPO's ``knapsack.genData``: ``weights`` (dim × items), ``features``, ``values``, ``B``."""
    return _lpgd.knapsack_data(
        int(num_data), int(num_feat), int(num_item), int(dim), int(deg), float(noise_width),
        int(seed),
    )


def terrain_maps(n, grid=12, tile=8, noise=0.1, brightness=0.15, regions=8, clutter=0.15,
                 seed=0) -> dict:
    """Warcraft-like maps: ``images`` (n × 3 × grid·tile × grid·tile, float32), true cell
    ``costs`` and optimal ``paths`` (n × grid²), and the ``terrain`` index of every cell."""
    return _lpgd.terrain_maps(int(n), int(grid), int(tile), float(noise), float(brightness),
                              int(regions), float(clutter), int(seed))


def normalized_regret(costs, decisions, optimal_values) -> float:
    """PyEPO's normalised regret ``Σ|cᵢᵀŷᵢ − zᵢ*| / Σ|zᵢ*|``."""
    f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return _lpgd.normalized_regret(f(costs), f(decisions), f(optimal_values).ravel())


def train_linear(oracle, rule, features, costs, n_train, *, epochs=20, batch=32, lr=0.01,
                 seed=42, tau=1.0, side="right", samples=10, sigma=1.0) -> dict:
    """PyEPO's protocol run entirely in Rust: a linear model ``ĉ = Θx + β`` trained with Adam
    through ``oracle`` with ``rule`` (``"spo+"``, ``"pfyl"``, ``"dpo"``, ``"nid"``, ``"lpgd"``) on
    rows ``[0, n_train)``, tested on the rest. Returns ``regret_per_epoch``, ``test_regret`` and
    ``wall_s``. The :mod:`lpgd.torch` layers reproduce it from Python (see the PyEPO example)."""
    f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return oracle.train_linear(rule, f(features), f(costs), int(n_train), int(epochs), int(batch),
                               float(lr), int(seed), float(tau), side, int(samples), float(sigma))
