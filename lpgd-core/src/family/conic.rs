//! Conic programs — the one canonical form for LPs, QPs, SOCPs and exponential/power cone programs.
//!
//! ```text
//! minimize    ½ xᵀP x + cᵀx
//! subject to  A x + s = b,   s ∈ K = K₁ × … × K_p
//! ```
//!
//! The solution is `z = (x, y, s)` with `y` the dual of the equality, `P x + c + Aᵀy = 0`,
//! `y ∈ K*` (the convention of SCS, diffcp and Clarabel). The Lagrangian is
//! `L = ½ xᵀPx + cᵀx + yᵀ(Ax + s − b)`, so `∂L/∂c = x`, `∂L/∂b = −y`, `∂L/∂A = y xᵀ` (on A's
//! pattern) and `∂L/∂P = ½ x xᵀ`.
//!
//! **P is given as the upper triangle of a symmetric matrix.** Each stored entry is one parameter:
//! a stored off-diagonal value `v` at (i, j) sets both `P_ij` and `P_ji`. Gradients with respect to
//! P are with respect to these stored values, so a diagonal entry gets `½ x_i x_j` and an
//! off-diagonal entry gets the sum over its two positions, `x_i x_j`.

use crate::csc::CscMatrix;
use crate::error::Field;
use crate::error::{check_finite, check_len, ConeIssue, InvalidInput, SolveError, SparseIssue};
use crate::limits::{checked_sum, filled_vec};
use crate::oracle::{first_non_finite, Finite, Problem};
use ndarray::{Array1, Array2, ArrayView2};
use std::fmt;

/// The kind of a cone, without its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConeKind {
    /// `{0}ⁿ`: equality constraints.
    Zero,
    /// `ℝⁿ₊`: inequality constraints.
    Nonnegative,
    /// `{(t, x) : ‖x‖₂ ≤ t}`.
    SecondOrder,
    /// `cl{(x, y, z) : y > 0, y·exp(x/y) ≤ z}`.
    Exponential,
    /// `{(x, y, z) : x^α y^(1−α) ≥ |z|, x, y ≥ 0}`.
    Power,
}

impl fmt::Display for ConeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConeKind::Zero => "zero",
            ConeKind::Nonnegative => "nonnegative",
            ConeKind::SecondOrder => "second-order",
            ConeKind::Exponential => "exponential",
            ConeKind::Power => "power",
        })
    }
}

/// One cone of the product `K`, covering a block of consecutive constraint rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cone {
    /// The zero cone of the given dimension (equalities).
    Zero(usize),
    /// The nonnegative orthant of the given dimension (inequalities).
    Nonnegative(usize),
    /// A second-order cone of the given dimension (first row is the bound `t`).
    SecondOrder(usize),
    /// One exponential cone (3 rows), in the SCS convention.
    Exponential,
    /// One power cone (3 rows) with exponent α ∈ (0, 1).
    Power(f64),
}

impl Cone {
    /// Number of rows the cone covers.
    pub fn dim(&self) -> usize {
        match *self {
            Cone::Zero(n) | Cone::Nonnegative(n) | Cone::SecondOrder(n) => n,
            Cone::Exponential | Cone::Power(_) => 3,
        }
    }

    /// The cone's kind.
    pub fn kind(&self) -> ConeKind {
        match self {
            Cone::Zero(_) => ConeKind::Zero,
            Cone::Nonnegative(_) => ConeKind::Nonnegative,
            Cone::SecondOrder(_) => ConeKind::SecondOrder,
            Cone::Exponential => ConeKind::Exponential,
            Cone::Power(_) => ConeKind::Power,
        }
    }

    fn check(&self, index: usize) -> Result<(), InvalidInput> {
        match *self {
            Cone::SecondOrder(0) => Err(InvalidInput::Cone {
                index,
                issue: ConeIssue::EmptySecondOrder,
            }),
            Cone::Power(a) if !(a > 0.0 && a < 1.0) => Err(InvalidInput::Cone {
                index,
                issue: ConeIssue::PowerExponent(a),
            }),
            _ => Ok(()),
        }
    }
}

/// A conic program with validated data. Build it with [`ConicProblem::new`],
/// [`ConicProblem::builder`], [`ConicProblem::lp`] or [`ConicProblem::qp`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConicProblem {
    p: Option<CscMatrix>,
    a: CscMatrix,
    b: Array1<f64>,
    c: Array1<f64>,
    cones: Vec<Cone>,
}

/// Whether the solver met its full tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SolveStatus {
    /// Solved to the solver's tolerances.
    #[default]
    Solved,
    /// Solved to the solver's reduced tolerances only.
    AlmostSolved,
}

/// A primal-dual solution `(x, y, s)` of a conic program.
#[derive(Debug, Clone, PartialEq)]
pub struct ConicSolution {
    /// Primal variables (length n).
    pub x: Array1<f64>,
    /// Dual variables of `Ax + s = b` (length m), in `K*`.
    pub y: Array1<f64>,
    /// Slacks (length m), in `K`.
    pub s: Array1<f64>,
    /// Accuracy reached.
    pub status: SolveStatus,
    /// Solver iterations.
    pub iterations: u32,
}

/// A vector in the solution's space `(dx, dy, ds)`: the incoming gradient `∂ℓ/∂(x, y, s)` of a
/// backward pass, or the output of forward mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ConicCotangent {
    /// Component along x (length n).
    pub dx: Array1<f64>,
    /// Component along y (length m).
    pub dy: Array1<f64>,
    /// Component along s (length m).
    pub ds: Array1<f64>,
}

/// The directional derivative of the solution, the output of forward mode.
pub type ConicSolutionTangent = ConicCotangent;

impl ConicCotangent {
    /// A gradient with respect to x only (dy = ds = 0).
    pub fn from_dx(dx: Array1<f64>, m: usize) -> Self {
        Self {
            dx,
            dy: Array1::zeros(m),
            ds: Array1::zeros(m),
        }
    }
}

/// A vector in the data's space `(dP, dA, db, dc)`: the LPGD gradient of a backward pass, or a
/// data direction for forward mode. `dP` and `dA` hold one value per stored entry of P and A, in
/// their CSC order; `dP` is `None` when the problem has no P.
#[derive(Debug, Clone, PartialEq)]
pub struct ConicGradient {
    /// Values on P's stored (upper-triangular) pattern, or `None` without P.
    pub dp: Option<Array1<f64>>,
    /// Values on A's stored pattern.
    pub da: Array1<f64>,
    /// Component along b.
    pub db: Array1<f64>,
    /// Component along c.
    pub dc: Array1<f64>,
}

/// A data direction for forward mode (same layout as the gradient).
pub type ConicTangent = ConicGradient;

impl Finite for ConicGradient {
    fn first_non_finite(&self) -> Option<(Field, usize)> {
        let dp = self.dp.iter().map(|dp| ("dP", dp));
        first_non_finite(dp.chain([("dA", &self.da), ("db", &self.db), ("dc", &self.dc)]))
    }
}

impl Finite for ConicCotangent {
    fn first_non_finite(&self) -> Option<(Field, usize)> {
        first_non_finite([("dx", &self.dx), ("dy", &self.dy), ("ds", &self.ds)])
    }
}

impl ConicGradient {
    /// The zero vector for `problem`'s data.
    pub fn zeros(problem: &ConicProblem) -> Self {
        Self {
            dp: problem.p.as_ref().map(|p| Array1::zeros(p.nnz())),
            da: Array1::zeros(problem.a.nnz()),
            db: Array1::zeros(problem.m()),
            dc: Array1::zeros(problem.n()),
        }
    }

    /// The inner product with another data vector (used for directional checks).
    pub fn dot(&self, other: &ConicGradient) -> f64 {
        let p = match (&self.dp, &other.dp) {
            (Some(a), Some(b)) => a.dot(b),
            _ => 0.0,
        };
        p + self.da.dot(&other.da) + self.db.dot(&other.db) + self.dc.dot(&other.dc)
    }
}

impl ConicProblem {
    /// A conic program from its data: `P` (upper triangle, or `None` for a linear objective),
    /// `A` (m×n), `b` (m), `c` (n) and cones covering the m rows in order.
    ///
    /// Validated here, once: lengths and shapes, finiteness, cone parameters, that the cones cover
    /// the rows exactly (sizes summed with overflow checks), at least one variable, and that P is
    /// positive semidefinite to the tolerance of
    /// [`CscMatrix::check_positive_semidefinite`] (smallest eigenvalue ≥ `−1e-9·‖P‖∞`): a
    /// non-convex P is [`InvalidInput::NotConvex`], never solved.
    ///
    /// ```
    /// use lpgd_core::{Cone, ConicProblem, CscMatrix, InvalidInput};
    /// use ndarray::array;
    /// // min -x²  s.t. -1 <= x <= 1: not convex.
    /// let p = CscMatrix::from_dense(array![[-1.0]].view())?;
    /// let a = CscMatrix::from_dense(array![[1.0], [-1.0]].view())?;
    /// let r = ConicProblem::new(Some(p), a, array![1.0, 1.0], array![0.0], vec![Cone::Nonnegative(2)]);
    /// assert!(matches!(r, Err(InvalidInput::NotConvex { .. })));
    /// # Ok::<(), InvalidInput>(())
    /// ```
    pub fn new(
        p: Option<CscMatrix>,
        a: CscMatrix,
        b: Array1<f64>,
        c: Array1<f64>,
        cones: Vec<Cone>,
    ) -> Result<Self, InvalidInput> {
        let (m, n) = (a.nrows(), a.ncols());
        if n == 0 {
            return Err(InvalidInput::Empty("the problem's variables (n = 0)"));
        }
        check_len("b", b.len(), m)?;
        check_len("c", c.len(), n)?;
        check_finite("b", &b)?;
        check_finite("c", &c)?;
        check_finite("A", a.values())?;
        if let Some(p) = &p {
            if p.nrows() != n || p.ncols() != n {
                return Err(InvalidInput::Shape {
                    field: "P",
                    rows: p.nrows(),
                    cols: p.ncols(),
                    expected_rows: n,
                    expected_cols: n,
                });
            }
            if let Some((row, col, _)) = p.iter().find(|&(i, j, _)| i > j) {
                return Err(InvalidInput::Sparse {
                    field: "P",
                    issue: SparseIssue::NotUpperTriangular { row, col },
                });
            }
            check_finite("P", p.values())?;
        }
        let (b, c) = (standard_layout(b), standard_layout(c));
        for (index, cone) in cones.iter().enumerate() {
            cone.check(index)?;
        }
        let cone_rows = checked_sum("cone rows", cones.iter().map(Cone::dim))?;
        if cone_rows != m {
            return Err(InvalidInput::ConeRows { cone_rows, rows: m });
        }
        if let Some(p) = &p {
            p.check_positive_semidefinite()?;
        }
        Ok(Self { p, a, b, c, cones })
    }

    /// Starts a problem with `n` variables, assembled block by block.
    pub fn builder(n: usize) -> ConicBuilder {
        ConicBuilder::new(n)
    }

    /// The LP `min cᵀx s.t. A_eq x = b_eq, G x ≤ h`.
    pub fn lp(
        c: Array1<f64>,
        a_eq: ArrayView2<'_, f64>,
        b_eq: Array1<f64>,
        g: ArrayView2<'_, f64>,
        h: Array1<f64>,
    ) -> Result<Self, InvalidInput> {
        Self::builder(c.len())
            .cost(c)
            .equalities(a_eq, b_eq)
            .inequalities(g, h)
            .build()
    }

    /// The QP `min ½xᵀPx + cᵀx s.t. l ≤ A x ≤ u` (OSQP's form; entries of l and u may be infinite
    /// and rows with `l = u` become equalities). `p_upper` is the upper triangle of P. Returns the
    /// problem and the map from bound rows to conic rows.
    pub fn qp(
        p_upper: Option<CscMatrix>,
        c: Array1<f64>,
        a: &CscMatrix,
        l: &[f64],
        u: &[f64],
    ) -> Result<(Self, RowMap), InvalidInput> {
        let m = a.nrows();
        check_len("l", l.len(), m)?;
        check_len("u", u.len(), m)?;
        let mut eq_rows = Vec::new();
        let mut up_rows = Vec::new();
        let mut lo_rows = Vec::new();
        for i in 0..m {
            if l[i].is_nan() {
                return Err(InvalidInput::NonFinite {
                    field: "l",
                    index: i,
                    value: l[i],
                });
            }
            if u[i].is_nan() {
                return Err(InvalidInput::NonFinite {
                    field: "u",
                    index: i,
                    value: u[i],
                });
            }
            if l[i] > u[i] {
                return Err(InvalidInput::Value {
                    field: "l",
                    index: i,
                    reason: "lower bound above upper bound",
                });
            }
            if l[i] == u[i] {
                if !l[i].is_finite() {
                    return Err(InvalidInput::NonFinite {
                        field: "l",
                        index: i,
                        value: l[i],
                    });
                }
                eq_rows.push(i);
                continue;
            }
            if u[i].is_finite() {
                up_rows.push(i);
            }
            if l[i].is_finite() {
                lo_rows.push(i);
            }
        }
        let pick = |rows: &[usize], sign: f64| -> Result<CscMatrix, InvalidInput> {
            let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
            let position: std::collections::HashMap<usize, usize> =
                rows.iter().enumerate().map(|(k, &r)| (r, k)).collect();
            for (i, j, v) in a.iter() {
                if let Some(&k) = position.get(&i) {
                    ri.push(k);
                    ci.push(j);
                    vi.push(sign * v);
                }
            }
            CscMatrix::from_triplets(rows.len(), a.ncols(), &ri, &ci, &vi)
        };
        let mut builder = Self::builder(a.ncols()).cost(c);
        if let Some(p) = p_upper {
            builder = builder.quadratic(p);
        }
        let problem = builder
            .equalities(
                pick(&eq_rows, 1.0)?,
                eq_rows.iter().map(|&i| u[i]).collect(),
            )
            .inequalities(
                pick(&up_rows, 1.0)?,
                up_rows.iter().map(|&i| u[i]).collect(),
            )
            .inequalities(
                pick(&lo_rows, -1.0)?,
                lo_rows.iter().map(|&i| -l[i]).collect(),
            )
            .build()?;
        let mut map = RowMap {
            upper: vec![None; m],
            lower: vec![None; m],
        };
        for (k, &i) in eq_rows.iter().chain(&up_rows).enumerate() {
            map.upper[i] = Some(k);
        }
        for (k, &i) in lo_rows.iter().enumerate() {
            map.lower[i] = Some(eq_rows.len() + up_rows.len() + k);
        }
        Ok((problem, map))
    }

    /// Number of variables.
    pub fn n(&self) -> usize {
        self.a.ncols()
    }
    /// Number of constraint rows.
    pub fn m(&self) -> usize {
        self.a.nrows()
    }
    /// The quadratic cost (upper triangle), if any.
    pub fn p(&self) -> Option<&CscMatrix> {
        self.p.as_ref()
    }
    /// The constraint matrix.
    pub fn a(&self) -> &CscMatrix {
        &self.a
    }
    /// The right-hand side.
    pub fn b(&self) -> &Array1<f64> {
        &self.b
    }
    /// The linear cost.
    pub fn c(&self) -> &Array1<f64> {
        &self.c
    }
    /// The cones, in row order.
    pub fn cones(&self) -> &[Cone] {
        &self.cones
    }

    /// The same problem with a new linear cost (a layer's predicted `c`).
    pub fn with_c(&self, c: Array1<f64>) -> Result<Self, InvalidInput> {
        check_len("c", c.len(), self.n())?;
        check_finite("c", &c)?;
        Ok(Self {
            c: standard_layout(c),
            ..self.clone()
        })
    }

    /// The same problem with a new right-hand side.
    pub fn with_b(&self, b: Array1<f64>) -> Result<Self, InvalidInput> {
        check_len("b", b.len(), self.m())?;
        check_finite("b", &b)?;
        Ok(Self {
            b: standard_layout(b),
            ..self.clone()
        })
    }

    /// The same problem with new values on A's pattern.
    pub fn with_a_values(&self, values: &[f64]) -> Result<Self, InvalidInput> {
        Ok(Self {
            a: self.a.with_values(values)?,
            ..self.clone()
        })
    }

    /// The same problem with new values on P's pattern (an error without P).
    pub fn with_p_values(&self, values: &[f64]) -> Result<Self, InvalidInput> {
        let p = match &self.p {
            Some(p) => {
                let p = p.with_values(values)?;
                p.check_positive_semidefinite()?;
                p
            }
            None => {
                return Err(InvalidInput::Length {
                    field: "P values",
                    expected: 0,
                    found: values.len(),
                })
            }
        };
        Ok(Self {
            p: Some(p),
            ..self.clone()
        })
    }

    /// The objective `½ xᵀPx + cᵀx` at `x`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        let quad = self.p.as_ref().map_or(0.0, |p| {
            0.5 * p
                .sym_upper_mul_vec(x)
                .iter()
                .zip(x)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        });
        quad + self.c.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
    }

    /// `P + ρI` (pattern extended by the diagonal), or P unchanged for ρ = 0.
    fn prox_p(&self, rho: f64) -> Result<Option<CscMatrix>, InvalidInput> {
        if rho == 0.0 {
            return Ok(self.p.clone());
        }
        let base = match &self.p {
            Some(p) => p.with_full_diagonal(),
            None => CscMatrix::scaled_identity(self.n(), 0.0)?,
        };
        let mut values = base.values().to_vec();
        for (k, (i, j, _)) in base.iter().enumerate() {
            if i == j {
                values[k] += rho;
            }
        }
        check_finite("P + rho I", &values)?;
        Ok(Some(base.replace_values(values)))
    }

    /// The embedding that puts the slack in the objective (for a loss on s):
    /// `[A I; 0 −I][x; x'] + [s₁; s₂] = [b'; 0]`, `s₁ ∈ {0}ᵐ`, `s₂ ∈ K`, cost `(c', σ·ds)`.
    fn embed_slack(
        &self,
        p: Option<CscMatrix>,
        b: Array1<f64>,
        c: Array1<f64>,
        cost_s: Array1<f64>,
    ) -> Self {
        let (m, n) = (self.m(), self.n());
        let left = self.a.pad(m, 0);
        let mut right_rows: Vec<usize> = Vec::with_capacity(2 * m);
        let mut right_vals: Vec<f64> = Vec::with_capacity(2 * m);
        let mut colptr = Vec::with_capacity(m + 1);
        colptr.push(0);
        for i in 0..m {
            right_rows.extend([i, m + i]);
            right_vals.extend([1.0, -1.0]);
            colptr.push(right_rows.len());
        }
        let right = CscMatrix::new(2 * m, m, colptr, right_rows, right_vals)
            .expect("the identity block is well formed");
        let a = CscMatrix::hstack(&[&left, &right]);
        let p = p.map(|p| p.pad(m, m));
        let mut bb = Array1::zeros(2 * m);
        bb.slice_mut(ndarray::s![..m]).assign(&b);
        let mut cc = Array1::zeros(n + m);
        cc.slice_mut(ndarray::s![..n]).assign(&c);
        cc.slice_mut(ndarray::s![n..]).assign(&cost_s);
        let mut cones = Vec::with_capacity(self.cones.len() + 1);
        cones.push(Cone::Zero(m));
        cones.extend_from_slice(&self.cones);
        Self {
            p,
            a,
            b: bb,
            c: cc,
            cones,
        }
    }
}

/// Relative tolerance of [`ConicProblem::verify`] for an answer reported as solved.
pub const VERIFY_TOLERANCE: f64 = 1e-6;
/// Relative tolerance of [`ConicProblem::verify`] for an answer reported as almost solved.
pub const VERIFY_TOLERANCE_ALMOST: f64 = 1e-3;

/// How far a primal-dual point is from optimal, each part relative to the data's scale.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Residuals {
    /// `‖Ax + s − b‖∞ / (1 + max(‖b‖∞, ‖Ax‖∞, ‖s‖∞))`.
    pub primal: f64,
    /// `‖Px + c + Aᵀy‖∞ / (1 + max(‖c‖∞, ‖Px‖∞, ‖Aᵀy‖∞))`.
    pub dual: f64,
    /// `|xᵀPx + cᵀx + bᵀy| / (1 + max(|primal objective|, |dual objective|))`.
    pub gap: f64,
    /// How far `s` lies outside `K`, over `1 + ‖s‖∞`.
    pub slack_cone: f64,
    /// How far `y` lies outside the dual cone `K*`, over `1 + ‖y‖∞`.
    pub dual_cone: f64,
}

fn inf_norm<'a>(v: impl IntoIterator<Item = &'a f64>) -> f64 {
    v.into_iter().fold(0.0_f64, |m, a| m.max(a.abs()))
}

/// How far `v` (one cone's block) lies outside the cone (`dual`: outside its dual cone), in
/// absolute terms (0 inside).
fn cone_violation(cone: &Cone, v: &[f64], dual: bool) -> f64 {
    let pos = |a: f64| a.max(0.0);
    match (*cone, dual) {
        (Cone::Zero(_), false) => inf_norm(v),
        (Cone::Zero(_), true) => 0.0,
        (Cone::Nonnegative(_), _) => v.iter().map(|&a| pos(-a)).fold(0.0, f64::max),
        (Cone::SecondOrder(_), _) => {
            let norm = v[1..].iter().map(|a| a * a).sum::<f64>().sqrt();
            pos(norm - v[0])
        }
        (Cone::Exponential, false) => {
            // (r, s, t) with s·exp(r/s) ≤ t, s > 0, or r ≤ 0, s = 0, t ≥ 0.
            let (r, s, t) = (v[0], v[1], v[2]);
            let closure = pos(r).max(s.abs()).max(pos(-t));
            if s > 0.0 && t > 0.0 {
                closure.min(pos(r - s * (t / s).ln()))
            } else {
                closure.max(pos(-s))
            }
        }
        (Cone::Exponential, true) => {
            // (u, v, w) with −u·exp(v/u) ≤ e·w, u < 0, or u = 0, v ≥ 0, w ≥ 0.
            let (u, vv, w) = (v[0], v[1], v[2]);
            let closure = u.abs().max(pos(-vv)).max(pos(-w));
            if u < 0.0 && w > 0.0 {
                closure.min(pos(u * (1.0 + (w / -u).ln()) - vv))
            } else {
                closure.max(pos(u))
            }
        }
        (Cone::Power(alpha), dual) => {
            let (x, y, z) = (v[0], v[1], v[2]);
            let (x, y) = if dual {
                (x / alpha, y / (1.0 - alpha))
            } else {
                (x, y)
            };
            let sign = pos(-x).max(pos(-y));
            sign.max(pos(z.abs() - pos(x).powf(alpha) * pos(y).powf(1.0 - alpha)))
        }
    }
}

impl ConicProblem {
    /// The residuals of a primal-dual point: how far it is from satisfying the optimality
    /// conditions `Ax + s = b`, `Px + c + Aᵀy = 0`, `s ∈ K`, `y ∈ K*` and a zero duality gap.
    /// `z` must have this problem's dimensions.
    pub fn residuals(&self, z: &ConicSolution) -> Residuals {
        let (x, y, s) = (
            z.x.as_slice().unwrap_or(&[]),
            z.y.as_slice().unwrap_or(&[]),
            z.s.as_slice().unwrap_or(&[]),
        );
        if x.len() != self.n() || y.len() != self.m() || s.len() != self.m() {
            let inf = f64::INFINITY;
            return Residuals {
                primal: inf,
                dual: inf,
                gap: inf,
                slack_cone: inf,
                dual_cone: inf,
            };
        }
        let ax = self.a.mul_vec(x);
        let primal_abs = inf_norm(
            ax.iter()
                .zip(s)
                .zip(&self.b)
                .map(|((a, s), b)| a + s - b)
                .collect::<Vec<_>>()
                .iter(),
        );
        let primal_scale = 1.0 + inf_norm(&self.b).max(inf_norm(&ax)).max(inf_norm(s));
        let px = self
            .p
            .as_ref()
            .map_or_else(|| Array1::zeros(self.n()), |p| p.sym_upper_mul_vec(x));
        let aty = self.a.t_mul_vec(y);
        let dual_abs = inf_norm(
            px.iter()
                .zip(&self.c)
                .zip(&aty)
                .map(|((p, c), a)| p + c + a)
                .collect::<Vec<_>>()
                .iter(),
        );
        let dual_scale = 1.0 + inf_norm(&self.c).max(inf_norm(&px)).max(inf_norm(&aty));
        let xpx: f64 = px.iter().zip(x).map(|(a, b)| a * b).sum();
        let cx: f64 = self.c.iter().zip(x).map(|(a, b)| a * b).sum();
        let by: f64 = self.b.iter().zip(y).map(|(a, b)| a * b).sum();
        let (pobj, dobj) = (0.5 * xpx + cx, -0.5 * xpx - by);
        let gap = (pobj - dobj).abs() / (1.0 + pobj.abs().max(dobj.abs()));
        let (mut slack_cone, mut dual_cone, mut row) = (0.0_f64, 0.0_f64, 0);
        for cone in &self.cones {
            let k = cone.dim();
            slack_cone = slack_cone.max(cone_violation(cone, &s[row..row + k], false));
            dual_cone = dual_cone.max(cone_violation(cone, &y[row..row + k], true));
            row += k;
        }
        Residuals {
            primal: primal_abs / primal_scale,
            dual: dual_abs / dual_scale,
            gap,
            slack_cone: slack_cone / (1.0 + inf_norm(s)),
            dual_cone: dual_cone / (1.0 + inf_norm(y)),
        }
    }

    /// Checks that `z` is optimal to the relative `tolerance`: every one of its [`Residuals`] at
    /// most `tolerance` (a NaN residual fails). Backends' claims of optimality go through this
    /// check (with [`VERIFY_TOLERANCE`], or [`VERIFY_TOLERANCE_ALMOST`] for almost-solved
    /// answers), so a point a solver wrongly calls optimal is [`SolveError::Unverified`].
    pub fn verify(&self, z: &ConicSolution, tolerance: f64) -> Result<(), SolveError> {
        let r = self.residuals(z);
        for (check, residual) in [
            ("primal", r.primal),
            ("dual", r.dual),
            ("gap", r.gap),
            ("slack cone", r.slack_cone),
            ("dual cone", r.dual_cone),
        ] {
            if residual.is_nan() || residual > tolerance {
                return Err(SolveError::Unverified {
                    check,
                    residual,
                    tolerance,
                });
            }
        }
        Ok(())
    }
}

impl ConicProblem {
    /// Checks a certificate of primal infeasibility, `y` with `Aᵀy = 0`, `y ∈ K*`, `bᵀy < 0`
    /// (normalised to `‖y‖∞ = 1`, each condition to the relative `tolerance`). Backends check the
    /// certificate behind an "infeasible" status with it, so the status is never false.
    pub fn verify_infeasible(&self, y: &Array1<f64>, tolerance: f64) -> Result<(), SolveError> {
        let fail = |residual: f64| SolveError::Unverified {
            check: "infeasibility certificate",
            residual,
            tolerance,
        };
        let size = inf_norm(y);
        if y.len() != self.m() || !(size > 0.0 && size.is_finite()) {
            return Err(fail(f64::INFINITY));
        }
        let y = y / size;
        let a_scale = 1.0 + inf_norm(self.a.values());
        let aty = inf_norm(&self.a.t_mul_vec(y.as_slice().unwrap_or(&[])));
        let cone = self.cone_violation(&y, true);
        let by = self.b.dot(&y);
        let residual = (aty / a_scale).max(cone);
        if residual > tolerance {
            return Err(fail(residual));
        }
        if by.is_nan() || by >= -tolerance * (1.0 + inf_norm(&self.b)) * 1e-3 {
            return Err(fail(by));
        }
        Ok(())
    }

    /// Checks a certificate of unboundedness, a direction `x` (with `s = −Ax`) with `Ax + s = 0`,
    /// `s ∈ K`, `Px = 0`, `cᵀx < 0` (normalised to `‖x‖∞ = 1`, each condition to the relative
    /// `tolerance`).
    pub fn verify_unbounded(
        &self,
        x: &Array1<f64>,
        s: &Array1<f64>,
        tolerance: f64,
    ) -> Result<(), SolveError> {
        let fail = |residual: f64| SolveError::Unverified {
            check: "unboundedness certificate",
            residual,
            tolerance,
        };
        let size = inf_norm(x);
        if x.len() != self.n() || s.len() != self.m() || !(size > 0.0 && size.is_finite()) {
            return Err(fail(f64::INFINITY));
        }
        let (x, s) = (x / size, s / size);
        let a_scale = 1.0 + inf_norm(self.a.values());
        let ax = self.a.mul_vec(x.as_slice().unwrap_or(&[]));
        let primal = inf_norm((&ax + &s).iter()) / a_scale;
        let px = self.p.as_ref().map_or(0.0, |p| {
            inf_norm(&p.sym_upper_mul_vec(x.as_slice().unwrap_or(&[])))
                / (1.0 + inf_norm(p.values()))
        });
        let cone = self.cone_violation(&s, false);
        let residual = primal.max(px).max(cone);
        if residual > tolerance {
            return Err(fail(residual));
        }
        let cx = self.c.dot(&x);
        if cx.is_nan() || cx >= -tolerance * (1.0 + inf_norm(&self.c)) * 1e-3 {
            return Err(fail(cx));
        }
        Ok(())
    }

    /// The largest violation of `K` (or `K*` when `dual`) over the cones, in absolute terms.
    fn cone_violation(&self, v: &Array1<f64>, dual: bool) -> f64 {
        let mut row = 0;
        let mut worst = 0.0_f64;
        let v = v.to_vec();
        for cone in &self.cones {
            let k = cone.dim();
            worst = worst.max(cone_violation(cone, &v[row..row + k], dual));
            row += k;
        }
        worst
    }
}

/// Where each row of `l ≤ Ax ≤ u` went in the conic form built by [`ConicProblem::qp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMap {
    /// Conic row of `Aᵢx ≤ uᵢ` (or of the equality when `lᵢ = uᵢ`), if finite.
    pub upper: Vec<Option<usize>>,
    /// Conic row of `−Aᵢx ≤ −lᵢ`, if finite and not an equality.
    pub lower: Vec<Option<usize>>,
}

impl RowMap {
    /// Splits a gradient with respect to the conic `b` into gradients with respect to `l` and `u`
    /// (an equality row's gradient is reported under `u`).
    pub fn bound_gradients(&self, db: &Array1<f64>) -> (Array1<f64>, Array1<f64>) {
        let dl = self
            .lower
            .iter()
            .map(|r| r.map_or(0.0, |k| -db[k]))
            .collect();
        let du = self
            .upper
            .iter()
            .map(|r| r.map_or(0.0, |k| db[k]))
            .collect();
        (dl, du)
    }
}

/// `v` stored contiguously in index order, so that backends can pass `as_slice()` to solvers.
pub(crate) fn standard_layout(v: Array1<f64>) -> Array1<f64> {
    if v.as_slice().is_some() {
        v
    } else {
        v.iter().copied().collect()
    }
}

fn finite_vec(field: &'static str, v: Array1<f64>) -> Result<Array1<f64>, SolveError> {
    check_finite(field, &v)?;
    Ok(v)
}

fn check_array(field: &'static str, v: &Array1<f64>, len: usize) -> Result<(), InvalidInput> {
    check_len(field, v.len(), len)?;
    check_finite(field, v)
}

impl Problem for ConicProblem {
    type Solution = ConicSolution;
    type Cotangent = ConicCotangent;
    type Gradient = ConicGradient;
    type Tangent = ConicTangent;
    type SolutionTangent = ConicSolutionTangent;

    fn check_solution(&self, z: &ConicSolution) -> Result<(), InvalidInput> {
        check_array("x", &z.x, self.n())?;
        check_array("y", &z.y, self.m())?;
        check_array("s", &z.s, self.m())
    }

    fn check_cotangent(&self, g: &ConicCotangent) -> Result<(), InvalidInput> {
        check_array("dx", &g.dx, self.n())?;
        check_array("dy", &g.dy, self.m())?;
        check_array("ds", &g.ds, self.m())
    }

    fn check_tangent(&self, d: &ConicTangent) -> Result<(), InvalidInput> {
        match (&self.p, &d.dp) {
            (Some(p), Some(dp)) => check_array("dP", dp, p.nnz())?,
            (None, Some(dp)) => check_len("dP", dp.len(), 0)?,
            _ => {}
        }
        check_array("dA", &d.da, self.a.nnz())?;
        check_array("db", &d.db, self.m())?;
        check_array("dc", &d.dc, self.n())
    }

    fn is_almost_solved(z: &ConicSolution) -> bool {
        z.status == SolveStatus::AlmostSolved
    }

    fn verify(&self, z: &ConicSolution) -> Result<(), SolveError> {
        ConicProblem::verify(
            self,
            z,
            match z.status {
                SolveStatus::Solved => VERIFY_TOLERANCE,
                SolveStatus::AlmostSolved => VERIFY_TOLERANCE_ALMOST,
            },
        )
    }

    fn backward_problem(
        &self,
        star: &ConicSolution,
        g: &ConicCotangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        let c = finite_vec("perturbed c", &self.c + &(sigma * &g.dx) - &(rho * &star.x))?;
        let b = finite_vec("perturbed b", &self.b - &(sigma * &g.dy))?;
        let p = self.prox_p(rho)?;
        if g.ds.iter().all(|&v| v == 0.0) {
            return Ok(Self {
                p,
                a: self.a.clone(),
                b,
                c,
                cones: self.cones.clone(),
            });
        }
        let cost_s = finite_vec("perturbed slack cost", sigma * &g.ds)?;
        Ok(self.embed_slack(p, b, c, cost_s))
    }

    fn forward_mode_problem(
        &self,
        star: &ConicSolution,
        d: &ConicTangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        let moved = Self {
            p: match (&self.p, &d.dp) {
                (Some(p), Some(dp)) => Some(p.axpy_values(sigma, dp)),
                (p, _) => p.clone(),
            },
            a: self.a.axpy_values(sigma, &d.da),
            b: finite_vec("moved b", &self.b + &(sigma * &d.db))?,
            c: finite_vec("moved c", &self.c + &(sigma * &d.dc) - &(rho * &star.x))?,
            cones: self.cones.clone(),
        };
        check_finite("moved A", moved.a.values())?;
        if let Some(p) = &moved.p {
            check_finite("moved P", p.values())?;
            p.check_positive_semidefinite()?;
        }
        Ok(Self {
            p: moved.prox_p(rho)?,
            ..moved
        })
    }

    fn restrict(&self, z: ConicSolution) -> ConicSolution {
        let (n, m) = (self.n(), self.m());
        if z.x.len() == n {
            return z;
        }
        // The slack-embedding: x' = s, and the dual of the first m rows is the original y.
        ConicSolution {
            x: z.x.slice(ndarray::s![..n]).to_owned(),
            s: z.x.slice(ndarray::s![n..n + m]).to_owned(),
            y: z.y.slice(ndarray::s![..m]).to_owned(),
            status: z.status,
            iterations: z.iterations,
        }
    }

    fn lagrangian_gradient_difference(
        &self,
        a: &ConicSolution,
        b: &ConicSolution,
        den: f64,
    ) -> ConicGradient {
        let inv = 1.0 / den;
        let da = self
            .a
            .iter()
            .map(|(i, j, _)| (a.y[i] * a.x[j] - b.y[i] * b.x[j]) * inv)
            .collect();
        let dp = self.p.as_ref().map(|p| {
            p.iter()
                .map(|(i, j, _)| {
                    let w = if i == j { 0.5 } else { 1.0 };
                    w * (a.x[i] * a.x[j] - b.x[i] * b.x[j]) * inv
                })
                .collect()
        });
        ConicGradient {
            dp,
            da,
            db: (&b.y - &a.y) * inv,
            dc: (&a.x - &b.x) * inv,
        }
    }

    fn solution_difference(
        &self,
        a: &ConicSolution,
        b: &ConicSolution,
        den: f64,
    ) -> ConicCotangent {
        let inv = 1.0 / den;
        ConicCotangent {
            dx: (&a.x - &b.x) * inv,
            dy: (&a.y - &b.y) * inv,
            ds: (&a.s - &b.s) * inv,
        }
    }
}

/// Something that can serve as a constraint block: a [`CscMatrix`] or a dense matrix.
pub trait IntoCsc {
    /// The sparse form.
    fn into_csc(self) -> Result<CscMatrix, InvalidInput>;
}

impl IntoCsc for CscMatrix {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        Ok(self)
    }
}
impl IntoCsc for &CscMatrix {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        Ok(self.clone())
    }
}
impl IntoCsc for ArrayView2<'_, f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self)
    }
}
impl IntoCsc for &Array2<f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self.view())
    }
}
impl IntoCsc for Array2<f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self.view())
    }
}

/// Assembles a [`ConicProblem`] from constraint blocks. Blocks are placed in the SCS cone order
/// (zero, nonnegative, second-order, exponential, power), in the order they were added within a
/// kind; equalities and inequalities are merged into one cone each. Errors are reported by
/// [`ConicBuilder::build`].
///
/// ```
/// use lpgd_core::ConicProblem;
/// use ndarray::array;
/// // min x0 + 2 x1  s.t.  x0 + x1 = 1,  0 <= x <= 1
/// let problem = ConicProblem::builder(2)
///     .cost(array![1.0, 2.0])
///     .equalities(array![[1.0, 1.0]], array![1.0])
///     .bounds(&[0.0, 0.0], &[1.0, 1.0])
///     .build()
///     .unwrap();
/// assert_eq!((problem.n(), problem.m()), (2, 5));
/// ```
#[derive(Debug, Clone)]
pub struct ConicBuilder {
    n: usize,
    c: Option<Array1<f64>>,
    p: Option<CscMatrix>,
    blocks: Vec<(Cone, CscMatrix, Array1<f64>)>,
    error: Option<InvalidInput>,
}

impl ConicBuilder {
    fn new(n: usize) -> Self {
        Self {
            n,
            c: None,
            p: None,
            blocks: Vec::new(),
            error: None,
        }
    }

    fn fail(mut self, e: InvalidInput) -> Self {
        self.error.get_or_insert(e);
        self
    }

    /// Sets the linear cost c (default: zero).
    pub fn cost(mut self, c: Array1<f64>) -> Self {
        self.c = Some(c);
        self
    }

    /// Sets the quadratic cost: the upper triangle of a symmetric positive semidefinite P.
    pub fn quadratic(mut self, p_upper: impl IntoCsc) -> Self {
        match p_upper.into_csc() {
            Ok(p) => self.p = Some(p),
            Err(e) => return self.fail(e),
        }
        self
    }

    fn block(self, cone: Cone, a: impl IntoCsc, b: Array1<f64>) -> Self {
        let a = match a.into_csc() {
            Ok(a) => a,
            Err(e) => return self.fail(e),
        };
        if a.ncols() != self.n || a.nrows() != b.len() {
            let (rows, cols, n) = (a.nrows(), a.ncols(), self.n);
            return self.fail(InvalidInput::Shape {
                field: "constraint block",
                rows,
                cols,
                expected_rows: b.len(),
                expected_cols: n,
            });
        }
        let mut s = self;
        s.blocks.push((cone, a, b));
        s
    }

    /// Adds `A x = b`.
    pub fn equalities(self, a: impl IntoCsc, b: Array1<f64>) -> Self {
        let k = b.len();
        self.block(Cone::Zero(k), a, b)
    }

    /// Adds `G x ≤ h`.
    pub fn inequalities(self, g: impl IntoCsc, h: Array1<f64>) -> Self {
        let k = h.len();
        self.block(Cone::Nonnegative(k), g, h)
    }

    /// Adds `lo ≤ x ≤ hi` (infinite entries are skipped).
    pub fn bounds(self, lo: &[f64], hi: &[f64]) -> Self {
        let n = self.n;
        if lo.len() != n || hi.len() != n {
            return self.fail(InvalidInput::Length {
                field: "bounds",
                expected: n,
                found: lo.len().min(hi.len()),
            });
        }
        let (mut rows, mut cols, mut vals, mut rhs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for j in 0..n {
            if hi[j].is_finite() {
                rows.push(rhs.len());
                cols.push(j);
                vals.push(1.0);
                rhs.push(hi[j]);
            }
            if lo[j].is_finite() {
                rows.push(rhs.len());
                cols.push(j);
                vals.push(-1.0);
                rhs.push(-lo[j]);
            }
            if lo[j].is_nan() || hi[j].is_nan() || lo[j] > hi[j] {
                return self.fail(InvalidInput::Value {
                    field: "bounds",
                    index: j,
                    reason: "NaN or lower above upper",
                });
            }
        }
        match CscMatrix::from_triplets(rhs.len(), n, &rows, &cols, &vals) {
            Ok(g) => self.inequalities(g, Array1::from(rhs)),
            Err(e) => self.fail(e),
        }
    }

    /// Adds `b − A x ∈ SOC` (first row is the bound: `‖(b − Ax)[1..]‖ ≤ (b − Ax)[0]`).
    pub fn second_order(self, a: impl IntoCsc, b: Array1<f64>) -> Self {
        let k = b.len();
        self.block(Cone::SecondOrder(k), a, b)
    }

    /// Adds `b − A x ∈ K_exp` (three rows).
    pub fn exponential(self, a: impl IntoCsc, b: Array1<f64>) -> Self {
        self.block(Cone::Exponential, a, b)
    }

    /// Adds `b − A x ∈ K_pow(α)` (three rows).
    pub fn power(self, a: impl IntoCsc, b: Array1<f64>, alpha: f64) -> Self {
        self.block(Cone::Power(alpha), a, b)
    }

    /// Validates and assembles the problem.
    pub fn build(self) -> Result<ConicProblem, InvalidInput> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(c) = &self.c {
            check_len("c", c.len(), self.n)?;
        }
        if self.c.is_none() && self.p.is_none() && self.blocks.is_empty() {
            return Err(InvalidInput::Empty(
                "the problem (no cost, no quadratic cost, no constraints)",
            ));
        }
        let mut blocks = self.blocks;
        blocks.sort_by_key(|(cone, _, _)| cone.kind());
        let mut cones: Vec<Cone> = Vec::new();
        for (cone, _, _) in &blocks {
            match (cones.last_mut(), cone) {
                (Some(Cone::Zero(k)), Cone::Zero(j))
                | (Some(Cone::Nonnegative(k)), Cone::Nonnegative(j)) => *k += j,
                _ => cones.push(*cone),
            }
        }
        cones.retain(|c| c.dim() > 0 || c.kind() == ConeKind::SecondOrder);
        let mats: Vec<&CscMatrix> = blocks.iter().map(|(_, a, _)| a).collect();
        let a = if mats.is_empty() {
            CscMatrix::zeros(0, self.n)?
        } else {
            CscMatrix::vstack(&mats)?
        };
        let b = Array1::from_iter(blocks.iter().flat_map(|(_, _, b)| b.iter().copied()));
        let c = match self.c {
            Some(c) => c,
            None => Array1::from(filled_vec("variables", self.n, 0.0)?),
        };
        ConicProblem::new(self.p, a, b, c, cones)
    }
}
