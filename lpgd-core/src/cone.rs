//! The cones of the canonical conic form: a leaf module (no dependency inside the crate), so that
//! errors can name a cone kind without an import cycle.

use std::fmt;

/// The kind of a cone, without its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConeKind {
    /// `{0}ⁿ`: equality constraints.
    Zero,
    /// `ℝⁿ₊`: inequality constraints.
    Nonnegative,
    /// `{(t, x) : ‖x‖₂ ≤ t}`.
    SecondOrder,
    /// Symmetric positive semidefinite matrices, as the scaled lower triangle (`svec`).
    Psd,
    /// `cl{(x, y, z) : y > 0, y·exp(x/y) ≤ z}`.
    Exponential,
    /// `{(x, y, z) : x^α y^(1−α) ≥ |z|, x, y ≥ 0}`.
    Power,
}

impl fmt::Display for ConeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConeKind::Zero => "zero",
            ConeKind::Nonnegative => "nonnegative",
            ConeKind::SecondOrder => "second-order",
            ConeKind::Psd => "positive semidefinite",
            ConeKind::Exponential => "exponential",
            ConeKind::Power => "power",
        })
    }
}

/// One cone of the product `K`, covering a block of consecutive constraint rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cone {
    /// The zero cone of the given dimension (equalities).
    Zero(usize),
    /// The nonnegative orthant of the given dimension (inequalities).
    Nonnegative(usize),
    /// A second-order cone of the given dimension (first row is the bound `t`).
    SecondOrder(usize),
    /// The cone of symmetric positive semidefinite `k × k` matrices (`k` given), in diffcp's and
    /// SCS's layout: the lower triangle, column by column, off-diagonal entries scaled by √2
    /// (`k(k + 1)/2` rows), so that `⟨svec X, svec Y⟩ = tr(XY)`.
    Psd(usize),
    /// One exponential cone (3 rows), in the SCS convention.
    Exponential,
    /// One power cone (3 rows) with exponent α ∈ (0, 1).
    Power(f64),
}

impl Cone {
    /// Number of rows the cone covers.
    pub fn dim(&self) -> usize {
        match *self {
            Cone::Zero(n) | Cone::Nonnegative(n) | Cone::SecondOrder(n) => n,
            Cone::Psd(k) => psd_rows(k).unwrap_or(usize::MAX),
            Cone::Exponential | Cone::Power(_) => 3,
        }
    }

    /// The cone's kind.
    pub fn kind(&self) -> ConeKind {
        match self {
            Cone::Zero(_) => ConeKind::Zero,
            Cone::Nonnegative(_) => ConeKind::Nonnegative,
            Cone::SecondOrder(_) => ConeKind::SecondOrder,
            Cone::Psd(_) => ConeKind::Psd,
            Cone::Exponential => ConeKind::Exponential,
            Cone::Power(_) => ConeKind::Power,
        }
    }
}

/// Rows of a `k × k` positive semidefinite cone, `k(k + 1)/2`, or None when that overflows.
pub fn psd_rows(k: usize) -> Option<usize> {
    let (a, b) = if k % 2 == 0 {
        (k / 2, k + 1)
    } else {
        (k, k.checked_add(1)? / 2)
    };
    a.checked_mul(b)
}

/// The symmetric `k × k` matrix (row-major, `k²` entries) of a PSD cone block in the lower-triangle
/// `svec` layout of [`Cone::Psd`] (off-diagonal entries divided by √2).
pub fn psd_matrix(v: &[f64], k: usize) -> Vec<f64> {
    let mut m = vec![0.0; k * k];
    let mut idx = 0;
    for j in 0..k {
        for i in j..k {
            let x = if i == j {
                v[idx]
            } else {
                v[idx] / std::f64::consts::SQRT_2
            };
            m[i * k + j] = x;
            m[j * k + i] = x;
            idx += 1;
        }
    }
    m
}
