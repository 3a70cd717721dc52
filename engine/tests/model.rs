//! Guards the engine's string and key semantics against a simple reference model: random
//! operation sequences (with clock advances) run through `Session::execute` and through
//! `test_utils::Model`, and every reply must match.

use memora_engine::test_utils::{KeyId, Model, Op};
use memora_engine::{Engine, ManualClock, Reply, Session};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = KeyId> {
    0u8..6
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
        Just(b"9223372036854775807".to_vec()),
        Just(vec![b'x'; 60]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), value(), 0u8..3, proptest::option::of(0u32..300))
            .prop_map(|(key, value, condition, px)| Op::Set { key, value, condition, px }),
        key().prop_map(Op::Get),
        proptest::collection::vec(key(), 1..4).prop_map(Op::Del),
        (key(), prop_oneof![-5i64..5, Just(i64::MAX), Just(i64::MIN)]).prop_map(|(k, n)| Op::IncrBy(k, n)),
        (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        key().prop_map(Op::Strlen),
        proptest::collection::vec(key(), 1..4).prop_map(Op::Exists),
        (key(), -50i32..400).prop_map(|(k, ms)| Op::PExpire(k, ms)),
        key().prop_map(Op::Persist),
        key().prop_map(Op::Pttl),
        (key(), key()).prop_map(|(a, b)| Op::Rename(a, b)),
        key().prop_map(Op::GetDel),
        proptest::collection::vec((key(), value()), 1..4).prop_map(Op::MSet),
        proptest::collection::vec(key(), 1..4).prop_map(Op::MGet),
        (key(), 0u8..20, value()).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
        (key(), any::<i8>(), any::<i8>()).prop_map(|(k, a, b)| Op::GetRange(k, a, b)),
        Just(Op::DbSize),
        Just(Op::FlushDb),
        (0u16..200).prop_map(Op::Advance),
    ]
}

/// Runs `ops` on a fresh engine and model, asserting equal replies; maintenance runs in
/// between so active expiry must agree with lazy expiry.
fn check(ops: &[Op], stripes: usize) {
    let clock = ManualClock::new(1_000_000);
    let engine = Engine::builder().stripes(stripes).clock(clock.clone()).build();
    let mut session = Session::new(&engine);
    let mut model = Model::new(1_000_000);
    for (i, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        match (op, op.argv()) {
            (Op::Advance(ms), _) => {
                clock.advance(std::time::Duration::from_millis(u64::from(*ms)));
                engine.run_maintenance();
            }
            (_, Some(argv)) => {
                let got = session.execute(&argv);
                let expected = expected.unwrap_or(Reply::Null);
                assert_eq!(render(&got), render(&expected), "op #{i} {op:?}");
            }
            (_, None) => unreachable!("only Advance has no argv"),
        }
    }
}

/// As [`check`], with the operations between clock advances sent as MULTI/EXEC
/// transactions: EXEC must answer the model's replies, in order.
fn check_in_transactions(ops: &[Op], stripes: usize) {
    let clock = ManualClock::new(1_000_000);
    let engine = Engine::builder().stripes(stripes).clock(clock.clone()).build();
    let mut session = Session::new(&engine);
    let mut model = Model::new(1_000_000);
    for (i, batch) in ops.split(|op| matches!(op, Op::Advance(_))).enumerate() {
        assert_eq!(session.execute(&["MULTI"]), Reply::OK);
        let mut expected = Vec::new();
        for op in batch {
            let argv = op.argv().expect("only Advance has no argv");
            assert_eq!(session.execute(&argv), Reply::simple("QUEUED"), "{op:?}");
            expected.push(render(&model.apply(op).unwrap_or(Reply::Null)));
        }
        let got = match session.execute(&["EXEC"]) {
            Reply::Array(replies) => replies.iter().map(render).collect::<Vec<_>>(),
            other => panic!("batch #{i}: EXEC answered {other:?}"),
        };
        assert_eq!(got, expected, "batch #{i} {batch:?}");
        // The advance that ended the batch (the model applies it too).
        if let Some(Op::Advance(ms)) = ops.iter().filter(|op| matches!(op, Op::Advance(_))).nth(i) {
            model.apply(&Op::Advance(*ms));
            clock.advance(std::time::Duration::from_millis(u64::from(*ms)));
            engine.run_maintenance();
        }
    }
}

/// Compares errors by their text (the model builds some as `Error::Message`).
fn render(reply: &Reply) -> String {
    match reply {
        Reply::Error(err) => format!("error: {err}"),
        other => format!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        check(&ops, 4);
    }

    #[test]
    fn transactions_match_model(ops in proptest::collection::vec(op(), 1..120)) {
        check_in_transactions(&ops, 4);
    }

    #[test]
    fn engine_matches_model_with_one_stripe(ops in proptest::collection::vec(op(), 1..120)) {
        check(&ops, 1);
    }
}

#[test]
fn fuzz_decoder_produces_checkable_ops() {
    // The fuzz target decodes ops from raw bytes; they must be valid model input too.
    let bytes: Vec<u8> = (0..600u32).map(|i| (i * 37 % 251) as u8).collect();
    let mut input = bytes.as_slice();
    let mut ops = Vec::new();
    while let Some(op) = Op::from_bytes(&mut input) {
        ops.push(op);
    }
    assert!(ops.len() > 100);
    check(&ops, 2);
}
