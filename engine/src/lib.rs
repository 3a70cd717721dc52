//! # memora-engine
//!
//! An in-process cache with Redis's data model: a lock-striped keyspace of binary-safe keys,
//! Redis's string, list, set, hash, sorted set and key commands with their exact semantics
//! and error texts, expiry (lazy on access plus an active sampling cycle, for keys and for
//! hash fields), a memory limit with Redis's eviction policies ([`EngineBuilder::maxmemory`],
//! [`EvictionPolicy`]) and removal listeners, statistics, and a command table with an
//! `execute(argv)` entry point that answers like a Redis server.
//!
//! The engine opens no sockets and starts no threads unless asked (see
//! [`EngineBuilder::background_maintenance`]); the reference server in `memora-server` puts
//! it on the network.
//!
//! ```
//! use std::time::Duration;
//! use memora_engine::{Engine, Reply, Session};
//!
//! // The typed API.
//! let engine = Engine::new();
//! engine.set(b"user:1", b"alice", Default::default()).unwrap();
//! engine.set_ex(b"session", b"token", Duration::from_secs(60)).unwrap();
//! assert_eq!(engine.get(b"user:1").unwrap(), Some(b"alice".to_vec()));
//! assert_eq!(engine.incr_by(b"visits", 5).unwrap(), 5);
//!
//! // Redis commands, as a server would run them for one connection.
//! let mut session = Session::new(&engine);
//! assert_eq!(session.execute(&["APPEND", "user:1", "!"]), Reply::Integer(6));
//! assert_eq!(session.execute(&["GET", "user:1"]), Reply::Bulk(b"alice!".to_vec()));
//! assert!(session.execute(&["INCR", "user:1"]).is_error());
//! ```
//!
//! # Components
//! - [`Engine`] / [`EngineBuilder`]: the shared handle and its settings.
//! - The typed API on `Engine`: strings ([`SetOptions`], [`Expiry`], ...), lists
//!   ([`ListEnd`], [`LposOptions`], ...), sets, hashes ([`Engine::hset`], [`FieldValue`], ...),
//!   sorted sets ([`ZAddOptions`], [`ZRangeOptions`], [`ScoreBound`], [`LexBound`],
//!   [`Aggregate`], ...), keys ([`ExpireCondition`], [`ScanOptions`], ...) and `SORT`
//!   ([`SortOptions`], [`SortOutcome`]).
//! - [`Session`] and [`Engine::execute`]: Redis commands in, [`Reply`] out.
//! - Blocking commands (`BLPOP`, `BZPOPMIN`, ...): [`Engine::blpop`] and friends block a
//!   thread with a timeout; [`Session::execute_async`] hands an async server a
//!   [`BlockedCommand`], a `Future` of the reply.
//! - Pub/sub: [`Engine::subscriber`] gives a [`Subscriber`] (bounded queue, receive from a
//!   thread or a future), [`Engine::publish`]; keyspace notifications ([`NotifyFlags`],
//!   `notify-keyspace-events`) are published on `__keyspace@<db>__`/`__keyevent@<db>__`.
//! - [`CommandSpec`]: the command table behind dispatch and `COMMAND`.
//! - [`Clock`]: the time source; [`ManualClock`] for tests.
//! - [`Stats`]: counters behind `INFO`.
//!
//! # Feature flags
//! - `test-utils`: exposes `test_utils`, an operation enum and a reference model shared by
//!   the property tests and the fuzz targets.

#![warn(missing_docs)]

mod blocking;
mod clock;
mod command;
mod config;
mod db;
mod engine;
mod error;
mod evict;
mod expire;
mod glob;
mod hashes;
mod hint;
mod info;
mod keys;
mod keyspace;
mod lcs;
mod lists;
mod memory;
mod notify;
mod num;
mod pubsub;
mod reply;
mod session;
mod sets;
mod sort;
mod stats;
mod strings;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
mod transaction;
mod types;
mod value;
mod zsets;

pub use blocking::BlockedCommand;
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{CommandFlags, CommandSpec, KeySpec};
pub use config::parse_memory;
pub use engine::{DEFAULT_DATABASES, DEFAULT_PROTO_MAX_BULK_LEN, DEFAULT_STRIPES, Engine, EngineBuilder};
pub use error::{Error, Result};
pub use evict::{Admission, EvictionPolicy, Removal, RemovalCause};
pub use glob::glob_match;
pub use hashes::FieldValue;
pub use info::REDIS_COMPAT_VERSION;
pub use keys::{ExpireCondition, KeyExpiry, ScanOptions};
pub use lists::{InsertPosition, ListEnd, LposOptions, Popped};
pub use memory::MemoryStats;
pub use notify::NotifyFlags;
pub use pubsub::{BufferLimit, Bytes, Disconnected, MESSAGE_OVERHEAD_BYTES, Message, Recv, Subscriber};
pub use reply::Reply;
pub use session::{Execution, Protocol, Session};
pub use sort::{SortOptions, SortOutcome};
pub use stats::{CommandStats, DbStats, Stats};
pub use strings::{Expiry, GetExExpiry, LcsMatch, LcsOptions, SetCondition, SetOptions, SetOutcome};
pub use transaction::Watch;
pub use value::KeyType;
pub use zsets::{
    Aggregate, KeyedScoredMember, LexBound, ScoreBound, ScoredMember, ZAddOptions, ZRangeBy, ZRangeOptions,
};

/// The command table, in the order `COMMAND` lists it.
pub fn commands() -> &'static [CommandSpec] {
    &command::table::COMMANDS
}
