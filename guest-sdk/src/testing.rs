//! Unit-testing functions on the build machine (not on wasm32): a mock host that records
//! builder calls and answers `execute` with a handler of yours, and a small local engine that
//! runs a declared plan over records through the same encode / dispatch / decode path the
//! server uses.
//!
//! ```ignore
//! let declared = gears_guest::testing::init(my_init).unwrap();
//! let out = gears_guest::testing::run(&declared[0], vec![Value::map([("key", "a"), ("value", "x y")])]);
//! assert_eq!(out.errors, Vec::<String>::new());
//! ```
//!
//! The engine follows the server on one shard: `flat_map` emits a list's elements in the order
//! the guest returns them (the wasm host does not reorder; see `sort`), group-by steps emit `{'key': k, 'value': v}` records in first-seen key order,
//! `batchgroupby` in reverse first-seen order, `limit` counts records reaching it. A failing
//! callback drops its record and adds an error (the server also stops the reader then).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::bindings::exports::gears::function::function::{CallKind, Request};
use crate::bindings::gears::function::types::Failure as WitFailure;
use crate::{Failure, LogLevel, Node, Reply, Value};

/// The builder's WIT types (plans, steps, options), as declared.
pub use crate::bindings::gears::function::builder as wit;

/// What an init function declared.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a test helper, built once per init"
)]
pub enum Declared {
    /// `run()`.
    Run(wit::Plan, wit::RunOptions),
    /// `register()`.
    Register(wit::Plan, wit::RegisterOptions),
}

impl Declared {
    /// The plan.
    pub fn plan(&self) -> &wit::Plan {
        match self {
            Declared::Run(p, _) | Declared::Register(p, _) => p,
        }
    }
}

type ExecuteFn = dyn FnMut(&[Vec<u8>]) -> Reply;
type InitFn = dyn Fn() -> Result<(), String>;

#[derive(Default)]
struct Mock {
    execute: Option<Box<ExecuteFn>>,
    call_next: Option<Box<ExecuteFn>>,
    executed: Vec<Vec<Vec<u8>>>,
    logs: Vec<(LogLevel, String)>,
    config: HashMap<String, String>,
    execution_id: Option<String>,
    overridden: Option<Value>,
    declared: Vec<Declared>,
    in_init: bool,
    init: Option<Rc<InitFn>>,
}

thread_local! {
    static MOCK: RefCell<Mock> = RefCell::new(Mock::default());
}

/// The mock's side of [`crate::sys`].
pub(crate) mod mock {
    use super::*;

    pub fn execute(args: &[Vec<u8>]) -> Vec<crate::ReplyNode> {
        let handler = MOCK.with_borrow_mut(|m| {
            m.executed.push(args.to_vec());
            if m.in_init {
                return Err(Reply::Error(
                    "ERR execute is not allowed during init".into(),
                ));
            }
            m.execute.take().ok_or(Reply::Error(
                "ERR the mock host has no execute handler".into(),
            ))
        });
        let reply = match handler {
            Ok(mut h) => {
                let r = h(args);
                MOCK.with_borrow_mut(|m| {
                    m.execute.get_or_insert(h);
                });
                r
            }
            Err(r) => r,
        };
        reply.encode()
    }

    pub fn execute_atomic(commands: &[Vec<Vec<u8>>]) -> Vec<Vec<crate::ReplyNode>> {
        commands.iter().map(|c| execute(c)).collect()
    }

    pub fn log(level: LogLevel, message: &str) {
        MOCK.with_borrow_mut(|m| m.logs.push((level, message.to_owned())));
    }

    pub fn config_get(key: &str) -> Option<String> {
        MOCK.with_borrow(|m| m.config.get(key).cloned())
    }

    pub fn call_next(args: &[Vec<u8>]) -> Result<Vec<crate::ReplyNode>, String> {
        let handler = MOCK.with_borrow_mut(|m| m.call_next.take());
        match handler {
            Some(mut h) => {
                let r = h(args);
                MOCK.with_borrow_mut(|m| {
                    m.call_next.get_or_insert(h);
                });
                Ok(r.encode())
            }
            None => Err("call_next is only allowed in a command hook".into()),
        }
    }

    pub fn override_reply(value: &[Node]) -> Result<(), String> {
        let v = Value::decode(value).map_err(|e| e.to_string())?;
        MOCK.with_borrow_mut(|m| m.overridden = Some(v));
        Ok(())
    }

    pub fn execution_id() -> Option<String> {
        MOCK.with_borrow(|m| {
            if m.in_init {
                None
            } else {
                m.execution_id.clone()
            }
        })
    }

    fn declare(d: Declared) -> Result<(), String> {
        MOCK.with_borrow_mut(|m| {
            if !m.in_init {
                return Err("builder calls are only allowed during init".into());
            }
            if matches!(d, Declared::Run(..))
                && m.declared.iter().any(|x| matches!(x, Declared::Run(..)))
            {
                return Err("only one run() per session".into());
            }
            m.declared.push(d);
            Ok(())
        })
    }

    pub fn run(p: &wit::Plan, o: &wit::RunOptions) -> Result<(), String> {
        declare(Declared::Run(p.clone(), o.clone()))
    }

    pub fn register(p: &wit::Plan, o: &wit::RegisterOptions) -> Result<(), String> {
        declare(Declared::Register(p.clone(), o.clone()))
    }
}

/// Runs `init` as the server does at upload (a fresh mock host; `execute` refused) and returns
/// what it declared, or its error.
pub fn init<R: crate::Outcome<()> + 'static>(f: fn() -> R) -> Result<Vec<Declared>, String> {
    let init: Rc<InitFn> = Rc::new(move || crate::__private::run_user_init(f));
    MOCK.with_borrow_mut(|m| {
        m.declared.clear();
        m.in_init = true;
        m.init = Some(init.clone());
    });
    let res = crate::registry::run_init(&*init, false);
    let declared = MOCK.with_borrow_mut(|m| {
        m.in_init = false;
        std::mem::take(&mut m.declared)
    });
    res.map(|()| declared)
}

/// `function.call` with raw WIT requests.
pub fn call(requests: Vec<Request>) -> Vec<Result<Vec<Vec<Node>>, WitFailure>> {
    let init = MOCK.with_borrow(|m| m.init.clone());
    let no_init = || Err::<(), String>("testing::init was not called".into());
    match init {
        Some(f) => crate::registry::call(requests, &*f),
        None => crate::registry::call(requests, &no_init),
    }
}

/// One request with decoded values: `call_one(id, CallKind::Map, vec![record])`.
pub fn call_one(callback: u32, kind: CallKind, args: Vec<Value>) -> Result<Vec<Value>, Failure> {
    let req = Request {
        callback,
        kind,
        args: args.iter().map(Value::encode).collect(),
    };
    let out = call(vec![req]).pop().expect("one outcome per request");
    match out {
        Ok(data) => data
            .iter()
            .map(|d| Value::decode(d).map_err(|e| Failure::Error(e.to_string())))
            .collect(),
        Err(WitFailure::Error(m)) => Err(Failure::Error(m)),
        Err(WitFailure::Flat(m)) => Err(Failure::Flat(m)),
        Err(WitFailure::Pause(m)) => Err(Failure::Pause(m)),
    }
}

/// Forgets the callback table, as a fresh instance from the server's pool would start: the
/// next call rebuilds it by replaying the init function.
pub fn fresh_instance() {
    crate::registry::forget();
}

/// Answers the function's `execute` calls.
pub fn on_execute(handler: impl FnMut(&[Vec<u8>]) -> Reply + 'static) {
    MOCK.with_borrow_mut(|m| m.execute = Some(Box::new(handler)));
}

/// Answers `call_next` (as if running in a command hook).
pub fn on_call_next(handler: impl FnMut(&[Vec<u8>]) -> Reply + 'static) {
    MOCK.with_borrow_mut(|m| m.call_next = Some(Box::new(handler)));
}

/// Sets a configuration value for `config_get`.
pub fn set_config(key: &str, value: &str) {
    MOCK.with_borrow_mut(|m| m.config.insert(key.to_owned(), value.to_owned()));
}

/// Sets the id `execution_id` returns outside init.
pub fn set_execution_id(id: Option<&str>) {
    MOCK.with_borrow_mut(|m| m.execution_id = id.map(str::to_owned));
}

/// The commands executed so far (and forgets them).
pub fn take_executed() -> Vec<Vec<Vec<u8>>> {
    MOCK.with_borrow_mut(|m| std::mem::take(&mut m.executed))
}

/// The log lines so far (and forgets them).
pub fn take_logs() -> Vec<(LogLevel, String)> {
    MOCK.with_borrow_mut(|m| std::mem::take(&mut m.logs))
}

/// The value given to `override_reply`, if any (and forgets it).
pub fn take_override() -> Option<Value> {
    MOCK.with_borrow_mut(|m| m.overridden.take())
}

/// What a local run gives: results and error texts, as RG.GETRESULTS lists them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// The records that reached the end.
    pub results: Vec<Value>,
    /// The errors of failed callbacks.
    pub errors: Vec<String>,
}

/// Runs a declared function over `input` records (a generator reader's records come from its
/// generator instead). Results are encoded, dispatched and decoded as on the server.
pub fn run(declared: &Declared, input: Vec<Value>) -> Output {
    let mut out = Output::default();
    let records = match declared {
        Declared::Run(_, o) => match &o.generator {
            Some(g) => pull_generator(g.id, &mut out.errors),
            None => input,
        },
        Declared::Register(..) => input,
    };
    out.results = run_steps(&declared.plan().steps, records, &mut out.errors);
    out
}

fn pull_generator(id: u32, errors: &mut Vec<String>) -> Vec<Value> {
    let mut records = Vec::new();
    loop {
        match call_one(id, CallKind::Generate, Vec::new()) {
            Ok(batch) if batch.is_empty() => return records,
            Ok(batch) => records.extend(batch),
            Err(f) => {
                errors.push(f.message().to_owned());
                return records;
            }
        }
    }
}

fn one(id: u32, kind: CallKind, args: Vec<Value>, errors: &mut Vec<String>) -> Option<Vec<Value>> {
    match call_one(id, kind, args) {
        Ok(v) => Some(v),
        Err(f) => {
            errors.push(f.message().to_owned());
            None
        }
    }
}

fn single(v: Option<Vec<Value>>) -> Option<Value> {
    v.and_then(|mut v| v.pop())
}

fn group(
    records: Vec<Value>,
    extractor: u32,
    errors: &mut Vec<String>,
) -> Vec<(String, Vec<Value>)> {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for r in records {
        let Some(k) = single(one(
            extractor,
            CallKind::ExtractKey,
            vec![r.clone()],
            errors,
        )) else {
            continue;
        };
        let k = k.to_text();
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, rs)) => rs.push(r),
            None => groups.push((k, vec![r])),
        }
    }
    groups
}

fn run_steps(steps: &[wit::Step], mut records: Vec<Value>, errors: &mut Vec<String>) -> Vec<Value> {
    use wit::Step;
    for step in steps {
        records = match step {
            Step::Map(cb) => records
                .into_iter()
                .filter_map(|r| single(one(cb.id, CallKind::Map, vec![r], errors)))
                .collect(),
            Step::FlatMap(cb) => records
                .into_iter()
                .flat_map(|r| one(cb.id, CallKind::FlatMap, vec![r], errors).unwrap_or_default())
                .collect(),
            Step::Filter(cb) => records
                .into_iter()
                .filter(|r| {
                    single(one(cb.id, CallKind::Filter, vec![r.clone()], errors))
                        .is_some_and(|v| v.is_truthy())
                })
                .collect(),
            Step::Foreach(cb) => records
                .into_iter()
                .filter(|r| one(cb.id, CallKind::Foreach, vec![r.clone()], errors).is_some())
                .collect(),
            Step::Accumulate(cb) => {
                let mut acc: Option<Value> = None;
                let mut failed = false;
                for r in records {
                    let a = acc.take().unwrap_or_default();
                    match single(one(cb.id, CallKind::Accumulate, vec![a, r], errors)) {
                        Some(v) => acc = Some(v),
                        None => {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    Vec::new()
                } else {
                    acc.into_iter().collect()
                }
            }
            Step::LocalGroupBy((e, red)) | Step::GroupBy((e, red)) => {
                let mut out = Vec::new();
                for (k, rs) in group(records, e.id, errors) {
                    let mut acc = Some(Value::Null);
                    for r in rs {
                        let a = acc.take().unwrap_or_default();
                        acc = single(one(
                            red.id,
                            CallKind::AccumulateByKey,
                            vec![Value::Text(k.clone()), a, r],
                            errors,
                        ));
                        if acc.is_none() {
                            break;
                        }
                    }
                    if let Some(a) = acc {
                        out.push(Value::map([("key", Value::Text(k)), ("value", a)]));
                    }
                }
                out
            }
            Step::BatchGroupBy((e, red)) => {
                let mut out = Vec::new();
                for (k, rs) in group(records, e.id, errors).into_iter().rev() {
                    let args = vec![Value::Text(k.clone()), Value::List(rs)];
                    if let Some(v) = single(one(red.id, CallKind::Reduce, args, errors)) {
                        out.push(Value::map([("key", Value::Text(k)), ("value", v)]));
                    }
                }
                out
            }
            Step::Repartition(e) => records
                .into_iter()
                .filter(|r| one(e.id, CallKind::ExtractKey, vec![r.clone()], errors).is_some())
                .collect(),
            Step::Collect => records,
            Step::Limit((len, off)) => records
                .into_iter()
                .skip(usize::try_from(*off).unwrap_or(usize::MAX))
                .take(usize::try_from(*len).unwrap_or(usize::MAX))
                .collect(),
        };
    }
    records
}
