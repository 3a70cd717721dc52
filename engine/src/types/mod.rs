//! Collection values: the data structures behind lists, hashes, sets and sorted sets, each
//! with a compact form for small collections and a large form past configurable thresholds.

pub(crate) mod hash;
pub(crate) mod list;
pub(crate) mod set;
pub(crate) mod zset;
pub(crate) mod zset_tree;
