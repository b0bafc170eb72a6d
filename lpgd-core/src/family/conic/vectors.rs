//! Vectors in the solution space (incoming gradients, forward-mode outputs) and in the data space
//! (LPGD gradients, forward-mode directions).

use super::ConicProblem;
use crate::error::Field;
use crate::problem::{first_non_finite, Finite};
use ndarray::Array1;

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
    /// A gradient with respect to x only, for `problem` (dy = ds = 0, of its row count). `dx` is
    /// checked against the problem where it is used (its length must be `problem.n()`).
    ///
    /// ```
    /// use lpgd_core::{ConicCotangent, ConicProblem};
    /// use lpgd_core::ndarray::array;
    /// let p = ConicProblem::builder(2).cost(array![1.0, 1.0]).bounds(&[0.0; 2], &[1.0; 2]).build()?;
    /// let g = ConicCotangent::on_x(&p, array![1.0, 0.0]);
    /// assert_eq!((g.dy.len(), g.ds.len()), (4, 4));
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn on_x(problem: &ConicProblem, dx: Array1<f64>) -> Self {
        Self {
            dx,
            dy: Array1::zeros(problem.m()),
            ds: Array1::zeros(problem.m()),
        }
    }
}

/// A vector in the data's space `(dP, dA, db, dc)`: the LPGD gradient of a backward pass, or a
/// data direction for forward mode. `dP` and `dA` hold one value per stored entry of P and A, in
/// their CSC order; `dP` is `None` when the problem has no P. The stored entries are the
/// parameters: a dense block stores its nonzeros only, so name the entries you learn with
/// [`ConicBuilder::matrix_parameter`](crate::conic::ConicBuilder::matrix_parameter) (stored even where
/// zero) and read their gradients by name from
/// [`Parameters::gradients`](crate::conic::Parameters::gradients).
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
