//! Travelling salesman, exact for small instances (Held–Karp dynamic program).

use crate::costs::summable;
use lpgd_core::{InvalidInput, SolveError};
use ndarray::Array1;

/// The largest instance the exact dynamic program takes (O(n² 2ⁿ) time, O(n 2ⁿ) memory).
pub const MAX_NODES: usize = 16;

/// Cheapest tour through `n` nodes: the cost vector is the `n × n` arc-cost matrix in row-major
/// order (arc `i → j` at `i·n + j`; the diagonal is ignored), the solution the 0/1 indicator of
/// the tour's arcs in the same layout. Directed costs are allowed; for a symmetric instance the
/// tour and its reverse cost the same, and the one found first is returned.
///
/// ```
/// use lpgd_combinatorial::tsp::Tsp;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::Array1;
/// let mut tsp = Tsp::new(3)?;
/// let y = tsp.solve(&CombinatorialProblem::new(Array1::ones(9))?, None)?;
/// assert_eq!(y.sum(), 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tsp {
    n: usize,
}

impl Tsp {
    /// A tour through `n` nodes (2 ≤ n ≤ [`MAX_NODES`]).
    pub fn new(n: usize) -> Result<Self, InvalidInput> {
        if !(2..=MAX_NODES).contains(&n) {
            return Err(InvalidInput::Value {
                field: "n",
                index: 0,
                reason: "exact TSP takes 2 to 16 nodes",
            });
        }
        Ok(Self { n })
    }

    /// The tour as a node sequence starting at 0, for the `n × n` row-major arc costs (finite).
    pub fn tour(&self, cost: &[f64]) -> Result<Vec<usize>, SolveError> {
        let n = self.n;
        let cost = summable(cost, n * n, n)?;
        let full = 1usize << (n - 1); // subsets of nodes 1..n
        let c = |i: usize, j: usize| cost[i * n + j];
        // best[S][j]: cheapest path from 0 through the set S (of nodes 1..n), ending at j ∈ S.
        let mut best = vec![f64::INFINITY; full * n];
        let mut parent = vec![usize::MAX; full * n];
        for j in 1..n {
            best[(1 << (j - 1)) * n + j] = c(0, j);
            parent[(1 << (j - 1)) * n + j] = 0;
        }
        for set in 1..full {
            for j in 1..n {
                let bit = 1 << (j - 1);
                if set & bit == 0 || set == bit {
                    continue;
                }
                let prev_set = set ^ bit;
                for k in 1..n {
                    if prev_set & (1 << (k - 1)) == 0 {
                        continue;
                    }
                    let candidate = best[prev_set * n + k] + c(k, j);
                    if candidate < best[set * n + j] {
                        best[set * n + j] = candidate;
                        parent[set * n + j] = k;
                    }
                }
            }
        }
        let all = full - 1;
        let mut last = 1;
        let mut total = f64::INFINITY;
        for j in 1..n {
            let t = best[all * n + j] + c(j, 0);
            if t < total {
                total = t;
                last = j;
            }
        }
        let mut tour = vec![0; n];
        let (mut set, mut j) = (all, last);
        for pos in (1..n).rev() {
            tour[pos] = j;
            let k = parent[set * n + j];
            set ^= 1 << (j - 1);
            j = k;
        }
        Ok(tour)
    }
}

finite_set_oracle!(Tsp, |tsp, problem| {
    let n = tsp.n;
    let tour = tsp.tour(problem.cost_slice())?;
    let mut y = Array1::zeros(n * n);
    for k in 0..n {
        y[tour[k] * n + tour[(k + 1) % n]] = 1.0;
    }
    Ok(y)
});

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    fn brute_force(cost: &[f64], n: usize) -> f64 {
        fn go(cost: &[f64], n: usize, path: &mut Vec<usize>, used: &mut Vec<bool>, best: &mut f64) {
            if path.len() == n {
                let mut t = 0.0;
                for k in 0..n {
                    t += cost[path[k] * n + path[(k + 1) % n]];
                }
                *best = best.min(t);
                return;
            }
            for j in 1..n {
                if !used[j] {
                    used[j] = true;
                    path.push(j);
                    go(cost, n, path, used, best);
                    path.pop();
                    used[j] = false;
                }
            }
        }
        let mut best = f64::INFINITY;
        go(cost, n, &mut vec![0], &mut vec![false; n], &mut best);
        best
    }

    #[test]
    fn matches_brute_force_on_directed_instances() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for n in 2..=7 {
            let mut tsp = Tsp::new(n).unwrap();
            for _ in 0..15 {
                let cost: Array1<f64> = (0..n * n).map(|_| rng.random_range(-2.0..5.0)).collect();
                let y = tsp
                    .solve(&CombinatorialProblem::new(cost.clone()).unwrap(), None)
                    .unwrap();
                let best = brute_force(cost.as_slice().unwrap(), n);
                let mut total = 0.0;
                for i in 0..n {
                    assert_eq!(
                        (0..n).map(|j| y[i * n + j]).sum::<f64>(),
                        1.0,
                        "one arc out"
                    );
                    assert_eq!((0..n).map(|j| y[j * n + i]).sum::<f64>(), 1.0, "one arc in");
                    total += (0..n)
                        .filter(|&j| j != i)
                        .map(|j| y[i * n + j] * cost[i * n + j])
                        .sum::<f64>();
                }
                assert!((total - best).abs() < 1e-9, "n = {n}");
            }
        }
        assert!(Tsp::new(1).is_err() && Tsp::new(17).is_err());
    }
}
