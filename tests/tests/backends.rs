//! Every enabled backend on the same problems: solutions, LPGD gradients, statuses, warm starts.
//!
//! Tolerances, and why:
//! - HiGHS and good_lp's HiGHS return simplex vertices, exact to ~1e-9.
//! - OSQP runs ADMM to 1e-9 and polishes (an active-set solve), so its answers are vertex-exact on
//!   LPs and ~1e-9 on QPs.
//! - Clarabel (interior point, default tolerance 1e-8) is the loosest: ~1e-7 relative in x and y.
//!
//! Gradients are differences over τ = 0.1, so backends agree on them to ~1e-6 relative; we assert
//! 1e-5. LP instances whose duals are not unique (degenerate vertices) would let a simplex and an
//! interior-point method return different, equally valid y; the instances used here are checked to
//! be strictly complementary first.

use lpgd_core::ndarray::array;
use lpgd_core::{
    Capability, Cone, ConeKind, ConicProblem, ConicSolution, CscMatrix, Lpgd, Oracle, Side,
    SolveError,
};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::random::{nondegenerate_lp, random_socp, strictly_convex_qp};
use lpgd_tests::{array as json_array, backends, fixtures, norm, problem_file, rel_err};

fn reference(problem: &ConicProblem) -> ConicSolution {
    ClarabelOracle::high_accuracy()
        .solve(problem, None)
        .expect("reference solve")
}

/// Strict complementarity on the inequality rows: the vertex and its duals are unique.
fn strictly_complementary(problem: &ConicProblem, z: &ConicSolution) -> bool {
    let eq: usize = problem
        .cones()
        .iter()
        .filter_map(|c| {
            if let Cone::Zero(k) = c {
                Some(*k)
            } else {
                None
            }
        })
        .sum();
    (eq..problem.m()).all(|i| z.s[i].max(z.y[i]) > 1e-6)
}

fn lp_instances() -> Vec<ConicProblem> {
    let mut out: Vec<ConicProblem> = (0..4).map(|s| nondegenerate_lp(s, 6, 2, 8)).collect();
    let file = problem_file("lp_box_small");
    out.extend(
        (0..12)
            .filter_map(|i| file.problem(i))
            .filter(|p| strictly_complementary(p, &reference(p)))
            .take(4),
    );
    let medium = problem_file("lp_box_medium");
    out.extend(
        (0..6)
            .filter_map(|i| medium.problem(i))
            .filter(|p| strictly_complementary(p, &reference(p)))
            .take(2),
    );
    assert!(out.len() >= 8, "enough nondegenerate LPs");
    out
}

fn qp_instances() -> Vec<ConicProblem> {
    let mut out: Vec<ConicProblem> = (0..4).map(|s| strictly_convex_qp(s, 6, 2, 6)).collect();
    out.extend(problem_file("qp_box_small").problems().into_iter().take(3));
    out.extend(problem_file("qp_box_medium").problems().into_iter().take(1));
    out
}

/// How far a backend's LPGD gradient (τ = 0.1) at default tolerances may be from Clarabel's at
/// high accuracy. A solution error ε becomes ε/τ in the gradient: Clarabel at its default
/// tolerances, built for the problem as a one-off call (and diffcp) builds it, is 3.1e-5 away on
/// qp_box_medium #0 (and within 6e-6 on #1–#7).
const GRADIENT_AGREEMENT: f64 = 5e-5;

fn check_agreement(problems: &[ConicProblem], quadratic: bool) {
    for (k, problem) in problems.iter().enumerate() {
        let z_ref = reference(problem);
        let g = lpgd_tests::random::cotangent(900 + k as u64, problem, true, false);
        for side in [Side::Right, Side::Centered] {
            let lpgd = Lpgd::new(0.1).unwrap().with_side(side);
            let grad_ref = lpgd
                .backward(&mut ClarabelOracle::high_accuracy(), problem, &z_ref, &g)
                .unwrap()
                .gradient;
            for (name, handles_p, make) in backends() {
                let mut oracle = make();
                if quadratic && !handles_p {
                    let err = oracle.solve(problem, None).unwrap_err();
                    assert_eq!(
                        err,
                        SolveError::Unsupported {
                            backend: err_backend(&err),
                            what: Capability::QuadraticObjective
                        }
                    );
                    continue;
                }
                let z = lpgd
                    .forward(&mut oracle, problem)
                    .unwrap_or_else(|e| panic!("{name} #{k}: {e}"));
                assert!(
                    rel_err(&z.x, &z_ref.x, 1e-6) < 1e-6,
                    "{name} #{k}: x {} vs {}",
                    z.x,
                    z_ref.x
                );
                assert!(
                    rel_err(&z.y, &z_ref.y, 1e-6) < 1e-6,
                    "{name} #{k}: y {} vs {}",
                    z.y,
                    z_ref.y
                );
                let grad = lpgd
                    .backward(&mut oracle, problem, &z, &g)
                    .unwrap()
                    .gradient;
                let floor = 1e-3 * norm(&grad_ref.db).max(norm(&grad_ref.dc));
                for (block, ours, theirs) in [
                    ("dc", &grad.dc, &grad_ref.dc),
                    ("db", &grad.db, &grad_ref.db),
                    ("dA", &grad.da, &grad_ref.da),
                ] {
                    let e = rel_err(ours, theirs, floor);
                    assert!(
                        e < GRADIENT_AGREEMENT,
                        "{name} #{k} {side:?}: {block} differs by {e:.1e}"
                    );
                }
                if let (Some(ours), Some(theirs)) = (&grad.dp, &grad_ref.dp) {
                    assert!(
                        rel_err(ours, theirs, floor) < GRADIENT_AGREEMENT,
                        "{name} #{k}: dP"
                    );
                }
            }
        }
    }
}

fn err_backend(e: &SolveError) -> &'static str {
    match e {
        SolveError::Unsupported { backend, .. } => backend,
        _ => "",
    }
}

#[test]
fn backends_agree_on_lps() {
    check_agreement(&lp_instances(), false);
}

#[test]
fn backends_agree_on_qps() {
    check_agreement(&qp_instances(), true);
}

/// The diffcp fixtures of the LP and QP families, for every backend that takes them.
#[test]
fn backends_reproduce_the_diffcp_fixtures() {
    let fx = fixtures();
    for prob in fx["problems"].as_array().unwrap() {
        let family = prob["family"].as_str().unwrap();
        if family != "lp_box" && family != "qp_box" {
            continue;
        }
        let file = problem_file(&format!("{family}_{}", prob["size"].as_str().unwrap()));
        let index = prob["index"].as_u64().unwrap() as usize;
        let problem = file.problem(index).unwrap();
        let g = file.cotangent(index).unwrap();
        // A vertex method (HiGHS, OSQP's polish) and an interior-point method pick different points
        // of a non-unique optimum; only Clarabel (diffcp's own solver) is held to such instances.
        let unique = strictly_complementary(&problem, &reference(&problem));
        for (name, handles_p, make) in backends() {
            if problem.p().is_some() && !handles_p || !unique && name != "clarabel" {
                continue;
            }
            for (config, tau, rho, side) in [
                ("lpgd_tau0.1_rho0.1", 0.1, 0.1, Side::Centered),
                ("lpgdR_tau0.1_rho0.1", 0.1, 0.1, Side::Right),
                ("lpgd_tau1e-4", 1e-4, 0.0, Side::Centered),
            ] {
                if rho > 0.0 && !handles_p {
                    continue; // ρ > 0 makes the perturbed problem a QP
                }
                let lpgd = Lpgd::new(tau)
                    .unwrap()
                    .with_rho(rho)
                    .unwrap()
                    .with_side(side);
                let mut oracle = make();
                let z = lpgd.forward(&mut oracle, &problem).unwrap();
                let grad = lpgd
                    .backward(&mut oracle, &problem, &z, &g)
                    .unwrap()
                    .gradient;
                let r = &prob["configs"][config];
                let (dc, db, da) = (
                    json_array(&r["dc"]),
                    json_array(&r["db"]),
                    json_array(&r["dA_vals"]),
                );
                let floor = 1e-3 * norm(&dc).max(norm(&db)).max(norm(&da));
                // At τ = 1e-4 an LP's dc is zero up to the reference's own solver noise (Clarabel's
                // 1e-8 tolerance over τ: seen up to 4e-4 in diffcp's numbers), while vertex
                // backends return exact zeros; dc is then held to that noise, absolutely.
                let tol = if tau < 1e-3 { 1e-3 } else { 2e-3 };
                for (block, ours, theirs) in [
                    ("dc", &grad.dc, &dc),
                    ("db", &grad.db, &db),
                    ("dA", &grad.da, &da),
                ] {
                    let e = if block == "dc" && tau < 1e-3 && problem.p().is_none() {
                        norm(&(ours - theirs)) / (1.0 + norm(theirs))
                    } else {
                        rel_err(ours, theirs, floor)
                    };
                    assert!(
                        e < tol,
                        "{name} {family} #{index} {config}: {block} differs by {e:.1e}"
                    );
                }
            }
        }
    }
}

#[test]
fn unsupported_cones_are_typed_errors() {
    let socp = random_socp(0, 3, 2);
    for (name, _, make) in backends() {
        let result = make().solve(&socp, None);
        if name.starts_with("clarabel") || name == "good_lp:clarabel" && result.is_ok() {
            continue;
        }
        assert!(
            matches!(
                result,
                Err(SolveError::Unsupported {
                    what: Capability::Cone(ConeKind::SecondOrder),
                    ..
                })
            ),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn infeasible_and_unbounded_problems_are_reported_by_every_backend() {
    let a = CscMatrix::from_dense(array![[1.0], [-1.0]].view()).unwrap();
    let infeasible = ConicProblem::new(
        None,
        a.clone(),
        array![-1.0, 0.0],
        array![1.0],
        vec![Cone::Nonnegative(2)],
    )
    .unwrap();
    let unbounded = ConicProblem::new(
        None,
        CscMatrix::from_dense(array![[-1.0]].view()).unwrap(),
        array![0.0],
        array![-1.0],
        vec![Cone::Nonnegative(1)],
    )
    .unwrap();
    for (name, _, make) in backends() {
        assert_eq!(
            make().solve(&infeasible, None).unwrap_err(),
            SolveError::Infeasible,
            "{name}"
        );
        assert_eq!(
            make().solve(&unbounded, None).unwrap_err(),
            SolveError::Unbounded,
            "{name}"
        );
    }
}

/// A solve after solving something else equals a solve by a fresh oracle.
#[test]
fn update_then_resolve_equals_a_fresh_solve() {
    let lp = problem_file("lp_box_small");
    let qp = problem_file("qp_box_small");
    for (name, handles_p, make) in backends() {
        for file in [&lp, &qp] {
            if file.p().is_some() && !handles_p {
                continue;
            }
            let mut kept = make();
            for i in 0..4 {
                let problem = file.problem(i).unwrap();
                let updated = kept.solve(&problem, None).unwrap();
                let fresh = make().solve(&problem, None).unwrap();
                assert!(rel_err(&updated.x, &fresh.x, 1e-9) < 1e-8, "{name} #{i}: x");
                assert!(rel_err(&updated.y, &fresh.y, 1e-9) < 1e-8, "{name} #{i}: y");
            }
        }
    }
}

/// The perturbed problem of an LPGD re-solve, one small step from the forward optimum.
#[cfg(any(feature = "osqp", feature = "highs"))]
fn perturbed(
    problem: &ConicProblem,
    z: &ConicSolution,
    g: &lpgd_core::ConicCotangent,
) -> ConicProblem {
    use lpgd_core::Problem;
    problem.backward_problem(z, g, 0.05, 0.0).unwrap()
}

#[cfg(feature = "osqp")]
#[test]
fn osqp_warm_started_resolve_takes_fewer_iterations() {
    use lpgd_solvers::OsqpOracle;
    for name in ["lp_box_small", "qp_box_medium"] {
        let file = problem_file(name);
        let (problem, g) = (file.problem(0).unwrap(), file.cotangent(0).unwrap());
        let mut oracle = OsqpOracle::new();
        let z = oracle.solve(&problem, None).unwrap();
        let q = perturbed(&problem, &z, &g);
        let warm = oracle.solve(&q, Some(&z)).unwrap();
        let cold = OsqpOracle::new().solve(&q, None).unwrap();
        assert!(
            warm.iterations < cold.iterations,
            "{name}: warm {} vs cold {}",
            warm.iterations,
            cold.iterations
        );
        assert!(rel_err(&warm.x, &cold.x, 1e-9) < 1e-7);
        assert_eq!(oracle.stats().setups, 1, "the factorization was kept");
    }
}

#[cfg(feature = "highs")]
#[test]
fn highs_resolve_from_the_forward_basis_takes_fewer_iterations() {
    use lpgd_solvers::HighsOracle;
    let file = problem_file("lp_box_medium");
    for i in 0..3 {
        let (problem, g) = (file.problem(i).unwrap(), file.cotangent(i).unwrap());
        let mut oracle = HighsOracle::new();
        let z = oracle.solve(&problem, None).unwrap();
        let q = perturbed(&problem, &z, &g);
        let warm = oracle.solve(&q, Some(&z)).unwrap();
        let cold = HighsOracle::new().solve(&q, None).unwrap();
        assert!(
            warm.iterations < cold.iterations,
            "#{i}: warm {} vs cold {}",
            warm.iterations,
            cold.iterations
        );
        assert!(rel_err(&warm.x, &cold.x, 1e-9) < 1e-9);
        // The same, started from a solution the oracle did not compute itself.
        let fresh_warm = HighsOracle::new().solve(&q, Some(&z)).unwrap();
        assert_eq!(fresh_warm.iterations, warm.iterations);
        assert!(rel_err(&fresh_warm.x, &warm.x, 1e-9) < 1e-12);
    }
}

#[cfg(feature = "highs")]
#[test]
fn highs_batches_do_not_depend_on_the_number_of_threads() {
    use lpgd_solvers::HighsOracle;
    let file = problem_file("lp_box_small");
    let problems: Vec<_> = file.problems().into_iter().take(24).collect();
    let cotangents: Vec<_> = file.cotangents().into_iter().take(24).collect();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let lpgd = Lpgd::new(0.1).unwrap();
                let z: Vec<_> = lpgd
                    .forward_batch(HighsOracle::new, &problems)
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
                lpgd.backward_batch(HighsOracle::new, &problems, &z, &cotangents)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.unwrap().gradient)
                    .collect::<Vec<_>>()
            })
    };
    // Every solve passes the LP to a fresh model: bit for bit the same on any thread count.
    assert_eq!(run(1), run(2));
}

/// Brute force over {0,1}ⁿ against the HiGHS MILP oracle on random multi-constraint knapsacks.
#[cfg(feature = "highs")]
#[test]
fn highs_milp_matches_brute_force() {
    use lpgd_core::ndarray::Array1;
    use lpgd_core::CombinatorialProblem;
    use lpgd_solvers::HighsOracle;
    use rand::Rng;
    let mut rng = lpgd_tests::random::rng(42);
    for trial in 0..20 {
        let n = 8;
        let weights: Vec<Vec<f64>> = (0..2)
            .map(|_| (0..n).map(|_| rng.random_range(1.0..5.0)).collect())
            .collect();
        let capacity = [8.0, 9.0];
        let w = lpgd_core::ndarray::Array2::from_shape_fn((2, n), |(i, j)| weights[i][j]);
        let set = ConicProblem::builder(n)
            .inequalities(w.view(), Array1::from(capacity.to_vec()))
            .bounds(vec![0.0; n], vec![1.0; n])
            .build()
            .unwrap();
        let mut oracle = HighsOracle::milp(&set, vec![true; n]).unwrap();
        let cost: Array1<f64> = (0..n).map(|_| -rng.random_range(0.0..3.0)).collect();
        let x = oracle
            .solve(&CombinatorialProblem::new(cost.clone()).unwrap(), None)
            .unwrap();
        let mut best = f64::INFINITY;
        for mask in 0u32..(1 << n) {
            let v: Vec<f64> = (0..n).map(|j| f64::from((mask >> j) & 1)).collect();
            let feasible = (0..2)
                .all(|i| (0..n).map(|j| weights[i][j] * v[j]).sum::<f64>() <= capacity[i] + 1e-9);
            if feasible {
                best = best.min(cost.iter().zip(&v).map(|(c, v)| c * v).sum());
            }
        }
        assert!(
            (cost.dot(&x) - best).abs() < 1e-9,
            "trial {trial}: {} vs {best}",
            cost.dot(&x)
        );
        assert!(x.iter().all(|v| *v == 0.0 || *v == 1.0));
    }
}

/// good_lp's primal-only solvers, as oracles over a fixed polytope, give the LP's vertex and the
/// same LPGD cost gradient as the conic form.
#[cfg(feature = "good_lp")]
#[test]
fn good_lp_polytope_oracles_match_the_conic_gradient() {
    use lpgd_core::CombinatorialProblem;
    use lpgd_solvers::{GoodLpOracle, GoodLpSolver};
    for problem in lp_instances().into_iter().take(5) {
        let z_ref = reference(&problem);
        let g = lpgd_tests::random::cotangent(77, &problem, false, false);
        let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Right);
        let conic = lpgd
            .backward(&mut ClarabelOracle::high_accuracy(), &problem, &z_ref, &g)
            .unwrap()
            .gradient;
        for solver in GoodLpSolver::all() {
            let mut oracle = GoodLpOracle::over(&problem, solver).unwrap();
            let layer = CombinatorialProblem::new(problem.c().clone()).unwrap();
            let x = lpgd.forward(&mut oracle, &layer).unwrap();
            assert!(rel_err(&x, &z_ref.x, 1e-6) < 1e-6, "{}: x", solver.name());
            let dc = lpgd
                .backward(&mut oracle, &layer, &x, &g.dx)
                .unwrap()
                .gradient;
            assert!(
                rel_err(&dc, &conic.dc, 1e-3 * norm(&conic.dc).max(1.0)) < 1e-5,
                "{}: dc {dc} vs {}",
                solver.name(),
                conic.dc
            );
        }
    }
}
