//! Sorted set commands through `execute`: replies (shape per protocol) and errors as Redis
//! gives them.

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

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|i| bulk(i)).collect())
}

/// A RESP2 member/score list: members as bulks, scores as doubles.
fn flat(items: &[(&str, f64)]) -> Reply {
    Reply::Array(items.iter().flat_map(|(m, s)| [bulk(m), Reply::Double(*s)]).collect())
}

/// A RESP3 member/score list: `[member, score]` pairs.
fn pairs(items: &[(&str, f64)]) -> Reply {
    Reply::Array(items.iter().map(|(m, s)| Reply::Array(vec![bulk(m), Reply::Double(*s)])).collect())
}

fn err(s: &mut Session, args: &[&str]) -> String {
    match run(s, args) {
        Reply::Error(e) => e.to_string(),
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

fn session() -> Session {
    Session::new(&Engine::new())
}

#[test]
fn add_score_card_and_type() {
    let mut s = session();
    assert_eq!(run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "1", "a"]), int(2));
    assert_eq!(run(&mut s, &["ZADD", "z", "3", "a"]), int(0));
    assert_eq!(run(&mut s, &["ZADD", "z", "CH", "4", "a", "5", "c"]), int(2));
    assert_eq!(run(&mut s, &["ZSCORE", "z", "a"]), Reply::Double(4.0));
    assert_eq!(run(&mut s, &["ZSCORE", "z", "nope"]), Reply::Null);
    assert_eq!(
        run(&mut s, &["ZMSCORE", "z", "a", "nope"]),
        Reply::Array(vec![Reply::Double(4.0), Reply::Null])
    );
    assert_eq!(run(&mut s, &["ZCARD", "z"]), int(3));
    assert_eq!(run(&mut s, &["ZCARD", "nokey"]), int(0));
    assert_eq!(run(&mut s, &["TYPE", "z"]), Reply::simple("zset"));
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "z"]), bulk("listpack"));
    assert_eq!(run(&mut s, &["ZREM", "z", "a", "b", "x"]), int(2));
    assert_eq!(run(&mut s, &["ZREM", "z", "c"]), int(1));
    assert_eq!(run(&mut s, &["EXISTS", "z"]), int(0), "the last removal deletes the key");
    assert_eq!(run(&mut s, &["ZADD", "z", "inf", "a", "-inf", "b", "0x10", "c"]), int(3));
    assert_eq!(
        run(&mut s, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        flat(&[("b", f64::NEG_INFINITY), ("c", 16.0), ("a", f64::INFINITY)])
    );
}

#[test]
fn zadd_options_and_errors() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "1", "a"]);
    assert_eq!(
        err(&mut s, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut s, &["ZADD", "z", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut s, &["ZADD", "z", "NX", "GT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut s, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(err(&mut s, &["ZADD", "z", "1", "a", "2"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZADD", "z", "x", "a"]), "ERR value is not a valid float");
    assert_eq!(err(&mut s, &["ZADD", "z", "nan", "a"]), "ERR value is not a valid float");
    assert_eq!(err(&mut s, &["ZADD", "z", "1e400", "a"]), "ERR value is not a valid float");
    assert_eq!(err(&mut s, &["ZADD", "z", "1"]), "ERR wrong number of arguments for 'zadd' command");
    assert_eq!(run(&mut s, &["ZADD", "z", "XX", "GT", "CH", "0", "a"]), int(0));
    assert_eq!(run(&mut s, &["ZADD", "z", "XX", "GT", "CH", "2", "a"]), int(1));
    assert_eq!(run(&mut s, &["ZADD", "z", "INCR", "1.5", "a"]), Reply::Double(3.5));
    assert_eq!(run(&mut s, &["ZADD", "z", "NX", "INCR", "1", "a"]), Reply::Null);
    assert_eq!(run(&mut s, &["ZADD", "z", "INCR", "inf", "a"]), Reply::Double(f64::INFINITY));
    assert_eq!(err(&mut s, &["ZADD", "z", "INCR", "-inf", "a"]), "ERR resulting score is not a number (NaN)");
    assert_eq!(err(&mut s, &["ZINCRBY", "z", "-inf", "a"]), "ERR resulting score is not a number (NaN)");
    assert_eq!(err(&mut s, &["ZINCRBY", "z", "x", "a"]), "ERR value is not a valid float");
    assert_eq!(run(&mut s, &["ZINCRBY", "z", "2", "new"]), Reply::Double(2.0));
    assert_eq!(run(&mut s, &["ZADD", "other", "XX", "1", "a"]), int(0));
    assert_eq!(run(&mut s, &["EXISTS", "other"]), int(0));
    run(&mut s, &["SET", "str", "v"]);
    assert_eq!(
        err(&mut s, &["ZADD", "str", "1", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        err(&mut s, &["ZSCORE", "str", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(run(&mut s, &["ZRANGE", "z", "-2", "-1"]), bulks(&["d", "e"]));
    assert_eq!(run(&mut s, &["ZRANGE", "z", "-100", "1"]), bulks(&["a", "b"]));
    assert_eq!(run(&mut s, &["ZRANGE", "z", "3", "1"]), bulks(&[]));
    assert_eq!(run(&mut s, &["ZREVRANGE", "z", "0", "1", "WITHSCORES"]), flat(&[("e", 5.0), ("d", 4.0)]));
    assert_eq!(run(&mut s, &["ZRANGE", "z", "(1", "3", "BYSCORE"]), bulks(&["b", "c"]));
    assert_eq!(run(&mut s, &["ZRANGE", "z", "3", "(1", "BYSCORE", "REV"]), bulks(&["c", "b"]));
    assert_eq!(
        run(&mut s, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"]),
        bulks(&["b", "c"])
    );
    assert_eq!(run(&mut s, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"]), bulks(&["d", "e"]));
    assert_eq!(run(&mut s, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "5"]), bulks(&[]));
    assert_eq!(
        run(&mut s, &["ZREVRANGEBYSCORE", "z", "+inf", "4", "WITHSCORES"]),
        flat(&[("e", 5.0), ("d", 4.0)])
    );
    assert_eq!(run(&mut s, &["ZREVRANGEBYSCORE", "z", "4", "+inf"]), bulks(&[]), "REV takes max first");
    assert_eq!(run(&mut s, &["ZCOUNT", "z", "(1", "(5"]), int(3));
    assert_eq!(run(&mut s, &["ZCOUNT", "z", "5", "1"]), int(0));
    assert_eq!(err(&mut s, &["ZCOUNT", "z", "x", "1"]), "ERR min or max is not a float");
    assert_eq!(err(&mut s, &["ZRANGEBYSCORE", "z", "(1", "(x"]), "ERR min or max is not a float");
    assert_eq!(
        err(&mut s, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(&mut s, &["ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(&mut s, &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"]),
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    assert_eq!(err(&mut s, &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZRANGE", "z", "0", "-1", "REV", "REV"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZRANGEBYSCORE", "z", "0", "1", "REV"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZRANGE", "z", "x", "1"]), "ERR value is not an integer or out of range");

    run(&mut s, &["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(run(&mut s, &["ZRANGEBYLEX", "l", "(a", "[c"]), bulks(&["b", "c"]));
    assert_eq!(run(&mut s, &["ZREVRANGEBYLEX", "l", "+", "(b"]), bulks(&["d", "c"]));
    assert_eq!(run(&mut s, &["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "1"]), bulks(&["b"]));
    assert_eq!(run(&mut s, &["ZLEXCOUNT", "l", "[b", "+"]), int(3));
    assert_eq!(err(&mut s, &["ZRANGEBYLEX", "l", "a", "b"]), "ERR min or max not valid string range item");
    assert_eq!(err(&mut s, &["ZLEXCOUNT", "l", "[a", "x"]), "ERR min or max not valid string range item");
}

#[test]
fn ranks_with_and_without_scores() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(run(&mut s, &["ZRANK", "z", "b"]), int(1));
    assert_eq!(run(&mut s, &["ZREVRANK", "z", "a"]), int(2));
    assert_eq!(run(&mut s, &["ZRANK", "z", "x"]), Reply::Null);
    assert_eq!(
        run(&mut s, &["ZRANK", "z", "c", "WITHSCORE"]),
        Reply::Array(vec![int(2), Reply::Double(3.0)])
    );
    assert_eq!(run(&mut s, &["ZRANK", "z", "x", "WITHSCORE"]), Reply::NullArray);
    assert_eq!(err(&mut s, &["ZRANK", "z", "a", "FOO"]), "ERR syntax error");
}

#[test]
fn store_forms_and_empty_results() {
    let mut s = session();
    run(&mut s, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    run(&mut s, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    run(&mut s, &["SADD", "set", "x", "w"]);
    assert_eq!(
        run(&mut s, &["ZUNION", "2", "a", "b", "WITHSCORES"]),
        flat(&[("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)])
    );
    assert_eq!(
        run(&mut s, &["ZINTER", "2", "a", "b", "WEIGHTS", "2", "1", "AGGREGATE", "MIN", "WITHSCORES"]),
        flat(&[("y", 4.0), ("z", 6.0)])
    );
    assert_eq!(run(&mut s, &["ZDIFF", "2", "a", "b", "WITHSCORES"]), flat(&[("x", 1.0)]));
    assert_eq!(
        run(&mut s, &["ZUNION", "2", "a", "set", "WITHSCORES"]),
        flat(&[("w", 1.0), ("x", 2.0), ("y", 2.0), ("z", 3.0)])
    );
    assert_eq!(run(&mut s, &["ZINTERCARD", "2", "a", "b"]), int(2));
    assert_eq!(run(&mut s, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), int(1));
    assert_eq!(run(&mut s, &["ZUNIONSTORE", "dst", "2", "a", "b"]), int(4));
    assert_eq!(run(&mut s, &["ZRANGE", "dst", "0", "-1"]), bulks(&["x", "y", "z", "w"]));
    assert_eq!(run(&mut s, &["ZINTERSTORE", "dst", "2", "a", "missing"]), int(0));
    assert_eq!(run(&mut s, &["EXISTS", "dst"]), int(0), "an empty result deletes the destination");
    assert_eq!(run(&mut s, &["ZDIFFSTORE", "dst", "2", "a", "b"]), int(1));
    assert_eq!(run(&mut s, &["ZRANGESTORE", "dst", "a", "1", "-1"]), int(2));
    assert_eq!(run(&mut s, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), flat(&[("y", 2.0), ("z", 3.0)]));
    assert_eq!(run(&mut s, &["ZRANGESTORE", "dst", "a", "(3", "+inf", "BYSCORE"]), int(0));
    assert_eq!(run(&mut s, &["EXISTS", "dst"]), int(0));
    assert_eq!(
        run(&mut s, &["ZRANGESTORE", "dst", "a", "5", "(1", "BYSCORE", "REV", "LIMIT", "0", "1"]),
        int(1)
    );
    assert_eq!(run(&mut s, &["ZRANGE", "dst", "0", "-1"]), bulks(&["z"]));
    assert_eq!(err(&mut s, &["ZRANGESTORE", "dst", "a", "0", "-1", "WITHSCORES"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZUNION", "0", "a"]), "ERR at least 1 input key is needed for 'zunion' command");
    assert_eq!(
        err(&mut s, &["ZUNIONSTORE", "d", "0", "a"]),
        "ERR at least 1 input key is needed for 'zunionstore' command"
    );
    assert_eq!(err(&mut s, &["ZUNION", "3", "a", "b"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZUNION", "1", "a", "WEIGHTS", "x"]), "ERR weight value is not a float");
    assert_eq!(err(&mut s, &["ZUNION", "1", "a", "WEIGHTS", "1", "2"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZDIFF", "1", "a", "WEIGHTS", "1"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZUNION", "1", "a", "AGGREGATE", "avg"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"]), "ERR syntax error");
    assert_eq!(err(&mut s, &["ZINTERCARD", "1", "a", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
    run(&mut s, &["SET", "str", "v"]);
    assert_eq!(
        err(&mut s, &["ZUNION", "2", "a", "str"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn pops_and_random_members() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(run(&mut s, &["ZPOPMIN", "z"]), flat(&[("a", 1.0)]));
    assert_eq!(run(&mut s, &["ZPOPMAX", "z", "2"]), flat(&[("d", 4.0), ("c", 3.0)]));
    assert_eq!(run(&mut s, &["ZPOPMAX", "z", "0"]), Reply::Array(vec![]));
    assert_eq!(err(&mut s, &["ZPOPMIN", "z", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(err(&mut s, &["ZPOPMIN", "z", "1", "2"]), "ERR syntax error");
    assert_eq!(
        run(&mut s, &["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "5"]),
        Reply::Array(vec![bulk("z"), pairs(&[("b", 2.0)])])
    );
    assert_eq!(run(&mut s, &["EXISTS", "z"]), int(0));
    assert_eq!(run(&mut s, &["ZMPOP", "1", "z", "MIN"]), Reply::NullArray);
    assert_eq!(run(&mut s, &["ZPOPMIN", "z"]), Reply::Array(vec![]));
    assert_eq!(err(&mut s, &["ZMPOP", "0", "z", "MIN"]), "ERR numkeys should be greater than 0");
    assert_eq!(err(&mut s, &["ZMPOP", "1", "z", "MIN", "COUNT", "0"]), "ERR count should be greater than 0");
    assert_eq!(err(&mut s, &["ZMPOP", "2", "z", "MIN"]), "ERR syntax error");
    assert_eq!(run(&mut s, &["ZRANDMEMBER", "z"]), Reply::Null);
    assert_eq!(run(&mut s, &["ZRANDMEMBER", "z", "3"]), Reply::Array(vec![]));
    run(&mut s, &["ZADD", "z", "1", "a"]);
    assert_eq!(run(&mut s, &["ZRANDMEMBER", "z"]), bulk("a"));
    assert_eq!(run(&mut s, &["ZRANDMEMBER", "z", "-2", "WITHSCORES"]), flat(&[("a", 1.0), ("a", 1.0)]));
    assert_eq!(err(&mut s, &["ZRANDMEMBER", "z", "1", "FOO"]), "ERR syntax error");
    assert_eq!(
        err(&mut s, &["ZRANDMEMBER", "z", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        err(&mut s, &["ZRANDMEMBER", "z", "-4611686018427387905", "WITHSCORES"]),
        "ERR value is out of range"
    );
}

#[test]
fn resp3_shapes() {
    let mut s = session();
    assert!(!run(&mut s, &["HELLO", "3"]).is_error());
    run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(run(&mut s, &["ZRANGE", "z", "0", "1", "WITHSCORES"]), pairs(&[("a", 1.0), ("b", 2.0)]));
    assert_eq!(
        run(&mut s, &["ZUNION", "1", "z", "WITHSCORES"]),
        pairs(&[("a", 1.0), ("b", 2.0), ("c", 3.0)])
    );
    assert_eq!(run(&mut s, &["ZPOPMIN", "z"]), flat(&[("a", 1.0)]), "no count: one flat pair");
    assert_eq!(run(&mut s, &["ZPOPMIN", "z", "1"]), pairs(&[("b", 2.0)]));
    assert_eq!(run(&mut s, &["ZRANDMEMBER", "z", "1", "WITHSCORES"]), pairs(&[("c", 3.0)]));
}

#[test]
fn remove_ranges_delete_emptied_keys() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(run(&mut s, &["ZREMRANGEBYRANK", "z", "-1", "-1"]), int(1));
    assert_eq!(run(&mut s, &["ZREMRANGEBYSCORE", "z", "(1", "2"]), int(1));
    assert_eq!(run(&mut s, &["ZRANGE", "z", "0", "-1"]), bulks(&["a", "c"]));
    assert_eq!(
        err(&mut s, &["ZREMRANGEBYRANK", "z", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(err(&mut s, &["ZREMRANGEBYLEX", "z", "x", "1"]), "ERR min or max not valid string range item");
    assert_eq!(run(&mut s, &["ZREMRANGEBYLEX", "z", "-", "+"]), int(2));
    assert_eq!(run(&mut s, &["EXISTS", "z"]), int(0));
    assert_eq!(run(&mut s, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), int(0));
}

#[test]
fn scan_and_large_encoding() {
    let mut s = session();
    run(&mut s, &["ZADD", "z", "0.5", "a", "1", "b"]);
    assert_eq!(
        run(&mut s, &["ZSCAN", "z", "0"]),
        Reply::Array(vec![bulk("0"), bulks(&["a", "0.5", "b", "1"])])
    );
    assert_eq!(err(&mut s, &["ZSCAN", "z", "x"]), "ERR invalid cursor");
    assert_eq!(err(&mut s, &["ZSCAN", "z", "0", "COUNT", "0"]), "ERR syntax error");
    for i in 0..300 {
        run(&mut s, &["ZADD", "big", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "big"]), bulk("skiplist"));
    assert_eq!(run(&mut s, &["ZRANK", "big", "m250"]), int(250));
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    loop {
        let Reply::Array(parts) = run(&mut s, &["ZSCAN", "big", &cursor, "MATCH", "m1*", "COUNT", "20"])
        else {
            panic!("scan reply")
        };
        let [Reply::Bulk(next), Reply::Array(items)] = &parts[..] else { panic!("scan parts") };
        for pair in items.chunks(2) {
            if let Reply::Bulk(m) = &pair[0] {
                seen.insert(String::from_utf8(m.clone()).expect("utf8"));
            }
        }
        cursor = String::from_utf8(next.clone()).expect("utf8");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 111, "m1, m10-m19, m100-m199");
    assert_eq!(run(&mut s, &["CONFIG", "SET", "zset-max-listpack-entries", "1"]), Reply::OK);
    run(&mut s, &["ZADD", "small", "1", "a", "2", "b"]);
    assert_eq!(run(&mut s, &["OBJECT", "ENCODING", "small"]), bulk("skiplist"));
}
