//! Every backend compiled into this build, by name: what each supports, and a factory.
//!
//! The one list of backends. The CLI, the benchmarks, the tests and the language bindings take
//! backends from here, so a name means the same everywhere and a new backend is one file plus one
//! variant below.
//!
//! ```
//! use lpgd_solvers::{Backend, BackendOptions};
//! use lpgd_core::{Capability, ConeKind, Lpgd, ConicProblem};
//! use lpgd_core::ndarray::array;
//!
//! let clarabel: Backend = "clarabel".parse()?;
//! assert!(clarabel.supports(Capability::Cone(ConeKind::SecondOrder)));
//! assert_eq!(clarabel.to_string(), "clarabel");
//! assert!("no-such-solver".parse::<Backend>().is_err());
//!
//! let lp = ConicProblem::builder(1).cost(array![1.0]).bounds(&[0.0], &[2.0]).build()?;
//! for backend in Backend::all() {
//!     if backend.serves(&lp, 0.0).is_ok() {
//!         let z = Lpgd::new(0.1)?.forward(&mut backend.oracle(BackendOptions::default()), &lp)?;
//!         assert!(z.x[0].abs() < 1e-6, "{backend}");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use lpgd_core::{Capability, ConeKind, ConicProblem, InvalidInput, Oracle};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A conic backend built into this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Clarabel (feature `clarabel`).
    #[cfg(feature = "clarabel")]
    Clarabel,
    /// OSQP (feature `osqp`).
    #[cfg(feature = "osqp")]
    Osqp,
    /// HiGHS (feature `highs`).
    #[cfg(feature = "highs")]
    Highs,
    /// A good_lp solver (feature `good_lp` and its solver features).
    #[cfg(feature = "good_lp")]
    GoodLp(crate::GoodLpSolver),
}

/// Limits a caller sets on every solve of a backend: Clarabel honours both and answers a solve
/// they stop with its last iterate, flagged (`SolveStatus::IterationLimit` / `TimeLimit`); the
/// other backends keep their own limits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SolverLimits {
    /// Most iterations (None: the backend's own).
    pub max_iter: Option<u32>,
    /// Most seconds per solve (None: no limit).
    pub time_limit: Option<f64>,
}

impl SolverLimits {
    /// Checks the limits: at least one iteration, a positive number of seconds.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if self.max_iter == Some(0) {
            return Err(InvalidInput::Value {
                field: "max_iter",
                index: 0,
                reason: "must be at least 1",
            });
        }
        if self.time_limit.is_some_and(|t| t.is_nan() || t <= 0.0) {
            return Err(InvalidInput::Value {
                field: "time_limit",
                index: 0,
                reason: "must be a positive number of seconds",
            });
        }
        Ok(())
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.max_iter.is_some() || self.time_limit.is_some()
    }
}

/// An oracle that refuses every problem with one error (options that could not be applied).
struct Refusing(InvalidInput);

impl Oracle<ConicProblem> for Refusing {
    fn solve(
        &mut self,
        _problem: &ConicProblem,
        _warm: Option<&lpgd_core::ConicSolution>,
    ) -> Result<lpgd_core::ConicSolution, lpgd_core::SolveError> {
        Err(lpgd_core::SolveError::InvalidInput(self.0.clone()))
    }
}

/// Options for the backends that have them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BackendOptions {
    /// Build a new solver for every solve instead of updating a kept one (the cold path).
    pub cold: bool,
    /// Tighter tolerances (Clarabel's `high_accuracy`), for small τ.
    pub high_accuracy: bool,
    /// Clarabel's factorization of its KKT systems (other backends ignore it).
    pub kkt: KktSolver,
    /// Wrap the oracle in a certified face re-solve (`FaceOracle`, feature `clarabel`; without
    /// that feature the flag is ignored).
    pub face: bool,
    /// With `face`: solve faces with second-order cones on their boundary too, by Newton's
    /// method (`FaceSettings::boundary_cones`; it pays for SOCPs at small τ, see its docs).
    pub boundary_cones: bool,
    /// Iteration and time limits (Clarabel; invalid limits make every solve an
    /// `InvalidInput` error).
    pub limits: SolverLimits,
}

impl BackendOptions {
    /// The face re-solve's settings these options ask for (defaults, with `boundary_cones`).
    #[cfg(feature = "clarabel")]
    pub fn face_settings(&self) -> crate::FaceSettings {
        crate::FaceSettings {
            boundary_cones: self.boundary_cones,
            ..crate::FaceSettings::default()
        }
    }
}

/// The sparse symmetric factorization Clarabel uses for its KKT systems.
///
/// ```
/// use lpgd_solvers::KktSolver;
/// assert_eq!("qdldl".parse::<KktSolver>()?, KktSolver::Qdldl);
/// assert_eq!(KktSolver::default().to_string(), "auto");
/// assert!("mumps".parse::<KktSolver>().is_err());
/// # Ok::<(), lpgd_solvers::UnknownKktSolver>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KktSolver {
    /// Clarabel's choice: QDLDL, or — with the feature `clarabel-faer` — faer where the factor is
    /// dense enough for a supernodal method to pay (Clarabel's rule: flops / nnz(L) ≥ 40).
    #[default]
    Auto,
    /// QDLDL, a simplicial quasi-definite LDLᵀ (Clarabel's default without faer).
    Qdldl,
    /// faer's sparse LDLᵀ (simplicial or supernodal, faer's choice), on one thread (feature
    /// `clarabel-faer`).
    #[cfg(feature = "clarabel-faer")]
    Faer,
}

impl KktSolver {
    /// Every choice this build offers.
    #[allow(unused_mut)] // pushed to under a feature
    pub fn all() -> Vec<KktSolver> {
        let mut out = vec![KktSolver::Auto, KktSolver::Qdldl];
        #[cfg(feature = "clarabel-faer")]
        out.push(KktSolver::Faer);
        out
    }

    /// Clarabel's name for it (its `direct_solve_method` setting).
    pub fn name(&self) -> &'static str {
        match self {
            KktSolver::Auto => "auto",
            KktSolver::Qdldl => "qdldl",
            #[cfg(feature = "clarabel-faer")]
            KktSolver::Faer => "faer",
        }
    }
}

impl fmt::Display for KktSolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no KKT solver of this build.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown or not built KKT solver '{0}' (this build has: {avail})", avail = KktSolver::all().iter().map(KktSolver::name).collect::<Vec<_>>().join(", "))]
pub struct UnknownKktSolver(pub String);

impl FromStr for KktSolver {
    type Err = UnknownKktSolver;

    /// `auto`, `qdldl` or (feature `clarabel-faer`) `faer`.
    fn from_str(name: &str) -> Result<Self, UnknownKktSolver> {
        KktSolver::all()
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| UnknownKktSolver(name.to_string()))
    }
}

/// A name that is no backend of this build.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown or not built backend '{name}' (this build has: {available})")]
pub struct UnknownBackend {
    /// The name given.
    pub name: String,
    /// The names this build accepts, comma-separated.
    pub available: String,
}

const LP_CONES: [Capability; 2] = [
    Capability::Cone(ConeKind::Zero),
    Capability::Cone(ConeKind::Nonnegative),
];

impl Backend {
    /// Every backend this build offers (good_lp once per enabled solver), in a fixed order.
    // Backends are pushed under their features, so how many there are depends on the build.
    #[allow(unused_mut, clippy::vec_init_then_push)]
    pub fn all() -> Vec<Backend> {
        let mut out = Vec::new();
        #[cfg(feature = "clarabel")]
        out.push(Backend::Clarabel);
        #[cfg(feature = "osqp")]
        out.push(Backend::Osqp);
        #[cfg(feature = "highs")]
        out.push(Backend::Highs);
        #[cfg(feature = "good_lp")]
        out.extend(crate::GoodLpSolver::all().into_iter().map(Backend::GoodLp));
        out
    }

    /// What the backend supports: cones, a quadratic objective (P, and ρ > 0), duals.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut caps = LP_CONES.to_vec();
        match *self {
            #[cfg(feature = "clarabel")]
            Backend::Clarabel => {
                caps.extend([
                    Capability::Cone(ConeKind::SecondOrder),
                    Capability::Cone(ConeKind::Exponential),
                    Capability::Cone(ConeKind::Power),
                    Capability::QuadraticObjective,
                    Capability::Duals,
                ]);
                if cfg!(feature = "clarabel-sdp") {
                    caps.push(Capability::Cone(ConeKind::Psd));
                }
            }
            #[cfg(feature = "osqp")]
            Backend::Osqp => caps.extend([Capability::QuadraticObjective, Capability::Duals]),
            #[cfg(feature = "highs")]
            Backend::Highs => caps.push(Capability::Duals),
            #[cfg(feature = "good_lp")]
            Backend::GoodLp(solver) => {
                if solver.has_duals() {
                    caps.push(Capability::Duals);
                }
            }
        }
        caps
    }

    /// Whether the backend has `capability`.
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities().contains(&capability)
    }

    /// Whether the backend can run LPGD on `problem` with proximal weight `rho` (forward and
    /// backward need duals; P or ρ > 0 need a quadratic objective); the first capability missing.
    pub fn serves(&self, problem: &ConicProblem, rho: f64) -> Result<(), Capability> {
        let mut needed = vec![Capability::Duals];
        needed.extend(problem.cones().iter().map(|c| Capability::Cone(c.kind())));
        if problem.p().is_some() || rho > 0.0 {
            needed.push(Capability::QuadraticObjective);
        }
        match needed.into_iter().find(|c| !self.supports(*c)) {
            Some(missing) => Err(missing),
            None => Ok(()),
        }
    }

    /// A backend name, optionally with the suffix `+face` (the certified face re-solve around it)
    /// or `+face+boundary` (the same, with second-order cones on their boundary solved too): the
    /// backend and `options` with `face` and `boundary_cones` set from the suffix.
    ///
    /// ```
    /// use lpgd_solvers::{Backend, BackendOptions};
    /// let base = BackendOptions::default();
    /// let (backend, options) = Backend::parse_with_options("clarabel+face", base)?;
    /// assert_eq!(backend, Backend::Clarabel);
    /// assert!(options.face && !options.boundary_cones);
    /// let (_, options) = Backend::parse_with_options("clarabel+face+boundary", base)?;
    /// assert!(options.face && options.boundary_cones);
    /// let (_, options) = Backend::parse_with_options("clarabel", base)?;
    /// assert!(!options.face);
    /// assert!(Backend::parse_with_options("clarabel+boundary", base).is_err());
    /// # Ok::<(), lpgd_solvers::UnknownBackend>(())
    /// ```
    pub fn parse_with_options(
        name: &str,
        options: BackendOptions,
    ) -> Result<(Backend, BackendOptions), UnknownBackend> {
        let (plain, face, boundary_cones) = if let Some(p) = name.strip_suffix("+face+boundary") {
            (p, true, true)
        } else if let Some(p) = name.strip_suffix("+face") {
            (p, true, false)
        } else {
            (name, false, false)
        };
        let options = BackendOptions {
            face,
            boundary_cones,
            ..options
        };
        Ok((plain.parse()?, options))
    }

    /// A new oracle of this backend (wrapped in a `FaceOracle` when `options.face`).
    pub fn oracle(&self, options: BackendOptions) -> Box<dyn Oracle<ConicProblem>> {
        let plain = self.plain_oracle(options);
        #[cfg(feature = "clarabel")]
        if options.face {
            return Box::new(crate::FaceOracle::with_settings(
                plain,
                options.face_settings(),
            ));
        }
        plain
    }

    fn plain_oracle(&self, options: BackendOptions) -> Box<dyn Oracle<ConicProblem>> {
        match *self {
            #[cfg(feature = "clarabel")]
            Backend::Clarabel => {
                let o = if options.high_accuracy {
                    crate::ClarabelOracle::high_accuracy()
                } else {
                    crate::ClarabelOracle::new()
                };
                match o.with_limits(options.limits) {
                    Ok(o) => Box::new(o.with_reuse(!options.cold).with_kkt(options.kkt)),
                    Err(bad) => Box::new(Refusing(bad)),
                }
            }
            #[cfg(feature = "osqp")]
            Backend::Osqp => Box::new(crate::OsqpOracle::new().with_reuse(!options.cold)),
            #[cfg(feature = "highs")]
            Backend::Highs => Box::new(crate::HighsOracle::new().with_reuse(!options.cold)),
            #[cfg(feature = "good_lp")]
            Backend::GoodLp(solver) => Box::new(crate::GoodLpOracle::new(solver)),
        }
    }
}

impl fmt::Display for Backend {
    /// `clarabel`, `osqp`, `highs`, `good_lp:microlp`, `good_lp:highs`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            #[cfg(feature = "clarabel")]
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

impl FromStr for Backend {
    type Err = UnknownBackend;

    /// A name as printed, or `good_lp` for good_lp's default solver (microlp).
    fn from_str(name: &str) -> Result<Self, UnknownBackend> {
        let wanted = if name == "good_lp" {
            "good_lp:microlp"
        } else {
            name
        };
        Backend::all()
            .into_iter()
            .find(|b| b.to_string() == wanted)
            .ok_or_else(|| UnknownBackend {
                name: name.to_string(),
                available: Backend::all()
                    .iter()
                    .map(Backend::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_capabilities_are_consistent() {
        for backend in Backend::all() {
            assert_eq!(backend.to_string().parse::<Backend>(), Ok(backend));
            assert!(backend.supports(Capability::Cone(ConeKind::Zero)));
        }
        let err = "gurobi".parse::<Backend>().unwrap_err();
        assert!(err.to_string().contains("gurobi"));
    }
}
