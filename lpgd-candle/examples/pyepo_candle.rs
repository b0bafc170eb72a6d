//! PyEPO's shortest-path experiment trained through the candle SPO+ loss, next to the plain-Rust
//! training loop with the same seed: same data, same initialisation, same shuffles, same Adam.
//!
//! `cargo run --release -p lpgd-candle --example pyepo_candle [-- EPOCHS]`
#![allow(missing_docs)]

use lpgd_candle::pyepo::train_spo_plus;

use lpgd_combinatorial::train::{shortest_path_sets, Rule, TrainConfig};
use lpgd_combinatorial::GridShortestPath;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args().nth(1).map_or(Ok(20), |a| a.parse())?;
    let (n, n_test) = (1000, 1000);
    let mut sets = shortest_path_sets(n, n_test)?;
    let config = TrainConfig::with_epochs(epochs);
    let t0 = Instant::now();
    let plain = sets.train(Rule::SpoPlus, config)?;
    let plain_s = t0.elapsed().as_secs_f64();
    let oracle = || GridShortestPath::new(5, 5).unwrap();
    let candle = train_spo_plus(oracle, &mut sets.oracle, &sets.train, &sets.test, config)?;
    let candle_regret = *candle.regret_per_epoch.last().unwrap_or(&f64::NAN);
    println!("rule spo+, {epochs} epochs, seed {}:", config.seed);
    println!(
        "  plain Rust loop: test regret {:.4}% in {plain_s:.2} s",
        100.0 * plain.test_regret
    );
    println!(
        "  candle:          test regret {:.4}% in {:.2} s ({:.3} s per epoch, {:.0}% in the SPO+ op incl. its backward)",
        100.0 * candle_regret,
        candle.wall_s,
        candle.wall_s / epochs.max(1) as f64,
        100.0 * candle.loss_s / candle.wall_s.max(f64::MIN_POSITIVE)
    );
    println!(
        "  difference: {:.2e}",
        (candle_regret - plain.test_regret).abs()
    );
    Ok(())
}
