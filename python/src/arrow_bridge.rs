//! Arrays between Polars (polars-arrow) and arrow-rs through the Arrow C
//! Data Interface: both sides speak it, so an array crosses with its buffers
//! shared, not copied, and is released once, by the side that ends up
//! holding it. The only `unsafe` code of the plugin.

use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{make_array, Array as _, ArrayRef};
use polars::prelude::{PlSmallStr, Series};
use pyo3_polars::export::polars_arrow::array::Array as PolarsArray;
use pyo3_polars::export::polars_arrow::datatypes::Field as PolarsField;
use pyo3_polars::export::polars_arrow::ffi::{self as polars_ffi, ArrowArray, ArrowSchema};

use crate::error::{PluginError, Result};

fn failed(what: &str, e: impl std::fmt::Display) -> PluginError {
    PluginError::UnsupportedType(format!("could not pass {what}: {e}"))
}

/// One Polars chunk as an arrow-rs array over the same buffers.
pub fn polars_to_arrow(name: PlSmallStr, chunk: Box<dyn PolarsArray>) -> Result<ArrayRef> {
    let field = PolarsField::new(name, chunk.dtype().clone(), true);
    let schema = polars_ffi::export_field_to_c(&field);
    let array = polars_ffi::export_array_to_c(chunk);
    // SAFETY: each pair is the C Data Interface's `ArrowArray` or
    // `ArrowSchema`, `#[repr(C)]` with the same fields on both sides
    // (`transmute` checks the sizes); the release callback moves with it.
    let (array, schema) =
        unsafe { (std::mem::transmute::<ArrowArray, FFI_ArrowArray>(array), std::mem::transmute::<ArrowSchema, FFI_ArrowSchema>(schema)) };
    // SAFETY: Polars exported a valid array of the schema exported with it.
    let data = unsafe { from_ffi(array, &schema) }.map_err(|e| failed("the column to Arrow", e))?;
    Ok(make_array(data))
}

/// An arrow-rs array as a Polars series over the same buffers.
pub fn arrow_to_polars(name: PlSmallStr, array: ArrayRef) -> Result<Series> {
    let (array, schema) = to_ffi(&array.to_data()).map_err(|e| failed("the output column to Polars", e))?;
    // SAFETY: as in `polars_to_arrow`, the other way round.
    let (array, schema) =
        unsafe { (std::mem::transmute::<FFI_ArrowArray, ArrowArray>(array), std::mem::transmute::<FFI_ArrowSchema, ArrowSchema>(schema)) };
    // SAFETY: arrow-rs exported a valid array of the schema exported with it.
    let field = unsafe { polars_ffi::import_field_from_c(&schema) }?;
    let array = unsafe { polars_ffi::import_array_from_c(array, field.dtype().clone()) }?;
    Ok(Series::from_arrow(name, array)?)
}
