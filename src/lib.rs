//! # memora
//!
//! An embeddable in-process cache engine with Redis's data model and semantics. This facade
//! re-exports the workspace's crates so that `cargo add memora` is enough:
//!
//! - [`engine`] (`memora-engine`): the keyspace, commands, expiry and statistics.
//! - [`snapshot`] (`memora-snapshot`): point-in-time snapshots and backups.
//! - [`replication`] (`memora-replication`): primary/replica replication.
//!
//! The engine's main types are also re-exported at the root:
//!
//! ```
//! use memora::{Engine, Reply};
//!
//! let engine = Engine::new();
//! assert_eq!(engine.execute(&["SET", "k", "v"]), Reply::OK);
//! assert_eq!(engine.get(b"k").unwrap(), Some(b"v".to_vec()));
//! ```

#![warn(missing_docs)]

pub use memora_engine as engine;
pub use memora_engine::*;
pub use memora_replication as replication;
pub use memora_snapshot as snapshot;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
