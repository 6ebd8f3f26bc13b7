//! The on-disk cache of compiled components: `Component::serialize()` output under
//! `<dir>/gears/wasm-cache/` (`dir` is the server's `dir` setting), opened once through cap-std.
//!
//! Key: SHA-256 of the module bytes, the wasmtime version and the engine's configuration key
//! (wasmtime's compatibility hash and our fingerprint), so a new wasmtime or a new configuration
//! never loads an old artefact. A file is `<key>.cwasm`: the SHA-256 of the artefact, then the
//! artefact; a file that does not match its checksum (a torn write, a disk error) is ignored and
//! rewritten. Files are written to a temporary name and renamed into place.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::Dir;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The compiled-artefact cache of one server.
pub struct Cache {
    data_dir: PathBuf,
    dir: OnceLock<Option<Dir>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// Where the cache lives below the data directory.
const SUBDIR: &str = "gears/wasm-cache";

impl Cache {
    /// A cache below `data_dir`, opened on first use.
    pub fn new(data_dir: impl Into<PathBuf>) -> Cache {
        Cache {
            data_dir: data_dir.into(),
            dir: OnceLock::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The only use of ambient authority of the cache: opening the data directory.
    fn dir(&self) -> Option<&Dir> {
        self.dir
            .get_or_init(|| match open(&self.data_dir) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(dir = %self.data_dir.display(), error = %e, "wasm compile cache disabled");
                    None
                }
            })
            .as_ref()
    }

    /// The cache key of `module` under the engine configuration `config_key`.
    pub fn key(module: &[u8], config_key: &str) -> String {
        let mut h = Sha256::new();
        h.update(module);
        h.update(b"\0wasmtime ");
        h.update(wasmtime_version().as_bytes());
        h.update(b"\0");
        h.update(config_key.as_bytes());
        hex(&h.finalize())
    }

    /// Hits so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Misses (compilations) so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The component compiled from `module`: from the cache, or compiled by `compile` (and then
    /// stored).
    ///
    /// # Errors
    /// `compile`'s error.
    pub fn get_or_compile(
        &self,
        engine: &Engine,
        module: &[u8],
        config_key: &str,
        compile: impl FnOnce() -> Result<Component, String>,
    ) -> Result<Component, String> {
        let key = Self::key(module, config_key);
        if let Some(c) = self.load(engine, &key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(c);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let c = compile()?;
        self.store(&key, &c);
        Ok(c)
    }

    #[allow(
        unsafe_code,
        reason = "deserialising a compiled artefact: ours, checksummed, and checked by wasmtime"
    )]
    fn load(&self, engine: &Engine, key: &str) -> Option<Component> {
        let dir = self.dir()?;
        let mut f = dir.open(format!("{key}.cwasm")).ok()?;
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        if data.len() < 32 {
            return None;
        }
        let (sum, artefact) = data.split_at(32);
        if Sha256::digest(artefact).as_slice() != sum {
            tracing::warn!(key, "corrupt wasm cache entry ignored");
            return None;
        }
        // SAFETY: the artefact was written by `store` below from `Component::serialize` of the
        // same engine configuration (the key covers the wasmtime version and configuration),
        // and its checksum matches; wasmtime additionally checks its own header. Only the
        // server writes the data directory.
        match unsafe { Component::deserialize(engine, artefact) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(key, error = %e, "wasm cache entry not loadable");
                None
            }
        }
    }

    fn store(&self, key: &str, c: &Component) {
        let Some(dir) = self.dir() else { return };
        let artefact = match c.serialize() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "could not serialise a compiled component");
                return;
            }
        };
        let tmp = format!("{key}.{}.tmp", rand::random::<u64>());
        let written = (|| -> std::io::Result<()> {
            let mut f = dir.create(&tmp)?;
            f.write_all(&Sha256::digest(&artefact))?;
            f.write_all(&artefact)?;
            f.sync_all()?;
            dir.rename(&tmp, dir, format!("{key}.cwasm"))
        })();
        if let Err(e) = written {
            let _ = dir.remove_file(&tmp);
            tracing::warn!(error = %e, "could not write the wasm compile cache");
        }
    }
}

fn open(data_dir: &Path) -> std::io::Result<Dir> {
    let data = Dir::open_ambient_dir(data_dir, cap_std::ambient_authority())?;
    data.create_dir_all(SUBDIR)?;
    data.open_dir(SUBDIR)
}

/// The wasmtime version the server was built with.
pub fn wasmtime_version() -> &'static str {
    "48.0.8"
}
