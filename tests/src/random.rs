//! Seeded random problems whose solution map is differentiable at the instance (unique, strictly
//! complementary solutions), for finite-difference checks.

use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{ConicCotangent, ConicProblem, ConicTangent, CscMatrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A source of standard normal draws: this module's seeded ChaCha generator, or numpy's
/// `RandomState` (the `families` of `compare`, generated as numpy would).
pub trait Normal {
    /// One draw.
    fn normal(&mut self) -> f64;
}

impl Normal for ChaCha8Rng {
    fn normal(&mut self) -> f64 {
        // Box–Muller; plenty for test data.
        let u: f64 = self.random_range(1e-12..1.0);
        let v: f64 = self.random_range(0.0..1.0);
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

impl Normal for lpgd_combinatorial::RandomState {
    fn normal(&mut self) -> f64 {
        self.standard_normal()
    }
}

/// A matrix of standard normal draws, filled row by row.
pub fn gaussian_matrix(rng: &mut impl Normal, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.normal())
}

/// A vector of standard normal draws.
pub fn gaussian_vector(rng: &mut impl Normal, len: usize) -> Array1<f64> {
    Array1::from_shape_simple_fn(len, || rng.normal())
}

/// `min cᵀx s.t. A_eq x = b_eq, G x ≤ h` with a unique, primal and dual nondegenerate optimal
/// vertex: built from a chosen x*, active set and positive duals, so that `c = −(A_eqᵀy_eq + Gᵀy_in)`.
pub fn nondegenerate_lp(seed: u64, n: usize, m_eq: usize, m_in: usize) -> ConicProblem {
    assert!(m_eq < n && n - m_eq <= m_in);
    let mut r = rng(seed);
    let a_eq = gaussian_matrix(&mut r, m_eq, n);
    let g = gaussian_matrix(&mut r, m_in, n);
    let x = gaussian_vector(&mut r, n);
    let active = n - m_eq;
    let y_eq = gaussian_vector(&mut r, m_eq);
    let mut y_in = Array1::zeros(m_in);
    let mut h = g.dot(&x);
    for i in 0..m_in {
        if i < active {
            y_in[i] = r.random_range(0.5..1.5);
        } else {
            h[i] += r.random_range(0.5..1.5);
        }
    }
    let c = -(a_eq.t().dot(&y_eq) + g.t().dot(&y_in));
    let free = vec![f64::INFINITY; n];
    ConicProblem::lp(
        c,
        a_eq.view(),
        a_eq.dot(&x),
        g.view(),
        h,
        -&Array1::from(free.clone()),
        &free,
    )
    .expect("valid LP")
}

/// `min ½xᵀPx + cᵀx s.t. A_eq x = b_eq, G x ≤ h` with `P = LLᵀ + I/2` (dense upper triangle),
/// a known feasible point and about half the inequalities active at the optimum.
pub fn strictly_convex_qp(seed: u64, n: usize, m_eq: usize, m_in: usize) -> ConicProblem {
    let mut r = rng(seed);
    let l = gaussian_matrix(&mut r, n, n);
    let mut p = l.dot(&l.t()) / n as f64;
    for i in 0..n {
        p[[i, i]] += 0.5;
    }
    let p_upper = Array2::from_shape_fn((n, n), |(i, j)| if i <= j { p[[i, j]] } else { 0.0 });
    let a_eq = gaussian_matrix(&mut r, m_eq, n);
    let g = gaussian_matrix(&mut r, m_in, n);
    let x = gaussian_vector(&mut r, n);
    let y_eq = gaussian_vector(&mut r, m_eq);
    let mut y_in = Array1::zeros(m_in);
    let mut h = g.dot(&x);
    for i in 0..m_in {
        if i % 2 == 0 {
            y_in[i] = r.random_range(0.5..1.5);
        } else {
            h[i] += r.random_range(0.5..1.5);
        }
    }
    // KKT: P x + c + A_eqᵀ y_eq + Gᵀ y_in = 0.
    let c = -(p.dot(&x) + a_eq.t().dot(&y_eq) + g.t().dot(&y_in));
    ConicProblem::builder(n)
        .cost(c)
        .quadratic(CscMatrix::from_dense(p_upper.view()).expect("finite"))
        .equalities(a_eq.view(), a_eq.dot(&x))
        .inequalities(g.view(), h)
        .build()
        .expect("valid QP")
}

/// `min cᵀx + ‖F x − d‖ s.t. x in a box`, written as an SOCP with an epigraph variable t:
/// `min cᵀx + t s.t. (t, F x − d) ∈ SOC, −1 ≤ x ≤ 1`.
pub fn random_socp(seed: u64, n: usize, k: usize) -> ConicProblem {
    let mut r = rng(seed);
    let f = gaussian_matrix(&mut r, k, n);
    let d = gaussian_vector(&mut r, k);
    let c0 = gaussian_vector(&mut r, n) * 0.3;
    // Variables (x, t): SOC rows b − A z = (t, F x − d) ⇒ A = −[0 1; F 0], b = (0, −d).
    let mut a = Array2::zeros((k + 1, n + 1));
    a[[0, n]] = -1.0;
    for i in 0..k {
        for j in 0..n {
            a[[i + 1, j]] = -f[[i, j]];
        }
    }
    let mut b = Array1::zeros(k + 1);
    for i in 0..k {
        b[i + 1] = -d[i];
    }
    let mut c = Array1::zeros(n + 1);
    c.slice_mut(lpgd_core::ndarray::s![..n]).assign(&c0);
    c[n] = 1.0;
    let mut lo = vec![-1.0; n + 1];
    let mut hi = vec![1.0; n + 1];
    lo[n] = f64::NEG_INFINITY;
    hi[n] = f64::INFINITY;
    ConicProblem::builder(n + 1)
        .cost(c)
        .second_order(a.view(), b)
        .bounds(&lo, &hi)
        .build()
        .expect("valid SOCP")
}

/// A random incoming gradient on x, y and s.
pub fn cotangent(seed: u64, problem: &ConicProblem, with_y: bool, with_s: bool) -> ConicCotangent {
    let mut r = rng(seed);
    let (n, m) = (problem.n(), problem.m());
    ConicCotangent {
        dx: gaussian_vector(&mut r, n),
        dy: if with_y {
            gaussian_vector(&mut r, m)
        } else {
            Array1::zeros(m)
        },
        ds: if with_s {
            gaussian_vector(&mut r, m)
        } else {
            Array1::zeros(m)
        },
    }
}

/// A random data direction.
pub fn tangent(seed: u64, problem: &ConicProblem) -> ConicTangent {
    let mut r = rng(seed);
    ConicTangent {
        dp: problem.p().map(|p| gaussian_vector(&mut r, p.nnz())),
        da: gaussian_vector(&mut r, problem.a().nnz()),
        db: gaussian_vector(&mut r, problem.m()),
        dc: gaussian_vector(&mut r, problem.n()),
    }
}

/// `min cᵀx + Σᵢ exp(xᵢ) s.t. −2 ≤ x ≤ 2` with the exponential terms as epigraph variables:
/// variables `(x, t)`, `(xᵢ, 1, tᵢ) ∈ K_exp`, cost `(c, 1)`. With `cᵢ ∈ (−4, −0.5)` the optimum
/// `xᵢ = ln(−cᵢ)` is interior to the box.
pub fn exponential_program(seed: u64, k: usize) -> ConicProblem {
    let mut r = rng(seed);
    let c: Vec<f64> = (0..k).map(|_| -r.random_range(0.5..4.0)).collect();
    let n = 2 * k;
    let mut builder = ConicProblem::builder(n);
    let mut cost = Array1::zeros(n);
    for i in 0..k {
        cost[i] = c[i];
        cost[k + i] = 1.0;
        // b − A z = (xᵢ, 1, tᵢ).
        let mut a = Array2::zeros((3, n));
        a[[0, i]] = -1.0;
        a[[2, k + i]] = -1.0;
        builder = builder.exponential(a, lpgd_core::ndarray::array![0.0, 1.0, 0.0]);
    }
    let mut lo = vec![-2.0; n];
    let mut hi = vec![2.0; n];
    for i in k..n {
        lo[i] = f64::NEG_INFINITY;
        hi[i] = f64::INFINITY;
    }
    builder
        .cost(cost)
        .bounds(&lo, &hi)
        .build()
        .expect("valid exponential-cone program")
}

/// `min cᵀu − Σᵢ wᵢ s.t. (uᵢ, 1, wᵢ) ∈ K_pow(α), 1ᵀu ≤ budget`: each `wᵢ = uᵢ^α` at the optimum,
/// `uᵢ = (α/cᵢ)^{1/(1−α)}` while the budget is slack.
pub fn power_program(seed: u64, k: usize, alpha: f64) -> ConicProblem {
    let mut r = rng(seed);
    let n = 2 * k;
    let mut cost = Array1::zeros(n);
    let mut builder = ConicProblem::builder(n);
    for i in 0..k {
        cost[i] = r.random_range(0.5..2.0);
        cost[k + i] = -1.0;
        let mut a = Array2::zeros((3, n));
        a[[0, i]] = -1.0;
        a[[2, k + i]] = -1.0;
        builder = builder.power(a, lpgd_core::ndarray::array![0.0, 1.0, 0.0], alpha);
    }
    let mut budget = Array2::zeros((1, n));
    for i in 0..k {
        budget[[0, i]] = 1.0;
    }
    builder
        .cost(cost)
        .inequalities(budget, lpgd_core::ndarray::array![10.0])
        .build()
        .expect("valid power-cone program")
}
