//! x87 80-bit extended precision (`long double`) arithmetic for `INCRBYFLOAT` and `HINCRBYFLOAT`.
//!
//! Redis on x86_64 Linux parses both operands with glibc's `strtold`, adds them in `long double`
//! (64-bit mantissa with an explicit integer bit, 15-bit exponent, round to nearest even) and
//! prints the sum with `snprintf("%.17Lf")`, trimming trailing zeros. This module reproduces each
//! step bit for bit without C: parsing and printing use exact big-integer arithmetic with
//! round-half-to-even, as glibc does in the default rounding mode.
//!
//! One glibc quirk is reproduced on purpose: for hexadecimal input whose value falls in the
//! subnormal range, glibc's `round_and_return` forgets the 65th significant bit when it
//! denormalizes, so `0x1.0000000000000001p-16446` (just above half the smallest subnormal) becomes
//! zero, which Redis then rejects as an underflow. Decimal input never reaches that path with a
//! different outcome, because no decimal string short enough for Redis is a dyadic subnormal.

use std::cmp::Ordering;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` rejects inputs of this length or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Biased exponent of infinities and NaNs.
const EXP_SPECIAL: u16 = 0x7fff;
/// A finite value is `mantissa * 2^(max(exponent, 1) - LSB_BIAS)`: the exponent bias (16383)
/// plus the 63 fraction bits.
const LSB_BIAS: i64 = 16383 + 63;
/// Weight (as a power of two) of the last mantissa bit of subnormals and of the smallest normals.
const MIN_LSB: i64 = 1 - LSB_BIAS;
/// The explicit integer bit, set in the mantissa of every normal number and infinity.
const INTEGER_BIT: u64 = 1 << 63;
/// Digits printed after the decimal point by `%.17Lf`.
const FRACTION_DIGITS: usize = 17;
/// `10^FRACTION_DIGITS`.
const FRACTION_SCALE: u128 = 100_000_000_000_000_000;
/// Width of the scaled significand the parser hands to [`LongDouble::round`]: the eight bits
/// beyond the 64 kept leave room for an inexact remainder folded into the lowest bit.
const PARSE_BITS: i64 = 72;
/// Bits of quotient [`Big::div_small`] produces; a parsed significand has at most 73.
const QUOTIENT_BITS: u64 = 74;
/// Cap on the magnitude of a parsed exponent: far past any finite nonzero result, and small
/// enough that exponent arithmetic never overflows an `i64`.
const EXPONENT_CAP: i64 = 1 << 40;
/// A decimal whose digits span `[10^(order-1), 10^order)` overflows for sure above this order
/// (`10^4934` exceeds the largest finite value, about `1.19e4932`).
const MAX_DECIMAL_ORDER: i64 = 4934;
/// ... and rounds to zero for sure below this one (`10^-4953` is under half the smallest
/// subnormal, about `1.8e-4951`).
const MIN_DECIMAL_ORDER: i64 = -4953;
/// A hexadecimal value in `[2^(order-1), 2^order)` overflows for sure above this order.
const MAX_BINARY_ORDER: i64 = 16390;
/// ... and rounds to zero for sure below this one.
const MIN_BINARY_ORDER: i64 = -16460;
/// Below this binary order (`floor(log2) + 1`) a value lies in the subnormal range, where
/// glibc's hexadecimal path drops the 65th significant bit (see the module docs).
const NORMAL_BINARY_ORDER: i64 = MIN_LSB + 64;

/// An x87 extended-precision value, stored in the hardware's layout: sign, 15-bit biased exponent
/// and 64-bit mantissa with an explicit integer bit. Equality is bitwise (`-0 != 0`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LongDouble {
    /// The sign bit.
    negative: bool,
    /// Biased exponent (bias 16383): 0 for zeros and subnormals, `0x7fff` for infinities and NaNs.
    exponent: u16,
    /// The significand, integer bit included.
    mantissa: u64,
}

/// What a [`LongDouble`] holds, with finite nonzero values unpacked.
enum Class {
    /// Not a number.
    Nan,
    /// Positive or negative infinity.
    Infinite,
    /// Positive or negative zero.
    Zero,
    /// `mantissa * 2^lsb`, nonzero.
    Finite {
        /// The significand as an integer.
        mantissa: u64,
        /// Power of two of the significand's last bit.
        lsb: i64,
    },
}

impl LongDouble {
    /// x87's default NaN (the "real indefinite"), what an invalid addition such as
    /// `inf + -inf` produces.
    const NAN: Self = Self { negative: true, exponent: EXP_SPECIAL, mantissa: 0xC000_0000_0000_0000 };

    /// Zero with the given sign.
    const fn zero(negative: bool) -> Self {
        Self { negative, exponent: 0, mantissa: 0 }
    }

    /// Infinity with the given sign.
    const fn infinity(negative: bool) -> Self {
        Self { negative, exponent: EXP_SPECIAL, mantissa: INTEGER_BIT }
    }

    /// Parses like Redis's `string2ld`: the whole slice must be one number as `strtold` reads it
    /// (decimal, `0x` hexadecimal, `inf` or `infinity` in any case, with an optional sign),
    /// without surrounding spaces and shorter than 5120 bytes. Returns `None` for anything else,
    /// for NaN, and for values that overflow or underflow to zero (`strtold`'s `ERANGE`); an
    /// explicit infinity is accepted.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (negative, body) = match bytes {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            _ => (false, bytes),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Self::infinity(negative));
        }
        match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(negative, hex),
            _ => parse_decimal(negative, body),
        }
    }

    /// Converts an integer exactly, as C's `(long double)` cast does.
    pub(crate) fn from_i64(n: i64) -> Self {
        let magnitude = n.unsigned_abs();
        if magnitude == 0 {
            return Self::zero(false);
        }
        let shift = magnitude.leading_zeros();
        Self::encode(n < 0, magnitude << shift, -i64::from(shift))
    }

    /// Adds as the x87 FPU does: exact sum rounded to nearest even at 64 bits, with gradual
    /// underflow, `x + -x == +0`, and NaN for `inf + -inf`.
    pub(crate) fn add(self, other: Self) -> Self {
        match (self.class(), other.class()) {
            (Class::Nan, _) | (_, Class::Nan) => Self::NAN,
            (Class::Infinite, Class::Infinite) if self.negative != other.negative => Self::NAN,
            (Class::Infinite, _) => self,
            (_, Class::Infinite) => other,
            (Class::Zero, Class::Zero) => Self::zero(self.negative && other.negative),
            (Class::Zero, _) => other,
            (_, Class::Zero) => self,
            (Class::Finite { mantissa: ma, lsb: la }, Class::Finite { mantissa: mb, lsb: lb }) => {
                let a = Term { negative: self.negative, mantissa: ma, lsb: la };
                let b = Term { negative: other.negative, mantissa: mb, lsb: lb };
                add_terms(a, b)
            }
        }
    }

    /// Whether the value is neither infinite nor NaN.
    pub(crate) fn is_finite(self) -> bool {
        self.exponent != EXP_SPECIAL
    }

    /// Appends what Redis's `ld2string(..., LD_STR_HUMAN)` writes for a finite value: `%.17Lf`
    /// (the exact value rounded half to even at 17 fractional digits, as glibc prints it), with
    /// trailing zeros and a trailing `.` removed and `-0` written as `0`; returns `true`.
    ///
    /// Returns `false` and appends nothing for infinities and NaN, which `INCRBYFLOAT` and
    /// `HINCRBYFLOAT` reject before formatting ("increment would produce NaN or Infinity"). A
    /// finite value always fits: the longest result is `-` plus the 4933 digits of the largest
    /// integer (values with fractional digits are below 2^64), 4934 bytes, within Redis's
    /// 5120-byte buffer, so `ld2string`'s "no room" failure never happens.
    pub(crate) fn format_human(self, out: &mut Vec<u8>) -> bool {
        match self.class() {
            Class::Nan | Class::Infinite => return false,
            Class::Zero => out.push(b'0'),
            Class::Finite { mantissa, lsb } if lsb >= 0 => {
                if self.negative {
                    out.push(b'-');
                }
                Big::from_u64(mantissa).shl(lsb.unsigned_abs()).write_decimal(out);
            }
            Class::Finite { mantissa, lsb } => format_fraction(self.negative, mantissa, lsb, out),
        }
        true
    }

    /// Unpacks the value.
    fn class(self) -> Class {
        if self.exponent == EXP_SPECIAL {
            if self.mantissa << 1 == 0 { Class::Infinite } else { Class::Nan }
        } else if self.mantissa == 0 {
            Class::Zero
        } else {
            Class::Finite { mantissa: self.mantissa, lsb: i64::from(self.exponent.max(1)) - LSB_BIAS }
        }
    }

    /// Packs `mantissa * 2^lsb`, already rounded: a mantissa without the integer bit must come
    /// with `lsb == MIN_LSB` (a subnormal); exponents past the top become infinity.
    fn encode(negative: bool, mantissa: u64, lsb: i64) -> Self {
        if mantissa == 0 {
            return Self::zero(negative);
        }
        if mantissa < INTEGER_BIT {
            return Self { negative, exponent: 0, mantissa };
        }
        match u16::try_from(lsb + LSB_BIAS) {
            Ok(exponent) if exponent < EXP_SPECIAL => Self { negative, exponent, mantissa },
            _ => Self::infinity(negative),
        }
    }

    /// Rounds `value * 2^lsb` to nearest even with a 64-bit mantissa, subnormals included.
    /// `value` is either exact or an odd stand-in for an inexact value strictly between
    /// `value - 1` and `value + 1`, with at least two bits below the rounding point, so that the
    /// stand-in rounds as the true value does.
    fn round(negative: bool, value: u128, lsb: i64) -> Self {
        if value == 0 {
            return Self::zero(negative);
        }
        let width = i64::from(u128::BITS - value.leading_zeros());
        let target = (lsb + width - 64).max(MIN_LSB);
        let mantissa = if target <= lsb {
            // Exact: at most 64 - width bits of left shift.
            value << shift_count(lsb - target)
        } else {
            shift_right_even(value, target - lsb)
        };
        // Rounding up may carry into a 65th bit; the mantissa is then exactly 2^64.
        match u64::try_from(mantissa) {
            Ok(mantissa) => Self::encode(negative, mantissa, target),
            Err(_) => Self::encode(negative, INTEGER_BIT, target + 1),
        }
    }

    /// The value if it is finite and nonzero: `strtold` flags `ERANGE` for overflow to infinity
    /// and underflow to zero, and Redis rejects both.
    fn in_range(self) -> Option<Self> {
        (self.is_finite() && self.mantissa != 0).then_some(self)
    }
}

/// A finite nonzero operand of an addition: `±mantissa * 2^lsb`.
#[derive(Clone, Copy)]
struct Term {
    /// The sign.
    negative: bool,
    /// The significand.
    mantissa: u64,
    /// Power of two of the significand's last bit.
    lsb: i64,
}

/// Adds two finite nonzero values with one rounding.
fn add_terms(a: Term, b: Term) -> LongDouble {
    let (big, small) = if a.lsb >= b.lsb { (a, b) } else { (b, a) };
    let gap = big.lsb - small.lsb;
    if gap < 64 {
        // Exact in 128 bits: x < 2^127 and y < 2^64.
        let x = u128::from(big.mantissa) << shift_count(gap);
        let y = u128::from(small.mantissa);
        return match (big.negative == small.negative, x.cmp(&y)) {
            (true, _) => LongDouble::round(big.negative, x + y, small.lsb),
            (false, Ordering::Equal) => LongDouble::zero(false),
            (false, Ordering::Greater) => LongDouble::round(big.negative, x - y, small.lsb),
            (false, Ordering::Less) => LongDouble::round(small.negative, y - x, small.lsb),
        };
    }
    // `big` is normal (its lsb is at least 64 above the minimum), so x >= 2^126, while the small
    // term is below one unit of x's last place. Keep it to 2^(big.lsb - 63) and fold any bits
    // shifted out into an odd stand-in; the rounding point stays more than 60 bits higher.
    let x = u128::from(big.mantissa) << 63;
    let shift = shift_count(gap - 63);
    let kept = small.mantissa.checked_shr(shift).unwrap_or(0);
    let inexact = kept.checked_shl(shift).unwrap_or(0) != small.mantissa;
    let y = u128::from(kept);
    let value = match (big.negative == small.negative, inexact) {
        (true, _) => (x + y) | u128::from(inexact),
        (false, false) => x - y,
        (false, true) => (x - y - 1) | 1,
    };
    LongDouble::round(big.negative, value, big.lsb - 63)
}

/// Converts a non-negative shift distance to a shift count, saturating far beyond any width.
fn shift_count(distance: i64) -> u32 {
    u32::try_from(distance.clamp(0, 1 << 20)).unwrap_or(u32::MAX)
}

/// `value / 2^distance` rounded to nearest, ties to even; `distance` is at least 1.
fn shift_right_even(value: u128, distance: i64) -> u128 {
    let shift = shift_count(distance);
    let Some(half) = shift.checked_sub(1).and_then(|below| 1u128.checked_shl(below)) else {
        // Either no shift at all, or half a unit is at least 2^128 > value: rounds to zero.
        return if shift == 0 { value } else { 0 };
    };
    let quotient = value.checked_shr(shift).unwrap_or(0);
    let rest = value - quotient.checked_shl(shift).unwrap_or(0);
    let round_up = rest > half || (rest == half && quotient & 1 == 1);
    quotient + u128::from(round_up)
}

/// Appends `%.17Lf` of the nonzero `±mantissa * 2^lsb` with `lsb < 0`, trimmed as Redis does.
/// Such a value is below 2^64, so it times 10^17 fits in 121 bits.
fn format_fraction(negative: bool, mantissa: u64, lsb: i64, out: &mut Vec<u8>) {
    let scaled = shift_right_even(u128::from(mantissa) * FRACTION_SCALE, -lsb);
    if scaled == 0 {
        // Redis turns "-0" into "0".
        out.push(b'0');
        return;
    }
    if negative {
        out.push(b'-');
    }
    let text = format!("{scaled:0width$}", width = FRACTION_DIGITS + 1);
    let (integer, fraction) = text.as_bytes().split_at(text.len() - FRACTION_DIGITS);
    out.extend_from_slice(integer);
    let kept = fraction.iter().rposition(|&digit| digit != b'0').map_or(0, |last| last + 1);
    if kept > 0 {
        out.push(b'.');
        out.extend_from_slice(&fraction[..kept]);
    }
}

/// Splits `text` after its longest prefix of bytes satisfying `accept`.
fn split_while(text: &[u8], accept: impl Fn(&u8) -> bool) -> (&[u8], &[u8]) {
    let end = text.iter().position(|byte| !accept(byte)).unwrap_or(text.len());
    text.split_at(end)
}

/// The digits of a number as `strtold` scans them: integer digits, optional point, fraction
/// digits (at least one digit in all), then an optional exponent introduced by `marker`.
struct Scanned<'a> {
    /// Digits before the point.
    integer: &'a [u8],
    /// Digits after the point.
    fraction: &'a [u8],
    /// The explicit exponent, saturated at [`EXPONENT_CAP`].
    exponent: i64,
}

/// Scans `text` completely as digits accepted by `is_digit`, with an exponent after `marker`
/// (`e` or `p`, either case). `None` if anything is left over, as `strtold` would stop early.
fn scan(text: &[u8], is_digit: fn(&u8) -> bool, marker: u8) -> Option<Scanned<'_>> {
    let (integer, rest) = split_while(text, is_digit);
    let (fraction, rest) = match rest {
        [b'.', tail @ ..] => split_while(tail, is_digit),
        _ => (&rest[..0], rest),
    };
    if integer.is_empty() && fraction.is_empty() {
        return None;
    }
    let exponent = match rest {
        [] => 0,
        [first, tail @ ..] if first.eq_ignore_ascii_case(&marker) => scan_exponent(tail)?,
        _ => return None,
    };
    Some(Scanned { integer, fraction, exponent })
}

/// Reads `[+-]digits` to the end of `text`, saturating at [`EXPONENT_CAP`].
fn scan_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude =
        digits.iter().fold(0i64, |acc, &digit| (acc * 10 + i64::from(digit - b'0')).min(EXPONENT_CAP));
    Some(if negative { -magnitude } else { magnitude })
}

/// Significant digits of a scanned number, leading and trailing zeros removed, and the exponent
/// adjustment (in digits) that the removed trailing zeros and the fraction length imply.
fn significant_digits(scanned: &Scanned<'_>) -> (Vec<u8>, i64) {
    let mut digits: Vec<u8> =
        scanned.integer.iter().chain(scanned.fraction).copied().skip_while(|&digit| digit == b'0').collect();
    let mut shift = -i64::try_from(scanned.fraction.len()).unwrap_or(EXPONENT_CAP);
    while digits.last() == Some(&b'0') {
        digits.pop();
        shift += 1;
    }
    (digits, shift)
}

/// Parses the unsigned decimal part of a `strtold` number.
fn parse_decimal(negative: bool, text: &[u8]) -> Option<LongDouble> {
    let scanned = scan(text, u8::is_ascii_digit, b'e')?;
    let (digits, shift) = significant_digits(&scanned);
    if digits.is_empty() {
        return Some(LongDouble::zero(negative));
    }
    let exponent = scanned.exponent + shift;
    let order = i64::try_from(digits.len()).unwrap_or(EXPONENT_CAP) + exponent;
    if !(MIN_DECIMAL_ORDER..=MAX_DECIMAL_ORDER).contains(&order) {
        return None;
    }
    let mut numerator = Big::from_digits(&digits, 10);
    let mut denominator = Big::from_u64(1);
    if exponent >= 0 {
        numerator.mul_pow10(exponent.unsigned_abs());
    } else {
        denominator.mul_pow10(exponent.unsigned_abs());
    }
    // numerator / denominator lies in (2^(bits difference - 1), 2^(bits difference + 1)), so a
    // last bit of weight 2^lsb gives a quotient of 72 or 73 bits.
    let lsb = numerator.bits() - denominator.bits() - PARSE_BITS;
    let numerator = numerator.shl((-lsb).max(0).unsigned_abs());
    let denominator = denominator.shl(lsb.max(0).unsigned_abs());
    let (quotient, inexact) = numerator.div_small(&denominator);
    LongDouble::round(negative, quotient | u128::from(inexact), lsb).in_range()
}

/// Parses the digits after `0x` of a hexadecimal `strtold` number.
fn parse_hex(negative: bool, text: &[u8]) -> Option<LongDouble> {
    let scanned = scan(text, u8::is_ascii_hexdigit, b'p')?;
    let (digits, shift) = significant_digits(&scanned);
    if digits.is_empty() {
        return Some(LongDouble::zero(negative));
    }
    let exponent = scanned.exponent + 4 * shift;
    let significand = Big::from_digits(&digits, 16);
    let order = significand.bits() + exponent;
    if !(MIN_BINARY_ORDER..=MAX_BINARY_ORDER).contains(&order) {
        return None;
    }
    // Keep exactly 72 significant bits, the rest folded into an odd stand-in.
    let lsb = significand.bits() - PARSE_BITS;
    let widened = significand.shl((-lsb).max(0).unsigned_abs());
    let (mut top, inexact) = widened.shr_to_u128(lsb.max(0).unsigned_abs());
    if order < NORMAL_BINARY_ORDER {
        // glibc's denormalization loses the 65th significant bit (bit 7 of the 72).
        top &= !(1 << (PARSE_BITS - 65));
    }
    LongDouble::round(negative, top | u128::from(inexact), lsb + exponent).in_range()
}

/// A non-negative big integer: little-endian 32-bit limbs without high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big {
    /// The limbs, least significant first.
    limbs: Vec<u32>,
}

impl Big {
    /// The value `value`.
    fn from_u64(value: u64) -> Self {
        let mut big = Self { limbs: vec![value as u32, (value >> 32) as u32] };
        big.normalize();
        big
    }

    /// The value of ASCII `digits` in `radix` (10 or 16); the digits are already validated.
    fn from_digits(digits: &[u8], radix: u32) -> Self {
        // Chunks whose value fits a limb: 10^9 and 16^7 are below 2^32.
        let chunk = if radix == 10 { 9 } else { 7 };
        let mut big = Self { limbs: Vec::with_capacity(digits.len() / 2 + 1) };
        for part in digits.chunks(chunk) {
            let (value, scale) = part.iter().fold((0u32, 1u32), |(value, scale), &digit| {
                (value * radix + char::from(digit).to_digit(radix).unwrap_or(0), scale * radix)
            });
            big.mul_add(scale, value);
        }
        big
    }

    /// Drops high zero limbs.
    fn normalize(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    /// Whether the value is zero.
    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// Number of significant bits (0 for zero).
    fn bits(&self) -> i64 {
        let full = i64::try_from(self.limbs.len()).unwrap_or(i64::MAX / 64) * 32;
        full - self.limbs.last().map_or(0, |top| i64::from(top.leading_zeros()))
    }

    /// `self = self * factor + addend`.
    fn mul_add(&mut self, factor: u32, addend: u32) {
        let mut carry = u64::from(addend);
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// `self = self * 10^exponent`.
    fn mul_pow10(&mut self, mut exponent: u64) {
        while exponent > 0 {
            let step = exponent.min(9);
            self.mul_add(10u32.pow(step as u32), 0);
            exponent -= step;
        }
    }

    /// `self * 2^distance`.
    fn shl(&self, distance: u64) -> Self {
        if self.is_zero() {
            return self.clone();
        }
        let words = usize::try_from(distance / 32).unwrap_or(usize::MAX);
        let bits = (distance % 32) as u32;
        let mut limbs = vec![0u32; words];
        limbs.reserve(self.limbs.len() + 1);
        if bits == 0 {
            limbs.extend_from_slice(&self.limbs);
        } else {
            let mut carry = 0u32;
            for &limb in &self.limbs {
                limbs.push((limb << bits) | carry);
                carry = limb >> (32 - bits);
            }
            limbs.push(carry);
        }
        let mut big = Self { limbs };
        big.normalize();
        big
    }

    /// `self = self / 2`, rounding down.
    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.limbs.iter_mut().rev() {
            let low = *limb & 1;
            *limb = (*limb >> 1) | (carry << 31);
            carry = low;
        }
        self.normalize();
    }

    /// `self = self - other`; requires `self >= other`.
    fn sub_assign(&mut self, other: &Self) {
        let mut borrow = false;
        for (index, limb) in self.limbs.iter_mut().enumerate() {
            let (partial, under1) = limb.overflowing_sub(other.limbs.get(index).copied().unwrap_or(0));
            let (difference, under2) = partial.overflowing_sub(u32::from(borrow));
            *limb = difference;
            borrow = under1 || under2;
        }
        self.normalize();
    }

    /// `floor(self / divisor)` and whether a remainder is left; requires a quotient below
    /// `2^QUOTIENT_BITS`. Plain shift-and-subtract, as only a few dozen quotient bits are needed.
    fn div_small(&self, divisor: &Self) -> (u128, bool) {
        let mut remainder = self.clone();
        let mut step = divisor.shl(QUOTIENT_BITS - 1);
        let mut quotient = 0u128;
        for _ in 0..QUOTIENT_BITS {
            quotient <<= 1;
            if remainder >= step {
                remainder.sub_assign(&step);
                quotient |= 1;
            }
            step.shr1();
        }
        (quotient, !remainder.is_zero())
    }

    /// `floor(self / 2^distance)`, which must fit in 128 bits, and whether bits were dropped.
    fn shr_to_u128(&self, distance: u64) -> (u128, bool) {
        let start = usize::try_from(distance / 32).unwrap_or(usize::MAX);
        let bit = (distance % 32) as u32;
        let mut value = 0u128;
        for (offset, &limb) in self.limbs.iter().skip(start).take(5).enumerate() {
            let position = 32 * offset as i64 - i64::from(bit);
            if position < 0 {
                value |= u128::from(limb >> bit);
            } else if position < 128 {
                value |= u128::from(limb) << position;
            }
        }
        let below = self.limbs.iter().take(start).any(|&limb| limb != 0);
        let partial = self.limbs.get(start).is_some_and(|&limb| limb & ((1u32 << bit) - 1) != 0);
        (value, below || partial)
    }

    /// `self = self / divisor`, returning the remainder.
    fn div_rem_small(&mut self, divisor: u32) -> u32 {
        let mut remainder = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / u64::from(divisor)) as u32;
            remainder = current % u64::from(divisor);
        }
        self.normalize();
        remainder as u32
    }

    /// Appends the decimal digits of the value.
    fn write_decimal(mut self, out: &mut Vec<u8>) {
        let mut chunks = Vec::with_capacity(self.limbs.len() * 32 / 29 + 1);
        while !self.is_zero() {
            chunks.push(self.div_rem_small(1_000_000_000));
        }
        let Some((top, rest)) = chunks.split_last() else {
            out.push(b'0');
            return;
        };
        out.extend_from_slice(top.to_string().as_bytes());
        for chunk in rest.iter().rev() {
            out.extend_from_slice(format!("{chunk:09}").as_bytes());
        }
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Self) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reply of `SET k current` + `INCRBYFLOAT k increment` on Redis 7.0 (x86_64 Linux).
    fn incr(current: &str, increment: &str) -> String {
        let (Some(current), Some(increment)) =
            (LongDouble::parse(current.as_bytes()), LongDouble::parse(increment.as_bytes()))
        else {
            return "E_PARSE".to_string();
        };
        let sum = current.add(increment);
        if !sum.is_finite() {
            return "E_NANINF".to_string();
        }
        let mut out = Vec::new();
        assert!(sum.format_human(&mut out));
        String::from_utf8(out).unwrap_or_default()
    }

    /// A parse result as the vector file writes it: `R`, or `sign:exponent:mantissa`.
    fn bits(value: Option<LongDouble>) -> String {
        value.map_or_else(
            || "R".to_string(),
            |value| format!("{}:{}:{}", u8::from(value.negative), value.exponent, value.mantissa),
        )
    }

    /// Decodes the vector file's backslash escapes (`\t \n \r \v \f \0 \xHH \\`).
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = text.bytes();
        while let Some(byte) = bytes.next() {
            if byte != b'\\' {
                out.push(byte);
                continue;
            }
            match bytes.next() {
                Some(b't') => out.push(b'\t'),
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                Some(b'v') => out.push(0x0b),
                Some(b'f') => out.push(0x0c),
                Some(b'0') => out.push(0),
                Some(b'x') => {
                    let digits: Vec<u8> = bytes.by_ref().take(2).collect();
                    let text = std::str::from_utf8(&digits).unwrap_or("");
                    out.push(u8::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad escape {text:?}")));
                }
                Some(other) => out.push(other),
                None => out.push(b'\\'),
            }
        }
        out
    }

    #[test]
    fn redis_documentation_examples() {
        assert_eq!(incr("10.50", "0.1"), "10.6");
        assert_eq!(incr("10.6", "-5"), "5.6");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("3.0e3", "0"), "3000");
    }

    #[test]
    fn hand_picked_sums() {
        for (current, increment, expected) in [
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("1", "-1", "0"),
            ("-0.0", "-0", "0"),
            ("-1e-20", "0", "0"),
            ("0.000003814697265625", "0", "0.00000381469726562"),
            ("0.000011444091796875", "0", "0.00001144409179688"),
            ("18446744073709551616", "1", "18446744073709551616"),
            ("18446744073709551616", "3", "18446744073709551620"),
            ("1", "0x1p-64", "1"),
            ("0x1p3", "1", "9"),
            ("+5", "-.5", "4.5"),
            ("1.", ".5", "1.5"),
            ("1e-4940", "0", "0"),
            ("0e99999999999999999999", "1", "1"),
            ("inf", "1", "E_NANINF"),
            ("-inf", "inf", "E_NANINF"),
            ("1.18973149535723176502e4932", "1.18973149535723176502e4932", "E_NANINF"),
            ("1e5000", "1", "E_PARSE"),
            ("1e-5000", "1", "E_PARSE"),
        ] {
            assert_eq!(incr(current, increment), expected, "{current} + {increment}");
        }
    }

    #[test]
    fn parse_accepts_what_strtold_consumes_whole() {
        for text in
            ["1.", ".5", "-.5", "+5", "1e10", "1E-3", "0x1p3", "0X.8P1", "0x1.", "inf", "INF", "-Infinity"]
        {
            assert!(LongDouble::parse(text.as_bytes()).is_some(), "{text:?}");
        }
        for text in [
            "",
            "1e",
            "e5",
            "0x",
            "0x.",
            "0xp1",
            " 1",
            "1 ",
            "\t1",
            "--1",
            "+-1",
            ".",
            "-",
            "1e+",
            "nan",
            "-NaN",
            "nan(1)",
            "infinit",
            "infinityx",
            "1\0",
            "1,5",
            "1e5000",
            "1e-5000",
            "0x1p-16446",
        ] {
            assert_eq!(LongDouble::parse(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn parse_enforces_redis_length_limit() {
        let mut text = vec![b'0'; MAX_LONG_DOUBLE_CHARS - 2];
        text.push(b'1');
        assert_eq!(LongDouble::parse(&text), Some(LongDouble::from_i64(1)));
        text.insert(0, b'0');
        assert_eq!(LongDouble::parse(&text), None);
    }

    #[test]
    fn parse_reproduces_glibc_subnormal_hex_rounding() {
        // Correct rounding gives the smallest subnormal; glibc drops the 65th bit and gets zero.
        assert_eq!(LongDouble::parse(b"0x1.0000000000000001p-16446"), None);
        assert_eq!(bits(LongDouble::parse(b"0x1.00000001p-16446")), "0:0:1");
        assert_eq!(bits(LongDouble::parse(b"0x1p-16445")), "0:0:1");
    }

    #[test]
    fn from_i64_is_exact() {
        for (n, text) in [
            (0, "0"),
            (1, "1"),
            (-1, "-1"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            assert_eq!(Some(LongDouble::from_i64(n)), LongDouble::parse(text.as_bytes()));
            let mut out = Vec::new();
            assert!(LongDouble::from_i64(n).format_human(&mut out));
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn formats_zeros_but_refuses_non_finite_values() {
        for (value, text) in [(LongDouble::zero(true), "0"), (LongDouble::zero(false), "0")] {
            let mut out = Vec::new();
            assert!(value.format_human(&mut out));
            assert_eq!(out, text.as_bytes());
        }
        for value in [LongDouble::infinity(false), LongDouble::infinity(true), LongDouble::NAN] {
            let mut out = Vec::new();
            assert!(!value.format_human(&mut out));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn matches_glibc_vectors() {
        let vectors = include_str!("../../tests/data/ldouble_vectors.txt");
        let mut checked = 0;
        for line in vectors.lines().filter(|line| !line.starts_with('#') && !line.is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [current, increment, current_bits, increment_bits, reply] = fields[..] else {
                panic!("malformed vector line {line:?}");
            };
            let (current, increment) = (unescape(current), unescape(increment));
            let parsed = (LongDouble::parse(&current), LongDouble::parse(&increment));
            assert_eq!(bits(parsed.0), current_bits, "parse {current:?}");
            assert_eq!(bits(parsed.1), increment_bits, "parse {increment:?}");
            let got = match parsed {
                (Some(a), Some(b)) if a.add(b).is_finite() => {
                    let mut out = Vec::new();
                    assert!(a.add(b).format_human(&mut out));
                    String::from_utf8(out).unwrap_or_default()
                }
                (Some(_), Some(_)) => "E_NANINF".to_string(),
                _ => "E_PARSE".to_string(),
            };
            assert_eq!(got, reply, "{current:?} + {increment:?}");
            checked += 1;
        }
        assert!(checked > 400, "only {checked} vectors");
    }
}
