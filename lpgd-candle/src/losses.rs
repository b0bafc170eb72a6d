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

/// A loss of `K` same-shape `[B, d]` inputs, row by row: each row's loss and its (sub)gradient
/// with respect to the first input. The candle ops below are written once over it.
trait RowLoss: Send + Sync {
    /// The op's name.
    const NAME: &'static str;
    /// The inputs' names, for error messages.
    const INPUTS: &'static [&'static str];

    /// Row `i`'s loss and gradient, given row `i` of every input.
    fn row(
        &self,
        i: usize,
        rows: &[Array1<f64>],
    ) -> std::result::Result<(f64, Array1<f64>), String>;

    /// Every row's loss and gradient, in parallel; an error names its batch item.
    fn per_row(&self, inputs: &[Vec<f64>], b: usize, d: usize) -> Result<Vec<(f64, Array1<f64>)>> {
        (0..b)
            .into_par_iter()
            .map(|i| {
                let rows: Vec<Array1<f64>> = inputs
                    .iter()
                    .map(|v| Array1::from(v[i * d..(i + 1) * d].to_vec()))
                    .collect();
                self.row(i, &rows)
                    .map_err(|e| err(format!("batch item {i}: {e}")))
            })
            .collect()
    }

    /// The forward pass: the losses as `[B, 1]`, in the first input's dtype.
    fn forward(&self, inputs: &[(&CpuStorage, &Layout)]) -> Result<(CpuStorage, Shape)> {
        let mut data = Vec::with_capacity(inputs.len());
        let mut shape = None;
        for (&(storage, layout), name) in inputs.iter().zip(Self::INPUTS) {
            let (v, b, d) = rows_of(storage, layout, name)?;
            match shape {
                None => shape = Some((b, d)),
                Some(first) if first != (b, d) => {
                    return Err(err(format!(
                        "{} must have the same shape: {} is [{}, {}] but {name} [{b}, {d}]",
                        Self::INPUTS.join(", "),
                        Self::INPUTS[0],
                        first.0,
                        first.1
                    )))
                }
                Some(_) => {}
            }
            data.push(v);
        }
        let (b, d) = shape.unwrap_or((0, 0));
        let losses = self
            .per_row(&data, b, d)?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        Ok((
            storage_like(losses, inputs[0].0.dtype()),
            Shape::from((b, 1)),
        ))
    }

    /// The backward pass: the gradient with respect to the first input, chained with `grad_res`.
    fn backward(&self, args: &[&Tensor], grad_res: &Tensor) -> Result<Tensor> {
        let mut data = Vec::with_capacity(args.len());
        let (mut b, mut d) = (0, 0);
        for (k, arg) in args.iter().enumerate() {
            let (v, rows, cols) = tensor_rows(arg)?;
            if k == 0 {
                (b, d) = (rows, cols);
            }
            data.push(v);
        }
        let (g, _, _) = tensor_rows(grad_res)?;
        let grads = self.per_row(&data, b, d)?;
        tensor_from(chain_rows(&grads, &g), b, d, args[0])
    }
}

/// Implements candle's `CustomOpK` for a [`RowLoss`] of `K` inputs: the forward pass is
/// [`RowLoss::forward`], the backward [`RowLoss::backward`] (a gradient for the first input only).
macro_rules! candle_op {
    ($op:ident, $trait:ident, ($s0:ident, $l0:ident, $a0:ident) $(, ($s:ident, $l:ident, $a:ident))+) => {
        impl<F, O> $trait for $op<F>
        where
            F: Fn() -> O + Send + Sync + 'static,
            O: Oracle<CombinatorialProblem>,
        {
            fn name(&self) -> &'static str {
                Self::NAME
            }

            fn cpu_fwd(
                &self,
                $s0: &CpuStorage,
                $l0: &Layout,
                $($s: &CpuStorage, $l: &Layout,)+
            ) -> Result<(CpuStorage, Shape)> {
                self.forward(&[($s0, $l0) $(, ($s, $l))+])
            }

            fn bwd(
                &self,
                $a0: &Tensor,
                $($a: &Tensor,)+
                _res: &Tensor,
                grad_res: &Tensor,
            ) -> Result<(Option<Tensor> $(, candle_op!(@none $a))+)> {
                Ok((Some(self.backward(&[$a0 $(, $a)+], grad_res)?) $(, candle_op!(@nothing $a))+))
            }
        }
    };
    (@none $a:ident) => { Option<Tensor> };
    (@nothing $a:ident) => { None };
}

struct PfylOp<F> {
    make_oracle: Arc<F>,
    perturbation: Perturbation,
    seed: u32,
}

impl<F, O> RowLoss for PfylOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    const NAME: &'static str = "lpgd-pfyl-loss";
    const INPUTS: &'static [&'static str] = &["predicted costs", "true solutions"];

    fn row(
        &self,
        i: usize,
        rows: &[Array1<f64>],
    ) -> std::result::Result<(f64, Array1<f64>), String> {
        let (theta, y_star) = (&rows[0], &rows[1]);
        let mut oracle = (self.make_oracle)();
        let mut rng = RandomState::new(self.seed.wrapping_add(i as u32));
        let samples = self
            .perturbation
            .solve(&mut oracle, theta, &mut rng)
            .map_err(|e| e.to_string())?;
        pfyl(&samples, theta, self.perturbation.sigma, y_star).map_err(|e| e.to_string())
    }
}

candle_op!(PfylOp, CustomOp2, (s1, l1, arg1), (s2, l2, arg2));

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

impl<F, O> RowLoss for SpoPlusOp<F>
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<CombinatorialProblem>,
{
    const NAME: &'static str = "lpgd-spo-plus-loss";
    const INPUTS: &'static [&'static str] = &["predicted costs", "true costs", "true solutions"];

    fn row(
        &self,
        _: usize,
        rows: &[Array1<f64>],
    ) -> std::result::Result<(f64, Array1<f64>), String> {
        let mut oracle = (self.make_oracle)();
        spo_plus(&mut oracle, &rows[0], &rows[1], &rows[2]).map_err(|e| e.to_string())
    }
}

candle_op!(
    SpoPlusOp,
    CustomOp3,
    (s1, l1, arg1),
    (s2, l2, arg2),
    (s3, l3, arg3)
);

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
