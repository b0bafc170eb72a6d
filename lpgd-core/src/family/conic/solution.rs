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
    /// Stopped by the iteration limit the caller set: the last iterate, not an optimum (kept
    /// only where the caller accepts stopped answers, [`Lpgd::with_accept_stopped`]).
    ///
    /// [`Lpgd::with_accept_stopped`]: crate::Lpgd::with_accept_stopped
    IterationLimit,
    /// Stopped by the time limit the caller set: the last iterate, not an optimum.
    TimeLimit,
}

impl SolveStatus {
    /// A stable snake_case label: `solved`, `almost_solved`, `iteration_limit`, `time_limit`.
    pub fn label(&self) -> &'static str {
        match self {
            SolveStatus::Solved => "solved",
            SolveStatus::AlmostSolved => "almost_solved",
            SolveStatus::IterationLimit => "iteration_limit",
            SolveStatus::TimeLimit => "time_limit",
        }
    }

    /// Whether a limit stopped the solver (the point is not an optimum).
    pub fn is_stopped(&self) -> bool {
        matches!(self, SolveStatus::IterationLimit | SolveStatus::TimeLimit)
    }
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
