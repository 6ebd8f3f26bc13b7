//! Hash commands: HSET and friends, counters, HRANDFIELD, HSCAN.

use super::args::is;
use super::keys::{scan_opts, scan_reply};
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Protocol, Reply};
use crate::keyspace::hash::HashError;
use crate::keyspace::{NotifyFlags, Value, glob};

const R: Flags = Flags::READONLY;
const RF: Flags = R.union(Flags::FAST);
const WF: Flags = Flags::WRITE.union(Flags::FAST);
const WDF: Flags = Flags::WRITE.union(Flags::DENYOOM).union(Flags::FAST);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WDF, hset)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Set the string value of a hash field"),
    CommandSpec::new("hsetnx", 4, WDF, hsetnx)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Set the value of a hash field, only if the field does not exist"),
    CommandSpec::new("hmset", -4, WDF, hmset)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Set multiple hash fields to multiple values"),
    CommandSpec::new("hget", 3, RF, hget)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get the value of a hash field"),
    CommandSpec::new("hmget", -3, RF, hmget)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get the values of all the given hash fields"),
    CommandSpec::new("hdel", -3, WF, hdel)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Delete one or more hash fields"),
    CommandSpec::new("hexists", 3, RF, hexists)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Determine if a hash field exists"),
    CommandSpec::new("hlen", 2, RF, hlen)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get the number of fields in a hash"),
    CommandSpec::new("hstrlen", 3, RF, hstrlen)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get the length of the value of a hash field"),
    CommandSpec::new("hkeys", 2, R, hkeys)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get all the fields in a hash"),
    CommandSpec::new("hvals", 2, R, hvals)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get all the values in a hash"),
    CommandSpec::new("hgetall", 2, R, hgetall)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get all the fields and values in a hash"),
    CommandSpec::new("hincrby", 4, WDF, hincrby)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Increment the integer value of a hash field by the given number"),
    CommandSpec::new("hincrbyfloat", 4, WDF, hincrbyfloat)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Increment the float value of a hash field by the given amount"),
    CommandSpec::new("hrandfield", -2, R, hrandfield)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Get one or multiple random fields from a hash"),
    CommandSpec::new("hscan", -3, R, hscan)
        .keys(1, 1, 1)
        .group("hash")
        .summary("Incrementally iterate hash fields and associated values"),
];

fn hash_err(e: HashError) -> CmdError {
    CmdError::owned(e.to_string())
}

/// Sets every field/value pair of HSET and HMSET; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx<'_>, mut args: Args<'_>, cmd: &str) -> Result<usize, CmdError> {
    let key = args.next_bytes()?;
    let pairs = args.rest();
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Arity(cmd.into()));
    }
    let mut db = ctx.db();
    let t = db.thresholds;
    let h = db.hash_or_create(key)?;
    let created = pairs
        .chunks_exact(2)
        .filter(|kv| h.insert(kv[0], kv[1], &t))
        .count();
    db.notify(NotifyFlags::HASH, "hset", key);
    ctx.dirty(pairs.len() as u64 / 2);
    Ok(created)
}

/// `HSET key field value [field value ...]`: the number of new fields.
fn hset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::from(set_pairs(ctx, args, "hset")?))
}

/// `HMSET key field value [field value ...]`: `OK`.
fn hmset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::Ok)
}

/// `HSETNX key field value`: 1 if the field was set, 0 if it existed.
fn hsetnx(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let value = args.next_bytes()?;
    let mut db = ctx.db();
    if db.write_hash(key)?.is_some_and(|h| h.contains(field)) {
        return Ok(Reply::Int(0));
    }
    let t = db.thresholds;
    db.hash_or_create(key)?.insert(field, value, &t);
    db.notify(NotifyFlags::HASH, "hset", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `HGET key field`: the value, or nil.
fn hget(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    Ok(Reply::bulk_or_null(
        ctx.db().read_hash(key)?.and_then(|h| h.get(field)),
    ))
}

/// `HMGET key field [field ...]`: the values, nil for missing fields.
fn hmget(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let h = db.read_hash(key)?;
    Ok(Reply::Array(
        args.rest()
            .iter()
            .map(|f| Reply::bulk_or_null(h.and_then(|h| h.get(f))))
            .collect(),
    ))
}

/// `HDEL key field [field ...]`: the number of fields removed; the key goes when emptied.
fn hdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let Some(h) = db.write_hash(key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    for f in args.rest() {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        db.notify(NotifyFlags::HASH, "hdel", key);
        db.remove_if_empty(key);
    }
    ctx.dirty(deleted);
    Ok(Reply::Int(deleted as i64))
}

/// `HEXISTS key field`: 1 or 0.
fn hexists(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    Ok(Reply::from(
        ctx.db().read_hash(key)?.is_some_and(|h| h.contains(field)),
    ))
}

/// `HLEN key`: the number of fields.
fn hlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::from(ctx.db().read_hash(key)?.map_or(0, |h| h.len())))
}

/// `HSTRLEN key field`: the length of the value, 0 if missing.
fn hstrlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    Ok(Reply::from(
        ctx.db()
            .read_hash(key)?
            .and_then(|h| h.get(field))
            .map_or(0, <[u8]>::len),
    ))
}

/// `HKEYS key`: every field.
fn hkeys(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let h = db.read_hash(key)?;
    Ok(Reply::bulks(
        h.into_iter().flat_map(|h| h.iter().map(|(f, _)| f)),
    ))
}

/// `HVALS key`: every value.
fn hvals(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let h = db.read_hash(key)?;
    Ok(Reply::bulks(
        h.into_iter().flat_map(|h| h.iter().map(|(_, v)| v)),
    ))
}

/// `HGETALL key`: every field and value (a map in RESP3).
fn hgetall(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let h = db.read_hash(key)?;
    Ok(Reply::Map(
        h.into_iter()
            .flat_map(|h| h.iter())
            .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
            .collect(),
    ))
}

/// `HINCRBY key field increment`: the new value.
fn hincrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let by = args.next_i64()?;
    let mut db = ctx.db();
    let t = db.thresholds;
    let new = db
        .hash_or_create(key)?
        .incr_by(field, by, &t)
        .map_err(hash_err)?;
    db.notify(NotifyFlags::HASH, "hincrby", key);
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

/// `HINCRBYFLOAT key field increment`: the new value as a bulk string.
fn hincrbyfloat(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let by = args.next_f64()?;
    if !by.is_finite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let mut db = ctx.db();
    let t = db.thresholds;
    let text = db
        .hash_or_create(key)?
        .incr_by_float(field, by, &t)
        .map_err(hash_err)?;
    db.notify(NotifyFlags::HASH, "hincrbyfloat", key);
    ctx.dirty(1);
    Ok(Reply::bulk(text))
}

/// Parses the count of HRANDFIELD / SRANDMEMBER: an integer other than `i64::MIN`.
pub(super) fn rand_count(raw: &[u8]) -> Result<i64, CmdError> {
    let n = super::args::int(raw)?;
    if n == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// `HRANDFIELD key [count [WITHVALUES]]`: one random field (nil if missing), or `count`
/// distinct fields (repeats allowed for a negative count), optionally with values.
fn hrandfield(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(raw) = args.next_opt() else {
        let mut db = ctx.db();
        let Some(h) = db.read_hash(key)? else {
            return Ok(Reply::Null);
        };
        let slot = h.random_slots(1, false).first().copied();
        return Ok(Reply::bulk_or_null(
            slot.and_then(|i| h.entry_at(i)).map(|(f, _)| f),
        ));
    };
    let n = rand_count(raw)?;
    let withvalues = match args.rest() {
        [] => false,
        [w] if is(w, "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let resp3 = ctx.client.protocol == Protocol::Resp3;
    let mut db = ctx.db();
    let Some(h) = db.read_hash(key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
    let slots = h.random_slots(count, n > 0);
    let entries = slots.into_iter().filter_map(|i| h.entry_at(i));
    Ok(Reply::Array(if !withvalues {
        entries.map(|(f, _)| Reply::bulk(f)).collect()
    } else if resp3 {
        entries
            .map(|(f, v)| Reply::Array(vec![Reply::bulk(f), Reply::bulk(v)]))
            .collect()
    } else {
        entries
            .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
            .collect()
    }))
}

/// Checks a SCAN-family cursor the way Redis does before looking the key up.
pub(super) fn check_cursor(raw: &[u8]) -> Result<(), CmdError> {
    super::keys::parse_cursor(raw)
        .map(|_| ())
        .ok_or(CmdError::msg("ERR invalid cursor"))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`: `[next-cursor, [field, value, ...]]`.
/// A listpack-sized hash is returned whole with cursor 0, as Redis does.
fn hscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut opt_args = args;
    check_cursor(args.next_bytes()?)?;
    if ctx.db().read_hash(key)?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let o = scan_opts(&mut opt_args, false)?;
    let db = ctx.db();
    let Some(Value::Hash(h)) = db.peek(key).map(|e| &e.value) else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (batch, next) = h.scan(o.cursor, o.count);
    let items = batch
        .into_iter()
        .filter(|(f, _)| o.pattern.is_none_or(|p| glob::matches(p, f)))
        .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
        .collect();
    Ok(scan_reply(next, items))
}
