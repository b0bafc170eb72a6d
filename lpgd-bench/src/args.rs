//! Options shared by several commands, and the bounds on options whose work grows with them.

use crate::error::BenchError;
use lpgd_core::{ProblemFile, Side};
use lpgd_solvers::{Backend, BackendOptions, KktSolver};
use std::path::Path;

/// The most worker threads a command accepts.
pub const MAX_THREADS: usize = 256;

/// A whole number in `lo..=hi`, for options whose work or memory grows with them.
fn bounded(s: &str, lo: usize, hi: usize) -> Result<usize, String> {
    let v: usize = s.parse().map_err(|e| format!("{s}: {e}"))?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside {lo}..={hi}"))
    }
}

/// Worker threads: 1 to [`MAX_THREADS`].
pub fn thread_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_THREADS)
}

/// Instances: 1 to 100 000.
pub fn instance_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 100_000)
}

/// Timing repeats: 1 to 1000.
pub fn repeat_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 1_000)
}

/// Decision variables of a generated problem: 1 to 3000.
pub fn problem_size(s: &str) -> Result<usize, String> {
    bounded(s, 1, 3_000)
}

/// Instances of a data set: 1 to 10⁶.
pub fn dataset_size(s: &str) -> Result<usize, String> {
    bounded(s, 1, 1_000_000)
}

/// Epochs or iterations: 1 to 100 000.
pub fn epoch_count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 100_000)
}

/// A file size bound in MiB: 1 to 2²⁰.
pub fn file_megabytes(s: &str) -> Result<u64, String> {
    bounded(s, 1, 1 << 20).map(|v| v as u64)
}

/// Reads a problem file of at most `max_mb` MiB.
pub fn read_problem(path: &Path, max_mb: u64) -> Result<ProblemFile, BenchError> {
    ProblemFile::read_with_limit(path, max_mb << 20).map_err(|source| BenchError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// A side by its name (`right`, `left`, `centered`/`centred`: [`Side`]'s `FromStr`).
pub fn side(v: &str) -> Result<Side, String> {
    v.parse()
        .map_err(|e: lpgd_core::InvalidInput| e.to_string())
}

/// The backend and how it runs.
#[derive(Debug, Clone, clap::Args)]
pub struct SolverArgs {
    /// Backend: clarabel, osqp, highs, good_lp or good_lp:SOLVER (those built into this binary).
    #[arg(long, default_value = "clarabel")]
    pub backend: Backend,
    /// Build a new solver for every solve instead of updating a kept one (the cold path).
    #[arg(long)]
    pub cold: bool,
    /// Tighter solver tolerances (1e-11) for small τ.
    #[arg(long)]
    pub high_accuracy: bool,
    /// Clarabel's KKT factorization: auto, qdldl or (feature `clarabel-faer`) faer.
    #[arg(long, default_value = "auto")]
    pub kkt: KktSolver,
    /// Answer re-solves on the forward solution's face when certified (`FaceOracle`).
    #[arg(long)]
    pub face: bool,
    /// With `--face`: second-order cones on their boundary too, by Newton's method (pays for
    /// SOCPs at small τ).
    #[arg(long, requires = "face")]
    pub boundary_cones: bool,
    /// Worker threads (default: all cores; at most 256).
    #[arg(long, value_parser = thread_count)]
    pub threads: Option<usize>,
    /// The largest problem file read, in MiB.
    #[arg(long, default_value_t = 256, value_parser = file_megabytes)]
    pub max_file_mb: u64,
}

impl SolverArgs {
    /// The backend's options.
    pub fn options(&self) -> BackendOptions {
        BackendOptions {
            cold: self.cold,
            high_accuracy: self.high_accuracy,
            kkt: self.kkt,
            face: self.face,
            boundary_cones: self.boundary_cones,
            ..BackendOptions::default()
        }
    }

    /// A pool of the requested worker threads.
    pub fn pool(&self) -> Result<rayon::ThreadPool, BenchError> {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = self.threads {
            b = b.num_threads(n);
        }
        Ok(b.build()?)
    }
}
