//! Eviction: Redis's `maxmemory` policies, candidate sampling, and the listener types.
//!
//! When a write that may grow memory finds the engine over `maxmemory`, it evicts before it
//! writes (as Redis does before a `denyoom` command), from the stripes it has locked for its
//! own keys: no extra lock, no lock-order question, and work bounded per command
//! ([`MAX_EVICTIONS_PER_WRITE`]). Keys hash uniformly over stripes, so a stripe's keys are a
//! fair sample of the keyspace. Only when those stripes have nothing to give (empty, or no key
//! with a TTL under a `volatile-*` policy) does it try others, with `try_write`, never waiting
//! for a lock (see `WriteSet::make_room`).
//!
//! Candidates are chosen as Redis does: sample `maxmemory-samples` keys of the stripe, score
//! them by the policy (idle time, LFU counter, time to expiry), and keep the best in a small
//! per-stripe [`Pool`] across evictions, so that good candidates found by earlier samples are
//! not forgotten. The victim is re-scored before it goes, since it may have been read since.

pub(crate) mod sketch;

use crate::keyspace::Stripe;
use crate::keyspace::access::{self, LfuTuning};

/// Most keys one write evicts before it goes ahead anyway (memory may then stay over the
/// limit for a few writes, as Redis's `maxmemory-eviction-tenacity` allows).
pub(crate) const MAX_EVICTIONS_PER_WRITE: usize = 64;
/// Candidates a stripe's pool keeps (Redis's `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;
/// Largest `maxmemory-samples` (Redis's limit).
pub(crate) const MAX_SAMPLES: u32 = 64;
/// Free slots a sample looks past before giving up on a position.
const PROBE: u32 = 32;
/// Default `maxmemory-samples`.
pub(crate) const DEFAULT_SAMPLES: u32 = 5;

/// What to do when a write would take memory over `maxmemory` (Redis's `maxmemory-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[repr(u8)]
pub enum EvictionPolicy {
    /// Refuse writes that may grow memory with `OOM command not allowed when used memory >
    /// 'maxmemory'.` (the default).
    #[default]
    NoEviction = 7,
    /// Evict the least recently used keys.
    AllKeysLru = 4,
    /// Evict the least frequently used keys.
    AllKeysLfu = 5,
    /// Evict random keys.
    AllKeysRandom = 6,
    /// Evict the least recently used keys among those with a TTL.
    VolatileLru = 0,
    /// Evict the least frequently used keys among those with a TTL.
    VolatileLfu = 1,
    /// Evict random keys among those with a TTL.
    VolatileRandom = 2,
    /// Evict the keys with the nearest expiry.
    VolatileTtl = 3,
}

impl EvictionPolicy {
    /// Every policy, in Redis's order of listing.
    pub const ALL: [EvictionPolicy; 8] = [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
        EvictionPolicy::AllKeysLru,
        EvictionPolicy::AllKeysLfu,
        EvictionPolicy::AllKeysRandom,
        EvictionPolicy::NoEviction,
    ];

    /// The name `CONFIG` uses (`allkeys-lru`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
        }
    }

    /// Parses a policy name, case-insensitively.
    pub fn parse(name: &[u8]) -> Option<EvictionPolicy> {
        EvictionPolicy::ALL.into_iter().find(|p| name.eq_ignore_ascii_case(p.name().as_bytes()))
    }

    /// Does the policy track access frequency (so entries' metadata is an LFU counter)?
    pub fn is_lfu(self) -> bool {
        matches!(self, EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu)
    }

    /// Does the policy only evict keys that have a TTL?
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileLfu
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
        )
    }

    /// Index into per-policy tables: the position in [`EvictionPolicy::ALL`] (the
    /// discriminants follow that order; `names_round_trip` checks it).
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The policy at `index` (see [`EvictionPolicy::index`]).
    pub(crate) fn from_index(index: usize) -> EvictionPolicy {
        EvictionPolicy::ALL.get(index).copied().unwrap_or_default()
    }
}

/// An admission filter in front of eviction, for pure-cache use.
///
/// With [`Admission::TinyLfu`], a write that creates a key while memory is full keeps the new
/// key only if a frequency sketch of recent accesses rates it above the key eviction would
/// drop for it; otherwise the write is carried out and the new key evicted at once, so that a
/// stream of one-time keys (a scan) cannot flush the keys that are read again and again.
/// Commands still answer as if the write stayed (a cache may drop any key at any time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Admission {
    /// Every write is kept (Redis's behaviour; the default).
    #[default]
    Always,
    /// TinyLFU: admit a new key only when it is more frequent than the victim.
    TinyLfu,
}

/// Why a key left the keyspace, or its value was replaced, as a removal listener hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Its TTL passed (found on access or by the active expiry cycle).
    Expired,
    /// Evicted to stay under `maxmemory`, or not admitted (see [`Admission`]).
    Evicted,
    /// Deleted by a command: `DEL`, `UNLINK`, `GETDEL`, a pop that emptied a collection, the
    /// source of `RENAME` or `MOVE`, `FLUSHDB`/`FLUSHALL`.
    Deleted,
    /// A write stored a whole new value over the old one (`SET`, `INCR`, a `*STORE` command,
    /// `RENAME` or `COPY ... REPLACE` onto it). In-place edits (`APPEND`, `LPUSH` to an
    /// existing list) are not reported.
    Replaced,
}

/// One removal, as a removal listener sees it (see
/// [`crate::EngineBuilder::removal_listener`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal<'a> {
    /// The database.
    pub db: usize,
    /// The key.
    pub key: &'a [u8],
    /// Why.
    pub cause: RemovalCause,
}

/// A removal listener (see [`crate::EngineBuilder::removal_listener`]).
#[derive(Clone)]
pub(crate) struct Listener(pub(crate) std::sync::Arc<dyn Fn(&Removal<'_>) + Send + Sync>);

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

/// Removals recorded under stripe locks, for the listener to hear once they are released.
#[derive(Debug, Default)]
pub(crate) struct Removals {
    list: Vec<(usize, Vec<u8>, RemovalCause)>,
}

impl Removals {
    /// Records a removal.
    pub(crate) fn push(&mut self, db: usize, key: &[u8], cause: RemovalCause) {
        self.list.push((db, key.to_vec(), cause));
    }

    /// Is nothing recorded?
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Tells `listener` about every removal recorded, in order, and forgets them.
    pub(crate) fn deliver(&mut self, listener: Option<&Listener>) {
        let list = std::mem::take(&mut self.list);
        if let Some(listener) = listener {
            for (db, key, cause) in &list {
                (listener.0)(&Removal { db: *db, key, cause: *cause });
            }
        }
    }
}

/// What scoring reads besides the entry: the time and the LFU tuning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreContext {
    pub(crate) policy: EvictionPolicy,
    pub(crate) now_ms: u64,
    pub(crate) tuning: LfuTuning,
    pub(crate) samples: u32,
}

impl ScoreContext {
    /// How good a victim the entry at `pos` is (higher: evict sooner), or `None` when the
    /// slot is free or the policy may not evict it.
    fn score(&self, stripe: &Stripe, pos: u32) -> Option<u64> {
        let slot = stripe.slot(pos);
        if !slot.is_occupied() {
            return None;
        }
        let expire_at_ms = slot.expire_at_ms();
        if self.policy.volatile_only() && expire_at_ms.is_none() {
            return None;
        }
        let meta = slot.meta();
        Some(match self.policy {
            EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru => {
                access::lru_idle_ms(meta, self.now_ms)
            }
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu => {
                let secs = access::clock_secs(self.now_ms);
                let frequency = access::frequency(meta, secs, self.tuning);
                // Least frequent first; among equals, the longest idle.
                u64::from(u8::MAX - frequency) << 32 | u64::from(access::idle_secs(meta, secs))
            }
            EvictionPolicy::VolatileTtl => u64::MAX - expire_at_ms.unwrap_or(u64::MAX),
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom | EvictionPolicy::NoEviction => 0,
        })
    }
}

/// A stripe's best eviction candidates: positions with their scores, ascending by score.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    entries: [(u32, u64); POOL_SIZE],
    len: usize,
}

impl Pool {
    /// Adds or updates a candidate; when full, the worst one gives way (or `pos` is dropped).
    fn offer(&mut self, pos: u32, score: u64) {
        if let Some(i) = self.entries[..self.len].iter().position(|&(p, _)| p == pos) {
            self.remove_at(i);
        }
        if self.len == POOL_SIZE {
            if score <= self.entries[0].1 {
                return;
            }
            self.remove_at(0);
        }
        let at = self.entries[..self.len].partition_point(|&(_, s)| s <= score);
        self.entries.copy_within(at..self.len, at + 1);
        self.entries[at] = (pos, score);
        self.len += 1;
    }

    fn remove_at(&mut self, i: usize) {
        self.entries.copy_within(i + 1..self.len, i);
        self.len -= 1;
    }

    /// Takes the best candidate.
    fn pop(&mut self) -> Option<(u32, u64)> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.entries[self.len])
    }

    /// The best candidate, left in place.
    pub(crate) fn peek(&self) -> Option<(u32, u64)> {
        self.len.checked_sub(1).map(|i| self.entries[i])
    }

    /// Forgets every candidate.
    fn clear(&mut self) {
        self.len = 0;
    }
}

/// A random position of `stripe` holding an entry the policy may evict, if one is found
/// quickly: volatile policies draw from the stripe's list of keys with a TTL, the others from
/// all positions, looking past a few free slots.
fn sample(stripe: &mut Stripe, ctx: &ScoreContext, random: &mut impl FnMut() -> u32) -> Option<u32> {
    if ctx.policy.volatile_only() {
        for _ in 0..4 {
            let listed = stripe.volatile_len();
            if listed == 0 {
                return None;
            }
            if let Some(pos) = stripe.volatile_at(random() as usize % listed)
                && stripe.slot(pos).expire_at_ms().is_some()
            {
                return Some(pos);
            }
        }
        return None;
    }
    let capacity = stripe.capacity();
    if stripe.len() == 0 || capacity == 0 {
        return None;
    }
    occupied_from(stripe, random() % capacity)
}

/// The first occupied position from `start` on (wrapping), looking at most [`PROBE`] slots.
fn occupied_from(stripe: &Stripe, start: u32) -> Option<u32> {
    let capacity = stripe.capacity();
    (0..PROBE.min(capacity)).map(|i| (start + i) % capacity).find(|&pos| stripe.slot(pos).is_occupied())
}

/// A stripe's best candidate under `ctx`'s policy, as (position, score), left in place (see
/// [`take_victim`]), or `None` when the stripe has nothing the policy may evict.
///
/// Samples `maxmemory-samples` keys into the stripe's pool, then re-scores the pool's best
/// before answering: it may have been read, or its slot reused, since it was sampled. A
/// candidate that fell behind goes back with its new score.
pub(crate) fn peek_victim(
    stripe: &mut Stripe,
    ctx: &ScoreContext,
    random: &mut impl FnMut() -> u32,
) -> Option<(u32, u64)> {
    if stripe.len() == 0 {
        return None;
    }
    if matches!(ctx.policy, EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom) {
        let pos = (0..8).find_map(|_| sample(stripe, ctx, random))?;
        stripe.pool_mut().clear();
        stripe.pool_mut().offer(pos, 0);
        return Some((pos, 0));
    }
    let samples = (ctx.samples.clamp(1, MAX_SAMPLES)) as usize;
    if ctx.policy.volatile_only() {
        for _ in 0..samples {
            if let Some(pos) = sample(stripe, ctx, random)
                && let Some(score) = ctx.score(stripe, pos)
            {
                stripe.pool_mut().offer(pos, score);
            }
        }
    } else {
        // Random slots are cache misses: start loading them all (and the pool's best, which is
        // re-scored below) before reading any, so that they overlap.
        let capacity = stripe.capacity();
        let mut starts = [0u32; MAX_SAMPLES as usize];
        for start in &mut starts[..samples] {
            *start = random() % capacity;
            crate::hint::prefetch(stripe.slot(*start));
        }
        if let Some((pos, _)) = stripe.pool().and_then(Pool::peek) {
            crate::hint::prefetch(stripe.slot(pos));
        }
        for &start in &starts[..samples] {
            if let Some(pos) = occupied_from(stripe, start)
                && let Some(score) = ctx.score(stripe, pos)
            {
                stripe.pool_mut().offer(pos, score);
            }
        }
    }
    for _ in 0..POOL_SIZE * 2 {
        // No pool yet (nothing sampled was eligible): nothing to answer, and none is made.
        let (pos, pooled) = stripe.pool()?.peek()?;
        match ctx.score(stripe, pos) {
            None => {
                stripe.pool_mut().pop();
            }
            Some(score) if score < pooled => {
                stripe.pool_mut().pop();
                stripe.pool_mut().offer(pos, score);
            }
            Some(score) => return Some((pos, score)),
        }
    }
    None
}

/// Removes the candidate [`peek_victim`] answered from the pool, as it is about to go.
pub(crate) fn take_victim(stripe: &mut Stripe, pos: u32) {
    let pool = stripe.pool_mut();
    if pool.peek().is_some_and(|(p, _)| p == pos) {
        pool.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for policy in EvictionPolicy::ALL {
            assert_eq!(EvictionPolicy::parse(policy.name().as_bytes()), Some(policy));
            assert_eq!(EvictionPolicy::from_index(policy.index()), policy);
        }
        assert_eq!(EvictionPolicy::parse(b"ALLKEYS-LRU"), Some(EvictionPolicy::AllKeysLru));
        assert_eq!(EvictionPolicy::parse(b"lru"), None);
        assert!(EvictionPolicy::VolatileTtl.volatile_only());
        assert!(!EvictionPolicy::AllKeysLfu.volatile_only());
        assert!(EvictionPolicy::VolatileLfu.is_lfu());
    }

    #[test]
    fn pool_keeps_the_best_sorted() {
        let mut pool = Pool::default();
        for (pos, score) in (0..40u32).map(|i| (i, u64::from((i * 7919) % 101))) {
            pool.offer(pos, score);
        }
        assert_eq!(pool.len, POOL_SIZE);
        let mut popped = Vec::new();
        while let Some((_, score)) = pool.pop() {
            popped.push(score);
        }
        let mut all: Vec<u64> = (0..40u32).map(|i| u64::from((i * 7919) % 101)).collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(popped, all[..POOL_SIZE]);
    }

    #[test]
    fn pool_updates_a_known_position() {
        let mut pool = Pool::default();
        pool.offer(1, 10);
        pool.offer(2, 20);
        pool.offer(1, 30);
        assert_eq!(pool.len, 2);
        assert_eq!(pool.pop(), Some((1, 30)));
        assert_eq!(pool.peek(), Some((2, 20)));
        assert_eq!(pool.pop(), Some((2, 20)));
        assert_eq!(pool.pop(), None);
    }
}
