//! Wasm functions (issue 6): RG.WASMEXECUTE with components built in the tests from WAT
//! (see [`guest`]), their plans against the Python equivalents, registrations, the host
//! imports, each limit kind, RG.ABORTEXECUTION, the automatic pause, and a hostile corpus. Every
//! test shares the process-wide wasmtime engine (in-process servers).

mod guest;
mod hostile;

use std::time::Duration;

use gears_tests::{TestServer, eventually};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Value};

use guest::{Cb, Guest, Mode, Plan, Reader, RegOpts, RunOpts, Step};

const T: Duration = Duration::from_secs(20);

/// A temporary data directory (the compile cache lives in it), removed on drop.
pub struct DataDir(std::path::PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let p = std::env::temp_dir().join(format!(
            "gears-wasm-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        DataDir(p)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

/// A server with its own data directory.
pub async fn server() -> anyhow::Result<(TestServer, DataDir)> {
    server_with(&[]).await
}

/// A server with its own data directory and extra config keys.
pub async fn server_with(settings: &[(&str, &str)]) -> anyhow::Result<(TestServer, DataDir)> {
    let dir = DataDir::new();
    let mut all = vec![("dir", dir.path())];
    all.extend_from_slice(settings);
    let srv = TestServer::start_with(&all).await?;
    Ok((srv, dir))
}

/// A client without the redis crate's 500 ms response timeout: uploads wait for compiles (one
/// at a time) and executions run to their limits.
pub async fn client(srv: &TestServer) -> anyhow::Result<MultiplexedConnection> {
    let cfg =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(120)));
    Ok(redis::Client::open(srv.url())?
        .get_multiplexed_async_connection_with_config(&cfg)
        .await?)
}

/// `RG.WASMEXECUTE <opts...> <module>`.
pub async fn wasmexec(
    c: &mut MultiplexedConnection,
    opts: &[&str],
    module: &[u8],
) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd("RG.WASMEXECUTE");
    for o in opts {
        cmd.arg(*o);
    }
    cmd.arg(module);
    cmd.query_async(c).await
}

/// An error's full text (the redis crate splits off the first word as a "code").
pub fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(c), Some(d)) => format!("{c} {d}"),
        (Some(c), None) => c.to_string(),
        _ => e.to_string(),
    }
}

/// `[results, errors]` of a blocking run.
pub fn outcome(v: Value) -> anyhow::Result<(Vec<Value>, Vec<String>)> {
    let Value::Array(mut parts) = v else {
        anyhow::bail!("not [results, errors]: {v:?}");
    };
    anyhow::ensure!(parts.len() == 2, "not [results, errors]: {parts:?}");
    let errors: Vec<String> = redis::from_redis_value(parts.pop().expect("two"))?;
    let Some(Value::Array(results)) = parts.pop() else {
        anyhow::bail!("results are not an array");
    };
    Ok((results, errors))
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| format!("{x:?}"));
    v
}

/// A guest whose `init` declares one `run()`.
fn run_guest(plan: Plan, opts: RunOpts, callbacks: Vec<(u32, Cb)>) -> Vec<u8> {
    Guest {
        callbacks,
        run: Some((plan, opts)),
        ..Guest::default()
    }
    .component()
}

fn keys_plan(steps: Vec<Step>) -> Plan {
    Plan {
        reader: Reader::Keys,
        desc: None,
        steps,
    }
}

async fn seed(c: &mut MultiplexedConnection) -> anyhow::Result<()> {
    for i in 0..5 {
        let _: () = c.set(format!("s:{i}"), i).await?;
    }
    let _: () = c.rpush("l:1", &["a", "b"]).await?;
    let _: () = c.hset("h:1", "f", "v").await?;
    Ok(())
}

async fn pyrun(c: &mut MultiplexedConnection, code: &str) -> anyhow::Result<Vec<Value>> {
    let v: Value = redis::cmd("RG.PYEXECUTE").arg(code).query_async(c).await?;
    let (results, errors) = outcome(v)?;
    anyhow::ensure!(errors.is_empty(), "python errors: {errors:?}");
    Ok(results)
}

async fn wasmrun(c: &mut MultiplexedConnection, module: &[u8]) -> anyhow::Result<Vec<Value>> {
    let (results, errors) = outcome(wasmexec(c, &[], module).await?)?;
    anyhow::ensure!(errors.is_empty(), "wasm errors: {errors:?}");
    Ok(results)
}

#[tokio::test]
async fn wasmexecute_map_over_keys_matches_python() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    seed(&mut c).await?;
    let module = run_guest(
        keys_plan(vec![Step::Map(1)]),
        RunOpts::default(),
        vec![(1, Cb::Key)],
    );
    let wasm = wasmrun(&mut c, &module).await?;
    let py = pyrun(&mut c, "GB().map(lambda r: r['key']).run()").await?;
    assert_eq!(wasm.len(), 7);
    assert_eq!(sorted(wasm), sorted(py));
    Ok(())
}

#[tokio::test]
async fn wasmexecute_operations_match_python() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    seed(&mut c).await?;
    // accumulate: a count.
    let m = run_guest(
        keys_plan(vec![Step::Accumulate(1)]),
        RunOpts::default(),
        vec![(1, Cb::Count)],
    );
    assert_eq!(
        wasmrun(&mut c, &m).await?,
        pyrun(
            &mut c,
            "GB().accumulate(lambda a, r: (a if a else 0) + 1).run(convertToStr=False)"
        )
        .await?
    );
    // groupby type, counting: {'key': type, 'value': n} records.
    for step in [Step::GroupBy(1, 2), Step::LocalGroupBy(1, 2)] {
        let m = run_guest(
            keys_plan(vec![step]),
            RunOpts::default(),
            vec![(1, Cb::Type), (2, Cb::CountByKey)],
        );
        let py = pyrun(
            &mut c,
            "GB().groupby(lambda r: r['type'], lambda k, a, r: (a if a else 0) + 1).map(lambda r: ['key', r['key'], 'value', r['value']]).run(convertToStr=False)",
        )
        .await?;
        assert_eq!(sorted(wasmrun(&mut c, &m).await?), sorted(py));
    }
    // batchgroupby: the size of each group.
    let m = run_guest(
        keys_plan(vec![Step::BatchGroupBy(1, 2)]),
        RunOpts::default(),
        vec![(1, Cb::Type), (2, Cb::ListLen)],
    );
    let py = pyrun(
        &mut c,
        "GB().batchgroupby(lambda r: r['type'], lambda k, rs: len(rs)).map(lambda r: ['key', r['key'], 'value', r['value']]).run(convertToStr=False)",
    )
    .await?;
    assert_eq!(sorted(wasmrun(&mut c, &m).await?), sorted(py));
    // filter + map + repartition + collect.
    let m = run_guest(
        keys_plan(vec![
            Step::Filter(1),
            Step::Repartition(2),
            Step::Collect,
            Step::Map(2),
        ]),
        RunOpts::default(),
        vec![(1, Cb::IsString), (2, Cb::Key)],
    );
    let py = pyrun(
        &mut c,
        "GB().filter(lambda r: r['type'] == 'string').repartition(lambda r: r['key']).collect().map(lambda r: r['key']).run()",
    )
    .await?;
    assert_eq!(sorted(wasmrun(&mut c, &m).await?), sorted(py));
    // limit(2, 1) of a count per record: 2 records.
    let m = run_guest(
        keys_plan(vec![Step::Map(1), Step::Limit(2, 1)]),
        RunOpts::default(),
        vec![(1, Cb::Key)],
    );
    assert_eq!(wasmrun(&mut c, &m).await?.len(), 2);
    // flatmap of a non-list: one record each; foreach keeps the records.
    let m = run_guest(
        keys_plan(vec![Step::FlatMap(1), Step::Foreach(2), Step::Map(1)]),
        RunOpts::default(),
        vec![(1, Cb::Key), (2, Cb::Nothing)],
    );
    let py = pyrun(&mut c, "GB().flatmap(lambda r: r['key']).run()").await?;
    assert_eq!(sorted(wasmrun(&mut c, &m).await?), sorted(py));
    // KeysOnlyReader: key names.
    let m = run_guest(
        Plan {
            reader: Reader::KeysOnly,
            desc: None,
            steps: vec![],
        },
        RunOpts {
            pattern: Some("s:*".into()),
            ..RunOpts::default()
        },
        vec![],
    );
    let py = pyrun(&mut c, "GB('KeysOnlyReader').run('s:*')").await?;
    assert_eq!(sorted(wasmrun(&mut c, &m).await?), sorted(py));
    // ShardsIDReader: one record.
    let m = run_guest(
        Plan {
            reader: Reader::Shards,
            desc: None,
            steps: vec![],
        },
        RunOpts::default(),
        vec![],
    );
    let py = pyrun(&mut c, "GB('ShardsIDReader').run()").await?;
    assert_eq!(wasmrun(&mut c, &m).await?, py);
    // The generator reader: the records a callback yields.
    let m = run_guest(
        Plan {
            reader: Reader::Generator,
            desc: None,
            steps: vec![],
        },
        RunOpts {
            generator: Some(1),
            ..RunOpts::default()
        },
        vec![(1, Cb::Generate(3))],
    );
    let py = pyrun(
        &mut c,
        "GB('PythonReader').run(lambda: iter([1, 2, 3]), convertToStr=False)",
    )
    .await?;
    assert_eq!(wasmrun(&mut c, &m).await?, py);
    Ok(())
}

#[tokio::test]
async fn wasm_sync_registration_writes_before_the_reply() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = Guest {
        callbacks: vec![(1, Cb::SetKey("out".into()))],
        register: vec![(
            Plan {
                reader: Reader::Keys,
                desc: Some("audit".into()),
                steps: vec![Step::Foreach(1)],
            },
            RegOpts {
                mode: Mode::Sync,
                prefix: Some("in:*".into()),
                ..RegOpts::default()
            },
        )],
        ..Guest::default()
    }
    .component();
    assert_eq!(wasmexec(&mut c, &["ID", "audit"], &m).await?, Value::Okay);
    for i in 0..3 {
        let key = format!("in:{i}");
        let _: () = c.set(&key, i).await?;
        let out: String = c.get("out").await?;
        assert_eq!(out, key);
    }
    let regs: Vec<Vec<Value>> = redis::cmd("RG.DUMPREGISTRATIONS")
        .query_async(&mut c)
        .await?;
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0][3], bulk("KeysReader"));
    assert_eq!(regs[0][5], bulk("audit"));
    let data = reg_data(&regs[0]);
    assert_eq!(field(&data, "numSuccess"), Some(Value::Int(3)));
    assert_eq!(field(&data, "mode"), Some(bulk("sync")));
    // The session is listed, with its runtime.
    let sessions: Vec<Vec<Value>> = redis::cmd("RG.PYDUMPSESSIONS").query_async(&mut c).await?;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0][1], bulk("audit"));
    assert_eq!(sessions[0].last(), Some(&bulk("wasm")));
    // Unregistering it ends the session.
    let id: String = redis::from_redis_value(regs[0][1].clone())?;
    let _: () = redis::cmd("RG.UNREGISTER")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    let sessions: Vec<Value> = redis::cmd("RG.PYDUMPSESSIONS").query_async(&mut c).await?;
    assert!(sessions.is_empty());
    Ok(())
}

/// RegistrationData of a registration entry, as pairs.
fn reg_data(entry: &[Value]) -> Vec<(String, Value)> {
    let Some(Value::Array(data)) = entry.get(7) else {
        return Vec::new();
    };
    data.chunks(2)
        .filter_map(|p| {
            let k: String = redis::from_redis_value(p[0].clone()).ok()?;
            Some((k, p.get(1)?.clone()))
        })
        .collect()
}

fn field(data: &[(String, Value)], name: &str) -> Option<Value> {
    data.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

async fn first_registration(c: &mut MultiplexedConnection) -> anyhow::Result<Vec<(String, Value)>> {
    let regs: Vec<Vec<Value>> = redis::cmd("RG.DUMPREGISTRATIONS").query_async(c).await?;
    anyhow::ensure!(!regs.is_empty(), "no registration");
    Ok(reg_data(&regs[0]))
}

#[tokio::test]
async fn wasm_execute_round_trips_binary_bytes_and_typed_replies() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = Guest {
        callbacks: vec![(1, Cb::Exec)],
        register: vec![(
            Plan {
                reader: Reader::Command,
                desc: None,
                steps: vec![Step::Map(1)],
            },
            RegOpts {
                mode: Mode::Sync,
                trigger: Some("exec".into()),
                ..RegOpts::default()
            },
        )],
        ..Guest::default()
    }
    .component();
    assert_eq!(wasmexec(&mut c, &[], &m).await?, Value::Okay);
    let trig = |args: &[&str]| {
        let mut cmd = redis::cmd("RG.TRIGGER");
        cmd.arg("exec");
        for a in args {
            cmd.arg(*a);
        }
        cmd
    };
    let v: Value = trig(&["SET", "k", "v"]).query_async(&mut c).await?;
    assert_eq!(v, Value::Array(vec![bulk("OK")]), "status → text → bulk");
    let v: Value = trig(&["INCR", "n"]).query_async(&mut c).await?;
    assert_eq!(
        v,
        Value::Array(vec![Value::Int(1)]),
        "integer stays integer"
    );
    let v: Value = trig(&["GET", "missing"]).query_async(&mut c).await?;
    assert_eq!(v, Value::Array(vec![Value::Nil]), "nil stays nil");
    let _: () = c.rpush("l", &["x", "y"]).await?;
    let v: Value = trig(&["LRANGE", "l", "0", "-1"])
        .query_async(&mut c)
        .await?;
    assert_eq!(
        v,
        Value::Array(vec![Value::Array(vec![bulk("x"), bulk("y")])])
    );
    let v: Value = trig(&["NOSUCHCOMMAND"]).query_async(&mut c).await?;
    let Value::Array(items) = v else {
        anyhow::bail!("not an array")
    };
    let text: String = redis::from_redis_value(items[0].clone())?;
    assert!(text.starts_with("ERR unknown command"), "{text}");
    // Binary-safe: bytes that are not UTF-8 go through SET and come back from GET.
    let payload: Vec<u8> = vec![0, 255, 1, b'\'', 0xc3, 0x28, b'\n', 0];
    let m = run_guest(
        Plan {
            reader: Reader::Shards,
            desc: None,
            steps: vec![Step::Map(1)],
        },
        RunOpts::default(),
        vec![(1, Cb::Binary(payload.clone()))],
    );
    let results = wasmrun(&mut c, &m).await?;
    assert_eq!(results, vec![Value::BulkString(payload.clone())]);
    let stored: Vec<u8> = c.get("bin").await?;
    assert_eq!(stored, payload);
    Ok(())
}

#[tokio::test]
async fn wasm_execution_id_and_log_reach_the_guest() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = run_guest(
        Plan {
            reader: Reader::Shards,
            desc: None,
            steps: vec![Step::Foreach(2), Step::Map(1)],
        },
        RunOpts::default(),
        vec![(1, Cb::ExecId), (2, Cb::Log("hello from wasm".into()))],
    );
    let results = wasmrun(&mut c, &m).await?;
    let [Value::BulkString(id)] = results.as_slice() else {
        anyhow::bail!("one id: {results:?}");
    };
    let id = String::from_utf8_lossy(id);
    assert!(
        id.starts_with("0000000000000000000000000000000000000000-"),
        "{id}"
    );
    Ok(())
}

#[tokio::test]
async fn wasm_limits_abort_with_their_typed_errors() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let _: () = c.set("other", "intact").await?;
    let shard = |cb: Cb| {
        run_guest(
            Plan {
                reader: Reader::Shards,
                desc: None,
                steps: vec![Step::Map(1)],
            },
            RunOpts::default(),
            vec![(1, cb)],
        )
    };
    let spin = shard(Cb::Spin);
    let (r, e) = outcome(wasmexec(&mut c, &["FUEL", "1000000"], &spin).await?)?;
    assert!(r.is_empty());
    assert_eq!(e, vec!["ABORTED fuel limit 1000000 exhausted".to_string()]);
    let (_, e) = outcome(wasmexec(&mut c, &["MEMORY", "16777216"], &shard(Cb::Grow)).await?)?;
    assert_eq!(
        e,
        vec!["ABORTED memory limit 16777216 bytes exceeded".to_string()]
    );
    let (_, e) = outcome(
        wasmexec(
            &mut c,
            &["FUEL", "1000000000000000", "TIMEOUT", "50"],
            &spin,
        )
        .await?,
    )?;
    assert_eq!(e, vec!["ABORTED timeout 50 ms exceeded".to_string()]);
    // The status is `aborted`.
    let id: String =
        redis::from_redis_value(wasmexec(&mut c, &["FUEL", "300000", "UNBLOCKING"], &spin).await?)?;
    eventually(T, || {
        let mut c = c.clone();
        let id = id.clone();
        async move {
            let plan: Value = redis::cmd("RG.GETEXECUTION")
                .arg(&id)
                .query_async(&mut c)
                .await
                .unwrap_or(Value::Nil);
            format!("{plan:?}").contains("aborted")
        }
    })
    .await?;
    let (_, e) = outcome(
        redis::cmd("RG.GETRESULTS")
            .arg(&id)
            .query_async(&mut c)
            .await?,
    )?;
    assert_eq!(e, vec!["ABORTED fuel limit 300000 exhausted".to_string()]);
    // Config defaults apply too.
    let _: Value = redis::cmd("RG.CONFIGSET")
        .arg("DefaultFuel")
        .arg("500000")
        .query_async(&mut c)
        .await?;
    let (_, e) = outcome(wasmexec(&mut c, &[], &spin).await?)?;
    assert_eq!(e, vec!["ABORTED fuel limit 500000 exhausted".to_string()]);
    let pong: String = redis::cmd("PING").query_async(&mut c).await?;
    assert_eq!(pong, "PONG");
    let other: String = c.get("other").await?;
    assert_eq!(other, "intact");
    // INFO gears counts the breaches.
    let info: String = redis::cmd("INFO").arg("gears").query_async(&mut c).await?;
    assert!(info.contains("breaches_fuel:3"), "{info}");
    assert!(info.contains("breaches_memory:1"), "{info}");
    assert!(info.contains("breaches_timeout:1"), "{info}");
    Ok(())
}

#[tokio::test]
async fn wasm_abortexecution_stops_a_spinning_guest() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = run_guest(
        Plan {
            reader: Reader::Shards,
            desc: None,
            steps: vec![Step::Map(1)],
        },
        RunOpts::default(),
        vec![(1, Cb::Spin)],
    );
    // FUEL 0: unlimited; only the abort can stop it.
    let id: String =
        redis::from_redis_value(wasmexec(&mut c, &["FUEL", "0", "UNBLOCKING"], &m).await?)?;
    eventually(T, || {
        let mut c = c.clone();
        let id = id.clone();
        async move {
            let plan: Value = redis::cmd("RG.GETEXECUTION")
                .arg(&id)
                .query_async(&mut c)
                .await
                .unwrap_or(Value::Nil);
            format!("{plan:?}").contains("running")
        }
    })
    .await?;
    let ok: String = redis::cmd("RG.ABORTEXECUTION")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    let (r, e) = outcome(
        redis::cmd("RG.GETRESULTSBLOCKING")
            .arg(&id)
            .query_async(&mut c)
            .await?,
    )?;
    assert!(r.is_empty());
    assert_eq!(e, vec!["ABORTED by RG.ABORTEXECUTION".to_string()]);
    let dump: Vec<Vec<Value>> = redis::cmd("RG.DUMPEXECUTIONS").query_async(&mut c).await?;
    let mine = dump.iter().find(|e| e[1] == bulk(&id)).expect("listed");
    assert_eq!(mine[3], bulk("aborted"));
    Ok(())
}

#[tokio::test]
async fn wasm_registration_pauses_after_max_breaches_and_resumes() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = Guest {
        callbacks: vec![(1, Cb::Spin)],
        register: vec![(
            keys_plan(vec![Step::Foreach(1)]),
            RegOpts {
                mode: Mode::Sync,
                prefix: Some("p:*".into()),
                // The registration lowers the session's fuel.
                fuel: Some(100_000),
                ..RegOpts::default()
            },
        )],
        ..Guest::default()
    }
    .component();
    assert_eq!(
        wasmexec(&mut c, &["MAXBREACHES", "2", "FUEL", "100000000"], &m).await?,
        Value::Okay
    );
    let _: () = c.set("p:1", 1).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numAborted"), Some(Value::Int(1)));
    assert_eq!(
        field(&data, "lastError"),
        Some(bulk("ABORTED fuel limit 100000 exhausted"))
    );
    assert_eq!(field(&data, "pauseReason"), None);
    let _: () = c.set("p:2", 2).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numAborted"), Some(Value::Int(2)));
    let reason: String = redis::from_redis_value(field(&data, "pauseReason").expect("paused"))?;
    assert!(reason.contains("2 consecutive limit breaches"), "{reason}");
    assert_eq!(field(&data, "status"), Some(bulk("PAUSED")));
    // Paused: events are skipped and counted.
    let _: () = c.set("p:3", 3).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numSkipped"), Some(Value::Int(1)));
    assert_eq!(field(&data, "numAborted"), Some(Value::Int(2)));
    // The write itself went through; the server answers.
    let v: i64 = c.get("p:3").await?;
    assert_eq!(v, 3);
    let info: String = redis::cmd("INFO").arg("gears").query_async(&mut c).await?;
    assert!(info.contains("auto_pauses:1"), "{info}");
    assert!(info.contains("registrations_paused:1"), "{info}");
    // Unpaused, it runs (and breaches) again.
    let id: String = {
        let regs: Vec<Vec<Value>> = redis::cmd("RG.DUMPREGISTRATIONS")
            .query_async(&mut c)
            .await?;
        redis::from_redis_value(regs[0][1].clone())?
    };
    let _: () = redis::cmd("RG.UNPAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    let _: () = c.set("p:4", 4).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numAborted"), Some(Value::Int(3)));
    assert_eq!(field(&data, "pauseReason"), None);
    Ok(())
}

#[tokio::test]
async fn wasm_guest_pause_failure_pauses_its_registration() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = Guest {
        callbacks: vec![(1, Cb::Pause("maintenance".into()))],
        register: vec![(
            keys_plan(vec![Step::Foreach(1)]),
            RegOpts {
                mode: Mode::Sync,
                prefix: Some("q:*".into()),
                ..RegOpts::default()
            },
        )],
        ..Guest::default()
    }
    .component();
    assert_eq!(wasmexec(&mut c, &[], &m).await?, Value::Okay);
    let _: () = c.set("q:1", 1).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "lastError"), Some(bulk("PAUSE maintenance")));
    assert_eq!(field(&data, "pauseReason"), Some(bulk("PAUSE maintenance")));
    let _: () = c.set("q:2", 1).await?;
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numSkipped"), Some(Value::Int(1)));
    Ok(())
}

#[tokio::test]
async fn wasm_sessions_follow_the_pyexecute_life_cycle() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = Guest {
        callbacks: vec![(1, Cb::Nothing)],
        register: vec![(keys_plan(vec![Step::Foreach(1)]), RegOpts::default())],
        ..Guest::default()
    }
    .component();
    assert_eq!(
        wasmexec(&mut c, &["ID", "s1", "DESCRIPTION", "first"], &m).await?,
        Value::Okay
    );
    let e = wasmexec(&mut c, &["ID", "s1"], &m).await.unwrap_err();
    assert_eq!(err_text(&e), "Session s1 already exists");
    assert_eq!(
        wasmexec(&mut c, &["ID", "s1", "UPGRADE"], &m).await?,
        Value::Okay
    );
    let regs: Vec<Value> = redis::cmd("RG.DUMPREGISTRATIONS")
        .query_async(&mut c)
        .await?;
    assert_eq!(regs.len(), 1, "the upgrade replaced the registration");
    // Options are checked.
    let e = wasmexec(&mut c, &["FUEL", "lots"], &m).await.unwrap_err();
    assert_eq!(err_text(&e), "FUEL must be a non-negative integer");
    let e = wasmexec(&mut c, &["NOPE"], &m).await.unwrap_err();
    assert_eq!(err_text(&e), "Unknown arguments were given: NOPE");
    let e: redis::RedisError = redis::cmd("RG.WASMEXECUTE")
        .query_async::<Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&e).contains("wrong number of arguments"),
        "{}",
        err_text(&e)
    );
    // RG.PYEXECUTE takes the limit options before REQUIREMENTS.
    let v: Value = redis::cmd("RG.PYEXECUTE")
        .arg("GB('ShardsIDReader').run()")
        .arg("TIMEOUT")
        .arg("1000")
        .arg("MEMORY")
        .arg("64mb")
        .arg("MAXBREACHES")
        .arg("2")
        .arg("FUEL")
        .arg("5")
        .query_async(&mut c)
        .await?;
    assert_eq!(outcome(v)?.1, Vec::<String>::new());
    // Config keys.
    let v: Vec<i64> = redis::cmd("RG.CONFIGGET")
        .arg("DefaultFuel")
        .arg("DefaultMemoryLimit")
        .arg("DefaultTimeoutMS")
        .arg("MaxBreachesBeforePause")
        .arg("MaxModuleBytes")
        .query_async(&mut c)
        .await?;
    assert_eq!(v, vec![10_000_000_000, 134_217_728, 0, 3, 67_108_864]);
    let e = redis::cmd("RG.CONFIGSET")
        .arg("DefaultTimeoutMS")
        .arg("-1")
        .query_async::<Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&e).contains("Failed setting config value DefaultTimeoutMS"),
        "{}",
        err_text(&e)
    );
    let ok: Vec<String> = redis::cmd("RG.CONFIGSET")
        .arg("MaxBreachesBeforePause")
        .arg("5")
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, vec!["OK".to_string()]);
    Ok(())
}

#[tokio::test]
async fn wasm_compile_cache_is_hit_on_the_second_upload() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let m = run_guest(
        Plan {
            reader: Reader::Shards,
            desc: None,
            steps: vec![],
        },
        RunOpts::default(),
        vec![],
    );
    wasmrun(&mut c, &m).await?;
    wasmrun(&mut c, &m).await?;
    let info: String = redis::cmd("INFO").arg("gears").query_async(&mut c).await?;
    assert!(info.contains("wasm_compile_cache_misses:1"), "{info}");
    assert!(info.contains("wasm_compile_cache_hits:1"), "{info}");
    Ok(())
}

#[tokio::test]
async fn python_timeout_aborts_a_spinning_execution() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let v: Value = redis::cmd("RG.PYEXECUTE")
        .arg("def spin(r):\n    while True:\n        pass\nGB('ShardsIDReader').map(spin).run()")
        .arg("TIMEOUT")
        .arg("100")
        .query_async(&mut c)
        .await?;
    let (r, e) = outcome(v)?;
    assert!(r.is_empty());
    assert_eq!(e, vec!["ABORTED timeout 100 ms exceeded".to_string()]);
    Ok(())
}

/// ABORT leaves no partial writes: a guest that writes and then runs out of fuel, in a `run()`
/// and in a sync registration, leaves the keyspace as it was (the client's own write stays).
#[tokio::test]
async fn wasm_breach_rolls_back_the_executions_writes() -> anyhow::Result<()> {
    let (srv, _dir) = server().await?;
    let mut c = client(&srv).await?;
    let _: () = c.set("out", "before").await?;
    let _: () = c.set("src", "x").await?;
    let m = run_guest(
        keys_plan(vec![Step::Foreach(1), Step::Map(2)]),
        RunOpts {
            pattern: Some("src".into()),
            ..RunOpts::default()
        },
        vec![(1, Cb::SetKey("out".into())), (2, Cb::Spin)],
    );
    let (r, e) = outcome(wasmexec(&mut c, &["FUEL", "2000000"], &m).await?)?;
    assert!(r.is_empty());
    assert_eq!(e, vec!["ABORTED fuel limit 2000000 exhausted".to_string()]);
    let out: String = c.get("out").await?;
    assert_eq!(out, "before", "the SET before the breach was rolled back");

    let reg = Guest {
        callbacks: vec![(1, Cb::SetKey("audit".into())), (2, Cb::Spin)],
        register: vec![(
            keys_plan(vec![Step::Foreach(1), Step::Foreach(2)]),
            RegOpts {
                mode: Mode::Sync,
                prefix: Some("in:*".into()),
                ..RegOpts::default()
            },
        )],
        ..Guest::default()
    }
    .component();
    assert_eq!(
        wasmexec(&mut c, &["FUEL", "2000000"], &reg).await?,
        Value::Okay
    );
    let _: () = c.set("in:1", 1).await?;
    let v: i64 = c.get("in:1").await?;
    assert_eq!(v, 1, "the triggering write is the client's and stays");
    let audit: Option<String> = c.get("audit").await?;
    assert_eq!(audit, None, "the registration's write was rolled back");
    let data = first_registration(&mut c).await?;
    assert_eq!(field(&data, "numAborted"), Some(Value::Int(1)));
    let pong: String = redis::cmd("PING").query_async(&mut c).await?;
    assert_eq!(pong, "PONG");
    Ok(())
}
