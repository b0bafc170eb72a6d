//! Errors as data: malformed input, solver outcomes and LPGD failures.
//!
//! Nothing in this crate panics on user input. Every check that can fail returns one of these
//! enums, and solver statuses other than "solved" are variants, not strings, so callers can match on
//! them (for instance to count infeasible perturbed problems in a batch).

use crate::side::Side;
use thiserror::Error;

/// Which part of a problem or of a gradient request a malformed value belongs to.
pub type Field = &'static str;

/// Malformed input: caught before any solver runs.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A value is NaN or infinite.
    #[error("{field}[{index}] is not finite ({value})")]
    NonFinite {
        /// The array holding the value.
        field: Field,
        /// Its position in that array (for sparse matrices, the position in the stored values).
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A matrix entry is NaN or infinite.
    #[error("{field}[{row}, {col}] is not finite ({value})")]
    NonFiniteEntry {
        /// The matrix.
        field: Field,
        /// The entry's row.
        row: usize,
        /// The entry's column.
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// An array has the wrong length.
    #[error("{field} has length {found}, expected {expected}")]
    Length {
        /// The array.
        field: Field,
        /// The length the problem's dimensions require.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A matrix has the wrong number of rows or columns.
    #[error("{field} is {rows}x{cols}, expected {expected_rows}x{expected_cols}")]
    Shape {
        /// The matrix.
        field: Field,
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
        /// Rows expected.
        expected_rows: usize,
        /// Columns expected.
        expected_cols: usize,
    },
    /// A compressed-sparse-column matrix is not well formed.
    #[error("{field} is not a valid CSC matrix: {issue}")]
    Sparse {
        /// The matrix.
        field: Field,
        /// What is wrong with it.
        issue: SparseIssue,
    },
    /// The cones do not cover the constraint rows exactly.
    #[error("the cones cover {cone_rows} rows but the problem has {rows} constraint rows")]
    ConeRows {
        /// Total dimension of the cones.
        cone_rows: usize,
        /// Number of rows of `A` (and length of `b`).
        rows: usize,
    },
    /// A cone's parameters are out of range.
    #[error("cone {index} is invalid: {issue}")]
    Cone {
        /// Position of the cone in the problem's cone list.
        index: usize,
        /// What is wrong with it.
        issue: ConeIssue,
    },
    /// The LPGD step size τ must be positive and finite.
    #[error("tau must be positive and finite, got {0}")]
    Tau(f64),
    /// The proximal weight ρ must be non-negative and finite.
    #[error("rho must be non-negative and finite, got {0}")]
    Rho(f64),
    /// A fallback parameter is out of range.
    #[error("invalid fallback: {0}")]
    Fallback(&'static str),
    /// A batch was given slices of different lengths.
    #[error("batch slices differ in length: {0} vs {1}")]
    BatchLength(usize, usize),
    /// A size given by the caller exceeds [`MAX_DIMENSION`](crate::limits::MAX_DIMENSION), overflows when
    /// combined with other sizes, or cannot be allocated.
    #[error("{field} is too large: {size} (the limit is {limit})")]
    TooLarge {
        /// What the size counts.
        field: Field,
        /// The size asked for (saturated at `u64::MAX` when it overflowed).
        size: u64,
        /// The largest size accepted.
        limit: u64,
    },
    /// A problem with nothing in it (no variables, no costs).
    #[error("{0} is empty")]
    Empty(Field),
    /// The quadratic cost P is not positive semidefinite: its LDLᵀ factorization, shifted by the
    /// tolerance documented at [`ConicProblem::new`](crate::ConicProblem::new), met a pivot that is
    /// not positive.
    #[error("P is not positive semidefinite (pivot {pivot:e} at column {column}, tolerance {tolerance:e})")]
    NotConvex {
        /// The column where the factorization failed.
        column: usize,
        /// The pivot found there (including the tolerance shift).
        pivot: f64,
        /// The shift added to P's diagonal, `1e-9 · ‖P‖∞`.
        tolerance: f64,
    },
    /// Data given for a compiled [`ConicStructure`](crate::ConicStructure) does not fit it: a
    /// block (A's or P's pattern or values, b, c, the cones) has another shape or pattern.
    #[error("{block} does not match the compiled structure: {detail}")]
    StructureMismatch {
        /// The block that differs: "A pattern", "P pattern", "A values", "b", "cones", …
        block: Field,
        /// How it differs (expected against found).
        detail: String,
    },
    /// A value that must be non-negative (a bound width, a count) is not.
    #[error("{field}[{index}]: {reason}")]
    Value {
        /// The array holding the value.
        field: Field,
        /// Its position.
        index: usize,
        /// Why it is rejected.
        reason: &'static str,
    },
}

/// What is wrong with a CSC matrix.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SparseIssue {
    /// `colptr` must have `ncols + 1` entries.
    #[error("colptr has {found} entries, expected {expected}")]
    ColptrLength {
        /// Entries expected.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// `colptr` must start at 0, never decrease and end at the number of stored values.
    #[error("colptr is not a non-decreasing sequence from 0 to nnz")]
    Colptr,
    /// `rowval` and `nzval` must have the same length.
    #[error("{rowval} row indices but {nzval} values")]
    ValueCount {
        /// Row indices given.
        rowval: usize,
        /// Values given.
        nzval: usize,
    },
    /// A row index is out of range.
    #[error("row index {row} in column {col} is out of range")]
    RowOutOfRange {
        /// The index.
        row: usize,
        /// The column holding it.
        col: usize,
    },
    /// Row indices must strictly increase within each column (sorted, no duplicates).
    #[error("row indices of column {col} are not strictly increasing")]
    Unsorted {
        /// The column.
        col: usize,
    },
    /// A quadratic cost must be given as the upper triangle of a symmetric matrix.
    #[error("entry ({row}, {col}) lies below the diagonal; give the upper triangle of P")]
    NotUpperTriangular {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
    },
    /// Triplets must have equal lengths.
    #[error("triplet arrays have different lengths")]
    Triplets,
}

/// What is wrong with a cone.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConeIssue {
    /// A second-order cone needs at least one row.
    #[error("a second-order cone needs dimension >= 1")]
    EmptySecondOrder,
    /// A positive semidefinite cone needs a matrix of side at least 1.
    #[error("a positive semidefinite cone needs k ≥ 1")]
    EmptyPsd,
    /// A power cone exponent must lie strictly between 0 and 1.
    #[error("power cone exponent {0} is not in (0, 1)")]
    PowerExponent(f64),
}

/// Why a solver did not return a usable solution. Statuses are data: match on them.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SolveError {
    /// The problem is (primal) infeasible: no point satisfies the constraints.
    #[error("the problem is infeasible")]
    Infeasible,
    /// The problem is unbounded (dual infeasible): the objective decreases without limit.
    #[error("the problem is unbounded")]
    Unbounded,
    /// The solver stopped at its iteration limit.
    #[error("iteration limit reached")]
    MaxIterations,
    /// The solver stopped at its time limit.
    #[error("time limit reached")]
    MaxTime,
    /// The solver reported a numerical failure or stalled.
    #[error("numerical error in the solver")]
    Numerical,
    /// The solver reached only its reduced tolerances and the configuration does not accept that.
    #[error("solved to reduced accuracy only (set accept_almost_solved to accept it)")]
    AlmostSolved,
    /// The backend cannot handle this problem (a cone, a quadratic cost, duals, …).
    #[error("{backend} does not support {what}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// The missing capability.
        what: Capability,
    },
    /// The input was malformed.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The data holds a value the backend cannot represent (beyond its infinity, or large enough to
    /// overflow its arithmetic). Rescale the problem.
    #[error("{backend} cannot represent {field}[{index}] = {value:e}: its limit is {limit:e}")]
    OutOfRange {
        /// The backend's name.
        backend: &'static str,
        /// The array holding the value (`b`, `c`, `A`, `P`).
        field: Field,
        /// Its position (for matrices, in the stored values).
        index: usize,
        /// The value.
        value: f64,
        /// The largest magnitude the backend takes.
        limit: f64,
    },
    /// The oracle's answer is malformed (wrong length, or not finite).
    #[error("the oracle's answer is malformed: {0}")]
    MalformedAnswer(InvalidInput),
    /// The solver reported an optimum, but the answer fails the optimality check (see
    /// [`ConicProblem::verify`](crate::ConicProblem::verify)): it is not reported as solved.
    #[error("the solver reported optimal, but the {check} residual is {residual:e} (tolerance {tolerance:e})")]
    Unverified {
        /// Which condition failed: `primal`, `dual`, `gap`, `slack cone` or `dual cone`.
        check: &'static str,
        /// The relative residual found.
        residual: f64,
        /// The tolerance it had to meet.
        tolerance: f64,
    },
    /// A combinatorial search stopped at its node limit before proving optimality.
    #[error("node limit of {0} reached before optimality was proved")]
    NodeLimit(u64),
    /// The backend rejected the problem for a reason of its own (its message is kept for humans).
    #[error("{backend} rejected the problem: {message}")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// Its message.
        message: String,
    },
}

impl SolveError {
    /// A stable snake_case label of the variant (`infeasible`, `unbounded`, `max_iterations`, …),
    /// for reports and counters; it never changes with the message.
    pub fn kind(&self) -> &'static str {
        match self {
            SolveError::Infeasible => "infeasible",
            SolveError::Unbounded => "unbounded",
            SolveError::MaxIterations => "max_iterations",
            SolveError::MaxTime => "max_time",
            SolveError::Numerical => "numerical",
            SolveError::AlmostSolved => "almost_solved",
            SolveError::Unsupported { .. } => "unsupported",
            SolveError::InvalidInput(_) => "invalid_input",
            SolveError::OutOfRange { .. } => "out_of_range",
            SolveError::MalformedAnswer(_) => "malformed_answer",
            SolveError::Unverified { .. } => "unverified",
            SolveError::NodeLimit(_) => "node_limit",
            SolveError::Backend { .. } => "backend_error",
        }
    }

    /// Whether a perturbed re-solve that failed like this may succeed with another perturbation
    /// (the other side, a smaller τ). Malformed input and missing capabilities never do.
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self,
            SolveError::InvalidInput(_)
                | SolveError::Unsupported { .. }
                | SolveError::Backend { .. }
                | SolveError::MalformedAnswer(InvalidInput::Length { .. })
        )
    }
}

/// A capability a backend may lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Capability {
    /// A cone kind.
    #[error("the {0} cone")]
    Cone(crate::cone::ConeKind),
    /// A quadratic objective (needed for P, and for the proximal term ρ > 0).
    #[error("a quadratic objective (P, or the proximal term rho > 0 of LPGD)")]
    QuadraticObjective,
    /// Dual solutions (needed for gradients with respect to b and A).
    #[error("dual solutions")]
    Duals,
    /// A proximal term on a combinatorial (finite-set) layer.
    #[error("a proximal term (rho > 0) on a finite feasible set")]
    Proximal,
}

/// Everything that can go wrong in an LPGD forward, backward or forward-mode call.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LpgdError {
    /// The problem, the solution, the incoming gradient or the configuration is malformed.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The forward solve failed.
    #[error("forward solve failed: {0}")]
    Forward(SolveError),
    /// A gradient or tangent came out with a non-finite entry (the data's scale times 1/τ overflows).
    #[error("the result's {field}[{index}] is not finite: the data's scale over tau overflows")]
    NonFinite {
        /// The component (`dc`, `db`, `dA`, `dP`, `dx`, …).
        field: Field,
        /// Its position.
        index: usize,
    },
    /// Every perturbed re-solve the configuration allows failed; `attempts` lists each perturbation
    /// tried (its signed step σ) with its failure.
    #[error("perturbed re-solve failed on the {side:?} side after {} attempt(s): {}", attempts.len(),
        attempts.last().map(|a| a.error.to_string()).unwrap_or_default())]
    Perturbed {
        /// The side that was asked for.
        side: Side,
        /// Every attempt, in order.
        attempts: Vec<FailedAttempt>,
    },
}

impl LpgdError {
    /// The solver failure behind this error: the forward solve's, or the last perturbed attempt's.
    pub fn solve_error(&self) -> Option<&SolveError> {
        match self {
            LpgdError::Forward(e) => Some(e),
            LpgdError::Perturbed { attempts, .. } => attempts.last().map(|a| &a.error),
            LpgdError::InvalidInput(_) | LpgdError::NonFinite { .. } => None,
        }
    }

    /// A stable snake_case label: the [`SolveError::kind`] behind it, or `invalid_input`,
    /// `non_finite`, `perturbed` (a perturbed pass with no attempt recorded).
    pub fn kind(&self) -> &'static str {
        match (self, self.solve_error()) {
            (_, Some(e)) => e.kind(),
            (LpgdError::InvalidInput(_), None) => "invalid_input",
            (LpgdError::NonFinite { .. }, None) => "non_finite",
            (_, None) => "perturbed",
        }
    }
}

/// One perturbed re-solve that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAttempt {
    /// The signed step σ of the perturbation (positive: right, negative: left).
    pub sigma: f64,
    /// Why it failed.
    pub error: SolveError,
}

pub(crate) fn check_finite<'a>(
    field: Field,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), InvalidInput> {
    match values.into_iter().enumerate().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((index, &value)) => Err(InvalidInput::NonFinite {
            field,
            index,
            value,
        }),
    }
}

impl InvalidInput {
    /// The same error, naming the matrix `field` where it named a generic "matrix" (a block
    /// converted before the caller knew what it was for).
    pub(crate) fn naming_matrix(self, field: Field) -> Self {
        match self {
            InvalidInput::NonFiniteEntry {
                row,
                col,
                value,
                field: "matrix",
            } => InvalidInput::NonFiniteEntry {
                field,
                row,
                col,
                value,
            },
            InvalidInput::Sparse {
                issue,
                field: "matrix",
            } => InvalidInput::Sparse { field, issue },
            InvalidInput::Shape {
                field: "matrix",
                rows,
                cols,
                expected_rows,
                expected_cols,
            } => InvalidInput::Shape {
                field,
                rows,
                cols,
                expected_rows,
                expected_cols,
            },
            other => other,
        }
    }
}

pub(crate) fn check_len(field: Field, found: usize, expected: usize) -> Result<(), InvalidInput> {
    if found == expected {
        Ok(())
    } else {
        Err(InvalidInput::Length {
            field,
            expected,
            found,
        })
    }
}
