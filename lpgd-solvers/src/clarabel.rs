//! The Clarabel interior-point solver as an oracle for [`ConicProblem`]s (feature `clarabel`).
//!
//! Supports every cone of the canonical form: zero, nonnegative, second-order, exponential and
//! power (PSD needs Clarabel's `sdp` feature, which links a system BLAS/LAPACK, and is not
//! offered). The dual `y` is Clarabel's `z`, which follows the same sign convention.
//!
//! **Fast re-solve.** Building a Clarabel solver (equilibration, KKT symbolic factorization) costs
//! about as much as a few interior-point iterations. LPGD re-solves differ from the forward problem
//! only in `c` and `b` (and in P by ρI), so the oracle keeps a few solvers keyed by the problem's
//! structure (A, P, cones) and, when one matches, only overwrites `q` and `b` with Clarabel's data
//! update API. Every solver is set up with `q = 0`, so its equilibration depends on (P, A) alone
//! and an updated solve gives bit-for-bit the same answer as a solver built for that problem: the
//! result never depends on what the oracle solved before (and so not on how a batch was split
//! across threads). Clarabel has no warm start; the hint is ignored.

use crate::cache::{OracleStats, StructureCache};
use crate::name::backend;
use crate::range::check_range;
use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::solver::{
    DefaultSettings, DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Oracle, SolveError, SolveStatus};
use ndarray::Array1;

pub use clarabel::solver::DefaultSettings as ClarabelSettings;

const NAME: &str = "clarabel";

/// The largest magnitude of the data Clarabel is given (see the crate's `range` notes): costs up
/// to 1e22 were solved correctly in probes and 1e25 was reported unbounded, so 1e20 leaves a margin.
pub const CLARABEL_LIMIT: f64 = 1e20;

/// Relative tolerance for checking Clarabel's infeasibility and unboundedness certificates.
const CERTIFICATE_TOLERANCE: f64 = 1e-6;

/// A Clarabel oracle that keeps solvers between calls to re-solve perturbed problems fast.
///
/// ```
/// use lpgd_core::{ConicProblem, Oracle};
/// use lpgd_solvers::ClarabelOracle;
/// use ndarray::array;
/// // min x0 + 2 x1  s.t.  x0 + x1 = 1, x >= 0
/// let problem = ConicProblem::builder(2)
///     .cost(array![1.0, 2.0])
///     .equalities(array![[1.0, 1.0]], array![1.0])
///     .bounds(&[0.0, 0.0], &[f64::INFINITY, f64::INFINITY])
///     .build()?;
/// let z = ClarabelOracle::new().solve(&problem, None)?;
/// assert!((z.x[0] - 1.0).abs() < 1e-7 && z.x[1].abs() < 1e-7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClarabelOracle {
    settings: DefaultSettings<f64>,
    cache: StructureCache<DefaultSolver<f64>>,
}

impl Default for ClarabelOracle {
    fn default() -> Self {
        Self::new()
    }
}

impl ClarabelOracle {
    /// An oracle with Clarabel's default tolerances, quiet.
    pub fn new() -> Self {
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .build()
            .expect("Clarabel's default settings are valid");
        Self::with_settings(settings)
    }

    /// An oracle with the given Clarabel settings. Presolve and dropping of explicit zeros are
    /// switched off (the data-update path needs a fixed structure), and so is verbosity.
    pub fn with_settings(mut settings: DefaultSettings<f64>) -> Self {
        settings.presolve_enable = false;
        settings.input_sparse_dropzeros = false;
        settings.verbose = false;
        Self {
            settings,
            cache: StructureCache::new(),
        }
    }

    /// An oracle with tighter tolerances than Clarabel's defaults (gap and feasibility 1e-10),
    /// for small-τ gradients and finite-difference checks.
    pub fn high_accuracy() -> Self {
        let settings = DefaultSettingsBuilder::default()
            .tol_gap_abs(1e-11)
            .tol_gap_rel(1e-11)
            .tol_feas(1e-11)
            .tol_ktratio(1e-9)
            .max_iter(400)
            .build()
            .expect("valid settings");
        Self::with_settings(settings)
    }

    /// Whether to reuse cached solvers (default: yes). Without reuse every solve builds a new
    /// solver — the cold path, for comparison in benchmarks.
    pub fn with_reuse(mut self, reuse: bool) -> Self {
        self.cache.set_reuse(reuse);
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &DefaultSettings<f64> {
        &self.settings
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> OracleStats {
        self.cache.stats()
    }

    /// Forgets cached solvers.
    pub fn clear(&mut self) {
        self.cache.clear();
    }
}

fn to_clarabel(m: &CscMatrix) -> ClCsc<f64> {
    ClCsc::new(
        m.nrows(),
        m.ncols(),
        m.colptr().to_vec(),
        m.rowval().to_vec(),
        m.values().to_vec(),
    )
}

fn cones_to_clarabel(cones: &[Cone]) -> Vec<SupportedConeT<f64>> {
    cones
        .iter()
        .filter(|c| c.dim() > 0)
        .map(|c| match *c {
            Cone::Zero(k) => SupportedConeT::ZeroConeT(k),
            Cone::Nonnegative(k) => SupportedConeT::NonnegativeConeT(k),
            Cone::SecondOrder(k) => SupportedConeT::SecondOrderConeT(k),
            Cone::Exponential => SupportedConeT::ExponentialConeT(),
            Cone::Power(a) => SupportedConeT::PowerConeT(a),
        })
        .collect()
}

fn build_solver(
    problem: &ConicProblem,
    q: Option<&[f64]>,
    settings: &DefaultSettings<f64>,
) -> Result<DefaultSolver<f64>, SolveError> {
    let zeros = vec![0.0; problem.n()];
    let p = match problem.p() {
        Some(p) => to_clarabel(p),
        None => ClCsc::zeros((problem.n(), problem.n())),
    };
    DefaultSolver::new(
        &p,
        q.unwrap_or(&zeros),
        &to_clarabel(problem.a()),
        problem.b().as_slice().expect("contiguous"),
        &cones_to_clarabel(problem.cones()),
        settings.clone(),
    )
    .map_err(|e| backend(NAME, e))
}

/// The status as a result; infeasible and unbounded claims only with a certificate that checks
/// out (Clarabel leaves it in `z`, respectively in `x` and `s`).
fn status_to_result(
    status: SolverStatus,
    problem: &ConicProblem,
    sol: &clarabel::solver::DefaultSolution<f64>,
) -> Result<SolveStatus, SolveError> {
    match status {
        SolverStatus::Solved => Ok(SolveStatus::Solved),
        SolverStatus::AlmostSolved => Ok(SolveStatus::AlmostSolved),
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            problem.verify_infeasible(&Array1::from(sol.z.clone()), CERTIFICATE_TOLERANCE)?;
            Err(SolveError::Infeasible)
        }
        SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
            problem.verify_unbounded(
                &Array1::from(sol.x.clone()),
                &Array1::from(sol.s.clone()),
                CERTIFICATE_TOLERANCE,
            )?;
            Err(SolveError::Unbounded)
        }
        SolverStatus::MaxIterations => Err(SolveError::MaxIterations),
        SolverStatus::MaxTime => Err(SolveError::MaxTime),
        SolverStatus::NumericalError | SolverStatus::InsufficientProgress => {
            Err(SolveError::Numerical)
        }
        other => Err(SolveError::Backend {
            backend: NAME,
            message: format!("unexpected status {other:?}"),
        }),
    }
}

impl Oracle<ConicProblem> for ClarabelOracle {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        _warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        check_range(problem, NAME, CLARABEL_LIMIT)?;
        let reuse = self.cache.reuse();
        let settings = &self.settings;
        let (solver, stats, _) = self.cache.get_or_build(problem, || {
            // A kept solver is set up with q = 0, so that its equilibration (and so every later
            // answer) depends on (P, A) alone; the cold path sets up each solver for its own
            // problem, exactly as a one-off Clarabel call (and diffcp) would, cost scaling included.
            let q = (!reuse).then(|| problem.c().as_slice().expect("contiguous"));
            build_solver(problem, q, settings)
        })?;
        let q = problem.c().as_slice().expect("contiguous");
        let b = problem.b().as_slice().expect("contiguous");
        solver
            .update_q(&q.to_vec())
            .and_then(|()| solver.update_b(&b.to_vec()))
            .map_err(|e| backend(NAME, e))?;
        solver.solve();
        let sol = &solver.solution;
        stats.iterations += u64::from(sol.iterations);
        let status = status_to_result(sol.status, problem, sol)?;
        let solution = ConicSolution {
            x: Array1::from(sol.x.clone()),
            y: Array1::from(sol.z.clone()),
            s: Array1::from(sol.s.clone()),
            status,
            iterations: sol.iterations,
        };
        Ok(solution)
    }
}
