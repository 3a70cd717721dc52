//! Guards each string and key command's Redis edge cases through `execute`: option clashes,
//! negative indexes, overflow, wrong arity and exact error texts. Every expectation here was
//! checked against Redis 7.

use memora_engine::{Engine, ManualClock, Reply, Session};

/// Shorthands for expected replies.
fn ok() -> Reply {
    Reply::OK
}
fn int(n: i64) -> Reply {
    Reply::Integer(n)
}
fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}
fn nil() -> Reply {
    Reply::Null
}
fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}
fn err(text: &str) -> Reply {
    Reply::Error(memora_engine::Error::msg(text.to_string()))
}

/// Runs each command in order on one session, comparing replies (errors by text).
fn script(steps: &[(&[&str], Reply)]) {
    let engine = Engine::builder().clock(ManualClock::new(1_700_000_000_000)).build();
    let mut session = Session::new(&engine);
    for (i, (argv, expected)) in steps.iter().enumerate() {
        let got = session.execute(argv);
        let render = |r: &Reply| match r {
            Reply::Error(e) => format!("-{e}"),
            other => format!("{other:?}"),
        };
        assert_eq!(render(&got), render(expected), "step {i}: {argv:?}");
    }
}

#[test]
fn set_options() {
    script(&[
        (&["SET", "k", "v", "NX", "XX"], err("ERR syntax error")),
        (&["SET", "k", "v", "EX", "10", "PX", "100"], err("ERR syntax error")),
        (&["SET", "k", "v", "EX", "10", "KEEPTTL"], err("ERR syntax error")),
        (&["SET", "k", "v", "EX", "0"], err("ERR invalid expire time in 'set' command")),
        (&["SET", "k", "v", "EX", "-5"], err("ERR invalid expire time in 'set' command")),
        (&["SET", "k", "v", "EX", "9223372036854775807"], err("ERR invalid expire time in 'set' command")),
        (&["SET", "k", "v", "PX", "abc"], err("ERR value is not an integer or out of range")),
        (&["SET", "k", "v", "EX"], err("ERR syntax error")),
        (&["SET", "k", "v", "BOGUS"], err("ERR syntax error")),
        (&["SET", "k", "v", "XX"], nil()),
        (&["SET", "k", "v", "NX"], ok()),
        (&["SET", "k", "w", "NX"], nil()),
        (&["SET", "k", "w", "XX", "GET"], bulk("v")),
        (&["SET", "new", "x", "GET"], nil()),
        (&["SET", "k", "z", "NX", "GET"], bulk("w")),
        (&["GET", "k"], bulk("w")),
        (&["set", "K2", "v", "px", "100", "get", "xx"], nil()),
        (&["SETNX", "k", "a"], int(0)),
        (&["SETNX", "fresh", "a"], int(1)),
        (&["SETEX", "k", "0", "v"], err("ERR invalid expire time in 'setex' command")),
        (&["PSETEX", "k", "-1", "v"], err("ERR invalid expire time in 'psetex' command")),
        (&["SETEX", "k", "10", "v"], ok()),
        (&["GETSET", "k", "new"], bulk("v")),
        (&["GETSET", "missing", "new"], nil()),
        (&["SET", "k"], err("ERR wrong number of arguments for 'set' command")),
    ]);
}

#[test]
fn getex_and_getdel() {
    script(&[
        (&["GETEX", "nokey"], nil()),
        (&["SET", "k", "v"], ok()),
        (&["GETEX", "k", "EX", "10", "PX", "10"], err("ERR syntax error")),
        (&["GETEX", "k", "PERSIST", "EX", "10"], err("ERR syntax error")),
        (&["GETEX", "k", "EX", "0"], err("ERR invalid expire time in 'getex' command")),
        (&["GETEX", "k", "EX", "100"], bulk("v")),
        (&["TTL", "k"], int(100)),
        (&["GETEX", "k", "PERSIST"], bulk("v")),
        (&["TTL", "k"], int(-1)),
        (&["GETEX", "k", "PXAT", "1"], bulk("v")),
        (&["EXISTS", "k"], int(0)),
        (&["SET", "d", "v"], ok()),
        (&["GETDEL", "d"], bulk("v")),
        (&["GETDEL", "d"], nil()),
    ]);
}

#[test]
fn mset_family() {
    script(&[
        (&["MSET", "a", "1", "b"], err("ERR wrong number of arguments for 'mset' command")),
        (&["MSETNX", "a", "1", "b"], err("ERR wrong number of arguments for 'msetnx' command")),
        (&["MSET", "a", "1", "b", "2"], ok()),
        (&["MGET", "a", "b", "c"], arr(vec![bulk("1"), bulk("2"), nil()])),
        (&["MSETNX", "c", "3", "a", "x"], int(0)),
        (&["GET", "c"], nil()),
        (&["MSETNX", "c", "3", "d", "4"], int(1)),
        (&["MSET", "a", "first", "a", "second"], ok()),
        (&["GET", "a"], bulk("second")),
    ]);
}

#[test]
fn counters() {
    script(&[
        (&["INCR", "n"], int(1)),
        (&["INCRBY", "n", "-11"], int(-10)),
        (&["DECR", "n"], int(-11)),
        (&["DECRBY", "n", "-1"], int(-10)),
        (&["INCRBY", "n", "+1"], err("ERR value is not an integer or out of range")),
        (&["INCRBY", "n", " 1"], err("ERR value is not an integer or out of range")),
        (&["INCRBY", "n", "1.5"], err("ERR value is not an integer or out of range")),
        (&["SET", "n", "9223372036854775807"], ok()),
        (&["INCR", "n"], err("ERR increment or decrement would overflow")),
        (&["SET", "n", "-9223372036854775808"], ok()),
        (&["DECR", "n"], err("ERR increment or decrement would overflow")),
        (&["DECRBY", "n", "-9223372036854775808"], err("ERR decrement would overflow")),
        (&["SET", "s", "abc"], ok()),
        (&["INCR", "s"], err("ERR value is not an integer or out of range")),
        (&["SET", "s", "007"], ok()),
        (&["INCR", "s"], err("ERR value is not an integer or out of range")),
        (&["SET", "s", "10"], ok()),
        (&["OBJECT", "ENCODING", "s"], bulk("int")),
        (&["APPEND", "s", "5"], int(3)),
        (&["INCR", "s"], int(106)),
        (&["GET", "s"], bulk("106")),
        (&["INCRBYFLOAT", "f", "abc"], err("ERR value is not a valid float")),
        (&["SET", "f", "abc"], ok()),
        (&["INCRBYFLOAT", "f", "1"], err("ERR value is not a valid float")),
        (&["SET", "f", "1.5"], ok()),
        (&["INCRBYFLOAT", "f", "2"], bulk("3.5")),
        (&["INCRBYFLOAT", "f", "inf"], err("ERR increment would produce NaN or Infinity")),
        (&["GET", "f"], bulk("3.5")),
    ]);
}

#[test]
fn append_strlen_ranges() {
    script(&[
        (&["APPEND", "k", "Hello"], int(5)),
        (&["APPEND", "k", " World"], int(11)),
        (&["STRLEN", "k"], int(11)),
        (&["STRLEN", "nokey"], int(0)),
        (&["GETRANGE", "k", "0", "4"], bulk("Hello")),
        (&["GETRANGE", "k", "-5", "-1"], bulk("World")),
        (&["GETRANGE", "k", "5", "1"], bulk("")),
        (&["GETRANGE", "k", "-1", "-5"], bulk("")),
        (&["GETRANGE", "k", "0", "100"], bulk("Hello World")),
        (&["GETRANGE", "nokey", "0", "-1"], bulk("")),
        (&["GETRANGE", "k", "a", "1"], err("ERR value is not an integer or out of range")),
        (&["SUBSTR", "k", "6", "-1"], bulk("World")),
        (&["SETRANGE", "k", "6", "Redis"], int(11)),
        (&["GET", "k"], bulk("Hello Redis")),
        (&["SETRANGE", "k", "-1", "x"], err("ERR offset is out of range")),
        (&["SETRANGE", "pad", "3", "ab"], int(5)),
        (&["SETRANGE", "empty", "10", ""], int(0)),
        (&["EXISTS", "empty"], int(0)),
        (&["SETRANGE", "k", "100", ""], int(11)),
        (
            &["SETRANGE", "big", "536870911", "xx"],
            err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
        ),
        (&["SET", "n", "12"], ok()),
        (&["SETRANGE", "n", "1", "5"], int(2)),
        (&["GET", "n"], bulk("15")),
    ]);
    let engine = Engine::new();
    engine.execute(&["SETRANGE", "pad", "3", "ab"]);
    assert_eq!(engine.get(b"pad").expect("string"), Some(b"\0\0\0ab".to_vec()));
}

#[test]
fn lcs() {
    let idx = |with_len: bool| {
        let range = |a: i64, b: i64| arr(vec![int(a), int(b)]);
        let mut first = vec![range(4, 7), range(5, 8)];
        let mut second = vec![range(2, 3), range(0, 1)];
        if with_len {
            first.push(int(4));
            second.push(int(2));
        }
        Reply::Map(vec![(bulk("matches"), arr(vec![arr(first), arr(second)])), (bulk("len"), int(6))])
    };
    script(&[
        (&["MSET", "key1", "ohmytext", "key2", "mynewtext"], ok()),
        (&["LCS", "key1", "key2"], bulk("mytext")),
        (&["LCS", "key1", "key2", "LEN"], int(6)),
        (&["LCS", "key1", "key2", "IDX"], idx(false)),
        (&["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"], idx(true)),
        (
            &["LCS", "key1", "key2", "LEN", "IDX"],
            err("ERR If you want both the length and indexes, please just use IDX."),
        ),
        (&["LCS", "key1", "nokey"], bulk("")),
        (&["LCS", "key1", "key2", "FOO"], err("ERR syntax error")),
    ]);
}

#[test]
fn keys_basics() {
    script(&[
        (&["MSET", "a", "1", "b", "2", "c", "3"], ok()),
        (&["EXISTS", "a", "a", "nokey"], int(2)),
        (&["DEL", "a", "nokey", "a"], int(1)),
        (&["UNLINK", "b"], int(1)),
        (&["TYPE", "c"], Reply::simple("string")),
        (&["TYPE", "nokey"], Reply::simple("none")),
        (&["TOUCH", "c", "nokey"], int(1)),
        (&["RENAME", "nokey", "x"], err("ERR no such key")),
        (&["RENAME", "c", "c"], ok()),
        (&["RENAME", "c", "d"], ok()),
        (&["GET", "d"], bulk("3")),
        (&["SET", "e", "5"], ok()),
        (&["RENAMENX", "d", "e"], int(0)),
        (&["RENAMENX", "d", "d"], int(0)),
        (&["RENAMENX", "d", "f"], int(1)),
        (&["PERSIST", "f"], int(0)),
        (&["EXPIRE", "f", "100"], int(1)),
        (&["PERSIST", "f"], int(1)),
        (&["PERSIST", "nokey"], int(0)),
        (&["DBSIZE"], int(2)),
        (&["FLUSHDB", "BOGUS"], err("ERR syntax error")),
        (&["FLUSHDB", "ASYNC"], ok()),
        (&["DBSIZE"], int(0)),
        (&["RANDOMKEY"], nil()),
    ]);
}

#[test]
fn expire_option_errors() {
    script(&[
        (&["SET", "k", "v"], ok()),
        (
            &["EXPIRE", "k", "10", "NX", "XX"],
            err("ERR NX and XX, GT or LT options at the same time are not compatible"),
        ),
        (
            &["EXPIRE", "k", "10", "GT", "LT"],
            err("ERR GT and LT options at the same time are not compatible"),
        ),
        (&["EXPIRE", "k", "10", "FOO"], err("ERR Unsupported option FOO")),
        (&["EXPIRE", "k", "abc"], err("ERR value is not an integer or out of range")),
        (&["EXPIRE", "k", "9223372036854775807"], err("ERR invalid expire time in 'expire' command")),
        (&["PEXPIRE", "k", "9223372036854775807"], err("ERR invalid expire time in 'pexpire' command")),
        (&["EXPIRE", "k", "10", "XX"], int(0)),
        (&["EXPIRE", "k", "10", "GT"], int(0)),
        (&["EXPIRE", "k", "10", "LT"], int(1)),
        (&["EXPIRE", "k", "20", "XX", "GT"], int(1)),
        (&["TTL", "k"], int(20)),
        (&["PEXPIREAT", "k", "1"], int(1)),
        (&["EXISTS", "k"], int(0)),
    ]);
}

#[test]
fn copy_move_swapdb_select() {
    script(&[
        (&["SET", "k", "v"], ok()),
        (&["COPY", "k", "k"], err("ERR source and destination objects are the same")),
        (&["COPY", "k", "k2"], int(1)),
        (&["COPY", "k", "k2"], int(0)),
        (&["SET", "k", "w"], ok()),
        (&["COPY", "k", "k2", "REPLACE"], int(1)),
        (&["GET", "k2"], bulk("w")),
        (&["COPY", "k", "k", "DB", "1"], int(1)),
        (&["COPY", "k", "x", "DB", "16"], err("ERR DB index is out of range")),
        (&["COPY", "k", "x", "DB"], err("ERR syntax error")),
        (&["COPY", "nokey", "x"], int(0)),
        (&["MOVE", "k", "0"], err("ERR source and destination objects are the same")),
        (&["MOVE", "k", "1"], int(0)),
        (&["MOVE", "k2", "1"], int(1)),
        (&["MOVE", "k2", "99"], err("ERR DB index is out of range")),
        (&["MOVE", "nokey", "1"], int(0)),
        (&["SELECT", "1"], ok()),
        (&["MGET", "k", "k2"], arr(vec![bulk("w"), bulk("w")])),
        (&["SELECT", "16"], err("ERR DB index is out of range")),
        (&["SELECT", "x"], err("ERR value is not an integer or out of range")),
        (&["SWAPDB", "0", "1"], ok()),
        (&["DBSIZE"], int(1)),
        (&["SWAPDB", "0", "x"], err("ERR invalid second DB index")),
        (&["SWAPDB", "0", "99"], err("ERR DB index is out of range")),
    ]);
}

#[test]
fn scan_and_keys() {
    let engine = Engine::builder().stripes(8).build();
    for i in 0..500 {
        engine.set(format!("user:{i}"), b"v", Default::default()).expect("set");
    }
    engine.set(b"other", b"v", Default::default()).expect("set");
    let mut found = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let Reply::Array(parts) = engine.execute(&["SCAN", &cursor, "MATCH", "user:*", "COUNT", "50"]) else {
            panic!("array")
        };
        let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else { panic!("shape") };
        for key in keys {
            let Reply::Bulk(key) = key else { panic!("bulk") };
            assert!(key.starts_with(b"user:"));
            found.insert(key.clone());
        }
        cursor = String::from_utf8(next.clone()).expect("digits");
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(found.len(), 500);
    assert!(calls >= 10, "COUNT bounds each call: {calls}");
    let Reply::Array(keys) = engine.execute(&["KEYS", "user:1?"]) else { panic!("array") };
    assert_eq!(keys.len(), 10);
    assert_eq!(engine.execute(&["SCAN", "x"]), Reply::Error(memora_engine::Error::msg("ERR invalid cursor")));
    assert_eq!(engine.execute(&["SCAN", "0", "COUNT", "0"]), Reply::Error(memora_engine::Error::Syntax));
    let Reply::Array(parts) = engine.execute(&["SCAN", "0", "TYPE", "string", "COUNT", "1000"]) else {
        panic!()
    };
    assert_eq!(parts[1], Reply::Array(engine.keys("*").into_iter().map(Reply::Bulk).collect()));
}

#[test]
fn scan_returns_keys_present_throughout_while_growing() {
    let engine = Engine::builder().stripes(4).build();
    for i in 0..200 {
        engine.set(format!("old:{i}"), b"v", Default::default()).expect("set");
    }
    let mut seen = std::collections::BTreeSet::new();
    let (mut cursor, mut added) = (0u64, 0);
    loop {
        let (next, keys) =
            engine.scan(cursor, memora_engine::ScanOptions { count: Some(7), ..Default::default() });
        seen.extend(keys);
        // Grow every stripe between calls (new pages, index rehashes), up to a bound so the
        // scan can finish.
        for _ in 0..if added < 3_000 { 100 } else { 0 } {
            engine.set(format!("new:{added}"), b"v", Default::default()).expect("set");
            added += 1;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..200 {
        assert!(seen.contains(format!("old:{i}").as_bytes()), "old:{i} missed");
    }
}

#[test]
fn connection_and_server_commands() {
    script(&[
        (&["PING"], Reply::simple("PONG")),
        (&["PING", "hi"], bulk("hi")),
        (&["PING", "a", "b"], err("ERR wrong number of arguments for 'ping' command")),
        (&["ECHO", "x"], bulk("x")),
        (
            &["CLIENT", "SETNAME", "my name"],
            err("ERR Client names cannot contain spaces, newlines or special characters."),
        ),
        (&["CLIENT", "SETNAME", "worker"], ok()),
        (&["CLIENT", "GETNAME"], bulk("worker")),
        (&["CLIENT", "NOPE"], err("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")),
        (&["CONFIG", "GET", "databases"], Reply::Map(vec![(bulk("databases"), bulk("16"))])),
        (&["CONFIG", "SET", "hz"], err("ERR wrong number of arguments for 'config|set' command")),
        (&["CONFIG", "SET", "hz", "20", "lfu-log-factor"], err("ERR syntax error")),
        (&["CONFIG", "SET", "hz", "20"], ok()),
        (&["CONFIG", "GET", "h?"], Reply::Map(vec![(bulk("hz"), bulk("20"))])),
        (&["HELLO", "4"], err("NOPROTO unsupported protocol version")),
        (&["NOSUCH", "a"], err("ERR unknown command 'NOSUCH', with args beginning with: 'a' ")),
        (&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"], arr(vec![bulk("a"), bulk("b")])),
        (&["COMMAND", "GETKEYS", "PING", "x"], err("ERR The command has no key arguments")),
        (&["QUIT"], ok()),
    ]);
}

#[test]
fn hello_switches_protocol_and_reset_restores() {
    let engine = Engine::new();
    let mut session = Session::new(&engine);
    let Reply::Map(fields) = session.execute(&["HELLO", "3", "SETNAME", "c1"]) else { panic!("map") };
    assert!(fields.contains(&(bulk("proto"), int(3))));
    assert_eq!(session.protocol(), memora_engine::Protocol::Resp3);
    assert_eq!(session.execute(&["CLIENT", "GETNAME"]), bulk("c1"));
    session.execute(&["SELECT", "2"]);
    assert_eq!(session.execute(&["RESET"]), Reply::simple("RESET"));
    assert_eq!(session.protocol(), memora_engine::Protocol::Resp2);
    assert_eq!(session.db(), 0);
    let Reply::Integer(count) = session.execute(&["COMMAND", "COUNT"]) else { panic!("int") };
    assert!(count > 50, "{count}");
}

#[test]
fn stats_count_hits_misses_and_commands() {
    let engine = Engine::new();
    let mut session = Session::new(&engine);
    session.execute(&["SET", "k", "v"]);
    session.execute(&["GET", "k"]);
    session.execute(&["GET", "missing"]);
    session.execute(&["GET"]);
    session.execute(&["INCR", "k"]);
    let stats = engine.stats();
    assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 1));
    let get = stats.commands.iter().find(|c| c.name == "get").expect("get stats");
    assert_eq!((get.calls, get.rejected_calls), (2, 1));
    let incr = stats.commands.iter().find(|c| c.name == "incr").expect("incr stats");
    assert_eq!((incr.calls, incr.failed_calls), (1, 1));
    assert_eq!(stats.connected_clients, 1);
    session.execute(&["CONFIG", "RESETSTAT"]);
    assert_eq!(engine.stats().keyspace_hits, 0);
}

#[test]
fn binary_keys_and_values() {
    let engine = Engine::new();
    let key: &[u8] = b"k\0\r\n\xff";
    let value: &[u8] = b"\0\x01\r\n\xfe";
    assert_eq!(engine.execute(&[b"SET".as_slice(), key, value]), Reply::OK);
    assert_eq!(engine.execute(&[b"GET".as_slice(), key]), Reply::Bulk(value.to_vec()));
    let long_key = vec![0xabu8; 1000];
    let long_value = vec![0u8; 100_000];
    assert_eq!(engine.execute(&[b"SET".as_slice(), &long_key, &long_value]), Reply::OK);
    assert_eq!(engine.execute(&[b"STRLEN".as_slice(), &long_key]), Reply::Integer(100_000));
    assert_eq!(engine.execute(&[b"OBJECT".as_slice(), b"ENCODING", &long_key]), Reply::bulk("raw"));
}
