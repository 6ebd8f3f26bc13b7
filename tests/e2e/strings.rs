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

#[tokio::test]
async fn string_edge_cases_match_real_redis() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let real = gears_tests::RealRedis::start()?;
    let mut ours = srv.client().await?;
    let mut theirs = real.client().await?;
    gears_tests::assert_same_replies(
        &mut ours,
        &mut theirs,
        &[
            &["SET", "k", "v", "NX", "XX"],
            &["SET", "k", "v", "EX", "0"],
            &["SET", "k", "v", "EX", "10", "PX", "10"],
            &["SET", "k", "10"],
            &["INCRBY", "k", "9223372036854775807"],
            &["INCRBYFLOAT", "k", "1.5"],
            &["GETRANGE", "k", "-1", "-5"],
            &["SETRANGE", "k", "-1", "x"],
            &["APPEND", "k", "abc"],
            &["GETEX", "k", "PERSIST", "EX", "1"],
            &["MSET", "a", "1", "b"],
            &["LCS", "a", "k", "LEN", "IDX"],
            &["DECRBY", "k", "-9223372036854775808"],
        ],
    )
    .await
}
