"""The examples as tests: PyEPO's experiment through lpgd.torch equals the Rust loop, the
data-parallel run equals one process, and the Warcraft CNN learns."""

import pathlib
import sys

import numpy as np
import pytest
import torch

from lpgd import combinatorial, data

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))

import ddp_conic_layer  # noqa: E402
import pyepo_shortest_path  # noqa: E402
import warcraft_cnn  # noqa: E402


@pytest.mark.parametrize("rule", ["spo+", "pfyl", "lpgd"])
def test_pyepo_example_has_the_rust_loops_regret(rule):
    sizes = dict(n_train=300, n_test=200, epochs=3)
    ours = pyepo_shortest_path.run(rule, **sizes)
    d = data.shortest_path_data(500, 5, (5, 5), deg=4, noise_width=0.5, seed=135)
    rust = data.train_linear(combinatorial.grid_shortest_path(5, 5), rule, d["features"],
                             d["costs"], 300, epochs=3)
    np.testing.assert_allclose(ours["regret_per_epoch"], rust["regret_per_epoch"], rtol=1e-9)
    assert ours["regret_per_epoch"][-1] < 0.6 * ours["regret_per_epoch"][0] or rule == "lpgd"
    assert ours["test_regret"] < 0.35


def test_data_parallel_training_equals_one_process():
    steps = 12
    ranks = ddp_conic_layer.run_distributed(world=2, steps=steps)
    single_losses, single_weight = ddp_conic_layer.train(0, 1, steps)
    assert torch.equal(ranks[0]["weight"], ranks[1]["weight"])  # DDP keeps replicas identical
    assert torch.allclose(ranks[0]["weight"], single_weight, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["losses"], single_losses, rtol=1e-9)
    assert ranks[0]["losses"][-1] < 0.5 * ranks[0]["losses"][0]


def test_warcraft_cnn_learns_paths():
    ratio = warcraft_cnn.run(maps=400, grid=12, epochs=6, seed=0)["path_cost_ratio"]
    assert ratio[0] > 1.3  # an untrained network's paths cost a third more than the optimum
    assert ratio[-1] < 1.1
