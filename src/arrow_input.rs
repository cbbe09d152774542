//! Arrow list columns to [`SeriesBatch`] (feature `arrow`): the one reader
//! of series that every front end uses. DataFusion hands it its arrays as
//! they are; the Polars plugin hands it Polars' chunks through the Arrow C
//! Data Interface, which shares the buffers instead of copying them.
//!
//! Accepted: `List`, `LargeList` and `FixedSizeList` of `Float32` or
//! `Float64` (univariate), and the same outer lists of `FixedSizeList<Float,
//! C>` or `List`/`LargeList<Float>` with `C` values at every step
//! (multivariate, time-major). List child fields may have any name (`item`,
//! `element`). A column may come in several chunks of one type.
//!
//! Null rows are left out of the batch, so that callers return null for
//! them; a null value inside a series or a step of the wrong width is an
//! error naming the row and step. With [`InvalidRows::Skip`], rows that
//! cannot be used (null values, uneven steps, empty, NaN/inf, too long) are
//! left out instead, for front ends whose users asked for nulls.
//!
//! No row is copied on its own: when the usable rows of a single `Float32`
//! chunk lie back to back, the batch borrows the column's buffer; anything
//! else (`Float64`, several chunks, gaps) is copied into one flat buffer for
//! the whole column.

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, FixedSizeListArray, GenericListArray, OffsetSizeTrait, PrimitiveArray};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;

use crate::batch::{series_error, SeriesBatch};
use crate::error::{Result, VraeError};
pub use crate::on_invalid::InvalidRows;

/// A column converted for the core.
#[derive(Debug)]
pub struct ArrowSeries<'a> {
    /// The usable rows, in order; borrowed from the column when it can be.
    pub batch: SeriesBatch<'a>,
    /// The input row of every batch row (increasing).
    pub rows: Vec<usize>,
    /// Rows of the input, null and left-out ones included.
    pub len: usize,
}

impl ArrowSeries<'_> {
    /// One entry per input row: `Some(i)` is row `i` of the batch, `None` a
    /// row left out (null, or unusable under [`InvalidRows::Skip`]).
    pub fn present(&self) -> Vec<Option<usize>> {
        let mut present = vec![None; self.len];
        for (i, &row) in self.rows.iter().enumerate() {
            present[row] = Some(i);
        }
        present
    }
}

fn unsupported(data_type: &DataType) -> VraeError {
    VraeError::Layout(format!(
        "unsupported series type {data_type}: expected a list (List, LargeList or FixedSizeList) of Float32/Float64, \
         or a list of fixed-size lists / lists of floats for multivariate series"
    ))
}

fn is_float(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Float32 | DataType::Float64)
}

/// The channel count the column's type fixes (`None`: nested lists, where
/// the data settles it), or why the type cannot hold series.
fn declared_channels(data_type: &DataType) -> Result<Option<usize>> {
    let inner = match data_type {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.data_type(),
        other => return Err(unsupported(other)),
    };
    match inner {
        t if is_float(t) => Ok(Some(1)),
        DataType::FixedSizeList(f, c) if is_float(f.data_type()) => usize::try_from(*c).map(Some).map_err(|_| unsupported(data_type)),
        DataType::List(f) | DataType::LargeList(f) if is_float(f.data_type()) => Ok(None),
        _ => Err(unsupported(data_type)),
    }
}

/// Converts an Arrow series column. `expected_channels` (a model's) settles
/// the channel count of `List<List<Float>>` columns and is checked otherwise.
pub fn series_from_arrow(column: &dyn Array, expected_channels: Option<usize>) -> Result<ArrowSeries<'_>> {
    series_from_arrow_with(column, expected_channels, InvalidRows::Error)
}

/// As [`series_from_arrow`], with a choice of what happens to unusable rows.
/// A column whose type fixes a channel count other than `expected_channels`
/// is an error either way: no row of it could ever be used.
pub fn series_from_arrow_with(column: &dyn Array, expected_channels: Option<usize>, invalid: InvalidRows) -> Result<ArrowSeries<'_>> {
    series_from_arrow_chunks(&[column], expected_channels, invalid)
}

/// As [`series_from_arrow_with`], for a column held in chunks of one type
/// (Polars' layout): rows are numbered across the chunks.
pub fn series_from_arrow_chunks<'a>(
    chunks: &[&'a dyn Array],
    expected_channels: Option<usize>,
    invalid: InvalidRows,
) -> Result<ArrowSeries<'a>> {
    let Some(first) = chunks.first() else {
        return Ok(ArrowSeries { batch: SeriesBatch::new(Vec::new(), vec![0], expected_channels.unwrap_or(1))?, rows: Vec::new(), len: 0 });
    };
    let data_type = first.data_type();
    if let Some(other) = chunks.iter().find(|c| c.data_type() != data_type) {
        return Err(VraeError::Layout(format!("the chunks of a series column differ in type: {data_type} and {}", other.data_type())));
    }
    let declared = declared_channels(data_type)?;
    if let (Some(expected), Some(found)) = (expected_channels, declared) {
        if expected != found {
            return Err(VraeError::ChannelMismatch { expected, found });
        }
    }
    let chunks = chunks.iter().map(|c| Chunk::new(*c)).collect::<Result<Vec<_>>>()?;
    let mut channels = declared.or(expected_channels).or_else(|| most_common_width(&chunks));

    let mut spans = Vec::new();
    let mut rows = Vec::new();
    let mut base = 0;
    for (c, chunk) in chunks.iter().enumerate() {
        for i in 0..chunk.outer.len() {
            let row = base + i;
            if chunk.outer.is_null(i) {
                continue;
            }
            let (steps, floats, width) = match (chunk.row(i, row, channels), invalid) {
                (Ok(found), InvalidRows::Error) => {
                    // With f64 values, in row order, so that a NaN before a
                    // value beyond f32 is still the one named; f32 values
                    // are the core's to check later, as they are.
                    let f64_values = matches!(chunk.floats, Floats::F64(_));
                    if let Some((at, value)) = f64_values.then(|| chunk.floats.first_non_finite(found.1.clone())).flatten() {
                        let width = found.2.or(channels).unwrap_or(1).max(1);
                        let (step, channel) = (at / width, at % width);
                        return Err(if value.is_finite() {
                            VraeError::BeyondF32 { row, step, channel, value }
                        } else {
                            VraeError::NonFinite { row, step, channel, value: value as f32 }
                        });
                    }
                    found
                }
                (Ok((steps, floats, width)), InvalidRows::Skip { max_length }) => {
                    if steps == 0 || steps > max_length || chunk.floats.any_non_finite(floats.clone()) {
                        continue;
                    }
                    (steps, floats, width)
                }
                (Err(e), InvalidRows::Skip { .. }) if e.is_row_layout_error() => continue,
                (Err(e), _) => return Err(e),
            };
            // Only a row that is kept settles the width of nested lists.
            channels = channels.or(width);
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
    if let InvalidRows::Skip { max_length } = invalid {
        // What the row checks above let through is what the core accepts.
        debug_assert!((0..batch.len()).all(|r| series_error(batch.row(r), channels, max_length).is_none()));
    }
    Ok(ArrowSeries { batch, rows, len: base })
}

/// The float values under a column, whatever list holds them.
#[derive(Clone, Copy)]
enum Floats<'a> {
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
}

impl<'a> Floats<'a> {
    fn from_array(array: &'a dyn Array) -> Result<Self> {
        match array.data_type() {
            DataType::Float32 => Ok(Floats::F32(array.as_primitive())),
            DataType::Float64 => Ok(Floats::F64(array.as_primitive())),
            other => Err(unsupported(other)),
        }
    }

    fn nulls(&self) -> Option<&'a NullBuffer> {
        match *self {
            Floats::F32(a) => a.nulls(),
            Floats::F64(a) => a.nulls(),
        }
    }

    /// Whether any value in `range` is NaN or infinite once in `f32`.
    fn any_non_finite(&self, range: Range<usize>) -> bool {
        self.first_non_finite(range).is_some()
    }

    /// The first value in `range` (its position from the range's start)
    /// that is NaN or infinite once in `f32`, as it was given (so that a
    /// finite `f64` beyond `f32` can be named as itself).
    fn first_non_finite(&self, range: Range<usize>) -> Option<(usize, f64)> {
        match self {
            Floats::F32(a) => a.values()[range].iter().enumerate().find(|(_, v)| !v.is_finite()).map(|(i, v)| (i, f64::from(*v))),
            Floats::F64(a) => a.values()[range].iter().enumerate().find(|(_, v)| !(**v as f32).is_finite()).map(|(i, v)| (i, *v)),
        }
    }

    fn extend_into(&self, range: Range<usize>, out: &mut Vec<f32>) {
        match self {
            Floats::F32(a) => out.extend_from_slice(&a.values()[range]),
            Floats::F64(a) => out.extend(a.values()[range].iter().map(|&v| v as f32)),
        }
    }
}

/// List offsets of either width, as positions in the child array.
#[derive(Clone, Copy)]
enum Lists<'a> {
    Small(&'a GenericListArray<i32>),
    Large(&'a GenericListArray<i64>),
}

impl<'a> Lists<'a> {
    fn from_array(array: &'a dyn Array) -> Option<Self> {
        match array.data_type() {
            DataType::List(_) => Some(Lists::Small(array.as_list())),
            DataType::LargeList(_) => Some(Lists::Large(array.as_list())),
            _ => None,
        }
    }

    fn range(&self, i: usize) -> Range<usize> {
        fn of<O: OffsetSizeTrait>(a: &GenericListArray<O>, i: usize) -> Range<usize> {
            let o = a.value_offsets();
            o[i].as_usize()..o[i + 1].as_usize()
        }
        match self {
            Lists::Small(a) => of(a, i),
            Lists::Large(a) => of(a, i),
        }
    }

    fn nulls(&self) -> Option<&'a NullBuffer> {
        match *self {
            Lists::Small(a) => a.nulls(),
            Lists::Large(a) => a.nulls(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Lists::Small(a) => a.len(),
            Lists::Large(a) => a.len(),
        }
    }

    fn child(&self) -> &'a dyn Array {
        match *self {
            Lists::Small(a) => a.values().as_ref(),
            Lists::Large(a) => a.values().as_ref(),
        }
    }
}

/// The rows of a chunk: list offsets or a fixed size.
enum Outer<'a> {
    List(Lists<'a>),
    Fixed(&'a FixedSizeListArray),
}

impl<'a> Outer<'a> {
    fn len(&self) -> usize {
        match self {
            Outer::List(a) => a.len(),
            Outer::Fixed(a) => a.len(),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Outer::List(a) => a.nulls().is_some_and(|n| n.is_null(i)),
            Outer::Fixed(a) => a.is_null(i),
        }
    }

    /// The steps of row `i`, as positions in the child array.
    fn steps(&self, i: usize) -> Range<usize> {
        match self {
            Outer::List(a) => a.range(i),
            Outer::Fixed(a) => {
                let size = a.value_length() as usize;
                i * size..(i + 1) * size
            }
        }
    }

    fn child(&self) -> &'a dyn Array {
        match *self {
            Outer::List(a) => a.child(),
            Outer::Fixed(a) => a.values().as_ref(),
        }
    }
}

/// The steps of a chunk, between its rows and its floats.
enum Steps<'a> {
    Scalar,
    Fixed(&'a FixedSizeListArray),
    Nested(Lists<'a>),
}

/// One chunk, ready to be read row by row.
struct Chunk<'a> {
    outer: Outer<'a>,
    steps: Steps<'a>,
    floats: Floats<'a>,
}

impl<'a> Chunk<'a> {
    /// `array`'s type has passed [`declared_channels`].
    fn new(array: &'a dyn Array) -> Result<Self> {
        let outer = match array.data_type() {
            DataType::FixedSizeList(_, _) => Outer::Fixed(array.as_fixed_size_list()),
            other => Outer::List(Lists::from_array(array).ok_or_else(|| unsupported(other))?),
        };
        let child = outer.child();
        let (steps, floats) = match child.data_type() {
            DataType::FixedSizeList(_, _) => {
                let fixed = child.as_fixed_size_list();
                (Steps::Fixed(fixed), Floats::from_array(fixed.values().as_ref())?)
            }
            other => match Lists::from_array(child) {
                Some(lists) => (Steps::Nested(lists), Floats::from_array(lists.child())?),
                None if is_float(other) => (Steps::Scalar, Floats::from_array(child)?),
                None => return Err(unsupported(array.data_type())),
            },
        };
        Ok(Chunk { outer, steps, floats })
    }

    /// With nested lists, the values in non-null row `i`'s first step
    /// (non-null, not empty); `None` for other layouts, which fix the width.
    fn first_step_width(&self, i: usize) -> Option<usize> {
        let Steps::Nested(lists) = &self.steps else { return None };
        if self.outer.is_null(i) {
            return None;
        }
        let steps = self.outer.steps(i);
        let first_is_null = lists.nulls().is_some_and(|n| n.is_null(steps.start));
        (!steps.is_empty() && !first_is_null).then(|| lists.range(steps.start).len()).filter(|&w| w > 0)
    }

    /// Where row `i` (input row `row`) lies: its number of steps, its float
    /// range and its width per step (`None` for a row of no steps whose
    /// width nothing fixes), after checking that no step and no value is
    /// null and that every step has `channels` values. Nested lists take the
    /// width from the row itself when `channels` is not known yet; a step of
    /// no values is an error either way.
    fn row(&self, i: usize, row: usize, channels: Option<usize>) -> Result<(usize, Range<usize>, Option<usize>)> {
        let steps = self.outer.steps(i);
        let count = steps.len();
        let mut found_channels = channels;
        let (floats, width) = match self.steps {
            Steps::Scalar => (steps.clone(), 1),
            Steps::Fixed(fixed) => {
                if let Some(step) = first_null(fixed.nulls(), steps.clone()) {
                    return Err(VraeError::NullValue { row, step });
                }
                let w = fixed.value_length() as usize;
                (steps.start * w..steps.end * w, w)
            }
            Steps::Nested(lists) => {
                if let Some(step) = first_null(lists.nulls(), steps.clone()) {
                    return Err(VraeError::NullValue { row, step });
                }
                for (step, s) in steps.clone().enumerate() {
                    let found = lists.range(s).len();
                    if found == 0 {
                        return Err(VraeError::StepWidth { row, step, found, channels: found_channels.unwrap_or(1) });
                    }
                    match found_channels {
                        None => found_channels = Some(found),
                        Some(c) if c != found => return Err(VraeError::StepWidth { row, step, found, channels: c }),
                        Some(_) => {}
                    }
                }
                let floats = if count == 0 { 0..0 } else { lists.range(steps.start).start..lists.range(steps.end - 1).end };
                (floats, found_channels.unwrap_or(1).max(1))
            }
        };
        if let Some(pos) = first_null(self.floats.nulls(), floats.clone()) {
            return Err(VraeError::NullValue { row, step: pos / width });
        }
        Ok((count, floats, found_channels))
    }
}

/// Where nothing else fixes the channel count (nested lists, no model), the
/// width most series' first steps have (the first seen among equals): with
/// `InvalidRows::Skip` the rows of another width are the ones left out, and
/// an error names a row of the odd width, not the first row's width imposed
/// on all the others. `None` when no row has a step.
fn most_common_width(chunks: &[Chunk<'_>]) -> Option<usize> {
    // Width -> (rows, order first seen): hostile data may hold many widths.
    let mut counts: std::collections::HashMap<usize, (usize, usize)> = std::collections::HashMap::new();
    for chunk in chunks {
        for i in 0..chunk.outer.len() {
            let Some(width) = chunk.first_step_width(i) else { continue };
            let seen = counts.len();
            counts.entry(width).or_insert((0, seen)).0 += 1;
        }
    }
    counts.into_iter().max_by_key(|&(_, (rows, first))| (rows, std::cmp::Reverse(first))).map(|(width, _)| width)
}

/// The first null position within `range`, counted from its start.
fn first_null(nulls: Option<&NullBuffer>, range: Range<usize>) -> Option<usize> {
    let nulls = nulls?;
    if nulls.null_count() == 0 || nulls.slice(range.start, range.len()).null_count() == 0 {
        return None;
    }
    range.clone().position(|i| nulls.is_null(i))
}

/// Where one usable row's values are.
struct Span {
    chunk: usize,
    steps: usize,
    floats: Range<usize>,
}

/// The values of every usable row as one slice of the column's own buffer,
/// when there is such a slice: one `Float32` chunk whose usable rows lie
/// back to back.
fn borrowable<'a>(chunks: &[Chunk<'a>], spans: &[Span]) -> Option<&'a [f32]> {
    let [chunk] = chunks else { return None };
    let Floats::F32(floats) = chunk.floats else { return None };
    let values: &'a [f32] = floats.values();
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Some(&values[..0]) };
    if spans.windows(2).any(|w| w[0].floats.end != w[1].floats.start) {
        return None;
    }
    values.get(first.floats.start..last.floats.end)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, Float64Builder, LargeListBuilder, ListBuilder};
    use arrow_array::{Float32Array, Int32Array, LargeListArray, ListArray};
    use arrow_buffer::OffsetBuffer;
    use arrow_schema::Field;

    use super::*;

    /// A `LargeList<Float32>` column over `values` (Polars' layout).
    fn large_list(values: Vec<f32>, offsets: Vec<i64>, valid: Option<Vec<bool>>) -> LargeListArray {
        let field = Arc::new(Field::new("item", DataType::Float32, true));
        LargeListArray::new(field, OffsetBuffer::new(offsets.into()), Arc::new(Float32Array::from(values)), valid.map(NullBuffer::from))
    }

    #[test]
    fn univariate_lists_with_nulls_and_any_child_name() {
        let mut b = ListBuilder::new(Float64Builder::new()).with_field(Arc::new(Field::new("element", DataType::Float64, true)));
        b.append_value([Some(1.0), Some(2.0)]);
        b.append_null();
        b.append_value([Some(3.0)]);
        let column = b.finish();
        let s = series_from_arrow(&column, None).unwrap();
        assert_eq!(s.present(), vec![Some(0), None, Some(1)]);
        assert_eq!((s.rows.clone(), s.len), (vec![0, 2], 3));
        assert_eq!(s.batch.row(0), &[1.0, 2.0]);
        assert_eq!(s.batch.row(1), &[3.0]);
        assert_eq!(s.batch.channels(), 1);
    }

    #[test]
    fn one_float32_chunk_is_borrowed_and_a_null_row_over_values_is_copied() {
        let column = large_list(vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0, 2, 2, 5], Some(vec![true, false, true]));
        let s = series_from_arrow(&column, Some(1)).unwrap();
        assert_eq!(s.rows, vec![0, 2]);
        assert_eq!((s.batch.row(0), s.batch.row(1)), (&[1.0f32, 2.0][..], &[3.0f32, 4.0, 5.0][..]));
        let floats = column.values().as_primitive::<Float32Type>().values();
        assert_eq!(s.batch.row(0).as_ptr(), floats.as_ptr(), "borrowed, not copied");

        // The null row spans values 2..4: the usable rows are not contiguous.
        let column = large_list(vec![1.0, 2.0, 9.0, 9.0, 3.0], vec![0, 2, 4, 5], Some(vec![true, false, true]));
        let s = series_from_arrow(&column, None).unwrap();
        assert_eq!((s.batch.row(0), s.batch.row(1)), (&[1.0f32, 2.0][..], &[3.0f32][..]));
        assert_ne!(s.batch.row(0).as_ptr(), column.values().as_primitive::<Float32Type>().values().as_ptr());
    }

    #[test]
    fn sliced_and_chunked_columns() {
        let whole = large_list(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], vec![0, 1, 3, 6], None);
        let sliced = whole.slice(1, 2);
        let s = series_from_arrow(&sliced, Some(1)).unwrap();
        assert_eq!((s.batch.row(0), s.batch.row(1)), (&[1.0f32, 2.0][..], &[3.0f32, 4.0, 5.0][..]));
        assert_eq!(s.batch.row(0).as_ptr(), whole.values().as_primitive::<Float32Type>().values()[1..].as_ptr());

        let (a, b) = (whole.slice(0, 1), whole.slice(2, 1));
        let s = series_from_arrow_chunks(&[&a, &b], Some(1), InvalidRows::Error).unwrap();
        assert_eq!((s.rows.clone(), s.len), (vec![0, 1], 2));
        assert_eq!((s.batch.row(0), s.batch.row(1)), (&[0.0f32][..], &[3.0f32, 4.0, 5.0][..]));

        let other = ListArray::from_iter_primitive::<Float32Type, _, _>([Some([Some(1.0f32)])]);
        let err = series_from_arrow_chunks(&[&a, &other], Some(1), InvalidRows::Error).unwrap_err().to_string();
        assert!(err.contains("chunks of a series column differ in type"), "{err}");
        let none = series_from_arrow_chunks(&[], Some(2), InvalidRows::Error).unwrap();
        assert_eq!((none.batch.len(), none.batch.channels(), none.len), (0, 2, 0));
    }

    #[test]
    fn large_and_fixed_size_float32_lists() {
        let mut b = LargeListBuilder::new(Float32Builder::new());
        b.append_value([Some(1.5f32), Some(2.5)]);
        assert_eq!(series_from_arrow(&b.finish(), Some(1)).unwrap().batch.row(0), &[1.5, 2.5]);
        let mut f = FixedSizeListBuilder::new(Float64Builder::new(), 3);
        for v in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] {
            f.values().append_value(v);
        }
        f.append(true);
        f.append(false);
        let column = f.finish();
        let s = series_from_arrow(&column, None).unwrap();
        assert_eq!((s.batch.row(0), s.present()), (&[1.0f32, 2.0, 3.0][..], vec![Some(0), None]));
        let tail = column.slice(1, 1);
        let tail = series_from_arrow(&tail, None).unwrap();
        assert_eq!((tail.batch.len(), tail.len), (0, 1));
    }

    #[test]
    fn multivariate_as_fixed_size_or_nested_lists() {
        let mut b = ListBuilder::new(FixedSizeListBuilder::new(Float64Builder::new(), 2));
        for step in [[1.0, 2.0], [3.0, 4.0]] {
            for v in step {
                b.values().values().append_value(v);
            }
            b.values().append(true);
        }
        b.append(true);
        let column = b.finish();
        let s = series_from_arrow(&column, None).unwrap();
        assert_eq!((s.batch.channels(), s.batch.steps(0)), (2, 2));
        assert_eq!(s.batch.row(0), &[1.0, 2.0, 3.0, 4.0]);
        assert!(matches!(series_from_arrow(&column, Some(3)), Err(VraeError::ChannelMismatch { expected: 3, found: 2 })));
        let skip = InvalidRows::Skip { max_length: 10 };
        assert!(matches!(series_from_arrow_with(&column, Some(3), skip), Err(VraeError::ChannelMismatch { expected: 3, found: 2 })));

        let mut n = ListBuilder::new(ListBuilder::new(Float32Builder::new()));
        n.values().append_value([Some(1.0f32), Some(2.0), Some(3.0)]);
        n.values().append_value([Some(4.0f32), Some(5.0), Some(6.0)]);
        n.append(true);
        n.values().append_value([Some(1.0f32), Some(2.0)]);
        n.append(true);
        let err = series_from_arrow(&n.finish(), None).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("3 channels"), "{err}");
    }

    #[test]
    fn a_finite_f64_beyond_f32_is_named_as_given() {
        let mut b = ListBuilder::new(FixedSizeListBuilder::new(Float64Builder::new(), 2));
        for v in [1.0, 2.0, 3.0, -1e300] {
            b.values().values().append_value(v);
        }
        b.values().append(true);
        b.values().append(true);
        b.append(true);
        let err = series_from_arrow(&b.finish(), None).unwrap_err();
        assert!(matches!(err, VraeError::BeyondF32 { row: 0, step: 1, channel: 1, value } if value == -1e300), "{err}");
        assert!(err.to_string().contains("value -1e300 at step 1, channel 1 is beyond the f32 range"), "{err}");
        // A NaN before it is the one named, as the rows are read in order.
        let mut b = ListBuilder::new(Float64Builder::new());
        b.append_value([Some(1.0), Some(f64::NAN), Some(1e300)]);
        let err = series_from_arrow(&b.finish(), None).unwrap_err();
        assert!(matches!(err, VraeError::NonFinite { row: 0, step: 1, .. }), "{err}");
    }

    #[test]
    fn nested_lists_take_the_width_most_series_have() {
        // The first row is the odd one: it, not the four after it, is named
        // or left out.
        let mut n = ListBuilder::new(ListBuilder::new(Float32Builder::new()));
        n.values().append_value([Some(1.0f32), Some(2.0), Some(3.0)]);
        n.append(true);
        n.append(false);
        for r in 0..4 {
            n.values().append_value([Some(r as f32), Some(0.5)]);
            n.values().append_value([Some(1.0f32), Some(r as f32)]);
            n.append(true);
        }
        let column = n.finish();
        let strict = series_from_arrow(&column, None).unwrap_err();
        assert!(matches!(strict, VraeError::StepWidth { row: 0, step: 0, found: 3, channels: 2 }), "{strict}");
        let kept = series_from_arrow_with(&column, None, InvalidRows::Skip { max_length: 10 }).unwrap();
        assert_eq!(kept.present(), vec![None, None, Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!((kept.batch.channels(), kept.batch.row(3)), (2, &[3.0f32, 0.5, 1.0, 3.0][..]));
    }

    #[test]
    fn null_values_and_wrong_types_are_errors() {
        let mut b = ListBuilder::new(Float64Builder::new());
        b.append_value([Some(1.0)]);
        b.append_value([Some(1.0), None]);
        let err = series_from_arrow(&b.finish(), None).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("step 1"), "{err}");

        // A null step of a multivariate row names its step.
        let mut m = ListBuilder::new(FixedSizeListBuilder::new(Float32Builder::new(), 2));
        for valid in [true, false] {
            m.values().values().append_value(0.0);
            m.values().values().append_value(0.0);
            m.values().append(valid);
        }
        m.append(true);
        assert!(matches!(series_from_arrow(&m.finish(), None), Err(VraeError::NullValue { row: 0, step: 1 })));

        let err = series_from_arrow(&Int32Array::from(vec![1, 2]), None).unwrap_err().to_string();
        assert!(err.contains("unsupported series type Int32"), "{err}");
        let strings = ListArray::new_null(Arc::new(Field::new("item", DataType::Utf8, true)), 1);
        assert!(series_from_arrow(&strings, None).unwrap_err().to_string().contains("unsupported series type List"));
    }

    #[test]
    fn skipping_leaves_out_exactly_the_unusable_rows() {
        let mut b = ListBuilder::new(Float64Builder::new());
        b.append_value([Some(1.0), Some(2.0)]);
        b.append_value([Some(1.0), None]); // null value
        b.append_value(std::iter::empty::<Option<f64>>()); // empty
        b.append_value([Some(f64::NAN)]); // NaN
        b.append(false); // null series
        b.append_value([Some(1.0), Some(2.0), Some(3.0), Some(4.0)]); // too long
        b.append_value([Some(1e300)]); // infinite as f32
        b.append_value([Some(5.0)]);
        let column = b.finish();
        let got = series_from_arrow_with(&column, None, InvalidRows::Skip { max_length: 3 }).unwrap();
        assert_eq!(got.present(), vec![Some(0), None, None, None, None, None, None, Some(1)]);
        assert_eq!(got.batch.row(0), &[1.0, 2.0]);
        assert_eq!(got.batch.row(1), &[5.0]);

        // Multivariate: a row with an uneven step is left out, its values too.
        let mut m = ListBuilder::new(ListBuilder::new(Float32Builder::new()));
        for row in [vec![vec![1.0, 2.0], vec![3.0, 4.0]], vec![vec![1.0, 2.0], vec![3.0]], vec![vec![7.0, 8.0]]] {
            for step in row {
                m.values().append_value(step.into_iter().map(Some));
            }
            m.append(true);
        }
        let column = m.finish();
        let strict = series_from_arrow(&column, Some(2)).unwrap_err();
        assert!(matches!(strict, VraeError::StepWidth { row: 1, step: 1, found: 1, channels: 2 }), "{strict}");
        let got = series_from_arrow_with(&column, Some(2), InvalidRows::Skip { max_length: 10 }).unwrap();
        assert_eq!(got.present(), vec![Some(0), None, Some(1)]);
        assert_eq!(got.batch.row(1), &[7.0, 8.0]);

        // A row left out does not settle the width: here the first row (3
        // wide, with a NaN) and a row of empty steps are skipped, and the
        // 2-wide rows are kept.
        let mut m = ListBuilder::new(ListBuilder::new(Float32Builder::new()));
        for row in [vec![vec![1.0, f32::NAN, 3.0]], vec![vec![]], vec![vec![1.0, 2.0], vec![3.0, 4.0]], vec![vec![5.0, 6.0]]] {
            for step in row {
                m.values().append_value(step.into_iter().map(Some));
            }
            m.append(true);
        }
        let column = m.finish();
        let got = series_from_arrow_with(&column, None, InvalidRows::Skip { max_length: 10 }).unwrap();
        assert_eq!((got.present(), got.batch.channels()), (vec![None, None, Some(0), Some(1)], 2));
        assert_eq!(got.batch.row(1), &[5.0, 6.0]);
        let empty_step = series_from_arrow(&column.slice(1, 1), None).unwrap_err();
        assert!(matches!(empty_step, VraeError::StepWidth { row: 0, step: 0, found: 0, .. }), "{empty_step}");
    }
}
