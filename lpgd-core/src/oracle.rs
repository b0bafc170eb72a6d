//! The two traits every layer is built from: a problem family and an oracle that solves it.

use crate::error::{Field, InvalidInput, SolveError};

/// A family of optimization problems in one canonical form, with what LPGD needs to know about it:
/// how to perturb an instance, and how its Lagrangian depends on the data.
///
/// Implemented by [`ConicProblem`](crate::ConicProblem) (LPs, QPs, SOCPs, exponential and power
/// cone programs) and [`LinearProblem`](crate::LinearProblem) (`argmin ⟨w, x⟩` over a finite set).
/// Backends implement [`Oracle`] for a family, never the other way round, so every backend of a
/// family is written once against one data model.
pub trait Problem: Sized {
    /// A solution of an instance (for conic programs: primal, dual and slack variables).
    type Solution: Clone;
    /// The gradient of the loss with respect to the solution, `∂ℓ/∂z*`.
    type Cotangent;
    /// The (replacement) gradient of the loss with respect to the problem data, `∂ℓ/∂w`.
    type Gradient: Finite;
    /// A direction in data space, for forward mode.
    type Tangent;
    /// A directional derivative of the solution, the output of forward mode.
    type SolutionTangent: Finite;

    /// Checks that `solution` has this instance's dimensions and finite values.
    fn check_solution(&self, solution: &Self::Solution) -> Result<(), InvalidInput>;
    /// Checks that `cotangent` has this instance's dimensions and finite values.
    fn check_cotangent(&self, cotangent: &Self::Cotangent) -> Result<(), InvalidInput>;
    /// Checks that `tangent` has this instance's dimensions and finite values.
    fn check_tangent(&self, tangent: &Self::Tangent) -> Result<(), InvalidInput>;

    /// Whether the solver reached only its reduced accuracy on this solution.
    fn is_almost_solved(_solution: &Self::Solution) -> bool {
        false
    }

    /// Checks that an oracle's answer (already of the right shape and finite) is optimal, where
    /// the family can tell: conic programs check their optimality conditions
    /// ([`ConicProblem::verify`](crate::ConicProblem::verify)); an argmin over a finite set
    /// cannot be checked without the set, so the default accepts.
    fn verify(&self, _solution: &Self::Solution) -> Result<(), SolveError> {
        Ok(())
    }

    /// The problem re-solved by the backward pass: the Lagrangian plus `σ` times the linearised
    /// loss, plus the proximal term `ρ/2 ‖x − x*‖²`.
    fn backward_problem(
        &self,
        star: &Self::Solution,
        cotangent: &Self::Cotangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError>;

    /// The problem re-solved by forward mode: the data moved by `σ · tangent`, plus the proximal
    /// term `ρ/2 ‖x − x*‖²`.
    fn forward_mode_problem(
        &self,
        star: &Self::Solution,
        tangent: &Self::Tangent,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError>;

    /// Maps a solution of a problem built by [`Problem::backward_problem`] back to this problem's
    /// variables (the identity unless the perturbation had to enlarge the problem).
    fn restrict(&self, perturbed: Self::Solution) -> Self::Solution {
        perturbed
    }

    /// `(∂_w L(a; w) − ∂_w L(b; w)) / denominator`, the LPGD gradient from two solutions.
    fn lagrangian_gradient_difference(
        &self,
        a: &Self::Solution,
        b: &Self::Solution,
        denominator: f64,
    ) -> Self::Gradient;

    /// `(a − b) / denominator`, the forward-mode output from two solutions.
    fn solution_difference(
        &self,
        a: &Self::Solution,
        b: &Self::Solution,
        denominator: f64,
    ) -> Self::SolutionTangent;
}

/// A value made of floating-point arrays that can say where it is not finite.
pub trait Finite {
    /// The first non-finite entry, as (component, position), or `None` when all are finite.
    fn first_non_finite(&self) -> Option<(Field, usize)>;
}

impl Finite for ndarray::Array1<f64> {
    fn first_non_finite(&self) -> Option<(Field, usize)> {
        self.iter().position(|v| !v.is_finite()).map(|k| ("x", k))
    }
}

/// The first non-finite entry among named arrays.
pub(crate) fn first_non_finite<'a>(
    parts: impl IntoIterator<Item = (Field, &'a ndarray::Array1<f64>)>,
) -> Option<(Field, usize)> {
    parts.into_iter().find_map(|(field, values)| {
        values
            .iter()
            .position(|v| !v.is_finite())
            .map(|k| (field, k))
    })
}

/// A solver for a problem family. It always minimises.
///
/// `solve` takes `&mut self` so that real solvers can keep their factorization or basis between
/// calls and only update what changed (LPGD re-solves differ from the forward problem only in the
/// linear terms). `warm` is a hint — the forward solution when LPGD re-solves — that a backend may
/// use to warm-start, or ignore.
///
/// One required method; a closure can be an oracle through [`FnOracle`].
pub trait Oracle<P: Problem> {
    /// Solves `problem` to optimality, or says why it could not.
    fn solve(&mut self, problem: &P, warm: Option<&P::Solution>)
        -> Result<P::Solution, SolveError>;
}

impl<P: Problem, O: Oracle<P> + ?Sized> Oracle<P> for &mut O {
    fn solve(
        &mut self,
        problem: &P,
        warm: Option<&P::Solution>,
    ) -> Result<P::Solution, SolveError> {
        (**self).solve(problem, warm)
    }
}

impl<P: Problem, O: Oracle<P> + ?Sized> Oracle<P> for Box<O> {
    fn solve(
        &mut self,
        problem: &P,
        warm: Option<&P::Solution>,
    ) -> Result<P::Solution, SolveError> {
        (**self).solve(problem, warm)
    }
}

/// An oracle made from a closure `FnMut(&P) -> Result<P::Solution, SolveError>` (the warm-start
/// hint is ignored).
///
/// ```
/// use lpgd_core::{FnOracle, LinearProblem, Oracle};
/// use ndarray::{array, Array1};
/// // argmin over the unit vectors: pick the cheapest coordinate.
/// let mut oracle = FnOracle::new(|p: &LinearProblem| {
///     let w = p.cost();
///     let best = (0..w.len()).min_by(|&i, &j| w[i].total_cmp(&w[j])).unwrap();
///     let mut x = Array1::zeros(w.len());
///     x[best] = 1.0;
///     Ok(x)
/// });
/// let p = LinearProblem::new(array![0.3, -1.0, 0.2]).unwrap();
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
