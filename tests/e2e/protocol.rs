//! The wire protocol: RESP2/RESP3, inline commands, pipelining, and hostile input.

use std::time::{Duration, Instant};

use gears_tests::{RawConn, TestServer};
use redis::AsyncCommands;

#[tokio::test]
async fn ping_inline_and_multibulk() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"PING\r\n*1\r\n$4\r\nPING\r\n").await?;
    assert_eq!(c.read_at_least(14).await?, b"+PONG\r\n+PONG\r\n");
    Ok(())
}

#[tokio::test]
async fn inline_command_with_quotes_sets_binary_value() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"SET k \"a b\\x00\\n\"\r\nSTRLEN k\r\n").await?;
    assert_eq!(c.read_at_least(9).await?, b"+OK\r\n:5\r\n");
    Ok(())
}

#[tokio::test]
async fn malformed_request_gets_protocol_error_then_close() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut bad = RawConn::connect(srv.addr()).await?;
    bad.send(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n").await?;
    let got = bad.read_at_least(1).await?;
    assert_eq!(got, b"-ERR Protocol error: expected '$', got 'f'\r\n");
    assert!(bad.is_closed().await?);
    let mut c = srv.client().await?;
    let pong: String = redis::cmd("PING").query_async(&mut c).await?;
    assert_eq!(pong, "PONG");
    Ok(())
}

#[tokio::test]
async fn one_gigabyte_bulk_length_is_refused_at_once() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut bad = RawConn::connect(srv.addr()).await?;
    bad.send(b"*2\r\n$3\r\nGET\r\n$1073741824\r\n").await?;
    let got = bad.read_at_least(1).await?;
    assert_eq!(got, b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(bad.is_closed().await?);
    Ok(())
}

#[tokio::test]
async fn huge_multibulk_count_is_refused() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut bad = RawConn::connect(srv.addr()).await?;
    bad.send(b"*3000000000\r\n").await?;
    assert_eq!(
        bad.read_at_least(1).await?,
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn half_sent_frames_are_completed_later() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    let frame = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    for chunk in frame.chunks(3) {
        c.send(chunk).await?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(c.read_at_least(16).await?, b"+OK\r\n$5\r\nvalue\r\n");
    Ok(())
}

#[tokio::test]
async fn ten_thousand_pipelined_commands_answer_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    let mut req = Vec::new();
    for _ in 0..10_000 {
        req.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
    }
    c.send(&req).await?;
    let mut expected = Vec::new();
    for i in 1..=10_000 {
        expected.extend_from_slice(format!(":{i}\r\n").as_bytes());
    }
    let got = c.read_at_least(expected.len()).await?;
    assert_eq!(got, expected);
    Ok(())
}

#[tokio::test]
async fn large_value_roundtrips() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let value = vec![b'x'; 32 * 1024 * 1024];
    let _: () = c.set("big", value.as_slice()).await?;
    let back: Vec<u8> = c.get("big").await?;
    assert_eq!(back.len(), value.len());
    assert!(back == value);
    Ok(())
}

#[tokio::test]
async fn client_that_never_reads_does_not_stall_others() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("blob", vec![b'y'; 1024 * 1024]).await?;
    // A client pipelines 2000 GETs of 1 MB and never reads a byte of the replies.
    let mut greedy = RawConn::connect(srv.addr()).await?;
    let mut req = Vec::new();
    for _ in 0..2000 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$4\r\nblob\r\n");
    }
    let send = tokio::spawn(async move {
        // The send itself stalls once the server stops reading; that is the point.
        let _ = tokio::time::timeout(Duration::from_secs(2), greedy.send(&req)).await;
        greedy
    });
    let start = Instant::now();
    for _ in 0..200 {
        let pong: String = redis::cmd("PING").query_async(&mut c).await?;
        assert_eq!(pong, "PONG");
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "PINGs were stalled"
    );
    let _greedy = send.await?;
    Ok(())
}

#[tokio::test]
async fn resp3_hello_switches_reply_types() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"HELLO 3\r\nPING\r\n").await?;
    let hello = c.read_until(b"+PONG\r\n").await?;
    assert!(
        hello.starts_with(b"%7\r\n"),
        "{}",
        String::from_utf8_lossy(&hello)
    );
    c.send(b"CONFIG GET hz\r\nGET missing\r\n").await?;
    assert_eq!(
        c.read_at_least(23).await?,
        b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n_\r\n"
    );
    c.send(b"HELLO 4\r\n").await?;
    assert_eq!(
        c.read_at_least(1).await?,
        b"-NOPROTO unsupported protocol version\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_command_error_quotes_arguments() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"FOO bar baz\r\nGET\r\n").await?;
    assert_eq!(
        c.read_at_least(1).await?,
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n-ERR wrong number of arguments for 'get' command\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn quit_replies_ok_and_closes() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"QUIT\r\n").await?;
    assert_eq!(c.read_at_least(5).await?, b"+OK\r\n");
    assert!(c.is_closed().await?);
    Ok(())
}

#[tokio::test]
async fn binary_serves_and_shuts_down_on_command() -> anyhow::Result<()> {
    let mut srv = TestServer::spawn(&["--loglevel", "warning"])?;
    let mut c = srv.client().await?;
    let _: () = c.set("k", "v").await?;
    let v: String = c.get("k").await?;
    assert_eq!(v, "v");
    let _ = redis::cmd("SHUTDOWN")
        .query_async::<redis::Value>(&mut c)
        .await;
    let child = srv.child_mut().expect("spawned server has a child");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SHUTDOWN"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn binary_exits_cleanly_on_sigterm() -> anyhow::Result<()> {
    let mut srv = TestServer::spawn(&["--loglevel", "warning"])?;
    let child = srv.child_mut().expect("spawned server has a child");
    let pid = child.id();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
