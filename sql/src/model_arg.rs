//! The `model` argument: bytes, a file path or a registered name, decoded
//! once per distinct model and cached.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::ColumnarValue;

use super::named_models::NamedModels;
use vrae::model_cache::{cached_model, cached_model_from_path};
use vrae::Model;
use vrae::VraeError;

/// A model argument's value at one row: bytes, a path (or registered
/// name), or null.
pub enum ModelRef<'a> {
    Bytes(&'a [u8]),
    Path(&'a str),
    Null,
}

impl ModelRef<'_> {
    /// Decodes the model (cached); `None` for a null model. A registered
    /// name wins over a file of the same name.
    pub fn load(&self, named: &NamedModels) -> Result<Option<Arc<Model>>, VraeError> {
        match self {
            ModelRef::Bytes(b) => cached_model(b).map(Some),
            ModelRef::Path(p) => match named.get(p) {
                Some(m) => Ok(Some(m.clone())),
                None => cached_model_from_path(p).map(Some).map_err(|e| named.explain_unknown(e)),
            },
            ModelRef::Null => Ok(None),
        }
    }
}

/// Whether a type can carry a model.
pub fn is_model_type(t: &DataType) -> bool {
    matches!(t, DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The model of a scalar argument.
pub fn scalar_model(value: &ScalarValue) -> ModelRef<'_> {
    match value {
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => ModelRef::Bytes(b),
        ScalarValue::Utf8(Some(p)) | ScalarValue::LargeUtf8(Some(p)) | ScalarValue::Utf8View(Some(p)) => ModelRef::Path(p),
        _ => ModelRef::Null,
    }
}

/// The model of row `row` of an array argument.
pub fn array_model(array: &ArrayRef, row: usize) -> ModelRef<'_> {
    if array.is_null(row) {
        return ModelRef::Null;
    }
    match array.data_type() {
        DataType::Binary => ModelRef::Bytes(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => ModelRef::Bytes(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => ModelRef::Bytes(array.as_binary_view().value(row)),
        DataType::Utf8 => ModelRef::Path(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => ModelRef::Path(array.as_string::<i64>().value(row)),
        DataType::Utf8View => ModelRef::Path(array.as_string_view().value(row)),
        _ => ModelRef::Null,
    }
}

/// Rows grouped by model: each distinct model with its row numbers, and the
/// rows whose model is null.
pub type RowsByModel = (Vec<(Arc<Model>, Vec<usize>)>, Vec<usize>);

/// Groups the rows of a batch by the model they use: one entry per distinct
/// model with its row numbers, plus the rows whose model is null.
pub fn rows_by_model(model: &ColumnarValue, rows: usize, named: &NamedModels) -> Result<RowsByModel, VraeError> {
    let mut groups: Vec<(Arc<Model>, Vec<usize>)> = Vec::new();
    let mut null_rows = Vec::new();
    match model {
        ColumnarValue::Scalar(v) => match scalar_model(v).load(named)? {
            Some(m) => groups.push((m, (0..rows).collect())),
            None => null_rows.extend(0..rows),
        },
        ColumnarValue::Array(array) => {
            // (group, value) of the previous row: rows of a joined model
            // column usually repeat the same model, each row a copy of it.
            let mut last: Option<(usize, &[u8], bool)> = None;
            for row in 0..rows {
                let r = array_model(array, row);
                let (value, is_path): (&[u8], bool) = match &r {
                    ModelRef::Bytes(b) => (b, false),
                    ModelRef::Path(p) => (p.as_bytes(), true),
                    ModelRef::Null => {
                        null_rows.push(row);
                        continue;
                    }
                };
                // Equal content, compared in full: a copy that differs by
                // one bit is a different (and probably refused) model.
                if let Some((g, previous, was_path)) = last {
                    if was_path == is_path && previous == value {
                        groups[g].1.push(row);
                        continue;
                    }
                }
                let Some(m) = r.load(named)? else { continue };
                let g = match groups.iter().position(|(gm, _)| Arc::ptr_eq(gm, &m)) {
                    Some(g) => g,
                    None => {
                        groups.push((m, Vec::new()));
                        groups.len() - 1
                    }
                };
                groups[g].1.push(row);
                last = Some((g, value, is_path));
            }
        }
    }
    Ok((groups, null_rows))
}
