//! The DPO and PFYL rules on stacked samples that a torch layer drew with the oracle's
//! `perturbed` (no solve here).

use super::{check_samples, row, samples_of};
use crate::value_error;
use lpgd_combinatorial::rules::{dpo_backward, pfyl};
use lpgd_core::ndarray::{Array1, Array2};
use numpy::{PyArray1, PyArray2, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::prelude::*;

/// DPO's backward pass per item from stacked samples (`B × M × d`) and incoming gradients
/// (`B × d`), with PyEPO's mean-reward baseline when `baseline`.
#[pyfunction]
pub(crate) fn dpo_backward_stacked<'py>(
    py: Python<'py>,
    noise: PyReadonlyArray3<'py, f64>,
    solutions: PyReadonlyArray3<'py, f64>,
    grads: PyReadonlyArray2<'py, f64>,
    sigma: f64,
    baseline: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (z, y, g) = (
        noise.as_array().to_owned(),
        solutions.as_array().to_owned(),
        grads.as_array(),
    );
    check_samples(&z, &y, g.dim())?;
    let (b, _, d) = z.dim();
    let mut out = Array2::zeros((b, d));
    for i in 0..b {
        let gi = dpo_backward(&samples_of(&z, &y, i), &row(&g, i), sigma, baseline)
            .map_err(value_error)?;
        out.row_mut(i).assign(&gi);
    }
    Ok(PyArray2::from_owned_array(py, out))
}

/// PFYL per item from stacked samples (`B × M × d`), predictions `θ` and true solutions `y*`
/// (`B × d`): losses and gradients with respect to `θ`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub(crate) fn pfyl_stacked<'py>(
    py: Python<'py>,
    noise: PyReadonlyArray3<'py, f64>,
    solutions: PyReadonlyArray3<'py, f64>,
    theta: PyReadonlyArray2<'py, f64>,
    sigma: f64,
    y_star: PyReadonlyArray2<'py, f64>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>)> {
    let (z, y, t, ys) = (
        noise.as_array().to_owned(),
        solutions.as_array().to_owned(),
        theta.as_array(),
        y_star.as_array(),
    );
    check_samples(&z, &y, t.dim())?;
    if ys.dim() != t.dim() {
        return Err(value_error("theta and y_star differ in shape"));
    }
    let (b, _, d) = z.dim();
    let mut losses = Array1::zeros(b);
    let mut grads = Array2::zeros((b, d));
    for i in 0..b {
        let (l, g) =
            pfyl(&samples_of(&z, &y, i), &row(&t, i), sigma, &row(&ys, i)).map_err(value_error)?;
        losses[i] = l;
        grads.row_mut(i).assign(&g);
    }
    Ok((
        PyArray1::from_owned_array(py, losses),
        PyArray2::from_owned_array(py, grads),
    ))
}
