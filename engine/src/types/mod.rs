//! Collection values: the data structures behind lists, hashes, sets and sorted sets, each
//! with a compact form for small collections and a large form past configurable thresholds.

pub(crate) mod hash;
pub(crate) mod list;
pub(crate) mod set;
pub(crate) mod zset;
pub(crate) mod zset_tree;

/// A deterministic xorshift generator for the representations' tests.
#[cfg(test)]
pub(crate) fn test_rng() -> impl FnMut() -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
