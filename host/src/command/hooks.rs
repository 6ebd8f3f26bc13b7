//! Command hooks at dispatch (rg-spec 3.4.6, 3.4.1): a command with a CommandReader `hook=`
//! registration runs the hook instead (its `call_next` continues the chain), and a client
//! command listed by a KeysReader `commands=` registration is intercepted: its key events fire
//! the registration linked to the client, whose reply waits for those executions and may be
//! replaced with `override_reply`. Also `RG.INNERHOOK`, RedisGears' trampoline for the latter.
//!
//! [`intercept`] runs before every command while the engine has hooks (see `run`); blocked
//! commands re-run for a waiter are never hooked.

use std::cell::RefCell;
use std::sync::Arc;

use super::blocking::deferred;
use super::introspect::key_positions;
use super::{Args, CmdError, CmdRef, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::engine::hooks::{CommandInfo, CommandLink, HookReply};
use crate::engine::{Engine, Registration};

pub(super) const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "rg.innerhook",
    -1,
    Flags::READONLY.union(Flags::SKIP_SLOWLOG),
    innerhook,
)
.group("gears")
.summary("Run a command as intercepted by KeysReader commands= registrations")];

/// Commands whose keys Redis 7.0 finds by parsing their arguments (`movablekeys` in
/// `COMMAND INFO`): they cannot be hooked by key prefix.
const MOVABLE_KEYS: &[&str] = &[
    "blmpop",
    "bzmpop",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
    "georadius",
    "georadiusbymember",
    "lmpop",
    "migrate",
    "sintercard",
    "sort",
    "sort_ro",
    "xread",
    "xreadgroup",
    "zdiff",
    "zdiffstore",
    "zinter",
    "zintercard",
    "zinterstore",
    "zmpop",
    "zunion",
    "zunionstore",
];

/// Redis 7.0 commands gears-host does not implement that are flagged `noscript`: hooking them
/// gets RedisGears' "not allowed inside a script" error, as on Redis, rather than "unexisting".
const NOSCRIPT_ELSEWHERE: &[&str] = &[
    "bgrewriteaof",
    "bgsave",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "failover",
    "fcall",
    "fcall_ro",
    "psync",
    "replconf",
    "replicaof",
    "save",
    "slaveof",
    "ssubscribe",
    "sunsubscribe",
    "sync",
];

/// `COMMAND INFO` of `command` as hooks need it (None: no such command).
pub(super) fn command_info(command: &str) -> Option<CommandInfo> {
    let Some(cmd) = super::table().lookup(command.as_bytes()) else {
        let lower = command.to_ascii_lowercase();
        return NOSCRIPT_ELSEWHERE
            .contains(&lower.as_str())
            .then_some(CommandInfo {
                first_key: 0,
                last_key: 0,
                step: 0,
                noscript: true,
                movable_keys: MOVABLE_KEYS.contains(&lower.as_str()),
            });
    };
    let spec = cmd.spec;
    let top = cmd.parent.unwrap_or(spec);
    Some(CommandInfo {
        first_key: spec.first_key,
        last_key: spec.last_key,
        step: spec.step,
        noscript: spec.flags.contains(Flags::NOSCRIPT) || top.flags.contains(Flags::NOSCRIPT),
        movable_keys: cmd.parent.is_none() && MOVABLE_KEYS.contains(&spec.name),
    })
}

thread_local! {
    /// Set by `call_next` around the command it runs: (command, hook registration id) — that
    /// command's chain continues after that hook.
    static NEXT: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Runs `f` (which runs `command`) with `command`'s hook chain starting after hook `after`.
pub(super) fn after_hook<R>(command: &[u8], after: &str, f: impl FnOnce() -> R) -> R {
    let entry = (
        String::from_utf8_lossy(command).to_ascii_lowercase(),
        after.to_string(),
    );
    let prev = NEXT.with(|n| n.borrow_mut().replace(entry));
    let r = f();
    NEXT.with(|n| *n.borrow_mut() = prev);
    r
}

/// The hooks of a command about to run: the reply of its CommandReader hook or of its
/// `commands=` interception, or None when it runs as usual.
pub(super) fn intercept(ctx: &mut Ctx<'_>, cmd: CmdRef, argv: &[&[u8]]) -> Option<Reply> {
    let top = cmd.parent.unwrap_or(cmd.spec);
    let name = top.name;
    let after = NEXT.with(|n| {
        let mut n = n.borrow_mut();
        if n.as_ref().is_some_and(|(c, _)| c == name) {
            n.take().map(|(_, after)| after)
        } else {
            None
        }
    });
    let keys: Vec<&[u8]> = key_positions(top, argv.len())
        .into_iter()
        .filter_map(|i| argv.get(i).copied())
        .collect();
    let engine = ctx.shared.engine.clone();
    if let Some(reg) = engine.find_hook(name, &keys, after.as_deref()) {
        return Some(run_hook(ctx, &engine, &reg, argv));
    }
    // `commands=` hooks see client commands only (RedisGears' filter skips its own calls).
    if after.is_none() && !ctx.client.is_fake() && engine.intercepts_command(name, &keys) {
        return Some(run_linked(ctx, cmd, argv));
    }
    None
}

fn hook_reply(r: HookReply) -> Reply {
    match r {
        HookReply::Value(v) => super::gears::value_reply(&v),
        HookReply::Error(e) => Reply::Error(e.into()),
    }
}

/// Calls `start` with a completion callback: a completion on this thread (before `start`
/// returns) is the reply; a later one, from another thread, goes to the waiting client.
fn reply_here_or_later<T: 'static>(
    start: impl FnOnce(Box<dyn FnOnce(T) + Send>),
    to_reply: impl FnOnce(T) -> Reply + Send + 'static,
) -> Reply {
    let (tx, rx) = std::sync::mpsc::channel();
    let (later, later_tx) = deferred();
    let here = std::thread::current().id();
    start(Box::new(move |r: T| {
        let reply = to_reply(r);
        if std::thread::current().id() == here {
            let _ = tx.send(reply);
        } else {
            let _ = later_tx.send(reply);
        }
    }));
    rx.try_recv().unwrap_or(later)
}

/// Runs CommandReader hook `reg` for `argv`; sync hooks run here, reusing the held keyspace.
fn run_hook(
    ctx: &mut Ctx<'_>,
    engine: &Arc<Engine>,
    reg: &Arc<Registration>,
    argv: &[&[u8]],
) -> Reply {
    let can_block = ctx.may_block();
    let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    let store = &mut *ctx.store;
    reply_here_or_later(
        |done| {
            super::host::with_borrowed_store(store, || {
                engine.run_hook(reg, argv, can_block, done);
            });
        },
        hook_reply,
    )
}

/// Runs `cmd` for a client as intercepted for KeysReader `commands=` registrations: its key
/// events fire registrations linked to this command; the reply is the command's, or the first
/// `override_reply` value, once every linked execution is done.
fn run_linked(ctx: &mut Ctx<'_>, cmd: CmdRef, argv: &[&[u8]]) -> Reply {
    // Events of commands before this one (inside EXEC) are not this command's.
    super::publish_events(ctx.store, ctx.shared);
    let (link, own) = CommandLink::new(argv.iter().map(|a| a.to_vec()).collect(), ctx.may_block());
    let real = super::run_unhooked(ctx, cmd, argv);
    if matches!(real, Reply::Wait(_)) {
        // A command that blocked has no reply yet to hold back.
        drop(own);
        super::publish_events(ctx.store, ctx.shared);
        return real;
    }
    super::publish_linked_events(ctx.store, ctx.shared, &link);
    reply_here_or_later(
        move |done| {
            link.on_finished(done);
            drop(own);
        },
        move |o: Option<crate::runtime::ReplyValue>| match o {
            Some(v) => super::gears::value_reply(&v),
            None => real,
        },
    )
}

/// `RG.INNERHOOK <command> [arg ...]`: runs the command as intercepted for KeysReader
/// `commands=` registrations (RedisGears' internal trampoline, callable by clients).
fn innerhook(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.is_empty() {
        return Err(CmdError::Arity(
            String::from_utf8_lossy(args.name()).into_owned(),
        ));
    }
    let inner = args.rest();
    let cmd = super::resolve(inner)?;
    Ok(run_linked(ctx, cmd, inner))
}
