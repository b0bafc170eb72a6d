//! A small compressed-sparse-column matrix, validated once at construction.
//!
//! Gradients with respect to a sparse matrix are returned as one value per *stored* entry, in the
//! matrix's CSC order (explicit zeros included), which is what a layer with a fixed sparsity pattern
//! and learned values needs.

use crate::error::{check_finite, Field, InvalidInput, SparseIssue};
use crate::limits::{check_dimension, filled_vec};
use ndarray::{Array1, Array2, ArrayView2};

mod convexity;

pub use convexity::PSD_TOLERANCE;

/// A sparse matrix in compressed-sparse-column form with sorted, unique row indices per column.
#[derive(Debug, Clone, PartialEq)]
pub struct CscMatrix {
    nrows: usize,
    ncols: usize,
    colptr: Vec<usize>,
    rowval: Vec<usize>,
    nzval: Vec<f64>,
}

impl CscMatrix {
    /// Builds a matrix from CSC arrays, checking their shape, order and finiteness.
    ///
    /// ```
    /// # use lpgd_core::CscMatrix;
    /// // [[1, 0], [2, 3]]
    /// let m = CscMatrix::new(2, 2, vec![0, 2, 3], vec![0, 1, 1], vec![1.0, 2.0, 3.0]).unwrap();
    /// assert_eq!(m.nnz(), 3);
    /// assert!(CscMatrix::new(2, 2, vec![0, 2, 3], vec![1, 0, 1], vec![1.0, 2.0, 3.0]).is_err());
    /// ```
    pub fn new(
        nrows: usize,
        ncols: usize,
        colptr: Vec<usize>,
        rowval: Vec<usize>,
        nzval: Vec<f64>,
    ) -> Result<Self, InvalidInput> {
        Self::new_named("matrix", (nrows, ncols), (colptr, rowval), nzval)
    }

    /// [`CscMatrix::new`] with errors naming the matrix `field`.
    pub(crate) fn new_named(
        field: Field,
        (nrows, ncols): (usize, usize),
        (colptr, rowval): (Vec<usize>, Vec<usize>),
        nzval: Vec<f64>,
    ) -> Result<Self, InvalidInput> {
        let bad = |issue| InvalidInput::Sparse { field, issue };
        check_dimension(field, nrows)?;
        check_dimension(field, ncols)?;
        check_dimension(field, nzval.len())?;
        if colptr.len() != ncols + 1 {
            return Err(bad(SparseIssue::ColptrLength {
                expected: ncols + 1,
                found: colptr.len(),
            }));
        }
        if rowval.len() != nzval.len() {
            return Err(bad(SparseIssue::ValueCount {
                rowval: rowval.len(),
                nzval: nzval.len(),
            }));
        }
        if colptr[0] != 0 || colptr[ncols] != rowval.len() || colptr.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad(SparseIssue::Colptr));
        }
        for col in 0..ncols {
            let rows = &rowval[colptr[col]..colptr[col + 1]];
            if let Some(&row) = rows.iter().find(|&&r| r >= nrows) {
                return Err(bad(SparseIssue::RowOutOfRange { row, col }));
            }
            if rows.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad(SparseIssue::Unsorted { col }));
            }
        }
        if let Some(k) = nzval.iter().position(|v| !v.is_finite()) {
            // The column holding stored entry k: the last column starting at or before it.
            let col = colptr.partition_point(|&start| start <= k) - 1;
            return Err(InvalidInput::NonFiniteEntry {
                field,
                row: rowval[k],
                col,
                value: nzval[k],
            });
        }
        Ok(Self {
            nrows,
            ncols,
            colptr,
            rowval,
            nzval,
        })
    }

    /// Builds a matrix from (row, column, value) triplets in any order. Duplicates are summed.
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[f64],
    ) -> Result<Self, InvalidInput> {
        let bad = |issue| InvalidInput::Sparse {
            field: "matrix",
            issue,
        };
        if rows.len() != cols.len() || rows.len() != vals.len() {
            return Err(bad(SparseIssue::Triplets));
        }
        check_dimension("matrix rows", nrows)?;
        check_dimension("matrix columns", ncols)?;
        check_dimension("matrix entries", rows.len())?;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for &k in &order {
            if cols[k] >= ncols || rows[k] >= nrows {
                return Err(InvalidInput::Shape {
                    field: "matrix",
                    rows: rows[k] + 1,
                    cols: cols[k] + 1,
                    expected_rows: nrows,
                    expected_cols: ncols,
                });
            }
        }
        order.sort_by_key(|&k| (cols[k], rows[k]));
        let mut colptr = filled_vec("matrix columns", ncols + 1, 0usize)?;
        let mut rowval: Vec<usize> = Vec::with_capacity(rows.len());
        let mut nzval: Vec<f64> = Vec::with_capacity(rows.len());
        let mut last: Option<(usize, usize)> = None;
        for k in order {
            let key = (cols[k], rows[k]);
            if last == Some(key) {
                *nzval.last_mut().expect("a previous entry exists") += vals[k];
                continue;
            }
            last = Some(key);
            colptr[cols[k] + 1] += 1;
            rowval.push(rows[k]);
            nzval.push(vals[k]);
        }
        for j in 0..ncols {
            colptr[j + 1] += colptr[j];
        }
        Self::new(nrows, ncols, colptr, rowval, nzval)
    }

    /// The sparse form of a dense matrix, storing its nonzero entries.
    pub fn from_dense(dense: ArrayView2<'_, f64>) -> Result<Self, InvalidInput> {
        let (nrows, ncols) = dense.dim();
        let mut colptr = Vec::with_capacity(ncols + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        for j in 0..ncols {
            for i in 0..nrows {
                let v = dense[[i, j]];
                if v != 0.0 {
                    rowval.push(i);
                    nzval.push(v);
                }
            }
            colptr.push(rowval.len());
        }
        Self::new(nrows, ncols, colptr, rowval, nzval)
    }

    /// The n×n identity scaled by `value` (finite; `n` at most [`MAX_DIMENSION`](crate::limits::MAX_DIMENSION)).
    pub fn scaled_identity(n: usize, value: f64) -> Result<Self, InvalidInput> {
        check_finite("identity scale", [&value])?;
        check_dimension("identity size", n)?;
        check_dimension("identity size", n + 1)?;
        let mut colptr = filled_vec("identity size", n + 1, 0usize)?;
        colptr.iter_mut().enumerate().for_each(|(k, c)| *c = k);
        let mut rowval = filled_vec("identity size", n, 0usize)?;
        rowval.iter_mut().enumerate().for_each(|(k, r)| *r = k);
        Ok(Self {
            nrows: n,
            ncols: n,
            colptr,
            rowval,
            nzval: filled_vec("identity size", n, value)?,
        })
    }

    /// An nrows×ncols matrix with no stored entries (sizes at most [`MAX_DIMENSION`](crate::limits::MAX_DIMENSION)).
    pub fn zeros(nrows: usize, ncols: usize) -> Result<Self, InvalidInput> {
        check_dimension("matrix rows", nrows)?;
        check_dimension("matrix columns", ncols)?;
        Ok(Self {
            nrows,
            ncols,
            colptr: filled_vec("matrix columns", ncols + 1, 0)?,
            rowval: Vec::new(),
            nzval: Vec::new(),
        })
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// Number of stored entries (explicit zeros included).
    pub fn nnz(&self) -> usize {
        self.nzval.len()
    }
    /// Column pointers (`ncols + 1` entries).
    pub fn colptr(&self) -> &[usize] {
        &self.colptr
    }
    /// Row index of each stored entry.
    pub fn rowval(&self) -> &[usize] {
        &self.rowval
    }
    /// Value of each stored entry, in CSC order.
    pub fn values(&self) -> &[f64] {
        &self.nzval
    }

    /// The same sparsity pattern with new values (one per stored entry, in CSC order).
    pub fn with_values(&self, values: &[f64]) -> Result<Self, InvalidInput> {
        self.with_values_named("matrix values", values)
    }

    /// [`CscMatrix::with_values`] with errors naming `field`.
    pub(crate) fn with_values_named(
        &self,
        field: Field,
        values: &[f64],
    ) -> Result<Self, InvalidInput> {
        crate::error::check_len(field, values.len(), self.nnz())?;
        check_finite(field, values)?;
        Ok(Self {
            nzval: values.to_vec(),
            ..self.clone()
        })
    }

    /// `self + t * other` where `other` has the same pattern given as values.
    pub(crate) fn axpy_values(&self, t: f64, values: &Array1<f64>) -> Self {
        let nzval = self
            .nzval
            .iter()
            .zip(values)
            .map(|(a, b)| a + t * b)
            .collect();
        Self {
            nzval,
            ..self.clone()
        }
    }

    /// The same pattern with `values` (trusted: same length, finite).
    pub(crate) fn replace_values(&self, values: Vec<f64>) -> Self {
        debug_assert_eq!(values.len(), self.nnz());
        Self {
            nzval: values,
            ..self.clone()
        }
    }

    /// Iterates over stored entries as (row, column, value) in CSC order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.ncols).flat_map(move |j| {
            (self.colptr[j]..self.colptr[j + 1]).map(move |k| (self.rowval[k], j, self.nzval[k]))
        })
    }

    /// Column index of each stored entry, in CSC order.
    pub fn colval(&self) -> Vec<usize> {
        self.iter().map(|(_, j, _)| j).collect()
    }

    /// Whether every stored entry lies on or above the diagonal.
    pub fn is_upper_triangular(&self) -> bool {
        self.iter().all(|(i, j, _)| i <= j)
    }

    /// `y = A x`.
    pub fn mul_vec(&self, x: &[f64]) -> Array1<f64> {
        let mut y = vec![0.0; self.nrows];
        for (j, &xj) in x.iter().enumerate().take(self.ncols) {
            for k in self.colptr[j]..self.colptr[j + 1] {
                y[self.rowval[k]] += self.nzval[k] * xj;
            }
        }
        Array1::from(y)
    }

    /// `y = Aᵀ x`.
    pub fn t_mul_vec(&self, x: &[f64]) -> Array1<f64> {
        let y: Vec<f64> = (0..self.ncols)
            .map(|j| {
                (self.colptr[j]..self.colptr[j + 1])
                    .fold(0.0, |acc, k| acc + self.nzval[k] * x[self.rowval[k]])
            })
            .collect();
        Array1::from(y)
    }

    /// `y = P x` for a symmetric P stored as its upper triangle (off-diagonal entries count twice).
    pub fn sym_upper_mul_vec(&self, x: &[f64]) -> Array1<f64> {
        let mut y = vec![0.0; self.nrows];
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                let (i, v) = (self.rowval[k], self.nzval[k]);
                y[i] += v * x[j];
                if i != j {
                    y[j] += v * x[i];
                }
            }
        }
        Array1::from(y)
    }

    /// The dense form.
    pub fn to_dense(&self) -> Array2<f64> {
        let mut d = Array2::zeros((self.nrows, self.ncols));
        for (i, j, v) in self.iter() {
            d[[i, j]] = v;
        }
        d
    }

    /// Whether two matrices have the same shape and pattern (values may differ).
    pub fn same_pattern(&self, other: &Self) -> bool {
        self.nrows == other.nrows
            && self.ncols == other.ncols
            && self.colptr == other.colptr
            && self.rowval == other.rowval
    }

    /// The square matrix with this pattern plus the full diagonal (missing diagonal entries are
    /// stored as explicit zeros). Solvers that update P in place need the pattern of `P + ρI` fixed.
    pub fn with_full_diagonal(&self) -> Self {
        let n = self.ncols;
        let mut colptr = Vec::with_capacity(n + 1);
        let mut rowval = Vec::with_capacity(self.nnz() + n);
        let mut nzval = Vec::with_capacity(self.nnz() + n);
        colptr.push(0);
        for j in 0..n {
            let mut placed = false;
            for k in self.colptr[j]..self.colptr[j + 1] {
                let i = self.rowval[k];
                if !placed && i > j {
                    rowval.push(j);
                    nzval.push(0.0);
                    placed = true;
                }
                if i == j {
                    placed = true;
                }
                rowval.push(i);
                nzval.push(self.nzval[k]);
            }
            if !placed && j < self.nrows {
                rowval.push(j);
                nzval.push(0.0);
            }
            colptr.push(rowval.len());
        }
        Self {
            nrows: self.nrows,
            ncols: n,
            colptr,
            rowval,
            nzval,
        }
    }

    /// Stacks matrices with equal column counts on top of each other.
    pub fn vstack(blocks: &[&CscMatrix]) -> Result<Self, InvalidInput> {
        let ncols = blocks.first().map_or(0, |b| b.ncols);
        let mut nrows = 0;
        for b in blocks {
            if b.ncols != ncols {
                return Err(InvalidInput::Shape {
                    field: "stacked block",
                    rows: b.nrows,
                    cols: b.ncols,
                    expected_rows: b.nrows,
                    expected_cols: ncols,
                });
            }
            nrows += b.nrows;
        }
        let mut colptr = Vec::with_capacity(ncols + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        for j in 0..ncols {
            let mut offset = 0;
            for b in blocks {
                for k in b.colptr[j]..b.colptr[j + 1] {
                    rowval.push(b.rowval[k] + offset);
                    nzval.push(b.nzval[k]);
                }
                offset += b.nrows;
            }
            colptr.push(rowval.len());
        }
        // Valid by construction; checked again for the price of one pass.
        Self::new_named("stacked matrix", (nrows, ncols), (colptr, rowval), nzval)
    }

    /// Places blocks side by side (equal row counts).
    pub(crate) fn hstack(blocks: &[&CscMatrix]) -> Self {
        let nrows = blocks.first().map_or(0, |b| b.nrows);
        let mut colptr = vec![0];
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        let mut ncols = 0;
        for b in blocks {
            debug_assert_eq!(b.nrows, nrows);
            for j in 0..b.ncols {
                rowval.extend_from_slice(&b.rowval[b.colptr[j]..b.colptr[j + 1]]);
                nzval.extend_from_slice(&b.nzval[b.colptr[j]..b.colptr[j + 1]]);
                colptr.push(rowval.len());
            }
            ncols += b.ncols;
        }
        Self {
            nrows,
            ncols,
            colptr,
            rowval,
            nzval,
        }
    }

    /// Block-diagonal `[self 0; 0 Z]` where Z is an empty k×k block: pads with zero rows/columns.
    pub(crate) fn pad(&self, extra_rows: usize, extra_cols: usize) -> Self {
        let mut colptr = self.colptr.clone();
        colptr.extend(std::iter::repeat_n(self.nnz(), extra_cols));
        Self {
            nrows: self.nrows + extra_rows,
            ncols: self.ncols + extra_cols,
            colptr,
            rowval: self.rowval.clone(),
            nzval: self.nzval.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn triplets_sum_duplicates_and_sort() {
        let m = CscMatrix::from_triplets(2, 2, &[1, 0, 1, 1], &[0, 0, 1, 0], &[1.0, 2.0, 3.0, 4.0])
            .unwrap();
        assert_eq!(m.to_dense(), array![[2.0, 0.0], [5.0, 3.0]]);
    }

    #[test]
    fn full_diagonal_keeps_values_and_adds_zeros() {
        let p =
            CscMatrix::from_dense(array![[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]].view())
                .unwrap();
        let q = p.with_full_diagonal();
        assert_eq!(q.to_dense(), p.to_dense());
        assert_eq!(q.nnz(), 4);
        assert_eq!(q.rowval(), &[0, 0, 1, 2]);
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(matches!(
            CscMatrix::new(2, 1, vec![0, 1], vec![2], vec![1.0]),
            Err(InvalidInput::Sparse {
                issue: SparseIssue::RowOutOfRange { .. },
                ..
            })
        ));
        assert!(matches!(
            CscMatrix::new(2, 2, vec![0, 0, 1], vec![1], vec![f64::NAN]),
            Err(InvalidInput::NonFiniteEntry { row: 1, col: 1, .. })
        ));
        assert!(CscMatrix::new(2, 1, vec![0, 2], vec![0], vec![1.0]).is_err());
    }

    #[test]
    fn absurd_sizes_are_errors_not_aborts() {
        assert!(matches!(
            CscMatrix::zeros(0, usize::MAX),
            Err(InvalidInput::TooLarge { .. })
        ));
        assert!(matches!(
            CscMatrix::zeros(usize::MAX, 1),
            Err(InvalidInput::TooLarge { .. })
        ));
        assert!(CscMatrix::scaled_identity(usize::MAX, 1.0).is_err());
        assert!(CscMatrix::from_triplets(1, usize::MAX, &[], &[], &[]).is_err());
        assert!(CscMatrix::new(1, usize::MAX, vec![0], vec![], vec![]).is_err());
    }

    #[test]
    fn products() {
        let a = CscMatrix::from_dense(array![[1.0, 2.0], [0.0, 3.0]].view()).unwrap();
        assert_eq!(a.mul_vec(&[1.0, 1.0]), array![3.0, 3.0]);
        assert_eq!(a.t_mul_vec(&[1.0, 1.0]), array![1.0, 5.0]);
        assert_eq!(a.sym_upper_mul_vec(&[1.0, 1.0]), array![3.0, 5.0]);
    }
}
