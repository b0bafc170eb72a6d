//! Central finite differences of `ℓ = dxᵀx* + dyᵀy* + dsᵀs*` with respect to the data of a conic
//! program: the reference the LPGD gradient converges to as τ → 0 where the solution map is
//! differentiable. Solves with `ClarabelOracle::high_accuracy()`.

use lpgd_core::ndarray::Array1;
use lpgd_core::{ConicCotangent, ConicGradient, ConicProblem, Oracle, SolveError};
use lpgd_solvers::ClarabelOracle;

/// Which data blocks to difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocks {
    /// c and b only (dA and dP are left at zero): cheap, one pair of solves per entry of c and b.
    CostAndRhs,
    /// Every entry of c, b, A and P.
    All,
}

/// The loss `dxᵀx* + dyᵀy* + dsᵀs*` at `problem`'s solution.
fn loss(
    oracle: &mut ClarabelOracle,
    problem: &ConicProblem,
    g: &ConicCotangent,
) -> Result<f64, SolveError> {
    let z = oracle.solve(problem, None)?;
    Ok(g.dx.dot(&z.x) + g.dy.dot(&z.y) + g.ds.dot(&z.s))
}

fn bump(v: &Array1<f64>, k: usize, t: f64) -> Array1<f64> {
    let mut w = v.clone();
    w[k] += t;
    w
}

/// Central differences with step `h` of the loss with respect to the chosen data blocks.
pub fn central_differences(
    problem: &ConicProblem,
    g: &ConicCotangent,
    h: f64,
    blocks: Blocks,
) -> Result<ConicGradient, SolveError> {
    let mut oracle = ClarabelOracle::high_accuracy();
    let mut central = |plus: ConicProblem, minus: ConicProblem| -> Result<f64, SolveError> {
        Ok((loss(&mut oracle, &plus, g)? - loss(&mut oracle, &minus, g)?) / (2.0 * h))
    };
    let mut gradient = ConicGradient::zeros(problem);
    for j in 0..problem.n() {
        gradient.dc[j] = central(
            problem.with_c(bump(problem.c(), j, h))?,
            problem.with_c(bump(problem.c(), j, -h))?,
        )?;
    }
    for i in 0..problem.m() {
        gradient.db[i] = central(
            problem.with_b(bump(problem.b(), i, h))?,
            problem.with_b(bump(problem.b(), i, -h))?,
        )?;
    }
    if blocks == Blocks::CostAndRhs {
        return Ok(gradient);
    }
    let a = Array1::from(problem.a().values().to_vec());
    for k in 0..a.len() {
        gradient.da[k] = central(
            problem.with_a_values(&bump(&a, k, h).to_vec())?,
            problem.with_a_values(&bump(&a, k, -h).to_vec())?,
        )?;
    }
    if let (Some(p), Some(dp)) = (problem.p(), gradient.dp.as_mut()) {
        let v = Array1::from(p.values().to_vec());
        for k in 0..v.len() {
            dp[k] = central(
                problem.with_p_values(&bump(&v, k, h).to_vec())?,
                problem.with_p_values(&bump(&v, k, -h).to_vec())?,
            )?;
        }
    }
    Ok(gradient)
}
