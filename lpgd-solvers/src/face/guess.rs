//! The face a point shows: a role per row and cone block ([`Face`]), guessed from the hint, and
//! how far a guessed point is from a problem ([`guess_residual`]).

use super::dense::{norm_of, soc_margin};
use super::settings::FaceMiss;
use lpgd_core::{Cone, ConicProblem, ConicSolution};
use ndarray::Array1;

/// How one row (or one cone block) takes part in the face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A zero-cone row: always tight, free dual.
    Equality,
    /// A nonnegative row held tight: its dual must be ≥ 0.
    Tight,
    /// A nonnegative row left free: its slack must be ≥ 0, its dual is 0.
    Free,
    /// A second-order block with its slack inside: the slack must stay in the cone.
    ConeFree,
    /// A second-order block held at the apex: its dual must lie in the cone.
    ConeApex,
    /// A second-order block held on its boundary (slack and dual on the boundary, orthogonal):
    /// Newton steps on `s₀ = ‖s̄‖`, and its multiplier must be ≥ 0.
    ConeBoundary,
}

/// The face: a role per row (a block role repeated over its rows) and the cone blocks.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Face {
    pub(super) roles: Vec<Role>,
    /// (first row, rows) of every second-order block.
    pub(super) blocks: Vec<(usize, usize)>,
    /// The hint's x (the Newton start on boundary cones).
    pub(super) x: Vec<f64>,
    /// The hint's y (the Newton start of the duals on boundary cones).
    pub(super) y: Vec<f64>,
    /// The hint's s (the continuation's start).
    pub(super) s: Vec<f64>,
}

impl Face {
    /// At most as many tight rows as variables (an LP's face is a vertex: exactly as many). A
    /// degenerate vertex (more tight rows: a weakly active row, or a top-k selection's marginal
    /// item; also the start of a proximal re-solve from such a vertex) lets go of the
    /// nonnegative rows held weakest — smallest dual over slack, the last row first on a tie —
    /// whose duals an exact answer shows as zero; the certificate then says whether that basis
    /// is dual feasible.
    pub(super) fn trim_to_vertex(&mut self, n: usize) {
        let mut extra = self.tight_rows().len().saturating_sub(n);
        if extra == 0 {
            return;
        }
        let mut weakest: Vec<usize> = (0..self.roles.len())
            .filter(|&r| self.roles[r] == Role::Tight)
            .collect();
        weakest.sort_by(|&a, &b| {
            (self.y[a] - self.s[a])
                .total_cmp(&(self.y[b] - self.s[b]))
                .then(b.cmp(&a))
        });
        for r in weakest {
            if extra == 0 {
                break;
            }
            self.roles[r] = Role::Free;
            extra -= 1;
        }
    }

    /// The rows held as equalities, in order.
    pub(super) fn tight_rows(&self) -> Vec<usize> {
        (0..self.roles.len())
            .filter(|&r| matches!(self.roles[r], Role::Equality | Role::Tight | Role::ConeApex))
            .collect()
    }

    /// The second-order blocks held on their boundary.
    pub(super) fn boundary(&self) -> Vec<(usize, usize)> {
        self.blocks
            .iter()
            .copied()
            .filter(|&(start, _)| self.roles[start] == Role::ConeBoundary)
            .collect()
    }

    /// The face an (approximate) solution shows.
    pub(super) fn guess(
        cones: &[Cone],
        (x, y, s): (&[f64], &[f64], &[f64]),
        boundary_cones: bool,
    ) -> Result<Self, FaceMiss> {
        let mut roles = Vec::with_capacity(y.len());
        let mut blocks = Vec::new();
        let mut start = 0;
        for cone in cones {
            let k = cone.dim();
            match *cone {
                Cone::Zero(_) => roles.extend(std::iter::repeat_n(Role::Equality, k)),
                Cone::Nonnegative(_) => roles.extend((start..start + k).map(|r| {
                    if s[r] <= y[r] {
                        Role::Tight
                    } else {
                        Role::Free
                    }
                })),
                Cone::SecondOrder(_) if k > 0 => {
                    let (sb, yb) = (&s[start..start + k], &y[start..start + k]);
                    let (ns, ny) = (norm_of(sb), norm_of(yb));
                    let role = if ny <= 1e-4 * ns && soc_margin(sb) >= 1e-4 * ns {
                        Role::ConeFree
                    } else if ns <= 1e-4 * ny && soc_margin(yb) >= 1e-4 * ny {
                        Role::ConeApex
                    } else if boundary_cones
                        && sb[0] > 0.0
                        && yb[0] > 0.0
                        && norm_of(&sb[1..]) > 0.0
                    {
                        Role::ConeBoundary
                    } else {
                        return Err(FaceMiss::Cone);
                    };
                    roles.extend(std::iter::repeat_n(role, k));
                    blocks.push((start, k));
                }
                Cone::SecondOrder(_) => {}
                Cone::Exponential | Cone::Power(_) | Cone::Psd(_) => return Err(FaceMiss::Cone),
            }
            start += k;
        }
        Ok(Self {
            roles,
            blocks,
            x: x.to_vec(),
            y: y.to_vec(),
            s: s.to_vec(),
        })
    }
}

/// No quadratic term: a face must pin a vertex.
pub(super) fn is_linear(problem: &ConicProblem) -> bool {
    problem
        .p()
        .is_none_or(|p| p.values().iter().all(|&v| v == 0.0))
}

/// The hint as (x, y, s) when it has `problem`'s shape and finite values (the core gives every
/// re-solve its hint in the perturbed problem's shape, [`lpgd_core::Problem::hint`]).
pub(super) fn hint_for(problem: &ConicProblem, warm: &ConicSolution) -> Option<Hint> {
    let finite = |v: &Array1<f64>| v.iter().all(|x| x.is_finite());
    let shaped =
        warm.x.len() == problem.n() && warm.y.len() == problem.m() && warm.s.len() == problem.m();
    (shaped && finite(&warm.x) && finite(&warm.y) && finite(&warm.s))
        .then(|| (warm.x.to_vec(), warm.y.to_vec(), warm.s.to_vec()))
}

/// The KKT residual of `guess` on `problem`, each part relative to the size of its terms: the
/// larger of `‖Px + c + Aᵀy‖∞ / (1 + max(‖c‖∞, ‖Aᵀy‖∞, ‖Px‖∞))` and
/// `‖Ax + s − b‖∞ / (1 + max(‖b‖∞, ‖Ax‖∞, ‖s‖∞))` — how far a warm forward's guess is from
/// the problem ([`FaceSettings::guess_residual`]). Infinite for a guess of another shape or
/// with non-finite entries.
pub fn guess_residual(problem: &ConicProblem, guess: &ConicSolution) -> f64 {
    let (n, m) = (problem.n(), problem.m());
    if guess.x.len() != n || guess.y.len() != m || guess.s.len() != m {
        return f64::INFINITY;
    }
    let (Some(x), Some(y)) = (guess.x.as_slice(), guess.y.as_slice()) else {
        return f64::INFINITY;
    };
    let big = |v: &Array1<f64>| v.iter().fold(0.0f64, |a, r| a.max(r.abs()));
    // Each residual against the size of its terms (c may be zero where Aᵀy is not).
    let aty = problem.a().t_mul_vec(y);
    let mut dual = &aty + problem.c();
    let mut dual_scale = big(&aty).max(big(problem.c()));
    if let Some(p) = problem.p() {
        let px = p.sym_upper_mul_vec(x);
        dual += &px;
        dual_scale = dual_scale.max(big(&px));
    }
    let ax = problem.a().mul_vec(x);
    let primal = &ax + &guess.s - problem.b();
    let primal_scale = big(&ax).max(big(&guess.s)).max(big(problem.b()));
    let r = (big(&dual) / (1.0 + dual_scale)).max(big(&primal) / (1.0 + primal_scale));
    if r.is_finite() {
        r
    } else {
        f64::INFINITY
    }
}

/// A hint's (x, y, s) in the problem's shape.
pub(super) type Hint = (Vec<f64>, Vec<f64>, Vec<f64>);
