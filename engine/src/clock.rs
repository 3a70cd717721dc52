//! Time sources. The engine reads time only through [`Clock`], so tests inject a [`ManualClock`]
//! and advance it instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Expiry times are absolute Unix milliseconds (as Redis's `PEXPIREAT`), so the clock must be a
/// wall clock. Implementations must be cheap: the engine reads the clock when it touches a key
/// that has an expiry, and for access-time bookkeeping.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// The time, possibly a few milliseconds stale, for bookkeeping that needs only seconds
    /// (access times for LRU/LFU and `OBJECT IDLETIME`). Defaults to [`Clock::now_ms`]; a clock
    /// with a cheaper coarse reading may override it.
    fn coarse_now_ms(&self) -> u64 {
        self.now_ms()
    }

    /// Microseconds since the Unix epoch (`TIME`). Defaults to [`Clock::now_ms`] × 1000.
    fn now_us(&self) -> u64 {
        self.now_ms().saturating_mul(1000)
    }

    /// Is reading this clock as cheap as a memory load? Then the engine reads it on every key
    /// access. Otherwise (the default) it keeps the current second in a shared cache that it
    /// refreshes every few hundred accesses per thread and on every maintenance cycle: reading a
    /// real clock on each access measured ~20% of GET throughput on the reference machine.
    fn is_cheap(&self) -> bool {
        false
    }
}

/// The system wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock set before 1970 reads as the epoch: every expiry then lies in the future,
        // which loses nothing.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn now_us(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
///
/// ```
/// use memora_engine::{Engine, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(1_000_000);
/// let engine = Engine::builder().clock(clock.clone()).build();
/// engine.set_ex(b"k", b"v", Duration::from_secs(10)).unwrap();
/// clock.advance(Duration::from_secs(11));
/// assert_eq!(engine.get(b"k").unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now_ms: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start_ms` milliseconds since the epoch.
    pub fn new(start_ms: u64) -> Self {
        ManualClock { now_ms: Arc::new(AtomicU64::new(start_ms)) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.now_ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sets the clock to an absolute time (it may go backwards, as a wall clock can).
    pub fn set_ms(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    /// A load: so access times follow every `advance` exactly.
    fn is_cheap(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(5);
        let shared = clock.clone();
        assert_eq!(clock.now_ms(), 5);
        shared.advance(Duration::from_millis(10));
        assert_eq!(clock.now_ms(), 15);
        clock.set_ms(3);
        assert_eq!(shared.now_ms(), 3);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }

    #[test]
    fn coarse_clock_is_close_to_precise() {
        let precise = SystemClock.now_ms();
        let coarse = SystemClock.coarse_now_ms();
        assert!(coarse.abs_diff(precise) < 1_000, "coarse {coarse} precise {precise}");
    }
}
