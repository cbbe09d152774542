//! Principal component analysis for projecting latent vectors to a few
//! dimensions (typically 2 for plotting).
//!
//! The covariance matrix is built in f64 and diagonalised by
//! [`crate::eigen`].

use crate::eigen::symmetric_eigen;

/// Errors from [`Pca::fit`] and [`Pca::from_parts`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PcaError {
    /// Fewer than two rows: a sample covariance needs at least two.
    #[error("PCA needs at least 2 rows, got {rows}")]
    TooFewRows {
        /// Number of rows supplied.
        rows: usize,
    },
    /// `dim` was zero.
    #[error("dimension must be at least 1")]
    ZeroDim,
    /// `n_components` was zero or larger than `dim`.
    #[error("n_components must be between 1 and dim = {dim}, got {n_components}")]
    InvalidComponents {
        /// Requested number of components.
        n_components: usize,
        /// Data dimension.
        dim: usize,
    },
    /// The data length is not a whole number of `dim`-sized rows.
    #[error("data length {len} is not a multiple of dimension {dim}")]
    LengthNotMultiple {
        /// Length of the flat data slice.
        len: usize,
        /// Row dimension.
        dim: usize,
    },
    /// A stored array has the wrong length (see [`Pca::from_parts`]).
    #[error("{field} has length {actual}, expected {expected}")]
    LengthMismatch {
        /// Which array is wrong: "mean", "components" or "explained_variance".
        field: &'static str,
        /// Length implied by `dim` and `n_components`.
        expected: usize,
        /// Length actually supplied.
        actual: usize,
    },
    /// A data row contains NaN or an infinity.
    #[error("row {row} contains a non-finite value")]
    NonFinite {
        /// Zero-based index of the first offending row.
        row: usize,
    },
    /// A stored array contains NaN or an infinity.
    #[error("{field} contains a non-finite value")]
    NonFiniteParameter {
        /// Which array: "mean", "components" or "explained_variance".
        field: &'static str,
    },
}

/// A fitted PCA projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Per-feature mean subtracted before projecting (`dim` values).
    pub mean: Vec<f32>,
    /// Principal axes, `n_components * dim` values row-major, unit length,
    /// sorted by explained variance descending. Each axis is signed so that
    /// its largest-magnitude coefficient is positive (first one on ties).
    pub components: Vec<f32>,
    /// Variance along each axis (sample covariance eigenvalues, divisor
    /// `rows - 1`, as scikit-learn's `explained_variance_`).
    pub explained_variance: Vec<f32>,
    /// Input dimension.
    pub dim: usize,
    /// Number of kept components.
    pub n_components: usize,
}

impl Pca {
    /// Fits a PCA with `n_components` axes to row-major `data` (`dim` wide).
    pub fn fit(data: &[f32], dim: usize, n_components: usize) -> Result<Pca, PcaError> {
        let rows = validate_data(data, dim, n_components)?;
        let mean = column_means(data, dim, rows);
        let cov = covariance(data, dim, rows, &mean);
        let (values, vectors) = symmetric_eigen(&cov, dim);
        let mut components = Vec::with_capacity(n_components * dim);
        let mut explained_variance = Vec::with_capacity(n_components);
        for (col, &lambda) in values.iter().enumerate().take(n_components) {
            let axis = signed_axis(&vectors, dim, col);
            components.extend(axis.iter().map(|&v| v as f32));
            // Round-off can push a zero eigenvalue slightly negative; a
            // variance is never below zero.
            explained_variance.push(lambda.max(0.0) as f32);
        }
        Ok(Pca { mean: mean.iter().map(|&m| m as f32).collect(), components, explained_variance, dim, n_components })
    }

    /// Rebuilds a PCA from stored parts (e.g. a saved model), checking that
    /// every length agrees with `dim` and `n_components` and that all values
    /// are finite.
    pub fn from_parts(
        mean: Vec<f32>,
        components: Vec<f32>,
        explained_variance: Vec<f32>,
        dim: usize,
        n_components: usize,
    ) -> Result<Pca, PcaError> {
        check_shape(dim, n_components)?;
        check_field("mean", &mean, dim)?;
        // Saturating: an absurd shape can never match a real Vec's length, so
        // it is reported as a mismatch instead of overflowing.
        check_field("components", &components, n_components.saturating_mul(dim))?;
        check_field("explained_variance", &explained_variance, n_components)?;
        Ok(Pca { mean, components, explained_variance, dim, n_components })
    }

    /// Projects row-major `data` (`dim` wide) onto the components, returning
    /// `rows * n_components` values row-major.
    ///
    /// A trailing partial row is ignored. For a `Pca` built by [`Pca::fit`]
    /// or [`Pca::from_parts`] the lengths always agree; if the public fields
    /// were later edited into disagreement this stays panic-free: only the
    /// axes actually present in `components` are used (each output row has
    /// `min(n_components, components.len() / dim)` values) and a missing
    /// mean entry counts as zero.
    pub fn transform(&self, data: &[f32]) -> Vec<f32> {
        let dim = self.dim;
        if dim == 0 {
            return Vec::new();
        }
        let axes: Vec<&[f32]> = self.components.chunks_exact(dim).take(self.n_components).collect();
        let mut out = Vec::with_capacity((data.len() / dim).saturating_mul(axes.len()));
        let mut centred = vec![0.0f64; dim];
        for row in data.chunks_exact(dim) {
            for (j, (c, &x)) in centred.iter_mut().zip(row).enumerate() {
                let m = self.mean.get(j).copied().unwrap_or(0.0);
                *c = f64::from(x) - f64::from(m);
            }
            for axis in &axes {
                let dot: f64 = axis.iter().zip(&centred).map(|(&a, &c)| f64::from(a) * c).sum();
                out.push(dot as f32);
            }
        }
        out
    }
}

/// Validates `fit` inputs and returns the number of rows.
fn validate_data(data: &[f32], dim: usize, n_components: usize) -> Result<usize, PcaError> {
    check_shape(dim, n_components)?;
    if !data.len().is_multiple_of(dim) {
        return Err(PcaError::LengthNotMultiple { len: data.len(), dim });
    }
    let rows = data.len() / dim;
    if rows < 2 {
        return Err(PcaError::TooFewRows { rows });
    }
    if let Some(row) = data.chunks_exact(dim).position(|r| r.iter().any(|v| !v.is_finite())) {
        return Err(PcaError::NonFinite { row });
    }
    Ok(rows)
}

/// Checks `dim >= 1` and `1 <= n_components <= dim`.
fn check_shape(dim: usize, n_components: usize) -> Result<(), PcaError> {
    if dim == 0 {
        return Err(PcaError::ZeroDim);
    }
    if n_components == 0 || n_components > dim {
        return Err(PcaError::InvalidComponents { n_components, dim });
    }
    Ok(())
}

/// Checks one stored array's length and finiteness.
fn check_field(field: &'static str, values: &[f32], expected: usize) -> Result<(), PcaError> {
    if values.len() != expected {
        return Err(PcaError::LengthMismatch { field, expected, actual: values.len() });
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(PcaError::NonFiniteParameter { field });
    }
    Ok(())
}

/// Per-column means in f64.
fn column_means(data: &[f32], dim: usize, rows: usize) -> Vec<f64> {
    let mut mean = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    mean
}

/// Sample covariance (divisor `rows - 1`), `dim * dim` row-major, f64.
fn covariance(data: &[f32], dim: usize, rows: usize, mean: &[f64]) -> Vec<f64> {
    let mut cov = vec![0.0f64; dim * dim];
    let mut centred = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for ((c, &x), &m) in centred.iter_mut().zip(row).zip(mean) {
            *c = f64::from(x) - m;
        }
        // Fill the upper triangle only; it is mirrored below.
        for (i, &ci) in centred.iter().enumerate() {
            let dst = cov.get_mut(i * dim + i..(i + 1) * dim).unwrap_or(&mut []);
            for (d, &cj) in dst.iter_mut().zip(centred.iter().skip(i)) {
                *d += ci * cj;
            }
        }
    }
    let denom = (rows.saturating_sub(1)).max(1) as f64;
    for i in 0..dim {
        for j in i..dim {
            let v = cov.get(i * dim + j).copied().unwrap_or(0.0) / denom;
            set(&mut cov, i * dim + j, v);
            set(&mut cov, j * dim + i, v);
        }
    }
    cov
}

/// Bounds-checked write (out-of-range indices are ignored).
fn set(m: &mut [f64], idx: usize, v: f64) {
    if let Some(x) = m.get_mut(idx) {
        *x = v;
    }
}

/// Bounds-checked read (out-of-range indices read as zero).
fn get(m: &[f64], idx: usize) -> f64 {
    m.get(idx).copied().unwrap_or(0.0)
}

/// Column `col` of `v`, flipped so its largest-|value| entry is positive.
fn signed_axis(v: &[f64], dim: usize, col: usize) -> Vec<f64> {
    let mut axis: Vec<f64> = (0..dim).map(|k| get(v, k * dim + col)).collect();
    let mut pivot = 0.0f64;
    for &x in &axis {
        // Strict `>` picks the first entry on magnitude ties.
        if x.abs() > pivot.abs() {
            pivot = x;
        }
    }
    if pivot < 0.0 {
        for x in &mut axis {
            *x = -*x;
        }
    }
    axis
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn assert_close(a: f32, b: f32, tol: f32) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn recovers_line_direction() {
        // Points on the line (1, 2, 2)/3 through (5, -1, 0).
        let dir = [1.0f32 / 3.0, 2.0 / 3.0, 2.0 / 3.0];
        let mut data = Vec::new();
        for i in 0..50 {
            let t = i as f32 - 20.0;
            data.extend([5.0 + t * dir[0], -1.0 + t * dir[1], t * dir[2]]);
        }
        let pca = Pca::fit(&data, 3, 2).unwrap();
        for (c, d) in pca.components[..3].iter().zip(dir) {
            assert_close(*c, d, 1e-5);
        }
        // Second eigenvalue is zero: nothing off the line.
        assert_close(pca.explained_variance[1], 0.0, 1e-4);
    }

    #[test]
    fn hand_computed_variance() {
        // x ∈ {-2, 0, 2} × y ∈ {-1, 1} grid plus an offset: 6 points,
        // var(x) = 2·(4 + 0 + 4)/5 = 3.2, var(y) = 6/5 = 1.2, zero
        // covariance (sample divisor n - 1 = 5).
        let mut data = Vec::new();
        for x in [-2.0f32, 0.0, 2.0] {
            for y in [-1.0f32, 1.0] {
                data.extend([x + 10.0, y - 3.0]);
            }
        }
        let pca = Pca::fit(&data, 2, 2).unwrap();
        assert_close(pca.explained_variance[0], 3.2, 1e-6);
        assert_close(pca.explained_variance[1], 1.2, 1e-6);
        assert_eq!(pca.mean, vec![10.0, -3.0]);
        assert_eq!(pca.components, vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn correlated_2x2_hand_case() {
        // A covariance of the form [[a, b], [b, a]] has eigenvalues a ± b
        // along (1,1)/√2 and (1,-1)/√2.
        let data = [0.0f32, 0.0, 4.0, 4.0, 1.0, 3.0, 3.0, 1.0];
        // mean (2,2); centred: (-2,-2),(2,2),(-1,1),(1,-1)
        // var = (4+4+1+1)/3 = 10/3, cov = (4+4-1-1)/3 = 2 -> eigen 16/3, 4/3.
        let pca = Pca::fit(&data, 2, 2).unwrap();
        assert_close(pca.explained_variance[0], 16.0 / 3.0, 1e-5);
        assert_close(pca.explained_variance[1], 4.0 / 3.0, 1e-5);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        // Second axis ±(1,-1)/√2 ties in magnitude: first entry made positive.
        for (c, e) in pca.components.iter().zip([h, h, h, -h]) {
            assert_close(*c, e, 1e-6);
        }
    }

    #[test]
    fn recovers_plane_and_orthonormal() {
        // Data spanning a plane in 4-D; the top two axes span it.
        let u = [0.5f32, 0.5, 0.5, 0.5];
        let w = [0.5f32, -0.5, 0.5, -0.5];
        let mut rng = StdRng::seed_from_u64(11);
        let mut data = Vec::new();
        for _ in 0..200 {
            let a: f32 = rng.random_range(-3.0..3.0);
            let b: f32 = rng.random_range(-1.0..1.0);
            data.extend((0..4).map(|k| a * u[k] + b * w[k]));
        }
        let pca = Pca::fit(&data, 4, 2).unwrap();
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        let (c0, c1) = (&pca.components[..4], &pca.components[4..]);
        assert_close(dot(c0, c0), 1.0, 1e-5);
        assert_close(dot(c1, c1), 1.0, 1e-5);
        assert_close(dot(c0, c1), 0.0, 1e-5);
        // Larger spread is along u.
        assert_close(dot(c0, &u).abs(), 1.0, 1e-4);
        assert_close(dot(c1, &w).abs(), 1.0, 1e-4);
        assert!(pca.explained_variance[0] >= pca.explained_variance[1]);
    }

    #[test]
    fn transform_of_mean_is_zero_and_matches_variance() {
        let mut rng = StdRng::seed_from_u64(5);
        let data: Vec<f32> = (0..300).map(|_| rng.random_range(-2.0..2.0)).collect();
        let pca = Pca::fit(&data, 5, 2).unwrap();
        let z = pca.transform(&pca.mean);
        assert_eq!(z.len(), 2);
        assert!(z.iter().all(|v| v.abs() < 1e-5));
        // Sample variance of the projected data equals explained variance.
        let proj = pca.transform(&data);
        assert_eq!(proj.len(), 60 * 2);
        for k in 0..2 {
            let col: Vec<f64> = proj.iter().skip(k).step_by(2).map(|&v| f64::from(v)).collect();
            let m = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (col.len() - 1) as f64;
            assert!((var - f64::from(pca.explained_variance[k])).abs() < 1e-4);
        }
    }

    #[test]
    fn eigen_decomposition_of_larger_matrix() {
        // 40-D random data: check C v = λ v for the kept axes.
        let dim = 40;
        let mut rng = StdRng::seed_from_u64(2);
        let data: Vec<f32> = (0..dim * 120).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mean = column_means(&data, dim, 120);
        let cov = covariance(&data, dim, 120, &mean);
        let pca = Pca::fit(&data, dim, 3).unwrap();
        for k in 0..3 {
            let axis = &pca.components[k * dim..(k + 1) * dim];
            let lambda = f64::from(pca.explained_variance[k]);
            for i in 0..dim {
                let cv: f64 = (0..dim).map(|j| cov[i * dim + j] * f64::from(axis[j])).sum();
                assert!((cv - lambda * f64::from(axis[i])).abs() < 1e-4, "k {k} i {i}");
            }
        }
        assert!(pca.explained_variance.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn sign_convention_stable() {
        // Same data, negated direction or shuffled rows: identical axes with
        // the largest coefficient positive.
        let mut data = Vec::new();
        for i in 0..20 {
            let t = i as f32 * 0.5;
            data.extend([-3.0 * t, 1.0 * t + 0.1 * (i % 3) as f32]);
        }
        let a = Pca::fit(&data, 2, 1).unwrap();
        let mut rev: Vec<f32> = data.chunks(2).rev().flatten().copied().collect();
        let b = Pca::fit(&rev, 2, 1).unwrap();
        for v in &mut rev {
            *v = -*v;
        }
        let c = Pca::fit(&rev, 2, 1).unwrap();
        let big = a.components.iter().copied().fold(0.0f32, |m, x| if x.abs() > m.abs() { x } else { m });
        assert!(big > 0.0);
        // Axis ≈ ±(-3, 1)/√10: the -3 entry dominates, so it is made positive.
        assert!(a.components[0] > 0.0 && a.components[1] < 0.0);
        for (x, y) in a.components.iter().zip(&b.components) {
            assert_close(*x, *y, 1e-6);
        }
        for (x, y) in a.components.iter().zip(&c.components) {
            assert_close(*x, *y, 1e-6);
        }
    }

    #[test]
    fn from_parts_validates() {
        let ok = Pca::from_parts(vec![0.0; 3], vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], vec![2.0, 1.0], 3, 2);
        let pca = ok.unwrap();
        assert_eq!(pca.transform(&[1.0, 2.0, 3.0]), vec![1.0, 2.0]);
        assert_eq!(
            Pca::from_parts(vec![0.0; 2], vec![0.0; 6], vec![0.0; 2], 3, 2),
            Err(PcaError::LengthMismatch { field: "mean", expected: 3, actual: 2 })
        );
        assert_eq!(
            Pca::from_parts(vec![0.0; 3], vec![0.0; 5], vec![0.0; 2], 3, 2),
            Err(PcaError::LengthMismatch { field: "components", expected: 6, actual: 5 })
        );
        assert_eq!(
            Pca::from_parts(vec![0.0; 3], vec![0.0; 6], vec![0.0; 1], 3, 2),
            Err(PcaError::LengthMismatch { field: "explained_variance", expected: 2, actual: 1 })
        );
        assert_eq!(
            Pca::from_parts(vec![0.0; 3], vec![0.0; 12], vec![0.0; 4], 3, 4),
            Err(PcaError::InvalidComponents { n_components: 4, dim: 3 })
        );
        assert_eq!(
            Pca::from_parts(vec![f32::NAN, 0.0, 0.0], vec![0.0; 6], vec![0.0; 2], 3, 2),
            Err(PcaError::NonFiniteParameter { field: "mean" })
        );
        assert_eq!(Pca::from_parts(vec![], vec![], vec![], 0, 0), Err(PcaError::ZeroDim));
    }

    #[test]
    fn fit_error_cases() {
        assert_eq!(Pca::fit(&[1.0, 2.0], 2, 1), Err(PcaError::TooFewRows { rows: 1 }));
        assert_eq!(Pca::fit(&[], 2, 1), Err(PcaError::TooFewRows { rows: 0 }));
        assert_eq!(Pca::fit(&[1.0, 2.0, 3.0, 4.0], 2, 3), Err(PcaError::InvalidComponents { n_components: 3, dim: 2 }));
        assert_eq!(Pca::fit(&[1.0, 2.0, 3.0, 4.0], 2, 0), Err(PcaError::InvalidComponents { n_components: 0, dim: 2 }));
        assert_eq!(Pca::fit(&[1.0, 2.0, 3.0], 2, 1), Err(PcaError::LengthNotMultiple { len: 3, dim: 2 }));
        assert_eq!(Pca::fit(&[1.0, 2.0], 0, 1), Err(PcaError::ZeroDim));
        assert_eq!(Pca::fit(&[1.0, 2.0, 3.0, f32::NEG_INFINITY, 0.0, 0.0], 2, 1), Err(PcaError::NonFinite { row: 1 }));
    }

    #[test]
    fn constant_data_and_inconsistent_fields_do_not_panic() {
        let pca = Pca::fit(&[1.0f32; 12], 3, 2).unwrap();
        assert_eq!(pca.explained_variance, vec![0.0, 0.0]);
        let broken = Pca { mean: vec![], components: vec![1.0, 0.0, 0.0], explained_variance: vec![], dim: 3, n_components: 2 };
        // Only one axis is present although n_components says 2.
        assert_eq!(broken.transform(&[1.0, 2.0, 3.0, 4.0]), vec![1.0]);
        let absurd = Pca { n_components: usize::MAX, ..broken.clone() };
        assert_eq!(absurd.transform(&[1.0, 2.0, 3.0]), vec![1.0]);
        assert!(Pca::from_parts(vec![0.0], vec![], vec![], 1, usize::MAX).is_err());
        let zero = Pca { dim: 0, ..broken };
        assert!(zero.transform(&[1.0]).is_empty());
    }
}
