//! Handlers for database and server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, INFO, TIME,
//! CONFIG.

use super::args::is;
use crate::error::Error;
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;

pub(super) fn dbsize(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    Reply::Integer(s.engine_db().dbsize() as i64)
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC; both free memory after the locks go.
fn flush_mode_ok(argv: &[&[u8]]) -> bool {
    match argv {
        [_] => true,
        [_, mode] => is(mode, "async") || is(mode, "sync"),
        _ => false,
    }
}

pub(super) fn flushdb(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if !flush_mode_ok(argv) {
        return Error::Syntax.into();
    }
    s.engine_db().flushdb();
    Reply::OK
}

pub(super) fn flushall(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if !flush_mode_ok(argv) {
        return Error::Syntax.into();
    }
    s.engine_db().flushall();
    Reply::OK
}

pub(super) fn swapdb(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let index = |arg: &[u8], which: &str| {
        parse_i64(arg).map_err(|_| Error::msg(format!("ERR invalid {which} DB index")))
    };
    let result =
        index(argv[1], "first").and_then(|a| Ok((a, index(argv[2], "second")?))).and_then(|(a, b)| {
            let a = usize::try_from(a).map_err(|_| Error::DbIndexOutOfRange)?;
            let b = usize::try_from(b).map_err(|_| Error::DbIndexOutOfRange)?;
            s.engine_db().swapdb(a, b)
        });
    match result {
        Ok(()) => Reply::OK,
        Err(err) => err.into(),
    }
}

pub(super) fn info(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let text = s.engine_db().info(&argv[1..]);
    Reply::Verbatim { format: *b"txt", text: text.into_bytes() }
}

pub(super) fn time(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    let now_us = s.engine_db().inner.clock.now_us();
    Reply::Array(vec![
        Reply::bulk((now_us / 1_000_000).to_string()),
        Reply::bulk((now_us % 1_000_000).to_string()),
    ])
}

pub(super) fn config_get(s: &mut Session, argv: &[&[u8]]) -> Reply {
    let pairs = s.engine_db().inner.config_get(&argv[2..]);
    Reply::Map(pairs.into_iter().map(|(name, value)| (Reply::bulk(name), Reply::bulk(value))).collect())
}

pub(super) fn config_set(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if argv.len() % 2 != 0 {
        return Error::arity("config|set").into();
    }
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks_exact(2).map(|p| (p[0], p[1])).collect();
    match s.engine_db().inner.config_set(&pairs) {
        Ok(()) => Reply::OK,
        Err(err) => err.into(),
    }
}

pub(super) fn config_resetstat(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    s.engine_db().inner.stats.reset();
    Reply::OK
}

pub(super) fn config_help(_s: &mut Session, _argv: &[&[u8]]) -> Reply {
    super::introspection::help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
        ],
    )
}
