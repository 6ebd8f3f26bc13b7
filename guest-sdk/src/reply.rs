//! [`Reply`]: a Redis reply with its RESP type, and its pre-order encoding.

use crate::value::{DecodeError, decode_tree, len_u32};
use crate::{ReplyNode, Value};

/// A Redis reply, keeping its RESP type.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A nil bulk string or nil array.
    Nil,
    /// `:n`
    Int(i64),
    /// `,d` (RESP3 double).
    Double(f64),
    /// `#t` / `#f`
    Bool(bool),
    /// `+text`
    Status(String),
    /// `-text`, with its code (`ERR ...`, `WRONGTYPE ...`).
    Error(String),
    /// `$bytes`
    Bulk(Vec<u8>),
    /// `*n`
    Array(Vec<Reply>),
}

impl Reply {
    /// Decodes a WIT `reply` (one tree in pre-order), refusing malformed trees.
    pub fn decode(nodes: &[ReplyNode]) -> Result<Reply, DecodeError> {
        decode_tree(
            nodes,
            |n| {
                Ok(match n {
                    ReplyNode::Nil => Reply::Nil,
                    ReplyNode::Integer(i) => Reply::Int(*i),
                    ReplyNode::Double(d) => Reply::Double(*d),
                    ReplyNode::Boolean(b) => Reply::Bool(*b),
                    ReplyNode::Status(s) => Reply::Status(s.clone()),
                    ReplyNode::Error(s) => Reply::Error(s.clone()),
                    ReplyNode::Bulk(b) => Reply::Bulk(b.clone()),
                    ReplyNode::Array(n) => return Err((false, *n as usize)),
                })
            },
            Reply::Array,
            // reply trees have no maps: `leaf` never asks for one
            |entries| Reply::Array(entries.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        )
    }

    /// Encodes this reply as a WIT `reply` (pre-order, no recursion).
    pub fn encode(&self) -> Vec<ReplyNode> {
        let mut out = Vec::new();
        let mut todo = vec![self];
        while let Some(r) = todo.pop() {
            out.push(match r {
                Reply::Nil => ReplyNode::Nil,
                Reply::Int(i) => ReplyNode::Integer(*i),
                Reply::Double(d) => ReplyNode::Double(*d),
                Reply::Bool(b) => ReplyNode::Boolean(*b),
                Reply::Status(s) => ReplyNode::Status(s.clone()),
                Reply::Error(s) => ReplyNode::Error(s.clone()),
                Reply::Bulk(b) => ReplyNode::Bulk(b.clone()),
                Reply::Array(items) => {
                    todo.extend(items.iter().rev());
                    ReplyNode::Array(len_u32(items.len()))
                }
            });
        }
        out
    }

    /// The bytes of a bulk string or status.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) => Some(b),
            Reply::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// A bulk string or status as text (bulk strings must be UTF-8).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Reply::Bulk(b) => std::str::from_utf8(b).ok(),
            Reply::Status(s) => Some(s),
            _ => None,
        }
    }

    /// An integer reply, or a bulk string holding one (`GET` of a counter).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(i) => Some(*i),
            Reply::Bulk(_) => self.as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// A double reply, or a bulk string / integer holding a number (`ZSCORE`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Reply::Double(d) => Some(*d),
            Reply::Int(i) => Some(*i as f64),
            Reply::Bulk(_) => self.as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// The elements of an array reply.
    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is a nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil)
    }

    /// The error text of an error reply.
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Reply> for Value {
    /// What RedisGears' Python `execute()` returns for a reply: bulk strings become text when
    /// UTF-8 (else bytes), statuses text, nil `None`, arrays lists; an error becomes its text.
    fn from(r: Reply) -> Value {
        match r {
            Reply::Nil => Value::Null,
            Reply::Int(i) => Value::Int(i),
            Reply::Double(d) => Value::Float(d),
            Reply::Bool(b) => Value::Bool(b),
            Reply::Status(s) | Reply::Error(s) => Value::Text(s),
            Reply::Bulk(b) => match String::from_utf8(b) {
                Ok(s) => Value::Text(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
            Reply::Array(items) => Value::List(items.into_iter().map(Value::from).collect()),
        }
    }
}
