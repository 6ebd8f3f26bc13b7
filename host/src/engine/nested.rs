//! Executions started by running user code: `run()` called inside a step, a coroutine or a
//! timer callback (RedisGears' `await GB(...).run()`).
//!
//! Each runs on a thread of its own rather than on the `ExecutionThreads` pool: the code that
//! started it may be a step that waits (holding a pool thread) until this execution finishes,
//! so queueing it behind that step could deadlock. The execution is listed (RG.DUMPEXECUTIONS,
//! RG.ABORTEXECUTION) while it runs and dropped when it is done, after its results went back
//! to the runtime.

use std::sync::Arc;

use super::{Engine, Session};
use crate::runtime::plan::RunSpec;
use crate::runtime::{RunDone, RunResult, Runtime, SessionState};

impl Engine {
    /// Starts `run` for the session `state` of `runtime`; `done` receives the result records
    /// (runtime-native) and the errors when it finishes.
    ///
    /// # Errors
    /// If the engine is not attached to a server or the thread cannot start.
    pub fn start_run(
        self: &Arc<Self>,
        runtime: Arc<dyn Runtime>,
        state: SessionState,
        session_id: &str,
        run: RunSpec,
        done: RunDone,
    ) -> Result<(), String> {
        let (backend, api) = {
            let h = self.host()?;
            (h.backend.clone(), h.api.clone())
        };
        let session = Arc::new(Session::transient(session_id, runtime, state));
        let exec = self.create_execution(&run, false, &session);
        exec.state.lock().natives = Some(Vec::new());
        let engine = self.clone();
        let id = exec.id;
        let spawned = std::thread::Builder::new()
            .name("gears-nested".into())
            .spawn(move || {
                engine.run_execution(&exec, &session, &run, &*backend, api);
                let (errors, results) = {
                    let mut st = exec.state.lock();
                    let natives = st.natives.take().unwrap_or_default();
                    (st.outcome.errors.clone(), natives)
                };
                engine.forget(exec.id);
                done(RunResult { results, errors });
            });
        if let Err(e) = spawned {
            self.forget(id);
            return Err(format!("could not start the execution: {e}"));
        }
        Ok(())
    }
}
