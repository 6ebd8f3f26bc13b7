//! Python semantics on [`Value`]s, used by the compositions so they give the same results as
//! RedisGears' `gearsbuilder.py`: truthiness, `+`, `/`, `==`, `<`, `float()`.
//!
//! Byte strings and text are both Python `str` here (RedisGears gives UTF-8 values as `str`):
//! they compare and concatenate by their bytes.

use std::cmp::Ordering;

use crate::{Failure, Value};

/// Python's type name of a value, for error texts.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::BigInt(_) => "int",
        Value::Float(_) => "float",
        Value::Text(_) => "str",
        Value::Bytes(b) => {
            if std::str::from_utf8(b).is_ok() {
                "str"
            } else {
                "bytes"
            }
        }
        Value::List(_) => "list",
        Value::Map(_) => "dict",
    }
}

/// `bool(v)`.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::BigInt(s) => !s
            .trim_start_matches(['-', '+'])
            .trim_start_matches('0')
            .is_empty(),
        Value::Float(f) => *f != 0.0,
        Value::Bytes(b) => !b.is_empty(),
        Value::Text(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
    }
}

/// A number, exactly when it is an integer.
enum Num {
    Int(i128),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(i128::from(*b))),
        Value::Int(i) => Some(Num::Int(i128::from(*i))),
        Value::BigInt(s) => match s.parse::<i128>() {
            Ok(i) => Some(Num::Int(i)),
            Err(_) => s.parse::<f64>().ok().map(Num::Float),
        },
        Value::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn int_value(i: i128) -> Value {
    match i64::try_from(i) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::BigInt(i.to_string()),
    }
}

fn as_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
    }
}

fn type_error(op: &str, a: &Value, b: &Value) -> Failure {
    Failure::Error(format!(
        "TypeError: unsupported operand type(s) for {op}: '{}' and '{}'",
        type_name(a),
        type_name(b)
    ))
}

/// `a + b`: numbers, strings (concatenated), lists (concatenated).
pub fn add(a: &Value, b: &Value) -> Result<Value, Failure> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(match (x, y) {
            (Num::Int(x), Num::Int(y)) => match x.checked_add(y) {
                Some(s) => int_value(s),
                None => Value::Float(x as f64 + y as f64),
            },
            (x, y) => Value::Float(as_f64(&x) + as_f64(&y)),
        });
    }
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => Ok(Value::Text(format!("{x}{y}"))),
        (Value::Text(_) | Value::Bytes(_), Value::Text(_) | Value::Bytes(_)) => {
            let mut out = a.as_bytes().unwrap_or_default().to_vec();
            out.extend_from_slice(b.as_bytes().unwrap_or_default());
            Ok(Value::Bytes(out))
        }
        (Value::List(x), Value::List(y)) => {
            let mut out = Vec::with_capacity(x.len() + y.len());
            out.extend(x.iter().cloned());
            out.extend(y.iter().cloned());
            Ok(Value::List(out))
        }
        _ => Err(type_error("+", a, b)),
    }
}

/// `a / b` (true division).
pub fn div(a: &Value, b: &Value) -> Result<Value, Failure> {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => {
            let y = as_f64(&y);
            if y == 0.0 {
                return Err(Failure::error("ZeroDivisionError: division by zero"));
            }
            Ok(Value::Float(as_f64(&x) / y))
        }
        _ => Err(type_error("/", a, b)),
    }
}

/// `float(v)`.
pub fn to_float(v: &Value) -> Result<f64, Failure> {
    if let Some(n) = num(v) {
        return Ok(as_f64(&n));
    }
    match v.as_str() {
        Some(s) => parse_float(s).ok_or_else(|| {
            Failure::Error(format!(
                "ValueError: could not convert string to float: {}",
                crate::pyfmt::py_repr(&Value::Text(s.to_owned()))
            ))
        }),
        None => Err(Failure::Error(format!(
            "TypeError: float() argument must be a string or a real number, not '{}'",
            type_name(v)
        ))),
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let negative = lower.starts_with('-');
    let special = match unsigned {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(x) = special {
        return Some(if negative { -x } else { x });
    }
    // Python accepts `1_000.5`; Rust's parser does not know `_`, nor `inf` spellings above.
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// `int(v)`: integers as they are, floats truncated, strings parsed (base 10, surrounding
/// whitespace and `_` between digits allowed).
pub fn to_int(v: &Value) -> Result<Value, Failure> {
    match v {
        Value::Int(_) | Value::BigInt(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        Value::Float(f) if f.is_nan() => Err(Failure::error(
            "ValueError: cannot convert float NaN to integer",
        )),
        Value::Float(f) if f.is_infinite() => Err(Failure::error(
            "OverflowError: cannot convert float infinity to integer",
        )),
        Value::Float(f) => Ok(int_value(f.trunc() as i128)),
        _ => match v.as_str() {
            Some(s) => parse_int(s).ok_or_else(|| {
                Failure::Error(format!(
                    "ValueError: invalid literal for int() with base 10: {}",
                    crate::pyfmt::py_repr(&Value::Text(s.to_owned()))
                ))
            }),
            None => Err(Failure::Error(format!(
                "TypeError: int() argument must be a string, a bytes-like object or a real number, not '{}'",
                type_name(v)
            ))),
        },
    }
}

fn parse_int(s: &str) -> Option<Value> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let trimmed = digits.trim_start_matches('0');
    let text = if trimmed.is_empty() {
        "0".to_owned()
    } else {
        format!("{}{trimmed}", if neg { "-" } else { "" })
    };
    Some(match text.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::BigInt(text),
    })
}

/// `a == b`.
pub fn eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return match (x, y) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (x, y) => as_f64(&x) == as_f64(&y),
        };
    }
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Text(_) | Value::Bytes(_), Value::Text(_) | Value::Bytes(_)) => {
            a.as_bytes() == b.as_bytes()
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| eq(k, k2) && eq(v, v2)))
        }
        _ => false,
    }
}

/// `a < b` as an ordering, or Python's TypeError for values that do not compare.
pub fn cmp(a: &Value, b: &Value) -> Result<Ordering, Failure> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(match (x, y) {
            (Num::Int(x), Num::Int(y)) => x.cmp(&y),
            (x, y) => as_f64(&x)
                .partial_cmp(&as_f64(&y))
                .unwrap_or(Ordering::Equal),
        });
    }
    match (a, b) {
        (Value::Text(_) | Value::Bytes(_), Value::Text(_) | Value::Bytes(_)) => {
            Ok(a.as_bytes().cmp(&b.as_bytes()))
        }
        (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !eq(p, q) {
                    return cmp(p, q);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => Err(Failure::Error(format!(
            "TypeError: '<' not supported between instances of '{}' and '{}'",
            type_name(a),
            type_name(b)
        ))),
    }
}

/// `sorted(items, reverse=reverse)`: a stable sort; equal items keep their order either way.
pub fn sorted(mut items: Vec<Value>, reverse: bool) -> Result<Vec<Value>, Failure> {
    let mut failure = None;
    items.sort_by(|a, b| {
        let (x, y) = if reverse { (b, a) } else { (a, b) };
        cmp(x, y).unwrap_or_else(|f| {
            failure.get_or_insert(f);
            Ordering::Equal
        })
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(items),
    }
}

/// Appends `v` to the list `set` unless an equal value is there (Python's `s | {v}` on a
/// set kept as a list in first-seen order).
pub fn set_add(set: &mut Vec<Value>, v: Value) -> Result<(), Failure> {
    if matches!(v, Value::List(_) | Value::Map(_)) {
        return Err(Failure::Error(format!(
            "TypeError: unhashable type: '{}'",
            type_name(&v)
        )));
    }
    if !set.iter().any(|x| eq(x, &v)) {
        set.push(v);
    }
    Ok(())
}
