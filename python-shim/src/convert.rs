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

/// The order in which RedisGears 1.2 lists the fields of a record it built in C (a hash
/// value, a stream entry's fields): the iteration order of its `Gears_dict` (Redis 6 `dict.c`
/// with SipHash-1-2 under an all-zero key) after inserting `keys` in the given order. Returns
/// indices into `keys`. A repeated key keeps its first position.
pub fn gears_dict_order(keys: &[&[u8]]) -> Vec<usize> {
    thread_local! {
        /// Records of one reader usually share their field names (hashes of one schema):
        /// the last key set and its order, reused when the next record has the same keys.
        static LAST: std::cell::RefCell<(Vec<Vec<u8>>, Vec<usize>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    let hit = LAST.with(|l| {
        let l = l.borrow();
        (l.0.len() == keys.len() && l.0.iter().zip(keys).all(|(a, b)| a == b)).then(|| l.1.clone())
    });
    if let Some(order) = hit {
        return order;
    }
    let order = compute_dict_order(keys);
    LAST.with(|l| *l.borrow_mut() = (keys.iter().map(|k| k.to_vec()).collect(), order.clone()));
    order
}

fn compute_dict_order(keys: &[&[u8]]) -> Vec<usize> {
    let mut d = GearsDict::default();
    for (i, k) in keys.iter().enumerate() {
        // A repeated key keeps its first place (few keys: a quadratic check allocates nothing).
        if !keys[..i].contains(k) {
            d.set(i, siphash12(k));
        }
    }
    d.keys()
}

/// SipHash-1-2 with a zero key (Redis' `siphash` as RedisGears' dict uses it).
fn siphash12(data: &[u8]) -> u64 {
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut v = [
        0x736f_6d65_7073_6575_u64,
        0x646f_7261_6e64_6f6d,
        0x6c79_6765_6e65_7261,
        0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let m = u64::from_le_bytes(b);
        v[3] ^= m;
        round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let tail = chunks.remainder();
    last[..tail.len()].copy_from_slice(tail);
    // The length's low byte goes into the top byte (`len << 56`).
    let b = ((data.len() as u64) << 56) | u64::from_le_bytes(last);
    v[3] ^= b;
    round(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    round(&mut v);
    round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// One hash table: buckets of (entry index, hash), each chain head first.
type Table = Vec<Vec<(usize, u64)>>;

/// Redis 6 `dict.c` reduced to what decides iteration order: two tables of buckets (entries
/// pushed at the head), incremental rehashing one bucket per find/add.
#[derive(Default)]
struct GearsDict {
    /// (entry, hash) chains per bucket; `ht[1]` only while rehashing.
    ht: [Option<Table>; 2],
    used: [usize; 2],
    rehash_idx: Option<usize>,
}

impl GearsDict {
    fn table(&mut self, t: usize) -> &mut Table {
        self.ht[t].get_or_insert_with(Vec::new)
    }

    fn expand(&mut self, size: usize) {
        let mut real = 4;
        while real < size {
            real *= 2;
        }
        match &self.ht[0] {
            None => self.ht[0] = Some(vec![Vec::new(); real]),
            Some(t) if t.len() == real => {}
            Some(_) => {
                self.ht[1] = Some(vec![Vec::new(); real]);
                self.used[1] = 0;
                self.rehash_idx = Some(0);
            }
        }
    }

    fn step(&mut self) {
        let Some(mut idx) = self.rehash_idx else {
            return;
        };
        let mut empty_visits = 10;
        if self.used[0] != 0 {
            while self.table(0).get(idx).is_some_and(Vec::is_empty) {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return;
                }
            }
            let chain = self
                .table(0)
                .get_mut(idx)
                .map(std::mem::take)
                .unwrap_or_default();
            let mask = self.table(1).len() - 1;
            for (e, h) in chain {
                let bucket = usize::try_from(h).unwrap_or(usize::MAX) & mask;
                self.table(1)[bucket].insert(0, (e, h));
                self.used[0] -= 1;
                self.used[1] += 1;
            }
            idx += 1;
        }
        self.rehash_idx = Some(idx);
        if self.used[0] == 0 {
            self.ht[0] = self.ht[1].take();
            self.used[0] = self.used[1];
            self.used[1] = 0;
            self.rehash_idx = None;
        }
    }

    fn set(&mut self, entry: usize, hash: u64) {
        // `find` then `add`: each makes one rehash step while rehashing.
        if self.used[0] + self.used[1] != 0 && self.rehash_idx.is_some() {
            self.step();
        }
        if self.rehash_idx.is_some() {
            self.step();
        }
        if self.rehash_idx.is_none() {
            match &self.ht[0] {
                None => self.expand(4),
                Some(t) if self.used[0] >= t.len() => self.expand(self.used[0] * 2),
                Some(_) => {}
            }
        }
        let t = usize::from(self.rehash_idx.is_some());
        let mask = self.table(t).len() - 1;
        let bucket = usize::try_from(hash).unwrap_or(usize::MAX) & mask;
        self.table(t)[bucket].insert(0, (entry, hash));
        self.used[t] += 1;
    }

    fn keys(&self) -> Vec<usize> {
        self.ht
            .iter()
            .flatten()
            .flat_map(|t| t.iter().flat_map(|b| b.iter().map(|(e, _)| *e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::format_lf;
    use super::gears_dict_order;

    fn order<'a>(keys: &[&'a str]) -> Vec<&'a str> {
        let bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        gears_dict_order(&bytes)
            .into_iter()
            .map(|i| keys[i])
            .collect()
    }

    #[test]
    fn dict_order_matches_redisgears_records() {
        // The published `{'event': None, 'key': 'person:1', 'type': 'hash', 'value': {'age':
        // '70', 'name': 'Rick Sanchez'}}` and the spec's worked examples.
        assert_eq!(order(&["name", "age"]), ["age", "name"]);
        assert_eq!(
            order(&["key", "value", "type", "event"]),
            ["event", "key", "type", "value"]
        );
        assert_eq!(order(&["id", "value", "key"]), ["key", "id", "value"]);
        assert_eq!(order(&["foo", "foo1"]), ["foo1", "foo"]);
        // Past the first table size: incremental rehashing (checked against the spec's
        // Python reference implementation).
        assert_eq!(
            order(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),
            ["f", "a", "g", "c", "d", "h", "b", "e", "j", "i"]
        );
        let many: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            order(&many),
            [
                "f6", "f7", "f12", "f11", "f3", "f13", "f9", "f1", "f8", "f0", "f19", "f5", "f18",
                "f17", "f10", "f4", "f16", "f14", "f2", "f15"
            ]
        );
        assert_eq!(order(&["x", "x"]), ["x"]);
    }

    #[test]
    fn lf_like_printf() {
        assert_eq!(format_lf(1.5), "1.500000");
        assert_eq!(format_lf(2.0), "2.000000");
        assert_eq!(format_lf(1e20), "100000000000000000000.000000");
        assert_eq!(format_lf(f64::INFINITY), "inf");
    }
}
