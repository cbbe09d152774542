//! The upstream binaries' logging: `RUST_LOG`, or the level setting of
//! the command line, to stdout or to a rotated file under `--log-dir`.

use ballista_core::config::LogRotationPolicy;
use tracing_appender::rolling::{InitError, RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// The log directory could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot write logs to --log-dir '{dir}': {source}")]
pub struct LoggingError {
    dir: String,
    source: InitError,
}

/// Sends the process's tracing output to stdout, or to files named
/// `file_prefix` in `log_dir` rotated by `rotation`. `RUST_LOG` overrides
/// `default_filter`, as in the upstream binaries.
pub fn init_logging(
    log_dir: Option<&str>,
    file_prefix: &str,
    rotation: &LogRotationPolicy,
    default_filter: &str,
    thread_info: bool,
) -> Result<(), LoggingError> {
    let filter = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| default_filter.to_string());
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_thread_names(thread_info)
        .with_thread_ids(thread_info)
        .with_env_filter(EnvFilter::new(filter));
    match log_dir {
        None => subscriber.init(),
        Some(dir) => {
            let rotation = match rotation {
                LogRotationPolicy::Minutely => Rotation::MINUTELY,
                LogRotationPolicy::Hourly => Rotation::HOURLY,
                LogRotationPolicy::Daily => Rotation::DAILY,
                LogRotationPolicy::Never => Rotation::NEVER,
            };
            let files = RollingFileAppender::builder()
                .rotation(rotation)
                .filename_prefix(file_prefix)
                .build(dir)
                .map_err(|source| LoggingError { dir: dir.to_string(), source })?;
            subscriber.with_writer(files).init();
        }
    }
    Ok(())
}
