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

use crate::name::backend;
use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::solver::{
    DefaultSettings, DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Oracle, SolveError, SolveStatus};
use ndarray::Array1;

pub use clarabel::solver::DefaultSettings as ClarabelSettings;

const NAME: &str = "clarabel";

/// How many distinct problem structures the oracle keeps a solver for (forward problem, ρ-shifted
/// backward problem, slack-embedded backward problem, and one spare).
const CACHE_SLOTS: usize = 4;

/// Counters of what the oracle did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClarabelStats {
    /// Calls to `solve`.
    pub solves: u64,
    /// Solvers built from scratch.
    pub setups: u64,
    /// Solves that reused a cached solver by updating `q` and `b`.
    pub updates: u64,
    /// Interior-point iterations, summed.
    pub iterations: u64,
}

struct Slot {
    a: CscMatrix,
    p: CscMatrix,
    cones: Vec<Cone>,
    solver: DefaultSolver<f64>,
    last_used: u64,
}

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
    reuse: bool,
    slots: Vec<Slot>,
    clock: u64,
    stats: ClarabelStats,
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
            reuse: true,
            slots: Vec::new(),
            clock: 0,
            stats: ClarabelStats::default(),
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
        self.reuse = reuse;
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &DefaultSettings<f64> {
        &self.settings
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> ClarabelStats {
        self.stats
    }

    /// Forgets cached solvers.
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    fn slot_for(&mut self, problem: &ConicProblem, p: &CscMatrix) -> Result<usize, SolveError> {
        self.clock += 1;
        if self.reuse {
            if let Some(k) = self
                .slots
                .iter()
                .position(|s| &s.a == problem.a() && &s.p == p && s.cones == problem.cones())
            {
                self.slots[k].last_used = self.clock;
                self.stats.updates += 1;
                return Ok(k);
            }
        }
        // A reused solver is set up with q = 0, so that its equilibration (and so every later
        // answer) depends on (P, A) alone; the cold path sets up each solver for its own problem,
        // exactly as a one-off Clarabel call (and diffcp) would, cost scaling included.
        let q = (!self.reuse).then(|| problem.c().as_slice().expect("contiguous"));
        let solver = build_solver(problem, p, q, &self.settings)?;
        self.stats.setups += 1;
        let slot = Slot {
            a: problem.a().clone(),
            p: p.clone(),
            cones: problem.cones().to_vec(),
            solver,
            last_used: self.clock,
        };
        if self.slots.len() < CACHE_SLOTS {
            self.slots.push(slot);
            Ok(self.slots.len() - 1)
        } else {
            let k = (0..self.slots.len())
                .min_by_key(|&k| self.slots[k].last_used)
                .expect("the cache is full, so not empty");
            self.slots[k] = slot;
            Ok(k)
        }
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
    p: &CscMatrix,
    q: Option<&[f64]>,
    settings: &DefaultSettings<f64>,
) -> Result<DefaultSolver<f64>, SolveError> {
    let zeros = vec![0.0; problem.n()];
    DefaultSolver::new(
        &to_clarabel(p),
        q.unwrap_or(&zeros),
        &to_clarabel(problem.a()),
        problem.b().as_slice().expect("contiguous"),
        &cones_to_clarabel(problem.cones()),
        settings.clone(),
    )
    .map_err(|e| backend(NAME, e))
}

fn status_to_result(status: SolverStatus) -> Result<SolveStatus, SolveError> {
    match status {
        SolverStatus::Solved => Ok(SolveStatus::Solved),
        SolverStatus::AlmostSolved => Ok(SolveStatus::AlmostSolved),
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            Err(SolveError::Infeasible)
        }
        SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
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
        let empty;
        let p = match problem.p() {
            Some(p) => p,
            None => {
                empty = CscMatrix::zeros(problem.n(), problem.n());
                &empty
            }
        };
        let k = self.slot_for(problem, p)?;
        self.stats.solves += 1;
        let solver = &mut self.slots[k].solver;
        let q = problem.c().as_slice().expect("contiguous");
        let b = problem.b().as_slice().expect("contiguous");
        solver
            .update_q(&q.to_vec())
            .and_then(|()| solver.update_b(&b.to_vec()))
            .map_err(|e| backend(NAME, e))?;
        solver.solve();
        let sol = &solver.solution;
        self.stats.iterations += u64::from(sol.iterations);
        let status = status_to_result(sol.status)?;
        let solution = ConicSolution {
            x: Array1::from(sol.x.clone()),
            y: Array1::from(sol.z.clone()),
            s: Array1::from(sol.s.clone()),
            status,
            iterations: sol.iterations,
        };
        if solution
            .x
            .iter()
            .chain(&solution.y)
            .chain(&solution.s)
            .any(|v| !v.is_finite())
        {
            return Err(SolveError::Numerical);
        }
        Ok(solution)
    }
}
