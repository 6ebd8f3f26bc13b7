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
