//! `datafusion_vrae._internal`: vrae's DataFusion functions handed to the
//! `datafusion` Python package through DataFusion's FFI.
//!
//! Each function is a small Python object with the dunder method that
//! `datafusion.udf` / `udaf` / `udtf` look for; it returns a PyCapsule holding
//! the `datafusion_ffi` struct of that function. The functions themselves are
//! `vrae_datafusion`'s, the same that `vrae-sql` registers, so SQL results,
//! options and error messages are the same on both sides.

use std::ptr::NonNull;
use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::proto::logical_extension_codec::FFI_LogicalExtensionCodec;
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use datafusion_ffi::udtf::FFI_TableFunction;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyString};
use vrae_datafusion::NamedModels;

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

/// A vrae table function (`vrae_prototypes`), for `datafusion.udtf`.
#[pyclass(frozen, name = "TableFunction", module = "datafusion_vrae._internal")]
struct TableFunction {
    name: &'static str,
    function: Arc<dyn TableFunctionImpl>,
}

#[pymethods]
impl TableFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.name
    }

    /// `session` is the `SessionContext` the function is registered on:
    /// its logical codec carries the function's arguments across.
    fn __datafusion_table_function__<'py>(&self, py: Python<'py>, session: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyCapsule>> {
        let codec = logical_codec(&session)?;
        let function = FFI_TableFunction::new_with_ffi_codec(self.function.clone(), None, codec);
        PyCapsule::new_with_value(py, function, c"datafusion_table_function")
    }
}

/// The logical extension codec of a `datafusion.SessionContext`, which it
/// exports as a PyCapsule.
fn logical_codec(session: &Bound<'_, PyAny>) -> PyResult<FFI_LogicalExtensionCodec> {
    const METHOD: &str = "__datafusion_logical_extension_codec__";
    if !session.hasattr(METHOD)? {
        return Err(PyTypeError::new_err(format!("expected a datafusion SessionContext (with {METHOD}), got {}", session.get_type())));
    }
    let capsule = session.getattr(METHOD)?.call0()?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let data: NonNull<FFI_LogicalExtensionCodec> = capsule.pointer_checked(Some(c"datafusion_logical_extension_codec"))?.cast();
    // SAFETY: the capsule's name is checked above, so it holds an
    // FFI_LogicalExtensionCodec, owned by the capsule, which lives for this
    // call; the codec is cloned (its own clone callback) before it is kept.
    let codec = unsafe { data.as_ref() };
    Ok(codec.clone())
}

/// Every vrae function, as (scalar, aggregate, table) lists. `models` maps
/// names to model bytes: a string model argument equal to a name uses that
/// model (see `datafusion_vrae.register`).
#[pyfunction]
#[pyo3(signature = (models=None))]
fn functions(models: Option<Bound<'_, PyDict>>) -> PyResult<(Vec<ScalarFunction>, Vec<AggregateFunction>, Vec<TableFunction>)> {
    let mut named = NamedModels::new();
    for (name, bytes) in models.iter().flat_map(|d| d.iter()) {
        let name = name.cast::<PyString>().map_err(|_| PyTypeError::new_err("model names must be strings"))?.to_str()?.to_owned();
        let bytes = bytes.cast::<PyBytes>().map_err(|_| PyTypeError::new_err(format!("model `{name}`: expected the model's bytes")))?;
        named.insert_bytes(&name, bytes.as_bytes()).map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    let scalars = vrae_datafusion::scalar_functions_with(&named).into_iter().map(|f| ScalarFunction { udf: Arc::new(f) }).collect();
    let aggregates = vrae_datafusion::aggregate_functions().into_iter().map(|f| AggregateFunction { udaf: Arc::new(f) }).collect();
    let tables =
        vrae_datafusion::table_functions_with(&named).into_iter().map(|(name, function)| TableFunction { name, function }).collect();
    Ok((scalars, aggregates, tables))
}

#[pymodule]
fn _internal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(functions, m)?)?;
    // The DataFusion major version this library's FFI structs belong to;
    // the Python package refuses any other installed `datafusion`.
    m.add("DATAFUSION_MAJOR", datafusion_ffi::version())?;
    m.add_class::<ScalarFunction>()?;
    m.add_class::<AggregateFunction>()?;
    m.add_class::<TableFunction>()?;
    Ok(())
}
