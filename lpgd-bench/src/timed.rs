//! An oracle wrapper that measures the time spent inside the solver.

use lpgd_core::{Oracle, Problem, SolveError};
use std::time::{Duration, Instant};

/// Wraps an oracle and adds up the wall time of its `solve` calls.
pub struct Timed<O> {
    inner: O,
    spent: Duration,
    calls: u64,
}

impl<O> Timed<O> {
    /// Wraps `inner`.
    pub fn new(inner: O) -> Self {
        Self {
            inner,
            spent: Duration::ZERO,
            calls: 0,
        }
    }

    /// Time spent in `solve` since the last [`Timed::take`], and the number of calls; resets both.
    pub fn take(&mut self) -> (Duration, u64) {
        let out = (self.spent, self.calls);
        self.spent = Duration::ZERO;
        self.calls = 0;
        out
    }
}

impl<P: Problem, O: Oracle<P>> Oracle<P> for Timed<O> {
    fn solve(
        &mut self,
        problem: &P,
        warm: Option<&P::Solution>,
    ) -> Result<P::Solution, SolveError> {
        let start = Instant::now();
        let out = self.inner.solve(problem, warm);
        self.spent += start.elapsed();
        self.calls += 1;
        out
    }
}
