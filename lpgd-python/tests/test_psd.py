"""Positive semidefinite cones from Python (the test wheel is built with `clarabel-sdp`): the
diffcp API and the torch layer against diffcp 1.1.9's own SCS path, in diffcp's layout."""

import json
import pathlib

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import lpgd.torch as lt
from lpgd import diffcp_compat

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "sdp" / "nearest_correlation.json"

pytestmark = pytest.mark.skipif("clarabel" not in __import__("lpgd").backends(),
                                reason="needs the Clarabel backend")


@pytest.fixture(scope="module")
def problem():
    d = json.loads(DATA.read_text())
    A = sp.csc_matrix((d["A"]["vals"], d["A"]["rows"], d["A"]["indptr"]), shape=d["A"]["shape"])
    return A, sp.identity(d["n"], format="csc"), d["cone"], d["instances"]


def test_diffcp_api_with_psd_cones_matches_diffcps_scs_path(problem):
    real = pytest.importorskip("diffcp")
    A, P, cone, instances = problem
    for inst in instances:
        b, c = np.array(inst["b"]), np.array(inst["c"])
        x, y, s, _, DT = diffcp_compat.solve_and_derivative(
            A, b, c, cone, P=P, mode="lpgd", high_accuracy=True,
            derivative_kwargs={"tau": 1e-4, "rho": 0.0})
        xr, yr, sr, _, _ = real.solve_and_derivative(
            A, b, c, cone, P=P, solve_method="SCS", mode="lpgd", eps_abs=1e-10, eps_rel=1e-10,
            max_iters=100000)
        for ours, theirs in [(x, xr), (y, yr), (s, sr)]:
            np.testing.assert_allclose(ours, theirs, atol=1e-5)  # SCS reaches ~1e-6 here
        dA, db, dc = DT(np.ones_like(x), np.zeros_like(y), np.zeros_like(s))
        assert np.isfinite(db).all() and np.isfinite(dc).all() and dA.shape == A.shape


def test_conic_layer_with_a_psd_cone(problem):
    A, P, cone, instances = problem
    layer = lt.ConicLayer(A, cone, P, tau=1e-4, high_accuracy=True)
    a_vals, p_vals = layer.values_of(torch.from_numpy(A.toarray()), torch.from_numpy(P.toarray()))
    b = torch.tensor(np.array([inst["b"] for inst in instances]))
    c = torch.tensor(np.array([inst["c"] for inst in instances]), requires_grad=True)
    x = layer(a_vals, b, c, p_vals)
    for i, inst in enumerate(instances):
        np.testing.assert_allclose(x[i].detach().numpy(), inst["x"], atol=1e-6)
    x.sum().backward()
    assert torch.isfinite(c.grad).all()
