//! Set values.

use super::string::parse_i64;
use super::value::Thresholds;
use super::{FastSet, new_set};

/// A set of byte strings, in insertion order (stable SSCAN cursors, O(1) random members).
#[derive(Debug, Clone)]
pub struct SetValue {
    /// The members.
    pub members: FastSet<Box<[u8]>>,
    /// Set once Redis would have converted the intset to a hashtable (never reverts).
    pub big: bool,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            members: new_set(),
            big: false,
        }
    }
}

impl SetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds a member; true if it was not there. Tracks the encoding.
    pub fn insert(&mut self, member: &[u8], t: &Thresholds) -> bool {
        if self.members.contains(member) {
            return false;
        }
        if !self.big && parse_i64(member).is_none() {
            self.big = true;
        }
        self.members.insert(member.into());
        self.update_encoding(t);
        true
    }

    /// `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.big { "hashtable" } else { "intset" }
    }

    /// Converts to `hashtable` once the member count passes the threshold.
    pub fn update_encoding(&mut self, t: &Thresholds) {
        if self.members.len() > t.set_max_intset_entries {
            self.big = true;
        }
    }
}
