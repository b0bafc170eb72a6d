//! The fast re-solve path: a kept Clarabel solver updated with new `c` and `b` gives exactly the
//! answer of a solver built for the new problem, so batch results do not depend on thread count.

use lpgd_core::{ConicProblem, Lpgd, Oracle, Side};
use lpgd_solvers::{ClarabelOracle, KktSolver};
use lpgd_tests::{problem_file, rel_err};

const FAMILIES: [&str; 4] = ["lp_box", "qp_socp", "portfolio", "qp_box"];

#[test]
fn update_then_solve_equals_a_fresh_solve() {
    for family in FAMILIES {
        let file = problem_file(&format!("{family}_small"));
        let mut kept = ClarabelOracle::new();
        for i in 0..6 {
            let problem = file.problem(i).unwrap();
            let updated = kept.solve(&problem, None).unwrap();
            let fresh = ClarabelOracle::new().solve(&problem, None).unwrap();
            assert_eq!(
                updated, fresh,
                "{family} #{i}: update-then-solve differs from a fresh solve"
            );
            // And it is a solution of the problem: close to a cold one-off Clarabel call.
            let cold = ClarabelOracle::new()
                .with_reuse(false)
                .solve(&problem, None)
                .unwrap();
            assert!(rel_err(&updated.x, &cold.x, 1e-6) < 1e-5, "{family} #{i}");
        }
        let stats = kept.stats();
        assert_eq!(
            (stats.solves, stats.setups, stats.updates),
            (6, 1, 5),
            "{family}: {stats:?}"
        );
    }
}

#[test]
fn backward_reuses_the_solver_and_proximal_problems_get_their_own() {
    let file = problem_file("lp_box_small");
    let problem = file.problem(0).unwrap();
    let g = file.cotangent(0).unwrap();
    let mut oracle = ClarabelOracle::new();
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Centered);
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    lpgd.backward(&mut oracle, &problem, &z, &g).unwrap();
    assert_eq!(
        oracle.stats().setups,
        1,
        "ρ = 0: both re-solves reuse the forward solver"
    );
    let prox = lpgd.with_rho(0.1).unwrap();
    prox.backward(&mut oracle, &problem, &z, &g).unwrap();
    prox.backward(&mut oracle, &problem, &z, &g).unwrap();
    let stats = oracle.stats();
    assert_eq!(
        (stats.solves, stats.setups),
        (7, 2),
        "ρ > 0 adds one solver for P + ρI: {stats:?}"
    );
}

fn run_batch(
    threads: usize,
    problems: &[ConicProblem],
    file: &lpgd_core::ProblemFile,
    kkt: KktSolver,
) -> Vec<lpgd_core::ConicGradient> {
    let make = || ClarabelOracle::new().with_kkt(kkt);
    lpgd_tests::batch_gradients(threads, make, problems, &file.cotangents())
}

#[test]
fn batch_results_do_not_depend_on_the_number_of_threads() {
    // Every KKT factorization of the build (faer's too, with the feature `clarabel-faer`).
    for (family, kkt) in ["qp_box", "qp_socp"]
        .into_iter()
        .flat_map(|f| KktSolver::all().into_iter().map(move |k| (f, k)))
    {
        let file = problem_file(&format!("{family}_small"));
        let problems: Vec<_> = file.problems().into_iter().take(40).collect();
        let one = run_batch(1, &problems, &file, kkt);
        let two = run_batch(2, &problems, &file, kkt);
        let five = run_batch(5, &problems, &file, kkt);
        assert_eq!(one, two, "{family} {kkt}: 1 vs 2 threads");
        assert_eq!(one, five, "{family} {kkt}: 1 vs 5 threads");
        // And each equals the item computed alone.
        let lpgd = Lpgd::new(0.1).unwrap().with_rho(0.1).unwrap();
        let mut oracle = ClarabelOracle::new().with_kkt(kkt);
        let z = lpgd.forward(&mut oracle, &problems[17]).unwrap();
        let alone = lpgd
            .backward(&mut oracle, &problems[17], &z, &file.cotangent(17).unwrap())
            .unwrap();
        assert_eq!(alone.gradient, one[17]);
    }
}
