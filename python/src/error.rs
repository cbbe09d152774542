//! The plugin's errors, and how they reach Polars (as `ComputeError`s that
//! name the function) and Python (as exceptions of the matching class).
//!
//! Every entry point runs inside [`guard`], so that even a bug that panics
//! comes back as an error instead of unwinding into Polars or Python.

use std::panic::{catch_unwind, AssertUnwindSafe};

use polars::prelude::PolarsError;
use thiserror::Error;
use vrae::VraeError;

/// Everything that can go wrong between a Polars column and the vrae core.
#[derive(Debug, Error)]
pub enum PluginError {
    /// The core refused the series, the options or the model.
    #[error(transparent)]
    Vrae(#[from] VraeError),

    /// A column whose type cannot hold series.
    #[error("{0}")]
    UnsupportedType(String),

    /// A keyword argument that the Python wrapper never sends as given (a
    /// hand-built plugin call or a version mismatch between the two halves).
    #[error("invalid argument `{name}`: {message}")]
    Argument { name: &'static str, message: String },

    /// Polars could not build an output column.
    #[error(transparent)]
    Polars(#[from] PolarsError),

    /// A panic caught at the boundary: a bug in polars-vrae or vrae.
    #[error("internal error (a bug in polars-vrae; please report it): {0}")]
    Panic(String),
}

impl PluginError {
    /// The row the error blames, in the numbering of the rows Polars passed.
    pub fn row(&self) -> Option<usize> {
        match self {
            PluginError::Vrae(e) => e.row(),
            _ => None,
        }
    }

    /// Translates the row an error of the core blames (`map` takes a row of
    /// the batch handed to the core to a row of the input).
    pub fn map_row(self, map: impl Fn(usize) -> usize) -> Self {
        match self {
            PluginError::Vrae(e) => PluginError::Vrae(e.map_row(map)),
            other => other,
        }
    }

    /// Translates a row of the batch handed to the core into the input row
    /// `rows[batch_row]` (the batch leaves null and skipped series out).
    pub fn in_input_rows(self, rows: &[usize]) -> Self {
        self.map_row(|r| rows.get(r).copied().unwrap_or(r))
    }

    /// The error as Polars reports it: the function's Python name first and,
    /// for an error that blames a row, which rows the number counts and, for
    /// a function that takes `on_invalid`, how to get nulls instead.
    pub fn into_polars(self, function: &str, rows: usize, takes_on_invalid: bool) -> PolarsError {
        let hint = match (self.row(), takes_on_invalid) {
            (Some(_), true) => format!(
                " (rows are counted from 0 within the {rows} rows Polars passed to {function} in one call; \
                 pass on_invalid=\"null\" to get null for such series)"
            ),
            (Some(_), false) => format!(" (rows are counted from 0 within the {rows} rows given to {function})"),
            (None, _) => String::new(),
        };
        PolarsError::ComputeError(format!("{function}: {self}{hint}").into())
    }
}

/// Shorthand for results of the plugin.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Runs `work`, turning a panic into [`PluginError::Panic`].
pub fn guard<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => Err(PluginError::Panic(vrae::panic_message(payload.as_ref()))),
    }
}
