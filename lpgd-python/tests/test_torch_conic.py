"""lpgd.torch.ConicLayer: against the Rust core (through diffcp_compat), against central finite
differences on strictly convex QPs, and per-item failure handling."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import lpgd
import lpgd.torch as lt
from lpgd import diffcp_compat

from conftest import load_problem_file


pytestmark = pytest.mark.usefixtures("float64_by_default")


def random_qp(rng, n=6, m_ineq=8, m_eq=2):
    """A strictly convex QP with equality and inequality rows (cone order z, l): the structure
    and one feasible instance's values."""
    A = sp.random(m_eq + m_ineq, n, density=0.6, random_state=rng, format="csc")
    A = A + sp.csc_matrix((np.ones(n), (np.arange(n) % (m_eq + m_ineq), np.arange(n))),
                          shape=A.shape)  # no empty column
    L = rng.standard_normal((n, n))
    P = sp.csc_matrix(L @ L.T + np.eye(n))
    x0 = rng.standard_normal(n)
    s0 = np.concatenate([np.zeros(m_eq), rng.uniform(0.1, 1.0, m_ineq)])
    return A.tocsc(), P, {"z": m_eq, "l": m_ineq}, A @ x0 + s0


def values(layer, A, P):
    return (torch.as_tensor(layer.values_of(torch.from_numpy(A.toarray())).numpy()),
            layer.values_of(torch.zeros(A.shape), torch.from_numpy(P.toarray()))[1])


@pytest.fixture(scope="module")
def qp():
    rng = np.random.default_rng(0)
    A, P, cones, b = random_qp(rng)
    return A, P, cones, b, rng


def test_matches_the_rust_core_bit_for_bit():
    A, P, cone, instances = load_problem_file("qp_box_medium")
    layer = lt.ConicLayer(A, cone, P, tau=0.1, rho=0.1, side="centered", outputs=("x", "y", "s"))
    a_vals, p_vals = layer.values_of(torch.from_numpy(A.toarray()),
                                     torch.from_numpy(P.toarray()))
    bs = torch.tensor(np.array([inst["b"] for inst in instances[:4]]), requires_grad=True)
    cs = torch.tensor(np.array([inst["c"] for inst in instances[:4]]), requires_grad=True)
    a_vals = a_vals.detach().expand(4, -1).clone().requires_grad_()
    x, y, s = layer(a_vals, bs, cs, p_vals)
    rng = np.random.default_rng(1)
    gx, gy = rng.standard_normal(x.shape), rng.standard_normal(y.shape)
    ((x * torch.from_numpy(gx)).sum() + (y * torch.from_numpy(gy)).sum()).backward()
    # The same problems through the diffcp-compatible path (per-item lists) of part 1.
    Ps = [P] * 4
    xs, ys, ss, _, DT = diffcp_compat.solve_and_derivative_batch(
        [A] * 4, [inst["b"] for inst in instances[:4]], [inst["c"] for inst in instances[:4]],
        [cone] * 4, mode="lpgd", derivative_kwargs={"tau": 0.1, "rho": 0.1}, Ps=Ps)
    dAs, dbs, dcs = DT(list(gx), list(gy), [np.zeros(A.shape[0])] * 4)
    for i in range(4):
        assert np.array_equal(x[i].detach().numpy(), xs[i])
        assert np.array_equal(y[i].detach().numpy(), ys[i])
        assert np.array_equal(bs.grad[i].numpy(), dbs[i])
        assert np.array_equal(cs.grad[i].numpy(), dcs[i])
        dA_dense = layer.values_of(torch.from_numpy(dAs[i].toarray()))
        assert np.array_equal(a_vals.grad[i].numpy(), dA_dense.numpy())


def fd_check(layer, inputs, which, rng, h=1e-6):
    """The LPGD vector–Jacobian product of a random linear loss against central differences."""
    x = layer(*inputs)
    g = torch.from_numpy(rng.standard_normal(x.shape))
    for t in inputs:
        if t is not None:
            t.grad = None
    (x * g).sum().backward()
    for k in which:
        t = inputs[k]
        grad = t.grad.numpy().ravel()
        direction = rng.standard_normal(t.shape)
        with torch.no_grad():
            plus = [u.clone() if u is not None else None for u in inputs]
            minus = [u.clone() if u is not None else None for u in inputs]
            plus[k] += h * torch.from_numpy(direction)
            minus[k] -= h * torch.from_numpy(direction)
            fd = ((layer(*plus) - layer(*minus)) * g).sum().item() / (2 * h)
        lp = float(grad @ direction.ravel())
        assert abs(lp - fd) <= 1e-4 * max(1.0, abs(fd)), (k, lp, fd)


@pytest.mark.parametrize("side", ["centered", "right", "left"])
def test_gradients_against_finite_differences(qp, side):
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=1e-5, side=side, high_accuracy=True)
    a_vals, p_vals = values(layer, A, P)
    n = A.shape[1]
    bs = torch.tensor(np.stack([b, b + 0.05]), requires_grad=True)
    cs = torch.tensor(rng.standard_normal((2, n)), requires_grad=True)
    av = a_vals.expand(2, -1).clone().requires_grad_()
    pv = p_vals.expand(2, -1).clone().requires_grad_()
    fd_check(layer, [av, bs, cs, pv], which=[0, 1, 2, 3], rng=rng)


@pytest.mark.parametrize("side", ["centered", "right"])
def test_the_face_backend_gives_exact_gradients_at_default_accuracy(qp, side):
    # With "+face" the forward solution is polished and the re-solves certified on its face, so
    # τ = 1e-5 needs no high-accuracy solver: LPGD matches central differences.
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=1e-5, side=side, backend="clarabel+face")
    a_vals, p_vals = values(layer, A, P)
    bs = torch.tensor(np.stack([b, b + 0.05]), requires_grad=True)
    cs = torch.tensor(rng.standard_normal((2, A.shape[1])), requires_grad=True)
    av = a_vals.expand(2, -1).clone().requires_grad_()
    pv = p_vals.expand(2, -1).clone().requires_grad_()
    fd_check(layer, [av, bs, cs, pv], which=[0, 1, 2, 3], rng=rng)
    with pytest.raises(ValueError):
        lt.ConicLayer(A, cones, P, backend="gurobi+face")


def test_the_face_backend_with_boundary_cones_is_a_layer_backend(qp):
    # Its docstring offers "+face+boundary"; the layer took only "+face" before.
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=1e-5, backend="clarabel+face+boundary")
    plain = lt.ConicLayer(A, cones, P, tau=1e-5, backend="clarabel+face")
    a_vals, p_vals = values(layer, A, P)
    c = torch.tensor(rng.standard_normal((2, A.shape[1])))
    x = layer(a_vals, torch.tensor(b), c, p_vals)
    assert torch.max(torch.abs(x - plain(a_vals, torch.tensor(b), c, p_vals))) < 1e-9
    with pytest.raises(ValueError):
        lt.ConicLayer(A, cones, P, backend="clarabel+boundary")


def test_torch_gradcheck_on_a_strictly_convex_qp(qp):
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=1e-6, high_accuracy=True)
    a_vals, p_vals = values(layer, A, P)
    c = torch.tensor(rng.standard_normal(A.shape[1]), requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    assert torch.autograd.gradcheck(lambda bb, cc: layer(a_vals, bb, cc, p_vals), (bt, c),
                                    eps=1e-6, atol=1e-4, rtol=1e-3)


def test_shared_inputs_broadcast_and_sum_their_gradients(qp):
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=1e-3)
    a_vals, p_vals = values(layer, A, P)
    cs = torch.tensor(rng.standard_normal((3, A.shape[1])))
    bt = torch.tensor(b, requires_grad=True)
    x = layer(a_vals, bt, cs, p_vals)
    assert x.shape == (3, A.shape[1])
    x.sum().backward()
    per_item = []
    for i in range(3):
        bi = torch.tensor(b, requires_grad=True)
        layer(a_vals, bi, cs[i], p_vals).sum().backward()
        per_item.append(bi.grad)
    assert torch.allclose(bt.grad, sum(per_item), rtol=0, atol=1e-12)


def test_results_do_not_depend_on_the_thread_count(qp):
    A, P, cones, b, rng = qp
    cs = torch.tensor(rng.standard_normal((8, A.shape[1])), requires_grad=True)
    out = []
    for threads in (1, 2):
        layer = lt.ConicLayer(A, cones, P, tau=0.1, rho=0.1, threads=threads)
        a_vals, p_vals = values(layer, A, P)
        c = cs.detach().clone().requires_grad_()
        x = layer(a_vals, torch.tensor(b), c, p_vals)
        x.pow(2).sum().backward()
        out.append((x.detach(), c.grad))
    assert torch.equal(out[0][0], out[1][0]) and torch.equal(out[0][1], out[1][1])


def test_one_bad_item_never_spoils_the_others(qp):
    A, P, cones, b, rng = qp
    n = A.shape[1]
    cs = torch.tensor(rng.standard_normal((3, n)))
    bs = torch.tensor(np.stack([b, b, b]))
    bs[1, 0] = float("nan")  # refused data in item 1
    layer = lt.ConicLayer(A, cones, P, on_failure="raise")
    a_vals, p_vals = values(layer, A, P)
    with pytest.raises(lpgd.SolverError, match="item 1"):
        layer(a_vals, bs, cs, p_vals)
    nan_layer = lt.ConicLayer(A, cones, P, on_failure="nan")
    c = cs.clone().requires_grad_()
    x = nan_layer(a_vals, bs, c, p_vals)
    assert torch.isnan(x[1]).all() and not torch.isnan(x[[0, 2]]).any()
    alone = nan_layer(a_vals, bs[2], cs[2], p_vals)
    assert torch.equal(alone, x[2])
    x[[0, 2]].sum().backward()
    assert torch.isnan(c.grad[1]).all() and not torch.isnan(c.grad[[0, 2]]).any()


def test_an_infeasible_item_is_reported_not_solved():
    # x ≥ 1 and x ≤ b: infeasible when b < 1.
    A = sp.csc_matrix(np.array([[-1.0], [1.0]]))
    layer = lt.ConicLayer(A, {"l": 2}, tau=0.1, on_failure="nan")
    bs = torch.tensor([[-1.0, 2.0], [-1.0, 0.5]])
    x = layer(torch.tensor([-1.0, 1.0]), bs, torch.tensor([1.0]))
    assert x[0].item() == pytest.approx(1.0, abs=1e-6)
    assert torch.isnan(x[1]).all()
    with pytest.raises(lpgd.SolverError, match="item 1.*infeasible"):
        lt.ConicLayer(A, {"l": 2})(torch.tensor([-1.0, 1.0]), bs, torch.tensor([1.0]))


@pytest.mark.parametrize("bad", [
    dict(tau=0.0), dict(tau=float("inf")), dict(side="up"), dict(on_failure="ignore"),
    dict(backend="gurobi"), dict(outputs=("z",)),
])
def test_bad_configuration_is_a_value_error(qp, bad):
    A, P, cones, _, _ = qp
    with pytest.raises(ValueError):
        lt.ConicLayer(A, cones, P, **bad)


def test_bad_shapes_are_value_errors(qp):
    A, P, cones, b, _ = qp
    layer = lt.ConicLayer(A, cones, P)
    a_vals, p_vals = values(layer, A, P)
    c = torch.zeros(A.shape[1])
    with pytest.raises(ValueError, match="b"):
        layer(a_vals, torch.zeros(len(b) + 1), c, p_vals)
    with pytest.raises(ValueError, match="batch sizes"):
        layer(a_vals, torch.zeros((2, len(b))), torch.zeros((3, A.shape[1])), p_vals)
    with pytest.raises(ValueError, match="P_values"):
        layer(a_vals, torch.tensor(b), c)
    with pytest.raises(ValueError):
        lt.ConicLayer(A, {"z": 1, "l": 2}, P)  # cones do not cover A's rows


def test_non_convex_p_values_are_refused_per_item(qp):
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, on_failure="nan")
    a_vals, p_vals = values(layer, A, P)
    pv = torch.stack([p_vals, -p_vals])
    x = layer(a_vals, torch.tensor(b), torch.zeros((2, A.shape[1])), pv)
    assert not torch.isnan(x[0]).any() and torch.isnan(x[1]).all()
    with pytest.raises(lpgd.SolverError, match="item 1.*(convex|semidefinite)"):
        lt.ConicLayer(A, cones, P)(a_vals, torch.tensor(b), torch.zeros((2, A.shape[1])), pv)


def test_float32_inputs_come_back_as_float32(qp):
    A, P, cones, b, rng = qp
    layer = lt.ConicLayer(A, cones, P, tau=0.1)
    a_vals, p_vals = values(layer, A, P)
    c = torch.tensor(rng.standard_normal(A.shape[1]), dtype=torch.float32, requires_grad=True)
    x = layer(a_vals.float(), torch.tensor(b, dtype=torch.float32), c, p_vals.float())
    assert x.dtype == torch.float32
    x.sum().backward()
    assert c.grad.dtype == torch.float32 and torch.isfinite(c.grad).all()
