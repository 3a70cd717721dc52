//! The typed key API: `impl Engine` for DEL, EXPIRE, RENAME, SCAN and the rest of Redis's
//! generic key commands, plus database-wide operations (DBSIZE, FLUSHDB, SWAPDB).

use crate::notify::NotifyFlags;
use std::time::Duration;

use crate::db::{Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::evict::{Removal, RemovalCause};
use crate::glob::glob_match;
use crate::keyspace::Stripe;
use crate::keyspace::access::{self, fast_random};
use crate::value::{KeyType, NewValue};

/// When [`Engine::expire`] applies, as Redis's `NX`/`XX`/`GT`/`LT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpireCondition {
    /// `NX`: only if the key has no expiry.
    pub nx: bool,
    /// `XX`: only if the key has an expiry.
    pub xx: bool,
    /// `GT`: only if the new expiry is later (no expiry counts as infinite).
    pub gt: bool,
    /// `LT`: only if the new expiry is earlier (no expiry counts as infinite).
    pub lt: bool,
}

impl ExpireCondition {
    /// Checks the combination as Redis does.
    pub(crate) fn validate(self) -> Result<()> {
        if self.nx && (self.xx || self.gt || self.lt) {
            return Err(Error::msg("ERR NX and XX, GT or LT options at the same time are not compatible"));
        }
        if self.gt && self.lt {
            return Err(Error::msg("ERR GT and LT options at the same time are not compatible"));
        }
        Ok(())
    }

    /// Does the condition allow moving from `current` to `when`?
    pub(crate) fn allows(self, current: Option<u64>, when: i64) -> bool {
        let current = current.map(|ms| ms as i64);
        !(self.nx && current.is_some()
            || self.xx && current.is_none()
            || self.gt && current.is_none_or(|c| when <= c)
            || self.lt && current.is_some_and(|c| when >= c))
    }
}

/// A key's expiry, as TTL-family commands see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExpiry {
    /// The key does not exist (`TTL` answers -2).
    NoKey,
    /// The key exists and does not expire (-1).
    Persistent,
    /// The key expires at this Unix time in milliseconds.
    AtUnixMs(u64),
}

/// Options of [`Engine::scan`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions<'a> {
    /// Only keys matching this glob (`MATCH`).
    pub pattern: Option<&'a [u8]>,
    /// About how many keys to examine (`COUNT`); default 10.
    pub count: Option<usize>,
    /// Only keys of this type (`TYPE`).
    pub key_type: Option<KeyType>,
}

/// Bits of a SCAN cursor holding the slot position; the stripe index sits above them.
const CURSOR_POS_BITS: u32 = 32;

impl Engine {
    /// `DEL`: deletes keys, atomically; returns how many existed. Values are freed after the
    /// locks are released, so this is also `UNLINK`.
    pub fn del<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        let mut set = self.inner.write_set(keys.iter().map(|k| (self.db, k.as_ref())));
        keys.iter()
            .filter(|key| {
                let mut entry = set.entry(self.db, key.as_ref());
                let deleted = entry.delete();
                if deleted {
                    entry.notify(NotifyFlags::GENERIC, "del");
                }
                deleted
            })
            .count()
    }

    /// `EXISTS`: how many of `keys` exist (a key named twice counts twice).
    pub fn exists<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        let set = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        keys.iter().filter(|key| set.get(self.db, key.as_ref(), Lookup::NO_TOUCH).is_some()).count()
    }

    /// `TOUCH`: updates access times; returns how many of `keys` exist.
    pub fn touch<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        let set = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        keys.iter().filter(|key| set.get(self.db, key.as_ref(), Lookup::READ).is_some()).count()
    }

    /// `TYPE`: the key's type, `None` if absent.
    pub fn key_type(&self, key: impl AsRef<[u8]>) -> Option<KeyType> {
        self.inner.read(self.db, key.as_ref(), Lookup::NO_TOUCH, |found| found.map(|f| f.value.key_type()))
    }

    /// `EXPIRE`/`PEXPIRE`: expire `key` after `ttl`. Returns whether the expiry was set (false
    /// when the key is absent or the condition refused).
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Duration, condition: ExpireCondition) -> Result<bool> {
        let ms = i64::try_from(ttl.as_millis()).map_err(|_| Error::InvalidExpireTime("expire"))?;
        self.expire_generic(key.as_ref(), ms, true, condition, "expire")
    }

    /// `EXPIREAT`/`PEXPIREAT`: expire `key` at a Unix time in milliseconds; a time not in the
    /// future deletes the key at once (and counts as set).
    pub fn expire_at(&self, key: impl AsRef<[u8]>, unix_ms: u64, condition: ExpireCondition) -> Result<bool> {
        let ms = i64::try_from(unix_ms).map_err(|_| Error::InvalidExpireTime("expireat"))?;
        self.expire_generic(key.as_ref(), ms, false, condition, "expireat")
    }

    /// The shared EXPIRE logic. `when_ms` is relative to now when `relative`, else absolute;
    /// it may be negative (Redis accepts that and deletes the key).
    pub(crate) fn expire_generic(
        &self,
        key: &[u8],
        when_ms: i64,
        relative: bool,
        condition: ExpireCondition,
        command: &'static str,
    ) -> Result<bool> {
        condition.validate()?;
        let mut set = self.inner.write_set([(self.db, key)]);
        let now_ms = set.now_ms() as i64;
        let when = if relative {
            when_ms.checked_add(now_ms).ok_or(Error::InvalidExpireTime(command))?
        } else {
            when_ms
        };
        let mut entry = set.entry(self.db, key);
        if !entry.exists() || !condition.allows(entry.expire_at_ms(), when) {
            return Ok(false);
        }
        if when <= now_ms {
            entry.delete();
            entry.notify(NotifyFlags::GENERIC, "del");
        } else {
            entry.set_expire(Some(when as u64));
            entry.notify(NotifyFlags::GENERIC, "expire");
        }
        Ok(true)
    }

    /// The key's expiry (`TTL`, `PTTL`, `EXPIRETIME`, `PEXPIRETIME` derive from it).
    pub fn expiry(&self, key: impl AsRef<[u8]>) -> KeyExpiry {
        self.inner.read(self.db, key.as_ref(), Lookup::NO_TOUCH, |found| match found {
            None => KeyExpiry::NoKey,
            Some(f) => f.expire_at_ms().map_or(KeyExpiry::Persistent, KeyExpiry::AtUnixMs),
        })
    }

    /// `PTTL` as a duration: `None` if the key is absent, `Some(None)` if it does not expire.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Option<Option<Duration>> {
        match self.expiry(key) {
            KeyExpiry::NoKey => None,
            KeyExpiry::Persistent => Some(None),
            KeyExpiry::AtUnixMs(at) => {
                let now = self.inner.clock.now_ms();
                Some(Some(Duration::from_millis(at.saturating_sub(now))))
            }
        }
    }

    /// `PERSIST`: removes the expiry; true if there was one.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> bool {
        let key = key.as_ref();
        let mut set = self.inner.write_set([(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        if entry.expire_at_ms().is_none() {
            return false;
        }
        entry.notify(NotifyFlags::GENERIC, "persist");
        entry.set_expire(None)
    }

    /// `RENAME`: moves the value (and expiry) of `src` to `dst`, replacing `dst`.
    pub fn rename(&self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<()> {
        self.rename_generic(src.as_ref(), dst.as_ref(), false).map(|_| ())
    }

    /// `RENAMENX`: like `rename` but only when `dst` does not exist; returns whether it moved.
    pub fn rename_nx(&self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<bool> {
        self.rename_generic(src.as_ref(), dst.as_ref(), true)
    }

    fn rename_generic(&self, src: &[u8], dst: &[u8], only_new: bool) -> Result<bool> {
        let mut set = self.inner.write_set([(self.db, src), (self.db, dst)]);
        if !set.entry(self.db, src).exists() {
            return Err(Error::NoSuchKey);
        }
        if src == dst {
            return Ok(!only_new);
        }
        if only_new && set.entry(self.db, dst).exists() {
            return Ok(false);
        }
        let Some(taken) = set.entry(self.db, src).take() else { return Err(Error::NoSuchKey) };
        let ttl = taken.expire_at_ms.map_or(Ttl::Clear, Ttl::At);
        let mut target = set.entry(self.db, dst);
        target.put(NewValue::Owned(taken.value), ttl);
        target.set_raw(taken.raw);
        set.notify(NotifyFlags::GENERIC, "rename_from", self.db, src);
        set.notify(NotifyFlags::GENERIC, "rename_to", self.db, dst);
        Ok(true)
    }

    /// `COPY`: copies `src` (value and expiry) to `dst` in database `dst_db` (this handle's
    /// when `None`). Without `replace`, an existing `dst` makes it return false.
    pub fn copy(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        dst_db: Option<usize>,
        replace: bool,
    ) -> Result<bool> {
        let (src, dst) = (src.as_ref(), dst.as_ref());
        let dst_db = dst_db.unwrap_or(self.db);
        if dst_db >= self.inner.dbs.len() {
            return Err(Error::DbIndexOutOfRange);
        }
        if src == dst && dst_db == self.db {
            return Err(Error::SameObject);
        }
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, src), (dst_db, dst)]);
        let source = set.entry(self.db, src);
        let Some(value) = source.value().map(|v| v.to_owned_value()) else { return Ok(false) };
        let expire = source.expire_at_ms();
        let raw = source.is_raw();
        let mut target = set.entry(dst_db, dst);
        if target.exists() && !replace {
            return Ok(false);
        }
        target.put(NewValue::Owned(value), expire.map_or(Ttl::Clear, Ttl::At));
        target.set_raw(raw);
        target.notify(NotifyFlags::GENERIC, "copy_to");
        Ok(true)
    }

    /// `MOVE`: moves `key` to database `dst_db` unless it exists there; returns whether moved.
    pub fn move_to_db(&self, key: impl AsRef<[u8]>, dst_db: usize) -> Result<bool> {
        let key = key.as_ref();
        if dst_db >= self.inner.dbs.len() {
            return Err(Error::DbIndexOutOfRange);
        }
        if dst_db == self.db {
            return Err(Error::SameObject);
        }
        let mut set = self.inner.write_set([(self.db, key), (dst_db, key)]);
        if !set.entry(self.db, key).exists() || set.entry(dst_db, key).exists() {
            return Ok(false);
        }
        let Some(taken) = set.entry(self.db, key).take() else { return Ok(false) };
        let mut target = set.entry(dst_db, key);
        target.put(NewValue::Owned(taken.value), taken.expire_at_ms.map_or(Ttl::Clear, Ttl::At));
        target.set_raw(taken.raw);
        set.notify(NotifyFlags::GENERIC, "move_from", self.db, key);
        set.notify(NotifyFlags::GENERIC, "move_to", dst_db, key);
        Ok(true)
    }

    /// `KEYS`: every live key matching `pattern`, stripe by stripe.
    pub fn keys(&self, pattern: impl AsRef<[u8]>) -> Vec<Vec<u8>> {
        let pattern = pattern.as_ref();
        let all = pattern == b"*";
        let keyspace = &self.inner.dbs[self.db];
        let now_ms = self.inner.clock.now_ms();
        let mut out = Vec::new();
        for index in 0..keyspace.stripe_count() {
            let stripe = keyspace.read(index);
            for pos in stripe.occupied_from(0) {
                let key = stripe.key(pos);
                if !stripe.slot(pos).is_expired(now_ms) && (all || glob_match(pattern, key, false)) {
                    out.push(key.to_vec());
                }
            }
        }
        out
    }

    /// `SCAN`: one step of a cursor-based iteration. Start with cursor 0; iteration is over
    /// when the returned cursor is 0. Every key present for the whole iteration is returned at
    /// least once: a cursor names a stripe and a slot position, and positions never move.
    pub fn scan(&self, cursor: u64, options: ScanOptions<'_>) -> (u64, Vec<Vec<u8>>) {
        let keyspace = &self.inner.dbs[self.db];
        let stripes = keyspace.stripe_count() as u64;
        let (mut stripe_index, mut pos) = (cursor >> CURSOR_POS_BITS, cursor as u32);
        let budget = options.count.unwrap_or(10).max(1);
        let now_ms = self.inner.clock.now_ms();
        let mut out = Vec::new();
        let mut examined = 0;
        while stripe_index < stripes {
            let stripe = keyspace.read(stripe_index as usize);
            let capacity = stripe.capacity();
            while pos < capacity && examined < budget {
                let slot = stripe.slot(pos);
                if slot.is_occupied() {
                    examined += 1;
                    if !slot.is_expired(now_ms) && scan_keeps(&stripe, pos, &options) {
                        out.push(stripe.key(pos).to_vec());
                    }
                }
                pos += 1;
            }
            if pos < capacity {
                return ((stripe_index << CURSOR_POS_BITS) | u64::from(pos), out);
            }
            stripe_index += 1;
            pos = 0;
            if examined >= budget {
                break;
            }
        }
        let next = if stripe_index >= stripes { 0 } else { stripe_index << CURSOR_POS_BITS };
        (next, out)
    }

    /// `RANDOMKEY`: a random live key, `None` if the database is empty.
    pub fn random_key(&self) -> Option<Vec<u8>> {
        let keyspace = &self.inner.dbs[self.db];
        let stripes = keyspace.stripe_count();
        let first = fast_random() as usize % stripes;
        let now_ms = self.inner.clock.now_ms();
        for offset in 0..stripes {
            let stripe = keyspace.read((first + offset) % stripes);
            if stripe.len() == 0 {
                continue;
            }
            let capacity = stripe.capacity();
            // Random probes first (uniform within the stripe), then a scan from a random start.
            for _ in 0..16 {
                let pos = fast_random() % capacity;
                let slot = stripe.slot(pos);
                if slot.is_occupied() && !slot.is_expired(now_ms) {
                    return Some(stripe.key(pos).to_vec());
                }
            }
            let start = fast_random() % capacity;
            let found = (start..capacity).chain(0..start).find(|&pos| {
                let slot = stripe.slot(pos);
                slot.is_occupied() && !slot.is_expired(now_ms)
            });
            if let Some(pos) = found {
                return Some(stripe.key(pos).to_vec());
            }
        }
        None
    }

    /// `DBSIZE`: keys in this database (including expired ones not reclaimed yet, as Redis).
    pub fn dbsize(&self) -> usize {
        self.inner.dbs[self.db].len()
    }

    /// `FLUSHDB`: removes every key of this database, atomically.
    pub fn flushdb(&self) {
        self.inner.flush(self.db);
    }

    /// `FLUSHALL`: removes every key of every database.
    pub fn flushall(&self) {
        for db in 0..self.inner.dbs.len() {
            self.inner.flush(db);
        }
    }

    /// `SWAPDB`: exchanges the contents of two databases, atomically.
    pub fn swapdb(&self, a: usize, b: usize) -> Result<()> {
        let dbs = &self.inner.dbs;
        if a >= dbs.len() || b >= dbs.len() {
            return Err(Error::DbIndexOutOfRange);
        }
        if a == b {
            return Ok(());
        }
        let (low, high) = (a.min(b), a.max(b));
        let mut low_guards = lock_all(&dbs[low]);
        let mut high_guards = lock_all(&dbs[high]);
        for (x, y) in low_guards.iter_mut().zip(high_guards.iter_mut()) {
            std::mem::swap(&mut **x, &mut **y);
            x.swapped_with(y);
        }
        Ok(())
    }

    /// `OBJECT ENCODING`: the representation Redis would use (`int`, `embstr`, `raw`).
    ///
    /// An inline string was written whole (SET and friends), as Redis's `embstr`, which holds
    /// at most 44 bytes: longer ones are `raw` there even when they fit a slot here.
    /// Out-of-line strings answer `raw` (edited in place by APPEND or SETRANGE, or too long for
    /// the slot).
    pub fn object_encoding(&self, key: impl AsRef<[u8]>) -> Option<&'static str> {
        self.inner
            .read(self.db, key.as_ref(), Lookup::QUIET, |found| found.map(|f| f.value.encoding(f.raw())))
    }

    /// `OBJECT FREQ`: the LFU counter, with idle decay applied; `None` for a missing key. As
    /// in Redis, only tracked under an LFU `maxmemory-policy`: otherwise an error.
    pub fn object_freq(&self, key: impl AsRef<[u8]>) -> Result<Option<u8>> {
        let now_secs = access::clock_secs(self.inner.clock.coarse_now_ms());
        let tuning = self.inner.lfu_tuning();
        let lfu = self.inner.eviction_policy().is_lfu();
        let freq = self.inner.read(self.db, key.as_ref(), Lookup::QUIET, |f| {
            f.map(|f| access::frequency(f.meta(), now_secs, tuning))
        });
        match freq {
            Some(_) if !lfu => Err(Error::msg(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note \
                 that when switching between policies at runtime LRU and LFU data will take some time \
                 to adjust.",
            )),
            freq => Ok(freq),
        }
    }

    /// `OBJECT IDLETIME`: seconds since the key was last read or written; `None` for a
    /// missing key. As in Redis, not tracked under an LFU `maxmemory-policy`: an error then.
    pub fn object_idletime(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
        let now_ms = self.inner.clock.coarse_now_ms();
        let lfu = self.inner.eviction_policy().is_lfu();
        let idle = self.inner.read(self.db, key.as_ref(), Lookup::QUIET, |f| {
            f.map(|f| access::lru_idle_ms(f.meta(), now_ms) / 1000)
        });
        match idle {
            Some(_) if lfu => Err(Error::msg(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when \
                 switching between policies at runtime LRU and LFU data will take some time to adjust.",
            )),
            idle => Ok(idle),
        }
    }
}

/// Does the entry at `pos` pass SCAN's MATCH and TYPE filters?
fn scan_keeps(stripe: &Stripe, pos: u32, options: &ScanOptions<'_>) -> bool {
    options.key_type.is_none_or(|t| stripe.value(pos).key_type() == t)
        && options.pattern.is_none_or(|p| glob_match(p, stripe.key(pos), false))
}

/// Write-locks every stripe of a keyspace, in index order.
fn lock_all(keyspace: &crate::keyspace::Keyspace) -> Vec<crate::keyspace::StripeWrite<'_>> {
    (0..keyspace.stripe_count()).map(|i| keyspace.write(i)).collect()
}

impl crate::engine::Inner {
    /// Empties database `db` atomically; the old contents are freed after the locks go.
    /// A removal listener hears every key as deleted.
    pub(crate) fn flush(&self, db: usize) {
        let old: Vec<Stripe> = {
            let mut guards = lock_all(&self.dbs[db]);
            guards
                .iter_mut()
                .map(|g| {
                    let old = g.clear();
                    self.memory.report_now(g);
                    old
                })
                .collect()
        };
        if let Some(listener) = &self.listener {
            for stripe in &old {
                for pos in stripe.occupied_from(0) {
                    (listener.0)(&Removal { db, key: stripe.key(pos), cause: RemovalCause::Deleted });
                }
            }
        }
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embstr_is_at_most_44_bytes_as_in_redis() {
        let engine = Engine::new();
        engine.set(b"a", [b'x'; 44], Default::default()).expect("set");
        engine.set(b"b", [b'x'; 45], Default::default()).expect("set");
        engine.set(b"n", b"-12", Default::default()).expect("set");
        assert_eq!(engine.object_encoding(b"a"), Some("embstr"));
        assert_eq!(engine.object_encoding(b"b"), Some("raw"), "45 bytes fit a slot but not an embstr");
        assert_eq!(engine.object_encoding(b"n"), Some("int"));
        engine.append(b"a", b"").expect("append");
        engine.append(b"n", b"0").expect("append");
        assert_eq!(engine.object_encoding(b"n"), Some("raw"));
    }

    #[test]
    fn expire_conditions() {
        let none = ExpireCondition::default();
        assert!(none.allows(None, 5) && none.allows(Some(10), 5));
        let nx = ExpireCondition { nx: true, ..none };
        assert!(nx.allows(None, 5) && !nx.allows(Some(10), 5));
        let xx = ExpireCondition { xx: true, ..none };
        assert!(!xx.allows(None, 5) && xx.allows(Some(10), 5));
        let gt = ExpireCondition { gt: true, ..none };
        assert!(!gt.allows(None, 5) && gt.allows(Some(4), 5) && !gt.allows(Some(5), 5));
        let lt = ExpireCondition { lt: true, ..none };
        assert!(lt.allows(None, 5) && lt.allows(Some(6), 5) && !lt.allows(Some(5), 5));
        assert!(ExpireCondition { nx: true, gt: true, ..none }.validate().is_err());
        assert!(ExpireCondition { gt: true, lt: true, ..none }.validate().is_err());
        assert!(ExpireCondition { xx: true, gt: true, ..none }.validate().is_ok());
    }
}
