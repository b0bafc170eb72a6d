"""lpgd.torch's combinatorial layers and losses: every oracle against brute force, every rule
against its formula evaluated on the oracle's own answers (exact equality), Python-callable
oracles (including broken ones), and PyEPO's generators against PyEPO itself."""

import itertools

import numpy as np
import pytest
import torch

import lpgd
import lpgd.torch as lt
from lpgd import combinatorial, data


pytestmark = pytest.mark.usefixtures("float64_by_default")


# ---------------------------------------------------------------------------------------------
# Oracles against brute force


def grid_paths(h, w):
    """Every monotone path of the h × w node grid as a 0/1 vector over PyEPO's arc order."""
    arcs = {}
    for i in range(h):  # PyEPO's arc order: a row's east arcs, then the south arcs below it
        for j in range(w - 1):
            arcs[((i, j), (i, j + 1))] = len(arcs)
        if i + 1 < h:
            for j in range(w):
                arcs[((i, j), (i + 1, j))] = len(arcs)
    out = []
    for moves in set(itertools.permutations("E" * (w - 1) + "S" * (h - 1))):
        y, (i, j) = np.zeros(len(arcs)), (0, 0)
        for mv in moves:
            nxt = (i, j + 1) if mv == "E" else (i + 1, j)
            y[arcs[((i, j), nxt)]] = 1
            i, j = nxt
        out.append(y)
    return out


def vertex_paths(h, w):
    """Every simple 8-neighbour path between opposite corners, as 0/1 vectors over cells."""
    out = []

    def walk(cell, seen):
        if cell == (h - 1, w - 1):
            y = np.zeros(h * w)
            for (i, j) in seen:
                y[i * w + j] = 1
            out.append(y)
            return
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                nxt = (cell[0] + di, cell[1] + dj)
                if (di, dj) != (0, 0) and 0 <= nxt[0] < h and 0 <= nxt[1] < w \
                        and nxt not in seen:
                    walk(nxt, seen + [nxt])

    walk((0, 0), [(0, 0)])
    return out


def feasible_sets():
    rng = np.random.default_rng(3)
    weights = rng.uniform(1, 5, (2, 7))
    cap = [9.0, 8.0]
    ks = [np.array(s, dtype=float) for s in itertools.product([0, 1], repeat=7)
          if np.all(weights @ np.array(s) <= np.array(cap) + 1e-12)]
    ranks = [np.array(p, dtype=float) for p in itertools.permutations(range(1, 5))]
    topk = [np.isin(np.arange(5), c).astype(float) for c in itertools.combinations(range(5), 2)]
    assign = []
    for perm in itertools.permutations(range(4), 3):
        y = np.zeros((3, 4))
        y[np.arange(3), perm] = 1
        assign.append(y.ravel())
    tours = []
    for perm in itertools.permutations(range(1, 5)):
        y, path = np.zeros((5, 5)), (0,) + perm + (0,)
        for a, b in zip(path, path[1:]):
            y[a, b] = 1
        tours.append(y.ravel())
    return [
        ("grid", combinatorial.grid_shortest_path(3, 4), grid_paths(3, 4), "any"),
        ("vertex", combinatorial.vertex_shortest_path(3, 3), vertex_paths(3, 3), "nonneg"),
        ("knapsack", combinatorial.knapsack(weights, cap), ks, "any"),
        ("ranking", combinatorial.ranking(4), ranks, "any"),
        ("top_k", combinatorial.top_k(5, 2), topk, "any"),
        ("assignment", combinatorial.assignment(3, 4), assign, "any"),
        ("tsp", combinatorial.tsp(5), tours, "any"),
    ]


@pytest.mark.parametrize("name,oracle,ys,costs", feasible_sets(), ids=lambda v: str(v)[:10])
def test_oracles_match_brute_force(name, oracle, ys, costs):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((20, oracle.dim))
    if costs == "nonneg":
        w = np.abs(w)
    got, errors = oracle.solve(w)
    assert errors == [None] * 20
    ys = np.array(ys)
    for i in range(20):
        best = (ys @ w[i]).min()
        assert got[i] @ w[i] == pytest.approx(best, abs=1e-12), name
        assert any(np.array_equal(got[i], y) for y in ys), name  # a feasible point


# ---------------------------------------------------------------------------------------------
# Rules against their formulas


@pytest.fixture
def sp_batch():
    d = data.shortest_path_data(8, 5, (5, 5), deg=4, noise_width=0.5, seed=135)
    return combinatorial.grid_shortest_path(5, 5), d["costs"]


@pytest.mark.parametrize("side", ["right", "left", "centered"])
@pytest.mark.parametrize("sense", ["min", "max"])
def test_lpgd_rule_is_the_difference_quotient(sp_batch, side, sense):
    oracle, w = sp_batch
    if sense == "max":
        w = -w
    tau = 0.7
    g = np.random.default_rng(0).standard_normal(w.shape)
    layer = lt.CombinatorialLayer(oracle, "lpgd", tau=tau, side=side, sense=sense)
    wt = torch.tensor(w, requires_grad=True)
    y = layer(wt)
    (y * torch.from_numpy(g)).sum().backward()
    s = 1.0 if sense == "min" else -1.0
    sol = lambda v: oracle.solve(s * v)[0]  # noqa: E731
    assert np.array_equal(y.detach().numpy(), sol(w))
    # LPGD on the minimising frame u = s·w: ∇_u = (y(u + τg) − y(u − τg))/(2τ) etc., ∇_w = s ∇_u.
    u = s * w
    ymin = lambda v: oracle.solve(v)[0]  # noqa: E731
    if side == "right":
        expected = (ymin(u + tau * g) - ymin(u)) / tau
    elif side == "left":
        expected = (ymin(u) - ymin(u - tau * g)) / tau
    else:
        expected = (ymin(u + tau * g) - ymin(u - tau * g)) / (2 * tau)
    np.testing.assert_allclose(wt.grad.numpy(), s * expected, rtol=0, atol=1e-15)


def test_nid_is_the_negated_gradient(sp_batch):
    oracle, w = sp_batch
    wt = torch.tensor(w, requires_grad=True)
    g = torch.randn(w.shape)
    (lt.CombinatorialLayer(oracle, "nid")(wt) * g).sum().backward()
    assert torch.equal(wt.grad, -g)


def test_dpo_forward_and_backward_by_formula(sp_batch):
    oracle, w = sp_batch
    m, sigma = 5, 0.5
    layer = lt.CombinatorialLayer(oracle, "dpo", samples=m, sigma=sigma, generator=11)
    wt = torch.tensor(w, requires_grad=True)
    y = layer(wt)
    g = np.random.default_rng(1).standard_normal(w.shape)
    (y * torch.from_numpy(g)).sum().backward()
    # The same noise, drawn item after item from the same generator.
    rng = data.RandomState(11)
    for i in range(len(w)):
        z = rng.standard_normal(m * w.shape[1]).reshape(m, -1)
        ys = oracle.solve(w[i] + sigma * z)[0]
        assert np.array_equal(y[i].detach().numpy(), ys.sum(0) / m)
        r = ys @ g[i]
        expected = ((r - r.mean())[:, None] * z).sum(0) * (m / (m - 1)) / (m * sigma)
        np.testing.assert_allclose(wt.grad[i].numpy(), expected, rtol=1e-12, atol=1e-14)


def test_spo_plus_by_formula(sp_batch):
    oracle, c = sp_batch
    c_hat = c + np.random.default_rng(2).standard_normal(c.shape)
    ct = torch.tensor(c_hat, requires_grad=True)
    loss = lt.SPOPlus(oracle, reduction="none")(ct, torch.from_numpy(c))
    loss.sum().backward()
    y_star = oracle.solve(c)[0]
    y_tilde = oracle.solve(2 * c_hat - c)[0]
    expected_loss = -((2 * c_hat - c) * y_tilde).sum(1) + 2 * (c_hat * y_star).sum(1) \
        - (c * y_star).sum(1)
    np.testing.assert_allclose(loss.detach().numpy(), expected_loss, rtol=1e-14)
    assert np.array_equal(ct.grad.numpy(), 2 * (y_star - y_tilde))
    assert (loss.detach().numpy() >= -1e-12).all()


def test_pfyl_by_formula_and_generator_sharing(sp_batch):
    oracle, c = sp_batch
    y_star = oracle.solve(c)[0]
    theta = torch.tensor(c, requires_grad=True)
    loss = lt.PFYLoss(oracle, samples=4, sigma=1.0, generator=5, reduction="sum")
    value = loss(theta, torch.from_numpy(y_star))
    value.backward()
    rng = data.RandomState(5)
    total, grads = 0.0, []
    for i in range(len(c)):
        z = rng.standard_normal(4 * c.shape[1]).reshape(4, -1)
        ys = oracle.solve(c[i] + z)[0]
        total += c[i] @ y_star[i] - np.mean([(c[i] + z[k]) @ ys[k] for k in range(4)])
        grads.append(y_star[i] - ys.sum(0) / 4)
    assert value.item() == pytest.approx(total, rel=1e-12)
    assert np.array_equal(theta.grad.numpy(), np.array(grads))


def test_perturbed_layers_do_not_depend_on_the_thread_count(sp_batch):
    oracle, w = sp_batch
    out = []
    for threads in (1, 3):
        layer = lt.CombinatorialLayer(oracle, "dpo", samples=6, generator=3, threads=threads)
        wt = torch.tensor(w, requires_grad=True)
        layer(wt).pow(2).sum().backward()
        out.append(wt.grad)
    assert torch.equal(out[0], out[1])


# ---------------------------------------------------------------------------------------------
# Python-callable oracles


def py_top2(costs):
    y = np.zeros_like(costs)
    y[np.argsort(costs, kind="stable")[:2]] = 1
    return y


def test_python_oracle_agrees_with_the_built_in_one():
    w = np.random.default_rng(4).standard_normal((16, 6))
    ours = combinatorial.python_oracle(py_top2, 6)
    theirs = combinatorial.top_k(6, 2)
    g = torch.randn(16, 6)
    grads = []
    for o in (ours, theirs):
        wt = torch.tensor(w, requires_grad=True)
        (lt.CombinatorialLayer(o, "lpgd", tau=0.5, side="centered")(wt) * g).sum().backward()
        grads.append(wt.grad)
    assert torch.equal(grads[0], grads[1])
    ys = np.array(ours.solve(w)[0])
    loss = lt.SPOPlus(ours)(torch.tensor(w), torch.tensor(w), torch.from_numpy(ys))
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


def raises(costs):
    raise RuntimeError("my solver broke")


@pytest.mark.parametrize("solve,message", [
    (raises, "my solver broke"),
    (lambda c: np.zeros(len(c) + 1), "length|entries"),
    (lambda c: "not numbers", "not a one-dimensional array"),
    (lambda c: np.full(len(c), np.nan), "finite|NaN|nan"),
    (lambda c: np.zeros((2, len(c))), "not a one-dimensional array"),
])
def test_a_broken_python_oracle_is_a_clear_error(solve, message):
    o = combinatorial.python_oracle(solve, 4)
    w = torch.randn(3, 4, requires_grad=True)
    for module, args in [
        (lt.CombinatorialLayer(o, "lpgd"), (w,)),
        (lt.CombinatorialLayer(o, "dpo", samples=2), (w,)),
        (lt.SPOPlus(o), (w, torch.randn(3, 4), torch.zeros(3, 4))),
        (lt.PFYLoss(o, samples=2), (w, torch.zeros(3, 4))),
    ]:
        with pytest.raises(lpgd.SolverError, match=message):
            module(*args)
    y, errors = o.solve(np.zeros((2, 4)))
    assert np.isnan(y).all() and all(e is not None for e in errors)


def test_one_failing_item_keeps_the_others():
    def picky(costs):
        if costs[0] > 100:
            raise ValueError("too expensive")
        return py_top2(costs)

    o = combinatorial.python_oracle(picky, 4)
    w = torch.tensor([[0.0, 1, 2, 3], [200.0, 1, 2, 3], [3.0, 2, 1, 0]])
    y = lt.CombinatorialLayer(o, on_failure="nan")(w)
    assert torch.isnan(y[1]).all()
    assert y[0].tolist() == [1, 1, 0, 0] and y[2].tolist() == [0, 0, 1, 1]
    with pytest.raises(lpgd.SolverError, match="item 1.*too expensive"):
        lt.CombinatorialLayer(o)(w)


def test_python_oracle_inside_the_rust_training_loop():
    d = data.shortest_path_data(60, 5, (3, 3), deg=2, noise_width=0.2, seed=1)
    builtin = combinatorial.grid_shortest_path(3, 3)
    paths = np.array(grid_paths(3, 3))
    brute = combinatorial.python_oracle(lambda c: paths[np.argmin(paths @ c)], builtin.dim)
    a = data.train_linear(builtin, "spo+", d["features"], d["costs"], 40, epochs=2, batch=8)
    b = data.train_linear(brute, "spo+", d["features"], d["costs"], 40, epochs=2, batch=8)
    assert a["regret_per_epoch"] == b["regret_per_epoch"]


# ---------------------------------------------------------------------------------------------
# Configuration and data


@pytest.mark.parametrize("kwargs", [
    dict(rule="spo"), dict(tau=-1.0), dict(samples=0), dict(sigma=0.0), dict(sense="maximize"),
    dict(side="middle"),
])
def test_bad_layer_configuration(kwargs):
    with pytest.raises(ValueError):
        lt.CombinatorialLayer(combinatorial.ranking(3), **kwargs)


@pytest.mark.parametrize("make", [
    lambda: combinatorial.grid_shortest_path(0, 3),
    lambda: combinatorial.top_k(3, 4),
    lambda: combinatorial.tsp(40),
    lambda: combinatorial.knapsack([[1.0, -2.0]], [3.0]),
    lambda: combinatorial.knapsack([[1.0, 2.0]], [3.0, 1.0]),
    lambda: combinatorial.assignment(2 ** 40, 2 ** 40),
    lambda: data.shortest_path_data(5, 0, (5, 5)),
    lambda: data.shortest_path_data(5, 5, (1, 1)),
    lambda: data.knapsack_data(5, 5, 10, 0),
    lambda: data.shortest_path_data(5, 5, (5, 5), noise_width=float("nan")),
    lambda: data.terrain_maps(2, grid=0),
    lambda: data.normalized_regret(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2)),
    lambda: data.train_linear(combinatorial.ranking(3), "pfyl", np.zeros((5, 2)), np.ones((5, 3)),
                              3, epochs=0),
    lambda: data.train_linear(combinatorial.ranking(3), "nid", np.zeros((5, 2)), np.ones((5, 3)),
                              5),
    lambda: combinatorial.ranking(4).perturbed(np.zeros((1, 4)), 10 ** 9, 1.0,
                                               data.RandomState(0)),
])
def test_bad_sizes_are_value_errors(make):
    with pytest.raises((ValueError, OverflowError)):
        make()


def test_wrong_cost_shapes_are_value_errors():
    o = combinatorial.ranking(3)
    with pytest.raises(ValueError, match="expected shape"):
        o.solve(np.zeros((2, 4)))
    with pytest.raises(ValueError):
        lt.CombinatorialLayer(o)(torch.zeros(2, 2, 3))


def test_pyepo_generators_equal_pyepo():
    pyepo_data = pytest.importorskip("pyepo.data")
    x, c = pyepo_data.shortestpath.genData(30, 5, (5, 5), deg=4, noise_width=0.5, seed=135)
    ours = data.shortest_path_data(30, 5, (5, 5), deg=4, noise_width=0.5, seed=135)
    assert np.array_equal(x, ours["features"]) and np.array_equal(c, ours["costs"])
    w, x, c = pyepo_data.knapsack.genData(30, 5, 32, 2, deg=2, noise_width=0.1, seed=7)
    ours = data.knapsack_data(30, 5, 32, 2, deg=2, noise_width=0.1, seed=7)
    assert np.array_equal(w, ours["weights"]) and np.array_equal(x, ours["features"])
    assert np.array_equal(c, ours["values"])


def test_terrain_maps_paths_are_optimal():
    maps = data.terrain_maps(3, grid=6, tile=2, seed=1)
    assert maps["images"].shape == (3, 3, 12, 12) and maps["images"].dtype == np.float32
    y, _ = combinatorial.vertex_shortest_path(6, 6).solve(maps["costs"])
    np.testing.assert_allclose((y * maps["costs"]).sum(1), (maps["paths"] * maps["costs"]).sum(1))
