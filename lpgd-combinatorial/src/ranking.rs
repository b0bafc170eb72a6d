//! Ranking (argmin over the permutations of a rank vector) and top-k selection.

use lpgd_core::{InvalidInput, SolveError};
use ndarray::Array1;

/// Indices sorted by cost, ties by index (deterministic).
fn by_cost(w: &Array1<f64>) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..w.len()).collect();
    idx.sort_by(|&a, &b| w[a].total_cmp(&w[b]).then(a.cmp(&b)));
    idx
}

fn check_len(found: usize, expected: usize) -> Result<(), SolveError> {
    if found == expected {
        Ok(())
    } else {
        Err(InvalidInput::Length {
            field: "w",
            expected,
            found,
        }
        .into())
    }
}

/// Ranking: `y(w) = argmin ⟨w, y⟩` over the permutations of the ranks `(1, 2, …, n)`. The item
/// with the largest cost gets rank 1, the cheapest rank n (rearrangement inequality).
///
/// ```
/// use lpgd_combinatorial::ranking::Ranking;
/// use lpgd_core::{CombinatorialProblem, Oracle};
/// use ndarray::array;
/// let y = Ranking::new(3).solve(&CombinatorialProblem::new(array![0.2, 0.9, -1.0])?, None)?;
/// assert_eq!(y, array![2.0, 1.0, 3.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Ranking {
    n: usize,
}

impl Ranking {
    /// Ranking of `n` items.
    pub fn new(n: usize) -> Self {
        Self { n }
    }
}

finite_set_oracle!(Ranking, |ranking, problem| {
    check_len(problem.dim(), ranking.n)?;
    let mut y = Array1::zeros(ranking.n);
    // Cheapest first gets the largest rank.
    for (k, &i) in by_cost(problem.cost()).iter().enumerate() {
        y[i] = (ranking.n - k) as f64;
    }
    Ok(y)
});

/// Top-k selection: `y(w) = argmin ⟨w, y⟩` over `y ∈ {0,1}ⁿ` with exactly `k` ones — the `k`
/// cheapest items (ties to the lower index).
#[derive(Debug, Clone, Copy)]
pub struct TopK {
    n: usize,
    k: usize,
}

impl TopK {
    /// Select `k` of `n` items (`k ≤ n`).
    pub fn new(n: usize, k: usize) -> Result<Self, InvalidInput> {
        if k > n {
            return Err(InvalidInput::Value {
                field: "k",
                index: 0,
                reason: "must not exceed n",
            });
        }
        Ok(Self { n, k })
    }
}

finite_set_oracle!(TopK, |top_k, problem| {
    check_len(problem.dim(), top_k.n)?;
    let mut y = Array1::zeros(top_k.n);
    for &i in by_cost(problem.cost()).iter().take(top_k.k) {
        y[i] = 1.0;
    }
    Ok(y)
});

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};
    use rand::{Rng, SeedableRng};

    fn permutations(v: Vec<f64>) -> Vec<Vec<f64>> {
        if v.len() <= 1 {
            return vec![v];
        }
        let mut out = Vec::new();
        for i in 0..v.len() {
            let mut rest = v.clone();
            let x = rest.remove(i);
            for mut p in permutations(rest) {
                p.insert(0, x);
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn ranking_and_top_k_match_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in 1..=6 {
            let all = permutations((1..=n).map(|r| r as f64).collect());
            for _ in 0..20 {
                let w: Array1<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
                let p = CombinatorialProblem::new(w.clone()).unwrap();
                let y = Ranking::new(n).solve(&p, None).unwrap();
                let best = all
                    .iter()
                    .map(|r| w.dot(&Array1::from(r.clone())))
                    .fold(f64::INFINITY, f64::min);
                assert!((w.dot(&y) - best).abs() < 1e-12);
                for k in 0..=n {
                    let y = TopK::new(n, k).unwrap().solve(&p, None).unwrap();
                    assert_eq!(y.sum() as usize, k);
                    let mut best = f64::INFINITY;
                    for mask in 0u32..(1 << n) {
                        if mask.count_ones() as usize == k {
                            best = best
                                .min((0..n).filter(|&i| (mask >> i) & 1 == 1).map(|i| w[i]).sum());
                        }
                    }
                    assert!((w.dot(&y) - best).abs() < 1e-12);
                }
            }
        }
        assert!(TopK::new(2, 3).is_err());
    }
}
