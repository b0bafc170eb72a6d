//! How layers are solved, apart from LPGD's step: worker threads and which answers count
//! ([`SolveSettings`]), and the checked forward solve every pass starts from.

use crate::error::{InvalidInput, LpgdError, SolveError};
use crate::oracle::Oracle;
use crate::problem::Problem;

/// How problems are solved: the batch functions' worker threads, and whether "almost solved"
/// answers and answers stopped by a solver limit are accepted. The forward pass needs only this;
/// an [`Lpgd`](crate::Lpgd) configuration carries one for its re-solves.
///
/// ```
/// use lpgd_core::SolveSettings;
/// let settings = SolveSettings::new().with_threads(2)?.with_accept_almost_solved(false);
/// assert_eq!(settings.threads(), Some(2));
/// assert!(!settings.accepts_almost_solved());
/// # Ok::<(), lpgd_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolveSettings {
    accept_almost_solved: bool,
    accept_stopped: bool,
    threads: Option<usize>,
}

impl Default for SolveSettings {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of a forward pass given a guess ([`SolveSettings::forward_from`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Forward<S> {
    /// The solution, checked as every forward solution is.
    pub solution: S,
    /// Whether the oracle answered from the guess (certified on the guess's face) instead of
    /// solving from scratch.
    pub from_guess: bool,
}

impl SolveSettings {
    /// Almost-solved answers accepted, stopped ones refused, the current rayon pool.
    pub const fn new() -> Self {
        Self {
            accept_almost_solved: true,
            accept_stopped: false,
            threads: None,
        }
    }

    /// Whether a solution reached only at the solver's reduced tolerances ("almost solved") is
    /// accepted (default: yes). When not, it is a [`SolveError::AlmostSolved`] error.
    pub fn with_accept_almost_solved(mut self, accept: bool) -> Self {
        self.accept_almost_solved = accept;
        self
    }

    /// Whether an answer a solver limit stopped (an iteration or time limit the caller set on
    /// the backend: `SolveStatus::IterationLimit`, `TimeLimit`) is returned as it is — its
    /// last iterate, flagged by its status, for callers who asked for few iterations — instead
    /// of failing with [`SolveError::MaxIterations`] / [`SolveError::MaxTime`] (default: no).
    /// Such a point is checked for its shape and finiteness, not for optimality; the backward
    /// pass differences such points as it would optima.
    pub fn with_accept_stopped(mut self, accept: bool) -> Self {
        self.accept_stopped = accept;
        self
    }

    /// Whether answers stopped by a solver limit are accepted.
    pub fn accepts_stopped(&self) -> bool {
        self.accept_stopped
    }

    /// The most worker threads [`SolveSettings::with_threads`] accepts.
    pub const MAX_THREADS: usize = 1024;

    /// Runs the batch functions on `threads` worker threads (1 to [`SolveSettings::MAX_THREADS`]) instead
    /// of the current rayon pool. Answers do not depend on it (each item is solved by a backend
    /// whose answer is a function of the item alone).
    ///
    /// ```
    /// # use lpgd_core::SolveSettings;
    /// let settings = SolveSettings::new().with_threads(2)?;
    /// assert_eq!(settings.threads(), Some(2));
    /// assert!(SolveSettings::new().with_threads(0).is_err());
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn with_threads(mut self, threads: usize) -> Result<Self, InvalidInput> {
        if !(1..=Self::MAX_THREADS).contains(&threads) {
            return Err(InvalidInput::TooLarge {
                field: "threads (1 to 1024)",
                size: threads as u64,
                limit: Self::MAX_THREADS as u64,
            });
        }
        self.threads = Some(threads);
        Ok(self)
    }

    /// The worker threads of the batch functions (`None`: the current rayon pool).
    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// Whether "almost solved" counts as solved.
    pub fn accepts_almost_solved(&self) -> bool {
        self.accept_almost_solved
    }

    /// Solves `problem` and checks the answer: its shape and finiteness (else
    /// [`SolveError::MalformedAnswer`]), its optimality where the family can tell
    /// ([`Problem::verify`]), and its accuracy against the configuration.
    pub(crate) fn solve_checked<P: Problem, O: Oracle<P> + ?Sized>(
        &self,
        oracle: &mut O,
        problem: &P,
        warm: Option<&P::Solution>,
    ) -> Result<P::Solution, SolveError> {
        self.accepted(problem, oracle.solve(problem, warm))
    }

    /// An oracle's answer to `problem`, checked: shape and finiteness, optimality where the
    /// family can tell, accuracy against the configuration.
    pub(crate) fn accepted<P: Problem>(
        &self,
        problem: &P,
        answer: Result<P::Solution, SolveError>,
    ) -> Result<P::Solution, SolveError> {
        let solution = answer?;
        if let Some(stop) = P::stopped(&solution) {
            if !self.accept_stopped {
                return Err(stop);
            }
            problem
                .check_solution(&solution)
                .map_err(SolveError::MalformedAnswer)?;
            return Ok(solution);
        }
        let solution = crate::oracle::checked(problem, solution)?;
        if !self.accept_almost_solved && P::is_almost_solved(&solution) {
            return Err(SolveError::AlmostSolved);
        }
        Ok(solution)
    }

    /// Solves the layer: `z*(w)`. The answer is checked (shape, finiteness, optimality where
    /// the family can tell) before it is returned.
    pub fn forward<P, O>(&self, oracle: &mut O, problem: &P) -> Result<P::Solution, LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
    {
        self.solve_checked(oracle, problem, None)
            .map_err(forward_error)
    }

    /// Solves the layer given `guess`, the answer to a nearby problem of the same shape (the same
    /// item's answer at the previous step of a training loop): the oracle may answer from it
    /// ([`Oracle::solve_from`]), which changes the speed, never the answer beyond the backend's
    /// tolerance. A guess of another shape is ignored; an answer from the guess that fails the
    /// checks of [`SolveSettings::forward`] is replaced by a solve from scratch.
    ///
    /// ```
    /// use lpgd_core::{CombinatorialProblem, FnOracle, SolveSettings};
    /// use lpgd_core::ndarray::{array, Array1};
    /// let mut argmin = FnOracle::new(|p: &CombinatorialProblem| {
    ///     let w = p.cost();
    ///     let k = (0..w.len()).min_by(|&i, &j| w[i].total_cmp(&w[j])).unwrap();
    ///     Ok(Array1::from_shape_fn(w.len(), |i| f64::from(u8::from(i == k))))
    /// });
    /// let lpgd = SolveSettings::new();
    /// let before = lpgd.forward(&mut argmin, &CombinatorialProblem::new(array![0.1, 0.5])?)?;
    /// let now = CombinatorialProblem::new(array![0.2, 0.5])?;
    /// let warm = lpgd.forward_from(&mut argmin, &now, Some(&before))?;
    /// // A closure oracle ignores guesses: the answer is a solve from scratch.
    /// assert_eq!(warm.solution, array![1.0, 0.0]);
    /// assert!(!warm.from_guess);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forward_from<P, O>(
        &self,
        oracle: &mut O,
        problem: &P,
        guess: Option<&P::Solution>,
    ) -> Result<Forward<P::Solution>, LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
    {
        if let Some(guess) = guess.filter(|g| problem.check_solution(g).is_ok()) {
            let answer = oracle.solve_from(problem, guess);
            let from_guess = oracle.last_from_guess();
            match self.accepted(problem, answer) {
                Ok(solution) => {
                    return Ok(Forward {
                        solution,
                        from_guess,
                    })
                }
                Err(e) if !from_guess => return Err(forward_error(e)),
                Err(_) => {}
            }
        }
        Ok(Forward {
            solution: self.forward(oracle, problem)?,
            from_guess: false,
        })
    }
}

/// A forward solve's error: bad data as such, anything else as the forward's failure.
fn forward_error(e: SolveError) -> LpgdError {
    match e {
        SolveError::InvalidInput(bad) => LpgdError::InvalidInput(bad),
        other => LpgdError::Forward(other),
    }
}
