//! # memora-replication
//!
//! Primary/replica replication for Memora engines. Not implemented yet: this crate holds the
//! plan.
//!
//! - The engine emits, in commit order and with increasing offsets, the deterministic effects
//!   of every write (expiry and eviction as deletes, relative times made absolute).
//! - A small object-safe `Transport` trait (in-memory, fault-injecting, TCP in the server);
//!   history id plus offset; partial resync from a bounded backlog, full resync through a
//!   streamed snapshot.
//! - Read-only replicas (`READONLY` errors), promotion with epoch fencing, `WAIT`.

#![warn(missing_docs)]
