//! [`Reply`] to RESP2 / RESP3 bytes, appended to an output buffer.
//!
//! Nothing is allocated per element: integers go through `itoa`'s stack buffer, doubles
//! through [`DoubleText`], error text is formatted straight into the output.

use std::fmt::Write as _;

use memora_engine::{Protocol, Reply};

use super::double::DoubleText;

const CRLF: &[u8] = b"\r\n";

/// Appends `reply` to `out` in `protocol`'s encoding.
///
/// RESP3-only types degrade in RESP2 as Redis degrades them: a map becomes a flat array of
/// keys and values, a set or push an array, a double, big number or verbatim string a bulk
/// string, a boolean the integer 1 or 0, and both nulls `$-1` / `*-1`.
///
/// ```
/// use memora_engine::{Protocol, Reply};
/// use memora_server::resp::encode;
///
/// let mut out = Vec::new();
/// encode(&Reply::Boolean(true), Protocol::Resp2, &mut out);
/// encode(&Reply::Boolean(true), Protocol::Resp3, &mut out);
/// assert_eq!(out, b":1\r\n#t\r\n");
/// ```
pub fn encode(reply: &Reply, protocol: Protocol, out: &mut Vec<u8>) {
    let resp3 = matches!(protocol, Protocol::Resp3);
    match reply {
        Reply::Simple(text) => line(out, b'+', text.as_bytes()),
        Reply::Error(error) => encode_error(error, out),
        Reply::Integer(n) => integer(out, b':', *n),
        Reply::Bulk(bytes) => bulk(out, bytes),
        Reply::Null => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NullArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => aggregate(out, b'*', items, protocol),
        Reply::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, protocol),
        Reply::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, protocol),
        Reply::Map(pairs) => map(out, pairs, protocol),
        Reply::Double(value) => double(out, *value, resp3),
        Reply::Boolean(value) => boolean(out, *value, resp3),
        Reply::BigNumber(digits) if resp3 => line(out, b'(', digits.as_bytes()),
        Reply::BigNumber(digits) => bulk(out, digits.as_bytes()),
        Reply::Verbatim { format, text } if resp3 => verbatim(out, format, text),
        Reply::Verbatim { text, .. } => bulk(out, text),
    }
}

/// Appends `-<error text>\r\n`, with any CR or LF in the text turned into a space as Redis
/// does, so that no text can break the framing.
pub fn encode_error(error: &impl std::fmt::Display, out: &mut Vec<u8>) {
    out.push(b'-');
    let start = out.len();
    // Writing into a Vec cannot fail; a Display impl that fails leaves what it wrote.
    let _ = write!(VecWriter(out), "{error}");
    sanitize_line(&mut out[start..]);
    out.extend_from_slice(CRLF);
}

/// Adapts a byte vector to `fmt::Write`.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Replaces CR and LF with spaces.
fn sanitize_line(text: &mut [u8]) {
    for byte in text.iter_mut().filter(|byte| matches!(byte, b'\r' | b'\n')) {
        *byte = b' ';
    }
}

/// `<prefix><text>\r\n` for a line-framed type; CR/LF in `text` become spaces.
fn line(out: &mut Vec<u8>, prefix: u8, text: &[u8]) {
    out.push(prefix);
    let start = out.len();
    out.extend_from_slice(text);
    sanitize_line(&mut out[start..]);
    out.extend_from_slice(CRLF);
}

/// `<prefix><n>\r\n`: integers and aggregate headers.
fn integer(out: &mut Vec<u8>, prefix: u8, n: impl itoa::Integer) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(CRLF);
}

/// `$<len>\r\n<bytes>\r\n`.
fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 16);
    integer(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(CRLF);
}

fn aggregate(out: &mut Vec<u8>, prefix: u8, items: &[Reply], protocol: Protocol) {
    integer(out, prefix, items.len());
    for item in items {
        encode(item, protocol, out);
    }
}

fn map(out: &mut Vec<u8>, pairs: &[(Reply, Reply)], protocol: Protocol) {
    if matches!(protocol, Protocol::Resp3) {
        integer(out, b'%', pairs.len());
    } else {
        integer(out, b'*', pairs.len().saturating_mul(2));
    }
    for (key, value) in pairs {
        encode(key, protocol, out);
        encode(value, protocol, out);
    }
}

fn double(out: &mut Vec<u8>, value: f64, resp3: bool) {
    let text = DoubleText::new(value);
    if resp3 { line(out, b',', text.as_bytes()) } else { bulk(out, text.as_bytes()) }
}

fn boolean(out: &mut Vec<u8>, value: bool, resp3: bool) {
    out.extend_from_slice(match (resp3, value) {
        (true, true) => b"#t\r\n",
        (true, false) => b"#f\r\n",
        (false, true) => b":1\r\n",
        (false, false) => b":0\r\n",
    });
}

/// `=<len>\r\n<fmt>:<text>\r\n`.
fn verbatim(out: &mut Vec<u8>, format: &[u8; 3], text: &[u8]) {
    integer(out, b'=', text.len() + 4);
    out.extend_from_slice(format);
    out.push(b':');
    out.extend_from_slice(text);
    out.extend_from_slice(CRLF);
}

#[cfg(test)]
mod tests;
