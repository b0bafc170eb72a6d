//! Criterion benches of the LPGD passes with Clarabel on the four medium reference families.
//!
//! Each measurement runs 8 instances on one thread. Compare `backward_right` and
//! `backward_centered` with `forward` for the backward/forward ratio, and `resolve_kept` (the kept
//! solver, updated) with `resolve_fresh` (a new solver per solve) for what the fast re-solve saves.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use lpgd_core::{
    ConicCotangent, ConicProblem, ConicSolution, Lpgd, Oracle, Problem, ProblemFile, Side,
};
use lpgd_solvers::ClarabelOracle;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const BATCH: usize = 8;

struct Family {
    name: &'static str,
    problems: Vec<ConicProblem>,
    cotangents: Vec<ConicCotangent>,
    solutions: Vec<ConicSolution>,
}

fn load(name: &'static str) -> Family {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../data/diffcp/{name}_medium.json"));
    let file = ProblemFile::read(path).expect("bundled problem file");
    let problems: Vec<_> = file.problems().into_iter().take(BATCH).collect();
    let cotangents = file.cotangents().into_iter().take(BATCH).collect();
    let mut oracle = ClarabelOracle::new();
    let solutions = problems
        .iter()
        .map(|p| oracle.solve(p, None).expect("solves"))
        .collect();
    Family {
        name,
        problems,
        cotangents,
        solutions,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lpgd");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for name in ["lp_box", "qp_box", "qp_socp", "portfolio"] {
        let fam = load(name);
        let mut oracle = ClarabelOracle::new();
        group.bench_function(format!("forward/{}", fam.name), |b| {
            b.iter(|| {
                for p in &fam.problems {
                    black_box(oracle.solve(p, None).unwrap());
                }
            })
        });
        for (label, side) in [
            ("backward_right", Side::Right),
            ("backward_centered", Side::Centered),
        ] {
            let lpgd = Lpgd::new(0.1)
                .unwrap()
                .with_rho(0.1)
                .unwrap()
                .with_side(side);
            group.bench_function(format!("{label}/{}", fam.name), |b| {
                b.iter(|| {
                    for ((p, z), g) in fam.problems.iter().zip(&fam.solutions).zip(&fam.cotangents)
                    {
                        black_box(lpgd.backward(&mut oracle, p, z, g).unwrap());
                    }
                })
            });
        }
        // The perturbed problems of a right-side pass (ρ = 0), solved by a kept solver vs fresh ones.
        let perturbed: Vec<ConicProblem> = fam
            .problems
            .iter()
            .zip(&fam.solutions)
            .zip(&fam.cotangents)
            .map(|((p, z), g)| p.backward_problem(z, g, 0.1, 0.0).unwrap())
            .collect();
        for (label, reuse) in [("resolve_kept", true), ("resolve_fresh", false)] {
            let mut oracle = ClarabelOracle::new().with_reuse(reuse);
            group.bench_function(format!("{label}/{}", fam.name), |b| {
                b.iter(|| {
                    for (q, z) in perturbed.iter().zip(&fam.solutions) {
                        black_box(oracle.solve(q, Some(z)).unwrap());
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
