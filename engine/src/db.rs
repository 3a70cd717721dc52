//! Locked access to entries: the one place that applies expiry on access, updates access
//! metadata and counts hits and misses. Every command reads and writes keys through here.
//!
//! - [`Inner::read`]: one key, under its stripe's read lock.
//! - [`ReadSet`]: several keys, every stripe read-locked at once (MGET sees a consistent view).
//! - [`WriteSet`]: several keys (or one), every stripe write-locked at once, in one global order
//!   (database, then stripe index), so multi-key commands are atomic and cannot deadlock.
//!
//! Values that a write replaces or deletes are collected and dropped after the locks are
//! released, so freeing a large value never stalls other threads on the stripe.

use std::cell::{Cell, RefCell};

use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::evict::{EvictionPolicy, MAX_EVICTIONS_PER_WRITE, RemovalCause, Removals, ScoreContext};
use crate::keyspace::access;
use crate::keyspace::slot::{Kind, Slot};
use crate::keyspace::stripe::Removed;
use crate::keyspace::{Stripe, StripeRead, StripeWrite};
use crate::notify::{Events, NotifyFlags};
use crate::stats::bump;
use crate::value::{NewValue, Value, ValueRef};

/// `Inner::write_set` for a write that may grow memory, as a `let` statement:
/// `write_set_growing!(let mut set = self.inner, keys);` locks the stripes of `keys` (a
/// cloneable iterable of (database, key) pairs) into `set`, then [`WriteSet::grow`]s it,
/// returning from the enclosing function with [`Error::OutOfMemory`] when memory is full and
/// nothing can be evicted. A statement rather than a function returning `Result<WriteSet>`
/// (or a block returning the set): moving the set out cost a `memcpy` per move, two per SET
/// (callgrind: 1019 instructions per SET, against 835 before eviction existed).
macro_rules! write_set_growing {
    (let mut $set:ident = $inner:expr, $keys:expr) => {
        let keys = $keys;
        let mut $set = $inner.write_set(::core::clone::Clone::clone(&keys));
        $set.grow(keys)?;
    };
}
pub(crate) use write_set_growing;

/// The current command's time: the clock is read at most once, on first need, so a command
/// sees one instant (as Redis's command time snapshot) and commands that touch no expiring key
/// never read the clock.
pub(crate) struct Now<'a> {
    inner: &'a Inner,
    ms: Cell<u64>,
}

impl<'a> Now<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Now { inner, ms: Cell::new(0) }
    }

    /// Unix milliseconds.
    #[inline]
    pub(crate) fn ms(&self) -> u64 {
        match self.ms.get() {
            0 => {
                let now = self.inner.clock.now_ms().max(1);
                self.inner.observe_time_ms(now);
                self.ms.set(now);
                now
            }
            now => now,
        }
    }
}

/// How a read lookup behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup {
    /// Update access metadata (false for TYPE, TTL, OBJECT, ... as Redis's LOOKUP_NOTOUCH).
    pub(crate) touch: bool,
    /// Count a keyspace hit or miss.
    pub(crate) stats: bool,
}

impl Lookup {
    /// A read by a data command: touches and counts.
    pub(crate) const READ: Lookup = Lookup { touch: true, stats: true };
    /// A metadata query: counts, does not touch.
    pub(crate) const NO_TOUCH: Lookup = Lookup { touch: false, stats: true };
    /// Neither touches nor counts (OBJECT, internal reads).
    pub(crate) const QUIET: Lookup = Lookup { touch: false, stats: false };
}

/// A live entry seen by a read. The value is decoded up front; the rest is read from the slot
/// only when asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found<'a> {
    pub(crate) value: ValueRef<'a>,
    slot: &'a Slot,
}

impl Found<'_> {
    /// The absolute expiry in Unix milliseconds, if any.
    pub(crate) fn expire_at_ms(&self) -> Option<u64> {
        self.slot.expire_at_ms()
    }

    /// Access metadata (see `keyspace::access`).
    pub(crate) fn meta(&self) -> u32 {
        self.slot.meta()
    }

    /// Edited in place since last written whole (`OBJECT ENCODING raw`)?
    pub(crate) fn raw(&self) -> bool {
        self.slot.is_raw()
    }
}

impl Inner {
    /// The hash of a key.
    #[inline(always)]
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Updates an entry's access metadata: the access time (LRU), or the LFU counter under an
    /// LFU policy (see `keyspace::access`).
    #[inline(always)]
    fn touch(&self, slot: &Slot) {
        let (ms, tick) = self.coarse_ms_and_tick();
        let meta = slot.meta();
        if self.lfu_mode() {
            let next =
                access::on_access(meta, access::clock_secs(ms), self.lfu_tuning(), tick, access::fast_random);
            if next != meta {
                slot.set_meta(next);
            }
        } else {
            let stamp = access::lru_stamp(ms);
            if stamp.wrapping_sub(meta) >= self.lru_refresh_units() {
                slot.set_meta(stamp);
            }
        }
    }

    /// Metadata for a new entry.
    pub(crate) fn new_meta(&self) -> u32 {
        let ms = self.coarse_ms();
        if self.lfu_mode() { access::new_meta(access::clock_secs(ms)) } else { access::lru_stamp(ms) }
    }

    #[inline]
    fn count_lookup(&self, hit: bool) {
        self.stats
            .with_local(|shard| bump(if hit { &shard.keyspace_hits } else { &shard.keyspace_misses }, 1));
    }

    /// Runs `f` on the live entry for `key` in `db` (or `None`), under its stripe's read lock.
    ///
    /// **Locking behaviour:** holds one stripe's read lock while `f` runs; `f` must not call
    /// back into the engine. An expired entry is reported missing and deleted afterwards.
    #[inline]
    pub(crate) fn read<R>(
        &self,
        db: usize,
        key: &[u8],
        lookup: Lookup,
        f: impl FnOnce(Option<Found<'_>>) -> R,
    ) -> R {
        let hash = self.hash(key);
        let keyspace = &self.dbs[db];
        let lock = keyspace.stripe(keyspace.stripe_for(hash));
        let mut expired = false;
        let miss;
        let result = {
            // The admission sketch is lock-free: counted before the stripe's lock.
            if lookup.touch
                && let Some(sketch) = &self.sketch
            {
                sketch.increment(hash);
            }
            // The hot path: one branch on the transaction check, then a plain read guard
            // (no per-use dispatch between a lock guard and a held stripe).
            let (guard, held);
            let stripe: &Stripe = match crate::keyspace::held::read_if_held(lock) {
                Some(borrowed) => {
                    held = borrowed;
                    &held
                }
                None => {
                    guard = lock.read();
                    &guard
                }
            };
            let found = stripe.find_slot(hash, key).and_then(|slot| {
                if slot.expire_at_ms().is_some() && slot.is_expired(self.clock.now_ms()) {
                    expired = true;
                    return None;
                }
                if lookup.touch {
                    self.touch(slot);
                }
                Some(Found { value: stripe.value_of(slot), slot })
            });
            if lookup.stats {
                self.count_lookup(found.is_some());
            }
            miss = lookup.stats && found.is_none();
            f(found)
        };
        if expired {
            self.write_set([(db, key)]).entry(db, key);
        }
        if miss {
            // One relaxed load per miss when key-miss events are off.
            self.notify_now(NotifyFlags::KEY_MISS, "keymiss", db, key);
        }
        result
    }

    /// Write-locks the stripes of `keys` (pairs of database and key), in global order.
    /// A single key takes its one lock without allocating.
    ///
    /// **Locking behaviour:** the returned set holds every lock until dropped.
    #[inline(always)]
    pub(crate) fn write_set<'k>(&self, keys: impl IntoIterator<Item = (usize, &'k [u8])>) -> WriteSet<'_> {
        let mut keys = keys.into_iter();
        let guards = match (keys.next(), keys.next()) {
            (Some((db, key)), None) => {
                let stripe = self.dbs[db].stripe_for(self.hash(key));
                Guards::One(db, stripe, self.dbs[db].write(stripe))
            }
            (first, second) => {
                let order = self.lock_order(first.into_iter().chain(second).chain(keys));
                Guards::Many(order.into_iter().map(|(db, s)| (db, s, self.dbs[db].write(s))).collect())
            }
        };
        WriteSet {
            guards,
            inner: self,
            now: Now::new(self),
            garbage: Vec::new(),
            ready: Vec::new(),
            events: Events::new(self),
            edited: None,
            rare: None,
        }
    }

    /// Read-locks the stripes of `keys`, in global order.
    pub(crate) fn read_set<'k>(&self, keys: impl IntoIterator<Item = (usize, &'k [u8])>) -> ReadSet<'_> {
        let order = self.lock_order(keys);
        let guards = order.into_iter().map(|(db, s)| (db, s, self.dbs[db].read(s))).collect();
        ReadSet { guards, inner: self, expired: RefCell::new(Vec::new()), missed: RefCell::new(Vec::new()) }
    }

    /// Sorted, de-duplicated (database, stripe) pairs: the one lock order.
    pub(crate) fn lock_order<'k>(
        &self,
        keys: impl IntoIterator<Item = (usize, &'k [u8])>,
    ) -> Vec<(usize, usize)> {
        let mut order: Vec<(usize, usize)> =
            keys.into_iter().map(|(db, key)| (db, self.dbs[db].stripe_for(self.hash(key)))).collect();
        order.sort_unstable();
        order.dedup();
        order
    }
}

enum Guards<'e> {
    One(usize, usize, StripeWrite<'e>),
    Many(Vec<(usize, usize, StripeWrite<'e>)>),
}

/// Write locks over the stripes of a known set of keys. See the module docs.
pub(crate) struct WriteSet<'e> {
    // Field order is drop order: the locks go before the garbage is freed.
    guards: Guards<'e>,
    inner: &'e Inner,
    now: Now<'e>,
    garbage: Vec<Value>,
    /// Keys written while clients were blocked on some key: after the locks are released,
    /// blocked clients waiting on them are served (see `crate::blocking`).
    ready: Vec<(usize, Vec<u8>)>,
    /// Keyspace notifications, published after the locks are released (see `crate::notify`).
    events: Events,
    /// The pending in-place edit, if any.
    edited: Option<Edited>,
    /// What only some writes need (a removal listener, admission), boxed so that the set
    /// stays small: it is built and moved on every write.
    rare: Option<Box<Rare>>,
}

/// The parts of a [`WriteSet`] that only some writes use.
#[derive(Debug, Default)]
struct Rare {
    /// Removals for the removal listener (recorded only when there is one).
    removals: Removals,
    /// A new key the admission policy turned away: written by the command, removed when the
    /// set is released.
    not_admitted: Option<(usize, Vec<u8>)>,
}

/// The removal list of `rare` (created on first use) when a listener wants removals.
fn removals_for(listening: bool, rare: &mut Option<Box<Rare>>) -> Option<&mut Removals> {
    listening.then(|| &mut rare.get_or_insert_with(Default::default).removals)
}

/// What one eviction step did.
enum Evicted {
    /// A key went, freeing this many bytes.
    One(usize),
    /// Nothing the policy may evict was found.
    None,
    /// The admission policy preferred the victim to the key being written.
    Refused,
}

impl Drop for WriteSet<'_> {
    fn drop(&mut self) {
        if let Some((db, key)) = self.rare.as_mut().and_then(|rare| rare.not_admitted.take()) {
            self.drop_not_admitted(db, &key);
        }
        self.settle();
        // The shared estimate is kept only while a limit is set (see `crate::memory`).
        let memory = &self.inner.memory;
        if memory.limit() != 0 {
            match &mut self.guards {
                Guards::One(_, _, stripe) => memory.report(stripe),
                Guards::Many(guards) => guards.iter_mut().for_each(|(_, _, stripe)| memory.report(stripe)),
            }
        }
        let removed = self.rare.as_ref().is_some_and(|rare| !rare.removals.is_empty());
        if self.ready.is_empty() && self.events.is_empty() && !removed {
            return;
        }
        // Release the locks first: serving takes them again, and no subscriber's queue is
        // touched under a keyspace lock.
        drop(std::mem::replace(&mut self.guards, Guards::Many(Vec::new())));
        self.events.publish(self.inner);
        if let Some(rare) = self.rare.as_mut() {
            rare.removals.deliver(self.inner.listener.as_ref());
        }
        if !self.ready.is_empty() {
            let ready = std::mem::take(&mut self.ready);
            self.inner.blocked.serve(ready);
        }
    }
}

impl<'e> WriteSet<'e> {
    /// The entry for `key` in `db`, whose stripe must be in the set. An expired entry is
    /// deleted here, so the entry is seen as absent.
    pub(crate) fn entry<'s>(&'s mut self, db: usize, key: &'s [u8]) -> EntryMut<'s> {
        self.settle();
        let inner = self.inner;
        let hash = inner.hash(key);
        let stripe_index = inner.dbs[db].stripe_for(hash);
        let stripe = Self::locked(&mut self.guards, db, stripe_index);
        let ready = inner.blocked.any().then_some(&mut self.ready);
        let removals = removals_for(inner.listener.is_some(), &mut self.rare);
        let mut entry = EntryMut {
            stripe,
            inner,
            hash,
            key,
            db,
            pos: None,
            now: &self.now,
            garbage: &mut self.garbage,
            ready,
            events: &mut self.events,
            removals,
            edited: &mut self.edited,
            stripe_index,
        };
        entry.pos = entry.stripe.find(hash, key);
        if let Some(pos) = entry.pos {
            let slot = entry.stripe.slot(pos);
            if slot.expire_at_ms().is_some() && slot.is_expired(entry.now.ms()) {
                entry.remove_at(pos, RemovalCause::Expired);
                inner.stats.with_local(|shard| bump(&shard.expired_keys, 1));
                entry.events.push(NotifyFlags::EXPIRED, "expired", db, key);
            }
        }
        entry
    }

    /// Evicts one key: the better candidate of the held stripes' and one other stripe's (in
    /// the first held stripe's database three times in four, any database otherwise), whose
    /// lock is taken only if free at once. Comparing with another stripe keeps the choice
    /// close to a global one, and keeps a stripe that lost many keys at once (to make room
    /// for a large value) from losing its recently used ones next.
    fn evict_best(
        &mut self,
        held: &[(usize, usize)],
        ctx: &ScoreContext,
        candidate_frequency: Option<u8>,
    ) -> Evicted {
        let inner = self.inner;
        let mut random = access::fast_random;
        // (score, keys in the stripe, which: held index or `usize::MAX` for the other, pos).
        let mut best: Option<(u64, usize, usize, u32)> = None;
        for (i, &(db, stripe_index)) in held.iter().enumerate() {
            let stripe = Self::locked(&mut self.guards, db, stripe_index);
            if let Some((pos, score)) = crate::evict::peek_victim(stripe, ctx, &mut random) {
                let candidate = (score, stripe.len(), i, pos);
                if best.is_none_or(|b| (candidate.0, candidate.1) > (b.0, b.1)) {
                    best = Some(candidate);
                }
            }
        }
        let dbs = inner.dbs.len();
        let r = random() as usize;
        let db = if !r.is_multiple_of(4) { held[0].0 } else { (r >> 2) % dbs };
        let index = (r >> 8) % inner.dbs[db].stripe_count();
        let mut other =
            if held.contains(&(db, index)) { None } else { inner.dbs[db].stripe(index).try_write() };
        // The other stripe is a check, not a second full search: its pool (kept from earlier
        // evictions there) and two fresh samples.
        let light = ScoreContext { samples: 2, ..*ctx };
        if let Some(stripe) = other.as_deref_mut()
            && let Some((pos, score)) = crate::evict::peek_victim(stripe, &light, &mut random)
            && best.is_none_or(|b| (score, stripe.len()) > (b.0, b.1))
        {
            best = Some((score, stripe.len(), usize::MAX, pos));
        }
        let Some((_, _, which, pos)) = best else { return Evicted::None };
        let (db, stripe) = match (which, other.as_deref_mut()) {
            (usize::MAX, Some(stripe)) => (db, stripe),
            _ => {
                let (db, stripe_index) = held[which];
                (db, Self::locked(&mut self.guards, db, stripe_index))
            }
        };
        let refused = candidate_frequency
            .is_some_and(|candidate| candidate <= inner.admission_frequency(inner.hash(stripe.key(pos))));
        let freed = if refused {
            0
        } else {
            let removals = removals_for(inner.listener.is_some(), &mut self.rare);
            evict_at(inner, stripe, db, pos, ctx.policy, &mut self.garbage, &mut self.events, removals)
        };
        // Sampling may have given the other stripe its pool: account for it before unlocking.
        if let Some(stripe) = other.as_deref_mut() {
            inner.memory.report(stripe);
        }
        if refused { Evicted::Refused } else { Evicted::One(freed) }
    }

    /// Removes a new key the admission policy turned away, as an eviction.
    #[cold]
    fn drop_not_admitted(&mut self, db: usize, key: &[u8]) {
        let inner = self.inner;
        let policy = inner.eviction_policy();
        let mut entry = self.entry(db, key);
        if entry.exists() {
            entry.remove_at_evicted();
            entry.notify(NotifyFlags::EVICTED, "evicted");
            inner.count_eviction(policy);
        }
    }

    /// Accounts for the new size of an entry edited in place (see [`Edited`]).
    #[inline]
    fn settle(&mut self) {
        if let Some(edited) = self.edited.take() {
            Self::locked(&mut self.guards, edited.db as usize, edited.stripe as usize)
                .resized(edited.pos, edited.before);
        }
    }

    /// Readies this set for a write that may grow memory (Redis's `denyoom` commands) on
    /// `keys`, the keys it was made for: when memory is over `maxmemory`, evicts first under
    /// the policy (see [`WriteSet::make_room`]), or fails with [`Error::OutOfMemory`] when
    /// nothing can go. With admission on, a one-key write is also the admission candidate:
    /// counted as an access, and judged against the eviction victim once memory is about
    /// full. Use through [`write_set_growing!`].
    #[inline(always)]
    pub(crate) fn grow<'k, I>(&mut self, keys: I) -> Result<()>
    where
        I: IntoIterator<Item = (usize, &'k [u8])>,
    {
        let inner = self.inner;
        let candidate = match &inner.sketch {
            Some(sketch) => {
                let mut names = keys.into_iter();
                match (names.next(), names.next()) {
                    (Some((db, key)), None) => {
                        let hash = inner.hash(key);
                        sketch.increment(hash);
                        Some((db, key, hash))
                    }
                    _ => None,
                }
            }
            None => None,
        };
        // With admission, every new key competes for its place once memory is about full,
        // not only the writes that happen to find it over the limit.
        let judge = candidate.is_some() && inner.memory.near_limit();
        if judge || inner.memory.over_limit() {
            self.make_room(candidate.filter(|_| judge))?;
        }
        Ok(())
    }

    /// Evicts keys until the memory estimate is back under `maxmemory`, or
    /// [`MAX_EVICTIONS_PER_WRITE`] keys went: first from the stripes this set holds, then, if
    /// they have nothing the policy may evict, from other stripes whose lock is free at once
    /// (`try_write`: never waiting while holding locks, so no deadlock). Fails with
    /// [`Error::OutOfMemory`] under `noeviction`, or when nothing could be evicted.
    #[cold]
    pub(crate) fn make_room(&mut self, candidate: Option<(usize, &[u8], u64)>) -> Result<()> {
        let inner = self.inner;
        let policy = inner.eviction_policy();
        if policy == EvictionPolicy::NoEviction {
            return if inner.memory.over_limit() { Err(Error::OutOfMemory) } else { Ok(()) };
        }
        // The cached time: access times are stamped from it too (no clock read here).
        let ctx = ScoreContext {
            policy,
            now_ms: inner.cached_ms(),
            tuning: inner.lfu_tuning(),
            samples: inner.samples.load(std::sync::atomic::Ordering::Relaxed),
        };
        let (one, many);
        let held: &[(usize, usize)] = match &self.guards {
            Guards::One(db, s, _) => {
                one = [(*db, *s)];
                &one
            }
            Guards::Many(guards) => {
                many = guards.iter().map(|(db, s, _)| (*db, *s)).collect::<Vec<_>>();
                &many
            }
        };
        // Admission: only for a key that does not exist yet.
        let admission = candidate.filter(|&(db, key, hash)| {
            let stripe_index = inner.dbs[db].stripe_for(hash);
            Self::locked(&mut self.guards, db, stripe_index).find(hash, key).is_none()
        });
        // What to free, from the estimate as it stands: evictions are counted here as they
        // go, and reach the shared estimate by the usual reports (no atomic per eviction).
        let mut need = inner.memory.excess();
        let mut evicted = 0;
        if let Some((db, key, hash)) = admission {
            // One for one: the new key takes the victim's place, or loses to it.
            match self.evict_best(held, &ctx, Some(inner.admission_frequency(hash))) {
                Evicted::One(freed) => {
                    evicted += 1;
                    need -= freed as i64;
                }
                Evicted::None => {}
                Evicted::Refused => {
                    // The write goes ahead, and the key goes when the set is released (see
                    // `Drop`); nothing else is evicted for it.
                    self.rare.get_or_insert_with(Default::default).not_admitted = Some((db, key.to_vec()));
                    return Ok(());
                }
            }
        }
        while need > 0 && evicted < MAX_EVICTIONS_PER_WRITE {
            match self.evict_best(held, &ctx, None) {
                Evicted::One(freed) => {
                    evicted += 1;
                    need -= freed as i64;
                }
                Evicted::None | Evicted::Refused => break,
            }
        }
        let mut exhausted = false;
        if need > 0 && evicted < MAX_EVICTIONS_PER_WRITE {
            let removals = removals_for(inner.listener.is_some(), &mut self.rare);
            let (more, searched_all) = inner.evict_elsewhere(
                held,
                &ctx,
                (MAX_EVICTIONS_PER_WRITE - evicted, need),
                &mut self.garbage,
                &mut self.events,
                removals,
            );
            evicted += more;
            exhausted = searched_all;
        }
        // Refused only when every stripe was searched and none had a key the policy may
        // evict (not when memory dipped under the limit meanwhile, thanks to other writers).
        if evicted == 0 && exhausted { Err(Error::OutOfMemory) } else { Ok(()) }
    }

    /// The locked stripe `stripe_index` of `db`, which must be in the set.
    #[inline]
    fn locked<'g>(guards: &'g mut Guards<'e>, db: usize, stripe_index: usize) -> &'g mut Stripe {
        match guards {
            Guards::One(d, s, guard) if *d == db && *s == stripe_index => guard,
            Guards::Many(guards) => {
                match guards.binary_search_by_key(&(db, stripe_index), |(d, s, _)| (*d, *s)) {
                    Ok(i) => &mut guards[i].2,
                    Err(_) => panic!("key's stripe was not locked by this write set"),
                }
            }
            Guards::One(..) => panic!("key's stripe was not locked by this write set"),
        }
    }

    /// The stripe holding `key` in `db` (for `WATCH` bookkeeping), which must be in the set.
    pub(crate) fn stripe_of(&mut self, db: usize, key: &[u8]) -> &mut Stripe {
        self.settle();
        let stripe_index = self.inner.dbs[db].stripe_for(self.inner.hash(key));
        Self::locked(&mut self.guards, db, stripe_index)
    }

    /// Records a keyspace notification about `key` in `db`, published after the locks are
    /// released (nothing is recorded unless `class` is on).
    #[inline]
    pub(crate) fn notify(&mut self, class: NotifyFlags, name: &'static str, db: usize, key: &[u8]) {
        self.events.push(class, name, db, key);
    }

    /// The command's time.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now.ms()
    }
}

/// Read locks over the stripes of a known set of keys.
pub(crate) struct ReadSet<'e> {
    guards: Vec<(usize, usize, StripeRead<'e>)>,
    inner: &'e Inner,
    /// Keys found expired, deleted once the read locks are released. Behind a `RefCell` so
    /// that `get` takes `&self` and entries of several keys can be borrowed at once.
    expired: RefCell<Vec<(usize, Vec<u8>)>>,
    /// Keys missed while `keymiss` events are on, published once the locks are released.
    missed: RefCell<Vec<(usize, Vec<u8>)>>,
}

impl ReadSet<'_> {
    /// The live entry for `key` in `db`, whose stripe must be in the set.
    pub(crate) fn get(&self, db: usize, key: &[u8], lookup: Lookup) -> Option<Found<'_>> {
        let inner = self.inner;
        let hash = inner.hash(key);
        let stripe_index = inner.dbs[db].stripe_for(hash);
        let Ok(i) = self.guards.binary_search_by_key(&(db, stripe_index), |(d, s, _)| (*d, *s)) else {
            panic!("key's stripe was not locked by this read set");
        };
        let stripe = &self.guards[i].2;
        let found = stripe.find_slot(hash, key).and_then(|slot| {
            if slot.expire_at_ms().is_some() && slot.is_expired(inner.clock.now_ms()) {
                self.expired.borrow_mut().push((db, key.to_vec()));
                return None;
            }
            if lookup.touch {
                inner.touch(slot);
            }
            Some(Found { value: stripe.value_of(slot), slot })
        });
        if lookup.stats {
            inner.count_lookup(found.is_some());
            if found.is_none() && inner.notify_flags().contains(NotifyFlags::KEY_MISS) {
                self.missed.borrow_mut().push((db, key.to_vec()));
            }
        }
        found
    }
}

impl Drop for ReadSet<'_> {
    fn drop(&mut self) {
        self.guards.clear();
        for (db, key) in self.expired.take() {
            self.inner.write_set([(db, key.as_slice())]).entry(db, &key);
        }
        for (db, key) in self.missed.take() {
            self.inner.notify_now(NotifyFlags::KEY_MISS, "keymiss", db, &key);
        }
    }
}

/// What a write does to the key's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ttl {
    /// Keep it (value edits, `KEEPTTL`).
    Keep,
    /// Remove it (a plain `SET`).
    Clear,
    /// Set it to an absolute Unix-millisecond time.
    At(u64),
}

/// One key inside a [`WriteSet`]: present or absent, never expired.
pub(crate) struct EntryMut<'s> {
    stripe: &'s mut Stripe,
    inner: &'s Inner,
    hash: u64,
    key: &'s [u8],
    db: usize,
    pos: Option<u32>,
    now: &'s Now<'s>,
    garbage: &'s mut Vec<Value>,
    /// Where written keys are noted while clients are blocked (`None` otherwise).
    ready: Option<&'s mut Vec<(usize, Vec<u8>)>>,
    /// The write set's keyspace notifications.
    events: &'s mut Events,
    /// The write set's removals, when a removal listener wants them.
    removals: Option<&'s mut Removals>,
    /// The write set's pending in-place edit (see [`Edited`]).
    edited: &'s mut Option<Edited>,
    /// The stripe's place, to note edits.
    stripe_index: usize,
}

/// An entry handed out for in-place edits (`value_mut`, `string_mut`): its place and its
/// out-of-line size before, so that its new size is accounted once the edit is over, that
/// is before the write set hands out another entry, changes this one otherwise, or reports
/// its memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edited {
    db: u32,
    stripe: u32,
    pos: u32,
    before: usize,
}

impl<'s> EntryMut<'s> {
    /// The command's time (read from the clock on first use, then fixed).
    pub(crate) fn now(&self) -> &'s Now<'s> {
        self.now
    }
}

/// An entry's contents, taken out of the keyspace (RENAME, MOVE, GETDEL).
#[derive(Debug)]
pub(crate) struct Taken {
    pub(crate) value: Value,
    pub(crate) expire_at_ms: Option<u64>,
    /// Edited in place (`OBJECT ENCODING raw`); moves keep it, as Redis moves the object.
    pub(crate) raw: bool,
}

impl EntryMut<'_> {
    /// Records a keyspace notification about this key (see [`WriteSet::notify`]).
    #[inline]
    pub(crate) fn notify(&mut self, class: NotifyFlags, name: &'static str) {
        self.events.push(class, name, self.db, self.key);
    }

    /// Does the key exist?
    pub(crate) fn exists(&self) -> bool {
        self.pos.is_some()
    }

    /// The value, if the key exists.
    pub(crate) fn value(&self) -> Option<ValueRef<'_>> {
        self.pos.map(|pos| self.stripe.value(pos))
    }

    /// The expiry, if the key exists and has one.
    pub(crate) fn expire_at_ms(&self) -> Option<u64> {
        self.pos.and_then(|pos| self.stripe.slot(pos).expire_at_ms())
    }

    /// Notes the key as written, for blocked clients (only while some are blocked).
    fn mark_ready(&mut self) {
        if let Some(ready) = self.ready.as_deref_mut()
            && !ready.iter().any(|(db, key)| *db == self.db && key.as_slice() == self.key)
        {
            ready.push((self.db, self.key.to_vec()));
        }
    }

    /// Accounts for the new size of a value edited in place (see `Stripe::resized`).
    #[inline]
    fn settle(&mut self) {
        if let Some(edited) = self.edited.take() {
            self.stripe.resized(edited.pos, edited.before);
        }
    }

    /// Records a removal for the listener, if there is one.
    #[inline]
    fn removed(&mut self, cause: RemovalCause) {
        if let Some(removals) = self.removals.as_deref_mut() {
            removals.push(self.db, self.key, cause);
        }
    }

    /// Stores `value` under the key, creating it if needed, and applies `ttl`.
    pub(crate) fn put(&mut self, value: NewValue<'_>, ttl: Ttl) {
        self.settle();
        self.mark_ready();
        match self.pos {
            Some(pos) => {
                self.removed(RemovalCause::Replaced);
                if let Some(old) = self.stripe.replace(pos, value) {
                    self.garbage.push(old);
                }
                match ttl {
                    Ttl::Keep => {}
                    Ttl::Clear => self.stripe.set_expire(pos, None),
                    Ttl::At(ms) => self.stripe.set_expire(pos, Some(ms)),
                }
                self.inner.touch(self.stripe.slot(pos));
            }
            None => {
                let expire = match ttl {
                    Ttl::At(ms) => Some(ms),
                    Ttl::Keep | Ttl::Clear => None,
                };
                let meta = self.inner.new_meta();
                let pos = self.stripe.insert(&self.inner.hasher, self.hash, self.key, value, expire, meta);
                self.pos = Some(pos);
                self.events.push(NotifyFlags::NEW, "new", self.db, self.key);
            }
        }
    }

    /// Sets or clears the expiry of an existing key. Returns whether the key exists.
    pub(crate) fn set_expire(&mut self, expire_at_ms: Option<u64>) -> bool {
        match self.pos {
            Some(pos) => {
                self.stripe.set_expire(pos, expire_at_ms);
                true
            }
            None => false,
        }
    }

    /// Lists the key for the active expiry cycle because parts of its value expire (a hash's
    /// fields), without giving the key itself an expiry.
    pub(crate) fn list_volatile(&mut self) {
        if let Some(pos) = self.pos {
            self.stripe.list_volatile(pos);
        }
    }

    /// Deletes the key. Returns whether it existed.
    pub(crate) fn delete(&mut self) -> bool {
        match self.pos {
            Some(pos) => {
                self.remove_at(pos, RemovalCause::Deleted);
                true
            }
            None => false,
        }
    }

    /// Removes the key and returns its contents.
    pub(crate) fn take(&mut self) -> Option<Taken> {
        self.settle();
        let pos = self.pos?;
        self.removed(RemovalCause::Deleted);
        let expire_at_ms = self.stripe.slot(pos).expire_at_ms();
        let raw = self.stripe.slot(pos).is_raw();
        let inline = match self.stripe.slot(pos).kind() {
            Kind::Obj => None,
            _ => Some(self.stripe.value(pos).to_owned_value()),
        };
        self.pos = None;
        let Removed { object } = self.stripe.remove(self.hash, pos);
        let value = inline.or(object.map(|o| o.value))?;
        Some(Taken { value, expire_at_ms, raw })
    }

    /// Is the value a string edited in place (`OBJECT ENCODING raw`)?
    pub(crate) fn is_raw(&self) -> bool {
        self.pos.is_some_and(|pos| self.stripe.slot(pos).is_raw())
    }

    /// Marks the value as edited in place, or not (moves and copies carry the mark).
    pub(crate) fn set_raw(&mut self, raw: bool) {
        if let Some(pos) = self.pos {
            self.stripe.set_raw(pos, raw);
        }
    }

    /// A mutable string buffer for in-place edits; `None` if absent or not a string.
    pub(crate) fn string_mut(&mut self) -> Option<&mut Vec<u8>> {
        let pos = self.pos?;
        self.note_edit(pos);
        self.stripe.string_mut(pos)
    }

    /// Notes that the entry at `pos` is about to be edited in place.
    #[inline]
    fn note_edit(&mut self, pos: u32) {
        if self.edited.is_none() {
            let before = self.stripe.object_size(pos);
            *self.edited = Some(Edited { db: self.db as u32, stripe: self.stripe_index as u32, pos, before });
        }
    }

    /// The value for in-place changes, when it lives out of line (every collection does; a
    /// short string or an integer does not). Counts as an access.
    pub(crate) fn value_mut(&mut self) -> Option<&mut Value> {
        let pos = self.pos?;
        self.mark_ready();
        self.inner.touch(self.stripe.slot(pos));
        self.note_edit(pos);
        self.stripe.object_value_mut(pos)
    }

    /// Removes the key as evicted (admission refused it).
    fn remove_at_evicted(&mut self) {
        if let Some(pos) = self.pos {
            self.remove_at(pos, RemovalCause::Evicted);
        }
    }

    fn remove_at(&mut self, pos: u32, cause: RemovalCause) {
        self.settle();
        self.removed(cause);
        let Removed { object } = self.stripe.remove(self.hash, pos);
        if let Some(object) = object {
            self.garbage.push(object.value);
        }
        self.pos = None;
    }
}

/// Evicts one key from `stripe` (of database `db`) under `ctx`'s policy; returns the bytes
/// freed, or `None` when the stripe has nothing the policy may evict.
pub(crate) fn evict_one(
    inner: &Inner,
    stripe: &mut Stripe,
    db: usize,
    ctx: &ScoreContext,
    garbage: &mut Vec<Value>,
    events: &mut Events,
    removals: Option<&mut Removals>,
) -> Option<usize> {
    let (pos, _) = crate::evict::peek_victim(stripe, ctx, &mut access::fast_random)?;
    Some(evict_at(inner, stripe, db, pos, ctx.policy, garbage, events, removals))
}

/// Evicts the entry at `pos` of `stripe` (of database `db`), a candidate from
/// `evict::peek_victim`. The value goes to `garbage` (dropped after the locks), the `evicted`
/// event and the removal are recorded, and the count kept per policy. Returns the bytes freed
/// (the stripe reports them as usual: when it is unlocked, by granule).
#[expect(clippy::too_many_arguments, reason = "the write set's parts, borrowed separately")]
fn evict_at(
    inner: &Inner,
    stripe: &mut Stripe,
    db: usize,
    pos: u32,
    policy: EvictionPolicy,
    garbage: &mut Vec<Value>,
    events: &mut Events,
    removals: Option<&mut Removals>,
) -> usize {
    let before = stripe.live_bytes();
    crate::evict::take_victim(stripe, pos);
    if matches!(policy, EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru) {
        inner.note_victim_idle_ms(access::lru_idle_ms(stripe.slot(pos).meta(), inner.cached_ms()));
    }
    let key = stripe.key(pos);
    events.push(NotifyFlags::EVICTED, "evicted", db, key);
    if let Some(removals) = removals {
        removals.push(db, key, RemovalCause::Evicted);
    }
    let hash = inner.hash(key);
    if let Some(object) = stripe.remove(hash, pos).object {
        garbage.push(object.value);
    }
    inner.count_eviction(policy);
    before.saturating_sub(stripe.live_bytes())
}

impl Inner {
    /// Evicts up to `budget` keys from stripes other than the caller's, taking only locks
    /// that are free at once. Returns how many went, and whether every stripe was searched
    /// while memory stayed over the limit (no stripe busy, none with a candidate).
    #[cold]
    fn evict_elsewhere(
        &self,
        held: &[(usize, usize)],
        ctx: &ScoreContext,
        (budget, mut need): (usize, i64),
        garbage: &mut Vec<Value>,
        events: &mut Events,
        mut removals: Option<&mut Removals>,
    ) -> (usize, bool) {
        let mut evicted = 0;
        let mut busy = false;
        let dbs = self.dbs.len();
        let stripes = self.dbs[0].stripe_count();
        let total = dbs * stripes;
        let start = access::fast_random() as usize;
        // One key per stripe per pass, from a random starting point, so the need is spread;
        // at most two passes.
        for step in 0..2 * total {
            if evicted >= budget || need <= 0 {
                return (evicted, false);
            }
            let at = (start + step) % total;
            let (db, index) = (at / stripes, at % stripes);
            if held.contains(&(db, index)) {
                continue; // searched already, and locked by the caller
            }
            // Raw `try_write`, bypassing `keyspace::held`: a stripe this thread holds in a
            // transaction is locked, so it is skipped like a busy one.
            let Some(mut stripe) = self.dbs[db].stripe(index).try_write() else {
                busy = true;
                continue;
            };
            if let Some(freed) =
                evict_one(self, &mut stripe, db, ctx, garbage, events, removals.as_deref_mut())
            {
                evicted += 1;
                need -= freed as i64;
                self.memory.report(&mut stripe);
            }
        }
        (evicted, !busy && need > 0)
    }
}
