//! Memory accounting: what the engine holds, kept up to date on the write path.
//!
//! Every stripe knows its own live bytes exactly and in O(1) ([`Stripe::live_bytes`]): its
//! occupied slots, its index and side lists, and the contents of its out-of-line keys and
//! values, whose sizes each value type keeps incrementally. Free slots (left by deletions and
//! reused by the next inserts into the stripe) are not counted, as an allocator does not count
//! freed memory; see [`MemoryStats::free_slot_bytes`].
//!
//! The engine-wide figure the write path compares with `maxmemory` must not cost a sum over
//! every stripe, nor a contended atomic per write. So each stripe *reports* its change to one
//! shared counter only once the change since its last report reaches a *granule*:
//! `maxmemory / (64 × stripes)`, between 64 bytes and 64 KiB. The shared estimate is then
//! within one granule per active stripe of the truth, under 1/64 of `maxmemory` even with
//! every stripe of every database active. Writes report only while a limit is set (without
//! one nothing reads the estimate); setting a limit first reports every stripe
//! (`Inner::set_maxmemory`). The exact figure ([`crate::Engine::used_memory`]) sums the
//! stripes under their read locks, and records the peak as it goes.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use crate::keyspace::Stripe;

/// Smallest and largest report granule, in bytes.
const GRANULE_MIN: u64 = 64;
const GRANULE_MAX: u64 = 64 * 1024;

/// The engine-wide memory figures. See the module docs.
#[derive(Debug)]
pub(crate) struct MemoryAccounting {
    /// Sum of the stripes' last reports.
    reported: AtomicI64,
    /// Bytes of fixed structures (stripe arrays, statistics blocks), refreshed now and then.
    fixed: AtomicU64,
    /// Highest estimate seen (`used_memory_peak`).
    peak: AtomicU64,
    /// `maxmemory` (0: no limit).
    limit: AtomicU64,
    /// Report granule for the current limit and stripe count.
    granule: AtomicUsize,
    /// Stripes across every database (for the granule).
    stripes: u64,
}

impl MemoryAccounting {
    /// Accounting for `stripes` stripes in all, with fixed structures of `fixed` bytes.
    pub(crate) fn new(stripes: usize, fixed: usize, limit: u64) -> MemoryAccounting {
        let accounting = MemoryAccounting {
            reported: AtomicI64::new(0),
            fixed: AtomicU64::new(fixed as u64),
            peak: AtomicU64::new(fixed as u64),
            limit: AtomicU64::new(0),
            granule: AtomicUsize::new(GRANULE_MAX as usize),
            stripes: stripes.max(1) as u64,
        };
        accounting.set_limit(limit);
        accounting
    }

    /// `maxmemory` in bytes (0: none).
    #[inline]
    pub(crate) fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Sets `maxmemory` (0: none) and the report granule that goes with it.
    pub(crate) fn set_limit(&self, limit: u64) {
        let granule = if limit == 0 {
            GRANULE_MAX
        } else {
            (limit / (64 * self.stripes)).clamp(GRANULE_MIN, GRANULE_MAX)
        };
        self.granule.store(granule as usize, Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Records the size of the fixed structures.
    pub(crate) fn set_fixed(&self, bytes: usize) {
        self.fixed.store(bytes as u64, Ordering::Relaxed);
    }

    /// The running estimate of used memory (see the module docs for its error).
    #[inline]
    pub(crate) fn estimate(&self) -> u64 {
        self.fixed.load(Ordering::Relaxed) + self.reported.load(Ordering::Relaxed).max(0) as u64
    }

    /// Is the estimate over a limit that is set?
    #[inline]
    pub(crate) fn over_limit(&self) -> bool {
        let limit = self.limit();
        limit != 0 && self.estimate() > limit
    }

    /// Bytes by which the estimate exceeds the limit (0 or less: under it, or no limit).
    #[inline]
    pub(crate) fn excess(&self) -> i64 {
        match self.limit() {
            0 => 0,
            limit => self.estimate() as i64 - limit as i64,
        }
    }

    /// Is the estimate within its error bound (1/64 of the limit) of a limit that is set? The
    /// admission policy judges every new key from then on.
    #[inline]
    pub(crate) fn near_limit(&self) -> bool {
        let limit = self.limit();
        limit != 0 && self.estimate() + limit / 64 > limit
    }

    /// Highest figure seen: estimates reported while a limit is set, and exact sums.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(self.estimate())
    }

    /// Records an exact figure for the peak.
    pub(crate) fn observe(&self, used: u64) {
        if used > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(used, Ordering::Relaxed);
        }
    }

    /// Reports `stripe`'s change since its last report when it reaches the granule.
    #[inline]
    pub(crate) fn report(&self, stripe: &mut Stripe) {
        self.report_from(stripe, self.granule.load(Ordering::Relaxed) as u64);
    }

    /// Reports `stripe`'s change since its last report, however small.
    pub(crate) fn report_now(&self, stripe: &mut Stripe) {
        self.report_from(stripe, 1);
    }

    /// Reports `stripe`'s change since its last report when it is at least `min_bytes`.
    #[inline]
    fn report_from(&self, stripe: &mut Stripe, min_bytes: u64) {
        let live = stripe.live_bytes();
        let delta = live as i64 - stripe.reported_bytes() as i64;
        if delta.unsigned_abs() >= min_bytes {
            self.apply(stripe, live, delta);
        }
    }

    #[cold]
    fn apply(&self, stripe: &mut Stripe, live: usize, delta: i64) {
        stripe.set_reported_bytes(live);
        let now = self.reported.fetch_add(delta, Ordering::Relaxed) + delta;
        if delta > 0 {
            self.observe(self.fixed.load(Ordering::Relaxed) + now.max(0) as u64);
        }
    }
}

/// Memory figures of an engine, as `INFO memory` and `MEMORY STATS` report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Bytes held: keys, values, per-entry overhead and the engine's structures (Redis's
    /// `used_memory`), summed exactly.
    pub used: u64,
    /// Highest used memory seen (Redis's `used_memory_peak`).
    pub peak: u64,
    /// Bytes of structures that do not depend on the data (stripe arrays, statistics blocks,
    /// the admission sketch).
    pub fixed: u64,
    /// Bytes of the keyspace's tables beyond the entries themselves: indexes, slot lists,
    /// the out-of-line object table (Redis's `overhead.hashtable.main`).
    pub overhead: u64,
    /// Bytes of entries: slots and the keys and values they own (Redis's `dataset.bytes`).
    pub dataset: u64,
    /// Bytes of slots freed by deletions and kept for reuse by the stripe; allocated, not
    /// counted in `used` (like memory an allocator keeps after a `free`).
    pub free_slot_bytes: u64,
    /// Number of keys.
    pub keys: u64,
    /// `maxmemory` (0: no limit).
    pub maxmemory: u64,
    /// Resident set size of the process, where the OS tells (Linux: `/proc/self/statm`).
    pub rss: Option<u64>,
}

impl MemoryStats {
    /// `used` as a percentage of `peak` (Redis's `used_memory_peak_perc`).
    pub fn peak_percent(&self) -> f64 {
        percent(self.used, self.peak)
    }

    /// `dataset` as a percentage of what is used beyond the fixed structures (Redis's
    /// `used_memory_dataset_perc`).
    pub fn dataset_percent(&self) -> f64 {
        percent(self.dataset, self.used.saturating_sub(self.fixed))
    }

    /// RSS over used memory, and their difference in bytes (Redis's
    /// `mem_fragmentation_ratio` and `mem_fragmentation_bytes`), where the OS gives RSS.
    pub fn fragmentation(&self) -> Option<(f64, i64)> {
        let rss = self.rss?;
        let ratio = if self.used == 0 { 0.0 } else { rss as f64 / self.used as f64 };
        Some((ratio, rss as i64 - self.used as i64))
    }
}

/// `part` as a percentage of `whole` (0 when `whole` is).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, EvictionPolicy, SetOptions};

    /// The running estimate stays within one granule per stripe of the exact sum, through
    /// inserts, evictions (which sample other stripes, even of other databases), in-place
    /// edits and deletes.
    #[test]
    fn estimate_tracks_the_exact_figure() {
        let engine = Engine::builder().maxmemory_policy(EvictionPolicy::AllKeysLru).build();
        let limit = engine.used_memory() + 2 * 1024 * 1024;
        engine.config_set(&[("maxmemory", limit.to_string().as_str())]).expect("set");
        let stripes = (engine.inner.dbs.len() * engine.inner.dbs[0].stripe_count()) as u64;
        let slack = stripes * engine.inner.memory.granule.load(std::sync::atomic::Ordering::Relaxed) as u64;
        for i in 0..30_000u32 {
            let value = vec![b'x'; 20 + (i as usize * 7) % 300];
            engine.set(format!("k:{i}"), value, SetOptions::default()).expect("set");
            engine.execute(&["APPEND", &format!("k:{}", i / 2), "more"]);
            engine.execute(&["RPUSH", &format!("list:{}", i % 50), "element"]);
            if i % 7 == 0 {
                engine.del(&[format!("k:{}", i / 3)]);
            }
            if i % 3000 == 0 {
                let exact = engine.used_memory();
                let estimate = engine.inner.memory.estimate();
                assert!(
                    exact.abs_diff(estimate) <= slack,
                    "exact {exact}, estimate {estimate}, slack {slack}"
                );
            }
        }
        assert!(engine.used_memory() <= limit + limit / 50);
    }

    #[test]
    fn granule_follows_the_limit() {
        let accounting = super::MemoryAccounting::new(1024, 100, 0);
        assert_eq!(accounting.granule.load(std::sync::atomic::Ordering::Relaxed) as u64, super::GRANULE_MAX);
        accounting.set_limit(1 << 30);
        assert_eq!(accounting.granule.load(std::sync::atomic::Ordering::Relaxed), 16 * 1024);
        accounting.set_limit(1000);
        assert_eq!(accounting.granule.load(std::sync::atomic::Ordering::Relaxed) as u64, super::GRANULE_MIN);
        assert!(!accounting.over_limit());
        accounting.set_limit(50);
        assert!(accounting.over_limit(), "the fixed 100 bytes alone exceed 50");
    }
}
