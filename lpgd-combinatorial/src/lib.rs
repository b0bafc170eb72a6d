//! # lpgd-combinatorial — learning through combinatorial solvers
//!
//! Oracles over finite sets (`argmin ⟨w, y⟩`, always minimising; a maximiser is the oracle of
//! `−w`), gradient rules besides LPGD, and PyEPO-compatible synthetic data and metric. LPGD itself
//! comes from `lpgd-core` (its right side is blackbox backpropagation with λ = τ).
//!
//! | oracle | set | method |
//! |---|---|---|
//! | [`GridShortestPath`] | paths on a grid DAG with east/south arcs (PyEPO) | dynamic program, any cost sign |
//! | [`warcraft::VertexGridShortestPath`] | paths on an 8-neighbour grid, vertex weights | Dijkstra (weights ≥ 0) |
//! | [`Knapsack`] | 0/1 selections under one or several capacities | branch and bound |
//! | [`assignment::Assignment`] | assignments of rows to distinct columns | Hungarian algorithm |
//! | [`ranking::Ranking`], [`ranking::TopK`] | permutations of ranks; k-subsets | sorting |
//! | [`tsp::Tsp`] | tours through ≤ 16 nodes | Held–Karp |
//! | `HighsMilpOracle` (feature `highs`) | any 0/1 or mixed-integer program you write | HiGHS branch and cut |
//!
//! **Nothing here panics on user input.** Constructors check sizes (fallible, overflow-checked),
//! the slice entry points (`path`, `assign`, `tour`, `best`) validate lengths and finiteness, costs
//! near `f64::MAX` are rescaled by a power of two (exact, so the argmin is unchanged) before they
//! are summed, and the knapsack search stops at a node limit with
//! [`SolveError::NodeLimit`](lpgd_core::SolveError::NodeLimit).
//!
//! Every oracle is deterministic (fixed tie-breaking) and tested against brute force. Data:
//! [`data`] (PyEPO's shortest-path and knapsack generators, bit for bit) and [`terrain`]
//! (Warcraft-like RGB terrain maps with per-cell costs and optimal paths).
//!
//! ```
//! use lpgd_combinatorial::GridShortestPath;
//! use lpgd_core::{CombinatorialProblem, Lpgd, Side};
//! use ndarray::Array1;
//!
//! let mut sp = GridShortestPath::new(5, 5).unwrap();
//! let costs = CombinatorialProblem::new(Array1::from_shape_fn(40, |k| 1.0 + (k % 7) as f64))?;
//! let lpgd = Lpgd::new(10.0)?.with_side(Side::Right); // DBB with λ = 10
//! let path = lpgd.forward(&mut sp, &costs)?;
//! let g = lpgd.backward(&mut sp, &costs, &path, &Array1::ones(40))?;
//! assert_eq!(g.gradient.len(), 40);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
// docs.rs builds with every feature and marks items that need one.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Implements `Oracle<CombinatorialProblem>` for an oracle over a finite set from its body:
/// `finite_set_oracle!(Type, |oracle, problem| expr)`, where `oracle` is `&mut Type`, `problem`
/// the validated `&CombinatorialProblem` and `expr` gives `Result<Array1<f64>, SolveError>`
/// (the warm hint is of no use to an exact search).
macro_rules! finite_set_oracle {
    ($t:ty, |$oracle:ident, $problem:ident| $body:expr) => {
        impl lpgd_core::Oracle<lpgd_core::CombinatorialProblem> for $t {
            fn solve(
                &mut self,
                $problem: &lpgd_core::CombinatorialProblem,
                _warm: Option<&ndarray::Array1<f64>>,
            ) -> Result<ndarray::Array1<f64>, lpgd_core::SolveError> {
                let $oracle = self;
                $body
            }
        }
    };
}

pub mod assignment;
mod costs;
pub mod data;
pub mod knapsack;
pub mod numpy_rng;
pub mod pool;
pub mod ranking;
pub mod rules;
pub mod shortest_path;
pub mod terrain;
pub mod train;
pub mod tsp;
pub mod warcraft;

#[cfg(feature = "highs")]
pub use lpgd_solvers::HighsMilpOracle;

pub use knapsack::Knapsack;
pub use numpy_rng::RandomState;
pub use shortest_path::GridShortestPath;
