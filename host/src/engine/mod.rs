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
use crate::runtime::plan::{Loaded, RunArg, RunSpec};
use crate::runtime::{HostApi, Runtime};

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

/// An RG.PYEXECUTE request, parsed.
#[derive(Debug, Clone, Default)]
pub struct ExecuteRequest {
    /// The script.
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
    host: OnceLock<Host>,
    next_exec: AtomicU64,
    next_plan: AtomicU64,
    wants_events: AtomicBool,
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
        let threads = usize::try_from(config.execution_threads)
            .unwrap_or(3)
            .max(1);
        Arc::new(Engine {
            config: RwLock::new(config),
            state: Mutex::new(State::default()),
            scheduler: scheduler::Scheduler::new(threads),
            python_factory: python,
            python: OnceLock::new(),
            host: OnceLock::new(),
            next_exec: AtomicU64::new(0),
            next_plan: AtomicU64::new(0),
            wants_events: AtomicBool::new(false),
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

    /// RG.PYEXECUTE: runs the script on a script thread of its own (so a script answers even
    /// while every execution thread is busy), then queues its `run()` on the execution threads,
    /// and calls `reply` with the outcome.
    pub fn pyexecute(self: &Arc<Self>, req: ExecuteRequest, reply: Reply<ExecuteReply>) {
        let engine = self.clone();
        let reply: SharedReply = Arc::new(Mutex::new(Some(reply)));
        let fallback = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("gears-script".into())
            .spawn(move || engine.pyexecute_now(req, reply));
        if spawned.is_err() {
            send(
                &fallback,
                ExecuteReply::Error("could not start a script thread".into()),
            );
        }
    }

    fn pyexecute_now(self: &Arc<Self>, req: ExecuteRequest, shared_reply: SharedReply) {
        let reply = |r: ExecuteReply| send(&shared_reply, r);
        let runtime = match self.python() {
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
        let reqs = match self.prepare_requirements(&*runtime, &req) {
            Ok(p) => p,
            Err(e) => return reply(ExecuteReply::Error(e)),
        };
        let state = match runtime.new_session(&sid) {
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
            reply(ExecuteReply::Ok);
            if let Some(run) = loaded.run {
                let exec = self.create_execution(&run, false);
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
        let exec = self.create_execution(&run, false);
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
    fn create_execution(&self, run: &RunSpec, registered: bool) -> Arc<Execution> {
        let (steps, _) = plan::expand(&run.plan);
        let exec = Execution::new(self.next_execution_id(), registered, steps);
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
            .enter(&session.state, api, &exec.abort, &mut |calls| {
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
                let reader: &mut dyn reader::Reader = match (run.plan.reader.as_str(), &run.arg) {
                    ("KeysReader", RunArg::Text(p)) => {
                        keys = reader::KeysReader::new(backend, p, run.no_scan, run.read_value);
                        &mut keys
                    }
                    ("StreamReader", RunArg::Text(k)) => {
                        stream = reader::StreamReader::new(backend, k, &run.from_id);
                        &mut stream
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
            let reason = exec
                .abort
                .reason()
                .or(aborted)
                .unwrap_or_else(|| "Execution was aborted".into());
            outcome.errors.push(reason);
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
                    && let Some(p) = st.steps.get_mut(idx)
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
        exec.abort.abort("Execution was aborted");
        if status == Status::Created {
            exec.finish(
                Status::Aborted,
                Outcome {
                    results: Vec::new(),
                    errors: vec!["Execution was aborted".into()],
                },
            );
        }
        Ok(())
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
