//! Sessions: what one RG.PYEXECUTE (or RG.WASMEXECUTE) uploaded, with its runtime state.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::runtime::{Runtime, SessionState};

/// A session.
pub struct Session {
    /// Session id (user-given or 40 random hex characters).
    pub id: String,
    /// DESCRIPTION.
    pub desc: Option<String>,
    /// The runtime that runs its code.
    pub runtime: Arc<dyn Runtime>,
    /// The runtime's per-session state.
    pub state: SessionState,
    /// REQUIREMENTS.
    pub requirements: Vec<String>,
    /// Whether requirements were installed for it.
    pub requirements_installed: bool,
    /// Its requirement objects (each counts in the requirement's `RefCount`).
    pub requirement_refs: Vec<super::requirements::ReqRef>,
    /// Ids of its registrations.
    pub registrations: Mutex<Vec<String>>,
    /// Its limit options (`FUEL`, `MEMORY`, `TIMEOUT`, `MAXBREACHES`).
    pub limits: crate::limits::LimitOverrides,
    /// `ISOLATE`.
    pub isolate: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that is not linked (not in the sessions table): the state of running code that
    /// starts an execution (`run()` inside a step).
    pub fn transient(id: &str, runtime: Arc<dyn Runtime>, state: SessionState) -> Session {
        Session {
            id: id.to_string(),
            desc: None,
            runtime,
            state,
            requirements: Vec::new(),
            requirements_installed: false,
            requirement_refs: Vec::new(),
            registrations: Mutex::new(Vec::new()),
            limits: crate::limits::LimitOverrides::default(),
            isolate: false,
        }
    }
}
