//! Handlers for set commands: parse argv, call the typed API in `crate::sets`.

use super::args::{Args, collection_scan, is};
use super::table::{ALLKEYS, CommandSpec, F, KEY1, OOM, R, W, cmd, k};
use crate::error::{Error, Result};
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;

/// The set commands' table entries.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("sadd", -3, W.union(OOM).union(F), KEY1, "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd),
    cmd!("srem", -3, W.union(F), KEY1, "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem),
    cmd!("sismember", 3, R.union(F), KEY1, "set", "1.0.0", "Determines whether a member belongs to a set.", sismember),
    cmd!("smismember", -3, R.union(F), KEY1, "set", "6.2.0", "Determines whether multiple members belong to a set.", smismember),
    cmd!("scard", 2, R.union(F), KEY1, "set", "1.0.0", "Returns the number of members in a set.", scard),
    cmd!("smembers", 2, R, KEY1, "set", "1.0.0", "Returns all members of a set.", smembers),
    cmd!("spop", -2, W.union(F), KEY1, "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop),
    cmd!("srandmember", -2, R, KEY1, "set", "1.0.0", "Get one or multiple random members from a set", srandmember),
    cmd!("smove", 4, W.union(F), k(1, 2, 1), "set", "1.0.0", "Moves a member from one set to another.", smove),
    cmd!("sinter", -2, R, ALLKEYS, "set", "1.0.0", "Returns the intersect of multiple sets.", sinter),
    cmd!("sunion", -2, R, ALLKEYS, "set", "1.0.0", "Returns the union of multiple sets.", sunion),
    cmd!("sdiff", -2, R, ALLKEYS, "set", "1.0.0", "Returns the difference of multiple sets.", sdiff),
    cmd!("sinterstore", -3, W.union(OOM), ALLKEYS, "set", "1.0.0", "Stores the intersect of multiple sets in a key.", sinterstore),
    cmd!("sunionstore", -3, W.union(OOM), ALLKEYS, "set", "1.0.0", "Stores the union of multiple sets in a key.", sunionstore),
    cmd!("sdiffstore", -3, W.union(OOM), ALLKEYS, "set", "1.0.0", "Stores the difference of multiple sets in a key.", sdiffstore),
    cmd!("sintercard", -3, R.union(crate::command::CommandFlags::MOVABLE_KEYS), k(0, 0, 0), "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", sintercard),
    cmd!("sscan", -3, R, KEY1, "set", "2.8.0", "Iterates over members of a set.", sscan),
];

fn members(list: Vec<Vec<u8>>) -> Vec<Reply> {
    list.into_iter().map(Reply::Bulk).collect()
}

fn count_reply(result: Result<usize>) -> Reply {
    result.map(|n| n as i64).into()
}

fn sadd(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().sadd(argv[1], &argv[2..]))
}

fn srem(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().srem(argv[1], &argv[2..]))
}

fn sismember(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().sismember(argv[1], argv[2]).into()
}

fn smismember(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().smismember(argv[1], &argv[2..]) {
        Ok(flags) => Reply::Array(flags.into_iter().map(Reply::from).collect()),
        Err(err) => err.into(),
    }
}

fn scard(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().scard(argv[1]))
}

fn smembers(s: &mut Session, argv: &[&[u8]]) -> Reply {
    match s.engine_db().smembers(argv[1]) {
        Ok(list) => Reply::Set(members(list)),
        Err(err) => err.into(),
    }
}

/// A count argument that must not be negative (SPOP).
fn positive_count(arg: &[u8]) -> Result<usize> {
    let n = parse_i64(arg).map_err(|_| Error::msg("ERR value is out of range, must be positive"))?;
    usize::try_from(n).map_err(|_| Error::msg("ERR value is out of range, must be positive"))
}

fn spop(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let engine = s.engine_db();
    match argv.len() {
        2 => match engine.spop(argv[1], 1) {
            Ok(mut popped) => Reply::bulk_or_null(popped.pop()),
            Err(err) => err.into(),
        },
        3 => match positive_count(argv[2]).and_then(|count| engine.spop(argv[1], count)) {
            Ok(popped) => Reply::Set(members(popped)),
            Err(err) => err.into(),
        },
        _ => Error::Syntax.into(),
    }
}

fn srandmember(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let engine = s.engine_db();
    match argv.len() {
        2 => match engine.srandmember(argv[1], 1) {
            Ok(mut picked) => Reply::bulk_or_null(picked.pop()),
            Err(err) => err.into(),
        },
        3 => match parse_i64(argv[2]).and_then(|count| engine.srandmember(argv[1], count)) {
            Ok(picked) => Reply::Array(members(picked)),
            Err(err) => err.into(),
        },
        _ => Error::Syntax.into(),
    }
}

fn smove(s: &mut Session, argv: &[&[u8]]) -> Reply {
    s.engine_db().smove(argv[1], argv[2], argv[3]).into()
}

fn set_reply(result: Result<Vec<Vec<u8>>>) -> Reply {
    match result {
        Ok(list) => Reply::Set(members(list)),
        Err(err) => err.into(),
    }
}

fn sinter(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_reply(s.engine_db().sinter(&argv[1..]))
}

fn sunion(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_reply(s.engine_db().sunion(&argv[1..]))
}

fn sdiff(s: &mut Session, argv: &[&[u8]]) -> Reply {
    set_reply(s.engine_db().sdiff(&argv[1..]))
}

fn sinterstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().sinterstore(argv[1], &argv[2..]))
}

fn sunionstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().sunionstore(argv[1], &argv[2..]))
}

fn sdiffstore(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(s.engine_db().sdiffstore(argv[1], &argv[2..]))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn parse_sintercard<'a>(argv: &'a [&'a [u8]]) -> Result<(&'a [&'a [u8]], usize)> {
    let numkeys = parse_i64(argv[1])?;
    if numkeys <= 0 {
        return Err(Error::msg("ERR numkeys should be greater than 0"));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > argv.len() - 2 {
        return Err(Error::msg("ERR Number of keys can't be greater than number of args"));
    }
    let keys = &argv[2..2 + numkeys];
    let mut limit = 0;
    let mut args = Args::new(argv, 2 + numkeys);
    while let Some(arg) = args.next() {
        if is(arg, "limit") {
            let n = args.int()?;
            limit = usize::try_from(n).map_err(|_| Error::msg("ERR LIMIT can't be negative"))?;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok((keys, limit))
}

fn sintercard(s: &mut Session, argv: &[&[u8]]) -> Reply {
    count_reply(parse_sintercard(argv).and_then(|(keys, limit)| s.engine_db().sintercard(keys, limit)))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`.
fn sscan(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let (cursor, pattern, count) = match collection_scan(argv, false) {
        Ok(scan) => (scan.cursor, scan.pattern, scan.count),
        Err(err) => return err.into(),
    };
    match s.engine_db().sscan(argv[1], cursor, pattern, count) {
        Ok((next, found)) => Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(members(found))]),
        Err(err) => err.into(),
    }
}
