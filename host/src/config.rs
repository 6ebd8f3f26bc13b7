//! Server configuration: every supported key, its default and its validation, in one place.
//!
//! `CONFIG GET/SET` and the `--config` file read and write this table; the command layer applies
//! the keys that change running state (notification flags, encoding thresholds, protocol limits)
//! after a successful set. Keys are Redis's names; renamed keys keep their old aliases
//! (`hash-max-ziplist-entries` for `hash-max-listpack-entries`), as Redis 7 does.

use std::collections::BTreeMap;

/// How a value is validated and formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes`/`no`.
    Bool,
    /// A signed integer within bounds.
    Int(i64, i64),
    /// A byte count accepting `k`, `kb`, `m`, `mb`, `g`, `gb` suffixes, at least the given
    /// minimum.
    Memory(u64),
    /// One of fixed words.
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// Keyspace notification letters, validated by the keyspace.
    NotifyFlags,
}

/// One configuration key.
#[derive(Debug)]
pub struct Spec {
    /// Canonical name.
    pub name: &'static str,
    /// Old names that still work.
    pub aliases: &'static [&'static str],
    /// Validation.
    pub kind: Kind,
    /// Default, as CONFIG GET prints it.
    pub default: &'static str,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
}

const fn spec(name: &'static str, kind: Kind, default: &'static str) -> Spec {
    Spec {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
    }
}

const fn alias(mut s: Spec, aliases: &'static [&'static str]) -> Spec {
    s.aliases = aliases;
    s
}

const fn immutable(mut s: Spec) -> Spec {
    s.mutable = false;
    s
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every supported key.
pub const SPECS: &[Spec] = &[
    immutable(spec("port", Kind::Int(0, 65535), "6379")),
    immutable(spec("bind", Kind::Text, "127.0.0.1")),
    immutable(spec("databases", Kind::Int(1, 16), "16")),
    spec(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    spec("notify-keyspace-events", Kind::NotifyFlags, ""),
    alias(
        spec("hash-max-listpack-entries", Kind::Int(0, i64::MAX), "128"),
        &["hash-max-ziplist-entries"],
    ),
    alias(
        spec("hash-max-listpack-value", Kind::Int(0, i64::MAX), "64"),
        &["hash-max-ziplist-value"],
    ),
    spec("set-max-intset-entries", Kind::Int(0, i64::MAX), "512"),
    alias(
        spec("zset-max-listpack-entries", Kind::Int(0, i64::MAX), "128"),
        &["zset-max-ziplist-entries"],
    ),
    alias(
        spec("zset-max-listpack-value", Kind::Int(0, i64::MAX), "64"),
        &["zset-max-ziplist-value"],
    ),
    alias(
        spec("list-max-listpack-size", Kind::Int(-5, i64::MAX), "-2"),
        &["list-max-ziplist-size"],
    ),
    spec("list-compress-depth", Kind::Int(0, i64::MAX), "0"),
    spec("stream-node-max-bytes", Kind::Memory(0), "4096"),
    spec("stream-node-max-entries", Kind::Int(0, i64::MAX), "100"),
    spec("proto-max-bulk-len", Kind::Memory(1024 * 1024), "536870912"),
    spec(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024),
        "1073741824",
    ),
    spec("maxmemory", Kind::Memory(0), "0"),
    spec("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    spec("maxmemory-samples", Kind::Int(1, 64), "5"),
    spec("maxclients", Kind::Int(1, i64::MAX), "10000"),
    spec("timeout", Kind::Int(0, i64::MAX), "0"),
    spec("tcp-keepalive", Kind::Int(0, i64::MAX), "300"),
    spec("hz", Kind::Int(1, 500), "10"),
    spec("appendonly", Kind::Bool, "no"),
    spec(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    spec("save", Kind::Text, ""),
    spec("dir", Kind::Text, "."),
    spec("dbfilename", Kind::Text, "dump.rdb"),
    spec("requirepass", Kind::Text, ""),
    alias(
        spec("busy-reply-threshold", Kind::Int(0, i64::MAX), "5000"),
        &["lua-time-limit"],
    ),
    spec("slowlog-log-slower-than", Kind::Int(-1, i64::MAX), "10000"),
    spec("slowlog-max-len", Kind::Int(0, i64::MAX), "128"),
    spec("latency-tracking", Kind::Bool, "yes"),
    spec("lazyfree-lazy-user-del", Kind::Bool, "no"),
    spec("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    spec("lazyfree-lazy-expire", Kind::Bool, "no"),
    spec("lazyfree-lazy-eviction", Kind::Bool, "no"),
    spec("lazyfree-lazy-server-del", Kind::Bool, "no"),
    spec("activerehashing", Kind::Bool, "yes"),
    spec("min-replicas-to-write", Kind::Int(0, i64::MAX), "0"),
    spec("min-replicas-max-lag", Kind::Int(0, i64::MAX), "10"),
    alias(
        spec("replica-serve-stale-data", Kind::Bool, "yes"),
        &["slave-serve-stale-data"],
    ),
    alias(
        spec("replica-read-only", Kind::Bool, "yes"),
        &["slave-read-only"],
    ),
    spec("rdb-key-save-delay", Kind::Int(i64::MIN, i64::MAX), "0"),
    spec("lfu-log-factor", Kind::Int(0, i64::MAX), "10"),
    spec("lfu-decay-time", Kind::Int(0, i64::MAX), "1"),
    spec("active-expire-effort", Kind::Int(1, 10), "1"),
    spec("close-on-replica-write", Kind::Bool, "yes"),
    spec(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "yes",
    ),
    spec("io-threads", Kind::Int(1, 128), "1"),
    spec("cluster-enabled", Kind::Bool, "no"),
    spec("protected-mode", Kind::Bool, "no"),
    spec("daemonize", Kind::Bool, "no"),
    spec("logfile", Kind::Text, ""),
    spec("unixsocket", Kind::Text, ""),
];

/// A configuration error; `Display` is Redis's wire text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The key is not supported.
    #[error("Unknown option or number of arguments for CONFIG SET - '{0}'")]
    Unknown(String),
    /// The key cannot change at run time.
    #[error("CONFIG SET failed (possibly related to argument '{0}') - can't set immutable config")]
    Immutable(String),
    /// The value is invalid for the key.
    #[error("CONFIG SET failed (possibly related to argument '{name}') - {reason}")]
    Invalid {
        /// The key.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parses a memory value as Redis's `memtoull`: digits with an optional unit.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    if num.is_empty() {
        return None;
    }
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// The configuration values, keyed by canonical name.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// RedisGears keys given at start (`gears <key> <value>` lines, or the arguments of a
    /// `loadmodule .../redisgears.so <key> <value> ...` line), applied like RG.CONFIGSET
    /// without its run-time restrictions.
    pub gears: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: SPECS
                .iter()
                .map(|s| (s.name, s.default.to_string()))
                .collect(),
            gears: Vec::new(),
        }
    }
}

impl Config {
    /// The spec of a key by canonical name or alias (case-insensitive).
    pub fn spec(name: &str) -> Option<&'static Spec> {
        if let Some(exact) = SPECS.iter().find(|s| s.name == name) {
            return Some(exact);
        }
        SPECS.iter().find(|s| {
            s.name.eq_ignore_ascii_case(name)
                || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The value of a key (canonical name or alias).
    pub fn get(&self, name: &str) -> Option<&str> {
        let spec = Self::spec(name)?;
        self.values.get(spec.name).map(String::as_str)
    }

    /// An integer-valued key (memory values in bytes); 0 if unset or not numeric.
    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| {
                v.parse::<i64>()
                    .ok()
                    .or_else(|| parse_memory(v).map(|m| m as i64))
            })
            .unwrap_or(0)
    }

    /// A boolean key.
    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// Validates and normalises a value for `spec`, returning what CONFIG GET will print.
    ///
    /// # Errors
    /// `Invalid` with Redis's reason text.
    pub fn normalise(spec: &Spec, value: &str) -> Result<String, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            name: spec.name.to_string(),
            reason: reason.to_string(),
        };
        match spec.kind {
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err(invalid("argument must be 'yes' or 'no'")),
            },
            Kind::Int(lo, hi) => {
                let v: i64 = value
                    .parse()
                    .or_else(|_| parse_memory(value).map(|m| m as i64).ok_or(()))
                    .map_err(|_| invalid("argument couldn't be parsed into an integer"))?;
                if v < lo || v > hi {
                    return Err(invalid(&format!(
                        "argument must be between {lo} and {hi} inclusive"
                    )));
                }
                Ok(v.to_string())
            }
            Kind::Memory(min) => {
                let v = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
                if v < min {
                    return Err(invalid(&format!(
                        "argument must be between {min} and {} inclusive",
                        i64::MAX
                    )));
                }
                Ok(v.to_string())
            }
            Kind::Enum(words) => {
                let lower = value.to_ascii_lowercase();
                if words.contains(&lower.as_str()) {
                    Ok(lower)
                } else {
                    Err(invalid(&format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    )))
                }
            }
            Kind::Text => Ok(value.to_string()),
            Kind::NotifyFlags => {
                let flags =
                    crate::keyspace::NotifyFlags::parse(value.as_bytes()).ok_or_else(|| {
                        invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
                    })?;
                Ok(flags.to_config_string())
            }
        }
    }

    /// Sets several keys atomically (CONFIG SET k v [k v ...]): all are validated first.
    ///
    /// # Errors
    /// The first invalid key; nothing is changed then.
    pub fn set_many(
        &mut self,
        pairs: &[(&str, &str)],
        startup: bool,
    ) -> Result<Vec<&'static str>, ConfigError> {
        let mut staged = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let spec = Self::spec(name).ok_or_else(|| ConfigError::Unknown((*name).to_string()))?;
            if !spec.mutable && !startup {
                return Err(ConfigError::Immutable(spec.name.to_string()));
            }
            if staged.iter().any(|(n, _): &(&str, String)| *n == spec.name) {
                return Err(ConfigError::Invalid {
                    name: spec.name.to_string(),
                    reason: "duplicate parameter".into(),
                });
            }
            staged.push((spec.name, Self::normalise(spec, value)?));
        }
        let names = staged.iter().map(|(n, _)| *n).collect();
        for (n, v) in staged {
            self.values.insert(n, v);
        }
        Ok(names)
    }

    /// Every key and value matching a glob (CONFIG GET), aliases included when they match.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for spec in SPECS {
            let value = self.values.get(spec.name).cloned().unwrap_or_default();
            if crate::keyspace::glob::matches_nocase(pattern, spec.name.as_bytes()) {
                out.push((spec.name, value.clone()));
            }
            for a in spec.aliases {
                if crate::keyspace::glob::matches_nocase(pattern, a.as_bytes()) && !is_glob(pattern)
                {
                    out.push((*a, value.clone()));
                }
            }
        }
        out
    }

    /// Parses a redis.conf-style file: `key value...` lines, `#` comments, quoted values.
    ///
    /// # Errors
    /// The line number and reason of the first bad line.
    pub fn load_file_text(&mut self, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            if key.eq_ignore_ascii_case("gears") || key.eq_ignore_ascii_case("loadmodule") {
                let mut words = rest.split_whitespace();
                if key.eq_ignore_ascii_case("loadmodule") {
                    // The module path; its arguments are RedisGears keys.
                    words.next();
                }
                let words: Vec<&str> = words.collect();
                if !words.len().is_multiple_of(2) {
                    return Err(format!(
                        "line {}: gears keys come in key value pairs",
                        i + 1
                    ));
                }
                for kv in words.chunks_exact(2) {
                    self.gears
                        .push((kv[0].to_string(), kv[1].trim_matches('"').to_string()));
                }
                continue;
            }
            let value = rest.trim().trim_matches('"');
            self.set_many(&[(key, value)], true)
                .map_err(|e| format!("line {}: {e}", i + 1))?;
        }
        Ok(())
    }
}

fn is_glob(p: &[u8]) -> bool {
    p.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_normalisation() {
        let mut c = Config::default();
        c.set_many(&[("hash-max-ziplist-entries", "10")], false)
            .unwrap();
        assert_eq!(c.get("hash-max-listpack-entries"), Some("10"));
        c.set_many(&[("maxmemory", "1mb")], false).unwrap();
        assert_eq!(c.get("maxmemory"), Some("1048576"));
        c.set_many(&[("notify-keyspace-events", "KEA")], false)
            .unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("AKE"));
        assert!(matches!(
            c.set_many(&[("nope", "1")], false),
            Err(ConfigError::Unknown(_))
        ));
        assert!(matches!(
            c.set_many(&[("port", "1")], false),
            Err(ConfigError::Immutable(_))
        ));
        assert!(c.set_many(&[("hz", "0")], false).is_err());
    }

    #[test]
    fn set_many_is_atomic() {
        let mut c = Config::default();
        assert!(
            c.set_many(&[("hz", "20"), ("maxmemory", "oops")], false)
                .is_err()
        );
        assert_eq!(c.get("hz"), Some("10"));
    }

    #[test]
    fn glob_get_finds_aliases_only_by_exact_name() {
        let c = Config::default();
        let names: Vec<_> = c
            .matching(b"hash-max-*")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            vec!["hash-max-listpack-entries", "hash-max-listpack-value"]
        );
        let names: Vec<_> = c
            .matching(b"hash-max-ziplist-entries")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec!["hash-max-ziplist-entries"]);
    }

    #[test]
    fn file_syntax() {
        let mut c = Config::default();
        c.load_file_text("# comment\nport 7000\nnotify-keyspace-events \"Ex\"\n")
            .unwrap();
        assert_eq!(c.get("port"), Some("7000"));
        assert_eq!(c.get("notify-keyspace-events"), Some("xE"));
        assert!(c.load_file_text("bogus 1").is_err());
    }
}

/// A RedisGears configuration value, as RG.CONFIGGET replies with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GearsValue {
    /// An integer key.
    Int(i64),
    /// A string key or an extra-dictionary value.
    Text(String),
    /// A list key (`Plugin`).
    List(Vec<String>),
}

/// The outcome of setting one RedisGears key with RG.CONFIGSET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GearsSet {
    /// A core key was set: `OK`.
    Ok,
    /// A Python or extra key was stored: `OK - value was saved in extra config dictionary`.
    SavedExtra,
    /// An error element (the exact text RedisGears sends).
    Error(String),
}

/// The RedisGears 1.2 configuration (RG.CONFIGGET / RG.CONFIGSET), with its defaults, plus the
/// extra dictionary of user keys that `configGet()` reads.
#[derive(Debug, Clone)]
pub struct GearsConfig {
    /// `MaxExecutions` (≤ 0 disables eviction).
    pub max_executions: i64,
    /// `MaxExecutionsPerRegistration`.
    pub max_executions_per_registration: i64,
    /// `ProfileExecutions` (non-zero: per-step durations).
    pub profile_executions: i64,
    /// `ExecutionThreads` (load time only).
    pub execution_threads: i64,
    /// `ExecutionMaxIdleTime` (ms).
    pub execution_max_idle_time: i64,
    /// `SendMsgRetries`.
    pub send_msg_retries: i64,
    /// `PythonAttemptTraceback`.
    pub python_attempt_traceback: i64,
    /// `PythonInstallReqMaxIdleTime` (ms).
    pub python_install_req_max_idle_time: i64,
    /// `CreateVenv` (load time only).
    pub create_venv: i64,
    /// `DownloadDeps` (load time only).
    pub download_deps: i64,
    /// `ForeceDownloadDepsOnEnterprise` (sic; load time only).
    pub force_download_deps_on_enterprise: i64,
    /// `OverridePythonAllocators` (load time only).
    pub override_python_allocators: i64,
    /// `DependenciesUrl` (load time only).
    pub dependencies_url: String,
    /// `DependenciesSha256` (load time only).
    pub dependencies_sha256: String,
    /// `PythonInstallationDir` (load time only).
    pub python_installation_dir: String,
    /// `MaxTriggerDepth` (gears-host): how deep registrations may trigger registrations (a
    /// registration whose writes trigger itself is cut off here, counted as a failure).
    pub max_trigger_depth: i64,
    /// `DefaultFuel` (gears-host): fuel per execution of wasm functions (0: unlimited).
    pub default_fuel: i64,
    /// `DefaultMemoryLimit` (gears-host): linear memory cap of a wasm instance in bytes (0: the
    /// 4 GiB maximum).
    pub default_memory_limit: i64,
    /// `DefaultTimeoutMS` (gears-host): wall-clock limit per execution (0: none).
    pub default_timeout_ms: i64,
    /// `MaxBreachesBeforePause` (gears-host): consecutive limit breaches after which a
    /// registration pauses itself (0: never).
    pub max_breaches_before_pause: i64,
    /// `MaxModuleBytes` (gears-host): the largest module RG.WASMEXECUTE accepts.
    pub max_module_bytes: i64,
    /// User keys (and Python keys, as RedisGears also stores them there).
    pub extra: BTreeMap<String, String>,
}

impl Default for GearsConfig {
    fn default() -> Self {
        GearsConfig {
            max_executions: 1000,
            max_executions_per_registration: 100,
            profile_executions: 0,
            execution_threads: 3,
            execution_max_idle_time: 5000,
            send_msg_retries: 3,
            python_attempt_traceback: 1,
            python_install_req_max_idle_time: 30000,
            create_venv: 0,
            download_deps: 0,
            force_download_deps_on_enterprise: 0,
            override_python_allocators: 1,
            dependencies_url: String::new(),
            dependencies_sha256: String::new(),
            python_installation_dir: "./gears-data".into(),
            max_trigger_depth: 16,
            default_fuel: 10_000_000_000,
            default_memory_limit: 128 * 1024 * 1024,
            default_timeout_ms: 0,
            max_breaches_before_pause: 3,
            max_module_bytes: 64 * 1024 * 1024,
            extra: BTreeMap::new(),
        }
    }
}

/// Core keys: name, whether settable at run time.
const GEARS_CORE: &[(&str, bool)] = &[
    ("MaxExecutions", true),
    ("MaxExecutionsPerRegistration", true),
    ("ProfileExecutions", true),
    ("ExecutionThreads", false),
    ("ExecutionMaxIdleTime", true),
    ("SendMsgRetries", true),
    ("Plugin", false),
    ("MaxTriggerDepth", true),
    ("DefaultFuel", true),
    ("DefaultMemoryLimit", true),
    ("DefaultTimeoutMS", true),
    ("MaxBreachesBeforePause", true),
    ("MaxModuleBytes", true),
];

/// The largest `DefaultMemoryLimit`: a wasm32 instance's 4 GiB (the pooling allocator's slot
/// size, `runtime::wasm::engine::MAX_MEMORY_BYTES`).
pub const MAX_MEMORY_LIMIT: i64 = 4 << 30;

/// Python plugin keys: name, whether settable at run time.
const GEARS_PYTHON: &[(&str, bool)] = &[
    ("PythonAttemptTraceback", true),
    ("PythonInstallReqMaxIdleTime", true),
    ("CreateVenv", false),
    ("DownloadDeps", false),
    ("ForeceDownloadDepsOnEnterprise", false),
    ("OverridePythonAllocators", false),
    ("DependenciesUrl", false),
    ("DependenciesSha256", false),
    ("PythonInstallationDir", false),
];

impl GearsConfig {
    /// The defaults with the start-up pairs applied.
    ///
    /// # Errors
    /// The first pair RedisGears would refuse (the module would fail to load).
    pub fn with_startup(pairs: &[(String, String)]) -> Result<GearsConfig, String> {
        let mut c = GearsConfig::default();
        for (k, v) in pairs {
            if let GearsSet::Error(e) = c.set(k, Some(v), true) {
                return Err(e);
            }
        }
        Ok(c)
    }

    fn core_slot(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name {
            "MaxExecutions" => &mut self.max_executions,
            "MaxExecutionsPerRegistration" => &mut self.max_executions_per_registration,
            "ProfileExecutions" => &mut self.profile_executions,
            "ExecutionThreads" => &mut self.execution_threads,
            "ExecutionMaxIdleTime" => &mut self.execution_max_idle_time,
            "SendMsgRetries" => &mut self.send_msg_retries,
            "MaxTriggerDepth" => &mut self.max_trigger_depth,
            "DefaultFuel" => &mut self.default_fuel,
            "DefaultMemoryLimit" => &mut self.default_memory_limit,
            "DefaultTimeoutMS" => &mut self.default_timeout_ms,
            "MaxBreachesBeforePause" => &mut self.max_breaches_before_pause,
            "MaxModuleBytes" => &mut self.max_module_bytes,
            _ => return None,
        })
    }

    /// RG.CONFIGGET of one key (names are case-sensitive, as in RedisGears).
    ///
    /// # Errors
    /// The error element text for an unknown key.
    pub fn get(&self, key: &str) -> Result<GearsValue, String> {
        let int = |v: i64| Ok(GearsValue::Int(v));
        match key {
            "MaxExecutions" => int(self.max_executions),
            "MaxExecutionsPerRegistration" => int(self.max_executions_per_registration),
            "ProfileExecutions" => int(self.profile_executions),
            "ExecutionThreads" => int(self.execution_threads),
            "ExecutionMaxIdleTime" => int(self.execution_max_idle_time),
            "SendMsgRetries" => int(self.send_msg_retries),
            "MaxTriggerDepth" => int(self.max_trigger_depth),
            "DefaultFuel" => int(self.default_fuel),
            "DefaultMemoryLimit" => int(self.default_memory_limit),
            "DefaultTimeoutMS" => int(self.default_timeout_ms),
            "MaxBreachesBeforePause" => int(self.max_breaches_before_pause),
            "MaxModuleBytes" => int(self.max_module_bytes),
            "Plugin" => Ok(GearsValue::List(Vec::new())),
            "PythonAttemptTraceback" => int(self.python_attempt_traceback),
            "PythonInstallReqMaxIdleTime" => int(self.python_install_req_max_idle_time),
            "CreateVenv" => int(self.create_venv),
            "DownloadDeps" => int(self.download_deps),
            "ForeceDownloadDepsOnEnterprise" => int(self.force_download_deps_on_enterprise),
            "OverridePythonAllocators" => int(self.override_python_allocators),
            "DependenciesUrl" => Ok(GearsValue::Text(self.dependencies_url.clone())),
            "DependenciesSha256" => Ok(GearsValue::Text(self.dependencies_sha256.clone())),
            "PythonInstallationDir" => Ok(GearsValue::Text(self.python_installation_dir.clone())),
            _ => self
                .extra
                .get(key)
                .map(|v| GearsValue::Text(v.clone()))
                .ok_or_else(|| format!("(error) Unsupported config parameter: {key}")),
        }
    }

    /// RG.CONFIGSET of one key. `value` is None when the command ran out of arguments.
    /// `startup` lifts the run-time restriction (configuration given at start).
    pub fn set(&mut self, key: &str, value: Option<&str>, startup: bool) -> GearsSet {
        if let Some(&(name, settable)) =
            GEARS_CORE.iter().find(|(n, _)| n.eq_ignore_ascii_case(key))
        {
            if !settable && !startup {
                return GearsSet::Error(format!(
                    "(error) Config value {key} not modifiable at runtime"
                ));
            }
            let parsed = value.and_then(|v| crate::keyspace::string::parse_i64(v.as_bytes()));
            let ok = match (name, parsed) {
                ("ExecutionThreads" | "ExecutionMaxIdleTime", Some(v)) if v > 0 => Some(v),
                ("SendMsgRetries", Some(v)) if v >= 0 => Some(v),
                ("MaxTriggerDepth", Some(v)) if v >= 1 => Some(v),
                ("DefaultFuel" | "DefaultTimeoutMS", Some(v)) if v >= 0 => Some(v),
                ("DefaultMemoryLimit", Some(v)) if (0..=MAX_MEMORY_LIMIT).contains(&v) => Some(v),
                ("MaxBreachesBeforePause", Some(v)) if (0..=i64::from(u32::MAX)).contains(&v) => {
                    Some(v)
                }
                ("MaxModuleBytes", Some(v)) if v >= 1 => Some(v),
                (
                    "MaxExecutions" | "MaxExecutionsPerRegistration" | "ProfileExecutions",
                    Some(v),
                ) => Some(v),
                _ => None,
            };
            return match (ok, self.core_slot(name)) {
                (Some(v), Some(slot)) => {
                    *slot = v;
                    GearsSet::Ok
                }
                _ => GearsSet::Error(format!("(error) Failed setting config value {key}")),
            };
        }
        let Some(value) = value else {
            return GearsSet::Error(format!("(error) Value was not given to {key}"));
        };
        if let Some(&(name, settable)) = GEARS_PYTHON.iter().find(|(n, _)| *n == key) {
            if !settable && !startup {
                return GearsSet::Error(format!("(error) {key} is not configurable at runtime"));
            }
            let int = crate::keyspace::string::parse_i64(value.as_bytes());
            let bad = || {
                GearsSet::Error(format!(
                    "Failed setting config value for key '{key}' with value '{value}'"
                ))
            };
            match name {
                "PythonAttemptTraceback" => match int {
                    Some(v) => self.python_attempt_traceback = i64::from(v != 0),
                    None => return bad(),
                },
                "PythonInstallReqMaxIdleTime" => match int {
                    Some(v) if v > 0 => self.python_install_req_max_idle_time = v,
                    _ => return bad(),
                },
                "CreateVenv"
                | "DownloadDeps"
                | "ForeceDownloadDepsOnEnterprise"
                | "OverridePythonAllocators" => {
                    let Some(v) = int else { return bad() };
                    let v = i64::from(v != 0);
                    match name {
                        "CreateVenv" => self.create_venv = v,
                        "DownloadDeps" => self.download_deps = v,
                        "ForeceDownloadDepsOnEnterprise" => {
                            self.force_download_deps_on_enterprise = v
                        }
                        _ => self.override_python_allocators = v,
                    }
                }
                "DependenciesUrl" => self.dependencies_url = value.to_string(),
                "DependenciesSha256" => self.dependencies_sha256 = value.to_string(),
                _ => self.python_installation_dir = value.to_string(),
            }
        }
        self.extra.insert(key.to_string(), value.to_string());
        GearsSet::SavedExtra
    }
}

#[cfg(test)]
mod gears_tests {
    use super::*;

    #[test]
    fn gears_config_follows_redisgears_rules() {
        let mut c = GearsConfig::default();
        assert_eq!(c.get("MaxExecutions"), Ok(GearsValue::Int(1000)));
        assert!(
            c.get("maxexecutions").is_err(),
            "CONFIGGET is case-sensitive"
        );
        assert_eq!(c.set("maxexecutions", Some("10"), false), GearsSet::Ok);
        assert_eq!(c.get("MaxExecutions"), Ok(GearsValue::Int(10)));
        assert_eq!(
            c.set("ExecutionThreads", Some("5"), false),
            GearsSet::Error(
                "(error) Config value ExecutionThreads not modifiable at runtime".into()
            )
        );
        assert_eq!(
            c.set("MaxExecutions", Some("abc"), false),
            GearsSet::Error("(error) Failed setting config value MaxExecutions".into())
        );
        assert_eq!(c.set("foo", Some("bar"), false), GearsSet::SavedExtra);
        assert_eq!(c.get("foo"), Ok(GearsValue::Text("bar".into())));
        assert_eq!(
            c.set("PythonAttemptTraceback", Some("0"), false),
            GearsSet::SavedExtra
        );
        assert_eq!(c.python_attempt_traceback, 0);
        assert_eq!(
            c.set("DependenciesSha256", Some("x"), false),
            GearsSet::Error("(error) DependenciesSha256 is not configurable at runtime".into())
        );
        assert_eq!(
            c.get("nope"),
            Err("(error) Unsupported config parameter: nope".to_string())
        );
    }
}
