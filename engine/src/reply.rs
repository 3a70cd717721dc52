//! [`Reply`]: what a command answers, able to carry every RESP3 type.
//!
//! The engine never encodes bytes for a wire; the embedder (the reference server, a test, a
//! benchmark) turns a `Reply` into RESP2 or RESP3. Each variant's documentation says how it
//! degrades to RESP2.

use std::borrow::Cow;

use crate::error::Error;

/// A command's answer. Mirrors the RESP3 type system.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A status line such as `OK` or `PONG` (`+OK`).
    Simple(Cow<'static, str>),
    /// An error reply; its `Display` is the wire text (`-ERR ...`).
    Error(Error),
    /// A signed 64-bit integer (`:1`).
    Integer(i64),
    /// A binary-safe string (`$3\r\nfoo`).
    Bulk(Vec<u8>),
    /// The null value (RESP2: the null bulk string `$-1`; RESP3: `_`).
    Null,
    /// The null array (RESP2: `*-1`, as EXEC answers an aborted transaction; RESP3: `_`).
    NullArray,
    /// An ordered collection (`*`).
    Array(Vec<Reply>),
    /// Key/value pairs (RESP3 `%`; RESP2: a flat array of alternating keys and values).
    Map(Vec<(Reply, Reply)>),
    /// An unordered collection (RESP3 `~`; RESP2: an array).
    Set(Vec<Reply>),
    /// A double (RESP3 `,`; RESP2: a bulk string of the same text).
    Double(f64),
    /// A boolean (RESP3 `#t`/`#f`; RESP2: the integer 1 or 0).
    Boolean(bool),
    /// An integer outside 64 bits, in decimal (RESP3 `(`; RESP2: a bulk string).
    BigNumber(String),
    /// Text with a three-letter format such as `txt` (RESP3 `=`; RESP2: a bulk string of the text).
    Verbatim {
        /// The format, e.g. `*b"txt"`.
        format: [u8; 3],
        /// The text itself.
        text: Vec<u8>,
    },
    /// Out-of-band data such as pub/sub messages (RESP3 `>`; RESP2: an array).
    Push(Vec<Reply>),
}

impl Reply {
    /// The `+OK` reply, allocation free.
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    /// A status reply from a static string.
    pub const fn simple(text: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(text))
    }

    /// A bulk reply copying `bytes`.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// A bulk reply holding the decimal text of `n`.
    pub fn bulk_int(n: i64) -> Reply {
        Reply::Bulk(itoa::Buffer::new().format(n).as_bytes().to_vec())
    }

    /// A bulk reply, or null when `value` is `None`.
    pub fn bulk_or_null(value: Option<Vec<u8>>) -> Reply {
        match value {
            Some(bytes) => Reply::Bulk(bytes),
            None => Reply::Null,
        }
    }

    /// Is this an error reply?
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<Error> for Reply {
    fn from(err: Error) -> Self {
        Reply::Error(err)
    }
}

impl From<i64> for Reply {
    fn from(n: i64) -> Self {
        Reply::Integer(n)
    }
}

impl From<bool> for Reply {
    /// Redis answers yes/no questions (EXISTS on one key, SETNX, ...) with the integers 1 and 0.
    fn from(b: bool) -> Self {
        Reply::Integer(i64::from(b))
    }
}

impl From<Vec<u8>> for Reply {
    fn from(bytes: Vec<u8>) -> Self {
        Reply::Bulk(bytes)
    }
}

impl From<Option<Vec<u8>>> for Reply {
    fn from(value: Option<Vec<u8>>) -> Self {
        Reply::bulk_or_null(value)
    }
}

impl<T: Into<Reply>> From<crate::error::Result<T>> for Reply {
    fn from(result: crate::error::Result<T>) -> Self {
        match result {
            Ok(value) => value.into(),
            Err(err) => Reply::Error(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Reply::from(true), Reply::Integer(1));
        assert_eq!(Reply::from(None::<Vec<u8>>), Reply::Null);
        assert_eq!(Reply::bulk_int(-42), Reply::Bulk(b"-42".to_vec()));
        let err: crate::error::Result<i64> = Err(Error::Syntax);
        assert!(Reply::from(err).is_error());
    }
}
