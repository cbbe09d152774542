//! Runs the SQL test files in `sql/tests/*.slt` (sqllogictest, the format
//! DataFusion tests itself with) against a DataFusion session with every vrae
//! function registered.
//!
//! Each file gets a fresh session. Before the files run, this harness trains
//! two small models with the Rust API and saves them, so that the files can
//! use model files by path: `$MODEL` (univariate, 3 clusters) and
//! `$MODEL_MV` (2 channels, no clusters). Files turn on `control
//! substitution on` to use them; `$__TEST_DIR__` is a scratch directory.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use vrae::{Model, SeriesBatch, VraeConfig};

#[path = "../../tests/support/legacy_model.rs"]
mod legacy_model;
use legacy_model::{legacy_model, TensorEdit};

/// A DataFusion session as a sqllogictest database.
struct VraeDb {
    ctx: SessionContext,
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

/// Cells as text: NULL for nulls, floats rounded to 4 decimals so that
/// expected results do not depend on the last bits of a float.
fn cells(batch: &RecordBatch, rows: &mut Vec<Vec<String>>) -> Result<(), DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect::<Result<Vec<_>, _>>()?;
    for row in 0..batch.num_rows() {
        let mut line = Vec::with_capacity(batch.num_columns());
        for (col, f) in batch.columns().iter().zip(&formatters) {
            let text = match col.data_type() {
                DataType::Float32 | DataType::Float64 if col.is_valid(row) => {
                    let v: f64 = f.value(row).to_string().parse().map_err(|e| DataFusionError::External(Box::new(e)))?;
                    format!("{:.4}", v)
                }
                _ => f.value(row).to_string(),
            };
            line.push(if text.is_empty() { "(empty)".to_string() } else { text });
        }
        rows.push(line);
    }
    Ok(())
}

#[async_trait]
impl AsyncDB for VraeDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let types: Vec<DefaultColumnType> = df.schema().fields().iter().map(|f| column_type(f.data_type())).collect();
        let batches = df.collect().await?;
        let mut rows = Vec::new();
        for batch in &batches {
            cells(batch, &mut rows)?;
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "vrae-datafusion"
    }
}

/// Sine-like and square-like series of a few lengths, as a batch.
fn training_series(channels: usize) -> (Vec<f32>, Vec<usize>) {
    let mut values = Vec::new();
    let mut offsets = vec![0];
    for i in 0..48 {
        let steps = 12 + i % 5;
        for t in 0..steps {
            let phase = t as f32 / steps as f32 * std::f32::consts::TAU;
            for c in 0..channels {
                let v = match i % 3 {
                    0 => phase.sin(),
                    1 => {
                        if phase.sin() >= 0.0 {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                    _ => phase / std::f32::consts::TAU * 2.0 - 1.0,
                };
                values.push(v + 0.1 * c as f32);
            }
        }
        offsets.push(offsets[offsets.len() - 1] + steps);
    }
    (values, offsets)
}

/// A copy of a model file with one bit of tensor data flipped (the
/// checksum no longer holds).
fn flipped_copy(model: &Path, dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(model).expect("model file");
    let last = bytes.len() - 5;
    bytes[last] ^= 0x08;
    let path = dir.join("flipped.vrae");
    std::fs::write(&path, bytes).expect("flipped copy written");
    path
}

/// A copy of a model file rewritten as format version 2 wrote it with one
/// metadata entry edited, as a hostile file would be.
fn legacy_copy(model: &Path, dir: &Path, name: &str, edit: impl Fn(&mut std::collections::HashMap<String, String>)) -> PathBuf {
    let bytes = legacy_model(&std::fs::read(model).expect("model file"), edit, TensorEdit::Keep);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("written");
    path
}

fn save_model(dir: &Path, name: &str, channels: usize, options: &str) -> PathBuf {
    let (values, offsets) = training_series(channels);
    let batch = SeriesBatch::new(&values[..], offsets, channels).expect("valid training batch");
    let config = VraeConfig::from_json(options).expect("valid options");
    let model = Model::fit(&batch, &config, |_| {}).expect("training succeeds");
    let path = dir.join(name);
    model.save(&path).expect("model saved");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_test_files() {
    // The files read `data/...` relative to the repository root, as a user
    // of vrae-sql at the root would; this test is alone in its process.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("the repository root");
    let scratch = std::env::temp_dir().join(format!("vrae-slt-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let small = r#""hidden_size": 8, "latent": 3, "epochs": 3, "batch_size": 16, "seed": 7"#;
    let model = save_model(&scratch, "uni.vrae", 1, &format!(r#"{{{small}, "clusters": 3}}"#));
    let model_mv = save_model(&scratch, "mv.vrae", 2, &format!("{{{small}}}"));
    // Hostile copies of the univariate model (sql/tests/hostile.slt).
    let flipped = flipped_copy(&model, &scratch);
    let huge_channels = legacy_copy(&model, &scratch, "channels.vrae", |meta| drop(meta.insert("channels".into(), u64::MAX.to_string())));
    let nan_centroids = {
        let bytes = std::fs::read(&model).expect("model file");
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("tensors");
        let mut centroids: Vec<f32> = st
            .tensor("kmeans.centroids")
            .expect("centroids")
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        centroids[0] = f32::NAN;
        let path = scratch.join("nan.vrae");
        std::fs::write(&path, legacy_model(&bytes, |_| {}, TensorEdit::Replace("kmeans.centroids", &centroids))).expect("written");
        path
    };
    let meta_flipped = {
        // One bit of the metadata: format version 3 becomes 2 (which would
        // read k-means differently), the checksum left as it was.
        let mut bytes = std::fs::read(&model).expect("model file");
        let at = bytes.windows(20).position(|w| w == br#""format_version":"3""#).expect("version in the header") + 18;
        bytes[at] ^= 0x01;
        let path = scratch.join("meta_flipped.vrae");
        std::fs::write(&path, bytes).expect("written");
        path
    };
    let huge_clusters = legacy_copy(&model, &scratch, "clusters.vrae", |meta| {
        let mut config: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&meta["config"]).expect("config");
        config.insert("clusters".into(), (1u64 << 62).into());
        meta.insert("config".into(), serde_json::Value::Object(config).to_string());
    });

    let mut files: Vec<PathBuf> = std::fs::read_dir("sql/tests")
        .expect("sql/tests exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in sql/tests");

    let mut failures = Vec::new();
    for file in &files {
        let mut runner = Runner::new(|| async {
            // Tables by file path, as in the DataFusion CLI.
            let ctx = SessionContext::new().enable_url_table();
            vrae_datafusion::register(&ctx);
            Ok(VraeDb { ctx })
        });
        runner.set_var("MODEL".into(), model.display().to_string());
        runner.set_var("MODEL_MV".into(), model_mv.display().to_string());
        runner.set_var("MODEL_FLIPPED".into(), flipped.display().to_string());
        runner.set_var("MODEL_HUGE_CHANNELS".into(), huge_channels.display().to_string());
        runner.set_var("MODEL_HUGE_CLUSTERS".into(), huge_clusters.display().to_string());
        runner.set_var("MODEL_NAN_CENTROIDS".into(), nan_centroids.display().to_string());
        runner.set_var("MODEL_META_FLIPPED".into(), meta_flipped.display().to_string());
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{} of {} SQL test files failed:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
}
