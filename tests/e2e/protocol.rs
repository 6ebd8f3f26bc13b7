//! The wire protocol: RESP2/RESP3, inline commands, pipelining, malformed input.

use gears_tests::{RawConn, TestServer};

#[tokio::test]
async fn ping_inline_and_multibulk() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = RawConn::connect(srv.addr()).await?;
    c.send(b"PING\r\n*1\r\n$4\r\nPING\r\n").await?;
    assert_eq!(c.read_at_least(14).await?, b"+PONG\r\n+PONG\r\n");
    Ok(())
}
