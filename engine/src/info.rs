//! `Engine::stats` and the `INFO` text built from it, in Redis's `field:value` format.

use crate::evict::EvictionPolicy;
use crate::memory::MemoryStats;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::command::table::COMMANDS;
use crate::engine::Engine;
use crate::stats::{CommandStats, DbStats, Stats};

/// The version of Redis whose commands and replies the engine follows, as `INFO` and `HELLO`
/// report it for clients that check it.
pub const REDIS_COMPAT_VERSION: &str = "7.2.0";

/// Sections `INFO` (no argument, `default`) prints.
const DEFAULT_SECTIONS: [&str; 7] =
    ["server", "clients", "memory", "persistence", "stats", "replication", "keyspace"];
/// Every section.
const ALL_SECTIONS: [&str; 8] =
    ["server", "clients", "memory", "persistence", "stats", "replication", "commandstats", "keyspace"];

impl Engine {
    /// A snapshot of the engine's statistics.
    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        let counters = &inner.stats;
        let per_command = counters.command_totals();
        let commands = COMMANDS
            .iter()
            .zip(per_command)
            .filter_map(|(spec, [calls, nanos, failed_calls, rejected_calls])| {
                (calls + failed_calls + rejected_calls > 0).then_some(CommandStats {
                    name: spec.name,
                    calls,
                    usec: nanos / 1000,
                    failed_calls,
                    rejected_calls,
                })
            })
            .collect();
        let mut watched_keys = 0u64;
        let keyspace = (0..inner.dbs.len())
            .filter_map(|db| {
                let keyspace = &inner.dbs[db];
                let (mut keys, mut expires) = (0u64, 0u64);
                for i in 0..keyspace.stripe_count() {
                    let stripe = keyspace.read(i);
                    keys += stripe.len() as u64;
                    expires += stripe.expires() as u64;
                    watched_keys += stripe.watched_keys() as u64;
                }
                (keys > 0).then_some(DbStats { db, keys, expires })
            })
            .collect();
        let (keyspace_hits, keyspace_misses, expired_keys, commands_processed) = counters.keyspace_totals();
        let evicted_per_policy: Vec<(EvictionPolicy, u64)> = EvictionPolicy::ALL
            .into_iter()
            .map(|policy| (policy, inner.evicted[policy.index()].load(Ordering::Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect();
        Stats {
            keyspace_hits,
            keyspace_misses,
            expired_keys,
            commands_processed,
            commands,
            keyspace,
            connected_clients: inner.clients.count() as u64,
            blocked_clients: inner.blocked.count() as u64,
            total_watched_keys: watched_keys,
            uptime_secs: inner.started.elapsed().as_secs(),
            evicted_keys: evicted_per_policy.iter().map(|(_, n)| n).sum(),
            evicted_per_policy,
        }
    }

    /// Bytes the engine holds (Redis's `used_memory`): keys, values, per-entry overhead and
    /// the keyspace's structures, summed exactly stripe by stripe (each under its read lock,
    /// briefly). See [`Engine::memory_stats`] for the parts.
    pub fn used_memory(&self) -> u64 {
        self.memory_walk(|_, _, _| {}).used
    }

    /// Memory figures: used, peak, overhead, dataset, ... (see [`MemoryStats`]).
    ///
    /// ```
    /// use memora_engine::Engine;
    ///
    /// let engine = Engine::new();
    /// let before = engine.memory_stats();
    /// engine.set(b"k", vec![b'x'; 10_000], Default::default()).unwrap();
    /// let after = engine.memory_stats();
    /// assert!(after.used >= before.used + 10_000);
    /// assert_eq!(after.keys, 1);
    /// ```
    pub fn memory_stats(&self) -> MemoryStats {
        MemoryStats { rss: rss_bytes(), ..self.memory_walk(|_, _, _| {}) }
    }

    /// [`Engine::memory_stats`] and, for each database holding keys, the bytes of its tables
    /// beside its entries (indexes, slot lists; `MEMORY STATS`'s `overhead.hashtable.main`),
    /// from the same pass over the stripes.
    pub(crate) fn memory_stats_by_db(&self) -> (MemoryStats, Vec<(usize, u64)>) {
        let mut by_db = Vec::new();
        let stats = self.memory_walk(|db, keys, tables| {
            if keys > 0 {
                by_db.push((db, tables + self.inner.dbs[db].fixed_bytes() as u64));
            }
        });
        (MemoryStats { rss: rss_bytes(), ..stats }, by_db)
    }

    /// Sums every stripe once (each under its read lock, briefly), records the total for the
    /// peak, and gives `per_db` each database's key count and table bytes. Leaves `rss` out.
    fn memory_walk(&self, mut per_db: impl FnMut(usize, u64, u64)) -> MemoryStats {
        let inner = &self.inner;
        let fixed = inner.refresh_fixed_memory() as u64;
        let (mut tables, mut dataset, mut free, mut keys) = (0u64, 0u64, 0u64, 0u64);
        for (db, keyspace) in inner.dbs.iter().enumerate() {
            let (mut db_tables, mut db_keys) = (0u64, 0u64);
            for i in 0..keyspace.stripe_count() {
                let stripe = keyspace.read(i);
                db_tables += stripe.table_bytes() as u64;
                dataset += stripe.dataset_bytes() as u64;
                free += stripe.free_slot_bytes() as u64;
                db_keys += stripe.len() as u64;
            }
            per_db(db, db_keys, db_tables);
            tables += db_tables;
            keys += db_keys;
        }
        let used = fixed + tables + dataset;
        inner.memory.observe(used);
        MemoryStats {
            used,
            peak: inner.memory.peak(),
            fixed,
            overhead: tables,
            dataset,
            free_slot_bytes: free,
            keys,
            maxmemory: inner.memory.limit(),
            rss: None,
        }
    }

    /// `MEMORY USAGE`: bytes the key takes (its slot, its share of the index, and what it
    /// owns out of line), or `None` when it does not exist.
    pub fn memory_usage(&self, key: impl AsRef<[u8]>) -> Option<u64> {
        let key = key.as_ref();
        let inner = &self.inner;
        let hash = inner.hash(key);
        let keyspace = &inner.dbs[self.db];
        let stripe = keyspace.read(keyspace.stripe_for(hash));
        let pos = stripe.find(hash, key)?;
        if stripe.slot(pos).is_expired(inner.clock.now_ms()) {
            return None;
        }
        Some(stripe.entry_bytes(pos) as u64)
    }

    /// The `INFO` text for `sections` (empty: the default set; `all`/`everything`: all).
    pub fn info(&self, sections: &[&[u8]]) -> String {
        let wanted: Vec<String> =
            sections.iter().map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).collect();
        let selected: Vec<&str> = if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
            DEFAULT_SECTIONS.to_vec()
        } else if wanted.iter().any(|w| w == "all" || w == "everything") {
            ALL_SECTIONS.to_vec()
        } else {
            ALL_SECTIONS.iter().copied().filter(|s| wanted.iter().any(|w| w == s)).collect()
        };
        let stats = self.stats();
        let mut out = String::new();
        for (i, section) in selected.iter().enumerate() {
            if i > 0 {
                out.push_str("\r\n");
            }
            self.render_section(section, &stats, &mut out);
        }
        out
    }

    fn render_section(&self, section: &str, stats: &Stats, out: &mut String) {
        match section {
            "server" => self.render_server(stats, out),
            "clients" => {
                out.push_str("# Clients\r\n");
                let _ = write!(
                    out,
                    "connected_clients:{}\r\nblocked_clients:{}\r\npubsub_clients:{}\r\ntotal_watched_keys:{}\r\n",
                    stats.connected_clients,
                    stats.blocked_clients,
                    self.inner.pubsub.subscribed_clients.load(std::sync::atomic::Ordering::Relaxed),
                    stats.total_watched_keys
                );
                if let Some(max) = self.config_value("maxclients") {
                    let _ = write!(out, "maxclients:{max}\r\n");
                }
            }
            "memory" => self.render_memory(out),
            "persistence" => out.push_str("# Persistence\r\nloading:0\r\naof_enabled:0\r\n"),
            "stats" => {
                out.push_str("# Stats\r\n");
                let _ = write!(
                    out,
                    "total_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\n\
                     evicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
                    self.inner.clients.total_registered(),
                    stats.commands_processed,
                    stats.expired_keys,
                    stats.evicted_keys,
                    stats.keyspace_hits,
                    stats.keyspace_misses
                );
                if !stats.evicted_per_policy.is_empty() {
                    let per_policy: Vec<String> =
                        stats.evicted_per_policy.iter().map(|(p, n)| format!("{}={n}", p.name())).collect();
                    let _ = write!(out, "evicted_per_policy:{}\r\n", per_policy.join(","));
                }
                self.render_pubsub_stats(out);
            }
            "replication" => out.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                for c in &stats.commands {
                    let per_call = if c.calls > 0 { c.usec as f64 / c.calls as f64 } else { 0.0 };
                    let _ = write!(
                        out,
                        "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                        c.name, c.calls, c.usec, per_call, c.rejected_calls, c.failed_calls
                    );
                }
            }
            _ => {
                out.push_str("# Keyspace\r\n");
                for db in &stats.keyspace {
                    let avg_ttl = self.inner.avg_ttl_ms(db.db);
                    let _ = write!(
                        out,
                        "db{}:keys={},expires={},avg_ttl={}\r\n",
                        db.db, db.keys, db.expires, avg_ttl
                    );
                }
            }
        }
    }

    /// Pub/sub figures of `INFO stats`: Redis 7.0's three, and the subscribers disconnected for
    /// going past the pubsub output buffer limit (Redis 7.4's name, counting pubsub clients).
    fn render_pubsub_stats(&self, out: &mut String) {
        use crate::pubsub::Space;
        let pubsub = &self.inner.pubsub;
        let _ = write!(
            out,
            "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\n\
             client_output_buffer_limit_disconnections:{}\r\n",
            pubsub.names(Space::Channel),
            pubsub.names(Space::Pattern),
            pubsub.names(Space::Shard),
            pubsub.disconnections.load(std::sync::atomic::Ordering::Relaxed)
        );
    }

    fn render_server(&self, stats: &Stats, out: &mut String) {
        out.push_str("# Server\r\n");
        let _ = write!(
            out,
            "redis_version:{REDIS_COMPAT_VERSION}\r\nmemora_version:{}\r\nredis_mode:standalone\r\n\
             os:{} {}\r\narch_bits:{}\r\nprocess_id:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id()
        );
        if let Some(port) = self.config_value("port") {
            let _ = write!(out, "tcp_port:{port}\r\n");
        }
        let _ = write!(
            out,
            "uptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\n",
            stats.uptime_secs,
            stats.uptime_secs / 86_400,
            self.inner.config.hz.load(Ordering::Relaxed)
        );
    }

    fn render_memory(&self, out: &mut String) {
        let m = self.memory_stats();
        out.push_str("# Memory\r\n");
        let _ = write!(out, "used_memory:{}\r\nused_memory_human:{}\r\n", m.used, human_bytes(m.used));
        if let Some(rss) = m.rss {
            let _ = write!(out, "used_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n", human_bytes(rss));
        }
        let _ = write!(
            out,
            "used_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
             used_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\n\
             used_memory_dataset_perc:{:.2}%\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n",
            m.peak,
            human_bytes(m.peak),
            m.peak_percent(),
            m.fixed + m.overhead,
            m.fixed,
            m.dataset,
            m.dataset_percent(),
            m.maxmemory,
            human_bytes(m.maxmemory),
            self.inner.eviction_policy().name(),
        );
        if let Some((ratio, bytes)) = m.fragmentation() {
            let _ = write!(out, "mem_fragmentation_ratio:{ratio:.2}\r\nmem_fragmentation_bytes:{bytes}\r\n");
        }
        let _ = write!(out, "mem_keyspace_free_slots_bytes:{}\r\nmem_allocator:libc\r\n", m.free_slot_bytes);
    }
}

/// Redis's `bytesToHuman`: `123B`, `1.50K`, `2.00M`, ...
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 5] =
        [(1 << 50, "P"), (1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (scale, unit) in UNITS {
        if n >= scale {
            return format!("{:.2}{unit}", n as f64 / scale as f64);
        }
    }
    format!("{n}B")
}

/// Resident set size of this process, where the OS tells (Linux: `/proc/self/statm`).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human() {
        assert_eq!(human_bytes(100), "100B");
        assert_eq!(human_bytes(1536), "1.50K");
        assert_eq!(human_bytes(3 << 20), "3.00M");
    }

    #[test]
    fn sections() {
        let engine = Engine::new();
        engine.set(b"k", b"v", Default::default()).expect("set");
        let _ = engine.execute(&["GET", "k"]);
        let text = engine.info(&[]);
        assert!(text.starts_with("# Server\r\nredis_version:"));
        assert!(text.contains("# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"));
        assert!(!text.contains("# Commandstats"));
        let text = engine.info(&[b"commandstats"]);
        assert!(text.starts_with("# Commandstats\r\ncmdstat_get:calls=1,"), "{text}");
        let text = engine.info(&[b"everything"]);
        assert!(text.contains("# Commandstats") && text.contains("# Memory"));
    }

    #[test]
    fn used_memory_counts_structures_and_values() {
        let engine = Engine::builder().stripes(16).databases(2).build();
        let empty = engine.used_memory();
        assert!(empty >= 2 * 16 * 64, "fixed stripe arrays are counted: {empty}");
        engine.set(b"big", vec![0u8; 100_000], Default::default()).expect("set");
        assert!(engine.used_memory() >= empty + 100_000);
    }
}
