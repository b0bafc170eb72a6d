//! Seeded generated problem families (`lpgd-bench compare`'s): LP with a box, QP, QP written as an SOCP, a
//! portfolio with a factor risk model, and the nearest correlation matrix (an SDP). Every instance
//! is feasible and bounded by construction.

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
    /// The nearest correlation matrix, `min ½‖X − C‖²_F s.t. diag X = 1, X ⪰ 0`, for a noisy,
    /// indefinite `C` (variables `svec X`, so `n` is rounded down to `k(k + 1)/2`; needs a backend
    /// with PSD cones).
    Sdp,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 5] = [
        Family::LpBox,
        Family::Qp,
        Family::Socp,
        Family::Portfolio,
        Family::Sdp,
    ];

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Family::LpBox => "lp_box",
            Family::Qp => "qp",
            Family::Socp => "socp",
            Family::Portfolio => "portfolio",
            Family::Sdp => "sdp",
        }
    }

    /// Whether the family has a quadratic objective.
    pub fn quadratic(&self) -> bool {
        matches!(self, Family::Qp | Family::Sdp)
    }

    /// Whether the family has a positive semidefinite cone.
    pub fn semidefinite(&self) -> bool {
        *self == Family::Sdp
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
        Family::Sdp => nearest_correlation(&mut rng, n)?,
    };
    let mut dx = Array1::zeros(problem.n());
    for j in 0..n_decision {
        dx[j] = rng.standard_normal();
    }
    let cotangent = ConicCotangent::on_x(&problem, dx);
    Ok((problem, cotangent))
}

/// The largest `k` with `k(k + 1)/2 ≤ n` (at least 2).
fn order_for(n: usize) -> usize {
    let mut k = 2;
    while lpgd_core::conic::psd_rows(k + 1).is_some_and(|r| r <= n) {
        k += 1;
    }
    k
}

/// `min ½‖X − C‖²_F s.t. X_ii = 1, X ⪰ 0` over `x = svec X` (‖x‖ = ‖X‖_F in this layout): `C` is a
/// correlation matrix of rank `k/2` plus symmetric noise, so it is indefinite and the answer lies
/// on the boundary of the cone.
fn nearest_correlation(
    rng: &mut RandomState,
    n: usize,
) -> Result<(ConicProblem, usize), InvalidInput> {
    let k = order_for(n);
    let rows = lpgd_core::conic::psd_rows(k).unwrap_or(usize::MAX);
    let f = gaussian_matrix(rng, k, (k / 2).max(1));
    let mut c = f.dot(&f.t());
    let d: Vec<f64> = (0..k).map(|i| c[[i, i]].max(1e-12).sqrt()).collect();
    for i in 0..k {
        for j in 0..k {
            c[[i, j]] /= d[i] * d[j];
        }
    }
    for j in 0..k {
        for i in j + 1..k {
            let e = 0.3 * rng.standard_normal();
            c[[i, j]] += e;
            c[[j, i]] += e;
        }
    }
    // svec: lower triangle column by column, off-diagonal entries times √2.
    let mut target = Vec::with_capacity(rows);
    let mut diagonal = Vec::with_capacity(k);
    for j in 0..k {
        for i in j..k {
            if i == j {
                diagonal.push(target.len());
                target.push(c[[i, i]]);
            } else {
                target.push(std::f64::consts::SQRT_2 * c[[i, j]]);
            }
        }
    }
    let pick = CscMatrix::from_triplets(
        k,
        rows,
        &(0..k).collect::<Vec<_>>(),
        &diagonal,
        &vec![1.0; k],
    )?;
    let problem = ConicProblem::builder(rows)
        .cost(-Array1::from(target))
        .quadratic(CscMatrix::scaled_identity(rows, 1.0)?)
        .equalities(pick, Array1::ones(k))
        .psd(
            k,
            CscMatrix::scaled_identity(rows, -1.0)?,
            Array1::zeros(rows),
        )
        .build()?;
    Ok((problem, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::Oracle;
    use lpgd_solvers::ClarabelOracle;

    #[test]
    fn every_family_is_feasible_bounded_and_seeded() {
        for family in Family::ALL {
            if family.semidefinite() && !cfg!(feature = "clarabel-sdp") {
                continue;
            }
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
