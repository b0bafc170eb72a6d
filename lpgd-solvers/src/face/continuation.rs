//! The active-set continuation: a parametric active-set method (the online active-set strategy
//! of qpOASES) for problems with a quadratic term and linear cones.
//!
//! Where the optimum has left the hint's face by more rows than the corrections can move, the
//! hint is still the exact optimum of a *neighbouring* problem: clip its duals and slacks to its
//! face's signs (tight rows: slack 0, dual ≥ 0; free rows: dual 0, slack ≥ 0) and it solves the
//! problem with the same P and A and the data `c₀ = −(Px + Aᵀy)`, `b₀ = Ax + s`. On a fixed face
//! the optimum moves affinely with the data, so the method follows it along the segment from
//! `(c₀, b₀)` to the problem's `(c, b)`: one KKT solve gives the direction, a ratio test the first
//! tight row whose dual or free row whose slack reaches zero, and that row changes sides (a
//! pivot). Every face is solved by bordering one kept factorization (re-based after
//! `MAX_BORDER` changed rows), so a pivot costs a few triangular solves, not a factorization.
//! At the end of the segment the face is solved and certified like any face solve: the answer
//! is exact, and the walk only decides which face to certify. No feasible start is needed, so
//! warm forwards whose `b` moved continue too.
//!
//! An LP's faces are vertices (as many tight rows as variables), so there each breakpoint is a
//! swap — the parametric self-dual simplex method: a tight row whose dual reaches zero leaves
//! and the free row that the edge it opens reaches first enters (a primal ratio test); a free
//! row whose slack reaches zero enters and the tight row whose dual the new row's weight drives
//! to zero first leaves (a dual ratio test). Both tests are solves with the same bordered
//! factor.

use super::dense::border;
use super::guess::{is_linear, Face, Role};
use super::kkt::{upper_of, RowView, MAX_BORDER};
use super::oracle::FaceOracle;
use super::settings::FaceMiss;
use lpgd_core::{ConicProblem, ConicSolution};

/// Whether the continuation can answer on `face`: linear cones only.
pub(super) fn applies(face: &Face) -> bool {
    face.blocks.is_empty()
}

impl<O> FaceOracle<O> {
    /// Follows the optimum from `start`'s point to `problem` (see the [module docs](self)): the
    /// certified answer and the pivots it took.
    pub(super) fn continued(
        &mut self,
        problem: &ConicProblem,
        start: Face,
    ) -> Result<(ConicSolution, usize), FaceMiss> {
        let (n, m) = (problem.n(), problem.m());
        let linear = is_linear(problem);
        // The walk moves the face's roles and its point (x, y, s) along; at the end of the
        // segment the face is the one to certify.
        let mut face = start;
        face.trim_to_vertex(n);
        let (minus_dc, db) = {
            let Face { roles, x, y, s, .. } = &mut face;
            for r in 0..m {
                match roles[r] {
                    Role::Equality => s[r] = 0.0,
                    Role::Tight => {
                        s[r] = 0.0;
                        y[r] = y[r].max(0.0);
                    }
                    Role::Free => {
                        y[r] = 0.0;
                        s[r] = s[r].max(0.0);
                    }
                    _ => return Err(FaceMiss::Cone),
                }
            }
            // The data the clipped point is optimal for, and the way to the problem's.
            let a = problem.a();
            let mut c0 = a.t_mul_vec(y);
            if let Some(p) = problem.p() {
                c0 += &p.sym_upper_mul_vec(x);
            }
            let minus_dc: Vec<f64> = problem
                .c()
                .iter()
                .zip(&c0)
                .map(|(c, c0)| -(c + c0))
                .collect();
            let ax = a.mul_vec(x);
            let db: Vec<f64> = (0..m).map(|r| problem.b()[r] - ax[r] - s[r]).collect();
            (minus_dc, db)
        };

        let view = self.cache.view(problem);
        let full = self.cache.ordering(problem, &view);
        let mut base = None;
        let mut t = 0.0;
        let mut pivots = 0;
        // The rows the last pivot moved: they do not move back at a zero step (no cycling).
        let mut last_pivot: Vec<usize> = Vec::new();
        loop {
            let tight = face.tight_rows();
            let fits = base.is_some_and(|k: usize| {
                let (added, removed) = border(self.cache.rows(k), &tight);
                added.len() + removed.len() <= MAX_BORDER
            });
            let k = match base {
                Some(k) if fits => k,
                _ => self.cache.factor(
                    &mut self.stats,
                    problem,
                    &tight,
                    (&[], &[]),
                    || Ok((upper_of(problem, n), view.columns(&tight))),
                    || full.as_ref().map(|o| o.restricted(n, &tight)),
                )?,
            };
            base = Some(k);
            // The direction on this face: [P Aₜᵀ; Aₜ 0] (dx, dyₜ) = (−Δc, Δbₜ).
            let (dx, dy) = self.cache.face_solve(k, &view, &tight, &minus_dc, &db)?;
            let dx = &dx[..];
            let Face { roles, x, y, s, .. } = &mut face;
            let ds: Vec<f64> = (0..m)
                .map(|r| match roles[r] {
                    Role::Free => db[r] - view.rows[r].iter().map(|&(j, v)| v * dx[j]).sum::<f64>(),
                    _ => 0.0,
                })
                .collect();
            // The first row to reach zero on the rest of the segment (ties: the lowest row; the
            // row that just changed sides does not change back at once).
            let remaining = 1.0 - t;
            let mut blocking: Option<(f64, usize)> = None;
            for r in 0..m {
                let (value, rate) = match roles[r] {
                    Role::Tight => (y[r], dy[r]),
                    Role::Free => (s[r], ds[r]),
                    _ => continue,
                };
                if rate >= 0.0 || !rate.is_finite() {
                    continue;
                }
                let step = (value / -rate).max(0.0);
                if step == 0.0 && last_pivot.contains(&r) {
                    continue;
                }
                if step < remaining && blocking.is_none_or(|(best, _)| step < best) {
                    blocking = Some((step, r));
                }
            }
            let Some((step, r)) = blocking else { break };
            for (xi, di) in x.iter_mut().zip(dx) {
                *xi += step * di;
            }
            for q in 0..m {
                match roles[q] {
                    Role::Free => s[q] = (s[q] + step * ds[q]).max(0.0),
                    _ => y[q] += step * dy[q],
                }
            }
            t += step;
            last_pivot = if linear {
                self.swap(problem, (k, &view, &tight), r, (roles, x, y, s))?
            } else {
                roles[r] = match roles[r] {
                    Role::Tight => {
                        y[r] = 0.0;
                        Role::Free
                    }
                    _ => {
                        s[r] = 0.0;
                        Role::Tight
                    }
                };
                vec![r]
            };
            pivots += 1;
            if pivots > self.settings.pivots {
                return Err(FaceMiss::Pivots);
            }
        }
        // The face at the end of the segment, solved exactly and certified.
        let (candidate, _) = self.on_face(problem, &mut face, base)?;
        if candidate.cone_violated || !candidate.violations.is_empty() {
            return Err(FaceMiss::Certificate);
        }
        let mut z = candidate.solution;
        z.iterations = u32::try_from(pivots + 1).unwrap_or(u32::MAX);
        Ok((z, pivots))
    }

    /// An LP's pivot at a breakpoint of row `r` (see the [module docs](self)): `r` and its
    /// partner change sides and the point moves to the new vertex. Returns the two rows.
    fn swap(
        &mut self,
        problem: &ConicProblem,
        (k, view, tight): (usize, &RowView, &[usize]),
        r: usize,
        (roles, x, y, s): (&mut [Role], &mut [f64], &mut [f64], &mut [f64]),
    ) -> Result<Vec<usize>, FaceMiss> {
        let (n, m) = (problem.n(), problem.m());
        let row_dot =
            |q: usize, v: &[f64]| -> f64 { view.rows[q].iter().map(|&(j, a)| a * v[j]).sum() };
        let first = |candidates: &mut dyn Iterator<Item = (f64, usize)>| {
            candidates.fold(None, |best: Option<(f64, usize)>, (step, q)| match best {
                Some((b, _)) if b <= step => best,
                _ => Some((step.max(0.0), q)),
            })
        };
        if roles[r] == Role::Tight {
            // r's dual reached zero: it leaves, and x moves along the edge d (a_r·d = −1, the
            // other tight rows held) until a free row's slack reaches zero; that row enters.
            let mut g = vec![0.0; m];
            g[r] = -1.0;
            let (d, _) = self.cache.face_solve(k, view, tight, &vec![0.0; n], &g)?;
            let rates: Vec<f64> = (0..m)
                .map(|q| {
                    if roles[q] == Role::Free {
                        row_dot(q, &d)
                    } else {
                        0.0
                    }
                })
                .collect();
            let (theta, q) = first(
                &mut (0..m)
                    .filter(|&q| roles[q] == Role::Free && rates[q] > 0.0)
                    .map(|q| (s[q] / rates[q], q)),
            )
            .ok_or(FaceMiss::Certificate)?; // an unbounded edge
            for (xi, di) in x.iter_mut().zip(&d) {
                *xi += theta * di;
            }
            for p in 0..m {
                if roles[p] == Role::Free {
                    s[p] = (s[p] - theta * rates[p]).max(0.0);
                }
            }
            (roles[r], y[r], s[r]) = (Role::Free, 0.0, theta);
            (roles[q], s[q]) = (Role::Tight, 0.0);
            Ok(vec![r, q])
        } else {
            // r's slack reached zero: it enters with a weight θ on its dual, the tight rows'
            // duals moving by −θα (a_r = Σ αₚ aₚ keeps stationarity) until one reaches zero.
            let mut f = vec![0.0; n];
            for &(j, a) in &view.rows[r] {
                f[j] = a;
            }
            let (_, alpha) = self.cache.face_solve(k, view, tight, &f, &vec![0.0; m])?;
            let (theta, p) = first(
                &mut (0..m)
                    .filter(|&p| roles[p] == Role::Tight && alpha[p] > 0.0)
                    .map(|p| (y[p] / alpha[p], p)),
            )
            .ok_or(FaceMiss::Certificate)?; // the problem turned infeasible on the way
            for &q in tight {
                y[q] -= theta * alpha[q];
            }
            (roles[r], y[r], s[r]) = (Role::Tight, theta, 0.0);
            (roles[p], y[p], s[p]) = (Role::Free, 0.0, 0.0);
            Ok(vec![r, p])
        }
    }
}
