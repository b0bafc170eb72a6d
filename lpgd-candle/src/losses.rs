//! The perturbed Fenchel–Young ([`pfyl_loss`]) and SPO+ ([`spo_plus_loss`]) losses as tensors
//! that carry their (sub)gradients.

use crate::support::{chain_rows, err, rows_of, storage_like, tensor_from, tensor_rows};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use lpgd_combinatorial::rules::{pfyl, spo_plus, Perturbation};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::Array1;
use lpgd_core::{CombinatorialProblem, Oracle};
use rayon::prelude::*;
use std::sync::Arc;

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
