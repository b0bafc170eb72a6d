//! An LP layer: forward, then the LPGD backward where the true derivative is zero.
//!
//! `cargo run -p lpgd-solvers --example lp_layer`

use lpgd_core::ndarray::array;
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Side};
use lpgd_solvers::ClarabelOracle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The cheapest mix of three items: min cᵀx s.t. x ≥ 0, x₀ + x₁ + x₂ = 1. In a model, c is the
    // output of a network; here it is fixed.
    let problem = ConicProblem::builder(3)
        .cost([0.1, 0.5, 0.3])
        .equalities(array![[1.0, 1.0, 1.0]], [1.0])
        .bounds([0.0; 3], [f64::INFINITY; 3])
        .build()?;
    let lpgd = Lpgd::new(0.3)?.with_side(Side::Centered);
    let mut oracle = ClarabelOracle::new();
    let z = lpgd.forward(&mut oracle, &problem)?;
    println!("x* = {:.3}", z.x);

    // The loss wants less of item 0. The derivative of x* with respect to c is zero here; LPGD
    // re-solves with c ± τ·∂ℓ/∂x and says how c should move.
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0, 0.0]);
    let back = lpgd.backward(&mut oracle, &problem, &z, &g)?;
    println!("∂ℓ/∂c (LPGD) = {:.3}", back.gradient.dc);
    println!("∂ℓ/∂b (LPGD) = {:.3}", back.gradient.db);
    Ok(())
}
