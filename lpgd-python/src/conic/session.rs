//! [`Session`]: a solved batch kept with its backend for the backward and forward-mode
//! passes, and [`WarmStarts`], a layer's answers kept as its next guesses.

use super::columns::{columns, stacked, take, Guesses, Items, Lists, Stack};
use super::Sizes;
use crate::config::LpgdConfig;
use crate::{failure, value_error, Failure};
use lpgd_core::ndarray::Array1;
use lpgd_core::{
    ConicCotangent, ConicGradient, ConicProblem, ConicSolution, Lpgd, LpgdError, SolveSettings,
};
use lpgd_solvers::{Backend, BackendOptions};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

/// A batch solved by one backend, kept for its backward and forward-mode passes. An item whose
/// data was refused or whose solve failed keeps its message; its arrays are NaN.
#[pyclass(module = "lpgd._lpgd")]
pub struct Session {
    problems: Vec<Option<ConicProblem>>,
    sizes: Vec<Sizes>,
    solutions: Vec<Result<ConicSolution, Failure>>,
    backend: Backend,
    options: BackendOptions,
    /// The forward pass's threads and acceptance of stopped answers, kept for the re-solves.
    settings: SolveSettings,
    /// Per item: whether its forward was answered from its guess (a warm forward).
    from_guess: Vec<bool>,
    /// Per item, how the last backward or forward-mode pass went (None before one, or where
    /// the item failed).
    passes: std::sync::Mutex<Vec<Option<lpgd_core::Report>>>,
}

/// A layer's last answers, kept as the guesses of its next call's warm forwards
/// ([`lpgd_core::WarmStarts`]): by key where the call names items by key, else by position.
#[pyclass(module = "lpgd._lpgd")]
#[derive(Default)]
pub struct WarmStarts {
    pub(super) inner: lpgd_core::WarmStarts<ConicSolution>,
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

impl Session {
    /// Solves the valid items of `problems` (the others keep their message) on `threads` workers
    /// with the GIL released; with `guesses` (one per item), each from its guess (a warm
    /// forward).
    pub(super) fn solve(
        py: Python<'_>,
        problems: Vec<Result<ConicProblem, String>>,
        sizes: Vec<Sizes>,
        (backend, options): (Backend, BackendOptions),
        threads: Option<usize>,
        guesses: Guesses<'_>,
    ) -> PyResult<Self> {
        // With limits set, a solve they stop answers its last iterate, flagged by its status.
        let mut settings = SolveSettings::new().with_accept_stopped(options.limits.any());
        if let Some(t) = threads {
            settings = settings.with_threads(t).map_err(value_error)?;
        }
        let valid: Vec<ConicProblem> = problems.iter().flatten().cloned().collect();
        // No guesses: every forward from scratch (`forward_from` with no guess is `forward`).
        let guesses: Vec<Option<&ConicSolution>> = match guesses {
            Some(all) => {
                if all.len() != problems.len() {
                    return Err(value_error(format!(
                        "{} warm starts for {} problems",
                        all.len(),
                        problems.len()
                    )));
                }
                problems
                    .iter()
                    .zip(all)
                    .filter(|(p, _)| p.is_ok())
                    .map(|(_, g)| g)
                    .collect()
            }
            None => vec![None; valid.len()],
        };
        let solved = py
            .detach(|| settings.forward_batch_from(|| backend.oracle(options), &valid, &guesses))
            .map_err(value_error)?;
        let mut solved = solved.into_iter();
        let mut from_guess = Vec::with_capacity(problems.len());
        let solutions: Vec<Result<ConicSolution, Failure>> = problems
            .iter()
            .map(|p| match p {
                Ok(_) => {
                    let answer = solved
                        .next()
                        .unwrap_or(Err(LpgdError::Forward(lpgd_core::SolveError::Numerical)));
                    from_guess.push(answer.as_ref().is_ok_and(|f| f.from_guess));
                    answer.map(|f| f.solution).map_err(failure)
                }
                Err(e) => {
                    from_guess.push(false);
                    Err(("invalid_input", e.clone()))
                }
            })
            .collect();
        Ok(Self {
            problems: problems.into_iter().map(Result::ok).collect(),
            sizes,
            solutions,
            backend,
            options,
            settings,
            from_guess,
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
    pub(super) fn answers(&self) -> Vec<Option<ConicSolution>> {
        self.solutions
            .iter()
            .map(|z| z.as_ref().ok().cloned())
            .collect()
    }

    /// `config` with the forward pass's settings: its threads unless `config` names some, and
    /// re-solves run under the forward's limits (their stopped points are as acceptable).
    fn lpgd(&self, config: &LpgdConfig) -> PyResult<Lpgd> {
        let lpgd = config.lpgd();
        let settings = match lpgd.settings().threads() {
            Some(t) => self.settings.with_threads(t).map_err(value_error)?,
            None => self.settings,
        };
        Ok(lpgd.with_settings(settings))
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
    ) -> Vec<Result<T, Failure>> {
        let mut out: Vec<Result<T, Failure>> = self
            .solutions
            .iter()
            .map(|z| Err(z.as_ref().err().cloned().unwrap_or_default()))
            .collect();
        for (k, r) in idx.into_iter().zip(results) {
            out[k] = r.map_err(failure);
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
    ) -> (Lists<'py>, Vec<Option<Failure>>) {
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

#[pymethods]
impl Session {
    /// The number of items.
    fn __len__(&self) -> usize {
        self.problems.len()
    }

    /// Primal solutions (NaN for failed items) and the failures' messages (None where solved).
    fn primal<'py>(&self, py: Python<'py>) -> (Lists<'py>, Vec<Option<Failure>>) {
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
    ) -> PyResult<(Stack<'py>, Stack<'py>, Stack<'py>, Vec<Option<Failure>>)> {
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
                    status.push(z.as_ref().err().map_or("failed", |f| f.0));
                    primal.push(f64::NAN);
                    dual.push(f64::NAN);
                    gap.push(f64::NAN);
                }
            }
        }
        let errors: Vec<Option<&str>> = self
            .solutions
            .iter()
            .map(|z| z.as_ref().err().map(|f| f.1.as_str()))
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
                .map(|r| r.as_ref().map(|r| r.side().name()))
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
    #[pyo3(signature = (dxs, dys, dss, config))]
    fn backward<'py>(
        &self,
        py: Python<'py>,
        dxs: Vec<PyReadonlyArray1<'py, f64>>,
        dys: Vec<PyReadonlyArray1<'py, f64>>,
        dss: Vec<PyReadonlyArray1<'py, f64>>,
        config: PyRef<'py, LpgdConfig>,
    ) -> PyResult<(
        Lists<'py>,
        Lists<'py>,
        Lists<'py>,
        Lists<'py>,
        Vec<Option<Failure>>,
    )> {
        self.check_counts("gradients", [dxs.len(), dys.len(), dss.len()])?;
        let lpgd = self.lpgd(&config)?;
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
    #[pyo3(signature = (dx, dy, ds, config))]
    fn backward_stacked<'py>(
        &self,
        py: Python<'py>,
        dx: PyReadonlyArray2<'py, f64>,
        dy: PyReadonlyArray2<'py, f64>,
        ds: PyReadonlyArray2<'py, f64>,
        config: PyRef<'py, LpgdConfig>,
    ) -> PyResult<(
        Stack<'py>,
        Stack<'py>,
        Stack<'py>,
        Stack<'py>,
        Vec<Option<Failure>>,
    )> {
        let s = self.common()?;
        self.check_rows("dx", &dx, s.n)?;
        self.check_rows("dy", &dy, s.m)?;
        self.check_rows("ds", &ds, s.m)?;
        let lpgd = self.lpgd(&config)?;
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
    #[pyo3(signature = (das, dbs, dcs, config))]
    fn jvp<'py>(
        &self,
        py: Python<'py>,
        das: Vec<PyReadonlyArray1<'py, f64>>,
        dbs: Vec<PyReadonlyArray1<'py, f64>>,
        dcs: Vec<PyReadonlyArray1<'py, f64>>,
        config: PyRef<'py, LpgdConfig>,
    ) -> PyResult<(Lists<'py>, Lists<'py>, Lists<'py>, Vec<Option<Failure>>)> {
        self.check_counts("directions", [das.len(), dbs.len(), dcs.len()])?;
        let lpgd = self.lpgd(&config)?;
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
