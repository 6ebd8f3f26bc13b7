//! RedisGears registrations (issue: registrations, triggers and streams): KeysReader,
//! StreamReader and CommandReader registrations through RG.PYEXECUTE, with their counters,
//! pause/unpause, failures and the self-trigger cut-off.

use std::collections::HashMap;
use std::time::Duration;

use gears_tests::{TestServer, eventually};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

const T: Duration = Duration::from_secs(10);

async fn pyexec(c: &mut MultiplexedConnection, code: &str) -> redis::RedisResult<redis::Value> {
    redis::cmd("RG.PYEXECUTE").arg(code).query_async(c).await
}

/// RegistrationData of every registration, by id, as name → value.
async fn registrations(
    c: &mut MultiplexedConnection,
) -> anyhow::Result<Vec<(String, String, HashMap<String, redis::Value>)>> {
    let v: Vec<Vec<redis::Value>> = redis::cmd("RG.DUMPREGISTRATIONS").query_async(c).await?;
    let mut out = Vec::new();
    for reg in v {
        let id: String = redis::from_redis_value(reg[1].clone())?;
        let reader: String = redis::from_redis_value(reg[3].clone())?;
        let redis::Value::Array(data) = &reg[7] else {
            anyhow::bail!("RegistrationData is not an array");
        };
        let mut map = HashMap::new();
        for pair in data.chunks(2) {
            let k: String = redis::from_redis_value(pair[0].clone())?;
            map.insert(k, pair[1].clone());
        }
        out.push((id, reader, map));
    }
    Ok(out)
}

/// An error's full text (the redis crate splits off the first word as a "code").
fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(c), Some(d)) => format!("{c} {d}"),
        (Some(c), None) => c.to_string(),
        _ => e.to_string(),
    }
}

fn int(v: &redis::Value) -> i64 {
    redis::from_redis_value(v.clone()).unwrap_or(-1)
}

async fn stat(c: &mut MultiplexedConnection, field: &str) -> i64 {
    match registrations(c).await {
        Ok(r) if !r.is_empty() => r[0].2.get(field).map_or(-1, int),
        _ => -1,
    }
}

#[tokio::test]
async fn keys_sync_registration_runs_before_the_write_replies() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let r = pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'count:' + r['event'])).register(prefix='k*', mode='sync')",
    )
    .await?;
    assert_eq!(r, redis::Value::Okay);
    for i in 0..10 {
        let _: () = c.set(format!("k{i}"), i).await?;
        // sync: the registration ran before SET replied.
        let n: i64 = c.get("count:set").await?;
        assert_eq!(n, i + 1);
    }
    let _: i64 = c.del("k1").await?;
    let n: i64 = c.get("count:del").await?;
    assert_eq!(n, 1);
    let _: () = c.set("other", "x").await?;
    let regs = registrations(&mut c).await?;
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].1, "KeysReader");
    assert_eq!(
        int(&regs[0].2["numTriggered"]),
        11,
        "prefix k* did not match 'other'"
    );
    assert_eq!(int(&regs[0].2["numSuccess"]), 11);
    assert_eq!(int(&regs[0].2["numFailures"]), 0);
    Ok(())
}

#[tokio::test]
async fn keys_async_registration_sees_record_with_event_and_value() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('rpush', 'log', '%s|%s|%s|%s' % (r['event'], r['key'], r['type'], r['value']))).register(prefix='person:*')",
    )
    .await?;
    let _: () = c.hset("person:1", "name", "Rick").await?;
    let _: () = c.set("person:2", "x").await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.llen::<_, i64>("log").await.unwrap_or(0) == 2 }
    })
    .await?;
    let log: Vec<String> = c.lrange("log", 0, -1).await?;
    assert_eq!(
        log,
        vec![
            "hset|person:1|hash|{'name': 'Rick'}".to_string(),
            "set|person:2|string|x".to_string()
        ]
    );
    Ok(())
}

#[tokio::test]
async fn keys_registration_filters_event_and_key_types() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'counter')).register(eventTypes=['LPUSH', 'rpush'], mode='sync', prefix='l*')",
    )
    .await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'hashes')).register(keyTypes=['hash'], mode='sync', prefix='x*')",
    )
    .await?;
    let _: i64 = c.lpush("l1", "a").await?;
    let _: i64 = c.rpush("l1", "b").await?;
    let _: () = c.set("l2", "x").await?;
    let _: () = c.hset("x1", "f", "v").await?;
    let _: () = c.set("x2", "v").await?;
    let counter: i64 = c.get("counter").await?;
    assert_eq!(
        counter, 2,
        "eventTypes matched case-insensitively, SET ignored"
    );
    let hashes: i64 = c.get("hashes").await?;
    assert_eq!(hashes, 1, "keyTypes=['hash'] ignored the string");
    Ok(())
}

#[tokio::test]
async fn keys_registration_without_values_and_on_expiry() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('rpush', 'events', str(r))).register(prefix='t*', readValue=False, eventTypes=['expired'])",
    )
    .await?;
    let _: () = redis::cmd("SET")
        .arg("t1")
        .arg("v")
        .arg("PX")
        .arg(20)
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.llen::<_, i64>("events").await.unwrap_or(0) == 1 }
    })
    .await?;
    let ev: Vec<String> = c.lrange("events", 0, -1).await?;
    assert_eq!(ev, vec!["{'event': 'expired', 'key': 't1'}".to_string()]);
    Ok(())
}

#[tokio::test]
async fn failing_callback_counts_failures_and_server_stays_up() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "def f(r):\n    if r['key'] == 'bad':\n        raise Exception('boom ' + r['key'])\nGB().foreach(f).register(mode='sync')",
    )
    .await?;
    let _: () = c.set("good", "1").await?;
    let _: () = c.set("bad", "1").await?;
    assert_eq!(stat(&mut c, "numTriggered").await, 2);
    assert_eq!(stat(&mut c, "numSuccess").await, 1);
    assert_eq!(stat(&mut c, "numFailures").await, 1);
    let regs = registrations(&mut c).await?;
    let err: String = redis::from_redis_value(regs[0].2["lastError"].clone())?;
    assert!(err.contains("Exception: boom bad"), "{err}");
    // A success clears lastError, as in RedisGears.
    let _: () = c.set("good2", "1").await?;
    let regs = registrations(&mut c).await?;
    assert_eq!(regs[0].2["lastError"], redis::Value::Nil);
    let pong: String = redis::cmd("PING").query_async(&mut c).await?;
    assert_eq!(pong, "PONG");
    Ok(())
}

#[tokio::test]
async fn self_triggering_registration_is_cut_at_max_trigger_depth() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let set: Vec<String> = redis::cmd("RG.CONFIGSET")
        .arg("MaxTriggerDepth")
        .arg(5)
        .query_async(&mut c)
        .await?;
    assert_eq!(set, vec!["OK"]);
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'loop')).register(prefix='loop', mode='sync')",
    )
    .await?;
    let _: () = c.set("loop", 0).await?;
    let n: i64 = c.get("loop").await?;
    assert_eq!(n, 5, "the chain stops after MaxTriggerDepth executions");
    assert_eq!(stat(&mut c, "numFailures").await, 1);
    let regs = registrations(&mut c).await?;
    let err: String = redis::from_redis_value(regs[0].2["lastError"].clone())?;
    assert!(err.contains("MaxTriggerDepth"), "{err}");
    // The async form of the same loop also stops.
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'aloop')).register(prefix='aloop')",
    )
    .await?;
    let _: () = c.set("aloop", 0).await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.get::<_, Option<i64>>("aloop").await.ok().flatten() == Some(5) }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n: i64 = c.get("aloop").await?;
    assert_eq!(n, 5);
    Ok(())
}

#[tokio::test]
async fn paused_keys_registration_skips_and_counts_events() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'n')).register(prefix='p*', mode='sync')",
    )
    .await?;
    let id = registrations(&mut c).await?[0].0.clone();
    let _: () = c.set("p1", 1).await?;
    let ok: String = redis::cmd("RG.PAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    for i in 0..3 {
        let _: () = c.set(format!("p{i}"), i).await?;
    }
    let n: i64 = c.get("n").await?;
    assert_eq!(n, 1, "no event processed while paused");
    assert_eq!(stat(&mut c, "numSkipped").await, 3);
    let _: String = redis::cmd("RG.UNPAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    let _: () = c.set("p9", 9).await?;
    let n: i64 = c.get("n").await?;
    assert_eq!(n, 2);
    let err = redis::cmd("RG.PAUSEREGISTRATIONS")
        .arg("nope")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&err).contains("Execution nope does not exists on shard"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn stream_registration_processes_batches_and_trims() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('StreamReader').foreach(lambda r: execute('rpush', 'seen', r['value']['n'])).register(prefix='s*', batch=3)",
    )
    .await?;
    for n in 0..3 {
        let _: String = redis::cmd("XADD")
            .arg("s1")
            .arg("*")
            .arg("n")
            .arg(n)
            .query_async(&mut c)
            .await?;
    }
    eventually(T, || {
        let mut c = c.clone();
        async move { c.llen::<_, i64>("seen").await.unwrap_or(0) == 3 }
    })
    .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move {
            redis::cmd("XLEN")
                .arg("s1")
                .query_async::<i64>(&mut c)
                .await
                .unwrap_or(-1)
                == 0
        }
    })
    .await?;
    let seen: Vec<String> = c.lrange("seen", 0, -1).await?;
    assert_eq!(seen, vec!["0", "1", "2"]);
    let regs = registrations(&mut c).await?;
    assert_eq!(regs[0].1, "StreamReader");
    let status: String = redis::from_redis_value(regs[0].2["status"].clone())?;
    assert_eq!(status, "OK");
    Ok(())
}

#[tokio::test]
async fn stream_registration_keeps_position_across_pause() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('StreamReader').foreach(lambda r: execute('rpush', 'seen', r['value']['n'])).register(prefix='q', mode='sync', trimStream=False)",
    )
    .await?;
    let id = registrations(&mut c).await?[0].0.clone();
    let _: String = redis::cmd("XADD")
        .arg("q")
        .arg("*")
        .arg("n")
        .arg(1)
        .query_async(&mut c)
        .await?;
    let _: String = redis::cmd("RG.PAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    let _: String = redis::cmd("XADD")
        .arg("q")
        .arg("*")
        .arg("n")
        .arg(2)
        .query_async(&mut c)
        .await?;
    let _: String = redis::cmd("XADD")
        .arg("q")
        .arg("*")
        .arg("n")
        .arg(3)
        .query_async(&mut c)
        .await?;
    let seen: Vec<String> = c.lrange("seen", 0, -1).await?;
    assert_eq!(seen, vec!["1"], "nothing processed while paused");
    let regs = registrations(&mut c).await?;
    let status: String = redis::from_redis_value(regs[0].2["status"].clone())?;
    assert_eq!(status, "PAUSED");
    let _: String = redis::cmd("RG.UNPAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.llen::<_, i64>("seen").await.unwrap_or(0) == 3 }
    })
    .await?;
    let seen: Vec<String> = c.lrange("seen", 0, -1).await?;
    assert_eq!(
        seen,
        vec!["1", "2", "3"],
        "resumed from its position, nothing twice"
    );
    Ok(())
}

#[tokio::test]
async fn stream_function_pauses_itself_with_flat_error() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "def f(r):\n    if execute('get', 'stop') == '1':\n        flatError('PAUSE stop requested')\n    execute('incr', 'done')\nGB('StreamReader').foreach(f).register(prefix='z', mode='sync')",
    )
    .await?;
    let id = registrations(&mut c).await?[0].0.clone();
    let _: String = redis::cmd("XADD")
        .arg("z")
        .arg("*")
        .arg("a")
        .arg(1)
        .query_async(&mut c)
        .await?;
    let _: () = c.set("stop", 1).await?;
    let _: String = redis::cmd("XADD")
        .arg("z")
        .arg("*")
        .arg("a")
        .arg(2)
        .query_async(&mut c)
        .await?;
    let regs = registrations(&mut c).await?;
    let status: String = redis::from_redis_value(regs[0].2["status"].clone())?;
    assert_eq!(status, "PAUSED");
    let err: String = redis::from_redis_value(regs[0].2["lastError"].clone())?;
    assert_eq!(err, "PAUSE stop requested");
    let done: i64 = c.get("done").await?;
    assert_eq!(done, 1);
    let _: () = c.set("stop", 0).await?;
    let _: String = redis::cmd("RG.UNPAUSEREGISTRATIONS")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.get::<_, i64>("done").await.unwrap_or(0) == 2 }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn stream_abort_policy_stops_the_registration() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "def f(r):\n    raise Exception('always')\nGB('StreamReader').foreach(f).register(prefix='ab', onFailedPolicy='abort')",
    )
    .await?;
    let _: String = redis::cmd("XADD")
        .arg("ab")
        .arg("*")
        .arg("a")
        .arg(1)
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move {
            match registrations(&mut c).await {
                Ok(r) => {
                    r[0].2.get("status") == Some(&redis::Value::BulkString(b"ABORTED".to_vec()))
                }
                Err(_) => false,
            }
        }
    })
    .await?;
    assert_eq!(stat(&mut c, "numFailures").await, 1);
    Ok(())
}

#[tokio::test]
async fn command_reader_triggers_sync_and_async() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').flatmap(lambda x: x).distinct().sort().register(trigger='words')",
    )
    .await?;
    let r: Vec<String> = redis::cmd("RG.TRIGGER")
        .arg("words")
        .arg(&["this", "is", "a", "test"])
        .query_async(&mut c)
        .await?;
    assert_eq!(r, vec!["a", "is", "test", "this", "words"]);
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda x: len(x)).register(trigger='count', mode='sync', convertToStr=False)",
    )
    .await?;
    let r: Vec<i64> = redis::cmd("RG.TRIGGER")
        .arg("count")
        .arg(&["a", "b"])
        .query_async(&mut c)
        .await?;
    assert_eq!(r, vec![3]);
    let err = redis::cmd("RG.TRIGGER")
        .arg("nosuch")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(err_text(&err), "ERR subcommand not found");
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda x: noexists).register(trigger='broken')",
    )
    .await?;
    let err = redis::cmd("RG.TRIGGER")
        .arg("broken")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&err).contains("'noexists' is not defined"),
        "{err}"
    );
    let dup = pyexec(&mut c, "GB('CommandReader').register(trigger='count')")
        .await
        .unwrap_err();
    assert!(
        err_text(&dup).contains("trigger already registered"),
        "{dup}"
    );
    // Trigger executions do not stay in RG.DUMPEXECUTIONS.
    let execs: Vec<redis::Value> = redis::cmd("RG.DUMPEXECUTIONS").query_async(&mut c).await?;
    assert!(execs.is_empty(), "{execs:?}");
    Ok(())
}

#[tokio::test]
async fn async_trigger_inside_multi_is_refused() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(&mut c, "GB('CommandReader').register(trigger='t')").await?;
    let mut raw = gears_tests::RawConn::connect(srv.addr()).await?;
    raw.send(b"MULTI\r\nRG.TRIGGER t\r\nEXEC\r\n").await?;
    let got = raw.read_until(b"loading.\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+QUEUED\r\n*1\r\n-ERR can not run a non-sync execution inside a MULTI/LUA (blocking is not allowed) or on loading.\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn upgrade_replaces_registrations_and_unregister_stops_them() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let first = redis::cmd("RG.PYEXECUTE")
        .arg("GB('CommandReader').map(lambda x: 'v1').register(trigger='ver', mode='sync')")
        .arg("ID")
        .arg("app")
        .query_async::<redis::Value>(&mut c)
        .await?;
    assert_eq!(first, redis::Value::Okay);
    let again = redis::cmd("RG.PYEXECUTE")
        .arg("GB('CommandReader').register(trigger='ver')")
        .arg("ID")
        .arg("app")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&again).contains("Session app already exists"),
        "{again}"
    );
    let up = redis::cmd("RG.PYEXECUTE")
        .arg("GB('CommandReader').map(lambda x: 'v2').register(trigger='ver', mode='sync')")
        .arg("ID")
        .arg("app")
        .arg("UPGRADE")
        .query_async::<redis::Value>(&mut c)
        .await?;
    assert_eq!(up, redis::Value::Okay);
    let r: Vec<String> = redis::cmd("RG.TRIGGER")
        .arg("ver")
        .query_async(&mut c)
        .await?;
    assert_eq!(r, vec!["v2"]);
    let regs = registrations(&mut c).await?;
    assert_eq!(regs.len(), 1, "the old registration is gone");
    let ok: String = redis::cmd("RG.UNREGISTER")
        .arg(&regs[0].0)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    assert!(registrations(&mut c).await?.is_empty());
    let sessions: Vec<redis::Value> = redis::cmd("RG.PYDUMPSESSIONS").query_async(&mut c).await?;
    assert!(
        sessions.is_empty(),
        "a session without registrations is gone"
    );
    let err = redis::cmd("RG.UNREGISTER")
        .arg(&regs[0].0)
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err_text(&err).contains("execution is not registered"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn unregister_while_events_arrive_is_safe() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('incr', 'hits')).register(prefix='u*')",
    )
    .await?;
    let id = registrations(&mut c).await?[0].0.clone();
    let mut writer = srv.client().await?;
    let w = tokio::spawn(async move {
        for i in 0..500 {
            let _: () = writer.set(format!("u{i}"), i).await.expect("set");
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _: String = redis::cmd("RG.UNREGISTER")
        .arg(&id)
        .arg("abortpending")
        .query_async(&mut c)
        .await?;
    w.await?;
    let before: Option<i64> = c.get("hits").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Option<i64> = c.get("hits").await?;
    assert_eq!(before, after, "nothing runs after unregister");
    assert!(after.unwrap_or(0) < 500);
    let pong: String = redis::cmd("PING").query_async(&mut c).await?;
    assert_eq!(pong, "PONG");
    Ok(())
}

#[tokio::test]
async fn dumpregistrations_shape_and_clear_stats() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('StreamReader', desc='my stream').register(prefix='st', batch=2, duration=50)",
    )
    .await?;
    let v: Vec<Vec<redis::Value>> = redis::cmd("RG.DUMPREGISTRATIONS")
        .query_async(&mut c)
        .await?;
    let names: Vec<String> = v[0]
        .iter()
        .step_by(2)
        .map(|x| redis::from_redis_value(x.clone()).unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        vec![
            "id",
            "reader",
            "desc",
            "RegistrationData",
            "PD",
            "ExecutionThreadPool"
        ]
    );
    let desc: String = redis::from_redis_value(v[0][5].clone())?;
    assert_eq!(desc, "my stream");
    let redis::Value::Array(data) = &v[0][7] else {
        anyhow::bail!("data")
    };
    let fields: Vec<String> = data
        .iter()
        .step_by(2)
        .map(|x| redis::from_redis_value(x.clone()).unwrap_or_default())
        .collect();
    assert_eq!(
        &fields[..13],
        &[
            "mode",
            "numTriggered",
            "numSuccess",
            "numFailures",
            "numAborted",
            "lastRunDurationMS",
            "totalRunDurationMS",
            "avgRunDurationMS",
            "lastEstimatedLagMS",
            "avgEstimatedLagMS",
            "lastError",
            "args",
            "status"
        ]
    );
    let _: String = redis::cmd("XADD")
        .arg("st")
        .arg("*")
        .arg("a")
        .arg(1)
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { stat(&mut c, "numSuccess").await == 1 }
    })
    .await?;
    let ok: String = redis::cmd("RG.CLEARREGISTRATIONSSTATS")
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    assert_eq!(stat(&mut c, "numTriggered").await, 0);
    assert_eq!(stat(&mut c, "numSuccess").await, 0);
    Ok(())
}

#[tokio::test]
async fn async_keys_burst_counts_each_event_as_its_own_execution() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().map(lambda r: '%s=%s' % (r['key'], r['value'])).foreach(lambda r: execute('rpush', 'seen', r)).register(prefix='burst:*', mode='async_local')",
    )
    .await?;
    // One pipeline: the events queue up faster than they run, so the worker drains them in
    // runs; every event still is one execution with its own id, counters and results.
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.set(format!("burst:{i}"), i).ignore();
    }
    let _: () = pipe.query_async(&mut c).await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { stat(&mut c, "numSuccess").await == 300 }
    })
    .await?;
    assert_eq!(stat(&mut c, "numTriggered").await, 300);
    assert_eq!(stat(&mut c, "numFailures").await, 0);
    let seen: Vec<String> = c.lrange("seen", 0, -1).await?;
    let want: Vec<String> = (0..300).map(|i| format!("burst:{i}={i}")).collect();
    assert_eq!(seen, want, "executions run one by one, in event order");
    // MaxExecutionsPerRegistration (100) keeps the newest executions, each with its record.
    let execs: Vec<Vec<redis::Value>> = redis::cmd("RG.DUMPEXECUTIONS").query_async(&mut c).await?;
    assert_eq!(execs.len(), 100);
    let mut ids: Vec<String> = execs
        .iter()
        .map(|e| redis::from_redis_value(e[1].clone()).unwrap_or_default())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "every execution has its own id");
    let last = execs
        .iter()
        .map(|e| redis::from_redis_value::<String>(e[1].clone()).unwrap_or_default())
        .max_by_key(|id| id.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()))
        .unwrap_or_default();
    let res: (Vec<String>, Vec<String>) = redis::cmd("RG.GETRESULTS")
        .arg(&last)
        .query_async(&mut c)
        .await?;
    assert_eq!(res, (vec!["burst:299=299".to_string()], vec![]));
    Ok(())
}

#[tokio::test]
async fn queued_async_key_events_read_the_value_when_they_run() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda r: execute('rpush', 'log', '%s=%s' % (r['key'], r['value']))).foreach(lambda r: execute('set', 'chain:b', 'x') if r['key'] == 'chain:a' else None).register(prefix='chain:*', mode='async_local')",
    )
    .await?;
    // Both events are queued by one command; the first execution rewrites the second key
    // before the second execution runs, which must see the new value.
    let _: () = redis::pipe()
        .atomic()
        .set("chain:a", 1)
        .ignore()
        .set("chain:b", 1)
        .ignore()
        .query_async(&mut c)
        .await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { stat(&mut c, "numSuccess").await == 3 }
    })
    .await?;
    let log: Vec<String> = c.lrange("log", 0, -1).await?;
    assert_eq!(log, vec!["chain:a=1", "chain:b=x", "chain:b=x"]);
    Ok(())
}
