//! Per-item results as Python receives them: one list of arrays per column, or one stacked
//! array per column, with NaN where an item failed and the failures beside them.

use crate::{value_error, Failure};
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::ConicSolution;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;

/// The guesses of a batch's warm forwards, one per item (None: none), or no warm forward.
pub(super) type Guesses<'a> = Option<Vec<Option<&'a ConicSolution>>>;

/// One array per item.
pub(super) type Lists<'py> = Vec<Bound<'py, PyArray1<f64>>>;

/// The `K` columns of a per-item result, by value.
pub(super) fn take<T, const K: usize>(cols: Vec<T>) -> PyResult<[T; K]> {
    let found = cols.len();
    cols.try_into()
        .map_err(|_| value_error(format!("expected {K} result columns, got {found}")))
}
/// One `B × len` array for the batch.
pub(super) type Stack<'py> = Bound<'py, PyArray2<f64>>;

/// Per item: its arrays, or its failure's message.
pub(super) type Items = Vec<Result<Vec<Array1<f64>>, Failure>>;

/// Splits per-item results into one list of arrays per column (NaN arrays of the item's lengths
/// where it failed) and the failures' messages.
pub(super) fn columns<'py>(
    py: Python<'py>,
    items: Items,
    lens: impl Fn(usize) -> Vec<usize>,
) -> (Vec<Lists<'py>>, Vec<Option<Failure>>) {
    let k = lens(0).len();
    let mut cols: Vec<Vec<Bound<'py, PyArray1<f64>>>> = (0..k).map(|_| Vec::new()).collect();
    let mut errors = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(arrays) => {
                for (col, a) in cols.iter_mut().zip(arrays) {
                    col.push(PyArray1::from_owned_array(py, a));
                }
                errors.push(None);
            }
            Err(e) => {
                for (col, len) in cols.iter_mut().zip(lens(i)) {
                    col.push(PyArray1::from_owned_array(
                        py,
                        Array1::from_elem(len, f64::NAN),
                    ));
                }
                errors.push(Some(e));
            }
        }
    }
    (cols, errors)
}

/// Stacks per-item results into one `B × len` array per column (NaN rows where an item failed)
/// and the failures' messages.
pub(super) fn stacked<'py>(
    py: Python<'py>,
    items: Items,
    lens: &[usize],
) -> (Vec<Bound<'py, PyArray2<f64>>>, Vec<Option<Failure>>) {
    let b = items.len();
    let mut cols: Vec<Array2<f64>> = lens
        .iter()
        .map(|&l| Array2::from_elem((b, l), f64::NAN))
        .collect();
    let mut errors = Vec::with_capacity(b);
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(arrays) => {
                for (col, a) in cols.iter_mut().zip(arrays) {
                    col.row_mut(i).assign(&a);
                }
                errors.push(None);
            }
            Err(e) => errors.push(Some(e)),
        }
    }
    let cols = cols
        .into_iter()
        .map(|c| PyArray2::from_owned_array(py, c))
        .collect();
    (cols, errors)
}
