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
//! take them from there. With feature `remote`, [`remote::connect`] gives a
//! context whose queries run on an Apache DataFusion Ballista cluster.

mod docs;
mod fit;
mod model_arg;
mod model_info;
mod named_models;
mod panic_guard;
mod prototypes;
#[cfg(feature = "remote")]
pub mod remote;
mod scalar;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
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

/// Adds the scalar functions and the `vrae_fit` aggregate to any function
/// registry (a `SessionState`, a `SessionContext`, a
/// `MemoryFunctionRegistry`, the registry an engine's workers decode plans
/// with), the convention of datafusion-functions. A registry that refuses
/// a function is an error, not skipped. Table functions are not part of a
/// `FunctionRegistry`: [`register`] adds `vrae_prototypes` to a context.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    register_all_with_models(registry, &NamedModels::new())
}

/// [`register_all`], taking the names of `models` as models.
pub fn register_all_with_models(registry: &mut dyn FunctionRegistry, models: &NamedModels) -> Result<()> {
    for f in scalar_functions_with(models) {
        registry.register_udf(Arc::new(f))?;
    }
    for f in aggregate_functions() {
        registry.register_udaf(Arc::new(f))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use datafusion::execution::registry::MemoryFunctionRegistry;
    use datafusion::logical_expr::{HigherOrderUDF, WindowUDF};

    use super::*;

    #[test]
    fn register_all_fills_a_function_registry() {
        let mut registry = MemoryFunctionRegistry::new();
        register_all(&mut registry).unwrap();
        let scalars: HashSet<String> =
            ["vrae_embed", "vrae_cluster", "vrae_score", "vrae_project", "vrae_reconstruct", "vrae_model_info"].map(String::from).into();
        assert_eq!(registry.udfs(), scalars);
        assert_eq!(registry.udafs(), HashSet::from(["vrae_fit".to_string()]));
        assert_eq!(registry.udf("vrae_embed").unwrap().name(), "vrae_embed");
    }

    /// A registry that takes nothing (the trait's default `register_*`).
    struct Closed;

    impl FunctionRegistry for Closed {
        fn udfs(&self) -> HashSet<String> {
            HashSet::new()
        }
        fn higher_order_function_names(&self) -> HashSet<String> {
            HashSet::new()
        }
        fn udafs(&self) -> HashSet<String> {
            HashSet::new()
        }
        fn udwfs(&self) -> HashSet<String> {
            HashSet::new()
        }
        fn udf(&self, name: &str) -> Result<Arc<ScalarUDF>> {
            datafusion::common::plan_err!("no function {name}")
        }
        fn higher_order_function(&self, name: &str) -> Result<Arc<HigherOrderUDF>> {
            datafusion::common::plan_err!("no function {name}")
        }
        fn udaf(&self, name: &str) -> Result<Arc<AggregateUDF>> {
            datafusion::common::plan_err!("no function {name}")
        }
        fn udwf(&self, name: &str) -> Result<Arc<WindowUDF>> {
            datafusion::common::plan_err!("no function {name}")
        }
        fn expr_planners(&self) -> Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> {
            Vec::new()
        }
    }

    #[test]
    fn a_registry_that_refuses_is_an_error() {
        assert!(register_all(&mut Closed).is_err());
    }
}
