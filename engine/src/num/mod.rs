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

/// Is `text` (a float literal Rust parsed) free of a mantissa digit other than zero? Used to
/// tell a literal zero from an underflow.
fn mantissa_is_zero(text: &str) -> bool {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    !mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// Parses a float as Rust does, plus C's hexadecimal form (`0x1p3`, `-0x10`), which `strtod`
/// accepts and Rust does not.
fn parse_c_float(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) else {
        return text.parse().ok();
    };
    let (mantissa, exponent) = match hex.find(['p', 'P']) {
        Some(at) => (&hex[..at], hex[at + 1..].parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in whole.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in fraction.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let value = value * 2f64.powi(exponent);
    Some(if negative { -value } else { value })
}

/// Parses a float argument as Redis's `getDoubleFromObject` does (`strtod` over the whole
/// string): no leading space, `inf`/`-inf`/`infinity` accepted, NaN, overflow to infinity and
/// underflow to zero refused. `None` when invalid.
pub(crate) fn parse_f64_strict(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace() || c == '\x0b') {
        return None;
    }
    let value = parse_c_float(text)?;
    if value.is_nan() {
        return None;
    }
    if value.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return None;
    }
    if value == 0.0 && !mantissa_is_zero(text) {
        return None;
    }
    Some(value)
}

/// Parses a range endpoint as Redis's `zslParseRange` reads it with `strtod`: leading spaces
/// allowed, the empty string is 0, overflow gives an infinity, NaN is refused.
pub(crate) fn parse_f64_range(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() {
        return Some(0.0);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let value = parse_c_float(trimmed)?;
    (!value.is_nan()).then_some(value)
}

/// A double as Redis 7.2+ prints it in text (`d2string`, `fpconv_dtoa`): `inf`, `-inf`, `nan`,
/// integers within ±2^62 without a point, otherwise the shortest round-trip digits, plain for
/// moderate exponents (`0.1`, `0.0001`) and scientific beyond (`1e+300`, `2.5e-7`).
pub(crate) fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if (-LIMIT..=LIMIT).contains(&value) && (value as i64) as f64 == value {
        return (value as i64).to_string();
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let count = digits.len() as i32;
    // fpconv's K: the power of ten of the last digit.
    let k = exponent - (count - 1);
    let mut out = String::with_capacity(32);
    if value < 0.0 {
        out.push('-');
    }
    if k >= 0 && exponent.abs() < count + 7 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', k as usize));
    } else if k < 0 && (k > -7 || exponent.abs() < 4) {
        let offset = count + k;
        if offset <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-offset) as usize));
            out.push_str(&digits);
        } else {
            let (whole, fraction) = digits.split_at(offset as usize);
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        out.push_str(&exponent.abs().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn floats_parse_as_redis() {
        for (text, value) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("+inf", f64::INFINITY),
            ("1e3", 1000.0),
            ("0", 0.0),
            ("-0.0", 0.0),
            ("0e10", 0.0),
            (".5", 0.5),
            ("0x10", 16.0),
            ("-0x1p3", -8.0),
            ("0x.8", 0.5),
        ] {
            assert_eq!(parse_f64_strict(text.as_bytes()), Some(value), "{text}");
        }
        for bad in ["", " 1", "1 ", "nan", "x", "1e400", "1e-400", "-nan", "1.2.3"] {
            assert_eq!(parse_f64_strict(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse_f64_range(b""), Some(0.0));
        assert_eq!(parse_f64_range(b" 2"), Some(2.0));
        assert_eq!(parse_f64_range(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_f64_range(b"nan"), None);
        assert_eq!(parse_f64_range(b"2 "), None);
    }

    #[test]
    fn doubles_print_as_redis_7_2() {
        for (value, text) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (1e300, "1e+300"),
            (-2.5e-7, "-2.5e-7"),
            (0.0001, "0.0001"),
            (1e21, "1e+21"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
            (-0.0, "-0"),
        ] {
            assert_eq!(format_double(value), text, "{value}");
        }
    }

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
