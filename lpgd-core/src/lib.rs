//! # lpgd-core — the perturb-and-re-solve contract
//!
//! LPGD (Lagrangian Proximal Gradient Descent, Paulus, Martius & Musil 2024) trains models that
//! contain optimization layers. The true derivative of an LP or combinatorial layer is zero almost
//! everywhere; LPGD replaces the backward pass by re-solving the *same* problem with its linear
//! terms moved by `±τ` times the incoming gradient (optionally with a proximal term `ρ/2‖x − x*‖²`)
//! and differencing the Lagrangian gradients:
//!
//! ```text
//! G = (∂_w L(z_σ; w) − ∂_w L(z*; w)) / σ        σ = +τ (right), −τ (left); centred uses both
//! ```
//!
//! It contains blackbox backpropagation as a special case and recovers the true gradient as τ → 0.
//!
//! This crate has no solver dependency. It defines
//! - the problem families: [`ConicProblem`] (LP, QP, SOCP, exponential and power cones) and
//!   [`CombinatorialProblem`] (`argmin ⟨w, x⟩` over a finite set);
//! - the [`Oracle`] trait a backend implements (one required method);
//! - the validated configuration [`Lpgd`] with `forward`, `backward`, `jvp` and their batches;
//! - errors as data ([`InvalidInput`], [`SolveError`], [`LpgdError`]);
//! - problem files in the diffcp/SCS JSON layout ([`ProblemFile`], feature `json`).
//!
//! Backends live in `lpgd-solvers` (Clarabel by default).
//!
//! ```
//! use lpgd_core::{FnOracle, CombinatorialProblem, Lpgd, Side};
//! use ndarray::{array, Array1};
//!
//! // A combinatorial layer: choose the cheapest of three items (one-hot).
//! let mut argmin = FnOracle::new(|p: &CombinatorialProblem| {
//!     let w = p.cost();
//!     let k = (0..w.len()).min_by(|&i, &j| w[i].total_cmp(&w[j])).unwrap();
//!     Ok(Array1::from_shape_fn(w.len(), |i| if i == k { 1.0 } else { 0.0 }))
//! });
//! let layer = CombinatorialProblem::new(array![0.1, 0.5, 0.3])?;
//! let lpgd = Lpgd::new(0.3)?.with_side(Side::Right);
//!
//! let x = lpgd.forward(&mut argmin, &layer)?;
//! assert_eq!(x, array![1.0, 0.0, 0.0]);
//!
//! // The loss wants less of item 0. Plain backprop would give 0; LPGD moves the cost by τ·dx,
//! // the argmin jumps to item 2, and the difference says how.
//! let g = lpgd.backward(&mut argmin, &layer, &x, &array![1.0, 0.0, 0.0])?;
//! assert_eq!(g.gradient, array![-1.0 / 0.3, 0.0, 1.0 / 0.3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Modules, one concern each. The types most programs name are re-exported flat below; the
// details stay in their modules (`error`, `limits`, `linalg`, `conic`). `cone`, `side` and
// `limits` are leaves (errors name a cone kind and a side without importing the modules that
// use errors).
mod batch;
mod cone;
mod csc;
pub mod error;
mod family;
pub mod limits;
pub mod linalg;
mod lpgd;
mod oracle;
mod problem;
#[cfg(feature = "json")]
mod problem_file;
mod settings;
mod side;
mod warm;

pub use batch::map_batch;
pub use cone::{Cone, ConeKind};
pub use csc::CscMatrix;
pub use error::{Capability, InvalidInput, LpgdError, SolveError};
pub use family::combinatorial::CombinatorialProblem;
pub use family::conic::{
    ConicCotangent, ConicGradient, ConicProblem, ConicSolution, ConicStructure, ConicTangent,
    ConicValues, SolveStatus,
};
pub use lpgd::{Backward, Jvp, Lpgd, Report};
pub use oracle::{checked_solve, FnOracle, Oracle};
pub use problem::{Finite, Problem};
#[cfg(feature = "json")]
pub use problem_file::{FileInstance, ProblemFile, ProblemFileError};
pub use settings::{Forward, SolveSettings};
pub use side::{Fallback, Side};
pub use warm::WarmStarts;

/// The conic family beyond its main types: the builder and its named parameters, the
/// verification's tolerances and residuals, the semidefinite cone's packing.
pub mod conic {
    pub use crate::cone::{psd_matrix, psd_rows};
    pub use crate::csc::PSD_TOLERANCE;
    pub use crate::family::conic::{
        ConicBuilder, ConicSolutionTangent, IntoCsc, IntoVector, Location, Parameters, Residuals,
        RowMap, VERIFY_TOLERANCE, VERIFY_TOLERANCE_ALMOST,
    };
}

/// Re-export of the array crate used throughout the API.
pub use ndarray;
