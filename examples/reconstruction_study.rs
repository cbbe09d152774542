//! Study helper: how much of a dataset's variance a trained model
//! reconstructs, against PCA with as many components as the latent, and how
//! well its latents cluster against k-means on the raw values. Asks whether
//! a poor clustering comes from a poor reconstruction (the encoder and
//! decoder have not learnt the series) or from a latent that reconstructs
//! well but not along the labels.
//!
//!   cargo run --release --example reconstruction_study -- DATA_DIR DATASET '{"option": value}'
#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/parquet_series.rs"]
mod parquet_series;

use clap::Parser;
use vrae::cluster::{fit_kmeans, KMeansOptions};
use vrae::metrics::{encode_labels, normalized_mutual_info};
use vrae::{Model, SeriesBatch, VraeConfig};

/// Reconstruction against PCA, and clustering against k-means on the raw values.
#[derive(Parser)]
#[command(name = "reconstruction_study")]
struct Args {
    /// Folder of the dataset's Parquet files.
    dir: std::path::PathBuf,
    /// Dataset name (NAME_TRAIN.parquet, NAME_TEST.parquet).
    name: String,
    /// Training options as a JSON object.
    options: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args { dir, name, options } = Args::parse();
    let (dir, name, options) = (&dir, &name, &options);
    let files = ["TRAIN", "TEST"].map(|part| std::path::Path::new(dir).join(format!("{name}_{part}.parquet")));
    let data = parquet_series::read_files(&files)?;
    let batch = SeriesBatch::new(&data.values[..], &data.offsets[..], data.channels)?;
    let (labels, names) = encode_labels(&data.labels);
    let k = names.len();
    let config = VraeConfig::from_json(options)?;
    let model = Model::fit(&batch, &VraeConfig { clusters: Some(vrae::config::Clusters::Fixed(k)), ..config }, |_| {})?;
    let rows = batch.len();
    let width = batch.steps(0) * data.channels;
    if (0..rows).any(|r| batch.steps(r) * data.channels != width) {
        return Err(format!("{name}: variable-length series; this study compares equal-length ones").into());
    }
    let recon = model.reconstruct(&batch)?;
    // Variance around the mean series, the sum a constant reconstruction leaves.
    let mut mean = vec![0.0f64; width];
    for row in data.values.chunks(width) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += *v as f64 / rows as f64);
    }
    let total: f64 = data.values.chunks(width).flat_map(|r| r.iter().zip(&mean).map(|(v, m)| (*v as f64 - m).powi(2))).sum();
    let residual: f64 = data.values.iter().zip(&recon).map(|(v, r)| (*v as f64 - *r as f64).powi(2)).sum();
    let latents = model.embed(&batch)?;
    let spread: Vec<f64> = (0..model.latent())
        .map(|d| {
            let col: Vec<f64> = latents.chunks(model.latent()).map(|r| r[d] as f64).collect();
            let m = col.iter().sum::<f64>() / rows as f64;
            (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / rows as f64).sqrt()
        })
        .collect();
    // The linear reference: PCA with as many axes as the latent has.
    let pca = vrae::pca::Pca::fit(&data.values, width, model.latent().min(width))?;
    let pca_r2 = pca.explained_variance.iter().map(|&v| v as f64).sum::<f64>() * (rows - 1) as f64 / total;
    let scores = pca.transform(&data.values);
    let kmeans = KMeansOptions { k, restarts: 10, max_iter: 300, seed: 0 };
    let pca_fit = fit_kmeans(&scores, pca.n_components, &kmeans)?;
    let pca_nmi = normalized_mutual_info(&labels, &pca_fit.labels)?;
    let vrae_nmi = normalized_mutual_info(&labels, &model.cluster(&batch)?)?;
    let raw = fit_kmeans(&data.values, width, &kmeans)?;
    let raw_nmi = normalized_mutual_info(&labels, &raw.labels)?;
    let losses: Vec<String> = model.summary().loss_per_epoch.iter().map(|e| format!("{:.1}", e.loss)).collect();
    println!("{name} {options}: rows {rows}, steps {width}");
    println!("  reconstruction R^2 {:.3} (1 - residual / variance around the mean series)", 1.0 - residual / total);
    println!("  PCA with {} axes: R^2 {pca_r2:.3}", pca.n_components);
    println!("  latent spread per dimension: {}", spread.iter().map(|s| format!("{s:.3}")).collect::<Vec<_>>().join(" "));
    println!("  NMI: vrae {vrae_nmi:.3}, k-means on raw {raw_nmi:.3}, k-means on the PCA scores {pca_nmi:.3}");
    println!("  loss per epoch: first {} .. last {}", losses.first().map_or("-", |s| s), losses.last().map_or("-", |s| s));
    Ok(())
}
