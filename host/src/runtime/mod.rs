//! Runtimes: how the engine calls user code.
//!
//! Owns: the [`Runtime`] and [`Calls`] traits the engine drives, the [`HostApi`] runtimes call
//! back into (implemented by `command::host`), neutral [`record::Record`]s and
//! [`record::ReplyValue`]s. `python.rs` binds gears-python; `wasm/` binds wasmtime.
//! May import `limits`.

pub mod plan;
pub mod record;

#[cfg(feature = "python")]
pub mod python;
pub mod wasm;

use std::any::Any;
use std::sync::Arc;

pub use record::{Record, ReplyValue};

use crate::limits::{Breach, LimitOverrides, Limits};

/// A runtime-native record (a Python object, a guest's value), opaque to the engine.
pub struct Native(pub Box<dyn Any + Send>);

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Native(..)")
    }
}

/// A user callback a step calls, with what RG.GETEXECUTION shows for it.
#[derive(Clone)]
pub struct Callback {
    /// The runtime's handle (a Python function, a guest callback id).
    pub inner: Arc<dyn Any + Send + Sync>,
    /// `str(callback)` as RG.GETEXECUTION's `arg` shows it.
    pub describe: String,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Callback({})", self.describe)
    }
}

/// A failure of user code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// An exception or a guest error: the record becomes an error string.
    #[error("{0}")]
    Guest(String),
    /// The execution was aborted (RG.ABORTEXECUTION, a limit breach).
    #[error("{0}")]
    Aborted(String),
    /// User code asked to pause the registration running it (a wasm guest's `pause` failure):
    /// the record becomes this error text (`PAUSE ...`) and the registration pauses.
    #[error("{0}")]
    Pause(String),
}

/// Calls into user code while a runtime is entered (for Python: the GIL is held). Each method
/// implements one step kind's contract for one record.
pub trait Calls {
    /// Turns a reader record into a native record.
    fn import(&mut self, r: Record) -> Result<Native, RuntimeError>;
    /// `map`: `f(r)`.
    fn map(&mut self, cb: &Callback, r: Native) -> Result<Native, RuntimeError>;
    /// `flatmap`: `f(r)`, a list's elements become records; anything else is one record.
    fn flatmap(&mut self, cb: &Callback, r: Native) -> Result<Vec<Native>, RuntimeError>;
    /// `filter`: `bool(f(r))`.
    fn filter(&mut self, cb: &Callback, r: &Native) -> Result<bool, RuntimeError>;
    /// `foreach`: `f(r)`, the record passes on.
    fn foreach(&mut self, cb: &Callback, r: &Native) -> Result<(), RuntimeError>;
    /// `accumulate`: `f(acc, r)` (`acc` None the first time).
    fn accumulate(
        &mut self,
        cb: &Callback,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError>;
    /// A group key: `extractor(r)`, as a string (`repr` of non-strings).
    fn extract_key(&mut self, cb: &Callback, r: &Native) -> Result<String, RuntimeError>;
    /// `reducer(k, acc, r)` of localgroupby/groupby.
    fn accumulate_by_key(
        &mut self,
        cb: &Callback,
        key: &str,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError>;
    /// `reducer(k, records)` of batchgroupby.
    fn reduce(
        &mut self,
        cb: &Callback,
        key: &str,
        records: Vec<Native>,
    ) -> Result<Native, RuntimeError>;
    /// The `{'key': k, 'value': v}` record group steps emit.
    fn key_value(&mut self, key: &str, value: Native) -> Result<Native, RuntimeError>;
    /// Starts a PythonReader-style generator: `f()`.
    fn reader_start(&mut self, cb: &Callback) -> Result<Native, RuntimeError>;
    /// The next record of a generator, or None when it is exhausted.
    fn reader_next(&mut self, generator: &Native) -> Result<Option<Native>, RuntimeError>;
    /// A final record as a reply value.
    fn to_reply(&mut self, r: &Native) -> ReplyValue;
    /// Runs `f` without the runtime's lock (for Python: with the GIL released). Readers fetch
    /// data through it, so the lock order keyspace → GIL holds.
    fn unlocked(&mut self, f: &mut (dyn FnMut() + Send));
}

/// Log levels user code logs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// debug
    Debug,
    /// verbose
    Verbose,
    /// notice
    Notice,
    /// warning
    Warning,
}

/// What an execution started from user code ([`HostApi::start_run`]) produced: its result
/// records, still runtime-native, and its error strings.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Result records.
    pub results: Vec<Native>,
    /// Error strings.
    pub errors: Vec<String>,
}

/// Called once when an execution started from user code finishes (on the execution's thread).
pub type RunDone = Box<dyn FnOnce(RunResult) + Send>;

/// What runtimes need from the server: run commands, log, read gears config, allocate ids.
/// Implemented by `command::host` over command dispatch.
pub trait HostApi: Send + Sync {
    /// Runs one command (no blocking; scripts' rules) and returns its RESP2-shaped reply.
    fn execute(&self, argv: Vec<Vec<u8>>) -> ReplyValue;
    /// Writes a user log line.
    fn log(&self, level: LogLevel, msg: &str);
    /// A value of RG.CONFIGSET's extra dictionary.
    fn gears_config(&self, key: &str) -> Option<String>;
    /// `PythonAttemptTraceback`.
    fn attempt_traceback(&self) -> bool;
    /// A fresh plan id.
    fn next_plan_id(&self) -> String;
    /// Holds the keyspace for an `atomic()` block on this thread.
    fn atomic_enter(&self);
    /// Releases it.
    fn atomic_exit(&self);
    /// Starts an execution of `run` for the session `state` of `runtime` from inside user code
    /// (`run()` in a step, a coroutine or a timer); `done` receives its outcome. The execution
    /// is listed while it runs and dropped when done.
    ///
    /// # Errors
    /// The text user code sees when it cannot start.
    fn start_run(
        &self,
        runtime: Arc<dyn Runtime>,
        state: SessionState,
        session_id: &str,
        run: plan::RunSpec,
        done: RunDone,
    ) -> Result<(), String> {
        let _ = (runtime, state, session_id, run, done);
        Err("Can not start an execution from here".to_string())
    }
    /// `ProfileExecutions`: whether runtimes profile user callbacks.
    fn profile_executions(&self) -> bool {
        false
    }
    /// Whether the server still runs (timers of a stopped server stop).
    fn alive(&self) -> bool {
        true
    }
    /// Runs `argv` as [`HostApi::execute`] does, except that its command's hook chain starts
    /// after the CommandReader hook `after` (a registration id): `call_next`.
    fn execute_after_hook(&self, argv: Vec<Vec<u8>>, after: &str) -> ReplyValue {
        let _ = after;
        self.execute(argv)
    }
    /// `call_next(*args)`: inside a CommandReader hook execution, the next hook of the chain or
    /// the command itself, with `args`; its reply (errors as [`ReplyValue::Error`]).
    ///
    /// # Errors
    /// RedisGears' text outside a hook execution.
    fn call_next(&self, args: Vec<Vec<u8>>) -> Result<ReplyValue, String> {
        let _ = args;
        Err("Can not get CommandHook ctx".to_string())
    }
    /// `override_reply(value)`: the reply of the client command this execution is linked to
    /// (KeysReader `commands=`).
    ///
    /// # Errors
    /// RedisGears' text outside a linked execution, or for a second override.
    fn override_reply(&self, value: ReplyValue) -> Result<(), String> {
        let _ = value;
        Err("Can not get command ctx".to_string())
    }
    /// `get_command()`: the argv of the client command this execution is linked to.
    ///
    /// # Errors
    /// RedisGears' text outside a linked execution.
    fn get_command(&self) -> Result<Vec<Vec<u8>>, String> {
        Err("Can not get command ctx".to_string())
    }
}

/// How [`Runtime::enter_with`] runs an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterOptions {
    /// Whether steps may go asynchronous (coroutines, futures). False for executions that must
    /// finish inline (sync registrations inside MULTI/Lua).
    pub async_allowed: bool,
    /// The budgets of this execution (resolved: config, session, registration).
    pub limits: Limits,
    /// The execution's id (`<40 hex>-<n>`), for user code that asks for it.
    pub execution_id: Option<String>,
}

impl Default for EnterOptions {
    fn default() -> Self {
        EnterOptions {
            async_allowed: true,
            limits: Limits::default(),
            execution_id: None,
        }
    }
}

/// What a session was uploaded with, beyond its code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// The session's own limit options (`FUEL`, `MEMORY`, `TIMEOUT`, `MAXBREACHES`).
    pub overrides: LimitOverrides,
    /// The limits resolved at upload (config defaults with the session's options): what the
    /// session's load (wasm `init`) runs under.
    pub limits: Limits,
    /// `ISOLATE`: a fresh instance per execution (wasm).
    pub isolate: bool,
}

/// Counters a runtime reports for `INFO gears`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Warm instances kept in session pools.
    pub instances_pooled: u64,
    /// Compiled-artefact cache hits.
    pub cache_hits: u64,
    /// Compiled-artefact cache misses (modules compiled).
    pub cache_misses: u64,
}

/// A runtime's per-session state (for Python: the session's globals).
#[derive(Clone)]
pub struct SessionState(pub Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionState(..)")
    }
}

/// A way to run user code: Python (gears-python) now, wasm next.
pub trait Runtime: Send + Sync {
    /// The runtime's name (`python`).
    fn name(&self) -> &'static str;
    /// Creates the state of a new session.
    ///
    /// # Errors
    /// If the runtime cannot start.
    fn new_session(&self, id: &str) -> Result<SessionState, RuntimeError>;
    /// [`Runtime::new_session`] with the session's upload options (limits, isolation).
    ///
    /// # Errors
    /// If the runtime cannot start.
    fn new_session_with(
        &self,
        id: &str,
        opts: &SessionOptions,
    ) -> Result<SessionState, RuntimeError> {
        let _ = opts;
        self.new_session(id)
    }
    /// Whether the runtime enforces [`Limits`] itself (wasm: fuel, memory caps and deadlines
    /// inside the sandbox). Otherwise the engine arms a watchdog for `timeout_ms`.
    fn hard_limits(&self) -> bool {
        false
    }
    /// The error text an execution stopped by `b` ends with.
    fn breach_text(&self, b: &Breach) -> String {
        b.to_string()
    }
    /// Counters for `INFO gears`.
    fn stats(&self) -> RuntimeStats {
        RuntimeStats::default()
    }
    /// Runs a session's top-level code and reports the functions it declared.
    ///
    /// # Errors
    /// The user-visible error text of a failing script.
    fn load(
        &self,
        state: &SessionState,
        code: &[u8],
        host: Arc<dyn HostApi>,
    ) -> Result<plan::Loaded, String>;
    /// Enters the runtime for an execution of `state`'s functions and calls `f` with the calls
    /// interface; for Python the GIL is held throughout, except around host calls. `abort`
    /// receives the runtime's interrupt hook while `f` runs.
    fn enter(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        abort: &Abort,
        f: &mut dyn FnMut(&mut dyn Calls),
    );
    /// [`Runtime::enter`] with options ([`Runtime::enter`] uses the defaults: async allowed).
    fn enter_with(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        abort: &Abort,
        opts: EnterOptions,
        f: &mut dyn FnMut(&mut dyn Calls),
    ) {
        let _ = opts;
        self.enter(state, host, abort, f);
    }
    /// Runs several executions of `state`'s functions one after another in one entry into the
    /// runtime (for Python: one GIL acquisition and one thread context for a whole queue drain,
    /// while each execution keeps its own abort target and limits). Before each execution
    /// `next` is called, with the runtime entered; it returns that execution's abort and
    /// options, or None to stop; then `f` runs it. `f` must release the runtime (through
    /// [`Calls::unlocked`]) around anything that takes the keyspace. The default enters once
    /// per execution.
    fn enter_each(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        next: &mut dyn FnMut() -> Option<(Arc<Abort>, EnterOptions)>,
        f: &mut dyn FnMut(&mut dyn Calls),
    ) {
        while let Some((abort, opts)) = next() {
            self.enter_with(state, host.clone(), &abort, opts, f);
        }
    }
    /// RG.PYPROFILE STATS: the profile report of a session's callbacks, ordered by `order`;
    /// errors carry tracebacks per `attempt_traceback` (PythonAttemptTraceback).
    ///
    /// # Errors
    /// The user-visible error text (no data, or a runtime without profiling).
    fn profile_stats(
        &self,
        state: &SessionState,
        order: &str,
        attempt_traceback: bool,
    ) -> Result<String, String> {
        let _ = (state, order, attempt_traceback);
        Err("profiling is not supported by this runtime".to_string())
    }
    /// RG.PYPROFILE RESET: discards a session's profile data.
    ///
    /// # Errors
    /// The user-visible error text.
    fn profile_reset(&self, state: &SessionState) -> Result<(), String> {
        let _ = state;
        Err("profiling is not supported by this runtime".to_string())
    }
    /// Makes the packages installed in `dirs` importable, `dirs[0]` first, ahead of everything
    /// else; `root` is the directory all package directories live in (earlier entries below it
    /// that are not in `dirs` are dropped). Runtimes without packages ignore it.
    ///
    /// # Errors
    /// The runtime's error text.
    fn set_package_dirs(
        &self,
        _root: &std::path::Path,
        _dirs: &[std::path::PathBuf],
    ) -> Result<(), String> {
        Ok(())
    }
    /// Forgets the modules imported since the runtime started, so the next import loads newly
    /// installed packages (RedisGears resets `sys.modules` after installing requirements).
    ///
    /// # Errors
    /// The runtime's error text.
    fn reset_modules(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Stops an execution from outside its thread: RG.ABORTEXECUTION sets the flag and the runtime's
/// hook interrupts running user code (for Python: an exception raised in its thread).
#[derive(Default)]
pub struct Abort {
    flag: std::sync::atomic::AtomicBool,
    reason: parking_lot::Mutex<Option<String>>,
    breach: parking_lot::Mutex<Option<Breach>>,
    hook: parking_lot::Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Abort")
            .field("aborted", &self.is_aborted())
            .finish()
    }
}

impl Abort {
    /// Whether the execution was asked to stop.
    pub fn is_aborted(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Why it was stopped.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().clone()
    }

    /// Asks the execution to stop and interrupts its running user code.
    pub fn abort(&self, reason: &str) {
        *self.reason.lock() = Some(reason.to_string());
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(h) = self.hook.lock().as_ref() {
            h();
        }
    }

    /// Stops the execution for a limit breach (or RG.ABORTEXECUTION): records the breach (the
    /// first one wins) with its error text, then aborts as [`Abort::abort`].
    pub fn abort_breach(&self, breach: Breach, text: &str) {
        {
            let mut b = self.breach.lock();
            if b.is_some() {
                return;
            }
            *b = Some(breach);
        }
        self.abort(text);
    }

    /// The breach that stopped the execution, if one did.
    pub fn breach(&self) -> Option<Breach> {
        *self.breach.lock()
    }

    /// Installs (or clears) the runtime's interrupt hook for the running code.
    pub fn set_hook(&self, hook: Option<Box<dyn Fn() + Send + Sync>>) {
        *self.hook.lock() = hook;
    }
}
