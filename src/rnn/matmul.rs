//! Matrix products for the fused recurrent layers, on slices.
//!
//! Candle's own matmul goes through tensors and layouts; inside one recurrent
//! step that bookkeeping costs more than the product itself. `matmul` is a
//! bounds-checked front to the `gemm` crate for the large products (weight
//! gradients over all steps); `matmul_packed` is an AVX2 kernel for the small
//! per-step products against weights packed once per layer call (the `gemm`
//! crate re-packs its right-hand side on every call, which in a 140-step
//! recurrence cost as much as the arithmetic). Every call checks that its
//! views fit inside their slices, so the `unsafe` blocks never read or write
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

/// Columns per panel of a [`PackedPanels`] matrix: two AVX registers.
const PANEL: usize = 16;

/// One panel row: 16 floats on their own 64-byte cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct PanelRow([f32; PANEL]);

/// A right-hand matrix (`k x n`) packed once into 16-column panels, each
/// panel `k` consecutive 64-byte rows, the last panel padded with zeros.
///
/// The recurrent weights are the same matrix at every step of a layer; packed
/// once per layer call, every step's product reads each panel as one aligned,
/// sequential stream instead of 16-float pieces 1.4 KiB apart (the stride of
/// the row-major weights), and needs no masked loads for a partial panel.
pub struct PackedPanels {
    rows: Vec<PanelRow>,
    k: usize,
    n: usize,
}

impl PackedPanels {
    /// Packs the row-major `k x n` matrix `b` whose rows are `ldb` apart.
    /// `None` if the view does not fit `b`.
    pub fn from_rows(b: &[f32], ldb: usize, k: usize, n: usize) -> Option<Self> {
        if k > 0 && n > 0 && (n > ldb || (k - 1) * ldb + n > b.len()) {
            return None;
        }
        let panels = n.div_ceil(PANEL);
        let mut rows = vec![PanelRow([0.0; PANEL]); panels * k];
        for p in 0..panels {
            let (c0, width) = (p * PANEL, PANEL.min(n - p * PANEL));
            for r in 0..k {
                rows[p * k + r].0[..width].copy_from_slice(&b[r * ldb + c0..r * ldb + c0 + width]);
            }
        }
        Some(Self { rows, k, n })
    }

    /// Row `r` (within the depth `k`) of panel `p`.
    fn panel_row(&self, p: usize, r: usize) -> &[f32; PANEL] {
        &self.rows[p * self.k + r].0
    }
}

/// `dst[m x n] = (accumulate ? dst : 0) + a[m x k] @ b`, `b` packed, `a`
/// row-major with rows `lda` apart: the per-step product of the recurrence.
///
/// Returns `false` (and writes nothing) if a view does not fit its slice.
#[must_use]
pub fn matmul_packed(dst: &mut [f32], ldd: usize, accumulate: bool, a: &[f32], lda: usize, m: usize, b: &PackedPanels) -> bool {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return true;
    }
    let fits = (m - 1) * ldd + n <= dst.len() && n <= ldd && (k == 0 || (k <= lda && (m - 1) * lda + k <= a.len()));
    if !fits {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if k > 0 && super::simd_kernels_in_use() {
            // SAFETY: the CPU has AVX2+FMA, `a` and `dst` were bounds-checked
            // above and `b` holds `k` rows for each of its panels.
            unsafe { avx::matmul_packed(dst, ldd, accumulate, a, lda, m, b) };
            return true;
        }
    }
    for row in 0..m {
        let out = &mut dst[row * ldd..row * ldd + n];
        if !accumulate {
            out.fill(0.0);
        }
        let a_row = &a[row * lda..row * lda + k];
        for (p, block) in out.chunks_mut(PANEL).enumerate() {
            let mut acc = [0.0f32; PANEL];
            for (r, &av) in a_row.iter().enumerate() {
                for (c, &bv) in acc.iter_mut().zip(b.panel_row(p, r)) {
                    *c += av * bv;
                }
            }
            for (o, v) in block.iter_mut().zip(acc) {
                *o += v;
            }
        }
    }
    true
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    const ROWS: usize = 6;

    /// Depth of one pass over `k`: a 6 x 128 block of `a` and a 128 x 16
    /// panel of `b` (3 KiB + 8 KiB) stay in L1 together.
    const KC: usize = 128;

    /// `matmul_packed` on AVX2: for each 16-column panel, row blocks of 6
    /// pass over the panel while it stays in L1 (depth blocks of `KC`).
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul_packed(dst: &mut [f32], ldd: usize, acc: bool, a: &[f32], lda: usize, m: usize, b: &super::PackedPanels) {
        let (k, n) = (b.k, b.n);
        let (ap, dp) = (a.as_ptr(), dst.as_mut_ptr());
        let bp = b.rows.as_ptr() as *const f32;
        for p in 0..n.div_ceil(super::PANEL) {
            let col = p * super::PANEL;
            let width = (n - col).min(super::PANEL);
            let (m0, m1) = (lane_mask(width.min(8)), lane_mask(width.saturating_sub(8)));
            let panel = bp.add(p * k * super::PANEL);
            let mut k0 = 0;
            while k0 < k {
                let kc = KC.min(k - k0);
                let acc = acc || k0 > 0;
                let mut row = 0;
                while row < m {
                    let r = ROWS.min(m - row);
                    let (a0, b0, d0) = (ap.add(row * lda + k0), panel.add(k0 * super::PANEL), dp.add(row * ldd + col));
                    match r {
                        6 => packed16::<6>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                        5 => packed16::<5>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                        4 => packed16::<4>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                        3 => packed16::<3>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                        2 => packed16::<2>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                        _ => packed16::<1>(a0, lda, b0, kc, d0, ldd, acc, width, m0, m1),
                    }
                    row += r;
                }
                k0 += kc;
            }
        }
    }

    /// One `R x 16` block against a packed panel; a partial panel (`width`
    /// < 16) loads and stores only its first `width` columns of `d`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn packed16<const R: usize>(
        a: *const f32,
        lda: usize,
        b: *const f32,
        k: usize,
        d: *mut f32,
        ldd: usize,
        acc: bool,
        width: usize,
        m0: __m256i,
        m1: __m256i,
    ) {
        let full = width == 16;
        let mut c0 = [_mm256_setzero_ps(); R];
        let mut c1 = [_mm256_setzero_ps(); R];
        if acc {
            for r in 0..R {
                if full {
                    c0[r] = _mm256_loadu_ps(d.add(r * ldd));
                    c1[r] = _mm256_loadu_ps(d.add(r * ldd + 8));
                } else {
                    c0[r] = _mm256_maskload_ps(d.add(r * ldd), m0);
                    c1[r] = _mm256_maskload_ps(d.add(r * ldd + 8), m1);
                }
            }
        }
        for p in 0..k {
            let b0 = _mm256_load_ps(b.add(p * 16));
            let b1 = _mm256_load_ps(b.add(p * 16 + 8));
            for r in 0..R {
                let av = _mm256_set1_ps(*a.add(r * lda + p));
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
            }
        }
        for r in 0..R {
            if full {
                _mm256_storeu_ps(d.add(r * ldd), c0[r]);
                _mm256_storeu_ps(d.add(r * ldd + 8), c1[r]);
            } else {
                _mm256_maskstore_ps(d.add(r * ldd), m0, c0[r]);
                _mm256_maskstore_ps(d.add(r * ldd + 8), m1, c1[r]);
            }
        }
    }

    /// A lane mask with the first `lanes` (0..=8) lanes on.
    #[inline(always)]
    unsafe fn lane_mask(lanes: usize) -> __m256i {
        static ONES_THEN_ZEROS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
        _mm256_loadu_si256(ONES_THEN_ZEROS.as_ptr().add(8 - lanes) as *const __m256i)
    }
}

#[cfg(test)]
mod packed_tests {
    use super::*;

    #[test]
    fn packed_kernel_matches_naive_on_awkward_shapes() {
        for &(m, k, n) in &[(1, 1, 1), (7, 13, 37), (16, 91, 360), (13, 360, 90), (6, 5, 16), (3, 4, 8), (5, 300, 23), (2, 0, 5)] {
            let ldb = n + 3;
            let lda = k + 2;
            let a: Vec<f32> = (0..m * lda).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1).collect();
            let b: Vec<f32> = (0..k * ldb).map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.1).collect();
            let packed = PackedPanels::from_rows(&b, ldb, k, n).expect("fits");
            for accumulate in [false, true] {
                let ldd = n + 1;
                let mut dst = vec![0.5f32; m * ldd];
                assert!(matmul_packed(&mut dst, ldd, accumulate, &a, lda, m, &packed));
                for i in 0..m {
                    for j in 0..ldd {
                        let got = dst[i * ldd + j];
                        if j >= n {
                            assert_eq!(got, 0.5, "{m}x{k}x{n}: column {j} past n was written");
                            continue;
                        }
                        let exact: f32 = (0..k).map(|p| a[i * lda + p] * b[p * ldb + j]).sum::<f32>() + if accumulate { 0.5 } else { 0.0 };
                        assert!((got - exact).abs() < 1e-4, "{m}x{k}x{n} at {i},{j}: {got} vs {exact}");
                    }
                }
            }
        }
    }

    #[test]
    fn packing_and_packed_products_refuse_views_outside_slices() {
        assert!(PackedPanels::from_rows(&[0.0; 5], 3, 2, 3).is_none());
        let packed = PackedPanels::from_rows(&[0.0; 6], 3, 2, 3).expect("fits");
        let mut dst = vec![0.0; 6];
        assert!(!matmul_packed(&mut dst, 3, false, &[0.0; 3], 2, 2, &packed));
        assert!(!matmul_packed(&mut dst[..5], 3, false, &[0.0; 4], 2, 2, &packed));
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
                assert!(super::matmul(&mut d, n, true, super::MatRef::rows(&a, m, k, k), super::MatRef::rows(&b, k, n, n)));
            }
            let g2 = 2.0 * (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;
            let packed = super::PackedPanels::from_rows(&b, n, k, n).expect("fits");
            let t = std::time::Instant::now();
            for _ in 0..reps {
                assert!(super::matmul_packed(&mut d, n, true, &a, k, m, &packed));
            }
            let g3 = 2.0 * (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;
            println!("{m}x{k}x{n}: packed kernel {g3:.1} GFLOP/s, gemm crate {g2:.1} GFLOP/s");
        }
    }
}
