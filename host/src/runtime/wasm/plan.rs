//! What a guest's `init` declared (`builder.run` / `builder.register`) as the engine's neutral
//! plans: reader names, steps with their callbacks, run and register options with RedisGears'
//! defaults.

use std::sync::Arc;

use super::bindings::gears::function::builder;
use crate::limits::LimitOverrides;
use crate::runtime::Callback;
use crate::runtime::plan::{
    Loaded, Mode, Naming, OnFailed, PlanSpec, RegisterSpec, RunArg, RunSpec, StepKind, StepSpec,
};

/// What a callback is for: the host picks the call kind from it where the step does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A step's callback.
    Step,
    /// A generator-reader's producer.
    Generator,
    /// `onRegistered`.
    OnRegistered,
}

/// A guest callback: its id and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasmCallback {
    /// The guest's id.
    pub id: u32,
    /// Its role.
    pub role: Role,
}

/// The names RG.GETEXECUTION shows for wasm steps.
pub static NAMING: Naming = Naming {
    to_record: "GearsWasm_ToRecordMapper",
    mapper: "GearsWasm_CallbackMapper",
    flat_mapper: "GearsWasm_CallbackFlatMapper",
    filter: "GearsWasm_CallbackFilter",
    foreach: "GearsWasm_CallbackForEach",
    accumulate: "GearsWasm_CallbackAccumulate",
    extractor: "GearsWasm_CallbackExtractor",
    accumulate_by_key: "GearsWasm_CallbackAccumulateByKey",
    reducer: "GearsWasm_CallbackReducer",
};

fn callback(c: &builder::Callback, role: Role) -> Callback {
    Callback {
        inner: Arc::new(WasmCallback { id: c.id, role }),
        describe: c.name.clone(),
    }
}

fn reader_name(r: builder::ReaderKind) -> &'static str {
    match r {
        builder::ReaderKind::KeysReader => "KeysReader",
        builder::ReaderKind::KeysOnlyReader => "KeysOnlyReader",
        builder::ReaderKind::StreamReader => "StreamReader",
        builder::ReaderKind::GeneratorReader => "GeneratorReader",
        builder::ReaderKind::ShardsIdReader => "ShardsIDReader",
        builder::ReaderKind::CommandReader => "CommandReader",
    }
}

fn sat(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn plan(id: String, p: &builder::Plan) -> PlanSpec {
    let one = |kind, c: &builder::Callback| StepSpec {
        kind,
        callbacks: vec![callback(c, Role::Step)],
        limit: None,
    };
    let two = |kind, (e, r): &(builder::Callback, builder::Callback)| StepSpec {
        kind,
        callbacks: vec![callback(e, Role::Step), callback(r, Role::Step)],
        limit: None,
    };
    let steps = p
        .steps
        .iter()
        .map(|s| match s {
            builder::Step::Map(c) => one(StepKind::Map, c),
            builder::Step::FlatMap(c) => one(StepKind::FlatMap, c),
            builder::Step::Filter(c) => one(StepKind::Filter, c),
            builder::Step::Foreach(c) => one(StepKind::ForEach, c),
            builder::Step::Accumulate(c) => one(StepKind::Accumulate, c),
            builder::Step::LocalGroupBy(p) => two(StepKind::LocalGroupBy, p),
            builder::Step::GroupBy(p) => two(StepKind::GroupBy, p),
            builder::Step::BatchGroupBy(p) => two(StepKind::BatchGroupBy, p),
            builder::Step::Repartition(c) => one(StepKind::Repartition, c),
            builder::Step::Collect => StepSpec {
                kind: StepKind::Collect,
                callbacks: Vec::new(),
                limit: None,
            },
            builder::Step::Limit((len, offset)) => StepSpec {
                kind: StepKind::Limit,
                callbacks: Vec::new(),
                limit: Some((sat(*offset), sat(*len))),
            },
        })
        .collect();
    PlanSpec {
        id,
        reader: reader_name(p.reader).to_string(),
        desc: p.description.clone(),
        steps,
        naming: &NAMING,
    }
}

fn mode(m: builder::Mode) -> Mode {
    match m {
        builder::Mode::Async => Mode::Async,
        builder::Mode::AsyncLocal => Mode::AsyncLocal,
        builder::Mode::Sync => Mode::Sync,
    }
}

/// Converts a guest's declarations; `next_id` hands out plan ids.
///
/// # Errors
/// A declaration the engine cannot run, in words.
pub fn convert(
    declared: super::host::Declared,
    next_id: &mut dyn FnMut() -> String,
) -> Result<Loaded, String> {
    let run = match declared.run {
        None => None,
        Some((p, o)) => {
            let arg = if p.reader == builder::ReaderKind::GeneratorReader {
                let g = o.generator.as_ref().ok_or_else(|| {
                    "run(): a generator-reader needs run-options.generator".to_string()
                })?;
                RunArg::Generator(callback(g, Role::Generator))
            } else {
                RunArg::Text(o.pattern.clone().unwrap_or_else(|| "*".into()))
            };
            if o.mode == builder::Mode::Sync {
                return Err("run(): mode must be async or async-local".into());
            }
            Some(RunSpec {
                plan: plan(next_id(), &p),
                arg,
                mode: mode(o.mode),
                no_scan: o.no_scan,
                read_value: o.read_value,
                from_id: o.from_id.clone().unwrap_or_else(|| "0-0".into()),
            })
        }
    };
    let mut registrations = Vec::with_capacity(declared.registrations.len());
    for (p, o) in declared.registrations {
        let l = &o.limits;
        registrations.push(RegisterSpec {
            plan: plan(next_id(), &p),
            mode: mode(o.mode),
            on_registered: o
                .on_registered
                .as_ref()
                .map(|c| callback(c, Role::OnRegistered)),
            prefix: o.prefix.clone().unwrap_or_else(|| "*".into()),
            event_types: o.event_types.clone(),
            key_types: o.key_types.clone(),
            commands: o.commands.clone(),
            read_value: o.read_value,
            batch: o.batch.map_or(1, i64::from),
            duration: o.duration_ms.map_or(0, sat),
            on_failed: match o.on_failed {
                None | Some(builder::OnFailed::Continue) => OnFailed::Continue,
                Some(builder::OnFailed::Abort) => OnFailed::Abort,
                Some(builder::OnFailed::Retry) => OnFailed::Retry,
            },
            retry_interval: o.retry_interval_s.map_or(5, sat),
            trim_stream: o.trim_stream,
            trigger: o.trigger.clone(),
            hook: o.hook.clone(),
            keyprefix: o.key_prefix.clone(),
            inorder: o.in_order,
            limits: LimitOverrides {
                fuel: l.fuel,
                memory_bytes: l.memory_bytes,
                timeout_ms: l.timeout_ms,
                max_breaches: l.max_breaches,
            },
        });
    }
    Ok(Loaded { run, registrations })
}
