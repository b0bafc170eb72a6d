//! The LPGD paper's experiments where LPGD is compared with gradient descent through the true
//! derivative of a differentiable layer: learning the rules of Sudoku ([`sudoku`]) and tuning a
//! Markowitz portfolio policy, on historical ETF statistics with the reference protocol
//! ([`historical`], the default) or on a synthetic market ([`markowitz`]).

pub mod cli;
pub mod historical;
pub mod markowitz;
pub mod sudoku;

/// Adam over one flat parameter vector (the training loops' optimiser, shared with the PyEPO loop).
pub type Adam = lpgd_combinatorial::train::Adam<ndarray::Ix1>;

/// One point of a training curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    /// Epoch (Sudoku) or iteration (Markowitz); 0 = before training.
    pub step: usize,
    /// Training loss over the step (NaN at step 0).
    pub train_loss: f64,
    /// The test metric: accuracy (Sudoku) or cost (Markowitz).
    pub test: f64,
    /// Wall-clock seconds of training since the start (evaluation excluded).
    pub seconds: f64,
}
