//! Typed errors and their Redis wire text.
//!
//! Every error the engine can return is a variant of [`Error`]. Its `Display` implementation is
//! the one place where Redis's error wording lives: the text it renders is exactly what a Redis
//! server would put after the `-` of an error reply (`WRONGTYPE Operation against a key holding
//! the wrong kind of value`, `ERR syntax error`, ...), so the server writes it verbatim.

use std::borrow::Cow;

/// The result type of every fallible engine operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from an engine operation, rendered with Redis's wording by `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key holds a value of another type than the operation needs.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// A value or argument is not a 64-bit signed integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// A value or argument is not a valid floating point number.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// An integer increment would leave the 64-bit range.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A float increment would produce NaN or an infinity.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// The arguments do not form a valid command.
    #[error("ERR syntax error")]
    Syntax,
    /// Wrong number of arguments; holds the command's full name (`get`, `config|get`).
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(Cow<'static, str>),
    /// The command name is not in the command table.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The name as the client sent it (truncated).
        name: String,
        /// The first arguments, each quoted and followed by a space, as Redis prints them.
        args: String,
    },
    /// The subcommand of a container command (CONFIG, CLIENT, ...) is unknown.
    #[error("ERR unknown subcommand '{sub}'. Try {command} HELP.")]
    UnknownSubcommand {
        /// The subcommand as sent (truncated).
        sub: String,
        /// The container command, upper case.
        command: &'static str,
    },
    /// The key does not exist (RENAME and friends).
    #[error("ERR no such key")]
    NoSuchKey,
    /// An expire time is not positive or overflows; holds the command name.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
    /// SELECT, MOVE, SWAPDB or COPY named a database that does not exist.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// Source and destination of MOVE/COPY are the same.
    #[error("ERR source and destination objects are the same")]
    SameObject,
    /// A string would grow past `proto-max-bulk-len`.
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// A SETRANGE/GETRANGE-style offset is negative or too large.
    #[error("ERR offset is out of range")]
    OffsetOutOfRange,
    /// A write that may grow memory was refused: memory is over `maxmemory` and the policy
    /// (`noeviction`, or a `volatile-*` policy with no key to evict) frees nothing.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    OutOfMemory,
    /// A command's argument has a value outside the accepted set; the full Redis text.
    #[error("{0}")]
    Message(Cow<'static, str>),
}

impl Error {
    /// An error with a complete Redis message, prefix included (`"ERR ..."`).
    pub fn msg(text: impl Into<Cow<'static, str>>) -> Self {
        Error::Message(text.into())
    }

    /// The error code: the first word of the rendered text (`ERR`, `WRONGTYPE`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongType => "WRONGTYPE",
            Error::OutOfMemory => "OOM",
            Error::Message(text) => match text.split_once(' ') {
                Some(("READONLY", _)) => "READONLY",
                Some(("OOM", _)) => "OOM",
                Some(("EXECABORT", _)) => "EXECABORT",
                Some(("NOSCRIPT", _)) => "NOSCRIPT",
                _ => "ERR",
            },
            _ => "ERR",
        }
    }

    /// The arity error for `name` (lower case, `container|sub` for subcommands).
    pub(crate) fn arity(name: &'static str) -> Self {
        Error::WrongArity(Cow::Borrowed(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_redis_wording() {
        assert_eq!(
            Error::WrongType.to_string(),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(Error::arity("get").to_string(), "ERR wrong number of arguments for 'get' command");
        assert_eq!(
            Error::UnknownCommand { name: "foo".into(), args: "'a' ".into() }.to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' "
        );
        assert_eq!(Error::InvalidExpireTime("set").to_string(), "ERR invalid expire time in 'set' command");
    }

    #[test]
    fn code_is_first_word() {
        assert_eq!(Error::WrongType.code(), "WRONGTYPE");
        assert_eq!(Error::Syntax.code(), "ERR");
        assert_eq!(Error::msg("OOM command not allowed").code(), "OOM");
    }
}
