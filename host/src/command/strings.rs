//! String commands: GET, SET and its variants, counters, ranges, LCS.

use super::args::{self, is};
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::string::{MAX_STRING_LEN, StrValue, format_f64_human, parse_f64};
use crate::keyspace::{NotifyFlags, Value};

const W: Flags = Flags::WRITE;
const R: Flags = Flags::READONLY;
const WD: Flags = Flags::WRITE.union(Flags::DENYOOM);
const WDF: Flags = WD.union(Flags::FAST);
const RF: Flags = R.union(Flags::FAST);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, RF, get)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get the value of a key"),
    CommandSpec::new("set", -3, WD, set)
        .keys(1, 1, 1)
        .group("string")
        .summary("Set the string value of a key"),
    CommandSpec::new("setnx", 3, WDF, setnx)
        .keys(1, 1, 1)
        .group("string")
        .summary("Set the value of a key, only if the key does not exist"),
    CommandSpec::new("setex", 4, WD, setex)
        .keys(1, 1, 1)
        .group("string")
        .summary("Set the value and expiration of a key"),
    CommandSpec::new("psetex", 4, WD, psetex)
        .keys(1, 1, 1)
        .group("string")
        .summary("Set the value and expiration in milliseconds of a key"),
    CommandSpec::new("getex", -2, WF, getex)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get the value of a key and optionally set its expiration"),
    CommandSpec::new("getdel", 2, WF, getdel)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get the value of a key and delete the key"),
    CommandSpec::new("getset", 3, WDF, getset)
        .keys(1, 1, 1)
        .group("string")
        .summary("Set the string value of a key and return its old value"),
    CommandSpec::new("mget", -2, RF, mget)
        .keys(1, -1, 1)
        .group("string")
        .summary("Get the values of all the given keys"),
    CommandSpec::new("mset", -3, WD, mset)
        .keys(1, -1, 2)
        .group("string")
        .summary("Set multiple keys to multiple values"),
    CommandSpec::new("msetnx", -3, WD, msetnx)
        .keys(1, -1, 2)
        .group("string")
        .summary("Set multiple keys to multiple values, only if none of the keys exist"),
    CommandSpec::new("incr", 2, WDF, incr)
        .keys(1, 1, 1)
        .group("string")
        .summary("Increment the integer value of a key by one"),
    CommandSpec::new("decr", 2, WDF, decr)
        .keys(1, 1, 1)
        .group("string")
        .summary("Decrement the integer value of a key by one"),
    CommandSpec::new("incrby", 3, WDF, incrby)
        .keys(1, 1, 1)
        .group("string")
        .summary("Increment the integer value of a key by the given amount"),
    CommandSpec::new("decrby", 3, WDF, decrby)
        .keys(1, 1, 1)
        .group("string")
        .summary("Decrement the integer value of a key by the given number"),
    CommandSpec::new("incrbyfloat", 3, WDF, incrbyfloat)
        .keys(1, 1, 1)
        .group("string")
        .summary("Increment the float value of a key by the given amount"),
    CommandSpec::new("append", 3, WDF, append)
        .keys(1, 1, 1)
        .group("string")
        .summary("Append a value to a key"),
    CommandSpec::new("strlen", 2, RF, strlen)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get the length of the value stored in a key"),
    CommandSpec::new("getrange", 4, R, getrange)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get a substring of the string stored at a key"),
    CommandSpec::new("substr", 4, R, getrange)
        .keys(1, 1, 1)
        .group("string")
        .summary("Get a substring of the string stored at a key"),
    CommandSpec::new("setrange", 4, WD, setrange)
        .keys(1, 1, 1)
        .group("string")
        .summary("Overwrite part of a string at key starting at the specified offset"),
    CommandSpec::new("lcs", -3, R, lcs)
        .keys(1, 2, 1)
        .group("string")
        .summary("Find longest common substring"),
];

const WF: Flags = W.union(Flags::FAST);

/// Expiry options shared by SET and GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    None,
    /// Absolute Unix milliseconds.
    At(i64),
    KeepTtl,
    Persist,
}

/// Parses the number after EX/PX/EXAT/PXAT into absolute milliseconds, with Redis's checks.
fn expire_at(
    ctx_now: i64,
    raw: &[u8],
    unit_secs: bool,
    absolute: bool,
    cmd: &str,
) -> Result<i64, CmdError> {
    let invalid = || CmdError::owned(format!("ERR invalid expire time in '{cmd}' command"));
    let n = args::int(raw)?;
    if n <= 0 || (unit_secs && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if unit_secs { n * 1000 } else { n };
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(ctx_now).ok_or_else(invalid)
    }
}

/// `GET key`: the string at `key`, or nil; `WRONGTYPE` for other types.
fn get(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(match ctx.db().read_str(key)? {
        Some(v) => str_reply(v),
        None => Reply::Null,
    })
}

fn str_reply(v: &StrValue) -> Reply {
    match v {
        StrValue::Int(n) => Reply::bulk_int(*n),
        StrValue::Bytes { data, .. } => Reply::bulk(data),
    }
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]`.
fn set(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let (mut nx, mut xx, mut want_get) = (false, false, false);
    let mut expiry = Expiry::None;
    let now = ctx.store.ks.now_ms();
    while let Some(opt) = args.next_opt() {
        let time_opt = |u: &str| is(opt, u);
        if is(opt, "NX") && !xx {
            nx = true;
        } else if is(opt, "XX") && !nx {
            xx = true;
        } else if is(opt, "GET") {
            want_get = true;
        } else if is(opt, "KEEPTTL") && expiry == Expiry::None {
            expiry = Expiry::KeepTtl;
        } else if (time_opt("EX") || time_opt("PX") || time_opt("EXAT") || time_opt("PXAT"))
            && expiry == Expiry::None
        {
            let raw = args.next_bytes()?;
            let secs = is(opt, "EX") || is(opt, "EXAT");
            let abs = is(opt, "EXAT") || is(opt, "PXAT");
            expiry = Expiry::At(expire_at(now, raw, secs, abs, "set")?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let old = if want_get {
        match db.read_str(key)? {
            Some(v) => Some(str_reply(v)),
            None => Some(Reply::Null),
        }
    } else {
        None
    };
    let exists = db.exists(key);
    if (nx && exists) || (xx && !exists) {
        return Ok(old.unwrap_or(Reply::Null));
    }
    db.set(
        key,
        Value::Str(StrValue::from_bytes(value)),
        expiry == Expiry::KeepTtl,
    );
    db.emit(NotifyFlags::STRING, "set", key);
    if let Expiry::At(at) = expiry {
        db.set_expire(key, at);
        db.emit(NotifyFlags::GENERIC, "expire", key);
    }
    ctx.dirty(1);
    Ok(old.unwrap_or(Reply::Ok))
}

/// `SETNX key value`: 1 if set, 0 if the key existed.
fn setnx(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let mut db = ctx.db();
    if db.exists(key) {
        return Ok(Reply::Int(0));
    }
    db.set(key, Value::Str(StrValue::from_bytes(value)), false);
    db.emit(NotifyFlags::STRING, "set", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

fn set_with_expire(ctx: &mut Ctx<'_>, mut args: Args<'_>, secs: bool, cmd: &str) -> CmdResult {
    let key = args.next_bytes()?;
    let raw = args.next_bytes()?;
    let value = args.next_bytes()?;
    let at = expire_at(ctx.store.ks.now_ms(), raw, secs, false, cmd)?;
    let mut db = ctx.db();
    db.set(key, Value::Str(StrValue::from_bytes(value)), false);
    db.emit(NotifyFlags::STRING, "set", key);
    db.set_expire(key, at);
    db.emit(NotifyFlags::GENERIC, "expire", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// `SETEX key seconds value`.
fn setex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_with_expire(ctx, args, true, "setex")
}

/// `PSETEX key milliseconds value`.
fn psetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_with_expire(ctx, args, false, "psetex")
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]`.
fn getex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let now = ctx.store.ks.now_ms();
    let mut expiry = Expiry::None;
    while let Some(opt) = args.next_opt() {
        if expiry != Expiry::None {
            return Err(CmdError::Syntax);
        }
        if is(opt, "PERSIST") {
            expiry = Expiry::Persist;
        } else if is(opt, "EX") || is(opt, "PX") || is(opt, "EXAT") || is(opt, "PXAT") {
            let raw = args.next_bytes()?;
            let secs = is(opt, "EX") || is(opt, "EXAT");
            let abs = is(opt, "EXAT") || is(opt, "PXAT");
            expiry = Expiry::At(expire_at(now, raw, secs, abs, "getex")?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let reply = match db.read_str(key)? {
        Some(v) => str_reply(v),
        None => return Ok(Reply::Null),
    };
    match expiry {
        Expiry::At(at) if at <= now => {
            db.remove(key);
            db.emit(NotifyFlags::GENERIC, "del", key);
            ctx.dirty(1);
        }
        Expiry::At(at) => {
            db.set_expire(key, at);
            db.notify(NotifyFlags::GENERIC, "expire", key);
            ctx.dirty(1);
        }
        Expiry::Persist => {
            if db.persist(key) {
                db.notify(NotifyFlags::GENERIC, "persist", key);
                ctx.dirty(1);
            }
        }
        Expiry::None | Expiry::KeepTtl => {}
    }
    Ok(reply)
}

/// `GETDEL key`: the value, then the key is deleted.
fn getdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    let reply = match db.read_str(key)? {
        Some(v) => str_reply(v),
        None => return Ok(Reply::Null),
    };
    db.remove(key);
    db.emit(NotifyFlags::GENERIC, "del", key);
    ctx.dirty(1);
    Ok(reply)
}

/// `GETSET key value`: sets and returns the old value.
fn getset(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let mut db = ctx.db();
    let old = match db.read_str(key)? {
        Some(v) => str_reply(v),
        None => Reply::Null,
    };
    db.set(key, Value::Str(StrValue::from_bytes(value)), false);
    db.emit(NotifyFlags::STRING, "set", key);
    ctx.dirty(1);
    Ok(old)
}

/// `MGET key [key ...]`: nil for missing keys and non-strings.
fn mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut db = ctx.db();
    let out = args
        .rest()
        .iter()
        .map(|k| match db.read(k) {
            Some(Value::Str(v)) => str_reply(v),
            _ => Reply::Null,
        })
        .collect();
    Ok(Reply::Array(out))
}

fn pairs_or_arity<'a>(args: &Args<'a>, cmd: &str) -> Result<&'a [&'a [u8]], CmdError> {
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Arity(cmd.into()));
    }
    Ok(rest)
}

/// `MSET key value [key value ...]`.
fn mset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let rest = pairs_or_arity(&args, "mset")?;
    let mut db = ctx.db();
    for kv in rest.chunks_exact(2) {
        db.set(kv[0], Value::Str(StrValue::from_bytes(kv[1])), false);
        db.emit(NotifyFlags::STRING, "set", kv[0]);
    }
    ctx.dirty(rest.len() as u64 / 2);
    Ok(Reply::Ok)
}

/// `MSETNX key value [key value ...]`: 1 if all were set, 0 (and nothing set) if any existed.
fn msetnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let rest = pairs_or_arity(&args, "msetnx")?;
    let mut db = ctx.db();
    if rest.chunks_exact(2).any(|kv| db.exists(kv[0])) {
        return Ok(Reply::Int(0));
    }
    for kv in rest.chunks_exact(2) {
        db.set(kv[0], Value::Str(StrValue::from_bytes(kv[1])), false);
        db.emit(NotifyFlags::STRING, "set", kv[0]);
    }
    ctx.dirty(rest.len() as u64 / 2);
    Ok(Reply::Int(1))
}

/// Adds `by` to the integer at `key` (created as 0), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    let mut db = ctx.db();
    let current = match db.read_str(key)? {
        Some(v) => v.as_i64().ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let new = current.checked_add(by).ok_or(CmdError::Overflow)?;
    match db.write_str(key)? {
        Some(v) => *v = StrValue::Int(new),
        None => {
            db.set(key, Value::Str(StrValue::Int(new)), false);
        }
    }
    db.notify(NotifyFlags::STRING, "incrby", key);
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

/// `INCR key`.
fn incr(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    incr_by(ctx, key, 1)
}

/// `DECR key`.
fn decr(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    incr_by(ctx, key, -1)
}

/// `INCRBY key increment`.
fn incrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_i64()?;
    incr_by(ctx, key, by)
}

/// `DECRBY key decrement`.
fn decrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_i64()?;
    if by == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_by(ctx, key, -by)
}

/// `INCRBYFLOAT key increment`: the new value as a bulk string.
fn incrbyfloat(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_f64()?;
    let mut db = ctx.db();
    let current = match db.read_str(key)? {
        Some(v) => parse_f64(&v.as_bytes()).ok_or(CmdError::NotFloat)?,
        None => 0.0,
    };
    let new = current + by;
    if new.is_nan() || new.is_infinite() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    let text = format_f64_human(new);
    match db.write_str(key)? {
        Some(v) => *v = StrValue::from_bytes(text.as_bytes()),
        None => {
            db.set(
                key,
                Value::Str(StrValue::from_bytes(text.as_bytes())),
                false,
            );
        }
    }
    db.notify(NotifyFlags::STRING, "incrbyfloat", key);
    ctx.dirty(1);
    Ok(Reply::bulk(text))
}

fn check_size(len: usize, ctx: &Ctx<'_>) -> Result<(), CmdError> {
    let max =
        usize::try_from(ctx.store.config.get_i64("proto-max-bulk-len")).unwrap_or(MAX_STRING_LEN);
    if len > max {
        return Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// `APPEND key value`: the new length.
fn append(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let current = ctx.db().read_str(key)?.map_or(0, StrValue::len);
    check_size(current + value.len(), ctx)?;
    let mut db = ctx.db();
    let len = match db.write_str(key)? {
        Some(v) => {
            let data = v.make_raw();
            data.extend_from_slice(value);
            data.len()
        }
        None => {
            db.set(key, Value::Str(StrValue::from_bytes(value)), false);
            value.len()
        }
    };
    db.notify(NotifyFlags::STRING, "append", key);
    ctx.dirty(1);
    Ok(Reply::from(len))
}

/// `STRLEN key`.
fn strlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::from(
        ctx.db().read_str(key)?.map_or(0, StrValue::len),
    ))
}

/// Resolves Redis's inclusive, possibly negative `start..=end` over `len`; `None` if empty.
pub(super) fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if e < 0 {
        e = 0;
    }
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return None;
    }
    Some((s as usize, e as usize))
}

/// `GETRANGE key start end` (also `SUBSTR`).
fn getrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let mut db = ctx.db();
    let Some(v) = db.read_str(key)? else {
        return Ok(Reply::bulk(""));
    };
    let bytes = v.as_bytes();
    // Redis: a negative start beyond a negative end is empty before clamping.
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(""));
    }
    Ok(match clamp_range(start, end, bytes.len()) {
        Some((s, e)) => Reply::bulk(&bytes[s..=e]),
        None => Reply::bulk(""),
    })
}

/// `SETRANGE key offset value`: the new length.
fn setrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let offset = args.next_i64()?;
    let value = args.next_bytes()?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let current = ctx.db().read_str(key)?.map(StrValue::len);
    if value.is_empty() {
        return Ok(Reply::from(current.unwrap_or(0)));
    }
    check_size(offset.saturating_add(value.len()), ctx)?;
    let mut db = ctx.db();
    if current.is_none() {
        db.set(
            key,
            Value::Str(StrValue::Bytes {
                data: Vec::new(),
                raw: true,
            }),
            false,
        );
    }
    let Some(v) = db.write_str(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let data = v.make_raw();
    if data.len() < offset + value.len() {
        data.resize(offset + value.len(), 0);
    }
    data[offset..offset + value.len()].copy_from_slice(value);
    let len = data.len();
    db.notify(NotifyFlags::STRING, "setrange", key);
    ctx.dirty(1);
    Ok(Reply::from(len))
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`.
fn lcs(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let k1 = args.next_bytes()?;
    let k2 = args.next_bytes()?;
    let (mut want_len, mut want_idx, mut with_len) = (false, false, false);
    let mut min_len: i64 = 0;
    while let Some(opt) = args.next_opt() {
        if is(opt, "LEN") {
            want_len = true;
        } else if is(opt, "IDX") {
            want_idx = true;
        } else if is(opt, "WITHMATCHLEN") {
            with_len = true;
        } else if is(opt, "MINMATCHLEN") {
            min_len = args.next_i64()?.max(0);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if want_len && want_idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let mut db = ctx.db();
    let mut fetch = |k: &[u8]| -> Result<Vec<u8>, CmdError> {
        match db.read(k) {
            None => Ok(Vec::new()),
            Some(Value::Str(v)) => Ok(v.as_bytes().into_owned()),
            Some(_) => Err(CmdError::msg(
                "ERR The specified keys must contain string values",
            )),
        }
    };
    let a = fetch(k1)?;
    let b = fetch(k2)?;
    let cells = (a.len() + 1).saturating_mul(b.len() + 1);
    if cells.saturating_mul(4) > ctx.store.config.get_i64("proto-max-bulk-len").max(0) as usize {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // Dynamic programming table of LCS lengths of prefixes, as Redis computes it.
    let w = b.len() + 1;
    let mut dp = vec![0u32; cells];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            dp[i * w + j] = if a[i - 1] == b[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[a.len() * w + b.len()] as usize;
    if want_len {
        return Ok(Reply::from(total));
    }
    // Walk back from the end, collecting the LCS and, for IDX, the matching ranges.
    let mut out = vec![0u8; total];
    let mut idx = total;
    let (mut i, mut j) = (a.len(), b.len());
    let mut matches = Vec::new();
    let mut cur: Option<((usize, usize), (usize, usize))> = None;
    let push = |m: ((usize, usize), (usize, usize)), v: &mut Vec<Reply>| {
        let len = m.0.1 - m.0.0 + 1;
        if len as i64 >= min_len {
            let mut item = vec![
                Reply::Array(vec![Reply::from(m.0.0), Reply::from(m.0.1)]),
                Reply::Array(vec![Reply::from(m.1.0), Reply::from(m.1.1)]),
            ];
            if with_len {
                item.push(Reply::from(len));
            }
            v.push(Reply::Array(item));
        }
    };
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            idx -= 1;
            out[idx] = a[i - 1];
            let (ai, bj) = (i - 1, j - 1);
            cur = match cur {
                Some(((as_, ae), (bs, be))) if as_ == ai + 1 && bs == bj + 1 => {
                    Some(((ai, ae), (bj, be)))
                }
                Some(m) => {
                    push(m, &mut matches);
                    Some(((ai, ai), (bj, bj)))
                }
                None => Some(((ai, ai), (bj, bj))),
            };
            i -= 1;
            j -= 1;
        } else if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some(m) = cur {
        push(m, &mut matches);
    }
    if want_idx {
        return Ok(Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(matches)),
            (Reply::bulk("len"), Reply::from(total)),
        ]));
    }
    Ok(Reply::bulk_vec(out))
}

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(clamp_range(3, 100, 5), Some((3, 4)));
        assert_eq!(clamp_range(4, 2, 5), None);
        assert_eq!(clamp_range(0, 0, 0), None);
        assert_eq!(clamp_range(-100, 1, 5), Some((0, 1)));
    }
}
