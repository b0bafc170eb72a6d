//! What the layers share: tensors to rows of f64 and back, batch solves with per-item errors,
//! and the layers' clocks.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Error, Layout, Result, Tensor};
use lpgd_core::ndarray::Array1;
use lpgd_core::{LpgdError, Oracle, SolveSettings};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

pub(crate) fn err(msg: impl std::fmt::Display) -> Error {
    Error::Msg(msg.to_string())
}

/// A 2-D input as f64 rows, checked finite.
pub(crate) fn rows_of(
    storage: &CpuStorage,
    layout: &Layout,
    what: &str,
) -> Result<(Vec<f64>, usize, usize)> {
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

pub(crate) fn storage_like(data: Vec<f64>, like: DType) -> CpuStorage {
    match like {
        DType::F32 => CpuStorage::F32(data.into_iter().map(|v| v as f32).collect()),
        _ => CpuStorage::F64(data),
    }
}

/// A tensor's values as f64 rows.
pub(crate) fn tensor_rows(t: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
    let (b, d) = t.dims2()?;
    Ok((
        t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
        b,
        d,
    ))
}

pub(crate) fn tensor_from(data: Vec<f64>, b: usize, d: usize, like: &Tensor) -> Result<Tensor> {
    Tensor::from_vec(data, (b, d), like.device())?.to_dtype(like.dtype())
}

/// Per-row (loss, gradient) pairs times the upstream gradient of each row's loss, flattened.
pub(crate) fn chain_rows(grads: &[(f64, Array1<f64>)], upstream: &[f64]) -> Vec<f64> {
    grads
        .iter()
        .zip(upstream)
        .flat_map(|((_, gr), u)| gr.iter().map(move |v| v * u))
        .collect()
}

pub(crate) fn lpgd_msg(item: usize, e: LpgdError) -> Error {
    err(format!("batch item {item}: {e}"))
}

/// Every problem's forward solution, in f64; the first failure names its batch item.
pub(crate) fn solve_all<P, O, F>(
    settings: &SolveSettings,
    make_oracle: &F,
    problems: &[P],
) -> Result<Vec<P::Solution>>
where
    P: lpgd_core::Problem + Sync,
    P::Solution: Send,
    O: Oracle<P>,
    F: Fn() -> O + Send + Sync,
{
    settings
        .forward_batch(make_oracle, problems)
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| lpgd_msg(i, e)))
        .collect()
}

/// Wall-clock time a layer spent in its forward and backward passes (solver calls included),
/// summed over all calls since it was built; shared by clones.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    pub(crate) forward_ns: AtomicU64,
    pub(crate) backward_ns: AtomicU64,
}

impl Clock {
    pub(crate) fn add(counter: &AtomicU64, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, AtomicOrdering::Relaxed);
    }

    pub(crate) fn seconds(&self) -> LayerTime {
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
