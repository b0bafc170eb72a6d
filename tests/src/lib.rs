//! The test kit: reference data, seeded problem generators ([`random`] for finite-difference
//! checks, [`families`] for `compare`), finite differences ([`fd`]), every backend of the build
//! ([`backends`]) — used by the cross-crate tests and by `lpgd-bench`.

use lpgd_core::ndarray::Array1;
use lpgd_core::{Capability, ConicProblem, Oracle, ProblemFile};
use lpgd_solvers::{Backend, BackendOptions, KktSolver};
use std::path::PathBuf;

pub mod conformance;
pub mod families;
pub mod fd;
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

/// (name, handles quadratic objectives, factory) for every conic backend of the build that gives
/// duals, from the registry; Clarabel once more with each KKT factorization when the build has a
/// choice (`clarabel[qdldl]`, `clarabel[faer]`); and every backend wrapped in the certified face
/// re-solve (`clarabel+face`, `osqp+face`, …).
pub fn backends() -> Vec<(String, bool, Factory)> {
    let mut out = Vec::new();
    for b in Backend::all() {
        if !b.supports(Capability::Duals) {
            continue;
        }
        let quadratic = b.supports(Capability::QuadraticObjective);
        let mut options = vec![(b.to_string(), BackendOptions::default())];
        if b == Backend::Clarabel && KktSolver::all().len() > 2 {
            options.extend(
                KktSolver::all()
                    .into_iter()
                    .filter(|&k| k != KktSolver::Auto)
                    .map(|kkt| {
                        (
                            format!("{b}[{kkt}]"),
                            BackendOptions {
                                kkt,
                                ..BackendOptions::default()
                            },
                        )
                    }),
            );
        }
        // And each wrapped in the certified face re-solve.
        let face = BackendOptions {
            face: true,
            ..BackendOptions::default()
        };
        options.push((format!("{b}+face"), face));
        for (name, o) in options {
            let factory: Factory = Box::new(move || b.oracle(o));
            out.push((name, quadratic, factory));
        }
    }
    out
}
