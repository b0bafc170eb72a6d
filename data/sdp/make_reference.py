"""Generates data/sdp/nearest_correlation.json: a small SDP in the diffcp/SCS layout (a PSD block
as the √2-scaled lower triangle, column by column) and diffcp 1.1.9's solutions of it, as
reference numbers for lpgd's PSD cones (read by tests/tests/psd.rs).

`x`, `y`, `s` come from diffcp's SCS path (eps 1e-11; its residuals are ~1e-11). `x_clarabel`,
`y_clarabel`, `s_clarabel` come from diffcp's Clarabel path: its x agrees, but its PSD blocks of
s and y come back in a scrambled order (the lower-to-upper permutation applied twice), so that
`Ax + s = b` fails by ~1 — kept to show it, not as a reference.

The problem: the nearest correlation matrix in the svec norm, as a QP over x = svec(X),
    min ½‖x − svec(G)‖²  s.t.  X_ii = 1 (zero cone),  X ⪰ 0 (PSD cone),
i.e. P = I, c = −svec(G), with G a symmetric matrix that is not PSD. Three instances (G varies).

    python data/sdp/make_reference.py       # needs numpy, scipy, diffcp 1.1.9, clarabel
"""

import json
import pathlib

import diffcp
import numpy as np
import scipy.sparse as sp

K = 4
ROWS = K * (K + 1) // 2


def svec(m):
    """Lower triangle, column by column, off-diagonals times √2 (diffcp's and SCS's layout)."""
    out = []
    for j in range(K):
        for i in range(j, K):
            out.append(m[i, j] if i == j else np.sqrt(2) * m[i, j])
    return np.array(out)


def diag_positions():
    pos, idx = [], 0
    for j in range(K):
        for i in range(j, K):
            if i == j:
                pos.append(idx)
            idx += 1
    return pos


def main():
    rng = np.random.default_rng(2024)
    n = ROWS
    # Rows: K equalities X_ii = 1, then the PSD block s = x.
    rows, cols, vals = [], [], []
    for r, p in enumerate(diag_positions()):
        rows.append(r), cols.append(p), vals.append(1.0)
    for p in range(n):
        rows.append(K + p), cols.append(p), vals.append(-1.0)
    A = sp.csc_matrix((vals, (rows, cols)), shape=(K + n, n))
    A.sort_indices()
    P = sp.identity(n, format="csc")
    cone = {"z": K, "s": [K]}
    instances = []
    for _ in range(3):
        g = rng.uniform(-1, 1, (K, K))
        g = (g + g.T) / 2
        np.fill_diagonal(g, 1.0)
        g[0, 1] = g[1, 0] = 0.95  # make it indefinite
        g[1, 2] = g[2, 1] = 0.95
        g[0, 2] = g[2, 0] = -0.9
        b = np.concatenate([np.ones(K), np.zeros(n)])
        c = -svec(g)
        x, y, s, _, _ = diffcp.solve_and_derivative(
            A, b, c, cone, P=P, solve_method="SCS", mode="lpgd", eps_abs=1e-11, eps_rel=1e-11,
            max_iters=200000)
        xc, yc, sc, _, _ = diffcp.solve_and_derivative(
            A, b, c, cone, P=P, solve_method="Clarabel", mode="lpgd",
            tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
        instances.append({"b": b.tolist(), "c": c.tolist(), "x": x.tolist(), "y": y.tolist(),
                          "s": s.tolist(), "x_clarabel": xc.tolist(), "y_clarabel": yc.tolist(),
                          "s_clarabel": sc.tolist()})
    doc = {
        "schema": "lpgd-peer-bench/problem-v1",
        "form": "min (1/2)x'Px + c'x s.t. Ax + s = b, s in K (SCS/diffcp order z,l,q,s)",
        "family": "nearest_correlation",
        "n": n,
        "m": K + n,
        "cone": cone,
        "meta": {"generator": "data/sdp/make_reference.py", "diffcp": diffcp.__version__,
                 "reference": "diffcp's SCS path, eps 1e-11",
                 "clarabel_path": "x agrees; the PSD blocks of s and y come back scrambled"},
        "A": {"shape": [K + n, n], "nnz": int(A.nnz), "order": "csc", "indptr": A.indptr.tolist(),
              "rows": A.indices.tolist(), "vals": A.data.tolist()},
        "P": {"shape": [n, n], "nnz": int(P.nnz), "order": "csc", "indptr": P.indptr.tolist(),
              "rows": P.indices.tolist(), "vals": P.data.tolist()},
        "instances": instances,
    }
    out = pathlib.Path(__file__).with_name("nearest_correlation.json")
    out.write_text(json.dumps(doc, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
