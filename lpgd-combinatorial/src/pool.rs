//! A solution pool: solve a set fraction of the calls, answer the rest from the solutions seen.
//!
//! Training through a slow solver can replace most oracle calls by `argmin_{y ∈ pool} ⟨w, y⟩` over
//! the solutions collected so far (Mulamba et al. 2021); the pool only grows with real solves, so
//! its answers are always feasible.

use lpgd_core::{CombinatorialProblem, InvalidInput, Oracle, SolveError};
use ndarray::Array1;
use std::collections::HashSet;

/// Wraps an oracle: the `k`-th call (from 0) is solved for real when `⌈(k+1)·fraction⌉ > ⌈k·fraction⌉`
/// (a deterministic schedule that starts with a solve), the others are answered from the pool.
///
/// ```
/// use lpgd_combinatorial::{pool::Pooled, ranking::TopK};
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::array;
/// let mut oracle = Pooled::new(TopK::new(3, 1)?, 0.5)?;
/// for w in [array![1.0, 2.0, 3.0], array![3.0, 1.0, 2.0], array![2.0, 3.0, 1.0]] {
///     oracle.solve(&CombinatorialProblem::new(w)?, None)?;
/// }
/// assert_eq!((oracle.solver_calls(), oracle.pool_size()), (2, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pooled<O> {
    inner: O,
    fraction: f64,
    calls: u64,
    solver_calls: u64,
    pool: Vec<Array1<f64>>,
    seen: HashSet<Vec<u64>>,
}

impl<O> Pooled<O> {
    /// Solves a `fraction` ∈ (0, 1] of the calls with `inner`.
    pub fn new(inner: O, fraction: f64) -> Result<Self, InvalidInput> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(InvalidInput::Value {
                field: "fraction",
                index: 0,
                reason: "must lie in (0, 1]",
            });
        }
        Ok(Self {
            inner,
            fraction,
            calls: 0,
            solver_calls: 0,
            pool: Vec::new(),
            seen: HashSet::new(),
        })
    }

    /// Calls answered by the wrapped oracle.
    pub fn solver_calls(&self) -> u64 {
        self.solver_calls
    }

    /// Distinct solutions in the pool.
    pub fn pool_size(&self) -> usize {
        self.pool.len()
    }

    fn insert(&mut self, y: &Array1<f64>) {
        if self.seen.insert(y.iter().map(|v| v.to_bits()).collect()) {
            self.pool.push(y.clone());
        }
    }
}

impl<O: Oracle<CombinatorialProblem>> Oracle<CombinatorialProblem> for Pooled<O> {
    fn solve(
        &mut self,
        problem: &CombinatorialProblem,
        warm: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>, SolveError> {
        let k = self.calls as f64;
        self.calls += 1;
        let due =
            ((k + 1.0) * self.fraction).ceil() > (k * self.fraction).ceil() || self.pool.is_empty();
        if due {
            let y = self.inner.solve(problem, warm)?;
            self.solver_calls += 1;
            self.insert(&y);
            return Ok(y);
        }
        let w = problem.cost();
        if let Some(first) = self.pool.first() {
            if first.len() != w.len() {
                return Err(InvalidInput::Length {
                    field: "w",
                    expected: first.len(),
                    found: w.len(),
                }
                .into());
            }
        }
        let best = self
            .pool
            .iter()
            .min_by(|a, b| w.dot(*a).total_cmp(&w.dot(*b)))
            .expect("the pool is not empty");
        Ok(best.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GridShortestPath;

    #[test]
    fn fraction_one_always_solves_and_pool_answers_are_pool_optimal() {
        let mut full = Pooled::new(GridShortestPath::new(3, 3).unwrap(), 1.0).unwrap();
        let mut part = Pooled::new(GridShortestPath::new(3, 3).unwrap(), 0.25).unwrap();
        for k in 0..40 {
            let w: Array1<f64> = (0..12)
                .map(|j| ((j * 7 + k * 3) % 11) as f64 - 3.0)
                .collect();
            let p = CombinatorialProblem::new(w.clone()).unwrap();
            let exact = full.solve(&p, None).unwrap();
            let pooled = part.solve(&p, None).unwrap();
            assert!(
                w.dot(&pooled) >= w.dot(&exact) - 1e-12,
                "the pool never beats the solver"
            );
        }
        assert_eq!(full.solver_calls(), 40);
        assert_eq!(part.solver_calls(), 10);
        assert!(part.pool_size() <= 10);
        assert!(Pooled::new(GridShortestPath::new(2, 2).unwrap(), 0.0).is_err());
    }
}
