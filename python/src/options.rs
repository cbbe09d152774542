//! The options the Python side sends: the core's training options as one
//! JSON object (validated by [`VraeConfig::from_json`], the one gate that
//! names a wrong key), and the front end's own `on_invalid`.

use vrae::{VraeConfig, VraeError};

use crate::convert::Invalid;
use crate::error::{PluginError, Result};

/// What to do with a non-null series that cannot be used (null values,
/// uneven steps, empty, NaN/inf, longer than `max_length`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInvalid {
    /// Stop with an error naming the row (the default).
    Error,
    /// Return null for it (and leave it out of training).
    Null,
}

impl OnInvalid {
    /// Parses `"error"` or `"null"`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "error" => Ok(OnInvalid::Error),
            "null" => Ok(OnInvalid::Null),
            other => Err(PluginError::Argument { name: "on_invalid", message: format!("must be \"error\" or \"null\", got {other:?}") }),
        }
    }

    /// How the column conversion treats such rows, given the longest series
    /// allowed.
    pub fn rows(self, max_length: usize) -> Invalid {
        match self {
            OnInvalid::Error => Invalid::Error,
            OnInvalid::Null => Invalid::Skip { max_length },
        }
    }
}

/// Parses training options (a JSON object of option names to values).
pub fn parse_config(json: &str) -> Result<VraeConfig, VraeError> {
    VraeConfig::from_json(json)
}
