"""Warm forwards in the layers (lpgd.torch.ConicLayer, the cvxpylayers backend): a training loop's
next call is answered from the last answers and equals the cold answer; keys find each item's
answer in shuffled batches; guesses from other items fall back to the cold answer; off and
reset switches."""

import numpy as np
import pytest
import torch

import lpgd.torch as lt

from test_torch_conic import random_qp, values

pytestmark = pytest.mark.usefixtures("float64_by_default")


@pytest.fixture(scope="module")
def qp():
    rng = np.random.default_rng(7)
    A, P, cones, b = random_qp(rng, n=8, m_ineq=12, m_eq=2)
    return A, P, cones, b, rng


def layer_pair(qp, **kw):
    A, P, cones, _, _ = qp
    warm = lt.ConicLayer(A, cones, P, backend="clarabel+face", tau=0.1, **kw)
    cold = lt.ConicLayer(A, cones, P, backend="clarabel+face", tau=0.1, warm=False, **kw)
    return warm, cold


def test_the_next_step_of_a_training_loop_is_answered_from_the_last_answers(qp):
    A, P, cones, b, rng = qp
    warm, cold = layer_pair(qp)
    a_vals, p_vals = values(warm, A, P)
    c0 = rng.standard_normal((8, A.shape[1]))
    warm(a_vals, torch.tensor(b), torch.tensor(c0), p_vals)
    assert warm.last_warm_share == 0.0  # nothing to start from yet
    for step in range(3):
        c = torch.tensor(c0 + 1e-3 * (step + 1) * rng.standard_normal(c0.shape), requires_grad=True)
        x = warm(a_vals, torch.tensor(b), c, p_vals)
        assert warm.last_warm_share >= 0.75, step
        c_cold = c.detach().clone().requires_grad_()
        x_cold = cold(a_vals, torch.tensor(b), c_cold, p_vals)
        assert np.isnan(cold.last_warm_share) or cold.last_warm_share == 0.0
        assert torch.max(torch.abs(x - x_cold)) < 1e-9
        # The backward pass is the same LPGD pass from the same (exact) forward answers.
        g = torch.tensor(rng.standard_normal(x.shape))
        (x * g).sum().backward()
        (x_cold * g).sum().backward()
        assert torch.max(torch.abs(c.grad - c_cold.grad)) < 1e-6


def test_keys_find_each_items_answer_in_a_shuffled_batch(qp):
    A, P, cones, b, rng = qp
    warm, cold = layer_pair(qp)
    a_vals, p_vals = values(warm, A, P)
    c0 = 3.0 * rng.standard_normal((8, A.shape[1]))
    keys = np.arange(8)
    warm(a_vals, torch.tensor(b), torch.tensor(c0), p_vals, keys=keys)
    order = rng.permutation(8)
    c1 = torch.tensor(c0[order] + 1e-3 * rng.standard_normal(c0.shape))
    x = warm(a_vals, torch.tensor(b), c1, p_vals, keys=keys[order])
    assert warm.last_warm_share >= 0.75
    assert torch.max(torch.abs(x - cold(a_vals, torch.tensor(b), c1, p_vals))) < 1e-9
    # Without keys, each item is handed the answer at its position: another item's, far from
    # it. Those guesses are refused and the items solved from scratch — the same answers.
    order = np.roll(np.arange(8), 1)
    c2 = torch.tensor(c0[order])
    x = warm(a_vals, torch.tensor(b), c2, p_vals)
    assert warm.last_warm_share <= 0.25
    assert torch.max(torch.abs(x - cold(a_vals, torch.tensor(b), c2, p_vals))) < 1e-9
    with pytest.raises(ValueError):
        warm(a_vals, torch.tensor(b), c2, p_vals, keys=[0, 1])
    with pytest.raises(ValueError):
        warm(a_vals, torch.tensor(b), c2, p_vals, keys=[-1] * 8)
    with pytest.raises(TypeError):
        warm(a_vals, torch.tensor(b), c2, p_vals, keys=[0.5] * 8)


def test_warm_forwards_can_be_switched_off_and_reset(qp):
    A, P, cones, b, rng = qp
    warm, cold = layer_pair(qp)
    a_vals, p_vals = values(warm, A, P)
    c = torch.tensor(rng.standard_normal((4, A.shape[1])))
    for layer in (warm, cold):
        layer(a_vals, torch.tensor(b), c, p_vals)
        layer(a_vals, torch.tensor(b), c, p_vals)
    assert warm.last_warm_share == 1.0
    assert cold.last_warm_share == 0.0
    warm.reset_warm()
    warm(a_vals, torch.tensor(b), c, p_vals)
    assert warm.last_warm_share == 0.0


def test_the_cvxpylayers_backend_warms_its_forwards():
    cp = pytest.importorskip("cvxpy")
    pytest.importorskip("cvxpylayers")
    from cvxpylayers.torch import CvxpyLayer  # noqa: PLC0415

    from lpgd.cvxpylayers import LpgdSolver  # noqa: PLC0415

    # Nonnegative least squares with the data as parameters: a QP whose face is the zero set.
    rng = np.random.default_rng(3)
    m, n = 12, 6
    x, A, y = cp.Variable(n), cp.Parameter((m, n)), cp.Parameter(m)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - y)), [x >= 0])
    out = []
    for warm in (True, False):
        solver = LpgdSolver(tau=0.1, rho=0.0, backend="clarabel+face", warm=warm)
        layer = CvxpyLayer(problem, parameters=[A, y], variables=[x], solver=solver)
        a0 = torch.tensor(rng.standard_normal((4, m, n))) if warm else out[0][2]
        y0 = torch.tensor(rng.standard_normal((4, m))) if warm else out[0][3]
        layer(a0, y0)
        a1, y1 = a0 + 1e-3, y0 - 1e-3
        (sol,) = layer(a1, y1)
        out.append((sol.detach(), solver.last_warm_share, a0, y0))
        info = solver.last_info
        assert info["status"] == ["solved"] * 4 and info["warm"] == [warm] * 4
    (warm_x, warm_share, _, _), (cold_x, cold_share, _, _) = out
    assert warm_share >= 0.75 and cold_share == 0.0
    assert torch.max(torch.abs(warm_x - cold_x)) < 1e-8


def test_the_diffcp_drop_in_takes_warm_starts(qp):
    from lpgd import _lpgd, diffcp_compat  # noqa: PLC0415

    A, P, cones, b, rng = qp
    n = A.shape[1]
    cs = [rng.standard_normal(n) for _ in range(4)]
    kw = dict(Ps=[P] * 4, backend="clarabel+face")
    xs, ys, ss = diffcp_compat.solve_only_batch([A] * 4, [b] * 4, cs, [cones] * 4, **dict(kw))
    moved = [c + 1e-3 * rng.standard_normal(n) for c in cs]
    warm = list(zip(xs, ys, ss))
    warm[3] = None  # an item without a warm start
    wx, wy, ws = diffcp_compat.solve_only_batch([A] * 4, [b] * 4, moved, [cones] * 4,
                                                 warm_starts=warm, **dict(kw))
    cx, _, _ = diffcp_compat.solve_only_batch([A] * 4, [b] * 4, moved, [cones] * 4, **dict(kw))
    assert max(np.abs(u - v).max() for u, v in zip(wx, cx)) < 1e-9
    # The same call at the binding: the first three answered from their warm start.
    mats = diffcp_compat._Csc.many([A] * 4)
    pmats = diffcp_compat._Csc.many([P] * 4, upper=True)
    session = _lpgd.solve([m.raw() for m in mats], [np.asarray(b, float)] * 4, moved,
                          [diffcp_compat._cones(cones)] * 4, [p.raw() for p in pmats],
                          "clarabel+face", False, False, 1,
                          diffcp_compat._warm_starts(warm, 4))
    assert session.warm() == [True, True, True, False]
    # The single-problem form, and malformed warm starts.
    x, _, _ = diffcp_compat.solve_only(A, b, moved[0], cones, warm_start=warm[0], P=P,
                                       backend="clarabel+face")
    assert np.abs(x - cx[0]).max() < 1e-9
    with pytest.raises(ValueError):
        diffcp_compat.solve_only_batch([A] * 4, [b] * 4, moved, [cones] * 4,
                                       warm_starts=warm[:2], **dict(kw))
    with pytest.raises(ValueError):
        diffcp_compat.solve_only_batch([A] * 4, [b] * 4, moved, [cones] * 4,
                                       warm_starts=[(xs[0], ys[0])] * 4, **dict(kw))
