//! DUMP and RESTORE: serialize a key's value and recreate it, in gears-host's own payload
//! format (see [`crate::keyspace::serialize`]; not interchangeable with Redis's payloads).

use super::args::is;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::db::lru_clock;
use crate::keyspace::serialize::{self, PayloadError};
use crate::keyspace::stream::NodeLimits;
use crate::keyspace::{NotifyFlags, string::parse_i64};

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", 2, Flags::READONLY.union(Flags::RANDOM), dump)
        .keys(1, 1, 1)
        .group("generic")
        .summary("Return a serialized version of the value stored at the specified key."),
    CommandSpec::new("restore", -4, Flags::WRITE.union(Flags::DENYOOM), restore)
        .keys(1, 1, 1)
        .group("generic")
        .summary(
            "Create a key using the provided serialized value, previously obtained using DUMP.",
        ),
];

/// `DUMP key`: the serialized value, or nil for a missing key.
fn dump(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(match ctx.db().read(key) {
        Some(v) => Reply::bulk_vec(serialize::dump(v)),
        None => Reply::Null,
    })
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`:
/// recreates the key from a DUMP payload; `ttl` is milliseconds (0: no expiry), an absolute
/// Unix time with ABSTTL.
fn restore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let ttl_arg = args.next_bytes()?;
    let payload = args.next_bytes()?;
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    while let Some(opt) = args.next_opt() {
        let more = !args.is_empty();
        if is(opt, "REPLACE") {
            replace = true;
        } else if is(opt, "ABSTTL") {
            absttl = true;
        } else if is(opt, "IDLETIME") && more && freq.is_none() {
            let n = args.next_i64()?;
            if n < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
        } else if is(opt, "FREQ") && more && idle.is_none() {
            let n = args.next_i64()?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if !replace && ctx.db().lookup_write(key).is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64(ttl_arg).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let limits = NodeLimits {
        max_bytes: usize::try_from(ctx.store.config.get_i64("stream-node-max-bytes")).unwrap_or(0),
        max_entries: u64::try_from(ctx.store.config.get_i64("stream-node-max-entries"))
            .unwrap_or(0),
    };
    let mut db = ctx.db();
    let value = serialize::restore(payload, &db.thresholds, limits).map_err(|e| match e {
        PayloadError::Checksum => CmdError::msg("ERR DUMP payload version or checksum are wrong"),
        PayloadError::Format => CmdError::msg("ERR Bad data format"),
    })?;
    let deleted = replace && db.remove(key).is_some();
    let now = db.now();
    let expire_at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(now)),
    };
    if expire_at.is_some_and(|at| at <= now) {
        // Already expired: nothing is created, a replaced key is simply gone.
        if deleted {
            db.emit(NotifyFlags::GENERIC, "del", key);
            ctx.dirty(1);
        }
        return Ok(Reply::Ok);
    }
    db.add(key, value);
    if let Some(at) = expire_at {
        db.set_expire(key, at);
    }
    if let Some(e) = db.lookup(key) {
        if let Some(idle) = idle {
            let idle = u32::try_from(idle).unwrap_or(u32::MAX);
            e.lru = lru_clock().saturating_sub(idle);
        }
        if let Some(freq) = freq {
            e.freq = u8::try_from(freq).unwrap_or(u8::MAX);
        }
    }
    db.notify(NotifyFlags::GENERIC, "restore", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}
