//! RESP framing: requests in, replies out.
//!
//! - [`RequestParser`] turns the bytes a client sends into commands: RESP multibulk frames
//!   (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline commands (`GET k\r\n`), incrementally and
//!   without copying multibulk arguments. It reproduces Redis's protocol errors word for word.
//! - [`encode`] writes a [`memora_engine::Reply`] as RESP2 or RESP3 into an output buffer.
//! - [`DoubleText`] renders a double the way Redis 7.2+ does (`1`, `1.5`, `1e+300`, `inf`).
//! - [`split_args`] is Redis's `sdssplitargs`: the quoting rules of inline commands and of
//!   configuration files.

mod double;
mod encode;
mod inline;
mod parse;

pub use double::DoubleText;
pub use encode::{encode, encode_error};
pub use inline::{UnbalancedQuotes, split_args};
pub use parse::{INLINE_MAX_BYTES, MULTIBULK_MAX_COUNT, ProtocolError, RequestParser, Step, parse_decimal};
