//! Neutral records and replies: what crosses between the engine, the keyspace and runtimes.

/// A record as readers produce it, before a runtime turns it into its own objects.
/// Bytes become a Python `str` when they are UTF-8 (else `bytearray`).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// None.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Record>),
    /// A map with string keys, in insertion order.
    Map(Vec<(String, Record)>),
}

impl Record {
    /// A byte-string record.
    pub fn bytes(b: impl AsRef<[u8]>) -> Record {
        Record::Bytes(b.as_ref().to_vec())
    }
}

/// A reply value: what an execution's results and a host command's replies are made of.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyValue {
    /// Nil.
    Nil,
    /// Integer.
    Int(i64),
    /// Double.
    Double(f64),
    /// Boolean.
    Bool(bool),
    /// Status string.
    Status(Vec<u8>),
    /// Bulk string.
    Bulk(Vec<u8>),
    /// Error (the full text, e.g. `ERR ...`).
    Error(String),
    /// Array.
    Array(Vec<ReplyValue>),
}
