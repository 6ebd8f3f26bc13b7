//! Registrations: functions bound to events (KeysReader key events, StreamReader stream
//! entries, CommandReader triggers), with RedisGears' counters, status and pause state.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::execution::ExecutionId;
use super::session::Session;
use crate::runtime::plan::{Mode, RegisterSpec};

/// The reader a registration listens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    /// Key events.
    Keys,
    /// Stream entries.
    Stream,
    /// RG.TRIGGER / command hooks.
    Command,
}

impl ReaderKind {
    /// The name RG.DUMPREGISTRATIONS shows.
    pub fn as_str(self) -> &'static str {
        match self {
            ReaderKind::Keys => "KeysReader",
            ReaderKind::Stream => "StreamReader",
            ReaderKind::Command => "CommandReader",
        }
    }

    /// From a plan's reader name.
    pub fn parse(name: &str) -> Option<ReaderKind> {
        match name {
            "KeysReader" => Some(ReaderKind::Keys),
            "StreamReader" => Some(ReaderKind::Stream),
            "CommandReader" => Some(ReaderKind::Command),
            _ => None,
        }
    }
}

/// A registration's status (`status` in RG.DUMPREGISTRATIONS for streams; every reader can be
/// paused here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegStatus {
    /// Processing events.
    Ok,
    /// Paused (RG.PAUSEREGISTRATIONS, `flat_error('PAUSE ...')`, or too many limit breaches);
    /// the reason is shown in RG.DUMPREGISTRATIONS.
    Paused(String),
    /// A StreamReader with onFailedPolicy `abort` that failed.
    Aborted,
    /// A StreamReader with onFailedPolicy `retry` waiting to retry.
    WaitingForRetry,
}

impl RegStatus {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RegStatus::Ok => "OK",
            RegStatus::Paused(_) => "PAUSED",
            RegStatus::Aborted => "ABORTED",
            RegStatus::WaitingForRetry => "WAITING_FOR_RETRY_ON_FAILURE",
        }
    }

    /// Whether events are processed.
    pub fn is_active(&self) -> bool {
        matches!(self, RegStatus::Ok)
    }
}

/// RG.DUMPREGISTRATIONS counters.
#[derive(Debug, Clone, Default)]
pub struct RegStats {
    /// Executions created.
    pub triggered: u64,
    /// Finished without errors.
    pub success: u64,
    /// Finished with errors.
    pub failures: u64,
    /// Aborted (or dropped before running).
    pub aborted: u64,
    /// Key events that arrived while paused (gears-host extension).
    pub skipped: u64,
    /// Duration of the last finished execution.
    pub last_run: Duration,
    /// Sum of durations.
    pub total_run: Duration,
    /// First error of the last failed execution; cleared by a success.
    pub last_error: Option<String>,
    /// StreamReader: lag of the last batch (ms).
    pub last_lag_ms: u64,
    /// StreamReader: sum of lags (ms).
    pub total_lag_ms: u64,
}

impl RegStats {
    /// Finished executions.
    pub fn finished(&self) -> u64 {
        self.success + self.failures + self.aborted
    }

    /// `avgRunDurationMS`.
    pub fn avg_run_ms(&self) -> f64 {
        let n = self.finished();
        if n == 0 {
            0.0
        } else {
            self.total_run.as_secs_f64() * 1000.0 / n as f64
        }
    }

    /// `avgEstimatedLagMS`.
    pub fn avg_lag_ms(&self) -> f64 {
        let n = self.finished();
        if n == 0 {
            0.0
        } else {
            self.total_lag_ms as f64 / n as f64
        }
    }

    /// RG.CLEARREGISTRATIONSSTATS: executions in flight stay counted as triggered.
    pub fn clear(&mut self) {
        self.triggered = self.triggered.saturating_sub(self.finished());
        self.success = 0;
        self.failures = 0;
        self.aborted = 0;
        self.skipped = 0;
        self.last_run = Duration::ZERO;
        self.total_run = Duration::ZERO;
        self.last_error = None;
        self.last_lag_ms = 0;
        self.total_lag_ms = 0;
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A key event queued for an `async`/`async_local` KeysReader registration. Kept unboxed, so
/// queueing an event allocates nothing but its slot, and the worker drains a run of them with
/// one entry into the runtime.
#[derive(Debug, Clone)]
pub struct KeyJob {
    /// Database of the event.
    pub db: usize,
    /// Redis's event name.
    pub event: &'static str,
    /// The key.
    pub key: bytes::Bytes,
    /// Trigger depth the execution runs at.
    pub depth: u32,
}

/// One unit of a registration's serial queue.
pub enum Work {
    /// Any job (stream batches, in-order RG.TRIGGER, linked key events).
    Job(Job),
    /// A plain key event.
    Key(KeyJob),
}

/// What the drainer takes next: one job, or a run of consecutive key events.
pub enum Batch {
    /// One job.
    Job(Job),
    /// Key events, oldest first.
    Keys(Vec<KeyJob>),
}

/// Runs a registration's jobs one after another, in submission order, on the engine's threads.
#[derive(Default)]
pub struct Worker {
    queue: Mutex<(VecDeque<Work>, bool)>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

impl Worker {
    /// Queues `job`; returns true if the caller must start a drainer (none is running).
    pub fn push(&self, job: Job) -> bool {
        self.push_work(Work::Job(job))
    }

    /// Queues a key event; returns true if the caller must start a drainer.
    pub fn push_key(&self, job: KeyJob) -> bool {
        self.push_work(Work::Key(job))
    }

    fn push_work(&self, work: Work) -> bool {
        let mut q = self.queue.lock();
        q.0.push_back(work);
        if q.1 {
            false
        } else {
            q.1 = true;
            true
        }
    }

    /// The next job or run of at most `max` key events. When the queue is empty: None, and
    /// the worker marks itself idle if `idle` (otherwise the caller keeps draining, so pushes
    /// do not start another drainer).
    pub fn pop_batch(&self, max: usize, idle: bool) -> Option<Batch> {
        let mut q = self.queue.lock();
        match q.0.pop_front() {
            None => {
                if idle {
                    q.1 = false;
                }
                None
            }
            Some(Work::Job(j)) => Some(Batch::Job(j)),
            Some(Work::Key(k)) => {
                let mut keys = Vec::with_capacity(q.0.len().min(max).max(1));
                keys.push(k);
                while keys.len() < max {
                    match q.0.front() {
                        Some(Work::Key(_)) => {
                            if let Some(Work::Key(k)) = q.0.pop_front() {
                                keys.push(k);
                            }
                        }
                        _ => break,
                    }
                }
                Some(Batch::Keys(keys))
            }
        }
    }

    /// Number of queued jobs.
    pub fn len(&self) -> usize {
        self.queue.lock().0.len()
    }

    /// Whether no job is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every queued job (unregister / pause with abortpending); returns how many.
    pub fn clear(&self) -> usize {
        let mut q = self.queue.lock();
        let n = q.0.len();
        q.0.clear();
        n
    }
}

/// Per-stream consumer state of a StreamReader registration.
#[derive(Debug, Default, Clone)]
pub struct StreamState {
    /// Entries not yet processed (as far as the registration knows).
    pub pending: u64,
    /// A batch is queued or running.
    pub busy: bool,
    /// Arrival of the oldest unprocessed entry seen through an event.
    pub first_arrival: Option<std::time::Instant>,
    /// A duration timer is armed.
    pub timer: bool,
}

/// A registration.
pub struct Registration {
    /// Registration id.
    pub id: String,
    /// Reader.
    pub kind: ReaderKind,
    /// Plan and arguments.
    pub spec: RegisterSpec,
    /// The owning session.
    pub session: Arc<Session>,
    /// Counters.
    pub stats: Mutex<RegStats>,
    /// Status.
    pub status: Mutex<RegStatus>,
    /// Serial execution queue.
    pub worker: Worker,
    /// StreamReader state per stream key.
    pub streams: Mutex<std::collections::HashMap<Vec<u8>, StreamState>>,
    /// Finished executions remembered for MaxExecutionsPerRegistration.
    pub done: Mutex<VecDeque<ExecutionId>>,
    /// Set when unregistered: nothing new starts.
    pub gone: AtomicBool,
    /// Executions running now (RG.UNREGISTER waits for them before it replies).
    pub running: Mutex<Vec<Arc<super::execution::Execution>>>,
    /// Consecutive limit breaches (for automatic pause).
    pub breaches: Mutex<u32>,
    /// What every execution of this registration starts with (built on first use).
    pub template: std::sync::OnceLock<ExecTemplate>,
}

/// The parts of a registration's executions that never change: built once, shared by all.
#[derive(Debug, Clone)]
pub struct ExecTemplate {
    /// RG.GETEXECUTION's steps.
    pub steps: Arc<Vec<super::execution::StepProfile>>,
    /// The error text RG.ABORTEXECUTION gives them.
    pub abort_text: Arc<str>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// A registration of `spec` in `session`.
    pub fn new(kind: ReaderKind, spec: RegisterSpec, session: Arc<Session>) -> Arc<Registration> {
        Arc::new(Registration {
            id: spec.plan.id.clone(),
            kind,
            spec,
            session,
            stats: Mutex::new(RegStats::default()),
            status: Mutex::new(RegStatus::Ok),
            worker: Worker::default(),
            streams: Mutex::new(std::collections::HashMap::new()),
            done: Mutex::new(VecDeque::new()),
            gone: AtomicBool::new(false),
            running: Mutex::new(Vec::new()),
            breaches: Mutex::new(0),
            template: std::sync::OnceLock::new(),
        })
    }

    /// Execution mode.
    pub fn mode(&self) -> Mode {
        self.spec.mode
    }

    /// Whether it was unregistered.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::SeqCst)
    }

    /// Marks `exec` running; false (and nothing recorded) once the registration is gone.
    pub fn start_running(&self, exec: &Arc<super::execution::Execution>) -> bool {
        let mut running = self.running.lock();
        if self.is_gone() {
            return false;
        }
        running.push(exec.clone());
        true
    }

    /// Removes `exec` from the running set.
    pub fn stop_running(&self, exec: &Arc<super::execution::Execution>) {
        self.running.lock().retain(|e| !Arc::ptr_eq(e, exec));
    }

    /// Marks the registration gone; returns the executions still running, which finish on
    /// their own (nothing new starts after this).
    pub fn retire(&self) -> Vec<Arc<super::execution::Execution>> {
        let running = self.running.lock();
        self.gone.store(true, Ordering::SeqCst);
        running.clone()
    }

    /// KeysReader filter: prefix (a trailing `*` means "starts with", else exact), event types
    /// (case-insensitive) and key types (`empty` for a missing key).
    pub fn keys_match(&self, event: &str, key: &[u8], key_type: &str) -> bool {
        if !prefix_matches(&self.spec.prefix, key) {
            return false;
        }
        if let Some(types) = &self.spec.event_types
            && !types.iter().any(|t| t.eq_ignore_ascii_case(event))
        {
            return false;
        }
        if let Some(types) = &self.spec.key_types
            && !types.iter().any(|t| t == key_type)
        {
            return false;
        }
        true
    }
}

/// RedisGears' registration prefix rule: `abc*` matches keys starting with `abc`; without a
/// trailing `*` the key must be equal.
pub fn prefix_matches(prefix: &str, key: &[u8]) -> bool {
    match prefix.strip_suffix('*') {
        Some(p) => key.starts_with(p.as_bytes()),
        None => key == prefix.as_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rule() {
        assert!(prefix_matches("*", b"anything"));
        assert!(prefix_matches("user:*", b"user:1"));
        assert!(!prefix_matches("user:*", b"users"));
        assert!(prefix_matches("exact", b"exact"));
        assert!(!prefix_matches("exact", b"exactly"));
    }

    #[test]
    fn clear_keeps_in_flight_triggers() {
        let mut s = RegStats {
            triggered: 5,
            success: 2,
            failures: 1,
            aborted: 1,
            ..RegStats::default()
        };
        s.clear();
        assert_eq!(s.triggered, 1);
        assert_eq!(s.finished(), 0);
    }
}
