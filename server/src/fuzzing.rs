//! Shared by the cargo-fuzz targets (`fuzz/`) and by `tests/fuzz_seeds.rs`, which replays
//! their seed corpora as ordinary tests. Not a stable API.

use memora_engine::{Engine, Execution, Protocol, Reply, Session};

use crate::resp::{ProtocolError, RequestParser, Step, encode, split_args};

/// Most commands taken from one `execute` input.
pub const MAX_COMMANDS: usize = 64;
/// Most arguments kept per command.
pub const MAX_ARGS: usize = 32;
/// `proto-max-bulk-len` of the fuzzing engine (the engine's smallest), bounding the memory a
/// `SETRANGE`-style command can make it allocate.
pub const FUZZ_MAX_BULK_LEN: u64 = 1024 * 1024;

/// Decodes an `execute` input: one command per line, arguments split with Redis's inline
/// quoting (`SET "a b" "\x00"`), so seeds stay readable and still reach binary arguments. A
/// line with unbalanced quotes is split on spaces as is. Blank lines are skipped.
pub fn decode_commands(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    data.split(|&byte| byte == b'\n')
        .map(|line| {
            let mut args = split_args(line)
                .unwrap_or_else(|_| line.split(|&byte| byte == b' ').map(<[u8]>::to_vec).collect());
            args.truncate(MAX_ARGS);
            args
        })
        .filter(|args| !args.is_empty())
        .take(MAX_COMMANDS)
        .collect()
}

/// Most elements a fuzzed `SRANDMEMBER`/`HRANDFIELD`/`ZRANDMEMBER` may ask for.
pub const FUZZ_MAX_RANDOM_COUNT: i64 = 1 << 16;

/// Leaves out commands that would make a fuzz run slow or unbounded rather than find bugs:
/// `DEBUG` (sleeps), `SHUTDOWN`, `CONFIG SET` other than of `maxmemory-policy` (which could
/// lift the memory bounds), and
/// random-member commands whose count is beyond [`FUZZ_MAX_RANDOM_COUNT`] either way: as in
/// Redis, `HRANDFIELD h -100000000` legitimately answers a hundred million (repeated) fields,
/// which is gigabytes of reply, not a bug.
pub fn is_fuzz_safe(argv: &[Vec<u8>]) -> bool {
    let is = |index: usize, name: &str| {
        argv.get(index).is_some_and(|arg| arg.eq_ignore_ascii_case(name.as_bytes()))
    };
    let huge_count = ["srandmember", "hrandfield", "zrandmember"].iter().any(|name| is(0, name))
        && argv
            .get(2)
            .and_then(|count| std::str::from_utf8(count).ok()?.parse::<i64>().ok())
            .is_some_and(|count| count.unsigned_abs() > FUZZ_MAX_RANDOM_COUNT as u64);
    // CONFIG SET only of the eviction policy (a single pair): the limit itself stays.
    let policy_only = argv.len() == 4 && is(2, "maxmemory-policy");
    !(is(0, "debug") || is(0, "shutdown") || (is(0, "config") && is(1, "set") && !policy_only) || huge_count)
}

/// Memory a fuzzed engine may use beyond its empty size: small enough that inputs which build
/// big values (SETRANGE, APPEND, pushes) run into the limit, so eviction runs under fuzzing.
pub const FUZZ_MAX_MEMORY_HEADROOM: u64 = 256 * 1024;

/// An engine configured for fuzzing: `allkeys-lru` under a small memory limit (see
/// [`FUZZ_MAX_MEMORY_HEADROOM`]); inputs may switch the policy with `CONFIG SET
/// maxmemory-policy`.
pub fn fuzz_engine() -> Engine {
    let engine = Engine::builder()
        .stripes(4)
        .databases(4)
        .proto_max_bulk_len(FUZZ_MAX_BULK_LEN)
        .maxmemory_policy(memora_engine::EvictionPolicy::AllKeysLru)
        .build();
    let limit = (engine.used_memory() + FUZZ_MAX_MEMORY_HEADROOM).to_string();
    // A memory value the engine always takes; a refusal would only mean fuzzing without it.
    let _ = engine.config_set(&[("maxmemory", limit.as_str())]);
    engine
}

/// Runs an `execute` input through a fresh session of `engine`, encoding every reply in the
/// session's protocol (the encoder must not panic either). Returns how many commands ran.
pub fn run_execute(engine: &Engine, data: &[u8]) -> usize {
    let mut session = Session::new(engine);
    let mut out = Vec::new();
    let mut count = 0;
    for argv in decode_commands(data).iter().filter(|argv| is_fuzz_safe(argv)) {
        // A blocking command that finds nothing times out at once (nothing else would ever
        // serve it here), which also exercises giving up a registered waiter.
        let reply = match session.execute_async(argv) {
            Execution::Done(reply) => reply,
            Execution::Blocked(blocked) => blocked.expire(),
        };
        encode(&reply, session.protocol(), &mut out);
        out.clear();
        count += 1;
        if session.should_close() {
            break;
        }
    }
    count
}

/// What parsing a whole input gave: the commands, and the error that stopped it if any.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    /// The commands, in order.
    pub commands: Vec<Vec<Vec<u8>>>,
    /// The protocol error that ended the input, if one did.
    pub error: Option<ProtocolError>,
}

/// Parses `chunks` as successive reads of one connection, checking the parser's invariants
/// on the way (consumed lengths within the buffer and non-zero, argument count consistent).
pub fn parse_chunks(chunks: &[&[u8]], max_bulk_len: u64) -> Parsed {
    let mut parser = RequestParser::new();
    let mut buf = Vec::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            match parser.parse(&buf[pos..], max_bulk_len) {
                Ok(Step::Command { consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len() - pos, "consumed out of range");
                    let args: Vec<Vec<u8>> = parser.args(&buf[pos..]).map(<[u8]>::to_vec).collect();
                    assert_eq!(args.len(), parser.arg_count());
                    assert!(!args.is_empty(), "a command has a name");
                    commands.push(args);
                    pos += consumed;
                }
                Ok(Step::Skip { consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len() - pos, "skip out of range");
                    pos += consumed;
                }
                Ok(Step::Incomplete) => break,
                Err(error) => return Parsed { commands, error: Some(error) },
            }
        }
        buf.drain(..pos);
    }
    Parsed { commands, error: None }
}

/// Is this an error that depends on how the input was cut into reads (a line judged too long
/// before its end arrived)?
fn depends_on_chunking(error: Option<ProtocolError>) -> bool {
    matches!(
        error,
        Some(
            ProtocolError::InlineTooBig
                | ProtocolError::MultibulkCountTooBig
                | ProtocolError::BulkCountTooBig
        )
    )
}

/// The `resp_parser` fuzz check: parsing `data` in one read, in two reads split at a point
/// chosen by the data, and one byte per read gives the same commands (up to an error that
/// depends on the read sizes), and the commands, encoded back as multibulk frames, parse to
/// themselves.
pub fn check_parser(data: &[u8]) {
    const MAX: u64 = 1024 * 1024;
    let whole = parse_chunks(&[data], MAX);
    let split = data.first().map_or(0, |&byte| usize::from(byte) % (data.len() + 1));
    let (head, tail) = data.split_at(split);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    for other in [parse_chunks(&[head, tail], MAX), parse_chunks(&bytes, MAX)] {
        if depends_on_chunking(whole.error) || depends_on_chunking(other.error) {
            let common = whole.commands.len().min(other.commands.len());
            assert_eq!(whole.commands[..common], other.commands[..common]);
        } else {
            assert_eq!(whole, other);
        }
    }
    let mut frames = Vec::new();
    for command in &whole.commands {
        let reply = Reply::Array(command.iter().map(|arg| Reply::Bulk(arg.clone())).collect());
        encode(&reply, Protocol::Resp2, &mut frames);
    }
    let again = parse_chunks(&[&frames], u64::MAX);
    assert_eq!(again, Parsed { commands: whole.commands, error: None });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn unbounded_commands_are_left_out_and_the_rest_kept() {
        for unsafe_line in [
            "DEBUG SLEEP 10",
            "config SET maxmemory 0",
            "CONFIG SET maxmemory-policy noeviction maxmemory 0",
            "HRANDFIELD h -99999999",
            "srandmember s 70000",
        ] {
            assert!(!is_fuzz_safe(&argv(unsafe_line)), "{unsafe_line}");
        }
        for safe_line in [
            "GET k",
            "HRANDFIELD h -5 WITHVALUES",
            "ZRANDMEMBER z 65536",
            "CONFIG GET *",
            "config set MAXMEMORY-POLICY allkeys-random",
        ] {
            assert!(is_fuzz_safe(&argv(safe_line)), "{safe_line}");
        }
    }

    #[test]
    fn the_fuzz_engine_evicts_under_its_limit() {
        let engine = fuzz_engine();
        let big = format!(
            "SETRANGE a {} x\nSETRANGE b {} x\nGET c",
            FUZZ_MAX_MEMORY_HEADROOM, FUZZ_MAX_MEMORY_HEADROOM
        );
        assert_eq!(run_execute(&engine, big.as_bytes()), 3);
        assert_eq!(engine.stats().evicted_keys, 1, "the second big value evicted the first");
        // `b` alone keeps memory over the limit: under noeviction every growing write fails.
        let input = b"CONFIG SET maxmemory-policy noeviction\nSETRANGE c 10 x\nSET d x";
        assert_eq!(run_execute(&engine, input), 3);
        assert_eq!(engine.dbsize(), 1, "noeviction refused both writes");
        assert_eq!(engine.stats().evicted_keys, 1);
    }

    #[test]
    fn a_blocking_command_does_not_hang_the_run() {
        let engine = fuzz_engine();
        assert_eq!(run_execute(&engine, b"BLPOP nothing 0\nPING"), 2);
    }
}
