//! Sizes the library accepts, checked before anything is allocated.
//!
//! A size that comes with its data (the length of a vector, the column pointers of a matrix) is
//! as large as that data; a size given on its own (`ConicProblem::builder(n)`, a matrix's row
//! count) is checked against [`MAX_DIMENSION`], and every sum or product of sizes is checked for
//! overflow. Allocations whose size the caller chose are made with `try_reserve`, so an absurd
//! request is an error, not an abort.

use crate::error::{Field, InvalidInput};

/// The largest number of rows, columns, variables or stored entries accepted: `2³¹ − 1`, the index
/// range of scipy's int32 sparse matrices, HiGHS and most C solvers.
pub const MAX_DIMENSION: usize = i32::MAX as usize;

fn too_large(field: Field, size: u64) -> InvalidInput {
    InvalidInput::TooLarge {
        field,
        size,
        limit: MAX_DIMENSION as u64,
    }
}

/// `size`, if it is at most [`MAX_DIMENSION`].
pub fn check_dimension(field: Field, size: usize) -> Result<usize, InvalidInput> {
    if size <= MAX_DIMENSION {
        Ok(size)
    } else {
        Err(too_large(field, size as u64))
    }
}

/// The sum of `sizes`, if neither it nor a partial sum exceeds [`MAX_DIMENSION`].
pub fn checked_sum(
    field: Field,
    sizes: impl IntoIterator<Item = usize>,
) -> Result<usize, InvalidInput> {
    let mut total: usize = 0;
    for size in sizes {
        total = total
            .checked_add(size)
            .filter(|&t| t <= MAX_DIMENSION)
            .ok_or_else(|| too_large(field, (total as u64).saturating_add(size as u64)))?;
    }
    Ok(total)
}

/// `a · b`, if it is at most [`MAX_DIMENSION`].
pub fn checked_product(field: Field, a: usize, b: usize) -> Result<usize, InvalidInput> {
    a.checked_mul(b)
        .filter(|&p| p <= MAX_DIMENSION)
        .ok_or_else(|| too_large(field, (a as u64).saturating_mul(b as u64)))
}

/// A vector of `len` copies of `value`, or an error when `len` exceeds [`MAX_DIMENSION`] or the
/// memory cannot be reserved.
pub fn filled_vec<T: Clone>(field: Field, len: usize, value: T) -> Result<Vec<T>, InvalidInput> {
    check_dimension(field, len)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| too_large(field, len as u64))?;
    v.resize(len, value);
    Ok(v)
}
