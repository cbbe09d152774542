//! # vrae-ballista
//!
//! vrae's functions on an Apache DataFusion Ballista cluster. The
//! `vrae-scheduler` and `vrae-executor` binaries are Ballista 55's own
//! scheduler and executor, with the upstream command lines and settings,
//! whose function registries also hold vrae's functions: Ballista sends
//! plans with functions named, not serialised, so every process that
//! decodes a plan must know them. Clients connect with
//! `vrae-sql --remote df://HOST:PORT` or `vrae_datafusion::remote::connect`.

mod logging;

use std::ffi::OsString;
use std::sync::Arc;

use ballista_core::object_store::{session_config_with_s3_support, session_state_with_s3_support};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_scheduler::config::Config as SchedulerArgs;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use datafusion::common::Result;
use datafusion::execution::context::SessionConfig;
use datafusion::execution::SessionState;

pub use logging::{init_logging, LoggingError};

/// The scheduler's sessions: the upstream binary's (S3-aware object
/// stores, Ballista's functions) with vrae's functions added. The
/// scheduler decodes every submitted plan in one of these.
pub fn scheduler_session(config: SessionConfig) -> Result<SessionState> {
    let mut state = session_state_with_s3_support(config)?;
    vrae_datafusion::register_all(&mut state)?;
    Ok(state)
}

/// The executors' function registry: every function of an upstream
/// executor's session, DataFusion's nested (array) functions included, and
/// vrae's. Executors decode their tasks' plans with it.
pub fn executor_functions() -> Result<Arc<BallistaFunctionRegistry>> {
    let state = scheduler_session(session_config_with_s3_support())?;
    Ok(Arc::new(BallistaFunctionRegistry::from(&state)))
}

/// The scheduler's command line (`args`, the program name first): the
/// upstream `ballista-scheduler`'s flags and defaults, but for
/// `--stage-max-failures`, 1 unless given. Ballista reruns a stage whose
/// input was lost with an executor; when that stage writes (`COPY ... TO`)
/// the failed attempt's files stay beside the new ones, rows written twice
/// without a word (BENCHMARKS.md, "Ballista"). With 1 such a job fails with
/// an error instead. Tasks still scanning and embedding on a lost executor
/// are rerun either way.
pub fn scheduler_args(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> clap::error::Result<SchedulerArgs> {
    let matches = SchedulerArgs::command().try_get_matches_from(args)?;
    let mut parsed = SchedulerArgs::from_arg_matches(&matches)?;
    if matches.value_source("stage_max_failures") == Some(ValueSource::DefaultValue) {
        parsed.stage_max_failures = 1;
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_and_scheduler_know_vrae_and_datafusion_functions() {
        let registry = executor_functions().unwrap();
        for name in ["vrae_embed", "vrae_cluster", "vrae_score", "vrae_project", "vrae_reconstruct", "vrae_model_info"] {
            assert_eq!(registry.scalar_functions[name].name(), name);
        }
        assert_eq!(registry.aggregate_functions["vrae_fit"].name(), "vrae_fit");
        // What an upstream executor decodes must still decode.
        assert!(registry.scalar_functions.contains_key("abs"));
        assert!(registry.scalar_functions.contains_key("make_array"));
        assert!(registry.aggregate_functions.contains_key("sum"));

        let state = scheduler_session(session_config_with_s3_support()).unwrap();
        assert!(state.scalar_functions().contains_key("vrae_embed"));
        assert!(state.aggregate_functions().contains_key("vrae_fit"));
    }

    #[test]
    fn a_lost_stage_input_fails_the_job_unless_the_command_line_says_otherwise() {
        let default = scheduler_args(["vrae-scheduler", "--bind-port", "50051"]).unwrap();
        assert_eq!((default.stage_max_failures, default.bind_port, default.task_max_failures), (1, 50051, 4));
        let given = scheduler_args(["vrae-scheduler", "--stage-max-failures", "4"]).unwrap();
        assert_eq!(given.stage_max_failures, 4);
        let err = scheduler_args(["vrae-scheduler", "--stage-max-failures", "many"]).unwrap_err();
        assert!(err.to_string().contains("--stage-max-failures"), "{err}");
    }
}
