//! Commands: the table, the [`Ctx`] handlers run in, and [`dispatch`].
//!
//! Owns: command specs (one `COMMANDS` table per family file), argument parsing ([`args`]),
//! replies ([`reply`]), errors ([`error`]), client state ([`client`]), blocked clients
//! ([`blocking`]) and pub/sub ([`pubsub`]). May import `keyspace` and `config`.
//!
//! A handler is a plain `fn(&mut Ctx, Args) -> Result<Reply, CmdError>`: no socket, no await.
//! Connections, MULTI/EXEC, blocked-command retries and (later) functions' `execute()` and AOF
//! replay all go through [`dispatch`] / [`call`] with a real or fake [`ClientState`].

pub mod args;
pub mod blocking;
pub mod client;
pub mod error;
pub mod pubsub;
pub mod reply;

mod bitmaps;
mod connection;
mod dump;
mod gears;
mod hashes;
mod hooks;
pub mod host;
mod introspect;
mod journal;
mod keys;
mod lists;
mod server;
mod sets;
mod sort;
mod streams;
mod strings;
mod tx;
mod zsets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use bitflags::bitflags;
use parking_lot::Mutex;

pub use args::Args;
pub use blocking::{Blocked, Pending, TimeoutReply};
pub use client::{ClientInfo, ClientState, Protocol};
pub use error::CmdError;
pub use pubsub::{PubSub, PushMsg};
pub use reply::Reply;

use crate::config::Config;
pub use crate::keyspace::unix_ms as now_ms;
use crate::keyspace::{Keyspace, NotifyFlags, unix_ms};

/// What a handler returns.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_>, Args<'_>) -> CmdResult;

bitflags! {
    /// Command flags, as `COMMAND INFO` lists them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Flags: u32 {
        /// May modify the keyspace.
        const WRITE = 1 << 0;
        /// Only reads.
        const READONLY = 1 << 1;
        /// May grow memory.
        const DENYOOM = 1 << 2;
        /// Administrative.
        const ADMIN = 1 << 3;
        /// Pub/sub related.
        const PUBSUB = 1 << 4;
        /// Not allowed from scripts or functions.
        const NOSCRIPT = 1 << 5;
        /// Non-deterministic output.
        const RANDOM = 1 << 6;
        /// Allowed while loading.
        const LOADING = 1 << 7;
        /// Allowed on a stale replica.
        const STALE = 1 << 8;
        /// Not shown by MONITOR.
        const SKIP_MONITOR = 1 << 9;
        /// O(1) or O(log N).
        const FAST = 1 << 10;
        /// Allowed before authentication.
        const NO_AUTH = 1 << 11;
        /// May replicate something.
        const MAY_REPLICATE = 1 << 12;
        /// May block the client.
        const BLOCKING = 1 << 13;
        /// Not allowed inside MULTI.
        const NO_MULTI = 1 << 14;
        /// Allowed while a script is busy.
        const ALLOW_BUSY = 1 << 15;
        /// Output sorted for scripts.
        const SORT_FOR_SCRIPT = 1 << 16;
        /// Keys are optional.
        const NO_MANDATORY_KEYS = 1 << 17;
        /// Not logged in SLOWLOG.
        const SKIP_SLOWLOG = 1 << 18;
    }
}

impl Flags {
    /// The flag names `COMMAND INFO` prints.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: &[(Flags, &str)] = &[
            (Flags::WRITE, "write"),
            (Flags::READONLY, "readonly"),
            (Flags::DENYOOM, "denyoom"),
            (Flags::ADMIN, "admin"),
            (Flags::PUBSUB, "pubsub"),
            (Flags::NOSCRIPT, "noscript"),
            (Flags::RANDOM, "random"),
            (Flags::SORT_FOR_SCRIPT, "sort_for_script"),
            (Flags::LOADING, "loading"),
            (Flags::STALE, "stale"),
            (Flags::SKIP_MONITOR, "skip_monitor"),
            (Flags::SKIP_SLOWLOG, "skip_slowlog"),
            (Flags::FAST, "fast"),
            (Flags::NO_AUTH, "no_auth"),
            (Flags::MAY_REPLICATE, "may_replicate"),
            (Flags::NO_MANDATORY_KEYS, "no_mandatory_keys"),
            (Flags::BLOCKING, "blocking"),
            (Flags::NO_MULTI, "no_multi"),
            (Flags::ALLOW_BUSY, "allow_busy"),
        ];
        NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// One command (or subcommand) of the table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`get`; `get` for `config|get` with `parent` set at lookup).
    pub name: &'static str,
    /// Redis arity: `n` exactly, `-n` at least n (name included).
    pub arity: i32,
    /// Flags.
    pub flags: Flags,
    /// The handler; `None` for a container whose subcommands have handlers.
    pub handler: Option<Handler>,
    /// First key position (0: no keys).
    pub first_key: i32,
    /// Last key position (-1: last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// Documentation group (`string`, `generic`, `server`, ...).
    pub group: &'static str,
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Subcommands of a container command (CONFIG, CLIENT, OBJECT, XGROUP, ...).
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A command with a handler.
    pub const fn new(name: &'static str, arity: i32, flags: Flags, handler: Handler) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            handler: Some(handler),
            first_key: 0,
            last_key: 0,
            step: 0,
            group: "generic",
            summary: "",
            subcommands: &[],
        }
    }

    /// A container command dispatching on its first argument.
    pub const fn container(
        name: &'static str,
        arity: i32,
        flags: Flags,
        subcommands: &'static [CommandSpec],
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            handler: None,
            first_key: 0,
            last_key: 0,
            step: 0,
            group: "generic",
            summary: "",
            subcommands,
        }
    }

    /// Sets the key positions.
    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Self {
        self.first_key = first;
        self.last_key = last;
        self.step = step;
        self
    }

    /// Sets the documentation group.
    pub const fn group(mut self, group: &'static str) -> Self {
        self.group = group;
        self
    }

    /// Sets the summary.
    pub const fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    /// Whether `argc` satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let a = i64::from(self.arity);
        if a >= 0 { argc == a } else { argc >= -a }
    }
}

/// A resolved command: its table index (for statistics) and spec.
#[derive(Debug, Clone, Copy)]
pub struct CmdRef {
    /// Index into [`table`]`().specs` and the per-server statistics.
    pub id: usize,
    /// The spec.
    pub spec: &'static CommandSpec,
    /// The full name (`config|get` for a subcommand).
    pub full_name: &'static str,
    /// The parent container, for subcommands.
    pub parent: Option<&'static CommandSpec>,
}

/// The command table: every family's specs, indexed by lower-case name.
pub struct Table {
    /// Every command and subcommand, by id.
    pub entries: Vec<CmdRef>,
    by_name: HashMap<&'static [u8], usize, foldhash::fast::FixedState>,
    top: Vec<usize>,
}

const FAMILIES: &[&[CommandSpec]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    server::COMMANDS,
    connection::COMMANDS,
    introspect::COMMANDS,
    pubsub::COMMANDS,
    tx::COMMANDS,
    lists::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    bitmaps::COMMANDS,
    sort::COMMANDS,
    dump::COMMANDS,
    gears::COMMANDS,
    hooks::COMMANDS,
];

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut entries = Vec::new();
    let mut by_name = HashMap::with_hasher(foldhash::fast::FixedState::default());
    let mut top = Vec::new();
    for family in FAMILIES {
        for spec in *family {
            let id = entries.len();
            entries.push(CmdRef {
                id,
                spec,
                full_name: spec.name,
                parent: None,
            });
            by_name.insert(spec.name.as_bytes(), id);
            top.push(id);
            for sub in spec.subcommands {
                let full: &'static str =
                    Box::leak(format!("{}|{}", spec.name, sub.name).into_boxed_str());
                let sid = entries.len();
                entries.push(CmdRef {
                    id: sid,
                    spec: sub,
                    full_name: full,
                    parent: Some(spec),
                });
                by_name.insert(full.as_bytes(), sid);
            }
        }
    }
    Table {
        entries,
        by_name,
        top,
    }
});

use crate::keyspace::clock::clock;

/// The process-wide command table.
pub fn table() -> &'static Table {
    &TABLE
}

impl Table {
    /// Looks a name up ASCII-case-insensitively (`config|get` for subcommands).
    pub fn lookup(&self, name: &[u8]) -> Option<CmdRef> {
        thread_local! {
            // Pipelines repeat one command: remember the last hit to skip the hash lookup.
            static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
        }
        let last = LAST.get();
        if let Some(hit) = self.entries.get(last)
            && hit.full_name.as_bytes().eq_ignore_ascii_case(name)
        {
            return Some(*hit);
        }
        let mut buf = [0u8; 64];
        if name.len() > buf.len() {
            return None;
        }
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let id = *self.by_name.get(&buf[..name.len()])?;
        LAST.set(id);
        Some(self.entries[id])
    }

    /// Top-level commands (COMMAND, COMMAND COUNT).
    pub fn top_level(&self) -> impl Iterator<Item = CmdRef> + '_ {
        self.top.iter().map(|&id| self.entries[id])
    }

    /// Looks up a subcommand of `parent`.
    pub fn lookup_sub(&self, parent: &CommandSpec, sub: &[u8]) -> Option<CmdRef> {
        let mut name = Vec::with_capacity(parent.name.len() + 1 + sub.len());
        name.extend_from_slice(parent.name.as_bytes());
        name.push(b'|');
        name.extend_from_slice(sub);
        self.lookup(&name)
    }
}

/// Per-command statistics (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    /// Calls.
    pub calls: u64,
    /// Total microseconds.
    pub usec: u64,
    /// Rejected before running (arity, unknown subcommand, ...).
    pub rejected: u64,
    /// Ran and returned an error.
    pub failed: u64,
}

/// Server-wide counters kept under the keyspace lock.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Per command id.
    pub commands: Vec<CmdStat>,
    /// Errors replied, by error code (`ERR`, `WRONGTYPE`).
    pub errors: HashMap<String, u64>,
    /// Writes since the last save (INFO persistence `rdb_changes_since_last_save`).
    pub dirty: u64,
    /// Unix seconds of the last save.
    pub last_save: i64,
}

/// Everything commands share under one lock, like Redis's single thread: the keyspace, blocked
/// clients, pub/sub and config.
#[derive(Debug)]
pub struct Store {
    /// The databases.
    pub ks: Keyspace,
    /// Blocked clients.
    pub blocked: Blocked,
    /// Subscriptions.
    pub pubsub: PubSub,
    /// Configuration.
    pub config: Config,
    /// Statistics.
    pub stats: ServerStats,
    /// MONITOR clients.
    pub monitors: Vec<Arc<ClientInfo>>,
    /// When the current command started, in raw TSC ticks (command statistics read one cheap
    /// clock per command).
    cmd_clock: u64,
}

impl Store {
    /// A store with the given configuration applied.
    pub fn new(config: Config) -> Self {
        let mut store = Store {
            ks: Keyspace::new(),
            blocked: Blocked::default(),
            pubsub: PubSub::default(),
            config,
            stats: ServerStats {
                commands: vec![CmdStat::default(); table().entries.len()],
                last_save: unix_ms() / 1000,
                ..ServerStats::default()
            },
            monitors: Vec::new(),
            cmd_clock: 0,
        };
        store.apply_config();
        store
    }

    /// Starts a batch of commands: reads the clock once for expiry decisions and statistics.
    /// Every holder of the lock that runs commands (connections, cron, functions) calls it.
    pub fn begin_batch(&mut self) {
        self.ks.set_now(unix_ms());
        self.cmd_clock = clock().raw();
    }

    /// Pushes config values that change running behaviour into the keyspace.
    pub fn apply_config(&mut self) {
        let c = &self.config;
        let flags = NotifyFlags::parse(c.get("notify-keyspace-events").unwrap_or("").as_bytes())
            .unwrap_or_default();
        self.ks.events.set_notify_flags(flags);
        let t = &mut self.ks.thresholds;
        let n = |k: &str| usize::try_from(c.get_i64(k)).unwrap_or(0);
        t.hash_max_listpack_entries = n("hash-max-listpack-entries");
        t.hash_max_listpack_value = n("hash-max-listpack-value");
        t.set_max_intset_entries = n("set-max-intset-entries");
        t.zset_max_listpack_entries = n("zset-max-listpack-entries");
        t.zset_max_listpack_value = n("zset-max-listpack-value");
        t.list_max_listpack_size = c.get_i64("list-max-listpack-size");
        t.stream_node_max_bytes = n("stream-node-max-bytes");
        t.stream_node_max_entries =
            u64::try_from(c.get_i64("stream-node-max-entries")).unwrap_or(0);
    }
}

/// Limits the connection layer reads without taking the keyspace lock.
#[derive(Debug)]
pub struct ConnLimits {
    /// `proto-max-bulk-len`.
    pub proto_max_bulk_len: AtomicU64,
    /// `client-query-buffer-limit`.
    pub client_query_buffer_limit: AtomicU64,
    /// `timeout` (idle seconds, 0 = never).
    pub idle_timeout: AtomicU64,
    /// `requirepass` is set.
    pub requires_auth: AtomicBool,
}

/// Counters the connection layer updates without the keyspace lock.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections rejected (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands processed.
    pub commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
}

/// The client registry (CLIENT LIST, CLIENT KILL, INFO clients).
#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<std::collections::BTreeMap<u64, Arc<ClientInfo>>>,
    /// Connected clients.
    pub connected: AtomicUsize,
}

impl Clients {
    /// A fresh client id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a connected client.
    pub fn add(&self, info: Arc<ClientInfo>) {
        self.map.lock().insert(info.id, info);
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    /// Unregisters a client.
    pub fn remove(&self, id: u64) {
        if self.map.lock().remove(&id).is_some() {
            self.connected.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Every connected client, by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().values().cloned().collect()
    }

    /// One client by id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map.lock().get(&id).cloned()
    }
}

/// State shared by every connection of one server.
#[derive(Debug)]
pub struct Shared {
    /// The data plane, under one lock (an `Arc` so `atomic()` blocks can hold it).
    pub store: Arc<Mutex<Store>>,
    /// The RedisGears engine.
    pub engine: Arc<crate::engine::Engine>,
    /// Connected clients.
    pub clients: Clients,
    /// Connection-level limits.
    pub limits: ConnLimits,
    /// Connection-level counters.
    pub conn_stats: ConnStats,
    /// Process start.
    pub started: Instant,
    /// 40-hex run id.
    pub run_id: String,
    /// The TCP port actually bound.
    pub port: AtomicU64,
    /// Set by SHUTDOWN; the server stops accepting and exits.
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Shared state for a server with `config`.
    pub fn new(config: Config) -> Arc<Self> {
        let limits = ConnLimits {
            proto_max_bulk_len: AtomicU64::new(512 * 1024 * 1024),
            client_query_buffer_limit: AtomicU64::new(1024 * 1024 * 1024),
            idle_timeout: AtomicU64::new(0),
            requires_auth: AtomicBool::new(false),
        };
        let port = config.get_i64("port");
        let data_dir = config.get("dir").unwrap_or(".").to_string();
        let gears = crate::config::GearsConfig::with_startup(&config.gears).unwrap_or_else(|e| {
            tracing::error!(error = %e, "invalid RedisGears start-up configuration, using defaults");
            crate::config::GearsConfig::default()
        });
        let engine =
            crate::engine::Engine::with_runtimes(gears, python_runtime(), wasm_runtime(&data_dir));
        let shared = Shared {
            store: Arc::new(Mutex::new(Store::new(config))),
            engine,
            clients: Clients::default(),
            limits,
            conn_stats: ConnStats::default(),
            started: Instant::now(),
            run_id: (0..40)
                .map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0'))
                .collect(),
            port: AtomicU64::new(u64::try_from(port).unwrap_or(0)),
            shutdown: tokio::sync::watch::channel(false).0,
        };
        {
            let store = shared.store.lock();
            shared.sync_limits(&store.config);
        }
        let shared = Arc::new(shared);
        let host = host::GearsHost::new(&shared);
        shared.engine.attach_host(host.clone(), host);
        shared.engine.set_data_dir(&data_dir);
        shared
    }

    /// Copies the connection-level config keys into their atomics.
    pub fn sync_limits(&self, config: &Config) {
        let u = |k: &str| u64::try_from(config.get_i64(k)).unwrap_or(0);
        self.limits
            .proto_max_bulk_len
            .store(u("proto-max-bulk-len"), Ordering::Relaxed);
        self.limits
            .client_query_buffer_limit
            .store(u("client-query-buffer-limit"), Ordering::Relaxed);
        self.limits
            .idle_timeout
            .store(u("timeout"), Ordering::Relaxed);
        self.limits.requires_auth.store(
            !config.get("requirepass").unwrap_or("").is_empty(),
            Ordering::Relaxed,
        );
    }
}

/// The Python runtime, started on first use.
#[cfg(feature = "python")]
fn python_runtime() -> Option<crate::engine::RuntimeFactory> {
    Some(Box::new(|| {
        crate::runtime::python::PythonRuntime::start()
            .map(|rt| Arc::new(rt) as Arc<dyn crate::runtime::Runtime>)
            .map_err(|e| e.to_string())
    }))
}

/// The wasm runtime (the process-wide wasmtime engine starts on first use), with its compile
/// cache below the data directory.
fn wasm_runtime(data_dir: &str) -> Option<crate::engine::RuntimeFactory> {
    let dir = std::path::PathBuf::from(data_dir);
    Some(Box::new(move || {
        crate::runtime::wasm::WasmRuntime::new(dir.clone())
            .map(|rt| Arc::new(rt) as Arc<dyn crate::runtime::Runtime>)
    }))
}

/// Built without Python: RG.PYEXECUTE reports it.
#[cfg(not(feature = "python"))]
fn python_runtime() -> Option<crate::engine::RuntimeFactory> {
    None
}

/// The context a handler runs in.
pub struct Ctx<'a> {
    /// The data plane (held locked by the caller).
    pub store: &'a mut Store,
    /// The calling client.
    pub client: &'a mut ClientState,
    /// Server-wide state.
    pub shared: &'a Shared,
    /// Re-running a blocked client's command (must not block again).
    pub serving: bool,
    /// Running inside EXEC (blocking commands do not block).
    pub in_exec: bool,
}

impl<'a> Ctx<'a> {
    /// A context for a command from `client`.
    pub fn new(store: &'a mut Store, client: &'a mut ClientState, shared: &'a Shared) -> Self {
        Ctx {
            store,
            client,
            shared,
            serving: false,
            in_exec: false,
        }
    }

    /// The client's selected database.
    pub fn db(&mut self) -> crate::keyspace::DbView<'_> {
        self.store.ks.db(self.client.db)
    }

    /// Counts a write for `INFO persistence`.
    pub fn dirty(&mut self, n: u64) {
        self.store.stats.dirty += n;
    }
}

/// An unknown-command error with Redis's quoting of the first arguments.
fn unknown_command(argv: &[&[u8]]) -> CmdError {
    let name = String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let a = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        args.push('\'');
        args.push_str(&a);
        args.push_str("' ");
    }
    CmdError::UnknownCommand { name, args }
}

/// Resolves argv to a command, checking the subcommand and arity.
///
/// # Errors
/// Unknown command or subcommand, or wrong arity, with Redis's texts.
pub fn resolve(argv: &[&[u8]]) -> Result<CmdRef, CmdError> {
    let t = table();
    let Some(name) = argv.first() else {
        return Err(CmdError::Syntax);
    };
    let cmd = t.lookup(name).ok_or_else(|| unknown_command(argv))?;
    if !cmd.spec.subcommands.is_empty() {
        if argv.len() < 2 {
            return Err(CmdError::Arity(cmd.spec.name.to_string()));
        }
        return match t.lookup_sub(cmd.spec, argv[1]) {
            Some(sub) => {
                if sub.spec.arity_ok(argv.len()) {
                    Ok(sub)
                } else {
                    Err(CmdError::Arity(sub.full_name.to_string()))
                }
            }
            None => Err(CmdError::UnknownSubcommand {
                sub: String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]).into_owned(),
                cmd: String::from_utf8_lossy(argv[0]).to_uppercase(),
            }),
        };
    }
    if !cmd.spec.arity_ok(argv.len()) {
        return Err(CmdError::Arity(cmd.spec.name.to_string()));
    }
    Ok(cmd)
}

/// Runs one resolved command: its RedisGears command hook if it has one (not for a blocked
/// command's re-run), else [`run_unhooked`].
pub fn run(ctx: &mut Ctx<'_>, cmd: CmdRef, argv: &[&[u8]]) -> Reply {
    if !ctx.serving
        && ctx.shared.engine.hooks_active()
        && let Some(reply) = hooks::intercept(ctx, cmd, argv)
    {
        return reply;
    }
    run_unhooked(ctx, cmd, argv)
}

/// Runs one resolved command: sets the command clock, calls the handler, counts statistics.
/// No hooks, MULTI, pub/sub-context or post-command processing (see [`dispatch`]).
pub fn run_unhooked(ctx: &mut Ctx<'_>, cmd: CmdRef, argv: &[&[u8]]) -> Reply {
    let Some(handler) = cmd.spec.handler else {
        return error_reply(ctx.store, &CmdError::Arity(cmd.full_name.to_string()));
    };
    let result = handler(ctx, Args::new(argv));
    // One clock read per command: the time since the previous command ended (or the batch
    // began) is this command's.
    let clock = clock();
    let end = clock.raw();
    let usec = clock.delta_as_nanos(ctx.store.cmd_clock, end) / 1000;
    ctx.store.cmd_clock = end;
    let stat = &mut ctx.store.stats.commands[cmd.id];
    // A blocked command was counted when it blocked; its re-runs only add time and failures
    // (Redis's updateStatsOnUnblock).
    if !ctx.serving {
        stat.calls += 1;
    }
    stat.usec += usec;
    match result {
        Ok(reply) => reply,
        Err(e) => {
            ctx.store.stats.commands[cmd.id].failed += 1;
            error_reply(ctx.store, &e)
        }
    }
}

/// Resolves and runs a command without MULTI handling (EXEC, blocked-command retries).
pub fn call(ctx: &mut Ctx<'_>, argv: &[&[u8]]) -> Reply {
    match resolve(argv) {
        Ok(cmd) => run(ctx, cmd, argv),
        Err(e) => error_reply(ctx.store, &e),
    }
}

/// Turns an error into a reply and counts it in `INFO errorstats`.
pub fn error_reply(store: &mut Store, e: &CmdError) -> Reply {
    let text = e.to_string();
    let code = text.split(' ').next().unwrap_or("ERR").to_string();
    *store.stats.errors.entry(code).or_default() += 1;
    Reply::Error(text.into())
}

/// Commands allowed in RESP2 subscribe mode.
fn allowed_in_subscribe_mode(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "psubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Dispatches one command from a client: resolution, authentication, subscribe-mode and MULTI
/// queueing, the handler, then serving blocked clients and publishing key events.
pub fn dispatch(ctx: &mut Ctx<'_>, argv: &[&[u8]]) -> Reply {
    let cmd = match resolve(argv) {
        Ok(c) => c,
        Err(e) => {
            if let Some(m) = ctx.client.multi.as_mut() {
                m.failed = true;
            }
            if let Ok(c) = table().lookup(argv[0]).ok_or(()) {
                ctx.store.stats.commands[c.id].rejected += 1;
            }
            return error_reply(ctx.store, &e);
        }
    };
    if !ctx.client.authenticated && !cmd.spec.flags.contains(Flags::NO_AUTH) {
        return error_reply(ctx.store, &CmdError::msg("NOAUTH Authentication required."));
    }
    let top_name = cmd.parent.map_or(cmd.spec.name, |p| p.name);
    if ctx.client.in_subscribe_mode() && !allowed_in_subscribe_mode(top_name) {
        return error_reply(
            ctx.store,
            &CmdError::owned(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.full_name
            )),
        );
    }
    if let Some(multi) = ctx.client.multi.as_mut()
        && !matches!(
            top_name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if cmd.spec.flags.contains(Flags::NO_MULTI) {
            multi.failed = true;
            return error_reply(
                ctx.store,
                &CmdError::owned("ERR Command not allowed inside a transaction".to_string()),
            );
        }
        multi.queued.push(
            argv.iter()
                .map(|a| bytes::Bytes::copy_from_slice(a))
                .collect(),
        );
        if let Some(info) = &ctx.client.info {
            info.multi
                .store(multi.queued.len() as i64, Ordering::Relaxed);
        }
        return Reply::simple("QUEUED");
    }
    if !ctx.store.monitors.is_empty() && !cmd.spec.flags.contains(Flags::SKIP_MONITOR) {
        feed_monitors(ctx, argv);
    }
    ctx.client.last_cmd = cmd.full_name;
    ctx.store
        .ks
        .events
        .set_capture_all(ctx.shared.engine.wants_key_events());
    let reply = run(ctx, cmd, argv);
    after_command(ctx.store, ctx.shared);
    reply
}

/// Serves clients blocked on keys the command made ready, publishes its key events and hands
/// them to the engine's registrations (sync ones run here, reusing the held keyspace).
pub fn after_command(store: &mut Store, shared: &Shared) {
    if store.ks.signals.has_ready() {
        blocking::serve_ready(store, shared);
    }
    if publish_events(store, shared) && store.ks.signals.has_ready() {
        blocking::serve_ready(store, shared);
    }
}

/// Publishes the pending key events and hands them to the engine's registrations; true when
/// registrations saw them.
fn publish_events(store: &mut Store, shared: &Shared) -> bool {
    publish_events_with(store, shared, None)
}

/// [`publish_events`] for a command intercepted for KeysReader `commands=` registrations.
fn publish_linked_events(
    store: &mut Store,
    shared: &Shared,
    link: &Arc<crate::engine::hooks::CommandLink>,
) -> bool {
    publish_events_with(store, shared, Some(link))
}

fn publish_events_with(
    store: &mut Store,
    shared: &Shared,
    link: Option<&Arc<crate::engine::hooks::CommandLink>>,
) -> bool {
    if store.ks.events.is_empty() {
        return false;
    }
    let flags = store.ks.events.notify_flags();
    let events: Vec<_> = store.ks.events.drain().collect();
    pubsub::notify_key_events(&store.pubsub, flags, events.iter());
    if !shared.engine.wants_key_events() {
        return false;
    }
    host::with_borrowed_store(store, || {
        shared.engine.on_linked_key_events(&events, link);
    });
    true
}

fn feed_monitors(ctx: &mut Ctx<'_>, argv: &[&[u8]]) {
    let now = unix_ms();
    let addr = match &ctx.client.info {
        Some(i) => i.addr.clone(),
        None => "lua".to_string(),
    };
    let mut line = format!(
        "{}.{:06} [{} {}]",
        now / 1000,
        (now % 1000) * 1000,
        ctx.client.db,
        addr
    );
    for a in argv {
        line.push_str(" \"");
        for &b in *a {
            match b {
                b'"' => line.push_str("\\\""),
                b'\\' => line.push_str("\\\\"),
                b'\n' => line.push_str("\\n"),
                b'\r' => line.push_str("\\r"),
                b'\t' => line.push_str("\\t"),
                0x20..=0x7e => line.push(char::from(b)),
                _ => line.push_str(&format!("\\x{b:02x}")),
            }
        }
        line.push('"');
    }
    let msg = PushMsg::Monitor(bytes::Bytes::from(line));
    ctx.store.monitors.retain(|m| !m.is_killed());
    for m in &ctx.store.monitors {
        pubsub::deliver(m, msg.clone());
    }
}

/// Redis's HELP reply: a header line, the given lines, and the HELP entry, as status strings.
pub fn help_reply(cmd: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Simple(
        format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::Simple((*l).to_string().into())));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}
