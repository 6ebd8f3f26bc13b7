//! The guest-side callback table: closures given to the builder get stable ids (their index,
//! in the order `init` declares them), and `function.call` dispatches requests to them.
//!
//! A fresh instance (the host keeps a pool and may discard instances at any time) receives
//! `call` without having run `init`: the table is then rebuilt by running the init function
//! again with builder calls kept from the host ("replay"). Init functions must therefore
//! declare the same callbacks in the same order every time (they do unless they branch on
//! something that changes, such as a config value changed after upload).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use crate::bindings::exports::gears::function::function::{CallKind, Request};
use crate::bindings::gears::function::builder::Callback;
use crate::bindings::gears::function::types::Failure as WitFailure;
use crate::{Failure, Node, Value};

/// How many records one `generate` call returns at most.
pub const GENERATE_BATCH: usize = 128;
/// How many generator positions (one per running execution) an instance keeps.
const MAX_GENERATORS: usize = 64;

type RecordFn = dyn Fn(Value) -> Result<Value, Failure>;
type KeyFn = dyn Fn(&Value) -> Result<Value, Failure>;
type FilterFn = dyn Fn(&Value) -> Result<bool, Failure>;
type ForeachFn = dyn Fn(&Value) -> Result<(), Failure>;
type FoldFn = dyn Fn(Value, Value) -> Result<Value, Failure>;
type FoldByKeyFn = dyn Fn(&str, Value, Value) -> Result<Value, Failure>;
type ReduceFn = dyn Fn(&str, Vec<Value>) -> Result<Value, Failure>;
/// A generator's records.
pub(crate) type Records = Box<dyn Iterator<Item = Result<Value, Failure>>>;
type GenerateFn = dyn Fn() -> Records;
type UnitFn = dyn Fn() -> Result<(), Failure>;

/// A stored closure, by signature.
pub(crate) enum Cb {
    /// map, flat-map: `f(r)`.
    Record(Box<RecordFn>),
    /// extract-key: `f(&r)`, the key.
    Key(Box<KeyFn>),
    /// filter.
    Filter(Box<FilterFn>),
    /// foreach.
    Foreach(Box<ForeachFn>),
    /// accumulate: `f(acc, r)`.
    Fold(Box<FoldFn>),
    /// accumulate-by-key: `f(key, acc, r)`.
    FoldByKey(Box<FoldByKeyFn>),
    /// reduce: `f(key, records)`.
    Reduce(Box<ReduceFn>),
    /// generate: a fresh iterator per execution.
    Generate(Box<GenerateFn>),
    /// on-registered.
    Unit(Box<UnitFn>),
}

impl Cb {
    fn label(&self) -> &'static str {
        match self {
            Cb::Record(_) => "map",
            Cb::Key(_) => "key extractor",
            Cb::Filter(_) => "filter",
            Cb::Foreach(_) => "foreach",
            Cb::Fold(_) => "accumulator",
            Cb::FoldByKey(_) => "groupby reducer",
            Cb::Reduce(_) => "batchgroupby reducer",
            Cb::Generate(_) => "generator",
            Cb::Unit(_) => "onRegistered",
        }
    }
}

enum InitState {
    /// `init` has not run in this instance.
    Fresh,
    /// The table is complete.
    Ready,
    /// The init function failed: every call fails with this text.
    Failed(String),
}

struct Generator {
    callback: u32,
    execution: Option<String>,
    records: Records,
    finished: bool,
}

struct Registry {
    callbacks: Vec<(String, Rc<Cb>)>,
    state: InitState,
    generators: VecDeque<Generator>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = const {
        RefCell::new(Registry { callbacks: Vec::new(), state: InitState::Fresh, generators: VecDeque::new() })
    };
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// Stores a closure and returns the callback the builder declares for it.
pub(crate) fn add(name: String, cb: Cb) -> Callback {
    REGISTRY.with_borrow_mut(|r| {
        let id = u32::try_from(r.callbacks.len()).expect("fewer than 4G callbacks");
        r.callbacks.push((name.clone(), Rc::new(cb)));
        Callback { id, name }
    })
}

/// Whether the init function is being re-run to rebuild the table (builder calls stay local).
pub(crate) fn replaying() -> bool {
    REPLAYING.get()
}

/// Runs the init function with an empty table; `replay` keeps its builder calls local.
pub(crate) fn run_init(init: &dyn Fn() -> Result<(), String>, replay: bool) -> Result<(), String> {
    REGISTRY.with_borrow_mut(|r| {
        r.callbacks.clear();
        r.generators.clear();
        r.state = InitState::Fresh;
    });
    REPLAYING.set(replay);
    let res = init();
    REPLAYING.set(false);
    REGISTRY.with_borrow_mut(|r| {
        r.state = match &res {
            Ok(()) => InitState::Ready,
            Err(e) => InitState::Failed(e.clone()),
        }
    });
    res
}

/// Forgets the table, as if this were a fresh instance (tests of the replay).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn forget() {
    REGISTRY.with_borrow_mut(|r| {
        r.callbacks.clear();
        r.generators.clear();
        r.state = InitState::Fresh;
    });
}

/// `function.call`: runs each request, in order, each with its own outcome.
pub(crate) fn call(
    requests: Vec<Request>,
    init: &dyn Fn() -> Result<(), String>,
) -> Vec<Result<Vec<Vec<Node>>, WitFailure>> {
    let fresh = REGISTRY.with_borrow(|r| matches!(r.state, InitState::Fresh));
    if fresh {
        // A fresh instance: rebuild the table. An error is kept for every call below.
        let _ = run_init(init, true);
    }
    let failed = REGISTRY.with_borrow(|r| match &r.state {
        InitState::Failed(e) => Some(e.clone()),
        _ => None,
    });
    requests
        .into_iter()
        .map(|req| {
            let out = match &failed {
                Some(e) => Err(Failure::Error(format!("init failed in this instance: {e}"))),
                None => dispatch(req),
            };
            out.map_err(to_wit)
        })
        .collect()
}

fn to_wit(f: Failure) -> WitFailure {
    match f {
        Failure::Error(m) => WitFailure::Error(m),
        Failure::Flat(m) => WitFailure::Flat(m),
        Failure::Pause(m) => WitFailure::Pause(m),
    }
}

fn lookup(id: u32) -> Result<Rc<Cb>, Failure> {
    REGISTRY.with_borrow(|r| {
        r.callbacks
            .get(id as usize)
            .map(|(_, cb)| cb.clone())
            .ok_or_else(|| Failure::Error(format!("gears-guest: no callback with id {id}")))
    })
}

fn kind_name(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Map => "map",
        CallKind::FlatMap => "flat-map",
        CallKind::Filter => "filter",
        CallKind::Foreach => "foreach",
        CallKind::Accumulate => "accumulate",
        CallKind::ExtractKey => "extract-key",
        CallKind::AccumulateByKey => "accumulate-by-key",
        CallKind::Reduce => "reduce",
        CallKind::Generate => "generate",
        CallKind::OnRegistered => "on-registered",
    }
}

/// The decoded arguments of one request, with errors naming the callback.
struct Args {
    id: u32,
    kind: CallKind,
    args: std::vec::IntoIter<Vec<Node>>,
    count: usize,
}

impl Args {
    fn err(&self, what: impl std::fmt::Display) -> Failure {
        Failure::Error(format!(
            "gears-guest: callback {} ({}): {what}",
            self.id,
            kind_name(self.kind)
        ))
    }

    fn expect(&self, min: usize, max: Option<usize>) -> Result<(), Failure> {
        if self.count < min || max.is_some_and(|m| self.count > m) {
            return Err(self.err(format!("{} arguments", self.count)));
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Value, Failure> {
        let nodes = self
            .args
            .next()
            .ok_or_else(|| self.err("missing argument"))?;
        Value::decode(&nodes).map_err(|e| self.err(e))
    }

    fn key(&mut self) -> Result<String, Failure> {
        Ok(crate::pyfmt::key_text(&self.next()?))
    }
}

fn dispatch(req: Request) -> Result<Vec<Vec<Node>>, Failure> {
    let cb = lookup(req.callback)?;
    let kind = req.kind;
    let mut a = Args {
        id: req.callback,
        kind,
        count: req.args.len(),
        args: req.args.into_iter(),
    };
    let one = |v: Value| Ok(vec![v.encode()]);
    match (&*cb, kind) {
        (Cb::Record(f), CallKind::Map) => {
            a.expect(1, Some(1))?;
            one(f(a.next()?)?)
        }
        (Cb::Record(f), CallKind::FlatMap) => {
            a.expect(1, Some(1))?;
            Ok(match f(a.next()?)? {
                Value::List(items) => items.iter().map(Value::encode).collect(),
                other => vec![other.encode()],
            })
        }
        (Cb::Key(f), CallKind::ExtractKey) => {
            a.expect(1, Some(1))?;
            let key = f(&a.next()?)?;
            one(Value::Text(crate::pyfmt::key_text(&key)))
        }
        (Cb::Filter(f), CallKind::Filter) => {
            a.expect(1, Some(1))?;
            Ok(vec![vec![Node::Boolean(f(&a.next()?)?)]])
        }
        (Cb::Foreach(f), CallKind::Foreach) => {
            a.expect(1, Some(1))?;
            f(&a.next()?)?;
            Ok(Vec::new())
        }
        (Cb::Fold(f), CallKind::Accumulate) => {
            // `[acc, r]`, or `[acc, r1, ..., rn]` folded left (a host may batch records).
            a.expect(2, None)?;
            let mut acc = a.next()?;
            for _ in 1..a.count {
                acc = f(acc, a.next()?)?;
            }
            one(acc)
        }
        (Cb::FoldByKey(f), CallKind::AccumulateByKey) => {
            // `[key, acc, r]`, or `[key, acc, r1, ..., rn]` folded left.
            a.expect(3, None)?;
            let key = a.key()?;
            let mut acc = a.next()?;
            for _ in 2..a.count {
                acc = f(&key, acc, a.next()?)?;
            }
            one(acc)
        }
        (Cb::Reduce(f), CallKind::Reduce) => {
            a.expect(2, Some(2))?;
            let key = a.key()?;
            let records = match a.next()? {
                Value::List(items) => items,
                other => vec![other],
            };
            one(f(&key, records)?)
        }
        (Cb::Generate(f), CallKind::Generate) => {
            a.expect(0, Some(0))?;
            generate(req.callback, f)
        }
        (Cb::Unit(f), CallKind::OnRegistered) => {
            a.expect(0, Some(0))?;
            f()?;
            Ok(Vec::new())
        }
        (cb, _) => Err(a.err(format!("is a {} callback", cb.label()))),
    }
}

/// The next records of this execution's generator; creates it on the first call and forgets it
/// once it returned an empty batch (or failed).
fn generate(id: u32, f: &GenerateFn) -> Result<Vec<Vec<Node>>, Failure> {
    let execution = crate::sys::execution_id();
    let pos = REGISTRY.with_borrow(|r| {
        r.generators
            .iter()
            .position(|g| g.callback == id && g.execution == execution)
    });
    let mut g = match pos.and_then(|p| REGISTRY.with_borrow_mut(|r| r.generators.remove(p))) {
        Some(g) => g,
        // The factory runs with the table released: it may call into the SDK.
        None => Generator {
            callback: id,
            execution,
            records: f(),
            finished: false,
        },
    };
    let mut out = Vec::new();
    while !g.finished && out.len() < GENERATE_BATCH {
        match g.records.next() {
            Some(Ok(v)) => out.push(v.encode()),
            Some(Err(e)) => return Err(e),
            None => g.finished = true,
        }
    }
    if !out.is_empty() {
        REGISTRY.with_borrow_mut(|r| {
            if r.generators.len() >= MAX_GENERATORS {
                r.generators.pop_front();
            }
            r.generators.push_back(g);
        });
    }
    Ok(out)
}
