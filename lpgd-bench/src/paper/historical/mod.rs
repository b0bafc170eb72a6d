//! The LPGD paper's Markowitz experiment on historical ETF statistics, with the protocol of the
//! reference notebook it builds on (Agrawal et al., "Learning convex optimization control
//! policies", `markowitz_tuning`; data and protocol in `data/markowitz/`).
//!
//! **Market**: 12 ETFs, monthly log gross returns `log r ~ N(μ_log, Σ_log)` i.i.d.
//!
//! **Dynamics**, on normalised holdings `h` (`1ᵀh = 1`): the policy returns `h⁺ = h + u`; the
//! month's portfolio return is `R = rᵀh⁺` and the next normalised holdings `r ∘ h⁺ / R`. Stage cost
//! `−min(2(R − 1), R − 1)` (losses count double); a rollout's cost is the mean over 24 months;
//! utility = −cost.
//!
//! **Policy**: each month the SOCP `max μᵀh⁺ − ‖√γ S h⁺‖²  s.t.  1ᵀu + κᵀ|u| + sᵀ(h⁺)₋ ≤ 0`,
//! κ = s = 0.001, written with variables (h⁺, a ≥ |h⁺ − h|, v ≥ (h⁺)₋, t ≥ ‖√γ S h⁺‖²) and the
//! last bound as `‖(2√γ S h⁺, t − 1)‖ ≤ t + 1`. Learnt: `√γ` (projected to ≥ 0), S (12 × 12,
//! from `sqrtm(Σ)`) and μ (from the mean gross returns); γ starts at 15.
//!
//! **Initial holdings**: `max μᵀh − γ‖S h‖² − sᵀ(h)₋ s.t. 1ᵀh = 1` under the current parameters,
//! re-solved before each training step and each evaluation, not differentiated.
//!
//! **Training**: plain SGD on the mean cost of 10 rollouts per step, learning rate 1e-3 halved
//! every 100 steps, 400 steps. The gradient runs back through all 24 layer calls of a rollout
//! (the holdings enter the next month's problem through b), each layer's by LPGD.

use super::{month_backward, month_forward, CurvePoint};
use crate::error::BenchError;
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{s, Array1, Array2};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Lpgd, SolveSettings};
use lpgd_solvers::ClarabelOracle;
use rayon::prelude::*;
use serde::Deserialize;
use std::time::Instant;

use super::markowitz::cholesky;
pub use super::markowitz::{Market, ASSETS, HORIZON};
/// Transaction and shorting cost per asset.
pub const KAPPA: f64 = 0.001;
/// γ at the start.
pub const GAMMA0: f64 = 15.0;
/// Variables of the policy SOCP: h⁺, a, v (12 each) and t.
const N: usize = 3 * ASSETS + 1;
/// Rows of the policy SOCP's nonnegative cone: four blocks of 12 and the budget.
const NONNEG: usize = 4 * ASSETS + 1;

/// The historical statistics (`data/markowitz/markowitz_data.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct HistoricalData {
    /// Mean monthly gross return per ETF.
    pub mu: Vec<f64>,
    /// Covariance of monthly gross returns.
    pub sigma: Vec<Vec<f64>>,
    /// Mean monthly log gross return.
    pub mu_log: Vec<f64>,
    /// Covariance of monthly log gross returns.
    pub cov_log: Vec<Vec<f64>>,
    /// ETF tickers, in order.
    pub etfs: Vec<String>,
}

impl HistoricalData {
    /// The bundled statistics of the 12 ETFs.
    pub fn bundled() -> Result<Self, BenchError> {
        Self::from_json(include_str!(
            "../../../../data/markowitz/markowitz_data.json"
        ))
    }

    /// Statistics from JSON with the bundled file's keys; sizes and finiteness are checked.
    pub fn from_json(text: &str) -> Result<Self, BenchError> {
        let data: Self = serde_json::from_str(text)?;
        let square = |m: &[Vec<f64>]| m.len() == ASSETS && m.iter().all(|r| r.len() == ASSETS);
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if data.mu.len() != ASSETS
            || data.mu_log.len() != ASSETS
            || !square(&data.sigma)
            || !square(&data.cov_log)
            || !finite(&data.mu)
            || !finite(&data.mu_log)
            || !data.sigma.iter().chain(&data.cov_log).all(|r| finite(r))
        {
            return Err(BenchError::Invalid(lpgd_core::InvalidInput::Value {
                field: "markowitz data",
                index: 0,
                reason: "needs 12 finite means and 12 × 12 finite covariances",
            }));
        }
        Ok(data)
    }

    fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
        Array2::from_shape_fn((ASSETS, ASSETS), |(i, j)| rows[i][j])
    }

    /// The market of log-normal returns.
    pub fn market(&self) -> Market {
        Market {
            mu: Array1::from(self.mu_log.clone()),
            chol: cholesky(&Self::matrix(&self.cov_log)),
        }
    }

    /// The reference initial parameters: √γ = √15, S = sqrtm(Σ), μ = mean gross returns.
    pub fn initial_params(&self) -> Params {
        Params {
            sqrt_gamma: GAMMA0.sqrt(),
            s: symmetric_sqrt(&Self::matrix(&self.sigma)),
            mu: Array1::from(self.mu.clone()),
        }
    }
}

/// The symmetric square root of a symmetric positive semidefinite matrix (negative eigenvalues
/// from rounding are clipped to zero).
pub fn symmetric_sqrt(a: &Array2<f64>) -> Array2<f64> {
    let k = a.nrows();
    let (w, v) = lpgd_core::linalg::symmetric_eigen(&a.iter().copied().collect::<Vec<_>>(), k);
    let v = Array2::from_shape_vec((k, k), v).expect("k × k eigenvectors");
    let root = Array2::from_diag(&Array1::from(w).mapv(|x| x.max(0.0).sqrt()));
    v.dot(&root).dot(&v.t())
}

/// The policy's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// √γ (kept ≥ 0).
    pub sqrt_gamma: f64,
    /// S (12 × 12).
    pub s: Array2<f64>,
    /// μ (12).
    pub mu: Array1<f64>,
}

/// A gradient with respect to [`Params`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParamGrad {
    /// ∂/∂√γ.
    pub sqrt_gamma: f64,
    /// ∂/∂S.
    pub s: Array2<f64>,
    /// ∂/∂μ.
    pub mu: Array1<f64>,
}

impl ParamGrad {
    fn zeros() -> Self {
        Self {
            sqrt_gamma: 0.0,
            s: Array2::zeros((ASSETS, ASSETS)),
            mu: Array1::zeros(ASSETS),
        }
    }

    fn add_scaled(&mut self, other: &ParamGrad, k: f64) {
        self.sqrt_gamma += k * other.sqrt_gamma;
        self.s.scaled_add(k, &other.s);
        self.mu.scaled_add(k, &other.mu);
    }
}

/// Triplets of a sparse matrix under construction.
#[derive(Default)]
struct Triplets(Vec<usize>, Vec<usize>, Vec<f64>);

impl Triplets {
    fn put(&mut self, r: usize, c: usize, x: f64) {
        self.0.push(r);
        self.1.push(c);
        self.2.push(x);
    }

    /// Rows `(t + 1, 2√γ S x, t − 1)` of the cone `‖(2√γ S x, t − 1)‖ ≤ t + 1` from row `row`,
    /// with x at column 0 and t at column `t`, appended to `b`.
    fn epigraph(&mut self, b: &mut Vec<f64>, row: usize, t: usize, params: &Params) {
        let g2 = 2.0 * params.sqrt_gamma;
        self.put(row, t, -1.0);
        b.push(1.0);
        for i in 0..ASSETS {
            for j in 0..ASSETS {
                self.put(row + 1 + i, j, -g2 * params.s[[i, j]]);
            }
            b.push(0.0);
        }
        self.put(row + 1 + ASSETS, t, -1.0);
        b.push(-1.0);
    }
}

impl Params {
    /// The month's policy SOCP for normalised holdings `h`. Rows: a ≥ h⁺ − h, a ≥ h − h⁺,
    /// v ≥ −h⁺, v ≥ 0 (12 each), the budget, then the 14-row second-order cone.
    pub fn policy_problem(&self, h: &Array1<f64>) -> Result<ConicProblem, BenchError> {
        let (hp, a, v, t) = (0, ASSETS, 2 * ASSETS, 3 * ASSETS);
        let mut m = Triplets::default();
        let mut b = vec![0.0; NONNEG];
        for i in 0..ASSETS {
            m.put(i, hp + i, 1.0);
            m.put(i, a + i, -1.0);
            b[i] = h[i];
            m.put(ASSETS + i, hp + i, -1.0);
            m.put(ASSETS + i, a + i, -1.0);
            b[ASSETS + i] = -h[i];
            m.put(2 * ASSETS + i, hp + i, -1.0);
            m.put(2 * ASSETS + i, v + i, -1.0);
            m.put(3 * ASSETS + i, v + i, -1.0);
        }
        // Budget: 1ᵀ(h⁺ − h) + κ1ᵀa + κ1ᵀv ≤ 0.
        let budget = 4 * ASSETS;
        for i in 0..ASSETS {
            m.put(budget, hp + i, 1.0);
            m.put(budget, a + i, KAPPA);
            m.put(budget, v + i, KAPPA);
        }
        b[budget] = h.sum();
        m.epigraph(&mut b, NONNEG, t, self);
        let mut c = Array1::zeros(N);
        c.slice_mut(s![..ASSETS]).assign(&-&self.mu);
        c[t] = 1.0;
        let amat = CscMatrix::from_triplets(b.len(), N, &m.0, &m.1, &m.2)?;
        Ok(ConicProblem::new(
            None,
            amat,
            Array1::from(b),
            c,
            vec![Cone::Nonnegative(NONNEG), Cone::SecondOrder(ASSETS + 2)],
        )?)
    }

    /// The initial-holdings problem `max μᵀh − ‖√γ S h‖² − κ1ᵀ(h)₋ s.t. 1ᵀh = 1`, variables
    /// (h, v ≥ (h)₋, t).
    pub fn initial_problem(&self) -> Result<ConicProblem, BenchError> {
        let (v, t) = (ASSETS, 2 * ASSETS);
        let mut m = Triplets::default();
        let mut b = vec![1.0];
        for i in 0..ASSETS {
            m.put(0, i, 1.0);
        }
        for i in 0..ASSETS {
            m.put(1 + i, i, -1.0);
            m.put(1 + i, v + i, -1.0);
            m.put(1 + ASSETS + i, v + i, -1.0);
        }
        b.extend(std::iter::repeat_n(0.0, 2 * ASSETS));
        m.epigraph(&mut b, 1 + 2 * ASSETS, t, self);
        let mut c = Array1::zeros(2 * ASSETS + 1);
        c.slice_mut(s![..ASSETS]).assign(&-&self.mu);
        c.slice_mut(s![v..t]).fill(KAPPA);
        c[t] = 1.0;
        let amat = CscMatrix::from_triplets(b.len(), 2 * ASSETS + 1, &m.0, &m.1, &m.2)?;
        Ok(ConicProblem::new(
            None,
            amat,
            Array1::from(b),
            c,
            vec![
                Cone::Zero(1),
                Cone::Nonnegative(2 * ASSETS),
                Cone::SecondOrder(ASSETS + 2),
            ],
        )?)
    }

    /// The initial holdings under these parameters.
    pub fn initial_holdings(&self) -> Result<Array1<f64>, BenchError> {
        let x = SolveSettings::new()
            .forward(
                &mut ClarabelOracle::high_accuracy(),
                &self.initial_problem()?,
            )
            .map_err(|source| BenchError::Item {
                what: "initial holdings",
                index: 0,
                source,
            })?
            .x;
        Ok(x.slice(s![..ASSETS]).to_owned())
    }

    /// Adds the parameter gradient of one month's conic gradient (dA on A's stored values, db,
    /// dc) into `out` and returns the gradient with respect to that month's holdings h.
    fn chain(
        &self,
        problem: &ConicProblem,
        g: &lpgd_core::ConicGradient,
        out: &mut ParamGrad,
    ) -> Array1<f64> {
        for i in 0..ASSETS {
            out.mu[i] -= g.dc[i];
        }
        for ((r, c, value), d) in problem.a().iter().zip(g.da.iter()) {
            if r > NONNEG && r <= NONNEG + ASSETS && c < ASSETS {
                // value = −2√γ S_ic.
                out.s[[r - NONNEG - 1, c]] -= 2.0 * self.sqrt_gamma * d;
                if self.sqrt_gamma > 0.0 {
                    out.sqrt_gamma += d * value / self.sqrt_gamma;
                } else {
                    out.sqrt_gamma -= 2.0 * self.s[[r - NONNEG - 1, c]] * d;
                }
            }
        }
        Array1::from_shape_fn(ASSETS, |i| g.db[i] - g.db[ASSETS + i] + g.db[4 * ASSETS])
    }

    /// One SGD step with learning rate `lr`; √γ is projected to ≥ 0.
    pub fn sgd(&mut self, g: &ParamGrad, lr: f64) {
        self.sqrt_gamma = (self.sqrt_gamma - lr * g.sqrt_gamma).max(0.0);
        self.s.scaled_add(-lr, &g.s);
        self.mu.scaled_add(-lr, &g.mu);
    }
}

/// The stage cost of a month's portfolio return `R` and its derivative: losses count double.
pub fn stage_cost(r: f64) -> (f64, f64) {
    if r < 1.0 {
        (-2.0 * (r - 1.0), -2.0)
    } else {
        (-(r - 1.0), -1.0)
    }
}

/// What a rollout solves its layers with.
#[derive(Debug, Clone, Copy)]
pub struct Solver {
    /// Clarabel with high-accuracy settings (for the small-τ baseline).
    pub high_accuracy: bool,
}

impl Solver {
    fn oracle(&self) -> ClarabelOracle {
        if self.high_accuracy {
            ClarabelOracle::high_accuracy()
        } else {
            ClarabelOracle::new()
        }
    }
}

/// A rollout's cost from normalised holdings `h0` over `returns`, and with `backward` the
/// gradient of that cost with respect to the parameters.
pub fn rollout(
    params: &Params,
    h0: &Array1<f64>,
    returns: &[Array1<f64>],
    solver: Solver,
    backward: Option<&Lpgd>,
) -> Result<(f64, Option<ParamGrad>), BenchError> {
    let mut oracle = solver.oracle();
    let forward = SolveSettings::new();
    let mut h = h0.clone();
    let mut tape: Vec<(ConicProblem, ConicSolution, Array1<f64>, f64)> = Vec::new();
    let mut cost = 0.0;
    let months = returns.len() as f64;
    for (t, r) in returns.iter().enumerate() {
        let problem = params.policy_problem(&h)?;
        let sol = month_forward(&forward, &mut oracle, &problem, t)?;
        let hp = sol.x.slice(s![..ASSETS]);
        let big_r = r.dot(&hp);
        let (l, dl) = stage_cost(big_r);
        cost += l / months;
        let h_next = (r * &hp) / big_r;
        tape.push((problem, sol, h_next.clone(), dl / months));
        h = h_next;
    }
    let Some(lpgd) = backward else {
        return Ok((cost, None));
    };
    let mut grad = ParamGrad::zeros();
    let mut dh_next = Array1::<f64>::zeros(ASSETS);
    for (t, (problem, sol, h_next, dl)) in tape.iter().enumerate().rev() {
        let r = &returns[t];
        let big_r = r.dot(&sol.x.slice(s![..ASSETS]));
        // ∂/∂h⁺ⱼ of ℓ(R)/T + ⟨dh_{t+1}, r ∘ h⁺ / R⟩ = rⱼ (ℓ'/T + (dh_{t+1,j} − ⟨dh_{t+1}, h_{t+1}⟩)/R).
        let carried = dh_next.dot(h_next);
        let mut dx = Array1::zeros(problem.n());
        for j in 0..ASSETS {
            dx[j] = r[j] * (dl + (dh_next[j] - carried) / big_r);
        }
        let g = month_backward(lpgd, &mut oracle, problem, sol, dx, t)?;
        dh_next = params.chain(problem, &g, &mut grad);
    }
    Ok((cost, Some(grad)))
}

/// The cost of every rollout of `paths` from the policy's own initial holdings (in parallel).
pub fn rollout_costs(
    params: &Params,
    paths: &[Vec<Array1<f64>>],
    solver: Solver,
) -> Result<Vec<f64>, BenchError> {
    let h0 = params.initial_holdings()?;
    paths
        .par_iter()
        .map(|p| rollout(params, &h0, p, solver, None).map(|r| r.0))
        .collect()
}

/// Mean cost of the policy over `paths` from its own initial holdings (rollouts in parallel).
pub fn mean_cost(
    params: &Params,
    paths: &[Vec<Array1<f64>>],
    solver: Solver,
) -> Result<f64, BenchError> {
    let costs = rollout_costs(params, paths, solver)?;
    Ok(costs.iter().sum::<f64>() / costs.len().max(1) as f64)
}

/// The reference protocol's training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    /// SGD steps (400).
    pub steps: usize,
    /// Rollouts per step (10).
    pub rollouts: usize,
    /// Initial learning rate (1e-3).
    pub learning_rate: f64,
    /// The learning rate halves every this many steps (100).
    pub halve_every: usize,
    /// Evaluate the test utility every this many steps (and at the last).
    pub eval_every: usize,
    /// Seed of the training returns.
    pub seed: u32,
}

impl Default for Protocol {
    fn default() -> Self {
        Self {
            steps: 400,
            rollouts: 10,
            learning_rate: 1e-3,
            halve_every: 100,
            eval_every: 25,
            seed: 0,
        }
    }
}

/// The outcome of a training run.
#[derive(Debug, Clone)]
pub struct Trained {
    /// Test utility (every `eval_every` steps, NaN between) and training cost per step.
    pub curve: Vec<CurvePoint>,
    /// The parameters at the end (or where training stopped).
    pub params: Params,
    /// Why training stopped early, if it did (e.g. a step drove √γ to 0 and the policy problem
    /// became unbounded): the run's curve up to there is kept.
    pub failure: Option<String>,
}

/// Trains from the reference initial parameters with LPGD `lpgd` (its side and τ) on `solver`;
/// the curve's `test` is the mean test *utility* (−cost) over `test` paths, `train_loss` the mean
/// training cost of the step. A step that fails ends the run with its reason in
/// [`Trained::failure`]; only a failure before the first step is an error.
pub fn train(
    data: &HistoricalData,
    test: &[Vec<Array1<f64>>],
    lpgd: &Lpgd,
    solver: Solver,
    protocol: &Protocol,
    mut progress: impl FnMut(&CurvePoint),
) -> Result<Trained, BenchError> {
    let market = data.market();
    let mut params = data.initial_params();
    let first = CurvePoint {
        step: 0,
        train_loss: f64::NAN,
        test: -mean_cost(&params, test, solver)?,
        seconds: 0.0,
    };
    progress(&first);
    let mut curve = vec![first];
    let mut seconds = 0.0;
    let mut rng = RandomState::new(protocol.seed);
    for step in 1..=protocol.steps {
        let started = Instant::now();
        let paths: Vec<Vec<Array1<f64>>> = (0..protocol.rollouts)
            .map(|_| (0..HORIZON).map(|_| market.returns(&mut rng)).collect())
            .collect();
        let mut one_step = || -> Result<CurvePoint, BenchError> {
            let h0 = params.initial_holdings()?;
            let results: Vec<(f64, Option<ParamGrad>)> = paths
                .par_iter()
                .map(|p| rollout(&params, &h0, p, solver, Some(lpgd)))
                .collect::<Result<_, _>>()?;
            let k = results.len() as f64;
            let loss = results.iter().map(|r| r.0).sum::<f64>() / k;
            let mut grad = ParamGrad::zeros();
            for g in results.iter().filter_map(|r| r.1.as_ref()) {
                grad.add_scaled(g, 1.0 / k);
            }
            let halvings = ((step - 1) / protocol.halve_every.max(1)).min(60) as i32;
            params.sgd(&grad, protocol.learning_rate * 0.5f64.powi(halvings));
            seconds += started.elapsed().as_secs_f64();
            let evaluate = step % protocol.eval_every.max(1) == 0 || step == protocol.steps;
            Ok(CurvePoint {
                step,
                train_loss: loss,
                test: if evaluate {
                    -mean_cost(&params, test, solver)?
                } else {
                    f64::NAN
                },
                seconds,
            })
        };
        match one_step() {
            Ok(point) => {
                progress(&point);
                curve.push(point);
            }
            Err(e) => {
                return Ok(Trained {
                    curve,
                    params,
                    failure: Some(format!("step {step}: {e}")),
                })
            }
        }
    }
    Ok(Trained {
        curve,
        params,
        failure: None,
    })
}

#[cfg(test)]
mod tests;
