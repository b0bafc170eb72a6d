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
        Self::from_json(include_str!("../../../data/markowitz/markowitz_data.json"))
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
    let (w, v) = lpgd_core::symmetric_eigen(&a.iter().copied().collect::<Vec<_>>(), k);
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
mod tests {
    use super::*;
    use lpgd_core::{ConicCotangent, Side};

    fn setup() -> (HistoricalData, Params, Vec<Vec<Array1<f64>>>) {
        let data = HistoricalData::bundled().unwrap();
        let params = data.initial_params();
        let paths = data.market().paths(2, 7);
        (data, params, paths)
    }

    /// The policy problem as a QP (P = 2γSᵀS on h⁺, no cone) solved by Clarabel: an independent
    /// formulation of the same layer.
    fn policy_as_qp(params: &Params, h: &Array1<f64>) -> Array1<f64> {
        let soc = params.policy_problem(h).unwrap();
        let q = params.s.t().dot(&params.s) * (2.0 * params.sqrt_gamma.powi(2));
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for j in 0..ASSETS {
            for i in 0..=j {
                rows.push(i);
                cols.push(j);
                vals.push(q[[i, j]]);
            }
        }
        let n = 3 * ASSETS;
        let p = CscMatrix::from_triplets(n, n, &rows, &cols, &vals).unwrap();
        let (mut ar, mut ac, mut av) = (Vec::new(), Vec::new(), Vec::new());
        for (r, c, v) in soc.a().iter() {
            if r < NONNEG && c < n {
                ar.push(r);
                ac.push(c);
                av.push(v);
            }
        }
        let a = CscMatrix::from_triplets(NONNEG, n, &ar, &ac, &av).unwrap();
        let b = soc.b().slice(s![..NONNEG]).to_owned();
        let c = soc.c().slice(s![..n]).to_owned();
        let qp = ConicProblem::new(Some(p), a, b, c, vec![Cone::Nonnegative(NONNEG)]).unwrap();
        let x = SolveSettings::new()
            .forward(&mut ClarabelOracle::high_accuracy(), &qp)
            .unwrap()
            .x;
        x.slice(s![..ASSETS]).to_owned()
    }

    #[test]
    fn initial_holdings_are_optimal_and_fully_invested() {
        let (_, params, _) = setup();
        let h0 = params.initial_holdings().unwrap();
        assert!((h0.sum() - 1.0).abs() < 1e-7, "{}", h0.sum());
        // Optimality: no feasible direction improves the objective. Check against moves that
        // keep 1ᵀh = 1 (shift weight between two assets).
        let objective = |h: &Array1<f64>| {
            let sh = params.s.dot(h) * params.sqrt_gamma;
            params.mu.dot(h) - sh.dot(&sh) - KAPPA * h.mapv(|x| (-x).max(0.0)).sum()
        };
        let best = objective(&h0);
        for i in 0..ASSETS {
            for j in 0..ASSETS {
                if i != j {
                    let mut h = h0.clone();
                    h[i] += 1e-3;
                    h[j] -= 1e-3;
                    assert!(objective(&h) <= best + 1e-9, "move {i}→{j} improves");
                }
            }
        }
    }

    #[test]
    fn policy_layer_matches_an_independent_qp_solve() {
        let (_, params, paths) = setup();
        let mut h = params.initial_holdings().unwrap();
        h = &h * &paths[0][0] / paths[0][0].dot(&h); // a drifted portfolio, so the layer trades
        let x = SolveSettings::new()
            .forward(
                &mut ClarabelOracle::high_accuracy(),
                &params.policy_problem(&h).unwrap(),
            )
            .unwrap()
            .x;
        let qp = policy_as_qp(&params, &h);
        for i in 0..ASSETS {
            assert!(
                (x[i] - qp[i]).abs() < 1e-6,
                "asset {i}: {} vs {}",
                x[i],
                qp[i]
            );
        }
    }

    #[test]
    fn rollout_cost_by_hand() {
        let (_, params, paths) = setup();
        let h0 = params.initial_holdings().unwrap();
        let solver = Solver {
            high_accuracy: true,
        };
        let (cost, _) = rollout(&params, &h0, &paths[0], solver, None).unwrap();
        // The same months by hand: the layer's h⁺, R = rᵀh⁺, losses counted double.
        let mut h = h0.clone();
        let mut by_hand = 0.0;
        for r in &paths[0] {
            let hp = policy_as_qp(&params, &h);
            let big_r = r.dot(&hp);
            let gain = big_r - 1.0;
            by_hand += if gain < 0.0 { -2.0 * gain } else { -gain } / HORIZON as f64;
            h = r * &hp / big_r;
        }
        assert!((cost - by_hand).abs() < 1e-7, "{cost} vs {by_hand}");
    }

    #[test]
    fn one_month_chain_matches_finite_differences() {
        // d h⁺_j / d(√γ, μ, S, h) of one policy solve: LPGD (τ = 1e-6, high accuracy) chained to
        // the parameters and the holdings, against central differences. From equal weights the
        // policy trades most assets; where it does not (a no-trade kink) the derivative is 0 and
        // LPGD's answer is solver noise / τ (up to ≈ 2e-2 here).
        let (_, params, paths) = setup();
        let _ = &paths;
        let h0 = Array1::from_elem(ASSETS, 1.0 / ASSETS as f64);
        let solve = |p: &Params, h: &Array1<f64>| {
            SolveSettings::new()
                .forward(
                    &mut ClarabelOracle::high_accuracy(),
                    &p.policy_problem(h).unwrap(),
                )
                .unwrap()
        };
        let problem = params.policy_problem(&h0).unwrap();
        let base = solve(&params, &h0);
        let lpgd = Lpgd::new(1e-6).unwrap().with_side(Side::Centered);
        let e = 1e-7;
        for j in 0..ASSETS {
            let mut dx = Array1::zeros(N);
            dx[j] = 1.0;
            let g = lpgd
                .backward(
                    &mut ClarabelOracle::high_accuracy(),
                    &problem,
                    &base,
                    &ConicCotangent::on_x(&problem, dx),
                )
                .unwrap()
                .gradient;
            let mut ours = ParamGrad::zeros();
            let dh = params.chain(&problem, &g, &mut ours);
            let fd = |f: &dyn Fn(&mut Params, &mut Array1<f64>, f64)| {
                let (mut pa, mut pb, mut ha, mut hb) =
                    (params.clone(), params.clone(), h0.clone(), h0.clone());
                f(&mut pa, &mut ha, e);
                f(&mut pb, &mut hb, -e);
                (solve(&pa, &ha).x[j] - solve(&pb, &hb).x[j]) / (2.0 * e)
            };
            // A traded asset: LPGD within 10 % of the differences. An asset at its no-trade kink:
            // the derivative is 0 and LPGD's answer only noise.
            let trades = (base.x[j] - h0[j]).abs() > 1e-4;
            let close = |what: &str, fd: f64, ours: f64| {
                let ok = (fd - ours).abs() < 0.1 * fd.abs().max(1e-2)
                    || (!trades && fd.abs() < 1e-4 && ours.abs() < 0.1);
                assert!(ok, "x{j} (trades: {trades}) / {what}: fd {fd} vs {ours}");
            };
            close("√γ", fd(&|p, _, d| p.sqrt_gamma += d), ours.sqrt_gamma);
            for i in [0, 4, 9] {
                close("μ", fd(&|p, _, d| p.mu[i] += d), ours.mu[i]);
                close("h", fd(&|_, h, d| h[i] += d), dh[i]);
            }
            for (a, b) in [(0, 0), (2, 5), (7, 1), (3, 0)] {
                close("S", fd(&|p, _, d| p.s[[a, b]] += d), ours.s[[a, b]]);
            }
        }
    }

    #[test]
    fn the_rollout_gradient_is_a_descent_direction() {
        // Through all 24 months, where differences cross kinks: a small step against the LPGD
        // gradient lowers the rollout's cost.
        let (_, params, paths) = setup();
        let h0 = params.initial_holdings().unwrap();
        let solver = Solver {
            high_accuracy: true,
        };
        let lpgd = Lpgd::new(1e-5).unwrap().with_side(Side::Centered);
        let (cost, grad) = rollout(&params, &h0, &paths[1], solver, Some(&lpgd)).unwrap();
        let grad = grad.unwrap();
        let mut stepped = params.clone();
        stepped.sgd(&grad, 1e-3);
        let (after, _) = rollout(&stepped, &h0, &paths[1], solver, None).unwrap();
        assert!(after < cost, "{after} vs {cost}");
    }

    #[test]
    fn scaled_down_training_is_deterministic_per_seed() {
        let (data, _, _) = setup();
        let test = data.market().paths(3, 99);
        let protocol = Protocol {
            steps: 3,
            rollouts: 2,
            eval_every: 1,
            ..Protocol::default()
        };
        let lpgd = Lpgd::new(0.1).unwrap();
        let solver = Solver {
            high_accuracy: false,
        };
        let run = |p: &Protocol| {
            let t = train(&data, &test, &lpgd, solver, p, |_| {}).unwrap();
            assert!(t.failure.is_none(), "{:?}", t.failure);
            (t.curve, t.params)
        };
        let (a, pa) = run(&protocol);
        let (b, pb) = run(&protocol);
        let tests = |c: &[CurvePoint]| {
            c.iter()
                .map(|p| (p.test.to_bits(), p.train_loss.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(tests(&a), tests(&b));
        assert_eq!(pa, pb);
        assert_ne!(pa, data.initial_params()); // the steps moved the parameters
        let other = Protocol {
            seed: 1,
            ..protocol
        };
        let (c, _) = run(&other);
        assert_ne!(tests(&a), tests(&c));
    }

    #[test]
    fn symmetric_square_root_squares_back() {
        let data = HistoricalData::bundled().unwrap();
        let sigma = HistoricalData::matrix(&data.sigma);
        let root = symmetric_sqrt(&sigma);
        let back = root.dot(&root);
        let err = (&back - &sigma)
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        assert!(err < 1e-12, "{err}");
        assert!((&root - &root.t()).mapv(f64::abs).sum() < 1e-12);
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(HistoricalData::from_json(
            r#"{"mu":[1],"sigma":[[1]],"mu_log":[0],"cov_log":[[1]],"etfs":["A"]}"#
        )
        .is_err());
        assert!(HistoricalData::from_json("not json").is_err());
    }
}
