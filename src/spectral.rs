//! Spectral clustering of latent vectors on their nearest-neighbour graph,
//! and the nearest-neighbour vote that assigns later points to its clusters.
//!
//! k-means cuts the latent space into convex cells around centroids, so it
//! follows whichever variation is largest. The latents of one class often
//! lie along a curved, connected strip instead; a graph that joins each
//! point to its nearest neighbours follows such strips, and the leading
//! eigenvectors of its normalised adjacency embed the points so that
//! k-means on them cuts the graph where it is thinly connected (Ng, Jordan
//! and Weiss 2001; von Luxburg 2007). The construction follows
//! scikit-learn's `SpectralClustering(affinity="nearest_neighbors",
//! assign_labels="kmeans")`, whose figures on the quality suite chose it:
//! a binary k-nearest-neighbour graph (each point its own neighbour) made
//! symmetric as `(C + Cᵀ) / 2`, the embedding `D^-1/2 U` of the `k`
//! leading eigenvectors `U` of `D^-1/2 A D^-1/2`, and k-means on its rows;
//! with `spectral_cut: "mixture"` (the default) a diagonal Gaussian mixture
//! ([`crate::mixture`]) started from that k-means cut has the last word.
//!
//! Points are compared by [`Distance`]: squared Euclidean distance, or for
//! `spectral_series` points (a latent beside a shape) the latent part's
//! plus the shape part's at its best-aligned shift in time.
//!
//! The graph needs every pair's distance, so it is built on at most
//! [`MAX_GRAPH_POINTS`] evenly spaced points; every point, those included,
//! then takes the label its [`NEIGHBOURS`] nearest graph points vote for,
//! each weighted by closeness (a graph point keeps its own label): the same
//! rule that assigns a latent embedded later. A graph point's nearest graph
//! points are those the graph was built from, so only the other points are
//! searched.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::cluster::{fit_kmeans, row, sq_dist, validate, ClusterError, KMeansOptions};
use crate::config::SpectralCut;
use crate::eigen::symmetric_eigen;
use crate::mixture::refine_by_mixture;

/// Neighbours each point is joined to in the graph (itself included), and
/// the neighbours that vote when a point is assigned.
pub const NEIGHBOURS: usize = 10;

/// Most points the graph is built on: its cost grows with their square
/// (all pairwise distances), and a few thousand points already trace the
/// latent space's strips.
pub const MAX_GRAPH_POINTS: usize = 4000;

/// Extra vectors iterated beside the `k` wanted ones: subspace iteration
/// converges at the rate of the gap between the `k`-th eigenvalue and the
/// first one outside the block, which a few extra vectors widen.
const OVERSAMPLING: usize = 8;

/// Subspace iterations at most, and how often the block is rotated onto its
/// Ritz vectors (where convergence is checked).
const MAX_ITERATIONS: usize = 3000;
const RAYLEIGH_RITZ_EVERY: usize = 10;

/// A wanted eigenvector counts as converged once its residual
/// `|T u - θ u|` is below this.
const RESIDUAL_TOLERANCE: f64 = 1e-7;

/// How two points are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distance {
    /// Squared Euclidean distance.
    Euclidean,
    /// Squared Euclidean distance over the first `head` values, plus over
    /// the rest (a shape of `steps` steps of `channels` values, time-major)
    /// the smallest over shifts of up to `max_lag` steps either way of
    /// `|a|^2 + |b|^2 - 2 <a shifted, b>`, the steps shifted past either end
    /// counting as zeros (k-Shape's cross-correlation); at shift 0 that is
    /// the squared Euclidean distance, so identical points stay at 0.
    ShiftedShape { head: usize, steps: usize, channels: usize, max_lag: usize },
}

impl Distance {
    /// The squared distance between `a` and `b` (of equal length).
    pub fn between(&self, a: &[f32], b: &[f32]) -> f64 {
        match self.shifted_parts(a.len()) {
            Some(ShiftedParts { head, channels, max_lag }) if b.len() == a.len() => {
                let b_shape = &b[head..];
                sq_dist(&a[..head], &b[..head]) + shifted_sq_dist(&a[head..], b_shape, dot(b_shape, b_shape), channels, max_lag)
            }
            _ => sq_dist(a, b),
        }
    }

    /// Where points of `width` values are compared over shifts: the latent
    /// part's width, the channels and the largest shift that fits the
    /// steps; `None` where they are compared step by step.
    fn shifted_parts(&self, width: usize) -> Option<ShiftedParts> {
        match *self {
            Distance::ShiftedShape { head, steps, channels, max_lag } if max_lag > 0 && width == head + steps * channels => {
                Some(ShiftedParts { head, channels, max_lag: max_lag.min(steps.saturating_sub(1)) })
            }
            _ => None,
        }
    }
}

/// How [`Distance::ShiftedShape`] splits and shifts points of its width.
#[derive(Clone, Copy)]
struct ShiftedParts {
    head: usize,
    channels: usize,
    max_lag: usize,
}

/// The smallest over shifts of `-max_lag..=max_lag` steps of the squared
/// distance between `a` shifted and `b` (`b_norm` is `|b|^2`), steps
/// shifted past an end taken as zeros (see [`Distance::ShiftedShape`]).
fn shifted_sq_dist(a: &[f32], b: &[f32], b_norm: f64, channels: usize, max_lag: usize) -> f64 {
    let norms = dot(a, a) + b_norm;
    let mut best = sq_dist(a, b);
    for lag in 1..=max_lag {
        let cut = (lag * channels).min(a.len());
        // a moved `lag` steps later against b, then earlier.
        let later = dot(&a[..a.len() - cut], &b[cut..]);
        let earlier = dot(&a[cut..], &b[..b.len() - cut]);
        best = best.min(norms - 2.0 * later.max(earlier));
    }
    best.max(0.0)
}

/// Inner product, eight lanes at a time so that it vectorises (a float sum
/// in one running total cannot be reordered), in f32 per lane and f64 over
/// the lanes.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().map(|&v| f64::from(v)).sum::<f64>() + tail
}

/// A spectral clustering: the graph's points and their labels, which is
/// all that assigning later points needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralFit {
    /// Number of clusters.
    pub k: usize,
    /// The graph's points, row-major, `dim` values each.
    pub points: Vec<f32>,
    /// Cluster of each graph point, in `0..k`.
    pub labels: Vec<usize>,
    /// Cluster of every input point by the neighbour vote.
    pub assignments: Vec<usize>,
}

/// Clusters `data` (row-major, `dim` values per point) into `opts.k` groups
/// on its nearest-neighbour graph; `opts` also drives the k-means that cuts
/// the spectral embedding (and starts the mixture, with `cut` `Mixture`).
/// The same inputs and seed give the same fit.
pub fn fit_spectral(
    data: &[f32],
    dim: usize,
    distance: Distance,
    opts: &KMeansOptions,
    cut: SpectralCut,
) -> Result<SpectralFit, ClusterError> {
    let embedding = SpectralEmbedding::new(data, dim, distance, opts.k, opts.seed)?;
    embedding.clusters(opts, cut)
}

/// The graph of up to [`MAX_GRAPH_POINTS`] points and the leading
/// eigenvectors of its normalised adjacency, computed once so that several
/// numbers of clusters up to `max_k` can be cut from it.
#[derive(Debug, Clone)]
pub struct SpectralEmbedding<'a> {
    data: &'a [f32],
    dim: usize,
    distance: Distance,
    points: Vec<f32>,
    /// The input row each graph point is, ascending.
    chosen: Vec<usize>,
    /// Each graph point's nearest graph points, as [`nearest_points`] finds
    /// them: a graph point's vote reads them instead of searching again.
    neighbours: Vec<Vec<(f64, usize)>>,
    /// `D^-1/2 U`: `rows x max_k`, row-major, leading eigenvector first.
    coordinates: Vec<f64>,
    max_k: usize,
}

impl<'a> SpectralEmbedding<'a> {
    /// Builds the graph on `data` and embeds it with `max_k` eigenvectors.
    pub fn new(data: &'a [f32], dim: usize, distance: Distance, max_k: usize, seed: u64) -> Result<Self, ClusterError> {
        let n = validate(data, dim, max_k)?;
        let chosen = evenly_spaced(n, MAX_GRAPH_POINTS);
        let points: Vec<f32> = chosen.iter().flat_map(|&i| row(data, dim, i).iter().copied()).collect();
        let rows = chosen.len();
        if rows < max_k {
            return Err(ClusterError::TooFewPoints { points: rows, k: max_k });
        }
        let neighbours = neighbour_lists(&points, dim, distance, NEIGHBOURS);
        let graph = Graph::from_neighbours(&neighbours);
        let vectors = graph.leading_eigenvectors(max_k, seed);
        let mut coordinates = vec![0.0; rows * max_k];
        for i in 0..rows {
            let inverse_sqrt_degree = 1.0 / graph.degree[i].sqrt();
            for c in 0..max_k {
                coordinates[i * max_k + c] = vectors[i * max_k + c] * inverse_sqrt_degree;
            }
        }
        Ok(Self { data, dim, distance, points, chosen, neighbours, coordinates, max_k })
    }

    /// Cuts the embedding's first `opts.k` coordinates into `opts.k`
    /// clusters by k-means (refined by a diagonal Gaussian mixture with
    /// `cut` `Mixture`), then assigns every input point by the vote.
    pub fn clusters(&self, opts: &KMeansOptions, cut: SpectralCut) -> Result<SpectralFit, ClusterError> {
        let labels = self.kmeans_cut(opts)?;
        Ok(self.placed(opts.k, self.refined(opts.k, labels, cut)?))
    }

    /// The graph points' clusters by k-means on the embedding's first
    /// `opts.k` coordinates.
    pub(crate) fn kmeans_cut(&self, opts: &KMeansOptions) -> Result<Vec<usize>, ClusterError> {
        let k = opts.k;
        if k == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if k > self.max_k {
            return Err(ClusterError::TooFewPoints { points: self.max_k, k });
        }
        Ok(fit_kmeans(&self.leading(k), k, opts)?.labels)
    }

    /// The `k` graph clusters `labels` (a [`Self::kmeans_cut`]) as `cut`
    /// leaves them: as they are, or refined by a diagonal Gaussian mixture.
    pub(crate) fn refined(&self, k: usize, labels: Vec<usize>, cut: SpectralCut) -> Result<Vec<usize>, ClusterError> {
        match cut {
            SpectralCut::Kmeans => Ok(labels),
            SpectralCut::Mixture => refine_by_mixture(&self.leading(k), k, &labels, k),
        }
    }

    /// The fit whose graph points have the `k` clusters `labels`, every
    /// input row placed by the vote.
    pub(crate) fn placed(&self, k: usize, labels: Vec<usize>) -> SpectralFit {
        let assignments = (0..self.data.len() / self.dim).into_par_iter().map(|i| self.place(&labels, k, i)).collect();
        SpectralFit { k, points: self.points.clone(), labels, assignments }
    }

    /// The clusters the input rows `rows` get from graph points with the
    /// `k` clusters `labels`: what choosing k reads, at the cost of those
    /// rows' votes only.
    pub(crate) fn assignments_at(&self, labels: &[usize], k: usize, rows: &[usize]) -> Vec<usize> {
        rows.par_iter().map(|&i| self.place(labels, k, i)).collect()
    }

    /// The embedding's first `k` coordinates, row-major, as k-means and the
    /// mixture take them.
    fn leading(&self, k: usize) -> Vec<f32> {
        self.coordinates.chunks_exact(self.max_k).flat_map(|row| row.iter().take(k).map(|&v| v as f32)).collect()
    }

    /// Input row `i`'s cluster by the vote of its nearest graph points; a
    /// graph point's nearest points are those the graph found for it.
    fn place(&self, labels: &[usize], k: usize, i: usize) -> usize {
        match self.chosen.binary_search(&i) {
            Ok(graph_point) => vote_among(&self.neighbours[graph_point], labels, k),
            Err(_) => vote(&self.points, labels, self.dim, self.distance, k, row(self.data, self.dim, i)),
        }
    }
}

/// The cluster of `query` among `points` (row-major, `dim` wide) labelled
/// `labels` (in `0..k`): the label of its [`NEIGHBOURS`] nearest points,
/// each weighted by the inverse of its distance, as scikit-learn's
/// `KNeighborsClassifier(weights="distance")` does; points at distance 0
/// (a latent the graph was built on) decide alone, so every graph point
/// keeps its own cluster. Ties in weight go to the label whose point is
/// nearest, ties in distance to the lower point index. Returns 0 when
/// there are no points.
pub fn vote(points: &[f32], labels: &[usize], dim: usize, distance: Distance, k: usize, query: &[f32]) -> usize {
    if dim == 0 || k == 0 {
        return 0;
    }
    vote_among(&nearest_points(points, dim, distance, query, NEIGHBOURS), labels, k)
}

/// [`vote`] given the query's nearest points (squared distance, index),
/// nearest first.
fn vote_among(nearest: &[(f64, usize)], labels: &[usize], k: usize) -> usize {
    let exact = nearest.iter().take_while(|&&(d, _)| d == 0.0).count();
    let mut weights = vec![0.0f64; k];
    for &(d, j) in nearest {
        let weight = if exact > 0 {
            if d == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 / d.sqrt()
        };
        if let Some(w) = labels.get(j).and_then(|&l| weights.get_mut(l)) {
            *w += weight;
        }
    }
    let most = weights.iter().copied().fold(0.0f64, f64::max);
    // `nearest` is sorted nearest first, so the first neighbour whose label
    // has the highest weight breaks ties by distance.
    nearest.iter().filter_map(|&(_, j)| labels.get(j).copied()).find(|&l| weights.get(l) == Some(&most)).unwrap_or(0)
}

/// The `m` nearest rows of `points` to `query` as (squared distance, index),
/// nearest first, ties by index.
fn nearest_points(points: &[f32], dim: usize, distance: Distance, query: &[f32], m: usize) -> Vec<(f64, usize)> {
    let by_distance = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if let Some(parts) = distance.shifted_parts(dim).filter(|_| query.len() == dim) {
        return nearest_by_latent_bound(points, dim, parts, query, m, by_distance);
    }
    let mut all: Vec<(f64, usize)> = points.chunks_exact(dim).map(|p| distance.between(p, query)).zip(0..).collect();
    let m = m.min(all.len());
    if m < all.len() {
        all.select_nth_unstable_by(m, by_distance);
        all.truncate(m);
    }
    all.sort_by(by_distance);
    all
}

/// [`nearest_points`] for a [`Distance::ShiftedShape`], whose shape part
/// costs a pass per shift: the latent part alone (the first `head` values)
/// is a lower bound of the whole distance, so points are taken in order of
/// it and the search stops once that bound exceeds the `m`-th nearest
/// distance found. The same points and order as comparing every point;
/// the bound is the whole distance's latent part, and the query's shape
/// norm is computed once.
fn nearest_by_latent_bound(
    points: &[f32],
    dim: usize,
    ShiftedParts { head, channels, max_lag }: ShiftedParts,
    query: &[f32],
    m: usize,
    by_distance: impl Fn(&(f64, usize), &(f64, usize)) -> std::cmp::Ordering,
) -> Vec<(f64, usize)> {
    let (query_head, query_shape) = query.split_at(head);
    let query_norm = dot(query_shape, query_shape);
    let mut bounds: Vec<(f64, usize)> = points.chunks_exact(dim).map(|p| sq_dist(&p[..head], query_head)).zip(0..).collect();
    bounds.sort_by(&by_distance);
    let mut nearest: Vec<(f64, usize)> = Vec::with_capacity(m + 1);
    for (bound, j) in bounds {
        if nearest.len() == m && nearest.last().is_some_and(|&(worst, _)| bound > worst) {
            break;
        }
        let shape = &points[j * dim + head..(j + 1) * dim];
        let candidate = (bound + shifted_sq_dist(shape, query_shape, query_norm, channels, max_lag), j);
        let at = nearest.partition_point(|kept| by_distance(kept, &candidate).is_lt());
        nearest.insert(at, candidate);
        nearest.truncate(m);
    }
    nearest
}

/// Each point's `m` nearest among `points` (itself included), as
/// [`nearest_points`] finds them.
fn neighbour_lists(points: &[f32], dim: usize, distance: Distance, m: usize) -> Vec<Vec<(f64, usize)>> {
    points.par_chunks_exact(dim).map(|p| nearest_points(points, dim, distance, p, m)).collect()
}

/// The symmetric nearest-neighbour graph: weight 1 where both points count
/// each other among their neighbours (a point and itself included), 1/2
/// where one does.
#[derive(Debug, Clone)]
struct Graph {
    /// Each point's neighbours and the edge weights, sorted by index.
    edges: Vec<Vec<(usize, f64)>>,
    /// Sum of each point's edge weights (at least 1: its edge to itself).
    degree: Vec<f64>,
}

impl Graph {
    /// The symmetrised graph of each point's nearest points (`neighbours`,
    /// one list per point, itself included).
    fn from_neighbours(neighbours: &[Vec<(f64, usize)>]) -> Self {
        let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); neighbours.len()];
        for (i, nearest) in neighbours.iter().enumerate() {
            for &(_, j) in nearest {
                edges[i].push((j, 0.5));
                edges[j].push((i, 0.5));
            }
        }
        for list in &mut edges {
            list.sort_by_key(|&(j, _)| j);
            list.dedup_by(|b, a| {
                // Two half edges between the same pair are one full edge.
                if a.0 == b.0 {
                    a.1 += b.1;
                    true
                } else {
                    false
                }
            });
        }
        let degree = edges.iter().map(|list| list.iter().map(|&(_, w)| w).sum()).collect();
        Self { edges, degree }
    }

    /// `y = T x` for `T = (I + D^-1/2 A D^-1/2) / 2`, on `b` columns at once
    /// (row-major `rows x b`). `T` has the eigenvectors of the normalised
    /// adjacency and its eigenvalues moved from [-1, 1] to [0, 1], so the
    /// wanted ones (the largest) are also the largest in magnitude, which
    /// is what subspace iteration finds.
    fn apply(&self, x: &[f64], b: usize, y: &mut [f64]) {
        for (i, list) in self.edges.iter().enumerate() {
            let row = &mut y[i * b..(i + 1) * b];
            row.copy_from_slice(&x[i * b..(i + 1) * b]);
            for &(j, w) in list {
                let scale = w / (self.degree[i] * self.degree[j]).sqrt();
                for (out, &v) in row.iter_mut().zip(&x[j * b..(j + 1) * b]) {
                    *out += scale * v;
                }
            }
            for out in row.iter_mut() {
                *out *= 0.5;
            }
        }
    }

    /// The `k` leading eigenvectors, `rows x k` row-major, by block subspace
    /// iteration with Rayleigh-Ritz rotations; each is signed so that its
    /// largest-magnitude entry is positive. Stops when every wanted vector's
    /// residual is below [`RESIDUAL_TOLERANCE`], or after [`MAX_ITERATIONS`]
    /// (the subspace is then still a close approximation; k-means on it
    /// does not need more).
    fn leading_eigenvectors(&self, k: usize, seed: u64) -> Vec<f64> {
        let rows = self.edges.len();
        let b = (k + OVERSAMPLING).min(rows);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut x: Vec<f64> = (0..rows * b).map(|_| rng.random::<f64>() - 0.5).collect();
        orthonormalise(&mut x, rows, b, &mut rng);
        let mut y = vec![0.0; rows * b];
        for iteration in 1..=MAX_ITERATIONS {
            self.apply(&x, b, &mut y);
            std::mem::swap(&mut x, &mut y);
            orthonormalise(&mut x, rows, b, &mut rng);
            if iteration % RAYLEIGH_RITZ_EVERY == 0 || iteration == MAX_ITERATIONS {
                let values = self.rayleigh_ritz(&mut x, rows, b, &mut y);
                if iteration == MAX_ITERATIONS || self.converged(&x, &values, rows, b, k, &mut y) {
                    break;
                }
            }
        }
        let mut out = vec![0.0; rows * k];
        for c in 0..k {
            let pivot = (0..rows).map(|i| x[i * b + c]).fold(0.0f64, |best, v| if v.abs() > best.abs() { v } else { best });
            let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
            for i in 0..rows {
                out[i * k + c] = sign * x[i * b + c];
            }
        }
        out
    }

    /// Rotates the orthonormal block `x` onto the Ritz vectors of `T` in
    /// its span, largest Ritz value first, and returns the Ritz values.
    fn rayleigh_ritz(&self, x: &mut [f64], rows: usize, b: usize, scratch: &mut [f64]) -> Vec<f64> {
        self.apply(x, b, scratch);
        let mut h = vec![0.0; b * b];
        for i in 0..rows {
            let (xi, ti) = (&x[i * b..(i + 1) * b], &scratch[i * b..(i + 1) * b]);
            for p in 0..b {
                for q in 0..b {
                    h[p * b + q] += xi[p] * ti[q];
                }
            }
        }
        // Symmetric in exact arithmetic; average away the round-off.
        for p in 0..b {
            for q in p + 1..b {
                let mean = 0.5 * (h[p * b + q] + h[q * b + p]);
                h[p * b + q] = mean;
                h[q * b + p] = mean;
            }
        }
        let (values, vectors) = symmetric_eigen(&h, b);
        let mut rotated = vec![0.0; b];
        for i in 0..rows {
            let xi = &mut x[i * b..(i + 1) * b];
            for (c, out) in rotated.iter_mut().enumerate() {
                *out = (0..b).map(|p| xi[p] * vectors[p * b + c]).sum();
            }
            xi.copy_from_slice(&rotated);
        }
        values
    }

    /// Whether the first `k` columns of `x` (Ritz vectors with Ritz values
    /// `values`) have residuals below [`RESIDUAL_TOLERANCE`].
    fn converged(&self, x: &[f64], values: &[f64], rows: usize, b: usize, k: usize, scratch: &mut [f64]) -> bool {
        self.apply(x, b, scratch);
        (0..k).all(|c| {
            let residual: f64 = (0..rows).map(|i| (scratch[i * b + c] - values[c] * x[i * b + c]).powi(2)).sum();
            residual.sqrt() < RESIDUAL_TOLERANCE
        })
    }
}

/// Modified Gram-Schmidt on the `b` columns of row-major `rows x b` `x`; a
/// column that is (numerically) in the span of the ones before it is drawn
/// again at random, so the block keeps full rank.
fn orthonormalise(x: &mut [f64], rows: usize, b: usize, rng: &mut StdRng) {
    for c in 0..b {
        for attempt in 0..3 {
            for p in 0..c {
                let dot: f64 = (0..rows).map(|i| x[i * b + c] * x[i * b + p]).sum();
                for i in 0..rows {
                    x[i * b + c] -= dot * x[i * b + p];
                }
            }
            let norm = (0..rows).map(|i| x[i * b + c].powi(2)).sum::<f64>().sqrt();
            if norm > 1e-10 {
                for i in 0..rows {
                    x[i * b + c] /= norm;
                }
                break;
            }
            for i in 0..rows {
                x[i * b + c] = if attempt < 2 { rng.random::<f64>() - 0.5 } else { 0.0 };
            }
        }
    }
}

/// `count` indices spread evenly over `0..n` (all of them when `n <= count`).
pub(crate) fn evenly_spaced(n: usize, count: usize) -> Vec<usize> {
    if n <= count {
        return (0..n).collect();
    }
    (0..count).map(|i| i * n / count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(k: usize) -> KMeansOptions {
        KMeansOptions { k, restarts: 10, max_iter: 300, seed: 7 }
    }

    /// Two concentric rings: k-means cuts them in half across both; the
    /// graph keeps each ring together.
    fn rings(per_ring: usize) -> (Vec<f32>, Vec<usize>) {
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for (ring, radius) in [1.0f32, 4.0].into_iter().enumerate() {
            for i in 0..per_ring {
                let angle = i as f32 / per_ring as f32 * std::f32::consts::TAU;
                data.extend([radius * angle.cos(), radius * angle.sin()]);
                truth.push(ring);
            }
        }
        (data, truth)
    }

    fn agreement(a: &[usize], b: &[usize]) -> f64 {
        // Two clusters: the share of points on which the labellings agree up
        // to swapping the labels.
        let same = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
        same.max(1.0 - same)
    }

    #[test]
    fn rings_are_separated_where_kmeans_cuts_across_them() {
        let (data, truth) = rings(120);
        for cut in [SpectralCut::Kmeans, SpectralCut::Mixture] {
            let fit = fit_spectral(&data, 2, Distance::Euclidean, &opts(2), cut).expect("fit");
            assert_eq!(agreement(&fit.assignments, &truth), 1.0, "{cut:?}");
            assert_eq!(fit.labels, fit.assignments, "every point is a graph point here, and the vote keeps its label");
        }
        let kmeans = fit_kmeans(&data, 2, &opts(2)).expect("kmeans").labels;
        assert!(agreement(&kmeans, &truth) < 0.8, "k-means should cut across the rings");
    }

    #[test]
    fn a_later_point_joins_the_ring_it_lies_on() {
        let (data, _) = rings(120);
        let fit = fit_spectral(&data, 2, Distance::Euclidean, &opts(2), SpectralCut::Kmeans).expect("fit");
        let inner = fit.labels[0];
        let outer = fit.labels[120];
        assert_ne!(inner, outer);
        assert_eq!(vote(&fit.points, &fit.labels, 2, Distance::Euclidean, 2, &[0.0, 1.05]), inner);
        assert_eq!(vote(&fit.points, &fit.labels, 2, Distance::Euclidean, 2, &[-3.9, 0.1]), outer);
    }

    /// The graph of each point's `m` nearest points, step by step.
    fn graph_of(data: &[f32], dim: usize, m: usize) -> Graph {
        Graph::from_neighbours(&neighbour_lists(data, dim, Distance::Euclidean, m))
    }

    #[test]
    fn every_input_point_is_placed_by_the_vote_of_its_nearest_graph_points() {
        // More points than the graph takes, with exact duplicates (points at
        // distance 0 decide alone), under both distances: graph points
        // reuse the graph's neighbour lists, the others are searched, and
        // every one must get what the vote gives it.
        let mut rng = StdRng::seed_from_u64(11);
        let (head, steps) = (2, 6);
        let dim = head + steps;
        let n = MAX_GRAPH_POINTS + 300;
        let mut data: Vec<f32> = Vec::with_capacity(n * dim);
        for i in 0..n {
            if i % 7 == 3 {
                let copy = data[(i - 1) * dim..i * dim].to_vec();
                data.extend(copy);
            } else {
                let centre = (i % 3) as f32 * 2.0;
                data.extend((0..dim).map(|_| centre + rng.random_range(-1.0f32..1.0)));
            }
        }
        for distance in [Distance::Euclidean, Distance::ShiftedShape { head, steps, channels: 1, max_lag: 2 }] {
            let fit = fit_spectral(&data, dim, distance, &opts(3), SpectralCut::Kmeans).expect("fit");
            assert_eq!(fit.points.len(), MAX_GRAPH_POINTS * dim);
            let by_vote: Vec<usize> = data.chunks_exact(dim).map(|p| vote(&fit.points, &fit.labels, dim, distance, 3, p)).collect();
            assert_eq!(fit.assignments, by_vote, "{distance:?}");
            assert!((0..3).all(|c| fit.assignments.contains(&c)), "{distance:?}");
            // Placing some rows only gives them the same clusters.
            let embedding = SpectralEmbedding::new(&data, dim, distance, 3, opts(3).seed).expect("embedding");
            let rows: Vec<usize> = (0..n).step_by(13).chain([n - 1]).collect();
            let some = embedding.assignments_at(&embedding.kmeans_cut(&opts(3)).expect("cut"), 3, &rows);
            assert_eq!(some, rows.iter().map(|&i| fit.assignments[i]).collect::<Vec<_>>(), "{distance:?}");
        }
    }

    #[test]
    fn the_eigenvectors_are_those_of_the_normalised_adjacency() {
        // 120 points a ring keep every point's neighbours on its own ring.
        let (data, _) = rings(120);
        let graph = graph_of(&data, 2, NEIGHBOURS);
        let k = 4;
        let u = graph.leading_eigenvectors(k, 3);
        let rows = data.len() / 2;
        let mut tu = vec![0.0; rows * k];
        graph.apply(&u, k, &mut tu);
        for c in 0..k {
            let column: Vec<f64> = (0..rows).map(|i| u[i * k + c]).collect();
            let image: Vec<f64> = (0..rows).map(|i| tu[i * k + c]).collect();
            let theta: f64 = column.iter().zip(&image).map(|(a, b)| a * b).sum();
            let residual: f64 = column.iter().zip(&image).map(|(a, b)| (b - theta * a).powi(2)).sum::<f64>().sqrt();
            assert!(residual < 1e-6, "vector {c}: residual {residual}");
            assert!((column.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-9);
        }
        // Two disconnected rings: eigenvalue 1 of T twice (one per ring).
        let first: Vec<f64> = (0..2).map(|c| (0..rows).map(|i| u[i * k + c] * tu[i * k + c]).sum()).collect();
        assert!(first.iter().all(|&t| (t - 1.0).abs() < 1e-9), "{first:?}");
    }

    #[test]
    fn the_graph_is_symmetric_with_half_and_full_edges() {
        let data = [0.0f32, 1.0, 2.0, 10.0];
        let graph = graph_of(&data, 1, 2);
        for (i, list) in graph.edges.iter().enumerate() {
            for &(j, w) in list {
                let back = graph.edges[j].iter().find(|&&(t, _)| t == i).map(|&(_, w)| w);
                assert_eq!(back, Some(w), "edge {i}-{j}");
                assert!(w == 0.5 || w == 1.0);
            }
        }
        // Each point is its own nearest neighbour: a full self edge.
        assert!(graph.edges.iter().enumerate().all(|(i, l)| l.contains(&(i, 1.0))));
        // 10.0's nearest other point is 2.0, which does not pick it back.
        assert!(graph.edges[3].contains(&(2, 0.5)));
    }

    #[test]
    fn vote_weights_neighbours_by_closeness_and_a_graph_point_keeps_its_label() {
        let points: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let labels = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1];
        // At 0.5: weights 2 + 2 + 2/3 for label 0 against 1/2.5 + 1/3.5 +
        // ... + 1/8.5 (about 1.5) for label 1.
        assert_eq!(vote(&points, &labels, 1, Distance::Euclidean, 2, &[0.5]), 0);
        // Point 3 is a graph point labelled 1: it decides alone, although
        // three of its neighbours carry label 0 at distance 1 to 3.
        assert_eq!(vote(&points, &labels, 1, Distance::Euclidean, 2, &[3.0]), 1);
        // Two points at the query with different labels: the lower index wins.
        assert_eq!(vote(&[1.0, 1.0, 5.0], &[1, 0, 0], 1, Distance::Euclidean, 2, &[1.0]), 1);
        // Equal weights: the label of the nearest point.
        assert_eq!(vote(&[0.0, 2.0], &[1, 0], 1, Distance::Euclidean, 2, &[1.0]), 1);
        assert_eq!(vote(&[], &[], 1, Distance::Euclidean, 2, &[0.0]), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_fit_and_bad_input_is_refused() {
        let (data, _) = rings(50);
        assert_eq!(
            fit_spectral(&data, 2, Distance::Euclidean, &opts(3), SpectralCut::Kmeans).expect("a"),
            fit_spectral(&data, 2, Distance::Euclidean, &opts(3), SpectralCut::Kmeans).expect("b")
        );
        assert_eq!(fit_spectral(&data, 2, Distance::Euclidean, &opts(0), SpectralCut::Kmeans), Err(ClusterError::ZeroClusters));
        assert_eq!(
            fit_spectral(&data[..3], 2, Distance::Euclidean, &opts(2), SpectralCut::Kmeans),
            Err(ClusterError::LengthNotMultiple { len: 3, dim: 2 })
        );
        assert_eq!(
            fit_spectral(&data[..2], 2, Distance::Euclidean, &opts(2), SpectralCut::Kmeans),
            Err(ClusterError::TooFewPoints { points: 1, k: 2 })
        );
        let mut bad = data.clone();
        bad[5] = f32::NAN;
        assert_eq!(fit_spectral(&bad, 2, Distance::Euclidean, &opts(2), SpectralCut::Kmeans), Err(ClusterError::NonFinite { index: 2 }));
    }

    #[test]
    fn large_inputs_build_the_graph_on_an_even_sample_and_vote_for_the_rest() {
        let n = MAX_GRAPH_POINTS + 10;
        assert_eq!(evenly_spaced(n, MAX_GRAPH_POINTS).len(), MAX_GRAPH_POINTS);
        assert_eq!(evenly_spaced(5, 10), vec![0, 1, 2, 3, 4]);
        let sample = evenly_spaced(n, MAX_GRAPH_POINTS);
        assert!(sample.windows(2).all(|w| w[0] < w[1]) && *sample.last().unwrap_or(&0) < n);
    }

    /// `|a|^2 + |b|^2 - 2 <a moved lag steps later, b>`, minimised over
    /// lags, by index arithmetic (the definition, not the code's slices).
    fn shifted_by_definition(a: &[f32], b: &[f32], channels: usize, max_lag: i64) -> f64 {
        let steps = (a.len() / channels) as i64;
        let norms: f64 = a.iter().chain(b).map(|&v| f64::from(v) * f64::from(v)).sum();
        (-max_lag..=max_lag)
            .map(|lag| {
                let mut cross = 0.0f64;
                for t in 0..steps {
                    let from = t - lag;
                    if (0..steps).contains(&from) {
                        for c in 0..channels {
                            cross += f64::from(a[from as usize * channels + c]) * f64::from(b[t as usize * channels + c]);
                        }
                    }
                }
                norms - 2.0 * cross
            })
            .fold(f64::INFINITY, f64::min)
            .max(0.0)
    }

    #[test]
    fn shapes_are_compared_at_their_best_shift_and_the_latent_part_step_by_step() {
        let mut rng = StdRng::seed_from_u64(4);
        let (head, steps, channels) = (3, 12, 2);
        let width = head + steps * channels;
        for _ in 0..20 {
            let a: Vec<f32> = (0..width).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let b: Vec<f32> = (0..width).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            for max_lag in [0usize, 1, 3, 11, 30] {
                let distance = Distance::ShiftedShape { head, steps, channels, max_lag };
                let expected = sq_dist(&a[..head], &b[..head])
                    + shifted_by_definition(&a[head..], &b[head..], channels, max_lag.min(steps - 1) as i64);
                let got = distance.between(&a, &b);
                assert!((got - expected).abs() < 1e-5 * expected.max(1.0), "lag {max_lag}: {got} against {expected}");
                if max_lag == 0 {
                    assert_eq!(got, sq_dist(&a, &b));
                }
            }
            // A point is at 0 from itself whatever the lag.
            assert_eq!(Distance::ShiftedShape { head, steps, channels, max_lag: 3 }.between(&a, &a), 0.0);
            assert_eq!(Distance::Euclidean.between(&a, &b), sq_dist(&a, &b));
        }
        // One bump three steps later: the same shape within a lag of 3, not
        // within 2. The latent part still counts in full.
        let bump = |at: usize| -> Vec<f32> {
            let mut p = vec![0.5f32; 1];
            p.extend((0..16usize).map(|t| match t.checked_sub(at) {
                Some(0) | Some(2) => 1.0,
                Some(1) => 2.0,
                _ => 0.0,
            }));
            p
        };
        let (early, late) = (bump(4), bump(7));
        let lagged = |max_lag| Distance::ShiftedShape { head: 1, steps: 16, channels: 1, max_lag }.between(&early, &late);
        assert_eq!(lagged(3), 0.0);
        assert_eq!(lagged(2), 12.0 - 2.0 * 4.0);
        assert_eq!(lagged(0), 12.0);
        let mut other_latent = late.clone();
        other_latent[0] = 2.5;
        assert_eq!(Distance::ShiftedShape { head: 1, steps: 16, channels: 1, max_lag: 3 }.between(&early, &other_latent), 4.0);
    }

    #[test]
    fn the_latent_bound_finds_the_same_neighbours_as_comparing_every_point() {
        let mut rng = StdRng::seed_from_u64(9);
        let (head, steps, channels) = (4, 10, 1);
        let dim = head + steps * channels;
        let points: Vec<f32> = (0..300 * dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let distance = Distance::ShiftedShape { head, steps, channels, max_lag: 3 };
        for query in points.chunks_exact(dim).step_by(37) {
            let mut every: Vec<(f64, usize)> = points.chunks_exact(dim).map(|p| distance.between(p, query)).zip(0..).collect();
            every.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            every.truncate(NEIGHBOURS);
            assert_eq!(nearest_points(&points, dim, distance, query, NEIGHBOURS), every);
        }
    }
}
