//! Small dense helpers of the face solves: norms, a dense LU for Schur complements, and moving
//! values between all rows and a face's rows.

use ndarray::Array1;

pub(super) fn norm_of(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `v₀ − ‖v₁..‖`: ≥ 0 inside the second-order cone.
pub(super) fn soc_margin(v: &[f64]) -> f64 {
    v[0] - norm_of(&v[1..])
}

pub(super) fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A small dense LU with partial pivoting (the Schur complement of a bordered solve).
pub(super) struct DenseLu {
    pub(super) lu: Vec<f64>,
    pub(super) pivots: Vec<usize>,
    pub(super) k: usize,
}

impl DenseLu {
    pub(super) fn new(mut lu: Vec<f64>, k: usize) -> Option<Self> {
        let scale = lu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut pivots = Vec::with_capacity(k);
        for col in 0..k {
            let p = (col..k)
                .max_by(|&a, &b| lu[a * k + col].abs().total_cmp(&lu[b * k + col].abs()))?;
            let pivot = lu[p * k + col].abs();
            // (NaN fails too.)
            if pivot.is_nan() || pivot <= 1e-14 * scale {
                return None;
            }
            pivots.push(p);
            if p != col {
                for j in 0..k {
                    lu.swap(p * k + j, col * k + j);
                }
            }
            for i in col + 1..k {
                let f = lu[i * k + col] / lu[col * k + col];
                lu[i * k + col] = f;
                for j in col + 1..k {
                    lu[i * k + j] -= f * lu[col * k + j];
                }
            }
        }
        Some(Self { lu, pivots, k })
    }

    pub(super) fn solve(&self, b: &mut [f64]) {
        let k = self.k;
        for (col, &p) in self.pivots.iter().enumerate() {
            b.swap(col, p);
        }
        for i in 0..k {
            for j in 0..i {
                b[i] -= self.lu[i * k + j] * b[j];
            }
        }
        for i in (0..k).rev() {
            for j in i + 1..k {
                b[i] -= self.lu[i * k + j] * b[j];
            }
            b[i] /= self.lu[i * k + i];
        }
    }
}

/// The rows a factor on `rows` must add, and the positions in `rows` it must remove, to hold
/// `tight` (both sorted).
pub(super) fn border(rows: &[usize], tight: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let added = tight
        .iter()
        .copied()
        .filter(|r| rows.binary_search(r).is_err())
        .collect();
    let removed = (0..rows.len())
        .filter(|&e| tight.binary_search(&rows[e]).is_err())
        .collect();
    (added, removed)
}

/// A dual vector of length `m` holding `values[e]` on row `rows[e]`, zero elsewhere.
pub(super) fn scatter(m: usize, rows: &[usize], values: &[f64]) -> Array1<f64> {
    let mut y = Array1::zeros(m);
    for (&r, &v) in rows.iter().zip(values) {
        y[r] = v;
    }
    y
}

/// `values` restricted to `rows`.
pub(super) fn gather(values: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&r| values[r]).collect()
}
