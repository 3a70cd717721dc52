//! Eviction support: the pieces an eviction policy consults before it evicts.
//!
//! - [`sketch`]: a TinyLFU frequency sketch, the admission filter's estimate of how often a
//!   key was seen recently.

#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the admission policy (issue 4) wires the sketch into eviction")
)]
pub(crate) mod sketch;
