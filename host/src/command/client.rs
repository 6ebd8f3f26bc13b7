//! Client state: what a handler may read or change about the client that sent the command, and
//! the shared per-client record that CLIENT LIST / CLIENT KILL read for other clients.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use super::pubsub::PushMsg;

/// The protocol a client speaks (HELLO 2 / HELLO 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2 (the default).
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

/// A queued MULTI transaction.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Commands queued, each an owned argv.
    pub queued: Vec<Vec<Bytes>>,
    /// A command failed to queue (unknown, wrong arity): EXEC answers EXECABORT.
    pub failed: bool,
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// Replies are sent.
    #[default]
    On,
    /// No replies are sent.
    Off,
    /// The next command's reply is skipped.
    Skip,
    /// Skipping the reply of the current command.
    SkipThis,
}

/// Per-client state a handler can see and change (the client's own copy, no locking).
#[derive(Debug)]
pub struct ClientState {
    /// Client id (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// RESP version.
    pub protocol: Protocol,
    /// The ACL user the client is authenticated as.
    pub user: String,
    /// Whether the client has authenticated (when a password is required).
    pub authenticated: bool,
    /// MULTI state, when inside a transaction.
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes.
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// Channels subscribed to.
    pub channels: HashSet<Bytes>,
    /// Patterns subscribed to.
    pub patterns: HashSet<Bytes>,
    /// Close the connection after this reply (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// CLIENT REPLY mode.
    pub reply_mode: ReplyMode,
    /// The shared record other clients see; `None` for fake clients (functions, AOF replay).
    pub info: Option<Arc<ClientInfo>>,
    /// Full name of the last command run (CLIENT LIST `cmd=`).
    pub last_cmd: &'static str,
}

impl ClientState {
    /// A client state for a connection.
    pub fn new(info: Arc<ClientInfo>) -> Self {
        ClientState {
            id: info.id,
            db: 0,
            protocol: Protocol::Resp2,
            user: "default".into(),
            authenticated: true,
            multi: None,
            watched: Vec::new(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            info: Some(info),
            last_cmd: "NULL",
        }
    }

    /// A fake client that runs commands without a socket (functions, blocked-command retries,
    /// AOF replay), as Redis's `createClient(NULL)`.
    pub fn fake(id: u64, db: usize, protocol: Protocol) -> Self {
        ClientState {
            id,
            db,
            protocol,
            user: "default".into(),
            authenticated: true,
            multi: None,
            watched: Vec::new(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            info: None,
            last_cmd: "NULL",
        }
    }

    /// Whether the client has a socket.
    pub fn is_fake(&self) -> bool {
        self.info.is_none()
    }

    /// Number of channel and pattern subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Whether the client is in RESP2 subscribe mode (only pub/sub commands allowed).
    pub fn in_subscribe_mode(&self) -> bool {
        self.protocol == Protocol::Resp2 && self.subscription_count() > 0
    }
}

/// What other clients can see of a client (CLIENT LIST/INFO/KILL, pub/sub delivery).
/// Hot fields are atomics so reading them never waits for the client.
#[derive(Debug)]
pub struct ClientInfo {
    /// Client id.
    pub id: u64,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// When the connection was accepted.
    pub created: Instant,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Bytes>>,
    /// Library name/version (CLIENT SETINFO).
    pub lib: Mutex<(String, String)>,
    /// Selected database.
    pub db: AtomicUsize,
    /// Last interaction, Unix ms.
    pub last_interaction: AtomicI64,
    /// Last command name (static, from the command table).
    pub last_cmd: Mutex<&'static str>,
    /// Channel subscriptions.
    pub sub: AtomicUsize,
    /// Pattern subscriptions.
    pub psub: AtomicUsize,
    /// Commands queued in MULTI, or -1.
    pub multi: AtomicI64,
    /// RESP version (2 or 3).
    pub resp: AtomicUsize,
    /// Flags for CLIENT LIST (`N`, `P`, `b`, `x`, `M`).
    pub flags: Mutex<&'static str>,
    /// Bytes queued for this client by pub/sub and not yet written.
    pub pending_out: AtomicUsize,
    /// Set when the client must be disconnected (CLIENT KILL, output limit).
    pub killed: AtomicBool,
    /// Wakes the connection task when `killed` is set.
    pub kill_notify: Notify,
    /// Pub/sub and MONITOR messages for this client.
    pub push_tx: mpsc::UnboundedSender<PushMsg>,
    /// Total commands this client sent.
    pub commands: AtomicU64,
}

impl ClientInfo {
    /// Asks the client's connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_notify.notify_one();
    }

    /// Whether the client was asked to close.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}
