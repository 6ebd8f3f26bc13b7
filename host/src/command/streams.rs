//! Stream commands: XADD, XRANGE, XREAD, consumer groups (XGROUP, XREADGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM), trimming, XSETID and XINFO, with Redis 7.0's replies and errors.
//!
//! Blocking XREAD / XREADGROUP store a re-run argv with concrete ids (`$` resolved, `COUNT`
//! defaulted to Redis's 1000); a re-run (`ctx.serving`) follows Redis's rules for blocked
//! stream clients: serve one stream with entries past the waited-for id (the group's last id
//! for XREADGROUP), and fail a blocked XREADGROUP whose key or group disappeared. Unlike Redis,
//! which compares the last *generated* id, a stream whose new entries were all deleted again
//! keeps the client waiting rather than answering with an empty list.

use std::time::Duration;

use bytes::Bytes;

use super::args::{self, is};
use super::client::Protocol;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply, TimeoutReply};
use crate::keyspace::NotifyFlags;
use crate::keyspace::stream::{
    AddId, AutoClaimOptions, ClaimOptions, ConsumerGroup, Fields, NodeLimits, ParsedId, StreamId,
    StreamValue, Trim, parse_id, parse_interval_id,
};

const W: Flags = Flags::WRITE;
const R: Flags = Flags::READONLY;
const WF: Flags = W.union(Flags::FAST);
const RF: Flags = R.union(Flags::FAST);
const WD: Flags = W.union(Flags::DENYOOM);
const WDF: Flags = WD.union(Flags::FAST);
const HELP: Flags = Flags::LOADING.union(Flags::STALE);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xadd", -5, WDF, xadd)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Appends a new entry to a stream"),
    CommandSpec::new("xlen", 2, RF, xlen)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Return the number of entries in a stream"),
    CommandSpec::new("xrange", -4, R, xrange)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    CommandSpec::new("xrevrange", -4, R, xrevrange)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE"),
    CommandSpec::new("xread", -4, R.union(Flags::BLOCKING), xread)
        .group("stream")
        .summary("Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block."),
    CommandSpec::new("xreadgroup", -7, W.union(Flags::BLOCKING), xreadgroup)
        .group("stream")
        .summary("Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block."),
    CommandSpec::new("xdel", -3, WF, xdel)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist."),
    CommandSpec::new("xtrim", -4, W, xtrim)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Trims the stream to (approximately if '~' is passed) a certain size"),
    CommandSpec::new("xsetid", -3, WDF, xsetid)
        .keys(1, 1, 1)
        .group("stream")
        .summary("An internal command for replicating stream values"),
    CommandSpec::new("xack", -4, WF, xack)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL."),
    CommandSpec::new("xpending", -3, R, xpending)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged."),
    CommandSpec::new("xclaim", -6, WF, xclaim)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer."),
    CommandSpec::new("xautoclaim", -6, WF, xautoclaim)
        .keys(1, 1, 1)
        .group("stream")
        .summary("Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer."),
    CommandSpec::container("xgroup", -2, Flags::empty(), XGROUP_SUBCOMMANDS)
        .group("stream")
        .summary("A container for consumer groups commands"),
    CommandSpec::container("xinfo", -2, Flags::empty(), XINFO_SUBCOMMANDS)
        .group("stream")
        .summary("A container for stream introspection commands"),
];

const XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("create", -5, WD, xgroup_create)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Create a consumer group."),
    CommandSpec::new("setid", -5, W, xgroup_setid)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Set a consumer group to an arbitrary last delivered ID value."),
    CommandSpec::new("destroy", 4, W, xgroup_destroy)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Destroy a consumer group."),
    CommandSpec::new("createconsumer", 5, WD, xgroup_createconsumer)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Create a consumer in a consumer group."),
    CommandSpec::new("delconsumer", 5, W, xgroup_delconsumer)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Delete a consumer from a consumer group."),
    CommandSpec::new("help", 2, HELP, xgroup_help)
        .group("stream")
        .summary("Show helpful text about the different subcommands"),
];

const XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("stream", -3, R, xinfo_stream)
        .keys(2, 2, 1)
        .group("stream")
        .summary("Get information about a stream"),
    CommandSpec::new("groups", 3, R, xinfo_groups)
        .keys(2, 2, 1)
        .group("stream")
        .summary("List the consumer groups of a stream"),
    CommandSpec::new("consumers", 4, R, xinfo_consumers)
        .keys(2, 2, 1)
        .group("stream")
        .summary("List the consumers in a consumer group"),
    CommandSpec::new("help", 2, HELP, xinfo_help)
        .group("stream")
        .summary("Show helpful text about the different subcommands"),
];

/// Redis's error for an unparseable id.
const INVALID_ID: CmdError =
    CmdError::msg("ERR Invalid stream ID specified as stream command argument");

/// `COUNT` a blocked XREAD/XREADGROUP uses when none was given.
const BLOCKED_DEFAULT_COUNT: i64 = 1000;

/// A strict id argument (`-`/`+` rejected) with a missing sequence of 0.
fn strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id(arg, 0, true, false)
        .map(|p| p.id)
        .ok_or(INVALID_ID)
}

/// The start of a range: `(` makes it exclusive.
fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval_id(arg, 0).ok_or(INVALID_ID)?;
    if ex {
        id.next()
            .ok_or(CmdError::msg("ERR invalid start ID for the interval"))
    } else {
        Ok(id)
    }
}

/// The end of a range: `(` makes it exclusive; a bare `<ms>` means `<ms>-<max>`.
fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval_id(arg, u64::MAX).ok_or(INVALID_ID)?;
    if ex {
        id.prev()
            .ok_or(CmdError::msg("ERR invalid end ID for the interval"))
    } else {
        Ok(id)
    }
}

fn id_reply(id: StreamId) -> Reply {
    Reply::bulk(id.to_text())
}

fn entry_reply(id: StreamId, fields: Fields<'_>) -> Reply {
    Reply::Array(vec![id_reply(id), Reply::bulks(fields)])
}

/// Lossy text of a key or name for error messages (Redis prints them as C strings).
fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn node_limits(ctx: &Ctx<'_>) -> NodeLimits {
    let t = &ctx.store.ks.thresholds;
    NodeLimits {
        max_bytes: t.stream_node_max_bytes,
        max_entries: t.stream_node_max_entries,
    }
}

fn now(ctx: &Ctx<'_>) -> i64 {
    ctx.store.ks.now_ms()
}

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
fn subcommand_syntax(argv: &[&[u8]]) -> CmdError {
    let cmd = text(argv.first().copied().unwrap_or(b"")).to_uppercase();
    let sub = argv.get(1).copied().unwrap_or(b"");
    let sub = text(&sub[..sub.len().min(128)]);
    CmdError::owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
    ))
}

/// Options shared by XADD and XTRIM.
#[derive(Debug, Default)]
struct AddTrimArgs {
    id: Option<ParsedId>,
    no_mkstream: bool,
    trim: Option<Trim>,
    approx: bool,
    /// Maximum entries to trim (0: no limit).
    limit: u64,
    /// Position of the id argument (XADD).
    idpos: usize,
}

/// Parses XADD/XTRIM options like Redis's `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(
    argv: &[&[u8]],
    xadd: bool,
    node_max_entries: u64,
) -> Result<AddTrimArgs, CmdError> {
    let mut a = AddTrimArgs::default();
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if a.trim.is_some() {
                return Err(CmdError::msg(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = argv[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = argv[i + 1];
            if is(opt, "maxlen") {
                let n = args::int(value)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                a.trim = Some(Trim::MaxLen(n as u64));
            } else {
                a.trim = Some(Trim::MinId(strict_id(value)?));
            }
            i += 1;
        } else if is(opt, "limit") && more > 0 {
            limit = args::int(argv[i + 1])?;
            if limit < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            a.id = Some(parse_id(opt, 0, true, true).ok_or(INVALID_ID)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    a.idpos = i;
    if limit != 0 && a.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !a.approx {
            return Err(CmdError::msg(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        a.limit = limit as u64;
    } else if a.approx {
        a.limit = node_max_entries.saturating_mul(100);
        if a.limit == 0 {
            a.limit = 10_000;
        }
        a.limit = a.limit.min(1_000_000);
    }
    Ok(a)
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]`.
fn xadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    let limits = node_limits(ctx);
    let a = parse_add_trim(argv, true, limits.max_entries)?;
    let field_pos = a.idpos + 1;
    let nfields = argv.len().saturating_sub(field_pos);
    if field_pos > argv.len() || nfields < 2 || nfields % 2 == 1 {
        return Err(CmdError::Arity("xadd".into()));
    }
    if let Some(p) = a.id
        && p.seq_given
        && p.id.is_zero()
    {
        return Err(CmdError::msg(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let spec = match a.id {
        None => AddId::Auto,
        Some(p) if !p.seq_given => AddId::AutoSeq(p.id.ms),
        Some(p) => AddId::Exact(p.id),
    };
    let now_ms = u64::try_from(now(ctx)).unwrap_or(0);
    let fields = &argv[field_pos..];
    let mut db = ctx.db();
    if a.no_mkstream && db.write_stream(key)?.is_none() {
        return Ok(Reply::Null);
    }
    let s = db.stream_or_create(key)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::msg(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let Some(id) = s.next_id(spec, now_ms) else {
        return Err(CmdError::msg(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ));
    };
    s.append(id, fields, limits);
    let trimmed = match a.trim {
        Some(how) => s.trim(how, a.approx, a.limit),
        None => 0,
    };
    db.notify(NotifyFlags::STREAM, "xadd", key);
    if trimmed > 0 {
        db.emit(NotifyFlags::STREAM, "xtrim", key);
    }
    ctx.dirty(1);
    Ok(id_reply(id))
}

/// `XLEN key`.
fn xlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::from(
        ctx.db().read_stream(key)?.map_or(0, |s| s.len()),
    ))
}

/// `XRANGE key start end [COUNT count]`.
fn xrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    xrange_generic(ctx, args, false)
}

/// `XREVRANGE key end start [COUNT count]`.
fn xrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    xrange_generic(ctx, args, true)
}

fn xrange_generic(ctx: &mut Ctx<'_>, args: Args<'_>, rev: bool) -> CmdResult {
    let argv = args.argv();
    let (start_arg, end_arg) = if rev {
        (argv[3], argv[2])
    } else {
        (argv[2], argv[3])
    };
    let start = range_start(start_arg)?;
    let end = range_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if is(argv[j], "COUNT") && j + 1 < argv.len() {
            count = args::int(argv[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let Some(s) = db.read_stream(argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::NullArray);
    }
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    let items: Vec<Reply> = if rev {
        s.range(start, end)
            .rev()
            .take(take)
            .map(|(id, f)| entry_reply(id, f))
            .collect()
    } else {
        s.range(start, end)
            .take(take)
            .map(|(id, f)| entry_reply(id, f))
            .collect()
    };
    Ok(Reply::Array(items))
}

/// The id an XREAD/XREADGROUP stream argument asks for.
#[derive(Debug, Clone, Copy)]
enum ReadFrom {
    /// Entries after this id (history after it, for XREADGROUP).
    After(StreamId),
    /// `>`: entries never delivered to the group.
    New,
}

/// Parsed XREAD / XREADGROUP arguments.
struct ReadArgs<'a> {
    /// Block timeout in ms (`Some(0)`: forever); `None` without BLOCK.
    block: Option<i64>,
    count: i64,
    noack: bool,
    group: Option<(&'a [u8], &'a [u8])>,
    keys: &'a [&'a [u8]],
    ids: &'a [&'a [u8]],
}

fn parse_read_args<'a>(argv: &'a [&'a [u8]], xreadgroup: bool) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs {
        block: None,
        count: 0,
        noack: false,
        group: None,
        keys: &[],
        ids: &[],
    };
    let mut streams_arg = 0;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = argv[i];
        if is(o, "BLOCK") && more > 0 {
            i += 1;
            let t = args::int(argv[i])
                .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
            if t < 0 {
                return Err(CmdError::TimeoutNegative);
            }
            r.block = Some(t);
        } else if is(o, "COUNT") && more > 0 {
            i += 1;
            r.count = args::int(argv[i])?.max(0);
        } else if is(o, "STREAMS") && more > 0 {
            streams_arg = i + 1;
            let n = argv.len() - streams_arg;
            if !n.is_multiple_of(2) {
                return Err(CmdError::msg(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.keys = &argv[streams_arg..streams_arg + n / 2];
            r.ids = &argv[streams_arg + n / 2..];
            break;
        } else if is(o, "GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is(o, "NOACK") {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CmdError::Syntax);
    }
    if xreadgroup && r.group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// `XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]`.
fn xread(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    xread_generic(ctx, args.argv(), false)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]`.
fn xreadgroup(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    xread_generic(ctx, args.argv(), true)
}

/// Wraps per-stream results as XREAD replies them: an array of `[key, entries]` pairs in
/// RESP2, a map in RESP3.
fn read_reply(ctx: &Ctx<'_>, out: Vec<(Reply, Reply)>) -> Reply {
    if ctx.client.protocol == Protocol::Resp3 {
        Reply::Map(out)
    } else {
        Reply::Array(
            out.into_iter()
                .map(|(k, v)| Reply::Array(vec![k, v]))
                .collect(),
        )
    }
}

fn xread_generic(ctx: &mut Ctx<'_>, argv: &[&[u8]], xreadgroup: bool) -> CmdResult {
    let r = parse_read_args(argv, xreadgroup)?;
    if ctx.serving {
        return serve_blocked(ctx, &r);
    }
    // Resolve every stream's id, checking types and groups in argument order.
    let mut from = Vec::with_capacity(r.keys.len());
    for (key, arg) in r.keys.iter().zip(r.ids) {
        let mut db = ctx.db();
        let s = db.read_stream(key)?;
        if let Some((group, _)) = r.group
            && s.is_none_or(|s| s.group(group).is_none())
        {
            return Err(CmdError::owned(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                text(key),
                text(group)
            )));
        }
        if *arg == b"$" {
            if xreadgroup {
                return Err(CmdError::msg(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            from.push(ReadFrom::After(s.map_or(StreamId::MIN, |s| s.last_id)));
        } else if *arg == b">" {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            from.push(ReadFrom::New);
        } else {
            let id = strict_id(arg)?;
            // Redis encodes `>` as the largest id, so that id reads new entries too.
            from.push(if xreadgroup && id == StreamId::MAX {
                ReadFrom::New
            } else {
                ReadFrom::After(id)
            });
        }
    }
    let count = usize::try_from(r.count).unwrap_or(usize::MAX);
    let now = now(ctx);
    let mut out = Vec::new();
    for (key, f) in r.keys.iter().zip(&from) {
        let served = match r.group {
            Some((group, consumer)) => {
                read_group_sync(ctx, key, group, consumer, *f, count, r.noack, now)?
            }
            None => {
                let ReadFrom::After(gt) = *f else {
                    continue;
                };
                let mut db = ctx.db();
                let Some(s) = db.read_stream(key)? else {
                    continue;
                };
                if s.last_valid_id().is_some_and(|last| last > gt) {
                    Some(entries_after(s, gt, count))
                } else {
                    None
                }
            }
        };
        if let Some(entries) = served {
            out.push((Reply::bulk(key), entries));
        }
    }
    if !out.is_empty() {
        return Ok(read_reply(ctx, out));
    }
    let Some(ms) = r.block else {
        return Ok(Reply::NullArray);
    };
    if !ctx.may_block() {
        return Ok(Reply::NullArray);
    }
    let rerun = rerun_argv(&r, &from);
    // A timeout too far away to represent blocks forever, as it effectively does in Redis.
    let timeout = (ms > 0)
        .then(|| Duration::from_millis(ms as u64))
        .filter(|d| std::time::Instant::now().checked_add(*d).is_some());
    let keys: Vec<&[u8]> = r.keys.to_vec();
    Ok(ctx.block(&keys, timeout, rerun, TimeoutReply::NullArray))
}

/// Entries after `gt`, at most `count` (0: all), as an array of entries.
fn entries_after(s: &StreamValue, gt: StreamId, count: usize) -> Reply {
    let Some(start) = gt.next() else {
        return Reply::Array(Vec::new());
    };
    let take = if count == 0 { usize::MAX } else { count };
    Reply::Array(
        s.range(start, StreamId::MAX)
            .take(take)
            .map(|(id, f)| entry_reply(id, f))
            .collect(),
    )
}

/// The argv a blocked XREAD/XREADGROUP re-runs with: concrete ids, and Redis's blocked
/// default `COUNT`.
fn rerun_argv(r: &ReadArgs<'_>, from: &[ReadFrom]) -> Vec<Bytes> {
    let mut v: Vec<Bytes> = Vec::with_capacity(8 + r.keys.len() * 2);
    let count = if r.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        r.count
    };
    match r.group {
        Some((group, consumer)) => {
            v.push(Bytes::from_static(b"XREADGROUP"));
            v.push(Bytes::from_static(b"GROUP"));
            v.push(Bytes::copy_from_slice(group));
            v.push(Bytes::copy_from_slice(consumer));
        }
        None => v.push(Bytes::from_static(b"XREAD")),
    }
    v.push(Bytes::from_static(b"COUNT"));
    v.push(Bytes::from(count.to_string()));
    if r.noack {
        v.push(Bytes::from_static(b"NOACK"));
    }
    v.push(Bytes::from_static(b"STREAMS"));
    v.extend(r.keys.iter().map(|k| Bytes::copy_from_slice(k)));
    v.extend(from.iter().map(|f| match f {
        ReadFrom::After(id) => Bytes::from(id.to_string()),
        ReadFrom::New => Bytes::from_static(b">"),
    }));
    v
}

/// Serves one stream of a synchronous XREADGROUP, or `None` when there is nothing to serve.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, mirrors Redis's loop state"
)]
fn read_group_sync(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    from: ReadFrom,
    count: usize,
    noack: bool,
    now: i64,
) -> Result<Option<Reply>, CmdError> {
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Ok(None);
    };
    let Some(g) = s.group(group) else {
        return Ok(None);
    };
    let history_from = match from {
        ReadFrom::After(gt) => Some(gt.next().unwrap_or(StreamId::MIN)),
        ReadFrom::New => {
            if s.last_valid_id().is_some_and(|last| last > g.last_id) {
                None
            } else {
                return Ok(None);
            }
        }
    };
    let created = s
        .group_mut(group)
        .is_some_and(|g| g.ensure_consumer(consumer, now));
    let reply = match history_from {
        Some(start) => history_reply(s, group, consumer, start, count, now),
        None => {
            let after = s.group(group).map_or(StreamId::MIN, |g| g.last_id);
            new_entries_reply(s, group, consumer, after, count, noack, now)
        }
    };
    if created {
        db.emit(NotifyFlags::STREAM, "xgroup-createconsumer", key);
        ctx.dirty(1);
    }
    ctx.dirty(1);
    Ok(Some(reply))
}

fn history_reply(
    s: &mut StreamValue,
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: usize,
    now: i64,
) -> Reply {
    let items = s
        .read_history(group, consumer, start, count, now)
        .unwrap_or_default();
    Reply::Array(
        items
            .into_iter()
            .map(|(id, exists)| match s.get(id).filter(|_| exists) {
                Some(f) => entry_reply(id, f),
                None => Reply::Array(vec![id_reply(id), Reply::NullArray]),
            })
            .collect(),
    )
}

fn new_entries_reply(
    s: &mut StreamValue,
    group: &[u8],
    consumer: &[u8],
    after: StreamId,
    count: usize,
    noack: bool,
    now: i64,
) -> Reply {
    let ids = s
        .read_group(group, consumer, after, count, noack, now)
        .unwrap_or_default();
    Reply::Array(
        ids.into_iter()
            .filter_map(|id| s.get(id).map(|f| entry_reply(id, f)))
            .collect(),
    )
}

/// Re-run of a blocked XREAD/XREADGROUP after one of its keys was written: Redis's
/// `serveClientsBlockedOnStreamKey` rules. Replies with the first stream that has live entries
/// past the waited-for id, fails an XREADGROUP whose key or group is gone, or stays blocked.
fn serve_blocked(ctx: &mut Ctx<'_>, r: &ReadArgs<'_>) -> CmdResult {
    let count = usize::try_from(r.count).unwrap_or(usize::MAX);
    let now = now(ctx);
    for (key, arg) in r.keys.iter().zip(r.ids) {
        match r.group {
            Some((group, consumer)) => {
                let mut db = ctx.db();
                let s = match db.write_stream(key) {
                    Ok(Some(s)) => s,
                    _ => {
                        return Err(CmdError::msg("UNBLOCKED the stream key no longer exists"));
                    }
                };
                let Some(g) = s.group(group) else {
                    return Err(CmdError::msg(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    ));
                };
                let gt = g.last_id;
                if s.last_valid_id().is_none_or(|last| last <= gt) {
                    continue;
                }
                let created = s
                    .group_mut(group)
                    .is_some_and(|g| g.ensure_consumer(consumer, now));
                let entries = new_entries_reply(s, group, consumer, gt, count, r.noack, now);
                if created {
                    db.emit(NotifyFlags::STREAM, "xgroup-createconsumer", key);
                    ctx.dirty(1);
                }
                ctx.dirty(1);
                return Ok(read_reply(ctx, vec![(Reply::bulk(key), entries)]));
            }
            None => {
                let Some(gt) = parse_id(arg, 0, true, false).map(|p| p.id) else {
                    continue;
                };
                let mut db = ctx.db();
                let Ok(Some(s)) = db.read_stream(key) else {
                    continue;
                };
                if s.last_valid_id().is_none_or(|last| last <= gt) {
                    continue;
                }
                let entries = entries_after(s, gt, count);
                return Ok(read_reply(ctx, vec![(Reply::bulk(key), entries)]));
            }
        }
    }
    Ok(ctx.block(&[], None, Vec::new(), TimeoutReply::NullArray))
}

/// `XDEL key id [id ...]`.
fn xdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    if ctx.db().write_stream(key)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let ids = argv[2..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = ids.iter().filter(|id| s.delete(**id)).count();
    if deleted > 0 {
        db.notify(NotifyFlags::STREAM, "xdel", key);
        ctx.dirty(deleted as u64);
    }
    Ok(Reply::from(deleted))
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`.
fn xtrim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    let limits = node_limits(ctx);
    let a = parse_add_trim(argv, false, limits.max_entries)?;
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = match a.trim {
        Some(how) => s.trim(how, a.approx, a.limit),
        None => 0,
    };
    if deleted > 0 {
        db.notify(NotifyFlags::STREAM, "xtrim", key);
        ctx.dirty(deleted);
    }
    Ok(Reply::Int(i64::try_from(deleted).unwrap_or(i64::MAX)))
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`.
fn xsetid(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    let id = strict_id(argv[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if is(argv[i], "ENTRIESADDED") && more > 0 {
            let n = args::int(argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
            i += 2;
        } else if is(argv[i], "MAXDELETEDID") && more > 0 {
            max_deleted = strict_id(argv[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if let Some(top) = s.last_valid_id() {
        if id < top {
            return Err(CmdError::msg(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(CmdError::msg(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_entry_id = max_deleted;
    }
    db.emit(NotifyFlags::STREAM, "xsetid", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `XACK key group id [id ...]`.
fn xack(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (key, group) = (argv[1], argv[2]);
    let mut db = ctx.db();
    let has_group = db
        .read_stream(key)?
        .is_some_and(|s| s.group(group).is_some());
    if !has_group {
        return Ok(Reply::Int(0));
    }
    let ids = argv[3..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(g) = db.write_stream(key)?.and_then(|s| s.group_mut(group)) else {
        return Ok(Reply::Int(0));
    };
    let acked = ids.iter().filter(|id| g.ack(**id)).count();
    ctx.dirty(acked as u64);
    Ok(Reply::from(acked))
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`.
fn xpending(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (key, group) = (argv[1], argv[2]);
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    let mut min_idle: i64 = 0;
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut startidx = 3;
        if is(argv[3], "IDLE") {
            min_idle = args::int(argv[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            startidx += 2;
        }
        let count = args::int(argv[startidx + 2])?.max(0);
        let start = range_start(argv[startidx])?;
        let end = range_end(argv[startidx + 1])?;
        if startidx + 3 < argc {
            consumer = Some(argv[startidx + 3]);
        }
        range = Some((start, end, count));
    }
    let now = now(ctx);
    let mut db = ctx.db();
    let Some(g) = db.read_stream(key)?.and_then(|s| s.group(group)) else {
        return Err(nogroup(key, group));
    };
    let Some((start, end, count)) = range else {
        return Ok(pending_summary(g));
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => c.pel.iter().copied().collect(),
            None => return Ok(Reply::Array(Vec::new())),
        },
        None => Vec::new(),
    };
    let mut out = Vec::new();
    let mut left = count;
    let mut visit = |id: StreamId, p: &crate::keyspace::stream::PendingEntry| {
        if left == 0 || id < start || id > end {
            return;
        }
        let idle = now - p.delivery_time;
        if min_idle != 0 && idle < min_idle {
            return;
        }
        left -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk(&p.consumer),
            Reply::Int(idle.max(0)),
            Reply::Int(i64::try_from(p.delivery_count).unwrap_or(i64::MAX)),
        ]));
    };
    if start <= end {
        if consumer.is_some() {
            for id in ids.into_iter().filter(|id| *id >= start && *id <= end) {
                if let Some(p) = g.pel.get(&id) {
                    visit(id, p);
                }
            }
        } else {
            for (id, p) in g.pel.range(start..=end) {
                visit(*id, p);
            }
        }
    }
    Ok(Reply::Array(out))
}

fn pending_summary(g: &ConsumerGroup) -> Reply {
    let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value())
    else {
        return Reply::Array(vec![
            Reply::Int(0),
            Reply::Null,
            Reply::Null,
            Reply::NullArray,
        ]);
    };
    let consumers = g
        .consumers
        .iter()
        .filter(|(_, c)| !c.pel.is_empty())
        .map(|(name, c)| Reply::Array(vec![Reply::bulk(name), Reply::bulk_int(c.pel.len() as i64)]))
        .collect();
    Reply::Array(vec![
        Reply::from(g.pel.len()),
        id_reply(*first),
        id_reply(*last),
        Reply::Array(consumers),
    ])
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]`.
fn xclaim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    let has_group = ctx
        .db()
        .read_stream(key)?
        .is_some_and(|s| s.group(group).is_some());
    if !has_group {
        return Err(nogroup(key, group));
    }
    let min_idle = args::int(argv[4])
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < argv.len() {
        match parse_id(argv[j], 0, true, false) {
            Some(p) => ids.push(p.id),
            None => break,
        }
        j += 1;
    }
    let now = now(ctx);
    let (mut force, mut justid) = (false, false);
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: Option<u64> = None;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        let int_opt = |a: &[u8], what: &'static str| args::int(a).map_err(|_| CmdError::msg(what));
        if is(opt, "FORCE") {
            force = true;
        } else if is(opt, "JUSTID") {
            justid = true;
        } else if is(opt, "IDLE") && more > 0 {
            j += 1;
            let idle = int_opt(argv[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            delivery_time = Some(now.wrapping_sub(idle));
        } else if is(opt, "TIME") && more > 0 {
            j += 1;
            delivery_time = Some(int_opt(
                argv[j],
                "ERR Invalid TIME option argument for XCLAIM",
            )?);
        } else if is(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            let n = int_opt(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")?;
            retry_count = u64::try_from(n).ok();
        } else if is(opt, "LASTID") && more > 0 {
            j += 1;
            last_id = strict_id(argv[j])?;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        j += 1;
    }
    let delivery_time = match delivery_time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Err(nogroup(key, group));
    };
    if let Some(g) = s.group_mut(group)
        && last_id > g.last_id
    {
        g.last_id = last_id;
    }
    let opts = ClaimOptions {
        min_idle,
        delivery_time,
        retry_count,
        force,
        justid,
        now,
    };
    let Some(out) = s.claim(group, consumer, &ids, opts) else {
        return Err(nogroup(key, group));
    };
    let items = out
        .claimed
        .iter()
        .map(|id| match (justid, s.get(*id)) {
            (false, Some(f)) => entry_reply(*id, f),
            _ => id_reply(*id),
        })
        .collect();
    if out.consumer_created {
        db.emit(NotifyFlags::STREAM, "xgroup-createconsumer", key);
        ctx.dirty(1);
    }
    ctx.dirty((out.claimed.len() + out.deleted.len()) as u64);
    Ok(Reply::Array(items))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`.
fn xautoclaim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    let min_idle = args::int(argv[4])
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = range_start(argv[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    // Redis caps COUNT so that COUNT * max(sizeof(streamID), 10) fits a long.
    const MAX_COUNT: i64 = i64::MAX / 16;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if is(argv[j], "COUNT") && more > 0 {
            count = args::int(argv[j + 1])
                .ok()
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or(CmdError::msg("ERR COUNT must be > 0"))?;
            j += 1;
        } else if is(argv[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let now = now(ctx);
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)?.filter(|s| s.group(group).is_some()) else {
        return Err(nogroup(key, group));
    };
    let opts = AutoClaimOptions {
        count: count as u64,
        min_idle,
        justid,
        now,
    };
    let Some(out) = s.autoclaim(group, consumer, start, opts) else {
        return Err(nogroup(key, group));
    };
    let items = out
        .claimed
        .iter()
        .map(|id| match (justid, s.get(*id)) {
            (false, Some(f)) => entry_reply(*id, f),
            _ => id_reply(*id),
        })
        .collect();
    let reply = Reply::Array(vec![
        id_reply(out.cursor),
        Reply::Array(items),
        Reply::Array(out.deleted.iter().map(|id| id_reply(*id)).collect()),
    ]);
    if out.consumer_created {
        db.emit(NotifyFlags::STREAM, "xgroup-createconsumer", key);
        ctx.dirty(1);
    }
    ctx.dirty((out.claimed.len() + out.deleted.len()) as u64);
    Ok(reply)
}

/// What every XGROUP subcommand but HELP checks first (Redis's `xgroupCommand` prelude).
struct GroupPrelude {
    mkstream: bool,
    entries_read: Option<u64>,
    exists: bool,
}

fn xgroup_prelude(ctx: &mut Ctx<'_>, argv: &[&[u8]]) -> Result<GroupPrelude, CmdError> {
    let sub = argv[1];
    let create = is(sub, "CREATE");
    let setid = is(sub, "SETID");
    let mut p = GroupPrelude {
        mkstream: false,
        entries_read: None,
        exists: false,
    };
    let mut i = 5;
    while i < argv.len() {
        if create && is(argv[i], "MKSTREAM") {
            p.mkstream = true;
            i += 1;
        } else if (create || setid) && is(argv[i], "ENTRIESREAD") && i + 1 < argv.len() {
            let n = args::int(argv[i + 1])?;
            if n < 0 && n != -1 {
                return Err(CmdError::msg(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            p.entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            return Err(subcommand_syntax(argv));
        }
    }
    let (key, group) = (argv[2], argv[3]);
    let mut db = ctx.db();
    let s = db.write_stream(key)?;
    p.exists = s.is_some();
    if !p.mkstream {
        let Some(s) = s else {
            return Err(CmdError::msg(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        };
        if s.group(group).is_none() && !create && !is(sub, "DESTROY") {
            return Err(CmdError::owned(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                text(group),
                text(key)
            )));
        }
    }
    Ok(p)
}

/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]`.
fn xgroup_create(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let p = xgroup_prelude(ctx, argv)?;
    if !(5..=8).contains(&argv.len()) {
        return Err(subcommand_syntax(argv));
    }
    let (key, group) = (argv[2], argv[3]);
    let mut db = ctx.db();
    let id = if argv[4] == b"$" {
        db.write_stream(key)?.map_or(StreamId::MIN, |s| s.last_id)
    } else {
        strict_id(argv[4])?
    };
    if !p.exists {
        db.stream_or_create(key)?;
        db.touch(key);
    }
    let s = db.stream_or_create(key)?;
    if !s.create_group(group, id, p.entries_read) {
        return Err(CmdError::msg(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    db.emit(NotifyFlags::STREAM, "xgroup-create", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `XGROUP SETID key group id|$ [ENTRIESREAD entries-read]`.
fn xgroup_setid(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let p = xgroup_prelude(ctx, argv)?;
    if argv.len() != 5 && argv.len() != 7 {
        return Err(subcommand_syntax(argv));
    }
    let (key, group) = (argv[2], argv[3]);
    let mut db = ctx.db();
    let Some(s) = db.write_stream(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let id = if argv[4] == b"$" {
        s.last_id
    } else {
        parse_id(argv[4], 0, false, false).ok_or(INVALID_ID)?.id
    };
    let Some(g) = s.group_mut(group) else {
        return Err(nogroup(key, group));
    };
    g.last_id = id;
    g.entries_read = p.entries_read;
    db.emit(NotifyFlags::STREAM, "xgroup-setid", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `XGROUP DESTROY key group`: 1 if the group existed. Blocked XREADGROUP clients of the group
/// fail with NOGROUP.
fn xgroup_destroy(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    xgroup_prelude(ctx, argv)?;
    let (key, group) = (argv[2], argv[3]);
    let mut db = ctx.db();
    let destroyed = db
        .write_stream(key)?
        .is_some_and(|s| s.destroy_group(group));
    if !destroyed {
        return Ok(Reply::Int(0));
    }
    db.notify(NotifyFlags::STREAM, "xgroup-destroy", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `XGROUP CREATECONSUMER key group consumer`: 1 if created, 0 if it existed.
fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    xgroup_prelude(ctx, argv)?;
    let (key, group, consumer) = (argv[2], argv[3], argv[4]);
    let now = now(ctx);
    let mut db = ctx.db();
    let created = db
        .write_stream(key)?
        .and_then(|s| s.group_mut(group))
        .is_some_and(|g| g.create_consumer(consumer, now));
    if created {
        db.emit(NotifyFlags::STREAM, "xgroup-createconsumer", key);
        ctx.dirty(1);
    }
    Ok(Reply::from(created))
}

/// `XGROUP DELCONSUMER key group consumer`: the number of pending entries it had.
fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    xgroup_prelude(ctx, argv)?;
    let (key, group, consumer) = (argv[2], argv[3], argv[4]);
    let mut db = ctx.db();
    let pending = db
        .write_stream(key)?
        .and_then(|s| s.group_mut(group))
        .and_then(|g| g.delete_consumer(consumer));
    let Some(pending) = pending else {
        return Ok(Reply::Int(0));
    };
    db.emit(NotifyFlags::STREAM, "xgroup-delconsumer", key);
    ctx.dirty(1);
    Ok(Reply::from(pending))
}

/// `XGROUP HELP`.
fn xgroup_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    ))
}

fn kv(name: &'static str, v: Reply) -> (Reply, Reply) {
    (Reply::bulk(name), v)
}

fn lag_reply(s: &StreamValue, g: &ConsumerGroup) -> Reply {
    s.lag(g).map_or(Reply::Null, Reply::Int)
}

fn entries_read_reply(g: &ConsumerGroup) -> Reply {
    g.entries_read.map_or(Reply::Null, |n| {
        Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
    })
}

/// `XINFO STREAM key [FULL [COUNT count]]`.
fn xinfo_stream(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[2];
    let mut db = ctx.db();
    let Some(s) = db.read_stream(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let opts = &argv[3..];
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !is(opts[0], "full") {
            return Err(subcommand_syntax(argv));
        }
        full = true;
        if opts.len() == 3 {
            if !is(opts[1], "count") {
                return Err(subcommand_syntax(argv));
            }
            count = args::int(opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut m = vec![
        kv("length", Reply::from(s.len())),
        kv("radix-tree-keys", Reply::from(s.node_count())),
        kv("radix-tree-nodes", Reply::from(s.rax_node_count())),
        kv("last-generated-id", id_reply(s.last_id)),
        kv("max-deleted-entry-id", id_reply(s.max_deleted_entry_id)),
        kv(
            "entries-added",
            Reply::Int(i64::try_from(s.entries_added).unwrap_or(i64::MAX)),
        ),
        kv("recorded-first-entry-id", id_reply(s.first_id)),
    ];
    if !full {
        m.push(kv("groups", Reply::from(s.groups.len())));
        m.push(kv(
            "first-entry",
            s.first_entry()
                .map_or(Reply::Null, |(id, f)| entry_reply(id, f)),
        ));
        m.push(kv(
            "last-entry",
            s.last_entry()
                .map_or(Reply::Null, |(id, f)| entry_reply(id, f)),
        ));
        return Ok(Reply::Map(m));
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    m.push(kv(
        "entries",
        Reply::Array(
            s.iter()
                .take(limit)
                .map(|(id, f)| entry_reply(id, f))
                .collect(),
        ),
    ));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pending = g
                .pel
                .iter()
                .take(limit)
                .map(|(id, p)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::bulk(&p.consumer),
                        Reply::Int(p.delivery_time),
                        Reply::Int(i64::try_from(p.delivery_count).unwrap_or(i64::MAX)),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, c)| {
                    let cpel = c
                        .pel
                        .iter()
                        .take(limit)
                        .filter_map(|id| g.pel.get(id).map(|p| (id, p)))
                        .map(|(id, p)| {
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Int(p.delivery_time),
                                Reply::Int(i64::try_from(p.delivery_count).unwrap_or(i64::MAX)),
                            ])
                        })
                        .collect();
                    Reply::Map(vec![
                        kv("name", Reply::bulk(cname)),
                        kv("seen-time", Reply::Int(c.seen_time)),
                        kv("pel-count", Reply::from(c.pel.len())),
                        kv("pending", Reply::Array(cpel)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                kv("name", Reply::bulk(name)),
                kv("last-delivered-id", id_reply(g.last_id)),
                kv("entries-read", entries_read_reply(g)),
                kv("lag", lag_reply(s, g)),
                kv("pel-count", Reply::from(g.pel.len())),
                kv("pending", Reply::Array(pending)),
                kv("consumers", Reply::Array(consumers)),
            ])
        })
        .collect();
    m.push(kv("groups", Reply::Array(groups)));
    Ok(Reply::Map(m))
}

/// `XINFO GROUPS key`.
fn xinfo_groups(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.argv()[2];
    let mut db = ctx.db();
    let Some(s) = db.read_stream(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    Ok(Reply::Array(
        s.groups
            .iter()
            .map(|(name, g)| {
                Reply::Map(vec![
                    kv("name", Reply::bulk(name)),
                    kv("consumers", Reply::from(g.consumers.len())),
                    kv("pending", Reply::from(g.pel.len())),
                    kv("last-delivered-id", id_reply(g.last_id)),
                    kv("entries-read", entries_read_reply(g)),
                    kv("lag", lag_reply(s, g)),
                ])
            })
            .collect(),
    ))
}

/// `XINFO CONSUMERS key group`.
fn xinfo_consumers(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (key, group) = (argv[2], argv[3]);
    let now = now(ctx);
    let mut db = ctx.db();
    let Some(s) = db.read_stream(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(g) = s.group(group) else {
        return Err(CmdError::owned(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(group),
            text(key)
        )));
    };
    Ok(Reply::Array(
        g.consumers
            .iter()
            .map(|(name, c)| {
                Reply::Map(vec![
                    kv("name", Reply::bulk(name)),
                    kv("pending", Reply::from(c.pel.len())),
                    kv("idle", Reply::Int((now - c.seen_time).max(0))),
                ])
            })
            .collect(),
    ))
}

/// `XINFO HELP`.
fn xinfo_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    ))
}
