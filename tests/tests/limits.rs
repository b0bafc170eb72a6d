//! Solver limits: a solve a limit stops answers its last iterate, flagged; `Lpgd` refuses it
//! unless told to accept stopped answers; the face oracle does not polish it; invalid limits
//! are errors, never a panic.

use lpgd_core::{Lpgd, Oracle, SolveError, SolveStatus};
use lpgd_solvers::{Backend, BackendOptions, ClarabelOracle, FaceOracle, SolverLimits};
use lpgd_tests::random::{cotangent, strictly_convex_qp};

fn limited(max_iter: u32) -> ClarabelOracle {
    ClarabelOracle::new()
        .with_limits(SolverLimits {
            max_iter: Some(max_iter),
            time_limit: None,
        })
        .expect("valid limits")
}

#[test]
fn a_stopped_solve_is_flagged_refused_by_default_and_kept_on_request() {
    let problem = strictly_convex_qp(4, 12, 2, 16);
    let optimum = ClarabelOracle::high_accuracy()
        .solve(&problem, None)
        .unwrap();
    let z = limited(2).solve(&problem, None).unwrap();
    assert_eq!(z.status, SolveStatus::IterationLimit);
    assert_eq!(z.iterations, 2);
    assert!((&z.x - &optimum.x).iter().any(|d| d.abs() > 1e-3));
    let lpgd = Lpgd::new(0.1).unwrap();
    let refused = lpgd.forward(&mut limited(2), &problem).unwrap_err();
    assert_eq!(refused.kind(), "max_iterations");
    let kept = lpgd
        .with_accept_stopped(true)
        .forward(&mut limited(2), &problem)
        .unwrap();
    assert_eq!(kept.status, SolveStatus::IterationLimit);
    // The face oracle keeps the point as it is (no polish into an optimum it was not asked for).
    let mut face = FaceOracle::new(limited(2));
    let same = face.solve(&problem, None).unwrap();
    assert_eq!(same, z);
    // A backward pass under the same limit differences stopped points when accepted.
    let lpgd = lpgd.with_accept_stopped(true);
    let g = cotangent(1, &problem, false, false);
    let back = lpgd.backward(&mut limited(2), &problem, &kept, &g).unwrap();
    assert!(back.gradient.dc.iter().all(|v| v.is_finite()));
    assert!(lpgd
        .with_accept_stopped(false)
        .backward(&mut limited(2), &problem, &kept, &g)
        .is_err());
    // A time limit no solve can meet.
    let mut timed = ClarabelOracle::new()
        .with_limits(SolverLimits {
            max_iter: None,
            time_limit: Some(1e-12),
        })
        .unwrap();
    assert_eq!(
        timed.solve(&problem, None).unwrap().status,
        SolveStatus::TimeLimit
    );
}

#[test]
fn invalid_limits_are_errors() {
    for limits in [
        SolverLimits {
            max_iter: Some(0),
            time_limit: None,
        },
        SolverLimits {
            max_iter: None,
            time_limit: Some(f64::NAN),
        },
        SolverLimits {
            max_iter: None,
            time_limit: Some(-1.0),
        },
    ] {
        assert!(limits.check().is_err(), "{limits:?}");
        assert!(ClarabelOracle::new().with_limits(limits).is_err());
        // Through the registry the oracle answers every solve with the error.
        let options = BackendOptions {
            limits,
            ..BackendOptions::default()
        };
        let problem = strictly_convex_qp(0, 4, 1, 4);
        let answer = Backend::Clarabel.oracle(options).solve(&problem, None);
        assert!(
            matches!(answer, Err(SolveError::InvalidInput(_))),
            "{answer:?}"
        );
    }
}
