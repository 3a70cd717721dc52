//! [`Hash`]: a map of binary-safe fields to binary-safe values, in one of two representations,
//! as Redis picks them, plus optional per-field expiry times (Redis 7.4's hash field TTLs).
//!
//! - `listpack`: few, short fields and values: one buffer of records (a varint length, then the
//!   bytes), each field followed by its value, in insertion order (linear search over a few
//!   cache lines).
//! - `hashtable`: everything else: field and value records appended to one arena buffer and
//!   found through a hash [`Index`] of the fields' arena offsets (the keyspace's bucketed
//!   index). No allocation per field: about 55 bytes a field for 13-byte fields with 32-byte
//!   values. A value rewritten with the same length is overwritten in place; otherwise the pair
//!   moves to the arena's end and the old bytes become garbage.
//!
//! A hash only moves towards the larger form, as in Redis. Once garbage outweighs live data
//! the arena is compacted (in order) and the hash's scan epoch changes, which makes an `HSCAN`
//! cursor from before restart from the beginning: fields may repeat, as Redis allows, but none
//! present for the whole scan is missed.
//!
//! Field expiry times live in a side map that exists only while some field has one, so hashes
//! that never use field TTLs pay one null pointer. The map is keyed by field bytes, so it is
//! unaffected by the forms moving records around. It keeps a lower bound of its earliest
//! expiry, so checking a hash for expired fields costs one comparison; expired fields are
//! removed by [`Hash::purge_expired`], which callers run before every access (see
//! `crate::hashes`).

use std::sync::LazyLock;

use super::set::{put_len, read_record};
use crate::error::{Error, Result};
use crate::keyspace::index::Index;

/// Thresholds that choose a hash's representation (Redis's `hash-max-listpack-entries` and
/// `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashLimits {
    /// Most fields a `listpack` holds.
    pub(crate) listpack_entries: usize,
    /// Longest field or value a `listpack` holds.
    pub(crate) listpack_value: usize,
}

impl HashLimits {
    /// Redis's defaults: 128 and 64.
    pub(crate) const DEFAULT: HashLimits = HashLimits { listpack_entries: 128, listpack_value: 64 };
}

/// A hash. See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hash {
    form: Form,
    /// Expiry times of the fields that have one; `None` while no field has.
    ttls: Option<Box<FieldTtls>>,
}

#[derive(Debug, Clone)]
enum Form {
    /// A packed buffer of field/value records (`listpack`).
    Packed(Packed),
    /// An arena with a hash index (`hashtable`).
    Table(Table),
}

impl Form {
    /// Heap bytes of the packed buffer, or of the arena and its index.
    fn heap_bytes(&self) -> usize {
        match self {
            Form::Packed(packed) => packed.buf.capacity(),
            Form::Table(table) => table.arena.capacity() + table.index.allocation_size(),
        }
    }
}

impl Default for Form {
    fn default() -> Self {
        Form::Packed(Packed::default())
    }
}

/// Per-field expiry times (Unix milliseconds).
#[derive(Debug, Clone)]
struct FieldTtls {
    /// Change only through [`FieldTtls::insert`] and [`FieldTtls::remove`], which keep
    /// `key_bytes`.
    at_ms: hashbrown::HashMap<Box<[u8]>, u64, ahash::RandomState>,
    /// No field expires before this: exact after a purge, a lower bound otherwise.
    earliest_ms: u64,
    /// Sum of the lengths of `at_ms`'s keys (each its own allocation), so that the map's heap
    /// bytes are known in O(1).
    key_bytes: usize,
}

impl FieldTtls {
    fn new() -> FieldTtls {
        FieldTtls { at_ms: hashbrown::HashMap::default(), earliest_ms: u64::MAX, key_bytes: 0 }
    }

    /// Sets the expiry of `field`.
    fn insert(&mut self, field: &[u8], at_ms: u64) {
        self.earliest_ms = self.earliest_ms.min(at_ms);
        match self.at_ms.get_mut(field) {
            Some(at) => *at = at_ms,
            None => {
                self.at_ms.insert(field.into(), at_ms);
                self.key_bytes += field.len();
            }
        }
    }

    /// Drops the expiry of `field`; returns whether it had one.
    fn remove(&mut self, field: &[u8]) -> bool {
        let had = self.at_ms.remove(field).is_some();
        if had {
            self.key_bytes -= field.len();
        }
        had
    }

    /// Heap bytes: the box holding this, the map's table and its keys. O(1).
    fn heap_bytes(&self) -> usize {
        size_of::<FieldTtls>() + self.at_ms.allocation_size() + self.key_bytes
    }

    /// [`FieldTtls::heap_bytes`] with the keys counted one by one (tests).
    #[cfg(test)]
    fn heap_bytes_counted(&self) -> usize {
        let keys: usize = self.at_ms.keys().map(|k| k.len()).sum();
        size_of::<FieldTtls>() + self.at_ms.allocation_size() + keys
    }
}

/// Bits of an `HSCAN` cursor that hold the arena offset; the bits above hold the epoch.
const CURSOR_OFFSET_BITS: u32 = 40;
/// Arena compaction is considered once the arena is at least this large.
const COMPACT_MIN_BYTES: usize = 4096;

/// Is a field with expiry `at_ms` gone at `now_ms`? (Redis: expired once the time is past.)
pub(crate) fn is_expired(at_ms: u64, now_ms: u64) -> bool {
    at_ms < now_ms
}

impl Hash {
    /// Number of fields (expired ones not yet purged included).
    pub(crate) fn len(&self) -> usize {
        match &self.form {
            Form::Packed(packed) => packed.len,
            Form::Table(table) => table.len,
        }
    }

    /// The value of `field`.
    pub(crate) fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.form {
            Form::Packed(packed) => packed.find(field).map(|at| at.value(&packed.buf)),
            Form::Table(table) => table.find(field).and_then(|offset| table.pair(offset)).map(|(_, v)| v),
        }
    }

    /// Sets `field` to `value` and clears its expiry (`HSET`); returns whether it was new.
    pub(crate) fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> Result<bool> {
        let added = self.insert(field, value, limits)?;
        if !added {
            self.forget_ttl(field);
        }
        Ok(added)
    }

    /// Sets `field` to `value`, keeping any expiry it has (`HINCRBY`); returns whether it was
    /// new. Converts to the hashtable form when `limits` say so.
    pub(crate) fn insert(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> Result<bool> {
        match &mut self.form {
            Form::Packed(packed) => {
                let fits = field.len() <= limits.listpack_value && value.len() <= limits.listpack_value;
                if let Some(at) = packed.find(field) {
                    if fits {
                        packed.set_value(at, value);
                        return Ok(false);
                    }
                } else if fits && packed.len < limits.listpack_entries {
                    packed.push(field, value);
                    return Ok(true);
                }
                self.convert_to_table()?;
                self.insert(field, value, limits)
            }
            Form::Table(table) => table.insert(field, value),
        }
    }

    /// Removes `field` (and its expiry); returns whether it was there.
    pub(crate) fn remove(&mut self, field: &[u8]) -> bool {
        let removed = match &mut self.form {
            Form::Packed(packed) => packed.remove(field),
            Form::Table(table) => table.remove(field),
        };
        if removed {
            self.forget_ttl(field);
        }
        removed
    }

    /// Runs `f` on every field and value, in storage order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match &self.form {
            Form::Packed(packed) => packed.pairs().for_each(|(field, value)| f(field, value)),
            Form::Table(table) => table.pairs().for_each(|(field, value)| f(field, value)),
        }
    }

    /// Every field and value, copied.
    pub(crate) fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|field, value| out.push((field.to_vec(), value.to_vec())));
        out
    }

    /// A random field and its value (`random` yields uniform 64-bit values).
    pub(crate) fn random_entry(&self, mut random: impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        let len = self.len() as u64;
        if len == 0 {
            return None;
        }
        match &self.form {
            Form::Packed(packed) => packed.pairs().nth((random() % len) as usize),
            Form::Table(table) => table.index.random(random).and_then(|offset| table.pair(offset)),
        }
    }

    /// One `HSCAN` step from `cursor`: runs `f` on about `count` fields and returns the next
    /// cursor (0 when done). The small form answers everything at once, as Redis's does.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.form {
            Form::Table(table) => table.scan(cursor, count, f),
            Form::Packed(_) => {
                self.for_each(&mut f);
                0
            }
        }
    }

    /// The `OBJECT ENCODING` name: a small hash with field expiry times is `listpackex`, as
    /// Redis 7.4 calls its listpack with a TTL after each value.
    pub(crate) fn encoding(&self) -> &'static str {
        match &self.form {
            Form::Packed(_) if self.ttls.is_some() => "listpackex",
            Form::Packed(_) => "listpack",
            Form::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held (allocation capacities).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.form.heap_bytes() + self.ttls.as_ref().map_or(0, |ttls| ttls.heap_bytes())
    }

    /// [`Hash::heap_bytes`] with the field-TTL keys counted one by one (tests).
    #[cfg(test)]
    fn heap_bytes_counted(&self) -> usize {
        self.form.heap_bytes() + self.ttls.as_ref().map_or(0, |ttls| ttls.heap_bytes_counted())
    }

    /// The expiry of `field` (which must exist), if it has one.
    pub(crate) fn expire_at_ms(&self, field: &[u8]) -> Option<u64> {
        self.ttls.as_ref().and_then(|ttls| ttls.at_ms.get(field).copied())
    }

    /// Sets the expiry of `field`, which must exist.
    pub(crate) fn set_expire_at_ms(&mut self, field: &[u8], at_ms: u64) {
        self.ttls.get_or_insert_with(|| Box::new(FieldTtls::new())).insert(field, at_ms);
    }

    /// Removes the expiry of `field`; returns whether it had one.
    pub(crate) fn persist(&mut self, field: &[u8]) -> bool {
        self.forget_ttl(field)
    }

    /// Does any field have an expiry?
    pub(crate) fn has_ttls(&self) -> bool {
        self.ttls.is_some()
    }

    /// Might some field have expired at `now_ms`? (One comparison; false positives possible
    /// after expiries were removed or pushed back, never false negatives.)
    pub(crate) fn needs_purge(&self, now_ms: u64) -> bool {
        self.ttls.as_ref().is_some_and(|ttls| is_expired(ttls.earliest_ms, now_ms))
    }

    /// Removes every field expired at `now_ms`; returns how many.
    pub(crate) fn purge_expired(&mut self, now_ms: u64) -> usize {
        let Some(ttls) = self.ttls.as_mut() else { return 0 };
        if !is_expired(ttls.earliest_ms, now_ms) {
            return 0;
        }
        let expired: Vec<Box<[u8]>> =
            ttls.at_ms.iter().filter(|(_, at)| is_expired(**at, now_ms)).map(|(f, _)| f.clone()).collect();
        for field in &expired {
            ttls.remove(field);
        }
        ttls.earliest_ms = ttls.at_ms.values().copied().min().unwrap_or(u64::MAX);
        if ttls.at_ms.is_empty() {
            self.ttls = None;
        }
        for field in &expired {
            match &mut self.form {
                Form::Packed(packed) => packed.remove(field),
                Form::Table(table) => table.remove(field),
            };
        }
        expired.len()
    }

    /// Drops the expiry of `field`; returns whether it had one.
    fn forget_ttl(&mut self, field: &[u8]) -> bool {
        let Some(ttls) = self.ttls.as_mut() else { return false };
        let had = ttls.remove(field);
        if ttls.at_ms.is_empty() {
            self.ttls = None;
        }
        had
    }

    /// Moves every field into the hashtable form.
    fn convert_to_table(&mut self) -> Result<()> {
        let Form::Packed(packed) = &self.form else { return Ok(()) };
        let mut table = Table::default();
        for (field, value) in packed.pairs() {
            table.insert(field, value)?;
        }
        self.form = Form::Table(table);
        Ok(())
    }
}

/// Hashes are equal when they hold the same fields with the same values (expiry times aside),
/// whatever their representations.
impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut all = true;
        self.for_each(|field, value| all &= other.get(field) == Some(value));
        all
    }
}

impl Eq for Hash {}

/// The field and value records starting at `at`: the field, the value's byte range and where
/// the next pair starts. `None` when `at` does not start a well-formed pair (never for offsets
/// the hash produced; possible for a client's made-up `HSCAN` cursor).
fn read_pair(buf: &[u8], at: usize) -> Option<(&[u8], usize, usize)> {
    let (field, value_record) = read_record(buf, at)?;
    let (value, end) = read_record(buf, value_record)?;
    Some((field, end - value.len(), end))
}

/// Pairs of `buf` from `at` on, with the offsets of their fields.
fn pairs_from(buf: &[u8], at: usize) -> impl Iterator<Item = (usize, &[u8], &[u8])> {
    let mut next = Some(at);
    std::iter::from_fn(move || {
        let at = next?;
        let (field, value_start, end) = read_pair(buf, at)?;
        next = Some(end);
        Some((at, field, &buf[value_start..end]))
    })
}

/// Where one pair sits in a packed buffer.
#[derive(Debug, Clone, Copy)]
struct PairAt {
    /// Start of the field record.
    start: usize,
    /// Start of the value record (its varint length).
    value_record: usize,
    /// Start of the value bytes.
    value_start: usize,
    /// End of the pair.
    end: usize,
}

impl PairAt {
    fn value(self, buf: &[u8]) -> &[u8] {
        &buf[self.value_start..self.end]
    }
}

/// The `listpack` form: field and value records back to back.
#[derive(Debug, Clone, Default)]
struct Packed {
    buf: Vec<u8>,
    len: usize,
}

impl Packed {
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        pairs_from(&self.buf, 0).map(|(_, field, value)| (field, value))
    }

    fn find(&self, field: &[u8]) -> Option<PairAt> {
        let mut at = 0;
        while at < self.buf.len() {
            let (bytes, value_record) = read_record(&self.buf, at)?;
            let (value, end) = read_record(&self.buf, value_record)?;
            if bytes == field {
                return Some(PairAt { start: at, value_record, value_start: end - value.len(), end });
            }
            at = end;
        }
        None
    }

    fn push(&mut self, field: &[u8], value: &[u8]) {
        put_len(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_len(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.len += 1;
    }

    fn set_value(&mut self, at: PairAt, value: &[u8]) {
        if at.end - at.value_start == value.len() {
            self.buf[at.value_start..at.end].copy_from_slice(value);
            return;
        }
        let mut record = Vec::with_capacity(value.len() + 4);
        put_len(&mut record, value.len());
        record.extend_from_slice(value);
        self.buf.splice(at.value_record..at.end, record);
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else { return false };
        self.buf.drain(at.start..at.end);
        self.len -= 1;
        true
    }
}

/// Hash for arena fields: one process-wide, randomly keyed `ahash` state.
fn field_hash(field: &[u8]) -> u64 {
    static STATE: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);
    STATE.hash_one(field)
}

/// The `hashtable` form. See the module docs.
#[derive(Debug, Clone, Default)]
struct Table {
    arena: Vec<u8>,
    index: Index,
    len: usize,
    /// Bytes of the arena held by removed or moved pairs.
    garbage: usize,
    /// Bumped by every compaction (24 bits, in the high bits of `HSCAN` cursors).
    epoch: u32,
}

impl Table {
    fn field(&self, offset: u32) -> &[u8] {
        read_record(&self.arena, offset as usize).map_or(&[], |(bytes, _)| bytes)
    }

    fn pair(&self, offset: u32) -> Option<(&[u8], &[u8])> {
        let (field, value_start, end) = read_pair(&self.arena, offset as usize)?;
        Some((field, &self.arena[value_start..end]))
    }

    fn find(&self, field: &[u8]) -> Option<u32> {
        self.index.find(field_hash(field), |offset| self.field(offset) == field)
    }

    fn insert(&mut self, field: &[u8], value: &[u8]) -> Result<bool> {
        let existing = self.find(field);
        if let Some(offset) = existing
            && let Some((_, value_start, end)) = read_pair(&self.arena, offset as usize)
            && end - value_start == value.len()
        {
            self.arena[value_start..end].copy_from_slice(value);
            return Ok(false);
        }
        // New, or a value of another length: append the pair (it must start below 4 GiB).
        let offset = u32::try_from(self.arena.len())
            .map_err(|_| Error::msg("ERR hash is too large (its fields exceed 4 GiB)"))?;
        if let Some(old) = existing {
            self.drop_pair(field, old);
        }
        let needed = field.len() + value.len() + 20;
        if self.arena.capacity() - self.arena.len() < needed {
            // Grow by a quarter rather than doubling: the arena is most of a large hash's
            // memory, and a quarter still amortizes copying to O(1) per byte.
            self.arena.reserve_exact(needed.max(self.arena.capacity() / 4).max(64));
        }
        put_len(&mut self.arena, field.len());
        self.arena.extend_from_slice(field);
        put_len(&mut self.arena, value.len());
        self.arena.extend_from_slice(value);
        let Table { arena, index, .. } = self;
        index.insert(field_hash(field), offset, |o| {
            field_hash(read_record(arena, o as usize).map_or(&[], |(bytes, _)| bytes))
        });
        self.len += 1;
        if existing.is_some() {
            self.maybe_compact();
        }
        Ok(existing.is_none())
    }

    /// Unlinks the pair of `field` at `offset` from the index, counting its bytes as garbage.
    fn drop_pair(&mut self, field: &[u8], offset: u32) {
        self.index.remove(field_hash(field), offset);
        self.len -= 1;
        self.garbage +=
            read_pair(&self.arena, offset as usize).map_or(0, |(_, _, end)| end - offset as usize);
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(offset) = self.find(field) else { return false };
        self.drop_pair(field, offset);
        self.maybe_compact();
        true
    }

    fn maybe_compact(&mut self) {
        if self.arena.len() >= COMPACT_MIN_BYTES && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
    }

    /// Rewrites the arena with only live pairs, in their order, and rebuilds the index.
    fn compact(&mut self) {
        let mut fresh =
            Table { epoch: (self.epoch + 1) & ((1 << (64 - CURSOR_OFFSET_BITS)) - 1), ..Table::default() };
        fresh.arena.reserve_exact(self.arena.len() - self.garbage);
        for (at, field, value) in pairs_from(&self.arena, 0) {
            let live = self.index.find(field_hash(field), |offset| offset as usize == at).is_some();
            // Live fields are distinct and the new arena is smaller than the old one, whose
            // offsets fitted, so `insert` cannot fail here.
            if live && fresh.insert(field, value).is_err() {
                return;
            }
        }
        *self = fresh;
    }

    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.index.positions().filter_map(|offset| self.pair(offset))
    }

    fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        let epoch = cursor >> CURSOR_OFFSET_BITS;
        let mut at = (cursor & ((1 << CURSOR_OFFSET_BITS) - 1)) as usize;
        if epoch != u64::from(self.epoch) || at > self.arena.len() {
            // A cursor from before a compaction (or made up): start over.
            at = 0;
        }
        let mut emitted = 0;
        for (offset, field, value) in pairs_from(&self.arena, at) {
            if emitted >= count.max(1) {
                return u64::from(self.epoch) << CURSOR_OFFSET_BITS | offset as u64;
            }
            let live = self.index.find(field_hash(field), |o| o as usize == offset).is_some();
            if live {
                f(field, value);
                emitted += 1;
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    use crate::types::test_rng as rng;

    #[test]
    fn representation_follows_the_limits() {
        let limits = HashLimits { listpack_entries: 3, listpack_value: 8 };
        let mut hash = Hash::default();
        for (f, v) in [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")] {
            assert_eq!(hash.set(f, v, limits), Ok(true));
        }
        assert_eq!(hash.encoding(), "listpack");
        assert_eq!(hash.set(b"a", b"one", limits), Ok(false), "a value of another length");
        assert_eq!(hash.get(b"a"), Some(&b"one"[..]));
        assert_eq!(hash.set(b"d", b"4", limits), Ok(true), "a fourth field outgrows the listpack");
        assert_eq!(hash.encoding(), "hashtable");
        let mut long = Hash::default();
        assert_eq!(long.set(b"f", b"a-value-longer-than-8", limits), Ok(true));
        assert_eq!(long.encoding(), "hashtable");
        let mut updated = Hash::default();
        assert_eq!(updated.set(b"f", b"short", limits), Ok(true));
        assert_eq!(updated.set(b"f", b"now-a-long-value", limits), Ok(false));
        assert_eq!(updated.encoding(), "hashtable", "a long value replacing a short one converts");
        assert_eq!(updated.get(b"f"), Some(&b"now-a-long-value"[..]));
        let mut entries = hash.entries();
        entries.sort();
        let expected: Vec<(Vec<u8>, Vec<u8>)> =
            [("a", "one"), ("b", "2"), ("c", "3"), ("d", "4")].map(|(f, v)| (f.into(), v.into())).into();
        assert_eq!(entries, expected);
    }

    #[test]
    fn every_form_matches_a_hash_map() {
        for limits in [
            HashLimits::DEFAULT,
            HashLimits { listpack_entries: 0, listpack_value: 0 },
            HashLimits { listpack_entries: 10_000, listpack_value: 100 },
        ] {
            let mut next = rng();
            let mut hash = Hash::default();
            let mut model = HashMap::new();
            for _ in 0..20_000 {
                let r = next();
                let field = format!("f{}", r % 700).into_bytes();
                let value = "v".repeat((r >> 20) as usize % 12).into_bytes();
                if r % 5 < 3 {
                    let new = model.insert(field.clone(), value.clone()).is_none();
                    assert_eq!(hash.set(&field, &value, limits), Ok(new));
                } else {
                    assert_eq!(hash.remove(&field), model.remove(&field).is_some());
                }
                assert_eq!(hash.len(), model.len());
            }
            for (field, value) in &model {
                assert_eq!(hash.get(field), Some(value.as_slice()));
            }
            let entries: HashMap<Vec<u8>, Vec<u8>> = hash.entries().into_iter().collect();
            assert_eq!(entries, model);
        }
    }

    #[test]
    fn arena_compacts_and_keeps_fields() {
        let limits = HashLimits { listpack_entries: 0, listpack_value: 0 };
        let mut hash = Hash::default();
        for i in 0..10_000 {
            assert_eq!(hash.set(format!("field:{i}").as_bytes(), b"value", limits), Ok(true));
        }
        for i in 0..9_000 {
            assert!(hash.remove(format!("field:{i}").as_bytes()));
        }
        let Form::Table(table) = &hash.form else { panic!("still a table") };
        assert!(table.epoch > 0, "removing most fields compacts the arena");
        assert!(table.arena.len() < 20 * 1_000 * 2);
        for i in 9_000..10_000 {
            assert_eq!(hash.get(format!("field:{i}").as_bytes()), Some(&b"value"[..]));
        }
        // Rewriting values with other lengths moves pairs; compaction reclaims the old ones.
        for round in 0..20 {
            for i in 9_000..10_000 {
                let value = "x".repeat(round % 3 + 1);
                assert_eq!(hash.set(format!("field:{i}").as_bytes(), value.as_bytes(), limits), Ok(false));
            }
        }
        assert!(hash.heap_bytes() < 200_000, "garbage was reclaimed: {}", hash.heap_bytes());
        assert_eq!(hash.len(), 1_000);
    }

    #[test]
    fn scan_returns_every_field_present_throughout_even_across_compaction() {
        let limits = HashLimits::DEFAULT;
        let mut hash = Hash::default();
        for i in 0..5_000 {
            assert_eq!(hash.set(format!("keep:{i}").as_bytes(), b"1", limits), Ok(true));
            assert_eq!(hash.set(format!("drop:{i}").as_bytes(), b"2", limits), Ok(true));
        }
        let mut seen = HashSet::new();
        let (mut cursor, mut steps) = (0, 0);
        loop {
            cursor = hash.scan(cursor, 100, |field, _| {
                seen.insert(field.to_vec());
            });
            steps += 1;
            if steps == 10 {
                for i in 0..5_000 {
                    assert!(hash.remove(format!("drop:{i}").as_bytes()));
                }
            }
            if cursor == 0 {
                break;
            }
            assert!(steps < 10_000, "scan terminates");
        }
        for i in 0..5_000 {
            assert!(seen.contains(format!("keep:{i}").as_bytes()), "keep:{i} missed");
        }
    }

    #[test]
    fn made_up_cursors_and_random_entries_are_safe() {
        let limits = HashLimits::DEFAULT;
        let mut hash = Hash::default();
        for i in 0..300 {
            assert_eq!(hash.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), limits), Ok(true));
        }
        for cursor in [1, 3, 77, u64::MAX, 1 << 40, (1 << 40) + 5] {
            let mut got = Vec::new();
            let _ = hash.scan(cursor, 10, |f, v| got.push((f.to_vec(), v.to_vec())));
            assert!(got.iter().all(|(f, v)| hash.get(f) == Some(v.as_slice())), "only real pairs");
        }
        let mut next = rng();
        for _ in 0..100 {
            let (field, value) = hash.random_entry(&mut next).expect("non-empty");
            assert_eq!(hash.get(field), Some(value));
        }
        assert_eq!(Hash::default().random_entry(&mut next), None);
    }

    #[test]
    fn field_ttls_cost_nothing_until_used_and_purge_exactly_the_expired() {
        let limits = HashLimits::DEFAULT;
        let mut hash = Hash::default();
        for f in [b"a", b"b", b"c"] {
            assert_eq!(hash.set(f, b"v", limits), Ok(true));
        }
        assert!(!hash.has_ttls() && !hash.needs_purge(u64::MAX));
        hash.set_expire_at_ms(b"a", 100);
        hash.set_expire_at_ms(b"b", 200);
        assert_eq!(hash.expire_at_ms(b"a"), Some(100));
        assert!(!hash.needs_purge(100), "a field expiring at 100 is still there at 100");
        assert!(hash.needs_purge(101));
        assert_eq!(hash.purge_expired(101), 1);
        assert_eq!(hash.get(b"a"), None);
        assert_eq!(hash.len(), 2);
        assert!(!hash.needs_purge(150), "the bound is exact after a purge");
        assert_eq!(hash.set(b"b", b"w", limits), Ok(false));
        assert!(!hash.has_ttls(), "HSET clears the field's expiry; the map goes with the last");
        hash.set_expire_at_ms(b"c", 50);
        assert_eq!(hash.insert(b"c", b"x", limits), Ok(false));
        assert_eq!(hash.expire_at_ms(b"c"), Some(50), "insert keeps the expiry");
        assert!(hash.persist(b"c"));
        assert!(!hash.persist(b"c"));
        assert_eq!(hash.purge_expired(1_000), 0);
    }

    #[test]
    fn ttls_survive_conversion_and_compaction() {
        let limits = HashLimits { listpack_entries: 4, listpack_value: 16 };
        let mut hash = Hash::default();
        assert_eq!(hash.set(b"t", b"v", limits), Ok(true));
        hash.set_expire_at_ms(b"t", 10);
        for i in 0..6_000 {
            assert_eq!(hash.set(format!("f{i}").as_bytes(), b"value", limits), Ok(true));
        }
        for i in 0..5_000 {
            assert!(hash.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.expire_at_ms(b"t"), Some(10));
        assert_eq!(hash.purge_expired(11), 1);
        assert_eq!(hash.len(), 1_000);
    }

    #[test]
    fn ttl_map_bytes_follow_the_table_layout() {
        let mut hash = Hash::default();
        let limits = HashLimits::DEFAULT;
        for i in 0..1_000u32 {
            let field = format!("field:{i}");
            assert_eq!(hash.set(field.as_bytes(), b"v", limits), Ok(true));
            hash.set_expire_at_ms(field.as_bytes(), u64::from(i));
            hash.set_expire_at_ms(field.as_bytes(), u64::from(i) + 1);
        }
        assert_eq!(hash.heap_bytes(), hash.heap_bytes_counted());
        assert_eq!(hash.purge_expired(501), 500);
        assert_eq!(hash.heap_bytes(), hash.heap_bytes_counted());
        let without = hash.form.heap_bytes();
        let keys = (500..1_000).map(|i| format!("field:{i}").len()).sum::<usize>();
        let ttls = hash.heap_bytes() - without;
        assert!(ttls > keys + 500 * 24, "{ttls} bytes for 500 expiries");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Sets (converting to the large form), removes, expiries set, dropped and purged, and
        /// clones keep the O(1) byte count equal to a recount of the TTL map's keys.
        #[test]
        fn heap_bytes_match_a_recount(
            ops in proptest::collection::vec((0u8..7, 0u16..300, 0u64..50), 1..400),
            entries_max in 0usize..20,
        ) {
            let limits = HashLimits { listpack_entries: entries_max, listpack_value: 16 };
            let mut hash = Hash::default();
            for (kind, field, at_ms) in ops {
                let name = format!("f{field}{}", "y".repeat(usize::from(field % 13)));
                let name = name.as_bytes();
                match kind {
                    0 => drop(hash.set(name, b"value", limits).expect("set")),
                    1 => drop(hash.insert(name, &[b'v'; 20], limits).expect("insert")),
                    2 => drop(hash.remove(name)),
                    3 if hash.get(name).is_some() => hash.set_expire_at_ms(name, at_ms),
                    4 => drop(hash.persist(name)),
                    5 => drop(hash.purge_expired(at_ms)),
                    6 => hash = hash.clone(),
                    _ => {}
                }
                proptest::prop_assert_eq!(hash.heap_bytes(), hash.heap_bytes_counted());
            }
        }
    }

    /// 1M fields of 13 bytes with 32-byte values in one hash: at most 83 heap bytes a field,
    /// counting allocation capacities (the arena's records take 47).
    #[test]
    fn a_million_fields_fit_the_memory_target() {
        let limits = HashLimits::DEFAULT;
        let mut hash = Hash::default();
        let value = [b'v'; 32];
        for i in 0..1_000_000u32 {
            let field = format!("field:{i:07}");
            assert_eq!(field.len(), 13);
            assert_eq!(hash.set(field.as_bytes(), &value, limits), Ok(true));
        }
        let per_field = (size_of::<Hash>() + hash.heap_bytes()) as f64 / 1e6;
        println!("hash of 1M fields: {per_field:.1} heap bytes a field");
        assert!(per_field <= 83.0, "{per_field:.1} bytes a field");
    }
}
