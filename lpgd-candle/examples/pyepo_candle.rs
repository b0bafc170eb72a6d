//! PyEPO's shortest-path experiment trained through the candle SPO+ loss, next to the plain-Rust
//! training loop with the same seed: same data, same initialisation, same shuffles, same Adam.
//!
//! `cargo run --release -p lpgd-candle --example pyepo_candle [-- EPOCHS]`
#![allow(missing_docs)]

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use lpgd_candle::spo_plus_loss;
use lpgd_combinatorial::data::shortest_path_data;
use lpgd_combinatorial::train::{regret, shuffle, train, Dataset, LinearModel, Rule, TrainConfig};
use lpgd_combinatorial::{GridShortestPath, RandomState};
use lpgd_core::ndarray::{s, Array2};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args().nth(1).map_or(Ok(20), |a| a.parse())?;
    let (n, n_test, p, d) = (1000, 1000, 5, 40);
    let data = shortest_path_data(n + n_test, p, (5, 5), 4, 0.5, 135);
    let mut sp = GridShortestPath::new(5, 5);
    let split = |a: usize, b: usize, sp: &mut GridShortestPath| {
        Dataset::new(
            sp,
            data.features.slice(s![a..b, ..]).to_owned(),
            data.costs.slice(s![a..b, ..]).to_owned(),
        )
    };
    let (train_set, test_set) = (split(0, n, &mut sp)?, split(n, n + n_test, &mut sp)?);
    let config = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };

    // The plain-Rust loop.
    let t0 = Instant::now();
    let plain = train(
        Rule::SpoPlus,
        &mut sp,
        &train_set,
        &test_set,
        config,
        |_, _| {},
    )?;
    let plain_s = t0.elapsed().as_secs_f64();

    // The same model in candle: Θ and β initialised from the same generator, in the same order.
    let dev = Device::Cpu;
    let mut rng = RandomState::new(config.seed);
    let init = LinearModel::new(p, d, &mut rng);
    let theta0: Vec<f64> = init.theta().iter().copied().collect();
    let beta0: Vec<f64> = init.beta().to_vec();
    let theta = Var::from_tensor(&Tensor::from_vec(theta0, (d, p), &dev)?)?;
    let beta = Var::from_tensor(&Tensor::from_vec(beta0, (1, d), &dev)?)?;
    let mut adam = AdamW::new(
        vec![theta.clone(), beta.clone()],
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let to_tensor =
        |a: &Array2<f64>| Tensor::from_vec(a.iter().copied().collect::<Vec<_>>(), a.dim(), &dev);
    let (x, c, y_star) = (
        to_tensor(&train_set.features)?,
        to_tensor(&train_set.costs)?,
        to_tensor(&train_set.solutions)?,
    );
    let mut order: Vec<usize> = (0..n).collect();
    let (mut solver_s, mut total_s) = (0.0, 0.0);
    let mut regrets = Vec::new();
    for _ in 0..epochs {
        let t_epoch = Instant::now();
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(config.batch) {
            let idx = Tensor::from_vec(
                chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                chunk.len(),
                &dev,
            )?;
            let (xb, cb, yb) = (
                x.index_select(&idx, 0)?,
                c.index_select(&idx, 0)?,
                y_star.index_select(&idx, 0)?,
            );
            let c_hat = xb
                .matmul(&theta.as_tensor().t()?)?
                .broadcast_add(beta.as_tensor())?;
            let t_solver = Instant::now();
            let loss =
                spo_plus_loss(|| GridShortestPath::new(5, 5), &c_hat, &cb, &yb)?.mean_all()?;
            let grads = loss.backward()?;
            solver_s += t_solver.elapsed().as_secs_f64();
            adam.step(&grads)?;
        }
        total_s += t_epoch.elapsed().as_secs_f64();
        // Evaluate with the plain model type, fed the candle parameters.
        let th = theta.as_tensor().to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let be = beta.as_tensor().to_vec2::<f64>()?;
        let model = LinearModel::from_parameters(
            Array2::from_shape_fn((d, p), |(i, j)| th[i][j]),
            lpgd_core::ndarray::Array1::from(be[0].clone()),
        );
        regrets.push(regret(&model, &mut sp, &test_set)?);
    }
    let candle_regret = *regrets.last().unwrap_or(&f64::NAN);
    println!("rule spo+, {epochs} epochs, seed {}:", config.seed);
    println!(
        "  plain Rust loop: test regret {:.4}% in {plain_s:.2} s",
        100.0 * plain.test_regret
    );
    println!(
        "  candle:          test regret {:.4}% in {total_s:.2} s ({:.2} s per epoch, {:.0}% in the SPO+ op incl. its backward)",
        100.0 * candle_regret,
        total_s / epochs.max(1) as f64,
        100.0 * solver_s / total_s
    );
    println!(
        "  difference: {:.2e}",
        (candle_regret - plain.test_regret).abs()
    );
    Ok(())
}
