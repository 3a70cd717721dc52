//! SORT and SORT_RO through `Session::execute` and the typed API: large encodings, expired
//! pattern keys, databases, STORE, and concurrent writers (which must never make SORT panic).

use std::time::Duration;

use memora_engine::{Engine, ManualClock, Reply, Session, SortOptions, SortOutcome};

fn run(s: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|i| Reply::Bulk(i.as_bytes().to_vec())).collect())
}

fn texts(reply: Reply) -> Vec<String> {
    let Reply::Array(items) = reply else { panic!("not an array: {reply:?}") };
    items
        .into_iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8(b).expect("utf8"),
            Reply::Null => "(nil)".into(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

#[test]
fn large_sets_and_sorted_sets_sort_like_small_ones() {
    let mut s = Session::new(&Engine::new());
    let numbers: Vec<String> = (0..1000).map(|i| ((i * 7919) % 1000).to_string()).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(numbers.iter().map(String::as_str));
    run(&mut s, &args);
    let words: Vec<String> = (0..300).map(|i| format!("w{i:04}x")).collect();
    let mut args = vec!["SADD", "words"];
    args.extend(words.iter().rev().map(String::as_str));
    run(&mut s, &args);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "words"]), Reply::Bulk(b"hashtable".to_vec()));

    let sorted = texts(run(&mut s, &["SORT", "s", "LIMIT", "10", "3"]));
    assert_eq!(sorted, ["10", "11", "12"]);
    let sorted = texts(run(&mut s, &["SORT", "s", "DESC", "LIMIT", "0", "2"]));
    assert_eq!(sorted, ["999", "998"]);
    assert_eq!(texts(run(&mut s, &["SORT", "words", "ALPHA"])), words);
    // BY nosort on a set with STORE sorts anyway, so the stored list is deterministic.
    assert_eq!(run(&mut s, &["SORT", "words", "BY", "nosort", "STORE", "dst"]), Reply::Integer(300));
    assert_eq!(texts(run(&mut s, &["LRANGE", "dst", "0", "2"])), words[..3]);

    let mut args = vec!["ZADD", "z"];
    let scored: Vec<(String, String)> = (0..500).map(|i| (i.to_string(), format!("m{}", 499 - i))).collect();
    for (score, member) in &scored {
        args.push(score);
        args.push(member);
    }
    run(&mut s, &args);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "z"]), Reply::Bulk(b"skiplist".to_vec()));
    // Ranks, not member order: m499 has the lowest score.
    assert_eq!(run(&mut s, &["SORT", "z", "BY", "nosort", "LIMIT", "0", "2"]), bulks(&["m499", "m498"]));
    assert_eq!(run(&mut s, &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"]), bulks(&["m1", "m2"]));
    assert_eq!(run(&mut s, &["SORT", "z", "ALPHA", "LIMIT", "0", "2"]), bulks(&["m0", "m1"]));
}

#[test]
fn expired_pattern_keys_and_hash_fields_name_nothing() {
    let clock = ManualClock::new(1_700_000_000_000);
    let engine = Engine::builder().clock(clock.clone()).build();
    let mut s = Session::new(&engine);
    run(&mut s, &["RPUSH", "l", "a", "b", "c"]);
    run(&mut s, &["SET", "w_a", "3", "PX", "100"]);
    run(&mut s, &["SET", "w_b", "2"]);
    run(&mut s, &["SET", "w_c", "1"]);
    assert_eq!(run(&mut s, &["SORT", "l", "BY", "w_*", "GET", "w_*"]), bulks(&["1", "2", "3"]));
    clock.advance(Duration::from_millis(200));
    let reply = texts(run(&mut s, &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"]));
    assert_eq!(reply, ["a", "(nil)", "c", "1", "b", "2"], "an expired weight is 0");

    run(&mut s, &["HSET", "h_a", "f", "x"]);
    run(&mut s, &["HSET", "h_b", "f", "y", "g", "z"]);
    let set = run(&mut s, &["HPEXPIRE", "h_b", "100", "FIELDS", "1", "f"]);
    assert_eq!(set, Reply::Array(vec![Reply::Integer(1)]));
    clock.advance(Duration::from_millis(200));
    assert_eq!(texts(run(&mut s, &["SORT", "l", "ALPHA", "GET", "h_*->f"])), ["x", "(nil)", "(nil)"]);
}

#[test]
fn patterns_read_the_selected_database_and_store_replaces_the_destination() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SELECT", "3"]);
    run(&mut s, &["RPUSH", "l", "1", "2"]);
    run(&mut s, &["MSET", "w_1", "9", "w_2", "5", "n_1", "one"]);
    assert_eq!(run(&mut s, &["SORT", "l", "BY", "w_*", "GET", "n_*", "GET", "#"]), {
        Reply::Array(vec![
            Reply::Null,
            Reply::Bulk(b"2".to_vec()),
            Reply::Bulk(b"one".to_vec()),
            Reply::Bulk(b"1".to_vec()),
        ])
    });
    run(&mut s, &["SADD", "dst", "x"]);
    assert_eq!(run(&mut s, &["SORT", "l", "GET", "n_*", "STORE", "dst"]), Reply::Integer(2));
    assert_eq!(
        run(&mut s, &["LRANGE", "dst", "0", "-1"]),
        bulks(&["one", ""]),
        "missing GET values store as empty"
    );
    run(&mut s, &["SELECT", "0"]);
    assert_eq!(run(&mut s, &["EXISTS", "dst"]), Reply::Integer(0));
    assert_eq!(run(&mut s, &["SORT", "l"]), Reply::Array(Vec::new()));

    // Typed API.
    let engine = Engine::new();
    engine.rpush(b"l", &[b"b", b"a"]).expect("rpush");
    let options = SortOptions { alpha: true, store: Some(b"out"), ..SortOptions::default() };
    assert_eq!(engine.sort(b"l", &options), Ok(SortOutcome::Stored(2)));
    let options =
        SortOptions { get: vec![b"#", b"nostar"], desc: true, alpha: true, ..SortOptions::default() };
    let expected = vec![Some(b"b".to_vec()), None, Some(b"a".to_vec()), None];
    assert_eq!(engine.sort(b"out", &options), Ok(SortOutcome::Elements(expected)));
}

#[test]
fn sort_with_concurrent_writers_never_panics() {
    let engine = Engine::new();
    let writer = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            let mut s = Session::new(&engine);
            for i in 0..3000 {
                let n = (i % 50).to_string();
                let weight = format!("w_{n}");
                match i % 5 {
                    0 => run(&mut s, &["RPUSH", "l", &n]),
                    1 => run(&mut s, &["LPOP", "l"]),
                    2 => run(&mut s, &["SET", &weight, &i.to_string()]),
                    3 => run(&mut s, &["HSET", &weight, "f", "1"]),
                    _ => run(&mut s, &["DEL", &weight, "dst"]),
                };
            }
        })
    };
    let mut s = Session::new(&engine);
    for i in 0..500 {
        let reply = match i % 3 {
            0 => run(&mut s, &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*->f"]),
            1 => run(&mut s, &["SORT", "l", "BY", "w_*->f", "DESC", "STORE", "dst"]),
            _ => run(&mut s, &["SORT_RO", "l", "ALPHA", "LIMIT", "1", "5"]),
        };
        assert!(!matches!(reply, Reply::Error(ref e) if e.to_string().starts_with("WRONGTYPE")), "{reply:?}");
    }
    writer.join().expect("writer");
}

#[test]
fn sort_store_serves_a_client_blocked_on_the_destination() {
    let engine = Engine::new();
    engine.rpush(b"src", &[b"2", b"1"]).expect("rpush");
    let waiter = {
        let engine = engine.clone();
        std::thread::spawn(move || engine.blpop(&[&b"dst"[..]], Some(Duration::from_secs(10))))
    };
    let start = std::time::Instant::now();
    while engine.stats().blocked_clients != 1 {
        assert!(start.elapsed() < Duration::from_secs(10), "the waiter never blocked");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut s = Session::new(&engine);
    assert_eq!(run(&mut s, &["SORT", "src", "STORE", "dst"]), Reply::Integer(2));
    let popped = waiter.join().expect("waiter");
    assert_eq!(popped, Ok(Some((b"dst".to_vec(), b"1".to_vec()))));
    assert_eq!(run(&mut s, &["LRANGE", "dst", "0", "-1"]), bulks(&["2"]));
}
