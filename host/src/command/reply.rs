//! [`Reply`]: what a handler returns. A RESP3 superset with no I/O; the codec lowers it to RESP2
//! or RESP3 bytes for the client's protocol.

use std::borrow::Cow;

use bytes::Bytes;

use super::blocking::Pending;

/// Formats a double as Redis 7.0's `%.17g` (RESP2 double replies).
pub use crate::keyspace::string::format_f64_g17 as format_double;

/// A command reply.
#[derive(Debug)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple (status) string, `+<text>`.
    Simple(Cow<'static, str>),
    /// An error inside an aggregate (EXEC results): the full wire text, `ERR ...`.
    Error(Cow<'static, str>),
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Bytes),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Null,
    /// The null array (`*-1` in RESP2, `_` in RESP3): BLPOP timeouts, aborted EXEC.
    NullArray,
    /// A double: a bulk string formatted with `%.17g` in RESP2, `,` in RESP3.
    Double(f64),
    /// A boolean: `:1`/`:0` in RESP2, `#t`/`#f` in RESP3.
    Bool(bool),
    /// An array.
    Array(Vec<Reply>),
    /// A map: a flat array of key, value in RESP2, `%` in RESP3.
    Map(Vec<(Reply, Reply)>),
    /// A set: an array in RESP2, `~` in RESP3.
    Set(Vec<Reply>),
    /// Out-of-band data (pub/sub messages): an array in RESP2, `>` in RESP3.
    Push(Vec<Reply>),
    /// A verbatim string with its three-letter format (`txt`): a bulk string in RESP2.
    Verbatim(&'static str, Bytes),
    /// Several replies in a row for one command (SUBSCRIBE with several channels).
    Many(Vec<Reply>),
    /// No reply at all (a subscribe command with no channels, QUIT handled by the connection).
    NoReply,
    /// The client blocks; the connection waits for the value outside the keyspace lock.
    Wait(Pending),
}

impl Reply {
    /// A bulk string copied from bytes.
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A bulk string from an owned buffer (no copy).
    pub fn bulk_vec(v: Vec<u8>) -> Reply {
        Reply::Bulk(Bytes::from(v))
    }

    /// A bulk string holding a decimal integer.
    pub fn bulk_int(n: i64) -> Reply {
        Reply::bulk(itoa::Buffer::new().format(n))
    }

    /// A bulk string or null.
    pub fn bulk_or_null<B: AsRef<[u8]>>(b: Option<B>) -> Reply {
        b.map_or(Reply::Null, Reply::bulk)
    }

    /// A status reply from static text.
    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Reply::Array(items.into_iter().map(Reply::bulk).collect())
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<i64> for Reply {
    fn from(n: i64) -> Self {
        Reply::Int(n)
    }
}

impl From<usize> for Reply {
    fn from(n: usize) -> Self {
        Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Reply {
    /// Redis's integer booleans (`:1`/`:0`), which stay integers in RESP3 too.
    fn from(b: bool) -> Self {
        Reply::Int(i64::from(b))
    }
}
