//! # lpgd-solvers — backends for the LPGD contract
//!
//! Each backend implements [`lpgd_core::Oracle`] for the canonical [`lpgd_core::ConicProblem`]
//! form, behind a feature named after its crate, so a user swaps backends without touching the
//! problem. A backend returns [`lpgd_core::SolveError::Unsupported`] for what it cannot handle.
//!
//! | feature | backend | problems | duals | re-solve fast path | needs |
//! |---|---|---|---|---|---|
//! | `clarabel` (default) | [`ClarabelOracle`] | LP, QP, SOCP, exp, power | yes | solver kept, `q`/`b` updated | nothing (pure Rust) |
//! | `clarabel-sdp` | [`ClarabelOracle`] | and PSD cones | yes | as `clarabel` | system OpenBLAS, libgfortran |
//! | `clarabel-faer` | [`ClarabelOracle`] with [`KktSolver::Faer`] | as `clarabel` | yes | as `clarabel` | nothing (pure Rust) |
//! | `osqp` | `OsqpOracle` | LP, QP | yes | factorization kept, ADMM warm-started | cmake, C compiler |
//! | `highs` | `HighsOracle`, `HighsMilpOracle` | LP; MILP over a fixed set | yes (LP) | simplex from the forward basis (a fresh model per solve) | cmake, g++, libclang |
//! | `good_lp` (+ `good_lp-highs`, `-clarabel`, `-lpsolve`) | `GoodLpOracle` | LP | with HiGHS, Clarabel | none | per solver |
//!
//! Every oracle counts what it did in an [`OracleStats`] (solves, set-ups, updates, iterations).
//!
//! **Certified re-solves** (feature `clarabel`, for its QDLDL): `FaceOracle` wraps any of these
//! oracles and answers an LPGD re-solve with one sparse factorization on the forward solution's
//! active face when it can certify the answer optimal, falling back to the inner oracle otherwise
//! (`BackendOptions::face`, or `clarabel+face` by name; `clarabel+face+boundary` with
//! second-order cones on their boundary solved by Newton's method too).
//!
//! **Nothing here panics on user input.** Problems arrive validated by `lpgd-core`; each backend
//! refuses data beyond the magnitude it represents faithfully ([`lpgd_core::SolveError::OutOfRange`]),
//! claims infeasibility or unboundedness only with a certificate that checks out (Clarabel, OSQP),
//! and answers as a function of the problem and the warm-start hint alone, so batches are
//! bit-identical on any number of threads (tested in `tests/tests/hardening.rs`, with a fuzz test).
#![deny(missing_docs)]
// docs.rs builds with every feature and marks items that need one.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Without a backend feature the shared machinery has no user.
#[cfg_attr(not(any(feature = "clarabel", feature = "osqp")), allow(dead_code))]
mod cache;
/// The machinery every backend uses (the data range checks, the registry): without any backend
/// feature it has no user, its enum no variant and its matches no arm, which is allowed.
macro_rules! backend_machinery {
    ($($item:item)*) => {$(
        #[cfg_attr(
            not(any(
                feature = "clarabel",
                feature = "osqp",
                feature = "highs",
                feature = "good_lp"
            )),
            allow(dead_code, unreachable_code, unused_variables, unused_mut)
        )]
        $item
    )*};
}

backend_machinery! {
    mod range;
    mod registry;
}
mod rows;

#[cfg(feature = "clarabel")]
pub mod clarabel;
#[cfg(feature = "clarabel")]
pub mod face;
#[cfg(feature = "good_lp")]
pub mod good_lp;
#[cfg(feature = "highs")]
pub mod highs;
#[cfg(feature = "osqp")]
pub mod osqp;

pub use crate::cache::OracleStats;
#[cfg(feature = "clarabel")]
pub use crate::clarabel::{ClarabelOracle, ClarabelSettings};
#[cfg(feature = "clarabel")]
pub use crate::face::{guess_residual, FaceMiss, FaceOracle, FacePath, FaceSettings, FaceStats};
#[cfg(feature = "good_lp")]
pub use crate::good_lp::{GoodLpOracle, GoodLpSolver};
#[cfg(feature = "highs")]
pub use crate::highs::{HighsMilpOracle, HighsOracle};
#[cfg(feature = "osqp")]
pub use crate::osqp::{OsqpOracle, OsqpSettings};
pub use crate::registry::{
    Backend, BackendOptions, KktSolver, SolverLimits, UnknownBackend, UnknownKktSolver,
};

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "clarabel"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub(crate) mod name {
    use lpgd_core::SolveError;

    /// A backend's own error, kept as a message for humans.
    #[allow(dead_code)]
    pub(crate) fn backend(backend: &'static str, error: impl std::fmt::Display) -> SolveError {
        SolveError::Backend {
            backend,
            message: error.to_string(),
        }
    }
}
