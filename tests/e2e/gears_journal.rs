//! ABORT leaves no partial writes: every write an aborted execution made through `execute()` is
//! rolled back (values, deletions, TTLs, writes of the sync triggers it fired), except keys
//! another client wrote after it, whose later write wins.

use std::collections::HashMap;
use std::time::Duration;

use gears_tests::{TestServer, eventually};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

const T: Duration = Duration::from_secs(10);

/// Starts `code` UNBLOCKING and returns its execution id.
async fn start(c: &mut MultiplexedConnection, code: &str) -> anyhow::Result<String> {
    Ok(redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .arg("UNBLOCKING")
        .query_async(c)
        .await?)
}

/// Waits until the execution set the key `ready`, aborts it and waits for it to end.
async fn abort_when_ready(c: &mut MultiplexedConnection, id: &str) -> anyhow::Result<()> {
    eventually(T, || {
        let mut c = c.clone();
        async move { c.exists::<_, bool>("ready").await.unwrap_or(false) }
    })
    .await?;
    let ok: String = redis::cmd("RG.ABORTEXECUTION")
        .arg(id)
        .query_async(c)
        .await?;
    assert_eq!(ok, "OK");
    let (results, errors): (Vec<String>, Vec<String>) = tokio::time::timeout(
        T,
        redis::cmd("RG.GETRESULTSBLOCKING").arg(id).query_async(c),
    )
    .await??;
    assert!(results.is_empty(), "{results:?}");
    assert_eq!(errors, vec!["Execution was aborted".to_string()]);
    Ok(())
}

const SPIN: &str = "    execute('set', 'ready', '1')\n    while True:\n        pass\n";

#[tokio::test]
async fn aborted_execution_rolls_back_its_writes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("pre", "orig").await?;
    let _: () = c.set("gone", "still here").await?;
    let _: () = c.hset("h", "f1", "v1").await?;
    let _: () = c.rpush("l", &["a", "b"]).await?;
    let _: () = c.set_ex("ttl", "t", 1000).await?;
    let _: () = c.set("untouched", "u").await?;
    let code = format!(
        "def f(x):\n    execute('set', 'pre', 'changed')\n    execute('set', 'new', '1')\n    \
         execute('del', 'gone')\n    execute('hset', 'h', 'f2', 'v2')\n    \
         execute('lpop', 'l')\n    execute('persist', 'ttl')\n    \
         execute('rename', 'untouched', 'renamed')\n    \
         execute('sadd', 's', 'm1', 'm2')\n{SPIN}\
         GB('ShardsIDReader').map(f).run()"
    );
    let id = start(&mut c, &code).await?;
    abort_when_ready(&mut c, &id).await?;

    assert_eq!(
        c.get::<_, Option<String>>("pre").await?.as_deref(),
        Some("orig")
    );
    assert!(!c.exists::<_, bool>("new").await?);
    assert!(!c.exists::<_, bool>("ready").await?);
    assert_eq!(
        c.get::<_, Option<String>>("gone").await?.as_deref(),
        Some("still here")
    );
    let h: HashMap<String, String> = c.hgetall("h").await?;
    assert_eq!(h, HashMap::from([("f1".to_string(), "v1".to_string())]));
    let l: Vec<String> = c.lrange("l", 0, -1).await?;
    assert_eq!(l, ["a", "b"]);
    let ttl: i64 = c.ttl("ttl").await?;
    assert!((990..=1000).contains(&ttl), "TTL not restored: {ttl}");
    assert_eq!(
        c.get::<_, Option<String>>("untouched").await?.as_deref(),
        Some("u")
    );
    assert!(!c.exists::<_, bool>("renamed").await?);
    assert!(!c.exists::<_, bool>("s").await?);
    let n: i64 = redis::cmd("DBSIZE").query_async(&mut c).await?;
    assert_eq!(n, 6, "only the keys written before the execution remain");
    Ok(())
}

#[tokio::test]
async fn a_later_write_by_another_client_wins_over_the_rollback() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("shared", "before").await?;
    let _: () = c.set("mine", "before").await?;
    let code = format!(
        "def f(x):\n    execute('set', 'shared', 'by-execution')\n    \
         execute('set', 'mine', 'by-execution')\n    execute('set', 'fresh', 'by-execution')\n{SPIN}\
         GB('ShardsIDReader').map(f).run()"
    );
    let id = start(&mut c, &code).await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.exists::<_, bool>("ready").await.unwrap_or(false) }
    })
    .await?;
    // Another client writes two of the keys after the execution did.
    let _: () = c.set("shared", "by-client").await?;
    let _: () = c.del("fresh").await?;
    abort_when_ready(&mut c, &id).await?;
    assert_eq!(
        c.get::<_, Option<String>>("shared").await?.as_deref(),
        Some("by-client")
    );
    assert_eq!(
        c.get::<_, Option<String>>("mine").await?.as_deref(),
        Some("before")
    );
    assert!(!c.exists::<_, bool>("fresh").await?);
    Ok(())
}

#[tokio::test]
async fn rollback_covers_the_sync_triggers_an_execution_fired() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let ok: String = redis::cmd("RG.PYEXECUTE")
        .arg(
            "GB().foreach(lambda r: execute('incr', 'derived:' + r['key']))\
             .register(prefix='src*', mode='sync', readValue=False)",
        )
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    let _: () = c.set("derived:src0", "10").await?;
    let code = format!(
        "def f(x):\n    execute('set', 'src0', 'a')\n    execute('set', 'src1', 'b')\n{SPIN}\
         GB('ShardsIDReader').map(f).run()"
    );
    let id = start(&mut c, &code).await?;
    eventually(T, || {
        let mut c = c.clone();
        async move { c.exists::<_, bool>("ready").await.unwrap_or(false) }
    })
    .await?;
    // The trigger ran inside the execution's writes.
    assert_eq!(c.get::<_, i64>("derived:src0").await?, 11);
    assert_eq!(c.get::<_, i64>("derived:src1").await?, 1);
    abort_when_ready(&mut c, &id).await?;
    assert!(!c.exists::<_, bool>("src0").await?);
    assert!(!c.exists::<_, bool>("src1").await?);
    assert_eq!(c.get::<_, i64>("derived:src0").await?, 10);
    assert!(!c.exists::<_, bool>("derived:src1").await?);
    Ok(())
}

#[tokio::test]
async fn finished_executions_keep_their_writes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let v: redis::Value = redis::cmd("RG.PYEXECUTE")
        .arg("GB('ShardsIDReader').foreach(lambda x: execute('set', 'kept', 'yes')).run()")
        .query_async(&mut c)
        .await?;
    assert!(matches!(v, redis::Value::Array(_)), "{v:?}");
    assert_eq!(
        c.get::<_, Option<String>>("kept").await?.as_deref(),
        Some("yes")
    );
    // A failing (not aborted) execution keeps its writes too, as in RedisGears.
    let v: redis::Value = redis::cmd("RG.PYEXECUTE")
        .arg(
            "def f(x):\n    execute('set', 'partial', 'yes')\n    raise Exception('boom')\n\
             GB('ShardsIDReader').foreach(f).run()",
        )
        .query_async(&mut c)
        .await?;
    assert!(matches!(v, redis::Value::Array(_)), "{v:?}");
    assert_eq!(
        c.get::<_, Option<String>>("partial").await?.as_deref(),
        Some("yes")
    );
    Ok(())
}

#[tokio::test]
async fn rollback_of_database_wide_writes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("a", "1").await?;
    let _: () = c.set("b", "2").await?;
    let _: () = redis::cmd("SELECT").arg(3).query_async(&mut c).await?;
    let _: () = c.set("in3", "x").await?;
    let _: () = redis::cmd("SELECT").arg(0).query_async(&mut c).await?;
    let code = format!(
        "def f(x):\n    execute('move', 'a', '5')\n    execute('swapdb', '0', '3')\n    \
         execute('flushall')\n{SPIN}\
         GB('ShardsIDReader').map(f).run()"
    );
    let id = start(&mut c, &code).await?;
    abort_when_ready(&mut c, &id).await?;
    assert_eq!(c.get::<_, Option<String>>("a").await?.as_deref(), Some("1"));
    assert_eq!(c.get::<_, Option<String>>("b").await?.as_deref(), Some("2"));
    assert!(!c.exists::<_, bool>("in3").await?);
    let _: () = redis::cmd("SELECT").arg(3).query_async(&mut c).await?;
    let keys: Vec<String> = c.keys("*").await?;
    assert_eq!(keys, ["in3"]);
    let _: () = redis::cmd("SELECT").arg(5).query_async(&mut c).await?;
    let n: i64 = redis::cmd("DBSIZE").query_async(&mut c).await?;
    assert_eq!(n, 0);
    Ok(())
}
