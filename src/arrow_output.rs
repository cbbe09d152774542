//! The core's results placed back at their input rows, as one Arrow array
//! of the type the front end declared (feature `arrow`): the one builder of
//! output columns that every front end uses. Rows without a result (null
//! series, rows left out as invalid) are null.
//!
//! Results arrive in groups (one per model, in SQL; one in all, in Polars),
//! each a flat buffer for its rows as the core returns it. The final column
//! copies each value once; when a single group already holds the values in
//! row order with nothing to pad, its buffer becomes the column's as it is.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, GenericListArray, Int32Array, OffsetSizeTrait};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, FieldRef};

use crate::error::{Result, VraeError};

/// Where one row's values lie: in group `group`, from `start`, `len` values.
#[derive(Debug, Clone, Copy)]
struct Piece {
    group: usize,
    start: usize,
    len: usize,
}

/// The results of one column, row by row, until [`RowResults::finish`]
/// builds the declared type.
#[derive(Debug)]
pub struct RowResults {
    len: usize,
    /// Each group's flat values and its channels per step.
    groups: Vec<(Vec<f32>, usize)>,
    pieces: Vec<Option<Piece>>,
    ints: Vec<Option<i32>>,
    floats: Vec<Option<f64>>,
}

fn layout(message: String) -> VraeError {
    VraeError::Output(message)
}

fn arrow(e: arrow_schema::ArrowError) -> VraeError {
    VraeError::Output(e.to_string())
}

impl RowResults {
    /// No results yet for `len` input rows.
    pub fn new(len: usize) -> Self {
        Self { len, groups: Vec::new(), pieces: vec![None; len], ints: Vec::new(), floats: Vec::new() }
    }

    /// One result per row, and every row inside the column.
    fn check_rows(&self, rows: &[usize], values: usize) -> Result<()> {
        if rows.len() != values {
            return Err(layout(format!("{values} results for {} rows", rows.len())));
        }
        self.check_bounds(rows)
    }

    fn check_bounds(&self, rows: &[usize]) -> Result<()> {
        match rows.iter().find(|&&r| r >= self.len) {
            Some(r) => Err(layout(format!("row {r} is past the {} rows of the column", self.len))),
            None => Ok(()),
        }
    }

    /// One integer per row (cluster ids): `ids[b]` belongs to row `rows[b]`.
    pub fn set_ints(&mut self, rows: &[usize], ids: &[usize]) -> Result<()> {
        self.check_rows(rows, ids.len())?;
        self.ints.resize(self.len, None);
        for (&row, &id) in rows.iter().zip(ids) {
            self.ints[row] = Some(i32::try_from(id).map_err(|_| layout(format!("cluster id {id} does not fit an Int32")))?);
        }
        Ok(())
    }

    /// One float per row (scores): `values[b]` belongs to row `rows[b]`.
    pub fn set_floats(&mut self, rows: &[usize], values: &[f64]) -> Result<()> {
        self.check_rows(rows, values.len())?;
        self.floats.resize(self.len, None);
        for (&row, &v) in rows.iter().zip(values) {
            self.floats[row] = Some(v);
        }
        Ok(())
    }

    /// A group of vectors of `width` values (latents, projections), row
    /// after row in `values`: batch row `b` belongs to row `rows[b]`.
    pub fn add_vectors(&mut self, values: Vec<f32>, rows: &[usize], width: usize) -> Result<()> {
        if values.len() != rows.len() * width {
            return Err(layout(format!(
                "{} values for {} rows of {width}: the model's output does not have the declared width",
                values.len(),
                rows.len()
            )));
        }
        self.add_group(values, rows, |_| width, 1)
    }

    /// A group of series (reconstructions): batch row `b` has `steps[b]`
    /// steps of `channels` values, row after row in `values`.
    pub fn add_series(&mut self, values: Vec<f32>, rows: &[usize], steps: impl Iterator<Item = usize>, channels: usize) -> Result<()> {
        let lengths: Vec<usize> = steps.map(|s| s * channels).collect();
        if lengths.len() != rows.len() || lengths.iter().sum::<usize>() != values.len() {
            return Err(layout(format!("{} values do not match the steps of {} rows", values.len(), rows.len())));
        }
        self.add_group(values, rows, |b| lengths[b], channels)
    }

    fn add_group(&mut self, values: Vec<f32>, rows: &[usize], len_of: impl Fn(usize) -> usize, channels: usize) -> Result<()> {
        self.check_bounds(rows)?;
        let group = self.groups.len();
        let mut start = 0;
        for (b, &row) in rows.iter().enumerate() {
            let len = len_of(b);
            self.pieces[row] = Some(Piece { group, start, len });
            start += len;
        }
        self.groups.push((values, channels));
        Ok(())
    }

    /// The column, as `data_type`: `Int32` (after [`set_ints`](Self::set_ints)),
    /// `Float64` (after [`set_floats`](Self::set_floats)), `FixedSizeList<Float32>`
    /// (vectors), or a `List`/`LargeList` of `Float32`, of
    /// `FixedSizeList<Float32, C>` or of `List<Float32>` (one value per list
    /// item, or one step per item).
    pub fn finish(mut self, data_type: &DataType) -> Result<ArrayRef> {
        let unexpected = |t: &DataType| layout(format!("cannot build results of type {t}"));
        match data_type {
            DataType::Int32 => {
                self.ints.resize(self.len, None);
                Ok(Arc::new(Int32Array::from(self.ints)))
            }
            DataType::Float64 => {
                self.floats.resize(self.len, None);
                Ok(Arc::new(Float64Array::from(self.floats)))
            }
            DataType::FixedSizeList(field, declared) if field.data_type() == &DataType::Float32 => {
                let nulls = self.nulls();
                let size = usize::try_from(*declared).map_err(|_| unexpected(data_type))?;
                if let Some(p) = self.pieces.iter().flatten().find(|p| p.len != size) {
                    return Err(layout(format!("the model produced {} values per row, the declared type holds {size}", p.len)));
                }
                let values = self.flat(Some(size));
                Ok(Arc::new(FixedSizeListArray::try_new(field.clone(), *declared, float_array(values), nulls).map_err(arrow)?))
            }
            DataType::List(field) => self.lists::<i32>(field),
            DataType::LargeList(field) => self.lists::<i64>(field),
            other => Err(unexpected(other)),
        }
    }

    fn nulls(&self) -> Option<NullBuffer> {
        self.pieces.iter().any(Option::is_none).then(|| NullBuffer::from_iter(self.pieces.iter().map(Option::is_some)))
    }

    /// Every row's values in row order; a null row takes `pad` zeros (for
    /// fixed-size lists) or nothing. Moves the buffer of a single group that
    /// already is that.
    fn flat(&mut self, pad: Option<usize>) -> Vec<f32> {
        let padded = pad.is_some_and(|p| p > 0) && self.pieces.iter().any(Option::is_none);
        let mut next = 0;
        let in_order = self.pieces.iter().flatten().all(|p| {
            let ok = p.group == 0 && p.start == next;
            next += p.len;
            ok
        });
        if self.groups.len() == 1 && !padded && in_order && next == self.groups[0].0.len() {
            return std::mem::take(&mut self.groups[0].0);
        }
        let total = self.pieces.iter().map(|p| p.map_or(pad.unwrap_or(0), |p| p.len)).sum();
        let mut values = Vec::with_capacity(total);
        for piece in &self.pieces {
            match piece {
                Some(p) => values.extend_from_slice(&self.groups[p.group].0[p.start..p.start + p.len]),
                None => values.extend(std::iter::repeat_n(0.0, pad.unwrap_or(0))),
            }
        }
        values
    }

    /// A list column: one value per item (`Float32` items) or one step per
    /// item (`FixedSizeList<Float32, C>` or `List<Float32>` items).
    fn lists<O: OffsetSizeTrait>(mut self, field: &FieldRef) -> Result<ArrayRef> {
        // With no results at all (every row null), the declared type says
        // how wide a step is.
        let declared = match field.data_type() {
            DataType::FixedSizeList(_, c) => usize::try_from(*c).ok(),
            _ => None,
        };
        let channels = self.groups.first().map(|g| g.1).or(declared).unwrap_or(1).max(1);
        if self.groups.iter().any(|g| g.1.max(1) != channels) {
            return Err(layout("results with different channel counts in one column".into()));
        }
        let per_item = match field.data_type() {
            DataType::Float32 if channels == 1 => 1,
            DataType::FixedSizeList(f, c) if f.data_type() == &DataType::Float32 && *c as usize == channels => channels,
            DataType::List(f) if f.data_type() == &DataType::Float32 => channels,
            other => return Err(layout(format!("cannot build list items of type {other} from series of {channels} channels"))),
        };
        let nulls = self.nulls();
        let lengths: Vec<usize> = self.pieces.iter().map(|p| p.map_or(0, |p| p.len / per_item)).collect();
        let values = float_array(self.flat(None));
        let items: ArrayRef = match field.data_type() {
            DataType::Float32 => values,
            DataType::FixedSizeList(f, c) => Arc::new(FixedSizeListArray::try_new(f.clone(), *c, values, None).map_err(arrow)?),
            DataType::List(f) => {
                let steps = values.len() / channels;
                Arc::new(
                    GenericListArray::<i32>::try_new(f.clone(), OffsetBuffer::from_lengths(vec![channels; steps]), values, None)
                        .map_err(arrow)?,
                )
            }
            other => return Err(layout(format!("cannot build list items of type {other}"))),
        };
        Ok(Arc::new(GenericListArray::<O>::try_new(field.clone(), OffsetBuffer::from_lengths(lengths), items, nulls).map_err(arrow)?))
    }
}

fn float_array(values: Vec<f32>) -> ArrayRef {
    Arc::new(Float32Array::from(values))
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float32Type;
    use arrow_schema::Field;

    use super::*;

    fn item(data_type: DataType) -> FieldRef {
        Arc::new(Field::new("item", data_type, true))
    }

    #[test]
    fn scalars_are_null_where_rows_have_no_result() {
        let mut r = RowResults::new(3);
        r.set_ints(&[0, 2], &[4, 5]).unwrap();
        let ints = r.finish(&DataType::Int32).unwrap();
        assert_eq!(ints.as_primitive::<arrow_array::types::Int32Type>().iter().collect::<Vec<_>>(), vec![Some(4), None, Some(5)]);
        let mut r = RowResults::new(2);
        r.set_floats(&[1], &[0.5]).unwrap();
        let floats = r.finish(&DataType::Float64).unwrap();
        assert_eq!(floats.as_primitive::<arrow_array::types::Float64Type>().iter().collect::<Vec<_>>(), vec![None, Some(0.5)]);
        assert!(RowResults::new(2).set_ints(&[2], &[1]).unwrap_err().to_string().contains("row 2 is past"));
    }

    #[test]
    fn vectors_from_groups_in_any_row_order() {
        let mut r = RowResults::new(4);
        r.add_vectors(vec![1.0, 2.0, 3.0, 4.0], &[3, 0], 2).unwrap();
        r.add_vectors(vec![5.0, 6.0], &[1], 2).unwrap();
        let v = r.finish(&DataType::FixedSizeList(item(DataType::Float32), 2)).unwrap();
        let v = v.as_fixed_size_list();
        assert_eq!(v.nulls().map(|n| n.null_count()), Some(1));
        assert!(v.is_null(2));
        assert_eq!(v.values().as_primitive::<Float32Type>().values(), &[3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 1.0, 2.0]);

        let mut r = RowResults::new(1);
        r.add_vectors(vec![1.0, 2.0, 3.0], &[0], 3).unwrap();
        let err = r.finish(&DataType::FixedSizeList(item(DataType::Float32), 2)).unwrap_err().to_string();
        assert!(err.contains("3 values per row, the declared type holds 2"), "{err}");
        assert!(RowResults::new(1).add_vectors(vec![1.0], &[0], 2).is_err());
    }

    #[test]
    fn one_group_in_row_order_is_not_copied() {
        let values = vec![1.0f32, 2.0, 3.0, 4.0];
        let ptr = values.as_ptr();
        let mut r = RowResults::new(2);
        r.add_vectors(values, &[0, 1], 2).unwrap();
        let v = r.finish(&DataType::FixedSizeList(item(DataType::Float32), 2)).unwrap();
        assert!(v.nulls().is_none());
        assert_eq!(v.as_fixed_size_list().values().as_primitive::<Float32Type>().values().as_ptr(), ptr);

        // A list column needs no padding, so a null row does not force a copy.
        let values = vec![1.0f32, 2.0, 3.0];
        let ptr = values.as_ptr();
        let mut r = RowResults::new(3);
        r.add_series(values, &[0, 2], [1usize, 2].into_iter(), 1).unwrap();
        let l = r.finish(&DataType::LargeList(item(DataType::Float32))).unwrap();
        let l = l.as_list::<i64>();
        assert_eq!(l.value_offsets(), &[0, 1, 1, 3]);
        assert_eq!(l.values().as_primitive::<Float32Type>().values().as_ptr(), ptr);
    }

    #[test]
    fn multivariate_series_as_fixed_size_or_nested_steps() {
        let build = |t: DataType| {
            let mut r = RowResults::new(3);
            r.add_series(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[0, 2], [1usize, 2].into_iter(), 2).unwrap();
            r.finish(&DataType::List(item(t)))
        };
        let fixed = build(DataType::FixedSizeList(item(DataType::Float32), 2)).unwrap();
        let fixed = fixed.as_list::<i32>();
        assert_eq!((fixed.value_offsets(), fixed.null_count()), (&[0, 1, 1, 3][..], 1));
        assert_eq!(fixed.value(2).as_fixed_size_list().value(1).as_primitive::<Float32Type>().values(), &[5.0, 6.0]);
        let nested = build(DataType::List(item(DataType::Float32))).unwrap();
        assert_eq!(nested.as_list::<i32>().value(2).as_list::<i32>().value(0).as_primitive::<Float32Type>().values(), &[3.0, 4.0]);
        let err = build(DataType::FixedSizeList(item(DataType::Float32), 3)).unwrap_err().to_string();
        assert!(err.contains("cannot build list items"), "{err}");
        assert!(build(DataType::Utf8).is_err());
        assert!(build(DataType::Float32).is_err(), "two channels do not flatten into one list");

        // No results at all (every row null or left out): an all-null column of the declared type.
        let three = DataType::List(item(DataType::FixedSizeList(item(DataType::Float32), 3)));
        let empty = RowResults::new(2).finish(&three).unwrap();
        assert_eq!((empty.data_type(), empty.len(), empty.null_count()), (&three, 2, 2));
        let vectors = DataType::FixedSizeList(item(DataType::Float32), 4);
        let empty = RowResults::new(2).finish(&vectors).unwrap();
        assert_eq!((empty.len(), empty.null_count()), (2, 2));
    }
}
