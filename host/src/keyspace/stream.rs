//! Stream values: entries in id order, consumer groups and their pending entries lists.
//!
//! Redis keeps a stream as a radix tree of listpack "nodes" of entries. Approximate trimming
//! (`MAXLEN ~`, `MINID ~`), the `LIMIT` of trimming work and `XINFO STREAM`'s node counts all
//! depend on where node boundaries fall, so [`StreamValue`] models the nodes too: for each node,
//! its master id, its live and deleted entry counts and an estimate of its listpack size computed
//! with listpack's encoding rules. Each node also stores its entries, packed: their ids (deleted
//! ones stay, flagged, until the whole node goes, as in a listpack) and their fields in one
//! buffer, so an entry costs no allocation of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A stream entry id `<ms>-<seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, the smallest id (`-`).
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id (`+`).
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The id `<ms>-<seq>`.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// Whether this is `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The next id (`streamIncrID`), or `None` after the largest one.
    pub fn next(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous id (`streamDecrID`), or `None` before `0-0`.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// The `<ms>-<seq>` text, formatted without allocating.
    pub fn to_text(self) -> IdText {
        let mut buf = [0u8; 41];
        let mut a = itoa::Buffer::new();
        let ms = a.format(self.ms).as_bytes();
        buf[..ms.len()].copy_from_slice(ms);
        buf[ms.len()] = b'-';
        let mut b = itoa::Buffer::new();
        let seq = b.format(self.seq).as_bytes();
        let len = ms.len() + 1 + seq.len();
        buf[ms.len() + 1..len].copy_from_slice(seq);
        IdText { buf, len }
    }

    /// The 16-byte big-endian key Redis stores nodes and PEL entries under.
    fn key_bytes(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

/// A stream id's text (see [`StreamId::to_text`]).
#[derive(Debug, Clone, Copy)]
pub struct IdText {
    buf: [u8; 41],
    len: usize,
}

impl AsRef<[u8]> for IdText {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An id argument as parsed by Redis's `streamGenericParseIDOrReply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    /// The id (`<ms>-0` for the `<ms>-*` form).
    pub id: StreamId,
    /// False for the `<ms>-*` form (only accepted when asked for).
    pub seq_given: bool,
}

/// Parses a stream id argument like Redis: `<ms>-<seq>`, `<ms>` (sequence `missing_seq`),
/// `-` and `+` unless `strict`, and `<ms>-*` when `auto_seq`. `None` when invalid.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, auto_seq: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // Redis copies the argument into a C string: an embedded NUL ends it.
    let s = arg.split(|&b| b == 0).next().unwrap_or(b"");
    if s == b"-" || s == b"+" {
        if strict {
            return None;
        }
        let id = if s == b"-" {
            StreamId::MIN
        } else {
            StreamId::MAX
        };
        return Some(ParsedId {
            id,
            seq_given: true,
        });
    }
    let (ms_part, seq_part) = match s.iter().position(|&b| b == b'-') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms_part)?;
    let (seq, seq_given) = match seq_part {
        Some(b"*") if auto_seq => (0, false),
        Some(p) => (string2ull(p)?, true),
        None => (missing_seq, true),
    };
    Some(ParsedId {
        id: StreamId::new(ms, seq),
        seq_given,
    })
}

/// Parses one side of a range (`XRANGE`, `XPENDING`, `XAUTOCLAIM`): a `(` prefix makes it
/// exclusive (and strict). Returns the id and whether it was exclusive.
pub fn parse_interval_id(arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        parse_id(&arg[1..], missing_seq, true, false).map(|p| (p.id, true))
    } else {
        parse_id(arg, missing_seq, false, false).map(|p| (p.id, false))
    }
}

/// Redis's `string2ull`: a strict `string2ll` first, then `strtoull` (leading blanks, a sign,
/// leading zeros, the full unsigned range).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = super::string::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Maximum listpack bytes of a node (0: no limit but the 1 GiB listpack cap).
    pub max_bytes: usize,
    /// Maximum entries (live and deleted) of a node (0: no limit).
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// The largest listpack Redis lets a stream node grow to.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// Bytes of a listpack element's back-length field for an encoding of `l` bytes.
fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes a listpack integer element takes.
fn lp_int_len(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + lp_backlen(enc)
}

/// Listpack's `lpStringToInt64`: strings stored as integers when they are canonical decimals.
fn lp_string_to_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    super::string::parse_i64(s)
}

/// Bytes a listpack string element takes (strings that look like integers are stored as such).
fn lp_str_len(s: &[u8]) -> usize {
    if let Some(v) = lp_string_to_i64(s) {
        return lp_int_len(v);
    }
    let enc = match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        n => 5 + n,
    };
    enc + lp_backlen(enc)
}

/// Bytes of an `u64` written with `lpAppendInteger` (as a signed 64-bit value).
fn lp_u64_len(v: u64) -> usize {
    lp_int_len(v as i64)
}

/// Flag bit of [`Slot::end`] marking an entry deleted (still in its node, as in a listpack).
const DELETED: u64 = 1 << 63;

/// One entry of a node: its id and where its fields end in the node's data.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: StreamId,
    /// End offset of the entry's fields in [`Node::data`], with [`DELETED`] or-ed in.
    end: u64,
}

impl Slot {
    fn is_live(self) -> bool {
        self.end & DELETED == 0
    }

    fn end(self) -> usize {
        (self.end & !DELETED) as usize
    }
}

/// One radix-tree node of a Redis stream: a listpack of entries sharing a master entry.
///
/// The entries themselves are stored packed: their ids in order (deleted ones included and
/// flagged, as a listpack keeps them until the whole node goes) and all their fields back to
/// back in one buffer. The master entry is the first one appended, so the master fields are
/// the field names of slot 0.
#[derive(Debug, Clone)]
struct Node {
    /// Entries not deleted.
    live: u64,
    /// Entries flagged deleted but still in the listpack.
    deleted: u64,
    /// Listpack bytes except its header, terminator and the live/deleted counters.
    body: usize,
    /// The id of the last entry in the node, deleted or not.
    last: StreamId,
    /// Every entry appended to the node, in id order.
    slots: Vec<Slot>,
    /// The entries' fields, encoded back to back (see [`Fields`]).
    data: Vec<u8>,
}

impl Node {
    /// The listpack's total size, as `lpBytes` would report it.
    fn lp_bytes(&self) -> usize {
        7 + self.body + lp_u64_len(self.live) + lp_u64_len(self.deleted)
    }

    /// Where the fields of slot `i` start in `data`.
    fn start_of(&self, i: usize) -> usize {
        match i.checked_sub(1) {
            Some(p) => self.slots.get(p).map_or(0, |s| s.end()),
            None => 0,
        }
    }

    /// The fields of slot `i`, deleted or not.
    fn fields_at(&self, i: usize) -> Fields<'_> {
        let end = self.slots.get(i).map_or(0, |s| s.end());
        Fields {
            data: self.data.get(self.start_of(i)..end).unwrap_or(&[]),
        }
    }

    /// The live entry in slot `i`.
    fn entry(&self, i: usize) -> Option<(StreamId, Fields<'_>)> {
        let s = self.slots.get(i)?;
        s.is_live().then(|| (s.id, self.fields_at(i)))
    }

    /// The slot of the live entry `id`.
    fn find_live(&self, id: StreamId) -> Option<usize> {
        let i = self.slots.binary_search_by(|s| s.id.cmp(&id)).ok()?;
        self.slots[i].is_live().then_some(i)
    }

    /// The live entries with `start <= id <= end` (which must be ordered), in id order.
    fn live_in(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = (StreamId, Fields<'_>)> + '_ {
        let lo = self.slots.partition_point(|s| s.id < start);
        let hi = self.slots.partition_point(|s| s.id <= end).max(lo);
        (lo..hi).filter_map(move |i| self.entry(i))
    }

    /// Whether `fields` has the master entry's field names (true for a node's first entry).
    fn same_fields<B: AsRef<[u8]>>(&self, fields: &[B]) -> bool {
        if self.slots.is_empty() {
            return true;
        }
        let master = self.fields_at(0);
        master.len() == fields.len()
            && master
                .iter()
                .step_by(2)
                .zip(fields.iter().step_by(2))
                .all(|(a, b)| a == b.as_ref())
    }

    /// Appends an entry's id and encoded fields.
    fn push<B: AsRef<[u8]>>(&mut self, id: StreamId, fields: &[B]) {
        for f in fields {
            let f = f.as_ref();
            put_varint(&mut self.data, f.len());
            self.data.extend_from_slice(f);
        }
        self.slots.push(Slot {
            id,
            end: self.data.len() as u64,
        });
        self.last = id;
    }

    /// Flags slot `i` deleted.
    fn mark_deleted(&mut self, i: usize) {
        if let Some(s) = self.slots.get_mut(i) {
            s.end |= DELETED;
        }
    }

    /// Heap bytes this node holds.
    fn heap_size(&self) -> usize {
        std::mem::size_of::<Node>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.data.capacity()
    }
}

/// Appends `v` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint from the front of `b`: the value and the bytes it took.
fn get_varint(b: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    for (i, &c) in b.iter().enumerate() {
        v |= usize::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, b.len())
}

/// A stream entry's flat field/value list, borrowed from the node that stores it packed
/// (each element as a varint length and its bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fields<'a> {
    data: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields and values, alternating.
    pub fn iter(&self) -> FieldsIter<'a> {
        FieldsIter { rest: self.data }
    }

    /// Number of elements (twice the number of fields).
    #[allow(clippy::len_without_is_empty, reason = "an entry is never empty")]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The elements, copied.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl<'a> IntoIterator for Fields<'a> {
    type Item = &'a [u8];
    type IntoIter = FieldsIter<'a>;

    fn into_iter(self) -> FieldsIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Fields`] list.
#[derive(Debug, Clone)]
pub struct FieldsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (len, used) = get_varint(self.rest);
        let body = self.rest.get(used..).unwrap_or(&[]);
        let (item, rest) = body.split_at(len.min(body.len()));
        self.rest = rest;
        Some(item)
    }
}

/// A pending (delivered, not acknowledged) entry of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// The consumer it was last delivered to.
    pub consumer: Box<[u8]>,
    /// Unix milliseconds of the last delivery.
    pub delivery_time: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix milliseconds of the last time the consumer was seen (any read or claim attempt).
    pub seen_time: i64,
    /// Unix milliseconds of the last successful read or claim, if any.
    pub active_time: Option<i64>,
    /// Its pending entries (a subset of the group's PEL).
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// The last id delivered to any consumer (`last-delivered-id`).
    pub last_id: StreamId,
    /// Logical read counter (`entries-read`); `None` when unknown.
    pub entries_read: Option<u64>,
    /// Pending entries of all consumers, by id.
    pub pel: BTreeMap<StreamId, PendingEntry>,
    /// Consumers by name.
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl ConsumerGroup {
    /// A group whose next `>` read starts after `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        ConsumerGroup {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Creates a consumer; false if it already exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            name.into(),
            Consumer {
                seen_time: now,
                active_time: None,
                pel: BTreeSet::new(),
            },
        );
        true
    }

    /// Looks a consumer up, refreshing its seen time (`streamLookupConsumer`); false if it
    /// does not exist.
    pub fn touch_consumer(&mut self, name: &[u8], now: i64) -> bool {
        match self.consumers.get_mut(name) {
            Some(c) => {
                c.seen_time = now;
                true
            }
            None => false,
        }
    }

    /// Looks a consumer up and refreshes its seen time, creating it if missing. Returns true
    /// if it was created.
    pub fn ensure_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.touch_consumer(name, now) {
            false
        } else {
            self.create_consumer(name, now)
        }
    }

    /// Deletes a consumer and its pending entries; returns how many it had, or `None` if it
    /// did not exist.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledges `id`: removes it from the group's and its owner's PEL. False if it was
    /// not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Records a fresh delivery of `id` to `consumer` (which must exist): a new PEL entry, or
    /// an existing one reassigned with its delivery count reset to 1.
    fn deliver(&mut self, id: StreamId, consumer: &[u8], now: i64) {
        if let Some(old) = self.pel.get(&id).map(|p| p.consumer.clone())
            && let Some(c) = self.consumers.get_mut(&old)
        {
            c.pel.remove(&id);
        }
        self.pel.insert(
            id,
            PendingEntry {
                consumer: consumer.into(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Moves the pending entry `id` to `consumer` (which must exist), if it is not already
    /// there.
    fn reassign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(p) = self.pel.get_mut(&id) else {
            return;
        };
        if &*p.consumer == consumer {
            return;
        }
        let old = std::mem::replace(&mut p.consumer, consumer.into());
        if let Some(c) = self.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Marks `consumer` as having successfully read or claimed something.
    fn mark_active(&mut self, consumer: &[u8], now: i64) {
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.active_time = Some(now);
        }
    }
}

/// A trimming strategy (`XTRIM`, `XADD ... MAXLEN|MINID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with ids below this one.
    MinId(StreamId),
}

/// How `XADD` asks for the new entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddId {
    /// `*`: generated from the clock.
    Auto,
    /// `<ms>-*`: the given milliseconds with a generated sequence.
    AutoSeq(u64),
    /// `<ms>-<seq>`.
    Exact(StreamId),
}

/// Options of `XCLAIM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimOptions {
    /// Only claim entries idle at least this long (0: any).
    pub min_idle: i64,
    /// The delivery time to set.
    pub delivery_time: i64,
    /// `RETRYCOUNT`: the delivery count to set.
    pub retry_count: Option<u64>,
    /// `FORCE`: create PEL entries for ids that exist in the stream but are not pending.
    pub force: bool,
    /// `JUSTID`: do not count this as a delivery.
    pub justid: bool,
    /// The current time.
    pub now: i64,
}

/// Options of `XAUTOCLAIM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoClaimOptions {
    /// Claim at most this many entries (deleted ones count too).
    pub count: u64,
    /// Only claim entries idle at least this long (0: any).
    pub min_idle: i64,
    /// `JUSTID`: do not count this as a delivery.
    pub justid: bool,
    /// The current time.
    pub now: i64,
}

/// What a claim did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimOutcome {
    /// Ids now owned by the claiming consumer, in order.
    pub claimed: Vec<StreamId>,
    /// Ids dropped from the PEL because their entries no longer exist.
    pub deleted: Vec<StreamId>,
    /// Whether the claiming consumer was created.
    pub consumer_created: bool,
    /// `XAUTOCLAIM`'s cursor: where the next call should start (`0-0` when done).
    pub cursor: StreamId,
}

/// A stream: entries ordered by id, node bookkeeping, metadata and consumer groups.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {
    /// Nodes by master id; each holds its entries.
    nodes: BTreeMap<StreamId, Node>,
    /// Number of live entries.
    len: usize,
    /// The last id generated or set (`last-generated-id`).
    pub last_id: StreamId,
    /// The first live entry's id, `0-0` when empty (`recorded-first-entry-id`).
    pub first_id: StreamId,
    /// The largest id ever deleted with XDEL (`max-deleted-entry-id`).
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added (`entries-added`).
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Box<[u8]>, ConsumerGroup>,
}

/// The live entry `id` among `nodes`.
fn entry_in(nodes: &BTreeMap<StreamId, Node>, id: StreamId) -> Option<Fields<'_>> {
    let (_, n) = nodes.range(..=id).next_back()?;
    n.find_live(id).map(|i| n.fields_at(i))
}

impl StreamValue {
    /// Number of live entries (`XLEN`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stream has no live entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every live entry, in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (StreamId, Fields<'_>)> + '_ {
        self.range(StreamId::MIN, StreamId::MAX)
    }

    /// The entry with this id, if it exists.
    pub fn get(&self, id: StreamId) -> Option<Fields<'_>> {
        entry_in(&self.nodes, id)
    }

    /// Whether a live entry has this id.
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// Live entries with `start <= id <= end`, in id order (empty when `start > end`).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = (StreamId, Fields<'_>)> + '_ {
        let nodes = if start <= end {
            // The node holding `start` may begin before it.
            let from = self.node_of(start).unwrap_or(start);
            Some(self.nodes.range(from..=end))
        } else {
            None
        };
        nodes
            .into_iter()
            .flatten()
            .flat_map(move |(_, n)| n.live_in(start, end))
    }

    /// The first live entry.
    pub fn first_entry(&self) -> Option<(StreamId, Fields<'_>)> {
        self.iter().next()
    }

    /// The last live entry.
    pub fn last_entry(&self) -> Option<(StreamId, Fields<'_>)> {
        self.iter().next_back()
    }

    /// The id of the last live entry (`streamLastValidID`).
    pub fn last_valid_id(&self) -> Option<StreamId> {
        self.last_entry().map(|(id, _)| id)
    }

    /// An estimate of the heap bytes of the entries (MEMORY USAGE).
    pub fn approx_entries_size(&self) -> usize {
        self.nodes.values().map(Node::heap_size).sum()
    }

    /// Number of nodes (`radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of radix-tree nodes Redis's compressed radix tree of node keys would have
    /// (`radix-tree-nodes`).
    pub fn rax_node_count(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|id| id.key_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }

    /// Works out the id `XADD` would add, or `None` if it would not be greater than the last
    /// id (or the sequence would overflow).
    pub fn next_id(&self, spec: AddId, now_ms: u64) -> Option<StreamId> {
        let last = self.last_id;
        let id = match spec {
            AddId::Auto => {
                if now_ms > last.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    last.next()?
                }
            }
            AddId::AutoSeq(ms) => {
                if ms == last.ms {
                    if last.seq == u64::MAX {
                        return None;
                    }
                    StreamId::new(ms, last.seq + 1)
                } else {
                    StreamId::new(ms, 0)
                }
            }
            AddId::Exact(id) => id,
        };
        (id > last).then_some(id)
    }

    /// Appends an entry (a flat field/value list) with an id greater than [`Self::last_id`]
    /// (see [`Self::next_id`]), starting a new node when the tail node is full.
    pub fn append<B: AsRef<[u8]>>(&mut self, id: StreamId, fields: &[B], limits: NodeLimits) {
        debug_assert!(id > self.last_id, "stream ids only grow");
        debug_assert!(fields.len().is_multiple_of(2), "fields come in pairs");
        let numfields = fields.len() / 2;
        let totelelen: usize = fields.iter().map(|f| f.as_ref().len()).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let full = match self.nodes.last_key_value() {
            None => true,
            Some((_, n)) => {
                n.lp_bytes() + totelelen >= max_bytes
                    || (limits.max_entries != 0 && n.live + n.deleted >= limits.max_entries)
            }
        };
        if full {
            let body = lp_u64_len(numfields as u64)
                + fields
                    .iter()
                    .step_by(2)
                    .map(|f| lp_str_len(f.as_ref()))
                    .sum::<usize>()
                + lp_int_len(0);
            // Room for a full node of entries like this one, within reason.
            let entries = match limits.max_entries {
                0 => 16,
                n => n.min(128) as usize,
            };
            let per_entry = totelelen + fields.len();
            self.nodes.insert(
                id,
                Node {
                    live: 0,
                    deleted: 0,
                    body,
                    last: id,
                    slots: Vec::with_capacity(entries),
                    data: Vec::with_capacity((per_entry * entries).min(max_bytes.max(per_entry))),
                },
            );
        }
        let mut tail = self
            .nodes
            .last_entry()
            .expect("a tail node exists or was just created");
        let master = *tail.key();
        let node = tail.get_mut();
        let same_fields = node.same_fields(fields);
        let mut bytes = lp_int_len(if same_fields { 2 } else { 0 })
            + lp_u64_len(id.ms.wrapping_sub(master.ms))
            + lp_u64_len(id.seq.wrapping_sub(master.seq));
        let mut lp_count = numfields as u64 + 3;
        if same_fields {
            bytes += fields
                .iter()
                .skip(1)
                .step_by(2)
                .map(|v| lp_str_len(v.as_ref()))
                .sum::<usize>();
        } else {
            bytes += lp_u64_len(numfields as u64)
                + fields.iter().map(|f| lp_str_len(f.as_ref())).sum::<usize>();
            lp_count += numfields as u64 + 1;
        }
        bytes += lp_u64_len(lp_count);
        node.body += bytes;
        node.live += 1;
        node.push(id, fields);
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.len == 1 {
            self.first_id = id;
        }
    }

    /// The master id of the node holding `id`.
    fn node_of(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// Deletes one entry (`XDEL`): flags it deleted in its node, drops the node when it held
    /// the last live entry, and updates `max-deleted-entry-id` and the first id. False if no
    /// such entry.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(i) = node.find_live(id) else {
            return false;
        };
        if node.live <= 1 {
            self.nodes.remove(&master);
        } else {
            node.mark_deleted(i);
            node.live -= 1;
            node.deleted += 1;
        }
        self.len -= 1;
        if id > self.max_deleted_entry_id {
            self.max_deleted_entry_id = id;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.first_live_id();
        }
        true
    }

    fn first_live_id(&self) -> StreamId {
        self.first_entry().map_or(StreamId::MIN, |(id, _)| id)
    }

    /// Trims from the head like Redis's `streamTrim`: whole nodes while they fit the strategy,
    /// then (unless `approx`) entries inside the first node that does not. `limit` (0: none)
    /// caps the entries removed; a node that would pass it stops the trim. Returns the number
    /// of entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted: u64 = 0;
        loop {
            let len = self.len as u64;
            if let Trim::MaxLen(max) = how
                && len <= max
            {
                break;
            }
            let Some(mut first) = self.nodes.first_entry() else {
                break;
            };
            let node = first.get_mut();
            let live = node.live;
            if limit != 0 && deleted + live > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => len - live >= max,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                first.remove();
                self.len -= live as usize;
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries deleted inside this node, from its head.
            let mut victims: u64 = 0;
            for i in 0..node.slots.len() {
                let s = node.slots[i];
                let stop = match how {
                    Trim::MaxLen(max) => victims >= len - max,
                    Trim::MinId(min) => s.id >= min,
                };
                if stop {
                    break;
                }
                if s.is_live() {
                    node.mark_deleted(i);
                    victims += 1;
                }
            }
            node.live -= victims;
            node.deleted += victims;
            self.len -= victims as usize;
            deleted += victims;
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_live_id();
        }
        deleted
    }

    /// Whether `[start, end]` may contain a deleted entry (`streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: Option<StreamId>) -> bool {
        let max_del = self.max_deleted_entry_id;
        if self.len == 0 || max_del.is_zero() || self.first_id > max_del {
            return false;
        }
        start <= max_del && max_del <= end.unwrap_or(StreamId::MAX)
    }

    /// The logical read counter of `id` (its distance from the first entry ever added), when
    /// it can be known (`streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let len = self.len as u64;
        if len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let max_del = self.max_deleted_entry_id;
        if max_del.is_zero() || max_del < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added.wrapping_sub(len));
            }
            if id == self.first_id {
                return Some(self.entries_added.wrapping_sub(len).wrapping_add(1));
            }
        }
        None
    }

    /// A group's lag: entries not yet delivered to it, when known (`streamReplyWithCGLag`).
    pub fn lag(&self, group: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let read = match group.entries_read {
            Some(r) if !self.range_has_tombstones(group.last_id, None) => r,
            _ => self.estimate_distance(group.last_id)?,
        };
        Some((self.entries_added as i64).wrapping_sub(read as i64))
    }

    /// A consumer group by name.
    pub fn group(&self, name: &[u8]) -> Option<&ConsumerGroup> {
        self.groups.get(name)
    }

    /// A consumer group by name, writable.
    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut ConsumerGroup> {
        self.groups.get_mut(name)
    }

    /// Creates a consumer group; false if the name is taken.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, read: Option<u64>) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups
            .insert(name.into(), ConsumerGroup::new(last_id, read));
        true
    }

    /// Destroys a consumer group; false if it did not exist.
    pub fn destroy_group(&mut self, name: &[u8]) -> bool {
        self.groups.remove(name).is_some()
    }

    /// Delivers new entries after `after` to `consumer` of `group` (both must exist), like
    /// `streamReplyWithRange` with a group: advances the group's last id and read counter and,
    /// unless `noack`, adds the entries to the PELs. `count` 0 means no limit. Returns the
    /// delivered ids, or `None` if the group or consumer does not exist.
    pub fn read_group(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        after: StreamId,
        count: usize,
        noack: bool,
        now: i64,
    ) -> Option<Vec<StreamId>> {
        let start = after.next()?;
        let ids: Vec<StreamId> = self
            .range(start, StreamId::MAX)
            .map(|(id, _)| id)
            .take(if count == 0 { usize::MAX } else { count })
            .collect();
        // Work out the read counter before borrowing the group mutably.
        let g = self.groups.get(group)?;
        if !g.consumers.contains_key(consumer) {
            return None;
        }
        let (mut last, mut read) = (g.last_id, g.entries_read);
        for &id in &ids {
            if id > last {
                if read.is_some() && !self.range_has_tombstones(id, None) {
                    read = read.map(|r| r + 1);
                } else if self.entries_added != 0 {
                    read = self.estimate_distance(id);
                }
                last = id;
            }
        }
        let g = self.groups.get_mut(group)?;
        g.last_id = last;
        g.entries_read = read;
        if !noack {
            for &id in &ids {
                g.deliver(id, consumer, now);
            }
        }
        if !ids.is_empty() {
            g.mark_active(consumer, now);
        }
        Some(ids)
    }

    /// Serves `consumer`'s history: its pending ids from `from`, up to `count` (0: all), with
    /// whether each entry still exists. Existing ones count as delivered again. `None` if the
    /// group or consumer does not exist.
    pub fn read_history(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        from: StreamId,
        count: usize,
        now: i64,
    ) -> Option<Vec<(StreamId, bool)>> {
        let StreamValue { nodes, groups, .. } = self;
        let g = groups.get_mut(group)?;
        let c = g.consumers.get(consumer)?;
        let ids: Vec<StreamId> = c
            .pel
            .range(from..)
            .copied()
            .take(if count == 0 { usize::MAX } else { count })
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let exists = entry_in(nodes, id).is_some();
            if exists && let Some(p) = g.pel.get_mut(&id) {
                p.delivery_time = now;
                p.delivery_count += 1;
            }
            out.push((id, exists));
        }
        Some(out)
    }

    /// `XCLAIM`: gives `consumer` the pending entries among `ids` that are idle long enough
    /// (creating the consumer on the first one). Pending ids whose entries are gone are
    /// dropped from the PEL. `None` if the group does not exist.
    pub fn claim(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        ids: &[StreamId],
        opts: ClaimOptions,
    ) -> Option<ClaimOutcome> {
        let StreamValue { nodes, groups, .. } = self;
        let g = groups.get_mut(group)?;
        let mut out = ClaimOutcome::default();
        let mut consumer_ready = false;
        for &id in ids {
            if entry_in(nodes, id).is_none() {
                if g.ack(id) {
                    out.deleted.push(id);
                }
                continue;
            }
            let mut forced = false;
            if !g.pel.contains_key(&id) {
                if !opts.force {
                    continue;
                }
                forced = true;
            }
            if !forced
                && opts.min_idle != 0
                && let Some(p) = g.pel.get(&id)
                && opts.now - p.delivery_time < opts.min_idle
            {
                continue;
            }
            if !consumer_ready {
                out.consumer_created = g.ensure_consumer(consumer, opts.now);
                consumer_ready = true;
            }
            if forced {
                g.pel.insert(
                    id,
                    PendingEntry {
                        consumer: consumer.into(),
                        delivery_time: opts.now,
                        delivery_count: 1,
                    },
                );
                if let Some(c) = g.consumers.get_mut(consumer) {
                    c.pel.insert(id);
                }
            } else {
                g.reassign(id, consumer);
            }
            if let Some(p) = g.pel.get_mut(&id) {
                p.delivery_time = opts.delivery_time;
                if let Some(n) = opts.retry_count {
                    p.delivery_count = n;
                } else if !opts.justid {
                    p.delivery_count += 1;
                }
            }
            out.claimed.push(id);
        }
        if !out.claimed.is_empty() {
            g.mark_active(consumer, opts.now);
        }
        Some(out)
    }

    /// `XAUTOCLAIM`: scans the group's PEL from `start`, claiming for `consumer` up to `count`
    /// entries idle at least `min_idle` and dropping (and counting against `count`) entries
    /// that no longer exist, visiting at most `count * 10` PEL entries. `None` if the group
    /// does not exist.
    pub fn autoclaim(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        start: StreamId,
        opts: AutoClaimOptions,
    ) -> Option<ClaimOutcome> {
        let AutoClaimOptions {
            count,
            min_idle,
            justid,
            now,
        } = opts;
        let StreamValue { nodes, groups, .. } = self;
        let g = groups.get_mut(group)?;
        let mut out = ClaimOutcome::default();
        let mut attempts = count.saturating_mul(10);
        let mut count = count;
        let mut pos = Some(start);
        let mut consumer_ready = false;
        while attempts > 0 && count > 0 {
            attempts -= 1;
            let Some(from) = pos else { break };
            let Some(id) = g.pel.range(from..).next().map(|(k, _)| *k) else {
                pos = None;
                break;
            };
            pos = id.next();
            if entry_in(nodes, id).is_none() {
                g.ack(id);
                out.deleted.push(id);
                count -= 1;
                continue;
            }
            if min_idle != 0
                && let Some(p) = g.pel.get(&id)
                && now - p.delivery_time < min_idle
            {
                continue;
            }
            if !consumer_ready {
                out.consumer_created = g.ensure_consumer(consumer, now);
                consumer_ready = true;
            }
            g.reassign(id, consumer);
            if let Some(p) = g.pel.get_mut(&id) {
                p.delivery_time = now;
                if !justid {
                    p.delivery_count += 1;
                }
            }
            out.claimed.push(id);
            count -= 1;
        }
        out.cursor = pos
            .and_then(|p| g.pel.range(p..).next().map(|(k, _)| *k))
            .unwrap_or(StreamId::MIN);
        if !out.claimed.is_empty() {
            g.mark_active(consumer, now);
        }
        Some(out)
    }
}

/// Nodes of a compressed radix tree (Redis's rax) holding the sorted, distinct, equal-length
/// `keys`, below depth `depth`.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth >= 16 {
        return 1;
    }
    if keys.len() == 1 {
        // A compressed node with the rest of the key, then the key node.
        return 2;
    }
    let (first, last) = (keys[0], keys[keys.len() - 1]);
    // Sorted keys: the common prefix of all is the common prefix of the first and last.
    let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if common > 0 {
        return 1 + rax_nodes(keys, depth + common);
    }
    let mut n = 1;
    let mut i = 0;
    while i < keys.len() {
        let b = keys[i][depth];
        let j = i + keys[i..].iter().take_while(|k| k[depth] == b).count();
        n += rax_nodes(&keys[i..j], depth + 1);
        i = j;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<'a>(pairs: &[&'a str]) -> Vec<&'a [u8]> {
        pairs.iter().map(|s| s.as_bytes()).collect()
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn limits(n: u64) -> NodeLimits {
        NodeLimits {
            max_bytes: 4096,
            max_entries: n,
        }
    }

    fn filled(n: u64, per_node: u64) -> StreamValue {
        let mut s = StreamValue::default();
        for i in 1..=n {
            s.append(id(i, 0), &f(&["item", "v"]), limits(per_node));
        }
        s
    }

    #[test]
    fn parse_id_forms() {
        let p = |s: &str| parse_id(s.as_bytes(), 0, false, false).map(|p| p.id);
        assert_eq!(p("5"), Some(id(5, 0)));
        assert_eq!(p("5-3"), Some(id(5, 3)));
        assert_eq!(p("-"), Some(StreamId::MIN));
        assert_eq!(p("+"), Some(StreamId::MAX));
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some(StreamId::MAX)
        );
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("abc"), None);
        assert_eq!(p("1-x"), None);
        assert_eq!(p("1--1"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("007"), Some(id(7, 0)), "strtoull accepts leading zeros");
        assert_eq!(parse_id(b"-", 0, true, false), None);
        assert_eq!(
            parse_id(b"5", u64::MAX, false, false).map(|p| p.id),
            Some(id(5, u64::MAX))
        );
        let auto = parse_id(b"5-*", 0, true, true).expect("valid");
        assert_eq!((auto.id, auto.seq_given), (id(5, 0), false));
        assert_eq!(parse_id(b"5-*", 0, true, false), None);
        assert_eq!(parse_interval_id(b"(5-1", 0), Some((id(5, 1), true)));
        assert_eq!(parse_interval_id(b"(-", 0), None);
        assert_eq!(parse_interval_id(b"(", 0), None);
    }

    #[test]
    fn id_successor_and_predecessor_wrap_at_the_edges() {
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(id(3, 4).to_string(), "3-4");
        assert_eq!(id(3, 4).to_text().as_ref(), b"3-4");
        assert_eq!(
            StreamId::MAX.to_text().as_ref(),
            StreamId::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn next_id_follows_the_clock_and_never_goes_back() {
        let mut s = StreamValue::default();
        assert_eq!(s.next_id(AddId::Auto, 100), Some(id(100, 0)));
        s.append(id(100, 5), &f(&["a", "1"]), limits(100));
        assert_eq!(s.next_id(AddId::Auto, 90), Some(id(100, 6)));
        assert_eq!(s.next_id(AddId::AutoSeq(100), 0), Some(id(100, 6)));
        assert_eq!(s.next_id(AddId::AutoSeq(101), 0), Some(id(101, 0)));
        assert_eq!(s.next_id(AddId::AutoSeq(99), 0), None);
        assert_eq!(s.next_id(AddId::Exact(id(100, 5)), 0), None);
        assert_eq!(s.next_id(AddId::Exact(id(100, 7)), 0), Some(id(100, 7)));
        s.append(id(200, u64::MAX), &f(&["a", "1"]), limits(100));
        assert_eq!(s.next_id(AddId::AutoSeq(200), 0), None);
    }

    #[test]
    fn append_splits_nodes_by_entry_count() {
        let s = filled(250, 100);
        assert_eq!(s.len(), 250);
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.entries_added, 250);
        assert_eq!(s.first_id, id(1, 0));
        assert_eq!(s.last_id, id(250, 0));
    }

    #[test]
    fn append_splits_nodes_by_bytes() {
        let mut s = StreamValue::default();
        let big = "x".repeat(1000);
        for i in 1..=8 {
            s.append(id(i, 0), &f(&["f", &big]), limits(0));
        }
        // About 1 KB per entry in 4 KB nodes.
        assert!(
            s.node_count() >= 2 && s.node_count() <= 4,
            "{}",
            s.node_count()
        );
    }

    #[test]
    fn approximate_maxlen_trims_whole_nodes_only() {
        let mut s = filled(1000, 100);
        assert_eq!(s.trim(Trim::MaxLen(555), true, 0), 400);
        assert_eq!(s.len(), 600);
        assert_eq!(s.first_id, id(401, 0));
        let mut s = filled(1000, 100);
        assert_eq!(s.trim(Trim::MaxLen(555), false, 0), 445);
        assert_eq!(s.len(), 555);
        assert_eq!(s.first_id, id(446, 0));
    }

    #[test]
    fn trim_limit_stops_before_a_node_that_would_pass_it() {
        let mut s = filled(100, 10);
        assert_eq!(s.trim(Trim::MaxLen(55), true, 30), 30);
        assert_eq!(s.len(), 70);
        let mut s = filled(3, 2);
        assert_eq!(s.trim(Trim::MaxLen(0), true, 1), 0);
        assert_eq!(s.trim(Trim::MaxLen(0), true, 2), 2);
    }

    #[test]
    fn minid_trim_exact_and_approximate() {
        let mut s = filled(10, 3);
        assert_eq!(s.trim(Trim::MinId(id(5, 0)), true, 0), 3);
        assert_eq!(s.first_id, id(4, 0));
        assert_eq!(s.trim(Trim::MinId(id(5, 0)), false, 0), 1);
        assert_eq!(s.first_id, id(5, 0));
        assert_eq!(s.trim(Trim::MinId(id(1, 0)), false, 0), 0);
    }

    #[test]
    fn delete_tracks_tombstones_first_id_and_drops_empty_nodes() {
        let mut s = filled(4, 2);
        assert!(s.delete(id(2, 0)));
        assert!(!s.delete(id(2, 0)));
        assert_eq!(s.max_deleted_entry_id, id(2, 0));
        assert_eq!(s.first_id, id(1, 0));
        assert!(s.delete(id(1, 0)));
        assert_eq!(s.node_count(), 1, "the first node held no live entry");
        assert_eq!(s.first_id, id(3, 0));
        assert_eq!(s.max_deleted_entry_id, id(2, 0));
        assert!(s.delete(id(3, 0)) && s.delete(id(4, 0)));
        assert!(s.is_empty());
        assert_eq!(s.first_id, StreamId::MIN);
        assert_eq!(s.last_id, id(4, 0));
    }

    #[test]
    fn deleted_entries_still_fill_a_node() {
        let mut s = filled(2, 2);
        s.delete(id(2, 0));
        s.append(id(3, 0), &f(&["item", "v"]), limits(2));
        assert_eq!(s.node_count(), 2);
    }

    #[test]
    fn rax_node_count_matches_redis() {
        // Values observed on redis-server 7.0 with stream-node-max-entries 1.
        for (n, nodes) in [(1, 2), (2, 6), (3, 8), (20, 42), (300, 604)] {
            assert_eq!(filled(n, 1).rax_node_count(), nodes, "{n} nodes");
        }
        assert_eq!(StreamValue::default().rax_node_count(), 1);
    }

    #[test]
    fn group_reads_advance_last_id_counter_and_pel() {
        let mut s = filled(5, 100);
        assert!(s.create_group(b"g", StreamId::MIN, None));
        assert!(!s.create_group(b"g", StreamId::MIN, None));
        assert_eq!(s.lag(s.group(b"g").expect("g")), Some(5));
        let g = s.group_mut(b"g").expect("g");
        assert!(g.create_consumer(b"alice", 1));
        let got = s.read_group(b"g", b"alice", StreamId::MIN, 2, false, 10);
        assert_eq!(got, Some(vec![id(1, 0), id(2, 0)]));
        let g = s.group(b"g").expect("g");
        assert_eq!(g.last_id, id(2, 0));
        assert_eq!(g.entries_read, Some(2));
        assert_eq!(g.pel.len(), 2);
        assert_eq!(g.consumers[&b"alice"[..]].pel.len(), 2);
        assert_eq!(s.lag(g), Some(3));
        // NOACK moves the group on without pending entries.
        let got = s.read_group(b"g", b"alice", id(2, 0), 0, true, 11);
        assert_eq!(got.map(|v| v.len()), Some(3));
        let g = s.group(b"g").expect("g");
        assert_eq!((g.pel.len(), g.entries_read), (2, Some(5)));
        assert_eq!(s.lag(g), Some(0));
    }

    #[test]
    fn lag_is_unknown_across_tombstones() {
        let mut s = filled(5, 100);
        s.delete(id(3, 0));
        s.create_group(b"g", StreamId::MIN, None);
        assert_eq!(s.lag(s.group(b"g").expect("g")), None);
        s.group_mut(b"g").expect("g").create_consumer(b"c", 0);
        for _ in 0..3 {
            let last = s.group(b"g").expect("g").last_id;
            s.read_group(b"g", b"c", last, 1, false, 0);
        }
        assert_eq!(s.group(b"g").expect("g").entries_read, None);
        let last = s.group(b"g").expect("g").last_id;
        s.read_group(b"g", b"c", last, 1, false, 0);
        let g = s.group(b"g").expect("g");
        assert_eq!((g.entries_read, s.lag(g)), (Some(5), Some(0)));
    }

    #[test]
    fn redelivery_to_another_consumer_moves_the_pending_entry() {
        let mut s = filled(2, 100);
        s.create_group(b"g", StreamId::MIN, None);
        let g = s.group_mut(b"g").expect("g");
        g.create_consumer(b"a", 0);
        g.create_consumer(b"b", 0);
        s.read_group(b"g", b"a", StreamId::MIN, 0, false, 0);
        s.group_mut(b"g").expect("g").last_id = StreamId::MIN;
        s.read_group(b"g", b"b", StreamId::MIN, 1, false, 5);
        let g = s.group(b"g").expect("g");
        assert_eq!(&*g.pel[&id(1, 0)].consumer, b"b");
        assert_eq!(g.consumers[&b"a"[..]].pel.len(), 1);
        assert_eq!(g.consumers[&b"b"[..]].pel.len(), 1);
        assert_eq!(g.pel[&id(1, 0)].delivery_time, 5);
    }

    #[test]
    fn history_marks_deleted_entries_and_counts_deliveries() {
        let mut s = filled(3, 100);
        s.create_group(b"g", StreamId::MIN, None);
        s.group_mut(b"g").expect("g").create_consumer(b"c", 0);
        s.read_group(b"g", b"c", StreamId::MIN, 0, false, 0);
        s.delete(id(2, 0));
        let h = s.read_history(b"g", b"c", StreamId::MIN, 0, 7);
        assert_eq!(
            h,
            Some(vec![(id(1, 0), true), (id(2, 0), false), (id(3, 0), true)])
        );
        let g = s.group(b"g").expect("g");
        assert_eq!(g.pel[&id(1, 0)].delivery_count, 2);
        assert_eq!(g.pel[&id(2, 0)].delivery_count, 1);
        assert_eq!(g.pel[&id(1, 0)].delivery_time, 7);
    }

    #[test]
    fn ack_and_delete_consumer_clean_both_pels() {
        let mut s = filled(3, 100);
        s.create_group(b"g", StreamId::MIN, None);
        s.group_mut(b"g").expect("g").create_consumer(b"c", 0);
        s.read_group(b"g", b"c", StreamId::MIN, 0, false, 0);
        let g = s.group_mut(b"g").expect("g");
        assert!(g.ack(id(1, 0)));
        assert!(!g.ack(id(1, 0)));
        assert_eq!(g.delete_consumer(b"c"), Some(2));
        assert!(g.pel.is_empty());
        assert_eq!(g.delete_consumer(b"c"), None);
    }

    fn claim_opts(now: i64) -> ClaimOptions {
        ClaimOptions {
            min_idle: 0,
            delivery_time: now,
            retry_count: None,
            force: false,
            justid: false,
            now,
        }
    }

    #[test]
    fn claim_respects_idle_force_and_deleted_entries() {
        let mut s = filled(4, 100);
        s.create_group(b"g", StreamId::MIN, None);
        s.group_mut(b"g").expect("g").create_consumer(b"a", 0);
        s.read_group(b"g", b"a", StreamId::MIN, 2, false, 100);
        s.delete(id(2, 0));
        let mut o = claim_opts(150);
        o.min_idle = 100;
        let r = s.claim(b"g", b"b", &[id(1, 0)], o).expect("group");
        assert!(r.claimed.is_empty() && !r.consumer_created);
        let r = s
            .claim(b"g", b"b", &[id(1, 0), id(2, 0), id(3, 0)], claim_opts(300))
            .expect("group");
        assert_eq!(r.claimed, vec![id(1, 0)]);
        assert_eq!(r.deleted, vec![id(2, 0)]);
        assert!(r.consumer_created);
        let mut o = claim_opts(300);
        o.force = true;
        o.justid = true;
        let r = s.claim(b"g", b"b", &[id(3, 0)], o).expect("group");
        assert_eq!(r.claimed, vec![id(3, 0)]);
        let g = s.group(b"g").expect("g");
        assert_eq!(g.pel[&id(1, 0)].delivery_count, 2);
        assert_eq!(g.pel[&id(3, 0)].delivery_count, 1);
        assert_eq!(g.consumers[&b"b"[..]].pel.len(), 2);
        assert!(g.consumers[&b"a"[..]].pel.is_empty());
    }

    fn auto_opts(count: u64, justid: bool) -> AutoClaimOptions {
        AutoClaimOptions {
            count,
            min_idle: 0,
            justid,
            now: 10,
        }
    }

    #[test]
    fn autoclaim_iterates_with_a_cursor_and_reports_deleted_ids() {
        let mut s = filled(5, 100);
        s.create_group(b"g", StreamId::MIN, None);
        s.group_mut(b"g").expect("g").create_consumer(b"a", 0);
        s.read_group(b"g", b"a", StreamId::MIN, 0, false, 0);
        s.delete(id(1, 0));
        let r = s
            .autoclaim(b"g", b"b", StreamId::MIN, auto_opts(2, false))
            .expect("group");
        assert_eq!(r.deleted, vec![id(1, 0)]);
        assert_eq!(r.claimed, vec![id(2, 0)]);
        assert_eq!(r.cursor, id(3, 0));
        let r = s
            .autoclaim(b"g", b"b", r.cursor, auto_opts(10, true))
            .expect("group");
        assert_eq!(r.claimed, vec![id(3, 0), id(4, 0), id(5, 0)]);
        assert_eq!(r.cursor, StreamId::MIN);
    }
}
