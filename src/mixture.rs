//! A Gaussian mixture with one diagonal covariance per component, fitted
//! by expectation-maximisation from a given partition, and the partition
//! it ends with (each point in its most probable component).
//!
//! What it is for: cutting the spectral embedding (`spectral_cut:
//! "mixture"`). k-means there takes every cluster to be a ball of one size;
//! in the embedding a small or loose group of series is a component of
//! another weight and spread, which a mixture models and k-means splits or
//! swallows (BENCHMARKS.md, "A mixture cuts the spectral embedding").
//! The steps follow scikit-learn's `GaussianMixture(covariance_type="diag")`
//! with its default tolerances, started from the k-means partition instead
//! of its own k-means.

use crate::cluster::{validate, ClusterError};

/// Iterations at most, and the change in the mean log-likelihood per point
/// below which the fit has converged (scikit-learn's defaults).
const MAX_ITERATIONS: usize = 100;
const TOLERANCE: f64 = 1e-3;

/// Added to every variance, so that a component whose points agree on a
/// coordinate keeps a finite density (scikit-learn's `reg_covar`).
const VARIANCE_FLOOR: f64 = 1e-6;

/// One component's weight, mean and variances.
struct Component {
    log_weight: f64,
    mean: Vec<f64>,
    variance: Vec<f64>,
}

/// The partition of `data` (row-major, `dim` values per point) that a
/// diagonal Gaussian mixture of `k` components, started from `labels`
/// (each in `0..k`), assigns after expectation-maximisation: each point's
/// most probable component. Deterministic. A component may end empty.
pub fn refine_by_mixture(data: &[f32], dim: usize, labels: &[usize], k: usize) -> Result<Vec<usize>, ClusterError> {
    let n = validate(data, dim, k)?;
    if labels.len() != n || labels.iter().any(|&l| l >= k) {
        return Err(ClusterError::BadPartition { labels: labels.len(), points: n, k });
    }
    // Responsibilities, `n x k`: the starting partition, one-hot.
    let mut resp = vec![0.0f64; n * k];
    for (i, &l) in labels.iter().enumerate() {
        resp[i * k + l] = 1.0;
    }
    let mut components = maximise(data, dim, &resp, k);
    let mut previous = f64::NEG_INFINITY;
    for _ in 0..MAX_ITERATIONS {
        let mean_log_likelihood = expect(data, dim, &components, &mut resp);
        components = maximise(data, dim, &resp, k);
        if (mean_log_likelihood - previous).abs() < TOLERANCE {
            break;
        }
        previous = mean_log_likelihood;
    }
    expect(data, dim, &components, &mut resp);
    Ok(resp
        .chunks_exact(k)
        .map(|r| r.iter().enumerate().fold((0, f64::NEG_INFINITY), |best, (c, &p)| if p > best.1 { (c, p) } else { best }).0)
        .collect())
}

/// The components that best explain `data` under responsibilities `resp`.
fn maximise(data: &[f32], dim: usize, resp: &[f64], k: usize) -> Vec<Component> {
    let n = resp.len() / k;
    (0..k)
        .map(|c| {
            // A component no point belongs to keeps a tiny weight (as
            // scikit-learn's 10 machine epsilons) rather than a log of 0.
            let total: f64 = (0..n).map(|i| resp[i * k + c]).sum::<f64>() + 10.0 * f64::EPSILON;
            let mut mean = vec![0.0f64; dim];
            let mut square = vec![0.0f64; dim];
            for (i, point) in data.chunks_exact(dim).enumerate() {
                let r = resp[i * k + c];
                for ((m, s), &v) in mean.iter_mut().zip(square.iter_mut()).zip(point) {
                    let v = f64::from(v);
                    *m += r * v;
                    *s += r * v * v;
                }
            }
            mean.iter_mut().for_each(|m| *m /= total);
            let variance = square.iter().zip(&mean).map(|(s, m)| (s / total - m * m).max(0.0) + VARIANCE_FLOOR).collect();
            Component { log_weight: (total / n as f64).ln(), mean, variance }
        })
        .collect()
}

/// Writes each point's posterior over the components into `resp` and
/// returns the mean log-likelihood per point.
fn expect(data: &[f32], dim: usize, components: &[Component], resp: &mut [f64]) -> f64 {
    let k = components.len();
    let constants: Vec<f64> = components
        .iter()
        .map(|c| c.log_weight - 0.5 * (dim as f64 * (2.0 * std::f64::consts::PI).ln() + c.variance.iter().map(|v| v.ln()).sum::<f64>()))
        .collect();
    let mut total = 0.0;
    for (point, row) in data.chunks_exact(dim).zip(resp.chunks_exact_mut(k)) {
        for ((r, c), constant) in row.iter_mut().zip(components).zip(&constants) {
            let distance: f64 = point.iter().zip(&c.mean).zip(&c.variance).map(|((&x, m), v)| (f64::from(x) - m).powi(2) / v).sum();
            *r = constant - 0.5 * distance;
        }
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = top + row.iter().map(|r| (r - top).exp()).sum::<f64>().ln();
        row.iter_mut().for_each(|r| *r = (*r - log_sum).exp());
        total += log_sum;
    }
    total / (data.len() / dim).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A wide group of 300 points around 0 and a tight group of 20 around
    /// 3, on a line.
    fn wide_and_tight() -> (Vec<f32>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(3);
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for i in 0..320 {
            let (centre, spread, group) = if i < 300 { (0.0, 1.0, 0) } else { (3.0, 0.05, 1) };
            let u: f32 = (0..12).map(|_| rng.random_range(0.0f32..1.0)).sum::<f32>() - 6.0;
            data.push(centre + spread * u);
            truth.push(group);
        }
        (data, truth)
    }

    #[test]
    fn a_tight_small_group_keeps_its_own_component_where_a_midpoint_cut_splits_the_wide_one() {
        let (data, truth) = wide_and_tight();
        // The cut k-means makes between balls of one size: at the midpoint
        // 1.5, which puts the wide group's right tail with the tight group.
        let start: Vec<usize> = data.iter().map(|&x| usize::from(x > 1.5)).collect();
        let wrong_at_start = start.iter().zip(&truth).filter(|(a, b)| a != b).count();
        assert!(wrong_at_start >= 10, "{wrong_at_start}");
        let labels = refine_by_mixture(&data, 1, &start, 2).unwrap();
        let wrong = labels.iter().zip(&truth).filter(|(a, b)| a != b).count();
        assert!(wrong <= 2, "{wrong} of 320 in the wrong component, {wrong_at_start} at the start");
        // The same input gives the same partition.
        assert_eq!(refine_by_mixture(&data, 1, &start, 2).unwrap(), labels);
    }

    #[test]
    fn separated_groups_stay_as_they_are_and_bad_input_is_refused() {
        let data = [0.0f32, 0.0, 0.1, 0.1, 10.0, 10.0, 10.1, 9.9];
        let labels = refine_by_mixture(&data, 2, &[0, 0, 1, 1], 2).unwrap();
        assert_eq!(labels, vec![0, 0, 1, 1]);
        // Points that agree exactly within a component (zero variance)
        // keep a finite density through the variance floor.
        assert_eq!(refine_by_mixture(&[1.0, 1.0, 5.0, 5.0], 1, &[0, 0, 1, 1], 2).unwrap(), vec![0, 0, 1, 1]);
        assert!(matches!(refine_by_mixture(&data, 2, &[0, 0, 1, 1], 0), Err(ClusterError::ZeroClusters)));
        assert!(refine_by_mixture(&data, 2, &[0, 0, 1, 2], 2).is_err());
        assert!(refine_by_mixture(&data, 2, &[0, 0, 1], 2).is_err());
        assert!(matches!(refine_by_mixture(&[f32::NAN, 0.0], 1, &[0, 1], 2), Err(ClusterError::NonFinite { index: 0 })));
    }
}
