//! What a guest reaches: the store's data ([`StoreState`]: WASI context, memory limiter, the
//! running call's context) and the `host` and `builder` imports of `wit/gears.wit`.
//!
//! Every host function runs its body under `catch_unwind`: a panic becomes a trap of that guest
//! (its call fails with the panic's text), never a crash of the server. Host calls charge fuel
//! (so a guest calling `execute` in a loop is bounded by fuel as well as by time) and notice
//! aborts and deadlines.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::gears::function::{builder, host, types};
use super::convert;
use crate::limits::BreachKind;
use crate::runtime::{HostApi, LogLevel};

/// Fuel a host call costs, on top of the guest instructions around it.
pub const HOST_CALL_FUEL: u64 = 10_000;

/// Table elements an instance may grow its tables to.
const MAX_TABLE_ELEMENTS: usize = 200_000;

/// Why a trap was raised by the host (the guest's call then fails).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostTrap(pub String);

/// Caps an instance's linear memories (their sum) and tables.
#[derive(Debug, Default)]
pub struct MemLimiter {
    /// The cap in bytes (0: only the pool's slot size).
    pub cap: u64,
    /// Bytes of linear memory the instance has.
    pub current: u64,
    /// Set when a growth was refused: the call ends with a memory breach.
    pub breached: bool,
}

impl wasmtime::ResourceLimiter for MemLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .current
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if self.cap > 0 && total > self.cap {
            self.breached = true;
            return Err(wasmtime::Error::new(HostTrap(format!(
                "memory limit {} bytes exceeded",
                self.cap
            ))));
        }
        self.current = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// What `init` declared (kept raw; converted once `init` returned).
#[derive(Debug, Default)]
pub struct Declared {
    /// `run()`.
    pub run: Option<(builder::Plan, builder::RunOptions)>,
    /// `register()` calls, in order.
    pub registrations: Vec<(builder::Plan, builder::RegisterOptions)>,
}

/// What the instance is doing.
#[derive(Debug)]
pub enum Phase {
    /// `init` at upload: builder calls are recorded.
    Upload(Declared),
    /// `init` of a fresh instance: builder calls are accepted and ignored.
    Reinit,
    /// Serving an execution.
    Exec,
    /// Between calls.
    Idle,
}

/// The context of the call running in an instance.
pub struct CallCtx {
    /// The server (None while idle).
    pub api: Option<Arc<dyn HostApi>>,
    /// The session id (log lines name it).
    pub session_id: Arc<str>,
    /// The phase.
    pub phase: Phase,
    /// The execution id, during an execution.
    pub execution_id: Option<String>,
    /// Set from outside (RG.ABORTEXECUTION): the guest traps at the next epoch tick or host
    /// call.
    pub interrupt: Arc<AtomicBool>,
    /// When the execution must end.
    pub deadline: Option<Instant>,
    /// Fuel the guest had when the call started (0: unlimited).
    pub fuel_budget: u64,
    /// Fuel charged by host calls during this call.
    pub host_fuel: u64,
    /// The breach that made the host trap the guest.
    pub breach: Option<BreachKind>,
    /// A host function panicked: its message.
    pub host_panic: Option<String>,
}

impl CallCtx {
    /// An idle context of `session_id`.
    pub fn idle(session_id: Arc<str>) -> CallCtx {
        CallCtx {
            api: None,
            session_id,
            phase: Phase::Idle,
            execution_id: None,
            interrupt: Arc::new(AtomicBool::new(false)),
            deadline: None,
            fuel_budget: 0,
            host_fuel: 0,
            breach: None,
            host_panic: None,
        }
    }

    /// Whether the running call must stop now; records why.
    pub fn check_stop(&mut self) -> Option<BreachKind> {
        if self.breach.is_some() {
            return self.breach;
        }
        let kind = if self.interrupt.load(Ordering::Relaxed) {
            Some(BreachKind::Abort)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(BreachKind::Timeout)
        } else {
            None
        };
        self.breach = kind;
        kind
    }
}

/// The data of an instance's store.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The memory limiter.
    pub limiter: MemLimiter,
    /// The running call.
    pub call: CallCtx,
}

impl StoreState {
    /// A fresh state for an instance of `session_id` capped at `memory_cap` bytes.
    pub fn new(session_id: Arc<str>, memory_cap: u64) -> StoreState {
        StoreState {
            // An empty WASI context: no arguments, environment, preopened directories,
            // network or inherited stdio.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter: MemLimiter {
                cap: memory_cap,
                current: 0,
                breached: false,
            },
            call: CallCtx::idle(session_id),
        }
    }

    /// Runs a host function body: stops a guest that must stop, charges fuel, and turns a panic
    /// into a trap.
    fn guarded<R>(
        &mut self,
        name: &str,
        cost: u64,
        f: impl FnOnce(&mut Self) -> R,
    ) -> wasmtime::Result<R> {
        if let Some(kind) = self.call.check_stop() {
            return Err(wasmtime::Error::new(HostTrap(format!(
                "stopped ({})",
                kind.as_str()
            ))));
        }
        self.call.host_fuel = self.call.host_fuel.saturating_add(cost);
        if self.call.fuel_budget > 0 && self.call.host_fuel > self.call.fuel_budget {
            self.call.breach = Some(BreachKind::Fuel);
            return Err(wasmtime::Error::new(HostTrap("fuel exhausted".into())));
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(r) => Ok(r),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(function = name, panic = %msg, "wasm host function panicked");
                let text = format!("host function {name} panicked: {msg}");
                self.call.host_panic = Some(text.clone());
                Err(wasmtime::Error::new(HostTrap(text)))
            }
        }
    }

    fn api(&self) -> Option<Arc<dyn HostApi>> {
        self.call.api.clone()
    }

    fn in_execution(&self) -> bool {
        matches!(self.call.phase, Phase::Exec)
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn args_len(args: &[Vec<u8>]) -> u64 {
    args.iter().map(|a| a.len() as u64).sum()
}

fn not_in_execution() -> types::Reply {
    vec![types::ReplyNode::Error(
        "ERR execute is not allowed during init: nothing runs at upload".into(),
    )]
}

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn execute(&mut self, args: Vec<Vec<u8>>) -> wasmtime::Result<types::Reply> {
        let cost = HOST_CALL_FUEL + args_len(&args) / 8;
        self.guarded("execute", cost, |s| {
            let Some(api) = s.api().filter(|_| s.in_execution()) else {
                return not_in_execution();
            };
            convert::reply_nodes(&api.execute(args))
        })
    }

    fn execute_atomic(
        &mut self,
        commands: Vec<Vec<Vec<u8>>>,
    ) -> wasmtime::Result<Vec<types::Reply>> {
        let cost = commands
            .iter()
            .map(|c| HOST_CALL_FUEL + args_len(c) / 8)
            .sum();
        self.guarded("execute-atomic", cost, |s| {
            let Some(api) = s.api().filter(|_| s.in_execution()) else {
                return commands.iter().map(|_| not_in_execution()).collect();
            };
            api.atomic_enter();
            // The block is released even if a command panics (the panic then goes on to
            // `guarded`).
            struct Exit<'a>(&'a dyn HostApi);
            impl Drop for Exit<'_> {
                fn drop(&mut self) {
                    self.0.atomic_exit();
                }
            }
            let _exit = Exit(&*api);
            commands
                .into_iter()
                .map(|c| convert::reply_nodes(&api.execute(c)))
                .collect()
        })
    }

    fn log(&mut self, level: host::LogLevel, message: String) -> wasmtime::Result<()> {
        self.guarded("log", HOST_CALL_FUEL / 10, |s| {
            let level = match level {
                host::LogLevel::Debug => LogLevel::Debug,
                host::LogLevel::Verbose => LogLevel::Verbose,
                host::LogLevel::Notice => LogLevel::Notice,
                host::LogLevel::Warning => LogLevel::Warning,
            };
            let line = format!("[{}] {message}", s.call.session_id);
            match s.api() {
                Some(api) => api.log(level, &line),
                None => tracing::info!(target: "gears", "GEARS: {line}"),
            }
        })
    }

    fn config_get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.guarded("config-get", HOST_CALL_FUEL / 10, |s| {
            s.api().and_then(|api| api.gears_config(&key))
        })
    }

    fn call_next(&mut self, args: Vec<Vec<u8>>) -> wasmtime::Result<Result<types::Reply, String>> {
        let cost = HOST_CALL_FUEL + args_len(&args) / 8;
        self.guarded("call-next", cost, |s| {
            let Some(api) = s.api().filter(|_| s.in_execution()) else {
                return Err("Can not get CommandHook ctx".to_string());
            };
            api.call_next(args).map(|r| convert::reply_nodes(&r))
        })
    }

    fn override_reply(&mut self, value: types::Data) -> wasmtime::Result<Result<(), String>> {
        self.guarded("override-reply", HOST_CALL_FUEL / 10, |s| {
            let Some(api) = s.api().filter(|_| s.in_execution()) else {
                return Err("Can not get command ctx".to_string());
            };
            convert::check(&value).map_err(|e| format!("override-reply: malformed value: {e}"))?;
            api.override_reply(convert::to_reply(&value))
        })
    }

    fn execution_id(&mut self) -> wasmtime::Result<Option<String>> {
        self.guarded("execution-id", HOST_CALL_FUEL / 10, |s| {
            s.call.execution_id.clone()
        })
    }
}

impl builder::Host for StoreState {
    fn run(
        &mut self,
        p: builder::Plan,
        options: builder::RunOptions,
    ) -> wasmtime::Result<Result<(), String>> {
        self.guarded("run", HOST_CALL_FUEL / 10, |s| match &mut s.call.phase {
            Phase::Upload(d) => {
                if d.run.is_some() {
                    return Err("run() may be declared once per session".to_string());
                }
                d.run = Some((p, options));
                Ok(())
            }
            Phase::Reinit => Ok(()),
            Phase::Exec | Phase::Idle => Err("run() can only be declared during init".to_string()),
        })
    }

    fn register(
        &mut self,
        p: builder::Plan,
        options: builder::RegisterOptions,
    ) -> wasmtime::Result<Result<(), String>> {
        self.guarded("register", HOST_CALL_FUEL / 10, |s| {
            match &mut s.call.phase {
                Phase::Upload(d) => {
                    d.registrations.push((p, options));
                    Ok(())
                }
                Phase::Reinit => Ok(()),
                Phase::Exec | Phase::Idle => {
                    Err("register() can only be declared during init".to_string())
                }
            }
        })
    }
}
