//! Sorted set values.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::value::Thresholds;
use super::{FastMap, new_map};

/// A score: an `f64` that is never NaN, ordered as Redis compares scores (`-0.0 == 0.0`).
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// A sorted set: member → score plus (score, member) order.
#[derive(Debug, Clone)]
pub struct ZSetValue {
    /// Member → score.
    pub dict: FastMap<Box<[u8]>, f64>,
    /// Members ordered by (score, member bytes).
    pub tree: BTreeSet<(Score, Box<[u8]>)>,
    /// Set once Redis would have converted the listpack to a skiplist.
    pub big: bool,
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue {
            dict: new_map(),
            tree: BTreeSet::new(),
            big: false,
        }
    }
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Inserts or updates `member`; returns the previous score. Tracks the encoding.
    pub fn insert(&mut self, member: &[u8], score: f64, t: &Thresholds) -> Option<f64> {
        if member.len() > t.zset_max_listpack_value {
            self.big = true;
        }
        let old = match self.dict.get_mut(member) {
            Some(s) => {
                let old = *s;
                if old != score || old.is_sign_negative() != score.is_sign_negative() {
                    self.tree.remove(&(Score(old), Box::<[u8]>::from(member)));
                    self.tree.insert((Score(score), member.into()));
                    *s = score;
                }
                Some(old)
            }
            None => {
                self.dict.insert(member.into(), score);
                self.tree.insert((Score(score), member.into()));
                None
            }
        };
        self.update_encoding(t);
        old
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.swap_remove(member)?;
        self.tree.remove(&(Score(score), Box::<[u8]>::from(member)));
        Some(score)
    }

    /// `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.big { "skiplist" } else { "listpack" }
    }

    /// Converts to `skiplist` once the member count passes the threshold.
    pub fn update_encoding(&mut self, t: &Thresholds) {
        if self.dict.len() > t.zset_max_listpack_entries {
            self.big = true;
        }
    }
}
