//! LPGD against diffcp 1.1.9 (same problems, same solver, Clarabel 0.11.1) on the bundled fixtures.
//!
//! Errors are relative 2-norm errors per block (dc, db, dA), floored at 1e-3 of the largest
//! block's norm: at τ = 1e-4 an LP's dc is zero up to solver noise (~1e-7), and a relative error
//! of noise says nothing.
//!
//! - The cold path (`with_reuse(false)`: a new Clarabel solver per solve, as diffcp does) follows
//!   Clarabel's iterations exactly as diffcp did and agrees to ≤ 1e-5 on every fixture and config.
//! - The fast path (one kept solver per structure, refreshed before each solve with the
//!   problem's own equilibration, cost scaling included) is the same computation up to the
//!   rounding of the scaling and agrees to ≤ 1e-5 too. (Before it computed its equilibration with
//!   q = 0, which skipped the cost scaling wherever P ≠ 0, and agreed only to ~2e-3.)

use lpgd_core::{Lpgd, Side};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::{array, fixtures, norm, problem_file, rel_err};

const CONFIGS: [(&str, f64, f64, Side); 3] = [
    ("lpgd_tau1e-4", 1e-4, 0.0, Side::Centered),
    ("lpgd_tau0.1_rho0.1", 0.1, 0.1, Side::Centered),
    ("lpgdR_tau0.1_rho0.1", 0.1, 0.1, Side::Right),
];

/// Runs every fixture through `oracle` and returns the largest error per (case, tolerance class).
fn check(reuse: bool, tol_same_path: f64, tol_other_path: f64) {
    let fx = fixtures();
    let mut checked = 0;
    for prob in fx["problems"].as_array().unwrap() {
        let family = prob["family"].as_str().unwrap();
        let size = prob["size"].as_str().unwrap();
        let index = prob["index"].as_u64().unwrap() as usize;
        let file = problem_file(&format!("{family}_{size}"));
        let problem = file.problem(index).unwrap();
        let g = file.cotangent(index).unwrap();
        let mut oracle = ClarabelOracle::new().with_reuse(reuse);
        let z = Lpgd::new(1.0)
            .unwrap()
            .forward(&mut oracle, &problem)
            .unwrap();
        let forward_tol = if problem.p().is_some() && reuse {
            1e-6
        } else {
            1e-8
        };
        for (name, ours, theirs) in [("x", &z.x, "x"), ("y", &z.y, "y"), ("s", &z.s, "s")] {
            let e = rel_err(ours, &array(&prob[theirs]), 1e-9);
            assert!(
                e < forward_tol,
                "{family} {size} {index}: {name} differs by {e:.1e}"
            );
        }
        for (name, tau, rho, side) in CONFIGS {
            let r = &prob["configs"][name];
            let lpgd = Lpgd::new(tau)
                .unwrap()
                .with_rho(rho)
                .unwrap()
                .with_side(side);
            let ours = lpgd
                .backward(&mut oracle, &problem, &z, &g)
                .unwrap()
                .gradient;
            let (dc, db, da) = (array(&r["dc"]), array(&r["db"]), array(&r["dA_vals"]));
            let floor = 1e-3 * norm(&dc).max(norm(&db)).max(norm(&da));
            let same_path = !reuse || (problem.p().is_none() && rho == 0.0);
            let tol = if same_path {
                tol_same_path
            } else {
                tol_other_path
            };
            for (block, o, t) in [
                ("dc", &ours.dc, &dc),
                ("db", &ours.db, &db),
                ("dA", &ours.da, &da),
            ] {
                let e = rel_err(o, t, floor);
                assert!(
                    e <= tol,
                    "{family} {size} #{index} {name}: {block} differs by {e:.2e} (tol {tol:.0e})"
                );
            }
            assert!(ours.dp.is_none() == problem.p().is_none());
            checked += 1;
        }
    }
    assert_eq!(checked, 16 * 3, "every fixture and config was checked");
}

#[test]
fn cold_path_reproduces_diffcp() {
    check(false, 1e-5, 1e-5);
}

#[test]
fn fast_path_agrees_with_diffcp() {
    check(true, 1e-5, 1e-5);
}

/// The fixture files carry every instance; the first few are checked above against diffcp, and
/// here every instance of every small file runs forward and backward without a failure.
#[test]
fn every_small_instance_solves_and_differentiates() {
    for family in ["lp_box", "qp_socp", "portfolio", "qp_box"] {
        let file = problem_file(&format!("{family}_small"));
        assert_eq!(file.len(), 256);
        let lpgd = Lpgd::new(0.1).unwrap().with_rho(0.1).unwrap();
        let problems = file.problems();
        let solutions: Vec<_> = lpgd
            .forward_batch(ClarabelOracle::new, &problems)
            .into_iter()
            .map(|r| r.expect("forward solves"))
            .collect();
        let grads = lpgd
            .backward_batch(
                ClarabelOracle::new,
                &problems,
                &solutions,
                &file.cotangents(),
            )
            .unwrap();
        for (i, g) in grads.iter().enumerate() {
            let g = g.as_ref().unwrap_or_else(|e| panic!("{family} #{i}: {e}"));
            assert!(g.gradient.dc.iter().all(|v| v.is_finite()));
        }
    }
}
