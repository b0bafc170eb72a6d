//! Linear assignment (bipartite matching): the Hungarian algorithm.

use crate::costs::summable;
use lpgd_core::limits::checked_product;
use lpgd_core::{InvalidInput, SolveError};
use ndarray::Array1;

/// Minimum-cost assignment of `rows` to distinct `cols` (`rows ≤ cols`): the cost vector is the
/// `rows × cols` weight matrix in row-major order, the solution the 0/1 assignment matrix in the
/// same order. Exact in O(rows² · cols) (Hungarian algorithm with potentials); f64 weights of any
/// sign.
///
/// ```
/// use lpgd_combinatorial::assignment::Assignment;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::array;
/// let mut a = Assignment::new(2, 2)?;
/// let y = a.solve(&CombinatorialProblem::new(array![1.0, 5.0, 2.0, 3.0])?, None)?;
/// assert_eq!(y, array![1.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Assignment {
    rows: usize,
    cols: usize,
}

impl Assignment {
    /// Assignment of `rows ≥ 1` to `cols ≥ rows` (at most
    /// [`MAX_DIMENSION`](lpgd_core::limits::MAX_DIMENSION) weights).
    pub fn new(rows: usize, cols: usize) -> Result<Self, InvalidInput> {
        if rows == 0 {
            return Err(InvalidInput::Empty("the assignment's rows"));
        }
        if rows > cols {
            return Err(InvalidInput::Value {
                field: "rows",
                index: 0,
                reason: "must not exceed cols",
            });
        }
        checked_product("assignment weights", rows, cols)?;
        Ok(Self { rows, cols })
    }

    /// The column assigned to each row, for the `rows × cols` row-major weights (finite).
    pub fn assign(&self, w: &[f64]) -> Result<Vec<usize>, SolveError> {
        let (n, m) = (self.rows, self.cols);
        // Potentials and reduced costs are sums and differences of up to 2n weights.
        let w = summable(w, n * m, 4 * n + 4)?;
        // 1-based potentials formulation (e-maxx), rows on the left.
        let mut u = vec![0.0; n + 1];
        let mut v = vec![0.0; m + 1];
        let mut p = vec![0usize; m + 1];
        let mut way = vec![0usize; m + 1];
        for i in 1..=n {
            p[0] = i;
            let mut j0 = 0usize;
            let mut minv = vec![f64::INFINITY; m + 1];
            let mut used = vec![false; m + 1];
            loop {
                used[j0] = true;
                let i0 = p[j0];
                let mut delta = f64::INFINITY;
                let mut j1 = 0usize;
                for j in 1..=m {
                    if !used[j] {
                        let cur = w[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                        if cur < minv[j] {
                            minv[j] = cur;
                            way[j] = j0;
                        }
                        if minv[j] < delta {
                            delta = minv[j];
                            j1 = j;
                        }
                    }
                }
                for j in 0..=m {
                    if used[j] {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minv[j] -= delta;
                    }
                }
                j0 = j1;
                if p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
        let mut col_of = vec![0usize; n];
        for j in 1..=m {
            if p[j] != 0 {
                col_of[p[j] - 1] = j - 1;
            }
        }
        Ok(col_of)
    }
}

finite_set_oracle!(Assignment, |assignment, problem| {
    let cols = assignment.assign(problem.cost_slice())?;
    let mut y = Array1::zeros(assignment.rows * assignment.cols);
    for (i, j) in cols.into_iter().enumerate() {
        y[i * assignment.cols + j] = 1.0;
    }
    Ok(y)
});

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    fn best_by_brute_force(w: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(
            w: &[f64],
            rows: usize,
            cols: usize,
            i: usize,
            used: &mut Vec<bool>,
            acc: f64,
            best: &mut f64,
        ) {
            if i == rows {
                *best = best.min(acc);
                return;
            }
            for j in 0..cols {
                if !used[j] {
                    used[j] = true;
                    go(w, rows, cols, i + 1, used, acc + w[i * cols + j], best);
                    used[j] = false;
                }
            }
        }
        let mut best = f64::INFINITY;
        go(w, rows, cols, 0, &mut vec![false; cols], 0.0, &mut best);
        best
    }

    #[test]
    fn matches_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for (rows, cols) in [(1, 1), (2, 3), (3, 3), (4, 6), (5, 5), (6, 6)] {
            let mut a = Assignment::new(rows, cols).unwrap();
            for _ in 0..25 {
                let w: Array1<f64> = (0..rows * cols)
                    .map(|_| rng.random_range(-5.0..5.0))
                    .collect();
                let y = a
                    .solve(&CombinatorialProblem::new(w.clone()).unwrap(), None)
                    .unwrap();
                let best = best_by_brute_force(w.as_slice().unwrap(), rows, cols);
                assert!((w.dot(&y) - best).abs() < 1e-9, "{rows}x{cols}");
                for i in 0..rows {
                    assert_eq!((0..cols).map(|j| y[i * cols + j]).sum::<f64>(), 1.0);
                }
                for j in 0..cols {
                    assert!((0..rows).map(|i| y[i * cols + j]).sum::<f64>() <= 1.0);
                }
            }
        }
        assert!(Assignment::new(3, 2).is_err());
    }
}
