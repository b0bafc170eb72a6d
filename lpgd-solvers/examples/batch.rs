//! A batch of problems with the same structure: forward and backward in parallel, one result per
//! item (a failing item does not spoil the others), the same answers on any number of threads.
//!
//! `cargo run -p lpgd-solvers --example batch`

use lpgd_core::ndarray::array;
use lpgd_core::{ConicCotangent, ConicProblem, Lpgd};
use lpgd_solvers::ClarabelOracle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = ConicProblem::builder(2)
        .cost([1.0, 1.0])
        .quadratic(array![[2.0, 0.5], [0.0, 1.0]])
        .inequalities(array![[-1.0, -1.0]], [-1.0])
        .build()?;
    // A layer's predicted costs, one problem per item.
    let problems: Vec<ConicProblem> = (0..8)
        .map(|k| base.with_c(array![1.0 - 0.2 * k as f64, 0.5]))
        .collect::<Result<_, _>>()?;
    let cotangents: Vec<ConicCotangent> = problems
        .iter()
        .map(|p| ConicCotangent::on_x(p, array![1.0, -1.0]))
        .collect();
    // Solvers are not Send: the batch builds one oracle per worker from a factory.
    let lpgd = Lpgd::new(0.1)?.with_threads(2)?;
    let solutions: Vec<_> = lpgd
        .forward_batch(ClarabelOracle::new, &problems)
        .into_iter()
        .collect::<Result<_, _>>()?;
    let gradients = lpgd.backward_batch(ClarabelOracle::new, &problems, &solutions, &cotangents)?;
    for (k, g) in gradients.iter().enumerate() {
        match g {
            Ok(b) => println!("item {k}: dc = {:.3}", b.gradient.dc),
            Err(e) => println!("item {k}: {e}"),
        }
    }
    Ok(())
}
