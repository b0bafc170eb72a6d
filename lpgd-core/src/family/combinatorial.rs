//! Linear objectives over a finite set: `x*(w) = argmin_{x ∈ X} ⟨w, x⟩`.
//!
//! The feasible set X lives in the oracle (a shortest-path graph, a knapsack's capacities, a
//! matching's bipartite graph); the problem is the cost vector `w`. The Lagrangian is `⟨w, x⟩`, so
//! `∂L/∂w = x`, and the right-side LPGD gradient `(x(w + τ g) − x(w)) / τ` is blackbox
//! backpropagation with λ = τ. Maximisers are wrapped by negating `w`: the oracle always minimises.

use crate::error::{check_finite, check_len, Capability, InvalidInput, SolveError};
use crate::problem::Problem;
use ndarray::Array1;

/// A cost vector for an oracle over a finite set, checked to be finite.
#[derive(Debug, Clone, PartialEq)]
pub struct CombinatorialProblem {
    w: Array1<f64>,
}

impl CombinatorialProblem {
    /// A problem with cost `w` (at least one entry, all finite).
    pub fn new(w: Array1<f64>) -> Result<Self, InvalidInput> {
        if w.is_empty() {
            return Err(InvalidInput::Empty("w"));
        }
        check_finite("w", &w)?;
        Ok(Self {
            w: crate::family::conic::standard_layout(w),
        })
    }

    /// The cost vector as a slice (always contiguous).
    pub fn cost_slice(&self) -> &[f64] {
        self.w
            .as_slice()
            .expect("the constructor stores the cost contiguously")
    }

    /// The cost vector.
    pub fn cost(&self) -> &Array1<f64> {
        &self.w
    }

    /// Its dimension.
    pub fn dim(&self) -> usize {
        self.w.len()
    }

    /// Checks that the cost has the dimension an oracle expects.
    pub fn expect_dim(&self, expected: usize) -> Result<(), InvalidInput> {
        check_len("w", self.dim(), expected)
    }
}

fn check(field: &'static str, v: &Array1<f64>, len: usize) -> Result<(), InvalidInput> {
    check_len(field, v.len(), len)?;
    check_finite(field, v)
}

fn moved(
    w: &Array1<f64>,
    d: &Array1<f64>,
    sigma: f64,
    rho: f64,
) -> Result<CombinatorialProblem, SolveError> {
    if rho != 0.0 {
        return Err(SolveError::Unsupported {
            backend: "the combinatorial family",
            what: Capability::Proximal,
        });
    }
    Ok(CombinatorialProblem::new(w + &(sigma * d))?)
}

impl Problem for CombinatorialProblem {
    type Solution = Array1<f64>;
    type SolutionVector = Array1<f64>;
    type DataVector = Array1<f64>;

    fn check_solution(&self, x: &Array1<f64>) -> Result<(), InvalidInput> {
        check("x", x, self.dim())
    }

    fn check_cotangent(&self, g: &Array1<f64>) -> Result<(), InvalidInput> {
        check("dx", g, self.dim())
    }

    fn check_tangent(&self, d: &Array1<f64>) -> Result<(), InvalidInput> {
        check("dw", d, self.dim())
    }

    fn backward_problem(
        &self,
        _: &Array1<f64>,
        g: &Array1<f64>,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        moved(&self.w, g, sigma, rho)
    }

    fn forward_mode_problem(
        &self,
        _: &Array1<f64>,
        d: &Array1<f64>,
        sigma: f64,
        rho: f64,
    ) -> Result<Self, SolveError> {
        moved(&self.w, d, sigma, rho)
    }

    fn lagrangian_gradient_difference(
        &self,
        a: &Array1<f64>,
        b: &Array1<f64>,
        den: f64,
    ) -> Array1<f64> {
        (a - b) / den
    }

    fn solution_difference(&self, a: &Array1<f64>, b: &Array1<f64>, den: f64) -> Array1<f64> {
        (a - b) / den
    }
}
