//! Fast, vectorisable, accurate `tanh` and logistic sigmoid for the fused
//! recurrent layers.
//!
//! `f32::tanh` and `f32::exp` call into libm one element at a time; in the LSTM
//! and GRU gate updates they would cost more than the matrix products. Both
//! functions here go through one `exp` written as plain arithmetic (range
//! reduction to `2^n * e^r`, a degree-6 polynomial for `e^r`: the classic
//! Cephes `expf` scheme), so the loops over a gate row vectorise.
//!
//! Accuracy matters more than it seems. An earlier rational `tanh` (error
//! up to 1e-6 absolute, sigmoid taken as `(1 + tanh(x/2)) / 2`) made the
//! small entries of the recurrent weights' gradients wrong by about 10%
//! (against 0.04% for PyTorch's f32), and Adam, which scales every entry to
//! unit size, turned that error into steps as large as the true ones; those
//! models clustered ECG5000 measurably worse than PyTorch's with the same
//! architecture. The price is speed: these run at about 0.8 ns (sigmoid)
//! and 1.2 ns (tanh) per value against 0.5 and 0.4 for the rational form
//! (`speed_probe` below). Cheaper variants were measured with
//! bench/pytorch/gradient_probe.py and dropped: tanh as `(1 - e)/(1 + e)`
//! alone (2e-7 absolute) or through `e^x - 1` left the encoder's smallest
//! gradient entries 3-4x less accurate than PyTorch's; this form matches it.
//! Here both functions keep a few ulp of *relative* accuracy (sigmoid also
//! for its tiny values; tanh also near zero) and saturate to exactly +-1
//! where f32 does, so saturated units get no spurious gradient.

/// `exp` is evaluated on `[EXP_LO, EXP_HI]`: beyond it `2^n` would leave
/// the normal f32 range (and the callers need no more: sigmoid and tanh are
/// flat to f32 precision long before).
const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split into a part exact in f32 and the remainder (Cody-Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `e^r` on `|r| <= ln2 / 2`: `1 + r + r^2 (P0 + P1 r + ... + P5 r^5)`.
#[allow(clippy::excessive_precision)] // the published coefficient, digit for digit
const P0: f32 = 5.000_000_1e-1;
const P1: f32 = 1.666_666_5e-1;
const P2: f32 = 4.166_579_6e-2;
const P3: f32 = 8.333_452e-3;
const P4: f32 = 1.398_2e-3;
const P5: f32 = 1.987_569_1e-4;
/// Below this |x|, tanh uses its odd polynomial `x + x^3 Q(x^2)`; above it,
/// `1 - 2 / (e^{2|x|} + 1)`, which would lose relative accuracy near zero.
const TANH_SMALL: f32 = 0.625;
#[allow(clippy::excessive_precision)] // the published coefficient, digit for digit
const Q0: f32 = -3.333_328_2e-1;
const Q1: f32 = 1.333_144_2e-1;
const Q2: f32 = -5.373_971_6e-2;
#[allow(clippy::excessive_precision)] // the published coefficient, digit for digit
const Q3: f32 = 2.063_908_9e-2;
const Q4: f32 = -5.704_988_7e-3;

/// `e^x` for the gate functions (clamped to `[EXP_LO, EXP_HI]`), about
/// 1 ulp.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = P5 * r + P4;
    p = p * r + P3;
    p = p * r + P2;
    p = p * r + P1;
    p = p * r + P0;
    let e_r = p * (r * r) + r + 1.0;
    // 2^n through the exponent bits; n is within [-126, 127] after the clamp.
    e_r * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Hyperbolic tangent, a few ulp relative, exactly +-1 where f32 saturates.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut q = Q4 * z + Q3;
    q = q * z + Q2;
    q = q * z + Q1;
    q = q * z + Q0;
    let small = q * z * x + x;
    let large = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < TANH_SMALL {
        small
    } else {
        large
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)`, a few ulp relative (small values too).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Applies `tanh` to every element in place (8 lanes at a time with FMA
/// where the CPU has AVX2: Rust does not fuse `a * b + c` on its own).
#[inline]
pub fn tanh_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::rnn::simd_kernels_in_use() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { avx::in_place(values, false) };
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
    if crate::rnn::simd_kernels_in_use() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { avx::in_place(values, true) };
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

    /// Eight lanes of [`exp`](super::exp), the same steps with FMA.
    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
        let n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(0.5)));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
        let mut p = _mm256_fmadd_ps(_mm256_set1_ps(P5), r, _mm256_set1_ps(P4));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P0));
        let e_r = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
        let bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
        _mm256_mul_ps(e_r, _mm256_castsi256_ps(bits))
    }

    /// Eight lanes of [`tanh`](super::tanh).
    #[inline(always)]
    unsafe fn tanh8(x: __m256) -> __m256 {
        let sign = _mm256_set1_ps(-0.0);
        let a = _mm256_andnot_ps(sign, x);
        let z = _mm256_mul_ps(x, x);
        let mut q = _mm256_fmadd_ps(_mm256_set1_ps(Q4), z, _mm256_set1_ps(Q3));
        q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(Q2));
        q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(Q1));
        q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(Q0));
        let small = _mm256_fmadd_ps(_mm256_mul_ps(q, z), x, x);
        let one = _mm256_set1_ps(1.0);
        let e = exp8(_mm256_add_ps(a, a));
        let large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(e, one)));
        let large = _mm256_or_ps(large, _mm256_and_ps(sign, x));
        let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(a, _mm256_set1_ps(TANH_SMALL));
        _mm256_blendv_ps(large, small, is_small)
    }

    /// Eight lanes of [`sigmoid`](super::sigmoid).
    #[inline(always)]
    unsafe fn sigmoid8(x: __m256) -> __m256 {
        let one = _mm256_set1_ps(1.0);
        _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))))
    }

    /// `tanh` (or, with `logistic`, the sigmoid) over a slice.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn in_place(values: &mut [f32], logistic: bool) {
        let n = values.len();
        let p = values.as_mut_ptr();
        let mut i = 0;
        while i + 8 <= n {
            let x = _mm256_loadu_ps(p.add(i));
            let y = if logistic { sigmoid8(x) } else { tanh8(x) };
            _mm256_storeu_ps(p.add(i), y);
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

    /// |error| relative to the exact value, floored at `tiny` so that the
    /// bound means "relative" except at (true) zero.
    fn rel(got: f32, exact: f64, tiny: f64) -> f64 {
        (got as f64 - exact).abs() / exact.abs().max(tiny)
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-300_000..=300_000).map(|i| i as f32 * 1e-4).chain([-1e30f32, -90.0, -50.0, -9.0, 9.0, 50.0, 90.0, 1e30, 1e-30, -1e-30, 0.0])
    }

    #[test]
    fn tanh_is_accurate_relative_to_its_value_and_saturates_like_f32() {
        let worst = grid().map(|x| rel(tanh(x), (x as f64).tanh(), 1e-30)).fold(0.0f64, f64::max);
        assert!(worst < 5e-7, "max relative tanh error {worst}");
        assert_eq!(tanh(10.0), 1.0);
        assert_eq!(tanh(-10.0), -1.0);
        assert_eq!(tanh(0.0), 0.0);
    }

    #[test]
    fn sigmoid_is_accurate_relative_to_its_value_even_when_tiny() {
        let worst =
            grid().filter(|x| x.abs() < 80.0).map(|x| rel(sigmoid(x), 1.0 / (1.0 + (-(x as f64)).exp()), 1e-30)).fold(0.0f64, f64::max);
        assert!(worst < 5e-7, "max relative sigmoid error {worst}");
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1e30), 1.0);
        assert!(sigmoid(-1e30) >= 0.0 && sigmoid(-1e30) < 1e-37);
    }

    #[test]
    fn slice_versions_match_the_scalar_ones() {
        let xs: Vec<f32> = grid().step_by(7).collect();
        let (mut t, mut s) = (xs.clone(), xs.clone());
        tanh_in_place(&mut t);
        sigmoid_in_place(&mut s);
        for (i, &x) in xs.iter().enumerate() {
            assert!(
                rel(t[i], tanh(x) as f64, 1e-30) < 1e-6 && rel(s[i], sigmoid(x) as f64, 1e-30) < 1e-6,
                "at {x}: {} vs {}, {} vs {}",
                t[i],
                tanh(x),
                s[i],
                sigmoid(x)
            );
        }
    }
}

#[cfg(test)]
mod speed_probe {
    /// Not a test of correctness: prints the gate functions' throughput.
    /// `cargo test --release --lib activations::speed_probe -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn gate_function_throughput() {
        let mut values: Vec<f32> = (0..16 * 360).map(|i| ((i * 37 % 200) as f32 - 100.0) * 0.05).collect();
        let reps = 20_000;
        for (name, f) in [("sigmoid", super::sigmoid_in_place as fn(&mut [f32])), ("tanh", super::tanh_in_place)] {
            let t = std::time::Instant::now();
            for _ in 0..reps {
                f(&mut values);
                values[0] += 1e-3;
            }
            let per = t.elapsed().as_secs_f64() / (reps * values.len()) as f64;
            println!("{name}: {:.2} ns per value", per * 1e9);
        }
    }
}
