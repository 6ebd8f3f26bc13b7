//! [`Value`]: a record, and its pre-order encoding as WIT `data`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Index;

use crate::Node;

/// Containers nested deeper than this are refused by the decoders (Python refuses far less).
pub const MAX_DEPTH: usize = 1024;

/// A record: what readers produce and steps pass on (Python's `None`, `bool`, `int`, `float`,
/// `str`/`bytes`, `list`, `dict`).
///
/// Maps keep their insertion order, as Python dicts do. Readers give Redis keys and values as
/// [`Value::Bytes`]; the accessors ([`Value::as_str`], [`Value::get`]) treat UTF-8 bytes and
/// text alike, as Python would see both as `str`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `None`.
    #[default]
    Null,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// An integer that does not, in decimal.
    BigInt(String),
    /// A double.
    Float(f64),
    /// A byte string (Redis keys and values).
    Bytes(Vec<u8>),
    /// Text.
    Text(String),
    /// A list.
    List(Vec<Value>),
    /// A map (a dict), in insertion order.
    Map(Vec<(Value, Value)>),
}

/// Why a `data` or `reply` node list is not one well-formed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The list has no node at all.
    Empty,
    /// A container announces more children than the list holds.
    Truncated {
        /// Index of the container node.
        at: usize,
    },
    /// Nodes are left after the tree ended.
    Trailing {
        /// Index of the first node left over.
        at: usize,
    },
    /// Containers nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("malformed tree: no node"),
            DecodeError::Truncated { at } => {
                write!(
                    f,
                    "malformed tree: the container at node {at} overruns the list"
                )
            }
            DecodeError::Trailing { at } => {
                write!(
                    f,
                    "malformed tree: {at} nodes form a tree, more nodes follow"
                )
            }
            DecodeError::TooDeep => write!(f, "malformed tree: nested deeper than {MAX_DEPTH}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A container being filled while a pre-order list is decoded.
pub(crate) enum Frame<T> {
    /// A list: its items so far and how many are still to come.
    List(Vec<T>, usize),
    /// A map: its entries so far, a key waiting for its value, entries still to come.
    Map(Vec<(T, T)>, Option<T>, usize),
}

/// An open container: where it starts and what it holds so far.
struct Open<T> {
    at: usize,
    frame: Frame<T>,
}

/// Shared pre-order decoder: `leaf` turns a node into a finished value or says it is a container
/// (`Err((is_map, n))`); `list`/`map` build containers.
pub(crate) fn decode_tree<N, T>(
    nodes: &[N],
    leaf: impl Fn(&N) -> Result<T, (bool, usize)>,
    list: impl Fn(Vec<T>) -> T,
    map: impl Fn(Vec<(T, T)>) -> T,
) -> Result<T, DecodeError> {
    if nodes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut stack: Vec<Open<T>> = Vec::new();
    let mut pos = 0;
    loop {
        let Some(node) = nodes.get(pos) else {
            let at = stack.last().map_or(0, |o| o.at);
            return Err(DecodeError::Truncated { at });
        };
        let at = pos;
        pos += 1;
        let left = nodes.len() - pos;
        let mut done = match leaf(node) {
            Ok(v) => v,
            Err((is_map, n)) => {
                let needed = if is_map { n.saturating_mul(2) } else { n };
                if needed > left {
                    return Err(DecodeError::Truncated { at });
                }
                if n == 0 {
                    if is_map {
                        map(Vec::new())
                    } else {
                        list(Vec::new())
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(DecodeError::TooDeep);
                    }
                    let frame = if is_map {
                        Frame::Map(Vec::with_capacity(n), None, n)
                    } else {
                        Frame::List(Vec::with_capacity(n), n)
                    };
                    stack.push(Open { at, frame });
                    continue;
                }
            }
        };
        // Attach the finished value to its parents, closing every container it completes.
        loop {
            match stack.last_mut().map(|o| &mut o.frame) {
                None => {
                    if pos != nodes.len() {
                        return Err(DecodeError::Trailing { at: pos });
                    }
                    return Ok(done);
                }
                Some(Frame::List(items, rem)) => {
                    items.push(done);
                    *rem -= 1;
                    if *rem > 0 {
                        break;
                    }
                    let Some(Open {
                        frame: Frame::List(items, _),
                        ..
                    }) = stack.pop()
                    else {
                        unreachable!("the top frame is a list")
                    };
                    done = list(items);
                }
                Some(Frame::Map(entries, pending, rem)) => match pending.take() {
                    None => {
                        *pending = Some(done);
                        break;
                    }
                    Some(k) => {
                        entries.push((k, done));
                        *rem -= 1;
                        if *rem > 0 {
                            break;
                        }
                        let Some(Open {
                            frame: Frame::Map(entries, _, _),
                            ..
                        }) = stack.pop()
                        else {
                            unreachable!("the top frame is a map")
                        };
                        done = map(entries);
                    }
                },
            }
        }
    }
}

impl Value {
    /// Encodes this tree as WIT `data`: its nodes in pre-order.
    pub fn encode(&self) -> Vec<Node> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends this tree's nodes in pre-order to `out` (no recursion: any depth is fine).
    pub fn encode_into(&self, out: &mut Vec<Node>) {
        let mut todo: Vec<&Value> = vec![self];
        while let Some(v) = todo.pop() {
            out.push(match v {
                Value::Null => Node::Null,
                Value::Bool(b) => Node::Boolean(*b),
                Value::Int(i) => Node::Integer(*i),
                Value::BigInt(s) => Node::BigInteger(s.clone()),
                Value::Float(f) => Node::Float(*f),
                Value::Bytes(b) => Node::Bytes(b.clone()),
                Value::Text(s) => Node::Text(s.clone()),
                Value::List(items) => {
                    todo.extend(items.iter().rev());
                    Node::List(len_u32(items.len()))
                }
                Value::Map(entries) => {
                    for (k, v) in entries.iter().rev() {
                        todo.push(v);
                        todo.push(k);
                    }
                    Node::Map(len_u32(entries.len()))
                }
            });
        }
    }

    /// Decodes WIT `data` (one tree in pre-order). Refuses an empty list, counts that overrun
    /// the list, nodes left over and nesting deeper than [`MAX_DEPTH`].
    pub fn decode(nodes: &[Node]) -> Result<Value, DecodeError> {
        decode_tree(
            nodes,
            |n| {
                Ok(match n {
                    Node::Null => Value::Null,
                    Node::Boolean(b) => Value::Bool(*b),
                    Node::Integer(i) => Value::Int(*i),
                    Node::BigInteger(s) => Value::BigInt(s.clone()),
                    Node::Float(f) => Value::Float(*f),
                    Node::Bytes(b) => Value::Bytes(b.clone()),
                    Node::Text(s) => Value::Text(s.clone()),
                    Node::List(n) => return Err((false, *n as usize)),
                    Node::Map(n) => return Err((true, *n as usize)),
                })
            },
            Value::List,
            Value::Map,
        )
    }

    /// A map from `(key, value)` pairs, in order: `Value::map([("key", k), ("value", v)])`.
    pub fn map<K: IntoValue, V: IntoValue>(entries: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }

    /// A list of values.
    pub fn list<T: IntoValue>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(IntoValue::into_value).collect())
    }

    /// Text, or bytes that are valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes of a byte string or text.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Text(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// An integer (booleans count as 0 and 1, as in Python), or a string holding one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Text(_) | Value::Bytes(_) => self.as_str()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// A number as a double (like Python's `float(x)`: strings holding a number count).
    pub fn as_f64(&self) -> Option<f64> {
        crate::py::to_float(self).ok()
    }

    /// The elements of a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value of map entry `key` (a text or byte-string key with these bytes).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Mutable access to map entry `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Removes map entry `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match self {
            Value::Map(entries) => {
                let i = entries
                    .iter()
                    .position(|(k, _)| k.as_bytes() == Some(key.as_bytes()))?;
                Some(entries.remove(i).1)
            }
            _ => None,
        }
    }

    /// Sets map entry `key` (replacing its value, or appending it); turns `Null` into a map.
    pub fn insert(&mut self, key: impl IntoValue, value: impl IntoValue) {
        if self.is_null() {
            *self = Value::Map(Vec::new());
        }
        if let Value::Map(entries) = self {
            let key = key.into_value();
            let value = value.into_value();
            match entries.iter_mut().find(|(k, _)| crate::py::eq(k, &key)) {
                Some((_, v)) => *v = value,
                None => entries.push((key, value)),
            }
        }
    }

    /// Python truthiness: `None`, `False`, `0`, `0.0`, empty strings and containers are false.
    pub fn is_truthy(&self) -> bool {
        crate::py::truthy(self)
    }

    /// Python's `str(x)` of this value (`{'key': 'a', 'value': 3}`, `1.5`, `None`): what
    /// RedisGears' `convertToStr` gives.
    pub fn py_str(&self) -> String {
        crate::pyfmt::py_str(self)
    }

    /// Python's `repr(x)` of this value.
    pub fn py_repr(&self) -> String {
        crate::pyfmt::py_repr(self)
    }

    /// The text of a string value (bytes decoded lossily), or Python's `str()` of anything else.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => other.py_str(),
        }
    }
}

pub(crate) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("a container of more than 4G elements cannot be encoded")
}

static NULL: Value = Value::Null;

impl Index<&str> for Value {
    type Output = Value;
    /// `r["key"]`: the map entry, or `Null` when absent (never panics).
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl Index<usize> for Value {
    type Output = Value;
    /// `r[0]`: the list element, or `Null` when absent (never panics).
    fn index(&self, i: usize) -> &Value {
        self.as_list().and_then(|l| l.get(i)).unwrap_or(&NULL)
    }
}

impl fmt::Display for Value {
    /// Python's `str()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.py_str())
    }
}

/// Anything that can become a [`Value`]; what callbacks may return.
pub trait IntoValue {
    /// The value.
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl IntoValue for &Value {
    fn into_value(self) -> Value {
        self.clone()
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

macro_rules! int_into_value {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(i64::from(self))
            }
        }
    )*};
}
int_into_value!(i8, i16, i32, i64, u16, u32);

macro_rules! wide_int_into_value {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(self.to_string()),
                }
            }
        }
    )*};
}
wide_int_into_value!(u64, usize, isize, i128, u128);

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(f64::from(self))
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl IntoValue for &String {
    fn into_value(self) -> Value {
        Value::Text(self.clone())
    }
}

impl IntoValue for &[u8] {
    fn into_value(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl<const N: usize> IntoValue for &[u8; N] {
    fn into_value(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl IntoValue for Vec<u8> {
    fn into_value(self) -> Value {
        Value::Bytes(self)
    }
}

/// A list (`Vec<u8>` is a byte string instead).
impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}

impl<A: IntoValue, B: IntoValue> IntoValue for (A, B) {
    fn into_value(self) -> Value {
        Value::List(vec![self.0.into_value(), self.1.into_value()])
    }
}

impl<A: IntoValue, B: IntoValue, C: IntoValue> IntoValue for (A, B, C) {
    fn into_value(self) -> Value {
        Value::List(vec![
            self.0.into_value(),
            self.1.into_value(),
            self.2.into_value(),
        ])
    }
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self) -> Value {
        Value::map(self)
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn into_value(self) -> Value {
        Value::map(self)
    }
}

impl IntoValue for crate::Reply {
    fn into_value(self) -> Value {
        self.into()
    }
}

macro_rules! from_via_into_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                v.into_value()
            }
        }
    )*};
}
from_via_into_value!(
    bool,
    i32,
    i64,
    u32,
    u64,
    usize,
    f64,
    String,
    &str,
    Vec<u8>,
    &[u8],
    Vec<Value>
);
