"""One checked LPGD configuration (lpgd.LpgdConfig) shared by every layer, and failures raised as
the SolverError subclass of their kind."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import lpgd
import lpgd.combinatorial as lc
import lpgd.torch as lt
from lpgd import diffcp_compat as diffcp


def test_a_config_is_checked_once_when_built_and_reads_back():
    config = lpgd.LpgdConfig(0.1, rho=0.2, side="centred", fallback="other_side", threads=2)
    assert (config.tau, config.rho, config.side, config.fallback, config.threads) == (
        0.1, 0.2, "centered", "other_side", 2)
    assert config == lpgd.LpgdConfig(0.1, 0.2, "centered", "other_side", 2)
    assert "side='centered'" in repr(config)
    for bad in (dict(tau=0.0), dict(tau=float("nan")), dict(tau=1.0, rho=-1.0),
                dict(tau=1.0, side="middle"), dict(tau=1.0, fallback="retry"),
                dict(tau=1.0, threads=0)):
        with pytest.raises(ValueError):
            lpgd.LpgdConfig(**bad)


def test_layers_refuse_a_bad_configuration_when_built_not_at_the_first_backward():
    A = sp.csc_matrix(np.eye(2))
    with pytest.raises(ValueError, match="side"):
        lt.ConicLayer(A, {"l": 2}, side="middle")
    with pytest.raises(ValueError, match="tau"):
        lt.ConicLayer(A, {"l": 2}, tau=-1.0)
    with pytest.raises(ValueError, match="fallback"):
        lt.ConicLayer(A, {"l": 2}, fallback="retry")
    layer = lt.ConicLayer(A, {"l": 2}, tau=0.5, rho=0.1, side="left", threads=1)
    assert (layer.tau, layer.rho, layer.side, layer.fallback) == (0.5, 0.1, "left", "none")
    assert layer.config.threads == 1
    with pytest.raises(ValueError, match="side"):
        lt.CombinatorialLayer(lc.top_k(3, 1), side="up")


def test_each_failure_kind_raises_its_own_subclass_of_solver_error():
    A = sp.csc_matrix(np.array([[1.0], [-1.0]]))
    infeasible = (A, np.array([0.0, -1.0]), np.array([1.0]), {"l": 2})  # x <= 0, x >= 1
    with pytest.raises(lpgd.InfeasibleError, match="item 0") as caught:
        diffcp.solve_and_derivative(*infeasible, mode="lpgd")
    assert isinstance(caught.value, lpgd.SolverError) and caught.value.kind == "infeasible"
    unbounded = (sp.csc_matrix(np.array([[-1.0]])), np.array([0.0]), np.array([-1.0]), {"l": 1})
    with pytest.raises(lpgd.UnboundedError):
        diffcp.solve_only(*unbounded)
    # The torch layer raises the same classes.
    layer = lt.ConicLayer(A, {"l": 2}, tau=0.1)
    a_values = layer.values_of(torch.from_numpy(A.toarray()))
    with pytest.raises(lpgd.InfeasibleError):
        layer(a_values, torch.tensor([0.0, -1.0]), torch.tensor([1.0]))
    # Bad data of one item of a batch is that item's InvalidProblemError, also a ValueError.
    b = torch.tensor([[1.0, 0.0], [np.nan, 0.0]])
    with pytest.raises(lpgd.InvalidProblemError, match="item 1") as caught:
        layer(a_values, b, torch.tensor([[1.0], [1.0]]))
    assert isinstance(caught.value, ValueError) and caught.value.kind == "invalid_input"
