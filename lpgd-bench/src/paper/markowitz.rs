//! Tuning a Markowitz portfolio policy through its SOCP (as in Agrawal et al., "Learning convex
//! optimization control policies", and the LPGD paper).
//!
//! **Market** (synthetic, seeded): 12 assets with log-normal monthly gross returns
//! `r = exp(μ* + L ε)`, ε ~ N(0, I), `μ*ᵢ ~ U(0.002, 0.012)`, volatilities `σᵢ ~ U(0.03, 0.09)`,
//! one-factor correlations `ρᵢⱼ = βᵢβⱼ` (i ≠ j) with `βᵢ ~ U(0.3, 0.8)`, L the Cholesky factor of
//! the covariance.
//!
//! **Dynamics**: holdings h (dollars per asset, starting at 1/12 each times `1 + 0.2·N(0,1)`),
//! trade u, `h⁺ = h + u`, `h_{t+1} = r_t ∘ h⁺_t`, 24 months. Stage cost `ℓ(z) = −z + max(−z, 0)` of
//! the month's gain `z = 1ᵀh_{t+1} − 1ᵀh_t`: losses count double. Cost of a rollout = mean stage
//! cost.
//!
//! **Policy**: each month the SOCP
//! `max μᵀh⁺ − γ‖S h⁺‖² s.t. 1ᵀ(h⁺ − h) + κ_tc‖h⁺ − h‖₁ + κ_sh 1ᵀ(h⁺)₋ ≤ 0`
//! (budget with transaction costs κ_tc = 0.002 and shorting costs κ_sh = 0.005), written in
//! conic form with variables (h⁺, a ≥ |h⁺ − h|, v ≥ (h⁺)₋, s ≥ γ‖S h⁺‖²) and the last bound as
//! `‖(2√γ S h⁺, s − 1)‖ ≤ s + 1`. Learnt: μ (12), S ≈ Σ^{1/2} (12 × 12) and `log √γ`, starting
//! from μ = 0.005·1, S = 0.05·I, γ = 1. The gradient runs back through all 24 layer calls of a
//! rollout (the holdings enter the next month's problem through b).

use super::{month_backward, month_forward, training_curve, Adam, CurvePoint};
use crate::error::BenchError;
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Lpgd, Side, SolveSettings};
use lpgd_solvers::ClarabelOracle;
use rayon::prelude::*;

/// Assets.
pub const ASSETS: usize = 12;
/// Months per rollout.
pub const HORIZON: usize = 24;
const KAPPA_TC: f64 = 0.002;
const KAPPA_SH: f64 = 0.005;
/// Variables of the policy SOCP: h⁺, a, v (12 each) and s.
const N: usize = 3 * ASSETS + 1;

/// A log-normal monthly market: gross returns `exp(μ + L ε)`, ε ~ N(0, I). [`Market::new`] draws
/// the synthetic one; the historical experiment builds one from the ETF statistics.
#[derive(Debug, Clone)]
pub struct Market {
    /// Mean monthly log return.
    pub mu: Array1<f64>,
    /// Cholesky factor of the log-return covariance.
    pub chol: Array2<f64>,
}

impl Market {
    /// The market drawn from `seed` (see the module docs).
    pub fn new(seed: u32) -> Self {
        let mut rng = RandomState::new(seed);
        let mu = Array1::from_shape_simple_fn(ASSETS, || rng.uniform(0.002, 0.012));
        let sigma = Array1::from_shape_simple_fn(ASSETS, || rng.uniform(0.03, 0.09));
        let beta = Array1::from_shape_simple_fn(ASSETS, || rng.uniform(0.3, 0.8));
        let cov = Array2::from_shape_fn((ASSETS, ASSETS), |(i, j)| {
            let rho = if i == j { 1.0 } else { beta[i] * beta[j] };
            rho * sigma[i] * sigma[j]
        });
        Self {
            mu,
            chol: cholesky(&cov),
        }
    }

    /// One month's gross returns.
    pub fn returns(&self, rng: &mut RandomState) -> Array1<f64> {
        let eps = Array1::from_shape_simple_fn(ASSETS, || rng.standard_normal());
        (&self.mu + &self.chol.dot(&eps)).mapv(f64::exp)
    }

    /// `count` return sequences of 24 months from `seed`.
    pub fn paths(&self, count: usize, seed: u32) -> Vec<Vec<Array1<f64>>> {
        let mut rng = RandomState::new(seed);
        (0..count)
            .map(|_| (0..HORIZON).map(|_| self.returns(&mut rng)).collect())
            .collect()
    }

    /// `count` scenarios (initial holdings and 24 months of returns) from `seed`.
    pub fn scenarios(&self, count: usize, seed: u32) -> Vec<Scenario> {
        let mut rng = RandomState::new(seed);
        (0..count)
            .map(|_| Scenario {
                h0: Array1::from_shape_simple_fn(ASSETS, || {
                    (1.0 + 0.2 * rng.standard_normal()) / ASSETS as f64
                }),
                returns: (0..HORIZON).map(|_| self.returns(&mut rng)).collect(),
            })
            .collect()
    }
}

/// The lower Cholesky factor of a symmetric positive semidefinite matrix (a zero pivot gives a
/// zero column below it).
pub(crate) fn cholesky(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            l[[i, j]] = if i == j {
                (a[[i, i]] - s).max(0.0).sqrt()
            } else if l[[j, j]] > 0.0 {
                (a[[i, j]] - s) / l[[j, j]]
            } else {
                0.0
            };
        }
    }
    l
}

/// Initial holdings and the returns of one rollout.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Holdings at month 0.
    pub h0: Array1<f64>,
    /// Gross returns of each month.
    pub returns: Vec<Array1<f64>>,
}

/// The policy parameters `[μ / 0.01 (12), S / 0.05 row-major (144), log √γ]`: scaled so that
/// every entry is of order one and one Adam learning rate suits them all.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The flat parameter vector.
    pub params: Array1<f64>,
}

const MU: usize = 0;
const MU_SCALE: f64 = 0.01;
const S_SCALE: f64 = 0.05;
const S0: usize = ASSETS;
const LOG_SQRT_GAMMA: usize = ASSETS + ASSETS * ASSETS;

impl Default for Policy {
    fn default() -> Self {
        let mut params = Array1::zeros(LOG_SQRT_GAMMA + 1);
        for i in 0..ASSETS {
            params[MU + i] = 0.5;
            params[S0 + i * ASSETS + i] = 1.0;
        }
        Self { params }
    }
}

/// Loss of a month's gain and its derivative: losses count double.
fn stage(z: f64) -> (f64, f64) {
    if z < 0.0 {
        (-2.0 * z, -2.0)
    } else {
        (-z, -1.0)
    }
}

impl Policy {
    fn sqrt_gamma(&self) -> f64 {
        self.params[LOG_SQRT_GAMMA].exp()
    }

    /// The month's SOCP for holdings `h`. Rows: a ≥ h⁺ − h (12), a ≥ h − h⁺ (12), v ≥ −h⁺ (12),
    /// v ≥ 0 (12), budget (1), then the 14-row second-order cone.
    pub fn problem(&self, h: &Array1<f64>) -> Result<ConicProblem, BenchError> {
        let (hp, a, v, s) = (0, ASSETS, 2 * ASSETS, 3 * ASSETS);
        let mut t = (Vec::new(), Vec::new(), Vec::new());
        let mut put = |r: usize, c: usize, x: f64| {
            t.0.push(r);
            t.1.push(c);
            t.2.push(x);
        };
        let mut bb = vec![0.0; 4 * ASSETS + 1];
        for i in 0..ASSETS {
            // s = h − h⁺ + a ≥ 0 and s = −h + h⁺ + a ≥ 0.
            put(i, hp + i, 1.0);
            put(i, a + i, -1.0);
            bb[i] = h[i];
            put(ASSETS + i, hp + i, -1.0);
            put(ASSETS + i, a + i, -1.0);
            bb[ASSETS + i] = -h[i];
            // s = h⁺ + v ≥ 0 and s = v ≥ 0.
            put(2 * ASSETS + i, hp + i, -1.0);
            put(2 * ASSETS + i, v + i, -1.0);
            put(3 * ASSETS + i, v + i, -1.0);
        }
        // Budget: 1ᵀh − 1ᵀh⁺ − κ_tc 1ᵀa − κ_sh 1ᵀv ≥ 0.
        let budget = 4 * ASSETS;
        for i in 0..ASSETS {
            put(budget, hp + i, 1.0);
            put(budget, a + i, KAPPA_TC);
            put(budget, v + i, KAPPA_SH);
        }
        bb[budget] = h.sum();
        // SOC: (s + 1, 2√γ S h⁺, s − 1).
        let soc = budget + 1;
        let g2 = 2.0 * self.sqrt_gamma();
        put(soc, s, -1.0);
        bb.push(1.0);
        for i in 0..ASSETS {
            for j in 0..ASSETS {
                put(
                    soc + 1 + i,
                    hp + j,
                    -g2 * S_SCALE * self.params[S0 + i * ASSETS + j],
                );
            }
            bb.push(0.0);
        }
        put(soc + 1 + ASSETS, s, -1.0);
        bb.push(-1.0);
        let m = bb.len();
        let amat = CscMatrix::from_triplets(m, N, &t.0, &t.1, &t.2)?;
        let mut c = Array1::zeros(N);
        for i in 0..ASSETS {
            c[hp + i] = -MU_SCALE * self.params[MU + i];
        }
        c[s] = 1.0;
        ConicProblem::new(
            None,
            amat,
            Array1::from(bb),
            c,
            vec![
                Cone::Nonnegative(4 * ASSETS + 1),
                Cone::SecondOrder(ASSETS + 2),
            ],
        )
        .map_err(BenchError::from)
    }

    /// Adds the parameter gradient of one month's conic gradient into `out`, and returns the
    /// gradient with respect to that month's holdings h (through b).
    fn chain(
        &self,
        problem: &ConicProblem,
        dc: &Array1<f64>,
        da: &Array1<f64>,
        db: &Array1<f64>,
        out: &mut Array1<f64>,
    ) -> Array1<f64> {
        for i in 0..ASSETS {
            out[MU + i] -= MU_SCALE * dc[i];
        }
        let soc = 4 * ASSETS + 1;
        let g2 = 2.0 * self.sqrt_gamma();
        for ((r, c, value), g) in problem.a().iter().zip(da.iter()) {
            if r > soc && r <= soc + ASSETS && c < ASSETS {
                let i = r - soc - 1;
                out[S0 + i * ASSETS + c] -= g2 * S_SCALE * g;
                // value = −2√γ S_ic and d√γ/d log√γ = √γ.
                out[LOG_SQRT_GAMMA] += g * value;
            }
        }
        Array1::from_shape_fn(ASSETS, |i| db[i] - db[ASSETS + i] + db[4 * ASSETS])
    }
}

/// A rollout's cost, and with `backward`, the gradient of that cost.
pub fn rollout(
    policy: &Policy,
    scenario: &Scenario,
    backward: Option<&Lpgd>,
) -> Result<(f64, Option<Array1<f64>>), BenchError> {
    let mut oracle = ClarabelOracle::new();
    let forward = SolveSettings::new();
    let mut h = scenario.h0.clone();
    let mut tape: Vec<(ConicProblem, ConicSolution, f64)> = Vec::with_capacity(HORIZON);
    let mut cost = 0.0;
    for (t, r) in scenario.returns.iter().enumerate() {
        let problem = policy.problem(&h)?;
        let sol = month_forward(&forward, &mut oracle, &problem, t)?;
        let h_next = r * &sol.x.slice(lpgd_core::ndarray::s![..ASSETS]);
        let z = h_next.sum() - h.sum();
        let (l, dl) = stage(z);
        cost += l / HORIZON as f64;
        tape.push((problem, sol, dl / HORIZON as f64));
        h = h_next;
    }
    let Some(lpgd) = backward else {
        return Ok((cost, None));
    };
    let mut grad = Array1::zeros(policy.params.len());
    let mut dh_next = Array1::<f64>::zeros(ASSETS);
    for (t, (problem, sol, dl)) in tape.iter().enumerate().rev() {
        let r = &scenario.returns[t];
        // z_t = 1ᵀ(r ∘ h⁺) − 1ᵀh: ∂/∂h⁺ = dl·r; h_{t+1} = r ∘ h⁺ carries dh_{t+1} back.
        let mut dx = Array1::zeros(N);
        for i in 0..ASSETS {
            dx[i] = dl * r[i] + r[i] * dh_next[i];
        }
        let g = month_backward(lpgd, &mut oracle, problem, sol, dx, t)?;
        let dh = policy.chain(problem, &g.dc, &g.da, &g.db, &mut grad);
        dh_next = dh - *dl;
    }
    Ok((cost, Some(grad)))
}

/// Mean cost of `policy` over `scenarios` (in parallel).
pub fn mean_cost(policy: &Policy, scenarios: &[Scenario]) -> Result<f64, BenchError> {
    let costs: Vec<f64> = scenarios
        .par_iter()
        .map(|s| rollout(policy, s, None).map(|r| r.0))
        .collect::<Result<_, _>>()?;
    Ok(costs.iter().sum::<f64>() / costs.len().max(1) as f64)
}

/// Hyper-parameters of [`train_markowitz`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkowitzSetup {
    /// Gradient steps.
    pub iterations: usize,
    /// Rollouts per step.
    pub rollouts: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the training scenarios.
    pub seed: u32,
}

/// Trains the policy with the backward pass `lpgd` (centred side is forced) and reports the
/// test cost per iteration.
pub fn train_markowitz(
    market: &Market,
    test: &[Scenario],
    lpgd: Lpgd,
    setup: &MarkowitzSetup,
    progress: impl FnMut(&CurvePoint),
) -> Result<Vec<CurvePoint>, BenchError> {
    let lpgd = lpgd.with_side(Side::Centered);
    let mut policy = Policy::default();
    let mut adam = Adam::new(policy.params.len(), setup.learning_rate);
    let step = |policy: &mut Policy, it: usize| {
        let scenarios = market.scenarios(setup.rollouts, setup.seed.wrapping_add(it as u32));
        let results: Vec<(f64, Option<Array1<f64>>)> = scenarios
            .par_iter()
            .map(|s| rollout(policy, s, Some(&lpgd)))
            .collect::<Result<_, _>>()?;
        let k = results.len() as f64;
        let loss = results.iter().map(|r| r.0).sum::<f64>() / k;
        let mut grad = Array1::zeros(policy.params.len());
        for (_, g) in &results {
            if let Some(g) = g {
                grad = grad + g / k;
            }
        }
        adam.step(&mut policy.params, &grad);
        Ok(loss)
    };
    let evaluate = |policy: &Policy| mean_cost(policy, test);
    training_curve(&mut policy, setup.iterations, step, evaluate, progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::ConicCotangent;

    fn perturbed_policy() -> Policy {
        // Off the initial point, so that S has off-diagonal entries.
        let mut policy = Policy::default();
        let mut rng = RandomState::new(3);
        for p in policy.params.iter_mut() {
            *p += 0.002 * rng.standard_normal();
        }
        policy
    }

    #[test]
    fn one_month_chain_matches_finite_differences() {
        // d x_j / d(μ₀, log √γ, h₀) of one policy solve: LPGD (small τ) chained to the
        // parameters and the holdings against central differences.
        let market = Market::new(1);
        let h0 = market.scenarios(1, 2)[0].h0.clone();
        let policy = perturbed_policy();
        let solve = |p: &Policy, h: &Array1<f64>| {
            SolveSettings::new()
                .forward(&mut ClarabelOracle::new(), &p.problem(h).unwrap())
                .unwrap()
        };
        let base = solve(&policy, &h0);
        let problem = policy.problem(&h0).unwrap();
        let lpgd = Lpgd::new(1e-5).unwrap().with_side(Side::Centered);
        for j in [0, 3, 7] {
            let mut dx = Array1::zeros(N);
            dx[j] = 1.0;
            let g = lpgd
                .backward(
                    &mut ClarabelOracle::new(),
                    &problem,
                    &base,
                    &ConicCotangent::on_x(&problem, dx),
                )
                .unwrap()
                .gradient;
            let mut out = Array1::zeros(policy.params.len());
            let dh = policy.chain(&problem, &g.dc, &g.da, &g.db, &mut out);
            let h = 1e-6;
            for k in [MU, MU + 3, S0 + 1, LOG_SQRT_GAMMA] {
                let (mut a, mut b) = (policy.clone(), policy.clone());
                a.params[k] += h;
                b.params[k] -= h;
                let fd = (solve(&a, &h0).x[j] - solve(&b, &h0).x[j]) / (2.0 * h);
                assert!(
                    (fd - out[k]).abs() < 1e-2 * (1.0 + fd.abs()),
                    "x{j} / p{k}: fd {fd} vs {}",
                    out[k]
                );
            }
            let (mut ha, mut hb) = (h0.clone(), h0.clone());
            ha[2] += h;
            hb[2] -= h;
            let fd = (solve(&policy, &ha).x[j] - solve(&policy, &hb).x[j]) / (2.0 * h);
            assert!(
                (fd - dh[2]).abs() < 1e-2 * (1.0 + fd.abs()),
                "x{j} / h2: fd {fd} vs {}",
                dh[2]
            );
        }
    }

    #[test]
    fn rollout_gradient_matches_finite_differences() {
        // Through all 24 months. Clarabel stops with complementarity slacks of ~2e-5 on active
        // rows, so the solver's output map (what differences see) and LPGD's limit (the derivative
        // of the exact solution) differ by ~0.5 % per month on the holdings route; compounded over
        // 24 months with cancellations the rollout gradient agrees to within 15 % (10 % observed
        // on μ₀ here). The one-month test above is the precise check of the chain.
        let market = Market::new(1);
        let scenario = &market.scenarios(1, 2)[0];
        let policy = perturbed_policy();
        let lpgd = Lpgd::new(1e-4).unwrap().with_side(Side::Centered);
        let grad = rollout(&policy, scenario, Some(&lpgd)).unwrap().1.unwrap();
        let cost = |p: &Array1<f64>| {
            rollout(&Policy { params: p.clone() }, scenario, None)
                .unwrap()
                .0
        };
        for k in [MU, MU + 5, S0, S0 + 13, LOG_SQRT_GAMMA] {
            let h = 1e-6;
            let (mut a, mut b) = (policy.params.clone(), policy.params.clone());
            a[k] += h;
            b[k] -= h;
            let fd = (cost(&a) - cost(&b)) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 0.15 * fd.abs().max(2e-3),
                "param {k}: fd {fd} vs {}",
                grad[k]
            );
        }
    }
}
