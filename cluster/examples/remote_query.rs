//! Runs a vrae query on a Ballista cluster from a program: the clusters of
//! the bundled ECG5000 test file, counted, with a model file every executor
//! can read.
//!
//! ```sh
//! vrae-scheduler &                      # target/release/vrae-scheduler
//! vrae-executor --vcores 2 &
//! cargo run --release -p vrae-ballista --example remote_query -- \
//!     df://localhost:50050 "$PWD/data/ECG5000_TEST.parquet" "$PWD/model.safetensors"
//! ```
//!
//! Paths are read by the scheduler and the executors, so give them as
//! every process sees them (absolute, or on shared storage).

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, series, model] = args.as_slice() else {
        return Err(DataFusionError::Configuration("usage: remote_query df://HOST:PORT SERIES.parquet MODEL.safetensors".into()));
    };
    let state = SessionStateBuilder::new().with_config(SessionConfig::new()).with_default_features().build();
    let ctx = vrae_datafusion::remote::connect(url, state).await?;
    ctx.sql(&format!("CREATE EXTERNAL TABLE ecg STORED AS PARQUET LOCATION '{series}'")).await?;
    ctx.sql(&format!("SELECT vrae_cluster(series, '{model}') AS cluster, count(*) AS series FROM ecg GROUP BY cluster ORDER BY cluster"))
        .await?
        .show()
        .await
}
