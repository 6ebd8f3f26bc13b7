//! The native `redisgears` module: the builder (`gearsCtx` / `PyFlatExecution`), `execute`,
//! `atomic`, `log`, `configGet`, `flat_error` and the rest of the runtime functions RedisGears
//! 1.2 scripts use. Error texts are RedisGears'.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyByteArray, PyBytes, PyDict, PyFunction, PyInt, PyList, PyString, PyTuple, PyType,
};

use std::sync::Arc;

use crate::context::{self, Host, HostReply, LogLevel, RunDone};
use crate::convert::reply_to_py;
use crate::future::{self, Future};
use crate::plan::{self, PlanSpec, StepKind, StepSpec};
use crate::timers;

static GEARS_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static GEARS_FLAT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static GEARS_FORCE_STOPPED: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn exception_type(
    py: Python<'_>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &'static std::ffi::CStr,
) -> Py<PyType> {
    cell.get_or_init(py, || {
        PyErr::new_type(py, name, None, Some(&py.get_type::<PyException>()), None)
            .expect("creating an exception type with a valid dotted name")
    })
    .clone_ref(py)
}

/// `gears.error`: what the RedisGears API raises.
pub fn gears_error_type(py: Python<'_>) -> Py<PyType> {
    exception_type(py, &GEARS_ERROR, c"gears.error")
}

/// `gears.flat_error`: raised by `flat_error(msg)`; reported as its bare message.
pub fn flat_error_type(py: Python<'_>) -> Py<PyType> {
    exception_type(py, &GEARS_FLAT_ERROR, c"gears.flat_error")
}

/// `gears.forcestopped`: raised into code whose execution was aborted.
pub fn force_stopped_type(py: Python<'_>) -> Py<PyType> {
    exception_type(py, &GEARS_FORCE_STOPPED, c"gears.forcestopped")
}

/// A `gears.error` with `msg`.
pub fn gears_error(msg: &str) -> PyErr {
    let msg = msg.to_string();
    Python::attach(|py| PyErr::from_type(gears_error_type(py).into_bound(py), msg))
}

/// The readers `gearsCtx` accepts (after the prelude's aliasing). `ShardIDReader` is
/// RedisGears' internal C reader: a builder can be made over it, but neither `run()` nor
/// `register()` accepts it.
const READERS: &[&str] = &[
    "KeysReader",
    "StreamReader",
    "PythonReader",
    "CommandReader",
    "ShardIDReader",
];

/// The builder the prelude's `GearsBuilder` wraps: records steps, then runs or registers.
#[pyclass(name = "PyFlatExecution", module = "redisgears")]
pub struct FlatExecution {
    plan: PlanSpec,
}

fn check_fn(arg: &Bound<'_, PyAny>, msg: &str) -> PyResult<()> {
    if arg.cast::<PyFunction>().is_err() {
        return Err(gears_error(msg));
    }
    Ok(())
}

impl FlatExecution {
    fn push_one(&mut self, kind: StepKind, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let name = kind.as_str();
        if args.len() != 1 {
            return Err(gears_error(&format!(
                "wrong number of args to {name} function"
            )));
        }
        let f = args.get_item(0)?;
        check_fn(&f, &format!("{name} argument must be a function"))?;
        self.plan.steps.push(StepSpec {
            kind,
            callbacks: vec![f.unbind()],
            limit: None,
        });
        Ok(())
    }

    fn push_group(&mut self, kind: StepKind, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let name = if kind == StepKind::BatchGroupBy {
            "batchgroupby"
        } else {
            "groupby"
        };
        if args.len() != 2 {
            return Err(gears_error(&format!(
                "wrong number of args to {name} function"
            )));
        }
        let extractor = args.get_item(0)?;
        let reducer = args.get_item(1)?;
        check_fn(
            &extractor,
            &format!("{name} extractor argument must be a function"),
        )?;
        // RedisGears does not check batchgroupby's reducer (it fails when called).
        if kind != StepKind::BatchGroupBy {
            check_fn(
                &reducer,
                &format!("{name} reducer argument must be a function"),
            )?;
        }
        self.plan.steps.push(StepSpec {
            kind,
            callbacks: vec![extractor.unbind(), reducer.unbind()],
            limit: None,
        });
        Ok(())
    }
}

#[pymethods]
impl FlatExecution {
    /// `map(f)`
    #[pyo3(signature = (*args))]
    fn map(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::Map, args)
    }

    /// `flatmap(f)`
    #[pyo3(signature = (*args))]
    fn flatmap(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::FlatMap, args)
    }

    /// `filter(f)`
    #[pyo3(signature = (*args))]
    fn filter(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::Filter, args)
    }

    /// `foreach(f)`
    #[pyo3(signature = (*args))]
    fn foreach(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::ForEach, args)
    }

    /// `accumulate(f)`
    #[pyo3(signature = (*args))]
    fn accumulate(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::Accumulate, args)
    }

    /// `repartition(extractor)`
    #[pyo3(signature = (*args))]
    fn repartition(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_one(StepKind::Repartition, args)
    }

    /// `localgroupby(extractor, reducer)`
    #[pyo3(signature = (*args))]
    fn localgroupby(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_group(StepKind::LocalGroupBy, args)
    }

    /// `groupby(extractor, reducer)`
    #[pyo3(signature = (*args))]
    fn groupby(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_group(StepKind::GroupBy, args)
    }

    /// `batchgroupby(extractor, reducer)`
    #[pyo3(signature = (*args))]
    fn batchgroupby(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.push_group(StepKind::BatchGroupBy, args)
    }

    /// `collect()`
    #[pyo3(signature = (*args))]
    fn collect(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if !args.is_empty() {
            return Err(gears_error("wrong number of args to collect function"));
        }
        self.plan.steps.push(StepSpec {
            kind: StepKind::Collect,
            callbacks: Vec::new(),
            limit: None,
        });
        Ok(())
    }

    /// `limit(length[, offset])`
    #[pyo3(signature = (*args))]
    fn limit(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.is_empty() || args.len() > 2 {
            return Err(gears_error("wrong number of args to limit function"));
        }
        let num = |i: usize| -> PyResult<i64> {
            let v = args.get_item(i)?;
            if v.cast::<PyInt>().is_err() {
                return Err(gears_error("limit argument must be a number"));
            }
            v.extract::<i64>()
                .map_err(|_| gears_error("limit argument must be a number"))
        };
        let len = num(0)?;
        let offset = if args.len() == 2 { num(1)? } else { 0 };
        self.plan.steps.push(StepSpec {
            kind: StepKind::Limit,
            callbacks: Vec::new(),
            limit: Some((offset, len)),
        });
        Ok(())
    }

    /// `run(arg, **kwargs)`: at the top level of a script, collected (one per script); inside
    /// running code (a step, a coroutine, a timer), starts the execution at once and returns a
    /// future resolved with `[results, errors]` when it finishes.
    #[pyo3(signature = (arg, **kwargs))]
    fn run(
        &mut self,
        py: Python<'_>,
        arg: &Bound<'_, PyAny>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        follow_task(py);
        let args = plan::parse_run(&self.plan.reader, arg, kwargs)?;
        let plan = self.plan.clone_ref(py);
        let nested = context::with_current(move |c| {
            let Some(c) = c else {
                return Err(gears_error(
                    "Can not run an execution outside of a gears context",
                ));
            };
            let Some(script) = c.script.as_mut() else {
                return Ok(Some((c.host.clone(), plan, args)));
            };
            if script.run.is_some() {
                return Err(gears_error(
                    "Can not run more then 1 executions in a single script",
                ));
            }
            script.run = Some((plan, args));
            Ok(None)
        })?;
        match nested {
            None => Ok(py.None()),
            Some((host, plan, args)) => start_nested_run(py, host, plan, args),
        }
    }

    /// `register(**kwargs)`: collected by the running script; returns the registration id.
    #[pyo3(signature = (**kwargs))]
    fn register(&mut self, py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
        follow_task(py);
        let args = plan::parse_register(&self.plan.reader, kwargs)?;
        let mut plan = self.plan.clone_ref(py);
        let host = context::current_host()
            .ok_or_else(|| gears_error("Can not register outside of a gears context"))?;
        plan.id = host.next_plan_id();
        let id = plan.id.clone();
        context::with_current(|c| {
            let Some(script) = c.and_then(|c| c.script.as_mut()) else {
                return Err(gears_error(
                    "register() is only supported at the top level of an RG.PYEXECUTE script",
                ));
            };
            script.registrations.push((plan, args));
            Ok(())
        })?;
        Ok(id)
    }
}

/// `gearsCtx(reader, desc=None)`: a new builder.
#[pyfunction]
#[pyo3(name = "gearsCtx", signature = (*args))]
fn gears_ctx(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<FlatExecution> {
    follow_task(py);
    if args.is_empty() || args.len() > 2 {
        return Err(gears_error("wrong number of args to gearsCtx"));
    }
    let reader = args.get_item(0)?;
    let reader: String = reader
        .cast::<PyString>()
        .map_err(|_| gears_error("reader argument must be a string"))?
        .to_string();
    if !READERS.contains(&reader.as_str()) {
        return Err(gears_error("The given reader does not exists"));
    }
    let desc = match args.get_item(1) {
        Ok(d) if !d.is_none() => Some(
            d.cast::<PyString>()
                .map_err(|_| gears_error("desc argument must be a string"))?
                .to_string(),
        ),
        _ => None,
    };
    let host = context::current_host()
        .ok_or_else(|| gears_error("Can not create a gearsCtx on a python created thread"))?;
    Ok(FlatExecution {
        plan: PlanSpec {
            id: host.next_plan_id(),
            reader,
            desc,
            steps: Vec::new(),
        },
    })
}

/// The bytes of one `execute()` argument: bytes as they are, anything else as `str(x)`.
fn arg_bytes(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Ok(v.str()?.to_string().into_bytes())
}

/// `execute(command, *args)`: runs a Redis command and returns its reply as Python values.
#[pyfunction]
#[pyo3(name = "executeCommand", signature = (*args))]
fn execute_command(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    follow_task(py);
    if args.is_empty() {
        return Ok(PyList::empty(py).into_any().unbind());
    }
    if args.get_item(0)?.cast::<PyString>().is_err() {
        return Err(gears_error("the given command must be a string"));
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(arg_bytes(&a)?);
    }
    let host = context::current_host()
        .ok_or_else(|| gears_error("Can not execute a command outside of a gears context"))?;
    // Lock order: keyspace, then GIL. Release the GIL before the host takes its lock.
    let reply = py.detach(|| host.execute(argv));
    match reply {
        HostReply::Error(e) => Err(gears_error(&e)),
        r => Ok(reply_to_py(py, &r)),
    }
}

fn parse_level(v: &Bound<'_, PyAny>) -> PyResult<LogLevel> {
    let s: String = v
        .cast::<PyString>()
        .map_err(|_| gears_error("Log level must be a sting (debug/verbose/notice/warning)"))?
        .to_string();
    match s.as_str() {
        "debug" => Ok(LogLevel::Debug),
        "verbose" => Ok(LogLevel::Verbose),
        "notice" => Ok(LogLevel::Notice),
        "warning" => Ok(LogLevel::Warning),
        _ => Err(gears_error(
            "Log level should be one of the following : debug,verbose,notice,warning",
        )),
    }
}

/// `log(message, level='notice')`.
#[pyfunction]
#[pyo3(signature = (*args, **kwargs))]
fn log(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    follow_task(py);
    if args.is_empty() || args.len() > 2 {
        return Err(gears_error("log function must get a log message as input"));
    }
    let (msg, level) = if args.len() == 2 {
        // The deprecated log(level, message) form.
        let level = parse_level(&args.get_item(0)?)?;
        if let Some(h) = context::current_host() {
            h.log(
                LogLevel::Warning,
                "Specify log level as the first argument to log function is depricated, use key argument 'level' instead",
            );
        }
        (args.get_item(1)?, level)
    } else {
        let level = match kwargs.and_then(|k| k.get_item("level").ok().flatten()) {
            Some(l) => parse_level(&l)?,
            None => LogLevel::Notice,
        };
        (args.get_item(0)?, level)
    };
    let msg: String = msg
        .cast::<PyString>()
        .map_err(|_| gears_error("Log message must be a string"))?
        .to_string();
    if let Some(h) = context::current_host() {
        h.log(level, &msg);
    }
    Ok(())
}

/// `configGet(key)`: a value of the extra config dictionary, or None.
#[pyfunction]
#[pyo3(name = "config_get", signature = (*args))]
fn config_get(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    follow_task(py);
    if args.len() != 1 {
        return Err(gears_error(
            "get_config function must get a single key input",
        ));
    }
    let key: String = args
        .get_item(0)?
        .cast::<PyString>()
        .map_err(|_| gears_error("get_config key must be a string"))?
        .to_string();
    Ok(
        match context::current_host().and_then(|h| h.config_get(&key)) {
            Some(v) => PyString::new(py, &v).into_any().unbind(),
            None => py.None(),
        },
    )
}

/// `hashtag()`: the hashtag that maps to this shard's first slot (slot 0 stand-alone).
#[pyfunction]
#[pyo3(name = "getMyHashTag")]
fn get_my_hashtag() -> &'static str {
    "06S"
}

/// `flat_error(msg)`: raises an error reported as its bare message (no traceback); a message
/// starting with `PAUSE` pauses a registration.
#[pyfunction]
#[pyo3(name = "flatError", signature = (*args))]
fn flat_error(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    if args.len() != 1 {
        return Err(gears_error("not enough arguments for time flat error"));
    }
    let msg = args.get_item(0)?.str()?.to_string();
    Err(PyErr::from_type(flat_error_type(py).into_bound(py), msg))
}

/// `isAsyncAllow()`: whether the current step may go asynchronous.
#[pyfunction]
#[pyo3(name = "isAsyncAllow")]
fn is_async_allow() -> bool {
    context::with_current(|c| c.is_some_and(|c| c.in_step && c.async_allowed))
}

/// `isInAtomicBlock()`.
#[pyfunction]
#[pyo3(name = "isInAtomicBlock")]
fn is_in_atomic_block(py: Python<'_>) -> bool {
    follow_task(py);
    context::with_current(|c| c.is_some_and(|c| c.atomic_depth > 0))
}

/// The `atomic()` context manager: holds the keyspace for the block.
#[pyclass(name = "PyAtomic", module = "redisgears")]
pub struct Atomic;

#[pymethods]
impl Atomic {
    fn __enter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        follow_task(py);
        let host = context::with_current(|c| match c {
            None => Err(gears_error("Can not use atomic outside of a gears context")),
            Some(c) if c.atomic_depth > 0 => Err(gears_error("Already inside an atomic block")),
            Some(c) => {
                c.atomic_depth = 1;
                Ok(c.host.clone())
            }
        })?;
        py.detach(|| host.atomic_enter());
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let host = context::with_current(|c| match c {
            Some(c) if c.atomic_depth > 0 => {
                c.atomic_depth = 0;
                Ok(c.host.clone())
            }
            _ => Err(gears_error("Not inside an atomic block")),
        })?;
        host.atomic_exit();
        Ok(false)
    }
}

/// `atomic()`.
#[pyfunction]
#[pyo3(name = "atomicCtx")]
fn atomic_ctx() -> Atomic {
    Atomic
}

/// `call_next(*args)`: inside a CommandReader hook, runs the next hook of the command's chain
/// (the last registered runs first) or the command itself with `args` (the command name is
/// implied) and returns its reply as `execute()` does; an error reply raises `gears.error`.
#[pyfunction]
#[pyo3(name = "callNext", signature = (*args))]
fn call_next(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    follow_task(py);
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(arg_bytes(&a)?);
    }
    let host = context::current_host().ok_or_else(|| gears_error("Can not get CommandHook ctx"))?;
    // Lock order: keyspace, then GIL. The command may take the keyspace.
    match py.detach(|| host.call_next(argv)) {
        Err(e) | Ok(HostReply::Error(e)) => Err(gears_error(&e)),
        Ok(r) => Ok(reply_to_py(py, &r)),
    }
}

/// `get_command()`: the argv (`str`, or `bytearray` when not UTF-8) of the client command the
/// execution is linked to (KeysReader `commands=`).
#[pyfunction]
#[pyo3(name = "getCommand", signature = (*_args))]
fn get_command(py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    follow_task(py);
    let host = context::current_host().ok_or_else(|| gears_error("Can not get command ctx"))?;
    let argv = host.get_command().map_err(|e| gears_error(&e))?;
    let list = PyList::empty(py);
    for a in argv {
        list.append(crate::convert::bytes_to_py(py, &a))?;
    }
    Ok(list.into_any().unbind())
}

/// `override_reply(value)`: the reply the linked client command gets instead of its own
/// (converted as RedisGears converts results: `'-x'` an error, `'+x'` a status, ints, lists).
#[pyfunction]
#[pyo3(name = "overrideReply", signature = (*args))]
fn override_reply(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    follow_task(py);
    if args.len() != 1 {
        return Err(gears_error("Override reply must get a single argument"));
    }
    let host = context::current_host().ok_or_else(|| gears_error("Can not get command ctx"))?;
    let value = crate::convert::py_to_reply(&args.get_item(0)?);
    host.override_reply(value).map_err(|e| gears_error(&e))
}

/// `gearsFuture()`: a future tied to the record of the running step (see [`future`]).
#[pyfunction]
#[pyo3(name = "gearsFutureCtx", signature = (*args))]
fn gears_future_ctx(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<Future>> {
    if !args.is_empty() {
        return Err(gears_error("Future gets no arguments"));
    }
    future::create(py)
}

/// `registerTE(seconds, callback[, keyName])`: calls `callback()` every `seconds` seconds on the
/// timer thread, in the session's globals; with `keyName`, only if no key of that name exists
/// (returns False otherwise), and until that key is deleted (see [`timers`]).
#[pyfunction]
#[pyo3(name = "registerTimeEvent", signature = (*args))]
fn register_time_event(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<bool> {
    follow_task(py);
    if args.len() < 2 || args.len() > 3 {
        return Err(gears_error("not enough arguments for time event"));
    }
    let callback = args.get_item(1)?;
    check_fn(&callback, "callback must be a function")?;
    let seconds = args.get_item(0)?;
    if seconds.cast::<PyInt>().is_err() {
        return Err(gears_error("time argument must be a long"));
    }
    let seconds: i64 = seconds
        .extract()
        .map_err(|_| gears_error("time argument must be a long"))?;
    let key = match args.get_item(2) {
        Ok(k) => k
            .cast::<PyString>()
            .ok()
            .map(|k| k.to_string().into_bytes()),
        Err(_) => None,
    };
    let Some(session) = ExecutionSession::current() else {
        return Err(gears_error(
            "can not create time event on a python created thread",
        ));
    };
    timers::register(py, session, seconds, callback.unbind(), key)
}

/// A session as Python code holds it (`getGearsSession()`, the `s` of `runCoroutine`): enough
/// to run code of that session on another thread (`setGearsSession(s)`).
#[pyclass(name = "PyExecutionSession", module = "redisgears")]
pub struct ExecutionSession {
    pub(crate) host: Arc<dyn Host>,
    pub(crate) globals: Option<Py<PyDict>>,
    pub(crate) id: String,
}

impl ExecutionSession {
    /// The session of this thread's context, if any.
    pub fn current() -> Option<ExecutionSession> {
        context::with_current(|c| {
            c.map(|c| ExecutionSession {
                host: c.host.clone(),
                globals: c
                    .session
                    .as_ref()
                    .map(|g| Python::attach(|py| g.clone_ref(py))),
                id: c.session_id.clone(),
            })
        })
    }

    /// A context (outside any step) running code of this session.
    pub(crate) fn context(&self, py: Python<'_>) -> context::Context {
        context::Context::new(
            self.host.clone(),
            &self.id,
            self.globals.as_ref().map(|g| g.clone_ref(py)),
        )
    }
}

#[pymethods]
impl ExecutionSession {
    fn __repr__(&self) -> String {
        format!("<gears session {}>", self.id)
    }
}

/// `getGearsSession()`: the current session, or None on a thread without one.
#[pyfunction]
#[pyo3(name = "getGearsSession")]
fn get_gears_session(py: Python<'_>) -> PyResult<Py<PyAny>> {
    follow_task(py);
    Ok(match ExecutionSession::current() {
        Some(s) => Py::new(py, s)?.into_any(),
        None => py.None(),
    })
}

/// `setGearsSession(s)`: runs this thread's following code in session `s` (None: in no
/// session). Threads running a step or script keep their own session.
#[pyfunction]
#[pyo3(name = "setGearsSession", signature = (*args))]
fn set_gears_session(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let s = match args.get_item(0) {
        Ok(s) if !s.is_none() => s,
        _ => {
            context::unadopt();
            return Ok(());
        }
    };
    let s = s
        .cast::<ExecutionSession>()
        .map_err(|_| gears_error("given argument is not a gears session"))?;
    let ctx = s.borrow().context(py);
    context::adopt(ctx);
    Ok(())
}

static SESSION_VAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// On a thread that runs no step or script (the asyncio loop thread, user threads), Python code
/// runs in the session of its asyncio task: `GearsSession(s)` (used by `runCoroutine` and by
/// the gears futures' callbacks) also sets the prelude's `_gearsSessionVar`, which asyncio
/// keeps per task, and the API functions follow it. So a coroutine keeps its session across
/// any `await` (gather, tasks, events), whatever ran on the loop thread in between.
fn follow_task(py: Python<'_>) {
    if !context::with_current(|c| c.is_none_or(|c| c.adopted)) {
        return;
    }
    let var = SESSION_VAR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let globals = crate::base_globals(py).map_err(|e| gears_error(&e.to_string()))?;
        globals
            .bind(py)
            .get_item("_gearsSessionVar")?
            .map(Bound::unbind)
            .ok_or_else(|| gears_error("_gearsSessionVar is missing"))
    });
    let Ok(var) = var else { return };
    let Ok(s) = var.call_method0(py, "get") else {
        return;
    };
    let Ok(s) = s.bind(py).cast::<ExecutionSession>() else {
        return;
    };
    let s = s.borrow();
    let same = context::with_current(|c| {
        c.is_some_and(|c| c.session_id == s.id && Arc::ptr_eq(&c.host, &s.host))
    });
    if !same {
        context::adopt(s.context(py));
    }
}

/// Starts a nested execution and returns the future its `[results, errors]` resolve.
fn start_nested_run(
    py: Python<'_>,
    host: Arc<dyn Host>,
    plan: PlanSpec,
    args: plan::RunArgs,
) -> PyResult<Py<PyAny>> {
    let globals = crate::base_globals(py).map_err(|e| gears_error(&e.to_string()))?;
    let globals = globals.bind(py);
    let get = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        globals
            .get_item(name)?
            .ok_or_else(|| gears_error(&format!("{name} is missing")))
    };
    let fut = get("createFuture")?.call0()?;
    let set_results = get("setFutureResults")?.unbind();
    let target = fut.clone().unbind();
    let done: RunDone = Box::new(move |results, errors| {
        Python::attach(|py| {
            let r = PyList::new(py, results).and_then(|results| {
                let errors = PyList::new(py, errors)?;
                let both = PyList::new(py, [results.into_any(), errors.into_any()])?;
                set_results.call1(py, (target, both))
            });
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not resolve a run() future");
            }
        });
    });
    if context::with_current(|c| c.is_some_and(|c| c.step.is_some())) {
        // Inside a step callback: start it once the callback returned, so that it can continue
        // a future the callback returns (as RedisGears, which queues the new execution).
        let set_exception = get("setFutureException")?.unbind();
        let target = fut.clone().unbind();
        future::after_step(
            py,
            Box::new(move |py| {
                if let Err(e) = host.start_run(plan, args, done) {
                    let _ = set_exception.call1(py, (target, e));
                }
            }),
        );
    } else {
        host.start_run(plan, args, done)
            .map_err(|e| gears_error(&e))?;
    }
    Ok(fut.unbind())
}

/// `registerGearsThread()`: accepted for compatibility.
#[pyfunction]
#[pyo3(name = "registerGearsThread")]
fn register_gears_thread() {}

/// `_saveGlobals()`: accepted for compatibility (the prelude's globals are saved by the host).
#[pyfunction]
#[pyo3(name = "_saveGlobals")]
fn save_globals() {}

/// Builds the `redisgears` module and registers it in `sys.modules`.
///
/// # Errors
/// Python errors while creating the module.
pub fn install(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "redisgears")?;
    m.add_class::<FlatExecution>()?;
    m.add_class::<Atomic>()?;
    m.add_class::<Future>()?;
    m.add_class::<ExecutionSession>()?;
    for f in [
        wrap_pyfunction!(gears_ctx, &m)?,
        wrap_pyfunction!(execute_command, &m)?,
        wrap_pyfunction!(log, &m)?,
        wrap_pyfunction!(config_get, &m)?,
        wrap_pyfunction!(get_my_hashtag, &m)?,
        wrap_pyfunction!(flat_error, &m)?,
        wrap_pyfunction!(is_async_allow, &m)?,
        wrap_pyfunction!(is_in_atomic_block, &m)?,
        wrap_pyfunction!(atomic_ctx, &m)?,
        wrap_pyfunction!(call_next, &m)?,
        wrap_pyfunction!(get_command, &m)?,
        wrap_pyfunction!(override_reply, &m)?,
        wrap_pyfunction!(gears_future_ctx, &m)?,
        wrap_pyfunction!(register_time_event, &m)?,
        wrap_pyfunction!(get_gears_session, &m)?,
        wrap_pyfunction!(set_gears_session, &m)?,
        wrap_pyfunction!(register_gears_thread, &m)?,
        wrap_pyfunction!(save_globals, &m)?,
    ] {
        m.add_function(f)?;
    }
    m.add("GearsError", gears_error_type(py))?;
    m.add("GearsFlatError", flat_error_type(py))?;
    m.add("GearsForceStopped", force_stopped_type(py))?;
    let modules = py.import("sys")?.getattr("modules")?;
    modules.set_item("redisgears", &m)?;
    Ok(m)
}
