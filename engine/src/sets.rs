//! Set commands on [`Engine`]: the typed API that `execute` handlers call.
//!
//! A key never holds an empty set: removing the last member deletes the key. Commands on
//! several keys lock every stripe they name at once, so they see (and store) one consistent
//! state.

use crate::db::{EntryMut, Lookup, Ttl};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keyspace::access::fast_random;
use crate::notify::NotifyFlags;
use crate::types::set::{Set, SetLimits};
use crate::value::{KeyType, NewValue, Value, ValueRef};

/// Uniform 64-bit randomness for member sampling.
fn random64() -> u64 {
    u64::from(fast_random()) << 32 | u64::from(fast_random())
}

/// The set at an entry, `None` when absent, WRONGTYPE when another type.
fn set_of<'v>(value: Option<ValueRef<'v>>) -> Result<Option<&'v Set>> {
    match value {
        None => Ok(None),
        Some(ValueRef::Set(set)) => Ok(Some(set)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Runs `f` on the entry's set for changes (absent: `None`), records `event` when `changed`
/// says the result changed the set, then deletes the key (event `del`) if the set ended up
/// empty.
fn change_set<R>(
    entry: &mut EntryMut<'_>,
    event: &'static str,
    changed: impl FnOnce(&R) -> bool,
    f: impl FnOnce(Option<&mut Set>) -> Result<R>,
) -> Result<R> {
    if entry.value().is_some_and(|v| v.key_type() != KeyType::Set) {
        return Err(Error::WrongType);
    }
    let result = match entry.value_mut() {
        Some(Value::Set(set)) => f(Some(set)),
        _ => f(None),
    };
    if result.as_ref().is_ok_and(changed) {
        entry.notify(NotifyFlags::SET, event);
    }
    if entry.value().is_some_and(|v| matches!(v, ValueRef::Set(set) if set.len() == 0)) {
        entry.delete();
        entry.notify(NotifyFlags::GENERIC, "del");
    }
    result
}

/// Stores `members` as the set at `entry` (replacing whatever was there, dropping any expiry),
/// or deletes the key when there are none. Returns the stored set's size.
fn store_set(
    entry: &mut EntryMut<'_>,
    members: &[Vec<u8>],
    limits: SetLimits,
    event: &'static str,
) -> Result<usize> {
    let Some(first) = members.first() else {
        if entry.delete() {
            entry.notify(NotifyFlags::GENERIC, "del");
        }
        return Ok(0);
    };
    let mut set = Set::new_for(first, limits);
    for member in members {
        set.insert(member, limits)?;
    }
    let len = set.len();
    entry.put(NewValue::Owned(Value::Set(Box::new(set))), Ttl::Clear);
    entry.notify(NotifyFlags::SET, event);
    Ok(len)
}

/// Which set operation `SINTER`, `SUNION` and `SDIFF` (and their `STORE` forms) compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// The members of an operation over `sets` (absent keys are empty sets).
fn compute(op: Algebra, sets: &[Option<&Set>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match op {
        Algebra::Inter => {
            if sets.iter().any(Option::is_none) {
                return out;
            }
            let mut present: Vec<&Set> = sets.iter().flatten().copied().collect();
            present.sort_by_key(|set| set.len());
            if let Some((smallest, rest)) = present.split_first() {
                smallest.for_each(|m| {
                    if rest.iter().all(|set| set.contains(m)) {
                        out.push(m.to_vec());
                    }
                });
            }
        }
        Algebra::Union => {
            let mut seen = std::collections::HashSet::new();
            for set in sets.iter().flatten() {
                set.for_each(|m| {
                    if seen.insert(m.to_vec()) {
                        out.push(m.to_vec());
                    }
                });
            }
        }
        Algebra::Diff => {
            if let Some(Some(first)) = sets.first() {
                first.for_each(|m| {
                    if !sets[1..].iter().flatten().any(|set| set.contains(m)) {
                        out.push(m.to_vec());
                    }
                });
            }
        }
    }
    out
}

impl Engine {
    /// `SADD`: adds `members` to the set at `key` (created if absent); returns how many were
    /// new.
    ///
    /// ```
    /// let engine = memora_engine::Engine::new();
    /// assert_eq!(engine.sadd(b"s", &[b"a", b"b", b"a"]).unwrap(), 2);
    /// assert!(engine.sismember(b"s", b"b").unwrap());
    /// ```
    pub fn sadd<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize> {
        let key = key.as_ref();
        let limits = self.inner.set_limits();
        crate::db::write_set_growing!(let mut locked = self.inner, [(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        if entry.value().is_some_and(|v| v.key_type() != KeyType::Set) {
            return Err(Error::WrongType);
        }
        if !entry.exists() {
            let Some(first) = members.first() else { return Ok(0) };
            let set = Set::new_for(first.as_ref(), limits);
            entry.put(NewValue::Owned(Value::Set(Box::new(set))), Ttl::Clear);
        }
        change_set(
            &mut entry,
            "sadd",
            |added| *added > 0,
            |set| {
                let Some(set) = set else { return Ok(0) };
                let mut added = 0;
                for member in members {
                    added += usize::from(set.insert(member.as_ref(), limits)?);
                }
                Ok(added)
            },
        )
    }

    /// `SREM`: removes `members`; returns how many were there.
    pub fn srem<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize> {
        let key = key.as_ref();
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        change_set(
            &mut entry,
            "srem",
            |removed| *removed > 0,
            |set| {
                let Some(set) = set else { return Ok(0) };
                Ok(members.iter().filter(|m| set.remove(m.as_ref())).count())
            },
        )
    }

    /// `SISMEMBER`.
    pub fn sismember(&self, key: impl AsRef<[u8]>, member: impl AsRef<[u8]>) -> Result<bool> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            Ok(set_of(found.map(|f| f.value))?.is_some_and(|set| set.contains(member.as_ref())))
        })
    }

    /// `SMISMEMBER`: membership of each of `members`.
    pub fn smismember<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<Vec<bool>> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let set = set_of(found.map(|f| f.value))?;
            Ok(members.iter().map(|m| set.is_some_and(|set| set.contains(m.as_ref()))).collect())
        })
    }

    /// `SCARD`: the number of members (0 when absent).
    pub fn scard(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            Ok(set_of(found.map(|f| f.value))?.map_or(0, Set::len))
        })
    }

    /// `SMEMBERS`: every member (order unspecified).
    pub fn smembers(&self, key: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            Ok(set_of(found.map(|f| f.value))?.map_or_else(Vec::new, Set::members))
        })
    }

    /// `SPOP key count`: removes and returns up to `count` distinct random members.
    pub fn spop(&self, key: impl AsRef<[u8]>, count: usize) -> Result<Vec<Vec<u8>>> {
        let key = key.as_ref();
        let mut locked = self.inner.write_set([(self.db, key)]);
        let mut entry = locked.entry(self.db, key);
        change_set(
            &mut entry,
            "spop",
            |popped: &Vec<Vec<u8>>| !popped.is_empty(),
            |set| {
                let Some(set) = set else { return Ok(Vec::new()) };
                if count >= set.len() {
                    let all = set.members();
                    for member in &all {
                        set.remove(member);
                    }
                    return Ok(all);
                }
                let mut popped = Vec::with_capacity(count);
                while popped.len() < count {
                    let Some(member) = set.random_member(random64) else { break };
                    set.remove(&member);
                    popped.push(member);
                }
                Ok(popped)
            },
        )
    }

    /// `SRANDMEMBER key count`: with `count >= 0`, up to `count` distinct random members; with
    /// `count < 0`, exactly `-count` random members, possibly repeated.
    pub fn srandmember(&self, key: impl AsRef<[u8]>, count: i64) -> Result<Vec<Vec<u8>>> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let Some(set) = set_of(found.map(|f| f.value))? else { return Ok(Vec::new()) };
            if count < 0 {
                let n = count.unsigned_abs();
                // Refuse what could not be answered rather than allocate without bound.
                if n > (i64::MAX as u64) / 2 {
                    return Err(Error::msg("ERR value is out of range"));
                }
                return Ok((0..n).filter_map(|_| set.random_member(random64)).collect());
            }
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count >= set.len() {
                return Ok(set.members());
            }
            // Few wanted: sample until distinct; many wanted: copy all and drop at random.
            if count * 3 < set.len() {
                let mut picked = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some(member) = set.random_member(random64) else { break };
                    if picked.insert(member.clone()) {
                        out.push(member);
                    }
                }
                return Ok(out);
            }
            let mut all = set.members();
            while all.len() > count {
                let at = (random64() % all.len() as u64) as usize;
                all.swap_remove(at);
            }
            Ok(all)
        })
    }

    /// `SMOVE`: moves `member` from the set at `src` to the set at `dst`; returns whether it
    /// was in `src`.
    pub fn smove(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<bool> {
        let (src, dst, member) = (src.as_ref(), dst.as_ref(), member.as_ref());
        let limits = self.inner.set_limits();
        let mut locked = self.inner.write_set([(self.db, src), (self.db, dst)]);
        let source = set_of(locked.entry(self.db, src).value())?.map(|set| set.contains(member));
        set_of(locked.entry(self.db, dst).value())?;
        match source {
            None | Some(false) => return Ok(false),
            Some(true) if src == dst => return Ok(true),
            Some(true) => {}
        }
        let removed = |removed: &Option<bool>| *removed == Some(true);
        change_set(&mut locked.entry(self.db, src), "srem", removed, |set| {
            Ok(set.map(|set| set.remove(member)))
        })?;
        let mut target = locked.entry(self.db, dst);
        if !target.exists() {
            target.put(NewValue::Owned(Value::Set(Box::new(Set::new_for(member, limits)))), Ttl::Clear);
        }
        change_set(
            &mut target,
            "sadd",
            |added| *added,
            |set| set.map_or(Ok(false), |set| set.insert(member, limits)),
        )?;
        Ok(true)
    }

    /// `SINTER`, `SUNION`, `SDIFF` over `keys`, computed on the sets in place under the read
    /// locks of all of them.
    fn set_algebra<K: AsRef<[u8]>>(&self, op: Algebra, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        let locked = self.inner.read_set(keys.iter().map(|k| (self.db, k.as_ref())));
        let mut sets = Vec::with_capacity(keys.len());
        for key in keys {
            sets.push(set_of(locked.get(self.db, key.as_ref(), Lookup::READ).map(|f| f.value))?);
        }
        Ok(compute(op, &sets))
    }

    /// `SINTER`: the members in every one of `keys`.
    pub fn sinter<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(Algebra::Inter, keys)
    }

    /// `SUNION`: the members in any of `keys`.
    pub fn sunion<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(Algebra::Union, keys)
    }

    /// `SDIFF`: the members of the first key in none of the others.
    pub fn sdiff<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(Algebra::Diff, keys)
    }

    /// The `STORE` forms: computes over `keys` and stores at `dst` in one atomic step.
    fn set_algebra_store<K: AsRef<[u8]>>(&self, op: Algebra, dst: &[u8], keys: &[K]) -> Result<usize> {
        let event = match op {
            Algebra::Inter => "sinterstore",
            Algebra::Union => "sunionstore",
            Algebra::Diff => "sdiffstore",
        };
        let limits = self.inner.set_limits();
        let names = keys.iter().map(|k| (self.db, k.as_ref())).chain([(self.db, dst)]);
        crate::db::write_set_growing!(let mut locked = self.inner, names);
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(locked.entry(self.db, key.as_ref()).value().map(ValueRef::to_owned_value));
        }
        let mut sets = Vec::with_capacity(values.len());
        for value in &values {
            sets.push(set_of(value.as_ref().map(Value::as_ref))?);
        }
        let members = compute(op, &sets);
        store_set(&mut locked.entry(self.db, dst), &members, limits, event)
    }

    /// `SINTERSTORE`: stores `SINTER keys` at `dst`; returns its size.
    pub fn sinterstore<K: AsRef<[u8]>>(&self, dst: impl AsRef<[u8]>, keys: &[K]) -> Result<usize> {
        self.set_algebra_store(Algebra::Inter, dst.as_ref(), keys)
    }

    /// `SUNIONSTORE`: stores `SUNION keys` at `dst`; returns its size.
    pub fn sunionstore<K: AsRef<[u8]>>(&self, dst: impl AsRef<[u8]>, keys: &[K]) -> Result<usize> {
        self.set_algebra_store(Algebra::Union, dst.as_ref(), keys)
    }

    /// `SDIFFSTORE`: stores `SDIFF keys` at `dst`; returns its size.
    pub fn sdiffstore<K: AsRef<[u8]>>(&self, dst: impl AsRef<[u8]>, keys: &[K]) -> Result<usize> {
        self.set_algebra_store(Algebra::Diff, dst.as_ref(), keys)
    }

    /// `SINTERCARD`: the size of the intersection, counting stops at `limit` (0: no limit).
    pub fn sintercard<K: AsRef<[u8]>>(&self, keys: &[K], limit: usize) -> Result<usize> {
        let members = self.sinter(keys)?;
        Ok(if limit == 0 { members.len() } else { members.len().min(limit) })
    }

    /// `SSCAN` step: members from `cursor` on (about `count`), those matching `pattern` when
    /// given, and the next cursor (0 when done).
    pub fn sscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<Vec<u8>>)> {
        self.inner.read(self.db, key.as_ref(), Lookup::READ, |found| {
            let Some(set) = set_of(found.map(|f| f.value))? else { return Ok((0, Vec::new())) };
            let mut out = Vec::new();
            let next = set.scan(cursor, count, |m| {
                if pattern.is_none_or(|p| crate::glob::glob_match(p, m, false)) {
                    out.push(m.to_vec());
                }
            });
            Ok((next, out))
        })
    }
}
