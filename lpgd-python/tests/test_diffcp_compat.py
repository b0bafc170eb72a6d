"""lpgd.diffcp_compat against diffcp's own numbers, finite differences and its semantics."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import load_problem_file, rel_err
from lpgd import diffcp_compat as diffcp

CONFIGS = {
    "lpgd_tau1e-4": ("lpgd", 1e-4, 0.0),
    "lpgd_tau0.1_rho0.1": ("lpgd", 0.1, 0.1),
    "lpgdR_tau0.1_rho0.1": ("lpgd_right", 0.1, 0.1),
}


def test_bundled_fixtures_reproduce_diffcp(fixtures):
    """Every fixture, forward and the three LPGD configurations, on the cold path (a new Clarabel
    solver per solve, as diffcp): within 1e-5 of diffcp 1.1.9's numbers, as in the Rust test."""
    checked = 0
    for prob in fixtures["problems"]:
        A, P, cone, instances = load_problem_file(f"{prob['family']}_{prob['size']}")
        inst = instances[prob["index"]]
        b, c = np.array(inst["b"]), np.array(inst["c"])
        dx = np.array(inst["dx"])
        dy = np.array(inst.get("dy") or np.zeros(len(b)))
        ds = np.array(inst.get("ds") or np.zeros(len(b)))
        kw = {"P": P} if P is not None else {}
        for name, (mode, tau, rho) in CONFIGS.items():
            x, y, s, _, DT = diffcp.solve_and_derivative(
                A, b, c, cone, mode=mode, cold=True,
                derivative_kwargs={"tau": tau, "rho": rho}, **kw,
            )
            for ours, theirs in [(x, prob["x"]), (y, prob["y"]), (s, prob["s"])]:
                assert rel_err(ours, theirs, 1e-9) < 1e-8
            dA, db, dc = DT(dx, dy, ds)
            ref = prob["configs"][name]
            floor = 1e-3 * max(np.linalg.norm(ref["dc"]), np.linalg.norm(ref["db"]),
                               np.linalg.norm(ref["dA_vals"]))
            for ours, theirs, block in [(dc, ref["dc"], "dc"), (db, ref["db"], "db"),
                                        (dA.data, ref["dA_vals"], "dA")]:
                e = rel_err(ours, theirs, floor)
                assert e <= 1e-5, f"{prob['family']} {prob['size']} {name} {block}: {e:.2e}"
            checked += 1
    assert checked == 3 * len(fixtures["problems"])


def strictly_convex_qp(seed, n=5, m=4):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n, n))
    P = sp.csc_matrix(L @ L.T / n + 0.5 * np.eye(n))
    A = sp.csc_matrix(rng.standard_normal((m, n)))
    x0 = rng.standard_normal(n)
    b = A @ x0 + rng.uniform(0.1, 1.0, m) * (rng.random(m) < 0.5)
    c = rng.standard_normal(n)
    return A, b, c, {"l": m}, P


def test_small_tau_matches_finite_differences_on_a_strictly_convex_qp():
    A, b, c, cone, P = strictly_convex_qp(3)
    g = np.random.default_rng(4).standard_normal(A.shape[1])
    kw = dict(mode="lpgd", P=P, high_accuracy=True, derivative_kwargs={"tau": 1e-5, "rho": 0.0})
    _, _, _, _, DT = diffcp.solve_and_derivative(A, b, c, cone, **kw)
    dA, db, dc = DT(g, np.zeros(len(b)), np.zeros(len(b)))
    loss = lambda cc, bb: g @ diffcp.solve_only(A, bb, cc, cone, P=P, high_accuracy=True)[0]  # noqa: E731
    h = 1e-5
    fd_c = [(loss(c + h * e, b) - loss(c - h * e, b)) / (2 * h) for e in np.eye(len(c))]
    fd_b = [(loss(c, b + h * e) - loss(c, b - h * e)) / (2 * h) for e in np.eye(len(b))]
    assert rel_err(dc, fd_c, 1e-6) < 1e-4
    assert rel_err(db, fd_b, 1e-6) < 1e-4


def test_batch_is_one_call_with_per_item_results_and_the_callers_matrix_untouched():
    A, b, c, cone, _ = strictly_convex_qp(5, n=4, m=6)
    # Unsorted indices with a duplicate and an explicit zero, as scipy allows.
    A = sp.csc_matrix(A)
    A.data[0] = 0.0
    before = (A.data.copy(), A.indices.copy(), A.indptr.copy())
    As, bs, cs = [A] * 4, [b] * 4, [c * (1 + 0.1 * k) for k in range(4)]
    xs, ys, ss, D, DT = diffcp.solve_and_derivative_batch(
        As, bs, cs, [cone] * 4, n_jobs_forward=2, n_jobs_backward=1, mode="lpgd",
        derivative_kwargs={"tau": 0.1, "rho": 0.1},
    )
    dAs, dbs, dcs = DT([np.ones(4)] * 4, [np.zeros(6)] * 4, [np.zeros(6)] * 4)
    assert all(d.shape == A.shape and d.nnz == A.nnz for d in dAs)
    assert np.array_equal(dAs[0].indices, A.indices)  # A's own pattern, zero entry included
    for arr, ref in zip((A.data, A.indices, A.indptr), before):
        assert np.array_equal(arr, ref)
    # The same numbers on one thread.
    xs1, *_ = diffcp.solve_only_batch(As, bs, cs, [cone] * 4, n_jobs_forward=1, mode="lpgd")
    for a, b1 in zip(xs, xs1):
        assert np.array_equal(a, b1)
    # Forward mode along dc: matches the backward pass's adjoint relation ⟨dx, g⟩ = ⟨dc, DTc⟩.
    dxs, _, _ = D([sp.csc_matrix(A.shape)] * 4, [np.zeros(6)] * 4, [np.eye(4)[0]] * 4)
    assert all(np.all(np.isfinite(v)) for v in dxs)


def test_p_full_or_upper_shared_or_copied_gives_the_same_answers_and_dp():
    """P as its full symmetric matrix or its upper triangle, one object for the whole batch or a
    copy per item (converted once or per item): the same solutions and gradients, bit for bit, and
    dP on the pattern of P's upper triangle (the part the solver reads)."""
    A, b, c, cone, P = strictly_convex_qp(7, n=5, m=7)
    full = sp.csc_matrix(P)
    upper = sp.csc_matrix(sp.triu(full))
    cs = [c * (1 + 0.1 * k) for k in range(3)]
    outs = []
    for Ps in ([full] * 3, [upper] * 3, [upper.copy() for _ in range(3)]):
        xs, _, _, _, DT = diffcp.solve_and_derivative_batch(
            [A] * 3, [b] * 3, cs, [cone] * 3, Ps=Ps, n_jobs_forward=1, n_jobs_backward=1,
            mode="lpgd", derivative_kwargs={"tau": 0.1, "rho": 0.1}, return_dP=True,
        )
        _, _, dcs, dPs = DT([np.ones(5)] * 3, [np.zeros(7)] * 3, [np.zeros(7)] * 3)
        for dP, p in zip(dPs, Ps):
            triu = sp.csc_matrix(sp.triu(p))
            assert np.array_equal(dP.indices, triu.indices) and np.array_equal(dP.indptr, triu.indptr)
        outs.append((xs, dcs))
    for xs, dcs in outs[1:]:
        assert all(np.array_equal(u, v) for u, v in zip(xs, outs[0][0]))
        assert all(np.array_equal(u, v) for u, v in zip(dcs, outs[0][1]))


def test_infeasible_and_unbounded_raise_solver_error_or_nan_as_asked():
    A = sp.csc_matrix(np.array([[1.0], [-1.0]]))
    infeasible = (A, np.array([0.0, -1.0]), np.array([1.0]), {"l": 2})  # x <= 0, x >= 1
    with pytest.raises(diffcp.SolverError, match="item 0"):
        diffcp.solve_and_derivative(*infeasible, mode="lpgd")
    unbounded = (sp.csc_matrix(np.array([[-1.0]])), np.array([0.0]), np.array([-1.0]), {"l": 1})
    with pytest.raises(diffcp.SolverError):
        diffcp.solve_only(*unbounded)
    ok = (A, np.array([1.0, 0.0]), np.array([1.0]), {"l": 2})
    xs, ys, ss = diffcp.solve_only_batch(
        [ok[0], infeasible[0]], [ok[1], infeasible[1]], [ok[2], infeasible[2]],
        [ok[3], infeasible[3]], on_failure="nan",
    )
    assert np.all(np.isfinite(xs[0])) and np.all(np.isnan(xs[1]))


def test_api_surface_of_diffcp_that_cvxpy_and_cvxpylayers_use():
    assert tuple(int(v) for v in diffcp.__version__.split(".")) == (1, 1, 9)
    assert issubclass(diffcp.SolverError, Exception)
    A = sp.csc_matrix(np.array([[1.0], [-1.0]]))
    args = (A, np.array([1.0, 0.0]), np.array([1.0]), {"z": 0, "l": 2, "q": [], "ep": 0, "s": [], "p": []})
    # mode and derivative_kwargs are accepted and ignored by the solve-only functions.
    x, _, _ = diffcp.solve_only(*args, mode="lpgd", derivative_kwargs={"tau": 0.1})
    assert abs(x[0]) < 1e-6
    # PSD cones pass through (test_psd.py solves them); ones that do not cover A's rows are refused.
    with pytest.raises(ValueError, match="cover 5 rows"):
        diffcp.solve_only(A, np.ones(2), np.ones(1), {"l": 2, "s": [2]})
    with pytest.raises(diffcp.SolverError, match="dual exponential"):
        diffcp.solve_only(A, np.ones(2), np.ones(1), {"l": 2, "ed": 1})
    if diffcp._real() is None:
        with pytest.raises(diffcp.SolverError, match="not LPGD"):
            diffcp.solve_and_derivative(*args, mode="lsqr")
    with pytest.raises(ValueError, match="not finite"):
        diffcp.solve_only(A, np.array([np.nan, 0.0]), np.ones(1), {"l": 2})


def test_readme_python_quick_start_runs():
    """The README's Python example, executed as written."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has a Python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_non_lpgd_modes_go_to_the_real_diffcp():
    real = diffcp._real()
    if real is None:
        pytest.skip("the real diffcp is not installed")
    A = sp.csc_matrix(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
    b, c = np.array([1.0, 0.0, 0.0]), np.array([1.0, 2.0])
    x, _, _, _, DT = diffcp.solve_and_derivative(A, b, c, {"z": 1, "l": 2}, mode="lsqr",
                                                 solve_method="Clarabel")
    ours, *_ = diffcp.solve_and_derivative(A, b, c, {"z": 1, "l": 2}, mode="lpgd")
    assert np.allclose(x, ours, atol=1e-6)
    dA, db, dc = DT(np.array([1.0, 0.0]), np.zeros(3), np.zeros(3))
    assert np.allclose(dc, 0.0, atol=1e-6)  # the true derivative of an LP's vertex: zero


def test_the_face_backend_agrees_with_clarabel_and_is_more_accurate():
    # `backend="clarabel+face"`: the certified face re-solve around Clarabel (forward polished,
    # re-solves on the forward face). On a QP it agrees with plain Clarabel to its tolerance and
    # with Clarabel at high accuracy more closely than plain Clarabel does.
    A, P, cone, inst = load_problem_file("qp_box_small")
    k = 6
    As, Ps = [A] * k, [P] * k
    bs = [np.array(i["b"]) for i in inst[:k]]
    cs = [np.array(i["c"]) for i in inst[:k]]
    dxs = [np.array(i["dx"]) for i in inst[:k]]
    zeros = [np.zeros(A.shape[0])] * k
    kw = dict(Ps=Ps, mode="lpgd", derivative_kwargs={"tau": 1e-4, "rho": 0.0})

    def grads(**extra):
        out = diffcp.solve_and_derivative_batch(As, bs, cs, [cone] * k, **kw, **extra)
        return out[0], out[4](dxs, zeros, zeros)[2]

    x_face, dc_face = grads(backend="clarabel+face")
    x_plain, dc_plain = grads(backend="clarabel")
    x_ref, dc_ref = grads(backend="clarabel", high_accuracy=True)
    for i in range(k):
        assert rel_err(x_face[i], x_plain[i], 1e-6) < 1e-6
        assert rel_err(dc_face[i], dc_ref[i], 1e-3) < 1e-5
    err_face = sum(rel_err(a, r, 1e-3) for a, r in zip(dc_face, dc_ref))
    err_plain = sum(rel_err(a, r, 1e-3) for a, r in zip(dc_plain, dc_ref))
    assert err_face < err_plain
    with pytest.raises(ValueError):
        grads(backend="no-such+face")


def test_the_face_backend_with_boundary_cones_solves_socps_on_their_boundary():
    # `backend="clarabel+face+boundary"`: second-order cones on their boundary solved by Newton's
    # method too. On qp_socp_small (its cone on its boundary): the same solutions as plain
    # Clarabel to what its tolerance determines (~1e-5 here), and at tau = 1e-4, rho = 0 the
    # gradient of the exact solutions against central differences of the exact (polished)
    # solution map.
    A, P, cone, inst = load_problem_file("qp_socp_small")
    k = 3
    bs = [np.array(i["b"]) for i in inst[:k]]
    cs = [np.array(i["c"]) for i in inst[:k]]
    dxs = [np.array(i["dx"]) for i in inst[:k]]
    zeros = [np.zeros(A.shape[0])] * k
    kw = dict(Ps=[P] * k, mode="lpgd", derivative_kwargs={"tau": 1e-4, "rho": 0.0})

    def grads(**extra):
        out = diffcp.solve_and_derivative_batch([A] * k, bs, cs, [cone] * k, **kw, **extra)
        return out[0], out[4](dxs, zeros, zeros)[2]

    backend = "clarabel+face+boundary"
    x_face, dc_face = grads(backend=backend)
    x_plain, dc_plain = grads(backend="clarabel")
    h = 1e-4
    for i in range(k):
        assert rel_err(x_face[i], x_plain[i], 1e-6) < 1e-5

        def loss(c):
            return dxs[i] @ diffcp.solve_only(A, bs[i], c, cone, P=P, backend=backend)[0]

        fd = [(loss(cs[i] + h * e) - loss(cs[i] - h * e)) / (2 * h) for e in np.eye(len(cs[i]))]
        # Measured: 2e-9 to 5e-9 (plain Clarabel: 6e-5 to 1e-4, its tolerance over tau).
        assert rel_err(dc_face[i], fd, 1e-3) < 1e-6
        assert rel_err(dc_plain[i], fd, 1e-3) > 10 * rel_err(dc_face[i], fd, 1e-3)
    with pytest.raises(ValueError):
        grads(backend="clarabel+boundary")
