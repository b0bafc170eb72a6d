//! Conic rows as the two-sided rows `l ≤ Ax ≤ u` of LP/QP solvers.
//!
//! A zero-cone row `aᵢx + sᵢ = bᵢ, sᵢ = 0` is `bᵢ ≤ aᵢx ≤ bᵢ`; a nonnegative row `sᵢ ≥ 0` is
//! `aᵢx ≤ bᵢ`. With these bounds, the conic dual `y` (with `Px + c + Aᵀy = 0`) is the multiplier of
//! the upper bound, nonnegative on inequality rows.

#![allow(dead_code)]

use lpgd_core::{Capability, Cone, ConicProblem, SolveError};

/// Lower and upper row bounds of a problem with only zero and nonnegative cones.
#[derive(Debug, Clone)]
pub(crate) struct RowBounds {
    pub(crate) lower: Vec<f64>,
    pub(crate) upper: Vec<f64>,
    /// Whether each row is an equality.
    pub(crate) equality: Vec<bool>,
}

/// The row bounds, or `Unsupported` naming the first cone the backend cannot take.
pub(crate) fn row_bounds(
    problem: &ConicProblem,
    backend: &'static str,
    infinity: f64,
) -> Result<RowBounds, SolveError> {
    let m = problem.m();
    let b = problem.b();
    let mut out = RowBounds {
        lower: Vec::with_capacity(m),
        upper: b.to_vec(),
        equality: Vec::with_capacity(m),
    };
    for cone in problem.cones() {
        let (is_eq, k) = match *cone {
            Cone::Zero(k) => (true, k),
            Cone::Nonnegative(k) => (false, k),
            other => {
                return Err(SolveError::Unsupported {
                    backend,
                    what: Capability::Cone(other.kind()),
                });
            }
        };
        for _ in 0..k {
            let i = out.lower.len();
            out.lower.push(if is_eq { b[i] } else { -infinity });
            out.equality.push(is_eq);
        }
    }
    Ok(out)
}

/// The row bounds of an LP: as [`row_bounds`], and `Unsupported` for a nonzero P (a QP, or the
/// proximal term ρ > 0 of LPGD).
pub(crate) fn lp_row_bounds(
    problem: &ConicProblem,
    backend: &'static str,
) -> Result<RowBounds, SolveError> {
    if problem
        .p()
        .is_some_and(|p| p.values().iter().any(|&v| v != 0.0))
    {
        return Err(SolveError::Unsupported {
            backend,
            what: Capability::QuadraticObjective,
        });
    }
    row_bounds(problem, backend, f64::INFINITY)
}

/// `s = b − Ax`, clipped to the cone: exactly 0 on equality rows, ≥ 0 on inequality rows.
pub(crate) fn slacks(problem: &ConicProblem, x: &[f64], equality: &[bool]) -> Vec<f64> {
    let ax = problem.a().mul_vec(x);
    problem
        .b()
        .iter()
        .zip(ax.iter())
        .zip(equality)
        .map(|((b, ax), &eq)| if eq { 0.0 } else { (b - ax).max(0.0) })
        .collect()
}

/// Checks an LP answer (P = 0) against the optimality conditions: primal feasibility
/// (`Ax ≤ b`, equalities met), dual feasibility (`c + Aᵀy = 0`, `y ≥ 0` on inequalities), to a
/// tolerance relative to the data. A backend that reports a non-optimal point as optimal (good_lp
/// maps Clarabel's "dual infeasible" — an unbounded problem — to a solution) is caught here: a
/// primal-feasible point with no matching dual means the problem is unbounded.
pub(crate) fn check_lp_optimality(
    problem: &ConicProblem,
    x: &[f64],
    y: &[f64],
    equality: &[bool],
    tol: f64,
) -> Result<(), SolveError> {
    let inf_norm = |v: &mut dyn Iterator<Item = f64>| v.fold(0.0_f64, |m, a| m.max(a.abs()));
    let b_scale = 1.0 + inf_norm(&mut problem.b().iter().copied());
    let c_scale = 1.0 + inf_norm(&mut problem.c().iter().copied());
    let ax = problem.a().mul_vec(x);
    let primal = problem
        .b()
        .iter()
        .zip(ax.iter())
        .zip(equality)
        .all(|((b, ax), &eq)| {
            let r = ax - b;
            if eq {
                r.abs() <= tol * b_scale
            } else {
                r <= tol * b_scale
            }
        });
    if !primal {
        return Err(SolveError::Numerical);
    }
    let aty = problem.a().t_mul_vec(y);
    let stationary = problem
        .c()
        .iter()
        .zip(aty.iter())
        .all(|(c, aty)| (c + aty).abs() <= tol * c_scale);
    let signs = y
        .iter()
        .zip(equality)
        .all(|(&y, &eq)| eq || y >= -tol * c_scale);
    if stationary && signs {
        Ok(())
    } else {
        Err(SolveError::Unbounded)
    }
}
