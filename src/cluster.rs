//! K-means clustering of latent vectors.
//!
//! Points are stored row-major in a flat `&[f32]` with `dim` values per point,
//! which is how latent codes come out of the encoder. Initialisation is
//! k-means++ (D² sampling), refinement is Lloyd's algorithm, and the best of
//! several restarts (lowest inertia) is kept. Everything is driven by a
//! seeded [`StdRng`], so the same inputs and seed always give the same fit.

use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Errors reported by [`fit_kmeans`] for inputs it cannot cluster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// `k` was zero; at least one cluster is required.
    #[error("k must be at least 1")]
    ZeroClusters,
    /// `dim` was zero, so points have no coordinates.
    #[error("dimension must be at least 1")]
    ZeroDim,
    /// The data length is not a whole number of `dim`-sized points.
    #[error("data length {len} is not a multiple of dimension {dim}")]
    LengthNotMultiple {
        /// Length of the flat data slice.
        len: usize,
        /// Requested point dimension.
        dim: usize,
    },
    /// There are fewer points than requested clusters.
    #[error("need at least k = {k} points, got {points}")]
    TooFewPoints {
        /// Number of points supplied.
        points: usize,
        /// Number of clusters requested.
        k: usize,
    },
    /// A starting partition that does not give every point a cluster in
    /// `0..k`.
    #[error("a starting partition needs one cluster in 0..{k} per point: {labels} labels for {points} points")]
    BadPartition {
        /// Labels supplied.
        labels: usize,
        /// Points supplied.
        points: usize,
        /// Number of clusters.
        k: usize,
    },
    /// A point contains NaN or an infinity.
    #[error("point {index} contains a non-finite value")]
    NonFinite {
        /// Zero-based index of the first offending point.
        index: usize,
    },
}

/// Settings for [`fit_kmeans`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KMeansOptions {
    /// Number of clusters (must be at least 1).
    pub k: usize,
    /// Number of independent k-means++ starts; the lowest-inertia fit is
    /// kept. Zero is treated as one.
    pub restarts: usize,
    /// Maximum number of Lloyd iterations per restart. Zero keeps the
    /// k-means++ centroids as they are.
    pub max_iter: usize,
    /// Seed for all random choices; equal seeds give identical fits.
    pub seed: u64,
}

/// Result of [`fit_kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// Cluster centres, `k * dim` values in row-major order.
    pub centroids: Vec<f32>,
    /// Index of the nearest centroid for every input point.
    pub labels: Vec<usize>,
    /// Sum of squared Euclidean distances from points to their centroids.
    pub inertia: f64,
    /// Lloyd iterations (assignment + update rounds) run by the kept restart.
    pub iterations: usize,
}

/// Clusters `data` (row-major, `dim` values per point) into `opts.k` groups.
///
/// With fewer distinct points than `k` the fit still succeeds; some centroids
/// then coincide and their clusters may be empty.
pub fn fit_kmeans(data: &[f32], dim: usize, opts: &KMeansOptions) -> Result<KMeansFit, ClusterError> {
    let n = validate(data, dim, opts.k)?;
    let mut best: Option<KMeansFit> = None;
    for restart in 0..opts.restarts.max(1) {
        // A seed per restart (rather than one shared stream) keeps restart r
        // identical no matter how many random draws earlier restarts made, so
        // adding restarts can only lower the kept inertia.
        let mut rng = StdRng::seed_from_u64(mix_seed(opts.seed, restart as u64));
        let fit = run_once(data, dim, n, opts.k, opts.max_iter, &mut rng);
        // Strict `<` keeps the earliest restart on ties, for determinism.
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    // `restarts.max(1)` guarantees one iteration, but stay panic-free anyway.
    best.ok_or(ClusterError::ZeroClusters)
}

/// Index of the centroid closest (squared Euclidean) to `point`.
///
/// Ties go to the lowest index. Returns 0 when there are no centroids or
/// `dim` is zero. Only the first `dim` values of `point` are used.
pub fn nearest_centroid(centroids: &[f32], dim: usize, point: &[f32]) -> usize {
    nearest_with_distance(centroids, dim, point).0
}

/// Smallest spread a dimension is scaled as having, relative to the widest
/// dimension's: latent dimensions the KL term has collapsed (or that the
/// encoder never learnt to use) hold little but noise, and scaling them to
/// unit variance would let that noise decide the clusters.
pub const MIN_RELATIVE_SPREAD: f64 = 0.01;

/// Per-dimension mean and population variance of `data` (row-major, `dim`
/// wide), in f64; no rows gives zeros, `dim == 0` two empty vectors.
pub(crate) fn column_moments(data: &[f32], dim: usize) -> (Vec<f64>, Vec<f64>) {
    if dim == 0 {
        return (Vec::new(), Vec::new());
    }
    let rows = (data.len() / dim).max(1) as f64;
    let mut mean = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    var.iter_mut().for_each(|s| *s /= rows);
    (mean, var)
}

/// Per-dimension mean and `1 / standard deviation` (population) of `data`
/// (row-major, `dim` wide): what standardising each dimension to mean 0 and
/// variance 1 needs. A standard deviation below [`MIN_RELATIVE_SPREAD`] times
/// the largest one is raised to that floor; when no dimension spreads by
/// more than 1e-10 every scale is 1. `dim == 0` gives two empty vectors.
pub fn unit_variance_scales(data: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let (mean, var) = column_moments(data, dim);
    let std: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
    let floor = std.iter().cloned().fold(0.0, f64::max) * MIN_RELATIVE_SPREAD;
    let scale = std.iter().map(|&s| if floor > 1e-12 { (1.0 / s.max(floor)) as f32 } else { 1.0 });
    (mean.iter().map(|&m| m as f32).collect(), scale.collect())
}

/// `data` (row-major, `mean.len()` wide) standardised with the mean and
/// scales of [`unit_variance_scales`]: `(value - mean) * scale` per
/// dimension.
pub fn standardise(data: &[f32], mean: &[f32], scale: &[f32]) -> Vec<f32> {
    if mean.is_empty() {
        return Vec::new();
    }
    data.chunks_exact(mean.len()).flat_map(|row| row.iter().zip(mean).zip(scale).map(|((v, m), s)| (v - m) * s)).collect()
}

/// Each row of `points` (row-major, `dim` wide) scaled to unit Euclidean
/// length, in place: the point's direction from the origin without its
/// distance. A row of length below 1e-12 (a latent exactly at the training
/// mean) has no direction and stays zero (it then joins the centroid
/// nearest the origin) rather than a division by zero.
pub fn unit_rows(points: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in points.chunks_exact_mut(dim) {
        let norm = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        if norm > 1e-12 {
            row.iter_mut().for_each(|v| *v = (f64::from(*v) / norm) as f32);
        } else {
            row.iter_mut().for_each(|v| *v = 0.0);
        }
    }
}

/// `data` (row-major, `mean.len()` wide) in the space the model clusters
/// in: as it is, or with `mean` subtracted, multiplied by `scale` per
/// dimension when given (`kmeans_standardize`) and, with `normalize`
/// (`kmeans_normalize`), scaled to unit length ([`unit_rows`]).
pub fn clustering_space<'a>(data: &'a [f32], mean: &[f32], scale: Option<&[f32]>, normalize: bool) -> Cow<'a, [f32]> {
    if scale.is_none() && !normalize {
        return Cow::Borrowed(data);
    }
    let mut points = match scale {
        Some(scale) => standardise(data, mean, scale),
        None => standardise(data, mean, &vec![1.0f32; mean.len()]),
    };
    if normalize {
        unit_rows(&mut points, mean.len());
    }
    Cow::Owned(points)
}

/// Nearest-centroid labels in the space `kmeans_normalize` clusters in:
/// each point of `data` (row-major, `mean.len()` wide) has `mean`
/// subtracted, is multiplied by `scale` per dimension when given
/// (`kmeans_standardize`), and is scaled to unit length ([`unit_rows`])
/// before it meets `directions`, the k-means centroids of that space.
pub fn assign_directions(directions: &[f32], data: &[f32], mean: &[f32], scale: Option<&[f32]>) -> Vec<usize> {
    let dim = mean.len();
    if dim == 0 {
        return Vec::new();
    }
    let mut point = vec![0.0f32; dim];
    data.chunks_exact(dim)
        .map(|row| {
            for (d, ((v, m), slot)) in row.iter().zip(mean).zip(point.iter_mut()).enumerate() {
                *slot = (v - m) * scale.and_then(|s| s.get(d)).copied().unwrap_or(1.0);
            }
            unit_rows(&mut point, dim);
            nearest_centroid(directions, dim, &point)
        })
        .collect()
}

/// Mean of each cluster's members (`data` row-major, `dim` wide; `labels`
/// one per row, `k` clusters), accumulated in f64. A cluster without members
/// takes `fallback`'s row (`k * dim` values).
pub fn member_means(data: &[f32], dim: usize, labels: &[usize], k: usize, fallback: &[f32]) -> Vec<f32> {
    let mut out = fallback.to_vec();
    out.resize(k * dim, 0.0);
    if dim > 0 {
        update_means(data, dim, k, labels, &mut out);
    }
    out
}

/// Nearest-centroid labels when distances are measured after scaling each
/// dimension by `scale` (`dim` values): the assignment rule of k-means fitted
/// on standardised data, with centroids kept in the data's own units.
/// `None` is plain [`assign`]. `scale` must hold `dim` values (a model checks
/// that when it loads); extra values are ignored.
pub fn assign_scaled(centroids: &[f32], dim: usize, data: &[f32], scale: Option<&[f32]>) -> Vec<usize> {
    match scale {
        None => assign(centroids, dim, data),
        Some(_) if dim == 0 => Vec::new(),
        Some(scale) => {
            // Scale the k centroids once and each point into one reused
            // buffer: no copy of the whole batch of latents.
            let scale_into = |dst: &mut Vec<f32>, values: &[f32]| {
                dst.clear();
                dst.extend(values.chunks_exact(dim).flat_map(|row| row.iter().zip(scale).map(|(v, s)| v * s)));
            };
            let mut scaled_centroids = Vec::with_capacity(centroids.len());
            scale_into(&mut scaled_centroids, centroids);
            let mut point = Vec::with_capacity(dim);
            data.chunks_exact(dim)
                .map(|p| {
                    scale_into(&mut point, p);
                    nearest_centroid(&scaled_centroids, dim, &point)
                })
                .collect()
        }
    }
}

/// Nearest-centroid label for every point of `data` (row-major, `dim` wide).
///
/// A trailing partial point is ignored; `dim == 0` gives an empty result.
pub fn assign(centroids: &[f32], dim: usize, data: &[f32]) -> Vec<usize> {
    if dim == 0 {
        return Vec::new();
    }
    data.chunks_exact(dim).map(|p| nearest_centroid(centroids, dim, p)).collect()
}

/// Checks the inputs and returns the number of points.
pub(crate) fn validate(data: &[f32], dim: usize, k: usize) -> Result<usize, ClusterError> {
    if k == 0 {
        return Err(ClusterError::ZeroClusters);
    }
    if dim == 0 {
        return Err(ClusterError::ZeroDim);
    }
    if !data.len().is_multiple_of(dim) {
        return Err(ClusterError::LengthNotMultiple { len: data.len(), dim });
    }
    let n = data.len() / dim;
    if n < k {
        return Err(ClusterError::TooFewPoints { points: n, k });
    }
    if let Some(index) = data.chunks_exact(dim).position(|p| p.iter().any(|v| !v.is_finite())) {
        return Err(ClusterError::NonFinite { index });
    }
    Ok(n)
}

/// SplitMix64 finaliser: turns (seed, restart) into a well-spread seed.
fn mix_seed(seed: u64, restart: u64) -> u64 {
    let mut z = seed ^ restart.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Squared Euclidean distance accumulated in f64.
pub(crate) fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// Nearest centroid index and its squared distance (lowest index on ties).
fn nearest_with_distance(centroids: &[f32], dim: usize, point: &[f32]) -> (usize, f64) {
    if dim == 0 {
        return (0, 0.0);
    }
    let point = point.get(..dim).unwrap_or(point);
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(dim).enumerate() {
        let d = sq_dist(point, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// Point `i` of row-major `data` (empty slice if out of range).
pub(crate) fn row(data: &[f32], dim: usize, i: usize) -> &[f32] {
    data.get(i * dim..(i + 1) * dim).unwrap_or(&[])
}

/// One k-means++ initialisation followed by Lloyd refinement.
fn run_once(data: &[f32], dim: usize, n: usize, k: usize, max_iter: usize, rng: &mut StdRng) -> KMeansFit {
    let mut centroids = init_plus_plus(data, dim, n, k, rng);
    let mut labels = vec![usize::MAX; n];
    let mut dists = vec![0.0f64; n];
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        let mut changed = assign_step(data, dim, &centroids, &mut labels, &mut dists);
        changed |= reseed_empty(data, dim, k, &mut centroids, &mut labels, &mut dists);
        if !changed {
            // Centroids are already the means of these labels: converged.
            break;
        }
        update_means(data, dim, k, &labels, &mut centroids);
    }
    // Final assignment so labels and inertia always match the returned
    // centroids, including when max_iter stopped the loop early.
    assign_step(data, dim, &centroids, &mut labels, &mut dists);
    let inertia = dists.iter().sum();
    KMeansFit { centroids, labels, inertia, iterations }
}

/// k-means++: first centre uniform, each next one drawn with probability
/// proportional to the squared distance to the nearest centre chosen so far.
fn init_plus_plus(data: &[f32], dim: usize, n: usize, k: usize, rng: &mut StdRng) -> Vec<f32> {
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.random_range(0..n);
    centroids.extend_from_slice(row(data, dim, first));
    let mut d2: Vec<f64> = (0..n).map(|i| sq_dist(row(data, dim, i), row(data, dim, first))).collect();
    for _ in 1..k {
        let next = sample_d2(&d2, rng);
        let chosen = row(data, dim, next);
        centroids.extend_from_slice(chosen);
        for (i, d) in d2.iter_mut().enumerate() {
            *d = d.min(sq_dist(row(data, dim, i), chosen));
        }
    }
    centroids
}

/// Draws an index with probability proportional to `weights`.
///
/// When every weight is zero (all points already coincide with a centre,
/// i.e. fewer distinct points than k) it falls back to a uniform draw, which
/// yields a duplicate centre instead of looping forever.
fn sample_d2(weights: &[f64], rng: &mut StdRng) -> usize {
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 || total.is_infinite() {
        return rng.random_range(0..weights.len().max(1));
    }
    let target = rng.random::<f64>() * total;
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            last_positive = i;
            acc += w;
            if acc > target {
                return i;
            }
        }
    }
    // Rounding can leave `acc` a hair below `target`; never pick a
    // zero-weight point in that case.
    last_positive
}

/// Assigns each point to its nearest centroid; returns whether any label
/// changed. Also records each point's squared distance.
fn assign_step(data: &[f32], dim: usize, centroids: &[f32], labels: &mut [usize], dists: &mut [f64]) -> bool {
    let mut changed = false;
    for (i, (label, dist)) in labels.iter_mut().zip(dists.iter_mut()).enumerate() {
        let (j, d) = nearest_with_distance(centroids, dim, row(data, dim, i));
        if *label != j {
            *label = j;
            changed = true;
        }
        *dist = d;
    }
    changed
}

/// Gives every empty cluster the point farthest from its own centroid.
///
/// Only points in clusters with more than one member are eligible, so
/// re-seeding never empties another cluster, and points already sitting on
/// a centroid (distance 0) are never moved: with duplicate points that
/// would just shuffle identical values around. Returns whether any point
/// was moved.
fn reseed_empty(data: &[f32], dim: usize, k: usize, centroids: &mut [f32], labels: &mut [usize], dists: &mut [f64]) -> bool {
    let mut counts = vec![0usize; k];
    for &l in labels.iter() {
        if let Some(c) = counts.get_mut(l) {
            *c += 1;
        }
    }
    let mut moved = false;
    for j in 0..k {
        if counts.get(j).copied().unwrap_or(0) > 0 {
            continue;
        }
        let Some(far) = farthest_movable(labels, dists, &counts) else {
            continue;
        };
        if let Some(old) = labels.get(far).and_then(|&l| counts.get_mut(l)) {
            *old -= 1;
        }
        if let (Some(l), Some(c), Some(d)) = (labels.get_mut(far), counts.get_mut(j), dists.get_mut(far)) {
            *l = j;
            *c = 1;
            *d = 0.0;
        }
        if let Some(dst) = centroids.get_mut(j * dim..(j + 1) * dim) {
            // zip rather than copy_from_slice: never panics on a length slip.
            for (d, &v) in dst.iter_mut().zip(row(data, dim, far)) {
                *d = v;
            }
        }
        moved = true;
    }
    moved
}

/// Point with the largest positive distance whose cluster has >1 member.
fn farthest_movable(labels: &[usize], dists: &[f64], counts: &[usize]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (&l, &d)) in labels.iter().zip(dists).enumerate() {
        let movable = counts.get(l).copied().unwrap_or(0) > 1 && d > 0.0;
        if movable && best.is_none_or(|(_, bd)| d > bd) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// Replaces each non-empty cluster's centroid by the mean of its points,
/// accumulated in f64 to avoid f32 round-off on large clusters.
fn update_means(data: &[f32], dim: usize, k: usize, labels: &[usize], centroids: &mut [f32]) {
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        if let (Some(acc), Some(c)) = (sums.get_mut(l * dim..(l + 1) * dim), counts.get_mut(l)) {
            *c += 1;
            for (a, &v) in acc.iter_mut().zip(row(data, dim, i)) {
                *a += f64::from(v);
            }
        }
    }
    for (j, &c) in counts.iter().enumerate() {
        // An empty cluster keeps its previous centroid.
        if c == 0 {
            continue;
        }
        let (Some(dst), Some(src)) = (centroids.get_mut(j * dim..(j + 1) * dim), sums.get(j * dim..(j + 1) * dim)) else {
            continue;
        };
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = (s / c as f64) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_assignment_measures_distance_in_standardised_units() {
        // Dimension 0 spreads over +-50, dimension 1 over +-1.
        let data = [50.0f32, 0.0, -50.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let (mean, scale) = unit_variance_scales(&data, 2);
        assert_eq!(mean, vec![0.0, 0.0]);
        let expected = 1.0 / (1250.0f32).sqrt();
        assert!((scale[0] - expected).abs() < 1e-7 && (scale[1] - 1.0 / 0.5f32.sqrt()).abs() < 1e-6, "{scale:?}");
        // The point (0, 0.9) is nearer (0, 0) than (10, 1) in raw units, and
        // nearer (10, 1) once the first dimension's gap of 10 shrinks to 0.28.
        let centroids = [0.0f32, 0.0, 10.0, 1.0];
        let point = [0.0f32, 0.9];
        assert_eq!(assign_scaled(&centroids, 2, &point, None), vec![0]);
        assert_eq!(assign_scaled(&centroids, 2, &point, Some(&scale)), vec![1]);
        // Nothing spreads: every scale is 1; no dimensions, no scales.
        assert_eq!(unit_variance_scales(&[3.0, 1.0, 3.0, 1.0], 2).1, vec![1.0, 1.0]);
        assert_eq!(unit_variance_scales(&[], 0), (vec![], vec![]));
        // Standardising: (value - mean) * scale, row by row.
        assert_eq!(standardise(&[2.0, 5.0, 0.0, 1.0], &[1.0, 1.0], &[3.0, 0.5]), vec![3.0, 2.0, -3.0, 0.0]);
        assert_eq!(standardise(&[1.0], &[], &[]), Vec::<f32>::new());
    }

    #[test]
    fn normalized_assignment_follows_direction_not_distance() {
        // Rows of length 5 and 0.5 along (3, 4) become (0.6, 0.8); a row at
        // the origin has no direction and stays zero.
        let mut rows = [3.0f32, 4.0, 0.3, 0.4, 0.0, 0.0];
        unit_rows(&mut rows, 2);
        for (a, b) in rows.iter().zip([0.6f32, 0.8, 0.6, 0.8, 0.0, 0.0]) {
            assert!((a - b).abs() < 1e-6, "{rows:?}");
        }
        // Directions east and north around the mean (1, 1): a point far out
        // east and one just east of the mean are both east, whatever their
        // distance from it.
        let directions = [1.0f32, 0.0, 0.0, 1.0];
        let mean = [1.0f32, 1.0];
        let data = [11.0f32, 1.0, 1.2, 1.1, 1.0, 9.0];
        assert_eq!(assign_directions(&directions, &data, &mean, None), vec![0, 0, 1]);
        // Scales act before the length is taken: dimension 0 shrunk 100
        // times turns (1.2, 1.1)'s deviation (0.2, 0.1) north.
        assert_eq!(assign_directions(&directions, &data, &mean, Some(&[0.01, 1.0])), vec![0, 1, 1]);
        assert!(assign_directions(&directions, &data, &[], None).is_empty());
    }

    #[test]
    fn member_means_average_each_cluster_and_keep_the_fallback_for_empty_ones() {
        let data = [0.0f32, 2.0, 4.0, 10.0];
        let fallback = [7.0f32, 8.0, 9.0];
        assert_eq!(member_means(&data, 1, &[0, 0, 0, 2], 3, &fallback), vec![2.0, 8.0, 10.0]);
    }

    #[test]
    fn nearly_constant_dimensions_are_not_blown_up_to_unit_variance() {
        // Dimension 0 has standard deviation 1, dimension 1 0.001 (noise
        // from a collapsed latent), dimension 2 none: both are scaled as
        // having a spread of 0.01, not to unit variance.
        let data = [1.0f32, 0.001, 5.0, -1.0, -0.001, 5.0];
        let (_, scale) = unit_variance_scales(&data, 3);
        assert!((scale[0] - 1.0).abs() < 1e-6, "{scale:?}");
        assert!((scale[1] - 100.0).abs() < 1e-3 && (scale[2] - 100.0).abs() < 1e-3, "{scale:?}");
    }

    fn opts(k: usize, restarts: usize, seed: u64) -> KMeansOptions {
        KMeansOptions { k, restarts, max_iter: 100, seed }
    }

    /// Three tight, far-apart 2-D blobs; returns (data, true labels).
    fn blobs() -> (Vec<f32>, Vec<usize>) {
        let centres = [(0.0f32, 0.0f32), (10.0, 10.0), (-10.0, 10.0)];
        let mut rng = StdRng::seed_from_u64(7);
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for i in 0..90 {
            let c = i % 3;
            data.push(centres[c].0 + rng.random_range(-0.5..0.5));
            data.push(centres[c].1 + rng.random_range(-0.5..0.5));
            truth.push(c);
        }
        (data, truth)
    }

    /// True when `a` and `b` define the same partition (labels up to renaming).
    fn same_partition(a: &[usize], b: &[usize]) -> bool {
        let mut map = std::collections::HashMap::new();
        let mut rev = std::collections::HashMap::new();
        a.iter().zip(b).all(|(x, y)| *map.entry(*x).or_insert(*y) == *y && *rev.entry(*y).or_insert(*x) == *x)
    }

    #[test]
    fn recovers_separated_blobs() {
        let (data, truth) = blobs();
        for seed in 0..10 {
            let fit = fit_kmeans(&data, 2, &opts(3, 5, seed)).unwrap();
            assert!(same_partition(&fit.labels, &truth), "seed {seed}");
            assert_eq!(fit.centroids.len(), 6);
            assert_eq!(assign(&fit.centroids, 2, &data), fit.labels);
        }
    }

    #[test]
    fn deterministic_for_same_seed() {
        let mut rng = StdRng::seed_from_u64(1);
        let data: Vec<f32> = (0..400).map(|_| rng.random_range(-1.0..1.0)).collect();
        let a = fit_kmeans(&data, 4, &opts(5, 3, 42)).unwrap();
        let b = fit_kmeans(&data, 4, &opts(5, 3, 42)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn more_restarts_never_increase_inertia() {
        let mut rng = StdRng::seed_from_u64(3);
        let data: Vec<f32> = (0..600).map(|_| rng.random_range(-1.0..1.0)).collect();
        for seed in 0..5 {
            let mut prev = f64::INFINITY;
            for restarts in 1..=6 {
                let fit = fit_kmeans(&data, 3, &opts(6, restarts, seed)).unwrap();
                assert!(fit.inertia <= prev, "seed {seed} restarts {restarts}");
                prev = fit.inertia;
            }
        }
    }

    #[test]
    fn hand_computed_tiny_case() {
        // 1-D points {0, 1} and {10, 12}: means 0.5 and 11,
        // inertia 0.25 + 0.25 + 1 + 1 = 2.5.
        let data = [0.0f32, 1.0, 10.0, 12.0];
        let fit = fit_kmeans(&data, 1, &opts(2, 3, 0)).unwrap();
        assert!(same_partition(&fit.labels, &[0, 0, 1, 1]));
        let mut c = fit.centroids.clone();
        c.sort_by(f32::total_cmp);
        assert_eq!(c, vec![0.5, 11.0]);
        assert!((fit.inertia - 2.5).abs() < 1e-9);
    }

    #[test]
    fn k_one_gives_mean_and_variance() {
        // 2-D square corners: mean (1, 1), inertia 4 * 2 = 8.
        let data = [0.0f32, 0.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0];
        let fit = fit_kmeans(&data, 2, &opts(1, 1, 9)).unwrap();
        assert_eq!(fit.centroids, vec![1.0, 1.0]);
        assert_eq!(fit.labels, vec![0; 4]);
        assert!((fit.inertia - 8.0).abs() < 1e-9);
    }

    #[test]
    fn duplicates_fewer_distinct_than_k() {
        // Only two distinct points but k = 4: must terminate without panic.
        let data = [1.0f32, 1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0, 1.0, 1.0];
        for seed in 0..20 {
            let fit = fit_kmeans(&data, 2, &opts(4, 3, seed)).unwrap();
            assert_eq!(fit.labels.len(), 5);
            assert_eq!(fit.inertia, 0.0);
            assert!(same_partition(&fit.labels, &[0, 0, 1, 1, 0]));
        }
        // All identical.
        let same = [3.0f32; 12];
        let fit = fit_kmeans(&same, 3, &opts(4, 2, 1)).unwrap();
        assert_eq!(fit.inertia, 0.0);
        assert_eq!(fit.centroids, vec![3.0; 12]);
    }

    #[test]
    fn empty_cluster_is_reseeded() {
        // Centroids where cluster 2 starts empty; re-seeding should give it
        // the outlier (the point farthest from its centroid).
        let data = [0.0f32, 0.1, 0.2, 5.0, 5.1, 20.0];
        let mut centroids = vec![0.1f32, 5.05, 100.0];
        let mut labels = vec![usize::MAX; 6];
        let mut dists = vec![0.0; 6];
        assign_step(&data, 1, &centroids, &mut labels, &mut dists);
        assert_eq!(labels, vec![0, 0, 0, 1, 1, 1]);
        assert!(reseed_empty(&data, 1, 3, &mut centroids, &mut labels, &mut dists));
        assert_eq!(labels, vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(centroids[2], 20.0);
    }

    #[test]
    fn max_iter_zero_keeps_init_and_consistent_labels() {
        let (data, _) = blobs();
        let fit = fit_kmeans(&data, 2, &KMeansOptions { k: 3, restarts: 0, max_iter: 0, seed: 5 }).unwrap();
        assert_eq!(fit.iterations, 0);
        assert_eq!(assign(&fit.centroids, 2, &data), fit.labels);
        let recomputed: f64 =
            fit.labels.iter().enumerate().map(|(i, &l)| sq_dist(&data[i * 2..i * 2 + 2], &fit.centroids[l * 2..l * 2 + 2])).sum();
        assert!((recomputed - fit.inertia).abs() < 1e-9);
    }

    #[test]
    fn nearest_and_assign_edge_cases() {
        let c = [0.0f32, 0.0, 10.0, 0.0];
        assert_eq!(nearest_centroid(&c, 2, &[6.0, 1.0]), 1);
        assert_eq!(nearest_centroid(&c, 2, &[5.0, 0.0]), 0); // tie -> lowest
        assert_eq!(nearest_centroid(&[], 2, &[1.0, 1.0]), 0);
        assert_eq!(nearest_centroid(&c, 0, &[1.0]), 0);
        assert_eq!(assign(&c, 2, &[9.0, 0.0, 1.0, 1.0, 7.0]), vec![1, 0]);
        assert!(assign(&c, 0, &[1.0]).is_empty());
    }

    #[test]
    fn error_cases() {
        let data = [0.0f32, 1.0, 2.0, 3.0];
        assert_eq!(fit_kmeans(&data, 1, &opts(0, 1, 0)), Err(ClusterError::ZeroClusters));
        assert_eq!(fit_kmeans(&data, 0, &opts(1, 1, 0)), Err(ClusterError::ZeroDim));
        assert_eq!(fit_kmeans(&data, 3, &opts(1, 1, 0)), Err(ClusterError::LengthNotMultiple { len: 4, dim: 3 }));
        let err = fit_kmeans(&data, 2, &opts(3, 1, 0)).unwrap_err();
        assert_eq!(err, ClusterError::TooFewPoints { points: 2, k: 3 });
        assert_eq!(err.to_string(), "need at least k = 3 points, got 2");
        assert_eq!(fit_kmeans(&[0.0, 1.0, f32::NAN, 2.0], 1, &opts(1, 1, 0)), Err(ClusterError::NonFinite { index: 2 }));
        assert_eq!(fit_kmeans(&[0.0, 1.0, 2.0, f32::INFINITY], 2, &opts(1, 1, 0)), Err(ClusterError::NonFinite { index: 1 }));
        assert!(fit_kmeans(&[], 1, &opts(1, 1, 0)).is_err());
    }
}
