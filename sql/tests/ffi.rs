//! The functions handed across DataFusion's FFI, as the `datafusion` Python
//! package receives them (python-datafusion/): every constant argument
//! arrives as a whole column there, and results and errors must be those of
//! the functions registered directly.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Float64Builder, Int64Array, ListBuilder, RecordBatch};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{AggregateUDF, AggregateUDFImpl, ScalarUDF, ScalarUDFImpl};
use datafusion::prelude::SessionContext;
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use vrae_datafusion::NamedModels;

/// A library marker other than this library's, so that the FFI structs are
/// treated as foreign and every call goes through the C interface.
extern "C" fn other_library() -> usize {
    1
}

/// A session whose vrae functions came through the FFI.
fn ffi_session(models: &NamedModels) -> SessionContext {
    let ctx = SessionContext::new();
    for f in vrae_datafusion::scalar_functions_with(models) {
        let mut exported = FFI_ScalarUDF::from(Arc::new(f));
        exported.library_marker_id = other_library;
        let foreign: Arc<dyn ScalarUDFImpl> = (&exported).into();
        ctx.register_udf(ScalarUDF::new_from_shared_impl(foreign));
    }
    for f in vrae_datafusion::aggregate_functions() {
        let mut exported = FFI_AggregateUDF::from(Arc::new(f));
        exported.library_marker_id = other_library;
        let foreign: Arc<dyn AggregateUDFImpl> = (&exported).into();
        ctx.register_udaf(AggregateUDF::new_from_shared_impl(foreign));
    }
    ctx
}

fn table(ctx: &SessionContext) {
    let mut b = ListBuilder::new(Float64Builder::new());
    for i in 0..40 {
        match i {
            7 => b.append_null(),
            11 => b.append_value([Some(1.0), Some(f64::NAN)]),
            _ => b.append_value((0..(10 + i % 6)).map(|t| Some(((t as f64) * 0.6 + i as f64).sin() * (1.0 + (i % 2) as f64)))),
        }
    }
    let ids = Int64Array::from((0..40).collect::<Vec<i64>>());
    let batch = RecordBatch::try_from_iter([("id", Arc::new(ids) as _), ("series", Arc::new(b.finish()) as _)]).unwrap();
    ctx.register_table("t", Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap())).unwrap();
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<String, String> {
    let batches = ctx.sql(sql).await.map_err(|e| e.to_string())?.collect().await.map_err(|e| e.to_string())?;
    Ok(pretty_format_batches(&batches).map_err(|e| e.to_string())?.to_string())
}

const OPTIONS: &str = r#"{"hidden_size": 8, "latent": 3, "epochs": 2, "clusters": 2, "on_invalid": "null"}"#;

#[tokio::test]
async fn functions_through_the_ffi_equal_the_functions_themselves() {
    // Train directly, then register the model by name on both sides.
    let direct = SessionContext::new();
    vrae_datafusion::register(&direct);
    table(&direct);
    let trained = direct.sql(&format!("SELECT vrae_fit(series, '{OPTIONS}') FROM t")).await.unwrap().collect().await.unwrap();
    let bytes = datafusion::arrow::array::AsArray::as_binary_view(trained[0].column(0)).value(0).to_vec();
    let mut models = NamedModels::new();
    models.insert_bytes("m", &bytes).unwrap();
    let direct = SessionContext::new();
    vrae_datafusion::register_with_models(&direct, &models);
    table(&direct);
    let foreign = ffi_session(&models);
    table(&foreign);

    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let queries = [
        "SELECT id, vrae_embed(series, 'm', '{\"on_invalid\": \"null\"}'), vrae_cluster(series, 'm', '{\"on_invalid\": \"null\"}'), \
         vrae_score(series, 'm', '{\"on_invalid\": \"null\"}'), vrae_project(series, 'm', '{\"on_invalid\": \"null\"}'), \
         vrae_reconstruct(series, 'm', '{\"on_invalid\": \"null\"}') FROM t ORDER BY id"
            .to_string(),
        format!("SELECT id, vrae_cluster(series, X'{hex}', '{{\"on_invalid\": \"null\"}}') FROM t ORDER BY id"),
    ];
    for q in &queries {
        let mine = run(&direct, q).await;
        let theirs = run(&foreign, q).await;
        assert!(mine.is_ok(), "{q}: {mine:?}");
        assert_eq!(mine, theirs, "{q}");
    }
    // Training through the FFI gives the same model: the same checksum,
    // which covers everything but the training times.
    let again = foreign.sql(&format!("SELECT vrae_fit(series, '{OPTIONS}') FROM t")).await.unwrap().collect().await.unwrap();
    let again = datafusion::arrow::array::AsArray::as_binary_view(again[0].column(0)).value(0).to_vec();
    assert_eq!(checksum(&again), checksum(&bytes));
    // And under GROUP BY, group by group.
    let grouped = format!("SELECT id % 2 AS g, vrae_fit(series, '{OPTIONS}') FROM t GROUP BY id % 2 ORDER BY g");
    assert_eq!(group_checksums(&foreign, &grouped).await, group_checksums(&direct, &grouped).await);
}

/// The checksums of the models in the second column of a query's result.
async fn group_checksums(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut sums = Vec::new();
    for b in &batches {
        let models = datafusion::arrow::array::AsArray::as_binary_view(b.column(1));
        sums.extend((0..models.len()).map(|i| checksum(models.value(i))));
    }
    assert_eq!(sums.len(), 2);
    sums
}

/// The checksum in a model file's safetensors metadata.
fn checksum(model: &[u8]) -> String {
    let n = u64::from_le_bytes(model[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&model[8..8 + n]).unwrap();
    header["__metadata__"]["checksum"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn errors_through_the_ffi_carry_the_functions_messages() {
    let foreign = ffi_session(&NamedModels::new());
    table(&foreign);
    let direct = SessionContext::new();
    vrae_datafusion::register(&direct);
    table(&direct);
    for (q, message) in [
        ("SELECT vrae_cluster(series, 'missing.safetensors') FROM t", "vrae_cluster: missing.safetensors"),
        ("SELECT vrae_embed(series, X'0001', '{\"on_invalid\": \"null\"}') FROM t", "vrae_embed: invalid model"),
        ("SELECT vrae_score(series, 'x', '{\"nope\": 1}') FROM t", "vrae_score: unknown option `nope`"),
        ("SELECT vrae_score(series, 'x', CAST(id AS VARCHAR)) FROM t", "vrae_score: options must be the same on every row"),
        ("SELECT vrae_score(series, 'x', id) FROM t", "vrae_score: options must be a JSON string"),
        ("SELECT vrae_fit(series, '{\"epochs\": \"many\"}') FROM t", "vrae_fit: option `epochs`"),
    ] {
        let mine = run(&direct, q).await.expect_err(q);
        let theirs = run(&foreign, q).await.expect_err(q);
        assert!(mine.contains(message), "{q}: {mine}");
        let whole = &mine[mine.find(message).unwrap()..];
        assert!(theirs.contains(whole), "{q}: {theirs} does not carry {whole}");
    }
}
