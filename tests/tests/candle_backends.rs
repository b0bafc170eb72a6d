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
use lpgd_solvers::{Backend, BackendOptions, ClarabelOracle};
use lpgd_tests::random::nondegenerate_lp;
use lpgd_tests::rel_err;

fn assert_send_sync<T: Send + Sync>(_: &T) {}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let e = rel_err(&Array1::from(a.to_vec()), &Array1::from(b.to_vec()), 1e-8);
    assert!(e < tol, "{what}: relative error {e}");
}

/// Runs the batch through a conic layer on the backend `make` builds and checks every row's
/// gradient of `Σ wᵢ·xᵢ` against that backend's plain LPGD backward; returns the gradients and x.
fn layer_on<F, O>(
    name: &str,
    make: F,
    rows: &[ConicProblem],
    w: &[Vec<f64>],
    lpgd: Lpgd,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>)
where
    F: Fn() -> O + Clone + Send + Sync + 'static,
    O: Oracle<ConicProblem>,
{
    let layer = ConicLayer::new(make.clone(), rows[0].clone(), lpgd);
    // The layer keeps only the factory, so it is Send + Sync even where the solver is not.
    assert_send_sync(&layer);
    let packed: Vec<Vec<f64>> = rows.iter().map(|p| layer.pack(p)).collect();
    let var = Var::new(packed, &Device::Cpu).unwrap();
    let x = layer
        .forward(var.as_tensor())
        .unwrap()
        .narrow(1, 0, rows[0].n())
        .unwrap();
    let weights = Tensor::new(w.to_vec(), &Device::Cpu).unwrap();
    let loss = (&x * &weights).unwrap().sum_all().unwrap();
    let grad: Vec<Vec<f64>> = loss
        .backward()
        .unwrap()
        .get(&var)
        .unwrap()
        .to_vec2()
        .unwrap();

    // The core's plain backward of each row on an oracle of the same backend.
    let mut oracle = make();
    for (i, p) in rows.iter().enumerate() {
        let z = lpgd.forward(&mut oracle, p).unwrap();
        let g = ConicCotangent::on_x(p, Array1::from(w[i].clone()));
        let b = lpgd.backward(&mut oracle, p, &z, &g).unwrap().gradient;
        close(
            &grad[i],
            &layer.pack_gradient(&b),
            1e-9,
            &format!("{name} op vs plain"),
        );
    }
    (grad, x.to_vec2().unwrap())
}

#[test]
fn conic_layer_runs_every_backend_and_matches_its_plain_backward() {
    // Same sparsity pattern (the generator's), different data values per row.
    let base = nondegenerate_lp(31, 6, 2, 5);
    let rows: Vec<ConicProblem> = (0..6)
        .map(|k| {
            let c = base.c().mapv(|v| v * (1.0 + 0.1 * k as f64));
            base.with_c(c).unwrap()
        })
        .collect();
    let w: Vec<Vec<f64>> = (0..6)
        .map(|k| (0..6).map(|i| ((i + k) % 3) as f64 - 1.0).collect())
        .collect();
    let lpgd = Lpgd::new(0.1).unwrap().with_side(Side::Centered);

    let (reference, x_ref) = layer_on("clarabel", ClarabelOracle::high_accuracy, &rows, &w, lpgd);
    assert!(reference.iter().any(|g| g.iter().any(|v| v.abs() > 1e-3)));

    // Every other backend of the registry that serves the batch agrees with Clarabel.
    for backend in Backend::all() {
        if backend == Backend::Clarabel || backend.serves(&rows[0], lpgd.rho()).is_err() {
            continue;
        }
        let name = backend.to_string();
        let make = move || backend.oracle(BackendOptions::default());
        let (grad, x) = layer_on(&name, make, &rows, &w, lpgd);
        for i in 0..rows.len() {
            close(
                &grad[i],
                &reference[i],
                1e-5,
                &format!("{name} vs clarabel"),
            );
            close(&x[i], &x_ref[i], 1e-6, &format!("{name} x vs clarabel"));
        }
    }
}
