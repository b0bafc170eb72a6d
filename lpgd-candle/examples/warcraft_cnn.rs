//! A small CNN learns to find cheapest paths on generated Warcraft-like terrain maps, trained
//! through the vertex-weighted shortest-path layer (Dijkstra) with LPGD's backward pass.
//!
//! `cargo run --release -p lpgd-candle --example warcraft_cnn -- [--quick] [--seed S] [--out F.json]`
//!
//! Prints a progress bar per rule and a table; writes the curves as JSON and, beside it, an SVG
//! plot of the share of test maps whose predicted path is optimal, per epoch.
#![allow(missing_docs)]

use clap::Parser;
use lpgd_bench::{plot::line_plot, progress};
use lpgd_candle::terrain::{train_terrain, TerrainReport, TerrainSetup};
use lpgd_candle::LayerRule;
use lpgd_combinatorial::terrain::{terrain_maps, TerrainConfig};
use lpgd_core::{Lpgd, Side};
use serde_json::json;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// 300 training and 100 test maps, 5 epochs (a smoke run of the full setting).
    #[arg(long)]
    quick: bool,
    /// Training maps.
    #[arg(long, default_value_t = 1000)]
    train: usize,
    /// Test maps.
    #[arg(long, default_value_t = 300)]
    test: usize,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Seed of the maps, the initial weights and the shuffles.
    #[arg(long, default_value_t = 42)]
    seed: u32,
    /// LPGD's τ (λ of blackbox backpropagation for the right side); below the cost floor 1.
    #[arg(long, default_value_t = 0.5)]
    tau: f64,
    /// Mean predicted cost above the floor (the head's scale, see `lpgd_candle::terrain`).
    #[arg(long, default_value_t = TerrainSetup::default().spread)]
    spread: f64,
    /// Rules to train with, comma-separated: right, centered, left, nid.
    #[arg(long, default_value = "right,centered,nid")]
    rules: String,
    /// JSON output; the SVG plot is written beside it.
    #[arg(long, default_value = "warcraft_cnn.json")]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::parse();
    if args.quick {
        (args.train, args.test, args.epochs) = (300, 100, 5);
    }
    let config = TerrainConfig::default();
    let setup = TerrainSetup {
        epochs: args.epochs,
        seed: args.seed,
        spread: args.spread,
        ..TerrainSetup::default()
    };
    let train = terrain_maps(args.train, &config, args.seed)?;
    let test = terrain_maps(args.test, &config, args.seed.wrapping_add(1_000_003))?;
    println!(
        "{} training / {} test maps of {k}×{k} cells ({px}×{px} px), {} epochs, batch {}, Adam lr {}, seed {}",
        args.train,
        args.test,
        args.epochs,
        setup.batch,
        setup.learning_rate,
        args.seed,
        k = config.grid,
        px = config.grid * config.tile,
    );
    let mut runs: Vec<(String, TerrainReport)> = Vec::new();
    for name in args.rules.split(',').map(str::trim) {
        let rule = match name {
            "nid" => LayerRule::Nid,
            side => match side.parse::<Side>() {
                Ok(side) => LayerRule::Lpgd(Lpgd::new(args.tau)?.with_side(side)),
                Err(_) => {
                    return Err(
                        format!("unknown rule '{name}' (right, centered, left, nid)").into(),
                    )
                }
            },
        };
        let label = match name {
            "nid" => "nid".to_string(),
            side => format!("lpgd-{side}"),
        };
        let report = train_terrain(&train, &test, rule, &setup, |e| {
            progress::bar(
                &label,
                e.epoch,
                setup.epochs,
                &format!(
                    "optimal {:5.1}%  regret {:5.2}%",
                    100.0 * e.optimal_share,
                    100.0 * e.test_regret
                ),
            )
        })?;
        runs.push((label, report));
    }

    println!("\n| rule | optimal paths | test regret | test Hamming | epochs to 90 % of final | s / epoch | in the layer |");
    println!("|---|---|---|---|---|---|---|");
    for (label, r) in &runs {
        let last = r.last();
        let trained = &r.epochs[1..];
        let wall: f64 = trained.iter().map(|e| e.wall_s).sum();
        let layer: f64 = trained.iter().map(|e| e.layer_s).sum();
        println!(
            "| {label} | {:.1}% | {:.2}% | {:.2} | {} | {:.2} | {:.1}% |",
            100.0 * last.optimal_share,
            100.0 * last.test_regret,
            last.test_hamming,
            r.epochs_to(0.9 * last.optimal_share)
                .map_or("–".into(), |e| e.to_string()),
            wall / trained.len().max(1) as f64,
            100.0 * layer / wall.max(f64::MIN_POSITIVE),
        );
    }

    let curves: serde_json::Map<String, serde_json::Value> = runs
        .iter()
        .map(|(label, r)| {
            let pick = |f: fn(&lpgd_candle::terrain::TerrainEpoch) -> f64| {
                r.epochs.iter().map(f).collect::<Vec<f64>>()
            };
            (
                label.clone(),
                json!({
                    "optimal_share": pick(|e| e.optimal_share),
                    "test_regret": pick(|e| e.test_regret),
                    "test_hamming": pick(|e| e.test_hamming),
                    "train_hamming": r.epochs[1..].iter().map(|e| e.train_hamming).collect::<Vec<_>>(),
                    "wall_s": pick(|e| e.wall_s),
                    "layer_s": pick(|e| e.layer_s),
                    "final": {
                        "optimal_share": r.last().optimal_share,
                        "test_regret": r.last().test_regret,
                    },
                }),
            )
        })
        .collect();
    let report = json!({
        "experiment": "warcraft-like terrain maps, CNN through the vertex shortest-path layer",
        "maps": { "train": args.train, "test": args.test, "grid": config.grid, "tile": config.tile,
                  "noise": config.noise, "brightness": config.brightness, "regions": config.regions,
                  "clutter": config.clutter },
        "setup": { "epochs": setup.epochs, "batch": setup.batch, "learning_rate": setup.learning_rate,
                   "floor": setup.floor, "spread": setup.spread, "tau": args.tau, "seed": args.seed,
                   "parameters": runs.first().map(|r| r.1.parameters) },
        "rules": curves,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    let series: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|(label, r)| {
            (
                label.clone(),
                r.epochs
                    .iter()
                    .map(|e| (e.epoch as f64, 100.0 * e.optimal_share))
                    .collect(),
            )
        })
        .collect();
    let svg = args.out.with_extension("svg");
    std::fs::write(
        &svg,
        line_plot(
            "Warcraft-like maps: test paths that are optimal",
            "epoch",
            "optimal paths (%)",
            &series,
        ),
    )?;
    println!("\nwrote {} and {}", args.out.display(), svg.display());
    Ok(())
}
