//! Fast, vectorisable `tanh` and logistic sigmoid for the fused recurrent layers.
//!
//! `f32::tanh` and `f32::exp` call into libm one element at a time; in the LSTM
//! and GRU gate updates they would cost more than the matrix products. The
//! rational approximation below (the same form Eigen uses for `tanh` on
//! floats) has no branches, so the loops over a gate row vectorise, and its
//! error stays below 1e-6 absolute over the whole real line.

const CLAMP: f32 = 7.905_311;
const A1: f32 = 4.893_524_6e-3;
const A3: f32 = 6.372_619_3e-4;
const A5: f32 = 1.485_722_4e-5;
const A7: f32 = 5.122_297e-8;
const A9: f32 = -8.604_672e-11;
const A11: f32 = 2.000_188e-13;
const A13: f32 = -2.760_768_5e-16;
const B0: f32 = 4.893_525_2e-3;
const B2: f32 = 2.268_434_6e-3;
const B4: f32 = 1.185_347_1e-4;
const B6: f32 = 1.198_258_4e-6;

/// Hyperbolic tangent, |error| < 1e-6.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = x2 * A13 + A11;
    p = p * x2 + A9;
    p = p * x2 + A7;
    p = p * x2 + A5;
    p = p * x2 + A3;
    p = p * x2 + A1;
    p *= x;
    let mut q = x2 * B6 + B4;
    q = q * x2 + B2;
    q = q * x2 + B0;
    p / q
}

/// Logistic sigmoid through `tanh`: sigma(x) = (1 + tanh(x / 2)) / 2.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

/// Applies `tanh` to every element in place (8 lanes at a time with FMA
/// where the CPU has AVX2: Rust does not fuse `a * b + c` on its own).
#[inline]
pub fn tanh_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx::available() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { avx::tanh_in_place(values, false) };
        return;
    }
    for v in values.iter_mut() {
        *v = tanh(*v);
    }
}

/// Applies the sigmoid to every element in place.
#[inline]
pub fn sigmoid_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx::available() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { avx::tanh_in_place(values, true) };
        return;
    }
    for v in values.iter_mut() {
        *v = sigmoid(*v);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    use super::*;

    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// `tanh` (or, with `logistic`, the sigmoid through `tanh`) over a slice.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tanh_in_place(values: &mut [f32], logistic: bool) {
        let n = values.len();
        let p = values.as_mut_ptr();
        let (lo, hi) = (_mm256_set1_ps(-CLAMP), _mm256_set1_ps(CLAMP));
        let half = _mm256_set1_ps(0.5);
        let mut i = 0;
        while i + 8 <= n {
            let mut x = _mm256_loadu_ps(p.add(i));
            if logistic {
                x = _mm256_mul_ps(x, half);
            }
            x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
            let x2 = _mm256_mul_ps(x, x);
            let mut num = _mm256_fmadd_ps(x2, _mm256_set1_ps(A13), _mm256_set1_ps(A11));
            num = _mm256_fmadd_ps(num, x2, _mm256_set1_ps(A9));
            num = _mm256_fmadd_ps(num, x2, _mm256_set1_ps(A7));
            num = _mm256_fmadd_ps(num, x2, _mm256_set1_ps(A5));
            num = _mm256_fmadd_ps(num, x2, _mm256_set1_ps(A3));
            num = _mm256_fmadd_ps(num, x2, _mm256_set1_ps(A1));
            num = _mm256_mul_ps(num, x);
            let mut den = _mm256_fmadd_ps(x2, _mm256_set1_ps(B6), _mm256_set1_ps(B4));
            den = _mm256_fmadd_ps(den, x2, _mm256_set1_ps(B2));
            den = _mm256_fmadd_ps(den, x2, _mm256_set1_ps(B0));
            let mut t = _mm256_div_ps(num, den);
            if logistic {
                t = _mm256_fmadd_ps(t, half, half);
            }
            _mm256_storeu_ps(p.add(i), t);
            i += 8;
        }
        for v in &mut values[i..] {
            *v = if logistic { sigmoid(*v) } else { tanh(*v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_matches_libm_over_the_real_line() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((tanh(x) - x.tanh()).abs());
        }
        for &x in &[-1e30f32, -50.0, -9.0, 9.0, 50.0, 1e30] {
            worst = worst.max((tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 1e-6, "max |tanh error| = {worst}");
    }

    #[test]
    fn slice_versions_match_the_scalar_ones() {
        let xs: Vec<f32> = (-4000..4000).map(|i| i as f32 * 0.0037).collect();
        let (mut t, mut s) = (xs.clone(), xs.clone());
        tanh_in_place(&mut t);
        sigmoid_in_place(&mut s);
        for (i, &x) in xs.iter().enumerate() {
            assert!((t[i] - tanh(x)).abs() < 1e-6 && (s[i] - sigmoid(x)).abs() < 1e-6, "at {x}");
        }
    }

    #[test]
    fn sigmoid_matches_exact_formula() {
        let mut worst = 0.0f32;
        for i in -300_000..=300_000 {
            let x = i as f32 * 1e-4;
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            worst = worst.max((sigmoid(x) as f64 - exact).abs() as f32);
        }
        assert!(worst < 1e-6, "max |sigmoid error| = {worst}");
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
