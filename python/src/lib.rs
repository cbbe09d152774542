//! # polars-vrae
//!
//! The Polars front end of vrae: one shared library that is both the Python
//! module `polars_vrae._internal` (training from a Series with the GIL
//! released, model information, option checking) and a Polars expression
//! plugin (`vrae_fit` as an aggregation, `vrae_embed`, `vrae_cluster`,
//! `vrae_score`, `vrae_project` and `vrae_reconstruct` as elementwise
//! functions). The Python package `polars_vrae` wraps both.
//!
//! Layers: Polars columns cross to arrow-rs without a copy ([`arrow_bridge`])
//! and the core's Arrow reader, the one the SQL functions use, turns them
//! into a `SeriesBatch` ([`convert`]); the core does the work; the core's
//! output builder places the results at their rows and the column crosses
//! back to Polars ([`output`]). Models travel as their
//! safetensors bytes and are decoded once per distinct model ([`models`]).

mod arrow_bridge;
mod convert;
mod error;
mod expressions;
mod models;
mod options;
mod output;
mod python;

use pyo3::prelude::*;
use pyo3_polars::PolarsAllocator;

/// Allocations go through Polars' allocator, so that buffers handed to
/// Polars are freed by the allocator that made them.
#[global_allocator]
static ALLOC: PolarsAllocator = PolarsAllocator::new();

/// The native half of `polars_vrae`.
#[pymodule]
fn _internal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    python::register(m)
}
