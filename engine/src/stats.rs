//! Statistics: counters sharded per thread, summed on read.
//!
//! Every counter lives in one of a few cache-padded shards; a thread always writes the same
//! shard, so two threads never bounce a counter's cache line between cores. Reading sums the
//! shards (`Engine::stats`), which is exact once writers are quiet and never loses an increment.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Per-command counters.
#[derive(Debug, Default)]
pub(crate) struct CommandCounters {
    pub(crate) calls: AtomicU64,
    pub(crate) usec: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) rejected: AtomicU64,
}

/// One shard's counters.
#[derive(Debug)]
pub(crate) struct StatsShard {
    pub(crate) keyspace_hits: AtomicU64,
    pub(crate) keyspace_misses: AtomicU64,
    pub(crate) expired_keys: AtomicU64,
    pub(crate) commands_processed: AtomicU64,
    pub(crate) commands: Box<[CommandCounters]>,
}

/// All shards.
#[derive(Debug)]
pub(crate) struct StatsCounters {
    shards: Box<[CachePadded<StatsShard>]>,
}

/// Adds `n` to a counter (relaxed: counters order nothing).
#[inline]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl StatsCounters {
    /// Counters for `commands` command-table entries.
    pub(crate) fn new(commands: usize) -> StatsCounters {
        let count = std::thread::available_parallelism().map_or(4, |n| n.get()).next_power_of_two() * 2;
        let shards = (0..count)
            .map(|_| {
                CachePadded::new(StatsShard {
                    keyspace_hits: AtomicU64::new(0),
                    keyspace_misses: AtomicU64::new(0),
                    expired_keys: AtomicU64::new(0),
                    commands_processed: AtomicU64::new(0),
                    commands: (0..commands).map(|_| CommandCounters::default()).collect(),
                })
            })
            .collect();
        StatsCounters { shards }
    }

    /// Bytes the shards take.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.shards.len()
            * (std::mem::size_of::<CachePadded<StatsShard>>()
                + self.shards.first().map_or(0, |s| s.commands.len())
                    * std::mem::size_of::<CommandCounters>())
    }

    /// This thread's shard.
    #[inline]
    pub(crate) fn local(&self) -> &StatsShard {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        let index = INDEX.with(|i| *i);
        &self.shards[index & (self.shards.len() - 1)]
    }

    /// Sums one counter over the shards.
    pub(crate) fn sum(&self, field: impl Fn(&StatsShard) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|s| field(s).load(Ordering::Relaxed)).sum()
    }

    /// Sums one command's counters: (calls, usec, failed, rejected).
    pub(crate) fn command(&self, index: usize) -> (u64, u64, u64, u64) {
        let mut total = (0, 0, 0, 0);
        for shard in self.shards.iter() {
            let c = &shard.commands[index];
            total.0 += c.calls.load(Ordering::Relaxed);
            total.1 += c.usec.load(Ordering::Relaxed);
            total.2 += c.failed.load(Ordering::Relaxed);
            total.3 += c.rejected.load(Ordering::Relaxed);
        }
        total
    }

    /// Zeroes every counter (`CONFIG RESETSTAT`).
    pub(crate) fn reset(&self) {
        for shard in self.shards.iter() {
            for counter in
                [&shard.keyspace_hits, &shard.keyspace_misses, &shard.expired_keys, &shard.commands_processed]
            {
                counter.store(0, Ordering::Relaxed);
            }
            for c in shard.commands.iter() {
                for counter in [&c.calls, &c.usec, &c.failed, &c.rejected] {
                    counter.store(0, Ordering::Relaxed);
                }
            }
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
    /// Microseconds spent running it, in total.
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
    /// Seconds since the engine was built.
    pub uptime_secs: u64,
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
                        bump(&stats.local().keyspace_hits, 1);
                        bump(&stats.local().commands[2].calls, 1);
                    }
                });
            }
        });
        assert_eq!(stats.sum(|s| &s.keyspace_hits), 4000);
        assert_eq!(stats.command(2).0, 4000);
        stats.reset();
        assert_eq!(stats.sum(|s| &s.keyspace_hits), 0);
    }
}
