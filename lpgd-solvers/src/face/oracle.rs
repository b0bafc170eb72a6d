//! [`FaceOracle`]: the wrapper itself, its accessors and its [`Oracle`] implementation.

use super::cache::FactorCache;
use super::guess::{guess_residual, hint_for, Face};
use super::settings::{FaceMiss, FacePath, FaceSettings, FaceStats};
use lpgd_core::{ConicProblem, ConicSolution, Oracle, SolveError};

/// A conic oracle that answers LPGD re-solves on the forward solution's face when it can certify
/// the answer, and asks its inner oracle otherwise. See the [module docs](self).
pub struct FaceOracle<O> {
    pub(super) inner: O,
    pub(super) settings: FaceSettings,
    pub(super) cache: FactorCache,
    pub(super) stats: FaceStats,
    pub(super) last: Option<FacePath>,
}

impl<O> FaceOracle<O> {
    /// Wraps `inner` with the default settings.
    pub fn new(inner: O) -> Self {
        Self::with_settings(inner, FaceSettings::default())
    }

    /// Wraps `inner` with `settings`.
    pub fn with_settings(inner: O, settings: FaceSettings) -> Self {
        Self {
            inner,
            settings,
            cache: FactorCache::default(),
            stats: FaceStats::default(),
            last: None,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> FaceSettings {
        self.settings
    }

    /// What the oracle has done so far.
    pub fn stats(&self) -> FaceStats {
        self.stats
    }

    /// The path of the last solve (None before the first).
    pub fn last_path(&self) -> Option<FacePath> {
        self.last
    }

    /// The inner oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The inner oracle, mutably.
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }
}

impl<O: Oracle<ConicProblem>> Oracle<ConicProblem> for FaceOracle<O> {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, SolveError> {
        let Some(warm) = warm else {
            let z = self.inner.solve(problem, None)?;
            // A point a solver limit stopped stays as the caller asked for it.
            if !self.settings.polish || z.status.is_stopped() {
                self.stats.unpolished += 1;
                self.last = Some(FacePath::Unpolished(None));
                return Ok(z);
            }
            // An inner answer of the wrong shape or with non-finite entries is not a hint (the
            // core reports it as malformed); the polish stays on its face (no continuation).
            let polished = self.on_hint(problem, &z, false);
            return Ok(match polished {
                Ok((mut p, FacePath::Certified)) => {
                    self.stats.polished += 1;
                    self.last = Some(FacePath::Polished);
                    p.iterations = z.iterations;
                    p
                }
                Ok(_) | Err(_) => {
                    self.stats.unpolished += 1;
                    self.last = Some(FacePath::Unpolished(Some(
                        polished.err().unwrap_or(FaceMiss::Certificate),
                    )));
                    z
                }
            });
        };
        match self.on_hint(problem, warm, true) {
            Ok((z, path)) => {
                match path {
                    FacePath::Certified => self.stats.certified += 1,
                    FacePath::Continued(_) => self.stats.continued += 1,
                    _ => self.stats.corrected += 1,
                }
                self.last = Some(path);
                Ok(z)
            }
            Err(miss) => {
                self.stats.fallbacks += 1;
                self.last = Some(FacePath::Fallback(miss));
                self.inner.solve(problem, Some(warm))
            }
        }
    }

    /// A forward solve from `guess` (the same item's answer at the previous step): the guess's
    /// face, corrected or continued, and certified — the exact optimum at the cost of a face
    /// solve or a few pivots; otherwise the solve without a guess (inner oracle and polish), so
    /// a guess changes the speed, never the answer beyond the certificate's tolerance.
    fn solve_from(
        &mut self,
        problem: &ConicProblem,
        guess: &ConicSolution,
    ) -> Result<ConicSolution, SolveError> {
        let attempt = if guess_residual(problem, guess) <= self.settings.guess_residual {
            self.on_hint(problem, guess, true)
        } else {
            Err(FaceMiss::FarGuess)
        };
        match attempt {
            Ok((z, path)) => {
                self.stats.warm += 1;
                self.last = Some(FacePath::Warm(match path {
                    FacePath::Corrected(k) | FacePath::Continued(k) => k,
                    _ => 0,
                }));
                Ok(z)
            }
            Err(_) => {
                self.stats.warm_missed += 1;
                self.solve(problem, None)
            }
        }
    }

    fn last_from_guess(&self) -> bool {
        matches!(self.last, Some(FacePath::Warm(_)))
    }

    fn last_certified(&self) -> bool {
        matches!(
            self.last,
            Some(
                FacePath::Certified
                    | FacePath::Corrected(_)
                    | FacePath::Continued(_)
                    | FacePath::Warm(_)
                    | FacePath::Polished
            )
        )
    }
}

impl<O> FaceOracle<O> {
    /// The certified optimum of `problem` on the face `hint` shows (corrected, and with
    /// `continuation` continued where the corrections fail); [`FaceMiss::NoHint`] for a hint of
    /// another shape or with non-finite entries.
    pub(super) fn on_hint(
        &mut self,
        problem: &ConicProblem,
        hint: &ConicSolution,
        continuation: bool,
    ) -> Result<(ConicSolution, FacePath), FaceMiss> {
        let (x, y, s) = hint_for(problem, hint).ok_or(FaceMiss::NoHint)?;
        let face = Face::guess(problem.cones(), (&x, &y, &s), self.settings.boundary_cones)?;
        self.certified(problem, face, continuation)
    }
}
