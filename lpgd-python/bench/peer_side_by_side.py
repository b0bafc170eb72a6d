"""lpgd against Moreau and diffcp on the same instances, in one process: forward and backward.

    pip install "moreau==0.4.1" "diffcp==1.1.9"        # benchmark-only; never lpgd's dependencies
    python lpgd-python/bench/peer_side_by_side.py --threads 1 [--repeats 5] [--json out.json]

For each bundled medium family (64 instances, A and P shared, b and c per instance) every library
solves the same batch through its native batch API and differentiates it with the bundled
incoming gradients:

- lpgd: the compiled structure (``lpgd._lpgd.ConicStructure``, what ``lpgd.torch.ConicLayer``
  calls), centred LPGD with τ = ρ = 0.1, for each ``--backends`` entry;
- Moreau: ``moreau.CompiledSolver`` (IPM, its default KKT choice), implicit backward;
- diffcp: ``solve_and_derivative_batch`` with Clarabel, ``mode="lpgd"`` (τ = ρ = 0.1).

Forward and backward are timed separately; the fastest of ``--repeats`` runs is kept (noise only
adds time). Moreau's CPU solver takes its thread count from ``RAYON_NUM_THREADS`` when it is first
imported, so this script sets it from ``--threads`` before importing anything: run it once per
thread count. Each row also says how far the forward's x is from a high-accuracy solve (lpgd's
Clarabel, cold, tolerances 1e-11), worst item. Prints a markdown table (and JSON with ``--json``).
"""

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAMILIES = ["qp_box_medium", "lp_box_medium", "portfolio_medium", "qp_socp_medium"]


def parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--problems", default=",".join(FAMILIES))
    ap.add_argument("--backends", default="clarabel,clarabel+face")
    ap.add_argument("--no-moreau", action="store_true")
    ap.add_argument("--no-diffcp", action="store_true")
    ap.add_argument("--json")
    return ap.parse_args()


ARGS = parse()
os.environ["RAYON_NUM_THREADS"] = str(ARGS.threads)  # read by Moreau's CPU solver at import

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from lpgd import _lpgd  # noqa: E402
from lpgd.diffcp_compat import _cones  # noqa: E402


def load(name, limit):
    raw = json.loads((ROOT / "data" / "diffcp" / f"{name}.json").read_text())

    def csc(m):
        return sp.csc_matrix((m["vals"], m["rows"], m["indptr"]), shape=tuple(m["shape"]))

    inst = raw["instances"][:limit]
    A = csc(raw["A"])
    A.sort_indices()
    m, n = A.shape
    P = csc(raw["P"]) if raw.get("P") else None
    if P is not None:
        P.sort_indices()
    rows = lambda key, k: np.array([i.get(key) or np.zeros(k) for i in inst], dtype=np.float64)  # noqa: E731
    return dict(name=name, A=A, P=P, cone=dict(raw["cone"]), m=m, n=n, k=len(inst),
                b=rows("b", m), c=rows("c", n), dx=rows("dx", n), dy=rows("dy", m), ds=rows("ds", m))


def best(fn, repeats):
    """Fastest of `repeats` runs of fn() -> (seconds, result); the last result."""
    times, out = [], None
    for _ in range(repeats):
        t, out = fn()
        times.append(t)
    return min(times), out


class Lpgd:
    def __init__(self, d, backend, threads):
        A, P = d["A"], d["P"]
        self.d, self.backend, self.threads = d, backend, threads
        i64 = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
        self.structure = _lpgd.ConicStructure(
            d["m"], d["n"], i64(A.indptr), i64(A.indices), _cones(d["cone"]),
            None if P is None else i64(P.indptr), None if P is None else i64(P.indices))
        self.a = np.ascontiguousarray(np.tile(A.data, (d["k"], 1)))
        self.p = None if P is None else np.ascontiguousarray(np.tile(P.data, (d["k"], 1)))

    def forward(self):
        t = time.perf_counter()
        session = self.structure.solve(self.a, self.d["b"], self.d["c"], self.p, self.backend,
                                       False, False, self.threads)
        x, y, s, errors = session.stacked()
        return time.perf_counter() - t, (session, x, errors)

    def backward(self, session):
        t = time.perf_counter()
        config = _lpgd.LpgdConfig(0.1, 0.1, "centered", "none", self.threads)
        out = session.backward_stacked(self.d["dx"], self.d["dy"], self.d["ds"], config)
        return time.perf_counter() - t, out


class Moreau:
    def __init__(self, d):
        import moreau  # noqa: PLC0415

        A, P = d["A"].tocsr(), d["P"]
        n, k = d["n"], d["k"]
        full = sp.csr_matrix((n, n)) if P is None else sp.csr_matrix(P + P.T - sp.diags(P.diagonal()))
        full.sort_indices()
        A.sort_indices()
        cone = d["cone"]
        cones = moreau.Cones(num_zero_cones=int(cone.get("z", 0)), num_nonneg_cones=int(cone.get("l", 0)),
                             so_cone_dims=[int(q) for q in cone.get("q", [])])
        settings = moreau.Settings(device="cpu", batch_size=k, enable_grad=True, solver="ipm")
        self.solver = moreau.CompiledSolver(
            n=n, m=d["m"], P_row_offsets=full.indptr, P_col_indices=full.indices,
            A_row_offsets=A.indptr, A_col_indices=A.indices, cones=cones, settings=settings)
        self.pv = np.tile(full.data, (k, 1))
        self.av = np.tile(A.data, (k, 1))
        self.d = d
        # dx, dy in Moreau's row order: A's rows are the same (CSR of the same matrix).

    def forward(self):
        t = time.perf_counter()
        self.solver.setup(self.pv, self.av)
        sol = self.solver.solve(self.d["c"], self.d["b"])
        x = np.asarray(sol.x)
        return time.perf_counter() - t, (x, np.asarray(self.solver.info.status))

    def backward(self):
        t = time.perf_counter()
        out = self.solver.backward(self.d["dx"], self.d["dy"], self.d["ds"])
        return time.perf_counter() - t, out


def diffcp_run(d, threads):
    import diffcp  # noqa: PLC0415

    k = d["k"]
    As = [d["A"].copy() for _ in range(k)]
    kw = dict(mode="lpgd", derivative_kwargs={"tau": 0.1, "rho": 0.1}, solve_method="Clarabel")
    if d["P"] is not None:
        kw["Ps"] = [d["P"]] * k
    t = time.perf_counter()
    out = diffcp.solve_and_derivative_batch(As, list(d["b"]), list(d["c"]), [d["cone"]] * k,
                                            n_jobs_forward=threads, n_jobs_backward=threads, **kw)
    forward = time.perf_counter() - t
    t = time.perf_counter()
    out[4](list(d["dx"]), list(d["dy"]), list(d["ds"]))
    return forward, time.perf_counter() - t, np.array(out[0])


def main():
    rows = []
    for name in ARGS.problems.split(","):
        d = load(name, ARGS.limit)
        ref = Lpgd(d, "clarabel", ARGS.threads)  # the reference: high accuracy, cold
        x_ref = ref.structure.solve(ref.a, d["b"], d["c"], ref.p, "clarabel", True, True, None).stacked()[0]

        def err(x):
            return float(np.max(np.linalg.norm(x - x_ref, axis=1) / np.maximum(1.0, np.linalg.norm(x_ref, axis=1))))

        for backend in ARGS.backends.split(","):
            lib = Lpgd(d, backend, ARGS.threads)
            tf, (sess, x, errors) = best(lib.forward, ARGS.repeats)
            tb, _ = best(lambda: lib.backward(sess), ARGS.repeats)
            rows.append(dict(problem=name, lib=f"lpgd {backend}", forward=tf, backward=tb,
                             solved=sum(e is None for e in errors), x_err=err(x)))
        if not ARGS.no_moreau:
            try:
                lib = Moreau(d)
            except ImportError:
                ARGS.no_moreau = True
            else:
                tf, (x, status) = best(lib.forward, ARGS.repeats)
                tb, _ = best(lib.backward, ARGS.repeats)
                solved = int(sum(str(s).endswith("Solved") and "Almost" not in str(s) for s in status)) \
                    if np.ndim(status) else int("Solved" in str(status))
                rows.append(dict(problem=name, lib="moreau ipm", forward=tf, backward=tb,
                                 solved=solved, x_err=err(x)))
        if not ARGS.no_diffcp:
            runs = [diffcp_run(d, ARGS.threads) for _ in range(ARGS.repeats)]
            rows.append(dict(problem=name, lib="diffcp clarabel", forward=min(r[0] for r in runs),
                             backward=min(r[1] for r in runs), solved=d["k"], x_err=err(runs[-1][2])))
    print(f"threads = {ARGS.threads}, {ARGS.limit} instances, fastest of {ARGS.repeats}")
    print("| problem | library | forward ms | backward ms | total ms | vs Moreau (total) | "
          "forward vs Moreau | max rel. x error |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        peer = next((q for q in rows if q["problem"] == r["problem"] and q["lib"] == "moreau ipm"), None)
        total = r["forward"] + r["backward"]
        ratio = "" if peer is None else f"{(peer['forward'] + peer['backward']) / total:.2f}×"
        fratio = "" if peer is None else f"{peer['forward'] / r['forward']:.2f}×"
        print(f"| {r['problem']} | {r['lib']} | {1e3 * r['forward']:.1f} | {1e3 * r['backward']:.1f} | "
              f"{1e3 * total:.1f} | {ratio} | {fratio} | {r['x_err']:.1e} |")
    if ARGS.json:
        pathlib.Path(ARGS.json).write_text(json.dumps(dict(threads=ARGS.threads, rows=rows), indent=1))


if __name__ == "__main__":
    sys.exit(main())
