//! [`BusyPoll`]: after a batch, the I/O thread keeps polling its sockets for a short, adaptive
//! window before it sleeps.
//!
//! A client's `send` to a server that sleeps in `epoll_wait` has to wake it, and on a virtual
//! machine waking an idle CPU is an inter-processor interrupt: several microseconds, paid by
//! the client. Under `redis-benchmark -P 1` (50 connections, one request each in flight) the
//! client is the bottleneck, and a fast server makes it slower: the server finishes each
//! request sooner, sleeps more often (0.081 context switches per request against
//! redis-server's 0.062), and the client spent 14% of its samples waking it (10% against
//! redis-server). Polling for a few microseconds before sleeping catches the next request
//! without that wake-up.
//!
//! The window adapts as KVM's halt polling does. It starts at zero. When the thread slept and
//! the next batch came within [`BusyPoll::max_window_us`], polling a little longer would have
//! saved the sleep: the window doubles (from [`START_WINDOW_US`], up to the maximum). When the
//! sleep lasted longer than the maximum, polling would only have burnt the CPU: the window
//! halves. So an idle or lightly loaded server does not poll at all, and a busy one polls
//! across the short gaps between its clients' requests. While polling, the poller task yields
//! to the runtime in a loop; each turn, the runtime checks the sockets without blocking
//! (`epoll_wait` with a zero timeout) and runs any connection that has input.
//!
//! Only a current-thread runtime (`io-threads 1`, the default on up to two cores) polls. In
//! tokio's multi-thread runtime a worker checks the sockets only when it can take the I/O
//! driver, which a parked worker holds while it sleeps in `epoll_wait`: the poller would spin
//! a core without looking at any socket, so the server does not start it there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::Notify;

/// The first non-zero window, in microseconds.
pub(crate) const START_WINDOW_US: u64 = 4;

/// The polling state shared by the connections and the poller task.
#[derive(Debug)]
pub(crate) struct BusyPoll {
    /// Set by every batch; the poller clears it when it looks (so a batch costs no clock read).
    batch: AtomicBool,
    /// Set while the poller sleeps; the next batch clears it and wakes the poller.
    sleeping: AtomicBool,
    wake: Notify,
    /// The longest window, in microseconds (the `busy-poll-us` setting).
    max_window_us: u64,
}

impl BusyPoll {
    /// A poller whose window never exceeds `max_window_us` microseconds.
    pub(crate) fn new(max_window_us: u64) -> Arc<BusyPoll> {
        Arc::new(BusyPoll {
            batch: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            wake: Notify::new(),
            max_window_us,
        })
    }

    /// A connection ran a batch: restarts the window, and wakes the poller if it sleeps.
    pub(crate) fn batch_ran(&self) {
        if !self.batch.load(Ordering::Relaxed) {
            self.batch.store(true, Ordering::Relaxed);
        }
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Polls while batches keep coming within the window, sleeps when they stop, and adapts
    /// the window after each sleep. Runs until dropped.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut window_us = 0;
        loop {
            let mut last_batch = Instant::now();
            loop {
                if self.batch.swap(false, Ordering::Relaxed) {
                    last_batch = Instant::now();
                }
                if micros_since(last_batch) >= window_us {
                    break;
                }
                tokio::task::yield_now().await;
            }
            self.sleeping.store(true, Ordering::SeqCst);
            // A batch between the last look and that store saw no sleeper to wake: look again.
            if self.batch.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::AcqRel) {
                continue;
            }
            self.wake.notified().await;
            window_us = next_window(window_us, micros_since(last_batch), self.max_window_us);
        }
    }

    /// Whether the poller is asleep (for tests).
    #[cfg(test)]
    fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Acquire)
    }
}

/// Whole microseconds since `then`.
fn micros_since(then: Instant) -> u64 {
    u64::try_from(then.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The window after a sleep of `gap_us` microseconds (from the last batch to the next) that
/// followed polling for `window_us`.
pub(crate) fn next_window(window_us: u64, gap_us: u64, max_window_us: u64) -> u64 {
    if gap_us <= max_window_us {
        window_us.saturating_mul(2).clamp(START_WINDOW_US.min(max_window_us), max_window_us)
    } else {
        window_us / 2
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The windows after `sleeps` sleeps of `gap_us` each, from `window_us`, maximum 50.
    fn windows(mut window_us: u64, gap_us: u64, sleeps: usize) -> Vec<u64> {
        (0..sleeps)
            .map(|_| {
                window_us = next_window(window_us, gap_us, 50);
                window_us
            })
            .collect()
    }

    #[test]
    fn short_sleeps_grow_the_window_up_to_the_maximum() {
        assert_eq!(windows(0, 10, 6), [4, 8, 16, 32, 50, 50]);
        assert_eq!(windows(3, 50, 2), [6, 12], "a sleep of exactly the maximum counts as short");
    }

    #[test]
    fn long_sleeps_shrink_the_window_to_nothing() {
        assert_eq!(windows(50, 51, 7), [25, 12, 6, 3, 1, 0, 0]);
        assert_eq!(next_window(0, 1_000_000, 50), 0, "an idle server never starts polling");
    }

    #[test]
    fn a_maximum_below_the_start_caps_the_window() {
        assert_eq!(next_window(0, 1, 2), 2);
        assert_eq!(next_window(0, 0, 0), 0);
    }

    /// Waits (up to 10 s) until the poller sleeps.
    async fn until_sleeping(poll: &BusyPoll) {
        let asleep = async {
            while !poll.is_sleeping() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), asleep).await.expect("the poller sleeps");
    }

    #[test]
    fn the_poller_sleeps_when_batches_stop_and_wakes_for_the_next() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let poll = BusyPoll::new(200);
            let task = tokio::spawn(Arc::clone(&poll).run());
            until_sleeping(&poll).await;
            for _ in 0..20 {
                poll.batch_ran();
                assert!(!poll.is_sleeping(), "a batch wakes the poller");
                tokio::task::yield_now().await;
            }
            // Whatever the window grew to, it is at most 200 us: the poller goes back to sleep.
            until_sleeping(&poll).await;
            task.abort();
        });
    }
}
