//! Guards `maxmemory` and eviction: each policy evicts the right class of keys, `noeviction`
//! refuses growth and loses nothing, memory stays under the limit under concurrent writes,
//! removal listeners hear every eviction exactly once, and the settings round-trip.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memora_engine::{Engine, EngineBuilder, Error, EvictionPolicy, ManualClock, Reply, SetOptions};

fn set(engine: &Engine, key: &str, value: &[u8]) -> Result<(), Error> {
    engine.set(key, value, SetOptions::default()).map(|_| ())
}

/// Builds `builder` and sets `maxmemory` `headroom` bytes above the empty engine's size;
/// returns the engine and that limit.
fn build_limited(builder: EngineBuilder, headroom: u64) -> (Engine, u64) {
    let engine = builder.build();
    let limit = engine.used_memory() + headroom;
    engine.config_set(&[("maxmemory", limit.to_string().as_str())]).expect("valid maxmemory");
    (engine, limit)
}

/// An engine with `policy`, a limit `headroom` bytes above its empty size, and a manual clock;
/// returns the engine, its clock and the limit.
fn limited(policy: EvictionPolicy, headroom: u64) -> (Engine, ManualClock, u64) {
    let clock = ManualClock::new(1_700_000_000_000);
    let builder = Engine::builder().stripes(8).databases(2).clock(clock.clone()).maxmemory_policy(policy);
    let (engine, limit) = build_limited(builder, headroom);
    (engine, clock, limit)
}

/// What a removal listener heard: (key, cause) in order.
type Heard = Arc<Mutex<Vec<(Vec<u8>, memora_engine::RemovalCause)>>>;

fn error_reply(text: &str) -> Reply {
    Reply::Error(Error::msg(text.to_string()))
}

#[test]
fn noeviction_refuses_growth_and_loses_nothing() {
    let (engine, _, _) = limited(EvictionPolicy::NoEviction, 200_000);
    let mut stored = 0;
    let refused = loop {
        match set(&engine, &format!("key:{stored}"), &[b'v'; 100]) {
            Ok(()) => stored += 1,
            Err(error) => break error,
        }
        assert!(stored < 100_000, "the limit never bit");
    };
    assert_eq!(refused, Error::OutOfMemory);
    assert_eq!(refused.to_string(), "OOM command not allowed when used memory > 'maxmemory'.");
    assert_eq!(engine.dbsize(), stored, "nothing was evicted");
    for i in 0..stored {
        assert!(engine.get(format!("key:{i}")).expect("get").is_some());
    }
    // Other growing commands are refused too, through `execute` with Redis's error.
    for argv in [
        vec!["LPUSH", "l", "x"],
        vec!["SADD", "s", "x"],
        vec!["HSET", "h", "f", "v"],
        vec!["ZADD", "z", "1", "m"],
        vec!["APPEND", "key:0", "more"],
        vec!["INCR", "counter"],
    ] {
        match engine.execute(&argv) {
            Reply::Error(error) => assert_eq!(error, Error::OutOfMemory, "{argv:?}"),
            other => panic!("{argv:?} answered {other:?}"),
        }
    }
    // Reads and deletes still work, and deleting makes room again.
    assert_eq!(engine.execute(&["GET", "key:0"]), Reply::bulk(vec![b'v'; 100]));
    let keys: Vec<String> = (0..stored / 2).map(|i| format!("key:{i}")).collect();
    assert_eq!(engine.del(&keys), keys.len());
    set(&engine, "after", b"room again").expect("a write after deleting");
    assert_eq!(engine.stats().evicted_keys, 0);
}

#[test]
fn allkeys_lru_keeps_recently_used_keys_and_stays_under_the_limit() {
    let (engine, clock, limit) = limited(EvictionPolicy::AllKeysLru, 300_000);
    // A hot set read between every write: LRU must keep it.
    let hot: Vec<String> = (0..100).map(|i| format!("hot:{i}")).collect();
    for key in &hot {
        set(&engine, key, &[b'h'; 64]).expect("set");
    }
    for i in 0..20_000 {
        clock.advance(Duration::from_millis(10));
        set(&engine, &format!("cold:{i}"), &[b'c'; 64]).expect("evicting writes never fail");
        engine.get(&hot[i % hot.len()]).expect("get");
        if i % 1000 == 0 {
            assert!(engine.used_memory() <= limit + limit / 50, "{} over {limit}", engine.used_memory());
        }
    }
    let kept = hot.iter().filter(|k| engine.get(k).expect("get").is_some()).count();
    assert!(kept >= 95, "only {kept} of 100 hot keys survived");
    let stats = engine.stats();
    assert!(stats.evicted_keys > 10_000, "{}", stats.evicted_keys);
    assert_eq!(stats.evicted_per_policy, vec![(EvictionPolicy::AllKeysLru, stats.evicted_keys)]);
    assert!(engine.used_memory() <= limit + limit / 50);
    assert!(engine.info(&[b"stats"]).contains(&format!("evicted_keys:{}\r\n", stats.evicted_keys)));
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys() {
    let (engine, clock, _) = limited(EvictionPolicy::AllKeysLfu, 300_000);
    let hot: Vec<String> = (0..50).map(|i| format!("hot:{i}")).collect();
    for key in &hot {
        set(&engine, key, &[b'h'; 64]).expect("set");
        for _ in 0..200 {
            engine.get(key).expect("get");
        }
    }
    for i in 0..20_000 {
        clock.advance(Duration::from_millis(1));
        set(&engine, &format!("once:{i}"), &[b'c'; 64]).expect("set");
    }
    let kept = hot.iter().filter(|k| engine.get(k).expect("get").is_some()).count();
    assert!(kept >= 48, "only {kept} of 50 frequent keys survived");
    assert!(matches!(engine.execute(&["OBJECT", "FREQ", "hot:0"]), Reply::Integer(f) if f > 5));
}

#[test]
fn volatile_policies_never_touch_keys_without_ttl() {
    for policy in [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ] {
        let (engine, _, _) = limited(policy, 400_000);
        for i in 0..1000 {
            set(&engine, &format!("keep:{i}"), &[b'k'; 64]).expect("set");
        }
        let ttl = SetOptions {
            expiry: Some(memora_engine::Expiry::In(Duration::from_secs(3600))),
            ..Default::default()
        };
        let mut written = 0;
        let refused = loop {
            match engine.set(format!("v:{written}"), [b'v'; 64], ttl) {
                Ok(_) => written += 1,
                Err(error) => break Some(error),
            }
            if written == 20_000 {
                break None;
            }
        };
        for i in 0..1000 {
            assert!(engine.get(format!("keep:{i}")).expect("get").is_some(), "{policy:?} evicted keep:{i}");
        }
        assert!(engine.stats().evicted_keys > 1000, "{policy:?}");
        assert_eq!(refused, None, "{policy:?}: volatile keys were there to evict");
        // With no key left that has a TTL, a volatile policy behaves as noeviction.
        engine.execute(&["CONFIG", "SET", "maxmemory", "1"]);
        for i in 0..written {
            engine.del(&[format!("v:{i}")]);
        }
        assert_eq!(set(&engine, "one-more", b"x"), Err(Error::OutOfMemory), "{policy:?}");
        assert_eq!(engine.dbsize(), 1000, "{policy:?}");
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let (engine, _, _) = limited(EvictionPolicy::VolatileTtl, 300_000);
    let options = |secs| SetOptions {
        expiry: Some(memora_engine::Expiry::In(Duration::from_secs(secs))),
        ..Default::default()
    };
    for i in 0..200 {
        engine.set(format!("late:{i}"), [b'l'; 64], options(100_000)).expect("set");
    }
    for i in 0..20_000u64 {
        engine.set(format!("soon:{i}"), [b's'; 64], options(10 + i % 1000)).expect("set");
    }
    let kept = (0..200).filter(|i| engine.get(format!("late:{i}")).expect("get").is_some()).count();
    assert!(kept >= 190, "only {kept} of 200 far-expiring keys survived");
}

#[test]
fn allkeys_random_evicts_and_respects_the_limit() {
    let (engine, _, limit) = limited(EvictionPolicy::AllKeysRandom, 200_000);
    for i in 0..20_000 {
        set(&engine, &format!("k:{i}"), &[b'r'; 80]).expect("set");
    }
    assert!(engine.used_memory() <= limit + limit / 50);
    assert!(engine.dbsize() < 20_000);
}

#[test]
fn listeners_hear_every_eviction_exactly_once() {
    let heard: Heard = Arc::default();
    let log = Arc::clone(&heard);
    let builder = Engine::builder().stripes(8).maxmemory_policy(EvictionPolicy::AllKeysLru).removal_listener(
        move |removal| log.lock().expect("lock").push((removal.key.to_vec(), removal.cause)),
    );
    let (engine, _) = build_limited(builder, 200_000);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..10_000 {
                    engine.set(format!("t{t}:{i}"), [b'x'; 50], SetOptions::default()).expect("set");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("writer");
    }
    let heard = heard.lock().expect("lock");
    let evicted: Vec<&Vec<u8>> = heard
        .iter()
        .filter(|(_, cause)| *cause == memora_engine::RemovalCause::Evicted)
        .map(|(key, _)| key)
        .collect();
    let distinct: HashSet<&Vec<u8>> = evicted.iter().copied().collect();
    assert_eq!(distinct.len(), evicted.len(), "a key was reported twice");
    assert_eq!(evicted.len() as u64, engine.stats().evicted_keys);
    assert_eq!(evicted.len() + engine.dbsize(), 20_000, "every key is either present or reported evicted");
    for key in &evicted {
        assert_eq!(engine.get(key).expect("get"), None);
    }
}

#[test]
fn memory_stays_under_the_limit_in_a_two_thread_write_storm() {
    let builder = Engine::builder().maxmemory_policy(EvictionPolicy::AllKeysLru);
    let (engine, limit) = build_limited(builder, 4 * 1024 * 1024);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                for i in 0..100_000u32 {
                    let value = vec![b'x'; 20 + (i as usize * 7) % 300];
                    engine.set(format!("{t}:{i}"), value, SetOptions::default()).expect("set");
                    if i % 5000 == 0 {
                        peak = peak.max(engine.used_memory());
                    }
                    if i % 3 == 0 {
                        engine.execute(&["LPUSH", &format!("list:{t}:{}", i % 100), "element"]);
                    }
                }
                peak
            })
        })
        .collect();
    for thread in threads {
        let peak = thread.join().expect("writer");
        assert!(peak <= limit + limit / 50, "peak {peak} over limit {limit}");
    }
    assert!(engine.used_memory() <= limit + limit / 50);
    assert!(engine.stats().evicted_keys > 50_000);
}

#[test]
fn config_round_trips() {
    let engine = Engine::new();
    let get = |name: &str| engine.execute(&["CONFIG", "GET", name]);
    assert_eq!(get("maxmemory"), Reply::Map(vec![(Reply::bulk("maxmemory"), Reply::bulk("0"))]));
    assert_eq!(engine.execute(&["CONFIG", "SET", "maxmemory", "100mb"]), Reply::simple("OK"));
    assert_eq!(engine.config_value("maxmemory").as_deref(), Some("104857600"));
    assert_eq!(engine.execute(&["CONFIG", "SET", "maxmemory", "2gb"]), Reply::simple("OK"));
    assert_eq!(engine.config_value("maxmemory").as_deref(), Some("2147483648"));
    assert_eq!(
        engine.execute(&["CONFIG", "SET", "maxmemory", "lots"]),
        error_reply(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        )
    );
    for policy in EvictionPolicy::ALL {
        assert_eq!(
            engine.execute(&["CONFIG", "SET", "maxmemory-policy", &policy.name().to_uppercase()]),
            Reply::simple("OK")
        );
        assert_eq!(engine.config_value("maxmemory-policy").as_deref(), Some(policy.name()));
    }
    assert_eq!(
        engine.execute(&["CONFIG", "SET", "maxmemory-policy", "bogus"]),
        error_reply(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of \
             the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, \
             allkeys-random, noeviction"
        )
    );
    assert_eq!(engine.execute(&["CONFIG", "SET", "maxmemory-samples", "10"]), Reply::simple("OK"));
    assert_eq!(engine.config_value("maxmemory-samples").as_deref(), Some("10"));
    assert!(engine.execute(&["CONFIG", "SET", "maxmemory-samples", "0"]).is_error());
    let info = engine.info(&[b"memory"]);
    assert!(info.contains("maxmemory:2147483648\r\n"), "{info}");
    assert!(info.contains("maxmemory_policy:noeviction\r\n"), "{info}");
    assert!(info.contains("used_memory_peak:"), "{info}");
}

#[test]
fn object_freq_and_idletime_follow_the_policy_as_in_redis() {
    let clock = ManualClock::new(1_700_000_000_000);
    let engine = Engine::builder().clock(clock.clone()).build();
    set(&engine, "k", b"v").expect("set");
    clock.advance(Duration::from_millis(2_500));
    assert_eq!(engine.execute(&["OBJECT", "IDLETIME", "k"]), Reply::Integer(2));
    let freq = engine.execute(&["OBJECT", "FREQ", "k"]);
    assert!(
        matches!(&freq, Reply::Error(error) if error.to_string().starts_with("ERR An LFU maxmemory policy is not selected"))
    );
    assert_eq!(engine.execute(&["OBJECT", "FREQ", "missing"]), Reply::Null);
    engine.execute(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    set(&engine, "n", b"v").expect("set");
    assert_eq!(engine.execute(&["OBJECT", "FREQ", "n"]), Reply::Integer(5), "a new key starts at LFU_INIT");
    let idle = engine.execute(&["OBJECT", "IDLETIME", "n"]);
    assert!(
        matches!(&idle, Reply::Error(error) if error.to_string().starts_with("ERR An LFU maxmemory policy is selected"))
    );
}

#[test]
fn memory_usage_and_stats_answer() {
    let engine = Engine::new();
    set(&engine, "small", b"v").expect("set");
    engine.set("big", vec![b'x'; 10_000], SetOptions::default()).expect("set");
    let usage = |key: &str| match engine.execute(&["MEMORY", "USAGE", key]) {
        Reply::Integer(n) => n,
        other => panic!("{other:?}"),
    };
    assert!(usage("small") >= 64 && usage("small") < 200, "{}", usage("small"));
    assert!(usage("big") >= 10_064, "{}", usage("big"));
    assert_eq!(engine.execute(&["MEMORY", "USAGE", "missing"]), Reply::Null);
    assert_eq!(engine.execute(&["MEMORY", "USAGE", "big", "SAMPLES", "5"]), Reply::Integer(usage("big")));
    assert!(engine.execute(&["MEMORY", "USAGE", "big", "BOGUS"]).is_error());
    let Reply::Map(stats) = engine.execute(&["MEMORY", "STATS"]) else { panic!("a map") };
    let field = |name: &str| stats.iter().find(|(k, _)| *k == Reply::bulk(name)).map(|(_, v)| v.clone());
    assert_eq!(field("keys.count"), Some(Reply::Integer(2)));
    assert!(matches!(field("total.allocated"), Some(Reply::Integer(n)) if n as u64 == engine.used_memory()));
    assert!(field("db.0").is_some());
}

#[test]
fn evicted_keys_are_announced() {
    let (engine, _, _) = limited(EvictionPolicy::AllKeysRandom, 100_000);
    engine.config_set(&[("notify-keyspace-events", "Ee")]).expect("flags");
    let mut sub = engine.subscriber();
    sub.subscribe(&["__keyevent@0__:evicted"]);
    for i in 0..5000 {
        set(&engine, &format!("k:{i}"), &[b'x'; 100]).expect("set");
    }
    let mut announced = 0;
    while let Ok(Some(_)) = sub.try_recv() {
        announced += 1;
    }
    assert!(announced > 0);
    assert_eq!(announced, engine.stats().evicted_keys);
}

#[test]
fn listeners_hear_each_cause_after_the_locks() {
    use memora_engine::RemovalCause::{Deleted, Expired, Replaced};
    let clock = ManualClock::new(1_700_000_000_000);
    let heard: Heard = Arc::default();
    let log = Arc::clone(&heard);
    let engine = Engine::builder()
        .clock(clock.clone())
        .removal_listener(move |removal| {
            log.lock().expect("lock").push((removal.key.to_vec(), removal.cause))
        })
        .build();
    // The listener may call back into the engine: the stripe locks are released by then.
    let reentrant = engine.clone();
    let probe = Engine::builder()
        .removal_listener(move |removal| {
            let _ = reentrant.get(removal.key);
        })
        .build();
    probe.set("p", "1", SetOptions::default()).expect("set");
    probe.del(&["p"]);

    set(&engine, "a", b"1").expect("set");
    set(&engine, "a", b"2").expect("set");
    engine.execute(&["INCR", "a"]);
    engine.execute(&["APPEND", "a", "x"]); // in place: not reported
    engine.execute(&["RPUSH", "l", "x", "y"]);
    engine.execute(&["RPUSH", "l", "z"]); // in place: not reported
    engine.execute(&["LPOP", "l", "3"]); // emptied: deleted
    engine.execute(&["SET", "t", "v", "PX", "100"]);
    engine.execute(&["SET", "u", "v", "PX", "100"]);
    engine.execute(&["RENAME", "a", "b"]);
    engine.execute(&["DEL", "b"]);
    clock.advance(Duration::from_millis(200));
    assert_eq!(engine.get("t").expect("get"), None); // found expired on access
    engine.run_maintenance(); // the active cycle reclaims u
    set(&engine, "f1", b"1").expect("set");
    engine.flushall();
    let heard = heard.lock().expect("lock").clone();
    let key = |k: &str| k.as_bytes().to_vec();
    assert_eq!(
        heard,
        vec![
            (key("a"), Replaced),
            (key("a"), Replaced),
            (key("l"), Deleted),
            (key("a"), Deleted),
            (key("b"), Deleted),
            (key("t"), Expired),
            (key("u"), Expired),
            (key("f1"), Deleted),
        ]
    );
}

#[test]
fn transactions_are_refused_whole_when_memory_is_full_under_noeviction() {
    let (engine, _, _) = limited(EvictionPolicy::NoEviction, 50_000);
    let mut i = 0;
    while set(&engine, &format!("fill:{i}"), &[b'x'; 200]).is_ok() {
        i += 1;
    }
    let mut session = memora_engine::Session::new(&engine);
    assert_eq!(session.execute(&["MULTI"]), Reply::simple("OK"));
    assert_eq!(session.execute(&["GET", "fill:0"]), Reply::Error(Error::OutOfMemory));
    assert_eq!(
        session.execute(&["EXEC"]),
        error_reply("EXECABORT Transaction discarded because of previous errors.")
    );
    // Queued before memory filled, refused at EXEC.
    engine.del(&["fill:0", "fill:1", "fill:2"]);
    assert_eq!(session.execute(&["MULTI"]), Reply::simple("OK"));
    assert_eq!(session.execute(&["SET", "x", "1"]), Reply::simple("QUEUED"));
    while set(&engine, &format!("more:{i}"), &[b'x'; 200]).is_ok() {
        i += 1;
    }
    assert_eq!(
        session.execute(&["EXEC"]),
        error_reply(
            "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."
        )
    );
    assert_eq!(engine.get("x").expect("get"), None);
}

#[test]
fn tinylfu_admission_keeps_the_hot_set_through_a_scan() {
    let run = |admission: memora_engine::Admission| {
        let builder =
            Engine::builder().stripes(8).maxmemory_policy(EvictionPolicy::AllKeysLru).admission(admission);
        let (engine, _) = build_limited(builder, 400_000);
        let hot: Vec<String> = (0..1000).map(|i| format!("hot:{i}")).collect();
        for _ in 0..5 {
            for key in &hot {
                if engine.get(key).expect("get").is_none() {
                    set(&engine, key, &[b'h'; 64]).expect("set");
                }
            }
        }
        // A scan of one-off keys, three times the cache's size.
        for i in 0..10_000 {
            set(&engine, &format!("scan:{i}"), &[b's'; 64]).expect("writes answer OK");
        }
        let kept = hot.iter().filter(|k| engine.get(k).expect("get").is_some()).count();
        (kept, engine.stats().evicted_keys)
    };
    let (kept_lru, _) = run(memora_engine::Admission::Always);
    let (kept_tinylfu, evicted) = run(memora_engine::Admission::TinyLfu);
    assert!(kept_lru < 200, "plain LRU is flushed by the scan: kept {kept_lru}");
    assert!(kept_tinylfu > 900, "TinyLFU keeps the hot set: kept {kept_tinylfu}");
    assert!(evicted >= 8_000, "scan keys were turned away as evictions: {evicted}");
}

mod listener_model {
    //! A removal listener reconciles with the keyspace: replaying random writes, deletes and
    //! expiries under a small limit, a model that adds a key on each write and drops it on each
    //! removal the listener hears (expired, evicted, deleted) ends with exactly the engine's
    //! keys.

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, usize),
        Del(u8),
        Expire(u8),
        Rpush(u8),
        Advance,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u8>(), 1usize..400).prop_map(|(k, n)| Op::Set(k, n)),
            1 => any::<u8>().prop_map(Op::Del),
            1 => any::<u8>().prop_map(Op::Expire),
            1 => any::<u8>().prop_map(Op::Rpush),
            1 => Just(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn listener_and_keyspace_agree(
            policy in prop_oneof![
                Just(EvictionPolicy::AllKeysLru),
                Just(EvictionPolicy::AllKeysLfu),
                Just(EvictionPolicy::AllKeysRandom),
                Just(EvictionPolicy::VolatileTtl),
            ],
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            let clock = ManualClock::new(1_700_000_000_000);
            let heard: Heard = Arc::default();
            let log = Arc::clone(&heard);
            let builder = Engine::builder()
                .stripes(2)
                .databases(1)
                .clock(clock.clone())
                .maxmemory_policy(policy)
                .removal_listener(move |r| log.lock().expect("lock").push((r.key.to_vec(), r.cause)));
            let (engine, _) = build_limited(builder, 6_000);
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            let drain = |model: &mut BTreeSet<Vec<u8>>| {
                for (key, cause) in heard.lock().expect("lock").drain(..) {
                    if cause != memora_engine::RemovalCause::Replaced {
                        model.remove(&key);
                    }
                }
            };
            for op in ops {
                let key = |k: u8| format!("k{}", k % 40);
                match op {
                    Op::Set(k, n) => {
                        let reply = engine.execute(&["SET", &key(k), &"v".repeat(n), "PX", "5000"]);
                        drain(&mut model);
                        if reply == Reply::simple("OK") {
                            model.insert(key(k).into_bytes());
                        }
                    }
                    Op::Rpush(k) => {
                        let reply = engine.execute(&["RPUSH", &key(k), "element"]);
                        drain(&mut model);
                        if matches!(reply, Reply::Integer(_)) {
                            model.insert(key(k).into_bytes());
                        }
                    }
                    Op::Del(k) => {
                        engine.execute(&["DEL", &key(k)]);
                        drain(&mut model);
                    }
                    Op::Expire(k) => {
                        engine.execute(&["PEXPIRE", &key(k), "1"]);
                        drain(&mut model);
                    }
                    Op::Advance => {
                        clock.advance(Duration::from_millis(50));
                        engine.run_maintenance();
                        drain(&mut model);
                    }
                }
            }
            // Expired keys not reclaimed yet are still in the keyspace: reclaim them by reading.
            for k in 0..40u8 {
                let _ = engine.get(format!("k{k}"));
            }
            drain(&mut model);
            let mut cursor = 0;
            let mut actual = BTreeSet::new();
            loop {
                let (next, keys) = engine.scan(cursor, Default::default());
                actual.extend(keys);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            prop_assert_eq!(actual, model);
        }
    }
}

#[test]
fn builder_limit_peak_and_fragmentation_are_reported() {
    let engine = Engine::builder()
        .maxmemory(8 * 1024 * 1024)
        .maxmemory_policy(EvictionPolicy::AllKeysLru)
        .maxmemory_samples(10)
        .build();
    assert_eq!(engine.config_value("maxmemory").as_deref(), Some("8388608"));
    assert_eq!(engine.config_value("maxmemory-policy").as_deref(), Some("allkeys-lru"));
    assert_eq!(engine.config_value("maxmemory-samples").as_deref(), Some("10"));
    for i in 0..100_000 {
        set(&engine, &format!("k:{i}"), &[b'x'; 100]).expect("evicting writes never fail");
    }
    assert!(engine.stats().evicted_keys > 0, "the builder's limit is enforced");
    let full = engine.memory_stats();
    assert!(full.used <= 8 * 1024 * 1024 * 51 / 50, "{full:?}");
    engine.flushall();
    let emptied = engine.memory_stats();
    assert!(emptied.used < full.used / 10);
    assert!(emptied.peak >= full.used, "the peak outlives the data: {emptied:?}");
    let info = engine.info(&[b"memory"]);
    assert!(info.contains(&format!("used_memory_peak:{}\r\n", emptied.peak)), "{info}");
    if cfg!(target_os = "linux") {
        let (ratio, _) = emptied.fragmentation().expect("Linux reports RSS");
        assert!(ratio > 1.0, "the process holds more than the emptied engine: {ratio}");
        assert!(info.contains("mem_fragmentation_ratio:"), "{info}");
    }
}
