//! [`ConicLayer`]: batched conic programs on a fixed structure, backward by LPGD.

use crate::support::{err, lpgd_msg, rows_of, solve_all, storage_like, tensor_from, tensor_rows};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use lpgd_core::ndarray::{s, Array1, ArrayView2};
use lpgd_core::{
    ConicCotangent, ConicGradient, ConicProblem, ConicSolution, ConicStructure, ConicValues, Lpgd,
    Oracle, Problem, WarmStarts,
};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

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
