//! Batches: many instances, one result per item, in parallel under the `rayon` feature.
//!
//! Solver handles are not `Clone` and some are not `Send`, so a batch takes an oracle *factory*
//! and builds oracles inside the worker threads; no oracle crosses a thread. Each item is solved
//! independently (one failing item never spoils the others), and with backends whose answer does
//! not depend on what they solved before, results do not depend on the number of threads.

use crate::error::{InvalidInput, LpgdError};
use crate::lpgd::{Backward, Jvp, Lpgd};
use crate::oracle::Oracle;
use crate::problem::Problem;
use crate::settings::{Forward, SolveSettings};
#[cfg(feature = "rayon")]
use rayon::prelude::*;

/// The thread pool of `n` workers, built once per count and kept: building a pool per batch costs
/// more than a batch of microsecond solves (combinatorial oracles). None when it cannot be built.
#[cfg(feature = "rayon")]
fn pool(n: usize) -> Option<std::sync::Arc<rayon::ThreadPool>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().ok()?;
    if let Some(p) = pools.get(&n) {
        return Some(Arc::clone(p));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .ok()?,
    );
    pools.insert(n, Arc::clone(&p));
    Some(p)
}

/// Runs `f` on every item with a per-worker oracle made by `make_oracle`, on `threads` workers
/// (`None`: the current rayon pool; one worker: the calling thread, no hand-off), and returns one
/// result per item, in order. The batch methods of [`Lpgd`] run on it; it is public for batches of
/// other work per item (perturbed solves, SPO+) that want the same threading. Answers must not
/// depend on which worker ran an item — oracles whose answers do not depend on what they solved
/// before give the same results on any number of threads.
///
/// ```
/// let squares = lpgd_core::map_batch(Some(2), || (), (1..=4).collect(), |_, i: u32| i * i);
/// assert_eq!(squares, vec![1, 4, 9, 16]);
/// ```
pub fn map_batch<T, R, O, F, G>(
    threads: Option<usize>,
    make_oracle: F,
    items: Vec<T>,
    f: G,
) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn() -> O + Sync + Send,
    G: Fn(&mut O, T) -> R + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        if threads == Some(1) || items.len() <= 1 {
            let mut oracle = make_oracle();
            return items.into_iter().map(|item| f(&mut oracle, item)).collect();
        }
        let run = || {
            items
                .into_par_iter()
                .with_min_len(1)
                .map_init(&make_oracle, |oracle, item| f(oracle, item))
                .collect()
        };
        // Answers do not depend on the number of workers, so a pool that cannot be built (no
        // threads to be had) falls back to the current one.
        match threads.and_then(pool) {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }
    #[cfg(not(feature = "rayon"))]
    {
        let _ = threads;
        let mut oracle = make_oracle();
        items.into_iter().map(|item| f(&mut oracle, item)).collect()
    }
}

fn same_len(a: usize, b: usize) -> Result<(), InvalidInput> {
    if a == b {
        Ok(())
    } else {
        Err(InvalidInput::BatchLength(a, b))
    }
}

impl SolveSettings {
    /// Solves every problem; one result per problem, in order.
    pub fn forward_batch<P, O, F>(
        &self,
        make_oracle: F,
        problems: &[P],
    ) -> Vec<Result<P::Solution, LpgdError>>
    where
        P: Problem + Sync,
        P::Solution: Send,
        O: Oracle<P>,
        F: Fn() -> O + Sync + Send,
    {
        map_batch(
            self.threads(),
            make_oracle,
            problems.iter().collect(),
            |oracle, p| self.forward(oracle, p),
        )
    }

    /// Solves every problem given its guess ([`SolveSettings::forward_from`]; `None`: from scratch); one
    /// result per problem, in order. Each item's answer depends on its problem and its guess
    /// alone, so it does not depend on the thread count or on the order of the items.
    #[allow(clippy::type_complexity)]
    pub fn forward_batch_from<P, O, F>(
        &self,
        make_oracle: F,
        problems: &[P],
        guesses: &[Option<&P::Solution>],
    ) -> Result<Vec<Result<Forward<P::Solution>, LpgdError>>, InvalidInput>
    where
        P: Problem + Sync,
        P::Solution: Send + Sync,
        O: Oracle<P>,
        F: Fn() -> O + Sync + Send,
    {
        same_len(problems.len(), guesses.len())?;
        let items: Vec<_> = problems.iter().zip(guesses.iter().copied()).collect();
        Ok(map_batch(
            self.threads(),
            make_oracle,
            items,
            |oracle, (p, guess)| self.forward_from(oracle, p, guess),
        ))
    }
}

impl Lpgd {
    /// Backward pass for every item; one result per item, in order. The slices must have equal
    /// lengths (problem `i`, its forward solution `i`, its incoming gradient `i`).
    #[allow(clippy::type_complexity)]
    pub fn backward_batch<P, O, F>(
        &self,
        make_oracle: F,
        problems: &[P],
        solutions: &[P::Solution],
        cotangents: &[P::SolutionVector],
    ) -> Result<Vec<Result<Backward<P::DataVector>, LpgdError>>, InvalidInput>
    where
        P: Problem + Sync,
        P::Solution: Sync,
        P::SolutionVector: Sync,
        P::DataVector: Send,
        O: Oracle<P>,
        F: Fn() -> O + Sync + Send,
    {
        same_len(problems.len(), solutions.len())?;
        same_len(problems.len(), cotangents.len())?;
        let items: Vec<_> = problems.iter().zip(solutions).zip(cotangents).collect();
        Ok(map_batch(
            self.threads(),
            make_oracle,
            items,
            |oracle, ((p, z), g)| self.backward(oracle, p, z, g),
        ))
    }

    /// Forward mode for every item; one result per item, in order.
    #[allow(clippy::type_complexity)]
    pub fn jvp_batch<P, O, F>(
        &self,
        make_oracle: F,
        problems: &[P],
        solutions: &[P::Solution],
        tangents: &[P::DataVector],
    ) -> Result<Vec<Result<Jvp<P::SolutionVector>, LpgdError>>, InvalidInput>
    where
        P: Problem + Sync,
        P::Solution: Sync,
        P::DataVector: Sync,
        P::SolutionVector: Send,
        O: Oracle<P>,
        F: Fn() -> O + Sync + Send,
    {
        same_len(problems.len(), solutions.len())?;
        same_len(problems.len(), tangents.len())?;
        let items: Vec<_> = problems.iter().zip(solutions).zip(tangents).collect();
        Ok(map_batch(
            self.threads(),
            make_oracle,
            items,
            |oracle, ((p, z), d)| self.jvp(oracle, p, z, d),
        ))
    }
}
