use super::*;

const MAX: u64 = 512 * 1024 * 1024;

type Commands = Vec<Vec<Vec<u8>>>;

/// Feeds `chunks` one after the other the way a connection does: append to a buffer, parse
/// every complete frame, drop the consumed bytes.
fn feed(parser: &mut RequestParser, chunks: &[&[u8]], max: u64) -> (Commands, Option<ProtocolError>) {
    let mut buf = Vec::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            match parser.parse(&buf[pos..], max) {
                Ok(Step::Command { consumed }) => {
                    let args = parser.args(&buf[pos..]);
                    assert_eq!(args.len(), parser.arg_count());
                    commands.push(args.map(<[u8]>::to_vec).collect());
                    pos += consumed;
                }
                Ok(Step::Skip { consumed }) => pos += consumed,
                Ok(Step::Incomplete) => break,
                Err(err) => return (commands, Some(err)),
            }
        }
        buf.drain(..pos);
    }
    (commands, None)
}

fn parse_all(input: &[u8]) -> (Commands, Option<ProtocolError>) {
    feed(&mut RequestParser::new(), &[input], MAX)
}

fn cmd(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|arg| arg.to_vec()).collect()
}

fn error_of(input: &[u8]) -> ProtocolError {
    let (_, err) = parse_all(input);
    err.expect("a protocol error")
}

/// A pipeline mixing every frame shape, and the commands it holds.
fn mixed_pipeline() -> (Vec<u8>, Commands) {
    let mut input = Vec::new();
    input.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nv\n\r\n");
    input.extend_from_slice(b"*0\r\n*-1\r\n");
    input.extend_from_slice(b"PING\r\n");
    input.extend_from_slice(b"\r\n\n   \r\n");
    input.extend_from_slice(b"echo \"a b\\x41\" 'c\\'d'\n");
    input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
    input.extend_from_slice(b"*1\r\n$4\r\nQUIT\r\n");
    let commands = vec![
        cmd(&[b"SET", b"k", b"v\r\nv\n"]),
        cmd(&[b"PING"]),
        cmd(&[b"echo", b"a bA", b"c'd"]),
        cmd(&[b"GET", b""]),
        cmd(&[b"QUIT"]),
    ];
    (input, commands)
}

#[test]
fn parses_a_pipeline_in_one_buffer() {
    let (input, expected) = mixed_pipeline();
    assert_eq!(parse_all(&input), (expected, None));
}

#[test]
fn every_split_point_gives_the_same_commands() {
    let (input, expected) = mixed_pipeline();
    for split in 0..=input.len() {
        let (head, tail) = input.split_at(split);
        let got = feed(&mut RequestParser::new(), &[head, tail], MAX);
        assert_eq!(got, (expected.clone(), None), "split at {split}");
    }
    for (a, b) in [(3, 17), (10, 11), (1, 60)] {
        let got = feed(&mut RequestParser::new(), &[&input[..a], &input[a..b], &input[b..]], MAX);
        assert_eq!(got, (expected.clone(), None), "splits at {a} and {b}");
    }
}

#[test]
fn byte_at_a_time() {
    let (input, expected) = mixed_pipeline();
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(&mut RequestParser::new(), &chunks, MAX), (expected, None));
}

#[test]
fn multibulk_arguments_are_spans_of_the_buffer() {
    let input = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(input, MAX), Ok(Step::Command { consumed: input.len() }));
    let args: Vec<&[u8]> = parser.args(input).collect();
    assert_eq!(args[1].as_ptr(), input[17..].as_ptr(), "no copy");
    assert!(parser.scratch.is_empty());
}

#[test]
fn resumes_where_it_stopped() {
    let mut parser = RequestParser::new();
    let mut buf = b"*2\r\n$3\r\nSET\r\n$10\r\n0123".to_vec();
    assert_eq!(parser.parse(&buf, MAX), Ok(Step::Incomplete));
    // One argument done, the second's length known: waiting is a length comparison.
    assert_eq!(parser.state, State::Bulks(Bulks { remaining: 1, pos: 18, bulk_len: Some(10), scanned: 13 }));
    assert_eq!(parser.spans.len(), 1);
    assert_eq!(parser.bulk_bytes_missing(buf.len()), Some(8));
    buf.extend_from_slice(b"456789\r\n");
    assert_eq!(parser.parse(&buf, MAX), Ok(Step::Command { consumed: buf.len() }));
    assert_eq!(parser.args(&buf).nth(1), Some(&b"0123456789"[..]));
    assert!(!parser.in_frame());
    assert_eq!(parser.bulk_bytes_missing(0), None);
}

#[test]
fn remembers_how_far_a_line_was_searched() {
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"*12", MAX), Ok(Step::Incomplete));
    assert_eq!(parser.state, State::Count { scanned: 3 });
    assert_eq!(parser.parse(b"*12\r", MAX), Ok(Step::Incomplete));
    assert_eq!(parser.state, State::Count { scanned: 3 });
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"GET ke", MAX), Ok(Step::Incomplete));
    assert_eq!(parser.state, State::Inline { scanned: 6 });
    assert!(parser.in_frame());
}

#[test]
fn skips_empty_frames() {
    for input in [&b"*0\r\n"[..], b"*-1\r\n", b"*-100\r\n", b"\r\n", b"\n", b"  \t \r\n"] {
        let mut parser = RequestParser::new();
        assert_eq!(parser.parse(input, MAX), Ok(Step::Skip { consumed: input.len() }), "{input:?}");
    }
}

#[test]
fn inline_commands() {
    assert_eq!(parse_all(b"SET a b\n"), (vec![cmd(&[b"SET", b"a", b"b"])], None));
    assert_eq!(parse_all(b"GET \"\"\r\n"), (vec![cmd(&[b"GET", b""])], None));
    // A NUL ends the line for Redis's C string handling.
    assert_eq!(parse_all(b"GET a\0junk\r\nPING\r\n"), (vec![cmd(&[b"GET", b"a"]), cmd(&[b"PING"])], None));
    // A CR alone does not end an inline line.
    assert_eq!(parse_all(b"A\rB\n"), (vec![cmd(&[b"A", b"B"])], None));
}

#[test]
fn error_texts_are_redis_words() {
    let cases: [(&[u8], &str); 11] = [
        (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1048577\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*01\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
        (b"*1\r\n\r\n", "ERR Protocol error: expected '$', got '\r'"),
        (b"GET \"a\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"GET 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"*1\r\n$3\r\nGET\r\n*1\r\n+x\r\n", "ERR Protocol error: expected '$', got '+'"),
    ];
    for (input, text) in cases {
        assert_eq!(error_of(input).to_string(), text, "{input:?}");
    }
    assert_eq!(parse_all(b"*1048576\r\n").1, None, "the largest count is accepted");
}

#[test]
fn error_replies_on_the_wire() {
    let mut out = Vec::new();
    ProtocolError::ExpectedDollar(0xff).write_reply(&mut out);
    ProtocolError::ExpectedDollar(b'\n').write_reply(&mut out);
    ProtocolError::InvalidBulkLength.write_reply(&mut out);
    assert_eq!(
        out,
        b"-ERR Protocol error: expected '$', got '\xff'\r\n\
          -ERR Protocol error: expected '$', got ' '\r\n\
          -ERR Protocol error: invalid bulk length\r\n"
    );
}

#[test]
fn overlong_lines() {
    let long = vec![b'1'; INLINE_MAX_BYTES];
    let mut count = b"*".to_vec();
    count.extend_from_slice(&long[1..]);
    // Exactly 64 KiB without a CR is still waiting; one byte more is an error.
    assert_eq!(parse_all(&count), (vec![], None));
    count.push(b'1');
    assert_eq!(error_of(&count).to_string(), "ERR Protocol error: too big mbulk count string");

    let mut bulk = b"*2\r\n$4\r\nECHO\r\n$".to_vec();
    bulk.extend_from_slice(&long);
    assert_eq!(error_of(&bulk).to_string(), "ERR Protocol error: too big bulk count string");
    // The length check comes before the '$' check.
    let mut junk = b"*1\r\n".to_vec();
    junk.extend_from_slice(&[b'X'; INLINE_MAX_BYTES + 1]);
    assert_eq!(error_of(&junk), ProtocolError::BulkCountTooBig);

    let mut inline = b"SET k ".to_vec();
    inline.extend_from_slice(&long);
    assert_eq!(error_of(&inline).to_string(), "ERR Protocol error: too big inline request");
    // Fed in small pieces the verdict is the same.
    let chunks: Vec<&[u8]> = inline.chunks(1000).collect();
    assert_eq!(feed(&mut RequestParser::new(), &chunks, MAX).1, Some(ProtocolError::InlineTooBig));
}

#[test]
fn bulk_limit_is_the_callers() {
    let input = b"*2\r\n$3\r\nSET\r\n$2000000\r\n";
    assert_eq!(
        feed(&mut RequestParser::new(), &[input], 1_000_000).1,
        Some(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(feed(&mut RequestParser::new(), &[input], 2_000_000).1, None);
}

#[test]
fn huge_claims_allocate_nothing() {
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"*1048576\r\n$536870912\r\nab", MAX), Ok(Step::Incomplete));
    assert!(parser.spans.capacity() < 16, "argument vector sized by arrivals, not claims");
    assert_eq!(parser.scratch.capacity(), 0);
}

#[test]
fn bytes_after_bulk_data_are_not_checked() {
    // Redis skips the two bytes after an argument without looking at them.
    assert_eq!(parse_all(b"*1\r\n$4\r\nPINGxy"), (vec![cmd(&[b"PING"])], None));
    // Nor is the byte after a header's CR checked.
    assert_eq!(parse_all(b"*1\r_$4\rxPING\r\n"), (vec![cmd(&[b"PING"])], None));
}

#[test]
fn parses_decimals_like_string2ll() {
    assert_eq!(parse_decimal(b"0"), Some(0));
    assert_eq!(parse_decimal(b"-0"), None);
    assert_eq!(parse_decimal(b"-"), None);
    assert_eq!(parse_decimal(b""), None);
    assert_eq!(parse_decimal(b" 1"), None);
    assert_eq!(parse_decimal(b"1 "), None);
    assert_eq!(parse_decimal(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_decimal(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_decimal(b"-9223372036854775809"), None);
    assert_eq!(parse_decimal(b"12a"), None);
}

#[test]
fn parser_is_reusable_after_an_error() {
    let mut parser = RequestParser::new();
    assert!(parser.parse(b"*1\r\n:x\r\n", MAX).is_err());
    assert!(!parser.in_frame());
    assert_eq!(parser.parse(b"PING\r\n", MAX), Ok(Step::Command { consumed: 6 }));
}

#[test]
fn a_broken_contract_does_not_panic() {
    // Handing back a shorter buffer after `Incomplete` is a caller bug; it must not panic.
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"*2\r\n$3\r\nGET\r\n$3\r\nk", MAX), Ok(Step::Incomplete));
    assert_eq!(parser.parse(b"*2", MAX), Ok(Step::Incomplete));
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"GET k", MAX), Ok(Step::Incomplete));
    assert_eq!(parser.parse(b"G", MAX), Ok(Step::Incomplete));
    let mut parser = RequestParser::new();
    let frame = b"*1\r\n$4\r\nPING\r\n";
    assert_eq!(parser.parse(frame, MAX), Ok(Step::Command { consumed: frame.len() }));
    assert_eq!(parser.args(b"*1").collect::<Vec<_>>(), [&b""[..]]);
}

#[test]
fn a_different_buffer_after_incomplete_does_not_panic() {
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"*1", MAX), Ok(Step::Incomplete));
    let _ = parser.parse(b"\r\n", MAX);
    let _ = parser.parse(b"\r\r\r\n", MAX);
}

#[test]
fn fast_header_path_agrees_with_the_general_one() {
    assert_eq!(digits_line(b"$12\r\n", 1), Some((12, 3)));
    assert_eq!(digits_line(b"$0\r\n", 1), Some((0, 2)));
    assert_eq!(digits_line(b"$01\r\n", 1), None, "leading zero: general path");
    assert_eq!(digits_line(b"$-1\r\n", 1), None, "sign: general path");
    assert_eq!(digits_line(b"$12\r", 1), None, "no byte after CR yet");
    assert_eq!(digits_line(b"$\r\n", 1), None);
    assert_eq!(digits_line(b"$1234567890123456789\r\n", 1), None, "19 digits: general path");
    assert_eq!(digits_line(b"$123456789012345678\r\n", 1), Some((123456789012345678, 19)));
    for count in ["0", "1", "10", "1048576", "1048577", "99999999999999999"] {
        let input = format!("*{count}\r\n");
        let general = parse_decimal(count.as_bytes()).filter(|&n| n <= MULTIBULK_MAX_COUNT);
        let got = RequestParser::new().parse(input.as_bytes(), MAX);
        match general {
            Some(0) => assert_eq!(got, Ok(Step::Skip { consumed: input.len() })),
            Some(_) => assert_eq!(got, Ok(Step::Incomplete)),
            None => assert_eq!(got, Err(ProtocolError::InvalidMultibulkLength)),
        }
    }
}
