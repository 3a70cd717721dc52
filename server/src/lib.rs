//! Memora's reference server: the [`memora_engine`] cache behind Redis's wire protocol.
//!
//! The server only frames bytes. Every command (PING, HELLO, CLIENT, CONFIG, the data
//! commands, ...) is the engine's: a connection parses RESP into an argument vector, hands it
//! to its [`memora_engine::Session`], and encodes the [`memora_engine::Reply`] as RESP2 or
//! RESP3, whichever the session negotiated with `HELLO`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), memora_server::ServerError> {
//! use memora_server::{Server, ServerConfig};
//!
//! let config = ServerConfig { port: 0, ..ServerConfig::default() };
//! let server = Server::bind(&config).await?;
//! let addr = server.local_addr();
//! tokio::spawn(server.run(std::future::pending()));
//! // Any Redis client can now talk to `addr`.
//! # let _ = addr; Ok(()) }
//! ```
//!
//! # Components
//!
//! - [`resp`]: the incremental request parser (multibulk and inline, Redis's exact protocol
//!   errors) and the RESP2/RESP3 reply encoder.
//! - [`config`]: redis.conf files and redis-server-style flags.
//! - [`Server`]: listeners, the per-connection loop (one read, one write per batch of
//!   pipelined commands), `maxclients`, graceful shutdown, and a short adaptive busy poll
//!   before the I/O thread sleeps (`busy-poll-us`).
//! - The `memora-server` binary: `memora-server [config-file] [--port 6380 ...]`.

#![warn(missing_docs)]

mod busy_poll;
mod clients;
pub mod config;
mod connection;
#[doc(hidden)]
pub mod fuzzing;
pub mod resp;
mod server;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use config::{Cli, ConfigError, ServerConfig};
pub use server::{Server, ServerError, build_engine};
