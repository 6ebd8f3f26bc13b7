//! Session profilers (RG.PYPROFILE, ProfileExecutions).
//!
//! Each session owns a `cProfile.Profile`, enabled around its step callbacks while
//! ProfileExecutions is on. A cProfile profiler keeps one call stack, so it must never be
//! enabled on two threads at once (that corrupts it): a callback that finds the profiler in use
//! by another thread (or by an outer callback on its own thread) runs unprofiled. Reports are
//! built from a snapshot that leaves the profiler enabled where it is.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

/// A session's profiler.
#[derive(Debug)]
pub struct Profiler {
    obj: Py<PyAny>,
    busy: AtomicBool,
}

/// Disables the profiler when dropped.
pub struct Active<'a> {
    profiler: &'a Profiler,
    py: Python<'a>,
}

impl Profiler {
    /// A fresh profiler (the prelude's `profilerCreate()`).
    ///
    /// # Errors
    /// If cProfile fails.
    pub fn new(py: Python<'_>) -> PyResult<Profiler> {
        let obj = crate::prelude_call(py, "profilerCreate", ())?.unbind();
        Ok(Profiler {
            obj,
            busy: AtomicBool::new(false),
        })
    }

    /// Enables the profiler on this thread unless it is in use; profiling lasts as long as the
    /// returned guard.
    pub fn start<'a>(&'a self, py: Python<'a>) -> Option<Active<'a>> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        if self.obj.call_method0(py, "enable").is_err() {
            self.busy.store(false, Ordering::Release);
            return None;
        }
        Some(Active { profiler: self, py })
    }

    /// The pstats report (`profileGetInfo(p, order)`).
    ///
    /// # Errors
    /// The Python error (pstats raises `TypeError` when nothing was profiled).
    pub fn report(&self, py: Python<'_>, order: &str) -> PyResult<String> {
        let snapshot = crate::prelude_call(py, "_profileSnapshot", (self.obj.clone_ref(py),))?;
        crate::prelude_call(py, "profileGetInfo", (snapshot, order))?
            .str()
            .map(|s| s.to_string())
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let _ = self.profiler.obj.call_method0(self.py, "disable");
        self.profiler.busy.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use pyo3::types::{PyDictMethods, PyTuple};

    use crate::future::{StepMode, call_step};
    use crate::testing::{script, setup};
    use crate::{ExecOptions, enter_execution};

    #[test]
    fn profiling_collects_callbacks_and_resets() {
        let (host, session) = setup();
        script(&host, &session, "def map_func(r):\n    return r").expect("script");
        let e = session
            .profile_stats("tottime", false)
            .expect_err("no data yet");
        assert!(e.contains("TypeError"), "{e}");
        for profile in [false, true] {
            let opts = ExecOptions {
                async_allowed: true,
                profile,
            };
            enter_execution(host.clone(), &session, opts, |py| {
                let f = session
                    .globals
                    .bind(py)
                    .get_item("map_func")
                    .expect("g")
                    .expect("f");
                let args = PyTuple::new(py, [1]).expect("tuple");
                call_step(py, &f, args, StepMode::Record, &|| false).expect("call");
            });
        }
        let stats = session.profile_stats("tottime", false).expect("stats");
        assert!(stats.contains("1 function calls"), "{stats}");
        assert!(stats.contains("map_func"), "{stats}");
        assert!(stats.contains("Ordered by: internal time"), "{stats}");
        session.profile_reset().expect("reset");
        assert!(session.profile_stats("tottime", false).is_err());
    }

    #[test]
    fn a_profiler_is_used_by_one_thread_at_a_time() {
        let (_host, session) = setup();
        let p = session.profiler.lock().clone();
        pyo3::Python::attach(|py| {
            let outer = p.start(py);
            assert!(outer.is_some());
            assert!(p.start(py).is_none(), "in use");
            drop(outer);
            assert!(p.start(py).is_some());
        });
    }
}
