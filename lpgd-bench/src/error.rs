//! What can go wrong in a command: typed, so callers can match, and printed as one line.

use lpgd_core::{Capability, InvalidInput, LpgdError, ProblemFileError, SolveError};
use lpgd_solvers::UnknownBackend;
use std::path::PathBuf;
use thiserror::Error;

/// An error of an `lpgd-bench` command or experiment.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Malformed data or configuration (τ, ρ, sizes, …).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// A solve failed where the command needs it to succeed.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// An LPGD pass failed where the command needs it to succeed.
    #[error(transparent)]
    Lpgd(#[from] LpgdError),
    /// An LPGD pass failed on one item of a batch (a puzzle, a month of a rollout, an instance).
    #[error("{what} {index}: {source}")]
    Item {
        /// What the items are.
        what: &'static str,
        /// Which one failed.
        index: usize,
        /// How.
        #[source]
        source: LpgdError,
    },
    /// Training with one gradient rule failed.
    #[error("{rule}: {source}")]
    Training {
        /// The rule.
        rule: &'static str,
        /// How it failed.
        #[source]
        source: SolveError,
    },
    /// A backend name this build does not know.
    #[error(transparent)]
    Backend(#[from] UnknownBackend),
    /// The backend lacks what the command needs.
    #[error("{backend} lacks {what}, which {purpose}")]
    Unsupported {
        /// The backend.
        backend: String,
        /// What it lacks.
        what: Capability,
        /// What needs it.
        purpose: &'static str,
    },
    /// A problem file could not be read.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ProblemFileError,
    },
    /// An output could not be written (or an input folder read).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A thread pool could not be built.
    #[error(transparent)]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// Every instance of a problem file failed.
    #[error("every instance of {} failed", path.display())]
    AllFailed {
        /// The file.
        path: PathBuf,
    },
}

/// Writes `text` to `path`, creating its folder; an error names the file.
pub fn write_file(path: &std::path::Path, text: impl AsRef<[u8]>) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}
