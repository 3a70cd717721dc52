//! The incremental request parser.
//!
//! A connection keeps its unparsed input in one buffer and calls [`RequestParser::parse`] with
//! the bytes from the start of the current frame. Each call answers with one [`Step`]:
//! a complete command (its arguments are spans of the buffer, read back with
//! [`RequestParser::args`]), a frame to skip (`*0`, `*-1`, an empty inline line), or "need more
//! bytes". In the last case the parser remembers how far it got (arguments already complete,
//! the bulk length it is waiting for, how much of a header line it already searched), so a
//! 100 MiB bulk arriving in 16 KiB reads costs one length comparison per read rather than a
//! re-parse of everything received so far.
//!
//! Limits, as Redis enforces them: a multibulk count up to [`MULTIBULK_MAX_COUNT`], bulk
//! lengths up to the caller's `max_bulk_len` (`proto-max-bulk-len`), header and inline lines up
//! to [`INLINE_MAX_BYTES`] without a line ending. Nothing is allocated from a claimed length:
//! the argument vector grows one argument at a time, as arguments actually arrive.

use super::inline::{split_into, until_nul};

/// Longest header or inline line accepted while its line ending has not arrived (Redis's
/// `PROTO_INLINE_MAX_SIZE`, 64 KiB).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Largest multibulk count (number of arguments) accepted.
pub const MULTIBULK_MAX_COUNT: i64 = 1024 * 1024;

/// A malformed request. `Display` renders Redis's exact error text; after writing it the
/// server closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The `*<count>` line is not an integer, or the count exceeds [`MULTIBULK_MAX_COUNT`].
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// The `$<len>` line is not an integer, is negative, or exceeds `proto-max-bulk-len`.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An argument of a multibulk frame does not start with `$`; holds the byte found.
    #[error("ERR Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedDollar(u8),
    /// An inline command line grew past [`INLINE_MAX_BYTES`] without a newline.
    #[error("ERR Protocol error: too big inline request")]
    InlineTooBig,
    /// A `*<count>` line grew past [`INLINE_MAX_BYTES`] without a CR.
    #[error("ERR Protocol error: too big mbulk count string")]
    MultibulkCountTooBig,
    /// A `$<len>` line grew past [`INLINE_MAX_BYTES`] without a CR.
    #[error("ERR Protocol error: too big bulk count string")]
    BulkCountTooBig,
    /// An inline command left a quote open or closed one in the middle of an argument.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
}

impl ProtocolError {
    /// Appends the error reply (`-ERR Protocol error: ...\r\n`) to `out`. Unlike `Display`,
    /// which must produce UTF-8, the byte of [`ProtocolError::ExpectedDollar`] is written
    /// raw, as Redis writes it (CR and LF become spaces).
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        match *self {
            ProtocolError::ExpectedDollar(byte) => {
                out.extend_from_slice(b"-ERR Protocol error: expected '$', got '");
                out.push(if matches!(byte, b'\r' | b'\n') { b' ' } else { byte });
                out.extend_from_slice(b"'\r\n");
            }
            _ => super::encode_error(self, out),
        }
    }
}

/// What one call of [`RequestParser::parse`] found at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// A complete command of `consumed` bytes; read it with [`RequestParser::args`] and pass
    /// the next call the bytes after it.
    Command {
        /// Length of the frame, line ending included.
        consumed: usize,
    },
    /// A frame of `consumed` bytes that holds no command (`*0`, `*-1`, an empty inline line),
    /// skipped as Redis skips it.
    Skip {
        /// Length of the skipped frame.
        consumed: usize,
    },
    /// The frame is not complete. Call again with the same bytes (same start) plus more.
    Incomplete,
}

/// Where one argument lies: a byte range of the frame (multibulk) or of the parser's scratch
/// buffer (inline, where quoting means the argument may differ from the raw bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgSpan {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// How far the parser got into the current, incomplete frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Between frames.
    #[default]
    Idle,
    /// An inline line without its `\n`; bytes before `scanned` hold none.
    Inline { scanned: usize },
    /// A `*<count>` line without its CR LF; bytes before `scanned` hold no CR.
    Count { scanned: usize },
    /// Inside the arguments of a multibulk frame.
    Bulks(Bulks),
}

/// Progress through the arguments of a multibulk frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bulks {
    /// Arguments still to read.
    remaining: usize,
    /// Offset of the next argument's `$` line, or of its data once `bulk_len` is known.
    pos: usize,
    /// Length of the argument whose data is awaited, once its `$` line was read.
    bulk_len: Option<usize>,
    /// Bytes from `pos` up to here hold no CR (for the `$` line search).
    scanned: usize,
}

/// Parses client requests incrementally; one per connection, reused for every command.
///
/// ```
/// use memora_server::resp::{RequestParser, Step};
///
/// let mut parser = RequestParser::new();
/// let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";
/// let Ok(Step::Command { consumed }) = parser.parse(input, 512 << 20) else { panic!() };
/// let args: Vec<&[u8]> = parser.args(input).collect();
/// assert_eq!(args, [&b"GET"[..], b"k"]);
/// let rest = &input[consumed..];
/// assert_eq!(parser.parse(rest, 512 << 20), Ok(Step::Command { consumed: 6 }));
/// assert_eq!(parser.args(rest).collect::<Vec<_>>(), [&b"PING"[..]]);
/// assert_eq!(parser.parse(b"*1\r\n$4\r\nPI", 512 << 20), Ok(Step::Incomplete));
/// ```
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Spans of the current command's arguments.
    spans: Vec<ArgSpan>,
    /// Unescaped arguments of an inline command.
    scratch: Vec<u8>,
    /// Do `spans` point into `scratch` (inline) rather than into the frame (multibulk)?
    inline: bool,
    state: State,
}

impl RequestParser {
    /// A parser between frames.
    pub fn new() -> RequestParser {
        RequestParser::default()
    }

    /// Parses the frame at the start of `buf`. `max_bulk_len` is the current
    /// `proto-max-bulk-len`.
    ///
    /// After [`Step::Incomplete`], the next call must pass a buffer that starts with the same
    /// bytes (more may follow). After an error the parser is reset, but the connection is
    /// expected to close: the rest of the input cannot be framed.
    pub fn parse(&mut self, buf: &[u8], max_bulk_len: u64) -> Result<Step, ProtocolError> {
        let result = match self.state {
            State::Idle => self.start_frame(buf, max_bulk_len),
            State::Inline { scanned } => self.inline(buf, scanned),
            State::Count { scanned } => self.count(buf, scanned, max_bulk_len),
            State::Bulks(progress) => self.bulks(buf, progress, max_bulk_len),
        };
        if !matches!(result, Ok(Step::Incomplete)) {
            self.state = State::Idle;
        }
        result
    }

    /// The arguments of the command the last [`Step::Command`] reported. `frame` is the buffer
    /// that call parsed (from the same start).
    pub fn args<'a>(&'a self, frame: &'a [u8]) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let source = if self.inline { &self.scratch[..] } else { frame };
        // A frame shorter than the one parsed breaks the contract; it yields empty arguments
        // rather than a panic.
        self.spans.iter().map(move |span| source.get(span.start..span.end).unwrap_or_default())
    }

    /// Number of arguments of the command the last [`Step::Command`] reported.
    pub fn arg_count(&self) -> usize {
        self.spans.len()
    }

    /// Is the parser in the middle of a frame (some of it received, not all)?
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// While waiting for the data of a bulk argument whose length is known: how many more
    /// bytes that argument (with its CR LF) needs, given the current frame buffer length.
    /// Lets a connection grow its buffer towards an argument's size in steps no bigger than
    /// what already arrived, without overshooting it.
    pub fn bulk_bytes_missing(&self, buffered: usize) -> Option<usize> {
        match self.state {
            State::Bulks(Bulks { pos, bulk_len: Some(len), .. }) => {
                Some(pos.saturating_add(len).saturating_add(2).saturating_sub(buffered))
            }
            _ => None,
        }
    }

    /// A new frame: `*` starts a multibulk frame, anything else an inline command.
    fn start_frame(&mut self, buf: &[u8], max_bulk_len: u64) -> Result<Step, ProtocolError> {
        self.spans.clear();
        match buf.first() {
            None => Ok(Step::Incomplete),
            Some(b'*') => self.count(buf, 0, max_bulk_len),
            Some(_) => self.inline(buf, 0),
        }
    }

    /// An inline command: one line, split with `sdssplitargs` rules.
    fn inline(&mut self, buf: &[u8], scanned: usize) -> Result<Step, ProtocolError> {
        let scanned = scanned.min(buf.len());
        let Some(newline) = memchr::memchr(b'\n', &buf[scanned..]).map(|i| scanned + i) else {
            if buf.len() > INLINE_MAX_BYTES {
                return Err(ProtocolError::InlineTooBig);
            }
            self.state = State::Inline { scanned: buf.len() };
            return Ok(Step::Incomplete);
        };
        let line_end = if newline > 0 && buf[newline - 1] == b'\r' { newline - 1 } else { newline };
        self.spans.clear();
        self.scratch.clear();
        split_into(until_nul(&buf[..line_end]), &mut self.scratch, &mut self.spans)
            .map_err(|_| ProtocolError::UnbalancedQuotes)?;
        self.inline = true;
        let consumed = newline + 1;
        Ok(if self.spans.is_empty() { Step::Skip { consumed } } else { Step::Command { consumed } })
    }

    /// The `*<count>` line of a multibulk frame.
    fn count(&mut self, buf: &[u8], scanned: usize, max_bulk_len: u64) -> Result<Step, ProtocolError> {
        if let Some((count, cr)) = digits_line(buf, 1)
            && count <= MULTIBULK_MAX_COUNT as u64
        {
            return self.start_bulks(buf, count as usize, cr + 2, max_bulk_len);
        }
        let cr = match find_line(buf, 0, scanned) {
            Line::Found(cr) => cr,
            Line::Partial { scanned } => {
                self.state = State::Count { scanned };
                return Ok(Step::Incomplete);
            }
            Line::TooLong => return Err(ProtocolError::MultibulkCountTooBig),
        };
        let count = match buf.get(1..cr).and_then(parse_decimal) {
            Some(count) if count <= MULTIBULK_MAX_COUNT => count,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        match usize::try_from(count) {
            Ok(count) => self.start_bulks(buf, count, cr + 2, max_bulk_len),
            Err(_) => Ok(Step::Skip { consumed: cr + 2 }),
        }
    }

    /// Starts reading the `count` arguments of a multibulk frame at `pos`; `*0` is skipped.
    fn start_bulks(
        &mut self,
        buf: &[u8],
        count: usize,
        pos: usize,
        max_bulk_len: u64,
    ) -> Result<Step, ProtocolError> {
        if count == 0 {
            return Ok(Step::Skip { consumed: pos });
        }
        self.inline = false;
        self.spans.clear();
        self.bulks(buf, Bulks { remaining: count, pos, bulk_len: None, scanned: pos }, max_bulk_len)
    }

    /// The `$<len>\r\n<data>\r\n` arguments of a multibulk frame, resuming at `progress`.
    fn bulks(&mut self, buf: &[u8], mut progress: Bulks, max_bulk_len: u64) -> Result<Step, ProtocolError> {
        while progress.remaining > 0 {
            let len = match progress.bulk_len {
                Some(len) => len,
                None => match bulk_header(buf, &mut progress, max_bulk_len)? {
                    Some(len) => len,
                    None => {
                        self.state = State::Bulks(progress);
                        return Ok(Step::Incomplete);
                    }
                },
            };
            // Redis skips the two bytes after the data without looking at them.
            let end = progress.pos.saturating_add(len);
            if buf.len() < end.saturating_add(2) {
                self.state = State::Bulks(progress);
                return Ok(Step::Incomplete);
            }
            self.spans.push(ArgSpan { start: progress.pos, end });
            progress =
                Bulks { remaining: progress.remaining - 1, pos: end + 2, bulk_len: None, scanned: end + 2 };
        }
        Ok(Step::Command { consumed: progress.pos })
    }
}

/// Reads the `$<len>` line at `progress.pos`. `Ok(None)` when the line is incomplete (the
/// search position is saved in `progress`); on success `progress` moves to the data.
fn bulk_header(buf: &[u8], progress: &mut Bulks, max_bulk_len: u64) -> Result<Option<usize>, ProtocolError> {
    let start = progress.pos;
    if buf.get(start) == Some(&b'$')
        && let Some((len, cr)) = digits_line(buf, start + 1)
    {
        let len = usize::try_from(len).ok().filter(|_| len <= max_bulk_len);
        let len = len.ok_or(ProtocolError::InvalidBulkLength)?;
        progress.pos = cr + 2;
        progress.bulk_len = Some(len);
        return Ok(Some(len));
    }
    let cr = match find_line(buf, start, progress.scanned) {
        Line::Found(cr) => cr,
        Line::Partial { scanned } => {
            progress.scanned = scanned;
            return Ok(None);
        }
        Line::TooLong => return Err(ProtocolError::BulkCountTooBig),
    };
    if buf[start] != b'$' {
        return Err(ProtocolError::ExpectedDollar(buf[start]));
    }
    let len = parse_decimal(&buf[start + 1..cr])
        .and_then(|len| u64::try_from(len).ok())
        .filter(|&len| len <= max_bulk_len)
        .and_then(|len| usize::try_from(len).ok())
        .ok_or(ProtocolError::InvalidBulkLength)?;
    progress.pos = cr + 2;
    progress.bulk_len = Some(len);
    Ok(Some(len))
}

/// The fast path for a header line: `<digits>\r` at `from`, with a byte after the CR, no
/// sign, no leading zero and at most 18 digits. Returns the value and the CR's offset; `None`
/// sends the caller down the general path (which gives the same answer for these lines, and
/// handles everything else).
#[inline]
fn digits_line(buf: &[u8], from: usize) -> Option<(u64, usize)> {
    let bytes = buf.get(from..)?;
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(19) {
        if byte == b'\r' {
            let leading_zero = index > 1 && bytes[0] == b'0';
            if index == 0 || leading_zero || index + 1 >= bytes.len() {
                return None;
            }
            return Some((value, from + index));
        }
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    None
}

/// Where a header line ends.
enum Line {
    /// The line's CR is at this offset, and at least one byte follows it.
    Found(usize),
    /// No complete line yet; no CR before `scanned`.
    Partial { scanned: usize },
    /// No CR and more than [`INLINE_MAX_BYTES`] received since the line start.
    TooLong,
}

/// Finds the CR ending the header line that starts at `start`, searching from `scanned`.
///
/// Like Redis, only the CR is searched for: the byte after it is skipped, whatever it is.
fn find_line(buf: &[u8], start: usize, scanned: usize) -> Line {
    let from = scanned.max(start).min(buf.len());
    match memchr::memchr(b'\r', &buf[from..]) {
        Some(offset) if from + offset + 1 < buf.len() => Line::Found(from + offset),
        Some(offset) => Line::Partial { scanned: from + offset },
        None if buf.len().saturating_sub(start) > INLINE_MAX_BYTES => Line::TooLong,
        None => Line::Partial { scanned: buf.len() },
    }
}

/// Parses a signed decimal exactly as Redis's `string2ll`: an optional `-`, no `+`, no
/// leading zeros (except `0` itself), no blanks, no overflow.
///
/// ```
/// use memora_server::resp::parse_decimal;
///
/// assert_eq!(parse_decimal(b"-42"), Some(-42));
/// assert_eq!(parse_decimal(b"007"), None);
/// assert_eq!(parse_decimal(b"+1"), None);
/// assert_eq!(parse_decimal(b"9223372036854775808"), None);
/// ```
pub fn parse_decimal(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let (first, _) = digits.split_first()?;
    if !(b'1'..=b'9').contains(first) {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses too.
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(byte - b'0'))?;
    }
    if negative { Some(value) } else { value.checked_neg() }
}

#[cfg(test)]
mod tests;
