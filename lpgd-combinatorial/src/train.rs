//! The PyEPO protocol: a linear model `ĉ = Θx + β` trained with Adam through a combinatorial
//! layer, with any of the gradient rules, evaluated by normalised regret.

use crate::data::normalized_regret;
use crate::numpy_rng::RandomState;
use crate::rules::{dpo_backward, pfyl, spo_plus, Perturbation};
use crate::GridShortestPath;
use lpgd_core::{checked_solve, CombinatorialProblem, Lpgd, LpgdError, Oracle, Side, SolveError};
use ndarray::{Array1, Array2, Axis};
use std::time::Instant;

/// A gradient rule for training (names as in PyEPO's comparisons).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// LPGD on the regret loss `cᵀy(ĉ)` with the given side and step τ (right = DBB).
    Lpgd {
        /// The side.
        side: Side,
        /// The step τ.
        tau: f64,
    },
    /// Negative identity on the regret loss.
    Nid,
    /// The perturbed optimizer on the regret loss of `ȳ`, with the mean-reward baseline.
    Dpo(Perturbation),
    /// The perturbed Fenchel–Young loss against the true solution.
    Pfyl(Perturbation),
    /// SPO+.
    SpoPlus,
}

impl Rule {
    /// The name used in reports (`lpgd-right`, `lpgd-left`, `lpgd-centered`, `nid`, `dpo`, `pfyl`,
    /// `spo+`).
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Lpgd {
                side: Side::Right, ..
            } => "lpgd-right",
            Rule::Lpgd {
                side: Side::Left, ..
            } => "lpgd-left",
            Rule::Lpgd {
                side: Side::Centered,
                ..
            } => "lpgd-centered",
            Rule::Nid => "nid",
            Rule::Dpo(_) => "dpo",
            Rule::Pfyl(_) => "pfyl",
            Rule::SpoPlus => "spo+",
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the initialisation, the shuffles and the perturbations.
    pub seed: u32,
}

impl Default for TrainConfig {
    /// PyEPO's tutorial settings: 20 epochs, batch 32, learning rate 0.01.
    fn default() -> Self {
        Self {
            epochs: 20,
            batch: 32,
            learning_rate: 0.01,
            seed: 42,
        }
    }
}

impl TrainConfig {
    /// PyEPO's tutorial settings with `epochs` epochs.
    pub fn with_epochs(epochs: usize) -> Self {
        Self {
            epochs,
            ..Self::default()
        }
    }
}

/// PyEPO's shortest-path setting: a training and a test set and the grid's oracle that solved
/// their true costs ([`shortest_path_sets`]).
#[derive(Debug, Clone)]
pub struct ShortestPathSets {
    /// The 5 × 5 grid's shortest-path oracle.
    pub oracle: GridShortestPath,
    /// The training set.
    pub train: Dataset,
    /// The test set.
    pub test: Dataset,
}

impl ShortestPathSets {
    /// Trains the linear model on the training set with `rule` ([`train`], no progress
    /// callback).
    pub fn train(&mut self, rule: Rule, config: TrainConfig) -> Result<TrainReport, SolveError> {
        train(
            rule,
            &mut self.oracle,
            &self.train,
            &self.test,
            config,
            |_, _| {},
        )
    }
}

/// PyEPO's shortest-path setting (a 5 × 5 grid, 5 features, degree 4, noise half-width 0.5,
/// seed 135): `n_train` training and `n_test` test instances.
pub fn shortest_path_sets(n_train: usize, n_test: usize) -> Result<ShortestPathSets, SolveError> {
    let total = n_train
        .checked_add(n_test)
        .ok_or(lpgd_core::InvalidInput::TooLarge {
            field: "instances",
            size: u64::MAX,
            limit: usize::MAX as u64,
        })?;
    let data = crate::data::shortest_path_data(total, 5, (5, 5), 4, 0.5, 135)?;
    let mut oracle = GridShortestPath::new(5, 5)?;
    let (train, test) = Dataset::split(&mut oracle, &data.features, &data.costs, n_train)?;
    Ok(ShortestPathSets {
        oracle,
        train,
        test,
    })
}

/// A data set: features and true costs, one row per instance; the layer minimises.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Features (n × p).
    pub features: Array2<f64>,
    /// True costs (n × d), in the oracle's minimising sense.
    pub costs: Array2<f64>,
    /// True optimal solutions (n × d).
    pub solutions: Array2<f64>,
    /// True optimal values (n).
    pub values: Array1<f64>,
}

impl Dataset {
    /// Rows `[0, at)` and `[at, n)` of `features` and `costs` as a training and a test set, each
    /// instance's true cost solved with `oracle`.
    pub fn split<O: Oracle<CombinatorialProblem> + ?Sized>(
        oracle: &mut O,
        features: &Array2<f64>,
        costs: &Array2<f64>,
        at: usize,
    ) -> Result<(Self, Self), SolveError> {
        let n = costs.nrows();
        if at > n || features.nrows() != n {
            return Err(lpgd_core::InvalidInput::Length {
                field: "dataset rows",
                expected: n,
                found: at.max(features.nrows()),
            }
            .into());
        }
        let rows = |r: std::ops::Range<usize>| {
            (
                features.slice(ndarray::s![r.clone(), ..]).to_owned(),
                costs.slice(ndarray::s![r, ..]).to_owned(),
            )
        };
        let (train_f, train_c) = rows(0..at);
        let (test_f, test_c) = rows(at..n);
        Ok((
            Self::new(oracle, train_f, train_c)?,
            Self::new(oracle, test_f, test_c)?,
        ))
    }

    /// Solves every instance's true cost with `oracle`.
    pub fn new<O: Oracle<CombinatorialProblem> + ?Sized>(
        oracle: &mut O,
        features: Array2<f64>,
        costs: Array2<f64>,
    ) -> Result<Self, SolveError> {
        let mut solutions = Array2::zeros(costs.dim());
        for (i, c) in costs.rows().into_iter().enumerate() {
            solutions.row_mut(i).assign(&checked_solve(
                oracle,
                &CombinatorialProblem::new(c.to_owned())?,
                None,
            )?);
        }
        let values = (&costs * &solutions).sum_axis(Axis(1));
        Ok(Self {
            features,
            costs,
            solutions,
            values,
        })
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// Whether there are no instances.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over one array of parameters, of any dimension.
#[derive(Debug, Clone)]
pub struct Adam<D: ndarray::Dimension> {
    lr: f64,
    m: ndarray::Array<f64, D>,
    v: ndarray::Array<f64, D>,
    steps: i32,
}

impl<D: ndarray::Dimension> Adam<D> {
    /// Adam with learning rate `lr` for parameters of `shape`.
    pub fn new<Sh: ndarray::ShapeBuilder<Dim = D> + Clone>(shape: Sh, lr: f64) -> Self {
        Self {
            lr,
            m: ndarray::Array::zeros(shape.clone()),
            v: ndarray::Array::zeros(shape),
            steps: 0,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate (for schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// One step of `params` against `grad`.
    pub fn step(&mut self, params: &mut ndarray::Array<f64, D>, grad: &ndarray::Array<f64, D>) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.steps += 1;
        let (c1, c2) = (1.0 - B1.powi(self.steps), 1.0 - B2.powi(self.steps));
        self.m = &self.m * B1 + grad * (1.0 - B1);
        self.v = &self.v * B2 + &grad.mapv(|g| g * g) * (1.0 - B2);
        let lr = self.lr;
        ndarray::Zip::from(params)
            .and(&self.m)
            .and(&self.v)
            .for_each(|p, &m, &v| *p -= lr * (m / c1) / ((v / c2).sqrt() + 1e-8));
    }
}

/// The linear model `ĉ = Θx + β` with Adam state.
#[derive(Debug, Clone)]
pub struct LinearModel {
    theta: Array2<f64>,
    beta: Array1<f64>,
    adam_theta: Adam<ndarray::Ix2>,
    adam_beta: Adam<ndarray::Ix1>,
}

impl LinearModel {
    /// PyTorch's `nn.Linear` initialisation: uniform in ±1/√p.
    pub fn new(p: usize, d: usize, rng: &mut RandomState) -> Self {
        let bound = 1.0 / (p as f64).sqrt();
        let theta = Array2::from_shape_simple_fn((d, p), || rng.uniform(-bound, bound));
        let beta = Array1::from_shape_simple_fn(d, || rng.uniform(-bound, bound));
        Self {
            adam_theta: Adam::new((d, p), 0.0),
            adam_beta: Adam::new(d, 0.0),
            theta,
            beta,
        }
    }

    /// A model with the given parameters (Θ is d × p, β has d entries), e.g. trained elsewhere.
    pub fn from_parameters(theta: Array2<f64>, beta: Array1<f64>) -> Self {
        let (d, p) = theta.dim();
        Self {
            adam_theta: Adam::new((d, p), 0.0),
            adam_beta: Adam::new(d, 0.0),
            theta,
            beta,
        }
    }

    /// The weights Θ (d × p).
    pub fn theta(&self) -> &Array2<f64> {
        &self.theta
    }

    /// The bias β (d).
    pub fn beta(&self) -> &Array1<f64> {
        &self.beta
    }

    /// Predicted costs for a feature vector.
    pub fn predict(&self, x: ndarray::ArrayView1<'_, f64>) -> Array1<f64> {
        self.theta.dot(&x) + &self.beta
    }

    /// One Adam step with gradients for Θ and β.
    fn adam(&mut self, g_theta: &Array2<f64>, g_beta: &Array1<f64>, lr: f64) {
        self.adam_theta.set_lr(lr);
        self.adam_beta.set_lr(lr);
        self.adam_theta.step(&mut self.theta, g_theta);
        self.adam_beta.step(&mut self.beta, g_beta);
    }
}

/// Fisher–Yates shuffle with the seeded generator (the epoch order of [`train`]).
pub fn shuffle(order: &mut [usize], rng: &mut RandomState) {
    for i in (1..order.len()).rev() {
        let j = rng.randint(0, i as i64 + 1) as usize;
        order.swap(i, j);
    }
}

/// The outcome of training with one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Test regret after each epoch (a fraction).
    pub regret_per_epoch: Vec<f64>,
    /// Test regret at the end.
    pub test_regret: f64,
    /// Wall time of training (seconds).
    pub wall_s: f64,
}

fn lpgd_error(e: LpgdError) -> SolveError {
    match e {
        LpgdError::InvalidInput(i) => SolveError::InvalidInput(i),
        LpgdError::Forward(s) => s,
        LpgdError::Perturbed { attempts, .. } => attempts
            .last()
            .map_or(SolveError::Numerical, |a| a.error.clone()),
        _ => SolveError::Numerical,
    }
}

/// The gradient of the rule's loss with respect to the predicted cost of one instance.
fn cost_gradient<O: Oracle<CombinatorialProblem> + ?Sized>(
    rule: Rule,
    oracle: &mut O,
    c_hat: &Array1<f64>,
    c: &Array1<f64>,
    y_star: &Array1<f64>,
    rng: &mut RandomState,
) -> Result<Array1<f64>, SolveError> {
    let layer = CombinatorialProblem::new(c_hat.clone())?;
    Ok(match rule {
        Rule::Lpgd { side, tau } => {
            let lpgd = Lpgd::new(tau)?.with_side(side);
            let y = lpgd.forward(oracle, &layer).map_err(lpgd_error)?;
            lpgd.backward(oracle, &layer, &y, c)
                .map_err(lpgd_error)?
                .gradient
        }
        Rule::Nid => crate::rules::nid(c),
        Rule::Dpo(p) => dpo_backward(&p.solve(oracle, c_hat, rng)?, c, p.sigma, true)?,
        Rule::Pfyl(p) => pfyl(&p.solve(oracle, c_hat, rng)?, c_hat, p.sigma, y_star)?.1,
        Rule::SpoPlus => spo_plus(oracle, c_hat, c, y_star)?.1,
    })
}

/// Test regret of the model's decisions.
pub fn regret<O: Oracle<CombinatorialProblem> + ?Sized>(
    model: &LinearModel,
    oracle: &mut O,
    test: &Dataset,
) -> Result<f64, SolveError> {
    let mut decisions = Array2::zeros(test.costs.dim());
    for i in 0..test.len() {
        let c_hat = model.predict(test.features.row(i));
        decisions.row_mut(i).assign(&checked_solve(
            oracle,
            &CombinatorialProblem::new(c_hat)?,
            None,
        )?);
    }
    Ok(normalized_regret(&test.costs, &decisions, &test.values))
}

/// Trains a fresh linear model with `rule` and reports the test regret per epoch. `progress` is
/// called after each epoch with (epoch, regret).
pub fn train<O: Oracle<CombinatorialProblem> + ?Sized>(
    rule: Rule,
    oracle: &mut O,
    train_set: &Dataset,
    test_set: &Dataset,
    config: TrainConfig,
    mut progress: impl FnMut(usize, f64),
) -> Result<TrainReport, SolveError> {
    let start = Instant::now();
    let mut rng = RandomState::new(config.seed);
    let (p, d) = (train_set.features.ncols(), train_set.costs.ncols());
    let mut model = LinearModel::new(p, d, &mut rng);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut regret_per_epoch = Vec::with_capacity(config.epochs);
    for epoch in 0..config.epochs {
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(config.batch.max(1)) {
            let mut g_theta = Array2::zeros((d, p));
            let mut g_beta = Array1::zeros(d);
            for &i in chunk {
                let x = train_set.features.row(i);
                let c_hat = model.predict(x);
                let c = train_set.costs.row(i).to_owned();
                let y_star = train_set.solutions.row(i).to_owned();
                let g = cost_gradient(rule, oracle, &c_hat, &c, &y_star, &mut rng)?;
                g_theta += &g.view().insert_axis(Axis(1)).dot(&x.insert_axis(Axis(0)));
                g_beta += &g;
            }
            let scale = 1.0 / chunk.len() as f64;
            model.adam(&(g_theta * scale), &(g_beta * scale), config.learning_rate);
        }
        let r = regret(&model, oracle, test_set)?;
        progress(epoch, r);
        regret_per_epoch.push(r);
    }
    Ok(TrainReport {
        test_regret: *regret_per_epoch.last().unwrap_or(&f64::NAN),
        regret_per_epoch,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spo_plus_training_lowers_the_regret() {
        let mut sets = shortest_path_sets(200, 200).unwrap();
        let config = TrainConfig::with_epochs(5);
        let report = sets.train(Rule::SpoPlus, config).unwrap();
        let untrained = {
            let mut rng = RandomState::new(config.seed);
            let model = LinearModel::new(5, 40, &mut rng);
            regret(&model, &mut sets.oracle, &sets.test).unwrap()
        };
        assert!(
            report.test_regret < 0.5 * untrained,
            "{} vs untrained {untrained}",
            report.test_regret
        );
    }

    #[test]
    fn training_is_deterministic_per_seed() {
        let mut sets = shortest_path_sets(64, 200).unwrap();
        let config = TrainConfig::with_epochs(2);
        let rule = Rule::Pfyl(Perturbation::default());
        let a = sets.train(rule, config).unwrap();
        let b = sets.train(rule, config).unwrap();
        assert_eq!(a.regret_per_epoch, b.regret_per_epoch);
    }
}
