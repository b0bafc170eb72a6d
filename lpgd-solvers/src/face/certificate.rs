//! Solving on a face and certifying the point: the certificate, the active-set corrections and
//! the hand-over to the continuation.

use super::continuation;
use super::dense::{inf_norm, soc_margin};
use super::guess::{is_linear, Face, Role};
use super::kkt::upper_of;
use super::oracle::FaceOracle;
use super::settings::{FaceMiss, FacePath};
use lpgd_core::{ConicProblem, ConicSolution, SolveStatus};
use ndarray::Array1;

/// A point on a face and the rows that break its certificate.
pub(super) struct Candidate {
    pub(super) solution: ConicSolution,
    /// Free rows with negative slack, tight rows with negative dual.
    pub(super) violations: Vec<usize>,
    /// A second-order block broke its certificate (no correction for those).
    pub(super) cone_violated: bool,
    /// Active-set corrections Newton's method made on the way (boundary cones).
    pub(super) corrections: usize,
}

impl<O> FaceOracle<O> {
    /// The optimum of `problem` on `face` and its certificate.
    /// `base`: a kept factorization (its index) of a face whose tight rows differ from `face`'s
    /// by a few — solved by bordering it instead of factorizing anew.
    pub(super) fn on_face(
        &mut self,
        problem: &ConicProblem,
        face: &mut Face,
        base: Option<usize>,
    ) -> Result<(Candidate, Option<usize>), FaceMiss> {
        let (n, m) = (problem.n(), problem.m());
        let mut rows = face.tight_rows();
        let boundary = face.boundary();
        let constraints = rows.len() + boundary.len();
        if constraints > n || boundary.is_empty() && is_linear(problem) && constraints != n {
            return Err(FaceMiss::NotVertex);
        }
        let b = problem.b();
        let mut used = None;
        let view = self.cache.view(problem);
        let mut corrections = 0;
        let (x, mut y) = if boundary.is_empty() {
            let minus_c: Vec<f64> = problem.c().iter().map(|v| -v).collect();
            let b_values = b.as_slice().expect("contiguous");
            // Bordering a kept factorization of a nearby face, else a factorization of its own.
            let bordered = base.and_then(|k| {
                self.cache
                    .face_solve(k, &view, &rows, &minus_c, b_values)
                    .ok()
                    .map(|point| (k, point))
            });
            let (k, (x, y)) = match bordered {
                Some(found) => found,
                None => {
                    let full = self.cache.ordering(problem, &view);
                    let k = self.cache.factor(
                        &mut self.stats,
                        problem,
                        &rows,
                        (&[], &[]),
                        || Ok((upper_of(problem, n), view.columns(&rows))),
                        || full.map(|o| o.restricted(n, &rows)),
                    )?;
                    (
                        k,
                        self.cache.face_solve(k, &view, &rows, &minus_c, b_values)?,
                    )
                }
            };
            used = Some(k);
            (Array1::from(x), Array1::from(y))
        } else {
            let (x, y, k) = self.newton((problem, &view), face)?;
            corrections = k;
            rows = face.tight_rows();
            (x, y)
        };
        if !x.iter().chain(y.iter()).all(|v| v.is_finite()) {
            return Err(FaceMiss::Singular);
        }
        let mut s = b - &problem.a().mul_vec(x.as_slice().expect("contiguous"));
        let tol_p = self.settings.tolerance * (1.0 + inf_norm(b.as_slice().expect("contiguous")));
        let tol_d =
            self.settings.tolerance * (1.0 + inf_norm(problem.c().as_slice().expect("contiguous")));
        // The face's own equations: stationarity, and zero slack on the rows held tight.
        let mut stationarity = problem.a().t_mul_vec(y.as_slice().expect("contiguous"));
        stationarity += problem.c();
        if let Some(p) = problem.p() {
            stationarity += &p.sym_upper_mul_vec(x.as_slice().expect("contiguous"));
        }
        let tight_residual = rows.iter().fold(0.0f64, |m, &r| m.max(s[r].abs()));
        if inf_norm(stationarity.as_slice().expect("contiguous")) > tol_d || tight_residual > tol_p
        {
            return Err(FaceMiss::Singular);
        }
        let mut violations = Vec::new();
        for r in 0..m {
            match face.roles[r] {
                Role::Equality | Role::ConeApex => s[r] = 0.0,
                Role::Tight => {
                    s[r] = 0.0;
                    if y[r] < -tol_d {
                        violations.push(r);
                    }
                    y[r] = y[r].max(0.0);
                }
                Role::Free => {
                    if s[r] < -tol_p {
                        violations.push(r);
                    }
                    s[r] = s[r].max(0.0);
                }
                Role::ConeFree | Role::ConeBoundary => {}
            }
        }
        let mut cone_violated = false;
        for &(start, k) in &face.blocks {
            let block = start..start + k;
            let (sb, yb) = (
                &s.as_slice().expect("contiguous")[block.clone()],
                &y.as_slice().expect("contiguous")[block],
            );
            cone_violated |= match face.roles[start] {
                Role::ConeFree => soc_margin(sb) < -tol_p,
                Role::ConeBoundary => soc_margin(sb) < -tol_p || yb[0] < -tol_d,
                _ => soc_margin(yb) < -tol_d,
            };
        }
        Ok((
            Candidate {
                solution: ConicSolution {
                    x,
                    y,
                    s,
                    status: SolveStatus::Solved,
                    iterations: 0,
                },
                violations,
                cone_violated,
                corrections,
            },
            used,
        ))
    }

    /// Solves on `face`, correcting it up to the configured number of times and then (with
    /// `continuation`, where it applies) following the optimum from the face's point by the
    /// active-set continuation: the certified point and the path that found it.
    pub(super) fn certified(
        &mut self,
        problem: &ConicProblem,
        face: Face,
        continuation: bool,
    ) -> Result<(ConicSolution, FacePath), FaceMiss> {
        let start = (continuation && self.settings.pivots > 0 && continuation::applies(&face))
            .then(|| face.clone());
        match (self.corrected(problem, face), start) {
            (Ok((z, 0)), _) => Ok((z, FacePath::Certified)),
            (Ok((z, k)), _) => Ok((z, FacePath::Corrected(k))),
            (Err(_), Some(start)) => {
                let (z, pivots) = self.continued(problem, start)?;
                Ok((z, FacePath::Continued(pivots)))
            }
            (Err(miss), None) => Err(miss),
        }
    }

    /// Solves on `face`, correcting it up to the configured number of times: the certified
    /// point and the corrections it took.
    pub(super) fn corrected(
        &mut self,
        problem: &ConicProblem,
        mut face: Face,
    ) -> Result<(ConicSolution, usize), FaceMiss> {
        // More tight rows than variables cannot be independent: keep a vertex's worth.
        face.trim_to_vertex(problem.n());
        let mut previous = usize::MAX;
        let mut base = None;
        for step in 0..=self.settings.corrections {
            let (candidate, used) = self.on_face(problem, &mut face, base)?;
            base = used;
            // A correction that doubles the violations is moving away from the optimal face:
            // stop paying for factorizations and let the inner oracle answer.
            if candidate.cone_violated || candidate.violations.len() >= previous.saturating_mul(2) {
                return Err(FaceMiss::Certificate);
            }
            previous = candidate.violations.len();
            if candidate.violations.is_empty() {
                let mut z = candidate.solution;
                let step = step + candidate.corrections;
                z.iterations = u32::try_from(step + 1).unwrap_or(u32::MAX);
                return Ok((z, step));
            }
            for r in candidate.violations {
                face.roles[r] = match face.roles[r] {
                    Role::Tight => Role::Free,
                    _ => Role::Tight,
                };
            }
            // Newton on boundary cones starts the corrected face from this point.
            face.x = candidate.solution.x.to_vec();
            face.y = candidate.solution.y.to_vec();
            face.s = candidate.solution.s.to_vec();
        }
        Err(FaceMiss::Certificate)
    }
}
