//! The same layer on every backend of this build, chosen by name from the registry.
//!
//! `cargo run -p lpgd-solvers --example swap_backend --features osqp,highs`

use lpgd_core::ndarray::array;
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd, Side};
use lpgd_solvers::{Backend, BackendOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let problem = ConicProblem::builder(3)
        .cost([0.1, 0.5, 0.3])
        .equalities(array![[1.0, 1.0, 1.0]], [1.0])
        .bounds([0.0; 3], [1.0; 3])
        .build()?;
    let lpgd = Lpgd::new(0.3)?.with_side(Side::Right);
    let g = ConicCotangent::on_x(&problem, array![1.0, 0.0, 0.0]);
    for backend in Backend::all() {
        // A backend that cannot serve the problem (no duals, a missing cone) says so up front.
        let name = backend.to_string();
        if let Err(missing) = backend.serves(&problem, lpgd.rho()) {
            println!("{name:>18}: skipped, it lacks {missing}");
            continue;
        }
        let mut oracle = backend.oracle(BackendOptions::default());
        let z = lpgd.forward(&mut oracle, &problem)?;
        let back = lpgd.backward(&mut oracle, &problem, &z, &g)?;
        println!("{name:>18}: x* = {:.3}, dc = {:.3}", z.x, back.gradient.dc);
    }
    // Or by name, as the command line takes it.
    let clarabel: Backend = "clarabel".parse()?;
    println!(
        "parsed {clarabel}; it supports {:?}",
        clarabel.capabilities()
    );
    Ok(())
}
