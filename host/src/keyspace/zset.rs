//! Sorted set values: a member → score map plus Redis's skiplist with spans (an order-statistic
//! structure), so rank queries (ZRANK, ZRANGE by rank, ZREMRANGEBYRANK) are O(log n).
//!
//! The skiplist lives in an index arena (`Vec<Node>` with a free list) instead of raw pointers;
//! node `0` is the header. Members are shared between the map and the list with `Arc<[u8]>`.
//! Order is (score, member bytes), as Redis orders both its listpack and skiplist encodings.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use smallvec::SmallVec;

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

/// Maximum skiplist level (Redis's `ZSKIPLIST_MAXLEVEL`).
const MAX_LEVEL: usize = 32;
/// "No node" in the arena.
const NIL: u32 = u32::MAX;
/// The header node.
const HEAD: u32 = 0;

#[derive(Debug, Clone, Copy)]
struct Level {
    forward: u32,
    span: u32,
}

#[derive(Debug, Clone)]
struct Node {
    member: Arc<[u8]>,
    score: f64,
    backward: u32,
    levels: SmallVec<[Level; 2]>,
}

impl Node {
    /// Whether this node sorts before (`score`, `member`).
    fn lt(&self, score: f64, member: &[u8]) -> bool {
        self.score < score || (self.score == score && *self.member < *member)
    }
}

/// Redis's zskiplist over an arena.
#[derive(Debug, Clone)]
struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    level: usize,
    len: usize,
    empty: Arc<[u8]>,
}

fn idx(i: u32) -> usize {
    i as usize
}

fn span_u32(n: usize) -> u32 {
    u32::try_from(n).expect("sorted sets hold fewer than 2^32 members")
}

/// A random level with Redis's distribution (p = 1/4).
fn random_level() -> usize {
    let mut level = 1;
    while level < MAX_LEVEL && (rand::random::<u32>() & 0xFFFF) < 0x4000 {
        level += 1;
    }
    level
}

impl SkipList {
    fn new() -> Self {
        let empty: Arc<[u8]> = Arc::from(&[][..]);
        let header = Node {
            member: Arc::clone(&empty),
            score: 0.0,
            backward: NIL,
            levels: std::iter::repeat_n(
                Level {
                    forward: NIL,
                    span: 0,
                },
                MAX_LEVEL,
            )
            .collect(),
        };
        SkipList {
            nodes: vec![header],
            free: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
            empty,
        }
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes[idx(i)]
    }

    fn fwd(&self, i: u32, level: usize) -> u32 {
        self.nodes[idx(i)].levels[level].forward
    }

    fn span(&self, i: u32, level: usize) -> usize {
        self.nodes[idx(i)].levels[level].span as usize
    }

    fn level_mut(&mut self, i: u32, level: usize) -> &mut Level {
        &mut self.nodes[idx(i)].levels[level]
    }

    fn first(&self) -> u32 {
        self.fwd(HEAD, 0)
    }

    fn alloc(&mut self, member: Arc<[u8]>, score: f64, level: usize) -> u32 {
        let levels = std::iter::repeat_n(
            Level {
                forward: NIL,
                span: 0,
            },
            level,
        )
        .collect();
        let node = Node {
            member,
            score,
            backward: NIL,
            levels,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[idx(i)] = node;
                i
            }
            None => {
                let i = u32::try_from(self.nodes.len()).expect("arena below 2^32 nodes");
                self.nodes.push(node);
                i
            }
        }
    }

    fn release(&mut self, i: u32) {
        let empty = Arc::clone(&self.empty);
        let n = &mut self.nodes[idx(i)];
        n.member = empty;
        n.levels.clear();
        n.backward = NIL;
        self.free.push(i);
    }

    /// The `update` vector for (`score`, `member`): per level, the last node before it.
    fn find_update(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.node(f).lt(score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    /// Inserts a member that is not in the list (zslInsert).
    fn insert(&mut self, score: f64, member: Arc<[u8]>) -> u32 {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.node(f).lt(score, &member) {
                    rank[i] += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.level_mut(HEAD, i).span = span_u32(self.len);
            }
            self.level = level;
        }
        let x = self.alloc(member, score, level);
        for i in 0..level {
            let u = update[i];
            let ul = self.nodes[idx(u)].levels[i];
            let crossed = rank[0] - rank[i];
            *self.level_mut(x, i) = Level {
                forward: ul.forward,
                span: span_u32(ul.span as usize - crossed),
            };
            *self.level_mut(u, i) = Level {
                forward: x,
                span: span_u32(crossed + 1),
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.level_mut(u, i).span += 1;
        }
        self.nodes[idx(x)].backward = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.fwd(x, 0);
        if next == NIL {
            self.tail = x;
        } else {
            self.nodes[idx(next)].backward = x;
        }
        self.len += 1;
        x
    }

    /// Unlinks node `x` given its `update` vector (zslDeleteNode); does not free it.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let xl = self.nodes[idx(x)].levels[i];
                let ul = self.level_mut(u, i);
                ul.span = ul.span + xl.span - 1;
                ul.forward = xl.forward;
            } else {
                self.level_mut(u, i).span -= 1;
            }
        }
        let next = self.fwd(x, 0);
        let back = self.node(x).backward;
        if next == NIL {
            self.tail = back;
        } else {
            self.nodes[idx(next)].backward = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Deletes (`score`, `member`); true if it was there.
    fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let update = self.find_update(score, member);
        let x = self.fwd(update[0], 0);
        if x != NIL && self.node(x).score == score && *self.node(x).member == *member {
            self.unlink(x, &update);
            self.release(x);
            true
        } else {
            false
        }
    }

    /// Changes the score of an existing member (zslUpdateScore): in place when the order does
    /// not change, else unlink and re-insert.
    fn update_score(&mut self, cur: f64, member: &[u8], new: f64) {
        let update = self.find_update(cur, member);
        let x = self.fwd(update[0], 0);
        debug_assert!(x != NIL && *self.node(x).member == *member);
        if x == NIL {
            return;
        }
        let back = self.node(x).backward;
        let next = self.fwd(x, 0);
        if (back == NIL || self.node(back).score < new)
            && (next == NIL || self.node(next).score > new)
        {
            self.nodes[idx(x)].score = new;
            return;
        }
        self.unlink(x, &update);
        let m = Arc::clone(&self.node(x).member);
        self.release(x);
        self.insert(new, m);
    }

    /// 1-based rank of (`score`, `member`), or 0 (zslGetRank).
    fn rank(&self, score: f64, member: &[u8]) -> usize {
        let mut x = HEAD;
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if n.score < score || (n.score == score && *n.member <= *member) {
                    rank += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && *self.node(x).member == *member {
                return rank;
            }
        }
        0
    }

    /// The node at 1-based `rank`, or NIL (zslGetElementByRank).
    fn by_rank(&self, rank: usize) -> u32 {
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && traversed + self.span(x, i) <= rank {
                    traversed += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return if x == HEAD { NIL } else { x };
            }
        }
        NIL
    }

    /// How many leading nodes satisfy `pred` (which must hold for a prefix of the list).
    fn count_while(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if pred(n.score, &n.member) {
                    rank += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
        }
        rank
    }

    /// Removes the nodes at 1-based ranks `start..=end` (zslDeleteRangeByRank); returns their
    /// members.
    fn delete_rank_range(&mut self, start: usize, end: usize) -> Vec<Arc<[u8]>> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && traversed + self.span(x, i) < start {
                    traversed += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        let mut x = self.fwd(x, 0);
        let mut removed = Vec::new();
        while x != NIL && traversed <= end {
            let next = self.fwd(x, 0);
            self.unlink(x, &update);
            removed.push(Arc::clone(&self.node(x).member));
            self.release(x);
            traversed += 1;
            x = next;
        }
        removed
    }
}

/// A score interval as ZRANGEBYSCORE takes it (`(` makes a bound exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Lower bound excluded.
    pub minex: bool,
    /// Upper bound excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Parses `min` and `max` as Redis's `zslParseRange` (strtod, `(` prefix, no NaN).
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = parse_score_bound(min)?;
        let (max, maxex) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    /// Whether `v` is above the lower bound.
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is below the upper bound.
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether no score can be inside.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match b.first() {
        Some(b'(') => (&b[1..], true),
        _ => (b, false),
    };
    let (v, used) = strtod(body);
    if used != body.len() || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every string.
    Min,
    /// `+`: above every string.
    Max,
    /// A string bound.
    Str(Box<[u8]>),
}

impl LexBound {
    /// Redis's `sdscmplex`.
    fn cmp_to(&self, other: &LexBound) -> Ordering {
        match (self, other) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
            (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
            (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
            (LexBound::Str(a), LexBound::Str(b)) => a.cmp(b),
        }
    }

    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Less,
            LexBound::Max => Ordering::Greater,
            LexBound::Str(s) => (**s).cmp(member),
        }
    }
}

/// A lexicographic interval as ZRANGEBYLEX takes it (`[a`, `(a`, `-`, `+`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexBound,
    /// Upper bound.
    pub max: LexBound,
    /// Lower bound excluded.
    pub minex: bool,
    /// Upper bound excluded.
    pub maxex: bool,
}

impl LexRange {
    /// Parses `min` and `max` as Redis's `zslParseLexRange`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        let (min, minex) = parse_lex_bound(min)?;
        let (max, maxex) = parse_lex_bound(max)?;
        Some(LexRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    /// Whether `member` is above the lower bound.
    pub fn gte_min(&self, member: &[u8]) -> bool {
        // cmp(value, min) = reverse of cmp(min, value)
        let c = self.min.cmp_member(member).reverse();
        if self.minex { c.is_gt() } else { c.is_ge() }
    }

    /// Whether `member` is below the upper bound.
    pub fn lte_max(&self, member: &[u8]) -> bool {
        let c = self.max.cmp_member(member).reverse();
        if self.maxex { c.is_lt() } else { c.is_le() }
    }

    /// Whether no string can be inside.
    pub fn is_empty(&self) -> bool {
        let c = self.min.cmp_to(&self.max);
        c.is_gt() || (c.is_eq() && (self.minex || self.maxex))
    }
}

fn parse_lex_bound(b: &[u8]) -> Option<(LexBound, bool)> {
    match b.first()? {
        b'+' if b.len() == 1 => Some((LexBound::Max, true)),
        b'-' if b.len() == 1 => Some((LexBound::Min, true)),
        b'(' => Some((LexBound::Str(b[1..].into()), true)),
        b'[' => Some((LexBound::Str(b[1..].into()), false)),
        _ => None,
    }
}

/// C `strtod` on a byte string: the value and how many bytes it used (0 when no number was
/// found). Accepts leading whitespace, a sign, `inf`/`infinity`, `nan`, hexadecimal and
/// decimal forms; out-of-range values become ±inf or 0 as strtod returns them.
pub fn strtod(s: &[u8]) -> (f64, usize) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let starts = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if starts(b"infinity") {
        return (sign * f64::INFINITY, i + 8);
    }
    if starts(b"inf") {
        return (sign * f64::INFINITY, i + 3);
    }
    if starts(b"nan") {
        let mut j = i + 3;
        if s.get(j) == Some(&b'(') {
            let mut k = j + 1;
            while k < s.len() && (s[k].is_ascii_alphanumeric() || s[k] == b'_') {
                k += 1;
            }
            if s.get(k) == Some(&b')') {
                j = k + 1;
            }
        }
        return (f64::NAN, j);
    }
    if (starts(b"0x")) && rest.len() > 2 {
        if let Some((v, used)) = hex_float(&rest[2..]) {
            return (sign * v, i + 2 + used);
        }
        // "0x" without hex digits parses as "0".
        return (sign * 0.0, i + 1);
    }
    // Decimal: digits [. digits] [e [sign] digits]
    let mut j = i;
    let mut digits = 0;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if j < s.len() && s[j] == b'.' {
        j += 1;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0);
    }
    if j < s.len() && (s[j] == b'e' || s[j] == b'E') {
        let mut k = j + 1;
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        let exp_start = k;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        if k > exp_start {
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[i..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    (sign * v, j)
}

/// Parses hexadecimal float digits after `0x` (`1f`, `1.8`, `1p4`); None without digits.
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let mut v = 0.0f64;
    let mut j = 0;
    let mut digits = 0;
    while let Some(d) = s.get(j).and_then(|c| char::from(*c).to_digit(16)) {
        v = v * 16.0 + f64::from(d);
        j += 1;
        digits += 1;
    }
    if s.get(j) == Some(&b'.') {
        let mut k = j + 1;
        let mut scale = 1.0 / 16.0;
        let mut frac_digits = 0;
        while let Some(d) = s.get(k).and_then(|c| char::from(*c).to_digit(16)) {
            v += f64::from(d) * scale;
            scale /= 16.0;
            k += 1;
            frac_digits += 1;
        }
        if digits + frac_digits > 0 {
            j = k;
            digits += frac_digits;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(s.get(j), Some(b'p' | b'P')) {
        let mut k = j + 1;
        let mut eneg = false;
        if let Some(c @ (b'+' | b'-')) = s.get(k) {
            eneg = *c == b'-';
            k += 1;
        }
        let es = k;
        let mut e: i32 = 0;
        while let Some(c) = s.get(k).filter(|c| c.is_ascii_digit()) {
            e = e.saturating_mul(10).saturating_add(i32::from(c - b'0'));
            k += 1;
        }
        if k > es {
            v *= 2f64.powi(if eneg { -e } else { e });
            j = k;
        }
    }
    Some((v, j))
}

/// Parses a score as Redis's `string2d` (`getDoubleFromObject`): the whole string must be a
/// number, no leading space, no NaN, no overflow or underflow to zero.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[0] == 0x0b {
        return None;
    }
    let (v, used) = strtod(s);
    if used != s.len() || v.is_nan() {
        return None;
    }
    if v.is_infinite() {
        // strtod's ERANGE overflow (a finite literal) is rejected; a literal inf is fine.
        let lower = s.to_ascii_lowercase();
        if !lower.ends_with(b"inf") && !lower.ends_with(b"infinity") {
            return None;
        }
    }
    if v == 0.0 && s.iter().any(|c| (b'1'..=b'9').contains(c)) && !is_zero_literal(s) {
        // Underflow to zero (ERANGE with FP_ZERO).
        return None;
    }
    Some(v)
}

/// Whether a literal's mantissa is zero (so a zero result is not an underflow), e.g. `0e5`.
fn is_zero_literal(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    let mantissa_end =
        if lower.starts_with(b"0x") || lower.starts_with(b"-0x") || lower.starts_with(b"+0x") {
            lower.iter().position(|&c| c == b'p').unwrap_or(lower.len())
        } else {
            lower.iter().position(|&c| c == b'e').unwrap_or(lower.len())
        };
    let m = &lower[..mantissa_end];
    let m = m
        .strip_prefix(b"-0x")
        .or_else(|| m.strip_prefix(b"+0x"))
        .or_else(|| m.strip_prefix(b"0x"))
        .unwrap_or(m);
    !m.iter().any(|c| c.is_ascii_hexdigit() && *c != b'0')
}

/// Options of one ZADD element (ZINCRBY is `incr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is lower.
    pub lt: bool,
    /// Increment instead of set.
    pub incr: bool,
}

/// What [`ZSetValue::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// The (resulting) score is NaN; nothing changed.
    NaN,
    /// Skipped because of NX/XX/GT/LT.
    Nop,
    /// A new member with this score.
    Added(f64),
    /// An existing member's score changed to this.
    Updated(f64),
    /// An existing member kept this score (same value).
    Same(f64),
}

/// A sorted set: member → score plus (score, member) order with ranks.
#[derive(Debug, Clone)]
pub struct ZSetValue {
    /// Member → score. Read it freely; change it only through the methods, which keep the
    /// skiplist in step.
    pub(crate) dict: FastMap<Arc<[u8]>, f64>,
    zsl: SkipList,
    /// Set once Redis would have converted the listpack to a skiplist.
    pub big: bool,
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue {
            dict: new_map(),
            zsl: SkipList::new(),
            big: false,
        }
    }
}

/// Iterates members in score order (or reverse), yielding (member, score).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    zsl: &'a SkipList,
    cur: u32,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let n = self.zsl.node(self.cur);
        self.cur = if self.rev {
            n.backward
        } else {
            n.levels[0].forward
        };
        Some((&n.member, n.score))
    }
}

impl ZSetValue {
    /// An empty set in the skiplist encoding, as Redis builds the result of a store command
    /// before [`ZSetValue::fit_encoding`] picks the final encoding.
    pub fn new_skiplist() -> Self {
        ZSetValue {
            big: true,
            ..ZSetValue::default()
        }
    }

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

    /// The listpack encoding stores scores as text, which turns `-0` into `0`.
    fn stored(&self, score: f64) -> f64 {
        if !self.big && score == 0.0 {
            0.0
        } else {
            score
        }
    }

    /// Inserts or updates `member`; returns the previous score. Tracks the encoding.
    pub fn insert(&mut self, member: &[u8], score: f64, t: &Thresholds) -> Option<f64> {
        match self.dict.get(member).copied() {
            Some(old) => {
                if old != score {
                    self.set_score(member, old, score);
                }
                Some(old)
            }
            None => {
                self.add_new(member, score, t);
                None
            }
        }
    }

    fn set_score(&mut self, member: &[u8], old: f64, score: f64) {
        let s = self.stored(score);
        self.zsl.update_score(old, member, s);
        if let Some(v) = self.dict.get_mut(member) {
            *v = s;
        }
    }

    fn add_new(&mut self, member: &[u8], score: f64, t: &Thresholds) {
        if !self.big
            && (self.dict.len() + 1 > t.zset_max_listpack_entries
                || member.len() > t.zset_max_listpack_value)
        {
            self.big = true;
        }
        let s = self.stored(score);
        let m: Arc<[u8]> = Arc::from(member);
        self.zsl.insert(s, Arc::clone(&m));
        self.dict.insert(m, s);
    }

    /// ZADD's per-element logic (Redis's `zsetAdd`).
    pub fn add(&mut self, member: &[u8], score: f64, f: AddFlags, t: &Thresholds) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::NaN;
        }
        match self.dict.get(member).copied() {
            Some(cur) => {
                if f.nx {
                    return AddOutcome::Nop;
                }
                let mut score = score;
                if f.incr {
                    score += cur;
                    if score.is_nan() {
                        return AddOutcome::NaN;
                    }
                }
                if (f.lt && score >= cur) || (f.gt && score <= cur) {
                    return AddOutcome::Nop;
                }
                if score != cur {
                    self.set_score(member, cur, score);
                    AddOutcome::Updated(score)
                } else {
                    AddOutcome::Same(score)
                }
            }
            None if f.xx => AddOutcome::Nop,
            None => {
                self.add_new(member, score, t);
                AddOutcome::Added(score)
            }
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.swap_remove(member)?;
        self.zsl.delete(score, member);
        self.maybe_compact();
        Some(score)
    }

    /// Rebuilds the skiplist arena once most of its slots are free, so a set that shrank gives
    /// its memory back (amortized O(log n) per removal).
    fn maybe_compact(&mut self) {
        let free = self.zsl.free.len();
        if free < 1024 || free < 2 * self.zsl.len {
            return;
        }
        let mut fresh = SkipList::new();
        let mut x = self.zsl.first();
        while x != NIL {
            let n = self.zsl.node(x);
            fresh.insert(n.score, Arc::clone(&n.member));
            x = n.levels[0].forward;
        }
        self.zsl = fresh;
        self.dict.shrink_to_fit();
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        match self.zsl.rank(score, member) {
            0 => None,
            r => Some(r - 1),
        }
    }

    /// The member at 0-based ascending `rank`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match self.zsl.by_rank(rank + 1) {
            NIL => None,
            x => {
                let n = self.zsl.node(x);
                Some((&n.member, n.score))
            }
        }
    }

    /// Every member in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            zsl: &self.zsl,
            cur: self.zsl.first(),
            rev: false,
        }
    }

    /// Every member in descending order.
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter {
            zsl: &self.zsl,
            cur: self.zsl.tail,
            rev: true,
        }
    }

    /// Members from 0-based ascending `rank`, going up (`rev == false`) or down.
    pub fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        Iter {
            zsl: &self.zsl,
            cur: self.zsl.by_rank(rank + 1),
            rev,
        }
    }

    /// The ascending ranks of the members inside a score range.
    pub fn score_range_ranks(&self, r: &ScoreRange) -> Range<usize> {
        if r.is_empty() {
            return 0..0;
        }
        let lo = self.zsl.count_while(|s, _| !r.gte_min(s));
        let hi = self.zsl.count_while(|s, _| r.lte_max(s));
        if hi > lo { lo..hi } else { 0..0 }
    }

    /// The ascending ranks of the members inside a lexicographic range. Meaningful when all
    /// scores are equal; with mixed scores this follows Redis's scans: a listpack is walked
    /// linearly from the front (or, with `rev`, from the back) to the first member past the
    /// near bound and then while members stay inside the far bound.
    pub fn lex_range_ranks(&self, r: &LexRange, rev: bool) -> Range<usize> {
        let (Some((first, _)), Some((last, _))) = (self.iter().next(), self.iter_rev().next())
        else {
            return 0..0;
        };
        if r.is_empty() || !r.gte_min(last) || !r.lte_max(first) {
            return 0..0;
        }
        if self.big {
            let lo = self.zsl.count_while(|_, m| !r.gte_min(m));
            let hi = self.zsl.count_while(|_, m| r.lte_max(m));
            return if hi > lo { lo..hi } else { 0..0 };
        }
        if rev {
            let Some(i) = self.iter_rev().position(|(m, _)| r.lte_max(m)) else {
                return 0..0;
            };
            let end = self.len() - i;
            let run = self
                .iter_from(end - 1, true)
                .take_while(|(m, _)| r.gte_min(m))
                .count();
            end - run..end
        } else {
            let Some(start) = self.iter().position(|(m, _)| r.gte_min(m)) else {
                return 0..0;
            };
            let run = self
                .iter_from(start, false)
                .take_while(|(m, _)| r.lte_max(m))
                .count();
            start..start + run
        }
    }

    /// Removes the members at 0-based ascending ranks `range`; returns how many.
    pub fn remove_rank_range(&mut self, range: Range<usize>) -> usize {
        if range.is_empty() {
            return 0;
        }
        let removed = self.zsl.delete_rank_range(range.start + 1, range.end);
        for m in &removed {
            self.dict.swap_remove(&**m);
        }
        self.maybe_compact();
        removed.len()
    }

    /// Removes and returns the lowest (or with `max`, highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Arc<[u8]>, f64)> {
        let x = if max { self.zsl.tail } else { self.zsl.first() };
        if x == NIL {
            return None;
        }
        let n = self.zsl.node(x);
        let (m, s) = (Arc::clone(&n.member), n.score);
        self.remove(&m);
        Some((m, s))
    }

    /// A uniformly random member.
    pub fn random_member(&self) -> Option<(&[u8], f64)> {
        if self.dict.is_empty() {
            return None;
        }
        self.slot(rand::random_range(0..self.dict.len()))
    }

    /// The member in hash slot `i` (ZSCAN, ZRANDMEMBER); slots are `0..len()`.
    pub fn slot(&self, i: usize) -> Option<(&[u8], f64)> {
        self.dict.get_index(i).map(|(m, s)| (&**m, *s))
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

    /// Picks the encoding for a freshly built set (ZUNIONSTORE, ZRANGESTORE, ...): listpack when
    /// it fits both thresholds, as Redis's `zsetConvertToListpackIfNeeded`.
    pub fn fit_encoding(&mut self, t: &Thresholds) {
        let longest = self.dict.keys().map(|m| m.len()).max().unwrap_or(0);
        self.big =
            self.dict.len() > t.zset_max_listpack_entries || longest > t.zset_max_listpack_value;
        if !self.big {
            let zeros: Vec<Arc<[u8]>> = self
                .dict
                .iter()
                .filter(|(_, s)| **s == 0.0 && s.is_sign_negative())
                .map(|(m, _)| Arc::clone(m))
                .collect();
            for m in zeros {
                self.set_score(&m, -0.0, 0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds::default()
    }

    fn check(z: &ZSetValue) {
        // Order, backward links, ranks and the map all agree.
        let fwd: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let mut rev: Vec<(Vec<u8>, f64)> = z.iter_rev().map(|(m, s)| (m.to_vec(), s)).collect();
        rev.reverse();
        assert_eq!(fwd, rev);
        assert_eq!(fwd.len(), z.len());
        for w in fwd.windows(2) {
            assert!(w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0));
        }
        for (i, (m, s)) in fwd.iter().enumerate() {
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.get_by_rank(i).map(|(m, _)| m.to_vec()), Some(m.clone()));
        }
        assert!(z.get_by_rank(z.len()).is_none());
    }

    #[test]
    fn insert_update_remove_keep_order_and_ranks() {
        let mut z = ZSetValue::default();
        for i in 0..500u32 {
            let m = format!("m{}", i % 97);
            z.insert(m.as_bytes(), f64::from((i * 7919) % 13), &t());
            if i % 5 == 0 {
                z.remove(format!("m{}", (i * 3) % 97).as_bytes());
            }
        }
        check(&z);
        let small = Thresholds {
            zset_max_listpack_entries: 4,
            ..Thresholds::default()
        };
        let mut w = ZSetValue::default();
        for i in 0..2000u32 {
            w.insert(format!("e{}", i % 301).as_bytes(), f64::from(i % 7), &small);
            if i % 3 == 0 {
                w.remove(format!("e{}", (i * 7) % 301).as_bytes());
            }
        }
        check(&w);
        assert!(w.big);
    }

    #[test]
    fn shrinking_set_compacts_its_arena() {
        let mut z = ZSetValue::default();
        for i in 0..5000u32 {
            z.insert(format!("{i:05}").as_bytes(), f64::from(i % 10), &t());
        }
        for i in 0..4990u32 {
            z.remove(format!("{i:05}").as_bytes());
        }
        assert!(
            z.zsl.nodes.len() < 2500,
            "arena kept {} slots",
            z.zsl.nodes.len()
        );
        check(&z);
        assert_eq!(z.remove_rank_range(0..5), 5);
        check(&z);
        assert_eq!(z.len(), 5);
    }

    #[test]
    fn ranges_by_score_and_lex() {
        let mut z = ZSetValue::default();
        for (s, m) in [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")] {
            z.insert(m.as_bytes(), s, &t());
        }
        let r = ScoreRange::parse(b"(1", b"3").expect("valid");
        assert_eq!(z.score_range_ranks(&r), 1..3);
        let r = ScoreRange::parse(b"5", b"+inf").expect("valid");
        assert_eq!(z.score_range_ranks(&r), 0..0);
        assert!(ScoreRange::parse(b"x", b"1").is_none());
        assert!(ScoreRange::parse(b"1", b"nan").is_none());
        let mut l = ZSetValue::default();
        for m in ["alpha", "bar", "cool", "down"] {
            l.insert(m.as_bytes(), 0.0, &t());
        }
        let r = LexRange::parse(b"-", b"[cool").expect("valid");
        assert_eq!(l.lex_range_ranks(&r, false), 0..3);
        assert_eq!(l.lex_range_ranks(&r, true), 0..3);
        let r = LexRange::parse(b"(bar", b"+").expect("valid");
        assert_eq!(l.lex_range_ranks(&r, false), 2..4);
        let r = LexRange::parse(b"+", b"-").expect("valid");
        assert_eq!(l.lex_range_ranks(&r, false), 0..0);
        // Mixed scores in a listpack: Redis's linear scans from either end.
        let mut m = ZSetValue::default();
        for (s, k) in [(1.0, "b"), (2.0, "a"), (3.0, "c"), (4.0, "b2")] {
            m.insert(k.as_bytes(), s, &t());
        }
        let r = LexRange::parse(b"[b", b"[c").expect("valid");
        assert_eq!(m.lex_range_ranks(&r, false), 0..4);
        assert_eq!(m.lex_range_ranks(&r, true), 2..4);
        assert!(LexRange::parse(b"foo", b"+").is_none());
        assert!(LexRange::parse(b"+x", b"+").is_none());
    }

    #[test]
    fn remove_rank_range_and_pop() {
        let mut z = ZSetValue::default();
        for i in 0..50 {
            z.insert(format!("{i:02}").as_bytes(), f64::from(i), &t());
        }
        assert_eq!(z.remove_rank_range(10..20), 10);
        check(&z);
        assert_eq!(z.len(), 40);
        assert_eq!(
            z.get_by_rank(10).map(|(m, _)| m.to_vec()),
            Some(b"20".to_vec())
        );
        let (m, s) = z.pop(true).expect("non-empty");
        assert_eq!((&*m, s), (&b"49"[..], 49.0));
        let (m, _) = z.pop(false).expect("non-empty");
        assert_eq!(&*m, b"00");
        check(&z);
    }

    #[test]
    fn add_flags_follow_zsetadd() {
        let mut z = ZSetValue::default();
        let f = AddFlags::default();
        assert_eq!(z.add(b"x", 10.0, f, &t()), AddOutcome::Added(10.0));
        let gt = AddFlags { gt: true, ..f };
        assert_eq!(z.add(b"x", 5.0, gt, &t()), AddOutcome::Nop);
        assert_eq!(z.add(b"x", 11.0, gt, &t()), AddOutcome::Updated(11.0));
        let incr = AddFlags { incr: true, ..f };
        assert_eq!(z.add(b"x", 0.0, incr, &t()), AddOutcome::Same(11.0));
        z.insert(b"y", f64::INFINITY, &t());
        assert_eq!(z.add(b"y", f64::NEG_INFINITY, incr, &t()), AddOutcome::NaN);
        let xx = AddFlags { xx: true, ..f };
        assert_eq!(z.add(b"new", 1.0, xx, &t()), AddOutcome::Nop);
        let nx = AddFlags { nx: true, ..f };
        assert_eq!(z.add(b"x", 1.0, nx, &t()), AddOutcome::Nop);
        assert_eq!(z.score(b"x"), Some(11.0));
    }

    #[test]
    fn encoding_thresholds() {
        let th = Thresholds {
            zset_max_listpack_entries: 2,
            zset_max_listpack_value: 4,
            ..Thresholds::default()
        };
        let mut z = ZSetValue::default();
        z.insert(b"a", -0.0, &th);
        assert!(z.score(b"a").is_some_and(|s| !s.is_sign_negative()));
        z.insert(b"b", 1.0, &th);
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"c", 1.0, &th);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"c");
        assert_eq!(z.encoding(), "skiplist");
        z.fit_encoding(&th);
        assert_eq!(z.encoding(), "listpack");
        let mut w = ZSetValue::default();
        w.insert(b"longer", 1.0, &th);
        assert_eq!(w.encoding(), "skiplist");
    }

    #[test]
    fn strtod_and_string2d() {
        assert_eq!(strtod(b"1.5"), (1.5, 3));
        assert_eq!(strtod(b"  -2e2x"), (-200.0, 6));
        assert_eq!(strtod(b""), (0.0, 0));
        assert_eq!(strtod(b"0x10"), (16.0, 4));
        assert_eq!(strtod(b"-inf").0, f64::NEG_INFINITY);
        assert!(strtod(b"nan").0.is_nan());
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e-310").map(|v| v > 0.0), Some(true));
        assert!(ScoreRange::parse(b"", b"(").is_some());
        assert!(ScoreRange::parse(b" ", b"1").is_none());
    }
}
