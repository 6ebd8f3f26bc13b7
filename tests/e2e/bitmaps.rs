//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) against the
//! in-process server with real clients, side by side with a real redis-server for edge cases
//! and randomized inputs.

use anyhow::{Context, bail};
use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

/// A tiny deterministic generator (xorshift64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }

    /// Random bytes biased towards runs of 0x00 and 0xff, which exercise the word-wise scans.
    fn bytes(&mut self, max_len: i64) -> Vec<u8> {
        let len = self.range(0, max_len) as usize;
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let run = self.range(1, 20) as usize;
            let b = match self.next() % 4 {
                0 => 0x00,
                1 => 0xff,
                _ => self.next() as u8,
            };
            v.extend(std::iter::repeat_n(b, run.min(len - v.len())));
        }
        v
    }
}

/// A reply (or error) rendered for comparison.
async fn reply(conn: &mut MultiplexedConnection, cmd: &redis::Cmd) -> String {
    match cmd.query_async::<redis::Value>(conn).await {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {:?} {:?}", e.code(), e.detail()),
    }
}

/// Runs `cmd` on both servers and fails if the replies differ.
async fn same(
    ours: &mut MultiplexedConnection,
    theirs: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
) -> anyhow::Result<String> {
    let a = reply(ours, cmd).await;
    let b = reply(theirs, cmd).await;
    if a != b {
        bail!(
            "{:?}: gears-host replied {a}, redis-server replied {b}",
            String::from_utf8_lossy(&cmd.get_packed_command())
        );
    }
    Ok(a)
}

/// Enables every keyspace event and subscribes a raw connection to all keyevents.
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
    while !bulks(&buf).iter().any(|b| b == b"psubscribe") {
        buf.extend(raw.read_at_least(1).await?);
    }
    Ok(raw)
}

/// Every bulk string in a RESP byte stream, in order.
fn bulks(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(i) = buf.iter().position(|&b| b == b'$') {
        buf = &buf[i + 1..];
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let Ok(n) = std::str::from_utf8(&buf[..eol])
            .unwrap_or("x")
            .parse::<usize>()
        else {
            continue;
        };
        let start = eol + 2;
        if buf.len() < start + n + 2 {
            break;
        }
        out.push(buf[start..start + n].to_vec());
        buf = &buf[start + n + 2..];
    }
    out
}

/// Reads keyevents as (event, key) until `until` arrives; returns all of them.
async fn events_until(
    raw: &mut RawConn,
    until: (&str, &str),
) -> anyhow::Result<Vec<(String, String)>> {
    let mut buf = Vec::new();
    loop {
        buf.extend(raw.read_at_least(1).await?);
        let b = bulks(&buf);
        let events: Vec<(String, String)> = b
            .chunks_exact(4)
            .filter(|m| m[0] == b"pmessage")
            .map(|m| {
                let channel = String::from_utf8_lossy(&m[2]).to_string();
                let event = channel.rsplit(':').next().unwrap_or_default().to_string();
                (event, String::from_utf8_lossy(&m[3]).to_string())
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

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn dirty(c: &mut MultiplexedConnection) -> anyhow::Result<i64> {
    let info: String = redis::cmd("INFO").arg("persistence").query_async(c).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .context("no rdb_changes_since_last_save")?
        .trim()
        .parse()
        .context("bad counter")
}

#[tokio::test]
async fn setbit_new_key_creates_zero_padded_raw_string() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let old: i64 = redis::cmd("SETBIT")
        .arg("k")
        .arg(17)
        .arg(1)
        .query_async(&mut c)
        .await?;
    assert_eq!(old, 0);
    let v: Vec<u8> = c.get("k").await?;
    assert_eq!(v, vec![0x00, 0x00, 0x40]);
    let old: i64 = redis::cmd("SETBIT")
        .arg("k")
        .arg(17)
        .arg(0)
        .query_async(&mut c)
        .await?;
    assert_eq!(old, 1);
    let bit: i64 = redis::cmd("GETBIT")
        .arg("k")
        .arg(17)
        .query_async(&mut c)
        .await?;
    assert_eq!(bit, 0);
    let bit: i64 = redis::cmd("GETBIT")
        .arg("k")
        .arg(1_000_000)
        .query_async(&mut c)
        .await?;
    assert_eq!(bit, 0);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("k")
        .query_async(&mut c)
        .await?;
    assert_eq!(enc, "raw");
    // An int-encoded string is read and modified through its decimal text.
    let _: () = c.set("n", 1).await?; // "1" = 0x31 = 0011_0001
    let bit: i64 = redis::cmd("GETBIT")
        .arg("n")
        .arg(2)
        .query_async(&mut c)
        .await?;
    assert_eq!(bit, 1);
    let _: i64 = redis::cmd("SETBIT")
        .arg("n")
        .arg(6)
        .arg(1)
        .query_async(&mut c)
        .await?;
    let v: String = c.get("n").await?;
    assert_eq!(v, "3");
    Ok(())
}

#[tokio::test]
async fn bit_commands_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SETBIT", "k", "-1", "1"],
            &["SETBIT", "k", "4294967296", "1"],
            &["SETBIT", "k", "abc", "1"],
            &["SETBIT", "k", "1", "2"],
            &["SETBIT", "k", "1", "-1"],
            &["SETBIT", "k", "1", "01"],
            &["SETBIT", "k", "7", "1"],
            &["GETBIT", "k", "-1"],
            &["GETBIT", "nokey", "3"],
            &["SET", "s", "foobar"],
            &["BITCOUNT", "s"],
            &["BITCOUNT", "s", "1", "1"],
            &["BITCOUNT", "s", "0", "-1", "BIT"],
            &["BITCOUNT", "s", "5", "30", "bit"],
            &["BITCOUNT", "s", "-6", "-15", "BIT"],
            &["BITCOUNT", "s", "0"],
            &["BITCOUNT", "s", "0", "1", "2"],
            &["BITCOUNT", "s", "0", "1", "BYTES"],
            &["BITCOUNT", "s", "a", "b"],
            &["BITCOUNT", "nokey", "a", "b"],
            &["BITCOUNT", "s", "-1", "-2", "foo"],
            &["BITCOUNT", "s", "-2", "1"],
            &["BITPOS", "s", "2"],
            &["BITPOS", "s", "a"],
            &["BITPOS", "nokey", "0"],
            &["BITPOS", "nokey", "1"],
            &["BITPOS", "nokey", "0", "x"],
            &["BITPOS", "s", "1", "2", "-1"],
            &["BITPOS", "s", "0", "2", "-1", "BIT"],
            &["BITPOS", "s", "0", "2", "-1", "xx"],
            &["BITPOS", "s", "1", "x"],
            &["BITPOS", "s", "1", "0", "x"],
            &["BITPOS", "s", "1", "0", "1", "BIT", "extra"],
            &["SET", "empty", ""],
            &["BITPOS", "empty", "0"],
            &["BITPOS", "empty", "1"],
            &["BITPOS", "empty", "0", "0"],
            &["BITCOUNT", "empty"],
            &["SET", "i", "12345"],
            &["BITCOUNT", "i"],
            &["BITPOS", "i", "0", "1"],
            &["BITOP", "and", "dest", "s", "i"],
            &["GET", "dest"],
            &["BITOP", "OR", "dest", "s", "nokey"],
            &["GET", "dest"],
            &["BITOP", "xor", "dest", "s", "i", "s"],
            &["GET", "dest"],
            &["BITOP", "NOT", "dest", "s"],
            &["GET", "dest"],
            &["BITOP", "NOT", "dest", "s", "i"],
            &["BITOP", "NAND", "dest", "s"],
            &["BITOP", "AND", "dest", "nokey", "nokey2"],
            &["EXISTS", "dest"],
            &[
                "BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "i8", "0", "GET", "u8", "0",
            ],
            &[
                "BITFIELD", "bf", "SET", "u8", "#1", "255", "GET", "u8", "8", "GET", "u4", "#3",
            ],
            &[
                "BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
                "102", "1",
            ],
            &[
                "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "5",
            ],
            &[
                "BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i8", "0", "-100", "INCRBY", "i8",
                "0", "-100",
            ],
            &[
                "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "i8", "0", "1000", "SET", "u8", "8",
                "-1",
            ],
            &[
                "BITFIELD", "bf", "GET", "i64", "0", "GET", "u63", "0", "GET", "i64", "10000",
            ],
            &["BITFIELD", "bf", "SET", "u64", "0", "1"],
            &["BITFIELD", "bf", "SET", "i65", "0", "1"],
            &["BITFIELD", "bf", "GET", "i0", "0"],
            &["BITFIELD", "bf", "GET", "x8", "0"],
            &["BITFIELD", "bf", "GET", "i8", "-1"],
            &["BITFIELD", "bf", "GET", "i8", "#-1"],
            &["BITFIELD", "bf", "GET", "i8", "a"],
            &["BITFIELD", "bf", "SET", "i8", "0", "a"],
            &["BITFIELD", "bf", "OVERFLOW", "foo", "GET", "i8", "0"],
            &["BITFIELD", "bf", "foo"],
            &["BITFIELD", "bf", "GET", "i8"],
            &["BITFIELD", "bf"],
            &["BITFIELD", "nokey", "GET", "u8", "0"],
            &["EXISTS", "nokey"],
            &[
                "BITFIELD", "created", "OVERFLOW", "FAIL", "SET", "u2", "0", "10",
            ],
            &["GET", "created"],
            &["BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u4", "4"],
            &["BITFIELD_RO", "bf", "SET", "i8", "0", "1"],
            &["BITFIELD_RO", "bf", "INCRBY", "i8", "0", "1"],
            &["BITFIELD_RO", "bf"],
            &["BITFIELD_RO", "bf", "OVERFLOW", "SAT", "GET", "i8", "0"],
            &[
                "BITFIELD",
                "bf",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
            ],
            &[
                "BITFIELD",
                "bf",
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
            ],
            &[
                "BITFIELD",
                "bf",
                "SET",
                "i64",
                "0",
                "-9223372036854775808",
                "INCRBY",
                "i64",
                "0",
                "-1",
            ],
            &[
                "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u63", "0", "-1", "GET", "u63", "0",
            ],
            &["GET", "bf"],
            &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
            &["SETBIT", "big", "8388608", "1"],
            &["SETBIT", "big", "8388607", "1"],
            &["BITFIELD", "big", "SET", "u8", "#1048575", "1"],
            &["BITFIELD", "big", "SET", "u8", "#1048576", "1"],
            &["BITFIELD", "big", "SET", "u16", "8388600", "1"],
            &["GETBIT", "big", "8388608"],
            &["STRLEN", "big"],
        ],
    )
    .await
}

#[tokio::test]
async fn bitcount_bitpos_random_ranges_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..150 {
        let data = rng.bytes(70);
        same(
            &mut ours,
            &mut theirs,
            redis::cmd("SET").arg("s").arg(&data),
        )
        .await?;
        let n = data.len() as i64;
        same(&mut ours, &mut theirs, redis::cmd("BITCOUNT").arg("s")).await?;
        for bit in [0, 1] {
            same(
                &mut ours,
                &mut theirs,
                redis::cmd("BITPOS").arg("s").arg(bit),
            )
            .await?;
        }
        for _ in 0..20 {
            let unit = ["BYTE", "BIT", ""][rng.range(0, 2) as usize];
            let span = if unit == "BIT" { n * 8 + 10 } else { n + 3 };
            let start = rng.range(-span, span);
            let end = rng.range(-span, span);
            let bit = rng.range(0, 1);
            let mut count = redis::cmd("BITCOUNT");
            count.arg("s").arg(start).arg(end);
            let mut pos = redis::cmd("BITPOS");
            pos.arg("s").arg(bit).arg(start).arg(end);
            if !unit.is_empty() {
                count.arg(unit);
                pos.arg(unit);
            }
            same(&mut ours, &mut theirs, &count).await?;
            same(&mut ours, &mut theirs, &pos).await?;
            same(
                &mut ours,
                &mut theirs,
                redis::cmd("BITPOS").arg("s").arg(bit).arg(start),
            )
            .await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn bitop_random_inputs_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let nkeys = rng.range(1, 5);
        let mut keys = Vec::new();
        for k in 0..nkeys {
            let key = format!("src{k}");
            let data = rng.bytes(100);
            if data.is_empty() && rng.range(0, 1) == 0 {
                same(&mut ours, &mut theirs, redis::cmd("DEL").arg(&key)).await?;
            } else {
                same(
                    &mut ours,
                    &mut theirs,
                    redis::cmd("SET").arg(&key).arg(&data),
                )
                .await?;
            }
            keys.push(key);
        }
        let op = ["AND", "OR", "XOR", "NOT"][round % 4];
        let srcs = if op == "NOT" { &keys[..1] } else { &keys[..] };
        same(
            &mut ours,
            &mut theirs,
            redis::cmd("BITOP").arg(op).arg("dest").arg(srcs),
        )
        .await?;
        same(&mut ours, &mut theirs, redis::cmd("GET").arg("dest")).await?;
    }
    Ok(())
}

#[tokio::test]
async fn bitfield_random_ops_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..400 {
        let mut cmd = redis::cmd("BITFIELD");
        cmd.arg("bf");
        for _ in 0..rng.range(1, 4) {
            if rng.range(0, 3) == 0 {
                cmd.arg("OVERFLOW")
                    .arg(["WRAP", "SAT", "FAIL"][rng.range(0, 2) as usize]);
            }
            let signed = rng.range(0, 1) == 1;
            let bits = if signed {
                rng.range(1, 64)
            } else {
                rng.range(1, 63)
            };
            let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
            let offset = if rng.range(0, 4) == 0 {
                format!("#{}", rng.range(0, 8))
            } else {
                rng.range(0, 200).to_string()
            };
            // Values spread over small numbers and the extremes of the range.
            let value = match rng.range(0, 3) {
                0 => rng.range(-300, 300),
                1 => i64::MAX - rng.range(0, 3),
                2 => i64::MIN + rng.range(0, 3),
                _ => rng.next() as i64,
            };
            match rng.range(0, 2) {
                0 => cmd.arg("GET").arg(&ty).arg(&offset),
                1 => cmd.arg("SET").arg(&ty).arg(&offset).arg(value),
                _ => cmd.arg("INCRBY").arg(&ty).arg(&offset).arg(value),
            };
        }
        same(&mut ours, &mut theirs, &cmd).await?;
        same(&mut ours, &mut theirs, redis::cmd("GET").arg("bf")).await?;
    }
    Ok(())
}

#[tokio::test]
async fn bit_commands_on_wrong_type_fail_with_wrongtype() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    // A list made through RESTORE, so this test needs no other command family.
    let payload = gears_host::keyspace::serialize::dump(&gears_host::keyspace::Value::List(
        gears_host::keyspace::list::ListValue {
            items: [Box::from(&b"a"[..])].into_iter().collect(),
        },
    ));
    let _: () = redis::cmd("RESTORE")
        .arg("l")
        .arg(0)
        .arg(payload)
        .query_async(&mut c)
        .await?;
    let _: () = c.set("s", "x").await?;
    for cmd in [
        redis::cmd("SETBIT").arg("l").arg(0).arg(1).clone(),
        redis::cmd("GETBIT").arg("l").arg(0).clone(),
        redis::cmd("BITCOUNT").arg("l").clone(),
        redis::cmd("BITPOS").arg("l").arg(1).clone(),
        redis::cmd("BITOP")
            .arg("AND")
            .arg("d")
            .arg("s")
            .arg("l")
            .clone(),
        redis::cmd("BITFIELD")
            .arg("l")
            .arg("GET")
            .arg("u8")
            .arg(0)
            .clone(),
        redis::cmd("BITFIELD")
            .arg("l")
            .arg("SET")
            .arg("u8")
            .arg(0)
            .arg(1)
            .clone(),
        redis::cmd("BITFIELD_RO")
            .arg("l")
            .arg("GET")
            .arg("u8")
            .arg(0)
            .clone(),
    ] {
        let err = cmd
            .query_async::<redis::Value>(&mut c)
            .await
            .expect_err("wrong type must fail");
        assert_eq!(err.code(), Some("WRONGTYPE"), "{err}");
    }
    // BITOP failed before writing anything; the destination may be a list and gets replaced.
    assert!(!c.exists::<_, bool>("d").await?);
    let n: i64 = redis::cmd("BITOP")
        .arg("OR")
        .arg("l")
        .arg("s")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, 1);
    let t: String = redis::cmd("TYPE").arg("l").query_async(&mut c).await?;
    assert_eq!(t, "string");
    Ok(())
}

#[tokio::test]
async fn bit_writes_emit_events_only_on_change() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut events = keyevent_conn(&srv).await?;
    let q = |args: &[&str]| {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd
    };
    for args in [
        &["SETBIT", "b", "3", "1"][..],
        &["SETBIT", "b", "3", "1"],                // unchanged: no event
        &["SETBIT", "b", "3", "0"],                // changed
        &["SETBIT", "b", "20", "0"],               // grew: event although the bit is 0
        &["BITFIELD", "b", "SET", "u8", "0", "0"], // unchanged
        &["BITFIELD", "b", "INCRBY", "u8", "0", "1"],
        &["BITFIELD", "b", "GET", "u8", "0"],
        &["BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"], // created, not written
        &["BITOP", "NOT", "n", "b"],
        &["BITOP", "AND", "n", "missing"], // empty result deletes n
        &["BITOP", "AND", "n", "missing"], // nothing to delete: no event
        &["SET", "sentinel", "1"],
    ] {
        let _: redis::Value = q(args).query_async(&mut c).await?;
    }
    let got = events_until(&mut events, ("set", "sentinel")).await?;
    assert_eq!(
        got,
        ev(&[
            ("new", "b"),
            ("setbit", "b"),
            ("setbit", "b"),
            ("setbit", "b"),
            ("setbit", "b"),
            ("new", "f"),
            ("new", "n"),
            ("set", "n"),
            ("del", "n"),
            ("new", "sentinel"),
            ("set", "sentinel"),
        ])
    );
    Ok(())
}

#[tokio::test]
async fn setbit_bitfield_count_dirty_only_on_change() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let run = |args: &'static [&'static str]| {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd
    };
    let d0 = dirty(&mut c).await?;
    let _: redis::Value = run(&["SETBIT", "foo", "0", "0"])
        .query_async(&mut c)
        .await?;
    let _: redis::Value = run(&["BITFIELD", "foo2", "SET", "i5", "0", "0"])
        .query_async(&mut c)
        .await?;
    let d1 = dirty(&mut c).await?;
    assert_eq!(d1, d0 + 2, "creating keys always counts");
    let _: redis::Value = run(&["SETBIT", "foo", "0", "0"])
        .query_async(&mut c)
        .await?;
    let _: redis::Value = run(&["BITFIELD", "foo2", "SET", "i5", "0", "0"])
        .query_async(&mut c)
        .await?;
    assert_eq!(dirty(&mut c).await?, d1, "no change, no dirty");
    let _: redis::Value = run(&["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"])
        .query_async(&mut c)
        .await?;
    let _: redis::Value = run(&["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"])
        .query_async(&mut c)
        .await?;
    let _: redis::Value = run(&["SETBIT", "foo", "90", "0"])
        .query_async(&mut c)
        .await?;
    assert_eq!(dirty(&mut c).await?, d1 + 3);
    Ok(())
}

#[tokio::test]
async fn bitcount_counts_large_strings_exactly() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut rng = Rng(7);
    let data: Vec<u8> = (0..100_003).map(|_| rng.next() as u8).collect();
    let expect: u32 = data.iter().map(|b| b.count_ones()).sum();
    let _: () = c.set("big", &data).await?;
    let n: i64 = redis::cmd("BITCOUNT")
        .arg("big")
        .query_async(&mut c)
        .await?;
    assert_eq!(n, i64::from(expect));
    let tail: u32 = data[1..].iter().map(|b| b.count_ones()).sum();
    let n: i64 = redis::cmd("BITCOUNT")
        .arg("big")
        .arg(1)
        .arg(-1)
        .query_async(&mut c)
        .await?;
    assert_eq!(n, i64::from(tail));
    Ok(())
}
