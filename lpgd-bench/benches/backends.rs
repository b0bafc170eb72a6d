//! Backends against each other on the same LP and QP instances: forward solve, one-sided backward
//! (ρ = 0), and so the backward/forward ratio. Build with the backend features to include them:
//! `cargo bench -p lpgd-bench --all-features --bench backends`. The group `face` measures
//! forward + centred backward (τ = ρ = 0.1) of Clarabel with and without the certified face
//! re-solve, where it certifies (`qp_box`) and where it falls back (`lp_box`, `portfolio`), and on
//! the second-order-cone families with boundary cones solved by Newton's method.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Oracle, ProblemFile, Side};
use lpgd_solvers::{Backend, BackendOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const BATCH: usize = 8;

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
    for family in ["lp_box_medium", "qp_box_medium"] {
        let (problems, cotangents) = load(family);
        let served = Backend::all()
            .into_iter()
            .filter(|b| b.serves(&problems[0], lpgd.rho()).is_ok());
        for backend in served {
            let name = backend.to_string();
            let mut oracle = backend.oracle(BackendOptions::default());
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

fn face(c: &mut Criterion) {
    let mut group = c.benchmark_group("face");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_millis(500));
    let lpgd = Lpgd::new(0.1)
        .unwrap()
        .with_rho(0.1)
        .unwrap()
        .with_side(Side::Centered);
    for family in [
        "qp_box_medium",
        "lp_box_medium",
        "portfolio_medium",
        "qp_socp_medium",
    ] {
        let (problems, cotangents) = load(family);
        for variant in ["clarabel", "clarabel+face", "clarabel+face+boundary"] {
            if variant.ends_with("+boundary")
                && !(family.starts_with("portfolio") || family.starts_with("qp_socp"))
            {
                continue;
            }
            let (backend, options) =
                Backend::parse_with_options(variant, BackendOptions::default()).unwrap();
            let mut oracle = backend.oracle(options);
            let name = variant;
            group.bench_function(format!("{family}/{name}"), |b| {
                b.iter(|| {
                    for (p, g) in problems.iter().zip(&cotangents) {
                        let z = lpgd.forward(&mut oracle, p).unwrap();
                        black_box(lpgd.backward(&mut oracle, p, &z, g).unwrap());
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench, face);
criterion_main!(benches);
