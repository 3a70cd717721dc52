//! [`Index`]: a stripe's hash index from key hash to slot position, one cache line per bucket.
//!
//! Each 64-byte bucket holds 12 entries: 12 one-byte tags (7 bits of the hash plus a set high
//! bit; 0 marks an empty entry), an overflow count, and the 12 `u32` slot positions. A lookup
//! reads one bucket (tags and positions in the same cache line) and then the slot it points
//! to: two dependent memory accesses where a SwissTable of positions takes three (control
//! bytes, position, slot). That is what uniform GETs over a large keyspace wait for.
//!
//! Collisions spill into the following buckets (linear probing by bucket). A bucket's
//! `overflow` counts the entries that probed past it, as in Facebook's F14: a lookup stops at
//! the first bucket whose count is zero, so a miss usually reads one bucket, and deletions need
//! no tombstones (removing an entry decrements the counts along its probe path).

/// Entries per bucket.
const ENTRIES: usize = 12;
/// Grow when the index would be fuller than 7/8.
const MAX_LOAD_NUM: usize = 7;
const MAX_LOAD_DEN: usize = 8;

/// One cache line of entries.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    /// 0: empty; otherwise `0x80 | top 7 bits of the hash`.
    tags: [u8; ENTRIES],
    /// Entries whose probe path passed this bucket without finding room in it.
    overflow: u32,
    positions: [u32; ENTRIES],
}

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

const EMPTY_BUCKET: Bucket = Bucket { tags: [0; ENTRIES], overflow: 0, positions: [0; ENTRIES] };

/// The tag stored for a hash: its top 7 bits with the high bit set (never 0).
#[inline]
fn tag(hash: u64) -> u8 {
    (hash >> 57) as u8 | 0x80
}

/// Bitmask of the entries of `tags` equal to `wanted` (bit `i` for entry `i`).
///
/// On x86-64: one SSE2 byte compare over the 12 tags, padded with zeros (which never match:
/// `wanted` is never 0), and a movemask. The compiler does not find this form by itself.
#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(unsafe_code, reason = "SSE2 intrinsics; see the SAFETY comment")]
fn matches(tags: &[u8; ENTRIES], wanted: u8) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi32, _mm_set1_epi8};
    let word = |i: usize| i32::from_le_bytes([tags[i], tags[i + 1], tags[i + 2], tags[i + 3]]);
    // SAFETY: these intrinsics only require SSE2, which every x86-64 processor has (it is part
    // of the `x86_64` target's baseline features); they take no pointers. Checked against
    // `matches_swar` by `tag_matching_finds_exactly_the_equal_bytes`.
    let mask = unsafe {
        let lane = _mm_set_epi32(0, word(8), word(4), word(0));
        _mm_movemask_epi8(_mm_cmpeq_epi8(lane, _mm_set1_epi8(wanted as i8)))
    };
    mask as u32
}

/// Bitmask of the entries of `tags` equal to `wanted` (bit `i` for entry `i`).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn matches(tags: &[u8; ENTRIES], wanted: u8) -> u32 {
    matches_swar(tags, wanted)
}

/// The portable form of [`matches`], word at a time: XOR with the wanted tag zeroes the
/// matching bytes, and `!(((x & 0x7f..) + 0x7f..) | x) & 0x80..` sets the high bit of exactly
/// the zero bytes (no false positives: the addition cannot carry across bytes). One gather of
/// those high bits per word gives the mask.
#[cfg_attr(target_arch = "x86_64", cfg(test))]
#[inline]
fn matches_swar(tags: &[u8; ENTRIES], wanted: u8) -> u32 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |word: u64| !(((word & LOW7) + LOW7) | word) & HIGH;
    let mut head = [0u8; 8];
    head.copy_from_slice(&tags[..8]);
    let mut tail = [0u8; 8];
    tail[..4].copy_from_slice(&tags[8..]);
    let repeated = u64::from(wanted) * 0x0101_0101_0101_0101;
    let head = zero_bytes(u64::from_le_bytes(head) ^ repeated);
    // The tail's 4 padding bytes are 0 and `wanted` is never 0: they never match.
    let tail = zero_bytes(u64::from_le_bytes(tail) ^ repeated);
    gather_high_bits(head) | gather_high_bits(tail) << 8
}

/// Bit `i` set for each byte `i` of `word` whose high bit is set (`word` has only high bits).
#[cfg_attr(target_arch = "x86_64", cfg(test))]
#[inline]
fn gather_high_bits(word: u64) -> u32 {
    // Multiplying moves bit 7 of byte i to bit 56 + i; no two products overlap there.
    ((word >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// A hash index of `u32` slot positions. See the module docs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Index {
    buckets: Vec<Bucket>,
    len: usize,
}

impl Index {
    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated.
    pub(crate) fn allocation_size(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// The address of the bucket a lookup of `hash` reads first, for a prefetch hint (`None`
    /// when the index is empty).
    #[inline]
    pub(crate) fn first_bucket_address(&self, hash: u64) -> Option<*const u8> {
        self.buckets
            .get(hash as usize & self.buckets.len().wrapping_sub(1))
            .map(|b| std::ptr::from_ref(b).cast())
    }

    /// The position whose entry has `hash` and for which `eq` holds.
    #[inline(always)]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let (wanted, mask) = (tag(hash), self.mask());
        let mut at = hash as usize & mask;
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[at];
            let mut hits = matches(&bucket.tags, wanted);
            while hits != 0 {
                let i = hits.trailing_zeros() as usize;
                if eq(bucket.positions[i]) {
                    return Some(bucket.positions[i]);
                }
                hits &= hits - 1;
            }
            if bucket.overflow == 0 {
                return None;
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Adds an entry; the caller guarantees no entry with an equal key exists. `rehash` gives
    /// the hash of any stored position (needed when the index grows).
    pub(crate) fn insert(&mut self, hash: u64, position: u32, rehash: impl Fn(u32) -> u64) {
        if (self.len + 1) * MAX_LOAD_DEN > self.buckets.len() * ENTRIES * MAX_LOAD_NUM {
            self.grow(rehash);
        }
        self.place(hash, position);
        self.len += 1;
    }

    /// Removes the entry for `position`, whose key hashes to `hash`. Returns whether it was
    /// there.
    pub(crate) fn remove(&mut self, hash: u64, position: u32) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let (wanted, mask) = (tag(hash), self.mask());
        let home = hash as usize & mask;
        let mut at = home;
        for _ in 0..self.buckets.len() {
            let bucket = &mut self.buckets[at];
            let hits = matches(&bucket.tags, wanted);
            let found = (0..ENTRIES).find(|&i| hits & (1 << i) != 0 && bucket.positions[i] == position);
            if let Some(i) = found {
                bucket.tags[i] = 0;
                self.unwind_overflow(home, at);
                self.len -= 1;
                return true;
            }
            if bucket.overflow == 0 {
                return false;
            }
            at = (at + 1) & mask;
        }
        false
    }

    /// A random stored position: a random bucket, then the first bucket from there that holds
    /// entries, then a random entry of it (not exactly uniform, as Redis's own sampling).
    /// `random` yields uniform 64-bit values.
    pub(crate) fn random(&self, mut random: impl FnMut() -> u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let start = random() as usize & mask;
        for step in 0..self.buckets.len() {
            let bucket = &self.buckets[(start + step) & mask];
            let occupied = || (0..ENTRIES).filter(|&i| bucket.tags[i] != 0);
            let count = occupied().count() as u64;
            if count > 0 {
                let pick = occupied().nth((random() % count) as usize)?;
                return Some(bucket.positions[pick]);
            }
        }
        None
    }

    /// Every stored position, in bucket order.
    pub(crate) fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flat_map(|bucket| {
            (0..ENTRIES).filter(move |&i| bucket.tags[i] != 0).map(move |i| bucket.positions[i])
        })
    }

    /// Decrements the overflow counts of the buckets from `home` up to (not including) `end`.
    fn unwind_overflow(&mut self, home: usize, end: usize) {
        let mask = self.mask();
        let mut at = home;
        while at != end {
            self.buckets[at].overflow -= 1;
            at = (at + 1) & mask;
        }
    }

    /// Puts an entry in the first bucket with room along its probe path.
    fn place(&mut self, hash: u64, position: u32) {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let bucket = &mut self.buckets[at];
            if let Some(i) = bucket.tags.iter().position(|&t| t == 0) {
                bucket.tags[i] = tag(hash);
                bucket.positions[i] = position;
                return;
            }
            bucket.overflow += 1;
            at = (at + 1) & mask;
        }
    }

    /// Doubles the bucket count (from one bucket when empty) and re-places every entry.
    fn grow(&mut self, rehash: impl Fn(u32) -> u64) {
        let new_len = (self.buckets.len() * 2).max(1);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY_BUCKET; new_len]);
        for bucket in &old {
            for (i, &t) in bucket.tags.iter().enumerate() {
                if t != 0 {
                    let position = bucket.positions[i];
                    self.place(rehash(position), position);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A deliberately weak hash so that buckets collide and overflow chains form.
    fn hash_of(position: u32) -> u64 {
        let h = u64::from(position).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h & 0xFF00_0000_0000_000F
    }

    #[test]
    fn tag_matching_finds_exactly_the_equal_bytes() {
        let mut tags = [0u8; ENTRIES];
        for (i, t) in tags.iter_mut().enumerate() {
            *t = 0x80 | (i as u8 % 5);
        }
        for wanted in 0x80..=0xffu8 {
            let expected: u32 = (0..ENTRIES).filter(|&i| tags[i] == wanted).map(|i| 1 << i).sum();
            assert_eq!(matches(&tags, wanted), expected, "{wanted:#x}");
            assert_eq!(matches_swar(&tags, wanted), expected, "{wanted:#x}");
        }
        assert_eq!(matches(&[0; ENTRIES], 0x80), 0, "empty entries never match");
        assert_eq!(matches(&[0xff; ENTRIES], 0xff), (1 << ENTRIES) - 1);
    }

    #[test]
    fn insert_find_remove_with_collisions() {
        let mut index = Index::default();
        for p in 0..5_000u32 {
            index.insert(hash_of(p), p, hash_of);
        }
        assert_eq!(index.len(), 5_000);
        for p in 0..5_000u32 {
            assert_eq!(index.find(hash_of(p), |q| q == p), Some(p));
        }
        assert_eq!(index.find(hash_of(7), |_| false), None);
        for p in (0..5_000u32).step_by(2) {
            assert!(index.remove(hash_of(p), p));
        }
        assert!(!index.remove(hash_of(0), 0), "already removed");
        for p in 0..5_000u32 {
            assert_eq!(index.find(hash_of(p), |q| q == p).is_some(), p % 2 == 1, "{p}");
        }
        // Overflow counts unwound exactly: refill and check again.
        for p in (0..5_000u32).step_by(2) {
            index.insert(hash_of(p), p, hash_of);
        }
        for p in 0..5_000u32 {
            assert_eq!(index.find(hash_of(p), |q| q == p), Some(p));
        }
        index = Index::default();
        assert_eq!(index.len(), 0);
        assert_eq!(index.find(hash_of(1), |_| true), None);
    }

    #[test]
    fn overflow_counts_return_to_zero() {
        let mut index = Index::default();
        for p in 0..2_000u32 {
            index.insert(hash_of(p), p, hash_of);
        }
        for p in 0..2_000u32 {
            assert!(index.remove(hash_of(p), p));
        }
        assert!(index.buckets.iter().all(|b| b.overflow == 0 && b.tags == [0; ENTRIES]));
    }

    #[test]
    fn matches_random_model() {
        // Random inserts and removes against a HashMap, with a realistic hash.
        let mut index = Index::default();
        let mut model: HashSet<u32> = HashSet::new();
        let hash = |p: u32| u64::from(p).wrapping_mul(0xA076_1D64_78BD_642F).rotate_left(29) ^ 0x5555;
        let mut state = 1u64;
        for _ in 0..50_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let p = (state >> 40) as u32 % 3_000;
            if model.insert(p) {
                index.insert(hash(p), p, hash);
            } else {
                assert!(index.remove(hash(p), p));
                model.remove(&p);
            }
            assert_eq!(index.len(), model.len());
        }
        for p in 0..3_000u32 {
            assert_eq!(index.find(hash(p), |q| q == p).is_some(), model.contains(&p));
        }
    }
}
