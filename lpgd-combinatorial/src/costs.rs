//! Costs that exact searches can add up without overflowing.
//!
//! The oracles add up to `terms` costs (a path, a tour, a selection) and compare sums. Finite costs
//! near `f64::MAX` overflow those sums to infinity, and ∞ − ∞ is NaN. An argmin is unchanged when
//! every cost is multiplied by the same power of two, and such a product is exact (no rounding), so
//! every sum and comparison the search makes is the scaled image of the unscaled one: the answer is
//! the same as in exact arithmetic on the original costs, without overflow.

use lpgd_core::{InvalidInput, SolveError};
use std::borrow::Cow;

/// Sums of up to this magnitude are safe to add and subtract a few times more.
const SAFE_SUM: f64 = 1e300;

/// `w`, or `w · 2⁻ᵏ` with the smallest `k` for which `terms` costs add up to at most 1e300 in
/// magnitude. A length other than `len` is [`InvalidInput::Length`] and a non-finite cost
/// [`InvalidInput::NonFinite`] (for the entry points that take a slice rather than a validated
/// problem).
pub(crate) fn summable(w: &[f64], len: usize, terms: usize) -> Result<Cow<'_, [f64]>, SolveError> {
    if w.len() != len {
        return Err(InvalidInput::Length {
            field: "w",
            expected: len,
            found: w.len(),
        }
        .into());
    }
    if let Some(index) = w.iter().position(|v| !v.is_finite()) {
        return Err(InvalidInput::NonFinite {
            field: "w",
            index,
            value: w[index],
        }
        .into());
    }
    let largest = w.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let bound = largest * (terms.max(1) as f64);
    if bound <= SAFE_SUM {
        return Ok(Cow::Borrowed(w));
    }
    // bound ≤ f64::MAX · 2⁶⁴ for any realistic term count; one halving step per binary order.
    let mut scale = 1.0_f64;
    let mut scaled_bound = bound;
    while scaled_bound > SAFE_SUM {
        scale *= 0.5;
        scaled_bound = largest * scale * (terms.max(1) as f64);
    }
    Ok(Cow::Owned(w.iter().map(|v| v * scale).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_costs_are_untouched_and_huge_ones_scaled_by_a_power_of_two() {
        let w = [1.0, -2.5, 3.0];
        assert!(matches!(summable(&w, 3, 3).unwrap(), Cow::Borrowed(_)));
        assert!(summable(&w, 2, 3).is_err());
        let huge = [1e308, -1e308, 3.0];
        let s = summable(&huge, 3, 10).unwrap();
        assert!(s.iter().map(|v| v.abs()).sum::<f64>() * 10.0 <= 1e301);
        // Exact: the ratios are unchanged bit for bit.
        assert_eq!(s[0] / s[2], huge[0] / huge[2]);
        assert!(summable(&[f64::NAN], 1, 1).is_err());
    }
}
