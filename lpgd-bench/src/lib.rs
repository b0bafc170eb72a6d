//! The `lpgd-bench` command line as a library: one module per subcommand, whose clap `Args` struct
//! is its configuration ([`grad`] for `grad` and `demo`, [`compare`], [`pyepo`], [`paper::cli`]),
//! typed errors ([`error::BenchError`]), the paper's experiments ([`paper`]), and helpers shared with
//! the examples of the other crates (SVG line plots, a progress bar, medians). The binary only
//! parses and prints.

pub mod args;
pub mod compare;
pub mod error;
pub mod grad;
pub mod paper;
pub mod plot;
pub mod progress;
pub mod pyepo;
pub mod run;
pub mod stats;
mod timed;
