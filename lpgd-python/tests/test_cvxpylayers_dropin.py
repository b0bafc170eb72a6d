"""The diffcp drop-in under an installed cvxpylayers 1.2.0 (torch layers), LPGD selected:
forward values, LPGD gradients against closed forms, inference under torch.no_grad(), and
infeasible/unbounded problems raising SolverError."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cp = pytest.importorskip("cvxpy")
pytest.importorskip("cvxpylayers")

from lpgd import diffcp_compat  # noqa: E402

diffcp_compat.install()
from cvxpylayers.torch import CvxpyLayer  # noqa: E402

SMALL_TAU = {"solve_method": "Clarabel", "mode": "lpgd",
             "derivative_kwargs": {"tau": 1e-5, "rho": 0.0}, "high_accuracy": True}


def t(v):
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def test_lp_layer_gets_an_informative_gradient_and_runs_under_no_grad():
    x, c = cp.Variable(3), cp.Parameter(3)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(c @ x), [x >= 0, cp.sum(x) == 1]),
                       parameters=[c], variables=[x], solver="DIFFCP")
    ct = t([0.1, 0.5, 0.3])
    args = {"solve_method": "Clarabel", "mode": "lpgd", "derivative_kwargs": {"tau": 1.0, "rho": 0.0}}
    (sol,) = layer(ct, solver_args=args)
    assert np.allclose(sol.detach().numpy(), [1, 0, 0], atol=1e-6)
    sol[0].backward()
    # Centred LPGD with τ = 1: x(c ± e₀) picks items 2 and 0: (x₊ − x₋)/2 = (−½, 0, ½).
    assert np.allclose(ct.grad.numpy(), [-0.5, 0.0, 0.5], atol=1e-6)
    with torch.no_grad():  # cvxpylayers passes mode to solve_only_batch here
        (again,) = layer(ct, solver_args=args)
    assert np.allclose(again.numpy(), sol.detach().numpy())


def test_qp_layer_gradient_matches_the_closed_form():
    # min ½‖x − c‖² s.t. Σx = 1: x = c − (Σc − 1)/n, so ∂x₀/∂c = e₀ − 1/n.
    n = 4
    x, c = cp.Variable(n), cp.Parameter(n)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - c)), [cp.sum(x) == 1]),
                       parameters=[c], variables=[x], solver="DIFFCP")
    ct = t([0.4, 0.1, 0.3, 0.6])
    (sol,) = layer(ct, solver_args=SMALL_TAU)
    expected = ct.detach().numpy() - (ct.detach().numpy().sum() - 1) / n
    assert np.allclose(sol.detach().numpy(), expected, atol=1e-6)
    sol[0].backward()
    assert np.allclose(ct.grad.numpy(), np.eye(n)[0] - 1 / n, atol=1e-4)


def test_socp_layer_gradient_matches_the_closed_form():
    # min cᵀx s.t. ‖x‖ ≤ 1: x = −c/‖c‖, ∂x/∂c = −(I − x xᵀ)/‖c‖.
    x, c = cp.Variable(3), cp.Parameter(3)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(c @ x), [cp.norm(x, 2) <= 1]),
                       parameters=[c], variables=[x], solver="DIFFCP")
    cv = np.array([0.3, -0.4, 1.2])
    ct = t(cv)
    (sol,) = layer(ct, solver_args=SMALL_TAU)
    xs = -cv / np.linalg.norm(cv)
    assert np.allclose(sol.detach().numpy(), xs, atol=1e-6)
    sol[1].backward()
    jac = -(np.eye(3) - np.outer(xs, xs)) / np.linalg.norm(cv)
    assert np.allclose(ct.grad.numpy(), jac[1], atol=1e-4)


def test_exponential_cone_layer_gradient_matches_the_closed_form():
    # min eˣ − a x: x = ln a, dx/da = 1/a.
    x, a = cp.Variable(1), cp.Parameter(1, pos=True)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(cp.exp(x[0]) - a[0] * x[0])),
                       parameters=[a], variables=[x], solver="DIFFCP")
    at = t([2.0])
    # Clarabel reaches ~1e-6 on exponential cones (x* = 0.6931503 for ln 2 = 0.6931472), so τ must
    # stay well above that: centred LPGD at τ = 1e-2 has an O(τ²) error here.
    args = {**SMALL_TAU, "derivative_kwargs": {"tau": 1e-2, "rho": 0.0}}
    (sol,) = layer(at, solver_args=args)
    assert abs(sol.item() - np.log(2.0)) < 1e-5
    sol.sum().backward()
    assert abs(at.grad.item() - 0.5) < 2e-3


def test_power_cone_layer_gradient_matches_the_closed_form():
    # min x^1.5 − a x over x ≥ 0: 1.5 √x = a, x = (a/1.5)², dx/da = 2a/2.25.
    x, a = cp.Variable(1, nonneg=True), cp.Parameter(1, pos=True)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(cp.power(x[0], 1.5) - a[0] * x[0])),
                       parameters=[a], variables=[x], solver="DIFFCP")
    at = t([1.2])
    (sol,) = layer(at, solver_args=SMALL_TAU)
    assert abs(sol.item() - (1.2 / 1.5) ** 2) < 1e-5
    sol.sum().backward()
    assert abs(at.grad.item() - 2 * 1.2 / 2.25) < 1e-3


def test_infeasible_and_unbounded_layers_raise_solver_error():
    x, b = cp.Variable(1), cp.Parameter(1)
    infeasible = CvxpyLayer(cp.Problem(cp.Minimize(x[0]), [x >= b, x <= 0]),
                            parameters=[b], variables=[x], solver="DIFFCP")
    with pytest.raises(diffcp_compat.SolverError, match="infeasible"):
        infeasible(t([1.0]), solver_args={"mode": "lpgd"})
    c = cp.Parameter(1)
    unbounded = CvxpyLayer(cp.Problem(cp.Minimize(c[0] * x[0]), [x >= 0]),
                           parameters=[c], variables=[x], solver="DIFFCP")
    with pytest.raises(diffcp_compat.SolverError, match="unbounded"):
        unbounded(t([-1.0]), solver_args={"mode": "lpgd"})


def test_lp_layer_example_converges_with_lpgd_where_the_exact_derivative_stalls():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "train_lp_layer.py"
    spec = importlib.util.spec_from_file_location("train_lp_layer", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    lpgd = example.train("lpgd")
    assert lpgd[0] > 1.0 and lpgd[-1] < 1e-6, lpgd[::10]
    if diffcp_compat._real() is not None:
        exact = example.train("lsqr")
        assert min(exact) == pytest.approx(exact[0], abs=1e-6), "the exact derivative is zero"
