//! The main job: train a VRAE with the default options and 5 clusters on all
//! 5000 ECG5000 beats (TRAIN + TEST; labels only score, never train), print
//! per-epoch loss, NMI and ARI against the labels, and write PCA and t-SNE
//! scatter plots coloured by cluster and by label, and each cluster's
//! prototype over a sample of its members.
//!
//! cargo run --release --example ecg5000 [-- --epochs N --seed S --threads T
//!     --data DIR --out DIR --options JSON --no-tsne]

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/parquet_series.rs"]
mod parquet_series;
#[path = "support/plots.rs"]
mod plots;
#[path = "support/prototype_fit.rs"]
mod prototype_fit;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use vrae::config::OptionsTextError;
use vrae::metrics::{adjusted_rand_index, encode_labels, normalized_mutual_info};
use vrae::projection::{tsne, TsneOptions};
use vrae::{Model, Progress, SeriesBatch, VraeConfig};

/// The main job: train on ECG5000, cluster, score and plot.
#[derive(Parser)]
#[command(name = "ecg5000")]
struct Cli {
    /// Folder with ECG5000_TRAIN.parquet and ECG5000_TEST.parquet.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Folder for the model, report.json and the plots.
    #[arg(long, default_value = "out/ecg5000")]
    out: PathBuf,
    /// Training options as a JSON object (README, Options); the flags
    /// below override the same keys, and `clusters` defaults to 5.
    #[arg(long, value_parser = json_object)]
    options: Option<serde_json::Map<String, Value>>,
    /// Option `epochs`.
    #[arg(long)]
    epochs: Option<usize>,
    /// Option `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Option `threads`.
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the t-SNE plots (the slowest part after training).
    #[arg(long)]
    no_tsne: bool,
}

fn json_object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    vrae::config::options_object(text).map_err(|e| match e {
        OptionsTextError::NotJson(why) => format!("not a JSON object: {why}"),
        OptionsTextError::NotAnObject(value) => format!("not a JSON object: got {value}"),
        repeated @ OptionsTextError::Repeated(_) => repeated.to_string(),
    })
}

struct Args {
    data: PathBuf,
    out: PathBuf,
    options: serde_json::Map<String, Value>,
    tsne: bool,
}

fn parse_args() -> Args {
    let cli = Cli::parse();
    let mut options = serde_json::Map::new();
    options.insert("clusters".into(), json!(5));
    options.extend(cli.options.unwrap_or_default());
    for (key, value) in
        [("epochs", cli.epochs.map(|v| json!(v))), ("seed", cli.seed.map(|v| json!(v))), ("threads", cli.threads.map(|v| json!(v)))]
    {
        if let Some(value) = value {
            options.insert(key.into(), value);
        }
    }
    Args { data: cli.data, out: cli.out, options, tsne: !cli.no_tsne }
}

/// `threads` reaches vrae's own pools, not the pool Candle runs its larger
/// element-wise operations on, which is sized once, from the environment,
/// when first used. A library cannot set the environment safely once other
/// threads run; this program can, before it starts any, so that `--threads
/// 1` holds the job to one core. A size the user gave is kept.
fn hold_candle_pool_to(threads: usize) {
    // Candle reads CANDLE_NUM_THREADS before RAYON_NUM_THREADS: a pool size
    // the user gave by either is theirs.
    let given = ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"].iter().any(|v| std::env::var_os(v).is_some());
    if threads > 0 && !given {
        std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args();
    let config = VraeConfig::from_map(&args.options)?;
    hold_candle_pool_to(config.threads);
    let files = [args.data.join("ECG5000_TRAIN.parquet"), args.data.join("ECG5000_TEST.parquet")];
    let data = parquet_series::read_files(&files)?;
    let batch = SeriesBatch::new(&data.values[..], &data.offsets[..], data.channels)?;
    let (labels, label_names) = encode_labels(&data.labels);
    println!("ECG5000: {} series of {} steps, {} classes", batch.len(), batch.max_steps(), label_names.len());
    println!("options: {}", config.to_json());

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {msg} ({elapsed}, eta {eta})")?.progress_chars("=> "),
    );
    let started = Instant::now();
    let model = Model::fit(&batch, &config, |p| match p {
        Progress::Started { epochs, batches_per_epoch, .. } => bar.set_length((epochs * batches_per_epoch) as u64),
        Progress::Batch { epoch, .. } => {
            bar.set_prefix(format!("epoch {epoch}"));
            bar.inc(1);
        }
        Progress::Epoch(e) => {
            let line = format!(
                "epoch {:>3}  loss {:>10.4}  reconstruction {:>10.4}  kl {:>8.5}  ({:.1}s)",
                e.epoch, e.loss, e.reconstruction, e.kl, e.seconds
            );
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            bar.set_message(format!("loss {:.3}", e.loss));
        }
        Progress::Finishing => bar.set_message("k-means and PCA"),
    })?;
    bar.finish_and_clear();
    let train_seconds = started.elapsed().as_secs_f64();
    let rate = (batch.len() * model.summary().epochs_run) as f64 / train_seconds;
    println!("trained in {train_seconds:.1}s ({rate:.0} series/s over all epochs)");

    let (latents, clusters) = model.embed_and_cluster(&batch)?;
    let nmi = normalized_mutual_info(&labels, &clusters)?;
    let ari = adjusted_rand_index(&labels, &clusters)?;
    println!("NMI {nmi:.4}  ARI {ari:.4}  (clusters vs labels, k = {})", model.clusters().unwrap_or(0));

    std::fs::create_dir_all(&args.out)?;
    model.save(args.out.join("model.safetensors"))?;
    plots::register_font()?;
    let k = model.clusters().unwrap_or(0);
    let cluster_names: Vec<String> = (0..k).map(|c| format!("cluster {c}")).collect();
    let class_names: Vec<String> = label_names.iter().map(|l| format!("class {l}")).collect();
    let pca = model.project_embeddings(&latents)?;
    plots::scatter(&args.out.join("pca_by_cluster.png"), "ECG5000 latents, PCA, by cluster", &pca, &clusters, &cluster_names)?;
    plots::scatter(&args.out.join("pca_by_label.png"), "ECG5000 latents, PCA, by label", &pca, &labels, &class_names)?;
    // What each cluster looks like: its prototype over 20 of its members.
    let prototypes = model.prototypes(None)?;
    let prototype_error = prototype_fit::prototype_error(&model, &batch, &clusters)?;
    println!("prototype error {prototype_error:.3} x that of each cluster's mean series");
    let series = |row: usize| batch.row(row).to_vec();
    plots::prototype_panels(
        &args.out.join("prototypes.png"),
        "ECG5000: cluster prototypes over 20 members each",
        &prototypes,
        &clusters,
        &series,
        20,
    )?;
    if args.tsne {
        let t0 = Instant::now();
        let map = tsne(&latents, model.latent(), &TsneOptions { seed: config.seed, ..Default::default() })?;
        println!("t-SNE in {:.1}s", t0.elapsed().as_secs_f64());
        plots::scatter(&args.out.join("tsne_by_cluster.png"), "ECG5000 latents, t-SNE, by cluster", &map, &clusters, &cluster_names)?;
        plots::scatter(&args.out.join("tsne_by_label.png"), "ECG5000 latents, t-SNE, by label", &map, &labels, &class_names)?;
    }
    let report = json!({
        "rows": batch.len(), "nmi": nmi, "ari": ari, "seed": config.seed,
        "prototype_error": prototype_error,
        "train_seconds": train_seconds, "series_per_second": rate,
        "loss_per_epoch": model.summary().loss_per_epoch.iter().map(|e| e.loss).collect::<Vec<_>>(),
    });
    std::fs::write(args.out.join("report.json"), serde_json::to_string_pretty(&report)?)?;
    println!("wrote model, plots and report.json to {}", args.out.display());
    Ok(())
}
