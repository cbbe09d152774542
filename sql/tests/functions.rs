//! The DataFusion functions against the core API, on in-memory tables.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BinaryArray, FixedSizeListBuilder, Float64Builder, Int64Array, ListBuilder, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use vrae::{Model, SeriesBatch, VraeConfig};

fn rows() -> Vec<Vec<f32>> {
    (0..24).map(|i| (0..(8 + i % 7)).map(|t| ((t as f32) * 0.5 + i as f32).sin() * (1.0 + (i % 3) as f32)).collect()).collect()
}

fn model(rows: &[Vec<f32>], channels: usize) -> Model {
    let batch = SeriesBatch::from_rows(rows, channels).unwrap();
    let config = VraeConfig::from_json(r#"{"hidden_size": 8, "latent": 3, "epochs": 2, "clusters": 2}"#).unwrap();
    Model::fit(&batch, &config, |_| {}).unwrap()
}

/// A table `t(id, series)` with a null series at row 3.
fn table(ctx: &SessionContext, rows: &[Vec<f32>]) {
    let mut b = ListBuilder::new(Float64Builder::new());
    for (i, r) in rows.iter().enumerate() {
        if i == 3 {
            b.append_null();
        } else {
            b.append_value(r.iter().map(|&v| Some(v as f64)));
        }
    }
    let ids = Int64Array::from((0..rows.len() as i64).collect::<Vec<_>>());
    let batch = RecordBatch::try_from_iter([("id", Arc::new(ids) as _), ("series", Arc::new(b.finish()) as _)]).unwrap();
    let mem = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
    ctx.register_table("t", Arc::new(mem)).unwrap();
}

/// Saves `m` to a fresh temporary directory: (directory, model path).
fn save_in_temp(m: &Model, tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("vrae-sql-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    m.save(&path).unwrap();
    (dir, path)
}

/// A session with the vrae functions and the table `t` of `rows`.
fn session_with_table(rows: &[Vec<f32>]) -> SessionContext {
    let ctx = SessionContext::new();
    vrae_datafusion::register(&ctx);
    table(&ctx, rows);
    ctx
}

async fn query(ctx: &SessionContext, sql: &str) -> RecordBatch {
    let batches = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

async fn query_err(ctx: &SessionContext, sql: &str) -> String {
    match ctx.sql(sql).await {
        Err(e) => e.to_string(),
        Ok(df) => df.collect().await.err().map(|e| e.to_string()).unwrap_or_else(|| panic!("{sql}: no error")),
    }
}

#[tokio::test]
async fn every_function_matches_the_core_api() {
    let rows = rows();
    let m = model(&rows, 1);
    let (dir, path) = save_in_temp(&m, "all");
    let ctx = session_with_table(&rows);
    let p = path.display();

    let out = query(
        &ctx,
        &format!(
            "SELECT id, vrae_embed(series, '{p}') AS e, vrae_cluster(series, '{p}') AS c, \
        vrae_score(series, '{p}') AS s, vrae_project(series, '{p}') AS xy, vrae_reconstruct(series, '{p}') AS r FROM t ORDER BY id"
        ),
    )
    .await;
    assert_eq!(out.num_rows(), rows.len());
    let mut present = rows.clone();
    present.remove(3);
    let batch = SeriesBatch::from_rows(&present, 1).unwrap();
    let (emb, ids, scores, xy, rec) = (
        m.embed(&batch).unwrap(),
        m.cluster(&batch).unwrap(),
        m.score(&batch).unwrap(),
        m.project(&batch).unwrap(),
        m.reconstruct(&batch).unwrap(),
    );

    let e = out.column(1).as_list::<i32>();
    assert!(e.iter().flatten().all(|v| v.len() == 3), "as long as the latent");
    let c = out.column(2).as_primitive::<datafusion::arrow::datatypes::Int32Type>();
    let s = out.column(3).as_primitive::<Float64Type>();
    let r = out.column(5).as_list::<i32>();
    assert!(e.is_null(3) && c.is_null(3) && s.is_null(3) && r.is_null(3), "null series gives null results");
    let mut at = 0;
    for (b, row) in (0..rows.len()).filter(|&r| r != 3).enumerate() {
        let got = e.value(row);
        assert_eq!(got.as_primitive::<Float32Type>().values(), &emb[b * 3..(b + 1) * 3]);
        assert_eq!(c.value(row) as usize, ids[b]);
        assert_eq!(s.value(row), scores[b]);
        let p2 = out.column(4).as_fixed_size_list().value(row);
        assert_eq!(p2.as_primitive::<Float32Type>().values(), &xy[b * 2..(b + 1) * 2]);
        let rv = r.value(row);
        let len = rows[row].len();
        assert_eq!(rv.as_primitive::<Float32Type>().values(), &rec[at..at + len]);
        at += len;
    }

    // The model as bytes from a joined one-row table.
    let bytes = m.to_bytes().unwrap();
    let mt = RecordBatch::try_from_iter([("model", Arc::new(BinaryArray::from(vec![bytes.as_slice()])) as _)]).unwrap();
    ctx.register_table("models", Arc::new(MemTable::try_new(mt.schema(), vec![vec![mt]]).unwrap())).unwrap();
    let out = query(&ctx, "SELECT t.id, vrae_cluster(t.series, models.model) AS c, vrae_embed(t.series, models.model) AS e FROM t CROSS JOIN models ORDER BY t.id").await;
    let c = out.column(1).as_primitive::<datafusion::arrow::datatypes::Int32Type>();
    assert_eq!(c.value(0) as usize, ids[0]);
    assert!(matches!(out.column(2).data_type(), DataType::List(_)), "a List, as for a literal model");
    let e0 = out.column(2).as_list::<i32>().value(0);
    assert_eq!(e0.as_primitive::<Float32Type>().values(), &emb[0..3]);

    let info = query(&ctx, &format!("SELECT vrae_model_info('{p}') AS i")).await;
    let text = info.column(0).as_string::<i32>().value(0).to_string();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["latent"], 3);
    assert_eq!(json["summary"]["rows"], 24);
    assert_eq!(json["config"]["clusters"], 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn multivariate_fixed_size_list_series() {
    let rows: Vec<Vec<f32>> = (0..10).map(|i| (0..(5 + i % 3) * 2).map(|v| ((v + i) as f32 * 0.3).cos()).collect()).collect();
    let m = model(&rows, 2);
    let (dir, path) = save_in_temp(&m, "mv");
    let mut b = ListBuilder::new(FixedSizeListBuilder::new(Float64Builder::new(), 2));
    for r in &rows {
        for step in r.chunks(2) {
            for &v in step {
                b.values().values().append_value(v as f64);
            }
            b.values().append(true);
        }
        b.append(true);
    }
    let batch = RecordBatch::try_from_iter([("series", Arc::new(b.finish()) as _)]).unwrap();
    let ctx = SessionContext::new();
    vrae_datafusion::register(&ctx);
    ctx.register_table("mv", Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap())).unwrap();
    let out = query(
        &ctx,
        &format!("SELECT vrae_reconstruct(series, '{}') AS r, vrae_score(series, '{}') AS s FROM mv", path.display(), path.display()),
    )
    .await;
    let r = out.column(0).as_list::<i32>();
    assert_eq!(r.value(0).len(), rows[0].len() / 2, "one reconstructed step per input step");
    assert!(matches!(r.value_type(), DataType::FixedSizeList(_, 2)));
    let expected = m.score(&SeriesBatch::from_rows(&rows, 2).unwrap()).unwrap();
    assert_eq!(out.column(1).as_primitive::<Float64Type>().values().to_vec(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_input_names_the_function_and_the_problem() {
    let rows = rows();
    let m = model(&rows, 1);
    let (dir, path) = save_in_temp(&m, "bad");
    let ctx = session_with_table(&rows);
    let p = path.display();

    let err = query_err(&ctx, "SELECT vrae_embed(series, '/nonexistent/model.safetensors') FROM t").await;
    assert!(err.contains("vrae_embed") && err.contains("/nonexistent/model.safetensors"), "{err}");
    let err = query_err(&ctx, &format!("SELECT vrae_embed(id, '{p}') FROM t")).await;
    assert!(err.contains("vrae_embed") && err.contains("list"), "{err}");
    let err = query_err(&ctx, "SELECT vrae_score(series, 42) FROM t").await;
    assert!(err.contains("vrae_score") && err.contains("Binary"), "{err}");
    let err = query_err(&ctx, &format!("SELECT vrae_score(x, '{p}') FROM (VALUES (make_array(1.0, 'NaN'::double))) AS v(x)")).await;
    assert!(err.contains("vrae_score") && err.contains("row 0") && err.contains("non-finite"), "{err}");
    let err =
        query_err(&ctx, &format!("SELECT vrae_score(x, '{p}') FROM (VALUES (make_array(1.0)), (make_array()::double[])) AS v(x)")).await;
    assert!(err.contains("vrae_score") && err.contains("row 1") && err.contains("empty"), "{err}");
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"garbage").unwrap();
    let err = query_err(&ctx, &format!("SELECT vrae_cluster(series, '{}') FROM t", corrupt.display())).await;
    assert!(err.contains("vrae_cluster") && err.contains("invalid model"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn fit_trains_one_model_per_group_and_the_models_work() {
    let rows = rows();
    let ctx = session_with_table(&rows);
    let opts = r#"{"hidden_size": 8, "latent": 3, "epochs": 2, "clusters": 2}"#;
    let out = query(&ctx, &format!("SELECT id % 2 AS g, vrae_fit(series, '{opts}') AS m FROM t GROUP BY id % 2 ORDER BY g")).await;
    assert_eq!(out.num_rows(), 2);
    let models = out.column(1).as_binary_view();
    for g in 0..2 {
        let m = Model::from_bytes(models.value(g)).unwrap();
        // Group 0: the 12 even ids; group 1: the 12 odd ids less the null series of id 3.
        let expected_rows = if g == 0 { 12 } else { 11 };
        assert_eq!(m.summary().rows, expected_rows, "group {g}");
        assert_eq!(m.clusters(), Some(2));
    }
    // Train in SQL, use in SQL: the model from a subquery.
    let out = query(&ctx, &format!("SELECT vrae_cluster(series, (SELECT vrae_fit(series, '{opts}') FROM t)) AS c FROM t")).await;
    assert_eq!(out.column(0).null_count(), 1);

    let err = query_err(&ctx, r#"SELECT vrae_fit(series, '{"hiden_size": 3}') FROM t"#).await;
    assert!(err.contains("vrae_fit") && err.contains("hiden_size") && err.contains("on_invalid") && err.contains("hidden_size"), "{err}");
    let err = query_err(&ctx, r#"SELECT vrae_fit(series, '{"epochs": "many"}') FROM t"#).await;
    assert!(err.contains("vrae_fit") && err.contains("`epochs`"), "{err}");
    let err = query_err(&ctx, "SELECT vrae_fit(x) FROM (VALUES (make_array(1.0, 2.0)), (make_array('NaN'::double))) AS v(x)").await;
    assert!(err.contains("vrae_fit") && err.contains("row 1") && err.contains("non-finite"), "{err}");
    let ok = query(&ctx, r#"SELECT vrae_fit(x, '{"on_invalid": "null", "epochs": 1, "hidden_size": 4, "latent": 2}') AS m FROM (VALUES (make_array(1.0, 2.0)), (make_array('NaN'::double)), (make_array(3.0, 1.0))) AS v(x)"#).await;
    let m = Model::from_bytes(ok.column(0).as_binary_view().value(0)).unwrap();
    assert_eq!(m.summary().rows, 2, "the NaN series was left out");
}

/// The checksum of a model's bytes: it covers everything but the
/// wall-clock times, so equal checksums mean the same model.
fn checksum(model: &[u8]) -> String {
    let (_, header) = safetensors::SafeTensors::read_metadata(model).unwrap();
    header.metadata().as_ref().unwrap()["checksum"].clone()
}

/// The bundled ECG5000 training file, found from the manifest directory that
/// cargo gives the running test (not the one compiled in: a shared target
/// folder may keep a binary built from a clone that is gone).
fn bundled_ecg5000() -> std::path::PathBuf {
    std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../data/ECG5000_TRAIN.parquet")
}

/// `vrae_fit` over the bundled ECG5000 training file (its first 120 rows)
/// with a given record-batch size and number of partitions.
async fn fit_over_parquet(batch_size: usize, partitions: usize) -> Vec<u8> {
    let config = datafusion::prelude::SessionConfig::new().with_batch_size(batch_size).with_target_partitions(partitions);
    let ctx = SessionContext::new_with_config(config);
    vrae_datafusion::register(&ctx);
    ctx.register_parquet("ecg", bundled_ecg5000().to_str().unwrap(), Default::default()).await.unwrap();
    // Spread the rows over partitions (a round-robin repartition), so that
    // partial states merge in whatever order the partitions finish.
    let sql = r#"SELECT vrae_fit(series, '{"epochs": 2, "hidden_size": 8, "latent": 3, "seed": 7, "clusters": 3}') AS model
                 FROM (SELECT series FROM ecg WHERE id < 120)"#;
    let df = ctx.sql(sql).await.unwrap();
    let out = df.collect().await.unwrap();
    out[0].column(0).as_binary_view().value(0).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrae_fit_gives_one_model_whatever_the_batch_size_and_partitions() {
    let reference = fit_over_parquet(8192, 1).await;
    for (batch_size, partitions) in [(50, 1), (7, 4), (50, 4), (13, 3), (8192, 4)] {
        for _ in 0..2 {
            let again = fit_over_parquet(batch_size, partitions).await;
            assert_eq!(checksum(&again), checksum(&reference), "batch size {batch_size}, {partitions} partitions");
        }
    }
    // The same rows through the core API, in another order, give the same model too.
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(bundled_ecg5000()).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let ids = batch.column_by_name("id").unwrap().as_primitive::<datafusion::arrow::datatypes::Int64Type>().clone();
        let series = batch.column_by_name("series").unwrap().as_list::<i32>().clone();
        for r in 0..batch.num_rows() {
            if ids.value(r) < 120 {
                rows.push(series.value(r).as_primitive::<Float64Type>().values().iter().map(|&v| v as f32).collect());
            }
        }
    }
    rows.reverse();
    let config = VraeConfig::from_json(r#"{"epochs": 2, "hidden_size": 8, "latent": 3, "seed": 7, "clusters": 3}"#).unwrap();
    let direct = Model::fit(&SeriesBatch::from_rows(&rows, 1).unwrap(), &config, |_| {}).unwrap().to_bytes().unwrap();
    assert_eq!(checksum(&direct), checksum(&reference), "the core API on the same rows, reversed");
}

/// A model trained in the query and joined onto a batch of 9,000 rows,
/// large enough that a copy per row would pass the 2 GiB of a Binary
/// column's offsets: it must give what the same model given by path gives.
#[tokio::test]
async fn a_large_fitted_model_joined_onto_a_full_batch_is_not_copied_per_row() {
    let rows: Vec<Vec<f32>> = (0..9000).map(|i| (0..4).map(|t| ((i * 4 + t) as f32 * 0.37).sin()).collect()).collect();
    let ctx = SessionContext::new();
    vrae_datafusion::register(&ctx);
    table(&ctx, &rows);
    let options = r#"{"hidden_size": 120, "latent": 2, "epochs": 1, "seed": 3}"#;
    let fitted = query(&ctx, &format!("SELECT vrae_fit(series, '{options}') AS model FROM t WHERE id < 64")).await;
    let bytes = fitted.column(0).as_binary_view().value(0).to_vec();
    assert!(bytes.len() * 9000 > 1 << 31, "the model is too small to test this: {} bytes", bytes.len());
    let (dir, path) = save_in_temp(&Model::from_bytes(&bytes).unwrap(), "large-join");

    let joined = format!(
        "WITH m AS (SELECT vrae_fit(series, '{options}') AS model FROM t WHERE id < 64) \
         SELECT t.id, vrae_embed(t.series, m.model) AS e FROM t CROSS JOIN m ORDER BY t.id"
    );
    let by_join = query(&ctx, &joined).await;
    let by_path = query(&ctx, &format!("SELECT id, vrae_embed(series, '{}') AS e FROM t ORDER BY id", path.display())).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(by_join.num_rows(), 9000);
    assert_eq!(by_join.column(1).null_count(), 1, "only the null series (row 3) has no embedding");
    assert_eq!(by_join.column(1).as_ref(), by_path.column(1).as_ref());
}

#[tokio::test]
async fn every_function_is_documented_in_the_information_schema() {
    let ctx = SessionContext::new_with_config(datafusion::prelude::SessionConfig::new().with_information_schema(true));
    vrae_datafusion::register(&ctx);
    let sql = "SELECT DISTINCT routine_name, description, syntax_example FROM information_schema.routines \
               WHERE routine_name LIKE 'vrae%' ORDER BY routine_name";
    let out = query(&ctx, sql).await;
    let names: Vec<&str> = out.column(0).as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(
        names,
        ["vrae_cluster", "vrae_embed", "vrae_fit", "vrae_model_info", "vrae_project", "vrae_prototypes", "vrae_reconstruct", "vrae_score"]
    );
    for (row, name) in names.iter().enumerate() {
        if *name == "vrae_prototypes" {
            // DataFusion 55 lists table functions without documentation.
            assert!(out.column(1).is_null(row));
            continue;
        }
        let description = out.column(1).as_string::<i32>().value(row);
        let syntax = out.column(2).as_string::<i32>().value(row);
        assert!(description.len() > 40, "{name}: {description:?}");
        assert!(syntax.starts_with(&format!("{name}(")), "{name}: {syntax:?}");
    }
    // The arguments are documented too: the scalar functions take a series,
    // a model and options.
    for f in vrae_datafusion::scalar_functions() {
        let args: Vec<String> = f.documentation().unwrap().arguments.iter().flatten().map(|(name, _)| name.clone()).collect();
        let expected: &[&str] = if f.name() == "vrae_model_info" { &["model"] } else { &["series", "model", "options"] };
        assert_eq!(args, expected, "{}", f.name());
    }
}
