//! Encodings at the wasm boundary (see `wit/gears.wit`, "Encodings"): neutral [`Record`]s to
//! `data` trees, `data` trees to replies, server replies to `reply` trees, and the checks every
//! tree from a guest goes through (counts that overrun or leave nodes over, nesting depth).

use crate::runtime::{Record, ReplyValue};

use super::bindings::gears::function::types::{Data, ReplyNode, Value};

/// How deep a guest's tree may nest (deeper trees are refused: the host converts them
/// recursively).
pub const MAX_DEPTH: usize = 256;

/// Appends the tree of `r` to `out`.
pub fn push_record(out: &mut Data, r: Record) {
    match r {
        Record::Null => out.push(Value::Null),
        Record::Bool(b) => out.push(Value::Boolean(b)),
        Record::Int(n) => out.push(Value::Integer(n)),
        Record::Float(f) => out.push(Value::Float(f)),
        Record::Bytes(b) => out.push(Value::Bytes(b)),
        Record::List(items) => {
            out.push(Value::List(count(items.len())));
            for i in items {
                push_record(out, i);
            }
        }
        Record::Map(pairs) => {
            out.push(Value::Map(count(pairs.len())));
            for (k, v) in pairs {
                out.push(Value::Text(k));
                push_record(out, v);
            }
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A record as one `data` tree.
pub fn record(r: Record) -> Data {
    let mut out = Vec::new();
    push_record(&mut out, r);
    out
}

/// The index just past the tree starting at `start`.
///
/// # Errors
/// When the counts overrun the list or the tree nests deeper than [`MAX_DEPTH`].
pub fn tree_end(data: &[Value], start: usize) -> Result<usize, String> {
    // Children still expected at each open level.
    let mut open: Vec<u64> = vec![1];
    let mut i = start;
    while let Some(top) = open.last_mut() {
        if *top == 0 {
            open.pop();
            continue;
        }
        *top -= 1;
        let node = data
            .get(i)
            .ok_or_else(|| "its counts overrun the list".to_string())?;
        i += 1;
        let children = match node {
            Value::List(n) => u64::from(*n),
            Value::Map(n) => 2 * u64::from(*n),
            _ => 0,
        };
        if children > 0 {
            if open.len() >= MAX_DEPTH {
                return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
            }
            open.push(children);
        }
    }
    Ok(i)
}

/// Checks that `data` is exactly one tree.
///
/// # Errors
/// The problem, in words.
pub fn check(data: &[Value]) -> Result<(), String> {
    if data.is_empty() {
        return Err("it is empty".into());
    }
    let end = tree_end(data, 0)?;
    if end != data.len() {
        return Err(format!("it leaves {} nodes over", data.len() - end));
    }
    Ok(())
}

/// C's `%lf`, as RedisGears formats Python floats in replies.
pub fn format_lf(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:.6}")
    }
}

/// A checked tree as a reply (`wit/gears.wit`: "Replies"): bytes and text → bulk, integers
/// and booleans → integer, big integers → bulk decimal, floats → bulk `%lf`, null → nil, list →
/// array, map → flat array of key, value.
pub fn to_reply(data: &[Value]) -> ReplyValue {
    let mut i = 0;
    reply_at(data, &mut i)
}

fn reply_at(data: &[Value], i: &mut usize) -> ReplyValue {
    let Some(node) = data.get(*i) else {
        return ReplyValue::Nil;
    };
    *i += 1;
    match node {
        Value::Null => ReplyValue::Nil,
        Value::Boolean(b) => ReplyValue::Int(i64::from(*b)),
        Value::Integer(n) => ReplyValue::Int(*n),
        Value::BigInteger(s) => ReplyValue::Bulk(s.clone().into_bytes()),
        Value::Float(f) => ReplyValue::Bulk(format_lf(*f).into_bytes()),
        Value::Bytes(b) => ReplyValue::Bulk(b.clone()),
        Value::Text(t) => ReplyValue::Bulk(t.clone().into_bytes()),
        Value::List(n) => {
            let n = *n as usize;
            let mut items = Vec::with_capacity(n.min(data.len()));
            for _ in 0..n {
                items.push(reply_at(data, i));
            }
            ReplyValue::Array(items)
        }
        Value::Map(n) => {
            let n = (*n as usize).saturating_mul(2);
            let mut items = Vec::with_capacity(n.min(data.len()));
            for _ in 0..n {
                items.push(reply_at(data, i));
            }
            ReplyValue::Array(items)
        }
    }
}

/// A server reply as a `reply` tree (pre-order).
pub fn reply_nodes(r: &ReplyValue) -> Vec<ReplyNode> {
    let mut out = Vec::new();
    push_reply(&mut out, r);
    out
}

fn push_reply(out: &mut Vec<ReplyNode>, r: &ReplyValue) {
    match r {
        ReplyValue::Nil => out.push(ReplyNode::Nil),
        ReplyValue::Int(n) => out.push(ReplyNode::Integer(*n)),
        ReplyValue::Double(d) => out.push(ReplyNode::Double(*d)),
        ReplyValue::Bool(b) => out.push(ReplyNode::Boolean(*b)),
        ReplyValue::Status(s) => {
            out.push(ReplyNode::Status(String::from_utf8_lossy(s).into_owned()))
        }
        ReplyValue::Error(e) => out.push(ReplyNode::Error(e.clone())),
        ReplyValue::Bulk(b) => out.push(ReplyNode::Bulk(b.clone())),
        ReplyValue::Array(items) => {
            out.push(ReplyNode::Array(count(items.len())));
            for i in items {
                push_reply(out, i);
            }
        }
    }
}

/// Python's truthiness of a checked tree (`filter`).
pub fn truthy(data: &[Value]) -> bool {
    match data.first() {
        None | Some(Value::Null) => false,
        Some(Value::Boolean(b)) => *b,
        Some(Value::Integer(n)) => *n != 0,
        Some(Value::BigInteger(s)) => !s.trim_start_matches(['-', '+', '0']).is_empty(),
        Some(Value::Float(f)) => *f != 0.0,
        Some(Value::Bytes(b)) => !b.is_empty(),
        Some(Value::Text(t)) => !t.is_empty(),
        Some(Value::List(n) | Value::Map(n)) => *n != 0,
    }
}

/// The text of a group key: text as is, bytes decoded (lossily), anything else as Python's
/// `str()` would print it.
pub fn key_text(data: &[Value]) -> String {
    let text = match data.first() {
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => {
            let mut s = String::new();
            let mut i = 0;
            py_str(data, &mut i, &mut s, false);
            s
        }
    };
    // Keys are C strings in RedisGears: a NUL byte ends them (as for Python).
    match text.find('\0') {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Python's `repr` of a float (shortest round-trip, always with a dot or exponent).
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn py_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn py_str(data: &[Value], i: &mut usize, out: &mut String, nested: bool) {
    let Some(node) = data.get(*i) else { return };
    *i += 1;
    match node {
        Value::Null => out.push_str("None"),
        Value::Boolean(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Integer(n) => out.push_str(&n.to_string()),
        Value::BigInteger(s) => out.push_str(s),
        Value::Float(f) => out.push_str(&py_float(*f)),
        Value::Text(t) if nested => out.push_str(&py_quote(t)),
        Value::Text(t) => out.push_str(t),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(t) if nested => out.push_str(&py_quote(t)),
            Ok(t) => out.push_str(t),
            Err(_) => {
                out.push_str("b'");
                for &c in b {
                    if c.is_ascii_graphic() && c != b'\'' && c != b'\\' || c == b' ' {
                        out.push(char::from(c));
                    } else {
                        out.push_str(&format!("\\x{c:02x}"));
                    }
                }
                out.push('\'');
            }
        },
        Value::List(n) => {
            out.push('[');
            for k in 0..*n {
                if k > 0 {
                    out.push_str(", ");
                }
                py_str(data, i, out, true);
            }
            out.push(']');
        }
        Value::Map(n) => {
            out.push('{');
            for k in 0..*n {
                if k > 0 {
                    out.push_str(", ");
                }
                py_str(data, i, out, true);
                out.push_str(": ");
                py_str(data, i, out, true);
            }
            out.push('}');
        }
    }
}

/// The `{'key': k, 'value': v}` record group steps emit.
pub fn key_value(key: &str, value: Data) -> Data {
    let mut out = Vec::with_capacity(value.len() + 5);
    out.push(Value::Map(2));
    out.push(Value::Text("key".into()));
    out.push(Value::Text(key.into()));
    out.push(Value::Text("value".into()));
    out.extend(value);
    out
}

/// A list of records as one tree (batchgroupby's reducer argument).
pub fn list_of(records: Vec<Data>) -> Data {
    let mut out = Vec::with_capacity(records.iter().map(Vec::len).sum::<usize>() + 1);
    out.push(Value::List(count(records.len())));
    for r in records {
        out.extend(r);
    }
    out
}

/// The elements of a list tree (flatmap of a list); any other tree is one element.
pub fn elements(data: Data) -> Vec<Data> {
    let Some(Value::List(n)) = data.first() else {
        return vec![data];
    };
    let n = *n as usize;
    let mut out = Vec::with_capacity(n.min(data.len()));
    let mut start = 1;
    for _ in 0..n {
        let Ok(end) = tree_end(&data, start) else {
            break;
        };
        out.push(data[start..end].to_vec());
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_are_checked() {
        assert!(check(&[Value::List(2), Value::Integer(1), Value::Integer(2)]).is_ok());
        assert!(check(&[Value::List(2), Value::Integer(1)]).is_err());
        assert!(check(&[Value::Integer(1), Value::Integer(2)]).is_err());
        assert!(check(&[]).is_err());
        let deep: Vec<Value> = std::iter::repeat_n(Value::List(1), MAX_DEPTH + 1)
            .chain([Value::Null])
            .collect();
        assert!(check(&deep).unwrap_err().contains("deeper"));
        assert!(check(&[Value::Map(u32::MAX)]).is_err());
    }

    #[test]
    fn replies_follow_the_documented_mapping() {
        let d = vec![
            Value::List(5),
            Value::Bytes(b"\xff".to_vec()),
            Value::Float(1.5),
            Value::Boolean(true),
            Value::Null,
            Value::Map(1),
            Value::Text("k".into()),
            Value::Integer(-3),
        ];
        assert_eq!(
            to_reply(&d),
            ReplyValue::Array(vec![
                ReplyValue::Bulk(vec![0xff]),
                ReplyValue::Bulk(b"1.500000".to_vec()),
                ReplyValue::Int(1),
                ReplyValue::Nil,
                ReplyValue::Array(vec![ReplyValue::Bulk(b"k".to_vec()), ReplyValue::Int(-3)]),
            ])
        );
    }

    #[test]
    fn records_round_trip_and_keys_read_like_python() {
        let r = Record::Map(vec![
            ("key".into(), Record::bytes("a")),
            (
                "value".into(),
                Record::List(vec![Record::Int(1), Record::Float(2.0)]),
            ),
        ]);
        let d = record(r);
        assert!(check(&d).is_ok());
        assert_eq!(key_text(&d), "{'key': 'a', 'value': [1, 2.0]}");
        assert_eq!(key_text(&[Value::Integer(7)]), "7");
        assert_eq!(key_text(&[Value::Text("a\0b".into())]), "a");
        assert_eq!(
            elements(vec![
                Value::List(2),
                Value::List(1),
                Value::Null,
                Value::Integer(1)
            ]),
            vec![vec![Value::List(1), Value::Null], vec![Value::Integer(1)]]
        );
    }
}
