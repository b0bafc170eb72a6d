//! Helpers shared by the `lpgd-bench` command line and the examples of the other crates: SVG line
//! plots and a text progress bar, both without dependencies.

pub mod paper;
pub mod plot;
pub mod progress;
pub mod stats;
