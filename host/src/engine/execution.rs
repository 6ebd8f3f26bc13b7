//! Executions: ids, statuses, results, errors and the per-step profile.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::keyspace::journal::Journal;
use crate::runtime::{Abort, Native, ReplyValue};

/// The 40-character shard id of a stand-alone server.
pub const SHARD_ID: &str = "0000000000000000000000000000000000000000";

/// An execution id: `<shard id>-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutionId(pub u64);

impl std::fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SHARD_ID}-{}", self.0)
    }
}

impl ExecutionId {
    /// The wire form (`<shard id>-<n>`), built without the formatting machinery (executions of
    /// registrations need it once each).
    pub fn to_wire(self) -> String {
        let mut b = itoa::Buffer::new();
        let n = b.format(self.0);
        let mut s = String::with_capacity(SHARD_ID.len() + 1 + n.len());
        s.push_str(SHARD_ID);
        s.push('-');
        s.push_str(n);
        s
    }

    /// Parses a user-supplied id as RedisGears does: at least 42 bytes, `-` at byte 40, our
    /// shard id before it, then a number read like C's `sscanf("%lld")` (leading blanks and a
    /// sign accepted, trailing garbage ignored).
    pub fn parse(s: &[u8]) -> Option<ExecutionId> {
        if s.len() < 42 || s[40] != b'-' || &s[..40] != SHARD_ID.as_bytes() {
            return None;
        }
        let rest = &s[41..];
        let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        let (neg, digits) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let n: String = digits
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .map(|&c| char::from(c))
            .collect();
        let v: i64 = n.parse().ok()?;
        let v = if neg { -v } else { v };
        u64::try_from(v).ok().map(ExecutionId)
    }
}

/// Execution statuses (RedisGears' `EXECUTION_PLAN_STATUSES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created, waiting for a worker.
    Created,
    /// Running.
    Running,
    /// Finished.
    Done,
    /// Aborted (RG.ABORTEXECUTION, a limit breach, or idle timeout).
    Aborted,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Done => "done",
            Status::Aborted => "aborted",
        }
    }

    /// Whether the execution finished (done or aborted).
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Done | Status::Aborted)
    }
}

/// One step as RG.GETEXECUTION lists it.
#[derive(Debug, Clone)]
pub struct StepProfile {
    /// Step type (`map`, `flatmap`, `collect`, ...).
    pub kind: &'static str,
    /// Callback or built-in name (`RedisGearsPy_PyCallbackMapper`).
    pub name: &'static str,
    /// `str(callback)` or "".
    pub arg: String,
    /// Accumulated time in the step (only with ProfileExecutions).
    pub duration: Duration,
}

/// The results of a finished execution.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Result records, converted to replies.
    pub results: Vec<ReplyValue>,
    /// Error strings.
    pub errors: Vec<String>,
}

/// Called with the outcome when an execution finishes.
pub type DoneCallback = Box<dyn FnOnce(&Outcome) + Send>;

/// Mutable state of an execution.
pub struct ExecState {
    /// Status.
    pub status: Status,
    /// Results and errors once finished.
    pub outcome: Outcome,
    /// Steps in execution order (RG.GETEXECUTION lists them reversed); shared by the
    /// executions of one registration until a profile writes durations into them.
    pub steps: Arc<Vec<StepProfile>>,
    /// Time spent running.
    pub total: Duration,
    /// Time spent in the reader.
    pub read: Duration,
    /// Called once when the execution finishes.
    pub on_done: Vec<DoneCallback>,
    /// `Some`: keep the result records as runtime-native records here (executions started by
    /// user code hand them back to it).
    pub natives: Option<Vec<Native>>,
}

/// An execution.
#[derive(Debug)]
pub struct Execution {
    /// Its id.
    pub id: ExecutionId,
    /// Whether a registration created it.
    pub registered: bool,
    /// Stops it from outside.
    pub abort: Arc<Abort>,
    /// The pre-images of the keys it wrote (rolled back if it is aborted).
    pub journal: Arc<Journal>,
    /// Its state.
    pub state: Mutex<ExecState>,
    /// The error text RG.ABORTEXECUTION gives it (its runtime's).
    abort_text: std::sync::OnceLock<Arc<str>>,
}

impl std::fmt::Debug for ExecState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecState")
            .field("status", &self.status)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Execution {
    /// A new execution in status `created`.
    pub fn new(
        id: ExecutionId,
        registered: bool,
        steps: impl Into<Arc<Vec<StepProfile>>>,
    ) -> Arc<Execution> {
        let steps = steps.into();
        Arc::new(Execution {
            id,
            registered,
            abort: Arc::new(Abort::default()),
            journal: Journal::new(),
            state: Mutex::new(ExecState {
                status: Status::Created,
                outcome: Outcome::default(),
                steps,
                total: Duration::ZERO,
                read: Duration::ZERO,
                on_done: Vec::new(),
                natives: None,
            }),
            abort_text: std::sync::OnceLock::new(),
        })
    }

    /// Sets the error text RG.ABORTEXECUTION gives it (once).
    pub fn set_abort_text(&self, text: impl Into<Arc<str>>) {
        let _ = self.abort_text.set(text.into());
    }

    /// The error text RG.ABORTEXECUTION gives it.
    pub fn abort_text(&self) -> String {
        self.abort_text
            .get()
            .map(|t| t.to_string())
            .unwrap_or_else(|| crate::limits::Breach::abort().to_string())
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.state.lock().status
    }

    /// Calls `f` with the outcome once finished (at once if it already is).
    pub fn when_done(&self, f: DoneCallback) {
        let mut st = self.state.lock();
        if st.status.is_finished() {
            let outcome = st.outcome.clone();
            drop(st);
            f(&outcome);
        } else {
            st.on_done.push(f);
        }
    }

    /// Records the outcome, sets the final status and runs the done callbacks.
    pub fn finish(&self, status: Status, outcome: Outcome) {
        let callbacks = {
            let mut st = self.state.lock();
            st.status = status;
            st.outcome = outcome;
            std::mem::take(&mut st.on_done)
        };
        if callbacks.is_empty() {
            return;
        }
        let outcome = self.state.lock().outcome.clone();
        for cb in callbacks {
            cb(&outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redisgears() {
        let id = ExecutionId(7);
        assert_eq!(id.to_string(), format!("{SHARD_ID}-7"));
        assert_eq!(id.to_wire(), id.to_string());
        assert_eq!(
            ExecutionId(u64::MAX).to_wire(),
            format!("{SHARD_ID}-{}", u64::MAX)
        );
        assert_eq!(ExecutionId::parse(id.to_string().as_bytes()), Some(id));
        assert_eq!(
            ExecutionId::parse(format!("{SHARD_ID}-7abc").as_bytes()),
            Some(id)
        );
        assert_eq!(
            ExecutionId::parse(format!("{SHARD_ID}- 7").as_bytes()),
            Some(id)
        );
        assert_eq!(ExecutionId::parse(b"NoSuchExecutionId"), None);
        assert_eq!(ExecutionId::parse(format!("{SHARD_ID}-x").as_bytes()), None);
    }
}
