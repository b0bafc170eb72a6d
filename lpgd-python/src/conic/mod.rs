//! Conic programs: batches given item by item (diffcp's lists, [`solve`]) or as one fixed
//! structure with stacked values (the torch layer, [`ConicStructure::solve`]), solved into a
//! [`Session`] that is kept for the backward and forward-mode passes.

use crate::value_error;
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix};
use lpgd_solvers::{Backend, BackendOptions, SolverLimits};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

mod columns;
mod session;
mod structure;

pub(crate) use session::{Session, WarmStarts};
pub(crate) use structure::ConicStructure;

/// A sparse matrix as Python hands it over: (rows, cols, indptr, indices, data).
type RawCsc<'py> = (
    usize,
    usize,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
);

fn indices(a: &PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<Vec<usize>> {
    a.as_array()
        .iter()
        .map(|&v| {
            usize::try_from(v).map_err(|_| value_error(format!("{what}: negative index {v}")))
        })
        .collect()
}

fn csc(raw: &RawCsc<'_>, what: &str) -> PyResult<CscMatrix> {
    let (m, n, indptr, rows, data) = raw;
    CscMatrix::new(
        *m,
        *n,
        indices(indptr, what)?,
        indices(rows, what)?,
        data.as_array().to_vec(),
    )
    .map_err(|e| value_error(format!("{what}: {e}")))
}

/// Cones in SCS order from `(kind, size or exponent)` pairs: `z`, `l`, `q`, `s`, `ep`, `p`.
fn cones(spec: &[(String, f64)]) -> PyResult<Vec<Cone>> {
    let count = |v: f64| {
        if v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
            Ok(v as usize)
        } else {
            Err(value_error(format!("cone size {v} is not a count")))
        }
    };
    spec.iter()
        .map(|(kind, v)| {
            Ok(match kind.as_str() {
                "z" => Cone::Zero(count(*v)?),
                "l" => Cone::Nonnegative(count(*v)?),
                "q" => Cone::SecondOrder(count(*v)?),
                "s" => Cone::Psd(count(*v)?),
                "ep" => Cone::Exponential,
                "p" => Cone::Power(*v),
                other => return Err(value_error(format!("unsupported cone '{other}'"))),
            })
        })
        .collect()
}

/// The array lengths of one item: n, m, stored entries of A and of P.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    n: usize,
    m: usize,
    a_nnz: usize,
    p_nnz: usize,
}

impl Sizes {
    fn of(p: &ConicProblem) -> Self {
        Self {
            n: p.n(),
            m: p.m(),
            a_nnz: p.a().nnz(),
            p_nnz: p.p().map_or(0, CscMatrix::nnz),
        }
    }
}

/// The backend a name gives (suffixes `+face`, `+face+boundary`) and its options.
fn backend_options(
    name: &str,
    cold: bool,
    high_accuracy: bool,
    limits: SolverLimits,
) -> PyResult<(Backend, BackendOptions)> {
    limits.check().map_err(value_error)?;
    let base = BackendOptions {
        cold,
        high_accuracy,
        limits,
        ..BackendOptions::default()
    };
    Backend::parse_with_options(name, base).map_err(value_error)
}

/// An item's warm start as Python hands it over: (x, y, s), or None.
type RawWarm<'py> = Option<(
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
)>;

/// Validates and solves a batch of conic programs `min ½xᵀPx + cᵀx s.t. Ax + s = b, s ∈ K` on
/// `backend` (a name of the registry) with `threads` workers (None: all cores), the GIL released.
/// Malformed data is a `ValueError` naming the item; a failed solve is recorded per item.
/// `warm_starts` (diffcp's: one `(x, y, s)` or None per item) are the forwards' guesses: a
/// `+face` backend certifies each on its face or solves from scratch; others ignore them.
#[pyfunction]
#[pyo3(signature = (a_list, b_list, c_list, cone_list, p_list, backend, cold, high_accuracy, threads, warm_starts=None, max_iter=None, time_limit=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve<'py>(
    py: Python<'py>,
    a_list: Vec<RawCsc<'py>>,
    b_list: Vec<PyReadonlyArray1<'py, f64>>,
    c_list: Vec<PyReadonlyArray1<'py, f64>>,
    cone_list: Vec<Vec<(String, f64)>>,
    p_list: Vec<Option<RawCsc<'py>>>,
    backend: &str,
    cold: bool,
    high_accuracy: bool,
    threads: Option<usize>,
    warm_starts: Option<Vec<RawWarm<'py>>>,
    max_iter: Option<u32>,
    time_limit: Option<f64>,
) -> PyResult<Session> {
    let n = a_list.len();
    if [b_list.len(), c_list.len(), cone_list.len(), p_list.len()]
        .iter()
        .any(|&k| k != n)
    {
        return Err(value_error("A, b, c, cones and P lists differ in length"));
    }
    let limits = SolverLimits {
        max_iter,
        time_limit,
    };
    let (backend, options) = backend_options(backend, cold, high_accuracy, limits)?;
    let mut data = Vec::with_capacity(n);
    for i in 0..n {
        let item = |e: PyErr| value_error(format!("item {i}: {e}"));
        let a = csc(&a_list[i], "A").map_err(item)?;
        let p = match &p_list[i] {
            Some(raw) => Some(csc(raw, "P").map_err(item)?),
            None => None,
        };
        let cones = cones(&cone_list[i]).map_err(item)?;
        data.push((
            p,
            a,
            b_list[i].as_array().to_owned(),
            c_list[i].as_array().to_owned(),
            cones,
        ));
    }
    let mut problems = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    for (i, problem) in ConicProblem::new_batch(data).into_iter().enumerate() {
        let problem = problem.map_err(|e| value_error(format!("item {i}: {e}")))?;
        sizes.push(Sizes::of(&problem));
        problems.push(Ok(problem));
    }
    let warm: Option<Vec<Option<ConicSolution>>> = warm_starts.map(|list| {
        list.iter()
            .map(|w| {
                w.as_ref().map(|(x, y, s)| ConicSolution {
                    x: x.as_array().to_owned(),
                    y: y.as_array().to_owned(),
                    s: s.as_array().to_owned(),
                    status: lpgd_core::SolveStatus::Solved,
                    iterations: 0,
                })
            })
            .collect()
    });
    let guesses = warm
        .as_ref()
        .map(|w| w.iter().map(Option::as_ref).collect());
    Session::solve(py, problems, sizes, (backend, options), threads, guesses)
}
