//! The two traits every layer is built from: a problem family and an oracle that solves it.

use crate::error::SolveError;
use crate::problem::Problem;

/// A solver for a problem family. It always minimises.
///
/// `solve` takes `&mut self` so that real solvers can keep their factorization or basis between
/// calls and only update what changed (LPGD re-solves differ from the forward problem only in the
/// linear terms). `warm` is a hint — the forward solution when LPGD re-solves — that a backend may
/// use to warm-start, or ignore.
///
/// One required method; a closure can be an oracle through [`FnOracle`].
///
/// ```
/// use lpgd_core::{CombinatorialProblem, Oracle, SolveError};
/// use lpgd_core::ndarray::Array1;
/// /// The k cheapest of n items (a top-k layer).
/// struct CheapestK(usize);
/// impl Oracle<CombinatorialProblem> for CheapestK {
///     fn solve(&mut self, p: &CombinatorialProblem, _warm: Option<&Array1<f64>>)
///         -> Result<Array1<f64>, SolveError> {
///         let w = p.cost();
///         let mut order: Vec<usize> = (0..w.len()).collect();
///         order.sort_by(|&i, &j| w[i].total_cmp(&w[j]).then(i.cmp(&j)));
///         let mut x = Array1::zeros(w.len());
///         order.iter().take(self.0).for_each(|&i| x[i] = 1.0);
///         Ok(x)
///     }
/// }
/// let p = CombinatorialProblem::new(Array1::from(vec![0.3, -1.0, 0.2, 0.9]))?;
/// assert_eq!(CheapestK(2).solve(&p, None)?.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Oracle<P: Problem> {
    /// Solves `problem` to optimality, or says why it could not.
    fn solve(&mut self, problem: &P, warm: Option<&P::Solution>)
        -> Result<P::Solution, SolveError>;

    /// A forward solve given `guess`, the answer to a nearby problem of the same shape — in a
    /// training loop, the same item's answer at the previous step. The answer must be
    /// `solve(problem, None)`'s to the backend's tolerance: a guess may change the speed, never
    /// the answer. The default ignores the guess and solves from scratch.
    fn solve_from(&mut self, problem: &P, guess: &P::Solution) -> Result<P::Solution, SolveError> {
        let _ = guess;
        self.solve(problem, None)
    }

    /// Whether the last [`solve_from`](Oracle::solve_from) answered from its guess (for a face
    /// oracle: certified on the guess's face) instead of solving from scratch. Default: false.
    fn last_from_guess(&self) -> bool {
        false
    }

    /// Whether the last answer was certified exactly optimal by the oracle itself (a face
    /// oracle's answer on a certified face) rather than taken from an iterative solver at its
    /// tolerance. Reported per backward pass ([`Report::certified`](crate::Report)). Default:
    /// false.
    fn last_certified(&self) -> bool {
        false
    }
}

/// An oracle behind a pointer is that oracle: every method forwards, the defaulted ones too
/// (else a boxed face oracle would lose its guessed forwards and certificates).
macro_rules! forward_oracle {
    ($($pointer:ty),*) => {$(
        impl<P: Problem, O: Oracle<P> + ?Sized> Oracle<P> for $pointer {
            fn solve(
                &mut self,
                problem: &P,
                warm: Option<&P::Solution>,
            ) -> Result<P::Solution, SolveError> {
                (**self).solve(problem, warm)
            }

            fn solve_from(
                &mut self,
                problem: &P,
                guess: &P::Solution,
            ) -> Result<P::Solution, SolveError> {
                (**self).solve_from(problem, guess)
            }

            fn last_from_guess(&self) -> bool {
                (**self).last_from_guess()
            }

            fn last_certified(&self) -> bool {
                (**self).last_certified()
            }
        }
    )*};
}

forward_oracle!(&mut O, Box<O>);

/// Solves `problem` with `oracle` and checks the answer the way every LPGD pass does: its shape
/// and finiteness (else [`SolveError::MalformedAnswer`]) and its optimality where the family can
/// tell ([`Problem::verify`]). Gradient rules that call an oracle outside [`Lpgd`](crate::Lpgd)
/// (perturbed optimizers, SPO+) use it, so a user's oracle that answers with the wrong length is
/// an error there too, never a panic in the arithmetic that follows.
///
/// ```
/// use lpgd_core::{checked_solve, CombinatorialProblem, FnOracle, SolveError};
/// use lpgd_core::ndarray::{array, Array1};
/// let mut short = FnOracle::new(|_: &CombinatorialProblem| Ok(Array1::zeros(2)));
/// let p = CombinatorialProblem::new(array![1.0, 2.0, 3.0])?;
/// assert!(matches!(checked_solve(&mut short, &p, None), Err(SolveError::MalformedAnswer(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn checked_solve<P: Problem, O: Oracle<P> + ?Sized>(
    oracle: &mut O,
    problem: &P,
    warm: Option<&P::Solution>,
) -> Result<P::Solution, SolveError> {
    checked(problem, oracle.solve(problem, warm)?)
}

/// `solution` if it has `problem`'s shape, is finite and passes [`Problem::verify`].
pub(crate) fn checked<P: Problem>(
    problem: &P,
    solution: P::Solution,
) -> Result<P::Solution, SolveError> {
    problem
        .check_solution(&solution)
        .map_err(SolveError::MalformedAnswer)?;
    problem.verify(&solution)?;
    Ok(solution)
}

/// An oracle made from a closure `FnMut(&P) -> Result<P::Solution, SolveError>` (the warm-start
/// hint is ignored).
///
/// ```
/// use lpgd_core::{FnOracle, CombinatorialProblem, Oracle};
/// use ndarray::{array, Array1};
/// // argmin over the unit vectors: pick the cheapest coordinate.
/// let mut oracle = FnOracle::new(|p: &CombinatorialProblem| {
///     let w = p.cost();
///     let best = (0..w.len()).min_by(|&i, &j| w[i].total_cmp(&w[j])).unwrap();
///     let mut x = Array1::zeros(w.len());
///     x[best] = 1.0;
///     Ok(x)
/// });
/// let p = CombinatorialProblem::new(array![0.3, -1.0, 0.2]).unwrap();
/// assert_eq!(oracle.solve(&p, None).unwrap(), array![0.0, 1.0, 0.0]);
/// ```
pub struct FnOracle<F>(F);

impl<F> FnOracle<F> {
    /// Wraps a closure.
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

impl<P, F> Oracle<P> for FnOracle<F>
where
    P: Problem,
    F: FnMut(&P) -> Result<P::Solution, SolveError>,
{
    fn solve(
        &mut self,
        problem: &P,
        _warm: Option<&P::Solution>,
    ) -> Result<P::Solution, SolveError> {
        (self.0)(problem)
    }
}
