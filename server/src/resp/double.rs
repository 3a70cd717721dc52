//! Redis 7.2+'s text for a double (`d2string` + `fpconv_dtoa`), without allocating.

use std::fmt::Write as _;

/// Room for the longest text: a sign, 17 digits, a point, `e-308`, with margin.
const CAPACITY: usize = 40;

/// A double rendered as Redis 7.2+ renders it in replies, held on the stack.
///
/// - NaN is `nan`, the infinities `inf` and `-inf`, zero `0` or `-0`;
/// - an integral value within ±2^62 is printed as an integer (`1`, not `1.0`);
/// - anything else gets the shortest digits that read back as the same double, laid out as
///   `fpconv_dtoa` does: plain when the exponent is small (`1.5`, `0.0001`,
///   `12345678901234567000`), otherwise scientific with a signed exponent (`1e+300`, `1.5e-7`).
///
/// ```
/// use memora_server::resp::DoubleText;
///
/// assert_eq!(DoubleText::new(1.0).as_str(), "1");
/// assert_eq!(DoubleText::new(1.5).as_str(), "1.5");
/// assert_eq!(DoubleText::new(1e300).as_str(), "1e+300");
/// assert_eq!(DoubleText::new(f64::NEG_INFINITY).as_str(), "-inf");
/// ```
#[derive(Clone, Copy)]
pub struct DoubleText {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl DoubleText {
    /// Renders `value`.
    pub fn new(value: f64) -> DoubleText {
        let mut text = DoubleText { bytes: [0; CAPACITY], len: 0 };
        if value.is_nan() {
            text.push(b"nan");
        } else if value.is_infinite() {
            text.push(if value < 0.0 { b"-inf" } else { b"inf" });
        } else if value == 0.0 {
            text.push(if value.is_sign_negative() { b"-0" } else { b"0" });
        } else if let Some(integer) = as_exact_integer(value) {
            text.push(itoa::Buffer::new().format(integer).as_bytes());
        } else {
            text.shortest(value);
        }
        text
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        std::str::from_utf8(self.as_bytes()).unwrap_or("nan")
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(CAPACITY);
        let count = end - self.len;
        self.bytes[self.len..end].copy_from_slice(&bytes[..count]);
        self.len = end;
    }

    fn push_zeros(&mut self, count: usize) {
        for _ in 0..count {
            self.push(b"0");
        }
    }

    /// The shortest round-trip digits of a finite, non-zero `value`, laid out as
    /// `fpconv_dtoa`'s `emit_digits`.
    fn shortest(&mut self, value: f64) {
        if value < 0.0 {
            self.push(b"-");
        }
        let mut scientific = Scratch::default();
        // Rust's `{:e}` yields the shortest digits that round-trip: "1.2345e-7", "5e300".
        let _ = write!(scientific, "{:e}", value.abs());
        let (digits, exponent) = scientific.split();
        let count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        // fpconv's K: the power of ten of the last digit.
        let k = exponent - (count - 1);
        let exp = exponent.unsigned_abs() as i32;
        if k >= 0 && exp < count + 7 {
            self.push(digits);
            self.push_zeros(k.unsigned_abs() as usize);
        } else if k < 0 && (k > -7 || exp < 4) {
            self.fixed(digits, k);
        } else {
            self.exponential(digits, exponent);
        }
    }

    /// Digits with a decimal point, `k` (negative) being the last digit's power of ten.
    fn fixed(&mut self, digits: &[u8], k: i32) {
        let offset = digits.len() as i64 - i64::from(k.unsigned_abs());
        if offset <= 0 {
            self.push(b"0.");
            self.push_zeros(offset.unsigned_abs() as usize);
            self.push(digits);
        } else {
            let (whole, fraction) = digits.split_at(offset as usize);
            self.push(whole);
            self.push(b".");
            self.push(fraction);
        }
    }

    /// `d.ddde+X` / `d.ddde-X`.
    fn exponential(&mut self, digits: &[u8], exponent: i32) {
        let (first, rest) = digits.split_at(1);
        self.push(first);
        if !rest.is_empty() {
            self.push(b".");
            self.push(rest);
        }
        self.push(if exponent < 0 { b"e-" } else { b"e+" });
        self.push(itoa::Buffer::new().format(exponent.unsigned_abs()).as_bytes());
    }
}

impl std::fmt::Debug for DoubleText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DoubleText").field(&self.as_str()).finish()
    }
}

/// `value` as an `i64` when it is integral and within ±(2^63-1)/2, where Redis's `double2ll`
/// takes the integer path.
fn as_exact_integer(value: f64) -> Option<i64> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if !(-LIMIT..=LIMIT).contains(&value) {
        return None;
    }
    let integer = value as i64;
    (integer as f64 == value).then_some(integer)
}

/// A stack buffer for the `{:e}` rendering, split into digits and exponent.
struct Scratch {
    bytes: [u8; CAPACITY],
    len: usize,
    /// Digits without the decimal point.
    digits: [u8; CAPACITY],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { bytes: [0; CAPACITY], len: 0, digits: [0; CAPACITY] }
    }
}

impl std::fmt::Write for Scratch {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let target = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        target.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Scratch {
    /// Splits `d.ddd e X` into the digits `dddd` and the exponent `X`.
    fn split(&mut self) -> (&[u8], i32) {
        let text = &self.bytes[..self.len];
        let e = memchr::memchr(b'e', text).unwrap_or(text.len());
        let exponent = std::str::from_utf8(&text[(e + 1).min(text.len())..])
            .ok()
            .and_then(|exp| exp.parse().ok())
            .unwrap_or(0);
        let mut count = 0;
        for &byte in text[..e].iter().filter(|byte| byte.is_ascii_digit()) {
            self.digits[count] = byte;
            count += 1;
        }
        (&self.digits[..count], exponent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: f64) -> String {
        DoubleText::new(value).as_str().to_owned()
    }

    #[test]
    fn special_values() {
        assert_eq!(text(f64::NAN), "nan");
        assert_eq!(text(-f64::NAN), "nan");
        assert_eq!(text(f64::INFINITY), "inf");
        assert_eq!(text(f64::NEG_INFINITY), "-inf");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "-0");
    }

    #[test]
    fn integers_have_no_fraction() {
        assert_eq!(text(1.0), "1");
        assert_eq!(text(-42.0), "-42");
        assert_eq!(text(1e15), "1000000000000000");
        assert_eq!(text(4611686018427387904.0), "4611686018427387904");
        // Past 2^62 Redis leaves the integer path for fpconv.
        assert_eq!(text(1e19), "1e+19");
        assert_eq!(text(12345678901234567890.0), "12345678901234567000");
    }

    #[test]
    fn fractions() {
        assert_eq!(text(1.5), "1.5");
        assert_eq!(text(-2.5), "-2.5");
        assert_eq!(text(0.1), "0.1");
        assert_eq!(text(2.75), "2.75");
        assert_eq!(text(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(text(0.0001), "0.0001");
        assert_eq!(text(123456789.5), "123456789.5");
        assert_eq!(text(1.2345678), "1.2345678");
    }

    #[test]
    fn exponents() {
        assert_eq!(text(1e300), "1e+300");
        assert_eq!(text(-1e300), "-1e+300");
        assert_eq!(text(1.5e-7), "1.5e-7");
        assert_eq!(text(1e-7), "1e-7");
        assert_eq!(text(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(text(5e-324), "5e-324");
        assert_eq!(text(1.25e100), "1.25e+100");
    }

    #[test]
    fn round_trips() {
        for value in [0.1, 1.0 / 3.0, 2.0f64.sqrt(), 1e-7, 6.02214076e23, -9.87654321e-100, 1e22] {
            assert_eq!(text(value).parse::<f64>().ok(), Some(value), "{value}");
        }
    }
}
