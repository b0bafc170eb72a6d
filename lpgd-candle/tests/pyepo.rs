//! The candle SPO+ loop reaches the plain-Rust loop's test regret for the same seed.

use lpgd_candle::pyepo::train_spo_plus;
use lpgd_combinatorial::train::{shortest_path_sets, train, Rule, TrainConfig};
use lpgd_combinatorial::GridShortestPath;

#[test]
fn candle_spo_plus_matches_the_plain_loop() {
    let (mut sp, train_set, test_set) = shortest_path_sets(200, 100).unwrap();
    let config = TrainConfig::with_epochs(3);
    let plain = train(
        Rule::SpoPlus,
        &mut sp,
        &train_set,
        &test_set,
        config,
        |_, _| {},
    )
    .unwrap();
    let candle = train_spo_plus(
        || GridShortestPath::new(5, 5).unwrap(),
        &mut sp,
        &train_set,
        &test_set,
        config,
    )
    .unwrap();
    assert_eq!(candle.regret_per_epoch.len(), 3);
    for (a, b) in candle.regret_per_epoch.iter().zip(&plain.regret_per_epoch) {
        assert!((a - b).abs() < 1e-9, "candle {a} vs plain {b}");
    }
    // Training helped: the last epoch beats the first.
    assert!(plain.regret_per_epoch[2] < plain.regret_per_epoch[0]);
    assert!(candle.loss_s > 0.0 && candle.loss_s < candle.wall_s);
}
