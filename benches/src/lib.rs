//! # memora-benches
//!
//! Benchmarks for Memora, kept out of the engine crate so that peer caches never become
//! dependencies of the engine:
//!
//! - `benches/engine.rs` (criterion): GET and SET through the typed API and through
//!   `Session::execute`, on 1 and 2 threads.
//! - `src/bin/compare.rs`: Memora against `dashmap`, `scc`, `moka` and `quick_cache` on one
//!   workload, in one process; prints Mops/s and ratios.
//! - `benches/collections.rs` (criterion): lists, hashes, sets and sorted sets through the
//!   typed API, small and 100k-element collections.
//! - `src/bin/memory.rs`: bytes per entry (counting allocator) and RSS per system; with
//!   `--collections`, bytes per element of 1M-element collections against Redis's figures,
//!   and one-thread throughput on them.
//! - `src/bin/hitratio.rs`: hit ratios of Memora's eviction policies, an exact LRU, `moka`
//!   and `quick_cache` replaying Zipf and scan-polluted traces at 1%, 10% and 50% of the keys.
//! - `scripts/redis_benchmark_compare.sh`: `memora-server` against `redis-server`.
//!
//! See `README.md` beside this crate for how to run each and the targets.
//!
//! # Components
//! - [`workload`]: deterministic keys and values, a seeded generator, uniform and Zipf key
//!   samplers, pre-generated operation streams.
//! - [`hitratio`], [`hitratio_caches`]: the hit-ratio traces, the exact LRU, the replay loop,
//!   and the caches under test behind one [`hitratio::HitCache`] trait.
//! - [`collections`]: the collection workloads of `memory --collections` and Redis's figures.
//! - [`systems`]: the [`systems::Store`] / [`systems::Worker`] traits and one implementation
//!   per system under test.
//! - [`run_parallel`]: runs one closure per thread from a common start and times the run;
//!   [`thread_cpu_time`] for CPU-time throughput on a busy machine.

pub mod collections;
pub mod hitratio;
pub mod hitratio_caches;
pub mod systems;
pub mod workload;

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `work(thread_index)` on `threads` scoped threads that start together (behind a
/// barrier, so thread spawning is not timed) and returns the longest per-thread time, that is
/// the wall time of the whole run. One thread is spawned too, so that 1- and 2-thread runs
/// take the same path (and the same kind of allocator arena).
///
/// ```
/// let elapsed = memora_benches::run_parallel(2, |_thread| {
///     std::hint::black_box((0..1000u64).sum::<u64>());
/// });
/// assert!(elapsed.as_secs() < 10);
/// ```
pub fn run_parallel<F>(threads: usize, work: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let threads = threads.max(1);
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(index);
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("benchmark thread panicked")).max().unwrap_or_default()
    })
}

/// CPU time consumed so far by the calling thread (zero where unsupported).
///
/// On a shared machine, wall time also counts the time a benchmark thread waited for a core;
/// thread CPU time does not (it still counts time spent spinning on a lock).
pub fn thread_cpu_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec.clamp(0, 999_999_999) as u32)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Duration::ZERO
    }
}

/// The median of `samples` (the upper median for an even count); 0.0 when empty.
///
/// ```
/// assert_eq!(memora_benches::median(&[3.0, 1.0, 2.0]), 2.0);
/// ```
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Parses a positive count for the benchmarks' flags: `_` separators and `k`/`M` suffixes
/// allowed (`2M`, `500k`, `1_000_000`).
///
/// ```
/// assert_eq!(memora_benches::parse_count("2M"), Ok(2_000_000));
/// assert_eq!(memora_benches::parse_count("1_500k"), Ok(1_500_000));
/// assert!(memora_benches::parse_count("0").is_err());
/// ```
pub fn parse_count(text: &str) -> Result<usize, String> {
    let text = text.replace('_', "");
    let (digits, scale) = match text.strip_suffix(['M', 'm']) {
        Some(digits) => (digits, 1_000_000),
        None => match text.strip_suffix(['K', 'k']) {
            Some(digits) => (digits, 1_000),
            None => (text.as_str(), 1),
        },
    };
    match digits.parse::<usize>() {
        Ok(n) if n > 0 => n.checked_mul(scale).ok_or_else(|| format!("too large: {text}")),
        _ => Err(format!("not a positive count: {text}")),
    }
}

/// Parses a comma-separated list for the benchmarks' flags, each item by `item`; empty items
/// (`1,,2`, a trailing comma) are skipped, and the first item error is returned.
///
/// ```
/// use memora_benches::{parse_count, parse_list};
/// assert_eq!(parse_list("1,2k,", parse_count), Ok(vec![1, 2_000]));
/// assert!(parse_list("1,0", parse_count).is_err());
/// ```
pub fn parse_list<T>(text: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    text.split(',').filter(|s| !s.is_empty()).map(item).collect()
}
