//! `lpgd-bench paper sudoku|markowitz`: LPGD against gradient descent through the true derivative,
//! over a small learning-rate grid; JSON curves and SVG plots.

use super::markowitz::{train_markowitz, Market, MarkowitzSetup};
use super::sudoku::{sudoku_data, train_sudoku, Method, SudokuSetup};
use super::CurvePoint;
use crate::args::{epoch_count, instance_count, side, thread_count};
use crate::error::{write_file, BenchError};
use crate::plot::line_plot;
use crate::progress;
use lpgd_core::{Lpgd, Side};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

mod historical;

use historical::markowitz_historical;
pub use historical::REFERENCE_CURVE;

/// The paper's experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Experiment {
    /// Learn the rules of 4×4 Sudoku (an LP layer with learnt constraints).
    Sudoku,
    /// Tune a Markowitz portfolio policy (an SOCP layer).
    Markowitz,
}

impl Experiment {
    /// Its name (`sudoku`, `markowitz`).
    pub fn name(&self) -> &'static str {
        match self {
            Experiment::Sudoku => "sudoku",
            Experiment::Markowitz => "markowitz",
        }
    }
}

/// The market of the Markowitz experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MarketData {
    /// Historical statistics of 12 ETFs and the reference protocol (`data/markowitz/`).
    Historical,
    /// A synthetic, seeded market (see `paper::markowitz`).
    Synthetic,
}

/// The options of `paper`.
#[derive(Debug, Clone, clap::Args)]
pub struct PaperArgs {
    /// The experiment.
    #[arg(value_enum)]
    pub experiment: Experiment,
    /// A scaled-down run (a minute or less).
    #[arg(long)]
    pub quick: bool,
    /// Seed of data, initialisation and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Learning rates to try for every method, comma-separated (default: the experiment's grid).
    #[arg(long = "lr", value_delimiter = ',')]
    pub learning_rates: Vec<f64>,
    /// LPGD's τ (default: 1e4 for Sudoku, 0.1 for Markowitz).
    #[arg(long)]
    pub tau: Option<f64>,
    /// LPGD's ρ for Sudoku (default 0.1).
    #[arg(long)]
    pub rho: Option<f64>,
    /// Epochs (Sudoku, default 4) or iterations (Markowitz, default 100).
    #[arg(long, value_parser = epoch_count)]
    pub steps: Option<usize>,
    /// JSON output; SVG plots are written beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Markowitz: the market.
    #[arg(long, value_enum, default_value_t = MarketData::Historical)]
    pub data: MarketData,
    /// Markowitz on historical data: LPGD's τ values.
    #[arg(long, value_delimiter = ',', default_values_t = [1e-3, 1e-2, 1e-1, 1.0])]
    pub taus: Vec<f64>,
    /// Markowitz on historical data: LPGD's sides.
    #[arg(long, value_parser = side, value_delimiter = ',', default_values = ["right", "left"])]
    pub sides: Vec<Side>,
    /// Markowitz on historical data: training seeds of the exact-derivative baseline (its curve
    /// is reported as mean ± spread over them).
    #[arg(long, default_value_t = 3, value_parser = instance_count)]
    pub baseline_seeds: usize,
    /// Markowitz on historical data: τ of the exact-derivative baseline (centred LPGD on
    /// high-accuracy Clarabel, which tends to the true derivative as τ → 0).
    #[arg(long, default_value_t = 1e-4)]
    pub exact_tau: f64,
    /// Markowitz on historical data: held-out test rollouts (default 100; 10 with --quick).
    #[arg(long, value_parser = instance_count)]
    pub test_rollouts: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = thread_count)]
    pub threads: Option<usize>,
}

/// One trained configuration.
struct Run {
    method: String,
    lr: f64,
    curve: Vec<CurvePoint>,
}

/// The best run per method: highest final accuracy (Sudoku) or lowest final cost (Markowitz).
fn best<'r>(runs: &'r [Run], method: &str, higher_is_better: bool) -> Option<&'r Run> {
    let last = |r: &Run| r.curve.last().map_or(f64::NAN, |p| p.test);
    runs.iter().filter(|r| r.method == method).max_by(|a, b| {
        let (x, y) = (last(a), last(b));
        if higher_is_better {
            x.total_cmp(&y)
        } else {
            y.total_cmp(&x)
        }
    })
}

/// First step whose test figure reaches `target`.
fn steps_to(curve: &[CurvePoint], target: f64, higher_is_better: bool) -> Option<usize> {
    curve
        .iter()
        .find(|p| {
            if higher_is_better {
                p.test >= target
            } else {
                p.test <= target
            }
        })
        .map(|p| p.step)
}

/// Runs the experiment and writes `out` (JSON) with three SVG plots beside it.
pub fn run(options: &PaperArgs) -> Result<(), BenchError> {
    if options.experiment == Experiment::Markowitz && options.data == MarketData::Historical {
        return match options.threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()?
                .install(|| markowitz_historical(options)),
            None => markowitz_historical(options),
        };
    }
    let out = &options.out;
    let (runs, unit, metric, higher) = match options.experiment {
        Experiment::Sudoku => (
            sudoku(options)?,
            "epoch",
            "test accuracy (boards solved)",
            true,
        ),
        Experiment::Markowitz => (markowitz(options)?, "iteration", "test cost", false),
    };
    let methods: Vec<String> = {
        let mut m: Vec<String> = runs.iter().map(|r| r.method.clone()).collect();
        m.dedup();
        m
    };
    // The target both methods are measured against: 90 % of the way from the starting figure to
    // the best final figure of any method.
    let start = runs
        .first()
        .and_then(|r| r.curve.first())
        .map_or(f64::NAN, |p| p.test);
    let finals = methods
        .iter()
        .filter_map(|m| best(&runs, m, higher))
        .map(|r| r.curve.last().map_or(f64::NAN, |p| p.test));
    let best_final = if higher {
        finals.fold(f64::NEG_INFINITY, f64::max)
    } else {
        finals.fold(f64::INFINITY, f64::min)
    };
    let target = start + 0.9 * (best_final - start);
    println!("\n| method | best lr | final {metric} | {unit}s to reach {target:.4} | train s |");
    println!("|---|---|---|---|---|");
    let mut results = Map::new();
    for m in &methods {
        let Some(b) = best(&runs, m, higher) else {
            continue;
        };
        let last = b.curve.last().copied();
        let reach = steps_to(&b.curve, target, higher);
        println!(
            "| {m} | {} | {:.4} | {} | {:.1} |",
            b.lr,
            last.map_or(f64::NAN, |p| p.test),
            reach.map_or("–".into(), |s| s.to_string()),
            last.map_or(0.0, |p| p.seconds)
        );
        let per_lr: Vec<Value> = runs
            .iter()
            .filter(|r| &r.method == m)
            .map(|r| json!({"learning_rate": r.lr, "curve": r.curve}))
            .collect();
        results.insert(
            m.clone(),
            json!({
                "best_learning_rate": b.lr,
                "final_test": last.map(|p| p.test),
                "final_train_loss": last.map(|p| p.train_loss),
                "train_seconds": last.map(|p| p.seconds),
                "steps_to_common_target": reach,
                "runs": per_lr,
            }),
        );
    }
    let doc = json!({
        "experiment": options.experiment.name(),
        "quick": options.quick,
        "seed": options.seed,
        "metric": metric,
        "step_unit": unit,
        "common_target": target,
        "methods": results,
    });
    write_file(out, serde_json::to_string_pretty(&doc)?)?;
    let series =
        |x: fn(&CurvePoint) -> f64, y: fn(&CurvePoint) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
            runs.iter()
                .map(|r| {
                    (
                        format!(
                            "{} lr={}",
                            r.method.split(' ').next().unwrap_or("run"),
                            r.lr
                        ),
                        r.curve
                            .iter()
                            .filter(|p| y(p).is_finite())
                            .map(|p| (x(p), y(p)))
                            .collect(),
                    )
                })
                .collect()
        };
    let title = |what: &str| format!("{}: {what}", options.experiment.name());
    let plots = [
        (
            "svg",
            line_plot(
                &title(&format!("{metric} per {unit}")),
                unit,
                metric,
                &series(|p| p.step as f64, |p| p.test),
            ),
        ),
        (
            "time.svg",
            line_plot(
                &title(&format!("{metric} per second")),
                "training seconds",
                metric,
                &series(|p| p.seconds, |p| p.test),
            ),
        ),
        (
            "loss.svg",
            line_plot(
                &title(&format!("training loss per {unit}")),
                unit,
                "training loss",
                &series(|p| p.step as f64, |p| p.train_loss),
            ),
        ),
    ];
    for (ext, svg) in plots {
        let path = out.with_extension(ext);
        write_file(&path, svg)?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn label_progress(label: &str, total: usize, unit: &str, metric: &str) -> impl FnMut(&CurvePoint) {
    let (label, unit, metric) = (label.to_string(), unit.to_string(), metric.to_string());
    move |p: &CurvePoint| {
        let status = if p.test.is_finite() {
            format!("{unit} {:>3}  {metric} {:.4}", p.step, p.test)
        } else {
            format!("{unit} {:>3}", p.step)
        };
        progress::bar(&label, p.step, total, &status);
    }
}

fn sudoku(options: &PaperArgs) -> Result<Vec<Run>, BenchError> {
    let (n, n_test, epochs) = if options.quick {
        (600, 200, 4)
    } else {
        (9000, 1000, 4)
    };
    let epochs = options.steps.unwrap_or(epochs);
    let data = sudoku_data(n + n_test, options.seed);
    let split = |a: usize, b: usize| super::sudoku::SudokuData {
        puzzles: data.puzzles.slice(ndarray::s![a..b, ..]).to_owned(),
        solutions: data.solutions.slice(ndarray::s![a..b, ..]).to_owned(),
    };
    let (train, test) = (split(0, n), split(n, n + n_test));
    let lrs = if options.learning_rates.is_empty() {
        vec![0.1, 0.01]
    } else {
        options.learning_rates.clone()
    };
    let methods = [
        Method::Lpgd {
            tau: options.tau.unwrap_or(1e4),
            rho: options.rho.unwrap_or(0.1),
        },
        Method::Gd {
            eps: 1e-3,
            tau: 1e-3,
        },
    ];
    println!(
        "Sudoku 4×4: {n} training / {n_test} test puzzles, 40 learnt equality constraints, {epochs} epochs, batch 100, Adam, seed {}",
        options.seed
    );
    let mut runs = Vec::new();
    for method in methods {
        for &lr in &lrs {
            let setup = SudokuSetup {
                m: 40,
                epochs,
                batch: 100,
                learning_rate: lr,
                seed: options.seed,
            };
            let name = method.name();
            let label = format!(
                "{} lr={lr}",
                if matches!(method, Method::Lpgd { .. }) {
                    "lpgd"
                } else {
                    "gd"
                }
            );
            let curve = train_sudoku(
                &train,
                &test,
                method,
                &setup,
                label_progress(&label, epochs, "epoch", "accuracy"),
            )?;
            runs.push(Run {
                method: name,
                lr,
                curve,
            });
        }
    }
    Ok(runs)
}

fn markowitz(options: &PaperArgs) -> Result<Vec<Run>, BenchError> {
    let (iterations, n_test) = if options.quick { (10, 20) } else { (100, 100) };
    let iterations = options.steps.unwrap_or(iterations);
    let market = Market::new(options.seed);
    let test = market.scenarios(n_test, options.seed.wrapping_add(1_000_003));
    let lrs = if options.learning_rates.is_empty() {
        vec![1e-2, 3e-3]
    } else {
        options.learning_rates.clone()
    };
    let tau = options.tau.unwrap_or(0.1);
    let methods = [
        (format!("lpgd (τ={tau})"), tau),
        ("gd (τ=1e-4)".to_string(), 1e-4),
    ];
    println!(
        "Markowitz policy: 12 assets, 24 months, 10 rollouts per step, {iterations} iterations, {n_test} test rollouts, Adam, seed {}",
        options.seed
    );
    let mut runs = Vec::new();
    for (name, t) in methods {
        for &lr in &lrs {
            let setup = MarkowitzSetup {
                iterations,
                rollouts: 10,
                learning_rate: lr,
                seed: options.seed,
            };
            let label = format!("{} lr={lr}", name.split(' ').next().unwrap_or("run"));
            let lpgd = Lpgd::new(t)?;
            let curve = train_markowitz(
                &market,
                &test,
                lpgd,
                &setup,
                label_progress(&label, iterations, "iter", "cost"),
            )?;
            runs.push(Run {
                method: name.clone(),
                lr,
                curve,
            });
        }
    }
    Ok(runs)
}
