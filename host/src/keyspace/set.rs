//! Set values and the set algebra (SINTER, SUNION, SDIFF) over them.

use super::string::parse_i64;
use super::value::Thresholds;
use super::{FastSet, new_set};

/// A set of byte strings, in insertion order (stable SSCAN cursors, O(1) random members).
///
/// Removal moves the last member into the freed slot, so an SSCAN walk over the slots keeps
/// SCAN's guarantees (see [`super::db::scan_slots`]). While the set is `intset`-sized its members
/// are all integers and are reported in ascending numeric order, as an intset would.
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
    /// A fresh set holding `members`, with the encoding Redis gives a set built by adding them
    /// one by one to a new intset (SINTERSTORE, SUNIONSTORE, SDIFFSTORE).
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>, t: &Thresholds) -> Self {
        let mut s = SetValue::default();
        for m in members {
            s.insert(m, t);
        }
        s
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
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

    /// Removes a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.members.swap_remove(member)
    }

    /// The member in slot `i`.
    pub fn member_at(&self, i: usize) -> Option<&[u8]> {
        self.members.get_index(i).map(|m| &**m)
    }

    /// The members in the order Redis would list them: ascending integers for an intset,
    /// slot order for a hashtable.
    pub fn ordered(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self.members.iter().map(|m| &**m).collect();
        if !self.big {
            out.sort_by_key(|m| parse_i64(m).unwrap_or(i64::MAX));
        }
        out
    }

    /// Removes up to `count` random members and returns them.
    pub fn pop_random(&mut self, count: usize) -> Vec<Box<[u8]>> {
        let mut out = Vec::with_capacity(count.min(self.len()));
        for _ in 0..count {
            if self.members.is_empty() {
                break;
            }
            let i = rand::random_range(0..self.members.len());
            if let Some(m) = self.members.swap_remove_index(i) {
                out.push(m);
            }
        }
        out
    }

    /// `count` random members: distinct ones (at most `len`) when `unique`, else `count`
    /// independent picks that may repeat.
    pub fn random_members(&self, count: usize, unique: bool) -> Vec<&[u8]> {
        super::hash::random_slots(self.len(), count, unique)
            .into_iter()
            .filter_map(|i| self.member_at(i))
            .collect()
    }

    /// One SSCAN step from `cursor`: up to `count` slots (everything at once while the set is
    /// intset-sized, as Redis does) and the next cursor.
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<&[u8]>, u64) {
        if !self.big {
            return (self.ordered(), 0);
        }
        super::db::scan_slots(self.len(), cursor, count, |i| self.member_at(i))
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

/// The members common to every set, in the order of the smallest set (a missing set is
/// empty, so any `None` gives an empty result). Stops after `limit` members (0: no limit).
pub fn intersection<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<&'a [u8]> {
    let mut present: Vec<&SetValue> = Vec::with_capacity(sets.len());
    for s in sets {
        match s {
            Some(s) => present.push(s),
            None => return Vec::new(),
        }
    }
    present.sort_by_key(|s| s.len());
    let Some((first, rest)) = present.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.ordered() {
        if rest.iter().all(|s| s.contains(m)) {
            out.push(m);
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// The union of the sets (missing ones count as empty) as a fresh set.
pub fn union(sets: &[Option<&SetValue>], t: &Thresholds) -> SetValue {
    let mut out = SetValue::default();
    for s in sets.iter().flatten() {
        for m in s.members.iter() {
            out.insert(m, t);
        }
    }
    out
}

/// The members of the first set that are in none of the others, as a fresh set.
pub fn difference(sets: &[Option<&SetValue>], t: &Thresholds) -> SetValue {
    let Some((Some(first), rest)) = sets.split_first() else {
        return SetValue::default();
    };
    let rest: Vec<&SetValue> = rest.iter().flatten().copied().collect();
    SetValue::from_members(
        first
            .members
            .iter()
            .map(|m| &**m)
            .filter(|m| !rest.iter().any(|s| s.contains(m))),
        t,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds::default()
    }

    fn set(items: &[&str]) -> SetValue {
        SetValue::from_members(items.iter().map(|s| s.as_bytes()), &t())
    }

    fn sorted(v: Vec<&[u8]>) -> Vec<String> {
        let mut v: Vec<String> = v
            .into_iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn encoding_is_intset_until_a_string_or_too_many() {
        let th = Thresholds {
            set_max_intset_entries: 3,
            ..Thresholds::default()
        };
        let mut s = SetValue::default();
        for m in ["1", "2", "3"] {
            s.insert(m.as_bytes(), &th);
        }
        assert_eq!(s.encoding(), "intset");
        s.insert(b"4", &th);
        assert_eq!(s.encoding(), "hashtable");
        let s = SetValue::from_members([&b"1"[..], b"a"], &th);
        assert_eq!(s.encoding(), "hashtable");
        let s = SetValue::from_members([&b"213244124402402314402033402"[..]], &th);
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn intset_members_are_listed_in_numeric_order() {
        let s = set(&["10", "-3", "2"]);
        assert_eq!(s.ordered(), vec![&b"-3"[..], b"2", b"10"]);
        assert_eq!(s.scan(0, 1), (vec![&b"-3"[..], b"2", b"10"], 0));
    }

    #[test]
    fn remove_and_pop() {
        let mut s = set(&["a", "b", "c"]);
        assert!(s.remove(b"b"));
        assert!(!s.remove(b"b"));
        let popped = s.pop_random(5);
        assert_eq!(popped.len(), 2);
        assert!(s.is_empty());
    }

    #[test]
    fn random_members_unique_and_repeating() {
        let s = set(&["a", "b", "c", "d"]);
        let mut u = s.random_members(3, true);
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), 3);
        assert_eq!(s.random_members(10, true).len(), 4);
        assert_eq!(s.random_members(10, false).len(), 10);
    }

    #[test]
    fn algebra() {
        let a = set(&["1", "2", "3", "x"]);
        let b = set(&["2", "3", "4"]);
        let c = set(&["3", "x"]);
        assert_eq!(sorted(intersection(&[Some(&a), Some(&b)], 0)), ["2", "3"]);
        assert_eq!(intersection(&[Some(&a), Some(&b), Some(&c)], 0).len(), 1);
        assert_eq!(intersection(&[Some(&a), Some(&b)], 1).len(), 1);
        assert!(intersection(&[Some(&a), None], 0).is_empty());
        let u = union(&[Some(&a), None, Some(&b)], &t());
        assert_eq!(sorted(u.ordered()), ["1", "2", "3", "4", "x"]);
        assert_eq!(u.encoding(), "hashtable");
        let d = difference(&[Some(&a), Some(&b), None], &t());
        assert_eq!(sorted(d.ordered()), ["1", "x"]);
        let d = difference(&[Some(&a), Some(&c)], &t());
        assert_eq!(d.encoding(), "intset", "a fresh encoding from the content");
        assert!(difference(&[None, Some(&a)], &t()).is_empty());
    }
}
