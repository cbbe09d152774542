//! Embedding throughput through DataFusion SQL against the core API, on the
//! same Parquet data, in the same process and minute.
//!
//! cargo bench -p vrae-datafusion --bench sql_throughput -- [--data data/ECG5000_TEST.parquet]
//!     (paths relative to the repository root)
//!     [--copies 4] [--repeats 3]
//!
//! The input file is copied `--copies` times into one Parquet file in a
//! scratch directory (so the run is long enough to time), a model with the
//! default architecture is trained for one epoch (embedding cost depends on
//! the architecture only), and then, best of `--repeats` each:
//! - core: `Model::embed` over the whole file, already in memory as one batch;
//! - core_from_parquet: reading the Parquet file, converting, embedding;
//! - sql: `SELECT id, vrae_embed(series, '<model>') FROM '<file>'`, collected;
//! - sql_copy: the same query written to Parquet with `COPY ... TO`.
//!
//! Prints JSON lines; `ratio` is series/s relative to `core`.

#[path = "../../examples/support/allocator.rs"]
mod allocator;
#[path = "../../examples/support/parquet_series.rs"]
mod parquet_series;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use datafusion::prelude::SessionContext;
use serde_json::json;
use vrae::{Model, SeriesBatch, VraeConfig};

/// Embedding throughput through DataFusion against the core API.
#[derive(Parser)]
#[command(name = "sql_throughput")]
struct Args {
    /// Parquet file of series to embed.
    #[arg(long, default_value = "data/ECG5000_TEST.parquet")]
    data: PathBuf,
    /// Copies of the file's rows in the input table.
    #[arg(long, default_value_t = 4)]
    copies: usize,
    /// Timed runs (the best counts).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Best (shortest) wall time of `repeats` runs of `f`, in seconds.
async fn best_of<F, Fut>(repeats: usize, mut f: F) -> Result<f64, Box<dyn Error>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, Box<dyn Error>>>,
{
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        f().await?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    // Relative paths are the repository root's, as in the other benchmarks
    // (cargo runs this one from the crate's folder).
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        std::env::set_current_dir(PathBuf::from(dir).join(".."))?;
    }
    let scratch = std::env::temp_dir().join(format!("vrae-sql-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let input = scratch.join("input.parquet");
    let model_path = scratch.join("model.vrae");

    // Tables by file path, as in the DataFusion CLI and vrae-sql.
    let ctx = SessionContext::new().enable_url_table();
    vrae_datafusion::register(&ctx);
    let source = args.data.display().to_string();
    ctx.sql(&format!(
        "COPY (SELECT s.id, s.label, s.series FROM '{source}' s CROSS JOIN generate_series(1, {}) AS g(copy)) TO '{}' STORED AS PARQUET",
        args.copies,
        input.display()
    ))
    .await?
    .collect()
    .await?;

    let data = parquet_series::read_files(std::slice::from_ref(&input))?;
    let batch = SeriesBatch::new(&data.values[..], data.offsets.clone(), data.channels)?;
    let rows = batch.len();
    let train_rows = rows.min(512);
    let train = SeriesBatch::new(&data.values[..data.offsets[train_rows]], data.offsets[..=train_rows].to_vec(), data.channels)?;
    let config = VraeConfig::from_json(r#"{"epochs": 1}"#)?;
    let model = Model::fit(&train, &config, |_| {})?;
    model.save(&model_path)?;
    println!(
        "{}",
        json!({"kind": "setup", "rows": rows, "data": source, "copies": args.copies, "threads": rayon::current_num_threads(),
        "target_partitions": ctx.state().config().target_partitions(), "batch_size": ctx.state().config().batch_size()})
    );

    let core = best_of(args.repeats, || async { Ok(model.embed(&batch)?.len()) }).await?;
    let core_from_parquet = best_of(args.repeats, || async {
        let d = parquet_series::read_files(std::slice::from_ref(&input))?;
        let b = SeriesBatch::new(&d.values[..], d.offsets.clone(), d.channels)?;
        Ok(model.embed(&b)?.len())
    })
    .await?;
    let query = format!("SELECT id, vrae_embed(series, '{}') AS embedding FROM '{}'", model_path.display(), input.display());
    let sql = best_of(args.repeats, || async {
        let batches = ctx.sql(&query).await?.collect().await?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    })
    .await?;
    let output = scratch.join("embedded.parquet");
    let copy = format!("COPY ({query}) TO '{}' STORED AS PARQUET", output.display());
    let sql_copy = best_of(args.repeats, || async { Ok(ctx.sql(&copy).await?.collect().await?.len()) }).await?;

    for (name, seconds) in [("core", core), ("core_from_parquet", core_from_parquet), ("sql", sql), ("sql_copy", sql_copy)] {
        println!(
            "{}",
            json!({"kind": "embed", "path": name, "seconds": seconds, "series_per_s": rows as f64 / seconds, "ratio": core / seconds})
        );
    }
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}
