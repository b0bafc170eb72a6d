//! Shared helpers for the cross-crate tests: reference data, seeded random problems, finite
//! differences.

use lpgd_core::ndarray::Array1;
use lpgd_core::{ConicProblem, Oracle, ProblemFile};
use std::path::PathBuf;

pub mod random;

/// Folder of the diffcp reference problems and fixtures bundled with the project.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/diffcp")
}

/// Reads a bundled problem file, e.g. `lp_box_small`.
pub fn problem_file(name: &str) -> ProblemFile {
    ProblemFile::read(data_dir().join(format!("{name}.json"))).expect("bundled problem file")
}

/// Reads the bundled diffcp fixtures.
pub fn fixtures() -> serde_json::Value {
    let text =
        std::fs::read_to_string(data_dir().join("fixtures_Clarabel.json")).expect("fixtures");
    serde_json::from_str(&text).expect("fixtures are JSON")
}

/// A JSON array of numbers as an array.
pub fn array(v: &serde_json::Value) -> Array1<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Euclidean norm.
pub fn norm(v: &Array1<f64>) -> f64 {
    v.dot(v).sqrt()
}

/// `‖a − b‖ / max(‖b‖, floor)`.
pub fn rel_err(a: &Array1<f64>, b: &Array1<f64>, floor: f64) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    norm(&(a - b)) / norm(b).max(floor)
}

/// A factory of oracles for one backend, usable from batch worker threads.
pub type Factory = Box<dyn Fn() -> Box<dyn Oracle<ConicProblem>> + Send + Sync>;

/// (name, handles quadratic objectives, factory) for every enabled conic backend.
pub fn backends() -> Vec<(String, bool, Factory)> {
    #[allow(unused_mut)] // backends are pushed under their features
    let mut out: Vec<(String, bool, Factory)> = vec![(
        "clarabel".into(),
        true,
        Box::new(|| Box::new(lpgd_solvers::ClarabelOracle::new()) as Box<dyn Oracle<ConicProblem>>),
    )];
    #[cfg(feature = "osqp")]
    out.push((
        "osqp".into(),
        true,
        Box::new(|| Box::new(lpgd_solvers::OsqpOracle::new()) as Box<dyn Oracle<ConicProblem>>),
    ));
    #[cfg(feature = "highs")]
    out.push((
        "highs".into(),
        false,
        Box::new(|| Box::new(lpgd_solvers::HighsOracle::new()) as Box<dyn Oracle<ConicProblem>>),
    ));
    #[cfg(feature = "good_lp")]
    for solver in lpgd_solvers::GoodLpSolver::all()
        .into_iter()
        .filter(|s| s.has_duals())
    {
        out.push((
            format!("good_lp:{}", solver.name()),
            false,
            Box::new(move || {
                Box::new(lpgd_solvers::GoodLpOracle::new(solver)) as Box<dyn Oracle<ConicProblem>>
            }),
        ));
    }
    out
}
