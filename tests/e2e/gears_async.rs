//! RedisGears 1.2 asynchronous Python features end to end (RG.PYEXECUTE through the `redis`
//! crate): `async def` steps and coroutines, `gearsFuture()`, `isAsyncAllow()`, awaiting
//! `run()`, the asyncio helpers, `registerTE` timers, RG.PYPROFILE and step profiling.

use std::time::Duration;

use gears_tests::{TestServer, eventually};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, RedisError, Value};

/// `[results, errors]` of a blocking RG.PYEXECUTE.
type Outcome = (Vec<String>, Vec<String>);

async fn pyexec(c: &mut MultiplexedConnection, code: &str) -> anyhow::Result<Outcome> {
    Ok(redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .query_async::<Outcome>(c)
        .await?)
}

/// The error text as it was on the wire (after the `-`).
fn wire(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

async fn pyexec_err(c: &mut MultiplexedConnection, code: &str) -> anyhow::Result<String> {
    match redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .query_async::<Value>(c)
        .await
    {
        Ok(v) => anyhow::bail!("expected an error, got {v:?}"),
        Err(e) => Ok(wire(&e)),
    }
}

async fn cmd_err(c: &mut MultiplexedConnection, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query_async::<Value>(c).await {
        Ok(v) => anyhow::bail!("{args:?}: expected an error, got {v:?}"),
        Err(e) => Ok(wire(&e)),
    }
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn async_steps_coroutine_results_flow_through_every_step() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                async def c(r):\n    await asyncio.sleep(0.05)\n    return r\n\
                GB('ShardsIDReader').map(c).flatmap(c).foreach(c).filter(c).count().run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["1"]), vec![]));
    Ok(())
}

#[tokio::test]
async fn async_map_over_keys_returns_coroutine_values() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for k in ["x", "y", "z"] {
        let _: () = c.set(k, format!("v{k}")).await?;
    }
    let code = "import asyncio\n\
                async def c(r):\n    await asyncio.sleep(0.01)\n    return r['key'] + '=' + r['value']\n\
                GB().map(c).sort().run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["x=vx", "y=vy", "z=vz"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn async_filter_uses_the_coroutine_truth() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for k in ["a1", "a2", "b1"] {
        let _: () = c.set(k, "1").await?;
    }
    let code = "async def keep(r):\n    return r['key'].startswith('a')\n\
                GB().filter(keep).map(lambda r: r['key']).sort().run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["a1", "a2"]), vec![]));
    Ok(())
}

#[tokio::test]
async fn async_accumulate_and_groupby_reducers_may_be_coroutines() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for k in ["a", "b", "c"] {
        let _: () = c.set(k, "1").await?;
    }
    let code = "async def acc(a, r):\n    return (a if a else 0) + 1\n\
                GB().accumulate(acc).run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["3"]), vec![]));
    let code = "async def red(k, a, r):\n    return (a if a else 0) + 1\n\
                GB().groupby(lambda r: 'all', red).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["{'key': 'all', 'value': 3}"]), vec![])
    );
    let code = "async def red(k, a, r):\n    return (a if a else 0) + 1\n\
                GB().localgroupby(lambda r: 'all', red).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["{'key': 'all', 'value': 3}"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn async_coroutine_exception_is_an_error_without_traceback() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                async def c(r):\n    await asyncio.sleep(0.05)\n    raise Exception('failed')\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(pyexec(&mut c, code).await?, (vec![], strs(&["failed"])));
    Ok(())
}

#[tokio::test]
async fn async_coroutines_are_refused_on_extractors_and_batch_reducers() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "async def c(r):\n    return r\n\
                GB('ShardsIDReader').map(c).repartition(c).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (vec![], strs(&["coroutine are not allow on extractor"]))
    );
    let code = "async def c(r):\n    return r\n\
                GB('ShardsIDReader').groupby(c, lambda k, a, r: r).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (vec![], strs(&["coroutine are not allow on extractor"]))
    );
    let code = "async def reduce(k, l):\n    return l\n\
                GB('ShardsIDReader').batchgroupby(lambda x: x, reduce).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (vec![], strs(&["coroutine are not allow on reduce"]))
    );
    Ok(())
}

#[tokio::test]
async fn async_await_inside_atomic_is_an_error() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                async def c(r):\n    with atomic():\n        await asyncio.sleep(0.1)\n    return r\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (vec![], strs(&["await is not allow inside atomic block"]))
    );
    // The atomic block was left: the keyspace is usable.
    let _: () = c.set("after", "1").await?;
    Ok(())
}

#[tokio::test]
async fn async_coroutines_execute_commands_in_their_session() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                counter = 41\n\
                async def c(r):\n    global counter\n    await asyncio.sleep(0.01)\n    counter += 1\n    execute('set', 'from_coro', counter)\n    return execute('get', 'from_coro')\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["42"]), vec![]));
    let v: String = c.get("from_coro").await?;
    assert_eq!(v, "42");
    Ok(())
}

#[tokio::test]
async fn async_coroutines_keep_their_session_across_gather() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                async def part(x):\n    await asyncio.sleep(0.01)\n    return execute('incr', 'parts')\n\
                async def c(r):\n    done = await asyncio.gather(part(1), part(2), part(3))\n    return [sorted(done), execute('get', 'parts'), len(GB().gearsCtx.__class__.__name__)]\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["[[1, 2, 3], '3', 15]"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn future_continued_from_another_thread_is_the_step_result() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import threading, time\n\
                def block(r):\n    f = gearsFuture()\n    def later():\n        time.sleep(0.1)\n        f.continueRun(['continued', r])\n    threading.Thread(target=later).start()\n    return f\n\
                GB('ShardsIDReader').map(block).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["['continued', '1']"]), vec![])
    );
    let code = "import threading, time\n\
                def block(r):\n    f = gearsFuture()\n    def later():\n        time.sleep(0.1)\n        f.continueRun([1, 2, 3])\n    threading.Thread(target=later).start()\n    return f\n\
                GB('ShardsIDReader').flatmap(block).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["3", "2", "1"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn future_continue_failed_is_a_bare_error() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import threading, time\n\
                def block(k, a, r):\n    f = gearsFuture()\n    def later():\n        time.sleep(0.05)\n        f.continueFailed('Failed')\n    threading.Thread(target=later).start()\n    return f\n\
                GB('ShardsIDReader').groupby(lambda r: 'key', block).run()";
    assert_eq!(pyexec(&mut c, code).await?, (vec![], strs(&["Failed"])));
    Ok(())
}

#[tokio::test]
async fn future_resolved_with_set_future_results_from_a_thread() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import threading\n\
                async def c(r):\n    a = createFuture()\n    b = createFuture()\n    threading.Thread(target=lambda: setFutureResults(a, 'from-thread')).start()\n    threading.Thread(target=lambda: setFutureException(b, 'no luck')).start()\n    try:\n        await b\n    except Exception as e:\n        return [await a, str(e)]\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["['from-thread', 'no luck']"]), vec![])
    );
    // runCoroutine continues a gears future with the coroutine's result.
    let code = "async def double(x):\n    return x * 2\n\
                def m(r):\n    f = gearsFuture()\n    runCoroutine(double(r), f, delay=0.05)\n    return f\n\
                GB('ShardsIDReader').map(m).run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["11"]), vec![]));
    Ok(())
}

#[tokio::test]
async fn future_misuse_has_redisgears_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        pyexec_err(&mut c, "gearsFuture()").await?,
        "['Traceback (most recent call last):\\n', '  File \"<string>\", line 1, in <module>\\n', \
         'gears.error: Future object can only be created inside certain execution steps\\n']"
    );
    let code = "def m(r):\n    return gearsFuture()\nGB('ShardsIDReader').map(m).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (vec![], strs(&["Async record did not called continue"]))
    );
    let cases = [
        (
            "def m(r):\n    f = gearsFuture()\n    f.continueRun(r)\n    return f\nGB('ShardsIDReader').map(m).run()",
            "Can not handle future untill it returned from the callback",
        ),
        (
            "def m(r):\n    gearsFuture()\n    gearsFuture()\n    return r\nGB('ShardsIDReader').map(m).run()",
            "Can not create async record twice on the same step",
        ),
        (
            "GB('ShardsIDReader').map(lambda r: gearsFuture(1)).run()",
            "Future gets no arguments",
        ),
        (
            "GB('ShardsIDReader').repartition(lambda x: gearsFuture()).run()",
            "Step does not support async",
        ),
        (
            "GB('ShardsIDReader').batchgroupby(lambda x: x, lambda k, l: gearsFuture()).run()",
            "Step does not support async",
        ),
    ];
    for (code, text) in cases {
        let (results, errors) = pyexec(&mut c, code).await?;
        assert!(results.is_empty(), "{code}: {results:?}");
        assert_eq!(errors.len(), 1, "{code}: {errors:?}");
        assert!(errors[0].contains(text), "{code}: {errors:?}");
        assert!(errors[0].starts_with("['Traceback"), "{code}: {errors:?}");
    }
    Ok(())
}

#[tokio::test]
async fn future_created_but_not_returned_is_discarded() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "kept = []\n\
                def m(r):\n    kept.append(gearsFuture())\n    return r + '!'\n\
                GB('ShardsIDReader').map(m).run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["1!"]), vec![]));
    // Accumulating steps take None, even when the callback raised (as RedisGears).
    let code = "kept = []\n\
                def acc(a, r):\n    kept.append(gearsFuture())\n    raise Exception('test')\n\
                GB('ShardsIDReader').accumulate(acc).run()";
    assert_eq!(pyexec(&mut c, code).await?, (strs(&["None"]), vec![]));
    let code = "kept = []\n\
                def red(k, a, r):\n    kept.append(gearsFuture())\n    return r\n\
                GB('ShardsIDReader').groupby(lambda x: 'key', red).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["{'key': 'key', 'value': None}"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn is_async_allow_true_in_steps_false_at_top_level() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "top = isAsyncAllow()\n\
                GB('ShardsIDReader').map(lambda r: (isAsyncAllow(), top)).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["(True, False)"]), vec![])
    );
    Ok(())
}

#[tokio::test]
async fn run_awaited_inside_a_step_yields_results_and_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for k in ["x", "y", "z"] {
        let _: () = c.set(k, "1").await?;
    }
    let code = "async def c(r):\n    res = await GB().map(lambda x: x['key']).run()\n    return res[0]\n\
                GB('ShardsIDReader').flatmap(c).sort().run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["x", "y", "z"]), vec![])
    );
    let code = "async def c(r):\n    return await GB('ShardsIDReader').map(lambda x: notexists(x)).run()\n\
                GB('ShardsIDReader').map(lambda r: r).map(c).map(lambda res: [type(res).__name__, len(res), res[0], 'notexists' in res[1][0]]).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["['list', 2, [], True]"]), vec![])
    );
    let code = "async def c(r):\n    return await GB('ShardsIDReader').map(lambda x: {'n': 1}).run(convertToStr=False)\n\
                GB('ShardsIDReader').map(c).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["[[{'n': 1}], []]"]), vec![])
    );
    // Finished executions started by running code are dropped.
    eventually(WAIT, || {
        let mut c = c.clone();
        async move {
            redis::cmd("RG.DUMPEXECUTIONS")
                .query_async::<Vec<Value>>(&mut c)
                .await
                .is_ok_and(|v| v.is_empty())
        }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn run_inside_a_step_can_continue_the_steps_future() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "def unblock(f):\n    f.continueRun('unblocked')\n\
                def block(r):\n    f = gearsFuture()\n    GB('ShardsIDReader').foreach(lambda x: unblock(f)).run()\n    return f\n\
                GB('ShardsIDReader').map(block).run()";
    for _ in 0..3 {
        assert_eq!(pyexec(&mut c, code).await?, (strs(&["unblocked"]), vec![]));
    }
    Ok(())
}

#[tokio::test]
async fn abort_while_awaiting_a_coroutine_aborts_the_execution() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "import asyncio\n\
                async def slow(x):\n    await asyncio.sleep(30)\n    return x\n\
                GB('ShardsIDReader').map(slow).run()";
    let id: String = redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .arg("UNBLOCKING")
        .query_async(&mut c)
        .await?;
    eventually(WAIT, || {
        let (mut c, id) = (c.clone(), id.clone());
        async move {
            let dump: redis::RedisResult<Vec<Vec<Value>>> =
                redis::cmd("RG.DUMPEXECUTIONS").query_async(&mut c).await;
            dump.is_ok_and(|d| {
                d.iter().any(|e| {
                    e.get(1) == Some(&Value::BulkString(id.clone().into_bytes()))
                        && e.get(3) == Some(&Value::BulkString(b"running".to_vec()))
                })
            })
        }
    })
    .await?;
    let ok: String = redis::cmd("RG.ABORTEXECUTION")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    let got = tokio::time::timeout(
        Duration::from_secs(5),
        redis::cmd("RG.GETRESULTSBLOCKING")
            .arg(&id)
            .query_async::<Outcome>(&mut c),
    )
    .await??;
    assert_eq!(got, (vec![], strs(&["Execution was aborted"])));
    Ok(())
}

#[tokio::test]
async fn register_te_calls_back_periodically() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "def tick():\n    execute('incr', 'ticks')\nregisterTE(1, tick)";
    let ok: String = redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    eventually(WAIT, || {
        let mut c = c.clone();
        async move {
            let n: redis::RedisResult<Option<i64>> = c.get("ticks").await;
            n.is_ok_and(|n| n.unwrap_or(0) >= 2)
        }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn register_te_with_a_key_registers_once_and_stops_on_del() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "def tick():\n    execute('incr', 'kticks')\n\
                first = registerTE(1, tick, 'te_key')\n\
                second = registerTE(1, tick, 'te_key')\n\
                GB('ShardsIDReader').map(lambda r: (first, second)).run()";
    assert_eq!(
        pyexec(&mut c, code).await?,
        (strs(&["(True, False)"]), vec![])
    );
    let exists: i64 = c.exists("te_key").await?;
    assert_eq!(exists, 1);
    eventually(WAIT, || {
        let mut c = c.clone();
        async move {
            let n: redis::RedisResult<Option<i64>> = c.get("kticks").await;
            n.is_ok_and(|n| n.unwrap_or(0) >= 1)
        }
    })
    .await?;
    let _: i64 = c.del("te_key").await?;
    let seen: i64 = c.get("kticks").await?;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let later: i64 = c.get("kticks").await?;
    assert!(later <= seen + 1, "timer kept running: {seen} -> {later}");
    Ok(())
}

#[tokio::test]
async fn register_te_failing_callback_stops_and_arguments_are_checked() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = "def tick():\n    execute('incr', 'failing')\n    raise Exception('boom')\nregisterTE(1, tick)";
    let _: String = redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .query_async(&mut c)
        .await?;
    eventually(WAIT, || {
        let mut c = c.clone();
        async move {
            let n: redis::RedisResult<Option<i64>> = c.get("failing").await;
            n.is_ok_and(|n| n == Some(1))
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let n: i64 = c.get("failing").await?;
    assert_eq!(n, 1);
    for (code, text) in [
        ("registerTE(2, 2)", "callback must be a function"),
        (
            "registerTE('2', lambda x: str(x))",
            "time argument must be a long",
        ),
        ("registerTE(2)", "not enough arguments for time event"),
    ] {
        let e = pyexec_err(&mut c, code).await?;
        assert!(e.ends_with(&format!("'gears.error: {text}\\n']")), "{e}");
    }
    Ok(())
}

#[tokio::test]
async fn pyprofile_stats_report_profiled_callbacks() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let set: Vec<String> = redis::cmd("RG.CONFIGSET")
        .arg("ProfileExecutions")
        .arg("1")
        .query_async(&mut c)
        .await?;
    assert_eq!(set, strs(&["OK"]));
    // A registration links the session (RG.PYPROFILE finds linked sessions only); the run
    // goes on after the reply.
    let code = "def map_func(x):\n    return x\n\
                GB().register('never-matches:*')\n\
                GB('ShardsIDReader').map(map_func).run()";
    let ok: String = redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .arg("ID")
        .arg("prof")
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    eventually(WAIT, || {
        let mut c = c.clone();
        async move {
            let s: redis::RedisResult<String> = redis::cmd("RG.PYPROFILE")
                .arg("STATS")
                .arg("prof")
                .query_async(&mut c)
                .await;
            s.is_ok_and(|s| s.contains("map_func"))
        }
    })
    .await?;
    let stats: String = redis::cmd("RG.PYPROFILE")
        .arg("STATS")
        .arg("prof")
        .arg("cumtime")
        .query_async(&mut c)
        .await?;
    assert!(stats.contains("function calls"), "{stats}");
    assert!(stats.contains("Ordered by: internal time"), "{stats}");
    assert!(stats.contains("ncalls"), "{stats}");
    let ok: String = redis::cmd("RG.PYPROFILE")
        .arg("reset")
        .arg("prof")
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    let e = cmd_err(&mut c, &["RG.PYPROFILE", "STATS", "prof"]).await?;
    assert!(
        e.contains("TypeError: Cannot create or construct a <class 'pstats.Stats'> object"),
        "{e}"
    );
    Ok(())
}

#[tokio::test]
async fn pyprofile_errors_match_redisgears() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let arity = "ERR wrong number of arguments for 'RG.PYPROFILE' command";
    for args in [
        &["RG.PYPROFILE"][..],
        &["RG.PYPROFILE", "STATS"],
        &["RG.PYPROFILE", "STATS", "a", "b", "c"],
        &["RG.PYPROFILE", "RESET"],
        &["RG.PYPROFILE", "RESET", "a", "b"],
    ] {
        assert_eq!(cmd_err(&mut c, args).await?, arity, "{args:?}");
    }
    assert_eq!(
        cmd_err(&mut c, &["RG.PYPROFILE", "DUMP", "x"]).await?,
        "Wrong subcommand given to RG.PYPROFILE"
    );
    for sub in ["STATS", "RESET"] {
        assert_eq!(
            cmd_err(
                &mut c,
                &[
                    "RG.PYPROFILE",
                    sub,
                    "0000000000000000000000000000000000000000-0"
                ]
            )
            .await?,
            "session does not exists"
        );
    }
    Ok(())
}

#[tokio::test]
async fn profile_executions_measures_async_step_durations() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: Vec<String> = redis::cmd("RG.CONFIGSET")
        .arg("ProfileExecutions")
        .arg("1")
        .query_async(&mut c)
        .await?;
    let code = "import asyncio\n\
                async def slow(r):\n    await asyncio.sleep(0.2)\n    return r\n\
                GB('ShardsIDReader').map(slow).run()";
    let id: String = redis::cmd("RG.PYEXECUTE")
        .arg(code)
        .arg("UNBLOCKING")
        .query_async(&mut c)
        .await?;
    let got: Outcome = redis::cmd("RG.GETRESULTSBLOCKING")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    assert_eq!(got, (strs(&["1"]), vec![]));
    let exec: Value = redis::cmd("RG.GETEXECUTION")
        .arg(&id)
        .query_async(&mut c)
        .await?;
    // [[shard_id, id, execution_plan, [.., steps, [[type, t, duration, ms, name, n, arg, a], ..]]]]
    let Value::Array(shards) = exec else {
        anyhow::bail!("{exec:?}")
    };
    let Some(Value::Array(shard)) = shards.first() else {
        anyhow::bail!("{shards:?}")
    };
    let Some(Value::Array(plan)) = shard.get(3) else {
        anyhow::bail!("{shard:?}")
    };
    let Some(Value::Array(steps)) = plan.last() else {
        anyhow::bail!("{plan:?}")
    };
    let mapper = steps
        .iter()
        .find_map(|s| match s {
            Value::Array(f)
                if f.get(5) == Some(&Value::BulkString(b"RedisGearsPy_PyCallbackMapper".to_vec()))
                    && f.get(7).is_some_and(|a| {
                        matches!(a, Value::BulkString(b) if String::from_utf8_lossy(b).contains("slow"))
                    }) =>
            {
                f.get(3).cloned()
            }
            _ => None,
        })
        .ok_or_else(|| anyhow::anyhow!("no mapper step in {steps:?}"))?;
    let Value::Int(ms) = mapper else {
        anyhow::bail!("{mapper:?}")
    };
    assert!(ms >= 150, "the mapper waited for its coroutine: {ms} ms");
    Ok(())
}
