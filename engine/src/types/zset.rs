//! [`ZSet`]: a sorted set of binary-safe members with `f64` scores, ordered by
//! `(score, member bytes)`, in one of two representations, as Redis picks them.
//!
//! - `listpack`: few, short members: one buffer of records (8 score bytes, a varint length,
//!   the member) kept sorted; every operation is a linear walk over a few cache lines.
//! - `skiplist` (Redis's name; ours is a B+tree): member records in one arena buffer (score,
//!   varint length, bytes), a hash [`Index`] from member to arena offset (O(1) `ZSCORE`), and
//!   an order-statistic B+tree of `(score, offset)` entries (see `zset_tree.rs`) for ranks and
//!   ranges in O(log n). About 55-70 bytes a member for 14-byte members.
//!
//! A score update rewrites the record's score in place; removals leave arena garbage, and once
//! garbage outweighs live data the arena is compacted in rank order, the index and tree are
//! rebuilt, and the scan epoch changes (as for sets: a `ZSCAN` cursor from before restarts).

use std::cmp::Ordering;
use std::sync::LazyLock;

use super::set::{self, put_len};
use super::zset_tree::{Entry, Tree, cmp_score};
use crate::error::{Error, Result};
use crate::hint::prefetch;
use crate::keyspace::index::Index;

/// Thresholds that choose a sorted set's representation (Redis's `zset-max-listpack-entries`
/// and `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZSetLimits {
    /// Most members a `listpack` holds.
    pub(crate) listpack_entries: usize,
    /// Longest member a `listpack` holds.
    pub(crate) listpack_value: usize,
}

impl ZSetLimits {
    /// Redis's defaults: 128 and 64.
    pub(crate) const DEFAULT: ZSetLimits = ZSetLimits { listpack_entries: 128, listpack_value: 64 };
}

/// A prefix of the order, as the range commands bound it: the members that sort below a
/// score (or at or below it), or below a member (or at or below it) when all scores are equal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Probe<'a> {
    /// Score `< x`.
    ScoreBelow(f64),
    /// Score `<= x`.
    ScoreAtMost(f64),
    /// Member `< m`.
    LexBelow(&'a [u8]),
    /// Member `<= m`.
    LexAtMost(&'a [u8]),
}

impl Probe<'_> {
    fn holds_for(&self, score: f64, member: &[u8]) -> bool {
        match *self {
            Probe::ScoreBelow(x) => score < x,
            Probe::ScoreAtMost(x) => score <= x,
            Probe::LexBelow(m) => member < m,
            Probe::LexAtMost(m) => member <= m,
        }
    }
}

/// A sorted set. See the module docs.
#[derive(Debug, Clone)]
pub(crate) enum ZSet {
    /// A packed, sorted buffer (`listpack`).
    Packed(Packed),
    /// Arena, hash index and B+tree (`skiplist`).
    Table(Table),
}

/// Bits of a `ZSCAN` cursor that hold the arena offset; the bits above hold the epoch.
const CURSOR_OFFSET_BITS: u32 = 40;
/// Arena compaction is considered once the arena is at least this large.
const COMPACT_MIN_BYTES: usize = 4096;

impl ZSet {
    /// An empty sorted set in the representation Redis would create for `size_hint` members
    /// of at most `longest` bytes.
    pub(crate) fn new_for(size_hint: usize, longest: usize, limits: ZSetLimits) -> ZSet {
        if size_hint <= limits.listpack_entries
            && longest <= limits.listpack_value
            && limits.listpack_entries > 0
        {
            ZSet::Packed(Packed::default())
        } else {
            ZSet::Table(Table::default())
        }
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match self {
            ZSet::Packed(packed) => packed.len,
            ZSet::Table(table) => table.tree.len(),
        }
    }

    /// The score of `member`.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(packed) => packed.find(member).map(|r| r.score),
            ZSet::Table(table) => table.find(member).map(|offset| table.score_at(offset)),
        }
    }

    /// Sets `member`'s score, adding it if absent; returns its previous score. Converts to the
    /// large form when `limits` say so.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64, limits: ZSetLimits) -> Result<Option<f64>> {
        let mut old = None;
        self.upsert(member, limits, |current| {
            old = current;
            Ok(Some(score))
        })?;
        Ok(old)
    }

    /// Sets `member`'s score to what `decide` answers for its current one (`None`: absent),
    /// with one lookup of `member`; `decide` answering `None` (or an error) leaves the set as
    /// it is. Converts to the large form when `limits` say so.
    pub(crate) fn upsert(
        &mut self,
        member: &[u8],
        limits: ZSetLimits,
        decide: impl FnOnce(Option<f64>) -> Result<Option<f64>>,
    ) -> Result<()> {
        let ZSet::Packed(packed) = self else {
            let ZSet::Table(table) = self else { return Ok(()) };
            return table.upsert(member, decide);
        };
        let found = packed.find(member).map(|r| (r.score, r.start, r.end));
        let Some(score) = decide(found.map(|(old, _, _)| old))? else { return Ok(()) };
        if let Some((old, start, end)) = found {
            if old != score {
                packed.remove_range(start, end);
                packed.insert(member, score);
            }
            return Ok(());
        }
        if packed.len < limits.listpack_entries && member.len() <= limits.listpack_value {
            packed.insert(member, score);
            return Ok(());
        }
        self.convert_to_table()?;
        match self {
            ZSet::Table(table) => table.add(member_hash(member), member, score),
            ZSet::Packed(_) => Ok(()),
        }
    }

    /// A hint before setting `member`'s score to `score`: starts loading the index bucket
    /// the lookup reads first and the tree leaf the member moves to, so that those misses
    /// overlap. Changes nothing.
    pub(crate) fn prefetch_update(&self, member: &[u8], score: f64) {
        if let ZSet::Table(table) = self {
            if let Some(bucket) = table.index.first_bucket_address(member_hash(member)) {
                prefetch(bucket);
            }
            table.tree.prefetch_leaf(score);
        }
    }

    /// Removes `member`; returns whether it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Packed(packed) => match packed.find(member).map(|r| (r.start, r.end)) {
                Some((start, end)) => {
                    packed.remove_range(start, end);
                    true
                }
                None => false,
            },
            ZSet::Table(table) => table.remove(member),
        }
    }

    /// The 0-based ascending rank of `member`, with its score.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Packed(packed) => {
                packed.records().enumerate().find(|(_, r)| r.member == member).map(|(i, r)| (i, r.score))
            }
            ZSet::Table(table) => table.rank(member),
        }
    }

    /// The number of members in the prefix of the order that `probe` describes.
    pub(crate) fn count_before(&self, probe: Probe<'_>) -> usize {
        match self {
            ZSet::Packed(packed) => {
                packed.records().take_while(|r| probe.holds_for(r.score, r.member)).count()
            }
            ZSet::Table(table) => table.count_before(probe),
        }
    }

    /// Runs `f` on up to `count` members with their scores: from ascending rank `from` upwards,
    /// or (`rev`) from rank `from` downwards.
    pub(crate) fn range(&self, from: usize, count: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        if count == 0 || from >= self.len() {
            return;
        }
        match self {
            ZSet::Packed(packed) => {
                if rev {
                    let records: Vec<Record<'_>> = packed.records().take(from + 1).collect();
                    records.iter().rev().take(count).for_each(|r| f(r.member, r.score));
                } else {
                    packed.records().skip(from).take(count).for_each(|r| f(r.member, r.score));
                }
            }
            ZSet::Table(table) => {
                let mut left = count;
                table.tree.visit(from, rev, |entry| {
                    f(table.member_at(entry.offset), entry.score);
                    left -= 1;
                    left > 0
                });
            }
        }
    }

    /// Runs `f` on every member with its score, in order.
    pub(crate) fn for_each(&self, f: impl FnMut(&[u8], f64)) {
        self.range(0, self.len(), false, f);
    }

    /// One `ZSCAN` step from `cursor`: runs `f` on about `count` members and returns the next
    /// cursor (0 when done). The `listpack` form answers everything at once, as Redis's does.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Table(table) => table.scan(cursor, count, f),
            ZSet::Packed(_) => {
                self.for_each(&mut f);
                0
            }
        }
    }

    /// The `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            ZSet::Packed(_) => "listpack",
            ZSet::Table(_) => "skiplist",
        }
    }

    /// Heap bytes held (allocation capacities).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            ZSet::Packed(packed) => packed.buf.capacity(),
            ZSet::Table(table) => {
                table.arena.capacity() + table.index.allocation_size() + table.tree.heap_bytes()
            }
        }
    }

    fn convert_to_table(&mut self) -> Result<()> {
        let ZSet::Packed(packed) = self else { return Ok(()) };
        let mut table = Table::default();
        for record in packed.records() {
            table.insert(record.member, record.score)?;
        }
        *self = ZSet::Table(table);
        Ok(())
    }
}

/// Sorted sets are equal when they hold the same members with the same scores.
impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut all = true;
        self.for_each(|m, s| all &= other.score(m) == Some(s));
        all
    }
}

impl Eq for ZSet {}

/// One decoded record: score, member and its byte range in the buffer.
#[derive(Debug, Clone, Copy)]
struct Record<'a> {
    score: f64,
    member: &'a [u8],
    start: usize,
    end: usize,
}

/// The record (8 score bytes, varint length, bytes) at `at`. `None` when `at` does not start a
/// well-formed record (never for offsets the set produced; possible for a made-up cursor).
fn read_record(buf: &[u8], at: usize) -> Option<Record<'_>> {
    let score_bytes: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
    // After the score: a varint length and the member, as a set's record.
    let (member, end) = set::read_record(buf, at + 8)?;
    Some(Record { score: f64::from_le_bytes(score_bytes), member, start: at, end })
}

/// Records of `buf` from `at` on.
fn records_from(buf: &[u8], at: usize) -> impl Iterator<Item = Record<'_>> {
    let mut next = Some(at);
    std::iter::from_fn(move || {
        let record = read_record(buf, next?)?;
        next = Some(record.end);
        Some(record)
    })
}

fn encode_record(buf: &mut Vec<u8>, member: &[u8], score: f64) {
    buf.extend_from_slice(&score.to_le_bytes());
    put_len(buf, member.len());
    buf.extend_from_slice(member);
}

/// Orders `(score, member)` pairs as sorted sets do.
fn cmp_pair(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    cmp_score(a_score, b_score).then_with(|| a_member.cmp(b_member))
}

/// The `listpack` form: records back to back, sorted by `(score, member)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    len: usize,
}

impl Packed {
    fn records(&self) -> impl Iterator<Item = Record<'_>> {
        records_from(&self.buf, 0)
    }

    fn find(&self, member: &[u8]) -> Option<Record<'_>> {
        self.records().find(|r| r.member == member)
    }

    /// Removes the record at `start..end`.
    fn remove_range(&mut self, start: usize, end: usize) {
        self.buf.drain(start..end);
        self.len -= 1;
    }

    /// Inserts a member known to be absent at its place in the order. A score of `-0` is
    /// stored as `0`, as Redis's listpack stores it (the text `-0` becomes the integer 0).
    fn insert(&mut self, member: &[u8], score: f64) {
        let score = if score == 0.0 { 0.0 } else { score };
        let at = self
            .records()
            .find(|r| cmp_pair(r.score, r.member, score, member) == Ordering::Greater)
            .map_or(self.buf.len(), |r| r.start);
        let mut record = Vec::with_capacity(member.len() + 10);
        encode_record(&mut record, member, score);
        self.buf.splice(at..at, record);
        self.len += 1;
    }
}

/// Hash for arena members: one process-wide, randomly keyed `ahash` state.
fn member_hash(member: &[u8]) -> u64 {
    static STATE: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);
    STATE.hash_one(member)
}

/// The large form. See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    arena: Vec<u8>,
    index: Index,
    tree: Tree,
    /// Bytes of the arena held by removed members.
    garbage: usize,
    /// Bumped by every compaction (24 bits, in the high bits of `ZSCAN` cursors).
    epoch: u32,
}

impl Table {
    #[inline]
    fn member_at(&self, offset: u32) -> &[u8] {
        read_record(&self.arena, offset as usize).map_or(&[], |r| r.member)
    }

    #[inline]
    fn score_at(&self, offset: u32) -> f64 {
        read_record(&self.arena, offset as usize).map_or(0.0, |r| r.score)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.index.find(member_hash(member), |offset| self.member_at(offset) == member)
    }

    /// Compares the member at an arena offset with `member`.
    fn member_cmp<'a>(arena: &'a [u8], member: &'a [u8]) -> impl Fn(u32) -> Ordering + 'a {
        move |offset| read_record(arena, offset as usize).map_or(&[][..], |r| r.member).cmp(member)
    }

    fn insert(&mut self, member: &[u8], score: f64) -> Result<Option<f64>> {
        let mut old = None;
        self.upsert(member, |current| {
            old = current;
            Ok(Some(score))
        })?;
        Ok(old)
    }

    /// [`ZSet::upsert`] on the large form: one hash of `member`, one index lookup.
    fn upsert(
        &mut self,
        member: &[u8],
        decide: impl FnOnce(Option<f64>) -> Result<Option<f64>>,
    ) -> Result<()> {
        let hash = member_hash(member);
        let Some(offset) = self.index.find(hash, |offset| self.member_at(offset) == member) else {
            return match decide(None)? {
                Some(score) => self.add(hash, member, score),
                None => Ok(()),
            };
        };
        let old = self.score_at(offset);
        match decide(Some(old))? {
            Some(score) if score != old => self.rescore(offset, member, old, score),
            _ => {}
        }
        Ok(())
    }

    /// Adds `member` (absent; `hash` is its hash) with `score`.
    fn add(&mut self, hash: u64, member: &[u8], score: f64) -> Result<()> {
        let offset = u32::try_from(self.arena.len())
            .map_err(|_| Error::msg("ERR sorted set is too large (its members exceed 4 GiB)"))?;
        encode_record(&mut self.arena, member, score);
        let Table { arena, index, tree, .. } = self;
        index.insert(hash, offset, |o| member_hash(read_record(arena, o as usize).map_or(&[], |r| r.member)));
        tree.insert(Entry { score, offset }, Table::member_cmp(arena, member));
        Ok(())
    }

    /// Moves the member at `offset` from score `old` to `score` (in the arena and the tree).
    fn rescore(&mut self, offset: u32, member: &[u8], old: f64, score: f64) {
        let Table { arena, tree, .. } = self;
        // The insertion will compare with the members tied with `score` (random arena
        // records): start loading them now, so that they arrive while the removal waits for
        // its leaf. (Prefetching that leaf too measured no better: the removal follows.)
        tree.for_ties(score, |o| {
            if let Some(byte) = arena.get(o as usize + 8) {
                prefetch(byte);
            }
        });
        let at = offset as usize;
        arena[at..at + 8].copy_from_slice(&score.to_le_bytes());
        tree.rescore(Entry { score: old, offset }, score, Table::member_cmp(arena, member));
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        let hash = member_hash(member);
        let Some(offset) = self.index.find(hash, |offset| self.member_at(offset) == member) else {
            return false;
        };
        let Some(record) = read_record(&self.arena, offset as usize) else { return false };
        let (score, size) = (record.score, record.end - record.start);
        self.index.remove(hash, offset);
        let Table { arena, tree, .. } = self;
        tree.remove(Entry { score, offset }, Table::member_cmp(arena, member));
        self.garbage += size;
        if self.arena.len() >= COMPACT_MIN_BYTES && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
        true
    }

    fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let offset = self.find(member)?;
        let score = self.score_at(offset);
        Some((self.tree.rank(score, Table::member_cmp(&self.arena, member)), score))
    }

    fn count_before(&self, probe: Probe<'_>) -> usize {
        let arena = &self.arena;
        let member = |e: Entry| read_record(arena, e.offset as usize).map_or(&[][..], |r| r.member);
        self.tree.count_where(|e| match probe {
            Probe::ScoreBelow(x) => e.score < x,
            Probe::ScoreAtMost(x) => e.score <= x,
            Probe::LexBelow(m) => member(e) < m,
            Probe::LexAtMost(m) => member(e) <= m,
        })
    }

    /// Rewrites the arena with only live members, in rank order, and rebuilds index and tree.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        let mut index = Index::default();
        let mut entries = Vec::with_capacity(self.tree.len());
        let mut overflow = false;
        self.tree.visit(0, false, |entry| {
            let Some(record) = read_record(&self.arena, entry.offset as usize) else { return true };
            let Ok(offset) = u32::try_from(arena.len()) else {
                overflow = true;
                return false;
            };
            encode_record(&mut arena, record.member, record.score);
            index.insert(member_hash(record.member), offset, |o| {
                member_hash(read_record(&arena, o as usize).map_or(&[], |r| r.member))
            });
            entries.push(Entry { score: record.score, offset });
            true
        });
        if overflow {
            // Cannot happen (the new arena is smaller than the old); keep the old form.
            return;
        }
        *self = Table {
            arena,
            index,
            tree: Tree::from_sorted(entries.into_iter()),
            garbage: 0,
            epoch: (self.epoch + 1) & ((1 << (64 - CURSOR_OFFSET_BITS)) - 1),
        };
    }

    fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let epoch = cursor >> CURSOR_OFFSET_BITS;
        let mut at = (cursor & ((1 << CURSOR_OFFSET_BITS) - 1)) as usize;
        if epoch != u64::from(self.epoch) || at > self.arena.len() {
            // A cursor from before a compaction (or made up): start over.
            at = 0;
        }
        let mut emitted = 0;
        for record in records_from(&self.arena, at) {
            if emitted >= count.max(1) {
                return u64::from(self.epoch) << CURSOR_OFFSET_BITS | record.start as u64;
            }
            let live = self.index.find(member_hash(record.member), |o| o as usize == record.start).is_some();
            if live {
                f(record.member, record.score);
                emitted += 1;
            }
        }
        0
    }

    /// Checks the tree's invariants and that it agrees with the index (tests only).
    #[cfg(test)]
    fn check(&self) {
        let arena = &self.arena;
        self.tree.check(&|a: Entry, b: Entry| {
            let m = |e: Entry| read_record(arena, e.offset as usize).map_or(&[][..], |r| r.member);
            cmp_pair(a.score, m(a), b.score, m(b))
        });
        assert_eq!(self.index.len(), self.tree.len());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    use crate::types::test_rng as rng;

    /// The model's members in order.
    fn ordered(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut all: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        all.sort_by(|a, b| cmp_pair(a.1, &a.0, b.1, &b.0));
        all
    }

    fn contents(zset: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        zset.for_each(|m, s| out.push((m.to_vec(), s)));
        out
    }

    #[test]
    fn every_form_matches_a_sorted_model() {
        for limits in [
            ZSetLimits::DEFAULT,
            ZSetLimits { listpack_entries: 0, listpack_value: 0 },
            ZSetLimits { listpack_entries: 100_000, listpack_value: 100 },
        ] {
            let mut next = rng();
            let mut zset = ZSet::new_for(1, 1, limits);
            let mut model = BTreeMap::new();
            for step in 0..20_000 {
                let r = next();
                let member = format!("m{}", r % 1_500).into_bytes();
                let score = ((r >> 20) % 40) as f64 / 4.0 - 3.0;
                if r % 7 < 4 {
                    let old = zset.insert(&member, score, limits).expect("insert");
                    assert_eq!(old, model.insert(member.clone(), score));
                } else {
                    assert_eq!(zset.remove(&member), model.remove(&member).is_some());
                }
                assert_eq!(zset.len(), model.len());
                if step % 2_000 == 0 {
                    if let ZSet::Table(table) = &zset {
                        table.check();
                    }
                    let all = ordered(&model);
                    assert_eq!(contents(&zset), all);
                    for (rank, (member, _)) in all.iter().enumerate().step_by(7) {
                        assert_eq!(zset.rank(member).map(|(r, _)| r), Some(rank));
                    }
                }
            }
            let all = ordered(&model);
            assert_eq!(contents(&zset), all);
            for probe in [Probe::ScoreBelow(0.0), Probe::ScoreAtMost(0.0), Probe::ScoreBelow(f64::INFINITY)] {
                let expected = all.iter().filter(|(m, s)| probe.holds_for(*s, m)).count();
                assert_eq!(zset.count_before(probe), expected);
            }
            let mut rev = Vec::new();
            zset.range(all.len() - 1, 10, true, |m, s| rev.push((m.to_vec(), s)));
            let expected: Vec<_> = all.iter().rev().take(10).cloned().collect();
            assert_eq!(rev, expected);
        }
    }

    #[test]
    fn prefetch_hints_change_nothing() {
        let limits = ZSetLimits { listpack_entries: 0, listpack_value: 0 };
        let mut zset = ZSet::new_for(1, 1, limits);
        zset.prefetch_update(b"absent", 1.0);
        for i in 0..1_000 {
            zset.insert(format!("m{i}").as_bytes(), f64::from(i % 10), limits).expect("insert");
        }
        let before = contents(&zset);
        for (member, score) in [(&b"m5"[..], 3.0), (b"absent", -1.0), (b"m999", f64::INFINITY)] {
            zset.prefetch_update(member, score);
        }
        assert_eq!(contents(&zset), before);
        let packed = ZSet::new_for(1, 1, ZSetLimits::DEFAULT);
        packed.prefetch_update(b"a", 1.0);
        assert_eq!(packed.len(), 0);
    }

    #[test]
    fn representation_follows_the_limits() {
        let limits = ZSetLimits { listpack_entries: 3, listpack_value: 4 };
        let mut zset = ZSet::new_for(1, 1, limits);
        for (i, m) in [b"a", b"b", b"c"].iter().enumerate() {
            assert_eq!(zset.insert(*m, i as f64, limits), Ok(None));
        }
        assert_eq!(zset.encoding(), "listpack");
        assert_eq!(zset.insert(b"a", 5.0, limits), Ok(Some(0.0)), "updates keep the form");
        assert_eq!(zset.encoding(), "listpack");
        assert_eq!(zset.insert(b"d", 0.5, limits), Ok(None));
        assert_eq!(zset.encoding(), "skiplist");
        assert_eq!(zset.rank(b"a"), Some((3, 5.0)));
        let mut long = ZSet::new_for(1, 1, limits);
        assert_eq!(long.insert(b"longer", 1.0, limits), Ok(None));
        assert_eq!(long.encoding(), "skiplist");
        assert_eq!(ZSet::new_for(4, 1, limits).encoding(), "skiplist");
    }

    #[test]
    fn ties_order_by_member_bytes() {
        let limits = ZSetLimits { listpack_entries: 0, listpack_value: 0 };
        let mut zset = ZSet::new_for(1, 1, limits);
        for i in (0..3_000).rev() {
            zset.insert(format!("{i:05}").as_bytes(), 1.0, limits).expect("insert");
        }
        assert_eq!(zset.rank(b"00000"), Some((0, 1.0)));
        assert_eq!(zset.rank(b"02999"), Some((2_999, 1.0)));
        assert_eq!(zset.count_before(Probe::LexBelow(b"01000")), 1_000);
        assert_eq!(zset.count_before(Probe::LexAtMost(b"01000")), 1_001);
        if let ZSet::Table(table) = &zset {
            table.check();
        }
    }

    #[test]
    fn compaction_keeps_members_and_restarts_scans() {
        let limits = ZSetLimits::DEFAULT;
        let mut zset = ZSet::new_for(1_000, 1, limits);
        for i in 0..10_000 {
            zset.insert(format!("member:{i}").as_bytes(), f64::from(i % 100), limits).expect("insert");
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = zset.scan(0, 100, |m, _| {
            seen.insert(m.to_vec());
        });
        for i in 0..9_000 {
            assert!(zset.remove(format!("member:{i}").as_bytes()));
        }
        let ZSet::Table(table) = &zset else { panic!("large form") };
        assert!(table.epoch > 0, "removing most members compacts the arena");
        table.check();
        while cursor != 0 {
            cursor = zset.scan(cursor, 100, |m, _| {
                seen.insert(m.to_vec());
            });
        }
        for i in 9_000..10_000 {
            assert!(seen.contains(format!("member:{i}").as_bytes()));
            assert_eq!(zset.score(format!("member:{i}").as_bytes()), Some(f64::from(i % 100)));
        }
        assert_eq!(zset.len(), 1_000);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Adds, removes (which compact the arena and rebuild the tree), conversion to the large
        /// form and clones keep the O(1) byte count equal to a recount of the tree's nodes.
        #[test]
        fn heap_bytes_match_a_recount(
            ops in proptest::collection::vec((0u8..4, 0u16..600, 0u8..20), 1..400),
            entries_max in 0usize..40,
        ) {
            let limits = ZSetLimits { listpack_entries: entries_max, listpack_value: 8 };
            let mut zset = ZSet::new_for(1, 1, limits);
            for (kind, member, score) in ops {
                let name = format!("m{member}{}", "x".repeat(usize::from(member % 11)));
                match kind {
                    0 | 1 => drop(zset.insert(name.as_bytes(), f64::from(score), limits).expect("insert")),
                    2 => drop(zset.remove(name.as_bytes())),
                    _ => zset = zset.clone(),
                }
                if let ZSet::Table(table) = &zset {
                    let counted = table.arena.capacity() + table.index.allocation_size() + table.tree.heap_bytes_counted();
                    proptest::prop_assert_eq!(zset.heap_bytes(), counted);
                }
            }
        }
    }

    #[test]
    fn made_up_cursors_are_safe() {
        let limits = ZSetLimits { listpack_entries: 0, listpack_value: 0 };
        let mut zset = ZSet::new_for(1, 1, limits);
        for i in 0..300 {
            zset.insert(format!("m{i}").as_bytes(), 1.0, limits).expect("insert");
        }
        for cursor in [1, 3, 77, u64::MAX, 1 << 40, (1 << 40) + 5] {
            let mut got = Vec::new();
            let _ = zset.scan(cursor, 10, |m, _| got.push(m.to_vec()));
            assert!(got.iter().all(|m| zset.score(m).is_some()), "only real members come back");
        }
    }

    /// 1M members of 14 bytes with random scores: bytes a member by allocation capacities.
    #[test]
    fn large_form_memory_per_member() {
        let limits = ZSetLimits::DEFAULT;
        let mut zset = ZSet::new_for(1_000_000, 14, limits);
        let mut next = rng();
        let n = 1_000_000;
        for i in 0..n {
            let member = format!("member:{i:07}");
            let score = (next() % 1_000_000_000) as f64 / 7.0;
            zset.insert(member.as_bytes(), score, limits).expect("insert");
        }
        assert_eq!(zset.len(), n);
        let per_member = zset.heap_bytes() as f64 / n as f64;
        if let ZSet::Table(table) = &zset {
            let part = |bytes: usize| bytes as f64 / n as f64;
            eprintln!(
                "zset large form: {per_member:.1} bytes/member (arena {:.1}, index {:.1}, tree {:.1})",
                part(table.arena.capacity()),
                part(table.index.allocation_size()),
                part(table.tree.heap_bytes())
            );
        }
        assert!(per_member <= 88.0, "{per_member:.1} bytes a member");
    }
}
