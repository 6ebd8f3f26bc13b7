//! Sorted set commands: ZADD and friends, range queries and removals, pops (blocking too), set
//! algebra (ZUNION/ZINTER/ZDIFF and their STORE forms), ZRANDMEMBER and ZSCAN.

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;

use super::args::{self, is};
use super::keys::scan_reply;
use super::{
    Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Pending, Protocol, Reply, TimeoutReply,
};
use crate::keyspace::db::scan_slots;
use crate::keyspace::set::SetValue;
use crate::keyspace::string::format_f64_g17;
use crate::keyspace::zset::{
    AddFlags, AddOutcome, LexRange, ScoreRange, ZSetValue, parse_score, strtod,
};
use crate::keyspace::{FastMap, NotifyFlags, Value, glob, new_map};

const W: Flags = Flags::WRITE;
const R: Flags = Flags::READONLY;
const WD: Flags = W.union(Flags::DENYOOM);
const WDF: Flags = WD.union(Flags::FAST);
const WF: Flags = W.union(Flags::FAST);
const RF: Flags = R.union(Flags::FAST);
const WB: Flags = W.union(Flags::BLOCKING);
const WBF: Flags = W
    .union(Flags::NOSCRIPT)
    .union(Flags::BLOCKING)
    .union(Flags::FAST);

const G: &str = "sorted-set";

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, WDF, zadd)
        .keys(1, 1, 1)
        .group(G)
        .summary("Add one or more members to a sorted set, or update its score if it already exists"),
    CommandSpec::new("zincrby", 4, WDF, zincrby)
        .keys(1, 1, 1)
        .group(G)
        .summary("Increment the score of a member in a sorted set"),
    CommandSpec::new("zrem", -3, WF, zrem)
        .keys(1, 1, 1)
        .group(G)
        .summary("Remove one or more members from a sorted set"),
    CommandSpec::new("zcard", 2, RF, zcard)
        .keys(1, 1, 1)
        .group(G)
        .summary("Get the number of members in a sorted set"),
    CommandSpec::new("zscore", 3, RF, zscore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Get the score associated with the given member in a sorted set"),
    CommandSpec::new("zmscore", -3, RF, zmscore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Get the score associated with the given members in a sorted set"),
    CommandSpec::new("zrank", 3, RF, zrank)
        .keys(1, 1, 1)
        .group(G)
        .summary("Determine the index of a member in a sorted set"),
    CommandSpec::new("zrevrank", 3, RF, zrevrank)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Determine the index of a member in a sorted set, with scores ordered from high to low",
        ),
    CommandSpec::new("zcount", 4, RF, zcount)
        .keys(1, 1, 1)
        .group(G)
        .summary("Count the members in a sorted set with scores within the given values"),
    CommandSpec::new("zlexcount", 4, RF, zlexcount)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Count the number of members in a sorted set between a given lexicographical range",
        ),
    CommandSpec::new("zrange", -4, R, zrange)
        .keys(1, 1, 1)
        .group(G)
        .summary("Return a range of members in a sorted set"),
    CommandSpec::new("zrangestore", -5, WD, zrangestore)
        .keys(1, 2, 1)
        .group(G)
        .summary("Store a range of members from sorted set into another key"),
    CommandSpec::new("zrevrange", -4, R, zrevrange)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        ),
    CommandSpec::new("zrangebyscore", -4, R, zrangebyscore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Return a range of members in a sorted set, by score"),
    CommandSpec::new("zrevrangebyscore", -4, R, zrevrangebyscore)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        ),
    CommandSpec::new("zrangebylex", -4, R, zrangebylex)
        .keys(1, 1, 1)
        .group(G)
        .summary("Return a range of members in a sorted set, by lexicographical range"),
    CommandSpec::new("zrevrangebylex", -4, R, zrevrangebylex)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        ),
    CommandSpec::new("zremrangebyrank", 4, W, zremrangebyrank)
        .keys(1, 1, 1)
        .group(G)
        .summary("Remove all members in a sorted set within the given indexes"),
    CommandSpec::new("zremrangebyscore", 4, W, zremrangebyscore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Remove all members in a sorted set within the given scores"),
    CommandSpec::new("zremrangebylex", 4, W, zremrangebylex)
        .keys(1, 1, 1)
        .group(G)
        .summary(
            "Remove all members in a sorted set between the given lexicographical range",
        ),
    CommandSpec::new("zpopmin", -2, WF, zpopmin)
        .keys(1, 1, 1)
        .group(G)
        .summary("Remove and return members with the lowest scores in a sorted set"),
    CommandSpec::new("zpopmax", -2, WF, zpopmax)
        .keys(1, 1, 1)
        .group(G)
        .summary("Remove and return members with the highest scores in a sorted set"),
    CommandSpec::new("bzpopmin", -3, WBF, bzpopmin)
        .keys(1, -2, 1)
        .group(G)
        .summary(
            "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        ),
    CommandSpec::new("bzpopmax", -3, WBF, bzpopmax)
        .keys(1, -2, 1)
        .group(G)
        .summary(
            "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        ),
    CommandSpec::new("zmpop", -4, W, zmpop)
        .group(G)
        .summary("Remove and return members with scores in a sorted set"),
    CommandSpec::new("bzmpop", -5, WB, bzmpop)
        .group(G)
        .summary(
            "Remove and return members with scores in a sorted set or block until one is available",
        ),
    CommandSpec::new("zunionstore", -4, WD, zunionstore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Add multiple sorted sets and store the resulting sorted set in a new key"),
    CommandSpec::new("zinterstore", -4, WD, zinterstore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    CommandSpec::new("zdiffstore", -4, WD, zdiffstore)
        .keys(1, 1, 1)
        .group(G)
        .summary("Subtract multiple sorted sets and store the resulting sorted set in a new key"),
    CommandSpec::new("zunion", -3, R, zunion)
        .group(G)
        .summary("Add multiple sorted sets"),
    CommandSpec::new("zinter", -3, R, zinter)
        .group(G)
        .summary("Intersect multiple sorted sets"),
    CommandSpec::new("zdiff", -3, R, zdiff)
        .group(G)
        .summary("Subtract multiple sorted sets"),
    CommandSpec::new("zintercard", -3, R, zintercard)
        .group(G)
        .summary("Intersect multiple sorted sets and return the cardinality of the result"),
    CommandSpec::new("zrandmember", -2, R, zrandmember)
        .keys(1, 1, 1)
        .group(G)
        .summary("Get one or multiple random elements from a sorted set"),
    CommandSpec::new("zscan", -3, R, zscan)
        .keys(1, 1, 1)
        .group(G)
        .summary("Incrementally iterate sorted sets elements and associated scores"),
];

const RANGE_NOT_FLOAT: CmdError = CmdError::msg("ERR min or max is not a float");
const RANGE_NOT_LEX: CmdError = CmdError::msg("ERR min or max not valid string range item");
const NAN_SCORE: CmdError = CmdError::msg("ERR resulting score is not a number (NaN)");

fn resp3(ctx: &Ctx<'_>) -> bool {
    ctx.client.protocol == Protocol::Resp3
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    ScoreRange::parse(min, max).ok_or(RANGE_NOT_FLOAT)
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    LexRange::parse(min, max).ok_or(RANGE_NOT_LEX)
}

/// A member list: members only, `member, score` flat (RESP2) or `[member, score]` pairs
/// (RESP3) with scores, as Redis's zrange result handler emits them.
fn members_reply<'a>(
    items: impl Iterator<Item = (&'a [u8], f64)>,
    withscores: bool,
    resp3: bool,
) -> Reply {
    let mut out = Vec::new();
    for (m, s) in items {
        if withscores && resp3 {
            out.push(Reply::Array(vec![Reply::bulk(m), Reply::Double(s)]));
        } else {
            out.push(Reply::bulk(m));
            if withscores {
                out.push(Reply::Double(s));
            }
        }
    }
    Reply::Array(out)
}

/// Normalizes a rank interval like Redis (negative indexes from the end); `None` when empty.
fn rank_window(start: i64, end: i64, len: usize) -> Option<Range<usize>> {
    let llen = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some(usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0) + 1)
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`.
fn zadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zadd_generic(ctx, args.argv(), false)
}

/// `ZINCRBY key increment member`: the new score.
fn zincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zadd_generic(ctx, args.argv(), true)
}

fn zadd_generic(ctx: &mut Ctx<'_>, argv: &[&[u8]], zincrby: bool) -> CmdResult {
    let key = argv[1];
    let mut f = AddFlags {
        incr: zincrby,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while let Some(&o) = argv.get(idx) {
        if is(o, "nx") {
            f.nx = true;
        } else if is(o, "xx") {
            f.xx = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            f.incr = true;
        } else if is(o, "gt") {
            f.gt = true;
        } else if is(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let pairs = &argv[idx..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut elems = Vec::with_capacity(pairs.len() / 2);
    for p in pairs.chunks_exact(2) {
        let score = parse_score(p[0]).ok_or(CmdError::NotFloat)?;
        elems.push((score, p[1]));
    }
    let skipped = || {
        if f.incr { Reply::Null } else { Reply::Int(0) }
    };
    let mut db = ctx.db();
    let t = db.thresholds;
    if db.write_zset(key)?.is_none() && f.xx {
        return Ok(skipped());
    }
    let z = db.zset_or_create(key)?;
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut nan = false;
    for (score, member) in elems {
        match z.add(member, score, f, &t) {
            AddOutcome::NaN => {
                nan = true;
                break;
            }
            AddOutcome::Nop => {}
            AddOutcome::Added(s) => {
                added += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Updated(s) => {
                updated += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Same(s) => {
                processed += 1;
                last = s;
            }
        }
    }
    if added + updated > 0 {
        db.notify(
            NotifyFlags::ZSET,
            if f.incr { "zincr" } else { "zadd" },
            key,
        );
    }
    if nan {
        return Err(NAN_SCORE);
    }
    ctx.dirty(added + updated);
    Ok(if f.incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Null
        }
    } else if ch {
        Reply::Int(i64::try_from(added + updated).unwrap_or(i64::MAX))
    } else {
        Reply::Int(i64::try_from(added).unwrap_or(i64::MAX))
    })
}

/// `ZREM key member [member ...]`: how many were removed.
fn zrem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    let mut db = ctx.db();
    let Some(z) = db.write_zset(key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0u64;
    for m in &argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        db.notify(NotifyFlags::ZSET, "zrem", key);
        db.remove_if_empty(key);
        ctx.dirty(deleted);
    }
    Ok(Reply::Int(i64::try_from(deleted).unwrap_or(i64::MAX)))
}

// ---------------------------------------------------------------------------------------------
// Point reads

/// `ZCARD key`.
fn zcard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(ctx.db().read_zset(key)?.map_or(0, |z| z.len()).into())
}

/// `ZSCORE key member`: the score or nil.
fn zscore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    Ok(
        match ctx.db().read_zset(key)?.and_then(|z| z.score(member)) {
            Some(s) => Reply::Double(s),
            None => Reply::Null,
        },
    )
}

/// `ZMSCORE key member [member ...]`: a score or nil per member.
fn zmscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let mut db = ctx.db();
    let z = db.read_zset(argv[1])?;
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                Some(s) => Reply::Double(s),
                None => Reply::Null,
            })
            .collect(),
    ))
}

fn rank_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, rev: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(z) = db.read_zset(key)? else {
        return Ok(Reply::Null);
    };
    Ok(match z.rank(member) {
        Some(r) if rev => (z.len() - 1 - r).into(),
        Some(r) => r.into(),
        None => Reply::Null,
    })
}

/// `ZRANK key member`: the 0-based rank by ascending score, or nil.
fn zrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// `ZREVRANK key member`: the 0-based rank by descending score, or nil.
fn zrevrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// `ZCOUNT key min max`.
fn zcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let range = score_range(argv[2], argv[3])?;
    let mut db = ctx.db();
    Ok(db
        .read_zset(argv[1])?
        .map_or(0, |z| z.score_range_ranks(&range).len())
        .into())
}

/// `ZLEXCOUNT key min max`.
fn zlexcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let range = lex_range(argv[2], argv[3])?;
    let mut db = ctx.db();
    Ok(db
        .read_zset(argv[1])?
        .map_or(0, |z| z.lex_range_ranks(&range, false).len())
        .into())
}

// ---------------------------------------------------------------------------------------------
// Ranges

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Fwd,
    Rev,
}

enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The members a range selects, in reply order.
fn select<'a>(
    z: &'a ZSetValue,
    spec: &RangeSpec,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(&'a [u8], f64)> {
    let ranks = match spec {
        RangeSpec::Rank(start, end) => {
            let Some(w) = rank_window(*start, *end, z.len()) else {
                return Vec::new();
            };
            return if rev {
                z.iter_from(z.len() - 1 - w.start, true)
                    .take(w.len())
                    .collect()
            } else {
                z.iter_from(w.start, false).take(w.len()).collect()
            };
        }
        RangeSpec::Score(r) => z.score_range_ranks(r),
        RangeSpec::Lex(r) => z.lex_range_ranks(r, rev),
    };
    if offset < 0 || ranks.is_empty() {
        return Vec::new();
    }
    let off = usize::try_from(offset).unwrap_or(usize::MAX);
    if off >= ranks.len() {
        return Vec::new();
    }
    let mut n = ranks.len() - off;
    if limit >= 0 {
        n = n.min(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    if rev {
        z.iter_from(ranks.end - 1 - off, true).take(n).collect()
    } else {
        z.iter_from(ranks.start + off, false).take(n).collect()
    }
}

/// Redis's `zrangeGenericCommand`: `argv[start]` is the source key, followed by min, max and
/// options. With `store`, the result goes to that key (ZRANGESTORE).
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    start: usize,
    store: Option<&[u8]>,
    mut kind: Kind,
    mut dir: Dir,
) -> CmdResult {
    let key = argv[start];
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < argv.len() {
        let a = argv[j];
        let left = argv.len() - j - 1;
        if store.is_none() && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = args::int(argv[j + 1])?;
            limit = args::int(argv[j + 2])?;
            j += 2;
        } else if dir == Dir::Auto && is(a, "rev") {
            dir = Dir::Rev;
        } else if kind == Kind::Auto && is(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    let rev = dir == Dir::Rev;
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let spec = match kind {
        Kind::Auto | Kind::Rank => {
            RangeSpec::Rank(args::int(argv[minidx])?, args::int(argv[maxidx])?)
        }
        Kind::Score => RangeSpec::Score(score_range(argv[minidx], argv[maxidx])?),
        Kind::Lex => RangeSpec::Lex(lex_range(argv[minidx], argv[maxidx])?),
    };
    let resp3 = resp3(ctx);
    let mut db = ctx.db();
    let Some(dst) = store else {
        return Ok(match db.read_zset(key)? {
            None => Reply::Array(Vec::new()),
            Some(z) => members_reply(
                select(z, &spec, rev, offset, limit).into_iter(),
                withscores,
                resp3,
            ),
        });
    };
    let t = db.thresholds;
    let mut out = ZSetValue::new_skiplist();
    if let Some(z) = db.read_zset(key)? {
        for (m, s) in select(z, &spec, rev, offset, limit) {
            out.insert(m, s, &t);
        }
    }
    store_result(ctx, dst, out, "zrangestore")
}

/// Stores a computed sorted set at `dst` (or deletes `dst` when it is empty), with the event
/// Redis emits; replies with its size.
fn store_result(
    ctx: &mut Ctx<'_>,
    dst: &[u8],
    mut out: ZSetValue,
    event: &'static str,
) -> CmdResult {
    let mut db = ctx.db();
    let n = out.len();
    if n > 0 {
        let t = db.thresholds;
        out.fit_encoding(&t);
        db.set(dst, Value::ZSet(Box::new(out)), false);
        db.emit(NotifyFlags::ZSET, event, dst);
        ctx.dirty(1);
    } else if db.remove(dst).is_some() {
        db.emit(NotifyFlags::GENERIC, "del", dst);
        ctx.dirty(1);
    }
    Ok(n.into())
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
fn zrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Auto, Dir::Auto)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
fn zrangestore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    zrange_generic(ctx, argv, 2, Some(argv[1]), Kind::Auto, Dir::Auto)
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
fn zrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Rank, Dir::Rev)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
fn zrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Score, Dir::Fwd)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`.
fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Score, Dir::Rev)
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`.
fn zrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Lex, Dir::Fwd)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`.
fn zrevrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args.argv(), 1, None, Kind::Lex, Dir::Rev)
}

fn zremrange_generic(ctx: &mut Ctx<'_>, argv: &[&[u8]], kind: Kind) -> CmdResult {
    let key = argv[1];
    let (spec, event) = match kind {
        Kind::Score => (
            RangeSpec::Score(score_range(argv[2], argv[3])?),
            "zremrangebyscore",
        ),
        Kind::Lex => (
            RangeSpec::Lex(lex_range(argv[2], argv[3])?),
            "zremrangebylex",
        ),
        Kind::Auto | Kind::Rank => (
            RangeSpec::Rank(args::int(argv[2])?, args::int(argv[3])?),
            "zremrangebyrank",
        ),
    };
    let mut db = ctx.db();
    let Some(z) = db.write_zset(key)? else {
        return Ok(Reply::Int(0));
    };
    let ranks = match &spec {
        RangeSpec::Rank(s, e) => match rank_window(*s, *e, z.len()) {
            Some(w) => w,
            None => return Ok(Reply::Int(0)),
        },
        RangeSpec::Score(r) => z.score_range_ranks(r),
        RangeSpec::Lex(r) => z.lex_range_ranks(r, false),
    };
    let deleted = z.remove_rank_range(ranks);
    if deleted > 0 {
        db.notify(NotifyFlags::ZSET, event, key);
        db.remove_if_empty(key);
        ctx.dirty(deleted as u64);
    }
    Ok(deleted.into())
}

/// `ZREMRANGEBYRANK key start stop`.
fn zremrangebyrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zremrange_generic(ctx, args.argv(), Kind::Rank)
}

/// `ZREMRANGEBYSCORE key min max`.
fn zremrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zremrange_generic(ctx, args.argv(), Kind::Score)
}

/// `ZREMRANGEBYLEX key min max`.
fn zremrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zremrange_generic(ctx, args.argv(), Kind::Lex)
}

// ---------------------------------------------------------------------------------------------
// Pops

/// How a pop reply is shaped (Redis's `emitkey` / `use_nested_array`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// `[member, score, ...]` (ZPOPMIN in RESP2, or without a count).
    Flat,
    /// `[[member, score], ...]` (ZPOPMIN with a count in RESP3).
    Nested,
    /// `[key, member, score]` (BZPOPMIN).
    KeyFlat,
    /// `[key, [[member, score], ...]]` (ZMPOP, BZMPOP).
    KeyNested,
}

/// Pops up to `count` members from the zset at `key` (known to exist) and builds the reply.
fn pop_reply(ctx: &mut Ctx<'_>, key: &[u8], max: bool, count: usize, shape: PopShape) -> Reply {
    let mut db = ctx.db();
    let mut popped = Vec::new();
    if let Ok(Some(z)) = db.write_zset(key) {
        while popped.len() < count {
            match z.pop(max) {
                Some(p) => popped.push(p),
                None => break,
            }
        }
    }
    if !popped.is_empty() {
        db.notify(
            NotifyFlags::ZSET,
            if max { "zpopmax" } else { "zpopmin" },
            key,
        );
        db.remove_if_empty(key);
        ctx.dirty(popped.len() as u64);
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::KeyNested);
    let mut items = Vec::with_capacity(popped.len() * 2);
    for (m, s) in popped {
        if nested {
            items.push(Reply::Array(vec![Reply::bulk(&*m), Reply::Double(s)]));
        } else {
            items.push(Reply::bulk(&*m));
            items.push(Reply::Double(s));
        }
    }
    match shape {
        PopShape::Flat | PopShape::Nested => Reply::Array(items),
        PopShape::KeyFlat => {
            let mut out = Vec::with_capacity(items.len() + 1);
            out.push(Reply::bulk(key));
            out.extend(items);
            Reply::Array(out)
        }
        PopShape::KeyNested => Reply::Array(vec![Reply::bulk(key), Reply::Array(items)]),
    }
}

fn zpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    let argv = args.argv();
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = argv[1];
    let count = match argv.get(2) {
        Some(a) => {
            let n = args::int(a)
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::msg("ERR value is out of range, must be positive"))?;
            Some(usize::try_from(n).unwrap_or(usize::MAX))
        }
        None => None,
    };
    let shape = if count.is_some() && resp3(ctx) {
        PopShape::Nested
    } else {
        PopShape::Flat
    };
    if ctx.db().write_zset(key)?.is_none() || count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    Ok(pop_reply(ctx, key, max, count.unwrap_or(1), shape))
}

/// `ZPOPMIN key [count]`.
fn zpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, false)
}

/// `ZPOPMAX key [count]`.
fn zpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, true)
}

/// Parses a blocking timeout in seconds as Redis's `getTimeoutFromObjectOrReply`; `None`
/// blocks forever.
fn parse_timeout(ctx: &Ctx<'_>, a: &[u8]) -> Result<Option<Duration>, CmdError> {
    if a.len() >= 5 * 1024 {
        return Err(CmdError::TimeoutNotFloat);
    }
    // string2ld: the whole string, no leading space, no NaN; `long double` does not overflow
    // where `double` would, so huge values are accepted (and then fail as negative below).
    let (secs, used) = strtod(a);
    if a.is_empty()
        || a[0].is_ascii_whitespace()
        || a[0] == 0x0b
        || used != a.len()
        || secs.is_nan()
    {
        return Err(CmdError::TimeoutNotFloat);
    }
    let ms = secs * 1000.0;
    // C's (long long) conversion: out-of-range values become LLONG_MIN on x86.
    let tval = if ms.is_finite() && ms > -9.223_372_036_854_775e18 && ms < 9.223_372_036_854_775e18
    {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if tval < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    if tval == 0 {
        return Ok(None);
    }
    if tval > i64::MAX - ctx.store.ks.now_ms() {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    Ok(Some(Duration::from_millis(tval.unsigned_abs())))
}

/// The blocking pop shared by BZPOPMIN/BZPOPMAX/BZMPOP: serve from the first non-empty zset,
/// else block (or answer the timeout reply when blocking is not allowed).
fn blocking_pop(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    keys: &[&[u8]],
    max: bool,
    count: usize,
    shape: PopShape,
    timeout: Option<Duration>,
) -> CmdResult {
    let serving = ctx.serving;
    for &key in keys {
        let ready = match ctx.db().write_zset(key) {
            Ok(Some(z)) => !z.is_empty(),
            Ok(None) => false,
            // A blocked client stays blocked when the key now holds another type.
            Err(_) if serving => false,
            Err(e) => return Err(e.into()),
        };
        if ready {
            return Ok(pop_reply(ctx, key, max, count, shape));
        }
    }
    if ctx.serving {
        return Ok(Reply::Wait(Pending::still_blocked()));
    }
    if !ctx.may_block() {
        return Ok(Reply::NullArray);
    }
    let owned: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    Ok(ctx.block(keys, timeout, owned, TimeoutReply::NullArray))
}

fn bzpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    let argv = args.argv();
    let last = argv.len() - 1;
    let timeout = parse_timeout(ctx, argv[last])?;
    blocking_pop(
        ctx,
        argv,
        &argv[1..last],
        max,
        1,
        PopShape::KeyFlat,
        timeout,
    )
}

/// `BZPOPMIN key [key ...] timeout`.
fn bzpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, false)
}

/// `BZPOPMAX key [key ...] timeout`.
fn bzpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, true)
}

/// Parses `numkeys key [key ...] MIN|MAX [COUNT count]` starting at `argv[numkeys_idx]`.
fn mpop_args<'a>(
    argv: &'a [&'a [u8]],
    numkeys_idx: usize,
) -> Result<(&'a [&'a [u8]], bool, usize), CmdError> {
    const NUMKEYS: CmdError = CmdError::msg("ERR numkeys should be greater than 0");
    let numkeys = args::int(argv[numkeys_idx]).map_err(|_| NUMKEYS)?;
    if numkeys < 1 {
        return Err(NUMKEYS);
    }
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_idx + 1))
        .filter(|&w| w < argv.len())
        .ok_or(CmdError::Syntax)?;
    let max = if is(argv[where_idx], "min") {
        false
    } else if is(argv[where_idx], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && is(argv[j], "count") && more > 0 {
            j += 1;
            let n = args::int(argv[j])
                .ok()
                .filter(|&n| n >= 1)
                .ok_or(CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((&argv[numkeys_idx + 1..where_idx], max, count.unwrap_or(1)))
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`.
fn zmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (keys, max, count) = mpop_args(argv, 1)?;
    for &key in keys {
        if ctx.db().write_zset(key)?.is_some() {
            return Ok(pop_reply(ctx, key, max, count, PopShape::KeyNested));
        }
    }
    Ok(Reply::NullArray)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`.
fn bzmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let (keys, max, count) = mpop_args(argv, 2)?;
    let timeout = parse_timeout(ctx, argv[1])?;
    blocking_pop(ctx, argv, keys, max, count, PopShape::KeyNested, timeout)
}

// ---------------------------------------------------------------------------------------------
// Set algebra

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate` (an inf - inf sum becomes 0).
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation: a sorted set, a plain set (scores of 1) or nothing.
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSetValue),
    S(&'a SetValue),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.members.contains(m).then_some(1.0),
        }
    }

    fn items(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            Src::Missing => Box::new(std::iter::empty()),
            Src::Z(z) => Box::new(z.iter()),
            Src::S(s) => Box::new(s.members.iter().map(|m| (&**m, 1.0))),
        }
    }
}

/// Redis's `zunionInterDiffGenericCommand`.
fn zset_op(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
    name: &str,
) -> CmdResult {
    let setnum = args::int(argv[numkeys_idx])?;
    if setnum < 1 {
        return Err(CmdError::owned(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_idx + 1;
    let setnum = usize::try_from(setnum)
        .ok()
        .filter(|&n| n <= argv.len() - first)
        .ok_or(CmdError::Syntax)?;
    let keys = &argv[first..first + setnum];
    {
        let mut db = ctx.db();
        for k in keys {
            match db.read(k) {
                None | Some(Value::ZSet(_) | Value::Set(_)) => {}
                Some(_) => return Err(CmdError::WrongType),
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = argv[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for w in &mut weights {
                *w =
                    parse_score(argv[j]).ok_or(CmdError::msg("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let v = argv[j + 1];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            let n = args::int(argv[j + 1])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::msg("ERR LIMIT can't be negative"))?;
            limit = usize::try_from(n).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }

    let resp3 = resp3(ctx);
    let mut out = ZSetValue::new_skiplist();
    let mut card = 0usize;
    {
        let db = ctx.db();
        let t = db.thresholds;
        let raw = db.raw();
        let mut srcs: Vec<(Src<'_>, f64)> = keys
            .iter()
            .zip(weights)
            .map(|(k, w)| {
                let src = match raw.raw_get(k).map(|e| &e.value) {
                    Some(Value::ZSet(z)) => Src::Z(z),
                    Some(Value::Set(s)) => Src::S(s),
                    _ => Src::Missing,
                };
                (src, w)
            })
            .collect();
        if op != SetOp::Diff {
            srcs.sort_by_key(|(s, _)| s.len());
        }
        match op {
            SetOp::Inter => {
                let (base, w0) = srcs[0];
                'members: for (m, s) in base.items() {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in &srcs[1..] {
                        match src.score(m) {
                            Some(v) => aggregate(&mut score, v * w, agg),
                            None => continue 'members,
                        }
                    }
                    if card_only {
                        card += 1;
                        if limit > 0 && card >= limit {
                            break;
                        }
                    } else {
                        out.insert(m, score, &t);
                    }
                }
            }
            SetOp::Union => {
                let mut acc: FastMap<&[u8], f64> = new_map();
                for (src, w) in &srcs {
                    for (m, s) in src.items() {
                        let mut v = w * s;
                        if v.is_nan() {
                            v = 0.0;
                        }
                        match acc.get_mut(m) {
                            Some(cur) => aggregate(cur, v, agg),
                            None => {
                                acc.insert(m, v);
                            }
                        }
                    }
                }
                for (m, s) in acc {
                    out.insert(m, s, &t);
                }
            }
            SetOp::Diff => {
                let (base, _) = srcs[0];
                for (m, s) in base.items() {
                    if srcs[1..].iter().all(|(o, _)| o.score(m).is_none()) {
                        out.insert(m, s, &t);
                    }
                }
            }
        }
    }
    if card_only {
        return Ok(card.into());
    }
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, out, event)
        }
        None => Ok(members_reply(out.iter(), withscores, resp3)),
    }
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
fn zunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    zset_op(
        ctx,
        argv,
        Some(argv[1]),
        2,
        SetOp::Union,
        false,
        "zunionstore",
    )
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
fn zinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    zset_op(
        ctx,
        argv,
        Some(argv[1]),
        2,
        SetOp::Inter,
        false,
        "zinterstore",
    )
}

/// `ZDIFFSTORE destination numkeys key [key ...]`.
fn zdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    zset_op(
        ctx,
        argv,
        Some(argv[1]),
        2,
        SetOp::Diff,
        false,
        "zdiffstore",
    )
}

/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
fn zunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args.argv(), None, 1, SetOp::Union, false, "zunion")
}

/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
fn zinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args.argv(), None, 1, SetOp::Inter, false, "zinter")
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`.
fn zdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args.argv(), None, 1, SetOp::Diff, false, "zdiff")
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn zintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args.argv(), None, 1, SetOp::Inter, true, "zintercard")
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
fn zrandmember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let argv = args.argv();
    let key = argv[1];
    if let Some(raw) = argv.get(2) {
        let l = args::int(raw)?;
        if l == i64::MIN {
            return Err(CmdError::msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        if argv.len() > 4 || (argv.len() == 4 && !is(argv[3], "withscores")) {
            return Err(CmdError::Syntax);
        }
        let withscores = argv.len() == 4;
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(CmdError::msg("ERR value is out of range"));
        }
        return zrandmember_count(ctx, key, l, withscores);
    }
    let mut db = ctx.db();
    Ok(match db.read_zset(key)?.and_then(|z| z.random_member()) {
        Some((m, _)) => Reply::bulk(m),
        None => Reply::Null,
    })
}

fn zrandmember_count(ctx: &mut Ctx<'_>, key: &[u8], l: i64, withscores: bool) -> CmdResult {
    let resp3 = resp3(ctx);
    let mut db = ctx.db();
    let Some(z) = db.read_zset(key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if l == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let size = z.len();
    let count = usize::try_from(l.unsigned_abs()).unwrap_or(usize::MAX);
    if l < 0 || count == 1 {
        // Repetitions allowed: sample the whole set every time.
        let picks = (0..count).filter_map(|_| z.random_member());
        return Ok(members_reply(picks, withscores, resp3));
    }
    if count >= size {
        // The whole set, highest score first, as Redis 7.0 emits it.
        return Ok(members_reply(z.iter_rev(), withscores, resp3));
    }
    let mut rng = rand::rng();
    let picks = rand::seq::index::sample(&mut rng, size, count)
        .into_iter()
        .filter_map(|i| z.slot(i));
    Ok(members_reply(picks, withscores, resp3))
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`.
fn zscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    // Options are checked after the key lookup, as Redis's scanGenericCommand does.
    let opts = scan_options(&mut args);
    let mut db = ctx.db();
    let Some(z) = db.read_zset(key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = opts?;
    let (batch, next): (Vec<(&[u8], f64)>, u64) = if z.big {
        scan_slots(z.len(), cursor, count, |i| z.slot(i))
    } else {
        (z.iter().collect(), 0)
    };
    let mut items = Vec::with_capacity(batch.len() * 2);
    for (m, s) in batch {
        if pattern.is_some_and(|p| !glob::matches(p, m)) {
            continue;
        }
        items.push(Reply::bulk(m));
        items.push(Reply::bulk(format_f64_g17(s)));
    }
    Ok(scan_reply(next, items))
}

/// A SCAN cursor as Redis's `parseScanCursorOrReply` reads it (`strtoul`: an optional sign,
/// digits, negative values wrap; no spaces, no overflow).
fn parse_cursor(a: &[u8]) -> Result<u64, CmdError> {
    const INVALID: CmdError = CmdError::msg("ERR invalid cursor");
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() {
        // strtoul converts nothing and leaves the end pointer at the start.
        return if a.is_empty() { Ok(0) } else { Err(INVALID) };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(INVALID);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(INVALID)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// `[MATCH pattern] [COUNT count]` of ZSCAN.
fn scan_options<'a>(args: &mut Args<'a>) -> Result<(Option<&'a [u8]>, usize), CmdError> {
    let (mut pattern, mut count) = (None, 10usize);
    while let Some(opt) = args.next_opt() {
        if is(opt, "MATCH") {
            let p = args.next_bytes()?;
            pattern = (p != b"*").then_some(p);
        } else if is(opt, "COUNT") {
            let n = args.next_i64()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((pattern, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_window_matches_redis_sanitizing() {
        assert_eq!(rank_window(0, -1, 4), Some(0..4));
        assert_eq!(rank_window(-2, -1, 4), Some(2..4));
        assert_eq!(rank_window(-5, 2, 4), Some(0..3));
        assert_eq!(rank_window(5, -1, 4), None);
        assert_eq!(rank_window(0, -5, 4), None);
        assert_eq!(rank_window(1, 10, 4), Some(1..4));
        assert_eq!(rank_window(0, 0, 0), None);
    }

    #[test]
    fn mpop_args_parse_like_redis() {
        let argv: Vec<&[u8]> = vec![b"zmpop", b"2", b"a", b"b", b"MAX", b"COUNT", b"3"];
        let (keys, max, count) = mpop_args(&argv, 1).expect("valid");
        assert_eq!(keys, &[&b"a"[..], &b"b"[..]]);
        assert!(max);
        assert_eq!(count, 3);
        let bad: Vec<&[u8]> = vec![b"zmpop", b"0", b"a", b"MIN"];
        assert_eq!(
            mpop_args(&bad, 1).err().map(|e| e.to_string()),
            Some("ERR numkeys should be greater than 0".into())
        );
        let bad: Vec<&[u8]> = vec![b"zmpop", b"1", b"a", b"MIN", b"COUNT", b"1", b"COUNT", b"2"];
        assert_eq!(mpop_args(&bad, 1).err(), Some(CmdError::Syntax));
    }

    #[test]
    fn aggregate_sum_of_opposite_infinities_is_zero() {
        let mut t = f64::INFINITY;
        aggregate(&mut t, f64::NEG_INFINITY, Aggregate::Sum);
        assert_eq!(t, 0.0);
        let mut t = 1.0;
        aggregate(&mut t, f64::NAN, Aggregate::Min);
        assert_eq!(t, 1.0);
    }
}
