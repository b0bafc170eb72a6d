//! The candle SPO+ loop reaches the plain-Rust loop's test regret for the same seed.

use lpgd_candle::pyepo::train_spo_plus;
use lpgd_combinatorial::data::shortest_path_data;
use lpgd_combinatorial::train::{train, Dataset, Rule, TrainConfig};
use lpgd_combinatorial::GridShortestPath;

#[test]
fn candle_spo_plus_matches_the_plain_loop() {
    let data = shortest_path_data(300, 5, (5, 5), 4, 0.5, 135).unwrap();
    let mut sp = GridShortestPath::new(5, 5).unwrap();
    let (train_set, test_set) = Dataset::split(&mut sp, &data.features, &data.costs, 200).unwrap();
    let config = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
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
