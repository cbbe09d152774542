//! The Polars expression plugins: `vrae_embed`, `vrae_cluster`, `vrae_score`,
//! `vrae_project` and `vrae_reconstruct` (elementwise: Polars may hand them
//! any batch of rows) and `vrae_fit` (an aggregation: one model per group).
//!
//! Each call converts the whole column it is given into one batch and runs
//! the core over it (which batches rows longest first); nothing runs row by
//! row. Null series give null results; an unusable series is an error naming
//! the function and the row, or null with `on_invalid="null"`. Every entry
//! runs inside [`guard`], on top of the panic guard of the plugin macro, so
//! that a bug comes back as an error that names the function.

use polars::prelude::{BinaryChunked, Field, IntoSeries, NewChunkedArray, PlSmallStr, PolarsResult, Series};
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;
use vrae::{Model, Progress, VraeError};

use crate::convert::{step_layout, to_arrow, StepLayout};
use crate::error::{guard, PluginError, Result};
use crate::models::ModelBytes;
use crate::options::{parse_config, OnInvalid};
use crate::output::{self, Output};
use vrae::arrow_output::RowResults;
use vrae::model_cache::cached_model;

/// Keyword arguments of the functions that apply a model.
#[derive(Deserialize)]
pub struct ApplyKwargs {
    /// The model's safetensors bytes.
    model: ModelBytes,
    /// `"error"` or `"null"`.
    on_invalid: String,
}

/// Keyword arguments of `vrae_fit`.
#[derive(Deserialize)]
pub struct FitKwargs {
    /// The core's options as a JSON object.
    options: String,
    /// `"error"` or `"null"`.
    on_invalid: String,
    /// Report every epoch on stderr.
    verbose: bool,
}

/// What an elementwise function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Apply {
    Embed,
    Cluster,
    Score,
    Project,
    Reconstruct,
}

impl Apply {
    /// The name users know the function by.
    fn python_name(self) -> &'static str {
        match self {
            Apply::Embed => "vrae.embed",
            Apply::Cluster => "vrae.cluster",
            Apply::Score => "vrae.score",
            Apply::Project => "vrae.project",
            Apply::Reconstruct => "vrae.reconstruct",
        }
    }
}

/// The one input column.
fn single<T>(inputs: &[T]) -> Result<&T> {
    match inputs {
        [one] => Ok(one),
        other => Err(PluginError::Argument { name: "inputs", message: format!("expected one series column, got {}", other.len()) }),
    }
}

/// The output field of an elementwise function; checks the column type
/// against the model here, so that a plan fails before it runs.
fn apply_field(kind: Apply, fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    guard(|| {
        let input = single(fields)?;
        let layout = step_layout(input.dtype())?;
        OnInvalid::parse(&kwargs.on_invalid)?;
        let model = cached_model(&kwargs.model.0)?;
        if let Some(found) = layout.channels() {
            if found != model.channels() {
                return Err(VraeError::ChannelMismatch { expected: model.channels(), found }.into());
            }
        }
        if kind == Apply::Cluster {
            model.clusters().ok_or(VraeError::NoClusters)?;
        }
        Ok(output::field(input, output_type(kind, &model, layout).polars()))
    })
    .map_err(|e| e.into_polars(kind.python_name(), 0, true))
}

/// Runs an elementwise function over one batch of rows.
fn apply(kind: Apply, inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    let rows = inputs.first().map_or(0, |s| s.len());
    guard(|| {
        let series = single(inputs)?;
        let on_invalid = OnInvalid::parse(&kwargs.on_invalid)?;
        let model = cached_model(&kwargs.model.0)?;
        run(kind, &model, series, on_invalid)
    })
    .map_err(|e| e.into_polars(kind.python_name(), rows, true))
}

fn run(kind: Apply, model: &Model, series: &Series, on_invalid: OnInvalid) -> Result<Series> {
    let name = series.name().clone();
    let layout = step_layout(series.dtype())?;
    let column = to_arrow(series)?;
    let converted = column.series(Some(model.channels()), on_invalid.rows(model.config().max_length))?;
    let len = converted.len;
    let (batch, rows) = match on_invalid {
        // Rows that this model cannot take (values its scaling blows up) become null too.
        OnInvalid::Null => model.keep_usable(converted.batch, converted.rows)?,
        OnInvalid::Error => (converted.batch, converted.rows),
    };
    let (batch, rows) = (&batch, &rows[..]);
    let to_input = |e: VraeError| PluginError::from(e).in_input_rows(rows);
    let mut results = RowResults::new(len);
    if batch.is_empty() {
        if kind == Apply::Cluster {
            model.clusters().ok_or(VraeError::NoClusters)?;
        }
    } else {
        match kind {
            Apply::Embed => results.add_vectors(model.embed(batch).map_err(to_input)?, rows, model.latent())?,
            Apply::Project => results.add_vectors(model.project(batch).map_err(to_input)?, rows, vrae::PROJECTION_DIMS)?,
            Apply::Cluster => results.set_ints(rows, &model.cluster(batch).map_err(to_input)?)?,
            Apply::Score => results.set_floats(rows, &model.score(batch).map_err(to_input)?)?,
            Apply::Reconstruct => {
                results.add_series(model.reconstruct(batch).map_err(to_input)?, rows, batch.lengths(), model.channels())?
            }
        }
    }
    output_type(kind, model, layout).column(name, results)
}

/// What an elementwise function returns for a column of this layout.
fn output_type(kind: Apply, model: &Model, layout: StepLayout) -> Output {
    match kind {
        Apply::Embed => Output::Vectors(model.latent()),
        Apply::Project => Output::Vectors(vrae::PROJECTION_DIMS),
        Apply::Cluster => Output::Ints,
        Apply::Score => Output::Floats,
        Apply::Reconstruct => Output::Series((layout != StepLayout::Scalar).then_some(model.channels())),
    }
}

/// The output field of `vrae_fit`: Binary (the model), named like the input;
/// checks the column type and the options before the plan runs.
fn fit_field(fields: &[Field], kwargs: FitKwargs) -> PolarsResult<Field> {
    guard(|| {
        let input = single(fields)?;
        step_layout(input.dtype())?;
        parse_config(&kwargs.options)?;
        OnInvalid::parse(&kwargs.on_invalid)?;
        Ok(output::field(input, polars::prelude::DataType::Binary))
    })
    .map_err(|e| e.into_polars(FIT, 0, true))
}

const FIT: &str = "vrae.fit";

/// Trains a model on the series of one group; null when the group has no
/// usable series.
fn fit(inputs: &[Series], kwargs: FitKwargs) -> PolarsResult<Series> {
    let rows = inputs.first().map_or(0, |s| s.len());
    guard(|| {
        let series = single(inputs)?;
        let config = parse_config(&kwargs.options)?;
        let on_invalid = OnInvalid::parse(&kwargs.on_invalid)?;
        let column = to_arrow(series)?;
        let converted = column.series(None, on_invalid.rows(config.max_length))?;
        let name = series.name().clone();
        if converted.batch.is_empty() {
            return Ok(binary(name, None));
        }
        let n = converted.batch.len();
        let epochs = config.epochs_for_rows(n);
        let verbose = kwargs.verbose;
        let model = Model::fit(&converted.batch, &config, |p: Progress| {
            if let (true, Some(line)) = (verbose, p.line(FIT, n, epochs)) {
                eprintln!("{line}");
            }
        })
        .map_err(|e| PluginError::from(e).in_input_rows(&converted.rows))?;
        Ok(binary(name, Some(&model.to_bytes()?)))
    })
    .map_err(|e| e.into_polars(FIT, rows, true))
}

/// A one-row Binary column.
fn binary(name: PlSmallStr, value: Option<&[u8]>) -> Series {
    BinaryChunked::from_slice_options(name, &[value]).into_series()
}

fn embed_field(fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    apply_field(Apply::Embed, fields, kwargs)
}

fn cluster_field(fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    apply_field(Apply::Cluster, fields, kwargs)
}

fn score_field(fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    apply_field(Apply::Score, fields, kwargs)
}

fn project_field(fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    apply_field(Apply::Project, fields, kwargs)
}

fn reconstruct_field(fields: &[Field], kwargs: ApplyKwargs) -> PolarsResult<Field> {
    apply_field(Apply::Reconstruct, fields, kwargs)
}

/// Latent means: `Array(Float32, latent)`.
#[polars_expr(output_type_func_with_kwargs = embed_field)]
fn vrae_embed(inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    apply(Apply::Embed, inputs, kwargs)
}

/// Each series' cluster: `Int32`.
#[polars_expr(output_type_func_with_kwargs = cluster_field)]
fn vrae_cluster(inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    apply(Apply::Cluster, inputs, kwargs)
}

/// Reconstruction error: `Float64`.
#[polars_expr(output_type_func_with_kwargs = score_field)]
fn vrae_score(inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    apply(Apply::Score, inputs, kwargs)
}

/// 2-D PCA coordinates: `Array(Float32, 2)`.
#[polars_expr(output_type_func_with_kwargs = project_field)]
fn vrae_project(inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    apply(Apply::Project, inputs, kwargs)
}

/// The decoded series: `List(Float32)` or `List(Array(Float32, C))`.
#[polars_expr(output_type_func_with_kwargs = reconstruct_field)]
fn vrae_reconstruct(inputs: &[Series], kwargs: ApplyKwargs) -> PolarsResult<Series> {
    apply(Apply::Reconstruct, inputs, kwargs)
}

/// Trains one model per group: `Binary`.
#[polars_expr(output_type_func_with_kwargs = fit_field)]
fn vrae_fit(inputs: &[Series], kwargs: FitKwargs) -> PolarsResult<Series> {
    fit(inputs, kwargs)
}
