//! The network server: listener, per-connection tasks, the periodic cron, graceful shutdown.
//!
//! Owns the tokio side only; everything about commands lives in [`crate::command`].
//! May import `command` and `config`.

pub mod codec;
mod connection;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tracing::Instrument;

use crate::command::now_ms;
use crate::command::{self, ClientInfo, Shared};
use crate::config::Config;

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding the listening socket failed.
    #[error("could not bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Server {
    /// Binds `bind:port` from `config` (port 0 picks a free port).
    ///
    /// # Errors
    /// [`ServerError::Bind`] if the address cannot be bound.
    pub async fn bind(config: Config) -> Result<Server, ServerError> {
        let host = config
            .get("bind")
            .unwrap_or("127.0.0.1")
            .split_whitespace()
            .next()
            .unwrap_or("127.0.0.1")
            .to_string();
        let port = config.get_i64("port");
        let addr = format!("{host}:{port}");
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let shared = Shared::new(config);
        if let Ok(a) = listener.local_addr() {
            shared.port.store(u64::from(a.port()), Ordering::Relaxed);
        }
        Ok(Server { listener, shared })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// State shared with connections (for in-process tests and embedding).
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serves until `shutdown` completes or a client sends SHUTDOWN.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Server { listener, shared } = self;
        let mut stop = shared.shutdown.subscribe();
        let cron = tokio::spawn(cron(shared.clone()));
        tokio::pin!(shutdown);
        tracing::info!(addr = ?listener.local_addr().ok(), "ready to accept connections");
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, peer)) => accept(&shared, socket, peer),
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                _ = &mut shutdown => break,
                _ = stop.changed() => break,
            }
        }
        tracing::info!("shutting down");
        let _ = shared.shutdown.send(true);
        cron.abort();
        // Give connections a moment to write their last replies and leave.
        let deadline = Instant::now() + Duration::from_secs(2);
        while shared.clients.connected.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn accept(shared: &Arc<Shared>, socket: tokio::net::TcpStream, peer: SocketAddr) {
    shared
        .conn_stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let maxclients = shared.store.lock().config.get_i64("maxclients");
    if shared.clients.connected.load(Ordering::Relaxed) as i64 >= maxclients {
        shared
            .conn_stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut socket = socket;
            let _ = socket
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
        });
        return;
    }
    let _ = socket.set_nodelay(true);
    let laddr = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (push_tx, push_rx) = mpsc::unbounded_channel();
    let info = Arc::new(ClientInfo {
        id: shared.clients.next_id(),
        addr: peer.to_string(),
        laddr,
        created: Instant::now(),
        name: Mutex::new(None),
        lib: Mutex::new((String::new(), String::new())),
        db: AtomicUsize::new(0),
        last_interaction: AtomicI64::new(now_ms()),
        last_cmd: Mutex::new("NULL"),
        sub: AtomicUsize::new(0),
        psub: AtomicUsize::new(0),
        multi: AtomicI64::new(-1),
        resp: AtomicUsize::new(2),
        flags: Mutex::new("N"),
        pending_out: AtomicUsize::new(0),
        killed: AtomicBool::new(false),
        kill_notify: Notify::new(),
        push_tx,
        commands: AtomicU64::new(0),
    });
    shared.clients.add(info.clone());
    let shared = shared.clone();
    let span = tracing::info_span!("conn", id = info.id, peer = %peer);
    tokio::spawn(connection::serve(socket, shared, info, push_rx).instrument(span));
}

/// Periodic work, `hz` times a second: active expiry, then serving clients its deletions woke.
async fn cron(shared: Arc<Shared>) {
    loop {
        let hz = shared.store.lock().config.get_i64("hz").clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let mut store = shared.store.lock();
        store.begin_batch();
        // Redis's slow cycle takes at most 25% of a cron period.
        let budget = Duration::from_micros(250_000 / hz);
        store.ks.active_expire_cycle(budget);
        command::after_command(&mut store, &shared);
    }
}
