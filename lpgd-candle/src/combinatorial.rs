//! [`CombinatorialLayer`]: `argmin ⟨w, y⟩` over a finite set, backward by LPGD, NID or DPO.

use crate::support::{
    err, lpgd_msg, rows_of, solve_all, storage_like, tensor_from, tensor_rows, Clock, LayerTime,
};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use lpgd_combinatorial::rules::{dpo_backward, Perturbation};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::Array1;
use lpgd_core::{CombinatorialProblem, Lpgd, Oracle, SolveSettings};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;

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
                let settings = match &self.inner.rule {
                    LayerRule::Lpgd(l) => *l.settings(),
                    _ => SolveSettings::new(),
                };
                solve_all(&settings, &self.inner.make_oracle, &problems)?
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
