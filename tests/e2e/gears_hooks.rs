//! RedisGears command hooks (issue 5): CommandReader `hook=` registrations overriding commands
//! (with `call_next` chains and keyprefix filtering), KeysReader `commands=` registrations linked
//! to the client command (`override_reply`, `get_command`, the client waiting for async
//! executions), their register-time checks, RG.INNERHOOK, and `onRegistered`.

use std::collections::HashMap;
use std::time::Duration;

use gears_tests::{RawConn, TestServer, eventually};
use redis::Value;
use redis::aio::MultiplexedConnection;

const T: Duration = Duration::from_secs(10);

async fn pyexec(c: &mut MultiplexedConnection, code: &str) -> redis::RedisResult<Value> {
    redis::cmd("RG.PYEXECUTE").arg(code).query_async(c).await
}

async fn q(c: &mut MultiplexedConnection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

/// An error's full text (the redis crate splits off the first word as a "code").
fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(c), Some(d)) => format!("{c} {d}"),
        (Some(c), None) => c.to_string(),
        _ => e.to_string(),
    }
}

/// The error text of a command expected to fail.
async fn error_of(c: &mut MultiplexedConnection, args: &[&str]) -> String {
    match q(c, args).await {
        Ok(v) => format!("unexpected reply {v:?}"),
        Err(e) => err_text(&e),
    }
}

/// `(id, RegistrationData as name -> value)` of every registration.
async fn registrations(
    c: &mut MultiplexedConnection,
) -> anyhow::Result<Vec<(String, HashMap<String, Value>)>> {
    let v: Vec<Vec<Value>> = redis::cmd("RG.DUMPREGISTRATIONS").query_async(c).await?;
    let mut out = Vec::new();
    for reg in v {
        let id: String = redis::from_redis_value(reg[1].clone())?;
        let Value::Array(data) = &reg[7] else {
            anyhow::bail!("RegistrationData is not an array");
        };
        let mut map = HashMap::new();
        for pair in data.chunks(2) {
            let k: String = redis::from_redis_value(pair[0].clone())?;
            map.insert(k, pair[1].clone());
        }
        out.push((id, map));
    }
    Ok(out)
}

fn int(v: Option<&Value>) -> i64 {
    v.and_then(|v| redis::from_redis_value(v.clone()).ok())
        .unwrap_or(-1)
}

/// The counters of the registration `id`: numTriggered, numSuccess, numFailures, numAborted.
async fn counters(c: &mut MultiplexedConnection, id: &str) -> [i64; 4] {
    let regs = registrations(c).await.unwrap_or_default();
    let Some((_, d)) = regs.iter().find(|(i, _)| i == id) else {
        return [-1; 4];
    };
    [
        int(d.get("numTriggered")),
        int(d.get("numSuccess")),
        int(d.get("numFailures")),
        int(d.get("numAborted")),
    ]
}

async fn only_registration(c: &mut MultiplexedConnection) -> anyhow::Result<String> {
    let regs = registrations(c).await?;
    anyhow::ensure!(
        regs.len() == 1,
        "expected one registration, got {}",
        regs.len()
    );
    Ok(regs[0].0.clone())
}

/// Sends raw RESP and returns exactly as many bytes as `expected` has (for reply types).
async fn wire(srv: &TestServer, send: &[u8], expected: &str) -> anyhow::Result<()> {
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(send).await?;
    let got = raw.read_at_least(expected.len()).await?;
    assert_eq!(String::from_utf8_lossy(&got), expected);
    Ok(())
}

const LAST_MODIFIED: &str = "
def my_hset(r):
    t = str(execute('time')[0])
    new_args = r[1:] + ['_last_modified_', t]
    return call_next(*new_args)

GB('CommandReader').map(my_hset).register(hook='hset', mode='sync')
";

const TIMES_MODIFIED: &str = "
def my_hset(r):
    execute('hincrby', r[1], '_times_modified_', 1)
    return call_next(*r[1:])

GB('CommandReader').map(my_hset).register(hook='hset', mode='sync')
";

#[tokio::test]
async fn hook_sync_replaces_the_command_and_call_next_runs_it() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(pyexec(&mut c, LAST_MODIFIED).await?, Value::Okay);
    let id = only_registration(&mut c).await?;
    // The hook's one result is the reply: call_next's integer, made a string by convertToStr.
    wire(&srv, b"HSET k1 foo bar\r\n", "$1\r\n2\r\n").await?;
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("k1").query_async(&mut c).await?;
    assert_eq!(all.get("foo").map(String::as_str), Some("bar"));
    assert!(all.contains_key("_last_modified_"), "{all:?}");
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    let regs = registrations(&mut c).await?;
    assert_eq!(
        regs[0].1["args"],
        Value::Array(vec![
            bulk("trigger"),
            bulk("hset"),
            bulk("inorder"),
            Value::Int(0)
        ])
    );
    assert_eq!(regs[0].1["mode"], bulk("sync"));
    // Hook executions are dropped once they replied.
    assert_eq!(
        q(&mut c, &["RG.DUMPEXECUTIONS"]).await?,
        Value::Array(vec![])
    );
    // Other commands are not hooked.
    assert_eq!(q(&mut c, &["HGET", "k1", "foo"]).await?, bulk("bar"));
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    Ok(())
}

#[tokio::test]
async fn hook_chain_runs_the_last_registered_first() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(&mut c, LAST_MODIFIED).await?;
    pyexec(&mut c, TIMES_MODIFIED).await?;
    // times_modified runs first (HINCRBY adds a field), then last_modified, then HSET itself,
    // which adds foo and _last_modified_.
    assert_eq!(q(&mut c, &["HSET", "k1", "foo", "bar"]).await?, bulk("2"));
    assert_eq!(
        q(&mut c, &["HGET", "k1", "_times_modified_"]).await?,
        bulk("1")
    );
    assert_eq!(
        q(&mut c, &["HEXISTS", "k1", "_last_modified_"]).await?,
        Value::Int(1)
    );
    // The order, recorded by three hooks of one command.
    pyexec(
        &mut c,
        "
def hook(name):
    def f(r):
        execute('rpush', 'order', name)
        return call_next(*r[1:])
    return f
GB('CommandReader').map(hook('a')).register(hook='incr', mode='sync')
GB('CommandReader').map(hook('b')).register(hook='incr', mode='sync')
GB('CommandReader').map(hook('c')).register(hook='INCR', mode='sync', convertToStr=False)
",
    )
    .await?;
    // c returns what call_next gave it: b's reply, a string (b converts to str).
    assert_eq!(q(&mut c, &["INCR", "n"]).await?, bulk("1"));
    let order: Vec<String> = redis::cmd("LRANGE")
        .arg("order")
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await?;
    assert_eq!(order, vec!["c", "b", "a"]);
    Ok(())
}

#[tokio::test]
async fn hook_keyprefix_matches_the_command_keys() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: call_next(r[1], '_hooked_', '1', *r[2:])).register(hook='hset', keyprefix='h', mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    q(&mut c, &["HSET", "b1", "f", "v"]).await?;
    assert_eq!(
        q(&mut c, &["HEXISTS", "b1", "_hooked_"]).await?,
        Value::Int(0)
    );
    q(&mut c, &["HSET", "h1", "f", "v"]).await?;
    assert_eq!(
        q(&mut c, &["HEXISTS", "h1", "_hooked_"]).await?,
        Value::Int(1)
    );
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    // Any key of a multi-key command counts (MSET's keys are every other argument).
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: 'mset hooked').register(hook='mset', keyprefix='p:', mode='sync')",
    )
    .await?;
    assert_eq!(q(&mut c, &["MSET", "a", "1", "b", "2"]).await?, Value::Okay);
    assert_eq!(
        q(&mut c, &["MSET", "a", "1", "p:x", "2"]).await?,
        bulk("mset hooked")
    );
    // Values are not keys: "p:" as a value does not match.
    assert_eq!(q(&mut c, &["MSET", "a", "p:1"]).await?, Value::Okay);
    Ok(())
}

#[tokio::test]
async fn hook_keyprefix_chain_skips_hooks_whose_prefix_does_not_match() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "
GB('CommandReader').map(lambda r: call_next(r[1], 'A:' + r[2])).register(hook='set', keyprefix='a', mode='sync')
GB('CommandReader').map(lambda r: call_next(r[1], 'B:' + r[2])).register(hook='set', keyprefix='b', mode='sync')
GB('CommandReader').map(lambda r: call_next(r[1], 'ALL:' + r[2])).register(hook='set', mode='sync')
",
    )
    .await?;
    q(&mut c, &["SET", "a1", "v"]).await?;
    q(&mut c, &["SET", "b1", "v"]).await?;
    q(&mut c, &["SET", "c1", "v"]).await?;
    assert_eq!(q(&mut c, &["GET", "a1"]).await?, bulk("A:ALL:v"));
    assert_eq!(q(&mut c, &["GET", "b1"]).await?, bulk("B:ALL:v"));
    assert_eq!(q(&mut c, &["GET", "c1"]).await?, bulk("ALL:v"));
    Ok(())
}

#[tokio::test]
async fn hook_call_next_with_changed_args_and_reply_conversions() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: call_next(r[1], r[2].upper())).register(hook='set', mode='sync', convertToStr=False)",
    )
    .await?;
    // convertToStr=False: call_next's status reply comes back as the str 'OK', a bulk string.
    wire(&srv, b"SET k hello\r\n", "$2\r\nOK\r\n").await?;
    assert_eq!(q(&mut c, &["GET", "k"]).await?, bulk("HELLO"));
    // Reply conversions of the hook's result (rg-spec 2.7).
    pyexec(
        &mut c,
        "
def conv(r):
    kind = r[1]
    if kind == 'int': return 7
    if kind == 'status': return '+FINE'
    if kind == 'error': return '-BAD thing'
    if kind == 'list': return [1, 'a', [2]]
    if kind == 'float': return 1.5
    return None
GB('CommandReader').map(conv).register(hook='echo', mode='sync', convertToStr=False)
",
    )
    .await?;
    wire(&srv, b"ECHO int\r\n", ":7\r\n").await?;
    wire(&srv, b"ECHO status\r\n", "+FINE\r\n").await?;
    wire(&srv, b"ECHO error\r\n", "-BAD thing\r\n").await?;
    wire(
        &srv,
        b"ECHO list\r\n",
        "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n",
    )
    .await?;
    wire(&srv, b"ECHO float\r\n", "$8\r\n1.500000\r\n").await?;
    wire(&srv, b"ECHO none\r\n", "$9\r\nPY RECORD\r\n").await?;
    Ok(())
}

#[tokio::test]
async fn hook_must_return_exactly_one_result() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').flatmap(lambda x: x).register(hook='hset', mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    assert_eq!(
        error_of(&mut c, &["HSET", "h", "foo", "bar"]).await,
        "Command hook must return exactly one result"
    );
    pyexec(
        &mut c,
        "GB('CommandReader').filter(lambda x: False).register(hook='hset', mode='sync')",
    )
    .await?;
    assert_eq!(
        error_of(&mut c, &["HSET", "h", "foo", "bar"]).await,
        "Command hook must return exactly one result"
    );
    // Each execution itself succeeded (the second HSET ran only the new head); neither ran HSET.
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    assert_eq!(q(&mut c, &["EXISTS", "h"]).await?, Value::Int(0));
    Ok(())
}

#[tokio::test]
async fn hook_failure_is_the_client_error_and_server_stays_up() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: 1 / 0).register(hook='get', mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    let e = error_of(&mut c, &["GET", "x"]).await;
    assert!(
        e.starts_with("['Traceback (most recent call last):\\n'"),
        "{e}"
    );
    assert!(e.contains("ZeroDivisionError: division by zero"), "{e}");
    assert_eq!(counters(&mut c, &id).await, [1, 0, 1, 0]);
    let regs = registrations(&mut c).await?;
    let last: String = redis::from_redis_value(regs[0].1["lastError"].clone())?;
    assert_eq!(last, e);
    // call_next raising an error reply: the hook fails with gears.error and its text.
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: call_next(*r[1:])).register(hook='incr', mode='sync')",
    )
    .await?;
    q(&mut c, &["SET", "s", "text"]).await?;
    let e = error_of(&mut c, &["INCR", "s"]).await;
    assert!(
        e.ends_with("gears.error: ERR value is not an integer or out of range\\n']"),
        "{e}"
    );
    assert_eq!(
        q(&mut c, &["PING"]).await?,
        Value::SimpleString("PONG".into())
    );
    Ok(())
}

#[tokio::test]
async fn hook_registration_checks_have_redisgears_texts() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let cases = [
        (
            "GB('CommandReader').register(hook='test', keyprefix='foo')",
            "Can not override an unexisting command",
        ),
        (
            "GB('CommandReader').register(hook='xread', keyprefix='foo')",
            "Can not override a command with moveable keys by key prefix",
        ),
        (
            "GB('CommandReader').register(hook='multi')",
            "Can not override a command which are not allowed inside a script",
        ),
        (
            "GB('CommandReader').register(hook='exec')",
            "Can not override a command which are not allowed inside a script",
        ),
        (
            "GB('CommandReader').register(hook='eval')",
            "Can not override a command which are not allowed inside a script",
        ),
        (
            "GB('CommandReader').register(hook='blpop')",
            "Can not override a command which are not allowed inside a script",
        ),
        (
            "GB('CommandReader').register(hook='ping', keyprefix='x')",
            "Can not override a command by key prefix with none positive first key",
        ),
        (
            "GB('CommandReader').register(hook='set', mode='async')\nGB('CommandReader').register(hook='set', mode='sync')",
            "Can not override a none sync registration which already created on this session",
        ),
        (
            "GB('CommandReader').register(hook='set', keyprefix='x', trigger='t')",
            "gears.error: trigger argument can not be given with keyprefix or hook\\n']",
        ),
    ];
    for (script, want) in cases {
        let e = pyexec(&mut c, script).await.unwrap_err();
        assert!(err_text(&e).ends_with(want), "{script}: {e}");
    }
    assert!(
        registrations(&mut c).await?.is_empty(),
        "nothing registered"
    );
    // Movable keys without a prefix, and keyless commands without a prefix, are fine.
    assert_eq!(
        pyexec(
            &mut c,
            "GB('CommandReader').register(hook='xread', mode='sync')"
        )
        .await?,
        Value::Okay
    );
    assert_eq!(
        pyexec(
            &mut c,
            "GB('CommandReader').register(hook='PING', mode='sync')"
        )
        .await?,
        Value::Okay
    );
    // A non-sync head refuses hooks in front of it (other sessions), but not behind sync ones.
    pyexec(
        &mut c,
        "GB('CommandReader').register(hook='get', mode='sync')",
    )
    .await?;
    pyexec(
        &mut c,
        "GB('CommandReader').register(hook='get', mode='async')",
    )
    .await?;
    let e = pyexec(
        &mut c,
        "GB('CommandReader').register(hook='GET', mode='sync')",
    )
    .await
    .unwrap_err();
    assert_eq!(err_text(&e), "Can not override a none sync registration");
    Ok(())
}

#[tokio::test]
async fn hook_upgrade_replaces_a_non_sync_hook_of_its_own_session() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let script = |v: &str| {
        format!("GB('CommandReader').map(lambda r: '{v}').register(hook='get', mode='async_local')")
    };
    q(&mut c, &["RG.PYEXECUTE", &script("v1"), "ID", "s"]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("v1"));
    q(
        &mut c,
        &["RG.PYEXECUTE", &script("v2"), "ID", "s", "UPGRADE"],
    )
    .await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("v2"));
    assert_eq!(registrations(&mut c).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn hook_async_client_waits_and_cannot_block_elsewhere() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "
import time
def slow(r):
    time.sleep(0.3)
    return call_next(*r[1:])
GB('CommandReader').map(slow).register(hook='set', mode='async_local')
",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    let started = std::time::Instant::now();
    assert_eq!(q(&mut c, &["SET", "a", "b"]).await?, bulk("OK"));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(q(&mut c, &["GET", "a"]).await?, bulk("b"));
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    // MULTI cannot block: the hook is refused inside EXEC.
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"MULTI\r\nSET y 2\r\nGET a\r\nEXEC\r\n").await?;
    let got = raw.read_until(b"$1\r\nb\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR can not run a non-sync execution inside a MULTI/LUA (blocking is not allowed) or on loading.\r\n$1\r\nb\r\n"
    );
    // Neither can execute() from a function (RedisGears' testOverrideSetWithAsyncExecution).
    let r = pyexec(
        &mut c,
        "GB('ShardsIDReader').map(lambda x: execute('set', 'x', '1')).run()",
    )
    .await?;
    let Value::Array(parts) = r else {
        anyhow::bail!("not [results, errors]")
    };
    let errors: Vec<String> = redis::from_redis_value(parts[1].clone())?;
    assert!(errors[0].contains("blocking is not allowed"), "{errors:?}");
    assert_eq!(q(&mut c, &["EXISTS", "x", "y"]).await?, Value::Int(0));
    // Pipelined commands behind a waiting hook keep their order.
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"SET p 1\r\nGET p\r\n").await?;
    let got = raw.read_until(b"$1\r\n1\r\n").await?;
    assert_eq!(String::from_utf8_lossy(&got), "$2\r\nOK\r\n$1\r\n1\r\n");
    Ok(())
}

#[tokio::test]
async fn hook_sync_runs_inline_inside_multi_and_for_execute() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "
def h(r):
    execute('incr', 'hooked')
    return call_next(*r[1:])
GB('CommandReader').map(h).register(hook='set', mode='sync')
",
    )
    .await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"MULTI\r\nSET y 2\r\nGET hooked\r\nEXEC\r\n")
        .await?;
    let got = raw.read_until(b"$1\r\n1\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$2\r\nOK\r\n$1\r\n1\r\n"
    );
    // Commands that functions run through execute() are hooked too, as in RedisGears.
    let r = pyexec(
        &mut c,
        "GB('ShardsIDReader').map(lambda x: execute('set', 'z', '1')).run()",
    )
    .await?;
    assert_eq!(
        r,
        Value::Array(vec![Value::Array(vec![bulk("OK")]), Value::Array(vec![])])
    );
    assert_eq!(q(&mut c, &["GET", "hooked"]).await?, bulk("2"));
    Ok(())
}

#[tokio::test]
async fn hook_that_runs_its_own_command_is_cut_at_max_trigger_depth() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["RG.CONFIGSET", "MaxTriggerDepth", "3"]).await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: execute('set', r[1], 'again')).register(hook='set', mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    let e = error_of(&mut c, &["SET", "a", "b"]).await;
    assert!(
        e.contains("maximum trigger depth 3 exceeded (MaxTriggerDepth)"),
        "{e}"
    );
    // Depths 1..3 ran and failed, the 4th was cut (counted as triggered and failed).
    assert_eq!(counters(&mut c, &id).await, [4, 0, 4, 0]);
    assert_eq!(q(&mut c, &["EXISTS", "a"]).await?, Value::Int(0));
    assert_eq!(
        q(&mut c, &["PING"]).await?,
        Value::SimpleString("PONG".into())
    );
    Ok(())
}

#[tokio::test]
async fn hook_unregister_and_pause_restore_the_command() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: 'first').register(hook='get', mode='sync')",
    )
    .await?;
    let first = only_registration(&mut c).await?;
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda r: 'second').register(hook='get', mode='sync')",
    )
    .await?;
    let second = registrations(&mut c)
        .await?
        .into_iter()
        .map(|r| r.0)
        .find(|i| *i != first)
        .unwrap_or_default();
    q(&mut c, &["SET", "x", "real"]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("second"));
    // A paused hook is passed over (counted in numSkipped).
    q(&mut c, &["RG.PAUSEREGISTRATIONS", &second]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("first"));
    let regs = registrations(&mut c).await?;
    let skipped = regs
        .iter()
        .find(|r| r.0 == second)
        .map(|r| int(r.1.get("numSkipped")));
    assert_eq!(skipped, Some(1));
    q(&mut c, &["RG.UNPAUSEREGISTRATIONS", &second]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("second"));
    q(&mut c, &["RG.UNREGISTER", &second]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("first"));
    q(&mut c, &["RG.UNREGISTER", &first]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("real"));
    Ok(())
}

#[tokio::test]
async fn call_next_outside_a_hook_raises() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let e = pyexec(&mut c, "call_next('x')").await.unwrap_err();
    assert!(
        err_text(&e).ends_with("gears.error: Can not get CommandHook ctx\\n']"),
        "{e}"
    );
    let r = pyexec(
        &mut c,
        "GB('ShardsIDReader').map(lambda x: call_next('x')).run()",
    )
    .await?;
    let Value::Array(parts) = r else {
        anyhow::bail!("not [results, errors]")
    };
    let errors: Vec<String> = redis::from_redis_value(parts[1].clone())?;
    assert!(
        errors[0].contains("Can not get CommandHook ctx"),
        "{errors:?}"
    );
    // Inside a trigger (not a hook) too.
    pyexec(
        &mut c,
        "GB('CommandReader').map(lambda x: call_next('x')).register(trigger='t', mode='sync')",
    )
    .await?;
    let e = error_of(&mut c, &["RG.TRIGGER", "t"]).await;
    assert!(e.contains("Can not get CommandHook ctx"), "{e}");
    Ok(())
}

// ---- KeysReader commands= ------------------------------------------------------------------

#[tokio::test]
async fn commands_sync_override_reply_replaces_the_reply() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda x: override_reply('key does not exists')).register(eventTypes=['keymiss'], commands=['get', 'mget'], mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("key does not exists"));
    q(&mut c, &["SET", "x", "1"]).await?;
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("1"));
    assert_eq!(
        q(&mut c, &["MGET", "x", "y"]).await?,
        bulk("key does not exists")
    );
    // Sync executions keep the link inside MULTI.
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"MULTI\r\nGET y\r\nEXEC\r\n").await?;
    let got = raw.read_until(b"exists\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+QUEUED\r\n*1\r\n$19\r\nkey does not exists\r\n"
    );
    assert_eq!(counters(&mut c, &id).await, [3, 3, 0, 0]);
    let regs = registrations(&mut c).await?;
    assert_eq!(
        regs[0].1["args"],
        Value::Array(vec![
            bulk("regex"),
            bulk("*"),
            bulk("eventTypes"),
            Value::Array(vec![bulk("keymiss")]),
            bulk("keyTypes"),
            Value::Nil,
            bulk("hookCommands"),
            Value::Array(vec![bulk("get"), bulk("mget")]),
        ])
    );
    Ok(())
}

#[tokio::test]
async fn commands_async_client_waits_for_the_execution() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "
async def OverrideReply(x):
    res = await GB('ShardsIDReader').run()
    override_reply(len(res))

GB().foreach(OverrideReply).register(prefix='test*', eventTypes=['keymiss'], commands=['get', 'mget'], mode='async')
",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    // Not intercepted (prefix), and not fired (not a hooked invocation).
    assert_eq!(q(&mut c, &["GET", "x"]).await?, Value::Nil);
    // The override is an integer: len([results, errors]).
    wire(&srv, b"GET test1\r\n", ":2\r\n").await?;
    assert_eq!(counters(&mut c, &id).await, [1, 1, 0, 0]);
    // Async executions cannot hold a client inside MULTI: the real reply.
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"MULTI\r\nGET test2\r\nEXEC\r\n").await?;
    let got = raw.read_until(b"*1\r\n$-1\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n"
    );
    eventually(T, || {
        let mut c = c.clone();
        let id = id.clone();
        async move { counters(&mut c, &id).await == [2, 1, 1, 0] }
    })
    .await?;
    let regs = registrations(&mut c).await?;
    let last: String = redis::from_redis_value(regs[0].1["lastError"].clone())?;
    assert!(last.contains("Can not get command ctx"), "{last}");
    q(&mut c, &["RG.UNREGISTER", &id]).await?;
    assert_eq!(q(&mut c, &["GET", "test1"]).await?, Value::Nil);
    Ok(())
}

#[tokio::test]
async fn commands_reply_waits_for_every_linked_execution() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    // Two registrations on the same command: the reply comes once both are done.
    pyexec(
        &mut c,
        "
import time
def slow(x):
    time.sleep(0.3)
    execute('set', 'slow_done', '1')
GB().foreach(slow).register(prefix='k*', commands=['set'], mode='async_local')
GB().foreach(lambda x: execute('set', 'fast_done', '1')).register(prefix='k*', commands=['set'], mode='sync')
",
    )
    .await?;
    let started = std::time::Instant::now();
    assert_eq!(q(&mut c, &["SET", "k1", "v"]).await?, Value::Okay);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        q(&mut c, &["MGET", "slow_done", "fast_done"]).await?,
        Value::Array(vec![bulk("1"), bulk("1")])
    );
    Ok(())
}

#[tokio::test]
async fn commands_fire_only_for_the_listed_client_commands() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "GB().foreach(lambda x: execute('rpush', 'log', x['event'] + ':' + x['key'])).register(prefix='h*', commands=['HSET'], mode='sync')",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    q(&mut c, &["HSET", "h1", "f", "v"]).await?;
    q(&mut c, &["HINCRBY", "h1", "n", "1"]).await?;
    q(&mut c, &["DEL", "h1"]).await?;
    q(&mut c, &["HSET", "other", "f", "v"]).await?;
    // Not from functions: RedisGears' commands hook does not see its own calls.
    pyexec(
        &mut c,
        "GB('ShardsIDReader').map(lambda x: execute('hset', 'h2', 'f', 'v')).run()",
    )
    .await?;
    q(&mut c, &["hset", "h3", "f", "v"]).await?;
    let log: Vec<String> = redis::cmd("LRANGE")
        .arg("log")
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await?;
    assert_eq!(log, vec!["hset:h1", "hset:h3"]);
    assert_eq!(counters(&mut c, &id).await, [2, 2, 0, 0]);
    Ok(())
}

#[tokio::test]
async fn commands_get_command_and_override_once() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    pyexec(
        &mut c,
        "
def f(x):
    override_reply(get_command())
    override_reply('again')
GB().foreach(f).register(prefix='h*', commands=['hset'], mode='sync')
",
    )
    .await?;
    let id = only_registration(&mut c).await?;
    assert_eq!(
        q(&mut c, &["hset", "h1", "a", "b", "c", "d"]).await?,
        Value::Array(["hset", "h1", "a", "b", "c", "d"].map(bulk).to_vec())
    );
    assert_eq!(counters(&mut c, &id).await, [1, 0, 1, 0]);
    let regs = registrations(&mut c).await?;
    let last: String = redis::from_redis_value(regs[0].1["lastError"].clone())?;
    assert!(
        last.ends_with("gears.error: Can only override reply once\\n']"),
        "{last}"
    );
    // Outside a linked execution.
    let e = pyexec(&mut c, "override_reply(1)").await.unwrap_err();
    assert!(
        err_text(&e).ends_with("gears.error: Can not get command ctx\\n']"),
        "{e}"
    );
    let e = pyexec(&mut c, "override_reply(1, 2)").await.unwrap_err();
    assert!(
        err_text(&e).ends_with("gears.error: Override reply must get a single argument\\n']"),
        "{e}"
    );
    let e = pyexec(&mut c, "get_command()").await.unwrap_err();
    assert!(
        err_text(&e).ends_with("gears.error: Can not get command ctx\\n']"),
        "{e}"
    );
    Ok(())
}

#[tokio::test]
async fn commands_error_override_and_real_write() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    // RedisGears' testKeysReaderCommandsOptionWithAsyncExecution.
    assert_eq!(
        pyexec(
            &mut c,
            "GearsBuilder().foreach(lambda x: override_reply('-no allowed')).register(commands=['set'])",
        )
        .await?,
        Value::Okay
    );
    assert_eq!(error_of(&mut c, &["SET", "x", "1"]).await, "no allowed");
    // The command itself ran.
    assert_eq!(q(&mut c, &["GET", "x"]).await?, bulk("1"));
    let r = pyexec(
        &mut c,
        "GB('ShardsIDReader').map(lambda x: execute('ping')).run()",
    )
    .await?;
    assert_eq!(
        r,
        Value::Array(vec![Value::Array(vec![bulk("PONG")]), Value::Array(vec![])])
    );
    Ok(())
}

#[tokio::test]
async fn commands_registration_checks_have_redisgears_texts() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let cases = [
        (
            "GB().register(commands=['test'])",
            "bad reply on COMMAND command",
        ),
        (
            "GB().register(commands=['xread'])",
            "Can not hook a command with moveable keys by key prefix",
        ),
        (
            "GB().register(commands=['multi'])",
            "Can not hook a command which are not allowed inside a script",
        ),
        (
            "GB().register(commands=['exec'])",
            "Can not hook a command which are not allowed inside a script",
        ),
        (
            "GB().register(commands=['eval'])",
            "Can not hook a command which are not allowed inside a script",
        ),
        (
            "GB().register(commands=['ping'])",
            "Can not hook a command by key prefix with none positive first key",
        ),
        (
            "GB().register(prefix='', commands=['get'])",
            "Empty perfix given to command hooker",
        ),
        (
            "GB().register(commands=['get', 'zunionstore'])",
            "Can not hook a command with moveable keys by key prefix",
        ),
    ];
    for (script, want) in cases {
        let e = pyexec(&mut c, script).await.unwrap_err();
        assert_eq!(err_text(&e), want, "{script}");
    }
    assert!(registrations(&mut c).await?.is_empty());
    // An empty list means no filter.
    assert_eq!(
        pyexec(&mut c, "GB().register(commands=[])").await?,
        Value::Okay
    );
    let regs = registrations(&mut c).await?;
    assert_eq!(
        regs[0].1["args"],
        Value::Array(vec![
            bulk("regex"),
            bulk("*"),
            bulk("eventTypes"),
            Value::Nil,
            bulk("keyTypes"),
            Value::Nil,
            bulk("hookCommands"),
            Value::Nil,
        ])
    );
    Ok(())
}

#[tokio::test]
async fn innerhook_runs_a_command_linked_and_checks_arity() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        error_of(&mut c, &["RG.INNERHOOK"]).await,
        "ERR wrong number of arguments for 'RG.INNERHOOK' command"
    );
    assert_eq!(
        error_of(&mut c, &["rg.innerhook"]).await,
        "ERR wrong number of arguments for 'rg.innerhook' command"
    );
    let info = q(&mut c, &["COMMAND", "INFO", "rg.innerhook"]).await?;
    let Value::Array(entries) = info else {
        anyhow::bail!("COMMAND INFO")
    };
    let Value::Array(entry) = &entries[0] else {
        anyhow::bail!("no entry")
    };
    assert_eq!(entry[0], bulk("rg.innerhook"));
    assert_eq!(entry[1], Value::Int(-1));
    assert_eq!(&entry[3..6], &[Value::Int(0), Value::Int(0), Value::Int(0)]);
    // Without registrations it just runs the command.
    assert_eq!(
        q(&mut c, &["RG.INNERHOOK", "set", "x", "1"]).await?,
        Value::Okay
    );
    assert_eq!(q(&mut c, &["RG.INNERHOOK", "get", "x"]).await?, bulk("1"));
    assert!(
        error_of(&mut c, &["RG.INNERHOOK", "nosuch"])
            .await
            .starts_with("ERR unknown command 'nosuch'")
    );
    pyexec(
        &mut c,
        "GB().foreach(lambda x: override_reply('hooked')).register(prefix='p*', commands=['get'], eventTypes=['keymiss'], mode='sync')",
    )
    .await?;
    assert_eq!(
        q(&mut c, &["RG.INNERHOOK", "get", "p1"]).await?,
        bulk("hooked")
    );
    assert_eq!(q(&mut c, &["GET", "p1"]).await?, bulk("hooked"));
    // The registration's own prefix still filters the events.
    assert_eq!(q(&mut c, &["RG.INNERHOOK", "get", "zz"]).await?, Value::Nil);
    Ok(())
}

#[tokio::test]
async fn on_registered_runs_once_per_registration_and_on_upgrade() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let script = "
GB('CommandReader').register(trigger='t1', onRegistered=lambda: execute('incr', 'registered'))
GB().register(prefix='nothing', onRegistered=lambda: execute('incr', 'registered'))
";
    q(&mut c, &["RG.PYEXECUTE", script, "ID", "s"]).await?;
    assert_eq!(q(&mut c, &["GET", "registered"]).await?, bulk("2"));
    q(&mut c, &["RG.PYEXECUTE", script, "ID", "s", "UPGRADE"]).await?;
    assert_eq!(q(&mut c, &["GET", "registered"]).await?, bulk("4"));
    // A failing onRegistered is only logged: the registration stands.
    assert_eq!(
        pyexec(
            &mut c,
            "GB().register(prefix='x', onRegistered=lambda: 1 / 0)"
        )
        .await?,
        Value::Okay
    );
    assert_eq!(registrations(&mut c).await?.len(), 3);
    Ok(())
}
