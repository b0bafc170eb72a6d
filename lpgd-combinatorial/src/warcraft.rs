//! Vertex-weighted shortest path on an 8-neighbour grid (the Warcraft layout): Dijkstra.

use crate::costs::summable;
use lpgd_core::limits::checked_product;
use lpgd_core::{InvalidInput, SolveError};
use ndarray::Array1;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Cheapest path from the top-left to the bottom-right cell of an `h × w` grid, moving to any of
/// the 8 neighbours, where a path costs the sum of the weights of the cells it visits (both ends
/// included). Cost and solution vectors are `h·w` long, row-major; the solution marks the cells on
/// the path. Dijkstra is exact for nonnegative weights; a negative weight is an
/// [`InvalidInput`] error. Ties: among equal distances the earlier-settled cell wins.
///
/// ```
/// use lpgd_combinatorial::warcraft::VertexGridShortestPath;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::array;
/// // 2×2: the diagonal step skips both off-diagonal cells.
/// let y = VertexGridShortestPath::new(2, 2)?.solve(&CombinatorialProblem::new(array![1.0, 5.0, 5.0, 1.0])?, None)?;
/// assert_eq!(y, array![1.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct VertexGridShortestPath {
    h: usize,
    w: usize,
}

#[derive(PartialEq)]
struct Entry {
    dist: f64,
    cell: usize,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on distance, then on cell index.
        other
            .dist
            .total_cmp(&self.dist)
            .then(other.cell.cmp(&self.cell))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl VertexGridShortestPath {
    /// The `h × w` grid (at least one cell, at most
    /// [`MAX_DIMENSION`](lpgd_core::limits::MAX_DIMENSION) cells).
    pub fn new(h: usize, w: usize) -> Result<Self, InvalidInput> {
        if h == 0 || w == 0 {
            return Err(InvalidInput::Empty("the grid"));
        }
        checked_product("grid cells", h, w)?;
        Ok(Self { h, w })
    }

    fn neighbours(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (i, j) = ((cell / self.w) as isize, (cell % self.w) as isize);
        (-1..=1)
            .flat_map(move |di| (-1..=1).map(move |dj| (di, dj)))
            .filter_map(move |(di, dj)| {
                let (a, b) = (i + di, j + dj);
                ((di, dj) != (0, 0)
                    && a >= 0
                    && b >= 0
                    && (a as usize) < self.h
                    && (b as usize) < self.w)
                    .then(|| a as usize * self.w + b as usize)
            })
    }

    /// The path's cell indicator for nonnegative, finite cell weights (one per cell).
    pub fn path(&self, weight: &[f64]) -> Result<Array1<f64>, SolveError> {
        let n = self.h * self.w;
        // A path visits at most every cell once.
        let weight = summable(weight, n, n)?;
        if let Some(index) = weight.iter().position(|&v| v < 0.0) {
            return Err(InvalidInput::Value {
                field: "w",
                index,
                reason: "Dijkstra needs nonnegative weights",
            }
            .into());
        }
        let mut dist = vec![f64::INFINITY; n];
        let mut prev = vec![usize::MAX; n];
        let mut done = vec![false; n];
        let mut heap = BinaryHeap::new();
        dist[0] = weight[0];
        heap.push(Entry {
            dist: dist[0],
            cell: 0,
        });
        while let Some(Entry { dist: d, cell }) = heap.pop() {
            if done[cell] {
                continue;
            }
            done[cell] = true;
            if cell == n - 1 {
                break;
            }
            for next in self.neighbours(cell) {
                let candidate = d + weight[next];
                if !done[next] && candidate < dist[next] {
                    dist[next] = candidate;
                    prev[next] = cell;
                    heap.push(Entry {
                        dist: candidate,
                        cell: next,
                    });
                }
            }
        }
        let mut y = Array1::zeros(n);
        let mut v = n - 1;
        y[v] = 1.0;
        while v != 0 {
            v = prev[v];
            y[v] = 1.0;
        }
        Ok(y)
    }
}

finite_set_oracle!(VertexGridShortestPath, |grid, problem| grid
    .path(problem.cost_slice()));

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    /// Cheapest simple path by exhaustive search (small grids).
    fn brute_force(g: &VertexGridShortestPath, weight: &[f64]) -> f64 {
        fn go(
            g: &VertexGridShortestPath,
            weight: &[f64],
            cell: usize,
            seen: &mut Vec<bool>,
            acc: f64,
            best: &mut f64,
        ) {
            if acc >= *best {
                return;
            }
            if cell == seen.len() - 1 {
                *best = acc;
                return;
            }
            let next: Vec<usize> = g.neighbours(cell).collect();
            for n in next {
                if !seen[n] {
                    seen[n] = true;
                    go(g, weight, n, seen, acc + weight[n], best);
                    seen[n] = false;
                }
            }
        }
        let mut seen = vec![false; weight.len()];
        seen[0] = true;
        let mut best = f64::INFINITY;
        go(g, weight, 0, &mut seen, weight[0], &mut best);
        best
    }

    #[test]
    fn matches_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (h, w) in [(3, 3), (3, 4), (2, 5), (4, 4)] {
            let mut g = VertexGridShortestPath::new(h, w).unwrap();
            for _ in 0..20 {
                let weight: Array1<f64> = (0..h * w).map(|_| rng.random_range(0.0..5.0)).collect();
                let y = g
                    .solve(&CombinatorialProblem::new(weight.clone()).unwrap(), None)
                    .unwrap();
                let best = brute_force(&g, weight.as_slice().unwrap());
                assert!(
                    (y.dot(&weight) - best).abs() < 1e-9,
                    "{h}x{w}: {} vs {best}",
                    y.dot(&weight)
                );
            }
        }
    }

    #[test]
    fn negative_weights_are_an_error() {
        let mut g = VertexGridShortestPath::new(2, 2).unwrap();
        let err = g.solve(
            &CombinatorialProblem::new(ndarray::array![1.0, -1.0, 1.0, 1.0]).unwrap(),
            None,
        );
        assert!(matches!(
            err,
            Err(SolveError::InvalidInput(InvalidInput::Value {
                index: 1,
                ..
            }))
        ));
    }
}
