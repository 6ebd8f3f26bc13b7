//! Test harness: start gears-host in-process on port 0 ([`TestServer::start`]) or as the real
//! binary ([`TestServer::spawn`]), and connect real clients to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gears_host::{Config, Server};

/// A running server for one test.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    child: Option<Child>,
}

impl TestServer {
    /// Starts gears-host in-process on a free port, on the current tokio runtime.
    ///
    /// # Errors
    /// If binding fails.
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(&[]).await
    }

    /// Starts in-process with extra config keys.
    ///
    /// # Errors
    /// If a key is invalid or binding fails.
    pub async fn start_with(settings: &[(&str, &str)]) -> anyhow::Result<TestServer> {
        let mut config = Config::default();
        let mut pairs = vec![("port", "0"), ("bind", "127.0.0.1")];
        pairs.extend_from_slice(settings);
        config
            .set_many(&pairs, true)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let server = Server::bind(config).await?;
        let addr = server.local_addr().context("no local address")?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Ok(TestServer {
            addr,
            stop: Some(tx),
            child: None,
        })
    }

    /// Spawns the real `gears-host` binary named by `GEARS_HOST_BIN` on a free port.
    ///
    /// # Errors
    /// If `GEARS_HOST_BIN` is unset (the test script sets it), or the server does not start.
    pub fn spawn(extra_args: &[&str]) -> anyhow::Result<TestServer> {
        let bin = std::env::var_os("GEARS_HOST_BIN")
            .map(PathBuf::from)
            .context("GEARS_HOST_BIN is not set: build gears-host and point it at the binary (scripts/test.sh does)")?;
        let port = free_port()?;
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                bail!("gears-host did not start listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(TestServer {
            addr,
            stop: None,
            child: Some(child),
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `redis://` URL of the server.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A multiplexed async connection from the `redis` crate.
    ///
    /// # Errors
    /// If connecting fails.
    pub async fn client(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let c = redis::Client::open(self.url())?;
        Ok(
            c.get_multiplexed_async_connection_with_config(&client_config())
                .await?,
        )
    }

    /// A dedicated (non-multiplexed) async connection, for blocking commands and pub/sub.
    ///
    /// # Errors
    /// If connecting fails.
    pub async fn dedicated(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        self.client().await
    }

    /// The child process of a spawned server.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free TCP port on 127.0.0.1.
///
/// # Errors
/// If no port can be bound.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The test clients' settings: the redis crate's default 500 ms response timeout would fail
/// slow-but-correct replies on a loaded CI machine, so replies may take up to 60 s.
fn client_config() -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(60)))
}

/// Polls `check` until it returns true or `timeout` passes.
///
/// # Errors
/// If the condition never held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A raw TCP connection speaking bytes, for protocol-level tests.
pub struct RawConn {
    stream: tokio::net::TcpStream,
}

impl RawConn {
    /// Connects to `addr`.
    ///
    /// # Errors
    /// If connecting fails.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<RawConn> {
        Ok(RawConn {
            stream: tokio::net::TcpStream::connect(addr).await?,
        })
    }

    /// Sends raw bytes.
    ///
    /// # Errors
    /// On I/O errors.
    pub async fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads until at least `n` bytes arrived or the peer closed; returns what was read.
    ///
    /// # Errors
    /// On I/O errors or a 5 s timeout.
    pub async fn read_at_least(&mut self, n: usize) -> anyhow::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while out.len() < n {
            let r = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
                .await
                .context("timed out reading")??;
            if r == 0 {
                break;
            }
            out.extend_from_slice(&buf[..r]);
        }
        Ok(out)
    }

    /// Reads until the data read so far ends with `suffix`; returns all of it.
    ///
    /// # Errors
    /// On I/O errors, EOF before the suffix, or a 5 s timeout.
    pub async fn read_until(&mut self, suffix: &[u8]) -> anyhow::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while !out.ends_with(suffix) {
            let r = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
                .await
                .context("timed out reading")??;
            if r == 0 {
                bail!(
                    "connection closed before {:?}",
                    String::from_utf8_lossy(suffix)
                );
            }
            out.extend_from_slice(&buf[..r]);
        }
        Ok(out)
    }

    /// Whether the server closed the connection (reads EOF within 5 s).
    ///
    /// # Errors
    /// On a timeout.
    pub async fn is_closed(&mut self) -> anyhow::Result<bool> {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1024];
        loop {
            let r = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
                .await
                .context("timed out waiting for close")?;
            match r {
                Ok(0) | Err(_) => return Ok(true),
                Ok(_) => continue,
            }
        }
    }
}

/// A real `redis-server` on a free port, for side-by-side comparisons of subtle behaviour.
pub struct RealRedis {
    child: Child,
    port: u16,
}

impl RealRedis {
    /// Starts `redis-server` (no persistence) on a free port.
    ///
    /// # Errors
    /// If `redis-server` is not installed (`.ci/run` installs it) or does not start.
    pub fn start() -> anyhow::Result<RealRedis> {
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "redis-server is required for comparison tests (apt-get install redis-server)",
            )?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("redis-server did not start on port {port}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(RealRedis { child, port })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection to it.
    ///
    /// # Errors
    /// If connecting fails.
    pub async fn client(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        Ok(
            c.get_multiplexed_async_connection_with_config(&client_config())
                .await?,
        )
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one command and renders its reply (value or error) as text for comparison.
pub async fn reply_text(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query_async::<redis::Value>(conn).await {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!(
            "ERR {}",
            e.detail().map_or_else(|| e.to_string(), str::to_string)
        ),
    }
}

/// Runs each command on gears-host (`ours`) and on real Redis (`theirs`) in order and fails
/// at the first reply that differs.
///
/// # Errors
/// On the first difference, naming the command and both replies.
pub async fn assert_same_replies(
    ours: &mut redis::aio::MultiplexedConnection,
    theirs: &mut redis::aio::MultiplexedConnection,
    cmds: &[&[&str]],
) -> anyhow::Result<()> {
    for c in cmds {
        let a = reply_text(ours, c).await;
        let b = reply_text(theirs, c).await;
        if a != b {
            bail!("{c:?}: gears-host replied {a}, redis-server replied {b}");
        }
    }
    Ok(())
}
