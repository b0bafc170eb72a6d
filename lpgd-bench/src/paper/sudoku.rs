//! Learning the rules of 4×4 Sudoku (as in OptNet): an LP layer `min −pᵀx s.t. Ax = b,
//! 0 ≤ x ≤ 1` over the 64 one-hot cell variables whose constraints A and `b = A·x₀` (x₀ =
//! sigmoid(θ) ∈ (0, 1)⁶⁴, so the LP is always feasible) are learnt from random initialisation.
//!
//! Two ways of training: LPGD on the LP itself (centred, τ and ρ configurable; the paper's setting
//! is τ = 1e4, ρ = 0.1), and gradient descent through the LP made differentiable by a quadratic
//! term `(ε/2)‖x‖²` (ε = 1e-3), whose exact gradient is estimated by centred LPGD with a small τ and
//! ρ = 0 on that regularised problem (the estimate converges to the true derivative as τ → 0; the
//! finite-difference tests of the core hold it to 1e-4 on QPs).

use super::{training_curve, Adam, CurvePoint};
use crate::error::BenchError;
use lpgd_combinatorial::train::shuffle;
use lpgd_combinatorial::RandomState;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{
    ConicCotangent, ConicProblem, ConicSolution, CscMatrix, Lpgd, Side, SolveSettings,
};
use lpgd_solvers::ClarabelOracle;

/// Cells of a 4×4 board.
pub const CELLS: usize = 16;
/// One-hot variables: `cell·4 + (value − 1)`.
pub const VARS: usize = 64;

fn row(c: usize) -> usize {
    c / 4
}
fn col(c: usize) -> usize {
    c % 4
}
fn boxed(c: usize) -> usize {
    (row(c) / 2) * 2 + col(c) / 2
}
fn peers(a: usize, b: usize) -> bool {
    a != b && (row(a) == row(b) || col(a) == col(b) || boxed(a) == boxed(b))
}

/// Values (1–4) still allowed in `cell` given the filled cells of `board` (0 = empty).
fn candidates(board: &[u8; CELLS], cell: usize) -> Vec<u8> {
    (1..=4)
        .filter(|&v| (0..CELLS).all(|o| !(peers(cell, o) && board[o] == v)))
        .collect()
}

/// A full valid board, built cell by cell with random allowed values, restarting on dead ends.
pub fn full_board(rng: &mut RandomState) -> [u8; CELLS] {
    'restart: loop {
        let mut board = [0u8; CELLS];
        for cell in 0..CELLS {
            let allowed = candidates(&board, cell);
            if allowed.is_empty() {
                continue 'restart;
            }
            board[cell] = allowed[rng.randint(0, allowed.len() as i64) as usize];
        }
        return board;
    }
}

/// A puzzle from a full board: cells are visited in random order and removed while the removed
/// value stays deducible (it is the only candidate of its cell given the remaining clues), until
/// `target` cells are empty or no visited cell can go. Removing only deducible cells keeps the
/// solution unique (it can be re-filled in reverse order).
pub fn make_puzzle(solution: &[u8; CELLS], target: usize, rng: &mut RandomState) -> [u8; CELLS] {
    let mut puzzle = *solution;
    let mut order: Vec<usize> = (0..CELLS).collect();
    shuffle(&mut order, rng);
    let mut removed = 0;
    for cell in order {
        if removed == target {
            break;
        }
        let value = puzzle[cell];
        puzzle[cell] = 0;
        if candidates(&puzzle, cell) == [value] {
            removed += 1;
        } else {
            puzzle[cell] = value;
        }
    }
    puzzle
}

/// One-hot encoding of a board (empty cells are all zero).
pub fn one_hot(board: &[u8; CELLS]) -> Array1<f64> {
    let mut x = Array1::zeros(VARS);
    for (cell, &v) in board.iter().enumerate() {
        if v > 0 {
            x[cell * 4 + usize::from(v) - 1] = 1.0;
        }
    }
    x
}

/// Puzzles and their solutions, one-hot.
#[derive(Debug, Clone)]
pub struct SudokuData {
    /// One-hot puzzles `[n, 64]`.
    pub puzzles: Array2<f64>,
    /// One-hot solutions `[n, 64]`.
    pub solutions: Array2<f64>,
}

/// `n` puzzles from `seed`, each with a random target of 6–10 empty cells.
pub fn sudoku_data(n: usize, seed: u32) -> SudokuData {
    let mut rng = RandomState::new(seed);
    let mut puzzles = Array2::zeros((n, VARS));
    let mut solutions = Array2::zeros((n, VARS));
    for i in 0..n {
        let full = full_board(&mut rng);
        let target = rng.randint(6, 11) as usize;
        let puzzle = make_puzzle(&full, target, &mut rng);
        puzzles.row_mut(i).assign(&one_hot(&puzzle));
        solutions.row_mut(i).assign(&one_hot(&full));
    }
    SudokuData { puzzles, solutions }
}

/// The true rules as equality constraints (one value per cell; each value once per row, column and
/// box): 64 rows, all with right-hand side 1.
pub fn true_rules() -> Array2<f64> {
    let mut a = Array2::zeros((64, VARS));
    for cell in 0..CELLS {
        for v in 0..4 {
            let var = cell * 4 + v;
            a[[cell, var]] = 1.0;
            a[[16 + row(cell) * 4 + v, var]] = 1.0;
            a[[32 + col(cell) * 4 + v, var]] = 1.0;
            a[[48 + boxed(cell) * 4 + v, var]] = 1.0;
        }
    }
    a
}

/// How the layer is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// LPGD on the LP (centred side; τ, ρ).
    Lpgd {
        /// Step τ.
        tau: f64,
        /// Proximal weight ρ.
        rho: f64,
    },
    /// Gradient descent through the LP with `(ε/2)‖x‖²` added, its gradient from centred LPGD
    /// with step τ (small) and ρ = 0.
    Gd {
        /// Weight ε of the quadratic term.
        eps: f64,
        /// The small τ of the derivative estimate.
        tau: f64,
    },
}

impl Method {
    /// A label for tables and plots.
    pub fn name(&self) -> String {
        match self {
            Method::Lpgd { tau, rho } => format!("lpgd (τ={tau:e}, ρ={rho})"),
            Method::Gd { eps, .. } => format!("gd (ε={eps:e})"),
        }
    }

    fn lpgd(&self) -> Result<Lpgd, BenchError> {
        let l = match *self {
            Method::Lpgd { tau, rho } => Lpgd::new(tau).and_then(|l| l.with_rho(rho)),
            Method::Gd { tau, .. } => Lpgd::new(tau),
        };
        Ok(l?.with_side(Side::Centered))
    }

    fn eps(&self) -> f64 {
        match *self {
            Method::Gd { eps, .. } => eps,
            Method::Lpgd { .. } => 0.0,
        }
    }
}

/// The learnt constraints: `A` (`m × 64`) and θ with `x₀ = sigmoid(θ)`, flattened as
/// `[A row-major, θ]`.
#[derive(Debug, Clone)]
pub struct SudokuModel {
    /// Number of equality constraints.
    pub m: usize,
    /// `[A row-major (m·64), θ (64)]`.
    pub params: Array1<f64>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

impl SudokuModel {
    /// Random initialisation: A's entries uniform in ±1/√64 = ±1/8, θ = 0 (x₀ = ½).
    pub fn new(m: usize, rng: &mut RandomState) -> Self {
        let mut params = Array1::zeros(m * VARS + VARS);
        for k in 0..m * VARS {
            params[k] = rng.uniform(-0.125, 0.125);
        }
        Self { m, params }
    }

    /// A model with the given A and x₀ ∈ (0, 1)⁶⁴.
    pub fn from_parts(a: &Array2<f64>, x0: &Array1<f64>) -> Self {
        let m = a.nrows();
        let mut params = Array1::zeros(m * VARS + VARS);
        for (k, v) in a.iter().enumerate() {
            params[k] = *v;
        }
        for (k, &v) in x0.iter().enumerate() {
            params[m * VARS + k] = (v / (1.0 - v)).ln();
        }
        Self { m, params }
    }

    fn a(&self) -> Array2<f64> {
        Array2::from_shape_vec(
            (self.m, VARS),
            self.params
                .slice(lpgd_core::ndarray::s![..self.m * VARS])
                .to_vec(),
        )
        .expect("m·64 entries")
    }

    fn x0(&self) -> Array1<f64> {
        self.params
            .slice(lpgd_core::ndarray::s![self.m * VARS..])
            .mapv(sigmoid)
    }

    /// The layer's problem for one puzzle (with `(ε/2)‖x‖²` if ε > 0).
    pub fn problem(&self, puzzle: &Array1<f64>, eps: f64) -> Result<ConicProblem, BenchError> {
        let a = self.a();
        let b = a.dot(&self.x0());
        let mut builder = ConicProblem::builder(VARS)
            .cost(-puzzle)
            .equalities(CscMatrix::from_dense(a.view())?, b)
            .bounds([0.0; VARS], [1.0; VARS]);
        if eps > 0.0 {
            builder = builder.quadratic(CscMatrix::scaled_identity(VARS, eps)?);
        }
        Ok(builder.build()?)
    }

    /// Chains a conic gradient of [`SudokuModel::problem`] to the parameters (adds into `out`).
    fn chain(
        &self,
        problem: &ConicProblem,
        db: &Array1<f64>,
        da: &Array1<f64>,
        out: &mut Array1<f64>,
    ) {
        let (a, x0) = (self.a(), self.x0());
        // Direct: the equality block's entries of A.
        for ((r, c, _), g) in problem.a().iter().zip(da.iter()) {
            if r < self.m {
                out[r * VARS + c] += g;
            }
        }
        // Through b = A x₀: dA += db x₀ᵀ, dx₀ = Aᵀ db, dθ = dx₀ ∘ x₀(1 − x₀).
        let db_eq = db.slice(lpgd_core::ndarray::s![..self.m]).to_owned();
        for r in 0..self.m {
            for c in 0..VARS {
                out[r * VARS + c] += db_eq[r] * x0[c];
            }
        }
        let dx0 = a.t().dot(&db_eq);
        for c in 0..VARS {
            out[self.m * VARS + c] += dx0[c] * x0[c] * (1.0 - x0[c]);
        }
    }
}

/// Share of boards fully solved by the per-cell argmax of `x` (rows of `[n, 64]`).
pub fn solved_share(x: &[Array1<f64>], solutions: &Array2<f64>) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let solved = x
        .iter()
        .zip(solutions.rows())
        .filter(|(x, y)| {
            (0..CELLS).all(|cell| {
                let slot = |v: &dyn Fn(usize) -> f64| {
                    (0..4).max_by(|&i, &j| v(i).total_cmp(&v(j))).unwrap_or(0)
                };
                slot(&|i| x[cell * 4 + i]) == slot(&|i| y[cell * 4 + i])
            })
        })
        .count();
    solved as f64 / x.len() as f64
}

/// Hyper-parameters of [`train_sudoku`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SudokuSetup {
    /// Equality constraints learnt.
    pub m: usize,
    /// Passes over the training puzzles.
    pub epochs: usize,
    /// Puzzles per step.
    pub batch: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the initial A and the shuffles.
    pub seed: u32,
}

/// Solves every puzzle's layer; errors name the puzzle.
fn forward_all(
    model: &SudokuModel,
    puzzles: &[Array1<f64>],
    eps: f64,
) -> Result<(Vec<ConicProblem>, Vec<ConicSolution>), BenchError> {
    let problems: Vec<ConicProblem> = puzzles
        .iter()
        .map(|p| model.problem(p, eps))
        .collect::<Result<_, _>>()?;
    let solutions = SolveSettings::new()
        .forward_batch(ClarabelOracle::new, &problems)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.map_err(|source| BenchError::Item {
                what: "puzzle",
                index: i,
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((problems, solutions))
}

/// Test accuracy (boards fully solved) of `model` on `data`.
pub fn accuracy(model: &SudokuModel, data: &SudokuData, eps: f64) -> Result<f64, BenchError> {
    let puzzles: Vec<Array1<f64>> = data
        .puzzles
        .rows()
        .into_iter()
        .map(|r| r.to_owned())
        .collect();
    let (_, solutions) = forward_all(model, &puzzles, eps)?;
    let x: Vec<Array1<f64>> = solutions.into_iter().map(|s| s.x).collect();
    Ok(solved_share(&x, &data.solutions))
}

/// The gradient of the mean squared error `mean ‖x − y‖² / 64` over a batch with respect to the
/// model's parameters, and the loss.
pub fn batch_gradient(
    model: &SudokuModel,
    method: Method,
    puzzles: &[Array1<f64>],
    targets: &[Array1<f64>],
) -> Result<(Array1<f64>, f64), BenchError> {
    let eps = method.eps();
    let (problems, solutions) = forward_all(model, puzzles, eps)?;
    let scale = 1.0 / (puzzles.len() * VARS) as f64;
    let mut loss = 0.0;
    let cotangents: Vec<ConicCotangent> = solutions
        .iter()
        .zip(targets)
        .zip(&problems)
        .map(|((s, y), problem)| {
            let diff = &s.x - y;
            loss += diff.dot(&diff) * scale;
            ConicCotangent::on_x(problem, diff * (2.0 * scale))
        })
        .collect();
    let lpgd = method.lpgd()?;
    let backs = lpgd.backward_batch(ClarabelOracle::new, &problems, &solutions, &cotangents)?;
    let mut grad = Array1::zeros(model.params.len());
    for (i, back) in backs.into_iter().enumerate() {
        let g = back
            .map_err(|source| BenchError::Item {
                what: "puzzle",
                index: i,
                source,
            })?
            .gradient;
        model.chain(&problems[i], &g.db, &g.da, &mut grad);
    }
    Ok((grad, loss))
}

/// Trains a fresh model with `method` and returns the curve (test accuracy per epoch).
pub fn train_sudoku(
    train: &SudokuData,
    test: &SudokuData,
    method: Method,
    setup: &SudokuSetup,
    progress: impl FnMut(&CurvePoint),
) -> Result<Vec<CurvePoint>, BenchError> {
    if setup.batch == 0 || train.puzzles.nrows() == 0 {
        return Err(lpgd_core::InvalidInput::Empty(
            "the Sudoku training set or batch (need at least one puzzle and a batch of at least 1)",
        )
        .into());
    }
    let mut rng = RandomState::new(setup.seed);
    let mut model = SudokuModel::new(setup.m, &mut rng);
    let mut adam = Adam::new(model.params.len(), setup.learning_rate);
    let eps = method.eps();
    let mut order: Vec<usize> = (0..train.puzzles.nrows()).collect();
    let step = |model: &mut SudokuModel, _epoch: usize| {
        shuffle(&mut order, &mut rng);
        let (mut loss_sum, mut batches) = (0.0, 0);
        for chunk in order.chunks(setup.batch) {
            let puzzles: Vec<Array1<f64>> = chunk
                .iter()
                .map(|&i| train.puzzles.row(i).to_owned())
                .collect();
            let targets: Vec<Array1<f64>> = chunk
                .iter()
                .map(|&i| train.solutions.row(i).to_owned())
                .collect();
            let (grad, loss) = batch_gradient(model, method, &puzzles, &targets)?;
            adam.step(&mut model.params, &grad);
            loss_sum += loss;
            batches += 1;
        }
        Ok(loss_sum / batches as f64)
    };
    let evaluate = |model: &SudokuModel| accuracy(model, test, eps);
    training_curve(&mut model, setup.epochs, step, evaluate, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boards_are_valid_and_puzzles_deducible() {
        let mut rng = RandomState::new(1);
        for _ in 0..50 {
            let full = full_board(&mut rng);
            for a in 0..CELLS {
                for b in 0..CELLS {
                    if peers(a, b) {
                        assert_ne!(full[a], full[b]);
                    }
                }
            }
            let puzzle = make_puzzle(&full, 10, &mut rng);
            let empty = puzzle.iter().filter(|&&v| v == 0).count();
            assert!((1..=10).contains(&empty));
            // Filling naked singles repeatedly recovers the solution.
            let mut board = puzzle;
            while let Some(cell) =
                (0..CELLS).find(|&c| board[c] == 0 && candidates(&board, c).len() == 1)
            {
                board[cell] = candidates(&board, cell)[0];
            }
            assert_eq!(board, full);
        }
        let d = sudoku_data(20, 3);
        assert_eq!(d.puzzles, sudoku_data(20, 3).puzzles);
        assert!(d.solutions.rows().into_iter().all(|r| r.sum() == 16.0));
    }

    #[test]
    fn the_true_rules_solve_the_puzzles() {
        // With A = the rules and b = 1 (x₀ = ¼ everywhere satisfies them), the LP recovers the
        // solutions: the learning problem has an exact answer.
        let data = sudoku_data(30, 5);
        let model = SudokuModel::from_parts(&true_rules(), &Array1::from_elem(VARS, 0.25));
        assert_eq!(accuracy(&model, &data, 0.0).unwrap(), 1.0);
    }

    #[test]
    fn chained_gradient_matches_finite_differences() {
        // GD's estimate through the model's parameters against central differences of the loss.
        let data = sudoku_data(3, 9);
        let mut rng = RandomState::new(2);
        let model = SudokuModel::new(8, &mut rng);
        let method = Method::Gd {
            eps: 0.1,
            tau: 1e-5,
        };
        let puzzles: Vec<_> = data
            .puzzles
            .rows()
            .into_iter()
            .map(|r| r.to_owned())
            .collect();
        let targets: Vec<_> = data
            .solutions
            .rows()
            .into_iter()
            .map(|r| r.to_owned())
            .collect();
        let (grad, _) = batch_gradient(&model, method, &puzzles, &targets).unwrap();
        let loss = |params: &Array1<f64>| {
            let m = SudokuModel {
                m: 8,
                params: params.clone(),
            };
            batch_gradient(&m, method, &puzzles, &targets).unwrap().1
        };
        for k in [0, 5, 77, 300, 8 * 64 + 3, 8 * 64 + 40] {
            let h = 1e-5;
            let (mut p, mut q) = (model.params.clone(), model.params.clone());
            p[k] += h;
            q[k] -= h;
            let fd = (loss(&p) - loss(&q)) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-4 * (1.0 + fd.abs()),
                "param {k}: fd {fd} vs {}",
                grad[k]
            );
        }
    }
}
