//! [`Stripe`]: one lock's worth of keys.
//!
//! A stripe keeps its entries in fixed pages of [`Slot`]s and finds them through an [`Index`]
//! of `u32` slot positions (one cache line per bucket of 12). Two properties follow, and later features rely on them:
//!
//! - **Positions are stable.** An entry stays in its slot from insert to delete; pages are only
//!   appended. SCAN's cursor is a position, so a key present for a whole scan is returned even
//!   while the stripe grows (the index may rehash; positions do not move).
//! - **Memory is dense.** Slots fill pages front to back (freed positions are reused first), and
//!   the index costs 64 bytes per 12 entries at up to 7/8 load, so a 16-byte key with a 32-byte
//!   value costs one 64-byte slot plus about 8 bytes of index.
//!
//! Keys with an expiry are also listed in `volatile`, which the active expiry cycle samples.

use slab::Slab;

use std::sync::Arc;

use super::index::Index;
use super::slot::{FLAG_IN_VOLATILE, Slot};
use super::watch::{WatchFlag, Watchers};
use crate::value::{NewValue, Object, Value, ValueRef};

pub(crate) use super::pages::PAGE_SLOTS;
use super::pages::{self, Page};

/// The hasher a keyspace uses for every key; stripes need it to rehash their index.
pub(crate) type KeyHasher = ahash::RandomState;

/// A removed entry's parts, returned so that callers can drop them outside the lock.
#[derive(Debug)]
pub(crate) struct Removed {
    /// The out-of-line parts (large value, long key), if any.
    pub(crate) object: Option<Object>,
}

/// The keys of one lock. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Stripe {
    index: Index,
    pages: Vec<Page>,
    /// Free positions, lowest last (popped first).
    free: Vec<u32>,
    objects: Slab<Object>,
    /// Positions whose entry has (or had) an expiry; see `FLAG_IN_VOLATILE`.
    volatile: Vec<u32>,
    /// Entries with an expiry.
    expires: usize,
    /// Keys sessions `WATCH` here (`None` while nobody does, the usual case).
    watchers: Option<Box<Watchers>>,
    /// Bytes the objects own (out-of-line keys, and values' heap bytes), kept up to date by
    /// every change made through the stripe and by [`Stripe::resized`] after in-place edits.
    object_bytes: usize,
    /// [`Stripe::live_bytes`] as last reported to the engine-wide estimate (`crate::memory`).
    reported_bytes: usize,
    /// Eviction candidates kept between evictions (`None` until the first eviction).
    pool: Option<Box<crate::evict::Pool>>,
}

impl Drop for Stripe {
    fn drop(&mut self) {
        for page in self.pages.drain(..) {
            pages::give_back(page);
        }
    }
}

impl Stripe {
    /// Number of keys (expired ones not yet reclaimed included).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Number of keys with an expiry.
    pub(crate) fn expires(&self) -> usize {
        self.expires
    }

    /// Number of slot positions (occupied or free); positions are `0..capacity`.
    pub(crate) fn capacity(&self) -> u32 {
        (self.pages.len() * PAGE_SLOTS) as u32
    }

    /// The slot at `pos`.
    #[inline]
    pub(crate) fn slot(&self, pos: u32) -> &Slot {
        let pos = pos as usize;
        &self.pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS]
    }

    #[inline]
    fn slot_mut(&mut self, pos: u32) -> &mut Slot {
        let pos = pos as usize;
        &mut self.pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS]
    }

    /// The position of `key`, whose hash is `hash`.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let (pages, objects) = (&self.pages, &self.objects);
        self.index.find(hash, |pos| {
            let pos = pos as usize;
            pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS].has_key(key, objects)
        })
    }

    /// The slot of `key`, whose hash is `hash` (a read's lookup: the slot without its position).
    #[inline(always)]
    pub(crate) fn find_slot(&self, hash: u64, key: &[u8]) -> Option<&Slot> {
        let (pages, objects) = (&self.pages, &self.objects);
        let mut found = None;
        // Inlined by force: otherwise LLVM calls the key comparison out of line (~50
        // instructions per GET in callgrind).
        self.index.find(
            hash,
            #[inline(always)]
            |pos| {
                let pos = pos as usize;
                let slot = &pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS];
                let hit = slot.has_key(key, objects);
                if hit {
                    found = Some(slot);
                }
                hit
            },
        );
        found
    }

    /// The value held by `slot`, one of this stripe's slots.
    #[inline(always)]
    pub(crate) fn value_of<'s>(&'s self, slot: &'s Slot) -> ValueRef<'s> {
        slot.value(&self.objects)
    }

    /// The key at `pos`.
    pub(crate) fn key(&self, pos: u32) -> &[u8] {
        self.slot(pos).key(&self.objects)
    }

    /// The value at `pos`.
    #[inline]
    pub(crate) fn value(&self, pos: u32) -> ValueRef<'_> {
        self.slot(pos).value(&self.objects)
    }

    /// Inserts a key known to be absent; returns its position.
    pub(crate) fn insert(
        &mut self,
        hasher: &KeyHasher,
        hash: u64,
        key: &[u8],
        value: NewValue<'_>,
        expire_at_ms: Option<u64>,
        meta: u32,
    ) -> u32 {
        debug_assert!(self.find(hash, key).is_none());
        if let Some(watchers) = &self.watchers {
            watchers.touch(key);
        }
        let pos = self.free_position();
        let slot = &mut self.pages[pos as usize / PAGE_SLOTS][pos as usize % PAGE_SLOTS];
        slot.occupy(&mut self.objects, key, value);
        slot.set_meta(meta);
        self.object_bytes += self.object_size(pos);
        self.set_expire(pos, expire_at_ms);
        let (pages, objects) = (&self.pages, &self.objects);
        self.index.insert(hash, pos, |p| {
            let p = p as usize;
            hasher.hash_one(pages[p / PAGE_SLOTS][p % PAGE_SLOTS].key(objects))
        });
        pos
    }

    /// Replaces the value at `pos`, keeping its expiry. Returns the old out-of-line value.
    pub(crate) fn replace(&mut self, pos: u32, value: NewValue<'_>) -> Option<Value> {
        self.changed(pos);
        let before = self.object_size(pos);
        let pos_usize = pos as usize;
        let old = self.pages[pos_usize / PAGE_SLOTS][pos_usize % PAGE_SLOTS]
            .replace_value(&mut self.objects, value);
        self.resized(pos, before);
        old
    }

    /// Bytes the entry at `pos` owns out of line: its key when long, and its value when it
    /// is an object (the value's heap bytes). 0 for an entry held wholly in its slot.
    #[inline]
    pub(crate) fn object_size(&self, pos: u32) -> usize {
        match self.slot(pos).object_index().and_then(|i| self.objects.get(i)) {
            Some(object) => object.key.as_ref().map_or(0, |k| k.len()) + object.value.heap_bytes(),
            None => 0,
        }
    }

    /// The entry at `pos` was edited in place (through [`Stripe::string_mut`] or
    /// [`Stripe::object_value_mut`]) from an out-of-line size of `before` bytes: accounts
    /// for the difference.
    #[inline]
    pub(crate) fn resized(&mut self, pos: u32, before: usize) {
        let after = self.object_size(pos);
        self.object_bytes = self.object_bytes + after - before;
    }

    /// Bytes this stripe holds for its entries, exactly, in O(1): occupied slots, the index,
    /// side lists, the object table, and the objects' contents. Free slots are not counted
    /// (see `crate::memory`).
    #[inline]
    pub(crate) fn live_bytes(&self) -> usize {
        self.dataset_bytes() + self.table_bytes()
    }

    /// Bytes of the tables beside the entries: index, page list, free and volatile lists,
    /// object table, eviction pool.
    #[inline]
    pub(crate) fn table_bytes(&self) -> usize {
        self.index.allocation_size()
            + self.pages.capacity() * std::mem::size_of::<Page>()
            + (self.free.capacity() + self.volatile.capacity()) * 4
            // A slab entry is the object's size: the enum's tag sits in a niche (checked
            // against an allocator by engine/tests/memory_accounting.rs).
            + self.objects.capacity() * std::mem::size_of::<Object>()
            + self.pool.as_ref().map_or(0, |_| std::mem::size_of::<crate::evict::Pool>())
    }

    /// Bytes the entry at `pos` costs: its slot, its share of a full index (one 64-byte bucket
    /// per 12 positions, at up to 7/8 load), and, when it has an object, the object table's
    /// entry and the object's contents.
    pub(crate) fn entry_bytes(&self, pos: u32) -> usize {
        let object = match self.slot(pos).object_index() {
            Some(_) => std::mem::size_of::<Object>() + self.object_size(pos),
            None => 0,
        };
        std::mem::size_of::<Slot>() + 64 * 8 / (12 * 7) + object
    }

    /// Bytes of entries: occupied slots and their objects' contents.
    #[inline]
    pub(crate) fn dataset_bytes(&self) -> usize {
        self.len() * std::mem::size_of::<Slot>() + self.object_bytes
    }

    /// Bytes of free slots (allocated, kept for reuse, not counted as live).
    pub(crate) fn free_slot_bytes(&self) -> usize {
        (self.capacity() as usize - self.len()) * std::mem::size_of::<Slot>()
    }

    /// The live bytes last reported (see `crate::memory`).
    pub(crate) fn reported_bytes(&self) -> usize {
        self.reported_bytes
    }

    /// Records a report of `bytes`.
    pub(crate) fn set_reported_bytes(&mut self, bytes: usize) {
        self.reported_bytes = bytes;
    }

    /// The eviction pool, if one was made.
    pub(crate) fn pool(&self) -> Option<&crate::evict::Pool> {
        self.pool.as_deref()
    }

    /// The eviction pool, created on first use.
    pub(crate) fn pool_mut(&mut self) -> &mut crate::evict::Pool {
        self.pool.get_or_insert_with(Default::default)
    }

    /// A mutable string buffer for the value at `pos` (see `Slot::string_mut`).
    pub(crate) fn string_mut(&mut self, pos: u32) -> Option<&mut Vec<u8>> {
        self.changed(pos);
        let pos = pos as usize;
        self.pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS].string_mut(&mut self.objects)
    }

    /// The out-of-line value at `pos`, for in-place changes (see `Slot::object_value_mut`).
    pub(crate) fn object_value_mut(&mut self, pos: u32) -> Option<&mut Value> {
        self.changed(pos);
        let pos = pos as usize;
        self.pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS].object_value_mut(&mut self.objects)
    }

    /// Marks the string at `pos` as edited in place (or not), for `OBJECT ENCODING`.
    pub(crate) fn set_raw(&mut self, pos: u32, raw: bool) {
        self.slot_mut(pos).set_flag(super::slot::FLAG_RAW, raw);
    }

    /// Sets or clears the expiry of the entry at `pos`, keeping the volatile list in step.
    pub(crate) fn set_expire(&mut self, pos: u32, expire_at_ms: Option<u64>) {
        self.changed(pos);
        let slot = self.slot_mut(pos);
        let had = slot.expire_at_ms().is_some();
        slot.set_expire_at_ms(expire_at_ms);
        match (had, expire_at_ms.is_some()) {
            (false, true) => self.expires += 1,
            (true, false) => self.expires -= 1,
            _ => {}
        }
        let slot = self.slot_mut(pos);
        if expire_at_ms.is_some() && slot.flags() & FLAG_IN_VOLATILE == 0 {
            slot.set_flag(FLAG_IN_VOLATILE, true);
            self.volatile.push(pos);
        }
    }

    /// Lists the entry at `pos` for the active expiry cycle without giving the key an expiry:
    /// a hash whose fields have their own (see `volatile_at`).
    pub(crate) fn list_volatile(&mut self, pos: u32) {
        let slot = self.slot_mut(pos);
        if slot.flags() & FLAG_IN_VOLATILE == 0 {
            slot.set_flag(FLAG_IN_VOLATILE, true);
            self.volatile.push(pos);
        }
    }

    /// Removes the entry at `pos` (whose key hashes to `hash`).
    pub(crate) fn remove(&mut self, hash: u64, pos: u32) -> Removed {
        self.changed(pos);
        self.index.remove(hash, pos);
        if self.slot(pos).expire_at_ms().is_some() {
            self.expires -= 1;
        }
        self.object_bytes -= self.object_size(pos);
        let object = {
            let pos = pos as usize;
            self.pages[pos / PAGE_SLOTS][pos % PAGE_SLOTS].vacate(&mut self.objects)
        };
        self.free.push(pos);
        Removed { object }
    }

    /// Removes every entry, returning the out-of-line parts for dropping outside the lock.
    /// Watchers stay with the stripe; those of keys that existed are raised.
    pub(crate) fn clear(&mut self) -> Stripe {
        let watchers = self.watchers.take();
        let old = std::mem::take(self);
        self.watchers = watchers;
        // The engine-wide estimate still holds the old contents' report: keep it here, so the
        // next report takes it out.
        self.reported_bytes = old.reported_bytes;
        self.touch_watched_keys_of(&old);
        old
    }

    /// `SWAPDB` swapped this stripe's contents with `other`'s (same index, other database):
    /// puts the watchers back where they were, and raises those of keys that exist on either
    /// side, before or after.
    pub(crate) fn swapped_with(&mut self, other: &mut Stripe) {
        std::mem::swap(&mut self.watchers, &mut other.watchers);
        for stripe in [&*self, &*other] {
            self.touch_watched_keys_of(stripe);
            other.touch_watched_keys_of(stripe);
        }
    }

    /// Raises this stripe's watchers of every key present in `contents`.
    fn touch_watched_keys_of(&self, contents: &Stripe) {
        let Some(watchers) = &self.watchers else { return };
        for pos in 0..contents.capacity() {
            if contents.slot(pos).is_occupied() {
                watchers.touch(contents.key(pos));
            }
        }
    }

    /// The entry at `pos` is about to change: raises its watchers.
    #[inline(always)]
    fn changed(&self, pos: u32) {
        if let Some(watchers) = &self.watchers {
            watchers.touch(self.key(pos));
        }
    }

    /// Registers `flag` as a watcher of `key` (present or not).
    pub(crate) fn watch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        self.watchers.get_or_insert_default().add(key, flag);
    }

    /// Removes `flag` from the watchers of `key`.
    pub(crate) fn unwatch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        if self.watchers.as_mut().is_some_and(|w| w.remove(key, flag)) {
            self.watchers = None;
        }
    }

    /// Number of watched keys.
    pub(crate) fn watched_keys(&self) -> usize {
        self.watchers.as_ref().map_or(0, |w| w.len())
    }

    /// Number of positions in the volatile list.
    pub(crate) fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// The position listed at `i` of the volatile list. If its entry no longer has an expiry,
    /// nor fields with one (or the slot is free), the listing is dropped and `None` returned,
    /// which keeps the list bounded by the number of keys with an expiry (or expiring fields)
    /// plus the ones dropped since last sampled.
    pub(crate) fn volatile_at(&mut self, i: usize) -> Option<u32> {
        let pos = *self.volatile.get(i)?;
        let slot = self.slot(pos);
        if slot.is_occupied() && (slot.expire_at_ms().is_some() || self.value(pos).has_field_expiry()) {
            return Some(pos);
        }
        self.volatile.swap_remove(i);
        self.slot_mut(pos).set_flag(FLAG_IN_VOLATILE, false);
        None
    }

    /// Occupied positions from `from` on, in position order.
    pub(crate) fn occupied_from(&self, from: u32) -> impl Iterator<Item = u32> + '_ {
        (from..self.capacity()).filter(|&pos| self.slot(pos).is_occupied())
    }

    /// A free position, adding a page when none is left.
    fn free_position(&mut self) -> u32 {
        if let Some(pos) = self.free.pop() {
            return pos;
        }
        let base = self.capacity();
        self.pages.push(pages::take());
        // Push in reverse so the lowest position is reused first: keeps pages filled in order.
        self.free.extend((base + 1..base + PAGE_SLOTS as u32).rev());
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> KeyHasher {
        KeyHasher::with_seeds(1, 2, 3, 4)
    }

    fn put(stripe: &mut Stripe, h: &KeyHasher, key: &[u8], value: &[u8]) -> u32 {
        stripe.insert(h, h.hash_one(key), key, NewValue::Str(value), None, 0)
    }

    #[test]
    fn insert_find_remove() {
        let h = hasher();
        let mut stripe = Stripe::default();
        let a = put(&mut stripe, &h, b"a", b"1");
        let b = put(&mut stripe, &h, b"b", b"2");
        assert_eq!(stripe.len(), 2);
        assert_eq!(stripe.find(h.hash_one(b"a".as_slice()), b"a"), Some(a));
        assert_eq!(stripe.value(b), ValueRef::Str(b"2"));
        stripe.remove(h.hash_one(b"a".as_slice()), a);
        assert_eq!(stripe.find(h.hash_one(b"a".as_slice()), b"a"), None);
        assert_eq!(stripe.len(), 1);
        // The freed position is reused first.
        assert_eq!(put(&mut stripe, &h, b"c", b"3"), a);
    }

    #[test]
    fn positions_are_stable_while_growing() {
        let h = hasher();
        let mut stripe = Stripe::default();
        let first = put(&mut stripe, &h, b"first", b"v");
        for i in 0..10_000u32 {
            put(&mut stripe, &h, &i.to_le_bytes(), b"v");
        }
        assert_eq!(stripe.find(h.hash_one(b"first".as_slice()), b"first"), Some(first));
        assert_eq!(stripe.key(first), b"first");
        assert_eq!(stripe.occupied_from(0).count(), 10_001);
        for i in 0..10_000u32 {
            let key = i.to_le_bytes();
            let pos = stripe.find(h.hash_one(key.as_slice()), &key).expect("present");
            assert_eq!(stripe.key(pos), key);
        }
    }

    #[test]
    fn volatile_list_drops_persisted_and_freed_entries() {
        let h = hasher();
        let mut stripe = Stripe::default();
        let pos = stripe.insert(&h, h.hash_one(b"k".as_slice()), b"k", NewValue::Int(1), Some(10), 0);
        stripe.set_expire(pos, Some(20));
        assert_eq!(stripe.volatile_len(), 1, "no duplicate listing");
        assert_eq!(stripe.expires(), 1);
        assert_eq!(stripe.volatile_at(0), Some(pos));
        stripe.set_expire(pos, None);
        assert_eq!(stripe.expires(), 0);
        assert_eq!(stripe.volatile_at(0), None);
        assert_eq!(stripe.volatile_len(), 0);
        stripe.set_expire(pos, Some(5));
        stripe.remove(h.hash_one(b"k".as_slice()), pos);
        assert_eq!(stripe.expires(), 0);
        assert_eq!(stripe.volatile_at(0), None);
        assert_eq!(stripe.volatile_len(), 0);
    }

    #[test]
    fn clear_empties() {
        let h = hasher();
        let mut stripe = Stripe::default();
        put(&mut stripe, &h, b"k", &[1; 100]);
        let old = stripe.clear();
        assert_eq!(old.len(), 1);
        assert_eq!(stripe.len(), 0);
        assert_eq!(stripe.capacity(), 0);
    }
}
