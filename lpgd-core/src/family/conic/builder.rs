//! Assembling a conic program block by block.

use super::ConicProblem;
use crate::cone::{Cone, ConeKind};
use crate::csc::CscMatrix;
use crate::error::{check_len, InvalidInput};
use crate::limits::filled_vec;
use ndarray::{Array1, Array2, ArrayView2};

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

/// Something that can serve as a vector argument of the builder: an owned or borrowed
/// [`Array1`], a `Vec`, a slice or an array of `f64`, so every builder method takes the same kinds.
pub trait IntoVector {
    /// The owned vector.
    fn into_vector(self) -> Array1<f64>;
}

impl IntoVector for Array1<f64> {
    fn into_vector(self) -> Array1<f64> {
        self
    }
}
impl IntoVector for &Array1<f64> {
    fn into_vector(self) -> Array1<f64> {
        self.clone()
    }
}
impl IntoVector for Vec<f64> {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self)
    }
}
impl IntoVector for &Vec<f64> {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.clone())
    }
}
impl IntoVector for &[f64] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
    }
}
impl<const N: usize> IntoVector for [f64; N] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
    }
}
impl<const N: usize> IntoVector for &[f64; N] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
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
    pub(super) fn new(n: usize) -> Self {
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
    pub fn cost(mut self, c: impl IntoVector) -> Self {
        self.c = Some(c.into_vector());
        self
    }

    /// Sets the quadratic cost: the upper triangle of a symmetric positive semidefinite P.
    pub fn quadratic(mut self, p_upper: impl IntoCsc) -> Self {
        match p_upper.into_csc().map_err(|e| e.naming_matrix("P")) {
            Ok(p) => self.p = Some(p),
            Err(e) => return self.fail(e),
        }
        self
    }

    fn block(self, cone: Cone, a: impl IntoCsc, b: Array1<f64>) -> Self {
        let field = match cone {
            Cone::Zero(_) => "A of an equality block",
            Cone::Nonnegative(_) => "A of an inequality block",
            _ => "A of a cone block",
        };
        let a = match a.into_csc() {
            Ok(a) => a,
            Err(e) => return self.fail(e.naming_matrix(field)),
        };
        if a.ncols() != self.n {
            let (rows, cols, n) = (a.nrows(), a.ncols(), self.n);
            return self.fail(InvalidInput::Shape {
                field,
                rows,
                cols,
                expected_rows: rows,
                expected_cols: n,
            });
        }
        if a.nrows() != b.len() {
            return self.fail(InvalidInput::Length {
                field: "right-hand side of a constraint block (one entry per row of its A)",
                expected: a.nrows(),
                found: b.len(),
            });
        }
        let mut s = self;
        s.blocks.push((cone, a, b));
        s
    }

    /// Adds `A x = b`.
    pub fn equalities(self, a: impl IntoCsc, b: impl IntoVector) -> Self {
        let b = b.into_vector();
        let k = b.len();
        self.block(Cone::Zero(k), a, b)
    }

    /// Adds `G x ≤ h`.
    pub fn inequalities(self, g: impl IntoCsc, h: impl IntoVector) -> Self {
        let h = h.into_vector();
        let k = h.len();
        self.block(Cone::Nonnegative(k), g, h)
    }

    /// Adds `lo ≤ x ≤ hi` (infinite entries are skipped).
    pub fn bounds(self, lo: impl IntoVector, hi: impl IntoVector) -> Self {
        let (lo, hi) = (lo.into_vector(), hi.into_vector());
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
    pub fn second_order(self, a: impl IntoCsc, b: impl IntoVector) -> Self {
        let b = b.into_vector();
        let k = b.len();
        self.block(Cone::SecondOrder(k), a, b)
    }

    /// Adds `b − A x ∈ K_exp` (three rows).
    pub fn exponential(self, a: impl IntoCsc, b: impl IntoVector) -> Self {
        self.block(Cone::Exponential, a, b.into_vector())
    }

    /// Adds `b − A x ∈ K_pow(α)` (three rows).
    pub fn power(self, a: impl IntoCsc, b: impl IntoVector, alpha: f64) -> Self {
        self.block(Cone::Power(alpha), a, b.into_vector())
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
