//! Sorted set values: a member → score map plus Redis's skiplist with spans (an order-statistic
//! structure), so rank queries (ZRANK, ZRANGE by rank, ZREMRANGEBYRANK) are O(log n).
//!
//! The skiplist lives in an index arena (`Vec<Node>` with a free list) instead of raw pointers;
//! node `0` is the header. A node is one cache line (score, links, the member's slot in the
//! member table); the member table holds each member once, inline when short, with its score
//! and node, so a score change needs one member lookup and no skiplist search when the order
//! does not change.
//! Order is (score, member bytes), as Redis orders both its listpack and skiplist encodings.

use std::cmp::Ordering;
use std::ops::Range;

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
/// Levels every node stores itself (levels 0 and 1).
const BASE_LEVELS: usize = 2;
/// Upper levels of a small tall node (heights 3 and 4).
const SMALL_UPPER: usize = 2;
/// Upper levels of a big tall node (heights 5 to 32).
const BIG_UPPER: usize = MAX_LEVEL - BASE_LEVELS;
/// Flag of a tall id naming a big tall node.
const BIG: u32 = 1 << 31;
/// "No node" in the arenas (also "no slot").
const NIL: u32 = u32::MAX;
/// The header's base node.
const HEAD: u32 = 0;
/// The header's tall node (big, index 0).
const HEAD_TALL: u32 = BIG;

/// A member as a sorted set's table stores it: members up to 24 bytes live inline in the
/// table's slot (as [`super::db::DbKey`] does for keys); longer ones spill to the heap.
pub type Member = SmallVec<[u8; 24]>;

/// What the member table holds for a member: its score and its skiplist node.
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    node: u32,
}

/// Member → score and node. Its slots (`0..len`) are what ZSCAN and ZRANDMEMBER walk; a skiplist
/// node refers to its member by slot.
type Dict = FastMap<Member, Entry>;

/// The member in dict slot `slot`.
fn member_at(dict: &Dict, slot: u32) -> &[u8] {
    dict.get_index(slot as usize).map_or(&[], |(m, _)| &m[..])
}

#[derive(Debug, Clone, Copy)]
struct Level {
    forward: u32,
    span: u32,
}

const EMPTY_LEVEL: Level = Level {
    forward: NIL,
    span: 0,
};

/// A node's bottom part, one per member (32 bytes): its score, its member's dict slot and
/// levels 0 and 1.
#[derive(Debug, Clone)]
struct Node {
    score: f64,
    /// The member's dict slot (NIL for the header and free nodes).
    slot: u32,
    /// The tall id of the node's upper levels, or NIL below height 3.
    tall: u32,
    levels: [Level; BASE_LEVELS],
}

/// The upper levels (2 and up) of a node of height 3 or more, with copies of its score and
/// slot. Links at level 2 and up join tall nodes, so searches through the upper levels only
/// touch these few compact nodes (which stay in cache) and reach the big arena of [`Node`]s
/// for the last two levels only.
#[derive(Debug, Clone)]
struct Tall<const N: usize> {
    score: f64,
    slot: u32,
    /// The node's base id.
    base: u32,
    levels: [Level; N],
}

const _: () = assert!(std::mem::size_of::<Node>() == 32);
const _: () = assert!(std::mem::size_of::<Tall<SMALL_UPPER>>() == 32);

/// Redis's zskiplist over arenas. A node is named by its base id at levels 0 and 1 and by its
/// tall id (a small or, with [`BIG`], a big tall node) at levels 2 and up; a search switches
/// from one to the other when it steps down to level 1.
#[derive(Debug, Clone)]
struct SkipList {
    nodes: Vec<Node>,
    /// Backward links by base id (kept apart: only reverse walks and relinking read them).
    back: Vec<u32>,
    small: Vec<Tall<SMALL_UPPER>>,
    big: Vec<Tall<BIG_UPPER>>,
    free: Vec<u32>,
    free_small: Vec<u32>,
    free_big: Vec<u32>,
    tail: u32,
    level: usize,
    len: usize,
}

fn idx(i: u32) -> usize {
    i as usize
}

fn span_u32(n: usize) -> u32 {
    u32::try_from(n).expect("sorted sets hold fewer than 2^32 members")
}

fn arena_id(n: usize) -> u32 {
    u32::try_from(n)
        .ok()
        .filter(|&i| i < BIG)
        .expect("arena below 2^31 nodes")
}

/// A random level with Redis's distribution (p = 1/4).
fn random_level() -> usize {
    let mut level = 1;
    while level < MAX_LEVEL && (rand::random::<u32>() & 0xFFFF) < 0x4000 {
        level += 1;
    }
    level
}

/// The header's id at level `i`.
fn head(i: usize) -> u32 {
    if i < BASE_LEVELS { HEAD } else { HEAD_TALL }
}

impl SkipList {
    fn new() -> Self {
        let mut zsl = SkipList {
            nodes: Vec::new(),
            back: Vec::new(),
            small: Vec::new(),
            big: Vec::new(),
            free: Vec::new(),
            free_small: Vec::new(),
            free_big: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
        };
        let head = zsl.alloc(0.0, NIL, MAX_LEVEL);
        debug_assert_eq!((head, zsl.nodes[0].tall), (HEAD, HEAD_TALL));
        zsl
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes[idx(i)]
    }

    fn score(&self, i: u32) -> f64 {
        self.nodes[idx(i)].score
    }

    /// Score and slot of node `x` (an id at level `level`).
    #[inline]
    fn key(&self, x: u32, level: usize) -> (f64, u32) {
        if level < BASE_LEVELS {
            let n = &self.nodes[idx(x)];
            (n.score, n.slot)
        } else if x & BIG == 0 {
            let t = &self.small[idx(x)];
            (t.score, t.slot)
        } else {
            let t = &self.big[idx(x & !BIG)];
            (t.score, t.slot)
        }
    }

    /// Level `level` of node `x` (an id at that level).
    #[inline]
    fn lvl(&self, x: u32, level: usize) -> Level {
        if level < BASE_LEVELS {
            self.nodes[idx(x)].levels[level]
        } else if x & BIG == 0 {
            self.small[idx(x)].levels[level - BASE_LEVELS]
        } else {
            self.big[idx(x & !BIG)].levels[level - BASE_LEVELS]
        }
    }

    #[inline]
    fn level_mut(&mut self, x: u32, level: usize) -> &mut Level {
        if level < BASE_LEVELS {
            &mut self.nodes[idx(x)].levels[level]
        } else if x & BIG == 0 {
            &mut self.small[idx(x)].levels[level - BASE_LEVELS]
        } else {
            &mut self.big[idx(x & !BIG)].levels[level - BASE_LEVELS]
        }
    }

    /// The base id of node `x` (an id at level `level`).
    #[inline]
    fn base_of(&self, x: u32, level: usize) -> u32 {
        if level < BASE_LEVELS {
            x
        } else if x & BIG == 0 {
            self.small[idx(x)].base
        } else {
            self.big[idx(x & !BIG)].base
        }
    }

    /// The id at level `level` of the node with base id `b` (NIL if it is not that tall).
    fn id_at(&self, b: u32, level: usize) -> u32 {
        if level < BASE_LEVELS {
            b
        } else {
            self.nodes[idx(b)].tall
        }
    }

    /// The id at level `level - 1` of `x`, an id at `level`.
    #[inline]
    fn step_down(&self, x: u32, level: usize) -> u32 {
        if level == BASE_LEVELS {
            self.base_of(x, level)
        } else {
            x
        }
    }

    fn fwd(&self, x: u32, level: usize) -> u32 {
        self.lvl(x, level).forward
    }

    fn first(&self) -> u32 {
        self.fwd(HEAD, 0)
    }

    /// Whether node `x` (an id at `level`) sorts before (`score`, `member`).
    #[inline]
    fn lt(&self, dict: &Dict, x: u32, level: usize, score: f64, member: &[u8]) -> bool {
        let (s, slot) = self.key(x, level);
        s < score || (s == score && member_at(dict, slot) < member)
    }

    /// Sets the score of node `b` (a base id) and of its tall copy.
    fn set_score(&mut self, b: u32, score: f64) {
        let n = &mut self.nodes[idx(b)];
        n.score = score;
        let t = n.tall;
        if t == NIL {
        } else if t & BIG == 0 {
            self.small[idx(t)].score = score;
        } else {
            self.big[idx(t & !BIG)].score = score;
        }
    }

    /// Sets the dict slot of node `b` (a base id) and of its tall copy.
    fn set_slot(&mut self, b: u32, slot: u32) {
        let n = &mut self.nodes[idx(b)];
        n.slot = slot;
        let t = n.tall;
        if t == NIL {
        } else if t & BIG == 0 {
            self.small[idx(t)].slot = slot;
        } else {
            self.big[idx(t & !BIG)].slot = slot;
        }
    }

    /// A new unlinked node of height `level`; returns its base id.
    fn alloc(&mut self, score: f64, slot: u32, level: usize) -> u32 {
        let b = match self.free.last() {
            Some(&b) => b,
            None => arena_id(self.nodes.len()),
        };
        let tall = if level > BASE_LEVELS + SMALL_UPPER {
            let t = Tall {
                score,
                slot,
                base: b,
                levels: [EMPTY_LEVEL; BIG_UPPER],
            };
            match self.free_big.pop() {
                Some(i) => {
                    self.big[idx(i)] = t;
                    i | BIG
                }
                None => {
                    self.big.push(t);
                    arena_id(self.big.len() - 1) | BIG
                }
            }
        } else if level > BASE_LEVELS {
            let t = Tall {
                score,
                slot,
                base: b,
                levels: [EMPTY_LEVEL; SMALL_UPPER],
            };
            match self.free_small.pop() {
                Some(i) => {
                    self.small[idx(i)] = t;
                    i
                }
                None => {
                    self.small.push(t);
                    arena_id(self.small.len() - 1)
                }
            }
        } else {
            NIL
        };
        let node = Node {
            score,
            slot,
            tall,
            levels: [EMPTY_LEVEL; BASE_LEVELS],
        };
        if self.free.pop().is_some() {
            self.nodes[idx(b)] = node;
            self.back[idx(b)] = NIL;
        } else {
            self.nodes.push(node);
            self.back.push(NIL);
        }
        b
    }

    fn release(&mut self, b: u32) {
        let n = &mut self.nodes[idx(b)];
        let t = std::mem::replace(&mut n.tall, NIL);
        n.slot = NIL;
        if t == NIL {
        } else if t & BIG == 0 {
            self.free_small.push(t);
        } else {
            self.free_big.push(t & !BIG);
        }
        self.back[idx(b)] = NIL;
        self.free.push(b);
    }

    /// The `update` vector for (`score`, `member`): per level, the last node before it (as
    /// an id at that level).
    fn find_update(&self, dict: &Dict, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = head(self.level - 1);
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.lt(dict, f, i, score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        update
    }

    /// Inserts the member in dict slot `slot`, which is not in the list (zslInsert). Returns
    /// its base id.
    fn insert(&mut self, dict: &Dict, score: f64, slot: u32) -> u32 {
        let member = member_at(dict, slot);
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = head(self.level - 1);
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && self.lt(dict, l.forward, i, score, member) {
                    rank[i] += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        let level = random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = head(i);
                self.level_mut(head(i), i).span = span_u32(self.len);
            }
            self.level = level;
        }
        let b = self.alloc(score, slot, level);
        for i in 0..level {
            let xi = self.id_at(b, i);
            let u = update[i];
            let ul = self.lvl(u, i);
            let crossed = rank[0] - rank[i];
            *self.level_mut(xi, i) = Level {
                forward: ul.forward,
                span: span_u32(ul.span as usize - crossed),
            };
            *self.level_mut(u, i) = Level {
                forward: xi,
                span: span_u32(crossed + 1),
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.level_mut(u, i).span += 1;
        }
        self.back[idx(b)] = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.fwd(b, 0);
        if next == NIL {
            self.tail = b;
        } else {
            self.back[idx(next)] = b;
        }
        self.len += 1;
        b
    }

    /// Unlinks node `b` (a base id) given its `update` vector (zslDeleteNode); does not free
    /// it.
    fn unlink(&mut self, b: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let xi = self.id_at(b, i);
            if xi != NIL && self.fwd(u, i) == xi {
                let xl = self.lvl(xi, i);
                let ul = self.level_mut(u, i);
                ul.span = ul.span + xl.span - 1;
                ul.forward = xl.forward;
            } else {
                self.level_mut(u, i).span -= 1;
            }
        }
        let next = self.fwd(b, 0);
        let back = self.back[idx(b)];
        if next == NIL {
            self.tail = back;
        } else {
            self.back[idx(next)] = back;
        }
        while self.level > 1 && self.fwd(head(self.level - 1), self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Unlinks and frees node `b` (a base id).
    fn delete(&mut self, dict: &Dict, b: u32) {
        let n = self.node(b);
        let update = self.find_update(dict, n.score, member_at(dict, n.slot));
        debug_assert_eq!(self.fwd(update[0], 0), b, "the node is in the list");
        self.unlink(b, &update);
        self.release(b);
    }

    /// Changes the score of node `b` (zslUpdateScore): in place when the order does not
    /// change, else unlink and re-insert. Returns the member's base id.
    fn update_score(&mut self, dict: &Dict, b: u32, new: f64) -> u32 {
        let n = self.node(b);
        let (slot, cur) = (n.slot, n.score);
        // Searching first leaves the neighbours in cache for the in-place check.
        let update = self.find_update(dict, cur, member_at(dict, slot));
        debug_assert_eq!(self.fwd(update[0], 0), b, "the node is in the list");
        let back = self.back[idx(b)];
        let next = self.fwd(b, 0);
        if (back == NIL || self.score(back) < new) && (next == NIL || self.score(next) > new) {
            self.set_score(b, new);
            return b;
        }
        self.unlink(b, &update);
        self.release(b);
        self.insert(dict, new, slot)
    }

    /// 1-based rank of (`score`, `member`), or 0 (zslGetRank).
    fn rank(&self, dict: &Dict, score: f64, member: &[u8]) -> usize {
        let mut x = head(self.level - 1);
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    break;
                }
                let (s, slot) = self.key(l.forward, i);
                if s < score || (s == score && member_at(dict, slot) <= member) {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if x != head(i) && member_at(dict, self.key(x, i).1) == member {
                return rank;
            }
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        0
    }

    /// The base id of the node at 1-based `rank`, or NIL (zslGetElementByRank).
    fn by_rank(&self, rank: usize) -> u32 {
        let mut x = head(self.level - 1);
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return if x == head(i) {
                    NIL
                } else {
                    self.base_of(x, i)
                };
            }
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        NIL
    }

    /// How many leading nodes satisfy `pred` (which must hold for a prefix of the list).
    fn count_while(&self, dict: &Dict, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut x = head(self.level - 1);
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    break;
                }
                let (s, slot) = self.key(l.forward, i);
                if pred(s, member_at(dict, slot)) {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        rank
    }

    /// Removes the nodes at 1-based ranks `start..=end` (zslDeleteRangeByRank); returns their
    /// dict slots.
    fn delete_rank_range(&mut self, start: usize, end: usize) -> Vec<u32> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = head(self.level - 1);
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
            if i > 0 {
                x = self.step_down(x, i);
            }
        }
        traversed += 1;
        let mut x = self.fwd(x, 0);
        let mut removed = Vec::new();
        while x != NIL && traversed <= end {
            let next = self.fwd(x, 0);
            self.unlink(x, &update);
            removed.push(self.node(x).slot);
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
    /// Member → score and skiplist node; change it only through the methods, which keep the
    /// skiplist in step.
    dict: Dict,
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
    dict: &'a Dict,
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
        let item = (member_at(self.dict, n.slot), n.score);
        self.cur = if self.rev {
            self.zsl.back[idx(self.cur)]
        } else {
            n.levels[0].forward
        };
        Some(item)
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
        self.dict.get(member).map(|e| e.score)
    }

    /// Every member and its score in slot order (see [`Self::slot`]), not score order.
    pub fn slots(&self) -> impl ExactSizeIterator<Item = (&[u8], f64)> + '_ {
        self.dict.iter().map(|(m, e)| (&m[..], e.score))
    }

    /// Makes room for `n` more members.
    pub fn reserve(&mut self, n: usize) {
        self.dict.reserve(n);
        self.zsl.nodes.reserve(n);
        self.zsl.back.reserve(n);
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
        match self.dict.get_full(member).map(|(i, _, e)| (i, e.score)) {
            Some((slot, old)) => {
                if old != score {
                    self.set_score(slot, score);
                }
                Some(old)
            }
            None => {
                self.add_new(member, score, t);
                None
            }
        }
    }

    /// Sets the score of the member in dict slot `slot`.
    fn set_score(&mut self, slot: usize, score: f64) {
        let s = self.stored(score);
        let Some(node) = self.dict.get_index(slot).map(|(_, e)| e.node) else {
            return;
        };
        let node = self.zsl.update_score(&self.dict, node, s);
        if let Some((_, e)) = self.dict.get_index_mut(slot) {
            *e = Entry { score: s, node };
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
        let (slot, _) = self.dict.insert_full(
            Member::from_slice(member),
            Entry {
                score: s,
                node: NIL,
            },
        );
        let node = self.zsl.insert(&self.dict, s, span_u32(slot));
        if let Some((_, e)) = self.dict.get_index_mut(slot) {
            e.node = node;
        }
    }

    /// ZADD's per-element logic (Redis's `zsetAdd`).
    pub fn add(&mut self, member: &[u8], score: f64, f: AddFlags, t: &Thresholds) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::NaN;
        }
        match self.dict.get_full(member).map(|(i, _, e)| (i, e.score)) {
            Some((slot, cur)) => {
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
                    self.set_score(slot, score);
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
        let (slot, _, e) = self.dict.get_full(member)?;
        let (score, node) = (e.score, e.node);
        self.zsl.delete(&self.dict, node);
        self.remove_slot(slot);
        self.maybe_compact();
        Some(score)
    }

    /// Removes dict slot `slot` (whose node is already gone): the last slot moves into it.
    fn remove_slot(&mut self, slot: usize) {
        self.dict.swap_remove_index(slot);
        if let Some(node) = self.dict.get_index(slot).map(|(_, e)| e.node) {
            self.zsl.set_slot(node, span_u32(slot));
        }
    }

    /// Rebuilds the skiplist arena once most of its slots are free, so a set that shrank gives
    /// its memory back (amortized O(log n) per removal).
    fn maybe_compact(&mut self) {
        let free = self.zsl.free.len();
        if free < 1024 || free < 2 * self.zsl.len {
            return;
        }
        let order: Vec<(u32, f64)> = self
            .iter_nodes(self.zsl.first(), false)
            .map(|x| (self.zsl.node(x).slot, self.zsl.node(x).score))
            .collect();
        let mut fresh = SkipList::new();
        for (slot, score) in order {
            let node = fresh.insert(&self.dict, score, slot);
            if let Some((_, e)) = self.dict.get_index_mut(idx(slot)) {
                e.node = node;
            }
        }
        self.zsl = fresh;
        self.dict.shrink_to_fit();
    }

    /// Node indexes from `x` on, following forward (or backward) links.
    fn iter_nodes(&self, x: u32, rev: bool) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors((x != NIL).then_some(x), move |&x| {
            let next = if rev {
                self.zsl.back[idx(x)]
            } else {
                self.zsl.fwd(x, 0)
            };
            (next != NIL).then_some(next)
        })
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        match self.zsl.rank(&self.dict, score, member) {
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
                Some((member_at(&self.dict, n.slot), n.score))
            }
        }
    }

    fn iter_at(&self, cur: u32, rev: bool) -> Iter<'_> {
        Iter {
            zsl: &self.zsl,
            dict: &self.dict,
            cur,
            rev,
        }
    }

    /// Every member in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_at(self.zsl.first(), false)
    }

    /// Every member in descending order.
    pub fn iter_rev(&self) -> Iter<'_> {
        self.iter_at(self.zsl.tail, true)
    }

    /// Members from 0-based ascending `rank`, going up (`rev == false`) or down.
    pub fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        self.iter_at(self.zsl.by_rank(rank + 1), rev)
    }

    /// The ascending ranks of the members inside a score range.
    pub fn score_range_ranks(&self, r: &ScoreRange) -> Range<usize> {
        if r.is_empty() {
            return 0..0;
        }
        let lo = self.zsl.count_while(&self.dict, |s, _| !r.gte_min(s));
        let hi = self.zsl.count_while(&self.dict, |s, _| r.lte_max(s));
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
            let lo = self.zsl.count_while(&self.dict, |_, m| !r.gte_min(m));
            let hi = self.zsl.count_while(&self.dict, |_, m| r.lte_max(m));
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
        let mut slots = self.zsl.delete_rank_range(range.start + 1, range.end);
        // From the highest slot down, the slot moving into a freed one is never a victim.
        slots.sort_unstable_by(|a, b| b.cmp(a));
        for &slot in &slots {
            self.remove_slot(idx(slot));
        }
        self.maybe_compact();
        slots.len()
    }

    /// Removes and returns the lowest (or with `max`, highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Member, f64)> {
        let x = if max { self.zsl.tail } else { self.zsl.first() };
        if x == NIL {
            return None;
        }
        let n = self.zsl.node(x);
        let (m, s) = (Member::from_slice(member_at(&self.dict, n.slot)), n.score);
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
        self.dict.get_index(i).map(|(m, e)| (&m[..], e.score))
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
            let zeros: Vec<usize> = (0..self.dict.len())
                .filter(|&i| {
                    self.dict
                        .get_index(i)
                        .is_some_and(|(_, e)| e.score == 0.0 && e.score.is_sign_negative())
                })
                .collect();
            for slot in zeros {
                self.set_score(slot, 0.0);
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
    fn score_changes_on_a_large_set_keep_order_ranks_and_slots() {
        let mut z = ZSetValue::default();
        for i in 0..3000u32 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i), &t());
        }
        assert!(z.zsl.level > 4, "tall nodes of both kinds exist");
        for i in 0..3000u32 {
            let m = format!("m{}", (i * 7919) % 3000);
            let s = f64::from((i * 31) % 1000);
            // A move, then (usually) an in-place change.
            z.insert(m.as_bytes(), s + 0.5, &t());
            z.insert(m.as_bytes(), s + 0.25, &t());
            if i % 7 == 0 {
                z.remove(format!("m{}", (i * 13) % 3000).as_bytes());
            }
        }
        check(&z);
        for i in 0..z.len() {
            let (m, s) = z.slot(i).expect("slot in range");
            assert_eq!(z.score(m), Some(s));
        }
        assert_eq!(z.remove_rank_range(100..900), 800);
        check(&z);
        for i in 0..z.len() {
            let (m, s) = z.slot(i).expect("slot in range");
            assert_eq!(z.score(m), Some(s));
        }
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
