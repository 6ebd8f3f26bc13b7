//! gears-python: the embedded CPython interpreter and the RedisGears 1.x Python API.
//!
//! One interpreter per process. Every RG.PYEXECUTE session runs in its own globals dict, a copy
//! of the prelude's (the `GearsBuilder` API). The prelude sits on the native `redisgears` module
//! ([`module`]), which records builders' steps ([`plan`]) and reaches the server through the
//! [`Host`] trait gears-host implements. Python code always runs inside a [`context::Context`]
//! that says which host and session it serves.
//!
//! Asynchronous steps ([`future`]): coroutines run on one asyncio event loop thread (the
//! prelude's `loop`); a step waiting for a coroutine or a `gearsFuture()` waits without the GIL.
//! `run()` inside running code starts a nested execution through [`Host::start_run`]. Timers
//! (`registerTE`) run on one timer thread ([`timers`]); session profilers are in [`profile`].
//!
//! Lock order (the host's rule): keyspace, then GIL. Every call from Python into the host
//! (`execute`, `atomic`, `start_run`) releases the GIL first.
//!
//! This crate never depends on gears-host.

pub mod alloc;
pub mod context;
pub mod convert;
pub mod error;
pub mod future;
pub mod module;
pub mod packages;
pub mod plan;
pub mod profile;
#[cfg(test)]
mod testing;
pub mod timers;

use std::ffi::CString;
use std::sync::Arc;

pub use pyo3;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

pub use context::{Context, Host, HostReply, LogLevel, RunDone, ScriptOutcome};
pub use error::format_error;

/// The Python prelude (`GearsBuilder`, `GB`, `execute`, ...), run once into the base globals.
const PRELUDE: &str = include_str!("prelude.py");

static BASE_GLOBALS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Errors of the Python runtime.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The interpreter or the prelude failed to start.
    #[error("python initialisation failed: {0}")]
    Init(String),
}

pub(crate) fn base_globals(py: Python<'_>) -> Result<&Py<PyDict>, PythonError> {
    BASE_GLOBALS.get_or_try_init(py, || {
        let build = || -> PyResult<Py<PyDict>> {
            module::install(py)?;
            let g = PyDict::new(py);
            g.set_item("__builtins__", py.import("builtins")?)?;
            // `not_main` as in RedisGears, so user functions pickle by value.
            g.set_item("__name__", "not_main")?;
            let code = CString::new(PRELUDE)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
            py.run(&code, Some(&g), None)?;
            packages::snapshot_modules(py)?;
            Ok(g.unbind())
        };
        build().map_err(|e| PythonError::Init(format_error(py, &e, true)))
    })
}

thread_local! {
    static PINNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps a Python thread state alive on the calling thread for the rest of its life.
///
/// Without it every entry into Python from a thread that has no thread state (the server's
/// I/O thread running a sync trigger, an execution thread) creates one and destroys it on exit,
/// and CPython 3.11 maps and unmaps a data-stack chunk each time: that mmap/munmap churn
/// dominated the cost of a sync trigger. Call it before entering Python; cheap after the first.
#[allow(
    unsafe_code,
    reason = "CPython thread-state API has no safe pyo3 wrapper"
)]
pub fn pin_thread_state() {
    if PINNED.with(std::cell::Cell::get) {
        return;
    }
    init_interpreter();
    // SAFETY: the interpreter is initialised; this thread does not hold the GIL here (callers
    // pin before attaching). PyGILState_Ensure creates this thread's state and takes the GIL;
    // PyEval_SaveThread releases the GIL while the state (ensure count 1) stays, so later
    // PyGILState_Ensure/Release pairs reuse it instead of creating and deleting one.
    unsafe {
        let _ = pyo3::ffi::PyGILState_Ensure();
        let _ = pyo3::ffi::PyEval_SaveThread();
    }
    PINNED.with(|p| p.set(true));
}

fn init_interpreter() {
    alloc::install();
    Python::attach(|_| ());
}

/// Starts the interpreter and runs the prelude (idempotent).
///
/// # Errors
/// [`PythonError::Init`] if the prelude fails.
pub fn init() -> Result<(), PythonError> {
    alloc::install();
    pin_thread_state();
    Python::attach(|py| base_globals(py).map(|_| ()))
}

/// One session's Python state: its globals dict and its profiler.
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// The globals every callback of the session shares.
    pub globals: Py<PyDict>,
    /// Its profiler, enabled around step callbacks while ProfileExecutions is on (RG.PYPROFILE
    /// reads and resets it).
    pub profiler: parking_lot::Mutex<Arc<profile::Profiler>>,
}

/// Calls a function of the prelude (base globals) with `args`.
fn prelude_call<'py>(
    py: Python<'py>,
    name: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let base = base_globals(py).map_err(|e| module::gears_error(&e.to_string()))?;
    let f = base
        .bind(py)
        .get_item(name)?
        .ok_or_else(|| module::gears_error(&format!("{name} is missing")))?;
    f.call1(args)
}

impl Session {
    /// A new session with a fresh copy of the base globals.
    ///
    /// # Errors
    /// [`PythonError::Init`] if the interpreter cannot start.
    pub fn new(id: &str) -> Result<Session, PythonError> {
        alloc::install();
        Python::attach(|py| {
            let base = base_globals(py)?;
            let globals = base
                .bind(py)
                .copy()
                .map_err(|e| PythonError::Init(format_error(py, &e, true)))?;
            let profiler = profile::Profiler::new(py)
                .map_err(|e| PythonError::Init(format_error(py, &e, true)))?;
            Ok(Session {
                id: id.to_string(),
                globals: globals.unbind(),
                profiler: parking_lot::Mutex::new(Arc::new(profiler)),
            })
        })
    }

    /// RG.PYPROFILE STATS: the pstats report of the session's profiler, sorted by `order`.
    ///
    /// # Errors
    /// The Python error text (pstats raises `TypeError` when nothing was profiled).
    pub fn profile_stats(&self, order: &str, attempt_traceback: bool) -> Result<String, String> {
        let p = self.profiler.lock().clone();
        Python::attach(|py| {
            p.report(py, order)
                .map_err(|e| format_error(py, &e, attempt_traceback))
        })
    }

    /// RG.PYPROFILE RESET: replaces the session's profiler with a fresh one.
    ///
    /// # Errors
    /// The Python error text if cProfile fails.
    pub fn profile_reset(&self) -> Result<(), String> {
        Python::attach(|py| {
            let p = profile::Profiler::new(py).map_err(|e| format_error(py, &e, true))?;
            let old = std::mem::replace(&mut *self.profiler.lock(), Arc::new(p));
            drop(old);
            Ok(())
        })
    }
}

/// How an execution runs its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecOptions {
    /// Whether steps may go asynchronous (coroutines, futures; `isAsyncAllow()`).
    pub async_allowed: bool,
    /// Whether the session's profiler is enabled around step callbacks (ProfileExecutions).
    pub profile: bool,
}

/// Runs `f` with the GIL, in an execution context of `session`: the code `f` calls is inside
/// steps (`isAsyncAllow()`, `gearsFuture()`, `call_step` futures and coroutines).
pub fn enter_execution<R>(
    host: Arc<dyn Host>,
    session: &Session,
    opts: ExecOptions,
    f: impl FnOnce(Python<'_>) -> R,
) -> R {
    Python::attach(|py| {
        let mut ctx = Context::new(host, &session.id, Some(session.globals.clone_ref(py)));
        ctx.in_step = true;
        ctx.async_allowed = opts.async_allowed;
        if opts.profile {
            ctx.profiler = Some(session.profiler.lock().clone());
        }
        let (r, ctx) = context::enter(ctx, || f(py));
        if ctx.atomic_depth > 0 {
            ctx.host.atomic_exit();
        }
        r
    })
}

/// Ends one execution of several run inside one [`enter_execution`]: an `atomic()` block it
/// left open is released, so the next execution starts as if entered afresh.
pub fn end_execution() {
    let host = context::with_current(|c| match c {
        Some(c) if c.atomic_depth > 0 => {
            c.atomic_depth = 0;
            Some(c.host.clone())
        }
        _ => None,
    });
    if let Some(h) = host {
        h.atomic_exit();
    }
}

/// Runs a top-level script in `session`, collecting its `run()` and `register()` calls.
///
/// # Errors
/// The Python error text (traceback policy per `host.attempt_traceback()`).
pub fn run_script(
    host: Arc<dyn Host>,
    session: &Session,
    code: &[u8],
) -> Result<ScriptOutcome, String> {
    // A NUL byte ends the script, as the C string RedisGears passes to Python.
    let end = code.iter().position(|&b| b == 0).unwrap_or(code.len());
    let code = CString::new(&code[..end]).map_err(|e| e.to_string())?;
    let traceback = host.attempt_traceback();
    // No `pin_thread_state` here: script threads are short-lived, and a pinned thread state
    // (with its data-stack chunk) would outlive them.
    Python::attach(|py| {
        let globals = session.globals.clone_ref(py);
        let mut ctx = Context::new(host, &session.id, Some(globals.clone_ref(py)));
        ctx.script = Some(ScriptOutcome::default());
        let (res, ctx) = context::enter(ctx, || py.run(&code, Some(globals.bind(py)), None));
        if ctx.atomic_depth > 0 {
            ctx.host.atomic_exit();
        }
        match res {
            Ok(()) => Ok(ctx.script.unwrap_or_default()),
            Err(e) => Err(format_error(py, &e, traceback)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RunArg, StepKind};
    use crate::testing::FakeHost;

    fn run(code: &str) -> (Result<ScriptOutcome, String>, Arc<FakeHost>) {
        init().expect("python starts");
        let host = Arc::new(FakeHost::default());
        let session = Session::new("s").expect("session");
        let r = run_script(host.clone(), &session, code.as_bytes());
        (r, host)
    }

    #[test]
    fn run_collects_plan_with_implicit_steps() {
        let (r, _) = run("GB().map(lambda x: x['value']).run('k*')");
        let out = r.expect("script runs");
        let (plan, args) = out.run.expect("a run");
        assert_eq!(plan.reader, "KeysReader");
        let kinds: Vec<_> = plan.steps.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec![StepKind::Map, StepKind::Map, StepKind::Collect]);
        assert!(matches!(args.arg, RunArg::Text(ref p) if p == "k*"));
        assert!(out.registrations.is_empty());
    }

    #[test]
    fn second_run_is_an_error_with_traceback() {
        let (r, _) = run("GB().run()\nGB().run()");
        let e = r.err().expect("error");
        assert!(
            e.contains("Can not run more then 1 executions in a single script"),
            "{e}"
        );
        assert!(e.starts_with("['Traceback"), "{e}");
    }

    #[test]
    fn syntax_error_has_no_traceback() {
        let (r, _) = run("GB(");
        let e = r.err().expect("error");
        assert!(e.starts_with("Error type: <class 'SyntaxError'>"), "{e}");
    }

    #[test]
    fn register_returns_fresh_ids_and_checks_arguments() {
        let (r, _) = run("x = GB().register()\nassert x.endswith('-1'), x");
        assert_eq!(r.expect("runs").registrations.len(), 1);
        let (r, _) = run("GB().register(1)");
        assert!(
            r.err()
                .expect("error")
                .contains("regex argument must be a string")
        );
        let (r, _) = run("GB().map(1)");
        assert!(
            r.err()
                .expect("error")
                .contains("map argument must be a function")
        );
        let (r, _) = run("GB().limit()");
        assert!(
            r.err()
                .expect("error")
                .contains("wrong number of args to limit function")
        );
        let (r, _) = run("GB('NoReader')");
        assert!(r.err().expect("error").contains("reader does not exists"));
    }

    #[test]
    fn execute_converts_replies_and_raises_errors() {
        let (r, host) = run(
            "execute('set', 'k', 'v')\nassert execute('get', 'k') == 'v'\nassert execute('x', 1, b'\\x00') == [1, None]\n\
             try:\n    execute('bad')\n    raise Exception('no')\nexcept Exception as e:\n    assert str(e) == 'ERR nope', str(e)\n\
             assert execute() == []\nlog('hi')\nassert configGet('k') == 'v' and gearsConfigGet('z', 3) == 3",
        );
        r.expect("script runs");
        let cmds = host.commands.lock().unwrap();
        assert_eq!(
            cmds[2],
            vec![b"x".to_vec(), b"1".to_vec(), b"\x00".to_vec()]
        );
        assert_eq!(host.logs.lock().unwrap().as_slice(), ["hi"]);
    }

    #[test]
    fn flat_error_is_bare_and_both_spellings_exist() {
        let (r, _) = run("flatError('PAUSE now')");
        assert_eq!(r.err().expect("error"), "PAUSE now");
        let (r, _) = run("flat_error('x')");
        assert_eq!(r.err().expect("error"), "x");
    }
}
