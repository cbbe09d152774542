//! vrae's half of the quality benchmark (bench/quality/run.sh runs both
//! halves and writes the table): for each dataset of the suite, train on
//! TRAIN + TEST together with k = the number of classes (labels only score),
//! and print one JSON line per dataset and seed with NMI, ARI, wall time and
//! how well the prototypes stand for their members (`prototype_error`: each
//! series' RMSE to its cluster's prototype over that to its cluster's mean
//! series, averaged; about 1 at best) and how much of the series the latent
//! keeps (`reconstruction_share`: the share of their spread around the mean
//! series that the reconstructions explain; 1 at best).
//!
//! cargo bench --bench quality -- --data DIR [--datasets A,B]
//!     [--seeds 0,1,2] [--max-rows N] [--max-steps N] [--options JSON] [--method NAME]
//!     [--latents DIR] [--auto-k MAX]
//!
//! `--auto-k MAX` trains with `clusters: "auto"` (k chosen in 2..=MAX)
//! instead of k = the number of classes, and reports the chosen k.
//!
//! `--latents DIR` also writes each fit's latent means (one CSV row per
//! series) and the labels as `DIR/<dataset>-seed<S>.csv` (label first), so
//! that other clusterings of the same latents can be scored offline
//! (bench/quality/recluster.py).
//!
//! All datasets of the manifest by default. The row cap and the subset rule
//! (evenly spaced rows) are the same as in bench/quality/classic.py, so that
//! every method sees the same series.

#[path = "../../examples/support/allocator.rs"]
mod allocator;
#[path = "../../examples/support/parquet_series.rs"]
mod parquet_series;
#[path = "../../examples/support/prototype_fit.rs"]
mod prototype_fit;
#[path = "suite.rs"]
mod suite;

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde_json::{json, Map, Value};
use vrae::metrics::{adjusted_rand_index, encode_labels, normalized_mutual_info};
use vrae::{Model, SeriesBatch, VraeConfig};

/// vrae's half of the quality suite: one JSON line per dataset and seed.
#[derive(Parser)]
#[command(name = "quality")]
struct Args {
    /// The suite's folder (datasets.json and the Parquet files; scripts/fetch-data.sh).
    #[arg(long, default_value = "data/ucr")]
    data: PathBuf,
    /// Datasets to run, comma-separated (default: all of the manifest).
    #[arg(long, value_delimiter = ',')]
    datasets: Option<Vec<String>>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0u64, 1, 2])]
    seeds: Vec<u64>,
    /// Rows per dataset at most.
    #[arg(long, default_value_t = suite::DEFAULT_MAX_ROWS)]
    max_rows: usize,
    /// Series-steps (rows x longest series) per dataset at most.
    #[arg(long, default_value_t = suite::DEFAULT_MAX_STEPS)]
    max_steps: usize,
    /// Training options as a JSON object (README, Options).
    #[arg(long, value_parser = json_object, default_value = "{}")]
    options: Map<String, Value>,
    /// The method name written in every line.
    #[arg(long, default_value = "vrae")]
    method: String,
    /// Write every fit's latents as CSV into this folder.
    #[arg(long)]
    latents: Option<PathBuf>,
    /// `clusters: "auto"` with this `clusters_max` instead of k = the class count.
    #[arg(long)]
    auto_k: Option<usize>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let manifest = suite::Manifest::read(&args.data)?;
    let names = suite::selected(&manifest, args.datasets.as_deref())?;
    let stdout = std::io::stdout();
    if let Some(dir) = &args.latents {
        std::fs::create_dir_all(dir)?;
    }
    for name in names {
        let entry = manifest.dataset(&name)?;
        let files = [args.data.join(&entry.train_file), args.data.join(&entry.test_file)];
        let data = parquet_series::read_files(&files)?;
        let longest = data.offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let keep = suite::evenly_spaced_rows(data.labels.len(), longest, entry.classes, args.max_rows, args.max_steps);
        let (values, offsets, labels) = suite::take_rows(&data, &keep);
        let batch = SeriesBatch::new(&values[..], &offsets[..], data.channels)?;
        let (labels, _) = encode_labels(&labels);
        for &seed in &args.seeds {
            let mut options = args.options.clone();
            match args.auto_k {
                Some(max) => {
                    options.insert("clusters".into(), json!("auto"));
                    options.insert("clusters_max".into(), json!(max));
                }
                None => drop(options.insert("clusters".into(), json!(entry.classes))),
            }
            options.insert("seed".into(), json!(seed));
            let config = VraeConfig::from_map(&options)?;
            let (started, cpu_started) = (Instant::now(), suite::cpu_seconds());
            let outcome = Model::fit(&batch, &config, |_| {}).and_then(|model| {
                let (latents, clusters) = model.embed_and_cluster(&batch)?;
                let fit = prototype_fit::prototype_error(&model, &batch, &clusters)?;
                let share = vrae::reconstruction_r2(&batch, &model.reconstruct(&batch)?);
                Ok((clusters, latents, model.latent(), model.clusters(), fit, share))
            });
            let seconds = started.elapsed().as_secs_f64();
            let cpu_seconds = suite::cpu_seconds().zip(cpu_started).map(|(end, start)| end - start);
            let mut line = json!({
                "dataset": name, "method": args.method, "seed": seed, "rows": batch.len(),
                "classes": entry.classes, "seconds": seconds, "cpu_seconds": cpu_seconds,
            });
            match outcome {
                Ok((clusters, latents, width, k, fit, share)) => {
                    line["k"] = json!(k);
                    line["prototype_error"] = json!(fit);
                    line["reconstruction_share"] = json!(share);
                    line["cluster_sizes"] = json!(cluster_sizes(&clusters, k.unwrap_or(0)));
                    line["nmi"] = json!(normalized_mutual_info(&labels, &clusters)?);
                    line["ari"] = json!(adjusted_rand_index(&labels, &clusters)?);
                    if let Some(dir) = &args.latents {
                        write_latents(&dir.join(format!("{name}-seed{seed}.csv")), &labels, &latents, width)?;
                    }
                }
                // A failure is a result of the suite, not a reason to stop it.
                Err(e) => line["error"] = json!(e.to_string()),
            }
            let mut out = stdout.lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
    }
    Ok(())
}

/// One CSV row per series: its label (as encoded for scoring), then its
/// latent means.
fn write_latents(path: &std::path::Path, labels: &[usize], latents: &[f32], width: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (label, row) in labels.iter().zip(latents.chunks(width)) {
        write!(out, "{label}")?;
        for v in row {
            write!(out, ",{v}")?;
        }
        writeln!(out)?;
    }
    out.flush()
}

/// How many series each of the `k` clusters got (an empty one as 0), so
/// that a cut that leaves a cluster nearly empty shows in the output.
fn cluster_sizes(clusters: &[usize], k: usize) -> Vec<usize> {
    let mut sizes = vec![0; clusters.iter().map(|&c| c + 1).max().unwrap_or(0).max(k)];
    for &c in clusters {
        sizes[c] += 1;
    }
    sizes
}
