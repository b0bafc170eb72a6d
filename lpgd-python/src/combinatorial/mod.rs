//! Combinatorial layers: the oracles of lpgd-combinatorial (or a Python callable) over stacked
//! costs, with LPGD and the other gradient rules computed by the Rust functions themselves, so a
//! layer's numbers are the Rust core's bit for bit.

use crate::config::LpgdConfig;
use crate::data::PyRandomState;
use crate::{failure, value_error, Failure};
use lpgd_combinatorial::assignment::Assignment;
use lpgd_combinatorial::ranking::{Ranking, TopK};
use lpgd_combinatorial::rules::{dpo_backward, pfyl, spo_plus, Perturbation, PerturbedSolutions};
use lpgd_combinatorial::train::{train, Dataset, Rule, TrainConfig};
use lpgd_combinatorial::tsp::Tsp;
use lpgd_combinatorial::warcraft::VertexGridShortestPath;
use lpgd_combinatorial::{GridShortestPath, Knapsack};
use lpgd_core::ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use lpgd_core::{checked_solve, map_batch, CombinatorialProblem, Lpgd, Oracle, SolveError};
use numpy::{PyArray1, PyArray2, PyArray3, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

mod oracles;

use oracles::Kind;

/// A combinatorial oracle `y(w) = argmin_{y ∈ X} ⟨w, y⟩` over cost vectors of a fixed length,
/// with batched solves and gradient rules. Build it with one of the static constructors.
#[pyclass(module = "lpgd._lpgd", frozen)]
pub struct CombinatorialOracle {
    kind: Kind,
    dim: usize,
    name: String,
}

/// Stacked per-item rows (NaN where an item failed) and the failures' messages.
type Stacked<'py> = (Bound<'py, PyArray2<f64>>, Vec<Option<Failure>>);

/// Per item: a result or its failure's message.
type PerItem<T> = Vec<Result<T, Failure>>;

impl CombinatorialOracle {
    fn new(kind: Kind, dim: usize, name: String) -> PyResult<Self> {
        lpgd_core::limits::check_dimension("cost length", dim).map_err(value_error)?;
        Ok(Self { kind, dim, name })
    }

    /// The worker count: a Python callable is called from one thread (it holds the GIL anyway,
    /// and a stateful callable then sees the items in order).
    fn threads(&self, threads: Option<usize>) -> Option<usize> {
        match self.kind {
            Kind::Python(_) => Some(1),
            _ => threads,
        }
    }

    /// Checks that `a` is `B × dim` (with `rows` rows when given).
    fn check(&self, what: &str, a: &ArrayView2<'_, f64>, rows: Option<usize>) -> PyResult<()> {
        let (r, c) = a.dim();
        if c != self.dim || rows.is_some_and(|b| b != r) {
            return Err(value_error(format!(
                "{what}: expected shape ({}, {}), got ({r}, {c})",
                rows.map_or("B".to_string(), |b| b.to_string()),
                self.dim
            )));
        }
        Ok(())
    }

    /// Runs `f` on every item with a per-worker oracle, on `threads` workers (the core's batch
    /// mechanism: one worker on the calling thread, kept pools otherwise), the GIL released.
    fn map<T: Send>(
        &self,
        py: Python<'_>,
        threads: Option<usize>,
        items: usize,
        f: impl Fn(&mut Box<dyn Oracle<CombinatorialProblem> + Send>, usize) -> Result<T, Failure>
            + Sync
            + Send,
    ) -> PerItem<T> {
        let threads = self.threads(threads);
        py.detach(|| map_batch(threads, || self.kind.oracle(), (0..items).collect(), f))
    }
}

/// Stacks per-item rows into a `B × d` array (NaN rows where an item failed) and the messages.
fn stack(items: PerItem<Array1<f64>>, d: usize) -> (Array2<f64>, Vec<Option<Failure>>) {
    let mut out = Array2::from_elem((items.len(), d), f64::NAN);
    let mut errors = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(row) if row.len() == d => {
                out.row_mut(i).assign(&row);
                errors.push(None);
            }
            Ok(row) => errors.push(Some((
                "malformed_answer",
                format!("expected {d} entries, got {}", row.len()),
            ))),
            Err(e) => errors.push(Some(e)),
        }
    }
    (out, errors)
}

fn row(a: &ArrayView2<'_, f64>, i: usize) -> Array1<f64> {
    a.row(i).to_owned()
}

fn perturbation(samples: usize, sigma: f64) -> PyResult<Perturbation> {
    let p = Perturbation { samples, sigma };
    p.check().map_err(value_error)?;
    Ok(p)
}

/// The samples of item `i` from stacked `B × M × d` noise and solutions.
fn samples_of(noise: &Array3<f64>, solutions: &Array3<f64>, i: usize) -> PerturbedSolutions {
    let rows = |a: &Array3<f64>| {
        a.index_axis(Axis(0), i)
            .rows()
            .into_iter()
            .map(|r| r.to_owned())
            .collect()
    };
    PerturbedSolutions {
        noise: rows(noise),
        solutions: rows(solutions),
    }
}

fn check_samples(
    noise: &Array3<f64>,
    solutions: &Array3<f64>,
    other: (usize, usize),
) -> PyResult<()> {
    let (b, m, d) = noise.dim();
    if solutions.dim() != (b, m, d) || other != (b, d) {
        return Err(value_error(format!(
            "noise {:?}, solutions {:?} and the per-item array {other:?} do not fit together",
            noise.dim(),
            solutions.dim()
        )));
    }
    Ok(())
}

#[pymethods]
impl CombinatorialOracle {
    /// Shortest paths from the top-left to the bottom-right node of an `h × w` grid with east and
    /// south arcs (PyEPO's); costs per arc.
    #[staticmethod]
    fn grid_shortest_path(h: usize, w: usize) -> PyResult<Self> {
        let o = GridShortestPath::new(h, w).map_err(value_error)?;
        let d = o.arcs();
        Self::new(Kind::Grid(o), d, format!("grid_shortest_path({h}, {w})"))
    }

    /// Shortest paths between opposite corners of an `h × w` grid of cells with 8 neighbours
    /// (the Warcraft maps); nonnegative costs per cell, the path's cells as output.
    #[staticmethod]
    fn vertex_shortest_path(h: usize, w: usize) -> PyResult<Self> {
        let o = VertexGridShortestPath::new(h, w).map_err(value_error)?;
        let d = lpgd_core::limits::checked_product("grid cells", h, w).map_err(value_error)?;
        Self::new(
            Kind::Vertex(o),
            d,
            format!("vertex_shortest_path({h}, {w})"),
        )
    }

    /// 0/1 selections under `weights @ y <= capacity` (one row per constraint); the oracle
    /// minimises, so item values enter as negated costs.
    #[staticmethod]
    #[pyo3(signature = (weights, capacity, node_limit=None))]
    fn knapsack(
        weights: PyReadonlyArray2<'_, f64>,
        capacity: Vec<f64>,
        node_limit: Option<u64>,
    ) -> PyResult<Self> {
        let weights = weights.as_array().to_owned();
        let d = weights.ncols();
        let mut o = Knapsack::new(weights, capacity).map_err(value_error)?;
        if let Some(limit) = node_limit {
            o = o.with_node_limit(limit);
        }
        Self::new(Kind::Knapsack(o), d, format!("knapsack({d} items)"))
    }

    /// Rankings of `n` items (the cheapest gets the highest rank).
    #[staticmethod]
    fn ranking(n: usize) -> PyResult<Self> {
        Self::new(Kind::Ranking(Ranking::new(n)), n, format!("ranking({n})"))
    }

    /// The `k` cheapest of `n` items.
    #[staticmethod]
    fn top_k(n: usize, k: usize) -> PyResult<Self> {
        let o = TopK::new(n, k).map_err(value_error)?;
        Self::new(Kind::TopK(o), n, format!("top_k({n}, {k})"))
    }

    /// Assignments of `rows` rows to distinct columns (`rows <= cols`), costs row-major.
    #[staticmethod]
    fn assignment(rows: usize, cols: usize) -> PyResult<Self> {
        let o = Assignment::new(rows, cols).map_err(value_error)?;
        let d = lpgd_core::limits::checked_product("assignment costs", rows, cols)
            .map_err(value_error)?;
        Self::new(
            Kind::Assignment(o),
            d,
            format!("assignment({rows}, {cols})"),
        )
    }

    /// Tours through `n <= 16` nodes, costs per ordered pair (row-major `n × n`), the tour's arcs
    /// as output.
    #[staticmethod]
    fn tsp(n: usize) -> PyResult<Self> {
        let o = Tsp::new(n).map_err(value_error)?;
        let d = lpgd_core::limits::checked_product("tsp costs", n, n).map_err(value_error)?;
        Self::new(Kind::Tsp(o), d, format!("tsp({n})"))
    }

    /// A user's solver: `solve(costs) -> solution`, costs a float64 array of length `dim`, the
    /// answer any one-dimensional sequence of `dim` numbers. An exception it raises, or a wrong
    /// answer, is that item's error.
    #[staticmethod]
    fn python(solve: Py<PyAny>, dim: usize) -> PyResult<Self> {
        Self::new(Kind::Python(Arc::new(solve)), dim, "python callable".into())
    }

    /// The cost vectors' length.
    #[getter]
    fn dim(&self) -> usize {
        self.dim
    }

    fn __repr__(&self) -> String {
        format!("CombinatorialOracle.{}", self.name)
    }

    /// Solves every row of `costs` (`B × dim`): solutions (NaN rows where an item failed) and the
    /// failures' messages.
    #[pyo3(signature = (costs, threads=None))]
    fn solve<'py>(
        &self,
        py: Python<'py>,
        costs: PyReadonlyArray2<'py, f64>,
        threads: Option<usize>,
    ) -> PyResult<Stacked<'py>> {
        let w = costs.as_array();
        self.check("costs", &w, None)?;
        let items = self.map(py, threads, w.nrows(), |oracle, i| {
            let p = CombinatorialProblem::new(row(&w, i)).map_err(failure)?;
            checked_solve(oracle, &p, None).map_err(failure)
        });
        let (y, errors) = stack(items, self.dim);
        Ok((PyArray2::from_owned_array(py, y), errors))
    }

    /// The LPGD backward pass of every item (`side` right is blackbox backpropagation with
    /// λ = τ): gradients with respect to the costs, NaN rows where an item failed, and messages.
    /// `config` gives τ, the side and the threads (its ρ must be 0: a finite set has no
    /// proximal term).
    fn lpgd_backward<'py>(
        &self,
        py: Python<'py>,
        costs: PyReadonlyArray2<'py, f64>,
        solutions: PyReadonlyArray2<'py, f64>,
        grads: PyReadonlyArray2<'py, f64>,
        config: PyRef<'py, LpgdConfig>,
    ) -> PyResult<Stacked<'py>> {
        let (w, y, g) = (costs.as_array(), solutions.as_array(), grads.as_array());
        self.check("costs", &w, None)?;
        self.check("solutions", &y, Some(w.nrows()))?;
        self.check("grads", &g, Some(w.nrows()))?;
        let lpgd: Lpgd = config.lpgd();
        let items = self.map(py, lpgd.settings().threads(), w.nrows(), |oracle, i| {
            let p = CombinatorialProblem::new(row(&w, i)).map_err(failure)?;
            lpgd.backward(oracle, &p, &row(&y, i), &row(&g, i))
                .map(|b| b.gradient)
                .map_err(failure)
        });
        let (out, errors) = stack(items, self.dim);
        Ok((PyArray2::from_owned_array(py, out), errors))
    }

    /// Perturbed solves `y(θ_i + σ Z_im)`, `M = samples` per item: the noise (drawn from `rng`
    /// item after item, before any solve, so the numbers do not depend on `threads`) and the
    /// solutions, both `B × M × dim` (NaN where an item failed), and messages.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (costs, samples, sigma, rng, threads=None))]
    fn perturbed<'py>(
        &self,
        py: Python<'py>,
        costs: PyReadonlyArray2<'py, f64>,
        samples: usize,
        sigma: f64,
        mut rng: PyRefMut<'py, PyRandomState>,
        threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyArray3<f64>>,
        Bound<'py, PyArray3<f64>>,
        Vec<Option<Failure>>,
    )> {
        let w = costs.as_array();
        self.check("costs", &w, None)?;
        let p = perturbation(samples, sigma)?;
        let (b, d) = w.dim();
        lpgd_core::limits::checked_product("perturbed solutions", b.saturating_mul(samples), d)
            .map_err(value_error)?;
        let mut noise = Array3::zeros((b, samples, d));
        for i in 0..b {
            for (m, z) in p
                .draw(d, &mut rng.inner)
                .map_err(value_error)?
                .into_iter()
                .enumerate()
            {
                noise.slice_mut(lpgd_core::ndarray::s![i, m, ..]).assign(&z);
            }
        }
        let items = self.map(py, threads, b, |oracle, i| {
            let zs: Vec<Array1<f64>> = noise
                .index_axis(Axis(0), i)
                .rows()
                .into_iter()
                .map(|r| r.to_owned())
                .collect();
            let problems = p.problems(&row(&w, i), &zs).map_err(failure)?;
            problems
                .iter()
                .map(|q| checked_solve(oracle, q, None).map_err(failure))
                .collect::<Result<Vec<_>, _>>()
        });
        let mut solutions = Array3::from_elem((b, samples, d), f64::NAN);
        let mut errors = Vec::with_capacity(b);
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Ok(ys) => {
                    for (m, y) in ys.iter().enumerate() {
                        solutions
                            .slice_mut(lpgd_core::ndarray::s![i, m, ..])
                            .assign(y);
                    }
                    errors.push(None);
                }
                Err(e) => errors.push(Some(e)),
            }
        }
        Ok((
            PyArray3::from_owned_array(py, noise),
            PyArray3::from_owned_array(py, solutions),
            errors,
        ))
    }

    /// SPO+ of every item: losses, subgradients with respect to the predicted costs `c_hat`
    /// (NaN where an item failed), and messages.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (c_hat, c, y_star, threads=None))]
    fn spo_plus<'py>(
        &self,
        py: Python<'py>,
        c_hat: PyReadonlyArray2<'py, f64>,
        c: PyReadonlyArray2<'py, f64>,
        y_star: PyReadonlyArray2<'py, f64>,
        threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray2<f64>>,
        Vec<Option<Failure>>,
    )> {
        let (ch, c, ys) = (c_hat.as_array(), c.as_array(), y_star.as_array());
        self.check("c_hat", &ch, None)?;
        self.check("c", &c, Some(ch.nrows()))?;
        self.check("y_star", &ys, Some(ch.nrows()))?;
        let items = self.map(py, threads, ch.nrows(), |oracle, i| {
            spo_plus(oracle, &row(&ch, i), &row(&c, i), &row(&ys, i)).map_err(failure)
        });
        let losses = items
            .iter()
            .map(|r| r.as_ref().map_or(f64::NAN, |r| r.0))
            .collect::<Array1<f64>>();
        let (grads, errors) = stack(
            items.into_iter().map(|r| r.map(|r| r.1)).collect(),
            self.dim,
        );
        Ok((
            PyArray1::from_owned_array(py, losses),
            PyArray2::from_owned_array(py, grads),
            errors,
        ))
    }

    /// Trains PyEPO's linear model `ĉ = Θx + β` with Adam through this oracle, all in Rust
    /// (lpgd-combinatorial's loop): rows `[0, n_train)` train, the rest test. `rule` is one of
    /// `spo+`, `pfyl`, `dpo`, `nid`, `lpgd` (with `tau` and `side`). Returns a dict with
    /// `regret_per_epoch`, `test_regret` and `wall_s`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (rule, features, costs, n_train, epochs=20, batch=32, lr=0.01, seed=42, tau=1.0, side="right", samples=10, sigma=1.0))]
    fn train_linear<'py>(
        &self,
        py: Python<'py>,
        rule: &str,
        features: PyReadonlyArray2<'py, f64>,
        costs: PyReadonlyArray2<'py, f64>,
        n_train: usize,
        epochs: usize,
        batch: usize,
        lr: f64,
        seed: u32,
        tau: f64,
        side: &str,
        samples: usize,
        sigma: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (x, c) = (features.as_array().to_owned(), costs.as_array().to_owned());
        self.check("costs", &c.view(), Some(x.nrows()))?;
        if epochs == 0 || batch == 0 || !(lr.is_finite() && lr > 0.0) {
            return Err(value_error(
                "epochs and batch must be at least 1 and lr positive and finite",
            ));
        }
        if n_train == 0 || n_train >= x.nrows() {
            return Err(value_error(format!(
                "n_train must leave rows for both sets (1 to {}), not {n_train}",
                x.nrows().saturating_sub(1)
            )));
        }
        let rule = match rule {
            "spo+" => Rule::SpoPlus,
            "pfyl" => Rule::Pfyl(perturbation(samples, sigma)?),
            "dpo" => Rule::Dpo(perturbation(samples, sigma)?),
            "nid" => Rule::Nid,
            "lpgd" => {
                let lpgd = LpgdConfig::new(tau, 0.0, side, "none", None)?.lpgd();
                Rule::Lpgd {
                    side: lpgd.side(),
                    tau: lpgd.tau(),
                }
            }
            other => return Err(value_error(format!("unknown rule '{other}'"))),
        };
        let config = TrainConfig {
            epochs,
            batch,
            learning_rate: lr,
            seed,
        };
        let mut oracle = self.kind.oracle();
        let mut run = move || -> Result<_, SolveError> {
            let (train_set, test_set) = Dataset::split(oracle.as_mut(), &x, &c, n_train)?;
            train(
                rule,
                oracle.as_mut(),
                &train_set,
                &test_set,
                config,
                |_, _| {},
            )
        };
        let report = match self.kind {
            Kind::Python(_) => run(),
            _ => py.detach(run),
        }
        .map_err(value_error)?;
        let out = PyDict::new(py);
        out.set_item("regret_per_epoch", report.regret_per_epoch)?;
        out.set_item("test_regret", report.test_regret)?;
        out.set_item("wall_s", report.wall_s)?;
        Ok(out)
    }
}

/// DPO's backward pass per item from stacked samples (`B × M × d`) and incoming gradients
/// (`B × d`), with PyEPO's mean-reward baseline when `baseline`.
#[pyfunction]
pub(crate) fn dpo_backward_stacked<'py>(
    py: Python<'py>,
    noise: PyReadonlyArray3<'py, f64>,
    solutions: PyReadonlyArray3<'py, f64>,
    grads: PyReadonlyArray2<'py, f64>,
    sigma: f64,
    baseline: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (z, y, g) = (
        noise.as_array().to_owned(),
        solutions.as_array().to_owned(),
        grads.as_array(),
    );
    check_samples(&z, &y, g.dim())?;
    let (b, _, d) = z.dim();
    let mut out = Array2::zeros((b, d));
    for i in 0..b {
        let gi = dpo_backward(&samples_of(&z, &y, i), &row(&g, i), sigma, baseline)
            .map_err(value_error)?;
        out.row_mut(i).assign(&gi);
    }
    Ok(PyArray2::from_owned_array(py, out))
}

/// PFYL per item from stacked samples (`B × M × d`), predictions `θ` and true solutions `y*`
/// (`B × d`): losses and gradients with respect to `θ`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub(crate) fn pfyl_stacked<'py>(
    py: Python<'py>,
    noise: PyReadonlyArray3<'py, f64>,
    solutions: PyReadonlyArray3<'py, f64>,
    theta: PyReadonlyArray2<'py, f64>,
    sigma: f64,
    y_star: PyReadonlyArray2<'py, f64>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>)> {
    let (z, y, t, ys) = (
        noise.as_array().to_owned(),
        solutions.as_array().to_owned(),
        theta.as_array(),
        y_star.as_array(),
    );
    check_samples(&z, &y, t.dim())?;
    if ys.dim() != t.dim() {
        return Err(value_error("theta and y_star differ in shape"));
    }
    let (b, _, d) = z.dim();
    let mut losses = Array1::zeros(b);
    let mut grads = Array2::zeros((b, d));
    for i in 0..b {
        let (l, g) =
            pfyl(&samples_of(&z, &y, i), &row(&t, i), sigma, &row(&ys, i)).map_err(value_error)?;
        losses[i] = l;
        grads.row_mut(i).assign(&g);
    }
    Ok((
        PyArray1::from_owned_array(py, losses),
        PyArray2::from_owned_array(py, grads),
    ))
}
