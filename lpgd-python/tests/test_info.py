"""Per-item quality: a batch says, item by item, how good its answer is — status, iterations,
the verification's residuals, warm, error — and one failing item leaves the others untouched."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import lpgd.torch as lt
from lpgd import _lpgd, diffcp_compat

pytestmark = pytest.mark.usefixtures("float64_by_default")


def lp(c, b):
    """min cᵀx s.t. x₀ + x₁ = b₀ (zero cone), x ≥ 0 (rows 1, 2): diffcp's form Ax + s = b."""
    A = sp.csc_matrix(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
    return A, np.array([b, 0.0, 0.0]), np.asarray(c, float), {"z": 1, "l": 2}


def solve(items, backend="clarabel"):
    mats = diffcp_compat._Csc.many([i[0] for i in items])
    return _lpgd.solve([m.raw() for m in mats], [i[1] for i in items], [i[2] for i in items],
                       [diffcp_compat._cones(i[3]) for i in items], [None] * len(items),
                       backend, False, False, 1)


@pytest.mark.parametrize("backend", ["clarabel", "clarabel+face"])
def test_a_mixed_batch_reports_each_item(backend):
    good = lp([1.0, 2.0], 1.0)
    infeasible = lp([1.0, 2.0], -1.0)  # x ≥ 0 and x₀ + x₁ = −1
    unbounded = (sp.csc_matrix(np.array([[-1.0, 0.0], [0.0, -1.0]])), np.zeros(2),
                 np.array([-1.0, 0.0]), {"l": 2})  # min −x₀ over x ≥ 0
    session = solve([good, infeasible, unbounded, good], backend)
    info = session.info()
    assert info["status"] == ["solved", "infeasible", "unbounded", "solved"]
    assert info["error"][0] is None and "infeasible" in info["error"][1].lower()
    for k in (0, 3):
        assert info["primal_residual"][k] < 1e-8 and info["dual_residual"][k] < 1e-8
        assert info["gap"][k] < 1e-8 and info["iterations"][k] > 0
    assert np.isnan(info["primal_residual"][1]) and np.isnan(info["gap"][2])
    assert info["iterations"][1] == 0 and info["warm"] == [False] * 4
    # The solved items are exactly what they are alone.
    alone = solve([good], backend)
    x = session.primal()[0]
    assert np.array_equal(x[0], alone.primal()[0][0]) and np.array_equal(x[3], x[0])


def test_the_layers_keep_the_last_calls_info():
    A = sp.vstack([sp.csc_matrix(np.ones((1, 3))), -sp.eye(3)]).tocsc()
    layer = lt.ConicLayer(A, {"z": 1, "l": 3}, P=sp.eye(3), tau=0.1, on_failure="nan",
                          backend="clarabel+face")
    assert layer.last_info is None
    a = layer.values_of(torch.from_numpy(A.toarray()))
    b = torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]])  # the second: Σx = −1, x ≥ 0
    x = layer(a, b, torch.zeros(2, 3), torch.ones(3))
    info = layer.last_info
    assert info["status"] == ["solved", "infeasible"]
    assert torch.isnan(x[1]).all() and not torch.isnan(x[0]).any()
    assert info["primal_residual"][0] < 1e-9
