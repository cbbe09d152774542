//! How well a cluster's prototype stands for its members, in numbers the
//! pictures only suggest: the root-mean-square difference between each
//! series and its cluster's prototype (over the series' own steps), averaged
//! over the series, relative to the same for each cluster's mean series (the
//! curve with the least squared difference from its members, so about 1 is
//! the best any single curve does).

use vrae::{Model, SeriesBatch};

/// Mean RMSE between each series and its cluster's prototype over the same
/// for each cluster's mean series (about 1 at best). `clusters` as
/// `Model::cluster` gives them for `batch`.
pub fn prototype_error(model: &Model, batch: &SeriesBatch, clusters: &[usize]) -> vrae::Result<f64> {
    let (k, c) = (model.clusters().unwrap_or(0), batch.channels());
    let longest = batch.lengths().max().unwrap_or(0);
    // Each cluster's mean series, step by step over the members that reach
    // that step.
    let mut curve = vec![0.0f64; k * longest * c];
    let mut reach = vec![0usize; k * longest];
    for (row, &cluster) in clusters.iter().enumerate() {
        for (s, step) in batch.row(row).chunks_exact(c).enumerate() {
            reach[cluster * longest + s] += 1;
            for (ch, v) in step.iter().enumerate() {
                curve[(cluster * longest + s) * c + ch] += f64::from(*v);
            }
        }
    }
    for (i, v) in curve.iter_mut().enumerate() {
        *v /= reach[i / c].max(1) as f64;
    }
    let curve: Vec<f32> = curve.iter().map(|v| *v as f32).collect();
    let floor = mean_rmse(batch, clusters, &curve, longest);
    Ok(mean_rmse(batch, clusters, &model.prototypes(Some(longest))?, longest) / floor)
}

/// Mean over the series of the RMSE between each series and its cluster's
/// curve (`[k, steps, channels]`), over the series' own steps.
fn mean_rmse(batch: &SeriesBatch, clusters: &[usize], curves: &[f32], steps: usize) -> f64 {
    let c = batch.channels();
    let total: f64 = clusters
        .iter()
        .enumerate()
        .map(|(row, &cluster)| {
            let series = batch.row(row);
            let curve = &curves[cluster * steps * c..][..series.len()];
            let sq: f64 = series.iter().zip(curve).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum();
            (sq / series.len().max(1) as f64).sqrt()
        })
        .sum();
    total / clusters.len().max(1) as f64
}
