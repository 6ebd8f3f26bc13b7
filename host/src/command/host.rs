//! The server as runtimes and the engine see it: [`GearsHost`] implements `runtime::HostApi`
//! (user code's `execute`, `log`, `atomic`) and `engine::Backend` (readers) over command
//! dispatch and the keyspace.
//!
//! `execute` runs with a fake client (no socket, RESP2, db 0), so blocking commands behave as
//! their non-blocking form and connection-state commands are refused, as in Redis scripts.
//! Inside `atomic()` the thread keeps the keyspace lock and every `execute` reuses it.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use parking_lot::RawMutex;
use parking_lot::lock_api::ArcMutexGuard;

use super::client::{ClientState, Protocol};
use super::{Ctx, Flags, Reply, Shared, Store, dispatch, resolve};
use crate::engine::Backend;
use crate::keyspace::{DbView, Value, ValueType, glob, journal};
use crate::runtime::plan::RunSpec;
use crate::runtime::{HostApi, LogLevel, Record, ReplyValue, RunDone, Runtime, SessionState};

thread_local! {
    /// The keyspace held by an `atomic()` block on this thread.
    static HELD: RefCell<Option<ArcMutexGuard<RawMutex, Store>>> = const { RefCell::new(None) };
    /// The keyspace a command on this thread holds while sync executions run inside it.
    static BORROWED: std::cell::Cell<*mut Store> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// Runs `f` (the engine running sync executions) while `store` is reusable by those
/// executions' `execute()` calls on this thread: a sync trigger runs inside the command that
/// fired it, under the lock that command already holds.
#[allow(
    unsafe_code,
    reason = "re-entrant access to the keyspace held further up this stack"
)]
pub fn with_borrowed_store<R>(store: &mut Store, f: impl FnOnce() -> R) -> R {
    let prev = BORROWED.replace(store as *mut Store);
    let r = f();
    BORROWED.set(prev);
    r
}

/// The server as the engine and runtimes reach it.
pub struct GearsHost {
    shared: Weak<Shared>,
}

impl GearsHost {
    /// A host over `shared` (weak: the server owns the engine, not the other way round).
    pub fn new(shared: &Arc<Shared>) -> Arc<GearsHost> {
        Arc::new(GearsHost {
            shared: Arc::downgrade(shared),
        })
    }

    /// Runs `f` with the keyspace: the one this thread holds in `atomic()`, or freshly locked.
    /// A freshly taken lock is released fairly: a client waiting for the keyspace gets it before
    /// this function's next `execute`, so a function calling `execute` in a loop cannot starve
    /// the clients (the unlock costs nothing more when nobody waits).
    fn with_store<R>(&self, shared: &Shared, f: impl FnOnce(&mut Store) -> R) -> R {
        match self.reach_store(shared, true, f) {
            Ok(r) => r,
            Err(f) => {
                let mut store = shared.store.lock();
                let r = f(&mut store);
                parking_lot::MutexGuard::unlock_fair(store);
                r
            }
        }
    }

    /// [`Self::with_store`] without waiting: gives `f` back when the keyspace is held by
    /// another thread.
    fn try_with_store<R, F: FnOnce(&mut Store) -> R>(&self, shared: &Shared, f: F) -> Option<R> {
        self.reach_store(shared, false, f).ok()
    }

    #[allow(
        unsafe_code,
        reason = "re-entrant access to the keyspace held further up this stack"
    )]
    fn reach_store<R, F: FnOnce(&mut Store) -> R>(
        &self,
        shared: &Shared,
        wait: bool,
        f: F,
    ) -> Result<R, F> {
        let borrowed = BORROWED.replace(std::ptr::null_mut());
        if !borrowed.is_null() {
            // SAFETY: `with_borrowed_store` set this pointer from a `&mut Store` that its caller
            // keeps borrowed, unused, for the whole time the pointer is set; only this thread
            // sees it, and it is cleared while `f` runs so nested calls reborrow it one at a
            // time through the same path.
            let r = f(unsafe { &mut *borrowed });
            BORROWED.set(borrowed);
            return Ok(r);
        }
        let held = HELD.with(|h| h.borrow_mut().take());
        if let Some(mut guard) = held {
            let r = f(&mut guard);
            HELD.with(|h| *h.borrow_mut() = Some(guard));
            return Ok(r);
        }
        let store = if wait {
            Some(shared.store.lock())
        } else {
            shared.store.try_lock()
        };
        match store {
            Some(mut store) => {
                store.begin_batch();
                Ok(f(&mut store))
            }
            None => Err(f),
        }
    }
}

/// A reply as RESP2 shapes it (what RedisGears' RM_Call gives Python).
pub fn reply_value(r: Reply) -> ReplyValue {
    match r {
        Reply::Ok => ReplyValue::Status(b"OK".to_vec()),
        Reply::Simple(s) => ReplyValue::Status(s.as_bytes().to_vec()),
        Reply::Error(e) => ReplyValue::Error(e.into_owned()),
        Reply::Int(n) => ReplyValue::Int(n),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => ReplyValue::Bulk(b.to_vec()),
        Reply::Null | Reply::NullArray | Reply::NoReply | Reply::Wait(_) => ReplyValue::Nil,
        Reply::Double(d) => ReplyValue::Bulk(super::reply::format_double(d).into_bytes()),
        Reply::Bool(b) => ReplyValue::Int(i64::from(b)),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Many(items) => {
            ReplyValue::Array(items.into_iter().map(reply_value).collect())
        }
        Reply::Map(pairs) => ReplyValue::Array(
            pairs
                .into_iter()
                .flat_map(|(k, v)| [reply_value(k), reply_value(v)])
                .collect(),
        ),
    }
}

impl HostApi for GearsHost {
    fn execute(&self, argv: Vec<Vec<u8>>) -> ReplyValue {
        let Some(shared) = self.shared.upgrade() else {
            return ReplyValue::Error("ERR the server is shutting down".into());
        };
        let slices: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let resolved = resolve(&slices).ok();
        if let Some(cmd) = resolved {
            let top = cmd.parent.unwrap_or(cmd.spec);
            // Blocking commands run as their non-blocking form (the fake client cannot block);
            // other commands scripts may not run (MULTI, SUBSCRIBE, SHUTDOWN, ...) are refused.
            if top.flags.contains(Flags::NOSCRIPT) && !top.flags.contains(Flags::BLOCKING) {
                return ReplyValue::Error(
                    "ERR This Redis command is not allowed from script".into(),
                );
            }
        }
        self.with_store(&shared, |store| {
            // The running execution's journal keeps what this command is about to change.
            if let Some(cmd) = resolved
                && journal::any_active()
            {
                super::journal::record_writes(store, cmd, 0, &slices);
            }
            let mut client = ClientState::fake(0, 0, Protocol::Resp2);
            let mut ctx = Ctx::new(store, &mut client, &shared);
            reply_value(dispatch(&mut ctx, &slices))
        })
    }

    fn log(&self, level: LogLevel, msg: &str) {
        match level {
            LogLevel::Debug => tracing::trace!(target: "gears", "GEARS: {msg}"),
            LogLevel::Verbose => tracing::debug!(target: "gears", "GEARS: {msg}"),
            LogLevel::Notice => tracing::info!(target: "gears", "GEARS: {msg}"),
            LogLevel::Warning => tracing::warn!(target: "gears", "GEARS: {msg}"),
        }
    }

    fn gears_config(&self, key: &str) -> Option<String> {
        let shared = self.shared.upgrade()?;
        shared.engine.config().extra.get(key).cloned()
    }

    fn attempt_traceback(&self) -> bool {
        self.shared
            .upgrade()
            .is_none_or(|s| s.engine.config().python_attempt_traceback != 0)
    }

    fn next_plan_id(&self) -> String {
        match self.shared.upgrade() {
            Some(s) => s.engine.next_plan_id(),
            None => format!("{}-0", crate::engine::SHARD_ID),
        }
    }

    fn atomic_enter(&self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if HELD.with(|h| h.borrow().is_some()) {
            return;
        }
        let mut guard = shared.store.lock_arc();
        guard.begin_batch();
        HELD.with(|h| *h.borrow_mut() = Some(guard));
    }

    fn atomic_exit(&self) {
        HELD.with(|h| h.borrow_mut().take());
    }

    fn start_run(
        &self,
        runtime: Arc<dyn Runtime>,
        state: SessionState,
        session_id: &str,
        run: RunSpec,
        done: RunDone,
    ) -> Result<(), String> {
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| "the server is shutting down".to_string())?;
        shared
            .engine
            .start_run(runtime, state, session_id, run, done)
    }

    fn profile_executions(&self) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|s| s.engine.config().profile_executions != 0)
    }

    fn alive(&self) -> bool {
        self.shared.strong_count() > 0
    }

    fn execute_after_hook(&self, argv: Vec<Vec<u8>>, after: &str) -> ReplyValue {
        let name = argv.first().cloned().unwrap_or_default();
        super::hooks::after_hook(&name, after, || self.execute(argv))
    }
}

/// The KeysReader record of `key` in `db`: `{'event': None, 'key', 'type', 'value'}` (or
/// `{'event': None, 'key'}` without values). Values: strings as bytes, lists as lists, hashes as
/// dicts; other types carry None, and streams report the type `unknown`, as RedisGears does.
fn key_record(db: &mut DbView<'_>, key: &[u8], read_value: bool) -> Record {
    let value = if read_value {
        db.lookup(key).map(|e| &e.value)
    } else {
        None
    };
    entry_record(key, value, read_value)
}

/// [`key_record`] of a key already looked up (`None`: missing).
fn entry_record(key: &[u8], value: Option<&Value>, read_value: bool) -> Record {
    let mut fields = Vec::with_capacity(4);
    fields.push(("event".to_string(), Record::Null));
    fields.push(("key".to_string(), Record::bytes(key)));
    if !read_value {
        return Record::Map(fields);
    }
    let (ty, value) = match value {
        None => ("empty", Record::Null),
        Some(Value::Str(s)) => ("string", Record::Bytes(s.as_bytes().into_owned())),
        Some(Value::List(l)) => (
            "list",
            Record::List(l.items.iter().map(Record::bytes).collect()),
        ),
        Some(Value::Hash(h)) => (
            "hash",
            Record::Map(
                h.map
                    .iter()
                    .map(|(f, v)| (String::from_utf8_lossy(f).into_owned(), Record::bytes(v)))
                    .collect(),
            ),
        ),
        Some(v) => match v.value_type() {
            ValueType::Set => ("set", Record::Null),
            ValueType::ZSet => ("zset", Record::Null),
            _ => ("unknown", Record::Null),
        },
    };
    fields.push(("type".to_string(), Record::bytes(ty)));
    fields.push(("value".to_string(), value));
    Record::Map(fields)
}

impl Backend for GearsHost {
    fn rollback(&self, journal: &journal::Journal) -> usize {
        let Some(shared) = self.shared.upgrade() else {
            return 0;
        };
        // Under a held keyspace (a sync execution), the command that holds it serves blocked
        // clients when it finishes; otherwise serve the ones a restored key made ready now.
        let nested = !BORROWED.get().is_null() || HELD.with(|h| h.borrow().is_some());
        self.with_store(&shared, |store| {
            let restored = store.ks.rollback(journal);
            if !nested && store.ks.signals.has_ready() {
                super::blocking::serve_ready(store, &shared);
            }
            restored
        })
    }

    fn command_info(&self, command: &str) -> Option<crate::engine::hooks::CommandInfo> {
        super::hooks::command_info(command)
    }

    fn release_journal(&self, journal: &journal::Journal) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        self.with_store(&shared, |store| store.ks.journal_release(journal));
    }

    fn scan(
        &self,
        cursor: u64,
        pattern: &[u8],
        count: usize,
        read_value: bool,
    ) -> (u64, Vec<Record>) {
        let Some(shared) = self.shared.upgrade() else {
            return (0, Vec::new());
        };
        self.with_store(&shared, |store| {
            let db = store.ks.db(0);
            let now = db.now();
            let all = pattern == b"*";
            // Expired keys are skipped, not deleted: a reader does not write (their deletion
            // is the expiry cycle's, or the next client's lookup).
            let (records, next) = db.raw().scan_entries(cursor, count, |key, entry| {
                if entry.expire.is_some_and(|t| t <= now) || (!all && !glob::matches(pattern, key))
                {
                    return None;
                }
                Some(entry_record(key, Some(&entry.value), read_value))
            });
            (next, records)
        })
    }

    fn read_key(&self, db: usize, key: &[u8], read_value: bool) -> Record {
        let Some(shared) = self.shared.upgrade() else {
            return Record::Null;
        };
        self.with_store(&shared, |store| {
            let db = db.min(store.ks.num_dbs() - 1);
            // Reading for a registration must not itself fire events (lazy expiry).
            store.ks.set_lazy_expire_disabled(true);
            let r = key_record(&mut store.ks.db(db), key, read_value);
            store.ks.set_lazy_expire_disabled(false);
            r
        })
    }

    fn try_read_key(&self, db: usize, key: &[u8], read_value: bool) -> Option<Record> {
        let shared = self.shared.upgrade()?;
        self.try_with_store(&shared, |store| {
            let db = db.min(store.ks.num_dbs() - 1);
            store.ks.set_lazy_expire_disabled(true);
            let r = key_record(&mut store.ks.db(db), key, read_value);
            store.ks.set_lazy_expire_disabled(false);
            r
        })
    }

    fn stream_keys(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        self.with_store(&shared, |store| {
            let db = store.ks.db(0);
            let now = db.now();
            db.raw()
                .raw_iter()
                .filter(|(k, e)| {
                    e.expire.is_none_or(|t| t > now)
                        && matches!(e.value, Value::Stream(_))
                        && (pattern == b"*" || glob::matches(pattern, k))
                })
                .map(|(k, _)| k.to_vec())
                .collect()
        })
    }

    fn xread(&self, key: &[u8], from_id: &str) -> Result<Vec<Record>, String> {
        let reply = self.execute(vec![
            b"XREAD".to_vec(),
            b"STREAMS".to_vec(),
            key.to_vec(),
            from_id.as_bytes().to_vec(),
        ]);
        match reply {
            ReplyValue::Error(e) => Err(e),
            reply => Ok(crate::engine::triggers::stream_records(key, reply)),
        }
    }
}
