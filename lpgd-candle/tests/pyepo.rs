//! The candle SPO+ loop reaches the plain-Rust loop's test regret for the same seed.

use lpgd_candle::pyepo::train_spo_plus;
use lpgd_combinatorial::train::{shortest_path_sets, Rule, TrainConfig};
use lpgd_combinatorial::GridShortestPath;

#[test]
fn candle_spo_plus_matches_the_plain_loop() {
    let mut sets = shortest_path_sets(200, 100).unwrap();
    let config = TrainConfig::with_epochs(3);
    let plain = sets.train(Rule::SpoPlus, config).unwrap();
    let oracle = || GridShortestPath::new(5, 5).unwrap();
    let candle = train_spo_plus(oracle, &mut sets.oracle, &sets.train, &sets.test, config).unwrap();
    assert_eq!(candle.regret_per_epoch.len(), 3);
    for (a, b) in candle.regret_per_epoch.iter().zip(&plain.regret_per_epoch) {
        assert!((a - b).abs() < 1e-9, "candle {a} vs plain {b}");
    }
    // Training helped: the last epoch beats the first.
    assert!(plain.regret_per_epoch[2] < plain.regret_per_epoch[0]);
    assert!(candle.loss_s > 0.0 && candle.loss_s < candle.wall_s);
}
