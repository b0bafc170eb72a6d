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
    constraint, variable, Expression, IntoAffineExpression, ProblemVariables, ResolutionError,
    Solution, SolverModel, Variable,
};
use lpgd_core::conic::Parameters;
use lpgd_core::{
    Capability, CombinatorialProblem, ConicGradient, ConicProblem, ConicSolution, CscMatrix,
    InvalidInput, Oracle, SolveError, SolveStatus,
};
use ndarray::{Array1, Array2};
use std::collections::{BTreeMap, HashMap};

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

/// An LP or QP written with good_lp variables and expressions, with named layer parameters on
/// costs, right-hand sides and constraint coefficients (built on the canonical builder's
/// [`Parameters`], so gradients come back by name in the user's terms, signs of `≥` rows included).
///
/// ```
/// use lpgd_core::{ConicCotangent, Lpgd, Side};
/// use lpgd_solvers::good_lp::Model;
/// use lpgd_solvers::ClarabelOracle;
/// use ndarray::array;
///
/// // A tiny production plan: make a and b, at most 4 units of capacity, a needs 2 units.
/// let mut lp = Model::new();
/// let a = lp.add_variable(0.0, f64::INFINITY);
/// let b = lp.add_variable(0.0, 3.0);
/// lp.set_objective(-3.0 * a - 2.0 * b);              // profit, as a cost
/// let capacity = lp.leq(2.0 * a + b, 4.0);
/// lp.cost_parameter("price of a", a);                // the layer predicts these
/// lp.rhs_parameter("capacity", capacity);
/// lp.coefficient_parameter("use of a", capacity, a);
/// let (problem, params) = lp.build()?;
///
/// let lpgd = Lpgd::new(0.5)?.with_side(Side::Centered);
/// let mut oracle = ClarabelOracle::new();
/// let z = lpgd.forward(&mut oracle, &problem)?;
/// assert!((params.value(&z.x, a) - 0.5).abs() < 1e-6 && (params.value(&z.x, b) - 3.0).abs() < 1e-6);
///
/// // Loss: we want more of a. LPGD says how the parameters should move.
/// let mut dx = ndarray::Array1::zeros(problem.n());
/// dx[params.column(a)] = -1.0;
/// let g = lpgd.backward(&mut oracle, &problem, &z, &ConicCotangent::on_x(&problem, dx))?;
/// let grads = params.gradients(&g.gradient);
/// assert!((grads["capacity"] - (-0.5)).abs() < 1e-6); // more capacity, more a
/// assert!(grads["use of a"] > 0.0);                    // using less capacity per a, more a
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Model {
    vars: ProblemVariables,
    columns: Vec<Variable>,
    bounds: Vec<(f64, f64)>,
    objective: Expression,
    quadratic: Vec<(Variable, Variable, f64)>,
    rows: Vec<(Expression, f64, RowKind)>,
    cost_params: Vec<(String, Variable)>,
    rhs_params: Vec<(String, RowRef)>,
    coefficient_params: Vec<(String, RowRef, Variable)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RowKind {
    Leq,
    Geq,
    Eq,
}

/// A constraint of a [`Model`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowRef(usize);

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self {
            vars: ProblemVariables::new(),
            columns: Vec::new(),
            bounds: Vec::new(),
            objective: Expression::with_capacity(0),
            quadratic: Vec::new(),
            rows: Vec::new(),
            cost_params: Vec::new(),
            rhs_params: Vec::new(),
            coefficient_params: Vec::new(),
        }
    }

    /// A variable with bounds `lo ≤ x ≤ hi` (infinite for none).
    pub fn add_variable(&mut self, lo: f64, hi: f64) -> Variable {
        let v = self.vars.add(variable());
        self.columns.push(v);
        self.bounds.push((lo, hi));
        v
    }

    /// The linear part of the cost to minimise (constants are dropped).
    pub fn set_objective(&mut self, objective: impl IntoAffineExpression) {
        self.objective = objective.into_expression();
    }

    /// Adds `coefficient · a · b` to the cost (`coefficient · a²` when `a = b`). The quadratic
    /// cost must be convex; [`Model::build`] checks it.
    pub fn add_quadratic(&mut self, a: Variable, b: Variable, coefficient: f64) {
        self.quadratic.push((a, b, coefficient));
    }

    fn row(&mut self, lhs: impl IntoAffineExpression, rhs: f64, kind: RowKind) -> RowRef {
        self.rows.push((lhs.into_expression(), rhs, kind));
        RowRef(self.rows.len() - 1)
    }

    /// `lhs ≤ rhs`.
    pub fn leq(&mut self, lhs: impl IntoAffineExpression, rhs: f64) -> RowRef {
        self.row(lhs, rhs, RowKind::Leq)
    }

    /// `lhs ≥ rhs`.
    pub fn geq(&mut self, lhs: impl IntoAffineExpression, rhs: f64) -> RowRef {
        self.row(lhs, rhs, RowKind::Geq)
    }

    /// `lhs = rhs`.
    pub fn eq(&mut self, lhs: impl IntoAffineExpression, rhs: f64) -> RowRef {
        self.row(lhs, rhs, RowKind::Eq)
    }

    /// Marks the cost coefficient of `variable` as a layer parameter named `name`.
    pub fn cost_parameter(&mut self, name: impl Into<String>, variable: Variable) {
        self.cost_params.push((name.into(), variable));
    }

    /// Marks the right-hand side of `row` as a layer parameter named `name`.
    pub fn rhs_parameter(&mut self, name: impl Into<String>, row: RowRef) {
        self.rhs_params.push((name.into(), row));
    }

    /// Marks the coefficient of `variable` in `row` as a layer parameter named `name` (kept as a
    /// parameter even where it is zero).
    pub fn coefficient_parameter(
        &mut self,
        name: impl Into<String>,
        row: RowRef,
        variable: Variable,
    ) {
        self.coefficient_params.push((name.into(), row, variable));
    }

    /// The canonical problem and the map from its data to the named parameters. A variable this
    /// model did not create (an index beyond its variables) is an error; good_lp's variables carry
    /// only an index, so one of another model with an index this model also has cannot be told
    /// apart.
    pub fn build(self) -> Result<(ConicProblem, ParameterMap), InvalidInput> {
        let n = self.columns.len();
        let column: HashMap<Variable, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, &v)| (v, j))
            .collect();
        let index_of = |v: &Variable| {
            column.get(v).copied().ok_or(InvalidInput::Value {
                field: "expression",
                index: 0,
                reason: "uses a variable not created by this model",
            })
        };
        let mut c = Array1::zeros(n);
        for (v, coef) in self.objective.clone().linear_coefficients() {
            c[index_of(&v)?] += coef;
        }
        let mut builder = ConicProblem::builder(n).cost(c);
        for (name, v) in &self.cost_params {
            builder = builder.cost_parameter(name.clone(), index_of(v)?);
        }
        if !self.quadratic.is_empty() {
            // ½xᵀPx with P's upper triangle: coefficient·a² is P_aa = 2·coefficient, and
            // coefficient·a·b (a ≠ b) is P_ab = coefficient.
            let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
            for (a, b, coef) in &self.quadratic {
                let (i, j) = (index_of(a)?, index_of(b)?);
                ri.push(i.min(j));
                ci.push(i.max(j));
                vi.push(if i == j { 2.0 * coef } else { *coef });
            }
            builder = builder.quadratic(CscMatrix::from_triplets(n, n, &ri, &ci, &vi)?);
        }
        // One block per row, in the order written (the builder puts equalities first); a `≥` row
        // is stored as `−aᵀx ≤ −rhs`, so its parameters have scale −1.
        for (r, (expr, rhs, kind)) in self.rows.iter().enumerate() {
            let sign = if *kind == RowKind::Geq { -1.0 } else { 1.0 };
            let mut a = Array2::zeros((1, n));
            for (v, coef) in expr.clone().linear_coefficients() {
                a[[0, index_of(&v)?]] += sign * coef;
            }
            let b = [sign * (rhs - expr.constant())];
            builder = match kind {
                RowKind::Eq => builder.equalities(a, b),
                _ => builder.inequalities(a, b),
            };
            for (name, row) in &self.rhs_params {
                if row.0 == r {
                    builder = builder.rhs_parameter(name.clone(), 0).parameter_scale(sign);
                }
            }
            for (name, row, v) in &self.coefficient_params {
                if row.0 == r {
                    builder = builder
                        .matrix_parameter(name.clone(), 0, index_of(v)?)
                        .parameter_scale(sign);
                }
            }
        }
        let lo: Vec<f64> = self.bounds.iter().map(|b| b.0).collect();
        let hi: Vec<f64> = self.bounds.iter().map(|b| b.1).collect();
        let (problem, parameters) = builder.bounds(lo, hi).build_with_parameters()?;
        Ok((problem, ParameterMap { column, parameters }))
    }
}

/// Where the variables and named parameters of a [`Model`] sit in the canonical problem.
#[derive(Debug, Clone)]
pub struct ParameterMap {
    column: HashMap<Variable, usize>,
    parameters: Parameters,
}

impl ParameterMap {
    /// The column of a variable in the canonical problem.
    pub fn column(&self, variable: Variable) -> usize {
        self.column[&variable]
    }

    /// A variable's value in a solution of the canonical problem.
    pub fn value(&self, x: &Array1<f64>, variable: Variable) -> f64 {
        x[self.column(variable)]
    }

    /// The named parameters (gradients, values and new values by name).
    pub fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    /// The gradient with respect to each named parameter, as the user wrote it.
    pub fn gradients(&self, g: &ConicGradient) -> BTreeMap<String, f64> {
        self.parameters.gradients(g)
    }

    /// The canonical problem with new values of the named parameters (others unchanged).
    pub fn apply(
        &self,
        problem: &ConicProblem,
        values: &BTreeMap<String, f64>,
    ) -> Result<ConicProblem, InvalidInput> {
        self.parameters.apply(problem, values)
    }
}
