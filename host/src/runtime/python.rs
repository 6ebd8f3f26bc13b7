//! The Python runtime: binds gears-python (embedded CPython) to the engine's [`Runtime`] and
//! [`Calls`] traits, and gears-python's `Host` to [`HostApi`].
//!
//! Records are Python objects from the first step on; callbacks are Python functions. The GIL
//! is held while a step runs and released around every host call (gears-python does that in
//! `execute` and `atomic`), so the lock order keyspace → GIL holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gears_python::future::{StepError, StepMode, call_step};
use gears_python::pyo3::exceptions::PyStopIteration;
use gears_python::pyo3::prelude::*;
use gears_python::pyo3::types::{PyDict, PyList, PyString, PyTuple};
use gears_python::{ExecOptions, HostReply, convert};

use super::plan::{self as rplan, Loaded};
use super::{
    Abort, Callback, Calls, EnterOptions, HostApi, LogLevel, Native, Record, ReplyValue, RunDone,
    RunResult, Runtime, RuntimeError, SessionState,
};

/// RG.PYSTATS: (TotalAllocated, PeakAllocated, CurrAllocated) of the Python allocators.
pub fn alloc_stats() -> (i64, i64, i64) {
    gears_python::alloc::stats()
}

/// The Python runtime (one process-wide interpreter).
#[derive(Debug, Default)]
pub struct PythonRuntime;

impl PythonRuntime {
    /// Starts the interpreter and the prelude.
    ///
    /// # Errors
    /// If CPython or the prelude fails to start.
    pub fn start() -> Result<PythonRuntime, RuntimeError> {
        gears_python::init().map_err(|e| RuntimeError::Guest(e.to_string()))?;
        Ok(PythonRuntime)
    }
}

/// gears-python's view of the host, for code of one session.
struct Bridge {
    api: Arc<dyn HostApi>,
    state: SessionState,
}

fn to_host_reply(r: ReplyValue) -> HostReply {
    match r {
        ReplyValue::Nil => HostReply::Nil,
        ReplyValue::Int(n) => HostReply::Int(n),
        ReplyValue::Double(d) => HostReply::Double(d),
        ReplyValue::Bool(b) => HostReply::Bool(b),
        ReplyValue::Status(s) => HostReply::Status(s),
        ReplyValue::Bulk(b) => HostReply::Bulk(b),
        ReplyValue::Error(e) => HostReply::Error(e),
        ReplyValue::Array(a) => HostReply::Array(a.into_iter().map(to_host_reply).collect()),
    }
}

fn from_host_reply(r: HostReply) -> ReplyValue {
    match r {
        HostReply::Nil => ReplyValue::Nil,
        HostReply::Int(n) => ReplyValue::Int(n),
        HostReply::Double(d) => ReplyValue::Double(d),
        HostReply::Bool(b) => ReplyValue::Bool(b),
        HostReply::Status(s) => ReplyValue::Status(s),
        HostReply::Bulk(b) => ReplyValue::Bulk(b),
        HostReply::Error(e) => ReplyValue::Error(e),
        HostReply::Array(a) => ReplyValue::Array(a.into_iter().map(from_host_reply).collect()),
    }
}

impl gears_python::Host for Bridge {
    fn execute(&self, argv: Vec<Vec<u8>>) -> HostReply {
        to_host_reply(self.api.execute(argv))
    }
    fn log(&self, level: gears_python::LogLevel, msg: &str) {
        let level = match level {
            gears_python::LogLevel::Debug => LogLevel::Debug,
            gears_python::LogLevel::Verbose => LogLevel::Verbose,
            gears_python::LogLevel::Notice => LogLevel::Notice,
            gears_python::LogLevel::Warning => LogLevel::Warning,
        };
        self.api.log(level, msg);
    }
    fn config_get(&self, key: &str) -> Option<String> {
        self.api.gears_config(key)
    }
    fn attempt_traceback(&self) -> bool {
        self.api.attempt_traceback()
    }
    fn next_plan_id(&self) -> String {
        self.api.next_plan_id()
    }
    fn atomic_enter(&self) {
        self.api.atomic_enter();
    }
    fn atomic_exit(&self) {
        self.api.atomic_exit();
    }
    fn start_run(
        &self,
        plan: gears_python::plan::PlanSpec,
        args: gears_python::plan::RunArgs,
        done: gears_python::RunDone,
    ) -> Result<(), String> {
        Python::attach(|py| {
            let run = convert_run(py, plan, args);
            let done: RunDone = Box::new(move |r: RunResult| {
                let results = r
                    .results
                    .into_iter()
                    .filter_map(|n| n.0.downcast::<Py<PyAny>>().ok().map(|b| *b))
                    .collect();
                done(results, r.errors);
            });
            let id = session(&self.state).id.clone();
            let runtime: Arc<dyn Runtime> = Arc::new(PythonRuntime);
            // Lock order: keyspace, then GIL. The engine takes its own locks.
            py.detach(|| {
                self.api
                    .start_run(runtime, self.state.clone(), &id, run, done)
            })
        })
    }
    fn alive(&self) -> bool {
        self.api.alive()
    }
    fn call_next(&self, args: Vec<Vec<u8>>) -> Result<HostReply, String> {
        self.api.call_next(args).map(to_host_reply)
    }
    fn override_reply(&self, value: HostReply) -> Result<(), String> {
        self.api.override_reply(from_host_reply(value))
    }
    fn get_command(&self) -> Result<Vec<Vec<u8>>, String> {
        self.api.get_command()
    }
}

/// A Python callback.
struct PyCallback(Py<PyAny>);

fn callback(py: Python<'_>, f: Py<PyAny>) -> Callback {
    let describe = f.bind(py).str().map(|s| s.to_string()).unwrap_or_default();
    Callback {
        inner: Arc::new(PyCallback(f)),
        describe,
    }
}

fn session(state: &SessionState) -> &gears_python::Session {
    state
        .0
        .downcast_ref::<gears_python::Session>()
        .expect("python sessions hold a gears_python::Session")
}

/// RedisGears 1.2's names for Python steps.
static NAMING: rplan::Naming = rplan::Naming {
    to_record: "RedisGearsPy_ToPyRecordMapper",
    mapper: "RedisGearsPy_PyCallbackMapper",
    flat_mapper: "RedisGearsPy_PyCallbackFlatMapper",
    filter: "RedisGearsPy_PyCallbackFilter",
    foreach: "RedisGearsPy_PyCallbackForEach",
    accumulate: "RedisGearsPy_PyCallbackAccumulate",
    extractor: "RedisGearsPy_PyCallbackExtractor",
    accumulate_by_key: "RedisGearsPy_PyCallbackAccumulateByKey",
    reducer: "RedisGearsPy_PyCallbackReducer",
};

fn convert_plan(py: Python<'_>, p: gears_python::plan::PlanSpec) -> rplan::PlanSpec {
    use gears_python::plan::StepKind as K;
    rplan::PlanSpec {
        id: p.id,
        reader: p.reader,
        desc: p.desc,
        steps: p
            .steps
            .into_iter()
            .map(|s| rplan::StepSpec {
                kind: match s.kind {
                    K::Map => rplan::StepKind::Map,
                    K::FlatMap => rplan::StepKind::FlatMap,
                    K::Filter => rplan::StepKind::Filter,
                    K::ForEach => rplan::StepKind::ForEach,
                    K::Accumulate => rplan::StepKind::Accumulate,
                    K::LocalGroupBy => rplan::StepKind::LocalGroupBy,
                    K::GroupBy => rplan::StepKind::GroupBy,
                    K::BatchGroupBy => rplan::StepKind::BatchGroupBy,
                    K::Repartition => rplan::StepKind::Repartition,
                    K::Collect => rplan::StepKind::Collect,
                    K::Limit => rplan::StepKind::Limit,
                },
                callbacks: s.callbacks.into_iter().map(|c| callback(py, c)).collect(),
                limit: s.limit,
            })
            .collect(),
        naming: &NAMING,
    }
}

fn convert_mode(m: gears_python::plan::Mode) -> rplan::Mode {
    match m {
        gears_python::plan::Mode::Async => rplan::Mode::Async,
        gears_python::plan::Mode::AsyncLocal => rplan::Mode::AsyncLocal,
        gears_python::plan::Mode::Sync => rplan::Mode::Sync,
    }
}

fn convert_run(
    py: Python<'_>,
    plan: gears_python::plan::PlanSpec,
    a: gears_python::plan::RunArgs,
) -> rplan::RunSpec {
    rplan::RunSpec {
        plan: convert_plan(py, plan),
        arg: match a.arg {
            gears_python::plan::RunArg::Text(t) => rplan::RunArg::Text(t),
            gears_python::plan::RunArg::Callable(f) => rplan::RunArg::Generator(callback(py, f)),
        },
        mode: convert_mode(a.mode),
        no_scan: a.no_scan,
        read_value: a.read_value,
        from_id: a.from_id,
    }
}

fn convert_outcome(py: Python<'_>, o: gears_python::ScriptOutcome) -> Loaded {
    let run = o.run.map(|(plan, a)| convert_run(py, plan, a));
    let registrations = o
        .registrations
        .into_iter()
        .map(|(plan, a)| rplan::RegisterSpec {
            plan: convert_plan(py, plan),
            mode: convert_mode(a.mode),
            on_registered: a.on_registered.map(|f| callback(py, f)),
            prefix: a.prefix,
            event_types: a.event_types,
            key_types: a.key_types,
            commands: a.commands,
            read_value: a.read_value,
            batch: a.batch,
            duration: a.duration,
            on_failed: match a.on_failed {
                gears_python::plan::OnFailed::Continue => rplan::OnFailed::Continue,
                gears_python::plan::OnFailed::Abort => rplan::OnFailed::Abort,
                gears_python::plan::OnFailed::Retry => rplan::OnFailed::Retry,
            },
            retry_interval: a.retry_interval,
            trim_stream: a.trim_stream,
            trigger: a.trigger,
            hook: a.hook,
            keyprefix: a.keyprefix,
            inorder: a.inorder,
            limits: crate::limits::LimitOverrides::default(),
        })
        .collect();
    Loaded { run, registrations }
}

impl Runtime for PythonRuntime {
    fn name(&self) -> &'static str {
        "python"
    }

    fn new_session(&self, id: &str) -> Result<SessionState, RuntimeError> {
        let s = gears_python::Session::new(id).map_err(|e| RuntimeError::Guest(e.to_string()))?;
        Ok(SessionState(Arc::new(s)))
    }

    fn load(
        &self,
        state: &SessionState,
        code: &[u8],
        host: Arc<dyn HostApi>,
    ) -> Result<Loaded, String> {
        let bridge = Arc::new(Bridge {
            api: host,
            state: state.clone(),
        });
        let outcome = gears_python::run_script(bridge, session(state), code)?;
        Ok(Python::attach(|py| convert_outcome(py, outcome)))
    }

    fn enter(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        abort: &Abort,
        f: &mut dyn FnMut(&mut dyn Calls),
    ) {
        self.enter_with(state, host, abort, EnterOptions::default(), f);
    }

    fn enter_with(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        abort: &Abort,
        opts: EnterOptions,
        f: &mut dyn FnMut(&mut dyn Calls),
    ) {
        let traceback = host.attempt_traceback();
        let memory_cap = opts.limits.memory_bytes;
        let exec_opts = ExecOptions {
            async_allowed: opts.async_allowed,
            profile: host.profile_executions(),
        };
        let bridge = Arc::new(Bridge {
            api: host,
            state: state.clone(),
        });
        gears_python::pin_thread_state();
        gears_python::enter_execution(bridge, session(state), exec_opts, |py| {
            run_entered(py, traceback, abort, memory_cap, f);
        });
    }

    fn enter_each(
        &self,
        state: &SessionState,
        host: Arc<dyn HostApi>,
        next: &mut dyn FnMut() -> Option<(Arc<Abort>, EnterOptions)>,
        f: &mut dyn FnMut(&mut dyn Calls),
    ) {
        let Some(first) = next() else { return };
        let traceback = host.attempt_traceback();
        // The executions of one drain belong to one registration: the first one's mode is
        // everyone's.
        let exec_opts = ExecOptions {
            async_allowed: first.1.async_allowed,
            profile: host.profile_executions(),
        };
        let bridge = Arc::new(Bridge {
            api: host,
            state: state.clone(),
        });
        gears_python::pin_thread_state();
        gears_python::enter_execution(bridge, session(state), exec_opts, |py| {
            let mut item = Some(first);
            while let Some((abort, opts)) = item.take() {
                run_entered(py, traceback, &abort, opts.limits.memory_bytes, f);
                gears_python::end_execution();
                item = next();
            }
        });
    }

    fn breach_text(&self, b: &crate::limits::Breach) -> String {
        // RG.ABORTEXECUTION keeps the text Python executions always had.
        if b.kind == crate::limits::BreachKind::Abort {
            "Execution was aborted".to_string()
        } else {
            b.to_string()
        }
    }

    fn profile_stats(
        &self,
        state: &SessionState,
        order: &str,
        attempt_traceback: bool,
    ) -> Result<String, String> {
        session(state).profile_stats(order, attempt_traceback)
    }

    fn profile_reset(&self, state: &SessionState) -> Result<(), String> {
        session(state).profile_reset()
    }

    fn set_package_dirs(
        &self,
        root: &std::path::Path,
        dirs: &[std::path::PathBuf],
    ) -> Result<(), String> {
        let dirs: Vec<String> = dirs
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        gears_python::packages::set_package_dirs(&root.to_string_lossy(), &dirs)
    }

    fn reset_modules(&self) -> Result<(), String> {
        gears_python::packages::reset_modules()
    }
}

/// Runs one execution's `f` with the GIL held and the thread's context entered: `abort`
/// gets the interrupt hook for as long as `f` runs.
fn run_entered(
    py: Python<'_>,
    traceback: bool,
    abort: &Abort,
    memory_cap: u64,
    f: &mut dyn FnMut(&mut dyn Calls),
) {
    // RG.ABORTEXECUTION raises gears.forcestopped in this thread at the next bytecode
    // (a step waiting for a future or coroutine notices the flag instead).
    let thread_id = python_thread_id(py);
    let running = Arc::new(AtomicBool::new(true));
    if let Some(tid) = thread_id {
        let running = running.clone();
        // The hook runs on the aborting thread, which may hold the keyspace and must
        // not wait for the GIL: the interrupt is raised from a thread of its own.
        abort.set_hook(Some(Box::new(move || {
            let running = running.clone();
            let spawned = std::thread::Builder::new()
                .name("gears-abort".into())
                .spawn(move || interrupt_thread(tid, &running));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not interrupt python thread");
            }
        })));
    }
    let mut calls = PyCalls {
        py,
        traceback,
        abort,
        memory_cap,
        memory_base: gears_python::alloc::thread_net(),
        names: std::cell::RefCell::default(),
    };
    f(&mut calls);
    // Both under the GIL: an interrupt either sees the execution over, or is pending
    // now and consumed here (by running a bytecode) rather than hitting the thread's
    // next code. CPython keeps every thread checking for it while it is pending, and
    // clearing it with SetAsyncExc(NULL) would leave that check on for good.
    running.store(false, Ordering::SeqCst);
    if abort.is_aborted() {
        let _ = py.run(c"(lambda: None)()", None, None);
    }
    abort.set_hook(None);
}

/// This thread's Python thread id (`threading.get_ident()`), looked up once per thread.
fn python_thread_id(py: Python<'_>) -> Option<u64> {
    thread_local! {
        static TID: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    }
    if let Some(t) = TID.with(std::cell::Cell::get) {
        return Some(t);
    }
    let t = py
        .import("threading")
        .and_then(|t| t.getattr("get_ident")?.call0()?.extract::<u64>())
        .ok()?;
    TID.with(|c| c.set(Some(t)));
    Some(t)
}

/// Raises `gears.forcestopped` in the Python thread `tid` (PyThreadState_SetAsyncExc).
fn interrupt_thread(tid: u64, running: &AtomicBool) {
    Python::attach(|py| {
        let exc = gears_python::module::force_stopped_type(py);
        let call = py.import("ctypes").and_then(|ctypes| {
            let api = ctypes.getattr("pythonapi")?;
            let set = api.getattr("PyThreadState_SetAsyncExc")?;
            let ulong = ctypes.getattr("c_ulong")?.call1((tid,))?;
            let obj = ctypes.getattr("py_object")?.call1((exc,))?;
            Ok((set, ulong, obj))
        });
        // Preparing the call runs bytecode (the GIL may change hands); from the check to the
        // call none runs, so the execution cannot end in between.
        let r = call.and_then(|(set, ulong, obj)| {
            if running.load(Ordering::SeqCst) {
                set.call1((ulong, obj))?;
            }
            Ok(())
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not interrupt python thread");
        }
    });
}

/// Calls into Python with the GIL held.
struct PyCalls<'py, 'a> {
    py: Python<'py>,
    traceback: bool,
    abort: &'a Abort,
    /// MEMORY (0: none): bytes this thread may allocate through Python's allocators during the
    /// execution, checked after each callback (best effort).
    memory_cap: u64,
    /// This thread's allocation balance when the execution started.
    memory_base: i64,
    /// Field names of nested dicts (hash fields, stream entry fields) as Python strings: they
    /// repeat in every record of a scan, so each is made (and hashed) once per execution.
    names: std::cell::RefCell<Vec<(Box<str>, Py<PyString>)>>,
}

/// At most this many field names are cached per execution (records with many distinct field
/// names fall back to a fresh string per field).
const NAME_CACHE: usize = 32;

fn native(obj: Py<PyAny>) -> Native {
    Native(Box::new(obj))
}

fn obj(n: &Native) -> &Py<PyAny> {
    n.0.downcast_ref::<Py<PyAny>>()
        .expect("python records hold Py<PyAny>")
}

fn cb(c: &Callback) -> &Py<PyAny> {
    &c.inner
        .downcast_ref::<PyCallback>()
        .expect("python callbacks hold PyCallback")
        .0
}

impl PyCalls<'_, '_> {
    fn err(&self, e: &PyErr) -> RuntimeError {
        let py = self.py;
        if e.is_instance(py, gears_python::module::force_stopped_type(py).bind(py)) {
            return RuntimeError::Aborted("Execution was aborted".into());
        }
        RuntimeError::Guest(gears_python::format_error(py, e, self.traceback))
    }

    /// Calls a step callback; a returned coroutine or future is waited for (see
    /// `gears_python::future`).
    fn call(
        &self,
        c: &Callback,
        args: PyResult<Bound<'_, PyTuple>>,
        mode: StepMode,
    ) -> Result<Py<PyAny>, RuntimeError> {
        let args = args.map_err(|e| self.err(&e))?;
        let abort = self.abort;
        let aborted = move || abort.is_aborted();
        let r =
            call_step(self.py, cb(c).bind(self.py), args, mode, &aborted).map_err(|e| match e {
                StepError::Py(e) => self.err(&e),
                StepError::Message(m) => RuntimeError::Guest(m),
                StepError::Aborted => RuntimeError::Aborted("Execution was aborted".into()),
            });
        self.check_memory()?;
        r
    }

    /// The best-effort MEMORY limit: what this thread allocated (net) since the execution
    /// started, through Python's allocators (C extensions' own `malloc` is not seen).
    fn check_memory(&self) -> Result<(), RuntimeError> {
        if self.memory_cap == 0 {
            return Ok(());
        }
        let used = gears_python::alloc::thread_net().saturating_sub(self.memory_base);
        if u64::try_from(used).unwrap_or(0) <= self.memory_cap {
            return Ok(());
        }
        let b = crate::limits::Breach::memory(self.memory_cap);
        let text = b.to_string();
        self.abort.abort_breach(b, &text);
        Err(RuntimeError::Aborted(text))
    }

    /// `name` as a Python string, from the execution's cache of field names.
    fn field_name(&self, name: &str) -> Py<PyString> {
        let py = self.py;
        let mut names = self.names.borrow_mut();
        if let Some((_, s)) = names.iter().find(|(n, _)| &**n == name) {
            return s.clone_ref(py);
        }
        let s = PyString::new(py, name).unbind();
        if names.len() < NAME_CACHE {
            names.push((name.into(), s.clone_ref(py)));
        }
        s
    }

    /// A reader record as a Python object. The reader gives the top-level fields in RedisGears'
    /// order already; nested dicts (hash values, stream entry fields) are reordered the way
    /// RedisGears' C dict lists them, so `str(record)` prints the same.
    fn record_to_py(&self, r: Record, nested: bool) -> PyResult<Py<PyAny>> {
        let py = self.py;
        Ok(match r {
            Record::Null => py.None(),
            Record::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
            Record::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
            Record::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
            Record::Bytes(b) => convert::bytes_to_py(py, &b),
            Record::List(items) => {
                let list = PyList::empty(py);
                for i in items {
                    list.append(self.record_to_py(i, true)?)?;
                }
                list.into_any().unbind()
            }
            Record::Map(mut pairs) => {
                let d = PyDict::new(py);
                // A repeated field (a stream entry may have one) keeps its first place and its
                // last value. Records have few fields: a quadratic check allocates nothing.
                let mut i = 0;
                while i < pairs.len() {
                    if let Some(j) = pairs[..i].iter().position(|(k, _)| *k == pairs[i].0) {
                        let (_, v) = pairs.remove(i);
                        pairs[j].1 = v;
                    } else {
                        i += 1;
                    }
                }
                if nested {
                    // Nested dicts (hash values) keep the order RedisGears' C dict gives them.
                    let keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| k.as_bytes()).collect();
                    let order = convert::gears_dict_order(&keys);
                    for i in order {
                        if let Some((k, v)) = pairs.get_mut(i) {
                            let v = std::mem::replace(v, Record::Null);
                            d.set_item(self.field_name(k), self.record_to_py(v, true)?)?;
                        }
                    }
                } else {
                    for (k, v) in pairs {
                        let v = self.record_to_py(v, true)?;
                        // Readers' field names repeat in every record: interned once.
                        match k.as_str() {
                            "event" => d.set_item(gears_python::pyo3::intern!(py, "event"), v)?,
                            "key" => d.set_item(gears_python::pyo3::intern!(py, "key"), v)?,
                            "type" => d.set_item(gears_python::pyo3::intern!(py, "type"), v)?,
                            "value" => d.set_item(gears_python::pyo3::intern!(py, "value"), v)?,
                            "id" => d.set_item(gears_python::pyo3::intern!(py, "id"), v)?,
                            _ => d.set_item(k, v)?,
                        }
                    }
                }
                d.into_any().unbind()
            }
        })
    }
}

impl Calls for PyCalls<'_, '_> {
    fn import(&mut self, r: Record) -> Result<Native, RuntimeError> {
        self.record_to_py(r, false)
            .map(native)
            .map_err(|e| self.err(&e))
    }

    fn map(&mut self, c: &Callback, r: Native) -> Result<Native, RuntimeError> {
        let py = self.py;
        self.call(c, PyTuple::new(py, [obj(&r)]), StepMode::Record)
            .map(native)
    }

    fn flatmap(&mut self, c: &Callback, r: Native) -> Result<Vec<Native>, RuntimeError> {
        let py = self.py;
        let out = self.call(c, PyTuple::new(py, [obj(&r)]), StepMode::Record)?;
        let bound = out.bind(py);
        match bound.cast::<PyList>() {
            // Exactly a list: its elements become records, emitted last to first as in
            // RedisGears (which pops them off the end).
            Ok(list) => Ok(list.iter().rev().map(|i| native(i.unbind())).collect()),
            Err(_) => Ok(vec![native(out)]),
        }
    }

    fn filter(&mut self, c: &Callback, r: &Native) -> Result<bool, RuntimeError> {
        let py = self.py;
        let out = self.call(c, PyTuple::new(py, [obj(r)]), StepMode::Record)?;
        out.bind(py).is_truthy().map_err(|e| self.err(&e))
    }

    fn foreach(&mut self, c: &Callback, r: &Native) -> Result<(), RuntimeError> {
        let py = self.py;
        self.call(c, PyTuple::new(py, [obj(r)]), StepMode::Record)
            .map(|_| ())
    }

    fn accumulate(
        &mut self,
        c: &Callback,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError> {
        let py = self.py;
        let a = acc.map_or_else(|| py.None(), |a| obj(&a).clone_ref(py));
        self.call(
            c,
            PyTuple::new(py, [a, obj(&r).clone_ref(py)]),
            StepMode::Accumulate,
        )
        .map(native)
    }

    fn extract_key(&mut self, c: &Callback, r: &Native) -> Result<String, RuntimeError> {
        let py = self.py;
        let out = self.call(c, PyTuple::new(py, [obj(r)]), StepMode::Sync("extractor"))?;
        let b = out.bind(py);
        let key = match b.cast::<PyString>() {
            Ok(s) => s
                .to_cow()
                .map(|c| c.into_owned())
                .map_err(|e| self.err(&e))?,
            Err(_) => b.repr().map(|s| s.to_string()).map_err(|e| self.err(&e))?,
        };
        // Keys are C strings in RedisGears: a NUL byte ends them.
        Ok(match key.find('\0') {
            Some(i) => key[..i].to_string(),
            None => key,
        })
    }

    fn accumulate_by_key(
        &mut self,
        c: &Callback,
        key: &str,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError> {
        let py = self.py;
        let a = acc.map_or_else(|| py.None(), |a| obj(&a).clone_ref(py));
        let args = PyString::new(py, key).into_any().unbind();
        self.call(
            c,
            PyTuple::new(py, [args, a, obj(&r).clone_ref(py)]),
            StepMode::Accumulate,
        )
        .map(native)
    }

    fn reduce(
        &mut self,
        c: &Callback,
        key: &str,
        records: Vec<Native>,
    ) -> Result<Native, RuntimeError> {
        let py = self.py;
        let list = PyList::empty(py);
        for r in &records {
            list.append(obj(r)).map_err(|e| self.err(&e))?;
        }
        let args = [PyString::new(py, key).into_any(), list.into_any()];
        self.call(c, PyTuple::new(py, args), StepMode::Sync("reduce"))
            .map(native)
    }

    fn key_value(&mut self, key: &str, value: Native) -> Result<Native, RuntimeError> {
        let py = self.py;
        let d = PyDict::new(py);
        d.set_item("key", key).map_err(|e| self.err(&e))?;
        d.set_item("value", obj(&value)).map_err(|e| self.err(&e))?;
        Ok(native(d.into_any().unbind()))
    }

    fn reader_start(&mut self, c: &Callback) -> Result<Native, RuntimeError> {
        let py = self.py;
        let out = cb(c).call0(py).map_err(|e| self.err(&e))?;
        let b = out.bind(py);
        // A generator (or any iterator) yields the records; any other value is one record.
        if b.hasattr("__next__").unwrap_or(false) {
            return Ok(native(out));
        }
        let single = PyList::new(py, [out]).map_err(|e| self.err(&e))?;
        let it = single.try_iter().map_err(|e| self.err(&e))?;
        Ok(native(it.into_any().unbind()))
    }

    fn reader_next(&mut self, generator: &Native) -> Result<Option<Native>, RuntimeError> {
        let py = self.py;
        match obj(generator).call_method0(py, "__next__") {
            Ok(v) => Ok(Some(native(v))),
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => Ok(None),
            Err(e) => Err(self.err(&e)),
        }
    }

    fn unlocked(&mut self, f: &mut (dyn FnMut() + Send)) {
        self.py.detach(f);
    }

    fn to_reply(&mut self, r: &Native) -> ReplyValue {
        from_host_reply(convert::py_to_reply(obj(r).bind(self.py)))
    }
}
