//! [`ConicStructure`]: the fixed part of a batch of conic layers, validated once.

use super::{backend_options, indices, Session, Sizes, WarmStarts};
use crate::value_error;
use lpgd_core::ConicValues;
use lpgd_solvers::SolverLimits;
use numpy::PyReadonlyArray1;
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;

/// The fixed part of a batch of conic layers: the sizes, the sparsity of A (and of P's upper
/// triangle) and the cones — [`lpgd_core::ConicStructure`], validated once. Each call gives the
/// values: stacked A values, b, c (and P values).
#[pyclass(module = "lpgd._lpgd", frozen)]
pub struct ConicStructure {
    inner: lpgd_core::ConicStructure,
}

fn pattern(
    indptr: &PyReadonlyArray1<'_, i64>,
    rows: &PyReadonlyArray1<'_, i64>,
    what: &str,
) -> PyResult<(Vec<usize>, Vec<usize>)> {
    Ok((indices(indptr, what)?, indices(rows, what)?))
}

#[pymethods]
impl ConicStructure {
    /// Checks the structure: the patterns (sorted, in bounds, P upper triangular) and the cones.
    #[new]
    #[pyo3(signature = (m, n, a_indptr, a_indices, cones, p_indptr=None, p_indices=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        m: usize,
        n: usize,
        a_indptr: PyReadonlyArray1<'_, i64>,
        a_indices: PyReadonlyArray1<'_, i64>,
        cones: Vec<(String, f64)>,
        p_indptr: Option<PyReadonlyArray1<'_, i64>>,
        p_indices: Option<PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<Self> {
        let p = match (p_indptr, p_indices) {
            (Some(ptr), Some(rows)) => Some(pattern(&ptr, &rows, "P")?),
            (None, None) => None,
            _ => return Err(value_error("P needs both its indptr and its indices")),
        };
        let (a_indptr, a_rows) = pattern(&a_indptr, &a_indices, "A")?;
        let inner =
            lpgd_core::ConicStructure::new(m, n, a_indptr, a_rows, p, super::cones(&cones)?)
                .map_err(value_error)?;
        Ok(Self { inner })
    }

    /// Rows of A (m).
    #[getter]
    fn m(&self) -> usize {
        self.inner.m()
    }

    /// Columns of A (n).
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// Stored entries of A.
    #[getter]
    fn a_nnz(&self) -> usize {
        self.inner.a_nnz()
    }

    /// Stored entries of P's upper triangle (0 without P).
    #[getter]
    fn p_nnz(&self) -> usize {
        self.inner.p_nnz()
    }

    /// Solves one problem per row of the stacked values (`B × nnz(A)`, `B × m`, `B × n`, and
    /// `B × nnz(P)` when the structure has P) on `backend` with `threads` workers, the GIL
    /// released. Wrong shapes are a `ValueError` naming the block; an item whose values are
    /// refused (NaN, a P that is not positive semidefinite, …) or whose solve fails is recorded
    /// in the session alone. With `warm` (a [`WarmStarts`]), each item starts from its guess —
    /// its own last answer by `keys` (one integer per item, e.g. dataset indices) where known,
    /// else the last answer at its position — and the answers are kept for the next call.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (a_values, b, c, p_values, backend, cold, high_accuracy, threads, warm=None, keys=None, max_iter=None, time_limit=None))]
    fn solve(
        &self,
        py: Python<'_>,
        a_values: PyReadonlyArray2<'_, f64>,
        b: PyReadonlyArray2<'_, f64>,
        c: PyReadonlyArray2<'_, f64>,
        p_values: Option<PyReadonlyArray2<'_, f64>>,
        backend: &str,
        cold: bool,
        high_accuracy: bool,
        threads: Option<usize>,
        mut warm: Option<PyRefMut<'_, WarmStarts>>,
        keys: Option<Vec<u64>>,
        max_iter: Option<u32>,
        time_limit: Option<f64>,
    ) -> PyResult<Session> {
        if keys.is_some() && warm.is_none() {
            return Err(value_error(
                "keys name the items of warm forwards: give warm too",
            ));
        }
        let limits = SolverLimits {
            max_iter,
            time_limit,
        };
        let (backend, options) = backend_options(backend, cold, high_accuracy, limits)?;
        let values = ConicValues {
            a: a_values.as_array(),
            p: p_values.as_ref().map(|p| p.as_array()),
            b: b.as_array(),
            c: c.as_array(),
        };
        let problems: Vec<_> = self
            .inner
            .problems(values)
            .map_err(value_error)?
            .into_iter()
            .map(|p| p.map_err(|e| e.to_string()))
            .collect();
        let sizes = vec![
            Sizes {
                n: self.inner.n(),
                m: self.inner.m(),
                a_nnz: self.inner.a_nnz(),
                p_nnz: self.inner.p_nnz(),
            };
            problems.len()
        ];
        let guesses = match &warm {
            Some(store) => Some(
                store
                    .inner
                    .guesses(problems.len(), keys.as_deref())
                    .map_err(value_error)?,
            ),
            None => None,
        };
        let session = Session::solve(py, problems, sizes, (backend, options), threads, guesses)?;
        if let Some(store) = warm.as_mut() {
            store
                .inner
                .remember(session.answers(), keys.as_deref())
                .map_err(value_error)?;
        }
        Ok(session)
    }
}
