//! Polars series columns to the core's [`SeriesBatch`](vrae::SeriesBatch).
//!
//! Polars' chunks cross to arrow-rs through the Arrow C Data Interface, which
//! hands over the buffers themselves, and the core's reader
//! ([`vrae::arrow_input`], the one the SQL functions use) does the rest:
//! null series are left out, a null value or an uneven step is an error
//! naming the row and step (or a null row with [`InvalidRows::Skip`]), and
//! one `Float32` chunk whose rows lie back to back is borrowed, not copied.
//!
//! What stays here is the Polars side: which Polars types hold series
//! ([`step_layout`]), for messages in Polars' names and for output types.

use arrow_array::ArrayRef;
use polars::prelude::{DataType, Series};
use vrae::arrow_input::{series_from_arrow_chunks, ArrowSeries};
use vrae::InvalidRows;

use crate::arrow_bridge::polars_to_arrow;
use crate::error::{PluginError, Result};

/// The column types the functions accept, for error messages.
const ACCEPTED_TYPES: &str = "List(Float32/Float64) or Array(Float32/Float64, n) for univariate series; \
    List(Array(Float32/Float64, C)) or List(List(Float32/Float64)) with C values at every step for multivariate ones";

/// How the time steps of a column are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepLayout {
    /// One float per step: `List(Float)`, `Array(Float, n)`.
    Scalar,
    /// `C` floats per step in a fixed-size list: `List(Array(Float, C))`.
    Fixed(usize),
    /// A list of floats per step, all of one width: `List(List(Float))`.
    Nested,
}

impl StepLayout {
    /// The channel count the type fixes (nested lists leave it to the data).
    pub fn channels(self) -> Option<usize> {
        match self {
            StepLayout::Scalar => Some(1),
            StepLayout::Fixed(c) => Some(c),
            StepLayout::Nested => None,
        }
    }
}

fn is_float(dtype: &DataType) -> bool {
    matches!(dtype, DataType::Float32 | DataType::Float64)
}

/// What a column of type `dtype` (as Polars writes it) is told: the types
/// the functions accept, and how to get one.
pub fn unsupported_type_message(dtype: impl std::fmt::Display) -> String {
    format!("unsupported series type {dtype}: expected {ACCEPTED_TYPES} (cast other numbers with .cast(pl.List(pl.Float32)))")
}

fn unsupported(dtype: &DataType) -> PluginError {
    PluginError::UnsupportedType(unsupported_type_message(dtype))
}

/// The step layout of a column type, or why it cannot hold series.
///
/// A zero-width `Array` holds no steps (or no values per step), and Polars
/// cannot even hand its chunks over (its import panics), so it is refused here,
/// where the expressions' output types are found, before any data moves.
pub fn step_layout(dtype: &DataType) -> Result<StepLayout> {
    let inner = match dtype {
        DataType::List(inner) | DataType::Array(inner, 1..) => inner.as_ref(),
        other => return Err(unsupported(other)),
    };
    match inner {
        DataType::Float32 | DataType::Float64 => Ok(StepLayout::Scalar),
        DataType::Array(f, c) if is_float(f) && *c > 0 => Ok(StepLayout::Fixed(*c)),
        DataType::List(f) if is_float(f) => Ok(StepLayout::Nested),
        _ => Err(unsupported(dtype)),
    }
}

/// A Polars column as arrow-rs arrays, one per chunk, sharing Polars'
/// buffers (they stay alive as long as this does).
pub struct ArrowColumn {
    chunks: Vec<ArrayRef>,
}

impl ArrowColumn {
    /// The column's series for the core, borrowed from the column where the
    /// layout allows. `expected_channels` (a model's) settles the channel
    /// count of nested lists and is checked against the type otherwise.
    pub fn series(&self, expected_channels: Option<usize>, invalid: InvalidRows) -> Result<ArrowSeries<'_>> {
        let chunks: Vec<&dyn arrow_array::Array> = self.chunks.iter().map(|c| c.as_ref()).collect();
        Ok(series_from_arrow_chunks(&chunks, expected_channels, invalid)?)
    }
}

/// Hands a series column's chunks to arrow-rs, after checking that its
/// Polars type can hold series.
pub fn to_arrow(series: &Series) -> Result<ArrowColumn> {
    step_layout(series.dtype())?;
    // Each chunk as Polars holds it: for the float list types `step_layout`
    // accepts, that is standard Arrow (no Polars-only view types).
    let chunks = series.chunks().iter().map(|c| polars_to_arrow(series.name().clone(), c.clone())).collect::<Result<Vec<_>>>()?;
    Ok(ArrowColumn { chunks })
}

#[cfg(test)]
mod tests {
    use polars::prelude::IntoSeries;
    use pyo3_polars::export::polars_arrow::array::{Array as PolarsArray, FixedSizeListArray, ListArray, PrimitiveArray};
    use pyo3_polars::export::polars_arrow::bitmap::Bitmap;
    use pyo3_polars::export::polars_arrow::datatypes::ArrowDataType;
    use pyo3_polars::export::polars_arrow::offset::OffsetsBuffer;
    use vrae::VraeError;

    use super::*;

    /// Polars' list layout: 64-bit offsets.
    type LargeListArray = ListArray<i64>;

    fn list(values: Box<dyn PolarsArray>, offsets: Vec<i64>, validity: Option<Vec<bool>>) -> Box<dyn PolarsArray> {
        let dtype = LargeListArray::default_datatype(values.dtype().clone());
        let offsets = OffsetsBuffer::try_from(offsets).expect("valid offsets");
        Box::new(LargeListArray::new(dtype, offsets, values, validity.map(Bitmap::from_iter)))
    }

    fn series(array: Box<dyn PolarsArray>) -> Series {
        Series::from_arrow("s".into(), array).expect("a series")
    }

    fn floats_of(s: &Series) -> *const f32 {
        let list = s.chunks()[0].as_any().downcast_ref::<LargeListArray>().expect("list");
        list.values().as_any().downcast_ref::<PrimitiveArray<f32>>().expect("f32").values().as_slice().as_ptr()
    }

    #[test]
    fn polars_buffers_cross_without_a_copy() {
        let values = PrimitiveArray::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0]);
        let s = series(list(Box::new(values), vec![0, 2, 2, 5], Some(vec![true, false, true])));
        let column = to_arrow(&s).expect("exported");
        let c = column.series(Some(1), InvalidRows::Error).expect("converted");
        assert_eq!((c.rows.clone(), c.len), (vec![0, 2], 3));
        assert_eq!((c.batch.row(0), c.batch.row(1)), (&[1.0f32, 2.0][..], &[3.0f32, 4.0, 5.0][..]));
        assert_eq!(c.batch.row(0).as_ptr(), floats_of(&s), "borrowed from Polars' buffer");
    }

    #[test]
    fn sliced_and_chunked_columns_keep_their_row_numbers() {
        let values = PrimitiveArray::from_vec(vec![0.0f32, 1.0, 2.0, f32::NAN, 4.0, 5.0]);
        let whole = list(Box::new(values), vec![0, 1, 3, 6], None);
        let s = series(whole.sliced(1, 2));
        let column = to_arrow(&s).expect("exported");
        let c = column.series(Some(1), InvalidRows::Error).expect("converted");
        assert_eq!(c.batch.row(0), &[1.0f32, 2.0]);
        let c = column.series(Some(1), InvalidRows::Skip { max_length: 10 }).expect("converted");
        assert_eq!((c.rows.clone(), c.len), (vec![0], 2), "the NaN row is left out");

        let mut two = series(whole.sliced(0, 1));
        two.append(&series(whole.sliced(1, 1))).expect("appended");
        two.append(&series(whole.sliced(2, 1))).expect("appended");
        assert_eq!(two.chunks().len(), 3);
        let column = to_arrow(&two).expect("exported");
        let c = column.series(Some(1), InvalidRows::Skip { max_length: 10 }).expect("converted");
        assert_eq!((c.rows.clone(), c.len), (vec![0, 1], 3));
        assert_eq!((c.batch.row(0), c.batch.row(1)), (&[0.0f32][..], &[1.0f32, 2.0][..]));
    }

    #[test]
    fn multivariate_fixed_size_and_nested_steps() {
        let floats = PrimitiveArray::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let dtype = FixedSizeListArray::default_datatype(ArrowDataType::Float64, 2);
        let steps = FixedSizeListArray::new(dtype, 3, Box::new(floats), None);
        let s = series(list(Box::new(steps), vec![0, 1, 3], None));
        assert_eq!(step_layout(s.dtype()).expect("layout"), StepLayout::Fixed(2));
        let column = to_arrow(&s).expect("exported");
        let c = column.series(Some(2), InvalidRows::Error).expect("converted");
        assert_eq!((c.batch.channels(), c.batch.row(1)), (2, &[3.0f32, 4.0, 5.0, 6.0][..]));
        let err = column.series(Some(3), InvalidRows::Error).map(|_| ()).expect_err("3 channels");
        assert!(matches!(err, PluginError::Vrae(VraeError::ChannelMismatch { expected: 3, found: 2 })), "{err}");

        let floats = PrimitiveArray::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let steps = list(Box::new(floats), vec![0, 2, 4, 5, 7], None);
        // Row 0: steps [1, 2], [3, 4]; row 1: [5], [6, 7] (uneven).
        let s = series(list(steps, vec![0, 2, 4], None));
        assert_eq!(step_layout(s.dtype()).expect("layout"), StepLayout::Nested);
        let column = to_arrow(&s).expect("exported");
        let err = column.series(None, InvalidRows::Error).map(|_| ()).expect_err("uneven");
        assert!(matches!(err, PluginError::Vrae(VraeError::StepWidth { row: 1, step: 0, found: 1, channels: 2 })), "{err}");
    }

    #[test]
    fn other_types_are_refused_in_polars_names() {
        let ints = polars::prelude::Int32Chunked::from_vec("s".into(), vec![1, 2]).into_series();
        let err = to_arrow(&ints).map(|_| ()).expect_err("ints").to_string();
        assert!(err.contains("unsupported series type i32") && err.contains("List(Float32/Float64)"), "{err}");
    }
}
