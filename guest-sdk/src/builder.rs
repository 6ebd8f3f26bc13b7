//! [`GearsBuilder`]: RedisGears' `GB(...)` for wasm functions.

use crate::bindings::gears::function::builder::{self as wit, Callback, ReaderKind, Step};
use crate::registry::{self, Cb};
use crate::{Error, Failure, IntoValue, Outcome, Value, py, sys};

pub use crate::bindings::gears::function::builder::{Mode, OnFailed};

/// Where records come from (RedisGears' reader names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// `KeysReader`: `{'key', 'value', 'type', 'event'}` records (`{'key', 'event'}` without
    /// `readValue`).
    Keys,
    /// `KeysOnlyReader`: key names.
    KeysOnly,
    /// `StreamReader`: `{'key', 'id', 'value': {field: value}}` records.
    Stream,
    /// `PythonReader`'s counterpart: records from a guest generator (see
    /// [`GearsBuilder::generator`]).
    Generator,
    /// `ShardsIDReader`: one record per shard.
    ShardsId,
    /// `CommandReader`: the arguments of `RG.TRIGGER` or of a hooked command.
    Command,
}

impl Reader {
    fn kind(self) -> ReaderKind {
        match self {
            Reader::Keys => ReaderKind::KeysReader,
            Reader::KeysOnly => ReaderKind::KeysOnlyReader,
            Reader::Stream => ReaderKind::StreamReader,
            Reader::Generator => ReaderKind::GeneratorReader,
            Reader::ShardsId => ReaderKind::ShardsIdReader,
            Reader::Command => ReaderKind::CommandReader,
        }
    }
}

/// A function being built: a reader, then steps, then [`run`](GearsBuilder::run) or
/// [`register`](GearsBuilder::register). Closures are stored in this instance and declared to
/// the host by id; a builder can be cloned to register the same steps twice.
///
/// ```ignore
/// GearsBuilder::new(Reader::Keys)
///     .map(|r| r["value"].clone())
///     .count_by(|v| v.clone())
///     .run(RunOptions::new().pattern("doc:*"))?;
/// ```
#[derive(Clone, Debug)]
pub struct GearsBuilder {
    reader: Reader,
    desc: Option<String>,
    steps: Vec<Step>,
    generator: Option<Callback>,
}

fn name_of<F>(prefix: &str) -> String {
    format!("{prefix}: {}", std::any::type_name::<F>())
}

fn or_zero(a: Value, zero: &Value) -> Value {
    if a.is_truthy() { a } else { zero.clone() }
}

impl GearsBuilder {
    /// A builder reading from `reader`.
    pub fn new(reader: Reader) -> GearsBuilder {
        GearsBuilder {
            reader,
            desc: None,
            steps: Vec::new(),
            generator: None,
        }
    }

    /// A builder whose records come from `f`: called once per execution, its iterator is kept in
    /// the instance and drained batch by batch (items may be values or `Result`s).
    pub fn generator<F, I, R>(f: F) -> GearsBuilder
    where
        F: Fn() -> I + 'static,
        I: IntoIterator<Item = R> + 'static,
        R: Outcome<Value> + 'static,
    {
        let cb = registry::add(
            name_of::<F>("generator"),
            Cb::Generate(Box::new(move || {
                Box::new(f().into_iter().map(Outcome::into_outcome)) as registry::Records
            })),
        );
        GearsBuilder {
            generator: Some(cb),
            ..GearsBuilder::new(Reader::Generator)
        }
    }

    /// RedisGears' `desc`: the description RG.DUMPREGISTRATIONS shows.
    pub fn desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = Some(desc.into());
        self
    }

    fn step(mut self, s: Step) -> Self {
        self.steps.push(s);
        self
    }

    fn record_cb<F, R>(prefix: &str, f: F) -> Callback
    where
        F: Fn(Value) -> R + 'static,
        R: Outcome<Value>,
    {
        registry::add(
            name_of::<F>(prefix),
            Cb::Record(Box::new(move |r| f(r).into_outcome())),
        )
    }

    fn key_cb<F, K>(f: F) -> Callback
    where
        F: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
    {
        registry::add(
            name_of::<F>("extractor"),
            Cb::Key(Box::new(move |r| f(r).into_outcome())),
        )
    }

    fn fold_cb<F, R>(prefix: &str, f: F) -> Callback
    where
        F: Fn(Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        registry::add(
            name_of::<F>(prefix),
            Cb::Fold(Box::new(move |a, r| f(a, r).into_outcome())),
        )
    }

    fn fold_by_key_cb<F, R>(f: F) -> Callback
    where
        F: Fn(&str, Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        registry::add(
            name_of::<F>("reducer"),
            Cb::FoldByKey(Box::new(move |k, a, r| f(k, a, r).into_outcome())),
        )
    }

    /// `map(f)`: `f(r)` replaces the record.
    pub fn map<F, R>(self, f: F) -> Self
    where
        F: Fn(Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let cb = Self::record_cb("map", f);
        self.step(Step::Map(cb))
    }

    /// `flatmap(f)`: a list result becomes one record per element, anything else one record.
    pub fn flat_map<F, R>(self, f: F) -> Self
    where
        F: Fn(Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let cb = Self::record_cb("flatmap", f);
        self.step(Step::FlatMap(cb))
    }

    /// `filter(f)`: keeps the records for which `f` is true.
    pub fn filter<F, R>(self, f: F) -> Self
    where
        F: Fn(&Value) -> R + 'static,
        R: Outcome<bool>,
    {
        let cb = registry::add(
            name_of::<F>("filter"),
            Cb::Filter(Box::new(move |r| f(r).into_outcome())),
        );
        self.step(Step::Filter(cb))
    }

    /// `foreach(f)`: calls `f` for each record and passes the record on unchanged.
    pub fn foreach<F, R>(self, f: F) -> Self
    where
        F: Fn(&Value) -> R + 'static,
        R: Outcome<()>,
    {
        let cb = registry::add(
            name_of::<F>("foreach"),
            Cb::Foreach(Box::new(move |r| f(r).into_outcome())),
        );
        self.step(Step::Foreach(cb))
    }

    /// `accumulate(f)`: `acc = f(acc, r)` with `acc` `Null` at first; one record at the end
    /// (none without input).
    pub fn accumulate<F, R>(self, f: F) -> Self
    where
        F: Fn(Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let cb = Self::fold_cb("accumulate", f);
        self.step(Step::Accumulate(cb))
    }

    /// `localgroupby(extractor, reducer)`: per key, `acc = reducer(key, acc, r)`; emits
    /// `{'key': k, 'value': acc}` records. Keys are text: an extractor returning anything else
    /// gives its Python `repr()`, as RedisGears does.
    pub fn local_group_by<E, K, F, R>(self, extractor: E, reducer: F) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
        F: Fn(&str, Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let e = Self::key_cb(extractor);
        let r = Self::fold_by_key_cb(reducer);
        self.step(Step::LocalGroupBy((e, r)))
    }

    /// `groupby(extractor, reducer)`: like [`local_group_by`](Self::local_group_by), after
    /// moving each record to the shard owning its key.
    pub fn group_by<E, K, F, R>(self, extractor: E, reducer: F) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
        F: Fn(&str, Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let e = Self::key_cb(extractor);
        let r = Self::fold_by_key_cb(reducer);
        self.step(Step::GroupBy((e, r)))
    }

    /// `batchgroupby(extractor, reducer)`: `reducer(key, records)` once per key; emits
    /// `{'key': k, 'value': result}` records.
    pub fn batch_group_by<E, K, F, R>(self, extractor: E, reducer: F) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
        F: Fn(&str, Vec<Value>) -> R + 'static,
        R: Outcome<Value>,
    {
        let e = Self::key_cb(extractor);
        let r = registry::add(
            name_of::<F>("reducer"),
            Cb::Reduce(Box::new(move |k, rs| reducer(k, rs).into_outcome())),
        );
        self.step(Step::BatchGroupBy((e, r)))
    }

    /// `repartition(extractor)`: moves each record to the shard owning its key (a pass-through
    /// on one server; the extractor still runs).
    pub fn repartition<E, K>(self, extractor: E) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
    {
        let e = Self::key_cb(extractor);
        self.step(Step::Repartition(e))
    }

    /// `collect()`: moves every record to the initiating shard.
    pub fn collect(self) -> Self {
        self.step(Step::Collect)
    }

    /// `limit(length, offset)`: the records at positions `offset..offset + length`.
    pub fn limit(self, length: u64, offset: u64) -> Self {
        self.step(Step::Limit((length, offset)))
    }

    /// `aggregate(zero, seqOp, combOp)`: `seq` folds each shard's records, `comb` folds the
    /// shards' results. As in RedisGears, a falsy accumulator (`Null`, `0`, empty) is replaced by
    /// a copy of `zero`; no input gives no record.
    pub fn aggregate<S, R1, C, R2>(self, zero: impl IntoValue, seq: S, comb: C) -> Self
    where
        S: Fn(Value, Value) -> R1 + 'static,
        R1: Outcome<Value>,
        C: Fn(Value, Value) -> R2 + 'static,
        R2: Outcome<Value>,
    {
        let zero = zero.into_value();
        let z = zero.clone();
        let seq = Self::fold_cb("aggregate seqOp", move |a, r| seq(or_zero(a, &z), r));
        let comb = Self::fold_cb("aggregate combOp", move |a, r| comb(or_zero(a, &zero), r));
        self.step(Step::Accumulate(seq))
            .step(Step::Collect)
            .step(Step::Accumulate(comb))
    }

    /// RedisGears' `__localAggregateby__(extractor, zero, aggregator)`: a local group-by whose
    /// accumulator starts as `zero`.
    pub fn local_aggregate_by<E, K, S, R>(self, extractor: E, zero: impl IntoValue, seq: S) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
        S: Fn(&str, Value, Value) -> R + 'static,
        R: Outcome<Value>,
    {
        let zero = zero.into_value();
        self.local_group_by(extractor, move |k, a, r| seq(k, or_zero(a, &zero), r))
    }

    /// `aggregateby(extractor, zero, seqOp, combOp)`: per key, `seq` folds each shard's
    /// records and `comb` the shards' results; emits `{'key': k, 'value': v}` records.
    pub fn aggregate_by<E, K, S, R1, C, R2>(
        self,
        extractor: E,
        zero: impl IntoValue,
        seq: S,
        comb: C,
    ) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
        S: Fn(&str, Value, Value) -> R1 + 'static,
        R1: Outcome<Value>,
        C: Fn(&str, Value, Value) -> R2 + 'static,
        R2: Outcome<Value>,
    {
        let zero = zero.into_value();
        let z = zero.clone();
        self.local_aggregate_by(extractor, z, seq).group_by(
            |r| r["key"].clone(),
            move |k, a, mut r| comb(k, or_zero(a, &zero), r.remove("value").unwrap_or_default()),
        )
    }

    /// `count()`: the number of records (no record at all without input).
    pub fn count(self) -> Self {
        let local = Self::fold_cb("count", |a, _r| {
            py::add(&Value::Int(1), &or_zero(a, &Value::Int(0)))
        });
        let total = Self::fold_cb("count", |a, r| py::add(&r, &or_zero(a, &Value::Int(0))));
        self.step(Step::Accumulate(local))
            .step(Step::Collect)
            .step(Step::Accumulate(total))
    }

    /// `countby(extractor)`: `{'key': k, 'value': n}` records, how many records have each key
    /// (RedisGears' default extractor is the record itself: `count_by(|r| r.clone())`).
    pub fn count_by<E, K>(self, extractor: E) -> Self
    where
        E: Fn(&Value) -> K + 'static,
        K: Outcome<Value>,
    {
        self.aggregate_by(
            extractor,
            0,
            |_k, a, _r| py::add(&Value::Int(1), &a),
            |_k, a, r| py::add(&r, &a),
        )
    }

    /// `distinct()`: each distinct record once (Python equality: `1 == 1.0`, text equals the
    /// same UTF-8 bytes); lists and maps cannot be distinct records (Python's unhashable).
    pub fn distinct(self) -> Self {
        self.aggregate(
            Value::List(Vec::new()),
            |a, r| -> Result<Value, Failure> {
                let mut set = into_list(a);
                py::set_add(&mut set, r)?;
                Ok(Value::List(set))
            },
            |a, r| -> Result<Value, Failure> {
                let mut set = into_list(a);
                for v in into_list(r) {
                    py::set_add(&mut set, v)?;
                }
                Ok(Value::List(set))
            },
        )
        .flat_map(|x| x)
    }

    /// `avg()`: the average of the records as numbers (Python's `float(x)`: numeric strings
    /// count); one float record.
    pub fn avg(self) -> Self {
        self.avg_by(py::to_float)
    }

    /// `avg(extractor)`: the average of `extractor(r)`.
    pub fn avg_by<E, R>(self, extractor: E) -> Self
    where
        E: Fn(&Value) -> R + 'static,
        R: Outcome<Value>,
    {
        self.map(move |r| extractor(&r))
            .aggregate(
                Value::List(vec![Value::Int(0), Value::Int(0)]),
                |a, r| -> Result<Value, Failure> {
                    Ok(Value::List(vec![
                        py::add(&a[0], &r)?,
                        py::add(&a[1], &Value::Int(1))?,
                    ]))
                },
                |a, r| -> Result<Value, Failure> {
                    Ok(Value::List(vec![
                        py::add(&a[0], &r[0])?,
                        py::add(&a[1], &r[1])?,
                    ]))
                },
            )
            .map(|x| py::div(&x[0], &x[1]))
    }

    /// `sort(reverse)`: sorts the records (Python ordering; mixed types fail). As in
    /// RedisGears, whose flatmap emits a list last to first, `sort(true)` gives ascending
    /// order and `sort(false)` descending.
    pub fn sort(self, reverse: bool) -> Self {
        self.aggregate(
            Value::List(Vec::new()),
            |a, r| -> Result<Value, Failure> {
                let mut l = into_list(a);
                l.push(r);
                Ok(Value::List(l))
            },
            |a, r| py::add(&a, &r),
        )
        // RedisGears' Python flatmap emits the sorted list last to first; the wasm host keeps a
        // guest's order, so the list is reversed here to give the same records in the same order.
        .map(move |r| {
            py::sorted(into_list(r), reverse).map(|mut l| {
                l.reverse();
                Value::List(l)
            })
        })
        .flat_map(|r| r)
    }

    fn plan(&self) -> wit::Plan {
        wit::Plan {
            reader: self.reader.kind(),
            description: self.desc.clone(),
            steps: self.steps.clone(),
        }
    }

    fn finish(mut self, convert_to_str: bool, collect: bool) -> Self {
        if convert_to_str {
            let cb = Self::record_cb("convertToStr", |r: Value| Value::Text(r.py_str()));
            self.steps.push(Step::Map(cb));
        }
        if collect {
            self.steps.push(Step::Collect);
        }
        self
    }

    /// `run()`: declares a function that runs once after `init`; its results are
    /// RG.WASMEXECUTE's reply. At most one per session.
    pub fn run(self, options: RunOptions) -> Result<(), Error> {
        let generator = self.generator.clone();
        let b = self.finish(options.convert_to_str, options.collect);
        if b.reader == Reader::Generator && generator.is_none() {
            return Err(Error::Host(
                "a generator reader needs GearsBuilder::generator(f)".to_owned(),
            ));
        }
        let mut o = options.inner;
        if o.generator.is_none() {
            o.generator = generator;
        }
        if registry::replaying() {
            return Ok(());
        }
        sys::run(&b.plan(), &o).map_err(Error::Host)
    }

    /// `register()`: declares a registration (its events run the steps).
    pub fn register(self, options: RegisterOptions) -> Result<(), Error> {
        let b = self.finish(options.convert_to_str, options.collect);
        if registry::replaying() {
            return Ok(());
        }
        sys::register(&b.plan(), &options.inner).map_err(Error::Host)
    }
}

fn into_list(v: Value) -> Vec<Value> {
    match v {
        Value::List(l) => l,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Options of [`GearsBuilder::run`], with RedisGears' defaults.
#[derive(Clone, Debug)]
pub struct RunOptions {
    inner: wit::RunOptions,
    convert_to_str: bool,
    collect: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions::new()
    }
}

impl RunOptions {
    /// Defaults: pattern `*`, scan, read values, from id `0-0`, async, results as typed values
    /// (not converted to strings), collected.
    pub fn new() -> RunOptions {
        RunOptions {
            inner: wit::RunOptions {
                pattern: None,
                generator: None,
                no_scan: false,
                read_value: true,
                from_id: None,
                mode: Mode::Async,
            },
            convert_to_str: false,
            collect: true,
        }
    }

    /// KeysReader / KeysOnlyReader pattern, or StreamReader key.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.inner.pattern = Some(pattern.into());
        self
    }

    /// KeysReader `noScan`: the pattern is one key name.
    pub fn no_scan(mut self, no_scan: bool) -> Self {
        self.inner.no_scan = no_scan;
        self
    }

    /// KeysReader `readValue`.
    pub fn read_value(mut self, read_value: bool) -> Self {
        self.inner.read_value = read_value;
        self
    }

    /// StreamReader `fromId`.
    pub fn from_id(mut self, id: impl Into<String>) -> Self {
        self.inner.from_id = Some(id.into());
        self
    }

    /// `async` (default) or `async_local`.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.inner.mode = mode;
        self
    }

    /// RedisGears' `convertToStr`: ends with a map to Python's `str()` of each record, so the
    /// results are exactly the strings an equivalent RG.PYEXECUTE gives. Off by default: the
    /// results keep their types.
    pub fn convert_to_str(mut self, on: bool) -> Self {
        self.convert_to_str = on;
        self
    }

    /// RedisGears' `collect` (default true): ends with a `collect()`.
    pub fn collect(mut self, on: bool) -> Self {
        self.collect = on;
        self
    }
}

/// Options of [`GearsBuilder::register`]: the union of every reader's options, with
/// RedisGears' defaults.
#[derive(Clone, Debug)]
pub struct RegisterOptions {
    inner: wit::RegisterOptions,
    convert_to_str: bool,
    collect: bool,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions::new()
    }
}

fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Option<Vec<String>> {
    Some(items.into_iter().map(Into::into).collect())
}

impl RegisterOptions {
    /// Defaults: async, prefix `*`, every event and key type, read values, batch 1, trim
    /// streams, the session's limits.
    pub fn new() -> RegisterOptions {
        RegisterOptions {
            inner: wit::RegisterOptions {
                mode: Mode::Async,
                prefix: None,
                event_types: None,
                key_types: None,
                commands: None,
                read_value: true,
                batch: None,
                duration_ms: None,
                on_failed: None,
                retry_interval_s: None,
                trim_stream: true,
                trigger: None,
                hook: None,
                key_prefix: None,
                in_order: false,
                on_registered: None,
                limits: crate::bindings::gears::function::types::Limits {
                    fuel: None,
                    memory_bytes: None,
                    timeout_ms: None,
                    max_breaches: None,
                },
            },
            convert_to_str: false,
            collect: true,
        }
    }

    /// `async` (default), `async_local` or `sync`.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.inner.mode = mode;
        self
    }

    /// Key prefix (KeysReader: `user:*` or an exact key) or stream prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.inner.prefix = Some(prefix.into());
        self
    }

    /// KeysReader `eventTypes` (`["set", "hset"]`).
    pub fn event_types<S: Into<String>>(mut self, events: impl IntoIterator<Item = S>) -> Self {
        self.inner.event_types = strings(events);
        self
    }

    /// KeysReader `keyTypes` (`["string", "hash"]`).
    pub fn key_types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.inner.key_types = strings(types);
        self
    }

    /// KeysReader `commands`: fire only for writes by these commands (and allow
    /// [`override_reply`](crate::override_reply)).
    pub fn commands<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.inner.commands = strings(commands);
        self
    }

    /// KeysReader `readValue`.
    pub fn read_value(mut self, read_value: bool) -> Self {
        self.inner.read_value = read_value;
        self
    }

    /// StreamReader `batch`.
    pub fn batch(mut self, batch: u32) -> Self {
        self.inner.batch = Some(batch);
        self
    }

    /// StreamReader `duration` in milliseconds.
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.inner.duration_ms = Some(ms);
        self
    }

    /// StreamReader `onFailedPolicy`.
    pub fn on_failed(mut self, policy: OnFailed) -> Self {
        self.inner.on_failed = Some(policy);
        self
    }

    /// StreamReader `onFailedRetryInterval` in seconds.
    pub fn retry_interval_s(mut self, s: u64) -> Self {
        self.inner.retry_interval_s = Some(s);
        self
    }

    /// StreamReader `trimStream`.
    pub fn trim_stream(mut self, trim: bool) -> Self {
        self.inner.trim_stream = trim;
        self
    }

    /// CommandReader `trigger`: runs on `RG.TRIGGER <name> args...`.
    pub fn trigger(mut self, name: impl Into<String>) -> Self {
        self.inner.trigger = Some(name.into());
        self
    }

    /// CommandReader `hook`: runs instead of this command.
    pub fn hook(mut self, command: impl Into<String>) -> Self {
        self.inner.hook = Some(command.into());
        self
    }

    /// CommandReader `keyprefix` (with `hook`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.inner.key_prefix = Some(prefix.into());
        self
    }

    /// CommandReader `inorder`.
    pub fn in_order(mut self, in_order: bool) -> Self {
        self.inner.in_order = in_order;
        self
    }

    /// `onRegistered`: called once the registration is active.
    pub fn on_registered<F, R>(mut self, f: F) -> Self
    where
        F: Fn() -> R + 'static,
        R: Outcome<()>,
    {
        self.inner.on_registered = Some(registry::add(
            name_of::<F>("onRegistered"),
            Cb::Unit(Box::new(move || f().into_outcome())),
        ));
        self
    }

    /// Fuel per execution of this registration (at most the session's).
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.inner.limits.fuel = Some(fuel);
        self
    }

    /// Memory cap per instance, in bytes (at most the session's).
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.inner.limits.memory_bytes = Some(bytes);
        self
    }

    /// Wall-clock limit per execution, in milliseconds (at most the session's).
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.inner.limits.timeout_ms = Some(ms);
        self
    }

    /// Consecutive breaches before the registration pauses itself.
    pub fn max_breaches(mut self, n: u32) -> Self {
        self.inner.limits.max_breaches = Some(n);
        self
    }

    /// RedisGears' `convertToStr` (off by default; see [`RunOptions::convert_to_str`]).
    pub fn convert_to_str(mut self, on: bool) -> Self {
        self.convert_to_str = on;
        self
    }

    /// RedisGears' `collect` (default true).
    pub fn collect(mut self, on: bool) -> Self {
        self.collect = on;
        self
    }
}
