//! The kept factorizations ([`FactorCache`]): face factors keyed by every value they depend on,
//! A's row view and the orderings, so answers are a function of the problem and hint alone.

use super::dense::{border, gather, scatter};
use super::kkt::{upper_of, Kkt, Ordering, Parts, RowView};
use super::settings::{FaceMiss, FaceStats};
use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::qdldl::{QDLDLFactorisation, QDLDLSettingsBuilder};
use lpgd_core::{ConicProblem, CscMatrix};
use std::sync::Arc;

/// Factorizations kept (forward, both sides, proximal and slack-embedded problems).
pub(super) const KEPT: usize = 4;
/// Orderings kept (a problem and its slack embedding).
pub(super) const ORDERINGS: usize = 2;

/// A kept face factorization and what it was built from (the cache key): the problem's P and
/// A, the tight rows, and for a face with boundary cones those blocks and the point (x, then the
/// blocks' multipliers) its Newton matrix was formed at.
pub(super) struct Factor {
    pub(super) p: Option<CscMatrix>,
    pub(super) a: CscMatrix,
    pub(super) rows: Vec<usize>,
    pub(super) boundary: Vec<(usize, usize)>,
    pub(super) point: Vec<f64>,
    pub(super) kkt: Kkt,
    pub(super) last_used: u64,
}

impl Factor {
    pub(super) fn matches(
        &self,
        problem: &ConicProblem,
        rows: &[usize],
        at: FactorPoint<'_>,
    ) -> bool {
        self.rows == rows
            && self.boundary == at.0
            && self.point.len() == at.1.len()
            && self
                .point
                .iter()
                .zip(at.1)
                .all(|(a, b)| a.to_bits() == b.to_bits())
            && &self.a == problem.a()
            && self.p.as_ref() == problem.p()
    }
}

/// The boundary blocks and the point a Newton matrix is formed at (both empty for a linear face).
pub(super) type FactorPoint<'a> = (&'a [(usize, usize)], &'a [f64]);

/// The factorizations, row view and orderings a [`FaceOracle`](super::FaceOracle) keeps between
/// solves, and the counters of their use.
#[derive(Default)]
pub(super) struct FactorCache {
    pub(super) factors: Vec<Factor>,
    pub(super) view: Option<Arc<RowView>>,
    /// Kept orderings, most recent last (two: a forward problem and its slack embedding).
    pub(super) orderings: Vec<Arc<Ordering>>,
    pub(super) clock: u64,
}

impl FactorCache {
    /// The tight rows of kept factor `k`.
    pub(super) fn rows(&self, k: usize) -> &[usize] {
        &self.factors[k].rows
    }

    /// Kept factor `k`'s matrix, to solve with, and its tight rows.
    pub(super) fn kept(&mut self, k: usize) -> (&mut Kkt, &[usize]) {
        let factor = &mut self.factors[k];
        (&mut factor.kkt, &factor.rows)
    }

    /// The fill-reducing ordering of the linear faces' matrices, kept while P's and A's
    /// patterns stay the same (None when it cannot be formed: every face then orders its own).
    pub(super) fn ordering(
        &mut self,
        problem: &ConicProblem,
        view: &RowView,
    ) -> Option<Arc<Ordering>> {
        let a = problem.a();
        let same_p = |o: &Ordering| match (&o.p, problem.p()) {
            (None, None) => true,
            (Some((colptr, rowval)), Some(p)) => colptr == p.colptr() && rowval == p.rowval(),
            _ => false,
        };
        if let Some(k) = self
            .orderings
            .iter()
            .position(|o| o.a.0 == a.colptr() && o.a.1 == a.rowval() && same_p(o))
        {
            let o = self.orderings.remove(k);
            self.orderings.push(Arc::clone(&o));
            return Some(o);
        }
        let all: Vec<usize> = (0..problem.m()).collect();
        let n = problem.n();
        let (colptr, rowval, nzval) = Kkt::pattern(upper_of(problem, n), view.columns(&all));
        let dim = colptr.len() - 1;
        let matrix = ClCsc::new(dim, dim, colptr, rowval, nzval);
        let settings = QDLDLSettingsBuilder::default().logical(true).build().ok()?;
        let perm = QDLDLFactorisation::new(&matrix, Some(settings)).ok()?.perm;
        let ordering = Arc::new(Ordering {
            p: problem
                .p()
                .map(|p| (p.colptr().to_vec(), p.rowval().to_vec())),
            a: (a.colptr().to_vec(), a.rowval().to_vec()),
            perm,
        });
        if self.orderings.len() == ORDERINGS {
            self.orderings.remove(0);
        }
        self.orderings.push(Arc::clone(&ordering));
        Some(ordering)
    }

    /// A's rows, kept while A stays the same.
    pub(super) fn view(&mut self, problem: &ConicProblem) -> Arc<RowView> {
        match &self.view {
            Some(view) if &view.a == problem.a() => Arc::clone(view),
            _ => {
                let view = Arc::new(RowView::of(problem.a()));
                self.view = Some(Arc::clone(&view));
                view
            }
        }
    }

    /// The kept factorization for `problem` on `rows` (and at `at`), or a new one of the matrix
    /// `build` gives. A new matrix with the pattern of a kept one (the backward's `P + ρI` and
    /// the forward polish's P, on the same face) takes that factor over and refactors it
    /// numerically, keeping its ordering and symbolic analysis.
    pub(super) fn factor(
        &mut self,
        stats: &mut FaceStats,
        problem: &ConicProblem,
        rows: &[usize],
        at: FactorPoint<'_>,
        build: impl FnOnce() -> Result<Parts, FaceMiss>,
        ordering: impl FnOnce() -> Option<Vec<usize>>,
    ) -> Result<usize, FaceMiss> {
        self.clock += 1;
        if let Some(k) = self
            .factors
            .iter()
            .position(|f| f.matches(problem, rows, at))
        {
            stats.reused += 1;
            self.factors[k].last_used = self.clock;
            return Ok(k);
        }
        let (upper, constraints) = build()?;
        let primal = upper.len();
        let (colptr, rowval, nzval) = Kkt::pattern(upper, constraints);
        let key = |kkt: Kkt, clock: u64| Factor {
            p: problem.p().cloned(),
            a: problem.a().clone(),
            rows: rows.to_vec(),
            boundary: at.0.to_vec(),
            point: at.1.to_vec(),
            kkt,
            last_used: clock,
        };
        stats.factorizations += 1;
        // Only a factor of the same rows and blocks is taken over: its ordering is then the one
        // a new factor would get, so a factor (and every answer) depends on its matrix alone,
        // not on which faces the oracle saw before (with dense rows, faces of other rows share
        // the pattern but not the ordering).
        let same = (0..self.factors.len())
            .filter(|&k| {
                let f = &self.factors[k];
                f.rows == rows && f.boundary == at.0 && f.kkt.same_pattern(primal, &colptr, &rowval)
            })
            .min_by_key(|&k| self.factors[k].last_used);
        if let Some(k) = same {
            let old = self.factors.swap_remove(k);
            let mut kkt = old.kkt;
            if kkt.revalue(nzval.clone()) {
                self.factors.push(key(kkt, self.clock));
                return Ok(self.factors.len() - 1);
            }
        }
        let factor = key(
            Kkt::from_pattern(primal, (colptr, rowval, nzval), ordering())?,
            self.clock,
        );
        if self.factors.len() < KEPT {
            self.factors.push(factor);
            Ok(self.factors.len() - 1)
        } else {
            let k = (0..self.factors.len())
                .min_by_key(|&k| self.factors[k].last_used)
                .unwrap_or(0);
            self.factors[k] = factor;
            Ok(k)
        }
    }

    /// Solves `[P Aₜᵀ; Aₜ 0] (u, w) = (f, gₜ)` on the face of the rows `tight` by bordering the
    /// kept factor `k`: u, and w scattered over all m rows (zero off the face).
    pub(super) fn face_solve(
        &mut self,
        k: usize,
        view: &RowView,
        tight: &[usize],
        f: &[f64],
        g: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), FaceMiss> {
        let n = f.len();
        let m = g.len();
        let factor = &mut self.factors[k];
        let (added, removed) = border(&factor.rows, tight);
        let mut rhs = f.to_vec();
        rhs.extend(gather(g, &factor.rows));
        let d = gather(g, &added);
        let out = factor
            .kkt
            .solve_bordered(view, (&rhs, n), &added, &removed, (&d, true))
            .ok_or(FaceMiss::Singular)?;
        let base_len = n + factor.rows.len();
        let mut w = scatter(m, &factor.rows, &out[n..base_len]).to_vec();
        for &e in &removed {
            w[factor.rows[e]] = 0.0;
        }
        for (i, &r) in added.iter().enumerate() {
            w[r] = out[base_len + i];
        }
        Ok((out[..n].to_vec(), w))
    }
}
