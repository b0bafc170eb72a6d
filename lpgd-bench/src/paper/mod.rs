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

/// A training curve: the test metric of `model` before training, then after each of `steps`
/// steps (`step` trains on step `k` and returns its training loss; its time counts, the
/// evaluation's does not), every point told to `progress` as it is made.
pub(crate) fn training_curve<M>(
    model: &mut M,
    steps: usize,
    mut step: impl FnMut(&mut M, usize) -> Result<f64, crate::error::BenchError>,
    evaluate: impl Fn(&M) -> Result<f64, crate::error::BenchError>,
    mut progress: impl FnMut(&CurvePoint),
) -> Result<Vec<CurvePoint>, crate::error::BenchError> {
    let mut curve = Vec::with_capacity(steps + 1);
    let mut seconds = 0.0;
    let mut train_loss = f64::NAN;
    for k in 0..=steps {
        if k > 0 {
            let started = std::time::Instant::now();
            train_loss = step(model, k)?;
            seconds += started.elapsed().as_secs_f64();
        }
        let point = CurvePoint {
            step: k,
            train_loss,
            test: evaluate(model)?,
            seconds,
        };
        progress(&point);
        curve.push(point);
    }
    Ok(curve)
}

/// One month's layer solved, a failure naming the month (the Markowitz rollouts).
pub(crate) fn month_forward(
    forward: &lpgd_core::SolveSettings,
    oracle: &mut impl lpgd_core::Oracle<lpgd_core::ConicProblem>,
    problem: &lpgd_core::ConicProblem,
    month: usize,
) -> Result<lpgd_core::ConicSolution, crate::error::BenchError> {
    forward
        .forward(oracle, problem)
        .map_err(|source| crate::error::BenchError::Item {
            what: "month",
            index: month,
            source,
        })
}

/// LPGD's backward pass of one month's layer for a loss on its x, a failure naming the month.
pub(crate) fn month_backward(
    lpgd: &lpgd_core::Lpgd,
    oracle: &mut impl lpgd_core::Oracle<lpgd_core::ConicProblem>,
    problem: &lpgd_core::ConicProblem,
    solution: &lpgd_core::ConicSolution,
    dx: ndarray::Array1<f64>,
    month: usize,
) -> Result<lpgd_core::ConicGradient, crate::error::BenchError> {
    lpgd.backward(
        oracle,
        problem,
        solution,
        &lpgd_core::ConicCotangent::on_x(problem, dx),
    )
    .map(|b| b.gradient)
    .map_err(|source| crate::error::BenchError::Item {
        what: "month",
        index: month,
        source,
    })
}
