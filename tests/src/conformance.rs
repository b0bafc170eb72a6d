//! The checks every conic backend must pass, as one function: a new backend added to the registry
//! runs them through `tests/tests/conformance.rs` without a line of its own.

use crate::random::{nondegenerate_lp, strictly_convex_qp};
use lpgd_core::conic::VERIFY_TOLERANCE;
use lpgd_core::ndarray::array;
use lpgd_core::{Capability, ConicProblem, ConicSolution, Lpgd, Oracle, Side, SolveError};
use lpgd_solvers::{Backend, BackendOptions, ClarabelOracle};

fn reference(problem: &ConicProblem) -> ConicSolution {
    ClarabelOracle::high_accuracy()
        .solve(problem, None)
        .expect("the reference solves")
}

fn agree(what: &str, ours: &ConicSolution, theirs: &ConicSolution, tol: f64) -> Result<(), String> {
    let inf_norm =
        |v: &lpgd_core::ndarray::Array1<f64>| v.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
    let d = inf_norm(&(&ours.x - &theirs.x));
    if d <= tol * (1.0 + inf_norm(&theirs.x)) {
        Ok(())
    } else {
        Err(format!("{what}: x differs from the reference by {d:e}"))
    }
}

/// Runs the conformance checks on `backend`; the first failure, described.
///
/// - its answers to an LP (and a strictly convex QP where it takes P) are optimal and agree with
///   Clarabel at high accuracy;
/// - an infeasible and an unbounded LP are not solved;
/// - a problem it cannot take is [`SolveError::Unsupported`], as its capabilities say;
/// - a re-solve with the forward solution as a hint gives the answer a fresh oracle gives, and the
///   same oracle gives the same answer twice (no history);
/// - an LPGD backward pass succeeds.
pub fn check(backend: Backend) -> Result<(), String> {
    let make = || backend.oracle(BackendOptions::default());
    let mut problems = vec![("LP", nondegenerate_lp(11, 6, 2, 6))];
    if backend.supports(Capability::QuadraticObjective) {
        problems.push(("QP", strictly_convex_qp(12, 5, 1, 4)));
    }
    for (what, problem) in &problems {
        let mut oracle = make();
        let z = oracle
            .solve(problem, None)
            .map_err(|e| format!("{what}: {e}"))?;
        problem
            .verify(&z, VERIFY_TOLERANCE)
            .map_err(|e| format!("{what}: {e}"))?;
        agree(what, &z, &reference(problem), 1e-5)?;
        let again = oracle
            .solve(problem, None)
            .map_err(|e| format!("{what}: {e}"))?;
        if again != z {
            return Err(format!("{what}: a second solve on the same oracle differs"));
        }
        let moved = problem.with_c(problem.c() * 1.1).expect("finite");
        let hinted = oracle
            .solve(&moved, Some(&z))
            .map_err(|e| format!("{what} re-solve: {e}"))?;
        let fresh = make()
            .solve(&moved, Some(&z))
            .map_err(|e| format!("{what} fresh re-solve: {e}"))?;
        if hinted != fresh {
            return Err(format!(
                "{what}: a re-solve depends on what the oracle solved before"
            ));
        }
        let lpgd = Lpgd::new(0.1).expect("valid").with_side(Side::Centered);
        let g = lpgd_core::ConicCotangent::on_x(problem, problem.c().mapv(|v| -v));
        lpgd.backward(&mut oracle, problem, &z, &g)
            .map_err(|e| format!("{what} backward: {e}"))?;
    }
    // x ≤ 0 and x ≥ 1.
    let infeasible = ConicProblem::builder(1)
        .cost([1.0])
        .inequalities(array![[1.0], [-1.0]], [0.0, -1.0])
        .build()
        .expect("valid data");
    let unbounded = ConicProblem::builder(1)
        .cost([-1.0])
        .inequalities(array![[-1.0]], [0.0])
        .build()
        .expect("valid data");
    for (what, problem) in [("infeasible LP", &infeasible), ("unbounded LP", &unbounded)] {
        if let Ok(z) = Lpgd::new(0.1).expect("valid").forward(&mut make(), problem) {
            return Err(format!("{what} reported solved: {z:?}"));
        }
    }
    let socp = ConicProblem::builder(2)
        .cost([1.0, 0.0])
        .second_order(array![[-1.0, 0.0], [0.0, -1.0]], [0.0, 0.0])
        .build()
        .expect("valid data");
    let takes_soc = backend.supports(Capability::Cone(lpgd_core::ConeKind::SecondOrder));
    match make().solve(&socp, None) {
        Err(SolveError::Unsupported { .. }) if !takes_soc => {}
        Err(SolveError::Unsupported { .. }) => {
            return Err(
                "second-order cones: Unsupported, but the registry says it takes them".into(),
            )
        }
        _ if !takes_soc => {
            return Err("second-order cones: not Unsupported, but the registry says so".into())
        }
        _ => {}
    }
    Ok(())
}
