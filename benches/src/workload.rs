//! Deterministic workloads: keys of [`KEY_LEN`] bytes, values of [`VALUE_LEN`] bytes, a seeded
//! generator, uniform and Zipf key samplers, and pre-generated operation streams.
//!
//! Everything here is a pure function of its inputs and seed, so two runs (and two systems in
//! one run) see exactly the same keys in exactly the same order.

/// Length of every benchmark key, in bytes.
pub const KEY_LEN: usize = 16;
/// Length of every benchmark value, in bytes.
pub const VALUE_LEN: usize = 32;
/// Number of keys of the standard workload.
pub const DEFAULT_KEY_COUNT: usize = 1_000_000;
/// Length of a [`Dataset::visit_order`]; a power of two so wrapping is a mask.
pub const ORDER_LEN: usize = 1 << 20;
/// Largest key count an [`Op`] can address.
pub const MAX_KEY_COUNT: usize = 1 << 31;

/// Writes key number `index` into `out`: `key:` and 12 zero-padded decimal digits.
///
/// ```
/// let mut key = [0u8; memora_benches::workload::KEY_LEN];
/// memora_benches::workload::write_key(42, &mut key);
/// assert_eq!(&key, b"key:000000000042");
/// ```
pub fn write_key(index: usize, out: &mut [u8; KEY_LEN]) {
    out[..4].copy_from_slice(b"key:");
    write_decimal(index as u64, &mut out[4..]);
}

/// Writes value number `index` into `out`: `value:`, 12 zero-padded digits, then filler.
pub fn write_value(index: usize, out: &mut [u8; VALUE_LEN]) {
    out[..6].copy_from_slice(b"value:");
    write_decimal(index as u64, &mut out[6..18]);
    for (offset, byte) in out[18..].iter_mut().enumerate() {
        *byte = b'a' + ((index + offset) % 26) as u8;
    }
}

/// Length of a set or sorted-set member in the collection workloads, in bytes.
pub const MEMBER_LEN: usize = 14;
/// Length of a hash field in the collection workloads, in bytes.
pub const FIELD_LEN: usize = 13;

/// Writes set or sorted-set member number `index` into `out`: `member:` and 7 zero-padded
/// decimal digits.
///
/// ```
/// let mut member = [0u8; memora_benches::workload::MEMBER_LEN];
/// memora_benches::workload::write_member(42, &mut member);
/// assert_eq!(&member, b"member:0000042");
/// ```
pub fn write_member(index: usize, out: &mut [u8; MEMBER_LEN]) {
    out[..7].copy_from_slice(b"member:");
    write_decimal(index as u64, &mut out[7..]);
}

/// Writes hash field number `index` into `out`: `field:` and 7 zero-padded decimal digits.
///
/// ```
/// let mut field = [0u8; memora_benches::workload::FIELD_LEN];
/// memora_benches::workload::write_field(42, &mut field);
/// assert_eq!(&field, b"field:0000042");
/// ```
pub fn write_field(index: usize, out: &mut [u8; FIELD_LEN]) {
    out[..6].copy_from_slice(b"field:");
    write_decimal(index as u64, &mut out[6..]);
}

/// Writes list element number `index` into `out`: `item:`, 7 zero-padded decimal digits,
/// `:` and 19 pseudo-random hex digits (a payload id, say), so that neighbouring elements
/// share their prefix but not their tail, and LZ4 gains little on them.
///
/// ```
/// let mut element = [0u8; memora_benches::workload::VALUE_LEN];
/// memora_benches::workload::write_element(42, &mut element);
/// assert!(element.starts_with(b"item:0000042:"));
/// ```
pub fn write_element(index: usize, out: &mut [u8; VALUE_LEN]) {
    out[..5].copy_from_slice(b"item:");
    write_decimal(index as u64, &mut out[5..12]);
    out[12] = b':';
    let mut rng = SplitMix64::new(index as u64 ^ 0xE1E7);
    let mut bits = [rng.next_u64(), rng.next_u64()];
    for (position, byte) in out[13..].iter_mut().enumerate() {
        let word = &mut bits[position / 16];
        *byte = b"0123456789abcdef"[(*word & 15) as usize];
        *word >>= 4;
    }
}

/// The score of sorted-set member number `index`: a pseudo-random integer in `0..10^9` (as a
/// leaderboard's points would be), a pure function of `index` and `round`, so that a
/// benchmark can move members around by changing `round`.
pub fn member_score(index: usize, round: u64) -> f64 {
    let mut rng = SplitMix64::new((index as u64) ^ round.rotate_left(32));
    rng.below(1_000_000_000) as f64
}

/// Writes `n` in decimal, zero-padded to fill `out` (keeping the low digits if it overflows).
fn write_decimal(mut n: u64, out: &mut [u8]) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// SplitMix64: a tiny, fast, seedable generator, good enough to pick benchmark keys.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (Lemire's multiply-shift; the bias is negligible for our `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A float in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// All keys and values of a workload, each in one flat buffer (no allocation per key, so
/// reading a key while benchmarking costs one bounds-checked slice).
#[derive(Debug, Clone)]
pub struct Dataset {
    keys: Vec<u8>,
    values: Vec<u8>,
    count: usize,
}

impl Dataset {
    /// Keys and values `0..count`, as [`write_key`] and [`write_value`] make them.
    pub fn new(count: usize) -> Dataset {
        assert!(count <= MAX_KEY_COUNT, "at most {MAX_KEY_COUNT} keys");
        let mut keys = vec![0u8; count * KEY_LEN];
        let mut values = vec![0u8; count * VALUE_LEN];
        for (index, key) in keys.chunks_exact_mut(KEY_LEN).enumerate() {
            write_key(index, key.try_into().expect("chunk of KEY_LEN"));
        }
        for (index, value) in values.chunks_exact_mut(VALUE_LEN).enumerate() {
            write_value(index, value.try_into().expect("chunk of VALUE_LEN"));
        }
        Dataset { keys, values, count }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.count
    }

    /// A pseudo-random visiting order of [`ORDER_LEN`] key indexes (from `seed`), for
    /// benchmarks that walk it by position (`order[position & (ORDER_LEN - 1)]`).
    pub fn visit_order(&self, seed: u64) -> Vec<u32> {
        let mut rng = SplitMix64::new(seed);
        (0..ORDER_LEN).map(|_| rng.below(self.count as u64) as u32).collect()
    }

    /// Is the dataset empty?
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Key number `index`.
    #[inline]
    pub fn key(&self, index: usize) -> &[u8] {
        &self.keys[index * KEY_LEN..(index + 1) * KEY_LEN]
    }

    /// Value number `index`.
    #[inline]
    pub fn value(&self, index: usize) -> &[u8] {
        &self.values[index * VALUE_LEN..(index + 1) * VALUE_LEN]
    }
}

/// How keys are picked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Every key equally likely.
    Uniform,
    /// Zipf with this exponent (0.99 is YCSB's and Redis benchmarks' usual skew).
    Zipf(f64),
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distribution::Uniform => f.write_str("uniform"),
            Distribution::Zipf(s) => write!(f, "zipf{s}"),
        }
    }
}

/// Picks key indices in `0..count` following a [`Distribution`].
///
/// Zipf ranks are mapped to keys through a fixed random permutation, so the hottest keys are
/// scattered over the key space (and over every system's shards) rather than being keys 0, 1,
/// 2, ... Sampling is exact (a binary search of the cumulative distribution); it costs a few
/// hundred nanoseconds, which is why streams are generated before timing starts.
#[derive(Debug, Clone)]
pub struct KeySampler {
    count: usize,
    /// Zipf only: cumulative probability of ranks `0..=i`, and rank → key index.
    zipf: Option<(Vec<f64>, Vec<u32>)>,
}

impl KeySampler {
    /// A sampler over `count` keys (at least 1).
    pub fn new(count: usize, distribution: Distribution) -> KeySampler {
        let count = count.clamp(1, MAX_KEY_COUNT);
        let zipf = match distribution {
            Distribution::Uniform => None,
            Distribution::Zipf(exponent) => Some((zipf_cdf(count, exponent), permutation(count, 0x5EED))),
        };
        KeySampler { count, zipf }
    }

    /// The next key index.
    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        match &self.zipf {
            None => rng.below(self.count as u64) as usize,
            Some((cdf, ranks)) => {
                let u = rng.next_f64();
                let rank = cdf.partition_point(|&p| p <= u).min(self.count - 1);
                ranks[rank] as usize
            }
        }
    }
}

/// The cumulative Zipf distribution over ranks `1..=count` with `exponent`, normalised to 1.
fn zipf_cdf(count: usize, exponent: f64) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(count);
    let mut sum = 0.0;
    for rank in 1..=count {
        sum += 1.0 / (rank as f64).powf(exponent);
        cdf.push(sum);
    }
    for p in &mut cdf {
        *p /= sum;
    }
    cdf
}

/// A seeded random permutation of `0..count` (Fisher–Yates).
pub fn permutation(count: usize, seed: u64) -> Vec<u32> {
    let mut items: Vec<u32> = (0..count as u32).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..count).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
    items
}

/// One pre-generated operation: a key index and whether it is a SET (else a GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op(u32);

impl Op {
    const SET_BIT: u32 = 1 << 31;

    /// A GET of key `index`.
    pub fn get(index: usize) -> Op {
        Op(index as u32 & !Op::SET_BIT)
    }

    /// A SET of key `index` (to value `index`).
    pub fn set(index: usize) -> Op {
        Op(index as u32 | Op::SET_BIT)
    }

    /// Is this a SET?
    #[inline]
    pub fn is_set(self) -> bool {
        self.0 & Op::SET_BIT != 0
    }

    /// The key index.
    #[inline]
    pub fn index(self) -> usize {
        (self.0 & !Op::SET_BIT) as usize
    }
}

/// `count` operations, `set_percent` % of them SETs (placed at random), keys from `sampler`,
/// all determined by `seed`.
pub fn op_stream(count: usize, sampler: &KeySampler, set_percent: u32, seed: u64) -> Vec<Op> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let index = sampler.sample(&mut rng);
            if rng.below(100) < u64::from(set_percent) { Op::set(index) } else { Op::get(index) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_fixed_lengths_and_differ() {
        let data = Dataset::new(1000);
        assert_eq!(data.key(999), b"key:000000000999");
        assert_eq!(data.value(7).len(), VALUE_LEN);
        assert_ne!(data.value(7), data.value(8));
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let sampler = KeySampler::new(1000, Distribution::Zipf(0.99));
        let mut rng = SplitMix64::new(1);
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            hits[sampler.sample(&mut rng)] += 1;
        }
        let hottest = *hits.iter().max().unwrap();
        // Rank 1 of Zipf(0.99) over 1000 keys has probability ~0.13.
        assert!(hottest > 10_000, "hottest key drew {hottest}");
    }

    #[test]
    fn streams_are_deterministic_and_mixed() {
        let sampler = KeySampler::new(100, Distribution::Uniform);
        let a = op_stream(10_000, &sampler, 10, 3);
        assert_eq!(a, op_stream(10_000, &sampler, 10, 3));
        let sets = a.iter().filter(|op| op.is_set()).count();
        assert!((800..1200).contains(&sets), "{sets} sets");
        assert!(a.iter().all(|op| op.index() < 100));
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(1000, 9);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i as u32 == v));
    }
}
