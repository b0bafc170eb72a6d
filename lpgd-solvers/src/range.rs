//! The magnitudes each backend represents faithfully.
//!
//! Solvers treat large finite numbers as infinite (HiGHS from 1e20 on, OSQP from 1e30 on), reject
//! them (HiGHS's matrix entries above 1e15), or lose their infeasibility detection to them
//! (Clarabel reported `min 1e25·x, 0 ≤ x ≤ 10` unbounded). A problem with a larger value is
//! refused with [`SolveError::OutOfRange`] before the solver runs, so no status is an artefact of
//! the data's scale: rescale such a problem (the solution of `min cᵀx` does not change when c is
//! divided by a positive number).

use lpgd_core::{ConicProblem, SolveError};

/// Checks every entry of b, c, A and P against `limit` (in magnitude).
pub(crate) fn check_range(
    problem: &ConicProblem,
    backend: &'static str,
    limit: f64,
) -> Result<(), SolveError> {
    let p_values = problem.p().map_or(&[][..], |p| p.values());
    let parts: [(&'static str, &[f64]); 4] = [
        ("b", problem.b().as_slice().unwrap_or(&[])),
        ("c", problem.c().as_slice().unwrap_or(&[])),
        ("A", problem.a().values()),
        ("P", p_values),
    ];
    for (field, values) in parts {
        check_values(values, field, backend, limit)?;
    }
    Ok(())
}

/// Checks `values` (named `field`) against `limit` (in magnitude).
pub(crate) fn check_values(
    values: &[f64],
    field: &'static str,
    backend: &'static str,
    limit: f64,
) -> Result<(), SolveError> {
    match values.iter().position(|v| v.is_nan() || v.abs() >= limit) {
        None => Ok(()),
        Some(index) => Err(SolveError::OutOfRange {
            backend,
            field,
            index,
            value: values[index],
            limit,
        }),
    }
}
