//! Hash commands against the in-process server: replies, encodings, errors, events and
//! side-by-side comparisons with real Redis.

use std::collections::{HashMap, HashSet};

use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies};
use redis::AsyncCommands;

/// A raw RESP connection that renders each reply as compact text keeping the RESP type:
/// `*[a, b]` array, `%[k, v]` map, `~[m]` set, `:1` integer, `_` null, `-ERR ..` error,
/// `+OK` status and bare text for bulk strings. Used for RESP3 reply shapes and key events.
pub(crate) struct Resp {
    conn: RawConn,
    buf: Vec<u8>,
}

impl Resp {
    /// Connects to `srv`.
    pub(crate) async fn connect(srv: &TestServer) -> anyhow::Result<Resp> {
        Ok(Resp {
            conn: RawConn::connect(srv.addr()).await?,
            buf: Vec::new(),
        })
    }

    /// Sends one command and renders its reply.
    pub(crate) async fn cmd(&mut self, args: &[&str]) -> anyhow::Result<String> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.conn.send(&out).await?;
        self.next().await
    }

    /// The next reply or push, rendered.
    pub(crate) async fn next(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some((text, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Ok(text);
            }
            let more = self.conn.read_at_least(1).await?;
            anyhow::ensure!(!more.is_empty(), "connection closed");
            self.buf.extend_from_slice(&more);
        }
    }

    /// Subscribes to every key event (after `CONFIG SET notify-keyspace-events KEA` elsewhere).
    pub(crate) async fn subscribe_keyevents(&mut self) -> anyhow::Result<()> {
        let confirm = self.cmd(&["PSUBSCRIBE", "__keyevent@*__:*"]).await?;
        anyhow::ensure!(confirm.starts_with("*[psubscribe"), "{confirm}");
        Ok(())
    }

    /// The next `n` key events as `event key` strings.
    pub(crate) async fn events(&mut self, n: usize) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        while out.len() < n {
            let msg = self.next().await?;
            // *[pmessage, pattern, __keyevent@0__:<event>, <key>]
            let inner = msg
                .strip_prefix("*[pmessage, __keyevent@*__:*, __keyevent@")
                .and_then(|m| m.strip_suffix(']'))
                .ok_or_else(|| anyhow::anyhow!("not a keyevent: {msg}"))?;
            let (chan, key) = inner
                .split_once(", ")
                .ok_or_else(|| anyhow::anyhow!("{msg}"))?;
            let event = chan.split_once("__:").map_or(chan, |(_, e)| e);
            out.push(format!("{event} {key}"));
        }
        Ok(out)
    }
}

/// Parses one RESP2/RESP3 frame from `b`: its rendering and the bytes used, or `None` if
/// incomplete.
fn parse(b: &[u8]) -> Option<(String, usize)> {
    let end = b.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[1..end]).ok()?;
    let after = end + 2;
    match *b.first()? {
        b'+' => Some((format!("+{line}"), after)),
        b'-' => Some((format!("-{line}"), after)),
        b':' => Some((format!(":{line}"), after)),
        b',' => Some((format!(",{line}"), after)),
        b'#' => Some((format!("#{line}"), after)),
        b'_' => Some(("_".into(), after)),
        b'$' | b'=' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(("_".into(), after));
            }
            let n = n as usize;
            if b.len() < after + n + 2 {
                return None;
            }
            Some((
                String::from_utf8_lossy(&b[after..after + n]).into_owned(),
                after + n + 2,
            ))
        }
        t @ (b'*' | b'~' | b'%' | b'>') => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(("_".into(), after));
            }
            let n = if t == b'%' { n * 2 } else { n } as usize;
            let mut pos = after;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let (s, used) = parse(&b[pos..])?;
                items.push(s);
                pos += used;
            }
            Some((format!("{}[{}]", char::from(t), items.join(", ")), pos))
        }
        _ => None,
    }
}

async fn config_set(
    c: &mut redis::aio::MultiplexedConnection,
    k: &str,
    v: &str,
) -> anyhow::Result<()> {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(k)
        .arg(v)
        .query_async(c)
        .await?;
    Ok(())
}

async fn encoding(c: &mut redis::aio::MultiplexedConnection, key: &str) -> anyhow::Result<String> {
    Ok(redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(c)
        .await?)
}

#[tokio::test]
async fn hset_hget_family_reads_what_was_written() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = redis::cmd("HSET")
        .arg(&["h", "a", "1", "b", "2"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("HSET")
        .arg(&["h", "a", "10", "c", "3"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 1, "only new fields count");
    let ok: String = redis::cmd("HMSET")
        .arg(&["h", "d", "4"])
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, "OK");
    let v: Option<String> = c.hget("h", "a").await?;
    assert_eq!(v.as_deref(), Some("10"));
    let v: Option<String> = c.hget("h", "zz").await?;
    assert_eq!(v, None);
    let v: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(&["h", "a", "zz", "d"])
        .query_async(&mut c)
        .await?;
    assert_eq!(v, vec![Some("10".into()), None, Some("4".into())]);
    let v: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(&["nokey", "a"])
        .query_async(&mut c)
        .await?;
    assert_eq!(v, vec![None]);
    let n: i64 = c.hlen("h").await?;
    assert_eq!(n, 4);
    let e: bool = c.hexists("h", "b").await?;
    assert!(e);
    let e: bool = c.hexists("h", "zz").await?;
    assert!(!e);
    let n: i64 = redis::cmd("HSTRLEN")
        .arg(&["h", "a"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("HSTRLEN")
        .arg(&["h", "zz"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 0);
    // A listpack-sized hash keeps insertion order, removals included.
    let n: i64 = c.hdel("h", "b").await?;
    assert_eq!(n, 1);
    let keys: Vec<String> = c.hkeys("h").await?;
    assert_eq!(keys, ["a", "c", "d"]);
    let vals: Vec<String> = c.hvals("h").await?;
    assert_eq!(vals, ["10", "3", "4"]);
    let all: Vec<String> = c.hgetall("h").await?;
    assert_eq!(all, ["a", "10", "c", "3", "d", "4"]);
    Ok(())
}

#[tokio::test]
async fn hsetnx_sets_only_missing_fields() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = c.hset_nx("h", "f", "1").await?;
    assert_eq!(n, 1);
    let n: i64 = c.hset_nx("h", "f", "2").await?;
    assert_eq!(n, 0);
    let v: String = c.hget("h", "f").await?;
    assert_eq!(v, "1");
    Ok(())
}

#[tokio::test]
async fn hdel_last_field_removes_key() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = redis::cmd("HSET")
        .arg(&["h", "a", "1", "b", "2", "c", "3"])
        .query_async(&mut c)
        .await?;
    let n: i64 = redis::cmd("HDEL")
        .arg(&["h", "x", "y"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 0);
    let n: i64 = redis::cmd("HDEL")
        .arg(&["h", "a", "b", "c", "d", "a"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 3);
    let e: bool = c.exists("h").await?;
    assert!(!e);
    let n: i64 = redis::cmd("HDEL")
        .arg(&["h", "a"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 0);
    Ok(())
}

#[tokio::test]
async fn hincrby_counts_and_rejects_bad_values() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = c.hincr("h", "n", 5).await?;
    assert_eq!(n, 5);
    let n: i64 = c.hincr("h", "n", -7).await?;
    assert_eq!(n, -2);
    let _: i64 = c.hset("h", "s", " 11").await?;
    let e = c.hincr::<_, _, _, i64>("h", "s", 1).await.unwrap_err();
    assert_eq!(e.detail(), Some("hash value is not an integer"), "{e}");
    let _: i64 = c.hset("h", "m", "9223372036854775807").await?;
    let e = c.hincr::<_, _, _, i64>("h", "m", 1).await.unwrap_err();
    assert_eq!(
        e.detail(),
        Some("increment or decrement would overflow"),
        "{e}"
    );
    let v: String = c.hget("h", "m").await?;
    assert_eq!(v, "9223372036854775807", "unchanged after an error");
    Ok(())
}

#[tokio::test]
async fn hincrbyfloat_formats_like_incrbyfloat() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut step = async |by: &str| -> redis::RedisResult<String> {
        redis::cmd("HINCRBYFLOAT")
            .arg(&["h", "f", by])
            .query_async(&mut c)
            .await
    };
    assert_eq!(step("1.23").await?, "1.23");
    assert_eq!(step("0.77").await?, "2");
    assert_eq!(step("-0.1").await?, "1.9");
    assert_eq!(step("5.0e3").await?, "5001.9");
    let e = step("+inf").await.unwrap_err();
    assert_eq!(e.detail(), Some("value is NaN or Infinity"));
    let e = step("abc").await.unwrap_err();
    assert_eq!(e.detail(), Some("value is not a valid float"));
    let _: i64 = c.hset("h", "bad", "1\u{0}2").await?;
    let e = redis::cmd("HINCRBYFLOAT")
        .arg(&["h", "bad", "1"])
        .query_async::<String>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(e.detail(), Some("hash value is not a float"));
    let e: bool = c.exists("nan-key").await?;
    assert!(!e);
    Ok(())
}

#[tokio::test]
async fn hash_commands_reject_wrong_type() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("s", "x").await?;
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HDEL", "s", "a"],
        &["HRANDFIELD", "s"],
        &["HSCAN", "s", "0"],
    ] {
        let e = redis::cmd(args[0])
            .arg(&args[1..])
            .query_async::<redis::Value>(&mut c)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("WRONGTYPE"), "{args:?}: {e}");
    }
    Ok(())
}

#[tokio::test]
async fn hash_encoding_follows_listpack_thresholds() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    config_set(&mut c, "hash-max-listpack-entries", "4").await?;
    config_set(&mut c, "hash-max-ziplist-value", "8").await?;
    for i in 0..4 {
        let _: i64 = c.hset("h", format!("f{i}"), "v").await?;
    }
    assert_eq!(encoding(&mut c, "h").await?, "listpack");
    let _: i64 = c.hset("h", "f4", "v").await?;
    assert_eq!(encoding(&mut c, "h").await?, "hashtable");
    let _: i64 = c.hdel("h", &["f0", "f1", "f2"]).await?;
    assert_eq!(
        encoding(&mut c, "h").await?,
        "hashtable",
        "never converts back"
    );
    let _: i64 = c.hset("long", "f", "123456789").await?;
    assert_eq!(encoding(&mut c, "long").await?, "hashtable");
    let _: String = redis::cmd("HINCRBYFLOAT")
        .arg(&["fl", "f", "0.000005"])
        .query_async(&mut c)
        .await?;
    assert_eq!(encoding(&mut c, "fl").await?, "listpack");
    let _: String = redis::cmd("HINCRBYFLOAT")
        .arg(&["fl2", "f", "0.0000005"])
        .query_async(&mut c)
        .await?;
    assert_eq!(encoding(&mut c, "fl2").await?, "hashtable");
    Ok(())
}

#[tokio::test]
async fn hrandfield_counts_and_values() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let fields: Vec<(String, String)> = (0..10)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    let _: () = c.hset_multiple("h", &fields).await?;
    let expected: HashMap<String, String> = fields.iter().cloned().collect();
    let one: String = redis::cmd("HRANDFIELD")
        .arg("h")
        .query_async(&mut c)
        .await?;
    assert!(expected.contains_key(&one));
    let none: Option<String> = redis::cmd("HRANDFIELD")
        .arg("nokey")
        .query_async(&mut c)
        .await?;
    assert_eq!(none, None);
    let distinct: Vec<String> = redis::cmd("HRANDFIELD")
        .arg(&["h", "5"])
        .query_async(&mut c)
        .await?;
    assert_eq!(distinct.iter().collect::<HashSet<_>>().len(), 5);
    let all: Vec<String> = redis::cmd("HRANDFIELD")
        .arg(&["h", "50"])
        .query_async(&mut c)
        .await?;
    assert_eq!(all.len(), 10);
    let repeated: Vec<String> = redis::cmd("HRANDFIELD")
        .arg(&["h", "-50"])
        .query_async(&mut c)
        .await?;
    assert_eq!(repeated.len(), 50);
    assert!(repeated.iter().all(|f| expected.contains_key(f)));
    let with: Vec<String> = redis::cmd("HRANDFIELD")
        .arg(&["h", "-7", "WITHVALUES"])
        .query_async(&mut c)
        .await?;
    assert_eq!(with.len(), 14);
    for pair in with.chunks(2) {
        assert_eq!(expected.get(&pair[0]), Some(&pair[1]));
    }
    let zero: Vec<String> = redis::cmd("HRANDFIELD")
        .arg(&["h", "0"])
        .query_async(&mut c)
        .await?;
    assert!(zero.is_empty());
    Ok(())
}

#[tokio::test]
async fn resp3_hash_replies_have_redis_shapes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut r = Resp::connect(&srv).await?;
    r.cmd(&["HELLO", "3"]).await?;
    assert_eq!(r.cmd(&["HSET", "h", "a", "1", "b", "2"]).await?, ":2");
    assert_eq!(r.cmd(&["HGETALL", "h"]).await?, "%[a, 1, b, 2]");
    assert_eq!(r.cmd(&["HGETALL", "nokey"]).await?, "%[]");
    assert_eq!(r.cmd(&["HMGET", "h", "a", "x"]).await?, "*[1, _]");
    assert_eq!(r.cmd(&["HRANDFIELD", "nokey"]).await?, "_");
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "5"]).await?, "*[a, b]");
    let pairs = r.cmd(&["HRANDFIELD", "h", "2", "WITHVALUES"]).await?;
    assert_eq!(pairs, "*[*[a, 1], *[b, 2]]");
    let pairs = r.cmd(&["HRANDFIELD", "h", "-1", "WITHVALUES"]).await?;
    assert!(pairs == "*[*[a, 1]]" || pairs == "*[*[b, 2]]", "{pairs}");
    assert_eq!(r.cmd(&["HSCAN", "h", "0"]).await?, "*[0, *[a, 1, b, 2]]");
    Ok(())
}

#[tokio::test]
async fn hscan_small_hash_returns_everything_at_once() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for i in 0..20 {
        let _: i64 = c.hset("h", format!("f{i}"), i).await?;
    }
    let (cursor, items): (u64, Vec<String>) = redis::cmd("HSCAN")
        .arg(&["h", "0", "COUNT", "1"])
        .query_async(&mut c)
        .await?;
    assert_eq!(cursor, 0);
    assert_eq!(items.len(), 40);
    assert_eq!(&items[..4], ["f0", "0", "f1", "1"]);
    let (cursor, items): (u64, Vec<String>) = redis::cmd("HSCAN")
        .arg(&["h", "0", "MATCH", "f1*"])
        .query_async(&mut c)
        .await?;
    assert_eq!(cursor, 0);
    assert_eq!(items.len(), 22, "f1 and f10..f19 with values");
    Ok(())
}

#[tokio::test]
async fn hscan_big_hash_iterates_every_field() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let fields: Vec<(String, i64)> = (0..1000).map(|i| (format!("f{i}"), i)).collect();
    let _: () = c.hset_multiple("h", &fields).await?;
    assert_eq!(encoding(&mut c, "h").await?, "hashtable");
    let mut seen = HashMap::new();
    let mut cursor = 0u64;
    let mut rounds = 0;
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("h")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query_async(&mut c)
            .await?;
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        rounds += 1;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(rounds > 1, "a big hash is scanned in several steps");
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen.get("f999").map(String::as_str), Some("999"));
    Ok(())
}

#[tokio::test]
async fn hash_writes_emit_redis_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    config_set(&mut c, "notify-keyspace-events", "KEA").await?;
    let mut sub = Resp::connect(&srv).await?;
    sub.subscribe_keyevents().await?;
    let _: i64 = redis::cmd("HSET")
        .arg(&["h", "a", "1", "b", "2"])
        .query_async(&mut c)
        .await?;
    let _: () = redis::cmd("HMSET")
        .arg(&["h", "c", "3"])
        .query_async(&mut c)
        .await?;
    let _: i64 = c.hset_nx("h", "a", "9").await?; // no event: field exists
    let _: i64 = c.hset_nx("h", "d", "4").await?;
    let _: i64 = c.hincr("h", "n", 1).await?;
    let _: String = redis::cmd("HINCRBYFLOAT")
        .arg(&["h", "x", "1.5"])
        .query_async(&mut c)
        .await?;
    let _: i64 = c.hdel("h", "nothing").await?; // no event
    let _: i64 = c.hdel("h", &["a", "b"]).await?;
    let _: i64 = c.hdel("h", &["c", "d", "n", "x"]).await?;
    let got = sub.events(8).await?;
    assert_eq!(
        got,
        [
            "hset h",
            "hset h",
            "hset h",
            "hincrby h",
            "hincrbyfloat h",
            "hdel h",
            "hdel h",
            "del h"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn hash_keeps_ttl_on_update_and_expires() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = c.hset("h", "a", "1").await?;
    let _: bool = c.expire("h", 100).await?;
    let _: i64 = c.hset("h", "b", "2").await?;
    let _: i64 = c.hincr("h", "n", 2).await?;
    let ttl: i64 = c.ttl("h").await?;
    assert!(ttl > 0, "{ttl}");
    let _: bool = c.pexpire("h", 1).await?;
    gears_tests::eventually(std::time::Duration::from_secs(3), || {
        let mut c = c.clone();
        async move { c.hlen::<_, i64>("h").await.unwrap_or(-1) == 0 }
    })
    .await?;
    let v: Option<String> = c.hget("h", "a").await?;
    assert_eq!(v, None);
    Ok(())
}

#[tokio::test]
async fn hash_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["HSET", "h"],
            &["HSET", "h", "a"],
            &["HSET", "h", "a", "1", "b"],
            &["HMSET", "h", "a", "1", "b"],
            &["HSET", "h", "a", "1", "b", "2", "c", "3"],
            &["HGETALL", "h"],
            &["HDEL", "h", "b"],
            &["HSET", "h", "b", "x"],
            &["HKEYS", "h"],
            &["HVALS", "h"],
            &["HINCRBY", "h", "a", "x"],
            &["HINCRBY", "h", "b", "1"],
            &["HINCRBY", "h", "a", "9223372036854775807"],
            &["HINCRBYFLOAT", "h", "b", "1"],
            &["HINCRBYFLOAT", "h", "a", "nan"],
            &["HINCRBYFLOAT", "h", "a", "-inf"],
            &["HINCRBYFLOAT", "h", "a", "1.5"],
            &["HSTRLEN", "h", "a"],
            &["HRANDFIELD", "h", "abc"],
            &["HRANDFIELD", "h", "1", "foo"],
            &["HRANDFIELD", "h", "1", "WITHVALUES", "foo"],
            &["HRANDFIELD", "h", "-9223372036854775808"],
            &["HRANDFIELD", "h", "-9223372036854770000", "WITHVALUES"],
            &["HRANDFIELD", "h", "0"],
            &["HRANDFIELD", "nokey", "3"],
            &["HRANDFIELD", "nokey"],
            &["HSCAN", "h", "abc"],
            &["HSCAN", "h", "0", "COUNT", "0"],
            &["HSCAN", "h", "0", "COUNT", "x"],
            &["HSCAN", "h", "0", "MATCH"],
            &["HSCAN", "h", "0", "TYPE", "string"],
            &["HSCAN", "h", "18446744073709551616"],
            &["HSCAN", "nokey", "0", "COUNT", "0"],
            &["HSCAN", "h", "0"],
            &["HSCAN", "h", "0", "MATCH", "b*"],
            &["HSETNX", "h", "a", "2", "3"],
            &["HGET", "h"],
            &["HEXISTS", "nokey", "a"],
            &["HLEN", "nokey"],
            &["SET", "str", "x"],
            &["HSET", "str", "a", "1"],
            &["HINCRBYFLOAT", "str", "a", "inf"],
            &["HSCAN", "str", "abc"],
            &["HSCAN", "str", "0", "COUNT", "0"],
        ],
    )
    .await
}
