//! The gradients flowing through the candle ops equal the library's own backward passes, match
//! finite differences on a smooth layer, and malformed tensors are errors.

use candle_core::{DType, Device, Tensor, Var};
use lpgd_candle::{pfyl_loss, spo_plus_loss, CombinatorialLayer, ConicLayer, LayerRule};
use lpgd_combinatorial::data::shortest_path_data;
use lpgd_combinatorial::rules::{dpo_backward, pfyl, spo_plus, Perturbation};
use lpgd_combinatorial::{GridShortestPath, RandomState};
use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{
    CombinatorialProblem, ConicCotangent, ConicProblem, CscMatrix, Lpgd, Oracle, Side,
};
use lpgd_solvers::ClarabelOracle;

fn costs() -> (Vec<Vec<f64>>, Tensor) {
    let data = shortest_path_data(4, 5, (5, 5), 4, 0.5, 135).unwrap();
    let rows: Vec<Vec<f64>> = (0..4).map(|i| data.costs.row(i).to_vec()).collect();
    let t = Tensor::new(rows.clone(), &Device::Cpu).unwrap();
    (rows, t)
}

fn upstream() -> Tensor {
    let g: Vec<Vec<f64>> = (0..4)
        .map(|i| {
            (0..40)
                .map(|j| ((i * 7 + j * 3) % 5) as f64 - 2.0)
                .collect()
        })
        .collect();
    Tensor::new(g, &Device::Cpu).unwrap()
}

/// ∂(Σ y ⊙ G)/∂costs through the layer.
fn layer_gradient(rule: LayerRule, costs: &Tensor) -> (Tensor, Vec<Vec<f64>>) {
    let var = Var::from_tensor(costs).unwrap();
    let layer = CombinatorialLayer::new(|| GridShortestPath::new(5, 5).unwrap(), 40, rule);
    let y = layer.forward(var.as_tensor()).unwrap();
    let loss = (&y * upstream()).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    (y, grads.get(&var).unwrap().to_vec2::<f64>().unwrap())
}

#[test]
fn combinatorial_op_gradients_equal_the_plain_backward() {
    let (rows, t) = costs();
    let g = upstream().to_vec2::<f64>().unwrap();
    for side in [Side::Right, Side::Left, Side::Centered] {
        let lpgd = Lpgd::new(2.0).unwrap().with_side(side);
        let (y, grad) = layer_gradient(LayerRule::Lpgd(lpgd), &t);
        let y = y.to_vec2::<f64>().unwrap();
        for i in 0..4 {
            let mut sp = GridShortestPath::new(5, 5).unwrap();
            let p = CombinatorialProblem::new(Array1::from(rows[i].clone())).unwrap();
            let z = lpgd.forward(&mut sp, &p).unwrap();
            assert_eq!(y[i], z.to_vec());
            let expected = lpgd
                .backward(&mut sp, &p, &z, &Array1::from(g[i].clone()))
                .unwrap()
                .gradient;
            assert_eq!(grad[i], expected.to_vec(), "{side:?} row {i}");
        }
    }
    let (_, grad) = layer_gradient(LayerRule::Nid, &t);
    assert_eq!(
        grad,
        g.iter()
            .map(|r| r.iter().map(|v| -v).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
}

#[test]
fn dpo_op_uses_the_same_samples_forward_and_backward() {
    let (rows, t) = costs();
    let g = upstream().to_vec2::<f64>().unwrap();
    let perturbation = Perturbation {
        samples: 5,
        sigma: 0.5,
    };
    let (y, grad) = layer_gradient(
        LayerRule::Dpo {
            perturbation,
            seed: 9,
        },
        &t,
    );
    let y = y.to_vec2::<f64>().unwrap();
    for i in 0..4 {
        let theta = Array1::from(rows[i].clone());
        let samples = perturbation
            .solve(
                &mut GridShortestPath::new(5, 5).unwrap(),
                &theta,
                &mut RandomState::new(9 + i as u32),
            )
            .unwrap();
        assert_eq!(y[i], samples.mean().unwrap().to_vec());
        let expected = dpo_backward(&samples, &Array1::from(g[i].clone()), 0.5, true).unwrap();
        assert_eq!(grad[i], expected.to_vec());
    }
}

#[test]
fn losses_carry_the_rules_gradients() {
    let (rows, t) = costs();
    let mut sp = GridShortestPath::new(5, 5).unwrap();
    let y_star: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            sp.solve(
                &CombinatorialProblem::new(Array1::from(r.clone())).unwrap(),
                None,
            )
            .unwrap()
            .to_vec()
        })
        .collect();
    let y_star_t = Tensor::new(y_star.clone(), &Device::Cpu).unwrap();
    let predicted: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().rev().copied().collect())
        .collect();
    let var = Var::new(predicted.clone(), &Device::Cpu).unwrap();

    let p = Perturbation {
        samples: 3,
        sigma: 1.0,
    };
    let loss = pfyl_loss(
        || GridShortestPath::new(5, 5).unwrap(),
        var.as_tensor(),
        &y_star_t,
        p,
        4,
    )
    .unwrap();
    let grads = loss.sum_all().unwrap().backward().unwrap();
    let grad = grads.get(&var).unwrap().to_vec2::<f64>().unwrap();
    let values = loss.to_vec2::<f64>().unwrap();
    for i in 0..4 {
        let theta = Array1::from(predicted[i].clone());
        let samples = p
            .solve(
                &mut GridShortestPath::new(5, 5).unwrap(),
                &theta,
                &mut RandomState::new(4 + i as u32),
            )
            .unwrap();
        let (l, g) = pfyl(&samples, &theta, 1.0, &Array1::from(y_star[i].clone())).unwrap();
        assert_eq!((values[i][0], grad[i].clone()), (l, g.to_vec()));
    }

    let loss = spo_plus_loss(
        || GridShortestPath::new(5, 5).unwrap(),
        var.as_tensor(),
        &t,
        &y_star_t,
    )
    .unwrap();
    let grads = (loss.sum_all().unwrap() * 3.0).unwrap().backward().unwrap();
    let grad = grads.get(&var).unwrap().to_vec2::<f64>().unwrap();
    for i in 0..4 {
        let (_, g) = spo_plus(
            &mut GridShortestPath::new(5, 5).unwrap(),
            &Array1::from(predicted[i].clone()),
            &Array1::from(rows[i].clone()),
            &Array1::from(y_star[i].clone()),
        )
        .unwrap();
        assert_eq!(
            grad[i],
            (g * 3.0).to_vec(),
            "the upstream factor is applied"
        );
    }
}

/// `min ½xᵀPx + cᵀx s.t. x₀ + x₁ + x₂ = 1, x ≥ −1` with a strictly convex P: smooth in its data.
fn qp() -> ConicProblem {
    let p = CscMatrix::from_dense(array![[2.0, 0.5, 0.0], [0.0, 1.5, 0.2], [0.0, 0.0, 1.0]].view())
        .unwrap();
    ConicProblem::builder(3)
        .cost(array![0.3, -0.2, 0.1])
        .quadratic(p)
        .equalities(array![[1.0, 1.0, 1.0]], array![1.0])
        .bounds([-1.0; 3], [f64::INFINITY; 3])
        .build()
        .unwrap()
}

#[test]
fn conic_op_gradient_equals_the_plain_backward_and_finite_differences() {
    let base = qp();
    let lpgd = Lpgd::new(1e-5).unwrap();
    let layer = ConicLayer::new(ClarabelOracle::high_accuracy, base.clone(), lpgd);
    let second = base.with_c(array![-0.4, 0.6, 0.0]).unwrap();
    let packed: Vec<Vec<f64>> = vec![layer.pack(&base), layer.pack(&second)];
    let var = Var::new(packed.clone(), &Device::Cpu).unwrap();
    let out = layer.forward(var.as_tensor()).unwrap();
    assert_eq!(out.dims(), &[2, layer.solution_width()]);
    let weights = Tensor::new(&[[1.0f64, -2.0, 0.5], [0.3, 0.0, 1.0]], &Device::Cpu).unwrap();
    let x = out.narrow(1, 0, 3).unwrap();
    let loss = (&x * &weights).unwrap().sum_all().unwrap();
    let grad = loss
        .backward()
        .unwrap()
        .get(&var)
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();

    // The plain backward of the core on the same rows.
    let w = weights.to_vec2::<f64>().unwrap();
    for (i, problem) in [&base, &second].into_iter().enumerate() {
        let mut oracle = ClarabelOracle::high_accuracy();
        let z = lpgd.forward(&mut oracle, problem).unwrap();
        let g = ConicCotangent::on_x(problem, Array1::from(w[i].clone()));
        let b = lpgd
            .backward(&mut oracle, problem, &z, &g)
            .unwrap()
            .gradient;
        let mut expected = b.dc.to_vec();
        expected.extend(b.db.iter());
        expected.extend(b.da.iter());
        expected.extend(b.dp.unwrap().iter());
        assert_eq!(grad[i], expected, "row {i}");
    }

    // Central finite differences of the same scalar loss, every packed entry of row 0.
    let h = 1e-5;
    let loss_at = |row: &[f64]| {
        let t = Tensor::new(vec![row.to_vec()], &Device::Cpu).unwrap();
        let x = layer
            .forward(&t)
            .unwrap()
            .narrow(1, 0, 3)
            .unwrap()
            .to_vec2::<f64>()
            .unwrap();
        x[0].iter().zip(&w[0]).map(|(a, b)| a * b).sum::<f64>()
    };
    for k in 0..layer.data_width() {
        let (mut up, mut down) = (packed[0].clone(), packed[0].clone());
        up[k] += h;
        down[k] -= h;
        let fd = (loss_at(&up) - loss_at(&down)) / (2.0 * h);
        assert!(
            (fd - grad[0][k]).abs() < 1e-4 * (1.0 + fd.abs()),
            "entry {k}: fd {fd} vs {}",
            grad[0][k]
        );
    }
}

#[test]
fn malformed_tensors_are_errors() {
    let layer =
        CombinatorialLayer::new(|| GridShortestPath::new(5, 5).unwrap(), 40, LayerRule::Nid);
    let wrong_width = Tensor::zeros((2, 39), DType::F64, &Device::Cpu).unwrap();
    assert!(layer.forward(&wrong_width).is_err());
    let one_d = Tensor::zeros(40, DType::F64, &Device::Cpu).unwrap();
    assert!(layer.forward(&one_d).is_err());
    let nan = Tensor::new(&[[f64::NAN; 40]], &Device::Cpu).unwrap();
    assert!(layer
        .forward(&nan)
        .unwrap_err()
        .to_string()
        .contains("not finite"));
    let ints = Tensor::zeros((1, 40), DType::U32, &Device::Cpu).unwrap();
    assert!(layer.forward(&ints).is_err());

    let conic = ConicLayer::new(ClarabelOracle::new, qp(), Lpgd::new(0.1).unwrap());
    let short = Tensor::zeros((1, conic.data_width() - 1), DType::F64, &Device::Cpu).unwrap();
    assert!(conic.forward(&short).is_err());
    // f32 works and keeps its dtype.
    let f32_row = Tensor::new(vec![conic.pack(&qp())], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    assert_eq!(conic.forward(&f32_row).unwrap().dtype(), DType::F32);

    // The losses' inputs must share one shape; the error names the one that does not.
    let oracle = || GridShortestPath::new(5, 5).unwrap();
    let c = Tensor::zeros((2, 40), DType::F64, &Device::Cpu).unwrap();
    let y = Tensor::zeros((3, 40), DType::F64, &Device::Cpu).unwrap();
    let message = spo_plus_loss(oracle, &c, &c, &y).unwrap_err().to_string();
    assert!(message.contains("true solutions [3, 40]"), "{message}");
    let perturbation = Perturbation {
        samples: 2,
        sigma: 1.0,
    };
    let message = pfyl_loss(oracle, &c, &wrong_width, perturbation, 0)
        .unwrap_err()
        .to_string();
    assert!(message.contains("true solutions [2, 39]"), "{message}");
}

/// Hostile tensors (issue 11): typed errors, never a panic or a silent NaN.
#[test]
fn hostile_inputs_are_errors_not_panics_or_nans() {
    let dev = Device::Cpu;
    // An upstream gradient near f64::MAX: the perturbed costs overflow; an error names the item.
    let layer = CombinatorialLayer::new(
        || GridShortestPath::new(5, 5).unwrap(),
        40,
        LayerRule::Lpgd(Lpgd::new(1.0).unwrap().with_side(Side::Right)),
    );
    let var = Var::new(vec![vec![1.0_f64; 40]], &dev).unwrap();
    let y = layer.forward(var.as_tensor()).unwrap();
    let loss = (y * 1e308).unwrap().sum_all().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loss.backward()));
    match outcome {
        Ok(Err(e)) => assert!(e.to_string().contains("batch item 0"), "{e}"),
        Ok(Ok(grads)) => {
            let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
            assert!(g.to_vec1::<f64>().unwrap().iter().all(|v| v.is_finite()));
        }
        Err(_) => panic!("backward panicked"),
    }
    // A perturbation of scale 0 divides by zero: refused.
    let dpo = CombinatorialLayer::new(
        || GridShortestPath::new(5, 5).unwrap(),
        40,
        LayerRule::Dpo {
            perturbation: Perturbation {
                samples: 4,
                sigma: 0.0,
            },
            seed: 1,
        },
    );
    let costs = Tensor::ones((1, 40), DType::F64, &dev).unwrap();
    assert!(dpo
        .forward(&costs)
        .unwrap_err()
        .to_string()
        .contains("sigma"));
}

/// In f32, a one-sided rule differences an f64 re-solve against the forward solution: that
/// solution is solved again in f64 rather than taken rounded from the f32 output, so the f32
/// gradient equals the f64 one up to the rounding of the gradient itself.
#[test]
fn one_sided_f32_gradients_do_not_difference_rounded_solutions() {
    let base = qp();
    let lpgd = Lpgd::new(1e-4).unwrap().with_side(Side::Right);
    let layer = ConicLayer::new(ClarabelOracle::high_accuracy, base.clone(), lpgd);
    // Data exactly representable in f32, so both runs solve the same problem.
    let packed: Vec<f64> = layer
        .pack(&base)
        .iter()
        .map(|&v| f64::from(v as f32))
        .collect();
    let grad_in = |dtype: DType| -> Vec<f64> {
        let var = Var::from_tensor(
            &Tensor::new(vec![packed.clone()], &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap(),
        )
        .unwrap();
        let out = layer.forward(var.as_tensor()).unwrap();
        let w = Tensor::new(vec![vec![1.0_f64; out.dim(1).unwrap()]], &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let loss = (out * w).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        grads
            .get(var.as_tensor())
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    };
    let (g64, g32) = (grad_in(DType::F64), grad_in(DType::F32));
    for (a, b) in g64.iter().zip(&g32) {
        // f32 rounding of the gradient itself: ~1e-7 relative. Differencing a rounded forward
        // solution would add ~1e-7/τ = 1e-3 absolute.
        assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

#[test]
fn conic_layer_forwards_are_warm_and_equal_the_cold_ones() {
    // A face oracle answers the second forward from the first's answers, exactly.
    let face = || lpgd_solvers::FaceOracle::new(ClarabelOracle::new());
    let warm = ConicLayer::new(face, qp(), Lpgd::new(0.1).unwrap());
    let cold = warm.clone().with_warm(false);
    let second = qp().with_c(array![-0.4, 0.6, 0.0]).unwrap();
    let rows = |shift: f64| {
        let moved = |p: &ConicProblem| p.with_c(p.c() + shift).unwrap();
        Tensor::new(
            vec![warm.pack(&moved(&qp())), warm.pack(&moved(&second))],
            &Device::Cpu,
        )
        .unwrap()
    };
    assert!(warm.last_warm_share().is_nan());
    warm.forward(&rows(0.0)).unwrap();
    assert_eq!(warm.last_warm_share(), 0.0);
    let ours = warm.forward(&rows(1e-3)).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(warm.last_warm_share(), 1.0);
    let theirs = cold.forward(&rows(1e-3)).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(cold.last_warm_share(), 0.0);
    for (a, b) in ours.iter().flatten().zip(theirs.iter().flatten()) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    warm.reset_warm();
    warm.forward(&rows(2e-3)).unwrap();
    assert_eq!(warm.last_warm_share(), 0.0);
}
