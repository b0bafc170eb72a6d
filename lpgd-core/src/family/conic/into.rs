//! What the builder takes as a block or a vector: sparse or dense matrices, arrays, slices.

use crate::csc::CscMatrix;
use crate::error::InvalidInput;
use ndarray::{Array1, Array2, ArrayView2};

/// Something that can serve as a constraint block: a [`CscMatrix`] or a dense matrix.
pub trait IntoCsc {
    /// The sparse form.
    fn into_csc(self) -> Result<CscMatrix, InvalidInput>;
}

impl IntoCsc for CscMatrix {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        Ok(self)
    }
}
impl IntoCsc for &CscMatrix {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        Ok(self.clone())
    }
}
impl IntoCsc for ArrayView2<'_, f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self)
    }
}
impl IntoCsc for &Array2<f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self.view())
    }
}
impl IntoCsc for Array2<f64> {
    fn into_csc(self) -> Result<CscMatrix, InvalidInput> {
        CscMatrix::from_dense(self.view())
    }
}

/// Something that can serve as a vector argument of the builder: an owned or borrowed
/// [`Array1`], a `Vec`, a slice or an array of `f64`, so every builder method takes the same kinds.
pub trait IntoVector {
    /// The owned vector.
    fn into_vector(self) -> Array1<f64>;
}

impl IntoVector for Array1<f64> {
    fn into_vector(self) -> Array1<f64> {
        self
    }
}
impl IntoVector for &Array1<f64> {
    fn into_vector(self) -> Array1<f64> {
        self.clone()
    }
}
impl IntoVector for Vec<f64> {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self)
    }
}
impl IntoVector for &Vec<f64> {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.clone())
    }
}
impl IntoVector for &[f64] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
    }
}
impl<const N: usize> IntoVector for [f64; N] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
    }
}
impl<const N: usize> IntoVector for &[f64; N] {
    fn into_vector(self) -> Array1<f64> {
        Array1::from(self.to_vec())
    }
}
