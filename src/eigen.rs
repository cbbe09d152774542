//! Eigenvalues and eigenvectors of a real symmetric matrix: the principal
//! axes of the latents ([`crate::pca`]) and of the kernels' features
//! ([`crate::random_kernels`], from a Gram matrix of up to 500 rows), and the
//! Rayleigh-Ritz step of the graph's embedding ([`crate::spectral`]).
//!
//! Householder reduction to a tridiagonal matrix, then the implicit QL
//! algorithm with Wilkinson-style shifts on it, accumulating the
//! transformations (the EISPACK routines tred2 and tql2, as JAMA writes
//! them): about 9 n³ operations in all, where cyclic Jacobi rotations take
//! several n³ per sweep over many sweeps. Written here rather than taken
//! from a linear-algebra crate because no crate already in the build offers
//! a symmetric eigensolver without LAPACK.

/// Most QL iterations spent on one eigenvalue: finite input converges in a
/// few (at most 5 on random matrices of 400 rows and on Wilkinson's W21);
/// the cap keeps a matrix holding NaN or infinities from looping forever,
/// and what such a matrix gives back is not converged.
const MAX_ITERATIONS: usize = 60;

/// Eigenvalues of the symmetric `dim * dim` matrix `a` (row-major; only the
/// lower triangle, diagonal included, is read) in descending order (equal
/// ones in the order the algorithm leaves them), and the matching unit
/// eigenvectors as the columns of a row-major `dim * dim` matrix. The signs
/// of the eigenvectors are the algorithm's: callers that store them either
/// fix a sign ([`crate::pca`]) or use them only through distances.
pub(crate) fn symmetric_eigen(a: &[f64], dim: usize) -> (Vec<f64>, Vec<f64>) {
    debug_assert_eq!(a.len(), dim * dim, "a square matrix of dim rows");
    if dim == 0 || a.len() < dim * dim {
        return (Vec::new(), Vec::new());
    }
    let mut v: Vec<f64> = a[..dim * dim].to_vec();
    let mut d = vec![0.0; dim];
    let mut e = vec![0.0; dim];
    tridiagonalise(&mut v, &mut d, &mut e, dim);
    // The QL sweeps rotate pairs of columns of `v`; rotating rows of its
    // transpose keeps them in contiguous memory.
    let mut rows = transpose(&v, dim);
    diagonalise(&mut rows, &mut d, &mut e, dim);
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let values = order.iter().map(|&c| d[c]).collect();
    let mut vectors = vec![0.0; dim * dim];
    for (column, &c) in order.iter().enumerate() {
        for (k, &x) in rows[c * dim..(c + 1) * dim].iter().enumerate() {
            vectors[k * dim + column] = x;
        }
    }
    (values, vectors)
}

fn transpose(m: &[f64], dim: usize) -> Vec<f64> {
    let mut out = vec![0.0; dim * dim];
    for i in 0..dim {
        for j in 0..dim {
            out[j * dim + i] = m[i * dim + j];
        }
    }
    out
}

/// Householder reduction of the symmetric `v` to tridiagonal form: `d` its
/// diagonal, `e[1..]` its subdiagonal, `v` the orthogonal transformation
/// (EISPACK tred2).
fn tridiagonalise(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    d.copy_from_slice(&v[at(n - 1, 0)..at(n - 1, 0) + n]);
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for x in &mut d[..i] {
                *x /= scale;
                h += *x * *x;
            }
            let f = d[i - 1];
            let g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            for j in 0..i {
                let f = d[j];
                v[at(j, i)] = f;
                let mut g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            let mut f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[at(k, i + 1)] * v[at(k, j)]).sum();
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL on the tridiagonal `d`, `e` (EISPACK tql2): `d` ends as the
/// eigenvalues (unsorted), row `i` of `z` (the transformation so far,
/// transposed) as the eigenvector of `d[i]`.
fn diagonalise(z: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    e.copy_within(1..n, 0);
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut largest = 0.0f64;
    for l in 0..n {
        largest = largest.max(d[l].abs() + e[l].abs());
        let small = |x: f64| x.abs() <= f64::EPSILON * largest;
        // The first negligible subdiagonal value at or after `l` splits
        // the matrix there (`e[n - 1]` is zero).
        let m = (l..n).find(|&m| small(e[m])).unwrap_or(n - 1);
        if m > l {
            for _ in 0..MAX_ITERATIONS {
                let g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in &mut d[l + 2..n] {
                    *x -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    let g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (head, tail) = z.split_at_mut((i + 1) * n);
                    let (zi, zi1) = (&mut head[i * n..], &mut tail[..n]);
                    for (a, b) in zi.iter_mut().zip(zi1.iter_mut()) {
                        let h = *b;
                        *b = s * *a + c * h;
                        *a = c * *a - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if small(e[l]) {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A random symmetric matrix with entries in [-1, 1].
    fn random_symmetric(dim: usize, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut a = vec![0.0; dim * dim];
        for i in 0..dim {
            for j in 0..=i {
                let x = rng.random_range(-1.0..1.0);
                a[i * dim + j] = x;
                a[j * dim + i] = x;
            }
        }
        a
    }

    /// Largest |A v - lambda v| over the pairs and largest |V^T V - I|.
    fn residual_and_orthogonality(a: &[f64], dim: usize, values: &[f64], vectors: &[f64]) -> (f64, f64) {
        let mut residual = 0.0f64;
        let mut orthogonality = 0.0f64;
        for c in 0..dim {
            for i in 0..dim {
                let av: f64 = (0..dim).map(|k| a[i * dim + k] * vectors[k * dim + c]).sum();
                residual = residual.max((av - values[c] * vectors[i * dim + c]).abs());
            }
            for c2 in 0..dim {
                let dot: f64 = (0..dim).map(|k| vectors[k * dim + c] * vectors[k * dim + c2]).sum();
                orthogonality = orthogonality.max((dot - if c == c2 { 1.0 } else { 0.0 }).abs());
            }
        }
        (residual, orthogonality)
    }

    #[test]
    fn random_matrices_are_diagonalised_to_round_off_in_descending_order() {
        for (dim, seed) in [(1, 0), (2, 1), (3, 2), (10, 3), (57, 4), (200, 5)] {
            let a = random_symmetric(dim, seed);
            let (values, vectors) = symmetric_eigen(&a, dim);
            assert_eq!((values.len(), vectors.len()), (dim, dim * dim));
            assert!(values.windows(2).all(|w| w[0] >= w[1]), "dim {dim}: {values:?}");
            let (residual, orthogonality) = residual_and_orthogonality(&a, dim, &values, &vectors);
            assert!(residual < 1e-11 * dim as f64, "dim {dim}: residual {residual}");
            assert!(orthogonality < 1e-12 * dim as f64, "dim {dim}: orthogonality {orthogonality}");
            // The trace is the eigenvalues' sum.
            let trace: f64 = (0..dim).map(|i| a[i * dim + i]).sum();
            assert!((trace - values.iter().sum::<f64>()).abs() < 1e-10 * dim as f64);
        }
    }

    #[test]
    fn hand_computed_matrices() {
        // [[2, 1], [1, 2]]: 3 along (1, 1), 1 along (1, -1).
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-14 && (values[1] - 1.0).abs() < 1e-14, "{values:?}");
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0].abs() - h).abs() < 1e-14 && (vectors[0] - vectors[2]).abs() < 1e-14);
        assert!((vectors[1] + vectors[3]).abs() < 1e-14);
        // A diagonal matrix keeps its values, sorted, on the unit axes.
        let (values, vectors) = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, -2.0], 3);
        assert_eq!(values, vec![5.0, 1.0, -2.0]);
        for (column, axis) in [(0, 1), (1, 0), (2, 2)] {
            assert_eq!(vectors[axis * 3 + column].abs(), 1.0);
        }
    }

    #[test]
    fn repeated_and_zero_eigenvalues_still_give_an_orthonormal_basis() {
        // Rank 2 in 6 dimensions: a Gram matrix of two rows, as the kernels'
        // PCA builds when the training rows are few or alike.
        let (x, y) = ([1.0, 2.0, 0.0, -1.0, 3.0, 0.5], [0.0, 1.0, 1.0, 1.0, -2.0, 0.0]);
        let mut a = vec![0.0; 36];
        for i in 0..6 {
            for j in 0..6 {
                a[i * 6 + j] = x[i] * x[j] + y[i] * y[j];
            }
        }
        for m in [a, vec![0.0; 36], (0..36).map(|i| if i % 7 == 0 { 4.0 } else { 0.0 }).collect()] {
            let (values, vectors) = symmetric_eigen(&m, 6);
            let (residual, orthogonality) = residual_and_orthogonality(&m, 6, &values, &vectors);
            assert!(residual < 1e-12 && orthogonality < 1e-12, "{residual} {orthogonality}");
        }
    }

    #[test]
    fn very_large_and_very_small_scales_keep_their_accuracy() {
        let a = random_symmetric(20, 11);
        let (unit, _) = symmetric_eigen(&a, 20);
        for scale in [1e-150, 1e150] {
            let scaled: Vec<f64> = a.iter().map(|x| x * scale).collect();
            let (values, vectors) = symmetric_eigen(&scaled, 20);
            let (residual, orthogonality) = residual_and_orthogonality(&scaled, 20, &values, &vectors);
            assert!(residual < 1e-12 * scale && orthogonality < 1e-12, "scale {scale}: {residual} {orthogonality}");
            for (v, u) in values.iter().zip(&unit) {
                assert!((v / scale - u).abs() < 1e-12, "scale {scale}: {v} against {u}");
            }
        }
    }

    #[test]
    fn non_finite_input_ends_without_panicking() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut a = random_symmetric(8, 9);
            a[3 * 8 + 4] = bad;
            a[4 * 8 + 3] = bad;
            let (values, vectors) = symmetric_eigen(&a, 8);
            assert_eq!((values.len(), vectors.len()), (8, 64));
        }
        assert!(symmetric_eigen(&[], 0).0.is_empty());
    }
}
