//! How a Python exception becomes an error string, RedisGears' `getPyError` rules.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::module::flat_error_type;

/// The error text of `err`:
/// - `flat_error(msg)` → `msg`;
/// - with tracebacks on and a traceback present → `str(traceback.format_exception(...))`;
/// - else `Error type: <type>, Value: <value>`.
pub fn format_error(py: Python<'_>, err: &PyErr, attempt_traceback: bool) -> String {
    let value = err.value(py);
    if err.is_instance(py, flat_error_type(py).bind(py)) {
        return value.str().map(|s| s.to_string()).unwrap_or_default();
    }
    if attempt_traceback && let Some(tb) = err.traceback(py) {
        let formatted = py.import("traceback").and_then(|m| {
            m.getattr("format_exception")?
                .call1(PyTuple::new(
                    py,
                    [
                        err.get_type(py).into_any(),
                        value.clone().into_any(),
                        tb.into_any(),
                    ],
                )?)?
                .str()
                .map(|s| s.to_string())
        });
        if let Ok(text) = formatted {
            return text;
        }
    }
    let ty = err
        .get_type(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let val = value.str().map(|s| s.to_string()).unwrap_or_default();
    format!("Error type: {ty}, Value: {val}")
}
