//! The certified active-set re-solve: [`FaceOracle`] wraps any conic oracle and answers a
//! perturbed problem with one sparse factorization when it can prove the answer optimal.
//!
//! An LPGD re-solve differs from the forward problem only in its linear terms (and by ρI in P),
//! and for moderate τ its optimal *face* — which inequality rows are tight, which cones sit at
//! their apex — is usually the forward one. Given the warm hint (the forward solution), the oracle
//!
//! 1. guesses the face: zero-cone rows are equalities; a nonnegative row is tight when its slack is
//!    smaller than its dual; a second-order cone whose slack is strictly inside is left free, one
//!    whose slack is zero is fixed at the apex, one on its boundary is solved by Newton's method
//!    on `s₀ = ‖s̄‖` (its tail lifted into variables, so the Jacobian is a sparse LDLᵀ; chord
//!    steps on one Jacobian formed at the hint, active-set corrections on the way) when
//!    [`FaceSettings::boundary_cones`] is on (else, and for exponential, power or PSD cones, the
//!    attempt ends);
//! 2. solves the equality-constrained QP on that face, `[P Aₑᵀ; Aₑ 0] (x, yₑ) = (−c, bₑ)`, with one
//!    quasi-definite LDLᵀ (Clarabel's QDLDL: static regularization 1e-9, dynamic pivot
//!    regularization, iterative refinement against the unregularized matrix to 1e-13; one AMD
//!    ordering per (P, A) pattern, of the matrix with every row, restricted to the face);
//! 3. **certifies** the point: the slack of every free row lies in its cone and the dual of every
//!    tight row in the dual cone, to [`FaceSettings::tolerance`] (tighter than the solvers'
//!    1e-8). Stationarity and the tight rows hold to the refinement's residual, complementarity
//!    exactly by construction — a certified point *is* an optimum of the problem, not an
//!    approximation of one;
//! 4. otherwise moves the rows that violate the certificate to the other side (a primal-dual
//!    active-set step) up to [`FaceSettings::corrections`] times, and then falls back to the
//!    inner oracle.
//!
//! With ρ = 0 and no P (an LP) the face must pin a vertex (as many tight rows as variables);
//! otherwise the solution is not unique and the oracle falls back. Factorizations are kept for
//! the last few (P, A, face) triples, so both sides of a centred pass — and, with ρ = 0, the
//! forward polish and the backward pass — share one.
//!
//! **Forward polish** ([`FaceSettings::polish`]): a solve without a hint is the inner oracle's,
//! then refined the same way on the face its answer shows; a certified refinement replaces it, so
//! x*, y* are exact and the LPGD difference quotient no longer divides solver noise by τ.
//!
//! Every answer is a function of the problem and the hint alone (the kept factorizations are keyed
//! by every value they depend on), so batches are bit-identical on any number of threads.
//!
//! ```
//! use lpgd_core::{ConicCotangent, ConicProblem, Lpgd};
//! use lpgd_core::ndarray::array;
//! use lpgd_solvers::{ClarabelOracle, FaceOracle, FacePath};
//! // min ½‖x‖² − x₀ − x₁ s.t. x₀ + x₁ ≤ 1: the constraint is tight.
//! let problem = ConicProblem::builder(2)
//!     .cost(array![-1.0, -1.0])
//!     .quadratic(lpgd_core::CscMatrix::scaled_identity(2, 1.0)?)
//!     .inequalities(array![[1.0, 1.0]], array![1.0])
//!     .build()?;
//! let mut oracle = FaceOracle::new(ClarabelOracle::new());
//! let lpgd = Lpgd::new(0.1)?;
//! let z = lpgd.forward(&mut oracle, &problem)?;
//! assert_eq!(oracle.last_path(), Some(FacePath::Polished));
//! assert!((z.x[0] - 0.5).abs() < 1e-14);
//! let g = ConicCotangent::on_x(&problem, array![1.0, 0.0]);
//! let back = lpgd.backward(&mut oracle, &problem, &z, &g)?;
//! assert_eq!(oracle.last_path(), Some(FacePath::Certified));
//! // On the face x₀ + x₁ = 1 the solution moves along (1, −1): dc = (−½, ½).
//! assert!((back.gradient.dc[0] + 0.5).abs() < 1e-9 && (back.gradient.dc[1] - 0.5).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod certificate;
mod continuation;
mod dense;
mod guess;
mod kkt;
mod newton;
mod oracle;
mod settings;

pub use guess::guess_residual;
pub use oracle::FaceOracle;
pub use settings::{FaceMiss, FacePath, FaceSettings, FaceStats};
