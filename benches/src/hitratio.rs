//! The hit-ratio benchmark's traces, its exact LRU and its replay loop (the caches under test
//! are adapted in [`crate::hitratio_caches`]; the driver is `src/bin/hitratio.rs`).
//!
//! # Traces
//!
//! A trace is a sequence of key ids; id `i` is the 16-byte key [`write_key`] makes of it. All
//! traces are pure functions of their parameters and seed.
//!
//! - **Zipf** ([`zipf_trace`]): `requests` ids drawn from Zipf(`s`) over `keys` ids (`s` =
//!   0.9, 0.99, 1.1), with the ranks scattered over the key space by the fixed permutation of
//!   [`KeySampler`] (so the hottest key is not id 0).
//! - **Scan-polluted** ([`scan_polluted_trace`]), for a cache of `C` entries: the Zipf 0.99
//!   trace, into which one-off sequential scans are cut. The trace opens with `2C` Zipf
//!   requests, then alternates a scan of `C` fresh ids (`keys`, `keys + 1`, ... counting up
//!   over the whole trace, so no scanned id is ever requested again, nor is it a Zipf id) with
//!   `4C` Zipf requests, until it holds `requests` ids. Scans are thus 20% of the requests
//!   whatever the cache size, and every scan is as long as the cache: exactly enough to flush
//!   an exact LRU, so the trace measures scan resistance. The Zipf requests are the first ones
//!   of the Zipf 0.99 trace, in order, so the trace differs from one cache size to the next
//!   only in where and how long its scans are.
//!
//! # Replay
//!
//! [`replay`] plays a trace cache-aside on one thread: for each id, GET its key; on a miss,
//! SET it to a fixed 32-byte value ([`VALUE`]). The hit ratio is hits / requests: the first
//! request of every key is a miss for every cache alike (compulsory misses are counted).
//!
//! # Exact LRU
//!
//! [`ExactLru`] is the reference: a hash map from key to a slot of a `Vec`-based doubly linked
//! list in recency order, O(1) per operation, evicting exactly the least recently used key.
//! `allkeys-lru` (which samples a few keys and evicts the idlest of them, with idle times in
//! the engine's 4 ms LRU clock units) is held to within 3 points of it.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::workload::{Distribution, KEY_LEN, KeySampler, SplitMix64, VALUE_LEN, write_key};

/// The value every replay SETs on a miss.
pub const VALUE: [u8; VALUE_LEN] = *b"hit-ratio-value:0123456789abcdef";

/// In the scan-polluted trace: Zipf requests between two scans, as a multiple of the cache
/// size (the first scan comes after half as many).
pub const SCAN_GAP_CACHE_MULTIPLE: usize = 4;

/// `requests` key ids in `0..keys` drawn from Zipf(`exponent`), determined by `seed`.
pub fn zipf_trace(keys: usize, requests: usize, exponent: f64, seed: u64) -> Vec<u64> {
    let sampler = KeySampler::new(keys, Distribution::Zipf(exponent));
    let mut rng = SplitMix64::new(seed);
    (0..requests).map(|_| sampler.sample(&mut rng) as u64).collect()
}

/// The scan-polluted trace for a cache of `capacity` entries over ids `0..keys` (see the
/// module docs): `zipf`'s requests in order, with a scan of `capacity` fresh ids (from `keys`
/// up) after the first `2 × capacity` of them and then after every `4 × capacity`, cut to
/// `requests` ids. Shorter when `zipf` runs out first.
pub fn scan_polluted_trace(zipf: &[u64], keys: usize, capacity: usize, requests: usize) -> Vec<u64> {
    let capacity = capacity.max(1);
    let gap = SCAN_GAP_CACHE_MULTIPLE * capacity;
    let mut trace = Vec::with_capacity(requests);
    let mut next_fresh = keys as u64;
    let mut zipf_until_scan = gap / 2;
    let mut zipf = zipf.iter();
    while trace.len() < requests {
        if zipf_until_scan == 0 {
            let scan_len = capacity.min(requests - trace.len());
            trace.extend(next_fresh..next_fresh + scan_len as u64);
            next_fresh += scan_len as u64;
            zipf_until_scan = gap;
            continue;
        }
        let Some(&id) = zipf.next() else { break };
        trace.push(id);
        zipf_until_scan -= 1;
    }
    trace
}

/// The hit ratio of a cache that never evicts, in percent: every request but the first of
/// each key hits. No cache of any policy does better on `trace`.
pub fn ceiling_hit_percent(trace: &[u64]) -> f64 {
    if trace.is_empty() {
        return 0.0;
    }
    let mut seen =
        std::collections::HashSet::with_capacity_and_hasher(trace.len() / 4, ahash::RandomState::new());
    let distinct = trace.iter().filter(|&&id| seen.insert(id)).count();
    100.0 * (trace.len() - distinct) as f64 / trace.len() as f64
}

/// A cache under test, driven one request at a time from one thread.
pub trait HitCache {
    /// GET: is `key` cached? (A hit may refresh the key's recency or frequency.)
    fn get(&mut self, key: &[u8; KEY_LEN]) -> Result<bool, String>;

    /// SET `key` to `value`, evicting as the cache's policy says.
    fn set(&mut self, key: &[u8; KEY_LEN], value: &[u8; VALUE_LEN]) -> Result<(), String>;

    /// Keys held now, after any pending maintenance.
    fn keys_held(&mut self) -> usize;

    /// Called once per request before its GET (a simulated clock ticks here).
    fn tick(&mut self) {}
}

/// What one replay measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// Requests replayed.
    pub requests: u64,
    /// Requests whose GET hit.
    pub hits: u64,
    /// GETs or SETs that returned an error (a failed GET counts as a miss).
    pub errors: u64,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Keys the cache held at the end.
    pub keys_held: usize,
    /// Wall time of the replay.
    pub elapsed: Duration,
}

impl ReplayOutcome {
    /// Hits over requests, in percent (0 for an empty trace).
    pub fn hit_percent(&self) -> f64 {
        if self.requests == 0 { 0.0 } else { 100.0 * self.hits as f64 / self.requests as f64 }
    }
}

/// Replays `trace` cache-aside against `cache` (see the module docs).
pub fn replay<C: HitCache + ?Sized>(trace: &[u64], cache: &mut C) -> ReplayOutcome {
    let start = Instant::now();
    let mut key = [0u8; KEY_LEN];
    let (mut hits, mut errors, mut first_error) = (0u64, 0u64, None);
    let mut record = |error: String| {
        errors += 1;
        first_error.get_or_insert(error);
    };
    for &id in trace {
        write_key(id as usize, &mut key);
        cache.tick();
        match cache.get(&key) {
            Ok(true) => hits += 1,
            Ok(false) => {
                if let Err(error) = cache.set(&key, &VALUE) {
                    record(error);
                }
            }
            Err(error) => record(error),
        }
    }
    let keys_held = cache.keys_held();
    ReplayOutcome {
        requests: trace.len() as u64,
        hits,
        errors,
        first_error,
        keys_held,
        elapsed: start.elapsed(),
    }
}

/// No slot: the end of the recency list.
const NIL: u32 = u32::MAX;

/// One slot of [`ExactLru`]'s recency list.
#[derive(Debug, Clone)]
struct Node<K> {
    key: K,
    /// Towards the most recently used end.
    newer: u32,
    /// Towards the least recently used end.
    older: u32,
}

/// An exact LRU set of at most `capacity` keys: O(1) lookup, promotion and eviction through a
/// hash map from key to slot and a doubly linked recency list threaded through a `Vec` of slots
/// (an evicted key's slot is reused by the key that displaced it, so the `Vec` never grows past
/// `capacity`).
///
/// ```
/// use memora_benches::hitratio::ExactLru;
///
/// let mut lru = ExactLru::new(2);
/// lru.insert(1);
/// lru.insert(2);
/// assert!(lru.get(&1)); // 1 is now the most recent
/// assert_eq!(lru.insert(3), Some(2)); // so 2 goes
/// assert!(!lru.get(&2));
/// ```
#[derive(Debug, Clone)]
pub struct ExactLru<K> {
    capacity: usize,
    slots: HashMap<K, u32, ahash::RandomState>,
    nodes: Vec<Node<K>>,
    /// Most recently used slot.
    newest: u32,
    /// Least recently used slot: the next victim.
    oldest: u32,
}

impl<K: Hash + Eq + Clone> ExactLru<K> {
    /// An empty LRU holding at most `capacity` keys (0: holds nothing); `capacity` is capped
    /// at `u32::MAX - 1`.
    pub fn new(capacity: usize) -> ExactLru<K> {
        let capacity = capacity.min(NIL as usize - 1);
        // Fixed seeds: the map's layout, and so the replay's run time, repeat across runs.
        let hasher = ahash::RandomState::with_seeds(1, 2, 3, 4);
        ExactLru {
            capacity,
            slots: HashMap::with_capacity_and_hasher(capacity, hasher),
            nodes: Vec::with_capacity(capacity),
            newest: NIL,
            oldest: NIL,
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Does it hold no key?
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Is `key` held? Makes it the most recently used if so.
    pub fn get(&mut self, key: &K) -> bool {
        let Some(&slot) = self.slots.get(key) else { return false };
        self.unlink(slot);
        self.push_newest(slot);
        true
    }

    /// Is `key` held? Leaves the recency order alone.
    pub fn contains(&self, key: &K) -> bool {
        self.slots.contains_key(key)
    }

    /// Makes `key` the most recently used, adding it if absent; returns the key evicted to make
    /// room, if any (with capacity 0, `key` itself: nothing is held).
    pub fn insert(&mut self, key: K) -> Option<K> {
        if self.get(&key) {
            return None;
        }
        if self.capacity == 0 {
            return Some(key);
        }
        if self.nodes.len() < self.capacity {
            let slot = self.nodes.len() as u32;
            self.nodes.push(Node { key: key.clone(), newer: NIL, older: NIL });
            self.slots.insert(key, slot);
            self.push_newest(slot);
            return None;
        }
        let slot = self.oldest;
        self.unlink(slot);
        let evicted = std::mem::replace(&mut self.nodes[slot as usize].key, key.clone());
        self.slots.remove(&evicted);
        self.slots.insert(key, slot);
        self.push_newest(slot);
        Some(evicted)
    }

    /// The keys from most to least recently used.
    pub fn keys_newest_first(&self) -> Vec<K> {
        let mut keys = Vec::with_capacity(self.nodes.len());
        let mut slot = self.newest;
        while slot != NIL {
            let node = &self.nodes[slot as usize];
            keys.push(node.key.clone());
            slot = node.older;
        }
        keys
    }

    /// Takes `slot` out of the recency list.
    fn unlink(&mut self, slot: u32) {
        let Node { newer, older, .. } = self.nodes[slot as usize];
        match newer {
            NIL => self.newest = older,
            newer => self.nodes[newer as usize].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            older => self.nodes[older as usize].newer = newer,
        }
    }

    /// Puts the unlinked `slot` at the most recently used end.
    fn push_newest(&mut self, slot: u32) {
        let old_newest = self.newest;
        let node = &mut self.nodes[slot as usize];
        node.newer = NIL;
        node.older = old_newest;
        match old_newest {
            NIL => self.oldest = slot,
            old => self.nodes[old as usize].newer = slot,
        }
        self.newest = slot;
    }
}

/// [`ExactLru`] as a [`HitCache`]: GET promotes, SET inserts.
#[derive(Debug, Clone)]
pub struct ExactLruCache(pub ExactLru<[u8; KEY_LEN]>);

impl HitCache for ExactLruCache {
    fn get(&mut self, key: &[u8; KEY_LEN]) -> Result<bool, String> {
        Ok(self.0.get(key))
    }

    fn set(&mut self, key: &[u8; KEY_LEN], _value: &[u8; VALUE_LEN]) -> Result<(), String> {
        self.0.insert(*key);
        Ok(())
    }

    fn keys_held(&mut self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashSet, VecDeque};

    /// The naive model: keys newest first, O(n) everything.
    fn model_get(model: &mut VecDeque<u32>, key: u32) -> bool {
        let Some(position) = model.iter().position(|&k| k == key) else { return false };
        model.remove(position);
        model.push_front(key);
        true
    }

    fn model_insert(model: &mut VecDeque<u32>, key: u32, capacity: usize) -> Option<u32> {
        if model_get(model, key) {
            return None;
        }
        if capacity == 0 {
            return Some(key);
        }
        model.push_front(key);
        if model.len() > capacity { model.pop_back() } else { None }
    }

    #[test]
    fn exact_lru_matches_naive_model() {
        for capacity in [0usize, 1, 2, 7, 64] {
            let mut rng = SplitMix64::new(capacity as u64);
            let mut lru = ExactLru::new(capacity);
            let mut model = VecDeque::new();
            for step in 0..20_000 {
                let key = rng.below(100) as u32;
                if rng.below(2) == 0 {
                    assert_eq!(lru.get(&key), model_get(&mut model, key), "get {key} at {step}");
                } else {
                    let evicted = model_insert(&mut model, key, capacity);
                    assert_eq!(lru.insert(key), evicted, "insert {key} at {step}");
                }
                assert_eq!(lru.len(), model.len());
                assert!(lru.len() <= capacity);
            }
            assert_eq!(lru.keys_newest_first(), Vec::from(model), "capacity {capacity}");
        }
    }

    #[test]
    fn exact_lru_contains_does_not_promote() {
        let mut lru = ExactLru::new(2);
        lru.insert("a");
        lru.insert("b");
        assert!(lru.contains(&"a"));
        assert_eq!(lru.insert("c"), Some("a"));
        assert!(!lru.contains(&"a") && lru.contains(&"b") && lru.contains(&"c"));
    }

    #[test]
    fn zipf_trace_is_deterministic_skewed_and_in_range() {
        let a = zipf_trace(10_000, 200_000, 0.99, 7);
        assert_eq!(a, zipf_trace(10_000, 200_000, 0.99, 7));
        assert_ne!(a, zipf_trace(10_000, 200_000, 0.99, 8));
        assert!(a.iter().all(|&id| id < 10_000));
        let mut counts = vec![0u32; 10_000];
        for &id in &a {
            counts[id as usize] += 1;
        }
        counts.sort_unstable_by(|x, y| y.cmp(x));
        // Zipf(0.99) over 10k keys: rank 1 has p ≈ 0.10, the top 1% of keys ≈ 52% of requests.
        let top_percent: u32 = counts[..100].iter().sum();
        assert!(counts[0] > 15_000 && counts[0] < 25_000, "hottest {}", counts[0]);
        assert!(top_percent > 90_000 && top_percent < 120_000, "top 1%: {top_percent}");
    }

    #[test]
    fn higher_zipf_exponent_is_more_skewed() {
        let distinct = |s: f64| zipf_trace(100_000, 100_000, s, 1).into_iter().collect::<HashSet<_>>().len();
        let (low, mid, high) = (distinct(0.9), distinct(0.99), distinct(1.1));
        assert!(low > mid && mid > high, "distinct keys: {low} {mid} {high}");
    }

    #[test]
    fn scan_polluted_trace_layout() {
        let zipf = zipf_trace(1000, 10_000, 0.99, 3);
        let capacity = 10;
        let trace = scan_polluted_trace(&zipf, 1000, capacity, 1000);
        assert_eq!(trace.len(), 1000);
        // 20 Zipf, 10 scanned, 40 Zipf, 10 scanned, ...
        assert_eq!(trace[..20], zipf[..20]);
        assert_eq!(trace[20..30], (1000..1010).collect::<Vec<u64>>()[..]);
        assert_eq!(trace[30..70], zipf[20..60]);
        assert_eq!(trace[70..80], (1010..1020).collect::<Vec<u64>>()[..]);
        let scanned = trace.iter().filter(|&&id| id >= 1000).count();
        assert_eq!(scanned, 200, "a fifth of the requests are scans");
    }

    #[test]
    fn scan_keys_never_repeat_and_never_meet_zipf_keys() {
        let keys = 5000;
        let zipf = zipf_trace(keys, 100_000, 0.99, 4);
        for capacity in [1, 50, 2500] {
            let trace = scan_polluted_trace(&zipf, keys, capacity, 100_000);
            assert_eq!(trace.len(), 100_000);
            let scanned: Vec<u64> = trace.iter().copied().filter(|&id| id >= keys as u64).collect();
            let distinct: HashSet<u64> = scanned.iter().copied().collect();
            assert_eq!(distinct.len(), scanned.len(), "capacity {capacity}");
            assert_eq!(scanned.len(), 20_000, "capacity {capacity}");
            // Zipf ids below `keys` keep their order.
            let zipf_part: Vec<u64> = trace.iter().copied().filter(|&id| id < keys as u64).collect();
            assert_eq!(zipf_part[..], zipf[..zipf_part.len()]);
        }
        assert_eq!(scan_polluted_trace(&zipf, keys, 10, 5000), scan_polluted_trace(&zipf, keys, 10, 5000));
    }

    #[test]
    fn replay_counts_hits_and_misses() {
        // Capacity 2, ids 1 2 1 3 2: miss miss hit miss(evicts 2) miss.
        let mut cache = ExactLruCache(ExactLru::new(2));
        let outcome = replay(&[1, 2, 1, 3, 2], &mut cache);
        assert_eq!((outcome.requests, outcome.hits, outcome.errors), (5, 1, 0));
        assert_eq!(outcome.keys_held, 2);
        assert!((outcome.hit_percent() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn ceiling_counts_repeats() {
        assert_eq!(ceiling_hit_percent(&[]), 0.0);
        assert_eq!(ceiling_hit_percent(&[1, 2, 1, 1]), 50.0);
        let trace = zipf_trace(1000, 10_000, 0.99, 6);
        let mut unbounded = ExactLruCache(ExactLru::new(1000));
        assert_eq!(replay(&trace, &mut unbounded).hit_percent(), ceiling_hit_percent(&trace));
    }

    #[test]
    fn exact_lru_flushed_by_a_full_scan() {
        // A scan as long as the cache leaves none of the Zipf keys behind.
        let keys = 1000;
        let zipf = zipf_trace(keys, 100_000, 0.99, 5);
        let trace = scan_polluted_trace(&zipf, keys, 100, 300);
        let mut lru = ExactLru::new(100);
        for &id in &trace {
            lru.insert(id);
        }
        assert!(lru.keys_newest_first().iter().all(|&id| id >= keys as u64));
    }
}
