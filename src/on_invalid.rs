//! What a front end does with a series the model cannot take: the
//! `on_invalid` argument every front end accepts (SQL's options argument,
//! Polars' and Python's keyword), parsed in one place, and the rule the
//! column converters apply to such rows.

use serde_json::{Map, Value};

use crate::error::VraeError;

/// The name of the argument, as users write it.
pub const ON_INVALID: &str = "on_invalid";

/// `on_invalid`: what to do with a non-null series that cannot be used
/// (null values, uneven steps, empty, NaN/inf, longer than `max_length`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnInvalid {
    /// `"error"` (the default): stop with an error naming the row.
    #[default]
    Error,
    /// `"null"`: a null result for it, and leave it out of training.
    Null,
}

impl OnInvalid {
    /// Parses `"error"` or `"null"`.
    pub fn parse(text: &str) -> Result<Self, VraeError> {
        match text {
            "error" => Ok(OnInvalid::Error),
            "null" => Ok(OnInvalid::Null),
            other => Err(VraeError::OnInvalid(format!("{other:?}"))),
        }
    }

    /// Takes `on_invalid` out of a JSON options object, leaving the other
    /// keys for the caller; absent or null means [`OnInvalid::Error`].
    pub fn take_from(options: &mut Map<String, Value>) -> Result<Self, VraeError> {
        match options.remove(ON_INVALID) {
            None | Some(Value::Null) => Ok(OnInvalid::Error),
            Some(Value::String(text)) => Self::parse(&text),
            Some(other) => Err(VraeError::OnInvalid(other.to_string())),
        }
    }

    /// The rule a column converter applies, given the longest series the
    /// model takes.
    pub fn rows(self, max_length: usize) -> InvalidRows {
        match self {
            OnInvalid::Error => InvalidRows::Error,
            OnInvalid::Null => InvalidRows::Skip { max_length },
        }
    }
}

/// How a column converter treats a non-null row that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidRows {
    /// Stop with an error naming the row (structural problems only: null
    /// values and uneven steps; the core checks the values later).
    Error,
    /// Leave the row out (reported absent), checking values too: empty,
    /// NaN/inf and longer than `max_length` steps.
    Skip { max_length: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_values_and_names_a_wrong_one() {
        assert_eq!(OnInvalid::parse("null").unwrap(), OnInvalid::Null);
        assert_eq!(OnInvalid::parse("error").unwrap(), OnInvalid::Error);
        let err = OnInvalid::parse("skip").unwrap_err().to_string();
        assert_eq!(err, r#"option `on_invalid` must be "error" or "null", got "skip""#);
    }

    #[test]
    fn takes_the_key_out_of_an_options_object() {
        let mut map: Map<String, Value> = serde_json::from_str(r#"{"on_invalid": "null", "epochs": 2}"#).unwrap();
        assert_eq!(OnInvalid::take_from(&mut map).unwrap(), OnInvalid::Null);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["epochs"]);
        assert_eq!(OnInvalid::take_from(&mut map).unwrap(), OnInvalid::Error);
        let mut wrong: Map<String, Value> = serde_json::from_str(r#"{"on_invalid": 1}"#).unwrap();
        assert_eq!(OnInvalid::take_from(&mut wrong).unwrap_err().to_string(), r#"option `on_invalid` must be "error" or "null", got 1"#);
        assert_eq!(OnInvalid::Null.rows(7), InvalidRows::Skip { max_length: 7 });
        assert_eq!(OnInvalid::Error.rows(7), InvalidRows::Error);
    }
}
