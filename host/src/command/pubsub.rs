//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB, and keyspace
//! notifications published from the key-event stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::client::{ClientInfo, ClientState};
use super::error::CmdError;
use super::reply::Reply;
use super::{Args, CmdResult, CommandSpec, Ctx, Flags};
use crate::keyspace::events::{KeyEvent, NotifyFlags};
use crate::keyspace::glob;

/// Output buffer hard limit for pub/sub clients (`client-output-buffer-limit pubsub 32mb`).
pub const PUBSUB_OUTPUT_LIMIT: usize = 32 * 1024 * 1024;

/// A message pushed to a client outside request/response.
#[derive(Debug, Clone)]
pub enum PushMsg {
    /// `message <channel> <payload>`.
    Message {
        /// Channel.
        channel: Bytes,
        /// Payload.
        payload: Bytes,
    },
    /// `pmessage <pattern> <channel> <payload>`.
    PMessage {
        /// Matching pattern.
        pattern: Bytes,
        /// Channel.
        channel: Bytes,
        /// Payload.
        payload: Bytes,
    },
    /// A MONITOR line.
    Monitor(Bytes),
}

impl PushMsg {
    /// The reply to encode for this message.
    pub fn into_reply(self) -> Reply {
        match self {
            PushMsg::Message { channel, payload } => Reply::Push(vec![
                Reply::bulk("message"),
                Reply::Bulk(channel),
                Reply::Bulk(payload),
            ]),
            PushMsg::PMessage {
                pattern,
                channel,
                payload,
            } => Reply::Push(vec![
                Reply::bulk("pmessage"),
                Reply::Bulk(pattern),
                Reply::Bulk(channel),
                Reply::Bulk(payload),
            ]),
            PushMsg::Monitor(line) => {
                Reply::Simple(String::from_utf8_lossy(&line).into_owned().into())
            }
        }
    }

    fn size(&self) -> usize {
        match self {
            PushMsg::Message { channel, payload } => channel.len() + payload.len() + 32,
            PushMsg::PMessage {
                pattern,
                channel,
                payload,
            } => pattern.len() + channel.len() + payload.len() + 40,
            PushMsg::Monitor(l) => l.len() + 3,
        }
    }
}

/// Sends `msg` to a client, disconnecting it if its unsent output passes the pub/sub limit.
pub fn deliver(info: &ClientInfo, msg: PushMsg) {
    let size = msg.size();
    let pending = info.pending_out.fetch_add(size, Ordering::Relaxed) + size;
    if pending > PUBSUB_OUTPUT_LIMIT {
        tracing::warn!(
            client = info.id,
            pending,
            "pubsub output limit reached, closing client"
        );
        info.kill();
        return;
    }
    if info.push_tx.send(msg).is_err() {
        info.pending_out.fetch_sub(size, Ordering::Relaxed);
    }
}

/// Called by the connection after writing a pushed message.
pub fn delivered(info: &ClientInfo, msg: &PushMsg) {
    info.pending_out.fetch_sub(msg.size(), Ordering::Relaxed);
}

/// The subscription registry: channel and pattern → subscribed clients.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: HashMap<Bytes, Vec<Arc<ClientInfo>>>,
    patterns: HashMap<Bytes, Vec<Arc<ClientInfo>>>,
}

impl PubSub {
    /// Delivers `payload` on `channel`; returns the number of clients that received it.
    pub fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let mut n = 0;
        let channel_b = Bytes::copy_from_slice(channel);
        let payload_b = Bytes::copy_from_slice(payload);
        if let Some(subs) = self.channels.get(channel) {
            for c in subs {
                deliver(
                    c,
                    PushMsg::Message {
                        channel: channel_b.clone(),
                        payload: payload_b.clone(),
                    },
                );
                n += 1;
            }
        }
        for (pattern, subs) in &self.patterns {
            if glob::matches(pattern, channel) {
                for c in subs {
                    deliver(
                        c,
                        PushMsg::PMessage {
                            pattern: pattern.clone(),
                            channel: channel_b.clone(),
                            payload: payload_b.clone(),
                        },
                    );
                    n += 1;
                }
            }
        }
        n
    }

    /// Whether anyone is subscribed to anything (notifications skip formatting otherwise).
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty()
    }

    fn add(map: &mut HashMap<Bytes, Vec<Arc<ClientInfo>>>, name: &Bytes, info: &Arc<ClientInfo>) {
        let subs = map.entry(name.clone()).or_default();
        if !subs.iter().any(|c| c.id == info.id) {
            subs.push(info.clone());
        }
    }

    fn remove(map: &mut HashMap<Bytes, Vec<Arc<ClientInfo>>>, name: &[u8], id: u64) {
        if let Some(subs) = map.get_mut(name) {
            subs.retain(|c| c.id != id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Removes every subscription of a client (on disconnect or RESET).
    pub fn remove_client(&mut self, client: &mut ClientState) {
        for ch in client.channels.drain() {
            Self::remove(&mut self.channels, &ch, client.id);
        }
        for p in client.patterns.drain() {
            Self::remove(&mut self.patterns, &p, client.id);
        }
        if let Some(info) = &client.info {
            info.sub.store(0, Ordering::Relaxed);
            info.psub.store(0, Ordering::Relaxed);
        }
    }

    /// Active channels matching an optional pattern (PUBSUB CHANNELS).
    pub fn channel_names(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob::matches(p, c)))
            .cloned()
            .collect()
    }

    /// Subscriber count of a channel (PUBSUB NUMSUB).
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }

    /// Number of distinct patterns (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

/// Publishes keyspace notifications for drained key events, as `notify-keyspace-events` asks.
pub fn notify_key_events<'a>(
    pubsub: &PubSub,
    flags: NotifyFlags,
    events: impl Iterator<Item = &'a KeyEvent>,
) {
    if pubsub.is_empty() {
        return;
    }
    for ev in events {
        if !flags.intersects(ev.class) {
            continue;
        }
        if flags.contains(NotifyFlags::KEYSPACE) {
            let mut ch = format!("__keyspace@{}__:", ev.db).into_bytes();
            ch.extend_from_slice(&ev.key);
            pubsub.publish(&ch, ev.name.as_bytes());
        }
        if flags.contains(NotifyFlags::KEYEVENT) {
            let ch = format!("__keyevent@{}__:{}", ev.db, ev.name);
            pubsub.publish(ch.as_bytes(), &ev.key);
        }
    }
}

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "subscribe",
        -2,
        Flags::PUBSUB
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        subscribe,
    )
    .group("pubsub"),
    CommandSpec::new(
        "psubscribe",
        -2,
        Flags::PUBSUB
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        psubscribe,
    )
    .group("pubsub"),
    CommandSpec::new(
        "unsubscribe",
        -1,
        Flags::PUBSUB
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        unsubscribe,
    )
    .group("pubsub"),
    CommandSpec::new(
        "punsubscribe",
        -1,
        Flags::PUBSUB
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        punsubscribe,
    )
    .group("pubsub"),
    CommandSpec::new(
        "publish",
        3,
        Flags::PUBSUB
            .union(Flags::LOADING)
            .union(Flags::STALE)
            .union(Flags::FAST)
            .union(Flags::MAY_REPLICATE),
        publish,
    )
    .group("pubsub"),
    CommandSpec::container("pubsub", -2, Flags::empty(), PUBSUB_SUBCOMMANDS).group("pubsub"),
];

const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "channels",
        -2,
        Flags::PUBSUB.union(Flags::LOADING).union(Flags::STALE),
        pubsub_channels,
    )
    .group("pubsub"),
    CommandSpec::new(
        "numsub",
        -2,
        Flags::PUBSUB.union(Flags::LOADING).union(Flags::STALE),
        pubsub_numsub,
    )
    .group("pubsub"),
    CommandSpec::new(
        "numpat",
        2,
        Flags::PUBSUB.union(Flags::LOADING).union(Flags::STALE),
        pubsub_numpat,
    )
    .group("pubsub"),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), pubsub_help).group("pubsub"),
];

fn client_info(ctx: &Ctx<'_>) -> Result<Arc<ClientInfo>, CmdError> {
    ctx.client.info.clone().ok_or(CmdError::msg(
        "ERR This command is not allowed from functions",
    ))
}

fn sync_counts(client: &ClientState) {
    if let Some(info) = &client.info {
        info.sub.store(client.channels.len(), Ordering::Relaxed);
        info.psub.store(client.patterns.len(), Ordering::Relaxed);
    }
}

fn confirmation(kind: &'static str, name: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk(kind),
        name.map_or(Reply::Null, Reply::Bulk),
        Reply::from(count),
    ])
}

/// `SUBSCRIBE channel [channel ...]`: one confirmation per channel with the subscription count.
fn subscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Functions and scripts run as fake clients, which Redis calls DENY BLOCKING.
    let info = client_info(ctx)
        .map_err(|_| CmdError::msg("ERR SUBSCRIBE isn't allowed for a DENY BLOCKING client"))?;
    let mut out = Vec::new();
    for ch in args.rest() {
        let ch = Bytes::copy_from_slice(ch);
        if ctx.client.channels.insert(ch.clone()) {
            PubSub::add(&mut ctx.store.pubsub.channels, &ch, &info);
        }
        out.push(confirmation(
            "subscribe",
            Some(ch),
            ctx.client.subscription_count(),
        ));
    }
    sync_counts(ctx.client);
    Ok(Reply::Many(out))
}

/// `PSUBSCRIBE pattern [pattern ...]`.
fn psubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Functions and scripts run as fake clients, which Redis calls DENY BLOCKING.
    let info = client_info(ctx)
        .map_err(|_| CmdError::msg("ERR PSUBSCRIBE isn't allowed for a DENY BLOCKING client"))?;
    let mut out = Vec::new();
    for p in args.rest() {
        let p = Bytes::copy_from_slice(p);
        if ctx.client.patterns.insert(p.clone()) {
            PubSub::add(&mut ctx.store.pubsub.patterns, &p, &info);
        }
        out.push(confirmation(
            "psubscribe",
            Some(p),
            ctx.client.subscription_count(),
        ));
    }
    sync_counts(ctx.client);
    Ok(Reply::Many(out))
}

/// `UNSUBSCRIBE [channel ...]`: without channels, from all of them.
fn unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    leave(ctx, args, false)
}

/// `PUNSUBSCRIBE [pattern ...]`: without patterns, from all of them.
fn punsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    leave(ctx, args, true)
}

/// UNSUBSCRIBE (`patterns` false) and PUNSUBSCRIBE: one confirmation per name left.
fn leave(ctx: &mut Ctx<'_>, args: Args<'_>, patterns: bool) -> CmdResult {
    let kind = if patterns {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Bytes> = if args.is_empty() {
        let mine = if patterns {
            &ctx.client.patterns
        } else {
            &ctx.client.channels
        };
        mine.iter().cloned().collect()
    } else {
        args.rest()
            .iter()
            .map(|c| Bytes::copy_from_slice(c))
            .collect()
    };
    if names.is_empty() {
        return Ok(confirmation(kind, None, ctx.client.subscription_count()));
    }
    let mut out = Vec::new();
    for name in names {
        let (mine, registry) = if patterns {
            (&mut ctx.client.patterns, &mut ctx.store.pubsub.patterns)
        } else {
            (&mut ctx.client.channels, &mut ctx.store.pubsub.channels)
        };
        if mine.remove(&name) {
            PubSub::remove(registry, &name, ctx.client.id);
        }
        out.push(confirmation(
            kind,
            Some(name),
            ctx.client.subscription_count(),
        ));
    }
    sync_counts(ctx.client);
    Ok(Reply::Many(out))
}

/// `PUBLISH channel message`: the number of clients that received it.
fn publish(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let ch = args.next_bytes()?;
    let msg = args.next_bytes()?;
    Ok(Reply::from(ctx.store.pubsub.publish(ch, msg)))
}

/// `PUBSUB CHANNELS [pattern]`.
fn pubsub_channels(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let pattern = args.next_opt();
    if !args.is_empty() {
        return Err(CmdError::Arity("pubsub|channels".into()));
    }
    Ok(Reply::Array(
        ctx.store
            .pubsub
            .channel_names(pattern)
            .into_iter()
            .map(Reply::Bulk)
            .collect(),
    ))
}

/// `PUBSUB NUMSUB [channel ...]`: channel, count pairs.
fn pubsub_numsub(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mut out = Vec::new();
    for ch in args.rest() {
        out.push((Reply::bulk(ch), Reply::from(ctx.store.pubsub.numsub(ch))));
    }
    Ok(Reply::Map(out))
}

/// `PUBSUB NUMPAT`.
fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::from(ctx.store.pubsub.numpat()))
}

/// `PUBSUB HELP`.
fn pubsub_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
        ],
    ))
}
