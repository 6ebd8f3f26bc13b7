//! Pub/sub and keyspace notifications: every write emits Redis's events, once, in order.

use std::time::Duration;

use futures_util::StreamExt;
use gears_tests::{RawConn, TestServer};
use redis::AsyncCommands;

/// Subscribes to every keyevent of db 0 and returns (event, key) pairs as they arrive.
async fn keyevents(srv: &TestServer) -> anyhow::Result<redis::aio::PubSub> {
    let client = redis::Client::open(srv.url())?;
    let mut ps = client.get_async_pubsub().await?;
    ps.psubscribe("__keyevent@*__:*").await?;
    Ok(ps)
}

async fn next_events(
    ps: &mut redis::aio::PubSub,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stream = ps.on_message();
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("pubsub stream ended"))?;
        let channel = msg.get_channel_name().to_string();
        let event = channel.rsplit(':').next().unwrap_or_default().to_string();
        let key: String = msg.get_payload()?;
        out.push((event, key));
    }
    Ok(out)
}

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn writes_emit_redis_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query_async(&mut c)
        .await?;
    let mut ps = keyevents(&srv).await?;
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg("1")
        .arg("EX")
        .arg(100)
        .query_async(&mut c)
        .await?;
    let _: i64 = c.incr("a", 1).await?;
    let _: () = c.rename("a", "b").await?;
    let _: i64 = redis::cmd("MOVE")
        .arg("b")
        .arg(1)
        .query_async(&mut c)
        .await?;
    let _: () = c.set("c", "x").await?;
    let _: i64 = c.append("c", "y").await?;
    let _: i64 = c.del("c").await?;
    let _: bool = redis::cmd("PERSIST")
        .arg("nothing")
        .query_async(&mut c)
        .await?;
    let got = next_events(&mut ps, 10).await?;
    assert_eq!(
        got,
        ev(&[
            ("set", "a"),
            ("expire", "a"),
            ("incrby", "a"),
            ("rename_from", "a"),
            ("rename_to", "b"),
            ("move_from", "b"),
            ("move_to", "b"),
            ("set", "c"),
            ("append", "c"),
            ("del", "c"),
        ])
    );
    Ok(())
}

#[tokio::test]
async fn expiry_emits_expired_once() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("Ex")
        .query_async(&mut c)
        .await?;
    let mut ps = keyevents(&srv).await?;
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("1")
        .arg("PX")
        .arg(30)
        .query_async(&mut c)
        .await?;
    let got = next_events(&mut ps, 1).await?;
    assert_eq!(got, ev(&[("expired", "t")]));
    // Only the x class was configured: set and expire were not published.
    let _: () = c.set("u", "1").await?;
    let _: () = redis::cmd("SET")
        .arg("v")
        .arg("1")
        .arg("PX")
        .arg(1)
        .query_async(&mut c)
        .await?;
    let got = next_events(&mut ps, 1).await?;
    assert_eq!(got, ev(&[("expired", "v")]));
    Ok(())
}

#[tokio::test]
async fn keyspace_channel_carries_event_name() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("K$")
        .query_async(&mut c)
        .await?;
    let client = redis::Client::open(srv.url())?;
    let mut ps = client.get_async_pubsub().await?;
    ps.subscribe("__keyspace@0__:foo").await?;
    let _: () = c.set("foo", "bar").await?;
    let mut stream = ps.on_message();
    let msg = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await?
        .expect("message");
    assert_eq!(msg.get_channel_name(), "__keyspace@0__:foo");
    assert_eq!(msg.get_payload::<String>()?, "set");
    Ok(())
}

#[tokio::test]
async fn publish_reaches_channel_and_pattern_subscribers() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let client = redis::Client::open(srv.url())?;
    let mut a = client.get_async_pubsub().await?;
    a.subscribe("news.tech").await?;
    let mut b = client.get_async_pubsub().await?;
    b.psubscribe("news.*").await?;
    let n: i64 = c.publish("news.tech", "hello").await?;
    assert_eq!(n, 2);
    let m = tokio::time::timeout(Duration::from_secs(5), a.on_message().next())
        .await?
        .expect("msg");
    assert_eq!(m.get_payload::<String>()?, "hello");
    let m = tokio::time::timeout(Duration::from_secs(5), b.on_message().next())
        .await?
        .expect("msg");
    assert_eq!(m.get_pattern::<String>()?, "news.*");
    let chans: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query_async(&mut c)
        .await?;
    assert_eq!(chans, vec!["news.tech"]);
    let numpat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query_async(&mut c)
        .await?;
    assert_eq!(numpat, 1);
    Ok(())
}

#[tokio::test]
async fn subscribe_mode_rejects_other_commands_in_resp2() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"SUBSCRIBE ch\r\nGET k\r\nPING\r\n").await?;
    let got = c.read_until(b"$0\r\n\r\n").await?;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"),
        "{text}"
    );
    assert!(text.contains("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"), "{text}");
    assert!(text.ends_with("*2\r\n$4\r\npong\r\n$0\r\n\r\n"), "{text}");
    Ok(())
}
