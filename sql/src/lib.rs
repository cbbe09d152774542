//! # vrae-datafusion
//!
//! vrae's functions for Apache DataFusion, and (feature `cli`) the `vrae-sql`
//! shell. A crate of its own, so that the core knows no engine and this layer
//! reaches the core only through its public API.
//!
//! [`register`] adds every function to a `SessionContext`. The scalar
//! functions take a series column (see [`vrae::arrow_input`] for the
//! accepted list types) and a model, given as the model's bytes (`Binary`,
//! e.g. a column of a joined one-row table or a scalar subquery) or as a
//! path to a model file (`Utf8`), or by a name registered with
//! [`register_with_models`]. Models are decoded once and cached by a
//! hash of all their bytes (a hit is confirmed byte for byte), so a query
//! over a million rows decodes its model once. Every function carries its
//! documentation (`docs`), which `information_schema.routines` shows.
//!
//! The lists [`scalar_functions_with`], [`aggregate_functions`] and
//! [`table_functions_with`] are what [`register_with_models`] registers;
//! other hosts (the `datafusion` Python package, through DataFusion's FFI)
//! take them from there.

mod docs;
mod fit;
mod model_arg;
mod model_info;
mod named_models;
mod panic_guard;
mod prototypes;
mod scalar;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use fit::{set_progress_on_stderr, VraeFit};
pub use model_info::VraeModelInfo;
pub use named_models::{NamedModelError, NamedModels};
pub use prototypes::{PrototypeValues, VraePrototypes};
pub use scalar::{VraeFunction, VraeOutput};

/// Every vrae scalar function, ready to register.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    scalar_functions_with(&NamedModels::new())
}

/// Every vrae scalar function, taking the names of `models` as models.
pub fn scalar_functions_with(models: &NamedModels) -> Vec<ScalarUDF> {
    let mut functions: Vec<ScalarUDF> =
        [VraeOutput::Embed, VraeOutput::Cluster, VraeOutput::Score, VraeOutput::Project, VraeOutput::Reconstruct]
            .into_iter()
            .map(|kind| ScalarUDF::new_from_impl(VraeFunction::with_models(kind, models.clone())))
            .collect();
    functions.push(ScalarUDF::new_from_impl(VraeModelInfo::with_models(models.clone())));
    functions
}

/// Every vrae aggregate function: `vrae_fit`.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![AggregateUDF::new_from_impl(VraeFit::default())]
}

/// Every vrae table function with its name: `vrae_prototypes`.
pub fn table_functions_with(models: &NamedModels) -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
    vec![("vrae_prototypes", Arc::new(VraePrototypes::with_models(models.clone())))]
}

/// Adds every vrae function to `ctx`: the `vrae_fit` aggregate, the
/// scalar functions and the `vrae_prototypes` table function.
pub fn register(ctx: &SessionContext) {
    register_with_models(ctx, &NamedModels::new());
}

/// Like [`register`], and a `Utf8` model argument that equals one of the
/// names in `models` uses that model (no file is read).
pub fn register_with_models(ctx: &SessionContext, models: &NamedModels) {
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
    for f in scalar_functions_with(models) {
        ctx.register_udf(f);
    }
    for (name, f) in table_functions_with(models) {
        ctx.register_udtf(name, f);
    }
}
