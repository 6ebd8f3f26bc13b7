//! List values and the operations the list commands need, with Redis's index rules.

use std::collections::VecDeque;

/// An end of a list: `LEFT` (head) or `RIGHT` (tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (`LEFT`, `LPUSH`, `LPOP`).
    Left,
    /// The tail (`RIGHT`, `RPUSH`, `RPOP`).
    Right,
}

impl End {
    /// Parses `LEFT` / `RIGHT` (ASCII case-insensitive).
    pub fn parse(word: &[u8]) -> Option<End> {
        if word.eq_ignore_ascii_case(b"left") {
            Some(End::Left)
        } else if word.eq_ignore_ascii_case(b"right") {
            Some(End::Right)
        } else {
            None
        }
    }

    /// The event a pop from this end emits (`lpop` / `rpop`).
    pub fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }

    /// The event a push to this end emits (`lpush` / `rpush`).
    pub fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }
}

/// The options of one `LPOS` search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosQuery {
    /// `RANK`: the n-th match to start from; negative searches from the tail. Never 0.
    pub rank: i64,
    /// `COUNT`: how many matches to return (0: all); `None` when the option is absent, in
    /// which case at most one match is returned.
    pub count: Option<i64>,
    /// `MAXLEN`: how many elements to compare at most (0: all).
    pub maxlen: i64,
}

/// A list: a deque of byte strings. Redis 7.0 reports every list as `quicklist`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: VecDeque<Box<[u8]>>,
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Length as a Redis `long`.
    fn ilen(&self) -> i64 {
        i64::try_from(self.items.len()).unwrap_or(i64::MAX)
    }

    /// Pushes one element at `end`.
    pub fn push(&mut self, end: End, item: &[u8]) {
        match end {
            End::Left => self.items.push_front(item.into()),
            End::Right => self.items.push_back(item.into()),
        }
    }

    /// Pushes each element in turn at `end` (so `LPUSH k a b` leaves `b a`).
    pub fn push_all<'a>(&mut self, end: End, items: impl IntoIterator<Item = &'a [u8]>) {
        for item in items {
            self.push(end, item);
        }
    }

    /// Pops one element from `end`.
    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        match end {
            End::Left => self.items.pop_front(),
            End::Right => self.items.pop_back(),
        }
    }

    /// Pops up to `n` elements from `end`, in the order they were popped.
    pub fn pop_many(&mut self, end: End, n: usize) -> Vec<Box<[u8]>> {
        let n = n.min(self.items.len());
        match end {
            End::Left => self.items.drain(..n).collect(),
            End::Right => {
                let at = self.items.len() - n;
                let mut out: Vec<_> = self.items.drain(at..).collect();
                out.reverse();
                out
            }
        }
    }

    /// The position of a Redis index (negative counts from the tail), if it is in range.
    fn position(&self, index: i64) -> Option<usize> {
        let len = self.ilen();
        let i = if index < 0 {
            len.checked_add(index)?
        } else {
            index
        };
        if (0..len).contains(&i) {
            usize::try_from(i).ok()
        } else {
            None
        }
    }

    /// The element at a Redis index (`LINDEX`).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        self.position(index)
            .and_then(|i| self.items.get(i))
            .map(|b| &**b)
    }

    /// Replaces the element at a Redis index (`LSET`); false if out of range.
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        match self.position(index).and_then(|i| self.items.get_mut(i)) {
            Some(slot) => {
                *slot = value.into();
                true
            }
            None => false,
        }
    }

    /// Normalises an inclusive `start..=end` range as `LRANGE` / `LTRIM` do; `None` when it
    /// selects nothing.
    pub fn range_bounds(&self, start: i64, end: i64) -> Option<(usize, usize)> {
        let len = self.ilen();
        let mut start = if start < 0 {
            len.saturating_add(start)
        } else {
            start
        };
        let mut end = if end < 0 {
            len.saturating_add(end)
        } else {
            end
        };
        if start < 0 {
            start = 0;
        }
        if start > end || start >= len {
            return None;
        }
        if end >= len {
            end = len - 1;
        }
        Some((
            usize::try_from(start).expect("start is in 0..len"),
            usize::try_from(end).expect("end is in start..len"),
        ))
    }

    /// The elements of an inclusive Redis range (`LRANGE`).
    pub fn range(&self, start: i64, end: i64) -> impl Iterator<Item = &[u8]> {
        let (from, count) = match self.range_bounds(start, end) {
            Some((s, e)) => (s, e - s + 1),
            None => (0, 0),
        };
        self.items.range(from..from + count).map(|b| &**b)
    }

    /// Keeps only the elements of an inclusive Redis range (`LTRIM`).
    pub fn trim(&mut self, start: i64, end: i64) {
        match self.range_bounds(start, end) {
            Some((s, e)) => {
                self.items.truncate(e + 1);
                self.items.drain(..s);
            }
            None => self.items.clear(),
        }
    }

    /// Removes elements equal to `elem` (`LREM`): the first `count` from the head when
    /// `count > 0`, the first `-count` from the tail when negative, all when 0. Returns how
    /// many were removed.
    pub fn remove(&mut self, count: i64, elem: &[u8]) -> usize {
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let limit = if limit == 0 { usize::MAX } else { limit };
        let mut removed = 0;
        if count >= 0 {
            self.items.retain(|e| {
                if removed < limit && **e == *elem {
                    removed += 1;
                    false
                } else {
                    true
                }
            });
        } else {
            // The first `limit` matches from the tail, as ascending positions.
            let mut doomed: Vec<usize> = (0..self.items.len())
                .rev()
                .filter(|&i| *self.items[i] == *elem)
                .take(limit)
                .collect();
            doomed.reverse();
            removed = doomed.len();
            let mut next = doomed.iter().peekable();
            let mut i = 0;
            self.items.retain(|_| {
                let keep = next.next_if(|&&d| d == i).is_none();
                i += 1;
                keep
            });
        }
        removed
    }

    /// Inserts `value` before or after the first element equal to `pivot` (`LINSERT`).
    /// Returns false when the pivot is not found.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], before: bool) -> bool {
        match self.items.iter().position(|e| &**e == pivot) {
            Some(i) => {
                let at = if before { i } else { i + 1 };
                self.items.insert(at, value.into());
                true
            }
            None => false,
        }
    }

    /// The indexes (from the head) of the elements equal to `elem` that `LPOS` reports.
    ///
    /// Mirrors Redis 7.0's loop, including its `long` arithmetic for extreme ranks, so the
    /// results match byte for byte.
    pub fn positions(&self, elem: &[u8], q: PosQuery) -> Vec<i64> {
        let (rank, from_tail) = if q.rank < 0 {
            (q.rank.wrapping_neg(), true)
        } else {
            (q.rank, false)
        };
        let len = self.ilen();
        let want = q.count.unwrap_or(1);
        let mut out = Vec::new();
        let mut matches: i64 = 0;
        let iter: Box<dyn Iterator<Item = &Box<[u8]>>> = if from_tail {
            Box::new(self.items.iter().rev())
        } else {
            Box::new(self.items.iter())
        };
        for (index, e) in (0i64..).zip(iter) {
            if q.maxlen != 0 && index >= q.maxlen {
                break;
            }
            if &**e != elem {
                continue;
            }
            matches += 1;
            if matches < rank {
                continue;
            }
            out.push(if from_tail { len - index - 1 } else { index });
            if q.count.is_none()
                || (want != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= want)
            {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> ListValue {
        let mut l = ListValue::default();
        l.push_all(End::Right, items.iter().map(|s| s.as_bytes()));
        l
    }

    fn items(l: &ListValue) -> Vec<String> {
        l.items
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    fn strs<'a>(it: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
        it.map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn push_all_left_reverses_argument_order() {
        let mut l = ListValue::default();
        l.push_all(End::Left, [&b"a"[..], b"b", b"c"]);
        assert_eq!(items(&l), ["c", "b", "a"]);
        l.push(End::Right, b"z");
        assert_eq!(items(&l), ["c", "b", "a", "z"]);
    }

    #[test]
    fn pop_many_right_returns_tail_first() {
        let mut l = list(&["a", "b", "c", "d"]);
        let popped: Vec<_> = l.pop_many(End::Right, 3).into_iter().collect();
        assert_eq!(
            popped,
            vec![
                b"d".as_slice().into(),
                b"c".as_slice().into(),
                b"b".as_slice().into()
            ] as Vec<Box<[u8]>>
        );
        assert_eq!(items(&l), ["a"]);
        assert_eq!(l.pop_many(End::Left, 10).len(), 1);
        assert!(l.is_empty());
        assert!(l.pop(End::Left).is_none());
    }

    #[test]
    fn get_and_set_accept_negative_indexes() {
        let mut l = list(&["a", "b", "c"]);
        assert_eq!(l.get(-1), Some(&b"c"[..]));
        assert_eq!(l.get(-3), Some(&b"a"[..]));
        assert_eq!(l.get(-4), None);
        assert_eq!(l.get(3), None);
        assert_eq!(l.get(i64::MIN), None);
        assert_eq!(l.get(i64::MAX), None);
        assert!(l.set(-2, b"x"));
        assert!(!l.set(5, b"y"));
        assert_eq!(items(&l), ["a", "x", "c"]);
    }

    #[test]
    fn range_follows_lrange_rules() {
        let l = list(&["0", "1", "2", "3", "4"]);
        assert_eq!(strs(l.range(0, -1)), ["0", "1", "2", "3", "4"]);
        assert_eq!(strs(l.range(-2, 100)), ["3", "4"]);
        assert_eq!(strs(l.range(-100, 1)), ["0", "1"]);
        assert!(strs(l.range(3, 1)).is_empty());
        assert!(strs(l.range(5, 10)).is_empty());
        assert!(strs(l.range(0, -10)).is_empty());
        assert_eq!(strs(l.range(i64::MIN, i64::MAX)).len(), 5);
    }

    #[test]
    fn trim_keeps_range_or_empties() {
        let mut l = list(&["0", "1", "2", "3", "4"]);
        l.trim(1, -2);
        assert_eq!(items(&l), ["1", "2", "3"]);
        l.trim(0, -10);
        assert!(l.is_empty());
        let mut l = list(&["a", "b"]);
        l.trim(-1, 100);
        assert_eq!(items(&l), ["b"]);
    }

    #[test]
    fn remove_counts_from_head_tail_or_all() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.remove(1, b"a"), 1);
        assert_eq!(items(&l), ["b", "a", "c", "a"]);
        assert_eq!(l.remove(-1, b"a"), 1);
        assert_eq!(items(&l), ["b", "a", "c"]);
        let mut l = list(&["a", "b", "a", "a"]);
        assert_eq!(l.remove(0, b"a"), 3);
        assert_eq!(items(&l), ["b"]);
        assert_eq!(l.remove(i64::MIN, b"b"), 1);
        let mut l = list(&["a", "b", "a", "b", "a", "a"]);
        assert_eq!(l.remove(-3, b"a"), 3);
        assert_eq!(items(&l), ["a", "b", "b"]);
        assert_eq!(l.remove(-5, b"b"), 2);
        assert_eq!(items(&l), ["a"]);
        assert_eq!(l.remove(0, b"zz"), 0);
    }

    #[test]
    fn insert_before_and_after_first_pivot() {
        let mut l = list(&["a", "b", "b"]);
        assert!(l.insert(b"b", b"x", true));
        assert!(l.insert(b"b", b"y", false));
        assert_eq!(items(&l), ["a", "x", "b", "y", "b"]);
        assert!(!l.insert(b"nope", b"z", true));
    }

    #[test]
    fn positions_handle_rank_count_and_maxlen() {
        let l = list(&["a", "b", "c", "a", "b", "c", "a"]);
        let q = |rank, count, maxlen| PosQuery {
            rank,
            count,
            maxlen,
        };
        assert_eq!(l.positions(b"a", q(1, None, 0)), [0]);
        assert_eq!(l.positions(b"a", q(2, None, 0)), [3]);
        assert_eq!(l.positions(b"a", q(-1, None, 0)), [6]);
        assert_eq!(l.positions(b"a", q(1, Some(0), 0)), [0, 3, 6]);
        assert_eq!(l.positions(b"a", q(-1, Some(0), 0)), [6, 3, 0]);
        assert_eq!(l.positions(b"a", q(2, Some(1), 0)), [3]);
        assert_eq!(l.positions(b"a", q(-2, Some(2), 4)), [3]);
        assert_eq!(l.positions(b"a", q(2, None, 1)), Vec::<i64>::new());
        assert_eq!(l.positions(b"a", q(5, Some(2), 0)), Vec::<i64>::new());
        // Redis's wrapping arithmetic: LONG_MIN stays negative, so every match counts.
        assert_eq!(l.positions(b"a", q(i64::MIN, Some(2), 0)), [6, 3, 0]);
        assert_eq!(l.positions(b"a", q(i64::MIN, None, 0)), [6]);
    }

    #[test]
    fn end_parses_case_insensitively() {
        assert_eq!(End::parse(b"LeFt"), Some(End::Left));
        assert_eq!(End::parse(b"RIGHT"), Some(End::Right));
        assert_eq!(End::parse(b"up"), None);
        assert_eq!(End::Left.pop_event(), "lpop");
        assert_eq!(End::Right.push_event(), "rpush");
    }
}
