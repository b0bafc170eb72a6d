//! Solutions of conic programs.

use ndarray::Array1;

/// Whether the solver met its full tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SolveStatus {
    /// Solved to the solver's tolerances.
    #[default]
    Solved,
    /// Solved to the solver's reduced tolerances only.
    AlmostSolved,
}

/// A primal-dual solution `(x, y, s)` of a conic program.
#[derive(Debug, Clone, PartialEq)]
pub struct ConicSolution {
    /// Primal variables (length n).
    pub x: Array1<f64>,
    /// Dual variables of `Ax + s = b` (length m), in `K*`.
    pub y: Array1<f64>,
    /// Slacks (length m), in `K`.
    pub s: Array1<f64>,
    /// Accuracy reached.
    pub status: SolveStatus,
    /// Solver iterations.
    pub iterations: u32,
}
