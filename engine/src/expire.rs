//! Active expiry: reclaims expired keys nobody reads, by sampling each stripe's volatile list.
//!
//! As Redis's active expire cycle: take up to 20 keys with an expiry at random from a stripe,
//! delete the expired ones, and repeat on the same stripe while more than 10% of a sample was
//! expired; move on round-robin through every stripe of every database until the time budget
//! is spent. The cursor persists between cycles, so every stripe gets its turn.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::engine::Inner;
use crate::evict::{RemovalCause, Removals};
use crate::keyspace::access::fast_random;
use crate::notify::{Events, NotifyFlags};
use crate::stats::bump;
use crate::value::Value;

/// Keys sampled per round (Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const SAMPLE: usize = 20;
/// Repeat on a stripe while more than this percentage of a sample was expired.
const STALE_PERCENT: usize = 10;
/// Rounds on one stripe before moving on, so one stripe cannot take the whole budget.
const MAX_ROUNDS_PER_STRIPE: usize = 16;

/// Where the next cycle resumes.
#[derive(Debug, Default)]
pub(crate) struct ExpireCursor {
    db: usize,
    stripe: usize,
}

impl Inner {
    /// Runs one active expiry cycle for at most about `budget`. Returns keys deleted.
    pub(crate) fn active_expire_cycle(&self, budget: Duration) -> u64 {
        let start = Instant::now();
        let mut cursor = self.expire_cursor.lock();
        let stripes_total = self.dbs.len() * self.dbs[0].stripe_count();
        let mut deleted = 0;
        for _ in 0..stripes_total {
            if cursor.db >= self.dbs.len() {
                *cursor = ExpireCursor::default();
            }
            deleted += self.expire_stripe(cursor.db, cursor.stripe);
            cursor.stripe += 1;
            if cursor.stripe >= self.dbs[cursor.db].stripe_count() {
                cursor.stripe = 0;
                cursor.db += 1;
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        deleted
    }

    /// Folds a sample's average TTL into the database's running estimate (Redis's formula:
    /// each sample moves the estimate 2% of the way).
    fn record_avg_ttl(&self, db: usize, sample_avg_ms: u64) {
        let slot = &self.avg_ttl_ms[db];
        let old = slot.load(Ordering::Relaxed);
        let new = if old == 0 { sample_avg_ms } else { old / 50 * 49 + sample_avg_ms / 50 };
        slot.store(new, Ordering::Relaxed);
    }

    /// The running TTL estimate for `db`, 0 when unknown or nothing expires.
    pub(crate) fn avg_ttl_ms(&self, db: usize) -> u64 {
        let has_expires = (0..self.dbs[db].stripe_count()).any(|i| self.dbs[db].read(i).expires() > 0);
        if has_expires { self.avg_ttl_ms[db].load(Ordering::Relaxed) } else { 0 }
    }

    /// Sampling rounds on one stripe. Returns keys deleted.
    fn expire_stripe(&self, db: usize, stripe_index: usize) -> u64 {
        let mut garbage: Vec<Value> = Vec::new();
        let mut deleted = 0u64;
        // Keyspace events, published once the stripe lock is released.
        let mut events = Events::new(self);
        let mut removals = Removals::default();
        {
            let keyspace = &self.dbs[db];
            if keyspace.read(stripe_index).volatile_len() == 0 {
                return 0;
            }
            let mut stripe = keyspace.write(stripe_index);
            let now_ms = self.clock.now_ms();
            for _ in 0..MAX_ROUNDS_PER_STRIPE {
                // `expired`: samples that were stale (keys or fields); `removed`: keys deleted.
                let (mut sampled, mut expired, mut removed) = (0, 0, 0u64);
                let (mut ttl_sum, mut ttl_count) = (0u64, 0u64);
                for _ in 0..SAMPLE {
                    let listed = stripe.volatile_len();
                    if listed == 0 {
                        break;
                    }
                    let Some(pos) = stripe.volatile_at(fast_random() as usize % listed) else { continue };
                    sampled += 1;
                    if let Some(at) = stripe.slot(pos).expire_at_ms().filter(|&at| at >= now_ms) {
                        ttl_sum += at - now_ms;
                        ttl_count += 1;
                    }
                    let mut remove = stripe.slot(pos).is_expired(now_ms);
                    if !remove && stripe.value(pos).has_field_expiry() {
                        // A hash with field TTLs: reclaim its expired fields, and the key with
                        // the last of them.
                        let before = stripe.object_size(pos);
                        let (purged, empty) = stripe
                            .object_value_mut(pos)
                            .map_or((0, false), |value| value.purge_expired_fields(now_ms));
                        stripe.resized(pos, before);
                        remove = empty;
                        if purged > 0 && !empty {
                            expired += 1;
                        }
                        if purged > 0 {
                            events.push(NotifyFlags::HASH, "hexpired", db, stripe.key(pos));
                        }
                        if empty {
                            events.push(NotifyFlags::GENERIC, "del", db, stripe.key(pos));
                        }
                    }
                    if remove {
                        if stripe.slot(pos).is_expired(now_ms) {
                            events.push(NotifyFlags::EXPIRED, "expired", db, stripe.key(pos));
                        }
                        if self.listener.is_some() {
                            // The last field went: the key is gone because parts of it expired.
                            removals.push(db, stripe.key(pos), RemovalCause::Expired);
                        }
                        let hash = self.hash(stripe.key(pos));
                        if let Some(object) = stripe.remove(hash, pos).object {
                            garbage.push(object.value);
                        }
                        expired += 1;
                        removed += 1;
                    }
                }
                deleted += removed;
                if let Some(avg) = ttl_sum.checked_div(ttl_count) {
                    self.record_avg_ttl(db, avg);
                }
                if sampled == 0 || expired * 100 <= sampled * STALE_PERCENT {
                    break;
                }
            }
            self.memory.report(&mut stripe);
        }
        if deleted > 0 {
            self.stats.with_local(|shard| bump(&shard.expired_keys, deleted));
        }
        events.publish(self);
        removals.deliver(self.listener.as_ref());
        drop(garbage);
        deleted
    }
}
