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
//!
//! One concern per file: the problem and its validation (this file), the [`ConicBuilder`]
//! (`builder`), the OSQP-style and LP constructors (`bounds`), solutions (`solution`), the vectors
//! of the solution and data spaces (`vectors`), the LPGD perturbation (`perturb`), the
//! optimality checks (`verify`) and the compiled structure of a layer (`structure`).

mod bounds;
mod builder;
mod into;
mod parameters;
mod perturb;
mod solution;
mod structure;
mod vectors;
mod verify;

pub use bounds::RowMap;
pub use builder::ConicBuilder;
pub use into::{IntoCsc, IntoVector};
pub use parameters::{Location, Parameters};
pub use solution::{ConicSolution, SolveStatus};
pub use structure::{ConicStructure, ConicValues};
pub use vectors::{ConicCotangent, ConicGradient, ConicSolutionTangent, ConicTangent};
pub use verify::{Residuals, VERIFY_TOLERANCE, VERIFY_TOLERANCE_ALMOST};

use crate::cone::Cone;
use crate::csc::CscMatrix;
use crate::error::{check_finite, check_len, ConeIssue, InvalidInput, SparseIssue};
use crate::limits::checked_sum;
use ndarray::Array1;

/// A conic program with validated data. Build it with [`ConicProblem::new`],
/// [`ConicProblem::builder`], [`ConicProblem::lp`] or [`ConicProblem::qp`].
///
/// ```
/// use lpgd_core::{ConicProblem, Cone, CscMatrix};
/// use lpgd_core::ndarray::array;
/// // min ½x² − x  s.t. x ≤ 2: the data as diffcp/SCS take it (A x + s = b, s ≥ 0).
/// let p = CscMatrix::from_dense(array![[1.0]].view())?;
/// let a = CscMatrix::from_dense(array![[1.0]].view())?;
/// let problem = ConicProblem::new(Some(p), a, array![2.0], array![-1.0], vec![Cone::Nonnegative(1)])?;
/// assert_eq!((problem.n(), problem.m()), (1, 1));
/// assert_eq!(problem.objective(&[1.0]), -0.5);
/// // A new cost on the same structure (a layer's prediction) is validated too.
/// assert!(problem.with_c(array![f64::NAN]).is_err());
/// # Ok::<(), lpgd_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConicProblem {
    p: Option<CscMatrix>,
    a: CscMatrix,
    b: Array1<f64>,
    c: Array1<f64>,
    cones: Vec<Cone>,
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
        Self::validated(p, a, b, c, cones, true)
    }

    /// Many problems, each validated as [`ConicProblem::new`] validates it, but P's convexity
    /// checked once for consecutive items with equal P (a batch whose items share P pays for one
    /// check, not one per item: the check factorizes P).
    ///
    /// ```
    /// use lpgd_core::{Cone, ConicProblem, CscMatrix};
    /// use lpgd_core::ndarray::array;
    /// let p = CscMatrix::from_dense(array![[2.0]].view())?;
    /// let a = CscMatrix::from_dense(array![[1.0]].view())?;
    /// let item = |c: f64| (Some(p.clone()), a.clone(), array![1.0], array![c], vec![Cone::Nonnegative(1)]);
    /// let problems = ConicProblem::new_batch([item(1.0), item(f64::NAN), item(-1.0)]);
    /// assert!(problems[0].is_ok() && problems[1].is_err() && problems[2].is_ok());
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn new_batch(
        items: impl IntoIterator<
            Item = (
                Option<CscMatrix>,
                CscMatrix,
                Array1<f64>,
                Array1<f64>,
                Vec<Cone>,
            ),
        >,
    ) -> Vec<Result<Self, InvalidInput>> {
        let mut memo = ConvexityMemo::default();
        items
            .into_iter()
            .map(|(p, a, b, c, cones)| memo.validate(p, a, b, c, cones))
            .collect()
    }

    /// [`ConicProblem::new`], with the convexity check of P left out where the caller has just
    /// made it on the very same values (a compiled structure whose items share P).
    pub(crate) fn validated(
        p: Option<CscMatrix>,
        a: CscMatrix,
        b: Array1<f64>,
        c: Array1<f64>,
        cones: Vec<Cone>,
        check_convexity: bool,
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
            check_cone(cone, index)?;
        }
        let cone_rows = checked_sum("cone rows", cones.iter().map(Cone::dim))?;
        if cone_rows != m {
            return Err(InvalidInput::ConeRows { cone_rows, rows: m });
        }
        if let (Some(p), true) = (&p, check_convexity) {
            p.check_positive_semidefinite()?;
        }
        Ok(Self { p, a, b, c, cones })
    }

    /// Starts a problem with `n` variables, assembled block by block.
    pub fn builder(n: usize) -> ConicBuilder {
        ConicBuilder::new(n)
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
}

/// `v` stored contiguously in index order, so that backends can pass `as_slice()` to solvers.
pub(crate) fn standard_layout(v: Array1<f64>) -> Array1<f64> {
    if v.as_slice().is_some() {
        v
    } else {
        v.iter().copied().collect()
    }
}

/// Checks a cone's parameters (`index`: its position, for the error).
fn check_cone(cone: &Cone, index: usize) -> Result<(), InvalidInput> {
    match *cone {
        Cone::SecondOrder(0) => Err(InvalidInput::Cone {
            index,
            issue: ConeIssue::EmptySecondOrder,
        }),
        Cone::Psd(0) => Err(InvalidInput::Cone {
            index,
            issue: ConeIssue::EmptyPsd,
        }),
        Cone::Psd(k) => crate::limits::check_dimension(
            "positive semidefinite cone rows",
            crate::cone::psd_rows(k).unwrap_or(usize::MAX),
        )
        .map(|_| ()),
        Cone::Power(a) if !(a > 0.0 && a < 1.0) => Err(InvalidInput::Cone {
            index,
            issue: ConeIssue::PowerExponent(a),
        }),
        _ => Ok(()),
    }
}

/// The verdict on the convexity of the last P checked, so that a run of problems with equal P
/// (a batch sharing P) pays for one factorization instead of one per problem.
#[derive(Default)]
pub(crate) struct ConvexityMemo {
    last: Option<(CscMatrix, Result<(), InvalidInput>)>,
}

impl ConvexityMemo {
    /// [`ConicProblem::new`] on these data, with the same answer, skipping P's convexity check
    /// when P equals the last one checked.
    pub(crate) fn validate(
        &mut self,
        p: Option<CscMatrix>,
        a: CscMatrix,
        b: Array1<f64>,
        c: Array1<f64>,
        cones: Vec<Cone>,
    ) -> Result<ConicProblem, InvalidInput> {
        let known = match (&p, &self.last) {
            (Some(p), Some((last, verdict))) if p == last => Some(verdict.clone()),
            _ => None,
        };
        if let Some(verdict) = known {
            // Every other check first, as `new` makes them before the convexity check.
            let problem = ConicProblem::validated(p, a, b, c, cones, false)?;
            return verdict.map(|()| problem);
        }
        let kept = p.clone();
        let problem = ConicProblem::validated(p, a, b, c, cones, true);
        if let Some(p) = kept {
            match &problem {
                Ok(_) => self.last = Some((p, Ok(()))),
                Err(e @ InvalidInput::NotConvex { .. }) => self.last = Some((p, Err(e.clone()))),
                // Refused before the convexity check: nothing learned about P.
                Err(_) => {}
            }
        }
        problem
    }
}
