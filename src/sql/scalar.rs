//! The scalar functions: `vrae_embed`, `vrae_cluster`, `vrae_score`,
//! `vrae_project`, `vrae_reconstruct` (each `(series, model)`) and
//! `vrae_model_info(model)`.
//!
//! Each call works on a whole record batch: rows are grouped by model, each
//! group's series are converted once and run through the core in batches
//! (never row by row), and results are scattered back. Null series or null
//! models give null results; invalid series are errors naming the function
//! and the row of the batch.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int32Array, ListArray, StringArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use serde_json::json;

use super::model_arg::{is_model_type, rows_by_model, scalar_model};
use crate::arrow_input::series_from_arrow;
use crate::error::VraeError;
use crate::model::Model;

/// What a function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VraeOutput {
    /// `vrae_embed`: the latent mean.
    Embed,
    /// `vrae_cluster`: the nearest k-means centroid.
    Cluster,
    /// `vrae_score`: the reconstruction error.
    Score,
    /// `vrae_project`: 2-D PCA coordinates.
    Project,
    /// `vrae_reconstruct`: the decoded series.
    Reconstruct,
    /// `vrae_model_info`: JSON with config, format version and summary.
    ModelInfo,
}

/// One vrae scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VraeFunction {
    kind: VraeOutput,
    signature: Signature,
}

impl VraeFunction {
    /// The function of the given kind.
    pub fn new(kind: VraeOutput) -> Self {
        let args = if kind == VraeOutput::ModelInfo { 1 } else { 2 };
        Self { kind, signature: Signature::any(args, Volatility::Immutable) }
    }
}

fn item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("item", data_type, true))
}

fn exec_error(name: &str, err: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: {err}"))
}

fn plan_error(name: &str, err: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("{name}: {err}"))
}

/// The inner (per-step) type of a series column, if it is a list type.
fn step_type(series: &DataType) -> Option<&DataType> {
    match series {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(f.data_type()),
        _ => None,
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
            VraeOutput::ModelInfo => "vrae_model_info",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.output_type(arg_types, None)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        // A literal model fixes the latent size at planning time.
        let model_literal = args.scalar_arguments.last().copied().flatten();
        let latent = match (self.kind, model_literal) {
            (VraeOutput::Embed, Some(v)) => scalar_model(v).load().map_err(|e| plan_error(self.name(), e))?.map(|m| m.latent()),
            _ => None,
        };
        Ok(Arc::new(Field::new(self.name(), self.output_type(&types, latent)?, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let rows = args.number_rows;
        if self.kind == VraeOutput::ModelInfo {
            return model_info(name, &args.args[0], rows);
        }
        let series = match &args.args[0] {
            ColumnarValue::Array(a) => a.clone(),
            ColumnarValue::Scalar(s) => s.to_array_of_size(rows)?,
        };
        let (groups, _null_models) = rows_by_model(&args.args[1], rows).map_err(|e| exec_error(name, e))?;
        let mut out = Collected::new(rows);
        for (model, group_rows) in &groups {
            let subset = if group_rows.len() == rows {
                series.clone()
            } else {
                let idx = UInt32Array::from(group_rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
                take(series.as_ref(), &idx, None)?
            };
            self.run_group(model, &subset, group_rows, &mut out).map_err(|e| exec_error(name, e))?;
        }
        out.finish(self.kind, args.return_type()).map(ColumnarValue::Array)
    }
}

impl VraeFunction {
    fn output_type(&self, arg_types: &[DataType], latent: Option<usize>) -> Result<DataType> {
        let name = self.name();
        let model_type = arg_types.last().ok_or_else(|| plan_error(name, "missing the model argument"))?;
        if !is_model_type(model_type) && *model_type != DataType::Null {
            return Err(plan_error(name, format!("the model must be Binary (model bytes) or Utf8 (a model file path), got {model_type}")));
        }
        if self.kind == VraeOutput::ModelInfo {
            return Ok(DataType::Utf8);
        }
        let series = &arg_types[0];
        let step = step_type(series).ok_or_else(|| {
            plan_error(name, format!("the series must be a list of Float32/Float64 (or a list of fixed-size lists for multivariate), got {series}"))
        })?;
        Ok(match self.kind {
            VraeOutput::Embed => match latent {
                Some(l) => DataType::FixedSizeList(item(DataType::Float32), l as i32),
                None => DataType::List(item(DataType::Float32)),
            },
            VraeOutput::Cluster => DataType::Int32,
            VraeOutput::Score => DataType::Float64,
            VraeOutput::Project => DataType::FixedSizeList(item(DataType::Float32), 2),
            VraeOutput::Reconstruct => match step {
                DataType::FixedSizeList(_, c) => DataType::List(item(DataType::FixedSizeList(item(DataType::Float32), *c))),
                DataType::List(_) | DataType::LargeList(_) => DataType::List(item(DataType::List(item(DataType::Float32)))),
                _ => DataType::List(item(DataType::Float32)),
            },
            VraeOutput::ModelInfo => DataType::Utf8,
        })
    }

    /// Runs one model over the rows that use it (`subset` holds exactly
    /// those rows, `rows[i]` is subset row `i`'s row in the batch).
    fn run_group(&self, model: &Model, subset: &ArrayRef, rows: &[usize], out: &mut Collected) -> Result<(), VraeError> {
        let converted = series_from_arrow(subset.as_ref(), Some(model.channels())).map_err(|e| e.map_row(|r| rows[r]))?;
        let batch_to_row: Vec<usize> =
            converted.present.iter().enumerate().filter_map(|(i, p)| p.map(|_| rows[i])).collect();
        let batch = &converted.batch;
        let to_row = |e: VraeError| e.map_row(|r| batch_to_row[r]);
        match self.kind {
            VraeOutput::Embed | VraeOutput::Project => {
                let values = if self.kind == VraeOutput::Embed { model.embed(batch) } else { model.project(batch) };
                let values = values.map_err(to_row)?;
                let dim = if self.kind == VraeOutput::Embed { model.latent() } else { 2 };
                for (b, &row) in batch_to_row.iter().enumerate() {
                    out.vectors[row] = Some((dim, values[b * dim..(b + 1) * dim].to_vec()));
                }
            }
            VraeOutput::Cluster => {
                let ids = model.cluster(batch).map_err(to_row)?;
                for (b, &row) in batch_to_row.iter().enumerate() {
                    out.ints[row] = Some(ids[b] as i32);
                }
            }
            VraeOutput::Score => {
                let scores = model.score(batch).map_err(to_row)?;
                for (b, &row) in batch_to_row.iter().enumerate() {
                    out.floats[row] = Some(scores[b]);
                }
            }
            VraeOutput::Reconstruct => {
                let values = model.reconstruct(batch).map_err(to_row)?;
                let c = model.channels();
                let mut at = 0;
                for (b, &row) in batch_to_row.iter().enumerate() {
                    let len = batch.steps(b) * c;
                    out.vectors[row] = Some((c, values[at..at + len].to_vec()));
                    at += len;
                }
            }
            VraeOutput::ModelInfo => {}
        }
        Ok(())
    }
}

/// Per-row results of one batch, assembled into the return type at the end.
struct Collected {
    /// Embed, project: a vector per row; reconstruct: (channels, values).
    vectors: Vec<Option<(usize, Vec<f32>)>>,
    ints: Vec<Option<i32>>,
    floats: Vec<Option<f64>>,
}

impl Collected {
    fn new(rows: usize) -> Self {
        Self { vectors: vec![None; rows], ints: vec![None; rows], floats: vec![None; rows] }
    }

    fn finish(self, kind: VraeOutput, return_type: &DataType) -> Result<ArrayRef> {
        Ok(match kind {
            VraeOutput::Cluster => Arc::new(Int32Array::from(self.ints)),
            VraeOutput::Score => Arc::new(Float64Array::from(self.floats)),
            VraeOutput::Embed | VraeOutput::Project | VraeOutput::Reconstruct => vectors_to_array(self.vectors, return_type)?,
            VraeOutput::ModelInfo => Arc::new(StringArray::new_null(self.ints.len())),
        })
    }
}

/// Builds the declared list type from per-row vectors.
fn vectors_to_array(vectors: Vec<Option<(usize, Vec<f32>)>>, return_type: &DataType) -> Result<ArrayRef> {
    let nulls = NullBuffer::from(vectors.iter().map(Option::is_some).collect::<Vec<_>>());
    match return_type {
        DataType::FixedSizeList(field, size) => {
            let size = *size as usize;
            let mut values = Vec::with_capacity(vectors.len() * size);
            for v in &vectors {
                match v {
                    Some((_, x)) if x.len() == size => values.extend_from_slice(x),
                    Some((_, x)) => {
                        return Err(DataFusionError::Execution(format!(
                            "the model produced {} values per row, the planned type holds {size}",
                            x.len()
                        )))
                    }
                    None => values.extend(std::iter::repeat_n(0.0, size)),
                }
            }
            Ok(Arc::new(FixedSizeListArray::try_new(field.clone(), size as i32, Arc::new(Float32Array::from(values)), Some(nulls))?))
        }
        DataType::List(field) => {
            let inner = field.data_type().clone();
            let channels_of = |v: &(usize, Vec<f32>)| if matches!(inner, DataType::Float32) { 1 } else { v.0.max(1) };
            let mut flat = Vec::new();
            let mut lengths = Vec::with_capacity(vectors.len());
            for v in &vectors {
                match v {
                    Some(x) => {
                        flat.extend_from_slice(&x.1);
                        lengths.push(x.1.len() / channels_of(x));
                    }
                    None => lengths.push(0),
                }
            }
            let values: ArrayRef = match &inner {
                DataType::Float32 => Arc::new(Float32Array::from(flat)),
                DataType::FixedSizeList(f, c) => {
                    Arc::new(FixedSizeListArray::try_new(f.clone(), *c, Arc::new(Float32Array::from(flat)), None)?)
                }
                DataType::List(f) => {
                    let c = vectors.iter().flatten().map(|v| v.0).next().unwrap_or(1);
                    let steps = flat.len() / c.max(1);
                    Arc::new(ListArray::try_new(f.clone(), OffsetBuffer::from_lengths(vec![c; steps]), Arc::new(Float32Array::from(flat)), None)?)
                }
                other => return Err(DataFusionError::Internal(format!("unexpected list item type {other}"))),
            };
            Ok(Arc::new(ListArray::try_new(field.clone(), OffsetBuffer::from_lengths(lengths), values, Some(nulls))?))
        }
        other => Err(DataFusionError::Internal(format!("unexpected return type {other}"))),
    }
}

/// `vrae_model_info(model)`: JSON text per row.
fn model_info(name: &str, model: &ColumnarValue, rows: usize) -> Result<ColumnarValue> {
    let (groups, _) = rows_by_model(model, rows).map_err(|e| exec_error(name, e))?;
    let mut out: Vec<Option<String>> = vec![None; rows];
    for (m, group_rows) in groups {
        let info = json!({
            "format_version": crate::artifact::FORMAT_VERSION,
            "channels": m.channels(),
            "latent": m.latent(),
            "clusters": m.clusters(),
            "config": m.config(),
            "summary": m.summary(),
        })
        .to_string();
        for r in group_rows {
            out[r] = Some(info.clone());
        }
    }
    Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
}
