//! Guards keyspace notifications: the `notify-keyspace-events` parameter, Redis's event
//! names and order per command family (the sequences were observed on redis-server 7.0.15),
//! the channels they go to, and `expired` events on access and from the active cycle on an
//! injected clock.

use std::time::Duration;

use memora_engine::{Engine, ManualClock, Message, NotifyFlags, Subscriber};

/// An engine with notifications set to `flags`, and a subscriber to every keyevent channel.
fn watched(flags: &str) -> (Engine, Subscriber) {
    watched_on(Engine::new(), flags)
}

fn watched_on(engine: Engine, flags: &str) -> (Engine, Subscriber) {
    engine.config_set(&[("notify-keyspace-events", flags)]).expect("valid flags");
    let mut sub = engine.subscriber();
    sub.psubscribe(&["__keyevent@*__:*"]);
    (engine, sub)
}

/// (event, key) pairs received so far, channel db included when not 0.
fn events(sub: &mut Subscriber) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Ok(Some(message)) = sub.try_recv() {
        let Message::PMessage { channel, payload, .. } = message else { panic!("{message:?}") };
        let channel = String::from_utf8_lossy(&channel).into_owned();
        let (prefix, event) = channel.split_once("__:").expect("keyevent channel");
        let db = prefix.trim_start_matches("__keyevent@");
        let event = if db == "0" { event.to_string() } else { format!("{event}@{db}") };
        out.push((event, String::from_utf8_lossy(&payload).into_owned()));
    }
    out
}

/// Runs `argv` and returns the events it caused.
fn run(engine: &Engine, sub: &mut Subscriber, argv: &[&str]) -> Vec<(String, String)> {
    let reply = engine.execute(argv);
    assert!(!reply.is_error(), "{argv:?}: {reply:?}");
    events(sub)
}

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(e, k)| (e.to_string(), k.to_string())).collect()
}

#[test]
fn config_get_shows_redis_normalisation_and_set_rejects_bad_letters() {
    let engine = Engine::new();
    assert_eq!(engine.config_value("notify-keyspace-events").as_deref(), Some(""));
    for (given, shown) in
        [("KEA", "AKE"), ("Kn", "nK"), ("KEAm", "AKEm"), ("Ex", "xE"), ("gg", "g"), ("", "")]
    {
        engine.config_set(&[("notify-keyspace-events", given)]).expect("valid");
        let got = engine.config_get(&["notify-keyspace-events"]);
        assert_eq!(got, vec![("notify-keyspace-events".to_string(), shown.to_string())], "{given}");
    }
    let err = engine.config_set(&[("notify-keyspace-events", "KEQ")]).unwrap_err().to_string();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class \
         character. Use 'Ag$lshzxeKEtmdn'."
    );
    engine.set_notify_keyspace_events(NotifyFlags::KEYSPACE | NotifyFlags::LIST);
    assert_eq!(engine.config_value("notify-keyspace-events").as_deref(), Some("lK"));
}

#[test]
fn nothing_is_published_by_default_or_without_k_or_e() {
    let engine = Engine::new();
    let mut sub = engine.subscriber();
    sub.psubscribe(&["*"]);
    engine.execute(&["SET", "k", "v"]);
    assert_eq!(sub.try_recv(), Ok(None));
    engine.config_set(&[("notify-keyspace-events", "A")]).expect("valid");
    engine.execute(&["SET", "k", "v"]);
    assert_eq!(sub.try_recv(), Ok(None), "classes without K or E publish nothing");
}

#[test]
fn keyspace_and_keyevent_channels_carry_event_and_key() {
    let engine = Engine::new();
    engine.config_set(&[("notify-keyspace-events", "KE$")]).expect("valid");
    let mut sub = engine.subscriber();
    sub.subscribe(&["__keyspace@0__:k", "__keyevent@0__:set"]);
    engine.execute(&["SET", "k", "v"]);
    let received: Vec<(Vec<u8>, Vec<u8>)> = std::iter::from_fn(|| match sub.try_recv() {
        Ok(Some(Message::Message { channel, payload })) => Some((channel.to_vec(), payload.to_vec())),
        _ => None,
    })
    .collect();
    assert_eq!(
        received,
        vec![
            (b"__keyspace@0__:k".to_vec(), b"set".to_vec()),
            (b"__keyevent@0__:set".to_vec(), b"k".to_vec())
        ]
    );
    // A class that is off publishes nothing.
    engine.execute(&["DEL", "k"]);
    assert_eq!(sub.try_recv(), Ok(None));
}

#[test]
fn strings_and_generic_commands() {
    let (e, mut s) = watched("KEA");
    assert_eq!(run(&e, &mut s, &["SET", "s", "1"]), ev(&[("set", "s")]));
    assert_eq!(run(&e, &mut s, &["SET", "s", "2", "EX", "100"]), ev(&[("set", "s"), ("expire", "s")]));
    assert_eq!(run(&e, &mut s, &["SETEX", "s2", "10", "v"]), ev(&[("set", "s2"), ("expire", "s2")]));
    assert_eq!(run(&e, &mut s, &["GETEX", "s", "PERSIST"]), ev(&[("persist", "s")]));
    assert_eq!(run(&e, &mut s, &["GETEX", "s", "EX", "5"]), ev(&[("expire", "s")]));
    assert_eq!(run(&e, &mut s, &["GETDEL", "s"]), ev(&[("del", "s")]));
    assert_eq!(run(&e, &mut s, &["INCR", "n"]), ev(&[("incrby", "n")]));
    assert_eq!(run(&e, &mut s, &["INCRBYFLOAT", "n", "1.5"]), ev(&[("incrbyfloat", "n")]));
    assert_eq!(run(&e, &mut s, &["APPEND", "n", "x"]), ev(&[("append", "n")]));
    assert_eq!(run(&e, &mut s, &["SETRANGE", "n", "0", "a"]), ev(&[("setrange", "n")]));
    assert_eq!(run(&e, &mut s, &["MSET", "a", "1", "b", "2"]), ev(&[("set", "a"), ("set", "b")]));
    assert_eq!(run(&e, &mut s, &["EXPIRE", "a", "100"]), ev(&[("expire", "a")]));
    assert_eq!(run(&e, &mut s, &["EXPIRE", "a", "-1"]), ev(&[("del", "a")]));
    assert_eq!(run(&e, &mut s, &["PERSIST", "b"]), ev(&[]));
    assert_eq!(run(&e, &mut s, &["RENAME", "b", "c"]), ev(&[("rename_from", "b"), ("rename_to", "c")]));
    assert_eq!(run(&e, &mut s, &["COPY", "c", "d"]), ev(&[("copy_to", "d")]));
    assert_eq!(run(&e, &mut s, &["MOVE", "d", "1"]), ev(&[("move_from", "d"), ("move_to@1", "d")]));
    assert_eq!(run(&e, &mut s, &["DEL", "c", "nosuch"]), ev(&[("del", "c")]));
    assert_eq!(run(&e, &mut s, &["FLUSHDB"]), ev(&[]));
}

#[test]
fn list_commands() {
    let (e, mut s) = watched("KEA");
    assert_eq!(run(&e, &mut s, &["LPUSH", "l", "a", "b", "c"]), ev(&[("lpush", "l")]));
    assert_eq!(run(&e, &mut s, &["RPUSH", "l", "d"]), ev(&[("rpush", "l")]));
    assert_eq!(run(&e, &mut s, &["LPOP", "l"]), ev(&[("lpop", "l")]));
    assert_eq!(run(&e, &mut s, &["RPOP", "l"]), ev(&[("rpop", "l")]));
    assert_eq!(run(&e, &mut s, &["LINSERT", "l", "BEFORE", "b", "z"]), ev(&[("linsert", "l")]));
    assert_eq!(run(&e, &mut s, &["LSET", "l", "0", "q"]), ev(&[("lset", "l")]));
    assert_eq!(run(&e, &mut s, &["LREM", "l", "1", "q"]), ev(&[("lrem", "l")]));
    assert_eq!(run(&e, &mut s, &["LTRIM", "l", "0", "0"]), ev(&[("ltrim", "l")]));
    assert_eq!(
        run(&e, &mut s, &["LMOVE", "l", "l2", "LEFT", "RIGHT"]),
        ev(&[("rpush", "l2"), ("lpop", "l"), ("del", "l")])
    );
    run(&e, &mut s, &["RPUSH", "l3", "x"]);
    assert_eq!(
        run(&e, &mut s, &["RPOPLPUSH", "l3", "l4"]),
        ev(&[("lpush", "l4"), ("rpop", "l3"), ("del", "l3")])
    );
    assert_eq!(run(&e, &mut s, &["LMPOP", "1", "l4", "LEFT"]), ev(&[("lpop", "l4"), ("del", "l4")]));
    assert_eq!(run(&e, &mut s, &["LPUSHX", "nosuch", "x"]), ev(&[]));
}

#[test]
fn hash_commands() {
    let (e, mut s) = watched("KEA");
    assert_eq!(run(&e, &mut s, &["HSET", "h", "f", "1", "g", "2"]), ev(&[("hset", "h")]));
    assert_eq!(run(&e, &mut s, &["HINCRBY", "h", "f", "1"]), ev(&[("hincrby", "h")]));
    assert_eq!(run(&e, &mut s, &["HINCRBYFLOAT", "h", "f", "1.5"]), ev(&[("hincrbyfloat", "h")]));
    assert_eq!(run(&e, &mut s, &["HDEL", "h", "f", "g"]), ev(&[("hdel", "h"), ("del", "h")]));
    assert_eq!(run(&e, &mut s, &["HSETNX", "h2", "a", "b"]), ev(&[("hset", "h2")]));
    assert_eq!(run(&e, &mut s, &["HSETNX", "h2", "a", "c"]), ev(&[]));
    assert_eq!(run(&e, &mut s, &["HEXPIRE", "h2", "100", "FIELDS", "1", "a"]), ev(&[("hexpire", "h2")]));
    assert_eq!(run(&e, &mut s, &["HPERSIST", "h2", "FIELDS", "1", "a"]), ev(&[("hpersist", "h2")]));
}

#[test]
fn set_commands() {
    let (e, mut s) = watched("KEA");
    assert_eq!(run(&e, &mut s, &["SADD", "s1", "a", "b", "c"]), ev(&[("sadd", "s1")]));
    assert_eq!(run(&e, &mut s, &["SADD", "s1", "a"]), ev(&[]));
    assert_eq!(run(&e, &mut s, &["SREM", "s1", "a"]), ev(&[("srem", "s1")]));
    assert_eq!(run(&e, &mut s, &["SPOP", "s1"]).len(), 1);
    let members = e.smembers(b"s1").expect("a set");
    assert_eq!(members.len(), 1);
    let member = String::from_utf8_lossy(&members[0]).into_owned();
    assert_eq!(
        run(&e, &mut s, &["SMOVE", "s1", "s3", &member]),
        ev(&[("srem", "s1"), ("del", "s1"), ("sadd", "s3")])
    );
    run(&e, &mut s, &["SADD", "s4", "x"]);
    assert_eq!(run(&e, &mut s, &["SINTERSTORE", "si", "s4", "s3"]), ev(&[]));
    assert_eq!(run(&e, &mut s, &["SUNIONSTORE", "su", "s4", "s3"]), ev(&[("sunionstore", "su")]));
    assert_eq!(run(&e, &mut s, &["SDIFFSTORE", "sd", "s4", "s3"]), ev(&[("sdiffstore", "sd")]));
    assert_eq!(run(&e, &mut s, &["SINTERSTORE", "sd", "nosuch"]), ev(&[("del", "sd")]));
}

#[test]
fn sorted_set_commands() {
    let (e, mut s) = watched("KEA");
    let zadd = ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"];
    assert_eq!(run(&e, &mut s, &zadd), ev(&[("zadd", "z")]));
    assert_eq!(run(&e, &mut s, &["ZADD", "z", "INCR", "1", "a"]), ev(&[("zincr", "z")]));
    assert_eq!(run(&e, &mut s, &["ZINCRBY", "z", "1", "a"]), ev(&[("zincr", "z")]));
    assert_eq!(run(&e, &mut s, &["ZREM", "z", "a"]), ev(&[("zrem", "z")]));
    assert_eq!(run(&e, &mut s, &["ZREMRANGEBYRANK", "z", "0", "0"]), ev(&[("zremrangebyrank", "z")]));
    assert_eq!(run(&e, &mut s, &["ZREMRANGEBYSCORE", "z", "3", "3"]), ev(&[("zremrangebyscore", "z")]));
    assert_eq!(run(&e, &mut s, &["ZREMRANGEBYLEX", "z", "[d", "[d"]), ev(&[("zremrangebylex", "z")]));
    run(&e, &mut s, &["ZADD", "z", "1", "m", "2", "n", "3", "o"]);
    assert_eq!(run(&e, &mut s, &["ZPOPMIN", "z"]), ev(&[("zpopmin", "z")]));
    assert_eq!(run(&e, &mut s, &["ZPOPMAX", "z"]), ev(&[("zpopmax", "z")]));
    assert_eq!(run(&e, &mut s, &["ZMPOP", "1", "z", "MIN"]), ev(&[("zpopmin", "z")]));
    run(&e, &mut s, &["ZADD", "za", "1", "a"]);
    assert_eq!(run(&e, &mut s, &["ZUNIONSTORE", "zu", "1", "za"]), ev(&[("zunionstore", "zu")]));
    assert_eq!(run(&e, &mut s, &["ZINTERSTORE", "zi", "1", "za"]), ev(&[("zinterstore", "zi")]));
    assert_eq!(run(&e, &mut s, &["ZDIFFSTORE", "zd", "1", "za"]), ev(&[("zdiffstore", "zd")]));
    assert_eq!(run(&e, &mut s, &["ZRANGESTORE", "zr", "za", "0", "-1"]), ev(&[("zrangestore", "zr")]));
    assert_eq!(run(&e, &mut s, &["ZREM", "z", "o", "n"]), ev(&[("zrem", "z"), ("del", "z")]));
}

#[test]
fn new_key_events_come_first_and_only_for_new_keys() {
    let (e, mut s) = watched("KE$gn");
    assert_eq!(run(&e, &mut s, &["SET", "k", "1"]), ev(&[("new", "k"), ("set", "k")]));
    assert_eq!(run(&e, &mut s, &["SET", "k", "2"]), ev(&[("set", "k")]));
    // Only the `n` class: nothing else.
    let (e, mut s) = watched("En");
    assert_eq!(run(&e, &mut s, &["RPUSH", "l", "x"]), ev(&[("new", "l")]));
}

#[test]
fn the_typed_api_notifies_too() {
    let (e, mut s) = watched("KEA");
    e.set(b"k", b"v", Default::default()).expect("set");
    e.lpush(b"l", &[b"x"]).expect("lpush");
    e.del(&[b"k"]);
    assert_eq!(events(&mut s), ev(&[("set", "k"), ("lpush", "l"), ("del", "k")]));
}

#[test]
fn expired_fires_when_an_expired_key_is_deleted_on_access() {
    let clock = ManualClock::new(1_000_000);
    let (e, mut s) = watched_on(Engine::builder().clock(clock.clone()).build(), "KEA");
    assert_eq!(run(&e, &mut s, &["SET", "k", "v", "PX", "100"]), ev(&[("set", "k"), ("expire", "k")]));
    clock.advance(Duration::from_millis(50));
    assert_eq!(run(&e, &mut s, &["GET", "k"]), ev(&[]));
    clock.advance(Duration::from_millis(100));
    assert_eq!(run(&e, &mut s, &["GET", "k"]), ev(&[("expired", "k")]));
    assert_eq!(run(&e, &mut s, &["GET", "k"]), ev(&[]), "deleted once");
    // On a write path too: the expired key goes (expired) before the new one is set.
    run(&e, &mut s, &["SET", "w", "v", "PX", "10"]);
    clock.advance(Duration::from_millis(20));
    assert_eq!(run(&e, &mut s, &["SET", "w", "again"]), ev(&[("expired", "w"), ("set", "w")]));
}

#[test]
fn expired_fires_from_the_active_cycle() {
    let clock = ManualClock::new(1_000_000);
    let (e, mut s) = watched_on(Engine::builder().clock(clock.clone()).build(), "Ex");
    for i in 0..10 {
        e.execute(&["SET", &format!("k{i}"), "v", "PX", "100"]);
    }
    e.execute(&["SET", "keep", "v"]);
    clock.advance(Duration::from_secs(1));
    let mut deleted = 0;
    for _ in 0..100 {
        deleted += e.run_maintenance();
        if deleted == 10 {
            break;
        }
    }
    assert_eq!(deleted, 10);
    let mut keys: Vec<String> = events(&mut s)
        .into_iter()
        .map(|(event, key)| {
            assert_eq!(event, "expired");
            key
        })
        .collect();
    keys.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn expired_hash_fields_fire_hexpired() {
    let clock = ManualClock::new(1_000_000);
    let (e, mut s) = watched_on(Engine::builder().clock(clock.clone()).build(), "KEA");
    run(&e, &mut s, &["HSET", "h", "f", "1", "g", "2"]);
    run(&e, &mut s, &["HPEXPIRE", "h", "100", "FIELDS", "1", "f"]);
    clock.advance(Duration::from_secs(1));
    assert_eq!(run(&e, &mut s, &["HGETALL", "h"]), ev(&[("hexpired", "h")]));
    run(&e, &mut s, &["HPEXPIRE", "h", "100", "FIELDS", "1", "g"]);
    clock.advance(Duration::from_secs(1));
    assert_eq!(run(&e, &mut s, &["HLEN", "h"]), ev(&[("hexpired", "h"), ("del", "h")]));
}

#[test]
fn key_misses_are_published_only_with_m() {
    let (e, mut s) = watched("KEA");
    assert_eq!(run(&e, &mut s, &["GET", "nosuch"]), ev(&[]));
    let (e, mut s) = watched("Em");
    assert_eq!(run(&e, &mut s, &["GET", "nosuch"]), ev(&[("keymiss", "nosuch")]));
    run(&e, &mut s, &["SET", "here", "v"]);
    assert_eq!(run(&e, &mut s, &["MGET", "here", "m1", "m2"]), ev(&[("keymiss", "m1"), ("keymiss", "m2")]));
    assert_eq!(run(&e, &mut s, &["SET", "w", "v"]), ev(&[]), "writes do not miss");
    assert_eq!(run(&e, &mut s, &["EXISTS", "m3"]), ev(&[("keymiss", "m3")]));
}
