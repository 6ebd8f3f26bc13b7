//! Write journals: what an execution changed, so an aborted execution leaves no partial writes.
//!
//! Before a command run by user code (`execute()`) changes a key, the command layer records the
//! key's pre-image (its whole entry, or its absence) in every journal active on the thread,
//! once per key and journal. Journals are active on a thread while the engine runs an
//! execution's steps there ([`activate`]); nested sync executions stack, so a parent's journal
//! also covers the writes of the triggers its own writes fired.
//!
//! Rolling back ([`super::Keyspace::rollback`]) puts every pre-image back, except for keys
//! somebody else wrote after the execution did: the keyspace watches journaled keys, and a write
//! by any thread on which the journal is not active marks the key as overwritten, so a later
//! write by another client wins. A sync execution holds the keyspace throughout, so nobody else
//! writes and its rollback is exact.
//!
//! Key events, keyspace notifications and replication of the rolled-back writes are not retracted
//! (they were delivered as the writes happened); the rollback itself emits no event and signals
//! WATCH and blocked clients as any write does.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::db::{DbKey, Entry};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The pre-images of the keys one execution wrote.
#[derive(Debug)]
pub struct Journal {
    id: u64,
    inner: Mutex<Inner>,
    bytes: AtomicUsize,
}

#[derive(Debug, Default)]
struct Inner {
    /// `(db, key)` → the entry before the execution's first write (None: the key was absent),
    /// in the order the keys were first written.
    pre: indexmap::IndexMap<(usize, DbKey), Option<Entry>, super::FastHasher>,
    /// Set once the journal was rolled back or released: it records nothing more.
    closed: bool,
}

/// Roughly what a recorded pre-image costs (counted against the execution's memory limit).
fn entry_bytes(key: &[u8], e: Option<&Entry>) -> usize {
    64 + key.len() + e.map_or(0, |e| e.value.approx_size())
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Arc<Journal> {
        Arc::new(Journal {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inner: Mutex::new(Inner::default()),
            bytes: AtomicUsize::new(0),
        })
    }

    /// The journal's id (what the keyspace's watch marks refer to).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().pre.is_empty()
    }

    /// Number of keys recorded.
    pub fn len(&self) -> usize {
        self.inner.lock().pre.len()
    }

    /// Approximate bytes the pre-images hold.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Records `key`'s pre-image unless it already has one; returns whether it was new.
    pub(super) fn record(&self, db: usize, key: &[u8], entry: Option<&Entry>) -> bool {
        let mut inner = self.inner.lock();
        if inner.closed {
            return false;
        }
        let k = (db, DbKey::from_slice(key));
        if inner.pre.contains_key(&k) {
            return false;
        }
        self.bytes
            .fetch_add(entry_bytes(key, entry), Ordering::Relaxed);
        inner.pre.insert(k, entry.cloned());
        true
    }

    /// Whether `(db, key)` already has a pre-image.
    pub(super) fn has(&self, db: usize, key: &[u8]) -> bool {
        self.inner
            .lock()
            .pre
            .contains_key(&(db, DbKey::from_slice(key)))
    }

    /// Takes the pre-images out (newest first) and closes the journal.
    pub(super) fn take(&self) -> Vec<((usize, DbKey), Option<Entry>)> {
        let mut inner = self.inner.lock();
        inner.closed = true;
        self.bytes.store(0, Ordering::Relaxed);
        let mut all: Vec<_> = std::mem::take(&mut inner.pre).into_iter().collect();
        all.reverse();
        all
    }
}

thread_local! {
    /// The journals active on this thread, outermost first.
    static ACTIVE: RefCell<Vec<Arc<Journal>>> = const { RefCell::new(Vec::new()) };
    /// `ACTIVE.len()`, readable without a borrow on the hot path.
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Keeps a journal active on this thread until dropped.
#[derive(Debug)]
#[must_use = "the journal is active only while the guard lives"]
pub struct Active {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Makes `journal` record the writes of commands run on this thread until the guard drops.
pub fn activate(journal: &Arc<Journal>) -> Active {
    ACTIVE.with(|a| a.borrow_mut().push(journal.clone()));
    DEPTH.set(DEPTH.get() + 1);
    Active {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.borrow_mut().pop());
        DEPTH.set(DEPTH.get().saturating_sub(1));
    }
}

/// Whether any journal is active on this thread (cheap: no borrow).
#[inline]
pub fn any_active() -> bool {
    DEPTH.get() > 0
}

/// Calls `f` with each journal active on this thread.
pub(super) fn for_each_active(mut f: impl FnMut(&Arc<Journal>)) {
    if !any_active() {
        return;
    }
    ACTIVE.with(|a| {
        for j in a.borrow().iter() {
            f(j);
        }
    });
}

/// Whether journal `id` is active on this thread (its own writes do not overwrite it).
pub(super) fn is_active(id: u64) -> bool {
    any_active() && ACTIVE.with(|a| a.borrow().iter().any(|j| j.id == id))
}

/// Runs `f` with no journal active on this thread (server-internal writes, e.g. a stream
/// registration acknowledging its batch, are not the execution's).
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let saved = ACTIVE.with(|a| std::mem::take(&mut *a.borrow_mut()));
    let depth = DEPTH.replace(0);
    let r = f();
    ACTIVE.with(|a| *a.borrow_mut() = saved);
    DEPTH.set(depth);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::string::StrValue;
    use crate::keyspace::{Keyspace, Value};

    fn get(ks: &mut Keyspace, key: &[u8]) -> Option<Vec<u8>> {
        match ks.db(0).read(key) {
            Some(Value::Str(s)) => Some(s.as_bytes().into_owned()),
            _ => None,
        }
    }

    fn set(ks: &mut Keyspace, key: &[u8], v: &[u8]) {
        ks.db(0)
            .set(key, Value::Str(StrValue::from_bytes(v)), false);
    }

    #[test]
    fn rollback_restores_pre_images_except_keys_others_wrote_later() {
        let mut ks = Keyspace::new();
        set(&mut ks, b"a", b"1");
        set(&mut ks, b"b", b"1");
        let j = Journal::new();
        {
            let _active = activate(&j);
            for k in [b"a", b"b", b"c"] {
                ks.journal_key(0, k);
                set(&mut ks, k, b"2");
            }
            // A second write to a journaled key keeps the first pre-image.
            ks.journal_key(0, b"a");
            set(&mut ks, b"a", b"3");
        }
        assert_eq!(j.len(), 3);
        assert!(j.bytes() > 0);
        // Another client (no journal active on its thread) writes `b` afterwards.
        set(&mut ks, b"b", b"other");
        assert_eq!(ks.rollback(&j), 2);
        assert_eq!(get(&mut ks, b"a").as_deref(), Some(&b"1"[..]));
        assert_eq!(get(&mut ks, b"b").as_deref(), Some(&b"other"[..]));
        assert_eq!(get(&mut ks, b"c"), None);
        // Closed: nothing more is recorded, and a second rollback restores nothing.
        assert!(j.is_empty());
        assert_eq!(ks.rollback(&j), 0);
    }

    #[test]
    fn nested_journals_both_record_and_released_journals_stop_watching() {
        let mut ks = Keyspace::new();
        let (outer, inner) = (Journal::new(), Journal::new());
        {
            let _o = activate(&outer);
            let _i = activate(&inner);
            ks.journal_key(0, b"k");
            set(&mut ks, b"k", b"v");
        }
        assert_eq!((outer.len(), inner.len()), (1, 1));
        ks.journal_release(&inner);
        assert!(inner.is_empty());
        assert_eq!(ks.rollback(&outer), 1);
        assert_eq!(get(&mut ks, b"k"), None);
        assert!(!any_active());
    }

    #[test]
    fn suspended_writes_are_not_journaled() {
        let mut ks = Keyspace::new();
        let j = Journal::new();
        let _active = activate(&j);
        suspended(|| ks.journal_key(0, b"k"));
        assert!(j.is_empty());
        assert!(any_active());
    }
}
