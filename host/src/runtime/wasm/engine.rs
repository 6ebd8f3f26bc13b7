//! The one process-wide wasmtime [`Engine`] every server of the process shares (artefacts of one
//! engine cannot run on another), its epoch ticker, the linkers and the compile lock.
//!
//! Configuration: component model on; fuel and epoch interruption on (fuel bounds work, the
//! epoch callback bounds wall-clock time and delivers aborts within a tick); the pooling
//! allocator; parallel compilation off, so compiling a module takes one core and never both:
//! compiles also run one at a time (the compile lock).

use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::host::StoreState;

/// The largest linear memory an instance may have (the pool's slot size): the upper bound of
/// `MEMORY` / `DefaultMemoryLimit`.
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// Epoch tick: the granularity of timeouts and of RG.ABORTEXECUTION of a running guest.
pub const TICK: Duration = Duration::from_millis(1);

/// Our configuration, as part of the compile cache key (with wasmtime's own compatibility
/// hash). Bump the suffix when `config()` changes in a way wasmtime's hash would not see.
pub const FINGERPRINT: &str = "gears-host/fuel+epoch+pooling/v1";

/// Which limits an engine's compiled code enforces. The server always uses both
/// ([`EngineOptions::default`]); benchmarks build engines with one off to measure its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Fuel metering (`Config::consume_fuel`).
    pub fuel: bool,
    /// Epoch interruption (`Config::epoch_interruption`) and its ticker thread.
    pub epoch: bool,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            fuel: true,
            epoch: true,
        }
    }
}

/// Everything shared process-wide.
pub struct Global {
    /// The engine.
    pub engine: Engine,
    /// What its code enforces.
    pub options: EngineOptions,
    /// A linker with the gears imports only.
    pub linker: Linker<StoreState>,
    /// A linker with the gears imports and WASI p2 (empty context).
    pub linker_wasi: Linker<StoreState>,
    /// Held while compiling: one compilation at a time.
    pub compile_lock: Mutex<()>,
    /// wasmtime's compatibility hash and our fingerprint, as hex (cache key part).
    pub config_key: String,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global").finish_non_exhaustive()
    }
}

fn config(opts: EngineOptions) -> Config {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.consume_fuel(opts.fuel);
    cfg.epoch_interruption(opts.epoch);
    cfg.parallel_compilation(false);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000)
        .total_core_instances(4000)
        .total_memories(1000)
        .total_tables(4000)
        .max_memory_size(usize::try_from(MAX_MEMORY_BYTES).unwrap_or(usize::MAX))
        .table_elements(200_000)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(32)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20);
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    cfg
}

/// Feeds `Hash` output into a SHA-256.
struct ShaHasher(sha2::Sha256);

impl std::hash::Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.0, bytes);
    }
}

/// Builds an engine with `opts`, its linkers and (with epochs on) its ticker thread, which
/// lives as long as the process. The server uses [`global`]; this is public for benchmarks
/// that compare engines with fuel or epochs off (their instances only run when
/// [`Global::options`] matches what the instance code expects, see `instance.rs`).
///
/// # Errors
/// If wasmtime cannot start (the text names what failed).
pub fn build(opts: EngineOptions) -> Result<Global, String> {
    let engine = Engine::new(&config(opts)).map_err(|e| format!("wasm engine: {e}"))?;
    let mut linker = Linker::<StoreState>::new(&engine);
    super::bindings::Gears::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)
        .map_err(|e| format!("wasm linker: {e}"))?;
    let mut linker_wasi = Linker::<StoreState>::new(&engine);
    super::bindings::Gears::add_to_linker::<StoreState, HasSelf<StoreState>>(
        &mut linker_wasi,
        |s| s,
    )
    .map_err(|e| format!("wasm linker: {e}"))?;
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker_wasi)
        .map_err(|e| format!("wasm linker (wasi): {e}"))?;
    let mut h = ShaHasher(<sha2::Sha256 as sha2::Digest>::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    sha2::Digest::update(&mut h.0, FINGERPRINT.as_bytes());
    let config_key = super::cache::hex(&sha2::Digest::finalize(h.0));
    // The engine lives as long as the process (a static), and so does its ticker.
    if opts.epoch {
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("gears-wasm-epoch".into())
            .spawn(move || {
                loop {
                    ticker.increment_epoch();
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| format!("wasm epoch ticker: {e}"))?;
    }
    Ok(Global {
        engine,
        options: opts,
        linker,
        linker_wasi,
        compile_lock: Mutex::new(()),
        config_key,
    })
}

/// The process-wide engine, built on first use.
///
/// # Errors
/// If wasmtime cannot start (the text names what failed).
pub fn global() -> Result<&'static Global, String> {
    static GLOBAL: OnceLock<Result<Global, String>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| build(EngineOptions::default()))
        .as_ref()
        .map_err(Clone::clone)
}
