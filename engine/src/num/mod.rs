//! Number parsing with Redis's strictness, and x87 long double arithmetic for INCRBYFLOAT.

pub(crate) mod ldouble;

use crate::error::{Error, Result};

/// Parses `bytes` as a 64-bit signed integer in canonical form, as Redis's `string2ll` does:
/// optional `-`, no `+`, no leading zeros (except `0` itself), no `-0`, no spaces, at most 20
/// characters. Exactly the strings whose value prints back to the same bytes.
pub(crate) fn canonical_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    // Accumulate as a negative number so that i64::MIN parses without overflow.
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(digit - b'0'))?;
    }
    if negative { Some(value) } else { value.checked_neg() }
}

/// Parses an integer argument; Redis's `ERR value is not an integer or out of range` otherwise.
pub(crate) fn parse_i64(bytes: &[u8]) -> Result<i64> {
    canonical_i64(bytes).ok_or(Error::NotInteger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_canonical_integers() {
        for ok in ["0", "1", "-1", "9223372036854775807", "-9223372036854775808", "10"] {
            assert_eq!(canonical_i64(ok.as_bytes()).map(|n| n.to_string()), Some(ok.to_string()));
        }
        for bad in [
            "",
            "-",
            "+1",
            "01",
            "-0",
            " 1",
            "1 ",
            "1.0",
            "9223372036854775808",
            "-9223372036854775809",
            "abc",
            "1e3",
            "00",
            "123456789012345678901",
        ] {
            assert_eq!(canonical_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_error_is_not_integer() {
        assert_eq!(parse_i64(b"x"), Err(Error::NotInteger));
        assert_eq!(parse_i64(b"-12"), Ok(-12));
    }
}
