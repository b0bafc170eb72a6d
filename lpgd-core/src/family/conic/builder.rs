//! Assembling a conic program block by block.

use super::{ConicProblem, IntoCsc, IntoVector, Location, Parameters};
use crate::cone::{Cone, ConeKind};
use crate::csc::CscMatrix;
use crate::error::{check_len, InvalidInput};
use crate::limits::filled_vec;
use ndarray::Array1;

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
    named: Vec<(String, Named, f64)>,
}

/// A named data entry as the builder knows it: block-relative until the problem is assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Cost(usize),
    Rhs {
        block: usize,
        row: usize,
    },
    Matrix {
        block: usize,
        row: usize,
        col: usize,
    },
    Quadratic {
        row: usize,
        col: usize,
    },
}

impl ConicBuilder {
    pub(super) fn new(n: usize) -> Self {
        Self {
            n,
            c: None,
            p: None,
            blocks: Vec::new(),
            error: None,
            named: Vec::new(),
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

    /// Adds `b − A x ∈ S₊ᵏ`: the `k(k + 1)/2` rows are a symmetric `k × k` matrix in the layout of
    /// [`Cone::Psd`] (lower triangle column by column, off-diagonal entries scaled by √2).
    pub fn psd(self, k: usize, a: impl IntoCsc, b: impl IntoVector) -> Self {
        let b = b.into_vector();
        match crate::cone::psd_rows(k) {
            Some(rows) if rows == b.len() => self.block(Cone::Psd(k), a, b),
            _ => {
                let found = b.len();
                self.fail(InvalidInput::Length {
                    field: "right-hand side of a PSD block (k(k + 1)/2 rows)",
                    expected: crate::cone::psd_rows(k).unwrap_or(usize::MAX),
                    found,
                })
            }
        }
    }

    /// Adds `b − A x ∈ K_exp` (three rows).
    pub fn exponential(self, a: impl IntoCsc, b: impl IntoVector) -> Self {
        self.block(Cone::Exponential, a, b.into_vector())
    }

    /// Adds `b − A x ∈ K_pow(α)` (three rows).
    pub fn power(self, a: impl IntoCsc, b: impl IntoVector, alpha: f64) -> Self {
        self.block(Cone::Power(alpha), a, b.into_vector())
    }

    /// Names the cost coefficient of variable `j` as a layer parameter.
    pub fn cost_parameter(mut self, name: impl Into<String>, j: usize) -> Self {
        if j >= self.n {
            return self.fail(InvalidInput::Value {
                field: "cost parameter",
                index: j,
                reason: "no such variable",
            });
        }
        self.named.push((name.into(), Named::Cost(j), 1.0));
        self
    }

    /// Names row `row` of the right-hand side of the block added last as a layer parameter.
    pub fn rhs_parameter(mut self, name: impl Into<String>, row: usize) -> Self {
        match self.blocks.len().checked_sub(1) {
            Some(block) if row < self.blocks[block].2.len() => {
                self.named
                    .push((name.into(), Named::Rhs { block, row }, 1.0));
                self
            }
            _ => self.fail(InvalidInput::Value {
                field: "rhs parameter",
                index: row,
                reason: "no such row in the block added last",
            }),
        }
    }

    /// Names entry (`row`, `col`) of the matrix of the block added last as a layer parameter. The
    /// entry is stored even where it is zero (a dense block drops zeros otherwise), so its
    /// gradient is always reported.
    pub fn matrix_parameter(mut self, name: impl Into<String>, row: usize, col: usize) -> Self {
        let Some(block) = self.blocks.len().checked_sub(1) else {
            return self.fail(InvalidInput::Value {
                field: "matrix parameter",
                index: row,
                reason: "no block added yet",
            });
        };
        match with_entry(&self.blocks[block].1, row, col) {
            Ok(a) => {
                self.blocks[block].1 = a;
                self.named
                    .push((name.into(), Named::Matrix { block, row, col }, 1.0));
                self
            }
            Err(e) => self.fail(e.naming_matrix("matrix parameter")),
        }
    }

    /// Names entry (`row`, `col`) of P (upper triangle, `row ≤ col`) as a layer parameter,
    /// stored even where it is zero.
    pub fn quadratic_parameter(mut self, name: impl Into<String>, row: usize, col: usize) -> Self {
        let p = match &self.p {
            Some(p) if row <= col => with_entry(p, row, col),
            _ => Err(InvalidInput::Value {
                field: "quadratic parameter",
                index: row,
                reason: "needs a quadratic cost and an entry on or above the diagonal",
            }),
        };
        match p {
            Ok(p) => {
                self.p = Some(p);
                self.named
                    .push((name.into(), Named::Quadratic { row, col }, 1.0));
                self
            }
            Err(e) => self.fail(e.naming_matrix("P")),
        }
    }

    /// Declares that the data entry of the parameter named last is `scale` times the parameter
    /// (finite, nonzero): −1 for a `≥` row written in the conic form as `−aᵀx ≤ −b`, so that
    /// gradients, values and [`Parameters::apply`] speak of the parameter as the user wrote it.
    pub fn parameter_scale(mut self, scale: f64) -> Self {
        let index = self.named.len();
        match self.named.last_mut() {
            Some(last) if scale.is_finite() && scale != 0.0 => {
                last.2 = scale;
                self
            }
            _ => self.fail(InvalidInput::Value {
                field: "parameter scale",
                index,
                reason: "needs a named parameter and a finite, nonzero scale",
            }),
        }
    }

    /// Validates and assembles the problem, with the map from its data to the named parameters.
    ///
    /// ```
    /// use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Side};
    /// use lpgd_core::ndarray::array;
    /// // min c·x s.t. x₀ + x₁ = 1, x ≥ 0, with the price of x₀ and the (zero) coupling of x₁ in
    /// // the equality as parameters.
    /// let (problem, params) = ConicProblem::builder(2)
    ///     .cost([1.0, 2.0])
    ///     .cost_parameter("price", 0)
    ///     .equalities(array![[1.0, 0.0]], [1.0])
    ///     .matrix_parameter("coupling", 0, 1)
    ///     .rhs_parameter("demand", 0)
    ///     .bounds([0.0, 0.0], [f64::INFINITY, f64::INFINITY])
    ///     .build_with_parameters()?;
    /// assert_eq!(problem.a().nnz(), 4); // the zero coupling is stored
    /// assert_eq!(params.values(&problem)["coupling"], 0.0);
    /// let mut grad = lpgd_core::ConicGradient::zeros(&problem);
    /// grad.dc[0] = 3.0;
    /// assert_eq!(params.gradients(&grad)["price"], 3.0);
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn build_with_parameters(mut self) -> Result<(ConicProblem, Parameters), InvalidInput> {
        let named = std::mem::take(&mut self.named);
        // Row offset of each block in the assembled problem: blocks are placed by cone kind,
        // in the order they were added within a kind (a stable sort).
        let mut order: Vec<usize> = (0..self.blocks.len()).collect();
        order.sort_by_key(|&k| self.blocks[k].0.kind());
        let mut offset = vec![0; self.blocks.len()];
        let mut row = 0;
        for &k in &order {
            offset[k] = row;
            row += self.blocks[k].2.len();
        }
        let problem = self.build()?;
        let position = |m: &CscMatrix, row: usize, col: usize| {
            let (start, end) = (m.colptr()[col], m.colptr()[col + 1]);
            m.rowval()[start..end]
                .binary_search(&row)
                .map(|k| start + k)
                .expect("the builder stored every named entry")
        };
        let entries = named
            .into_iter()
            .map(|(name, at, scale)| {
                let location = match at {
                    Named::Cost(j) => Location::C(j),
                    Named::Rhs { block, row } => Location::B(offset[block] + row),
                    Named::Matrix { block, row, col } => {
                        Location::A(position(problem.a(), offset[block] + row, col))
                    }
                    Named::Quadratic { row, col } => Location::P(position(
                        problem.p().expect("a quadratic parameter needs P"),
                        row,
                        col,
                    )),
                };
                (name, location, scale)
            })
            .collect();
        Ok((problem, Parameters { entries }))
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

/// `m` with entry (`row`, `col`) stored (as an explicit zero if it was not).
fn with_entry(m: &CscMatrix, row: usize, col: usize) -> Result<CscMatrix, InvalidInput> {
    if row >= m.nrows() || col >= m.ncols() {
        return Err(InvalidInput::Shape {
            field: "matrix",
            rows: row + 1,
            cols: col + 1,
            expected_rows: m.nrows(),
            expected_cols: m.ncols(),
        });
    }
    let (mut rows, mut cols, mut vals): (Vec<usize>, Vec<usize>, Vec<f64>) =
        m.iter()
            .fold((Vec::new(), Vec::new(), Vec::new()), |mut t, (i, j, v)| {
                t.0.push(i);
                t.1.push(j);
                t.2.push(v);
                t
            });
    rows.push(row);
    cols.push(col);
    vals.push(0.0);
    CscMatrix::from_triplets(m.nrows(), m.ncols(), &rows, &cols, &vals)
}
