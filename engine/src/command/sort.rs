//! Handlers for `SORT` and `SORT_RO`: parse argv, call [`Engine::sort`](crate::Engine::sort).

use super::table::{CommandSpec, KEY1, MK, OOM, R, W, cmd};
use crate::error::{Error, Result};
use crate::num::parse_i64;
use crate::reply::Reply;
use crate::session::Session;
use crate::sort::{SortOptions, SortOutcome};

/// The sort commands' table entries. Their keys are movable: `BY`/`GET` patterns name keys
/// derived from the data, and `STORE` may appear anywhere.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("sort", -2, W.union(OOM).union(MK), KEY1, "generic", "1.0.0", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", sort),
    cmd!("sort_ro", -2, R.union(MK), KEY1, "generic", "7.0.0", "Returns the sorted elements of a list, a set, or a sorted set.", sort_ro),
];

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`, options in any order; `SORT_RO` (`readonly`) refuses `STORE`. As in
/// Redis, an option missing its arguments is a syntax error (even `LIMIT` with one bad
/// argument left), and the first bad option decides the error.
fn parse<'a>(argv: &[&'a [u8]], readonly: bool) -> Result<SortOptions<'a>> {
    let mut options = SortOptions::default();
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        let left = argv.len() - i - 1;
        if arg.eq_ignore_ascii_case(b"asc") {
            options.desc = false;
        } else if arg.eq_ignore_ascii_case(b"desc") {
            options.desc = true;
        } else if arg.eq_ignore_ascii_case(b"alpha") {
            options.alpha = true;
        } else if arg.eq_ignore_ascii_case(b"limit") && left >= 2 {
            options.limit = Some((parse_i64(argv[i + 1])?, parse_i64(argv[i + 2])?));
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"store") && left >= 1 && !readonly {
            options.store = Some(argv[i + 1]);
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"by") && left >= 1 {
            options.by = Some(argv[i + 1]);
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"get") && left >= 1 {
            options.get.push(argv[i + 1]);
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    Ok(options)
}

/// The key positions `COMMAND GETKEYS` reports for `SORT` (Redis's `sortGetKeys`): the
/// source, and the last `STORE` destination. `LIMIT`, `BY` and `GET` skip their arguments, so
/// `BY store` names no destination. Pattern keys are not listed: they depend on the data.
pub(crate) fn sort_key_positions(argv: &[&[u8]]) -> Vec<usize> {
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    let mut positions = vec![1];
    positions.extend(store);
    positions
}

fn run(s: &mut Session, argv: &[&[u8]], readonly: bool) -> Reply {
    let outcome = parse(argv, readonly).and_then(|options| s.engine_db().sort(argv[1], &options));
    match outcome {
        Ok(SortOutcome::Elements(values)) => {
            Reply::Array(values.into_iter().map(|v| v.map_or(Reply::Null, Reply::Bulk)).collect())
        }
        Ok(SortOutcome::Stored(len)) => Reply::Integer(i64::try_from(len).unwrap_or(i64::MAX)),
        Err(err) => err.into(),
    }
}

fn sort(s: &mut Session, argv: &[&[u8]]) -> Reply {
    run(s, argv, false)
}

fn sort_ro(s: &mut Session, argv: &[&[u8]]) -> Reply {
    run(s, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&'static str]) -> Vec<&'static [u8]> {
        args.iter().map(|a| a.as_bytes()).collect()
    }

    #[test]
    fn options_parse_in_any_order() {
        let args =
            argv(&["SORT", "k", "alpha", "LIMIT", "1", "2", "get", "#", "GET", "w_*", "desc", "by", "x_*"]);
        let options = parse(&args, false).expect("valid");
        assert!(options.alpha && options.desc);
        assert_eq!(options.limit, Some((1, 2)));
        assert_eq!(options.get, vec![&b"#"[..], b"w_*"]);
        assert_eq!(options.by, Some(&b"x_*"[..]));
        assert_eq!(options.store, None);
    }

    #[test]
    fn getkeys_positions_follow_redis() {
        let keys = |args: &[&'static str]| sort_key_positions(&argv(args));
        assert_eq!(keys(&["SORT", "k"]), [1]);
        assert_eq!(keys(&["SORT", "k", "STORE", "d"]), [1, 3]);
        assert_eq!(keys(&["SORT", "k", "STORE", "a", "STORE", "b"]), [1, 5]);
        assert_eq!(keys(&["SORT", "k", "BY", "store"]), [1]);
        assert_eq!(keys(&["SORT", "k", "LIMIT", "store", "1", "store", "x"]), [1, 6]);
        assert_eq!(keys(&["SORT", "k", "STORE"]), [1]);
        assert_eq!(keys(&["SORT", "k", "STORE", "x", "STORE"]), [1, 3]);
    }

    #[test]
    fn bad_options_are_redis_errors() {
        let err = |args: &[&'static str], readonly| parse(&argv(args), readonly).unwrap_err();
        assert_eq!(err(&["SORT", "k", "LIMIT", "a"], false), Error::Syntax, "too few arguments");
        assert_eq!(err(&["SORT", "k", "LIMIT", "a", "1"], false), Error::NotInteger);
        assert_eq!(err(&["SORT", "k", "LIMIT", "0", "b"], false), Error::NotInteger);
        assert_eq!(err(&["SORT", "k", "STORE"], false), Error::Syntax);
        assert_eq!(err(&["SORT", "k", "STORE", "d"], true), Error::Syntax, "SORT_RO has no STORE");
        assert_eq!(err(&["SORT", "k", "FOO", "LIMIT", "a", "b"], false), Error::Syntax);
        assert_eq!(err(&["SORT", "k", "BY"], false), Error::Syntax);
    }
}
