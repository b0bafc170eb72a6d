//! The Warcraft-like CNN example, scaled down: training through the shortest-path layer improves
//! the paths, runs are reproducible, and misconfigurations are errors.

use lpgd_candle::terrain::{train_terrain, TerrainCnn, TerrainSetup};
use lpgd_candle::LayerRule;
use lpgd_combinatorial::terrain::{terrain_maps, TerrainConfig};
use lpgd_core::{Lpgd, Side};

fn small() -> TerrainConfig {
    TerrainConfig {
        grid: 6,
        ..TerrainConfig::default()
    }
}

#[test]
fn training_through_the_layer_finds_better_paths() {
    let (train, test) = (
        terrain_maps(240, &small(), 5).unwrap(),
        terrain_maps(80, &small(), 6).unwrap(),
    );
    // Spread 1: on a 6×6 map the untrained network's costs are nearly uniform, and with costs
    // around 1 + 4 a shift of τ = 0.5 per cell cannot make the longer true path beat the diagonal,
    // so the re-solve returns the same path and nothing is learnt; around 1 + 1 it can.
    let setup = TerrainSetup {
        epochs: 5,
        batch: 16,
        learning_rate: 1e-2,
        spread: 1.0,
        ..TerrainSetup::default()
    };
    let rule = LayerRule::Lpgd(Lpgd::new(0.5).unwrap().with_side(Side::Right));
    let mut seen = 0;
    let report = train_terrain(&train, &test, rule, &setup, |_| seen += 1).unwrap();
    assert_eq!(seen, 6);
    let (first, last) = (&report.epochs[0], report.last());
    assert!(
        last.test_regret < 0.5 * first.test_regret,
        "regret {} -> {}",
        first.test_regret,
        last.test_regret
    );
    assert!(last.optimal_share > first.optimal_share);
    let train_loss: Vec<f64> = report.epochs[1..].iter().map(|e| e.train_hamming).collect();
    assert!(
        train_loss[train_loss.len() - 1] < train_loss[0],
        "{train_loss:?}"
    );
    assert!(report.epochs[1..]
        .iter()
        .all(|e| e.layer_s > 0.0 && e.layer_s < e.wall_s));

    // Same seed, same curve.
    let again = train_terrain(&train, &test, rule, &setup, |_| {}).unwrap();
    let shares = |r: &lpgd_candle::terrain::TerrainReport| {
        r.epochs.iter().map(|e| e.optimal_share).collect::<Vec<_>>()
    };
    assert_eq!(shares(&report), shares(&again));
}

#[test]
fn misconfigurations_are_errors() {
    let maps = terrain_maps(4, &small(), 1).unwrap();
    // τ at or above the cost floor could make a perturbed weight negative.
    let rule = LayerRule::Lpgd(Lpgd::new(2.0).unwrap());
    assert!(train_terrain(&maps, &maps, rule, &TerrainSetup::default(), |_| {}).is_err());
    // Train and test maps of different sizes.
    let other = terrain_maps(4, &TerrainConfig::default(), 1).unwrap();
    assert!(train_terrain(
        &maps,
        &other,
        LayerRule::Nid,
        &TerrainSetup::default(),
        |_| {}
    )
    .is_err());
    // Tiles that are not a multiple of 4, a non-positive floor, images of the wrong shape.
    let dev = candle_core::Device::Cpu;
    assert!(TerrainCnn::new(6, 1.0, 4.0, 0, &dev).is_err());
    assert!(TerrainCnn::new(8, 0.0, 4.0, 0, &dev).is_err());
    let net = TerrainCnn::new(8, 1.0, 4.0, 0, &dev).unwrap();
    let wrong = candle_core::Tensor::zeros((2, 3, 50, 50), candle_core::DType::F32, &dev).unwrap();
    assert!(net.costs(&wrong).is_err());
    let right = candle_core::Tensor::zeros((2, 3, 48, 48), candle_core::DType::F32, &dev).unwrap();
    let costs = net.costs(&right).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(costs.len(), 2);
    assert!(costs[0].iter().all(|&c| c >= 1.0));
    // The part above the floor averages the spread.
    let mean: f32 = costs[0].iter().map(|c| c - 1.0).sum::<f32>() / 36.0;
    assert!((mean - 4.0).abs() < 1e-4, "{mean}");
}
