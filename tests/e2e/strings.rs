//! String commands against the in-process server, with the `redis` crate.

use gears_tests::TestServer;
use redis::AsyncCommands;

#[tokio::test]
async fn set_get_roundtrip() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let _: () = c.set("k", "v").await?;
    let v: String = c.get("k").await?;
    assert_eq!(v, "v");
    Ok(())
}
