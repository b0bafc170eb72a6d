//! The passes on hand-checkable problems: sides, fallbacks, verification of answers.

use super::*;
use crate::error::Capability;
use crate::oracle::FnOracle;
use crate::{CombinatorialProblem, CscMatrix};
use crate::{Cone, ConicCotangent, ConicProblem, ConicSolution, SolveStatus};
use ndarray::{array, Array1};

/// Brute force over the 0/1 vectors of length 4 with exactly two ones (first minimiser wins).
fn two_of_four(p: &CombinatorialProblem) -> Result<Array1<f64>, SolveError> {
    let mut best: Option<(f64, Array1<f64>)> = None;
    for i in 0..4 {
        for j in i + 1..4 {
            let mut x = Array1::zeros(4);
            x[i] = 1.0;
            x[j] = 1.0;
            let v = p.cost().dot(&x);
            if best.as_ref().is_none_or(|(b, _)| v < *b) {
                best = Some((v, x));
            }
        }
    }
    Ok(best.expect("the set is not empty").1)
}

fn solve(w: Array1<f64>) -> Array1<f64> {
    two_of_four(&CombinatorialProblem::new(w).unwrap()).unwrap()
}

#[test]
fn sides_are_the_blackbox_differences_computed_by_hand() {
    let w = array![0.1, 0.2, 0.5, 0.9];
    let g = array![1.0, 0.0, -1.0, 0.0];
    let tau = 0.5;
    let p = CombinatorialProblem::new(w.clone()).unwrap();
    let mut oracle = FnOracle::new(two_of_four);
    let x = solve(w.clone());
    assert_eq!(x, array![1.0, 1.0, 0.0, 0.0]);
    let right = (solve(&w + &(tau * &g)) - &x) / tau;
    let left = (&x - solve(&w - &(tau * &g))) / tau;
    let centred = (solve(&w + &(tau * &g)) - solve(&w - &(tau * &g))) / (2.0 * tau);
    for (side, expected) in [
        (Side::Right, &right),
        (Side::Left, &left),
        (Side::Centered, &centred),
    ] {
        let lpgd = Lpgd::new(tau).unwrap().with_side(side);
        let back = lpgd.backward(&mut oracle, &p, &x, &g).unwrap();
        assert_eq!(&back.gradient, expected, "{side:?}");
        assert_eq!(back.report.side(), side);
    }
    // Right: w + τg = (0.6, 0.2, 0.0, 0.9) picks {1, 2}: blackbox backprop's (x_τ − x)/τ.
    assert_eq!(right, array![-2.0, 0.0, 2.0, 0.0]);
    // Forward mode along d is the same construction on the data.
    let jvp = Lpgd::new(tau)
        .unwrap()
        .with_side(Side::Right)
        .jvp(&mut oracle, &p, &x, &g)
        .unwrap();
    assert_eq!(jvp.tangent, right);
}

#[test]
fn proximal_term_on_a_finite_set_is_unsupported_and_not_retried() {
    let p = CombinatorialProblem::new(array![0.1, 0.2, 0.5, 0.9]).unwrap();
    let lpgd = Lpgd::new(0.5)
        .unwrap()
        .with_rho(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 4,
        })
        .unwrap()
        .with_side(Side::Right);
    let mut oracle = FnOracle::new(two_of_four);
    let x = lpgd.forward(&mut oracle, &p).unwrap();
    match lpgd.backward(&mut oracle, &p, &x, &array![1.0, 0.0, 0.0, 0.0]) {
        Err(LpgdError::Perturbed { attempts, .. }) => {
            assert_eq!(attempts.len(), 1, "a missing capability is not retried");
            assert!(matches!(
                attempts[0].error,
                SolveError::Unsupported {
                    what: Capability::Proximal,
                    ..
                }
            ));
        }
        other => panic!("expected an unsupported proximal term, got {other:?}"),
    }
}

/// A conic "solver" for `min cᵀx s.t. x ≥ 0` (A = −I, b = 0, c > 0) that answers with its
/// optimum `x = s = 0, y = c` and a fixed status, to test status handling.
fn fixed(status: SolveStatus) -> impl FnMut(&ConicProblem) -> Result<ConicSolution, SolveError> {
    move |p: &ConicProblem| {
        Ok(ConicSolution {
            x: Array1::zeros(p.n()),
            y: p.c().clone(),
            s: Array1::zeros(p.m()),
            status,
            iterations: 1,
        })
    }
}

/// `min x₀ + x₁ s.t. x ≥ 0` (A = −I, b = 0), the problem [`fixed`] answers.
fn orthant_lp() -> ConicProblem {
    let a = CscMatrix::scaled_identity(2, -1.0).unwrap();
    ConicProblem::new(
        None,
        a,
        array![0.0, 0.0],
        array![1.0, 1.0],
        vec![Cone::Nonnegative(2)],
    )
    .unwrap()
}

#[test]
fn an_answer_that_is_not_optimal_is_not_solved() {
    let p = orthant_lp();
    // x = 0 is optimal, but y = 0 is not its dual: the stationarity residual is |c| = 1.
    let mut wrong_dual = FnOracle::new(|p: &ConicProblem| {
        Ok(ConicSolution {
            x: Array1::zeros(p.n()),
            y: Array1::zeros(p.m()),
            s: Array1::zeros(p.m()),
            status: SolveStatus::Solved,
            iterations: 1,
        })
    });
    assert!(matches!(
        Lpgd::new(0.1).unwrap().forward(&mut wrong_dual, &p),
        Err(LpgdError::Forward(SolveError::Unverified {
            check: "dual",
            ..
        }))
    ));
    // A custom oracle answering with the wrong length is malformed, not solved.
    let mut short = FnOracle::new(|_: &CombinatorialProblem| Ok(array![1.0, 0.0]));
    let q = CombinatorialProblem::new(array![0.1, 0.2, 0.3, 0.4, 0.5]).unwrap();
    assert!(matches!(
        Lpgd::new(0.1).unwrap().forward(&mut short, &q),
        Err(LpgdError::Forward(SolveError::MalformedAnswer(
            InvalidInput::Length { .. }
        )))
    ));
    let mut nan =
        FnOracle::new(|_: &CombinatorialProblem| Ok(array![f64::NAN, 0.0, 0.0, 0.0, 0.0]));
    assert!(matches!(
        Lpgd::new(0.1).unwrap().forward(&mut nan, &q),
        Err(LpgdError::Forward(SolveError::MalformedAnswer(
            InvalidInput::NonFinite { .. }
        )))
    ));
}

#[test]
fn steps_whose_inverse_overflows_are_invalid_and_shrinking_stops_at_its_floor() {
    for tau in [
        0.0,
        -1.0,
        1e-310,
        f64::MIN_POSITIVE / 8.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ] {
        assert!(matches!(Lpgd::new(tau), Err(InvalidInput::Tau(_))), "{tau}");
    }
    assert!(Lpgd::new(1e-300).is_ok() && Lpgd::new(1e300).is_ok());
    // A fallback that would shrink σ to 0 stops at τ · 1e-12 instead.
    let p = CombinatorialProblem::new(array![0.0, 1.0]).unwrap();
    let mut failing = FnOracle::new(|q: &CombinatorialProblem| {
        if q.cost()[0] != 0.0 {
            Err(SolveError::Numerical)
        } else {
            Ok(array![1.0, 0.0])
        }
    });
    let lpgd = Lpgd::new(1.0)
        .unwrap()
        .with_side(Side::Right)
        .with_fallback(Fallback::ShrinkTau {
            factor: 1e-3,
            retries: 64,
        })
        .unwrap();
    match lpgd.backward(&mut failing, &p, &array![1.0, 0.0], &array![1.0, 0.0]) {
        Err(LpgdError::Perturbed { attempts, .. }) => {
            assert_eq!(attempts.len(), 5, "1, 1e-3, …, 1e-12: then the floor");
            assert!(attempts.iter().all(|a| a.sigma >= 1e-12 * 0.999));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(Lpgd::new(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 65
        })
        .is_err());
}

#[test]
fn a_non_finite_gradient_is_an_error() {
    // An oracle whose answers are finite but whose difference over a tiny τ overflows.
    let p = CombinatorialProblem::new(array![0.0, 1.0]).unwrap();
    let mut far = FnOracle::new(|q: &CombinatorialProblem| {
        if q.cost()[0] > 0.0 {
            Ok(array![-1e300, 0.0])
        } else {
            Ok(array![1e300, 0.0])
        }
    });
    let lpgd = Lpgd::new(1e-10).unwrap().with_side(Side::Right);
    assert!(matches!(
        lpgd.backward(&mut far, &p, &array![1e300, 0.0], &array![1.0, 0.0]),
        Err(LpgdError::NonFinite { index: 0, .. })
    ));
}

#[test]
fn almost_solved_is_accepted_or_rejected_as_configured() {
    let p = orthant_lp();
    let mut oracle = FnOracle::new(fixed(SolveStatus::AlmostSolved));
    let lenient = Lpgd::new(0.1).unwrap();
    let z = lenient.forward(&mut oracle, &p).unwrap();
    assert_eq!(z.status, SolveStatus::AlmostSolved);
    let strict = lenient.with_accept_almost_solved(false);
    assert_eq!(
        strict.forward(&mut oracle, &p),
        Err(LpgdError::Forward(SolveError::AlmostSolved))
    );
    let g = ConicCotangent::on_x(&p, array![1.0, 0.0]);
    assert!(lenient.backward(&mut oracle, &p, &z, &g).is_ok());
    assert!(matches!(
        strict.backward(&mut oracle, &p, &z, &g),
        Err(LpgdError::Perturbed { attempts, .. }) if attempts[0].error == SolveError::AlmostSolved
    ));
}

#[test]
fn shrink_tau_reports_the_step_used() {
    // The oracle fails while the cost has moved by more than 0.3 from the original.
    let w = array![0.0, 1.0];
    let p = CombinatorialProblem::new(w.clone()).unwrap();
    let mut oracle = FnOracle::new(move |q: &CombinatorialProblem| {
        if (q.cost() - &w).iter().any(|d| d.abs() > 0.3) {
            Err(SolveError::Numerical)
        } else {
            Ok(array![1.0, 0.0])
        }
    });
    let lpgd = Lpgd::new(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 2,
        })
        .unwrap();
    let x = array![1.0, 0.0];
    let back = lpgd
        .backward(&mut oracle, &p, &x, &array![1.0, 0.0])
        .unwrap();
    assert_eq!(
        (back.report.sigma_plus, back.report.sigma_minus),
        (Some(0.25), Some(-0.25))
    );
    assert_eq!(back.report.recovered.len(), 4);
    let lpgd = lpgd
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 1,
        })
        .unwrap();
    assert!(matches!(
        lpgd.backward(&mut oracle, &p, &x, &array![1.0, 0.0]),
        Err(LpgdError::Perturbed { attempts, .. }) if attempts.len() == 4
    ));
}
