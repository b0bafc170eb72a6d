//! Newton's method on faces with second-order blocks on their boundary: the lifted layout, its
//! residual and chord steps with active-set corrections on the way.

use super::dense::{border, inf_norm, norm_of};
use super::guess::{Face, Role};
use super::kkt::{upper_of, Kkt, Parts, RowView, MAX_BORDER};
use super::oracle::FaceOracle;
use super::settings::FaceMiss;
use lpgd_core::ConicProblem;
use ndarray::Array1;

/// Most chord steps of Newton's method on boundary cones (active-set corrections included).
pub(super) const CHORD_STEPS: usize = 60;
/// New Jacobians (at the current point) each face of a boundary-cone solve may factorize after
/// the kept one.
pub(super) const REFACTORS: usize = 1;
/// A chord step that shrinks the residual by less than this factor asks for a new Jacobian.
pub(super) const CHORD_CONTRACTION: f64 = 0.25;
/// Newton on boundary cones stops at a residual this far below the certificate's tolerance.
pub(super) const CHORD_TARGET: f64 = 1e-3;

/// The lifted layout of a face with second-order blocks on their boundary: x, then per block
/// its tail `u` (k − 1 variables) and one variable ω that carries the rank-one part of the
/// Hessian `λ/‖u‖ (I − ûûᵀ)` (as `[cI, √c û; √c ûᵀ, 1]`, whose Schur complement it is), so the
/// Newton matrix stays sparse and quasi-definite. Constraint rows: the tight rows, then per block
/// its lifted rows `Āx + u = b̄` and `a₀x − b₀ + ‖u‖ = 0`.
pub(super) struct Lifted {
    pub(super) n: usize,
    /// (first row, rows) of every boundary block.
    pub(super) boundary: Vec<(usize, usize)>,
    /// Per block, its rows of A as sparse rows (`a₀`, then `Ā`).
    pub(super) block_rows: Vec<Vec<Vec<(usize, f64)>>>,
    /// Per block, the index of its first `u`.
    pub(super) offsets: Vec<usize>,
    /// Primal variables: x, every u and ω.
    pub(super) primal: usize,
}

/// The KKT residual of a lifted face at a point.
pub(super) struct Residual {
    /// Stationarity: `Px + c + Aᵀy` in x, then `ȳ + λû` per block.
    pub(super) dual: Vec<f64>,
    /// `a_r x − b_r` of the tight rows, in order.
    pub(super) rows: Vec<f64>,
    /// Per block: `u − s̄`, then `‖u‖ − s₀`.
    pub(super) blocks: Vec<f64>,
}

impl Lifted {
    pub(super) fn new(
        problem: &ConicProblem,
        view: &RowView,
        boundary: Vec<(usize, usize)>,
    ) -> Self {
        let n = problem.n();
        let block_rows = boundary
            .iter()
            .map(|&(start, k)| view.rows[start..start + k].to_vec())
            .collect();
        let mut offsets = Vec::with_capacity(boundary.len());
        let mut primal = n;
        for &(_, k) in &boundary {
            offsets.push(primal);
            primal += k;
        }
        Self {
            n,
            boundary,
            block_rows,
            offsets,
            primal,
        }
    }

    /// `b − Ax`.
    pub(super) fn slack(&self, problem: &ConicProblem, x: &[f64]) -> Vec<f64> {
        let ax = problem.a().mul_vec(x);
        problem.b().iter().zip(&ax).map(|(b, a)| b - a).collect()
    }

    /// The Newton matrix at `(u, λ)` with `rows` tight.
    pub(super) fn jacobian(
        &self,
        (problem, view): (&ConicProblem, &RowView),
        rows: &[usize],
        u: &[Vec<f64>],
        lambda: &[f64],
    ) -> Result<Parts, FaceMiss> {
        let mut upper = upper_of(problem, self.primal);
        let mut constraints = view.columns(rows);
        for (((&(_, k), &off), (ub, &lam)), rows_b) in self
            .boundary
            .iter()
            .zip(&self.offsets)
            .zip(u.iter().zip(lambda))
            .zip(&self.block_rows)
        {
            let nu = norm_of(ub);
            if !(nu > 0.0 && nu.is_finite()) {
                return Err(FaceMiss::Cone);
            }
            let c = lam.max(0.0) / nu;
            let omega = off + k - 1;
            for i in 0..k - 1 {
                upper[off + i].push((off + i, c));
            }
            let mut column: Vec<(usize, f64)> = (0..k - 1)
                .map(|i| (off + i, c.sqrt() * ub[i] / nu))
                .collect();
            column.push((omega, 1.0));
            upper[omega] = column;
            for (i, tail_row) in rows_b[1..].iter().enumerate() {
                let mut row = tail_row.clone();
                row.push((off + i, 1.0));
                constraints.push(row);
            }
            let mut row = rows_b[0].clone();
            row.extend((0..k - 1).map(|i| (off + i, ub[i] / nu)));
            constraints.push(row);
        }
        Ok((upper, constraints))
    }

    /// The residual at `(x, y, u)` (`s = b − Ax`) with `tight` held.
    pub(super) fn residual(
        &self,
        problem: &ConicProblem,
        (x, y, u): (&[f64], &[f64], &[Vec<f64>]),
        s: &[f64],
        tight: &[usize],
    ) -> Residual {
        let mut dual = problem.a().t_mul_vec(y).to_vec();
        for (d, c) in dual.iter_mut().zip(problem.c()) {
            *d += c;
        }
        if let Some(p) = problem.p() {
            for (d, v) in dual.iter_mut().zip(&p.sym_upper_mul_vec(x)) {
                *d += v;
            }
        }
        let mut blocks = Vec::new();
        for (&(start, k), ub) in self.boundary.iter().zip(u) {
            let nu = norm_of(ub);
            dual.extend((0..k - 1).map(|i| y[start + 1 + i] + y[start] * ub[i] / nu));
            blocks.extend((0..k - 1).map(|i| ub[i] - s[start + 1 + i]));
            blocks.push(nu - s[start]);
        }
        Residual {
            dual,
            rows: tight.iter().map(|&r| -s[r]).collect(),
            blocks,
        }
    }

    /// One chord step: the factor on `rows`, bordered to hold `tight`, against the residual.
    pub(super) fn step(
        &self,
        view: &RowView,
        kkt: &mut Kkt,
        rows: &[usize],
        residual: &Residual,
        (s, (added, removed)): (&[f64], (&[usize], &[usize])),
    ) -> Option<Vec<f64>> {
        let size = self.primal + rows.len() + residual.blocks.len();
        let mut rhs = vec![0.0; size];
        for (r, d) in rhs.iter_mut().zip(&residual.dual[..self.n]) {
            *r = -d;
        }
        let mut d = self.n;
        for (&(_, k), &off) in self.boundary.iter().zip(&self.offsets) {
            for i in 0..k - 1 {
                rhs[off + i] = -residual.dual[d];
                d += 1;
            }
        }
        for (e, &r) in rows.iter().enumerate() {
            rhs[self.primal + e] = s[r];
        }
        let con = self.primal + rows.len();
        for (r, v) in rhs[con..].iter_mut().zip(&residual.blocks) {
            *r = -v;
        }
        let targets: Vec<f64> = added.iter().map(|&r| s[r]).collect();
        kkt.solve_bordered(view, (&rhs, self.primal), added, removed, (&targets, false))
    }

    /// Takes a chord step (from [`Lifted::step`] on `rows`, bordered by `added` and `removed`).
    pub(super) fn apply(
        &self,
        step: &[f64],
        (rows, (added, removed)): (&[usize], (&[usize], &[usize])),
        (x, y, u): (&mut [f64], &mut [f64], &mut [Vec<f64>]),
    ) {
        for (xj, d) in x.iter_mut().zip(step) {
            *xj += d;
        }
        for (ub, &off) in u.iter_mut().zip(&self.offsets) {
            for (i, v) in ub.iter_mut().enumerate() {
                *v += step[off + i];
            }
        }
        for (e, &r) in rows.iter().enumerate() {
            if removed.binary_search(&e).is_err() {
                y[r] += step[self.primal + e];
            }
        }
        let mut con = self.primal + rows.len();
        for &(start, k) in &self.boundary {
            for i in 0..k - 1 {
                y[start + 1 + i] += step[con + i];
            }
            y[start] += step[con + k - 1];
            con += k;
        }
        for (i, &r) in added.iter().enumerate() {
            y[r] += step[con + i];
        }
    }
}

impl<O> FaceOracle<O> {
    /// Newton's method for the optimum on a face with second-order blocks on their boundary,
    /// the linear rows' active set corrected on the way. Each block's slack tail is lifted into
    /// variables `u = b̄ − Āx` and held on the boundary by `a₀x − b₀ + ‖u‖ = 0` (multiplier
    /// λ = y₀ ≥ 0; the lifted rows' multipliers are the block's dual tail `ȳ = −λ û`).
    ///
    /// The steps are *chord* steps: the Jacobian is factorized once, at the hint, and kept (so
    /// both sides of a centred pass share it), and every step solves it against the exact KKT
    /// residual — which also refines away its static regularization. A step that contracts the
    /// residual too little asks for a Jacobian at the current point ([`REFACTORS`] per face); a
    /// first step that grows it gives up at once ([`FaceMiss::Newton`]: the optimum moved too far
    /// from the hint, and trying longer measured costlier than the fallback).
    /// When the residual vanishes on the current face, rows that break their sign are moved to
    /// the other side (a primal-dual active-set correction) and the steps go on, the changed rows
    /// bordering the kept factorization. Returns x, y and the corrections made.
    pub(super) fn newton(
        &mut self,
        (problem, view): (&ConicProblem, &RowView),
        face: &mut Face,
    ) -> Result<(Array1<f64>, Array1<f64>, usize), FaceMiss> {
        let (n, m) = (problem.n(), problem.m());
        if face.x.len() != n || face.y.len() != m {
            return Err(FaceMiss::NoHint);
        }
        let lifted = Lifted::new(problem, view, face.boundary());
        let b = problem.b().as_slice().expect("contiguous");
        let scale_p = 1.0 + inf_norm(b);
        let scale_d = 1.0 + inf_norm(problem.c().as_slice().expect("contiguous"));
        let (tol_p, tol_d) = (
            self.settings.tolerance * scale_p,
            self.settings.tolerance * scale_d,
        );
        let target = CHORD_TARGET * self.settings.tolerance;
        // The start: the hint, the duals of rows left free at zero.
        let mut x = face.x.clone();
        let mut y = face.y.clone();
        for (yr, role) in y.iter_mut().zip(&face.roles) {
            if matches!(role, Role::Free | Role::ConeFree) {
                *yr = 0.0;
            }
        }
        let s = lifted.slack(problem, &x);
        let mut u: Vec<Vec<f64>> = lifted
            .boundary
            .iter()
            .map(|&(start, k)| s[start + 1..start + k].to_vec())
            .collect();
        let lambda = |y: &[f64]| -> Vec<f64> {
            lifted.boundary.iter().map(|&(start, _)| y[start]).collect()
        };
        let base_rows = face.tight_rows();
        let mut point = x.clone();
        point.extend(lambda(&y));
        let kept = self.cache.factor(
            &mut self.stats,
            problem,
            &base_rows,
            (&lifted.boundary, &point),
            || lifted.jacobian((problem, view), &base_rows, &u, &lambda(&y)),
            || None,
        )?;
        // A Jacobian factorized at a later point replaces the kept one for the rest of the solve.
        let mut local: Option<(Kkt, Vec<usize>)> = None;
        let mut tight = base_rows;
        let (mut previous, mut refactors, mut corrections) = (f64::INFINITY, 0, 0);
        let mut violated_before = usize::MAX;
        let mut fresh = true;
        let mut first = true;
        for _ in 0..CHORD_STEPS {
            let s = lifted.slack(problem, &x);
            let residual = lifted.residual(problem, (&x, &y, &u), &s, &tight);
            let norm = (inf_norm(&residual.dual) / scale_d)
                .max(inf_norm(&residual.rows).max(inf_norm(&residual.blocks)) / scale_p);
            if !norm.is_finite() {
                return Err(FaceMiss::Singular);
            }
            if norm <= target {
                // Converged on this face: correct the rows that break their sign.
                let violations: Vec<usize> = (0..m)
                    .filter(|&r| match face.roles[r] {
                        Role::Tight => y[r] < -tol_d,
                        Role::Free => s[r] < -tol_p,
                        _ => false,
                    })
                    .collect();
                if violations.is_empty() {
                    let mut y = Array1::from(y);
                    for &(start, k) in &lifted.boundary {
                        // The block's dual exactly on the boundary, aligned with its slack.
                        let tail = norm_of(&s[start + 1..start + k]);
                        let l = y[start];
                        for r in 1..k {
                            y[start + r] = -l * s[start + r] / tail;
                        }
                    }
                    return Ok((Array1::from(x), y, corrections));
                }
                corrections += 1;
                if corrections > self.settings.corrections
                    || violations.len() >= violated_before.saturating_mul(2)
                {
                    return Err(FaceMiss::Certificate);
                }
                violated_before = violations.len();
                // Each face may ask for its own new Jacobian.
                refactors = 0;
                for r in violations {
                    face.roles[r] = if face.roles[r] == Role::Tight {
                        y[r] = 0.0;
                        Role::Free
                    } else {
                        Role::Tight
                    };
                }
                tight = face.tight_rows();
                fresh = true;
                continue;
            }
            // The rows bordering the factor in use (the kept one or a later Jacobian).
            let (mut added, mut removed) = border(
                local.as_ref().map_or(self.cache.rows(kept), |l| &l.1),
                &tight,
            );
            let far = added.len() + removed.len() > MAX_BORDER;
            if !fresh && first {
                // The first step from the hint's Jacobian grew the residual: the perturbation
                // moved the optimum too far for Newton from the hint (measured: such solves
                // almost never certify, and trying costs more than the fallback).
                if norm > previous {
                    return Err(FaceMiss::Newton);
                }
                first = false;
            }
            if far || !fresh && norm > CHORD_CONTRACTION * previous {
                if refactors == REFACTORS {
                    return Err(FaceMiss::Newton);
                }
                refactors += 1;
                self.stats.factorizations += 1;
                let (upper, constraints) =
                    lifted.jacobian((problem, view), &tight, &u, &lambda(&y))?;
                local = Some((Kkt::assemble(upper, constraints)?, tight.clone()));
                (added, removed) = (Vec::new(), Vec::new());
            }
            fresh = false;
            previous = norm;
            let (kkt, rows) = match local.as_mut() {
                Some((kkt, rows)) => (kkt, &rows[..]),
                None => self.cache.kept(kept),
            };
            let step = lifted
                .step(view, kkt, rows, &residual, (&s, (&added, &removed)))
                .ok_or(FaceMiss::Singular)?;
            lifted.apply(&step, (rows, (&added, &removed)), (&mut x, &mut y, &mut u));
        }
        Err(FaceMiss::Newton)
    }
}
