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

pub mod pyepo;
pub mod terrain;

/// The candle version these layers are built against (tensors passed in must come from it).
pub use candle_core;

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Error, Layout, Result, Shape, Tensor,
};
use lpgd_combinatorial::rules::{dpo_backward, pfyl, spo_plus, Perturbation};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{s, Array1, ArrayView2};
use lpgd_core::{
    CombinatorialProblem, ConicCotangent, ConicGradient, ConicProblem, ConicSolution,
    ConicStructure, ConicValues, Lpgd, LpgdError, Oracle, Problem, WarmStarts,
};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn err(msg: impl std::fmt::Display) -> Error {
    Error::Msg(msg.to_string())
}

/// A 2-D input as f64 rows, checked finite.
fn rows_of(storage: &CpuStorage, layout: &Layout, what: &str) -> Result<(Vec<f64>, usize, usize)> {
    let dims = layout.dims();
    if dims.len() != 2 {
        return Err(err(format!(
            "{what}: expected a 2-D tensor [batch, dim], got shape {dims:?}"
        )));
    }
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| err(format!("{what}: the tensor must be contiguous")))?;
    let data: Vec<f64> = match storage {
        CpuStorage::F64(v) => v[start..end].to_vec(),
        CpuStorage::F32(v) => v[start..end].iter().map(|&x| f64::from(x)).collect(),
        other => {
            return Err(err(format!(
                "{what}: dtype {:?} is not supported (f32 or f64)",
                other.dtype()
            )))
        }
    };
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(err(format!(
            "{what}: entry {k} is not finite ({})",
            data[k]
        )));
    }
    Ok((data, dims[0], dims[1]))
}

fn storage_like(data: Vec<f64>, like: DType) -> CpuStorage {
    match like {
        DType::F32 => CpuStorage::F32(data.into_iter().map(|v| v as f32).collect()),
        _ => CpuStorage::F64(data),
    }
}

/// A tensor's values as f64 rows.
fn tensor_rows(t: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
    let (b, d) = t.dims2()?;
    Ok((
        t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
        b,
        d,
    ))
}

fn tensor_from(data: Vec<f64>, b: usize, d: usize, like: &Tensor) -> Result<Tensor> {
    Tensor::from_vec(data, (b, d), like.device())?.to_dtype(like.dtype())
}

/// Per-row (loss, gradient) pairs times the upstream gradient of each row's loss, flattened.
fn chain_rows(grads: &[(f64, Array1<f64>)], upstream: &[f64]) -> Vec<f64> {
    grads
        .iter()
        .zip(upstream)
        .flat_map(|((_, gr), u)| gr.iter().map(move |v| v * u))
        .collect()
}

fn lpgd_msg(item: usize, e: LpgdError) -> Error {
    err(format!("batch item {item}: {e}"))
}

/// Every problem's forward solution, in f64; the first failure names its batch item.
fn solve_all<P, O, F>(lpgd: &Lpgd, make_oracle: &F, problems: &[P]) -> Result<Vec<P::Solution>>
where
    P: lpgd_core::Problem + Sync,
    P::Solution: Send,
    O: Oracle<P>,
    F: Fn() -> O + Send + Sync,
{
    lpgd.forward_batch(make_oracle, problems)
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| lpgd_msg(i, e)))
        .collect()
}

/// How a [`CombinatorialLayer`] computes its backward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerRule {
    /// LPGD with the given configuration (right side = blackbox backpropagation).
    Lpgd(Lpgd),
    /// Negative identity: the cost gradient is `−∂ℓ/∂y`.
    Nid,
    /// The perturbed optimizer: forward is the mean of `y(θ + σZ_m)`, backward DPO's estimator
    /// with the mean-reward baseline; the noise is seeded per batch row, so forward and backward see
    /// the same samples.
    Dpo {
        /// Samples and scale.
        perturbation: Perturbation,
        /// Seed; row `i` uses `seed + i`.
        seed: u32,
    },
}

struct CombinatorialInner<F> {
    make_oracle: F,
    dim: usize,
    rule: LayerRule,
    clock: Clock,
}

/// Wall-clock time a layer spent in its forward and backward passes (solver calls included),
/// summed over all calls since it was built; shared by clones.
#[derive(Debug, Default)]
struct Clock {
    forward_ns: AtomicU64,
    backward_ns: AtomicU64,
}

impl Clock {
    fn add(counter: &AtomicU64, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, AtomicOrdering::Relaxed);
    }

    fn seconds(&self) -> LayerTime {
        let s = |c: &AtomicU64| c.load(AtomicOrdering::Relaxed) as f64 * 1e-9;
        LayerTime {
            forward_s: s(&self.forward_ns),
            backward_s: s(&self.backward_ns),
        }
    }
}

/// Seconds a layer spent in its forward passes (the solves) and backward passes (the perturbed
/// re-solves or the rule's estimator), summed since the layer was built: what a training loop
/// needs to split its time between the solver and the network.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LayerTime {
    /// Seconds in forward passes.
    pub forward_s: f64,
    /// Seconds in backward passes.
    pub backward_s: f64,
}

impl LayerTime {
    /// Forward plus backward seconds.
    pub fn total_s(&self) -> f64 {
        self.forward_s + self.backward_s
    }
}

/// A combinatorial layer `y = argmin_{y ∈ X} ⟨w, y⟩` over the rows of a cost tensor.
pub struct CombinatorialLayer<F> {
    inner: Arc<CombinatorialInner<F>>,
}

impl<F> Clone for CombinatorialLayer<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F, O> CombinatorialLayer<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    /// A layer over cost vectors of length `dim`, with oracles built by `make_oracle`.
    pub fn new(make_oracle: F, dim: usize, rule: LayerRule) -> Self {
        Self {
            inner: Arc::new(CombinatorialInner {
                make_oracle,
                dim,
                rule,
                clock: Clock::default(),
            }),
        }
    }

    /// Time spent in this layer's forward and backward passes so far (all clones together).
    pub fn time(&self) -> LayerTime {
        self.inner.clock.seconds()
    }

    /// Solves every row of `costs` (`[B, dim]`).
    pub fn forward(&self, costs: &Tensor) -> Result<Tensor> {
        costs.apply_op1(self.clone())
    }

    fn perturbed_mean(
        &self,
        w: &[f64],
        row: usize,
        p: Perturbation,
        seed: u32,
    ) -> Result<(Array1<f64>, lpgd_combinatorial::rules::PerturbedSolutions)> {
        let mut oracle = (self.inner.make_oracle)();
        let theta = Array1::from(w.to_vec());
        let samples = p
            .solve(
                &mut oracle,
                &theta,
                &mut RandomState::new(seed.wrapping_add(row as u32)),
            )
            .map_err(|e| err(format!("batch item {row}: {e}")))?;
        let mean = samples
            .mean()
            .map_err(|e| err(format!("batch item {row}: {e}")))?;
        Ok((mean, samples))
    }
}

impl<F, O> CustomOp1 for CombinatorialLayer<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    fn name(&self) -> &'static str {
        "lpgd-combinatorial-layer"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let started = Instant::now();
        let (w, b, d) = rows_of(storage, layout, "costs")?;
        if d != self.inner.dim {
            return Err(err(format!(
                "costs: expected {} columns, got {d}",
                self.inner.dim
            )));
        }
        let rows: Vec<Array1<f64>> = match self.inner.rule {
            LayerRule::Dpo { perturbation, seed } => (0..b)
                .into_par_iter()
                .map(|i| {
                    self.perturbed_mean(&w[i * d..(i + 1) * d], i, perturbation, seed)
                        .map(|r| r.0)
                })
                .collect::<Result<_>>()?,
            _ => {
                let problems: Vec<CombinatorialProblem> = (0..b)
                    .map(|i| {
                        CombinatorialProblem::new(Array1::from(w[i * d..(i + 1) * d].to_vec()))
                            .map_err(err)
                    })
                    .collect::<Result<_>>()?;
                let lpgd = match self.inner.rule {
                    LayerRule::Lpgd(l) => l,
                    _ => Lpgd::new(1.0).expect("valid"),
                };
                solve_all(&lpgd, &self.inner.make_oracle, &problems)?
            }
        };
        let mut out = Vec::with_capacity(b * d);
        for (i, y) in rows.iter().enumerate() {
            if y.len() != d {
                return Err(err(format!(
                    "batch item {i}: the oracle returned {} entries, expected {d}",
                    y.len()
                )));
            }
            out.extend(y.iter());
        }
        Clock::add(&self.inner.clock.forward_ns, started);
        Ok((storage_like(out, storage.dtype()), Shape::from((b, d))))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let started = Instant::now();
        let (w, b, d) = tensor_rows(arg)?;
        let (y, _, _) = tensor_rows(res)?;
        let (g, _, _) = tensor_rows(grad_res)?;
        let row = |v: &[f64], i: usize| Array1::from(v[i * d..(i + 1) * d].to_vec());
        let grads: Vec<Array1<f64>> = match self.inner.rule {
            LayerRule::Nid => (0..b).map(|i| -row(&g, i)).collect(),
            LayerRule::Dpo { perturbation, seed } => (0..b)
                .into_par_iter()
                .map(|i| {
                    let (_, samples) =
                        self.perturbed_mean(&w[i * d..(i + 1) * d], i, perturbation, seed)?;
                    dpo_backward(&samples, &row(&g, i), perturbation.sigma, true)
                        .map_err(|e| err(format!("batch item {i}: {e}")))
                })
                .collect::<Result<_>>()?,
            LayerRule::Lpgd(lpgd) => {
                let problems: Vec<CombinatorialProblem> = (0..b)
                    .map(|i| CombinatorialProblem::new(row(&w, i)).map_err(err))
                    .collect::<Result<_>>()?;
                let solutions: Vec<Array1<f64>> = if res.dtype() == DType::F64 {
                    (0..b).map(|i| row(&y, i)).collect()
                } else {
                    // Rounded to the tensor's precision: solve again in f64 (see ConicLayer).
                    solve_all(&lpgd, &self.inner.make_oracle, &problems)?
                };
                let cotangents: Vec<Array1<f64>> = (0..b).map(|i| row(&g, i)).collect();
                lpgd.backward_batch(&self.inner.make_oracle, &problems, &solutions, &cotangents)
                    .map_err(err)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| r.map(|bw| bw.gradient).map_err(|e| lpgd_msg(i, e)))
                    .collect::<Result<_>>()?
            }
        };
        let flat: Vec<f64> = grads.iter().flat_map(|v| v.iter().copied()).collect();
        let out = tensor_from(flat, b, d, arg)?;
        Clock::add(&self.inner.clock.backward_ns, started);
        Ok(Some(out))
    }
}

struct PfylOp<F> {
    make_oracle: Arc<F>,
    perturbation: Perturbation,
    seed: u32,
}

impl<F, O> CustomOp2 for PfylOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    fn name(&self) -> &'static str {
        "lpgd-pfyl-loss"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (theta, b, d) = rows_of(s1, l1, "predicted costs")?;
        let (y_star, b2, d2) = rows_of(s2, l2, "true solutions")?;
        if (b, d) != (b2, d2) {
            return Err(err(format!(
                "predicted costs are [{b}, {d}] but true solutions [{b2}, {d2}]"
            )));
        }
        let losses = self
            .per_row(&theta, &y_star, b, d)?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        Ok((storage_like(losses, s1.dtype()), Shape::from((b, 1))))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (theta, b, d) = tensor_rows(arg1)?;
        let (y_star, _, _) = tensor_rows(arg2)?;
        let (g, _, _) = tensor_rows(grad_res)?;
        let grads = self.per_row(&theta, &y_star, b, d)?;
        let flat = chain_rows(&grads, &g);
        Ok((Some(tensor_from(flat, b, d, arg1)?), None))
    }
}

impl<F, O> PfylOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    fn per_row(
        &self,
        theta: &[f64],
        y_star: &[f64],
        b: usize,
        d: usize,
    ) -> Result<Vec<(f64, Array1<f64>)>> {
        (0..b)
            .into_par_iter()
            .map(|i| {
                let t = Array1::from(theta[i * d..(i + 1) * d].to_vec());
                let ys = Array1::from(y_star[i * d..(i + 1) * d].to_vec());
                let mut oracle = (self.make_oracle)();
                let samples = self
                    .perturbation
                    .solve(
                        &mut oracle,
                        &t,
                        &mut RandomState::new(self.seed.wrapping_add(i as u32)),
                    )
                    .map_err(|e| err(format!("batch item {i}: {e}")))?;
                pfyl(&samples, &t, self.perturbation.sigma, &ys)
                    .map_err(|e| err(format!("batch item {i}: {e}")))
            })
            .collect()
    }
}

/// The perturbed Fenchel–Young loss per row (`[B, 1]`) of predicted costs `θ` against true
/// solutions `y*`; its gradient with respect to `θ` is `y* − ȳ` (seeded samples per row).
pub fn pfyl_loss<F, O>(
    make_oracle: F,
    theta: &Tensor,
    y_star: &Tensor,
    perturbation: Perturbation,
    seed: u32,
) -> Result<Tensor>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    theta.apply_op2(
        y_star,
        PfylOp {
            make_oracle: Arc::new(make_oracle),
            perturbation,
            seed,
        },
    )
}

struct SpoPlusOp<F> {
    make_oracle: Arc<F>,
}

impl<F, O> SpoPlusOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    fn per_row(
        &self,
        c_hat: &[f64],
        c: &[f64],
        y_star: &[f64],
        b: usize,
        d: usize,
    ) -> Result<Vec<(f64, Array1<f64>)>> {
        (0..b)
            .into_par_iter()
            .map(|i| {
                let slice = |v: &[f64]| Array1::from(v[i * d..(i + 1) * d].to_vec());
                let mut oracle = (self.make_oracle)();
                spo_plus(&mut oracle, &slice(c_hat), &slice(c), &slice(y_star))
                    .map_err(|e| err(format!("batch item {i}: {e}")))
            })
            .collect()
    }
}

impl<F, O> CustomOp3 for SpoPlusOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    fn name(&self) -> &'static str {
        "lpgd-spo-plus-loss"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c_hat, b, d) = rows_of(s1, l1, "predicted costs")?;
        let (c, b2, d2) = rows_of(s2, l2, "true costs")?;
        let (y_star, b3, d3) = rows_of(s3, l3, "true solutions")?;
        if (b, d) != (b2, d2) || (b, d) != (b3, d3) {
            return Err(err(
                "predicted costs, true costs and true solutions must have the same shape",
            ));
        }
        let losses = self
            .per_row(&c_hat, &c, &y_star, b, d)?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        Ok((storage_like(losses, s1.dtype()), Shape::from((b, 1))))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        arg3: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (c_hat, b, d) = tensor_rows(arg1)?;
        let (c, _, _) = tensor_rows(arg2)?;
        let (y_star, _, _) = tensor_rows(arg3)?;
        let (g, _, _) = tensor_rows(grad_res)?;
        let grads = self.per_row(&c_hat, &c, &y_star, b, d)?;
        let flat = chain_rows(&grads, &g);
        Ok((Some(tensor_from(flat, b, d, arg1)?), None, None))
    }
}

/// SPO+ per row (`[B, 1]`) of predicted costs `ĉ` against true costs `c` with true solutions
/// `y*`; its subgradient with respect to `ĉ` is `2(y* − y(2ĉ − c))`.
pub fn spo_plus_loss<F, O>(
    make_oracle: F,
    c_hat: &Tensor,
    c: &Tensor,
    y_star: &Tensor,
) -> Result<Tensor>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    c_hat.apply_op3(
        c,
        y_star,
        SpoPlusOp {
            make_oracle: Arc::new(make_oracle),
        },
    )
}

struct ConicInner<F> {
    make_oracle: F,
    /// The layer's compiled structure: patterns and cones validated once; rows give values.
    structure: ConicStructure,
    lpgd: Lpgd,
    /// The last answers, as guesses for the next forward (None: warm forwards off).
    warm: Option<Mutex<WarmStarts<ConicSolution>>>,
    /// The share of the last forward's rows answered from their guess (f64 bits).
    warm_share: AtomicU64,
}

/// A conic layer with a fixed structure (A's and P's sparsity patterns, cones) and data per batch
/// row, packed as `[c (n), b (m), A's values (nnz A), P's values (nnz P)]`. The output packs
/// `[x (n), y (m), s (m)]`; take x with `narrow(1, 0, n)` (gradients flow through the slice).
///
/// Forwards are warm by default: each row starts from the answer at its position in the last
/// forward, which an oracle that can (a `FaceOracle`) certifies exactly on that answer's face
/// instead of solving from scratch; a guess that does not certify is solved from scratch, so the
/// answer does not depend on it beyond the certificate's tolerance. [`ConicLayer::with_warm`]
/// turns it off, [`ConicLayer::last_warm_share`] reports the last forward's share.
///
/// ```
/// use lpgd_candle::candle_core::{Device, Var};
/// use lpgd_candle::ConicLayer;
/// use lpgd_core::ndarray::array;
/// use lpgd_core::{ConicProblem, Lpgd};
/// use lpgd_solvers::ClarabelOracle;
/// // min ½‖x‖² + cᵀx s.t. x₀ + x₁ = 1, with c predicted per batch row.
/// let base = ConicProblem::builder(2)
///     .cost([0.0, 0.0])
///     .quadratic(array![[1.0, 0.0], [0.0, 1.0]])
///     .equalities(array![[1.0, 1.0]], [1.0])
///     .build()?;
/// let layer = ConicLayer::new(ClarabelOracle::new, base.clone(), Lpgd::new(1e-3)?);
/// let rows = vec![layer.pack(&base), layer.pack(&base.with_c(array![0.5, -0.5])?)];
/// let data = Var::new(rows, &Device::Cpu)?;
/// let x = layer.forward(data.as_tensor())?.narrow(1, 0, 2)?;
/// let loss = x.narrow(1, 0, 1)?.sum_all()?; // Σ x₀ over the batch
/// let grads = loss.backward()?;
/// let g = grads.get(data.as_tensor()).unwrap().to_vec2::<f64>()?;
/// // x₀ = (1 − c₀ + c₁)/2, so ∂x₀/∂c₀ = −½ (LPGD with small τ on a smooth QP).
/// assert!((g[0][0] + 0.5).abs() < 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConicLayer<F> {
    inner: Arc<ConicInner<F>>,
}

impl<F> Clone for ConicLayer<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F, O> ConicLayer<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<ConicProblem>,
{
    /// A layer with the structure of `base` (its data values are replaced by each row's).
    pub fn new(make_oracle: F, base: ConicProblem, lpgd: Lpgd) -> Self {
        Self {
            inner: Arc::new(ConicInner {
                make_oracle,
                structure: ConicStructure::of(&base),
                lpgd,
                warm: Some(Mutex::new(WarmStarts::new())),
                warm_share: AtomicU64::new(f64::NAN.to_bits()),
            }),
        }
    }

    /// The layer with warm forwards on (the default) or off. A new layer: its kept answers
    /// start empty.
    pub fn with_warm(self, warm: bool) -> Self
    where
        F: Clone,
    {
        Self {
            inner: Arc::new(ConicInner {
                make_oracle: self.inner.make_oracle.clone(),
                structure: self.inner.structure.clone(),
                lpgd: self.inner.lpgd,
                warm: warm.then(|| Mutex::new(WarmStarts::new())),
                warm_share: AtomicU64::new(f64::NAN.to_bits()),
            }),
        }
    }

    /// The share of the last forward's rows answered from their guess (NaN before a forward;
    /// 0 with warm forwards off).
    pub fn last_warm_share(&self) -> f64 {
        f64::from_bits(self.inner.warm_share.load(AtomicOrdering::Relaxed))
    }

    /// Forgets the kept answers: the next forward solves every row from scratch.
    pub fn reset_warm(&self) {
        if let Some(store) = &self.inner.warm {
            store.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    /// Solves `problems`, warm where the layer keeps answers, and keeps the new ones.
    fn solve_warm(&self, problems: &[ConicProblem]) -> Result<Vec<ConicSolution>> {
        let inner = &self.inner;
        let Some(store) = &inner.warm else {
            inner
                .warm_share
                .store(0f64.to_bits(), AtomicOrdering::Relaxed);
            return solve_all(&inner.lpgd, &inner.make_oracle, problems);
        };
        let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
        let results = {
            let guesses = store.guesses(problems.len(), None).map_err(err)?;
            inner
                .lpgd
                .forward_batch_from(&inner.make_oracle, problems, &guesses)
                .map_err(err)?
        };
        let warm = results
            .iter()
            .filter(|r| matches!(r, Ok(f) if f.from_guess))
            .count();
        let share = warm as f64 / problems.len().max(1) as f64;
        inner
            .warm_share
            .store(share.to_bits(), AtomicOrdering::Relaxed);
        let solutions: Vec<ConicSolution> = results
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map(|f| f.solution).map_err(|e| lpgd_msg(i, e)))
            .collect::<Result<_>>()?;
        store
            .remember(solutions.iter().cloned().map(Some).collect(), None)
            .map_err(err)?;
        Ok(solutions)
    }

    /// Width of a packed data row.
    pub fn data_width(&self) -> usize {
        let s = &self.inner.structure;
        s.n() + s.m() + s.a_nnz() + s.p_nnz()
    }

    /// Width of a packed solution row (`n + 2m`).
    pub fn solution_width(&self) -> usize {
        self.inner.structure.n() + 2 * self.inner.structure.m()
    }

    /// Packs one problem's data as a row (for building input tensors).
    pub fn pack(&self, problem: &ConicProblem) -> Vec<f64> {
        let mut row = problem.c().to_vec();
        row.extend(problem.b().iter());
        row.extend(problem.a().values());
        if let Some(p) = problem.p() {
            row.extend(p.values());
        }
        row
    }

    /// Packs a gradient with respect to one problem's data as a row, in the layout of
    /// [`pack`](Self::pack): the layer's backward returns these rows.
    pub fn pack_gradient(&self, gradient: &ConicGradient) -> Vec<f64> {
        let mut row = gradient.dc.to_vec();
        row.extend(gradient.db.iter().chain(&gradient.da));
        if let Some(dp) = &gradient.dp {
            row.extend(dp.iter());
        }
        row
    }

    /// The problems of `b` packed rows (`data` holds them one after another); a row with bad
    /// values is an error naming it.
    fn unpack(&self, data: &[f64], b: usize) -> Result<Vec<ConicProblem>> {
        let st = &self.inner.structure;
        let (n, m, na) = (st.n(), st.m(), st.a_nnz());
        let rows = ArrayView2::from_shape((b, self.data_width()), data).map_err(err)?;
        let values = ConicValues {
            c: rows.slice(s![.., ..n]),
            b: rows.slice(s![.., n..n + m]),
            a: rows.slice(s![.., n + m..n + m + na]),
            p: st.has_p().then(|| rows.slice(s![.., n + m + na..])),
        };
        st.problems(values)
            .map_err(err)?
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.map_err(|e| err(format!("batch item {i}: {e}"))))
            .collect()
    }

    /// Solves every row of `data` (`[B, data_width]`), returning `[B, n + 2m]` = (x, y, s).
    pub fn forward(&self, data: &Tensor) -> Result<Tensor> {
        data.apply_op1(self.clone())
    }
}

impl<F, O> CustomOp1 for ConicLayer<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<ConicProblem>,
{
    fn name(&self) -> &'static str {
        "lpgd-conic-layer"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, b, w) = rows_of(storage, layout, "problem data")?;
        if w != self.data_width() {
            return Err(err(format!(
                "problem data: expected {} columns, got {w}",
                self.data_width()
            )));
        }
        let problems = self.unpack(&data, b)?;
        let mut out = Vec::with_capacity(b * self.solution_width());
        for z in self.solve_warm(&problems)? {
            out.extend(z.x.iter().chain(&z.y).chain(&z.s));
        }
        Ok((
            storage_like(out, storage.dtype()),
            Shape::from((b, self.solution_width())),
        ))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let (data, b, w) = tensor_rows(arg)?;
        let (z, _, zw) = tensor_rows(res)?;
        let (g, _, _) = tensor_rows(grad_res)?;
        let (n, m) = (self.inner.structure.n(), self.inner.structure.m());
        let problems = self.unpack(&data, b)?;
        let split = |v: &[f64], i: usize| {
            let r = &v[i * zw..(i + 1) * zw];
            (
                Array1::from(r[..n].to_vec()),
                Array1::from(r[n..n + m].to_vec()),
                Array1::from(r[n + m..].to_vec()),
            )
        };
        let solutions: Vec<_> = if res.dtype() == DType::F64 {
            (0..b)
                .map(|i| {
                    let (x, y, s) = split(&z, i);
                    lpgd_core::ConicSolution {
                        x,
                        y,
                        s,
                        status: lpgd_core::SolveStatus::Solved,
                        iterations: 0,
                    }
                })
                .collect()
        } else {
            // The forward output was rounded to the tensor's precision; differencing it against
            // an f64 re-solve would add that rounding over τ to the gradient. Solve it again in f64.
            solve_all(&self.inner.lpgd, &self.inner.make_oracle, &problems)?
        };
        let cotangents: Vec<ConicCotangent> = (0..b)
            .map(|i| {
                let (dx, dy, ds) = split(&g, i);
                ConicCotangent { dx, dy, ds }
            })
            .collect();
        for (i, (p, gz)) in problems.iter().zip(&cotangents).enumerate() {
            p.check_cotangent(gz)
                .map_err(|e| err(format!("batch item {i}: {e}")))?;
        }
        let mut out = Vec::with_capacity(b * w);
        for (i, r) in self
            .inner
            .lpgd
            .backward_batch(&self.inner.make_oracle, &problems, &solutions, &cotangents)
            .map_err(err)?
            .into_iter()
            .enumerate()
        {
            out.extend(self.pack_gradient(&r.map_err(|e| lpgd_msg(i, e))?.gradient));
        }
        Ok(Some(tensor_from(out, b, w, arg)?))
    }
}
