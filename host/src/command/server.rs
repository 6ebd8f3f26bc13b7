//! Server and connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, SWAPDB, DBSIZE,
//! FLUSHDB, FLUSHALL, INFO, CONFIG, CLIENT, COMMAND, TIME, DEBUG, LASTSAVE, MONITOR, SHUTDOWN,
//! WAIT, ROLE, FUNCTION/SCRIPT FLUSH.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use super::args::is;
use super::client::{Protocol, ReplyMode};
use super::keys::db_index;
use super::{Args, CmdError, CmdRef, CmdResult, CommandSpec, Ctx, Flags, Reply, table};
use crate::keyspace::unix_ms;

/// The Redis version gears-host reports (the command set and semantics it follows).
pub const REDIS_VERSION: &str = "7.0.15";

const ADM: Flags = Flags::ADMIN
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);
const CONN: Flags = Flags::NOSCRIPT.union(Flags::LOADING).union(Flags::STALE);
const FAST_CONN: Flags = Flags::FAST.union(Flags::LOADING).union(Flags::STALE);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST_CONN, ping).group("connection").summary("Ping the server"),
    CommandSpec::new("echo", 2, FAST_CONN, echo).group("connection").summary("Echo the given string"),
    CommandSpec::new("quit", -1, CONN.union(Flags::FAST).union(Flags::NO_AUTH).union(Flags::ALLOW_BUSY), quit).group("connection").summary("Close the connection"),
    CommandSpec::new("reset", 1, CONN.union(Flags::FAST).union(Flags::NO_AUTH).union(Flags::ALLOW_BUSY), reset).group("connection").summary("Reset the connection"),
    CommandSpec::new("hello", -1, CONN.union(Flags::FAST).union(Flags::NO_AUTH).union(Flags::ALLOW_BUSY), hello).group("connection").summary("Handshake with Redis"),
    CommandSpec::new("auth", -2, CONN.union(Flags::FAST).union(Flags::NO_AUTH).union(Flags::ALLOW_BUSY), auth).group("connection").summary("Authenticate to the server"),
    CommandSpec::new("select", 2, FAST_CONN, select).group("connection").summary("Change the selected database for the current connection"),
    CommandSpec::new("swapdb", 3, Flags::WRITE.union(Flags::FAST), swapdb).group("server").summary("Swaps two Redis databases"),
    CommandSpec::new("dbsize", 1, Flags::READONLY.union(Flags::FAST), dbsize).group("server").summary("Return the number of keys in the selected database"),
    CommandSpec::new("flushdb", -1, Flags::WRITE, flushdb).group("server").summary("Remove all keys from the current database"),
    CommandSpec::new("flushall", -1, Flags::WRITE, flushall).group("server").summary("Remove all keys from all databases"),
    CommandSpec::new("info", -1, Flags::LOADING.union(Flags::STALE).union(Flags::SORT_FOR_SCRIPT), info).group("server").summary("Get information and statistics about the server"),
    CommandSpec::new("time", 1, Flags::LOADING.union(Flags::STALE).union(Flags::FAST).union(Flags::RANDOM), time).group("server").summary("Return the current server time"),
    CommandSpec::new("lastsave", 1, Flags::LOADING.union(Flags::STALE).union(Flags::FAST).union(Flags::RANDOM), lastsave).group("server").summary("Get the UNIX time stamp of the last successful save to disk"),
    CommandSpec::new("monitor", 1, ADM, monitor).group("server").summary("Listen for all requests received by the server in real time"),
    CommandSpec::new("shutdown", -1, ADM.union(Flags::NO_MULTI).union(Flags::ALLOW_BUSY), shutdown).group("server").summary("Synchronously save the dataset to disk and then shut down the server"),
    CommandSpec::new("wait", 3, Flags::NOSCRIPT, wait).group("generic").summary("Wait for the synchronous replication of all the write commands sent in the context of the current connection"),
    CommandSpec::new("role", 1, Flags::NOSCRIPT.union(Flags::LOADING).union(Flags::STALE).union(Flags::FAST), role).group("server").summary("Return the role of the instance in the context of replication"),
    CommandSpec::container("config", -2, Flags::empty(), CONFIG_SUBCOMMANDS).group("server").summary("A container for server configuration commands"),
    CommandSpec::container("client", -2, Flags::empty(), CLIENT_SUBCOMMANDS).group("connection").summary("A container for client connection commands"),
    CommandSpec::new("command", -1, Flags::LOADING.union(Flags::STALE), command_all).group("server").summary("Get array of Redis command details"),
    CommandSpec::container("debug", -2, ADM, DEBUG_SUBCOMMANDS).group("server").summary("A container for debugging commands"),
    CommandSpec::container("function", -2, Flags::empty(), FUNCTION_SUBCOMMANDS).group("scripting").summary("A container for function commands"),
    CommandSpec::container("script", -2, Flags::empty(), SCRIPT_SUBCOMMANDS).group("scripting").summary("A container for Lua scripts management commands"),
];

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", -3, ADM, config_get),
    CommandSpec::new("set", -4, ADM, config_set),
    CommandSpec::new("resetstat", 2, ADM, config_resetstat),
    CommandSpec::new("rewrite", 2, ADM, config_rewrite),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), config_help),
];

const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("id", 2, CONN, client_id),
    CommandSpec::new("setname", 3, CONN, client_setname),
    CommandSpec::new("getname", 2, CONN, client_getname),
    CommandSpec::new("list", -2, ADM, client_list),
    CommandSpec::new("info", 2, CONN, client_info),
    CommandSpec::new("kill", -3, ADM, client_kill),
    CommandSpec::new("reply", 3, CONN, client_reply),
    CommandSpec::new("unblock", -3, ADM, client_unblock),
    CommandSpec::new("no-evict", 3, ADM, client_noop_flag),
    CommandSpec::new("no-touch", 3, CONN, client_noop_flag),
    CommandSpec::new("setinfo", 4, CONN, client_setinfo),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), client_help),
];

const DEBUG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sleep", 3, ADM, debug_sleep),
    CommandSpec::new("set-active-expire", 3, ADM, debug_set_active_expire),
    CommandSpec::new("object", 3, ADM, debug_object),
    CommandSpec::new("help", 2, ADM, debug_help),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "flush",
    -2,
    Flags::WRITE.union(Flags::NOSCRIPT),
    scripting_flush,
)];
const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "flush",
    -2,
    Flags::NOSCRIPT,
    scripting_flush,
)];

/// `PING [message]`: PONG, or the message; in RESP2 subscribe mode, `["pong", message]`.
fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 1 {
        return Err(CmdError::Arity("ping".into()));
    }
    let msg = args.peek();
    if ctx.client.in_subscribe_mode() {
        return Ok(Reply::Array(vec![
            Reply::bulk("pong"),
            Reply::bulk(msg.unwrap_or(b"")),
        ]));
    }
    Ok(match msg {
        Some(m) => Reply::bulk(m),
        None => Reply::simple("PONG"),
    })
}

/// `ECHO message`.
fn echo(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk(args.next_bytes()?))
}

/// `QUIT`: OK, then the connection closes.
fn quit(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Reply::Ok)
}

/// `RESET`: back to a fresh connection's state.
fn reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.client.multi = None;
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.store.ks.signals.unwatch(ctx.client.id, &watched);
    ctx.store.pubsub.remove_client(ctx.client);
    ctx.client.db = 0;
    ctx.client.protocol = Protocol::Resp2;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.user = "default".into();
    ctx.client.authenticated = !ctx.shared.limits.requires_auth.load(Ordering::Relaxed);
    if let Some(info) = &ctx.client.info {
        *info.name.lock() = None;
        info.resp.store(2, Ordering::Relaxed);
        info.multi.store(-1, Ordering::Relaxed);
    }
    ctx.store.monitors.retain(|m| m.id != ctx.client.id);
    Ok(Reply::simple("RESET"))
}

fn check_password(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = ctx.store.config.get("requirepass").unwrap_or("");
    if user != b"default" || required.as_bytes() != pass {
        return Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    Ok(())
}

/// `AUTH [username] password`.
fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let rest = args.rest();
    let (user, pass): (&[u8], &[u8]) = match rest {
        [p] => (b"default", p),
        [u, p] => (u, p),
        _ => return Err(CmdError::Syntax),
    };
    if rest.len() == 1 && ctx.store.config.get("requirepass").unwrap_or("").is_empty() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    check_password(ctx, user, pass)?;
    ctx.client.authenticated = true;
    Ok(Reply::Ok)
}

/// `HELLO [protover [AUTH username password] [SETNAME name]]`: switches protocol and answers
/// the server's properties.
fn hello(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let mut proto = ctx.client.protocol;
    if let Some(v) = args.next_opt() {
        let n = super::args::int(v)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        proto = match n {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        };
    }
    let mut setname = None;
    while let Some(opt) = args.next_opt() {
        if is(opt, "AUTH") && args.len() >= 2 {
            let user = args.next_bytes()?;
            let pass = args.next_bytes()?;
            check_password(ctx, user, pass)?;
            ctx.client.authenticated = true;
        } else if is(opt, "SETNAME") && !args.is_empty() {
            let name = args.next_bytes()?;
            validate_name(name)?;
            setname = Some(name);
        } else {
            return Err(CmdError::owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = setname {
        set_name(ctx, name);
    }
    ctx.client.protocol = proto;
    if let Some(info) = &ctx.client.info {
        info.resp.store(
            if proto == Protocol::Resp3 { 3 } else { 2 },
            Ordering::Relaxed,
        );
    }
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (
            Reply::bulk("proto"),
            Reply::Int(if proto == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (Reply::bulk("id"), Reply::Int(ctx.client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

/// `SELECT index`.
fn select(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let idx = db_index(ctx, args.next_bytes()?)?;
    ctx.client.db = idx;
    Ok(Reply::Ok)
}

/// `SWAPDB index1 index2`.
fn swapdb(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let a = super::args::int(args.next_bytes()?)
        .map_err(|_| CmdError::msg("ERR invalid first DB index"))?;
    let b = super::args::int(args.next_bytes()?)
        .map_err(|_| CmdError::msg("ERR invalid second DB index"))?;
    let n = ctx.store.ks.num_dbs() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndex);
    }
    ctx.store.ks.swap_dbs(a as usize, b as usize);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `DBSIZE`.
fn dbsize(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::from(ctx.db().len()))
}

fn flush_mode(args: &Args<'_>) -> Result<(), CmdError> {
    match args.rest() {
        [] => Ok(()),
        [m] if is(m, "ASYNC") || is(m, "SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// `FLUSHDB [ASYNC|SYNC]`.
fn flushdb(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    flush_mode(&args)?;
    let n = ctx.store.ks.flush_db(ctx.client.db);
    ctx.dirty(n as u64);
    Ok(Reply::Ok)
}

/// `FLUSHALL [ASYNC|SYNC]`.
fn flushall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    flush_mode(&args)?;
    let n = ctx.store.ks.flush_all();
    ctx.dirty(n as u64 + 1);
    Ok(Reply::Ok)
}

/// `TIME`: `[unix seconds, microseconds]`.
fn time(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(now.as_secs().to_string()),
        Reply::bulk(now.subsec_micros().to_string()),
    ]))
}

/// `LASTSAVE`.
fn lastsave(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(ctx.store.stats.last_save))
}

/// `MONITOR`: every later command of every client is streamed to this one.
fn monitor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(info) = ctx.client.info.clone() else {
        return Err(CmdError::msg("ERR MONITOR is not allowed from functions"));
    };
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MONITOR isn't allowed inside MULTI"));
    }
    if !ctx.store.monitors.iter().any(|m| m.id == info.id) {
        ctx.store.monitors.push(info);
    }
    Ok(Reply::Ok)
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: stops the server; no reply on success.
fn shutdown(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    for a in args.rest() {
        if !(is(a, "NOSAVE") || is(a, "SAVE") || is(a, "NOW") || is(a, "FORCE") || is(a, "ABORT")) {
            return Err(CmdError::Syntax);
        }
        if is(a, "ABORT") {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        }
    }
    tracing::info!(client = ctx.client.id, "shutdown requested by client");
    let _ = ctx.shared.shutdown.send(true);
    ctx.client.close_after_reply = true;
    Ok(Reply::NoReply)
}

/// `WAIT numreplicas timeout`: no replicas here, so 0 at once.
fn wait(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_i64()?;
    let t = args.next_i64()?;
    if t < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    Ok(Reply::Int(0))
}

/// `ROLE`: always a master without replicas.
fn role(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Array(vec![
        Reply::bulk("master"),
        Reply::Int(0),
        Reply::Array(Vec::new()),
    ]))
}

/// `FUNCTION FLUSH` / `SCRIPT FLUSH [ASYNC|SYNC]`: nothing to flush until scripting exists.
fn scripting_flush(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    match args.rest() {
        [] => Ok(Reply::Ok),
        [m] if is(m, "ASYNC") || is(m, "SYNC") => Ok(Reply::Ok),
        _ => Err(CmdError::Syntax),
    }
}

// ---------------------------------------------------------------------------------------------
// INFO

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

/// `INFO [section ...]`.
fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut wanted: Vec<String> = Vec::new();
    for a in args.rest() {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        match s.as_str() {
            "default" => wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            "all" | "everything" => {
                wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
                wanted.extend(ALL_EXTRA.iter().map(|s| s.to_string()));
            }
            _ => wanted.push(s),
        }
    }
    if wanted.is_empty() {
        wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    let mut out = String::new();
    let mut done: Vec<&str> = Vec::new();
    for section in DEFAULT_SECTIONS.iter().chain(ALL_EXTRA) {
        if !wanted.iter().any(|w| w == section) || done.contains(section) {
            continue;
        }
        done.push(section);
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        info_section(ctx, section, &mut out);
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn cpu_times() -> (f64, f64) {
    // utime and stime are fields 14 and 15 of /proc/self/stat, in clock ticks (100 Hz).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            let u = f.get(11)?.parse::<f64>().ok()? / 100.0;
            let s = f.get(12)?.parse::<f64>().ok()? / 100.0;
            Some((u, s))
        })
        .unwrap_or((0.0, 0.0))
}

/// Writes one `key:value` INFO line.
fn w(out: &mut String, k: &str, v: &dyn std::fmt::Display) {
    let _ = write!(out, "{k}:{v}\r\n");
}

fn info_section(ctx: &mut Ctx<'_>, section: &str, out: &mut String) {
    let shared = ctx.shared;
    let store = &*ctx.store;
    match section {
        "server" => {
            out.push_str("# Server\r\n");
            let up = shared.started.elapsed().as_secs();
            w(out, "redis_version", &REDIS_VERSION);
            w(out, "gears_host_version", &env!("CARGO_PKG_VERSION"));
            w(out, "redis_git_sha1", &"00000000");
            w(out, "redis_git_dirty", &0);
            w(out, "redis_build_id", &"0");
            w(out, "redis_mode", &"standalone");
            w(out, "os", &std::env::consts::OS);
            w(out, "arch_bits", &64);
            w(out, "multiplexing_api", &"epoll");
            w(out, "process_id", &std::process::id());
            w(out, "run_id", &shared.run_id);
            w(out, "tcp_port", &shared.port.load(Ordering::Relaxed));
            w(out, "server_time_usec", &(unix_ms() * 1000));
            w(out, "uptime_in_seconds", &up);
            w(out, "uptime_in_days", &(up / 86400));
            w(out, "hz", &store.config.get_i64("hz"));
            w(
                out,
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            w(out, "config_file", &"");
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            w(
                out,
                "connected_clients",
                &shared.clients.connected.load(Ordering::Relaxed),
            );
            w(out, "cluster_connections", &0);
            w(out, "maxclients", &store.config.get_i64("maxclients"));
            w(out, "client_recent_max_input_buffer", &0);
            w(out, "client_recent_max_output_buffer", &0);
            w(out, "blocked_clients", &store.blocked.len());
            w(out, "tracking_clients", &0);
            w(out, "clients_in_timeout_table", &store.blocked.len());
            w(out, "total_blocking_keys", &store.blocked.key_count());
        }
        "memory" => {
            out.push_str("# Memory\r\n");
            let rss = rss_bytes();
            w(out, "used_memory", &rss);
            w(out, "used_memory_human", &human_bytes(rss));
            w(out, "used_memory_rss", &rss);
            w(out, "used_memory_rss_human", &human_bytes(rss));
            w(out, "used_memory_peak", &rss);
            w(out, "used_memory_lua", &0);
            w(out, "maxmemory", &store.config.get_i64("maxmemory"));
            w(
                out,
                "maxmemory_policy",
                &store.config.get("maxmemory-policy").unwrap_or("noeviction"),
            );
            w(out, "mem_fragmentation_ratio", &"1.00");
            w(out, "mem_allocator", &"libc");
            w(out, "mem_not_counted_for_evict", &0);
            w(out, "mem_clients_normal", &0);
            w(out, "mem_clients_slaves", &0);
            w(out, "lazyfree_pending_objects", &0);
            w(out, "lazyfreed_objects", &0);
        }
        "persistence" => {
            out.push_str("# Persistence\r\n");
            w(out, "loading", &0);
            w(out, "async_loading", &0);
            w(out, "rdb_changes_since_last_save", &store.stats.dirty);
            w(out, "rdb_bgsave_in_progress", &0);
            w(out, "rdb_last_save_time", &store.stats.last_save);
            w(out, "aof_enabled", &0);
            w(out, "aof_rewrite_in_progress", &0);
            w(out, "aof_rewrite_scheduled", &0);
        }
        "stats" => {
            out.push_str("# Stats\r\n");
            let cs = &shared.conn_stats;
            let total_errors: u64 = store.stats.errors.values().sum();
            w(
                out,
                "total_connections_received",
                &cs.connections_received.load(Ordering::Relaxed),
            );
            w(
                out,
                "total_commands_processed",
                &cs.commands_processed.load(Ordering::Relaxed),
            );
            w(out, "instantaneous_ops_per_sec", &0);
            w(
                out,
                "total_net_input_bytes",
                &cs.net_input_bytes.load(Ordering::Relaxed),
            );
            w(
                out,
                "total_net_output_bytes",
                &cs.net_output_bytes.load(Ordering::Relaxed),
            );
            w(
                out,
                "rejected_connections",
                &cs.rejected_connections.load(Ordering::Relaxed),
            );
            w(out, "expired_keys", &store.ks.stats.expired_keys);
            w(out, "evicted_keys", &0);
            w(out, "evicted_clients", &0);
            w(out, "keyspace_hits", &store.ks.stats.keyspace_hits);
            w(out, "keyspace_misses", &store.ks.stats.keyspace_misses);
            w(
                out,
                "pubsub_channels",
                &store.pubsub.channel_names(None).len(),
            );
            w(out, "pubsub_patterns", &store.pubsub.numpat());
            w(out, "total_forks", &0);
            w(out, "active_defrag_running", &0);
            w(out, "active_defrag_hits", &0);
            w(out, "active_defrag_misses", &0);
            w(out, "total_error_replies", &total_errors);
            w(
                out,
                "total_reads_processed",
                &cs.commands_processed.load(Ordering::Relaxed),
            );
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            w(out, "role", &"master");
            w(out, "connected_slaves", &0);
            w(out, "master_replid", &shared.run_id);
            w(out, "master_repl_offset", &0);
        }
        "cpu" => {
            out.push_str("# CPU\r\n");
            let (u, s) = cpu_times();
            w(out, "used_cpu_sys", &format!("{s:.6}"));
            w(out, "used_cpu_user", &format!("{u:.6}"));
            w(out, "used_cpu_sys_children", &"0.000000");
            w(out, "used_cpu_user_children", &"0.000000");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            let mut codes: Vec<_> = store.stats.errors.iter().collect();
            codes.sort();
            for (code, n) in codes {
                let _ = write!(out, "errorstat_{code}:count={n}\r\n");
            }
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            w(out, "cluster_enabled", &0);
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (db, keys, expires) in store.ks.db_sizes() {
                let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for cmd in &table().entries {
                let s = store.stats.commands[cmd.id];
                if s.calls == 0 && s.rejected == 0 && s.failed == 0 {
                    continue;
                }
                let per = if s.calls > 0 {
                    s.usec as f64 / s.calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                    cmd.full_name, s.calls, s.usec, s.rejected, s.failed
                );
            }
        }
        "latencystats" => out.push_str("# Latencystats\r\n"),
        _ => {}
    }
}

fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if f >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", f / (1024.0 * 1024.0 * 1024.0))
    } else if f >= 1024.0 * 1024.0 {
        format!("{:.2}M", f / (1024.0 * 1024.0))
    } else if f >= 1024.0 {
        format!("{:.2}K", f / 1024.0)
    } else {
        format!("{n}B")
    }
}

// ---------------------------------------------------------------------------------------------
// CONFIG

/// `CONFIG GET parameter [parameter ...]`: a map of matching keys.
fn config_get(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mut out: Vec<(Reply, Reply)> = Vec::new();
    for p in args.rest() {
        for (k, v) in ctx.store.config.matching(p) {
            if out
                .iter()
                .any(|(ek, _)| matches!(ek, Reply::Bulk(b) if b == k.as_bytes()))
            {
                continue;
            }
            out.push((Reply::bulk(k), Reply::bulk(v)));
        }
    }
    Ok(Reply::Map(out))
}

/// `CONFIG SET parameter value [parameter value ...]`, atomically.
fn config_set(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Arity("config|set".into()));
    }
    let owned: Vec<(String, String)> = rest
        .chunks_exact(2)
        .map(|kv| {
            (
                String::from_utf8_lossy(kv[0]).into_owned(),
                String::from_utf8_lossy(kv[1]).into_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    ctx.store
        .config
        .set_many(&pairs, false)
        .map_err(CmdError::err)?;
    ctx.store.apply_config();
    ctx.shared.sync_limits(&ctx.store.config);
    Ok(Reply::Ok)
}

/// `CONFIG RESETSTAT`.
fn config_resetstat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    for s in &mut ctx.store.stats.commands {
        *s = Default::default();
    }
    ctx.store.stats.errors.clear();
    ctx.store.ks.stats = Default::default();
    let cs = &ctx.shared.conn_stats;
    for c in [
        &cs.connections_received,
        &cs.rejected_connections,
        &cs.commands_processed,
        &cs.net_input_bytes,
        &cs.net_output_bytes,
    ] {
        c.store(0, Ordering::Relaxed);
    }
    Ok(Reply::Ok)
}

/// `CONFIG REWRITE`: there is no config file to rewrite when started without one.
fn config_rewrite(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::msg(
        "ERR The server is running without a config file",
    ))
}

/// `CONFIG HELP`.
fn config_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

// ---------------------------------------------------------------------------------------------
// CLIENT

fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) {
    if let Some(info) = &ctx.client.info {
        *info.name.lock() = if name.is_empty() {
            None
        } else {
            Some(Bytes::copy_from_slice(name))
        };
    }
}

/// `CLIENT ID`.
fn client_id(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(ctx.client.id as i64))
}

/// `CLIENT SETNAME name`.
fn client_setname(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let name = args.next_bytes()?;
    validate_name(name)?;
    set_name(ctx, name);
    Ok(Reply::Ok)
}

/// `CLIENT GETNAME`.
fn client_getname(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(
        match ctx.client.info.as_ref().and_then(|i| i.name.lock().clone()) {
            Some(n) => Reply::Bulk(n),
            None => Reply::Null,
        },
    )
}

fn client_line(ctx: &Ctx<'_>, info: &super::ClientInfo) -> String {
    let now = unix_ms();
    let is_self = info.id == ctx.client.id;
    let (db, multi, cmd) = if is_self {
        (
            ctx.client.db,
            ctx.client
                .multi
                .as_ref()
                .map_or(-1, |m| m.queued.len() as i64),
            ctx.client.last_cmd,
        )
    } else {
        (
            info.db.load(Ordering::Relaxed),
            info.multi.load(Ordering::Relaxed),
            *info.last_cmd.lock(),
        )
    };
    let blocked = ctx.store.blocked.waiter_of(info.id).is_some();
    let subs = info.sub.load(Ordering::Relaxed);
    let psubs = info.psub.load(Ordering::Relaxed);
    let mut flags = String::new();
    if blocked {
        flags.push('b');
    }
    if subs + psubs > 0 {
        flags.push('P');
    }
    if multi >= 0 {
        flags.push('x');
    }
    if ctx.store.monitors.iter().any(|m| m.id == info.id) {
        flags.push('O');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = info
        .name
        .lock()
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let (lib, ver) = info.lib.lock().clone();
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        name,
        info.created.elapsed().as_secs(),
        ((now - info.last_interaction.load(Ordering::Relaxed)).max(0)) / 1000,
        flags,
        db,
        subs,
        psubs,
        multi,
        info.pending_out.load(Ordering::Relaxed),
        cmd,
        if is_self {
            if ctx.client.protocol == Protocol::Resp3 {
                3
            } else {
                2
            }
        } else {
            info.resp.load(Ordering::Relaxed)
        },
        lib,
        ver,
    )
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`.
fn client_list(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mut ids: Option<Vec<u64>> = None;
    let mut type_filter: Option<Vec<u8>> = None;
    while let Some(opt) = args.next_opt() {
        if is(opt, "TYPE") {
            let t = args.next_bytes()?.to_ascii_lowercase();
            if !matches!(
                t.as_slice(),
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                return Err(CmdError::owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(&t)
                )));
            }
            type_filter = Some(t);
        } else if is(opt, "ID") {
            let mut v = Vec::new();
            for a in args.rest() {
                let id = super::args::int(a)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(CmdError::msg("ERR Invalid client ID"))?;
                v.push(id as u64);
            }
            args.skip_rest();
            ids = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut out = String::new();
    for info in ctx.shared.clients.all() {
        if let Some(ids) = &ids
            && !ids.contains(&info.id)
        {
            continue;
        }
        if let Some(t) = &type_filter {
            let pubsub = info.sub.load(Ordering::Relaxed) + info.psub.load(Ordering::Relaxed) > 0;
            let matches = match t.as_slice() {
                b"pubsub" => pubsub,
                b"normal" => !pubsub,
                _ => false,
            };
            if !matches {
                continue;
            }
        }
        out.push_str(&client_line(ctx, &info));
        out.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

/// `CLIENT INFO`.
fn client_info(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(info) = ctx.client.info.clone() else {
        return Ok(Reply::Verbatim("txt", Bytes::new()));
    };
    let mut line = client_line(ctx, &info);
    line.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(line)))
}

/// `CLIENT KILL addr` or `CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE t] [USER u]
/// [SKIPME yes|no] [MAXAGE secs]`.
fn client_kill(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let rest = args.rest();
    let clients = ctx.shared.clients.all();
    if rest.len() == 1 {
        let addr = rest[0];
        let Some(target) = clients.iter().find(|c| c.addr.as_bytes() == addr) else {
            return Err(CmdError::msg("ERR No such client"));
        };
        kill(ctx, target);
        return Ok(Reply::Ok);
    }
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut id = None;
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut ctype: Option<Vec<u8>> = None;
    let mut skipme = true;
    let mut maxage: Option<u64> = None;
    for kv in rest.chunks_exact(2) {
        let (k, v) = (kv[0], kv[1]);
        if is(k, "ID") {
            id = Some(
                super::args::int(v)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(CmdError::msg("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if is(k, "ADDR") {
            addr = Some(v);
        } else if is(k, "LADDR") {
            laddr = Some(v);
        } else if is(k, "TYPE") {
            let t = v.to_ascii_lowercase();
            if !matches!(
                t.as_slice(),
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                return Err(CmdError::owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
            ctype = Some(t);
        } else if is(k, "USER") {
            if v != b"default" {
                return Err(CmdError::owned(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
        } else if is(k, "SKIPME") {
            skipme = if is(v, "yes") {
                true
            } else if is(v, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if is(k, "MAXAGE") {
            maxage = Some(super::args::int(v)?.max(0) as u64);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut killed = 0;
    for c in &clients {
        if id.is_some_and(|i| i != c.id)
            || addr.is_some_and(|a| a != c.addr.as_bytes())
            || laddr.is_some_and(|a| a != c.laddr.as_bytes())
            || maxage.is_some_and(|m| c.created.elapsed().as_secs() < m)
            || (skipme && c.id == ctx.client.id)
        {
            continue;
        }
        if let Some(t) = &ctype {
            let pubsub = c.sub.load(Ordering::Relaxed) + c.psub.load(Ordering::Relaxed) > 0;
            let ok = match t.as_slice() {
                b"pubsub" => pubsub,
                b"normal" => !pubsub,
                _ => false,
            };
            if !ok {
                continue;
            }
        }
        kill(ctx, c);
        killed += 1;
    }
    Ok(Reply::Int(killed))
}

fn kill(ctx: &mut Ctx<'_>, target: &super::ClientInfo) {
    if target.id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else {
        target.kill();
    }
}

/// `CLIENT REPLY ON|OFF|SKIP`.
fn client_reply(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mode = args.next_bytes()?;
    if is(mode, "ON") {
        ctx.client.reply_mode = ReplyMode::On;
        Ok(Reply::Ok)
    } else if is(mode, "OFF") {
        ctx.client.reply_mode = ReplyMode::Off;
        Ok(Reply::NoReply)
    } else if is(mode, "SKIP") {
        ctx.client.reply_mode = ReplyMode::Skip;
        Ok(Reply::NoReply)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`: 1 if the client was blocked.
fn client_unblock(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let id = args.next_i64()?;
    let error = match args.next_opt() {
        None => false,
        Some(m) if is(m, "TIMEOUT") => false,
        Some(m) if is(m, "ERROR") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    };
    let unblocked = super::blocking::unblock_client(ctx.store, id as u64, error);
    Ok(Reply::from(unblocked))
}

/// `CLIENT NO-EVICT on|off`, `CLIENT NO-TOUCH on|off`: accepted; nothing is evicted here.
fn client_noop_flag(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let v = args.next_bytes()?;
    if is(v, "ON") || is(v, "OFF") {
        Ok(Reply::Ok)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value`.
fn client_setinfo(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let attr = args.next_bytes()?;
    let value = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    if value.contains(' ') || value.contains('\n') {
        return Err(CmdError::msg(
            "ERR lib-name cannot contain spaces, newlines or special characters.",
        ));
    }
    let Some(info) = &ctx.client.info else {
        return Ok(Reply::Ok);
    };
    let mut lib = info.lib.lock();
    if is(attr, "LIB-NAME") {
        lib.0 = value;
    } else if is(attr, "LIB-VER") {
        lib.1 = value;
    } else {
        return Err(CmdError::owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    Ok(Reply::Ok)
}

/// `CLIENT HELP`.
fn client_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME, MAXAGE.",
            "LIST [options ...]",
            "    Return information about client connections.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
        ],
    ))
}

// ---------------------------------------------------------------------------------------------
// COMMAND

fn acl_categories(cmd: &CommandSpec) -> Vec<Reply> {
    let mut cats = Vec::new();
    let f = cmd.flags;
    if f.contains(Flags::WRITE) {
        cats.push("@write");
    }
    if f.contains(Flags::READONLY) {
        cats.push("@read");
    }
    if f.contains(Flags::ADMIN) {
        cats.push("@admin");
        cats.push("@dangerous");
    }
    if f.contains(Flags::PUBSUB) {
        cats.push("@pubsub");
    }
    if f.contains(Flags::FAST) {
        cats.push("@fast");
    } else {
        cats.push("@slow");
    }
    if f.contains(Flags::BLOCKING) {
        cats.push("@blocking");
    }
    match cmd.group {
        "string" => cats.push("@string"),
        "list" => cats.push("@list"),
        "hash" => cats.push("@hash"),
        "set" => cats.push("@set"),
        "sorted-set" => cats.push("@sortedset"),
        "stream" => cats.push("@stream"),
        "bitmap" => cats.push("@bitmap"),
        "generic" => cats.push("@keyspace"),
        "connection" => cats.push("@connection"),
        "transactions" => cats.push("@transaction"),
        "scripting" => cats.push("@scripting"),
        _ => {}
    }
    cats.into_iter().map(Reply::simple).collect()
}

fn command_info_entry(cmd: CmdRef) -> Reply {
    let spec = cmd.spec;
    let flags = spec.flags.names().into_iter().map(Reply::simple).collect();
    let subs = spec
        .subcommands
        .iter()
        .filter_map(|s| table().lookup_sub(spec, s.name.as_bytes()))
        .map(command_info_entry)
        .collect();
    Reply::Array(vec![
        Reply::bulk(cmd.full_name),
        Reply::Int(i64::from(spec.arity)),
        Reply::Set(flags),
        Reply::Int(i64::from(spec.first_key)),
        Reply::Int(i64::from(spec.last_key)),
        Reply::Int(i64::from(spec.step)),
        Reply::Set(acl_categories(spec)),
        Reply::Set(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(subs),
    ])
}

fn command_docs_entry(cmd: CmdRef) -> Reply {
    let spec = cmd.spec;
    let mut doc = vec![
        (Reply::bulk("summary"), Reply::bulk(spec.summary)),
        (Reply::bulk("since"), Reply::bulk("1.0.0")),
        (Reply::bulk("group"), Reply::bulk(spec.group)),
    ];
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .filter_map(|s| table().lookup_sub(spec, s.name.as_bytes()))
            .map(|c| (Reply::bulk(c.full_name), command_docs_entry(c)))
            .collect();
        doc.push((Reply::bulk("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(doc)
}

/// `COMMAND [COUNT|INFO|DOCS|LIST|GETKEYS|HELP ...]`.
fn command_all(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let Some(sub) = args.next_opt() else {
        return Ok(Reply::Array(
            table().top_level().map(command_info_entry).collect(),
        ));
    };
    let t = table();
    if is(sub, "COUNT") && args.is_empty() {
        return Ok(Reply::from(t.top_level().count()));
    }
    if is(sub, "INFO") {
        if args.is_empty() {
            return Ok(Reply::Array(
                t.top_level().map(command_info_entry).collect(),
            ));
        }
        return Ok(Reply::Array(
            args.rest()
                .iter()
                .map(|n| t.lookup(n).map_or(Reply::NullArray, command_info_entry))
                .collect(),
        ));
    }
    if is(sub, "DOCS") {
        let cmds: Vec<CmdRef> = if args.is_empty() {
            t.top_level().collect()
        } else {
            args.rest().iter().filter_map(|n| t.lookup(n)).collect()
        };
        return Ok(Reply::Map(
            cmds.into_iter()
                .map(|c| (Reply::bulk(c.full_name), command_docs_entry(c)))
                .collect(),
        ));
    }
    if is(sub, "LIST") {
        let mut pattern: Option<&[u8]> = None;
        if let Some(f) = args.next_opt() {
            if !is(f, "FILTERBY") {
                return Err(CmdError::Syntax);
            }
            let kind = args.next_bytes()?;
            let v = args.next_bytes()?;
            if is(kind, "PATTERN") {
                pattern = Some(v);
            } else if is(kind, "MODULE") {
                return Ok(Reply::Array(Vec::new()));
            } else if !is(kind, "ACLCAT") {
                return Err(CmdError::Syntax);
            }
        }
        let names = t
            .entries
            .iter()
            .filter(|c| {
                pattern.is_none_or(|p| {
                    crate::keyspace::glob::matches_nocase(p, c.full_name.as_bytes())
                })
            })
            .map(|c| Reply::bulk(c.full_name))
            .collect();
        return Ok(Reply::Array(names));
    }
    if is(sub, "GETKEYS") {
        let argv = args.rest();
        if argv.is_empty() {
            return Err(CmdError::Arity("command|getkeys".into()));
        }
        let cmd =
            super::resolve(argv).map_err(|_| CmdError::msg("ERR Invalid command specified"))?;
        let keys = key_positions(cmd.spec, argv.len());
        if keys.is_empty() {
            return Err(CmdError::msg("ERR The command has no key arguments"));
        }
        return Ok(Reply::Array(
            keys.into_iter().map(|i| Reply::bulk(argv[i])).collect(),
        ));
    }
    if is(sub, "HELP") {
        return Ok(super::help_reply(
            "COMMAND",
            &[
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
            ],
        ));
    }
    let _ = ctx;
    Err(CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(sub).into_owned(),
        cmd: "COMMAND".into(),
    })
}

/// Key argument positions from a spec's first/last/step.
pub fn key_positions(spec: &CommandSpec, argc: usize) -> Vec<usize> {
    if spec.first_key <= 0 {
        return Vec::new();
    }
    let first = spec.first_key as usize;
    let last = if spec.last_key < 0 {
        argc as i64 + i64::from(spec.last_key)
    } else {
        i64::from(spec.last_key)
    };
    let step = spec.step.max(1) as usize;
    let mut out = Vec::new();
    let mut i = first;
    while (i as i64) <= last && i < argc {
        out.push(i);
        i += step;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// DEBUG

/// `DEBUG SLEEP seconds`: blocks the server, as in Redis.
fn debug_sleep(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let secs = args.next_f64()?;
    if secs > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(secs.min(3600.0)));
    }
    Ok(Reply::Ok)
}

/// `DEBUG SET-ACTIVE-EXPIRE 0|1`: accepted; active expiry always runs.
fn debug_set_active_expire(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    args.next_i64()?;
    Ok(Reply::Ok)
}

/// `DEBUG OBJECT key`: a summary line like Redis's.
fn debug_object(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    let now = crate::keyspace::db::lru_clock();
    let mut db = ctx.db();
    let Some(e) = db.lookup(key) else {
        return Err(CmdError::NoSuchKey);
    };
    Ok(Reply::Simple(
        format!(
            "Value at:0x0 refcount:1 encoding:{} serializedlength:0 lru:{} lru_seconds_idle:{}",
            e.value.encoding(),
            e.lru & 0xffffff,
            now.saturating_sub(e.lru)
        )
        .into(),
    ))
}

/// `DEBUG HELP`.
fn debug_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "DEBUG",
        &[
            "OBJECT <key>",
            "    Show low level info about the key and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Accepted for compatibility.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    ))
}
