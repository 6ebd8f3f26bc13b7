//! The `gears-host` binary: flags and config file → tracing → [`gears_host::Server::run`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use gears_host::{Config, Server};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc malloc: the keyspace makes many small allocations of mixed sizes,
/// where glibc's bin consolidation showed up at ~10% of XADD's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Redis-compatible server with the RedisGears 1.x programmability API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Port to listen on (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind.
    #[arg(long)]
    bind: Option<String>,
    /// A redis.conf-style file with the keys gears-host supports.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log level in Redis's words: debug, verbose, notice, warning.
    #[arg(long)]
    loglevel: Option<String>,
    /// A RedisGears configuration key and value applied at start (as module arguments are in
    /// RedisGears), e.g. `--gears ExecutionThreads 4`. Repeatable.
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], action = clap::ArgAction::Append)]
    gears: Vec<String>,
}

/// Maps Redis's log levels onto tracing's.
fn tracing_level(redis_level: &str) -> anyhow::Result<&'static str> {
    Ok(match redis_level {
        "debug" => "trace",
        "verbose" => "debug",
        "notice" => "info",
        "warning" => "warn",
        "nothing" => "off",
        other => anyhow::bail!("invalid loglevel '{other}' (debug, verbose, notice, warning)"),
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::default();
    if let Some(path) = &cli.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        config
            .load_file_text(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let mut overrides: Vec<(&str, String)> = Vec::new();
    if let Some(p) = cli.port {
        overrides.push(("port", p.to_string()));
    }
    if let Some(b) = &cli.bind {
        overrides.push(("bind", b.clone()));
    }
    if let Some(l) = &cli.loglevel {
        overrides.push(("loglevel", l.clone()));
    }
    let pairs: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config
        .set_many(&pairs, true)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    for kv in cli.gears.chunks_exact(2) {
        config.gears.push((kv[0].clone(), kv[1].clone()));
    }
    gears_host::config::GearsConfig::with_startup(&config.gears)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let level = tracing_level(config.get("loglevel").unwrap_or("notice"))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();

    // `io-threads 1` (the default, as in Redis) serves every connection from one thread, which
    // also keeps the order in which commands from different clients arrive; more threads use a
    // work-stealing pool.
    let io_threads = usize::try_from(config.get_i64("io-threads"))
        .unwrap_or(1)
        .max(1);
    let runtime = if io_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(io_threads)
            .enable_all()
            .build()
    }
    .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        // The handlers are installed before the socket listens: a client that sees the port
        // open may signal the server at once, and the signal must then shut it down cleanly.
        let shutdown = shutdown_signal()?;
        let server = Server::bind(config).await?;
        server.run(shutdown).await;
        anyhow::Ok(())
    })
}

/// A future completing on SIGINT or SIGTERM; the handlers are installed when this returns.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
