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

/// `dst[m x n] = (accumulate ? dst : 0) + a[m x k] @ b[k x n]` for the small
/// per-step products of the recurrence, where `a` and `b` are row-major
/// (rows `lda` and `ldb` apart).
///
/// The `gemm` crate re-packs `b` (the recurrent weights) on every call; in a
/// 140-step recurrence that packing cost as much as the arithmetic. `b` is
/// already row-major here, so an AVX2 kernel can stream it as it is: each
/// 16-column panel of `b` stays in L1 while every row block of `a` passes
/// over it. Falls back to `gemm` without AVX2/FMA.
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn matmul_rowmajor(
    dst: &mut [f32],
    ldd: usize,
    accumulate: bool,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    (m, k, n): (usize, usize, usize),
) -> bool {
    if m == 0 || n == 0 {
        return true;
    }
    let fits = (m - 1) * ldd + n <= dst.len()
        && (k == 0 || ((m - 1) * lda + k <= a.len() && (k - 1) * ldb + n <= b.len()))
        && n <= ldd
        && k <= lda
        && n <= ldb;
    if !fits {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if k > 0 && std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2+FMA and every view was bounds-checked above.
            unsafe { avx::matmul(dst, ldd, accumulate, a, lda, b, ldb, m, k, n) };
            return true;
        }
    }
    matmul(dst, ldd, accumulate, MatRef::rows(a, m, k, lda), MatRef::rows(b, k, n, ldb))
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    const ROWS: usize = 6;

    /// Depth of one pass over `k`: a 6 x 128 block of `a` and a 128 x 16
    /// panel of `b` (3 KiB + 8 KiB) stay in L1 together.
    const KC: usize = 128;

    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul(dst: &mut [f32], ldd: usize, acc: bool, a: &[f32], lda: usize, b: &[f32], ldb: usize, m: usize, k: usize, n: usize) {
        let (ap, bp, dp) = (a.as_ptr(), b.as_ptr(), dst.as_mut_ptr());
        let mut k0 = 0;
        while k0 < k {
            let kc = KC.min(k - k0);
            // Later depth blocks add to what the earlier ones wrote.
            let acc = acc || k0 > 0;
            let (ak, bk) = (ap.add(k0), bp.add(k0 * ldb));
            let mut col = 0;
            while col < n {
                let width = (n - col).min(16);
                let mut row = 0;
                while row < m {
                    let r = ROWS.min(m - row);
                    let (a0, b0, d0) = (ak.add(row * lda), bk.add(col), dp.add(row * ldd + col));
                    if width == 16 {
                        match r {
                            6 => panel16::<6>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                            5 => panel16::<5>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                            4 => panel16::<4>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                            3 => panel16::<3>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                            2 => panel16::<2>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                            _ => panel16::<1>(a0, lda, b0, ldb, kc, d0, ldd, acc),
                        }
                    } else {
                        // 1..=15 columns left: one or two 8-wide panels, the
                        // last one masked so nothing past `n` is touched.
                        let first = width.min(8);
                        panel8_rows(r, a0, lda, b0, ldb, kc, d0, ldd, acc, lane_mask(first));
                        if width > 8 {
                            panel8_rows(r, a0, lda, b0.add(8), ldb, kc, d0.add(8), ldd, acc, lane_mask(width - 8));
                        }
                    }
                    row += r;
                }
                col += width;
            }
            k0 += kc;
        }
    }

    /// `panel8` for a block of `r` (1..=6) rows.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel8_rows(r: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, k: usize, d: *mut f32, ldd: usize, acc: bool, mask: __m256i) {
        match r {
            6 => panel8::<6>(a, lda, b, ldb, k, d, ldd, acc, mask),
            5 => panel8::<5>(a, lda, b, ldb, k, d, ldd, acc, mask),
            4 => panel8::<4>(a, lda, b, ldb, k, d, ldd, acc, mask),
            3 => panel8::<3>(a, lda, b, ldb, k, d, ldd, acc, mask),
            2 => panel8::<2>(a, lda, b, ldb, k, d, ldd, acc, mask),
            _ => panel8::<1>(a, lda, b, ldb, k, d, ldd, acc, mask),
        }
    }

    /// A lane mask with the first `lanes` (1..=8) lanes on.
    #[inline(always)]
    unsafe fn lane_mask(lanes: usize) -> __m256i {
        static ONES_THEN_ZEROS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
        _mm256_loadu_si256(ONES_THEN_ZEROS.as_ptr().add(8 - lanes) as *const __m256i)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel16<const R: usize>(a: *const f32, lda: usize, b: *const f32, ldb: usize, k: usize, d: *mut f32, ldd: usize, acc: bool) {
        let mut c0 = [_mm256_setzero_ps(); R];
        let mut c1 = [_mm256_setzero_ps(); R];
        if acc {
            for r in 0..R {
                c0[r] = _mm256_loadu_ps(d.add(r * ldd));
                c1[r] = _mm256_loadu_ps(d.add(r * ldd + 8));
            }
        }
        for p in 0..k {
            let b0 = _mm256_loadu_ps(b.add(p * ldb));
            let b1 = _mm256_loadu_ps(b.add(p * ldb + 8));
            for r in 0..R {
                let av = _mm256_set1_ps(*a.add(r * lda + p));
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
            }
        }
        for r in 0..R {
            _mm256_storeu_ps(d.add(r * ldd), c0[r]);
            _mm256_storeu_ps(d.add(r * ldd + 8), c1[r]);
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel8<const R: usize>(a: *const f32, lda: usize, b: *const f32, ldb: usize, k: usize, d: *mut f32, ldd: usize, acc: bool, mask: __m256i) {
        let mut c0 = [_mm256_setzero_ps(); R];
        if acc {
            for r in 0..R {
                c0[r] = _mm256_maskload_ps(d.add(r * ldd), mask);
            }
        }
        for p in 0..k {
            let b0 = _mm256_maskload_ps(b.add(p * ldb), mask);
            for r in 0..R {
                let av = _mm256_set1_ps(*a.add(r * lda + p));
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            }
        }
        for r in 0..R {
            _mm256_maskstore_ps(d.add(r * ldd), mask, c0[r]);
        }
    }
}

#[cfg(test)]
mod rowmajor_tests {
    use super::*;

    #[test]
    fn rowmajor_kernel_matches_naive_on_awkward_shapes() {
        for &(m, k, n) in &[(1, 1, 1), (7, 13, 37), (16, 90, 360), (13, 360, 90), (6, 5, 16), (3, 4, 8), (5, 3, 23)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.1).collect();
            for accumulate in [false, true] {
                let mut dst = vec![0.5f32; m * n];
                assert!(matmul_rowmajor(&mut dst, n, accumulate, &a, k, &b, n, (m, k, n)));
                for i in 0..m {
                    for j in 0..n {
                        let exact: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>() + if accumulate { 0.5 } else { 0.0 };
                        assert!((dst[i * n + j] - exact).abs() < 1e-4, "{m}x{k}x{n} at {i},{j}");
                    }
                }
            }
        }
    }

    #[test]
    fn rowmajor_refuses_views_outside_slices() {
        let mut dst = vec![0.0; 4];
        assert!(!matmul_rowmajor(&mut dst, 2, false, &[0.0; 3], 2, &[0.0; 4], 2, (2, 2, 2)));
    }
}

#[cfg(test)]
mod speed_probe {
    /// Not a test of correctness: prints the kernel's speed at the training
    /// shapes. `cargo test --release --lib speed_probe -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn step_kernel_gflops() {
        for &(m, k, n) in &[(16, 90, 360), (16, 360, 90), (32, 90, 360), (64, 90, 360)] {
            let a = vec![0.5f32; m * k];
            let b = vec![0.25f32; k * n];
            let mut d = vec![0.0f32; m * n];
            let reps = 20000;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                assert!(super::matmul_rowmajor(&mut d, n, true, &a, k, &b, n, (m, k, n)));
            }
            let s = t.elapsed().as_secs_f64();
            let g = 2.0 * (m * k * n * reps) as f64 / s / 1e9;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                assert!(super::matmul(&mut d, n, true, super::MatRef::rows(&a, m, k, k), super::MatRef::rows(&b, k, n, n)));
            }
            let g2 = 2.0 * (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;
            println!("{m}x{k}x{n}: rowmajor kernel {g:.1} GFLOP/s, gemm crate {g2:.1} GFLOP/s");
        }
    }
}
