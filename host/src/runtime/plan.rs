//! What a runtime reports after running a session's code: functions to run now or register,
//! described neutrally (reader, steps with callbacks, arguments). The engine builds executions
//! and registrations from these.

use super::Callback;

/// The core operations of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// `map(f)`
    Map,
    /// `flatmap(f)`
    FlatMap,
    /// `filter(f)`
    Filter,
    /// `foreach(f)`
    ForEach,
    /// `accumulate(f)`
    Accumulate,
    /// `localgroupby(extractor, reducer)`
    LocalGroupBy,
    /// `groupby(extractor, reducer)`
    GroupBy,
    /// `batchgroupby(extractor, reducer)`
    BatchGroupBy,
    /// `repartition(extractor)`
    Repartition,
    /// `collect()`
    Collect,
    /// `limit(length, offset)`
    Limit,
}

/// One step.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// The operation.
    pub kind: StepKind,
    /// Callbacks (extractor then reducer for groups).
    pub callbacks: Vec<Callback>,
    /// For `limit`: (offset, length).
    pub limit: Option<(i64, i64)>,
}

/// The names RG.GETEXECUTION shows for a runtime's steps (RedisGears' internal callback names
/// for Python).
#[derive(Debug, Clone, Copy)]
pub struct Naming {
    /// The implicit first step converting reader records.
    pub to_record: &'static str,
    /// `map`.
    pub mapper: &'static str,
    /// The callback half of `flatmap`.
    pub flat_mapper: &'static str,
    /// `filter`.
    pub filter: &'static str,
    /// `foreach`.
    pub foreach: &'static str,
    /// `accumulate`.
    pub accumulate: &'static str,
    /// Group and repartition key extractors.
    pub extractor: &'static str,
    /// Group reducers (`accumulatebykey`).
    pub accumulate_by_key: &'static str,
    /// `batchgroupby` reducers.
    pub reducer: &'static str,
}

/// A function: reader, description and steps.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    /// Plan id (`<40 zeros>-<n>`).
    pub id: String,
    /// Reader name (`KeysReader`, `StreamReader`, `PythonReader`, `CommandReader`).
    pub reader: String,
    /// Description.
    pub desc: Option<String>,
    /// Steps in order.
    pub steps: Vec<StepSpec>,
    /// How the runtime names its steps.
    pub naming: &'static Naming,
}

/// Execution modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `async`
    Async,
    /// `async_local`
    AsyncLocal,
    /// `sync`
    Sync,
}

impl Mode {
    /// RedisGears' name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Async => "async",
            Mode::AsyncLocal => "async_local",
            Mode::Sync => "sync",
        }
    }
}

/// The reader argument of `run()`.
#[derive(Debug, Clone)]
pub enum RunArg {
    /// A key pattern (KeysReader) or stream key (StreamReader).
    Text(String),
    /// A generator function (PythonReader).
    Generator(Callback),
}

/// `run()`.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The function.
    pub plan: PlanSpec,
    /// Reader argument.
    pub arg: RunArg,
    /// Mode (async or async_local; the same on one shard).
    pub mode: Mode,
    /// KeysReader `noScan`.
    pub no_scan: bool,
    /// KeysReader `readValue`.
    pub read_value: bool,
    /// StreamReader `fromId`.
    pub from_id: String,
}

/// StreamReader `onFailedPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailed {
    /// continue
    Continue,
    /// abort
    Abort,
    /// retry
    Retry,
}

impl OnFailed {
    /// RedisGears' name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailed::Continue => "continue",
            OnFailed::Abort => "abort",
            OnFailed::Retry => "retry",
        }
    }
}

/// `register()`: the union of every reader's options.
#[derive(Debug, Clone)]
pub struct RegisterSpec {
    /// The function.
    pub plan: PlanSpec,
    /// Mode.
    pub mode: Mode,
    /// `onRegistered`.
    pub on_registered: Option<Callback>,
    /// Key or stream prefix.
    pub prefix: String,
    /// KeysReader `eventTypes`.
    pub event_types: Option<Vec<String>>,
    /// KeysReader `keyTypes`.
    pub key_types: Option<Vec<String>>,
    /// KeysReader `commands`.
    pub commands: Option<Vec<String>>,
    /// KeysReader `readValue`.
    pub read_value: bool,
    /// StreamReader `batch`.
    pub batch: i64,
    /// StreamReader `duration` (ms).
    pub duration: i64,
    /// StreamReader `onFailedPolicy`.
    pub on_failed: OnFailed,
    /// StreamReader `onFailedRetryInterval` (s).
    pub retry_interval: i64,
    /// StreamReader `trimStream`.
    pub trim_stream: bool,
    /// CommandReader `trigger`.
    pub trigger: Option<String>,
    /// CommandReader `hook`.
    pub hook: Option<String>,
    /// CommandReader `keyprefix`.
    pub keyprefix: Option<String>,
    /// CommandReader `inorder`.
    pub inorder: bool,
    /// Limits of this registration's executions (they only lower the session's).
    pub limits: crate::limits::LimitOverrides,
}

/// Everything a session's code asked for.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `run()`, if called.
    pub run: Option<RunSpec>,
    /// `register()` calls, in order.
    pub registrations: Vec<RegisterSpec>,
}
