//! # lpgd-combinatorial — learning through combinatorial solvers
//!
//! Oracles over finite sets (`argmin ⟨w, y⟩`, always minimising), PyEPO-compatible synthetic data
//! and its metric, to be differentiated with LPGD from `lpgd-core` (whose right side is blackbox
//! backpropagation).
#![deny(missing_docs)]

pub mod assignment;
pub mod data;
pub mod knapsack;
pub mod numpy_rng;
pub mod ranking;
pub mod rules;
pub mod shortest_path;

pub use knapsack::Knapsack;
pub use numpy_rng::RandomState;
pub use shortest_path::GridShortestPath;
