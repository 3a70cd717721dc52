//! Hash commands against a reference model: random command sequences run through
//! `Session::execute` and against a `HashMap` of field -> (value, expiry) per key, comparing
//! every reply. Field TTLs run on a `ManualClock` that the sequence advances; tiny
//! representation thresholds (sometimes) make hashes change form often.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use memora_engine::{Engine, ManualClock, Reply, Session};
use proptest::prelude::*;

const START_MS: u64 = 1_700_000_000_000;

#[derive(Debug, Clone)]
enum HashOp {
    Set(u8, Vec<(String, String)>),
    SetNx(u8, String, String),
    Del(u8, Vec<String>),
    Get(u8, String),
    MGet(u8, Vec<String>),
    Len(u8),
    Exists(u8, String),
    StrLen(u8, String),
    GetAll(u8),
    Keys(u8),
    Vals(u8),
    IncrBy(u8, String, i64),
    RandField(u8, i64),
    Scan(u8, usize),
    Expire(u8, u64, u8, Vec<String>),
    Persist(u8, Vec<String>),
    Ttl(u8, Vec<String>),
    Advance(u64),
}

/// A field with its value and expiry (Unix ms).
type Model = HashMap<u8, HashMap<String, (String, Option<u64>)>>;

fn key() -> impl Strategy<Value = u8> {
    0u8..3
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof!["[a-f]", "[a-f]{2,3}", Just("a-rather-long-field-name".to_string())]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![(-20i64..20).prop_map(|n| n.to_string()), "[x-z]{0,4}", Just("v".repeat(30))]
}

/// Few distinct durations, so expiry times often meet the clock exactly.
fn millis() -> impl Strategy<Value = u64> {
    proptest::sample::select(vec![0u64, 10, 20, 50, 100])
}

fn fields() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(field(), 1..4)
}

fn op() -> impl Strategy<Value = HashOp> {
    prop_oneof![
        4 => (key(), proptest::collection::vec((field(), value()), 1..4)).prop_map(|(k, p)| HashOp::Set(k, p)),
        1 => (key(), field(), value()).prop_map(|(k, f, v)| HashOp::SetNx(k, f, v)),
        2 => (key(), fields()).prop_map(|(k, f)| HashOp::Del(k, f)),
        1 => (key(), field()).prop_map(|(k, f)| HashOp::Get(k, f)),
        1 => (key(), fields()).prop_map(|(k, f)| HashOp::MGet(k, f)),
        1 => key().prop_map(HashOp::Len),
        1 => (key(), field()).prop_map(|(k, f)| HashOp::Exists(k, f)),
        1 => (key(), field()).prop_map(|(k, f)| HashOp::StrLen(k, f)),
        1 => key().prop_map(HashOp::GetAll),
        1 => key().prop_map(HashOp::Keys),
        1 => key().prop_map(HashOp::Vals),
        1 => (key(), field(), -5i64..5).prop_map(|(k, f, n)| HashOp::IncrBy(k, f, n)),
        1 => (key(), -4i64..6).prop_map(|(k, n)| HashOp::RandField(k, n)),
        1 => (key(), 1usize..5).prop_map(|(k, n)| HashOp::Scan(k, n)),
        2 => (key(), millis(), 0u8..5, fields()).prop_map(|(k, ms, c, f)| HashOp::Expire(k, ms, c, f)),
        1 => (key(), fields()).prop_map(|(k, f)| HashOp::Persist(k, f)),
        1 => (key(), fields()).prop_map(|(k, f)| HashOp::Ttl(k, f)),
        2 => millis().prop_map(HashOp::Advance),
    ]
}

fn name(k: u8) -> String {
    format!("hash:{k}")
}

fn run(s: &mut Session, args: &[String]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn text(reply: Reply) -> String {
    match reply {
        Reply::Bulk(b) => String::from_utf8(b).expect("utf8"),
        other => panic!("not a bulk: {other:?}"),
    }
}

fn texts(reply: Reply) -> Vec<String> {
    match reply {
        Reply::Array(items) => items.into_iter().map(text).collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn ints(ns: &[i64]) -> Reply {
    Reply::Array(ns.iter().map(|&n| Reply::Integer(n)).collect())
}

/// Full `HSCAN` iteration: the (field, value) pairs it returned.
fn scan_all(s: &mut Session, k: u8, count: usize) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut cursor = "0".to_string();
    for _ in 0..10_000 {
        let reply = run(s, &["HSCAN".into(), name(k), cursor.clone(), "COUNT".into(), count.to_string()]);
        let Reply::Array(mut parts) = reply else { panic!("HSCAN: {reply:?}") };
        let items = texts(parts.pop().expect("items"));
        cursor = text(parts.pop().expect("cursor"));
        for pair in items.chunks(2) {
            out.insert(pair[0].clone(), pair[1].clone());
        }
        if cursor == "0" {
            return out;
        }
    }
    panic!("HSCAN did not finish");
}

/// Drops expired fields and empty hashes from the model.
fn expire_model(model: &mut Model, now_ms: u64) {
    for hash in model.values_mut() {
        hash.retain(|_, (_, at)| at.is_none_or(|at| at >= now_ms));
    }
    model.retain(|_, hash| !hash.is_empty());
}

fn check(s: &mut Session, clock: &ManualClock, model: &mut Model, op: &HashOp) {
    let cmd = |parts: &[&str], rest: &[String]| -> Vec<String> {
        parts.iter().map(|p| p.to_string()).chain(rest.iter().cloned()).collect()
    };
    let now_ms = START_MS + clock_offset(clock);
    let empty = HashMap::new();
    match op {
        HashOp::Set(k, pairs) => {
            let hash = model.entry(*k).or_default();
            let added =
                pairs.iter().filter(|(f, v)| hash.insert(f.clone(), (v.clone(), None)).is_none()).count();
            let flat: Vec<String> = pairs.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect();
            assert_eq!(run(s, &cmd(&["HSET", &name(*k)], &flat)), Reply::Integer(added as i64));
        }
        HashOp::SetNx(k, f, v) => {
            let hash = model.entry(*k).or_default();
            let new = !hash.contains_key(f);
            if new {
                hash.insert(f.clone(), (v.clone(), None));
            }
            assert_eq!(run(s, &cmd(&["HSETNX", &name(*k), f, v], &[])), Reply::Integer(i64::from(new)));
        }
        HashOp::Del(k, fields) => {
            let removed =
                model.get_mut(k).map_or(0, |h| fields.iter().filter(|f| h.remove(*f).is_some()).count());
            assert_eq!(run(s, &cmd(&["HDEL", &name(*k)], fields)), Reply::Integer(removed as i64));
        }
        HashOp::Get(k, f) => {
            let expected = model.get(k).and_then(|h| h.get(f)).map_or(Reply::Null, |(v, _)| Reply::bulk(v));
            assert_eq!(run(s, &cmd(&["HGET", &name(*k), f], &[])), expected);
        }
        HashOp::MGet(k, fields) => {
            let hash = model.get(k).unwrap_or(&empty);
            let expected =
                fields.iter().map(|f| hash.get(f).map_or(Reply::Null, |(v, _)| Reply::bulk(v))).collect();
            assert_eq!(run(s, &cmd(&["HMGET", &name(*k)], fields)), Reply::Array(expected));
        }
        HashOp::Len(k) => {
            let expected = model.get(k).map_or(0, HashMap::len);
            assert_eq!(run(s, &cmd(&["HLEN", &name(*k)], &[])), Reply::Integer(expected as i64));
        }
        HashOp::Exists(k, f) => {
            let expected = model.get(k).is_some_and(|h| h.contains_key(f));
            assert_eq!(run(s, &cmd(&["HEXISTS", &name(*k), f], &[])), Reply::Integer(i64::from(expected)));
        }
        HashOp::StrLen(k, f) => {
            let expected = model.get(k).and_then(|h| h.get(f)).map_or(0, |(v, _)| v.len());
            assert_eq!(run(s, &cmd(&["HSTRLEN", &name(*k), f], &[])), Reply::Integer(expected as i64));
        }
        HashOp::GetAll(k) => {
            let Reply::Map(entries) = run(s, &cmd(&["HGETALL", &name(*k)], &[])) else { panic!("a map") };
            let got: HashMap<String, String> = entries.into_iter().map(|(f, v)| (text(f), text(v))).collect();
            let expected: HashMap<String, String> =
                model.get(k).unwrap_or(&empty).iter().map(|(f, (v, _))| (f.clone(), v.clone())).collect();
            assert_eq!(got, expected);
        }
        HashOp::Keys(k) => {
            let expected = sorted(model.get(k).unwrap_or(&empty).keys().cloned().collect());
            assert_eq!(sorted(texts(run(s, &cmd(&["HKEYS", &name(*k)], &[])))), expected);
        }
        HashOp::Vals(k) => {
            let expected = sorted(model.get(k).unwrap_or(&empty).values().map(|(v, _)| v.clone()).collect());
            assert_eq!(sorted(texts(run(s, &cmd(&["HVALS", &name(*k)], &[])))), expected);
        }
        HashOp::IncrBy(k, f, n) => {
            let reply = run(s, &cmd(&["HINCRBY", &name(*k), f, &n.to_string()], &[]));
            let hash = model.entry(*k).or_default();
            match hash.get(f).map(|(v, _)| v.parse::<i64>()) {
                Some(Err(_)) => assert!(reply.is_error(), "{reply:?}"),
                current => {
                    let next = current.and_then(Result::ok).unwrap_or(0) + n;
                    let ttl = hash.get(f).and_then(|(_, at)| *at);
                    hash.insert(f.clone(), (next.to_string(), ttl));
                    assert_eq!(reply, Reply::Integer(next));
                }
            }
        }
        HashOp::RandField(k, n) => {
            let hash = model.get(k).unwrap_or(&empty);
            let got = texts(run(s, &cmd(&["HRANDFIELD", &name(*k), &n.to_string()], &[])));
            let expected_len = if *n < 0 {
                if hash.is_empty() { 0 } else { n.unsigned_abs() as usize }
            } else {
                (*n as usize).min(hash.len())
            };
            assert_eq!(got.len(), expected_len);
            assert!(got.iter().all(|f| hash.contains_key(f)));
            if *n >= 0 {
                assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "distinct");
            }
        }
        HashOp::Scan(k, count) => {
            let expected: HashMap<String, String> =
                model.get(k).unwrap_or(&empty).iter().map(|(f, (v, _))| (f.clone(), v.clone())).collect();
            assert_eq!(scan_all(s, *k, *count), expected);
        }
        HashOp::Expire(k, ms, cond, fields) => {
            let at = now_ms + ms;
            let flag = ["", "NX", "XX", "GT", "LT"][*cond as usize];
            let mut args = vec!["HPEXPIRE".to_string(), name(*k), ms.to_string()];
            if !flag.is_empty() {
                args.push(flag.to_string());
            }
            args.extend(["FIELDS".to_string(), fields.len().to_string()]);
            args.extend(fields.iter().cloned());
            let mut codes = Vec::new();
            let hash = model.entry(*k).or_default();
            for f in fields {
                let Some((_, current)) = hash.get(f) else {
                    codes.push(-2);
                    continue;
                };
                let allowed = match flag {
                    "NX" => current.is_none(),
                    "XX" => current.is_some(),
                    "GT" => current.is_some_and(|c| at > c),
                    "LT" => current.is_none_or(|c| at < c),
                    _ => true,
                };
                if !allowed {
                    codes.push(0);
                } else if at <= now_ms {
                    hash.remove(f);
                    codes.push(2);
                } else {
                    if let Some((_, expiry)) = hash.get_mut(f) {
                        *expiry = Some(at);
                    }
                    codes.push(1);
                }
            }
            assert_eq!(run(s, &args), ints(&codes));
        }
        HashOp::Persist(k, fields) => {
            let hash = model.entry(*k).or_default();
            let codes: Vec<i64> = fields
                .iter()
                .map(|f| match hash.get_mut(f) {
                    None => -2,
                    Some((_, at)) => at.take().map_or(-1, |_| 1),
                })
                .collect();
            let n = fields.len().to_string();
            assert_eq!(run(s, &cmd(&["HPERSIST", &name(*k), "FIELDS", &n], fields)), ints(&codes));
        }
        HashOp::Ttl(k, fields) => {
            let hash = model.get(k).unwrap_or(&empty);
            let codes: Vec<i64> = fields
                .iter()
                .map(|f| match hash.get(f) {
                    None => -2,
                    Some((_, None)) => -1,
                    Some((_, Some(at))) => (at - now_ms) as i64,
                })
                .collect();
            let n = fields.len().to_string();
            assert_eq!(run(s, &cmd(&["HPTTL", &name(*k), "FIELDS", &n], fields)), ints(&codes));
        }
        HashOp::Advance(ms) => {
            clock.advance(Duration::from_millis(*ms));
            expire_model(model, START_MS + clock_offset(clock));
        }
    }
    model.retain(|_, hash| !hash.is_empty());
    for k in 0..3u8 {
        // A hash command purges expired fields first; after it, an empty hash never lingers.
        let len = run(s, &cmd(&["HLEN", &name(k)], &[]));
        assert_eq!(len, Reply::Integer(model.get(&k).map_or(0, HashMap::len) as i64));
        let exists = run(s, &cmd(&["EXISTS", &name(k)], &[]));
        assert_eq!(exists, Reply::Integer(i64::from(model.contains_key(&k))), "empty hashes never linger");
    }
}

/// Milliseconds the clock has advanced since the start.
fn clock_offset(clock: &ManualClock) -> u64 {
    use memora_engine::Clock;
    clock.now_ms() - START_MS
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hashes_match_the_model(ops in proptest::collection::vec(op(), 1..60), tiny in any::<bool>()) {
        let clock = ManualClock::new(START_MS);
        let engine = Engine::builder().clock(clock.clone()).stripes(4).build();
        let mut s = Session::new(&engine);
        if tiny {
            for (param, value) in [("hash-max-listpack-entries", "3"), ("hash-max-ziplist-value", "4")] {
                let reply = run(&mut s, &["CONFIG".into(), "SET".into(), param.into(), value.into()]);
                prop_assert_eq!(reply, Reply::OK);
            }
        }
        let mut model = Model::new();
        for op in &ops {
            check(&mut s, &clock, &mut model, op);
        }
    }
}
