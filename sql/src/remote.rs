//! Queries on an Apache DataFusion Ballista cluster (feature `remote`).
//!
//! Ballista's client plans a query, optimises it and sends the logical
//! plan to the scheduler. Functions travel by name only: the scheduler and
//! every executor decode them from their own registries, which is why the
//! cluster runs `vrae-scheduler` and `vrae-executor` (the `vrae-ballista`
//! crate) rather than the upstream binaries. A function's state does not
//! travel either, so models registered by name ([`crate::NamedModels`])
//! are not available on a cluster; paths every executor can read, and
//! model bytes (a literal, a scalar subquery, a joined table), are.

use std::io::Cursor;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::MemTable;
use datafusion::execution::{SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion_proto::logical_plan::LogicalExtensionCodec;

/// A context whose queries run on the Ballista scheduler at `url`
/// (`df://HOST:PORT`; the port defaults to 50050), built from `state`:
/// its catalogs, settings, object stores and table functions are kept, and
/// every vrae function is registered. Nothing is contacted before the first
/// query that reads a table.
pub async fn connect(url: &str, state: SessionState) -> Result<SessionContext> {
    let config = state.config().clone().with_ballista_logical_extension_codec(Arc::new(PlanCodec::default()));
    let state = SessionStateBuilder::new_from_existing(state).with_config(config).build();
    // Turning a session into a Ballista client replaces its scalar and
    // aggregate function lists with Ballista's own, so vrae's are registered
    // after the upgrade, not before.
    let ctx = SessionContext::remote_with_state(url, state).await?;
    crate::register(&ctx);
    // Ballista reads Parquet binary columns as Binary (it turns view types
    // off for its shuffles). A model table joined onto a batch repeats the
    // model on every row, and 8,192 copies of a 270 KB model pass a Binary
    // column's 2 GiB: the executor panics ("offset overflow"). As views the
    // rows share one copy. The client's settings travel with each query, and
    // a `SET` can still turn this off.
    let shared = ctx.state_ref();
    let mut state = shared.write();
    let options = state.config_mut().options_mut();
    options.execution.parquet.schema_force_view_types = true;
    // Ballista 55's adaptive planner loses a job when an executor dies while
    // a later stage reads its output: it resubmits both stages, then cannot
    // find the stage it resubmitted, and the job never ends (the client
    // waits forever; apache/datafusion-ballista#1601 was the unmerged fix).
    // The static planner reruns the lost work, or, where a writing stage
    // had started (vrae-scheduler's `--stage-max-failures` of 1), fails the
    // job with an error (BENCHMARKS.md, "Ballista"). vrae's queries gain nothing from
    // adaptive join choices: the heavy work is a projection where the scan
    // runs. A `SET ballista.planner.adaptive.enabled = true` turns it back on.
    options.set(ADAPTIVE_PLANNER, "false")?;
    drop(state);
    Ok(ctx)
}

/// Ballista's logical plan codec, which also carries in-memory tables
/// (`MemTable`: what `vrae_prototypes` and DataFusion's own table
/// functions return) as Arrow IPC. The client encodes with it
/// ([`connect`]), the scheduler decodes with it (`vrae-scheduler`);
/// executors receive the scheduler's physical plan, in which an in-memory
/// scan is a native node.
#[derive(Debug, Default)]
pub struct PlanCodec {
    ballista: BallistaLogicalExtensionCodec,
}

/// Ballista's setting for its adaptive query planner.
pub const ADAPTIVE_PLANNER: &str = ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED;

/// Marks a table this codec wrote, ahead of its Arrow IPC stream.
const MEMTABLE_TAG: &[u8] = b"vrae-memtable-ipc-1\0";

impl LogicalExtensionCodec for PlanCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MEMTABLE_TAG) {
            Some(ipc) => {
                let reader = StreamReader::try_new(Cursor::new(ipc), None)?;
                let batches = reader.collect::<std::result::Result<Vec<RecordBatch>, _>>()?;
                Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
            }
            None => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(&self, table_ref: &TableReference, node: Arc<dyn TableProvider>, buf: &mut Vec<u8>) -> Result<()> {
        let Some(table) = node.downcast_ref::<MemTable>() else {
            return self.ballista.try_encode_table_provider(table_ref, node, buf);
        };
        buf.extend_from_slice(MEMTABLE_TAG);
        let mut writer = StreamWriter::try_new(&mut *buf, &table.schema())?;
        for partition in &table.batches {
            // Planning holds no lock on a table it is encoding; a writer
            // that does is a table being changed, which cannot be sent.
            let batches = partition.try_read().map_err(|_| {
                DataFusionError::Plan(format!("in-memory table {table_ref} is being written to and cannot be sent to the cluster"))
            })?;
            for batch in batches.iter() {
                writer.write(batch)?;
            }
        }
        writer.finish()?;
        Ok(())
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}
