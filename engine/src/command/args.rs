//! Argument parsing helpers shared by the handlers: one cursor owns keyword matching and
//! number parsing, so every command reports bad input with the same Redis wording.

use crate::error::{Error, Result};
use crate::num::parse_i64;

/// A cursor over a command's arguments (after the ones a handler reads by position).
#[derive(Debug)]
pub(crate) struct Args<'a> {
    argv: &'a [&'a [u8]],
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor at `argv[start]`.
    pub(crate) fn new(argv: &'a [&'a [u8]], start: usize) -> Self {
        Args { argv, pos: start.min(argv.len()) }
    }

    /// The next argument, if any.
    pub(crate) fn next(&mut self) -> Option<&'a [u8]> {
        let arg = self.argv.get(self.pos).copied()?;
        self.pos += 1;
        Some(arg)
    }

    /// The next argument, or `ERR syntax error` when there is none.
    pub(crate) fn value(&mut self) -> Result<&'a [u8]> {
        self.next().ok_or(Error::Syntax)
    }

    /// The next argument as an integer (syntax error when missing, not-an-integer when bad).
    pub(crate) fn int(&mut self) -> Result<i64> {
        parse_i64(self.value()?)
    }
}

/// Case-insensitive keyword comparison.
#[inline]
pub(crate) fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Parses a database index argument (`SELECT`, `MOVE`, `COPY ... DB`).
pub(crate) fn db_index(arg: &[u8], databases: usize) -> Result<usize> {
    let index = parse_i64(arg)?;
    usize::try_from(index).ok().filter(|&i| i < databases).ok_or(Error::DbIndexOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor() {
        let argv: [&[u8]; 4] = [b"SET", b"k", b"EX", b"10"];
        let mut args = Args::new(&argv, 2);
        assert!(is(args.value().expect("EX"), "ex"));
        assert_eq!(args.int(), Ok(10));
        assert_eq!(args.next(), None);
        assert_eq!(args.value(), Err(Error::Syntax));
    }

    #[test]
    fn db_indexes() {
        assert_eq!(db_index(b"3", 16), Ok(3));
        assert_eq!(db_index(b"16", 16), Err(Error::DbIndexOutOfRange));
        assert_eq!(db_index(b"-1", 16), Err(Error::DbIndexOutOfRange));
        assert_eq!(db_index(b"x", 16), Err(Error::NotInteger));
    }
}
