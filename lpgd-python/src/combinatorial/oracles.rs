//! The oracles behind a `CombinatorialOracle`: those of lpgd-combinatorial, or a Python callable.

use lpgd_combinatorial::assignment::Assignment;
use lpgd_combinatorial::ranking::{Ranking, TopK};
use lpgd_combinatorial::tsp::Tsp;
use lpgd_combinatorial::warcraft::VertexGridShortestPath;
use lpgd_combinatorial::{GridShortestPath, Knapsack};
use lpgd_core::ndarray::Array1;
use lpgd_core::{CombinatorialProblem, Oracle, SolveError};
use numpy::PyArray1;
use pyo3::prelude::*;
use std::sync::Arc;

/// The oracles the module offers.
#[derive(Clone)]
pub(super) enum Kind {
    Grid(GridShortestPath),
    Vertex(VertexGridShortestPath),
    Knapsack(Knapsack),
    Ranking(Ranking),
    TopK(TopK),
    Assignment(Assignment),
    Tsp(Tsp),
    Python(Arc<Py<PyAny>>),
}

/// A user's solver given as a Python callable: costs (a float64 array) in, a solution out.
pub(super) struct PyOracle(Arc<Py<PyAny>>);

impl Oracle<CombinatorialProblem> for PyOracle {
    fn solve(
        &mut self,
        problem: &CombinatorialProblem,
        _warm: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>, SolveError> {
        let failed = |message: String| SolveError::Backend {
            backend: "python oracle",
            message,
        };
        Python::attach(|py| {
            let cost = PyArray1::from_slice(py, problem.cost_slice());
            let answer = self
                .0
                .call1(py, (cost,))
                .map_err(|e| failed(e.to_string()))?;
            let values: Vec<f64> = answer.extract(py).map_err(|e| {
                failed(format!(
                    "the answer is not a one-dimensional array of numbers ({e})"
                ))
            })?;
            Ok(Array1::from(values))
        })
    }
}

impl Kind {
    pub(super) fn oracle(&self) -> Box<dyn Oracle<CombinatorialProblem> + Send> {
        match self {
            Kind::Grid(o) => Box::new(o.clone()),
            Kind::Vertex(o) => Box::new(*o),
            Kind::Knapsack(o) => Box::new(o.clone()),
            Kind::Ranking(o) => Box::new(*o),
            Kind::TopK(o) => Box::new(*o),
            Kind::Assignment(o) => Box::new(*o),
            Kind::Tsp(o) => Box::new(*o),
            Kind::Python(f) => Box::new(PyOracle(Arc::clone(f))),
        }
    }
}
