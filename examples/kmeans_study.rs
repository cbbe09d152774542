//! Study helper: how the k-means settings move NMI/ARI on a trained model's
//! ECG5000 latents. cargo run --release --example kmeans_study -- MODEL...
#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/parquet_series.rs"]
mod parquet_series;

use clap::Parser;
use vrae::cluster::{fit_kmeans, standardise, unit_variance_scales, KMeansOptions};
use vrae::metrics::{adjusted_rand_index, encode_labels, normalized_mutual_info};
use vrae::{Model, SeriesBatch};

/// k-means settings on the ECG5000 latents of trained models.
#[derive(Parser)]
#[command(name = "kmeans_study")]
struct Args {
    /// Model files trained on ECG5000.
    #[arg(required = true)]
    models: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let files = ["data/ECG5000_TRAIN.parquet".into(), "data/ECG5000_TEST.parquet".into()];
    let data = parquet_series::read_files(&files)?;
    let batch = SeriesBatch::new(&data.values[..], &data.offsets[..], data.channels)?;
    let (labels, _) = encode_labels(&data.labels);
    for path in args.models {
        let model = Model::load(&path)?;
        let latents = model.embed(&batch)?;
        // Also leave the latents beside the model for outside tools (CSV).
        let csv: String =
            latents.chunks(model.latent()).map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n").collect();
        std::fs::write(format!("{path}.latents.csv"), csv)?;
        // Both ways vrae can cluster: latents as they are, and scaled to
        // unit variance per dimension (`kmeans_standardize`, the default).
        let (mean, scale) = unit_variance_scales(&latents, model.latent());
        let standardised = standardise(&latents, &mean, &scale);
        for ((space, points), restarts) in
            [("plain", &latents), ("standardised", &standardised)].into_iter().flat_map(|space| [1, 10].map(|restarts| (space, restarts)))
        {
            let (mut nmi, mut ari) = (Vec::new(), Vec::new());
            for seed in 0..10 {
                let fit = fit_kmeans(points, model.latent(), &KMeansOptions { k: 5, restarts, max_iter: 300, seed })?;
                nmi.push(normalized_mutual_info(&labels, &fit.labels)?);
                ari.push(adjusted_rand_index(&labels, &fit.labels)?);
            }
            let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            println!(
                "{path} {space}, restarts {restarts}: NMI mean {:.3} [{:.3}..{:.3}] ARI mean {:.3} [{:.3}..{:.3}]",
                m(&nmi),
                nmi.iter().cloned().fold(1.0, f64::min),
                nmi.iter().cloned().fold(0.0, f64::max),
                m(&ari),
                ari.iter().cloned().fold(1.0, f64::min),
                ari.iter().cloned().fold(0.0, f64::max)
            );
        }
    }
    Ok(())
}
