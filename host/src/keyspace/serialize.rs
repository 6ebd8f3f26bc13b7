//! The DUMP / RESTORE payload: one value, serialized in gears-host's own format.
//!
//! The layout follows Redis's (type, body, version, checksum), but the body encoding is ours, so
//! payloads are not interchangeable with Redis's RDB-based ones: a Redis payload fails the
//! version check and is rejected like any corrupt payload.
//!
//! ```text
//! payload  := tag body version crc
//! tag      := u8                      which value and encoding follows (below)
//! version  := u16 little-endian       FORMAT_VERSION; Redis RDB versions are all < 0x100
//! crc      := u64 little-endian       CRC-64/REDIS (Jones) of tag, body and version
//! n        := unsigned LEB128         counts and lengths
//! bytes    := n u8*                   a length-prefixed byte string
//! flags    := u8                      bit 0: the big/raw encoding flag; other bits must be 0
//!
//! tag 0  string, int encoding        i64 little-endian
//! tag 1  string, byte encoding       flags(raw) bytes
//! tag 2  list                        n bytes*n                       (n > 0)
//! tag 3  hash                        flags(big) n (field value)*n    (n > 0, fields distinct)
//! tag 4  set                         flags(big) n bytes*n            (n > 0, members distinct)
//! tag 5  sorted set                  flags(big) n (member score)*n   (n > 0, members distinct,
//!                                    score = f64 little-endian bits, never NaN)
//! tag 6  stream                      last first max_deleted added:u64 n (id m bytes*m)*n
//!                                    g group*g
//!                                    (id = ms seq, u64 little-endian each; entry ids non-zero,
//!                                    strictly increasing, <= last; m even and > 0)
//!        group                       name last_delivered read(u8 0 | 1 u64)
//!                                    p (id consumer delivery_time:i64 count:u64)*p
//!                                    c (name seen:i64 active(u8 0 | 1 i64) k id*k)*c
//!                                    (each PEL entry listed by exactly its consumer)
//! ```
//!
//! [`restore`] rejects a payload whose version or checksum is wrong with
//! [`PayloadError::Checksum`] (so any flipped byte or truncation is caught before decoding), and
//! a well-checksummed payload that does not decode exactly (unknown tag, bad length, trailing
//! bytes, duplicates, empty collections) with [`PayloadError::Format`]. Decoding never trusts a
//! count for allocation and never panics.
//!
//! Encoding flags survive a round trip; a restored hash, set or sorted set is re-checked against
//! the current thresholds, so it may move to the big encoding (never back), as Redis converts
//! values while loading them.

use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::{Consumer, ConsumerGroup, NodeLimits, PendingEntry, StreamId, StreamValue};
use super::string::StrValue;
use super::value::{Thresholds, Value};
use super::zset::ZSetValue;

/// The payload format version written after the body.
pub const FORMAT_VERSION: u16 = 0x4701;

/// CRC-64 as Redis computes it for its own payloads (Jones polynomial, reflected).
const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Bytes after the body: the version and the checksum.
const TRAILER: usize = 2 + 8;

const TAG_STR_INT: u8 = 0;
const TAG_STR_BYTES: u8 = 1;
const TAG_LIST: u8 = 2;
const TAG_HASH: u8 = 3;
const TAG_SET: u8 = 4;
const TAG_ZSET: u8 = 5;
const TAG_STREAM: u8 = 6;

/// Why a payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Too short, another format version, or the checksum does not match.
    #[error("DUMP payload version or checksum are wrong")]
    Checksum,
    /// The checksum matches but the body does not decode to a valid value.
    #[error("Bad data format")]
    Format,
}

/// Serializes `value` into a payload.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut w = Vec::new();
    match value {
        Value::Str(StrValue::Int(n)) => {
            w.push(TAG_STR_INT);
            w.extend_from_slice(&n.to_le_bytes());
        }
        Value::Str(StrValue::Bytes { data, raw }) => {
            w.push(TAG_STR_BYTES);
            w.push(u8::from(*raw));
            put_bytes(&mut w, data);
        }
        Value::List(l) => {
            w.push(TAG_LIST);
            put_len(&mut w, l.items.len());
            for item in &l.items {
                put_bytes(&mut w, item);
            }
        }
        Value::Hash(h) => {
            w.push(TAG_HASH);
            w.push(u8::from(h.big));
            put_len(&mut w, h.map.len());
            for (f, v) in &h.map {
                put_bytes(&mut w, f);
                put_bytes(&mut w, v);
            }
        }
        Value::Set(s) => {
            w.push(TAG_SET);
            w.push(u8::from(s.big));
            put_len(&mut w, s.members.len());
            for m in &s.members {
                put_bytes(&mut w, m);
            }
        }
        Value::ZSet(z) => {
            w.push(TAG_ZSET);
            w.push(u8::from(z.big));
            put_len(&mut w, z.len());
            for (m, score) in z.slots() {
                put_bytes(&mut w, m);
                w.extend_from_slice(&score.to_bits().to_le_bytes());
            }
        }
        Value::Stream(s) => {
            w.push(TAG_STREAM);
            put_stream(&mut w, s);
        }
    }
    w.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&w);
    w.extend_from_slice(&crc.to_le_bytes());
    w
}

/// Checks the version and checksum of `payload`; returns the tag and body.
///
/// # Errors
/// [`PayloadError::Checksum`] when the payload is too short, of another version, or corrupt.
pub fn verify(payload: &[u8]) -> Result<&[u8], PayloadError> {
    if payload.len() < 1 + TRAILER {
        return Err(PayloadError::Checksum);
    }
    let (signed, crc) = payload.split_at(payload.len() - 8);
    let (body, version) = signed.split_at(signed.len() - 2);
    if version != FORMAT_VERSION.to_le_bytes() {
        return Err(PayloadError::Checksum);
    }
    if crc != CRC64.checksum(signed).to_le_bytes() {
        return Err(PayloadError::Checksum);
    }
    Ok(body)
}

/// Decodes a payload made by [`dump`], re-checking compact encodings against `t`; a stream's
/// nodes are rebuilt with `limits` (as Redis re-packs on load, deleted-entry holes are gone).
///
/// # Errors
/// [`PayloadError::Checksum`] for a wrong version or checksum, [`PayloadError::Format`] for a
/// body that does not decode exactly.
pub fn restore(payload: &[u8], t: &Thresholds, limits: NodeLimits) -> Result<Value, PayloadError> {
    let body = verify(payload)?;
    let mut r = Reader { buf: body, pos: 0 };
    let value = read_value(&mut r, t, limits)?;
    if r.pos != body.len() {
        return Err(PayloadError::Format);
    }
    Ok(value)
}

fn read_value(
    r: &mut Reader<'_>,
    t: &Thresholds,
    limits: NodeLimits,
) -> Result<Value, PayloadError> {
    let value = match r.u8()? {
        TAG_STR_INT => Value::Str(StrValue::Int(i64::from_le_bytes(r.array()?))),
        TAG_STR_BYTES => {
            let raw = r.flag()?;
            let data = r.bytes()?.to_vec();
            Value::Str(StrValue::Bytes { data, raw })
        }
        TAG_LIST => {
            let n = r.count(1)?;
            let mut l = ListValue::default();
            l.items.reserve(n);
            for _ in 0..n {
                l.items.push_back(r.bytes()?.into());
            }
            Value::List(l)
        }
        TAG_HASH => {
            let big = r.flag()?;
            let n = r.count(2)?;
            let mut h = HashValue::default();
            h.map.reserve(n);
            // The encoding flag survives; inserts may still grow it for the current thresholds.
            h.big = big;
            for _ in 0..n {
                let f = r.bytes()?;
                let v = r.bytes()?;
                if !h.insert(f, v, t) {
                    return Err(PayloadError::Format);
                }
            }
            Value::Hash(Box::new(h))
        }
        TAG_SET => {
            let big = r.flag()?;
            let n = r.count(1)?;
            let mut s = SetValue::default();
            s.members.reserve(n);
            // The encoding flag survives; inserts may still grow it for the current thresholds.
            s.big = big;
            for _ in 0..n {
                if !s.insert(r.bytes()?, t) {
                    return Err(PayloadError::Format);
                }
            }
            Value::Set(Box::new(s))
        }
        TAG_ZSET => {
            let big = r.flag()?;
            let n = r.count(9)?;
            let mut z = ZSetValue::default();
            z.reserve(n);
            // The encoding flag survives; inserts may still grow it for the current thresholds.
            z.big = big;
            for _ in 0..n {
                let m = r.bytes()?;
                let score = f64::from_bits(u64::from_le_bytes(r.array()?));
                if score.is_nan() || z.insert(m, score, t).is_some() {
                    return Err(PayloadError::Format);
                }
            }
            Value::ZSet(Box::new(z))
        }
        TAG_STREAM => Value::Stream(Box::new(read_stream(r, limits)?)),
        _ => return Err(PayloadError::Format),
    };
    Ok(value)
}

/// A stream: its metadata, entries and consumer groups (see the module docs).
fn put_stream(w: &mut Vec<u8>, s: &StreamValue) {
    put_id(w, s.last_id);
    put_id(w, s.first_id);
    put_id(w, s.max_deleted_entry_id);
    w.extend_from_slice(&s.entries_added.to_le_bytes());
    put_len(w, s.len());
    for (id, fields) in s.iter() {
        put_id(w, id);
        put_len(w, fields.len());
        for f in fields {
            put_bytes(w, f);
        }
    }
    put_len(w, s.groups.len());
    for (name, g) in &s.groups {
        put_bytes(w, name);
        put_id(w, g.last_id);
        match g.entries_read {
            Some(n) => {
                w.push(1);
                w.extend_from_slice(&n.to_le_bytes());
            }
            None => w.push(0),
        }
        put_len(w, g.pel.len());
        for (id, p) in &g.pel {
            put_id(w, *id);
            put_bytes(w, &p.consumer);
            w.extend_from_slice(&p.delivery_time.to_le_bytes());
            w.extend_from_slice(&p.delivery_count.to_le_bytes());
        }
        put_len(w, g.consumers.len());
        for (cname, c) in &g.consumers {
            put_bytes(w, cname);
            w.extend_from_slice(&c.seen_time.to_le_bytes());
            match c.active_time {
                Some(t) => {
                    w.push(1);
                    w.extend_from_slice(&t.to_le_bytes());
                }
                None => w.push(0),
            }
            put_len(w, c.pel.len());
            for id in &c.pel {
                put_id(w, *id);
            }
        }
    }
}

fn read_stream(r: &mut Reader<'_>, limits: NodeLimits) -> Result<StreamValue, PayloadError> {
    let last_id = r.id()?;
    let first_id = r.id()?;
    let max_deleted_entry_id = r.id()?;
    let entries_added = u64::from_le_bytes(r.array()?);
    let mut s = StreamValue::default();
    // Unlike the other types, a stream may be empty.
    let n = r.len_within(17)?;
    for _ in 0..n {
        let id = r.id()?;
        // Entries are appended in strictly increasing order, never past the last id.
        if (!s.is_empty() && id <= s.last_id) || id.is_zero() || id > last_id {
            return Err(PayloadError::Format);
        }
        let m = r.count(1)?;
        if m % 2 != 0 {
            return Err(PayloadError::Format);
        }
        let mut fields = Vec::with_capacity(m);
        for _ in 0..m {
            fields.push(r.bytes()?);
        }
        s.append(id, &fields, limits);
    }
    if entries_added < s.len() as u64 {
        return Err(PayloadError::Format);
    }
    s.last_id = last_id;
    s.first_id = first_id;
    s.max_deleted_entry_id = max_deleted_entry_id;
    s.entries_added = entries_added;
    let groups = r.len_within(18)?;
    for _ in 0..groups {
        let name: Box<[u8]> = r.bytes()?.into();
        let mut g = ConsumerGroup::new(r.id()?, None);
        g.entries_read = match r.u8()? {
            0 => None,
            1 => Some(u64::from_le_bytes(r.array()?)),
            _ => return Err(PayloadError::Format),
        };
        let pending = r.len_within(33)?;
        for _ in 0..pending {
            let id = r.id()?;
            let consumer: Box<[u8]> = r.bytes()?.into();
            let delivery_time = i64::from_le_bytes(r.array()?);
            let delivery_count = u64::from_le_bytes(r.array()?);
            let entry = PendingEntry {
                consumer,
                delivery_time,
                delivery_count,
            };
            if g.pel.insert(id, entry).is_some() {
                return Err(PayloadError::Format);
            }
        }
        let consumers = r.len_within(10)?;
        for _ in 0..consumers {
            let cname: Box<[u8]> = r.bytes()?.into();
            let seen_time = i64::from_le_bytes(r.array()?);
            let active_time = match r.u8()? {
                0 => None,
                1 => Some(i64::from_le_bytes(r.array()?)),
                _ => return Err(PayloadError::Format),
            };
            let mut c = Consumer {
                seen_time,
                active_time,
                ..Consumer::default()
            };
            let ids = r.len_within(16)?;
            for _ in 0..ids {
                let id = r.id()?;
                // Every consumer PEL id is a group PEL entry owned by this consumer.
                let owned = g.pel.get(&id).is_some_and(|p| p.consumer == cname);
                if !owned || !c.pel.insert(id) {
                    return Err(PayloadError::Format);
                }
            }
            if g.consumers.insert(cname, c).is_some() {
                return Err(PayloadError::Format);
            }
        }
        // ... and every group PEL entry belongs to a consumer that lists it.
        let consistent = g.pel.iter().all(|(id, p)| {
            g.consumers
                .get(&p.consumer)
                .is_some_and(|c| c.pel.contains(id))
        });
        if !consistent || s.groups.insert(name, g).is_some() {
            return Err(PayloadError::Format);
        }
    }
    Ok(s)
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    let mut n = n as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            w.push(byte);
            return;
        }
        w.push(byte | 0x80);
    }
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_len(w, b.len());
    w.extend_from_slice(b);
}

fn put_id(w: &mut Vec<u8>, id: StreamId) {
    w.extend_from_slice(&id.ms.to_le_bytes());
    w.extend_from_slice(&id.seq.to_le_bytes());
}

/// A bounds-checked cursor over a payload body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PayloadError> {
        if n > self.remaining() {
            return Err(PayloadError::Format);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PayloadError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn flag(&mut self) -> Result<bool, PayloadError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PayloadError::Format),
        }
    }

    fn len(&mut self) -> Result<usize, PayloadError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(PayloadError::Format);
            }
            n |= bits << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(n).map_err(|_| PayloadError::Format);
            }
        }
        Err(PayloadError::Format)
    }

    /// A non-zero element count, each element taking at least `min_size` bytes: a count the
    /// rest of the payload cannot hold is rejected before anything is allocated for it.
    fn count(&mut self, min_size: usize) -> Result<usize, PayloadError> {
        let n = self.len()?;
        if n == 0 || n > self.remaining() / min_size {
            return Err(PayloadError::Format);
        }
        Ok(n)
    }

    /// A possibly zero count, each element taking at least `min_size` bytes.
    fn len_within(&mut self, min_size: usize) -> Result<usize, PayloadError> {
        let n = self.len()?;
        if n > self.remaining() / min_size {
            return Err(PayloadError::Format);
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8], PayloadError> {
        let n = self.len()?;
        self.take(n)
    }

    fn id(&mut self) -> Result<StreamId, PayloadError> {
        let ms = u64::from_le_bytes(self.array()?);
        let seq = u64::from_le_bytes(self.array()?);
        Ok(StreamId { ms, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Value> {
        let t = Thresholds::default();
        let mut out = vec![
            Value::Str(StrValue::Int(-42)),
            Value::Str(StrValue::Int(i64::MIN)),
            Value::Str(StrValue::from_bytes(b"hello")),
            Value::Str(StrValue::Bytes {
                data: b"12".to_vec(),
                raw: true,
            }),
            Value::Str(StrValue::Bytes {
                data: Vec::new(),
                raw: false,
            }),
            Value::Str(StrValue::from_vec(vec![0xab; 300])),
        ];
        let mut l = ListValue::default();
        for i in 0..200u32 {
            l.items.push_back(i.to_string().into_bytes().into());
        }
        l.items.push_back(Box::from(&b""[..]));
        out.push(Value::List(l));
        for big in [false, true] {
            let mut h = HashValue::default();
            h.insert(b"f", b"v", &t);
            h.insert(b"", b"empty field", &t);
            h.big |= big;
            out.push(Value::Hash(Box::new(h)));
            let mut s = SetValue::default();
            s.insert(b"1", &t);
            s.insert(b"-7", &t);
            s.big |= big;
            out.push(Value::Set(Box::new(s)));
            let mut z = ZSetValue::default();
            z.insert(b"a", 1.5, &t);
            z.insert(b"b", f64::NEG_INFINITY, &t);
            z.insert(b"c", -0.0, &t);
            z.big |= big;
            out.push(Value::ZSet(Box::new(z)));
        }
        let mut st = StreamValue::default();
        for i in 1..5u64 {
            st.append(
                StreamId { ms: i, seq: i * 2 },
                &[b"field".to_vec(), i.to_string().into_bytes()],
                NodeLimits::default(),
            );
        }
        st.delete(StreamId { ms: 2, seq: 4 });
        st.last_id = StreamId { ms: 9, seq: 0 };
        let mut g = ConsumerGroup::new(StreamId { ms: 3, seq: 6 }, Some(2));
        g.create_consumer(b"alice", 1000);
        g.create_consumer(b"bob", 2000);
        for (id, who) in [
            ((1, 2), &b"alice"[..]),
            ((3, 6), b"alice"),
            ((4, 8), b"bob"),
        ] {
            let id = StreamId {
                ms: id.0,
                seq: id.1,
            };
            g.pel.insert(
                id,
                PendingEntry {
                    consumer: who.into(),
                    delivery_time: 5,
                    delivery_count: 2,
                },
            );
            if let Some(c) = g.consumers.get_mut(who) {
                c.pel.insert(id);
                c.active_time = Some(7);
            }
        }
        st.groups.insert(Box::from(&b"g1"[..]), g);
        st.groups.insert(
            Box::from(&b"g2"[..]),
            ConsumerGroup::new(StreamId::default(), None),
        );
        out.push(Value::Stream(Box::new(st)));
        out.push(Value::Stream(Box::default()));
        out
    }

    /// Everything observable about a value, for comparisons.
    fn fingerprint(v: &Value) -> String {
        match v {
            Value::Str(s) => format!("str {:?} {}", s.as_bytes(), s.encoding()),
            Value::List(l) => format!("list {:?}", l.items),
            Value::Hash(h) => format!("hash {:?} {}", h.map, h.encoding()),
            Value::Set(s) => format!("set {:?} {}", s.members, s.encoding()),
            Value::ZSet(z) => format!(
                "zset {:?} {}",
                z.slots()
                    .map(|(m, s)| (m.to_vec(), s.to_bits()))
                    .collect::<Vec<_>>(),
                z.encoding()
            ),
            Value::Stream(s) => format!(
                "stream {:?} {:?} {:?} {:?} {} {:?}",
                s.iter().collect::<Vec<_>>(),
                s.last_id,
                s.first_id,
                s.max_deleted_entry_id,
                s.entries_added,
                s.groups
            ),
        }
    }

    #[test]
    fn roundtrip_preserves_value_and_encoding() {
        let t = Thresholds::default();
        for v in samples() {
            let p = dump(&v);
            let back = restore(&p, &t, NodeLimits::default()).expect("valid payload");
            assert_eq!(fingerprint(&back), fingerprint(&v));
        }
    }

    #[test]
    fn restore_converts_to_big_under_smaller_thresholds() {
        let t = Thresholds::default();
        let mut h = HashValue::default();
        for i in 0..10u8 {
            h.insert(&[i], b"v", &t);
        }
        let p = dump(&Value::Hash(Box::new(h)));
        let small = Thresholds {
            hash_max_listpack_entries: 4,
            ..t
        };
        let Ok(Value::Hash(back)) = restore(&p, &small, NodeLimits::default()) else {
            panic!("expected a hash");
        };
        assert!(back.big);
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_rejected() {
        let t = Thresholds::default();
        for v in samples() {
            let p = dump(&v);
            for i in 0..p.len() {
                for bit in 0..8 {
                    let mut bad = p.clone();
                    bad[i] ^= 1 << bit;
                    assert_eq!(
                        restore(&bad, &t, NodeLimits::default()).err(),
                        Some(PayloadError::Checksum),
                        "flip byte {i} bit {bit} of {}",
                        fingerprint(&v)
                    );
                }
            }
            for len in 0..p.len() {
                assert_eq!(
                    restore(&p[..len], &t, NodeLimits::default()).err(),
                    Some(PayloadError::Checksum)
                );
            }
            let mut longer = p.clone();
            longer.push(0);
            assert!(restore(&longer, &t, NodeLimits::default()).is_err());
        }
    }

    /// Signs an arbitrary body, so the decoder itself is exercised on hostile input.
    fn signed(body: &[u8]) -> Vec<u8> {
        let mut w = body.to_vec();
        w.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let crc = CRC64.checksum(&w);
        w.extend_from_slice(&crc.to_le_bytes());
        w
    }

    fn restore_signed(p: &[u8], t: &Thresholds) -> Result<Value, PayloadError> {
        restore(p, t, NodeLimits::default())
    }

    #[test]
    fn well_signed_garbage_is_a_format_error_never_a_panic() {
        let t = Thresholds::default();
        // Pseudo-random bodies (xorshift) plus mutations of real bodies.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let body: Vec<u8> = (0..len).map(|_| (next() % 8) as u8).collect();
            let _ = restore_signed(&signed(&body), &t);
        }
        for v in samples() {
            let p = dump(&v);
            let body = &p[..p.len() - TRAILER];
            for i in 0..body.len() {
                for delta in [1u8, 0x7f, 0x80, 0xff] {
                    let mut b = body.to_vec();
                    b[i] = b[i].wrapping_add(delta);
                    let _ = restore_signed(&signed(&b), &t);
                }
                let _ = restore_signed(&signed(&body[..i]), &t);
            }
        }
    }

    #[test]
    fn hostile_bodies_are_rejected() {
        let t = Thresholds::default();
        assert_eq!(
            restore_signed(&signed(&[]), &t).err(),
            Some(PayloadError::Checksum)
        );
        let bad: &[&[u8]] = &[
            &[99],
            &[TAG_STR_INT, 1, 2],
            &[TAG_STR_BYTES, 2, 0],
            &[TAG_STR_BYTES, 0, 5, b'a'],
            &[TAG_LIST, 0],
            &[
                TAG_LIST, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ],
            &[TAG_SET, 0, 2, 1, b'1', 1, b'1'],
            &[TAG_HASH, 0, 1, 1, b'f'],
            &[TAG_STR_INT, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ];
        for b in bad {
            assert_eq!(
                restore_signed(&signed(b), &t).err(),
                Some(PayloadError::Format),
                "{b:?}"
            );
        }
        let mut nan = vec![TAG_ZSET, 0, 1, 1, b'a'];
        nan.extend_from_slice(&f64::NAN.to_bits().to_le_bytes());
        assert_eq!(
            restore_signed(&signed(&nan), &t).err(),
            Some(PayloadError::Format)
        );
        // A Redis-style payload (version 10) is rejected by the version check.
        let mut redis = vec![0u8, 3, b'b', b'a', b'r'];
        redis.extend_from_slice(&10u16.to_le_bytes());
        let crc = CRC64.checksum(&redis);
        redis.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&redis, &t, NodeLimits::default()).err(),
            Some(PayloadError::Checksum)
        );
    }
}
