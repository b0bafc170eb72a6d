//! Hostile input, class by class (issue 11): no panic, no hang, no allocation the data does not
//! back, no status that is false, and answers independent of the thread count. Each test names the
//! class it guards; `fuzz_*` runs seeded generated problems through every entry point.

use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{
    Cone, ConicCotangent, ConicProblem, ConicSolution, CscMatrix, Fallback, InvalidInput, Lpgd,
    LpgdError, Oracle, ProblemFile, ProblemFileError, Side, SolveError,
};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::random::{self, nondegenerate_lp, strictly_convex_qp};
use lpgd_tests::{backends, problem_file};
use rand::Rng;

fn dense(m: lpgd_core::ndarray::Array2<f64>) -> CscMatrix {
    CscMatrix::from_dense(m.view()).unwrap()
}

/// `min c x s.t. lo <= x <= hi` in one variable.
fn box_lp(c: f64, lo: f64, hi: f64) -> ConicProblem {
    ConicProblem::builder(1)
        .cost(array![c])
        .bounds([lo], [hi])
        .build()
        .unwrap()
}

#[test]
fn class1_non_convex_quadratic_costs_are_invalid_input_everywhere() {
    let a = dense(array![[1.0], [-1.0]]);
    let maximiser = ConicProblem::new(
        Some(dense(array![[-1.0]])),
        a.clone(),
        array![1.0, 1.0],
        array![0.0],
        vec![Cone::Nonnegative(2)],
    );
    assert!(matches!(maximiser, Err(InvalidInput::NotConvex { .. })));
    // The builder, OSQP-style bounds and new values on P's pattern go through the same check.
    let indefinite = dense(array![[1.0, 3.0], [0.0, 1.0]]);
    assert!(matches!(
        ConicProblem::builder(2)
            .quadratic(indefinite.clone())
            .bounds([-1.0; 2], [1.0; 2])
            .build(),
        Err(InvalidInput::NotConvex { .. })
    ));
    assert!(ConicProblem::qp(
        Some(indefinite),
        array![0.0, 0.0],
        &dense(array![[1.0, 1.0]]),
        &[-1.0],
        &[1.0]
    )
    .is_err());
    let qp = strictly_convex_qp(3, 4, 1, 3);
    let negated: Vec<f64> = qp.p().unwrap().values().iter().map(|v| -v).collect();
    assert!(matches!(
        qp.with_p_values(&negated),
        Err(InvalidInput::NotConvex { .. })
    ));
    // Forward mode along a direction that makes P indefinite: the moved problem is refused, on
    // every step the fallback tries; nothing is reported solved.
    let lpgd = Lpgd::new(10.0).unwrap().with_side(Side::Right);
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &qp).unwrap();
    let mut d = random::tangent(1, &qp);
    d.dp = Some(Array1::from(negated));
    match lpgd.jvp(&mut oracle, &qp, &z, &d) {
        Err(LpgdError::Perturbed { attempts, .. }) => assert!(matches!(
            attempts[0].error,
            SolveError::InvalidInput(InvalidInput::NotConvex { .. })
        )),
        other => panic!("expected the moved P to be refused, got {other:?}"),
    }
}

#[test]
fn class2_sizes_that_overflow_are_errors() {
    let a = CscMatrix::zeros(2, 1).unwrap();
    let cones = vec![Cone::Zero(usize::MAX), Cone::Nonnegative(3)];
    assert!(matches!(
        ConicProblem::new(None, a, array![0.0, 0.0], array![1.0], cones),
        Err(InvalidInput::TooLarge { .. })
    ));
    assert!(CscMatrix::new(1, usize::MAX, vec![0], vec![], vec![]).is_err());
    assert!(CscMatrix::from_triplets(usize::MAX, usize::MAX, &[0], &[0], &[1.0]).is_err());
    for cone in [
        r#""ep": 6148914691236517206"#,
        r#""q": [9223372036854775807, 9223372036854775807, 4]"#,
        r#""p": [0.5], "q": [18446744073709551615]"#,
    ] {
        let text = format!(
            r#"{{"n": 1, "m": 2, "cone": {{{cone}}}, "A": {{"shape": [2, 1], "nnz": 0, "indptr": [0, 0], "rows": [], "vals": []}},
                "instances": [{{"b": [0, 0], "c": [1]}}]}}"#
        );
        assert!(
            matches!(
                ProblemFile::from_json_str(&text),
                Err(ProblemFileError::Invalid(_))
            ),
            "{cone}"
        );
    }
}

#[test]
fn class3_declared_sizes_are_checked_before_anything_is_allocated() {
    // 2·10⁸ declared rows with no instance, and 10¹⁵ exponential cones: errors, at once.
    let big = r#"{"n": 1, "m": 200000000, "cone": {"l": 200000000},
        "A": {"shape": [200000000, 1], "nnz": 0, "indptr": [0, 0], "rows": [], "vals": []},
        "instances": []}"#;
    assert!(ProblemFile::from_json_str(big).is_err());
    let cones = r#"{"n": 1, "m": 3, "cone": {"ep": 1000000000000000},
        "A": {"shape": [3, 1], "nnz": 0, "indptr": [0, 0], "rows": [], "vals": []},
        "instances": [{"b": [0, 0, 0], "c": [1]}]}"#;
    assert!(matches!(
        ProblemFile::from_json_str(cones),
        Err(ProblemFileError::Invalid(_))
    ));
    // Unknown fields are skipped, whatever their size.
    let filler = "7,".repeat(200_000);
    let text = format!(
        r#"{{"junk": [{filler}0], "family": "tiny", "n": 1, "m": 1, "cone": {{"l": 1}},
            "A": {{"shape": [1, 1], "nnz": 1, "indptr": [0, 1], "rows": [0], "vals": [-1]}},
            "instances": [{{"b": [0], "c": [1]}}]}}"#
    );
    let file = ProblemFile::from_json_str(&text).unwrap();
    assert_eq!(file.family(), Some("tiny"));
    // Files are read up to a bound: an endless stream stops there.
    #[cfg(unix)]
    assert!(matches!(
        ProblemFile::read_with_limit("/dev/zero", 1 << 20),
        Err(ProblemFileError::TooLarge { .. })
    ));
}

#[test]
fn class4_empty_problems_are_invalid_the_same_way_for_every_backend() {
    let none = CscMatrix::zeros(0, 0).unwrap();
    assert_eq!(
        ConicProblem::new(None, none, array![], array![], vec![]),
        Err(InvalidInput::Empty("the problem's variables (n = 0)"))
    );
    let rows_no_vars = CscMatrix::zeros(1, 0).unwrap();
    assert!(matches!(
        ConicProblem::new(
            None,
            rows_no_vars,
            array![-1.0],
            array![],
            vec![Cone::Nonnegative(1)]
        ),
        Err(InvalidInput::Empty(_))
    ));
    let empty = ConicProblem::builder(0).build();
    assert!(matches!(empty, Err(InvalidInput::Empty(_))), "{empty:?}");
    assert!(matches!(
        ConicProblem::builder(3).build(),
        Err(InvalidInput::Empty(_))
    ));
    assert!(matches!(
        ConicProblem::builder(usize::MAX).build(),
        Err(InvalidInput::Empty(_))
    ));
    assert!(matches!(
        lpgd_core::CombinatorialProblem::new(array![]),
        Err(InvalidInput::Empty(_))
    ));
    // With variables but no rows: a bounded QP solves, an unbounded LP does not.
    for (name, handles_p, make) in backends() {
        let mut oracle = make();
        let lp = ConicProblem::builder(2)
            .cost(array![1.0, -1.0])
            .build()
            .unwrap();
        let solved = Lpgd::new(0.1).unwrap().forward(&mut oracle, &lp);
        assert!(
            solved.is_err(),
            "{name}: an unconstrained LP is unbounded: {solved:?}"
        );
        if handles_p {
            let qp = ConicProblem::builder(1)
                .cost(array![-2.0])
                .quadratic(dense(array![[2.0]]))
                .build()
                .unwrap();
            let z = Lpgd::new(0.1).unwrap().forward(&mut oracle, &qp).unwrap();
            assert!((z.x[0] - 1.0).abs() < 1e-6, "{name}");
        }
    }
}

#[test]
fn class5_huge_finite_values_give_typed_errors_or_right_answers() {
    // Conic backends: never a false "unbounded" for a bounded problem.
    for (name, _, make) in backends() {
        for problem in [
            box_lp(1e25, 0.0, 10.0),
            box_lp(-1.0, 0.0, 1e20),
            box_lp(1e300, -1.0, 1.0),
        ] {
            match make().solve(&problem, None) {
                Ok(z) => assert!(problem.verify(&z, 1e-6).is_ok(), "{name}: {z:?}"),
                Err(SolveError::OutOfRange { .. }) => {}
                Err(e) => panic!("{name}: a bounded LP gave {e:?}"),
            }
        }
    }
    // A perturbed bound far below every solver's infinity: a typed error, the run goes on.
    let lp = nondegenerate_lp(4, 4, 1, 5);
    for (name, _, make) in backends() {
        let mut oracle = make();
        let lpgd = Lpgd::new(1.0).unwrap().with_side(Side::Right);
        let z = lpgd.forward(&mut oracle, &lp).unwrap();
        let mut g = ConicCotangent::on_x(&lp, Array1::zeros(lp.n()));
        g.dy.fill(1e300);
        assert!(lpgd.backward(&mut oracle, &lp, &z, &g).is_err(), "{name}");
    }
}

#[test]
fn class5_combinatorial_oracles_survive_costs_near_the_largest_float() {
    use lpgd_combinatorial::assignment::Assignment;
    use lpgd_combinatorial::tsp::Tsp;
    use lpgd_combinatorial::warcraft::VertexGridShortestPath;
    use lpgd_combinatorial::{GridShortestPath, Knapsack};
    use lpgd_core::CombinatorialProblem;
    let mut r = random::rng(5);
    let mut check = |oracle: &mut dyn Oracle<CombinatorialProblem>, len: usize, nonneg: bool| {
        let w: Array1<f64> = (0..len)
            .map(|_| {
                let v: f64 = r.random_range(0.1..1.0);
                if nonneg || r.random_bool(0.5) {
                    v
                } else {
                    -v
                }
            })
            .collect();
        let small = oracle
            .solve(&CombinatorialProblem::new(w.clone()).unwrap(), None)
            .unwrap();
        // Scaled by a power of two, the argmin is the same; near f64::MAX it must still be found.
        let huge = w.mapv(|v| v * 2f64.powi(1020));
        let big = oracle
            .solve(&CombinatorialProblem::new(huge).unwrap(), None)
            .unwrap();
        assert_eq!(small, big);
    };
    check(&mut GridShortestPath::new(5, 5).unwrap(), 40, false);
    check(&mut VertexGridShortestPath::new(6, 6).unwrap(), 36, true);
    check(&mut Tsp::new(6).unwrap(), 36, false);
    check(&mut Assignment::new(4, 5).unwrap(), 20, false);
    check(
        &mut Knapsack::new(array![[1.0, 2.0, 3.0, 1.0]], vec![4.0]).unwrap(),
        4,
        false,
    );
    // The slice entry points validate what a problem would have.
    assert!(Assignment::new(2, 2)
        .unwrap()
        .assign(&[f64::NAN, 0.0, 0.0, 0.0])
        .is_err());
    assert!(GridShortestPath::new(2, 2).unwrap().path(&[1.0]).is_err());
    assert!(Tsp::new(3).unwrap().tour(&[f64::INFINITY; 9]).is_err());
    assert!(matches!(
        GridShortestPath::new(0, 3),
        Err(InvalidInput::Empty(_))
    ));
    assert!(GridShortestPath::new(usize::MAX, 2).is_err());
    assert!(VertexGridShortestPath::new(1 << 40, 1 << 40).is_err());
}

/// `base` with row i scaled by `rows[i]` and column j by `cols[j]` — the same LP in other units,
/// so the same optimal objective: every answer a backend gives must be that optimum. Returns the
/// backends that answered.
fn rescaled_answers(base: &ConicProblem, rows: &[f64], cols: &[f64], seed: u64) -> Vec<String> {
    let a: Vec<f64> = base
        .a()
        .iter()
        .map(|(i, j, v)| v * rows[i] * cols[j])
        .collect();
    let b: Array1<f64> = base.b().iter().zip(rows).map(|(b, s)| b * s).collect();
    let c: Array1<f64> = base.c().iter().zip(cols).map(|(c, d)| c * d).collect();
    let problem = base
        .with_a_values(&a)
        .and_then(|p| p.with_b(b))
        .and_then(|p| p.with_c(c))
        .unwrap();
    let reference = ClarabelOracle::high_accuracy().solve(base, None).unwrap();
    let best = base.objective(reference.x.as_slice().unwrap());
    let mut answered = Vec::new();
    for (name, _, make) in backends() {
        if let Ok(z) = Lpgd::new(0.1).unwrap().forward(&mut make(), &problem) {
            let value = problem.objective(z.x.as_slice().unwrap());
            assert!(
                (value - best).abs() <= 1e-5 * (1.0 + best.abs()),
                "{name}, seed {seed}: objective {value} but the optimum is {best} ({:?}, {:?})",
                z.status,
                problem.residuals(&z)
            );
            answered.push(name);
        }
    }
    answered
}

#[test]
fn class6_badly_scaled_lps_are_solved_right_or_not_at_all() {
    // LPs mixing rows of 1e-9, 1 and 1e9.
    let mut r = random::rng(6);
    for seed in 0..20 {
        let base = nondegenerate_lp(seed, 6, 1, 6);
        let rows: Vec<f64> = (0..base.m())
            .map(|_| [1e-9, 1.0, 1e9][r.random_range(0..3)])
            .collect();
        rescaled_answers(&base, &rows, &vec![1.0; base.n()], seed);
    }
}

#[test]
fn class6_lps_with_rows_and_columns_scaled_1e6_are_solved_right_or_not_at_all() {
    // Rows and columns scaled by 10^u, u uniform in (−6, 6); a backend that cannot tell the
    // optimum says so with an error.
    let mut r = random::rng(66);
    let mut answered = std::collections::BTreeMap::new();
    for seed in 0..24 {
        let base = nondegenerate_lp(100 + seed, 6, 1, 8);
        let mut scale = |k: usize| -> Vec<f64> {
            (0..k)
                .map(|_| 10f64.powf(r.random_range(-6.0..6.0)))
                .collect()
        };
        let (rows, cols) = (scale(base.m()), scale(base.n()));
        for name in rescaled_answers(&base, &rows, &cols, seed) {
            *answered.entry(name).or_insert(0) += 1;
        }
    }
    // Clarabel answers the class (the test would pass vacuously if every backend refused).
    assert!(
        answered.get("clarabel").copied().unwrap_or(0) >= 12,
        "{answered:?}"
    );
    eprintln!("answered of 24: {answered:?}");
}

#[test]
fn class7_degenerate_steps_are_refused() {
    assert!(matches!(Lpgd::new(1e-310), Err(InvalidInput::Tau(_))));
    assert!(matches!(Lpgd::new(f64::MAX), Err(InvalidInput::Tau(_))));
    // The smallest accepted τ gives finite gradients or an error, never NaN.
    let lp = nondegenerate_lp(7, 4, 1, 5);
    let lpgd = Lpgd::new(1e-300).unwrap();
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &lp).unwrap();
    let g = random::cotangent(7, &lp, true, false);
    if let Ok(back) = lpgd.backward(&mut oracle, &lp, &z, &g) {
        assert!(back.gradient.dc.iter().all(|v| v.is_finite()));
    }
    let shrinking = Lpgd::new(1.0)
        .unwrap()
        .with_fallback(Fallback::ShrinkTau {
            factor: 1e-6,
            retries: 64,
        })
        .unwrap();
    let infeasible_dy = ConicCotangent {
        dx: Array1::zeros(lp.n()),
        dy: Array1::from_elem(lp.m(), 1e12),
        ds: Array1::zeros(lp.m()),
    };
    match shrinking.backward(&mut oracle, &lp, &z, &infeasible_dy) {
        Ok(back) => assert!(back.gradient.db.iter().all(|v| v.is_finite())),
        Err(LpgdError::Perturbed { attempts, .. }) => {
            assert!(attempts.iter().all(|a| a.sigma.abs() >= 1e-12 * 0.999));
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn class8_searches_stop_at_their_limits() {
    use lpgd_combinatorial::Knapsack;
    use lpgd_core::CombinatorialProblem;
    // No constraint at all: every valuable item is taken, at once.
    let mut free = Knapsack::new(lpgd_core::ndarray::Array2::zeros((0, 40)), vec![]).unwrap();
    let w = Array1::from_shape_fn(40, |j| if j % 3 == 0 { 1.0 } else { -1.0 - j as f64 });
    let y = free
        .solve(&CombinatorialProblem::new(w.clone()).unwrap(), None)
        .unwrap();
    assert_eq!(y, w.mapv(|v| if v < 0.0 { 1.0 } else { 0.0 }));
    assert!(free.nodes() < 1000, "{} nodes", free.nodes());
    // A hard subset-sum instance stops at the node limit with a typed status.
    let mut r = random::rng(8);
    let weights: Vec<f64> = (0..30)
        .map(|_| r.random_range(1e6..2e6_f64).round())
        .collect();
    let capacity = (weights.iter().sum::<f64>() / 2.0).floor() + 0.5;
    let mut hard = Knapsack::new(
        lpgd_core::ndarray::Array2::from_shape_vec((1, 30), weights.clone()).unwrap(),
        vec![capacity],
    )
    .unwrap()
    .with_node_limit(10_000);
    let values = Array1::from(weights.iter().map(|w| -w).collect::<Vec<_>>());
    assert_eq!(
        hard.solve(&CombinatorialProblem::new(values).unwrap(), None),
        Err(SolveError::NodeLimit(10_000))
    );
}

/// The bundled families a backend can take (OSQP and HiGHS take no second-order cones; HiGHS no
/// quadratic costs).
fn bundled_for(name: &str, handles_p: bool) -> Vec<&'static str> {
    let mut families = vec!["lp_box_medium"];
    if handles_p {
        families.push("qp_box_medium");
    }
    if name == "clarabel" {
        families.extend(["qp_socp_medium", "portfolio_medium"]);
    }
    families
}

#[test]
fn class9_every_backend_is_bit_identical_on_one_and_two_threads() {
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        })
        .collect();
    for (name, handles_p, make) in backends() {
        for family in bundled_for(&name, handles_p) {
            let file = problem_file(family);
            let problems: Vec<ConicProblem> = file.problems().into_iter().take(24).collect();
            let cotangents: Vec<ConicCotangent> = file.cotangents().into_iter().take(24).collect();
            let run = |pool: &rayon::ThreadPool| {
                pool.install(|| {
                    let lpgd = Lpgd::new(0.1).unwrap().with_rho(0.1).unwrap();
                    let forward = lpgd.forward_batch(&make, &problems);
                    let solutions: Vec<ConicSolution> = forward
                        .iter()
                        .map(|z| z.clone().expect("the bundled instances solve"))
                        .collect();
                    let backward: Vec<_> = [Side::Right, Side::Left, Side::Centered]
                        .into_iter()
                        .map(|side| {
                            let lpgd = lpgd.with_side(side);
                            if !handles_p {
                                // ρ > 0 makes a QP; HiGHS and good_lp are checked with ρ = 0.
                                return lpgd.with_rho(0.0).unwrap().backward_batch(
                                    &make,
                                    &problems,
                                    &solutions,
                                    &cotangents,
                                );
                            }
                            lpgd.backward_batch(&make, &problems, &solutions, &cotangents)
                        })
                        .collect();
                    (forward, backward)
                })
            };
            let (one, two) = (run(&pools[0]), run(&pools[1]));
            assert_eq!(one, two, "{name} on {family}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: seeded generated problems, valid and invalid, through every entry point.
