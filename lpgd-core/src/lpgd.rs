//! The LPGD configuration and its forward, backward and forward-mode passes.

use crate::error::{FailedAttempt, InvalidInput, LpgdError, SolveError};
use crate::oracle::Oracle;
use crate::problem::{Finite, Problem};
use crate::settings::{Forward, SolveSettings};
use crate::side::{Fallback, Side};

/// A validated LPGD configuration: step τ, proximal weight ρ, side, fallback.
///
/// The same value drives every backend and every problem family.
///
/// ```
/// use lpgd_core::{Lpgd, Side, Fallback};
/// let lpgd = Lpgd::new(0.1)?
///     .with_rho(0.1)?
///     .with_side(Side::Right)
///     .with_fallback(Fallback::ShrinkTau { factor: 0.5, retries: 3 })?;
/// assert_eq!(lpgd.tau(), 0.1);
/// assert!(Lpgd::new(0.0).is_err());
/// assert!(Lpgd::new(1.0)?.with_rho(-1.0).is_err());
/// # Ok::<(), lpgd_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lpgd {
    tau: f64,
    rho: f64,
    side: Side,
    fallback: Fallback,
    settings: SolveSettings,
}

/// The result of a backward pass: the replacement gradient and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Backward<G> {
    /// The LPGD gradient with respect to the problem data.
    pub gradient: G,
    /// Which perturbations were solved, and the failures that were recovered from.
    pub report: Report,
}

/// The result of a forward-mode pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Jvp<T> {
    /// The LPGD directional derivative of the solution.
    pub tangent: T,
    /// Which perturbations were solved, and the failures that were recovered from.
    pub report: Report,
}

/// How a perturbed pass was carried out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The positive step actually used, if the right side was solved.
    pub sigma_plus: Option<f64>,
    /// The negative step actually used, if the left side was solved.
    pub sigma_minus: Option<f64>,
    /// Failed attempts that a fallback recovered from (empty when nothing failed).
    pub recovered: Vec<FailedAttempt>,
    /// How many of the re-solves used the oracle certified exactly on a face
    /// ([`Oracle::last_certified`]; 0 for oracles that do not certify).
    pub certified: usize,
}

impl Report {
    /// The side the result effectively corresponds to.
    pub fn side(&self) -> Side {
        match (self.sigma_plus, self.sigma_minus) {
            (Some(_), Some(_)) => Side::Centered,
            (Some(_), None) => Side::Right,
            _ => Side::Left,
        }
    }

    /// Whether a fallback was needed.
    pub fn fell_back(&self) -> bool {
        !self.recovered.is_empty()
    }

    /// Number of perturbed solves carried out, failed ones included.
    pub fn solves(&self) -> usize {
        self.recovered.len()
            + usize::from(self.sigma_plus.is_some())
            + usize::from(self.sigma_minus.is_some())
    }
}

impl Lpgd {
    /// A configuration with step `tau`, ρ = 0, the centred side and no fallback. τ must be
    /// positive with `1/τ` and `2τ` finite (about 5.6e-309 ≤ τ ≤ 9e307), so that every
    /// difference quotient is a finite number.
    pub fn new(tau: f64) -> Result<Self, InvalidInput> {
        if !(tau > 0.0 && (1.0 / tau).is_finite() && (2.0 * tau).is_finite()) {
            return Err(InvalidInput::Tau(tau));
        }
        Ok(Self {
            tau,
            rho: 0.0,
            side: Side::Centered,
            fallback: Fallback::Fail,
            settings: SolveSettings::new(),
        })
    }

    /// Sets the proximal weight ρ (≥ 0, finite). ρ > 0 adds `ρ/2 ‖x − x*‖²` to the perturbed
    /// problems: it regularises degenerate LPs but biases the gradient even as τ → 0.
    pub fn with_rho(mut self, rho: f64) -> Result<Self, InvalidInput> {
        if !(rho.is_finite() && rho >= 0.0) {
            return Err(InvalidInput::Rho(rho));
        }
        self.rho = rho;
        Ok(self)
    }

    /// Sets the side.
    pub fn with_side(mut self, side: Side) -> Self {
        self.side = side;
        self
    }

    /// Sets the fallback for failed perturbed re-solves.
    pub fn with_fallback(mut self, fallback: Fallback) -> Result<Self, InvalidInput> {
        if let Fallback::ShrinkTau { factor, retries } = fallback {
            if !(factor > 0.0 && factor < 1.0) {
                return Err(InvalidInput::Fallback("shrink factor must lie in (0, 1)"));
            }
            if retries == 0 {
                return Err(InvalidInput::Fallback("shrink needs at least one retry"));
            }
            if retries > Fallback::MAX_RETRIES {
                return Err(InvalidInput::Fallback("shrink allows at most 64 retries"));
            }
        }
        self.fallback = fallback;
        Ok(self)
    }

    /// Solves with `settings` (threads, which answers are accepted).
    pub fn with_settings(mut self, settings: SolveSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The solve settings: threads and which answers are accepted.
    pub fn settings(&self) -> &SolveSettings {
        &self.settings
    }

    /// Whether an "almost solved" answer is accepted ([`SolveSettings::with_accept_almost_solved`]).
    pub fn with_accept_almost_solved(self, accept: bool) -> Self {
        let settings = self.settings.with_accept_almost_solved(accept);
        self.with_settings(settings)
    }

    /// Whether an answer stopped by a solver limit is accepted
    /// ([`SolveSettings::with_accept_stopped`]).
    pub fn with_accept_stopped(self, accept: bool) -> Self {
        let settings = self.settings.with_accept_stopped(accept);
        self.with_settings(settings)
    }

    /// The most worker threads [`Lpgd::with_threads`] accepts.
    pub const MAX_THREADS: usize = SolveSettings::MAX_THREADS;

    /// Runs the batch functions on `threads` worker threads ([`SolveSettings::with_threads`]).
    ///
    /// ```
    /// # use lpgd_core::Lpgd;
    /// let lpgd = Lpgd::new(0.1)?.with_threads(2)?;
    /// assert_eq!(lpgd.settings().threads(), Some(2));
    /// assert!(Lpgd::new(0.1)?.with_threads(0).is_err());
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn with_threads(self, threads: usize) -> Result<Self, InvalidInput> {
        let settings = self.settings.with_threads(threads)?;
        Ok(self.with_settings(settings))
    }

    /// The step τ.
    pub fn tau(&self) -> f64 {
        self.tau
    }
    /// The proximal weight ρ.
    pub fn rho(&self) -> f64 {
        self.rho
    }
    /// The side.
    pub fn side(&self) -> Side {
        self.side
    }
    /// The fallback.
    pub fn fallback(&self) -> Fallback {
        self.fallback
    }
    /// Solves the layer ([`SolveSettings::forward`] with this configuration's settings).
    pub fn forward<P, O>(&self, oracle: &mut O, problem: &P) -> Result<P::Solution, LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
    {
        self.settings.forward(oracle, problem)
    }

    /// Solves the layer given a guess ([`SolveSettings::forward_from`] with this configuration's
    /// settings).
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
        self.settings.forward_from(oracle, problem, guess)
    }

    /// The LPGD replacement of `∂ℓ/∂w` given `∂ℓ/∂z*`: re-solves the problem with its linear terms
    /// moved by `±τ · cotangent` and differences the Lagrangian gradients.
    ///
    /// `solution` must be the forward solution of `problem` (from [`Lpgd::forward`]).
    ///
    /// ```
    /// use lpgd_core::{CombinatorialProblem, FnOracle, Lpgd, Side};
    /// use lpgd_core::ndarray::{array, Array1};
    /// // argmin over the unit vectors of ℝ³.
    /// let mut argmin = FnOracle::new(|p: &CombinatorialProblem| {
    ///     let w = p.cost();
    ///     let k = (0..w.len()).min_by(|&i, &j| w[i].total_cmp(&w[j])).unwrap();
    ///     Ok(Array1::from_shape_fn(w.len(), |i| f64::from(u8::from(i == k))))
    /// });
    /// let layer = CombinatorialProblem::new(array![0.1, 0.5, 0.3])?;
    /// let lpgd = Lpgd::new(0.5)?.with_side(Side::Right);
    /// let x = lpgd.forward(&mut argmin, &layer)?;
    /// let back = lpgd.backward(&mut argmin, &layer, &x, &array![1.0, 0.0, 0.0])?;
    /// // w + τ·g = (0.6, 0.5, 0.3) picks item 2: (x_τ − x*)/τ.
    /// assert_eq!(back.gradient, array![-2.0, 0.0, 2.0]);
    /// assert_eq!(back.report.side(), Side::Right);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backward<P, O>(
        &self,
        oracle: &mut O,
        problem: &P,
        solution: &P::Solution,
        cotangent: &P::SolutionVector,
    ) -> Result<Backward<P::DataVector>, LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
    {
        problem.check_solution(solution)?;
        problem.check_cotangent(cotangent)?;
        let rho = self.rho;
        let (a, b, denominator, report) =
            self.perturbed_pair(oracle, problem, solution, |sigma| {
                problem.backward_problem(solution, cotangent, sigma, rho)
            })?;
        Ok(Backward {
            gradient: finite(problem.lagrangian_gradient_difference(&a, &b, denominator))?,
            report,
        })
    }

    /// Forward mode: the LPGD directional derivative of `z*` along the data direction `tangent`,
    /// `(z(w + τ·dw) − z*) / τ` (right; left and centred analogously).
    pub fn jvp<P, O>(
        &self,
        oracle: &mut O,
        problem: &P,
        solution: &P::Solution,
        tangent: &P::DataVector,
    ) -> Result<Jvp<P::SolutionVector>, LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
    {
        problem.check_solution(solution)?;
        problem.check_tangent(tangent)?;
        let rho = self.rho;
        let (a, b, denominator, report) =
            self.perturbed_pair(oracle, problem, solution, |sigma| {
                problem.forward_mode_problem(solution, tangent, sigma, rho)
            })?;
        Ok(Jvp {
            tangent: finite(problem.solution_difference(&a, &b, denominator))?,
            report,
        })
    }

    /// Solves the perturbations the side asks for, applying the fallback, and returns the two
    /// solutions to difference with their denominator `σ_a − σ_b`.
    fn perturbed_pair<'s, P, O, B>(
        &self,
        oracle: &mut O,
        problem: &P,
        star: &'s P::Solution,
        build: B,
    ) -> Result<(PairItem<'s, P>, PairItem<'s, P>, f64, Report), LpgdError>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
        B: Fn(f64) -> Result<P, SolveError>,
    {
        let mut report = Report::default();
        let mut failures = Vec::new();
        let (want_plus, want_minus) = match self.side {
            Side::Right => (true, false),
            Side::Left => (false, true),
            Side::Centered => (true, true),
        };
        let mut solve_side = |sign: f64, failures: &mut Vec<FailedAttempt>| {
            self.solve_side(oracle, problem, star, &build, sign * self.tau, failures)
        };
        let mut plus = if want_plus {
            solve_side(1.0, &mut failures)
        } else {
            None
        };
        let mut minus = if want_minus {
            solve_side(-1.0, &mut failures)
        } else {
            None
        };

        let plus_failed = want_plus && plus.is_none();
        let minus_failed = want_minus && minus.is_none();
        if (plus_failed || minus_failed) && self.fallback == Fallback::OtherSide {
            // A centred pass keeps whichever side solved; a one-sided pass tries the other side.
            if plus_failed && !want_minus {
                minus = solve_side(-1.0, &mut failures);
            } else if minus_failed && !want_plus {
                plus = solve_side(1.0, &mut failures);
            }
        }
        let usable = match self.fallback {
            Fallback::OtherSide => plus.is_some() || minus.is_some(),
            _ => !plus_failed && !minus_failed,
        };
        if !usable {
            return Err(LpgdError::Perturbed {
                side: self.side,
                attempts: failures,
            });
        }
        report.recovered = failures;
        report.certified = [&plus, &minus]
            .iter()
            .filter(|side| side.as_ref().is_some_and(|s| s.2))
            .count();
        let (sa, a) = match plus {
            Some((sigma, z, _)) => {
                report.sigma_plus = Some(sigma);
                (sigma, PairItem::Owned(z))
            }
            None => (0.0, PairItem::Star(star)),
        };
        let (sb, b) = match minus {
            Some((sigma, z, _)) => {
                report.sigma_minus = Some(sigma);
                (sigma, PairItem::Owned(z))
            }
            None => (0.0, PairItem::Star(star)),
        };
        Ok((a, b, sa - sb, report))
    }

    /// Solves one side, shrinking σ on failure if the fallback says so: the step used, the
    /// solution and whether the oracle certified it.
    fn solve_side<P, O, B>(
        &self,
        oracle: &mut O,
        problem: &P,
        star: &P::Solution,
        build: &B,
        sigma: f64,
        failures: &mut Vec<FailedAttempt>,
    ) -> Option<(f64, P::Solution, bool)>
    where
        P: Problem,
        O: Oracle<P> + ?Sized,
        B: Fn(f64) -> Result<P, SolveError>,
    {
        let (factor, retries) = match self.fallback {
            Fallback::ShrinkTau { factor, retries } => (factor, retries),
            _ => (1.0, 0),
        };
        let mut sigma = sigma;
        let floor = Fallback::SHRINK_FLOOR * self.tau;
        for _ in 0..=retries {
            let attempt = build(sigma).and_then(|perturbed| {
                let hint = problem.hint(&perturbed, star);
                self.settings.solve_checked(oracle, &perturbed, Some(&hint))
            });
            match attempt {
                Ok(z) => return Some((sigma, problem.restrict(z), oracle.last_certified())),
                Err(error) => {
                    let recoverable = error.is_recoverable();
                    failures.push(FailedAttempt { sigma, error });
                    if !recoverable || (sigma * factor).abs() < floor {
                        return None;
                    }
                    sigma *= factor;
                }
            }
        }
        None
    }
}

/// `value`, or [`LpgdError::NonFinite`] naming its first non-finite entry.
fn finite<T: Finite>(value: T) -> Result<T, LpgdError> {
    match value.first_non_finite() {
        None => Ok(value),
        Some((field, index)) => Err(LpgdError::NonFinite { field, index }),
    }
}

/// One of the two solutions a difference is taken of: a re-solve, or the forward solution.
pub(crate) enum PairItem<'s, P: Problem> {
    Owned(P::Solution),
    Star(&'s P::Solution),
}

impl<P: Problem> std::ops::Deref for PairItem<'_, P> {
    type Target = P::Solution;
    fn deref(&self) -> &P::Solution {
        match self {
            PairItem::Owned(z) => z,
            PairItem::Star(z) => z,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Capability;
    use crate::oracle::FnOracle;
    use crate::{CombinatorialProblem, CscMatrix};
    use crate::{Cone, ConicCotangent, ConicProblem, ConicSolution, SolveStatus};
    use ndarray::{array, Array1};

    /// Brute force over the 0/1 vectors of length 4 with exactly two ones (first minimiser wins).
    fn two_of_four(p: &CombinatorialProblem) -> Result<Array1<f64>, SolveError> {
        let mut best: Option<(f64, Array1<f64>)> = None;
        for i in 0..4 {
            for j in i + 1..4 {
                let mut x = Array1::zeros(4);
                x[i] = 1.0;
                x[j] = 1.0;
                let v = p.cost().dot(&x);
                if best.as_ref().is_none_or(|(b, _)| v < *b) {
                    best = Some((v, x));
                }
            }
        }
        Ok(best.expect("the set is not empty").1)
    }

    fn solve(w: Array1<f64>) -> Array1<f64> {
        two_of_four(&CombinatorialProblem::new(w).unwrap()).unwrap()
    }

    #[test]
    fn sides_are_the_blackbox_differences_computed_by_hand() {
        let w = array![0.1, 0.2, 0.5, 0.9];
        let g = array![1.0, 0.0, -1.0, 0.0];
        let tau = 0.5;
        let p = CombinatorialProblem::new(w.clone()).unwrap();
        let mut oracle = FnOracle::new(two_of_four);
        let x = solve(w.clone());
        assert_eq!(x, array![1.0, 1.0, 0.0, 0.0]);
        let right = (solve(&w + &(tau * &g)) - &x) / tau;
        let left = (&x - solve(&w - &(tau * &g))) / tau;
        let centred = (solve(&w + &(tau * &g)) - solve(&w - &(tau * &g))) / (2.0 * tau);
        for (side, expected) in [
            (Side::Right, &right),
            (Side::Left, &left),
            (Side::Centered, &centred),
        ] {
            let lpgd = Lpgd::new(tau).unwrap().with_side(side);
            let back = lpgd.backward(&mut oracle, &p, &x, &g).unwrap();
            assert_eq!(&back.gradient, expected, "{side:?}");
            assert_eq!(back.report.side(), side);
        }
        // Right: w + τg = (0.6, 0.2, 0.0, 0.9) picks {1, 2}: blackbox backprop's (x_τ − x)/τ.
        assert_eq!(right, array![-2.0, 0.0, 2.0, 0.0]);
        // Forward mode along d is the same construction on the data.
        let jvp = Lpgd::new(tau)
            .unwrap()
            .with_side(Side::Right)
            .jvp(&mut oracle, &p, &x, &g)
            .unwrap();
        assert_eq!(jvp.tangent, right);
    }

    #[test]
    fn proximal_term_on_a_finite_set_is_unsupported_and_not_retried() {
        let p = CombinatorialProblem::new(array![0.1, 0.2, 0.5, 0.9]).unwrap();
        let lpgd = Lpgd::new(0.5)
            .unwrap()
            .with_rho(1.0)
            .unwrap()
            .with_fallback(Fallback::ShrinkTau {
                factor: 0.5,
                retries: 4,
            })
            .unwrap()
            .with_side(Side::Right);
        let mut oracle = FnOracle::new(two_of_four);
        let x = lpgd.forward(&mut oracle, &p).unwrap();
        match lpgd.backward(&mut oracle, &p, &x, &array![1.0, 0.0, 0.0, 0.0]) {
            Err(LpgdError::Perturbed { attempts, .. }) => {
                assert_eq!(attempts.len(), 1, "a missing capability is not retried");
                assert!(matches!(
                    attempts[0].error,
                    SolveError::Unsupported {
                        what: Capability::Proximal,
                        ..
                    }
                ));
            }
            other => panic!("expected an unsupported proximal term, got {other:?}"),
        }
    }

    /// A conic "solver" for `min cᵀx s.t. x ≥ 0` (A = −I, b = 0, c > 0) that answers with its
    /// optimum `x = s = 0, y = c` and a fixed status, to test status handling.
    fn fixed(
        status: SolveStatus,
    ) -> impl FnMut(&ConicProblem) -> Result<ConicSolution, SolveError> {
        move |p: &ConicProblem| {
            Ok(ConicSolution {
                x: Array1::zeros(p.n()),
                y: p.c().clone(),
                s: Array1::zeros(p.m()),
                status,
                iterations: 1,
            })
        }
    }

    /// `min x₀ + x₁ s.t. x ≥ 0` (A = −I, b = 0), the problem [`fixed`] answers.
    fn orthant_lp() -> ConicProblem {
        let a = CscMatrix::scaled_identity(2, -1.0).unwrap();
        ConicProblem::new(
            None,
            a,
            array![0.0, 0.0],
            array![1.0, 1.0],
            vec![Cone::Nonnegative(2)],
        )
        .unwrap()
    }

    #[test]
    fn an_answer_that_is_not_optimal_is_not_solved() {
        let p = orthant_lp();
        // x = 0 is optimal, but y = 0 is not its dual: the stationarity residual is |c| = 1.
        let mut wrong_dual = FnOracle::new(|p: &ConicProblem| {
            Ok(ConicSolution {
                x: Array1::zeros(p.n()),
                y: Array1::zeros(p.m()),
                s: Array1::zeros(p.m()),
                status: SolveStatus::Solved,
                iterations: 1,
            })
        });
        assert!(matches!(
            Lpgd::new(0.1).unwrap().forward(&mut wrong_dual, &p),
            Err(LpgdError::Forward(SolveError::Unverified {
                check: "dual",
                ..
            }))
        ));
        // A custom oracle answering with the wrong length is malformed, not solved.
        let mut short = FnOracle::new(|_: &CombinatorialProblem| Ok(array![1.0, 0.0]));
        let q = CombinatorialProblem::new(array![0.1, 0.2, 0.3, 0.4, 0.5]).unwrap();
        assert!(matches!(
            Lpgd::new(0.1).unwrap().forward(&mut short, &q),
            Err(LpgdError::Forward(SolveError::MalformedAnswer(
                InvalidInput::Length { .. }
            )))
        ));
        let mut nan =
            FnOracle::new(|_: &CombinatorialProblem| Ok(array![f64::NAN, 0.0, 0.0, 0.0, 0.0]));
        assert!(matches!(
            Lpgd::new(0.1).unwrap().forward(&mut nan, &q),
            Err(LpgdError::Forward(SolveError::MalformedAnswer(
                InvalidInput::NonFinite { .. }
            )))
        ));
    }

    #[test]
    fn steps_whose_inverse_overflows_are_invalid_and_shrinking_stops_at_its_floor() {
        for tau in [
            0.0,
            -1.0,
            1e-310,
            f64::MIN_POSITIVE / 8.0,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ] {
            assert!(matches!(Lpgd::new(tau), Err(InvalidInput::Tau(_))), "{tau}");
        }
        assert!(Lpgd::new(1e-300).is_ok() && Lpgd::new(1e300).is_ok());
        // A fallback that would shrink σ to 0 stops at τ · 1e-12 instead.
        let p = CombinatorialProblem::new(array![0.0, 1.0]).unwrap();
        let mut failing = FnOracle::new(|q: &CombinatorialProblem| {
            if q.cost()[0] != 0.0 {
                Err(SolveError::Numerical)
            } else {
                Ok(array![1.0, 0.0])
            }
        });
        let lpgd = Lpgd::new(1.0)
            .unwrap()
            .with_side(Side::Right)
            .with_fallback(Fallback::ShrinkTau {
                factor: 1e-3,
                retries: 64,
            })
            .unwrap();
        match lpgd.backward(&mut failing, &p, &array![1.0, 0.0], &array![1.0, 0.0]) {
            Err(LpgdError::Perturbed { attempts, .. }) => {
                assert_eq!(attempts.len(), 5, "1, 1e-3, …, 1e-12: then the floor");
                assert!(attempts.iter().all(|a| a.sigma >= 1e-12 * 0.999));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(Lpgd::new(1.0)
            .unwrap()
            .with_fallback(Fallback::ShrinkTau {
                factor: 0.5,
                retries: 65
            })
            .is_err());
    }

    #[test]
    fn a_non_finite_gradient_is_an_error() {
        // An oracle whose answers are finite but whose difference over a tiny τ overflows.
        let p = CombinatorialProblem::new(array![0.0, 1.0]).unwrap();
        let mut far = FnOracle::new(|q: &CombinatorialProblem| {
            if q.cost()[0] > 0.0 {
                Ok(array![-1e300, 0.0])
            } else {
                Ok(array![1e300, 0.0])
            }
        });
        let lpgd = Lpgd::new(1e-10).unwrap().with_side(Side::Right);
        assert!(matches!(
            lpgd.backward(&mut far, &p, &array![1e300, 0.0], &array![1.0, 0.0]),
            Err(LpgdError::NonFinite { index: 0, .. })
        ));
    }

    #[test]
    fn almost_solved_is_accepted_or_rejected_as_configured() {
        let p = orthant_lp();
        let mut oracle = FnOracle::new(fixed(SolveStatus::AlmostSolved));
        let lenient = Lpgd::new(0.1).unwrap();
        let z = lenient.forward(&mut oracle, &p).unwrap();
        assert_eq!(z.status, SolveStatus::AlmostSolved);
        let strict = lenient.with_accept_almost_solved(false);
        assert_eq!(
            strict.forward(&mut oracle, &p),
            Err(LpgdError::Forward(SolveError::AlmostSolved))
        );
        let g = ConicCotangent::on_x(&p, array![1.0, 0.0]);
        assert!(lenient.backward(&mut oracle, &p, &z, &g).is_ok());
        assert!(matches!(
            strict.backward(&mut oracle, &p, &z, &g),
            Err(LpgdError::Perturbed { attempts, .. }) if attempts[0].error == SolveError::AlmostSolved
        ));
    }

    #[test]
    fn shrink_tau_reports_the_step_used() {
        // The oracle fails while the cost has moved by more than 0.3 from the original.
        let w = array![0.0, 1.0];
        let p = CombinatorialProblem::new(w.clone()).unwrap();
        let mut oracle = FnOracle::new(move |q: &CombinatorialProblem| {
            if (q.cost() - &w).iter().any(|d| d.abs() > 0.3) {
                Err(SolveError::Numerical)
            } else {
                Ok(array![1.0, 0.0])
            }
        });
        let lpgd = Lpgd::new(1.0)
            .unwrap()
            .with_fallback(Fallback::ShrinkTau {
                factor: 0.5,
                retries: 2,
            })
            .unwrap();
        let x = array![1.0, 0.0];
        let back = lpgd
            .backward(&mut oracle, &p, &x, &array![1.0, 0.0])
            .unwrap();
        assert_eq!(
            (back.report.sigma_plus, back.report.sigma_minus),
            (Some(0.25), Some(-0.25))
        );
        assert_eq!(back.report.recovered.len(), 4);
        let lpgd = lpgd
            .with_fallback(Fallback::ShrinkTau {
                factor: 0.5,
                retries: 1,
            })
            .unwrap();
        assert!(matches!(
            lpgd.backward(&mut oracle, &p, &x, &array![1.0, 0.0]),
            Err(LpgdError::Perturbed { attempts, .. }) if attempts.len() == 4
        ));
    }
}
