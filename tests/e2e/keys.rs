//! Generic key commands: DEL, EXISTS, TYPE, expiry, RENAME, COPY, MOVE, KEYS, SCAN, OBJECT.

use std::collections::HashSet;
use std::time::Duration;

use gears_tests::{RealRedis, TestServer, assert_same_replies, eventually};
use redis::AsyncCommands;

#[tokio::test]
async fn del_exists_type_count_correctly() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.mset(&[("a", "1"), ("b", "2")]).await?;
    let n: i64 = redis::cmd("EXISTS")
        .arg(&["a", "a", "b", "nope"])
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 3, "repeated keys count each time");
    let t: String = redis::cmd("TYPE").arg("a").query_async(&mut c).await?;
    assert_eq!(t, "string");
    let t: String = redis::cmd("TYPE").arg("nope").query_async(&mut c).await?;
    assert_eq!(t, "none");
    let n: i64 = c.del(&["a", "b", "nope"]).await?;
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("DBSIZE").query_async(&mut c).await?;
    assert_eq!(n, 0);
    Ok(())
}

#[tokio::test]
async fn expire_ttl_and_lazy_expiry() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("k", "v").await?;
    let ttl: i64 = c.ttl("k").await?;
    assert_eq!(ttl, -1);
    let ttl: i64 = c.ttl("missing").await?;
    assert_eq!(ttl, -2);
    let ok: i64 = redis::cmd("PEXPIRE")
        .arg("k")
        .arg(100)
        .query_async(&mut c)
        .await?;
    assert_eq!(ok, 1);
    let pttl: i64 = c.pttl("k").await?;
    assert!((1..=100).contains(&pttl), "{pttl}");
    eventually(Duration::from_secs(3), || {
        let mut c = c.clone();
        async move { !c.exists::<_, bool>("k").await.unwrap_or(true) }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn active_expiry_removes_keys_nobody_reads() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .arg("PX")
            .arg(50)
            .query_async(&mut c)
            .await?;
    }
    eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            redis::cmd("DBSIZE")
                .query_async::<i64>(&mut c)
                .await
                .unwrap_or(-1)
                == 0
        }
    })
    .await?;
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut c).await?;
    assert!(info.contains("expired_keys:100"), "{info}");
    Ok(())
}

#[tokio::test]
async fn expire_options_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SET", "k", "v"],
            &["EXPIRE", "k", "100", "XX"],
            &["EXPIRE", "k", "100", "GT"],
            &["EXPIRE", "k", "100", "LT"],
            &["EXPIRE", "k", "50", "NX"],
            &["EXPIRE", "k", "60", "NX"],
            &["EXPIRE", "k", "40", "GT"],
            &["EXPIRE", "k", "70", "GT"],
            &["EXPIRE", "k", "10", "NX", "XX"],
            &["EXPIRE", "k", "10", "GT", "LT"],
            &["EXPIRE", "k", "10", "FOO"],
            &["EXPIRE", "k", "9223372036854775807"],
            &["EXPIRE", "k", "abc"],
            &["TTL", "k"],
            &["PERSIST", "k"],
            &["PERSIST", "k"],
            &["EXPIRETIME", "k"],
            &["EXPIREAT", "k", "1"],
            &["EXISTS", "k"],
            &["EXPIRE", "missing", "10"],
        ],
    )
    .await
}

#[tokio::test]
async fn rename_copy_move_keep_ttl_and_errors_match() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SET", "a", "1", "EX", "1000"],
            &["RENAME", "nope", "x"],
            &["RENAME", "a", "a"],
            &["RENAME", "a", "b"],
            &["EXISTS", "a"],
            &["TTL", "b"],
            &["SET", "c", "3"],
            &["RENAMENX", "b", "c"],
            &["RENAMENX", "b", "d"],
            &["COPY", "d", "d"],
            &["COPY", "d", "c"],
            &["COPY", "d", "c", "REPLACE"],
            &["GET", "c"],
            &["TTL", "c"],
            &["COPY", "d", "e", "DB", "99"],
            &["COPY", "d", "e", "DB", "1"],
            &["MOVE", "d", "0"],
            &["MOVE", "d", "1"],
            &["MOVE", "d", "x"],
            &["SELECT", "1"],
            &["EXISTS", "d", "e"],
            &["SELECT", "0"],
        ],
    )
    .await
}

#[tokio::test]
async fn scan_returns_every_key_once_without_writes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for i in 0..1000 {
        let _: () = c.set(format!("key:{i}"), i).await?;
    }
    let mut cursor = 0u64;
    let mut seen = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("key:1*")
            .arg("COUNT")
            .arg(100)
            .query_async(&mut c)
            .await?;
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "no duplicates without concurrent writes"
    );
    assert_eq!(unique.len(), 111, "key:1, key:10..19, key:100..199");
    let err = redis::cmd("SCAN")
        .arg("abc")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(err.detail(), Some("invalid cursor"));
    Ok(())
}

#[tokio::test]
async fn scan_keeps_its_guarantee_while_keys_are_deleted() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    for i in 0..2000 {
        let _: () = c.set(format!("k{i}"), i).await?;
    }
    let mut cursor = 0u64;
    let mut seen = HashSet::new();
    let mut victim = 1000;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query_async(&mut c)
            .await?;
        seen.extend(batch);
        for _ in 0..20 {
            if victim < 2000 {
                let _: i64 = c.del(format!("k{victim}")).await?;
                victim += 1;
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for i in 0..1000 {
        assert!(seen.contains(&format!("k{i}")), "k{i} was never returned");
    }
    Ok(())
}

#[tokio::test]
async fn scan_type_filter_and_keys_pattern() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("s1", "x").await?;
    let _: () = c.set("s2", "x").await?;
    let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("string")
        .arg("COUNT")
        .arg(100)
        .query_async(&mut c)
        .await?;
    assert_eq!(keys.len(), 2);
    let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("hash")
        .arg("COUNT")
        .arg(100)
        .query_async(&mut c)
        .await?;
    assert!(keys.is_empty());
    let mut k: Vec<String> = c.keys("s[12]").await?;
    k.sort();
    assert_eq!(k, vec!["s1", "s2"]);
    Ok(())
}

#[tokio::test]
async fn object_encoding_follows_redis_rules() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("i", "12345").await?;
    let _: () = c.set("e", "hello").await?;
    let _: () = c.set("r", "x".repeat(45)).await?;
    for (k, enc) in [("i", "int"), ("e", "embstr"), ("r", "raw")] {
        let got: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query_async(&mut c)
            .await?;
        assert_eq!(got, enc, "{k}");
    }
    let _: i64 = c.append("e", "!").await?;
    let got: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("e")
        .query_async(&mut c)
        .await?;
    assert_eq!(got, "raw", "APPEND makes a string raw");
    let got: Option<String> = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("nope")
        .query_async(&mut c)
        .await?;
    assert_eq!(got, None);
    let err = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("i")
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("LFU maxmemory policy is not selected"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn swapdb_and_flush_affect_the_right_databases() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("in0", "a").await?;
    let _: () = redis::cmd("SWAPDB")
        .arg(0)
        .arg(1)
        .query_async(&mut c)
        .await?;
    assert!(!c.exists::<_, bool>("in0").await?);
    let _: () = redis::cmd("SELECT").arg(1).query_async(&mut c).await?;
    assert!(c.exists::<_, bool>("in0").await?);
    let _: () = redis::cmd("FLUSHDB").query_async(&mut c).await?;
    assert!(!c.exists::<_, bool>("in0").await?);
    let err = redis::cmd("SELECT")
        .arg(16)
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(err.detail(), Some("DB index is out of range"));
    Ok(())
}
