//! Arrow list columns to [`SeriesBatch`] (feature `arrow`), for the front
//! ends that hold Arrow data (DataFusion; Parquet readers).
//!
//! Accepted: `List`, `LargeList` and `FixedSizeList` of `Float32` or
//! `Float64` (univariate), and the same outer lists of `FixedSizeList<Float,
//! C>` or `List<Float>` with `C` values at every step (multivariate,
//! time-major). List child fields may have any name (`item`, `element`).
//! Null rows are left out of the batch and reported in `present`, so that
//! callers return null for them; a null value inside a series is an error
//! naming the row and step. With [`InvalidRows::Skip`], rows that cannot be
//! used (null values, uneven steps, empty, NaN/inf, too long) are reported
//! as absent instead, for front ends whose users asked for nulls.

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, GenericListArray, OffsetSizeTrait};
use arrow::datatypes::{DataType, Float32Type, Float64Type};

use crate::batch::{series_error, SeriesBatch};
use crate::error::{Result, VraeError};
pub use crate::on_invalid::InvalidRows;

/// A column converted for the core.
#[derive(Debug)]
pub struct ArrowSeries {
    /// The non-null rows, in order.
    pub batch: SeriesBatch<'static>,
    /// One entry per input row: `Some(i)` is row `i` of `batch`, `None` a null series.
    pub present: Vec<Option<usize>>,
}

fn null_value(row: usize, step: usize) -> VraeError {
    VraeError::NullValue { row, step }
}

fn unsupported(data_type: &DataType) -> VraeError {
    VraeError::Layout(format!(
        "unsupported series type {data_type}: expected a list (List, LargeList or FixedSizeList) of Float32/Float64, \
         or a list of fixed-size lists / lists of floats for multivariate series"
    ))
}

/// One row's list value as (its values array, number of steps).
fn row_values(column: &dyn Array, row: usize) -> Result<ArrayRef> {
    match column.data_type() {
        DataType::List(_) => Ok(column.as_list::<i32>().value(row)),
        DataType::LargeList(_) => Ok(column.as_list::<i64>().value(row)),
        DataType::FixedSizeList(_, _) => Ok(column.as_fixed_size_list().value(row)),
        other => Err(unsupported(other)),
    }
}

/// Appends a flat float array (no nulls allowed) to `out`.
fn push_floats(values: &dyn Array, row: usize, step_of: impl Fn(usize) -> usize, out: &mut Vec<f32>) -> Result<()> {
    if let Some(pos) = (0..values.len()).find(|&i| values.is_null(i)) {
        return Err(null_value(row, step_of(pos)));
    }
    match values.data_type() {
        DataType::Float64 => out.extend(values.as_primitive::<Float64Type>().values().iter().map(|&v| v as f32)),
        DataType::Float32 => out.extend_from_slice(values.as_primitive::<Float32Type>().values()),
        other => return Err(unsupported(other)),
    }
    Ok(())
}

/// The channel count the column's type implies, when the type fixes it.
fn declared_channels(data_type: &DataType) -> Result<Option<usize>> {
    let inner = match data_type {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.data_type(),
        other => return Err(unsupported(other)),
    };
    match inner {
        DataType::Float32 | DataType::Float64 => Ok(Some(1)),
        DataType::FixedSizeList(f, c) if matches!(f.data_type(), DataType::Float32 | DataType::Float64) => Ok(Some(*c as usize)),
        DataType::List(f) | DataType::LargeList(f) if matches!(f.data_type(), DataType::Float32 | DataType::Float64) => Ok(None),
        _ => Err(unsupported(data_type)),
    }
}

/// Converts an Arrow series column. `expected_channels` (a model's) settles
/// the channel count of `List<List<Float>>` columns and is checked otherwise.
pub fn series_from_arrow(column: &dyn Array, expected_channels: Option<usize>) -> Result<ArrowSeries> {
    convert(column, expected_channels, InvalidRows::Error)
}

/// As [`series_from_arrow`], with a choice of what happens to unusable rows.
/// A column whose type fixes a channel count other than `expected_channels`
/// is an error either way: no row of it could ever be used.
pub fn series_from_arrow_with(column: &dyn Array, expected_channels: Option<usize>, invalid: InvalidRows) -> Result<ArrowSeries> {
    convert(column, expected_channels, invalid)
}

fn convert(column: &dyn Array, expected_channels: Option<usize>, invalid: InvalidRows) -> Result<ArrowSeries> {
    let declared = declared_channels(column.data_type())?;
    if let (Some(expected), Some(found)) = (expected_channels, declared) {
        if expected != found {
            return Err(VraeError::ChannelMismatch { expected, found });
        }
    }
    let mut channels = declared.or(expected_channels);
    let mut values: Vec<f32> = Vec::new();
    let mut offsets: Vec<usize> = vec![0];
    let mut present = Vec::with_capacity(column.len());
    for row in 0..column.len() {
        if column.is_null(row) {
            present.push(None);
            continue;
        }
        let start = values.len();
        let pushed = push_row(column, row, &mut channels, &mut values);
        let usable = match (pushed, invalid) {
            (Ok(steps), InvalidRows::Error) => Some(steps),
            (Err(e), InvalidRows::Error) => return Err(e),
            (Ok(steps), InvalidRows::Skip { max_length }) => {
                let c = channels.unwrap_or(1);
                series_error(&values[start..], c, max_length).is_none().then_some(steps)
            }
            (Err(e), InvalidRows::Skip { .. }) if e.is_row_layout_error() => None,
            (Err(e), InvalidRows::Skip { .. }) => return Err(e),
        };
        match usable {
            Some(steps) => {
                let last = offsets[offsets.len() - 1];
                offsets.push(last + steps);
                present.push(Some(offsets.len() - 2));
            }
            None => {
                values.truncate(start);
                present.push(None);
            }
        }
    }
    let batch = SeriesBatch::new(values, offsets, channels.unwrap_or(1))?;
    Ok(ArrowSeries { batch, present })
}

/// Appends one non-null row's values; returns its number of steps.
fn push_row(column: &dyn Array, row: usize, channels: &mut Option<usize>, values: &mut Vec<f32>) -> Result<usize> {
    let item = row_values(column, row)?;
    let steps = item.len();
    match item.data_type() {
        DataType::Float32 | DataType::Float64 => push_floats(item.as_ref(), row, |i| i, values)?,
        DataType::FixedSizeList(_, _) => {
            let inner: &FixedSizeListArray = item.as_fixed_size_list();
            if let Some(step) = (0..steps).find(|&s| inner.is_null(s)) {
                return Err(null_value(row, step));
            }
            let c = inner.value_length() as usize;
            let flat = inner.values().slice(inner.offset() * c, steps * c);
            push_floats(flat.as_ref(), row, |i| i / c, values)?;
        }
        DataType::List(_) => push_nested(item.as_list::<i32>(), row, channels, values)?,
        DataType::LargeList(_) => push_nested(item.as_list::<i64>(), row, channels, values)?,
        other => return Err(unsupported(other)),
    }
    Ok(steps)
}

/// Appends one multivariate row given as a list of per-step float lists;
/// every step must carry the same number of values.
fn push_nested<O: OffsetSizeTrait>(
    steps: &GenericListArray<O>,
    row: usize,
    channels: &mut Option<usize>,
    out: &mut Vec<f32>,
) -> Result<()> {
    for step in 0..steps.len() {
        if steps.is_null(step) {
            return Err(null_value(row, step));
        }
        let v = steps.value(step);
        match *channels {
            None => *channels = Some(v.len()),
            Some(c) if c != v.len() => return Err(VraeError::StepWidth { row, step, found: v.len(), channels: c }),
            Some(_) => {}
        }
        push_floats(v.as_ref(), row, |_| step, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{FixedSizeListBuilder, Float32Builder, Float64Builder, LargeListBuilder, ListBuilder};

    use super::*;

    #[test]
    fn univariate_lists_with_nulls_and_any_child_name() {
        let mut b =
            ListBuilder::new(Float64Builder::new()).with_field(Arc::new(arrow::datatypes::Field::new("element", DataType::Float64, true)));
        b.append_value([Some(1.0), Some(2.0)]);
        b.append_null();
        b.append_value([Some(3.0)]);
        let s = series_from_arrow(&b.finish(), None).unwrap();
        assert_eq!(s.present, vec![Some(0), None, Some(1)]);
        assert_eq!(s.batch.row(0), &[1.0, 2.0]);
        assert_eq!(s.batch.row(1), &[3.0]);
        assert_eq!(s.batch.channels(), 1);
    }

    #[test]
    fn large_and_fixed_size_float32_lists() {
        let mut b = LargeListBuilder::new(Float32Builder::new());
        b.append_value([Some(1.5f32), Some(2.5)]);
        assert_eq!(series_from_arrow(&b.finish(), Some(1)).unwrap().batch.row(0), &[1.5, 2.5]);
        let mut f = FixedSizeListBuilder::new(Float64Builder::new(), 3);
        for v in [1.0, 2.0, 3.0] {
            f.values().append_value(v);
        }
        f.append(true);
        assert_eq!(series_from_arrow(&f.finish(), None).unwrap().batch.row(0), &[1.0, 2.0, 3.0]);
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
        let s = series_from_arrow(&b.finish(), None).unwrap();
        assert_eq!((s.batch.channels(), s.batch.steps(0)), (2, 2));
        assert_eq!(s.batch.row(0), &[1.0, 2.0, 3.0, 4.0]);
        assert!(matches!(
            series_from_arrow(
                &{
                    let mut b = ListBuilder::new(FixedSizeListBuilder::new(Float64Builder::new(), 2));
                    b.values().values().append_value(0.0);
                    b.values().values().append_value(0.0);
                    b.values().append(true);
                    b.append(true);
                    b.finish()
                },
                Some(3)
            ),
            Err(VraeError::ChannelMismatch { expected: 3, found: 2 })
        ));

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
    fn null_values_and_wrong_types_are_errors() {
        let mut b = ListBuilder::new(Float64Builder::new());
        b.append_value([Some(1.0)]);
        b.append_value([Some(1.0), None]);
        let err = series_from_arrow(&b.finish(), None).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("step 1"), "{err}");
        let ints = arrow::array::Int32Array::from(vec![1, 2]);
        let err = series_from_arrow(&ints, None).unwrap_err().to_string();
        assert!(err.contains("unsupported series type Int32"), "{err}");
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
        b.append_value([Some(5.0)]);
        let column = b.finish();
        let got = series_from_arrow_with(&column, None, InvalidRows::Skip { max_length: 3 }).unwrap();
        assert_eq!(got.present, vec![Some(0), None, None, None, None, None, Some(1)]);
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
        assert_eq!(got.present, vec![Some(0), None, Some(1)]);
        assert_eq!(got.batch.row(1), &[7.0, 8.0]);
    }
}
