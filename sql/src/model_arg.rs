//! The `model` argument: bytes, a file path or a registered name, decoded
//! once per distinct model and cached.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::ColumnarValue;

use vrae::model_cache::{cached_model, cached_model_from_path};
use vrae::Model;
use vrae::VraeError;

/// Models registered under names (see [`crate::register_with_models`]): a
/// `Utf8` model argument equal to a name uses that model, decoded once at
/// registration, and no file is read. Engines that hand a function its
/// constant arguments as whole columns (DataFusion's FFI, used by the
/// `datafusion` Python package) would otherwise carry a copy of the model's
/// bytes in every row; a name costs a few bytes per row.
#[derive(Clone, Default)]
pub struct NamedModels(Arc<BTreeMap<String, Arc<Model>>>);

impl NamedModels {
    /// No models: every `Utf8` model argument is a file path.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `bytes` (a model file's contents) and registers the model as
    /// `name`, replacing a model registered under that name before.
    pub fn insert_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), NamedModelError> {
        if name.is_empty() {
            return Err(NamedModelError::EmptyName);
        }
        let model = cached_model(bytes).map_err(|source| NamedModelError::Invalid { name: name.to_string(), source })?;
        Arc::make_mut(&mut self.0).insert(name.to_string(), model);
        Ok(())
    }

    /// The model registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Model>> {
        self.0.get(name)
    }

    /// The registered names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// A model that cannot be registered under a name.
#[derive(Debug)]
pub enum NamedModelError {
    /// The name is the empty string.
    EmptyName,
    /// The bytes are not a readable model.
    Invalid { name: String, source: VraeError },
}

impl std::fmt::Display for NamedModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NamedModelError::EmptyName => write!(f, "a model's name must not be empty"),
            NamedModelError::Invalid { name, source } => write!(f, "model `{name}`: {source}"),
        }
    }
}

impl std::error::Error for NamedModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NamedModelError::EmptyName => None,
            NamedModelError::Invalid { source, .. } => Some(source),
        }
    }
}

impl std::fmt::Debug for NamedModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

// Equal when they map the same names to the same decoded models (the cache
// gives equal bytes one `Arc`), so that DataFusion sees functions built
// with equal registries as equal.
impl PartialEq for NamedModels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.len() == other.0.len() && self.0.iter().zip(other.0.iter()).all(|((a, ma), (b, mb))| a == b && Arc::ptr_eq(ma, mb)))
    }
}

impl Eq for NamedModels {}

impl Hash for NamedModels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for name in self.names() {
            name.hash(state);
        }
    }
}

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
                None => cached_model_from_path(p).map(Some),
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
