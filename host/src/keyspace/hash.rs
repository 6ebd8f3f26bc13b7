//! Hash values.

use super::value::Thresholds;
use super::{FastMap, new_map};

/// A hash: field → value, in insertion order (so HSCAN cursors are stable, see `Db::scan`).
#[derive(Debug, Clone)]
pub struct HashValue {
    /// Field → value.
    pub map: FastMap<Box<[u8]>, Box<[u8]>>,
    /// Set once Redis would have converted the listpack to a hashtable (never reverts).
    pub big: bool,
}

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

    /// Sets `field` to `value`; returns true if the field is new. Tracks the encoding.
    pub fn insert(&mut self, field: &[u8], value: &[u8], t: &Thresholds) -> bool {
        if field.len() > t.hash_max_listpack_value || value.len() > t.hash_max_listpack_value {
            self.big = true;
        }
        let new = match self.map.get_mut(field) {
            Some(v) => {
                *v = value.into();
                false
            }
            None => {
                self.map.insert(field.into(), value.into());
                true
            }
        };
        self.update_encoding(t);
        new
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
