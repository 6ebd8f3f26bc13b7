//! RG.PYEXECUTE REQUIREMENTS, RG.PYDUMPREQS, RG.PYEXPORTREQ and RG.PYIMPORTREQ against
//! in-process servers, each with its own data directory.
//!
//! Tests that install packages need PyPI (`six` is downloaded with pip): without it they fail,
//! they do not skip. The embedded interpreter, its `sys.path` and `sys.modules` are shared by
//! every in-process server of this binary, so the tests that install packages take
//! [`PIP_LOCK`] and scripts that check a version drop `six` from the module cache first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gears_tests::{TestServer, eventually};
use redis::Value;

type Conn = redis::aio::MultiplexedConnection;

const SIX: &str = "six==1.16.0";
const SIX_WHEEL: &str = "six-1.16.0-py2.py3-none-any.whl";
const SIX_OLD: &str = "six==1.15.0";

/// Serialises the tests that install packages (they share one interpreter).
static PIP_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A data directory removed at the end of the test.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> anyhow::Result<DataDir> {
        let p = std::env::temp_dir().join(format!(
            "gears-reqs-e2e-{tag}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(DataDir(p.canonicalize()?))
    }

    fn reqs(&self) -> PathBuf {
        self.0.join("gears").join("reqs")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:08x}")
}

async fn server(tag: &str) -> anyhow::Result<(TestServer, Conn, DataDir)> {
    let dir = DataDir::new(tag)?;
    let path = dir.0.to_string_lossy().into_owned();
    let srv = TestServer::start_with(&[("dir", path.as_str())]).await?;
    let mut c = srv.client().await?;
    // pip runs while the client waits.
    c.set_response_timeout(Duration::from_secs(300));
    Ok((srv, c, dir))
}

async fn q(c: &mut Conn, args: &[&[u8]]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap_or("PING"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await
}

async fn ok(c: &mut Conn, args: &[&str]) -> anyhow::Result<Value> {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    q(c, &raw)
        .await
        .map_err(|e| anyhow::anyhow!("{args:?} failed: {}", err_text(&e)))
}

fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

async fn expect_err(c: &mut Conn, args: &[&[u8]]) -> anyhow::Result<String> {
    match q(c, args).await {
        Ok(v) => anyhow::bail!(
            "{:?} succeeded with {v:?}",
            String::from_utf8_lossy(args[0])
        ),
        Err(e) => Ok(err_text(&e)),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

fn arr(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        _ => &[],
    }
}

/// An 18-element requirement entry as `(field, value)` pairs, checking the field order.
fn meta(v: &Value) -> Vec<(String, Value)> {
    let items = arr(v);
    assert_eq!(items.len(), 18, "requirement entry: {v:?}");
    let pairs: Vec<(String, Value)> = items
        .chunks(2)
        .map(|p| (text(&p[0]), p[1].clone()))
        .collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "GearReqVersion",
            "Name",
            "IsDownloaded",
            "IsInstalled",
            "CompiledOs",
            "Wheels",
            "Path",
            "RefCount",
            "IsInReqDictionary"
        ]
    );
    pairs
}

fn field<'a>(m: &'a [(String, Value)], k: &str) -> &'a Value {
    &m.iter()
        .find(|(n, _)| n == k)
        .unwrap_or_else(|| panic!("no field {k}"))
        .1
}

async fn dump_reqs(c: &mut Conn) -> anyhow::Result<Vec<Vec<(String, Value)>>> {
    let v = ok(c, &["RG.PYDUMPREQS"]).await?;
    Ok(arr(&v).iter().map(meta).collect())
}

/// The session entry's `(field, value)` pairs.
async fn session(c: &mut Conn, id: &str, verbose: bool) -> anyhow::Result<Vec<(String, Value)>> {
    let mut args = vec!["RG.PYDUMPSESSIONS"];
    if verbose {
        args.push("VERBOSE");
    }
    args.extend(["SESSIONS", id]);
    let v = ok(c, &args).await?;
    let entry = arr(&v).first().cloned().unwrap_or(Value::Nil);
    let items = arr(&entry);
    assert_eq!(items.len(), 16, "session entry: {entry:?}");
    Ok(items
        .chunks(2)
        .map(|p| (text(&p[0]), p[1].clone()))
        .collect())
}

/// Runs a script whose single result is a string and returns it.
async fn run_one(c: &mut Conn, args: &[&str]) -> anyhow::Result<String> {
    let v = ok(c, args).await?;
    let parts = arr(&v);
    anyhow::ensure!(parts.len() == 2, "not [results, errors]: {v:?}");
    anyhow::ensure!(arr(&parts[1]).is_empty(), "errors: {v:?}");
    let results = arr(&parts[0]);
    anyhow::ensure!(results.len() == 1, "results: {v:?}");
    Ok(text(&results[0]))
}

const VERSION_SCRIPT: &str = "import sys\nsys.modules.pop('six', None)\nimport six\n\
     GB('ShardsIDReader').map(lambda x: six.__version__ + '|' + six.__file__).run()";

fn registration_script(trigger: &str) -> String {
    format!(
        "import six\nGB('CommandReader').map(lambda x: '%s|%s|%s' % (six.__version__, id(six), six.__file__)).register(trigger='{trigger}')"
    )
}

async fn trigger(c: &mut Conn, name: &str) -> anyhow::Result<Vec<String>> {
    let v = ok(c, &["RG.TRIGGER", name]).await?;
    let first = arr(&v)
        .first()
        .map(text)
        .ok_or_else(|| anyhow::anyhow!("no trigger result: {v:?}"))?;
    Ok(first.split('|').map(String::from).collect())
}

fn path_of(m: &[(String, Value)]) -> String {
    text(field(m, "Path"))
}

#[tokio::test]
async fn pyexecute_requirements_installs_from_pypi_and_imports() -> anyhow::Result<()> {
    let _pip = PIP_LOCK.lock().await;
    let (_srv, mut c, dir) = server("install").await?;
    let out = run_one(
        &mut c,
        &["RG.PYEXECUTE", VERSION_SCRIPT, "REQUIREMENTS", SIX],
    )
    .await
    .map_err(|e| anyhow::anyhow!("installing {SIX} needs PyPI: {e}"))?;
    let (version, file) = out.split_once('|').unwrap_or_default();
    assert_eq!(version, "1.16.0", "{out}");
    let reqs = dir.reqs();
    assert!(
        file.starts_with(&*reqs.to_string_lossy()) && file.ends_with("/site/six.py"),
        "six imported from {file}"
    );
    // A run() puts the requirement in the dictionary; the session is gone, the dictionary holds it.
    let all = dump_reqs(&mut c).await?;
    assert_eq!(all.len(), 1);
    let m = &all[0];
    assert_eq!(field(m, "GearReqVersion"), &Value::Int(2));
    assert_eq!(text(field(m, "Name")), SIX);
    assert_eq!(text(field(m, "IsDownloaded")), "yes");
    assert_eq!(text(field(m, "IsInstalled")), "yes");
    assert!(text(field(m, "CompiledOs")).starts_with("linux-"));
    assert_eq!(
        arr(field(m, "Wheels")).iter().map(text).collect::<Vec<_>>(),
        [SIX_WHEEL]
    );
    let path = path_of(m);
    let stem = format!("{}/{SIX}_", reqs.display());
    assert!(path.starts_with(&stem), "{path}");
    let suffix = &path[stem.len()..];
    assert!(
        suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{path}"
    );
    assert!(Path::new(&path).join("wheels").join(SIX_WHEEL).is_file());
    assert!(Path::new(&path).join("site").join("six.py").is_file());
    assert_eq!(text(field(m, "IsInReqDictionary")), "yes");
    // The run's session lets go of it right after the reply: then only the dictionary holds it.
    eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            dump_reqs(&mut c)
                .await
                .is_ok_and(|d| d.len() == 1 && field(&d[0], "RefCount") == &Value::Int(1))
        }
    })
    .await?;
    // A session that neither registers nor runs does not enter the dictionary.
    let (_srv2, mut c2, _dir2) = server("plain").await?;
    let r = ok(
        &mut c2,
        &["RG.PYEXECUTE", "import six", "REQUIREMENTS", SIX],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    assert!(dump_reqs(&mut c2).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn pydumpsessions_second_session_reuses_installed_requirement() -> anyhow::Result<()> {
    let _pip = PIP_LOCK.lock().await;
    let (_srv, mut c, _dir) = server("reuse").await?;
    let r = ok(
        &mut c,
        &[
            "RG.PYEXECUTE",
            &registration_script("t1"),
            "ID",
            "s1",
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay, "registering with {SIX} needs PyPI");
    let s1 = session(&mut c, "s1", false).await?;
    assert_eq!(field(&s1, "requirementInstallationNeeded"), &Value::Int(1));
    assert_eq!(
        arr(field(&s1, "requirements"))
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        [SIX]
    );
    let first = dump_reqs(&mut c).await?;
    assert_eq!(first.len(), 1);
    assert_eq!(field(&first[0], "RefCount"), &Value::Int(2));
    let r = ok(
        &mut c,
        &[
            "RG.PYEXECUTE",
            &registration_script("t2"),
            "ID",
            "s2",
            "DESCRIPTION",
            "second",
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    let s2 = session(&mut c, "s2", false).await?;
    assert_eq!(field(&s2, "requirementInstallationNeeded"), &Value::Int(0));
    let again = dump_reqs(&mut c).await?;
    assert_eq!(again.len(), 1);
    assert_eq!(
        path_of(&again[0]),
        path_of(&first[0]),
        "reused, not reinstalled"
    );
    assert_eq!(text(field(&again[0], "IsInstalled")), "yes");
    assert_eq!(field(&again[0], "RefCount"), &Value::Int(3));
    // VERBOSE shows each requirement's RG.PYDUMPREQS entry.
    let verbose = session(&mut c, "s2", true).await?;
    let reqs = arr(field(&verbose, "requirements"));
    assert_eq!(reqs.len(), 1);
    let m = meta(&reqs[0]);
    assert_eq!(text(field(&m, "Name")), SIX);
    assert_eq!(path_of(&m), path_of(&first[0]));
    assert_eq!(trigger(&mut c, "t2").await?[0], "1.16.0");
    // The PD string lists the requirement.
    let regs = ok(&mut c, &["RG.DUMPREGISTRATIONS"]).await?;
    let pd = arr(&regs)
        .iter()
        .map(|r| arr(r).get(9).map(text).unwrap_or_default())
        .find(|pd| pd.contains("'sessionName':'s2'"))
        .unwrap_or_default();
    assert!(
        pd.contains(&format!(
            "'depsList':[{{'name':'{SIX}', 'basePath':'{}', 'wheels':['{SIX_WHEEL}']}}]",
            path_of(&first[0])
        )),
        "{pd}"
    );
    Ok(())
}

#[tokio::test]
async fn force_reinstall_requirements_installs_a_fresh_copy() -> anyhow::Result<()> {
    let _pip = PIP_LOCK.lock().await;
    let (_srv, mut c, _dir) = server("force").await?;
    let script = registration_script("t");
    let r = ok(
        &mut c,
        &["RG.PYEXECUTE", &script, "ID", "s", "REQUIREMENTS", SIX],
    )
    .await?;
    assert_eq!(r, Value::Okay, "registering with {SIX} needs PyPI");
    let path1 = path_of(&dump_reqs(&mut c).await?[0]);
    let id1 = trigger(&mut c, "t").await?[1].clone();
    // UPGRADE with the same requirement keeps the installation.
    let r = ok(
        &mut c,
        &[
            "RG.PYEXECUTE",
            &script,
            "ID",
            "s",
            "UPGRADE",
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    let reqs = dump_reqs(&mut c).await?;
    assert_eq!(reqs.len(), 1);
    assert_eq!(path_of(&reqs[0]), path1);
    assert_eq!(
        field(
            &session(&mut c, "s", false).await?,
            "requirementInstallationNeeded"
        ),
        &Value::Int(0)
    );
    // FORCE_REINSTALL_REQUIREMENTS installs a new copy, imported afresh.
    let r = ok(
        &mut c,
        &[
            "RG.PYEXECUTE",
            &script,
            "ID",
            "s",
            "UPGRADE",
            "FORCE_REINSTALL_REQUIREMENTS",
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    let reqs = dump_reqs(&mut c).await?;
    assert_eq!(reqs.len(), 1);
    let path2 = path_of(&reqs[0]);
    assert_ne!(path2, path1);
    assert_eq!(
        field(
            &session(&mut c, "s", false).await?,
            "requirementInstallationNeeded"
        ),
        &Value::Int(1)
    );
    let after = trigger(&mut c, "t").await?;
    assert_ne!(after[1], id1, "module re-imported after reinstall");
    assert!(after[2].starts_with(&path2), "{after:?}");
    eventually(Duration::from_secs(10), || {
        let gone = !Path::new(&path1).exists();
        async move { gone }
    })
    .await?;
    // A failing forced upgrade keeps the old installation.
    let e = expect_err(
        &mut c,
        &[
            b"RG.PYEXECUTE",
            b"import six_missing\nGB('CommandReader').register(trigger='t')",
            b"ID",
            b"s",
            b"UPGRADE",
            b"FORCE_REINSTALL_REQUIREMENTS",
            b"REQUIREMENTS",
            SIX.as_bytes(),
        ],
    )
    .await?;
    assert!(e.contains("No module named 'six_missing'"), "{e}");
    let reqs = dump_reqs(&mut c).await?;
    assert_eq!(reqs.len(), 1);
    assert_eq!(path_of(&reqs[0]), path2);
    assert_eq!(trigger(&mut c, "t").await?[2], after[2]);
    // Upgrading to another requirement replaces the dictionary entry.
    let r = ok(
        &mut c,
        &[
            "RG.PYEXECUTE",
            &script,
            "ID",
            "s",
            "UPGRADE",
            "REQUIREMENTS",
            SIX_OLD,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    let reqs = dump_reqs(&mut c).await?;
    assert_eq!(reqs.len(), 1);
    assert_eq!(text(field(&reqs[0], "Name")), SIX_OLD);
    assert_eq!(trigger(&mut c, "t").await?[0], "1.15.0");
    Ok(())
}

#[tokio::test]
async fn requirements_unknown_package_is_an_error() -> anyhow::Result<()> {
    let _pip = PIP_LOCK.lock().await;
    let (_srv, mut c, dir) = server("unknown").await?;
    let name = format!("gears-host-no-such-package-{}", rand_suffix());
    let e = expect_err(
        &mut c,
        &[
            b"RG.PYEXECUTE",
            b"GB('CommandReader').register(trigger='x')",
            b"ID",
            b"bad",
            b"REQUIREMENTS",
            name.as_bytes(),
        ],
    )
    .await?;
    assert_eq!(
        e,
        "Could not satisfy requirements (look at redis log file for more information)"
    );
    assert!(dump_reqs(&mut c).await?.is_empty());
    assert_eq!(
        ok(&mut c, &["RG.PYDUMPSESSIONS"]).await?,
        Value::Array(vec![])
    );
    let reqs = dir.reqs();
    eventually(Duration::from_secs(10), || {
        let empty = std::fs::read_dir(&reqs)
            .map(|d| d.count() == 0)
            .unwrap_or(false);
        async move { empty }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn requirements_unusable_data_dir_is_a_creation_error() -> anyhow::Result<()> {
    let srv = TestServer::start_with(&[("dir", "/nonexistent/gears-host-e2e")]).await?;
    let mut c = srv.client().await?;
    let e = expect_err(
        &mut c,
        &[b"RG.PYEXECUTE", b"GB().run()", b"REQUIREMENTS", b"six"],
    )
    .await?;
    assert_eq!(
        e,
        "Could not satisfy requirements, look at the log file for more information."
    );
    // Without requirements nothing touches the directory.
    let v = ok(&mut c, &["RG.PYEXECUTE", "GB().run()", "REQUIREMENTS"]).await?;
    assert_eq!(arr(&v).len(), 2);
    Ok(())
}

#[tokio::test]
async fn pyexportreq_blob_imports_into_a_fresh_server() -> anyhow::Result<()> {
    let _pip = PIP_LOCK.lock().await;
    let (_a, mut ca, _da) = server("export").await?;
    let r = ok(
        &mut ca,
        &[
            "RG.PYEXECUTE",
            &registration_script("t"),
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay, "registering with {SIX} needs PyPI");
    let exported = ok(&mut ca, &["RG.PYEXPORTREQ", SIX]).await?;
    let parts = arr(&exported);
    assert_eq!(parts.len(), 2);
    let m = meta(&parts[0]);
    assert_eq!(text(field(&m, "Name")), SIX);
    assert_eq!(text(field(&m, "IsDownloaded")), "yes");
    let chunks: Vec<Vec<u8>> = arr(&parts[1])
        .iter()
        .map(|v| match v {
            Value::BulkString(b) => b.clone(),
            other => panic!("chunk {other:?}"),
        })
        .collect();
    assert_eq!(chunks.len(), 1, "a small requirement fits one 10 MiB chunk");
    let blob = chunks.concat();
    // version 2, then the name as a NUL-terminated string.
    assert_eq!(blob[..8], 2i64.to_ne_bytes());
    assert_eq!(blob[8..16], ((SIX.len() + 1) as i64).to_ne_bytes());
    assert_eq!(&blob[16..16 + SIX.len()], SIX.as_bytes());

    let (_b, mut cb, db) = server("import").await?;
    assert!(dump_reqs(&mut cb).await?.is_empty());
    // Every strict prefix is an error (a sample of them: the blob is ~10 KB).
    let step = (blob.len() / 40).max(1);
    for i in (0..blob.len())
        .step_by(step)
        .chain([1, 7, 8, 9, blob.len() - 1])
    {
        let e = expect_err(&mut cb, &[b"RG.PYIMPORTREQ", &blob[..i]]).await?;
        assert!(e.starts_with("Bad serialization format"), "prefix {i}: {e}");
    }
    assert!(dump_reqs(&mut cb).await?.is_empty());
    // Chunks are concatenated at any boundary.
    let (x, rest) = blob.split_at(5);
    let (y, z) = rest.split_at(rest.len() / 2);
    let r = q(&mut cb, &[b"RG.PYIMPORTREQ", x, y, z]).await;
    assert_eq!(
        r.map_err(|e| anyhow::anyhow!(err_text(&e)))?,
        Value::BulkString(b"OK".to_vec()),
        "import installs offline from the blob's wheels"
    );
    let reqs = dump_reqs(&mut cb).await?;
    assert_eq!(reqs.len(), 1);
    assert_eq!(text(field(&reqs[0], "IsDownloaded")), "yes");
    assert_eq!(text(field(&reqs[0], "IsInstalled")), "yes");
    assert_eq!(text(field(&reqs[0], "IsInReqDictionary")), "yes");
    assert_eq!(field(&reqs[0], "RefCount"), &Value::Int(1));
    assert!(path_of(&reqs[0]).starts_with(&*db.reqs().to_string_lossy()));
    let out = run_one(&mut cb, &["RG.PYEXECUTE", VERSION_SCRIPT]).await?;
    assert!(
        out.starts_with("1.16.0|") && out.contains(&*db.reqs().to_string_lossy()),
        "{out}"
    );
    // A second import of the same requirement reuses the entry.
    let r = q(&mut cb, &[b"RG.PYIMPORTREQ", &blob]).await;
    assert_eq!(
        r.map_err(|e| anyhow::anyhow!(err_text(&e)))?,
        Value::BulkString(b"OK".to_vec())
    );
    let again = dump_reqs(&mut cb).await?;
    assert_eq!(again.len(), 1);
    assert_eq!(path_of(&again[0]), path_of(&reqs[0]));
    // The session using it now finds it installed.
    let r = ok(
        &mut cb,
        &[
            "RG.PYEXECUTE",
            &registration_script("t"),
            "ID",
            "s",
            "REQUIREMENTS",
            SIX,
        ],
    )
    .await?;
    assert_eq!(r, Value::Okay);
    assert_eq!(
        field(
            &session(&mut cb, "s", false).await?,
            "requirementInstallationNeeded"
        ),
        &Value::Int(0)
    );
    Ok(())
}

#[tokio::test]
async fn requirement_commands_errors_follow_redisgears() -> anyhow::Result<()> {
    let (_srv, mut c, _dir) = server("errors").await?;
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYEXPORTREQ"]).await?,
        "ERR wrong number of arguments for 'RG.PYEXPORTREQ' command"
    );
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYEXPORTREQ", b"a", b"b"]).await?,
        "ERR wrong number of arguments for 'RG.PYEXPORTREQ' command"
    );
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYEXPORTREQ", b"six"]).await?,
        "requirement does not exists"
    );
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYIMPORTREQ"]).await?,
        "Bad serialization format on reading requirement version"
    );
    let mut v3 = 3i64.to_ne_bytes().to_vec();
    v3.extend_from_slice(&2i64.to_ne_bytes());
    v3.extend_from_slice(b"x\0");
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYIMPORTREQ", &v3]).await?,
        "Requirement version is not compatible, upgrade to newer RedisGears."
    );
    let mut name_only = 2i64.to_ne_bytes().to_vec();
    name_only.extend_from_slice(&2i64.to_ne_bytes());
    name_only.extend_from_slice(b"x\0");
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYIMPORTREQ", &name_only]).await?,
        "Bad serialization format on reading requirement os"
    );
    // A well-formed blob without wheels cannot be installed.
    let mut empty = name_only.clone();
    empty.extend_from_slice(&3i64.to_ne_bytes());
    empty.extend_from_slice(b"os\0");
    empty.extend_from_slice(&1i64.to_ne_bytes());
    empty.extend_from_slice(&0i64.to_ne_bytes());
    assert_eq!(
        expect_err(&mut c, &[b"RG.PYIMPORTREQ", &empty]).await?,
        "Failed install requirement on shard, check shard log for more info."
    );
    let reqs = dump_reqs(&mut c).await?;
    assert_eq!(reqs.len(), 1);
    assert_eq!(text(field(&reqs[0], "IsDownloaded")), "yes");
    assert_eq!(text(field(&reqs[0], "IsInstalled")), "no");
    assert_eq!(arr(field(&reqs[0], "Wheels")).len(), 0);
    // RG.PYDUMPREQS has no arity check.
    assert_eq!(
        arr(&ok(&mut c, &["RG.PYDUMPREQS", "extra"]).await?).len(),
        1
    );
    // Inside MULTI the import cannot block.
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("RG.PYIMPORTREQ").arg(&empty);
    let r: redis::RedisResult<Value> = pipe.query_async(&mut c).await;
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.contains("Blocking") && e.contains("module command called from transaction"),
        "{e}"
    );
    Ok(())
}
