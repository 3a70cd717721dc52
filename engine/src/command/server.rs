//! Handlers for database and server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, INFO, TIME,
//! CONFIG.

use super::args::{int32, is};
use crate::error::Error;
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
    // Redis reads each index with `getIntFromObjectOrReply` and its own message, which it
    // uses both for a non-integer and for an integer outside 32 bits.
    let index = |arg: &[u8], which: &str| {
        int32(arg).map(i64::from).map_err(|_| Error::msg(format!("ERR invalid {which} DB index")))
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
    // The table's arity (-4) rejects `CONFIG SET name`; a dangling name after whole pairs is
    // Redis's syntax error.
    if !argv.len().is_multiple_of(2) {
        return Error::Syntax.into();
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

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::test_utils::error_text;

    #[test]
    fn swapdb_index_outside_i32_is_invalid_index() {
        let engine = Engine::new();
        assert_eq!(error_text(engine.execute(&["SWAPDB", "0", "4294967296"])), "ERR invalid second DB index");
        assert_eq!(error_text(engine.execute(&["SWAPDB", "2147483648", "0"])), "ERR invalid first DB index");
        assert_eq!(error_text(engine.execute(&["SWAPDB", "0", "16"])), "ERR DB index is out of range");
    }

    #[test]
    fn config_set_with_a_dangling_name_is_a_syntax_error() {
        let engine = Engine::new();
        assert_eq!(
            error_text(engine.execute(&["CONFIG", "SET", "hz", "10", "lfu-log-factor"])),
            "ERR syntax error"
        );
        assert_eq!(
            error_text(engine.execute(&["CONFIG", "SET", "hz"])),
            "ERR wrong number of arguments for 'config|set' command"
        );
    }
}
