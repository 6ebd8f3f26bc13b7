//! Sorted set commands against the in-process server, with the `redis` crate; subtle edge cases
//! side by side with a real redis-server 7.0.

use std::time::Duration;

use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies, eventually};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Value};

async fn q(c: &mut MultiplexedConnection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await
}

async fn err(c: &mut MultiplexedConnection, args: &[&str]) -> String {
    match q(c, args).await {
        Ok(v) => format!("unexpected success: {v:?}"),
        Err(e) => format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        ),
    }
}

async fn strings(c: &mut MultiplexedConnection, args: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    Ok(cmd.query_async(c).await?)
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

/// Reads from a raw connection until `needle` shows up; returns everything read.
async fn read_until(raw: &mut RawConn, needle: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    while !buf.windows(needle.len()).any(|w| w == needle) {
        let more = raw.read_at_least(1).await?;
        anyhow::ensure!(!more.is_empty(), "connection closed before {needle:?}");
        buf.extend(more);
    }
    Ok(buf)
}

#[tokio::test]
async fn zadd_new_members_returns_added_count_in_score_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = c
        .zadd_multiple("z", &[(3, "c"), (1, "a"), (2, "b")])
        .await?;
    assert_eq!(n, 3);
    let n: i64 = c.zadd_multiple("z", &[(5, "x"), (20, "b")]).await?;
    assert_eq!(n, 1);
    assert_eq!(
        strings(&mut c, &["ZRANGE", "z", "0", "-1"]).await?,
        ["a", "c", "x", "b"]
    );
    assert_eq!(
        strings(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await?,
        ["a", "1", "c", "3", "x", "5", "b", "20"]
    );
    Ok(())
}

#[tokio::test]
async fn zadd_incompatible_options_return_redis_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        err(&mut c, &["ZADD", "z", "XX", "NX", "1", "a"]).await,
        "ERR XX and NX options at the same time are not compatible"
    );
    for opts in [["GT", "LT"], ["GT", "NX"], ["NX", "LT"]] {
        assert_eq!(
            err(&mut c, &["ZADD", "z", opts[0], opts[1], "1", "a"]).await,
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
    }
    assert_eq!(
        err(&mut c, &["ZADD", "z", "INCR", "1", "a", "2", "b"]).await,
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1", "a", "2"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "NX", "XX"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1", "a", "x", "b"]).await,
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "nan", "a"]).await,
        "ERR value is not a valid float"
    );
    // Nothing was added by the failed commands.
    assert_eq!(q(&mut c, &["EXISTS", "z"]).await?, Value::Int(0));
    Ok(())
}

#[tokio::test]
async fn zadd_gt_lt_ch_incr_apply_redis_rules() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "10", "x", "20", "y", "30", "z"]).await?;
    assert_eq!(
        q(
            &mut c,
            &[
                "ZADD", "z", "GT", "CH", "5", "new", "11", "x", "21", "y", "29", "z"
            ]
        )
        .await?,
        Value::Int(3)
    );
    assert_eq!(q(&mut c, &["ZSCORE", "z", "z"]).await?, bulk("30"));
    assert_eq!(
        q(
            &mut c,
            &[
                "ZADD", "z", "LT", "XX", "CH", "1", "x", "100", "y", "7", "nope"
            ]
        )
        .await?,
        Value::Int(1)
    );
    assert_eq!(
        q(&mut c, &["ZADD", "z", "LT", "INCR", "1", "x"]).await?,
        Value::Nil
    );
    assert_eq!(
        q(&mut c, &["ZADD", "z", "INCR", "1.5", "x"]).await?,
        bulk("2.5")
    );
    assert_eq!(
        q(&mut c, &["ZADD", "z", "XX", "INCR", "1", "absent"]).await?,
        Value::Nil
    );
    assert_eq!(
        q(&mut c, &["ZADD", "missing", "XX", "1", "a"]).await?,
        Value::Int(0)
    );
    assert_eq!(q(&mut c, &["EXISTS", "missing"]).await?, Value::Int(0));
    Ok(())
}

#[tokio::test]
async fn zincrby_inf_minus_inf_returns_nan_error_and_keeps_score() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        q(&mut c, &["ZINCRBY", "z", "+inf", "m"]).await?,
        bulk("inf")
    );
    assert_eq!(
        err(&mut c, &["ZINCRBY", "z", "-inf", "m"]).await,
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(q(&mut c, &["ZSCORE", "z", "m"]).await?, bulk("inf"));
    assert_eq!(
        q(&mut c, &["ZINCRBY", "z", "0.1", "f"]).await?,
        bulk("0.10000000000000001")
    );
    assert_eq!(
        err(&mut c, &["ZINCRBY", "z", "1", "a", "2"]).await,
        "ERR wrong number of arguments for 'zincrby' command"
    );
    Ok(())
}

#[tokio::test]
async fn zrem_removing_last_member_deletes_key() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b"]).await?;
    assert_eq!(q(&mut c, &["ZREM", "z", "x", "a"]).await?, Value::Int(1));
    assert_eq!(
        q(&mut c, &["ZREM", "z", "b", "c", "d"]).await?,
        Value::Int(1)
    );
    assert_eq!(q(&mut c, &["EXISTS", "z"]).await?, Value::Int(0));
    assert_eq!(q(&mut c, &["ZREM", "z", "b"]).await?, Value::Int(0));
    Ok(())
}

#[tokio::test]
async fn point_reads_on_missing_members_return_nil_or_zero() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "10", "x", "20", "y", "30", "z"]).await?;
    assert_eq!(q(&mut c, &["ZCARD", "z"]).await?, Value::Int(3));
    assert_eq!(q(&mut c, &["ZCARD", "nokey"]).await?, Value::Int(0));
    assert_eq!(q(&mut c, &["ZSCORE", "z", "nope"]).await?, Value::Nil);
    assert_eq!(q(&mut c, &["ZSCORE", "nokey", "x"]).await?, Value::Nil);
    assert_eq!(
        q(&mut c, &["ZMSCORE", "z", "x", "nope", "z"]).await?,
        Value::Array(vec![bulk("10"), Value::Nil, bulk("30")])
    );
    assert_eq!(q(&mut c, &["ZRANK", "z", "y"]).await?, Value::Int(1));
    assert_eq!(q(&mut c, &["ZREVRANK", "z", "x"]).await?, Value::Int(2));
    assert_eq!(q(&mut c, &["ZRANK", "z", "nope"]).await?, Value::Nil);
    assert_eq!(
        q(&mut c, &["ZCOUNT", "z", "(10", "30"]).await?,
        Value::Int(2)
    );
    q(&mut c, &["SET", "s", "v"]).await?;
    assert!(
        err(&mut c, &["ZSCORE", "s", "x"])
            .await
            .starts_with("WRONGTYPE")
    );
    assert!(err(&mut c, &["ZCARD", "s"]).await.starts_with("WRONGTYPE"));
    Ok(())
}

#[tokio::test]
async fn zrange_variants_select_by_rank_score_and_lex() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(
        &mut c,
        &[
            "ZADD", "z", "-inf", "a", "1", "b", "2", "c", "3", "d", "+inf", "e",
        ],
    )
    .await?;
    assert_eq!(
        strings(&mut c, &["ZRANGE", "z", "-2", "-1"]).await?,
        ["d", "e"]
    );
    assert_eq!(
        strings(&mut c, &["ZREVRANGE", "z", "0", "1"]).await?,
        ["e", "d"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZRANGEBYSCORE", "z", "(1", "+inf", "LIMIT", "1", "2"]
        )
        .await?,
        ["d", "e"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZREVRANGEBYSCORE", "z", "3", "(-inf", "WITHSCORES"]
        )
        .await?,
        ["d", "3", "c", "2", "b", "1"]
    );
    assert_eq!(
        strings(
            &mut c,
            &[
                "ZRANGE", "z", "5", "(1", "BYSCORE", "REV", "LIMIT", "0", "2"
            ]
        )
        .await?,
        ["d", "c"]
    );
    q(
        &mut c,
        &[
            "ZADD", "l", "0", "alpha", "0", "bar", "0", "cool", "0", "down",
        ],
    )
    .await?;
    assert_eq!(
        strings(&mut c, &["ZRANGEBYLEX", "l", "(alpha", "[cool"]).await?,
        ["bar", "cool"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"]
        )
        .await?,
        ["cool", "bar"]
    );
    assert_eq!(
        q(&mut c, &["ZLEXCOUNT", "l", "-", "+"]).await?,
        Value::Int(4)
    );
    assert_eq!(
        strings(&mut c, &["ZRANGE", "l", "[b", "+", "BYLEX"]).await?,
        ["bar", "cool", "down"]
    );
    assert_eq!(
        q(&mut c, &["ZRANGE", "nokey", "0", "-1"]).await?,
        Value::Array(vec![])
    );
    Ok(())
}

#[tokio::test]
async fn zrange_invalid_ranges_and_options_return_redis_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "1", "a"]).await?;
    assert_eq!(
        err(&mut c, &["ZRANGEBYSCORE", "z", "x", "1"]).await,
        "ERR min or max is not a float"
    );
    assert_eq!(
        err(&mut c, &["ZCOUNT", "z", "1", "nan"]).await,
        "ERR min or max is not a float"
    );
    assert_eq!(
        err(&mut c, &["ZRANGEBYLEX", "z", "a", "[b"]).await,
        "ERR min or max not valid string range item"
    );
    assert_eq!(
        err(&mut c, &["ZLEXCOUNT", "z", "+x", "+"]).await,
        "ERR min or max not valid string range item"
    );
    assert_eq!(
        err(&mut c, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"]).await,
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(&mut c, &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"]).await,
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    assert_eq!(
        err(&mut c, &["ZREVRANGE", "z", "0", "-1", "BYSCORE"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZRANGEBYSCORE", "z", "0", "1", "REV"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZRANGE", "z", "a", "b"]).await,
        "ERR value is not an integer or out of range"
    );
    Ok(())
}

#[tokio::test]
async fn zrangestore_empty_result_deletes_destination() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(
        &mut c,
        &["ZADD", "src", "1", "a", "2", "b", "3", "c", "4", "d"],
    )
    .await?;
    assert_eq!(
        q(&mut c, &["ZRANGESTORE", "dst", "src", "(1", "3", "BYSCORE"]).await?,
        Value::Int(2)
    );
    assert_eq!(
        strings(&mut c, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]).await?,
        ["b", "2", "c", "3"]
    );
    assert_eq!(
        err(
            &mut c,
            &["ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"]
        )
        .await,
        "ERR syntax error"
    );
    assert_eq!(
        q(&mut c, &["ZRANGESTORE", "dst", "src", "5", "6"]).await?,
        Value::Int(0)
    );
    assert_eq!(q(&mut c, &["EXISTS", "dst"]).await?, Value::Int(0));
    q(&mut c, &["SET", "str", "x"]).await?;
    q(&mut c, &["ZADD", "dst", "1", "keep"]).await?;
    assert!(
        err(&mut c, &["ZRANGESTORE", "dst", "str", "0", "-1"])
            .await
            .starts_with("WRONGTYPE")
    );
    assert_eq!(q(&mut c, &["ZCARD", "dst"]).await?, Value::Int(1));
    Ok(())
}

#[tokio::test]
async fn zremrangeby_rank_score_lex_remove_and_delete_empty_key() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    )
    .await?;
    assert_eq!(
        q(&mut c, &["ZREMRANGEBYRANK", "z", "1", "3"]).await?,
        Value::Int(3)
    );
    assert_eq!(
        strings(&mut c, &["ZRANGE", "z", "0", "-1"]).await?,
        ["a", "e"]
    );
    assert_eq!(
        q(&mut c, &["ZREMRANGEBYRANK", "z", "10", "-1"]).await?,
        Value::Int(0)
    );
    assert_eq!(
        q(&mut c, &["ZREMRANGEBYSCORE", "z", "(1", "5"]).await?,
        Value::Int(1)
    );
    assert_eq!(
        q(&mut c, &["ZREMRANGEBYLEX", "z", "-", "+"]).await?,
        Value::Int(1)
    );
    assert_eq!(q(&mut c, &["EXISTS", "z"]).await?, Value::Int(0));
    assert_eq!(
        err(&mut c, &["ZREMRANGEBYSCORE", "z", "a", "1"]).await,
        "ERR min or max is not a float"
    );
    Ok(())
}

#[tokio::test]
async fn zpopmin_zpopmax_with_count_pop_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(
        &mut c,
        &["ZADD", "z", "-1", "a", "1", "b", "2", "c", "3", "d"],
    )
    .await?;
    assert_eq!(strings(&mut c, &["ZPOPMIN", "z"]).await?, ["a", "-1"]);
    assert_eq!(
        strings(&mut c, &["ZPOPMAX", "z", "2"]).await?,
        ["d", "3", "c", "2"]
    );
    assert_eq!(
        q(&mut c, &["ZPOPMIN", "z", "0"]).await?,
        Value::Array(vec![])
    );
    assert_eq!(
        err(&mut c, &["ZPOPMIN", "z", "-1"]).await,
        "ERR value is out of range, must be positive"
    );
    assert_eq!(strings(&mut c, &["ZPOPMIN", "z", "10"]).await?, ["b", "1"]);
    assert_eq!(q(&mut c, &["EXISTS", "z"]).await?, Value::Int(0));
    assert_eq!(q(&mut c, &["ZPOPMIN", "z"]).await?, Value::Array(vec![]));
    assert_eq!(
        err(&mut c, &["ZPOPMIN", "z", "1", "2"]).await,
        "ERR syntax error"
    );
    Ok(())
}

#[tokio::test]
async fn zmpop_returns_key_with_nested_pairs() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "b", "1", "x", "2", "y", "3", "z"]).await?;
    let v = q(&mut c, &["ZMPOP", "2", "a", "b", "MAX", "COUNT", "2"]).await?;
    assert_eq!(
        v,
        Value::Array(vec![
            bulk("b"),
            Value::Array(vec![
                Value::Array(vec![bulk("z"), bulk("3")]),
                Value::Array(vec![bulk("y"), bulk("2")]),
            ]),
        ])
    );
    assert_eq!(q(&mut c, &["ZMPOP", "1", "a", "MIN"]).await?, Value::Nil);
    assert_eq!(
        err(&mut c, &["ZMPOP", "0", "a", "MIN"]).await,
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        err(&mut c, &["ZMPOP", "1", "a", "MIN", "COUNT", "0"]).await,
        "ERR count should be greater than 0"
    );
    assert_eq!(
        err(&mut c, &["ZMPOP", "1", "a", "LEFT"]).await,
        "ERR syntax error"
    );
    Ok(())
}

#[tokio::test]
async fn bzpopmin_blocked_client_is_served_by_zadd() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut b = srv.dedicated().await?;
    b.set_response_timeout(Duration::from_secs(10));
    let waiter = tokio::spawn(async move {
        let mut cmd = redis::cmd("BZPOPMIN");
        cmd.arg("z1").arg("z2").arg(0);
        cmd.query_async::<Value>(&mut b).await
    });
    eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            let info: String = redis::cmd("INFO")
                .arg("clients")
                .query_async(&mut c)
                .await
                .unwrap_or_default();
            info.contains("blocked_clients:1")
        }
    })
    .await?;
    q(&mut c, &["ZADD", "z2", "-1", "foo", "1", "bar"]).await?;
    let v = waiter.await??;
    assert_eq!(v, Value::Array(vec![bulk("z2"), bulk("foo"), bulk("-1")]));
    assert_eq!(
        strings(&mut c, &["ZRANGE", "z2", "0", "-1"]).await?,
        ["bar"]
    );
    Ok(())
}

#[tokio::test]
async fn bzmpop_timeout_returns_nil_and_bad_timeouts_error() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    assert_eq!(
        q(&mut c, &["BZMPOP", "0.01", "1", "z", "MIN"]).await?,
        Value::Nil
    );
    assert_eq!(q(&mut c, &["BZPOPMAX", "z", "0.01"]).await?, Value::Nil);
    assert_eq!(
        err(&mut c, &["BZPOPMIN", "z", "abc"]).await,
        "ERR timeout is not a float or out of range"
    );
    assert_eq!(
        err(&mut c, &["BZPOPMIN", "z", "-1"]).await,
        "ERR timeout is negative"
    );
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b"]).await?;
    assert_eq!(
        q(&mut c, &["BZMPOP", "1", "1", "z", "MAX", "COUNT", "5"]).await?,
        Value::Array(vec![
            bulk("z"),
            Value::Array(vec![
                Value::Array(vec![bulk("b"), bulk("2")]),
                Value::Array(vec![bulk("a"), bulk("1")]),
            ]),
        ])
    );
    Ok(())
}

#[tokio::test]
async fn bzpopmin_inside_multi_returns_nil_without_blocking() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("BZPOPMIN")
        .arg("z")
        .arg(0)
        .cmd("BZMPOP")
        .arg(0)
        .arg(1)
        .arg("z")
        .arg("MIN");
    let v: Vec<Value> = pipe.query_async(&mut c).await?;
    assert_eq!(v, vec![Value::Nil, Value::Nil]);
    Ok(())
}

#[tokio::test]
async fn bzpopmin_key_of_other_type_keeps_client_blocked() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut b = srv.dedicated().await?;
    b.set_response_timeout(Duration::from_secs(10));
    let waiter = tokio::spawn(async move {
        let mut cmd = redis::cmd("BZPOPMIN");
        cmd.arg("z").arg(0);
        cmd.query_async::<Value>(&mut b).await
    });
    let blocked = |n: &'static str| {
        let c = c.clone();
        move || {
            let mut c = c.clone();
            async move {
                let info: String = redis::cmd("INFO")
                    .arg("clients")
                    .query_async(&mut c)
                    .await
                    .unwrap_or_default();
                info.contains(n)
            }
        }
    };
    eventually(Duration::from_secs(5), blocked("blocked_clients:1")).await?;
    // ZADD then DEL then SET in one transaction: the key is ready but holds a string.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("ZADD")
        .arg("z")
        .arg(0)
        .arg("foo")
        .cmd("DEL")
        .arg("z")
        .cmd("SET")
        .arg("z")
        .arg("str");
    let _: Vec<Value> = pipe.query_async(&mut c).await?;
    q(&mut c, &["PING"]).await?;
    assert!(!waiter.is_finished());
    q(&mut c, &["DEL", "z"]).await?;
    q(&mut c, &["ZADD", "z", "1", "bar"]).await?;
    let v = waiter.await??;
    assert_eq!(v, Value::Array(vec![bulk("z"), bulk("bar"), bulk("1")]));
    Ok(())
}

#[tokio::test]
async fn zunionstore_with_sets_weights_and_aggregate() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "a", "1", "a", "2", "b", "3", "c"]).await?;
    q(&mut c, &["ZADD", "b", "1", "b", "2", "c", "3", "d"]).await?;
    assert_eq!(
        q(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b"]).await?,
        Value::Int(4)
    );
    assert_eq!(
        strings(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"]).await?,
        ["a", "1", "b", "3", "d", "3", "c", "5"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"]
        )
        .await?,
        ["a", "2", "b", "7", "d", "9", "c", "12"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]
        )
        .await?,
        ["a", "1", "b", "1", "c", "2", "d", "3"]
    );
    assert_eq!(
        err(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "nan"]).await,
        "ERR weight value is not a float"
    );
    assert_eq!(
        err(&mut c, &["ZUNIONSTORE", "d", "0", "a"]).await,
        "ERR at least 1 input key is needed for 'zunionstore' command"
    );
    assert_eq!(
        err(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZUNION", "3", "a", "b"]).await,
        "ERR syntax error"
    );
    q(&mut c, &["ZADD", "neg", "-inf", "x"]).await?;
    q(&mut c, &["ZUNIONSTORE", "out", "1", "neg", "WEIGHTS", "0"]).await?;
    assert_eq!(
        strings(&mut c, &["ZRANGE", "out", "0", "-1", "WITHSCORES"]).await?,
        ["x", "0"]
    );
    assert_eq!(
        q(&mut c, &["ZUNIONSTORE", "d", "1", "nokey"]).await?,
        Value::Int(0)
    );
    assert_eq!(q(&mut c, &["EXISTS", "d"]).await?, Value::Int(0));
    Ok(())
}

#[tokio::test]
async fn zinter_zdiff_zintercard_combine_inputs() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "a", "1", "a", "2", "b", "3", "c"]).await?;
    q(&mut c, &["ZADD", "b", "1", "b", "2", "c", "3", "d"]).await?;
    assert_eq!(
        strings(&mut c, &["ZINTER", "2", "a", "b", "WITHSCORES"]).await?,
        ["b", "3", "c", "5"]
    );
    assert_eq!(
        strings(
            &mut c,
            &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]
        )
        .await?,
        ["b", "2", "c", "3"]
    );
    assert_eq!(
        q(&mut c, &["ZINTERSTORE", "d", "2", "a", "b"]).await?,
        Value::Int(2)
    );
    assert_eq!(
        strings(&mut c, &["ZDIFF", "2", "a", "b", "WITHSCORES"]).await?,
        ["a", "1"]
    );
    assert_eq!(
        q(&mut c, &["ZDIFFSTORE", "d", "2", "a", "a"]).await?,
        Value::Int(0)
    );
    assert_eq!(q(&mut c, &["EXISTS", "d"]).await?, Value::Int(0));
    assert_eq!(
        q(&mut c, &["ZINTERCARD", "2", "a", "b"]).await?,
        Value::Int(2)
    );
    assert_eq!(
        q(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]).await?,
        Value::Int(1)
    );
    assert_eq!(
        err(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"]).await,
        "ERR LIMIT can't be negative"
    );
    q(&mut c, &["SET", "str", "x"]).await?;
    assert!(
        err(&mut c, &["ZINTER", "2", "a", "str"])
            .await
            .starts_with("WRONGTYPE")
    );
    Ok(())
}

#[tokio::test]
async fn zrandmember_count_variants_return_members_of_the_set() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]).await?;
    let one: String = c.zrandmember("z", None).await?;
    assert!(["a", "b", "c"].contains(&one.as_str()));
    assert_eq!(
        strings(&mut c, &["ZRANDMEMBER", "z", "-10"]).await?.len(),
        10
    );
    let mut all = strings(&mut c, &["ZRANDMEMBER", "z", "10"]).await?;
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    let two = strings(&mut c, &["ZRANDMEMBER", "z", "2", "WITHSCORES"]).await?;
    assert_eq!(two.len(), 4);
    assert_ne!(two[0], two[2]);
    assert_eq!(
        q(&mut c, &["ZRANDMEMBER", "z", "0"]).await?,
        Value::Array(vec![])
    );
    assert_eq!(q(&mut c, &["ZRANDMEMBER", "nokey"]).await?, Value::Nil);
    assert_eq!(
        err(
            &mut c,
            &["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"]
        )
        .await,
        "ERR value is out of range"
    );
    Ok(())
}

#[tokio::test]
async fn zscan_listpack_returns_everything_and_skiplist_iterates_all() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "small", "1", "a", "2.5", "b"]).await?;
    assert_eq!(
        q(&mut c, &["ZSCAN", "small", "0", "COUNT", "1"]).await?,
        Value::Array(vec![
            bulk("0"),
            Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2.5")]),
        ])
    );
    for i in 0..300 {
        q(&mut c, &["ZADD", "big", &i.to_string(), &format!("m{i}")]).await?;
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("ZSCAN")
            .arg("big")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query_async(&mut c)
            .await?;
        for pair in items.chunks(2) {
            assert_eq!(pair[0], format!("m{}", pair[1]));
            seen.insert(pair[0].clone());
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 300);
    assert_eq!(
        err(&mut c, &["ZSCAN", "big", "x"]).await,
        "ERR invalid cursor"
    );
    Ok(())
}

#[tokio::test]
async fn object_encoding_follows_zset_thresholds() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["CONFIG", "SET", "zset-max-ziplist-entries", "2"]).await?;
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b"]).await?;
    assert_eq!(
        q(&mut c, &["OBJECT", "ENCODING", "z"]).await?,
        bulk("listpack")
    );
    q(&mut c, &["ZADD", "z", "3", "c"]).await?;
    assert_eq!(
        q(&mut c, &["OBJECT", "ENCODING", "z"]).await?,
        bulk("skiplist")
    );
    q(&mut c, &["ZREM", "z", "c"]).await?;
    assert_eq!(
        q(&mut c, &["OBJECT", "ENCODING", "z"]).await?,
        bulk("skiplist")
    );
    // A stored result picks the encoding that fits it.
    q(&mut c, &["ZUNIONSTORE", "u", "1", "z"]).await?;
    assert_eq!(
        q(&mut c, &["OBJECT", "ENCODING", "u"]).await?,
        bulk("listpack")
    );
    q(&mut c, &["CONFIG", "SET", "zset-max-listpack-value", "3"]).await?;
    q(&mut c, &["ZADD", "long", "1", "abcd"]).await?;
    assert_eq!(
        q(&mut c, &["OBJECT", "ENCODING", "long"]).await?,
        bulk("skiplist")
    );
    Ok(())
}

#[tokio::test]
async fn zset_commands_emit_keyspace_events_in_redis_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Egz"]).await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"PSUBSCRIBE __keyevent@0__:*\r\n").await?;
    read_until(&mut raw, b"psubscribe").await?;
    for cmd in [
        &["ZADD", "z", "1", "a", "2", "b"][..],
        &["ZADD", "z", "1", "a"],
        &["ZINCRBY", "z", "1", "a"],
        &["ZREM", "z", "a"],
        &["ZPOPMAX", "z"],
        &["ZADD", "s", "1", "x"],
        &["ZUNIONSTORE", "u", "1", "s"],
        &["ZRANGESTORE", "u", "s", "5", "6"],
        &["ZREMRANGEBYSCORE", "s", "-inf", "+inf"],
    ] {
        q(&mut c, cmd).await?;
    }
    let got = read_until(&mut raw, b"zremrangebyscore\r\n$1\r\ns\r\n").await?;
    let text = String::from_utf8_lossy(&got);
    let events: Vec<&str> = text
        .split("__keyevent@0__:")
        .skip(1)
        .map(|s| s.split('\r').next().unwrap_or(""))
        .filter(|e| *e != "*")
        .collect();
    assert_eq!(
        events,
        [
            "zadd",
            "zincr",
            "zrem",
            "zpopmax",
            "del",
            "zadd",
            "zunionstore",
            "del",
            "zremrangebyscore",
            "del"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn resp3_replies_use_doubles_and_nested_pairs() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]).await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"HELLO 3\r\nZSCORE z a\r\nPING\r\n").await?;
    let got = read_until(&mut raw, b"+PONG\r\n").await?;
    assert!(
        got.ends_with(b",1\r\n+PONG\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    raw.send(b"ZPOPMIN z\r\nPING\r\n").await?;
    let got = read_until(&mut raw, b"+PONG\r\n").await?;
    assert_eq!(got, b"*2\r\n$1\r\na\r\n,1\r\n+PONG\r\n");
    raw.send(b"ZPOPMIN z 1\r\nPING\r\n").await?;
    let got = read_until(&mut raw, b"+PONG\r\n").await?;
    assert_eq!(got, b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n+PONG\r\n");
    raw.send(b"ZRANGE z 0 -1 WITHSCORES\r\nPING\r\n").await?;
    let got = read_until(&mut raw, b"+PONG\r\n").await?;
    assert_eq!(got, b"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n+PONG\r\n");
    raw.send(b"ZMPOP 1 nokey MIN\r\nPING\r\n").await?;
    let got = read_until(&mut raw, b"+PONG\r\n").await?;
    assert_eq!(got, b"_\r\n+PONG\r\n");
    Ok(())
}

#[tokio::test]
async fn zset_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c", "0x10", "hex"],
            &["ZADD", "z", "1e400", "x"],
            &["ZADD", "z", "1e-400", "x"],
            &["ZADD", "z", "", "x"],
            &["ZADD", "z", " 1", "x"],
            &["ZADD", "z", "xx", "nx"],
            &["ZADD", "z", "1", "a", "nx"],
            &["ZADD", "z", "GT", "INCR", "-5", "a"],
            &["ZADD", "z", "NX", "INCR", "1", "a"],
            &["ZADD", "z", "-0", "negzero"],
            &["ZSCORE", "z", "negzero"],
            &["ZINCRBY", "z", "-0", "negzero"],
            &["ZINCRBY", "z", "nx", "a"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["ZRANGE", "z", "-100", "100"],
            &["ZRANGE", "z", "2", "1"],
            &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"],
            &["ZRANGE", "z", "(1", "(3", "BYSCORE", "LIMIT", "-1", "5"],
            &["ZRANGE", "z", "(1", "(3", "BYSCORE", "LIMIT", "0", "0"],
            &["ZRANGE", "z", "", "(", "BYSCORE"],
            &[
                "ZRANGE",
                "z",
                "+inf",
                "-inf",
                "BYSCORE",
                "REV",
                "WITHSCORES",
            ],
            &["ZRANGE", "z", "0", "-1", "REV", "REV"],
            &["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
            &["ZRANGE", "z", "0", "-1", "LIMIT", "1"],
            &[
                "ZREVRANGEBYSCORE",
                "z",
                "(3",
                "1",
                "WITHSCORES",
                "LIMIT",
                "1",
                "1",
            ],
            &["ZRANGEBYLEX", "z", "[", "(", "LIMIT", "0", "2"],
            &["ZRANGEBYLEX", "z", "-", "-"],
            &["ZRANGEBYLEX", "z", "+", "+"],
            &["ZLEXCOUNT", "z", "[a", "[a"],
            &["ZLEXCOUNT", "z", "(a", "[a"],
            &["ZCOUNT", "z", "3", "1"],
            &["ZCOUNT", "z", "(1", "(1"],
            &["ZRANK", "z", "hex"],
            &["ZREVRANK", "z", "a"],
            &["ZREMRANGEBYRANK", "z", "-1", "-100"],
            &["ZREMRANGEBYRANK", "z", "x", "1"],
            &["ZREMRANGEBYLEX", "z", "[", "("],
            &["ZPOPMIN", "z", "abc"],
            &["ZPOPMAX", "z", "1", "2"],
            &["ZMPOP", "1", "z"],
            &["ZMPOP", "2", "z"],
            &["ZMPOP", "9223372036854775807", "z", "MIN"],
            &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"],
            &["ZMPOP", "1", "z", "MAX", "COUNT", "x"],
            &["BZPOPMIN", "z", "inf"],
            &["BZPOPMIN", "z", "1e400"],
            &["BZPOPMIN", "z", " 1"],
            &["BZMPOP", "x", "1", "z", "MIN"],
            &["BZMPOP", "-1", "1", "z", "bad"],
            &["ZADD", "s1", "1", "x", "2", "y"],
            &["ZADD", "s2", "+inf", "x", "-inf", "y"],
            &["ZUNION", "2", "s1", "s2", "WITHSCORES"],
            &["ZINTER", "2", "s1", "s2", "WEIGHTS", "0", "1", "WITHSCORES"],
            &["ZUNION", "2", "s1", "s2", "WEIGHTS", "1"],
            &["ZUNION", "2", "s1", "s2", "AGGREGATE"],
            &["ZUNION", "2", "s1", "s2", "AGGREGATE", "avg"],
            &["ZDIFF", "2", "s1", "s2", "WEIGHTS", "1", "1"],
            &["ZINTERCARD", "1", "s1", "s1"],
            &["ZINTERCARD", "1", "s1", "LIMIT", "x"],
            &["ZINTERCARD", "0", "s1"],
            &["ZUNION", "x", "s1"],
            &["SET", "str", "v"],
            &["ZUNION", "2", "str", "s1", "bad"],
            &["ZSCAN", "str", "0", "COUNT", "0"],
            &["ZSCAN", "nokey", "0", "COUNT", "0"],
            &["ZSCAN", "s1", "-1"],
            &["ZSCAN", "s1", " 1"],
            &["ZSCAN", "s1", "0", "TYPE", "zset"],
            &["ZRANDMEMBER", "s1", "-9223372036854775808"],
            &["ZRANDMEMBER", "s1", "1", "scores"],
            &["ZRANDMEMBER", "s1", "5", "WITHSCORES"],
            &["ZRANDMEMBER", "str"],
            &["ZRANGESTORE", "dst", "s1", "0", "-1", "LIMIT", "0", "1"],
            &["ZRANGESTORE", "dst", "str", "0", "-1"],
            // Lex ranges over mixed scores follow the listpack's linear scans.
            &["ZADD", "mixed", "1", "b", "2", "a", "3", "c", "4", "b2"],
            &["ZRANGEBYLEX", "mixed", "[b", "[c"],
            &["ZREVRANGEBYLEX", "mixed", "[c", "[b"],
            &["ZLEXCOUNT", "mixed", "[b", "[c"],
            &[
                "ZRANGE", "mixed", "[c", "[b", "BYLEX", "REV", "LIMIT", "1", "5",
            ],
            &["ZREMRANGEBYLEX", "mixed", "(a", "[b2"],
            &["ZRANGE", "mixed", "0", "-1"],
        ],
    )
    .await
}
