//! Key events: the one stream every write feeds.
//!
//! A write reports what it did with [`EventSink::emit`], using Redis's event names and classes
//! (`notifyKeyspaceEvent(NOTIFY_LIST, "lpush", key, db)` in Redis). The command layer drains the
//! sink after each command into keyspace notifications; the engine's registrations will read the
//! same events.

use bitflags::bitflags;
use bytes::Bytes;

bitflags! {
    /// Event classes and delivery flags of `notify-keyspace-events`, one bit per letter.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct NotifyFlags: u16 {
        /// `K`: publish on `__keyspace@<db>__:<key>`.
        const KEYSPACE = 1 << 0;
        /// `E`: publish on `__keyevent@<db>__:<event>`.
        const KEYEVENT = 1 << 1;
        /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
        const GENERIC = 1 << 2;
        /// `$`: string commands.
        const STRING = 1 << 3;
        /// `l`: list commands.
        const LIST = 1 << 4;
        /// `s`: set commands.
        const SET = 1 << 5;
        /// `h`: hash commands.
        const HASH = 1 << 6;
        /// `z`: sorted set commands.
        const ZSET = 1 << 7;
        /// `x`: expired events.
        const EXPIRED = 1 << 8;
        /// `e`: evicted events.
        const EVICTED = 1 << 9;
        /// `t`: stream commands.
        const STREAM = 1 << 10;
        /// `m`: key-miss events (not part of `A`).
        const KEY_MISS = 1 << 11;
        /// `d`: module events.
        const MODULE = 1 << 12;
        /// `n`: new-key events (not part of `A`).
        const NEW = 1 << 13;
        /// `A`: alias for `g$lshzxetd`.
        const ALL = Self::GENERIC.bits() | Self::STRING.bits() | Self::LIST.bits()
            | Self::SET.bits() | Self::HASH.bits() | Self::ZSET.bits() | Self::EXPIRED.bits()
            | Self::EVICTED.bits() | Self::STREAM.bits() | Self::MODULE.bits();
    }
}

impl NotifyFlags {
    /// Parses a `notify-keyspace-events` value; `None` on an unknown letter, as Redis rejects it.
    pub fn parse(s: &[u8]) -> Option<Self> {
        let mut flags = NotifyFlags::empty();
        for &c in s {
            flags |= match c {
                b'A' => NotifyFlags::ALL,
                b'g' => NotifyFlags::GENERIC,
                b'$' => NotifyFlags::STRING,
                b'l' => NotifyFlags::LIST,
                b's' => NotifyFlags::SET,
                b'h' => NotifyFlags::HASH,
                b'z' => NotifyFlags::ZSET,
                b'x' => NotifyFlags::EXPIRED,
                b'e' => NotifyFlags::EVICTED,
                b'K' => NotifyFlags::KEYSPACE,
                b'E' => NotifyFlags::KEYEVENT,
                b't' => NotifyFlags::STREAM,
                b'm' => NotifyFlags::KEY_MISS,
                b'd' => NotifyFlags::MODULE,
                b'n' => NotifyFlags::NEW,
                _ => return None,
            };
        }
        Some(flags)
    }

    /// Formats the flags back into Redis's canonical letters (`CONFIG GET notify-keyspace-events`).
    pub fn to_config_string(self) -> String {
        let mut s = String::new();
        if self.contains(NotifyFlags::ALL) {
            s.push('A');
        } else {
            for (flag, c) in [
                (NotifyFlags::GENERIC, 'g'),
                (NotifyFlags::STRING, '$'),
                (NotifyFlags::LIST, 'l'),
                (NotifyFlags::SET, 's'),
                (NotifyFlags::HASH, 'h'),
                (NotifyFlags::ZSET, 'z'),
                (NotifyFlags::EXPIRED, 'x'),
                (NotifyFlags::EVICTED, 'e'),
                (NotifyFlags::STREAM, 't'),
                (NotifyFlags::MODULE, 'd'),
            ] {
                if self.contains(flag) {
                    s.push(c);
                }
            }
        }
        for (flag, c) in [
            (NotifyFlags::KEYSPACE, 'K'),
            (NotifyFlags::KEYEVENT, 'E'),
            (NotifyFlags::KEY_MISS, 'm'),
            (NotifyFlags::NEW, 'n'),
        ] {
            if self.contains(flag) {
                s.push(c);
            }
        }
        s
    }
}

/// One key event: `(db, event, key)` plus the class it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// Database index.
    pub db: usize,
    /// The class (`NotifyFlags::LIST` for `lpush`, ...).
    pub class: NotifyFlags,
    /// Redis's event name (`set`, `expire`, `rename_from`, ...).
    pub name: &'static str,
    /// The key the event is about.
    pub key: Bytes,
}

/// Where writes report their events. Events are recorded only when someone listens: keyspace
/// notifications enabled for the class, or a subscriber that wants every event (the engine).
#[derive(Debug, Default)]
pub struct EventSink {
    notify: NotifyFlags,
    capture_all: bool,
    events: Vec<KeyEvent>,
}

impl EventSink {
    /// Sets the `notify-keyspace-events` flags.
    pub fn set_notify_flags(&mut self, flags: NotifyFlags) {
        self.notify = flags;
    }

    /// The configured `notify-keyspace-events` flags.
    pub fn notify_flags(&self) -> NotifyFlags {
        self.notify
    }

    /// Records every event regardless of the notification flags (used by registrations).
    pub fn set_capture_all(&mut self, on: bool) {
        self.capture_all = on;
    }

    /// Whether an event of `class` would be recorded.
    #[inline]
    pub fn wants(&self, class: NotifyFlags) -> bool {
        self.capture_all
            || (self
                .notify
                .intersects(NotifyFlags::KEYSPACE | NotifyFlags::KEYEVENT)
                && self.notify.intersects(class))
    }

    /// Records an event if anyone listens for its class.
    #[inline]
    pub fn emit(&mut self, class: NotifyFlags, name: &'static str, db: usize, key: &[u8]) {
        if self.wants(class) {
            self.events.push(KeyEvent {
                db,
                class,
                name,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// Whether events are waiting to be drained.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Takes the recorded events, oldest first.
    pub fn drain(&mut self) -> std::vec::Drain<'_, KeyEvent> {
        self.events.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_roundtrip_like_redis() {
        let f = NotifyFlags::parse(b"KEA").unwrap();
        assert_eq!(f.to_config_string(), "AKE");
        let f = NotifyFlags::parse(b"Elx").unwrap();
        assert_eq!(f.to_config_string(), "lxE");
        assert!(NotifyFlags::parse(b"Kq").is_none());
        assert_eq!(NotifyFlags::parse(b"").unwrap().to_config_string(), "");
    }

    #[test]
    fn sink_records_only_wanted_classes() {
        let mut sink = EventSink::default();
        sink.emit(NotifyFlags::STRING, "set", 0, b"k");
        assert!(sink.is_empty());
        sink.set_notify_flags(NotifyFlags::parse(b"E$").unwrap());
        sink.emit(NotifyFlags::LIST, "lpush", 0, b"k");
        sink.emit(NotifyFlags::STRING, "set", 0, b"k");
        let ev: Vec<_> = sink.drain().collect();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].name, "set");
    }
}
