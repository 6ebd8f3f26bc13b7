//! Limits: fuel, memory and deadline budgets of executions; limit breaches, their typed error
//! texts and counters; the automatic-pause policy of registrations.
//!
//! Owns: [`Limits`] (resolved budgets), [`LimitOverrides`] (what a session or registration asks
//! for), [`BreachKind`] / [`Breach`] (what ended an execution, with RedisGears-style error text)
//! and [`BreachCounters`] (per-engine counters for `INFO gears`).
//!
//! Resolution: the RG.CONFIGSET defaults (`DefaultFuel`, `DefaultMemoryLimit`, `DefaultTimeoutMS`,
//! `MaxBreachesBeforePause`), then the session's options (`FUEL`, `MEMORY`, `TIMEOUT`,
//! `MAXBREACHES`), then a registration's options, which may only lower the session's values.
//! A value of 0 means "no limit" everywhere.
//!
//! May import nothing but std: the engine and the runtimes import it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The budgets an execution runs under; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Fuel (wasmtime units, about one per wasm instruction) per execution.
    pub fuel: u64,
    /// Memory cap (bytes): a wasm instance's linear memory; for Python the bytes an execution's
    /// thread allocates through the Python allocators (best effort).
    pub memory_bytes: u64,
    /// Wall-clock limit of one execution, in milliseconds.
    pub timeout_ms: u64,
    /// Consecutive breaches before a registration pauses itself.
    pub max_breaches: u32,
}

/// Limits a session or registration asks for; `None` keeps the value it would inherit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitOverrides {
    /// `FUEL`.
    pub fuel: Option<u64>,
    /// `MEMORY`.
    pub memory_bytes: Option<u64>,
    /// `TIMEOUT`.
    pub timeout_ms: Option<u64>,
    /// `MAXBREACHES`.
    pub max_breaches: Option<u32>,
}

/// The lower of two limits where 0 means unlimited.
fn lower(a: u64, b: u64) -> u64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}

impl Limits {
    /// `self` with every value `o` sets replaced (session options over config defaults).
    pub fn with(self, o: &LimitOverrides) -> Limits {
        Limits {
            fuel: o.fuel.unwrap_or(self.fuel),
            memory_bytes: o.memory_bytes.unwrap_or(self.memory_bytes),
            timeout_ms: o.timeout_ms.unwrap_or(self.timeout_ms),
            max_breaches: o.max_breaches.unwrap_or(self.max_breaches),
        }
    }

    /// `self` lowered by `o` (registration options: never above the session's values; a
    /// registration cannot lift a limit to unlimited).
    pub fn lowered(self, o: &LimitOverrides) -> Limits {
        let max_breaches = match o.max_breaches {
            Some(b) => u32::try_from(lower(u64::from(self.max_breaches), u64::from(b)))
                .unwrap_or(self.max_breaches),
            None => self.max_breaches,
        };
        Limits {
            fuel: o.fuel.map_or(self.fuel, |f| lower(self.fuel, f)),
            memory_bytes: o
                .memory_bytes
                .map_or(self.memory_bytes, |m| lower(self.memory_bytes, m)),
            timeout_ms: o
                .timeout_ms
                .map_or(self.timeout_ms, |t| lower(self.timeout_ms, t)),
            max_breaches,
        }
    }
}

/// What ended an execution early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreachKind {
    /// Fuel ran out.
    Fuel,
    /// The memory cap was hit.
    Memory,
    /// The deadline passed.
    Timeout,
    /// RG.ABORTEXECUTION.
    Abort,
}

impl BreachKind {
    /// Every kind, in `INFO gears` order.
    pub const ALL: [BreachKind; 4] = [
        BreachKind::Fuel,
        BreachKind::Memory,
        BreachKind::Timeout,
        BreachKind::Abort,
    ];

    /// The kind's name (`INFO gears` field suffixes).
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::Fuel => "fuel",
            BreachKind::Memory => "memory",
            BreachKind::Timeout => "timeout",
            BreachKind::Abort => "abort",
        }
    }

    fn index(self) -> usize {
        match self {
            BreachKind::Fuel => 0,
            BreachKind::Memory => 1,
            BreachKind::Timeout => 2,
            BreachKind::Abort => 3,
        }
    }
}

/// A breach: its kind and the limit that was passed. `Display` is the execution's error text:
/// `ABORTED fuel limit 1000000 exhausted`, `ABORTED memory limit 16777216 bytes exceeded`,
/// `ABORTED timeout 50 ms exceeded`, `ABORTED by RG.ABORTEXECUTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breach {
    /// What was passed.
    pub kind: BreachKind,
    /// The limit's value (fuel units, bytes, milliseconds; 0 for an abort).
    pub limit: u64,
}

impl Breach {
    /// Fuel exhausted.
    pub fn fuel(limit: u64) -> Breach {
        Breach {
            kind: BreachKind::Fuel,
            limit,
        }
    }

    /// Memory cap hit.
    pub fn memory(limit: u64) -> Breach {
        Breach {
            kind: BreachKind::Memory,
            limit,
        }
    }

    /// Deadline passed.
    pub fn timeout(limit_ms: u64) -> Breach {
        Breach {
            kind: BreachKind::Timeout,
            limit: limit_ms,
        }
    }

    /// RG.ABORTEXECUTION.
    pub fn abort() -> Breach {
        Breach {
            kind: BreachKind::Abort,
            limit: 0,
        }
    }
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BreachKind::Fuel => write!(f, "ABORTED fuel limit {} exhausted", self.limit),
            BreachKind::Memory => write!(f, "ABORTED memory limit {} bytes exceeded", self.limit),
            BreachKind::Timeout => write!(f, "ABORTED timeout {} ms exceeded", self.limit),
            BreachKind::Abort => f.write_str("ABORTED by RG.ABORTEXECUTION"),
        }
    }
}

/// Breach and pause counters of one engine (`INFO gears`).
#[derive(Debug, Default)]
pub struct BreachCounters {
    by_kind: [AtomicU64; 4],
    auto_pauses: AtomicU64,
}

impl BreachCounters {
    /// Counts one breach.
    pub fn count(&self, kind: BreachKind) {
        self.by_kind[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Breaches of `kind` so far.
    pub fn get(&self, kind: BreachKind) -> u64 {
        self.by_kind[kind.index()].load(Ordering::Relaxed)
    }

    /// Counts one automatic pause.
    pub fn count_pause(&self) {
        self.auto_pauses.fetch_add(1, Ordering::Relaxed);
    }

    /// Automatic pauses so far.
    pub fn pauses(&self) -> u64 {
        self.auto_pauses.load(Ordering::Relaxed)
    }
}

/// What a registration does after an execution: counts consecutive breaches and says when it
/// must pause. Returns `Some(reason)` when the registration must pause now.
pub fn after_execution(consecutive: &mut u32, breach: Option<&Breach>, max: u32) -> Option<String> {
    let Some(b) = breach else {
        *consecutive = 0;
        return None;
    };
    *consecutive = consecutive.saturating_add(1);
    if max > 0 && *consecutive >= max {
        let n = *consecutive;
        *consecutive = 0;
        return Some(format!(
            "paused after {n} consecutive limit breaches (MaxBreachesBeforePause {max}); last: {b}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_limit() {
        assert_eq!(
            Breach::fuel(1_000_000).to_string(),
            "ABORTED fuel limit 1000000 exhausted"
        );
        assert_eq!(
            Breach::memory(16_777_216).to_string(),
            "ABORTED memory limit 16777216 bytes exceeded"
        );
        assert_eq!(
            Breach::timeout(50).to_string(),
            "ABORTED timeout 50 ms exceeded"
        );
        assert_eq!(Breach::abort().to_string(), "ABORTED by RG.ABORTEXECUTION");
    }

    #[test]
    fn sessions_override_and_registrations_only_lower() {
        let defaults = Limits {
            fuel: 100,
            memory_bytes: 0,
            timeout_ms: 50,
            max_breaches: 3,
        };
        let session = defaults.with(&LimitOverrides {
            fuel: Some(1000),
            memory_bytes: Some(4096),
            ..LimitOverrides::default()
        });
        assert_eq!(session.fuel, 1000);
        assert_eq!(session.memory_bytes, 4096);
        assert_eq!(session.timeout_ms, 50);
        let reg = session.lowered(&LimitOverrides {
            fuel: Some(5000),
            memory_bytes: Some(1024),
            timeout_ms: Some(0),
            max_breaches: Some(1),
        });
        assert_eq!(reg.fuel, 1000, "cannot raise");
        assert_eq!(reg.memory_bytes, 1024);
        assert_eq!(reg.timeout_ms, 50, "0 (unlimited) does not lift a limit");
        assert_eq!(reg.max_breaches, 1);
        let unlimited = Limits::default().lowered(&LimitOverrides {
            fuel: Some(7),
            ..LimitOverrides::default()
        });
        assert_eq!(unlimited.fuel, 7, "lowering from unlimited");
    }

    #[test]
    fn pause_after_consecutive_breaches() {
        let mut n = 0;
        let b = Breach::fuel(1);
        assert_eq!(after_execution(&mut n, Some(&b), 2), None);
        assert_eq!(after_execution(&mut n, None, 2), None);
        assert_eq!(n, 0, "a clean execution resets the count");
        assert_eq!(after_execution(&mut n, Some(&b), 2), None);
        assert!(after_execution(&mut n, Some(&b), 2).is_some());
        let mut m = 0;
        for _ in 0..10 {
            assert_eq!(after_execution(&mut m, Some(&b), 0), None, "0: never pause");
        }
    }
}
