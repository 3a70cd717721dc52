//! Guards atomicity under concurrency: INCRs from several threads sum exactly, MSET is never
//! seen half-applied by MGET, RENAME never loses or duplicates a value, and SWAPDB/FLUSHDB
//! race safely with writers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use memora_engine::{Engine, Reply, Session};

const THREADS: usize = 4;

#[test]
fn concurrent_incrs_sum_exactly() {
    let engine = Engine::builder().stripes(8).build();
    let per_thread = 20_000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let engine = engine.clone();
            s.spawn(move || {
                let mut session = Session::new(&engine);
                for i in 0..per_thread {
                    // Half through the typed API, half through execute: one implementation.
                    if (i + t) % 2 == 0 {
                        engine.incr(b"counter").expect("integer");
                    } else {
                        assert!(matches!(session.execute(&["INCRBY", "counter", "1"]), Reply::Integer(_)));
                    }
                }
            });
        }
    });
    assert_eq!(
        engine.get(b"counter").expect("string"),
        Some((THREADS * per_thread).to_string().into_bytes())
    );
}

#[test]
fn mset_is_never_seen_half_applied() {
    let engine = Engine::builder().stripes(16).build();
    let keys: Vec<String> = (0..8).map(|i| format!("{{group}}:{i}:{}", i * 7919)).collect();
    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), "0".to_string())).collect();
    engine.mset(&pairs).expect("mset");
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        for writer in 0..2 {
            let (engine, keys, stop) = (engine.clone(), keys.clone(), Arc::clone(&stop));
            s.spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let value = format!("{writer}-{round}");
                    let pairs: Vec<(&str, &str)> =
                        keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
                    engine.mset(&pairs).expect("mset");
                }
            });
        }
        let (engine, keys, stop) = (engine.clone(), keys.clone(), Arc::clone(&stop));
        s.spawn(move || {
            for _ in 0..20_000 {
                let values = engine.mget(&keys);
                let first = &values[0];
                assert!(values.iter().all(|v| v == first), "MGET saw a half-applied MSET: {values:?}");
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
}

#[test]
fn renames_never_lose_or_duplicate() {
    let engine = Engine::builder().stripes(32).build();
    let slots = 16;
    // One token moves between keys; at every moment exactly one key should hold it.
    engine.set(b"slot:0", b"token", Default::default()).expect("set");
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (engine, stop) = (engine.clone(), Arc::clone(&stop));
            s.spawn(move || {
                let mut state = t + 1;
                while !stop.load(Ordering::Relaxed) {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let (from, to) = ((state >> 33) % slots, (state >> 45) % slots);
                    // Fails with "no such key" when another thread moved the token first.
                    let _ = engine.rename(format!("slot:{from}"), format!("slot:{to}"));
                }
            });
        }
        let (engine, stop) = (engine.clone(), Arc::clone(&stop));
        s.spawn(move || {
            let keys: Vec<String> = (0..slots).map(|i| format!("slot:{i}")).collect();
            for _ in 0..20_000 {
                assert_eq!(engine.exists(&keys), 1, "token lost or duplicated");
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
}

#[test]
fn swapdb_and_flush_race_with_writers() {
    let engine = Engine::builder().stripes(4).databases(2).build();
    std::thread::scope(|s| {
        for t in 0..2 {
            let engine = engine.clone();
            s.spawn(move || {
                for i in 0..20_000u32 {
                    let key = format!("k{t}:{}", i % 500);
                    engine.set(&key, b"v", Default::default()).expect("set");
                    let _ = engine.get(&key);
                }
            });
        }
        let engine = engine.clone();
        s.spawn(move || {
            for i in 0..500 {
                engine.swapdb(0, 1).expect("valid dbs");
                if i % 50 == 0 {
                    engine.flushdb();
                }
            }
        });
    });
    // A key can be in both databases (written, swapped away, written again), but never twice
    // in one, and each database's count agrees with its keys.
    for db in [engine.clone(), engine.select(1).expect("db 1")] {
        let keys = db.keys("*");
        assert!(keys.len() <= 1000, "at most the 1000 distinct keys written: {}", keys.len());
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), keys.len(), "no key is listed twice");
        assert_eq!(db.dbsize(), keys.len(), "DBSIZE agrees with KEYS");
        assert!(keys.iter().all(|k| k.starts_with(b"k0:") || k.starts_with(b"k1:")));
    }
}

#[test]
fn many_keys_from_many_threads_are_all_found() {
    let engine = Engine::builder().stripes(16).build();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let engine = engine.clone();
            s.spawn(move || {
                for i in 0..10_000 {
                    engine.set(format!("t{t}:{i}"), format!("{i}"), Default::default()).expect("set");
                }
            });
        }
    });
    assert_eq!(engine.dbsize(), THREADS * 10_000);
    for t in 0..THREADS {
        for i in (0..10_000).step_by(97) {
            assert_eq!(engine.get(format!("t{t}:{i}")).expect("string"), Some(format!("{i}").into_bytes()));
        }
    }
}
