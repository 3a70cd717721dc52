//! Handlers for string commands: parse argv, call the typed API in `crate::strings`.

use std::time::Duration;

use super::args::{Args, is};
use crate::error::{Error, Result};
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;
use crate::strings::{Expiry, GetExExpiry, LcsOptions, SetCondition, SetOptions};

pub(super) fn get(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().get(argv[1]).into()
}

/// The expiry keyword of SET or GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpiryUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpiryUnit {
    fn parse(arg: &[u8]) -> Option<ExpiryUnit> {
        [
            ("ex", ExpiryUnit::Ex),
            ("px", ExpiryUnit::Px),
            ("exat", ExpiryUnit::ExAt),
            ("pxat", ExpiryUnit::PxAt),
        ]
        .into_iter()
        .find_map(|(keyword, unit)| is(arg, keyword).then_some(unit))
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpiryUnit::Ex | ExpiryUnit::ExAt)
    }

    fn relative(self) -> bool {
        matches!(self, ExpiryUnit::Ex | ExpiryUnit::Px)
    }
}

/// The options SET and GETEX share, as Redis's `parseExtendedStringArgumentsOrReply` reads
/// them: the expiry's value is only kept here and checked later (see [`resolve_expiry`]), so a
/// syntax error anywhere wins over a bad number.
#[derive(Debug, Default)]
struct ExtendedArgs<'a> {
    condition: SetCondition,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expiry: Option<(ExpiryUnit, &'a [u8])>,
}

/// Parses SET's options (`for_set`) or GETEX's, from `argv[start]`. As in Redis, a keyword may
/// repeat (the last expiry value wins) but not clash with another: NX with XX, two different
/// expiry units, KEEPTTL or PERSIST with an expiry, KEEPTTL with PERSIST.
fn parse_extended<'a>(argv: &'a [&'a [u8]], start: usize, for_set: bool) -> Result<ExtendedArgs<'a>> {
    let mut parsed = ExtendedArgs::default();
    let mut args = Args::new(argv, start);
    while let Some(arg) = args.next() {
        let unit = ExpiryUnit::parse(arg);
        let expiry_free = parsed.expiry.is_none();
        if for_set && is(arg, "nx") && parsed.condition != SetCondition::IfExists {
            parsed.condition = SetCondition::IfAbsent;
        } else if for_set && is(arg, "xx") && parsed.condition != SetCondition::IfAbsent {
            parsed.condition = SetCondition::IfExists;
        } else if for_set && is(arg, "get") {
            parsed.get = true;
        } else if for_set && is(arg, "keepttl") && expiry_free {
            parsed.keep_ttl = true;
        } else if !for_set && is(arg, "persist") && expiry_free {
            parsed.persist = true;
        } else if let Some(unit) = unit.filter(|&unit| {
            !parsed.keep_ttl && !parsed.persist && parsed.expiry.is_none_or(|(u, _)| u == unit)
        }) {
            parsed.expiry = Some((unit, args.value()?));
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(parsed)
}

/// Checks an expiry value as Redis's `getExpireMillisecondsOrReply`: an integer, positive, in
/// seconds small enough to convert to milliseconds, and for a relative time small enough to
/// add to now (errors name `command`).
fn resolve_expiry(s: &Session, unit: ExpiryUnit, value: &[u8], command: &'static str) -> Result<Expiry> {
    let n = parse_i64(value)?;
    if n <= 0 || (unit.in_seconds() && n > i64::MAX / 1000) {
        return Err(Error::InvalidExpireTime(command));
    }
    let ms = if unit.in_seconds() { n * 1000 } else { n };
    if !unit.relative() {
        return Ok(Expiry::AtUnixMs(ms as u64));
    }
    let now_ms = s.engine_db().inner.clock.now_ms();
    if ms.checked_add(i64::try_from(now_ms).unwrap_or(i64::MAX)).is_none() {
        return Err(Error::InvalidExpireTime(command));
    }
    Ok(Expiry::In(Duration::from_millis(ms as u64)))
}

fn parse_set_options(s: &Session, argv: &[&[u8]]) -> Result<SetOptions> {
    let parsed = parse_extended(argv, 3, true)?;
    let expiry = match parsed.expiry {
        Some((unit, value)) => Some(resolve_expiry(s, unit, value, "set")?),
        None => None,
    };
    Ok(SetOptions { condition: parsed.condition, expiry, keep_ttl: parsed.keep_ttl, get: parsed.get })
}

pub(super) fn set(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let options = match parse_set_options(s, argv) {
        Ok(options) => options,
        Err(err) => return err.into(),
    };
    match s.engine_db().set(argv[1], argv[2], options) {
        Err(err) => err.into(),
        Ok(outcome) if options.get => Reply::bulk_or_null(outcome.previous),
        Ok(outcome) if outcome.written => Reply::OK,
        Ok(_) => Reply::Null,
    }
}

pub(super) fn setnx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let options = SetOptions { condition: SetCondition::IfAbsent, ..SetOptions::default() };
    s.engine_db().set(argv[1], argv[2], options).map(|o| o.written).into()
}

fn set_with_ttl(s: &mut Session, argv: &[&[u8]], unit: ExpiryUnit, command: &'static str) -> Reply {
    let expiry = match resolve_expiry(s, unit, argv[2], command) {
        Ok(expiry) => expiry,
        Err(err) => return err.into(),
    };
    let options = SetOptions { expiry: Some(expiry), ..SetOptions::default() };
    match s.engine_db().set(argv[1], argv[3], options) {
        Ok(_) => Reply::OK,
        Err(err) => err.into(),
    }
}

pub(super) fn setex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_with_ttl(s, argv, ExpiryUnit::Ex, "setex")
}

pub(super) fn psetex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_with_ttl(s, argv, ExpiryUnit::Px, "psetex")
}

pub(super) fn getset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let options = SetOptions { get: true, ..SetOptions::default() };
    s.engine_db().set(argv[1], argv[2], options).map(|o| o.previous).into()
}

pub(super) fn getdel(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().getdel(argv[1]).into()
}

/// GETEX in Redis's order: option syntax, then the key (absent: nil, whatever the expiry
/// says; not a string: WRONGTYPE), then the expiry's value.
pub(super) fn getex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let parsed = match parse_extended(argv, 2, false) {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let expiry = match parsed.expiry {
        None if parsed.persist => GetExExpiry::Persist,
        None => GetExExpiry::Keep,
        Some((unit, value)) => match resolve_expiry(s, unit, value, "getex") {
            Ok(expiry) => GetExExpiry::Set(expiry),
            // The value is only checked once the key is known to hold a string.
            Err(err) => {
                return s
                    .engine_db()
                    .get(argv[1])
                    .and_then(|found| found.map_or(Ok(None), |_| Err(err)))
                    .into();
            }
        },
    };
    s.engine_db().getex(argv[1], expiry).into()
}

pub(super) fn mget(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Array(s.engine_db().mget(&argv[1..]).into_iter().map(Reply::bulk_or_null).collect())
}

fn pairs<'a>(s: &Session, argv: &'a [&'a [u8]]) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    let _ = s;
    if argv.len().is_multiple_of(2) {
        let name = if is(argv[0], "msetnx") { "msetnx" } else { "mset" };
        return Err(Error::arity(name));
    }
    Ok(argv[1..].chunks_exact(2).map(|pair| (pair[0], pair[1])).collect())
}

pub(super) fn mset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match pairs(s, argv).and_then(|pairs| s.engine_db().mset(&pairs)) {
        Ok(()) => Reply::OK,
        Err(err) => err.into(),
    }
}

pub(super) fn msetnx(s: &mut Session, argv: &[&[u8]]) -> Reply {
    pairs(s, argv).and_then(|pairs| s.engine_db().msetnx(&pairs)).into()
}

pub(super) fn append(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().append(argv[1], argv[2]).map(|n| n as i64).into()
}

pub(super) fn strlen(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().strlen(argv[1]).map(|n| n as i64).into()
}

pub(super) fn incr(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().incr_by(argv[1], 1).into()
}

pub(super) fn decr(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().incr_by(argv[1], -1).into()
}

pub(super) fn incrby(s: &mut Session, argv: &[&[u8]]) -> Reply {
    parse_i64(argv[2]).and_then(|delta| s.engine_db().incr_by(argv[1], delta)).into()
}

pub(super) fn decrby(s: &mut Session, argv: &[&[u8]]) -> Reply {
    parse_i64(argv[2]).and_then(|delta| s.engine_db().decr_by(argv[1], delta)).into()
}

pub(super) fn incrbyfloat(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().incr_by_float_text(argv[1], argv[2]).map(Reply::Bulk).unwrap_or_else(Reply::Error)
}

pub(super) fn getrange(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let range = parse_i64(argv[2]).and_then(|start| Ok((start, parse_i64(argv[3])?)));
    range
        .and_then(|(start, end)| s.engine_db().getrange(argv[1], start, end))
        .map(Reply::Bulk)
        .unwrap_or_else(Reply::Error)
}

pub(super) fn setrange(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let offset = match parse_i64(argv[2]) {
        Ok(offset) if offset >= 0 => offset as usize,
        Ok(_) => return Error::OffsetOutOfRange.into(),
        Err(err) => return err.into(),
    };
    s.engine_db().setrange(argv[1], offset, argv[3]).map(|n| n as i64).into()
}

/// LCS's flags.
struct LcsArgs {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: usize,
}

fn parse_lcs(argv: &[&[u8]]) -> Result<LcsArgs> {
    let mut parsed = LcsArgs { len: false, idx: false, with_match_len: false, min_match_len: 0 };
    let mut args = Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if is(arg, "len") {
            parsed.len = true;
        } else if is(arg, "idx") {
            parsed.idx = true;
        } else if is(arg, "withmatchlen") {
            parsed.with_match_len = true;
        } else if is(arg, "minmatchlen") {
            parsed.min_match_len = usize::try_from(args.int()?).unwrap_or(0);
        } else {
            return Err(Error::Syntax);
        }
    }
    if parsed.len && parsed.idx {
        return Err(Error::msg("ERR If you want both the length and indexes, please just use IDX."));
    }
    Ok(parsed)
}

pub(super) fn lcs(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let parsed = match parse_lcs(argv) {
        Ok(parsed) => parsed,
        Err(err) => return err.into(),
    };
    let engine = s.engine_db();
    if !parsed.idx {
        let sequence = engine.lcs(argv[1], argv[2]);
        return match sequence {
            Ok(seq) if parsed.len => Reply::Integer(seq.len() as i64),
            Ok(seq) => Reply::Bulk(seq),
            Err(err) => err.into(),
        };
    }
    let options = LcsOptions { min_match_len: parsed.min_match_len };
    let (matches, len) = match engine.lcs_matches(argv[1], argv[2], options) {
        Ok(found) => found,
        Err(err) => return err.into(),
    };
    let range = |(start, end): (usize, usize)| {
        Reply::Array(vec![Reply::Integer(start as i64), Reply::Integer(end as i64)])
    };
    let matches = matches
        .into_iter()
        .map(|m| {
            let mut item = vec![range(m.a), range(m.b)];
            if parsed.with_match_len {
                item.push(Reply::Integer(m.len as i64));
            }
            Reply::Array(item)
        })
        .collect();
    Reply::Map(vec![
        (Reply::bulk("matches"), Reply::Array(matches)),
        (Reply::bulk("len"), Reply::Integer(len as i64)),
    ])
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::reply::Reply;
    use crate::test_utils::error_text;

    #[test]
    fn set_option_may_repeat_and_the_last_expiry_wins() {
        let engine = Engine::new();
        assert_eq!(engine.execute(&["SET", "k", "v", "EX", "10", "EX", "20"]), Reply::OK);
        assert_eq!(engine.execute(&["TTL", "k"]), Reply::Integer(20));
        assert_eq!(engine.execute(&["SET", "k", "v", "PXAT", "0", "PXAT", "4000000000000"]), Reply::OK);
        assert_eq!(engine.execute(&["PEXPIRETIME", "k"]), Reply::Integer(4_000_000_000_000));
        assert_eq!(engine.execute(&["SET", "k", "v", "NX", "NX", "GET", "GET"]), Reply::bulk("v"));
        assert_eq!(
            error_text(engine.execute(&["SET", "k", "v", "EX", "10", "PX", "10"])),
            "ERR syntax error"
        );
        assert_eq!(error_text(engine.execute(&["SET", "k", "v", "KEEPTTL", "EX", "10"])), "ERR syntax error");
    }

    #[test]
    fn set_syntax_errors_win_over_bad_expiry_values() {
        let engine = Engine::new();
        assert_eq!(error_text(engine.execute(&["SET", "k", "v", "EX", "abc", "FOO"])), "ERR syntax error");
        assert_eq!(error_text(engine.execute(&["SET", "k", "v", "EX", "0", "NX", "XX"])), "ERR syntax error");
        assert_eq!(
            error_text(engine.execute(&["SET", "k", "v", "EX", "abc"])),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn relative_expiry_overflow_names_the_command() {
        let engine = Engine::new();
        let max = i64::MAX.to_string();
        let seconds = (i64::MAX / 1000).to_string();
        for (argv, name) in [
            (vec!["SETEX", "k", seconds.as_str(), "v"], "setex"),
            (vec!["PSETEX", "k", max.as_str(), "v"], "psetex"),
            (vec!["SET", "k", "v", "PX", max.as_str()], "set"),
        ] {
            let expected = format!("ERR invalid expire time in '{name}' command");
            assert_eq!(error_text(engine.execute(&argv)), expected, "{argv:?}");
        }
    }

    #[test]
    fn getex_checks_syntax_then_key_then_expiry() {
        let engine = Engine::new();
        assert_eq!(engine.execute(&["GETEX", "missing", "EX", "0"]), Reply::Null);
        assert_eq!(engine.execute(&["GETEX", "missing", "EX", "abc"]), Reply::Null);
        assert_eq!(error_text(engine.execute(&["GETEX", "missing", "EX", "abc", "FOO"])), "ERR syntax error");
        engine.execute(&["SET", "k", "v"]);
        assert_eq!(
            error_text(engine.execute(&["GETEX", "k", "EX", "0"])),
            "ERR invalid expire time in 'getex' command"
        );
        assert_eq!(engine.execute(&["GETEX", "k", "PERSIST", "PERSIST"]), Reply::bulk("v"));
        assert_eq!(engine.execute(&["GETEX", "k", "EX", "10", "EX", "20"]), Reply::bulk("v"));
        assert_eq!(engine.execute(&["TTL", "k"]), Reply::Integer(20));
        assert_eq!(error_text(engine.execute(&["GETEX", "k", "EX", "10", "PERSIST"])), "ERR syntax error");
        assert_eq!(error_text(engine.execute(&["GETEX", "k", "KEEPTTL"])), "ERR syntax error");
    }
}
