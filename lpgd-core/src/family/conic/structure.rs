//! A fixed sparsity structure with many values: the compiled form of a conic layer.
//!
//! A layer (a torch module, a cvxpylayers problem, a candle op) solves the same program shape
//! again and again with new values: the patterns of A and P and the cones never change, the
//! values of A, P, b and c come from the network. [`ConicStructure`] holds the fixed part,
//! validated once; [`ConicStructure::problems`] turns a batch of values into problems, checking
//! only what values can break (shapes, finiteness, convexity of P). Backends key their kept
//! solvers by the structure (patterns and cones), not by the values, so a solver's ordering and
//! symbolic analysis serve every item and call of a layer.

use crate::cone::Cone;
use crate::csc::CscMatrix;
use crate::error::InvalidInput;
use crate::family::conic::{ConicProblem, ConvexityMemo};
use ndarray::{Array1, ArrayView2};

/// The fixed part of a conic layer: sizes, the patterns of A and of P's upper triangle, the
/// cones. Validated once, at construction.
///
/// ```
/// use lpgd_core::{Cone, ConicStructure, ConicValues, InvalidInput};
/// use lpgd_core::ndarray::array;
/// // min cᵀx s.t. x₀ + x₁ = 1, x ≥ 0: A = [1 1; −1 0; 0 −1], rows (zero, nonneg, nonneg).
/// let s = ConicStructure::new(3, 2, vec![0, 2, 4], vec![0, 1, 0, 2], None,
///                             vec![Cone::Zero(1), Cone::Nonnegative(2)])?;
/// let a = array![[1.0, -1.0, 1.0, -1.0], [2.0, -1.0, 2.0, -1.0]];
/// let b = array![[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
/// let c = array![[1.0, 2.0], [3.0, 1.0]];
/// let items = s.problems(ConicValues { a: a.view(), p: None, b: b.view(), c: c.view() })?;
/// assert_eq!(items.len(), 2);
/// assert_eq!(items[1].as_ref().unwrap().a().values(), &[2.0, -1.0, 2.0, -1.0]);
/// // A block of the wrong width is refused, naming it.
/// let short = array![[1.0], [2.0]];
/// let err = s.problems(ConicValues { a: a.view(), p: None, b: b.view(), c: short.view() });
/// assert!(matches!(err, Err(InvalidInput::StructureMismatch { block: "c", .. })));
/// # Ok::<(), InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConicStructure {
    /// A with unit values: the pattern, and a template the items' values replace.
    a: CscMatrix,
    /// P's upper triangle with zero values, when the layer has a quadratic cost.
    p: Option<CscMatrix>,
    cones: Vec<Cone>,
}

/// One batch of values for a [`ConicStructure`], one row per item: `a` is `B × nnz(A)` (values
/// in A's CSC order), `p` is `B × nnz(P)` when the structure has P, `b` is `B × m`, `c` is `B × n`.
#[derive(Debug, Clone, Copy)]
pub struct ConicValues<'a> {
    /// A's values, one row per item.
    pub a: ArrayView2<'a, f64>,
    /// P's values (upper triangle, CSC order), one row per item; `None` without P.
    pub p: Option<ArrayView2<'a, f64>>,
    /// The right-hand sides.
    pub b: ArrayView2<'a, f64>,
    /// The linear costs.
    pub c: ArrayView2<'a, f64>,
}

impl ConicStructure {
    /// A structure from A's pattern (`m × n`, CSC column pointers and row indices), P's pattern
    /// (upper triangle, `n × n`), and cones covering A's rows in order. Every check a problem of
    /// this structure needs beyond its values is made here: sorted unique row indices, bounds,
    /// P upper triangular, cone parameters and rows.
    pub fn new(
        m: usize,
        n: usize,
        a_colptr: Vec<usize>,
        a_rowval: Vec<usize>,
        p_pattern: Option<(Vec<usize>, Vec<usize>)>,
        cones: Vec<Cone>,
    ) -> Result<Self, InvalidInput> {
        let ones = vec![1.0; a_rowval.len()];
        let a = CscMatrix::new_named("A", (m, n), (a_colptr, a_rowval), ones)?;
        let p = match p_pattern {
            Some((colptr, rowval)) => {
                let zeros = vec![0.0; rowval.len()];
                Some(CscMatrix::new_named("P", (n, n), (colptr, rowval), zeros)?)
            }
            None => None,
        };
        // One problem with these patterns checks the rest (P upper triangular, cones, sizes).
        ConicProblem::validated(
            p.clone(),
            a.clone(),
            Array1::zeros(m),
            Array1::zeros(n),
            cones.clone(),
            false,
        )?;
        Ok(Self { a, p, cones })
    }

    /// The structure of a problem (its patterns and cones).
    pub fn of(problem: &ConicProblem) -> Self {
        Self {
            a: problem.a().replace_values(vec![1.0; problem.a().nnz()]),
            p: problem.p().map(|p| p.replace_values(vec![0.0; p.nnz()])),
            cones: problem.cones().to_vec(),
        }
    }

    /// Constraint rows (m).
    pub fn m(&self) -> usize {
        self.a.nrows()
    }

    /// Variables (n).
    pub fn n(&self) -> usize {
        self.a.ncols()
    }

    /// Stored entries of A.
    pub fn a_nnz(&self) -> usize {
        self.a.nnz()
    }

    /// Stored entries of P's upper triangle (0 without P).
    pub fn p_nnz(&self) -> usize {
        self.p.as_ref().map_or(0, CscMatrix::nnz)
    }

    /// Whether the structure has a quadratic cost.
    pub fn has_p(&self) -> bool {
        self.p.is_some()
    }

    /// The cones.
    pub fn cones(&self) -> &[Cone] {
        &self.cones
    }

    /// A's column pointers and row indices.
    pub fn a_pattern(&self) -> (&[usize], &[usize]) {
        (self.a.colptr(), self.a.rowval())
    }

    /// P's column pointers and row indices, when the structure has P.
    pub fn p_pattern(&self) -> Option<(&[usize], &[usize])> {
        self.p.as_ref().map(|p| (p.colptr(), p.rowval()))
    }

    /// Whether `problem` has exactly this structure; otherwise which block differs.
    pub fn check(&self, problem: &ConicProblem) -> Result<(), InvalidInput> {
        let mismatch = |block, detail: String| InvalidInput::StructureMismatch { block, detail };
        if !self.a.same_pattern(problem.a()) {
            return Err(mismatch(
                "A pattern",
                format!(
                    "expected {}×{} with {} entries, found {}×{} with {}",
                    self.m(),
                    self.n(),
                    self.a_nnz(),
                    problem.m(),
                    problem.n(),
                    problem.a().nnz()
                ),
            ));
        }
        match (&self.p, problem.p()) {
            (None, None) => {}
            (Some(ours), Some(theirs)) if ours.same_pattern(theirs) => {}
            (ours, theirs) => {
                let nnz =
                    |p: Option<&CscMatrix>| p.map_or("none".to_string(), |p| p.nnz().to_string());
                return Err(mismatch(
                    "P pattern",
                    format!(
                        "expected {} entries, found {}",
                        nnz(ours.as_ref()),
                        nnz(theirs)
                    ),
                ));
            }
        }
        if self.cones != problem.cones() {
            return Err(mismatch(
                "cones",
                format!("expected {:?}, found {:?}", self.cones, problem.cones()),
            ));
        }
        Ok(())
    }

    /// The problems of a batch of values. Shapes are checked for the whole batch (a wrong one is
    /// [`InvalidInput::StructureMismatch`] naming the block); values item by item, so one item
    /// with NaN or a non-convex P is that item's error and the others are untouched. P's
    /// convexity is checked once for consecutive items with the same P values.
    pub fn problems(
        &self,
        values: ConicValues<'_>,
    ) -> Result<Vec<Result<ConicProblem, InvalidInput>>, InvalidInput> {
        let items = values.c.nrows();
        let shape = |block, found: (usize, usize), cols: usize| {
            if found == (items, cols) {
                Ok(())
            } else {
                Err(InvalidInput::StructureMismatch {
                    block,
                    detail: format!(
                        "expected {items} × {cols} values, found {} × {}",
                        found.0, found.1
                    ),
                })
            }
        };
        shape("c", values.c.dim(), self.n())?;
        shape("A values", values.a.dim(), self.a_nnz())?;
        shape("b", values.b.dim(), self.m())?;
        match (&self.p, values.p) {
            (Some(p), Some(v)) => shape("P values", v.dim(), p.nnz())?,
            (None, None) => {}
            (Some(p), None) => {
                return Err(InvalidInput::StructureMismatch {
                    block: "P values",
                    detail: format!("the structure has P ({} entries): give its values", p.nnz()),
                })
            }
            (None, Some(_)) => {
                return Err(InvalidInput::StructureMismatch {
                    block: "P values",
                    detail: "the structure has no P".into(),
                })
            }
        }
        let mut memo = ConvexityMemo::default();
        let out = (0..items)
            .map(|i| {
                let p = match (&self.p, &values.p) {
                    (Some(template), Some(v)) => {
                        Some(template.with_values_named("P values", &v.row(i).to_vec())?)
                    }
                    _ => None,
                };
                let a = self
                    .a
                    .with_values_named("A values", &values.a.row(i).to_vec())?;
                let (b, c) = (values.b.row(i).to_owned(), values.c.row(i).to_owned());
                memo.validate(p, a, b, c, self.cones.clone())
            })
            .collect();
        Ok(out)
    }
}
