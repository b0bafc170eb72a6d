//! The candle conic layer (`lpgd-candle`; this crate's feature `candle`) with every enabled backend:
//! a batch of LPs solved in parallel, the gradient of a scalar loss through the op equal to each
//! backend's plain LPGD backward, and the backends agreeing with each other.
//!
//! Tolerances as in `backends.rs`: simplex and polished ADMM answers are vertex-exact, Clarabel's
//! are ~1e-7 relative, so gradients (differences over τ = 0.1) agree to 1e-5 relative.
#![cfg(feature = "candle")]

use lpgd_candle::candle_core::{Device, Tensor, Var};
use lpgd_candle::ConicLayer;
use lpgd_core::ndarray::Array1;
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Oracle, Side};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::random::nondegenerate_lp;
use lpgd_tests::rel_err;

fn assert_send_sync<T: Send + Sync>(_: &T) {}

/// Gradient of `Σ wᵢ·xᵢ` through the layer for every row, and the layer's x.
fn through_layer<F, O>(
    layer: &ConicLayer<F>,
    rows: &[ConicProblem],
    w: &[Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>)
where
    F: Fn() -> O + Send + Sync + 'static,
    O: Oracle<ConicProblem>,
{
    let packed: Vec<Vec<f64>> = rows.iter().map(|p| layer.pack(p)).collect();
    let var = Var::new(packed, &Device::Cpu).unwrap();
    let n = rows[0].n();
    let x = layer
        .forward(var.as_tensor())
        .unwrap()
        .narrow(1, 0, n)
        .unwrap();
    let weights = Tensor::new(w.to_vec(), &Device::Cpu).unwrap();
    let loss = (&x * &weights).unwrap().sum_all().unwrap();
    let grad = loss
        .backward()
        .unwrap()
        .get(&var)
        .unwrap()
        .to_vec2()
        .unwrap();
    (grad, x.to_vec2().unwrap())
}

/// The core's plain LPGD backward of one row, packed like the layer's input.
fn plain<O: Oracle<ConicProblem>>(
    oracle: &mut O,
    lpgd: Lpgd,
    problem: &ConicProblem,
    w: &[f64],
) -> Vec<f64> {
    let z = lpgd.forward(oracle, problem).unwrap();
    let g = ConicCotangent::from_dx(Array1::from(w.to_vec()), problem.m());
    let b = lpgd.backward(oracle, problem, &z, &g).unwrap().gradient;
    let mut out = b.dc.to_vec();
    out.extend(b.db.iter());
    out.extend(b.da.iter());
    out
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let e = rel_err(&Array1::from(a.to_vec()), &Array1::from(b.to_vec()), 1e-8);
    assert!(e < tol, "{what}: relative error {e}");
}

#[test]
fn conic_layer_runs_every_backend_and_matches_its_plain_backward() {
    // Same sparsity pattern (the generator's), different data values per row.
    let rows: Vec<ConicProblem> = (0..6)
        .map(|k| {
            let base = nondegenerate_lp(31, 6, 2, 5);
            let c = base.c().mapv(|v| v * (1.0 + 0.1 * k as f64));
            base.with_c(c).unwrap()
        })
        .collect();
    let w: Vec<Vec<f64>> = (0..6)
        .map(|k| (0..6).map(|i| ((i + k) % 3) as f64 - 1.0).collect())
        .collect();
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Centered);

    let clarabel = ConicLayer::new(ClarabelOracle::high_accuracy, rows[0].clone(), lpgd);
    assert_send_sync(&clarabel);
    let (reference, x_ref) = through_layer(&clarabel, &rows, &w);
    for (i, p) in rows.iter().enumerate() {
        let expected = plain(&mut ClarabelOracle::high_accuracy(), lpgd, p, &w[i]);
        close(&reference[i], &expected, 1e-9, "clarabel op vs plain");
    }
    assert!(reference.iter().any(|g| g.iter().any(|v| v.abs() > 1e-3)));

    #[cfg(feature = "highs")]
    {
        use lpgd_solvers::HighsOracle;
        // A HiGHS model is not Send; the layer keeps only the factory and is Send + Sync.
        let layer = ConicLayer::new(HighsOracle::new, rows[0].clone(), lpgd);
        assert_send_sync(&layer);
        let (grad, x) = through_layer(&layer, &rows, &w);
        for (i, p) in rows.iter().enumerate() {
            let expected = plain(&mut HighsOracle::new(), lpgd, p, &w[i]);
            close(&grad[i], &expected, 1e-9, "highs op vs plain");
            close(&grad[i], &reference[i], 1e-5, "highs vs clarabel");
            close(&x[i], &x_ref[i], 1e-6, "highs x vs clarabel");
        }
    }

    #[cfg(feature = "osqp")]
    {
        use lpgd_solvers::OsqpOracle;
        let layer = ConicLayer::new(OsqpOracle::new, rows[0].clone(), lpgd);
        assert_send_sync(&layer);
        let (grad, x) = through_layer(&layer, &rows, &w);
        for (i, p) in rows.iter().enumerate() {
            let expected = plain(&mut OsqpOracle::new(), lpgd, p, &w[i]);
            close(&grad[i], &expected, 1e-9, "osqp op vs plain");
            close(&grad[i], &reference[i], 1e-5, "osqp vs clarabel");
            close(&x[i], &x_ref[i], 1e-6, "osqp x vs clarabel");
        }
    }
}
