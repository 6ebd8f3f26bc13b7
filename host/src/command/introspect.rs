//! Introspection: INFO and COMMAND.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::is;
use super::{
    Args, CmdError, CmdRef, CmdResult, CommandSpec, Ctx, Flags, Reply, now_ms as unix_ms, table,
};

/// The Redis version gears-host reports (the command set and semantics it follows).
pub const REDIS_VERSION: &str = "7.0.15";

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "info",
        -1,
        Flags::LOADING
            .union(Flags::STALE)
            .union(Flags::SORT_FOR_SCRIPT),
        info,
    )
    .group("server")
    .summary("Get information and statistics about the server"),
    CommandSpec::new(
        "command",
        -1,
        Flags::LOADING.union(Flags::STALE),
        command_all,
    )
    .group("server")
    .summary("Get array of Redis command details"),
];

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
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats", "gears"];

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
            w(out, "migrate_cached_sockets", &0);
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
        "gears" => {
            out.push_str("# Gears\r\n");
            let info = shared.engine.info();
            for rt in ["python", "wasm"] {
                w(
                    out,
                    &format!("sessions_{rt}"),
                    &info.sessions.get(rt).copied().unwrap_or(0),
                );
            }
            w(out, "registrations", &info.registrations);
            w(out, "registrations_paused", &info.registrations_paused);
            w(out, "executions_running", &info.executions_running);
            w(out, "executions_queued", &info.executions_queued);
            for (kind, n) in &info.breaches {
                w(out, &format!("breaches_{kind}"), n);
            }
            w(out, "auto_pauses", &info.auto_pauses);
            w(out, "wasm_instances_pooled", &info.wasm.instances_pooled);
            w(out, "wasm_compile_cache_hits", &info.wasm.cache_hits);
            w(out, "wasm_compile_cache_misses", &info.wasm.cache_misses);
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
