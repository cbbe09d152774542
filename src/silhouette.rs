//! Choosing the number of clusters when the user cannot (`clusters:
//! "auto"`): k-means for every k in `2..=clusters_max`, each scored by its
//! mean silhouette, the best kept.
//!
//! The silhouette of a point is `(b - a) / max(a, b)`, where `a` is its
//! mean distance to the other members of its cluster and `b` its mean
//! distance to the members of the nearest other cluster: near 1 for a point
//! well inside its cluster, near 0 on a border, negative when it sits closer
//! to another cluster (Rousseeuw 1987). Its mean over the points rewards
//! compact, well separated clusters and, unlike the within-cluster sum of
//! squares, does not simply grow with k. On the quality suite's latents it
//! was the criterion that tracked the class count best (BENCHMARKS.md,
//! "Choosing k"); the Calinski-Harabasz index, the gap statistic and the
//! BIC of a Gaussian mixture kept picking the largest k offered.

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::{fit_kmeans, ClusterError, KMeansFit, KMeansOptions};

/// Points the silhouette is computed on at most (a seeded sample beyond):
/// it costs the square of their number.
pub const SILHOUETTE_SAMPLE: usize = 2000;

/// One candidate k and its score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Number of clusters.
    pub k: usize,
    /// Mean silhouette of the k-means fit with k clusters.
    pub silhouette: f64,
}

/// Mean silhouette of `labels` over `data` (row-major, `dim` wide),
/// computed on at most [`SILHOUETTE_SAMPLE`] points drawn with `seed`.
/// Points alone in their cluster score 0, as in scikit-learn.
pub fn silhouette(data: &[f32], dim: usize, labels: &[usize], seed: u64) -> f64 {
    let rows = silhouette_rows(labels.len(), seed);
    let sampled: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
    silhouette_of_rows(&row_distances(data, dim, &rows), &sampled)
}

/// The rows of `n` that [`silhouette`] scores: all of them, or
/// [`SILHOUETTE_SAMPLE`] drawn with `seed`, ascending.
pub(crate) fn silhouette_rows(n: usize, seed: u64) -> Vec<usize> {
    if n > SILHOUETTE_SAMPLE {
        let mut picked = sample(&mut StdRng::seed_from_u64(seed), n, SILHOUETTE_SAMPLE).into_vec();
        picked.sort_unstable();
        picked
    } else {
        (0..n).collect()
    }
}

/// The Euclidean distances between the rows `rows` of `data`, a square
/// matrix in their order: every k's silhouette reads the same ones (32 MB
/// at [`SILHOUETTE_SAMPLE`] rows, held while k is chosen).
fn row_distances(data: &[f32], dim: usize, rows: &[usize]) -> Vec<f64> {
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let mut distances = vec![0.0f64; rows.len() * rows.len()];
    distances.par_chunks_mut(rows.len().max(1)).zip(rows.par_iter()).for_each(|(out, &i)| {
        for (d, &j) in out.iter_mut().zip(rows) {
            *d = row(i).iter().zip(row(j)).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum::<f64>().sqrt();
        }
    });
    distances
}

/// Mean silhouette of points `labels[p]` labels, `distances` their
/// [`row_distances`]: clusters are sized and distances averaged over these
/// points only.
fn silhouette_of_rows(distances: &[f64], labels: &[usize]) -> f64 {
    let n = labels.len();
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    if n < 2 || k < 2 || distances.len() != n * n {
        return 0.0;
    }
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let mut total = 0.0f64;
    let mut sums = vec![0.0f64; k];
    for (p, from) in distances.chunks_exact(n).enumerate() {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (q, (&d, &l)) in from.iter().zip(labels).enumerate() {
            if p != q {
                sums[l] += d;
            }
        }
        let own = labels[p];
        if sizes[own] < 2 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k).filter(|&c| c != own && sizes[c] > 0).map(|c| sums[c] / sizes[c] as f64).fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / n as f64
}

/// The largest k `clusters: "auto"` tries on `points` points: `max_k`, at
/// most one less than the points (a silhouette needs a cluster with two),
/// and never below 2.
pub(crate) fn largest_k(max_k: usize, points: usize) -> usize {
    max_k.min(points.saturating_sub(1)).max(2)
}

/// `fit` for every k in `2..=top`, each scored by the [`silhouette`] of its
/// labels over `data`; returns the best fit (the smallest k on ties) and
/// every candidate's score. Shared by k-means and spectral clustering.
/// `fit(k, rows)` is told the rows the silhouette will read (see
/// [`silhouette_rows`]) and `labels_at(fit, rows)` gives their clusters, so
/// that a fit whose labels cost something per row need only label those.
pub(crate) fn best_by_silhouette<T>(
    data: &[f32],
    dim: usize,
    top: usize,
    seed: u64,
    mut fit: impl FnMut(usize, &[usize]) -> Result<T, ClusterError>,
    labels_at: impl Fn(&T, &[usize]) -> Vec<usize>,
) -> Result<(T, Vec<KScore>), ClusterError> {
    let rows = silhouette_rows(data.len() / dim.max(1), seed);
    let distances = row_distances(data, dim, &rows);
    let mut best: Option<(f64, T)> = None;
    let mut scores = Vec::with_capacity(top.saturating_sub(1));
    for k in 2..=top {
        let candidate = fit(k, &rows)?;
        let score = silhouette_of_rows(&distances, &labels_at(&candidate, &rows));
        scores.push(KScore { k, silhouette: score });
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, candidate));
        }
    }
    let (_, chosen) = best.ok_or(ClusterError::TooFewPoints { points: data.len() / dim.max(1), k: 2 })?;
    Ok((chosen, scores))
}

/// k-means for every k in `2..=max_k` (at most one less than the points),
/// each scored by [`silhouette`]; returns the best fit (the smallest k on
/// ties) and every candidate's score.
pub fn choose_clusters(data: &[f32], dim: usize, max_k: usize, options: &KMeansOptions) -> Result<(KMeansFit, Vec<KScore>), ClusterError> {
    let top = largest_k(max_k, data.len() / dim.max(1));
    best_by_silhouette(
        data,
        dim,
        top,
        options.seed,
        |k, _| fit_kmeans(data, dim, &KMeansOptions { k, ..options.clone() }),
        |fit, rows| rows.iter().map(|&i| fit.labels[i]).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `groups` tight blobs of `per` points in 3-D, far apart.
    fn blobs(groups: usize, per: usize) -> Vec<f32> {
        (0..groups * per)
            .flat_map(|i| {
                let g = (i / per) as f32;
                let jitter = (i % per) as f32 / per as f32 * 0.1;
                [g * 10.0 + jitter, -g * 5.0 - jitter, (g * 3.0).sin() * 7.0 + jitter]
            })
            .collect()
    }

    #[test]
    fn silhouette_matches_a_hand_computed_case() {
        // Two clusters on a line: {0, 1} and {4, 5}. For point 0: a = 1,
        // b = (4 + 5) / 2 = 4.5, s = 3.5 / 4.5; by symmetry the others:
        // point 1: a = 1, b = 3.5, s = 2.5 / 3.5.
        let data = [0.0f32, 1.0, 4.0, 5.0];
        let s = silhouette(&data, 1, &[0, 0, 1, 1], 0);
        let expected = (3.5 / 4.5 + 2.5 / 3.5) / 2.0;
        assert!((s - expected).abs() < 1e-12, "{s} vs {expected}");
        // A wrong split scores lower, a singleton counts 0.
        assert!(silhouette(&data, 1, &[0, 1, 0, 1], 0) < 0.0);
        assert!((silhouette(&[0.0, 1.0, 9.0], 1, &[0, 0, 1], 0) - (8.0 / 9.0 + 7.0 / 8.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_number_of_well_separated_blobs_is_found() {
        let options = KMeansOptions { k: 0, restarts: 4, max_iter: 100, seed: 3 };
        for groups in [2, 3, 5, 7] {
            let data = blobs(groups, 12);
            let (fit, scores) = choose_clusters(&data, 3, 10, &options).unwrap();
            assert_eq!(fit.centroids.len() / 3, groups, "{scores:?}");
            assert_eq!(scores.len(), 9);
            assert!(scores.iter().all(|s| s.silhouette <= scores[groups - 2].silhouette));
        }
        // Fewer points than the largest k asked for: k stops one short of them.
        let (fit, scores) = choose_clusters(&blobs(2, 2), 3, 10, &options).unwrap();
        assert_eq!((fit.centroids.len() / 3, scores.len()), (2, 2));
    }

    #[test]
    fn large_inputs_are_scored_on_a_seeded_sample() {
        let data = blobs(3, 1000);
        let labels: Vec<usize> = (0..3000).map(|i| i / 1000).collect();
        let a = silhouette(&data, 3, &labels, 1);
        assert_eq!(a, silhouette(&data, 3, &labels, 1));
        assert!(a > 0.95, "{a}");
    }

    #[test]
    fn a_fit_that_labels_only_the_sampled_rows_scores_as_the_whole_labelling() {
        // Past the sample size, each candidate is told the rows the
        // silhouette reads and labels only those; its score must be the
        // silhouette of the labels of every row.
        let data = blobs(3, 900);
        let options = KMeansOptions { k: 0, restarts: 2, max_iter: 50, seed: 4 };
        let whole = |k| fit_kmeans(&data, 3, &KMeansOptions { k, ..options.clone() }).unwrap().labels;
        let mut told = Vec::new();
        let (_, scores) = best_by_silhouette(
            &data,
            3,
            5,
            9,
            |k, rows| {
                told.push(rows.len());
                Ok(rows.iter().map(|&i| whole(k)[i]).collect::<Vec<usize>>())
            },
            |labels, _| labels.clone(),
        )
        .unwrap();
        assert_eq!(told, vec![SILHOUETTE_SAMPLE; 4]);
        for score in &scores {
            assert_eq!(score.silhouette, silhouette(&data, 3, &whole(score.k), 9), "k = {}", score.k);
        }
        assert!(scores[1].silhouette > scores[0].silhouette && scores[1].silhouette > scores[2].silhouette, "{scores:?}");
    }
}
