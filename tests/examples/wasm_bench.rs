//! The in-process half of `bench/wasm.sh` (never run in CI): guests for the server benchmarks,
//! and micro benchmarks of the host's own wasm runtime.
//!
//! - `wasm_bench guests <dir>` writes the no-op components the script uploads with
//!   RG.WASMEXECUTE: `trigger.wasm` (a sync CommandReader registration, trigger `noop`, one
//!   `foreach` that returns nothing) and `keys.wasm` (a sync KeysReader registration on
//!   `key:*`, the same no-op `foreach`).
//! - `wasm_bench micro` prints markdown table rows: a fresh instance (what a session pays
//!   when its pool is empty: store, instantiate, the guest's `init`) and a warm call (one
//!   `function.call` request on a pooled instance), as p50/p99 over many runs; then a CPU-bound
//!   guest (~50 ms per call) on four engines, fuel and epoch interruption each on or off, as
//!   the median of interleaved rounds.
//!
//! Environment: `N` (instantiations and warm calls, default 20000), `ROUNDS` (CPU-bound
//! rounds, default 7), `CPU_MS` (target duration of a CPU-bound call, default 50).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

#[allow(dead_code, reason = "shared with the e2e tests, which use the rest")]
#[path = "../e2e/wasm/guest.rs"]
mod guest;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use gears_host::limits::Limits;
use gears_host::runtime::wasm::bindings::GearsPre;
use gears_host::runtime::wasm::bindings::exports::gears::function::function::{CallKind, Request};
use gears_host::runtime::wasm::bindings::gears::function::types::Value;
use gears_host::runtime::wasm::engine::{self, EngineOptions, Global};
use gears_host::runtime::wasm::host::{Phase, StoreState};
use gears_host::runtime::wasm::instance::{Budget, Instance};
use gears_host::runtime::wasm::prepare;
use gears_host::runtime::{HostApi, LogLevel, ReplyValue};

use guest::{Cb, Guest, Mode, Plan, Reader, RegOpts, Step};

/// A host that does nothing (the benchmarked guests never call it).
struct NullHost;

impl HostApi for NullHost {
    fn execute(&self, _argv: Vec<Vec<u8>>) -> ReplyValue {
        ReplyValue::Nil
    }
    fn log(&self, _level: LogLevel, _msg: &str) {}
    fn gears_config(&self, _key: &str) -> Option<String> {
        None
    }
    fn attempt_traceback(&self) -> bool {
        false
    }
    fn next_plan_id(&self) -> String {
        "0".into()
    }
    fn atomic_enter(&self) {}
    fn atomic_exit(&self) {}
}

/// The server's default limits (DefaultFuel, DefaultMemoryLimit, DefaultTimeoutMS).
fn limits() -> Limits {
    Limits {
        fuel: 10_000_000_000,
        memory_bytes: 128 << 20,
        timeout_ms: 0,
        max_breaches: 0,
    }
}

fn budget() -> Budget {
    Budget::new(limits(), Arc::new(AtomicBool::new(false)))
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A guest with one `foreach` callback (id 1) returning nothing, declaring `plan`/`opts`.
fn noop_guest(reader: Reader, opts: RegOpts) -> Vec<u8> {
    Guest {
        callbacks: vec![(1, Cb::Nothing)],
        register: vec![(
            Plan {
                reader,
                desc: Some("noop".into()),
                steps: vec![Step::Foreach(1)],
            },
            opts,
        )],
        ..Guest::default()
    }
    .component()
}

fn write_guests(dir: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let trigger = noop_guest(
        Reader::Command,
        RegOpts {
            mode: Mode::Sync,
            trigger: Some("noop".into()),
            ..RegOpts::default()
        },
    );
    let keys = noop_guest(
        Reader::Keys,
        RegOpts {
            mode: Mode::Sync,
            prefix: Some("key:*".into()),
            ..RegOpts::default()
        },
    );
    std::fs::write(format!("{dir}/trigger.wasm"), trigger)?;
    std::fs::write(format!("{dir}/keys.wasm"), keys)?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn create(pre: &GearsPre<StoreState>, api: &Arc<dyn HostApi>) -> Instance {
    Instance::create(
        pre,
        Arc::from("bench"),
        api.clone(),
        Phase::Reinit,
        &mut budget(),
    )
    .map(|(i, _)| i)
    .unwrap_or_else(|_| panic!("the guest instantiates"))
}

/// One request to callback 1 with `arg` as its only record.
fn request(arg: Vec<Value>, kind: CallKind) -> [Request; 1] {
    [Request {
        callback: 1,
        kind,
        args: vec![arg],
    }]
}

/// Fresh instances and warm calls of the no-op CommandReader guest on the server's engine.
fn instantiate_and_call(n: usize) -> anyhow::Result<()> {
    let g = engine::global().map_err(anyhow::Error::msg)?;
    let code = noop_guest(
        Reader::Command,
        RegOpts {
            mode: Mode::Sync,
            trigger: Some("noop".into()),
            ..RegOpts::default()
        },
    );
    let pre = prepare(g, &code).map_err(anyhow::Error::msg)?;
    let api: Arc<dyn HostApi> = Arc::new(NullHost);
    // Fresh instances: created and dropped, as an ISOLATE execution or an empty pool does.
    let mut made = Vec::with_capacity(n);
    let mut dropped = Vec::with_capacity(n);
    for _ in 0..n.min(1000) {
        drop(create(&pre, &api)); // warm-up
    }
    for _ in 0..n {
        let t = Instant::now();
        let inst = create(&pre, &api);
        let t2 = Instant::now();
        drop(inst);
        let t3 = Instant::now();
        made.push(t2 - t);
        dropped.push(t3 - t2);
    }
    made.sort_unstable();
    dropped.sort_unstable();
    println!(
        "| b | fresh instance p50 (store + instantiate + `init`; p99 {}) | {} | | | ≤ 10 µs |",
        micros(percentile(&made, 0.99)),
        micros(percentile(&made, 0.5))
    );
    println!(
        "| b | dropping it p50 (back to the pool allocator) | {} | | | |",
        micros(percentile(&dropped, 0.5))
    );
    // Warm calls: one request on a kept instance, with the record RG.TRIGGER gives
    // (`["noop"]`, 2 nodes) and the one a KeysReader SET event gives (9 nodes).
    let text = |s: &str| Value::Text(s.to_string());
    let bytes = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    let records = [
        (
            "CommandReader record, 2 nodes",
            vec![Value::List(1), bytes("noop")],
        ),
        (
            "KeysReader record, 9 nodes",
            vec![
                Value::Map(4),
                text("event"),
                bytes("set"),
                text("key"),
                bytes("key:000000012345"),
                text("type"),
                bytes("string"),
                text("value"),
                bytes("xxx"),
            ],
        ),
    ];
    let mut inst = create(&pre, &api);
    for (what, record) in records {
        let mut calls = Vec::with_capacity(n);
        let mut b = budget();
        for i in 0..n + n.min(1000) {
            let req = request(record.clone(), CallKind::Foreach);
            let t = Instant::now();
            let r = inst.call(
                &api,
                Some("0000000000000000000000000000000000000000-1"),
                &req,
                &mut b,
            );
            let d = t.elapsed();
            if r.is_err() {
                anyhow::bail!("the warm call failed");
            }
            if i >= n.min(1000) {
                calls.push(d);
            }
        }
        calls.sort_unstable();
        println!(
            "| b | warm call p50 (one `function.call` request, {what}; p99 {}) | {} | | | |",
            micros(percentile(&calls, 0.99)),
            micros(percentile(&calls, 0.5))
        );
    }
    Ok(())
}

/// An engine variant and what it runs.
struct Variant {
    name: &'static str,
    inst: Instance,
    times: Vec<Duration>,
}

fn cpu_call(inst: &mut Instance, api: &Arc<dyn HostApi>, n: i64) -> anyhow::Result<Duration> {
    let req = request(vec![Value::Integer(n)], CallKind::Map);
    let mut b = budget();
    let t = Instant::now();
    let r = inst.call(api, None, &req, &mut b);
    let d = t.elapsed();
    match r {
        Ok(_) => Ok(d),
        Err(e) => anyhow::bail!("CPU-bound call failed: {e:?}"),
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// A CPU-bound guest on engines with fuel / epoch on and off.
fn fuel_and_epoch(cb: Cb, what: &str, rounds: usize, target: Duration) -> anyhow::Result<()> {
    let code = Guest {
        callbacks: vec![(1, cb)],
        ..Guest::default()
    }
    .component();
    let api: Arc<dyn HostApi> = Arc::new(NullHost);
    let mut variants = Vec::new();
    for (name, fuel, epoch) in [
        ("none", false, false),
        ("fuel", true, false),
        ("epoch", false, true),
        ("fuel+epoch", true, true),
    ] {
        let g: &'static Global = Box::leak(Box::new(
            engine::build(EngineOptions { fuel, epoch }).map_err(anyhow::Error::msg)?,
        ));
        let pre = prepare(g, &code).map_err(anyhow::Error::msg)?;
        let inst = create(&pre, &api);
        variants.push(Variant {
            name,
            inst,
            times: Vec::new(),
        });
    }
    // Calibrate n on the production variant (fuel+epoch) to about `target` per call.
    let mut n: i64 = 1000;
    loop {
        let d = cpu_call(&mut variants[3].inst, &api, n)?;
        if d >= target / 4 {
            n = (n as f64 * target.as_secs_f64() / d.as_secs_f64()) as i64;
            break;
        }
        n *= 4;
    }
    for v in &mut variants {
        cpu_call(&mut v.inst, &api, n)?; // warm-up
    }
    for _ in 0..rounds {
        for v in &mut variants {
            let d = cpu_call(&mut v.inst, &api, n)?;
            v.times.push(d);
        }
    }
    let base = median(&mut variants[0].times).as_secs_f64();
    let ms = |d: f64| format!("{:.1} ms", d * 1e3);
    for v in &mut variants[1..] {
        let t = median(&mut v.times).as_secs_f64();
        let target = match v.name {
            "fuel" => "≤ 20%",
            "epoch" => "≤ 10%",
            _ => "",
        };
        println!(
            "| d | {what}, n={n}: {} on vs off | {} | {} | {:+.1}% | {target} |",
            v.name,
            ms(t),
            ms(base),
            100.0 * (t / base - 1.0)
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("guests") => write_guests(args.get(1).map_or("target/wasm-bench", String::as_str)),
        Some("micro") => {
            let n = usize::try_from(env("N", 20_000))?;
            let rounds = usize::try_from(env("ROUNDS", 7))?;
            let target = Duration::from_millis(env("CPU_MS", 50));
            instantiate_and_call(n)?;
            fuel_and_epoch(Cb::Lcg, "LCG loop (multiply chain)", rounds, target)?;
            fuel_and_epoch(Cb::Collatz, "Collatz steps (branchy)", rounds, target)?;
            Ok(())
        }
        _ => anyhow::bail!("usage: wasm_bench guests <dir> | wasm_bench micro"),
    }
}
