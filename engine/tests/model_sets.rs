//! Set commands against a reference model: random command sequences run through
//! `Session::execute` and against `HashMap<key, HashSet<member>>`, comparing every reply.
//! Small representation thresholds make sets change form often.

use std::collections::{HashMap, HashSet};

use memora_engine::{Engine, Reply, Session};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum SetOp {
    Add(u8, Vec<String>),
    Rem(u8, Vec<String>),
    IsMember(u8, String),
    Card(u8),
    Members(u8),
    Pop(u8, usize),
    Move(u8, u8, String),
    Store(u8, u8, u8, u8),
    Inter(u8, u8),
}

fn key() -> impl Strategy<Value = u8> {
    0u8..4
}

fn member() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..40).prop_map(|n| n.to_string()),
        (-3i64..3).prop_map(|n| format!("0{n}")),
        "[a-e]{1,3}",
        Just("x".repeat(20)),
    ]
}

fn op() -> impl Strategy<Value = SetOp> {
    prop_oneof![
        3 => (key(), proptest::collection::vec(member(), 1..5)).prop_map(|(k, m)| SetOp::Add(k, m)),
        2 => (key(), proptest::collection::vec(member(), 1..4)).prop_map(|(k, m)| SetOp::Rem(k, m)),
        1 => (key(), member()).prop_map(|(k, m)| SetOp::IsMember(k, m)),
        1 => key().prop_map(SetOp::Card),
        1 => key().prop_map(SetOp::Members),
        1 => (key(), 0usize..4).prop_map(|(k, n)| SetOp::Pop(k, n)),
        1 => (key(), key(), member()).prop_map(|(a, b, m)| SetOp::Move(a, b, m)),
        1 => (0u8..3, key(), key(), key()).prop_map(|(kind, d, a, b)| SetOp::Store(kind, d, a, b)),
        1 => (key(), key()).prop_map(|(a, b)| SetOp::Inter(a, b)),
    ]
}

fn name(k: u8) -> String {
    format!("set:{k}")
}

fn run(s: &mut Session, args: &[String]) -> Reply {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.execute(&argv)
}

fn members_of(reply: Reply) -> HashSet<String> {
    match reply {
        Reply::Set(items) | Reply::Array(items) => items
            .into_iter()
            .map(|r| match r {
                Reply::Bulk(b) => String::from_utf8(b).expect("utf8"),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not a collection: {other:?}"),
    }
}

fn check(s: &mut Session, model: &mut HashMap<u8, HashSet<String>>, op: &SetOp) {
    let args = |parts: &[&str], rest: &[String]| -> Vec<String> {
        parts.iter().map(|p| p.to_string()).chain(rest.iter().cloned()).collect()
    };
    match op {
        SetOp::Add(k, members) => {
            let set = model.entry(*k).or_default();
            let added = members.iter().filter(|m| set.insert((*m).clone())).count();
            assert_eq!(run(s, &args(&["SADD", &name(*k)], members)), Reply::Integer(added as i64));
        }
        SetOp::Rem(k, members) => {
            let removed = model.get_mut(k).map_or(0, |set| members.iter().filter(|m| set.remove(*m)).count());
            assert_eq!(run(s, &args(&["SREM", &name(*k)], members)), Reply::Integer(removed as i64));
        }
        SetOp::IsMember(k, m) => {
            let expected = model.get(k).is_some_and(|set| set.contains(m));
            assert_eq!(run(s, &args(&["SISMEMBER", &name(*k), m], &[])), Reply::Integer(i64::from(expected)));
        }
        SetOp::Card(k) => {
            let expected = model.get(k).map_or(0, HashSet::len);
            assert_eq!(run(s, &args(&["SCARD", &name(*k)], &[])), Reply::Integer(expected as i64));
        }
        SetOp::Members(k) => {
            let expected = model.get(k).cloned().unwrap_or_default();
            assert_eq!(members_of(run(s, &args(&["SMEMBERS", &name(*k)], &[]))), expected);
        }
        SetOp::Pop(k, n) => {
            let popped = members_of(run(s, &args(&["SPOP", &name(*k), &n.to_string()], &[])));
            let set = model.entry(*k).or_default();
            assert_eq!(popped.len(), (*n).min(set.len()));
            for m in &popped {
                assert!(set.remove(m), "popped {m} was not a member");
            }
        }
        SetOp::Move(a, b, m) => {
            let present = model.get(a).is_some_and(|set| set.contains(m));
            if present {
                model.entry(*a).or_default().remove(m);
                model.entry(*b).or_default().insert(m.clone());
            }
            assert_eq!(
                run(s, &args(&["SMOVE", &name(*a), &name(*b), m], &[])),
                Reply::Integer(i64::from(present))
            );
        }
        SetOp::Store(kind, d, a, b) => {
            let (x, y) =
                (model.get(a).cloned().unwrap_or_default(), model.get(b).cloned().unwrap_or_default());
            let (cmd, result): (&str, HashSet<String>) = match kind {
                0 => ("SINTERSTORE", x.intersection(&y).cloned().collect()),
                1 => ("SUNIONSTORE", x.union(&y).cloned().collect()),
                _ => ("SDIFFSTORE", x.difference(&y).cloned().collect()),
            };
            let len = result.len();
            model.insert(*d, result);
            assert_eq!(
                run(s, &args(&[cmd, &name(*d), &name(*a), &name(*b)], &[])),
                Reply::Integer(len as i64)
            );
        }
        SetOp::Inter(a, b) => {
            let (x, y) =
                (model.get(a).cloned().unwrap_or_default(), model.get(b).cloned().unwrap_or_default());
            let expected: HashSet<String> = x.intersection(&y).cloned().collect();
            assert_eq!(members_of(run(s, &args(&["SINTER", &name(*a), &name(*b)], &[]))), expected);
        }
    }
    model.retain(|_, set| !set.is_empty());
    for k in 0..4u8 {
        let exists = run(s, &args(&["EXISTS", &name(k)], &[]));
        assert_eq!(exists, Reply::Integer(i64::from(model.contains_key(&k))), "empty sets never linger");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sets_match_the_model(ops in proptest::collection::vec(op(), 1..60), tiny in any::<bool>()) {
        let engine = Engine::new();
        let mut s = Session::new(&engine);
        if tiny {
            for (param, value) in [("set-max-intset-entries", "3"), ("set-max-listpack-entries", "4"), ("set-max-listpack-value", "2")] {
                let reply = run(&mut s, &["CONFIG".into(), "SET".into(), param.into(), value.into()]);
                prop_assert_eq!(reply, Reply::OK);
            }
        }
        let mut model = HashMap::new();
        for op in &ops {
            check(&mut s, &mut model, op);
        }
    }
}
