//! Hash commands on [`Engine`]: the typed API that `execute` handlers call.
//!
//! A key never holds an empty hash: removing the last field deletes the key. Fields may have
//! their own expiry (Redis 7.4's `HEXPIRE` family). Expired fields are never seen: every hash
//! command first purges them under the key's write lock; a read finds out with one comparison
//! whether the hash may hold any (see `types::hash`) and takes the write path only then. A
//! hash whose last field expired is deleted by the next hash command that touches it (other
//! commands, such as `EXISTS` or `TYPE`, still see it until then), or by the active expiry
//! cycle: a hash with field TTLs is listed in its stripe's volatile list, and a sampled hash
//! has its expired fields removed (and the key, with the last of them). A hash moved by
//! `RENAME`, `MOVE` or `COPY` is listed again on its next field-expiry change.

use crate::db::{EntryMut, Lookup, Now, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keys::ExpireCondition;
use crate::keyspace::access::fast_random;
use crate::notify::NotifyFlags;
use crate::num::ldouble::LongDouble;
use crate::types::hash::{Hash, is_expired};
use crate::value::{KeyType, NewValue, Value, ValueRef};

/// A field and its value, owned.
pub type FieldValue = (Vec<u8>, Vec<u8>);

/// Uniform 64-bit randomness for field sampling.
fn random64() -> u64 {
    u64::from(fast_random()) << 32 | u64::from(fast_random())
}

/// The hash at an entry, `None` when absent, WRONGTYPE when another type.
fn hash_of<'v>(value: Option<ValueRef<'v>>) -> Result<Option<&'v Hash>> {
    match value {
        None => Ok(None),
        Some(ValueRef::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Purges the expired fields of the entry's hash (deleting the key if none is left), creates
/// an empty hash when the key is absent and `create` is set, runs `f` on the hash for changes
/// (absent: `None`), then deletes the key if the hash ended up empty.
///
/// The clock is read only for a hash with field TTLs (or when `f` asks for the time).
fn change_hash<R>(
    entry: &mut EntryMut<'_>,
    create: bool,
    event: Event<R>,
    f: impl FnOnce(Option<&mut Hash>, &Now<'_>) -> Result<R>,
) -> Result<R> {
    let now = entry.now();
    match entry.value() {
        Some(v) if v.key_type() != KeyType::Hash => return Err(Error::WrongType),
        Some(ValueRef::Hash(hash)) if hash.has_ttls() && hash.needs_purge(now.ms()) => {
            let before = hash.len();
            if let Some(Value::Hash(hash)) = entry.value_mut() {
                hash.purge_expired(now.ms());
            }
            if entry.value().is_some_and(|v| matches!(v, ValueRef::Hash(hash) if hash.len() < before)) {
                entry.notify(NotifyFlags::HASH, "hexpired");
            }
            delete_if_empty(entry);
        }
        _ => {}
    }
    if create && !entry.exists() {
        entry.put(NewValue::Owned(Value::Hash(Box::default())), Ttl::Clear);
    }
    let result = match entry.value_mut() {
        Some(Value::Hash(hash)) => f(Some(hash), now),
        _ => f(None, now),
    };
    if let Ok(result) = &result {
        for name in event(result).into_iter().flatten() {
            entry.notify(NotifyFlags::HASH, name);
        }
    }
    delete_if_empty(entry);
    if entry.value().is_some_and(ValueRef::has_field_expiry) {
        // Let the active expiry cycle find the hash's expiring fields.
        entry.list_volatile();
    }
    result
}

/// Deletes the key if it holds an empty hash.
fn delete_if_empty(entry: &mut EntryMut<'_>) {
    if entry.value().is_some_and(|v| matches!(v, ValueRef::Hash(hash) if hash.len() == 0)) {
        entry.delete();
        entry.notify(NotifyFlags::GENERIC, "del");
    }
}

/// Which keyspace events (class `h`) a hash command's result calls for, in order (no
/// allocation: this runs whether or not notifications are on).
type Event<R> = fn(&R) -> [Option<&'static str>; 2];

/// No event (reads).
fn no_event<R>(_: &R) -> [Option<&'static str>; 2] {
    [None, None]
}

/// `event` when `changed`.
fn event_if(changed: bool, event: &'static str) -> [Option<&'static str>; 2] {
    [changed.then_some(event), None]
}

/// What `HTTL`, `HPTTL`, `HEXPIRETIME` and `HPEXPIRETIME` answer for a field with an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TtlReply {
    /// Remaining seconds, rounded up.
    Secs,
    /// Remaining milliseconds.
    Millis,
    /// Unix time in seconds, rounded up.
    AtSecs,
    /// Unix time in milliseconds.
    AtMillis,
}

impl Engine {
    /// Runs `f` on the hash at `key` (`None` when absent) with no expired field in it.
    ///
    /// **Locking behaviour:** `f` runs under the key's stripe read lock, or under its write
    /// lock when expired fields have to be purged first.
    fn read_hash<R>(&self, key: &[u8], f: impl FnOnce(Option<&Hash>) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let fast = self.inner.read(self.db, key, Lookup::READ, |found| {
            let hash = match hash_of(found.map(|found| found.value)) {
                Ok(hash) => hash,
                Err(err) => return Some(Err(err)),
            };
            // The clock is read only for hashes with field TTLs.
            if hash.is_some_and(|h| h.has_ttls() && h.needs_purge(self.inner.clock.now_ms())) {
                return None;
            }
            f.take().map(|f| f(hash))
        });
        if let Some(result) = fast {
            return result;
        }
        let f = f.take().ok_or(Error::msg("ERR hash read ran twice"))?;
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        change_hash(&mut entry, false, no_event, |hash, _| f(hash.map(|h| &*h)))
    }

    /// Runs `f` on the hash at `key` for changes, with the command's time; creates an empty
    /// hash first when the key is absent and `create` is set (one left empty is deleted).
    ///
    /// **Locking behaviour:** holds the key's stripe write lock while `f` runs.
    fn write_hash<R>(
        &self,
        key: &[u8],
        create: bool,
        event: Event<R>,
        f: impl FnOnce(Option<&mut Hash>, &Now<'_>) -> Result<R>,
    ) -> Result<R> {
        // Creating writes may grow memory (Redis's `denyoom` hash commands).
        let mut locked = self.inner.write_set([(self.db, key)]);
        if create {
            locked.grow([(self.db, key)])?;
        }
        let mut entry = locked.entry(self.db, key);
        change_hash(&mut entry, create, event, f)
    }

    /// `HSET`: sets each (field, value) pair of the hash at `key` (created if absent), clearing
    /// those fields' expiry; returns how many fields were new.
    ///
    /// ```
    /// let engine = memora_engine::Engine::new();
    /// assert_eq!(engine.hset(b"h", &[(b"f", b"1"), (b"g", b"2")]).unwrap(), 2);
    /// assert_eq!(engine.hget(b"h", b"g").unwrap(), Some(b"2".to_vec()));
    /// ```
    pub fn hset<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        pairs: &[(F, V)],
    ) -> Result<usize> {
        let limits = self.inner.hash_limits();
        let event = if pairs.is_empty() { no_event } else { |_: &usize| [Some("hset"), None] };
        self.write_hash(key.as_ref(), !pairs.is_empty(), event, |hash, _| {
            let Some(hash) = hash else { return Ok(0) };
            let mut added = 0;
            for (field, value) in pairs {
                added += usize::from(hash.set(field.as_ref(), value.as_ref(), limits)?);
            }
            Ok(added)
        })
    }

    /// `HSETNX`: sets `field` only if the hash lacks it; returns whether it did.
    pub fn hsetnx(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool> {
        let limits = self.inner.hash_limits();
        let (field, value) = (field.as_ref(), value.as_ref());
        self.write_hash(
            key.as_ref(),
            true,
            |set| event_if(*set, "hset"),
            |hash, _| {
                let Some(hash) = hash else { return Ok(false) };
                if hash.get(field).is_some() {
                    return Ok(false);
                }
                hash.set(field, value, limits)
            },
        )
    }

    /// `HGET`: the value of `field`.
    pub fn hget(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.read_hash(key.as_ref(), |hash| Ok(hash.and_then(|h| h.get(field.as_ref())).map(<[u8]>::to_vec)))
    }

    /// `HMGET`: the values of `fields` (`None` for each one missing).
    pub fn hmget<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<Option<Vec<u8>>>> {
        self.read_hash(key.as_ref(), |hash| {
            Ok(fields.iter().map(|f| hash.and_then(|h| h.get(f.as_ref())).map(<[u8]>::to_vec)).collect())
        })
    }

    /// `HDEL`: removes `fields`; returns how many were there.
    pub fn hdel<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<usize> {
        self.write_hash(
            key.as_ref(),
            false,
            |n| event_if(*n > 0, "hdel"),
            |hash, _| {
                let Some(hash) = hash else { return Ok(0) };
                Ok(fields.iter().filter(|f| hash.remove(f.as_ref())).count())
            },
        )
    }

    /// `HLEN`: the number of fields (0 when absent).
    pub fn hlen(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.read_hash(key.as_ref(), |hash| Ok(hash.map_or(0, Hash::len)))
    }

    /// `HEXISTS`: is `field` in the hash?
    pub fn hexists(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<bool> {
        self.read_hash(key.as_ref(), |hash| Ok(hash.is_some_and(|h| h.get(field.as_ref()).is_some())))
    }

    /// `HSTRLEN`: the length of `field`'s value (0 when missing).
    pub fn hstrlen(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<usize> {
        self.read_hash(key.as_ref(), |hash| {
            Ok(hash.and_then(|h| h.get(field.as_ref())).map_or(0, <[u8]>::len))
        })
    }

    /// `HGETALL`: every field with its value (order unspecified).
    pub fn hgetall(&self, key: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read_hash(key.as_ref(), |hash| Ok(hash.map_or_else(Vec::new, Hash::entries)))
    }

    /// `HKEYS`: every field (order unspecified).
    pub fn hkeys(&self, key: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        self.read_hash(key.as_ref(), |hash| {
            let mut out = Vec::with_capacity(hash.map_or(0, Hash::len));
            if let Some(hash) = hash {
                hash.for_each(|field, _| out.push(field.to_vec()));
            }
            Ok(out)
        })
    }

    /// `HVALS`: every value (order unspecified).
    pub fn hvals(&self, key: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        self.read_hash(key.as_ref(), |hash| {
            let mut out = Vec::with_capacity(hash.map_or(0, Hash::len));
            if let Some(hash) = hash {
                hash.for_each(|_, value| out.push(value.to_vec()));
            }
            Ok(out)
        })
    }

    /// `HINCRBY`: adds `delta` to the integer value of `field` (0 when missing), keeping the
    /// field's expiry; returns the new value.
    pub fn hincrby(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        let limits = self.inner.hash_limits();
        let field = field.as_ref();
        self.write_hash(
            key.as_ref(),
            true,
            |_| [Some("hincrby"), None],
            |hash, _| {
                let Some(hash) = hash else { return Err(Error::NoSuchKey) };
                let current = match hash.get(field) {
                    None => 0,
                    Some(bytes) => crate::num::parse_i64(bytes)
                        .map_err(|_| Error::msg("ERR hash value is not an integer"))?,
                };
                let next = current.checked_add(delta).ok_or(Error::Overflow)?;
                hash.insert(field, itoa::Buffer::new().format(next).as_bytes(), limits)?;
                Ok(next)
            },
        )
    }

    /// `HINCRBYFLOAT` with the increment as text (parsed as Redis parses it): adds in x87
    /// extended precision and stores the sum as `INCRBYFLOAT` prints it, keeping the field's
    /// expiry; returns the stored text.
    pub fn hincrbyfloat(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        delta: &[u8],
    ) -> Result<Vec<u8>> {
        let delta = LongDouble::parse(delta).ok_or(Error::NotFloat)?;
        if !delta.is_finite() {
            return Err(Error::msg("ERR value is NaN or Infinity"));
        }
        let limits = self.inner.hash_limits();
        let field = field.as_ref();
        self.write_hash(
            key.as_ref(),
            true,
            |_| [Some("hincrbyfloat"), None],
            |hash, _| {
                let Some(hash) = hash else { return Err(Error::NoSuchKey) };
                let current = match hash.get(field) {
                    None => LongDouble::from_i64(0),
                    Some(bytes) => {
                        LongDouble::parse(bytes).ok_or(Error::msg("ERR hash value is not a float"))?
                    }
                };
                let sum = current.add(delta);
                let mut text = Vec::with_capacity(24);
                if !sum.is_finite() || !sum.format_human(&mut text) {
                    return Err(Error::NanOrInfinity);
                }
                hash.insert(field, &text, limits)?;
                Ok(text)
            },
        )
    }

    /// `HRANDFIELD key count`: with `count >= 0`, up to `count` distinct random fields; with
    /// `count < 0`, exactly `-count` random fields, possibly repeated. Each comes with its
    /// value.
    pub fn hrandfield(&self, key: impl AsRef<[u8]>, count: i64) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read_hash(key.as_ref(), |hash| {
            let Some(hash) = hash else { return Ok(Vec::new()) };
            let owned = |(f, v): (&[u8], &[u8])| (f.to_vec(), v.to_vec());
            if count < 0 {
                let n = count.unsigned_abs();
                return Ok((0..n).filter_map(|_| hash.random_entry(random64).map(owned)).collect());
            }
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count >= hash.len() {
                return Ok(hash.entries());
            }
            // Few wanted: sample until distinct; many wanted: copy all and drop at random.
            if count * 3 < hash.len() {
                let mut picked = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((field, value)) = hash.random_entry(random64) else { break };
                    if picked.insert(field) {
                        out.push(owned((field, value)));
                    }
                }
                return Ok(out);
            }
            let mut all = hash.entries();
            while all.len() > count {
                let at = (random64() % all.len() as u64) as usize;
                all.swap_remove(at);
            }
            Ok(all)
        })
    }

    /// `HSCAN` step: fields (with values) from `cursor` on (about `count`), those whose field
    /// matches `pattern` when given, and the next cursor (0 when done).
    pub fn hscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<FieldValue>)> {
        self.read_hash(key.as_ref(), |hash| {
            let Some(hash) = hash else { return Ok((0, Vec::new())) };
            let mut out = Vec::new();
            let next = hash.scan(cursor, count, |field, value| {
                if pattern.is_none_or(|p| crate::glob::glob_match(p, field, false)) {
                    out.push((field.to_vec(), value.to_vec()));
                }
            });
            Ok((next, out))
        })
    }

    /// `HPEXPIREAT`: sets the expiry of each of `fields` to `at_ms` (Unix milliseconds) when
    /// `condition` allows. Per field, Redis's codes: -2 no such field (or key), 0 condition not
    /// met, 1 set, 2 deleted because `at_ms` is not in the future.
    pub fn hpexpireat<F: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        at_ms: u64,
        condition: ExpireCondition,
        fields: &[F],
    ) -> Result<Vec<i64>> {
        condition.validate()?;
        // `hexpire` when an expiry was set, `hexpired` when a time in the past deleted fields.
        let events = |codes: &Vec<i64>| {
            [codes.contains(&1).then_some("hexpire"), codes.contains(&2).then_some("hexpired")]
        };
        self.write_hash(key.as_ref(), false, events, |hash, now| {
            let Some(hash) = hash else { return Ok(vec![-2; fields.len()]) };
            let now_ms = now.ms();
            let mut codes = Vec::with_capacity(fields.len());
            for field in fields {
                let field = field.as_ref();
                if hash.get(field).is_none() {
                    codes.push(-2);
                } else if !condition.allows(hash.expire_at_ms(field), at_ms as i64) {
                    codes.push(0);
                } else if at_ms <= now_ms {
                    hash.remove(field);
                    codes.push(2);
                } else {
                    hash.set_expire_at_ms(field, at_ms);
                    codes.push(1);
                }
            }
            Ok(codes)
        })
    }

    /// `HPERSIST`: removes the expiry of each of `fields`. Per field, Redis's codes: -2 no such
    /// field (or key), -1 it had no expiry, 1 removed.
    pub fn hpersist<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<i64>> {
        let events = |codes: &Vec<i64>| event_if(codes.contains(&1), "hpersist");
        self.write_hash(key.as_ref(), false, events, |hash, _| {
            let Some(hash) = hash else { return Ok(vec![-2; fields.len()]) };
            Ok(fields
                .iter()
                .map(|field| {
                    let field = field.as_ref();
                    if hash.get(field).is_none() {
                        -2
                    } else if hash.persist(field) {
                        1
                    } else {
                        -1
                    }
                })
                .collect())
        })
    }

    /// `HTTL`: per field, the remaining time to live in seconds (rounded up), -1 without an
    /// expiry, -2 when the field (or key) does not exist.
    pub fn httl<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<i64>> {
        self.field_ttls(key.as_ref(), fields, TtlReply::Secs)
    }

    /// `HPTTL`: as [`Engine::httl`], in milliseconds.
    pub fn hpttl<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<i64>> {
        self.field_ttls(key.as_ref(), fields, TtlReply::Millis)
    }

    /// `HEXPIRETIME`: per field, the Unix time in seconds (rounded up) at which it expires,
    /// -1 without an expiry, -2 when the field (or key) does not exist.
    pub fn hexpiretime<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<i64>> {
        self.field_ttls(key.as_ref(), fields, TtlReply::AtSecs)
    }

    /// `HPEXPIRETIME`: as [`Engine::hexpiretime`], in milliseconds.
    pub fn hpexpiretime<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<Vec<i64>> {
        self.field_ttls(key.as_ref(), fields, TtlReply::AtMillis)
    }

    fn field_ttls<F: AsRef<[u8]>>(&self, key: &[u8], fields: &[F], unit: TtlReply) -> Result<Vec<i64>> {
        self.read_hash(key, |hash| {
            let Some(hash) = hash else { return Ok(vec![-2; fields.len()]) };
            let now_ms = if hash.has_ttls() { self.inner.clock.now_ms() } else { 0 };
            Ok(fields
                .iter()
                .map(|field| {
                    let field = field.as_ref();
                    if hash.get(field).is_none() {
                        return -2;
                    }
                    let Some(at) = hash.expire_at_ms(field) else { return -1 };
                    if is_expired(at, now_ms) {
                        return -2;
                    }
                    let at = at as i64;
                    let now = now_ms as i64;
                    match unit {
                        TtlReply::Secs => (at - now + 999) / 1000,
                        TtlReply::Millis => at - now,
                        TtlReply::AtSecs => (at + 999) / 1000,
                        TtlReply::AtMillis => at,
                    }
                })
                .collect())
        })
    }
}
