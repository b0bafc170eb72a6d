//! Solvers kept between calls, keyed by the problem's structure.
//!
//! LPGD re-solves differ from the forward problem only in `c` and `b` (and in P by ρI), and the
//! instances of a layer share the structure of A and P. A backend that can update data in place
//! keeps a few solver handles here and reuses the one whose (A, P, cones) match: by pattern and
//! values ([`StructureCache::new`], for backends that can update only `c` and `b`), or by pattern
//! alone ([`StructureCache::by_pattern`], for backends that also update A's and P's values).

use lpgd_core::{Cone, ConicProblem, CscMatrix, SolveError};

/// Counters of what an oracle did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OracleStats {
    /// Calls to `solve`.
    pub solves: u64,
    /// Solver handles built from scratch.
    pub setups: u64,
    /// Solves that reused a kept handle by updating its data.
    pub updates: u64,
    /// Solver iterations (interior-point, ADMM or simplex), summed.
    pub iterations: u64,
    /// Solves repeated with a more careful setting because the first answer was not solved
    /// (Clarabel's iterative refinement on demand).
    pub refined: u64,
}

struct Slot<S> {
    a: CscMatrix,
    p: Option<CscMatrix>,
    cones: Vec<Cone>,
    solver: S,
    last_used: u64,
}

/// Up to `capacity` solver handles, least recently used evicted first, with the oracle's reuse
/// switch and counters.
pub(crate) struct StructureCache<S> {
    slots: Vec<Slot<S>>,
    capacity: usize,
    clock: u64,
    reuse: bool,
    /// Whether a kept handle must also have the problem's values of A and P.
    match_values: bool,
    stats: OracleStats,
}

impl<S> StructureCache<S> {
    /// A cache for the forward problem, the ρ-shifted problem, the slack-embedded problem and one
    /// spare.
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            capacity: 4,
            clock: 0,
            reuse: true,
            match_values: true,
            stats: OracleStats::default(),
        }
    }

    /// A cache whose handles serve every problem with the same patterns of A and P and the same
    /// cones, whatever their values (the backend overwrites them).
    pub(crate) fn by_pattern() -> Self {
        Self {
            match_values: false,
            ..Self::new()
        }
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
    }

    /// Whether solvers are kept between calls (without, every solve builds a new one).
    pub(crate) fn set_reuse(&mut self, reuse: bool) {
        self.reuse = reuse;
    }

    /// Whether solvers are kept between calls.
    pub(crate) fn reuse(&self) -> bool {
        self.reuse
    }

    /// The counters.
    pub(crate) fn stats(&self) -> OracleStats {
        self.stats
    }

    /// The kept solver for `problem`'s structure (`true`: reused), or a new one from `build`,
    /// with the counters (to add iterations or one-off set-ups).
    pub(crate) fn get_or_build(
        &mut self,
        problem: &ConicProblem,
        build: impl FnOnce() -> Result<S, SolveError>,
    ) -> Result<(&mut S, &mut OracleStats, bool), SolveError> {
        self.clock += 1;
        self.stats.solves += 1;
        let found = self
            .reuse
            .then(|| {
                self.slots.iter().position(|s| {
                    let same = |kept: &CscMatrix, given: &CscMatrix| {
                        if self.match_values {
                            kept == given
                        } else {
                            kept.same_pattern(given)
                        }
                    };
                    let p = match (&s.p, problem.p()) {
                        (None, None) => true,
                        (Some(kept), Some(given)) => same(kept, given),
                        _ => false,
                    };
                    p && same(&s.a, problem.a()) && s.cones == problem.cones()
                })
            })
            .flatten();
        if let Some(k) = found {
            self.stats.updates += 1;
            self.slots[k].last_used = self.clock;
            return Ok((&mut self.slots[k].solver, &mut self.stats, true));
        }
        let solver = build()?;
        self.stats.setups += 1;
        let slot = Slot {
            a: problem.a().clone(),
            p: problem.p().cloned(),
            cones: problem.cones().to_vec(),
            solver,
            last_used: self.clock,
        };
        let k = if self.slots.len() < self.capacity {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let k = (0..self.slots.len())
                .min_by_key(|&k| self.slots[k].last_used)
                .expect("a full cache is not empty");
            self.slots[k] = slot;
            k
        };
        Ok((&mut self.slots[k].solver, &mut self.stats, false))
    }
}
