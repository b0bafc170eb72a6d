//! `lpgd-bench`: gradients, benchmarks and experiments for lpgd from the command line.
//!
//! - `lpgd-bench demo` — forward and backward on the bundled reference problems, as a table.
//! - `lpgd-bench grad --problem FILE …` — LPGD gradients for every instance of a problem file, as
//!   JSON, with per-instance timings.
//! - `lpgd-bench pyepo --problem shortest-path|knapsack …` — the PyEPO comparison of gradient rules.

mod compare;
mod paper_cli;
mod pyepo;
mod run;
mod timed;

use clap::{Parser, Subcommand, ValueEnum};
use lpgd_bench::stats::median;
use lpgd_core::{Lpgd, ProblemFile, Side};
use lpgd_solvers::{Backend, BackendOptions as Options};
use run::{run_file, InstanceReport};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lpgd-bench",
    version,
    about = "LPGD gradients, benchmarks and experiments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum SideArg {
    Right,
    Left,
    Centered,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Right => Side::Right,
            SideArg::Left => Side::Left,
            SideArg::Centered => Side::Centered,
        }
    }
}

#[derive(clap::Args)]
struct SolverArgs {
    /// Backend: clarabel, osqp, highs, good_lp or good_lp:SOLVER (those built into this binary).
    #[arg(long, default_value = "clarabel")]
    backend: String,
    /// Build a new solver for every solve instead of updating a kept one (the cold path).
    #[arg(long)]
    cold: bool,
    /// Tighter solver tolerances (1e-11) for small τ.
    #[arg(long)]
    high_accuracy: bool,
    /// Worker threads (default: all cores; at most 256).
    #[arg(long, value_parser = thread_count)]
    threads: Option<usize>,
    /// The largest problem file read, in MiB.
    #[arg(long, default_value_t = 256, value_parser = file_megabytes)]
    max_file_mb: u64,
}

/// The most worker threads a command accepts.
const MAX_THREADS: usize = 256;

/// A whole number in `lo..=hi`, for options whose work or memory grows with them.
fn bounded(s: &str, lo: usize, hi: usize) -> Result<usize, String> {
    let v: usize = s.parse().map_err(|e| format!("{s}: {e}"))?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside {lo}..={hi}"))
    }
}

fn thread_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_THREADS)
}

fn instance_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 100_000)
}

fn repeat_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 1_000)
}

fn problem_size(s: &str) -> Result<usize, String> {
    bounded(s, 1, 3_000)
}

fn dataset_size(s: &str) -> Result<usize, String> {
    bounded(s, 1, 1_000_000)
}

fn epoch_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 100_000)
}

fn file_megabytes(s: &str) -> Result<u64, String> {
    bounded(s, 1, 1 << 20).map(|v| v as u64)
}

/// Reads a problem file of at most `max_mb` MiB.
fn read_problem(path: &std::path::Path, max_mb: u64) -> Result<ProblemFile, String> {
    ProblemFile::read_with_limit(path, max_mb << 20).map_err(|e| format!("{}: {e}", path.display()))
}

impl SolverArgs {
    fn backend(&self) -> Result<(Backend, Options), String> {
        let options = Options {
            cold: self.cold,
            high_accuracy: self.high_accuracy,
        };
        Ok((
            self.backend
                .parse()
                .map_err(|e: lpgd_solvers::UnknownBackend| e.to_string())?,
            options,
        ))
    }

    fn pool(&self) -> Result<rayon::ThreadPool, String> {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = self.threads {
            b = b.num_threads(n);
        }
        b.build().map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Forward and backward on every instance of a problem file; writes gradients and timings.
    Grad {
        /// Problem file in the diffcp/SCS JSON layout.
        #[arg(long)]
        problem: PathBuf,
        /// LPGD step τ (> 0).
        #[arg(long, default_value_t = 0.1)]
        tau: f64,
        /// Proximal weight ρ (≥ 0).
        #[arg(long, default_value_t = 0.0)]
        rho: f64,
        /// Which perturbation(s) to re-solve.
        #[arg(long, value_enum, default_value_t = SideArg::Centered)]
        side: SideArg,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
        /// Only the first N instances.
        #[arg(long, value_parser = instance_count)]
        limit: Option<usize>,
        #[command(flatten)]
        solver: SolverArgs,
    },
    /// Every enabled backend and side on seeded generated families: times, iterations, failures,
    /// gradient agreement, thread scaling, a size sweep and a τ sweep.
    Compare {
        /// A run of about 30 seconds (sizes 10, 30 and 100, 8 instances, 1 repeat).
        #[arg(long)]
        quick: bool,
        /// Base seed of the generated instances.
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Decision-variable counts of the size sweep (default 10, 30, 100, 300; each 1 to 3000).
        #[arg(long, value_delimiter = ',', value_parser = problem_size)]
        sizes: Option<Vec<usize>>,
        /// Instances per family and size.
        #[arg(long, default_value_t = 8, value_parser = instance_count)]
        instances: usize,
        /// Timing repeats.
        #[arg(long, default_value_t = 3, value_parser = repeat_count)]
        repeats: usize,
        /// LPGD step τ.
        #[arg(long, default_value_t = 0.1)]
        tau: f64,
        /// Extra problem files (diffcp layout) to include.
        #[arg(long = "problem")]
        problems: Vec<PathBuf>,
        /// JSON report (plots are written beside it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The LPGD paper's experiments: LPGD against gradient descent through the true derivative.
    Paper {
        /// sudoku (learn the rules of 4×4 Sudoku) or markowitz (tune a portfolio policy).
        experiment: String,
        /// A scaled-down run (a minute or less).
        #[arg(long)]
        quick: bool,
        /// Seed of data, initialisation and shuffles.
        #[arg(long, default_value_t = 0)]
        seed: u32,
        /// Learning rates to try for every method, comma-separated (default: the experiment's grid).
        #[arg(long, value_delimiter = ',')]
        lr: Vec<f64>,
        /// LPGD's τ (default: 1e4 for Sudoku, 0.1 for Markowitz).
        #[arg(long)]
        tau: Option<f64>,
        /// LPGD's ρ for Sudoku (default 0.1).
        #[arg(long)]
        rho: Option<f64>,
        /// Epochs (Sudoku, default 4) or iterations (Markowitz, default 100).
        #[arg(long)]
        steps: Option<usize>,
        /// JSON output; SVG plots are written beside it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Train a linear model through a combinatorial layer with every gradient rule (PyEPO protocol).
    Pyepo {
        /// shortest-path (5×5 grid) or knapsack (32 items, 2 capacities of 20).
        #[arg(long)]
        problem: String,
        /// A short run: 200 training and 200 test instances, 5 epochs.
        #[arg(long)]
        quick: bool,
        /// Seed of the model initialisation, the shuffles and the perturbations.
        #[arg(long, default_value_t = 42)]
        seed: u32,
        /// Seed of the data (PyEPO's default 135).
        #[arg(long, default_value_t = 135)]
        data_seed: u32,
        /// Training instances (1 to 10⁶).
        #[arg(long, default_value_t = 1000, value_parser = dataset_size)]
        n: usize,
        /// Test instances (1 to 10⁶).
        #[arg(long, default_value_t = 1000, value_parser = dataset_size)]
        n_test: usize,
        /// Epochs.
        #[arg(long, default_value_t = 20, value_parser = epoch_count)]
        epochs: usize,
        /// Batch size.
        #[arg(long, default_value_t = 32, value_parser = dataset_size)]
        batch: usize,
        /// Adam learning rate.
        #[arg(long, default_value_t = 0.01)]
        lr: f64,
        /// Polynomial degree of the cost model.
        #[arg(long, default_value_t = 4)]
        deg: i32,
        /// Noise half-width.
        #[arg(long, default_value_t = 0.5)]
        noise: f64,
        /// LPGD step τ for the lpgd rules (3 gave centred LPGD 8.0–8.5 % on SP over 4 seeds;
        /// PyEPO's DBB uses λ = 10).
        #[arg(long, default_value_t = 3.0)]
        tau: f64,
        /// Output JSON (the SVG plot is written beside it).
        #[arg(long)]
        out: PathBuf,
    },
    /// Forward and backward on the bundled reference problems, printed as a table.
    Demo {
        /// Folder with the reference problem files (default: the bundled data/diffcp).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Instances per file.
        #[arg(long, default_value_t = 64, value_parser = instance_count)]
        instances: usize,
        #[command(flatten)]
        solver: SolverArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Grad {
            problem,
            tau,
            rho,
            side,
            out,
            limit,
            solver,
        } => grad(&problem, tau, rho, side.into(), &out, limit, &solver),
        Command::Demo {
            data,
            instances,
            solver,
        } => demo(data, instances, &solver),
        Command::Compare {
            quick,
            seed,
            sizes,
            instances,
            repeats,
            tau,
            problems,
            out,
        } => {
            let config = compare::CompareConfig {
                sizes: sizes.unwrap_or_else(|| {
                    if quick {
                        vec![10, 30, 100]
                    } else {
                        vec![10, 30, 100, 300]
                    }
                }),
                instances,
                repeats: if quick { 1 } else { repeats },
                tau,
                seed,
                files: problems,
                fd_max_size: 30,
            };
            Lpgd::new(tau)
                .map_err(|e| e.to_string())
                .and_then(|_| compare::run(&config))
                .and_then(|report| {
                    println!("{}", compare::markdown(&report));
                    match &out {
                        Some(out) => compare::write(&report, out),
                        None => Ok(()),
                    }
                })
        }
        Command::Paper {
            experiment,
            quick,
            seed,
            lr,
            tau,
            rho,
            steps,
            out,
        } => paper_cli::run(
            &paper_cli::PaperOptions {
                experiment,
                quick,
                seed,
                learning_rates: lr,
                tau,
                rho,
                steps,
            },
            &out,
        ),
        Command::Pyepo {
            problem,
            quick,
            seed,
            data_seed,
            n,
            n_test,
            epochs,
            batch,
            lr,
            deg,
            noise,
            tau,
            out,
        } => {
            let (n, n_test, epochs) = if quick {
                (200, 200, 5)
            } else {
                (n, n_test, epochs)
            };
            let setting = pyepo::Setting {
                problem,
                n,
                n_test,
                deg,
                noise,
                tau,
                data_seed,
                train: lpgd_combinatorial::train::TrainConfig {
                    epochs,
                    batch,
                    learning_rate: lr,
                    seed,
                },
            };
            pyepo::run(&setting, &out)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn config(tau: f64, rho: f64, side: Side) -> Result<Lpgd, String> {
    Ok(Lpgd::new(tau)
        .and_then(|l| l.with_rho(rho))
        .map_err(|e| e.to_string())?
        .with_side(side))
}

/// Medians and shares over a run.
struct Summary {
    ok: usize,
    failed: usize,
    forward_ms: f64,
    backward_ms: f64,
    solver_share: f64,
}

fn summarize(reports: &[InstanceReport]) -> Summary {
    let ok: Vec<&InstanceReport> = reports.iter().filter(|r| r.dc.is_some()).collect();
    let total: f64 = ok.iter().map(|r| r.forward_s + r.backward_s).sum();
    let solver: f64 = ok.iter().map(|r| r.solver_s).sum();
    Summary {
        ok: ok.len(),
        failed: reports.len() - ok.len(),
        forward_ms: 1e3 * median(ok.iter().map(|r| r.forward_s).collect()),
        backward_ms: 1e3 * median(ok.iter().map(|r| r.backward_s).collect()),
        solver_share: if total > 0.0 {
            solver / total
        } else {
            f64::NAN
        },
    }
}

fn grad(
    path: &std::path::Path,
    tau: f64,
    rho: f64,
    side: Side,
    out: &PathBuf,
    limit: Option<usize>,
    solver: &SolverArgs,
) -> Result<(), String> {
    let lpgd = config(tau, rho, side)?;
    let (backend, options) = solver.backend()?;
    if !backend.supports(lpgd_core::Capability::Duals) {
        return Err(format!(
            "{backend} gives no duals, which LPGD's gradients with respect to b and A need; \
             use a backend with duals (clarabel, osqp, highs, good_lp:highs, good_lp:clarabel)"
        ));
    }
    let file = read_problem(path, solver.max_file_mb)?;
    let pool = solver.pool()?;
    let (reports, wall_s) =
        pool.install(|| run_file(&lpgd, &file, limit, || backend.oracle(options)));
    let s = summarize(&reports);
    let doc = json!({
        "config": {
            "problem": path.display().to_string(), "family": file.family(), "tau": tau, "rho": rho,
            "side": format!("{side:?}").to_lowercase(), "backend": backend.to_string(),
            "threads": pool.current_num_threads(), "cold": solver.cold, "high_accuracy": solver.high_accuracy,
        },
        "summary": {
            "instances": reports.len(), "failed": s.failed, "wall_s": wall_s,
            "forward_ms_median": s.forward_ms, "backward_ms_median": s.backward_ms,
            "solver_time_share": s.solver_share,
        },
        "instances": reports,
    });
    let text = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    if s.ok == 0 {
        println!(
            "{} instances, all failed, in {:.3} s on {} thread(s) -> {}",
            reports.len(),
            wall_s,
            pool.current_num_threads(),
            out.display()
        );
        return Err(format!("every instance of {} failed", path.display()));
    }
    println!(
        "{} instances ({} failed) in {:.3} s on {} thread(s): forward {:.3} ms, backward {:.3} ms (median), {:.1}% in the solver -> {}",
        reports.len(),
        s.failed,
        wall_s,
        pool.current_num_threads(),
        s.forward_ms,
        s.backward_ms,
        100.0 * s.solver_share,
        out.display()
    );
    Ok(())
}

fn demo(data: Option<PathBuf>, instances: usize, solver: &SolverArgs) -> Result<(), String> {
    let dir =
        data.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/diffcp"));
    let pool = solver.pool()?;
    let (backend, options) = solver.backend()?;
    println!(
        "LPGD on the diffcp reference problems ({backend}, {} thread(s), first {instances} instances per file)\n",
        pool.current_num_threads()
    );
    println!(
        "| problem | n | m | cones | side | tau | rho | ok | failed | forward ms | backward ms | bwd/fwd | in solver | mean ‖dc‖ | mean ‖db‖ |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for family in ["lp_box", "qp_box", "qp_socp", "portfolio"] {
        for size in ["small", "medium"] {
            let path = dir.join(format!("{family}_{size}.json"));
            let file = read_problem(&path, solver.max_file_mb)?;
            let first = file.problem(0).ok_or("empty problem file")?;
            let cones = describe_cones(first.cones());
            for (side, tau, rho) in [(Side::Right, 0.1, 0.1), (Side::Centered, 0.1, 0.1)] {
                let lpgd = config(tau, rho, side)?;
                let (reports, _) = pool.install(|| {
                    run_file(&lpgd, &file, Some(instances), || backend.oracle(options))
                });
                let s = summarize(&reports);
                let mean_norm = |f: fn(&InstanceReport) -> &Option<Vec<f64>>| {
                    let v: Vec<f64> = reports
                        .iter()
                        .filter_map(|r| {
                            f(r).as_ref()
                                .map(|v| v.iter().map(|x| x * x).sum::<f64>().sqrt())
                        })
                        .collect();
                    v.iter().sum::<f64>() / v.len().max(1) as f64
                };
                println!(
                    "| {family}_{size} | {} | {} | {cones} | {} | {tau} | {rho} | {} | {} | {:.3} | {:.3} | {:.2} | {:.0}% | {:.3} | {:.3} |",
                    first.n(),
                    first.m(),
                    format!("{side:?}").to_lowercase(),
                    s.ok,
                    s.failed,
                    s.forward_ms,
                    s.backward_ms,
                    s.backward_ms / s.forward_ms,
                    100.0 * s.solver_share,
                    mean_norm(|r| &r.dc),
                    mean_norm(|r| &r.db),
                );
            }
        }
    }
    println!("\nTimes are medians per instance; 'in solver' is the share of forward+backward time spent in the solver.");
    Ok(())
}

fn describe_cones(cones: &[lpgd_core::Cone]) -> String {
    use lpgd_core::Cone;
    let mut parts = Vec::new();
    let (mut z, mut l, mut q) = (0, 0, Vec::new());
    let (mut ep, mut p) = (0, 0);
    for c in cones {
        match *c {
            Cone::Zero(k) => z += k,
            Cone::Nonnegative(k) => l += k,
            Cone::SecondOrder(k) => q.push(k),
            Cone::Exponential => ep += 1,
            Cone::Power(_) => p += 1,
        }
    }
    if z > 0 {
        parts.push(format!("z{z}"));
    }
    if l > 0 {
        parts.push(format!("l{l}"));
    }
    if !q.is_empty() {
        parts.push(format!("q{q:?}"));
    }
    if ep > 0 {
        parts.push(format!("ep{ep}"));
    }
    if p > 0 {
        parts.push(format!("p{p}"));
    }
    parts.join(" ")
}
