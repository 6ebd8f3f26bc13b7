//! MULTI/EXEC/DISCARD/WATCH.

use gears_tests::{RawConn, TestServer};
use redis::AsyncCommands;

#[tokio::test]
async fn exec_runs_queued_commands_atomically() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"MULTI\r\nSET a 1\r\nINCR a\r\nGET a\r\nEXEC\r\n")
        .await?;
    let got = c.read_until(b"$1\r\n2\r\n").await?;
    assert_eq!(
        got,
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn queueing_error_aborts_exec() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"MULTI\r\nSET a 1\r\nNOSUCHCMD\r\nGET\r\nEXEC\r\nGET a\r\n")
        .await?;
    let got = c.read_until(b"$-1\r\n").await?;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("-EXECABORT Transaction discarded because of previous errors.\r\n"),
        "{text}"
    );
    assert!(text.ends_with("$-1\r\n"), "nothing ran: {text}");
    Ok(())
}

#[tokio::test]
async fn runtime_errors_do_not_stop_exec() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"SET s text\r\nMULTI\r\nINCR s\r\nSET t 1\r\nEXEC\r\n")
        .await?;
    let got = c.read_until(b"+OK\r\n").await?;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.ends_with("*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn watch_detects_change_and_expiry() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut other = srv.client().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"WATCH w\r\n").await?;
    c.read_until(b"+OK\r\n").await?;
    let _: () = other.set("w", "x").await?;
    c.send(b"MULTI\r\nSET w mine\r\nEXEC\r\n").await?;
    assert_eq!(
        c.read_until(b"*-1\r\n").await?,
        b"+OK\r\n+QUEUED\r\n*-1\r\n"
    );
    // After EXEC the watch is gone: the same transaction now succeeds.
    c.send(b"MULTI\r\nSET w mine\r\nEXEC\r\n").await?;
    assert_eq!(
        c.read_until(b"*1\r\n+OK\r\n").await?,
        b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    );
    // A watched key that expires before EXEC fails the transaction.
    c.send(b"SET v 1 PX 20\r\nWATCH v\r\n").await?;
    c.read_until(b"+OK\r\n+OK\r\n").await?;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    c.send(b"MULTI\r\nPING\r\nEXEC\r\n").await?;
    assert_eq!(
        c.read_until(b"*-1\r\n").await?,
        b"+OK\r\n+QUEUED\r\n*-1\r\n"
    );
    Ok(())
}

#[tokio::test]
async fn tx_misuse_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nWATCH x\r\nDISCARD\r\n")
        .await?;
    let got = c.read_until(b"+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n").await?;
    assert!(got.starts_with(b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n"));
    Ok(())
}
