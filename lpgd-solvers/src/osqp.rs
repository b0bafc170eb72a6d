//! OSQP 0.6 (ADMM) as an oracle for LPs and QPs (feature `osqp`).
//!
//! Takes zero and nonnegative cones and any positive semidefinite P; other cones are
//! [`SolveError::Unsupported`]. Conic rows become `l ≤ Ax ≤ u` (equalities `l = u = b`,
//! inequalities `−∞ ≤ aᵢx ≤ bᵢ`), so OSQP's dual is the conic `y` with the same sign.
//!
//! **Re-solves keep the factorization.** The oracle keeps one OSQP workspace per problem structure
//! (A, P, cones) and, when one matches, only updates the linear cost and the bounds, then
//! warm-starts ADMM from the hint (the forward `(x, y)` in an LPGD re-solve); without a hint it
//! starts from zero. Solutions are polished (an active-set step after ADMM), which makes them
//! accurate to ~1e-9 when the active set is identified.
//!
//! Wraps OSQP 0.6.3 (its C sources ship with the crate and build offline with cmake). OSQP 1.0
//! adds a reworked C API, alternative linear-algebra back ends (MKL, CUDA) and derivatives of the
//! solution; this oracle needs none of them (LPGD's derivatives come from re-solves), and the
//! `osqp` 1.0 crate fetches a dependency at build time, which fails offline.

use crate::cache::{OracleStats, StructureCache};
use crate::range::check_range;
use crate::rows::{row_bounds, slacks, RowBounds};
use lpgd_core::{ConicProblem, ConicSolution, CscMatrix, Oracle, SolveError, SolveStatus};
use ndarray::Array1;
use osqp::{PolishStatus, Problem, Settings, Status};
use std::borrow::Cow;

pub use osqp::Settings as OsqpSettings;

const NAME: &str = "osqp";

/// OSQP's infinity: bounds at or beyond it are absent.
const INFINITY: f64 = 1e30;

/// The largest magnitude of the data OSQP is given: far enough below its infinity (1e30) that a
/// perturbed bound never crosses it, and within what ADMM's scaling handles.
pub const OSQP_LIMIT: f64 = 1e20;

/// OSQP's default initial ADMM step.
const DEFAULT_RHO: f64 = 0.1;

/// Relative tolerance for checking OSQP's infeasibility and unboundedness certificates.
const CERTIFICATE_TOLERANCE: f64 = 1e-5;

/// An OSQP oracle that keeps its factorization between re-solves.
///
/// ```
/// use lpgd_core::{ConicProblem, Oracle};
/// use lpgd_solvers::OsqpOracle;
/// use ndarray::array;
/// let problem = ConicProblem::builder(2)
///     .cost(array![1.0, 2.0])
///     .equalities(array![[1.0, 1.0]], array![1.0])
///     .bounds(&[0.0, 0.0], &[f64::INFINITY, f64::INFINITY])
///     .build()?;
/// let z = OsqpOracle::new().solve(&problem, None)?;
/// assert!((z.x[0] - 1.0).abs() < 1e-6 && z.x[1].abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OsqpOracle {
    settings: Settings,
    lp_settings: Settings,
    /// The initial ADMM step of `settings` and of `lp_settings`, restored before each re-solve
    /// of a kept workspace when ρ adapts (`None`: a fixed step, nothing to restore).
    rho_reset: Option<f64>,
    lp_rho_reset: Option<f64>,
    polish: bool,
    stall_fallback: Option<Settings>,
    cache: StructureCache<Problem>,
}

impl Default for OsqpOracle {
    fn default() -> Self {
        Self::new()
    }
}

impl OsqpOracle {
    /// ADMM tolerances 1e-5 (absolute and relative), then polishing, up to 100 000 iterations,
    /// quiet. A successful polish makes the answer exact to ~1e-10 on LPs and QPs alike (tighter
    /// ADMM tolerances only cost iterations); an answer whose polish failed is reported as
    /// [`SolveStatus::AlmostSolved`].
    ///
    /// The ADMM step ρ: QPs use OSQP's adaptive schedule (~150 iterations on the reference QPs,
    /// ~700 with a fixed ρ = 1); LPs use a fixed ρ = 1, because on LPs the adaptive schedule was
    /// seen to stall (100 000 iterations) where the fixed step converges. A QP solve that hits the
    /// iteration limit is retried once with the fixed step.
    pub fn new() -> Self {
        // OSQP's default adapts ρ on a schedule measured in set-up *time*, which makes iteration
        // counts (and answers, to polish accuracy) vary from run to run; every 25 iterations is
        // deterministic.
        let base = Settings::default()
            .eps_abs(1e-5)
            .eps_rel(1e-5)
            .max_iter(100_000)
            .adaptive_rho_interval(Some(25));
        let fixed = base
            .clone()
            .adaptive_rho(false)
            .rho(1.0)
            .verbose(false)
            .warm_start(true)
            .polish(true);
        let mut oracle = Self::with_settings(base, DEFAULT_RHO, true, true);
        oracle.lp_settings = fixed.clone();
        oracle.lp_rho_reset = None;
        oracle.stall_fallback = Some(fixed);
        oracle
    }

    /// An oracle with the given OSQP settings (verbosity is switched off; warm starting on), the
    /// initial ADMM step `rho`, and whether ρ adapts and the answer is polished (OSQP's settings
    /// cannot be read back, so these are set here).
    ///
    /// A kept workspace is set up with a zero linear cost (so its scaling depends on P and A
    /// alone) and, when ρ adapts, gets its initial ρ back before every re-solve: each answer is a
    /// function of the problem and the warm-start hint alone, never of what was solved before.
    pub fn with_settings(settings: Settings, rho: f64, adaptive_rho: bool, polish: bool) -> Self {
        let settings = settings
            .verbose(false)
            .warm_start(true)
            .polish(polish)
            .rho(rho)
            .adaptive_rho(adaptive_rho);
        Self {
            lp_settings: settings.clone(),
            settings,
            rho_reset: adaptive_rho.then_some(rho),
            lp_rho_reset: adaptive_rho.then_some(rho),
            polish,
            stall_fallback: None,
            cache: StructureCache::new(),
        }
    }

    /// Whether to keep workspaces between calls (default: yes). Without, every solve sets OSQP
    /// up from scratch and starts from zero.
    pub fn with_reuse(mut self, reuse: bool) -> Self {
        self.cache.set_reuse(reuse);
        self
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> OracleStats {
        self.cache.stats()
    }
}

fn to_osqp(m: &CscMatrix) -> osqp::CscMatrix<'static> {
    osqp::CscMatrix {
        nrows: m.nrows(),
        ncols: m.ncols(),
        indptr: Cow::Owned(m.colptr().to_vec()),
        indices: Cow::Owned(m.rowval().to_vec()),
        data: Cow::Owned(m.values().to_vec()),
    }
}

fn setup(
    problem: &ConicProblem,
    rows: &RowBounds,
    settings: &Settings,
) -> Result<Problem, SolveError> {
    let n = problem.n();
    let p = match problem.p() {
        Some(p) => to_osqp(p),
        None => to_osqp(&CscMatrix::zeros(n, n)?),
    };
    // A zero cost at set-up: OSQP's cost scaling then depends on P alone, and the cost is set by
    // an update, as for every re-solve.
    Problem::new(
        p,
        &vec![0.0; n],
        to_osqp(problem.a()),
        &rows.lower,
        &rows.upper,
        settings,
    )
    .map(|mut workspace| {
        workspace.update_lin_cost(problem.c().as_slice().expect("contiguous"));
        workspace
    })
    .map_err(|e| match e {
        osqp::SetupError::NonConvex => SolveError::Backend {
            backend: NAME,
            message: "P is not positive semidefinite".into(),
        },
        other => crate::name::backend(NAME, format!("{other:?}")),
    })
}

/// Solves on a set-up workspace (data already current), from the hint or from zero.
fn run(
    workspace: &mut Problem,
    problem: &ConicProblem,
    rows: &RowBounds,
    warm: Option<&ConicSolution>,
    polish: bool,
    stats: &mut OracleStats,
) -> Result<ConicSolution, SolveError> {
    match warm.filter(|z| z.x.len() == problem.n() && z.y.len() == problem.m()) {
        Some(z) => workspace.warm_start(&z.x.to_vec(), &z.y.to_vec()),
        None => workspace.warm_start(&vec![0.0; problem.n()], &vec![0.0; problem.m()]),
    }
    let status = workspace.solve();
    stats.iterations += u64::from(status.iter());
    let (solution, accuracy) = match &status {
        Status::Solved(s) if !polish || s.polish_status() == PolishStatus::Successful => {
            (s, SolveStatus::Solved)
        }
        Status::Solved(s) => (s, SolveStatus::AlmostSolved),
        Status::SolvedInaccurate(s) => (s, SolveStatus::AlmostSolved),
        Status::MaxIterationsReached(_) => return Err(SolveError::MaxIterations),
        Status::TimeLimitReached(_) => return Err(SolveError::MaxTime),
        Status::PrimalInfeasible(certificate) => {
            let y = Array1::from(certificate.delta_y().to_vec());
            problem.verify_infeasible(&y, CERTIFICATE_TOLERANCE)?;
            return Err(SolveError::Infeasible);
        }
        Status::DualInfeasible(certificate) => {
            let x = Array1::from(certificate.delta_x().to_vec());
            let s = -problem.a().mul_vec(certificate.delta_x());
            problem.verify_unbounded(&x, &s, CERTIFICATE_TOLERANCE)?;
            return Err(SolveError::Unbounded);
        }
        Status::PrimalInfeasibleInaccurate(_) | Status::DualInfeasibleInaccurate(_) => {
            return Err(SolveError::Numerical)
        }
        Status::NonConvex(_) => {
            return Err(SolveError::Backend {
                backend: NAME,
                message: "P is not positive semidefinite".into(),
            })
        }
        _ => return Err(SolveError::Numerical),
    };
    let x = solution.x().to_vec();
    let y = solution.y().to_vec();
    let s = slacks(problem, &x, &rows.equality);
    Ok(ConicSolution {
        x: Array1::from(x),
        y: Array1::from(y),
        s: Array1::from(s),
        status: accuracy,
        iterations: status.iter(),
    })
}

impl Oracle<ConicProblem> for OsqpOracle {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        check_range(problem, NAME, OSQP_LIMIT)?;
        let rows = row_bounds(problem, NAME, INFINITY)?;
        let (settings, rho_reset) = if problem.p().is_some() {
            (&self.settings, self.rho_reset)
        } else {
            (&self.lp_settings, self.lp_rho_reset)
        };
        let (workspace, stats, reused) = self
            .cache
            .get_or_build(problem, || setup(problem, &rows, settings))?;
        if reused {
            workspace.update_lin_cost(problem.c().as_slice().expect("contiguous"));
            workspace.update_bounds(&rows.lower, &rows.upper);
            if let Some(rho) = rho_reset {
                workspace.update_rho(rho);
            }
        }
        let result = run(workspace, problem, &rows, warm, self.polish, stats);
        match (&result, &self.stall_fallback) {
            (Err(SolveError::MaxIterations), Some(fallback)) if problem.p().is_some() => {
                let mut one_off = setup(problem, &rows, fallback)?;
                stats.setups += 1;
                run(&mut one_off, problem, &rows, warm, true, stats)
            }
            _ => result,
        }
    }
}
