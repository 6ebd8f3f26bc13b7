//! SORT / SORT_RO and DUMP / RESTORE against the in-process server with real clients; SORT
//! side by side with a real redis-server. DUMP payloads differ from Redis's by design, so
//! DUMP/RESTORE is tested through round trips, corruption and option handling.
//!
//! Collections are seeded on gears-host with RESTORE of payloads built here (so these tests
//! need no other command family) and on redis-server with its native commands.

use gears_host::keyspace::hash::HashValue;
use gears_host::keyspace::list::ListValue;
use gears_host::keyspace::serialize;
use gears_host::keyspace::set::SetValue;
use gears_host::keyspace::stream::{NodeLimits, StreamId, StreamValue};
use gears_host::keyspace::zset::ZSetValue;
use gears_host::keyspace::{Thresholds, Value};
use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

const CHECKSUM_ERR: &str = "DUMP payload version or checksum are wrong";

/// Collection contents to seed.
enum Data<'a> {
    List(&'a [&'a str]),
    Set(&'a [&'a str]),
    ZSet(&'a [(f64, &'a str)]),
    Hash(&'a [(&'a str, &'a str)]),
}

impl Data<'_> {
    fn value(&self) -> Value {
        let t = Thresholds::default();
        match self {
            Data::List(items) => Value::List(ListValue {
                items: items.iter().map(|s| Box::from(s.as_bytes())).collect(),
            }),
            Data::Set(members) => {
                let mut s = SetValue::default();
                for m in *members {
                    s.insert(m.as_bytes(), &t);
                }
                Value::Set(Box::new(s))
            }
            Data::ZSet(pairs) => {
                let mut z = ZSetValue::default();
                for (score, m) in *pairs {
                    z.insert(m.as_bytes(), *score, &t);
                }
                Value::ZSet(Box::new(z))
            }
            Data::Hash(pairs) => {
                let mut h = HashValue::default();
                for (f, v) in *pairs {
                    h.insert(f.as_bytes(), v.as_bytes(), &t);
                }
                Value::Hash(Box::new(h))
            }
        }
    }
}

/// Creates `key` on gears-host through RESTORE.
async fn seed_ours(
    c: &mut MultiplexedConnection,
    key: &str,
    data: &Data<'_>,
) -> anyhow::Result<()> {
    restore_value(c, key, &data.value()).await
}

async fn restore_value(c: &mut MultiplexedConnection, key: &str, v: &Value) -> anyhow::Result<()> {
    let _: () = redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(serialize::dump(v))
        .arg("REPLACE")
        .query_async(c)
        .await?;
    Ok(())
}

/// Creates `key` on redis-server with its native commands.
async fn seed_theirs(
    c: &mut MultiplexedConnection,
    key: &str,
    data: &Data<'_>,
) -> anyhow::Result<()> {
    let _: () = c.del(key).await?;
    let cmd = match data {
        Data::List(items) => {
            let mut cmd = redis::cmd("RPUSH");
            cmd.arg(key).arg(*items);
            cmd
        }
        Data::Set(members) => {
            let mut cmd = redis::cmd("SADD");
            cmd.arg(key).arg(*members);
            cmd
        }
        Data::ZSet(pairs) => {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(key);
            for (s, m) in *pairs {
                cmd.arg(*s).arg(*m);
            }
            cmd
        }
        Data::Hash(pairs) => {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(key);
            for (f, v) in *pairs {
                cmd.arg(*f).arg(*v);
            }
            cmd
        }
    };
    let _: i64 = cmd.query_async(c).await?;
    Ok(())
}

async fn seed_both(
    ours: &mut MultiplexedConnection,
    theirs: &mut MultiplexedConnection,
    key: &str,
    data: Data<'_>,
) -> anyhow::Result<()> {
    seed_ours(ours, key, &data).await?;
    seed_theirs(theirs, key, &data).await
}

async fn query(c: &mut MultiplexedConnection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await
}

fn err_detail(r: redis::RedisResult<redis::Value>) -> String {
    match r {
        Ok(v) => format!("unexpected success: {v:?}"),
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

#[tokio::test]
async fn sort_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "l",
        Data::List(&["3", "10", "1", "2", "-5", "1.5", "2"]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "words",
        Data::List(&["b", "a", "c", "B", "", "aa"]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "ints",
        Data::Set(&["5", "-3", "100", "0", "42"]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "strs",
        Data::Set(&["x", "y", "z", "w"]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "z",
        Data::ZSet(&[(1.0, "a"), (5.0, "b"), (2.0, "c"), (10.0, "d"), (3.0, "e")]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "wobj_x",
        Data::Hash(&[("weight", "3"), ("name", "ex")]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "wobj_y",
        Data::Hash(&[("weight", "1"), ("name", "why")]),
    )
    .await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "wobj_z",
        Data::Hash(&[("weight", "2")]),
    )
    .await?;
    seed_both(&mut ours, &mut theirs, "bad", Data::List(&["1", "2", "x"])).await?;
    seed_both(
        &mut ours,
        &mut theirs,
        "floats",
        Data::List(&[" 1.5", "0x10", "", "1e3", "-inf", "7"]),
    )
    .await?;
    seed_both(&mut ours, &mut theirs, "huge", Data::List(&["1", "1e400"])).await?;
    seed_both(&mut ours, &mut theirs, "trailing", Data::List(&["1", "2 "])).await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &[
                "MSET", "weight_x", "30", "weight_y", "10", "weight_z", "20", "weight_w", "abc",
            ],
            &[
                "MSET", "w_x_*", "1", "w_y_*", "3", "w_z_*", "2", "name_x->", "arrow",
            ],
            &["SORT", "l"],
            &["SORT", "l", "DESC"],
            &["SORT", "l", "ALPHA"],
            &["SORT", "l", "ALPHA", "DESC", "ASC"],
            &["SORT", "l", "LIMIT", "1", "3"],
            &["SORT", "l", "LIMIT", "-5", "2"],
            &["SORT", "l", "LIMIT", "5", "100"],
            &["SORT", "l", "LIMIT", "7", "1"],
            &["SORT", "l", "LIMIT", "2", "0"],
            &["SORT", "l", "LIMIT", "2", "-3"],
            &["SORT", "l", "LIMIT", "0", "9223372036854775807"],
            &["SORT", "l", "LIMIT", "a", "1"],
            &["SORT", "l", "LIMIT", "1"],
            &["SORT", "l", "BY", "nosort"],
            &["SORT", "l", "BY", "nosort", "DESC"],
            &["SORT", "l", "BY", "nosort", "LIMIT", "2", "3"],
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"],
            &["SORT", "l", "BY", "nosort", "LIMIT", "10", "3"],
            &["SORT", "l", "BY", "nosort", "GET", "#", "GET", "nothing"],
            &["SORT", "words", "ALPHA"],
            &["SORT", "words", "ALPHA", "DESC", "LIMIT", "1", "2"],
            &["SORT", "words"],
            &["SORT", "ints"],
            &["SORT", "ints", "DESC"],
            &["SORT", "ints", "BY", "nosort"],
            &["SORT", "ints", "BY", "nosort", "LIMIT", "1", "2"],
            &["SORT", "strs", "ALPHA"],
            &["SORT", "strs"],
            &["SORT", "strs", "BY", "weight_*"],
            &["SORT", "strs", "BY", "weight_*", "ALPHA"],
            &["SORT", "strs", "BY", "weight_*", "ALPHA", "DESC"],
            &["SORT", "strs", "BY", "wobj_*->weight"],
            &[
                "SORT",
                "strs",
                "BY",
                "wobj_*->weight",
                "GET",
                "#",
                "GET",
                "wobj_*->name",
            ],
            &[
                "SORT",
                "strs",
                "BY",
                "wobj_*->weight",
                "DESC",
                "LIMIT",
                "0",
                "2",
                "GET",
                "weight_*",
            ],
            &["SORT", "strs", "BY", "w_*_*", "GET", "w_*_*"],
            &["SORT", "strs", "ALPHA", "GET", "name_*->"],
            &["SORT", "strs", "ALPHA", "GET", "wobj_*->"],
            &["SORT", "strs", "ALPHA", "GET", "weight_*->weight"],
            &["SORT", "strs", "ALPHA", "GET", "wobj_*"],
            &["SORT", "z"],
            &["SORT", "z", "ALPHA", "DESC"],
            &["SORT", "z", "BY", "nosort"],
            &["SORT", "z", "BY", "nosort", "DESC"],
            &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"],
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
            &["SORT", "z", "BY", "nosort", "LIMIT", "5", "10"],
            &["SORT", "z", "BY", "nosort", "LIMIT", "-10", "100"],
            &["SORT", "bad"],
            &["SORT", "bad", "ALPHA"],
            &["SORT", "strs", "BY", "w*"],
            &["SORT", "floats"],
            &["SORT", "trailing"],
            &["SORT", "nokey"],
            &["SORT", "nokey", "STORE", "dst"],
            &["SORT", "weight_x"],
            &["SORT", "l", "FOO"],
            &["SORT", "l", "STORE"],
            &["SORT_RO", "l", "STORE", "dst"],
            &["SORT_RO", "l", "DESC", "LIMIT", "0", "3"],
            &["SORT_RO", "z", "BY", "nosort", "GET", "#"],
            &["SORT", "l", "STORE", "dst"],
            &["TYPE", "dst"],
            &["SORT", "dst", "BY", "nosort"],
            &["SORT", "strs", "BY", "nosort", "STORE", "dst"],
            &["SORT", "dst", "BY", "nosort"],
            &[
                "SORT",
                "strs",
                "ALPHA",
                "GET",
                "#",
                "GET",
                "missing_*",
                "STORE",
                "dst",
            ],
            &["SORT", "dst", "BY", "nosort"],
            &["SORT", "l", "LIMIT", "10", "10", "STORE", "dst"],
            &["EXISTS", "dst"],
            &["SET", "dst", "string"],
            &["SORT", "l", "STORE", "dst"],
            &["TYPE", "dst"],
            &["SORT", "bad", "STORE", "dst2"],
            &["EXISTS", "dst2"],
            // Last: Redis does not clear errno before strtod, so after this ERANGE its next
            // numeric sorts fail too (a Redis bug not worth copying).
            &["SORT", "huge"],
        ],
    )
    .await
}

#[tokio::test]
async fn sort_large_random_list_orders_numerically_and_by_keys() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let values: Vec<String> = (0..5000)
        .map(|_| ((next() % 2_000_000) as i64 - 1_000_000).to_string())
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    seed_ours(&mut c, "big", &Data::List(&refs)).await?;
    let sorted: Vec<String> = redis::cmd("SORT").arg("big").query_async(&mut c).await?;
    let mut expect = values.clone();
    expect.sort_by(|a, b| {
        let (x, y): (i64, i64) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        x.cmp(&y).then_with(|| a.cmp(b))
    });
    assert_eq!(sorted, expect);
    // BY external weights: weight_<v> = -v reverses the order.
    let mut pipe = redis::pipe();
    for v in values.iter().take(300) {
        pipe.set(format!("weight_{v}"), -v.parse::<i64>().unwrap_or(0))
            .ignore();
    }
    let _: () = pipe.query_async(&mut c).await?;
    seed_ours(&mut c, "small", &Data::List(&refs[..300])).await?;
    let by: Vec<String> = redis::cmd("SORT")
        .arg("small")
        .arg("BY")
        .arg("weight_*")
        .arg("LIMIT")
        .arg(0)
        .arg(10)
        .query_async(&mut c)
        .await?;
    let mut top = values[..300].to_vec();
    top.sort_by(|a, b| {
        let (x, y): (i64, i64) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        y.cmp(&x).then_with(|| a.cmp(b))
    });
    assert_eq!(by, top[..10].to_vec());
    Ok(())
}

/// Reads keyevents as (event, key) from a raw connection until `until` arrives.
async fn events_until(
    raw: &mut RawConn,
    until: (&str, &str),
) -> anyhow::Result<Vec<(String, String)>> {
    let mut buf = Vec::new();
    loop {
        buf.extend(raw.read_at_least(1).await?);
        let text = String::from_utf8_lossy(&buf).to_string();
        // Bulk strings only: "$<n>\r\n<data>\r\n"; payloads here are plain ASCII.
        let mut bulks = Vec::new();
        let mut lines = text.split("\r\n");
        while let Some(l) = lines.next() {
            if l.starts_with('$')
                && let Some(data) = lines.next()
            {
                bulks.push(data.to_string());
            }
        }
        let events: Vec<(String, String)> = bulks
            .chunks_exact(4)
            .filter(|m| m[0] == "pmessage")
            .map(|m| {
                let event = m[2].rsplit(':').next().unwrap_or_default().to_string();
                (event, m[3].clone())
            })
            .collect();
        if events
            .last()
            .is_some_and(|(e, k)| e == until.0 && k == until.1)
        {
            return Ok(events);
        }
    }
}

async fn keyevent_conn(srv: &TestServer) -> anyhow::Result<RawConn> {
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEAn")
        .query_async(&mut c)
        .await?;
    let mut raw = RawConn::connect(srv.addr()).await?;
    raw.send(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$16\r\n__keyevent@*__:*\r\n")
        .await?;
    let mut buf = Vec::new();
    while !String::from_utf8_lossy(&buf).contains("psubscribe") {
        buf.extend(raw.read_at_least(1).await?);
    }
    Ok(raw)
}

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn sort_store_emits_sortstore_and_deletes_empty_results() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    seed_ours(&mut c, "src", &Data::List(&["2", "1"])).await?;
    let mut events = keyevent_conn(&srv).await?;
    let n: i64 = redis::cmd("SORT")
        .arg("src")
        .arg("STORE")
        .arg("dst")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("SORT")
        .arg("src")
        .arg("STORE")
        .arg("dst")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("SORT")
        .arg("nokey")
        .arg("STORE")
        .arg("dst")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 0);
    let n: i64 = redis::cmd("SORT")
        .arg("nokey")
        .arg("STORE")
        .arg("dst")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 0);
    let _: () = c.set("sentinel", 1).await?;
    let got = events_until(&mut events, ("set", "sentinel")).await?;
    assert_eq!(
        got,
        ev(&[
            ("new", "dst"),
            ("sortstore", "dst"),
            ("sortstore", "dst"),
            ("del", "dst"),
            ("new", "sentinel"),
            ("set", "sentinel"),
        ])
    );
    assert!(!c.exists::<_, bool>("dst").await?);
    Ok(())
}

#[tokio::test]
async fn sort_store_invalidates_watch() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut other = srv.client().await?;
    seed_ours(&mut c, "src", &Data::List(&["1"])).await?;
    let _: () = redis::cmd("WATCH").arg("dst").query_async(&mut c).await?;
    let _: i64 = redis::cmd("SORT")
        .arg("src")
        .arg("STORE")
        .arg("dst")
        .query_async(&mut other)
        .await?;
    let _: () = redis::cmd("MULTI").query_async(&mut c).await?;
    let _: () = redis::cmd("PING").query_async(&mut c).await?;
    let r: redis::Value = redis::cmd("EXEC").query_async(&mut c).await?;
    assert_eq!(r, redis::Value::Nil);
    Ok(())
}

/// Every kind of value, with both encodings where there are two.
fn all_values() -> Vec<(&'static str, Value)> {
    let t = Thresholds::default();
    let mut big_hash = HashValue::default();
    for i in 0..200 {
        big_hash.insert(format!("f{i}").as_bytes(), b"v", &t);
    }
    let mut big_set = SetValue::default();
    for i in 0..600 {
        big_set.insert(i.to_string().as_bytes(), &t);
    }
    let mut big_zset = ZSetValue::default();
    big_zset.insert(&[b'm'; 100], 1.0, &t);
    big_zset.insert(b"inf", f64::INFINITY, &t);
    let mut stream = StreamValue::default();
    stream.append(
        StreamId { ms: 5, seq: 1 },
        &[&b"f"[..], &b"v"[..]],
        NodeLimits::default(),
    );
    vec![
        ("listpack", Data::Hash(&[("a", "1"), ("b", "2")]).value()),
        ("hashtable", Value::Hash(Box::new(big_hash))),
        ("intset", Data::Set(&["1", "2", "-3"]).value()),
        ("hashtable", Data::Set(&["a", "1"]).value()),
        ("hashtable", Value::Set(Box::new(big_set))),
        ("listpack", Data::ZSet(&[(1.5, "a"), (-2.0, "b")]).value()),
        ("skiplist", Value::ZSet(Box::new(big_zset))),
        ("quicklist", Data::List(&["x", "", "3"]).value()),
        ("stream", Value::Stream(Box::new(stream))),
    ]
}

#[tokio::test]
async fn dump_restore_roundtrip_preserves_every_type_and_encoding() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    // Strings in each encoding, made with string commands.
    let _: () = c.set("s:int", 12345).await?;
    let _: () = c.set("s:embstr", "hello").await?;
    let _: () = c.set("s:raw", "x".repeat(100)).await?;
    let _: () = c.set("s:appended", "ab").await?;
    let _: i64 = c.append("s:appended", "c").await?;
    let _: () = c.set("s:bin", vec![0u8, 255, 10, 13]).await?;
    let mut keys: Vec<String> = ["s:int", "s:embstr", "s:raw", "s:appended", "s:bin"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (i, (enc, v)) in all_values().into_iter().enumerate() {
        let key = format!("v:{i}");
        restore_value(&mut c, &key, &v).await?;
        let got: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&key)
            .query_async(&mut c)
            .await?;
        assert_eq!(got, enc, "{key}");
        keys.push(key);
    }
    for key in &keys {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query_async(&mut c).await?;
        let copy = format!("{key}:copy");
        let _: () = redis::cmd("RESTORE")
            .arg(&copy)
            .arg(0)
            .arg(&payload)
            .query_async(&mut c)
            .await?;
        // Same payload again means the same value, order and encoding flags.
        let again: Vec<u8> = redis::cmd("DUMP").arg(&copy).query_async(&mut c).await?;
        assert_eq!(again, payload, "{key}");
        let (e1, e2): (String, String) = (
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(key)
                .query_async(&mut c)
                .await?,
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(&copy)
                .query_async(&mut c)
                .await?,
        );
        assert_eq!(e1, e2, "{key}");
        let (t1, t2): (String, String) = (
            redis::cmd("TYPE").arg(key).query_async(&mut c).await?,
            redis::cmd("TYPE").arg(&copy).query_async(&mut c).await?,
        );
        assert_eq!(t1, t2);
    }
    let v: Vec<u8> = c.get("s:bin:copy").await?;
    assert_eq!(v, vec![0u8, 255, 10, 13]);
    let v: String = c.get("s:appended:copy").await?;
    assert_eq!(v, "abc");
    let nil: redis::Value = redis::cmd("DUMP").arg("nokey").query_async(&mut c).await?;
    assert_eq!(nil, redis::Value::Nil);
    Ok(())
}

#[tokio::test]
async fn restore_rejects_every_corrupted_or_truncated_payload() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("src", "some value").await?;
    for (i, (_, v)) in all_values().into_iter().take(4).enumerate() {
        restore_value(&mut c, &format!("src{i}"), &v).await?;
    }
    for key in ["src", "src0", "src2", "src3"] {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query_async(&mut c).await?;
        let mut bad_payloads = Vec::new();
        for i in 0..payload.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = payload.clone();
                bad[i] ^= flip;
                bad_payloads.push((format!("byte {i} ^ {flip:#x}"), bad));
            }
        }
        for len in 0..payload.len() {
            bad_payloads.push((format!("truncated to {len}"), payload[..len].to_vec()));
        }
        let mut longer = payload.clone();
        longer.push(b'x');
        bad_payloads.push(("one byte longer".into(), longer));
        for (what, bad) in bad_payloads {
            let r = redis::cmd("RESTORE")
                .arg("dst")
                .arg(0)
                .arg(bad)
                .query_async(&mut c)
                .await;
            assert_eq!(
                err_detail(r),
                format!("ERR {CHECKSUM_ERR}"),
                "{key}: {what}"
            );
        }
        assert!(!c.exists::<_, bool>("dst").await?);
    }
    // A Redis payload is not ours, and ours is not Redis's: both sides reject the other's.
    let real = RealRedis::start()?;
    let mut theirs = real.client().await?;
    let _: () = theirs.set("k", "v").await?;
    let redis_payload: Vec<u8> = redis::cmd("DUMP").arg("k").query_async(&mut theirs).await?;
    let r = redis::cmd("RESTORE")
        .arg("r")
        .arg(0)
        .arg(&redis_payload)
        .query_async(&mut c)
        .await;
    assert_eq!(err_detail(r), format!("ERR {CHECKSUM_ERR}"));
    let ours_payload: Vec<u8> = redis::cmd("DUMP").arg("src").query_async(&mut c).await?;
    let r = redis::cmd("RESTORE")
        .arg("o")
        .arg(0)
        .arg(&ours_payload)
        .query_async(&mut theirs)
        .await;
    assert_eq!(err_detail(r), format!("ERR {CHECKSUM_ERR}"));
    // The server is still fine.
    let v: String = c.get("src").await?;
    assert_eq!(v, "some value");
    Ok(())
}

#[tokio::test]
async fn restore_option_errors_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    // Every error here is detected before the payload is decoded, or is the payload check
    // itself (garbage fails it on both servers).
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SET", "foo", "bar"],
            &["RESTORE", "foo", "0", "..."],
            &["RESTORE", "foo", "0", "...", "invalid-option"],
            &["RESTORE", "new", "-1", "..."],
            &["RESTORE", "new", "abc", "..."],
            &["RESTORE", "foo", "-1", "...", "REPLACE"],
            &["RESTORE", "new", "0", "..."],
            &["RESTORE", "new", "0", "", "REPLACE", "ABSTTL"],
            &["RESTORE", "new", "0", "...", "IDLETIME", "-1"],
            &["RESTORE", "new", "0", "...", "IDLETIME", "x"],
            &["RESTORE", "new", "0", "...", "IDLETIME"],
            &["RESTORE", "new", "0", "...", "FREQ", "256"],
            &["RESTORE", "new", "0", "...", "FREQ", "-1"],
            &["RESTORE", "new", "0", "...", "FREQ", "1", "IDLETIME", "1"],
            &["RESTORE", "new", "0", "...", "IDLETIME", "1", "FREQ", "1"],
            &["RESTORE", "new", "0"],
            &["DUMP", "nokey"],
            &["DUMP"],
            &["EXISTS", "new"],
        ],
    )
    .await
}

#[tokio::test]
async fn restore_ttl_absttl_replace_idletime_and_freq() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("foo", "bar").await?;
    let payload: Vec<u8> = redis::cmd("DUMP").arg("foo").query_async(&mut c).await?;
    let restore = |key: &str, ttl: i64, extra: &[&str]| {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(key).arg(ttl).arg(&payload);
        for e in extra {
            cmd.arg(*e);
        }
        cmd
    };
    let _: () = restore("a", 5000, &[]).query_async(&mut c).await?;
    let pttl: i64 = c.pttl("a").await?;
    assert!((3000..=5000).contains(&pttl), "{pttl}");
    let _: () = restore("b", 2_569_591_501, &[]).query_async(&mut c).await?;
    let pttl: i64 = c.pttl("b").await?;
    assert!(pttl > 2_569_591_501 - 3000, "{pttl}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let _: () = restore("c", now + 3000, &["ABSTTL"])
        .query_async(&mut c)
        .await?;
    let pttl: i64 = c.pttl("c").await?;
    assert!((2000..=3100).contains(&pttl), "{pttl}");
    // An absolute time in the past: OK, and the key (replaced) is gone.
    let _: () = restore("c", now - 3000, &["ABSTTL", "REPLACE"])
        .query_async(&mut c)
        .await?;
    assert!(!c.exists::<_, bool>("c").await?);
    let _: () = restore("d", 0, &["IDLETIME", "1000"])
        .query_async(&mut c)
        .await?;
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("d")
        .query_async(&mut c)
        .await?;
    assert!((1000..=1010).contains(&idle), "{idle}");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lfu")
        .query_async(&mut c)
        .await?;
    let _: () = restore("e", 0, &["FREQ", "100"])
        .query_async(&mut c)
        .await?;
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("e")
        .query_async(&mut c)
        .await?;
    assert_eq!(freq, 100);
    // REPLACE overwrites a key of another value.
    let _: () = c.set("f", "old").await?;
    let _: () = restore("f", 0, &["REPLACE"]).query_async(&mut c).await?;
    let v: String = c.get("f").await?;
    assert_eq!(v, "bar");
    let ttl: i64 = c.ttl("f").await?;
    assert_eq!(ttl, -1);
    Ok(())
}

#[tokio::test]
async fn restore_emits_new_and_restore_events() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("foo", "bar").await?;
    let payload: Vec<u8> = redis::cmd("DUMP").arg("foo").query_async(&mut c).await?;
    let mut events = keyevent_conn(&srv).await?;
    let _: () = redis::cmd("RESTORE")
        .arg("k")
        .arg(0)
        .arg(&payload)
        .query_async(&mut c)
        .await?;
    let _: () = redis::cmd("RESTORE")
        .arg("k")
        .arg(0)
        .arg(&payload)
        .arg("REPLACE")
        .query_async(&mut c)
        .await?;
    let _: () = redis::cmd("RESTORE")
        .arg("k")
        .arg(1)
        .arg(&payload)
        .arg("REPLACE")
        .arg("ABSTTL")
        .query_async(&mut c)
        .await?;
    let _: () = c.set("sentinel", 1).await?;
    let got = events_until(&mut events, ("set", "sentinel")).await?;
    assert_eq!(
        got,
        ev(&[
            ("new", "k"),
            ("restore", "k"),
            ("new", "k"),
            ("restore", "k"),
            ("del", "k"),
            ("new", "sentinel"),
            ("set", "sentinel"),
        ])
    );
    Ok(())
}

#[tokio::test]
async fn restore_busykey_leaves_existing_value() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("foo", "bar").await?;
    let payload: Vec<u8> = redis::cmd("DUMP").arg("foo").query_async(&mut c).await?;
    let _: () = c.set("foo", "other").await?;
    let r = redis::cmd("RESTORE")
        .arg("foo")
        .arg(0)
        .arg(&payload)
        .query_async(&mut c)
        .await;
    assert_eq!(err_detail(r), "BUSYKEY Target key name already exists.");
    let v: String = c.get("foo").await?;
    assert_eq!(v, "other");
    let r = query(&mut c, &["RESTORE", "x", "-5", "abc"]).await;
    assert_eq!(err_detail(r), "ERR Invalid TTL value, must be >= 0");
    Ok(())
}

#[tokio::test]
async fn sort_random_options_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    let mut x: u64 = 0x0bad_5eed_1234_5678;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for round in 0..60 {
        // Elements: small integers, decimals, words; weights unique per element so that
        // every order is fully determined.
        let len = next(30) as usize + 1;
        let elements: Vec<String> = (0..len)
            .map(|_| match next(3) {
                0 => (next(40) as i64 - 20).to_string(),
                1 => format!("{}.{}", next(10), next(100)),
                _ => ["a", "b", "ab", "B", "zz", "a1"][next(6) as usize].to_string(),
            })
            .collect();
        let refs: Vec<&str> = elements.iter().map(String::as_str).collect();
        let data = if round % 2 == 0 {
            Data::List(&refs)
        } else {
            Data::Set(&refs)
        };
        seed_both(&mut ours, &mut theirs, "src", data).await?;
        let mut unique: Vec<&str> = refs.clone();
        unique.sort_unstable();
        unique.dedup();
        for (i, e) in unique.iter().enumerate() {
            let w = ((i as u64 * 7919 + round) % 1000).to_string();
            for c in [&mut ours, &mut theirs] {
                let _: () = c.set(format!("w_{e}"), &w).await?;
            }
        }
        for _ in 0..15 {
            let mut args: Vec<String> = vec!["SORT".into(), "src".into()];
            let numeric_ok = refs.iter().all(|e| e.parse::<f64>().is_ok());
            match next(3) {
                0 => args.extend(["BY".into(), "w_*".into()]),
                1 if round % 2 == 0 => args.extend(["BY".into(), "nosort".into()]),
                _ => {}
            }
            let by_weights = args.iter().any(|a| a == "w_*");
            if next(2) == 0 || (!numeric_ok && !by_weights) {
                args.push("ALPHA".into());
            }
            if next(2) == 0 {
                args.push("DESC".into());
            }
            if next(2) == 0 {
                args.extend([
                    "LIMIT".into(),
                    (next(12) as i64 - 2).to_string(),
                    (next(12) as i64 - 2).to_string(),
                ]);
            }
            for _ in 0..next(3) {
                args.extend([
                    "GET".into(),
                    ["#", "w_*", "nothing_*"][next(3) as usize].into(),
                ]);
            }
            let store = next(4) == 0;
            if store {
                args.extend(["STORE".into(), "dst".into()]);
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_same_replies(&mut ours, &mut theirs, &[&argv]).await?;
            if store {
                assert_same_replies(
                    &mut ours,
                    &mut theirs,
                    &[&["SORT", "dst", "BY", "nosort"], &["EXISTS", "dst"]],
                )
                .await?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn dump_restore_stream_keeps_entries_groups_and_pending() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for i in 1..=250u64 {
        let _: String = redis::cmd("XADD")
            .arg("s")
            .arg(format!("{i}-1"))
            .arg("field")
            .arg(i)
            .arg("other")
            .arg("x")
            .query_async(&mut c)
            .await?;
    }
    let _: i64 = redis::cmd("XDEL")
        .arg("s")
        .arg("7-1")
        .query_async(&mut c)
        .await?;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("s")
        .arg("g")
        .arg("0")
        .query_async(&mut c)
        .await?;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("s")
        .arg("idle")
        .arg("$")
        .query_async(&mut c)
        .await?;
    for consumer in ["alice", "bob"] {
        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg(consumer)
            .arg("COUNT")
            .arg(3)
            .arg("STREAMS")
            .arg("s")
            .arg(">")
            .query_async(&mut c)
            .await?;
    }
    let _: i64 = redis::cmd("XACK")
        .arg("s")
        .arg("g")
        .arg("2-1")
        .query_async(&mut c)
        .await?;
    let payload: Vec<u8> = redis::cmd("DUMP").arg("s").query_async(&mut c).await?;
    let _: () = redis::cmd("RESTORE")
        .arg("copy")
        .arg(0)
        .arg(&payload)
        .query_async(&mut c)
        .await?;
    let info = |key: &'static str| {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(key).arg("FULL");
        cmd
    };
    let a: redis::Value = info("s").query_async(&mut c).await?;
    let b: redis::Value = info("copy").query_async(&mut c).await?;
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let again: Vec<u8> = redis::cmd("DUMP").arg("copy").query_async(&mut c).await?;
    assert_eq!(again, payload);
    // The restored stream keeps working: ids continue after the last one, the PEL is live.
    let id: String = redis::cmd("XADD")
        .arg("copy")
        .arg("*")
        .arg("f")
        .arg("v")
        .query_async(&mut c)
        .await?;
    assert_ne!(id, "250-1");
    let pending: redis::Value = redis::cmd("XPENDING")
        .arg("copy")
        .arg("g")
        .query_async(&mut c)
        .await?;
    let original: redis::Value = redis::cmd("XPENDING")
        .arg("s")
        .arg("g")
        .query_async(&mut c)
        .await?;
    assert_eq!(pending, original);
    Ok(())
}
