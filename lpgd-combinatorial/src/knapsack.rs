//! 0/1 knapsack with one or several capacity constraints, solved exactly by branch and bound.

use crate::costs::summable;
use lpgd_core::{InvalidInput, SolveError};
use ndarray::{Array1, Array2};

/// `max vᵀy s.t. W y ≤ capacity, y ∈ {0,1}ᵐ`, as the minimisation oracle of the cost `w = −v`
/// (so the layer's cost vector is the negated values; predicted values may be negative, and such
/// items are never taken).
///
/// Exact depth-first branch and bound: items in decreasing order of value per unit of the tightest
/// normalised weight, the bound the smallest fractional-knapsack bound over the constraints (each
/// is a relaxation). The incumbent changes only on strict improvement, so ties are broken
/// deterministically (the first optimum in search order).
///
/// ```
/// use lpgd_combinatorial::Knapsack;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::array;
/// let mut ks = Knapsack::new(array![[3.0, 4.0, 2.0]], vec![5.0])?;
/// // values 4, 5, 3 → costs −4, −5, −3: best is items 0 and 2 (value 7, weight 5).
/// let y = ks.solve(&CombinatorialProblem::new(array![-4.0, -5.0, -3.0])?, None)?;
/// assert_eq!(y, array![1.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Knapsack {
    weights: Array2<f64>,
    capacity: Vec<f64>,
    nodes: u64,
    node_limit: u64,
}

impl Knapsack {
    /// Items with `weights` (one row per constraint, nonnegative, finite) and one capacity per
    /// constraint (nonnegative).
    pub fn new(weights: Array2<f64>, capacity: Vec<f64>) -> Result<Self, InvalidInput> {
        if capacity.len() != weights.nrows() {
            return Err(InvalidInput::Length {
                field: "capacity",
                expected: weights.nrows(),
                found: capacity.len(),
            });
        }
        if let Some(k) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
            return Err(InvalidInput::Value {
                field: "weights",
                index: k,
                reason: "must be finite and nonnegative",
            });
        }
        if let Some(k) = capacity.iter().position(|c| !c.is_finite() || *c < 0.0) {
            return Err(InvalidInput::Value {
                field: "capacity",
                index: k,
                reason: "must be finite and nonnegative",
            });
        }
        Ok(Self {
            weights,
            capacity,
            nodes: 0,
            node_limit: Self::DEFAULT_NODE_LIMIT,
        })
    }

    /// Number of items.
    pub fn items(&self) -> usize {
        self.weights.ncols()
    }

    /// Branch-and-bound nodes explored so far.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// The node limit of each search (default [`Knapsack::DEFAULT_NODE_LIMIT`]): a search that
    /// reaches it stops with [`SolveError::NodeLimit`] instead of running on.
    pub fn with_node_limit(mut self, limit: u64) -> Self {
        self.node_limit = limit;
        self
    }

    /// The default node limit, 2·10⁶ (about a second or two of search).
    pub const DEFAULT_NODE_LIMIT: u64 = 2_000_000;

    /// The best selection for `values` (maximising; finite, one per item).
    pub fn best(&mut self, values: &[f64]) -> Result<Array1<f64>, SolveError> {
        let m = self.items();
        let values = summable(values, m, m)?;
        let values: &[f64] = &values;
        let dims = self.weights.nrows();
        // Only items with positive value can help.
        let mut order: Vec<usize> = (0..m).filter(|&j| values[j] > 0.0).collect();
        let load = |j: usize| {
            (0..dims)
                .map(|d| {
                    if self.capacity[d] > 0.0 {
                        self.weights[[d, j]] / self.capacity[d]
                    } else {
                        f64::INFINITY
                    }
                })
                .fold(0.0_f64, f64::max)
        };
        order.sort_by(|&a, &b| {
            let (da, db) = (
                values[a] / load(a).max(1e-300),
                values[b] / load(b).max(1e-300),
            );
            db.partial_cmp(&da)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        // The value of everything from position k on: a bound that holds without constraints.
        let mut rest_value = vec![0.0; order.len() + 1];
        for k in (0..order.len()).rev() {
            rest_value[k] = rest_value[k + 1] + values[order[k]];
        }
        let mut search = Search {
            weights: &self.weights,
            values,
            order: &order,
            rest_value: &rest_value,
            taken: vec![false; m],
            best: vec![false; m],
            best_value: 0.0,
            nodes: 0,
        };
        let outcome = search.run(self.capacity.clone(), self.node_limit);
        self.nodes += search.nodes;
        outcome?;
        Ok(search
            .best
            .iter()
            .map(|&t| if t { 1.0 } else { 0.0 })
            .collect())
    }
}

struct Search<'a> {
    weights: &'a Array2<f64>,
    values: &'a [f64],
    order: &'a [usize],
    rest_value: &'a [f64],
    taken: Vec<bool>,
    best: Vec<bool>,
    best_value: f64,
    nodes: u64,
}

/// A step of the depth-first search, kept on an explicit stack (the depth is the number of items,
/// which would overflow a thread's stack as recursion).
enum Step {
    /// Visit the node that decides item `order[k]`, with the value taken so far.
    Enter(usize, f64),
    /// Give back item `j` after exploring the branch that took it.
    Untake(usize),
    /// Explore the branch that leaves out item `order[k]`.
    Skip(usize, f64),
}

impl Search<'_> {
    /// The smallest fractional-knapsack bound over the constraints for the items from `k` on,
    /// and never more than their total value.
    fn bound(&self, k: usize, room: &[f64]) -> f64 {
        let mut bound = self.rest_value[k];
        for (d, &cap) in room.iter().enumerate() {
            let mut left = cap;
            let mut gain = 0.0;
            let mut rest: Vec<usize> = self.order[k..].to_vec();
            rest.sort_by(|&a, &b| {
                let ra = self.values[a] / self.weights[[d, a]].max(1e-300);
                let rb = self.values[b] / self.weights[[d, b]].max(1e-300);
                rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal)
            });
            for j in rest {
                let w = self.weights[[d, j]];
                if w <= left {
                    left -= w;
                    gain += self.values[j];
                } else {
                    gain += self.values[j] * left / w;
                    break;
                }
            }
            bound = bound.min(gain);
        }
        bound
    }

    fn run(&mut self, mut room: Vec<f64>, node_limit: u64) -> Result<(), SolveError> {
        let mut stack = vec![Step::Enter(0, 0.0)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Untake(j) => {
                    for (d, r) in room.iter_mut().enumerate() {
                        *r += self.weights[[d, j]];
                    }
                    self.taken[j] = false;
                }
                Step::Skip(k, value) => stack.push(Step::Enter(k + 1, value)),
                Step::Enter(k, value) => {
                    self.nodes += 1;
                    if self.nodes > node_limit {
                        return Err(SolveError::NodeLimit(node_limit));
                    }
                    if value > self.best_value {
                        self.best_value = value;
                        self.best.clone_from(&self.taken);
                    }
                    if k == self.order.len() || value + self.bound(k, &room) <= self.best_value {
                        continue;
                    }
                    let j = self.order[k];
                    stack.push(Step::Skip(k, value));
                    let fits = room
                        .iter()
                        .enumerate()
                        .all(|(d, r)| self.weights[[d, j]] <= *r + 1e-12);
                    if fits {
                        for (d, r) in room.iter_mut().enumerate() {
                            *r -= self.weights[[d, j]];
                        }
                        self.taken[j] = true;
                        stack.push(Step::Untake(j));
                        stack.push(Step::Enter(k + 1, value + self.values[j]));
                    }
                }
            }
        }
        Ok(())
    }
}

finite_set_oracle!(Knapsack, |knapsack, problem| {
    let values: Vec<f64> = problem.cost().iter().map(|w| -w).collect();
    knapsack.best(&values)
});

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    #[test]
    fn matches_brute_force_with_several_constraints() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for trial in 0..60 {
            let m = 1 + trial % 11;
            let dims = 1 + trial % 3;
            let weights = Array2::from_shape_fn((dims, m), |_| rng.random_range(0.5..5.0));
            let capacity: Vec<f64> = (0..dims).map(|_| rng.random_range(2.0..12.0)).collect();
            let values: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..5.0)).collect();
            let mut ks = Knapsack::new(weights.clone(), capacity.clone()).unwrap();
            let cost = Array1::from_iter(values.iter().map(|v| -v));
            let y = ks
                .solve(&CombinatorialProblem::new(cost).unwrap(), None)
                .unwrap();
            let mut best = 0.0_f64;
            for mask in 0u32..(1 << m) {
                let pick = |j: usize| (mask >> j) & 1 == 1;
                let ok = (0..dims).all(|d| {
                    (0..m)
                        .filter(|&j| pick(j))
                        .map(|j| weights[[d, j]])
                        .sum::<f64>()
                        <= capacity[d]
                });
                if ok {
                    best = best.max((0..m).filter(|&j| pick(j)).map(|j| values[j]).sum());
                }
            }
            let got: f64 = (0..m).map(|j| y[j] * values[j]).sum();
            assert!((got - best).abs() < 1e-9, "trial {trial}: {got} vs {best}");
            for d in 0..dims {
                assert!((0..m).map(|j| y[j] * weights[[d, j]]).sum::<f64>() <= capacity[d] + 1e-12);
            }
        }
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(Knapsack::new(ndarray::array![[1.0, -1.0]], vec![1.0]).is_err());
        assert!(Knapsack::new(ndarray::array![[1.0, 1.0]], vec![1.0, 2.0]).is_err());
        let mut ks = Knapsack::new(ndarray::array![[1.0, 1.0]], vec![1.0]).unwrap();
        assert!(ks
            .solve(
                &CombinatorialProblem::new(ndarray::array![1.0]).unwrap(),
                None
            )
            .is_err());
    }
}

#[cfg(test)]
mod pyepo_size {
    use super::*;
    use crate::data::knapsack_data;
    use lpgd_core::{CombinatorialProblem, Oracle};

    /// The PyEPO setting (32 items, 2 constraints, capacity 20) solves exactly and quickly.
    #[test]
    fn pyepo_instances_solve() {
        let data = knapsack_data(20, 5, 32, 2, 4, 0.5, 135).unwrap();
        let mut ks = Knapsack::new(data.weights.clone(), vec![20.0, 20.0]).unwrap();
        for i in 0..20 {
            let cost = data.values.row(i).mapv(|v| -v);
            let y = ks
                .solve(&CombinatorialProblem::new(cost).unwrap(), None)
                .unwrap();
            assert!(y.iter().filter(|&&v| v == 1.0).count() >= 2);
        }
        assert!(ks.nodes() < 20 * 200_000, "{} nodes", ks.nodes());
        println!("{} nodes for 20 instances", ks.nodes());
    }
}

/// The branch and bound against HiGHS's MILP on the PyEPO knapsacks.
#[cfg(all(test, feature = "highs"))]
mod against_highs {
    use super::*;
    use crate::data::knapsack_data;
    use lpgd_core::{CombinatorialProblem, ConicProblem, Oracle};

    #[test]
    fn same_optimal_value_as_the_milp() {
        let data = knapsack_data(10, 5, 32, 2, 4, 0.5, 7).unwrap();
        let set = ConicProblem::builder(32)
            .inequalities(data.weights.clone(), ndarray::array![20.0, 20.0])
            .bounds([0.0; 32], [1.0; 32])
            .build()
            .unwrap();
        let mut milp = lpgd_solvers::HighsOracle::milp(&set, vec![true; 32]).unwrap();
        let mut bnb = Knapsack::new(data.weights.clone(), vec![20.0, 20.0]).unwrap();
        for i in 0..10 {
            let cost = CombinatorialProblem::new(data.values.row(i).mapv(|v| -v)).unwrap();
            let (a, b) = (
                bnb.solve(&cost, None).unwrap(),
                milp.solve(&cost, None).unwrap(),
            );
            assert!(
                (cost.cost().dot(&a) - cost.cost().dot(&b)).abs() < 1e-9,
                "instance {i}"
            );
        }
    }
}
