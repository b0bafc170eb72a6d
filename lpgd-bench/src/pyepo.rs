//! `lpgd-bench pyepo`: the PyEPO comparison of gradient rules on shortest path and knapsack.

use lpgd_bench::plot::line_plot;
use lpgd_bench::progress;
use lpgd_combinatorial::data::{knapsack_data, shortest_path_data};
use lpgd_combinatorial::rules::Perturbation;
use lpgd_combinatorial::train::{train, Dataset, Rule, TrainConfig};
use lpgd_combinatorial::{GridShortestPath, Knapsack};
use lpgd_core::{CombinatorialProblem, Oracle, Side};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The experiment's settings.
pub struct Setting {
    /// `shortest-path` or `knapsack`.
    pub problem: String,
    /// Training instances.
    pub n: usize,
    /// Test instances.
    pub n_test: usize,
    /// Polynomial degree.
    pub deg: i32,
    /// Noise half-width ē.
    pub noise: f64,
    /// Training settings.
    pub train: TrainConfig,
    /// LPGD step τ for the LPGD rules.
    pub tau: f64,
    /// Data seed.
    pub data_seed: u32,
}

fn rules(tau: f64) -> Vec<Rule> {
    vec![
        Rule::Lpgd {
            side: Side::Right,
            tau,
        },
        Rule::Lpgd {
            side: Side::Left,
            tau,
        },
        Rule::Lpgd {
            side: Side::Centered,
            tau,
        },
        Rule::Nid,
        Rule::Dpo(Perturbation::default()),
        Rule::Pfyl(Perturbation::default()),
        Rule::SpoPlus,
    ]
}

/// Runs every rule and writes `out` (JSON) and the plot beside it (SVG).
pub fn run(setting: &Setting, out: &Path) -> Result<(), String> {
    let total = setting.n + setting.n_test;
    let (mut oracle, features, costs): (Box<dyn Oracle<CombinatorialProblem>>, _, _) =
        match setting.problem.as_str() {
            "shortest-path" => {
                let d = shortest_path_data(
                    total,
                    5,
                    (5, 5),
                    setting.deg,
                    setting.noise,
                    setting.data_seed,
                );
                (
                    Box::new(GridShortestPath::new(5, 5).unwrap()),
                    d.features,
                    d.costs,
                )
            }
            "knapsack" => {
                let d = knapsack_data(
                    total,
                    5,
                    32,
                    2,
                    setting.deg,
                    setting.noise,
                    setting.data_seed,
                );
                let ks = Knapsack::new(d.weights.clone(), vec![20.0, 20.0])
                    .map_err(|e| e.to_string())?;
                // The oracle minimises: costs are the negated values.
                (Box::new(ks), d.features, d.values.mapv(|v| -v))
            }
            other => {
                return Err(format!(
                    "unknown problem '{other}' (shortest-path or knapsack)"
                ))
            }
        };
    let (train_set, test_set) =
        Dataset::split(oracle.as_mut(), &features, &costs, setting.n).map_err(|e| e.to_string())?;
    let mut results = Map::new();
    let mut series = Vec::new();
    println!("| rule | test regret | wall s |\n|---|---|---|");
    for rule in rules(setting.tau) {
        let epochs = setting.train.epochs;
        let report = train(
            rule,
            oracle.as_mut(),
            &train_set,
            &test_set,
            setting.train,
            |e, r| {
                progress::bar(
                    rule.name(),
                    e + 1,
                    epochs,
                    &format!("test regret {:6.2}%", 100.0 * r),
                )
            },
        )
        .map_err(|e| format!("{}: {e}", rule.name()))?;
        println!(
            "| {} | {:.2}% | {:.2} |",
            rule.name(),
            100.0 * report.test_regret,
            report.wall_s
        );
        series.push((
            rule.name().to_string(),
            report
                .regret_per_epoch
                .iter()
                .enumerate()
                .map(|(e, r)| ((e + 1) as f64, *r))
                .collect(),
        ));
        results.insert(
            rule.name().into(),
            json!({"test_regret": report.test_regret, "wall_s": report.wall_s, "regret_per_epoch": report.regret_per_epoch}),
        );
    }
    let doc = json!({
        "setting": {
            "problem": setting.problem, "n_train": setting.n, "n_test": setting.n_test, "deg": setting.deg,
            "noise_width": setting.noise, "epochs": setting.train.epochs, "batch": setting.train.batch,
            "learning_rate": setting.train.learning_rate, "seed": setting.train.seed, "data_seed": setting.data_seed,
            "tau": setting.tau, "model": "linear (Θx + β), Adam",
            "grid": if setting.problem == "shortest-path" { json!([5, 5]) } else { Value::Null },
            "items": if setting.problem == "knapsack" { json!(32) } else { Value::Null },
        },
        "rules": results,
    });
    std::fs::write(
        out,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", out.display()))?;
    let svg = line_plot(
        &format!("PyEPO {}: test regret per epoch", setting.problem),
        "epoch",
        "normalised regret",
        &series,
    );
    let svg_path = out.with_extension("svg");
    std::fs::write(&svg_path, svg).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    eprintln!("wrote {} and {}", out.display(), svg_path.display());
    Ok(())
}
