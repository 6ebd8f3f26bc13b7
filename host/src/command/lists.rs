//! List commands: pushes and pops, indexes and ranges, LPOS, LMOVE, LMPOP and the blocking
//! variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! Blocking commands serve what they can at once; otherwise they block through [`Ctx::block`]
//! with their own argv, and the same handler runs again (`ctx.serving`) each time a write makes
//! one of their keys ready.

use std::time::Duration;

use bytes::Bytes;

use super::args::{self, is};
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply, TimeoutReply};
use crate::keyspace::NotifyFlags;
use crate::keyspace::list::{End, PosQuery};
use crate::keyspace::string::parse_i64;

const W: Flags = Flags::WRITE;
const R: Flags = Flags::READONLY;
const WD: Flags = W.union(Flags::DENYOOM);
const WDF: Flags = WD.union(Flags::FAST);
const WF: Flags = W.union(Flags::FAST);
const RF: Flags = R.union(Flags::FAST);
const WB: Flags = W.union(Flags::NOSCRIPT).union(Flags::BLOCKING);
const WDB: Flags = WD.union(Flags::NOSCRIPT).union(Flags::BLOCKING);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, WDF, lpush)
        .keys(1, 1, 1)
        .group("list")
        .summary("Prepend one or multiple elements to a list"),
    CommandSpec::new("rpush", -3, WDF, rpush)
        .keys(1, 1, 1)
        .group("list")
        .summary("Append one or multiple elements to a list"),
    CommandSpec::new("lpushx", -3, WDF, lpushx)
        .keys(1, 1, 1)
        .group("list")
        .summary("Prepend an element to a list, only if the list exists"),
    CommandSpec::new("rpushx", -3, WDF, rpushx)
        .keys(1, 1, 1)
        .group("list")
        .summary("Append an element to a list, only if the list exists"),
    CommandSpec::new("linsert", 5, WD, linsert)
        .keys(1, 1, 1)
        .group("list")
        .summary("Insert an element before or after another element in a list"),
    CommandSpec::new("lpop", -2, WF, lpop)
        .keys(1, 1, 1)
        .group("list")
        .summary("Remove and get the first elements in a list"),
    CommandSpec::new("rpop", -2, WF, rpop)
        .keys(1, 1, 1)
        .group("list")
        .summary("Remove and get the last elements in a list"),
    CommandSpec::new("llen", 2, RF, llen)
        .keys(1, 1, 1)
        .group("list")
        .summary("Get the length of a list"),
    CommandSpec::new("lindex", 3, R, lindex)
        .keys(1, 1, 1)
        .group("list")
        .summary("Get an element from a list by its index"),
    CommandSpec::new("lset", 4, WD, lset)
        .keys(1, 1, 1)
        .group("list")
        .summary("Set the value of an element in a list by its index"),
    CommandSpec::new("lrange", 4, R, lrange)
        .keys(1, 1, 1)
        .group("list")
        .summary("Get a range of elements from a list"),
    CommandSpec::new("ltrim", 4, W, ltrim)
        .keys(1, 1, 1)
        .group("list")
        .summary("Trim a list to the specified range"),
    CommandSpec::new("lrem", 4, W, lrem)
        .keys(1, 1, 1)
        .group("list")
        .summary("Remove elements from a list"),
    CommandSpec::new("lpos", -3, R, lpos)
        .keys(1, 1, 1)
        .group("list")
        .summary("Return the index of matching elements on a list"),
    CommandSpec::new("lmove", 5, WD, lmove)
        .keys(1, 2, 1)
        .group("list")
        .summary("Pop an element from a list, push it to another list and return it"),
    CommandSpec::new("rpoplpush", 3, WD, rpoplpush)
        .keys(1, 2, 1)
        .group("list")
        .summary("Remove the last element in a list, prepend it to another list and return it"),
    CommandSpec::new("lmpop", -4, W, lmpop)
        .group("list")
        .summary("Pop elements from a list"),
    CommandSpec::new("blpop", -3, WB, blpop)
        .keys(1, -2, 1)
        .group("list")
        .summary("Remove and get the first element in a list, or block until one is available"),
    CommandSpec::new("brpop", -3, WB, brpop)
        .keys(1, -2, 1)
        .group("list")
        .summary("Remove and get the last element in a list, or block until one is available"),
    CommandSpec::new("brpoplpush", 4, WDB, brpoplpush)
        .keys(1, 2, 1)
        .group("list")
        .summary(
            "Pop an element from a list, push it to another list and return it; or block until one is available",
        ),
    CommandSpec::new("blmove", 6, WDB, blmove)
        .keys(1, 2, 1)
        .group("list")
        .summary(
            "Pop an element from a list, push it to another list and return it; or block until one is available",
        ),
    CommandSpec::new("blmpop", -5, W.union(Flags::BLOCKING), blmpop)
        .group("list")
        .summary("Pop elements from a list, or block until one is available"),
];

// ---------------------------------------------------------------------------------------------
// Argument helpers

/// `LEFT` / `RIGHT`, or `ERR syntax error`.
fn end_arg(a: &[u8]) -> Result<End, CmdError> {
    End::parse(a).ok_or(CmdError::Syntax)
}

/// Parses a blocking timeout in seconds as Redis 7.0's `getTimeoutFromObjectOrReply` does:
/// a `long double` (decimal or hex, no surrounding spaces, no NaN) multiplied by 1000 and
/// rounded up to whole milliseconds. Zero blocks forever (`None`); a value whose milliseconds
/// do not fit a `long long` wraps to negative in Redis, so it is "negative" here too.
///
/// # Errors
/// `ERR timeout is not a float or out of range`, `ERR timeout is negative`.
pub(super) fn parse_timeout(raw: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = parse_long_double(raw).ok_or(CmdError::TimeoutNotFloat)?;
    let mut ms = (secs * 1000.0).ceil();
    // In `long double`, -0.001 * 1000 lands just above -1 and rounds up to 0 (block forever);
    // no other decimal changes sign that way.
    if ms == -1.0 && secs * 1000.0 == -1.0 && !raw.to_ascii_lowercase().contains(&b'x') {
        ms = 0.0;
    }
    // `(long long)` of an out-of-range value is LLONG_MIN on the platforms Redis runs on.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ms) || ms < 0.0 {
        return Err(CmdError::TimeoutNegative);
    }
    if ms == 0.0 {
        return Ok(None);
    }
    // Beyond a century is forever in practice (and keeps `Instant` arithmetic in range).
    if ms > 3.2e12 {
        return Ok(None);
    }
    Ok(Some(Duration::from_millis(ms as u64)))
}

/// `strtold` as Redis's `string2ld` uses it: the whole argument must parse, no leading space,
/// no NaN, no overflow to infinity from a finite literal.
fn parse_long_double(raw: &[u8]) -> Option<f64> {
    if raw.is_empty() || raw.len() >= 5 * 1024 || raw[0].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(raw).ok()?;
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'-' | b'+'))
            || lower.starts_with(['-', '+'])
        {
            return None;
        }
        let v: f64 = lower.parse().ok()?;
        if v == 0.0 {
            // `long double` keeps tiny values (1e-400) that `f64` flushes to zero; any
            // non-zero mantissa digit means "a bit more than zero".
            let mantissa = lower.split('e').next().unwrap_or("");
            if mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
                f64::MIN_POSITIVE
            } else {
                0.0
            }
        } else {
            v
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// The part of a C hex float after `0x`: hex digits, an optional fraction, an optional
/// binary exponent `p[+-]n`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => (m, parse_i64(e.strip_prefix('+').unwrap_or(e).as_bytes())?),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let exp = i32::try_from(exp.clamp(-10_000, 10_000)).ok()?;
    Some(v * 2f64.powi(exp))
}

/// Blocks the client (or keeps a re-run waiter blocked). When blocking is not allowed (MULTI,
/// scripts) the command answers `unblockable` at once: a nil array for the pops, a nil bulk for
/// BLMOVE / BRPOPLPUSH. A real timeout (or CLIENT UNBLOCK) answers a nil array for every list
/// command, as Redis 7.0's `replyToBlockedClientTimedOut` does.
fn block_or_timeout(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    keys: &[&[u8]],
    timeout: Option<Duration>,
    unblockable: Reply,
) -> Reply {
    if ctx.serving {
        return ctx.block(keys, timeout, Vec::new(), TimeoutReply::NullArray);
    }
    if !ctx.may_block() {
        return unblockable;
    }
    let rerun = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    ctx.block(keys, timeout, rerun, TimeoutReply::NullArray)
}

// ---------------------------------------------------------------------------------------------
// Pushes and inserts

/// `LPUSH key element [element ...]`: the new length.
fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Left, false)
}

/// `RPUSH key element [element ...]`: the new length.
fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Right, false)
}

/// `LPUSHX key element [element ...]`: the new length, 0 (and no push) if the key is missing.
fn lpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Left, true)
}

/// `RPUSHX key element [element ...]`: the new length, 0 (and no push) if the key is missing.
fn rpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push(ctx, args, End::Right, true)
}

fn push(ctx: &mut Ctx<'_>, mut args: Args<'_>, end: End, only_existing: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let elements = args.rest();
    let mut db = ctx.db();
    let list = if only_existing {
        match db.write_list(key)? {
            Some(l) => l,
            None => return Ok(Reply::Int(0)),
        }
    } else {
        db.list_or_create(key)?
    };
    list.push_all(end, elements.iter().copied());
    let len = list.len();
    db.notify(NotifyFlags::LIST, end.push_event(), key);
    ctx.dirty(elements.len() as u64);
    Ok(len.into())
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 if the pivot is missing, 0 if
/// the key is.
fn linsert(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let place = args.next_bytes()?;
    let before = if is(place, "BEFORE") {
        true
    } else if is(place, "AFTER") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let pivot = args.next_bytes()?;
    let element = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(list) = db.write_list(key)? else {
        return Ok(Reply::Int(0));
    };
    if !list.insert(pivot, element, before) {
        return Ok(Reply::Int(-1));
    }
    let len = list.len();
    db.notify(NotifyFlags::LIST, "linsert", key);
    ctx.dirty(1);
    Ok(len.into())
}

// ---------------------------------------------------------------------------------------------
// Reads and in-place writes

/// `LLEN key`: the length, 0 if missing.
fn llen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(ctx.db().read_list(key)?.map_or(0, |l| l.len()).into())
}

/// `LINDEX key index`: the element, or nil out of range or for a missing key.
fn lindex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let raw = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(list) = db.read_list(key)? else {
        return Ok(Reply::Null);
    };
    let index = args::int(raw)?;
    Ok(Reply::bulk_or_null(list.get(index)))
}

/// `LSET key index element`: OK; `ERR no such key`, `ERR index out of range`.
fn lset(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let raw = args.next_bytes()?;
    let element = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(list) = db.write_list(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = args::int(raw)?;
    if !list.set(index, element) {
        return Err(CmdError::msg("ERR index out of range"));
    }
    db.notify(NotifyFlags::LIST, "lset", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `LRANGE key start stop`: the elements of the inclusive range.
fn lrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let stop = args.next_i64()?;
    Ok(match ctx.db().read_list(key)? {
        Some(list) => Reply::bulks(list.range(start, stop)),
        None => Reply::Array(Vec::new()),
    })
}

/// `LTRIM key start stop`: OK; keeps only the inclusive range, deleting an emptied list.
fn ltrim(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let stop = args.next_i64()?;
    let mut db = ctx.db();
    let Some(list) = db.write_list(key)? else {
        return Ok(Reply::Ok);
    };
    let before = list.len();
    list.trim(start, stop);
    let removed = before - list.len();
    db.notify(NotifyFlags::LIST, "ltrim", key);
    db.remove_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(Reply::Ok)
}

/// `LREM key count element`: how many were removed (from the head for `count > 0`, the
/// tail for `count < 0`, all for 0).
fn lrem(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let count = args.next_i64()?;
    let element = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(list) = db.write_list(key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = list.remove(count, element);
    if removed > 0 {
        db.notify(NotifyFlags::LIST, "lrem", key);
    }
    db.remove_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(removed.into())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: the index of a match (or
/// nil), or with COUNT an array of indexes.
fn lpos(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let element = args.next_bytes()?;
    let mut q = PosQuery {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    while let Some(opt) = args.next_opt() {
        let has_value = !args.is_empty();
        if is(opt, "RANK") && has_value {
            q.rank = args.next_i64()?;
            if q.rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "COUNT") && has_value {
            let count = parse_i64(args.next_bytes()?).filter(|&n| n >= 0);
            q.count = Some(count.ok_or(CmdError::msg("ERR COUNT can't be negative"))?);
        } else if is(opt, "MAXLEN") && has_value {
            let maxlen = parse_i64(args.next_bytes()?).filter(|&n| n >= 0);
            q.maxlen = maxlen.ok_or(CmdError::msg("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let Some(list) = db.read_list(key)? else {
        return Ok(if q.count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Null
        });
    };
    let found = list.positions(element, q);
    Ok(if q.count.is_some() {
        Reply::Array(found.into_iter().map(Reply::Int).collect())
    } else {
        found.first().map_or(Reply::Null, |&i| Reply::Int(i))
    })
}

// ---------------------------------------------------------------------------------------------
// Pops

/// `LPOP key [count]`: one element (bulk), or with a count an array of up to `count`.
fn lpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop(ctx, args, End::Left)
}

/// `RPOP key [count]`: one element (bulk), or with a count an array of up to `count`.
fn rpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop(ctx, args, End::Right)
}

fn pop(ctx: &mut Ctx<'_>, mut args: Args<'_>, end: End) -> CmdResult {
    let key = args.next_bytes()?;
    let count = match args.next_opt() {
        None => None,
        Some(raw) => {
            if !args.is_empty() {
                return Err(CmdError::Arity(
                    String::from_utf8_lossy(args.name()).to_ascii_lowercase(),
                ));
            }
            match parse_i64(raw) {
                Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(CmdError::msg("ERR value is out of range, must be positive"));
                }
            }
        }
    };
    let mut db = ctx.db();
    let Some(list) = db.write_list(key)? else {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    };
    if list.is_empty() {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    }
    let reply = match count {
        Some(0) => return Ok(Reply::Array(Vec::new())),
        Some(n) => Reply::bulks(list.pop_many(end, n)),
        None => Reply::bulk_or_null(list.pop(end)),
    };
    let popped = match &reply {
        Reply::Array(a) => a.len(),
        _ => 1,
    };
    db.notify(NotifyFlags::LIST, end.pop_event(), key);
    db.remove_if_empty(key);
    ctx.dirty(popped as u64);
    Ok(reply)
}

/// Pops from the first non-empty list of `keys` (LMPOP, BLMPOP, BLPOP, BRPOP).
///
/// With `count` the reply is `[key, [elements]]` (LMPOP), without it `[key, element]` (BLPOP).
/// `None` when every list is empty or missing. A key of another type is `WRONGTYPE`, except
/// while re-running for a blocked client, where it is skipped as Redis only serves lists.
/// A re-run serves from the key whose write woke it, as Redis does.
fn pop_first(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    end: End,
    count: Option<usize>,
) -> Result<Option<Reply>, CmdError> {
    let serving = ctx.serving;
    let woke: Option<Box<[u8]>> = ctx
        .serving_key()
        .filter(|k| keys.contains(k))
        .map(Into::into);
    let mut db = ctx.db();
    for &key in keys {
        if woke.as_deref().is_some_and(|w| w != key) {
            continue;
        }
        let list = match db.write_list(key) {
            Ok(Some(l)) if !l.is_empty() => l,
            Ok(_) => continue,
            Err(_) if serving => continue,
            Err(e) => return Err(e.into()),
        };
        let (value, popped) = match count {
            Some(n) => {
                let items = list.pop_many(end, n);
                let popped = items.len();
                (Reply::bulks(items), popped)
            }
            None => (Reply::bulk_or_null(list.pop(end)), 1),
        };
        db.notify(NotifyFlags::LIST, end.pop_event(), key);
        db.remove_if_empty(key);
        ctx.dirty(popped as u64);
        return Ok(Some(Reply::Array(vec![Reply::bulk(key), value])));
    }
    Ok(None)
}

/// `BLPOP key [key ...] timeout`: `[key, element]` from the first non-empty list, blocking
/// until one is available; nil array on timeout.
fn blpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bpop(ctx, args, End::Left)
}

/// `BRPOP key [key ...] timeout`: `[key, element]` from the first non-empty list, blocking
/// until one is available; nil array on timeout.
fn brpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bpop(ctx, args, End::Right)
}

fn bpop(ctx: &mut Ctx<'_>, args: Args<'_>, end: End) -> CmdResult {
    let argv = args.argv();
    let Some((raw_timeout, keys)) = argv.get(1..).and_then(<[&[u8]]>::split_last) else {
        return Err(CmdError::Syntax);
    };
    let timeout = parse_timeout(raw_timeout)?;
    if let Some(reply) = pop_first(ctx, keys, end, None)? {
        return Ok(reply);
    }
    Ok(block_or_timeout(ctx, argv, keys, timeout, Reply::NullArray))
}

/// The parsed tail of LMPOP / BLMPOP: keys, end and count.
struct MpopArgs<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` as Redis 7.0's
/// `lmpopGenericCommand` does, with its error texts.
fn mpop_args<'a>(rest: &'a [&'a [u8]]) -> Result<MpopArgs<'a>, CmdError> {
    let numkeys_err = CmdError::msg("ERR numkeys should be greater than 0");
    let numkeys = rest
        .first()
        .and_then(|a| parse_i64(a))
        .ok_or_else(|| numkeys_err.clone())?;
    if numkeys < 1 {
        return Err(numkeys_err);
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys >= rest.len().saturating_sub(1) {
        return Err(CmdError::Syntax);
    }
    let keys = &rest[1..=numkeys];
    let end = end_arg(rest[numkeys + 1])?;
    let mut count = None;
    let mut opts = rest[numkeys + 2..].iter();
    while let Some(opt) = opts.next() {
        match (count, opts.as_slice().first()) {
            (None, Some(raw)) if is(opt, "COUNT") => {
                opts.next();
                let n = parse_i64(raw)
                    .filter(|&n| n >= 1)
                    .ok_or(CmdError::msg("ERR count should be greater than 0"))?;
                count = Some(usize::try_from(n).unwrap_or(usize::MAX));
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok(MpopArgs {
        keys,
        end,
        count: count.unwrap_or(1),
    })
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: `[key, [elements]]` from the first
/// non-empty list, or a nil array.
fn lmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let m = mpop_args(args.rest())?;
    Ok(pop_first(ctx, m.keys, m.end, Some(m.count))?.unwrap_or(Reply::NullArray))
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`: as LMPOP, blocking until
/// a list has elements; nil array on timeout.
fn blmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let rest = args.rest();
    let m = mpop_args(rest.get(1..).unwrap_or(&[]))?;
    let timeout = parse_timeout(rest.first().copied().unwrap_or(b""))?;
    if let Some(reply) = pop_first(ctx, m.keys, m.end, Some(m.count))? {
        return Ok(reply);
    }
    Ok(block_or_timeout(
        ctx,
        argv,
        m.keys,
        timeout,
        Reply::NullArray,
    ))
}

// ---------------------------------------------------------------------------------------------
// Moves

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: the moved element, or nil.
fn lmove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = end_arg(args.next_bytes()?)?;
    let to = end_arg(args.next_bytes()?)?;
    move_element(ctx, src, dst, from, to)
}

/// `RPOPLPUSH source destination`: `LMOVE source destination RIGHT LEFT`.
fn rpoplpush(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    move_element(ctx, src, dst, End::Right, End::Left)
}

/// Redis 7.0's `lmoveGenericCommand`: checks both types before popping, pushes (creating the
/// destination), then reports the push on the destination, the pop on the source, and `del`
/// if the source emptied -- the order redis-server 7.0 emits them in.
fn move_element(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let mut db = ctx.db();
    let value = {
        let Some(list) = db.write_list(src)? else {
            return Ok(Reply::Null);
        };
        if list.is_empty() {
            return Ok(Reply::Null);
        }
        db.write_list(dst)?;
        match db.write_list(src)?.and_then(|l| l.pop(from)) {
            Some(v) => v,
            None => return Ok(Reply::Null),
        }
    };
    db.list_or_create(dst)?.push(to, &value);
    db.notify(NotifyFlags::LIST, to.push_event(), dst);
    db.notify(NotifyFlags::LIST, from.pop_event(), src);
    db.remove_if_empty(src);
    ctx.dirty(1);
    Ok(Reply::bulk(&value))
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: as LMOVE, blocking until the
/// source has an element; nil on timeout.
fn blmove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = end_arg(args.next_bytes()?)?;
    let to = end_arg(args.next_bytes()?)?;
    let timeout = parse_timeout(args.next_bytes()?)?;
    block_move(ctx, args.argv(), src, dst, from, to, timeout)
}

/// `BRPOPLPUSH source destination timeout`: `BLMOVE source destination RIGHT LEFT timeout`.
fn brpoplpush(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let timeout = parse_timeout(args.next_bytes()?)?;
    block_move(ctx, args.argv(), src, dst, End::Right, End::Left, timeout)
}

fn block_move(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    timeout: Option<Duration>,
) -> CmdResult {
    let serving = ctx.serving;
    let ready = match ctx.db().write_list(src) {
        Ok(Some(l)) => !l.is_empty(),
        Ok(None) => false,
        Err(_) if serving => false,
        Err(e) => return Err(e.into()),
    };
    if ready {
        // A destination of the wrong type fails the command (and ends the wait), as in Redis.
        return move_element(ctx, src, dst, from, to);
    }
    Ok(block_or_timeout(ctx, argv, &[src], timeout, Reply::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(raw: &str) -> Result<Option<u128>, CmdError> {
        parse_timeout(raw.as_bytes()).map(|d| d.map(|d| d.as_millis()))
    }

    #[test]
    fn timeout_parses_like_redis() {
        assert_eq!(ms("0"), Ok(None));
        assert_eq!(ms("1"), Ok(Some(1000)));
        assert_eq!(ms("0.1"), Ok(Some(100)));
        assert_eq!(ms("+1"), Ok(Some(1000)));
        assert_eq!(ms(".5"), Ok(Some(500)));
        assert_eq!(ms("0.001"), Ok(Some(1)));
        assert_eq!(ms("1.5e-5"), Ok(Some(1)));
        assert_eq!(ms("1e-400"), Ok(Some(1)));
        assert_eq!(ms("0x10"), Ok(Some(16_000)));
        assert_eq!(ms("0x1p-20"), Ok(Some(1)));
        assert_eq!(ms("-0"), Ok(None));
        assert_eq!(ms("-0.0001"), Ok(None));
        assert_eq!(ms("-0.001"), Ok(None));
        assert_eq!(ms("-1e-3"), Ok(None));
        assert_eq!(ms("-0.002"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("-0.0011"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("922337203685477"), Ok(None));
        assert_eq!(ms("-1"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("inf"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("-inf"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("9223372036854775807"), Err(CmdError::TimeoutNegative));
        assert_eq!(ms("1e400"), Err(CmdError::TimeoutNegative));
        for bad in [
            "", " 1", "1 ", "nan", "1e3x", "abc", "1..2", "--1", "0x", "infx",
        ] {
            assert_eq!(ms(bad), Err(CmdError::TimeoutNotFloat), "{bad:?}");
        }
    }

    #[test]
    fn mpop_args_follow_redis_order_of_checks() {
        let parse = |s: &str| {
            let v: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
            mpop_args(&v).map(|m| (m.keys.len(), m.end, m.count))
        };
        assert_eq!(parse("1 k left"), Ok((1, End::Left, 1)));
        assert_eq!(parse("2 a b RIGHT COUNT 5"), Ok((2, End::Right, 5)));
        let numkeys = Err(CmdError::msg("ERR numkeys should be greater than 0"));
        assert_eq!(parse("0 k left"), numkeys);
        assert_eq!(parse("x k left"), numkeys);
        assert_eq!(parse("2 k left"), Err(CmdError::Syntax));
        assert_eq!(parse("9223372036854775807 k left"), Err(CmdError::Syntax));
        assert_eq!(parse("1 k middle"), Err(CmdError::Syntax));
        assert_eq!(parse("1 k left count"), Err(CmdError::Syntax));
        assert_eq!(parse("1 k left count 1 count 1"), Err(CmdError::Syntax));
        let count = Err(CmdError::msg("ERR count should be greater than 0"));
        assert_eq!(parse("1 k left count 0"), count);
        assert_eq!(parse("1 k left count x"), count);
    }
}
