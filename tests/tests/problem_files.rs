//! Problem files in the diffcp/SCS layout: read, write, round trip, and the convenience
//! constructors that build the canonical form.

use lpgd_core::ndarray::array;
use lpgd_core::{Cone, ConicCotangent, ConicProblem, CscMatrix, Lpgd, ProblemFile};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::problem_file;

#[test]
fn bundled_files_read_with_their_structure() {
    let lp = problem_file("lp_box_small");
    assert_eq!(lp.family(), Some("lp_box"));
    assert_eq!(lp.len(), 256);
    let p = lp.problem(0).unwrap();
    assert_eq!((p.n(), p.m()), (10, 27));
    assert_eq!(p.cones(), &[Cone::Zero(2), Cone::Nonnegative(25)]);
    assert!(p.p().is_none());
    let pf = problem_file("portfolio_small").problem(3).unwrap();
    assert_eq!(
        pf.cones(),
        &[Cone::Zero(1), Cone::Nonnegative(20), Cone::SecondOrder(14)]
    );
    let qp = problem_file("qp_box_small");
    assert_eq!(qp.p().unwrap().nnz(), 55);
    assert!(qp.p().unwrap().is_upper_triangular());
}

#[test]
fn write_then_read_round_trips() {
    for name in ["qp_box_small", "portfolio_small"] {
        let file = problem_file(name);
        let text = file.to_json_string().unwrap();
        let again = ProblemFile::from_json_str(&text).unwrap();
        assert_eq!(again.problems(), file.problems());
        assert_eq!(again.cotangents(), file.cotangents());
        assert_eq!(again.family(), file.family());
    }
}

#[test]
fn problems_with_shared_structure_write_as_one_file() {
    let base = problem_file("lp_box_small").problem(0).unwrap();
    let problems = vec![base.clone(), base.with_c(base.c() * 2.0).unwrap()];
    let mut g = ConicCotangent::on_x(
        &base,
        array![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    g.ds[3] = 0.5;
    let file = ProblemFile::from_problems(&problems, &[g.clone(), g.clone()]).unwrap();
    let again = ProblemFile::from_json_str(&file.to_json_string().unwrap()).unwrap();
    assert_eq!(again.problems(), problems);
    assert_eq!(again.cotangent(1).unwrap(), g);
    let other = base.with_a_values(&vec![1.0; base.a().nnz()]).unwrap();
    assert!(ProblemFile::from_problems(&[base, other], &[g.clone(), g]).is_err());
}

#[test]
fn qp_from_bounds_maps_gradients_back_to_the_bounds() {
    // min ½‖x‖² − x₀ − 2x₁ s.t. x₀ + x₁ = 1 (l = u), 0 ≤ x₀ − x₁ (≤ ∞), (−∞ ≤) x₀ ≤ 0.75.
    // Optimum x = (0.5, 0.5) with x₀ − x₁ ≥ 0 strictly active, so x₀ = (u₀ + l₁)/2.
    let a = CscMatrix::from_dense(array![[1.0, 1.0], [1.0, -1.0], [1.0, 0.0]].view()).unwrap();
    let p = CscMatrix::scaled_identity(2, 1.0).unwrap();
    let inf = f64::INFINITY;
    let (problem, rows) = ConicProblem::qp(
        Some(p),
        array![-1.0, -2.0],
        &a,
        &[1.0, 0.0, -inf],
        &[1.0, inf, 0.75],
    )
    .unwrap();
    assert_eq!(problem.cones(), &[Cone::Zero(1), Cone::Nonnegative(2)]);
    assert_eq!(rows.upper, vec![Some(0), None, Some(1)]);
    assert_eq!(rows.lower, vec![None, Some(2), None]);
    let lpgd = Lpgd::new(1e-5).unwrap();
    let mut oracle = ClarabelOracle::high_accuracy();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    assert!(
        (z.x[0] - 0.5).abs() < 1e-8 && (z.x[1] - 0.5).abs() < 1e-8,
        "x = {}",
        z.x
    );
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0]);
    let back = lpgd.backward(&mut oracle, &problem, &z, &g).unwrap();
    let (dl, du) = rows.bound_gradients(&back.gradient.db);
    for (found, expected) in dl
        .iter()
        .zip([0.0, 0.5, 0.0])
        .chain(du.iter().zip([0.5, 0.0, 0.0]))
    {
        assert!((found - expected).abs() < 1e-5, "dl = {dl}, du = {du}");
    }
}

#[test]
fn builder_orders_blocks_and_bounds_skip_infinities() {
    let inf = f64::INFINITY;
    let problem = ConicProblem::builder(2)
        .cost(array![1.0, 1.0])
        .second_order(array![[-1.0, 0.0], [0.0, -1.0]], array![2.0, 0.0])
        .bounds([0.0, -inf], [inf, 3.0])
        .equalities(array![[1.0, -1.0]], array![0.0])
        .build()
        .unwrap();
    assert_eq!(
        problem.cones(),
        &[Cone::Zero(1), Cone::Nonnegative(2), Cone::SecondOrder(2)]
    );
    assert_eq!(problem.b().to_vec(), vec![0.0, 0.0, 3.0, 2.0, 0.0]);
    let z = Lpgd::new(0.1)
        .unwrap()
        .forward(&mut ClarabelOracle::high_accuracy(), &problem)
        .unwrap();
    assert!(z.x.iter().all(|v| v.abs() < 1e-7), "x = {}", z.x);
}
