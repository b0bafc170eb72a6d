//! PyEPO's linear model `ĉ = Θx + β` trained through the candle [`spo_plus_loss`] with candle-nn's
//! AdamW (weight decay 0), mirroring [`lpgd_combinatorial::train::train`] step for step: same
//! initialisation, same shuffles, same Adam. Given the same seed both reach the same test regret,
//! which checks the candle op end to end.

use crate::spo_plus_loss;
use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use lpgd_combinatorial::train::{regret, shuffle, Dataset, LinearModel, TrainConfig};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{CombinatorialProblem, Oracle};
use std::time::Instant;

/// Test regret per epoch and where the time went.
#[derive(Debug, Clone, PartialEq)]
pub struct CandleRun {
    /// Normalised test regret after each epoch.
    pub regret_per_epoch: Vec<f64>,
    /// Training seconds (evaluation excluded).
    pub wall_s: f64,
    /// Of those, seconds in the SPO+ op (solves and its backward).
    pub loss_s: f64,
}

fn to_tensor(a: &Array2<f64>, device: &Device) -> Result<Tensor> {
    Tensor::from_vec(a.iter().copied().collect::<Vec<_>>(), a.dim(), device)
}

/// Trains with SPO+ through candle; `make_oracle` builds the oracles of the loss op, `oracle`
/// evaluates the regret.
pub fn train_spo_plus<F, O>(
    make_oracle: F,
    oracle: &mut O,
    train: &Dataset,
    test: &Dataset,
    config: TrainConfig,
) -> Result<CandleRun>
where
    F: Fn() -> O + Send + Sync + Clone + 'static,
    O: Oracle<CombinatorialProblem>,
{
    let device = Device::Cpu;
    let (n, p) = train.features.dim();
    let d = train.costs.ncols();
    let mut rng = RandomState::new(config.seed);
    let init = LinearModel::new(p, d, &mut rng);
    let theta = Var::from_tensor(&to_tensor(init.theta(), &device)?)?;
    let beta = Var::from_tensor(&Tensor::from_vec(init.beta().to_vec(), (1, d), &device)?)?;
    let mut adam = AdamW::new(
        vec![theta.clone(), beta.clone()],
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let (x, c, y_star) = (
        to_tensor(&train.features, &device)?,
        to_tensor(&train.costs, &device)?,
        to_tensor(&train.solutions, &device)?,
    );
    let mut order: Vec<usize> = (0..n).collect();
    let mut run = CandleRun {
        regret_per_epoch: Vec::new(),
        wall_s: 0.0,
        loss_s: 0.0,
    };
    for _ in 0..config.epochs {
        let started = Instant::now();
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(config.batch.max(1)) {
            let idx = Tensor::from_vec(
                chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                chunk.len(),
                &device,
            )?;
            let (xb, cb, yb) = (
                x.index_select(&idx, 0)?,
                c.index_select(&idx, 0)?,
                y_star.index_select(&idx, 0)?,
            );
            let c_hat = xb
                .matmul(&theta.as_tensor().t()?)?
                .broadcast_add(beta.as_tensor())?;
            let in_loss = Instant::now();
            let loss = spo_plus_loss(make_oracle.clone(), &c_hat, &cb, &yb)?.mean_all()?;
            let grads = loss.backward()?;
            run.loss_s += in_loss.elapsed().as_secs_f64();
            adam.step(&grads)?;
        }
        run.wall_s += started.elapsed().as_secs_f64();
        let th = theta.as_tensor().to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let be = beta.as_tensor().to_vec2::<f64>()?;
        let model = LinearModel::from_parameters(
            Array2::from_shape_fn((d, p), |(i, j)| th[i][j]),
            Array1::from(be[0].clone()),
        );
        let r = regret(&model, oracle, test).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        run.regret_per_epoch.push(r);
    }
    Ok(run)
}
