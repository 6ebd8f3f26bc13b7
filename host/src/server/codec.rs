//! The wire codec: requests in (RESP multibulk and inline), replies out (RESP2 or RESP3).
//!
//! The only importer of `redis_protocol`. Requests are framed by `redis_protocol`'s zero-copy
//! range decoder; Redis's own request rules (only arrays of bulk strings, `proto-max-bulk-len`,
//! the 64 KB limit on header and inline lines, and its exact error texts) are checked by a small
//! incremental scanner, which also tells how many bytes an incomplete request still needs so a
//! large request is not re-parsed on every read. Inline commands (`PING\r\n` from telnet) are
//! split with Redis's `sdssplitargs` rules.

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::types::{BytesFrame as Frame2, RangeFrame};
use redis_protocol::resp3::types::{
    BytesFrame as Frame3, FrameMap, FrameSet, VerbatimStringFormat,
};
use smallvec::SmallVec;

use crate::command::reply::format_double;
use crate::command::{Protocol, Reply};

/// Longest header line or inline request Redis accepts (`PROTO_INLINE_MAX_SIZE`).
const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count Redis accepts.
const MAX_MULTIBULK: i64 = i32::MAX as i64;

/// A protocol error: Redis answers `-ERR Protocol error: ...` and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERR Protocol error: {0}")]
pub struct ProtocolError(pub String);

/// One decoded request.
#[derive(Debug)]
pub enum Request {
    /// A multibulk request: argument byte ranges relative to the decoded slice.
    Ranges(SmallVec<[(usize, usize); 8]>),
    /// An inline request, split into owned arguments.
    Inline(Vec<Vec<u8>>),
    /// An empty request (`*0`, a blank line): nothing to run.
    Empty,
}

/// Incremental request decoder state for one connection.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Bytes the pending request needs before it is worth decoding again.
    need: usize,
    scan: Scan,
}

#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    started: bool,
    pos: usize,
    count: i64,
    remaining: i64,
}

enum ScanOutcome {
    Complete,
    NeedMore(usize),
}

impl Decoder {
    /// Decodes the next request at the start of `buf`.
    ///
    /// Returns the request and the number of bytes it used, or `None` when `buf` holds only part
    /// of a request.
    ///
    /// # Errors
    /// A [`ProtocolError`] with Redis's text; the connection must be closed after replying.
    pub fn decode(
        &mut self,
        buf: &[u8],
        max_bulk: u64,
    ) -> Result<Option<(Request, usize)>, ProtocolError> {
        if buf.is_empty() || buf.len() < self.need {
            return Ok(None);
        }
        if buf[0] != b'*' {
            return decode_inline(buf);
        }
        match redis_protocol::resp2::decode::decode_range(buf) {
            Ok(Some((RangeFrame::Array(items), used))) => {
                let mut ranges = SmallVec::with_capacity(items.len());
                for item in &items {
                    match item {
                        RangeFrame::BulkString((s, e)) => {
                            if (e - s) as u64 > max_bulk {
                                return Err(ProtocolError("invalid bulk length".into()));
                            }
                            ranges.push((*s, *e));
                        }
                        // Anything but a bulk string: let the scanner name the offending byte.
                        _ => return Err(self.scan_error(buf, max_bulk)),
                    }
                }
                self.reset();
                if ranges.is_empty() {
                    return Ok(Some((Request::Empty, used)));
                }
                Ok(Some((Request::Ranges(ranges), used)))
            }
            // `*-1`: a null array, which Redis treats as an empty request.
            Ok(Some((RangeFrame::Null, used))) => {
                self.reset();
                Ok(Some((Request::Empty, used)))
            }
            Ok(Some(_)) => Err(self.scan_error(buf, max_bulk)),
            Ok(None) => self.fallback(buf, max_bulk),
            Err(_) => {
                // Restart the scan from the frame start for an exact error.
                self.scan = Scan::default();
                self.fallback(buf, max_bulk)
            }
        }
    }

    /// Decides with Redis's own rules what `redis_protocol` could not decode: a request that
    /// needs more bytes, a non-positive count (an empty request Redis skips), or an error.
    fn fallback(
        &mut self,
        buf: &[u8],
        max_bulk: u64,
    ) -> Result<Option<(Request, usize)>, ProtocolError> {
        match self.scan(buf, max_bulk)? {
            ScanOutcome::NeedMore(n) => {
                self.need = n;
                Ok(None)
            }
            ScanOutcome::Complete if self.scan.count <= 0 => {
                let used = self.scan.pos;
                self.reset();
                Ok(Some((Request::Empty, used)))
            }
            // The scanner saw a whole request the decoder did not: malformed framing.
            ScanOutcome::Complete => {
                self.reset();
                Err(ProtocolError("invalid bulk length".into()))
            }
        }
    }

    fn reset(&mut self) {
        self.need = 0;
        self.scan = Scan::default();
    }

    fn scan_error(&mut self, buf: &[u8], max_bulk: u64) -> ProtocolError {
        self.scan = Scan::default();
        match self.scan(buf, max_bulk) {
            Err(e) => e,
            Ok(_) => ProtocolError("invalid bulk length".into()),
        }
    }

    /// Redis's `processMultibulkBuffer` checks, resuming where the last call stopped.
    fn scan(&mut self, buf: &[u8], max_bulk: u64) -> Result<ScanOutcome, ProtocolError> {
        let s = &mut self.scan;
        if !s.started {
            let Some(nl) = find_crlf(buf, 0) else {
                if buf.len() > INLINE_MAX {
                    return Err(ProtocolError("too big mbulk count string".into()));
                }
                return Ok(ScanOutcome::NeedMore(buf.len() + 1));
            };
            let n = parse_len(&buf[1..nl]).filter(|n| *n <= MAX_MULTIBULK);
            let Some(n) = n else {
                return Err(ProtocolError("invalid multibulk length".into()));
            };
            s.started = true;
            s.pos = nl + 2;
            s.count = n;
            s.remaining = n.max(0);
        }
        while s.remaining > 0 {
            if s.pos >= buf.len() {
                return Ok(ScanOutcome::NeedMore(s.pos + 1));
            }
            if buf[s.pos] != b'$' {
                return Err(ProtocolError(format!(
                    "expected '$', got '{}'",
                    char::from(buf[s.pos])
                )));
            }
            let Some(nl) = find_crlf(buf, s.pos) else {
                if buf.len() - s.pos > INLINE_MAX {
                    return Err(ProtocolError("too big bulk count string".into()));
                }
                return Ok(ScanOutcome::NeedMore(buf.len() + 1));
            };
            let len = parse_len(&buf[s.pos + 1..nl])
                .filter(|n| *n >= 0 && (*n as u64) <= max_bulk)
                .ok_or_else(|| ProtocolError("invalid bulk length".into()))?;
            let end = nl + 2 + len as usize + 2;
            if end > buf.len() {
                return Ok(ScanOutcome::NeedMore(end));
            }
            s.pos = end;
            s.remaining -= 1;
        }
        Ok(ScanOutcome::Complete)
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr_r(&buf[at..])?;
        if buf.get(i + 1) == Some(&b'\n') {
            return Some(i);
        }
        at = i + 1;
    }
}

fn memchr_r(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\r')
}

fn parse_len(b: &[u8]) -> Option<i64> {
    crate::command::args::parse_int(b)
}

fn decode_inline(buf: &[u8]) -> Result<Option<(Request, usize)>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError("too big inline request".into()));
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args =
        split_args(line).ok_or_else(|| ProtocolError("unbalanced quotes in request".into()))?;
    if args.is_empty() {
        return Ok(Some((Request::Empty, nl + 1)));
    }
    Ok(Some((Request::Inline(args), nl + 1)))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Redis's `sdssplitargs`: whitespace-separated tokens, `"..."` with `\n \r \t \b \a \xHH`
/// escapes, `'...'` with `\'`. `None` on unbalanced quotes or a closing quote not followed by a
/// space. A NUL byte ends the line, as in C.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line.iter().position(|&c| c == 0).unwrap_or(line.len());
    let line = &line[..end];
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex(at(p + 2)).is_some()
                    && hex(at(p + 3)).is_some()
                {
                    cur.push(hex(at(p + 2))? * 16 + hex(at(p + 3))?);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        o => o,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    o => cur.push(o),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.push(cur);
    }
}

/// Replaces CR and LF in an error text with spaces, as Redis does so the line stays one line.
fn error_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Encodes `reply` for `proto` at the end of `out`. `Wait` must be resolved by the caller.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp2 => encode2(reply, out),
        Protocol::Resp3 => encode3(reply, out),
    }
}

fn encode2(reply: &Reply, out: &mut BytesMut) {
    use redis_protocol::resp2::encode::extend_encode_borrowed;
    use redis_protocol::resp2::types::BorrowedFrame as B;
    // Scalars go straight through the borrowed encoder, without building an owned frame.
    let res = match reply {
        Reply::Ok => extend_encode_borrowed(out, &B::SimpleString(b"OK"), false),
        Reply::Int(n) => extend_encode_borrowed(out, &B::Integer(*n), false),
        Reply::Bool(b) => extend_encode_borrowed(out, &B::Integer(i64::from(*b)), false),
        Reply::Bulk(b) => extend_encode_borrowed(out, &B::BulkString(b), false),
        Reply::Null => extend_encode_borrowed(out, &B::Null, false),
        Reply::Simple(s) => extend_encode_borrowed(out, &B::SimpleString(s.as_bytes()), false),
        Reply::Error(e) => extend_encode_borrowed(out, &B::Error(&error_line(e)), false),
        Reply::NullArray => {
            // RESP2's null array has no frame in redis_protocol (its Null is `$-1`).
            out.extend_from_slice(b"*-1\r\n");
            Ok(5)
        }
        Reply::Many(items) => {
            for r in items {
                encode2(r, out);
            }
            Ok(0)
        }
        // Element by element, so a nested null array stays `*-1` (BLPOP inside EXEC).
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            encode2_array(items, out);
            Ok(0)
        }
        Reply::NoReply | Reply::Wait(_) => Ok(0),
        other => redis_protocol::resp2::encode::extend_encode(out, &to_frame2(other), false),
    };
    if let Err(e) = res {
        tracing::error!(error = %e, "reply encoding failed");
    }
}

/// A RESP2 array, element by element; a nested `Many` is an array as in [`to_frame2`].
fn encode2_array(items: &[Reply], out: &mut BytesMut) {
    out.extend_from_slice(b"*");
    out.extend_from_slice(itoa::Buffer::new().format(items.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for r in items {
        match r {
            Reply::Many(inner) => encode2_array(inner, out),
            r => encode2(r, out),
        }
    }
}

fn to_frame2(reply: &Reply) -> Frame2 {
    match reply {
        Reply::Ok => Frame2::SimpleString(Bytes::from_static(b"OK")),
        Reply::Simple(s) => Frame2::SimpleString(Bytes::copy_from_slice(s.as_bytes())),
        Reply::Error(e) => Frame2::Error(error_line(e).into()),
        Reply::Int(n) => Frame2::Integer(*n),
        Reply::Bool(b) => Frame2::Integer(i64::from(*b)),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => Frame2::BulkString(b.clone()),
        Reply::Null | Reply::NoReply | Reply::Wait(_) => Frame2::Null,
        Reply::NullArray => Frame2::Null,
        Reply::Double(d) => Frame2::BulkString(Bytes::from(format_double(*d))),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Many(items) => {
            Frame2::Array(items.iter().map(to_frame2).collect())
        }
        Reply::Map(pairs) => Frame2::Array(
            pairs
                .iter()
                .flat_map(|(k, v)| [to_frame2(k), to_frame2(v)])
                .collect(),
        ),
    }
}

fn encode3(reply: &Reply, out: &mut BytesMut) {
    use redis_protocol::resp3::encode::complete::extend_encode_borrowed;
    use redis_protocol::resp3::types::BorrowedFrame as B;
    let res = match reply {
        Reply::Ok => extend_encode_borrowed(
            out,
            &B::SimpleString {
                data: b"OK",
                attributes: None,
            },
            false,
        ),
        Reply::Int(n) => extend_encode_borrowed(
            out,
            &B::Number {
                data: *n,
                attributes: None,
            },
            false,
        ),
        Reply::Bulk(b) => extend_encode_borrowed(
            out,
            &B::BlobString {
                data: b,
                attributes: None,
            },
            false,
        ),
        Reply::Null | Reply::NullArray => extend_encode_borrowed(out, &B::Null, false),
        Reply::Many(items) => {
            for r in items {
                encode3(r, out);
            }
            Ok(0)
        }
        Reply::NoReply | Reply::Wait(_) => Ok(0),
        other => {
            redis_protocol::resp3::encode::complete::extend_encode(out, &to_frame3(other), false)
        }
    };
    if let Err(e) = res {
        tracing::error!(error = %e, "reply encoding failed");
    }
}

fn to_frame3(reply: &Reply) -> Frame3 {
    match reply {
        Reply::Ok => Frame3::SimpleString {
            data: Bytes::from_static(b"OK"),
            attributes: None,
        },
        Reply::Simple(s) => Frame3::SimpleString {
            data: Bytes::copy_from_slice(s.as_bytes()),
            attributes: None,
        },
        Reply::Error(e) => Frame3::SimpleError {
            data: error_line(e).into(),
            attributes: None,
        },
        Reply::Int(n) => Frame3::Number {
            data: *n,
            attributes: None,
        },
        Reply::Bool(b) => Frame3::Boolean {
            data: *b,
            attributes: None,
        },
        Reply::Bulk(b) => Frame3::BlobString {
            data: b.clone(),
            attributes: None,
        },
        Reply::Verbatim(_, b) => Frame3::VerbatimString {
            data: b.clone(),
            format: VerbatimStringFormat::Text,
            attributes: None,
        },
        Reply::Null | Reply::NullArray | Reply::NoReply | Reply::Wait(_) => Frame3::Null,
        Reply::Double(d) => Frame3::Double {
            data: *d,
            attributes: None,
        },
        Reply::Array(items) | Reply::Many(items) => Frame3::Array {
            data: items.iter().map(to_frame3).collect(),
            attributes: None,
        },
        Reply::Set(items) => {
            let mut set = FrameSet::default();
            for i in items {
                set.insert(to_frame3(i));
            }
            Frame3::Set {
                data: set,
                attributes: None,
            }
        }
        Reply::Push(items) => Frame3::Push {
            data: items.iter().map(to_frame3).collect(),
            attributes: None,
        },
        Reply::Map(pairs) => {
            let mut map = FrameMap::default();
            for (k, v) in pairs {
                map.insert(to_frame3(k), to_frame3(v));
            }
            Frame3::Map {
                data: map,
                attributes: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut d = Decoder::default();
        let mut off = 0;
        let mut out = Vec::new();
        while let Some((req, used)) = d.decode(&input[off..], 512 * 1024 * 1024)? {
            match req {
                Request::Ranges(r) => out.push(
                    r.iter()
                        .map(|(s, e)| input[off + s..off + e].to_vec())
                        .collect(),
                ),
                Request::Inline(a) => out.push(a),
                Request::Empty => {}
            }
            off += used;
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let got = decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*0\r\n").unwrap();
        assert_eq!(
            got,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let mut d = Decoder::default();
        assert!(d.decode(b"*2\r\n$3\r\nGET\r\n$1", 100).unwrap().is_none());
        assert!(
            d.decode(b"*2\r\n$3\r\nGET\r\n$1\r\n", 100)
                .unwrap()
                .is_none()
        );
        assert!(
            d.decode(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 100)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn redis_error_texts() {
        let err = |b: &[u8]| decode_all(b).unwrap_err().0;
        assert_eq!(err(b"*3000000000\r\n"), "invalid multibulk length");
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            "expected '$', got 'f'"
        );
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n"),
            "invalid bulk length"
        );
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n"),
            "invalid bulk length"
        );
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n"),
            "invalid bulk length"
        );
        assert_eq!(err(b"*1\r\nfoo\r\n"), "expected '$', got 'f'");
        assert_eq!(err(b"*1\r\n:5\r\n"), "expected '$', got ':'");
        assert_eq!(err(b"set \"foo bar\"x\r\n"), "unbalanced quotes in request");
        assert_eq!(
            decode_all(b"*-10\r\n*0\r\n*1\r\n$4\r\nPING\r\n").unwrap(),
            vec![vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn one_gigabyte_bulk_header_is_rejected_at_once() {
        let mut d = Decoder::default();
        let e = d
            .decode(b"*1\r\n$1073741824\r\n", 512 * 1024 * 1024)
            .unwrap_err();
        assert_eq!(e.0, "invalid bulk length");
    }

    #[test]
    fn split_args_like_sds() {
        assert_eq!(
            split_args(b"set \"a\\x41\\n\" 'it\\'s' plain").unwrap(),
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert!(split_args(b"\"unterminated").is_none());
        assert!(split_args(b"   ").unwrap().is_empty());
    }

    #[test]
    fn encodes_both_protocols() {
        let mut out = BytesMut::new();
        encode(
            &Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]),
            Protocol::Resp2,
            &mut out,
        );
        assert_eq!(&out[..], b"*2\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        encode(
            &Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]),
            Protocol::Resp3,
            &mut out,
        );
        assert_eq!(&out[..], b"%1\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        encode(&Reply::NullArray, Protocol::Resp2, &mut out);
        encode(&Reply::Null, Protocol::Resp3, &mut out);
        encode(&Reply::Double(1.5), Protocol::Resp2, &mut out);
        assert_eq!(&out[..], b"*-1\r\n_\r\n$3\r\n1.5\r\n");
        out.clear();
        encode(
            &Reply::Error("ERR a\r\nb".into()),
            Protocol::Resp2,
            &mut out,
        );
        assert_eq!(&out[..], b"-ERR a  b\r\n");
    }
}
