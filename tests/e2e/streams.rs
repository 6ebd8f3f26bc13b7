//! Stream commands against the in-process server, with the `redis` crate: ids, trimming,
//! XREAD/XREADGROUP (blocking included), consumer groups and their PEL, claims, XINFO, key
//! events, and side-by-side comparisons with a real redis-server.

use std::time::Duration;

use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies, eventually};
use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};

/// An entry as XRANGE replies it.
type Entry = (String, Vec<String>);
/// XREAD's RESP2 reply: `[[key, [entry ...]] ...]`.
type ReadReply = Vec<(String, Vec<Entry>)>;

async fn q<T: FromRedisValue>(c: &mut MultiplexedConnection, args: &[&str]) -> anyhow::Result<T> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    Ok(cmd.query_async(c).await?)
}

/// The error text of a command that must fail.
async fn err(c: &mut MultiplexedConnection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query_async::<Value>(c).await {
        Ok(v) => format!("unexpected success: {v:?}"),
        Err(e) => format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        ),
    }
}

fn entry(id: &str, fields: &[&str]) -> Entry {
    (
        id.to_string(),
        fields.iter().map(|s| (*s).to_string()).collect(),
    )
}

async fn blocked_clients(c: &mut MultiplexedConnection) -> usize {
    let info: String = q(c, &["INFO", "clients"]).await.unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn wait_blocked(c: &mut MultiplexedConnection, n: usize) -> anyhow::Result<()> {
    let mut probe = c.clone();
    eventually(Duration::from_secs(5), || {
        let mut p = probe.clone();
        async move { blocked_clients(&mut p).await == n }
    })
    .await?;
    // Keep the clone alive until the wait is over.
    let _ = blocked_clients(&mut probe).await;
    Ok(())
}

/// Reads from a raw connection until `needle` shows up (5 s at most).
async fn read_until(conn: &mut RawConn, needle: &str) -> anyhow::Result<String> {
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !seen.contains(needle) {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("never saw {needle:?}; got {seen:?}");
        }
        let chunk = conn.read_at_least(1).await?;
        if chunk.is_empty() {
            anyhow::bail!("connection closed; got {seen:?}");
        }
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    Ok(seen)
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[tokio::test]
async fn xadd_ids_grow_and_reject_smaller_or_zero_ids() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let a: String = q(&mut c, &["XADD", "s", "*", "f", "v"]).await?;
    let b: String = q(&mut c, &["XADD", "s", "*", "f", "v"]).await?;
    let parse = |id: &str| -> (u64, u64) {
        let (ms, seq) = id.split_once('-').expect("ms-seq");
        (ms.parse().expect("ms"), seq.parse().expect("seq"))
    };
    assert!(parse(&a) < parse(&b), "{a} then {b}");
    let far: String = q(&mut c, &["XADD", "s", "99999999999999-5", "f", "v"]).await?;
    assert_eq!(far, "99999999999999-5");
    let next: String = q(&mut c, &["XADD", "s", "99999999999999-*", "f", "v"]).await?;
    assert_eq!(next, "99999999999999-6");
    let next: String = q(&mut c, &["XADD", "s", "*", "f", "v"]).await?;
    assert_eq!(next, "99999999999999-7", "the clock never goes back");
    assert_eq!(
        err(&mut c, &["XADD", "s", "5-5", "f", "v"]).await,
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    assert_eq!(
        err(&mut c, &["XADD", "t", "0-0", "f", "v"]).await,
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    let exists: i64 = q(&mut c, &["EXISTS", "t"]).await?;
    assert_eq!(exists, 0, "a failed XADD leaves no empty key");
    let first: String = q(&mut c, &["XADD", "t", "0-*", "f", "v"]).await?;
    assert_eq!(first, "0-1");
    assert_eq!(
        err(&mut c, &["XADD", "s", "*", "f"]).await,
        "ERR wrong number of arguments for 'xadd' command"
    );
    let len: i64 = q(&mut c, &["XLEN", "s"]).await?;
    assert_eq!(len, 5);
    Ok(())
}

#[tokio::test]
async fn xadd_nomkstream_on_missing_key_returns_nil_and_creates_nothing() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let r: Option<String> = q(&mut c, &["XADD", "s", "NOMKSTREAM", "*", "f", "v"]).await?;
    assert_eq!(r, None);
    let exists: i64 = q(&mut c, &["EXISTS", "s"]).await?;
    assert_eq!(exists, 0);
    let _: String = q(&mut c, &["SET", "str", "x"]).await?;
    assert!(
        err(&mut c, &["XADD", "str", "*", "f", "v"])
            .await
            .starts_with("WRONGTYPE")
    );
    Ok(())
}

#[tokio::test]
async fn xadd_approximate_maxlen_trims_whole_nodes_only() -> anyhow::Result<()> {
    let srv = TestServer::start_with(&[("stream-node-max-entries", "10")]).await?;
    let mut c = srv.client().await?;
    for i in 1..=100 {
        let id = format!("{i}-0");
        let _: String = q(&mut c, &["XADD", "s", &id, "f", "v"]).await?;
    }
    let _: String = q(
        &mut c,
        &["XADD", "s", "MAXLEN", "~", "55", "101-0", "f", "v"],
    )
    .await?;
    let len: i64 = q(&mut c, &["XLEN", "s"]).await?;
    assert_eq!(
        len, 61,
        "whole nodes of 10 removed until fewer would remain"
    );
    let n: i64 = q(&mut c, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "25"]).await?;
    assert_eq!(n, 20, "LIMIT stops before a node that would pass it");
    let n: i64 = q(&mut c, &["XTRIM", "s", "MAXLEN", "=", "5"]).await?;
    assert_eq!(n, 36);
    let n: i64 = q(&mut c, &["XTRIM", "s", "MINID", "99"]).await?;
    assert_eq!(n, 2);
    let ids: Vec<Entry> = q(&mut c, &["XRANGE", "s", "-", "+"]).await?;
    let ids: Vec<&str> = ids.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(ids, ["99-0", "100-0", "101-0"]);
    assert_eq!(
        err(&mut c, &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "3"]).await,
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    Ok(())
}

#[tokio::test]
async fn xrange_exclusive_bounds_and_count_select_entries() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1-1", "1-2", "2-0", "3-0"] {
        let _: String = q(&mut c, &["XADD", "s", id, "n", id]).await?;
    }
    let r: Vec<Entry> = q(&mut c, &["XRANGE", "s", "(1-1", "(3-0"]).await?;
    assert_eq!(
        r,
        vec![entry("1-2", &["n", "1-2"]), entry("2-0", &["n", "2-0"])]
    );
    let r: Vec<Entry> = q(&mut c, &["XRANGE", "s", "1", "1"]).await?;
    assert_eq!(r.len(), 2, "a bare ms end means ms-max");
    let r: Vec<Entry> = q(&mut c, &["XRANGE", "s", "(1-1", "(3"]).await?;
    assert_eq!(r.len(), 3, "(3 means before 3-<max>, so 3-0 is in");
    let r: Vec<Entry> = q(&mut c, &["XREVRANGE", "s", "+", "-", "COUNT", "2"]).await?;
    assert_eq!(
        r.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["3-0", "2-0"]
    );
    let r: Option<Vec<Entry>> = q(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "0"]).await?;
    assert_eq!(r, None, "COUNT 0 is a null array");
    let r: Vec<Entry> = q(&mut c, &["XRANGE", "s", "3", "1"]).await?;
    assert!(r.is_empty());
    assert_eq!(
        err(&mut c, &["XRANGE", "s", "(-", "+"]).await,
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        err(
            &mut c,
            &[
                "XRANGE",
                "s",
                "(18446744073709551615-18446744073709551615",
                "+"
            ]
        )
        .await,
        "ERR invalid start ID for the interval"
    );
    Ok(())
}

#[tokio::test]
async fn xread_returns_entries_after_each_id() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3"] {
        let _: String = q(&mut c, &["XADD", "a", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XADD", "b", "5", "f", "5"]).await?;
    let r: ReadReply = q(
        &mut c,
        &[
            "XREAD", "COUNT", "2", "STREAMS", "a", "b", "nokey", "1", "0", "0",
        ],
    )
    .await?;
    assert_eq!(
        r,
        vec![
            (
                "a".to_string(),
                vec![entry("2-0", &["f", "2"]), entry("3-0", &["f", "3"])]
            ),
            ("b".to_string(), vec![entry("5-0", &["f", "5"])]),
        ]
    );
    let r: Option<ReadReply> = q(&mut c, &["XREAD", "STREAMS", "a", "$"]).await?;
    assert_eq!(r, None, "$ without BLOCK never has data");
    assert_eq!(
        err(&mut c, &["XREAD", "STREAMS", "a", "b", "0"]).await,
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
    );
    assert_eq!(
        err(&mut c, &["XREAD", "STREAMS", "a", ">"]).await,
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
    );
    Ok(())
}

#[tokio::test]
async fn xread_block_dollar_wakes_only_for_new_entries() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut waiter = srv.dedicated().await?;
    let _: String = q(&mut c, &["XADD", "s", "1", "old", "x"]).await?;
    let task = tokio::spawn(async move {
        q::<ReadReply>(
            &mut waiter,
            &["XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$"],
        )
        .await
    });
    wait_blocked(&mut c, 1).await?;
    let _: String = q(&mut c, &["XADD", "s", "2", "new", "y"]).await?;
    let r = tokio::time::timeout(Duration::from_secs(5), task).await???;
    assert_eq!(
        r,
        vec![("s".to_string(), vec![entry("2-0", &["new", "y"])])]
    );
    Ok(())
}

#[tokio::test]
async fn xread_block_times_out_with_nil() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let r: Option<ReadReply> = q(&mut c, &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]).await?;
    assert_eq!(r, None);
    assert_eq!(
        err(&mut c, &["XREAD", "BLOCK", "-1", "STREAMS", "s", "$"]).await,
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut c, &["XREAD", "BLOCK", "1.5", "STREAMS", "s", "$"]).await,
        "ERR timeout is not an integer or out of range"
    );
    Ok(())
}

#[tokio::test]
async fn xread_block_inside_multi_returns_nil_without_blocking() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let (r,): (Option<ReadReply>,) = redis::pipe()
        .atomic()
        .cmd("XREAD")
        .arg(&["BLOCK", "0", "STREAMS", "s", "$"])
        .query_async(&mut c)
        .await?;
    assert_eq!(r, None);
    Ok(())
}

#[tokio::test]
async fn xread_block_ignores_deleted_and_retyped_keys_until_a_stream_returns() -> anyhow::Result<()>
{
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut waiter = srv.dedicated().await?;
    let task = tokio::spawn(async move {
        q::<ReadReply>(&mut waiter, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]).await
    });
    wait_blocked(&mut c, 1).await?;
    let _: String = q(&mut c, &["SET", "s", "not a stream"]).await?;
    let _: i64 = q(&mut c, &["DEL", "s"]).await?;
    assert_eq!(blocked_clients(&mut c).await, 1, "still blocked");
    let _: String = q(&mut c, &["XADD", "s", "7", "f", "v"]).await?;
    let r = tokio::time::timeout(Duration::from_secs(5), task).await???;
    assert_eq!(r, vec![("s".to_string(), vec![entry("7-0", &["f", "v"])])]);
    Ok(())
}

#[tokio::test]
async fn xread_block_keeps_waiting_when_new_entries_are_deleted_again() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut waiter = srv.dedicated().await?;
    let _: String = q(&mut c, &["XADD", "s", "1", "f", "v"]).await?;
    let task = tokio::spawn(async move {
        q::<ReadReply>(&mut waiter, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]).await
    });
    wait_blocked(&mut c, 1).await?;
    let _: (String, i64) = redis::pipe()
        .atomic()
        .cmd("XADD")
        .arg(&["s", "2", "f", "gone"])
        .cmd("XDEL")
        .arg(&["s", "2"])
        .query_async(&mut c)
        .await?;
    assert_eq!(blocked_clients(&mut c).await, 1, "nothing live to serve");
    let _: String = q(&mut c, &["XADD", "s", "3", "f", "v"]).await?;
    let r = tokio::time::timeout(Duration::from_secs(5), task).await???;
    assert_eq!(r, vec![("s".to_string(), vec![entry("3-0", &["f", "v"])])]);
    Ok(())
}

#[tokio::test]
async fn xread_resp3_replies_with_a_map() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(&resp(&["HELLO", "3"])).await?;
    read_until(&mut raw, "proto").await?;
    raw.send(&resp(&["XADD", "s", "1-1", "f", "v"])).await?;
    read_until(&mut raw, "1-1").await?;
    raw.send(&resp(&["XREAD", "STREAMS", "s", "0"])).await?;
    let got = read_until(&mut raw, "$1\r\nv\r\n").await?;
    assert!(got.starts_with("%1\r\n$1\r\ns\r\n*1\r\n*2\r\n"), "{got:?}");
    Ok(())
}

#[tokio::test]
async fn xreadgroup_new_entries_create_consumer_pel_and_lag() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let r: ReadReply = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await?;
    assert_eq!(r[0].1.len(), 2);
    let r: ReadReply = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await?;
    assert_eq!(r[0].1, vec![entry("3-0", &["f", "3"])]);
    let info: Vec<Value> = q(&mut c, &["XINFO", "GROUPS", "s"]).await?;
    let g: std::collections::HashMap<String, Value> =
        FromRedisValue::from_redis_value(info[0].clone())?;
    assert_eq!(g["consumers"], Value::Int(2));
    assert_eq!(g["pending"], Value::Int(2), "NOACK adds nothing to the PEL");
    assert_eq!(g["entries-read"], Value::Int(3));
    assert_eq!(g["lag"], Value::Int(0));
    assert_eq!(g["last-delivered-id"], Value::BulkString(b"3-0".to_vec()));
    let none: Option<ReadReply> = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"],
    )
    .await?;
    assert_eq!(none, None);
    let consumers: Vec<Value> = q(&mut c, &["XINFO", "CONSUMERS", "s", "g"]).await?;
    assert_eq!(
        consumers.len(),
        2,
        "a read that gets nothing creates no consumer"
    );
    assert!(
        err(
            &mut c,
            &["XREADGROUP", "GROUP", "nog", "x", "STREAMS", "s", ">"]
        )
        .await
        .starts_with("NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP")
    );
    Ok(())
}

#[tokio::test]
async fn xreadgroup_history_serves_own_pel_with_nil_for_deleted_entries() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]).await?;
    let _: String = q(&mut c, &["XADD", "s", "1", "f", "A"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .await?;
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "2", "f", "B"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .await?;
    let r: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
    )
    .await?;
    let Value::Array(streams) = r else {
        anyhow::bail!("expected an array, got {r:?}");
    };
    let Value::Array(pair) = &streams[0] else {
        anyhow::bail!("expected a pair");
    };
    let Value::Array(entries) = &pair[1] else {
        anyhow::bail!("expected entries");
    };
    assert_eq!(
        entries[0],
        Value::Array(vec![Value::BulkString(b"1-0".to_vec()), Value::Nil])
    );
    let second: Entry = FromRedisValue::from_redis_value(entries[1].clone())?;
    assert_eq!(second, entry("2-0", &["f", "B"]));
    let pending: Vec<(String, String, i64, i64)> =
        q(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]).await?;
    assert_eq!(
        pending.iter().map(|p| p.3).collect::<Vec<_>>(),
        [1, 2],
        "only live entries count as redelivered"
    );
    let other: ReadReply = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "d", "STREAMS", "s", "0"],
    )
    .await?;
    assert_eq!(
        other,
        vec![("s".to_string(), vec![])],
        "other consumers see only their own history"
    );
    Ok(())
}

#[tokio::test]
async fn xreadgroup_block_serves_new_entry_and_creates_consumer() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut waiter = srv.dedicated().await?;
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]).await?;
    let task = tokio::spawn(async move {
        q::<ReadReply>(
            &mut waiter,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await
    });
    wait_blocked(&mut c, 1).await?;
    let consumers: Vec<Value> = q(&mut c, &["XINFO", "CONSUMERS", "s", "g"]).await?;
    assert!(consumers.is_empty(), "blocking creates no consumer");
    let _: String = q(&mut c, &["XADD", "s", "5", "f", "v"]).await?;
    let r = tokio::time::timeout(Duration::from_secs(5), task).await???;
    assert_eq!(r, vec![("s".to_string(), vec![entry("5-0", &["f", "v"])])]);
    let pending: Vec<(String, String, i64, i64)> =
        q(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "bob"]).await?;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1, "bob");
    Ok(())
}

#[tokio::test]
async fn xreadgroup_block_fails_when_key_deleted_or_group_destroyed() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for (action, expected) in [
        (
            &["DEL", "s"][..],
            "UNBLOCKED the stream key no longer exists",
        ),
        (
            &["SET", "s", "x"][..],
            "UNBLOCKED the stream key no longer exists",
        ),
        (
            &["XGROUP", "DESTROY", "s", "g"][..],
            "NOGROUP the consumer group this client was blocked on no longer exists",
        ),
    ] {
        let _: i64 = q(&mut c, &["DEL", "s"]).await?;
        let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]).await?;
        let mut waiter = srv.dedicated().await?;
        let task = tokio::spawn(async move {
            err(
                &mut waiter,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "s",
                    ">",
                ],
            )
            .await
        });
        wait_blocked(&mut c, 1).await?;
        let _: Value = q(&mut c, action).await?;
        let got = tokio::time::timeout(Duration::from_secs(5), task).await??;
        assert_eq!(got, expected, "after {action:?}");
    }
    Ok(())
}

#[tokio::test]
async fn xack_removes_entries_from_group_and_consumer_pel() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .await?;
    assert_eq!(
        err(&mut c, &["XACK", "s", "g", "1", "bad"]).await,
        "ERR Invalid stream ID specified as stream command argument"
    );
    let n: i64 = q(&mut c, &["XACK", "s", "g", "1", "2", "9"]).await?;
    assert_eq!(n, 2);
    let n: i64 = q(&mut c, &["XACK", "s", "g", "1"]).await?;
    assert_eq!(n, 0);
    let n: i64 = q(&mut c, &["XACK", "s", "nogroup", "bad"]).await?;
    assert_eq!(n, 0, "no group: nothing to ack, ids unchecked");
    let summary: (i64, String, String, Vec<(String, String)>) =
        q(&mut c, &["XPENDING", "s", "g"]).await?;
    assert_eq!(
        summary,
        (
            1,
            "3-0".into(),
            "3-0".into(),
            vec![("c".into(), "1".into())]
        )
    );
    Ok(())
}

#[tokio::test]
async fn xpending_filters_by_range_idle_and_consumer() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3", "4"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "a",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", ">"],
    )
    .await?;
    type Pending = Vec<(String, String, i64, i64)>;
    let all: Pending = q(&mut c, &["XPENDING", "s", "g", "(1", "(4-0", "10"]).await?;
    assert_eq!(
        all.iter()
            .map(|p| (p.0.as_str(), p.1.as_str()))
            .collect::<Vec<_>>(),
        [("2-0", "a"), ("3-0", "b")]
    );
    let b: Pending = q(&mut c, &["XPENDING", "s", "g", "-", "+", "1", "b"]).await?;
    assert_eq!(b.len(), 1);
    let idle: Pending = q(
        &mut c,
        &["XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"],
    )
    .await?;
    assert!(idle.is_empty());
    let empty: (i64, Option<String>, Option<String>, Option<Vec<Value>>) = {
        let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g2", "0"]).await?;
        q(&mut c, &["XPENDING", "s", "g2"]).await?
    };
    assert_eq!(empty, (0, None, None, None));
    assert_eq!(
        err(&mut c, &["XPENDING", "s", "g", "-", "+"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["XPENDING", "s", "nog"]).await,
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
    Ok(())
}

#[tokio::test]
async fn xclaim_moves_ownership_and_drops_deleted_entries() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    )
    .await?;
    let _: i64 = q(&mut c, &["XDEL", "s", "2"]).await?;
    let none: Vec<Entry> = q(&mut c, &["XCLAIM", "s", "g", "bob", "3600000", "1"]).await?;
    assert!(none.is_empty(), "not idle long enough");
    let got: Vec<Entry> = q(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1", "2", "3"]).await?;
    assert_eq!(
        got,
        vec![entry("1-0", &["f", "1"]), entry("3-0", &["f", "3"])]
    );
    type Pending = Vec<(String, String, i64, i64)>;
    let p: Pending = q(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]).await?;
    assert_eq!(
        p.iter()
            .map(|p| (p.0.as_str(), p.1.as_str(), p.3))
            .collect::<Vec<_>>(),
        [("1-0", "bob", 2), ("3-0", "bob", 2)]
    );
    let ids: Vec<String> = q(
        &mut c,
        &[
            "XCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "1",
            "JUSTID",
            "RETRYCOUNT",
            "7",
            "IDLE",
            "5000",
            "LASTID",
            "9",
        ],
    )
    .await?;
    assert_eq!(ids, ["1-0"]);
    let p: Pending = q(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "carol"]).await?;
    assert_eq!(p[0].3, 7);
    assert!(p[0].2 >= 5000, "IDLE sets the delivery time back");
    let groups: Vec<std::collections::HashMap<String, Value>> =
        q(&mut c, &["XINFO", "GROUPS", "s"]).await?;
    assert_eq!(
        groups[0]["last-delivered-id"],
        Value::BulkString(b"9-0".to_vec())
    );
    let forced: Vec<String> = q(
        &mut c,
        &[
            "XCLAIM", "s", "g", "dave", "0", "3", "99", "FORCE", "JUSTID",
        ],
    )
    .await?;
    assert_eq!(forced, ["3-0"], "FORCE only claims entries that exist");
    assert_eq!(
        err(&mut c, &["XCLAIM", "s", "g", "x", "0", "1", "BOGUS"]).await,
        "ERR Unrecognized XCLAIM option 'BOGUS'"
    );
    assert_eq!(
        err(&mut c, &["XCLAIM", "s", "nog", "x", "0", "1"]).await,
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
    Ok(())
}

#[tokio::test]
async fn xautoclaim_iterates_with_cursor_and_reports_deleted_ids() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["1", "2", "3", "4"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]).await?;
    }
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    )
    .await?;
    let _: i64 = q(&mut c, &["XDEL", "s", "1"]).await?;
    let (cursor, claimed, deleted): (String, Vec<Entry>, Vec<String>) = q(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "bob", "0", "-", "COUNT", "2"],
    )
    .await?;
    assert_eq!(cursor, "3-0");
    assert_eq!(claimed, vec![entry("2-0", &["f", "2"])]);
    assert_eq!(deleted, ["1-0"]);
    let (cursor, claimed, deleted): (String, Vec<String>, Vec<String>) = q(
        &mut c,
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "bob",
            "0",
            cursor.as_str(),
            "JUSTID",
        ],
    )
    .await?;
    assert_eq!(cursor, "0-0");
    assert_eq!(claimed, ["3-0", "4-0"]);
    assert!(deleted.is_empty());
    assert_eq!(
        err(
            &mut c,
            &["XAUTOCLAIM", "s", "g", "bob", "0", "-", "COUNT", "0"]
        )
        .await,
        "ERR COUNT must be > 0"
    );
    Ok(())
}

#[tokio::test]
async fn xgroup_subcommands_manage_groups_and_consumers() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert!(
        err(&mut c, &["XGROUP", "CREATE", "s", "g", "$"])
            .await
            .starts_with("ERR The XGROUP subcommand requires the key to exist.")
    );
    let _: String = q(
        &mut c,
        &[
            "XGROUP",
            "CREATE",
            "s",
            "g",
            "$",
            "MKSTREAM",
            "ENTRIESREAD",
            "0",
        ],
    )
    .await?;
    assert_eq!(
        err(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]).await,
        "BUSYGROUP Consumer Group name already exists"
    );
    let created: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "c1"]).await?;
    assert_eq!(created, 1);
    let created: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "c1"]).await?;
    assert_eq!(created, 0);
    assert_eq!(
        err(&mut c, &["XGROUP", "CREATECONSUMER", "s", "nog", "c1"]).await,
        "NOGROUP No such consumer group 'nog' for key name 's'"
    );
    let _: String = q(&mut c, &["XADD", "s", "1", "f", "v"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"],
    )
    .await?;
    let pending: i64 = q(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "c1"]).await?;
    assert_eq!(pending, 1);
    let summary: (i64, Option<String>, Option<String>, Option<Vec<Value>>) =
        q(&mut c, &["XPENDING", "s", "g"]).await?;
    assert_eq!(
        summary.0, 0,
        "deleting a consumer drops its pending entries"
    );
    let _: String = q(
        &mut c,
        &["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"],
    )
    .await?;
    let r: ReadReply = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"],
    )
    .await?;
    assert_eq!(r[0].1.len(), 1, "SETID rewinds the group");
    assert_eq!(
        err(&mut c, &["XGROUP", "SETID", "s", "g", "0", "MKSTREAM"]).await,
        "ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP."
    );
    let n: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await?;
    assert_eq!(n, 1);
    let n: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await?;
    assert_eq!(n, 0);
    assert_eq!(
        err(&mut c, &["XGROUP", "DESTROY", "s"]).await,
        "ERR wrong number of arguments for 'xgroup|destroy' command"
    );
    Ok(())
}

#[tokio::test]
async fn xsetid_checks_ids_and_counters() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(err(&mut c, &["XSETID", "s", "1"]).await, "ERR no such key");
    let _: String = q(&mut c, &["XADD", "s", "5", "f", "v"]).await?;
    assert_eq!(
        err(&mut c, &["XSETID", "s", "4"]).await,
        "ERR The ID specified in XSETID is smaller than the target stream top item"
    );
    assert_eq!(
        err(
            &mut c,
            &["XSETID", "s", "9", "ENTRIESADDED", "0", "MAXDELETEDID", "1"]
        )
        .await,
        "ERR The entries_added specified in XSETID is smaller than the target stream length"
    );
    assert_eq!(
        err(&mut c, &["XSETID", "s", "9", "MAXDELETEDID", "10"]).await,
        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    );
    let _: String = q(
        &mut c,
        &["XSETID", "s", "9", "ENTRIESADDED", "7", "MAXDELETEDID", "3"],
    )
    .await?;
    let info: std::collections::HashMap<String, Value> =
        q(&mut c, &["XINFO", "STREAM", "s"]).await?;
    assert_eq!(
        info["last-generated-id"],
        Value::BulkString(b"9-0".to_vec())
    );
    assert_eq!(info["entries-added"], Value::Int(7));
    assert_eq!(
        info["max-deleted-entry-id"],
        Value::BulkString(b"3-0".to_vec())
    );
    assert_eq!(
        err(&mut c, &["XADD", "s", "9", "f", "v"]).await,
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    Ok(())
}

#[tokio::test]
async fn xinfo_stream_reports_metadata_and_full_details() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for id in ["100", "101", "102", "103"] {
        let _: String = q(&mut c, &["XADD", "x", id, "f", id]).await?;
    }
    let _: i64 = q(&mut c, &["XDEL", "x", "100"]).await?;
    let _: String = q(&mut c, &["XGROUP", "CREATE", "x", "g1", "0"]).await?;
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "x",
            ">",
        ],
    )
    .await?;
    let info: std::collections::HashMap<String, Value> =
        q(&mut c, &["XINFO", "STREAM", "x"]).await?;
    assert_eq!(info["length"], Value::Int(3));
    assert_eq!(info["radix-tree-keys"], Value::Int(1));
    assert_eq!(info["radix-tree-nodes"], Value::Int(2));
    assert_eq!(info["entries-added"], Value::Int(4));
    assert_eq!(
        info["recorded-first-entry-id"],
        Value::BulkString(b"101-0".to_vec())
    );
    assert_eq!(
        info["max-deleted-entry-id"],
        Value::BulkString(b"100-0".to_vec())
    );
    assert_eq!(info["groups"], Value::Int(1));
    let first: Entry = FromRedisValue::from_redis_value(info["first-entry"].clone())?;
    assert_eq!(first, entry("101-0", &["f", "101"]));
    let full: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "x", "FULL", "COUNT", "1"]).await?;
    assert_eq!(full.len(), 18);
    let full: std::collections::HashMap<String, Value> =
        FromRedisValue::from_redis_value(Value::Array(full))?;
    let entries: Vec<Entry> = FromRedisValue::from_redis_value(full["entries"].clone())?;
    assert_eq!(entries, vec![entry("101-0", &["f", "101"])]);
    let groups: Vec<std::collections::HashMap<String, Value>> =
        FromRedisValue::from_redis_value(full["groups"].clone())?;
    assert_eq!(groups[0]["name"], Value::BulkString(b"g1".to_vec()));
    assert_eq!(groups[0]["pel-count"], Value::Int(1));
    assert_eq!(groups[0]["entries-read"], Value::Int(2));
    assert_eq!(
        groups[0]["lag"],
        Value::Int(2),
        "the only tombstone is before the first entry"
    );
    let consumers: Vec<std::collections::HashMap<String, Value>> =
        FromRedisValue::from_redis_value(groups[0]["consumers"].clone())?;
    assert_eq!(consumers[0]["name"], Value::BulkString(b"alice".to_vec()));
    assert_eq!(consumers[0]["pel-count"], Value::Int(1));
    assert_eq!(
        err(&mut c, &["XINFO", "STREAM", "nokey"]).await,
        "ERR no such key"
    );
    assert_eq!(
        err(&mut c, &["XINFO", "STREAM", "x", "FULL", "COUNT"]).await,
        "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."
    );
    Ok(())
}

#[tokio::test]
async fn stream_commands_emit_keyspace_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start_with(&[("notify-keyspace-events", "Et")]).await?;
    let mut c = srv.client().await?;
    let mut sub = RawConn::connect(srv.addr()).await?;
    sub.send(&resp(&["PSUBSCRIBE", "__keyevent@0__:*"])).await?;
    read_until(&mut sub, "psubscribe").await?;
    let _: String = q(&mut c, &["XADD", "s", "1", "f", "v"]).await?;
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "2", "f", "v"]).await?;
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await?;
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .await?;
    let _: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "d"]).await?;
    let _: i64 = q(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "d"]).await?;
    let _: String = q(&mut c, &["XGROUP", "SETID", "s", "g", "0"]).await?;
    let _: i64 = q(&mut c, &["XDEL", "s", "2"]).await?;
    let _: String = q(&mut c, &["XSETID", "s", "5"]).await?;
    let _: i64 = q(&mut c, &["XTRIM", "s", "MAXLEN", "0"]).await?;
    let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await?;
    let seen = read_until(&mut sub, "xgroup-destroy").await?;
    let events: Vec<&str> = seen
        .split("__keyevent@0__:")
        .skip(1)
        .map(|s| s.split('\r').next().unwrap_or(""))
        .filter(|e| !e.is_empty() && *e != "*")
        .collect();
    assert_eq!(
        events,
        [
            "xadd",
            "xadd",
            "xtrim",
            "xgroup-create",
            "xgroup-createconsumer",
            "xgroup-createconsumer",
            "xgroup-delconsumer",
            "xgroup-setid",
            "xdel",
            "xsetid",
            "xgroup-destroy"
        ],
        "{seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stream_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["XADD", "s", "1-1", "a", "1", "b", "2"],
            &["XADD", "s", "1-*", "c", "3"],
            &["XADD", "s", "MAXLEN", "2", "MINID", "3", "9", "f", "6"],
            &["XADD", "s", "LIMIT", "3", "9", "f", "6"],
            &[
                "XADD", "s", "MAXLEN", "~", "3", "LIMIT", "-1", "9", "f", "6",
            ],
            &["XADD", "s", "MAXLEN", "=", "-1", "9", "f", "6"],
            &["XADD", "s", "MINID", "~", "abc", "9", "f", "v"],
            &["XADD", "s", "18446744073709551616", "f", "v"],
            &["XADD", "s", "007-1", "f", "v"],
            &["XRANGE", "s", "-", "+", "COUNT", "-1"],
            &["XRANGE", "nokey", "-", "+", "COUNT", "0"],
            &["XRANGE", "s", "(", "+"],
            &["XREVRANGE", "s", "(7-1", "-"],
            &["XREAD", "COUNT", "1"],
            &["XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"],
            &["XREAD", "NOACK", "STREAMS", "s", "0"],
            &["XREADGROUP", "STREAMS", "s", "0"],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"],
            &["XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "-2"],
            &["XGROUP", "CREATE", "s", "g", "+"],
            &[
                "XGROUP",
                "CREATE",
                "s",
                "g",
                "0",
                "MKSTREAM",
                "ENTRIESREAD",
                "3",
                "MKSTREAM",
            ],
            &["XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "1"],
            &["XINFO", "GROUPS", "s"],
            &[
                "XGROUP",
                "SETID",
                "s",
                "g",
                "-",
                "ENTRIESREAD",
                "1",
                "ENTRIESREAD",
                "2",
            ],
            &["XGROUP", "SETID", "s", "nog", "0"],
            &["XGROUP", "FOO"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "s",
                "18446744073709551615-18446744073709551615",
            ],
            &["XPENDING", "s", "g", "IDLE", "0", "-", "+"],
            &["XPENDING", "s", "g", "-", "+", "abc"],
            &["XPENDING", "s", "g", "-", "+", "10", "nobody"],
            &["XCLAIM", "s", "g", "c", "abc", "1"],
            &["XCLAIM", "s", "g", "c", "0", "1", "IDLE"],
            &["XCLAIM", "s", "g", "c", "0", "1", "TIME", "x"],
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "0",
                "0",
                "COUNT",
                "8070450532247928833",
            ],
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "0",
                "(18446744073709551615-18446744073709551615",
            ],
            &["XAUTOCLAIM", "s", "g", "c", "0", "0", "FOO"],
            &["XDEL", "nokey", "bad"],
            &["XDEL", "s", "bad"],
            &["XTRIM", "s"],
            &["XTRIM", "s", "LIMIT", "10"],
            &["XTRIM", "s", "MINID", "~", "1", "LIMIT", "10"],
            &["XSETID", "s", "20", "ENTRIESADDED"],
            &["XSETID", "s", "20", "ENTRIESADDED", "-1"],
            &["XSETID", "s", "+"],
            &["XINFO", "STREAM", "s", "FULL", "FOO", "1"],
            &["XINFO", "HELP"],
            &["XGROUP", "HELP"],
            &["XINFO", "HELP", "x"],
            &["SET", "str", "x"],
            &["XREAD", "STREAMS", "str", "0"],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"],
            &["XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"],
            &["XPENDING", "str", "g"],
            &["XLEN", "str"],
        ],
    )
    .await
}
