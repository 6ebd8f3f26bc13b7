//! The RedisGears engine: sessions, plans, executions and their scheduling, independent of the
//! runtime that runs user code.
//!
//! Owns: [`Engine`] (the API `command::gears` calls), sessions ([`session`]), plan display
//! ([`plan`]), executions ([`execution`]), the executor ([`step`]), readers ([`reader`]), the
//! data [`backend`] trait and the execution threads ([`scheduler`]).
//! May import `keyspace`, `runtime`, `limits`, `tenant` and `config`; never names pyo3 or
//! wasmtime: runtimes are reached through `runtime::Runtime`.

pub mod backend;
pub mod execution;
pub mod hooks;
mod nested;
pub mod plan;
pub mod reader;
pub mod registration;
pub mod requirements;
pub mod scheduler;
pub mod session;
pub mod step;
pub mod triggers;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

pub use backend::Backend;
pub use execution::{Execution, ExecutionId, Outcome, SHARD_ID, Status};
pub use registration::{ReaderKind, RegStats, RegStatus, Registration};
pub use session::Session;
pub use triggers::TriggerReply;

use crate::config::GearsConfig;
use crate::limits::{Breach, BreachCounters, LimitOverrides, Limits};
use crate::runtime::plan::{Loaded, RunArg, RunSpec};
use crate::runtime::{EnterOptions, HostApi, Runtime, SessionOptions};

/// Errors of engine operations; `Display` is RedisGears' wire text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Unknown execution id (GETEXECUTION, GETRESULTS, DROPEXECUTION).
    #[error("execution plan does not exist")]
    NoSuchPlan,
    /// Unknown execution id (ABORTEXECUTION).
    #[error("execution does not exist")]
    NoSuchExecution,
    /// GETRESULTS of a running execution.
    #[error("execution is still running")]
    StillRunning,
    /// DROPEXECUTION of a running execution.
    #[error("can not drop a not yet finished execution, abort it first.")]
    NotFinished,
}

/// Creates a runtime on first use (starting CPython costs time; servers that never run Python
/// never pay it).
pub type RuntimeFactory = Box<dyn Fn() -> Result<Arc<dyn Runtime>, String> + Send + Sync>;

/// Which runtime a session's code is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuntimeKind {
    /// RG.PYEXECUTE: Python source.
    #[default]
    Python,
    /// RG.WASMEXECUTE: a WebAssembly component.
    Wasm,
}

/// An RG.PYEXECUTE or RG.WASMEXECUTE request, parsed.
#[derive(Debug, Clone, Default)]
pub struct ExecuteRequest {
    /// The runtime.
    pub runtime: RuntimeKind,
    /// The script (Python) or module bytes (wasm).
    pub code: Vec<u8>,
    /// UNBLOCKING.
    pub unblocking: bool,
    /// ID.
    pub id: Option<String>,
    /// DESCRIPTION.
    pub desc: Option<String>,
    /// UPGRADE.
    pub upgrade: bool,
    /// REPLACE_WITH.
    pub replace_with: Option<String>,
    /// FORCE_REINSTALL_REQUIREMENTS.
    pub force_reinstall: bool,
    /// REQUIREMENTS.
    pub requirements: Vec<String>,
    /// FUEL, MEMORY, TIMEOUT, MAXBREACHES.
    pub limits: LimitOverrides,
    /// ISOLATE (wasm): a fresh instance per execution.
    pub isolate: bool,
}

/// The reply to RG.PYEXECUTE.
#[derive(Debug, Clone)]
pub enum ExecuteReply {
    /// `OK`: nothing ran, or registrations were made.
    Ok,
    /// An error with RedisGears' text.
    Error(String),
    /// `[results, errors]` of a blocking `run()`.
    Results(Outcome),
    /// The execution id of an UNBLOCKING `run()`.
    Id(String),
}

/// The engine's counters for `INFO gears`.
#[derive(Debug, Clone, Default)]
pub struct GearsInfo {
    /// Linked sessions per runtime name.
    pub sessions: BTreeMap<&'static str, usize>,
    /// Registrations.
    pub registrations: usize,
    /// Paused registrations (by hand, by their code, or automatically).
    pub registrations_paused: usize,
    /// Executions running now.
    pub executions_running: usize,
    /// Executions created and waiting for a thread.
    pub executions_queued: usize,
    /// Breaches so far, by kind name.
    pub breaches: Vec<(&'static str, u64)>,
    /// Automatic pauses so far.
    pub auto_pauses: u64,
    /// The wasm runtime's counters.
    pub wasm: crate::runtime::RuntimeStats,
}

/// Completion callback of an asynchronous engine operation.
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// A reply that several paths may try to send; the first wins.
type SharedReply = Arc<Mutex<Option<Reply<ExecuteReply>>>>;

fn send(reply: &SharedReply, r: ExecuteReply) {
    if let Some(f) = reply.lock().take() {
        f(r);
    }
}

type FastHash = foldhash::fast::RandomState;

#[derive(Default)]
struct State {
    executions: HashMap<ExecutionId, Arc<Execution>, FastHash>,
    /// Creation order for MaxExecutions; may hold ids already forgotten (skipped lazily, so
    /// forgetting is O(1)); `live` counts the ones still in `executions`.
    fifo: VecDeque<ExecutionId>,
    live: usize,
    free_on_finish: HashSet<ExecutionId, FastHash>,
    sessions: BTreeMap<String, Arc<Session>>,
    registrations: indexmap::IndexMap<String, Arc<Registration>>,
    triggers: HashMap<String, String>,
}

/// Where the engine reaches the server.
struct Host {
    backend: Arc<dyn Backend>,
    api: Arc<dyn HostApi>,
}

/// The engine of one server.
pub struct Engine {
    config: RwLock<GearsConfig>,
    state: Mutex<State>,
    scheduler: scheduler::Scheduler,
    python_factory: Option<RuntimeFactory>,
    python: OnceLock<Result<Arc<dyn Runtime>, String>>,
    wasm_factory: Option<RuntimeFactory>,
    wasm: OnceLock<Result<Arc<dyn Runtime>, String>>,
    breaches: BreachCounters,
    host: OnceLock<Host>,
    next_exec: AtomicU64,
    next_plan: AtomicU64,
    wants_events: AtomicBool,
    /// The KeysReader and StreamReader registrations, in registration order (what key events
    /// are matched against, without taking the engine's state lock).
    event_regs: RwLock<Arc<[Arc<Registration>]>>,
    timers: scheduler::Timers,
    requirements: requirements::Requirements,
    hooks: hooks::HookTable,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn random_hex40() -> String {
    (0..40)
        .map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

impl Engine {
    /// An engine with `config`; `python` creates the Python runtime on first use.
    pub fn new(config: GearsConfig, python: Option<RuntimeFactory>) -> Arc<Engine> {
        Self::with_runtimes(config, python, None)
    }

    /// An engine with `config`; `python` and `wasm` create their runtimes on first use.
    pub fn with_runtimes(
        config: GearsConfig,
        python: Option<RuntimeFactory>,
        wasm: Option<RuntimeFactory>,
    ) -> Arc<Engine> {
        let threads = usize::try_from(config.execution_threads)
            .unwrap_or(3)
            .max(1);
        Arc::new(Engine {
            config: RwLock::new(config),
            state: Mutex::new(State::default()),
            scheduler: scheduler::Scheduler::new(threads),
            python_factory: python,
            python: OnceLock::new(),
            wasm_factory: wasm,
            wasm: OnceLock::new(),
            breaches: BreachCounters::default(),
            host: OnceLock::new(),
            next_exec: AtomicU64::new(0),
            next_plan: AtomicU64::new(0),
            wants_events: AtomicBool::new(false),
            event_regs: RwLock::new(Arc::from(Vec::new())),
            timers: scheduler::Timers::new(),
            requirements: requirements::Requirements::new(requirements::default_python()),
            hooks: hooks::HookTable::default(),
        })
    }

    /// Connects the engine to the server's data and command dispatch (once, after the server's
    /// shared state exists).
    pub fn attach_host(&self, backend: Arc<dyn Backend>, api: Arc<dyn HostApi>) {
        let _ = self.host.set(Host { backend, api });
    }

    /// The RedisGears configuration.
    pub fn config(&self) -> parking_lot::RwLockReadGuard<'_, GearsConfig> {
        self.config.read()
    }

    /// The RedisGears configuration, for RG.CONFIGSET.
    pub fn config_mut(&self) -> parking_lot::RwLockWriteGuard<'_, GearsConfig> {
        self.config.write()
    }

    /// A fresh plan id (`GB()` and `register()` each consume one).
    pub fn next_plan_id(&self) -> String {
        format!(
            "{SHARD_ID}-{}",
            self.next_plan.fetch_add(1, Ordering::SeqCst)
        )
    }

    fn next_execution_id(&self) -> ExecutionId {
        ExecutionId(self.next_exec.fetch_add(1, Ordering::SeqCst))
    }

    fn python(&self) -> Result<Arc<dyn Runtime>, String> {
        self.python
            .get_or_init(|| match &self.python_factory {
                Some(f) => f(),
                None => Err("Python support is not built into this server".to_string()),
            })
            .clone()
    }

    fn wasm(&self) -> Result<Arc<dyn Runtime>, String> {
        self.wasm
            .get_or_init(|| match &self.wasm_factory {
                Some(f) => f(),
                None => Err("WebAssembly support is not built into this server".to_string()),
            })
            .clone()
    }

    /// The wasm runtime, if it was started.
    pub fn wasm_runtime(&self) -> Option<Arc<dyn Runtime>> {
        self.wasm.get().and_then(|r| r.as_ref().ok()).cloned()
    }

    /// Breach and automatic-pause counters.
    pub fn breach_counters(&self) -> &BreachCounters {
        &self.breaches
    }

    /// The limits an execution of `session` runs under (a registration's options lower them).
    /// Config defaults bind every runtime that enforces limits itself (wasm); for the others
    /// (Python) only `DefaultTimeoutMS` and `MaxBreachesBeforePause` apply by default, fuel and
    /// memory only when the session or registration sets them.
    pub fn limits_for(&self, session: &Session, reg: Option<&LimitOverrides>) -> Limits {
        self.resolve_limits(&*session.runtime, &session.limits, reg)
    }

    fn resolve_limits(
        &self,
        runtime: &dyn Runtime,
        session: &LimitOverrides,
        reg: Option<&LimitOverrides>,
    ) -> Limits {
        let defaults = {
            let c = self.config.read();
            let hard = runtime.hard_limits();
            let u = |v: i64| u64::try_from(v).unwrap_or(0);
            Limits {
                fuel: if hard { u(c.default_fuel) } else { 0 },
                memory_bytes: if hard { u(c.default_memory_limit) } else { 0 },
                timeout_ms: u(c.default_timeout_ms),
                max_breaches: u32::try_from(c.max_breaches_before_pause).unwrap_or(u32::MAX),
            }
        };
        let limits = defaults.with(session);
        match reg {
            Some(r) => limits.lowered(r),
            None => limits,
        }
    }

    fn host(&self) -> Result<&Host, String> {
        self.host
            .get()
            .ok_or_else(|| "engine is not attached to a server".to_string())
    }

    /// Stops the execution threads (server shutdown).
    pub fn shutdown(&self) {
        self.timers.shutdown();
        self.scheduler.shutdown();
    }

    /// RG.PYEXECUTE: [`Engine::execute`] of Python code.
    pub fn pyexecute(self: &Arc<Self>, mut req: ExecuteRequest, reply: Reply<ExecuteReply>) {
        req.runtime = RuntimeKind::Python;
        self.execute(req, reply);
    }

    /// RG.PYEXECUTE / RG.WASMEXECUTE: loads the session on a script thread of its own (so an
    /// upload answers even while every execution thread is busy; a module compiles there, off
    /// the serving threads), then queues its `run()` on the execution threads, and calls
    /// `reply` with the outcome.
    pub fn execute(self: &Arc<Self>, req: ExecuteRequest, reply: Reply<ExecuteReply>) {
        let engine = self.clone();
        let reply: SharedReply = Arc::new(Mutex::new(Some(reply)));
        let fallback = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("gears-script".into())
            .spawn(move || {
                scheduler::below_serving();
                engine.pyexecute_now(req, reply);
            });
        if spawned.is_err() {
            send(
                &fallback,
                ExecuteReply::Error("could not start a script thread".into()),
            );
        }
    }

    fn pyexecute_now(self: &Arc<Self>, req: ExecuteRequest, shared_reply: SharedReply) {
        let reply = |r: ExecuteReply| send(&shared_reply, r);
        let runtime = match req.runtime {
            RuntimeKind::Python => self.python(),
            RuntimeKind::Wasm => self.wasm(),
        };
        let runtime = match runtime {
            Ok(rt) => rt,
            Err(e) => return reply(ExecuteReply::Error(e)),
        };
        let (backend, api) = match self.host() {
            Ok(h) => (h.backend.clone(), h.api.clone()),
            Err(e) => return reply(ExecuteReply::Error(e)),
        };
        let sid = req.id.clone().unwrap_or_else(random_hex40);
        {
            let st = self.state.lock();
            if let Some(r) = &req.replace_with {
                if st.sessions.contains_key(&sid) {
                    return reply(ExecuteReply::Error(format!(
                        "Can not replace an existing session {sid} with {r}"
                    )));
                }
                if !st.sessions.contains_key(r) {
                    return reply(ExecuteReply::Error(format!(
                        "Can not replace with {r}, session does not exists."
                    )));
                }
            } else if st.sessions.contains_key(&sid) && !req.upgrade {
                return reply(ExecuteReply::Error(format!("Session {sid} already exists")));
            }
        }
        let reqs = if req.runtime == RuntimeKind::Python {
            match self.prepare_requirements(&*runtime, &req) {
                Ok(p) => p,
                Err(e) => return reply(ExecuteReply::Error(e)),
            }
        } else {
            requirements::Prepared::default()
        };
        let session_opts = SessionOptions {
            overrides: req.limits,
            limits: self.resolve_limits(&*runtime, &req.limits, None),
            isolate: req.isolate,
        };
        let state = match runtime.new_session_with(&sid, &session_opts) {
            Ok(s) => s,
            Err(e) => return reply(ExecuteReply::Error(e.to_string())),
        };
        let loaded: Loaded = match runtime.load(&state, &req.code, api.clone()) {
            Ok(l) => l,
            Err(e) => return reply(ExecuteReply::Error(e)),
        };
        let session = Arc::new(Session {
            id: sid.clone(),
            desc: req.desc.clone(),
            runtime,
            state,
            requirements: reqs
                .refs
                .iter()
                .map(|r| r.requirement().name().to_string())
                .collect(),
            requirements_installed: reqs.installed,
            requirement_refs: reqs.refs,
            registrations: Mutex::new(Vec::new()),
            limits: req.limits,
            isolate: req.isolate,
        });
        if !loaded.registrations.is_empty() {
            let replaced = match &req.replace_with {
                Some(r) => Some(r.clone()),
                None if req.upgrade && self.session(&sid).is_some() => Some(sid.clone()),
                None => None,
            };
            let old = replaced.as_deref().and_then(|r| self.session(r));
            if let Err(e) = self.register_all(&session, replaced.as_deref(), &loaded.registrations)
            {
                return reply(ExecuteReply::Error(e));
            }
            self.requirements_registered(&session, old.as_deref());
            // The run's execution exists before the reply, so RG.DUMPEXECUTIONS right after
            // it lists the execution.
            let exec = loaded
                .run
                .as_ref()
                .map(|run| self.create_execution(run, false, &session));
            reply(ExecuteReply::Ok);
            if let (Some(run), Some(exec)) = (loaded.run, exec) {
                let engine = self.clone();
                self.scheduler.submit(move || {
                    engine.run_execution(&exec, &session, &run, &*backend, api);
                });
            }
            return;
        }
        let Some(run) = loaded.run else {
            return reply(ExecuteReply::Ok);
        };
        self.requirements_registered(&session, None);
        let exec = self.create_execution(&run, false, &session);
        let unblocking = req.unblocking;
        if unblocking {
            reply(ExecuteReply::Id(exec.id.to_string()));
        }
        let engine = self.clone();
        let job_reply = shared_reply.clone();
        let queued = self.scheduler.submit(move || {
            engine.run_execution(&exec, &session, &run, &*backend, api);
            if !unblocking {
                let outcome = exec.state.lock().outcome.clone();
                engine.forget(exec.id);
                send(&job_reply, ExecuteReply::Results(outcome));
            }
        });
        if !queued {
            reply(ExecuteReply::Error("the server is shutting down".into()));
        }
    }

    /// Creates an execution (status `created`) and applies MaxExecutions eviction.
    fn create_execution(
        &self,
        run: &RunSpec,
        registered: bool,
        session: &Session,
    ) -> Arc<Execution> {
        let (steps, _) = plan::expand(&run.plan);
        let exec = Execution::new(self.next_execution_id(), registered, steps);
        exec.set_abort_text(session.runtime.breach_text(&Breach::abort()));
        self.track_execution(&exec);
        exec
    }

    /// Adds an execution to the table and the FIFO, evicting the oldest past MaxExecutions.
    fn track_execution(&self, exec: &Arc<Execution>) {
        let max = self.config.read().max_executions;
        let mut st = self.state.lock();
        if max > 0 {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            while st.live >= max {
                let Some(old) = st.fifo.pop_front() else {
                    break;
                };
                let Some(finished) = st.executions.get(&old).map(|e| e.status().is_finished())
                else {
                    continue;
                };
                if st.free_on_finish.contains(&old) {
                    continue;
                }
                st.live -= 1;
                if finished {
                    st.executions.remove(&old);
                } else {
                    st.free_on_finish.insert(old);
                }
            }
        }
        st.executions.insert(exec.id, exec.clone());
        st.fifo.push_back(exec.id);
        st.live += 1;
    }

    /// Runs an execution on the calling (execution) thread to completion.
    fn run_execution(
        &self,
        exec: &Arc<Execution>,
        session: &Arc<Session>,
        run: &RunSpec,
        backend: &dyn Backend,
        api: Arc<dyn HostApi>,
    ) {
        if exec.abort.is_aborted() {
            return;
        }
        exec.state.lock().status = Status::Running;
        let started = Instant::now();
        let limits = self.limits_for(session, None);
        self.arm_watchdog(exec, session, &limits);
        let opts = EnterOptions {
            async_allowed: true,
            limits,
            execution_id: Some(exec.id.to_string()),
        };
        let profile = self.config.read().profile_executions != 0;
        let (_, owners) = plan::expand(&run.plan);
        let mut outcome = Outcome::default();
        let mut read_time = std::time::Duration::ZERO;
        let mut step_time = Vec::new();
        let mut aborted: Option<String> = None;
        let keep = exec.state.lock().natives.is_some();
        let mut kept = Vec::new();
        let active = crate::keyspace::journal::activate(&exec.journal);
        session
            .runtime
            .enter_with(&session.state, api, &exec.abort, opts, &mut |calls| {
                let executor = match step::Executor::new(&run.plan, profile) {
                    Ok(e) => e,
                    Err(e) => {
                        outcome.errors.push(e);
                        return;
                    }
                };
                let mut keys;
                let mut stream;
                let mut generator;
                let mut keys_only;
                let mut shards;
                let reader: &mut dyn reader::Reader = match (run.plan.reader.as_str(), &run.arg) {
                    ("KeysReader", RunArg::Text(p)) => {
                        keys = reader::KeysReader::new(backend, p, run.no_scan, run.read_value);
                        &mut keys
                    }
                    ("StreamReader", RunArg::Text(k)) => {
                        stream = reader::StreamReader::new(backend, k, &run.from_id);
                        &mut stream
                    }
                    ("KeysOnlyReader", RunArg::Text(p)) => {
                        keys_only = reader::KeysOnlyReader::new(backend, p, run.no_scan);
                        &mut keys_only
                    }
                    ("ShardsIDReader", _) => {
                        shards = reader::ShardsIdReader::default();
                        &mut shards
                    }
                    (_, RunArg::Generator(cb)) => {
                        generator = reader::GeneratorReader::new(cb);
                        &mut generator
                    }
                    _ => {
                        outcome
                            .errors
                            .push("Given reader do not support run or not exists".into());
                        return;
                    }
                };
                let produced = executor.run(reader, calls);
                outcome.results = produced.results.iter().map(|r| calls.to_reply(r)).collect();
                if keep {
                    kept = produced.results;
                }
                outcome.errors = produced.errors;
                read_time = produced.read_time;
                step_time = produced.step_time;
                aborted = produced.aborted;
            });
        drop(active);
        let status = if aborted.is_some() || exec.abort.is_aborted() {
            self.finish_aborted(exec, session, aborted, &mut outcome);
            Status::Aborted
        } else {
            Status::Done
        };
        close_journal(backend, exec, status);
        {
            let mut st = exec.state.lock();
            if keep {
                st.natives = Some(kept);
            }
            st.total = started.elapsed();
            st.read = read_time;
            for (op, t) in step_time.iter().enumerate() {
                if let Some(&idx) = owners.get(op)
                    && let Some(p) = Arc::make_mut(&mut st.steps).get_mut(idx)
                {
                    p.duration = *t;
                }
            }
        }
        exec.finish(status, outcome);
        let mut st = self.state.lock();
        if st.free_on_finish.remove(&exec.id) {
            // Evicted while running: already uncounted in the FIFO.
            st.executions.remove(&exec.id);
        }
    }

    /// Removes an execution from every list.
    fn forget(&self, id: ExecutionId) {
        let mut st = self.state.lock();
        if st.executions.remove(&id).is_some() && !st.free_on_finish.remove(&id) {
            // Still counted in the FIFO; its id there is skipped when reached.
            st.live = st.live.saturating_sub(1);
        }
        if st.fifo.len() > 2 * st.live + 64 {
            let State {
                fifo, executions, ..
            } = &mut *st;
            fifo.retain(|x| executions.contains_key(x));
        }
    }

    /// Every execution (RG.DUMPEXECUTIONS), oldest first.
    pub fn executions(&self) -> Vec<Arc<Execution>> {
        let st = self.state.lock();
        let mut all: Vec<_> = st.executions.values().cloned().collect();
        all.sort_by_key(|e| e.id);
        all
    }

    /// One execution by id.
    pub fn execution(&self, id: ExecutionId) -> Option<Arc<Execution>> {
        self.state.lock().executions.get(&id).cloned()
    }

    /// RG.DROPEXECUTION.
    ///
    /// # Errors
    /// Unknown or unfinished execution.
    pub fn drop_execution(&self, id: ExecutionId) -> Result<(), EngineError> {
        let exec = self.execution(id).ok_or(EngineError::NoSuchPlan)?;
        if !exec.status().is_finished() {
            return Err(EngineError::NotFinished);
        }
        self.forget(id);
        Ok(())
    }

    /// RG.ABORTEXECUTION: marks the execution aborted and interrupts its user code.
    ///
    /// # Errors
    /// Unknown execution.
    pub fn abort_execution(&self, id: ExecutionId) -> Result<(), EngineError> {
        let exec = self.execution(id).ok_or(EngineError::NoSuchExecution)?;
        let status = exec.status();
        if status.is_finished() {
            return Ok(());
        }
        let text = exec.abort_text();
        exec.abort.abort_breach(Breach::abort(), &text);
        if status == Status::Created {
            self.breaches.count(crate::limits::BreachKind::Abort);
            exec.finish(
                Status::Aborted,
                Outcome {
                    results: Vec::new(),
                    errors: vec![text],
                },
            );
        }
        Ok(())
    }

    /// The one place an execution that was stopped (a limit breach, RG.ABORTEXECUTION) ends:
    /// counts the breach and appends its typed error text to the outcome. The caller then sets
    /// status `aborted` (`Execution::finish`).
    pub(crate) fn finish_aborted(
        &self,
        exec: &Execution,
        session: &Session,
        aborted: Option<String>,
        outcome: &mut Outcome,
    ) -> Breach {
        let breach = exec.abort.breach().unwrap_or_else(Breach::abort);
        // The caller rolls the execution's writes back (`close_journal`) before `finish`.
        self.breaches.count(breach.kind);
        let text = match exec.abort.breach() {
            Some(b) => session.runtime.breach_text(&b),
            None => exec
                .abort
                .reason()
                .or(aborted)
                .unwrap_or_else(|| exec.abort_text()),
        };
        outcome.errors.push(text);
        breach
    }

    /// For runtimes that do not enforce limits themselves (Python): aborts the execution when
    /// its timeout passes (best effort: the runtime interrupts its user code).
    fn arm_watchdog(&self, exec: &Arc<Execution>, session: &Session, limits: &Limits) {
        if session.runtime.hard_limits() || limits.timeout_ms == 0 {
            return;
        }
        let weak = Arc::downgrade(exec);
        let ms = limits.timeout_ms;
        let text = session.runtime.breach_text(&Breach::timeout(ms));
        self.timers
            .after(std::time::Duration::from_millis(ms), move || {
                if let Some(exec) = weak.upgrade()
                    && exec.status() == Status::Running
                {
                    exec.abort.abort_breach(Breach::timeout(ms), &text);
                }
            });
    }

    /// What `INFO gears` reports.
    pub fn info(&self) -> GearsInfo {
        let mut info = GearsInfo::default();
        {
            let st = self.state.lock();
            for s in st.sessions.values() {
                *info.sessions.entry(s.runtime.name()).or_insert(0) += 1;
            }
            info.registrations = st.registrations.len();
            info.registrations_paused = st
                .registrations
                .values()
                .filter(|r| matches!(*r.status.lock(), RegStatus::Paused(_)))
                .count();
            for e in st.executions.values() {
                match e.status() {
                    Status::Running => info.executions_running += 1,
                    Status::Created => info.executions_queued += 1,
                    _ => {}
                }
            }
        }
        for k in crate::limits::BreachKind::ALL {
            info.breaches.push((k.as_str(), self.breaches.get(k)));
        }
        info.auto_pauses = self.breaches.pauses();
        if let Some(w) = self.wasm_runtime() {
            info.wasm = w.stats();
        }
        info
    }

    /// Linked sessions, by id.
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.state.lock().sessions.values().cloned().collect()
    }

    /// One linked session.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.state.lock().sessions.get(id).cloned()
    }
}

/// Ends an execution's journal: an aborted execution's writes are rolled back, a finished one's
/// journal is released.
fn close_journal(backend: &dyn Backend, exec: &Execution, status: Status) {
    if exec.journal.is_empty() {
        return;
    }
    if status == Status::Aborted {
        let restored = backend.rollback(&exec.journal);
        tracing::info!(execution = %exec.id, restored, "aborted execution rolled back");
    } else {
        backend.release_journal(&exec.journal);
    }
}
