//! The keyspace: per database, an array of cache-padded, lock-protected [`Stripe`]s.
//!
//! A key's stripe comes from bits 32.. of its 64-bit hash. A stripe's index uses the low bits
//! (bucket) and the top 7 bits (tag) of the same hash, so stripe selection stays independent of
//! both. Cluster mode will map hash slots to stripes through [`Keyspace::stripe_for`] alone.

pub(crate) mod access;
pub(crate) mod held;
pub(crate) mod index;
pub(crate) mod pages;
pub(crate) mod slot;
pub(crate) mod stripe;
pub(crate) mod watch;

use crossbeam_utils::CachePadded;
use parking_lot::RwLock;

pub(crate) use held::{StripeRead, StripeWrite};
pub(crate) use stripe::{KeyHasher, Stripe};

/// One database's stripes.
#[derive(Debug)]
pub(crate) struct Keyspace {
    stripes: Box<[CachePadded<RwLock<Stripe>>]>,
}

impl Keyspace {
    /// A keyspace of `stripes` stripes (a power of two).
    pub(crate) fn new(stripes: usize) -> Keyspace {
        debug_assert!(stripes.is_power_of_two());
        Keyspace { stripes: (0..stripes).map(|_| CachePadded::new(RwLock::new(Stripe::default()))).collect() }
    }

    /// Number of stripes.
    pub(crate) fn stripe_count(&self) -> usize {
        self.stripes.len()
    }

    /// The stripe index for a key hash.
    #[inline]
    pub(crate) fn stripe_for(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.stripes.len() - 1)
    }

    /// The lock of stripe `index`.
    #[inline]
    pub(crate) fn stripe(&self, index: usize) -> &RwLock<Stripe> {
        &self.stripes[index]
    }

    /// Read access to stripe `index`: its read lock, or the stripe itself when this thread's
    /// transaction holds it (see [`held`]).
    #[inline(always)]
    pub(crate) fn read(&self, index: usize) -> StripeRead<'_> {
        held::read(&self.stripes[index])
    }

    /// Write access to stripe `index`: its write lock, or the stripe itself when this
    /// thread's transaction holds it (see [`held`]).
    #[inline(always)]
    pub(crate) fn write(&self, index: usize) -> StripeWrite<'_> {
        held::write(&self.stripes[index])
    }

    /// Bytes of the stripe array itself (locks and empty stripe headers).
    pub(crate) fn fixed_bytes(&self) -> usize {
        self.stripes.len() * std::mem::size_of::<CachePadded<RwLock<Stripe>>>()
    }

    /// Number of keys, summed stripe by stripe (each under its read lock, briefly).
    pub(crate) fn len(&self) -> usize {
        (0..self.stripes.len()).map(|i| self.read(i).len()).sum()
    }
}
