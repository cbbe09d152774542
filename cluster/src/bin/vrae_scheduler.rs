//! `vrae-scheduler`: Ballista's scheduler, with the upstream
//! `ballista-scheduler`'s command line and settings, whose sessions know
//! vrae's functions (it decodes and plans every submitted query).
//!
//! One default differs: `--stage-max-failures` is 1 unless given
//! ([`vrae_ballista::scheduler_args`] says why).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::error::{BallistaError, Result};
use ballista_core::object_store::session_config_with_s3_support;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use vrae_datafusion::remote::PlanCodec;

fn main() -> Result<()> {
    // Deep plans recurse deeply while they are planned: the upstream
    // scheduler's stack size.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .map_err(BallistaError::IoError)?;
    let opt = vrae_ballista::scheduler_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    runtime.block_on(run(opt))
}

async fn run(opt: Config) -> Result<()> {
    let file_prefix = format!("scheduler_{}_{}_{}", opt.namespace, opt.external_host, opt.bind_port);
    vrae_ballista::init_logging(
        opt.log_dir.as_deref(),
        &file_prefix,
        &opt.log_rotation_policy,
        &opt.log_level_setting,
        opt.print_thread_info,
    )
    .map_err(|e| BallistaError::Configuration(e.to_string()))?;
    let addr: SocketAddr = format!("{}:{}", opt.bind_host, opt.bind_port)
        .parse()
        .map_err(|e| BallistaError::Configuration(format!("--bind-host / --bind-port: {e}")))?;

    let config: SchedulerConfig = opt.try_into()?;
    let mut config = config
        .with_override_config_producer(Arc::new(session_config_with_s3_support))
        .with_override_session_builder(Arc::new(vrae_ballista::scheduler_session));
    // Plans that carry in-memory tables (`vrae_prototypes`) decode.
    config.override_logical_codec = Some(Arc::new(PlanCodec::default()));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, addr, Arc::new(config)).await
}
