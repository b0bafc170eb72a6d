"""Shared helpers: the bundled diffcp reference problems as scipy/numpy data."""

import json
import pathlib

import numpy as np
import pytest
import scipy.sparse as sp
import torch

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "diffcp"


def load_problem_file(name):
    """(A, P or None, cone dict, instances) of a bundled problem file."""
    raw = json.loads((DATA / f"{name}.json").read_text())

    def csc(m):
        return sp.csc_matrix((m["vals"], m["rows"], m["indptr"]), shape=tuple(m["shape"]))

    A = csc(raw["A"])
    P = csc(raw["P"]) if raw.get("P") else None
    cone = {k: v for k, v in raw["cone"].items()}
    return A, P, cone, raw["instances"]


@pytest.fixture(scope="session")
def fixtures():
    return json.loads((DATA / "fixtures_Clarabel.json").read_text())


def rel_err(a, b, floor):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), floor)


@pytest.fixture
def float64_by_default():
    """float64 tensors by default in a test, restored afterwards."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)
