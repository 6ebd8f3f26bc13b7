//! Python requirements (`RG.PYEXECUTE ... REQUIREMENTS`, RG.PYDUMPREQS, RG.PYEXPORTREQ,
//! RG.PYIMPORTREQ): pip packages installed under the server's data directory.
//!
//! # Layout
//! Everything lives under `<dir>/gears/reqs/` (`dir` is the server's `dir` setting). Each
//! requirement object owns one directory `<name>_<10 random hex chars>` (the name made
//! file-name safe) with
//! * `wheels/`: the wheels `python3 -m pip wheel` downloaded for it (its dependencies
//!   included), and
//! * `site/`: those wheels installed with `pip install --no-index --target site`.
//!
//! # File access
//! All file access goes through `cap-std`: the data directory is opened once, in
//! [`open_data_dir`], the only place that uses ambient authority (it also resolves the absolute
//! path pip needs); everything else is created, read and removed relative to that handle. pip runs
//! as a subprocess of the same CPython the embedded interpreter is (see [`default_python`]) and
//! receives absolute paths derived from the data directory.
//!
//! # Lifetimes (RedisGears 1.2's model)
//! * The *requirements dictionary* (RG.PYDUMPREQS, RG.PYEXPORTREQ) maps a requirement string to
//!   one requirement. A session's requirements enter it when the session registers something or
//!   runs an execution; a newer requirement of the same name replaces the entry. Upgrading a
//!   session drops the entries only that session and the dictionary held.
//! * `RefCount` counts the holders: the dictionary and every session using the requirement
//!   ([`ReqRef`]s).
//! * *Installed packages* stay importable after their session is gone, as they do in
//!   RedisGears's shared virtualenv: the latest successful installation of each name is kept
//!   (the "venv" table) and its `site/` directory stays on the runtime's import path
//!   (`sys.path`), newest first. When a requirement that is not in the dictionary is released
//!   while the dictionary holds another one of the same name, the dictionary's one becomes the
//!   active installation again (RedisGears reinstalls it).
//! * A requirement's directory is removed when nothing refers to it any more.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use cap_std::fs::Dir;
use indexmap::IndexMap;
use parking_lot::Mutex;

use super::{Engine, ExecuteRequest, Reply};
use crate::runtime::Runtime;

/// The serialisation version RG.PYEXPORTREQ writes (`GearReqVersion`).
pub const REQ_VERSION: i64 = 2;

/// The largest chunk RG.PYEXPORTREQ replies with (10 MiB).
pub const EXPORT_CHUNK: usize = 10 * 1024 * 1024;

/// Download attempts (`pip wheel`) before giving up, 1 s apart.
const DOWNLOAD_TRIES: usize = 3;

/// Subdirectory of a requirement with its wheels.
const WHEELS: &str = "wheels";
/// Subdirectory of a requirement with the installed packages.
const SITE: &str = "site";

/// The build's OS string (`CompiledOs`): `<os>-<distribution codename>-<arch>` like RedisGears's
/// `linux-bionic-x64`, from the build machine (see host/build.rs).
pub fn compiled_os() -> &'static str {
    option_env!("GEARS_COMPILED_OS").unwrap_or(if cfg!(target_arch = "x86_64") {
        "linux-x64"
    } else {
        "linux-arm64v8"
    })
}

/// The CPython that runs pip: `PYO3_PYTHON` if set when the server starts, else the interpreter
/// the build linked the embedded runtime against (`PYO3_PYTHON` or `python3` at build time, as
/// scripts/python-rpath.rs finds it), else `python3`.
pub fn default_python() -> PathBuf {
    std::env::var_os("PYO3_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| option_env!("GEARS_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Failures of requirement operations; `Display` is RedisGears's wire text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    /// The data directory or a requirement directory could not be created.
    #[error("Could not satisfy requirements, look at the log file for more information.")]
    Create,
    /// `pip wheel` failed (after retries).
    #[error("Could not satisfy requirements (look at redis log file for more information)")]
    Download,
    /// `pip install` failed for RG.PYEXECUTE.
    #[error("Failed installing requirements on shard, please check shard logs for more details.")]
    Install,
    /// `pip install` failed for RG.PYIMPORTREQ.
    #[error("Failed install requirement on shard, check shard log for more info.")]
    ImportInstall,
    /// RG.PYEXPORTREQ of a name not in the dictionary.
    #[error("requirement does not exists")]
    NoSuch,
    /// RG.PYEXPORTREQ of a requirement without wheels yet.
    #[error("Requirement was not installed yet")]
    NotDownloaded,
    /// A wheel file could not be opened for export.
    #[error("Could not open file {0}")]
    OpenWheel(String),
    /// A wheel file could not be read for export.
    #[error("Could read data from file {0}")]
    ReadWheel(String),
    /// Blob too short for the version.
    #[error("Bad serialization format on reading requirement version")]
    BadVersion,
    /// Blob of a newer version.
    #[error("Requirement version is not compatible, upgrade to newer RedisGears.")]
    Incompatible,
    /// Blob too short for the name.
    #[error("Bad serialization format on reading requirement name")]
    BadName,
    /// Blob too short for the OS string.
    #[error("Bad serialization format on reading requirement os")]
    BadOs,
    /// Blob too short for the wheel count.
    #[error("Bad serialization format on reading requirement wheels amount")]
    BadWheelCount,
    /// Blob too short for a wheel's file name.
    #[error("Bad serialization format on reading wheel file name")]
    BadWheelName,
    /// Blob too short for a wheel's data.
    #[error("Bad serialization format on reading wheel file data")]
    BadWheelData,
    /// An imported wheel file could not be created.
    #[error("Failed open file for write")]
    WriteOpen,
    /// An imported wheel file could not be written.
    #[error("Failed writing data to file")]
    Write,
}

// ---------------------------------------------------------------------------------------------
// The requirement blob (RedisGears's Gears_Buffer format: native-endian 8-byte longs, buffers
// as length + bytes, strings as buffers including their terminating NUL).

/// A decoded requirement blob (RG.PYIMPORTREQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementBlob {
    /// The version the blob was written with.
    pub version: i64,
    /// The requirement string.
    pub name: String,
    /// The OS it was built on (version ≥ 1; not checked).
    pub os: Option<String>,
    /// Whether it belongs in the requirements dictionary (version ≥ 2; else true).
    pub in_dict: bool,
    /// `(file name, contents)` of every wheel.
    pub wheels: Vec<(String, Vec<u8>)>,
}

struct Writer(Vec<u8>);

impl Writer {
    fn long(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_ne_bytes());
    }
    fn buffer(&mut self, b: &[u8]) {
        self.long(i64::try_from(b.len()).unwrap_or(i64::MAX));
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, s: &str) {
        // A C string: the bytes up to the first NUL, then the NUL.
        let bytes = s.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        self.long(i64::try_from(end + 1).unwrap_or(i64::MAX));
        self.0.extend_from_slice(&bytes[..end]);
        self.0.push(0);
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn long(&mut self) -> Option<i64> {
        let end = self.pos.checked_add(8)?;
        let bytes: [u8; 8] = self.data.get(self.pos..end)?.try_into().ok()?;
        self.pos = end;
        Some(i64::from_ne_bytes(bytes))
    }
    fn buffer(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.long()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let out = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    /// A string buffer read as a C string (up to the first NUL).
    fn string(&mut self) -> Option<String> {
        let b = self.buffer()?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Some(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

/// Serialises a requirement as RedisGears 1.2 does (version 2).
pub fn encode_blob(name: &str, os: &str, in_dict: bool, wheels: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        64 + wheels
            .iter()
            .map(|(n, d)| n.len() + d.len() + 17)
            .sum::<usize>(),
    ));
    w.long(REQ_VERSION);
    w.string(name);
    w.string(os);
    w.long(i64::from(in_dict));
    w.long(i64::try_from(wheels.len()).unwrap_or(i64::MAX));
    for (file, data) in wheels {
        w.string(file);
        w.buffer(data);
    }
    w.0
}

/// Decodes a requirement blob with RedisGears 1.2's checks and error texts.
///
/// # Errors
/// The first field that cannot be read, or a version newer than 2.
pub fn decode_blob(data: &[u8]) -> Result<RequirementBlob, RequirementError> {
    let mut r = Reader { data, pos: 0 };
    let version = r.long().ok_or(RequirementError::BadVersion)?;
    if version > REQ_VERSION {
        return Err(RequirementError::Incompatible);
    }
    let name = r.string().ok_or(RequirementError::BadName)?;
    let os = if version >= 1 {
        Some(r.string().ok_or(RequirementError::BadOs)?)
    } else {
        None
    };
    // RedisGears reads the flag without checking it; a missing flag is caught by the next read.
    let in_dict = if version >= 2 {
        r.long().unwrap_or(1) != 0
    } else {
        true
    };
    let count = r.long().ok_or(RequirementError::BadWheelCount)?;
    // A negative count is a huge unsigned one in RedisGears: reading then fails.
    let count = u64::from_ne_bytes(count.to_ne_bytes());
    let mut wheels = Vec::new();
    let mut i = 0u64;
    while i < count {
        let file = r.string().ok_or(RequirementError::BadWheelName)?;
        let bytes = r.buffer().ok_or(RequirementError::BadWheelData)?;
        wheels.push((file, bytes.to_vec()));
        i += 1;
    }
    Ok(RequirementBlob {
        version,
        name,
        os,
        in_dict,
        wheels,
    })
}

// ---------------------------------------------------------------------------------------------
// Requirements.

/// What RG.PYDUMPREQS shows of one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementInfo {
    /// `Name`: the requirement string as given.
    pub name: String,
    /// `IsDownloaded`.
    pub downloaded: bool,
    /// `IsInstalled`.
    pub installed: bool,
    /// `Wheels` (None until downloaded).
    pub wheels: Option<Vec<String>>,
    /// `Path`: the requirement's directory.
    pub path: String,
    /// `RefCount`.
    pub ref_count: usize,
    /// `IsInReqDictionary`.
    pub in_dict: bool,
    /// The installed version of the requirement's own project, guessed from its wheel's name.
    pub version: Option<String>,
}

#[derive(Debug, Default)]
struct ReqState {
    downloaded: bool,
    installed: bool,
    wheels: Vec<String>,
}

/// One requirement object: a requirement string with its own directory.
pub struct Requirement {
    name: String,
    dir_name: String,
    path: PathBuf,
    reqs: Arc<Dir>,
    state: Mutex<ReqState>,
    /// Serialises downloads and installations of this requirement.
    work: Mutex<()>,
    in_dict: AtomicBool,
    refs: AtomicUsize,
}

impl std::fmt::Debug for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requirement")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for Requirement {
    fn drop(&mut self) {
        // Off the calling thread: the last reference may go away on the I/O thread.
        let reqs = self.reqs.clone();
        let dir = std::mem::take(&mut self.dir_name);
        let spawned = std::thread::Builder::new()
            .name("gears-reqs-rm".into())
            .spawn(move || {
                if let Err(e) = reqs.remove_dir_all(&dir)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(dir = %dir, error = %e, "could not remove requirement directory");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not remove requirement directory");
        }
    }
}

impl Requirement {
    /// The requirement string.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The requirement's directory (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory its packages are installed in (absolute).
    pub fn site_path(&self) -> PathBuf {
        self.path.join(SITE)
    }

    /// Whether its packages are installed.
    pub fn is_installed(&self) -> bool {
        self.state.lock().installed
    }

    /// RG.PYDUMPREQS's view.
    pub fn info(&self) -> RequirementInfo {
        let st = self.state.lock();
        RequirementInfo {
            name: self.name.clone(),
            downloaded: st.downloaded,
            installed: st.installed,
            wheels: st.downloaded.then(|| st.wheels.clone()),
            path: self.path.to_string_lossy().into_owned(),
            ref_count: self.refs.load(Ordering::SeqCst),
            in_dict: self.in_dict.load(Ordering::SeqCst),
            version: version_guess(&self.name, &st.wheels),
        }
    }

    fn dir(&self) -> std::io::Result<Dir> {
        self.reqs.open_dir(&self.dir_name)
    }
}

/// The project name a requirement string names (`redis` for `redis>=2,<=3`), PEP 503-normalised.
fn project_name(req: &str) -> String {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(req.len());
    normalise(&req[..end])
}

fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('_');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The version of the requirement's own project among `wheels` (`six-1.17.0-py2.py3-none-any.whl`
/// → `1.17.0`).
fn version_guess(req: &str, wheels: &[String]) -> Option<String> {
    let project = project_name(req);
    wheels.iter().find_map(|w| {
        let mut parts = w.strip_suffix(".whl")?.split('-');
        let dist = parts.next()?;
        let version = parts.next()?;
        (normalise(dist) == project).then(|| version.to_string())
    })
}

/// A holder's reference to a requirement (the dictionary or a session): counted in `RefCount`.
pub struct ReqRef {
    req: Arc<Requirement>,
    owner: Weak<Inner>,
}

impl std::fmt::Debug for ReqRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.req.fmt(f)
    }
}

impl ReqRef {
    fn new(req: Arc<Requirement>, owner: &Arc<Inner>) -> ReqRef {
        req.refs.fetch_add(1, Ordering::SeqCst);
        ReqRef {
            req,
            owner: Arc::downgrade(owner),
        }
    }

    /// The requirement.
    pub fn requirement(&self) -> &Requirement {
        &self.req
    }
}

impl Clone for ReqRef {
    fn clone(&self) -> ReqRef {
        self.req.refs.fetch_add(1, Ordering::SeqCst);
        ReqRef {
            req: self.req.clone(),
            owner: self.owner.clone(),
        }
    }
}

impl Drop for ReqRef {
    fn drop(&mut self) {
        if self.req.refs.fetch_sub(1, Ordering::SeqCst) == 1
            && let Some(owner) = self.owner.upgrade()
        {
            owner.released(&self.req);
        }
    }
}

/// The opened data directory.
struct Store {
    /// `<dir>/gears/reqs`.
    reqs: Arc<Dir>,
    /// Its absolute path.
    reqs_path: PathBuf,
}

#[derive(Default)]
struct Tables {
    /// The requirements dictionary, in insertion order.
    dict: IndexMap<String, ReqRef>,
    /// The active installation of each name, oldest first.
    venv: IndexMap<String, Arc<Requirement>>,
}

struct Inner {
    data_dir: OnceLock<PathBuf>,
    store: OnceLock<Result<Store, String>>,
    python: PathBuf,
    tables: Mutex<Tables>,
    /// Bumped whenever `venv` changes; the runtime's import path is refreshed when it moved.
    generation: AtomicU64,
    synced: Mutex<u64>,
}

impl Inner {
    /// The last holder of `req` let go.
    fn released(&self, req: &Arc<Requirement>) {
        if req.in_dict.load(Ordering::SeqCst) {
            return;
        }
        let mut t = self.tables.lock();
        let active = t.venv.get(&req.name).is_some_and(|a| Arc::ptr_eq(a, req));
        let fallback = t
            .dict
            .get(&req.name)
            .map(|d| d.req.clone())
            .filter(|d| d.is_installed());
        if active && let Some(d) = fallback {
            t.venv.shift_remove(&req.name);
            t.venv.insert(req.name.clone(), d);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Opens the data directory `dir` and creates `gears/reqs` in it. The only use of ambient
/// authority of the requirements feature: everything else goes through the returned handle.
fn open_data_dir(dir: &Path) -> std::io::Result<Store> {
    let data = Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
    let absolute = std::fs::canonicalize(dir)?;
    data.create_dir_all("gears/reqs")?;
    let reqs = data.open_dir("gears/reqs")?;
    Ok(Store {
        reqs: Arc::new(reqs),
        reqs_path: absolute.join("gears").join("reqs"),
    })
}

/// A requirement string as part of a directory name.
fn dir_stem(name: &str) -> String {
    name.chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '=' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

/// The outcome of preparing a session's requirements.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The session's requirements, in order.
    pub refs: Vec<ReqRef>,
    /// Whether something was installed (`requirementInstallationNeeded`).
    pub installed: bool,
}

/// The requirement manager of one engine.
pub struct Requirements {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Requirements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requirements").finish_non_exhaustive()
    }
}

impl Requirements {
    /// A manager that runs pip with `python`.
    pub fn new(python: PathBuf) -> Requirements {
        Requirements {
            inner: Arc::new(Inner {
                data_dir: OnceLock::new(),
                store: OnceLock::new(),
                python,
                tables: Mutex::new(Tables::default()),
                generation: AtomicU64::new(0),
                synced: Mutex::new(0),
            }),
        }
    }

    /// Sets the server's data directory (once; later calls are ignored). It is opened on first
    /// use.
    pub fn set_data_dir(&self, dir: impl Into<PathBuf>) {
        let _ = self.inner.data_dir.set(dir.into());
    }

    fn store(&self) -> Result<&Store, RequirementError> {
        let store = self.inner.store.get_or_init(|| {
            let dir = self
                .inner
                .data_dir
                .get()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            open_data_dir(&dir).map_err(|e| {
                tracing::warn!(dir = %dir.display(), error = %e, "could not open the requirements directory");
                e.to_string()
            })
        });
        store.as_ref().map_err(|_| RequirementError::Create)
    }

    /// The directory every requirement directory lives in, once opened.
    pub fn root(&self) -> Option<&Path> {
        match self.inner.store.get() {
            Some(Ok(s)) => Some(&s.reqs_path),
            _ => None,
        }
    }

    /// Creates a fresh requirement object (and its directory) for `name`.
    fn create(&self, name: &str) -> Result<Arc<Requirement>, RequirementError> {
        let store = self.store()?;
        let dir_name = format!("{}_{}", dir_stem(name), random_hex(10));
        store
            .reqs
            .create_dir_all(format!("{dir_name}/{WHEELS}"))
            .map_err(|e| {
                tracing::warn!(requirement = name, error = %e, "could not create requirement directory");
                RequirementError::Create
            })?;
        Ok(Arc::new(Requirement {
            name: name.to_string(),
            path: store.reqs_path.join(&dir_name),
            dir_name,
            reqs: store.reqs.clone(),
            state: Mutex::new(ReqState::default()),
            work: Mutex::new(()),
            in_dict: AtomicBool::new(false),
            refs: AtomicUsize::new(0),
        }))
    }

    /// Finds or creates the requirement objects of a session. Known requirements (in the
    /// dictionary, or installed by an earlier session) are reused unless `force`; the others get
    /// fresh directories. Returns the references and which of them still need installing.
    ///
    /// # Errors
    /// [`RequirementError::Create`] if a directory cannot be created.
    pub fn prepare(
        &self,
        names: &[String],
        force: bool,
    ) -> Result<(Vec<ReqRef>, Vec<ReqRef>), RequirementError> {
        let mut unique: Vec<&str> = Vec::new();
        for n in names {
            if !unique.contains(&n.as_str()) {
                unique.push(n);
            }
        }
        let known: Vec<Option<Arc<Requirement>>> = {
            let t = self.inner.tables.lock();
            unique
                .iter()
                .map(|n| {
                    if force {
                        return None;
                    }
                    t.dict
                        .get(*n)
                        .map(|r| r.req.clone())
                        .or_else(|| t.venv.get(*n).cloned())
                })
                .collect()
        };
        let mut refs = Vec::with_capacity(unique.len());
        let mut todo = Vec::new();
        for (name, known) in unique.iter().zip(known) {
            let req = match known {
                Some(r) => r,
                None => self.create(name)?,
            };
            let r = ReqRef::new(req, &self.inner);
            if !r.req.is_installed() {
                todo.push(r.clone());
            }
            refs.push(r);
        }
        Ok((refs, todo))
    }

    /// Downloads (`pip wheel`, up to 3 tries 1 s apart) and installs (`pip install --target`)
    /// every requirement of `reqs` that is not installed yet, then makes them the active
    /// installations of their names. Blocks the calling (script) thread for as long as pip runs.
    ///
    /// # Errors
    /// [`RequirementError::Download`] or [`RequirementError::Install`].
    pub fn install(&self, reqs: &[ReqRef]) -> Result<(), RequirementError> {
        for r in reqs {
            self.download(&r.req)?;
        }
        for r in reqs {
            self.install_one(&r.req)
                .map_err(|()| RequirementError::Install)?;
        }
        Ok(())
    }

    fn pip(&self, args: &[&std::ffi::OsStr], cwd: &Path) -> Result<(), String> {
        let out = Command::new(&self.inner.python)
            .args(["-m", "pip"])
            .args(args)
            .current_dir(cwd)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.inner.python.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        tracing::debug!(output = %stdout.trim_end(), "pip");
        if out.status.success() {
            return Ok(());
        }
        let tail: String = {
            let s = stderr.trim_end();
            let start = s.len().saturating_sub(4000);
            let start = (start..s.len())
                .find(|i| s.is_char_boundary(*i))
                .unwrap_or(s.len());
            s[start..].to_string()
        };
        Err(format!("pip exited with {}: {tail}", out.status))
    }

    fn download(&self, req: &Arc<Requirement>) -> Result<(), RequirementError> {
        let _work = req.work.lock();
        if req.state.lock().downloaded {
            return Ok(());
        }
        let wheels = req.path.join(WHEELS);
        let mut last = String::new();
        for attempt in 0..DOWNLOAD_TRIES {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            let args = [
                "wheel".as_ref(),
                "--wheel-dir".as_ref(),
                wheels.as_os_str(),
                "--".as_ref(),
                req.name.as_ref(),
            ];
            match self.pip(&args, &req.path) {
                Ok(()) => {
                    let files = list_wheels(req).map_err(|e| {
                        tracing::warn!(requirement = %req.name, error = %e, "could not list wheels");
                        RequirementError::Download
                    })?;
                    let mut st = req.state.lock();
                    st.wheels = files;
                    st.downloaded = true;
                    tracing::info!(requirement = %req.name, wheels = st.wheels.len(), "requirement downloaded");
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        tracing::warn!(requirement = %req.name, error = %last, "could not download requirement");
        Err(RequirementError::Download)
    }

    fn install_one(&self, req: &Arc<Requirement>) -> Result<(), ()> {
        let _work = req.work.lock();
        let wheels = {
            let st = req.state.lock();
            if st.installed {
                return Ok(());
            }
            st.wheels.clone()
        };
        if wheels.is_empty() {
            tracing::warn!(requirement = %req.name, "requirement has no wheels to install");
            return Err(());
        }
        let dir = req.dir().map_err(|e| {
            tracing::warn!(requirement = %req.name, error = %e, "could not open requirement directory");
        })?;
        if let Err(e) = dir.remove_dir_all(SITE)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(requirement = %req.name, error = %e, "could not clear installation directory");
            return Err(());
        }
        let wheel_dir = req.path.join(WHEELS);
        let site = req.path.join(SITE);
        let files: Vec<PathBuf> = wheels.iter().map(|w| wheel_dir.join(w)).collect();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "install".as_ref(),
            "--no-cache-dir".as_ref(),
            "--no-index".as_ref(),
            "--find-links".as_ref(),
            wheel_dir.as_os_str(),
            "--target".as_ref(),
            site.as_os_str(),
            "--".as_ref(),
        ];
        args.extend(files.iter().map(|f| f.as_os_str()));
        if let Err(e) = self.pip(&args, &req.path) {
            tracing::warn!(requirement = %req.name, error = %e, "could not install requirement");
            req.state.lock().installed = false;
            return Err(());
        }
        let version = {
            let mut st = req.state.lock();
            st.installed = true;
            version_guess(&req.name, &st.wheels)
        };
        tracing::info!(requirement = %req.name, version = version.as_deref().unwrap_or("?"), "requirement installed");
        let mut t = self.inner.tables.lock();
        t.venv.shift_remove(&req.name);
        t.venv.insert(req.name.clone(), req.clone());
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Puts a session's requirements in the dictionary (the session registered something or ran
    /// an execution); an entry of the same name is replaced.
    pub fn add_to_dict(&self, refs: &[ReqRef]) {
        let mut replaced = Vec::new();
        {
            let mut t = self.inner.tables.lock();
            for r in refs {
                if r.req.in_dict.swap(true, Ordering::SeqCst) {
                    continue;
                }
                if let Some(old) = t.dict.shift_remove(&r.req.name) {
                    old.req.in_dict.store(false, Ordering::SeqCst);
                    replaced.push(old);
                }
                t.dict.insert(r.req.name.clone(), r.clone());
            }
        }
        drop(replaced);
    }

    /// A session is being unlinked (upgraded or replaced): its requirements that only it and the
    /// dictionary hold leave the dictionary.
    pub fn unlink(&self, refs: &[ReqRef]) {
        let mut removed = Vec::new();
        {
            let mut t = self.inner.tables.lock();
            for r in refs {
                let own = t
                    .dict
                    .get(&r.req.name)
                    .is_some_and(|d| Arc::ptr_eq(&d.req, &r.req));
                if own && r.req.refs.load(Ordering::SeqCst) == 2 {
                    r.req.in_dict.store(false, Ordering::SeqCst);
                    if let Some(d) = t.dict.shift_remove(&r.req.name) {
                        removed.push(d);
                    }
                }
            }
        }
        drop(removed);
    }

    /// The dictionary's requirements (RG.PYDUMPREQS), in insertion order.
    pub fn dump(&self) -> Vec<RequirementInfo> {
        let reqs: Vec<Arc<Requirement>> = self
            .inner
            .tables
            .lock()
            .dict
            .values()
            .map(|r| r.req.clone())
            .collect();
        reqs.iter().map(|r| r.info()).collect()
    }

    /// RG.PYEXPORTREQ: the metadata and the serialised requirement.
    ///
    /// # Errors
    /// Unknown name, not downloaded, or unreadable wheels.
    pub fn export(&self, name: &str) -> Result<(RequirementInfo, Vec<u8>), RequirementError> {
        let req = self
            .inner
            .tables
            .lock()
            .dict
            .get(name)
            .cloned()
            .ok_or(RequirementError::NoSuch)?;
        let (downloaded, wheels) = {
            let st = req.req.state.lock();
            (st.downloaded, st.wheels.clone())
        };
        if !downloaded {
            return Err(RequirementError::NotDownloaded);
        }
        let dir = req.req.dir().ok();
        let mut files = Vec::with_capacity(wheels.len());
        for w in wheels {
            let shown = req.req.path.join(WHEELS).join(&w).display().to_string();
            let mut f = dir
                .as_ref()
                .and_then(|d| d.open(format!("{WHEELS}/{w}")).ok())
                .ok_or_else(|| {
                    tracing::warn!(file = %shown, "could not open wheel");
                    RequirementError::OpenWheel(shown.clone())
                })?;
            let mut data = Vec::new();
            f.read_to_end(&mut data).map_err(|e| {
                tracing::warn!(file = %shown, error = %e, "could not read wheel");
                RequirementError::ReadWheel(shown.clone())
            })?;
            files.push((w, data));
        }
        let blob = encode_blob(
            &req.req.name,
            compiled_os(),
            req.req.in_dict.load(Ordering::SeqCst),
            &files,
        );
        let info = req.req.info();
        // `info` counts the reference this export holds, as RedisGears's does.
        Ok((info, blob))
    }

    /// RG.PYIMPORTREQ: stores the blob's wheels (unless the requirement is already downloaded)
    /// and installs them.
    ///
    /// # Errors
    /// Failure to write the wheels or to install them.
    pub fn import(&self, blob: &RequirementBlob) -> Result<(), RequirementError> {
        let existing = if blob.in_dict {
            self.inner.tables.lock().dict.get(&blob.name).cloned()
        } else {
            None
        };
        let req = match existing {
            Some(r) => r,
            None => {
                let r = ReqRef::new(self.create(&blob.name)?, &self.inner);
                if blob.in_dict {
                    self.add_to_dict(std::slice::from_ref(&r));
                }
                r
            }
        };
        {
            let _work = req.req.work.lock();
            if !req.req.state.lock().downloaded {
                let dir = req.req.dir().map_err(|_| RequirementError::WriteOpen)?;
                let mut names = Vec::with_capacity(blob.wheels.len());
                for (file, data) in &blob.wheels {
                    if file.is_empty() || file == "." || file == ".." || file.contains('/') {
                        return Err(RequirementError::WriteOpen);
                    }
                    let mut f = dir
                        .create(format!("{WHEELS}/{file}"))
                        .map_err(|_| RequirementError::WriteOpen)?;
                    f.write_all(data).map_err(|_| RequirementError::Write)?;
                    names.push(file.clone());
                }
                let mut st = req.req.state.lock();
                st.wheels = names;
                st.downloaded = true;
            }
        }
        self.install_one(&req.req)
            .map_err(|()| RequirementError::ImportInstall)
    }

    /// Refreshes `runtime`'s import path if installations changed since the last call.
    ///
    /// # Errors
    /// The runtime's error text.
    pub fn sync_runtime(&self, runtime: &dyn Runtime) -> Result<(), String> {
        let mut synced = self.inner.synced.lock();
        let generation = self.inner.generation.load(Ordering::SeqCst);
        if *synced == generation {
            return Ok(());
        }
        let Some(root) = self.root() else {
            return Ok(());
        };
        let dirs: Vec<PathBuf> = self
            .inner
            .tables
            .lock()
            .venv
            .values()
            .rev()
            .map(|r| r.site_path())
            .collect();
        runtime.set_package_dirs(root, &dirs)?;
        *synced = generation;
        Ok(())
    }
}

fn list_wheels(req: &Requirement) -> std::io::Result<Vec<String>> {
    let dir = req.dir()?.open_dir(WHEELS)?;
    let mut out = Vec::new();
    for entry in dir.entries()? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The engine's requirement API.

impl Engine {
    /// Sets the server's data directory (the `dir` setting); requirements live below it.
    pub fn set_data_dir(&self, dir: &str) {
        self.requirements.set_data_dir(dir);
    }

    /// Installs what an RG.PYEXECUTE needs before its script runs (on the script's thread), makes
    /// the packages importable and, when something was installed, resets the module cache.
    pub(super) fn prepare_requirements(
        &self,
        runtime: &dyn Runtime,
        req: &ExecuteRequest,
    ) -> Result<Prepared, String> {
        if req.requirements.is_empty() {
            // Installations may have changed since the last script (an import, a released
            // forced upgrade): keep the import path in step.
            self.requirements.sync_runtime(runtime)?;
            return Ok(Prepared::default());
        }
        let (refs, todo) = self
            .requirements
            .prepare(&req.requirements, req.force_reinstall)
            .map_err(|e| e.to_string())?;
        let installed = !todo.is_empty();
        if installed {
            self.requirements
                .install(&todo)
                .map_err(|e| e.to_string())?;
        }
        drop(todo);
        self.requirements.sync_runtime(runtime)?;
        if installed {
            runtime.reset_modules()?;
        }
        Ok(Prepared { refs, installed })
    }

    /// A session registered something or runs an execution: its requirements enter the
    /// dictionary, after those only the session it replaces held left it (RedisGears unlinks
    /// the old session first).
    pub(super) fn requirements_registered(
        &self,
        session: &super::Session,
        replaced: Option<&super::Session>,
    ) {
        if let Some(old) = replaced {
            self.requirements.unlink(&old.requirement_refs);
        }
        self.requirements.add_to_dict(&session.requirement_refs);
    }

    /// RG.PYDUMPREQS.
    pub fn dump_requirements(&self) -> Vec<RequirementInfo> {
        self.requirements.dump()
    }

    /// RG.PYEXPORTREQ on a thread of its own (it reads the wheel files).
    pub fn export_requirement(
        self: &Arc<Self>,
        name: String,
        reply: Reply<Result<(RequirementInfo, Bytes), String>>,
    ) {
        let engine = self.clone();
        background(reply, move || engine.export_requirement_now(&name));
    }

    /// RG.PYEXPORTREQ on the calling thread.
    ///
    /// # Errors
    /// RedisGears's error text.
    pub fn export_requirement_now(&self, name: &str) -> Result<(RequirementInfo, Bytes), String> {
        self.requirements
            .export(name)
            .map(|(info, blob)| (info, Bytes::from(blob)))
            .map_err(|e| e.to_string())
    }

    /// RG.PYIMPORTREQ: writes and installs the requirement on a thread of its own (pip may run
    /// for a while), then makes it importable.
    pub fn import_requirement(
        self: &Arc<Self>,
        blob: RequirementBlob,
        reply: Reply<Result<(), String>>,
    ) {
        let engine = self.clone();
        background(reply, move || {
            engine
                .requirements
                .import(&blob)
                .map_err(|e| e.to_string())?;
            if let Ok(rt) = engine.python()
                && let Err(e) = engine.requirements.sync_runtime(&*rt)
            {
                tracing::warn!(error = %e, "could not update the python import path");
                return Err(RequirementError::ImportInstall.to_string());
            }
            Ok(())
        });
    }
}

/// Runs `work` on a new thread and hands its result to `reply`.
fn background<T: Send + 'static>(
    reply: Reply<Result<T, String>>,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) {
    let reply = Arc::new(Mutex::new(Some(reply)));
    let fallback = reply.clone();
    let spawned = std::thread::Builder::new()
        .name("gears-reqs".into())
        .spawn(move || {
            let r = work();
            if let Some(f) = reply.lock().take() {
                f(r);
            }
        });
    if spawned.is_err()
        && let Some(f) = fallback.lock().take()
    {
        f(Err("could not start a thread".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode_blob(
            "six==1.16.0",
            "linux-x64",
            true,
            &[
                (
                    "six-1.16.0-py2.py3-none-any.whl".into(),
                    b"PK\x03\x04data".to_vec(),
                ),
                ("dep-1.0-py3-none-any.whl".into(), Vec::new()),
            ],
        )
    }

    #[test]
    fn blob_layout_matches_gears_buffer_format() {
        let b = encode_blob("ab", "os", true, &[("w".into(), b"xyz".to_vec())]);
        let mut expected = Vec::new();
        expected.extend_from_slice(&2i64.to_ne_bytes());
        expected.extend_from_slice(&3i64.to_ne_bytes());
        expected.extend_from_slice(b"ab\0");
        expected.extend_from_slice(&3i64.to_ne_bytes());
        expected.extend_from_slice(b"os\0");
        expected.extend_from_slice(&1i64.to_ne_bytes());
        expected.extend_from_slice(&1i64.to_ne_bytes());
        expected.extend_from_slice(&2i64.to_ne_bytes());
        expected.extend_from_slice(b"w\0");
        expected.extend_from_slice(&3i64.to_ne_bytes());
        expected.extend_from_slice(b"xyz");
        assert_eq!(b, expected);
    }

    #[test]
    fn blob_round_trips() {
        let d = decode_blob(&sample()).expect("decodes");
        assert_eq!(d.version, 2);
        assert_eq!(d.name, "six==1.16.0");
        assert_eq!(d.os.as_deref(), Some("linux-x64"));
        assert!(d.in_dict);
        assert_eq!(d.wheels.len(), 2);
        assert_eq!(d.wheels[0].1, b"PK\x03\x04data");
        assert!(d.wheels[1].1.is_empty());
    }

    #[test]
    fn every_strict_prefix_fails_with_the_field_it_stops_in() {
        let blob = sample();
        for i in 0..blob.len() {
            assert!(
                decode_blob(&blob[..i]).is_err(),
                "prefix of {i} bytes decoded"
            );
        }
        assert_eq!(decode_blob(&[]), Err(RequirementError::BadVersion));
        assert_eq!(decode_blob(&blob[..8]), Err(RequirementError::BadName));
        assert_eq!(
            decode_blob(&blob[..8 + 8 + 12]),
            Err(RequirementError::BadOs)
        );
        assert_eq!(
            decode_blob(&blob[..8 + 20 + 18 + 8]),
            Err(RequirementError::BadWheelCount)
        );
        assert_eq!(
            decode_blob(&blob[..8 + 20 + 18 + 16]),
            Err(RequirementError::BadWheelName)
        );
        assert_eq!(
            decode_blob(&blob[..8 + 20 + 18 + 16 + 8 + 32]),
            Err(RequirementError::BadWheelData)
        );
    }

    #[test]
    fn versions_zero_to_two_decode_and_newer_ones_are_rejected() {
        let mut v0 = 0i64.to_ne_bytes().to_vec();
        v0.extend_from_slice(&2i64.to_ne_bytes());
        v0.extend_from_slice(b"x\0");
        v0.extend_from_slice(&0i64.to_ne_bytes());
        let d = decode_blob(&v0).expect("v0");
        assert_eq!((d.name.as_str(), d.os, d.in_dict), ("x", None, true));
        let mut v3 = sample();
        v3[..8].copy_from_slice(&3i64.to_ne_bytes());
        assert_eq!(decode_blob(&v3), Err(RequirementError::Incompatible));
        let mut not_in_dict = sample();
        let flag = 8 + 20 + 18;
        not_in_dict[flag..flag + 8].copy_from_slice(&0i64.to_ne_bytes());
        assert!(!decode_blob(&not_in_dict).expect("decodes").in_dict);
        let mut negative = sample();
        negative[flag + 8..flag + 16].copy_from_slice(&(-1i64).to_ne_bytes());
        assert_eq!(decode_blob(&negative), Err(RequirementError::BadWheelName));
    }

    #[test]
    fn version_is_guessed_from_the_projects_wheel() {
        let wheels = vec![
            "async_timeout-4.0.2-py3-none-any.whl".to_string(),
            "redis-4.3.1-py3-none-any.whl".to_string(),
        ];
        assert_eq!(
            version_guess("redis==4.3.1", &wheels).as_deref(),
            Some("4.3.1")
        );
        assert_eq!(
            version_guess("Async-Timeout", &wheels).as_deref(),
            Some("4.0.2")
        );
        assert_eq!(
            version_guess("redis>=2,<=3", &wheels).as_deref(),
            Some("4.3.1")
        );
        assert_eq!(version_guess("other", &wheels), None);
        assert_eq!(dir_stem("redis>=2,<=3"), "redis_=2__=3");
        assert_eq!(dir_stem("git+https://x/y.git"), "git+https___x_y.git");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "gears-reqs-test-{tag}-{}-{}",
            std::process::id(),
            random_hex(6)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        p
    }

    #[test]
    fn dictionary_holders_and_directories_follow_redisgears_lifetimes() {
        let data = temp_dir("life");
        let m = Requirements::new(PathBuf::from("python3"));
        m.set_data_dir(&data);
        let (refs, todo) = m
            .prepare(&["a".into(), "a".into()], false)
            .expect("prepare");
        assert_eq!((refs.len(), todo.len()), (1, 1));
        drop(todo);
        let path = refs[0].requirement().path().to_path_buf();
        assert!(path.starts_with(data.canonicalize().expect("canonical")));
        assert!(path.join(WHEELS).is_dir());
        assert_eq!(refs[0].requirement().info().ref_count, 1);
        // Not installed and not in the dictionary: nothing keeps it.
        assert!(m.dump().is_empty());
        m.add_to_dict(&refs);
        let info = &m.dump()[0];
        assert_eq!(
            (info.ref_count, info.in_dict, info.installed),
            (2, true, false)
        );
        assert_eq!(info.wheels, None);
        // A second session reuses the dictionary's object.
        let (again, _) = m.prepare(&["a".into()], false).expect("prepare");
        assert_eq!(again[0].requirement().path(), path);
        assert_eq!(m.dump()[0].ref_count, 3);
        // Unlinking a session that is not the only user keeps the entry.
        m.unlink(&refs);
        assert_eq!(m.dump().len(), 1);
        drop(again);
        m.unlink(&refs);
        assert!(m.dump().is_empty());
        assert_eq!(refs[0].requirement().info().ref_count, 1);
        drop(refs);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!path.exists(), "directory removed with its last holder");
        let _ = std::fs::remove_dir_all(&data);
    }

    #[test]
    fn force_creates_a_new_object_that_replaces_the_dictionary_entry() {
        let data = temp_dir("force");
        let m = Requirements::new(PathBuf::from("python3"));
        m.set_data_dir(&data);
        let (first, _) = m.prepare(&["a".into()], false).expect("prepare");
        m.add_to_dict(&first);
        let (forced, todo) = m.prepare(&["a".into()], true).expect("prepare");
        assert_eq!(todo.len(), 1);
        assert_ne!(
            forced[0].requirement().path(),
            first[0].requirement().path()
        );
        m.add_to_dict(&forced);
        let dump = m.dump();
        assert_eq!(dump.len(), 1);
        assert_eq!(
            dump[0].path,
            forced[0].requirement().path().to_string_lossy()
        );
        assert!(!first[0].requirement().info().in_dict);
        let _ = std::fs::remove_dir_all(&data);
    }

    #[test]
    fn import_writes_wheels_and_export_reads_them_back() {
        let data = temp_dir("import");
        // `false` always fails: the installation step fails after the wheels are written.
        let m = Requirements::new(PathBuf::from("false"));
        m.set_data_dir(&data);
        let blob = decode_blob(&sample()).expect("decodes");
        assert_eq!(m.import(&blob), Err(RequirementError::ImportInstall));
        let dump = m.dump();
        assert_eq!(dump.len(), 1);
        assert!(dump[0].downloaded && !dump[0].installed && dump[0].in_dict);
        assert_eq!(
            dump[0].wheels.as_deref(),
            Some(
                &[
                    "six-1.16.0-py2.py3-none-any.whl".to_string(),
                    "dep-1.0-py3-none-any.whl".to_string()
                ][..]
            )
        );
        let (info, out) = m.export("six==1.16.0").expect("exports");
        assert_eq!(info.name, "six==1.16.0");
        let back = decode_blob(&out).expect("decodes");
        assert_eq!(back.wheels, blob.wheels);
        assert_eq!(back.os.as_deref(), Some(compiled_os()));
        assert_eq!(m.export("nope"), Err(RequirementError::NoSuch));
        let mut bad = blob.clone();
        bad.name = "other".into();
        bad.wheels = vec![("../escape.whl".into(), Vec::new())];
        assert_eq!(m.import(&bad), Err(RequirementError::WriteOpen));
        let _ = std::fs::remove_dir_all(&data);
    }

    #[test]
    fn an_unusable_data_directory_is_a_creation_error() {
        let m = Requirements::new(PathBuf::from("python3"));
        m.set_data_dir("/nonexistent/gears-host/data");
        assert_eq!(
            m.prepare(&["a".into()], false).map(|_| ()),
            Err(RequirementError::Create)
        );
    }
}
