//! # polars-vrae
//!
//! The Polars front end of vrae: one shared library that is both the Python
//! module `polars_vrae._internal` (training from a Series with the GIL
//! released, model information, option checking) and a Polars expression
//! plugin (`vrae_fit` as an aggregation, `vrae_embed`, `vrae_cluster`,
//! `vrae_score`, `vrae_project` and `vrae_reconstruct` as elementwise
//! functions). The Python package `polars_vrae` wraps both.
//!
//! Layers: Polars columns are read straight from their Arrow buffers into
//! the core's `SeriesBatch` ([`convert`]), the core does the work, and the
//! flat results become output columns ([`output`]). Models travel as their
//! safetensors bytes and are decoded once per distinct model ([`models`]).

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
