//! `datafusion_vrae._internal`: vrae's DataFusion functions handed to the
//! `datafusion` Python package through DataFusion's FFI.
//!
//! Each scalar and aggregate function is a small Python object with the
//! dunder method that `datafusion.udf` / `udaf` look for; it returns a
//! PyCapsule holding the `datafusion_ffi` struct of that function.
//! `vrae_prototypes` is a Python table function over [`Prototypes`]. The functions themselves are
//! `vrae_datafusion`'s, the same that `vrae-sql` registers, so SQL results,
//! options and error messages are the same on both sides.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyCapsule, PyDict, PyFloat, PyString};
use vrae_datafusion::{NamedModels, VraePrototypes};

/// A vrae scalar function (`vrae_embed`, ...), for `datafusion.udf`.
#[pyclass(frozen, name = "ScalarFunction", module = "datafusion_vrae._internal")]
struct ScalarFunction {
    udf: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.udf.name()
    }

    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        PyCapsule::new_with_value(py, FFI_ScalarUDF::from(self.udf.clone()), c"datafusion_scalar_udf")
    }
}

/// A vrae aggregate function (`vrae_fit`), for `datafusion.udaf`.
#[pyclass(frozen, name = "AggregateFunction", module = "datafusion_vrae._internal")]
struct AggregateFunction {
    udaf: Arc<AggregateUDF>,
}

#[pymethods]
impl AggregateFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.udaf.name()
    }

    fn __datafusion_aggregate_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        PyCapsule::new_with_value(py, FFI_AggregateUDF::from(self.udaf.clone()), c"datafusion_aggregate_udf")
    }
}

/// `vrae_prototypes`, computed for the Python table function that
/// `datafusion_vrae` registers. Not an FFI table function: with
/// `datafusion` 55.0.0, planning through `FFI_TableFunction` crashed the
/// interpreter in about one run in six (a session handed across the FFI).
#[pyclass(frozen, name = "Prototypes", module = "datafusion_vrae._internal")]
struct Prototypes {
    function: VraePrototypes,
}

#[pymethods]
impl Prototypes {
    /// `(clusters, channels, steps, values)` for a model given as bytes or a
    /// string (registered name or path) and an optional step count; the
    /// SQL function's errors as `ValueError`.
    #[pyo3(signature = (model, steps=None))]
    fn compute(&self, model: &Bound<'_, PyAny>, steps: Option<&Bound<'_, PyAny>>) -> PyResult<(usize, usize, usize, Vec<f32>)> {
        let model = if let Ok(bytes) = model.cast::<PyBytes>() {
            ScalarValue::Binary(Some(bytes.as_bytes().to_vec()))
        } else if let Ok(text) = model.cast::<PyString>() {
            ScalarValue::Utf8(Some(text.to_str()?.to_owned()))
        } else {
            ScalarValue::Null
        };
        let steps = steps.map(steps_value);
        let p = self.function.values(&model, steps.as_ref()).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((p.clusters, p.channels, p.steps, p.values))
    }
}

/// A `steps` argument as the SQL literal it was written as, so that the
/// function refuses what is not a whole number with the SQL function's own
/// message (`got true (Boolean)`, `got 3 (Utf8)`); `bool` is checked before
/// `int`, which Python counts it as, and integers beyond i64 are UInt64 as
/// DataFusion types them. What is none of these is Null.
fn steps_value(steps: &Bound<'_, PyAny>) -> ScalarValue {
    if let Ok(flag) = steps.cast::<PyBool>() {
        ScalarValue::Boolean(Some(flag.is_true()))
    } else if let Ok(n) = steps.extract::<i64>() {
        ScalarValue::Int64(Some(n))
    } else if let Ok(n) = steps.extract::<u64>() {
        ScalarValue::UInt64(Some(n))
    } else if let Ok(x) = steps.cast::<PyFloat>() {
        ScalarValue::Float64(Some(x.value()))
    } else if let Ok(text) = steps.cast::<PyString>() {
        text.to_str().map_or(ScalarValue::Null, |t| ScalarValue::Utf8(Some(t.to_owned())))
    } else {
        ScalarValue::Null
    }
}

/// Every vrae function: the scalar and aggregate lists and `vrae_prototypes`. `models` maps
/// names to a model's bytes or a model file's path: a string model argument
/// equal to a name uses that model (see `datafusion_vrae.register`).
#[pyfunction]
#[pyo3(signature = (models=None))]
fn functions(models: Option<Bound<'_, PyDict>>) -> PyResult<(Vec<ScalarFunction>, Vec<AggregateFunction>, Prototypes)> {
    let mut named = NamedModels::new();
    for (name, model) in models.iter().flat_map(|d| d.iter()) {
        let Ok(name) = name.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!("model names must be strings, got {}", name.repr()?)));
        };
        let name = name.to_str()?.to_owned();
        let added = if let Ok(bytes) = model.cast::<PyBytes>() {
            named.insert_bytes(&name, bytes.as_bytes())
        } else if let Ok(path) = model.cast::<PyString>() {
            named.insert_path(&name, path.to_str()?)
        } else {
            return Err(PyTypeError::new_err(format!("model `{name}`: expected the model's bytes or a model file path")));
        };
        added.map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    let scalars = vrae_datafusion::scalar_functions_with(&named).into_iter().map(|f| ScalarFunction { udf: Arc::new(f) }).collect();
    let aggregates = vrae_datafusion::aggregate_functions().into_iter().map(|f| AggregateFunction { udaf: Arc::new(f) }).collect();
    let prototypes = Prototypes { function: VraePrototypes::with_models(named) };
    Ok((scalars, aggregates, prototypes))
}

#[pymodule]
fn _internal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(functions, m)?)?;
    // The DataFusion major version this library's FFI structs belong to;
    // the Python package refuses any other installed `datafusion`.
    m.add("DATAFUSION_MAJOR", datafusion_ffi::version())?;
    m.add_class::<ScalarFunction>()?;
    m.add_class::<AggregateFunction>()?;
    m.add_class::<Prototypes>()?;
    Ok(())
}
