//! Hash commands through `execute`: replies and errors as Redis (7.4 for field expiry) gives
//! them, including field TTLs on an injected clock.

use memora_engine::{Engine, ManualClock, Reply, Session};

const START_MS: u64 = 1_700_000_000_000;

fn run(s: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

fn ints(ns: &[i64]) -> Reply {
    Reply::Array(ns.iter().map(|&n| Reply::Integer(n)).collect())
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

fn err(s: &mut Session, args: &[&str]) -> String {
    match run(s, args) {
        Reply::Error(e) => e.to_string(),
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

/// The bulk strings of an array reply, sorted.
fn sorted(reply: Reply) -> Vec<String> {
    let Reply::Array(items) = reply else { panic!("not an array: {reply:?}") };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8(b).expect("utf8"),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

fn clocked() -> (Session, ManualClock) {
    let clock = ManualClock::new(START_MS);
    let engine = Engine::builder().clock(clock.clone()).stripes(4).build();
    (Session::new(&engine), clock)
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn set_get_delete() {
    let mut s = Session::new(&Engine::new());
    assert_eq!(run(&mut s, &["HSET", "h", "a", "1", "b", "2"]), int(2));
    assert_eq!(run(&mut s, &["HSET", "h", "a", "10", "c", "3"]), int(1));
    assert_eq!(run(&mut s, &["HGET", "h", "a"]), bulk("10"));
    assert_eq!(run(&mut s, &["HGET", "h", "zz"]), Reply::Null);
    assert_eq!(run(&mut s, &["HGET", "nosuch", "a"]), Reply::Null);
    assert_eq!(
        run(&mut s, &["HMGET", "h", "a", "zz", "c"]),
        Reply::Array(vec![bulk("10"), Reply::Null, bulk("3")])
    );
    assert_eq!(run(&mut s, &["HMGET", "nosuch", "a"]), Reply::Array(vec![Reply::Null]));
    assert_eq!(run(&mut s, &["HLEN", "h"]), int(3));
    assert_eq!(run(&mut s, &["HEXISTS", "h", "b"]), int(1));
    assert_eq!(run(&mut s, &["HEXISTS", "h", "zz"]), int(0));
    assert_eq!(run(&mut s, &["HSTRLEN", "h", "a"]), int(2));
    assert_eq!(run(&mut s, &["HSTRLEN", "h", "zz"]), int(0));
    assert_eq!(run(&mut s, &["HSETNX", "h", "a", "x"]), int(0));
    assert_eq!(run(&mut s, &["HSETNX", "h", "d", "4"]), int(1));
    assert_eq!(run(&mut s, &["HMSET", "h", "e", "5", "f", "6"]), Reply::OK);
    assert_eq!(sorted(run(&mut s, &["HKEYS", "h"])), ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(sorted(run(&mut s, &["HVALS", "h"])), ["10", "2", "3", "4", "5", "6"]);
    assert_eq!(run(&mut s, &["TYPE", "h"]), Reply::simple("hash"));
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    assert_eq!(run(&mut s, &["HDEL", "h", "a", "b", "zz"]), int(2));
    assert_eq!(run(&mut s, &["HDEL", "h", "c", "d", "e", "f"]), int(4));
    assert_eq!(run(&mut s, &["EXISTS", "h"]), int(0), "the last HDEL deletes the key");
    assert_eq!(run(&mut s, &["HDEL", "h", "a"]), int(0));
    assert_eq!(run(&mut s, &["HLEN", "h"]), int(0));
    assert_eq!(run(&mut s, &["HSETNX", "n", "f", "v"]), int(1));
    assert_eq!(run(&mut s, &["HGETALL", "n"]), Reply::Map(vec![(bulk("f"), bulk("v"))]));
    assert_eq!(run(&mut s, &["HGETALL", "nosuch"]), Reply::Map(vec![]));
    assert_eq!(run(&mut s, &["HKEYS", "nosuch"]), Reply::Array(vec![]));
}

#[test]
fn wrong_types_and_arity() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SET", "str", "v"]);
    for cmd in [
        &["HSET", "str", "a", "1"][..],
        &["HSETNX", "str", "a", "1"],
        &["HMSET", "str", "a", "1"],
        &["HGET", "str", "a"],
        &["HMGET", "str", "a"],
        &["HDEL", "str", "a"],
        &["HLEN", "str"],
        &["HEXISTS", "str", "a"],
        &["HSTRLEN", "str", "a"],
        &["HGETALL", "str"],
        &["HKEYS", "str"],
        &["HVALS", "str"],
        &["HINCRBY", "str", "a", "1"],
        &["HINCRBYFLOAT", "str", "a", "1"],
        &["HRANDFIELD", "str"],
        &["HRANDFIELD", "str", "2"],
        &["HSCAN", "str", "0"],
        &["HEXPIRE", "str", "100", "FIELDS", "1", "a"],
        &["HEXPIRE", "str", "abc", "FIELDS", "1", "a"],
        &["HTTL", "str", "FIELDS", "1", "a"],
        &["HPERSIST", "str", "NOPE", "1", "a"],
    ] {
        assert_eq!(err(&mut s, cmd), WRONGTYPE, "{cmd:?}");
    }
    run(&mut s, &["HSET", "h", "a", "1"]);
    assert_eq!(err(&mut s, &["GET", "h"]), WRONGTYPE);
    assert_eq!(err(&mut s, &["HSET", "h", "a"]), "ERR wrong number of arguments for 'hset' command");
    assert_eq!(
        err(&mut s, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        err(&mut s, &["HMSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hmset' command"
    );
    assert_eq!(err(&mut s, &["HGET", "h"]), "ERR wrong number of arguments for 'hget' command");
    assert_eq!(
        err(&mut s, &["HTTL", "h", "FIELDS", "1"]),
        "ERR wrong number of arguments for 'httl' command"
    );
    assert_eq!(
        err(&mut s, &["HEXPIRE", "h", "1", "FIELDS", "1"]),
        "ERR wrong number of arguments for 'hexpire' command"
    );
}

#[test]
fn increments() {
    let mut s = Session::new(&Engine::new());
    assert_eq!(run(&mut s, &["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(run(&mut s, &["HINCRBY", "h", "n", "-7"]), int(-2));
    assert_eq!(run(&mut s, &["HGET", "h", "n"]), bulk("-2"));
    run(&mut s, &["HSET", "h", "s", "abc", "big", "9223372036854775807", "sp", " 1"]);
    assert_eq!(err(&mut s, &["HINCRBY", "h", "s", "1"]), "ERR hash value is not an integer");
    assert_eq!(err(&mut s, &["HINCRBY", "h", "sp", "1"]), "ERR hash value is not an integer");
    assert_eq!(err(&mut s, &["HINCRBY", "h", "big", "1"]), "ERR increment or decrement would overflow");
    assert_eq!(err(&mut s, &["HINCRBY", "h", "n", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut s, &["HINCRBY", "new", "n", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(run(&mut s, &["EXISTS", "new"]), int(0));

    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "x", "10.5"]), bulk("10.5"));
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "x", "0.1"]), bulk("10.6"));
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "x", "-5.0e3"]), bulk("-4989.39999999999999991"));
    run(&mut s, &["HSET", "f", "i", "3", "e", "5.0e3"]);
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "i", "1.5"]), bulk("4.5"));
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "e", "2"]), bulk("5002"));
    // INCRBYFLOAT formats the same sum the same way.
    run(&mut s, &["SET", "k", "10.5"]);
    assert_eq!(run(&mut s, &["INCRBYFLOAT", "k", "0.1"]), bulk("10.6"));
    assert_eq!(err(&mut s, &["HINCRBYFLOAT", "h", "s", "1"]), "ERR hash value is not a float");
    assert_eq!(err(&mut s, &["HINCRBYFLOAT", "f", "x", "abc"]), "ERR value is not a valid float");
    assert_eq!(err(&mut s, &["HINCRBYFLOAT", "f", "x", "inf"]), "ERR value is NaN or Infinity");
    // Extended precision reaches past f64: as Redis, 1e308 + 1e308 is finite.
    run(&mut s, &["HSET", "f", "huge", "1e308"]);
    run(&mut s, &["SET", "huge", "1e308"]);
    let sum = run(&mut s, &["INCRBYFLOAT", "huge", "1e308"]);
    assert!(matches!(&sum, Reply::Bulk(text) if text.starts_with(b"19999999999999999999")));
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "f", "huge", "1e308"]), sum);
}

#[test]
fn random_fields_and_resp3_shapes() {
    let mut s = Session::new(&Engine::new());
    assert_eq!(run(&mut s, &["HRANDFIELD", "nosuch"]), Reply::Null);
    assert_eq!(run(&mut s, &["HRANDFIELD", "nosuch", "3"]), Reply::Array(vec![]));
    run(&mut s, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let one = run(&mut s, &["HRANDFIELD", "h"]);
    assert!([bulk("a"), bulk("b"), bulk("c")].contains(&one));
    assert_eq!(sorted(run(&mut s, &["HRANDFIELD", "h", "10"])), ["a", "b", "c"]);
    assert_eq!(sorted(run(&mut s, &["HRANDFIELD", "h", "2"])).len(), 2);
    assert_eq!(run(&mut s, &["HRANDFIELD", "h", "0"]), Reply::Array(vec![]));
    let Reply::Array(repeated) = run(&mut s, &["HRANDFIELD", "h", "-7"]) else { panic!("array") };
    assert_eq!(repeated.len(), 7);
    let Reply::Array(flat) = run(&mut s, &["HRANDFIELD", "h", "-2", "WITHVALUES"]) else { panic!("array") };
    assert_eq!(flat.len(), 4, "RESP2: field, value, field, value");
    assert_eq!(err(&mut s, &["HRANDFIELD", "h", "2", "VALUES"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["HRANDFIELD", "h", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(
        err(&mut s, &["HRANDFIELD", "h", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        err(&mut s, &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"]),
        "ERR value is out of range"
    );

    assert!(matches!(run(&mut s, &["HELLO", "3"]), Reply::Map(_)));
    let Reply::Array(pairs) = run(&mut s, &["HRANDFIELD", "h", "3", "WITHVALUES"]) else { panic!("array") };
    assert_eq!(pairs.len(), 3);
    for pair in pairs {
        let Reply::Array(pair) = pair else { panic!("RESP3: each pick is a [field, value] array") };
        assert_eq!(pair.len(), 2);
    }
    assert!(matches!(run(&mut s, &["HGETALL", "h"]), Reply::Map(entries) if entries.len() == 3));
}

#[test]
fn scan_small_and_large() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["HSET", "h", "a", "1", "b", "2"]);
    let reply = run(&mut s, &["HSCAN", "h", "0"]);
    let Reply::Array(parts) = reply else { panic!("array") };
    assert_eq!(parts[0], bulk("0"));
    assert_eq!(sorted(parts[1].clone()), ["1", "2", "a", "b"]);
    let Reply::Array(parts) = run(&mut s, &["HSCAN", "h", "0", "NOVALUES", "MATCH", "a*"]) else { panic!() };
    assert_eq!(parts[1], Reply::Array(vec![bulk("a")]));
    assert_eq!(run(&mut s, &["HSCAN", "nosuch", "0"]), Reply::Array(vec![bulk("0"), Reply::Array(vec![])]));
    assert_eq!(err(&mut s, &["HSCAN", "h", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["HSCAN", "h", "0", "BOGUS"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["HSCAN", "h", "x"]), "ERR invalid cursor");

    for i in 0..500 {
        run(&mut s, &["HSET", "big", &format!("f{i}"), &format!("v{i}")]);
    }
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "big"]), bulk("hashtable"));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Reply::Array(parts) = run(&mut s, &["HSCAN", "big", &cursor, "COUNT", "37"]) else { panic!() };
        let Reply::Bulk(next) = &parts[0] else { panic!("cursor") };
        let Reply::Array(items) = &parts[1] else { panic!("items") };
        for pair in items.chunks(2) {
            let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else { panic!("pair") };
            assert_eq!(f[1..], v[1..], "value follows its field");
            seen.insert(f.clone());
        }
        cursor = String::from_utf8(next.clone()).expect("utf8");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
}

#[test]
fn thresholds_and_config_aliases() {
    let mut s = Session::new(&Engine::new());
    let get = |s: &mut Session, name: &str| run(s, &["CONFIG", "GET", name]);
    assert_eq!(
        get(&mut s, "hash-max-listpack-entries"),
        Reply::Map(vec![(bulk("hash-max-listpack-entries"), bulk("128"))])
    );
    assert_eq!(run(&mut s, &["CONFIG", "SET", "hash-max-ziplist-entries", "2"]), Reply::OK);
    assert_eq!(
        get(&mut s, "hash-max-listpack-entries"),
        Reply::Map(vec![(bulk("hash-max-listpack-entries"), bulk("2"))])
    );
    assert_eq!(run(&mut s, &["CONFIG", "SET", "hash-max-listpack-value", "4"]), Reply::OK);
    assert_eq!(
        get(&mut s, "hash-max-ziplist-value"),
        Reply::Map(vec![(bulk("hash-max-ziplist-value"), bulk("4"))])
    );
    let Reply::Map(all) = get(&mut s, "hash-max-*") else { panic!("map") };
    assert_eq!(all.len(), 4);
    run(&mut s, &["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    run(&mut s, &["HSET", "h", "c", "3"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    run(&mut s, &["HSET", "v", "a", "12345"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "v"]), bulk("hashtable"));
    assert_eq!(run(&mut s, &["COPY", "h", "h2"]), int(1));
    assert_eq!(run(&mut s, &["HGET", "h2", "c"]), bulk("3"));
    assert!(
        err(&mut s, &["CONFIG", "SET", "hash-max-listpack-entries", "-1"])
            .contains("argument must be between")
    );
}

#[test]
fn field_expiry_codes_and_errors() {
    let (mut s, _clock) = clocked();
    run(&mut s, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "100", "FIELDS", "2", "a", "zz"]), ints(&[1, -2]));
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "h"]), bulk("listpackex"), "as Redis 7.4");
    assert_eq!(run(&mut s, &["HTTL", "h", "FIELDS", "3", "a", "b", "zz"]), ints(&[100, -1, -2]));
    assert_eq!(run(&mut s, &["HPTTL", "h", "FIELDS", "1", "a"]), ints(&[100_000]));
    let at_ms = (START_MS + 100_000) as i64;
    assert_eq!(run(&mut s, &["HPEXPIRETIME", "h", "FIELDS", "1", "a"]), ints(&[at_ms]));
    assert_eq!(run(&mut s, &["HEXPIRETIME", "h", "FIELDS", "1", "a"]), ints(&[(at_ms + 999) / 1000]));
    // Conditions: no expiry counts as infinite.
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "50", "NX", "FIELDS", "2", "a", "b"]), ints(&[0, 1]));
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "50", "XX", "FIELDS", "2", "a", "c"]), ints(&[1, 0]));
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "60", "GT", "FIELDS", "2", "a", "c"]), ints(&[1, 0]));
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "60", "GT", "FIELDS", "1", "a"]), ints(&[0]));
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "40", "lt", "fields", "2", "a", "c"]), ints(&[1, 1]));
    assert_eq!(run(&mut s, &["HPERSIST", "h", "FIELDS", "3", "a", "b", "zz"]), ints(&[1, 1, -2]));
    assert_eq!(run(&mut s, &["HPERSIST", "h", "FIELDS", "1", "a"]), ints(&[-1]));
    // A time not in the future deletes at once; the last field takes the key.
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "0", "FIELDS", "1", "a"]), ints(&[2]));
    assert_eq!(run(&mut s, &["HPEXPIREAT", "h", &START_MS.to_string(), "FIELDS", "1", "b"]), ints(&[2]));
    assert_eq!(
        run(&mut s, &["HEXPIREAT", "h", "1", "NX", "FIELDS", "1", "c"]),
        ints(&[0]),
        "condition first"
    );
    assert_eq!(run(&mut s, &["HEXPIREAT", "h", "1", "FIELDS", "1", "c"]), ints(&[2]));
    assert_eq!(run(&mut s, &["EXISTS", "h"]), int(0));
    // Missing keys answer -2 per field.
    assert_eq!(run(&mut s, &["HEXPIRE", "h", "10", "FIELDS", "2", "a", "b"]), ints(&[-2, -2]));
    assert_eq!(run(&mut s, &["HTTL", "h", "FIELDS", "1", "a"]), ints(&[-2]));
    assert_eq!(run(&mut s, &["HPERSIST", "h", "FIELDS", "1", "a"]), ints(&[-2]));

    run(&mut s, &["HSET", "h", "a", "1"]);
    let fields_missing = "ERR Mandatory argument FIELDS is missing or not at the right position";
    let mismatch = "ERR The `numfields` parameter must match the number of arguments";
    let write_numfields = "ERR Parameter `numFields` should be greater than 0";
    let read_numfields = "ERR Number of fields must be a positive integer";
    for cmd in ["HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT"] {
        let lower = cmd.to_ascii_lowercase();
        assert_eq!(
            err(&mut s, &[cmd, "h", "abc", "FIELDS", "1", "a"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut s, &[cmd, "h", "-1", "FIELDS", "1", "a"]),
            "ERR invalid expire time, must be >= 0"
        );
        assert_eq!(err(&mut s, &[cmd, "h", "100", "FIELDS", "2", "a"]), mismatch);
        assert_eq!(err(&mut s, &[cmd, "h", "100", "FIELDS", "1", "a", "b"]), mismatch);
        assert_eq!(err(&mut s, &[cmd, "h", "100", "FIELDS", "0", "a"]), write_numfields);
        assert_eq!(err(&mut s, &[cmd, "h", "100", "FIELDS", "x", "a"]), write_numfields);
        assert_eq!(err(&mut s, &[cmd, "h", "100", "NOPE", "1", "a"]), fields_missing);
        assert_eq!(err(&mut s, &[cmd, "h", "100", "NX", "XX", "FIELDS", "1", "a"]), fields_missing);
        assert_eq!(
            err(&mut s, &[cmd, "h", "70368744177664", "FIELDS", "1", "a"]),
            format!("ERR invalid expire time in '{lower}' command")
        );
    }
    assert_eq!(run(&mut s, &["HPEXPIREAT", "h", "70368744177663", "FIELDS", "1", "a"]), ints(&[1]));
    assert_eq!(run(&mut s, &["HEXPIREAT", "h", "70368744177", "FIELDS", "1", "a"]), ints(&[1]));
    assert_eq!(
        err(&mut s, &["HEXPIREAT", "h", "70368744178", "FIELDS", "1", "a"]),
        "ERR invalid expire time in 'hexpireat' command"
    );
    for cmd in ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST"] {
        assert_eq!(err(&mut s, &[cmd, "h", "FIELDS", "2", "a"]), mismatch);
        assert_eq!(err(&mut s, &[cmd, "h", "FIELDS", "x", "a"]), read_numfields);
        assert_eq!(err(&mut s, &[cmd, "h", "FIELDS", "0", "a"]), read_numfields);
        assert_eq!(err(&mut s, &[cmd, "h", "NOPE", "1", "a"]), fields_missing);
    }
}

#[test]
fn expired_fields_are_never_seen() {
    let (mut s, clock) = clocked();
    run(&mut s, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(run(&mut s, &["HPEXPIRE", "h", "250", "FIELDS", "2", "a", "b"]), ints(&[1, 1]));
    clock.advance(std::time::Duration::from_millis(250));
    assert_eq!(run(&mut s, &["HLEN", "h"]), int(3), "a field expiring now is still there");
    clock.advance(std::time::Duration::from_millis(1));
    assert_eq!(run(&mut s, &["HGET", "h", "a"]), Reply::Null);
    assert_eq!(run(&mut s, &["HLEN", "h"]), int(1));
    assert_eq!(run(&mut s, &["HEXISTS", "h", "b"]), int(0));
    assert_eq!(run(&mut s, &["HMGET", "h", "a", "c"]), Reply::Array(vec![Reply::Null, bulk("3")]));
    assert_eq!(run(&mut s, &["HGETALL", "h"]), Reply::Map(vec![(bulk("c"), bulk("3"))]));
    assert_eq!(run(&mut s, &["HTTL", "h", "FIELDS", "2", "a", "c"]), ints(&[-2, -1]));
    assert_eq!(run(&mut s, &["HRANDFIELD", "h", "-3"]), Reply::Array(vec![bulk("c"); 3]));

    // Writes keep or clear field expiry as Redis 7.4 does.
    run(&mut s, &["HSET", "k", "a", "1", "n", "5"]);
    run(&mut s, &["HEXPIRE", "k", "100", "FIELDS", "2", "a", "n"]);
    assert_eq!(run(&mut s, &["HSET", "k", "a", "2"]), int(0));
    assert_eq!(run(&mut s, &["HTTL", "k", "FIELDS", "2", "a", "n"]), ints(&[-1, 100]));
    assert_eq!(run(&mut s, &["HINCRBY", "k", "n", "1"]), int(6));
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "k", "n", "0.5"]), bulk("6.5"));
    assert_eq!(run(&mut s, &["HSETNX", "k", "n", "0"]), int(0));
    assert_eq!(run(&mut s, &["HTTL", "k", "FIELDS", "1", "n"]), ints(&[100]));
    run(&mut s, &["HDEL", "k", "n"]);
    run(&mut s, &["HSET", "k", "n", "1"]);
    assert_eq!(
        run(&mut s, &["HTTL", "k", "FIELDS", "1", "n"]),
        ints(&[-1]),
        "a re-added field has no expiry"
    );

    // The last field expiring takes the key with it on the next access.
    run(&mut s, &["HSET", "solo", "f", "v"]);
    run(&mut s, &["HPEXPIRE", "solo", "10", "FIELDS", "1", "f"]);
    assert_eq!(run(&mut s, &["EXISTS", "solo"]), int(1));
    clock.advance(std::time::Duration::from_millis(11));
    assert_eq!(run(&mut s, &["HLEN", "solo"]), int(0));
    assert_eq!(run(&mut s, &["EXISTS", "solo"]), int(0));
    assert_eq!(run(&mut s, &["TYPE", "solo"]), Reply::simple("none"));
    run(&mut s, &["HSET", "solo", "f", "v"]);
    run(&mut s, &["HPEXPIRE", "solo", "10", "FIELDS", "1", "f"]);
    clock.advance(std::time::Duration::from_millis(11));
    assert_eq!(run(&mut s, &["HSET", "solo", "g", "w"]), int(1), "writes purge first");
    assert_eq!(run(&mut s, &["HGETALL", "solo"]), Reply::Map(vec![(bulk("g"), bulk("w"))]));
}

#[test]
fn large_hashes_expire_fields_too() {
    let (mut s, clock) = clocked();
    for i in 0..300 {
        run(&mut s, &["HSET", "big", &format!("f{i}"), "v"]);
    }
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "big"]), bulk("hashtable"));
    for i in (0..300).step_by(3) {
        assert_eq!(run(&mut s, &["HPEXPIRE", "big", "5", "FIELDS", "1", &format!("f{i}")]), ints(&[1]));
    }
    clock.advance(std::time::Duration::from_millis(6));
    assert_eq!(run(&mut s, &["HLEN", "big"]), int(200));
    assert_eq!(run(&mut s, &["HEXISTS", "big", "f3"]), int(0));
    assert_eq!(run(&mut s, &["HEXISTS", "big", "f4"]), int(1));
}

#[test]
fn active_expiry_reclaims_fields_and_emptied_hashes() {
    let clock = ManualClock::new(START_MS);
    let engine = Engine::builder().clock(clock.clone()).stripes(4).build();
    let mut s = Session::new(&engine);
    run(&mut s, &["HSET", "gone", "a", "1", "b", "2"]);
    run(&mut s, &["HPEXPIRE", "gone", "10", "FIELDS", "2", "a", "b"]);
    run(&mut s, &["HSET", "kept", "a", "1", "b", "2"]);
    run(&mut s, &["HPEXPIRE", "kept", "10", "FIELDS", "1", "a"]);
    run(&mut s, &["HPEXPIRE", "kept", "100000", "FIELDS", "1", "b"]);
    clock.advance(std::time::Duration::from_millis(11));
    for _ in 0..50 {
        engine.run_maintenance();
    }
    // Nobody touched either key: the cycle alone removed the empty hash and the expired field.
    assert_eq!(run(&mut s, &["DBSIZE"]), int(1));
    assert_eq!(run(&mut s, &["EXISTS", "gone"]), int(0));
    assert_eq!(run(&mut s, &["HLEN", "kept"]), int(1));
    assert_eq!(run(&mut s, &["HPTTL", "kept", "FIELDS", "2", "a", "b"]), ints(&[-2, 99_989]));
}

#[test]
fn random_fields_of_a_large_hash_are_distinct_and_paired() {
    let mut s = Session::new(&Engine::new());
    for i in 0..300 {
        run(&mut s, &["HSET", "big", &format!("f{i}"), &format!("v{i}")]);
    }
    for count in ["50", "250", "300", "1000"] {
        let Reply::Array(flat) = run(&mut s, &["HRANDFIELD", "big", count, "WITHVALUES"]) else { panic!() };
        let expected = count.parse::<usize>().expect("count").min(300);
        assert_eq!(flat.len(), expected * 2);
        let mut fields = std::collections::HashSet::new();
        for pair in flat.chunks(2) {
            let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else { panic!("pair") };
            assert_eq!(f[1..], v[1..], "each value follows its own field");
            assert!(fields.insert(f.clone()), "distinct fields for a positive count");
        }
    }
    let Reply::Array(repeated) = run(&mut s, &["HRANDFIELD", "big", "-1000"]) else { panic!() };
    assert_eq!(repeated.len(), 1000);
}
