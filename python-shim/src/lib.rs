//! gears-python: the embedded CPython interpreter and the RedisGears 1.x Python API.
//!
//! One interpreter per process. Every RG.PYEXECUTE session runs in its own globals dict, a copy
//! of the prelude's (the `GearsBuilder` API). The prelude sits on the native `redisgears` module
//! ([`module`]), which records builders' steps ([`plan`]) and reaches the server through the
//! [`Host`] trait gears-host implements. Python code always runs inside a [`context::Context`]
//! that says which host and session it serves.
//!
//! Lock order (the host's rule): keyspace, then GIL. Every call from Python into the host
//! (`execute`, `atomic`) releases the GIL first.
//!
//! This crate never depends on gears-host.

pub mod alloc;
pub mod context;
pub mod convert;
pub mod error;
pub mod module;
pub mod packages;
pub mod plan;

use std::ffi::CString;
use std::sync::Arc;

pub use pyo3;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

pub use context::{Context, Host, HostReply, LogLevel, ScriptOutcome};
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

fn base_globals(py: Python<'_>) -> Result<&Py<PyDict>, PythonError> {
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

/// One session's Python state: its globals dict.
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// The globals every callback of the session shares.
    pub globals: Py<PyDict>,
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
            Ok(Session {
                id: id.to_string(),
                globals: globals.unbind(),
            })
        })
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
    pin_thread_state();
    Python::attach(|py| {
        let globals = session.globals.clone_ref(py);
        let ctx = Context {
            host,
            session: Some(globals.clone_ref(py)),
            session_id: session.id.clone(),
            script: Some(ScriptOutcome::default()),
            in_step: false,
            async_allowed: false,
            atomic_depth: 0,
        };
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
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::plan::{RunArg, StepKind};

    #[derive(Default)]
    struct FakeHost {
        ids: AtomicU64,
        logs: Mutex<Vec<String>>,
        commands: Mutex<Vec<Vec<Vec<u8>>>>,
    }

    impl Host for FakeHost {
        fn execute(&self, argv: Vec<Vec<u8>>) -> HostReply {
            self.commands.lock().unwrap().push(argv.clone());
            match argv[0].as_slice() {
                b"get" => HostReply::Bulk(b"v".to_vec()),
                b"bad" => HostReply::Error("ERR nope".into()),
                _ => HostReply::Array(vec![HostReply::Int(1), HostReply::Nil]),
            }
        }
        fn log(&self, _level: LogLevel, msg: &str) {
            self.logs.lock().unwrap().push(msg.to_string());
        }
        fn config_get(&self, key: &str) -> Option<String> {
            (key == "k").then(|| "v".to_string())
        }
        fn attempt_traceback(&self) -> bool {
            true
        }
        fn next_plan_id(&self) -> String {
            format!(
                "{}-{}",
                "0".repeat(40),
                self.ids.fetch_add(1, Ordering::SeqCst)
            )
        }
        fn atomic_enter(&self) {}
        fn atomic_exit(&self) {}
    }

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
            "assert execute('get', 'k') == 'v'\nassert execute('x', 1, b'\\x00') == [1, None]\n\
             try:\n    execute('bad')\n    raise Exception('no')\nexcept Exception as e:\n    assert str(e) == 'ERR nope', str(e)\n\
             assert execute() == []\nlog('hi')\nassert configGet('k') == 'v' and gearsConfigGet('z', 3) == 3",
        );
        r.expect("script runs");
        let cmds = host.commands.lock().unwrap();
        assert_eq!(
            cmds[1],
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
