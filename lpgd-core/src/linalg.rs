//! Small dense linear algebra the core needs without a BLAS: eigenvalues of symmetric matrices
//! (PSD cone membership in verification). A leaf module.

/// Eigenvalues and eigenvectors of the symmetric `k × k` matrix `a` (row-major, `k²` entries) by
/// cyclic Jacobi rotations: `(values, vectors)` with the eigenvectors as the *columns* of the
/// row-major `vectors`. Accurate to rounding for the small matrices of cone blocks; `O(k³)` per
/// sweep, at most 100 sweeps.
///
/// ```
/// let (values, _) = lpgd_core::linalg::symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
/// let mut v = values.clone();
/// v.sort_by(f64::total_cmp);
/// assert!((v[0] - 1.0).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
/// ```
pub fn symmetric_eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    let total: f64 = m.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * k + j] * m[i * k + j])
            .sum();
        if off.is_nan() || off <= 1e-30 * total {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = m[p * k + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * k + q] - m[p * k + p]) / (2.0 * apq);
                let t = if theta == 0.0 {
                    1.0
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (x, y) = (m[r * k + p], m[r * k + q]);
                    m[r * k + p] = c * x - s * y;
                    m[r * k + q] = s * x + c * y;
                }
                for r in 0..k {
                    let (x, y) = (m[p * k + r], m[q * k + r]);
                    m[p * k + r] = c * x - s * y;
                    m[q * k + r] = s * x + c * y;
                }
                for r in 0..k {
                    let (x, y) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * x - s * y;
                    v[r * k + q] = s * x + c * y;
                }
            }
        }
    }
    ((0..k).map(|i| m[i * k + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_decomposition_reconstructs_the_matrix() {
        let a = [4.0, 1.0, -2.0, 1.0, 3.0, 0.5, -2.0, 0.5, 1.0];
        let (w, v) = symmetric_eigen(&a, 3);
        for i in 0..3 {
            for j in 0..3 {
                let back: f64 = (0..3).map(|l| v[i * 3 + l] * w[l] * v[j * 3 + l]).sum();
                assert!((back - a[i * 3 + j]).abs() < 1e-12, "{i}{j}");
            }
        }
        assert!((w.iter().sum::<f64>() - 8.0).abs() < 1e-12); // the trace
    }
}
