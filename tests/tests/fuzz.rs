//! Seeded generated problems — valid, malformed and hostile — through every entry point: no
//! panic, a typed error or a verified answer, and the same outcome on one and two threads.

use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Fallback, InvalidInput, Lpgd, Side};
use lpgd_tests::backends;
use lpgd_tests::random::{self, nondegenerate_lp, random_socp, strictly_convex_qp};
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a generated case must not do beyond not panicking.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Any outcome, as long as results are finite.
    Anything,
    /// No solve may report success (infeasible or unbounded by construction).
    NotSolved,
}

fn scaled(problem: ConicProblem, r: &mut impl Rng) -> ConicProblem {
    // A global cost scale (the argmin does not change) from 1e-12 to 1e24.
    let k = r.random_range(-12..=24);
    let c = problem.c() * 10f64.powi(k);
    let p = problem.p().map(|p| {
        p.values()
            .iter()
            .map(|v| v * 10f64.powi(k))
            .collect::<Vec<_>>()
    });
    let q = problem.with_c(c).unwrap();
    match p {
        Some(values) => q.with_p_values(&values).unwrap(),
        None => q,
    }
}

/// A generated case: a problem (or the error building it) and what it must not do.
fn fuzz_case(seed: u64) -> (Result<ConicProblem, InvalidInput>, Expect) {
    let mut r = random::rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let n = r.random_range(1..7);
    match seed % 9 {
        0 => {
            let m_eq = r.random_range(0..n);
            let m_in = r.random_range(n - m_eq..=n - m_eq + 4);
            (Ok(nondegenerate_lp(seed, n, m_eq, m_in)), Expect::Anything)
        }
        1 => {
            let lp = nondegenerate_lp(seed, n, 0, r.random_range(n..n + 5));
            (Ok(scaled(lp, &mut r)), Expect::Anything)
        }
        2 => {
            let qp = strictly_convex_qp(seed, n, r.random_range(0..n), r.random_range(1..6));
            if r.random_bool(0.5) {
                let flipped: Vec<f64> = qp.p().unwrap().values().iter().map(|v| -v).collect();
                (qp.with_p_values(&flipped), Expect::NotSolved)
            } else {
                (Ok(scaled(qp, &mut r)), Expect::Anything)
            }
        }
        3 => (
            Ok(random_socp(seed, n, r.random_range(1..5))),
            Expect::Anything,
        ),
        4 => (
            Ok(random::exponential_program(seed, r.random_range(1..4))),
            Expect::Anything,
        ),
        5 => (
            Ok(random::power_program(
                seed,
                r.random_range(1..4),
                r.random_range(0.1..0.9),
            )),
            Expect::Anything,
        ),
        6 => {
            // Infeasible: x₀ ≥ 1 and x₀ ≤ 0 among other rows.
            let p = ConicProblem::builder(n)
                .cost(Array1::from_shape_fn(n, |_| r.random_range(-1.0..1.0)))
                .inequalities(
                    Array1::from_shape_fn(n, |j| if j == 0 { 1.0 } else { 0.0 })
                        .insert_axis(lpgd_core::ndarray::Axis(0)),
                    array![0.0],
                )
                .inequalities(
                    Array1::from_shape_fn(n, |j| if j == 0 { -1.0 } else { 0.0 })
                        .insert_axis(lpgd_core::ndarray::Axis(0)),
                    array![-1.0],
                )
                .bounds(vec![-5.0; n], vec![5.0; n])
                .build();
            (p, Expect::NotSolved)
        }
        7 => {
            // Unbounded: a free direction with negative cost.
            let mut lo = vec![-1.0; n];
            lo[0] = f64::NEG_INFINITY;
            let mut c = Array1::from_shape_fn(n, |_| r.random_range(-1.0..1.0));
            c[0] = 1.0;
            (
                ConicProblem::builder(n)
                    .cost(c)
                    .bounds(&lo, vec![1.0; n])
                    .build(),
                Expect::NotSolved,
            )
        }
        _ => {
            // Raw data of random shape, with NaN, infinities and huge values sprinkled in.
            let m = r.random_range(0..6);
            let mut value = || match r.random_range(0..20) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => 1e308 * if r.random_bool(0.5) { 1.0 } else { -1.0 },
                3 => 1e-308,
                _ => r.random_range(-3.0..3.0),
            };
            let a = lpgd_core::ndarray::Array2::from_shape_fn((m, n), |_| value());
            let b = Array1::from_shape_fn(m, |_| value());
            let c = Array1::from_shape_fn(n, |_| value());
            let cones = match r.random_range(0..4) {
                0 => vec![Cone::Nonnegative(m)],
                1 => vec![Cone::Zero(m / 2), Cone::Nonnegative(m - m / 2)],
                2 => vec![Cone::SecondOrder(m.max(1))],
                _ => vec![Cone::Nonnegative(m + 1)],
            };
            let problem = CscMatrix::from_dense(a.view())
                .and_then(|a| ConicProblem::new(None, a, b, c, cones));
            (problem, Expect::Anything)
        }
    }
}

fn all_finite(z: &ConicSolution) -> bool {
    z.x.iter().chain(&z.y).chain(&z.s).all(|v| v.is_finite())
}

/// Runs one case through forward, backward, jvp and (every few cases) the batch functions on every
/// backend; returns the failures found (panics and broken promises) and how many forward solves
/// succeeded.
fn run_case(seed: u64) -> (Vec<String>, usize) {
    let (problem, expect) = fuzz_case(seed);
    let Ok(problem) = problem else {
        return (Vec::new(), 0);
    };
    let mut failures = Vec::new();
    let mut solved = 0;
    let mut r = random::rng(seed);
    for (name, _, make) in backends() {
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
            let tau = [1e-300, 1e-6, 0.1, 10.0, 1e300][r.random_range(0..5)];
            let side = [Side::Right, Side::Left, Side::Centered][r.random_range(0..3)];
            let rho = [0.0, 0.0, 0.1][r.random_range(0..3)];
            let lpgd = Lpgd::new(tau)
                .and_then(|l| l.with_rho(rho))
                .and_then(|l| l.with_fallback(Fallback::OtherSide))
                .map_err(|e| e.to_string())?
                .with_side(side);
            let mut oracle = make();
            let z = match lpgd.forward(&mut oracle, &problem) {
                Ok(z) => z,
                Err(_) => return Ok(()),
            };
            if expect == Expect::NotSolved {
                return Err(format!(
                    "solved a problem built infeasible or unbounded: {z:?}"
                ));
            }
            if !all_finite(&z) {
                return Err("a non-finite forward solution".into());
            }
            solved += 1;
            let scale = 10f64.powi(r.random_range(-10..=300));
            let mut g = random::cotangent(seed, &problem, r.random_bool(0.5), r.random_bool(0.3));
            g.dx *= scale;
            if let Ok(back) = lpgd.backward(&mut oracle, &problem, &z, &g) {
                let gr = back.gradient;
                let finite = gr
                    .dc
                    .iter()
                    .chain(&gr.db)
                    .chain(&gr.da)
                    .all(|v| v.is_finite());
                if !finite {
                    return Err("a non-finite gradient".into());
                }
            }
            let d = random::tangent(seed, &problem);
            if let Ok(jvp) = lpgd.jvp(&mut oracle, &problem, &z, &d) {
                let t = jvp.tangent;
                if !t.dx.iter().chain(&t.dy).chain(&t.ds).all(|v| v.is_finite()) {
                    return Err("a non-finite tangent".into());
                }
            }
            if seed % 7 == 0 {
                let problems = vec![problem.clone(); 3];
                let zs = lpgd.forward_batch(&make, &problems);
                let sols: Vec<ConicSolution> = zs.into_iter().filter_map(Result::ok).collect();
                if sols.len() == 3 {
                    let gs = vec![g.clone(); 3];
                    let _ = lpgd.backward_batch(&make, &problems, &sols, &gs);
                }
            }
            Ok(())
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(broken)) => failures.push(format!("seed {seed}, {name}: {broken}")),
            Err(_) => failures.push(format!("seed {seed}, {name}: panicked")),
        }
    }
    (failures, solved)
}

fn fuzz(cases: u64, first_seed: u64) {
    let (mut failures, mut solved) = (Vec::new(), 0);
    for seed in first_seed..first_seed + cases {
        let (f, s) = run_case(seed);
        failures.extend(f);
        solved += s;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The generator must reach the solvers, not only the validation: most valid cases solve.
    assert!(
        solved as u64 > cases / 2,
        "only {solved} forward solves in {cases} cases"
    );
}

/// A few thousand generated problems in CI.
#[test]
fn fuzz_generated_problems_through_every_entry_point() {
    fuzz(3000, 0);
}

/// The long run: `LPGD_FUZZ_CASES=100000 cargo test --release -p lpgd-tests --all-features
/// --test hardening -- --ignored` (seeds continue where the CI run stops).
#[test]
#[ignore]
fn fuzz_long() {
    let cases = std::env::var("LPGD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    fuzz(cases, 3000);
}

#[test]
fn seeded_generators_are_reproducible() {
    let a = rand_chacha::ChaCha8Rng::seed_from_u64(1).random::<u64>();
    let b = rand_chacha::ChaCha8Rng::seed_from_u64(1).random::<u64>();
    assert_eq!(a, b);
}
