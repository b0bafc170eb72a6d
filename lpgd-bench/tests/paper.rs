//! Scaled-down runs of the paper's experiments: deterministic, the loss goes down, and LPGD's
//! gradient is non-zero where the LP's true derivative is zero.

use lpgd_bench::paper::markowitz::{rollout, train_markowitz, Market, MarkowitzSetup, Policy};
use lpgd_bench::paper::sudoku::{
    batch_gradient, sudoku_data, train_sudoku, true_rules, Method, SudokuData, SudokuModel,
    SudokuSetup,
};
use lpgd_bench::paper::Adam;
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{s, Array1};
use lpgd_core::{ConicCotangent, Lpgd, Side};
use lpgd_solvers::ClarabelOracle;

fn split(data: &SudokuData, a: usize, b: usize) -> SudokuData {
    SudokuData {
        puzzles: data.puzzles.slice(s![a..b, ..]).to_owned(),
        solutions: data.solutions.slice(s![a..b, ..]).to_owned(),
    }
}

#[test]
fn sudoku_scaled_down_learns_and_is_deterministic() {
    let data = sudoku_data(400, 11);
    let (train, test) = (split(&data, 0, 300), split(&data, 300, 400));
    let setup = SudokuSetup {
        m: 40,
        epochs: 3,
        batch: 50,
        learning_rate: 0.1,
        seed: 4,
    };
    let method = Method::Lpgd { tau: 1e4, rho: 0.1 };
    let curve = train_sudoku(&train, &test, method, &setup, |_| {}).unwrap();
    assert_eq!(curve.len(), 4);
    let losses: Vec<f64> = curve[1..].iter().map(|p| p.train_loss).collect();
    assert!(losses[2] < 0.8 * losses[0], "{losses:?}");
    let again = train_sudoku(&train, &test, method, &setup, |_| {}).unwrap();
    let tests = |c: &[lpgd_bench::paper::CurvePoint]| {
        c.iter()
            .map(|p| (p.train_loss.to_bits(), p.test))
            .collect::<Vec<_>>()
    };
    assert_eq!(tests(&curve), tests(&again));
    // Gradient descent through the regularised layer also lowers the loss (more slowly).
    let gd = Method::Gd {
        eps: 1e-3,
        tau: 1e-3,
    };
    let curve = train_sudoku(&train, &test, gd, &setup, |_| {}).unwrap();
    assert!(curve[3].train_loss < curve[1].train_loss, "{curve:?}");
}

#[test]
fn lpgd_gradient_is_nonzero_where_the_lp_derivative_is_zero() {
    // With the true rules the LP's solution is a unique vertex, piecewise constant in the cost −p,
    // so the true derivative of the loss with respect to the cost is zero (a centred difference
    // with tiny τ, ρ = 0, finds exactly that); LPGD with the paper's τ and ρ returns an
    // informative, non-zero direction. The target is a wrong board, so the loss is not at zero.
    let data = sudoku_data(4, 2);
    let model = SudokuModel::from_parts(&true_rules(), &Array1::from_elem(64, 0.25));
    let puzzle = data.puzzles.row(0).to_owned();
    let target = data.solutions.row(1).to_owned();
    let problem = model.problem(&puzzle, 0.0).unwrap();
    let mut oracle = ClarabelOracle::new();
    let x = Lpgd::new(1.0)
        .unwrap()
        .forward(&mut oracle, &problem)
        .unwrap();
    let dx = (&x.x - &target) * (2.0 / 64.0);
    let cot = ConicCotangent::on_x(&problem, dx);
    let dc = |lpgd: Lpgd, oracle: &mut ClarabelOracle| {
        lpgd.with_side(Side::Centered)
            .backward(oracle, &problem, &x, &cot)
            .unwrap()
            .gradient
            .dc
    };
    let true_dc = dc(Lpgd::new(1e-7).unwrap(), &mut oracle);
    let norm = |v: &Array1<f64>| v.dot(v).sqrt();
    assert!(norm(&true_dc) < 1e-7, "true derivative {}", norm(&true_dc));
    let lpgd_dc = dc(Lpgd::new(1e4).unwrap().with_rho(0.1).unwrap(), &mut oracle);
    assert!(norm(&lpgd_dc) > 1e-4, "LPGD {}", norm(&lpgd_dc));
    // And through a randomly initialised model: LPGD moves the learnt constraints.
    let model = SudokuModel::new(40, &mut RandomState::new(1));
    let (grad, _) = batch_gradient(
        &model,
        Method::Lpgd { tau: 1e4, rho: 0.1 },
        &[puzzle],
        &[target],
    )
    .unwrap();
    assert!(norm(&grad) > 1e-3);
}

#[test]
fn markowitz_scaled_down_lowers_the_cost_and_is_deterministic() {
    // On a fixed set of rollouts, LPGD steps lower their cost.
    let market = Market::new(0);
    let scenarios = market.scenarios(6, 5);
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Centered);
    let mut policy = Policy::default();
    let mut adam = Adam::new(policy.params.len(), 1e-2);
    let mean = |policy: &Policy| -> (f64, Array1<f64>) {
        let mut cost = 0.0;
        let mut grad = Array1::zeros(policy.params.len());
        for s in &scenarios {
            let (c, g) = rollout(policy, s, Some(&lpgd)).unwrap();
            cost += c / 6.0;
            grad = grad + g.unwrap() / 6.0;
        }
        (cost, grad)
    };
    let (first, _) = mean(&policy);
    for _ in 0..12 {
        let (_, g) = mean(&policy);
        adam.step(&mut policy.params, &g);
    }
    let (last, _) = mean(&policy);
    assert!(last < first - 1e-4, "{first} -> {last}");

    // The training loop (fresh rollouts per step) is deterministic per seed.
    let test = market.scenarios(8, 99);
    let setup = MarkowitzSetup {
        iterations: 3,
        rollouts: 4,
        learning_rate: 1e-2,
        seed: 1,
    };
    let curve = train_markowitz(&market, &test, lpgd, &setup, |_| {}).unwrap();
    let again = train_markowitz(&market, &test, lpgd, &setup, |_| {}).unwrap();
    assert_eq!(curve.len(), 4);
    assert_eq!(
        curve.iter().map(|p| p.test).collect::<Vec<_>>(),
        again.iter().map(|p| p.test).collect::<Vec<_>>()
    );
}
