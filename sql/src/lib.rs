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
//! path to a model file (`Utf8`). Models are decoded once and cached by a
//! hash of all their bytes (a hit is confirmed byte for byte), so a query
//! over a million rows decodes its model once. Every function carries its
//! documentation (`docs`), which `information_schema.routines` shows.

mod docs;
mod fit;
mod model_arg;
mod model_info;
mod prototypes;
mod scalar;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use fit::{set_progress_on_stderr, VraeFit};
pub use model_info::VraeModelInfo;
pub use prototypes::VraePrototypes;
pub use scalar::{VraeFunction, VraeOutput};

/// Every vrae scalar function, ready to register.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    let mut functions: Vec<ScalarUDF> =
        [VraeOutput::Embed, VraeOutput::Cluster, VraeOutput::Score, VraeOutput::Project, VraeOutput::Reconstruct]
            .into_iter()
            .map(|kind| ScalarUDF::new_from_impl(VraeFunction::new(kind)))
            .collect();
    functions.push(ScalarUDF::new_from_impl(VraeModelInfo::default()));
    functions
}

/// Adds every vrae function to `ctx`: the `vrae_fit` aggregate, the
/// scalar functions and the `vrae_prototypes` table function.
pub fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::new_from_impl(VraeFit::default()));
    for f in scalar_functions() {
        ctx.register_udf(f);
    }
    ctx.register_udtf("vrae_prototypes", std::sync::Arc::new(VraePrototypes));
}
