//! # memora-snapshot
//!
//! Point-in-time snapshots of a Memora engine to disk while writes continue, a backup catalog
//! with retention, and restore. Not implemented yet: this crate holds the plan.
//!
//! - Snapshots without fork: an epoch per stripe; the writer walks stripes, and a write to a
//!   stripe not yet serialized first serializes that stripe's old contents (a per-stripe hook on
//!   the engine's write path that costs nothing while no snapshot runs).
//! - A versioned, checksummed on-disk format specified in `docs/`, written crash-safely (temp
//!   file, fsync, rename, fsync directory), restored through `memmap2`, and streamable to any
//!   `io::Write` for replication's full resync.
//! - A catalog of automatic and manual backups with retention.

#![warn(missing_docs)]
