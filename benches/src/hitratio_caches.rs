//! The caches of the hit-ratio benchmark as [`HitCache`]s, each holding about `C` entries:
//! `moka`, `quick_cache`, and Memora under one `maxmemory-policy` (see [`crate::hitratio`] for
//! the traces and the exact LRU).
//!
//! - [`MokaCache`]: `moka::sync::Cache` with `max_capacity(C)`. Moka applies its evictions in
//!   batches (its "pending tasks"); the adapter runs them every [`MOKA_SYNC_INTERVAL`]
//!   requests and before counting keys, so the cache stays within a few dozen entries of `C`
//!   and no recorded read is dropped from its bounded read log.
//! - [`QuickCache`]: `quick_cache::unsync::Cache` of `C` items (one shard, so the capacity is
//!   exact rather than split across shards; the policy is the same as the `sync` cache's).
//! - [`MemoraCache`]: an [`Engine`] whose `maxmemory` is the memory `C` entries take
//!   ([`calibrate_memora`]) and whose `maxmemory-policy` is one of [`MEMORA_VARIANTS`].
//!   Memora keeps access times in 4 ms units (LRU) and LFU counters decay per idle minute, both read
//!   from the engine's clock: here a [`ManualClock`] that moves a fixed interval per request
//!   (10 µs by default: a simulated 100,000 requests/s), so runs repeat exactly.
//!
//! Every hasher has fixed seeds, so a replay's result does not change from run to run.

use std::time::Duration;

use memora_engine::{Engine, EngineBuilder, ManualClock, SetOptions};

use crate::hitratio::{HitCache, VALUE};
use crate::workload::{KEY_LEN, VALUE_LEN, write_key};

/// Requests between two `run_pending_tasks` calls on moka (its read log holds a few hundred
/// records before it drops some).
pub const MOKA_SYNC_INTERVAL: u64 = 64;

/// A fixed-seed hasher for the peers (their defaults are seeded at random).
fn fixed_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x5EED, 0xCAFE, 0xF00D, 0xBEEF)
}

/// `moka::sync::Cache` as a [`HitCache`].
pub struct MokaCache {
    cache: moka::sync::Cache<[u8; KEY_LEN], [u8; VALUE_LEN], ahash::RandomState>,
    requests: u64,
}

impl MokaCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> MokaCache {
        let cache =
            moka::sync::Cache::builder().max_capacity(capacity as u64).build_with_hasher(fixed_hasher());
        MokaCache { cache, requests: 0 }
    }
}

impl std::fmt::Debug for MokaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MokaCache").field("requests", &self.requests).finish_non_exhaustive()
    }
}

impl HitCache for MokaCache {
    fn get(&mut self, key: &[u8; KEY_LEN]) -> Result<bool, String> {
        Ok(self.cache.get(key).is_some())
    }

    fn set(&mut self, key: &[u8; KEY_LEN], value: &[u8; VALUE_LEN]) -> Result<(), String> {
        self.cache.insert(*key, *value);
        Ok(())
    }

    fn keys_held(&mut self) -> usize {
        self.cache.run_pending_tasks();
        self.cache.entry_count() as usize
    }

    fn tick(&mut self) {
        self.requests += 1;
        if self.requests.is_multiple_of(MOKA_SYNC_INTERVAL) {
            self.cache.run_pending_tasks();
        }
    }
}

/// The `quick_cache` type used: unit weights, a fixed-seed hasher, no lifecycle hooks.
type QuickCacheInner = quick_cache::unsync::Cache<
    [u8; KEY_LEN],
    [u8; VALUE_LEN],
    quick_cache::UnitWeighter,
    ahash::RandomState,
    quick_cache::unsync::DefaultLifecycle<[u8; KEY_LEN], [u8; VALUE_LEN]>,
>;

/// `quick_cache::unsync::Cache` as a [`HitCache`].
pub struct QuickCache(QuickCacheInner);

impl QuickCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> QuickCache {
        let lifecycle = quick_cache::unsync::DefaultLifecycle::default();
        QuickCache(QuickCacheInner::with(
            capacity,
            capacity as u64,
            quick_cache::UnitWeighter,
            fixed_hasher(),
            lifecycle,
        ))
    }
}

impl std::fmt::Debug for QuickCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickCache").field("len", &self.0.len()).finish_non_exhaustive()
    }
}

impl HitCache for QuickCache {
    fn get(&mut self, key: &[u8; KEY_LEN]) -> Result<bool, String> {
        Ok(self.0.get(key).is_some())
    }

    fn set(&mut self, key: &[u8; KEY_LEN], value: &[u8; VALUE_LEN]) -> Result<(), String> {
        self.0.insert(*key, *value);
        Ok(())
    }

    fn keys_held(&mut self) -> usize {
        self.0.len()
    }
}

/// One Memora configuration under test: a column of the report.
#[derive(Debug, Clone, Copy)]
pub struct MemoraVariant {
    /// Column name, e.g. `memora allkeys-lru`.
    pub name: &'static str,
    /// The `maxmemory-policy` value.
    pub policy: &'static str,
    /// Extra builder settings on top of the clock and one database (the same for calibration
    /// and for the replay).
    pub configure: fn(EngineBuilder) -> EngineBuilder,
}

/// The Memora configurations measured. The `volatile-*` policies only evict keys with a TTL
/// and the benchmark's keys have none, so they are left out. TinyLFU admission is the last
/// entry: `allkeys-lfu` with `configure` turning it on.
pub const MEMORA_VARIANTS: [MemoraVariant; 4] = [
    MemoraVariant { name: "memora allkeys-lru", policy: "allkeys-lru", configure: |b| b },
    MemoraVariant { name: "memora allkeys-lfu", policy: "allkeys-lfu", configure: |b| b },
    MemoraVariant { name: "memora allkeys-random", policy: "allkeys-random", configure: |b| b },
    MemoraVariant {
        name: "memora allkeys-lfu+admission",
        policy: "allkeys-lfu",
        configure: |b| b.admission(memora_engine::Admission::TinyLfu),
    },
];

/// Settings shared by every Memora replay.
#[derive(Debug, Clone, Copy)]
pub struct MemoraSettings {
    /// Simulated time between two requests, in microseconds.
    pub request_interval_us: u64,
    /// `maxmemory-samples`, if set (Memora's default otherwise).
    pub maxmemory_samples: Option<u32>,
    /// `lfu-decay-time` in minutes, if set (Redis's default, 1, otherwise).
    pub lfu_decay_time: Option<u32>,
}

/// The simulated clock's reading at the first request (a fixed date, for repeatability).
const START_MS: u64 = 1_700_000_000_000;

/// The engine a variant runs on: a [`ManualClock`] at [`START_MS`], one database, then the
/// variant's own settings.
fn memora_engine(variant: &MemoraVariant, clock: &ManualClock) -> Engine {
    (variant.configure)(Engine::builder().clock(clock.clone()).databases(1)).build()
}

/// Memory of a Memora engine holding a given number of benchmark entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    /// Entries inserted.
    pub entries: usize,
    /// `used_memory` of the empty engine.
    pub empty_bytes: u64,
    /// `used_memory` with the entries in.
    pub full_bytes: u64,
    /// The `maxmemory` to set: `full_bytes`, raised so that the engine holds about `entries`
    /// keys while it evicts (see [`calibrate_memora`]).
    pub limit_bytes: u64,
}

impl Calibration {
    /// Bytes per entry beyond the empty engine's.
    pub fn bytes_per_entry(&self) -> f64 {
        self.full_bytes.saturating_sub(self.empty_bytes) as f64 / self.entries.max(1) as f64
    }
}

/// Inserts `capacity` distinct benchmark keys (ids `0..capacity`, the replay's value) into a
/// fresh engine built as `variant`'s, without a memory limit, and reads `used_memory`.
///
/// Then adjusts for the steady state, so that Memora holds as many entries as the peers: an
/// engine that evicts keeps structures a freshly filled one has not grown yet (eviction
/// pools, free-slot lists, indexes sized for a stripe's largest count), which at small sizes
/// cost several percent of the entries. Twice, with the limit at the current estimate,
/// `warmup` (the start of the trace to be measured) is replayed in a fresh engine, the keys
/// held at the end are counted, and the limit moves by the shortfall times the bytes per
/// entry (unless the warm-up never filled the cache). The measured replay runs in yet another
/// fresh engine.
pub fn calibrate_memora(
    variant: &MemoraVariant,
    capacity: usize,
    settings: &MemoraSettings,
    warmup: &[u64],
) -> Result<Calibration, String> {
    let engine = memora_engine(variant, &ManualClock::new(START_MS));
    let empty_bytes = engine.used_memory();
    let mut key = [0u8; KEY_LEN];
    for id in 0..capacity {
        write_key(id, &mut key);
        engine.set(key, VALUE, SetOptions::default()).map_err(|e| format!("calibration SET: {e}"))?;
    }
    let full_bytes = engine.used_memory();
    let mut calibration = Calibration { entries: capacity, empty_bytes, full_bytes, limit_bytes: full_bytes };
    let per_entry = calibration.bytes_per_entry();
    for _ in 0..2 {
        let mut cache = MemoraCache::new(variant, calibration.limit_bytes, settings)?;
        crate::hitratio::replay(warmup, &mut cache);
        if cache.engine.stats().evicted_keys == 0 {
            break; // the warm-up never filled the cache: nothing to learn from it
        }
        let held = cache.engine.dbsize();
        let shortfall = capacity as f64 - held as f64;
        calibration.limit_bytes = (calibration.limit_bytes as f64 + shortfall * per_entry).max(0.0) as u64;
    }
    Ok(calibration)
}

/// A Memora engine under a memory limit, as a [`HitCache`]; each request moves its clock.
#[derive(Debug)]
pub struct MemoraCache {
    engine: Engine,
    clock: ManualClock,
    request_interval_us: u64,
    elapsed_us: u64,
}

impl MemoraCache {
    /// A fresh engine built as `variant`'s with `maxmemory` = `maxmemory_bytes` and the
    /// variant's policy; the `CONFIG SET` error if the engine refuses them.
    pub fn new(
        variant: &MemoraVariant,
        maxmemory_bytes: u64,
        settings: &MemoraSettings,
    ) -> Result<MemoraCache, String> {
        let clock = ManualClock::new(START_MS);
        let engine = memora_engine(variant, &clock);
        let maxmemory = maxmemory_bytes.to_string();
        let mut pairs = vec![
            ("maxmemory".to_string(), maxmemory),
            ("maxmemory-policy".to_string(), variant.policy.to_string()),
        ];
        if let Some(samples) = settings.maxmemory_samples {
            pairs.push(("maxmemory-samples".to_string(), samples.to_string()));
        }
        if let Some(minutes) = settings.lfu_decay_time {
            pairs.push(("lfu-decay-time".to_string(), minutes.to_string()));
        }
        engine.config_set(&pairs).map_err(|e| format!("CONFIG SET: {e}"))?;
        Ok(MemoraCache { engine, clock, request_interval_us: settings.request_interval_us, elapsed_us: 0 })
    }

    /// Simulated time since the first request.
    pub fn simulated_elapsed(&self) -> Duration {
        Duration::from_micros(self.elapsed_us)
    }
}

impl HitCache for MemoraCache {
    fn get(&mut self, key: &[u8; KEY_LEN]) -> Result<bool, String> {
        match self.engine.get_with(key, |_| ()) {
            Ok(found) => Ok(found.is_some()),
            Err(e) => Err(format!("GET: {e}")),
        }
    }

    fn set(&mut self, key: &[u8; KEY_LEN], value: &[u8; VALUE_LEN]) -> Result<(), String> {
        match self.engine.set(key, value, SetOptions::default()) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("SET: {e}")),
        }
    }

    fn keys_held(&mut self) -> usize {
        self.engine.dbsize()
    }

    fn tick(&mut self) {
        // Microseconds kept here: the clock has millisecond resolution, so sub-millisecond
        // intervals still add up.
        self.elapsed_us += self.request_interval_us;
        self.clock.set_ms(START_MS + self.elapsed_us / 1000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hitratio::{replay, zipf_trace};

    #[test]
    fn peers_hold_about_their_capacity() {
        let trace = zipf_trace(10_000, 50_000, 0.99, 1);
        let moka = replay(&trace, &mut MokaCache::new(500));
        let quick = replay(&trace, &mut QuickCache::new(500));
        for outcome in [&moka, &quick] {
            assert!(outcome.keys_held <= 550 && outcome.keys_held >= 400, "{outcome:?}");
            assert!(outcome.hits > 0 && outcome.errors == 0, "{outcome:?}");
        }
    }

    #[test]
    fn peer_replays_are_deterministic() {
        let trace = zipf_trace(10_000, 50_000, 0.9, 2);
        let runs: Vec<(u64, u64)> = (0..2)
            .flat_map(|_| {
                let moka = replay(&trace, &mut MokaCache::new(300));
                let quick = replay(&trace, &mut QuickCache::new(300));
                [(moka.hits, moka.keys_held as u64), (quick.hits, quick.keys_held as u64)]
            })
            .collect();
        assert_eq!(runs[..2], runs[2..]);
    }

    #[test]
    fn calibration_counts_memory_per_entry() {
        let settings =
            MemoraSettings { request_interval_us: 10, maxmemory_samples: None, lfu_decay_time: None };
        let warmup: Vec<u64> = (0..5000).collect();
        let calibration = calibrate_memora(&MEMORA_VARIANTS[0], 1000, &settings, &warmup).unwrap();
        assert!(calibration.full_bytes > calibration.empty_bytes);
        // The steady-state correction moves the limit by the entries' shortfall or excess: a
        // few percent either way, never far from the filled engine's figure.
        let (limit, full) = (calibration.limit_bytes as f64, calibration.full_bytes as f64);
        assert!((limit - full).abs() <= full * 0.2, "{calibration:?}");
        // A 16-byte key and a 32-byte value take at least their 48 bytes.
        assert!(calibration.bytes_per_entry() >= 48.0, "{calibration:?}");
    }

    #[test]
    fn memora_clock_moves_per_request() {
        let settings =
            MemoraSettings { request_interval_us: 250, maxmemory_samples: None, lfu_decay_time: None };
        let mut cache = MemoraCache::new(&MEMORA_VARIANTS[0], 1 << 30, &settings).expect("CONFIG SET");
        let outcome = replay(&[1, 2, 1, 1], &mut cache);
        assert_eq!(outcome.hits, 2);
        assert_eq!(cache.simulated_elapsed(), Duration::from_micros(1000));
    }
}
