//! The LPGD configuration and its forward, backward and forward-mode passes.

use crate::error::{FailedAttempt, InvalidInput, LpgdError, SolveError};
use crate::oracle::Oracle;
use crate::problem::{Finite, Problem};
use crate::settings::SolveSettings;
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

/// A configuration solves as its [`SolveSettings`] say: `lpgd.forward(..)`,
/// `lpgd.forward_from(..)`, `lpgd.forward_batch(..)` and `lpgd.threads()` are those of
/// [`Lpgd::settings`].
impl std::ops::Deref for Lpgd {
    type Target = SolveSettings;

    fn deref(&self) -> &SolveSettings {
        &self.settings
    }
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
    /// The LPGD replacement of `∂ℓ/∂w` given `∂ℓ/∂z*`: re-solves the problem with its linear terms
    /// moved by `±τ · cotangent` and differences the Lagrangian gradients.
    ///
    /// `solution` must be the forward solution of `problem` (from [`SolveSettings::forward`], which an `Lpgd` reaches through `Deref`).
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
mod tests;
