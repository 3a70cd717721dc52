//! Guards expiry on an injected clock (no sleeps): expired keys are never visible, commands
//! keep or clear TTLs as Redis does, and the active cycle reclaims keys nobody reads.

use std::time::Duration;

use memora_engine::{Engine, ExpireCondition, Expiry, KeyExpiry, ManualClock, Reply, Session, SetOptions};

const START_MS: u64 = 1_700_000_000_000;

fn engine() -> (Engine, ManualClock) {
    let clock = ManualClock::new(START_MS);
    (Engine::builder().clock(clock.clone()).stripes(4).build(), clock)
}

fn run(session: &mut Session, argv: &[&str]) -> Reply {
    session.execute(argv)
}

#[test]
fn expired_keys_are_invisible_to_every_read() {
    let (engine, clock) = engine();
    let mut s = Session::new(&engine);
    run(&mut s, &["SET", "k", "v", "PX", "100"]);
    clock.advance(Duration::from_millis(100));
    assert_eq!(run(&mut s, &["GET", "k"]), Reply::bulk("v"), "still alive at exactly its expiry");
    clock.advance(Duration::from_millis(1));
    for argv in [
        vec!["GET", "k"],
        vec!["MGET", "k"],
        vec!["EXISTS", "k"],
        vec!["TYPE", "k"],
        vec!["STRLEN", "k"],
        vec!["TTL", "k"],
        vec!["KEYS", "*"],
        vec!["RANDOMKEY"],
    ] {
        let reply = run(&mut s, &argv);
        assert!(
            matches!(
                &reply,
                Reply::Null | Reply::Integer(0) | Reply::Integer(-2) | Reply::Simple(_) | Reply::Array(_)
            ),
            "{argv:?} -> {reply:?}"
        );
        if let Reply::Array(items) = &reply {
            assert!(items.iter().all(|i| *i == Reply::Null), "{argv:?} -> {reply:?}");
        }
        if let Reply::Simple(t) = &reply {
            assert_eq!(t, "none");
        }
    }
    assert_eq!(run(&mut s, &["SCAN", "0"]), Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])]));
    // A write sees the key as absent too.
    assert_eq!(run(&mut s, &["SET", "k", "w", "NX"]), Reply::OK);
    assert_eq!(run(&mut s, &["TTL", "k"]), Reply::Integer(-1));
}

#[test]
fn ttl_family_and_rounding() {
    let (engine, clock) = engine();
    let mut s = Session::new(&engine);
    run(&mut s, &["SET", "k", "v", "EX", "100"]);
    assert_eq!(run(&mut s, &["TTL", "k"]), Reply::Integer(100));
    assert_eq!(run(&mut s, &["PTTL", "k"]), Reply::Integer(100_000));
    clock.advance(Duration::from_millis(1_499));
    assert_eq!(run(&mut s, &["TTL", "k"]), Reply::Integer(99), "98.501 s rounds to 99");
    assert_eq!(run(&mut s, &["EXPIRETIME", "k"]), Reply::Integer(((START_MS + 100_000) / 1000) as i64));
    assert_eq!(run(&mut s, &["PEXPIRETIME", "k"]), Reply::Integer((START_MS + 100_000) as i64));
    assert_eq!(run(&mut s, &["TTL", "nokey"]), Reply::Integer(-2));
    run(&mut s, &["SET", "p", "v"]);
    assert_eq!(run(&mut s, &["PTTL", "p"]), Reply::Integer(-1));
    assert_eq!(run(&mut s, &["EXPIRETIME", "p"]), Reply::Integer(-1));
}

#[test]
fn writes_clear_or_keep_ttl_like_redis() {
    let (engine, _clock) = engine();
    let mut s = Session::new(&engine);
    let ttl = |s: &mut Session| run(s, &["PTTL", "k"]);
    run(&mut s, &["SET", "k", "1", "PX", "5000"]);
    run(&mut s, &["INCR", "k"]);
    assert_eq!(ttl(&mut s), Reply::Integer(5000), "INCR keeps the TTL");
    run(&mut s, &["APPEND", "k", "0"]);
    run(&mut s, &["SETRANGE", "k", "0", "9"]);
    assert_eq!(ttl(&mut s), Reply::Integer(5000), "APPEND/SETRANGE keep the TTL");
    run(&mut s, &["SET", "k", "x", "KEEPTTL"]);
    assert_eq!(ttl(&mut s), Reply::Integer(5000), "KEEPTTL");
    run(&mut s, &["SET", "k", "x"]);
    assert_eq!(ttl(&mut s), Reply::Integer(-1), "plain SET clears it");
    run(&mut s, &["SETEX", "k", "10", "x"]);
    run(&mut s, &["GETSET", "k", "y"]);
    assert_eq!(ttl(&mut s), Reply::Integer(-1), "GETSET clears it");
    run(&mut s, &["PSETEX", "k", "700", "x"]);
    run(&mut s, &["RENAME", "k", "r"]);
    assert_eq!(run(&mut s, &["PTTL", "r"]), Reply::Integer(700), "RENAME carries it");
    run(&mut s, &["COPY", "r", "c"]);
    assert_eq!(run(&mut s, &["PTTL", "c"]), Reply::Integer(700), "COPY carries it");
    run(&mut s, &["MSET", "c", "1"]);
    assert_eq!(run(&mut s, &["PTTL", "c"]), Reply::Integer(-1), "MSET clears it");
    assert_eq!(run(&mut s, &["GETEX", "r", "PERSIST"]), Reply::bulk("x"));
    assert_eq!(run(&mut s, &["PTTL", "r"]), Reply::Integer(-1));
    assert_eq!(run(&mut s, &["GETEX", "r", "PX", "50"]), Reply::bulk("x"));
    assert_eq!(run(&mut s, &["PTTL", "r"]), Reply::Integer(50));
}

#[test]
fn expire_options_and_past_times() {
    let (engine, _clock) = engine();
    let cond = ExpireCondition::default();
    engine.set(b"k", b"v", SetOptions::default()).expect("set");
    assert!(!engine.expire(b"k", Duration::from_secs(10), ExpireCondition { xx: true, ..cond }).expect("ok"));
    assert!(engine.expire(b"k", Duration::from_secs(10), ExpireCondition { nx: true, ..cond }).expect("ok"));
    assert!(!engine.expire(b"k", Duration::from_secs(5), ExpireCondition { gt: true, ..cond }).expect("ok"));
    assert!(engine.expire(b"k", Duration::from_secs(20), ExpireCondition { gt: true, ..cond }).expect("ok"));
    assert!(engine.expire(b"k", Duration::from_secs(5), ExpireCondition { lt: true, ..cond }).expect("ok"));
    assert_eq!(engine.expiry(b"k"), KeyExpiry::AtUnixMs(START_MS + 5_000));
    // An absolute time not in the future deletes the key and reports success.
    assert!(engine.expire_at(b"k", START_MS, cond).expect("ok"));
    assert_eq!(engine.expiry(b"k"), KeyExpiry::NoKey);
    let mut s = Session::new(&engine);
    run(&mut s, &["SET", "n", "v"]);
    assert_eq!(run(&mut s, &["EXPIRE", "n", "-1"]), Reply::Integer(1));
    assert_eq!(run(&mut s, &["EXISTS", "n"]), Reply::Integer(0));
    assert_eq!(run(&mut s, &["EXPIRE", "n", "10"]), Reply::Integer(0), "absent key");
}

#[test]
fn set_with_absolute_expiry_in_the_past_is_gone() {
    let (engine, _clock) = engine();
    let options = SetOptions { expiry: Some(Expiry::AtUnixMs(START_MS - 1)), ..SetOptions::default() };
    assert!(engine.set(b"k", b"v", options).expect("valid").written);
    assert_eq!(engine.get(b"k").expect("string"), None);
}

#[test]
fn active_cycle_reclaims_unread_keys() {
    let (engine, clock) = engine();
    for i in 0..2_000 {
        engine.set_ex(format!("short:{i}"), b"v", Duration::from_secs(1)).expect("set");
    }
    for i in 0..500 {
        engine.set(format!("keep:{i}"), b"v", SetOptions::default()).expect("set");
    }
    assert_eq!(engine.dbsize(), 2_500);
    clock.advance(Duration::from_secs(2));
    // Nobody reads the expired keys; maintenance alone must reclaim them.
    let mut rounds = 0;
    while engine.dbsize() > 500 {
        engine.run_maintenance();
        rounds += 1;
        assert!(rounds < 1_000, "active expiry made no progress: {} keys left", engine.dbsize());
    }
    assert_eq!(engine.dbsize(), 500);
    assert_eq!(engine.stats().expired_keys, 2_000);
}

#[test]
fn lazy_expiry_counts_and_deletes_on_read() {
    let (engine, clock) = engine();
    engine.set_ex(b"k", b"v", Duration::from_millis(10)).expect("set");
    clock.advance(Duration::from_millis(11));
    assert_eq!(engine.dbsize(), 1, "not reclaimed yet");
    assert_eq!(engine.get(b"k").expect("string"), None);
    assert_eq!(engine.dbsize(), 0, "the read deleted it");
    assert_eq!(engine.stats().expired_keys, 1);
}

#[test]
fn object_idletime_follows_the_clock() {
    let (engine, clock) = engine();
    let mut s = Session::new(&engine);
    run(&mut s, &["SET", "k", "v"]);
    clock.advance(Duration::from_secs(42));
    assert_eq!(run(&mut s, &["OBJECT", "IDLETIME", "k"]), Reply::Integer(42));
    run(&mut s, &["GET", "k"]);
    assert_eq!(run(&mut s, &["OBJECT", "IDLETIME", "k"]), Reply::Integer(0));
    assert_eq!(run(&mut s, &["OBJECT", "IDLETIME", "nokey"]), Reply::Null);
}
