//! `lpgd-bench pyepo`: the PyEPO comparison of gradient rules on shortest path and knapsack.

use crate::args::{dataset_size, epoch_count};
use crate::error::{write_file, BenchError};
use crate::plot::line_plot;
use crate::progress;
use lpgd_combinatorial::data::{knapsack_data, shortest_path_data};
use lpgd_combinatorial::rules::Perturbation;
use lpgd_combinatorial::train::{train, Dataset, Rule, TrainConfig};
use lpgd_combinatorial::{GridShortestPath, Knapsack};
use lpgd_core::{CombinatorialProblem, Oracle, Side};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// The combinatorial problem of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PyepoProblem {
    /// Shortest paths on a 5×5 grid (PyEPO's).
    ShortestPath,
    /// A 32-item knapsack with 2 capacities of 20 (PyEPO's).
    Knapsack,
}

impl PyepoProblem {
    /// Its name in reports (`shortest-path`, `knapsack`).
    pub fn name(&self) -> &'static str {
        match self {
            PyepoProblem::ShortestPath => "shortest-path",
            PyepoProblem::Knapsack => "knapsack",
        }
    }
}

/// The options of `pyepo`: the experiment's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct PyepoArgs {
    /// The problem: shortest-path (5×5 grid) or knapsack (32 items, 2 capacities of 20).
    #[arg(long, value_enum)]
    pub problem: PyepoProblem,
    /// A short run: 200 training and 200 test instances, 5 epochs.
    #[arg(long)]
    pub quick: bool,
    /// Seed of the model initialisation, the shuffles and the perturbations.
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Seed of the data (PyEPO's default 135).
    #[arg(long, default_value_t = 135)]
    pub data_seed: u32,
    /// Training instances (1 to 10⁶).
    #[arg(long, default_value_t = 1000, value_parser = dataset_size)]
    pub n: usize,
    /// Test instances (1 to 10⁶).
    #[arg(long, default_value_t = 1000, value_parser = dataset_size)]
    pub n_test: usize,
    /// Epochs.
    #[arg(long, default_value_t = 20, value_parser = epoch_count)]
    pub epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = dataset_size)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Polynomial degree of the cost model.
    #[arg(long, default_value_t = 4)]
    pub deg: i32,
    /// Noise half-width.
    #[arg(long, default_value_t = 0.5)]
    pub noise: f64,
    /// LPGD step τ for the lpgd rules (3 gave centred LPGD 8.0–8.5 % on SP over 4 seeds;
    /// PyEPO's DBB uses λ = 10).
    #[arg(long, default_value_t = 3.0)]
    pub tau: f64,
    /// Output JSON (the SVG plot is written beside it).
    #[arg(long)]
    pub out: PathBuf,
}

impl PyepoArgs {
    /// Training and test instances and epochs (200, 200 and 5 in a quick run).
    fn sizes(&self) -> (usize, usize, usize) {
        if self.quick {
            (200, 200, 5)
        } else {
            (self.n, self.n_test, self.epochs)
        }
    }
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
pub fn run(args: &PyepoArgs) -> Result<(), BenchError> {
    let (n, n_test, epochs) = args.sizes();
    let train_config = TrainConfig {
        epochs,
        batch: args.batch,
        learning_rate: args.lr,
        seed: args.seed,
    };
    let total = n + n_test;
    let (mut oracle, features, costs): (Box<dyn Oracle<CombinatorialProblem>>, _, _) =
        match args.problem {
            PyepoProblem::ShortestPath => {
                let d = shortest_path_data(total, 5, (5, 5), args.deg, args.noise, args.data_seed)?;
                (Box::new(GridShortestPath::new(5, 5)?), d.features, d.costs)
            }
            PyepoProblem::Knapsack => {
                let d = knapsack_data(total, 5, 32, 2, args.deg, args.noise, args.data_seed)?;
                let ks = Knapsack::new(d.weights.clone(), vec![20.0, 20.0])?;
                // The oracle minimises: costs are the negated values.
                (Box::new(ks), d.features, d.values.mapv(|v| -v))
            }
        };
    let (train_set, test_set) = Dataset::split(oracle.as_mut(), &features, &costs, n)?;
    let mut results = Map::new();
    let mut series = Vec::new();
    println!("| rule | test regret | wall s |\n|---|---|---|");
    for rule in rules(args.tau) {
        let report = train(
            rule,
            oracle.as_mut(),
            &train_set,
            &test_set,
            train_config,
            |e, r| {
                progress::bar(
                    rule.name(),
                    e + 1,
                    epochs,
                    &format!("test regret {:6.2}%", 100.0 * r),
                )
            },
        )
        .map_err(|source| BenchError::Training {
            rule: rule.name(),
            source,
        })?;
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
            "problem": args.problem.name(), "n_train": n, "n_test": n_test, "deg": args.deg,
            "noise_width": args.noise, "epochs": epochs, "batch": args.batch,
            "learning_rate": args.lr, "seed": args.seed, "data_seed": args.data_seed,
            "tau": args.tau, "model": "linear (Θx + β), Adam",
            "grid": if args.problem == PyepoProblem::ShortestPath { json!([5, 5]) } else { Value::Null },
            "items": if args.problem == PyepoProblem::Knapsack { json!(32) } else { Value::Null },
        },
        "rules": results,
    });
    let out = &args.out;
    write_file(out, serde_json::to_string_pretty(&doc)?)?;
    let svg = line_plot(
        &format!("PyEPO {}: test regret per epoch", args.problem.name()),
        "epoch",
        "normalised regret",
        &series,
    );
    let svg_path = out.with_extension("svg");
    write_file(&svg_path, svg)?;
    eprintln!("wrote {} and {}", out.display(), svg_path.display());
    Ok(())
}
