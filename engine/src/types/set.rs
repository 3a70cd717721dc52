//! [`Set`]: a set of binary-safe members in one of three representations, as Redis picks them.
//!
//! - `intset`: only canonical integers, few of them: a sorted `Vec<i64>` (8 bytes a member,
//!   binary search).
//! - `listpack`: few, short members: one buffer of length-prefixed members, in insertion order
//!   (linear search over a few cache lines).
//! - `hashtable`: everything else: members appended to one arena buffer (a varint length, then
//!   the bytes) and found through a hash [`Index`] of arena offsets (the keyspace's bucketed
//!   index). No allocation per member: about 25 bytes a member for 14-byte members.
//!
//! A set only moves towards the larger forms, as in Redis. Removing from the arena leaves
//! garbage; once garbage outweighs live data the arena is compacted (in order) and the set's
//! scan epoch changes, which makes an `SSCAN` cursor from before restart from the beginning:
//! elements may repeat, as Redis allows, but none present for the whole scan is missed.

use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::keyspace::index::Index;
use crate::num::canonical_i64;

/// Thresholds that choose a set's representation (Redis's `set-max-intset-entries`,
/// `set-max-listpack-entries` and `set-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetLimits {
    /// Most members an `intset` holds.
    pub(crate) intset_entries: usize,
    /// Most members a `listpack` holds.
    pub(crate) listpack_entries: usize,
    /// Longest member a `listpack` holds.
    pub(crate) listpack_value: usize,
}

impl SetLimits {
    /// Redis's defaults: 512, 128 and 64.
    pub(crate) const DEFAULT: SetLimits =
        SetLimits { intset_entries: 512, listpack_entries: 128, listpack_value: 64 };
}

/// A set. See the module docs.
#[derive(Debug, Clone)]
pub(crate) enum Set {
    /// Sorted canonical integers (`intset`).
    Ints(Vec<i64>),
    /// A packed buffer of members (`listpack`).
    Packed(Packed),
    /// An arena with a hash index (`hashtable`).
    Table(Table),
}

/// Bits of an `SSCAN` cursor that hold the arena offset; the bits above hold the epoch.
const CURSOR_OFFSET_BITS: u32 = 40;
/// Arena compaction is considered once the arena is at least this large.
const COMPACT_MIN_BYTES: usize = 4096;

impl Set {
    /// An empty set in the representation its first member calls for.
    pub(crate) fn new_for(first: &[u8], limits: SetLimits) -> Set {
        if limits.intset_entries > 0 && canonical_i64(first).is_some() {
            Set::Ints(Vec::new())
        } else if limits.listpack_entries > 0 && first.len() <= limits.listpack_value {
            Set::Packed(Packed::default())
        } else {
            Set::Table(Table::default())
        }
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match self {
            Set::Ints(ints) => ints.len(),
            Set::Packed(packed) => packed.len,
            Set::Table(table) => table.len,
        }
    }

    /// Is `member` in the set?
    pub(crate) fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(ints) => canonical_i64(member).is_some_and(|n| ints.binary_search(&n).is_ok()),
            Set::Packed(packed) => packed.find(member).is_some(),
            Set::Table(table) => table.find(member).is_some(),
        }
    }

    /// Adds `member`; returns whether it was new. Converts to a larger representation when
    /// `limits` say so.
    pub(crate) fn insert(&mut self, member: &[u8], limits: SetLimits) -> Result<bool> {
        match self {
            Set::Ints(ints) => {
                if let Some(n) = canonical_i64(member) {
                    let Err(at) = ints.binary_search(&n) else { return Ok(false) };
                    if ints.len() < limits.intset_entries {
                        ints.insert(at, n);
                        return Ok(true);
                    }
                }
                self.convert_for(member, limits)?;
                self.insert(member, limits)
            }
            Set::Packed(packed) => {
                if packed.find(member).is_some() {
                    return Ok(false);
                }
                if packed.len < limits.listpack_entries && member.len() <= limits.listpack_value {
                    packed.push(member);
                    return Ok(true);
                }
                self.convert_to_table()?;
                self.insert(member, limits)
            }
            Set::Table(table) => table.insert(member),
        }
    }

    /// Removes `member`; returns whether it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(ints) => match canonical_i64(member).map(|n| ints.binary_search(&n)) {
                Some(Ok(at)) => {
                    ints.remove(at);
                    true
                }
                _ => false,
            },
            Set::Packed(packed) => packed.remove(member),
            Set::Table(table) => table.remove(member),
        }
    }

    /// Runs `f` on every member (intset: ascending; listpack: insertion order; hashtable:
    /// unspecified).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Ints(ints) => {
                let mut buf = itoa::Buffer::new();
                for &n in ints {
                    f(buf.format(n).as_bytes());
                }
            }
            Set::Packed(packed) => packed.records().for_each(f),
            Set::Table(table) => table.members().for_each(f),
        }
    }

    /// Every member, copied.
    pub(crate) fn members(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(m.to_vec()));
        out
    }

    /// A random member; `random` yields uniform 64-bit values.
    pub(crate) fn random_member(&self, mut random: impl FnMut() -> u64) -> Option<Vec<u8>> {
        let len = self.len() as u64;
        if len == 0 {
            return None;
        }
        match self {
            Set::Ints(ints) => {
                ints.get((random() % len) as usize).map(|n| itoa::Buffer::new().format(*n).into())
            }
            Set::Packed(packed) => packed.records().nth((random() % len) as usize).map(<[u8]>::to_vec),
            Set::Table(table) => table.index.random(random).map(|offset| table.record(offset).to_vec()),
        }
    }

    /// One `SSCAN` step from `cursor`: runs `f` on about `count` members and returns the next
    /// cursor (0 when done). The small forms answer everything at once, as Redis's do.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Table(table) => table.scan(cursor, count, f),
            _ => {
                self.for_each(&mut f);
                0
            }
        }
    }

    /// The `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Packed(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Set::Ints(ints) => ints.capacity() * 8,
            Set::Packed(packed) => packed.buf.capacity(),
            Set::Table(table) => table.arena.capacity() + table.index.allocation_size(),
        }
    }

    /// Leaves the intset form for the one that can hold `member` next to the current members.
    fn convert_for(&mut self, member: &[u8], limits: SetLimits) -> Result<()> {
        let Set::Ints(ints) = self else { return Ok(()) };
        let longest = ints.iter().map(|n| itoa::Buffer::new().format(*n).len()).max().unwrap_or(0);
        let fits = ints.len() < limits.listpack_entries && member.len().max(longest) <= limits.listpack_value;
        let mut buf = itoa::Buffer::new();
        *self = if fits {
            let mut packed = Packed::default();
            for &n in ints.iter() {
                packed.push(buf.format(n).as_bytes());
            }
            Set::Packed(packed)
        } else {
            let mut table = Table::default();
            for &n in ints.iter() {
                table.insert(buf.format(n).as_bytes())?;
            }
            Set::Table(table)
        };
        Ok(())
    }

    /// Moves every member into the hashtable form.
    fn convert_to_table(&mut self) -> Result<()> {
        let mut table = Table::default();
        let mut failed = None;
        self.for_each(|m| {
            if let Err(err) = table.insert(m) {
                failed = Some(err);
            }
        });
        if let Some(err) = failed {
            return Err(err);
        }
        *self = Set::Table(table);
        Ok(())
    }
}

/// Sets are equal when they hold the same members, whatever their representations.
impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut all = true;
        self.for_each(|m| all &= other.contains(m));
        all
    }
}

impl Eq for Set {}

/// Appends `n` as an unsigned LEB128 varint.
pub(super) fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(byte);
            return;
        }
        buf.push(byte | 0x80);
    }
}

/// The record (varint length, then bytes) starting at `at`: its bytes and where the next record
/// starts. `None` when `at` does not start a well-formed record (never for offsets the set
/// itself produced; possible for a client's made-up `SSCAN` cursor).
pub(super) fn read_record(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (mut len, mut shift, mut i) = (0usize, 0u32, at);
    loop {
        let byte = *buf.get(i)?;
        i += 1;
        if shift > 56 {
            return None;
        }
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let end = i.checked_add(len)?;
    Some((buf.get(i..end)?, end))
}

/// Records of `buf` from `at` on, with their offsets.
pub(super) fn records_from(buf: &[u8], at: usize) -> impl Iterator<Item = (usize, &[u8])> {
    let mut next = Some(at);
    std::iter::from_fn(move || {
        let at = next?;
        let (bytes, end) = read_record(buf, at)?;
        next = Some(end);
        Some((at, bytes))
    })
}

/// The `listpack` form: members back to back, each after its varint length.
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    len: usize,
}

impl Packed {
    fn records(&self) -> impl Iterator<Item = &[u8]> {
        records_from(&self.buf, 0).map(|(_, bytes)| bytes)
    }

    /// The byte range of `member`'s record.
    fn find(&self, member: &[u8]) -> Option<(usize, usize)> {
        records_from(&self.buf, 0)
            .find(|(_, bytes)| *bytes == member)
            .and_then(|(at, _)| read_record(&self.buf, at).map(|(_, end)| (at, end)))
    }

    fn push(&mut self, member: &[u8]) {
        put_len(&mut self.buf, member.len());
        self.buf.extend_from_slice(member);
        self.len += 1;
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        let Some((start, end)) = self.find(member) else { return false };
        self.buf.drain(start..end);
        self.len -= 1;
        true
    }
}

/// Hash for arena members: one process-wide, randomly keyed `ahash` state.
fn member_hash(member: &[u8]) -> u64 {
    static STATE: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);
    STATE.hash_one(member)
}

/// The `hashtable` form. See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    arena: Vec<u8>,
    index: Index,
    len: usize,
    /// Bytes of the arena held by removed members.
    garbage: usize,
    /// Bumped by every compaction (24 bits, in the high bits of `SSCAN` cursors).
    epoch: u32,
}

impl Table {
    fn record(&self, offset: u32) -> &[u8] {
        read_record(&self.arena, offset as usize).map_or(&[], |(bytes, _)| bytes)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.index.find(member_hash(member), |offset| self.record(offset) == member)
    }

    fn insert(&mut self, member: &[u8]) -> Result<bool> {
        if self.find(member).is_some() {
            return Ok(false);
        }
        let offset = u32::try_from(self.arena.len())
            .map_err(|_| Error::msg("ERR set is too large (its members exceed 4 GiB)"))?;
        put_len(&mut self.arena, member.len());
        self.arena.extend_from_slice(member);
        let Table { arena, index, .. } = self;
        index.insert(member_hash(member), offset, |o| {
            member_hash(read_record(arena, o as usize).map_or(&[], |(bytes, _)| bytes))
        });
        self.len += 1;
        Ok(true)
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        let hash = member_hash(member);
        let Some(offset) = self.index.find(hash, |offset| self.record(offset) == member) else {
            return false;
        };
        self.index.remove(hash, offset);
        self.len -= 1;
        self.garbage += read_record(&self.arena, offset as usize).map_or(0, |(_, end)| end - offset as usize);
        if self.arena.len() >= COMPACT_MIN_BYTES && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
        true
    }

    /// Rewrites the arena with only live members, in their order, and rebuilds the index.
    fn compact(&mut self) {
        let mut fresh =
            Table { epoch: (self.epoch + 1) & ((1 << (64 - CURSOR_OFFSET_BITS)) - 1), ..Table::default() };
        fresh.arena.reserve(self.arena.len() - self.garbage);
        for (at, bytes) in records_from(&self.arena, 0) {
            let live = self.index.find(member_hash(bytes), |offset| offset as usize == at).is_some();
            // Live members are distinct, so `insert` cannot fail on size here: the new arena
            // is smaller than the old one, whose offsets fitted.
            if live && fresh.insert(bytes).is_err() {
                return;
            }
        }
        *self = fresh;
    }

    fn members(&self) -> impl Iterator<Item = &[u8]> {
        self.index.positions().map(|offset| self.record(offset))
    }

    fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let epoch = cursor >> CURSOR_OFFSET_BITS;
        let mut at = (cursor & ((1 << CURSOR_OFFSET_BITS) - 1)) as usize;
        if epoch != u64::from(self.epoch) || at > self.arena.len() {
            // A cursor from before a compaction (or made up): start over.
            at = 0;
        }
        let mut emitted = 0;
        for (offset, bytes) in records_from(&self.arena, at) {
            if emitted >= count.max(1) {
                return u64::from(self.epoch) << CURSOR_OFFSET_BITS | offset as u64;
            }
            let live = self.index.find(member_hash(bytes), |o| o as usize == offset).is_some();
            if live {
                f(bytes);
                emitted += 1;
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    use crate::types::test_rng as rng;

    #[test]
    fn representation_follows_the_limits() {
        let limits = SetLimits { intset_entries: 3, listpack_entries: 4, listpack_value: 8 };
        let mut set = Set::new_for(b"1", limits);
        for n in [b"1", b"2", b"3"] {
            assert_eq!(set.insert(n, limits), Ok(true));
        }
        assert_eq!(set.encoding(), "intset");
        assert_eq!(set.insert(b"4", limits), Ok(true), "a fourth integer outgrows the intset");
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(set.insert(b"a-long-member", limits), Ok(true));
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), 5);
        let mut members = set.members();
        members.sort();
        assert_eq!(
            members,
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"4".to_vec(), b"a-long-member".to_vec()]
        );

        let mut text = Set::new_for(b"x", limits);
        assert_eq!(text.encoding(), "listpack");
        assert_eq!(text.insert(b"x", limits), Ok(true));
        assert_eq!(text.insert(b"x", limits), Ok(false));
        let mut non_canonical = Set::new_for(b"01", limits);
        assert_eq!(non_canonical.encoding(), "listpack", "\"01\" is not an integer member");
        assert_eq!(non_canonical.insert(b"01", limits), Ok(true));
        assert!(!non_canonical.contains(b"1"));
    }

    #[test]
    fn every_form_matches_a_hash_set() {
        for limits in [
            SetLimits::DEFAULT,
            SetLimits { intset_entries: 0, listpack_entries: 0, listpack_value: 0 },
            SetLimits { intset_entries: 10_000, listpack_entries: 10_000, listpack_value: 100 },
        ] {
            let mut next = rng();
            let mut set = Set::new_for(b"0", limits);
            let mut model = HashSet::new();
            for _ in 0..20_000 {
                let r = next();
                let member =
                    if r.is_multiple_of(3) { format!("m{}", r % 700) } else { format!("{}", r % 900) };
                let member = member.into_bytes();
                if r % 5 < 3 {
                    assert_eq!(set.insert(&member, limits), Ok(model.insert(member.clone())));
                } else {
                    assert_eq!(set.remove(&member), model.remove(&member));
                }
                assert_eq!(set.len(), model.len());
            }
            for member in &model {
                assert!(set.contains(member));
            }
            let members: HashSet<Vec<u8>> = set.members().into_iter().collect();
            assert_eq!(members, model);
        }
    }

    #[test]
    fn arena_compacts_and_keeps_members() {
        let mut table = Set::Table(Table::default());
        let limits = SetLimits::DEFAULT;
        for i in 0..10_000 {
            assert_eq!(table.insert(format!("member:{i}").as_bytes(), limits), Ok(true));
        }
        for i in 0..9_000 {
            assert!(table.remove(format!("member:{i}").as_bytes()));
        }
        let Set::Table(inner) = &table else { panic!("still a table") };
        assert!(inner.epoch > 0, "removing most members compacts the arena");
        assert!(inner.arena.len() < 20 * 1_000 * 2);
        for i in 9_000..10_000 {
            assert!(table.contains(format!("member:{i}").as_bytes()));
        }
        assert!(!table.contains(b"member:1"));
    }

    #[test]
    fn scan_returns_every_member_present_throughout_even_across_compaction() {
        let limits = SetLimits::DEFAULT;
        let mut set = Set::Table(Table::default());
        for i in 0..5_000 {
            assert_eq!(set.insert(format!("keep:{i}").as_bytes(), limits), Ok(true));
            assert_eq!(set.insert(format!("drop:{i}").as_bytes(), limits), Ok(true));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = set.scan(cursor, 100, |m| {
                seen.insert(m.to_vec());
            });
            steps += 1;
            if steps == 10 {
                // Removing half the members mid-scan compacts the arena.
                for i in 0..5_000 {
                    assert!(set.remove(format!("drop:{i}").as_bytes()));
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
    fn made_up_cursors_and_random_members_are_safe() {
        let limits = SetLimits::DEFAULT;
        let mut set = Set::Table(Table::default());
        for i in 0..300 {
            assert_eq!(set.insert(format!("m{i}").as_bytes(), limits), Ok(true));
        }
        for cursor in [1, 3, 77, u64::MAX, 1 << 40, (1 << 40) + 5] {
            let mut got = Vec::new();
            let _ = set.scan(cursor, 10, |m| got.push(m.to_vec()));
            assert!(got.iter().all(|m| set.contains(m)), "only real members come back");
        }
        let mut next = rng();
        for _ in 0..100 {
            let member = set.random_member(&mut next).expect("non-empty");
            assert!(set.contains(&member));
        }
        assert_eq!(Set::Ints(Vec::new()).random_member(&mut next), None);
    }
}
