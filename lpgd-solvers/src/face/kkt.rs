//! The face's saddle-point matrix `[H + δI, Cᵀ; C, −δI]`: A by rows, the fill-reducing ordering
//! shared by every face of a pattern, assembly, one quasi-definite LDLᵀ, bordered solves and
//! iterative refinement.

use super::dense::{dot, inf_norm, DenseLu};
use super::settings::FaceMiss;
use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::qdldl::{QDLDLFactorisation, QDLDLSettingsBuilder};
use lpgd_core::{ConicProblem, CscMatrix};

/// Static regularization of the face KKT matrix (removed again by iterative refinement).
pub(super) const STATIC_REGULARIZATION: f64 = 1e-9;
/// Iterative refinement stops at this residual, relative to `1 + ‖rhs‖∞`.
pub(super) const REFINE_TOLERANCE: f64 = 1e-13;
/// A solve whose refined residual stays above this (relative) is singular: no answer.
pub(super) const REFINE_ACCEPT: f64 = 1e-10;
/// Most refinement steps.
pub(super) const REFINE_STEPS: usize = 20;

/// Most rows a correction changes by bordering the kept factorization (more: a new one).
pub(super) const MAX_BORDER: usize = 32;

/// A's rows as sparse lists (variables ascending), kept for the last A the oracle saw.
pub(super) struct RowView {
    pub(super) a: CscMatrix,
    pub(super) rows: Vec<Vec<(usize, f64)>>,
}

impl RowView {
    pub(super) fn of(a: &CscMatrix) -> Self {
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); a.nrows()];
        // `iter` walks A by columns, so each list comes out sorted by variable.
        for (i, j, v) in a.iter() {
            rows[i].push((j, v));
        }
        Self { a: a.clone(), rows }
    }

    /// Rows `rows` of A as sparse columns of the saddle-point matrix.
    pub(super) fn columns(&self, rows: &[usize]) -> Vec<Vec<(usize, f64)>> {
        rows.iter().map(|&r| self.rows[r].clone()).collect()
    }
}

/// AMD's ordering of the matrix `[P, Aᵀ; A, 0]` with *every* row of A, and the patterns it was
/// formed for. A linear face's matrix holds x and a subset of the rows; its ordering is this one
/// restricted to them (relative order kept), so one AMD serves every face of a batch instead of
/// one per face.
pub(super) struct Ordering {
    pub(super) p: Option<(Vec<usize>, Vec<usize>)>,
    pub(super) a: (Vec<usize>, Vec<usize>),
    pub(super) perm: Vec<usize>,
}

impl Ordering {
    /// The ordering of the face matrix with x (`n`) and the tight `rows` (ascending).
    pub(super) fn restricted(&self, n: usize, rows: &[usize]) -> Vec<usize> {
        let mut position = vec![usize::MAX; self.perm.len().saturating_sub(n)];
        for (e, &r) in rows.iter().enumerate() {
            if let Some(p) = position.get_mut(r) {
                *p = n + e;
            }
        }
        self.perm
            .iter()
            .filter_map(|&k| {
                if k < n {
                    Some(k)
                } else {
                    position.get(k - n).copied().filter(|&p| p != usize::MAX)
                }
            })
            .collect()
    }
}

/// The upper triangle of P by columns, rows ascending, padded to `size` columns.
pub(super) fn upper_of(problem: &ConicProblem, size: usize) -> Vec<Vec<(usize, f64)>> {
    let mut upper: Vec<Vec<(usize, f64)>> = vec![Vec::new(); size];
    if let Some(p) = problem.p() {
        for (i, j, v) in p.iter() {
            upper[j].push((i, v));
        }
    }
    upper
}

/// A saddle-point matrix `[H, Cᵀ; C, 0]` before assembly: H's upper triangle by columns (rows
/// ascending) and C's rows as sparse columns.
pub(super) type Parts = (Vec<Vec<(usize, f64)>>, Vec<Vec<(usize, f64)>>);

/// One factorized saddle-point matrix `[H + δI, Cᵀ; C, −δI]` and its solves.
pub(super) struct Kkt {
    /// Upper triangle of the regularized matrix (static δ on the diagonal).
    pub(super) matrix: ClCsc<f64>,
    /// Primal columns (the rest are constraint rows).
    pub(super) primal: usize,
    pub(super) ldl: QDLDLFactorisation<f64>,
    /// Border columns of corrections and their solves, by (added?, row or position).
    pub(super) border: std::collections::HashMap<(bool, usize), (Vec<f64>, Vec<f64>)>,
}

impl Kkt {
    /// The regularized saddle-point matrix `[H + δI, Cᵀ; C, −δI]` from H's upper triangle by
    /// columns (rows ascending, diagonal last or absent) and C's rows as sparse columns.
    pub(super) fn assemble(
        upper: Vec<Vec<(usize, f64)>>,
        constraints: Vec<Vec<(usize, f64)>>,
    ) -> Result<Self, FaceMiss> {
        let n = upper.len();
        Self::from_pattern(n, Self::pattern(upper, constraints), None)
    }

    /// Factorizes the matrix `pattern` gave (`n` primal columns).
    pub(super) fn from_pattern(
        n: usize,
        (colptr, rowval, nzval): (Vec<usize>, Vec<usize>, Vec<f64>),
        ordering: Option<Vec<usize>>,
    ) -> Result<Self, FaceMiss> {
        let dim = colptr.len() - 1;
        let count = dim - n;
        debug_assert!((0..dim).all(|j| colptr[j + 1] > colptr[j] && rowval[colptr[j + 1] - 1] == j));
        let matrix = ClCsc::new(dim, dim, colptr, rowval, nzval);
        let mut signs = vec![1i8; n];
        signs.extend(std::iter::repeat_n(-1i8, count));
        let mut builder = QDLDLSettingsBuilder::default();
        builder
            .Dsigns(signs)
            .regularize_enable(true)
            .regularize_eps(1e-13)
            .regularize_delta(1e-7);
        if let Some(perm) = ordering {
            builder.perm(perm);
        }
        let settings = builder.build().map_err(|_| FaceMiss::Singular)?;
        let ldl =
            QDLDLFactorisation::new(&matrix, Some(settings)).map_err(|_| FaceMiss::Singular)?;
        Ok(Self {
            matrix,
            primal: n,
            ldl,
            border: std::collections::HashMap::new(),
        })
    }

    /// Whether a matrix of `primal` primal columns and this pattern is this factor's.
    pub(super) fn same_pattern(&self, primal: usize, colptr: &[usize], rowval: &[usize]) -> bool {
        self.primal == primal && self.matrix.colptr == colptr && self.matrix.rowval == rowval
    }

    /// Refactors numerically with new values in this factor's pattern (ordering and symbolic
    /// analysis kept). False when the factorization fails.
    pub(super) fn revalue(&mut self, nzval: Vec<f64>) -> bool {
        let indices: Vec<usize> = (0..nzval.len()).collect();
        self.ldl.update_values(&indices, &nzval);
        self.matrix.nzval = nzval;
        self.border.clear();
        self.ldl.refactor().is_ok()
    }

    /// `(colptr, rowval, nzval)` of the upper triangle of `[H + δI, Cᵀ; C, −δI]`.
    pub(super) fn pattern(
        upper: Vec<Vec<(usize, f64)>>,
        constraints: Vec<Vec<(usize, f64)>>,
    ) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
        let n = upper.len();
        let mut colptr = Vec::with_capacity(n + constraints.len() + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        for (j, column) in upper.into_iter().enumerate() {
            let mut diagonal = false;
            for (i, v) in column {
                rowval.push(i);
                if i == j {
                    diagonal = true;
                    nzval.push(v + STATIC_REGULARIZATION);
                } else {
                    nzval.push(v);
                }
            }
            if !diagonal {
                rowval.push(j);
                nzval.push(STATIC_REGULARIZATION);
            }
            colptr.push(rowval.len());
        }
        for (e, column) in constraints.into_iter().enumerate() {
            for (j, v) in column {
                rowval.push(j);
                nzval.push(v);
            }
            rowval.push(n + e);
            nzval.push(-STATIC_REGULARIZATION);
            colptr.push(rowval.len());
        }
        (colptr, rowval, nzval)
    }

    /// `K₀ v`, K₀ the matrix without the static regularization. Every column of the upper
    /// triangle ends with its diagonal entry (`pattern` stores them so).
    pub(super) fn unregularized_mul(&self, v: &[f64], n: usize) -> Vec<f64> {
        let k = &self.matrix;
        let mut out = vec![0.0; v.len()];
        for j in 0..k.n {
            let (start, last) = (k.colptr[j], k.colptr[j + 1] - 1);
            let vj = v[j];
            let mut column = 0.0;
            for (&i, &a) in k.rowval[start..last].iter().zip(&k.nzval[start..last]) {
                out[i] += a * vj;
                column += a * v[i];
            }
            let delta = if j < n {
                STATIC_REGULARIZATION
            } else {
                -STATIC_REGULARIZATION
            };
            out[j] += column + (k.nzval[last] - delta) * vj;
        }
        out
    }

    /// Solves the face that adds the tight rows `added` to this factor's face and lets go of its
    /// rows `removed` (positions in `self.rows`), by bordering: `[K₀ B; Bᵀ 0] (v, λ) = (rhs, d)`
    /// with B's columns `(a_rᵀ, 0)` for an added row (λ its dual, `a_r x = d`) and the unit vector
    /// on a removed row's dual (which frees that row and pins its dual to 0). One solve per
    /// border column and a small dense Schur complement instead of a new factorization. Returns
    /// `(v, λ)` concatenated, or None (too many changes, or a singular border). `primal`: the
    /// matrix's primal size (its constraint rows follow); `refine`: refine against the
    /// unregularized system (else one pass — for Newton's chord steps, which refine by
    /// themselves).
    pub(super) fn solve_bordered(
        &mut self,
        view: &RowView,
        (rhs, primal): (&[f64], usize),
        added: &[usize],
        removed: &[usize],
        (d, refine): (&[f64], bool),
    ) -> Option<Vec<f64>> {
        let n = primal;
        let size = rhs.len();
        let k = added.len() + removed.len();
        if k == 0 {
            return if refine {
                self.solve(rhs, n)
            } else {
                Some(self.raw_solve(rhs)).filter(|v| v.iter().all(|x| x.is_finite()))
            };
        }
        if k > MAX_BORDER {
            return None;
        }
        // Border columns and Z = K⁻¹B with the regularized factor (one pass each: the
        // refinement below, against the unregularized bordered system, removes the
        // regularization), kept across the corrections of one solve; M = BᵀZ.
        let missing: Vec<usize> = added
            .iter()
            .copied()
            .filter(|r| !self.border.contains_key(&(true, *r)))
            .collect();
        for (r, c) in missing.iter().zip(view.columns(&missing)) {
            let mut v = vec![0.0; size];
            for (j, a) in c {
                v[j] = a;
            }
            let z = self.raw_solve(&v);
            self.border.insert((true, *r), (v, z));
        }
        for &e in removed {
            if !self.border.contains_key(&(false, e)) {
                let mut v = vec![0.0; size];
                v[n + e] = 1.0;
                let z = self.raw_solve(&v);
                self.border.insert((false, e), (v, z));
            }
        }
        let keys: Vec<(bool, usize)> = added
            .iter()
            .map(|&r| (true, r))
            .chain(removed.iter().map(|&e| (false, e)))
            .collect();
        let (border, z): (Vec<Vec<f64>>, Vec<Vec<f64>>) =
            keys.iter().map(|key| self.border[key].clone()).unzip();
        let mut rhs_extra = d.to_vec();
        rhs_extra.resize(k, 0.0);
        let mut schur = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                schur[i * k + j] = dot(&border[i], &z[j]);
            }
        }
        let lu = DenseLu::new(schur, k)?;
        let solve_once = |this: &mut Self, r: &[f64], r_extra: &[f64]| -> Option<Vec<f64>> {
            let w = this.raw_solve(r);
            let mut t: Vec<f64> = (0..k).map(|i| dot(&border[i], &w) - r_extra[i]).collect();
            lu.solve(&mut t);
            let mut out = w;
            for (j, zj) in z.iter().enumerate() {
                for (o, zv) in out.iter_mut().zip(zj) {
                    *o -= zv * t[j];
                }
            }
            out.extend(t);
            Some(out)
        };
        let mut out = solve_once(self, rhs, &rhs_extra)?;
        if !refine {
            return out.iter().all(|x| x.is_finite()).then_some(out);
        }
        let scale = 1.0 + inf_norm(rhs).max(inf_norm(&rhs_extra));
        for _ in 0..REFINE_STEPS {
            // Residual of the bordered system with the unregularized K₀.
            let (v, lambda) = out.split_at(size);
            let kv = self.unregularized_mul(v, n);
            let mut r: Vec<f64> = (0..size).map(|i| rhs[i] - kv[i]).collect();
            for (j, col) in border.iter().enumerate() {
                for (ri, bv) in r.iter_mut().zip(col) {
                    *ri -= bv * lambda[j];
                }
            }
            let r_extra: Vec<f64> = (0..k).map(|i| rhs_extra[i] - dot(&border[i], v)).collect();
            let residual = inf_norm(&r).max(inf_norm(&r_extra)) / scale;
            if !residual.is_finite() {
                return None;
            }
            if residual <= REFINE_TOLERANCE {
                return Some(out);
            }
            let step = solve_once(self, &r, &r_extra)?;
            for (o, s) in out.iter_mut().zip(&step) {
                *o += s;
            }
        }
        None
    }

    /// One pass of the regularized factor: `K⁻¹ rhs`.
    pub(super) fn raw_solve(&mut self, rhs: &[f64]) -> Vec<f64> {
        let mut v = rhs.to_vec();
        self.ldl.solve(&mut v);
        v
    }

    /// Solves `K₀ v = rhs` by the regularized factor and iterative refinement; None when the
    /// residual does not come down (a singular face).
    pub(super) fn solve(&mut self, rhs: &[f64], n: usize) -> Option<Vec<f64>> {
        let scale = 1.0 + inf_norm(rhs);
        let mut v = rhs.to_vec();
        self.ldl.solve(&mut v);
        let mut residual = f64::INFINITY;
        for _ in 0..REFINE_STEPS {
            let kv = self.unregularized_mul(&v, n);
            let mut r: Vec<f64> = rhs.iter().zip(&kv).map(|(b, k)| b - k).collect();
            let next = inf_norm(&r) / scale;
            if !next.is_finite() {
                return None;
            }
            if next <= REFINE_TOLERANCE || next >= residual {
                residual = residual.min(next);
                break;
            }
            residual = next;
            self.ldl.solve(&mut r);
            for (vi, di) in v.iter_mut().zip(&r) {
                *vi += di;
            }
        }
        (residual <= REFINE_ACCEPT && v.iter().all(|x| x.is_finite())).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::Ordering;

    #[test]
    pub(super) fn a_face_ordering_is_the_full_one_restricted_to_x_and_its_rows() {
        // n = 2 variables, m = 3 rows: full indices 0, 1 (x) and 2, 3, 4 (rows 0, 1, 2).
        let full = Ordering {
            p: None,
            a: (Vec::new(), Vec::new()),
            perm: vec![3, 0, 4, 1, 2],
        };
        // The face holds rows 0 and 2, at face indices 2 and 3; row 1 drops out.
        assert_eq!(full.restricted(2, &[0, 2]), vec![0, 3, 1, 2]);
        assert_eq!(full.restricted(2, &[]), vec![0, 1]);
        assert_eq!(full.restricted(2, &[0, 1, 2]), vec![3, 0, 4, 1, 2]);
    }
}
