//! The scalar functions over series: `vrae_embed`, `vrae_cluster`,
//! `vrae_score`, `vrae_project` and `vrae_reconstruct`, each `(series,
//! model [, options])` (`vrae_model_info` is in `model_info`).
//!
//! Each call works on a whole record batch: rows are grouped by model, each
//! group's series are converted once and run through the core in batches
//! (never row by row), and [`RowResults`] places the results back at their
//! rows in one output array. Null series or null models give null results. An invalid series
//! (null values, empty, NaN/inf, uneven steps) is an error naming the
//! function and the row of the record batch, or, with the optional third
//! argument `'{"on_invalid": "null"}'`, a null result.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility};

use super::model_arg::{is_model_type, rows_by_model};
use super::named_models::NamedModels;
use super::panic_guard::guarded;
use vrae::arrow_input::series_from_arrow_with;
use vrae::arrow_output::RowResults;
use vrae::on_invalid::{OnInvalid, ON_INVALID};
use vrae::VraeError;
use vrae::{Model, PROJECTION_DIMS};

/// What a function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VraeOutput {
    /// `vrae_embed`: the latent mean.
    Embed,
    /// `vrae_cluster`: each series' cluster.
    Cluster,
    /// `vrae_score`: the reconstruction error.
    Score,
    /// `vrae_project`: 2-D PCA coordinates.
    Project,
    /// `vrae_reconstruct`: the decoded series.
    Reconstruct,
}

/// Position of the model argument.
const MODEL_ARG: usize = 1;

/// One vrae scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VraeFunction {
    kind: VraeOutput,
    signature: Signature,
    models: NamedModels,
}

impl VraeFunction {
    /// The function of the given kind; a `Utf8` model is a file path.
    pub fn new(kind: VraeOutput) -> Self {
        Self::with_models(kind, NamedModels::new())
    }

    /// The function of the given kind, where a `Utf8` model names one of
    /// `models` (or else is a file path).
    pub fn with_models(kind: VraeOutput, models: NamedModels) -> Self {
        // (series, model) or (series, model, options_json)
        let signature = Signature::one_of(vec![TypeSignature::Any(2), TypeSignature::Any(3)], Volatility::Immutable);
        Self { kind, signature, models }
    }
}

fn item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("item", data_type, true))
}

pub(super) fn exec_error(name: &str, err: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: {err}"))
}

pub(super) fn plan_error(name: &str, err: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("{name}: {err}"))
}

/// The inner (per-step) type of a series column, if it is a list type.
fn step_type(series: &DataType) -> Option<&DataType> {
    match series {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(f.data_type()),
        _ => None,
    }
}

/// Why an options column is not one constant string.
#[derive(Debug)]
enum NotConstant {
    NotAString,
    VariesBetweenRows,
}

/// The one value of a string column that holds the same value (or null) in
/// every row: engines that pass constants as columns (DataFusion's FFI)
/// hand a literal over this way. A column that happens to hold one value in
/// a batch is taken too; the check is per record batch.
fn constant_string(array: &ArrayRef) -> std::result::Result<Option<&str>, NotConstant> {
    let mut values: Box<dyn Iterator<Item = Option<&str>>> = match array.data_type() {
        DataType::Utf8 => Box::new(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter()),
        DataType::Utf8View => Box::new(array.as_string_view().iter()),
        DataType::Null => return Ok(None),
        _ => return Err(NotConstant::NotAString),
    };
    let first = values.next().flatten();
    match values.all(|v| v == first) {
        true => Ok(first),
        false => Err(NotConstant::VariesBetweenRows),
    }
}

/// Parses the optional options argument (a constant JSON object whose only
/// key is `on_invalid`).
fn parse_options(name: &str, value: Option<&ColumnarValue>) -> Result<OnInvalid> {
    let example = "such as '{\"on_invalid\": \"null\"}'";
    let not_constant = || exec_error(name, format!("options must be a constant JSON string {example}"));
    let text = match value {
        None => return Ok(OnInvalid::Error),
        Some(ColumnarValue::Scalar(s)) if s.is_null() => return Ok(OnInvalid::Error),
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(t)) | ScalarValue::LargeUtf8(Some(t)) | ScalarValue::Utf8View(Some(t)))) => t,
        Some(ColumnarValue::Array(a)) => match constant_string(a) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(OnInvalid::Error),
            Err(NotConstant::NotAString) => return Err(not_constant()),
            Err(NotConstant::VariesBetweenRows) => {
                return Err(exec_error(name, format!("options must be the same on every row (a constant JSON string {example})")))
            }
        },
        Some(_) => return Err(not_constant()),
    };
    let mut map = vrae::config::options_object(text).map_err(|e| exec_error(name, e))?;
    let on_invalid = OnInvalid::take_from(&mut map).map_err(|e| exec_error(name, e))?;
    match map.keys().next() {
        Some(other) => Err(exec_error(name, format!("unknown option `{other}`; valid options are: {ON_INVALID}"))),
        None => Ok(on_invalid),
    }
}

impl ScalarUDFImpl for VraeFunction {
    fn name(&self) -> &str {
        match self.kind {
            VraeOutput::Embed => "vrae_embed",
            VraeOutput::Cluster => "vrae_cluster",
            VraeOutput::Score => "vrae_score",
            VraeOutput::Project => "vrae_project",
            VraeOutput::Reconstruct => "vrae_reconstruct",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        super::docs::documentation(self.name())
    }

    // The return type depends on argument types only, never on a model
    // literal's contents: an expression that folds into a literal only after
    // planning (`arrow_cast(X'..', 'Binary')`, `concat(...)`) would
    // otherwise change the column's type under the optimizer, which DataFusion
    // refuses. So `vrae_embed` is a List, whatever the model.
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.output_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        guarded(self.name(), || self.invoke(args))
    }
}

impl VraeFunction {
    fn invoke(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let rows = args.number_rows;
        let on_invalid = parse_options(name, args.args.get(2))?;
        let series = match &args.args[0] {
            ColumnarValue::Array(a) => a.clone(),
            ColumnarValue::Scalar(s) => s.to_array_of_size(rows)?,
        };
        let (groups, _null_models) = rows_by_model(&args.args[1], rows, &self.models).map_err(|e| exec_error(name, e))?;
        let mut out = RowResults::new(rows);
        for (model, group_rows) in &groups {
            let subset = if group_rows.len() == rows {
                series.clone()
            } else {
                let idx = UInt32Array::from(group_rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
                take(series.as_ref(), &idx, None)?
            };
            self.run_group(model, &subset, group_rows, on_invalid, &mut out).map_err(|e| row_error(name, e, rows))?;
        }
        let column = out.finish(args.return_type()).map_err(|e| exec_error(name, e))?;
        Ok(ColumnarValue::Array(column))
    }
}

/// An error from the core, with rows explained: DataFusion hands a scalar
/// function one record batch at a time, so the row is counted within it.
fn row_error(name: &str, err: VraeError, rows: usize) -> DataFusionError {
    match err.row() {
        Some(_) => exec_error(
            name,
            format!("{err} (row counted from 0 within the current {rows}-row record batch; pass '{{\"on_invalid\": \"null\"}}' as the third argument to get null for such series)"),
        ),
        None => exec_error(name, err),
    }
}

impl VraeFunction {
    fn output_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let name = self.name();
        let model_type = arg_types.get(MODEL_ARG).ok_or_else(|| plan_error(name, "missing the model argument"))?;
        if !is_model_type(model_type) && *model_type != DataType::Null {
            return Err(plan_error(name, format!("the model must be Binary (model bytes) or Utf8 (a model file path), got {model_type}")));
        }
        if let Some(t) = arg_types.get(2) {
            if !matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null) {
                return Err(plan_error(name, format!("options must be a JSON string, got {t}")));
            }
        }
        let series = &arg_types[0];
        let step = step_type(series).ok_or_else(|| {
            plan_error(
                name,
                format!("the series must be a list of Float32/Float64 (or a list of fixed-size lists for multivariate), got {series}"),
            )
        })?;
        Ok(match self.kind {
            VraeOutput::Embed => DataType::List(item(DataType::Float32)),
            VraeOutput::Cluster => DataType::Int32,
            VraeOutput::Score => DataType::Float64,
            VraeOutput::Project => DataType::FixedSizeList(item(DataType::Float32), PROJECTION_DIMS as i32),
            VraeOutput::Reconstruct => match step {
                DataType::FixedSizeList(_, c) => DataType::List(item(DataType::FixedSizeList(item(DataType::Float32), *c))),
                DataType::List(_) | DataType::LargeList(_) => DataType::List(item(DataType::List(item(DataType::Float32)))),
                _ => DataType::List(item(DataType::Float32)),
            },
        })
    }

    /// Runs one model over the rows that use it (`subset` holds exactly
    /// those rows, `rows[i]` is subset row `i`'s row in the batch).
    fn run_group(
        &self,
        model: &Model,
        subset: &ArrayRef,
        rows: &[usize],
        on_invalid: OnInvalid,
        out: &mut RowResults,
    ) -> Result<(), VraeError> {
        let invalid = on_invalid.rows(model.config().max_length);
        let converted = series_from_arrow_with(subset.as_ref(), Some(model.channels()), invalid).map_err(|e| e.map_row(|r| rows[r]))?;
        let batch_to_row: Vec<usize> = converted.rows.iter().map(|&i| rows[i]).collect();
        let (batch, batch_to_row) = match on_invalid {
            // Rows that this model cannot take (values its scaling blows up) become null too.
            OnInvalid::Null => model.keep_usable(converted.batch, batch_to_row)?,
            OnInvalid::Error => (converted.batch, batch_to_row),
        };
        let batch = &batch;
        if batch.is_empty() {
            return Ok(());
        }
        let to_row = |e: VraeError| e.map_row(|r| batch_to_row[r]);
        match self.kind {
            VraeOutput::Embed => out.add_vectors(model.embed(batch).map_err(to_row)?, &batch_to_row, model.latent()),
            VraeOutput::Project => out.add_vectors(model.project(batch).map_err(to_row)?, &batch_to_row, PROJECTION_DIMS),
            VraeOutput::Cluster => out.set_ints(&batch_to_row, &model.cluster(batch).map_err(to_row)?),
            VraeOutput::Score => out.set_floats(&batch_to_row, &model.score(batch).map_err(to_row)?),
            VraeOutput::Reconstruct => {
                out.add_series(model.reconstruct(batch).map_err(to_row)?, &batch_to_row, batch.lengths(), model.channels())
            }
        }
    }
}
