//! The Python functions of `polars_vrae._internal`, behind `polars_vrae.train`
//! and the `Model` class: training from a Series (the GIL released while it
//! runs), model information and option checking.
//!
//! Errors become Python exceptions of the matching class: an unknown option
//! is a `TypeError` (as an unknown keyword argument is), a bad option value
//! or unreadable model a `ValueError`, and anything about the series or the
//! training a `polars.exceptions.ComputeError`, the class the expressions
//! raise for the same problems.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_polars::PySeries;
use vrae::projection::TsneOptions;
use vrae::{InvalidRows, Model, Progress, VraeConfig, VraeError};

use crate::convert::{to_arrow, unsupported_type_message};
use crate::error::{guard, PluginError};
use crate::options::{parse_config, OnInvalid};
use crate::output::Output;
use vrae::arrow_output::RowResults;

/// The name errors of `train` start with.
const TRAIN: &str = "polars_vrae.train";

/// A Python exception for a plugin error raised by `function`.
fn to_py(py: Python<'_>, function: &str, err: PluginError, rows: usize) -> PyErr {
    to_py_with(py, function, err, rows, true)
}

/// [`to_py`] saying whether `function` takes `on_invalid` (`tsne` does not),
/// so that a message suggests it only where it applies.
fn to_py_with(py: Python<'_>, function: &str, err: PluginError, rows: usize, takes_on_invalid: bool) -> PyErr {
    match &err {
        // A file that cannot be read raises what Python's own file reading
        // would (FileNotFoundError, PermissionError, ...).
        PluginError::Vrae(VraeError::Io { path, source }) => {
            PyErr::from(std::io::Error::new(source.kind(), format!("{function}: {path}: {source}")))
        }
        PluginError::Vrae(VraeError::UnknownOption { .. }) => PyTypeError::new_err(format!("{function}: {err}")),
        PluginError::Vrae(
            VraeError::InvalidOption { .. }
            | VraeError::OnInvalid(_)
            | VraeError::OptionsNotAnObject(_)
            | VraeError::TooLarge(_)
            | VraeError::Artifact(_),
        )
        | PluginError::Argument { .. } => PyValueError::new_err(format!("{function}: {err}")),
        PluginError::Panic(_) => PyRuntimeError::new_err(format!("{function}: {err}")),
        _ => {
            let message = err.into_polars(function, rows, takes_on_invalid).to_string();
            compute_error(py, message)
        }
    }
}

/// `polars.exceptions.ComputeError(message)`, or a `RuntimeError` should
/// Polars' exception classes be out of reach.
fn compute_error(py: Python<'_>, message: String) -> PyErr {
    let class = py.import("polars.exceptions").and_then(|m| m.getattr("ComputeError"));
    match class.and_then(|c| c.call1((message.clone(),))) {
        Ok(exception) => PyErr::from_value(exception),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// The Polars Series `column` holds. Polars' own import of a few column
/// types panics instead of failing (`Float16` or `Decimal` values, whose
/// features the plugin's Polars is built without; a zero-width `Array`): such
/// a panic stays on this side of the boundary and becomes the error any
/// unsupported type gets, naming the type.
fn import_series(py: Python<'_>, function: &str, column: &Bound<'_, PyAny>) -> PyResult<polars::prelude::Series> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| column.extract::<PySeries>())) {
        Ok(imported) => imported.map(|s| s.0),
        Err(_) => {
            let dtype = column.getattr("dtype").and_then(|d| d.str().map(|s| s.to_string())).unwrap_or_else(|_| "?".into());
            Err(compute_error(py, unsupported_series_type(function, &dtype)))
        }
    }
}

/// The message for a column whose type Polars cannot hand over (the Python
/// layer checks for these types first, so that Polars' panic line is not
/// printed; the catch above is for types it does not know of).
#[pyfunction]
fn unsupported_series_type(function: &str, dtype: &str) -> String {
    format!("{function}: {}", unsupported_type_message(dtype))
}

/// Writes one progress line to Python's `sys.stderr` (so that notebooks
/// show it), falling back to the process's stderr.
fn report(line: &str) {
    let written = Python::attach(|py| -> PyResult<()> {
        let stderr = py.import("sys")?.getattr("stderr")?;
        stderr.call_method1("write", (format!("{line}\n"),))?;
        stderr.call_method0("flush")?;
        Ok(())
    });
    if written.is_err() {
        eprintln!("{line}");
    }
}

/// Trains a model on a Series of series and returns its bytes.
///
/// `options` is a JSON object of the core's options; `on_invalid` is
/// `"error"` or `"null"` (leave unusable series out); with `verbose`, every
/// epoch is reported on `sys.stderr`. The GIL is released while training.
#[pyfunction]
#[pyo3(signature = (series, options, on_invalid = "error", verbose = false))]
fn train<'py>(
    py: Python<'py>,
    series: &Bound<'py, PyAny>,
    options: &str,
    on_invalid: &str,
    verbose: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let series = import_series(py, TRAIN, series)?;
    let rows = series.len();
    let trained = guard(|| {
        let config = parse_config(options)?;
        let on_invalid = OnInvalid::parse(on_invalid)?;
        py.detach(|| {
            guard(|| {
                let column = to_arrow(&series)?;
                let converted = column.series(None, on_invalid.rows(config.max_length))?;
                let (fit_rows, epochs) = (converted.batch.len(), config.epochs_for_rows(converted.batch.len()));
                let model = Model::fit(&converted.batch, &config, |p: Progress| {
                    if let (true, Some(line)) = (verbose, p.line("vrae", fit_rows, epochs)) {
                        report(&line);
                    }
                })
                .map_err(|e| PluginError::from(e).in_input_rows(&converted.rows))?;
                Ok(model.to_bytes()?)
            })
        })
    });
    match trained {
        Ok(bytes) => Ok(PyBytes::new(py, &bytes)),
        Err(e) => Err(to_py(py, TRAIN, e, rows)),
    }
}

/// A model's description as JSON: format version, channels, latent size,
/// clusters, every option and the training summary. Raises `ValueError` for
/// bytes that are not a readable vrae model. `Model(bytes)` calls this, so
/// it decodes in full, checksum included, rather than through the cache
/// (whose key is the header: a copy with damaged tensors would hit it).
#[pyfunction]
fn model_info(py: Python<'_>, model: &[u8]) -> PyResult<String> {
    guard(|| {
        let decoded = Model::from_bytes(model)?;
        Ok(vrae::model_cache::model_info_json(&decoded))
    })
    .map_err(|e| to_py(py, "polars_vrae.Model", e, 0))
}

/// Every cluster's prototype (the decoder run on its centroid, in
/// the input's units; see `vrae::Model::prototypes`): a Series of
/// `List(Float32)` (univariate) or `List(Array(Float32, C))`, one row per
/// cluster. `steps` defaults to the longest training series.
#[pyfunction]
#[pyo3(signature = (model, steps = None, multivariate = false))]
fn prototypes(py: Python<'_>, model: &[u8], steps: Option<usize>, multivariate: bool) -> PyResult<PySeries> {
    const NAME: &str = "polars_vrae.Model.prototypes";
    py.detach(|| {
        guard(|| {
            let model = vrae::model_cache::cached_model(model)?;
            let values = model.prototypes(steps)?;
            let (k, c) = (model.clusters().unwrap_or(0), model.channels());
            let steps = values.len() / (k * c).max(1);
            let rows: Vec<usize> = (0..k).collect();
            let mut results = RowResults::new(k);
            results.add_series(values, &rows, std::iter::repeat_n(steps, k), c)?;
            Output::Series((multivariate || c > 1).then_some(c)).column("prototype".into(), results)
        })
    })
    .map(PySeries)
    .map_err(|e| to_py(py, NAME, e, 0))
}

/// A model file's bytes, read with the core's checks (a regular file, no
/// larger than a model can be) before anything is read.
#[pyfunction]
fn read_model_file<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py.detach(|| guard(|| Ok(Model::file_bytes(path)?))).map_err(|e| to_py(py, "polars_vrae.Model.load", e, 0))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Writes a model's bytes to `path` as the core saves models
/// (`vrae::model_file::write`): atomically, through a temporary file of
/// this call's own, and only over a regular file or a link to one.
#[pyfunction]
fn write_model_file(py: Python<'_>, path: std::path::PathBuf, model: &[u8]) -> PyResult<()> {
    py.detach(|| guard(|| Ok(vrae::model_file::write(&path, model)?))).map_err(|e| to_py(py, "polars_vrae.Model.save", e, 0))
}

/// Checks training options (a JSON object) and returns every option with
/// its value, defaults filled in, as JSON. Raises `TypeError` for an unknown
/// option (listing the valid ones) and `ValueError` for a bad value.
#[pyfunction]
fn check_options(py: Python<'_>, options: &str) -> PyResult<String> {
    guard(|| Ok(parse_config(options)?.to_json())).map_err(|e| to_py(py, "polars_vrae", e, 0))
}

/// 2-D t-SNE coordinates of latent vectors (a Series of `Array(Float, n)` or
/// lists of one length), for pictures: `Array(Float32, 2)`, null where the
/// input is null. The GIL is released while it runs.
#[pyfunction]
#[pyo3(signature = (latents, perplexity = 30.0, epochs = 1000, theta = 0.5, seed = 0))]
fn tsne(py: Python<'_>, latents: &Bound<'_, PyAny>, perplexity: f32, epochs: usize, theta: f32, seed: u64) -> PyResult<PySeries> {
    const NAME: &str = "polars_vrae.tsne";
    let latents = import_series(py, NAME, latents)?;
    let rows = latents.len();
    let options = TsneOptions { perplexity, epochs, theta, seed };
    let result = py.detach(|| {
        guard(|| {
            let column = to_arrow(&latents)?;
            let converted = column.series(Some(1), InvalidRows::Error)?;
            let batch = &converted.batch;
            if batch.is_empty() {
                // Every row null (or none at all): every output row null.
                return Output::Vectors(2).column(latents.name().clone(), RowResults::new(converted.len));
            }
            let dim = batch.lengths().next().unwrap_or(0);
            if let Some(r) = (0..batch.len()).find(|&r| batch.steps(r) != dim) {
                return Err(PluginError::Argument {
                    name: "latents",
                    message: format!("row {} has {} values, the first row {dim}", converted.rows[r], batch.steps(r)),
                });
            }
            let mut points = Vec::with_capacity(batch.len() * dim);
            for r in 0..batch.len() {
                points.extend_from_slice(batch.row(r));
            }
            let xy = vrae::projection::tsne(&points, dim, &options).map_err(|e| PluginError::from(e).in_input_rows(&converted.rows))?;
            let mut results = RowResults::new(converted.len);
            results.add_vectors(xy, &converted.rows, 2)?;
            Output::Vectors(2).column(latents.name().clone(), results)
        })
    });
    result.map(PySeries).map_err(|e| to_py_with(py, NAME, e, rows, false))
}

/// Every option with its default value, as JSON.
#[pyfunction]
fn default_options() -> String {
    VraeConfig::default().to_json()
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(model_info, m)?)?;
    m.add_function(wrap_pyfunction!(read_model_file, m)?)?;
    m.add_function(wrap_pyfunction!(write_model_file, m)?)?;
    m.add_function(wrap_pyfunction!(prototypes, m)?)?;
    m.add_function(wrap_pyfunction!(check_options, m)?)?;
    m.add_function(wrap_pyfunction!(default_options, m)?)?;
    m.add_function(wrap_pyfunction!(tsne, m)?)?;
    m.add_function(wrap_pyfunction!(unsupported_series_type, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
