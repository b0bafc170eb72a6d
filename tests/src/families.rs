//! Seeded generated problem families (`lpgd-bench compare`'s): LP with a box, QP, QP written as an SOCP, and a
//! portfolio with a factor risk model. Every instance is feasible and bounded by construction.

use crate::random::{gaussian_matrix, gaussian_vector};
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{ConicCotangent, ConicProblem, CscMatrix, InvalidInput};

/// The generated families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `min cᵀx s.t. A_eq x = b_eq, G x ≤ h, −1 ≤ x ≤ 1`.
    LpBox,
    /// The same constraints with `½xᵀPx`, `P = FFᵀ/k + I/10`.
    Qp,
    /// The QP with its quadratic term as a rotated second-order cone: `cᵀx + t`, `‖Fᵀx‖² ≤ t`.
    Socp,
    /// `max μᵀw − γ t s.t. 1ᵀw = 1, 0 ≤ w ≤ w_max, ‖(Fᵀw, d∘w)‖ ≤ t` (factor risk model).
    Portfolio,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 4] = [Family::LpBox, Family::Qp, Family::Socp, Family::Portfolio];

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Family::LpBox => "lp_box",
            Family::Qp => "qp",
            Family::Socp => "socp",
            Family::Portfolio => "portfolio",
        }
    }

    /// Whether the family has a quadratic objective.
    pub fn quadratic(&self) -> bool {
        *self == Family::Qp
    }
}

/// Shared constraints `A_eq x = b_eq, G x ≤ h` with a strictly feasible point inside the unit box.
fn polytope(
    rng: &mut RandomState,
    n: usize,
) -> (Array2<f64>, Array1<f64>, Array2<f64>, Array1<f64>) {
    let (m_eq, m_in) = ((n / 5).max(1), (n / 2).max(1));
    let x0 = Array1::from_shape_simple_fn(n, || rng.uniform(-0.5, 0.5));
    let a_eq = gaussian_matrix(rng, m_eq, n);
    let g = gaussian_matrix(rng, m_in, n);
    let slack = Array1::from_shape_simple_fn(m_in, || rng.uniform(0.1, 1.0));
    let b_eq = a_eq.dot(&x0);
    let h = g.dot(&x0) + slack;
    (a_eq, b_eq, g, h)
}

/// One instance of `family` with `n` decision variables and its incoming gradient (on x only;
/// zero on epigraph variables).
pub fn instance(
    family: Family,
    n: usize,
    seed: u32,
) -> Result<(ConicProblem, ConicCotangent), InvalidInput> {
    let mut rng = RandomState::new(seed);
    let (problem, n_decision) = match family {
        Family::LpBox | Family::Qp | Family::Socp => {
            let (a_eq, b_eq, g, h) = polytope(&mut rng, n);
            let c = gaussian_vector(&mut rng, n);
            let k = (n / 2).max(1);
            let f = gaussian_matrix(&mut rng, n, k) / (k as f64).sqrt();
            match family {
                Family::LpBox => (
                    ConicProblem::builder(n)
                        .cost(c)
                        .equalities(a_eq, b_eq)
                        .inequalities(g, h)
                        .bounds(vec![-1.0; n], vec![1.0; n])
                        .build()?,
                    n,
                ),
                Family::Qp => {
                    let mut p = f.dot(&f.t());
                    for i in 0..n {
                        p[[i, i]] += 0.1;
                    }
                    let upper = Array2::from_shape_fn(
                        (n, n),
                        |(i, j)| if i <= j { p[[i, j]] } else { 0.0 },
                    );
                    (
                        ConicProblem::builder(n)
                            .cost(c)
                            .quadratic(CscMatrix::from_dense(upper.view())?)
                            .equalities(a_eq, b_eq)
                            .inequalities(g, h)
                            .bounds(vec![-1.0; n], vec![1.0; n])
                            .build()?,
                        n,
                    )
                }
                _ => {
                    // Variables (x, t): ‖Fᵀx‖² ≤ t ⇔ (t + 1, 2Fᵀx, t − 1) ∈ SOC(k + 2).
                    let mut a_soc = Array2::zeros((k + 2, n + 1));
                    a_soc[[0, n]] = -1.0;
                    a_soc[[k + 1, n]] = -1.0;
                    for r in 0..k {
                        for j in 0..n {
                            a_soc[[r + 1, j]] = -2.0 * f[[j, r]];
                        }
                    }
                    let mut b_soc = Array1::zeros(k + 2);
                    b_soc[0] = 1.0;
                    b_soc[k + 1] = -1.0;
                    let pad = |m: &Array2<f64>| {
                        let mut out = Array2::zeros((m.nrows(), n + 1));
                        out.slice_mut(lpgd_core::ndarray::s![.., ..n]).assign(m);
                        out
                    };
                    let mut cost = Array1::zeros(n + 1);
                    cost.slice_mut(lpgd_core::ndarray::s![..n]).assign(&c);
                    cost[n] = 1.0;
                    let mut lo = vec![-1.0; n + 1];
                    let mut hi = vec![1.0; n + 1];
                    lo[n] = f64::NEG_INFINITY;
                    hi[n] = f64::INFINITY;
                    (
                        ConicProblem::builder(n + 1)
                            .cost(cost)
                            .equalities(pad(&a_eq), b_eq)
                            .inequalities(pad(&g), h)
                            .bounds(&lo, &hi)
                            .second_order(a_soc, b_soc)
                            .build()?,
                        n,
                    )
                }
            }
        }
        Family::Portfolio => {
            let k = (n / 5).max(1);
            let mu = Array1::from_shape_simple_fn(n, || rng.uniform(0.0, 0.2));
            let f = gaussian_matrix(&mut rng, n, k) * 0.1;
            let d = Array1::from_shape_simple_fn(n, || rng.uniform(0.02, 0.1));
            let (gamma, w_max) = (1.0, (3.0 / n as f64).min(1.0));
            // Variables (w, t): s = (t, Fᵀw, d∘w) ∈ SOC(1 + k + n).
            let mut a_soc = Array2::zeros((1 + k + n, n + 1));
            a_soc[[0, n]] = -1.0;
            for r in 0..k {
                for j in 0..n {
                    a_soc[[1 + r, j]] = -f[[j, r]];
                }
            }
            for j in 0..n {
                a_soc[[1 + k + j, j]] = -d[j];
            }
            let mut cost = Array1::zeros(n + 1);
            for j in 0..n {
                cost[j] = -mu[j];
            }
            cost[n] = gamma;
            let mut budget = Array2::zeros((1, n + 1));
            for j in 0..n {
                budget[[0, j]] = 1.0;
            }
            let mut lo = vec![0.0; n + 1];
            let mut hi = vec![w_max; n + 1];
            lo[n] = f64::NEG_INFINITY;
            hi[n] = f64::INFINITY;
            (
                ConicProblem::builder(n + 1)
                    .cost(cost)
                    .equalities(budget, Array1::from(vec![1.0]))
                    .bounds(&lo, &hi)
                    .second_order(a_soc, Array1::zeros(1 + k + n))
                    .build()?,
                n,
            )
        }
    };
    let mut dx = Array1::zeros(problem.n());
    for j in 0..n_decision {
        dx[j] = rng.standard_normal();
    }
    let cotangent = ConicCotangent::on_x(&problem, dx);
    Ok((problem, cotangent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::Oracle;
    use lpgd_solvers::ClarabelOracle;

    #[test]
    fn every_family_is_feasible_bounded_and_seeded() {
        for family in Family::ALL {
            for n in [5, 20] {
                let (p, g) = instance(family, n, 7).unwrap();
                assert_eq!(
                    instance(family, n, 7).unwrap().0,
                    p,
                    "deterministic per seed"
                );
                assert_ne!(instance(family, n, 8).unwrap().0, p, "the seed matters");
                let z = ClarabelOracle::new()
                    .solve(&p, None)
                    .unwrap_or_else(|e| panic!("{family:?} {n}: {e}"));
                assert!(z.x.iter().all(|v| v.is_finite()));
                assert_eq!(g.dx.len(), p.n());
                assert_eq!(p.p().is_some(), family.quadratic());
            }
        }
    }
}
