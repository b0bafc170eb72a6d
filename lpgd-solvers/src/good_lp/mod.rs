//! good_lp's solvers as LP oracles, and a modelling bridge from good_lp expressions to the
//! canonical form (feature `good_lp`; more solvers with `good_lp-highs`, `good_lp-clarabel`,
//! `good_lp-lpsolve`).
//!
//! - [`GoodLpOracle`] solves conic problems with zero and nonnegative cones and P = 0 through any
//!   enabled good_lp solver. Dual-side gradients (db, dA) need duals, which good_lp exposes for its
//!   HiGHS and Clarabel back ends only; with the others a conic solve is
//!   [`SolveError::Unsupported`]`{ what: Capability::Duals }`.
//! - [`GoodLpOracle::over`] gives a primal-only oracle for [`CombinatorialProblem`]s over a fixed polytope:
//!   every solver works there, and LPGD's gradient with respect to the cost needs only x.
//! - [`Model`] lets a user write an LP or a QP with good_lp variables and expressions, mark which
//!   costs, right-hand sides and constraint coefficients are layer parameters, and get the
//!   canonical problem plus a [`ParameterMap`] that turns LPGD gradients into gradients per named
//!   parameter.
//!
//! good_lp builds a fresh model on every solve (it has no in-place updates), so these oracles have
//! no re-solve fast path; they are for reach, not speed. Every conic answer is checked against the
//! LP optimality conditions (good_lp reports Clarabel's "dual infeasible" status as a solution; the
//! check turns it into [`SolveError::Unbounded`]).

use crate::range::{check_range, check_values};
use crate::rows::{check_lp_optimality, lp_row_bounds, row_bounds, slacks, RowBounds};
use good_lp::{
    constraint, variable, Expression, ProblemVariables, ResolutionError, Solution, SolverModel,
    Variable,
};
use lpgd_core::{
    Capability, CombinatorialProblem, ConicProblem, ConicSolution, CscMatrix, Oracle, SolveError,
    SolveStatus,
};
use ndarray::Array1;

mod model;

pub use model::{Model, ParameterMap, RowRef};

const NAME: &str = "good_lp";

/// The largest magnitude of the data given to good_lp's solvers (HiGHS, its strictest, treats
/// bounds from 1e20 on as infinite and refuses matrix entries above 1e15).
pub const GOOD_LP_LIMIT: f64 = 1e15;

/// The good_lp solvers this build can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GoodLpSolver {
    /// microlp, pure Rust (no duals).
    Microlp,
    /// HiGHS through good_lp (duals).
    #[cfg(feature = "good_lp-highs")]
    Highs,
    /// Clarabel through good_lp (duals).
    #[cfg(feature = "good_lp-clarabel")]
    Clarabel,
    /// lp_solve, C sources bundled (no duals through good_lp).
    #[cfg(feature = "good_lp-lpsolve")]
    LpSolve,
}

impl GoodLpSolver {
    /// Every solver enabled in this build.
    pub fn all() -> Vec<Self> {
        vec![
            Self::Microlp,
            #[cfg(feature = "good_lp-highs")]
            Self::Highs,
            #[cfg(feature = "good_lp-clarabel")]
            Self::Clarabel,
            #[cfg(feature = "good_lp-lpsolve")]
            Self::LpSolve,
        ]
    }

    /// Its name (`microlp`, `highs`, `clarabel`, `lpsolve`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Microlp => "microlp",
            #[cfg(feature = "good_lp-highs")]
            Self::Highs => "highs",
            #[cfg(feature = "good_lp-clarabel")]
            Self::Clarabel => "clarabel",
            #[cfg(feature = "good_lp-lpsolve")]
            Self::LpSolve => "lpsolve",
        }
    }

    /// The enabled solver with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|s| s.name() == name)
    }

    /// Whether good_lp gives this solver's duals.
    pub fn has_duals(&self) -> bool {
        match self {
            Self::Microlp => false,
            #[cfg(feature = "good_lp-highs")]
            Self::Highs => true,
            #[cfg(feature = "good_lp-clarabel")]
            Self::Clarabel => true,
            #[cfg(feature = "good_lp-lpsolve")]
            Self::LpSolve => false,
        }
    }
}

fn resolution_error(e: ResolutionError) -> SolveError {
    match e {
        ResolutionError::Infeasible => SolveError::Infeasible,
        ResolutionError::Unbounded => SolveError::Unbounded,
        other => SolveError::Backend {
            backend: NAME,
            message: other.to_string(),
        },
    }
}

/// `min cᵀx s.t. row bounds` as a good_lp model: free variables, one constraint per row.
struct Lp<'a> {
    c: &'a [f64],
    a: &'a CscMatrix,
    rows: &'a RowBounds,
}

impl Lp<'_> {
    fn variables(
        &self,
    ) -> (
        ProblemVariables,
        Vec<Variable>,
        Expression,
        Vec<good_lp::Constraint>,
    ) {
        let mut vars = ProblemVariables::new();
        let x = vars.add_vector(variable(), self.a.ncols());
        let mut objective = Expression::with_capacity(x.len());
        for (j, &cj) in self.c.iter().enumerate() {
            objective.add_mul(cj, x[j]);
        }
        let mut lhs: Vec<Expression> = (0..self.a.nrows())
            .map(|_| Expression::with_capacity(4))
            .collect();
        for (i, j, v) in self.a.iter() {
            lhs[i].add_mul(v, x[j]);
        }
        let constraints = lhs
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                if self.rows.equality[i] {
                    constraint::eq(e, self.rows.upper[i])
                } else {
                    constraint::leq(e, self.rows.upper[i])
                }
            })
            .collect();
        (vars, x, objective, constraints)
    }

    /// Solves; `duals` asks for the conic y (the negated good_lp dual, which is the derivative of
    /// the optimal value with respect to the right-hand side).
    fn solve(
        &self,
        solver: GoodLpSolver,
        duals: bool,
    ) -> Result<(Vec<f64>, Option<Vec<f64>>), SolveError> {
        let (vars, x, objective, constraints) = self.variables();
        let problem = vars.minimise(objective);
        macro_rules! primal {
            ($model:expr) => {{
                let mut model = $model;
                for c in constraints {
                    model.add_constraint(c);
                }
                let sol = model.solve().map_err(resolution_error)?;
                (x.iter().map(|&v| sol.value(v)).collect::<Vec<f64>>(), None)
            }};
        }
        macro_rules! with_duals {
            ($model:expr) => {{
                use good_lp::solvers::{DualValues, SolutionWithDual};
                let mut model = $model;
                let refs: Vec<_> = constraints
                    .into_iter()
                    .map(|c| model.add_constraint(c))
                    .collect();
                let mut sol = model.solve().map_err(resolution_error)?;
                let values: Vec<f64> = x.iter().map(|&v| sol.value(v)).collect();
                let dual = sol.compute_dual();
                let y = refs
                    .into_iter()
                    .map(|r| -dual.dual(r))
                    .collect::<Vec<f64>>();
                (values, Some(y))
            }};
        }
        if duals && !solver.has_duals() {
            return Err(SolveError::Unsupported {
                backend: NAME,
                what: Capability::Duals,
            });
        }
        Ok(match solver {
            GoodLpSolver::Microlp => primal!(problem.using(good_lp::solvers::microlp::microlp)),
            #[cfg(feature = "good_lp-highs")]
            GoodLpSolver::Highs => {
                let model = problem.using(good_lp::solvers::highs::highs).set_threads(1);
                if duals {
                    with_duals!(model)
                } else {
                    primal!(model)
                }
            }
            #[cfg(feature = "good_lp-clarabel")]
            GoodLpSolver::Clarabel => {
                let model = problem.using(good_lp::solvers::clarabel::clarabel);
                if duals {
                    with_duals!(model)
                } else {
                    primal!(model)
                }
            }
            #[cfg(feature = "good_lp-lpsolve")]
            GoodLpSolver::LpSolve => primal!(problem.using(good_lp::solvers::lpsolve::lp_solve)),
        })
    }
}

/// A good_lp solver as an oracle for LPs in the canonical conic form.
///
/// ```
/// use lpgd_core::{ConicProblem, Oracle, CombinatorialProblem};
/// use lpgd_solvers::{GoodLpOracle, GoodLpSolver};
/// use ndarray::array;
/// let set = ConicProblem::builder(2)
///     .equalities(array![[1.0, 1.0]], array![1.0])
///     .bounds(&[0.0, 0.0], &[f64::INFINITY, f64::INFINITY])
///     .build()?;
/// // microlp has no duals: use it as a primal oracle over the fixed polytope.
/// let mut oracle = GoodLpOracle::over(&set, GoodLpSolver::Microlp)?;
/// let x = oracle.solve(&CombinatorialProblem::new(array![1.0, 2.0])?, None)?;
/// assert!((x[0] - 1.0).abs() < 1e-9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct GoodLpOracle {
    solver: GoodLpSolver,
}

impl GoodLpOracle {
    /// An oracle using `solver`.
    pub fn new(solver: GoodLpSolver) -> Self {
        Self { solver }
    }

    /// The solver in use.
    pub fn solver(&self) -> GoodLpSolver {
        self.solver
    }

    /// A primal-only oracle minimising a [`CombinatorialProblem`]'s cost over the fixed polytope of
    /// `constraints` (its own cost is ignored).
    pub fn over(
        constraints: &ConicProblem,
        solver: GoodLpSolver,
    ) -> Result<GoodLpPolytopeOracle, SolveError> {
        if constraints.p().is_some() {
            return Err(SolveError::Unsupported {
                backend: NAME,
                what: Capability::QuadraticObjective,
            });
        }
        check_range(constraints, NAME, GOOD_LP_LIMIT)?;
        let rows = row_bounds(constraints, NAME, f64::INFINITY)?;
        Ok(GoodLpPolytopeOracle {
            a: constraints.a().clone(),
            rows,
            solver,
        })
    }
}

impl Oracle<ConicProblem> for GoodLpOracle {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        _warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        check_range(problem, NAME, GOOD_LP_LIMIT)?;
        let rows = lp_row_bounds(problem, NAME)?;
        let lp = Lp {
            c: problem.c().as_slice().expect("contiguous"),
            a: problem.a(),
            rows: &rows,
        };
        let (x, y) = lp.solve(self.solver, true)?;
        let y = y.expect("duals were asked for");
        check_lp_optimality(problem, &x, &y, &rows.equality, 1e-6)?;
        let s = slacks(problem, &x, &rows.equality);
        Ok(ConicSolution {
            x: Array1::from(x),
            y: Array1::from(y),
            s: Array1::from(s),
            status: SolveStatus::Solved,
            iterations: 0,
        })
    }
}

/// A primal-only good_lp oracle over a fixed polytope, from [`GoodLpOracle::over`].
#[derive(Debug, Clone)]
pub struct GoodLpPolytopeOracle {
    a: CscMatrix,
    rows: RowBounds,
    solver: GoodLpSolver,
}

impl Oracle<CombinatorialProblem> for GoodLpPolytopeOracle {
    fn solve(
        &mut self,
        problem: &CombinatorialProblem,
        _warm: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>, SolveError> {
        problem.expect_dim(self.a.ncols())?;
        check_values(problem.cost_slice(), "w", NAME, GOOD_LP_LIMIT)?;
        let lp = Lp {
            c: problem.cost_slice(),
            a: &self.a,
            rows: &self.rows,
        };
        Ok(Array1::from(lp.solve(self.solver, false)?.0))
    }
}
