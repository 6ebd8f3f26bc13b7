//! Generic key commands: DEL, EXISTS, TYPE, expiry, RENAME, COPY, MOVE, KEYS, SCAN, RANDOMKEY,
//! TOUCH, OBJECT.

use super::args::{self, is};
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::db::scan_slots;
use crate::keyspace::{NotifyFlags, ValueType, glob};

const W: Flags = Flags::WRITE;
const WF: Flags = W.union(Flags::FAST);
const R: Flags = Flags::READONLY;
const RF: Flags = R.union(Flags::FAST);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, W, del)
        .keys(1, -1, 1)
        .summary("Delete a key"),
    CommandSpec::new("unlink", -2, WF, del)
        .keys(1, -1, 1)
        .summary("Delete a key asynchronously in another thread"),
    CommandSpec::new("exists", -2, RF, exists)
        .keys(1, -1, 1)
        .summary("Determine if a key exists"),
    CommandSpec::new("type", 2, RF, type_)
        .keys(1, 1, 1)
        .summary("Determine the type stored at key"),
    CommandSpec::new("expire", -3, WF, expire)
        .keys(1, 1, 1)
        .summary("Set a key's time to live in seconds"),
    CommandSpec::new("pexpire", -3, WF, pexpire)
        .keys(1, 1, 1)
        .summary("Set a key's time to live in milliseconds"),
    CommandSpec::new("expireat", -3, WF, expireat)
        .keys(1, 1, 1)
        .summary("Set the expiration for a key as a UNIX timestamp"),
    CommandSpec::new("pexpireat", -3, WF, pexpireat)
        .keys(1, 1, 1)
        .summary("Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    CommandSpec::new("ttl", 2, RF, ttl)
        .keys(1, 1, 1)
        .summary("Get the time to live for a key in seconds"),
    CommandSpec::new("pttl", 2, RF, pttl)
        .keys(1, 1, 1)
        .summary("Get the time to live for a key in milliseconds"),
    CommandSpec::new("expiretime", 2, RF, expiretime)
        .keys(1, 1, 1)
        .summary("Get the expiration Unix timestamp for a key"),
    CommandSpec::new("pexpiretime", 2, RF, pexpiretime)
        .keys(1, 1, 1)
        .summary("Get the expiration Unix timestamp for a key in milliseconds"),
    CommandSpec::new("persist", 2, WF, persist)
        .keys(1, 1, 1)
        .summary("Remove the expiration from a key"),
    CommandSpec::new("rename", 3, W, rename)
        .keys(1, 2, 1)
        .summary("Rename a key"),
    CommandSpec::new("renamenx", 3, WF, renamenx)
        .keys(1, 2, 1)
        .summary("Rename a key, only if the new key does not exist"),
    CommandSpec::new("copy", -3, W.union(Flags::DENYOOM), copy)
        .keys(1, 2, 1)
        .summary("Copy a key"),
    CommandSpec::new("move", 3, WF, move_)
        .keys(1, 1, 1)
        .summary("Move a key to another database"),
    CommandSpec::new("keys", 2, R.union(Flags::SORT_FOR_SCRIPT), keys)
        .summary("Find all keys matching the given pattern"),
    CommandSpec::new("scan", -2, R, scan).summary("Incrementally iterate the keys space"),
    CommandSpec::new("randomkey", 1, R, randomkey).summary("Return a random key from the keyspace"),
    CommandSpec::new("touch", -2, RF, touch)
        .keys(1, -1, 1)
        .summary("Alters the last access time of a key(s)"),
    CommandSpec::container("object", -2, Flags::empty(), OBJECT_SUBCOMMANDS)
        .summary("A container for object introspection commands"),
];

const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("encoding", 3, R, object_encoding).keys(2, 2, 1),
    CommandSpec::new("refcount", 3, R, object_refcount).keys(2, 2, 1),
    CommandSpec::new("idletime", 3, R, object_idletime).keys(2, 2, 1),
    CommandSpec::new("freq", 3, R, object_freq).keys(2, 2, 1),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), object_help),
];

/// `DEL key [key ...]` (also `UNLINK`): the number of keys removed.
fn del(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut db = ctx.db();
    let mut n = 0;
    for key in args.rest() {
        if db.remove(key).is_some() {
            db.emit(NotifyFlags::GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.dirty(n);
    Ok(Reply::Int(n as i64))
}

/// `EXISTS key [key ...]`: how many of the keys exist (repeats counted).
fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut db = ctx.db();
    Ok(Reply::Int(
        args.rest().iter().filter(|k| db.exists(k)).count() as i64,
    ))
}

/// `TYPE key`: `string`, `list`, ... or `none`.
fn type_(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let name = ctx
        .db()
        .lookup(key)
        .map_or("none", |e| e.value.value_type().as_str());
    Ok(Reply::simple(name))
}

/// Conditions of EXPIRE and friends.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    secs: bool,
    absolute: bool,
    cmd: &str,
) -> CmdResult {
    let key = args.next_bytes()?;
    let mut when = args.next_i64()?;
    let mut f = ExpireFlags::default();
    while let Some(opt) = args.next_opt() {
        if is(opt, "NX") {
            f.nx = true;
        } else if is(opt, "XX") {
            f.xx = true;
        } else if is(opt, "GT") {
            f.gt = true;
        } else if is(opt, "LT") {
            f.lt = true;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || CmdError::owned(format!("ERR invalid expire time in '{cmd}' command"));
    if secs {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let now = ctx.store.ks.now_ms();
    if !absolute {
        when = when.checked_add(now).ok_or_else(invalid)?;
    }
    let mut db = ctx.db();
    let Some(current) = db.expire_of(key) else {
        return Ok(Reply::Int(0));
    };
    // A key without TTL counts as an infinite TTL for GT and LT.
    let ok = match current {
        None => !(f.xx || f.gt),
        Some(cur) => !f.nx && (!f.gt || when > cur) && (!f.lt || when < cur),
    };
    if !ok {
        return Ok(Reply::Int(0));
    }
    if when <= now {
        db.remove(key);
        db.emit(NotifyFlags::GENERIC, "del", key);
    } else {
        db.set_expire(key, when);
        db.notify(NotifyFlags::GENERIC, "expire", key);
    }
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`.
fn expire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, true, false, "expire")
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]`.
fn pexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpire")
}

/// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`.
fn expireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, true, true, "expireat")
}

/// `PEXPIREAT key unix-ms [NX|XX|GT|LT]`.
fn pexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, false, true, "pexpireat")
}

/// TTL-style answers: -2 missing, -1 no TTL, else `f(expire_ms, now_ms)`.
fn ttl_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, f: fn(i64, i64) -> i64) -> CmdResult {
    let key = args.next_bytes()?;
    let now = ctx.store.ks.now_ms();
    Ok(Reply::Int(match ctx.db().expire_of(key) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => f(at, now),
    }))
}

/// `TTL key`: seconds left, rounded.
fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, |at, now| ((at - now).max(0) + 500) / 1000)
}

/// `PTTL key`: milliseconds left.
fn pttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, |at, now| (at - now).max(0))
}

/// `EXPIRETIME key`: absolute Unix seconds.
fn expiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, |at, _| at / 1000)
}

/// `PEXPIRETIME key`: absolute Unix milliseconds.
fn pexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, |at, _| at)
}

/// `PERSIST key`: 1 if a TTL was removed.
fn persist(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let mut db = ctx.db();
    if db.lookup(key).is_none() || !db.persist(key) {
        return Ok(Reply::Int(0));
    }
    db.notify(NotifyFlags::GENERIC, "persist", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

fn rename_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, nx: bool) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let mut db = ctx.db();
    if db.lookup(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    if nx && db.exists(dst) {
        return Ok(Reply::Int(0));
    }
    let Some(entry) = db.raw_mut().raw_remove(src) else {
        return Err(CmdError::NoSuchKey);
    };
    db.touch(src);
    if db.remove(dst).is_some() {
        // Redis deletes the destination silently (no `del` event) before renaming.
    }
    let expire = entry.expire;
    db.set(dst, entry.value, false);
    if let Some(at) = expire {
        db.set_expire(dst, at);
    }
    db.emit(NotifyFlags::GENERIC, "rename_from", src);
    db.emit(NotifyFlags::GENERIC, "rename_to", dst);
    ctx.dirty(1);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

/// `RENAME key newkey`.
fn rename(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, false)
}

/// `RENAMENX key newkey`: 1 if renamed, 0 if `newkey` exists.
fn renamenx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// Parses a database index argument.
pub(super) fn db_index(ctx: &Ctx<'_>, a: &[u8]) -> Result<usize, CmdError> {
    let n = args::int(a)?;
    let limit = ctx.store.ks.num_dbs() as i64;
    if n < 0 || n >= limit {
        return Err(CmdError::DbIndex);
    }
    Ok(n as usize)
}

/// `COPY source destination [DB destination-db] [REPLACE]`: 1 if copied.
fn copy(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    while let Some(opt) = args.next_opt() {
        if is(opt, "REPLACE") {
            replace = true;
        } else if is(opt, "DB") {
            let a = args.next_bytes()?;
            dst_db = db_index(ctx, a)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let src_db = ctx.client.db;
    if src == dst && src_db == dst_db {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(entry) = ctx.db().lookup(src).map(|e| e.clone()) else {
        return Ok(Reply::Int(0));
    };
    let mut db = ctx.store.ks.db(dst_db);
    if db.exists(dst) {
        if !replace {
            return Ok(Reply::Int(0));
        }
        db.remove(dst);
    }
    db.set(dst, entry.value, false);
    if let Some(at) = entry.expire {
        db.set_expire(dst, at);
    }
    db.emit(NotifyFlags::GENERIC, "copy_to", dst);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `MOVE key db`: 1 if moved, 0 if missing or present in the target.
fn move_(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let target = db_index(ctx, args.next_bytes()?)?;
    let src = ctx.client.db;
    if target == src {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    if !ctx.db().exists(key) {
        return Ok(Reply::Int(0));
    }
    if ctx.store.ks.db(target).exists(key) {
        return Ok(Reply::Int(0));
    }
    let Some(entry) = ctx.db().raw_mut().raw_remove(key) else {
        return Ok(Reply::Int(0));
    };
    ctx.db().touch(key);
    ctx.db().emit(NotifyFlags::GENERIC, "move_from", key);
    let mut dst = ctx.store.ks.db(target);
    let expire = entry.expire;
    dst.set(key, entry.value, false);
    if let Some(at) = expire {
        dst.set_expire(key, at);
    }
    dst.emit(NotifyFlags::GENERIC, "move_to", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `KEYS pattern`: every live key matching the glob.
fn keys(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let pattern = args.next_bytes()?;
    let db = ctx.db();
    let now = db.now();
    let all = pattern == b"*";
    let out = db
        .raw()
        .raw_iter()
        .filter(|(k, e)| e.expire.is_none_or(|t| t > now) && (all || glob::matches(pattern, k)))
        .map(|(k, _)| Reply::bulk(k))
        .collect();
    Ok(Reply::Array(out))
}

/// Options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub(super) struct ScanOpts<'a> {
    /// The cursor.
    pub cursor: u64,
    /// MATCH pattern.
    pub pattern: Option<&'a [u8]>,
    /// COUNT hint.
    pub count: usize,
    /// TYPE filter (SCAN only).
    pub type_filter: Option<&'a [u8]>,
}

/// Parses a cursor as C's `strtoul` does for Redis: optional sign (a negative value wraps, so
/// `-1` is the largest cursor), decimal digits, nothing else.
pub(super) fn parse_cursor(raw: &[u8]) -> Option<u64> {
    let (neg, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses `cursor [MATCH pattern] [COUNT count] [TYPE type]`.
pub(super) fn scan_opts<'a>(
    args: &mut Args<'a>,
    allow_type: bool,
) -> Result<ScanOpts<'a>, CmdError> {
    let raw = args.next_bytes()?;
    let cursor = parse_cursor(raw).ok_or(CmdError::msg("ERR invalid cursor"))?;
    let mut o = ScanOpts {
        cursor,
        pattern: None,
        count: 10,
        type_filter: None,
    };
    while let Some(opt) = args.next_opt() {
        if is(opt, "MATCH") {
            let p = args.next_bytes()?;
            o.pattern = if p == b"*" { None } else { Some(p) };
        } else if is(opt, "COUNT") {
            let n = args.next_i64()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if allow_type && is(opt, "TYPE") {
            o.type_filter = Some(args.next_bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// The `[cursor, [items]]` reply.
pub(super) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
fn scan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let o = scan_opts(&mut args, true)?;
    let mut db = ctx.db();
    let (batch, next) = scan_slots(db.len(), o.cursor, o.count, |i| {
        db.raw().raw_key_at(i).map(Box::<[u8]>::from)
    });
    let wanted = o.type_filter.map(ValueType::parse);
    let mut out = Vec::with_capacity(batch.len());
    for key in batch {
        if o.pattern.is_some_and(|p| !glob::matches(p, &key)) {
            continue;
        }
        // Expired keys are reclaimed and skipped, as Redis's SCAN does.
        let Some(entry) = db.lookup(&key) else {
            continue;
        };
        if let Some(w) = wanted
            && w != Some(entry.value.value_type())
        {
            continue;
        }
        out.push(Reply::bulk(&key));
    }
    Ok(scan_reply(next, out))
}

/// `RANDOMKEY`: a random live key, or nil.
fn randomkey(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk_or_null(ctx.db().random_key()))
}

/// `TOUCH key [key ...]`: how many exist; updates their access time.
fn touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut db = ctx.db();
    Ok(Reply::Int(
        args.rest().iter().filter(|k| db.read(k).is_some()).count() as i64,
    ))
}

/// `OBJECT ENCODING key`.
fn object_encoding(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    Ok(match ctx.db().lookup(key) {
        Some(e) => Reply::bulk(e.value.encoding()),
        None => Reply::Null,
    })
}

/// `OBJECT REFCOUNT key`: always 1 (values are never shared here).
fn object_refcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    Ok(match ctx.db().lookup(key) {
        Some(_) => Reply::Int(1),
        None => Reply::Null,
    })
}

fn lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.store
        .config
        .get("maxmemory-policy")
        .is_some_and(|p| p.contains("lfu"))
}

/// `OBJECT IDLETIME key`: seconds since the last access.
fn object_idletime(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    if lfu_policy(ctx) {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let now = crate::keyspace::db::lru_clock();
    let mut db = ctx.db();
    db.expire_if_needed(key);
    Ok(match db.peek(key) {
        Some(e) => Reply::Int(i64::from(now.saturating_sub(e.lru))),
        None => Reply::Null,
    })
}

/// `OBJECT FREQ key`: the access-frequency counter (LFU policies only).
fn object_freq(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let key = args.next_bytes()?;
    if !lfu_policy(ctx) {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let mut db = ctx.db();
    db.expire_if_needed(key);
    Ok(match db.peek(key) {
        Some(e) => Reply::Int(i64::from(e.freq)),
        None => Reply::Null,
    })
}

/// `OBJECT HELP`.
fn object_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    ))
}
