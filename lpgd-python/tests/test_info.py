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


def hard_lp(rng, n=30, m=40):
    """A random bounded LP that takes Clarabel about 9 iterations."""
    A = sp.vstack([sp.csc_matrix(rng.standard_normal((m, n))), -sp.eye(n)]).tocsc()
    b = np.concatenate([rng.uniform(0.5, 1.5, m), np.zeros(n)])
    return A, b, rng.standard_normal(n), {"l": m + n}


def test_iteration_limits_flag_the_stopped_items_of_a_mixed_batch():
    good, infeasible = lp([1.0, 2.0], 1.0), lp([1.0, 2.0], -1.0)
    unbounded = (sp.csc_matrix(np.array([[-1.0, 0.0], [0.0, -1.0]])), np.zeros(2),
                 np.array([-1.0, 0.0]), {"l": 2})
    hard = hard_lp(np.random.default_rng(0))
    items = [good, infeasible, unbounded, hard]
    args = ([i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
            [i[3] for i in items])
    xs, _, _, info = diffcp_compat.solve_only_batch(*args, max_iters=5, on_failure="nan",
                                                    return_info=True)
    assert [i["status"] for i in info] == ["solved", "infeasible", "unbounded",
                                           "iteration_limit"]
    assert info[3]["iterations"] == 5 and info[3]["error"] is None
    # The stopped point is kept, flagged, and it is not the optimum: its residuals say so.
    full, _, _, full_info = diffcp_compat.solve_only_batch(*args, on_failure="nan",
                                                           return_info=True)
    assert full_info[3]["status"] == "solved"
    assert np.abs(xs[3] - full[3]).max() > 1e-4
    assert max(info[3]["primal_residual"], info[3]["dual_residual"], info[3]["gap"]) > 1e-6
    assert np.array_equal(xs[0], full[0])  # the others untouched
    assert np.isnan(xs[1]).all() and np.isnan(xs[2]).all()


def test_max_iters_reaches_the_backend_and_bad_keywords_are_errors():
    A, b, c, cone = hard_lp(np.random.default_rng(1))
    x1, _, _, info = diffcp_compat.solve_only_batch([A], [b], [c], [cone], max_iters=1,
                                                    return_info=True)
    x, _, _ = diffcp_compat.solve_only(A, b, c, cone)
    assert info[0]["status"] == "iteration_limit" and np.abs(x1[0] - x).max() > 1e-3
    # Clarabel's spelling and SCS's time limit reach it too.
    _, _, _, info = diffcp_compat.solve_only_batch([A], [b], [c], [cone], max_iter=2,
                                                   return_info=True)
    assert info[0]["iterations"] == 2
    _, _, _, info = diffcp_compat.solve_only_batch([A], [b], [c], [cone],
                                                   time_limit_secs=1e-9, return_info=True)
    assert info[0]["status"] == "time_limit"
    # The backward pass of a stopped forward runs under the same limit, and answers.
    xs, _, _, _, DT = diffcp_compat.solve_and_derivative_batch([A], [b], [c], [cone],
                                                                max_iters=3)
    dA, db, dc = DT([np.ones_like(xs[0])], [np.zeros(len(b))], [np.zeros(len(b))])
    assert np.isfinite(dc[0]).all()
    with pytest.raises(TypeError, match="unknown solver keyword"):
        diffcp_compat.solve_only_batch([A], [b], [c], [cone], max_itrs=5)
    with pytest.warns(UserWarning, match="acceleration_lookback"):
        diffcp_compat.solve_only_batch([A], [b], [c], [cone], acceleration_lookback=0)
    for bad in (dict(max_iters=0), dict(max_iters=2.5), dict(time_limit=-1.0)):
        with pytest.raises(ValueError):
            diffcp_compat.solve_only_batch([A], [b], [c], [cone], **bad)


def test_the_cvxpylayers_backend_honours_max_iters():
    cp = pytest.importorskip("cvxpy")
    pytest.importorskip("cvxpylayers")
    from cvxpylayers.torch import CvxpyLayer  # noqa: PLC0415

    from lpgd.cvxpylayers import LpgdSolver  # noqa: PLC0415

    rng = np.random.default_rng(2)
    x, A, y = cp.Variable(6), cp.Parameter((12, 6)), cp.Parameter(12)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - y)), [x >= 0])
    solver = LpgdSolver(tau=0.1, rho=0.1)
    layer = CvxpyLayer(problem, parameters=[A, y], variables=[x], solver=solver)
    a, b = torch.tensor(rng.standard_normal((2, 12, 6))), torch.tensor(rng.standard_normal((2, 12)))
    (full,) = layer(a, b)
    (stopped,) = layer(a, b, solver_args={"max_iters": 1})
    assert solver.last_info["status"] == ["iteration_limit"] * 2
    assert torch.max(torch.abs(full - stopped)) > 1e-3


@pytest.mark.parametrize("backend,certified", [("clarabel+face", True), ("clarabel", False)])
def test_after_a_backward_the_info_says_how_it_was_computed(backend, certified):
    A = sp.vstack([sp.csc_matrix(np.ones((1, 3))), -sp.eye(3)]).tocsc()
    layer = lt.ConicLayer(A, {"z": 1, "l": 3}, P=sp.eye(3), tau=0.1, side="centered",
                          backend=backend)
    a = layer.values_of(torch.from_numpy(A.toarray()))
    c = torch.tensor([[0.3, -0.2, 0.1], [1.0, 0.0, -1.0]], requires_grad=True)
    x = layer(a, torch.tensor([1.0, 0, 0, 0]), c, torch.ones(3))
    assert "certified" not in layer.last_info  # no backward yet
    x[:, 0].sum().backward()
    info = layer.last_info
    assert info["certified"] == [certified] * 2
    assert info["resolves"] == [2, 2] and info["side"] == ["centered"] * 2
    assert info["fell_back"] == [False, False]
