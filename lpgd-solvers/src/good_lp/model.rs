//! [`Model`]: an LP or QP written with good_lp variables and expressions, with named layer
//! parameters, turned into the canonical problem and a [`ParameterMap`].

use good_lp::{variable, Expression, IntoAffineExpression, ProblemVariables, Variable};
use lpgd_core::conic::Parameters;
use lpgd_core::{ConicGradient, ConicProblem, CscMatrix, InvalidInput};
use ndarray::{Array1, Array2};
use std::collections::{BTreeMap, HashMap};

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
