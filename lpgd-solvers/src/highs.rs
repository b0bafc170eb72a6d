//! HiGHS (dual simplex) as an oracle for LPs, and as a MILP oracle over a fixed feasible set
//! (feature `highs`).
//!
//! [`HighsOracle`] takes conic problems with zero and nonnegative cones and no quadratic cost
//! (P = 0; a proximal term ρ > 0 makes the perturbed problem a QP, which is
//! [`SolveError::Unsupported`]). Rows become `l ≤ Ax ≤ u` and HiGHS's row duals, negated, are the
//! conic `y` (HiGHS writes `c = Aᵀλ + reduced costs`, the conic form `c + Aᵀy = 0`).
//!
//! **Re-solves start from the forward basis.** Each solve passes the LP to a fresh HiGHS model
//! (O(nnz); a kept model was seen to carry state across runs that made answers depend on what it
//! solved before, and so on the thread count). A solve with a hint
//! (the forward solution in an LPGD re-solve) starts from the basis that solution defines — every
//! column basic, the rows that are tight (zero slack, largest duals) nonbasic — so the perturbed
//! problem, one small step from the forward optimum, takes a handful of simplex iterations. A
//! solve without a hint starts from scratch. The answer never depends on what the oracle solved
//! before, so batch results do not depend on the number of threads.
//!
//! A HiGHS model is not `Send`: build the oracle inside the worker (the batch functions take a
//! factory for that). Each model runs single-threaded.
//!
//! **Why `highs-sys` and not the `highs` crate.** The safe `highs` crate has no calls to change row
//! bounds in place or to get and set a basis, and the basis start is what makes LPGD's perturbed
//! re-solves fast; so this oracle talks to HiGHS's C API directly, with every call confined to
//! `Model` (it owns the pointer and passes buffers of the lengths HiGHS documents).
//!
//! HiGHS is compiled from its C++ sources by `highs-sys` (cmake, a C++ compiler, and libclang for
//! bindgen).

// The HiGHS C API is called through raw FFI; every call is confined to `Model`, which owns the
// pointer and passes buffers of the lengths HiGHS documents.
#![allow(unsafe_code)]

use crate::cache::OracleStats;
use crate::range::{check_range, check_values};
use crate::rows::{lp_row_bounds, row_bounds, slacks, RowBounds};
use highs_sys as ffi;
use lpgd_core::conic::VERIFY_TOLERANCE;
use lpgd_core::{
    CombinatorialProblem, ConicProblem, ConicSolution, CscMatrix, InvalidInput, Oracle, SolveError,
    SolveStatus,
};
use ndarray::Array1;
use std::ffi::{c_void, CString};
use std::ptr::NonNull;

const NAME: &str = "highs";

/// The largest magnitude of the data HiGHS is given: it treats bounds and costs from 1e20 on as
/// infinite and refuses matrix entries above 1e15.
pub const HIGHS_LIMIT: f64 = 1e15;

type HighsInt = ffi::HighsInt;

/// An owned HiGHS instance.
struct Model {
    ptr: NonNull<c_void>,
    n: usize,
    m: usize,
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the pointer came from Highs_create and is destroyed exactly once.
        unsafe { ffi::Highs_destroy(self.ptr.as_ptr()) }
    }
}

fn check(status: HighsInt, what: &str) -> Result<(), SolveError> {
    if status == ffi::STATUS_ERROR {
        Err(SolveError::Backend {
            backend: NAME,
            message: format!("{what} failed"),
        })
    } else {
        Ok(())
    }
}

fn to_int(v: usize) -> Result<HighsInt, SolveError> {
    HighsInt::try_from(v).map_err(|_| SolveError::Backend {
        backend: NAME,
        message: "problem too large".into(),
    })
}

impl Model {
    fn new() -> Result<Self, SolveError> {
        // SAFETY: Highs_create has no preconditions; a null result is handled.
        let ptr = NonNull::new(unsafe { ffi::Highs_create() }).ok_or(SolveError::Backend {
            backend: NAME,
            message: "Highs_create returned null".into(),
        })?;
        let model = Self { ptr, n: 0, m: 0 };
        model.set_bool("output_flag", false)?;
        model.set_int("threads", 1)?;
        model.set_string("presolve", "off")?;
        Ok(model)
    }

    fn set_bool(&self, name: &str, value: bool) -> Result<(), SolveError> {
        let key = CString::new(name).expect("option names have no NUL");
        // SAFETY: valid instance and NUL-terminated option name.
        check(
            unsafe {
                ffi::Highs_setBoolOptionValue(
                    self.ptr.as_ptr(),
                    key.as_ptr(),
                    HighsInt::from(value),
                )
            },
            name,
        )
    }

    fn set_int(&self, name: &str, value: HighsInt) -> Result<(), SolveError> {
        let key = CString::new(name).expect("option names have no NUL");
        // SAFETY: valid instance and NUL-terminated option name.
        check(
            unsafe { ffi::Highs_setIntOptionValue(self.ptr.as_ptr(), key.as_ptr(), value) },
            name,
        )
    }

    fn set_double(&self, name: &str, value: f64) -> Result<(), SolveError> {
        let key = CString::new(name).expect("option names have no NUL");
        // SAFETY: valid instance and NUL-terminated option name.
        check(
            unsafe { ffi::Highs_setDoubleOptionValue(self.ptr.as_ptr(), key.as_ptr(), value) },
            name,
        )
    }

    fn set_string(&self, name: &str, value: &str) -> Result<(), SolveError> {
        let key = CString::new(name).expect("option names have no NUL");
        let val = CString::new(value).expect("option values have no NUL");
        // SAFETY: valid instance and NUL-terminated strings.
        check(
            unsafe {
                ffi::Highs_setStringOptionValue(self.ptr.as_ptr(), key.as_ptr(), val.as_ptr())
            },
            name,
        )
    }

    /// Passes `min cᵀx s.t. row_lower ≤ Ax ≤ row_upper`, x free, with integrality marks if given.
    fn pass(
        &mut self,
        c: &[f64],
        a: &CscMatrix,
        rows: &RowBounds,
        integrality: Option<&[bool]>,
    ) -> Result<(), SolveError> {
        let (n, m) = (a.ncols(), a.nrows());
        let free_lo = vec![f64::NEG_INFINITY; n];
        let free_hi = vec![f64::INFINITY; n];
        let start: Vec<HighsInt> = a.colptr()[..n]
            .iter()
            .map(|&v| to_int(v))
            .collect::<Result<_, _>>()?;
        let index: Vec<HighsInt> = a
            .rowval()
            .iter()
            .map(|&v| to_int(v))
            .collect::<Result<_, _>>()?;
        let (nc, nr, nz) = (to_int(n)?, to_int(m)?, to_int(a.nnz())?);
        // An LP is passed as a MILP with every column continuous.
        let kinds: Vec<HighsInt> = (0..n)
            .map(|j| match integrality {
                Some(marks) if marks[j] => ffi::VAR_TYPE_INTEGER,
                _ => ffi::VAR_TYPE_CONTINUOUS,
            })
            .collect();
        // SAFETY: every array has the length HiGHS reads: n costs and column bounds, m row bounds,
        // n column starts (column-wise format), nnz indices and values, n integrality marks.
        let status = unsafe {
            ffi::Highs_passMip(
                self.ptr.as_ptr(),
                nc,
                nr,
                nz,
                ffi::MATRIX_FORMAT_COLUMN_WISE,
                ffi::OBJECTIVE_SENSE_MINIMIZE,
                0.0,
                c.as_ptr(),
                free_lo.as_ptr(),
                free_hi.as_ptr(),
                rows.lower.as_ptr(),
                rows.upper.as_ptr(),
                start.as_ptr(),
                index.as_ptr(),
                a.values().as_ptr(),
                kinds.as_ptr(),
            )
        };
        check(status, "passing the model")?;
        self.n = n;
        self.m = m;
        Ok(())
    }

    /// Starts the next run from scratch.
    fn clear_solver(&mut self) -> Result<(), SolveError> {
        // SAFETY: valid instance.
        check(
            unsafe { ffi::Highs_clearSolver(self.ptr.as_ptr()) },
            "clearing the solver",
        )
    }

    /// Sets a starting basis; `false` if HiGHS rejects it.
    fn set_basis(&mut self, cols: &[HighsInt], rows: &[HighsInt]) -> bool {
        debug_assert_eq!((cols.len(), rows.len()), (self.n, self.m));
        // SAFETY: n column and m row statuses.
        unsafe {
            ffi::Highs_setBasis(self.ptr.as_ptr(), cols.as_ptr(), rows.as_ptr())
                != ffi::STATUS_ERROR
        }
    }

    fn run(&mut self) -> Result<HighsInt, SolveError> {
        // SAFETY: valid instance with a model passed.
        let status = unsafe { ffi::Highs_run(self.ptr.as_ptr()) };
        check(status, "Highs_run")?;
        // SAFETY: valid instance.
        Ok(unsafe { ffi::Highs_getModelStatus(self.ptr.as_ptr()) })
    }

    fn int_info(&self, name: &str) -> HighsInt {
        let key = CString::new(name).expect("info names have no NUL");
        let mut value: HighsInt = 0;
        // SAFETY: valid instance, NUL-terminated name, one output integer.
        let status =
            unsafe { ffi::Highs_getIntInfoValue(self.ptr.as_ptr(), key.as_ptr(), &mut value) };
        if status == ffi::STATUS_ERROR {
            0
        } else {
            value
        }
    }

    fn int64_info(&self, name: &str) -> i64 {
        let key = CString::new(name).expect("info names have no NUL");
        let mut value: i64 = 0;
        // SAFETY: valid instance, NUL-terminated name, one output integer.
        let status =
            unsafe { ffi::Highs_getInt64InfoValue(self.ptr.as_ptr(), key.as_ptr(), &mut value) };
        if status == ffi::STATUS_ERROR {
            0
        } else {
            value
        }
    }

    /// Column values and row duals.
    fn solution(&self) -> (Vec<f64>, Vec<f64>) {
        let mut col_value = vec![0.0; self.n];
        let mut col_dual = vec![0.0; self.n];
        let mut row_value = vec![0.0; self.m];
        let mut row_dual = vec![0.0; self.m];
        // SAFETY: arrays of n and m entries as documented.
        unsafe {
            ffi::Highs_getSolution(
                self.ptr.as_ptr(),
                col_value.as_mut_ptr(),
                col_dual.as_mut_ptr(),
                row_value.as_mut_ptr(),
                row_dual.as_mut_ptr(),
            );
        }
        (col_value, row_dual)
    }
}

fn model_status(status: HighsInt) -> Result<(), SolveError> {
    match status {
        ffi::MODEL_STATUS_OPTIMAL => Ok(()),
        ffi::MODEL_STATUS_INFEASIBLE => Err(SolveError::Infeasible),
        ffi::MODEL_STATUS_UNBOUNDED => Err(SolveError::Unbounded),
        ffi::MODEL_STATUS_REACHED_ITERATION_LIMIT => Err(SolveError::MaxIterations),
        ffi::MODEL_STATUS_REACHED_TIME_LIMIT => Err(SolveError::MaxTime),
        ffi::MODEL_STATUS_MODEL_EMPTY => Ok(()),
        _ => Err(SolveError::Numerical),
    }
}

/// The simplex basis a primal-dual solution defines: every (free) column basic, and as many rows
/// nonbasic as there are columns — equalities first, then the tightest inequalities (smallest
/// slack, largest dual). Where there are fewer rows than columns, the smallest columns are
/// nonbasic at zero instead.
fn basis_from_solution(z: &ConicSolution, equality: &[bool]) -> (Vec<HighsInt>, Vec<HighsInt>) {
    let (n, m) = (z.x.len(), z.y.len());
    let mut rows: Vec<usize> = (0..m).collect();
    rows.sort_by(|&i, &j| {
        let key = |k: usize| (!equality[k], z.s[k].abs(), -z.y[k].abs());
        key(i)
            .partial_cmp(&key(j))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut row_status = vec![ffi::kHighsBasisStatusBasic as HighsInt; m];
    for &i in rows.iter().take(n.min(m)) {
        row_status[i] = ffi::kHighsBasisStatusUpper as HighsInt;
    }
    let mut col_status = vec![ffi::kHighsBasisStatusBasic as HighsInt; n];
    if m < n {
        let mut cols: Vec<usize> = (0..n).collect();
        cols.sort_by(|&i, &j| {
            z.x[i]
                .abs()
                .partial_cmp(&z.x[j].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for &j in cols.iter().take(n - m) {
            col_status[j] = ffi::kHighsBasisStatusZero as HighsInt;
        }
    }
    (col_status, row_status)
}

/// A HiGHS oracle for LPs that keeps its models and starts re-solves from the forward basis.
///
/// ```
/// use lpgd_core::{ConicProblem, Oracle};
/// use lpgd_solvers::HighsOracle;
/// use ndarray::array;
/// let problem = ConicProblem::builder(2)
///     .cost(array![1.0, 2.0])
///     .equalities(array![[1.0, 1.0]], array![1.0])
///     .bounds(&[0.0, 0.0], &[f64::INFINITY, f64::INFINITY])
///     .build()?;
/// let z = HighsOracle::new().solve(&problem, None)?;
/// assert_eq!(z.x.to_vec(), vec![1.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HighsOracle {
    stats: OracleStats,
    start_from_hint: bool,
}

impl Default for HighsOracle {
    fn default() -> Self {
        Self::new()
    }
}

impl HighsOracle {
    /// A quiet, single-threaded HiGHS oracle (dual simplex, no presolve).
    pub fn new() -> Self {
        Self {
            stats: OracleStats::default(),
            start_from_hint: true,
        }
    }

    /// Whether a solve with a hint starts from the basis the hint defines (default: yes; without,
    /// every solve starts from scratch — the cold path, for comparison in benchmarks).
    pub fn with_reuse(mut self, reuse: bool) -> Self {
        self.start_from_hint = reuse;
        self
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> OracleStats {
        self.stats
    }

    /// A MILP oracle over the fixed feasible set `{x : Ax + s = b, s ∈ K, x_j ∈ ℤ where marked}`
    /// of `constraints` (its cost is ignored): each solve minimises the [`CombinatorialProblem`]'s cost
    /// over it. For combinatorial layers written as integer programs.
    pub fn milp(
        constraints: &ConicProblem,
        integer: Vec<bool>,
    ) -> Result<HighsMilpOracle, SolveError> {
        HighsMilpOracle::new(constraints, integer)
    }
}

impl Oracle<ConicProblem> for HighsOracle {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        check_range(problem, NAME, HIGHS_LIMIT)?;
        let rows = lp_row_bounds(problem, NAME)?;
        let c = problem.c().as_slice().expect("contiguous");
        // A fresh model for every solve: a kept model carries state beyond the LP and the basis
        // (seen: answers differing in the last bits with what it solved before) that clearing the
        // solver does not reset. Passing the LP is O(nnz), far below a simplex run; what makes
        // re-solves fast is the starting basis, set below.
        let stats = &mut self.stats;
        stats.solves += 1;
        stats.setups += 1;
        let mut model = Model::new()?;
        model.pass(c, problem.a(), &rows, None)?;

        let hinted = warm.filter(|z| {
            self.start_from_hint
                && z.x.len() == problem.n()
                && z.y.len() == problem.m()
                && z.s.len() == problem.m()
        });
        if let Some(z) = hinted {
            let (cols, row_status) = basis_from_solution(z, &rows.equality);
            if !model.set_basis(&cols, &row_status) {
                model.clear_solver()?;
            }
        }
        // Data and basis are those of this problem and hint alone: the answer is a function of them.
        let z = run_to_solution(&mut model, problem, &rows, stats)?;
        if problem.verify(&z, VERIFY_TOLERANCE).is_ok() {
            return Ok(z);
        }
        // HiGHS called a point optimal that is not (seen on badly scaled LPs without presolve):
        // solve once more from scratch with presolve and HiGHS's stronger scaling, on a model of
        // its own, and return that answer for the core to check again.
        let mut careful = Model::new()?;
        careful.set_string("presolve", "on")?;
        careful.set_int("simplex_scale_strategy", 4)?;
        careful.set_double("primal_feasibility_tolerance", 1e-9)?;
        careful.set_double("dual_feasibility_tolerance", 1e-9)?;
        careful.pass(c, problem.a(), &rows, None)?;
        stats.setups += 1;
        run_to_solution(&mut careful, problem, &rows, stats)
    }
}

/// Runs a set-up model and reads its answer as a conic solution.
fn run_to_solution(
    model: &mut Model,
    problem: &ConicProblem,
    rows: &RowBounds,
    stats: &mut OracleStats,
) -> Result<ConicSolution, SolveError> {
    model_status(model.run()?)?;
    let iterations = model.int_info("simplex_iteration_count").max(0) as u32;
    stats.iterations += u64::from(iterations);
    let (x, row_dual) = model.solution();
    let s = slacks(problem, &x, &rows.equality);
    Ok(ConicSolution {
        x: Array1::from(x),
        y: row_dual.iter().map(|v| -v).collect(),
        s: Array1::from(s),
        status: SolveStatus::Solved,
        iterations,
    })
}

/// A MILP oracle for [`CombinatorialProblem`]s over a fixed feasible set, built by [`HighsOracle::milp`].
///
/// ```
/// use lpgd_core::{ConicProblem, CombinatorialProblem, Oracle};
/// use lpgd_solvers::HighsOracle;
/// use ndarray::array;
/// // Pick exactly two of four items: x ∈ {0, 1}⁴, x₀ + x₁ + x₂ + x₃ = 2.
/// let set = ConicProblem::builder(4)
///     .equalities(array![[1.0, 1.0, 1.0, 1.0]], array![2.0])
///     .bounds(&[0.0; 4], &[1.0; 4])
///     .build()?;
/// let mut oracle = HighsOracle::milp(&set, vec![true; 4])?;
/// let x = oracle.solve(&CombinatorialProblem::new(array![0.3, -1.0, 0.2, -0.5])?, None)?;
/// assert_eq!(x, array![0.0, 1.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HighsMilpOracle {
    a: CscMatrix,
    rows: RowBounds,
    integer: Vec<bool>,
    nodes: u64,
}

impl HighsMilpOracle {
    fn new(constraints: &ConicProblem, integer: Vec<bool>) -> Result<Self, SolveError> {
        if integer.len() != constraints.n() {
            return Err(InvalidInput::Length {
                field: "integrality",
                expected: constraints.n(),
                found: integer.len(),
            }
            .into());
        }
        check_range(constraints, NAME, HIGHS_LIMIT)?;
        let rows = row_bounds(constraints, NAME, f64::INFINITY)?;
        let oracle = Self {
            a: constraints.a().clone(),
            rows,
            integer,
            nodes: 0,
        };
        // Fail at construction, not at the first solve, if HiGHS refuses the model.
        oracle.model(constraints.c().as_slice().expect("contiguous"))?;
        Ok(oracle)
    }

    /// A fresh model minimising `cost` over the set (as for LPs, a kept model would carry state
    /// from earlier solves that can change which of tied optima is returned).
    fn model(&self, cost: &[f64]) -> Result<Model, SolveError> {
        let mut model = Model::new()?;
        model.set_double("mip_rel_gap", 0.0)?;
        model.set_double("mip_abs_gap", 0.0)?;
        model.pass(cost, &self.a, &self.rows, Some(&self.integer))?;
        Ok(model)
    }

    /// Branch-and-bound nodes explored so far.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }
}

impl Oracle<CombinatorialProblem> for HighsMilpOracle {
    fn solve(
        &mut self,
        problem: &CombinatorialProblem,
        _warm: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>, SolveError> {
        problem.expect_dim(self.integer.len())?;
        check_values(problem.cost_slice(), "w", NAME, HIGHS_LIMIT)?;
        let mut model = self.model(problem.cost_slice())?;
        model_status(model.run()?)?;
        self.nodes += model.int64_info("mip_node_count").max(0) as u64;
        let (x, _) = model.solution();
        // Integer columns come back within HiGHS's integrality tolerance: snap them.
        Ok(x.into_iter()
            .zip(&self.integer)
            .map(|(v, &int)| if int { v.round() } else { v })
            .collect())
    }
}
