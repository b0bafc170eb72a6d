"""Combinatorial oracles ``y(w) = argmin_{y ∈ X} ⟨w, y⟩`` of the Rust core, and a user's own
solver as a Python callable (like PyEPO's ``optModel``).

Every oracle minimises; a maximising layer passes ``sense="max"`` to the :mod:`lpgd.torch`
layers (which negate the costs and the gradients). Each oracle solves a whole batch
(``oracle.solve(costs)`` with ``costs`` of shape ``(B, dim)``) in one Rust call, on all cores
with the GIL released.

>>> import numpy as np
>>> from lpgd import combinatorial
>>> sp = combinatorial.grid_shortest_path(5, 5)
>>> y, errors = sp.solve(np.ones((2, sp.dim)))
>>> int(y[0].sum()), errors
(8, [None, None])
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._lpgd import CombinatorialOracle

__all__ = [
    "CombinatorialOracle",
    "assignment",
    "grid_shortest_path",
    "knapsack",
    "python_oracle",
    "ranking",
    "top_k",
    "tsp",
    "vertex_shortest_path",
]


def grid_shortest_path(h: int, w: int) -> CombinatorialOracle:
    """Shortest paths from the top-left to the bottom-right node of an ``h × w`` grid with east
    and south arcs (PyEPO's shortest-path problem); costs per arc, ``dim = h(w−1) + (h−1)w``."""
    return CombinatorialOracle.grid_shortest_path(h, w)


def vertex_shortest_path(h: int, w: int) -> CombinatorialOracle:
    """Shortest paths between opposite corners of an ``h × w`` grid of cells with 8 neighbours
    (the Warcraft maps); nonnegative costs per cell, the visited cells as the solution."""
    return CombinatorialOracle.vertex_shortest_path(h, w)


def knapsack(weights, capacity, node_limit: int | None = None) -> CombinatorialOracle:
    """0/1 selections with ``weights @ y <= capacity`` (one row of ``weights`` per constraint).
    The oracle minimises: use ``sense="max"`` in a layer, or negate the item values."""
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    cap = [float(c) for c in np.atleast_1d(capacity)]
    return CombinatorialOracle.knapsack(w, cap, node_limit)


def ranking(n: int) -> CombinatorialOracle:
    """Rankings of ``n`` items (the cheapest item gets the highest rank)."""
    return CombinatorialOracle.ranking(n)


def top_k(n: int, k: int) -> CombinatorialOracle:
    """The ``k`` cheapest of ``n`` items, as a 0/1 vector."""
    return CombinatorialOracle.top_k(n, k)


def assignment(rows: int, cols: int) -> CombinatorialOracle:
    """Assignments of ``rows`` rows to distinct columns (``rows <= cols``), costs row-major."""
    return CombinatorialOracle.assignment(rows, cols)


def tsp(n: int) -> CombinatorialOracle:
    """Tours through ``n <= 16`` nodes; costs per ordered pair, row-major ``n × n``."""
    return CombinatorialOracle.tsp(n)


def python_oracle(solve: Callable[[np.ndarray], object], dim: int) -> CombinatorialOracle:
    """A user's solver as an oracle: ``solve(costs)`` gets a float64 array of length ``dim`` and
    returns the minimiser as any one-dimensional sequence of ``dim`` numbers. An exception it
    raises, or an answer of the wrong length or with NaN, is that item's error (a
    :class:`lpgd.SolverError` in the layers), never a crash. It is called from one thread, item
    after item."""
    if not callable(solve):
        raise TypeError("solve must be callable")
    return CombinatorialOracle.python(solve, int(dim))
