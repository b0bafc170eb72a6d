"""The gradient audit (bench/gradient_audit.py) on the smooth layers: LPGD at τ = 1e-5 through the
cvxpylayers backend against central finite differences — within 1e-5 wherever the face
certified every re-solve, and with Clarabel's high accuracy on the SOCP and PSD layers."""

import pathlib
import sys

import pytest

pytest.importorskip("cvxpy")
pytest.importorskip("cvxpylayers")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))

from gradient_audit import audit  # noqa: E402

KINDS = ["least squares", "LP", "QP (simplex projection)", "SOCP", "PSD (projection)"]


def test_certified_gradients_match_finite_differences():
    rows = audit(kinds=KINDS, diffcp=False)
    certified = [r for r in rows if r["certified"]]
    assert {r["kind"] for r in certified} >= {"least squares", "LP", "QP (simplex projection)"}
    for r in certified:
        assert r["error"] < 1e-5, r
    accurate = [r for r in rows if r["method"] == "lpgd clarabel high accuracy"]
    assert len(accurate) == len(KINDS)  # every layer served, the PSD one included
    for r in accurate:
        assert r["error"] is not None and r["error"] < 1e-5, r
