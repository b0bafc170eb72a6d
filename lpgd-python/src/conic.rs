//! Conic programs: batches given item by item (diffcp's lists, [`solve`]) or as one fixed
//! structure with stacked values (the torch layer, [`ConicStructure::solve`]), solved into a
//! [`Session`] that is kept for the backward and forward-mode passes.

use crate::value_error;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{
    Cone, ConicCotangent, ConicGradient, ConicProblem, ConicSolution, ConicValues, CscMatrix,
    Fallback, Lpgd, LpgdError, Side,
};
use lpgd_solvers::{Backend, BackendOptions, SolverLimits};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

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

/// The LPGD configuration the Python layers pass as plain values.
pub(crate) fn lpgd_config(tau: f64, rho: f64, side: &str, fallback: &str) -> PyResult<Lpgd> {
    let fallback = match fallback {
        "none" => Fallback::Fail,
        "other_side" => Fallback::OtherSide,
        "shrink_tau" => Fallback::ShrinkTau {
            factor: 0.5,
            retries: 4,
        },
        other => return Err(value_error(format!("unknown fallback '{other}'"))),
    };
    let side = side_of(side).map_err(value_error)?;
    Lpgd::new(tau)
        .and_then(|l| l.with_rho(rho))
        .and_then(|l| l.with_fallback(fallback))
        .map(|l| l.with_side(side))
        .map_err(value_error)
}

/// A side by its Python name (`right`, `left`, `centered`/`centred`).
pub(crate) fn side_of(side: &str) -> Result<Side, lpgd_core::InvalidInput> {
    match side {
        "right" => Ok(Side::Right),
        "left" => Ok(Side::Left),
        "centered" | "centred" => Ok(Side::Centered),
        _ => Err(lpgd_core::InvalidInput::Value {
            field: "side",
            index: 0,
            reason: "must be 'right', 'left' or 'centered'",
        }),
    }
}

/// `config` on `threads` workers (None: rayon's pool, all cores).
pub(crate) fn with_threads(config: Lpgd, threads: Option<usize>) -> PyResult<Lpgd> {
    match threads {
        Some(t) => config.with_threads(t).map_err(value_error),
        None => Ok(config),
    }
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

/// A batch solved by one backend, kept for its backward and forward-mode passes. An item whose
/// data was refused or whose solve failed keeps its message; its arrays are NaN.
#[pyclass(module = "lpgd._lpgd")]
pub struct Session {
    problems: Vec<Option<ConicProblem>>,
    sizes: Vec<Sizes>,
    solutions: Vec<Result<ConicSolution, String>>,
    backend: Backend,
    options: BackendOptions,
    threads: Option<usize>,
    /// Per item: whether its forward was answered from its guess (a warm forward).
    from_guess: Vec<bool>,
    /// Per item: the kind of its failure (`infeasible`, `unbounded`, `invalid_input`, …).
    kinds: Vec<Option<&'static str>>,
    /// Per item, how the last backward or forward-mode pass went (None before one, or where
    /// the item failed).
    passes: std::sync::Mutex<Vec<Option<lpgd_core::Report>>>,
}

/// A layer's last answers, kept as the guesses of its next call's warm forwards
/// ([`lpgd_core::WarmStarts`]): by key where the call names items by key, else by position.
#[pyclass(module = "lpgd._lpgd")]
#[derive(Default)]
pub struct WarmStarts {
    inner: lpgd_core::WarmStarts<ConicSolution>,
}

#[pymethods]
impl WarmStarts {
    /// An empty store.
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Forgets every kept answer.
    fn clear(&mut self) {
        self.inner.clear();
    }

    /// How many answers are kept (by position and by key).
    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// The guesses of a batch's warm forwards, one per item (None: none), or no warm forward.
type Guesses<'a> = Option<Vec<Option<&'a ConicSolution>>>;

/// One array per item.
type Lists<'py> = Vec<Bound<'py, PyArray1<f64>>>;

/// The `K` columns of a per-item result, by value.
fn take<T, const K: usize>(cols: Vec<T>) -> PyResult<[T; K]> {
    let found = cols.len();
    cols.try_into()
        .map_err(|_| value_error(format!("expected {K} result columns, got {found}")))
}
/// One `B × len` array for the batch.
type Stack<'py> = Bound<'py, PyArray2<f64>>;

/// Per item: its arrays, or its failure's message.
type Items = Vec<Result<Vec<Array1<f64>>, String>>;

impl Session {
    /// Solves the valid items of `problems` (the others keep their message) on `threads` workers
    /// with the GIL released; with `guesses` (one per item), each from its guess (a warm
    /// forward).
    fn solve(
        py: Python<'_>,
        problems: Vec<Result<ConicProblem, String>>,
        sizes: Vec<Sizes>,
        (backend, options): (Backend, BackendOptions),
        threads: Option<usize>,
        guesses: Guesses<'_>,
    ) -> PyResult<Self> {
        // With limits set, a solve they stop answers its last iterate, flagged by its status.
        let lpgd = with_threads(Lpgd::new(1.0).map_err(value_error)?, threads)?
            .with_accept_stopped(options.limits.any());
        let valid: Vec<ConicProblem> = problems.iter().flatten().cloned().collect();
        let solved = match guesses {
            Some(all) => {
                if all.len() != problems.len() {
                    return Err(value_error(format!(
                        "{} warm starts for {} problems",
                        all.len(),
                        problems.len()
                    )));
                }
                let guesses: Vec<Option<&ConicSolution>> = problems
                    .iter()
                    .zip(all)
                    .filter(|(p, _)| p.is_ok())
                    .map(|(_, g)| g)
                    .collect();
                py.detach(|| lpgd.forward_batch_from(|| backend.oracle(options), &valid, &guesses))
                    .map_err(value_error)?
            }
            None => py
                .detach(|| lpgd.forward_batch(|| backend.oracle(options), &valid))
                .into_iter()
                .map(|z| {
                    z.map(|solution| lpgd_core::Forward {
                        solution,
                        from_guess: false,
                    })
                })
                .collect(),
        };
        let mut solved = solved.into_iter();
        let mut from_guess = Vec::with_capacity(problems.len());
        let mut kinds = Vec::with_capacity(problems.len());
        let solutions: Vec<Result<ConicSolution, String>> = problems
            .iter()
            .map(|p| match p {
                Ok(_) => {
                    let answer = solved
                        .next()
                        .unwrap_or(Err(LpgdError::Forward(lpgd_core::SolveError::Numerical)));
                    from_guess.push(answer.as_ref().is_ok_and(|f| f.from_guess));
                    kinds.push(answer.as_ref().err().map(LpgdError::kind));
                    answer.map(|f| f.solution).map_err(|e| e.to_string())
                }
                Err(e) => {
                    from_guess.push(false);
                    kinds.push(Some("invalid_input"));
                    Err(e.clone())
                }
            })
            .collect();
        Ok(Self {
            problems: problems.into_iter().map(Result::ok).collect(),
            sizes,
            solutions,
            backend,
            options,
            threads,
            from_guess,
            kinds,
            passes: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Keeps the reports of a pass over the solved items `idx` (None where the pass failed).
    fn keep_reports<'r>(
        &self,
        idx: &[usize],
        reports: impl Iterator<Item = Option<&'r lpgd_core::Report>>,
    ) {
        let mut passes = vec![None; self.solutions.len()];
        for (&i, r) in idx.iter().zip(reports) {
            passes[i] = r.cloned();
        }
        *self.passes.lock().unwrap_or_else(|p| p.into_inner()) = passes;
    }

    /// Every item's forward solution (None where it failed), to keep as guesses.
    fn answers(&self) -> Vec<Option<ConicSolution>> {
        self.solutions
            .iter()
            .map(|z| z.as_ref().ok().cloned())
            .collect()
    }

    /// The configuration on `threads` workers (None: the forward pass's setting).
    fn lpgd(&self, base: Lpgd, threads: Option<usize>) -> PyResult<Lpgd> {
        // Re-solves run under the forward's limits: their stopped points are as acceptable.
        let base = base.with_accept_stopped(self.options.limits.any());
        with_threads(base, threads.or(self.threads))
    }

    /// The items whose forward solve succeeded, with their problems and solutions.
    fn solved(&self) -> (Vec<usize>, Vec<ConicProblem>, Vec<ConicSolution>) {
        let mut idx = Vec::new();
        let mut problems = Vec::new();
        let mut sols = Vec::new();
        for (i, (p, z)) in self.problems.iter().zip(&self.solutions).enumerate() {
            if let (Some(p), Ok(z)) = (p, z) {
                idx.push(i);
                problems.push(p.clone());
                sols.push(z.clone());
            }
        }
        (idx, problems, sols)
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

    /// One array per item from its forward solution.
    fn forward_items(&self) -> Items {
        self.solutions
            .iter()
            .map(|z| {
                z.as_ref()
                    .map(|z| vec![z.x.clone(), z.y.clone(), z.s.clone()])
                    .map_err(Clone::clone)
            })
            .collect()
    }

    /// One array of the forward solution per item (`pick`), NaN of the item's `len` where it
    /// failed, and the failures' messages.
    fn forward_column<'py>(
        &self,
        py: Python<'py>,
        pick: fn(&ConicSolution) -> &Array1<f64>,
        len: fn(Sizes) -> usize,
    ) -> (Lists<'py>, Vec<Option<String>>) {
        let items = self
            .solutions
            .iter()
            .map(|z| {
                z.as_ref()
                    .map(|z| vec![pick(z).clone()])
                    .map_err(Clone::clone)
            })
            .collect();
        let (cols, errors) = columns(py, items, |i| vec![len(self.sizes[i])]);
        (cols.into_iter().next().unwrap_or_default(), errors)
    }

    /// The backward pass on every solved item; per item (dA values, db, dc, dP values).
    fn backward_items(
        &self,
        py: Python<'_>,
        lpgd: &Lpgd,
        cotangent: impl Fn(usize) -> ConicCotangent,
    ) -> PyResult<Items> {
        let (idx, problems, sols) = self.solved();
        let cotangents: Vec<ConicCotangent> = idx.iter().map(|&i| cotangent(i)).collect();
        let (backend, options) = (self.backend, self.options);
        let results = py
            .detach(|| {
                lpgd.backward_batch(|| backend.oracle(options), &problems, &sols, &cotangents)
            })
            .map_err(value_error)?;
        self.keep_reports(
            &idx,
            results.iter().map(|r| r.as_ref().ok().map(|b| &b.report)),
        );
        Ok(self
            .scatter(idx, results)
            .into_iter()
            .map(|g| {
                g.map(|b| {
                    let g = b.gradient;
                    vec![g.da, g.db, g.dc, g.dp.unwrap_or_else(|| Array1::zeros(0))]
                })
            })
            .collect())
    }

    /// Forward mode on every solved item; per item (dx, dy, ds).
    fn jvp_items(
        &self,
        py: Python<'_>,
        lpgd: &Lpgd,
        tangent: impl Fn(usize) -> ConicGradient,
    ) -> PyResult<Items> {
        let (idx, problems, sols) = self.solved();
        let tangents: Vec<ConicGradient> = idx.iter().map(|&i| tangent(i)).collect();
        let (backend, options) = (self.backend, self.options);
        let results = py
            .detach(|| lpgd.jvp_batch(|| backend.oracle(options), &problems, &sols, &tangents))
            .map_err(value_error)?;
        self.keep_reports(
            &idx,
            results.iter().map(|r| r.as_ref().ok().map(|j| &j.report)),
        );
        Ok(self
            .scatter(idx, results)
            .into_iter()
            .map(|t| {
                t.map(|j| {
                    let t = j.tangent;
                    vec![t.dx, t.dy, t.ds]
                })
            })
            .collect())
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

    /// Checks that a stacked array has one row per item and `cols` columns.
    fn check_rows(&self, what: &str, a: &PyReadonlyArray2<'_, f64>, cols: usize) -> PyResult<()> {
        let (rows, found) = a.as_array().dim();
        if rows == self.problems.len() && found == cols {
            Ok(())
        } else {
            Err(value_error(format!(
                "{what}: expected shape ({}, {cols}), got ({rows}, {found})",
                self.problems.len()
            )))
        }
    }

    /// The common size of the items (stacked arrays need one).
    fn common(&self) -> PyResult<Sizes> {
        let first = self
            .sizes
            .first()
            .copied()
            .ok_or_else(|| value_error("an empty batch"))?;
        let same = self
            .sizes
            .iter()
            .all(|s| (s.n, s.m, s.a_nnz, s.p_nnz) == (first.n, first.m, first.a_nnz, first.p_nnz));
        if same {
            Ok(first)
        } else {
            Err(value_error("stacked arrays need items of one structure"))
        }
    }
}

/// Splits per-item results into one list of arrays per column (NaN arrays of the item's lengths
/// where it failed) and the failures' messages.
fn columns<'py>(
    py: Python<'py>,
    items: Items,
    lens: impl Fn(usize) -> Vec<usize>,
) -> (Vec<Lists<'py>>, Vec<Option<String>>) {
    let k = lens(0).len();
    let mut cols: Vec<Vec<Bound<'py, PyArray1<f64>>>> = (0..k).map(|_| Vec::new()).collect();
    let mut errors = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(arrays) => {
                for (col, a) in cols.iter_mut().zip(arrays) {
                    col.push(PyArray1::from_owned_array(py, a));
                }
                errors.push(None);
            }
            Err(e) => {
                for (col, len) in cols.iter_mut().zip(lens(i)) {
                    col.push(PyArray1::from_owned_array(
                        py,
                        Array1::from_elem(len, f64::NAN),
                    ));
                }
                errors.push(Some(e));
            }
        }
    }
    (cols, errors)
}

/// Stacks per-item results into one `B × len` array per column (NaN rows where an item failed)
/// and the failures' messages.
fn stacked<'py>(
    py: Python<'py>,
    items: Items,
    lens: &[usize],
) -> (Vec<Bound<'py, PyArray2<f64>>>, Vec<Option<String>>) {
    let b = items.len();
    let mut cols: Vec<Array2<f64>> = lens
        .iter()
        .map(|&l| Array2::from_elem((b, l), f64::NAN))
        .collect();
    let mut errors = Vec::with_capacity(b);
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(arrays) => {
                for (col, a) in cols.iter_mut().zip(arrays) {
                    col.row_mut(i).assign(&a);
                }
                errors.push(None);
            }
            Err(e) => errors.push(Some(e)),
        }
    }
    let cols = cols
        .into_iter()
        .map(|c| PyArray2::from_owned_array(py, c))
        .collect();
    (cols, errors)
}

#[pymethods]
impl Session {
    /// The number of items.
    fn __len__(&self) -> usize {
        self.problems.len()
    }

    /// Primal solutions (NaN for failed items) and the failures' messages (None where solved).
    fn primal<'py>(&self, py: Python<'py>) -> (Lists<'py>, Vec<Option<String>>) {
        self.forward_column(py, |z| &z.x, |s| s.n)
    }

    /// Dual solutions y (NaN for failed items).
    fn dual<'py>(&self, py: Python<'py>) -> Lists<'py> {
        self.forward_column(py, |z| &z.y, |s| s.m).0
    }

    /// Slacks s (NaN for failed items).
    fn slack<'py>(&self, py: Python<'py>) -> Lists<'py> {
        self.forward_column(py, |z| &z.s, |s| s.m).0
    }

    /// x, y and s of every item stacked as `B × n`, `B × m`, `B × m` arrays (NaN rows for failed
    /// items), and the failures' messages. Needs items of one structure.
    fn stacked<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Stack<'py>, Stack<'py>, Stack<'py>, Vec<Option<String>>)> {
        let s = self.common()?;
        let (cols, errors) = stacked(py, self.forward_items(), &[s.n, s.m, s.m]);
        let [x, y, sl] = take(cols)?;
        Ok((x, y, sl, errors))
    }

    /// Per item: whether its forward was answered from its guess (certified on the guess's
    /// face; warm forwards need a `+face` backend), else solved from scratch.
    fn warm(&self) -> Vec<bool> {
        self.from_guess.clone()
    }

    /// The share of the items answered from their guess (NaN for an empty batch).
    fn warm_share(&self) -> f64 {
        let warm = self.from_guess.iter().filter(|&&w| w).count();
        warm as f64 / self.from_guess.len() as f64
    }

    /// How good each item's forward answer is, as columns (one entry per item): `status`
    /// (`"solved"`, `"almost_solved"`, or the failure's kind: `"infeasible"`, `"unbounded"`,
    /// `"max_iterations"`, `"numerical"`, `"invalid_input"`, …), `iterations`, the verification's
    /// relative `primal_residual`, `dual_residual` and `gap` (`ConicProblem::residuals`; NaN where
    /// the item failed), `warm` (answered from its guess) and `error` (the message, None where
    /// solved); after a backward or forward-mode pass also `certified` (every re-solve certified
    /// exactly on a face), `resolves`, `fell_back` (a fallback recovered from a failed re-solve)
    /// and `side` (the side the result corresponds to), None where the pass did not run.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let b = self.solutions.len();
        let mut status = Vec::with_capacity(b);
        let (mut primal, mut dual, mut gap) = (
            Vec::with_capacity(b),
            Vec::with_capacity(b),
            Vec::with_capacity(b),
        );
        for (i, z) in self.solutions.iter().enumerate() {
            match (z, &self.problems[i]) {
                (Ok(z), Some(p)) => {
                    status.push(z.status.label());
                    let r = p.residuals(z);
                    primal.push(r.primal);
                    dual.push(r.dual);
                    gap.push(r.gap);
                }
                _ => {
                    status.push(self.kinds[i].unwrap_or("failed"));
                    primal.push(f64::NAN);
                    dual.push(f64::NAN);
                    gap.push(f64::NAN);
                }
            }
        }
        let errors: Vec<Option<String>> = self
            .solutions
            .iter()
            .map(|z| z.as_ref().err().cloned())
            .collect();
        let out = pyo3::types::PyDict::new(py);
        out.set_item("status", status)?;
        out.set_item("iterations", self.iterations())?;
        out.set_item("primal_residual", PyArray1::from_vec(py, primal))?;
        out.set_item("dual_residual", PyArray1::from_vec(py, dual))?;
        out.set_item("gap", PyArray1::from_vec(py, gap))?;
        out.set_item("warm", self.from_guess.clone())?;
        out.set_item("error", errors)?;
        // After a backward (or forward-mode) pass: per item, whether every re-solve was
        // certified exactly on a face, how many re-solves ran, whether a fallback recovered
        // from a failed one, and the side the result corresponds to (None where none ran).
        let passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        if !passes.is_empty() {
            let certified: Vec<Option<bool>> = passes
                .iter()
                .map(|r| {
                    r.as_ref()
                        .map(|r| r.certified == r.solves() - r.recovered.len())
                })
                .collect();
            let resolves: Vec<Option<usize>> = passes
                .iter()
                .map(|r| r.as_ref().map(|r| r.solves()))
                .collect();
            let fell_back: Vec<Option<bool>> = passes
                .iter()
                .map(|r| r.as_ref().map(|r| r.fell_back()))
                .collect();
            let side: Vec<Option<&str>> = passes
                .iter()
                .map(|r| {
                    r.as_ref().map(|r| match r.side() {
                        Side::Right => "right",
                        Side::Left => "left",
                        Side::Centered => "centered",
                    })
                })
                .collect();
            out.set_item("certified", certified)?;
            out.set_item("resolves", resolves)?;
            out.set_item("fell_back", fell_back)?;
            out.set_item("side", side)?;
        }
        Ok(out)
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
        Lists<'py>,
        Lists<'py>,
        Lists<'py>,
        Lists<'py>,
        Vec<Option<String>>,
    )> {
        self.check_counts("gradients", [dxs.len(), dys.len(), dss.len()])?;
        let lpgd = self.lpgd(lpgd_config(tau, rho, side, fallback)?, threads)?;
        let items = self.backward_items(py, &lpgd, |i| ConicCotangent {
            dx: dxs[i].as_array().to_owned(),
            dy: dys[i].as_array().to_owned(),
            ds: dss[i].as_array().to_owned(),
        })?;
        let (cols, errors) = columns(py, items, |i| {
            let s = self.sizes[i];
            vec![s.a_nnz, s.m, s.n, s.p_nnz]
        });
        let [da, db, dc, dp] = take(cols)?;
        Ok((da, db, dc, dp, errors))
    }

    /// The backward pass on stacked cotangents (`B × n`, `B × m`, `B × m`): stacked gradients
    /// (`B × nnz(A)`, `B × m`, `B × n`, `B × nnz(P)`), NaN rows for failed items, and the messages.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    #[pyo3(signature = (dx, dy, ds, tau, rho, side, fallback, threads=None))]
    fn backward_stacked<'py>(
        &self,
        py: Python<'py>,
        dx: PyReadonlyArray2<'py, f64>,
        dy: PyReadonlyArray2<'py, f64>,
        ds: PyReadonlyArray2<'py, f64>,
        tau: f64,
        rho: f64,
        side: &str,
        fallback: &str,
        threads: Option<usize>,
    ) -> PyResult<(
        Stack<'py>,
        Stack<'py>,
        Stack<'py>,
        Stack<'py>,
        Vec<Option<String>>,
    )> {
        let s = self.common()?;
        self.check_rows("dx", &dx, s.n)?;
        self.check_rows("dy", &dy, s.m)?;
        self.check_rows("ds", &ds, s.m)?;
        let lpgd = self.lpgd(lpgd_config(tau, rho, side, fallback)?, threads)?;
        let (dx, dy, ds) = (dx.as_array(), dy.as_array(), ds.as_array());
        let items = self.backward_items(py, &lpgd, |i| ConicCotangent {
            dx: dx.row(i).to_owned(),
            dy: dy.row(i).to_owned(),
            ds: ds.row(i).to_owned(),
        })?;
        let (cols, errors) = stacked(py, items, &[s.a_nnz, s.m, s.n, s.p_nnz]);
        let [da, db, dc, dp] = take(cols)?;
        Ok((da, db, dc, dp, errors))
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
    ) -> PyResult<(Lists<'py>, Lists<'py>, Lists<'py>, Vec<Option<String>>)> {
        self.check_counts("directions", [das.len(), dbs.len(), dcs.len()])?;
        let lpgd = self.lpgd(lpgd_config(tau, rho, side, fallback)?, threads)?;
        let items = self.jvp_items(py, &lpgd, |i| ConicGradient {
            dp: self.problems[i]
                .as_ref()
                .and_then(ConicProblem::p)
                .map(|p| Array1::zeros(p.nnz())),
            da: das[i].as_array().to_owned(),
            db: dbs[i].as_array().to_owned(),
            dc: dcs[i].as_array().to_owned(),
        })?;
        let (cols, errors) = columns(py, items, |i| {
            let s = self.sizes[i];
            vec![s.n, s.m, s.m]
        });
        let [dx, dy, ds] = take(cols)?;
        Ok((dx, dy, ds, errors))
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
        let inner = lpgd_core::ConicStructure::new(m, n, a_indptr, a_rows, p, self::cones(&cones)?)
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
