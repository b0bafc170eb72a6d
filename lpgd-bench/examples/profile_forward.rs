//! Forward solves of a bundled problem file, for a profiler: `perf record` on
//! `cargo run --release -p lpgd-bench --example profile_forward -- qp_box_medium 20`.
//! Prints the time per solve through lpgd's Clarabel oracle and through Clarabel called directly
//! on the same data (so what is ours is the difference). Files without PSD cones (their rows
//! would need Clarabel's order).
#![allow(missing_docs)]

use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver};
use lpgd_core::{ConicProblem, Lpgd, ProblemFile};
use lpgd_solvers::clarabel::{cones_to_clarabel, to_clarabel};
use lpgd_solvers::ClarabelOracle;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "qp_box_medium".into());
    let rounds: usize = args.next().map_or(10, |r| r.parse().expect("rounds"));
    let mode = args.next().unwrap_or_else(|| "both".into());
    let kkt = args.next().unwrap_or_else(|| "qdldl".into());
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../data/diffcp/{name}.json"));
    let problems: Vec<ConicProblem> = ProblemFile::read(path).expect("file").problems();
    let problems = &problems[..64.min(problems.len())];
    let lpgd = Lpgd::new(0.1).expect("tau");
    if mode == "validate" {
        // What building (validating) the problems costs: shapes, finiteness, cones, P ⪰ 0.
        let t = Instant::now();
        for _ in 0..rounds {
            for p in problems {
                let q = ConicProblem::new(
                    p.p().cloned(),
                    p.a().clone(),
                    p.b().clone(),
                    p.c().clone(),
                    p.cones().to_vec(),
                )
                .expect("valid");
                std::hint::black_box(q);
            }
        }
        let k = (rounds * problems.len()) as f64;
        println!(
            "validate: {:.1} us/problem",
            1e6 * t.elapsed().as_secs_f64() / k
        );
        return;
    }
    if mode != "direct" {
        let mut oracle = ClarabelOracle::new();
        let t = Instant::now();
        let mut iters = 0u64;
        for _ in 0..rounds {
            for p in problems {
                iters += u64::from(lpgd.forward(&mut oracle, p).expect("solves").iterations);
            }
        }
        let k = (rounds * problems.len()) as f64;
        println!(
            "lpgd oracle: {:.1} us/solve, {:.2} iterations/solve",
            1e6 * t.elapsed().as_secs_f64() / k,
            iters as f64 / k
        );
    }
    if mode != "lpgd" {
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_threads(1)
            .direct_solve_method(kkt.clone())
            .iterative_refinement_max_iter(
                std::env::var("IR_MAX")
                    .ok()
                    .map_or(10, |v| v.parse().expect("IR_MAX")),
            )
            .iterative_refinement_reltol(
                std::env::var("IR_RELTOL")
                    .ok()
                    .map_or(1e-13, |v| v.parse().expect("IR_RELTOL")),
            )
            .build()
            .unwrap();
        let reference: Vec<_> = problems
            .iter()
            .map(|p| {
                use lpgd_core::Oracle;
                ClarabelOracle::high_accuracy()
                    .solve(p, None)
                    .expect("solves")
                    .x
            })
            .collect();
        let mut worst = 0.0f64;
        let t = Instant::now();
        let mut iters = 0u64;
        for _ in 0..rounds {
            for (p, x_ref) in problems.iter().zip(&reference) {
                let pm = p
                    .p()
                    .map(to_clarabel)
                    .unwrap_or_else(|| ClCsc::zeros((p.n(), p.n())));
                let mut s = DefaultSolver::new(
                    &pm,
                    p.c().as_slice().unwrap(),
                    &to_clarabel(p.a()),
                    p.b().as_slice().unwrap(),
                    &cones_to_clarabel(p.cones()).expect("cones Clarabel has"),
                    settings.clone(),
                )
                .unwrap();
                s.solve();
                iters += u64::from(s.solution.iterations);
                let dx: f64 = s
                    .solution
                    .x
                    .iter()
                    .zip(x_ref)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                worst = worst.max(dx.sqrt() / x_ref.dot(x_ref).sqrt().max(1.0));
            }
        }
        let k = (rounds * problems.len()) as f64;
        println!(
            "clarabel direct [{kkt}] (cold, new solver each): {:.1} us/solve, {:.2} iterations/solve, x within {worst:.1e} of high accuracy",
            1e6 * t.elapsed().as_secs_f64() / k,
            iters as f64 / k
        );
    }
}
