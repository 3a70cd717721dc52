//! Set commands through `execute`: replies and errors as Redis gives them.

use memora_engine::{Engine, Reply, Session};

fn run(s: &mut Session, args: &[&str]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn int(n: i64) -> Reply {
    Reply::Integer(n)
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

/// The members of a set or array reply, sorted.
fn sorted(reply: Reply) -> Vec<String> {
    let items = match reply {
        Reply::Set(items) | Reply::Array(items) => items,
        other => panic!("not a collection: {other:?}"),
    };
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

#[test]
fn add_remove_and_membership() {
    let mut s = Session::new(&Engine::new());
    assert_eq!(run(&mut s, &["SADD", "s", "a", "b", "a"]), int(2));
    assert_eq!(run(&mut s, &["SADD", "s", "b", "c"]), int(1));
    assert_eq!(run(&mut s, &["SCARD", "s"]), int(3));
    assert_eq!(run(&mut s, &["SISMEMBER", "s", "c"]), int(1));
    assert_eq!(run(&mut s, &["SISMEMBER", "s", "z"]), int(0));
    assert_eq!(run(&mut s, &["SMISMEMBER", "s", "a", "z"]), Reply::Array(vec![int(1), int(0)]));
    assert_eq!(sorted(run(&mut s, &["SMEMBERS", "s"])), ["a", "b", "c"]);
    assert_eq!(run(&mut s, &["SREM", "s", "a", "z"]), int(1));
    assert_eq!(run(&mut s, &["SREM", "s", "b", "c"]), int(2));
    assert_eq!(run(&mut s, &["EXISTS", "s"]), int(0), "the last removal deletes the key");
    assert_eq!(run(&mut s, &["SCARD", "nosuch"]), int(0));
    assert_eq!(sorted(run(&mut s, &["SMEMBERS", "nosuch"])), Vec::<String>::new());
    assert_eq!(run(&mut s, &["TYPE", "nosuch"]), Reply::simple("none"));
    run(&mut s, &["SADD", "t", "x"]);
    assert_eq!(run(&mut s, &["TYPE", "t"]), Reply::simple("set"));
}

#[test]
fn wrong_types_and_arity() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SET", "str", "v"]);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for cmd in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SMEMBERS", "str"],
        &["SPOP", "str"],
        &["SRANDMEMBER", "str"],
        &["SINTER", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(err(&mut s, cmd), wrongtype, "{cmd:?}");
    }
    run(&mut s, &["SADD", "set", "a"]);
    assert_eq!(err(&mut s, &["GET", "set"]), wrongtype);
    assert_eq!(err(&mut s, &["INCR", "set"]), wrongtype);
    assert_eq!(err(&mut s, &["APPEND", "set", "x"]), wrongtype);
    assert_eq!(err(&mut s, &["SADD", "set"]), "ERR wrong number of arguments for 'sadd' command");
    assert_eq!(err(&mut s, &["SMOVE", "set", "str", "a"]), wrongtype);
    assert_eq!(run(&mut s, &["SISMEMBER", "set", "a"]), int(1), "a failed SMOVE changes nothing");
}

#[test]
fn encodings_follow_the_thresholds() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SADD", "ints", "1", "2", "3"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "ints"]), bulk("intset"));
    run(&mut s, &["SADD", "ints", "x"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "ints"]), bulk("listpack"));
    assert_eq!(run(&mut s, &["CONFIG", "SET", "set-max-listpack-entries", "4"]), Reply::OK);
    assert_eq!(
        run(&mut s, &["CONFIG", "GET", "set-max-listpack-entries"]),
        Reply::Map(vec![(bulk("set-max-listpack-entries"), bulk("4"))])
    );
    run(&mut s, &["SADD", "ints", "y"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "ints"]), bulk("hashtable"));
    assert_eq!(run(&mut s, &["SCARD", "ints"]), int(5));
    let long = "v".repeat(65);
    run(&mut s, &["SADD", "long", &long]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "long"]), bulk("hashtable"));
    assert!(
        err(&mut s, &["CONFIG", "SET", "set-max-intset-entries", "-1"])
            .contains("argument must be between 0")
    );
}

#[test]
fn pop_and_random_members() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SADD", "s", "a", "b", "c", "d", "e"]);
    let picked = sorted(run(&mut s, &["SRANDMEMBER", "s", "3"]));
    assert_eq!(picked.len(), 3);
    picked.windows(2).for_each(|w| assert_ne!(w[0], w[1], "positive count: distinct"));
    assert_eq!(sorted(run(&mut s, &["SRANDMEMBER", "s", "10"])), ["a", "b", "c", "d", "e"]);
    assert_eq!(sorted(run(&mut s, &["SRANDMEMBER", "s", "-8"])).len(), 8, "negative count may repeat");
    assert_eq!(run(&mut s, &["SRANDMEMBER", "s", "0"]), Reply::Array(vec![]));
    assert_eq!(run(&mut s, &["SRANDMEMBER", "nosuch"]), Reply::Null);
    assert_eq!(run(&mut s, &["SPOP", "nosuch"]), Reply::Null);
    assert_eq!(err(&mut s, &["SPOP", "s", "-1"]), "ERR value is out of range, must be positive");
    let popped = sorted(run(&mut s, &["SPOP", "s", "2"]));
    assert_eq!(popped.len(), 2);
    assert_eq!(run(&mut s, &["SCARD", "s"]), int(3));
    for p in &popped {
        assert_eq!(run(&mut s, &["SISMEMBER", "s", p]), int(0));
    }
    let Reply::Bulk(_) = run(&mut s, &["SPOP", "s"]) else { panic!("one member") };
    assert_eq!(sorted(run(&mut s, &["SPOP", "s", "9"])).len(), 2);
    assert_eq!(run(&mut s, &["EXISTS", "s"]), int(0));
}

#[test]
fn algebra_and_store_forms() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SADD", "a", "1", "2", "3", "x"]);
    run(&mut s, &["SADD", "b", "2", "3", "4"]);
    assert_eq!(sorted(run(&mut s, &["SINTER", "a", "b"])), ["2", "3"]);
    assert_eq!(sorted(run(&mut s, &["SINTER", "a", "nosuch"])), Vec::<String>::new());
    assert_eq!(sorted(run(&mut s, &["SUNION", "a", "b", "nosuch"])), ["1", "2", "3", "4", "x"]);
    assert_eq!(sorted(run(&mut s, &["SDIFF", "a", "b"])), ["1", "x"]);
    assert_eq!(sorted(run(&mut s, &["SDIFF", "nosuch", "a"])), Vec::<String>::new());
    assert_eq!(run(&mut s, &["SINTERSTORE", "d", "a", "b"]), int(2));
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "d"]), bulk("intset"));
    assert_eq!(run(&mut s, &["SUNIONSTORE", "a", "a", "b"]), int(5), "destination may be a source");
    run(&mut s, &["SET", "str", "v"]);
    run(&mut s, &["EXPIRE", "str", "100"]);
    assert_eq!(run(&mut s, &["SDIFFSTORE", "str", "b", "a"]), int(0));
    assert_eq!(run(&mut s, &["EXISTS", "str"]), int(0), "an empty result deletes the destination");
    assert_eq!(run(&mut s, &["SINTERSTORE", "e", "a", "b"]), int(3));
    assert_eq!(run(&mut s, &["TTL", "e"]), int(-1));
    assert_eq!(run(&mut s, &["SINTERCARD", "2", "a", "b"]), int(3));
    assert_eq!(run(&mut s, &["SINTERCARD", "2", "a", "b", "LIMIT", "2"]), int(2));
    assert_eq!(err(&mut s, &["SINTERCARD", "0", "a"]), "ERR numkeys should be greater than 0");
    assert_eq!(
        err(&mut s, &["SINTERCARD", "3", "a", "b"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(err(&mut s, &["SINTERCARD", "1", "a", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
    assert_eq!(err(&mut s, &["SINTERCARD", "1", "a", "FOO"]), "ERR syntax error");
}

#[test]
fn smove_moves_exactly_once() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SADD", "src", "m", "n"]);
    assert_eq!(run(&mut s, &["SMOVE", "src", "dst", "m"]), int(1));
    assert_eq!(run(&mut s, &["SMOVE", "src", "dst", "m"]), int(0));
    assert_eq!(run(&mut s, &["SMOVE", "src", "src", "n"]), int(1));
    assert_eq!(run(&mut s, &["SMOVE", "src", "dst", "n"]), int(1));
    assert_eq!(run(&mut s, &["EXISTS", "src"]), int(0));
    assert_eq!(sorted(run(&mut s, &["SMEMBERS", "dst"])), ["m", "n"]);
}

#[test]
fn sscan_walks_a_large_set() {
    let mut s = Session::new(&Engine::new());
    for i in 0..1000 {
        run(&mut s, &["SADD", "big", &format!("member:{i}")]);
    }
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "big"]), bulk("hashtable"));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Reply::Array(parts) =
            run(&mut s, &["SSCAN", "big", &cursor, "COUNT", "50", "MATCH", "member:1*"])
        else {
            panic!("array")
        };
        let [Reply::Bulk(next), found] = &parts[..] else { panic!("two parts") };
        seen.extend(sorted(found.clone()));
        cursor = String::from_utf8(next.clone()).expect("utf8");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 111, "member:1, member:10..19, member:100..199");
    assert_eq!(err(&mut s, &["SSCAN", "big", "x"]), "ERR invalid cursor");
    assert_eq!(err(&mut s, &["SSCAN", "big", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(run(&mut s, &["SSCAN", "nosuch", "0"]), Reply::Array(vec![bulk("0"), Reply::Array(vec![])]));
}

#[test]
fn copy_and_rename_carry_sets() {
    let mut s = Session::new(&Engine::new());
    run(&mut s, &["SADD", "a", "x", "y"]);
    assert_eq!(run(&mut s, &["COPY", "a", "b"]), int(1));
    run(&mut s, &["SREM", "a", "x"]);
    assert_eq!(sorted(run(&mut s, &["SMEMBERS", "b"])), ["x", "y"], "the copy is independent");
    assert_eq!(run(&mut s, &["RENAME", "b", "c"]), Reply::OK);
    assert_eq!(sorted(run(&mut s, &["SMEMBERS", "c"])), ["x", "y"]);
    let Reply::Array(keys) = run(&mut s, &["SCAN", "0", "TYPE", "set", "COUNT", "100"]) else { panic!() };
    assert_eq!(sorted(keys[1].clone()), ["a", "c"]);
}
