//! The LPGD perturbation of a conic program: the problems re-solved by the backward pass and by
//! forward mode, and the Lagrangian gradients differenced from their solutions.

use super::verify::{VERIFY_TOLERANCE, VERIFY_TOLERANCE_ALMOST};
use super::{
    ConicCotangent, ConicGradient, ConicProblem, ConicSolution, ConicTangent, SolveStatus,
};
use crate::cone::Cone;
use crate::csc::CscMatrix;
use crate::error::{check_finite, check_len, InvalidInput, SolveError};
use crate::problem::Problem;
use ndarray::Array1;
use std::borrow::Cow;

impl ConicProblem {
    /// `P + ρI` (pattern extended by the diagonal), or P unchanged for ρ = 0.
    fn prox_p(&self, rho: f64) -> Result<Option<CscMatrix>, InvalidInput> {
        if rho == 0.0 {
            return Ok(self.p.clone());
        }
        let base = match &self.p {
            Some(p) => p.with_full_diagonal(),
            None => CscMatrix::scaled_identity(self.n(), 0.0)?,
        };
        let mut values = base.values().to_vec();
        for (k, (i, j, _)) in base.iter().enumerate() {
            if i == j {
                values[k] += rho;
            }
        }
        check_finite("P + rho I", &values)?;
        Ok(Some(base.replace_values(values)))
    }

    /// The embedding that puts the slack in the objective (for a loss on s):
    /// `[A I; 0 −I][x; x'] + [s₁; s₂] = [b'; 0]`, `s₁ ∈ {0}ᵐ`, `s₂ ∈ K`, cost `(c', σ·ds)`.
    fn embed_slack(
        &self,
        p: Option<CscMatrix>,
        b: Array1<f64>,
        c: Array1<f64>,
        cost_s: Array1<f64>,
    ) -> Self {
        let (m, n) = (self.m(), self.n());
        let left = self.a.pad(m, 0);
        let mut right_rows: Vec<usize> = Vec::with_capacity(2 * m);
        let mut right_vals: Vec<f64> = Vec::with_capacity(2 * m);
        let mut colptr = Vec::with_capacity(m + 1);
        colptr.push(0);
        for i in 0..m {
            right_rows.extend([i, m + i]);
            right_vals.extend([1.0, -1.0]);
            colptr.push(right_rows.len());
        }
        let right = CscMatrix::new(2 * m, m, colptr, right_rows, right_vals)
            .expect("the identity block is well formed");
        let a = CscMatrix::hstack(&[&left, &right]);
        let p = p.map(|p| p.pad(m, m));
        let mut bb = Array1::zeros(2 * m);
        bb.slice_mut(ndarray::s![..m]).assign(&b);
        let mut cc = Array1::zeros(n + m);
        cc.slice_mut(ndarray::s![..n]).assign(&c);
        cc.slice_mut(ndarray::s![n..]).assign(&cost_s);
        let mut cones = Vec::with_capacity(self.cones.len() + 1);
        cones.push(Cone::Zero(m));
        cones.extend_from_slice(&self.cones);
        Self {
            p,
            a,
            b: bb,
            c: cc,
            cones,
        }
    }
}

fn finite_vec(field: &'static str, v: Array1<f64>) -> Result<Array1<f64>, SolveError> {
    check_finite(field, &v)?;
    Ok(v)
}

fn check_array(field: &'static str, v: &Array1<f64>, len: usize) -> Result<(), InvalidInput> {
    check_len(field, v.len(), len)?;
    check_finite(field, v)
}

impl Problem for ConicProblem {
    type Solution = ConicSolution;
    type SolutionVector = ConicCotangent;
    type DataVector = ConicGradient;

    fn check_solution(&self, z: &ConicSolution) -> Result<(), InvalidInput> {
        check_array("x", &z.x, self.n())?;
        check_array("y", &z.y, self.m())?;
        check_array("s", &z.s, self.m())
    }

    fn check_cotangent(&self, g: &ConicCotangent) -> Result<(), InvalidInput> {
        check_array("dx", &g.dx, self.n())?;
        check_array("dy", &g.dy, self.m())?;
        check_array("ds", &g.ds, self.m())
    }

    fn check_tangent(&self, d: &ConicTangent) -> Result<(), InvalidInput> {
        match (&self.p, &d.dp) {
            (Some(p), Some(dp)) => check_array("dP", dp, p.nnz())?,
            (None, Some(dp)) => check_len("dP", dp.len(), 0)?,
            _ => {}
        }
        check_array("dA", &d.da, self.a.nnz())?;
        check_array("db", &d.db, self.m())?;
        check_array("dc", &d.dc, self.n())
    }

    fn is_almost_solved(z: &ConicSolution) -> bool {
        z.status == SolveStatus::AlmostSolved
    }

    fn stopped(z: &ConicSolution) -> Option<SolveError> {
        match z.status {
            SolveStatus::IterationLimit => Some(SolveError::MaxIterations),
            SolveStatus::TimeLimit => Some(SolveError::MaxTime),
            _ => None,
        }
    }

    fn verify(&self, z: &ConicSolution) -> Result<(), SolveError> {
        let tolerance = match z.status {
            SolveStatus::Solved => VERIFY_TOLERANCE,
            SolveStatus::AlmostSolved => VERIFY_TOLERANCE_ALMOST,
            // A stopped point claims no optimality: it is never verified as an optimum.
            SolveStatus::IterationLimit => return Err(SolveError::MaxIterations),
            SolveStatus::TimeLimit => return Err(SolveError::MaxTime),
        };
        ConicProblem::verify(self, z, tolerance)
    }

    fn backward_problem(
        &self,
        star: &ConicSolution,
        g: &ConicCotangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        let c = finite_vec("perturbed c", &self.c + &(sigma * &g.dx) - &(rho * &star.x))?;
        let b = finite_vec("perturbed b", &self.b - &(sigma * &g.dy))?;
        let p = self.prox_p(rho)?;
        if g.ds.iter().all(|&v| v == 0.0) {
            return Ok(Self {
                p,
                a: self.a.clone(),
                b,
                c,
                cones: self.cones.clone(),
            });
        }
        let cost_s = finite_vec("perturbed slack cost", sigma * &g.ds)?;
        Ok(self.embed_slack(p, b, c, cost_s))
    }

    fn forward_mode_problem(
        &self,
        star: &ConicSolution,
        d: &ConicTangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        let moved = Self {
            p: match (&self.p, &d.dp) {
                (Some(p), Some(dp)) => Some(p.axpy_values(sigma, dp)),
                (p, _) => p.clone(),
            },
            a: self.a.axpy_values(sigma, &d.da),
            b: finite_vec("moved b", &self.b + &(sigma * &d.db))?,
            c: finite_vec("moved c", &self.c + &(sigma * &d.dc) - &(rho * &star.x))?,
            cones: self.cones.clone(),
        };
        check_finite("moved A", moved.a.values())?;
        if let Some(p) = &moved.p {
            check_finite("moved P", p.values())?;
            p.check_positive_semidefinite()?;
        }
        Ok(Self {
            p: moved.prox_p(rho)?,
            ..moved
        })
    }

    fn restrict(&self, z: ConicSolution) -> ConicSolution {
        let (n, m) = (self.n(), self.m());
        if z.x.len() == n {
            return z;
        }
        // The slack-embedding: x' = s, and the dual of the first m rows is the original y.
        ConicSolution {
            x: z.x.slice(ndarray::s![..n]).to_owned(),
            s: z.x.slice(ndarray::s![n..n + m]).to_owned(),
            y: z.y.slice(ndarray::s![..m]).to_owned(),
            status: z.status,
            iterations: z.iterations,
        }
    }

    fn hint<'a>(&self, perturbed: &Self, star: &'a ConicSolution) -> Cow<'a, ConicSolution> {
        let (n, m) = (self.n(), self.m());
        if perturbed.n() == n || star.x.len() != n || star.s.len() != m || star.y.len() != m {
            return Cow::Borrowed(star);
        }
        // The slack embedding: variables (x, s), the rows' duals (y, y), slacks (0, s).
        let x = ndarray::concatenate![ndarray::Axis(0), star.x, star.s];
        let y = ndarray::concatenate![ndarray::Axis(0), star.y, star.y];
        let s = ndarray::concatenate![ndarray::Axis(0), Array1::zeros(m), star.s];
        Cow::Owned(ConicSolution {
            x,
            y,
            s,
            status: star.status,
            iterations: star.iterations,
        })
    }

    fn lagrangian_gradient_difference(
        &self,
        a: &ConicSolution,
        b: &ConicSolution,
        den: f64,
    ) -> ConicGradient {
        let inv = 1.0 / den;
        let da = self
            .a
            .iter()
            .map(|(i, j, _)| (a.y[i] * a.x[j] - b.y[i] * b.x[j]) * inv)
            .collect();
        let dp = self.p.as_ref().map(|p| {
            p.iter()
                .map(|(i, j, _)| {
                    let w = if i == j { 0.5 } else { 1.0 };
                    w * (a.x[i] * a.x[j] - b.x[i] * b.x[j]) * inv
                })
                .collect()
        });
        ConicGradient {
            dp,
            da,
            db: (&b.y - &a.y) * inv,
            dc: (&a.x - &b.x) * inv,
        }
    }

    fn solution_difference(
        &self,
        a: &ConicSolution,
        b: &ConicSolution,
        den: f64,
    ) -> ConicCotangent {
        let inv = 1.0 / den;
        ConicCotangent {
            dx: (&a.x - &b.x) * inv,
            dy: (&a.y - &b.y) * inv,
            ds: (&a.s - &b.s) * inv,
        }
    }
}
