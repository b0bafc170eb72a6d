"""lpgd.cvxpylayers.LpgdSolver (a cvxpylayers SolverInterface) on the layers of the drop-in tests:
the same forward values and the same LPGD gradients as the diffcp drop-in (same core, same
settings), batches in one call, inference under no_grad, failures as SolverError."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cp = pytest.importorskip("cvxpy")
pytest.importorskip("cvxpylayers")

from lpgd import diffcp_compat  # noqa: E402

diffcp_compat.install()
from cvxpylayers.torch import CvxpyLayer  # noqa: E402

from lpgd.cvxpylayers import LpgdSolver  # noqa: E402


def layers():
    """(name, problem, parameters, variables, parameter values, τ)."""
    out = []
    x, c = cp.Variable(3), cp.Parameter(3)
    out.append(("lp", cp.Problem(cp.Minimize(c @ x), [x >= 0, cp.sum(x) == 1]), [c], [x],
                [[0.1, 0.5, 0.3], [0.4, 0.2, 0.3]], 1.0))
    x, c = cp.Variable(4), cp.Parameter(4)
    out.append(("qp", cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - c)), [cp.sum(x) == 1]), [c], [x],
                [[0.4, 0.1, 0.3, 0.6], [0.2, 0.2, 0.2, 0.2]], 1e-4))
    x, c = cp.Variable(3), cp.Parameter(3)
    out.append(("socp", cp.Problem(cp.Minimize(c @ x), [cp.norm(x, 2) <= 1]), [c], [x],
                [[0.3, -0.4, 1.2], [1.0, 0.0, 0.0]], 1e-3))
    x, a = cp.Variable(1), cp.Parameter(1, pos=True)
    out.append(("exp", cp.Problem(cp.Minimize(cp.exp(x[0]) - a[0] * x[0])), [a], [x],
                [[2.0], [3.0]], 1e-2))
    x, a = cp.Variable(1, nonneg=True), cp.Parameter(1, pos=True)
    out.append(("power", cp.Problem(cp.Minimize(cp.power(x[0], 1.5) - a[0] * x[0])), [a], [x],
                [[1.2], [0.9]], 1e-3))
    return out


@pytest.mark.parametrize("name,problem,params,variables,values,tau", layers(), ids=lambda v: v if isinstance(v, str) else "")
def test_backend_agrees_with_the_drop_in(name, problem, params, variables, values, tau):
    value = torch.tensor(values, dtype=torch.float64)
    results = []
    for via in ("backend", "drop-in"):
        if via == "backend":
            layer = CvxpyLayer(problem, parameters=params, variables=variables,
                               solver=LpgdSolver(tau=tau, rho=0.0))
            args = {}
        else:
            layer = CvxpyLayer(problem, parameters=params, variables=variables, solver="DIFFCP")
            args = {"solve_method": "Clarabel", "mode": "lpgd",
                    "derivative_kwargs": {"tau": tau, "rho": 0.0}}
        p = value.clone().requires_grad_(True)
        (sol,) = layer(p, solver_args=args)
        (sol * torch.arange(1, sol.shape[1] + 1, dtype=torch.float64)).sum().backward()
        with torch.no_grad():
            (again,) = layer(p, solver_args=args)
        assert torch.allclose(again, sol.detach())
        results.append((sol.detach().numpy(), p.grad.numpy()))
    (x1, g1), (x2, g2) = results
    assert np.allclose(x1, x2, atol=1e-9), name
    assert np.allclose(g1, g2, atol=1e-7), name
    assert np.any(np.abs(g1) > 1e-3), f"{name}: the gradient carries information"


def test_backend_failures_raise_solver_error():
    x, b = cp.Variable(1), cp.Parameter(1)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(x[0]), [x >= b, x <= 0]), parameters=[b],
                       variables=[x], solver=LpgdSolver())
    with pytest.raises(diffcp_compat.SolverError, match="infeasible"):
        layer(torch.tensor([1.0], dtype=torch.float64, requires_grad=True))
    with pytest.raises(ValueError, match="side"):
        LpgdSolver(side="sideways")


def test_a_layer_with_parameters_in_a_and_b_matches_finite_differences():
    # Nonnegative least squares with A and b predicted per item: the compiled structure takes
    # A's values (and b's, from cvxpy's b column) as stacked arrays. At small τ (ρ = 0, high
    # accuracy) the LPGD gradient is the true one: checked by central differences of the layer.
    # The forward equals the diffcp drop-in's (at its default tolerance).
    rng = np.random.default_rng(3)
    x = cp.Variable(4)
    A, b = cp.Parameter((6, 4)), cp.Parameter(6)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b)), [x >= 0])
    a_val = torch.tensor(rng.standard_normal((3, 6, 4)), dtype=torch.float64)
    b_val = torch.tensor(rng.standard_normal((3, 6)), dtype=torch.float64)
    weights = torch.arange(1, 5, dtype=torch.float64)
    backend = CvxpyLayer(problem, parameters=[A, b], variables=[x],
                         solver=LpgdSolver(tau=1e-5, rho=0.0, high_accuracy=True))
    pa, pb = a_val.clone().requires_grad_(True), b_val.clone().requires_grad_(True)
    (sol,) = backend(pa, pb)
    (sol * weights).sum().backward()
    drop_in = CvxpyLayer(problem, parameters=[A, b], variables=[x], solver="DIFFCP")
    (other,) = drop_in(a_val, b_val, solver_args={"solve_method": "Clarabel", "mode": "lpgd"})
    assert np.allclose(sol.detach().numpy(), other.detach().numpy(), atol=1e-4)  # its default tolerance
    assert (sol.detach() < 1e-6).any(), "some bounds are active"

    def loss(av, bv):
        with torch.no_grad():
            (s,) = backend(av, bv)
        return float((s * weights).sum())

    h = 1e-6
    for item, i, j in [(0, 0, 0), (1, 3, 1), (1, 2, 3), (2, 5, 1)]:
        e = torch.zeros_like(a_val)
        e[item, i, j] = h
        fd = (loss(a_val + e, b_val) - loss(a_val - e, b_val)) / (2 * h)
        assert abs(fd - pa.grad[item, i, j].item()) < 1e-6 * (1 + abs(fd)), (item, i, j)
        e = torch.zeros_like(b_val)
        e[item, i] = h
        fd = (loss(a_val, b_val + e) - loss(a_val, b_val - e)) / (2 * h)
        assert abs(fd - pb.grad[item, i].item()) < 1e-6 * (1 + abs(fd)), (item, i)
