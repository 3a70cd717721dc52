//! Stripe locks held for a transaction, and the guards every stripe access goes through.
//!
//! A transaction (`EXEC`, [`Engine::transaction`](crate::Engine::transaction)) write-locks
//! every stripe its commands may touch, in the one global lock order, before running any of
//! them, and releases them all at the end: no other thread sees part of it, and no two
//! transactions can deadlock. The commands inside run the ordinary code, which locks stripes
//! itself; `parking_lot` locks are not re-entrant, so while a transaction runs, its thread
//! records the stripes it holds here ([`HeldStripes`], installed in a thread-local), and
//! [`read`]/[`write`] hand out the held stripe instead of locking it again.
//!
//! Outside transactions the cost is one thread-local load and a branch per lock.
//!
//! A stripe of the transaction's engine that is *not* held was not declared: locking it now
//! could deadlock against another transaction (it would break the lock order) and would not be
//! atomic, so it panics, as `RefCell` does on a conflicting borrow. `EXEC` declares
//! conservatively (every stripe, for commands whose keys it cannot tell), so only the typed
//! [`Engine::transaction`](crate::Engine::transaction) with a key it did not list can get there.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{Keyspace, Stripe};

thread_local! {
    /// The transaction running on this thread, if any (null otherwise).
    static HELD: Cell<*const HeldStripes> = const { Cell::new(std::ptr::null()) };
}

/// One held stripe: where it is, and how it is borrowed right now.
pub(crate) struct HeldStripe {
    /// The lock's address: what lookups compare.
    lock: usize,
    /// The stripe behind the write guard the owning [`StripeLocks`] keeps.
    stripe: NonNull<Stripe>,
    /// As `RefCell`'s flag: > 0 shared borrows, -1 one exclusive borrow, 0 free.
    borrow: Cell<isize>,
}

/// The stripes a transaction holds, sorted by lock address.
pub(crate) struct HeldStripes {
    stripes: Vec<HeldStripe>,
    /// Address ranges (first lock, last lock) of the owning engine's stripe arrays: a lock in
    /// them that is not held was not declared.
    ranges: Vec<(usize, usize)>,
}

impl HeldStripes {
    fn find(&self, lock: usize) -> Option<&HeldStripe> {
        self.stripes.binary_search_by_key(&lock, |h| h.lock).ok().map(|i| &self.stripes[i])
    }

    fn owns(&self, lock: usize) -> bool {
        self.ranges.iter().any(|&(first, last)| (first..=last).contains(&lock))
    }
}

/// The write locks of a transaction, installed as this thread's held stripes until dropped.
///
/// **Locking behaviour:** holds every lock it was made with until dropped.
pub(crate) struct StripeLocks<'e> {
    // Field order is drop order: `held` is uninstalled in `Drop::drop` before the guards go.
    held: Box<HeldStripes>,
    guards: Vec<RwLockWriteGuard<'e, Stripe>>,
}

impl<'e> StripeLocks<'e> {
    /// Write-locks `locks` (already in the global lock order, without duplicates) and
    /// installs them for this thread. `keyspaces` are every database of the engine they
    /// belong to. Returns `None` when this thread already runs a transaction: the caller then
    /// runs inside that one.
    pub(crate) fn acquire(
        keyspaces: &'e [Keyspace],
        locks: &[&'e RwLock<Stripe>],
    ) -> Option<StripeLocks<'e>> {
        if in_transaction() {
            return None;
        }
        let mut guards: Vec<RwLockWriteGuard<'e, Stripe>> = locks.iter().map(|lock| lock.write()).collect();
        let mut stripes: Vec<HeldStripe> = locks
            .iter()
            .zip(guards.iter_mut())
            .map(|(lock, guard)| HeldStripe {
                lock: address(lock),
                stripe: NonNull::from(&mut **guard),
                borrow: Cell::new(0),
            })
            .collect();
        stripes.sort_unstable_by_key(|h| h.lock);
        let ranges = keyspaces
            .iter()
            .filter(|k| k.stripe_count() > 0)
            .map(|k| (address(k.stripe(0)), address(k.stripe(k.stripe_count() - 1))))
            .collect();
        let held = Box::new(HeldStripes { stripes, ranges });
        HELD.with(|cell| cell.set(&*held));
        Some(StripeLocks { held, guards })
    }
}

impl Drop for StripeLocks<'_> {
    fn drop(&mut self) {
        HELD.with(|cell| cell.set(std::ptr::null()));
        if self.held.stripes.iter().any(|h| h.borrow.get() != 0) {
            // A borrow outlives the transaction: the stripe would be reachable without its
            // lock. Engine code never lets a stripe guard escape a command, so this is a bug;
            // continuing could corrupt memory.
            std::process::abort();
        }
        self.guards.clear();
    }
}

/// Is a transaction running on this thread?
pub(crate) fn in_transaction() -> bool {
    !HELD.with(Cell::get).is_null()
}

fn address(lock: &RwLock<Stripe>) -> usize {
    lock as *const RwLock<Stripe> as usize
}

/// The held stripe for `lock`, if this thread's transaction holds it. Panics if the
/// transaction's engine owns `lock` but did not declare it (see the module docs).
#[inline(always)]
fn held(lock: &RwLock<Stripe>) -> Option<&HeldStripe> {
    let held = HELD.with(Cell::get);
    if held.is_null() {
        return None;
    }
    held_slow(held, lock)
}

#[cold]
#[expect(unsafe_code, reason = "the held-stripes pointer a live StripeLocks installed; see SAFETY")]
fn held_slow<'a>(held: *const HeldStripes, lock: &RwLock<Stripe>) -> Option<&'a HeldStripe> {
    // SAFETY: a non-null pointer was installed by a live `StripeLocks` on this thread, which
    // owns the boxed `HeldStripes` and clears the pointer before dropping it. Stripe guards
    // (the only holders of the returned reference) never outlive the command or closure that
    // runs inside the transaction (checked in `StripeLocks::drop`).
    let held = unsafe { &*held };
    let lock = address(lock);
    match held.find(lock) {
        Some(stripe) => Some(stripe),
        None if held.owns(lock) => panic!("a transaction touched a key it did not declare"),
        None => None,
    }
}

/// Shared access to a stripe: a read lock, or a stripe this thread's transaction holds.
pub(crate) enum StripeRead<'a> {
    /// A read lock taken for this access.
    Locked(RwLockReadGuard<'a, Stripe>),
    /// A stripe held by the running transaction.
    Held(&'a HeldStripe),
}

/// Exclusive access to a stripe: a write lock, or a stripe this thread's transaction holds.
pub(crate) enum StripeWrite<'a> {
    /// A write lock taken for this access.
    Locked(RwLockWriteGuard<'a, Stripe>),
    /// A stripe held by the running transaction.
    Held(&'a HeldStripe),
}

/// Read access to the stripe behind `lock`.
#[inline(always)]
pub(crate) fn read(lock: &RwLock<Stripe>) -> StripeRead<'_> {
    match read_if_held(lock) {
        None => StripeRead::Locked(lock.read()),
        Some(held) => held,
    }
}

/// Read access to the stripe behind `lock` if this thread's transaction holds it; `None`
/// means the caller locks it (for hot paths that keep a plain guard).
#[inline(always)]
pub(crate) fn read_if_held(lock: &RwLock<Stripe>) -> Option<StripeRead<'_>> {
    let held = held(lock)?;
    let borrow = held.borrow.get();
    assert!(borrow >= 0, "stripe already borrowed exclusively");
    held.borrow.set(borrow + 1);
    Some(StripeRead::Held(held))
}

/// Write access to the stripe behind `lock`.
#[inline(always)]
pub(crate) fn write(lock: &RwLock<Stripe>) -> StripeWrite<'_> {
    match held(lock) {
        None => StripeWrite::Locked(lock.write()),
        Some(held) => {
            assert_eq!(held.borrow.get(), 0, "stripe already borrowed");
            held.borrow.set(-1);
            StripeWrite::Held(held)
        }
    }
}

impl Deref for StripeRead<'_> {
    type Target = Stripe;

    #[inline(always)]
    #[expect(unsafe_code, reason = "a stripe whose write lock the transaction holds; see SAFETY")]
    fn deref(&self) -> &Stripe {
        match self {
            StripeRead::Locked(guard) => guard,
            // SAFETY: the transaction holds this stripe's write lock (no other thread can
            // reach it), and the borrow flag, raised when this guard was made, rules out an
            // exclusive borrow on this thread while it lives.
            StripeRead::Held(held) => unsafe { held.stripe.as_ref() },
        }
    }
}

impl Drop for StripeRead<'_> {
    fn drop(&mut self) {
        if let StripeRead::Held(held) = self {
            held.borrow.set(held.borrow.get() - 1);
        }
    }
}

impl Deref for StripeWrite<'_> {
    type Target = Stripe;

    #[inline(always)]
    #[expect(unsafe_code, reason = "a stripe whose write lock the transaction holds; see SAFETY")]
    fn deref(&self) -> &Stripe {
        match self {
            StripeWrite::Locked(guard) => guard,
            // SAFETY: as for `StripeRead`; this guard's flag excludes every other borrow.
            StripeWrite::Held(held) => unsafe { held.stripe.as_ref() },
        }
    }
}

impl DerefMut for StripeWrite<'_> {
    #[inline(always)]
    #[expect(unsafe_code, reason = "a stripe whose write lock the transaction holds; see SAFETY")]
    fn deref_mut(&mut self) -> &mut Stripe {
        match self {
            StripeWrite::Locked(guard) => guard,
            // SAFETY: the transaction holds the write lock and this guard is the one borrow
            // of the stripe on this thread (flag -1), so this is the only reference to it.
            StripeWrite::Held(held) => unsafe { &mut *held.stripe.as_ptr() },
        }
    }
}

impl Drop for StripeWrite<'_> {
    fn drop(&mut self) {
        if let StripeWrite::Held(held) = self {
            held.borrow.set(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyspaces() -> Vec<Keyspace> {
        vec![Keyspace::new(4), Keyspace::new(4)]
    }

    #[test]
    fn held_stripes_are_handed_out_instead_of_relocked() {
        let dbs = keyspaces();
        let locks = [dbs[0].stripe(1), dbs[1].stripe(3)];
        let held = StripeLocks::acquire(&dbs, &locks).expect("no transaction yet");
        assert!(in_transaction());
        {
            // Would deadlock if it locked again.
            let mut a = write(dbs[0].stripe(1));
            assert!(matches!(a, StripeWrite::Held(_)));
            let _ = &mut *a;
        }
        {
            let r1 = read(dbs[1].stripe(3));
            let r2 = read(dbs[1].stripe(3));
            assert_eq!(r1.len(), r2.len());
        }
        assert!(StripeLocks::acquire(&dbs, &locks).is_none(), "no nesting");
        drop(held);
        assert!(!in_transaction());
        assert!(matches!(write(dbs[0].stripe(1)), StripeWrite::Locked(_)));
    }

    #[test]
    fn other_threads_wait_for_the_transaction() {
        let dbs = keyspaces();
        let held = StripeLocks::acquire(&dbs, &[dbs[0].stripe(0)]).expect("acquire");
        std::thread::scope(|scope| {
            let other = scope.spawn(|| dbs[0].stripe(0).try_write().is_none());
            assert!(other.join().expect("thread"), "held for real");
        });
        drop(held);
        assert!(dbs[0].stripe(0).try_write().is_some());
    }

    #[test]
    #[should_panic(expected = "did not declare")]
    fn an_undeclared_stripe_panics() {
        let dbs = keyspaces();
        let _held = StripeLocks::acquire(&dbs, &[dbs[0].stripe(0)]).expect("acquire");
        let _ = read(dbs[0].stripe(2));
    }

    #[test]
    fn another_engines_stripes_lock_normally() {
        let dbs = keyspaces();
        let other = Keyspace::new(2);
        let _held = StripeLocks::acquire(&dbs, &[dbs[0].stripe(0)]).expect("acquire");
        assert!(matches!(write(other.stripe(1)), StripeWrite::Locked(_)));
    }

    #[test]
    #[should_panic(expected = "already borrowed")]
    fn a_second_exclusive_borrow_panics() {
        let dbs = keyspaces();
        let _held = StripeLocks::acquire(&dbs, &[dbs[0].stripe(0)]).expect("acquire");
        let _a = write(dbs[0].stripe(0));
        let _b = read(dbs[0].stripe(0));
    }
}
