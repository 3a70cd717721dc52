//! Access metadata: one `u32` per entry, read according to the eviction policy, as Redis
//! reads its 24-bit `lru` field.
//!
//! Under an LFU policy (`allkeys-lfu`, `volatile-lfu`):
//!
//! ```text
//! bits 31..8: access time, Unix seconds modulo 2^24 (wraps every ~194 days)
//! bits  7..0: LFU counter, logarithmic (Redis's `lfu-log-factor`), decayed by idle minutes
//!             (`lfu-decay-time`) when read or bumped
//! ```
//!
//! One timestamp serves both: Redis's LFU "last decrement time" is reset on every access too.
//!
//! Under every other policy, the whole word is the access time in units of [`LRU_UNIT_MS`]
//! (modulo 2^32: wraps every ~199 days, about Redis's 194). That is 250 times finer than
//! Redis's one-second LRU clock, so sampled LRU can tell apart accesses a few milliseconds
//! apart, which matters for caches whose keys stay resident for seconds, not hours.
//!
//! As in Redis, switching between an LFU and a non-LFU policy at run time reinterprets the
//! word: keys read as oddly old or new until they are next accessed.

/// Milliseconds per unit of the LRU access time.
pub(crate) const LRU_UNIT_MS: u64 = 4;

/// Largest age, in LRU units (one second), at which an access restamps an access time; see
/// `Inner::lru_refresh_units`.
pub(crate) const LRU_REFRESH_MAX: u32 = (1000 / LRU_UNIT_MS) as u32;

/// The LRU access time of `now_ms`, as stored.
#[inline]
pub(crate) fn lru_stamp(now_ms: u64) -> u32 {
    (now_ms / LRU_UNIT_MS) as u32
}

/// Milliseconds since the LRU access time `meta` at `now_ms`, taking the wrap into account.
#[inline]
pub(crate) fn lru_idle_ms(meta: u32, now_ms: u64) -> u64 {
    u64::from(lru_stamp(now_ms).wrapping_sub(meta)) * LRU_UNIT_MS
}

/// Counter of a new key (Redis's `LFU_INIT_VAL`), so new keys are not evicted at once.
pub(crate) const LFU_INIT: u8 = 5;
const CLOCK_MASK: u32 = (1 << 24) - 1;

/// Tuning for the LFU counter (Redis's `lfu-log-factor` and `lfu-decay-time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LfuTuning {
    /// Higher means more hits are needed to grow the counter.
    pub(crate) log_factor: u32,
    /// Minutes of idleness that take one off the counter; 0 never decays.
    pub(crate) decay_minutes: u32,
}

/// Seconds part of a Unix-millisecond time, as stored.
#[inline]
pub(crate) fn clock_secs(now_ms: u64) -> u32 {
    secs_clock(now_ms / 1000)
}

/// A Unix second, as stored.
#[inline]
pub(crate) fn secs_clock(unix_secs: u64) -> u32 {
    (unix_secs as u32) & CLOCK_MASK
}

/// Metadata of a key created at `now_secs`.
#[inline]
pub(crate) fn new_meta(now_secs: u32) -> u32 {
    (now_secs & CLOCK_MASK) << 8 | u32::from(LFU_INIT)
}

/// Seconds since the last access, taking the 24-bit wrap into account.
pub(crate) fn idle_secs(meta: u32, now_secs: u32) -> u32 {
    (now_secs & CLOCK_MASK).wrapping_sub(meta >> 8) & CLOCK_MASK
}

/// The LFU counter with idle decay applied (what `OBJECT FREQ` prints).
pub(crate) fn frequency(meta: u32, now_secs: u32, tuning: LfuTuning) -> u8 {
    let counter = (meta & 0xff) as u8;
    let idle = idle_secs(meta, now_secs);
    // Most accesses come less than a minute apart: no division on the hot path.
    if tuning.decay_minutes == 0 || idle < 60 {
        return counter;
    }
    let periods = idle / 60 / tuning.decay_minutes;
    counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
}

/// Metadata after an access at `now_secs`: decay, then a logarithmic bump that succeeds with
/// probability `1 / ((counter - LFU_INIT) * log_factor + 1)`; `random` yields a uniform `u32`
/// and is only called when the probability is below 1.
#[cfg(test)]
pub(crate) fn touched(meta: u32, now_secs: u32, tuning: LfuTuning, random: impl FnOnce() -> u32) -> u32 {
    bumped(meta, now_secs, tuning, 1, random)
}

/// Longest sampling period: once a key's bump probability is `1 / LFU_SAMPLE` or lower, only
/// one access in `LFU_SAMPLE` evaluates it. See [`on_access`].
pub(crate) const LFU_SAMPLE: u32 = 16;

/// Metadata after an access; `tick` is a per-thread access counter. Returns `meta` itself when
/// nothing changes.
///
/// Sampling keeps the common access cheap without changing the counter's expected growth: with
/// a bump probability of `1 / scale`, only the accesses whose tick is a multiple of `period`
/// (the largest power of two no greater than `scale`, capped at [`LFU_SAMPLE`]) evaluate it,
/// with probability `period / scale`. The other accesses only restamp the time when the second
/// has changed (applying decay).
#[inline]
pub(crate) fn on_access(
    meta: u32,
    now_secs: u32,
    tuning: LfuTuning,
    tick: u32,
    random: impl FnOnce() -> u32,
) -> u32 {
    let same_second = meta >> 8 == now_secs & CLOCK_MASK;
    let base = (meta & 0xff).saturating_sub(u32::from(LFU_INIT));
    let scale = u64::from(base) * u64::from(tuning.log_factor) + 1;
    let period = 1u32 << scale.ilog2().min(LFU_SAMPLE.ilog2());
    match (same_second, tick & (period - 1) == 0) {
        (true, false) => meta,
        (false, false) => bumped(meta, now_secs, tuning, 0, random),
        (_, true) => bumped(meta, now_secs, tuning, period, random),
    }
}

/// Decay, then a bump with probability `min(1, boost / ((counter - LFU_INIT) * f + 1))` (no
/// bump, and no random draw, when `boost` is 0).
#[inline]
fn bumped(meta: u32, now_secs: u32, tuning: LfuTuning, boost: u32, random: impl FnOnce() -> u32) -> u32 {
    let mut counter = frequency(meta, now_secs, tuning);
    if counter < u8::MAX && boost > 0 {
        let base = u32::from(counter.saturating_sub(LFU_INIT));
        // r < boost/(base*f+1)  <=>  r * (base*f+1) < boost, with r = random / 2^32.
        let scale = u64::from(base) * u64::from(tuning.log_factor) + 1;
        if scale <= u64::from(boost) || u64::from(random()) * scale < u64::from(boost) << 32 {
            counter += 1;
        }
    }
    (now_secs & CLOCK_MASK) << 8 | u32::from(counter)
}

/// A per-thread xorshift generator: cheap randomness for LFU bumps and sampling.
pub(crate) fn fast_random() -> u32 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u32> = Cell::new({
            // Seed from the thread-local's address and the time: distinct per thread.
            let local = 0u8;
            let addr = std::ptr::addr_of!(local) as usize as u32;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            (addr ^ nanos) | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        x
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUNING: LfuTuning = LfuTuning { log_factor: 10, decay_minutes: 1 };

    #[test]
    fn lru_idle_time_has_millisecond_units_and_wraps() {
        let meta = lru_stamp(1_000_000);
        assert_eq!(lru_idle_ms(meta, 1_000_000), 0);
        assert_eq!(lru_idle_ms(meta, 1_000_403), 400);
        let near_wrap = u64::from(u32::MAX) * LRU_UNIT_MS;
        assert_eq!(lru_idle_ms(lru_stamp(near_wrap), near_wrap + 8 * LRU_UNIT_MS), 8 * LRU_UNIT_MS);
    }

    #[test]
    fn idle_time_wraps() {
        let meta = new_meta(CLOCK_MASK - 1);
        assert_eq!(idle_secs(meta, 3), 5);
        assert_eq!(idle_secs(new_meta(100), 160), 60);
    }

    #[test]
    fn counter_grows_then_slows() {
        let mut meta = new_meta(0);
        // Below and at LFU_INIT every access counts.
        meta = touched(meta, 0, TUNING, || u32::MAX);
        assert_eq!(meta & 0xff, 6);
        // At 6, the bump probability is 1/11: a random below 2^32/11 bumps, above does not.
        assert_eq!(touched(meta, 0, TUNING, || u32::MAX) & 0xff, 6);
        assert_eq!(touched(meta, 0, TUNING, || ((1u64 << 32) / 12) as u32) & 0xff, 7);
    }

    #[test]
    fn counter_decays_per_idle_minute() {
        let meta = (new_meta(0) & !0xff) | 20;
        assert_eq!(frequency(meta, 59, TUNING), 20);
        assert_eq!(frequency(meta, 180, TUNING), 17);
        assert_eq!(frequency(meta, 100_000, TUNING), 0);
        let no_decay = LfuTuning { decay_minutes: 0, ..TUNING };
        assert_eq!(frequency(meta, 100_000, no_decay), 20);
    }

    #[test]
    fn sampled_access_keeps_low_counters_exact_and_high_ones_in_expectation() {
        // Low counters: every access is evaluated, as without sampling.
        let mut meta = new_meta(0);
        for tick in 1..=3 {
            meta = on_access(meta, 0, TUNING, tick, || u32::MAX);
        }
        assert_eq!(meta & 0xff, 6, "5 -> 6 at probability 1, then 1/11 with r = max: no bump");
        // High counter, same second: unsampled ticks change nothing, sampled ones use 16x.
        let high = (new_meta(0) & !0xff) | 30;
        assert_eq!(on_access(high, 0, TUNING, 3, || 0), high);
        let p_sampled = ((1u64 << 32) * 16 / 251) as u32;
        assert_eq!(on_access(high, 0, TUNING, 16, || p_sampled - 1) & 0xff, 31);
        assert_eq!(on_access(high, 0, TUNING, 16, || p_sampled + 1) & 0xff, 30);
        // A new second always updates the stored time (and applies decay).
        assert_eq!(on_access(high, 61, TUNING, 3, || u32::MAX) >> 8, 61);
        assert_eq!(on_access(high, 61, TUNING, 3, || u32::MAX) & 0xff, 29);
        // Expected growth matches the unsampled rule: mean counter over 40 chains of 20,000
        // accesses each (standard error of the difference ~1).
        let state = std::cell::Cell::new(12345u32);
        let rng = || {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            state.set(x);
            x
        };
        let (mut sampled_sum, mut plain_sum) = (0u32, 0u32);
        for _ in 0..40 {
            let (mut sampled, mut plain) = ((new_meta(0) & !0xff) | 10, (new_meta(0) & !0xff) | 10);
            for tick in 0..20_000u32 {
                sampled = on_access(sampled, 0, TUNING, tick, rng);
                plain = touched(plain, 0, TUNING, rng);
            }
            sampled_sum += sampled & 0xff;
            plain_sum += plain & 0xff;
        }
        let (a, b) = (f64::from(sampled_sum) / 40.0, f64::from(plain_sum) / 40.0);
        assert!((a - b).abs() < 4.0, "sampled mean {a} vs plain mean {b}");
    }

    #[test]
    fn random_is_not_constant() {
        let a = fast_random();
        let b = fast_random();
        assert_ne!(a, b);
    }
}
