//! The embedded keyspace: 16 databases of typed values with Redis 7 semantics.
//!
//! Owns: values and their encodings ([`value`] and one file per type), expiry (lazy on access and
//! an active cycle, [`expire`]), key events ([`events`]), glob matching ([`glob`]) and the
//! per-key signals that WATCH and blocking commands need ([`KeySignals`]).
//! Imports nothing from the rest of the crate: the keyspace knows nothing of RESP, clients or
//! the engine. The whole [`Keyspace`] sits behind one lock held by the command layer, as Redis's
//! single thread would.

pub mod bits;
pub mod clock;
pub mod db;
pub mod events;
pub mod expire;
pub mod glob;
pub mod hash;
pub mod journal;
pub mod list;
pub mod serialize;
pub mod set;
pub mod stream;
pub mod string;
pub mod value;
pub mod zset;

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

pub use db::{Db, DbView, Entry};
pub use events::{EventSink, KeyEvent, NotifyFlags};
pub use value::{Thresholds, Value, ValueType};

/// The hasher every keyspace table uses (foldhash, randomly seeded per table).
pub type FastHasher = foldhash::fast::RandomState;
/// An insertion-ordered hash map with O(1) index access (stable scan cursors, random picks).
pub type FastMap<K, V> = indexmap::IndexMap<K, V, FastHasher>;
/// An insertion-ordered hash set with O(1) index access.
pub type FastSet<K> = indexmap::IndexSet<K, FastHasher>;

/// A new empty [`FastMap`].
pub fn new_map<K, V>() -> FastMap<K, V> {
    FastMap::with_hasher(FastHasher::default())
}

/// A new empty [`FastSet`].
pub fn new_set<K>() -> FastSet<K> {
    FastSet::with_hasher(FastHasher::default())
}

/// Number of databases, as Redis's default `databases 16`.
pub const NUM_DBS: usize = 16;

/// Errors of keyspace operations; the command layer maps them to wire errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyspaceError {
    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// A database index out of range.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
}

/// Counters `INFO stats` and `INFO keyspace` report.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Successful read lookups.
    pub keyspace_hits: u64,
    /// Failed read lookups.
    pub keyspace_misses: u64,
    /// Keys removed because their TTL passed.
    pub expired_keys: u64,
}

/// A key of one database, owned: `(db, key)`.
type DbKeyRef = (usize, Box<[u8]>);

/// The per-key signals WATCH and blocking commands need: which keys clients watch or block on,
/// which watching clients saw a change, and which blocked-on keys were written.
#[derive(Debug, Default)]
pub struct KeySignals {
    watched: HashMap<(usize, Box<[u8]>), Vec<u64>>,
    dirty: HashSet<u64>,
    blocked: HashMap<(usize, Box<[u8]>), usize>,
    ready: Vec<(usize, Box<[u8]>)>,
    /// Journaled keys → the journals holding their pre-image.
    journaled: HashMap<DbKeyRef, smallvec::SmallVec<[u64; 2]>>,
    /// `(journal, db, key)`: keys written by someone else after the journal recorded them.
    overwritten: HashSet<(u64, usize, Box<[u8]>)>,
}

impl KeySignals {
    /// Records that `client` watches `key` in `db`.
    pub fn watch(&mut self, db: usize, key: &[u8], client: u64) {
        let w = self.watched.entry((db, key.into())).or_default();
        if !w.contains(&client) {
            w.push(client);
        }
    }

    /// Forgets every watch of `client` on the given keys and its dirty flag.
    pub fn unwatch(&mut self, client: u64, keys: &[(usize, Box<[u8]>)]) {
        for k in keys {
            if let Some(w) = self.watched.get_mut(k) {
                w.retain(|&c| c != client);
                if w.is_empty() {
                    self.watched.remove(k);
                }
            }
        }
        self.dirty.remove(&client);
    }

    /// Whether a key `client` watches was modified since it watched it.
    pub fn is_dirty(&self, client: u64) -> bool {
        self.dirty.contains(&client)
    }

    /// Marks `client`'s transaction as failed (e.g. a watched key expired before EXEC).
    pub fn mark_dirty(&mut self, client: u64) {
        self.dirty.insert(client);
    }

    /// `signalModifiedKey`: every client watching `key` will fail its EXEC.
    #[inline]
    pub fn modified(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() && self.journaled.is_empty() {
            return;
        }
        // The lookup needs an owned tuple key; only pay for it when someone watches.
        let k = (db, Box::from(key));
        if let Some(w) = self.watched.get(&k) {
            self.dirty.extend(w.iter().copied());
        }
        if let Some(js) = self.journaled.get(&k) {
            for &id in js {
                if !journal::is_active(id) {
                    self.overwritten.insert((id, db, k.1.clone()));
                }
            }
        }
    }

    /// Watches a journaled key for writes by others.
    fn journal_watch(&mut self, db: usize, key: &[u8], journal: u64) {
        let w = self.journaled.entry((db, key.into())).or_default();
        if !w.contains(&journal) {
            w.push(journal);
        }
    }

    /// Stops watching a key for `journal`; returns whether someone else wrote it meanwhile.
    fn journal_unwatch(&mut self, db: usize, key: &[u8], journal: u64) -> bool {
        let k = (db, Box::<[u8]>::from(key));
        if let Some(w) = self.journaled.get_mut(&k) {
            w.retain(|j| *j != journal);
            if w.is_empty() {
                self.journaled.remove(&k);
            }
        }
        self.overwritten.remove(&(journal, db, k.1))
    }

    /// A database is emptied or replaced (FLUSHDB, FLUSHALL, SWAPDB): a watched key counts as
    /// modified if it existed before or exists after, as Redis's `touchAllWatchedKeysInDb`.
    pub fn modified_db(&mut self, db: usize, existed: impl Fn(&[u8]) -> bool) {
        for ((d, key), w) in &self.watched {
            if *d == db && existed(key) {
                self.dirty.extend(w.iter().copied());
            }
        }
        for ((d, key), js) in &self.journaled {
            if *d == db && existed(key) {
                for &id in js {
                    if !journal::is_active(id) {
                        self.overwritten.insert((id, db, key.clone()));
                    }
                }
            }
        }
    }

    /// The keys of `db` that some client watches.
    pub fn watched_keys(&self, db: usize) -> Vec<Box<[u8]>> {
        self.watched
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Records one more client blocked on `key`.
    pub fn block(&mut self, db: usize, key: &[u8]) {
        *self.blocked.entry((db, key.into())).or_default() += 1;
    }

    /// Records one client fewer blocked on `key`.
    pub fn unblock(&mut self, db: usize, key: &[u8]) {
        let k = (db, Box::from(key));
        if let Some(n) = self.blocked.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.blocked.remove(&k);
            }
        }
    }

    /// `signalKeyAsReady`: a blocked-on key was written; the command layer serves its waiters.
    #[inline]
    pub fn ready(&mut self, db: usize, key: &[u8]) {
        if self.blocked.is_empty() {
            return;
        }
        let k = (db, Box::from(key));
        if self.blocked.contains_key(&k) && !self.ready.contains(&k) {
            self.ready.push(k);
        }
    }

    /// Every blocked-on key of `db` is ready (FLUSHDB, SWAPDB).
    pub fn ready_db(&mut self, db: usize) {
        let keys: Vec<_> = self
            .blocked
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        for k in keys {
            if !self.ready.contains(&k) {
                self.ready.push(k);
            }
        }
    }

    /// Whether any blocked-on key is ready.
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Takes the ready keys, in the order they became ready.
    pub fn take_ready(&mut self) -> Vec<(usize, Box<[u8]>)> {
        std::mem::take(&mut self.ready)
    }
}

/// All databases plus what every write reports to.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    /// Key events of the current command, drained by the command layer.
    pub events: EventSink,
    /// WATCH and blocking-command signals.
    pub signals: KeySignals,
    /// Encoding thresholds (from config).
    pub thresholds: Thresholds,
    /// INFO counters.
    pub stats: Stats,
    now_ms: i64,
    lazy_expire_disabled: bool,
}

impl Default for Keyspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Keyspace {
    /// An empty keyspace with [`NUM_DBS`] databases.
    pub fn new() -> Self {
        Keyspace {
            dbs: (0..NUM_DBS).map(|_| Db::default()).collect(),
            events: EventSink::default(),
            signals: KeySignals::default(),
            thresholds: Thresholds::default(),
            stats: Stats::default(),
            now_ms: unix_ms(),
            lazy_expire_disabled: false,
        }
    }

    /// Number of databases.
    pub fn num_dbs(&self) -> usize {
        self.dbs.len()
    }

    /// Sets the clock every expiry decision of the next command uses (Redis caches the time
    /// per command, and per transaction for MULTI/EXEC).
    pub fn set_now(&mut self, ms: i64) {
        self.now_ms = ms;
    }

    /// The cached command time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Turns lazy expiry off while a transaction or function must see a frozen keyspace.
    pub fn set_lazy_expire_disabled(&mut self, off: bool) {
        self.lazy_expire_disabled = off;
    }

    /// A view of database `index` that reports to this keyspace's events and signals.
    ///
    /// # Panics
    /// Panics if `index` is out of range; the command layer validates indices (SELECT, MOVE).
    pub fn db(&mut self, index: usize) -> DbView<'_> {
        DbView {
            index,
            db: &mut self.dbs[index],
            events: &mut self.events,
            signals: &mut self.signals,
            stats: &mut self.stats,
            thresholds: self.thresholds,
            now: self.now_ms,
            lazy_expire: !self.lazy_expire_disabled,
        }
    }

    /// Read-only access to database `index` (INFO keyspace, DBSIZE).
    pub fn db_ref(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    /// Views of two different databases at once (MOVE, COPY ... DB).
    ///
    /// # Panics
    /// Panics if `a == b` or either is out of range.
    pub fn two_dbs(&mut self, a: usize, b: usize) -> (&mut Db, &mut Db) {
        assert_ne!(a, b, "two_dbs needs two different databases");
        if a < b {
            let (lo, hi) = self.dbs.split_at_mut(b);
            (&mut lo[a], &mut hi[0])
        } else {
            let (lo, hi) = self.dbs.split_at_mut(a);
            (&mut hi[0], &mut lo[b])
        }
    }

    /// Removes every key of database `index` (FLUSHDB); returns how many there were.
    pub fn flush_db(&mut self, index: usize) -> usize {
        let n = self.dbs[index].len();
        let old = std::mem::take(&mut self.dbs[index]);
        self.signals
            .modified_db(index, |k| old.raw_get(k).is_some());
        self.signals.ready_db(index);
        n
    }

    /// Removes every key of every database (FLUSHALL).
    pub fn flush_all(&mut self) -> usize {
        (0..self.dbs.len()).map(|i| self.flush_db(i)).sum()
    }

    /// Swaps two databases (SWAPDB): clients of one now see the other's data.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        for (i, j) in [(a, b), (b, a)] {
            let (before, after) = (&self.dbs[i], &self.dbs[j]);
            self.signals.modified_db(i, |k| {
                before.raw_get(k).is_some() || after.raw_get(k).is_some()
            });
        }
        self.dbs.swap(a, b);
        for i in [a, b] {
            self.signals.ready_db(i);
        }
    }

    /// Records `key`'s pre-image in every journal active on this thread that lacks it (before
    /// a command run by user code changes the key).
    pub fn journal_key(&mut self, db: usize, key: &[u8]) {
        if db >= self.dbs.len() {
            return;
        }
        let (dbs, signals) = (&self.dbs, &mut self.signals);
        journal::for_each_active(|j| {
            if !j.has(db, key) && j.record(db, key, dbs[db].raw_get(key)) {
                signals.journal_watch(db, key, j.id());
            }
        });
    }

    /// Records the pre-image of every key of database `db` (before FLUSHDB, FLUSHALL); with
    /// `also`, of every key of that database too in `db` (SWAPDB brings them in).
    pub fn journal_db(&mut self, db: usize, also: Option<usize>) {
        if !journal::any_active() || db >= self.dbs.len() {
            return;
        }
        let mut keys: Vec<Box<[u8]>> = self.dbs[db].raw_iter().map(|(k, _)| k.into()).collect();
        if let Some(o) = also.filter(|&o| o < self.dbs.len()) {
            keys.extend(self.dbs[o].raw_iter().map(|(k, _)| Box::<[u8]>::from(k)));
        }
        for k in keys {
            self.journal_key(db, &k);
        }
    }

    /// Puts back every pre-image of `j` that nobody else overwrote since, newest write first,
    /// and closes the journal. Returns how many keys were restored.
    pub fn rollback(&mut self, j: &journal::Journal) -> usize {
        let mut restored = 0;
        for ((db, key), pre) in j.take() {
            if self.signals.journal_unwatch(db, &key, j.id()) || db >= self.dbs.len() {
                continue;
            }
            match pre {
                Some(entry) => self.dbs[db].raw_insert(&key, entry),
                None => {
                    self.dbs[db].raw_remove(&key);
                }
            }
            self.signals.modified(db, &key);
            self.signals.ready(db, &key);
            restored += 1;
        }
        restored
    }

    /// Forgets `j`'s pre-images (the execution finished): its keys are no longer watched.
    pub fn journal_release(&mut self, j: &journal::Journal) {
        for ((db, key), _) in j.take() {
            self.signals.journal_unwatch(db, &key, j.id());
        }
    }

    /// Number of keys and of keys with a TTL in each non-empty database (INFO keyspace).
    pub fn db_sizes(&self) -> Vec<(usize, usize, usize)> {
        self.dbs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_empty())
            .map(|(i, d)| (i, d.len(), d.volatile_len()))
            .collect()
    }

    /// Total keys in every database.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}
