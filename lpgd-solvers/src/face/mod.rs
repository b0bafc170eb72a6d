//! The certified active-set re-solve: [`FaceOracle`] wraps any conic oracle and answers a
//! perturbed problem with one sparse factorization when it can prove the answer optimal.
//!
//! An LPGD re-solve differs from the forward problem only in its linear terms (and by ρI in P),
//! and for moderate τ its optimal *face* — which inequality rows are tight, which cones sit at
//! their apex — is usually the forward one. Given the warm hint (the forward solution), the oracle
//!
//! 1. guesses the face: zero-cone rows are equalities; a nonnegative row is tight when its slack is
//!    smaller than its dual; a second-order cone whose slack is strictly inside is left free, one
//!    whose slack is zero is fixed at the apex, one on its boundary is solved by Newton's method
//!    on `s₀ = ‖s̄‖` (its tail lifted into variables, so the Jacobian is a sparse LDLᵀ; chord
//!    steps on one Jacobian formed at the hint, active-set corrections on the way) when
//!    [`FaceSettings::boundary_cones`] is on (else, and for exponential, power or PSD cones, the
//!    attempt ends);
//! 2. solves the equality-constrained QP on that face, `[P Aₑᵀ; Aₑ 0] (x, yₑ) = (−c, bₑ)`, with one
//!    quasi-definite LDLᵀ (Clarabel's QDLDL: static regularization 1e-9, dynamic pivot
//!    regularization, iterative refinement against the unregularized matrix to 1e-13; one AMD
//!    ordering per (P, A) pattern, of the matrix with every row, restricted to the face);
//! 3. **certifies** the point: the slack of every free row lies in its cone and the dual of every
//!    tight row in the dual cone, to [`FaceSettings::tolerance`] (tighter than the solvers'
//!    1e-8). Stationarity and the tight rows hold to the refinement's residual, complementarity
//!    exactly by construction — a certified point *is* an optimum of the problem, not an
//!    approximation of one;
//! 4. otherwise moves the rows that violate the certificate to the other side (a primal-dual
//!    active-set step) up to [`FaceSettings::corrections`] times, and then falls back to the
//!    inner oracle.
//!
//! With ρ = 0 and no P (an LP) the face must pin a vertex (as many tight rows as variables);
//! otherwise the solution is not unique and the oracle falls back. Factorizations are kept for
//! the last few (P, A, face) triples, so both sides of a centred pass — and, with ρ = 0, the
//! forward polish and the backward pass — share one.
//!
//! **Forward polish** ([`FaceSettings::polish`]): a solve without a hint is the inner oracle's,
//! then refined the same way on the face its answer shows; a certified refinement replaces it, so
//! x*, y* are exact and the LPGD difference quotient no longer divides solver noise by τ.
//!
//! Every answer is a function of the problem and the hint alone (the kept factorizations are keyed
//! by every value they depend on), so batches are bit-identical on any number of threads.
//!
//! ```
//! use lpgd_core::{ConicCotangent, ConicProblem, Lpgd};
//! use lpgd_core::ndarray::array;
//! use lpgd_solvers::{ClarabelOracle, FaceOracle, FacePath};
//! // min ½‖x‖² − x₀ − x₁ s.t. x₀ + x₁ ≤ 1: the constraint is tight.
//! let problem = ConicProblem::builder(2)
//!     .cost(array![-1.0, -1.0])
//!     .quadratic(lpgd_core::CscMatrix::scaled_identity(2, 1.0)?)
//!     .inequalities(array![[1.0, 1.0]], array![1.0])
//!     .build()?;
//! let mut oracle = FaceOracle::new(ClarabelOracle::new());
//! let lpgd = Lpgd::new(0.1)?;
//! let z = lpgd.forward(&mut oracle, &problem)?;
//! assert_eq!(oracle.last_path(), Some(FacePath::Polished));
//! assert!((z.x[0] - 0.5).abs() < 1e-14);
//! let g = ConicCotangent::on_x(&problem, array![1.0, 0.0]);
//! let back = lpgd.backward(&mut oracle, &problem, &z, &g)?;
//! assert_eq!(oracle.last_path(), Some(FacePath::Certified));
//! // On the face x₀ + x₁ = 1 the solution moves along (1, −1): dc = (−½, ½).
//! assert!((back.gradient.dc[0] + 0.5).abs() < 1e-9 && (back.gradient.dc[1] - 0.5).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::qdldl::{QDLDLFactorisation, QDLDLSettingsBuilder};
use lpgd_core::{Cone, ConicProblem, ConicSolution, CscMatrix, Oracle, SolveError, SolveStatus};
use ndarray::Array1;
use std::sync::Arc;

mod continuation;

/// Static regularization of the face KKT matrix (removed again by iterative refinement).
const STATIC_REGULARIZATION: f64 = 1e-9;
/// Iterative refinement stops at this residual, relative to `1 + ‖rhs‖∞`.
const REFINE_TOLERANCE: f64 = 1e-13;
/// A solve whose refined residual stays above this (relative) is singular: no answer.
const REFINE_ACCEPT: f64 = 1e-10;
/// Most refinement steps.
const REFINE_STEPS: usize = 20;
/// Most chord steps of Newton's method on boundary cones (active-set corrections included).
const CHORD_STEPS: usize = 60;
/// New Jacobians (at the current point) each face of a boundary-cone solve may factorize after
/// the kept one.
const REFACTORS: usize = 1;
/// A chord step that shrinks the residual by less than this factor asks for a new Jacobian.
const CHORD_CONTRACTION: f64 = 0.25;
/// Newton on boundary cones stops at a residual this far below the certificate's tolerance.
const CHORD_TARGET: f64 = 1e-3;
/// Factorizations kept (forward, both sides, proximal and slack-embedded problems).
const KEPT: usize = 4;
/// Orderings kept (a problem and its slack embedding).
const ORDERINGS: usize = 2;

/// What the wrapper does besides certifying re-solves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSettings {
    /// Refine every forward solve (no hint) on its face, and keep the refinement if certified.
    pub polish: bool,
    /// Active-set corrections tried after a failed certificate, before the fallback.
    pub corrections: usize,
    /// Certificate tolerance, relative to `1 + ‖b‖∞` (primal) and `1 + ‖c‖∞` (dual).
    pub tolerance: f64,
    /// Solve faces with second-order cones on their boundary by Newton's method: chord steps on
    /// one sparse LDLᵀ formed at the hint and shared by both sides of a centred pass. Off by
    /// default: measured on the bundled medium problems (`compare`, centred, ρ = 0.1) it takes
    /// `qp_socp`'s backward from ~2 forward solves to 0.52 at τ = 0.1 and 0.15 at τ = 0.01, and
    /// `portfolio`'s to 0.77 at τ = 0.01 and 0.21 at τ = 0.001; but at τ = 0.1 `portfolio`'s
    /// optimum leaves the hint's face (no pass certifies) and the attempts and the forward
    /// polish cost ~10 % more than the plain path. Off, such faces fall back at once, without a
    /// factorization.
    pub boundary_cones: bool,
    /// Most pivots of the active-set continuation ([`continuation`]) that answers a solve whose
    /// corrections failed, on problems with a quadratic term (P or ρ > 0) and linear cones
    /// only; 0 turns it off.
    pub pivots: usize,
    /// A forward's guess ([`Oracle::solve_from`]) is tried only where its KKT residual on the
    /// new problem, relative to the size of its terms (`1 + max(‖c‖∞, ‖Aᵀy‖∞, ‖Px‖∞)` for
    /// stationarity, `1 + max(‖b‖∞, ‖Ax‖∞, ‖s‖∞)` for the rows), is at most this: a guess
    /// from another item (shuffled data without keys) is then refused for the price of two
    /// matrix-vector products instead of a face solve and a walk of pivots that ends in the
    /// cold solve anyway. Measured ([`guess_residual`], `face_paths` example): the same item
    /// with c and b moved by 1 % 0.011–0.028 on the bundled medium families, another item's
    /// answer 0.7–1.25 (qp_box, lp_box, qp_socp; portfolio's items are alike, 0.06–0.12); a
    /// training step's guesses through the nonnegative least-squares layer of
    /// `training_loop.py` (Adam, learning rate 1e-2) were refused two times in three at 0.05.
    pub guess_residual: f64,
}

impl Default for FaceSettings {
    /// Polish on, five corrections, tolerance 1e-9, boundary cones off, 64 pivots, guesses
    /// within a relative residual of 0.5.
    fn default() -> Self {
        Self {
            polish: true,
            corrections: 5,
            tolerance: 1e-9,
            boundary_cones: false,
            pivots: 64,
            guess_residual: 0.5,
        }
    }
}

/// Why a face solve did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceMiss {
    /// The hint does not fit the problem.
    NoHint,
    /// A cone the face solve does not handle: exponential, power, PSD, or a second-order cone
    /// with its slack on the boundary.
    Cone,
    /// An LP face that does not pin a vertex (not as many tight rows as variables), or more
    /// tight rows than variables (a degenerate face).
    NotVertex,
    /// The face's KKT system is singular (refinement did not converge).
    Singular,
    /// Newton's method on a boundary cone did not converge from the hint: its first step grew
    /// the residual, or a face needed more than one new Jacobian.
    Newton,
    /// The certificate failed (the optimal face is another one).
    Certificate,
    /// The active-set continuation needed more than [`FaceSettings::pivots`] pivots.
    Pivots,
    /// A forward's guess was too far from the problem (its KKT residual is larger than
    /// [`FaceSettings::guess_residual`]).
    FarGuess,
}

/// Which path answered a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FacePath {
    /// A re-solve answered on the hinted face and certified.
    Certified,
    /// A re-solve answered and certified after this many active-set corrections.
    Corrected(usize),
    /// A re-solve answered by the active-set continuation after this many pivots, certified.
    Continued(usize),
    /// A forward solve given a guess ([`Oracle::solve_from`]), answered on the guess's face and
    /// certified, after this many corrections or pivots.
    Warm(usize),
    /// A re-solve answered by the inner oracle, and why the face solve did not.
    Fallback(FaceMiss),
    /// A forward solve by the inner oracle, refined on its face and certified.
    Polished,
    /// A forward solve by the inner oracle, kept as it was (polish off, or why it failed).
    Unpolished(Option<FaceMiss>),
}

/// Counters of the paths taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaceStats {
    /// Re-solves certified on the hinted face.
    pub certified: u64,
    /// Re-solves certified after active-set corrections.
    pub corrected: u64,
    /// Re-solves answered by the active-set continuation.
    pub continued: u64,
    /// Forward solves answered from their guess (certified on its face).
    pub warm: u64,
    /// Forward solves whose guess did not certify (solved from scratch instead).
    pub warm_missed: u64,
    /// Re-solves answered by the inner oracle.
    pub fallbacks: u64,
    /// Forward solves refined and certified.
    pub polished: u64,
    /// Forward solves kept as the inner oracle gave them.
    pub unpolished: u64,
    /// LDLᵀ factorizations computed.
    pub factorizations: u64,
    /// Face solves that reused a kept factorization.
    pub reused: u64,
}

impl FaceStats {
    /// The share of re-solves answered without the inner oracle (NaN before any).
    pub fn certified_share(&self) -> f64 {
        let done = self.certified + self.corrected + self.continued;
        done as f64 / (done + self.fallbacks) as f64
    }
}

/// How one row (or one cone block) takes part in the face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
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
struct Face {
    roles: Vec<Role>,
    /// (first row, rows) of every second-order block.
    blocks: Vec<(usize, usize)>,
    /// The hint's x (the Newton start on boundary cones).
    x: Vec<f64>,
    /// The hint's y (the Newton start of the duals on boundary cones).
    y: Vec<f64>,
    /// The hint's s (the continuation's start).
    s: Vec<f64>,
}

impl Face {
    /// At most as many tight rows as variables (an LP's face is a vertex: exactly as many). A
    /// degenerate vertex (more tight rows: a weakly active row, or a top-k selection's marginal
    /// item; also the start of a proximal re-solve from such a vertex) lets go of the
    /// nonnegative rows held weakest — smallest dual over slack, the last row first on a tie —
    /// whose duals an exact answer shows as zero; the certificate then says whether that basis
    /// is dual feasible.
    fn trim_to_vertex(&mut self, n: usize) {
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
    fn tight_rows(&self) -> Vec<usize> {
        (0..self.roles.len())
            .filter(|&r| matches!(self.roles[r], Role::Equality | Role::Tight | Role::ConeApex))
            .collect()
    }

    /// The second-order blocks held on their boundary.
    fn boundary(&self) -> Vec<(usize, usize)> {
        self.blocks
            .iter()
            .copied()
            .filter(|&(start, _)| self.roles[start] == Role::ConeBoundary)
            .collect()
    }

    /// The face an (approximate) solution shows.
    fn guess(
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
fn is_linear(problem: &ConicProblem) -> bool {
    problem
        .p()
        .is_none_or(|p| p.values().iter().all(|&v| v == 0.0))
}

fn norm_of(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `v₀ − ‖v₁..‖`: ≥ 0 inside the second-order cone.
fn soc_margin(v: &[f64]) -> f64 {
    v[0] - norm_of(&v[1..])
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Most rows a correction changes by bordering the kept factorization (more: a new one).
const MAX_BORDER: usize = 32;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A small dense LU with partial pivoting (the Schur complement of a bordered solve).
struct DenseLu {
    lu: Vec<f64>,
    pivots: Vec<usize>,
    k: usize,
}

impl DenseLu {
    fn new(mut lu: Vec<f64>, k: usize) -> Option<Self> {
        let scale = lu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut pivots = Vec::with_capacity(k);
        for col in 0..k {
            let p = (col..k)
                .max_by(|&a, &b| lu[a * k + col].abs().total_cmp(&lu[b * k + col].abs()))?;
            let pivot = lu[p * k + col].abs();
            // (NaN fails too.)
            if pivot.is_nan() || pivot <= 1e-14 * scale {
                return None;
            }
            pivots.push(p);
            if p != col {
                for j in 0..k {
                    lu.swap(p * k + j, col * k + j);
                }
            }
            for i in col + 1..k {
                let f = lu[i * k + col] / lu[col * k + col];
                lu[i * k + col] = f;
                for j in col + 1..k {
                    lu[i * k + j] -= f * lu[col * k + j];
                }
            }
        }
        Some(Self { lu, pivots, k })
    }

    fn solve(&self, b: &mut [f64]) {
        let k = self.k;
        for (col, &p) in self.pivots.iter().enumerate() {
            b.swap(col, p);
        }
        for i in 0..k {
            for j in 0..i {
                b[i] -= self.lu[i * k + j] * b[j];
            }
        }
        for i in (0..k).rev() {
            for j in i + 1..k {
                b[i] -= self.lu[i * k + j] * b[j];
            }
            b[i] /= self.lu[i * k + i];
        }
    }
}

/// The rows a factor on `rows` must add, and the positions in `rows` it must remove, to hold
/// `tight` (both sorted).
fn border(rows: &[usize], tight: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let added = tight
        .iter()
        .copied()
        .filter(|r| rows.binary_search(r).is_err())
        .collect();
    let removed = (0..rows.len())
        .filter(|&e| tight.binary_search(&rows[e]).is_err())
        .collect();
    (added, removed)
}

/// A dual vector of length `m` holding `values[e]` on row `rows[e]`, zero elsewhere.
fn scatter(m: usize, rows: &[usize], values: &[f64]) -> Array1<f64> {
    let mut y = Array1::zeros(m);
    for (&r, &v) in rows.iter().zip(values) {
        y[r] = v;
    }
    y
}

/// `values` restricted to `rows`.
fn gather(values: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&r| values[r]).collect()
}

/// A's rows as sparse lists (variables ascending), kept for the last A the oracle saw.
struct RowView {
    a: CscMatrix,
    rows: Vec<Vec<(usize, f64)>>,
}

impl RowView {
    fn of(a: &CscMatrix) -> Self {
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); a.nrows()];
        // `iter` walks A by columns, so each list comes out sorted by variable.
        for (i, j, v) in a.iter() {
            rows[i].push((j, v));
        }
        Self { a: a.clone(), rows }
    }

    /// Rows `rows` of A as sparse columns of the saddle-point matrix.
    fn columns(&self, rows: &[usize]) -> Vec<Vec<(usize, f64)>> {
        rows.iter().map(|&r| self.rows[r].clone()).collect()
    }
}

/// AMD's ordering of the matrix `[P, Aᵀ; A, 0]` with *every* row of A, and the patterns it was
/// formed for. A linear face's matrix holds x and a subset of the rows; its ordering is this one
/// restricted to them (relative order kept), so one AMD serves every face of a batch instead of
/// one per face.
struct Ordering {
    p: Option<(Vec<usize>, Vec<usize>)>,
    a: (Vec<usize>, Vec<usize>),
    perm: Vec<usize>,
}

impl Ordering {
    /// The ordering of the face matrix with x (`n`) and the tight `rows` (ascending).
    fn restricted(&self, n: usize, rows: &[usize]) -> Vec<usize> {
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

/// A kept face factorization and what it was built from (the cache key): the problem's P and
/// A, the tight rows, and for a face with boundary cones those blocks and the point (x, then the
/// blocks' multipliers) its Newton matrix was formed at.
struct Factor {
    p: Option<CscMatrix>,
    a: CscMatrix,
    rows: Vec<usize>,
    boundary: Vec<(usize, usize)>,
    point: Vec<f64>,
    kkt: Kkt,
    last_used: u64,
}

impl Factor {
    fn matches(&self, problem: &ConicProblem, rows: &[usize], at: FactorPoint<'_>) -> bool {
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
type FactorPoint<'a> = (&'a [(usize, usize)], &'a [f64]);

/// The upper triangle of P by columns, rows ascending, padded to `size` columns.
fn upper_of(problem: &ConicProblem, size: usize) -> Vec<Vec<(usize, f64)>> {
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
type Parts = (Vec<Vec<(usize, f64)>>, Vec<Vec<(usize, f64)>>);

/// One factorized saddle-point matrix `[H + δI, Cᵀ; C, −δI]` and its solves.
struct Kkt {
    /// Upper triangle of the regularized matrix (static δ on the diagonal).
    matrix: ClCsc<f64>,
    /// Primal columns (the rest are constraint rows).
    primal: usize,
    ldl: QDLDLFactorisation<f64>,
    /// Border columns of corrections and their solves, by (added?, row or position).
    border: std::collections::HashMap<(bool, usize), (Vec<f64>, Vec<f64>)>,
}

impl Kkt {
    /// The regularized saddle-point matrix `[H + δI, Cᵀ; C, −δI]` from H's upper triangle by
    /// columns (rows ascending, diagonal last or absent) and C's rows as sparse columns.
    fn assemble(
        upper: Vec<Vec<(usize, f64)>>,
        constraints: Vec<Vec<(usize, f64)>>,
    ) -> Result<Self, FaceMiss> {
        let n = upper.len();
        Self::from_pattern(n, Self::pattern(upper, constraints), None)
    }

    /// Factorizes the matrix `pattern` gave (`n` primal columns).
    fn from_pattern(
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
    fn same_pattern(&self, primal: usize, colptr: &[usize], rowval: &[usize]) -> bool {
        self.primal == primal && self.matrix.colptr == colptr && self.matrix.rowval == rowval
    }

    /// Refactors numerically with new values in this factor's pattern (ordering and symbolic
    /// analysis kept). False when the factorization fails.
    fn revalue(&mut self, nzval: Vec<f64>) -> bool {
        let indices: Vec<usize> = (0..nzval.len()).collect();
        self.ldl.update_values(&indices, &nzval);
        self.matrix.nzval = nzval;
        self.border.clear();
        self.ldl.refactor().is_ok()
    }

    /// `(colptr, rowval, nzval)` of the upper triangle of `[H + δI, Cᵀ; C, −δI]`.
    fn pattern(
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
    fn unregularized_mul(&self, v: &[f64], n: usize) -> Vec<f64> {
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
    fn solve_bordered(
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
    fn raw_solve(&mut self, rhs: &[f64]) -> Vec<f64> {
        let mut v = rhs.to_vec();
        self.ldl.solve(&mut v);
        v
    }

    /// Solves `K₀ v = rhs` by the regularized factor and iterative refinement; None when the
    /// residual does not come down (a singular face).
    fn solve(&mut self, rhs: &[f64], n: usize) -> Option<Vec<f64>> {
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

/// The lifted layout of a face with second-order blocks on their boundary: x, then per block
/// its tail `u` (k − 1 variables) and one variable ω that carries the rank-one part of the
/// Hessian `λ/‖u‖ (I − ûûᵀ)` (as `[cI, √c û; √c ûᵀ, 1]`, whose Schur complement it is), so the
/// Newton matrix stays sparse and quasi-definite. Constraint rows: the tight rows, then per block
/// its lifted rows `Āx + u = b̄` and `a₀x − b₀ + ‖u‖ = 0`.
struct Lifted {
    n: usize,
    /// (first row, rows) of every boundary block.
    boundary: Vec<(usize, usize)>,
    /// Per block, its rows of A as sparse rows (`a₀`, then `Ā`).
    block_rows: Vec<Vec<Vec<(usize, f64)>>>,
    /// Per block, the index of its first `u`.
    offsets: Vec<usize>,
    /// Primal variables: x, every u and ω.
    primal: usize,
}

/// The KKT residual of a lifted face at a point.
struct Residual {
    /// Stationarity: `Px + c + Aᵀy` in x, then `ȳ + λû` per block.
    dual: Vec<f64>,
    /// `a_r x − b_r` of the tight rows, in order.
    rows: Vec<f64>,
    /// Per block: `u − s̄`, then `‖u‖ − s₀`.
    blocks: Vec<f64>,
}

impl Lifted {
    fn new(problem: &ConicProblem, view: &RowView, boundary: Vec<(usize, usize)>) -> Self {
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
    fn slack(&self, problem: &ConicProblem, x: &[f64]) -> Vec<f64> {
        let ax = problem.a().mul_vec(x);
        problem.b().iter().zip(&ax).map(|(b, a)| b - a).collect()
    }

    /// The Newton matrix at `(u, λ)` with `rows` tight.
    fn jacobian(
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
    fn residual(
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
    fn step(
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
    fn apply(
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

/// A point on a face and the rows that break its certificate.
struct Candidate {
    solution: ConicSolution,
    /// Free rows with negative slack, tight rows with negative dual.
    violations: Vec<usize>,
    /// A second-order block broke its certificate (no correction for those).
    cone_violated: bool,
    /// Active-set corrections Newton's method made on the way (boundary cones).
    corrections: usize,
}

/// A conic oracle that answers LPGD re-solves on the forward solution's face when it can certify
/// the answer, and asks its inner oracle otherwise. See the [module docs](self).
pub struct FaceOracle<O> {
    inner: O,
    settings: FaceSettings,
    factors: Vec<Factor>,
    view: Option<Arc<RowView>>,
    /// Kept orderings, most recent last (two: a forward problem and its slack embedding).
    orderings: Vec<Arc<Ordering>>,
    clock: u64,
    stats: FaceStats,
    last: Option<FacePath>,
}

impl<O> FaceOracle<O> {
    /// Wraps `inner` with the default settings.
    pub fn new(inner: O) -> Self {
        Self::with_settings(inner, FaceSettings::default())
    }

    /// Wraps `inner` with `settings`.
    pub fn with_settings(inner: O, settings: FaceSettings) -> Self {
        Self {
            inner,
            settings,
            factors: Vec::new(),
            view: None,
            orderings: Vec::new(),
            clock: 0,
            stats: FaceStats::default(),
            last: None,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> FaceSettings {
        self.settings
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> FaceStats {
        self.stats
    }

    /// The path of the last solve (None before the first).
    pub fn last_path(&self) -> Option<FacePath> {
        self.last
    }

    /// The inner oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The inner oracle, mutably.
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }

    /// The fill-reducing ordering of the linear faces' matrices, kept while P's and A's
    /// patterns stay the same (None when it cannot be formed: every face then orders its own).
    fn ordering(&mut self, problem: &ConicProblem, view: &RowView) -> Option<Arc<Ordering>> {
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
    fn view(&mut self, problem: &ConicProblem) -> Arc<RowView> {
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
    fn factor(
        &mut self,
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
            self.stats.reused += 1;
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
        self.stats.factorizations += 1;
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

    /// The optimum of `problem` on `face` and its certificate.
    /// `base`: a kept factorization (its index) of a face whose tight rows differ from `face`'s
    /// by a few — solved by bordering it instead of factorizing anew.
    fn on_face(
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
        let view = self.view(problem);
        let mut corrections = 0;
        let (x, mut y) = if boundary.is_empty() {
            let minus_c: Vec<f64> = problem.c().iter().map(|v| -v).collect();
            let b_values = b.as_slice().expect("contiguous");
            // Bordering a kept factorization of a nearby face, else a factorization of its own.
            let bordered = base.and_then(|k| {
                self.face_solve(k, &view, &rows, &minus_c, b_values)
                    .ok()
                    .map(|point| (k, point))
            });
            let (k, (x, y)) = match bordered {
                Some(found) => found,
                None => {
                    let full = self.ordering(problem, &view);
                    let k = self.factor(
                        problem,
                        &rows,
                        (&[], &[]),
                        || Ok((upper_of(problem, n), view.columns(&rows))),
                        || full.map(|o| o.restricted(n, &rows)),
                    )?;
                    (k, self.face_solve(k, &view, &rows, &minus_c, b_values)?)
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

    /// Solves `[P Aₜᵀ; Aₜ 0] (u, w) = (f, gₜ)` on the face of the rows `tight` by bordering the
    /// kept factor `k`: u, and w scattered over all m rows (zero off the face).
    fn face_solve(
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
    fn newton(
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
        let kept = self.factor(
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
                local.as_ref().map_or(&self.factors[kept].rows, |l| &l.1),
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
                None => {
                    let factor = &mut self.factors[kept];
                    (&mut factor.kkt, &factor.rows[..])
                }
            };
            let step = lifted
                .step(view, kkt, rows, &residual, (&s, (&added, &removed)))
                .ok_or(FaceMiss::Singular)?;
            lifted.apply(&step, (rows, (&added, &removed)), (&mut x, &mut y, &mut u));
        }
        Err(FaceMiss::Newton)
    }

    /// Solves on `face`, correcting it up to the configured number of times and then (with
    /// `continuation`, where it applies) following the optimum from the face's point by the
    /// active-set continuation: the certified point and the path that found it.
    fn certified(
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
    fn corrected(
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

/// The hint in `problem`'s shape: the forward solution itself, or — for the slack embedding of
/// a loss on s (`n + m` variables `(x, s)`, rows `[A I; 0 −I]`) — `((x, s), (y, y), (0, s))`.
fn hint_for(problem: &ConicProblem, warm: &ConicSolution) -> Option<Hint> {
    let (n, m) = (problem.n(), problem.m());
    let finite = |v: &Array1<f64>| v.iter().all(|x| x.is_finite());
    if !(finite(&warm.x) && finite(&warm.y) && finite(&warm.s)) {
        return None;
    }
    if warm.x.len() == n && warm.y.len() == m && warm.s.len() == m {
        return Some((warm.x.to_vec(), warm.y.to_vec(), warm.s.to_vec()));
    }
    let k = warm.s.len();
    if warm.y.len() == k && warm.x.len() + k == n && 2 * k == m {
        let mut x = warm.x.to_vec();
        x.extend(warm.s.iter());
        let mut y = warm.y.to_vec();
        y.extend(warm.y.iter());
        let mut s = vec![0.0; k];
        s.extend(warm.s.iter());
        return Some((x, y, s));
    }
    None
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
type Hint = (Vec<f64>, Vec<f64>, Vec<f64>);

impl<O: Oracle<ConicProblem>> Oracle<ConicProblem> for FaceOracle<O> {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        let Some(warm) = warm else {
            let z = self.inner.solve(problem, None)?;
            // A point a solver limit stopped stays as the caller asked for it.
            if !self.settings.polish || z.status.is_stopped() {
                self.stats.unpolished += 1;
                self.last = Some(FacePath::Unpolished(None));
                return Ok(z);
            }
            // An inner answer of the wrong shape or with non-finite entries is not a hint (the
            // core reports it as malformed).
            let polished = match hint_for(problem, &z) {
                Some((x, y, s)) if z.x.len() == problem.n() => {
                    Face::guess(problem.cones(), (&x, &y, &s), self.settings.boundary_cones)
                        .and_then(|face| self.certified(problem, face, false))
                }
                _ => Err(FaceMiss::NoHint),
            };
            return Ok(match polished {
                Ok((mut p, FacePath::Certified)) => {
                    self.stats.polished += 1;
                    self.last = Some(FacePath::Polished);
                    p.iterations = z.iterations;
                    p
                }
                Ok(_) | Err(_) => {
                    self.stats.unpolished += 1;
                    self.last = Some(FacePath::Unpolished(Some(
                        polished.err().unwrap_or(FaceMiss::Certificate),
                    )));
                    z
                }
            });
        };
        match self.on_hint(problem, warm) {
            Ok((z, path)) => {
                match path {
                    FacePath::Certified => self.stats.certified += 1,
                    FacePath::Continued(_) => self.stats.continued += 1,
                    _ => self.stats.corrected += 1,
                }
                self.last = Some(path);
                Ok(z)
            }
            Err(miss) => {
                self.stats.fallbacks += 1;
                self.last = Some(FacePath::Fallback(miss));
                self.inner.solve(problem, Some(warm))
            }
        }
    }

    /// A forward solve from `guess` (the same item's answer at the previous step): the guess's
    /// face, corrected or continued, and certified — the exact optimum at the cost of a face
    /// solve or a few pivots; otherwise the solve without a guess (inner oracle and polish), so
    /// a guess changes the speed, never the answer beyond the certificate's tolerance.
    fn solve_from(
        &mut self,
        problem: &ConicProblem,
        guess: &ConicSolution,
    ) -> Result<ConicSolution, SolveError> {
        let attempt = if guess_residual(problem, guess) <= self.settings.guess_residual {
            self.on_hint(problem, guess)
        } else {
            Err(FaceMiss::FarGuess)
        };
        match attempt {
            Ok((z, path)) => {
                self.stats.warm += 1;
                self.last = Some(FacePath::Warm(match path {
                    FacePath::Corrected(k) | FacePath::Continued(k) => k,
                    _ => 0,
                }));
                Ok(z)
            }
            Err(_) => {
                self.stats.warm_missed += 1;
                self.solve(problem, None)
            }
        }
    }

    fn last_from_guess(&self) -> bool {
        matches!(self.last, Some(FacePath::Warm(_)))
    }

    fn last_certified(&self) -> bool {
        matches!(
            self.last,
            Some(
                FacePath::Certified
                    | FacePath::Corrected(_)
                    | FacePath::Continued(_)
                    | FacePath::Warm(_)
                    | FacePath::Polished
            )
        )
    }
}

impl<O> FaceOracle<O> {
    /// The certified optimum of `problem` on the face `hint` shows (corrected, or continued).
    fn on_hint(
        &mut self,
        problem: &ConicProblem,
        hint: &ConicSolution,
    ) -> Result<(ConicSolution, FacePath), FaceMiss> {
        let (x, y, s) = hint_for(problem, hint).ok_or(FaceMiss::NoHint)?;
        let face = Face::guess(problem.cones(), (&x, &y, &s), self.settings.boundary_cones)?;
        self.certified(problem, face, true)
    }
}

#[cfg(test)]
mod tests {
    use super::Ordering;

    #[test]
    fn a_face_ordering_is_the_full_one_restricted_to_x_and_its_rows() {
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
