//! The typed string API: `impl Engine` for GET, SET and the rest of Redis's string commands.
//! The `execute` handlers in `command::strings` parse argv and call these.

use std::time::Duration;

use crate::db::{Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::notify::NotifyFlags;
use crate::num::ldouble::LongDouble;
use crate::value::{NewValue, StringRef, ValueRef};

/// When a key's expiry should be, relative or absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// After this long from now (`EX`, `PX`). Must be at least 1 ms.
    In(Duration),
    /// At this Unix time in milliseconds (`EXAT`, `PXAT`). Must be positive; a time in the
    /// past makes the key expire at once.
    AtUnixMs(u64),
}

impl Expiry {
    /// The absolute Unix-millisecond time, or Redis's `invalid expire time` error (zero or
    /// beyond the signed 64-bit range, as Redis computes in `long long`).
    pub(crate) fn resolve(self, now_ms: u64, command: &'static str) -> Result<u64> {
        let at = match self {
            Expiry::In(duration) => {
                let ms =
                    u64::try_from(duration.as_millis()).map_err(|_| Error::InvalidExpireTime(command))?;
                if ms == 0 {
                    return Err(Error::InvalidExpireTime(command));
                }
                now_ms.checked_add(ms).ok_or(Error::InvalidExpireTime(command))?
            }
            Expiry::AtUnixMs(0) => return Err(Error::InvalidExpireTime(command)),
            Expiry::AtUnixMs(ms) => ms,
        };
        if at > i64::MAX as u64 { Err(Error::InvalidExpireTime(command)) } else { Ok(at) }
    }
}

/// Whether a SET writes, depending on the key's existence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Always write.
    #[default]
    Always,
    /// Only when the key does not exist (`NX`).
    IfAbsent,
    /// Only when the key exists (`XX`).
    IfExists,
}

/// Options of [`Engine::set`], mirroring Redis's `SET` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// `NX` / `XX`.
    pub condition: SetCondition,
    /// `EX`/`PX`/`EXAT`/`PXAT`; `None` removes any expiry unless `keep_ttl`.
    pub expiry: Option<Expiry>,
    /// `KEEPTTL`: keep the key's current expiry (incompatible with `expiry`).
    pub keep_ttl: bool,
    /// `GET`: return the old value (an error if it is not a string, and then nothing is set).
    pub get: bool,
}

/// What [`Engine::set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Was the value written (false when `NX`/`XX` said no)?
    pub written: bool,
    /// With `get`: the previous value, if the key held one.
    pub previous: Option<Vec<u8>>,
}

/// Expiry change made by [`Engine::getex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GetExExpiry {
    /// Leave the expiry as it is (plain `GETEX key`).
    #[default]
    Keep,
    /// Set a new expiry.
    Set(Expiry),
    /// Remove the expiry (`PERSIST`).
    Persist,
}

/// Options of [`Engine::lcs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LcsOptions {
    /// Report matches shorter than this? Only ranges of at least this length are listed.
    pub min_match_len: usize,
}

/// One common range found by [`Engine::lcs_matches`]: inclusive byte ranges in each string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    /// Range in the first string.
    pub a: (usize, usize),
    /// Range in the second string.
    pub b: (usize, usize),
    /// Length of the range.
    pub len: usize,
}

/// The string at `value`, or WRONGTYPE.
#[inline]
fn string_of(value: ValueRef<'_>) -> Result<Vec<u8>> {
    match value {
        ValueRef::Str(bytes) => Ok(bytes.to_vec()),
        other => other.string_to_vec().ok_or(Error::WrongType),
    }
}

impl Engine {
    /// `GET`: the string at `key`, `None` if absent.
    ///
    /// **Locking behaviour:** takes the key's stripe read lock briefly.
    #[inline]
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.inner
            .read(self.db, key.as_ref(), Lookup::READ, |found| found.map(|f| string_of(f.value)).transpose())
    }

    /// `GET` without copying: runs `f` on the string's bytes under the stripe's read lock.
    /// `f` must not call back into the engine.
    pub fn get_with<R>(&self, key: impl AsRef<[u8]>, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let Some(found) = found else { return Ok(None) };
            let mut buf = itoa::Buffer::new();
            let bytes = found.value.string_bytes(&mut buf).ok_or(Error::WrongType)?;
            Ok(Some(f(bytes)))
        })
    }

    /// `SET` with Redis's options.
    ///
    /// ```
    /// use memora_engine::{Engine, SetCondition, SetOptions};
    ///
    /// let engine = Engine::new();
    /// let nx = SetOptions { condition: SetCondition::IfAbsent, ..Default::default() };
    /// assert!(engine.set(b"k", b"1", nx).unwrap().written);
    /// assert!(!engine.set(b"k", b"2", nx).unwrap().written);
    /// ```
    pub fn set(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        options: SetOptions,
    ) -> Result<SetOutcome> {
        let (key, value) = (key.as_ref(), value.as_ref());
        self.inner.check_string_len(value.len() as u64)?;
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        // The clock is read only when the command sets an expiry.
        let ttl = match (options.expiry, options.keep_ttl) {
            (Some(expiry), _) => Ttl::At(expiry.resolve(set.now_ms(), "set")?),
            (None, true) => Ttl::Keep,
            (None, false) => Ttl::Clear,
        };
        let mut entry = set.entry(self.db, key);
        let previous = match (options.get, entry.value()) {
            (true, Some(old)) => Some(string_of(old)?),
            _ => None,
        };
        let written = match options.condition {
            SetCondition::Always => true,
            SetCondition::IfAbsent => !entry.exists(),
            SetCondition::IfExists => entry.exists(),
        };
        if written {
            entry.put(string_value(value), ttl);
            entry.notify(NotifyFlags::STRING, "set");
            if let Ttl::At(_) = ttl {
                entry.notify(NotifyFlags::GENERIC, "expire");
            }
        }
        Ok(SetOutcome { written, previous })
    }

    /// `SET key value EX/PX`: sets with a time to live.
    pub fn set_ex(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl: Duration) -> Result<()> {
        self.set(key, value, SetOptions { expiry: Some(Expiry::In(ttl)), ..SetOptions::default() })
            .map(|_| ())
    }

    /// `GETDEL`: the string at `key`, deleting the key.
    pub fn getdel(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let mut set = self.inner.write_set([(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let Some(value) = entry.value() else { return Ok(None) };
        let bytes = string_of(value)?;
        entry.delete();
        entry.notify(NotifyFlags::GENERIC, "del");
        Ok(Some(bytes))
    }

    /// `GETEX`: the string at `key`, changing its expiry as told. As in Redis, an absent key
    /// answers `None` before the expiry is checked, so even an invalid one is not an error then.
    pub fn getex(&self, key: impl AsRef<[u8]>, expiry: GetExExpiry) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let mut set = self.inner.write_set([(self.db, key)]);
        let now_ms = set.now_ms();
        let mut entry = set.entry(self.db, key);
        let Some(value) = entry.value() else { return Ok(None) };
        let bytes = string_of(value)?;
        let at = match expiry {
            GetExExpiry::Set(e) => Some(e.resolve(now_ms, "getex")?),
            _ => None,
        };
        match (expiry, at) {
            // An absolute time already past deletes the key, as Redis does.
            (_, Some(at)) if at <= now_ms => {
                entry.delete();
                entry.notify(NotifyFlags::GENERIC, "del");
            }
            (_, Some(at)) => {
                entry.set_expire(Some(at));
                entry.notify(NotifyFlags::GENERIC, "expire");
            }
            (GetExExpiry::Persist, None) if entry.expire_at_ms().is_some() => {
                entry.set_expire(None);
                entry.notify(NotifyFlags::GENERIC, "persist");
            }
            _ => {}
        }
        Ok(Some(bytes))
    }

    /// `MGET`: the strings at `keys` (`None` for absent keys and non-strings), read
    /// atomically: no concurrent `MSET` is seen half-applied.
    pub fn mget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Vec<Option<Vec<u8>>> {
        let set = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        keys.iter()
            .map(|key| {
                set.get(self.db, key.as_ref(), Lookup::READ).and_then(|found| found.value.string_to_vec())
            })
            .collect()
    }

    /// `MSET`: sets every pair atomically, removing any expiry.
    pub fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<()> {
        self.msetnx_inner(pairs, false).map(|_| ())
    }

    /// `MSETNX`: sets every pair only if none of the keys exists; atomic.
    pub fn msetnx<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<bool> {
        self.msetnx_inner(pairs, true)
    }

    fn msetnx_inner<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)], only_new: bool) -> Result<bool> {
        for (_, value) in pairs {
            self.inner.check_string_len(value.as_ref().len() as u64)?;
        }
        crate::db::write_set_growing!(let mut set = self.inner, pairs.iter().map(|(k, _)| (self.db, k.as_ref())));
        if only_new && pairs.iter().any(|(k, _)| set.entry(self.db, k.as_ref()).exists()) {
            return Ok(false);
        }
        for (key, value) in pairs {
            let mut entry = set.entry(self.db, key.as_ref());
            entry.put(string_value(value.as_ref()), Ttl::Clear);
            entry.notify(NotifyFlags::STRING, "set");
        }
        Ok(true)
    }

    /// `APPEND`: appends `suffix`, creating the key if needed; returns the new length.
    pub fn append(&self, key: impl AsRef<[u8]>, suffix: impl AsRef<[u8]>) -> Result<usize> {
        let (key, suffix) = (key.as_ref(), suffix.as_ref());
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let Some(value) = entry.value() else {
            self.inner.check_string_len(suffix.len() as u64)?;
            // A new key is stored as SET would store it (`APPEND k 1` makes an integer).
            entry.put(string_value(suffix), Ttl::Keep);
            entry.notify(NotifyFlags::STRING, "append");
            return Ok(suffix.len());
        };
        let old_len = string_len(value)?;
        self.inner.check_string_len((old_len + suffix.len()) as u64)?;
        // Even an empty suffix makes the value an edited-in-place string, as Redis unshares it
        // (`OBJECT ENCODING` says `raw` afterwards).
        let bytes = entry.string_mut().ok_or(Error::WrongType)?;
        bytes.extend_from_slice(suffix);
        let len = bytes.len();
        entry.notify(NotifyFlags::STRING, "append");
        Ok(len)
    }

    /// `STRLEN`: the string's length, 0 if absent.
    pub fn strlen(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.inner
            .read(self.db, key.as_ref(), Lookup::READ, |found| found.map_or(Ok(0), |f| string_len(f.value)))
    }

    /// `INCR`.
    pub fn incr(&self, key: impl AsRef<[u8]>) -> Result<i64> {
        self.incr_by(key, 1)
    }

    /// `DECR`.
    pub fn decr(&self, key: impl AsRef<[u8]>) -> Result<i64> {
        self.incr_by(key, -1)
    }

    /// `INCRBY`: adds `delta` to the integer at `key` (0 if absent), keeping its expiry.
    pub fn incr_by(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        let key = key.as_ref();
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let current = match entry.value().map(ValueRef::as_string) {
            None => 0,
            Some(None) => return Err(Error::WrongType),
            Some(Some(StringRef::Int(n))) => n,
            Some(Some(StringRef::Bytes(bytes))) => crate::num::parse_i64(bytes)?,
        };
        let next = current.checked_add(delta).ok_or(Error::Overflow)?;
        entry.put(NewValue::Int(next), Ttl::Keep);
        entry.notify(NotifyFlags::STRING, "incrby");
        Ok(next)
    }

    /// `DECRBY`: subtracts `delta` (Redis refuses `i64::MIN`, whose negation overflows).
    pub fn decr_by(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        let negated = delta.checked_neg().ok_or_else(|| Error::msg("ERR decrement would overflow"))?;
        self.incr_by(key, negated)
    }

    /// `INCRBYFLOAT`: adds `delta` in x87 extended precision, as Redis does on x86-64, and
    /// stores the result as Redis prints it (`%.17Lf`, trailing zeros trimmed). Returns the
    /// stored text.
    pub fn incr_by_float(&self, key: impl AsRef<[u8]>, delta: f64) -> Result<Vec<u8>> {
        if !delta.is_finite() {
            return Err(Error::NotFloat);
        }
        // As a client would send it: the shortest text that reads back as `delta`.
        let text = format!("{delta}");
        let delta = LongDouble::parse(text.as_bytes()).ok_or(Error::NotFloat)?;
        self.incr_by_long_double(key.as_ref(), Some(delta))
    }

    /// `INCRBYFLOAT` with the increment as text (parsed as Redis parses it).
    pub(crate) fn incr_by_float_text(&self, key: &[u8], delta: &[u8]) -> Result<Vec<u8>> {
        self.incr_by_long_double(key, LongDouble::parse(delta))
    }

    /// The increment is checked after the key's type and value, as Redis checks them
    /// (`INCRBYFLOAT zset abc` is WRONGTYPE).
    fn incr_by_long_double(&self, key: &[u8], delta: Option<LongDouble>) -> Result<Vec<u8>> {
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let current = match entry.value().map(ValueRef::as_string) {
            None => LongDouble::from_i64(0),
            Some(None) => return Err(Error::WrongType),
            Some(Some(StringRef::Int(n))) => LongDouble::from_i64(n),
            Some(Some(StringRef::Bytes(bytes))) => LongDouble::parse(bytes).ok_or(Error::NotFloat)?,
        };
        let sum = current.add(delta.ok_or(Error::NotFloat)?);
        if !sum.is_finite() {
            return Err(Error::NanOrInfinity);
        }
        let mut text = Vec::with_capacity(24);
        if !sum.format_human(&mut text) {
            return Err(Error::NanOrInfinity);
        }
        // Redis stores the sum as a plain string (`embstr`), never as an integer.
        entry.put(NewValue::Str(&text), Ttl::Keep);
        entry.notify(NotifyFlags::STRING, "incrbyfloat");
        Ok(text)
    }

    /// `GETRANGE`: bytes `start..=end` of the string, with Redis's negative-index rules.
    pub fn getrange(&self, key: impl AsRef<[u8]>, start: i64, end: i64) -> Result<Vec<u8>> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let Some(found) = found else { return Ok(Vec::new()) };
            let mut buf = itoa::Buffer::new();
            let bytes = found.value.string_bytes(&mut buf).ok_or(Error::WrongType)?;
            Ok(substring(bytes, start, end).to_vec())
        })
    }

    /// `SETRANGE`: overwrites from `offset`, zero-padding as needed; returns the new length.
    pub fn setrange(&self, key: impl AsRef<[u8]>, offset: usize, value: impl AsRef<[u8]>) -> Result<usize> {
        let (key, value) = (key.as_ref(), value.as_ref());
        crate::db::write_set_growing!(let mut set = self.inner, [(self.db, key)]);
        let mut entry = set.entry(self.db, key);
        let old_len = match entry.value() {
            None if value.is_empty() => return Ok(0),
            None => 0,
            Some(v) => string_len(v)?,
        };
        if value.is_empty() {
            return Ok(old_len);
        }
        let end = offset.checked_add(value.len()).ok_or(Error::StringTooLong)?;
        self.inner.check_string_len(end as u64)?;
        if !entry.exists() {
            entry.put(NewValue::Str(b""), Ttl::Keep);
        }
        let bytes = entry.string_mut().ok_or(Error::WrongType)?;
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset..end].copy_from_slice(value);
        let len = bytes.len();
        entry.notify(NotifyFlags::STRING, "setrange");
        Ok(len)
    }

    /// `LCS`: the longest common subsequence of the strings at two keys (absent = empty).
    pub fn lcs(&self, key1: impl AsRef<[u8]>, key2: impl AsRef<[u8]>) -> Result<Vec<u8>> {
        let (a, b) = self.lcs_inputs(key1.as_ref(), key2.as_ref())?;
        Ok(crate::lcs::Lcs::compute(&a, &b, self.inner.max_string_len())?.sequence(&a, &b))
    }

    /// `LCS ... IDX`: the matched ranges (last first, as Redis lists them) and the length.
    pub fn lcs_matches(
        &self,
        key1: impl AsRef<[u8]>,
        key2: impl AsRef<[u8]>,
        options: LcsOptions,
    ) -> Result<(Vec<LcsMatch>, usize)> {
        let (a, b) = self.lcs_inputs(key1.as_ref(), key2.as_ref())?;
        let table = crate::lcs::Lcs::compute(&a, &b, self.inner.max_string_len())?;
        Ok((table.matches(&a, &b, options.min_match_len), table.len()))
    }

    /// The two strings for LCS, read atomically.
    fn lcs_inputs(&self, key1: &[u8], key2: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let set = self.inner.read_set([(self.db, key1), (self.db, key2)]);
        let read = |key: &[u8]| match set.get(self.db, key, Lookup::READ) {
            None => Ok(Vec::new()),
            Some(found) => found
                .value
                .string_to_vec()
                .ok_or_else(|| Error::msg("ERR The specified keys must contain string values")),
        };
        Ok((read(key1)?, read(key2)?))
    }
}

/// The value to store for string bytes: an integer when the text is canonical.
#[inline]
pub(crate) fn string_value(bytes: &[u8]) -> NewValue<'_> {
    // Only short texts can be integers; skip the parse for anything longer.
    if bytes.len() <= 20
        && let Some(n) = crate::num::canonical_i64(bytes)
    {
        return NewValue::Int(n);
    }
    NewValue::Str(bytes)
}

/// Length of a string value, or WRONGTYPE.
fn string_len(value: ValueRef<'_>) -> Result<usize> {
    match value.as_string().ok_or(Error::WrongType)? {
        StringRef::Bytes(bytes) => Ok(bytes.len()),
        StringRef::Int(n) => Ok(itoa::Buffer::new().format(n).len()),
    }
}

/// Redis's GETRANGE index arithmetic.
pub(crate) fn substring(bytes: &[u8], start: i64, end: i64) -> &[u8] {
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    if start > end || len == 0 {
        return &[];
    }
    &bytes[start as usize..=end as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_rules() {
        let s = b"This is a string";
        assert_eq!(substring(s, 0, 3), b"This");
        assert_eq!(substring(s, -3, -1), b"ing");
        assert_eq!(substring(s, 0, -1), s);
        assert_eq!(substring(s, 10, 100), b"string");
        assert_eq!(substring(s, -1, -5), b"");
        assert_eq!(substring(s, 5, 3), b"");
        assert_eq!(substring(b"", 0, -1), b"");
        assert_eq!(substring(s, -100, 2), b"Thi");
        assert_eq!(substring(s, i64::MIN, i64::MAX), s);
    }

    #[test]
    fn encodings_after_append_and_incrbyfloat_follow_redis() {
        let engine = Engine::new();
        engine.append(b"new", b"123").expect("append");
        assert_eq!(engine.object_encoding(b"new"), Some("int"));
        engine.set(b"s", b"abc", SetOptions::default()).expect("set");
        assert_eq!(engine.append(b"s", b""), Ok(3));
        assert_eq!(engine.object_encoding(b"s"), Some("raw"));
        engine.incr_by_float(b"f", 1.0).expect("incrbyfloat");
        assert_eq!(engine.object_encoding(b"f"), Some("embstr"));
        assert_eq!(engine.incr(b"f"), Ok(2));
    }

    #[test]
    fn getex_on_an_absent_key_ignores_the_expiry() {
        let engine = Engine::new();
        let invalid = GetExExpiry::Set(Expiry::In(Duration::ZERO));
        assert_eq!(engine.getex(b"missing", invalid), Ok(None));
        engine.set(b"k", b"v", SetOptions::default()).expect("set");
        assert_eq!(engine.getex(b"k", invalid), Err(Error::InvalidExpireTime("getex")));
    }

    #[test]
    fn expiry_resolution() {
        assert_eq!(Expiry::In(Duration::from_secs(1)).resolve(1000, "set"), Ok(2000));
        assert_eq!(Expiry::In(Duration::ZERO).resolve(1000, "set"), Err(Error::InvalidExpireTime("set")));
        assert_eq!(Expiry::AtUnixMs(0).resolve(1000, "set"), Err(Error::InvalidExpireTime("set")));
        assert_eq!(Expiry::AtUnixMs(5).resolve(1000, "set"), Ok(5));
        assert!(Expiry::AtUnixMs(u64::MAX).resolve(0, "set").is_err());
        assert!(Expiry::In(Duration::from_millis(i64::MAX as u64)).resolve(1, "set").is_err());
    }
}
