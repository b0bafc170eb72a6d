//! Optimality checks: residuals of a primal-dual point, and certificates of infeasibility and
//! unboundedness.

use super::{ConicProblem, ConicSolution};
use crate::cone::Cone;
use crate::error::SolveError;
use ndarray::Array1;

/// Relative tolerance of [`ConicProblem::verify`] for an answer reported as solved.
pub const VERIFY_TOLERANCE: f64 = 1e-6;
/// Relative tolerance of [`ConicProblem::verify`] for an answer reported as almost solved.
pub const VERIFY_TOLERANCE_ALMOST: f64 = 1e-3;

/// How far a primal-dual point is from optimal, each part relative to the data's scale — the
/// equations row by row and column by column, each against its own terms, so a row or a
/// variable of scale 1e9 cannot hide an error on a row or variable of scale 1 (a badly scaled
/// problem's wrong answer stays wrong), and scaling a row (its dual inversely) or a variable
/// does not change them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Residuals {
    /// `maxᵢ |aᵢx + sᵢ − bᵢ| / (1 + max(|bᵢ|, |aᵢx|, |sᵢ|))`.
    pub primal: f64,
    /// `maxⱼ |(Px)ⱼ + cⱼ + (Aᵀy)ⱼ| / (1 + max(|cⱼ|, |(Px)ⱼ|, |(Aᵀy)ⱼ|))` — against the terms'
    /// values, not their absolute sums: a dual whose huge entries cancel in `Aᵀy` cannot pass
    /// a reduced cost that is off in the objective's units.
    pub dual: f64,
    /// The larger of the duality gap `|xᵀPx + cᵀx + bᵀy| / (1 + max(|primal objective|, |dual
    /// objective|))` and what the residuals cost in the objective, `(Σⱼ|rⱼxⱼ| + Σᵢ|pᵢyᵢ|)` (r
    /// the dual and p the primal residual) over `1 +` the size of the Lagrangian's terms
    /// `Σⱼ|xⱼ|(|cⱼ| + |(Px)ⱼ| + |(Aᵀy)ⱼ|) + Σᵢ|yᵢ|(|bᵢ| + |(Ax)ᵢ| + |sᵢ|)`.
    pub gap: f64,
    /// How far `s` lies outside `K`: on linear rows each slack against its row's scale (as in
    /// `primal`), on other cones each block against `1 + ‖s_block‖∞`.
    pub slack_cone: f64,
    /// How far `y` lies outside the dual cone `K*`: on nonnegative rows `max(−yᵢ, 0) / (1 +
    /// |yᵢ|)`, on other cones each block against `1 + ‖y_block‖∞`.
    pub dual_cone: f64,
}

fn inf_norm<'a>(v: impl IntoIterator<Item = &'a f64>) -> f64 {
    v.into_iter().fold(0.0_f64, |m, a| m.max(a.abs()))
}

/// How far `v` (one cone's block) lies outside the cone (`dual`: outside its dual cone), in
/// absolute terms (0 inside).
fn cone_violation(cone: &Cone, v: &[f64], dual: bool) -> f64 {
    let pos = |a: f64| a.max(0.0);
    match (*cone, dual) {
        (Cone::Zero(_), false) => inf_norm(v),
        (Cone::Zero(_), true) => 0.0,
        (Cone::Nonnegative(_), _) => v.iter().map(|&a| pos(-a)).fold(0.0, f64::max),
        (Cone::SecondOrder(_), _) => {
            let norm = v[1..].iter().map(|a| a * a).sum::<f64>().sqrt();
            pos(norm - v[0])
        }
        (Cone::Exponential, false) => {
            // (r, s, t) with s·exp(r/s) ≤ t, s > 0, or r ≤ 0, s = 0, t ≥ 0.
            let (r, s, t) = (v[0], v[1], v[2]);
            let closure = pos(r).max(s.abs()).max(pos(-t));
            if s > 0.0 && t > 0.0 {
                closure.min(pos(r - s * (t / s).ln()))
            } else {
                closure.max(pos(-s))
            }
        }
        (Cone::Exponential, true) => {
            // (u, v, w) with −u·exp(v/u) ≤ e·w, u < 0, or u = 0, v ≥ 0, w ≥ 0.
            let (u, vv, w) = (v[0], v[1], v[2]);
            let closure = u.abs().max(pos(-vv)).max(pos(-w));
            if u < 0.0 && w > 0.0 {
                closure.min(pos(u * (1.0 + (w / -u).ln()) - vv))
            } else {
                closure.max(pos(u))
            }
        }
        (Cone::Psd(k), _) => {
            // Self-dual: how far the smallest eigenvalue is below zero.
            let (values, _) = crate::linalg::symmetric_eigen(&crate::cone::psd_matrix(v, k), k);
            pos(-values.into_iter().fold(f64::INFINITY, f64::min))
        }
        (Cone::Power(alpha), dual) => {
            let (x, y, z) = (v[0], v[1], v[2]);
            let (x, y) = if dual {
                (x / alpha, y / (1.0 - alpha))
            } else {
                (x, y)
            };
            let sign = pos(-x).max(pos(-y));
            sign.max(pos(z.abs() - pos(x).powf(alpha) * pos(y).powf(1.0 - alpha)))
        }
    }
}

impl ConicProblem {
    /// The residuals of a primal-dual point: how far it is from satisfying the optimality
    /// conditions `Ax + s = b`, `Px + c + Aᵀy = 0`, `s ∈ K`, `y ∈ K*` and a zero duality gap.
    /// `z` must have this problem's dimensions.
    pub fn residuals(&self, z: &ConicSolution) -> Residuals {
        let (x, y, s) = (
            z.x.as_slice().unwrap_or(&[]),
            z.y.as_slice().unwrap_or(&[]),
            z.s.as_slice().unwrap_or(&[]),
        );
        if x.len() != self.n() || y.len() != self.m() || s.len() != self.m() {
            let inf = f64::INFINITY;
            return Residuals {
                primal: inf,
                dual: inf,
                gap: inf,
                slack_cone: inf,
                dual_cone: inf,
            };
        }
        // Each row's and each column's terms.
        let mut ax = vec![0.0; self.m()];
        let mut aty = vec![0.0; self.n()];
        for (i, j, a) in self.a.iter() {
            ax[i] += a * x[j];
            aty[j] += a * y[i];
        }
        let mut px = vec![0.0; self.n()];
        if let Some(p) = &self.p {
            for (i, j, v) in p.iter() {
                px[i] += v * x[j];
                if i != j {
                    px[j] += v * x[i];
                }
            }
        }
        // The worst ratio; NaN anywhere stays NaN (`f64::max` would drop it).
        let worst = |w: f64, r: f64| {
            if w.is_nan() || r.is_nan() {
                f64::NAN
            } else {
                w.max(r)
            }
        };
        let row_scale: Vec<f64> = (0..self.m())
            .map(|i| 1.0 + self.b[i].abs().max(ax[i].abs()).max(s[i].abs()))
            .collect();
        let primal = (0..self.m()).fold(0.0_f64, |w, i| {
            worst(w, (ax[i] + s[i] - self.b[i]).abs() / row_scale[i])
        });
        let dual = (0..self.n()).fold(0.0_f64, |w, j| {
            let scale = 1.0 + self.c[j].abs().max(px[j].abs()).max(aty[j].abs());
            worst(w, (px[j] + self.c[j] + aty[j]).abs() / scale)
        });
        let xpx: f64 = px.iter().zip(x).map(|(a, b)| a * b).sum();
        let cx: f64 = self.c.iter().zip(x).map(|(a, b)| a * b).sum();
        let by: f64 = self.b.iter().zip(y).map(|(a, b)| a * b).sum();
        let (pobj, dobj) = (0.5 * xpx + cx, -0.5 * xpx - by);
        // The gap, and what the residuals cost in the objective's units: a reduced cost off by
        // rⱼ moves the objective by rⱼxⱼ, a row off by pᵢ by pᵢyᵢ — invariant under scaling a
        // row or a variable, and what a badly scaled problem's "optimal" answer gets wrong (a
        // variable of 1e5 with a reduced cost off by 1e-6 is 0.1 off the optimum). It is
        // measured against the size of the Lagrangian's terms at the point, so a large x with
        // a zero objective (a feasibility layer) is not held to an objective of 0.
        let mut priced = 0.0;
        let mut terms = 0.0;
        for j in 0..self.n() {
            priced += ((px[j] + self.c[j] + aty[j]) * x[j]).abs();
            terms += x[j].abs() * (self.c[j].abs() + px[j].abs() + aty[j].abs());
        }
        for i in 0..self.m() {
            priced += ((ax[i] + s[i] - self.b[i]) * y[i]).abs();
            terms += y[i].abs() * (self.b[i].abs() + ax[i].abs() + s[i].abs());
        }
        let gap =
            ((pobj - dobj).abs() / (1.0 + pobj.abs().max(dobj.abs()))).max(priced / (1.0 + terms));
        // Cone membership: linear rows one by one (a slack against its row's scale, a dual
        // against its own size), other cones block by block.
        let (mut slack_cone, mut dual_cone, mut row) = (0.0_f64, 0.0_f64, 0);
        for cone in &self.cones {
            let k = cone.dim();
            let rows = row..row + k;
            match cone {
                Cone::Zero(_) | Cone::Nonnegative(_) => {
                    for i in rows {
                        let off = match cone {
                            Cone::Zero(_) => s[i].abs(),
                            _ => (-s[i]).max(0.0),
                        };
                        slack_cone = worst(slack_cone, off / row_scale[i]);
                        if matches!(cone, Cone::Nonnegative(_)) {
                            dual_cone = worst(dual_cone, (-y[i]).max(0.0) / (1.0 + y[i].abs()));
                        }
                    }
                }
                _ => {
                    let (sb, yb) = (&s[rows.clone()], &y[rows]);
                    slack_cone = worst(
                        slack_cone,
                        cone_violation(cone, sb, false) / (1.0 + inf_norm(sb)),
                    );
                    dual_cone = worst(
                        dual_cone,
                        cone_violation(cone, yb, true) / (1.0 + inf_norm(yb)),
                    );
                }
            }
            row += k;
        }
        Residuals {
            primal,
            dual,
            gap,
            slack_cone,
            dual_cone,
        }
    }

    /// Checks that `z` is optimal to the relative `tolerance`: every one of its [`Residuals`] at
    /// most `tolerance` (a NaN residual fails). Backends' claims of optimality go through this
    /// check (with [`VERIFY_TOLERANCE`], or [`VERIFY_TOLERANCE_ALMOST`] for almost-solved
    /// answers), so a point a solver wrongly calls optimal is [`SolveError::Unverified`].
    pub fn verify(&self, z: &ConicSolution, tolerance: f64) -> Result<(), SolveError> {
        let r = self.residuals(z);
        for (check, residual) in [
            ("primal", r.primal),
            ("dual", r.dual),
            ("gap", r.gap),
            ("slack cone", r.slack_cone),
            ("dual cone", r.dual_cone),
        ] {
            if residual.is_nan() || residual > tolerance {
                return Err(SolveError::Unverified {
                    check,
                    residual,
                    tolerance,
                });
            }
        }
        Ok(())
    }
}

impl ConicProblem {
    /// Checks a certificate of primal infeasibility, `y` with `Aᵀy = 0`, `y ∈ K*`, `bᵀy < 0`
    /// (normalised to `‖y‖∞ = 1`, each condition to the relative `tolerance`). Backends check the
    /// certificate behind an "infeasible" status with it, so the status is never false.
    pub fn verify_infeasible(&self, y: &Array1<f64>, tolerance: f64) -> Result<(), SolveError> {
        let fail = |residual: f64| SolveError::Unverified {
            check: "infeasibility certificate",
            residual,
            tolerance,
        };
        let size = inf_norm(y);
        if y.len() != self.m() || !(size > 0.0 && size.is_finite()) {
            return Err(fail(f64::INFINITY));
        }
        let y = y / size;
        let a_scale = 1.0 + inf_norm(self.a.values());
        let aty = inf_norm(&self.a.t_mul_vec(y.as_slice().unwrap_or(&[])));
        let cone = self.cone_violation(&y, true);
        let by = self.b.dot(&y);
        let residual = (aty / a_scale).max(cone);
        if residual > tolerance {
            return Err(fail(residual));
        }
        if by.is_nan() || by >= -tolerance * (1.0 + inf_norm(&self.b)) * 1e-3 {
            return Err(fail(by));
        }
        Ok(())
    }

    /// Checks a certificate of unboundedness, a direction `x` (with `s = −Ax`) with `Ax + s = 0`,
    /// `s ∈ K`, `Px = 0`, `cᵀx < 0` (normalised to `‖x‖∞ = 1`, each condition to the relative
    /// `tolerance`).
    pub fn verify_unbounded(
        &self,
        x: &Array1<f64>,
        s: &Array1<f64>,
        tolerance: f64,
    ) -> Result<(), SolveError> {
        let fail = |residual: f64| SolveError::Unverified {
            check: "unboundedness certificate",
            residual,
            tolerance,
        };
        let size = inf_norm(x);
        if x.len() != self.n() || s.len() != self.m() || !(size > 0.0 && size.is_finite()) {
            return Err(fail(f64::INFINITY));
        }
        let (x, s) = (x / size, s / size);
        let a_scale = 1.0 + inf_norm(self.a.values());
        let ax = self.a.mul_vec(x.as_slice().unwrap_or(&[]));
        let primal = inf_norm((&ax + &s).iter()) / a_scale;
        let px = self.p.as_ref().map_or(0.0, |p| {
            inf_norm(&p.sym_upper_mul_vec(x.as_slice().unwrap_or(&[])))
                / (1.0 + inf_norm(p.values()))
        });
        let cone = self.cone_violation(&s, false);
        let residual = primal.max(px).max(cone);
        if residual > tolerance {
            return Err(fail(residual));
        }
        let cx = self.c.dot(&x);
        if cx.is_nan() || cx >= -tolerance * (1.0 + inf_norm(&self.c)) * 1e-3 {
            return Err(fail(cx));
        }
        Ok(())
    }

    /// The largest violation of `K` (or `K*` when `dual`) over the cones, in absolute terms.
    fn cone_violation(&self, v: &Array1<f64>, dual: bool) -> f64 {
        let mut row = 0;
        let mut worst = 0.0_f64;
        let v = v.to_vec();
        for cone in &self.cones {
            let k = cone.dim();
            worst = worst.max(cone_violation(cone, &v[row..row + k], dual));
            row += k;
        }
        worst
    }
}
