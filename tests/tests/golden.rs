//! The hand-checkable golden LP of the diffcp reference: `min cᵀx s.t. 1ᵀx = 1, x ≥ 0`.

use lpgd_core::{Cone, ConicCotangent, ConicProblem, CscMatrix, Lpgd, Side};
use lpgd_solvers::ClarabelOracle;
use ndarray::{array, Array1};

fn golden() -> ConicProblem {
    let a = CscMatrix::from_dense(
        array![
            [1.0, 1.0, 1.0],
            [-1.0, 0.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.0, 0.0, -1.0]
        ]
        .view(),
    )
    .unwrap();
    ConicProblem::new(
        None,
        a,
        array![1.0, 0.0, 0.0, 0.0],
        array![0.1, 0.5, 0.3],
        vec![Cone::Zero(1), Cone::Nonnegative(3)],
    )
    .unwrap()
}

fn close(found: &Array1<f64>, expected: &[f64]) {
    assert_eq!(found.len(), expected.len());
    for (f, e) in found.iter().zip(expected) {
        assert!((f - e).abs() < 1e-6, "found {found}, expected {expected:?}");
    }
}

/// dA on A's stored pattern, CSC order: (0,0) (1,0) (0,1) (2,1) (0,2) (3,2).
fn check_side(side: Side, dc: &[f64], db: &[f64], da: &[f64]) {
    let problem = golden();
    let lpgd = Lpgd::new(0.3).unwrap().with_side(side);
    let mut oracle = ClarabelOracle::high_accuracy();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    close(&z.x, &[1.0, 0.0, 0.0]);
    close(&z.y, &[-0.1, 0.0, 0.4, 0.2]);
    close(&z.s, &[0.0, 1.0, 0.0, 0.0]);
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0, 0.0]);
    let back = lpgd.backward(&mut oracle, &problem, &z, &g).unwrap();
    close(&back.gradient.dc, dc);
    close(&back.gradient.db, db);
    close(&back.gradient.da, da);
    assert_eq!(back.report.side(), side);
    assert!(!back.report.fell_back());
}

#[test]
fn right() {
    let t = 1.0 / 3.0;
    check_side(
        Side::Right,
        &[-10.0 / 3.0, 0.0, 10.0 / 3.0],
        &[2.0 / 3.0, -t, 2.0 / 3.0, 2.0 / 3.0],
        &[t, 0.0, 0.0, 0.0, -1.0, 0.0],
    );
}

#[test]
fn left() {
    check_side(
        Side::Left,
        &[0.0, 0.0, 0.0],
        &[1.0, 0.0, 1.0, 1.0],
        &[-1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
}

#[test]
fn centered() {
    check_side(
        Side::Centered,
        &[-5.0 / 3.0, 0.0, 5.0 / 3.0],
        &[5.0 / 6.0, -1.0 / 6.0, 5.0 / 6.0, 5.0 / 6.0],
        &[-1.0 / 3.0, 0.0, 0.0, 0.0, -0.5, 0.0],
    );
}

/// The true derivative of x* with respect to c is zero here: the degenerate gradient LPGD exists to
/// replace. Centred LPGD with τ below the reduced-cost gap sees it too.
#[test]
fn small_tau_sees_the_zero_derivative_of_x() {
    let problem = golden();
    let lpgd = Lpgd::new(1e-3).unwrap();
    let mut oracle = ClarabelOracle::high_accuracy();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0, 0.0]);
    let back = lpgd.backward(&mut oracle, &problem, &z, &g).unwrap();
    close(&back.gradient.dc, &[0.0, 0.0, 0.0]);
}
