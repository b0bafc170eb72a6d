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

/// Clarabel's answer at high accuracy: the reference of the face and warm-forward tests.
pub fn high_accuracy(problem: &ConicProblem) -> lpgd_core::ConicSolution {
    lpgd_solvers::ClarabelOracle::high_accuracy()
        .solve(problem, None)
        .expect("a reference solve")
}

/// max over x, y, s of `‖ours − theirs‖∞ / max(1, ‖theirs‖∞)`.
pub fn distance(a: &lpgd_core::ConicSolution, b: &lpgd_core::ConicSolution) -> f64 {
    let d = |u: &Array1<f64>, v: &Array1<f64>| {
        let scale = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        (u - v).iter().fold(0.0f64, |m, x| m.max(x.abs())) / scale
    };
    d(&a.x, &b.x).max(d(&a.y, &b.y)).max(d(&a.s, &b.s))
}

/// `‖a − b‖ / max(‖b‖, floor)`.
pub fn rel_err(a: &Array1<f64>, b: &Array1<f64>, floor: f64) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    norm(&(a - b)) / norm(b).max(floor)
}

/// A factory of oracles for one backend, usable from batch worker threads.
pub type Factory = Box<dyn Fn() -> Box<dyn Oracle<ConicProblem>> + Send + Sync>;

/// A backend with the options it runs with, and its name in reports and test messages.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `clarabel`, `clarabel[faer]`, `osqp+face`, …
    pub label: String,
    /// The backend.
    pub backend: Backend,
    /// Its options.
    pub options: BackendOptions,
}

/// Every backend of the build with default options; Clarabel once more with each named KKT
/// factorization when the build has a choice (`clarabel[qdldl]`, `clarabel[faer]`, beside
/// `clarabel`, the automatic one); every backend wrapped in the certified face re-solve
/// (`clarabel+face`, `osqp+face`, …); and Clarabel's with boundary cones solved by Newton's
/// method (`clarabel+face+boundary`; only Clarabel's cones have a boundary to speak of).
pub fn variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for backend in Backend::all() {
        let variant = |label: String, options| Variant {
            label,
            backend,
            options,
        };
        out.push(variant(backend.to_string(), BackendOptions::default()));
        if backend == Backend::Clarabel && KktSolver::all().len() > 2 {
            for kkt in KktSolver::all() {
                if kkt != KktSolver::Auto {
                    let options = BackendOptions {
                        kkt,
                        ..BackendOptions::default()
                    };
                    out.push(variant(format!("{backend}[{kkt}]"), options));
                }
            }
        }
        let face = BackendOptions {
            face: true,
            ..BackendOptions::default()
        };
        out.push(variant(format!("{backend}+face"), face));
        if backend == Backend::Clarabel {
            let boundary = BackendOptions {
                boundary_cones: true,
                ..face
            };
            out.push(variant(format!("{backend}+face+boundary"), boundary));
        }
    }
    out
}

/// (name, handles quadratic objectives, factory) for every [`variants`] entry whose backend gives
/// duals (every conic backend of the registry, its KKT choices and its face wrapper).
pub fn backends() -> Vec<(String, bool, Factory)> {
    variants()
        .into_iter()
        .filter(|v| v.backend.supports(Capability::Duals))
        .map(
            |Variant {
                 label,
                 backend,
                 options,
             }| {
                let factory: Factory = Box::new(move || backend.oracle(options));
                (
                    label,
                    backend.supports(Capability::QuadraticObjective),
                    factory,
                )
            },
        )
        .collect()
}

/// Centred LPGD (τ = ρ = 0.1) through a batch on `threads` workers: every item's forward, then
/// its backward with the matching cotangent — the gradients, for comparing thread counts.
pub fn batch_gradients<O, F>(
    threads: usize,
    make: F,
    problems: &[ConicProblem],
    cotangents: &[lpgd_core::ConicCotangent],
) -> Vec<lpgd_core::ConicGradient>
where
    O: Oracle<ConicProblem>,
    F: Fn() -> O + Sync,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        let lpgd = lpgd_core::Lpgd::new(0.1)
            .and_then(|l| l.with_rho(0.1))
            .expect("valid configuration");
        let z: Vec<_> = lpgd
            .forward_batch(&make, problems)
            .into_iter()
            .map(|r| r.expect("forward solves"))
            .collect();
        lpgd.backward_batch(&make, problems, &z, &cotangents[..problems.len()])
            .expect("matching lengths")
            .into_iter()
            .map(|r| r.expect("backward solves").gradient)
            .collect()
    })
}
