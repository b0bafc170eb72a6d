//! Python bindings of lpgd: the `lpgd._lpgd` extension module behind the `lpgd` Python package.
//!
//! One Rust call per batch: problems arrive once as arrays (CSC structure and values of A, b, c,
//! cones in SCS order, optionally P's upper triangle), are validated by the core, solved on all
//! cores with the GIL released, and kept — with the backend that solved them — in a [`Session`],
//! whose `backward` and `jvp` re-solve the perturbed problems (LPGD) in one more call. Failures are
//! per item: a message for each item that failed, NaN in its arrays; the Python layer raises or not.

use lpgd_core::ndarray::Array1;
use lpgd_core::{
    Cone, ConicCotangent, ConicGradient, ConicProblem, ConicSolution, CscMatrix, Fallback, Lpgd,
    LpgdError, Side,
};
use lpgd_solvers::{Backend, BackendOptions};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A sparse matrix as Python hands it over: (rows, cols, indptr, indices, data).
type RawCsc<'py> = (
    usize,
    usize,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
);

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

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

/// Cones in SCS order from `(kind, size or exponent)` pairs: `z`, `l`, `q`, `ep`, `p`.
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
                "ep" => Cone::Exponential,
                "p" => Cone::Power(*v),
                other => return Err(value_error(format!("unsupported cone '{other}'"))),
            })
        })
        .collect()
}

fn lpgd_config(tau: f64, rho: f64, side: &str, fallback: &str) -> PyResult<Lpgd> {
    let side = match side {
        "right" => Side::Right,
        "left" => Side::Left,
        "centered" | "centred" => Side::Centered,
        other => return Err(value_error(format!("unknown side '{other}'"))),
    };
    let fallback = match fallback {
        "none" => Fallback::Fail,
        "other_side" => Fallback::OtherSide,
        "shrink_tau" => Fallback::ShrinkTau {
            factor: 0.5,
            retries: 4,
        },
        other => return Err(value_error(format!("unknown fallback '{other}'"))),
    };
    Lpgd::new(tau)
        .and_then(|l| l.with_rho(rho))
        .and_then(|l| l.with_fallback(fallback))
        .map(|l| l.with_side(side))
        .map_err(value_error)
}

/// A batch solved by one backend, kept for its backward and forward-mode passes.
#[pyclass(module = "lpgd._lpgd")]
pub struct Session {
    problems: Vec<ConicProblem>,
    solutions: Vec<Result<ConicSolution, String>>,
    backend: Backend,
    options: BackendOptions,
    threads: Option<usize>,
}

/// Arrays per item, NaN where the item failed, and the failures' messages.
type Columns = (Vec<Vec<f64>>, Vec<Option<String>>);

fn nan_vec(len: usize) -> Vec<f64> {
    vec![f64::NAN; len]
}

impl Session {
    /// The configuration on `threads` workers (None: the forward pass's setting).
    fn lpgd(&self, base: Lpgd, threads: Option<usize>) -> PyResult<Lpgd> {
        match threads.or(self.threads) {
            Some(t) => base.with_threads(t).map_err(value_error),
            None => Ok(base),
        }
    }

    /// The items whose forward solve succeeded, with their solutions.
    fn solved(&self) -> (Vec<usize>, Vec<ConicProblem>, Vec<ConicSolution>) {
        let mut idx = Vec::new();
        let mut problems = Vec::new();
        let mut sols = Vec::new();
        for (i, (p, z)) in self.problems.iter().zip(&self.solutions).enumerate() {
            if let Ok(z) = z {
                idx.push(i);
                problems.push(p.clone());
                sols.push(z.clone());
            }
        }
        (idx, problems, sols)
    }

    /// One array per item from its forward solution (NaN of length `len` where it failed).
    fn column(
        &self,
        pick: impl Fn(&ConicSolution) -> &Array1<f64>,
        len: impl Fn(&ConicProblem) -> usize,
    ) -> Columns {
        let items = self.problems.iter().zip(&self.solutions).map(|(p, z)| {
            let arrays = z
                .as_ref()
                .map(|z| vec![pick(z).to_vec()])
                .map_err(Clone::clone);
            (arrays, vec![len(p)])
        });
        let (mut columns, errors) = split_columns(items, 1);
        (columns.remove(0), errors)
    }

    /// The results of a batch run on the solved items (`idx`) placed back among all items; an
    /// item whose forward solve failed keeps that failure.
    fn scatter<T>(
        &self,
        idx: Vec<usize>,
        results: Vec<Result<T, LpgdError>>,
    ) -> Vec<Result<T, String>> {
        let mut out: Vec<Result<T, String>> = self
            .solutions
            .iter()
            .map(|z| Err(z.as_ref().err().cloned().unwrap_or_default()))
            .collect();
        for (k, r) in idx.into_iter().zip(results) {
            out[k] = r.map_err(|e| e.to_string());
        }
        out
    }

    /// Checks that every per-item list has one entry per item.
    fn check_counts(&self, what: &str, counts: [usize; 3]) -> PyResult<()> {
        let b = self.problems.len();
        if counts.iter().all(|&k| k == b) {
            Ok(())
        } else {
            Err(value_error(format!(
                "{b} items but {} / {} / {} {what}",
                counts[0], counts[1], counts[2]
            )))
        }
    }
}

/// Splits per-item results of `k` arrays each into `k` columns (NaN arrays of the given lengths
/// where an item failed) and the failures' messages.
fn split_columns(
    items: impl Iterator<Item = (Result<Vec<Vec<f64>>, String>, Vec<usize>)>,
    k: usize,
) -> (Vec<Vec<Vec<f64>>>, Vec<Option<String>>) {
    let mut columns: Vec<Vec<Vec<f64>>> = vec![Vec::new(); k];
    let mut errors = Vec::new();
    for (result, nan_lens) in items {
        match result {
            Ok(arrays) => {
                for (column, array) in columns.iter_mut().zip(arrays) {
                    column.push(array);
                }
                errors.push(None);
            }
            Err(e) => {
                for (column, len) in columns.iter_mut().zip(nan_lens) {
                    column.push(nan_vec(len));
                }
                errors.push(Some(e));
            }
        }
    }
    (columns, errors)
}

fn to_py<'py>(py: Python<'py>, rows: Vec<Vec<f64>>) -> Vec<Bound<'py, PyArray1<f64>>> {
    rows.into_iter()
        .map(|v| PyArray1::from_vec(py, v))
        .collect()
}

#[pymethods]
impl Session {
    /// The number of items.
    fn __len__(&self) -> usize {
        self.problems.len()
    }

    /// Primal solutions (NaN for failed items) and the failures' messages (None where solved).
    fn primal<'py>(
        &self,
        py: Python<'py>,
    ) -> (Vec<Bound<'py, PyArray1<f64>>>, Vec<Option<String>>) {
        let (v, e) = self.column(|z| &z.x, |p| p.n());
        (to_py(py, v), e)
    }

    /// Dual solutions y (NaN for failed items).
    fn dual<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<f64>>> {
        to_py(py, self.column(|z| &z.y, |p| p.m()).0)
    }

    /// Slacks s (NaN for failed items).
    fn slack<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<f64>>> {
        to_py(py, self.column(|z| &z.s, |p| p.m()).0)
    }

    /// Solver iterations per item (0 for failed items).
    fn iterations(&self) -> Vec<u32> {
        self.solutions
            .iter()
            .map(|z| z.as_ref().map_or(0, |z| z.iterations))
            .collect()
    }

    /// The LPGD backward pass for every item: gradients with respect to A's stored values, b, c
    /// and P's stored values (empty without P), NaN for failed items, and the failures' messages.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    #[pyo3(signature = (dxs, dys, dss, tau, rho, side, fallback, threads=None))]
    fn backward<'py>(
        &self,
        py: Python<'py>,
        dxs: Vec<PyReadonlyArray1<'py, f64>>,
        dys: Vec<PyReadonlyArray1<'py, f64>>,
        dss: Vec<PyReadonlyArray1<'py, f64>>,
        tau: f64,
        rho: f64,
        side: &str,
        fallback: &str,
        threads: Option<usize>,
    ) -> PyResult<(
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Option<String>>,
    )> {
        self.check_counts("gradients", [dxs.len(), dys.len(), dss.len()])?;
        let lpgd = self.lpgd(lpgd_config(tau, rho, side, fallback)?, threads)?;
        let (idx, problems, sols) = self.solved();
        let cotangents: Vec<ConicCotangent> = idx
            .iter()
            .map(|&i| ConicCotangent {
                dx: dxs[i].as_array().to_owned(),
                dy: dys[i].as_array().to_owned(),
                ds: dss[i].as_array().to_owned(),
            })
            .collect();
        let (backend, options) = (self.backend, self.options);
        let results = py
            .detach(|| {
                lpgd.backward_batch(|| backend.oracle(options), &problems, &sols, &cotangents)
            })
            .map_err(value_error)?;
        let grads = self.scatter(idx, results);
        let items = self.problems.iter().zip(grads).map(|(p, g)| {
            let arrays = g.map(|b| {
                let g = b.gradient;
                let dp = g.dp.map_or_else(Vec::new, |v| v.to_vec());
                vec![g.da.to_vec(), g.db.to_vec(), g.dc.to_vec(), dp]
            });
            let p_nnz = p.p().map_or(0, |p| p.nnz());
            (arrays, vec![p.a().nnz(), p.m(), p.n(), p_nnz])
        });
        let (mut cols, errors) = split_columns(items, 4);
        let (dp, dc, db, da) = (cols.pop(), cols.pop(), cols.pop(), cols.pop());
        let py_col = |c: Option<Vec<Vec<f64>>>| to_py(py, c.unwrap_or_default());
        Ok((py_col(da), py_col(db), py_col(dc), py_col(dp), errors))
    }

    /// Forward mode (LPGD) for every item along data directions (dA on A's stored values, db,
    /// dc): the directional derivatives dx, dy, ds, NaN for failed items, and the messages.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    #[pyo3(signature = (das, dbs, dcs, tau, rho, side, fallback, threads=None))]
    fn jvp<'py>(
        &self,
        py: Python<'py>,
        das: Vec<PyReadonlyArray1<'py, f64>>,
        dbs: Vec<PyReadonlyArray1<'py, f64>>,
        dcs: Vec<PyReadonlyArray1<'py, f64>>,
        tau: f64,
        rho: f64,
        side: &str,
        fallback: &str,
        threads: Option<usize>,
    ) -> PyResult<(
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Option<String>>,
    )> {
        self.check_counts("directions", [das.len(), dbs.len(), dcs.len()])?;
        let lpgd = self.lpgd(lpgd_config(tau, rho, side, fallback)?, threads)?;
        let (idx, problems, sols) = self.solved();
        let tangents: Vec<ConicGradient> = idx
            .iter()
            .map(|&i| ConicGradient {
                dp: self.problems[i].p().map(|p| Array1::zeros(p.nnz())),
                da: das[i].as_array().to_owned(),
                db: dbs[i].as_array().to_owned(),
                dc: dcs[i].as_array().to_owned(),
            })
            .collect();
        let (backend, options) = (self.backend, self.options);
        let results = py
            .detach(|| lpgd.jvp_batch(|| backend.oracle(options), &problems, &sols, &tangents))
            .map_err(value_error)?;
        let tangents = self.scatter(idx, results);
        let items = self.problems.iter().zip(tangents).map(|(p, t)| {
            let arrays = t.map(|j| {
                let t = j.tangent;
                vec![t.dx.to_vec(), t.dy.to_vec(), t.ds.to_vec()]
            });
            (arrays, vec![p.n(), p.m(), p.m()])
        });
        let (mut cols, errors) = split_columns(items, 3);
        let (ds, dy, dx) = (cols.pop(), cols.pop(), cols.pop());
        let py_col = |c: Option<Vec<Vec<f64>>>| to_py(py, c.unwrap_or_default());
        Ok((py_col(dx), py_col(dy), py_col(ds), errors))
    }
}

/// Validates and solves a batch of conic programs `min ½xᵀPx + cᵀx s.t. Ax + s = b, s ∈ K` on
/// `backend` (a name of the registry) with `threads` workers (None: all cores), the GIL released.
/// Malformed data is a `ValueError` naming the item; a failed solve is recorded per item.
#[pyfunction]
#[pyo3(signature = (a_list, b_list, c_list, cone_list, p_list, backend, cold, high_accuracy, threads))]
#[allow(clippy::too_many_arguments)]
fn solve<'py>(
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
) -> PyResult<Session> {
    let n = a_list.len();
    if [b_list.len(), c_list.len(), cone_list.len(), p_list.len()]
        .iter()
        .any(|&k| k != n)
    {
        return Err(value_error("A, b, c, cones and P lists differ in length"));
    }
    let backend: Backend = backend.parse().map_err(value_error)?;
    let mut problems = Vec::with_capacity(n);
    for i in 0..n {
        let item = |e: PyErr| value_error(format!("item {i}: {e}"));
        let a = csc(&a_list[i], "A").map_err(item)?;
        let p = match &p_list[i] {
            Some(raw) => Some(csc(raw, "P").map_err(item)?),
            None => None,
        };
        let problem = ConicProblem::new(
            p,
            a,
            b_list[i].as_array().to_owned(),
            c_list[i].as_array().to_owned(),
            cones(&cone_list[i]).map_err(item)?,
        )
        .map_err(|e| value_error(format!("item {i}: {e}")))?;
        problems.push(problem);
    }
    let options = BackendOptions {
        cold,
        high_accuracy,
    };
    let lpgd = match threads {
        Some(t) => Lpgd::new(1.0)
            .and_then(|l| l.with_threads(t))
            .map_err(value_error)?,
        None => Lpgd::new(1.0).map_err(value_error)?,
    };
    let solutions = py.detach(|| {
        lpgd.forward_batch(|| backend.oracle(options), &problems)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    });
    Ok(Session {
        problems,
        solutions,
        backend,
        options,
        threads,
    })
}

/// The backends built into this module.
#[pyfunction]
fn backends() -> Vec<String> {
    Backend::all().iter().map(Backend::to_string).collect()
}

/// The `lpgd._lpgd` extension module.
#[pymodule]
fn _lpgd(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(backends, m)?)?;
    m.add_class::<Session>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
