//! What Python code is running for: the host it talks to, the session it belongs to, and (for a
//! top-level script) where its `run()` / `register()` calls are collected.
//!
//! Set per thread around every entry into Python ([`enter`]); the native module's functions read
//! it. The host never shares a context between threads.

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::future::StepScope;
use crate::plan::{PlanSpec, RegisterArgs, RunArgs};

/// A reply from the host, in a form the Python API converts to Python values.
#[derive(Debug, Clone, PartialEq)]
pub enum HostReply {
    /// Nil.
    Nil,
    /// Integer.
    Int(i64),
    /// Double.
    Double(f64),
    /// Boolean (RESP3).
    Bool(bool),
    /// Status string.
    Status(Vec<u8>),
    /// Bulk string.
    Bulk(Vec<u8>),
    /// Error text (`ERR ...`).
    Error(String),
    /// Array (also maps, flattened, and sets).
    Array(Vec<HostReply>),
}

/// Log levels of `log(msg, level=...)`, as Redis names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `debug`
    Debug,
    /// `verbose`
    Verbose,
    /// `notice`
    Notice,
    /// `warning`
    Warning,
}

/// Called once with a nested execution's results (the Python records) and error strings.
pub type RunDone = Box<dyn FnOnce(Vec<Py<PyAny>>, Vec<String>) + Send>;

/// What the Python API needs from the server. Implemented by gears-host.
pub trait Host: Send + Sync {
    /// Runs a Redis command as the session's owner and returns its reply. Called without the
    /// GIL (the caller releases it first, so the host may take its keyspace lock).
    fn execute(&self, argv: Vec<Vec<u8>>) -> HostReply;
    /// Writes a log line from Python code.
    fn log(&self, level: LogLevel, msg: &str);
    /// A value of RG.CONFIGSET's extra dictionary (`configGet`).
    fn config_get(&self, key: &str) -> Option<String>;
    /// Whether errors carry Python tracebacks (`PythonAttemptTraceback`).
    fn attempt_traceback(&self) -> bool;
    /// A fresh flat-execution-plan id (`<40 zeros>-<n>`), consumed by every `GB()` and
    /// `register()`, as in RedisGears.
    fn next_plan_id(&self) -> String;
    /// Takes the keyspace for an `atomic()` block (called without the GIL).
    fn atomic_enter(&self);
    /// Releases the keyspace after an `atomic()` block.
    fn atomic_exit(&self);
    /// Starts an execution of `plan` from inside running code (`run()` in a step, a coroutine
    /// or a timer) and calls `done` when it finishes, on another thread. Called with the GIL
    /// held; implementations release it before taking server locks.
    ///
    /// # Errors
    /// The text `run()` raises when the execution cannot start.
    fn start_run(&self, plan: PlanSpec, args: RunArgs, done: RunDone) -> Result<(), String> {
        let _ = (plan, args, done);
        Err("Can not run an execution from here".to_string())
    }
    /// Whether the server still runs (timers of a stopped server stop).
    fn alive(&self) -> bool {
        true
    }
    /// `call_next(*args)`: inside a CommandReader hook, runs the next hook of the command's
    /// chain (or the command) with `args` and returns its reply (an error reply as
    /// [`HostReply::Error`]). Called without the GIL.
    ///
    /// # Errors
    /// RedisGears' text outside a hook execution (`Can not get CommandHook ctx`).
    fn call_next(&self, args: Vec<Vec<u8>>) -> Result<HostReply, String> {
        let _ = args;
        Err("Can not get CommandHook ctx".to_string())
    }
    /// `override_reply(value)`: replaces the reply of the client command the execution is
    /// linked to (KeysReader `commands=`).
    ///
    /// # Errors
    /// RedisGears' text outside a linked execution (`Can not get command ctx`) or for a second
    /// override (`Can only override reply once`).
    fn override_reply(&self, value: HostReply) -> Result<(), String> {
        let _ = value;
        Err("Can not get command ctx".to_string())
    }
    /// `get_command()`: the argv of the client command the execution is linked to.
    ///
    /// # Errors
    /// RedisGears' text outside a linked execution.
    fn get_command(&self) -> Result<Vec<Vec<u8>>, String> {
        Err("Can not get command ctx".to_string())
    }
}

/// Where a top-level script's `run()` and `register()` calls go.
#[derive(Default)]
pub struct ScriptOutcome {
    /// The `run()` call, if any (at most one per script).
    pub run: Option<(PlanSpec, RunArgs)>,
    /// The `register()` calls, in order.
    pub registrations: Vec<(PlanSpec, RegisterArgs)>,
}

/// The per-thread state of running Python code.
pub struct Context {
    /// The server.
    pub host: Arc<dyn Host>,
    /// The session's globals (None outside any session).
    pub session: Option<Py<PyDict>>,
    /// The session id.
    pub session_id: String,
    /// Collects `run()`/`register()` of a top-level script.
    pub script: Option<ScriptOutcome>,
    /// Running inside an execution step (futures and async may be allowed).
    pub in_step: bool,
    /// Whether the running execution may go asynchronous (`isAsyncAllow`).
    pub async_allowed: bool,
    /// Nesting depth of `atomic()` blocks (0 or 1).
    pub atomic_depth: u32,
    /// The session's cProfile profiler, enabled around each step callback (ProfileExecutions).
    pub profiler: Option<Arc<crate::profile::Profiler>>,
    /// The step callback running now: `gearsFuture()` ties its future to it.
    pub step: Option<StepScope>,
    /// Installed by `setGearsSession(s)` on a thread that had no context (the asyncio loop
    /// thread, user threads); only such contexts are replaced or removed by it.
    pub adopted: bool,
}

impl Context {
    /// A context for code of session `session_id` (globals `session`), outside any step.
    pub fn new(host: Arc<dyn Host>, session_id: &str, session: Option<Py<PyDict>>) -> Context {
        Context {
            host,
            session,
            session_id: session_id.to_string(),
            script: None,
            in_step: false,
            async_allowed: false,
            atomic_depth: 0,
            profiler: None,
            step: None,
            adopted: false,
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` as the current context, restoring the previous one afterwards; returns
/// `f`'s result and the context (with whatever the script collected).
pub fn enter<R>(ctx: Context, f: impl FnOnce() -> R) -> (R, Context) {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(ctx));
    let r = f();
    let ctx = CURRENT
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), prev))
        .expect("the context entered above is still set");
    (r, ctx)
}

/// `setGearsSession(s)`: makes `ctx` this thread's context unless the thread runs inside a
/// context the host entered (which keeps its own). Replaces an earlier adopted context.
pub fn adopt(mut ctx: Context) {
    ctx.adopted = true;
    let old = CURRENT.with(|c| {
        let mut cur = c.borrow_mut();
        if cur.as_ref().is_some_and(|c| !c.adopted) {
            return None;
        }
        cur.replace(ctx)
    });
    release(old);
}

/// `setGearsSession(None)`: removes this thread's adopted context, if it has one.
pub fn unadopt() {
    let old = CURRENT.with(|c| {
        let mut cur = c.borrow_mut();
        if cur.as_ref().is_some_and(|c| c.adopted) {
            cur.take()
        } else {
            None
        }
    });
    release(old);
}

/// Ends what a dropped context still holds (an `atomic()` block left open).
fn release(ctx: Option<Context>) {
    if let Some(ctx) = ctx
        && ctx.atomic_depth > 0
    {
        ctx.host.atomic_exit();
    }
}

/// Calls `f` with the current context, if there is one.
pub fn with_current<R>(f: impl FnOnce(Option<&mut Context>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow_mut().as_mut()))
}

/// The current host, if code runs inside a context.
pub fn current_host() -> Option<Arc<dyn Host>> {
    with_current(|c| c.map(|c| c.host.clone()))
}
