//! Backends against each other on the same LP and QP instances: forward solve, one-sided backward
//! (ρ = 0), and so the backward/forward ratio. Build with the backend features to include them:
//! `cargo bench -p lpgd-bench --all-features --bench backends`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Oracle, ProblemFile, Side};
use lpgd_solvers::ClarabelOracle;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const BATCH: usize = 8;

type Factory = Box<dyn Fn() -> Box<dyn Oracle<ConicProblem>>>;

fn backends(quadratic: bool) -> Vec<(String, Factory)> {
    #[allow(unused_mut)]
    let mut out: Vec<(String, Factory)> = vec![(
        "clarabel".into(),
        Box::new(|| Box::new(ClarabelOracle::new())),
    )];
    #[cfg(feature = "osqp")]
    out.push((
        "osqp".into(),
        Box::new(|| Box::new(lpgd_solvers::OsqpOracle::new())),
    ));
    if !quadratic {
        #[cfg(feature = "highs")]
        out.push((
            "highs".into(),
            Box::new(|| Box::new(lpgd_solvers::HighsOracle::new())),
        ));
        #[cfg(feature = "good_lp")]
        for s in lpgd_solvers::GoodLpSolver::all()
            .into_iter()
            .filter(|s| s.has_duals())
        {
            out.push((
                format!("good_lp_{}", s.name()),
                Box::new(move || Box::new(lpgd_solvers::GoodLpOracle::new(s))),
            ));
        }
    }
    out
}

fn load(name: &str) -> (Vec<ConicProblem>, Vec<ConicCotangent>) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../data/diffcp/{name}.json"));
    let file = ProblemFile::read(path).expect("bundled problem file");
    (
        file.problems().into_iter().take(BATCH).collect(),
        file.cotangents().into_iter().take(BATCH).collect(),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("backends");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Right);
    for (family, quadratic) in [("lp_box_medium", false), ("qp_box_medium", true)] {
        let (problems, cotangents) = load(family);
        for (name, make) in backends(quadratic) {
            let mut oracle = make();
            let solutions: Vec<_> = problems
                .iter()
                .map(|p| oracle.solve(p, None).expect("solves"))
                .collect();
            group.bench_function(format!("forward/{family}/{name}"), |b| {
                b.iter(|| {
                    for p in &problems {
                        black_box(oracle.solve(p, None).unwrap());
                    }
                })
            });
            group.bench_function(format!("backward_right/{family}/{name}"), |b| {
                b.iter(|| {
                    for ((p, z), g) in problems.iter().zip(&solutions).zip(&cotangents) {
                        black_box(lpgd.backward(&mut oracle, p, z, g).unwrap());
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
