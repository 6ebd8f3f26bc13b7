//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use std::sync::atomic::Ordering;

use super::client::MultiState;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};

const TX: Flags = Flags::NOSCRIPT
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST)
    .union(Flags::ALLOW_BUSY);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("multi", 1, TX, multi)
        .group("transactions")
        .summary("Mark the start of a transaction block"),
    CommandSpec::new(
        "exec",
        1,
        Flags::NOSCRIPT
            .union(Flags::LOADING)
            .union(Flags::STALE)
            .union(Flags::SKIP_SLOWLOG),
        exec,
    )
    .group("transactions")
    .summary("Execute all commands issued after MULTI"),
    CommandSpec::new("discard", 1, TX, discard)
        .group("transactions")
        .summary("Discard all commands issued after MULTI"),
    CommandSpec::new("watch", -2, TX, watch)
        .keys(1, -1, 1)
        .group("transactions")
        .summary("Watch the given keys to determine execution of the MULTI/EXEC block"),
    CommandSpec::new("unwatch", 1, TX, unwatch)
        .group("transactions")
        .summary("Forget about all watched keys"),
];

fn set_multi_info(ctx: &Ctx<'_>, n: i64) {
    if let Some(info) = &ctx.client.info {
        info.multi.store(n, Ordering::Relaxed);
    }
}

/// `MULTI`.
fn multi(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    set_multi_info(ctx, 0);
    Ok(Reply::Ok)
}

fn unwatch_all(ctx: &mut Ctx<'_>) {
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.store.ks.signals.unwatch(ctx.client.id, &watched);
}

/// `EXEC`: runs the queued commands atomically, or nil if a watched key changed.
fn exec(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(state) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    set_multi_info(ctx, -1);
    if state.failed {
        unwatch_all(ctx);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let now = crate::keyspace::unix_ms();
    ctx.store.ks.set_now(now);
    // A watched key that expired since WATCH counts as modified, as in Redis.
    let expired = ctx.client.watched.iter().any(|(db, key)| {
        let db = *db;
        ctx.store.ks.db(db).is_expired(key)
    });
    if expired || ctx.store.ks.signals.is_dirty(ctx.client.id) {
        unwatch_all(ctx);
        return Ok(Reply::NullArray);
    }
    unwatch_all(ctx);
    let was_in_exec = ctx.in_exec;
    ctx.in_exec = true;
    let mut replies = Vec::with_capacity(state.queued.len());
    for argv in &state.queued {
        let slices: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
        let reply = super::call(ctx, &slices);
        replies.push(match reply {
            Reply::Wait(_) => Reply::NullArray,
            other => other,
        });
    }
    ctx.in_exec = was_in_exec;
    Ok(Reply::Array(replies))
}

/// `DISCARD`.
fn discard(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    set_multi_info(ctx, -1);
    unwatch_all(ctx);
    Ok(Reply::Ok)
}

/// `WATCH key [key ...]`.
fn watch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in args.rest() {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db && &**k == *key)
        {
            continue;
        }
        ctx.store.ks.signals.watch(db, key, ctx.client.id);
        ctx.client.watched.push((db, (*key).into()));
    }
    Ok(Reply::Ok)
}

/// `UNWATCH`.
fn unwatch(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    unwatch_all(ctx);
    Ok(Reply::Ok)
}
