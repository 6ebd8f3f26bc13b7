//! One client connection: read requests, dispatch them under the keyspace lock, write replies.
//!
//! Pipelining: every complete request in the read buffer is dispatched under one acquisition of
//! the keyspace lock, and their replies go out in one write. A blocking command ends the batch;
//! the connection then waits for its value (or timeout) outside the lock while still watching
//! the socket, so a client that disconnects while blocked is cleaned up. Pub/sub messages arrive
//! on a channel and are written between batches.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::codec::{self, Decoder, ProtocolError, Request};
use crate::command::client::ReplyMode;
use crate::command::{
    self, Blocked, ClientInfo, ClientState, Ctx, Pending, PushMsg, Reply, Shared,
};

/// Flush the write buffer mid-batch once it holds this much.
const MAX_BATCH_OUTPUT: usize = 1024 * 1024;
/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;

/// What a batch ended with.
enum BatchEnd {
    /// Everything complete in the buffer was processed.
    Drained,
    /// Output is large: write it, then continue.
    Flush,
    /// A command blocked.
    Blocked(Pending),
    /// Close after writing (QUIT, protocol error, killed).
    Close,
}

/// Serves one client until it disconnects, is killed, or the server shuts down.
pub async fn serve(
    mut socket: TcpStream,
    shared: Arc<Shared>,
    info: Arc<ClientInfo>,
    mut push_rx: mpsc::UnboundedReceiver<PushMsg>,
) {
    let mut client = ClientState::new(info.clone());
    client.authenticated = !shared.limits.requires_auth.load(Ordering::Relaxed);
    let mut conn = Conn {
        rbuf: BytesMut::with_capacity(READ_CHUNK),
        wbuf: BytesMut::with_capacity(READ_CHUNK),
        decoder: Decoder::default(),
    };
    let mut shutdown = shared.shutdown.subscribe();
    let result: std::io::Result<()> = async {
        loop {
            let end = conn.run_batch(&shared, &mut client);
            if matches!(end, BatchEnd::Drained) && !conn.wbuf.is_empty() {
                // Write after the other ready connections ran their batches, as Redis writes
                // replies before going back to sleep: the replies leave in a burst, so a client
                // woken by the first is still awake for the next (waking a sleeping client on
                // every write costs more than the writes).
                tokio::task::yield_now().await;
            }
            conn.flush(&mut socket, &shared).await?;
            match end {
                BatchEnd::Close => return Ok(()),
                BatchEnd::Flush => continue,
                BatchEnd::Blocked(pending) => {
                    if !conn
                        .wait_blocked(&mut socket, &shared, &mut client, pending)
                        .await?
                    {
                        return Ok(());
                    }
                    conn.flush(&mut socket, &shared).await?;
                    continue;
                }
                BatchEnd::Drained => {}
            }
            if info.is_killed() || *shutdown.borrow() {
                return Ok(());
            }
            let idle = shared.limits.idle_timeout.load(Ordering::Relaxed);
            let idle_sleep = async {
                if idle == 0 || client.subscription_count() > 0 {
                    std::future::pending::<()>().await;
                } else {
                    tokio::time::sleep(Duration::from_secs(idle)).await;
                }
            };
            conn.rbuf.reserve(READ_CHUNK);
            tokio::select! {
                n = socket.read_buf(&mut conn.rbuf) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(());
                    }
                    shared.conn_stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    let limit = shared.limits.client_query_buffer_limit.load(Ordering::Relaxed);
                    if conn.rbuf.len() as u64 > limit {
                        tracing::warn!(client = info.id, len = conn.rbuf.len(), "closing client that reached max query buffer length");
                        return Ok(());
                    }
                }
                msg = push_rx.recv() => {
                    let Some(msg) = msg else { return Ok(()) };
                    conn.write_push(&info, &client, msg);
                    while let Ok(msg) = push_rx.try_recv() {
                        conn.write_push(&info, &client, msg);
                        if conn.wbuf.len() > MAX_BATCH_OUTPUT {
                            break;
                        }
                    }
                }
                _ = info.kill_notify.notified() => return Ok(()),
                _ = shutdown.changed() => return Ok(()),
                _ = idle_sleep => {
                    tracing::debug!(client = info.id, "closing idle client");
                    return Ok(());
                }
            }
        }
    }
    .await;
    if let Err(e) = result {
        tracing::debug!(client = info.id, error = %e, "connection error");
    }
    let _ = socket.shutdown().await;
    cleanup(&shared, &mut client);
}

/// Removes a departed client from every registry.
fn cleanup(shared: &Shared, client: &mut ClientState) {
    let mut store = shared.store.lock();
    store.pubsub.remove_client(client);
    let watched = std::mem::take(&mut client.watched);
    store.ks.signals.unwatch(client.id, &watched);
    if let Some(id) = store.blocked.waiter_of(client.id) {
        Blocked::remove(&mut store, id);
    }
    store.monitors.retain(|m| m.id != client.id);
    drop(store);
    shared.clients.remove(client.id);
}

/// Encodes a reply unless CLIENT REPLY says to skip it.
fn write_reply(wbuf: &mut BytesMut, client: &mut ClientState, reply: &Reply) {
    // Push data (pub/sub confirmations and messages) is delivered even with CLIENT REPLY OFF.
    let is_push = match reply {
        Reply::Push(_) => true,
        Reply::Many(items) => items.iter().all(|r| matches!(r, Reply::Push(_))),
        _ => false,
    };
    if is_push {
        codec::encode(reply, client.protocol, wbuf);
        return;
    }
    match client.reply_mode {
        ReplyMode::On => codec::encode(reply, client.protocol, wbuf),
        ReplyMode::Off => {}
        ReplyMode::Skip => client.reply_mode = ReplyMode::SkipThis,
        ReplyMode::SkipThis => client.reply_mode = ReplyMode::On,
    }
}

struct Conn {
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: Decoder,
}

impl Conn {
    /// Dispatches every complete request in the read buffer under one lock acquisition.
    fn run_batch(&mut self, shared: &Shared, client: &mut ClientState) -> BatchEnd {
        if self.rbuf.is_empty() {
            return BatchEnd::Drained;
        }
        let Conn {
            rbuf,
            wbuf,
            decoder,
        } = self;
        let max_bulk = shared.limits.proto_max_bulk_len.load(Ordering::Relaxed);
        let mut off = 0;
        let mut end = BatchEnd::Drained;
        let mut ran = 0u64;
        let mut now_ms = 0;
        {
            let mut guard = None;
            loop {
                let (req, used) = match decoder.decode(&rbuf[off..], max_bulk) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(ProtocolError(msg)) => {
                        let e = Reply::Error(format!("ERR Protocol error: {msg}").into());
                        tracing::warn!(client = client.id, error = %msg, "protocol error");
                        codec::encode(&e, client.protocol, wbuf);
                        end = BatchEnd::Close;
                        break;
                    }
                };
                let base = off;
                off += used;
                let argv: SmallVec<[&[u8]; 8]> = match &req {
                    Request::Empty => continue,
                    Request::Ranges(r) => {
                        r.iter().map(|&(s, e)| &rbuf[base + s..base + e]).collect()
                    }
                    Request::Inline(a) => a.iter().map(Vec::as_slice).collect(),
                };
                let store = guard.get_or_insert_with(|| {
                    let mut g = shared.store.lock();
                    g.begin_batch();
                    g
                });
                let reply = {
                    let mut ctx = Ctx::new(store, client, shared);
                    command::dispatch(&mut ctx, &argv)
                };
                ran += 1;
                now_ms = store.ks.now_ms();
                match reply {
                    Reply::Wait(p) => {
                        end = BatchEnd::Blocked(p);
                        break;
                    }
                    reply => write_reply(wbuf, client, &reply),
                }
                if client.close_after_reply {
                    end = BatchEnd::Close;
                    break;
                }
                if wbuf.len() > MAX_BATCH_OUTPUT {
                    end = BatchEnd::Flush;
                    break;
                }
            }
        }
        rbuf.advance(off);
        if ran > 0 {
            shared
                .conn_stats
                .commands_processed
                .fetch_add(ran, Ordering::Relaxed);
            if let Some(info) = &client.info {
                info.last_interaction.store(now_ms, Ordering::Relaxed);
                info.db.store(client.db, Ordering::Relaxed);
                info.commands.fetch_add(ran, Ordering::Relaxed);
                *info.last_cmd.lock() = client.last_cmd;
            }
        }
        end
    }

    fn write_push(&mut self, info: &ClientInfo, client: &ClientState, msg: PushMsg) {
        command::pubsub::delivered(info, &msg);
        codec::encode(&msg.into_reply(), client.protocol, &mut self.wbuf);
    }

    async fn flush(&mut self, socket: &mut TcpStream, shared: &Shared) -> std::io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        socket.write_all(&self.wbuf).await?;
        shared
            .conn_stats
            .net_output_bytes
            .fetch_add(self.wbuf.len() as u64, Ordering::Relaxed);
        self.wbuf.clear();
        if self.wbuf.capacity() > 4 * MAX_BATCH_OUTPUT {
            self.wbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        Ok(())
    }

    /// Waits for a blocked command's value, its timeout, a kill, or the client leaving.
    /// Returns false when the connection must close.
    async fn wait_blocked(
        &mut self,
        socket: &mut TcpStream,
        shared: &Shared,
        client: &mut ClientState,
        mut pending: Pending,
    ) -> std::io::Result<bool> {
        let Some(mut rx) = pending.rx.take() else {
            return Ok(true);
        };
        let info = client.info.clone();
        let deadline = pending.deadline;
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timeout);
        let killed = async {
            match &info {
                Some(i) => i.kill_notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(killed);
        loop {
            self.rbuf.reserve(READ_CHUNK);
            tokio::select! {
                r = &mut rx => {
                    if let Ok(reply) = r {
                        write_reply(&mut self.wbuf, client, &reply);
                    }
                    return Ok(true);
                }
                _ = &mut timeout => {
                    let mut store = shared.store.lock();
                    let reply = match Blocked::remove(&mut store, pending.waiter) {
                        Some(t) => t.reply(),
                        // Served just before we took the lock: the value is in the channel.
                        None => rx.try_recv().unwrap_or(pending.on_timeout.reply()),
                    };
                    drop(store);
                    write_reply(&mut self.wbuf, client, &reply);
                    return Ok(true);
                }
                _ = &mut killed => {
                    let mut store = shared.store.lock();
                    Blocked::remove(&mut store, pending.waiter);
                    return Ok(false);
                }
                n = socket.read_buf(&mut self.rbuf) => {
                    if n? == 0 {
                        let mut store = shared.store.lock();
                        Blocked::remove(&mut store, pending.waiter);
                        return Ok(false);
                    }
                }
            }
        }
    }
}
