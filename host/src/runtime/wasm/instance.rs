//! Instances of a session's component: creation (instantiate, then the guest's `init`), calls
//! under an execution's budget (fuel reset per call from what the execution has left, the
//! execution's deadline, the abort flag), and the classification of what stopped a call: a
//! limit breach, a trap, or a host panic. An instance that trapped is never reused.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::exports::gears::function::function::{Failure, Request};
use super::bindings::gears::function::types::Data;
use super::bindings::{Gears, GearsPre};
use super::host::{CallCtx, HostTrap, Phase, StoreState};
use crate::limits::{Breach, BreachKind, Limits};
use crate::runtime::HostApi;

/// What an execution may still spend.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The execution's limits.
    pub limits: Limits,
    /// Fuel left (meaningful when `limits.fuel > 0`).
    pub fuel_left: u64,
    /// When the execution must end.
    pub deadline: Option<Instant>,
    /// Raised by RG.ABORTEXECUTION.
    pub interrupt: Arc<AtomicBool>,
}

impl Budget {
    /// A fresh budget for an execution starting now.
    pub fn new(limits: Limits, interrupt: Arc<AtomicBool>) -> Budget {
        Budget {
            limits,
            fuel_left: limits.fuel,
            deadline: (limits.timeout_ms > 0)
                .then(|| Instant::now() + Duration::from_millis(limits.timeout_ms)),
            interrupt,
        }
    }

    /// The breach of `kind` under these limits.
    pub fn breach(&self, kind: BreachKind) -> Breach {
        match kind {
            BreachKind::Fuel => Breach::fuel(self.limits.fuel),
            BreachKind::Memory => Breach::memory(self.limits.memory_bytes),
            BreachKind::Timeout => Breach::timeout(self.limits.timeout_ms),
            BreachKind::Abort => Breach::abort(),
        }
    }
}

/// Why a call did not return normally.
#[derive(Debug, Clone)]
pub enum Stop {
    /// A limit was breached (or the execution was aborted).
    Breach(Breach),
    /// The guest trapped (or a host function panicked): the text for the record's error.
    Trap(String),
}

/// A live instance.
pub struct Instance {
    store: Store<StoreState>,
    gears: Gears,
    /// Whether the engine meters fuel (always, except in benchmarks' engines).
    fuel_on: bool,
    /// Bytes of linear memory when it was created (a pooled instance that grew past a lower
    /// cap is replaced).
    pub fresh_memory: u64,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

/// Sets the budget into the store, runs `f`, accounts fuel, and classifies a failure.
/// `fuel_on` says whether the engine meters fuel; without it only host calls are charged.
fn metered<R>(
    store: &mut Store<StoreState>,
    fuel_on: bool,
    budget: &mut Budget,
    f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
) -> Result<R, Stop> {
    let metered_fuel = budget.limits.fuel > 0;
    let start = if metered_fuel {
        budget.fuel_left
    } else {
        u64::MAX
    };
    if fuel_on && let Err(e) = store.set_fuel(start) {
        return Err(Stop::Trap(format!("wasm: {e}")));
    }
    {
        let data = store.data_mut();
        let c: &mut CallCtx = &mut data.call;
        c.fuel_budget = if metered_fuel { start } else { 0 };
        c.host_fuel = 0;
        c.deadline = budget.deadline;
        c.interrupt = budget.interrupt.clone();
        c.breach = None;
        c.host_panic = None;
        data.limiter.breached = false;
        data.limiter.cap = budget.limits.memory_bytes;
    }
    store.set_epoch_deadline(1);
    // Checked before entering: an execution whose budget is gone does not start a call.
    if let Some(kind) = store.data_mut().call.check_stop() {
        return Err(Stop::Breach(budget.breach(kind)));
    }
    let r = f(store);
    let left = if fuel_on {
        store.get_fuel().unwrap_or(0)
    } else {
        start
    };
    let host_fuel = store.data().call.host_fuel;
    let used = start.saturating_sub(left).saturating_add(host_fuel);
    if metered_fuel {
        budget.fuel_left = budget.fuel_left.saturating_sub(used);
    }
    match r {
        Ok(v) if metered_fuel && used > start => {
            let _ = v;
            Err(Stop::Breach(budget.breach(BreachKind::Fuel)))
        }
        Ok(v) => Ok(v),
        Err(e) => Err(classify(&e, store.data(), budget)),
    }
}

fn classify(e: &wasmtime::Error, data: &StoreState, budget: &Budget) -> Stop {
    if let Some(kind) = data.call.breach {
        return Stop::Breach(budget.breach(kind));
    }
    if data.limiter.breached {
        return Stop::Breach(budget.breach(BreachKind::Memory));
    }
    if let Some(p) = &data.call.host_panic {
        return Stop::Trap(p.clone());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Stop::Breach(budget.breach(BreachKind::Fuel)),
        // A trap displays as `wasm trap: <what>` already.
        Some(t) => Stop::Trap(t.to_string()),
        None => match e.downcast_ref::<HostTrap>() {
            Some(h) => Stop::Trap(h.0.clone()),
            None => Stop::Trap(format!("wasm error: {e}")),
        },
    }
}

impl Instance {
    /// Instantiates `pre` and runs the guest's `init` (`phase` says whether its declarations
    /// are recorded), under `budget`.
    ///
    /// # Errors
    /// A breach, a trap, or `init`'s own error (as a trap text).
    pub fn create(
        pre: &GearsPre<StoreState>,
        session_id: Arc<str>,
        api: Arc<dyn HostApi>,
        phase: Phase,
        budget: &mut Budget,
    ) -> Result<(Instance, Phase), Stop> {
        let engine = pre.engine().clone();
        let mut store = Store::new(
            &engine,
            StoreState::new(session_id, budget.limits.memory_bytes),
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().call.check_stop() {
            Some(kind) => Err(wasmtime::Error::new(HostTrap(format!(
                "stopped ({})",
                kind.as_str()
            )))),
            None => Ok(UpdateDeadline::Continue(1)),
        });
        store.data_mut().call.api = Some(api);
        store.data_mut().call.phase = phase;
        // A store of an engine without fuel refuses `get_fuel`.
        let fuel_on = store.get_fuel().is_ok();
        let gears = metered(&mut store, fuel_on, budget, |s| pre.instantiate(s))?;
        let init = metered(&mut store, fuel_on, budget, |s| {
            gears.gears_function_function().call_init(s, &[])
        })?;
        if let Err(e) = init {
            return Err(Stop::Trap(e));
        }
        let phase = std::mem::replace(&mut store.data_mut().call.phase, Phase::Idle);
        store.data_mut().call.api = None;
        let fresh_memory = store.data().limiter.current;
        Ok((
            Instance {
                store,
                gears,
                fuel_on,
                fresh_memory,
            },
            phase,
        ))
    }

    /// Runs one batch of requests for the execution `execution_id` under `budget`.
    ///
    /// # Errors
    /// What stopped the call; the instance must then be dropped.
    pub fn call(
        &mut self,
        api: &Arc<dyn HostApi>,
        execution_id: Option<&str>,
        requests: &[Request],
        budget: &mut Budget,
    ) -> Result<Vec<Result<Vec<Data>, Failure>>, Stop> {
        {
            let c = &mut self.store.data_mut().call;
            c.api = Some(api.clone());
            c.phase = Phase::Exec;
            c.execution_id = execution_id.map(str::to_string);
        }
        let gears = &self.gears;
        let r = metered(&mut self.store, self.fuel_on, budget, |s| {
            gears.gears_function_function().call_call(s, requests)
        });
        let c = &mut self.store.data_mut().call;
        c.api = None;
        c.phase = Phase::Idle;
        c.execution_id = None;
        r
    }

    /// Bytes of linear memory it has now.
    pub fn memory(&self) -> u64 {
        self.store.data().limiter.current
    }
}
