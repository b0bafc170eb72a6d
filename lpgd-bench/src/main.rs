//! `lpgd-bench`: gradients, benchmarks and experiments for lpgd from the command line. Each
//! subcommand's options and work live in the library (`lpgd_bench::{grad, compare, pyepo, paper}`);
//! this file parses and prints.

use clap::{Parser, Subcommand};
use lpgd_bench::compare::{self, CompareArgs};
use lpgd_bench::error::BenchError;
use lpgd_bench::grad::{self, DemoArgs, GradArgs};
use lpgd_bench::paper::cli::{self as paper, PaperArgs};
use lpgd_bench::pyepo::{self, PyepoArgs};
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

#[derive(Subcommand)]
enum Command {
    /// Forward and backward on every instance of a problem file; writes gradients and timings.
    Grad(GradArgs),
    /// Every enabled backend and side on seeded generated families: times, iterations, failures,
    /// gradient agreement, thread scaling, a size sweep and a τ sweep.
    Compare(CompareArgs),
    /// The LPGD paper's experiments: LPGD against gradient descent through the true derivative.
    Paper(PaperArgs),
    /// Train a linear model through a combinatorial layer with every gradient rule (PyEPO protocol).
    Pyepo(PyepoArgs),
    /// Forward and backward on the bundled reference problems, printed as a table.
    Demo(DemoArgs),
}

fn compare(args: &CompareArgs) -> Result<(), BenchError> {
    let report = compare::run(args)?;
    println!("{}", compare::markdown(&report));
    match &args.out {
        Some(out) => compare::write(&report, out),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Grad(args) => grad::grad(&args),
        Command::Demo(args) => grad::demo(&args),
        Command::Compare(args) => compare(&args),
        Command::Paper(args) => paper::run(&args),
        Command::Pyepo(args) => pyepo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
