//! Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! After `MULTI`, dispatch queues every command (answering `QUEUED`) instead of running it,
//! except the ones [`runs_inside_multi`] names. A command that fails to resolve while queued
//! (unknown name, wrong arity) marks the transaction, and `EXEC` then answers `EXECABORT`.
//!
//! `EXEC` works out the stripes its commands touch ([`exec_scope`]: their keys from the
//! command table, or every stripe when a command's keys cannot be told in advance), write-locks
//! them all in the global lock order together with the watched keys' stripes, checks the
//! watch, runs the commands one by one, and releases the locks: no other client sees part of
//! it. Blocking commands inside it do not block: they answer as if they timed out at once.

use super::CommandFlags;
use super::table::{CommandSpec, F, KeySpec, LD, NOKEYS, NS, ST, cmd, movable_key_positions};
use crate::error::Error;
use crate::reply::Reply;
use crate::session::Session;
use crate::transaction::LockScope;

/// The transaction commands.
#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd!("multi", 1, NS.union(LD).union(ST).union(F).union(CommandFlags::ALLOW_BUSY), NOKEYS, "transactions", "1.2.0", "Starts a transaction.", multi),
    cmd!("exec", 1, NS.union(LD).union(ST).union(CommandFlags::SKIP_SLOWLOG), NOKEYS, "transactions", "1.2.0", "Executes all commands in a transaction.", exec),
    cmd!("discard", 1, NS.union(LD).union(ST).union(F).union(CommandFlags::ALLOW_BUSY), NOKEYS, "transactions", "2.0.0", "Discards a transaction.", discard),
    cmd!("watch", -2, NS.union(LD).union(ST).union(F).union(CommandFlags::ALLOW_BUSY), KeySpec { first: 1, last: -1, step: 1 }, "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", watch),
    cmd!("unwatch", 1, NS.union(LD).union(ST).union(F).union(CommandFlags::ALLOW_BUSY), NOKEYS, "transactions", "2.2.0", "Forgets about watched keys of a transaction.", unwatch),
];

/// A transaction being queued (after `MULTI`).
#[derive(Debug, Default)]
pub(crate) struct Multi {
    /// Queued commands: table index and argv.
    queued: Vec<(usize, Vec<Vec<u8>>)>,
    /// A command failed to queue: `EXEC` must refuse (`EXECABORT`).
    aborted: bool,
    /// The stripes the queued commands touch, worked out as they are queued.
    scope: LockScope,
}

/// Commands that run at once inside `MULTI` instead of being queued.
pub(super) fn runs_inside_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Queues a resolved command of an open transaction. The database the command will run in
/// is the current one: a queued `SELECT` has not run yet (and makes the scope everything).
pub(super) fn queue(s: &mut Session, index: usize, spec: &CommandSpec, argv: &[&[u8]]) -> Reply {
    let db = s.db();
    if let Some(multi) = s.multi.as_mut() {
        add_command(&mut multi.scope, db, spec, argv);
        multi.queued.push((index, argv.iter().map(|a| a.to_vec()).collect()));
    }
    Reply::simple("QUEUED")
}

/// A command failed to resolve (`err`): an open transaction is marked so that `EXEC`
/// refuses. An `EXEC` that failed itself (wrong arity) ends the transaction at once, and the
/// error becomes Redis's `EXECABORT Transaction discarded because of: ...`.
pub(super) fn rejected(s: &mut Session, argv: &[&[u8]], err: Error) -> Error {
    if let Some(multi) = s.multi.as_mut() {
        multi.aborted = true;
    }
    if argv.first().is_some_and(|name| name.eq_ignore_ascii_case(b"exec")) {
        s.multi = None;
        s.watch = None;
        return exec_abort(&err);
    }
    err
}

/// Redis's `EXECABORT Transaction discarded because of: ...` for an `EXEC` refused by `err`.
fn exec_abort(err: &Error) -> Error {
    let text = err.to_string();
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    Error::msg(format!("EXECABORT Transaction discarded because of: {reason}"))
}

fn multi(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    if s.multi.is_some() {
        return Reply::Error(Error::msg("ERR MULTI calls can not be nested"));
    }
    s.multi = Some(Multi::default());
    Reply::OK
}

fn discard(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    if s.multi.take().is_none() {
        return Reply::Error(Error::msg("ERR DISCARD without MULTI"));
    }
    s.watch = None;
    Reply::OK
}

fn watch(s: &mut Session, argv: &[&[u8]]) -> Reply {
    if s.multi.is_some() {
        return Reply::Error(Error::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = s.db();
    match s.watch.as_mut() {
        Some(watch) => watch.add(db, &argv[1..]),
        None => s.watch = Some(s.engine_db().watch(&argv[1..])),
    }
    Reply::OK
}

fn unwatch(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    s.watch = None;
    Reply::OK
}

fn exec(s: &mut Session, _argv: &[&[u8]]) -> Reply {
    let Some(multi) = s.multi.take() else {
        return Reply::Error(Error::msg("ERR EXEC without MULTI"));
    };
    // The watch ends with EXEC whatever happens; dropped (unwatching) with no lock held.
    let watch = s.watch.take();
    if multi.aborted {
        return Reply::Error(Error::msg("EXECABORT Transaction discarded because of previous errors."));
    }
    // As Redis: a transaction that may grow memory is refused whole when memory is full
    // and the policy frees nothing.
    if s.engine.inner.refuses_growth()
        && multi
            .queued
            .iter()
            .any(|&(index, _)| super::table::COMMANDS[index].flags.contains(CommandFlags::DENYOOM))
    {
        return Reply::Error(exec_abort(&Error::OutOfMemory));
    }
    let mut scope = multi.scope;
    if let (LockScope::Keys(keys), Some(watch)) = (&mut scope, &watch)
        && let LockScope::Keys(watched) = watch.scope()
    {
        keys.extend(watched);
    }
    let engine = s.engine.clone();
    engine.inner.atomically(&scope, || {
        if watch.as_ref().is_some_and(|w| w.changed_under_locks()) {
            return Reply::NullArray;
        }
        let replies = multi
            .queued
            .iter()
            .map(|(index, argv)| {
                let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                super::run(s, *index, &argv)
            })
            .collect();
        Reply::Array(replies)
    })
}

/// Adds to `scope` the stripes one command run from database `db` touches: its keys, or every
/// stripe if it touches keys it does not name (`KEYS`, `FLUSHDB`, `SORT ... BY`), another
/// database (`SELECT`, `MOVE`, `COPY`, `SWAPDB`), or is not known to stay off the keyspace.
fn add_command(scope: &mut LockScope, db: usize, spec: &CommandSpec, argv: &[&[u8]]) {
    if *scope == LockScope::All {
        return;
    }
    match command_keys(spec, argv) {
        Some(positions) => scope.add(db, positions.into_iter().filter_map(|i| argv.get(i).copied())),
        None => *scope = LockScope::All,
    }
}

/// The stripes `EXEC` locks for `queued`, run from database `db` (what queueing them adds up).
#[cfg(test)]
fn exec_scope(db: usize, queued: &[(usize, Vec<Vec<u8>>)]) -> LockScope {
    let mut scope = LockScope::default();
    for (index, argv) in queued {
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        add_command(&mut scope, db, &super::table::COMMANDS[*index], &argv);
    }
    scope
}

/// The key positions of one command, `None` when they do not cover what it touches.
fn command_keys(spec: &CommandSpec, argv: &[&[u8]]) -> Option<Vec<usize>> {
    let is = |word: &[u8], what: &str| word.eq_ignore_ascii_case(what.as_bytes());
    let keyspace_free = |name: &str| {
        matches!(name, "ping" | "echo" | "time" | "unwatch" | "hello" | "auth" | "publish" | "spublish")
            || ["client|", "command|", "config|", "pubsub|"].iter().any(|p| name.starts_with(p))
            || name == "command"
    };
    match spec.name {
        "select" | "move" | "copy" | "swapdb" => None,
        "sort" | "sort_ro" if argv.iter().skip(2).any(|a| is(a, "by") || is(a, "get")) => None,
        _ if spec.flags.contains(CommandFlags::MOVABLE_KEYS) => movable_key_positions(spec.name, argv),
        _ if spec.keys.first == 0 => keyspace_free(spec.name).then(Vec::new),
        _ => Some(spec.keys.positions(argv.len()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    fn exec(session: &mut Session, commands: &[&[&str]]) -> Reply {
        assert_eq!(session.execute(&["MULTI"]), Reply::OK);
        for command in commands {
            assert_eq!(session.execute(command), Reply::simple("QUEUED"), "{command:?}");
        }
        session.execute(&["EXEC"])
    }

    #[test]
    fn queued_commands_run_in_order_at_exec() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        let reply = exec(&mut s, &[&["SET", "a", "1"], &["INCR", "a"], &["GET", "a"], &["LPUSH", "a", "x"]]);
        let Reply::Array(replies) = reply else { panic!("array expected: {reply:?}") };
        assert_eq!(replies[0], Reply::OK);
        assert_eq!(replies[1], Reply::Integer(2));
        assert_eq!(replies[2], Reply::Bulk(b"2".to_vec()));
        assert!(replies[3].is_error(), "a runtime error fails only its command");
        assert_eq!(engine.get(b"a").expect("get"), Some(b"2".to_vec()));
    }

    #[test]
    fn errors_while_queueing_abort_exec() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        assert_eq!(s.execute(&["MULTI"]), Reply::OK);
        assert_eq!(s.execute(&["SET", "a", "1"]), Reply::simple("QUEUED"));
        assert!(s.execute(&["NOSUCH"]).is_error());
        assert!(s.execute(&["GET"]).is_error());
        assert_eq!(
            s.execute(&["EXEC"]),
            Reply::Error(Error::msg("EXECABORT Transaction discarded because of previous errors."))
        );
        assert_eq!(engine.get(b"a").expect("get"), None, "nothing ran");
        assert_eq!(s.execute(&["EXEC"]), Reply::Error(Error::msg("ERR EXEC without MULTI")));
        // EXEC with arguments ends the transaction, as Redis.
        assert_eq!(s.execute(&["MULTI"]), Reply::OK);
        assert_eq!(
            s.execute(&["EXEC", "x"]),
            Reply::Error(Error::msg(
                "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
            ))
        );
        assert_eq!(s.execute(&["GET", "a"]), Reply::Null, "no longer queueing");
    }

    #[test]
    fn misuse_errors_use_redis_wording() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        assert_eq!(s.execute(&["DISCARD"]), Reply::Error(Error::msg("ERR DISCARD without MULTI")));
        assert_eq!(s.execute(&["MULTI"]), Reply::OK);
        assert_eq!(s.execute(&["MULTI"]), Reply::Error(Error::msg("ERR MULTI calls can not be nested")));
        assert_eq!(
            s.execute(&["WATCH", "k"]),
            Reply::Error(Error::msg("ERR WATCH inside MULTI is not allowed"))
        );
        assert_eq!(s.execute(&["DISCARD"]), Reply::OK);
        assert_eq!(s.execute(&["EXEC"]), Reply::Error(Error::msg("ERR EXEC without MULTI")));
        assert_eq!(exec(&mut s, &[]), Reply::Array(Vec::new()), "an empty transaction");
    }

    #[test]
    fn watch_makes_exec_fail_after_a_change_by_anyone() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        let mut other = Session::new(&engine);
        assert_eq!(s.execute(&["WATCH", "k"]), Reply::OK);
        other.execute(&["SET", "k", "theirs"]);
        assert_eq!(exec(&mut s, &[&["SET", "k", "mine"]]), Reply::NullArray);
        assert_eq!(engine.get(b"k").expect("get"), Some(b"theirs".to_vec()));
        // EXEC unwatched: the next transaction goes through.
        other.execute(&["SET", "k", "again"]);
        assert_eq!(exec(&mut s, &[&["SET", "k", "mine"]]), Reply::Array(vec![Reply::OK]));
        // Its own change before MULTI counts too, as in Redis.
        assert_eq!(s.execute(&["WATCH", "k"]), Reply::OK);
        s.execute(&["SET", "k", "self"]);
        assert_eq!(exec(&mut s, &[&["GET", "k"]]), Reply::NullArray);
        // UNWATCH and DISCARD forget the watch.
        assert_eq!(s.execute(&["WATCH", "k"]), Reply::OK);
        assert_eq!(s.execute(&["UNWATCH"]), Reply::OK);
        other.execute(&["SET", "k", "x"]);
        assert_eq!(exec(&mut s, &[&["GET", "k"]]), Reply::Array(vec![Reply::Bulk(b"x".to_vec())]));
    }

    #[test]
    fn a_watched_key_expiring_before_exec_fails_it() {
        let clock = crate::ManualClock::new(1_000_000);
        let engine = Engine::builder().clock(clock.clone()).build();
        let mut s = Session::new(&engine);
        s.execute(&["SET", "k", "v", "PX", "100"]);
        assert_eq!(s.execute(&["WATCH", "k"]), Reply::OK);
        clock.advance(std::time::Duration::from_millis(200));
        assert_eq!(exec(&mut s, &[&["SET", "other", "x"]]), Reply::NullArray);
        // Already expired when watched: not a change.
        s.execute(&["SET", "k", "v", "PX", "100"]);
        clock.advance(std::time::Duration::from_millis(200));
        assert_eq!(s.execute(&["WATCH", "k"]), Reply::OK);
        assert_eq!(exec(&mut s, &[&["SET", "other", "x"]]), Reply::Array(vec![Reply::OK]));
    }

    #[test]
    fn flushing_a_watched_key_fails_exec() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        engine.set(b"k", b"v", Default::default()).expect("set");
        s.execute(&["WATCH", "k"]);
        engine.execute(&["FLUSHALL"]);
        assert_eq!(exec(&mut s, &[&["PING"]]), Reply::NullArray);
    }

    #[test]
    fn scopes_name_keys_or_everything() {
        let q = |argv: &[&str]| {
            let index = crate::command::resolve(&argv.iter().map(|a| a.as_bytes()).collect::<Vec<_>>())
                .expect("known");
            (index, argv.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>())
        };
        let keys = |scope: LockScope| match scope {
            LockScope::Keys(keys) => keys
                .into_iter()
                .map(|(db, k)| (db, String::from_utf8_lossy(&k).into_owned()))
                .collect::<Vec<_>>(),
            LockScope::All => vec![(99, "all".to_string())],
        };
        let scope = exec_scope(
            3,
            &[q(&["MSET", "a", "1", "b", "2"]), q(&["ZUNIONSTORE", "d", "2", "x", "y"]), q(&["PING"])],
        );
        let expected: Vec<(usize, String)> =
            ["a", "b", "d", "x", "y"].iter().map(|k| (3, k.to_string())).collect();
        assert_eq!(keys(scope), expected);
        for everything in [
            &["KEYS", "*"][..],
            &["SELECT", "1"],
            &["FLUSHDB"],
            &["SORT", "l", "BY", "w_*"],
            &["MOVE", "k", "1"],
            &["INFO"],
        ] {
            assert_eq!(exec_scope(0, &[q(everything)]), LockScope::All, "{everything:?}");
        }
        assert!(matches!(exec_scope(0, &[q(&["SORT", "l", "ALPHA"])]), LockScope::Keys(_)));
    }

    #[test]
    fn blocking_commands_inside_exec_do_not_block() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        let reply = exec(&mut s, &[&["BLPOP", "empty", "0"], &["RPUSH", "l", "x"], &["BLPOP", "l", "0"]]);
        assert_eq!(
            reply,
            Reply::Array(vec![
                Reply::NullArray,
                Reply::Integer(1),
                Reply::Array(vec![Reply::Bulk(b"l".to_vec()), Reply::Bulk(b"x".to_vec())]),
            ])
        );
    }

    #[test]
    fn select_inside_exec_applies_to_the_rest() {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        let reply = exec(&mut s, &[&["SELECT", "2"], &["SET", "k", "v"]]);
        assert_eq!(reply, Reply::Array(vec![Reply::OK, Reply::OK]));
        assert_eq!(s.db(), 2);
        assert_eq!(engine.select(2).expect("db 2").get(b"k").expect("get"), Some(b"v".to_vec()));
    }
}
