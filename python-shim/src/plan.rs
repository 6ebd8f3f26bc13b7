//! What a Python builder records: the reader, the steps with their callbacks, and the parsed
//! arguments of `run()` / `register()`. The host turns these into engine plans.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFunction, PyInt, PyString};

use crate::module::gears_error;

/// The core operations the builder records (the sugar ones compose these in the prelude).
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
    /// `limit(length[, offset])`
    Limit,
}

impl StepKind {
    /// The operation name used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Map => "map",
            StepKind::FlatMap => "flatmap",
            StepKind::Filter => "filter",
            StepKind::ForEach => "foreach",
            StepKind::Accumulate => "accumulate",
            StepKind::LocalGroupBy => "localgroupby",
            StepKind::GroupBy => "groupby",
            StepKind::BatchGroupBy => "batchgroupby",
            StepKind::Repartition => "repartition",
            StepKind::Collect => "collect",
            StepKind::Limit => "limit",
        }
    }
}

/// One recorded step.
#[derive(Debug)]
pub struct StepSpec {
    /// The operation.
    pub kind: StepKind,
    /// Its Python callbacks (extractor then reducer for the group operations).
    pub callbacks: Vec<Py<PyAny>>,
    /// `limit(length, offset)`: (offset, length).
    pub limit: Option<(i64, i64)>,
}

/// A recorded function.
#[derive(Debug)]
pub struct PlanSpec {
    /// The plan id (`<40 zeros>-<n>`).
    pub id: String,
    /// Reader name as given to `GB()` after aliasing (`KeysReader`, `StreamReader`,
    /// `PythonReader`, `CommandReader`).
    pub reader: String,
    /// `desc`.
    pub desc: Option<String>,
    /// The steps in order.
    pub steps: Vec<StepSpec>,
}

impl PlanSpec {
    /// A copy sharing the callbacks (builders may run or register more than once).
    pub fn clone_ref(&self, py: Python<'_>) -> PlanSpec {
        PlanSpec {
            id: self.id.clone(),
            reader: self.reader.clone(),
            desc: self.desc.clone(),
            steps: self
                .steps
                .iter()
                .map(|s| StepSpec {
                    kind: s.kind,
                    callbacks: s.callbacks.iter().map(|c| c.clone_ref(py)).collect(),
                    limit: s.limit,
                })
                .collect(),
        }
    }
}

/// Execution modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `async` (the default).
    Async,
    /// `async_local`.
    AsyncLocal,
    /// `sync` (registrations only).
    Sync,
}

impl Mode {
    /// The name RG.DUMPREGISTRATIONS shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Async => "async",
            Mode::AsyncLocal => "async_local",
            Mode::Sync => "sync",
        }
    }
}

/// The argument of `run()`: a key pattern / stream name, or a generator function.
#[derive(Debug)]
pub enum RunArg {
    /// KeysReader pattern or StreamReader key.
    Text(String),
    /// PythonReader generator function.
    Callable(Py<PyAny>),
}

/// Parsed `run()` arguments.
#[derive(Debug)]
pub struct RunArgs {
    /// The reader argument.
    pub arg: RunArg,
    /// `mode`.
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
    /// Continue with the next batch.
    Continue,
    /// Stop the registration.
    Abort,
    /// Retry the batch after `onFailedRetryInterval` seconds.
    Retry,
}

impl OnFailed {
    /// The name RG.DUMPREGISTRATIONS shows.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailed::Continue => "continue",
            OnFailed::Abort => "abort",
            OnFailed::Retry => "retry",
        }
    }
}

/// Parsed `register()` arguments (the union of every reader's options).
#[derive(Debug)]
pub struct RegisterArgs {
    /// `mode`.
    pub mode: Mode,
    /// `onRegistered` callback.
    pub on_registered: Option<Py<PyAny>>,
    /// `prefix` (KeysReader, StreamReader).
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
}

fn err(msg: &str) -> PyErr {
    gears_error(msg)
}

fn parse_mode(v: Option<&Bound<'_, PyAny>>, allow_sync: bool) -> PyResult<Mode> {
    let Some(v) = v else { return Ok(Mode::Async) };
    let s: String = v
        .cast::<PyString>()
        .map_err(|_| err("execution mode must be a string"))?
        .to_string();
    match s.as_str() {
        "async" => Ok(Mode::Async),
        "async_local" => Ok(Mode::AsyncLocal),
        "sync" if allow_sync => Ok(Mode::Sync),
        _ => Err(err("unknown execution mode")),
    }
}

fn opt_bool(v: Option<&Bound<'_, PyAny>>, default: bool, msg: &str) -> PyResult<bool> {
    match v {
        None => Ok(default),
        Some(v) if v.is_none() => Ok(default),
        Some(v) => v
            .cast::<PyBool>()
            .map(|b| b.is_true())
            .map_err(|_| err(msg)),
    }
}

fn opt_int(v: Option<&Bound<'_, PyAny>>, default: i64, msg: &str) -> PyResult<i64> {
    match v {
        None => Ok(default),
        Some(v) => {
            if v.cast::<PyInt>().is_err() {
                return Err(err(msg));
            }
            v.extract::<i64>().map_err(|_| err(msg))
        }
    }
}

fn opt_str(v: Option<&Bound<'_, PyAny>>, msg: &str) -> PyResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => Ok(Some(
            v.cast::<PyString>().map_err(|_| err(msg))?.to_string(),
        )),
    }
}

fn string_list(
    v: Option<&Bound<'_, PyAny>>,
    not_iterable: &str,
    not_string: &str,
) -> PyResult<Option<Vec<String>>> {
    let Some(v) = v else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    let iter = v.try_iter().map_err(|_| err(not_iterable))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        out.push(
            item.cast::<PyString>()
                .map_err(|_| err(not_string))?
                .to_string(),
        );
    }
    Ok(Some(out))
}

/// Parses `run(arg, **kwargs)` for `reader`.
///
/// # Errors
/// RedisGears' messages for bad arguments, as `gears.error`.
pub fn parse_run(
    reader: &str,
    arg: &Bound<'_, PyAny>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<RunArgs> {
    let get = |k: &str| kwargs.and_then(|d| d.get_item(k).ok().flatten());
    let mode = parse_mode(get("mode").as_ref(), false)?;
    let arg = match reader {
        "PythonReader" => {
            if arg.cast::<PyFunction>().is_err() {
                return Err(err("pyreader argument must be a function"));
            }
            RunArg::Callable(arg.clone().unbind())
        }
        "KeysReader" | "StreamReader" => RunArg::Text(
            arg.cast::<PyString>()
                .map_err(|_| err("regex argument must be a string"))?
                .to_string(),
        ),
        _ => return Err(err("Given reader do not support run or not exists")),
    };
    let no_scan = opt_bool(
        get("noScan").as_ref(),
        false,
        "exactMatch value is not boolean",
    )?;
    let read_value = opt_bool(
        get("readValue").as_ref(),
        true,
        "readValue value is not boolean",
    )?;
    let from_id = match get("fromId") {
        None => "0-0".to_string(),
        Some(v) => v
            .cast::<PyString>()
            .map_err(|_| err("fromId argument must be a string"))?
            .to_string(),
    };
    Ok(RunArgs {
        arg,
        mode,
        no_scan,
        read_value,
        from_id,
    })
}

/// Parses `register(**kwargs)` for `reader`.
///
/// # Errors
/// RedisGears' messages for bad arguments, as `gears.error`.
pub fn parse_register(reader: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<RegisterArgs> {
    let get = |k: &str| kwargs.and_then(|d| d.get_item(k).ok().flatten());
    let mode = parse_mode(get("mode").as_ref(), true)?;
    let on_registered = match get("onRegistered") {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => {
            if v.cast::<PyFunction>().is_err() {
                return Err(err("OnRegistered argument must be a function"));
            }
            Some(v.unbind())
        }
    };
    let mut a = RegisterArgs {
        mode,
        on_registered,
        prefix: "*".into(),
        event_types: None,
        key_types: None,
        commands: None,
        read_value: true,
        batch: 1,
        duration: 0,
        on_failed: OnFailed::Continue,
        retry_interval: 1,
        trim_stream: true,
        trigger: None,
        hook: None,
        keyprefix: None,
        inorder: false,
    };
    match reader {
        "CommandReader" => {
            a.trigger = opt_str(get("trigger").as_ref(), "trigger argument is not string")?;
            a.inorder = opt_bool(
                get("inorder").as_ref(),
                false,
                "inorder argument is be boolean",
            )?;
            a.keyprefix = opt_str(
                get("keyprefix").as_ref(),
                "keyprefix argument is not string",
            )?;
            a.hook = opt_str(get("hook").as_ref(), "hook argument is not string")?;
            if a.trigger.is_some() && (a.keyprefix.is_some() || a.hook.is_some()) {
                return Err(err(
                    "trigger argument can not be given with keyprefix or hook",
                ));
            }
            if a.trigger.is_none() && a.hook.is_none() {
                return Err(err("no trigger or hook argument was given"));
            }
        }
        "KeysReader" | "StreamReader" => {
            a.prefix = match get("prefix") {
                None => "*".into(),
                Some(v) => v
                    .cast::<PyString>()
                    .map_err(|_| err("regex argument must be a string"))?
                    .to_string(),
            };
            if reader == "KeysReader" {
                a.event_types = string_list(
                    get("eventTypes").as_ref(),
                    "given eventTypes is not iterable",
                    "given event type is not string",
                )?;
                a.key_types = string_list(
                    get("keyTypes").as_ref(),
                    "given keyTypes is not iterable",
                    "given key type is not string",
                )?;
                if let Some(types) = &a.key_types {
                    const VALID: &[&str] = &[
                        "empty", "string", "list", "hash", "set", "zset", "module", "stream",
                    ];
                    if types.iter().any(|t| !VALID.contains(&t.as_str())) {
                        return Err(err("unknown key type"));
                    }
                }
                a.read_value =
                    opt_bool(get("readValue").as_ref(), true, "readValue is not boolean")?;
                a.commands = string_list(
                    get("commands").as_ref(),
                    "given commands is not iterable",
                    "given command type is not string",
                )?
                .filter(|c| !c.is_empty());
            } else {
                a.batch = opt_int(get("batch").as_ref(), 1, "batch argument must be a number")?;
                a.duration = opt_int(
                    get("duration").as_ref(),
                    0,
                    "duration argument must be a number",
                )?;
                if let Some(p) = get("onFailedPolicy") {
                    let s = p
                        .cast::<PyString>()
                        .map_err(|_| err("onFailedPolicy must be a string (Continue/Abort/Retry)"))?
                        .to_string()
                        .to_ascii_lowercase();
                    a.on_failed = match s.as_str() {
                        "continue" => OnFailed::Continue,
                        "abort" => OnFailed::Abort,
                        "retry" => OnFailed::Retry,
                        _ => return Err(err("onFailedPolicy must be Continue/Abort/Retry")),
                    };
                }
                if mode == Mode::Sync && a.on_failed != OnFailed::Continue {
                    return Err(err(
                        "ExecutionMode sync can only be combined with OnFailedPolicy Continue",
                    ));
                }
                a.retry_interval = opt_int(
                    get("onFailedRetryInterval").as_ref(),
                    1,
                    "retryInterval argument must be a number",
                )?;
                a.trim_stream = opt_bool(
                    get("trimStream").as_ref(),
                    true,
                    "pyTrimmStream argument must be a boolean",
                )?;
            }
        }
        _ => {
            return Err(err(
                "given reader does not exists or does not support register",
            ));
        }
    }
    Ok(a)
}
