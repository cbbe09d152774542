//! `vrae_model_info(model)`: a model's options, format version and training
//! summary as JSON text, one row per model value.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::model_arg::{is_model_type, rows_by_model};
use super::named_models::NamedModels;
use super::panic_guard::guarded;
use super::scalar::{exec_error, plan_error};
use vrae::model_cache::model_info_json;

const NAME: &str = "vrae_model_info";

/// The `vrae_model_info` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VraeModelInfo {
    signature: Signature,
    models: NamedModels,
}

impl Default for VraeModelInfo {
    fn default() -> Self {
        Self::with_models(NamedModels::new())
    }
}

impl VraeModelInfo {
    /// The function, where a `Utf8` model names one of `models` (or else is
    /// a file path).
    pub fn with_models(models: NamedModels) -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable), models }
    }
}

impl ScalarUDFImpl for VraeModelInfo {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        super::docs::documentation(NAME)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) if is_model_type(t) || *t == DataType::Null => Ok(DataType::Utf8),
            Some(t) => Err(plan_error(NAME, format!("the model must be Binary (model bytes) or Utf8 (a model file path), got {t}"))),
            None => Err(plan_error(NAME, "missing the model argument")),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        guarded(NAME, || self.invoke(args))
    }
}

impl VraeModelInfo {
    fn invoke(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (groups, _) = rows_by_model(&args.args[0], rows, &self.models).map_err(|e| exec_error(NAME, e))?;
        let mut out: Vec<Option<String>> = vec![None; rows];
        for (model, group_rows) in groups {
            let info = model_info_json(&model);
            for r in group_rows {
                out[r] = Some(info.clone());
            }
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}
