//! Constructors from the LP and OSQP forms, and the map from bound rows to conic rows.

use super::{ConicProblem, IntoVector};
use crate::csc::CscMatrix;
use crate::error::{check_len, InvalidInput};
use ndarray::{Array1, ArrayView2};

impl ConicProblem {
    /// The LP `min cᵀx s.t. A_eq x = b_eq, G x ≤ h, lo ≤ x ≤ hi` (infinite bounds are left out).
    ///
    /// ```
    /// use lpgd_core::ConicProblem;
    /// use lpgd_core::ndarray::{array, Array2};
    /// let inf = f64::INFINITY;
    /// // min x₀ + 2x₁ s.t. x₀ + x₁ = 1, x ≥ 0
    /// let lp = ConicProblem::lp(
    ///     array![1.0, 2.0],
    ///     array![[1.0, 1.0]].view(),
    ///     array![1.0],
    ///     Array2::zeros((0, 2)).view(),
    ///     array![],
    ///     [0.0, 0.0],
    ///     [inf, inf],
    /// )?;
    /// assert_eq!((lp.n(), lp.m()), (2, 3));
    /// # Ok::<(), lpgd_core::InvalidInput>(())
    /// ```
    pub fn lp(
        c: impl IntoVector,
        a_eq: ArrayView2<'_, f64>,
        b_eq: impl IntoVector,
        g: ArrayView2<'_, f64>,
        h: impl IntoVector,
        lo: impl IntoVector,
        hi: impl IntoVector,
    ) -> Result<Self, InvalidInput> {
        let c = c.into_vector();
        Self::builder(c.len())
            .cost(c)
            .equalities(a_eq, b_eq)
            .inequalities(g, h)
            .bounds(lo, hi)
            .build()
    }

    /// The QP `min ½xᵀPx + cᵀx s.t. l ≤ A x ≤ u` (OSQP's form; entries of l and u may be infinite
    /// and rows with `l = u` become equalities). `p_upper` is the upper triangle of P. Returns the
    /// problem and the map from bound rows to conic rows.
    pub fn qp(
        p_upper: Option<CscMatrix>,
        c: Array1<f64>,
        a: &CscMatrix,
        l: &[f64],
        u: &[f64],
    ) -> Result<(Self, RowMap), InvalidInput> {
        let m = a.nrows();
        check_len("l", l.len(), m)?;
        check_len("u", u.len(), m)?;
        let mut eq_rows = Vec::new();
        let mut up_rows = Vec::new();
        let mut lo_rows = Vec::new();
        for i in 0..m {
            if l[i].is_nan() {
                return Err(InvalidInput::NonFinite {
                    field: "l",
                    index: i,
                    value: l[i],
                });
            }
            if u[i].is_nan() {
                return Err(InvalidInput::NonFinite {
                    field: "u",
                    index: i,
                    value: u[i],
                });
            }
            if l[i] > u[i] {
                return Err(InvalidInput::Value {
                    field: "l",
                    index: i,
                    reason: "lower bound above upper bound",
                });
            }
            if l[i] == u[i] {
                if !l[i].is_finite() {
                    return Err(InvalidInput::NonFinite {
                        field: "l",
                        index: i,
                        value: l[i],
                    });
                }
                eq_rows.push(i);
                continue;
            }
            if u[i].is_finite() {
                up_rows.push(i);
            }
            if l[i].is_finite() {
                lo_rows.push(i);
            }
        }
        let pick = |rows: &[usize], sign: f64| -> Result<CscMatrix, InvalidInput> {
            let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
            let position: std::collections::HashMap<usize, usize> =
                rows.iter().enumerate().map(|(k, &r)| (r, k)).collect();
            for (i, j, v) in a.iter() {
                if let Some(&k) = position.get(&i) {
                    ri.push(k);
                    ci.push(j);
                    vi.push(sign * v);
                }
            }
            CscMatrix::from_triplets(rows.len(), a.ncols(), &ri, &ci, &vi)
        };
        let mut builder = Self::builder(a.ncols()).cost(c);
        if let Some(p) = p_upper {
            builder = builder.quadratic(p);
        }
        let problem = builder
            .equalities(
                pick(&eq_rows, 1.0)?,
                eq_rows.iter().map(|&i| u[i]).collect::<Vec<f64>>(),
            )
            .inequalities(
                pick(&up_rows, 1.0)?,
                up_rows.iter().map(|&i| u[i]).collect::<Vec<f64>>(),
            )
            .inequalities(
                pick(&lo_rows, -1.0)?,
                lo_rows.iter().map(|&i| -l[i]).collect::<Vec<f64>>(),
            )
            .build()?;
        let mut map = RowMap {
            upper: vec![None; m],
            lower: vec![None; m],
        };
        for (k, &i) in eq_rows.iter().chain(&up_rows).enumerate() {
            map.upper[i] = Some(k);
        }
        for (k, &i) in lo_rows.iter().enumerate() {
            map.lower[i] = Some(eq_rows.len() + up_rows.len() + k);
        }
        Ok((problem, map))
    }
}

/// Where each row of `l ≤ Ax ≤ u` went in the conic form built by [`ConicProblem::qp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMap {
    /// Conic row of `Aᵢx ≤ uᵢ` (or of the equality when `lᵢ = uᵢ`), if finite.
    pub upper: Vec<Option<usize>>,
    /// Conic row of `−Aᵢx ≤ −lᵢ`, if finite and not an equality.
    pub lower: Vec<Option<usize>>,
}

impl RowMap {
    /// Splits a gradient with respect to the conic `b` into gradients with respect to `l` and `u`
    /// (an equality row's gradient is reported under `u`).
    pub fn bound_gradients(&self, db: &Array1<f64>) -> (Array1<f64>, Array1<f64>) {
        let dl = self
            .lower
            .iter()
            .map(|r| r.map_or(0.0, |k| -db[k]))
            .collect();
        let du = self
            .upper
            .iter()
            .map(|r| r.map_or(0.0, |k| db[k]))
            .collect();
        (dl, du)
    }
}
