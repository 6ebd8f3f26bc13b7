//! Server commands: SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, MONITOR, SHUTDOWN, WAIT,
//! ROLE, CONFIG, DEBUG, MEMORY, and FUNCTION/SCRIPT FLUSH.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::args::is;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};

const ADM: Flags = Flags::ADMIN
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);
pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("swapdb", 3, Flags::WRITE.union(Flags::FAST), swapdb).group("server").summary("Swaps two Redis databases"),
    CommandSpec::new("dbsize", 1, Flags::READONLY.union(Flags::FAST), dbsize).group("server").summary("Return the number of keys in the selected database"),
    CommandSpec::new("flushdb", -1, Flags::WRITE, flushdb).group("server").summary("Remove all keys from the current database"),
    CommandSpec::new("flushall", -1, Flags::WRITE, flushall).group("server").summary("Remove all keys from all databases"),
    CommandSpec::new("time", 1, Flags::LOADING.union(Flags::STALE).union(Flags::FAST).union(Flags::RANDOM), time).group("server").summary("Return the current server time"),
    CommandSpec::new("lastsave", 1, Flags::LOADING.union(Flags::STALE).union(Flags::FAST).union(Flags::RANDOM), lastsave).group("server").summary("Get the UNIX time stamp of the last successful save to disk"),
    CommandSpec::new("monitor", 1, ADM, monitor).group("server").summary("Listen for all requests received by the server in real time"),
    CommandSpec::new("shutdown", -1, ADM.union(Flags::NO_MULTI).union(Flags::ALLOW_BUSY), shutdown).group("server").summary("Synchronously save the dataset to disk and then shut down the server"),
    CommandSpec::new("wait", 3, Flags::NOSCRIPT, wait).group("generic").summary("Wait for the synchronous replication of all the write commands sent in the context of the current connection"),
    CommandSpec::new("role", 1, Flags::NOSCRIPT.union(Flags::LOADING).union(Flags::STALE).union(Flags::FAST), role).group("server").summary("Return the role of the instance in the context of replication"),
    CommandSpec::container("config", -2, Flags::empty(), CONFIG_SUBCOMMANDS).group("server").summary("A container for server configuration commands"),
    CommandSpec::container("memory", -2, Flags::empty(), MEMORY_SUBCOMMANDS).group("server").summary("A container for memory diagnostics commands"),
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

const MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("usage", -3, Flags::READONLY, memory_usage).keys(2, 2, 1),
    CommandSpec::new("doctor", 2, Flags::empty(), memory_doctor),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), memory_help),
];

const DEBUG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sleep", 3, ADM, debug_sleep),
    CommandSpec::new("set-active-expire", 3, ADM, debug_set_active_expire),
    CommandSpec::new("object", 3, ADM, debug_object),
    CommandSpec::new("help", 2, ADM, debug_help),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "flush",
        -2,
        Flags::WRITE.union(Flags::NOSCRIPT),
        scripting_flush,
    ),
    CommandSpec::new(
        "kill",
        2,
        Flags::NOSCRIPT.union(Flags::ALLOW_BUSY),
        scripting_kill,
    ),
];
const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("flush", -2, Flags::NOSCRIPT, scripting_flush),
    CommandSpec::new(
        "kill",
        2,
        Flags::NOSCRIPT.union(Flags::ALLOW_BUSY),
        scripting_kill,
    ),
];

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

/// `SCRIPT KILL` / `FUNCTION KILL`: no script can be running until scripting exists.
fn scripting_kill(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::msg("NOTBUSY No scripts in execution right now."))
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

/// `MEMORY USAGE key [SAMPLES count]`: an estimate of the bytes the key and its value take.
fn memory_usage(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    while let Some(opt) = args.next_opt() {
        if is(opt, "SAMPLES") {
            let n = args.next_i64()?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    Ok(match db.lookup(key) {
        // Entry header, key allocation, and the value's own estimate.
        Some(e) => Reply::from(48 + key.len() + e.value.approx_size()),
        None => Reply::Null,
    })
}

/// `MEMORY DOCTOR`.
fn memory_doctor(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Verbatim(
        "txt",
        bytes::Bytes::from_static(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."),
    ))
}

/// `MEMORY HELP`.
fn memory_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value.",
        ],
    ))
}
