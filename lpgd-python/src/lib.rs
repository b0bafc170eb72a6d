//! Python bindings of lpgd: the `lpgd._lpgd` extension module behind the `lpgd` Python package.
//!
//! One Rust call per batch, on all cores with the GIL released:
//!
//! - conic programs (module `conic`): given item by item (diffcp's lists) or as one structure with
//!   stacked values (the torch layer), validated by the core, solved and kept — with the backend
//!   that solved them — in a `Session`, whose `backward` and `jvp` re-solve the perturbed
//!   problems (LPGD) in one more call;
//! - combinatorial oracles (module `combinatorial`): the oracles of lpgd-combinatorial or a Python
//!   callable, with LPGD, DPO, PFYL and SPO+ computed by the Rust functions themselves;
//! - data (module `data`): PyEPO's generators, terrain maps, numpy's legacy generator.
//!
//! Failures are per item: a message for each item that failed, NaN in its arrays; the Python
//! layer raises or not.

mod combinatorial;
mod config;
mod conic;
mod data;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A `ValueError` with the message of `e`.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

use lpgd_solvers::Backend;

/// A failed item as Python receives it: its error's kind (`"infeasible"`, `"unbounded"`,
/// `"max_iterations"`, `"invalid_input"`, …: the `SolverError` subclass the Python layer raises)
/// and its message.
pub(crate) type Failure = (&'static str, String);

/// An error as a [`Failure`]: its kind and message.
pub(crate) trait Failed: std::fmt::Display {
    /// The error's kind.
    fn kind(&self) -> &'static str;
}

impl Failed for lpgd_core::LpgdError {
    fn kind(&self) -> &'static str {
        lpgd_core::LpgdError::kind(self)
    }
}

impl Failed for lpgd_core::SolveError {
    fn kind(&self) -> &'static str {
        lpgd_core::SolveError::kind(self)
    }
}

impl Failed for lpgd_core::InvalidInput {
    fn kind(&self) -> &'static str {
        "invalid_input"
    }
}

/// `e` as the failure Python receives.
pub(crate) fn failure(e: impl Failed) -> Failure {
    (e.kind(), e.to_string())
}

/// The backends built into this module (each also takes the suffix `+face`: the certified
/// active-set re-solve around it).
#[pyfunction]
fn backends() -> Vec<String> {
    Backend::all().iter().map(Backend::to_string).collect()
}

/// The `lpgd._lpgd` extension module.
#[pymodule]
fn _lpgd(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(conic::solve, m)?)?;
    m.add_function(wrap_pyfunction!(backends, m)?)?;
    m.add_class::<conic::Session>()?;
    m.add_class::<conic::ConicStructure>()?;
    m.add_class::<conic::WarmStarts>()?;
    m.add_class::<config::LpgdConfig>()?;
    m.add_class::<combinatorial::CombinatorialOracle>()?;
    m.add_function(wrap_pyfunction!(combinatorial::dpo_backward_stacked, m)?)?;
    m.add_function(wrap_pyfunction!(combinatorial::pfyl_stacked, m)?)?;
    m.add_class::<data::PyRandomState>()?;
    m.add_function(wrap_pyfunction!(data::shortest_path_data_py, m)?)?;
    m.add_function(wrap_pyfunction!(data::knapsack_data_py, m)?)?;
    m.add_function(wrap_pyfunction!(data::terrain_maps_py, m)?)?;
    m.add_function(wrap_pyfunction!(data::normalized_regret_py, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
