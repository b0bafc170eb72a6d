//! PyEPO-compatible synthetic data: the same numbers PyEPO's `genData` draws for a seed.
//!
//! Features `x ~ N(0, I)`; costs are a degree-`deg` polynomial of a random linear map `B x`, times
//! multiplicative noise `ε ~ U(1 − ē, 1 + ē)`. Draw order and arithmetic follow PyEPO exactly, with
//! numpy's legacy generator ([`RandomState`]), so tests can pin golden values.

use crate::numpy_rng::RandomState;
use lpgd_core::limits::checked_product;
use lpgd_core::InvalidInput;
use ndarray::{Array1, Array2};

/// Shortest-path data on a `h × w` grid of nodes with east and south arcs.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortestPathData {
    /// Grid size in nodes (rows, columns).
    pub grid: (usize, usize),
    /// The random 0/1 map `B` (arcs × features).
    pub b: Array2<f64>,
    /// Features, one row per instance.
    pub features: Array2<f64>,
    /// Arc costs, one row per instance (rounded through f32, as PyEPO returns them).
    pub costs: Array2<f64>,
}

/// Knapsack data: shared weights, per-instance item values.
#[derive(Debug, Clone, PartialEq)]
pub struct KnapsackData {
    /// Item weights, one row per capacity constraint.
    pub weights: Array2<f64>,
    /// The random 0/1 map `B` (items × features).
    pub b: Array2<f64>,
    /// Features, one row per instance.
    pub features: Array2<f64>,
    /// Item values (integers), one row per instance.
    pub values: Array2<f64>,
}

/// Number of arcs of an `h × w` grid with east and south arcs (saturating: a size beyond
/// `usize` gives `usize::MAX`, an empty grid 0).
pub fn grid_arcs(h: usize, w: usize) -> usize {
    h.saturating_mul(w.saturating_sub(1))
        .saturating_add(h.saturating_sub(1).saturating_mul(w))
}

/// Checks the common arguments of the generators: at least one feature, one output column and a
/// positive degree, a finite nonnegative noise half-width below 1 (so the multiplicative noise
/// stays positive), and table sizes that fit in memory.
fn check_generator(
    n: usize,
    p: usize,
    d: usize,
    deg: i32,
    noise_width: f64,
) -> Result<(), InvalidInput> {
    let bad = |field: &'static str, reason: &'static str| InvalidInput::Value {
        field,
        index: 0,
        reason,
    };
    if p == 0 {
        return Err(InvalidInput::Empty("the features"));
    }
    if d == 0 {
        return Err(InvalidInput::Empty("the cost vector"));
    }
    if deg < 1 {
        return Err(bad("deg", "the polynomial degree must be at least 1"));
    }
    if !(noise_width.is_finite() && (0.0..1.0).contains(&noise_width)) {
        return Err(bad("noise_width", "must lie in [0, 1)"));
    }
    checked_product("data rows × features", n, p)?;
    checked_product("data rows × costs", n, d)?;
    checked_product("costs × features", d, p)?;
    Ok(())
}

fn coins(rng: &mut RandomState, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || f64::from(rng.coin()))
}

fn normals(rng: &mut RandomState, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.standard_normal())
}

/// `((B x)_j / √p + 3)^deg + 1) / 3.5^deg` for one instance.
fn polynomial(b: &Array2<f64>, x: ndarray::ArrayView1<'_, f64>, deg: i32) -> Array1<f64> {
    let p = x.len() as f64;
    b.dot(&x)
        .mapv(|v| ((v / p.sqrt() + 3.0).powi(deg) + 1.0) / 3.5f64.powi(deg))
}

/// PyEPO's `shortestpath.genData(num_data, num_feat, grid, deg, noise_width, seed)`. Errors on
/// a grid without arcs, no features, a degree below 1, a noise half-width outside `[0, 1)`, or
/// sizes that overflow.
pub fn shortest_path_data(
    n: usize,
    p: usize,
    grid: (usize, usize),
    deg: i32,
    noise_width: f64,
    seed: u32,
) -> Result<ShortestPathData, InvalidInput> {
    checked_product("grid nodes", grid.0, grid.1)?;
    let d = grid_arcs(grid.0, grid.1);
    check_generator(n, p, d, deg, noise_width)?;
    let mut rng = RandomState::new(seed);
    let b = coins(&mut rng, d, p);
    let features = normals(&mut rng, n, p);
    let mut costs = Array2::zeros((n, d));
    for i in 0..n {
        let base = polynomial(&b, features.row(i), deg);
        for j in 0..d {
            let eps = rng.uniform(1.0 - noise_width, 1.0 + noise_width);
            costs[[i, j]] = f64::from((base[j] * eps) as f32);
        }
    }
    Ok(ShortestPathData {
        grid,
        b,
        features,
        costs,
    })
}

/// PyEPO's `knapsack.genData(num_data, num_feat, num_item, dim, deg, noise_width, seed)`. Errors
/// as [`shortest_path_data`] does, and on no items or no capacity dimension.
pub fn knapsack_data(
    n: usize,
    p: usize,
    items: usize,
    dim: usize,
    deg: i32,
    noise_width: f64,
    seed: u32,
) -> Result<KnapsackData, InvalidInput> {
    check_generator(n, p, items, deg, noise_width)?;
    if dim == 0 {
        return Err(InvalidInput::Empty("the knapsack's capacity dimensions"));
    }
    checked_product("weights", dim, items)?;
    let mut rng = RandomState::new(seed);
    let weights =
        Array2::from_shape_simple_fn((dim, items), || rng.randint(300, 800) as f64 / 100.0);
    let b = coins(&mut rng, items, p);
    let features = normals(&mut rng, n, p);
    let mut values = Array2::zeros((n, items));
    for i in 0..n {
        let base = polynomial(&b, features.row(i), deg);
        for j in 0..items {
            let eps = rng.uniform(1.0 - noise_width, 1.0 + noise_width);
            values[[i, j]] = (5.0 * base[j] * eps).ceil();
        }
    }
    Ok(KnapsackData {
        weights,
        b,
        features,
        values,
    })
}

/// Normalised regret, PyEPO's ratio of sums: `Σᵢ |cᵢᵀ ŷᵢ − zᵢ*| / Σᵢ |zᵢ*|`, where `ŷᵢ` is the
/// decision made from predicted costs and `zᵢ*` the optimal value under the true costs `cᵢ`.
/// The absolute value makes it the same for minimisation and maximisation.
pub fn normalized_regret(
    true_costs: &Array2<f64>,
    decisions: &Array2<f64>,
    optimal_values: &Array1<f64>,
) -> f64 {
    let mut loss = 0.0;
    for i in 0..true_costs.nrows() {
        loss += (true_costs.row(i).dot(&decisions.row(i)) - optimal_values[i]).abs();
    }
    loss / optimal_values.iter().map(|z| z.abs()).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_generator_arguments_are_errors() {
        assert!(shortest_path_data(3, 0, (5, 5), 1, 0.5, 1).is_err()); // no features
        assert!(shortest_path_data(3, 5, (1, 1), 1, 0.5, 1).is_err()); // no arcs
        assert!(shortest_path_data(3, 5, (0, 0), 1, 0.5, 1).is_err());
        assert!(shortest_path_data(3, 5, (5, 5), 0, 0.5, 1).is_err()); // degree
        assert!(shortest_path_data(3, 5, (5, 5), 1, f64::NAN, 1).is_err());
        assert!(shortest_path_data(3, 5, (5, 5), 1, 1.0, 1).is_err());
        assert!(shortest_path_data(usize::MAX, 5, (5, 5), 1, 0.5, 1).is_err()); // overflow
        assert!(shortest_path_data(3, 5, (usize::MAX, 3), 1, 0.5, 1).is_err());
        assert!(knapsack_data(3, 5, 0, 2, 1, 0.5, 1).is_err()); // no items
        assert!(knapsack_data(3, 5, 10, 0, 1, 0.5, 1).is_err()); // no capacity
        assert_eq!(grid_arcs(0, 0), 0);
        assert_eq!(grid_arcs(usize::MAX, usize::MAX), usize::MAX);
        assert!(shortest_path_data(0, 5, (5, 5), 1, 0.5, 1).is_ok()); // an empty data set is fine
    }

    #[test]
    fn shortest_path_golden_values() {
        let data = shortest_path_data(3, 5, (5, 5), 1, 0.5, 135).unwrap();
        assert_eq!(data.costs.ncols(), 40);
        let b: Vec<Vec<f64>> = (0..3).map(|i| data.b.row(i).to_vec()).collect();
        assert_eq!(
            b,
            vec![
                vec![1.0, 0.0, 0.0, 1.0, 1.0],
                vec![0.0, 1.0, 1.0, 0.0, 1.0],
                vec![0.0; 5]
            ]
        );
        assert_eq!(
            data.features.row(0).to_vec(),
            vec![
                0.1897801280251363,
                0.2813123936208833,
                0.8040745720690332,
                0.3435846566944433,
                0.7969953582396184
            ]
        );
        assert_eq!(
            data.costs
                .row(0)
                .iter()
                .take(6)
                .copied()
                .collect::<Vec<_>>(),
            vec![
                1.6365883350372314,
                1.7568340301513672,
                1.6840112209320068,
                0.7719152569770813,
                0.7979457974433899,
                2.027700424194336
            ]
        );
    }

    #[test]
    fn knapsack_golden_values() {
        let data = knapsack_data(3, 5, 32, 2, 4, 0.5, 135).unwrap();
        assert_eq!(
            data.weights
                .row(0)
                .iter()
                .take(8)
                .copied()
                .collect::<Vec<_>>(),
            vec![4.59, 4.87, 5.19, 7.59, 6.8, 4.97, 4.84, 3.22]
        );
        assert_eq!(
            data.values
                .row(0)
                .iter()
                .take(8)
                .copied()
                .collect::<Vec<_>>(),
            vec![5.0, 3.0, 2.0, 1.0, 1.0, 3.0, 3.0, 2.0]
        );
    }

    #[test]
    fn regret_of_the_optimal_decision_is_zero() {
        let c = ndarray::array![[1.0, 2.0], [3.0, 1.0]];
        let y = ndarray::array![[1.0, 0.0], [0.0, 1.0]];
        let z = ndarray::array![1.0, 1.0];
        assert_eq!(normalized_regret(&c, &y, &z), 0.0);
        let worse = ndarray::array![[0.0, 1.0], [0.0, 1.0]];
        assert_eq!(normalized_regret(&c, &worse, &z), 0.5);
    }
}
