//! Output columns: the core's builder ([`vrae::arrow_output::RowResults`],
//! the one the SQL functions use) places the results at their input rows,
//! with null for every other row, and the finished Arrow array crosses to
//! Polars through the Arrow C Data Interface, buffers and all.

use arrow_schema::{DataType as ArrowType, Field as ArrowField};
use polars::prelude::{DataType, Field, PlSmallStr, Series};
use std::sync::Arc;
use vrae::arrow_output::RowResults;

use crate::arrow_bridge::arrow_to_polars;
use crate::error::Result;

/// The types of the elementwise functions' outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `Array(Float32, width)`: latent vectors and projections.
    Vectors(usize),
    /// `Int32`: cluster ids.
    Ints,
    /// `Float64`: scores.
    Floats,
    /// Reconstructions: `List(Float32)` for univariate columns (`None`),
    /// `List(Array(Float32, C))` for multivariate ones.
    Series(Option<usize>),
}

impl Output {
    /// The Polars type, for the plan.
    pub fn polars(self) -> DataType {
        let vector = |width| DataType::Array(Box::new(DataType::Float32), width);
        match self {
            Output::Vectors(width) => vector(width),
            Output::Ints => DataType::Int32,
            Output::Floats => DataType::Float64,
            Output::Series(None) => DataType::List(Box::new(DataType::Float32)),
            Output::Series(Some(c)) => DataType::List(Box::new(vector(c))),
        }
    }

    /// The same type in arrow-rs terms (Polars lists have 64-bit offsets).
    fn arrow(self) -> ArrowType {
        let item = |t| Arc::new(ArrowField::new("item", t, true));
        let vector = |width: usize| ArrowType::FixedSizeList(item(ArrowType::Float32), width as i32);
        match self {
            Output::Vectors(width) => vector(width),
            Output::Ints => ArrowType::Int32,
            Output::Floats => ArrowType::Float64,
            Output::Series(None) => ArrowType::LargeList(item(ArrowType::Float32)),
            Output::Series(Some(c)) => ArrowType::LargeList(item(vector(c))),
        }
    }

    /// The finished column, named `name`.
    pub fn column(self, name: PlSmallStr, results: RowResults) -> Result<Series> {
        arrow_to_polars(name, results.finish(&self.arrow())?)
    }
}

/// A field named like the input.
pub fn field(input: &Field, dtype: DataType) -> Field {
    Field::new(input.name().clone(), dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_columns_put_nulls_where_rows_are_missing() {
        let mut r = RowResults::new(3);
        r.set_ints(&[0, 2], &[4, 5]).expect("ids");
        let s = Output::Ints.column("c".into(), r).expect("column");
        let ca = s.i32().expect("i32");
        assert_eq!((0..3).map(|i| ca.get(i)).collect::<Vec<_>>(), vec![Some(4), None, Some(5)]);
        let mut r = RowResults::new(2);
        r.set_floats(&[1], &[0.5]).expect("scores");
        let s = Output::Floats.column("f".into(), r).expect("column");
        let ca = s.f64().expect("f64");
        assert_eq!((0..2).map(|i| ca.get(i)).collect::<Vec<_>>(), vec![None, Some(0.5)]);
    }

    #[test]
    fn vectors_and_series_lists_have_the_declared_types() {
        let values = vec![1.0f32, 2.0];
        let ptr = values.as_ptr();
        let mut r = RowResults::new(3);
        r.add_vectors(values.clone(), &[1], 2).expect("vectors");
        let v = Output::Vectors(2).column("v".into(), r).expect("column");
        assert_eq!((v.dtype(), v.null_count()), (&Output::Vectors(2).polars(), 2));

        let mut r = RowResults::new(1);
        r.add_vectors(values, &[0], 2).expect("vectors");
        let v = Output::Vectors(2).column("v".into(), r).expect("column");
        let floats = v.array().expect("array").get_inner().f32().expect("f32").cont_slice().expect("one chunk").as_ptr();
        assert_eq!(floats, ptr, "handed to Polars without a copy");

        let mut r = RowResults::new(3);
        r.add_series(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[0, 2], [1usize, 2].into_iter(), 2).expect("series");
        let s = Output::Series(Some(2)).column("r".into(), r).expect("column");
        assert_eq!((s.dtype(), s.null_count()), (&Output::Series(Some(2)).polars(), 1));
        let lengths: Vec<_> = s.list().expect("list").downcast_iter().flat_map(|a| a.offsets().lengths().collect::<Vec<_>>()).collect();
        assert_eq!(lengths, vec![1, 0, 2]);

        let mut r = RowResults::new(2);
        r.add_series(vec![1.0, 2.0, 3.0], &[0, 1], [2usize, 1].into_iter(), 1).expect("series");
        let u = Output::Series(None).column("u".into(), r).expect("column");
        assert_eq!(u.dtype(), &Output::Series(None).polars());
    }
}
