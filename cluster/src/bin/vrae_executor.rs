//! `vrae-executor`: Ballista's executor, with the upstream
//! `ballista-executor`'s command line and settings, whose function
//! registry holds vrae's functions (it decodes every task's plan with it).

// Executors train and embed: the allocator vrae-sql uses for that work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::error::{BallistaError, Result};
use ballista_core::object_store::{runtime_env_with_s3_support, session_config_with_s3_support};
use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_executor::health::spawn_health_server;
use clap::Parser;

#[tokio::main]
async fn main() -> Result<()> {
    let opt = Config::parse();
    let health_addr: SocketAddr = format!("{}:{}", opt.bind_host, opt.bind_health_port)
        .parse()
        .map_err(|e| BallistaError::Configuration(format!("--bind-host / --bind-health-port: {e}")))?;

    let mut config: ExecutorProcessConfig = opt.try_into()?;
    config.override_config_producer = Some(Arc::new(session_config_with_s3_support));
    config.override_runtime_producer = Some(Arc::new(runtime_env_with_s3_support));
    config.override_function_registry = Some(vrae_ballista::executor_functions()?);
    vrae_ballista::init_logging(
        config.log_dir.as_deref(),
        &config.log_file_name_prefix(),
        &config.log_rotation_policy,
        &config.special_mod_log_level,
        config.print_thread_info,
    )
    .map_err(|e| BallistaError::Configuration(e.to_string()))?;

    // The liveness and readiness probes of the upstream binary.
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel();
    let health = spawn_health_server(health_addr, config.health.clone(), health_stopped);
    let result = start_executor_process(Arc::new(config)).await;
    // The health server only ends when asked; its own failure changes nothing.
    let _ = stop_health.send(());
    let _ = health.await;
    result
}
