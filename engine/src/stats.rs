//! Statistics: counters owned per thread, summed on read.
//!
//! Each thread that touches an engine gets its own block of counters (registered once, found
//! again through a thread-local list). Only that thread writes the block, with a plain load
//! and store: no read-modify-write, so counting never costs a locked instruction (a full
//! barrier on x86) or bounces a cache line between cores. Readers sum every block ever
//! registered, so nothing is lost when a thread exits. `CONFIG RESETSTAT` records the current
//! sums as a baseline instead of writing other threads' blocks.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

/// Per-command counters.
#[derive(Debug, Default)]
pub(crate) struct CommandCounters {
    pub(crate) calls: AtomicU64,
    /// Estimated nanoseconds spent, from sampled calls (see `command::timing_sampled`).
    pub(crate) nanos: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) rejected: AtomicU64,
}

/// One thread's counters for one engine.
#[derive(Debug)]
pub(crate) struct StatsShard {
    pub(crate) keyspace_hits: AtomicU64,
    pub(crate) keyspace_misses: AtomicU64,
    pub(crate) expired_keys: AtomicU64,
    pub(crate) commands: Box<[CommandCounters]>,
}

/// Sums of every counter: what a reader sees, and the baseline `reset` records.
#[derive(Debug, Clone, Default)]
struct Totals {
    keyspace_hits: u64,
    keyspace_misses: u64,
    expired_keys: u64,
    commands_processed: u64,
    /// Per command: calls, nanoseconds, failed, rejected.
    commands: Vec<[u64; 4]>,
}

/// Every thread's blocks for one engine.
#[derive(Debug)]
pub(crate) struct StatsCounters {
    /// Distinguishes engines in the thread-local lists (addresses can be reused).
    id: u64,
    commands: usize,
    shards: Mutex<Vec<Arc<CachePadded<StatsShard>>>>,
    /// Sums of the blocks of sessions that ended (locked after `shards`).
    retired: Mutex<Totals>,
    baseline: Mutex<Totals>,
}

/// A thread's blocks, by engine id, most recently used first.
type LocalBlocks = Vec<(u64, Arc<CachePadded<StatsShard>>)>;

thread_local! {
    /// This thread's blocks.
    static LOCAL: RefCell<LocalBlocks> = const { RefCell::new(Vec::new()) };
}

/// Adds `n` to a counter of the calling thread's own block. Not a read-modify-write: only the
/// owning thread writes a block, so the load and the store cannot interleave with another
/// writer.
#[inline]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl StatsCounters {
    /// Counters for `commands` command-table entries.
    pub(crate) fn new(commands: usize) -> StatsCounters {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        StatsCounters {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            commands,
            shards: Mutex::new(Vec::new()),
            retired: Mutex::new(Totals { commands: vec![[0; 4]; commands], ..Totals::default() }),
            baseline: Mutex::new(Totals { commands: vec![[0; 4]; commands], ..Totals::default() }),
        }
    }

    /// Bytes the blocks take.
    pub(crate) fn memory_bytes(&self) -> usize {
        let per_block = std::mem::size_of::<CachePadded<StatsShard>>()
            + self.commands * std::mem::size_of::<CommandCounters>();
        self.shards.lock().len() * per_block
    }

    /// Runs `f` on the calling thread's block, registering one on first use. `f` must only
    /// bump counters (it runs while the thread-local list is borrowed).
    ///
    /// The block of the engine used last is kept first in the list, so the common case is one
    /// comparison.
    #[inline(always)]
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(&StatsShard) -> R) -> R {
        LOCAL.with(|local| {
            if let Some((id, shard)) = local.borrow().first()
                && *id == self.id
            {
                return f(shard);
            }
            f(&self.local_slow(local))
        })
    }

    /// The calling thread's block when it is not first in the list: moved to the front, or
    /// registered.
    #[cold]
    #[inline(never)]
    fn local_slow(&self, local: &RefCell<LocalBlocks>) -> Arc<CachePadded<StatsShard>> {
        let mut list = local.borrow_mut();
        let shard = match list.iter().position(|(id, _)| *id == self.id) {
            Some(at) => list.remove(at).1,
            None => {
                // Forget blocks of engines that are gone (only this list still holds them).
                list.retain(|(_, s)| Arc::strong_count(s) > 1);
                self.register()
            }
        };
        list.insert(0, (self.id, Arc::clone(&shard)));
        shard
    }

    /// A block owned by one session rather than one thread: the session writes it with plain
    /// stores while it runs a command (it is borrowed mutably then, so only one thread can be
    /// writing). Hand it back with [`StatsCounters::retire`] when the session ends.
    pub(crate) fn session_block(&self) -> Arc<CachePadded<StatsShard>> {
        self.register()
    }

    /// Folds an ended session's block into the retired sums and forgets the block, so
    /// connection churn does not grow the list.
    pub(crate) fn retire(&self, block: &Arc<CachePadded<StatsShard>>) {
        let mut shards = self.shards.lock();
        let Some(at) = shards.iter().position(|s| Arc::ptr_eq(s, block)) else { return };
        let block = shards.swap_remove(at);
        let mut retired = self.retired.lock();
        add_block(&mut retired, &block);
    }

    /// Number of live blocks (threads' and sessions').
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> usize {
        self.shards.lock().len()
    }

    fn register(&self) -> Arc<CachePadded<StatsShard>> {
        let shard = Arc::new(CachePadded::new(StatsShard {
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            commands: (0..self.commands).map(|_| CommandCounters::default()).collect(),
        }));
        self.shards.lock().push(Arc::clone(&shard));
        shard
    }

    /// Raw sums over every block (before the baseline is taken off).
    fn raw_totals(&self) -> Totals {
        let shards = self.shards.lock();
        let mut totals = self.retired.lock().clone();
        for shard in shards.iter() {
            add_block(&mut totals, shard);
        }
        totals
    }

    /// Sums since the last reset.
    fn totals(&self) -> Totals {
        let raw = self.raw_totals();
        let base = self.baseline.lock();
        Totals {
            keyspace_hits: raw.keyspace_hits.saturating_sub(base.keyspace_hits),
            keyspace_misses: raw.keyspace_misses.saturating_sub(base.keyspace_misses),
            expired_keys: raw.expired_keys.saturating_sub(base.expired_keys),
            commands_processed: raw.commands_processed.saturating_sub(base.commands_processed),
            commands: raw
                .commands
                .iter()
                .zip(base.commands.iter())
                .map(|(r, b)| [0, 1, 2, 3].map(|i| r[i].saturating_sub(b[i])))
                .collect(),
        }
    }

    /// (hits, misses, expired, commands processed) since the last reset.
    pub(crate) fn keyspace_totals(&self) -> (u64, u64, u64, u64) {
        let t = self.totals();
        (t.keyspace_hits, t.keyspace_misses, t.expired_keys, t.commands_processed)
    }

    /// Per command since the last reset: calls, nanoseconds, failed, rejected.
    pub(crate) fn command_totals(&self) -> Vec<[u64; 4]> {
        self.totals().commands
    }

    /// Zeroes every counter (`CONFIG RESETSTAT`) by recording the current sums as baseline.
    pub(crate) fn reset(&self) {
        let raw = self.raw_totals();
        *self.baseline.lock() = raw;
    }
}

/// Adds a block's counters to `totals`.
fn add_block(totals: &mut Totals, block: &StatsShard) {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    totals.keyspace_hits += load(&block.keyspace_hits);
    totals.keyspace_misses += load(&block.keyspace_misses);
    totals.expired_keys += load(&block.expired_keys);
    for (sum, c) in totals.commands.iter_mut().zip(block.commands.iter()) {
        // Every command that runs counts one call: the total is their sum.
        totals.commands_processed += load(&c.calls);
        for (s, v) in sum.iter_mut().zip([&c.calls, &c.nanos, &c.failed, &c.rejected]) {
            *s += load(v);
        }
    }
}

/// Per-command figures in a [`Stats`] snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStats {
    /// Command name, lower case (`get`, `config|get`).
    pub name: &'static str,
    /// Times the command ran.
    pub calls: u64,
    /// Microseconds spent running it, in total: an estimate from a random sample of the
    /// calls (one in `TIMING_SAMPLE_EVERY`, each weighted by that), since reading a clock
    /// around every call costs more than a fast command itself.
    pub usec: u64,
    /// Calls that ran and returned an error.
    pub failed_calls: u64,
    /// Calls refused before running (arity, syntax while queueing, ...).
    pub rejected_calls: u64,
}

/// A snapshot of the engine's statistics (`Engine::stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Successful key lookups by read commands.
    pub keyspace_hits: u64,
    /// Failed key lookups by read commands.
    pub keyspace_misses: u64,
    /// Keys deleted because their expiry passed (lazily or by the active cycle).
    pub expired_keys: u64,
    /// Commands run through `execute`.
    pub commands_processed: u64,
    /// Per-command figures, for commands called at least once.
    pub commands: Vec<CommandStats>,
    /// Keys per database (index, keys, keys with an expiry), for non-empty databases.
    pub keyspace: Vec<DbStats>,
    /// Sessions currently open.
    pub connected_clients: u64,
    /// Clients blocked on keys (`BLPOP` and friends).
    pub blocked_clients: u64,
    /// Keys watched (`WATCH`, [`Engine::watch`](crate::Engine::watch)), counted once per key
    /// and database however many watch it.
    pub total_watched_keys: u64,
    /// Seconds since the engine was built.
    pub uptime_secs: u64,
    /// Keys evicted to stay under `maxmemory`, or not admitted.
    pub evicted_keys: u64,
    /// Keys evicted under each policy (the one in force at the time), for policies that
    /// evicted at least one.
    pub evicted_per_policy: Vec<(crate::EvictionPolicy, u64)>,
}

/// Key counts of one database in a [`Stats`] snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbStats {
    /// Database index.
    pub db: usize,
    /// Keys, including expired ones not yet reclaimed.
    pub keys: u64,
    /// Keys with an expiry.
    pub expires: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_across_threads() {
        let stats = StatsCounters::new(3);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        stats.with_local(|local| {
                            bump(&local.keyspace_hits, 1);
                            bump(&local.commands[2].calls, 1);
                        });
                    }
                });
            }
        });
        assert_eq!(stats.keyspace_totals().0, 4000, "no increment lost, threads exited");
        assert_eq!(stats.command_totals()[2][0], 4000);
        stats.reset();
        assert_eq!(stats.keyspace_totals().0, 0);
        stats.with_local(|local| bump(&local.keyspace_hits, 2));
        assert_eq!(stats.keyspace_totals().0, 2);
    }

    #[test]
    fn blocks_of_dropped_engines_are_forgotten() {
        for _ in 0..100 {
            let stats = StatsCounters::new(1);
            stats.with_local(|local| bump(&local.keyspace_hits, 1));
        }
        LOCAL.with(|local| assert!(local.borrow().len() <= 1));
    }
}
