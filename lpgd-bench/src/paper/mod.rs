//! The LPGD paper's experiments where LPGD is compared with gradient descent through the true
//! derivative of a differentiable layer: learning the rules of Sudoku ([`sudoku`]) and tuning a
//! Markowitz portfolio policy ([`markowitz`]).

pub mod markowitz;
pub mod sudoku;

use ndarray::Array1;

/// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over one flat parameter vector.
#[derive(Debug, Clone)]
pub struct Adam {
    lr: f64,
    m: Array1<f64>,
    v: Array1<f64>,
    steps: i32,
}

impl Adam {
    /// Adam with learning rate `lr` for `len` parameters.
    pub fn new(len: usize, lr: f64) -> Self {
        Self {
            lr,
            m: Array1::zeros(len),
            v: Array1::zeros(len),
            steps: 0,
        }
    }

    /// One step of `params` against `grad`.
    pub fn step(&mut self, params: &mut Array1<f64>, grad: &Array1<f64>) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.steps += 1;
        let (c1, c2) = (1.0 - B1.powi(self.steps), 1.0 - B2.powi(self.steps));
        self.m = &self.m * B1 + grad * (1.0 - B1);
        self.v = &self.v * B2 + &grad.mapv(|g| g * g) * (1.0 - B2);
        ndarray::Zip::from(params)
            .and(&self.m)
            .and(&self.v)
            .for_each(|p, &m, &v| *p -= self.lr * (m / c1) / ((v / c2).sqrt() + 1e-8));
    }
}

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
