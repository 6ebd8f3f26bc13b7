//! One database: the key table, expiry index, and the [`DbView`] every command writes through.
//!
//! All mutation of a database goes through a few `DbView` methods (`set`, `add`, `remove`,
//! `lookup_write`, `set_expire`, ...) so that expiry, key events and WATCH/blocking signals are
//! handled in one place, and so an execution journal can later record pre-images there.

use super::events::{EventSink, NotifyFlags};
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::string::StrValue;
use super::value::{Thresholds, Value};
use super::zset::ZSetValue;
use super::{FastMap, FastSet, KeySignals, KeyspaceError, Stats, new_map, new_set};

/// A key's value with its expiry and access time.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, if any.
    pub expire: Option<i64>,
    /// Last access, in seconds of the LRU clock (OBJECT IDLETIME).
    pub lru: u32,
    /// Access-frequency counter, LFU style (OBJECT FREQ).
    pub freq: u8,
}

/// A key as the table stores it: keys up to 24 bytes live inline in the table's slot, so a
/// lookup compares them without touching another cache line (it halves lookup time on large
/// keyspaces); longer keys spill to the heap.
pub type DbKey = smallvec::SmallVec<[u8; 24]>;

/// One database.
#[derive(Debug)]
pub struct Db {
    map: FastMap<DbKey, Entry>,
    expires: FastSet<Box<[u8]>>,
}

impl Default for Db {
    fn default() -> Self {
        Db {
            map: new_map(),
            expires: new_set(),
        }
    }
}

/// Seconds clock used for LRU idle times.
pub fn lru_clock() -> u32 {
    (super::unix_ms() / 1000) as u32
}

impl Db {
    /// Number of keys (including expired keys not yet reclaimed, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the database is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// Raw entry access without expiry checks (snapshots, DEBUG).
    pub fn raw_get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// Iterates over every entry without expiry checks.
    pub fn raw_iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|(k, e)| (&**k, e))
    }

    /// Removes `key` without events or signals; returns its entry.
    pub fn raw_remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.swap_remove(key)?;
        if e.expire.is_some() {
            self.expires.swap_remove(key);
        }
        Some(e)
    }

    /// Inserts an entry without events or signals, replacing any old one.
    pub fn raw_insert(&mut self, key: &[u8], entry: Entry) {
        if entry.expire.is_some() {
            self.expires.insert(key.into());
        } else if self.map.get(key).is_some_and(|e| e.expire.is_some()) {
            self.expires.swap_remove(key);
        }
        self.map.insert(DbKey::from_slice(key), entry);
    }

    /// The key in slot `i` of the table (SCAN).
    pub fn raw_key_at(&self, i: usize) -> Option<&[u8]> {
        self.map.get_index(i).map(|(k, _)| &**k)
    }

    /// A uniformly random volatile key (active expiry sampling).
    pub fn random_volatile(&self) -> Option<&[u8]> {
        if self.expires.is_empty() {
            return None;
        }
        let i = rand::random_range(0..self.expires.len());
        self.expires.get_index(i).map(|k| &**k)
    }

    /// A uniformly random key.
    pub fn random_key(&self) -> Option<&[u8]> {
        if self.map.is_empty() {
            return None;
        }
        let i = rand::random_range(0..self.map.len());
        self.map.get_index(i).map(|(k, _)| &**k)
    }

    /// One step of a SCAN over the key table.
    ///
    /// Visits up to `count` slots, from the end of the table towards its start, and returns the
    /// visited keys and the next cursor (`0` when done). Removal moves the last key into the
    /// freed slot and insertion appends, so keys only ever move towards slots a downward scan has
    /// yet to visit or has already visited while they sat at the end: every key present for the
    /// whole scan is returned at least once, which is Redis's guarantee, with no snapshot copy.
    pub fn scan_keys(&self, cursor: u64, count: usize) -> (Vec<Box<[u8]>>, u64) {
        scan_slots(self.map.len(), cursor, count, |i| {
            self.map
                .get_index(i)
                .map(|(k, _)| Box::<[u8]>::from(&k[..]))
        })
    }

    /// One SCAN step like [`Db::scan_keys`], handing each visited slot's key and entry to `f`
    /// (which keeps what it returns): readers build their records straight from the table,
    /// without a second lookup per key. Expiry is the caller's business (`f` sees every entry).
    pub fn scan_entries<T>(
        &self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&[u8], &Entry) -> Option<T>,
    ) -> (Vec<T>, u64) {
        scan_slots(self.map.len(), cursor, count, |i| {
            self.map.get_index(i).and_then(|(k, e)| f(k, e))
        })
    }
}

/// The cursor walk shared by SCAN, HSCAN, SSCAN and ZSCAN over an index-addressable table of
/// `len` slots: cursor `0` starts at the last slot; a returned cursor `c > 0` resumes at slot
/// `c - 1`; `0` means the walk is complete. `get` fetches the item in a slot.
pub fn scan_slots<T>(
    len: usize,
    cursor: u64,
    count: usize,
    mut get: impl FnMut(usize) -> Option<T>,
) -> (Vec<T>, u64) {
    let mut out = Vec::with_capacity(count.min(len));
    if len == 0 {
        return (out, 0);
    }
    let mut next: usize = if cursor == 0 {
        len - 1
    } else {
        usize::try_from(cursor - 1)
            .unwrap_or(usize::MAX)
            .min(len - 1)
    };
    let mut visited = 0;
    loop {
        if let Some(item) = get(next) {
            out.push(item);
        }
        visited += 1;
        if next == 0 {
            return (out, 0);
        }
        next -= 1;
        if visited >= count.max(1) {
            return (out, next as u64 + 1);
        }
    }
}

/// A database plus the sinks its writes report to. Commands use nothing else to touch data.
pub struct DbView<'a> {
    /// The database index (for events).
    pub index: usize,
    pub(super) db: &'a mut Db,
    pub(super) events: &'a mut EventSink,
    pub(super) signals: &'a mut KeySignals,
    pub(super) stats: &'a mut Stats,
    /// Encoding thresholds.
    pub thresholds: Thresholds,
    pub(super) now: i64,
    pub(super) lazy_expire: bool,
}

macro_rules! typed_access {
    ($read:ident, $write:ident, $create:ident, $variant:ident, $ty:ty, $new:expr) => {
        /// Reads a value of this type: `Ok(None)` if missing, `WrongType` for another type.
        ///
        /// # Errors
        /// `WrongType` when the key holds another type.
        pub fn $read(&mut self, key: &[u8]) -> Result<Option<&$ty>, KeyspaceError> {
            match self.read(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(KeyspaceError::WrongType),
            }
        }

        /// Writable access to a value of this type, if the key exists.
        ///
        /// # Errors
        /// `WrongType` when the key holds another type.
        pub fn $write(&mut self, key: &[u8]) -> Result<Option<&mut $ty>, KeyspaceError> {
            match self.lookup_write(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(KeyspaceError::WrongType),
            }
        }

        /// Writable access to a value of this type, creating an empty one if missing.
        ///
        /// # Errors
        /// `WrongType` when the key holds another type.
        pub fn $create(&mut self, key: &[u8]) -> Result<&mut $ty, KeyspaceError> {
            let lru = self.lru();
            let idx = match self.find(key) {
                Some(idx) => {
                    let e = self.slot(idx);
                    if !matches!(e.value, Value::$variant(_)) {
                        return Err(KeyspaceError::WrongType);
                    }
                    e.lru = lru;
                    idx
                }
                None => self.add(key, $new),
            };
            match &mut self.slot(idx).value {
                Value::$variant(v) => Ok(v),
                _ => unreachable!("just checked or inserted"),
            }
        }
    };
}

impl DbView<'_> {
    /// The LRU clock (seconds) derived from the cached command time.
    #[inline]
    fn lru(&self) -> u32 {
        (self.now / 1000) as u32
    }

    /// The command's cached time in Unix milliseconds.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.db.len()
    }

    /// Whether the database has no keys.
    pub fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    /// The underlying database, read-only.
    pub fn raw(&self) -> &Db {
        self.db
    }

    /// The underlying database for bulk operations that manage events themselves.
    pub fn raw_mut(&mut self) -> &mut Db {
        self.db
    }

    /// The slot of a live `key`: one hash lookup, then lazy expiry of a key whose TTL passed.
    /// Every keyed accessor goes through here so a command pays for a single probe.
    #[inline]
    fn find(&mut self, key: &[u8]) -> Option<usize> {
        let idx = self.db.map.get_index_of(key)?;
        if self.lazy_expire
            && let Some((_, e)) = self.db.map.get_index(idx)
            && e.expire.is_some_and(|t| t <= self.now)
        {
            self.delete_expired(key);
            return None;
        }
        Some(idx)
    }

    /// The entry in a slot returned by [`Self::find`].
    #[inline]
    fn slot(&mut self, idx: usize) -> &mut Entry {
        self.db
            .map
            .get_index_mut(idx)
            .map(|(_, e)| e)
            .expect("slot returned by find is valid until the next mutation")
    }

    /// Deletes `key` if its TTL has passed (lazy expiry); returns true if it did.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let expired = match self.db.map.get(key) {
            Some(e) => e.expire.is_some_and(|t| t <= self.now),
            None => return false,
        };
        if !expired || !self.lazy_expire {
            return false;
        }
        self.delete_expired(key);
        true
    }

    /// Removes an expired key with its `expired` event, as Redis's
    /// `deleteExpiredKeyAndPropagate`.
    pub fn delete_expired(&mut self, key: &[u8]) {
        self.db.raw_remove(key);
        self.stats.expired_keys += 1;
        self.events
            .emit(NotifyFlags::EXPIRED, "expired", self.index, key);
        self.signals.modified(self.index, key);
        self.signals.ready(self.index, key);
    }

    /// Whether `key`'s TTL has passed (without deleting it).
    pub fn is_expired(&self, key: &[u8]) -> bool {
        self.db
            .map
            .get(key)
            .is_some_and(|e| e.expire.is_some_and(|t| t <= self.now))
    }

    /// The entry at `key` after lazy expiry, without touching stats (EXISTS, TYPE, TTL).
    pub fn lookup(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.find(key)?;
        Some(self.slot(idx))
    }

    /// The entry at `key` without expiring it or touching its access time (OBJECT, DEBUG).
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.db.map.get(key)
    }

    /// A read lookup: lazy expiry, hit/miss statistics, access time, and the `keymiss` event.
    pub fn read(&mut self, key: &[u8]) -> Option<&Value> {
        let lru = self.lru();
        match self.find(key) {
            Some(idx) => {
                self.stats.keyspace_hits += 1;
                let e = self.slot(idx);
                e.lru = lru;
                e.freq = e.freq.saturating_add(1);
                Some(&e.value)
            }
            None => {
                self.stats.keyspace_misses += 1;
                self.events
                    .emit(NotifyFlags::KEY_MISS, "keymiss", self.index, key);
                None
            }
        }
    }

    /// A write lookup: lazy expiry and access time, no hit/miss statistics.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Value> {
        let lru = self.lru();
        let idx = self.find(key)?;
        let e = self.slot(idx);
        e.lru = lru;
        Some(&mut e.value)
    }

    /// Whether `key` exists (after lazy expiry).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Adds a key that must not exist (Redis's `dbAdd`); emits `new`. Returns its slot.
    pub fn add(&mut self, key: &[u8], value: Value) -> usize {
        let (idx, _) = self.db.map.insert_full(
            DbKey::from_slice(key),
            Entry {
                value,
                expire: None,
                lru: self.lru(),
                freq: 0,
            },
        );
        self.events.emit(NotifyFlags::NEW, "new", self.index, key);
        idx
    }

    /// Sets `key` to `value` (Redis's `setKey`): overwrites any value of any type and drops its
    /// TTL unless `keep_ttl`. Signals the modification; the caller emits the command's event.
    /// Returns whether the key existed.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> bool {
        let lru = self.lru();
        let existed = match self.find(key) {
            Some(idx) => {
                let e = self.slot(idx);
                e.value = value;
                e.lru = lru;
                if !keep_ttl && e.expire.take().is_some() {
                    self.db.expires.swap_remove(key);
                }
                true
            }
            None => {
                self.add(key, value);
                false
            }
        };
        self.signals.modified(self.index, key);
        self.signals.ready(self.index, key);
        existed
    }

    /// Removes `key` (Redis's `dbDelete`); returns its value. Signals the modification; the
    /// caller emits the command's event (`del`, ...).
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let idx = self.find(key)?;
        let (k, e) = self.db.map.swap_remove_index(idx)?;
        if e.expire.is_some() {
            self.db.expires.swap_remove(&k[..]);
        }
        self.signals.modified(self.index, key);
        self.signals.ready(self.index, key);
        Some(e.value)
    }

    /// Removes `key` if it holds an empty collection, emitting `del` as Redis does after a
    /// pop or remove empties it. Returns whether it was removed.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = self
            .db
            .map
            .get(key)
            .is_some_and(|e| e.value.is_empty_collection());
        if empty {
            self.db.raw_remove(key);
            self.notify(NotifyFlags::GENERIC, "del", key);
        }
        empty
    }

    /// Sets an absolute expiry in Unix milliseconds on an existing key. The caller emits
    /// `expire` (or deletes the key itself when the time is already past, as Redis does).
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        match self.db.map.get_mut(key) {
            Some(e) => {
                if e.expire.is_none() {
                    self.db.expires.insert(key.into());
                }
                e.expire = Some(at_ms);
                true
            }
            None => false,
        }
    }

    /// Removes the TTL of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        match self.db.map.get_mut(key) {
            Some(e) if e.expire.is_some() => {
                e.expire = None;
                self.db.expires.swap_remove(key);
                true
            }
            _ => false,
        }
    }

    /// The absolute expiry of `key` (after lazy expiry): `None` for a missing key,
    /// `Some(None)` for a key without TTL.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<Option<i64>> {
        self.lookup(key).map(|e| e.expire)
    }

    /// Reports a write: records the key event and signals WATCH and blocked clients, as Redis's
    /// `notifyKeyspaceEvent` + `signalModifiedKey` pair.
    #[inline]
    pub fn notify(&mut self, class: NotifyFlags, event: &'static str, key: &[u8]) {
        self.events.emit(class, event, self.index, key);
        self.signals.modified(self.index, key);
        self.signals.ready(self.index, key);
    }

    /// Records an event without signalling a modification (e.g. `expire` when the key itself
    /// was already signalled).
    pub fn emit(&mut self, class: NotifyFlags, event: &'static str, key: &[u8]) {
        self.events.emit(class, event, self.index, key);
    }

    /// Signals a modification without an event (`signalModifiedKey` alone).
    pub fn touch(&mut self, key: &[u8]) {
        self.signals.modified(self.index, key);
        self.signals.ready(self.index, key);
    }

    /// A random key that is not expired, deleting expired ones it meets (RANDOMKEY).
    pub fn random_key(&mut self) -> Option<Box<[u8]>> {
        for _ in 0..100 {
            let key: Box<[u8]> = self.db.random_key()?.into();
            if self.expire_if_needed(&key) {
                continue;
            }
            return Some(key);
        }
        // Everything sampled was expired; answer with some key like Redis does.
        self.db.random_key().map(Into::into)
    }

    typed_access!(
        read_str,
        write_str,
        str_or_create,
        Str,
        StrValue,
        Value::Str(StrValue::Int(0))
    );
    typed_access!(
        read_list,
        write_list,
        list_or_create,
        List,
        ListValue,
        Value::List(ListValue::default())
    );
    typed_access!(
        read_hash,
        write_hash,
        hash_or_create,
        Hash,
        Box<HashValue>,
        Value::Hash(Box::default())
    );
    typed_access!(
        read_set,
        write_set,
        set_or_create,
        Set,
        Box<SetValue>,
        Value::Set(Box::default())
    );
    typed_access!(
        read_zset,
        write_zset,
        zset_or_create,
        ZSet,
        Box<ZSetValue>,
        Value::ZSet(Box::default())
    );
    typed_access!(
        read_stream,
        write_stream,
        stream_or_create,
        Stream,
        Box<StreamValue>,
        Value::Stream(Box::default())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_slots_visits_everything_once_without_changes() {
        let items: Vec<u32> = (0..100).collect();
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let (batch, next) = scan_slots(items.len(), cursor, 7, |i| items.get(i).copied());
            seen.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        seen.sort_unstable();
        assert_eq!(seen, items);
    }

    #[test]
    fn scan_guarantee_holds_under_swap_remove() {
        let mut db = Db::default();
        for i in 0..1000u32 {
            db.raw_insert(
                i.to_string().as_bytes(),
                Entry {
                    value: Value::Str(StrValue::Int(0)),
                    expire: None,
                    lru: 0,
                    freq: 0,
                },
            );
        }
        // Keys 0..500 stay for the whole scan; the others are deleted while it runs.
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut victim = 500u32;
        loop {
            let (batch, next) = db.scan_keys(cursor, 10);
            seen.extend(batch);
            for _ in 0..5 {
                if victim < 1000 {
                    db.raw_remove(victim.to_string().as_bytes());
                    victim += 1;
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for i in 0..500u32 {
            assert!(seen.contains(i.to_string().as_bytes()), "missed {i}");
        }
    }
}
