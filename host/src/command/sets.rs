//! Set commands: membership, random picks, SMOVE, the SINTER/SUNION/SDIFF algebra, SSCAN.

use super::hashes::{check_cursor, rand_count};
use super::keys::{scan_opts, scan_reply};
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::db::{Db, DbView};
use crate::keyspace::set::{SetValue, difference, intersection, union};
use crate::keyspace::{NotifyFlags, Value, glob};

const R: Flags = Flags::READONLY;
const RF: Flags = R.union(Flags::FAST);
const WF: Flags = Flags::WRITE.union(Flags::FAST);
const WD: Flags = Flags::WRITE.union(Flags::DENYOOM);
const WDF: Flags = WD.union(Flags::FAST);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WDF, sadd)
        .keys(1, 1, 1)
        .group("set")
        .summary("Add one or more members to a set"),
    CommandSpec::new("srem", -3, WF, srem)
        .keys(1, 1, 1)
        .group("set")
        .summary("Remove one or more members from a set"),
    CommandSpec::new("smembers", 2, R, smembers)
        .keys(1, 1, 1)
        .group("set")
        .summary("Get all the members in a set"),
    CommandSpec::new("sismember", 3, RF, sismember)
        .keys(1, 1, 1)
        .group("set")
        .summary("Determine if a given value is a member of a set"),
    CommandSpec::new("smismember", -3, RF, smismember)
        .keys(1, 1, 1)
        .group("set")
        .summary("Returns the membership associated with the given elements for a set"),
    CommandSpec::new("scard", 2, RF, scard)
        .keys(1, 1, 1)
        .group("set")
        .summary("Get the number of members in a set"),
    CommandSpec::new("spop", -2, WF, spop)
        .keys(1, 1, 1)
        .group("set")
        .summary("Remove and return one or multiple random members from a set"),
    CommandSpec::new("srandmember", -2, R, srandmember)
        .keys(1, 1, 1)
        .group("set")
        .summary("Get one or multiple random members from a set"),
    CommandSpec::new("smove", 4, WF, smove)
        .keys(1, 2, 1)
        .group("set")
        .summary("Move a member from one set to another"),
    CommandSpec::new("sinter", -2, R, sinter)
        .keys(1, -1, 1)
        .group("set")
        .summary("Intersect multiple sets"),
    CommandSpec::new("sintercard", -3, R, sintercard)
        .group("set")
        .summary("Intersect multiple sets and return the cardinality of the result"),
    CommandSpec::new("sinterstore", -3, WD, sinterstore)
        .keys(1, -1, 1)
        .group("set")
        .summary("Intersect multiple sets and store the resulting set in a key"),
    CommandSpec::new("sunion", -2, R, sunion)
        .keys(1, -1, 1)
        .group("set")
        .summary("Add multiple sets"),
    CommandSpec::new("sunionstore", -3, WD, sunionstore)
        .keys(1, -1, 1)
        .group("set")
        .summary("Add multiple sets and store the resulting set in a key"),
    CommandSpec::new("sdiff", -2, R, sdiff)
        .keys(1, -1, 1)
        .group("set")
        .summary("Subtract multiple sets"),
    CommandSpec::new("sdiffstore", -3, WD, sdiffstore)
        .keys(1, -1, 1)
        .group("set")
        .summary("Subtract multiple sets and store the resulting set in a key"),
    CommandSpec::new("sscan", -3, R, sscan)
        .keys(1, 1, 1)
        .group("set")
        .summary("Incrementally iterate Set elements"),
];

/// A RESP3 set (an array in RESP2) of bulk strings.
fn set_reply<B: AsRef<[u8]>>(items: impl IntoIterator<Item = B>) -> Reply {
    Reply::Set(items.into_iter().map(Reply::bulk).collect())
}

/// `SADD key member [member ...]`: the number of members added.
fn sadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let t = db.thresholds;
    let s = db.set_or_create(key)?;
    let added = args.rest().iter().filter(|m| s.insert(m, &t)).count();
    if added > 0 {
        db.notify(NotifyFlags::SET, "sadd", key);
    }
    ctx.dirty(added as u64);
    Ok(Reply::from(added))
}

/// `SREM key member [member ...]`: the number of members removed; the key goes when emptied.
fn srem(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(s) = db.write_set(key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0u64;
    for m in args.rest() {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        db.notify(NotifyFlags::SET, "srem", key);
        db.remove_if_empty(key);
    }
    ctx.dirty(deleted);
    Ok(Reply::Int(deleted as i64))
}

/// `SMEMBERS key`: every member (a set in RESP3).
fn smembers(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    Ok(set_reply(
        db.read_set(key)?.map(|s| s.ordered()).unwrap_or_default(),
    ))
}

/// `SISMEMBER key member`: 1 or 0.
fn sismember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    Ok(Reply::from(
        ctx.db().read_set(key)?.is_some_and(|s| s.contains(member)),
    ))
}

/// `SMISMEMBER key member [member ...]`: 1 or 0 per member.
fn smismember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let s = db.read_set(key)?;
    Ok(Reply::Array(
        args.rest()
            .iter()
            .map(|m| Reply::from(s.is_some_and(|s| s.contains(m))))
            .collect(),
    ))
}

/// `SCARD key`: the number of members.
fn scard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::from(ctx.db().read_set(key)?.map_or(0, |s| s.len())))
}

/// `SPOP key [count]`: removes and returns a random member (nil if missing), or up to
/// `count` distinct members (a set in RESP3).
fn spop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(raw) = args.next_opt() else {
        let mut db = ctx.db();
        let Some(s) = db.write_set(key)? else {
            return Ok(Reply::Null);
        };
        let Some(member) = s.pop_random(1).pop() else {
            return Ok(Reply::Null);
        };
        db.notify(NotifyFlags::SET, "spop", key);
        db.remove_if_empty(key);
        ctx.dirty(1);
        return Ok(Reply::bulk(member));
    };
    if !args.is_empty() {
        return Err(CmdError::Syntax);
    }
    let count = super::args::int(raw)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(CmdError::msg("ERR value is out of range, must be positive"))?;
    let mut db = ctx.db();
    let Some(s) = db.write_set(key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let reply = if count >= s.len() {
        let all = set_reply(s.ordered());
        db.notify(NotifyFlags::SET, "spop", key);
        db.remove(key);
        db.emit(NotifyFlags::GENERIC, "del", key);
        all
    } else {
        let popped = s.pop_random(count);
        db.notify(NotifyFlags::SET, "spop", key);
        set_reply(popped)
    };
    ctx.dirty(1);
    Ok(reply)
}

/// `SRANDMEMBER key [count]`: a random member (nil if missing), or `count` distinct members
/// (repeats allowed for a negative count).
fn srandmember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(raw) = args.next_opt() else {
        let mut db = ctx.db();
        let Some(s) = db.read_set(key)? else {
            return Ok(Reply::Null);
        };
        return Ok(Reply::bulk_or_null(s.random_members(1, false).first()));
    };
    if !args.is_empty() {
        return Err(CmdError::Syntax);
    }
    let n = rand_count(raw)?;
    let mut db = ctx.db();
    let Some(s) = db.read_set(key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
    let members = if n > 0 && count >= s.len() {
        s.ordered()
    } else {
        s.random_members(count, n > 0)
    };
    Ok(Reply::bulks(members))
}

/// What a key holds, for commands that check several keys before acting.
#[derive(PartialEq, Eq)]
enum Kind {
    Missing,
    Set,
    Other,
}

fn kind(v: Option<&mut Value>) -> Kind {
    match v {
        None => Kind::Missing,
        Some(Value::Set(_)) => Kind::Set,
        Some(_) => Kind::Other,
    }
}

/// `SMOVE source destination member`: 1 if moved, 0 if not in `source`.
fn smove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let member = args.next_bytes()?;
    let mut db = ctx.db();
    let src_kind = kind(db.lookup_write(src));
    let dst_kind = kind(db.lookup_write(dst));
    if src_kind == Kind::Missing {
        return Ok(Reply::Int(0));
    }
    if src_kind == Kind::Other || dst_kind == Kind::Other {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        return Ok(Reply::from(
            db.read_set(src)?.is_some_and(|s| s.contains(member)),
        ));
    }
    if !db.write_set(src)?.is_some_and(|s| s.remove(member)) {
        return Ok(Reply::Int(0));
    }
    db.notify(NotifyFlags::SET, "srem", src);
    db.remove_if_empty(src);
    let t = db.thresholds;
    let added = db.set_or_create(dst)?.insert(member, &t);
    if added {
        db.notify(NotifyFlags::SET, "sadd", dst);
    }
    ctx.dirty(1 + u64::from(added));
    Ok(Reply::Int(1))
}

/// Looks every key up (expiry, statistics, type check) before any set is read: a key of
/// another type fails the command even after a missing key, as in Redis 7.0.
fn check_sets(db: &mut DbView<'_>, keys: &[&[u8]], write: bool) -> Result<(), CmdError> {
    for k in keys {
        let v = if write {
            db.lookup_write(k).map(|v| &*v)
        } else {
            db.read(k)
        };
        if v.is_some_and(|v| !matches!(v, Value::Set(_))) {
            return Err(CmdError::WrongType);
        }
    }
    Ok(())
}

/// The sets at `keys` (`None` for missing keys), after [`check_sets`].
fn sets_of<'a>(db: &'a Db, keys: &[&[u8]]) -> Vec<Option<&'a SetValue>> {
    keys.iter()
        .map(|k| match db.raw_get(k).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// The set operations of SINTER, SUNION and SDIFF.
#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

impl SetOp {
    fn store_event(self) -> &'static str {
        match self {
            SetOp::Inter => "sinterstore",
            SetOp::Union => "sunionstore",
            SetOp::Diff => "sdiffstore",
        }
    }
}

/// Computes `op` over the sets at `keys` as a fresh set.
fn compute(
    db: &mut DbView<'_>,
    keys: &[&[u8]],
    op: SetOp,
    write: bool,
) -> Result<SetValue, CmdError> {
    check_sets(db, keys, write)?;
    let t = db.thresholds;
    let sets = sets_of(db.raw(), keys);
    Ok(match op {
        SetOp::Inter => SetValue::from_members(intersection(&sets, 0), &t),
        SetOp::Union => union(&sets, &t),
        SetOp::Diff => difference(&sets, &t),
    })
}

/// SINTER, SUNION and SDIFF: the resulting members (a set in RESP3).
fn set_op(ctx: &mut Ctx<'_>, args: Args<'_>, op: SetOp) -> CmdResult {
    let keys = args.rest();
    let mut db = ctx.db();
    if let SetOp::Inter = op {
        // Replied straight from the smallest set, in its order, as Redis does.
        check_sets(&mut db, keys, false)?;
        let sets = sets_of(db.raw(), keys);
        return Ok(set_reply(intersection(&sets, 0)));
    }
    let result = compute(&mut db, keys, op, false)?;
    Ok(set_reply(result.ordered()))
}

/// SINTERSTORE, SUNIONSTORE and SDIFFSTORE: stores the result (deleting `destination` when it
/// is empty) and returns its size.
fn set_op_store(ctx: &mut Ctx<'_>, mut args: Args<'_>, op: SetOp) -> CmdResult {
    let dst = args.next_bytes()?;
    let keys = args.rest();
    let mut db = ctx.db();
    let result = compute(&mut db, keys, op, true)?;
    let n = result.len();
    if n > 0 {
        db.set(dst, Value::Set(Box::new(result)), false);
        db.emit(NotifyFlags::SET, op.store_event(), dst);
        ctx.dirty(1);
    } else if db.remove(dst).is_some() {
        db.emit(NotifyFlags::GENERIC, "del", dst);
        ctx.dirty(1);
    }
    Ok(Reply::from(n))
}

/// `SINTER key [key ...]`.
fn sinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op(ctx, args, SetOp::Inter)
}

/// `SUNION key [key ...]`.
fn sunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op(ctx, args, SetOp::Union)
}

/// `SDIFF key [key ...]`.
fn sdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op(ctx, args, SetOp::Diff)
}

/// `SINTERSTORE destination key [key ...]`.
fn sinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op_store(ctx, args, SetOp::Inter)
}

/// `SUNIONSTORE destination key [key ...]`.
fn sunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op_store(ctx, args, SetOp::Union)
}

/// `SDIFFSTORE destination key [key ...]`.
fn sdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_op_store(ctx, args, SetOp::Diff)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the intersection, counting
/// stopped at `limit` (0: no limit).
fn sintercard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let numkeys = super::args::int(args.next_bytes()?)
        .ok()
        .filter(|&n| n >= 1)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(CmdError::msg("ERR numkeys should be greater than 0"))?;
    let rest = args.rest();
    if numkeys > rest.len() {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let (keys, mut opts) = rest.split_at(numkeys);
    let mut limit = 0usize;
    while let Some((opt, tail)) = opts.split_first() {
        match tail.split_first() {
            Some((raw, tail)) if super::args::is(opt, "LIMIT") => {
                limit = super::args::int(raw)
                    .ok()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or(CmdError::msg("ERR LIMIT can't be negative"))?;
                opts = tail;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let mut db = ctx.db();
    check_sets(&mut db, keys, false)?;
    let sets = sets_of(db.raw(), keys);
    Ok(Reply::from(intersection(&sets, limit).len()))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`: `[next-cursor, [member, ...]]`.
/// An intset-sized set is returned whole with cursor 0, as Redis does.
fn sscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut opt_args = args;
    check_cursor(args.next_bytes()?)?;
    if ctx.db().read_set(key)?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let o = scan_opts(&mut opt_args, false)?;
    let db = ctx.db();
    let Some(Value::Set(s)) = db.peek(key).map(|e| &e.value) else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (batch, next) = s.scan(o.cursor, o.count);
    let items = batch
        .into_iter()
        .filter(|m| o.pattern.is_none_or(|p| glob::matches(p, m)))
        .map(Reply::bulk)
        .collect();
    Ok(scan_reply(next, items))
}
