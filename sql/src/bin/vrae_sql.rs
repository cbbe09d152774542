//! `vrae-sql`: the DataFusion SQL shell with vrae's functions registered.
//!
//! The REPL, `\d` commands, output formats and object stores are the
//! `datafusion-cli` crate's own; this binary builds the same session the
//! DataFusion CLI builds (dynamic file tables, information schema, `NULL`
//! printed as NULL, the CLI's table functions), adds `vrae_datafusion::register`
//! (or, with `--remote`, connects to a Ballista cluster: `vrae_datafusion::remote`),
//! and turns on `vrae_fit`'s per-epoch progress on stderr so that long
//! training is visible without touching the query output on stdout.

// mimalloc, as the DataFusion CLI's own binary uses: training allocates and
// frees MB-sized tensors every batch, which glibc's malloc can hand back to
// the kernel and fault in again (the main job trained 20% faster with
// mimalloc; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use datafusion::common::config::ConfigNonZeroUsize;
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionConfig;
use datafusion::execution::memory_pool::{FairSpillPool, GreedyMemoryPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::ExplainFormat;
use datafusion::prelude::SessionContext;
use datafusion_cli::catalog::DynamicObjectStoreCatalog;
use datafusion_cli::functions::{ListFilesCacheFunc, MetadataCacheFunc, ParquetMetadataFunc, StatisticsCacheFunc};
use datafusion_cli::object_storage::instrumented::InstrumentedObjectStoreRegistry;
use datafusion_cli::object_storage::{is_stdin_location, StdinCarriesCommands};
use datafusion_cli::pool_type::PoolType;
use datafusion_cli::print_format::PrintFormat;
use datafusion_cli::print_options::{MaxRows, PrintOptions};
use datafusion_cli::{exec, DATAFUSION_CLI_VERSION};

/// Command-line options: the DataFusion CLI's, under the same names.
#[derive(Debug, Parser)]
#[command(name = "vrae-sql", version, about = "DataFusion SQL shell with the vrae time-series clustering functions")]
struct Args {
    /// Directory the relative paths in queries start from (default: the current directory).
    #[arg(short = 'p', long, value_parser = existing_dir)]
    data_path: Option<PathBuf>,

    /// Rows per record batch (default: DataFusion's).
    #[arg(short = 'b', long, value_parser = positive_usize)]
    batch_size: Option<usize>,

    /// Run these SQL command strings, then exit.
    #[arg(short = 'c', long, num_args = 0.., value_parser = non_empty_command)]
    command: Vec<String>,

    /// Memory pool limit, e.g. '4g' or '512m' (default: no limit).
    #[arg(short = 'm', long, value_parser = byte_size)]
    memory_limit: Option<usize>,

    /// Memory pool type when --memory-limit is set: 'greedy' or 'fair'.
    #[arg(long, default_value_t = PoolType::Greedy)]
    mem_pool_type: PoolType,

    /// Run the SQL in these files, then exit.
    #[arg(short = 'f', long, num_args = 0.., value_parser = existing_file)]
    file: Vec<String>,

    /// Run these files on start-up instead of ~/.datafusionrc.
    #[arg(short = 'r', long, num_args = 0.., value_parser = existing_file, conflicts_with = "file")]
    rc: Option<Vec<String>>,

    /// Output format of query results.
    #[arg(long, value_enum, default_value_t = PrintFormat::Automatic)]
    format: PrintFormat,

    /// Print only results: no banner, timings or training progress.
    #[arg(short = 'q', long)]
    quiet: bool,

    /// Most rows shown by the 'table' format: a number, or 'inf'.
    #[arg(long, default_value = "40")]
    maxrows: MaxRows,

    /// Syntax highlighting in the REPL.
    #[arg(long)]
    color: bool,

    /// Run the queries on the Apache DataFusion Ballista cluster whose
    /// scheduler is at this URL, e.g. df://localhost:50050 (its executors
    /// must be vrae-executor processes).
    #[arg(long, value_name = "URL")]
    remote: Option<String>,
}

impl Args {
    fn repl_mode(&self) -> bool {
        self.command.is_empty() && self.file.is_empty()
    }

    /// The REPL and `-f /dev/stdin` read SQL from stdin, so a table cannot also read it.
    fn reads_sql_from_stdin(&self) -> bool {
        self.repl_mode() || self.file.iter().any(|f| is_stdin_location(f))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The CLI prints its errors on stdout; ours go where errors belong.
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    if !args.quiet {
        println!("vrae-sql {} (DataFusion CLI v{DATAFUSION_CLI_VERSION})", env!("CARGO_PKG_VERSION"));
    }
    if let Some(dir) = &args.data_path {
        std::env::set_current_dir(dir).map_err(|e| DataFusionError::External(Box::new(e)))?;
    }
    vrae_datafusion::set_progress_on_stderr(!args.quiet);

    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = args.memory_limit {
        runtime = runtime.with_memory_pool(memory_pool(&args.mem_pool_type, limit));
    }
    let registry = Arc::new(InstrumentedObjectStoreRegistry::new());
    runtime = runtime.with_object_store_registry(registry.clone());
    let ctx = SessionContext::new_with_config_rt(session_config(&args)?, runtime.build_arc()?).enable_url_table();
    let ctx = match &args.remote {
        // A Ballista client context, with vrae's functions registered.
        Some(url) => vrae_datafusion::remote::connect(url, ctx.state()).await?,
        None => {
            vrae_datafusion::register(&ctx);
            ctx
        }
    };
    ctx.refresh_catalogs().await?;
    ctx.register_catalog_list(Arc::new(DynamicObjectStoreCatalog::new(ctx.state().catalog_list().clone(), ctx.state_weak_ref())));
    let cache = ctx.task_ctx().runtime_env().cache_manager.clone();
    ctx.register_udtf("parquet_metadata", Arc::new(ParquetMetadataFunc {}));
    ctx.register_udtf("metadata_cache", Arc::new(MetadataCacheFunc::new(cache.clone())));
    ctx.register_udtf("statistics_cache", Arc::new(StatisticsCacheFunc::new(cache.clone())));
    ctx.register_udtf("list_files_cache", Arc::new(ListFilesCacheFunc::new(cache)));

    let mut print =
        PrintOptions { format: args.format, quiet: args.quiet, maxrows: args.maxrows, color: args.color, instrumented_registry: registry };
    if args.repl_mode() {
        let rc = args.rc.clone().unwrap_or_else(default_rc_files);
        if !rc.is_empty() {
            exec::exec_from_files(&ctx, rc, &print).await?;
        }
        return exec::exec_from_repl(&ctx, &mut print).await.map_err(|e| DataFusionError::External(Box::new(e)));
    }
    if !args.file.is_empty() {
        exec::exec_from_files(&ctx, args.file.clone(), &print).await?;
    }
    if !args.command.is_empty() {
        exec::exec_from_commands(&ctx, args.command.clone(), &print).await?;
    }
    Ok(())
}

/// The CLI's session settings: environment overrides, tree EXPLAIN, NULL shown as NULL.
fn session_config(args: &Args) -> Result<SessionConfig> {
    let mut options = ConfigOptions::from_env()?;
    if let Some(size) = args.batch_size {
        options.execution.batch_size = ConfigNonZeroUsize::try_new(size)?;
    }
    if std::env::var_os("DATAFUSION_EXPLAIN_FORMAT").is_none() {
        options.explain.format = ExplainFormat::Tree;
    }
    if std::env::var_os("DATAFUSION_FORMAT_NULL").is_none() {
        options.format.null = String::from("NULL");
    }
    let mut config = SessionConfig::from(options).with_information_schema(true);
    if args.reads_sql_from_stdin() {
        config = config.with_extension(Arc::new(StdinCarriesCommands));
    }
    Ok(config)
}

fn memory_pool(kind: &PoolType, limit: usize) -> Arc<dyn MemoryPool> {
    // Name the three largest consumers when a query runs out of memory.
    let top = NonZeroUsize::new(3).expect("3 is not zero");
    match kind {
        PoolType::Fair => Arc::new(TrackConsumersPool::new(FairSpillPool::new(limit), top)),
        PoolType::Greedy => Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(limit), top)),
    }
}

fn default_rc_files() -> Vec<String> {
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".datafusionrc"))
        .filter(|rc| rc.is_file())
        .map(|rc| vec![rc.to_string_lossy().into_owned()])
        .unwrap_or_default()
}

fn existing_file(path: &str) -> std::result::Result<String, String> {
    if Path::new(path).is_file() || is_stdin_location(path) {
        Ok(path.to_string())
    } else {
        Err(format!("no such file: '{path}'"))
    }
}

fn existing_dir(path: &str) -> std::result::Result<PathBuf, String> {
    if Path::new(path).is_dir() {
        Ok(PathBuf::from(path))
    } else {
        Err(format!("no such directory: '{path}'"))
    }
}

fn positive_usize(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, got '{text}'")),
    }
}

fn non_empty_command(text: &str) -> std::result::Result<String, String> {
    if text.trim().is_empty() {
        Err("-c expects a non-empty SQL string".to_string())
    } else {
        Ok(text.to_string())
    }
}

/// '512m', '4g', '1.5G', '100k' or a plain number of bytes.
fn byte_size(text: &str) -> std::result::Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (number, unit) = match lower.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), "b"),
    };
    let scale: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("unknown size unit in '{text}': use k, m, g or t")),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok((n * scale) as usize),
        _ => Err(format!("expected a size like '4g' or '512m', got '{text}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::byte_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(byte_size("512m"), Ok(512 << 20));
        assert_eq!(byte_size("4G"), Ok(4 << 30));
        assert_eq!(byte_size("1.5k"), Ok(1536));
        assert_eq!(byte_size("100"), Ok(100));
        assert_eq!(byte_size("2gib"), Ok(2 << 30));
        assert!(byte_size("lots").is_err());
        assert!(byte_size("3x").is_err());
        assert!(byte_size("-1g").is_err());
    }
}
