//! Server and connection commands: INFO, CONFIG, CLIENT, COMMAND, HELLO, AUTH, MONITOR.

use std::time::Duration;

use gears_tests::{RawConn, RealRedis, TestServer, assert_same_replies, eventually};
use redis::AsyncCommands;

#[tokio::test]
async fn info_sections_and_counters() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("k", "v").await?;
    let _: Option<String> = c.get("missing").await?;
    let info: String = redis::cmd("INFO").query_async(&mut c).await?;
    for needle in [
        "# Server",
        "redis_version:7.0.15",
        "# Clients",
        "connected_clients:",
        "# Memory",
        "used_memory:",
        "# Stats",
        "keyspace_misses:1",
        "# Keyspace",
        "db0:keys=1,expires=0",
    ] {
        assert!(info.contains(needle), "{needle} missing");
    }
    assert!(
        !info.contains("cmdstat_"),
        "commandstats is not a default section"
    );
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut c)
        .await?;
    assert!(stats.contains("cmdstat_set:calls=1,"), "{stats}");
    assert!(!stats.contains("# Server"));
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut c)
        .await?;
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut c)
        .await?;
    assert!(!stats.contains("cmdstat_set"), "{stats}");
    Ok(())
}

#[tokio::test]
async fn config_get_set_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["CONFIG", "SET", "hash-max-ziplist-entries", "100"],
            &["CONFIG", "GET", "hash-max-listpack-entries"],
            &["CONFIG", "GET", "hash-max-ziplist-entries"],
            &["CONFIG", "SET", "maxmemory", "1mb"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
            &["CONFIG", "GET", "notify-keyspace-events"],
            &["CONFIG", "SET", "notify-keyspace-events", ""],
            &["CONFIG", "SET", "hz"],
            &["CONFIG", "GET"],
            &["CONFIG", "FOO"],
        ],
    )
    .await
}

#[tokio::test]
async fn client_setname_list_and_kill() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut admin = srv.client().await?;
    let mut victim = RawConn::connect(srv.addr()).await?;
    victim
        .send(b"CLIENT SETNAME victim\r\nCLIENT ID\r\n")
        .await?;
    let got = victim.read_until(b"\r\n").await?;
    assert!(got.starts_with(b"+OK\r\n"));
    eventually(Duration::from_secs(2), || {
        let mut a = admin.clone();
        async move {
            let list: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut a)
                .await
                .unwrap_or_default();
            list.contains("name=victim")
        }
    })
    .await?;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await?;
    let line = list
        .lines()
        .find(|l| l.contains("name=victim"))
        .expect("victim listed");
    let id: u64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("id="))
        .expect("id field")
        .parse()?;
    assert!(line.contains(" cmd=client|id "), "{line}");
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut admin)
        .await?;
    assert_eq!(n, 1);
    assert!(victim.is_closed().await?);
    let err = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("has space")
        .query_async::<redis::Value>(&mut admin)
        .await
        .unwrap_err();
    assert_eq!(
        err.detail(),
        Some("Client names cannot contain spaces, newlines or special characters.")
    );
    Ok(())
}

#[tokio::test]
async fn command_introspection_serves_clients() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let n: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query_async(&mut c)
        .await?;
    assert!(n > 40, "{n}");
    let info: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("get")
        .query_async(&mut c)
        .await?;
    let redis::Value::Array(items) = info else {
        panic!("array expected")
    };
    let redis::Value::Array(get) = &items[0] else {
        panic!("entry expected")
    };
    assert_eq!(get[0], redis::Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], redis::Value::Int(2));
    assert_eq!(get[3], redis::Value::Int(1));
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query_async(&mut c)
        .await?;
    assert_eq!(keys, vec!["a", "b"]);
    let docs: redis::Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("set")
        .query_async(&mut c)
        .await?;
    assert!(format!("{docs:?}").contains("summary"));
    Ok(())
}

#[tokio::test]
async fn requirepass_gates_commands_until_auth() -> anyhow::Result<()> {
    let srv = TestServer::start_with(&[("requirepass", "s3cret")]).await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"GET k\r\nAUTH wrong\r\nAUTH s3cret\r\nGET k\r\n")
        .await?;
    let got = c.read_until(b"$-1\r\n").await?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$-1\r\n"
    );
    let mut h = RawConn::connect(srv.addr()).await?;
    h.send(b"HELLO 3 AUTH default s3cret SETNAME me\r\nCLIENT GETNAME\r\n")
        .await?;
    let got = h.read_until(b"$2\r\nme\r\n").await?;
    assert!(got.starts_with(b"%7\r\n"));
    Ok(())
}

#[tokio::test]
async fn monitor_streams_other_clients_commands() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut m = RawConn::connect(srv.addr()).await?;
    m.send(b"MONITOR\r\n").await?;
    m.read_until(b"+OK\r\n").await?;
    let mut c = srv.client().await?;
    let _: () = c.set("watched-key", "v").await?;
    let line = m.read_until(b"\"watched-key\" \"v\"\r\n").await?;
    assert!(
        String::from_utf8_lossy(&line).contains("[0 127.0.0.1:"),
        "{}",
        String::from_utf8_lossy(&line)
    );
    Ok(())
}
