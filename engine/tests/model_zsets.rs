//! Sorted set commands against a reference model: random command sequences run through
//! `Session::execute` and against `HashMap<key, BTreeMap<member, score>>`, comparing every
//! reply. Tiny representation thresholds (sometimes) make sets change form often.

use std::collections::{BTreeMap, HashMap};

use memora_engine::{Engine, Reply, Session};
use proptest::prelude::*;

type Model = HashMap<u8, BTreeMap<String, f64>>;

#[derive(Debug, Clone)]
enum ZOp {
    Add(u8, u8, Vec<(f64, String)>),
    Rem(u8, Vec<String>),
    IncrBy(u8, f64, String),
    Score(u8, String),
    Rank(u8, String, bool),
    Range(u8, i64, i64, bool, bool),
    RangeByScore(u8, usize, usize, bool, Option<(i64, i64)>),
    RangeByLex(u8, usize, usize, bool),
    Count(u8, usize, usize),
    RemRangeByRank(u8, i64, i64),
    RemRangeByScore(u8, usize, usize),
    Pop(u8, bool, usize),
    Store(u8, u8, u8, u8, u8),
    Card(u8),
}

/// Scores whose sums stay exact (and the infinities).
const SCORES: [f64; 8] = [-2.0, -0.5, 0.0, 1.0, 1.5, 3.0, f64::INFINITY, f64::NEG_INFINITY];
/// Score range bounds, as text.
const BOUNDS: [&str; 9] = ["-inf", "(-0.5", "-0.5", "0", "(1", "1.5", "(3", "3", "+inf"];
/// Lex range bounds, as text.
const LEX: [&str; 8] = ["-", "[a", "(a", "[b", "(bb", "[c", "(d", "+"];

fn key() -> impl Strategy<Value = u8> {
    0u8..3
}

fn member() -> impl Strategy<Value = String> {
    prop_oneof!["[a-d]{1,2}", (0u32..80).prop_map(|n| format!("m{n}"))]
}

fn score() -> impl Strategy<Value = f64> {
    (0usize..SCORES.len()).prop_map(|i| SCORES[i])
}

fn op() -> impl Strategy<Value = ZOp> {
    let pairs = proptest::collection::vec((score(), member()), 1..6);
    prop_oneof![
        4 => (0u8..4, 0u8..16, pairs).prop_map(|(k, flags, p)| ZOp::Add(k, flags, p)),
        1 => (key(), proptest::collection::vec(member(), 1..4)).prop_map(|(k, m)| ZOp::Rem(k, m)),
        1 => (key(), score(), member()).prop_map(|(k, s, m)| ZOp::IncrBy(k, s, m)),
        1 => (key(), member()).prop_map(|(k, m)| ZOp::Score(k, m)),
        1 => (key(), member(), any::<bool>()).prop_map(|(k, m, r)| ZOp::Rank(k, m, r)),
        2 => (key(), -6i64..6, -6i64..6, any::<bool>(), any::<bool>()).prop_map(|(k, a, b, r, w)| ZOp::Range(k, a, b, r, w)),
        2 => (key(), 0..BOUNDS.len(), 0..BOUNDS.len(), any::<bool>(), proptest::option::of((-1i64..4, -1i64..4)))
            .prop_map(|(k, a, b, r, l)| ZOp::RangeByScore(k, a, b, r, l)),
        1 => (0..LEX.len(), 0..LEX.len(), any::<bool>()).prop_map(|(a, b, r)| ZOp::RangeByLex(3, a, b, r)),
        1 => (key(), 0..BOUNDS.len(), 0..BOUNDS.len()).prop_map(|(k, a, b)| ZOp::Count(k, a, b)),
        1 => (key(), -4i64..4, -4i64..4).prop_map(|(k, a, b)| ZOp::RemRangeByRank(k, a, b)),
        1 => (key(), 0..BOUNDS.len(), 0..BOUNDS.len()).prop_map(|(k, a, b)| ZOp::RemRangeByScore(k, a, b)),
        1 => (key(), any::<bool>(), 0usize..4).prop_map(|(k, m, n)| ZOp::Pop(k, m, n)),
        1 => (0u8..3, key(), key(), key(), 0u8..3).prop_map(|(kind, d, a, b, agg)| ZOp::Store(kind, d, a, b, agg)),
        1 => (0u8..4).prop_map(ZOp::Card),
    ]
}

fn name(k: u8) -> String {
    format!("zset:{k}")
}

fn run(s: &mut Session, args: &[String]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn text(score: f64) -> String {
    if score == f64::INFINITY {
        "inf".into()
    } else if score == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        score.to_string()
    }
}

/// A key's members in sorted set order.
fn ordered(model: &Model, k: u8) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64)> =
        model.get(&k).map(|z| z.iter().map(|(m, s)| (m.clone(), *s)).collect()).unwrap_or_default();
    all.sort_by(|a, b| {
        a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0))
    });
    all
}

fn listed(items: &[(String, f64)], withscores: bool) -> Reply {
    Reply::Array(
        items
            .iter()
            .flat_map(|(m, s)| {
                let member = Reply::Bulk(m.as_bytes().to_vec());
                if withscores { vec![member, Reply::Double(*s)] } else { vec![member] }
            })
            .collect(),
    )
}

/// Parses a bound of [`BOUNDS`]: (value, exclusive).
fn bound(text: &str) -> (f64, bool) {
    let (exclusive, rest) = match text.strip_prefix('(') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = match rest {
        "-inf" => f64::NEG_INFINITY,
        "+inf" => f64::INFINITY,
        other => other.parse().unwrap_or(0.0),
    };
    (value, exclusive)
}

fn in_score_range(score: f64, min: &str, max: &str) -> bool {
    let ((lo, lo_ex), (hi, hi_ex)) = (bound(min), bound(max));
    (if lo_ex { score > lo } else { score >= lo }) && (if hi_ex { score < hi } else { score <= hi })
}

fn in_lex_range(member: &str, min: &str, max: &str) -> bool {
    let above = match min {
        "-" => true,
        "+" => false,
        m if m.starts_with('[') => member >= &m[1..],
        m => member > &m[1..],
    };
    let below = match max {
        "+" => true,
        "-" => false,
        m if m.starts_with('[') => member <= &m[1..],
        m => member < &m[1..],
    };
    above && below
}

/// Redis's rank window over `len` items.
fn rank_window(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    (start <= stop && start < len).then_some((start as usize, stop as usize))
}

fn apply_limit(items: Vec<(String, f64)>, limit: Option<(i64, i64)>) -> Vec<(String, f64)> {
    match limit {
        None => items,
        Some((offset, _)) if offset < 0 => Vec::new(),
        Some((offset, count)) => {
            let rest = items.into_iter().skip(offset as usize);
            if count < 0 { rest.collect() } else { rest.take(count as usize).collect() }
        }
    }
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn check(s: &mut Session, model: &mut Model, op: &ZOp) {
    match op {
        ZOp::Add(k, flags, pairs) => add(s, model, *k, *flags, pairs),
        ZOp::Rem(k, members) => {
            let z = model.entry(*k).or_default();
            let removed = members.iter().filter(|m| z.remove(*m).is_some()).count();
            let mut cmd = args(&["ZREM", &name(*k)]);
            cmd.extend(members.iter().cloned());
            assert_eq!(run(s, &cmd), Reply::Integer(removed as i64));
        }
        ZOp::IncrBy(k, by, m) => {
            let z = model.entry(*k).or_default();
            let new = z.get(m).copied().unwrap_or(0.0) + by;
            let expected = if new.is_nan() {
                Reply::Error(memora_engine::Error::msg("ERR resulting score is not a number (NaN)"))
            } else {
                z.insert(m.clone(), new);
                Reply::Double(new)
            };
            assert_eq!(run(s, &args(&["ZINCRBY", &name(*k), &text(*by), m])), expected);
        }
        ZOp::Score(k, m) => {
            let expected = model.get(k).and_then(|z| z.get(m)).map_or(Reply::Null, |s| Reply::Double(*s));
            assert_eq!(run(s, &args(&["ZSCORE", &name(*k), m])), expected);
        }
        ZOp::Rank(k, m, rev) => {
            let all = ordered(model, *k);
            let expected = all.iter().position(|(x, _)| x == m).map_or(Reply::Null, |r| {
                Reply::Integer(if *rev { (all.len() - 1 - r) as i64 } else { r as i64 })
            });
            let cmd = if *rev { "ZREVRANK" } else { "ZRANK" };
            assert_eq!(run(s, &args(&[cmd, &name(*k), m])), expected);
        }
        ZOp::Range(k, start, stop, rev, withscores) => {
            let mut all = ordered(model, *k);
            if *rev {
                all.reverse();
            }
            let picked =
                rank_window(*start, *stop, all.len()).map_or(Vec::new(), |(a, b)| all[a..=b].to_vec());
            let mut cmd = args(&["ZRANGE", &name(*k), &start.to_string(), &stop.to_string()]);
            if *rev {
                cmd.push("REV".into());
            }
            if *withscores {
                cmd.push("WITHSCORES".into());
            }
            assert_eq!(run(s, &cmd), listed(&picked, *withscores), "{cmd:?}");
        }
        ZOp::RangeByScore(k, a, b, rev, limit) => {
            let (min, max) = (BOUNDS[*a], BOUNDS[*b]);
            let mut all: Vec<_> =
                ordered(model, *k).into_iter().filter(|(_, s)| in_score_range(*s, min, max)).collect();
            if *rev {
                all.reverse();
            }
            let picked = apply_limit(all, *limit);
            let mut cmd = if *rev {
                args(&["ZREVRANGEBYSCORE", &name(*k), max, min, "WITHSCORES"])
            } else {
                args(&["ZRANGEBYSCORE", &name(*k), min, max, "WITHSCORES"])
            };
            if let Some((offset, count)) = limit {
                cmd.extend(["LIMIT".to_string(), offset.to_string(), count.to_string()]);
            }
            assert_eq!(run(s, &cmd), listed(&picked, true), "{cmd:?}");
        }
        ZOp::RangeByLex(k, a, b, rev) => {
            let (min, max) = (LEX[*a], LEX[*b]);
            let mut all: Vec<_> =
                ordered(model, *k).into_iter().filter(|(m, _)| in_lex_range(m, min, max)).collect();
            if *rev {
                all.reverse();
            }
            let cmd = if *rev {
                args(&["ZREVRANGEBYLEX", &name(*k), max, min])
            } else {
                args(&["ZRANGEBYLEX", &name(*k), min, max])
            };
            assert_eq!(run(s, &cmd), listed(&all, false), "{cmd:?}");
        }
        ZOp::Count(k, a, b) => {
            let (min, max) = (BOUNDS[*a], BOUNDS[*b]);
            let n = ordered(model, *k).iter().filter(|(_, s)| in_score_range(*s, min, max)).count();
            assert_eq!(run(s, &args(&["ZCOUNT", &name(*k), min, max])), Reply::Integer(n as i64));
        }
        ZOp::RemRangeByRank(k, start, stop) => {
            let all = ordered(model, *k);
            let doomed =
                rank_window(*start, *stop, all.len()).map_or(Vec::new(), |(a, b)| all[a..=b].to_vec());
            let z = model.entry(*k).or_default();
            for (m, _) in &doomed {
                z.remove(m);
            }
            let cmd = args(&["ZREMRANGEBYRANK", &name(*k), &start.to_string(), &stop.to_string()]);
            assert_eq!(run(s, &cmd), Reply::Integer(doomed.len() as i64));
        }
        ZOp::RemRangeByScore(k, a, b) => {
            let (min, max) = (BOUNDS[*a], BOUNDS[*b]);
            let z = model.entry(*k).or_default();
            let before = z.len();
            z.retain(|_, s| !in_score_range(*s, min, max));
            let removed = before - z.len();
            assert_eq!(
                run(s, &args(&["ZREMRANGEBYSCORE", &name(*k), min, max])),
                Reply::Integer(removed as i64)
            );
        }
        ZOp::Pop(k, max, count) => {
            let mut all = ordered(model, *k);
            if *max {
                all.reverse();
            }
            let popped: Vec<_> = all.into_iter().take(*count).collect();
            let z = model.entry(*k).or_default();
            for (m, _) in &popped {
                z.remove(m);
            }
            let cmd = if *max { "ZPOPMAX" } else { "ZPOPMIN" };
            assert_eq!(run(s, &args(&[cmd, &name(*k), &count.to_string()])), listed(&popped, true));
        }
        ZOp::Store(kind, d, a, b, agg) => store(s, model, *kind, *d, *a, *b, *agg),
        ZOp::Card(k) => {
            let n = model.get(k).map_or(0, BTreeMap::len);
            assert_eq!(run(s, &args(&["ZCARD", &name(*k)])), Reply::Integer(n as i64));
        }
    }
    model.retain(|_, z| !z.is_empty());
    for k in 0..4u8 {
        let exists = run(s, &args(&["EXISTS", &name(k)]));
        assert_eq!(exists, Reply::Integer(i64::from(model.contains_key(&k))), "empty sets never linger");
    }
}

/// `ZADD` with a flag combination from the 4 bits of `flags` (NX/XX, GT/LT, CH, skipping
/// invalid mixes); on the lex key every score is 0.
fn add(s: &mut Session, model: &mut Model, k: u8, flags: u8, pairs: &[(f64, String)]) {
    let (mut nx, mut xx, gt, lt, ch) =
        (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0, flags & 8 != 0 && flags & 4 == 0, flags & 3 == 3);
    if ch {
        (nx, xx) = (false, false);
    }
    if nx && (gt || lt) {
        nx = false;
    }
    let z = model.entry(k).or_default();
    let (mut added, mut changed) = (0, 0);
    let mut cmd = args(&["ZADD", &name(k)]);
    for (flag, on) in [("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt), ("CH", ch)] {
        if on {
            cmd.push(flag.into());
        }
    }
    for (score, m) in pairs {
        let score = if k == 3 { 0.0 } else { *score };
        cmd.extend([text(score), m.clone()]);
        match z.get(m).copied() {
            None if !xx => {
                z.insert(m.clone(), score);
                added += 1;
            }
            None => {}
            Some(_) if nx => {}
            Some(current) => {
                if (lt && score >= current) || (gt && score <= current) || score == current {
                    continue;
                }
                z.insert(m.clone(), score);
                changed += 1;
            }
        }
    }
    let expected = if ch { added + changed } else { added };
    assert_eq!(run(s, &cmd), Reply::Integer(expected), "{cmd:?}");
}

/// `ZUNIONSTORE`/`ZINTERSTORE`/`ZDIFFSTORE dst 2 a b` with an aggregate.
fn store(s: &mut Session, model: &mut Model, kind: u8, d: u8, a: u8, b: u8, agg: u8) {
    let (x, y) = (model.get(&a).cloned().unwrap_or_default(), model.get(&b).cloned().unwrap_or_default());
    let combine = |p: f64, q: f64| match agg {
        0 => {
            let sum = p + q;
            if sum.is_nan() { 0.0 } else { sum }
        }
        1 => p.min(q),
        _ => p.max(q),
    };
    let mut result = BTreeMap::new();
    let cmd_name = match kind {
        0 => {
            for (m, s) in x.iter().chain(y.iter()) {
                let v = result.get(m).map_or(*s, |old: &f64| combine(*old, *s));
                result.insert(m.clone(), v);
            }
            "ZUNIONSTORE"
        }
        1 => {
            for (m, s) in &x {
                if let Some(t) = y.get(m) {
                    result.insert(m.clone(), combine(*s, *t));
                }
            }
            "ZINTERSTORE"
        }
        _ => {
            for (m, s) in &x {
                if !y.contains_key(m) {
                    result.insert(m.clone(), *s);
                }
            }
            "ZDIFFSTORE"
        }
    };
    let len = result.len();
    model.insert(d, result);
    let mut cmd = args(&[cmd_name, &name(d), "2", &name(a), &name(b)]);
    if kind < 2 {
        cmd.extend(["AGGREGATE".to_string(), ["SUM", "MIN", "MAX"][agg as usize].to_string()]);
    }
    assert_eq!(run(s, &cmd), Reply::Integer(len as i64), "{cmd:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn zsets_match_the_model(ops in proptest::collection::vec(op(), 1..80), tiny in any::<bool>()) {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        if tiny {
            for (param, value) in [("zset-max-listpack-entries", "3"), ("zset-max-listpack-value", "2")] {
                let reply = run(&mut s, &["CONFIG".into(), "SET".into(), param.into(), value.into()]);
                prop_assert_eq!(reply, Reply::OK);
            }
        }
        let mut model = Model::new();
        for op in &ops {
            check(&mut s, &mut model, op);
        }
    }
}

/// Many members in one key, with a tiny threshold, so the B+tree splits and merges.
#[test]
fn large_sets_match_the_model() {
    let engine = Engine::new();
    let mut s = Session::new(&engine);
    run(&mut s, &args(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]));
    let mut model = Model::new();
    let mut state = 7u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    for step in 0..6_000 {
        let r = next();
        let m = format!("m{}", r % 900);
        let op = match r % 10 {
            0..=4 => ZOp::Add(0, 0, vec![(SCORES[(r / 10 % 6) as usize] + (r % 7) as f64, m)]),
            5 => ZOp::Rem(0, vec![m]),
            6 => ZOp::Rank(0, m, r % 2 == 0),
            7 => ZOp::RangeByScore(0, (r % 9) as usize, ((r / 9) % 9) as usize, r % 2 == 0, Some((2, 5))),
            8 => ZOp::Range(0, (r % 40) as i64 - 20, (r % 33) as i64 - 10, r % 3 == 0, true),
            _ => ZOp::RemRangeByRank(0, (r % 5) as i64, (r % 5) as i64 + 2),
        };
        check(&mut s, &mut model, &op);
        if step % 1000 == 0 {
            check(&mut s, &mut model, &ZOp::Range(0, 0, -1, false, true));
        }
    }
}

/// Command names the robustness run draws from.
const NAMES: &[&str] = &[
    "ZADD",
    "ZINCRBY",
    "ZREM",
    "ZSCORE",
    "ZMSCORE",
    "ZCARD",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZRANK",
    "ZREVRANK",
    "ZRANGE",
    "ZRANGESTORE",
    "ZREVRANGE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYLEX",
    "ZPOPMIN",
    "ZPOPMAX",
    "ZMPOP",
    "ZRANDMEMBER",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "ZDIFFSTORE",
    "ZINTERCARD",
    "ZSCAN",
    "SADD",
    "SET",
];

/// Argument tokens: keys, numbers, bounds, options.
const TOKENS: &[&str] = &[
    "k0",
    "k1",
    "k2",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
    "0.5",
    "inf",
    "-inf",
    "+inf",
    "(1",
    "(inf",
    "[a",
    "(b",
    "-",
    "+",
    "a",
    "b",
    "c",
    "",
    "nan",
    "x",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "WITHSCORES",
    "WITHSCORE",
    "LIMIT",
    "BYSCORE",
    "BYLEX",
    "REV",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "COUNT",
    "MATCH",
    "*",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary argument lists never panic, and no key is left holding an empty sorted set.
    #[test]
    fn arbitrary_arguments_never_panic(
        commands in proptest::collection::vec(
            (0..NAMES.len(), 0..5usize, proptest::collection::vec(0..TOKENS.len(), 0..9)),
            1..40,
        ),
        tiny in any::<bool>(),
    ) {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        if tiny {
            run(&mut s, &args(&["CONFIG", "SET", "zset-max-listpack-entries", "2"]));
        }
        for (name, first, tokens) in &commands {
            // A key first (or a numkeys for the commands that start with one).
            let mut argv = vec![NAMES[*name].to_string(), ["k0", "k1", "k2", "1", "2"][*first].to_string()];
            argv.extend(tokens.iter().map(|&t| TOKENS[t].to_string()));
            let _ = run(&mut s, &argv);
            for key in ["k0", "k1", "k2"] {
                if run(&mut s, &args(&["TYPE", key])) == Reply::simple("zset") {
                    prop_assert_ne!(run(&mut s, &args(&["ZCARD", key])), Reply::Integer(0));
                }
            }
        }
    }
}
