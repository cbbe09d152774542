//! Models registered under names: a `Utf8` model argument equal to a name
//! uses that model, decoded once at registration, and no file is read.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use vrae::model_cache::{cached_model, cached_model_from_path};
use vrae::{Model, VraeError};

/// Models registered under names (see [`crate::register_with_models`]): a
/// `Utf8` model argument equal to a name uses that model, decoded once at
/// registration, and no file is read: a registered name wins over a file
/// of the same name. Engines that hand a function its
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
        self.insert(name, || cached_model(bytes))
    }

    /// Reads the model file at `path` (with the core's checks: a regular
    /// file, not larger than a model can be) and registers it as `name`.
    pub fn insert_path(&mut self, name: &str, path: &str) -> Result<(), NamedModelError> {
        self.insert(name, || cached_model_from_path(path))
    }

    /// Registers what `load` decodes as `name` (checked first: not empty).
    fn insert(&mut self, name: &str, load: impl FnOnce() -> Result<Arc<Model>, VraeError>) -> Result<(), NamedModelError> {
        if name.is_empty() {
            return Err(NamedModelError::EmptyName);
        }
        let model = load().map_err(|source| NamedModelError::Invalid { name: name.to_string(), source })?;
        Arc::make_mut(&mut self.0).insert(name.to_string(), model);
        Ok(())
    }

    /// A file error for `path` that also says it is no registered name,
    /// when names are registered (a mistyped name reads as a missing file).
    pub(crate) fn explain_unknown(&self, err: VraeError) -> VraeError {
        match err {
            VraeError::Io { path, source } if !self.0.is_empty() => {
                let names: Vec<&str> = self.names().collect();
                VraeError::Io { path: format!("{path} (not a registered model name either: {})", names.join(", ")), source }
            }
            other => other,
        }
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
