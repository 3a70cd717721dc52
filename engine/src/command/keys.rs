//! Handlers for generic key commands: parse argv, call the typed API in `crate::keys`.

use super::args::{Args, c_str, db_index, error_quoting, is};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keys::{ExpireCondition, KeyExpiry, ScanOptions};
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;
use crate::value::KeyType;

pub(super) fn del(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().del(&argv[1..]) as i64)
}

pub(super) fn unlink(s: &mut Session, argv: &[&[u8]]) -> Reply {
    del(s, argv)
}

pub(super) fn exists(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().exists(&argv[1..]) as i64)
}

pub(super) fn touch(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().touch(&argv[1..]) as i64)
}

pub(super) fn type_(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::simple(s.engine_db().key_type(argv[1]).map_or("none", KeyType::name))
}

fn parse_expire_condition(argv: &[&[u8]]) -> Result<ExpireCondition> {
    let mut condition = ExpireCondition::default();
    for &arg in &argv[3..] {
        if is(arg, "nx") {
            condition.nx = true;
        } else if is(arg, "xx") {
            condition.xx = true;
        } else if is(arg, "gt") {
            condition.gt = true;
        } else if is(arg, "lt") {
            condition.lt = true;
        } else {
            return Err(error_quoting(&format!("ERR Unsupported option {}", c_str(arg))));
        }
    }
    condition.validate()?;
    Ok(condition)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `seconds` scales the argument, `relative` adds now.
fn expire_generic(
    s: &mut Session,
    argv: &[&[u8]],
    seconds: bool,
    relative: bool,
    command: &'static str,
) -> Reply {
    // Redis checks the options before the time: `EXPIRE k abc FOO` is about FOO.
    let result = parse_expire_condition(argv).and_then(|condition| {
        let when = parse_i64(argv[2])?;
        let when =
            if seconds { when.checked_mul(1000).ok_or(Error::InvalidExpireTime(command))? } else { when };
        s.engine_db().expire_generic(argv[1], when, relative, condition, command)
    });
    result.into()
}

pub(super) fn expire(s: &mut Session, argv: &[&[u8]]) -> Reply {
    expire_generic(s, argv, true, true, "expire")
}

pub(super) fn pexpire(s: &mut Session, argv: &[&[u8]]) -> Reply {
    expire_generic(s, argv, false, true, "pexpire")
}

pub(super) fn expireat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    expire_generic(s, argv, true, false, "expireat")
}

pub(super) fn pexpireat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    expire_generic(s, argv, false, false, "pexpireat")
}

/// TTL-family reply: -2 absent, -1 persistent, else `f(expire_at_ms, now_ms)`.
fn ttl_generic(engine: &Engine, key: &[u8], f: impl FnOnce(u64, u64) -> i64) -> Reply {
    Reply::Integer(match engine.expiry(key) {
        KeyExpiry::NoKey => -2,
        KeyExpiry::Persistent => -1,
        KeyExpiry::AtUnixMs(at) => f(at, engine.inner.clock.now_ms()),
    })
}

pub(super) fn ttl(s: &mut Session, argv: &[&[u8]]) -> Reply {
    ttl_generic(s.engine_db(), argv[1], |at, now| (at.saturating_sub(now) as i64 + 500) / 1000)
}

pub(super) fn pttl(s: &mut Session, argv: &[&[u8]]) -> Reply {
    ttl_generic(s.engine_db(), argv[1], |at, now| at.saturating_sub(now) as i64)
}

pub(super) fn expiretime(s: &mut Session, argv: &[&[u8]]) -> Reply {
    ttl_generic(s.engine_db(), argv[1], |at, _| (at / 1000) as i64)
}

pub(super) fn pexpiretime(s: &mut Session, argv: &[&[u8]]) -> Reply {
    ttl_generic(s.engine_db(), argv[1], |at, _| at as i64)
}

pub(super) fn persist(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::from(s.engine_db().persist(argv[1]))
}

pub(super) fn rename(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().rename(argv[1], argv[2]) {
        Ok(()) => Reply::OK,
        Err(err) => err.into(),
    }
}

pub(super) fn renamenx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().rename_nx(argv[1], argv[2]).into()
}

pub(super) fn copy(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let databases = s.engine_db().databases();
    let mut dst_db = None;
    let mut replace = false;
    let mut args = Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if is(arg, "replace") {
            replace = true;
        } else if is(arg, "db") {
            match args.value().and_then(|v| db_index(v, databases)) {
                Ok(db) => dst_db = Some(db),
                Err(err) => return err.into(),
            }
        } else {
            return Error::Syntax.into();
        }
    }
    s.engine_db().copy(argv[1], argv[2], dst_db, replace).into()
}

pub(super) fn move_(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let databases = s.engine_db().databases();
    db_index(argv[2], databases).and_then(|db| s.engine_db().move_to_db(argv[1], db)).into()
}

pub(super) fn keys(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Array(s.engine_db().keys(argv[1]).into_iter().map(Reply::Bulk).collect())
}

/// Parses a SCAN cursor as Redis does, with C's `strtoul` (base 10) on the argument as a C
/// string: no leading whitespace, an optional sign (a negative number wraps modulo 2^64, so
/// `-1` is the largest cursor), digits up to the end or a NUL byte, overflow refused. The empty
/// string is cursor 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Result<u64> {
    let invalid = || Error::msg("ERR invalid cursor");
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    if text.first().is_some_and(|&b| b.is_ascii_whitespace() || b == 0x0b) {
        return Err(invalid());
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return if text.is_empty() { Ok(0) } else { Err(invalid()) };
    }
    let mut value: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return Err(invalid());
        }
        value =
            value.checked_mul(10).and_then(|v| v.checked_add(u64::from(digit - b'0'))).ok_or_else(invalid)?;
    }
    Ok(if negative { value.wrapping_neg() } else { value })
}

/// SCAN's parsed arguments.
struct ScanArgs<'a> {
    cursor: u64,
    options: ScanOptions<'a>,
    /// `TYPE` named a type this engine does not hold (or no type at all): Redis 7 accepts any
    /// name and then returns no keys.
    type_matches_nothing: bool,
}

fn parse_scan<'a>(argv: &'a [&'a [u8]]) -> Result<ScanArgs<'a>> {
    let cursor = parse_cursor(argv[1])?;
    let mut type_matches_nothing = false;
    let mut options = ScanOptions::default();
    let mut args = Args::new(argv, 2);
    while let Some(arg) = args.next() {
        if is(arg, "match") {
            options.pattern = Some(args.value()?);
        } else if is(arg, "count") {
            let count = args.int()?;
            if count < 1 {
                return Err(Error::Syntax);
            }
            options.count = Some(count as usize);
        } else if is(arg, "type") {
            // Redis 7 accepts any type name (the error for unknown ones is slated for 8.0) and
            // then matches nothing for types no key here can have.
            match KeyType::parse(args.value()?) {
                Some(key_type) => options.key_type = Some(key_type),
                None => type_matches_nothing = true,
            }
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(ScanArgs { cursor, options, type_matches_nothing })
}

pub(super) fn scan(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let parsed = match parse_scan(argv) {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let (next, mut keys) = s.engine_db().scan(parsed.cursor, parsed.options);
    if parsed.type_matches_nothing {
        keys.clear();
    }
    Reply::Array(vec![
        Reply::bulk(next.to_string()),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}

pub(super) fn randomkey(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::bulk_or_null(s.engine_db().random_key())
}

pub(super) fn object_encoding(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().object_encoding(argv[2]).map_or(Reply::Null, Reply::bulk)
}

pub(super) fn object_freq(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().object_freq(argv[2]) {
        Ok(freq) => freq.map_or(Reply::Null, |freq| Reply::Integer(i64::from(freq))),
        Err(error) => Reply::from(error),
    }
}

pub(super) fn object_idletime(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().object_idletime(argv[2]) {
        Ok(idle) => idle.map_or(Reply::Null, |idle| Reply::Integer(idle as i64)),
        Err(error) => Reply::from(error),
    }
}

pub(super) fn object_refcount(s: &mut Session, argv: &[&[u8]]) -> Reply {
    // Values are never shared between keys here, so every live value has one reference.
    s.engine_db().key_type(argv[2]).map_or(Reply::Null, |_| Reply::Integer(1))
}

pub(super) fn memory_usage(s: &mut Session, argv: &[&[u8]]) -> Reply {
    // `SAMPLES count` is accepted as Redis takes it; every byte is counted exactly here.
    let mut args = super::args::Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if !super::args::is(arg, "SAMPLES") {
            return Reply::from(Error::Syntax);
        }
        match args.int() {
            Ok(n) if n >= 0 => {}
            Ok(_) => return Reply::from(Error::Syntax),
            Err(error) => return Reply::from(error),
        }
    }
    s.engine_db().memory_usage(argv[2]).map_or(Reply::Null, |bytes| Reply::Integer(bytes as i64))
}

pub(super) fn memory_stats(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    let (m, overhead_by_db) = s.engine_db().memory_stats_by_db();
    let int = |n: u64| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let mut out: Vec<(Reply, Reply)> = vec![
        (Reply::bulk("peak.allocated"), int(m.peak)),
        (Reply::bulk("total.allocated"), int(m.used)),
        (Reply::bulk("startup.allocated"), int(m.fixed)),
        (Reply::bulk("overhead.total"), int(m.fixed + m.overhead)),
    ];
    for (db, overhead) in overhead_by_db {
        out.push((
            Reply::bulk(format!("db.{db}")),
            Reply::Map(vec![
                (Reply::bulk("overhead.hashtable.main"), int(overhead)),
                (Reply::bulk("overhead.hashtable.expires"), Reply::Integer(0)),
            ]),
        ));
    }
    let per_key = (m.used - m.fixed).checked_div(m.keys).unwrap_or(0);
    out.extend([
        (Reply::bulk("keys.count"), int(m.keys)),
        (Reply::bulk("keys.bytes-per-key"), int(per_key)),
        (Reply::bulk("dataset.bytes"), int(m.dataset)),
        (Reply::bulk("dataset.percentage"), Reply::Double(m.dataset_percent())),
        (Reply::bulk("peak.percentage"), Reply::Double(m.peak_percent())),
        (Reply::bulk("keyspace.free-slots.bytes"), int(m.free_slot_bytes)),
    ]);
    if let Some((ratio, bytes)) = m.fragmentation() {
        out.push((Reply::bulk("fragmentation"), Reply::Double(ratio)));
        out.push((Reply::bulk("fragmentation.bytes"), Reply::Integer(bytes)));
    }
    Reply::Map(out)
}

pub(super) fn memory_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    super::introspection::help_reply(
        "MEMORY",
        &[
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Every byte is counted",
            "    (SAMPLES is accepted and has no effect).",
        ],
    )
}

pub(super) fn object_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    super::introspection::help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::test_utils::error_text;

    #[test]
    fn expire_checks_options_before_the_time() {
        let engine = Engine::new();
        assert_eq!(error_text(engine.execute(&["EXPIRE", "k", "abc", "FOO"])), "ERR Unsupported option FOO");
        assert_eq!(
            error_text(engine.execute(&["EXPIRE", "k", "abc", "NX", "XX"])),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            error_text(engine.execute(&["EXPIRE", "k", "abc", "NX"])),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn scan_cursor_reads_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"12\x00garbage"), Ok(12));
        for bad in [&b" 0"[..], b"\t1", b"1 ", b"abc", b"-", b"+", b"1.5", b"0x10", b"18446744073709551616"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scan_with_an_unknown_type_matches_nothing() {
        let engine = Engine::new();
        engine.execute(&["SET", "k", "v"]);
        let empty = Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
        assert_eq!(engine.execute(&["SCAN", "0", "TYPE", "foo"]), empty);
        assert_eq!(engine.execute(&["SCAN", "0", "TYPE", "list"]), empty);
        let found = Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![Reply::bulk("k")])]);
        assert_eq!(engine.execute(&["SCAN", "0", "TYPE", "STRING", "COUNT", "100"]), found);
    }
}
