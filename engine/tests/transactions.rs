//! Guards transaction atomicity across threads: MULTI/EXEC transfers never show a changed
//! total to a reader inside MULTI, WATCH-based check-and-set loses no update, and clients
//! blocked on a key a transaction pushes to are served after the whole transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use memora_engine::{Engine, Execution, Reply, Session};

const ACCOUNTS: usize = 8;
const START_BALANCE: i64 = 1_000;

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Bulk(bytes) => String::from_utf8_lossy(bytes).parse().expect("integer value"),
        Reply::Integer(n) => *n,
        other => panic!("not a number: {other:?}"),
    }
}

fn account(i: usize) -> String {
    format!("account:{i}")
}

#[test]
fn transfers_inside_multi_exec_keep_the_total_at_every_instant() {
    let engine = Engine::builder().stripes(4).build();
    for i in 0..ACCOUNTS {
        engine.execute(&["SET", &account(i), &START_BALANCE.to_string()]);
    }
    let total = START_BALANCE * ACCOUNTS as i64;
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let mut writers = Vec::new();
        for worker in 0..3u64 {
            let engine = engine.clone();
            writers.push(scope.spawn(move || {
                let mut session = Session::new(&engine);
                let mut seed = worker.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for _ in 0..3_000 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let from = account(seed as usize % ACCOUNTS);
                    let to = account((seed >> 8) as usize % ACCOUNTS);
                    let amount = ((seed >> 16) % 50).to_string();
                    assert_eq!(session.execute(&["MULTI"]), Reply::OK);
                    session.execute(&["DECRBY", &from, &amount]);
                    session.execute(&["INCRBY", &to, &amount]);
                    let Reply::Array(replies) = session.execute(&["EXEC"]) else { panic!("EXEC failed") };
                    assert_eq!(replies.len(), 2);
                }
            }));
        }
        let reader_done = Arc::clone(&done);
        let engine_for_reader = engine.clone();
        let reader = scope.spawn(move || {
            let mut session = Session::new(&engine_for_reader);
            let mut argv = vec!["MGET".to_string()];
            argv.extend((0..ACCOUNTS).map(account));
            let mut checks = 0;
            while !reader_done.load(Ordering::Relaxed) || checks < 100 {
                assert_eq!(session.execute(&["MULTI"]), Reply::OK);
                session.execute(&argv);
                session.execute(&["GET", &account(0)]);
                let Reply::Array(replies) = session.execute(&["EXEC"]) else { panic!("EXEC failed") };
                let Reply::Array(values) = &replies[0] else { panic!("MGET reply") };
                assert_eq!(values.iter().map(int).sum::<i64>(), total, "a transfer was seen half done");
                assert_eq!(int(&replies[1]), int(&values[0]), "the transaction's reads are one instant");
                checks += 1;
            }
            checks
        });
        for writer in writers {
            writer.join().expect("writer");
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().expect("reader") >= 100);
    });
    let sum: i64 = (0..ACCOUNTS).map(|i| int(&engine.execute(&["GET", &account(i)]))).sum();
    assert_eq!(sum, total);
}

#[test]
fn watch_check_and_set_loses_no_update() {
    let engine = Engine::new();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let engine = engine.clone();
            scope.spawn(move || {
                let mut session = Session::new(&engine);
                let mut committed = 0;
                while committed < 500 {
                    assert_eq!(session.execute(&["WATCH", "counter"]), Reply::OK);
                    let current = match session.execute(&["GET", "counter"]) {
                        Reply::Null => 0,
                        reply => int(&reply),
                    };
                    assert_eq!(session.execute(&["MULTI"]), Reply::OK);
                    session.execute(&["SET", "counter", &(current + 1).to_string()]);
                    match session.execute(&["EXEC"]) {
                        Reply::Array(_) => committed += 1,
                        Reply::NullArray => {}
                        other => panic!("unexpected EXEC reply {other:?}"),
                    }
                }
            });
        }
    });
    assert_eq!(engine.get(b"counter").expect("get"), Some(b"1000".to_vec()));
}

#[test]
fn a_push_inside_a_transaction_wakes_blocked_clients_after_it() {
    let engine = Engine::new();
    let mut waiter = Session::new(&engine);
    let Execution::Blocked(blocked) = waiter.execute_async(&["BLPOP", "queue", "0"]) else {
        panic!("the list is empty: BLPOP must block");
    };
    let mut writer = Session::new(&engine);
    assert_eq!(writer.execute(&["MULTI"]), Reply::OK);
    writer.execute(&["RPUSH", "queue", "first"]);
    writer.execute(&["RPUSH", "queue", "second"]);
    writer.execute(&["LLEN", "queue"]);
    let reply = writer.execute(&["EXEC"]);
    assert_eq!(
        reply,
        Reply::Array(vec![Reply::Integer(1), Reply::Integer(2), Reply::Integer(2)]),
        "the waiter was not served in the middle of the transaction"
    );
    assert_eq!(
        blocked.wait(),
        Reply::Array(vec![Reply::Bulk(b"queue".to_vec()), Reply::Bulk(b"first".to_vec())])
    );
    assert_eq!(
        engine.execute(&["LRANGE", "queue", "0", "-1"]),
        Reply::Array(vec![Reply::Bulk(b"second".to_vec())])
    );
}

#[test]
fn every_command_queues_and_executes_without_panicking() {
    // Each table entry, with arguments that satisfy its arity, inside MULTI/EXEC: EXEC's lock
    // scope must cover whatever the command touches (an undeclared stripe would panic).
    let engine = Engine::builder().stripes(64).build();
    engine.execute(&["RPUSH", "k1", "a", "b"]);
    engine.execute(&["SET", "w_a", "1"]);
    for spec in memora_engine::commands() {
        if matches!(spec.name, "multi" | "exec" | "discard" | "watch" | "quit" | "reset") {
            continue;
        }
        let mut argv: Vec<String> = spec.name.split('|').map(str::to_string).collect();
        let arity = spec.arity.unsigned_abs() as usize;
        let fillers = ["k1", "k2", "1", "k3", "0", "k4", "2"];
        while argv.len() < arity.max(argv.len()) {
            argv.push(fillers[argv.len() % fillers.len()].to_string());
        }
        let mut session = Session::new(&engine);
        assert_eq!(session.execute(&["MULTI"]), Reply::OK);
        let queued = session.execute(&argv);
        let reply = session.execute(&["EXEC"]);
        if queued == Reply::simple("QUEUED") {
            assert!(matches!(reply, Reply::Array(ref r) if r.len() == 1), "{argv:?}: {reply:?}");
        }
    }
    let mut session = Session::new(&engine);
    session.execute(&["MULTI"]);
    session.execute(&["SORT", "k1", "BY", "w_*", "ALPHA"]);
    session.execute(&["KEYS", "*"]);
    assert!(matches!(session.execute(&["EXEC"]), Reply::Array(ref r) if r.len() == 2));
}

#[test]
fn random_transactions_and_plain_commands_on_several_threads_neither_deadlock_nor_panic() {
    // Transactions that lock everything (FLUSHDB, KEYS, SELECT, MOVE) or a few stripes run
    // against plain multi-key commands, blocking pops and WATCHes on other threads.
    const COMMANDS: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["INCR", "b"],
        &["RPUSH", "l", "x", "y"],
        &["BLPOP", "l", "m", "0"],
        &["SUNIONSTORE", "s3", "s1", "s2"],
        &["SADD", "s1", "p", "q"],
        &["RENAME", "a", "c"],
        &["MOVE", "c", "1"],
        &["KEYS", "*"],
        &["SELECT", "1"],
        &["SELECT", "0"],
        &["FLUSHDB"],
        &["ZADD", "z", "1", "m"],
        &["ZUNIONSTORE", "z2", "2", "z", "z3"],
        &["MSET", "a", "1", "b", "2", "c", "3"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
    ];
    let engine = Engine::builder().stripes(8).build();
    std::thread::scope(|scope| {
        for worker in 0..4u64 {
            let engine = engine.clone();
            scope.spawn(move || {
                let mut session = Session::new(&engine);
                let mut seed = (worker + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
                let mut next = |n: usize| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as usize % n
                };
                for round in 0..1_500 {
                    let transactional = worker % 2 == 0 || round % 3 == 0;
                    if transactional {
                        if next(4) == 0 {
                            session.execute(&["WATCH", "a", "l"]);
                        }
                        assert_eq!(session.execute(&["MULTI"]), Reply::OK);
                        for _ in 0..1 + next(4) {
                            session.execute(COMMANDS[next(COMMANDS.len())]);
                        }
                        let reply = session.execute(&["EXEC"]);
                        assert!(matches!(reply, Reply::Array(_) | Reply::NullArray), "{reply:?}");
                    } else {
                        let command = COMMANDS[next(COMMANDS.len())];
                        if command[0] == "BLPOP" {
                            // A short timeout: served by a push or timing out, never stuck.
                            session.execute(&["BLPOP", "l", "m", "0.01"]);
                        } else {
                            session.execute(command);
                        }
                    }
                }
            });
        }
    });
}
