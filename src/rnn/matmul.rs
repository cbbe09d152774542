//! A bounds-checked front to the `gemm` crate for the small products inside
//! the fused recurrent layers.
//!
//! Candle's own matmul goes through tensors and layouts; inside one recurrent
//! step that bookkeeping costs more than the product itself, so the fused op
//! calls `gemm` directly on slices. Every call checks that the strided views
//! fit inside their slices, so the `unsafe` block below never reads or writes
//! out of bounds.

use gemm::Parallelism;

/// A strided, read-only matrix view over a slice.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major matrix whose rows are `row_stride` apart.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        Self { data, rows, cols, row_stride, col_stride: 1 }
    }

    /// The transpose of a row-major matrix stored with `row_stride` (no copy).
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        // The stored matrix is cols x rows in the caller's orientation.
        Self { data, rows, cols, row_stride: 1, col_stride: row_stride }
    }

    fn fits(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        last < self.data.len()
    }
}

/// `dst[m x n] (rows dst_stride apart) = (accumulate ? dst : 0) + lhs @ rhs`.
///
/// Returns `false` (and writes nothing) if the shapes disagree or a view does
/// not fit its slice; callers size their buffers so this never happens, and
/// turn `false` into an internal error rather than a panic.
#[must_use]
pub fn matmul(dst: &mut [f32], dst_stride: usize, accumulate: bool, lhs: MatRef, rhs: MatRef) -> bool {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k || !lhs.fits() || !rhs.fits() {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if (m - 1) * dst_stride + n > dst.len() {
        return false;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_stride..r * dst_stride + n].fill(0.0);
            }
        }
        return true;
    }
    // SAFETY: all three views were checked to lie inside their slices above,
    // `dst` is borrowed mutably and cannot alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn plain_transposed_and_accumulated_products_match_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut dst = vec![1.0; m * n];
        assert!(matmul(&mut dst, n, false, MatRef::rows(&a, m, k, k), MatRef::rows(&b, k, n, n)));
        for (x, y) in dst.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-5);
        }
        // b stored transposed (n x k) read back as k x n.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut acc = vec![1.0; m * n];
        assert!(matmul(&mut acc, n, true, MatRef::rows(&a, m, k, k), MatRef::transposed(&bt, k, n, k)));
        for (x, y) in acc.iter().zip(&expected) {
            assert!((x - (y + 1.0)).abs() < 1e-5);
        }
    }

    #[test]
    fn views_outside_their_slices_are_refused() {
        let a = vec![0.0; 4];
        let mut dst = vec![0.0; 4];
        assert!(!matmul(&mut dst, 2, false, MatRef::rows(&a, 2, 3, 3), MatRef::rows(&a, 3, 2, 2)));
    }
}
