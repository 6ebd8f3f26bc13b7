//! The value types a key can hold, and the encodings `OBJECT ENCODING` reports for them.

use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::string::StrValue;
use super::zset::ZSetValue;

/// A value stored under a key.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (also bitmaps and counters).
    Str(StrValue),
    /// A list.
    List(ListValue),
    /// A hash.
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
    /// A stream.
    Stream(Box<StreamValue>),
}

/// The `*-max-listpack-*` / `set-max-intset-entries` thresholds that decide which compact
/// encoding Redis would pick; `OBJECT ENCODING` reports what Redis would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`.
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size` (negative: a size class in KB, as in Redis).
    pub list_max_listpack_size: i64,
    /// `stream-node-max-bytes`.
    pub stream_node_max_bytes: usize,
    /// `stream-node-max-entries`.
    pub stream_node_max_entries: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
        }
    }
}

/// The type of a value, as `TYPE` and `SCAN TYPE` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `string`
    Str,
    /// `list`
    List,
    /// `hash`
    Hash,
    /// `set`
    Set,
    /// `zset`
    ZSet,
    /// `stream`
    Stream,
}

impl ValueType {
    /// The name `TYPE` replies with.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Str => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Stream => "stream",
        }
    }

    /// Parses a type name (case-insensitive), as `SCAN ... TYPE` accepts it.
    pub fn parse(name: &[u8]) -> Option<Self> {
        let t = match name.to_ascii_lowercase().as_slice() {
            b"string" => ValueType::Str,
            b"list" => ValueType::List,
            b"hash" => ValueType::Hash,
            b"set" => ValueType::Set,
            b"zset" => ValueType::ZSet,
            b"stream" => ValueType::Stream,
            _ => return None,
        };
        Some(t)
    }
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::Str,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::Stream(_) => ValueType::Stream,
        }
    }

    /// The encoding Redis 7.0 would report for this value.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// An estimate of the heap bytes the value uses (MEMORY USAGE).
    pub fn approx_size(&self) -> usize {
        const ELEM: usize = 24;
        match self {
            Value::Str(s) => s.len() + 8,
            Value::List(l) => l.items.iter().map(|i| i.len() + ELEM).sum::<usize>() + 32,
            Value::Hash(h) => {
                h.map
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 2 * ELEM)
                    .sum::<usize>()
                    + 64
            }
            Value::Set(s) => s.members.iter().map(|m| m.len() + ELEM).sum::<usize>() + 64,
            Value::ZSet(z) => {
                z.slots()
                    .map(|(m, _)| 2 * m.len() + 3 * ELEM)
                    .sum::<usize>()
                    + 96
            }
            Value::Stream(s) => std::mem::size_of_val(&**s) + s.approx_entries_size(),
        }
    }

    /// Whether a collection became empty (Redis deletes empty collections).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) | Value::Stream(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// Re-checks the compact-encoding thresholds after a write (encodings only ever grow, as in
    /// Redis).
    pub fn update_encoding(&mut self, t: &Thresholds) {
        match self {
            Value::Hash(h) => h.update_encoding(t),
            Value::Set(s) => s.update_encoding(t),
            Value::ZSet(z) => z.update_encoding(t),
            Value::Str(_) | Value::List(_) | Value::Stream(_) => {}
        }
    }
}
