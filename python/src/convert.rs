//! Polars series columns to the core's [`SeriesBatch`], read straight from
//! the Arrow buffers of each chunk.
//!
//! Accepted column types: `List(Float32/Float64)` and `Array(Float32/Float64,
//! n)` (univariate), and the same outer types around `Array(Float, C)` or
//! `List(Float)` with `C` values at every step (multivariate, time-major).
//! A null series is left out of the batch (its output is null); a null value
//! inside a series or a step of the wrong width is an error naming the row
//! and step, or, with [`InvalidRows::Skip`], makes the row null too.
//!
//! No row is copied on its own: a single `Float32` chunk whose non-null rows
//! lie back to back is borrowed as it is; anything else (`Float64`, several
//! chunks, gaps) is copied into one flat buffer for the whole column.

use std::ops::Range;

use polars::prelude::{DataType, Series};
use pyo3_polars::export::polars_arrow::array::{Array, FixedSizeListArray, ListArray, PrimitiveArray};
use pyo3_polars::export::polars_arrow::bitmap::Bitmap;
use vrae::{InvalidRows, SeriesBatch, VraeError};

use crate::error::{PluginError, Result};

/// Polars' list layout: 64-bit offsets.
pub type LargeListArray = ListArray<i64>;

/// The column types the functions accept, for error messages.
pub const ACCEPTED_TYPES: &str = "List(Float32/Float64) or Array(Float32/Float64, n) for univariate series; \
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

fn unsupported(dtype: &DataType) -> PluginError {
    PluginError::UnsupportedType(format!(
        "unsupported series type {dtype}: expected {ACCEPTED_TYPES} (cast other numbers with .cast(pl.List(pl.Float32)))"
    ))
}

/// The step layout of a column type, or why it cannot hold series.
pub fn step_layout(dtype: &DataType) -> Result<StepLayout> {
    let inner = match dtype {
        DataType::List(inner) | DataType::Array(inner, _) => inner.as_ref(),
        other => return Err(unsupported(other)),
    };
    match inner {
        DataType::Float32 | DataType::Float64 => Ok(StepLayout::Scalar),
        DataType::Array(f, c) if is_float(f) => Ok(StepLayout::Fixed(*c)),
        DataType::List(f) if is_float(f) => Ok(StepLayout::Nested),
        _ => Err(unsupported(dtype)),
    }
}

/// A column converted for the core.
#[derive(Debug)]
pub struct Converted<'a> {
    /// The usable rows, in order.
    pub batch: SeriesBatch<'a>,
    /// The input row of every batch row (increasing).
    pub rows: Vec<usize>,
    /// Rows of the input, null ones included.
    pub len: usize,
}

/// The float values of a chunk.
#[derive(Clone, Copy)]
enum Floats<'a> {
    F32(&'a PrimitiveArray<f32>),
    F64(&'a PrimitiveArray<f64>),
}

impl<'a> Floats<'a> {
    fn from_array(array: &'a dyn Array) -> Result<Self> {
        let any = array.as_any();
        if let Some(a) = any.downcast_ref::<PrimitiveArray<f32>>() {
            return Ok(Floats::F32(a));
        }
        if let Some(a) = any.downcast_ref::<PrimitiveArray<f64>>() {
            return Ok(Floats::F64(a));
        }
        Err(layout_mismatch(array))
    }

    fn validity(&self) -> Option<&'a Bitmap> {
        match self {
            Floats::F32(a) => a.validity(),
            Floats::F64(a) => a.validity(),
        }
    }

    /// Whether any value in `range` is NaN or infinite.
    fn any_non_finite(&self, range: Range<usize>) -> bool {
        match self {
            Floats::F32(a) => a.values()[range].iter().any(|v| !v.is_finite()),
            Floats::F64(a) => a.values()[range].iter().any(|&v| !(v as f32).is_finite()),
        }
    }

    fn extend_into(&self, range: Range<usize>, out: &mut Vec<f32>) {
        match self {
            Floats::F32(a) => out.extend_from_slice(&a.values()[range]),
            Floats::F64(a) => out.extend(a.values()[range].iter().map(|&v| v as f32)),
        }
    }
}

/// The rows of a chunk: list offsets or a fixed size.
enum Outer<'a> {
    List(&'a LargeListArray),
    Fixed(&'a FixedSizeListArray),
}

impl<'a> Outer<'a> {
    fn from_array(array: &'a dyn Array) -> Result<Self> {
        let any = array.as_any();
        if let Some(a) = any.downcast_ref::<LargeListArray>() {
            return Ok(Outer::List(a));
        }
        if let Some(a) = any.downcast_ref::<FixedSizeListArray>() {
            return Ok(Outer::Fixed(a));
        }
        Err(layout_mismatch(array))
    }

    fn len(&self) -> usize {
        match self {
            Outer::List(a) => a.len(),
            Outer::Fixed(a) => a.len(),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Outer::List(a) => a.is_null(i),
            Outer::Fixed(a) => a.is_null(i),
        }
    }

    /// The steps of row `i`, as positions in the child array.
    fn steps(&self, i: usize) -> Range<usize> {
        match self {
            Outer::List(a) => {
                let (start, end) = a.offsets().start_end(i);
                start..end
            }
            Outer::Fixed(a) => i * a.size()..(i + 1) * a.size(),
        }
    }

    fn child(&self) -> &'a dyn Array {
        match self {
            Outer::List(a) => a.values().as_ref(),
            Outer::Fixed(a) => a.values().as_ref(),
        }
    }
}

/// The steps of a chunk, between its rows and its floats.
enum Steps<'a> {
    Scalar,
    Fixed(&'a FixedSizeListArray),
    Nested(&'a LargeListArray),
}

/// One chunk, ready to be read row by row.
struct Chunk<'a> {
    outer: Outer<'a>,
    steps: Steps<'a>,
    floats: Floats<'a>,
}

/// The chunk's Arrow arrays do not match its Polars type: a bug somewhere.
fn layout_mismatch(array: &dyn Array) -> PluginError {
    PluginError::UnsupportedType(format!("unexpected Arrow layout {:?} for a series column", array.dtype()))
}

impl<'a> Chunk<'a> {
    fn new(array: &'a dyn Array, layout: StepLayout) -> Result<Self> {
        let outer = Outer::from_array(array)?;
        let child = outer.child();
        let (steps, floats) = match layout {
            StepLayout::Scalar => (Steps::Scalar, Floats::from_array(child)?),
            StepLayout::Fixed(_) => {
                let fixed = child.as_any().downcast_ref::<FixedSizeListArray>().ok_or_else(|| layout_mismatch(child))?;
                (Steps::Fixed(fixed), Floats::from_array(fixed.values().as_ref())?)
            }
            StepLayout::Nested => {
                let list = child.as_any().downcast_ref::<LargeListArray>().ok_or_else(|| layout_mismatch(child))?;
                (Steps::Nested(list), Floats::from_array(list.values().as_ref())?)
            }
        };
        Ok(Chunk { outer, steps, floats })
    }

    /// Where row `i` (input row `row`) lies: its number of steps and its
    /// float range, after checking that no step and no value is null and
    /// that every step has `channels` values. Nested lists set `channels`
    /// from the first usable row when it is not known yet.
    fn row(&self, i: usize, row: usize, channels: &mut Option<usize>) -> Result<(usize, Range<usize>), VraeError> {
        let steps = self.outer.steps(i);
        let count = steps.len();
        let mut found_channels = *channels;
        let (floats, width) = match self.steps {
            Steps::Scalar => (steps.clone(), 1),
            Steps::Fixed(fixed) => {
                if let Some(step) = first_null(fixed.validity(), steps.clone()) {
                    return Err(VraeError::NullValue { row, step });
                }
                let w = fixed.size();
                (steps.start * w..steps.end * w, w)
            }
            Steps::Nested(list) => {
                for (step, s) in steps.clone().enumerate() {
                    if list.is_null(s) {
                        return Err(VraeError::NullValue { row, step });
                    }
                    let (start, end) = list.offsets().start_end(s);
                    let found = end - start;
                    match found_channels {
                        None => found_channels = Some(found),
                        Some(c) if c != found => return Err(VraeError::StepWidth { row, step, found, channels: c }),
                        Some(_) => {}
                    }
                }
                // Offsets hold one entry per step plus one, so both ends exist.
                let offsets = list.offsets().as_slice();
                (offsets[steps.start] as usize..offsets[steps.end] as usize, found_channels.unwrap_or(1).max(1))
            }
        };
        if let Some(pos) = first_null(self.floats.validity(), floats.clone()) {
            return Err(VraeError::NullValue { row, step: pos / width });
        }
        *channels = found_channels;
        Ok((count, floats))
    }
}

/// The first null position within `range`, counted from its start.
fn first_null(validity: Option<&Bitmap>, range: Range<usize>) -> Option<usize> {
    let validity = validity?;
    if validity.null_count_range(range.start, range.len()) == 0 {
        return None;
    }
    range.clone().position(|i| !validity.get_bit(i))
}

/// Where one usable row's values are.
struct Span {
    chunk: usize,
    steps: usize,
    floats: Range<usize>,
}

/// Converts a series column. `expected_channels` (a model's) settles the
/// channel count of nested lists and is checked against the type otherwise.
pub fn convert(series: &Series, expected_channels: Option<usize>, invalid: InvalidRows) -> Result<Converted<'_>> {
    let layout = step_layout(series.dtype())?;
    if let (Some(expected), Some(found)) = (expected_channels, layout.channels()) {
        if expected != found {
            return Err(VraeError::ChannelMismatch { expected, found }.into());
        }
    }
    let mut channels = layout.channels().or(expected_channels);
    let chunks = series.chunks().iter().map(|a| Chunk::new(a.as_ref(), layout)).collect::<Result<Vec<_>>>()?;

    let mut spans = Vec::new();
    let mut rows = Vec::new();
    let mut base = 0;
    for (c, chunk) in chunks.iter().enumerate() {
        for i in 0..chunk.outer.len() {
            let row = base + i;
            if chunk.outer.is_null(i) {
                continue;
            }
            let (steps, floats) = match (chunk.row(i, row, &mut channels), invalid) {
                (Ok(found), InvalidRows::Error) => found,
                (Ok((steps, floats)), InvalidRows::Skip { max_length }) => {
                    if steps == 0 || steps > max_length || chunk.floats.any_non_finite(floats.clone()) {
                        continue;
                    }
                    (steps, floats)
                }
                (Err(e), InvalidRows::Skip { .. }) if e.is_row_layout_error() => continue,
                (Err(e), _) => return Err(e.into()),
            };
            spans.push(Span { chunk: c, steps, floats });
            rows.push(row);
        }
        base += chunk.outer.len();
    }

    let channels = channels.unwrap_or(1);
    let mut offsets = Vec::with_capacity(spans.len() + 1);
    offsets.push(0usize);
    for span in &spans {
        offsets.push(offsets[offsets.len() - 1] + span.steps);
    }
    let batch = match borrowable(&chunks, &spans) {
        Some(values) => SeriesBatch::new(values, offsets, channels)?,
        None => {
            let mut values = Vec::with_capacity(spans.iter().map(|s| s.floats.len()).sum());
            for span in &spans {
                chunks[span.chunk].floats.extend_into(span.floats.clone(), &mut values);
            }
            SeriesBatch::new(values, offsets, channels)?
        }
    };
    Ok(Converted { batch, rows, len: base })
}

/// The values of every usable row as one slice of the column's own buffer,
/// when there is such a slice: one `Float32` chunk whose usable rows lie
/// back to back.
fn borrowable<'a>(chunks: &[Chunk<'a>], spans: &[Span]) -> Option<&'a [f32]> {
    let [chunk] = chunks else { return None };
    let Floats::F32(floats) = chunk.floats else { return None };
    let values: &'a [f32] = floats.values().as_slice();
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Some(&values[..0]) };
    if spans.windows(2).any(|w| w[0].floats.end != w[1].floats.start) {
        return None;
    }
    values.get(first.floats.start..last.floats.end)
}

#[cfg(test)]
mod tests {
    use polars::prelude::IntoSeries;
    use pyo3_polars::export::polars_arrow::datatypes::ArrowDataType;
    use pyo3_polars::export::polars_arrow::offset::OffsetsBuffer;

    use super::*;

    fn list(values: Box<dyn Array>, offsets: Vec<i64>, validity: Option<Vec<bool>>) -> Box<dyn Array> {
        let dtype = LargeListArray::default_datatype(values.dtype().clone());
        let offsets = OffsetsBuffer::try_from(offsets).expect("valid offsets");
        Box::new(LargeListArray::new(dtype, offsets, values, validity.map(Bitmap::from_iter)))
    }

    fn series(array: Box<dyn Array>) -> Series {
        Series::from_arrow("s".into(), array).expect("a series")
    }

    #[test]
    fn one_float32_chunk_is_borrowed_and_nulls_are_left_out() {
        let values = PrimitiveArray::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0]);
        let s = series(list(Box::new(values), vec![0, 2, 2, 5], Some(vec![true, false, true])));
        let c = convert(&s, Some(1), InvalidRows::Error).expect("converted");
        assert_eq!((c.rows.clone(), c.len), (vec![0, 2], 3));
        assert_eq!(c.batch.row(0), &[1.0, 2.0]);
        assert_eq!(c.batch.row(1), &[3.0, 4.0, 5.0]);
        let buffer = s.chunks()[0].as_any().downcast_ref::<LargeListArray>().expect("list").values();
        let floats = buffer.as_any().downcast_ref::<PrimitiveArray<f32>>().expect("f32");
        assert_eq!(c.batch.row(0).as_ptr(), floats.values().as_slice().as_ptr(), "borrowed, not copied");
    }

    #[test]
    fn a_null_row_over_values_and_float64_are_copied() {
        let values = PrimitiveArray::from_vec(vec![1.0f64, 2.0, 9.0, 9.0, 3.0]);
        let s = series(list(Box::new(values), vec![0, 2, 4, 5], Some(vec![true, false, true])));
        let c = convert(&s, None, InvalidRows::Error).expect("converted");
        assert_eq!(c.rows, vec![0, 2]);
        assert_eq!(c.batch.row(1), &[3.0]);
    }

    #[test]
    fn sliced_and_chunked_columns() {
        let values = PrimitiveArray::from_vec(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let whole = list(Box::new(values), vec![0, 1, 3, 6], None);
        let s = series(whole.sliced(1, 2));
        let c = convert(&s, Some(1), InvalidRows::Error).expect("converted");
        assert_eq!((c.batch.row(0), c.batch.row(1)), (&[1.0f32, 2.0][..], &[3.0f32, 4.0, 5.0][..]));

        let mut two = series(whole.sliced(0, 1));
        two.append(&series(whole.sliced(2, 1))).expect("appended");
        assert_eq!(two.chunks().len(), 2);
        let c = convert(&two, Some(1), InvalidRows::Error).expect("converted");
        assert_eq!(c.rows, vec![0, 1]);
        assert_eq!((c.batch.row(0), c.batch.row(1)), (&[0.0f32][..], &[3.0f32, 4.0, 5.0][..]));
    }

    #[test]
    fn null_values_name_the_row_and_step_or_are_skipped() {
        let values = PrimitiveArray::from(vec![Some(1.0f64), Some(2.0), Some(3.0), None]);
        let s = series(list(Box::new(values), vec![0, 2, 4], None));
        let err = convert(&s, None, InvalidRows::Error).expect_err("a null value");
        assert!(matches!(err, PluginError::Vrae(VraeError::NullValue { row: 1, step: 1 })), "{err}");
        let c = convert(&s, None, InvalidRows::Skip { max_length: 10 }).expect("skipped");
        assert_eq!(c.rows, vec![0]);
    }

    #[test]
    fn skipping_checks_values_too() {
        let values = PrimitiveArray::from_vec(vec![1.0f32, f32::NAN, 2.0, 3.0, 4.0, 5.0]);
        let s = series(list(Box::new(values), vec![0, 2, 2, 3, 6], None));
        let c = convert(&s, Some(1), InvalidRows::Skip { max_length: 2 }).expect("converted");
        // NaN, empty, fine, too long.
        assert_eq!(c.rows, vec![2]);
        assert_eq!(c.batch.row(0), &[2.0]);
    }

    #[test]
    fn multivariate_fixed_size_steps() {
        let floats = PrimitiveArray::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let dtype = FixedSizeListArray::default_datatype(ArrowDataType::Float32, 2);
        let steps = FixedSizeListArray::new(dtype, 3, Box::new(floats), None);
        let s = series(list(Box::new(steps), vec![0, 1, 3], None));
        assert_eq!(step_layout(s.dtype()).expect("layout"), StepLayout::Fixed(2));
        let c = convert(&s, Some(2), InvalidRows::Error).expect("converted");
        assert_eq!(c.batch.channels(), 2);
        assert_eq!(c.batch.row(1), &[3.0, 4.0, 5.0, 6.0]);
        let err = convert(&s, Some(3), InvalidRows::Skip { max_length: 10 }).expect_err("3 channels");
        assert!(matches!(err, PluginError::Vrae(VraeError::ChannelMismatch { expected: 3, found: 2 })), "{err}");
    }

    #[test]
    fn multivariate_nested_lists_need_one_width() {
        let floats = PrimitiveArray::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let steps = list(Box::new(floats), vec![0, 2, 4, 5, 7], None);
        // Row 0: steps [1, 2], [3, 4]; row 1: [5], [6, 7] (uneven).
        let s = series(list(steps, vec![0, 2, 4], None));
        assert_eq!(step_layout(s.dtype()).expect("layout"), StepLayout::Nested);
        let err = convert(&s, None, InvalidRows::Error).expect_err("uneven");
        assert!(matches!(err, PluginError::Vrae(VraeError::StepWidth { row: 1, step: 0, found: 1, channels: 2 })), "{err}");
        let c = convert(&s, None, InvalidRows::Skip { max_length: 10 }).expect("skipped");
        assert_eq!((c.rows.clone(), c.batch.channels()), (vec![0], 2));
        assert_eq!(c.batch.row(0), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn other_types_are_refused_with_the_accepted_ones() {
        let ints = polars::prelude::Int32Chunked::from_vec("s".into(), vec![1, 2]).into_series();
        let err = convert(&ints, None, InvalidRows::Error).expect_err("ints").to_string();
        assert!(err.contains("unsupported series type") && err.contains("List(Float32/Float64)"), "{err}");
    }
}
