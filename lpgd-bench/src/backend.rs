//! The backends a command can run, by name.

use lpgd_core::{ConicProblem, Oracle};
use lpgd_solvers::ClarabelOracle;
use std::fmt;

/// A conic backend and its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// Clarabel (always built).
    Clarabel,
    /// OSQP.
    #[cfg(feature = "osqp")]
    Osqp,
    /// HiGHS.
    #[cfg(feature = "highs")]
    Highs,
    /// A good_lp solver.
    #[cfg(feature = "good_lp")]
    GoodLp(lpgd_solvers::GoodLpSolver),
}

/// Options that apply to the backends that have them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A new solver per solve instead of an updated, kept one.
    pub cold: bool,
    /// Tighter tolerances (Clarabel).
    pub high_accuracy: bool,
}

impl Backend {
    /// Every backend this build offers, good_lp once per solver.
    pub fn all() -> Vec<Backend> {
        #[allow(unused_mut)]
        let mut out = vec![Backend::Clarabel];
        #[cfg(feature = "osqp")]
        out.push(Backend::Osqp);
        #[cfg(feature = "highs")]
        out.push(Backend::Highs);
        #[cfg(feature = "good_lp")]
        out.extend(
            lpgd_solvers::GoodLpSolver::all()
                .into_iter()
                .map(Backend::GoodLp),
        );
        out
    }

    /// Parses `clarabel`, `osqp`, `highs`, `good_lp` or `good_lp:SOLVER`.
    pub fn parse(name: &str) -> Result<Backend, String> {
        let available = || {
            Backend::all()
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        #[cfg(feature = "good_lp")]
        if name == "good_lp" {
            return Ok(Backend::GoodLp(lpgd_solvers::GoodLpSolver::Microlp));
        }
        Backend::all()
            .into_iter()
            .find(|b| b.to_string() == name)
            .ok_or_else(|| {
                format!(
                    "unknown or not built backend '{name}' (this build has: {})",
                    available()
                )
            })
    }

    /// A new oracle.
    pub fn oracle(&self, options: Options) -> Box<dyn Oracle<ConicProblem>> {
        match self {
            Backend::Clarabel => {
                let o = if options.high_accuracy {
                    ClarabelOracle::high_accuracy()
                } else {
                    ClarabelOracle::new()
                };
                Box::new(o.with_reuse(!options.cold))
            }
            #[cfg(feature = "osqp")]
            Backend::Osqp => Box::new(lpgd_solvers::OsqpOracle::new().with_reuse(!options.cold)),
            #[cfg(feature = "highs")]
            Backend::Highs => Box::new(lpgd_solvers::HighsOracle::new().with_reuse(!options.cold)),
            #[cfg(feature = "good_lp")]
            Backend::GoodLp(solver) => Box::new(lpgd_solvers::GoodLpOracle::new(*solver)),
        }
    }
}

impl Backend {
    /// Whether the backend returns duals (LPGD's gradients with respect to b and A need them).
    pub fn gives_duals(&self) -> bool {
        match self {
            #[cfg(feature = "good_lp")]
            Backend::GoodLp(solver) => solver.has_duals(),
            _ => true,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Clarabel => f.write_str("clarabel"),
            #[cfg(feature = "osqp")]
            Backend::Osqp => f.write_str("osqp"),
            #[cfg(feature = "highs")]
            Backend::Highs => f.write_str("highs"),
            #[cfg(feature = "good_lp")]
            Backend::GoodLp(s) => write!(f, "good_lp:{}", s.name()),
        }
    }
}
