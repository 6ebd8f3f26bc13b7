//! Hash values.

use super::string::{format_f64_human, parse_f64, parse_i64};
use super::value::Thresholds;
use super::{FastMap, new_map};

/// A field as a hash's table stores it: fields up to 24 bytes live inline in the table's slot
/// (as [`super::db::DbKey`] does for keys), so a lookup compares them without touching another
/// cache line; longer fields spill to the heap.
pub type Field = smallvec::SmallVec<[u8; 24]>;

/// A value as a hash's table stores it: values up to 16 bytes live inline in the slot, so
/// reading or overwriting a short value neither follows a pointer nor allocates.
pub type FieldVal = smallvec::SmallVec<[u8; 16]>;

/// A hash: field → value, in insertion order (so HSCAN cursors are stable, see `Db::scan`).
///
/// While the hash is small (Redis's `listpack` encoding) removals keep the insertion order, as a
/// listpack does; once `big` (a `hashtable`), removals move the last entry into the freed slot so
/// an HSCAN walk over the slots keeps SCAN's guarantees (see [`super::db::scan_slots`]).
#[derive(Debug, Clone)]
pub struct HashValue {
    /// Field → value.
    pub map: FastMap<Field, FieldVal>,
    /// Set once Redis would have converted the listpack to a hashtable (never reverts).
    pub big: bool,
}

/// Why a hash counter update failed. `Display` is the wire text Redis replies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// HINCRBY on a value that is not an integer.
    #[error("ERR hash value is not an integer")]
    NotInteger,
    /// HINCRBYFLOAT on a value that is not a float.
    #[error("ERR hash value is not a float")]
    NotFloat,
    /// HINCRBY overflowed 64 bits.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// HINCRBYFLOAT produced NaN or an infinity.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
}

/// A field and its value, borrowed from a hash.
pub type FieldValue<'a> = (&'a [u8], &'a [u8]);

impl Default for HashValue {
    fn default() -> Self {
        HashValue {
            map: new_map(),
            big: false,
        }
    }
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the hash has no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(|v| &**v)
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.map.contains_key(field)
    }

    /// Every field and value, in slot order (insertion order for a listpack-sized hash).
    pub fn iter(&self) -> impl Iterator<Item = FieldValue<'_>> {
        self.map.iter().map(|(f, v)| (&**f, &**v))
    }

    /// The field and value in slot `i`.
    pub fn entry_at(&self, i: usize) -> Option<FieldValue<'_>> {
        self.map.get_index(i).map(|(f, v)| (&**f, &**v))
    }

    /// Sets `field` to `value`; returns true if the field is new. Tracks the encoding.
    pub fn insert(&mut self, field: &[u8], value: &[u8], t: &Thresholds) -> bool {
        if field.len() > t.hash_max_listpack_value || value.len() > t.hash_max_listpack_value {
            self.big = true;
        }
        let new = match self.map.get_mut(field) {
            Some(v) => {
                *v = FieldVal::from_slice(value);
                false
            }
            None => {
                self.map
                    .insert(Field::from_slice(field), FieldVal::from_slice(value));
                true
            }
        };
        self.update_encoding(t);
        new
    }

    /// Removes `field`; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.big {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }

    /// Adds `by` to the integer in `field` (missing counts as 0); returns the new value.
    ///
    /// # Errors
    /// [`HashError::NotInteger`] when the value is not a 64-bit integer,
    /// [`HashError::Overflow`] when the sum overflows. The hash is unchanged on error.
    pub fn incr_by(&mut self, field: &[u8], by: i64, t: &Thresholds) -> Result<i64, HashError> {
        let current = match self.get(field) {
            Some(v) => parse_i64(v).ok_or(HashError::NotInteger)?,
            None => 0,
        };
        let new = current.checked_add(by).ok_or(HashError::Overflow)?;
        self.insert(field, itoa::Buffer::new().format(new).as_bytes(), t);
        Ok(new)
    }

    /// Adds `by` to the float in `field` (missing counts as 0); returns the new value as Redis
    /// prints it (and stores it).
    ///
    /// # Errors
    /// [`HashError::NotFloat`] when the value is not a number, [`HashError::NanOrInfinity`] when
    /// the sum is not finite. The hash is unchanged on error.
    pub fn incr_by_float(
        &mut self,
        field: &[u8],
        by: f64,
        t: &Thresholds,
    ) -> Result<String, HashError> {
        let current = match self.get(field) {
            Some(v) => parse_f64(v).ok_or(HashError::NotFloat)?,
            None => 0.0,
        };
        let new = current + by;
        if !new.is_finite() {
            return Err(HashError::NanOrInfinity);
        }
        let text = format_f64_human(new);
        self.insert(field, text.as_bytes(), t);
        Ok(text)
    }

    /// Slots of `count` random entries: distinct ones (at most `len`) when `unique`, else
    /// `count` independent picks that may repeat.
    pub fn random_slots(&self, count: usize, unique: bool) -> Vec<usize> {
        random_slots(self.map.len(), count, unique)
    }

    /// One HSCAN step from `cursor`: up to `count` slots (everything at once while the hash is
    /// listpack-sized, as Redis does) and the next cursor.
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<FieldValue<'_>>, u64) {
        if !self.big {
            return (self.iter().collect(), 0);
        }
        super::db::scan_slots(self.map.len(), cursor, count, |i| self.entry_at(i))
    }

    /// `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.big { "hashtable" } else { "listpack" }
    }

    /// Converts to `hashtable` once the entry count passes the threshold.
    pub fn update_encoding(&mut self, t: &Thresholds) {
        if self.map.len() > t.hash_max_listpack_entries {
            self.big = true;
        }
    }
}

/// Random slot indexes in `0..len`: `count` distinct ones (capped at `len`) when `unique`,
/// else `count` uniform picks with repetition.
pub(super) fn random_slots(len: usize, count: usize, unique: bool) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let mut rng = rand::rng();
    if unique {
        if count >= len {
            return (0..len).collect();
        }
        return rand::seq::index::sample(&mut rng, len, count).into_vec();
    }
    (0..count)
        .map(|_| rand::Rng::random_range(&mut rng, 0..len))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds::default()
    }

    #[test]
    fn insert_reports_new_fields_and_updates() {
        let mut h = HashValue::default();
        assert!(h.insert(b"a", b"1", &t()));
        assert!(!h.insert(b"a", b"2", &t()));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn small_hash_removal_keeps_insertion_order() {
        let mut h = HashValue::default();
        for f in [b"a", b"b", b"c", b"d"] {
            h.insert(f, b"v", &t());
        }
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        let fields: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec![&b"a"[..], b"c", b"d"]);
    }

    #[test]
    fn encoding_follows_thresholds() {
        let th = Thresholds {
            hash_max_listpack_entries: 2,
            hash_max_listpack_value: 4,
            ..Thresholds::default()
        };
        let mut h = HashValue::default();
        h.insert(b"a", b"1234", &th);
        h.insert(b"b", b"1", &th);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"c", b"1", &th);
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"c");
        assert_eq!(h.encoding(), "hashtable", "never reverts");
        let mut h = HashValue::default();
        h.insert(b"a", b"12345", &th);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn incr_by_checks_value_and_overflow() {
        let mut h = HashValue::default();
        assert_eq!(h.incr_by(b"n", 5, &t()), Ok(5));
        assert_eq!(h.incr_by(b"n", -7, &t()), Ok(-2));
        h.insert(b"s", b" 1", &t());
        assert_eq!(h.incr_by(b"s", 1, &t()), Err(HashError::NotInteger));
        h.insert(b"m", b"9223372036854775807", &t());
        assert_eq!(h.incr_by(b"m", 1, &t()), Err(HashError::Overflow));
        assert_eq!(h.get(b"m"), Some(&b"9223372036854775807"[..]));
    }

    #[test]
    fn incr_by_float_formats_like_redis() {
        let mut h = HashValue::default();
        assert_eq!(h.incr_by_float(b"f", 1.23, &t()).as_deref(), Ok("1.23"));
        assert_eq!(h.incr_by_float(b"f", 0.77, &t()).as_deref(), Ok("2"));
        assert_eq!(h.incr_by_float(b"f", -0.1, &t()).as_deref(), Ok("1.9"));
        h.insert(b"x", b"abc", &t());
        assert_eq!(h.incr_by_float(b"x", 1.0, &t()), Err(HashError::NotFloat));
        h.insert(b"big", b"1e308", &t());
        assert_eq!(
            h.incr_by_float(b"big", 1e308, &t()),
            Err(HashError::NanOrInfinity)
        );
    }

    #[test]
    fn random_slots_unique_and_repeating() {
        let mut s = random_slots(10, 5, true);
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 5);
        assert_eq!(random_slots(3, 10, true), vec![0, 1, 2]);
        let r = random_slots(2, 50, false);
        assert_eq!(r.len(), 50);
        assert!(r.iter().all(|&i| i < 2));
        assert!(random_slots(0, 5, false).is_empty());
    }

    #[test]
    fn scan_returns_everything_while_small() {
        let mut h = HashValue::default();
        for i in 0..20u32 {
            h.insert(i.to_string().as_bytes(), b"v", &t());
        }
        let (all, next) = h.scan(0, 1);
        assert_eq!((all.len(), next), (20, 0));
        h.big = true;
        let (some, next) = h.scan(0, 5);
        assert_eq!(some.len(), 5);
        assert_ne!(next, 0);
    }
}
