//! The historical Markowitz layer against finite differences, high-accuracy solves and the
//! reference notebook's numbers.

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
