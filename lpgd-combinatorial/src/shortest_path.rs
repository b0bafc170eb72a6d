//! Shortest path on a grid DAG with east and south arcs (the PyEPO layout).

use crate::costs::summable;
use lpgd_core::limits::{checked_product, checked_sum};
use lpgd_core::{InvalidInput, SolveError};
use ndarray::Array1;

/// Shortest path from the top-left to the bottom-right node of an `h × w` grid whose arcs point
/// east and south, with arc costs as the problem's cost vector.
///
/// Arc order (PyEPO's): for each row `i`, the east arcs `(v, v+1)` for `j = 0..w−1`, then (except on
/// the last row) the south arcs `(v, v+w)` for `j = 0..w`, with `v = i·w + j`. The graph is acyclic,
/// so a dynamic program over the nodes in row-major order is exact for costs of any sign (Dijkstra
/// is not, and predicted costs go negative). Ties go to the lowest-numbered arc into a node.
///
/// ```
/// use lpgd_combinatorial::GridShortestPath;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::Array1;
/// let mut sp = GridShortestPath::new(2, 2)?;
/// // Arcs: 0 = (0,1) east, 1 = (0,2) south, 2 = (1,3) south, 3 = (2,3) east.
/// let y = sp.solve(&CombinatorialProblem::new(ndarray::array![1.0, 0.0, 1.0, 0.0])?, None)?;
/// assert_eq!(y, ndarray::array![0.0, 1.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct GridShortestPath {
    h: usize,
    w: usize,
    /// For each arc: (tail, head).
    arcs: Vec<(usize, usize)>,
    /// For each node: the arcs entering it, in arc order.
    incoming: Vec<Vec<usize>>,
}

impl GridShortestPath {
    /// The `h × w` grid (at least 1 × 1, at most [`MAX_DIMENSION`](lpgd_core::limits::MAX_DIMENSION)
    /// arcs).
    pub fn new(h: usize, w: usize) -> Result<Self, InvalidInput> {
        if h == 0 || w == 0 {
            return Err(InvalidInput::Empty("the grid"));
        }
        let nodes = checked_product("grid nodes", h, w)?;
        // (h − 1)·w south arcs and h·(w − 1) east arcs.
        checked_sum("grid arcs", [nodes - w, nodes - h])?;
        let mut arcs = Vec::new();
        for i in 0..h {
            for j in 0..w - 1 {
                let v = i * w + j;
                arcs.push((v, v + 1));
            }
            if i + 1 < h {
                for j in 0..w {
                    let v = i * w + j;
                    arcs.push((v, v + w));
                }
            }
        }
        let mut incoming = vec![Vec::new(); h * w];
        for (k, &(_, head)) in arcs.iter().enumerate() {
            incoming[head].push(k);
        }
        Ok(Self {
            h,
            w,
            arcs,
            incoming,
        })
    }

    /// Number of arcs (the dimension of cost and solution vectors).
    pub fn arcs(&self) -> usize {
        self.arcs.len()
    }

    /// The (tail, head) nodes of each arc, in order.
    pub fn arc_list(&self) -> &[(usize, usize)] {
        &self.arcs
    }

    /// Grid size in nodes.
    pub fn grid(&self) -> (usize, usize) {
        (self.h, self.w)
    }

    /// The cheapest path's arc indicator vector for arc costs `cost` (one per arc, finite).
    pub fn path(&self, cost: &[f64]) -> Result<Array1<f64>, SolveError> {
        let cost = summable(cost, self.arcs.len(), self.h + self.w)?;
        let n = self.h * self.w;
        let mut dist = vec![f64::INFINITY; n];
        let mut via = vec![usize::MAX; n];
        dist[0] = 0.0;
        for v in 1..n {
            for &k in &self.incoming[v] {
                let candidate = dist[self.arcs[k].0] + cost[k];
                if candidate < dist[v] {
                    dist[v] = candidate;
                    via[v] = k;
                }
            }
        }
        let mut y = Array1::zeros(self.arcs.len());
        let mut v = n - 1;
        while v != 0 {
            let k = via[v];
            y[k] = 1.0;
            v = self.arcs[k].0;
        }
        Ok(y)
    }
}

finite_set_oracle!(GridShortestPath, |grid, problem| grid
    .path(problem.cost_slice()));

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    /// Every monotone path of the grid, as arc indicator vectors.
    fn all_paths(sp: &GridShortestPath) -> Vec<Array1<f64>> {
        let (h, w) = sp.grid();
        let arc = |tail: usize, head: usize| {
            sp.arc_list()
                .iter()
                .position(|&a| a == (tail, head))
                .unwrap()
        };
        let mut out = Vec::new();
        let moves = (h - 1) + (w - 1);
        for mask in 0u32..(1 << moves) {
            if mask.count_ones() as usize != h - 1 {
                continue;
            }
            let mut y = Array1::zeros(sp.arcs());
            let mut v = 0;
            for step in 0..moves {
                let next = if (mask >> step) & 1 == 1 {
                    v + w
                } else {
                    v + 1
                };
                y[arc(v, next)] = 1.0;
                v = next;
            }
            out.push(y);
        }
        out
    }

    #[test]
    fn pyepo_layout_has_40_arcs_on_5x5() {
        assert_eq!(GridShortestPath::new(5, 5).unwrap().arcs(), 40);
        assert_eq!(GridShortestPath::new(5, 5).unwrap().arc_list()[4], (0, 5));
    }

    #[test]
    fn matches_brute_force_for_costs_of_any_sign() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (h, w) in [(5, 5), (3, 4), (4, 2), (1, 3)] {
            let mut sp = GridShortestPath::new(h, w).unwrap();
            let paths = all_paths(&sp);
            for _ in 0..50 {
                let cost: Array1<f64> = (0..sp.arcs())
                    .map(|_| rng.random_range(-2.0..3.0))
                    .collect();
                let y = sp
                    .solve(&CombinatorialProblem::new(cost.clone()).unwrap(), None)
                    .unwrap();
                let best = paths
                    .iter()
                    .map(|p| p.dot(&cost))
                    .fold(f64::INFINITY, f64::min);
                assert!((y.dot(&cost) - best).abs() < 1e-12, "{h}x{w}");
                assert!(paths.contains(&y), "the answer is a path");
            }
        }
    }

    #[test]
    fn ties_are_broken_deterministically() {
        let mut sp = GridShortestPath::new(3, 3).unwrap();
        let flat = CombinatorialProblem::new(Array1::ones(sp.arcs())).unwrap();
        let a = sp.solve(&flat, None).unwrap();
        let b = GridShortestPath::new(3, 3)
            .unwrap()
            .solve(&flat, None)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let mut sp = GridShortestPath::new(3, 3).unwrap();
        assert!(sp
            .solve(&CombinatorialProblem::new(Array1::ones(3)).unwrap(), None)
            .is_err());
    }
}
