//! The trait a problem family implements: how to perturb an instance and how its Lagrangian
//! depends on the data. Two families implement it, [`ConicProblem`](crate::ConicProblem) and
//! [`CombinatorialProblem`](crate::CombinatorialProblem).

use crate::error::{Field, InvalidInput, SolveError};
use std::borrow::Cow;

/// A family of optimization problems in one canonical form, with what LPGD needs to know about it:
/// how to perturb an instance, and how its Lagrangian depends on the data.
///
/// Implemented by [`ConicProblem`](crate::ConicProblem) (LPs, QPs, SOCPs, exponential and power
/// cone programs) and [`CombinatorialProblem`](crate::CombinatorialProblem) (`argmin ⟨w, x⟩` over a finite set).
/// Backends implement [`Oracle`](crate::Oracle) for a family, never the other way round, so every backend of a
/// family is written once against one data model.
pub trait Problem: Sized {
    /// A solution of an instance (for conic programs: primal, dual and slack variables).
    type Solution: Clone;
    /// A vector in the solution's space: the incoming gradient `∂ℓ/∂z*` of a backward pass, and
    /// the directional derivative of the solution that forward mode returns.
    type SolutionVector: Finite;
    /// A vector in the data's space: the (replacement) gradient `∂ℓ/∂w` of a backward pass, and
    /// the data direction forward mode takes.
    type DataVector: Finite;

    /// Checks that `solution` has this instance's dimensions and finite values.
    fn check_solution(&self, solution: &Self::Solution) -> Result<(), InvalidInput>;
    /// Checks that `cotangent` has this instance's dimensions and finite values.
    fn check_cotangent(&self, cotangent: &Self::SolutionVector) -> Result<(), InvalidInput>;
    /// Checks that `tangent` has this instance's dimensions and finite values.
    fn check_tangent(&self, tangent: &Self::DataVector) -> Result<(), InvalidInput>;

    /// Whether the solver reached only its reduced accuracy on this solution.
    fn is_almost_solved(_solution: &Self::Solution) -> bool {
        false
    }

    /// Why the solver stopped short of an optimum on this solution (an iteration or time limit
    /// the caller set), as the error a caller who does not accept stopped answers gets; None
    /// for an answer that claims optimality.
    fn stopped(_solution: &Self::Solution) -> Option<SolveError> {
        None
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
        cotangent: &Self::SolutionVector,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError>;

    /// The problem re-solved by forward mode: the data moved by `σ · tangent`, plus the proximal
    /// term `ρ/2 ‖x − x*‖²`.
    fn forward_mode_problem(
        &self,
        star: &Self::Solution,
        tangent: &Self::DataVector,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError>;

    /// Maps a solution of a problem built by [`Problem::backward_problem`] back to this problem's
    /// variables (the identity unless the perturbation had to enlarge the problem).
    fn restrict(&self, perturbed: Self::Solution) -> Self::Solution {
        perturbed
    }

    /// The solution `star` of this problem in the shape of `perturbed`, a problem built from it
    /// by [`Problem::backward_problem`] or [`Problem::forward_mode_problem`]: the warm hint every
    /// re-solve is given (the inverse of [`Problem::restrict`]; `star` itself unless the
    /// perturbation enlarged the problem).
    fn hint<'a>(&self, perturbed: &Self, star: &'a Self::Solution) -> Cow<'a, Self::Solution> {
        let _ = perturbed;
        Cow::Borrowed(star)
    }

    /// `(∂_w L(a; w) − ∂_w L(b; w)) / denominator`, the LPGD gradient from two solutions.
    fn lagrangian_gradient_difference(
        &self,
        a: &Self::Solution,
        b: &Self::Solution,
        denominator: f64,
    ) -> Self::DataVector;

    /// `(a − b) / denominator`, the forward-mode output from two solutions.
    fn solution_difference(
        &self,
        a: &Self::Solution,
        b: &Self::Solution,
        denominator: f64,
    ) -> Self::SolutionVector;
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
