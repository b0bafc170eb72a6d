//! Named parameters of a built problem: where each sits in the data, and the LPGD gradients and
//! data values by name.

use super::{ConicGradient, ConicProblem};
use crate::error::InvalidInput;
use std::collections::BTreeMap;

/// Where a named parameter sits in the assembled problem's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// `c[j]`.
    C(usize),
    /// `b[i]`.
    B(usize),
    /// The `k`-th stored value of A (CSC order).
    A(usize),
    /// The `k`-th stored value of P (upper triangle, CSC order).
    P(usize),
}

/// The named parameters of a problem built with [`ConicBuilder::build_with_parameters`]: LPGD
/// gradients and data values by name. A name given to several entries is one shared parameter
/// (its gradient is the sum over them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters {
    /// Name, where the data entry sits, and the scale (data entry = scale × parameter).
    pub(super) entries: Vec<(String, Location, f64)>,
}

impl Parameters {
    /// Each named entry, where it sits and its scale (data entry = scale × parameter), in the
    /// order they were named.
    pub fn locations(&self) -> &[(String, Location, f64)] {
        &self.entries
    }

    /// The gradient with respect to each named parameter.
    pub fn gradients(&self, g: &ConicGradient) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (name, at, scale) in &self.entries {
            let v = match *at {
                Location::C(j) => g.dc[j],
                Location::B(i) => g.db[i],
                Location::A(k) => g.da[k],
                Location::P(k) => g.dp.as_ref().map_or(0.0, |dp| dp[k]),
            };
            *out.entry(name.clone()).or_insert(0.0) += scale * v;
        }
        out
    }

    /// Each named parameter's value in `problem` (the first of its entries).
    pub fn values(&self, problem: &ConicProblem) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (name, at, scale) in &self.entries {
            let v = match *at {
                Location::C(j) => problem.c()[j],
                Location::B(i) => problem.b()[i],
                Location::A(k) => problem.a().values()[k],
                Location::P(k) => problem.p().map_or(0.0, |p| p.values()[k]),
            };
            out.entry(name.clone()).or_insert(v / scale);
        }
        out
    }

    /// `problem` with the named parameters set to `values` (names not given keep their value;
    /// a name this map does not know is an error).
    pub fn apply(
        &self,
        problem: &ConicProblem,
        values: &BTreeMap<String, f64>,
    ) -> Result<ConicProblem, InvalidInput> {
        if let Some((k, _)) = values
            .keys()
            .enumerate()
            .find(|(_, name)| !self.entries.iter().any(|(n, _, _)| n == *name))
        {
            return Err(InvalidInput::Value {
                field: "parameter values",
                index: k,
                reason: "names no parameter of this problem",
            });
        }
        let (mut c, mut b) = (problem.c().clone(), problem.b().clone());
        let mut a = problem.a().values().to_vec();
        let mut p = problem.p().map(|p| p.values().to_vec());
        for (name, at, scale) in &self.entries {
            let Some(v) = values.get(name).map(|v| v * scale) else {
                continue;
            };
            match *at {
                Location::C(j) => c[j] = v,
                Location::B(i) => b[i] = v,
                Location::A(k) => a[k] = v,
                Location::P(k) => {
                    if let Some(p) = p.as_mut() {
                        p[k] = v;
                    }
                }
            }
        }
        let moved = problem.with_c(c)?.with_b(b)?.with_a_values(&a)?;
        match p {
            Some(p) => moved.with_p_values(&p),
            None => Ok(moved),
        }
    }
}
