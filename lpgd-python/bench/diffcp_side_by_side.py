"""lpgd.diffcp_compat against diffcp 1.1.9 through diffcp's own batch API, side by side.

    pip install "diffcp==1.1.9" "clarabel==0.11.1"   # in the venv where lpgd is installed
    python lpgd-python/bench/diffcp_side_by_side.py --repeats 3 [--backend clarabel+face]

Same bundled problem files (64 instances each), same solver (Clarabel, default settings), same
LPGD configuration (centred, τ = 0.1, ρ = 0.1). Each timing is forward + backward of the whole
batch through `solve_and_derivative_batch` and `DT_batch`, with `n_jobs_forward = n_jobs_backward`
threads; the fastest of `--repeats` runs is kept (noise only adds time). "Python overhead" is the
share of lpgd's time spent outside the Rust calls (conversions, checks, the result objects).
`--backend clarabel+face` runs lpgd with the certified face re-solve around Clarabel.
Prints a markdown table.
"""

import argparse
import json
import pathlib
import time

import numpy as np
import scipy.sparse as sp

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name, limit):
    raw = json.loads((ROOT / "data" / "diffcp" / f"{name}.json").read_text())

    def csc(m):
        return sp.csc_matrix((m["vals"], m["rows"], m["indptr"]), shape=tuple(m["shape"]))

    A = csc(raw["A"])
    P = csc(raw["P"]) if raw.get("P") else None
    inst = raw["instances"][:limit]
    k = len(inst)
    zeros = np.zeros(A.shape[0])
    return dict(
        As=[A.copy() for _ in range(k)],
        bs=[np.array(i["b"]) for i in inst],
        cs=[np.array(i["c"]) for i in inst],
        cones=[dict(raw["cone"]) for _ in range(k)],
        P=P,
        dxs=[np.array(i["dx"]) for i in inst],
        dys=[np.array(i.get("dy") or zeros) for i in inst],
        dss=[np.array(i.get("ds") or zeros) for i in inst],
    )


def run(module, data, threads, backend="clarabel"):
    kw = dict(mode="lpgd", derivative_kwargs={"tau": 0.1, "rho": 0.1})
    if data["P"] is not None:
        kw["Ps"] = [data["P"]] * len(data["As"])
    if module.__name__ == "diffcp":
        kw["solve_method"] = "Clarabel"
    else:
        kw["backend"] = backend
    t0 = time.perf_counter()
    out = module.solve_and_derivative_batch(
        data["As"], data["bs"], data["cs"], data["cones"],
        n_jobs_forward=threads, n_jobs_backward=threads, **kw)
    out[4](data["dxs"], data["dys"], data["dss"])
    return time.perf_counter() - t0


class RustClock:
    """Wraps the extension's entry points to time what is spent inside Rust."""

    def __init__(self, ext):
        self.spent = 0.0
        self.ext = ext
        self.solve = ext.solve

        def timed_solve(*a, **k):
            t = time.perf_counter()
            session = self.solve(*a, **k)
            self.spent += time.perf_counter() - t
            return TimedSession(session, self)

        ext.solve = timed_solve


class TimedSession:
    def __init__(self, session, clock):
        self.session, self.clock = session, clock

    def __getattr__(self, name):
        attr = getattr(self.session, name)
        if not callable(attr):
            return attr

        def timed(*a, **k):
            t = time.perf_counter()
            r = attr(*a, **k)
            self.clock.spent += time.perf_counter() - t
            return r

        return timed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--backend", default="clarabel")
    ap.add_argument("--problems", default="lp_box_medium,qp_box_medium")
    args = ap.parse_args()
    import diffcp

    from lpgd import _lpgd
    from lpgd import diffcp_compat

    clock = RustClock(_lpgd)
    print("| problem | threads | diffcp 1.1.9 ms | lpgd ms | speed-up | lpgd Python overhead |")
    print("|---|---|---|---|---|---|")
    for name in args.problems.split(","):
        data = load(name, args.limit)
        for threads in [1, 2]:
            ref = min(run(diffcp, data, threads) for _ in range(args.repeats))
            best, share = None, None
            for _ in range(args.repeats):
                clock.spent = 0.0
                t = run(diffcp_compat, data, threads, args.backend)
                if best is None or t < best:
                    best, share = t, 1.0 - clock.spent / t
            print(f"| {name} ({len(data['As'])}) | {threads} | {1e3 * ref:.1f} | {1e3 * best:.1f} | "
                  f"{ref / best:.2f}× | {100 * share:.1f}% |")


if __name__ == "__main__":
    main()
