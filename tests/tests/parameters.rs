//! Named parameters of the builder: gradients come back by name, whatever order the blocks were
//! added in, and zero entries of A named as parameters stay parameters.

use lpgd_core::conic::Location;
use lpgd_core::ndarray::array;
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Side};
use lpgd_solvers::ClarabelOracle;
use std::collections::BTreeMap;

#[test]
fn gradients_by_name_match_the_entries_of_the_lpgd_gradient() {
    // The inequality block is added before the equality block; the builder puts equalities first.
    let (problem, params) = ConicProblem::builder(3)
        .cost([1.0, 2.0, 3.0])
        .cost_parameter("c0", 0)
        .inequalities(array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [0.8, 0.9])
        .rhs_parameter("cap0", 0)
        .rhs_parameter("cap1", 1)
        .matrix_parameter("g01", 0, 1) // a zero of the dense block
        .equalities(array![[1.0, 1.0, 1.0]], [1.0])
        .rhs_parameter("total", 0)
        .bounds([0.0; 3], [f64::INFINITY; 3])
        .build_with_parameters()
        .unwrap();
    // Rows: the equality first (row 0), then the two inequalities (rows 1, 2), then the bounds.
    let at: BTreeMap<&str, Location> = params
        .locations()
        .iter()
        .map(|(n, l, _)| (n.as_str(), *l))
        .collect();
    assert_eq!(at["total"], Location::B(0));
    assert_eq!(at["cap0"], Location::B(1));
    assert_eq!(at["cap1"], Location::B(2));
    let values = params.values(&problem);
    assert_eq!(
        (values["g01"], values["cap1"], values["c0"]),
        (0.0, 0.9, 1.0)
    );

    let lpgd = Lpgd::new(0.5).unwrap().with_side(Side::Centered);
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    let g = ConicCotangent::on_x(&problem, array![1.0, -1.0, 0.0]);
    let back = lpgd
        .backward(&mut oracle, &problem, &z, &g)
        .unwrap()
        .gradient;
    let named = params.gradients(&back);
    assert_eq!(named["c0"], back.dc[0]);
    assert_eq!(named["total"], back.db[0]);
    assert_eq!(named["cap1"], back.db[2]);
    let Location::A(k) = at["g01"] else { panic!() };
    assert_eq!(named["g01"], back.da[k]);
    assert!(named.values().any(|v| v.abs() > 1e-3), "{named:?}");

    // Setting values by name changes exactly those entries.
    let moved = params
        .apply(
            &problem,
            &BTreeMap::from([("total".to_string(), 2.0), ("g01".to_string(), 0.5)]),
        )
        .unwrap();
    assert_eq!(moved.b()[0], 2.0);
    assert_eq!(moved.a().values()[k], 0.5);
    assert!(params
        .apply(&problem, &BTreeMap::from([("nope".to_string(), 1.0)]))
        .is_err());
}

#[test]
fn a_shared_name_sums_and_bad_references_are_errors() {
    let (problem, params) = ConicProblem::builder(2)
        .cost([1.0, 1.0])
        .cost_parameter("price", 0)
        .cost_parameter("price", 1)
        .bounds([0.0; 2], [1.0; 2])
        .build_with_parameters()
        .unwrap();
    let mut g = lpgd_core::ConicGradient::zeros(&problem);
    g.dc[0] = 1.0;
    g.dc[1] = 2.0;
    assert_eq!(params.gradients(&g)["price"], 3.0);
    assert!(ConicProblem::builder(2)
        .cost_parameter("x", 2)
        .build()
        .is_err());
    assert!(ConicProblem::builder(2)
        .rhs_parameter("x", 0)
        .build()
        .is_err());
    assert!(ConicProblem::builder(2)
        .inequalities(array![[1.0, 0.0]], [1.0])
        .matrix_parameter("x", 0, 5)
        .build()
        .is_err());
    assert!(ConicProblem::builder(2)
        .cost([1.0, 1.0])
        .quadratic_parameter("x", 0, 0)
        .build()
        .is_err());
}

/// The good_lp bridge on a QP with a `≥` row: the gradient with respect to the row's right-hand
/// side as written (not the negated conic one) matches central differences through `apply`.
#[cfg(feature = "good_lp")]
#[test]
fn good_lp_model_qp_gradients_are_in_the_users_terms() {
    use lpgd_solvers::good_lp::Model;
    let mut m = Model::new();
    let a = m.add_variable(f64::NEG_INFINITY, f64::INFINITY);
    let b = m.add_variable(f64::NEG_INFINITY, f64::INFINITY);
    m.set_objective(0.0 * a);
    m.add_quadratic(a, a, 1.0); // a² + b² + a·b
    m.add_quadratic(b, b, 1.0);
    m.add_quadratic(a, b, 1.0);
    let demand = m.geq(a + b, 1.0);
    m.rhs_parameter("demand", demand);
    m.coefficient_parameter("weight of b", demand, b);
    let (problem, params) = m.build().unwrap();
    let lpgd = Lpgd::new(1e-5).unwrap();
    let mut oracle = ClarabelOracle::high_accuracy();
    let z = lpgd.forward(&mut oracle, &problem).unwrap();
    assert!((z.x[0] - 0.5).abs() < 1e-6 && (z.x[1] - 0.5).abs() < 1e-6);
    // Loss: x_a. By symmetry x_a = d/2 for demand d, so ∂x_a/∂d = 1/2.
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0]);
    let back = lpgd.backward(&mut oracle, &problem, &z, &g).unwrap();
    let named = params.gradients(&back.gradient);
    assert!((named["demand"] - 0.5).abs() < 1e-4, "{named:?}");
    // Central differences through the named values agree on both parameters.
    for name in ["demand", "weight of b"] {
        let at = |t: f64| {
            let v = params.parameters().values(&problem)[name] + t;
            let moved = params
                .apply(&problem, &BTreeMap::from([(name.to_string(), v)]))
                .unwrap();
            lpgd.forward(&mut ClarabelOracle::high_accuracy(), &moved)
                .unwrap()
                .x[0]
        };
        let fd = (at(1e-5) - at(-1e-5)) / 2e-5;
        assert!(
            (fd - named[name]).abs() < 1e-4,
            "{name}: fd {fd} vs {}",
            named[name]
        );
    }
}
