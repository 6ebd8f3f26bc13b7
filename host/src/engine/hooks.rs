//! Command hooks (rg-spec 3.4.6 and 3.4.1): CommandReader `hook=` registrations, which run
//! instead of a command (`call_next` continues with the next hook of the command's chain, or
//! the command itself), and KeysReader `commands=` registrations, whose executions are linked
//! to the client command that fired them (the client's reply waits for them, and
//! `override_reply` replaces it).
//!
//! The command layer asks [`Engine::find_hook`] / [`Engine::intercepts_command`] before running
//! a command (only when [`Engine::hooks_active`]), runs hooks with [`Engine::run_hook`], and
//! links a `commands=` invocation with a [`CommandLink`]. Executions reach their hook or link
//! through [`LinkedApi`], the [`HostApi`] they run with, so `call_next`, `override_reply` and
//! `get_command` work on any thread the execution's code runs on (coroutines included).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};

use super::execution::Outcome;
use super::registration::{ReaderKind, Registration, prefix_matches};
use super::triggers::{self, Input};
use super::{Engine, Reply};
use crate::runtime::plan::{Mode, RegisterSpec, RunSpec};
use crate::runtime::{HostApi, LogLevel, Record, ReplyValue, RunDone, Runtime, SessionState};

/// The error a non-sync hook gets where the client cannot wait (MULTI, `execute()`).
pub const NON_SYNC_ERROR: &str = "ERR can not run a non-sync execution inside a MULTI/LUA (blocking is not allowed) or on loading.";
/// `call_next` outside a CommandReader hook execution.
pub const NO_HOOK_CTX: &str = "Can not get CommandHook ctx";
/// `override_reply` / `get_command` outside an execution linked to a client command.
pub const NO_COMMAND_CTX: &str = "Can not get command ctx";

/// What registering a hook needs to know about a command (its `COMMAND INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    /// First key position (0: no keys).
    pub first_key: i32,
    /// Last key position (negative: from the end).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// Not allowed in scripts (`noscript`).
    pub noscript: bool,
    /// Keys found by parsing the arguments (`movablekeys`).
    pub movable_keys: bool,
}

/// One CommandReader hook of a command's chain.
#[derive(Debug, Clone)]
struct Hook {
    reg: Arc<Registration>,
    keyprefix: Option<String>,
}

/// The hooks in force, rebuilt whenever registrations change.
#[derive(Debug, Default)]
struct Tables {
    /// CommandReader hooks by lower-case command name, the last registered first.
    hooks: HashMap<String, Vec<Hook>>,
    /// KeysReader registrations with `commands`, by lower-case command name.
    key_commands: HashMap<String, Vec<Arc<Registration>>>,
}

/// The engine's hook tables.
#[derive(Debug, Default)]
pub struct HookTable {
    active: AtomicBool,
    tables: RwLock<Arc<Tables>>,
}

impl HookTable {
    /// Rebuilds the tables from every registration (in registration order).
    pub(super) fn rebuild(&self, regs: &indexmap::IndexMap<String, Arc<Registration>>) {
        let mut t = Tables::default();
        for reg in regs.values() {
            match reg.kind {
                ReaderKind::Command => {
                    if let Some(cmd) = &reg.spec.hook {
                        t.hooks
                            .entry(cmd.to_ascii_lowercase())
                            .or_default()
                            .push(Hook {
                                reg: reg.clone(),
                                keyprefix: reg.spec.keyprefix.clone(),
                            });
                    }
                }
                ReaderKind::Keys => {
                    for cmd in reg.spec.commands.iter().flatten() {
                        let list = t.key_commands.entry(cmd.to_ascii_lowercase()).or_default();
                        if !list.iter().any(|r| Arc::ptr_eq(r, reg)) {
                            list.push(reg.clone());
                        }
                    }
                }
                ReaderKind::Stream => {}
            }
        }
        for chain in t.hooks.values_mut() {
            chain.reverse();
        }
        let active = !t.hooks.is_empty() || !t.key_commands.is_empty();
        *self.tables.write() = Arc::new(t);
        self.active.store(active, Ordering::SeqCst);
    }
}

/// The reply of a hooked command.
#[derive(Debug, Clone)]
pub enum HookReply {
    /// The hook's one result.
    Value(ReplyValue),
    /// An error: the execution's first error, or a hook rule.
    Error(String),
}

/// Calls a reply callback exactly once: if the job carrying it is dropped unrun (abortpending,
/// shutdown), the client still gets an answer.
struct ReplyOnce(Option<Reply<HookReply>>);

impl ReplyOnce {
    fn send(mut self, r: HookReply) {
        if let Some(f) = self.0.take() {
            f(r);
        }
    }
}

impl Drop for ReplyOnce {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f(HookReply::Error("Execution was aborted".into()));
        }
    }
}

fn hook_reply(o: &Outcome) -> HookReply {
    if let Some(e) = o.errors.first() {
        return HookReply::Error(e.clone());
    }
    match o.results.as_slice() {
        [one] => HookReply::Value(one.clone()),
        _ => HookReply::Error("Command hook must return exactly one result".into()),
    }
}

impl Engine {
    /// Whether any hook or `commands=` registration exists (checked before every command).
    pub fn hooks_active(&self) -> bool {
        self.hooks.active.load(Ordering::Relaxed)
    }

    /// The CommandReader hook an invocation of `command` (lower-case) runs: walking its chain
    /// from the head, or from the hook after registration `after` (`call_next`), the first live,
    /// unpaused hook without a keyprefix or with a keyprefix that one of `keys` starts with.
    /// Paused hooks are passed over and count the invocation in `numSkipped`.
    pub fn find_hook(
        &self,
        command: &str,
        keys: &[&[u8]],
        after: Option<&str>,
    ) -> Option<Arc<Registration>> {
        let tables = self.hooks.tables.read().clone();
        let chain = tables.hooks.get(command)?;
        let start = match after {
            None => 0,
            Some(id) => chain
                .iter()
                .position(|h| h.reg.id == id)
                .map_or(chain.len(), |i| i + 1),
        };
        for h in chain.get(start..).unwrap_or_default() {
            if h.reg.is_gone() {
                continue;
            }
            let matches = match &h.keyprefix {
                None => true,
                Some(p) => keys.iter().any(|k| k.starts_with(p.as_bytes())),
            };
            if !matches {
                continue;
            }
            if !h.reg.status.lock().is_active() {
                h.reg.stats.lock().skipped += 1;
                continue;
            }
            return Some(h.reg.clone());
        }
        None
    }

    /// Whether a client's invocation of `command` (lower-case) on `keys` is intercepted for
    /// KeysReader `commands=` registrations: one lists the command and has a prefix starting
    /// with `*`, or one matching one of the keys (RedisGears' prefix rule).
    pub fn intercepts_command(&self, command: &str, keys: &[&[u8]]) -> bool {
        let tables = self.hooks.tables.read().clone();
        let Some(regs) = tables.key_commands.get(command) else {
            return false;
        };
        regs.iter().any(|r| {
            !r.is_gone()
                && (r.spec.prefix.starts_with('*')
                    || keys.iter().any(|k| prefix_matches(&r.spec.prefix, k)))
        })
    }

    /// Runs CommandReader hook `reg` for the command `argv` (as the client sent it) and calls
    /// `reply` with the client's reply: the execution's first error, RedisGears' error unless
    /// there is exactly one result, or that result. A sync hook runs on this thread (its
    /// `execute()` and `call_next` reuse the keyspace the caller holds); other modes run on
    /// an execution thread while the client waits, and are refused when it cannot wait.
    pub fn run_hook(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        argv: Vec<Vec<u8>>,
        can_block: bool,
        reply: Reply<HookReply>,
    ) {
        if !can_block && reg.mode() != Mode::Sync {
            return reply(HookReply::Error(NON_SYNC_ERROR.into()));
        }
        let record = Record::List(argv.into_iter().map(Record::Bytes).collect());
        let link = Link::Hook {
            command: reg.spec.hook.clone().unwrap_or_default(),
            registration: reg.id.clone(),
        };
        let input = Input::Linked(Box::new(Input::Records(vec![record])), link);
        let depth = triggers::depth() + 1;
        let reply = ReplyOnce(Some(reply));
        let (engine, r) = (self.clone(), reg.clone());
        // Like trigger executions, hook executions are dropped once they replied.
        let done: Reply<Outcome> = Box::new(move |o: Outcome| {
            engine.drop_trigger_executions(&r);
            reply.send(hook_reply(&o));
        });
        if reg.mode() == Mode::Sync {
            self.run_now(reg, input, depth, Some(done));
            return;
        }
        let engine = self.clone();
        let r = reg.clone();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            engine.run_now(&r, input, depth, Some(done));
        });
        if reg.spec.inorder {
            self.submit_to(reg, job);
        } else {
            self.scheduler.submit(job);
        }
    }

    /// RedisGears' register-time checks of CommandReader `hook` and KeysReader `commands`
    /// (rg-spec 3.4.6, 3.4.1) for `spec`, given the registrations made earlier by the same
    /// script (`earlier`), the live ones, and the session the script replaces (whose
    /// registrations are about to go).
    pub(super) fn verify_hook(
        &self,
        spec: &RegisterSpec,
        earlier: &[Arc<Registration>],
        live: &indexmap::IndexMap<String, Arc<Registration>>,
        replaced: Option<&str>,
    ) -> Result<(), String> {
        let info = |cmd: &str| -> Option<CommandInfo> {
            self.host().ok().and_then(|h| h.backend.command_info(cmd))
        };
        if let Some(cmd) = &spec.hook {
            let info = info(cmd).ok_or("Can not override an unexisting command")?;
            if info.noscript {
                return Err(
                    "Can not override a command which are not allowed inside a script".into(),
                );
            }
            if spec.keyprefix.is_some() {
                if info.movable_keys {
                    return Err(
                        "Can not override a command with moveable keys by key prefix".into(),
                    );
                }
                if info.first_key <= 0 {
                    return Err(
                        "Can not override a command by key prefix with none positive first key"
                            .into(),
                    );
                }
                if info.step <= 0 {
                    return Err(
                        "Can not override a command by key prefix with none positive jump".into(),
                    );
                }
            }
            // The head of the command's chain (the last hook registered, leaving aside the
            // session being replaced) must be sync for another hook to go in front of it.
            let head = live.values().rev().find(|r| {
                r.kind == ReaderKind::Command
                    && r.spec
                        .hook
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(cmd))
                    && Some(r.session.id.as_str()) != replaced
            });
            if head.is_some_and(|h| h.mode() != Mode::Sync) {
                return Err("Can not override a none sync registration".into());
            }
            let earlier_async = earlier.iter().any(|r| {
                r.kind == ReaderKind::Command
                    && r.spec.hook.as_deref() == Some(cmd.as_str())
                    && r.mode() != Mode::Sync
            });
            if earlier_async {
                return Err(
                    "Can not override a none sync registration which already created on this session"
                        .into(),
                );
            }
        }
        for cmd in spec.commands.iter().flatten() {
            let info = info(cmd).ok_or("bad reply on COMMAND command")?;
            if info.noscript {
                return Err("Can not hook a command which are not allowed inside a script".into());
            }
            // KeysReader hooks always have a prefix (`*` by default).
            if info.movable_keys {
                return Err("Can not hook a command with moveable keys by key prefix".into());
            }
            if info.first_key <= 0 {
                return Err(
                    "Can not hook a command by key prefix with none positive first key".into(),
                );
            }
            if info.step <= 0 {
                return Err(
                    "Can not override a command by key prefix with none positive jump".into(),
                );
            }
            if spec.prefix.is_empty() {
                return Err("Empty perfix given to command hooker".into());
            }
        }
        Ok(())
    }
}

// ---- Linked executions ---------------------------------------------------------------------

/// What ties an execution to a command: its CommandReader hook, or the client command of a
/// KeysReader `commands=` registration.
pub(super) enum Link {
    /// A hook execution: `call_next` continues `command`'s chain after `registration`.
    Hook {
        /// The hooked command, as registered.
        command: String,
        /// The hook's registration id.
        registration: String,
    },
    /// An execution linked to a client command; the client's reply waits for the hold.
    Command(LinkHold),
}

/// The link of the KeysReader `commands=` executions of one client command (RedisGears'
/// command ctx): the command's argv, the reply override, and the executions still running.
/// When the last hold goes, the completion set by [`CommandLink::on_finished`] runs with the
/// override, if any.
pub struct CommandLink {
    argv: Vec<Vec<u8>>,
    name: String,
    can_block: bool,
    state: Mutex<LinkState>,
}

type Finish = Box<dyn FnOnce(Option<ReplyValue>) + Send>;

#[derive(Default)]
struct LinkState {
    holds: usize,
    reply: Option<ReplyValue>,
    done: Option<Finish>,
    finished: bool,
}

impl std::fmt::Debug for CommandLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandLink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CommandLink {
    /// A link for the client command `argv`, and the command's own hold (drop it after
    /// [`CommandLink::on_finished`]). `can_block`: whether the client may wait for
    /// asynchronous executions (not in MULTI); when not, those run unlinked.
    pub fn new(argv: Vec<Vec<u8>>, can_block: bool) -> (Arc<CommandLink>, LinkHold) {
        let name = argv
            .first()
            .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
            .unwrap_or_default();
        let link = Arc::new(CommandLink {
            argv,
            name,
            can_block,
            state: Mutex::new(LinkState::default()),
        });
        let own = link.hold();
        (link, own)
    }

    fn hold(self: &Arc<Self>) -> LinkHold {
        self.state.lock().holds += 1;
        LinkHold(self.clone())
    }

    /// Sets what runs when every linked execution (and the command's own hold) is done.
    pub fn on_finished(&self, f: Box<dyn FnOnce(Option<ReplyValue>) + Send>) {
        self.state.lock().done = Some(f);
    }

    fn override_reply(&self, v: ReplyValue) -> Result<(), String> {
        let mut st = self.state.lock();
        if st.finished {
            return Err(NO_COMMAND_CTX.into());
        }
        if st.reply.is_some() {
            return Err("Can only override reply once".into());
        }
        st.reply = Some(v);
        Ok(())
    }
}

/// Keeps a [`CommandLink`]'s client waiting while it lives.
pub struct LinkHold(Arc<CommandLink>);

impl std::fmt::Debug for LinkHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkHold")
    }
}

impl Drop for LinkHold {
    fn drop(&mut self) {
        let finish = {
            let mut st = self.0.state.lock();
            st.holds = st.holds.saturating_sub(1);
            if st.holds == 0 && !st.finished {
                st.finished = true;
                let reply = st.reply.take();
                st.done.take().map(|f| (f, reply))
            } else {
                None
            }
        };
        if let Some((f, reply)) = finish {
            f(reply);
        }
    }
}

/// KeysReader `commands` filter for one event: `None` when `reg` must not fire (it lists
/// commands and the event does not come from one of them, run by a client through the hook),
/// else the link its execution gets (only registrations listing commands are linked).
pub(super) fn keys_link(
    reg: &Registration,
    link: Option<&Arc<CommandLink>>,
) -> Option<Option<Arc<CommandLink>>> {
    let Some(cmds) = &reg.spec.commands else {
        return Some(None);
    };
    let link = link?;
    cmds.iter()
        .any(|c| c.eq_ignore_ascii_case(&link.name))
        .then(|| Some(link.clone()))
}

/// `input` linked to `link` when there is one and the execution may hold the client: always
/// for sync executions, for the others only when the client can wait.
pub(super) fn linked(input: Input, link: Option<Arc<CommandLink>>, sync: bool) -> Input {
    match link {
        Some(l) if sync || l.can_block => Input::Linked(Box::new(input), Link::Command(l.hold())),
        _ => input,
    }
}

/// The host API an execution runs with: `api` itself, or wrapped with its link.
pub(super) fn linked_api(api: Arc<dyn HostApi>, link: Option<&Link>) -> Arc<dyn HostApi> {
    match link {
        None => api,
        Some(Link::Hook {
            command,
            registration,
        }) => Arc::new(LinkedApi {
            inner: api,
            hook: Some((command.clone(), registration.clone())),
            command: None,
        }),
        Some(Link::Command(hold)) => Arc::new(LinkedApi {
            inner: api,
            hook: None,
            command: Some(hold.0.clone()),
        }),
    }
}

/// The host API of a linked execution: everything goes to the server's API, and `call_next`,
/// `override_reply` and `get_command` use the link. It holds no [`LinkHold`], so user code
/// keeping it alive (a coroutine, a saved session) never keeps a client waiting.
pub struct LinkedApi {
    inner: Arc<dyn HostApi>,
    hook: Option<(String, String)>,
    command: Option<Arc<CommandLink>>,
}

impl HostApi for LinkedApi {
    fn execute(&self, argv: Vec<Vec<u8>>) -> ReplyValue {
        self.inner.execute(argv)
    }
    fn log(&self, level: LogLevel, msg: &str) {
        self.inner.log(level, msg);
    }
    fn gears_config(&self, key: &str) -> Option<String> {
        self.inner.gears_config(key)
    }
    fn attempt_traceback(&self) -> bool {
        self.inner.attempt_traceback()
    }
    fn next_plan_id(&self) -> String {
        self.inner.next_plan_id()
    }
    fn atomic_enter(&self) {
        self.inner.atomic_enter();
    }
    fn atomic_exit(&self) {
        self.inner.atomic_exit();
    }
    fn start_run(
        &self,
        runtime: Arc<dyn Runtime>,
        state: SessionState,
        session_id: &str,
        run: RunSpec,
        done: RunDone,
    ) -> Result<(), String> {
        self.inner.start_run(runtime, state, session_id, run, done)
    }
    fn profile_executions(&self) -> bool {
        self.inner.profile_executions()
    }
    fn alive(&self) -> bool {
        self.inner.alive()
    }
    fn execute_after_hook(&self, argv: Vec<Vec<u8>>, after: &str) -> ReplyValue {
        self.inner.execute_after_hook(argv, after)
    }
    fn call_next(&self, args: Vec<Vec<u8>>) -> Result<ReplyValue, String> {
        let Some((command, registration)) = &self.hook else {
            return Err(NO_HOOK_CTX.into());
        };
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(command.as_bytes().to_vec());
        argv.extend(args);
        Ok(self.inner.execute_after_hook(argv, registration))
    }
    fn override_reply(&self, value: ReplyValue) -> Result<(), String> {
        match &self.command {
            Some(link) => link.override_reply(value),
            None => Err(NO_COMMAND_CTX.into()),
        }
    }
    fn get_command(&self) -> Result<Vec<Vec<u8>>, String> {
        match &self.command {
            Some(link) if !link.state.lock().finished => Ok(link.argv.clone()),
            _ => Err(NO_COMMAND_CTX.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_finishes_once_with_the_first_override() {
        let (link, own) = CommandLink::new(vec![b"GET".to_vec(), b"x".to_vec()], true);
        assert_eq!(link.name, "get");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        link.on_finished(Box::new(move |r| s.lock().push(r)));
        let exec = link.hold();
        link.override_reply(ReplyValue::Int(2)).unwrap();
        assert_eq!(
            link.override_reply(ReplyValue::Int(3)),
            Err("Can only override reply once".into())
        );
        drop(own);
        assert!(
            seen.lock().is_empty(),
            "an execution still holds the client"
        );
        drop(exec);
        assert_eq!(*seen.lock(), vec![Some(ReplyValue::Int(2))]);
        assert_eq!(
            link.override_reply(ReplyValue::Int(4)),
            Err(NO_COMMAND_CTX.into())
        );
    }

    #[test]
    fn hook_reply_needs_exactly_one_result() {
        let one = Outcome {
            results: vec![ReplyValue::Bulk(b"2".to_vec())],
            errors: Vec::new(),
        };
        assert!(matches!(
            hook_reply(&one),
            HookReply::Value(ReplyValue::Bulk(_))
        ));
        let two = Outcome {
            results: vec![ReplyValue::Nil, ReplyValue::Nil],
            errors: Vec::new(),
        };
        assert!(
            matches!(hook_reply(&two), HookReply::Error(e) if e == "Command hook must return exactly one result")
        );
        let failed = Outcome {
            results: vec![ReplyValue::Nil],
            errors: vec!["boom".into()],
        };
        assert!(matches!(hook_reply(&failed), HookReply::Error(e) if e == "boom"));
    }
}
