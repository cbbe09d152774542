//! The options the Python side sends: the core's training options as one
//! JSON object (validated by [`VraeConfig::from_json`], the one gate that
//! names a wrong key), and `on_invalid` (parsed by the core, as every front
//! end parses it).

use vrae::{VraeConfig, VraeError};

/// `on_invalid`, as every front end parses it (`"error"` or `"null"`).
pub use vrae::OnInvalid;

/// Parses training options (a JSON object of option names to values).
pub fn parse_config(json: &str) -> Result<VraeConfig, VraeError> {
    VraeConfig::from_json(json)
}
