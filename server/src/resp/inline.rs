//! Redis's `sdssplitargs`: splitting an inline command or a configuration line into arguments.
//!
//! The rules, exactly as Redis applies them:
//! - Arguments are separated by blanks (C `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`); an
//!   unquoted argument ends at a space, `\t`, `\n`, `\r` or the end of the line.
//! - `"double quotes"` understand `\n \r \t \b \a`, `\xHH` (two hex digits) and `\<any>` for
//!   the character itself (so `\\` and `\"`).
//! - `'single quotes'` understand only `\'`.
//! - A quote may open in the middle of an argument (`a"b c"` is `ab c`), but a closing quote
//!   must be followed by a blank or the end of the line; that and a quote left open are both
//!   "unbalanced quotes".
//! - The line is a C string to Redis: a NUL byte ends it. Callers pass the line already cut at
//!   its first NUL ([`split_args`] does so itself).

use super::parse::ArgSpan;

/// A quote was left open, or a closing quote was followed by something other than a blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unbalanced quotes")]
pub struct UnbalancedQuotes;

/// Splits `line` into owned arguments with Redis's quoting rules (see the module docs).
///
/// Used for configuration files; the request parser uses the allocation-reusing form.
///
/// ```
/// use memora_server::resp::split_args;
///
/// let args = split_args(br#"set "a b" 'it\'s' "\x41\n""#).unwrap();
/// assert_eq!(args, vec![b"set".to_vec(), b"a b".to_vec(), b"it's".to_vec(), b"A\n".to_vec()]);
/// assert!(split_args(b"echo \"open").is_err());
/// ```
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let line = until_nul(line);
    let mut scratch = Vec::with_capacity(line.len());
    let mut spans = Vec::new();
    split_into(line, &mut scratch, &mut spans)?;
    Ok(spans.iter().map(|span| scratch[span.start..span.end].to_vec()).collect())
}

/// The part of `line` before its first NUL byte, where a C string would end.
pub(crate) fn until_nul(line: &[u8]) -> &[u8] {
    match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    }
}

/// Splits `line` (which must hold no NUL byte) into arguments appended to `scratch`, pushing
/// one span of `scratch` per argument onto `spans`.
pub(crate) fn split_into(
    line: &[u8],
    scratch: &mut Vec<u8>,
    spans: &mut Vec<ArgSpan>,
) -> Result<(), UnbalancedQuotes> {
    let mut pos = 0;
    loop {
        while pos < line.len() && is_space(line[pos]) {
            pos += 1;
        }
        if pos >= line.len() {
            return Ok(());
        }
        let start = scratch.len();
        pos = token(line, pos, scratch)?;
        spans.push(ArgSpan { start, end: scratch.len() });
    }
}

/// Reads one argument starting at `pos` into `out`; returns the position after it.
fn token(line: &[u8], mut pos: usize, out: &mut Vec<u8>) -> Result<usize, UnbalancedQuotes> {
    // Past the end reads as NUL, as in the C original.
    let at = |index: usize| line.get(index).copied().unwrap_or(0);
    let mut quote: Option<u8> = None;
    loop {
        let byte = at(pos);
        let mut done = false;
        match quote {
            Some(b'"') => {
                if byte == b'\\' && at(pos + 1) == b'x' && is_hex(at(pos + 2)) && is_hex(at(pos + 3)) {
                    out.push(hex_value(at(pos + 2)) * 16 + hex_value(at(pos + 3)));
                    pos += 3;
                } else if byte == b'\\' && at(pos + 1) != 0 {
                    pos += 1;
                    out.push(unescape(at(pos)));
                } else if byte == b'"' {
                    done = closes_quote(at(pos + 1))?;
                } else if byte == 0 {
                    return Err(UnbalancedQuotes);
                } else {
                    out.push(byte);
                }
            }
            Some(_) => {
                if byte == b'\\' && at(pos + 1) == b'\'' {
                    pos += 1;
                    out.push(b'\'');
                } else if byte == b'\'' {
                    done = closes_quote(at(pos + 1))?;
                } else if byte == 0 {
                    return Err(UnbalancedQuotes);
                } else {
                    out.push(byte);
                }
            }
            None => match byte {
                b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                b'"' | b'\'' => quote = Some(byte),
                _ => out.push(byte),
            },
        }
        if at(pos) != 0 {
            pos += 1;
        }
        if done {
            return Ok(pos);
        }
    }
}

/// A closing quote must be followed by a blank or the end of the line.
fn closes_quote(next: u8) -> Result<bool, UnbalancedQuotes> {
    if next != 0 && !is_space(next) { Err(UnbalancedQuotes) } else { Ok(true) }
}

/// C `isspace` in the "C" locale.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(byte: u8) -> bool {
    byte.is_ascii_hexdigit()
}

fn hex_value(byte: u8) -> u8 {
    match byte {
        b'0'..=b'9' => byte - b'0',
        b'a'..=b'f' => byte - b'a' + 10,
        b'A'..=b'F' => byte - b'A' + 10,
        _ => 0,
    }
}

/// The character a backslash escape inside double quotes stands for.
fn unescape(byte: u8) -> u8 {
    match byte {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
        split_args(line)
    }

    fn words(items: &[&[u8]]) -> Vec<Vec<u8>> {
        items.iter().map(|item| item.to_vec()).collect()
    }

    #[test]
    fn splits_on_blanks() {
        assert_eq!(split(b"  set  a\tb \x0bc  ").unwrap(), words(&[b"set", b"a", b"b", b"c"]));
        assert_eq!(split(b"").unwrap(), words(&[]));
        assert_eq!(split(b" \t ").unwrap(), words(&[]));
        // \v and \f are blanks between arguments but not terminators inside one.
        assert_eq!(split(b"a\x0bb").unwrap(), words(&[b"a\x0bb"]));
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(split(br#""\n\r\t\b\a\\\"\q""#).unwrap(), words(&[b"\n\r\t\x08\x07\\\"q"]));
        assert_eq!(split(br#""\x41\x7a\xFF""#).unwrap(), words(&[b"Az\xff"]));
        // An incomplete \x escape is an escaped 'x' followed by the rest.
        assert_eq!(split(br#""\x4""#).unwrap(), words(&[b"x4"]));
        assert_eq!(split(br#""\xZZ""#).unwrap(), words(&[b"xZZ"]));
        assert_eq!(split(br#""" x"#).unwrap(), words(&[b"", b"x"]));
    }

    #[test]
    fn single_quotes_only_escape_quote() {
        assert_eq!(split(br"'a\'b\n'").unwrap(), words(&[b"a'b\\n"]));
        assert_eq!(split(br#"'say "hi"'"#).unwrap(), words(&[b"say \"hi\""]));
    }

    #[test]
    fn quote_opening_mid_argument() {
        assert_eq!(split(br#"a"b c" d"#).unwrap(), words(&[b"ab c", b"d"]));
        assert_eq!(split(br"x'y z'").unwrap(), words(&[b"xy z"]));
    }

    #[test]
    fn unbalanced() {
        assert_eq!(split(br#""abc"#), Err(UnbalancedQuotes));
        assert_eq!(split(br"'abc"), Err(UnbalancedQuotes));
        assert_eq!(split(br#""a"b"#), Err(UnbalancedQuotes));
        assert_eq!(split(br"'a'b"), Err(UnbalancedQuotes));
        assert_eq!(split(br#""abc\"#), Err(UnbalancedQuotes));
        assert_eq!(split(b"\"a\"\x0bb").unwrap(), words(&[b"a", b"b"]));
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(split(b"get a\0b c").unwrap(), words(&[b"get", b"a"]));
        assert_eq!(split(b"get \"a\0b\""), Err(UnbalancedQuotes));
    }
}
