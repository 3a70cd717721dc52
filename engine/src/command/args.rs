//! Argument parsing helpers shared by the handlers: one cursor owns keyword matching and
//! number parsing, so every command reports bad input with the same Redis wording.

use std::borrow::Cow;

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

/// An argument as C's `%s` prints it in Redis's error texts: up to its first NUL byte.
pub(crate) fn c_str(arg: &[u8]) -> Cow<'_, str> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end])
}

/// An error whose text quotes client input, cleaned up as Redis's `addReplyErrorFormat` does
/// so the reply stays one protocol line: CR and LF at the end trimmed, the others turned into
/// spaces.
pub(crate) fn error_quoting(text: &str) -> Error {
    Error::msg(text.trim_end_matches(['\r', '\n']).replace(['\r', '\n'], " "))
}

/// Parses a 32-bit integer argument as Redis's `getIntFromObjectOrReply` does: not an integer
/// is `ERR value is not an integer or out of range`, an integer outside `i32` is Redis's
/// `ERR value is out of range, value must between ...` (sic).
pub(crate) fn int32(arg: &[u8]) -> Result<i32> {
    let n = parse_i64(arg)?;
    i32::try_from(n).map_err(|_| {
        Error::msg(format!("ERR value is out of range, value must between {} and {}", i32::MIN, i32::MAX))
    })
}

/// Parses a database index argument (`SELECT`, `MOVE`, `COPY ... DB`): a 32-bit integer (see
/// [`int32`]), then `ERR DB index is out of range` unless it names a database.
pub(crate) fn db_index(arg: &[u8], databases: usize) -> Result<usize> {
    let index = int32(arg)?;
    usize::try_from(index).ok().filter(|&i| i < databases).ok_or(Error::DbIndexOutOfRange)
}

/// What [`mpop_args`] parses: the keys, the word after them, the count.
pub(crate) type MpopArgs<'a> = (&'a [&'a [u8]], &'a [u8], usize);

/// `numkeys key [key ...] <where> [COUNT count]` from `argv[at]`, as LMPOP, BLMPOP, ZMPOP and
/// BZMPOP take it: the keys, the word after them (LEFT/RIGHT, MIN/MAX, for the caller to
/// check) and the count (default 1). Redis's errors: a bad or non-positive `numkeys`, a
/// non-positive count; no room for the word, or anything but one `COUNT`, is a syntax error.
pub(crate) fn mpop_args<'a>(argv: &'a [&'a [u8]], at: usize) -> Result<MpopArgs<'a>> {
    let numkeys_error = || Error::msg("ERR numkeys should be greater than 0");
    let numkeys = parse_i64(argv[at]).map_err(|_| numkeys_error())?;
    let numkeys = usize::try_from(numkeys).ok().filter(|&n| n > 0).ok_or_else(numkeys_error)?;
    let where_at = numkeys.checked_add(at + 1).filter(|&i| i < argv.len()).ok_or(Error::Syntax)?;
    let mut count = None;
    let mut args = Args::new(argv, where_at + 1);
    while let Some(arg) = args.next() {
        if !is(arg, "count") || count.is_some() {
            return Err(Error::Syntax);
        }
        let n = parse_i64(args.value()?).ok().filter(|&n| n > 0);
        count = Some(n.ok_or(Error::msg("ERR count should be greater than 0"))?);
    }
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((&argv[at + 1..where_at], argv[where_at], count))
}

/// The arguments of `SSCAN`/`HSCAN`/`ZSCAN key cursor [MATCH pattern] [COUNT count]`, and
/// HSCAN's `[NOVALUES]` when `novalues_allowed`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CollectionScan<'a> {
    pub(crate) cursor: u64,
    pub(crate) pattern: Option<&'a [u8]>,
    pub(crate) count: usize,
    pub(crate) novalues: bool,
}

/// Parses a collection scan from `argv[2]` (the cursor) on; COUNT below 1 and unknown
/// options are syntax errors, as in Redis.
pub(crate) fn collection_scan<'a>(
    argv: &'a [&'a [u8]],
    novalues_allowed: bool,
) -> Result<CollectionScan<'a>> {
    let mut scan = CollectionScan {
        cursor: super::keys::parse_cursor(argv[2])?,
        pattern: None,
        count: 10,
        novalues: false,
    };
    let mut args = Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if is(arg, "match") {
            scan.pattern = Some(args.value()?);
        } else if is(arg, "count") {
            let n = args.int()?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            scan.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if novalues_allowed && is(arg, "novalues") {
            scan.novalues = true;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(scan)
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

    #[test]
    fn error_texts_quote_arguments_as_redis() {
        assert_eq!(c_str(b"ab\0cd"), "ab");
        assert_eq!(c_str(b"abc"), "abc");
        let err = error_quoting("ERR Unsupported option a\r\nb\r\n");
        assert_eq!(err.to_string(), "ERR Unsupported option a  b");
    }

    #[test]
    fn db_index_outside_i32_is_a_range_error_as_in_redis() {
        let range = "ERR value is out of range, value must between -2147483648 and 2147483647";
        assert_eq!(db_index(b"2147483648", 16).unwrap_err().to_string(), range);
        assert_eq!(db_index(b"-2147483649", 16).unwrap_err().to_string(), range);
        assert_eq!(db_index(b"2147483647", 16), Err(Error::DbIndexOutOfRange));
        assert_eq!(int32(b"-2147483648"), Ok(i32::MIN));
    }
}
