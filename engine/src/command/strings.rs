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

/// Parses an `EX`/`PX`/`EXAT`/`PXAT` value the way Redis does: positive, and for seconds
/// small enough to convert to milliseconds.
fn parse_expiry(unit: &[u8], value: &[u8], command: &'static str) -> Result<Expiry> {
    let n = parse_i64(value)?;
    let seconds = is(unit, "ex") || is(unit, "exat");
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(Error::InvalidExpireTime(command));
    }
    let ms = if seconds { n * 1000 } else { n } as u64;
    Ok(if is(unit, "ex") || is(unit, "px") {
        Expiry::In(Duration::from_millis(ms))
    } else {
        Expiry::AtUnixMs(ms)
    })
}

fn is_expiry_keyword(arg: &[u8]) -> bool {
    ["ex", "px", "exat", "pxat"].iter().any(|k| is(arg, k))
}

fn parse_set_options(argv: &[&[u8]]) -> Result<SetOptions> {
    let mut options = SetOptions::default();
    let mut args = Args::new(argv, 3);
    while let Some(arg) = args.next() {
        if is(arg, "nx") && options.condition != SetCondition::IfExists {
            options.condition = SetCondition::IfAbsent;
        } else if is(arg, "xx") && options.condition != SetCondition::IfAbsent {
            options.condition = SetCondition::IfExists;
        } else if is(arg, "get") {
            options.get = true;
        } else if is(arg, "keepttl") && options.expiry.is_none() {
            options.keep_ttl = true;
        } else if is_expiry_keyword(arg) && !options.keep_ttl && options.expiry.is_none() {
            options.expiry = Some(parse_expiry(arg, args.value()?, "set")?);
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(options)
}

pub(super) fn set(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let options = match parse_set_options(argv) {
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

fn set_with_ttl(s: &mut Session, argv: &[&[u8]], unit: &str, command: &'static str) -> Reply {
    let expiry = match parse_expiry(unit.as_bytes(), argv[2], command) {
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
    set_with_ttl(s, argv, "ex", "setex")
}

pub(super) fn psetex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_with_ttl(s, argv, "px", "psetex")
}

pub(super) fn getset(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let options = SetOptions { get: true, ..SetOptions::default() };
    s.engine_db().set(argv[1], argv[2], options).map(|o| o.previous).into()
}

pub(super) fn getdel(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().getdel(argv[1]).into()
}

fn parse_getex(argv: &[&[u8]]) -> Result<GetExExpiry> {
    let mut expiry = GetExExpiry::Keep;
    let mut args = Args::new(argv, 2);
    while let Some(arg) = args.next() {
        expiry = match expiry {
            GetExExpiry::Keep if is(arg, "persist") => GetExExpiry::Persist,
            GetExExpiry::Keep if is_expiry_keyword(arg) => {
                GetExExpiry::Set(parse_expiry(arg, args.value()?, "getex")?)
            }
            _ => return Err(Error::Syntax),
        };
    }
    Ok(expiry)
}

pub(super) fn getex(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match parse_getex(argv) {
        Ok(expiry) => s.engine_db().getex(argv[1], expiry).into(),
        Err(err) => err.into(),
    }
}

pub(super) fn mget(s: &mut Session, argv: &[&[u8]]) -> Reply {
    Reply::Array(s.engine_db().mget(&argv[1..]).into_iter().map(Reply::bulk_or_null).collect())
}

fn pairs<'a>(s: &Session, argv: &'a [&'a [u8]]) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    let _ = s;
    if argv.len() % 2 == 0 {
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
