//! Set commands against the in-process server: replies, encodings, the set algebra, errors,
//! events and side-by-side comparisons with real Redis.

use std::collections::HashSet;

use gears_tests::{RealRedis, TestServer, assert_same_replies};
use redis::AsyncCommands;

use crate::hashes::Resp;

type Conn = redis::aio::MultiplexedConnection;

async fn encoding(c: &mut Conn, key: &str) -> anyhow::Result<String> {
    Ok(redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(c)
        .await?)
}

async fn members(c: &mut Conn, key: &str) -> anyhow::Result<Vec<String>> {
    let mut m: Vec<String> = c.smembers(key).await?;
    m.sort();
    Ok(m)
}

#[tokio::test]
async fn sadd_srem_and_membership() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = c.sadd("s", &["a", "b", "c", "a"]).await?;
    assert_eq!(n, 3);
    let n: i64 = c.sadd("s", &["A", "a"]).await?;
    assert_eq!(n, 1);
    let n: i64 = c.scard("s").await?;
    assert_eq!(n, 4);
    let m: bool = c.sismember("s", "a").await?;
    assert!(m);
    let m: bool = c.sismember("s", "zz").await?;
    assert!(!m);
    let m: Vec<i64> = redis::cmd("SMISMEMBER")
        .arg(&["s", "zz", "a", "b"])
        .query_async(&mut c)
        .await?;
    assert_eq!(m, [0, 1, 1]);
    let m: Vec<i64> = redis::cmd("SMISMEMBER")
        .arg(&["nokey", "a"])
        .query_async(&mut c)
        .await?;
    assert_eq!(m, [0]);
    let n: i64 = c.srem("s", &["k", "k"]).await?;
    assert_eq!(n, 0);
    let n: i64 = c.srem("s", &["b", "A", "x"]).await?;
    assert_eq!(n, 2);
    assert_eq!(members(&mut c, "s").await?, ["a", "c"]);
    let n: i64 = c.srem("s", &["a", "c", "d"]).await?;
    assert_eq!(n, 2);
    let e: bool = c.exists("s").await?;
    assert!(!e, "an emptied set is deleted");
    let n: i64 = c.scard("s").await?;
    assert_eq!(n, 0);
    Ok(())
}

#[tokio::test]
async fn set_encoding_is_intset_until_a_string_or_too_many() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "set-max-intset-entries", "4"])
        .query_async(&mut c)
        .await?;
    let _: i64 = c.sadd("i", &["1", "2", "3", "4"]).await?;
    assert_eq!(encoding(&mut c, "i").await?, "intset");
    let _: i64 = c.sadd("i", "5").await?;
    assert_eq!(encoding(&mut c, "i").await?, "hashtable");
    let _: i64 = c.srem("i", &["1", "2", "3"]).await?;
    assert_eq!(
        encoding(&mut c, "i").await?,
        "hashtable",
        "never converts back"
    );
    let _: i64 = c.sadd("s", &["1", "a"]).await?;
    assert_eq!(encoding(&mut c, "s").await?, "hashtable");
    let _: i64 = c.sadd("huge", "213244124402402314402033402").await?;
    assert_eq!(encoding(&mut c, "huge").await?, "hashtable");
    let _: i64 = c.sadd("lead0", "01").await?;
    assert_eq!(encoding(&mut c, "lead0").await?, "hashtable");
    // *STORE results get an encoding from their own content.
    let _: i64 = c.sadd("mixed", &["1", "2", "x"]).await?;
    let _: i64 = c.sadd("ints", &["1", "2", "3"]).await?;
    let _: i64 = c.sinterstore("dst", &["mixed", "ints"]).await?;
    assert_eq!(encoding(&mut c, "dst").await?, "intset");
    let _: i64 = c.sdiffstore("dst", &["mixed", "ints"]).await?;
    assert_eq!(encoding(&mut c, "dst").await?, "hashtable");
    Ok(())
}

#[tokio::test]
async fn spop_removes_what_it_returns() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let all: HashSet<String> = (1..=20).map(|i| i.to_string()).collect();
    let _: i64 = c.sadd("s", all.iter().collect::<Vec<_>>()).await?;
    let one: String = c.spop("s").await?;
    assert!(all.contains(&one));
    let some: Vec<String> = redis::cmd("SPOP")
        .arg(&["s", "5"])
        .query_async(&mut c)
        .await?;
    assert_eq!(some.iter().collect::<HashSet<_>>().len(), 5);
    let left = members(&mut c, "s").await?;
    assert_eq!(left.len(), 14);
    let mut seen: HashSet<String> = left.into_iter().chain(some).collect();
    seen.insert(one);
    assert_eq!(seen, all);
    let zero: Vec<String> = redis::cmd("SPOP")
        .arg(&["s", "0"])
        .query_async(&mut c)
        .await?;
    assert!(zero.is_empty());
    let rest: Vec<String> = redis::cmd("SPOP")
        .arg(&["s", "100"])
        .query_async(&mut c)
        .await?;
    assert_eq!(rest.len(), 14);
    let e: bool = c.exists("s").await?;
    assert!(!e);
    let none: Option<String> = c.spop("s").await?;
    assert_eq!(none, None);
    let e = redis::cmd("SPOP")
        .arg(&["s", "-1"])
        .query_async::<redis::Value>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(e.detail(), Some("value is out of range, must be positive"));
    Ok(())
}

#[tokio::test]
async fn srandmember_counts_distinct_and_repeating() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let all: HashSet<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
    let _: i64 = c.sadd("s", all.iter().collect::<Vec<_>>()).await?;
    let one: String = c.srandmember("s").await?;
    assert!(all.contains(&one));
    let three: Vec<String> = c.srandmember_multiple("s", 3).await?;
    assert_eq!(three.iter().collect::<HashSet<_>>().len(), 3);
    let many: Vec<String> = c.srandmember_multiple("s", 50).await?;
    assert_eq!(many.iter().cloned().collect::<HashSet<_>>(), all);
    assert_eq!(many.len(), 5);
    let rep: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg(&["s", "-30"])
        .query_async(&mut c)
        .await?;
    assert_eq!(rep.len(), 30);
    assert!(rep.iter().all(|m| all.contains(m)));
    let n: i64 = c.scard("s").await?;
    assert_eq!(n, 5, "SRANDMEMBER does not remove");
    let none: Option<String> = c.srandmember("nokey").await?;
    assert_eq!(none, None);
    Ok(())
}

#[tokio::test]
async fn smove_moves_and_creates_destination() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = c.sadd("src", &["1", "a", "b"]).await?;
    let _: i64 = c.sadd("dst", &["2", "3"]).await?;
    let n: i64 = c.smove("src", "dst", "a").await?;
    assert_eq!(n, 1);
    assert_eq!(members(&mut c, "src").await?, ["1", "b"]);
    assert_eq!(members(&mut c, "dst").await?, ["2", "3", "a"]);
    assert_eq!(encoding(&mut c, "dst").await?, "hashtable");
    let n: i64 = c.smove("src", "dst", "zz").await?;
    assert_eq!(n, 0);
    let n: i64 = c.smove("src", "new", "1").await?;
    assert_eq!(n, 1);
    assert_eq!(encoding(&mut c, "new").await?, "intset");
    let n: i64 = c.smove("src", "src", "b").await?;
    assert_eq!(n, 1, "same key: a membership test");
    let n: i64 = c.smove("src", "new", "b").await?;
    assert_eq!(n, 1);
    let e: bool = c.exists("src").await?;
    assert!(!e, "an emptied source is deleted");
    let n: i64 = c.smove("nokey", "new", "b").await?;
    assert_eq!(n, 0);
    Ok(())
}

#[tokio::test]
async fn smove_to_a_set_already_holding_member_leaves_watch_intact() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut other = srv.client().await?;
    let _: i64 = c.sadd("src", &["a", "b"]).await?;
    let _: i64 = c.sadd("dst", "a").await?;
    let mut r = Resp::connect(&srv).await?;
    assert_eq!(r.cmd(&["WATCH", "dst"]).await?, "+OK");
    assert_eq!(r.cmd(&["MULTI"]).await?, "+OK");
    assert_eq!(r.cmd(&["SADD", "dst", "c"]).await?, "+QUEUED");
    let n: i64 = other.smove("src", "dst", "a").await?;
    assert_eq!(n, 1);
    assert_eq!(
        r.cmd(&["EXEC"]).await?,
        "*[:1]",
        "dst did not change, so EXEC runs"
    );
    let n: i64 = c.scard("dst").await?;
    assert_eq!(n, 2);
    Ok(())
}

#[tokio::test]
async fn set_algebra_and_store_variants() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = c.sadd("a", &["1", "2", "3", "x"]).await?;
    let _: i64 = c.sadd("b", &["2", "3", "4"]).await?;
    let _: i64 = c.sadd("c", &["3", "x"]).await?;
    let mut inter: Vec<String> = c.sinter(&["a", "b"]).await?;
    inter.sort();
    assert_eq!(inter, ["2", "3"]);
    let inter: Vec<String> = c.sinter(&["a", "b", "c"]).await?;
    assert_eq!(inter, ["3"]);
    let inter: Vec<String> = c.sinter(&["a", "nokey"]).await?;
    assert!(inter.is_empty());
    let mut uni: Vec<String> = c.sunion(&["a", "nokey", "b"]).await?;
    uni.sort();
    assert_eq!(uni, ["1", "2", "3", "4", "x"]);
    let mut diff: Vec<String> = c.sdiff(&["a", "b"]).await?;
    diff.sort();
    assert_eq!(diff, ["1", "x"]);
    let diff: Vec<String> = c.sdiff(&["a", "a"]).await?;
    assert!(diff.is_empty());
    let n: i64 = c.sunionstore("u", &["a", "b"]).await?;
    assert_eq!(n, 5);
    assert_eq!(members(&mut c, "u").await?, ["1", "2", "3", "4", "x"]);
    let n: i64 = c.sdiffstore("d", &["a", "b", "c"]).await?;
    assert_eq!(n, 1);
    assert_eq!(members(&mut c, "d").await?, ["1"]);
    // An empty result deletes the destination, whatever it held.
    let _: () = c.set("str", "v").await?;
    let n: i64 = c.sinterstore("str", &["a", "nokey"]).await?;
    assert_eq!(n, 0);
    let e: bool = c.exists("str").await?;
    assert!(!e);
    // Storing replaces the destination and drops its TTL.
    let _: () = c.set("dst", "v").await?;
    let _: bool = c.expire("dst", 100).await?;
    let n: i64 = c.sinterstore("dst", &["a", "c"]).await?;
    assert_eq!(n, 2);
    let ttl: i64 = c.ttl("dst").await?;
    assert_eq!(ttl, -1);
    Ok(())
}

#[tokio::test]
async fn set_algebra_checks_every_key_type_first() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("str", "x").await?;
    let _: i64 = c.sadd("dst", "e").await?;
    for args in [
        &["SINTER", "nokey", "str"][..],
        &["SUNION", "str", "nokey"],
        &["SDIFF", "nokey", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERSTORE", "dst", "nokey", "str"],
        &["SUNIONSTORE", "dst", "str"],
        &["SDIFFSTORE", "dst", "nokey", "str"],
        &["SMEMBERS", "str"],
    ] {
        let e = redis::cmd(args[0])
            .arg(&args[1..])
            .query_async::<redis::Value>(&mut c)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("WRONGTYPE"), "{args:?}");
    }
    assert_eq!(
        members(&mut c, "dst").await?,
        ["e"],
        "untouched after errors"
    );
    Ok(())
}

#[tokio::test]
async fn sintercard_counts_up_to_limit() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = c.sadd("a", (0..100).collect::<Vec<i64>>()).await?;
    let _: i64 = c.sadd("b", (50..200).collect::<Vec<i64>>()).await?;
    let card = |args: &'static [&'static str]| {
        let mut c = c.clone();
        async move {
            redis::cmd("SINTERCARD")
                .arg(args)
                .query_async::<i64>(&mut c)
                .await
        }
    };
    assert_eq!(card(&["2", "a", "b"]).await?, 50);
    assert_eq!(card(&["2", "a", "b", "LIMIT", "0"]).await?, 50);
    assert_eq!(card(&["2", "a", "b", "LIMIT", "7"]).await?, 7);
    assert_eq!(card(&["1", "a", "limit", "1000"]).await?, 100);
    assert_eq!(card(&["2", "a", "nokey"]).await?, 0);
    let e = card(&["0", "a"]).await.unwrap_err();
    assert_eq!(e.detail(), Some("numkeys should be greater than 0"));
    let e = card(&["3", "a", "b"]).await.unwrap_err();
    assert_eq!(
        e.detail(),
        Some("Number of keys can't be greater than number of args")
    );
    let e = card(&["1", "a", "LIMIT", "-1"]).await.unwrap_err();
    assert_eq!(e.detail(), Some("LIMIT can't be negative"));
    let e = card(&["1", "a", "b"]).await.unwrap_err();
    assert_eq!(e.detail(), Some("syntax error"));
    Ok(())
}

#[tokio::test]
async fn sscan_small_set_returns_everything_sorted() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: i64 = c.sadd("s", &["30", "-5", "7", "100"]).await?;
    let (cursor, items): (u64, Vec<String>) = redis::cmd("SSCAN")
        .arg(&["s", "0", "COUNT", "1"])
        .query_async(&mut c)
        .await?;
    assert_eq!(cursor, 0);
    assert_eq!(items, ["-5", "7", "30", "100"]);
    let (_, items): (u64, Vec<String>) = redis::cmd("SSCAN")
        .arg(&["s", "0", "MATCH", "*0"])
        .query_async(&mut c)
        .await?;
    assert_eq!(items, ["30", "100"]);
    let (cursor, items): (u64, Vec<String>) = redis::cmd("SSCAN")
        .arg(&["nokey", "0"])
        .query_async(&mut c)
        .await?;
    assert_eq!((cursor, items.len()), (0, 0));
    Ok(())
}

#[tokio::test]
async fn sscan_big_set_iterates_every_member_under_removals() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let all: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let _: i64 = c.sadd("s", &all).await?;
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    let mut victim = 1000;
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg("s")
            .arg(cursor)
            .arg("COUNT")
            .arg(20)
            .query_async(&mut c)
            .await?;
        seen.extend(items);
        // Members m1000.. are removed while the scan runs; m0..m999 stay throughout.
        for _ in 0..10 {
            if victim < 2000 {
                let _: i64 = c.srem("s", format!("m{victim}")).await?;
                victim += 1;
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for m in &all[..1000] {
        assert!(seen.contains(m), "missed {m}");
    }
    Ok(())
}

#[tokio::test]
async fn resp3_set_replies_have_redis_shapes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut r = Resp::connect(&srv).await?;
    r.cmd(&["HELLO", "3"]).await?;
    assert_eq!(r.cmd(&["SADD", "i", "3", "1", "2"]).await?, ":3");
    assert_eq!(r.cmd(&["SMEMBERS", "i"]).await?, "~[1, 2, 3]");
    assert_eq!(r.cmd(&["SMEMBERS", "nokey"]).await?, "~[]");
    assert_eq!(r.cmd(&["SINTER", "i", "i"]).await?, "~[1, 2, 3]");
    assert_eq!(r.cmd(&["SUNION", "i", "nokey"]).await?, "~[1, 2, 3]");
    assert_eq!(r.cmd(&["SDIFF", "nokey", "i"]).await?, "~[]");
    assert_eq!(r.cmd(&["SMISMEMBER", "i", "1", "9"]).await?, "*[:1, :0]");
    assert_eq!(r.cmd(&["SRANDMEMBER", "i", "10"]).await?, "*[1, 2, 3]");
    assert_eq!(r.cmd(&["SRANDMEMBER", "nokey", "10"]).await?, "*[]");
    assert_eq!(r.cmd(&["SRANDMEMBER", "nokey"]).await?, "_");
    assert_eq!(r.cmd(&["SPOP", "nokey"]).await?, "_");
    assert_eq!(r.cmd(&["SPOP", "nokey", "2"]).await?, "~[]");
    assert_eq!(r.cmd(&["SPOP", "i", "0"]).await?, "~[]");
    assert_eq!(r.cmd(&["SSCAN", "i", "0"]).await?, "*[0, *[1, 2, 3]]");
    assert_eq!(r.cmd(&["SPOP", "i", "3"]).await?, "~[1, 2, 3]");
    Ok(())
}

#[tokio::test]
async fn set_writes_emit_redis_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "KEA"])
        .query_async(&mut c)
        .await?;
    let mut sub = Resp::connect(&srv).await?;
    sub.subscribe_keyevents().await?;
    let _: i64 = c.sadd("a", &["1", "2", "3"]).await?;
    let _: i64 = c.sadd("a", "1").await?; // no event: nothing added
    let _: i64 = c.srem("a", "9").await?; // no event
    let _: i64 = c.srem("a", "1").await?;
    let _: i64 = c.smove("a", "b", "2").await?;
    let _: i64 = c.smove("a", "b", "3").await?;
    let _: Vec<String> = redis::cmd("SPOP")
        .arg(&["b", "1"])
        .query_async(&mut c)
        .await?;
    let _: String = c.spop("b").await?;
    let _: i64 = c.sadd("x", &["1", "2"]).await?;
    let _: i64 = c.sunionstore("u", &["x"]).await?;
    let _: i64 = c.sinterstore("u", &["x", "nokey"]).await?;
    let _: i64 = c.sinterstore("u", &["x", "nokey"]).await?; // no event: nothing to delete
    let _: i64 = c.sdiffstore("d", &["x"]).await?;
    let got = sub.events(13).await?;
    assert_eq!(
        got,
        [
            "sadd a",
            "srem a",
            "srem a",
            "sadd b",
            "srem a",
            "del a",
            "sadd b",
            "spop b",
            "spop b",
            "del b",
            "sadd x",
            "sunionstore u",
            "del u",
        ]
    );
    assert_eq!(sub.events(1).await?, ["sdiffstore d"]);
    Ok(())
}

#[tokio::test]
async fn set_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SADD", "i", "30", "-5", "7", "100", "0"],
            &["SMEMBERS", "i"],
            &["SADD", "j", "7", "0", "8"],
            &["SINTER", "i", "j"],
            &["SUNION", "i", "j"],
            &["SDIFF", "i", "j"],
            &["SINTERSTORE", "d", "i", "j"],
            &["SMEMBERS", "d"],
            &["OBJECT", "ENCODING", "d"],
            &["SUNIONSTORE", "d", "i", "j"],
            &["SMEMBERS", "d"],
            &["SDIFFSTORE", "d", "i", "nokey"],
            &["SDIFFSTORE", "d", "nokey", "i"],
            &["EXISTS", "d"],
            &["SSCAN", "i", "0"],
            &["SSCAN", "i", "0", "MATCH", "*0"],
            &["SSCAN", "i", "x"],
            &["SSCAN", "i", "0", "COUNT", "0"],
            &["SSCAN", "nokey", "0", "COUNT", "0"],
            &["SRANDMEMBER", "i", "100"],
            &["SRANDMEMBER", "i", "0"],
            &["SRANDMEMBER", "i", "-9223372036854775808"],
            &["SRANDMEMBER", "i", "a"],
            &["SRANDMEMBER", "i", "1", "2"],
            &["SPOP", "i", "a"],
            &["SPOP", "i", "-1"],
            &["SPOP", "i", "1", "2"],
            &["SPOP", "j", "10"],
            &["EXISTS", "j"],
            &["SINTERCARD", "0", "i"],
            &["SINTERCARD", "a", "i"],
            &["SINTERCARD", "99999999999999999999", "i"],
            &["SINTERCARD", "2", "i"],
            &["SINTERCARD", "1", "i", "LIMIT"],
            &["SINTERCARD", "1", "i", "LIMIT", "a"],
            &["SINTERCARD", "1", "i", "LIMIT", "1", "LIMIT", "3"],
            &["SINTERCARD", "1", "i", "FOO", "1"],
            &["SMISMEMBER", "i"],
            &["SMISMEMBER", "i", "7", "8"],
            &["SET", "str", "x"],
            &["SMOVE", "nokey", "str", "a"],
            &["SMOVE", "str", "i", "a"],
            &["SMOVE", "i", "str", "zz"],
            &["SMOVE", "i", "i", "7"],
            &["SMOVE", "i", "i", "zz"],
            &["SMOVE", "i", "k", "7"],
            &["OBJECT", "ENCODING", "k"],
            &["SADD", "k", "abc"],
            &["OBJECT", "ENCODING", "k"],
            &["SPOP", "str", "0"],
            &["SRANDMEMBER", "str", "0"],
            &["SCARD", "str"],
        ],
    )
    .await
}
