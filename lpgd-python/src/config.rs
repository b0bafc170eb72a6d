//! [`LpgdConfig`]: one validated LPGD configuration (τ, ρ, side, fallback, threads) that the
//! Python layers build once and hand to every backward and forward-mode call.

use crate::value_error;
use lpgd_core::{Fallback, Lpgd, Side};
use pyo3::prelude::*;

/// The fallbacks by their Python names.
const FALLBACKS: [&str; 3] = ["none", "other_side", "shrink_tau"];

/// A fallback by its Python name (`none`, `other_side`, `shrink_tau`: σ halved up to 4 times).
fn fallback_of(name: &str) -> PyResult<Fallback> {
    match name {
        "none" => Ok(Fallback::Fail),
        "other_side" => Ok(Fallback::OtherSide),
        "shrink_tau" => Ok(Fallback::ShrinkTau {
            factor: 0.5,
            retries: 4,
        }),
        other => Err(value_error(format!(
            "unknown fallback '{other}' (one of {FALLBACKS:?})"
        ))),
    }
}

/// The Python name of a fallback.
fn fallback_name(fallback: Fallback) -> &'static str {
    match fallback {
        Fallback::Fail => FALLBACKS[0],
        Fallback::OtherSide => FALLBACKS[1],
        Fallback::ShrinkTau { .. } => FALLBACKS[2],
    }
}

/// A validated LPGD configuration: step `tau` (> 0), proximal weight `rho` (≥ 0), `side`
/// (`"right"`, `"left"`, `"centered"`), `fallback` for a failed re-solve (`"none"`,
/// `"other_side"`, `"shrink_tau"`) and worker `threads` (None: those of the forward pass).
/// Checked once, when built; a bad value is a `ValueError` then, not at the first backward.
#[pyclass(module = "lpgd._lpgd", frozen, eq)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LpgdConfig {
    lpgd: Lpgd,
}

impl LpgdConfig {
    /// The core's configuration.
    pub(crate) fn lpgd(&self) -> Lpgd {
        self.lpgd
    }
}

#[pymethods]
impl LpgdConfig {
    /// Checks and builds the configuration.
    #[new]
    #[pyo3(signature = (tau, rho=0.0, side="centered", fallback="none", threads=None))]
    pub(crate) fn new(
        tau: f64,
        rho: f64,
        side: &str,
        fallback: &str,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let side: Side = side.parse().map_err(value_error)?;
        let fallback = fallback_of(fallback)?;
        let mut lpgd = Lpgd::new(tau)
            .and_then(|l| l.with_rho(rho))
            .and_then(|l| l.with_fallback(fallback))
            .map(|l| l.with_side(side))
            .map_err(value_error)?;
        if let Some(t) = threads {
            lpgd = lpgd.with_threads(t).map_err(value_error)?;
        }
        Ok(Self { lpgd })
    }

    /// The step τ.
    #[getter]
    fn tau(&self) -> f64 {
        self.lpgd.tau()
    }

    /// The proximal weight ρ.
    #[getter]
    fn rho(&self) -> f64 {
        self.lpgd.rho()
    }

    /// The side's name.
    #[getter]
    fn side(&self) -> &'static str {
        self.lpgd.side().name()
    }

    /// The fallback's name.
    #[getter]
    fn fallback(&self) -> &'static str {
        fallback_name(self.lpgd.fallback())
    }

    /// The worker threads (None: those of the forward pass).
    #[getter]
    fn threads(&self) -> Option<usize> {
        self.lpgd.settings().threads()
    }

    fn __repr__(&self) -> String {
        let threads = self
            .threads()
            .map_or_else(|| "None".to_string(), |t| t.to_string());
        format!(
            "LpgdConfig(tau={:?}, rho={:?}, side='{}', fallback='{}', threads={threads})",
            self.tau(),
            self.rho(),
            self.side(),
            self.fallback()
        )
    }
}
