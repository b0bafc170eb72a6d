//! # lpgd-candle — optimization layers as candle operations
//!
//! The backward pass of each layer is LPGD's perturbed re-solve (or another rule), run in parallel
//! over the batch with one oracle per worker thread built from a factory, so layers hold no solver
//! handle and are `Send + Sync`. A separate crate, so that `lpgd-core` never depends on candle.
//!
//! - [`CombinatorialLayer`]: costs `[B, d]` in, solutions `[B, d]` out; backward by LPGD (any side;
//!   right = blackbox backpropagation), NID or DPO (whose forward is the mean perturbed solution).
//! - [`pfyl_loss`] and [`spo_plus_loss`]: the perturbed Fenchel–Young and SPO+ losses as tensors
//!   that carry their (sub)gradients.
//! - [`ConicLayer`]: packed problem data `[B, n + m + nnz(A) + nnz(P)]` (c, b, A's values, P's
//!   values on a fixed pattern) in, `[B, n + 2m]` = (x, y, s) out; backward by [`Lpgd`].
//!
//! - [`terrain`]: a small CNN trained through the vertex shortest-path layer on Warcraft-like
//!   terrain maps; [`pyepo`]: PyEPO's linear model through the SPO+ op.
//!
//! **Nothing here panics on user input**: malformed tensors, non-finite values, overflowing
//! perturbations and invalid rule parameters are candle errors naming the batch item. In f32, the
//! backward pass solves the forward problem again in f64 rather than differencing the rounded
//! forward output.
//!
//! Tensors may be f32 or f64 (computation is in f64) and must be 2-D; a wrong shape or a
//! non-finite value is an error, not a panic.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use lpgd_candle::{CombinatorialLayer, LayerRule};
//! use lpgd_combinatorial::ranking::TopK;
//! use lpgd_core::{Lpgd, Side};
//!
//! let layer = CombinatorialLayer::new(|| TopK::new(3, 1).unwrap(), 3, LayerRule::Lpgd(Lpgd::new(1.0)?.with_side(Side::Right)));
//! let costs = candle_core::Var::new(&[[0.1f64, 0.5, 0.3]], &Device::Cpu)?;
//! let y = layer.forward(costs.as_tensor())?; // [[1, 0, 0]]
//! let loss = (y * Tensor::new(&[[2.0f64, 0.0, 0.0]], &Device::Cpu)?)?.sum_all()?;
//! let grads = loss.backward()?;
//! let g = grads.get(&costs).unwrap().to_vec2::<f64>()?;
//! assert_eq!(g, vec![vec![-1.0, 0.0, 1.0]]); // make item 0 dearer, item 2 cheaper
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
// docs.rs builds with every feature and marks items that need one.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod combinatorial;
mod conic;
mod losses;
pub mod pyepo;
mod support;
pub mod terrain;

pub use combinatorial::{CombinatorialLayer, LayerRule};
pub use conic::ConicLayer;
pub use losses::{pfyl_loss, spo_plus_loss};
pub use support::LayerTime;

/// The candle version these layers are built against (tensors passed in must come from it).
pub use candle_core;
