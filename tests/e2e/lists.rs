//! List commands against the in-process server: values, reply types, errors, key events and
//! blocking behaviour, plus side-by-side comparisons with a real redis-server 7.0.

use std::time::Duration;

use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies, eventually};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

type Conn = MultiplexedConnection;

async fn cmd(c: &mut Conn, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await
}

async fn strings(c: &mut Conn, args: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    Ok(cmd.query_async(c).await?)
}

async fn range(c: &mut Conn, key: &str) -> anyhow::Result<Vec<String>> {
    Ok(c.lrange(key, 0, -1).await?)
}

fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    }
}

async fn expect_err(c: &mut Conn, args: &[&str]) -> anyhow::Result<String> {
    match cmd(c, args).await {
        Ok(v) => anyhow::bail!("{args:?} succeeded with {v:?}"),
        Err(e) => Ok(err_text(&e)),
    }
}

/// A connection that may wait on a blocking command (the default response timeout is 500 ms).
async fn blocking_client(srv: &TestServer) -> anyhow::Result<Conn> {
    let mut c = srv.client().await?;
    c.set_response_timeout(Duration::from_secs(10));
    Ok(c)
}

async fn blocked_clients(c: &mut Conn) -> anyhow::Result<usize> {
    let info: String = redis::cmd("INFO").arg("clients").query_async(c).await?;
    let n = info
        .lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(n)
}

async fn wait_blocked(srv: &TestServer, n: usize) -> anyhow::Result<()> {
    let c = srv.client().await?;
    eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move { blocked_clients(&mut c).await.ok() == Some(n) }
    })
    .await
}

/// Starts a blocking command on its own connection.
fn spawn_cmd(
    mut c: Conn,
    args: &[&str],
) -> tokio::task::JoinHandle<redis::RedisResult<redis::Value>> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    tokio::spawn(async move {
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        cmd.query_async(&mut c).await
    })
}

fn bulk(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

fn arr(items: Vec<redis::Value>) -> redis::Value {
    redis::Value::Array(items)
}

/// Encodes a command as a RESP2 multibulk.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Sends a command on a raw connection and checks the exact reply bytes.
async fn raw_reply(raw: &mut RawConn, args: &[&str], expected: &[u8]) -> anyhow::Result<()> {
    raw.send(&resp(args)).await?;
    let got = raw.read_at_least(expected.len()).await?;
    anyhow::ensure!(
        got == expected,
        "{args:?}: expected {:?}, got {:?}",
        String::from_utf8_lossy(expected),
        String::from_utf8_lossy(&got)
    );
    Ok(())
}

/// The bytes of the `pmessage` frames a `__keyevent@0__:*` subscriber receives.
fn keyevents(events: &[(&str, &str)]) -> Vec<u8> {
    let pattern = "__keyevent@0__:*";
    let mut out = Vec::new();
    for (event, key) in events {
        let channel = format!("__keyevent@0__:{event}");
        out.extend_from_slice(
            format!(
                "*4\r\n$8\r\npmessage\r\n${}\r\n{pattern}\r\n${}\r\n{channel}\r\n${}\r\n{key}\r\n",
                pattern.len(),
                channel.len(),
                key.len()
            )
            .as_bytes(),
        );
    }
    out
}

/// A raw connection subscribed to every key event of db 0.
async fn keyevent_subscriber(srv: &TestServer, c: &mut Conn) -> anyhow::Result<RawConn> {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query_async(c)
        .await?;
    let mut sub = RawConn::connect(srv.addr()).await?;
    let confirm = b"*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n";
    raw_reply(&mut sub, &["PSUBSCRIBE", "__keyevent@0__:*"], confirm).await?;
    Ok(sub)
}

async fn expect_events(sub: &mut RawConn, events: &[(&str, &str)]) -> anyhow::Result<()> {
    let expected = keyevents(events);
    let got = sub.read_at_least(expected.len()).await?;
    anyhow::ensure!(
        got == expected,
        "events: expected {:?}, got {:?}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(&got)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pushes, reads and in-place writes

#[tokio::test]
async fn lpush_rpush_variadic_returns_length_and_keeps_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        cmd(&mut c, &["LPUSH", "l", "a", "b", "c", "d"]).await?,
        redis::Value::Int(4)
    );
    assert_eq!(
        cmd(&mut c, &["RPUSH", "l", "0", "1", "2", "3"]).await?,
        redis::Value::Int(8)
    );
    assert_eq!(
        range(&mut c, "l").await?,
        ["d", "c", "b", "a", "0", "1", "2", "3"]
    );
    let llen: i64 = c.llen("l").await?;
    assert_eq!(llen, 8);
    let ty: String = redis::cmd("TYPE").arg("l").query_async(&mut c).await?;
    assert_eq!(ty, "list");
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("l")
        .query_async(&mut c)
        .await?;
    assert_eq!(enc, "quicklist");
    Ok(())
}

#[tokio::test]
async fn pushx_missing_key_returns_zero_and_creates_nothing() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        cmd(&mut c, &["LPUSHX", "l", "a"]).await?,
        redis::Value::Int(0)
    );
    assert_eq!(
        cmd(&mut c, &["RPUSHX", "l", "a"]).await?,
        redis::Value::Int(0)
    );
    let exists: i64 = c.exists("l").await?;
    assert_eq!(exists, 0);
    let _: () = c.rpush("l", "x").await?;
    assert_eq!(
        cmd(&mut c, &["LPUSHX", "l", "a", "b"]).await?,
        redis::Value::Int(3)
    );
    assert_eq!(
        cmd(&mut c, &["RPUSHX", "l", "z"]).await?,
        redis::Value::Int(4)
    );
    assert_eq!(range(&mut c, "l").await?, ["b", "a", "x", "z"]);
    Ok(())
}

#[tokio::test]
async fn commands_on_wrong_type_return_wrongtype() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("s", "x").await?;
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LLEN", "s"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LRANGE", "s", "0", "-1"],
        &["LTRIM", "s", "0", "-1"],
        &["LREM", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LPOS", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["LMPOP", "1", "s", "LEFT"],
        &["BLPOP", "nokey", "s", "0"],
        &["BLMPOP", "0", "1", "s", "RIGHT"],
        &["BRPOPLPUSH", "s", "d", "0"],
    ] {
        assert_eq!(expect_err(&mut c, args).await?, wrongtype, "{args:?}");
    }
    Ok(())
}

#[tokio::test]
async fn lindex_lset_handle_negative_and_out_of_range_indexes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", &["a", "b", "c"]).await?;
    assert_eq!(cmd(&mut c, &["LINDEX", "l", "-1"]).await?, bulk("c"));
    assert_eq!(cmd(&mut c, &["LINDEX", "l", "3"]).await?, redis::Value::Nil);
    assert_eq!(
        cmd(&mut c, &["LINDEX", "nokey", "notanumber"]).await?,
        redis::Value::Nil
    );
    assert_eq!(
        expect_err(&mut c, &["LINDEX", "l", "x"]).await?,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd(&mut c, &["LSET", "l", "-2", "B"]).await?,
        redis::Value::Okay
    );
    assert_eq!(
        expect_err(&mut c, &["LSET", "l", "3", "x"]).await?,
        "ERR index out of range"
    );
    assert_eq!(
        expect_err(&mut c, &["LSET", "nokey", "0", "x"]).await?,
        "ERR no such key"
    );
    assert_eq!(range(&mut c, "l").await?, ["a", "B", "c"]);
    Ok(())
}

#[tokio::test]
async fn lrange_ltrim_follow_redis_index_rules() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", &["0", "1", "2", "3", "4"]).await?;
    assert_eq!(
        strings(&mut c, &["LRANGE", "l", "-2", "100"]).await?,
        ["3", "4"]
    );
    assert!(
        strings(&mut c, &["LRANGE", "l", "3", "1"])
            .await?
            .is_empty()
    );
    assert!(
        strings(&mut c, &["LRANGE", "nokey", "0", "-1"])
            .await?
            .is_empty()
    );
    assert_eq!(
        cmd(&mut c, &["LTRIM", "l", "1", "-2"]).await?,
        redis::Value::Okay
    );
    assert_eq!(range(&mut c, "l").await?, ["1", "2", "3"]);
    assert_eq!(
        cmd(&mut c, &["LTRIM", "l", "5", "10"]).await?,
        redis::Value::Okay
    );
    let exists: i64 = c.exists("l").await?;
    assert_eq!(exists, 0, "an emptied list is deleted");
    assert_eq!(
        cmd(&mut c, &["LTRIM", "nokey", "0", "1"]).await?,
        redis::Value::Okay
    );
    Ok(())
}

#[tokio::test]
async fn lrem_removes_from_head_tail_or_all() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", &["a", "x", "a", "y", "a", "a"]).await?;
    assert_eq!(
        cmd(&mut c, &["LREM", "l", "1", "a"]).await?,
        redis::Value::Int(1)
    );
    assert_eq!(
        cmd(&mut c, &["LREM", "l", "-2", "a"]).await?,
        redis::Value::Int(2)
    );
    assert_eq!(range(&mut c, "l").await?, ["x", "a", "y"]);
    assert_eq!(
        cmd(&mut c, &["LREM", "l", "0", "nope"]).await?,
        redis::Value::Int(0)
    );
    assert_eq!(
        cmd(&mut c, &["LREM", "nokey", "0", "a"]).await?,
        redis::Value::Int(0)
    );
    let _: () = c.del("l").await?;
    let _: () = c.rpush("l", &["a", "a"]).await?;
    assert_eq!(
        cmd(&mut c, &["LREM", "l", "0", "a"]).await?,
        redis::Value::Int(2)
    );
    let exists: i64 = c.exists("l").await?;
    assert_eq!(exists, 0);
    Ok(())
}

#[tokio::test]
async fn linsert_before_after_pivot_or_reports_missing() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", &["a", "b", "c"]).await?;
    assert_eq!(
        cmd(&mut c, &["LINSERT", "l", "before", "b", "x"]).await?,
        redis::Value::Int(4)
    );
    assert_eq!(
        cmd(&mut c, &["LINSERT", "l", "AFTER", "c", "y"]).await?,
        redis::Value::Int(5)
    );
    assert_eq!(
        cmd(&mut c, &["LINSERT", "l", "AFTER", "zz", "y"]).await?,
        redis::Value::Int(-1)
    );
    assert_eq!(
        cmd(&mut c, &["LINSERT", "nokey", "AFTER", "a", "y"]).await?,
        redis::Value::Int(0)
    );
    assert_eq!(
        expect_err(&mut c, &["LINSERT", "l", "middle", "a", "y"]).await?,
        "ERR syntax error"
    );
    assert_eq!(range(&mut c, "l").await?, ["a", "x", "b", "c", "y"]);
    Ok(())
}

#[tokio::test]
async fn lpos_rank_count_maxlen_and_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c
        .rpush("l", &["a", "b", "c", "1", "2", "3", "c", "c"])
        .await?;
    assert_eq!(
        cmd(&mut c, &["LPOS", "l", "c"]).await?,
        redis::Value::Int(2)
    );
    assert_eq!(
        cmd(&mut c, &["LPOS", "l", "c", "RANK", "-1"]).await?,
        redis::Value::Int(7)
    );
    assert_eq!(
        cmd(&mut c, &["LPOS", "l", "c", "RANK", "2"]).await?,
        redis::Value::Int(6)
    );
    let all: Vec<i64> = redis::cmd("LPOS")
        .arg(&["l", "c", "COUNT", "0"])
        .query_async(&mut c)
        .await?;
    assert_eq!(all, [2, 6, 7]);
    let two: Vec<i64> = redis::cmd("LPOS")
        .arg(&["l", "c", "RANK", "-1", "COUNT", "2"])
        .query_async(&mut c)
        .await?;
    assert_eq!(two, [7, 6]);
    assert_eq!(
        cmd(&mut c, &["LPOS", "l", "c", "MAXLEN", "2"]).await?,
        redis::Value::Nil
    );
    assert_eq!(
        cmd(&mut c, &["LPOS", "nokey", "c"]).await?,
        redis::Value::Nil
    );
    assert_eq!(
        cmd(&mut c, &["LPOS", "nokey", "c", "COUNT", "1"]).await?,
        arr(vec![])
    );
    assert_eq!(
        expect_err(&mut c, &["LPOS", "l", "c", "RANK", "0"]).await?,
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    );
    assert_eq!(
        expect_err(&mut c, &["LPOS", "l", "c", "COUNT", "-1"]).await?,
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        expect_err(&mut c, &["LPOS", "l", "c", "MAXLEN", "-1"]).await?,
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(
        expect_err(&mut c, &["LPOS", "l", "c", "RANK"]).await?,
        "ERR syntax error"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops and moves

#[tokio::test]
async fn pop_with_count_returns_arrays_in_pop_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", &["a", "b", "c", "d", "e"]).await?;
    assert_eq!(cmd(&mut c, &["LPOP", "l"]).await?, bulk("a"));
    assert_eq!(strings(&mut c, &["RPOP", "l", "2"]).await?, ["e", "d"]);
    assert_eq!(strings(&mut c, &["LPOP", "l", "10"]).await?, ["b", "c"]);
    let exists: i64 = c.exists("l").await?;
    assert_eq!(exists, 0);
    assert_eq!(
        expect_err(&mut c, &["LPOP", "l", "-1"]).await?,
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        expect_err(&mut c, &["RPOP", "l", "1", "2"]).await?,
        "ERR wrong number of arguments for 'rpop' command"
    );
    Ok(())
}

#[tokio::test]
async fn pop_resp2_distinguishes_null_bulk_null_array_and_empty_array() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw_reply(&mut raw, &["LPOP", "nokey"], b"$-1\r\n").await?;
    raw_reply(&mut raw, &["LPOP", "nokey", "1"], b"*-1\r\n").await?;
    raw_reply(&mut raw, &["RPOP", "nokey", "0"], b"*-1\r\n").await?;
    raw_reply(&mut raw, &["RPUSH", "l", "a"], b":1\r\n").await?;
    raw_reply(&mut raw, &["LPOP", "l", "0"], b"*0\r\n").await?;
    raw_reply(&mut raw, &["RPOP", "l", "1"], b"*1\r\n$1\r\na\r\n").await?;
    raw_reply(&mut raw, &["LMPOP", "1", "l", "LEFT"], b"*-1\r\n").await?;
    raw_reply(&mut raw, &["LMOVE", "l", "d", "LEFT", "LEFT"], b"$-1\r\n").await?;
    raw_reply(&mut raw, &["LRANGE", "l", "0", "-1"], b"*0\r\n").await?;
    raw_reply(&mut raw, &["LPOS", "l", "a", "COUNT", "0"], b"*0\r\n").await?;
    Ok(())
}

#[tokio::test]
async fn lmove_moves_between_ends_and_keeps_source_on_wrong_destination() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("src", &["a", "b", "c"]).await?;
    assert_eq!(
        cmd(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]).await?,
        bulk("a")
    );
    assert_eq!(
        cmd(&mut c, &["LMOVE", "src", "dst", "right", "left"]).await?,
        bulk("c")
    );
    assert_eq!(cmd(&mut c, &["RPOPLPUSH", "src", "dst"]).await?, bulk("b"));
    assert_eq!(range(&mut c, "dst").await?, ["b", "c", "a"]);
    let exists: i64 = c.exists("src").await?;
    assert_eq!(exists, 0);
    assert_eq!(cmd(&mut c, &["RPOPLPUSH", "dst", "dst"]).await?, bulk("a"));
    assert_eq!(range(&mut c, "dst").await?, ["a", "b", "c"]);
    let _: () = c.set("str", "x").await?;
    assert!(
        expect_err(&mut c, &["LMOVE", "dst", "str", "LEFT", "LEFT"])
            .await?
            .starts_with("WRONGTYPE")
    );
    assert_eq!(range(&mut c, "dst").await?, ["a", "b", "c"]);
    assert_eq!(
        expect_err(&mut c, &["LMOVE", "dst", "x", "UP", "LEFT"]).await?,
        "ERR syntax error"
    );
    assert_eq!(
        cmd(&mut c, &["LMOVE", "nokey", "str", "LEFT", "LEFT"]).await?,
        redis::Value::Nil
    );
    Ok(())
}

#[tokio::test]
async fn lmpop_pops_from_first_non_empty_list() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("b", &["1", "2", "3"]).await?;
    assert_eq!(
        cmd(&mut c, &["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"]).await?,
        arr(vec![bulk("b"), arr(vec![bulk("3"), bulk("2")])])
    );
    assert_eq!(
        cmd(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]).await?,
        arr(vec![bulk("b"), arr(vec![bulk("1")])])
    );
    assert_eq!(
        cmd(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]).await?,
        redis::Value::Nil
    );
    for (args, err) in [
        (
            &["LMPOP", "0", "a", "LEFT"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["LMPOP", "x", "a", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (&["LMPOP", "3", "a", "LEFT"], "ERR syntax error"),
        (&["LMPOP", "1", "a", "UP"], "ERR syntax error"),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
            "ERR syntax error",
        ),
        (
            &["BLMPOP", "0", "0", "a", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (&["BLMPOP", "-1", "1", "a", "UP"], "ERR syntax error"),
        (
            &["BLMPOP", "-1", "1", "a", "LEFT"],
            "ERR timeout is negative",
        ),
    ] {
        assert_eq!(expect_err(&mut c, args).await?, err, "{args:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Blocking commands

#[tokio::test]
async fn blpop_existing_list_pops_without_blocking() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("b", &["x", "y"]).await?;
    assert_eq!(
        cmd(&mut c, &["BLPOP", "a", "b", "0"]).await?,
        arr(vec![bulk("b"), bulk("x")])
    );
    assert_eq!(
        cmd(&mut c, &["BRPOP", "a", "b", "0"]).await?,
        arr(vec![bulk("b"), bulk("y")])
    );
    let exists: i64 = c.exists("b").await?;
    assert_eq!(exists, 0);
    Ok(())
}

#[tokio::test]
async fn blpop_blocked_clients_are_served_first_come_first_served() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let first = spawn_cmd(blocking_client(&srv).await?, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1).await?;
    let second = spawn_cmd(blocking_client(&srv).await?, &["BRPOP", "other", "q", "0"]);
    wait_blocked(&srv, 2).await?;
    assert_eq!(
        cmd(&mut c, &["RPUSH", "q", "1", "2", "3"]).await?,
        redis::Value::Int(3)
    );
    assert_eq!(first.await??, arr(vec![bulk("q"), bulk("1")]));
    assert_eq!(second.await??, arr(vec![bulk("q"), bulk("3")]));
    assert_eq!(range(&mut c, "q").await?, ["2"]);
    assert_eq!(blocked_clients(&mut c).await?, 0);
    Ok(())
}

#[tokio::test]
async fn blocking_list_commands_timeout_returns_nil_array() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw_reply(&mut raw, &["BLPOP", "a", "b", "0.05"], b"*-1\r\n").await?;
    raw_reply(&mut raw, &["BLMPOP", "0.05", "1", "a", "LEFT"], b"*-1\r\n").await?;
    // Redis 7.0 answers every timed-out list command with a nil array, BLMOVE included.
    raw_reply(
        &mut raw,
        &["BLMOVE", "a", "b", "LEFT", "LEFT", "0.05"],
        b"*-1\r\n",
    )
    .await?;
    raw_reply(&mut raw, &["BRPOPLPUSH", "a", "b", "0.001"], b"*-1\r\n").await?;
    Ok(())
}

#[tokio::test]
async fn blocking_timeout_argument_errors_match_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for (args, err) in [
        (&["BLPOP", "a", "-1"][..], "ERR timeout is negative"),
        (
            &["BRPOP", "a", "x"],
            "ERR timeout is not a float or out of range",
        ),
        (
            &["BLPOP", "a", "nan"],
            "ERR timeout is not a float or out of range",
        ),
        (&["BLPOP", "a", "inf"], "ERR timeout is negative"),
        (
            &["BRPOPLPUSH", "a", "b", " 1"],
            "ERR timeout is not a float or out of range",
        ),
        (
            &["BLMOVE", "a", "b", "LEFT", "LEFT", "-0.5"],
            "ERR timeout is negative",
        ),
        (
            &["BLMOVE", "a", "b", "UP", "LEFT", "-1"],
            "ERR syntax error",
        ),
    ] {
        assert_eq!(expect_err(&mut c, args).await?, err, "{args:?}");
    }
    Ok(())
}

#[tokio::test]
async fn blocking_pops_inside_multi_act_as_timeout() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.rpush("l", "a").await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw_reply(&mut raw, &["MULTI"], b"+OK\r\n").await?;
    raw_reply(&mut raw, &["BLPOP", "l", "0"], b"+QUEUED\r\n").await?;
    raw_reply(&mut raw, &["BLPOP", "l", "0"], b"+QUEUED\r\n").await?;
    raw_reply(&mut raw, &["BRPOPLPUSH", "l", "d", "0"], b"+QUEUED\r\n").await?;
    raw_reply(&mut raw, &["BLMPOP", "0", "1", "l", "LEFT"], b"+QUEUED\r\n").await?;
    let exec = b"*4\r\n*2\r\n$1\r\nl\r\n$1\r\na\r\n*-1\r\n$-1\r\n*-1\r\n";
    raw_reply(&mut raw, &["EXEC"], exec).await?;
    assert_eq!(blocked_clients(&mut c).await?, 0);
    Ok(())
}

#[tokio::test]
async fn blpop_serves_from_the_key_that_became_ready_first() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let waiter = spawn_cmd(blocking_client(&srv).await?, &["BLPOP", "k1", "k2", "0"]);
    wait_blocked(&srv, 1).await?;
    let _: () = redis::pipe()
        .atomic()
        .rpush("k2", "from-k2")
        .rpush("k1", "from-k1")
        .query_async(&mut c)
        .await?;
    assert_eq!(waiter.await??, arr(vec![bulk("k2"), bulk("from-k2")]));
    assert_eq!(range(&mut c, "k1").await?, ["from-k1"]);
    Ok(())
}

#[tokio::test]
async fn blpop_key_of_wrong_type_keeps_client_blocked() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let waiter = spawn_cmd(blocking_client(&srv).await?, &["BLPOP", "k", "0"]);
    wait_blocked(&srv, 1).await?;
    // LPUSH + DEL + SET in one transaction must not wake the client with an error.
    let _: () = redis::pipe()
        .atomic()
        .lpush("k", "a")
        .del("k")
        .set("k", "str")
        .query_async(&mut c)
        .await?;
    let _: () = c.lpush("other", "x").await?;
    assert_eq!(blocked_clients(&mut c).await?, 1);
    let _: () = c.del("k").await?;
    let _: () = c.lpush("k", "b").await?;
    assert_eq!(waiter.await??, arr(vec![bulk("k"), bulk("b")]));
    Ok(())
}

#[tokio::test]
async fn blmove_blocked_client_moves_value_and_chains_to_other_waiters() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let first = spawn_cmd(
        blocking_client(&srv).await?,
        &["BLMOVE", "l1", "l2", "RIGHT", "LEFT", "0"],
    );
    wait_blocked(&srv, 1).await?;
    let second = spawn_cmd(
        blocking_client(&srv).await?,
        &["BRPOPLPUSH", "l2", "l3", "0"],
    );
    wait_blocked(&srv, 2).await?;
    let _: () = c.rpush("l1", "foo").await?;
    assert_eq!(first.await??, bulk("foo"));
    assert_eq!(second.await??, bulk("foo"));
    assert!(range(&mut c, "l1").await?.is_empty());
    assert!(range(&mut c, "l2").await?.is_empty());
    assert_eq!(range(&mut c, "l3").await?, ["foo"]);
    Ok(())
}

#[tokio::test]
async fn brpoplpush_wrong_destination_fails_waiter_and_keeps_value() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("t1", "nolist").await?;
    let failing = spawn_cmd(
        blocking_client(&srv).await?,
        &["BRPOPLPUSH", "src", "t1", "0"],
    );
    wait_blocked(&srv, 1).await?;
    let served = spawn_cmd(
        blocking_client(&srv).await?,
        &["BRPOPLPUSH", "src", "t2", "0"],
    );
    wait_blocked(&srv, 2).await?;
    let _: () = c.rpush("src", "foo").await?;
    let err = failing
        .await?
        .expect_err("wrong destination type must fail");
    assert_eq!(
        err_text(&err),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(served.await??, bulk("foo"));
    assert_eq!(range(&mut c, "t2").await?, ["foo"]);
    Ok(())
}

#[tokio::test]
async fn blmpop_blocked_clients_take_counts_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let a = spawn_cmd(
        blocking_client(&srv).await?,
        &["BLMPOP", "0", "2", "l1", "l2", "LEFT", "COUNT", "1"],
    );
    wait_blocked(&srv, 1).await?;
    let b = spawn_cmd(
        blocking_client(&srv).await?,
        &["BLMPOP", "0", "2", "l1", "l2", "RIGHT", "COUNT", "10"],
    );
    wait_blocked(&srv, 2).await?;
    let _: () = c.lpush("l1", &["a", "b", "c"]).await?;
    assert_eq!(a.await??, arr(vec![bulk("l1"), arr(vec![bulk("c")])]));
    assert_eq!(
        b.await??,
        arr(vec![bulk("l1"), arr(vec![bulk("a"), bulk("b")])])
    );
    let exists: i64 = c.exists("l1").await?;
    assert_eq!(exists, 0);
    Ok(())
}

#[tokio::test]
async fn blpop_rename_into_place_wakes_client() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let waiter = spawn_cmd(blocking_client(&srv).await?, &["BLPOP", "foo", "0"]);
    wait_blocked(&srv, 1).await?;
    let _: () = c.lpush("bob", &["abc", "def", "hij"]).await?;
    let _: () = c.rename("bob", "foo").await?;
    assert_eq!(waiter.await??, arr(vec![bulk("foo"), bulk("hij")]));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Key events

#[tokio::test]
async fn list_commands_emit_redis_key_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut sub = keyevent_subscriber(&srv, &mut c).await?;
    let _: () = c.rpush("src", &["a", "b", "c"]).await?;
    let _: () = c.lpush("src", &["z"]).await?;
    let _: () = c.linsert_before("src", "a", "x").await?;
    let _: () = c.lset("src", 0, "y").await?;
    let _: () = c.lrem("src", 1, "x").await?;
    let _: () = c.ltrim("src", 0, 1).await?;
    let _: String = c
        .lmove(
            "src",
            "dst",
            redis::Direction::Left,
            redis::Direction::Right,
        )
        .await?;
    let _: String = c.rpoplpush("src", "dst").await?;
    let _: Vec<String> = c.lpop("dst", std::num::NonZeroUsize::new(5)).await?;
    let _: i64 = c.lpush_exists("dst", "never").await?;
    expect_events(
        &mut sub,
        &[
            ("rpush", "src"),
            ("lpush", "src"),
            ("linsert", "src"),
            ("lset", "src"),
            ("lrem", "src"),
            ("ltrim", "src"),
            ("rpush", "dst"),
            ("lpop", "src"),
            ("lpush", "dst"),
            ("rpop", "src"),
            ("del", "src"),
            ("lpop", "dst"),
            ("del", "dst"),
        ],
    )
    .await
}

#[tokio::test]
async fn served_blocking_commands_emit_pop_and_push_events() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut sub = keyevent_subscriber(&srv, &mut c).await?;
    let pop = spawn_cmd(blocking_client(&srv).await?, &["BLPOP", "k", "0"]);
    wait_blocked(&srv, 1).await?;
    let _: () = c.rpush("k", "v").await?;
    pop.await??;
    let mv = spawn_cmd(
        blocking_client(&srv).await?,
        &["BLMOVE", "k", "d", "LEFT", "LEFT", "0"],
    );
    wait_blocked(&srv, 1).await?;
    let _: () = c.rpush("k", "v").await?;
    mv.await??;
    expect_events(
        &mut sub,
        &[
            ("rpush", "k"),
            ("lpop", "k"),
            ("del", "k"),
            ("rpush", "k"),
            ("lpush", "d"),
            ("lpop", "k"),
            ("del", "k"),
        ],
    )
    .await
}

#[tokio::test]
async fn push_to_watched_key_by_served_brpoplpush_aborts_exec() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let waiter = spawn_cmd(
        blocking_client(&srv).await?,
        &["BRPOPLPUSH", "src", "dst", "0"],
    );
    wait_blocked(&srv, 1).await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw_reply(&mut raw, &["WATCH", "dst"], b"+OK\r\n").await?;
    raw_reply(&mut raw, &["MULTI"], b"+OK\r\n").await?;
    raw_reply(&mut raw, &["PING"], b"+QUEUED\r\n").await?;
    let _: () = c.lpush("src", "e").await?;
    assert_eq!(waiter.await??, bulk("e"));
    raw_reply(&mut raw, &["EXEC"], b"*-1\r\n").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Side by side with redis-server 7.0

#[tokio::test]
async fn list_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
            &["SET", "s", "x"],
            &["LPUSH"],
            &["LPUSH", "l"],
            &["LINDEX", "l", "-7"],
            &["LINDEX", "l", "-8"],
            &["LINDEX", "l", "9223372036854775807"],
            &["LINDEX", "l", "-9223372036854775808"],
            &["LINDEX", "nokey", "x"],
            &["LSET", "nokey", "x", "y"],
            &["LSET", "l", "x", "y"],
            &["LSET", "s", "0", "y"],
            &["LSET", "l", "-8", "y"],
            &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
            &["LRANGE", "l", "-3", "-5"],
            &["LRANGE", "nokey", "x", "0"],
            &["LRANGE", "l", "1", "x"],
            &["LPOS", "l", "a", "RANK", "-9223372036854775808"],
            &[
                "LPOS",
                "l",
                "a",
                "RANK",
                "-9223372036854775808",
                "COUNT",
                "2",
            ],
            &[
                "LPOS",
                "l",
                "a",
                "RANK",
                "-9223372036854775807",
                "COUNT",
                "2",
            ],
            &["LPOS", "l", "a", "COUNT", "0", "RANK", "-1"],
            &["LPOS", "l", "a", "RANK", "2", "COUNT", "0", "MAXLEN", "4"],
            &["LPOS", "l", "a", "COUNT", "1", "COUNT", "2"],
            &["LPOS", "l", "a", "rank", "x"],
            &["LPOS", "l", "a", "foo", "1"],
            &["LPOS", "s", "a"],
            &["LPOS", "nokey", "a", "COUNT", "x"],
            &["LPOS", "nokey", "a", "MAXLEN", "1.5"],
            &["LPOS", "l", "a", "RANK", "9223372036854775808"],
            &["LREM", "l", "x", "a"],
            &["LREM", "l", "-9223372036854775808", "a"],
            &["LINSERT", "nokey", "middle", "a", "b"],
            &["LINSERT", "s", "before", "a", "b"],
            &["LTRIM", "nokey", "x", "1"],
            &["LPOP", "l", "x"],
            &["LPOP", "s", "x"],
            &["LPOP", "s", "0"],
            &["LPOP", "nokey", "0"],
            &["RPOP", "l", "0"],
            &["RPOP", "l", "2"],
            &["LPOP", "l", "9223372036854775807"],
            &["LMOVE", "nokey", "d", "LEFT", "x"],
            &["LMOVE", "s", "d", "LEFT", "RIGHT"],
            &["LMOVE", "nokey", "s", "LEFT", "RIGHT"],
            &["RPOPLPUSH", "nokey", "s"],
            &["RPUSH", "m", "1", "2", "3"],
            &["LMPOP", "-1", "m", "LEFT"],
            &["LMPOP", "9223372036854775807", "m", "LEFT"],
            &["LMPOP", "1", "m", "left", "count"],
            &["LMPOP", "1", "m", "left", "count", "9223372036854775808"],
            &["LMPOP", "1", "m", "left", "foo"],
            &["LMPOP", "2", "nokey", "s", "left"],
            &["LMPOP", "2", "m", "s", "right", "count", "2"],
            &["BLMPOP", "x", "1", "m", "left"],
            &["BLMPOP", "x", "1", "m", "up"],
            &["BLMPOP", "0", "2", "m", "left"],
            &["BLMPOP", "0", "1", "m", "left", "count", "5"],
            &["BLPOP", "nokey", "s", "0"],
            &["BLPOP", "s", "x"],
            &["BLPOP", "s", "1e400"],
            &["BLPOP", "s", "0x10"],
            &["BLMOVE", "s", "d", "left", "right", "0"],
            &["BLMOVE", "s", "d", "left", "right", "-0.001"],
            &["BLMOVE", "s", "d", "left", "right", "-0.002"],
            &["BLPOP", "s", "-0.0009"],
            &["BRPOPLPUSH", "s", "d", ""],
            &["LPUSHX", "s", "a"],
            &["RPUSHX", "nokey", "a"],
            &["LLEN", "nokey"],
            &["LLEN", "s"],
            &["EXISTS", "m", "l"],
        ],
    )
    .await
}
