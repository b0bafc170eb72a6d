"""Type stubs of ``lpgd._lpgd``, the Rust extension module behind the ``lpgd`` package.

Checked against the compiled module by ``mypy.stubtest`` in the test command.
"""

from typing import Any, Callable, Sequence, final

import numpy as np
from numpy.typing import NDArray

_Array = NDArray[np.float64]
_IndexArray = NDArray[np.int64]
# A failed item: its kind ("infeasible", "max_iterations", "invalid_input", …) and message.
_Failure = tuple[str, str]
_Failures = list[_Failure | None]
# A sparse matrix as the item-by-item API takes it: (rows, cols, indptr, indices, data).
_RawCsc = tuple[int, int, _IndexArray, _IndexArray, _Array]

__all__ = [
    "CombinatorialOracle",
    "ConicStructure",
    "LpgdConfig",
    "RandomState",
    "Session",
    "WarmStarts",
    "__version__",
    "backends",
    "dpo_backward_stacked",
    "knapsack_data",
    "normalized_regret",
    "pfyl_stacked",
    "shortest_path_data",
    "solve",
    "terrain_maps",
]

__version__: str

def backends() -> list[str]: ...

@final
class LpgdConfig:
    def __new__(
        cls,
        tau: float,
        rho: float = 0.0,
        side: str = "centered",
        fallback: str = "none",
        threads: int | None = None,
    ) -> LpgdConfig: ...
    @property
    def tau(self) -> float: ...
    @property
    def rho(self) -> float: ...
    @property
    def side(self) -> str: ...
    @property
    def fallback(self) -> str: ...
    @property
    def threads(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class WarmStarts:
    def __new__(cls) -> WarmStarts: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

@final
class Session:
    def __len__(self) -> int: ...
    def primal(self) -> tuple[list[_Array], _Failures]: ...
    def dual(self) -> list[_Array]: ...
    def slack(self) -> list[_Array]: ...
    def stacked(self) -> tuple[_Array, _Array, _Array, _Failures]: ...
    def warm(self) -> list[bool]: ...
    def warm_share(self) -> float: ...
    def info(self) -> dict[str, list[Any]]: ...
    def iterations(self) -> list[int]: ...
    def backward(
        self,
        dxs: Sequence[_Array],
        dys: Sequence[_Array],
        dss: Sequence[_Array],
        config: LpgdConfig,
    ) -> tuple[list[_Array], list[_Array], list[_Array], list[_Array], _Failures]: ...
    def backward_stacked(
        self, dx: _Array, dy: _Array, ds: _Array, config: LpgdConfig
    ) -> tuple[_Array, _Array, _Array, _Array, _Failures]: ...
    def jvp(
        self,
        das: Sequence[_Array],
        dbs: Sequence[_Array],
        dcs: Sequence[_Array],
        config: LpgdConfig,
    ) -> tuple[list[_Array], list[_Array], list[_Array], _Failures]: ...

def solve(
    a_list: Sequence[_RawCsc],
    b_list: Sequence[_Array],
    c_list: Sequence[_Array],
    cone_list: Sequence[Sequence[tuple[str, float]]],
    p_list: Sequence[_RawCsc | None],
    backend: str,
    cold: bool,
    high_accuracy: bool,
    threads: int | None,
    warm_starts: Sequence[tuple[_Array, _Array, _Array] | None] | None = None,
    max_iter: int | None = None,
    time_limit: float | None = None,
) -> Session: ...

@final
class ConicStructure:
    def __new__(
        cls,
        m: int,
        n: int,
        a_indptr: _IndexArray,
        a_indices: _IndexArray,
        cones: Sequence[tuple[str, float]],
        p_indptr: _IndexArray | None = None,
        p_indices: _IndexArray | None = None,
    ) -> ConicStructure: ...
    @property
    def m(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def a_nnz(self) -> int: ...
    @property
    def p_nnz(self) -> int: ...
    def solve(
        self,
        a_values: _Array,
        b: _Array,
        c: _Array,
        p_values: _Array | None,
        backend: str,
        cold: bool,
        high_accuracy: bool,
        threads: int | None,
        warm: WarmStarts | None = None,
        keys: Sequence[int] | None = None,
        max_iter: int | None = None,
        time_limit: float | None = None,
    ) -> Session: ...

@final
class RandomState:
    def __new__(cls, seed: int) -> RandomState: ...
    def standard_normal(self, size: int) -> _Array: ...
    def uniform(self, low: float, high: float, size: int) -> _Array: ...
    def shuffle(self, order: Sequence[int]) -> list[int]: ...

@final
class CombinatorialOracle:
    @staticmethod
    def grid_shortest_path(h: int, w: int) -> CombinatorialOracle: ...
    @staticmethod
    def vertex_shortest_path(h: int, w: int) -> CombinatorialOracle: ...
    @staticmethod
    def knapsack(
        weights: _Array, capacity: Sequence[float], node_limit: int | None = None
    ) -> CombinatorialOracle: ...
    @staticmethod
    def ranking(n: int) -> CombinatorialOracle: ...
    @staticmethod
    def top_k(n: int, k: int) -> CombinatorialOracle: ...
    @staticmethod
    def assignment(rows: int, cols: int) -> CombinatorialOracle: ...
    @staticmethod
    def tsp(n: int) -> CombinatorialOracle: ...
    @staticmethod
    def python(solve: Callable[[_Array], Any], dim: int) -> CombinatorialOracle: ...
    @property
    def dim(self) -> int: ...
    def solve(self, costs: _Array, threads: int | None = None) -> tuple[_Array, _Failures]: ...
    def lpgd_backward(
        self, costs: _Array, solutions: _Array, grads: _Array, config: LpgdConfig
    ) -> tuple[_Array, _Failures]: ...
    def perturbed(
        self,
        costs: _Array,
        samples: int,
        sigma: float,
        rng: RandomState,
        threads: int | None = None,
    ) -> tuple[_Array, _Array, _Failures]: ...
    def spo_plus(
        self, c_hat: _Array, c: _Array, y_star: _Array, threads: int | None = None
    ) -> tuple[_Array, _Array, _Failures]: ...
    def train_linear(
        self,
        rule: str,
        features: _Array,
        costs: _Array,
        n_train: int,
        epochs: int = 20,
        batch: int = 32,
        lr: float = 0.01,
        seed: int = 42,
        tau: float = 1.0,
        side: str = "right",
        samples: int = 10,
        sigma: float = 1.0,
    ) -> dict[str, Any]: ...

def dpo_backward_stacked(
    noise: _Array, solutions: _Array, grads: _Array, sigma: float, baseline: bool
) -> _Array: ...
def pfyl_stacked(
    noise: _Array, solutions: _Array, theta: _Array, sigma: float, y_star: _Array
) -> tuple[_Array, _Array]: ...
def shortest_path_data(
    num_data: int,
    num_feat: int,
    grid: tuple[int, int],
    deg: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> dict[str, _Array]: ...
def knapsack_data(
    num_data: int,
    num_feat: int,
    num_item: int,
    dim: int,
    deg: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> dict[str, _Array]: ...
def terrain_maps(
    n: int,
    grid: int = 12,
    tile: int = 8,
    noise: float = 0.1,
    brightness: float = 0.15,
    regions: int = 8,
    clutter: float = 0.15,
    seed: int = 0,
) -> dict[str, _Array]: ...
def normalized_regret(costs: _Array, decisions: _Array, optimal_values: _Array) -> float: ...
