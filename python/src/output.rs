//! Output columns: the core's flat results for the usable rows, placed at
//! their input rows, with null for every other row. Each column is built
//! from one flat buffer; no row gets an allocation of its own.

use polars::prelude::{DataType, Field, Float64Chunked, Int32Chunked, IntoSeries, PlSmallStr, Series};
use pyo3_polars::export::polars_arrow::array::{Array, FixedSizeListArray, PrimitiveArray};
use pyo3_polars::export::polars_arrow::bitmap::Bitmap;
use pyo3_polars::export::polars_arrow::datatypes::ArrowDataType;
use pyo3_polars::export::polars_arrow::offset::OffsetsBuffer;

use vrae::VraeError;

use crate::convert::LargeListArray;
use crate::error::Result;

/// `Array(Float32, width)`, the type of latent vectors and projections.
pub fn vector_type(width: usize) -> DataType {
    DataType::Array(Box::new(DataType::Float32), width)
}

/// The type of reconstructions: `List(Float32)` for univariate columns
/// (`channels` None), `List(Array(Float32, C))` for multivariate ones.
pub fn series_type(channels: Option<usize>) -> DataType {
    match channels {
        None => DataType::List(Box::new(DataType::Float32)),
        Some(c) => DataType::List(Box::new(vector_type(c))),
    }
}

/// A field named like the input.
pub fn field(input: &Field, dtype: DataType) -> Field {
    Field::new(input.name().clone(), dtype)
}

/// Which of `len` rows hold a value (`rows` lists them, increasing); `None`
/// when all do.
fn validity(len: usize, rows: &[usize]) -> Option<Bitmap> {
    if rows.len() == len {
        return None;
    }
    let mut valid = vec![false; len];
    for &r in rows {
        valid[r] = true;
    }
    Some(Bitmap::from_iter(valid))
}

/// Spreads one value per batch row over `len` rows (`fill` elsewhere).
fn scatter<T: Copy>(len: usize, rows: &[usize], values: &[T], fill: T) -> Vec<T> {
    let mut out = vec![fill; len];
    for (&r, &v) in rows.iter().zip(values) {
        out[r] = v;
    }
    out
}

/// An `Int32` column (cluster ids).
pub fn ints(name: PlSmallStr, len: usize, rows: &[usize], values: &[usize]) -> Series {
    let ids: Vec<i32> = values.iter().map(|&v| i32::try_from(v).unwrap_or(i32::MAX)).collect();
    Int32Chunked::from_vec_validity(name, scatter(len, rows, &ids, 0), validity(len, rows)).into_series()
}

/// A `Float64` column (scores).
pub fn floats(name: PlSmallStr, len: usize, rows: &[usize], values: &[f64]) -> Series {
    Float64Chunked::from_vec_validity(name, scatter(len, rows, values, 0.0), validity(len, rows)).into_series()
}

/// An `Array(Float32, width)` column from `[batch rows, width]` values.
pub fn vectors(name: PlSmallStr, len: usize, rows: &[usize], values: Vec<f32>, width: usize) -> Result<Series> {
    if values.len() != rows.len() * width {
        return Err(VraeError::Layout(format!(
            "{} values for {} rows of {width}: the model's output does not have the declared width",
            values.len(),
            rows.len()
        ))
        .into());
    }
    let flat = if rows.len() == len {
        values
    } else {
        let mut flat = vec![0.0f32; len * width];
        for (b, &r) in rows.iter().enumerate() {
            flat[r * width..(r + 1) * width].copy_from_slice(&values[b * width..(b + 1) * width]);
        }
        flat
    };
    let dtype = FixedSizeListArray::default_datatype(ArrowDataType::Float32, width);
    let array = FixedSizeListArray::try_new(dtype, len, Box::new(PrimitiveArray::from_vec(flat)), validity(len, rows))?;
    Ok(Series::from_arrow(name, Box::new(array))?)
}

/// A list column of series: batch row `b` has `steps[b]` steps of
/// `channels` values, row after row in `values` (the core's layout).
/// `multivariate` picks `List(Array(Float32, C))` over `List(Float32)`.
pub fn series_list(
    name: PlSmallStr,
    len: usize,
    rows: &[usize],
    values: Vec<f32>,
    steps: impl Iterator<Item = usize>,
    channels: usize,
    multivariate: bool,
) -> Result<Series> {
    // Batch rows are in input order, so the values already are too; null
    // rows just repeat the previous offset.
    let mut lengths = vec![0usize; len];
    for (&r, s) in rows.iter().zip(steps) {
        lengths[r] = if multivariate { s } else { s * channels };
    }
    let mut offsets = Vec::with_capacity(len + 1);
    offsets.push(0i64);
    for l in lengths {
        offsets.push(offsets[offsets.len() - 1] + l as i64);
    }
    let offsets = OffsetsBuffer::try_from(offsets)?;
    let floats = Box::new(PrimitiveArray::from_vec(values));
    let child: Box<dyn Array> = if multivariate {
        let steps = floats.len() / channels.max(1);
        let dtype = FixedSizeListArray::default_datatype(ArrowDataType::Float32, channels);
        Box::new(FixedSizeListArray::try_new(dtype, steps, floats, None)?)
    } else {
        floats
    };
    let dtype = LargeListArray::default_datatype(child.dtype().clone());
    let array = LargeListArray::try_new(dtype, offsets, child, validity(len, rows))?;
    Ok(Series::from_arrow(name, Box::new(array))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_columns_put_nulls_where_rows_are_missing() {
        let s = ints("c".into(), 3, &[0, 2], &[4, 5]);
        let ca = s.i32().expect("i32");
        assert_eq!((0..3).map(|i| ca.get(i)).collect::<Vec<_>>(), vec![Some(4), None, Some(5)]);
        let s = floats("f".into(), 2, &[1], &[0.5]);
        let ca = s.f64().expect("f64");
        assert_eq!((0..2).map(|i| ca.get(i)).collect::<Vec<_>>(), vec![None, Some(0.5)]);
    }

    #[test]
    fn vectors_and_series_lists_have_the_declared_types() {
        let v = vectors("v".into(), 3, &[1], vec![1.0, 2.0], 2).expect("vectors");
        assert_eq!(v.dtype(), &vector_type(2));
        assert_eq!(v.null_count(), 2);

        let s = series_list("r".into(), 3, &[0, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1usize, 2].into_iter(), 2, true).expect("lists");
        assert_eq!(s.dtype(), &series_type(Some(2)));
        assert_eq!(s.null_count(), 1);
        let lengths: Vec<_> = s.list().expect("list").downcast_iter().flat_map(|a| a.offsets().lengths().collect::<Vec<_>>()).collect();
        assert_eq!(lengths, vec![1, 0, 2]);

        let u = series_list("u".into(), 2, &[0, 1], vec![1.0, 2.0, 3.0], [2usize, 1].into_iter(), 1, false).expect("lists");
        assert_eq!(u.dtype(), &series_type(None));
    }
}
