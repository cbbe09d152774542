//! `vrae_prototypes(model [, steps])`: a table function with one row per
//! cluster of a model, what the cluster looks like: the decoder run on the
//! cluster's centroid (its k-means centroid, or with `clustering: "spectral"` its mean latent), in the input's units
//! ([`vrae::Model::prototypes`]).
//!
//! ```sql
//! SELECT cluster, prototype FROM vrae_prototypes('model.safetensors');
//! SELECT * FROM vrae_prototypes('model.safetensors', 50);   -- 50 steps long
//! ```
//!
//! Columns: `cluster` (Int32) and `prototype`: `List<Float32>` for a
//! univariate model, a list of per-step `FixedSizeList<Float32, C>` for
//! one of C channels (the layout `vrae_reconstruct` returns). A table
//! function's arguments are constants: the model is a path or a bytes
//! literal (not a subquery), `steps` an integer (default: the longest
//! training series).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Int32Array, ListArray, RecordBatch};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;

use super::model_arg::{is_model_type, scalar_model};
use super::named_models::NamedModels;
use super::panic_guard::guarded;

const NAME: &str = "vrae_prototypes";

fn error(message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("{NAME}: {message}"))
}

/// The `vrae_prototypes` table function.
#[derive(Debug, Default)]
pub struct VraePrototypes {
    models: NamedModels,
}

impl VraePrototypes {
    /// The function, where a `Utf8` model names one of `models` (or else is
    /// a file path).
    pub fn with_models(models: NamedModels) -> Self {
        Self { models }
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        _ => None,
    }
}

impl TableFunctionImpl for VraePrototypes {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        guarded(NAME, || self.call(args))
    }
}

/// A model's prototypes: `values` holds `clusters` prototypes of `steps`
/// steps of `channels` values each, time-major.
#[derive(Debug, Clone, PartialEq)]
pub struct PrototypeValues {
    pub clusters: usize,
    pub channels: usize,
    pub steps: usize,
    pub values: Vec<f32>,
}

impl VraePrototypes {
    /// The prototypes for the function's argument values: `model` a path,
    /// registered name or the model's bytes, `steps` a positive integer or
    /// `None` (the longest training series). Errors carry the function's
    /// name. For hosts that call the function without a plan (the
    /// `datafusion` Python package, whose FFI table functions are unusable).
    pub fn values(&self, model: &ScalarValue, steps: Option<&ScalarValue>) -> Result<PrototypeValues> {
        guarded(NAME, || self.values_unguarded(Some(model), steps))
    }

    fn values_unguarded(&self, model: Option<&ScalarValue>, steps: Option<&ScalarValue>) -> Result<PrototypeValues> {
        let value = model
            .filter(|v| is_model_type(&v.data_type()))
            .ok_or_else(|| error("the model must be a constant: a model file path (Utf8) or the model's bytes (Binary)"))?;
        let model = scalar_model(value).load(&self.models).map_err(error)?.ok_or_else(|| error("the model is null"))?;
        // Only integers: a cast would round 2.5 or the text '5' into steps
        // the caller did not write.
        let steps = match steps.map(|v| (v, v.data_type().is_integer().then(|| v.cast_to(&DataType::UInt64).ok()).flatten())) {
            None => None,
            Some((_, Some(ScalarValue::UInt64(Some(n))))) => {
                Some(usize::try_from(n).map_err(|_| error(format!("steps {n} is too large")))?)
            }
            Some((v, _)) => return Err(error(format!("steps must be a constant positive integer, got {v} ({})", v.data_type()))),
        };
        let values = model.prototypes(steps).map_err(error)?;
        let (clusters, channels) = (model.clusters().unwrap_or(0), model.channels());
        let steps = values.len() / (clusters * channels).max(1);
        Ok(PrototypeValues { clusters, channels, steps, values })
    }

    fn call(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return Err(error(format!("takes (model) or (model, steps), got {} arguments", exprs.len())));
        }
        let steps_expr = exprs.get(1);
        let steps_value = match steps_expr.map(literal) {
            None => None,
            Some(Some(v)) => Some(v),
            Some(None) => return Err(error("steps must be a constant positive integer")),
        };
        let PrototypeValues { clusters: k, channels: c, steps, values } = self.values_unguarded(literal(&exprs[0]), steps_value)?;
        let item = |t: DataType| Arc::new(Field::new("item", t, false));
        let (values, step_type): (ArrayRef, DataType) = if c == 1 {
            (Arc::new(Float32Array::from(values)), DataType::Float32)
        } else {
            let step = DataType::FixedSizeList(item(DataType::Float32), c as i32);
            (Arc::new(FixedSizeListArray::try_new(item(DataType::Float32), c as i32, Arc::new(Float32Array::from(values)), None)?), step)
        };
        let prototypes = ListArray::try_new(item(step_type), OffsetBuffer::from_lengths(vec![steps; k]), values, None)?;
        let clusters = Int32Array::from((0..k as i32).collect::<Vec<_>>());
        let schema = Arc::new(Schema::new(vec![
            Field::new("cluster", DataType::Int32, false),
            Field::new("prototype", prototypes.data_type().clone(), false),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(clusters), Arc::new(prototypes)])?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}
