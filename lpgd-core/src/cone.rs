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
            Cone::Exponential | Cone::Power(_) => 3,
        }
    }

    /// The cone's kind.
    pub fn kind(&self) -> ConeKind {
        match self {
            Cone::Zero(_) => ConeKind::Zero,
            Cone::Nonnegative(_) => ConeKind::Nonnegative,
            Cone::SecondOrder(_) => ConeKind::SecondOrder,
            Cone::Exponential => ConeKind::Exponential,
            Cone::Power(_) => ConeKind::Power,
        }
    }
}
