//! Blocked clients: BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK and friends.
//!
//! A blocking handler that finds nothing to serve calls [`Ctx::block`], which records a
//! [`Waiter`] (its argv, keys, database and a oneshot sender) and returns
//! [`Reply::Wait`]. The connection awaits the oneshot outside the keyspace lock. When a write
//! signals a blocked-on key as ready, [`serve_ready`] re-runs each waiter's command in FIFO
//! order, while the writer still holds the keyspace, so no other client can steal the value; the
//! first run that produces a reply completes the waiter.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::client::{ClientState, Protocol};
use super::reply::Reply;
use super::{Ctx, Shared, Store};

/// Identifies one blocked command.
pub type WaiterId = u64;

/// What a blocked command answers when its timeout passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (BLPOP, BZPOPMIN, XREAD, BLMPOP).
    NullArray,
    /// `$-1` (BLMOVE, BRPOPLPUSH).
    Null,
}

impl TimeoutReply {
    /// The reply to send.
    pub fn reply(self) -> Reply {
        match self {
            TimeoutReply::NullArray => Reply::NullArray,
            TimeoutReply::Null => Reply::Null,
        }
    }
}

/// The connection's side of a blocked command.
#[derive(Debug)]
pub struct Pending {
    /// Receives the reply when a write serves the command (or CLIENT UNBLOCK ends it).
    pub rx: Option<oneshot::Receiver<Reply>>,
    /// When to give up; `None` blocks forever.
    pub deadline: Option<Instant>,
    /// The waiter to remove on timeout or disconnect.
    pub waiter: WaiterId,
    /// The reply on timeout.
    pub on_timeout: TimeoutReply,
}

impl Pending {
    /// The marker a handler returns when re-run for a waiter that still cannot be served.
    pub fn still_blocked() -> Pending {
        Pending {
            rx: None,
            deadline: None,
            waiter: 0,
            on_timeout: TimeoutReply::NullArray,
        }
    }
}

/// A reply that another thread will produce (an RG.PYEXECUTE run, RG.GETRESULTSBLOCKING): the
/// client waits like a blocked client with no keys and no timeout.
pub fn deferred() -> (Reply, oneshot::Sender<Reply>) {
    let (tx, rx) = oneshot::channel();
    (
        Reply::Wait(Pending {
            rx: Some(rx),
            deadline: None,
            waiter: 0,
            on_timeout: TimeoutReply::NullArray,
        }),
        tx,
    )
}

/// One blocked command.
#[derive(Debug)]
pub struct Waiter {
    client_id: u64,
    db: usize,
    protocol: Protocol,
    keys: Vec<Box<[u8]>>,
    argv: Vec<Bytes>,
    tx: oneshot::Sender<Reply>,
    on_timeout: TimeoutReply,
}

/// Every blocked command, by id and by key in FIFO order.
#[derive(Debug, Default)]
pub struct Blocked {
    next: WaiterId,
    waiters: HashMap<WaiterId, Waiter>,
    by_key: HashMap<(usize, Box<[u8]>), VecDeque<WaiterId>>,
    /// The key whose readiness [`serve_ready`] is serving right now.
    serving_key: Option<Box<[u8]>>,
}

impl Blocked {
    /// Number of blocked clients (INFO clients `blocked_clients`).
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether no client is blocked.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Number of keys clients block on (INFO `total_blocking_keys`).
    pub fn key_count(&self) -> usize {
        self.by_key.len()
    }

    /// Removes a waiter (timeout, disconnect). Returns its timeout reply if it was still
    /// blocked.
    pub fn remove(store: &mut Store, id: WaiterId) -> Option<TimeoutReply> {
        detach(store, id).map(|w| w.on_timeout)
    }

    /// The waiter of a client, if it is blocked (CLIENT UNBLOCK).
    pub fn waiter_of(&self, client_id: u64) -> Option<WaiterId> {
        self.waiters
            .iter()
            .find(|(_, w)| w.client_id == client_id)
            .map(|(id, _)| *id)
    }
}

/// Takes a waiter out of every index it is in.
fn detach(store: &mut Store, id: WaiterId) -> Option<Waiter> {
    let w = store.blocked.waiters.remove(&id)?;
    for k in &w.keys {
        let kk = (w.db, k.clone());
        if let Some(q) = store.blocked.by_key.get_mut(&kk) {
            q.retain(|&x| x != id);
            if q.is_empty() {
                store.blocked.by_key.remove(&kk);
            }
        }
        store.ks.signals.unblock(w.db, k);
    }
    Some(w)
}

impl Ctx<'_> {
    /// Whether this command may block (not inside MULTI/EXEC, a function, or a retry).
    pub fn may_block(&self) -> bool {
        !self.in_exec && !self.serving && !self.client.is_fake()
    }

    /// While re-running a blocked command: the key whose write woke it. Redis serves a waiter
    /// from that key only (BLPOP a b serves from b when b became ready first).
    pub fn serving_key(&self) -> Option<&[u8]> {
        if self.serving {
            self.store.blocked.serving_key.as_deref()
        } else {
            None
        }
    }

    /// Blocks the client on `keys` until a write serves it or `timeout` passes.
    ///
    /// `argv` is the command to re-run when a key becomes ready (e.g. XREAD with `$` replaced by
    /// the last id); `None` re-runs the command as sent. When re-run for a waiter, this returns
    /// the "still blocked" marker instead of blocking again.
    pub fn block(
        &mut self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
        argv: Vec<Bytes>,
        on_timeout: TimeoutReply,
    ) -> Reply {
        if self.serving {
            return Reply::Wait(Pending::still_blocked());
        }
        let (tx, rx) = oneshot::channel();
        let blocked = &mut self.store.blocked;
        blocked.next += 1;
        let id = blocked.next;
        let db = self.client.db;
        let mut owned_keys: Vec<Box<[u8]>> = Vec::with_capacity(keys.len());
        for k in keys {
            if owned_keys.iter().any(|o| &**o == *k) {
                continue;
            }
            owned_keys.push((*k).into());
            blocked
                .by_key
                .entry((db, (*k).into()))
                .or_default()
                .push_back(id);
            self.store.ks.signals.block(db, k);
        }
        blocked.waiters.insert(
            id,
            Waiter {
                client_id: self.client.id,
                db,
                protocol: self.client.protocol,
                keys: owned_keys,
                argv,
                tx,
                on_timeout,
            },
        );
        Reply::Wait(Pending {
            rx: Some(rx),
            deadline: timeout.map(|t| Instant::now() + t),
            waiter: id,
            on_timeout,
        })
    }
}

/// Ends a client's blocked command early (CLIENT UNBLOCK): with its timeout reply, or with
/// an `UNBLOCKED` error. True if the client was blocked.
pub fn unblock_client(store: &mut Store, client_id: u64, error: bool) -> bool {
    let Some(w) = store
        .blocked
        .waiter_of(client_id)
        .and_then(|id| detach(store, id))
    else {
        return false;
    };
    let reply = if error {
        Reply::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    } else {
        w.on_timeout.reply()
    };
    let _ = w.tx.send(reply);
    true
}

/// Serves the clients blocked on keys that writes signalled as ready, in FIFO order per key,
/// until no key is ready. Runs while the caller holds the keyspace.
pub fn serve_ready(store: &mut Store, shared: &Shared) {
    let mut rounds = 0;
    while store.ks.signals.has_ready() {
        rounds += 1;
        if rounds > 10_000 {
            tracing::error!("blocked clients kept re-signalling, giving up this round");
            store.ks.signals.take_ready();
            break;
        }
        for (db, key) in store.ks.signals.take_ready() {
            let ids: Vec<WaiterId> = match store.blocked.by_key.get(&(db, key.clone())) {
                Some(q) => q.iter().copied().collect(),
                None => continue,
            };
            for id in ids {
                let Some(w) = store.blocked.waiters.get(&id) else {
                    continue;
                };
                if w.tx.is_closed() {
                    Blocked::remove(store, id);
                    continue;
                }
                let argv = w.argv.clone();
                let mut client = ClientState::fake(w.client_id, w.db, w.protocol);
                let slices: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
                store.blocked.serving_key = Some(key.clone());
                let reply = {
                    let mut ctx = Ctx {
                        store,
                        client: &mut client,
                        shared,
                        serving: true,
                        in_exec: false,
                    };
                    super::call(&mut ctx, &slices)
                };
                store.blocked.serving_key = None;
                match reply {
                    Reply::Wait(_) => {}
                    reply => {
                        if let Some(w) = detach(store, id) {
                            let _ = w.tx.send(reply);
                        }
                    }
                }
            }
        }
    }
}
