//! Bad input is a typed error, never a panic or a wrong number; failed perturbed re-solves follow
//! the configured fallback and are reported per item.

use lpgd_core::error::{ConeIssue, SparseIssue};
use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{
    Cone, ConicCotangent, ConicProblem, ConicTangent, CscMatrix, Fallback, InvalidInput, Lpgd,
    LpgdError, ProblemFile, ProblemFileError, Side, SolveError,
};
use lpgd_solvers::{ClarabelOracle, ClarabelSettings};

/// `min x s.t. x ≤ b₀, −x ≤ b₁` with b = (1, 0): x* = 0.
fn interval() -> ConicProblem {
    let a = CscMatrix::from_dense(array![[1.0], [-1.0]].view()).unwrap();
    ConicProblem::new(
        None,
        a,
        array![1.0, 0.0],
        array![1.0],
        vec![Cone::Nonnegative(2)],
    )
    .unwrap()
}

/// A loss on y₀ that pushes b₀ down by 10σ: the right side (σ = 0.2) makes `x ≤ −1, x ≥ 0`.
fn infeasible_right() -> ConicCotangent {
    ConicCotangent {
        dx: array![0.0],
        dy: array![10.0, 0.0],
        ds: array![0.0, 0.0],
    }
}

#[test]
fn malformed_problems_are_typed_errors() {
    let a = CscMatrix::from_dense(array![[1.0, 2.0], [3.0, 4.0]].view()).unwrap();
    let ok =
        |b: Array1<f64>, c: Array1<f64>, cones| ConicProblem::new(None, a.clone(), b, c, cones);
    assert!(matches!(
        ok(
            array![1.0, 2.0],
            array![f64::NAN, 0.0],
            vec![Cone::Nonnegative(2)]
        ),
        Err(InvalidInput::NonFinite {
            field: "c",
            index: 0,
            ..
        })
    ));
    assert!(matches!(
        ok(
            array![1.0, f64::INFINITY],
            array![0.0, 0.0],
            vec![Cone::Nonnegative(2)]
        ),
        Err(InvalidInput::NonFinite {
            field: "b",
            index: 1,
            ..
        })
    ));
    assert!(matches!(
        ok(array![1.0], array![0.0, 0.0], vec![Cone::Nonnegative(1)]),
        Err(InvalidInput::Length {
            field: "b",
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        ok(array![1.0, 2.0], array![0.0], vec![Cone::Nonnegative(2)]),
        Err(InvalidInput::Length {
            field: "c",
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        ok(
            array![1.0, 2.0],
            array![0.0, 0.0],
            vec![Cone::Nonnegative(3)]
        ),
        Err(InvalidInput::ConeRows {
            cone_rows: 3,
            rows: 2
        })
    ));
    assert!(matches!(
        ok(
            array![1.0, 2.0],
            array![0.0, 0.0],
            vec![Cone::SecondOrder(0), Cone::Zero(2)]
        ),
        Err(InvalidInput::Cone {
            index: 0,
            issue: ConeIssue::EmptySecondOrder
        })
    ));
    assert!(matches!(
        ConicProblem::new(
            None,
            CscMatrix::zeros(3, 2).unwrap(),
            array![0.0, 0.0, 0.0],
            array![0.0, 0.0],
            vec![Cone::Power(1.5)]
        ),
        Err(InvalidInput::Cone {
            issue: ConeIssue::PowerExponent(_),
            ..
        })
    ));
    let lower = CscMatrix::from_dense(array![[1.0, 0.0], [1.0, 1.0]].view()).unwrap();
    assert!(matches!(
        ConicProblem::new(
            Some(lower),
            a.clone(),
            array![1.0, 2.0],
            array![0.0, 0.0],
            vec![Cone::Nonnegative(2)]
        ),
        Err(InvalidInput::Sparse {
            field: "P",
            issue: SparseIssue::NotUpperTriangular { row: 1, col: 0 }
        })
    ));
    assert!(matches!(
        ConicProblem::new(
            Some(CscMatrix::zeros(3, 3).unwrap()),
            a.clone(),
            array![1.0, 2.0],
            array![0.0, 0.0],
            vec![Cone::Nonnegative(2)]
        ),
        Err(InvalidInput::Shape { field: "P", .. })
    ));
    assert!(matches!(
        a.with_values(&[1.0, f64::NEG_INFINITY, 0.0, 0.0]),
        Err(InvalidInput::NonFinite { .. })
    ));
    assert!(matches!(
        ConicProblem::builder(2)
            .equalities(array![[1.0, 2.0, 3.0]], array![1.0])
            .build(),
        Err(InvalidInput::Shape { .. })
    ));
    assert!(ConicProblem::qp(None, array![0.0, 0.0], &a, &[2.0, 0.0], &[1.0, 1.0]).is_err());
}

#[test]
fn invalid_configurations_are_typed_errors() {
    assert_eq!(Lpgd::new(0.0), Err(InvalidInput::Tau(0.0)));
    assert_eq!(Lpgd::new(-1.0), Err(InvalidInput::Tau(-1.0)));
    assert!(matches!(Lpgd::new(f64::NAN), Err(InvalidInput::Tau(_))));
    assert!(matches!(
        Lpgd::new(f64::INFINITY),
        Err(InvalidInput::Tau(_))
    ));
    assert_eq!(
        Lpgd::new(1.0).unwrap().with_rho(-0.1),
        Err(InvalidInput::Rho(-0.1))
    );
    assert!(matches!(
        Lpgd::new(1.0).unwrap().with_rho(f64::NAN),
        Err(InvalidInput::Rho(_))
    ));
    assert!(Lpgd::new(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 1.5,
            retries: 2
        })
        .is_err());
    assert!(Lpgd::new(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 0
        })
        .is_err());
}

#[test]
fn malformed_gradients_and_solutions_are_typed_errors() {
    let problem = interval();
    let lpgd = Lpgd::new(0.1).unwrap();
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    let bad_len = ConicCotangent {
        dx: array![1.0, 2.0],
        dy: array![0.0, 0.0],
        ds: array![0.0, 0.0],
    };
    assert!(matches!(
        lpgd.backward(&mut oracle, &problem, &z, &bad_len),
        Err(LpgdError::InvalidInput(InvalidInput::Length {
            field: "dx",
            ..
        }))
    ));
    let nan = ConicCotangent {
        dx: array![f64::NAN],
        dy: array![0.0, 0.0],
        ds: array![0.0, 0.0],
    };
    assert!(matches!(
        lpgd.backward(&mut oracle, &problem, &z, &nan),
        Err(LpgdError::InvalidInput(InvalidInput::NonFinite {
            field: "dx",
            ..
        }))
    ));
    let mut short = z.clone();
    short.y = array![0.0];
    let g = ConicCotangent::on_x(&problem, array![1.0]);
    assert!(matches!(
        lpgd.backward(&mut oracle, &problem, &short, &g),
        Err(LpgdError::InvalidInput(InvalidInput::Length {
            field: "y",
            ..
        }))
    ));
    let d = ConicTangent {
        dp: None,
        da: array![1.0],
        db: array![0.0, 0.0],
        dc: array![0.0],
    };
    assert!(matches!(
        lpgd.jvp(&mut oracle, &problem, &z, &d),
        Err(LpgdError::InvalidInput(InvalidInput::Length {
            field: "dA",
            ..
        }))
    ));
}

#[test]
fn infeasible_forward_problem_is_reported() {
    // x ≤ −1 and x ≥ 0.
    let problem = interval().with_b(array![-1.0, 0.0]).unwrap();
    let err = Lpgd::new(0.1)
        .unwrap()
        .forward(&mut ClarabelOracle::new(), &problem)
        .unwrap_err();
    assert_eq!(err, LpgdError::Forward(SolveError::Infeasible));
}

#[test]
fn unbounded_forward_problem_is_reported() {
    let a = CscMatrix::from_dense(array![[-1.0]].view()).unwrap();
    let problem = ConicProblem::new(
        None,
        a,
        array![0.0],
        array![-1.0],
        vec![Cone::Nonnegative(1)],
    )
    .unwrap();
    let err = Lpgd::new(0.1)
        .unwrap()
        .forward(&mut ClarabelOracle::new(), &problem)
        .unwrap_err();
    assert_eq!(err, LpgdError::Forward(SolveError::Unbounded));
}

#[test]
fn iteration_limit_is_reported() {
    let settings = ClarabelSettings {
        max_iter: 1,
        ..ClarabelOracle::new().settings().clone()
    };
    let problem = lpgd_tests::problem_file("qp_socp_small")
        .problem(0)
        .unwrap();
    let err = Lpgd::new(0.1)
        .unwrap()
        .forward(&mut ClarabelOracle::with_settings(settings), &problem)
        .unwrap_err();
    assert_eq!(err, LpgdError::Forward(SolveError::MaxIterations));
}

#[test]
fn infeasible_perturbed_problem_without_fallback_is_an_error() {
    let problem = interval();
    let lpgd = Lpgd::new(0.2).unwrap().with_side(Side::Right);
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    match lpgd.backward(&mut oracle, &problem, &z, &infeasible_right()) {
        Err(LpgdError::Perturbed {
            side: Side::Right,
            attempts,
        }) => {
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].sigma, 0.2);
            assert_eq!(attempts[0].error, SolveError::Infeasible);
        }
        other => panic!("expected a perturbed-solve error, got {other:?}"),
    }
}

#[test]
fn unbounded_perturbed_problem_is_detected() {
    // min x s.t. x ≥ 0; a loss dx = −20 moves c to 1 − 0.1·20 < 0 on the right side.
    let a = CscMatrix::from_dense(array![[-1.0]].view()).unwrap();
    let problem = ConicProblem::new(
        None,
        a,
        array![0.0],
        array![1.0],
        vec![Cone::Nonnegative(1)],
    )
    .unwrap();
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Right);
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    let err = lpgd
        .backward(
            &mut oracle,
            &problem,
            &z,
            &ConicCotangent::on_x(&problem, array![-20.0]),
        )
        .unwrap_err();
    assert!(
        matches!(&err, LpgdError::Perturbed { attempts, .. } if attempts[0].error == SolveError::Unbounded)
    );
}

#[test]
fn other_side_fallback_uses_the_side_that_solves() {
    let problem = interval();
    let mut oracle = ClarabelOracle::new();
    let z = Lpgd::new(0.2)
        .unwrap()
        .forward(&mut oracle, &problem)
        .unwrap();
    for side in [Side::Right, Side::Centered] {
        let lpgd = Lpgd::new(0.2)
            .unwrap()
            .with_side(side)
            .with_fallback(Fallback::OtherSide)
            .unwrap();
        let back = lpgd
            .backward(&mut oracle, &problem, &z, &infeasible_right())
            .unwrap();
        assert_eq!(back.report.side(), Side::Left);
        assert!(back.report.fell_back());
        assert_eq!(back.report.recovered[0].error, SolveError::Infeasible);
        // Left side: b' = (3, 0) keeps x = 0 and y; the gradient is finite.
        assert!(back.gradient.db.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn shrink_tau_fallback_retries_with_a_smaller_step() {
    let problem = interval();
    let mut oracle = ClarabelOracle::new();
    let lpgd = Lpgd::new(0.2)
        .unwrap()
        .with_side(Side::Right)
        .with_fallback(Fallback::ShrinkTau {
            factor: 0.25,
            retries: 3,
        })
        .unwrap();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    let back = lpgd
        .backward(&mut oracle, &problem, &z, &infeasible_right())
        .unwrap();
    assert_eq!(back.report.sigma_plus, Some(0.05));
    assert_eq!(back.report.recovered.len(), 1);
    assert_eq!(back.report.solves(), 2);
}

#[test]
fn one_bad_item_does_not_spoil_a_batch() {
    let problem = interval();
    let problems = vec![problem.clone(), problem.clone(), problem.clone()];
    let lpgd = Lpgd::new(0.2).unwrap().with_side(Side::Right);
    let solutions: Vec<_> = lpgd
        .forward_batch(ClarabelOracle::new, &problems)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let good = ConicCotangent::on_x(&problem, array![1.0]);
    let malformed = ConicCotangent {
        dx: array![f64::NAN],
        dy: array![0.0, 0.0],
        ds: array![0.0, 0.0],
    };
    let results = lpgd
        .backward_batch(
            ClarabelOracle::new,
            &problems,
            &solutions,
            &[good.clone(), infeasible_right(), malformed],
        )
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(LpgdError::Perturbed { .. })));
    assert!(matches!(results[2], Err(LpgdError::InvalidInput(_))));
    let alone = lpgd
        .backward(&mut ClarabelOracle::new(), &problem, &solutions[0], &good)
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap(), &alone);

    assert_eq!(
        lpgd.backward_batch(
            ClarabelOracle::new,
            &problems,
            &solutions[..2],
            &[good.clone(), good.clone(), good]
        )
        .unwrap_err(),
        InvalidInput::BatchLength(3, 2)
    );
}

#[test]
fn malformed_problem_files_are_typed_errors() {
    assert!(matches!(
        ProblemFile::from_json_str("{"),
        Err(ProblemFileError::Json(_))
    ));
    assert!(matches!(
        ProblemFile::from_json_str(r#"{"n": 1}"#),
        Err(ProblemFileError::Json(_))
    ));
    let base = r#"{"n": 1, "m": 2, "cone": {"l": 2},
        "A": {"shape": [2, 1], "nnz": 2, "indptr": [0, 2], "rows": [0, 1], "cols": [0, 0], "vals": [1.0, -1.0]},
        "P": null, "instances": [{"b": [1.0, 0.0], "c": [1.0], "dx": [1.0]}]}"#;
    let file = ProblemFile::from_json_str(base).unwrap();
    assert_eq!(file.len(), 1);
    let broken = [
        (
            base.replace(r#""indptr": [0, 2]"#, r#""indptr": [0, 3]"#),
            "indptr past nnz",
        ),
        (
            base.replace(r#""rows": [0, 1]"#, r#""rows": [0, 5]"#),
            "row out of range",
        ),
        (
            base.replace(r#""cone": {"l": 2}"#, r#""cone": {"l": 3}"#),
            "cones do not cover the rows",
        ),
        (
            base.replace(r#""b": [1.0, 0.0]"#, r#""b": [1.0]"#),
            "short b",
        ),
        (
            base.replace(r#""dx": [1.0]"#, r#""dx": [1.0, 2.0]"#),
            "long dx",
        ),
        (
            base.replace(r#""cols": [0, 0]"#, r#""cols": [0, 1]"#),
            "cols disagree with indptr",
        ),
        (base.replace(r#""m": 2"#, r#""m": 3"#), "m disagrees with A"),
    ];
    for (text, what) in broken {
        assert!(
            ProblemFile::from_json_str(&text).is_err(),
            "{what} was accepted"
        );
    }
    // A PSD cone must cover its k(k + 1)/2 rows like any other; a dual exponential cone is
    // refused as unsupported.
    assert!(matches!(
        ProblemFile::from_json_str(
            &base.replace(r#""cone": {"l": 2}"#, r#""cone": {"l": 2, "s": [2]}"#)
        ),
        Err(ProblemFileError::Invalid(_))
    ));
    // One row of l traded for a 1 × 1 PSD block: accepted.
    assert!(ProblemFile::from_json_str(
        &base.replace(r#""cone": {"l": 2}"#, r#""cone": {"l": 1, "s": [1]}"#)
    )
    .is_ok());
    assert!(matches!(
        ProblemFile::from_json_str(
            &base.replace(r#""cone": {"l": 2}"#, r#""cone": {"l": 2, "ed": 1}"#)
        ),
        Err(ProblemFileError::UnsupportedCone(_))
    ));
}

/// Errors name what is wrong where the user wrote it (issue 12): a too-long right-hand side is a
/// length error of that right-hand side, an infinity in a block is reported at its (row, column)
/// in that block, and a missing quadratic objective says that ρ > 0 makes one.
#[test]
fn errors_blame_the_part_the_user_wrote() {
    let too_long = ConicProblem::builder(2)
        .cost(array![1.0, 1.0])
        .inequalities(array![[1.0, 1.0]], array![1.0, 2.0])
        .build();
    assert!(
        matches!(
            too_long,
            Err(InvalidInput::Length {
                expected: 1,
                found: 2,
                ..
            })
        ),
        "{too_long:?}"
    );
    let inf = ConicProblem::builder(2)
        .cost(array![1.0, 1.0])
        .inequalities(array![[1.0, 1.0], [2.0, f64::INFINITY]], array![1.0, 2.0])
        .build();
    assert_eq!(
        inf,
        Err(InvalidInput::NonFiniteEntry {
            field: "A of an inequality block",
            row: 1,
            col: 1,
            value: f64::INFINITY
        })
    );
    assert!(inf.unwrap_err().to_string().contains("[1, 1]"));
    let message = lpgd_core::Capability::QuadraticObjective.to_string();
    assert!(message.contains("rho > 0"), "{message}");
}
