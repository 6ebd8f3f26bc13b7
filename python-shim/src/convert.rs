//! Conversions between Python values and replies.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString};

use crate::context::HostReply;

/// Bytes as a Python `str` when they are UTF-8, else a `bytearray` (RedisGears' rule for keys,
/// values and command replies).
pub fn bytes_to_py(py: Python<'_>, b: &[u8]) -> Py<PyAny> {
    match std::str::from_utf8(b) {
        Ok(s) => PyString::new(py, s).into_any().unbind(),
        Err(_) => PyByteArray::new(py, b).into_any().unbind(),
    }
}

/// A command reply as `execute()` returns it: arrays become lists, bulk and status strings
/// become `str`, integers `int`, nil `None`, errors inside arrays their text.
pub fn reply_to_py(py: Python<'_>, r: &HostReply) -> Py<PyAny> {
    match r {
        HostReply::Nil => py.None(),
        HostReply::Int(n) => n
            .into_pyobject(py)
            .map_or_else(|_| py.None(), |v| v.into_any().unbind()),
        HostReply::Bool(b) => i64::from(*b)
            .into_pyobject(py)
            .map_or_else(|_| py.None(), |v| v.into_any().unbind()),
        HostReply::Double(d) => PyFloat::new(py, *d).into_any().unbind(),
        HostReply::Status(s) | HostReply::Bulk(s) => bytes_to_py(py, s),
        HostReply::Error(e) => PyString::new(py, e).into_any().unbind(),
        HostReply::Array(items) => {
            let list = PyList::empty(py);
            for i in items {
                let _ = list.append(reply_to_py(py, i));
            }
            list.into_any().unbind()
        }
    }
}

/// A Python record as a RedisGears reply element: lists recurse, ints are integers, floats are
/// `%lf` bulk strings, `'+x'`/`'-x'` strings are status/error replies, other strings and bytes
/// are bulk strings, anything else is the bulk string `PY RECORD`.
pub fn py_to_reply(v: &Bound<'_, PyAny>) -> HostReply {
    if let Ok(list) = v.cast::<PyList>() {
        return HostReply::Array(list.iter().map(|i| py_to_reply(&i)).collect());
    }
    if v.cast::<PyBool>().is_ok() || v.cast::<PyInt>().is_ok() {
        // Out-of-range integers become -1, as RedisGears' PyLong_AsLongLong does.
        return HostReply::Int(v.extract::<i64>().unwrap_or(-1));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return HostReply::Bulk(format_lf(f.value()).into_bytes());
    }
    if let Ok(s) = v.cast::<PyString>() {
        let text = s.to_cow().map(|c| c.into_owned()).unwrap_or_default();
        if text.len() > 1 {
            if let Some(rest) = text.strip_prefix('+') {
                return HostReply::Status(rest.as_bytes().to_vec());
            }
            if let Some(rest) = text.strip_prefix('-') {
                return HostReply::Error(rest.to_string());
            }
        }
        return HostReply::Bulk(text.into_bytes());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return HostReply::Bulk(b.as_bytes().to_vec());
    }
    HostReply::Bulk(b"PY RECORD".to_vec())
}

/// C's `%lf`: six decimals, `inf`/`-inf`/`nan`.
pub fn format_lf(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{f:.6}")
}

#[cfg(test)]
mod tests {
    use super::format_lf;

    #[test]
    fn lf_like_printf() {
        assert_eq!(format_lf(1.5), "1.500000");
        assert_eq!(format_lf(2.0), "2.000000");
        assert_eq!(format_lf(1e20), "100000000000000000000.000000");
        assert_eq!(format_lf(f64::INFINITY), "inf");
    }
}
