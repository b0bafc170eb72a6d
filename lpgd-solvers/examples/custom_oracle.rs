//! Your own solver as a layer: implement `Oracle<CombinatorialProblem>`, one method that
//! minimises a linear cost over your finite set.
//!
//! `cargo run -p lpgd-solvers --example custom_oracle`

use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{CombinatorialProblem, Lpgd, Oracle, Side, SolveError};

/// The cheapest of a fixed list of candidate routes (each a 0/1 vector over road segments).
struct CandidateRoutes(Vec<Array1<f64>>);

impl Oracle<CombinatorialProblem> for CandidateRoutes {
    fn solve(
        &mut self,
        p: &CombinatorialProblem,
        _warm: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>, SolveError> {
        p.expect_dim(3)?;
        let cost = |r: &Array1<f64>| p.cost().dot(r);
        // Ties go to the first route: a deterministic oracle gives reproducible gradients.
        let best = self
            .0
            .iter()
            .min_by(|a, b| cost(a).total_cmp(&cost(b)))
            .expect("at least one route");
        Ok(best.clone())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut routes = CandidateRoutes(vec![array![1.0, 1.0, 0.0], array![0.0, 1.0, 1.0]]);
    let predicted = CombinatorialProblem::new(array![1.0, 2.0, 3.0])?; // segment costs
                                                                       // The right side is blackbox backpropagation with λ = τ.
    let lpgd = Lpgd::new(2.0)?.with_side(Side::Right);
    let route = lpgd.forward(&mut routes, &predicted)?;
    let g = lpgd.backward(&mut routes, &predicted, &route, &array![1.5, 0.0, 0.0])?;
    println!("route {route}, gradient {}", g.gradient);
    // The core checks the oracle's answers: a wrong length is an error, not a silent gradient.
    let mut broken = lpgd_core::FnOracle::new(|_: &CombinatorialProblem| Ok(array![1.0]));
    println!("{}", lpgd.forward(&mut broken, &predicted).unwrap_err());
    Ok(())
}
