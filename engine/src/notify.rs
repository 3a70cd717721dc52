//! Keyspace notifications (`notify-keyspace-events`): events about writes, published on
//! `__keyspace@<db>__:<key>` (message: the event name) and `__keyevent@<db>__:<event>`
//! (message: the key), with Redis's event names.
//!
//! The typed API (the one implementation behind both the Rust API and `execute`) records an
//! event in its [`crate::db::WriteSet`] (`EntryMut::notify`, `WriteSet::notify`); the set
//! publishes them once its stripe locks are released, so no subscriber's queue is touched
//! under a keyspace lock. A write set reads the flags once, with one relaxed atomic load, when
//! it is created; with notifications off (the default) that load is the whole cost.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::db::EntryMut;
use crate::engine::{Engine, Inner};

bitflags::bitflags! {
    /// Which keyspace events are published (`notify-keyspace-events`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct NotifyFlags: u32 {
        /// `K`: keyspace events, on `__keyspace@<db>__:<key>`.
        const KEYSPACE = 1 << 0;
        /// `E`: keyevent events, on `__keyevent@<db>__:<event>`.
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
        /// `x`: keys deleted because they expired.
        const EXPIRED = 1 << 8;
        /// `e`: keys evicted for maxmemory.
        const EVICTED = 1 << 9;
        /// `t`: stream commands.
        const STREAM = 1 << 10;
        /// `m`: key misses (a read found no key).
        const KEY_MISS = 1 << 11;
        /// `d`: module key type events.
        const MODULE = 1 << 12;
        /// `n`: new keys.
        const NEW = 1 << 13;
        /// `A`: `g$lshzxetd`, as Redis's `NOTIFY_ALL` (`m` and `n` are not part of it).
        const ALL = Self::GENERIC.bits() | Self::STRING.bits() | Self::LIST.bits() | Self::SET.bits()
            | Self::HASH.bits() | Self::ZSET.bits() | Self::EXPIRED.bits() | Self::EVICTED.bits()
            | Self::STREAM.bits() | Self::MODULE.bits();
    }
}

/// Class letters in the order `CONFIG GET` shows them.
const CLASS_LETTERS: [(NotifyFlags, char); 11] = [
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
    (NotifyFlags::NEW, 'n'),
];

impl NotifyFlags {
    /// Parses Redis's letters (`KEA`, `Kx`, ...); `None` on a letter Redis rejects.
    pub fn parse(text: &[u8]) -> Option<NotifyFlags> {
        let mut flags = NotifyFlags::empty();
        for &c in text {
            flags |= match c {
                b'A' => NotifyFlags::ALL,
                b'K' => NotifyFlags::KEYSPACE,
                b'E' => NotifyFlags::KEYEVENT,
                b'm' => NotifyFlags::KEY_MISS,
                _ => CLASS_LETTERS.iter().find(|(_, l)| *l as u8 == c)?.0,
            };
        }
        Some(flags)
    }

    /// The normalised text `CONFIG GET` shows: `A` for every class of `A` (then, as Redis
    /// 7.0, `n` is not shown), else the class letters in Redis's order; then `K`, `E`, `m`.
    pub fn to_config_string(self) -> String {
        let mut out = String::new();
        if self.contains(NotifyFlags::ALL) {
            out.push('A');
        } else {
            for (flag, letter) in CLASS_LETTERS {
                if self.contains(flag) {
                    out.push(letter);
                }
            }
        }
        for (flag, letter) in
            [(NotifyFlags::KEYSPACE, 'K'), (NotifyFlags::KEYEVENT, 'E'), (NotifyFlags::KEY_MISS, 'm')]
        {
            if self.contains(flag) {
                out.push(letter);
            }
        }
        out
    }
}

/// One recorded event.
#[derive(Debug)]
pub(crate) struct Event {
    name: &'static str,
    db: usize,
    key: Vec<u8>,
}

/// Events recorded by one write set, and the flags read when it was made (empty when neither
/// `K` nor `E` is on, so that nothing is recorded then).
#[derive(Debug, Default)]
pub(crate) struct Events {
    flags: NotifyFlags,
    list: Vec<Event>,
}

impl Events {
    /// Reads the engine's flags: one relaxed atomic load.
    #[inline]
    pub(crate) fn new(inner: &Inner) -> Events {
        Events { flags: inner.notify_flags(), list: Vec::new() }
    }

    /// Are events of `class` published?
    #[inline]
    pub(crate) fn wants(&self, class: NotifyFlags) -> bool {
        self.flags.contains(class)
    }

    /// Records an event of `class` named `name` about `key` in `db`, if that class is on.
    #[inline]
    pub(crate) fn push(&mut self, class: NotifyFlags, name: &'static str, db: usize, key: &[u8]) {
        if self.wants(class) {
            self.list.push(Event { name, db, key: key.to_vec() });
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Publishes the recorded events, in order; call with no stripe lock held.
    pub(crate) fn publish(&mut self, inner: &Inner) {
        let flags = self.flags;
        for event in self.list.drain(..) {
            publish_one(inner, flags, event.name, event.db, &event.key);
        }
    }
}

/// Publishes one event on the channels `flags` enable.
fn publish_one(inner: &Inner, flags: NotifyFlags, name: &str, db: usize, key: &[u8]) {
    let mut channel = Vec::with_capacity(24 + key.len().max(name.len()));
    if flags.contains(NotifyFlags::KEYSPACE) {
        let _ = write!(Prefix(&mut channel), "__keyspace@{db}__:");
        channel.extend_from_slice(key);
        inner.pubsub.publish(&channel, name.as_bytes());
    }
    if flags.contains(NotifyFlags::KEYEVENT) {
        channel.clear();
        let _ = write!(Prefix(&mut channel), "__keyevent@{db}__:{name}");
        inner.pubsub.publish(&channel, key);
    }
}

/// `fmt::Write` into a byte vector.
struct Prefix<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Prefix<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Inner {
    /// The flags in force, with the classes cleared when neither `K` nor `E` is on (nothing
    /// would be published). One relaxed atomic load.
    #[inline]
    pub(crate) fn notify_flags(&self) -> NotifyFlags {
        let flags = NotifyFlags::from_bits_retain(self.notify_flags.load(Ordering::Relaxed));
        if flags.intersects(NotifyFlags::KEYSPACE.union(NotifyFlags::KEYEVENT)) {
            flags
        } else {
            NotifyFlags::empty()
        }
    }

    /// Publishes one event now, if its class is on: for paths without a write set (active
    /// expiry, key misses, eviction). Call with no stripe lock held.
    pub(crate) fn notify_now(&self, class: NotifyFlags, name: &'static str, db: usize, key: &[u8]) {
        let flags = self.notify_flags();
        if flags.contains(class) {
            publish_one(self, flags, name, db, key);
        }
    }
}

/// Records `event` (of `class`) about the entry's key when `changed`, then `del` when the
/// change left the key deleted (a collection emptied by the command).
#[inline]
pub(crate) fn notify_change(
    entry: &mut EntryMut<'_>,
    changed: bool,
    class: NotifyFlags,
    event: &'static str,
) {
    if changed {
        entry.notify(class, event);
        if !entry.exists() {
            entry.notify(NotifyFlags::GENERIC, "del");
        }
    }
}

/// Records the events of a `STORE` into the entry's key: `event` when something was stored,
/// `del` when an empty result deleted a key that `existed`.
#[inline]
pub(crate) fn notify_store(
    entry: &mut EntryMut<'_>,
    stored: usize,
    existed: bool,
    class: NotifyFlags,
    event: &'static str,
) {
    if stored > 0 {
        entry.notify(class, event);
    } else if existed {
        entry.notify(NotifyFlags::GENERIC, "del");
    }
}

impl Engine {
    /// The keyspace notification classes in force (`notify-keyspace-events`).
    pub fn notify_keyspace_events(&self) -> NotifyFlags {
        NotifyFlags::from_bits_retain(self.inner.notify_flags.load(Ordering::Relaxed))
    }

    /// Sets the keyspace notification classes (as `CONFIG SET notify-keyspace-events`).
    pub fn set_notify_keyspace_events(&self, flags: NotifyFlags) {
        self.inner.notify_flags.store(flags.bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_redis_7_0() {
        let show = |text: &str| NotifyFlags::parse(text.as_bytes()).map(NotifyFlags::to_config_string);
        for (given, shown) in [
            ("", ""),
            ("K", "K"),
            ("KEA", "AKE"),
            ("Kn", "nK"),
            ("KEAn", "AKE"),
            ("KEAm", "AKEm"),
            ("Ex", "xE"),
            ("KEg$lshzxetdmn", "AKEm"),
            ("gg", "g"),
            ("Elg", "glE"),
        ] {
            assert_eq!(show(given).as_deref(), Some(shown), "{given}");
        }
        assert_eq!(NotifyFlags::parse(b"KEQ"), None);
        assert!(NotifyFlags::parse(b"KEAn").is_some_and(|f| f.contains(NotifyFlags::NEW)));
    }
    #[test]
    fn evictions_publish_evicted_only_with_class_e() {
        let engine = crate::Engine::builder().stripes(1).databases(1).build();
        engine.config_set(&[("maxmemory-policy", "allkeys-random")]).expect("policy");
        let mut sub = engine.subscriber();
        sub.subscribe(&["__keyevent@0__:evicted", "__keyspace@0__:a"]);
        // `a` alone, a limit one byte under what it takes: writing `b` must evict `a`.
        let evict_a = || {
            engine.config_set(&[("maxmemory", "0")]).expect("no limit");
            engine.flushall();
            engine.set(b"a", b"v", Default::default()).expect("set");
            let limit = (engine.used_memory() - 1).to_string();
            engine.config_set(&[("maxmemory", limit.as_str())]).expect("limit");
            engine.set(b"b", b"v", Default::default()).expect("set");
            assert_eq!(engine.get(b"a").expect("get"), None, "a was evicted");
        };
        evict_a();
        assert_eq!(engine.stats().evicted_keys, 1);
        assert_eq!(sub.try_recv(), Ok(None), "off by default");
        engine.config_set(&[("notify-keyspace-events", "KEe")]).expect("valid flags");
        evict_a();
        let mut got = Vec::new();
        while let Ok(Some(message)) = sub.try_recv() {
            got.push(message);
        }
        let bytes = |b: &[u8]| -> crate::pubsub::Bytes { b.into() };
        assert_eq!(
            got,
            vec![
                crate::Message::Message { channel: bytes(b"__keyspace@0__:a"), payload: bytes(b"evicted") },
                crate::Message::Message { channel: bytes(b"__keyevent@0__:evicted"), payload: bytes(b"a") },
            ]
        );
    }
}
