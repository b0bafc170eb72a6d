//! The convexity check of a quadratic term: a sparse LDLᵀ factorization of `P + δI` whose pivots
//! must be positive.

use super::CscMatrix;
use crate::error::InvalidInput;

/// Relative shift of the convexity check: P is accepted when `P + δI`, `δ = PSD_TOLERANCE · ‖P‖∞`,
/// has an LDLᵀ factorization with positive pivots.
pub const PSD_TOLERANCE: f64 = 1e-9;

/// Entries of the factor the convexity check may create beyond P's own (fill-in).
const PSD_FILL_BUDGET: usize = 20_000_000;

impl CscMatrix {
    /// Checks that a square matrix given as its upper triangle is positive semidefinite, to the
    /// tolerance [`PSD_TOLERANCE`]: an up-looking sparse LDLᵀ factorization of `P + δI` with
    /// `δ = PSD_TOLERANCE · ‖P‖∞` (the largest absolute row sum, an upper bound of the largest
    /// eigenvalue), which succeeds with positive pivots exactly when `P + δI` is positive definite
    /// (up to rounding, which this δ dominates for n up to about 10⁶). So a P whose smallest
    /// eigenvalue is below `−δ` is rejected, and one with eigenvalues ≥ 0 is always accepted.
    ///
    /// The factorization uses the natural order, or the reverse order when that creates less
    /// fill-in; if both would create more than 2·10⁷ entries the check is refused as too large.
    pub fn check_positive_semidefinite(&self) -> Result<(), InvalidInput> {
        let n = self.ncols;
        let mut row_sums = vec![0.0_f64; n];
        for (i, j, v) in self.iter() {
            row_sums[i] += v.abs();
            if i != j {
                row_sums[j] += v.abs();
            }
        }
        let norm = row_sums.iter().copied().fold(0.0_f64, f64::max);
        if norm == 0.0 {
            return Ok(());
        }
        let shift = PSD_TOLERANCE * norm;
        let natural = Ldl::symbolic(n, &self.colptr, &self.rowval);
        let reversed = self.reversed_upper();
        let backward = Ldl::symbolic(n, &reversed.colptr, &reversed.rowval);
        let (matrix, ldl, flip) = if natural.fill <= backward.fill {
            (self, natural, false)
        } else {
            (&reversed, backward, true)
        };
        if ldl.fill > PSD_FILL_BUDGET {
            return Err(InvalidInput::TooLarge {
                field: "fill-in of the convexity check of P",
                size: ldl.fill as u64,
                limit: PSD_FILL_BUDGET as u64,
            });
        }
        ldl.positive_pivots(matrix, shift)
            .map_err(|(column, pivot)| InvalidInput::NotConvex {
                column: if flip { n - 1 - column } else { column },
                pivot,
                tolerance: shift,
            })
    }

    /// The upper triangle of `J P J` with `J` the reversal permutation (entry (i, j) moves to
    /// (n−1−j, n−1−i), which stays on or above the diagonal).
    fn reversed_upper(&self) -> Self {
        let n = self.ncols;
        let mut counts = vec![0usize; n + 1];
        for (i, _, _) in self.iter() {
            counts[n - i] += 1;
        }
        for j in 0..n {
            counts[j + 1] += counts[j];
        }
        let mut next = counts.clone();
        let mut rowval = vec![0usize; self.nnz()];
        let mut nzval = vec![0.0; self.nnz()];
        // Visiting columns from last to first gives increasing new rows within each new column.
        for j in (0..n).rev() {
            for k in self.colptr[j]..self.colptr[j + 1] {
                let (i, v) = (self.rowval[k], self.nzval[k]);
                let col = n - 1 - i;
                rowval[next[col]] = n - 1 - j;
                nzval[next[col]] = v;
                next[col] += 1;
            }
        }
        Self {
            nrows: n,
            ncols: n,
            colptr: counts,
            rowval,
            nzval,
        }
    }
}

/// The symbolic part of an up-looking LDLᵀ factorization (elimination tree and column counts).
struct Ldl {
    parent: Vec<usize>,
    counts: Vec<usize>,
    fill: usize,
}

impl Ldl {
    const NONE: usize = usize::MAX;

    fn symbolic(n: usize, colptr: &[usize], rowval: &[usize]) -> Self {
        let mut parent = vec![Self::NONE; n];
        let mut flag = vec![Self::NONE; n];
        let mut counts = vec![0usize; n];
        let mut fill: usize = 0;
        for k in 0..n {
            flag[k] = k;
            for &row in &rowval[colptr[k]..colptr[k + 1]] {
                let mut i = row;
                while i < k && flag[i] != k {
                    if parent[i] == Self::NONE {
                        parent[i] = k;
                    }
                    counts[i] += 1;
                    fill = fill.saturating_add(1);
                    flag[i] = k;
                    i = parent[i];
                }
            }
        }
        Self {
            parent,
            counts,
            fill,
        }
    }

    /// Factorizes `P + shift·I`; the first column whose pivot is not positive, with the pivot.
    fn positive_pivots(&self, p: &CscMatrix, shift: f64) -> Result<(), (usize, f64)> {
        let n = p.ncols;
        let mut start = vec![0usize; n + 1];
        for k in 0..n {
            start[k + 1] = start[k] + self.counts[k];
        }
        let mut li = vec![0usize; self.fill];
        let mut lx = vec![0.0_f64; self.fill];
        let mut len = vec![0usize; n];
        let mut d = vec![0.0_f64; n];
        let mut y = vec![0.0_f64; n];
        let mut flag = vec![Self::NONE; n];
        let mut pattern = vec![0usize; n];
        for k in 0..n {
            let mut top = n;
            flag[k] = k;
            for q in p.colptr[k]..p.colptr[k + 1] {
                let mut i = p.rowval[q];
                y[i] += p.nzval[q];
                let mut stack = 0;
                while i < k && flag[i] != k {
                    pattern[stack] = i;
                    stack += 1;
                    flag[i] = k;
                    i = self.parent[i];
                }
                while stack > 0 {
                    stack -= 1;
                    top -= 1;
                    pattern[top] = pattern[stack];
                }
            }
            d[k] = y[k] + shift;
            y[k] = 0.0;
            for &i in &pattern[top..n] {
                let yi = y[i];
                y[i] = 0.0;
                for q in start[i]..start[i] + len[i] {
                    y[li[q]] -= lx[q] * yi;
                }
                let l_ki = yi / d[i];
                d[k] -= l_ki * yi;
                let q = start[i] + len[i];
                li[q] = k;
                lx[q] = l_ki;
                len[i] += 1;
            }
            if d[k].is_nan() || d[k] <= 0.0 {
                return Err((k, d[k]));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn convexity_check_accepts_psd_and_rejects_indefinite() {
        let upper = |d: ndarray::Array2<f64>| {
            let n = d.nrows();
            let u = ndarray::Array2::from_shape_fn(
                (n, n),
                |(i, j)| if i <= j { d[[i, j]] } else { 0.0 },
            );
            CscMatrix::from_dense(u.view()).unwrap()
        };
        // PSD but singular (rank one), PD, and indefinite, with off-diagonal coupling.
        let rank_one = array![[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]];
        assert!(upper(rank_one.clone())
            .check_positive_semidefinite()
            .is_ok());
        assert!(upper(array![[2.0, -1.0], [-1.0, 2.0]])
            .check_positive_semidefinite()
            .is_ok());
        assert!(matches!(
            upper(array![[1.0, 2.0], [2.0, 1.0]]).check_positive_semidefinite(),
            Err(InvalidInput::NotConvex { column: 1, .. })
        ));
        assert!(matches!(
            upper(array![[-1.0]]).check_positive_semidefinite(),
            Err(InvalidInput::NotConvex { column: 0, .. })
        ));
        // A rank-one matrix minus a little: the smallest eigenvalue is -1e-3, well beyond δ.
        let shifted = rank_one - 1e-3 * ndarray::Array2::<f64>::eye(3);
        assert!(upper(shifted).check_positive_semidefinite().is_err());
        // The empty and the zero matrix are PSD.
        assert!(CscMatrix::zeros(3, 3)
            .unwrap()
            .check_positive_semidefinite()
            .is_ok());
        // An arrowhead whose dense row comes first fills completely in the natural order; the
        // reverse order has no fill, and the answer is the same.
        let n = 200;
        let mut arrow = ndarray::Array2::<f64>::zeros((n, n));
        for i in 0..n {
            arrow[[i, i]] = n as f64;
            arrow[[0, i]] = 1.0;
            arrow[[i, 0]] = 1.0;
        }
        let m = upper(arrow.clone());
        assert!(Ldl::symbolic(n, &m.colptr, &m.rowval).fill > n * (n - 1) / 2 - 1);
        let r = m.reversed_upper();
        assert_eq!(Ldl::symbolic(n, &r.colptr, &r.rowval).fill, n - 1);
        assert_eq!(
            r.to_dense(),
            upper(arrow.clone())
                .to_dense()
                .slice(ndarray::s![..;-1, ..;-1])
                .reversed_axes()
        );
        assert!(m.check_positive_semidefinite().is_ok());
        arrow[[n - 1, n - 1]] = -1.0;
        assert!(matches!(
            upper(arrow).check_positive_semidefinite(),
            Err(InvalidInput::NotConvex { column, .. }) if column == n - 1 || column == 0
        ));
    }
}
