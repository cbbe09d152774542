//! A panic inside a vrae function becomes that function's error. It must
//! not leave the function: behind DataFusion's FFI (the `datafusion` Python
//! package) it would unwind into an `extern "C"` function and abort the
//! interpreter, and in a query it would take down the task running it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use datafusion::common::{DataFusionError, Result};

/// Runs `f`; a panic becomes an execution error naming the function.
/// (`AssertUnwindSafe`: after a panic the query fails, so whatever state
/// the panic left half-updated is never used again.)
pub fn guarded<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = vrae::panic_message(payload.as_ref());
        Err(DataFusionError::Execution(format!("{name}: internal error, please report it as a bug in vrae: {what}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_functions_error() {
        let err = guarded::<()>("vrae_embed", || panic!("index 7 out of range")).unwrap_err().to_string();
        assert!(err.contains("vrae_embed: internal error") && err.contains("index 7 out of range"), "{err}");
        let owned = guarded::<()>("vrae_fit", || panic!("{} rows", 3)).unwrap_err().to_string();
        assert!(owned.contains("vrae_fit: internal error") && owned.contains("3 rows"), "{owned}");
        assert_eq!(guarded("vrae_fit", || Ok(5)).unwrap(), 5);
    }
}
