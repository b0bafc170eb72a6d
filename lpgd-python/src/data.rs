//! Data: PyEPO's generators (the same numbers as PyEPO's `genData` for a seed), Warcraft-like
//! terrain maps, numpy's legacy generator, and PyEPO's regret.

use crate::value_error;
use lpgd_combinatorial::data::{knapsack_data, normalized_regret, shortest_path_data};
use lpgd_combinatorial::terrain::{terrain_maps, TerrainConfig};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::Array1;
use numpy::{PyArray1, PyArray2, PyArray4, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// numpy's legacy `RandomState` (MT19937), bit for bit, as the Rust training loop and the
/// perturbed layers draw from it. One generator shared by a layer and a loop reproduces the Rust
/// loop's numbers.
#[pyclass(module = "lpgd._lpgd", name = "RandomState")]
pub struct PyRandomState {
    pub(crate) inner: RandomState,
}

fn count(size: usize) -> PyResult<usize> {
    lpgd_core::limits::check_dimension("size", size).map_err(value_error)
}

#[pymethods]
impl PyRandomState {
    /// `numpy.random.RandomState(seed)` for a 32-bit seed.
    #[new]
    fn new(seed: u32) -> Self {
        Self {
            inner: RandomState::new(seed),
        }
    }

    /// `size` standard normal draws.
    fn standard_normal<'py>(
        &mut self,
        py: Python<'py>,
        size: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let size = count(size)?;
        let v: Array1<f64> = (0..size).map(|_| self.inner.standard_normal()).collect();
        Ok(PyArray1::from_owned_array(py, v))
    }

    /// `size` uniform draws in `[low, high)`.
    fn uniform<'py>(
        &mut self,
        py: Python<'py>,
        low: f64,
        high: f64,
        size: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let size = count(size)?;
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(value_error("uniform needs finite low <= high"));
        }
        let v: Array1<f64> = (0..size).map(|_| self.inner.uniform(low, high)).collect();
        Ok(PyArray1::from_owned_array(py, v))
    }

    /// The Fisher–Yates shuffle of `order` the Rust training loop makes each epoch.
    fn shuffle(&mut self, order: Vec<i64>) -> Vec<i64> {
        let mut idx: Vec<usize> = (0..order.len()).collect();
        lpgd_combinatorial::train::shuffle(&mut idx, &mut self.inner);
        idx.into_iter().map(|i| order[i]).collect()
    }
}

/// PyEPO's `shortestpath.genData(num_data, num_feat, grid, deg, noise_width, seed)`: a dict with
/// `features` (n × p), `costs` (n × arcs) and the map `B`.
#[pyfunction]
#[pyo3(signature = (num_data, num_feat, grid, deg=1, noise_width=0.0, seed=135))]
#[pyo3(name = "shortest_path_data")]
pub(crate) fn shortest_path_data_py<'py>(
    py: Python<'py>,
    num_data: usize,
    num_feat: usize,
    grid: (usize, usize),
    deg: i32,
    noise_width: f64,
    seed: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let d = shortest_path_data(num_data, num_feat, grid, deg, noise_width, seed)
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("features", PyArray2::from_owned_array(py, d.features))?;
    out.set_item("costs", PyArray2::from_owned_array(py, d.costs))?;
    out.set_item("B", PyArray2::from_owned_array(py, d.b))?;
    Ok(out)
}

/// PyEPO's `knapsack.genData(num_data, num_feat, num_item, dim, deg, noise_width, seed)`: a dict
/// with `weights` (dim × items), `features` (n × p), `values` (n × items) and the map `B`.
#[pyfunction]
#[pyo3(signature = (num_data, num_feat, num_item, dim, deg=1, noise_width=0.0, seed=135))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "knapsack_data")]
pub(crate) fn knapsack_data_py<'py>(
    py: Python<'py>,
    num_data: usize,
    num_feat: usize,
    num_item: usize,
    dim: usize,
    deg: i32,
    noise_width: f64,
    seed: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let d = knapsack_data(num_data, num_feat, num_item, dim, deg, noise_width, seed)
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("weights", PyArray2::from_owned_array(py, d.weights))?;
    out.set_item("features", PyArray2::from_owned_array(py, d.features))?;
    out.set_item("values", PyArray2::from_owned_array(py, d.values))?;
    out.set_item("B", PyArray2::from_owned_array(py, d.b))?;
    Ok(out)
}

/// Warcraft-like terrain maps: a dict with `images` (n × 3 × px × px, float32 RGB in [0, 1]),
/// `costs` and `paths` (n × grid², the optimal path under the true costs) and `terrain`.
#[pyfunction]
#[pyo3(signature = (n, grid=12, tile=8, noise=0.1, brightness=0.15, regions=8, clutter=0.15, seed=0))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "terrain_maps")]
pub(crate) fn terrain_maps_py<'py>(
    py: Python<'py>,
    n: usize,
    grid: usize,
    tile: usize,
    noise: f64,
    brightness: f64,
    regions: usize,
    clutter: f64,
    seed: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let config = TerrainConfig {
        grid,
        tile,
        noise,
        brightness,
        regions,
        clutter,
    };
    let px =
        lpgd_core::limits::checked_product("pixels per side", grid, tile).map_err(value_error)?;
    let per_map = lpgd_core::limits::checked_product("pixels", px, px).map_err(value_error)?;
    lpgd_core::limits::checked_product("image entries", n, per_map.saturating_mul(3))
        .map_err(value_error)?;
    let maps = py
        .detach(|| terrain_maps(n, &config, seed))
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("images", PyArray4::from_owned_array(py, maps.images))?;
    out.set_item("costs", PyArray2::from_owned_array(py, maps.costs))?;
    out.set_item("paths", PyArray2::from_owned_array(py, maps.paths))?;
    out.set_item("terrain", PyArray2::from_owned_array(py, maps.terrain))?;
    Ok(out)
}

/// PyEPO's normalised regret `Σ|cᵢᵀŷᵢ − zᵢ*| / Σ|zᵢ*|` of decisions `ŷ` under true costs `c`
/// with optimal values `z*`.
#[pyfunction]
#[pyo3(name = "normalized_regret")]
pub(crate) fn normalized_regret_py(
    costs: PyReadonlyArray2<'_, f64>,
    decisions: PyReadonlyArray2<'_, f64>,
    optimal_values: PyReadonlyArray1<'_, f64>,
) -> PyResult<f64> {
    let (c, y, z) = (
        costs.as_array().to_owned(),
        decisions.as_array().to_owned(),
        optimal_values.as_array().to_owned(),
    );
    if c.dim() != y.dim() || z.len() != c.nrows() {
        return Err(value_error(format!(
            "costs {:?}, decisions {:?} and values ({}) do not fit together",
            c.dim(),
            y.dim(),
            z.len()
        )));
    }
    let total: f64 = z.iter().map(|v| v.abs()).sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(value_error(
            "the regret is normalised by Σ|z*|, which must be positive and finite",
        ));
    }
    let regret = normalized_regret(&c, &y, &z);
    if !regret.is_finite() {
        return Err(value_error("costs and decisions must be finite"));
    }
    Ok(regret)
}
