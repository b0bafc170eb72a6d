//! The Clarabel interior-point solver as an oracle for [`ConicProblem`]s (feature `clarabel`).
//!
//! Supports every cone of the canonical form: zero, nonnegative, second-order, exponential and
//! power, and — with the feature `clarabel-sdp`, which links the system OpenBLAS — positive
//! semidefinite cones (without it, a PSD cone is [`SolveError::Unsupported`]). The dual `y` is
//! Clarabel's `z`, which follows the same sign convention.
//!
//! **PSD layout.** The canonical form keeps a PSD block as diffcp and SCS do (lower triangle,
//! column by column, off-diagonals scaled by √2); Clarabel wants the upper triangle column by
//! column with the same scaling. [`ClarabelRows`] is the one place that converts: it permutes A's
//! and b's rows on the way in and s's and z's on the way out.
//!
//! **Fast re-solve.** Building a Clarabel solver (equilibration, KKT assembly, AMD ordering and
//! symbolic factorization) costs about as much as a few interior-point iterations. The oracle keeps
//! a few solvers keyed by the problem's *structure* — the patterns of A and P and the cones, not
//! their values — so every item of a layer ([`lpgd_core::ConicStructure`]) and every LPGD re-solve
//! (new `c` and `b`, P + ρI) reuses one analysis. Before each solve the kept solver gets the
//! problem's own equilibration, computed by Clarabel's routine from this problem's (P, q, A, b)
//! exactly as a new solver would compute it, and then its values through Clarabel's data-update
//! API. So an answer depends on the problem alone, never on what the oracle solved before (and so
//! not on how a batch was split across threads), and the kept path is as accurate as a solver
//! built for the problem (cost scaling included). Clarabel has no warm start; the hint is ignored.

use crate::cache::{OracleStats, StructureCache};
use crate::name::backend;
use crate::range::check_range;
use crate::{KktSolver, SolverLimits};
use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::solver::traits::ProblemData;
use clarabel::solver::{
    DefaultProblemData, DefaultSettings, DefaultSettingsBuilder, DefaultSolver, IPSolver,
    SolverStatus, SupportedConeT,
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
    /// Solve without iterative refinement first, and again with it where that is not solved.
    refine_on_demand: bool,
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
    /// switched off (the data-update path needs a fixed structure), and so is verbosity; the
    /// factorization runs on one thread (batches are parallel across items, and a threaded
    /// factorization could round differently on different machines).
    pub fn with_settings(mut settings: DefaultSettings<f64>) -> Self {
        settings.presolve_enable = false;
        settings.input_sparse_dropzeros = false;
        settings.verbose = false;
        settings.max_threads = 1;
        if KktSolver::all()
            .iter()
            .all(|k| k.name() != settings.direct_solve_method)
        {
            // A method this build does not have would make Clarabel panic when it builds a solver.
            settings.direct_solve_method = KktSolver::Auto.name().to_string();
        }
        Self {
            settings,
            refine_on_demand: false,
            cache: StructureCache::by_pattern(),
        }
    }

    /// Iterative refinement of the KKT solves only where it is needed (default: off). On, a
    /// problem is solved first without refinement — a fifth of an interior-point iteration's work
    /// on the bundled medium families (measured: qp_box_medium 2.12 → 1.68 ms per solve, the same
    /// iterations, x as far from a high-accuracy solve) — and again with Clarabel's refinement
    /// wherever the first answer is not `Solved` (counted in [`OracleStats::refined`]). Clarabel's
    /// termination test reads the residuals of the iterates, so a `Solved` answer meets the
    /// tolerances either way, and whether the second solve runs depends on the problem alone.
    /// It is not the default because where in the tolerance an answer lands does change: LPGD at
    /// τ = 1e-5 on the degenerate Sudoku LPs of `lpgd-bench paper sudoku` moved 9 % from finite
    /// differences. Only the kept-solver path does this: the cold path
    /// ([`ClarabelOracle::with_reuse`]`(false)`) stays a one-off Clarabel call.
    pub fn with_refinement_on_demand(mut self, on: bool) -> Self {
        self.refine_on_demand = on && self.settings.iterative_refinement_enable;
        self
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

    /// Limits on every solve: at most `limits.max_iter` interior-point iterations (default 200,
    /// Clarabel's) and `limits.time_limit` seconds. A solve a limit stops answers its last
    /// iterate with [`SolveStatus::IterationLimit`] / [`SolveStatus::TimeLimit`] — not an
    /// optimum, so [`Lpgd`](lpgd_core::Lpgd) refuses it unless told to accept stopped answers.
    /// A limit that is not a number of iterations ≥ 1 or of seconds > 0 is an error.
    ///
    /// ```
    /// use lpgd_core::{ConicProblem, Lpgd, Oracle, SolveError, SolveStatus};
    /// use lpgd_core::ndarray::array;
    /// use lpgd_solvers::{ClarabelOracle, SolverLimits};
    /// let lp = ConicProblem::builder(2).cost(array![1.0, 2.0]).bounds(&[0.0; 2], &[1.0; 2]).build()?;
    /// let limits = SolverLimits { max_iter: Some(1), ..SolverLimits::default() };
    /// let mut oracle = ClarabelOracle::new().with_limits(limits)?;
    /// let z = oracle.solve(&lp, None)?;
    /// assert_eq!(z.status, SolveStatus::IterationLimit);
    /// assert!(matches!(Lpgd::new(0.1)?.forward(&mut oracle, &lp), Err(e) if e.kind() == "max_iterations"));
    /// let accepted = Lpgd::new(0.1)?.with_accept_stopped(true).forward(&mut oracle, &lp)?;
    /// assert_eq!(accepted.status, SolveStatus::IterationLimit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_limits(mut self, limits: SolverLimits) -> Result<Self, lpgd_core::InvalidInput> {
        limits.check()?;
        if let Some(k) = limits.max_iter {
            self.settings.max_iter = k;
        }
        if let Some(t) = limits.time_limit {
            self.settings.time_limit = t;
        }
        self.cache.clear();
        Ok(self)
    }

    /// The factorization of Clarabel's KKT systems (default [`KktSolver::Auto`]).
    pub fn with_kkt(mut self, kkt: KktSolver) -> Self {
        self.settings.direct_solve_method = kkt.name().to_string();
        self.cache.clear();
        self
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

/// A matrix as Clarabel's CSC type (the same arrays; for calling Clarabel directly beside the
/// oracle, as the profiling example does).
pub fn to_clarabel(m: &CscMatrix) -> ClCsc<f64> {
    ClCsc::new(
        m.nrows(),
        m.ncols(),
        m.colptr().to_vec(),
        m.rowval().to_vec(),
        m.values().to_vec(),
    )
}

/// The row order Clarabel sees: ours except inside PSD blocks, where diffcp's lower-triangle
/// `svec` becomes Clarabel's upper-triangle `svec` (entry (i, j) of the upper triangle is entry
/// (j, i) of the lower one; the √2 scaling is the same). Identity without PSD cones.
pub struct ClarabelRows {
    /// `ours[r]`: our row of Clarabel's row `r` (None: the identity).
    ours: Option<Vec<usize>>,
}

impl ClarabelRows {
    /// The order for a problem's cones.
    pub fn new(cones: &[Cone]) -> Self {
        if !cones.iter().any(|c| matches!(c, Cone::Psd(_))) {
            return Self { ours: None };
        }
        let mut ours = Vec::new();
        let mut start = 0;
        for cone in cones {
            match *cone {
                Cone::Psd(k) => {
                    // Our index of lower entry (r, c), r ≥ c: the columns before c hold
                    // k + (k − 1) + … entries, then r − c down column c.
                    let lower = |r: usize, c: usize| c * k - c * c.saturating_sub(1) / 2 + (r - c);
                    for j in 0..k {
                        for i in 0..=j {
                            ours.push(start + lower(j, i));
                        }
                    }
                }
                _ => ours.extend(start..start + cone.dim()),
            }
            start += cone.dim();
        }
        Self { ours: Some(ours) }
    }

    /// A vector in Clarabel's row order (b).
    pub fn to_clarabel(&self, v: &[f64]) -> Vec<f64> {
        match &self.ours {
            None => v.to_vec(),
            Some(ours) => ours.iter().map(|&r| v[r]).collect(),
        }
    }

    /// A vector of Clarabel's (s, z) back in our row order.
    pub fn to_ours(&self, v: &[f64]) -> Array1<f64> {
        match &self.ours {
            None => Array1::from(v.to_vec()),
            Some(ours) => {
                let mut out = Array1::zeros(v.len());
                for (r, &o) in ours.iter().enumerate() {
                    out[o] = v[r];
                }
                out
            }
        }
    }

    /// A in Clarabel's row order (rows re-sorted within each column).
    fn matrix(&self, a: &CscMatrix) -> ClCsc<f64> {
        let Some(ours) = &self.ours else {
            return to_clarabel(a);
        };
        let mut theirs = vec![0; ours.len()];
        for (r, &o) in ours.iter().enumerate() {
            theirs[o] = r;
        }
        let mut rowval = Vec::with_capacity(a.nnz());
        let mut values = Vec::with_capacity(a.nnz());
        for j in 0..a.ncols() {
            let (lo, hi) = (a.colptr()[j], a.colptr()[j + 1]);
            let mut column: Vec<(usize, f64)> = (lo..hi)
                .map(|k| (theirs[a.rowval()[k]], a.values()[k]))
                .collect();
            column.sort_by_key(|e| e.0);
            for (r, v) in column {
                rowval.push(r);
                values.push(v);
            }
        }
        ClCsc::new(a.nrows(), a.ncols(), a.colptr().to_vec(), rowval, values)
    }
}

/// The cones as Clarabel's (empty cones left out); a PSD cone needs the feature `clarabel-sdp`
/// (and its rows in Clarabel's order: see [`ClarabelRows`]).
pub fn cones_to_clarabel(cones: &[Cone]) -> Result<Vec<SupportedConeT<f64>>, SolveError> {
    cones
        .iter()
        .filter(|c| c.dim() > 0)
        .map(|c| {
            Ok(match *c {
                Cone::Zero(k) => SupportedConeT::ZeroConeT(k),
                Cone::Nonnegative(k) => SupportedConeT::NonnegativeConeT(k),
                Cone::SecondOrder(k) => SupportedConeT::SecondOrderConeT(k),
                Cone::Exponential => SupportedConeT::ExponentialConeT(),
                Cone::Power(a) => SupportedConeT::PowerConeT(a),
                #[cfg(feature = "clarabel-sdp")]
                Cone::Psd(k) => SupportedConeT::PSDTriangleConeT(k),
                #[cfg(not(feature = "clarabel-sdp"))]
                Cone::Psd(_) => {
                    return Err(SolveError::Unsupported {
                        backend: NAME,
                        what: lpgd_core::Capability::Cone(lpgd_core::ConeKind::Psd),
                    })
                }
            })
        })
        .collect()
}

/// A problem's data as Clarabel takes it (rows in Clarabel's order).
struct ClarabelData {
    p: ClCsc<f64>,
    a: ClCsc<f64>,
    b: Vec<f64>,
    cones: Vec<SupportedConeT<f64>>,
}

impl ClarabelData {
    fn new(problem: &ConicProblem, rows: &ClarabelRows) -> Result<Self, SolveError> {
        Ok(Self {
            p: match problem.p() {
                Some(p) => to_clarabel(p),
                None => ClCsc::zeros((problem.n(), problem.n())),
            },
            a: rows.matrix(problem.a()),
            b: rows.to_clarabel(problem.b().as_slice().expect("contiguous")),
            cones: cones_to_clarabel(problem.cones())?,
        })
    }

    fn solver(
        &self,
        q: &[f64],
        settings: &DefaultSettings<f64>,
    ) -> Result<DefaultSolver<f64>, SolveError> {
        DefaultSolver::new(&self.p, q, &self.a, &self.b, &self.cones, settings.clone())
            .map_err(|e| backend(NAME, e))
    }

    /// Gives a kept solver of the same structure this problem: the equilibration a new solver
    /// would compute for it (Clarabel's own routine on this data), then its values.
    fn refresh(
        &self,
        solver: &mut DefaultSolver<f64>,
        q: &[f64],
        settings: &DefaultSettings<f64>,
    ) -> Result<(), SolveError> {
        let mut fresh =
            DefaultProblemData::new(&self.p, q, &self.a, &self.b, &self.cones, settings);
        // The kept solver's cones have this problem's structure (equilibration reads only that).
        fresh.equilibrate(&solver.cones, settings);
        solver.data.equilibration = fresh.equilibration;
        solver
            .update_P(&self.p)
            .and_then(|()| solver.update_A(&self.a))
            .and_then(|()| solver.update_q(&q.to_vec()))
            .and_then(|()| solver.update_b(&self.b))
            .map_err(|e| backend(NAME, e))
    }
}

/// The status as a result; infeasible and unbounded claims only with a certificate that checks
/// out (Clarabel leaves it in `z`, respectively in `x` and `s`).
fn status_to_result(
    status: SolverStatus,
    problem: &ConicProblem,
    rows: &ClarabelRows,
    sol: &clarabel::solver::DefaultSolution<f64>,
) -> Result<SolveStatus, SolveError> {
    match status {
        SolverStatus::Solved => Ok(SolveStatus::Solved),
        SolverStatus::AlmostSolved => Ok(SolveStatus::AlmostSolved),
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            problem.verify_infeasible(&rows.to_ours(&sol.z), CERTIFICATE_TOLERANCE)?;
            Err(SolveError::Infeasible)
        }
        SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
            problem.verify_unbounded(
                &Array1::from(sol.x.clone()),
                &rows.to_ours(&sol.s),
                CERTIFICATE_TOLERANCE,
            )?;
            Err(SolveError::Unbounded)
        }
        // The last iterate, flagged: the caller decides whether a stopped point will do.
        SolverStatus::MaxIterations => Ok(SolveStatus::IterationLimit),
        SolverStatus::MaxTime => Ok(SolveStatus::TimeLimit),
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
        let rows = ClarabelRows::new(problem.cones());
        let data = ClarabelData::new(problem, &rows)?;
        let q = problem.c().as_slice().expect("contiguous");
        let settings = &self.settings;
        let reuse = self.cache.reuse();
        let (solver, stats, kept) = self
            .cache
            .get_or_build(problem, || data.solver(q, settings))?;
        if !solver.is_data_update_allowed() {
            // Clarabel changed the problem's form (a chordal decomposition of a sparse PSD
            // block): its data cannot be updated, so each problem gets a solver of its own.
            if kept {
                *solver = data.solver(q, settings)?;
            }
        } else if reuse {
            // A new solver already holds this problem; refreshing it anyway keeps the first
            // solve of a structure bit-identical to every later one.
            data.refresh(solver, q, settings)?;
        }
        if reuse && self.refine_on_demand {
            let mut plain = settings.clone();
            plain.iterative_refinement_enable = false;
            solver
                .update_settings(plain)
                .map_err(|e| backend(NAME, e))?;
            solver.solve();
            solver
                .update_settings(settings.clone())
                .map_err(|e| backend(NAME, e))?;
            if solver.solution.status != SolverStatus::Solved {
                stats.refined += 1;
                stats.iterations += u64::from(solver.solution.iterations);
                solver.solve();
            }
        } else {
            solver.solve();
        }
        let sol = &solver.solution;
        stats.iterations += u64::from(sol.iterations);
        let status = status_to_result(sol.status, problem, &rows, sol)?;
        let solution = ConicSolution {
            x: Array1::from(sol.x.clone()),
            y: rows.to_ours(&sol.z),
            s: rows.to_ours(&sol.s),
            status,
            iterations: sol.iterations,
        };
        Ok(solution)
    }
}

#[cfg(test)]
mod psd_layout {
    use super::*;

    #[test]
    fn lower_svec_becomes_clarabels_upper_svec_and_back() {
        // k = 3, ours (lower, by columns): (0,0) (1,0) (2,0) (1,1) (2,1) (2,2) at rows 0..6;
        // Clarabel's (upper, by columns): (0,0) (0,1) (1,1) (0,2) (1,2) (2,2), i.e. our rows
        // 0 1 3 2 4 5. A leading zero-cone row stays where it is.
        let rows = ClarabelRows::new(&[Cone::Zero(1), Cone::Psd(3)]);
        let ours = [9.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let theirs = rows.to_clarabel(&ours);
        assert_eq!(theirs, vec![9.0, 0.0, 1.0, 3.0, 2.0, 4.0, 5.0]);
        assert_eq!(rows.to_ours(&theirs).to_vec(), ours.to_vec());
        // Without PSD cones the order is untouched.
        let plain = ClarabelRows::new(&[Cone::Nonnegative(2)]);
        assert_eq!(plain.to_clarabel(&[1.0, 2.0]), vec![1.0, 2.0]);
    }

    #[cfg(not(feature = "clarabel-sdp"))]
    #[test]
    fn without_the_feature_a_psd_cone_is_unsupported() {
        let a = CscMatrix::from_triplets(3, 3, &[0, 1, 2], &[0, 1, 2], &[-1.0; 3]).unwrap();
        let p = ConicProblem::new(
            None,
            a,
            Array1::zeros(3),
            Array1::ones(3),
            vec![Cone::Psd(2)],
        )
        .unwrap();
        assert!(matches!(
            ClarabelOracle::new().solve(&p, None),
            Err(SolveError::Unsupported { .. })
        ));
    }
}
