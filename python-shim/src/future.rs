//! Asynchronous steps: `gearsFuture()` futures and `async def` callbacks (RedisGears 1.2 §6.7).
//!
//! A step callback may return a coroutine, or the future it created with `gearsFuture()`. The
//! coroutine runs on the session's asyncio event loop thread (the prelude's `loop`, through
//! `runCoroutine`); the future is continued by `f.continueRun(value)` / `f.continueFailed(x)`
//! from any thread. Either way the value becomes the step's result, exactly as if the callback
//! had returned it, and a failure becomes an error record with a bare message (no traceback).
//!
//! Unlike RedisGears, which parks the record and lets the execution go on with other records,
//! the execution thread waits here for the result, with the GIL released (so the loop thread,
//! other executions and whoever continues the future can run). Records therefore keep their
//! order and at most one record per execution is pending at a time.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use crate::context;
use crate::module::{ExecutionSession, gears_error};

/// How a step treats asynchronous results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMode {
    /// `map`, `flatmap`, `filter`, `foreach`: a future created but not returned is discarded
    /// and the record continues with what the callback returned.
    Record,
    /// `accumulate` and the `localgroupby`/`groupby` reducers: a future created but not
    /// returned makes the accumulator `None` (even when the callback raised), as RedisGears.
    Accumulate,
    /// Extractors and `batchgroupby` reducers: a coroutine fails the record with
    /// `coroutine are not allow on <what>` and `gearsFuture()` raises
    /// `Step does not support async`.
    Sync(&'static str),
}

/// Work deferred until the running step callback returned.
pub type Deferred = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

/// The step callback running on this thread (kept in the thread's [`context::Context`]).
pub struct StepScope {
    /// The step's rules.
    pub mode: StepMode,
    /// The future `gearsFuture()` created during this call, if any.
    pub future: Option<Py<Future>>,
    /// Executions `run()` asked for during this call: they start once the callback returned
    /// (and its future, if it returned one, can be continued), as RedisGears queues them.
    pub deferred: Vec<Deferred>,
}

impl StepScope {
    fn new(mode: StepMode) -> StepScope {
        StepScope {
            mode,
            future: None,
            deferred: Vec::new(),
        }
    }
}

/// Runs `f` once the step callback running on this thread returned, or now outside steps.
pub fn after_step(py: Python<'_>, f: Deferred) {
    let f = context::with_current(|c| match c.and_then(|c| c.step.as_mut()) {
        Some(step) => {
            step.deferred.push(f);
            None
        }
        None => Some(f),
    });
    if let Some(f) = f {
        f(py);
    }
}

/// Why an asynchronous step call failed.
#[derive(Debug)]
pub enum StepError {
    /// A Python exception raised by the callback (formatted by the caller's traceback policy).
    Py(PyErr),
    /// A bare error text: a coroutine's exception `str(e)`, `continueFailed(x)`'s `str(x)`,
    /// `Async record did not called continue`, `coroutine are not allow on ...`.
    Message(String),
    /// The execution was aborted while the step waited.
    Aborted,
}

/// What a future holds.
enum SlotState {
    /// Created by `gearsFuture()`, not yet returned from the callback.
    Created,
    /// Returned from the callback: the step waits for a continuation.
    Returned,
    /// Continued with a value or an error text, not yet consumed.
    Done(Result<Py<PyAny>, String>),
    /// Consumed by the step, or discarded (created but not returned).
    Closed,
}

/// The shared part of a future: its state and the waiting step's condition variable.
struct Slot {
    state: Mutex<SlotState>,
    cv: Condvar,
}

impl Slot {
    fn new(state: SlotState) -> Arc<Slot> {
        Arc::new(Slot {
            state: Mutex::new(state),
            cv: Condvar::new(),
        })
    }

    fn finish(&self, st: &mut SlotState, value: Result<Py<PyAny>, String>) {
        *st = SlotState::Done(value);
        self.cv.notify_all();
    }
}

/// `PyFuture`: what `gearsFuture()` returns; tied to the record of the step that created it.
#[pyclass(name = "PyFuture", module = "redisgears")]
pub struct Future {
    slot: Arc<Slot>,
}

const TWICE: &str = "Can not continue with the same future twice";
const NOT_RETURNED: &str = "Can not handle future untill it returned from the callback";
const NO_CONTINUE: &str = "Async record did not called continue";

#[pymethods]
impl Future {
    /// `continueRun(value)`: the step's result is `value`.
    #[pyo3(name = "continueRun", signature = (*args))]
    fn continue_run(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.len() != 1 {
            return Err(gears_error("Continue function expect an object"));
        }
        let value = args.get_item(0)?.unbind();
        let mut st = self.slot.state.lock();
        match &*st {
            SlotState::Done(_) | SlotState::Closed => Err(gears_error(TWICE)),
            SlotState::Created => Err(gears_error(NOT_RETURNED)),
            SlotState::Returned => {
                self.slot.finish(&mut st, Ok(value));
                Ok(())
            }
        }
    }

    /// `continueFailed(x)`: the record becomes the error `str(x)`.
    #[pyo3(name = "continueFailed", signature = (*args))]
    fn continue_failed(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.len() != 1 {
            return Err(gears_error("Continue function expect an object"));
        }
        let text = args.get_item(0)?.str()?.to_string();
        let mut st = self.slot.state.lock();
        match &*st {
            SlotState::Done(_) | SlotState::Closed => Err(gears_error(TWICE)),
            SlotState::Created | SlotState::Returned => {
                self.slot.finish(&mut st, Err(text));
                Ok(())
            }
        }
    }
}

impl Drop for Future {
    fn drop(&mut self) {
        // Nobody can continue a returned future any more: fail its record.
        let mut st = self.slot.state.lock();
        if matches!(&*st, SlotState::Returned) {
            self.slot.finish(&mut st, Err(NO_CONTINUE.to_string()));
        }
    }
}

/// `gearsFuture()`: a future tied to the record of the running step.
///
/// # Errors
/// RedisGears' errors: outside a step, in a step that does not support async, in an execution
/// that may not go asynchronous, or a second future in one call.
pub fn create(py: Python<'_>) -> PyResult<Py<Future>> {
    let fut = Py::new(
        py,
        Future {
            slot: Slot::new(SlotState::Created),
        },
    )?;
    let keep = fut.clone_ref(py);
    context::with_current(|c| {
        let Some(c) = c else {
            return Err(gears_error(
                "Future object can only be created inside certain execution steps",
            ));
        };
        let async_allowed = c.async_allowed;
        let Some(step) = c.step.as_mut() else {
            return Err(gears_error(
                "Future object can only be created inside certain execution steps",
            ));
        };
        if let StepMode::Sync(_) = step.mode {
            return Err(gears_error("Step does not support async"));
        }
        if !async_allowed {
            return Err(gears_error("Creating async record is not allowed"));
        }
        if step.future.is_some() {
            return Err(gears_error(
                "Can not create async record twice on the same step",
            ));
        }
        step.future = Some(keep);
        Ok(())
    })?;
    Ok(fut)
}

static COROUTINE_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Whether `v` is exactly a coroutine object (C's `PyCoro_CheckExact`).
fn is_coroutine(py: Python<'_>, v: &Bound<'_, PyAny>) -> bool {
    let ty = COROUTINE_TYPE.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        Ok(py
            .import("types")?
            .getattr("CoroutineType")?
            .cast_into::<PyType>()?
            .unbind())
    });
    match ty {
        Ok(ty) => v.get_type().is(ty.bind(py)),
        Err(_) => false,
    }
}

/// Marks a future created but not returned as discarded: later continuations raise.
fn discard(py: Python<'_>, created: Option<Py<Future>>) {
    if let Some(f) = created {
        *f.borrow(py).slot.state.lock() = SlotState::Closed;
    }
}

/// Calls a step callback with `args` under the step rules of `mode`, resolving a returned
/// coroutine or future into its value. Enables the context's profiler around the call.
/// `aborted` is polled while waiting.
///
/// # Errors
/// [`StepError`]: the callback's exception, a continuation failure, or an abort.
pub fn call_step(
    py: Python<'_>,
    callback: &Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    mode: StepMode,
    aborted: &(dyn Fn() -> bool + Sync),
) -> Result<Py<PyAny>, StepError> {
    let entered = context::with_current(|c| {
        c.map(|c| {
            let prev = c.step.replace(StepScope::new(mode));
            let profiler = c.profiler.clone();
            (prev, profiler, c.async_allowed)
        })
    });
    let (prev, profiler, async_allowed) = match entered {
        Some((prev, profiler, allowed)) => (prev, profiler, allowed),
        None => (None, None, false),
    };
    let profiling = profiler.as_ref().and_then(|p| p.start(py));
    let ret = callback.call1(args);
    drop(profiling);
    let scope = context::with_current(|c| c.and_then(|c| std::mem::replace(&mut c.step, prev)));
    let (created, deferred) = match scope {
        Some(s) => (s.future, s.deferred),
        None => (None, Vec::new()),
    };
    let run_deferred = move |py: Python<'_>| {
        for f in deferred {
            f(py);
        }
    };
    match ret {
        Ok(v) if is_coroutine(py, &v) => {
            discard(py, created);
            let refuse = match mode {
                StepMode::Sync(what) => Some(StepError::Message(format!(
                    "coroutine are not allow on {what}"
                ))),
                _ if !async_allowed => Some(StepError::Py(gears_error(
                    "Creating async record is not allowed",
                ))),
                _ => None,
            };
            if let Some(e) = refuse {
                // Closed so that Python does not warn about a coroutine never awaited.
                let _ = v.call_method0("close");
                run_deferred(py);
                return Err(e);
            }
            let slot = Slot::new(SlotState::Returned);
            let fut = Py::new(py, Future { slot: slot.clone() }).map_err(StepError::Py);
            let started = fut.and_then(|fut| run_coroutine(py, v, fut).map_err(StepError::Py));
            run_deferred(py);
            started?;
            wait(py, &slot, aborted)
        }
        ret => {
            let Some(f) = created else {
                run_deferred(py);
                return ret.map(Bound::unbind).map_err(StepError::Py);
            };
            if let Ok(v) = &ret
                && v.is(f.bind(py))
            {
                let slot = f.borrow(py).slot.clone();
                {
                    let mut st = slot.state.lock();
                    if matches!(&*st, SlotState::Created) {
                        *st = SlotState::Returned;
                    }
                }
                // Without references left here, a future nobody keeps is collected now and
                // fails its record (`Async record did not called continue`).
                drop(ret);
                drop(f);
                run_deferred(py);
                return wait(py, &slot, aborted);
            }
            discard(py, Some(f));
            run_deferred(py);
            if mode == StepMode::Accumulate {
                return Ok(py.None());
            }
            ret.map(Bound::unbind).map_err(StepError::Py)
        }
    }
}

/// Schedules `cr` on the gears event loop with the prelude's `runCoroutine(cr, f, 0, s)`;
/// its result continues `fut`.
fn run_coroutine(py: Python<'_>, cr: Bound<'_, PyAny>, fut: Py<Future>) -> PyResult<()> {
    let globals = crate::base_globals(py).map_err(|e| gears_error(&e.to_string()))?;
    let run = globals
        .bind(py)
        .get_item("runCoroutine")?
        .ok_or_else(|| gears_error("runCoroutine is missing"))?;
    let session = match ExecutionSession::current() {
        Some(s) => Py::new(py, s)?.into_any(),
        None => py.None(),
    };
    run.call1((cr, fut, 0, session))?;
    Ok(())
}

/// How often a waiting step checks for an abort.
const POLL: Duration = Duration::from_millis(20);

/// Waits, without the GIL, until the future is continued or the execution is aborted.
fn wait(
    py: Python<'_>,
    slot: &Arc<Slot>,
    aborted: &(dyn Fn() -> bool + Sync),
) -> Result<Py<PyAny>, StepError> {
    let outcome = py.detach(|| {
        let mut st = slot.state.lock();
        loop {
            if matches!(&*st, SlotState::Done(_))
                && let SlotState::Done(r) = std::mem::replace(&mut *st, SlotState::Closed)
            {
                return Some(r);
            }
            if aborted() {
                *st = SlotState::Closed;
                return None;
            }
            slot.cv.wait_for(&mut st, POLL);
        }
    });
    match outcome {
        Some(Ok(v)) => Ok(v),
        Some(Err(msg)) => Err(StepError::Message(msg)),
        None => Err(StepError::Aborted),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pyo3::types::PyTuple;

    use super::*;
    use crate::testing::{FakeHost, script, setup};
    use crate::{ExecOptions, Session, enter_execution};

    /// Defines `code` in a fresh session, then calls its `f(arg)` as a step.
    fn step_with(
        code: &str,
        mode: StepMode,
        async_allowed: bool,
    ) -> (Result<String, String>, Arc<FakeHost>, Session) {
        let (host, session) = setup();
        script(&host, &session, code).expect("script runs");
        let opts = ExecOptions {
            async_allowed,
            profile: false,
        };
        let r = enter_execution(host.clone(), &session, opts, |py| {
            let f = session
                .globals
                .bind(py)
                .get_item("f")
                .expect("globals")
                .expect("f is defined");
            let args = PyTuple::new(py, ["rec"]).expect("tuple");
            match call_step(py, &f, args, mode, &|| false) {
                Ok(v) => Ok(v.bind(py).repr().expect("repr").to_string()),
                Err(StepError::Py(e)) => Err(format!("py: {}", e.value(py))),
                Err(StepError::Message(m)) => Err(format!("msg: {m}")),
                Err(StepError::Aborted) => Err("aborted".to_string()),
            }
        });
        (r, host, session)
    }

    fn step(code: &str) -> Result<String, String> {
        step_with(code, StepMode::Record, true).0
    }

    #[test]
    fn plain_callbacks_return_their_value() {
        assert_eq!(step("def f(r): return r + '!'"), Ok("'rec!'".into()));
        assert_eq!(
            step("def f(r): raise Exception('boom')"),
            Err("py: boom".into())
        );
    }

    #[test]
    fn coroutine_result_is_the_step_result() {
        let code = "import asyncio\nasync def f(r):\n    await asyncio.sleep(0.01)\n    return [r, isAsyncAllow()]";
        assert_eq!(step(code), Ok("['rec', False]".into()));
    }

    #[test]
    fn coroutine_exception_is_its_bare_text() {
        let code = "import asyncio\nasync def f(r):\n    await asyncio.sleep(0.01)\n    raise Exception('failed')";
        assert_eq!(step(code), Err("msg: failed".into()));
    }

    #[test]
    fn coroutines_run_in_the_session_and_may_execute() {
        let code = "async def f(r):\n    execute('set', 'from_coro', r)\n    return execute('get', 'from_coro')";
        let (r, host, _) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Ok("'rec'".into()));
        assert_eq!(host.get("from_coro").as_deref(), Some("rec"));
    }

    #[test]
    fn await_inside_atomic_fails_the_record() {
        let code = "import asyncio\nasync def f(r):\n    with atomic():\n        await asyncio.sleep(0.01)\n    return r";
        let (r, host, _) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Err("msg: await is not allow inside atomic block".into()));
        assert_eq!(host.atomic.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn coroutines_are_refused_where_steps_are_sync() {
        let code = "async def f(r):\n    return r";
        let (r, _, _) = step_with(code, StepMode::Sync("extractor"), true);
        assert_eq!(r, Err("msg: coroutine are not allow on extractor".into()));
        let (r, _, _) = step_with(code, StepMode::Record, false);
        assert_eq!(r, Err("py: Creating async record is not allowed".into()));
        let (r, _, _) = step_with(
            "def f(r): return gearsFuture()",
            StepMode::Sync("reduce"),
            true,
        );
        assert_eq!(r, Err("py: Step does not support async".into()));
    }

    #[test]
    fn future_continued_from_another_thread() {
        let code = "import threading, time\n\
                    def f(r):\n    fut = gearsFuture()\n    def later():\n        time.sleep(0.05)\n        fut.continueRun(r + '_later')\n    threading.Thread(target=later).start()\n    return fut";
        assert_eq!(step(code), Ok("'rec_later'".into()));
        let code = "import threading\n\
                    def f(r):\n    fut = gearsFuture()\n    threading.Thread(target=lambda: fut.continueFailed(ValueError('bad'))).start()\n    return fut";
        assert_eq!(step(code), Err("msg: bad".into()));
    }

    #[test]
    fn future_nobody_continues_fails_the_record() {
        assert_eq!(
            step("def f(r): return gearsFuture()"),
            Err("msg: Async record did not called continue".into())
        );
    }

    #[test]
    fn future_rules_have_redisgears_errors() {
        let r = step("def f(r):\n    fut = gearsFuture()\n    fut.continueRun(r)\n    return fut");
        assert_eq!(
            r,
            Err("py: Can not handle future untill it returned from the callback".into())
        );
        let r = step("def f(r):\n    gearsFuture()\n    gearsFuture()\n    return r");
        assert_eq!(
            r,
            Err("py: Can not create async record twice on the same step".into())
        );
        assert_eq!(
            step("def f(r): return gearsFuture(1)"),
            Err("py: Future gets no arguments".into())
        );
        let (host, session) = setup();
        let e = script(&host, &session, "gearsFuture()")
            .err()
            .expect("error");
        assert!(
            e.contains("Future object can only be created inside certain execution steps"),
            "{e}"
        );
    }

    #[test]
    fn future_continued_twice_raises() {
        let code = "import threading, time\nerrors = []\n\
                    def f(r):\n    fut = gearsFuture()\n    def later():\n        time.sleep(0.05)\n        fut.continueRun(1)\n        try:\n            fut.continueRun(2)\n        except Exception as e:\n            errors.append(str(e))\n    threading.Thread(target=later).start()\n    return fut";
        let (r, _, session) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Ok("1".into()));
        let errors = Python::attach(|py| {
            session
                .globals
                .bind(py)
                .get_item("errors")
                .expect("globals")
                .expect("errors")
                .repr()
                .expect("repr")
                .to_string()
        });
        // The thread may still be running its except clause.
        assert!(
            errors == "['Can not continue with the same future twice']" || errors == "[]",
            "{errors}"
        );
    }

    #[test]
    fn future_created_but_not_returned_is_discarded() {
        let code = "kept = []\ndef f(r):\n    kept.append(gearsFuture())\n    return r";
        assert_eq!(step(code), Ok("'rec'".into()));
        let (r, _, _) = step_with(code, StepMode::Accumulate, true);
        assert_eq!(r, Ok("None".into()));
        let raising =
            "kept = []\ndef f(r):\n    kept.append(gearsFuture())\n    raise Exception('x')";
        let (r, _, _) = step_with(raising, StepMode::Accumulate, true);
        assert_eq!(r, Ok("None".into()));
        let code = "kept = []\ndef f(r):\n    kept.append(gearsFuture())\n    return r\n\
                    def later():\n    try:\n        kept[0].continueRun(1)\n    except Exception as e:\n        return str(e)";
        let (_, _, session) = step_with(code, StepMode::Record, true);
        let text = Python::attach(|py| {
            let g = session.globals.bind(py);
            let later = g.get_item("later").expect("globals").expect("later");
            later.call0().expect("call").to_string()
        });
        assert_eq!(text, "Can not continue with the same future twice");
    }

    #[test]
    fn run_inside_a_coroutine_is_awaitable() {
        let code = "async def f(r):\n    return await GB('ShardsIDReader').run()";
        let (r, host, _) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Ok("[['PythonReader'], ['an error']]".into()));
        assert_eq!(host.runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn loop_helpers_resolve_futures_across_threads() {
        let code = "import threading\n\
                    async def f(r):\n    a = createFuture()\n    b = createFuture()\n    threading.Thread(target=lambda: setFutureResults(a, r)).start()\n    setFutureException(b, 'no')\n    try:\n        await b\n    except Exception as e:\n        return [await a, str(e)]";
        assert_eq!(step(code), Ok("['rec', 'no']".into()));
        let code = "import threading\n\
                    def f(r):\n    fut = gearsFuture()\n    async def c():\n        return r * 2\n    runCoroutine(c(), fut, delay=0.01)\n    return fut";
        assert_eq!(step(code), Ok("'recrec'".into()));
    }

    #[test]
    fn sessions_follow_threads_that_set_them() {
        let code = "import threading\n\
                    def f(r):\n    s = getGearsSession()\n    out = []\n    def t():\n        out.append(getGearsSession() is None)\n        with GearsSession(s):\n            execute('set', 'from_thread', r)\n            out.append(getGearsSession() is not None)\n        out.append(getGearsSession() is None)\n    th = threading.Thread(target=t)\n    th.start()\n    th.join()\n    return out";
        let (r, host, _) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Ok("[True, True, True]".into()));
        assert_eq!(host.get("from_thread").as_deref(), Some("rec"));
    }

    #[test]
    fn coroutines_keep_their_session_across_awaits() {
        let code = "import asyncio\n\
                    async def sub(x):\n    await asyncio.sleep(0.01)\n    return x\n\
                    async def f(r):\n    a, b = await asyncio.gather(sub(1), sub(2))\n    setGearsSession(None)\n    await asyncio.sleep(0)\n    execute('set', 'gathered', a + b)\n    return execute('get', 'gathered')";
        let (r, host, _) = step_with(code, StepMode::Record, true);
        assert_eq!(r, Ok("'3'".into()));
        assert_eq!(host.get("gathered").as_deref(), Some("3"));
    }

    #[test]
    fn is_async_allow_only_inside_steps() {
        let (host, session) = setup();
        script(&host, &session, "assert not isAsyncAllow()").expect("top level");
        assert_eq!(step("def f(r): return isAsyncAllow()"), Ok("True".into()));
        let (r, _, _) = step_with("def f(r): return isAsyncAllow()", StepMode::Record, false);
        assert_eq!(r, Ok("False".into()));
    }

    #[test]
    fn a_waiting_step_notices_an_abort() {
        let (host, session) = setup();
        script(
            &host,
            &session,
            "def f(r):\n    global keep\n    keep = gearsFuture()\n    return keep",
        )
        .expect("script");
        let r = enter_execution(
            host.clone(),
            &session,
            ExecOptions {
                async_allowed: true,
                profile: false,
            },
            |py| {
                let f = session
                    .globals
                    .bind(py)
                    .get_item("f")
                    .expect("g")
                    .expect("f");
                let args = PyTuple::new(py, ["rec"]).expect("tuple");
                let start = std::time::Instant::now();
                let aborted = move || start.elapsed() > std::time::Duration::from_millis(50);
                matches!(
                    call_step(py, &f, args, StepMode::Record, &aborted),
                    Err(StepError::Aborted)
                )
            },
        );
        assert!(r);
    }
}
