//! Guards list semantics against a `VecDeque` model: random list command sequences run
//! through `Session::execute` and through the model, and every reply must match. Node limits
//! and compression depth are set small (and changed mid-run) with CONFIG SET, so nodes split,
//! empty, compress and decompress all the time.

use std::collections::{HashMap, VecDeque};

use memora_engine::{Engine, Error, Reply, Session};
use proptest::prelude::*;

type Key = u8;

#[derive(Debug, Clone)]
enum Op {
    Push { left: bool, only_existing: bool, key: Key, elements: Vec<Vec<u8>> },
    Pop { left: bool, key: Key, count: Option<i64> },
    Llen(Key),
    Lrange(Key, i64, i64),
    Lindex(Key, i64),
    Lset(Key, i64, Vec<u8>),
    Linsert { key: Key, before: bool, pivot: Vec<u8>, element: Vec<u8> },
    Lrem(Key, i64, Vec<u8>),
    Ltrim(Key, i64, i64),
    Lpos { key: Key, element: Vec<u8>, rank: Option<i64>, count: Option<i64>, maxlen: Option<i64> },
    Lmove { source: Key, destination: Key, from_left: bool, to_left: bool },
    Lmpop { keys: Vec<Key>, left: bool, count: Option<i64> },
    SetString(Key),
    Del(Key),
    Config { fill: i64, depth: i64 },
}

fn key_name(key: Key) -> Vec<u8> {
    format!("k{key}").into_bytes()
}

fn end(left: bool) -> &'static [u8] {
    if left { b"LEFT" } else { b"RIGHT" }
}

fn num(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

impl Op {
    fn argv(&self) -> Vec<Vec<u8>> {
        let mut argv: Vec<Vec<u8>> = Vec::new();
        let mut push = |parts: &[&[u8]]| argv.extend(parts.iter().map(|p| p.to_vec()));
        match self {
            Op::Push { left, only_existing, key, elements } => {
                let name: &[u8] = match (left, only_existing) {
                    (true, false) => b"LPUSH",
                    (false, false) => b"RPUSH",
                    (true, true) => b"LPUSHX",
                    (false, true) => b"RPUSHX",
                };
                push(&[name, &key_name(*key)]);
                push(&elements.iter().map(Vec::as_slice).collect::<Vec<_>>());
            }
            Op::Pop { left, key, count } => {
                push(&[if *left { b"LPOP" } else { b"RPOP" }, &key_name(*key)]);
                if let Some(count) = count {
                    push(&[&num(*count)]);
                }
            }
            Op::Llen(key) => push(&[b"LLEN", &key_name(*key)]),
            Op::Lrange(key, a, b) => push(&[b"LRANGE", &key_name(*key), &num(*a), &num(*b)]),
            Op::Lindex(key, i) => push(&[b"LINDEX", &key_name(*key), &num(*i)]),
            Op::Lset(key, i, element) => push(&[b"LSET", &key_name(*key), &num(*i), element]),
            Op::Linsert { key, before, pivot, element } => {
                let position: &[u8] = if *before { b"BEFORE" } else { b"AFTER" };
                push(&[b"LINSERT", &key_name(*key), position, pivot, element]);
            }
            Op::Lrem(key, count, element) => push(&[b"LREM", &key_name(*key), &num(*count), element]),
            Op::Ltrim(key, a, b) => push(&[b"LTRIM", &key_name(*key), &num(*a), &num(*b)]),
            Op::Lpos { key, element, rank, count, maxlen } => {
                push(&[b"LPOS", &key_name(*key), element]);
                for (name, value) in [(&b"RANK"[..], rank), (b"COUNT", count), (b"MAXLEN", maxlen)] {
                    if let Some(value) = value {
                        push(&[name, &num(*value)]);
                    }
                }
            }
            Op::Lmove { source, destination, from_left, to_left } => {
                push(&[
                    b"LMOVE",
                    &key_name(*source),
                    &key_name(*destination),
                    end(*from_left),
                    end(*to_left),
                ]);
            }
            Op::Lmpop { keys, left, count } => {
                push(&[b"LMPOP", &num(keys.len() as i64)]);
                push(
                    &keys
                        .iter()
                        .map(|k| key_name(*k))
                        .collect::<Vec<_>>()
                        .iter()
                        .map(Vec::as_slice)
                        .collect::<Vec<_>>(),
                );
                push(&[end(*left)]);
                if let Some(count) = count {
                    push(&[b"COUNT", &num(*count)]);
                }
            }
            Op::SetString(key) => push(&[b"SET", &key_name(*key), b"string"]),
            Op::Del(key) => push(&[b"DEL", &key_name(*key)]),
            Op::Config { fill, depth } => push(&[
                b"CONFIG",
                b"SET",
                b"list-max-listpack-size",
                &num(*fill),
                b"list-compress-depth",
                &num(*depth),
            ]),
        }
        argv
    }
}

/// What a key holds in the model.
#[derive(Debug, Clone)]
enum Slot {
    List(VecDeque<Vec<u8>>),
    Str,
}

#[derive(Debug, Default)]
struct Model {
    keys: HashMap<Key, Slot>,
}

fn err(text: &'static str) -> Reply {
    Reply::Error(Error::msg(text))
}

fn wrongtype() -> Reply {
    Reply::Error(Error::WrongType)
}

fn bulks(items: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// Redis's index resolution: `None` when out of range.
fn index_of(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i + len as i64 } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// Redis's LRANGE/LTRIM range resolution.
fn range_of(a: i64, b: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let a = if a < 0 { a + len } else { a }.max(0);
    let b = if b < 0 { b + len } else { b };
    if a > b || a >= len {
        return None;
    }
    Some((a as usize, b.min(len - 1) as usize))
}

impl Model {
    /// The list at `key`: `Ok(None)` when absent, `Err` (WRONGTYPE) for a string.
    fn list(&mut self, key: Key) -> Result<Option<&mut VecDeque<Vec<u8>>>, Reply> {
        match self.keys.get_mut(&key) {
            None => Ok(None),
            Some(Slot::Str) => Err(wrongtype()),
            Some(Slot::List(list)) => Ok(Some(list)),
        }
    }

    fn drop_if_empty(&mut self, key: Key) {
        if matches!(self.keys.get(&key), Some(Slot::List(list)) if list.is_empty()) {
            self.keys.remove(&key);
        }
    }

    fn apply(&mut self, op: &Op) -> Reply {
        let reply = self.reply(op);
        for key in 0..8 {
            self.drop_if_empty(key);
        }
        reply
    }

    fn reply(&mut self, op: &Op) -> Reply {
        match self.run(op) {
            Ok(reply) | Err(reply) => reply,
        }
    }

    fn run(&mut self, op: &Op) -> Result<Reply, Reply> {
        Ok(match op {
            Op::Push { left, only_existing, key, elements } => {
                let list = match self.list(*key)? {
                    Some(list) => list,
                    None if *only_existing => return Ok(Reply::Integer(0)),
                    None => match self.keys.entry(*key).or_insert(Slot::List(VecDeque::new())) {
                        Slot::List(list) => list,
                        Slot::Str => unreachable!(),
                    },
                };
                for element in elements {
                    if *left { list.push_front(element.clone()) } else { list.push_back(element.clone()) }
                }
                Reply::Integer(list.len() as i64)
            }
            Op::Pop { left, key, count } => {
                let count = match count {
                    Some(n) if *n < 0 => return Err(err("ERR value is out of range, must be positive")),
                    other => other.map(|n| n as usize),
                };
                let Some(list) = self.list(*key)? else {
                    return Ok(if count.is_some() { Reply::NullArray } else { Reply::Null });
                };
                let mut popped = Vec::new();
                while popped.len() < count.unwrap_or(1) {
                    match if *left { list.pop_front() } else { list.pop_back() } {
                        Some(element) => popped.push(element),
                        None => break,
                    }
                }
                match count {
                    Some(_) => bulks(popped),
                    None => popped.pop().map_or(Reply::Null, Reply::Bulk),
                }
            }
            Op::Llen(key) => Reply::Integer(self.list(*key)?.map_or(0, |l| l.len() as i64)),
            Op::Lrange(key, a, b) => {
                let Some(list) = self.list(*key)? else { return Ok(bulks([])) };
                match range_of(*a, *b, list.len()) {
                    Some((a, b)) => bulks(list.range(a..=b).cloned()),
                    None => bulks([]),
                }
            }
            Op::Lindex(key, i) => {
                let Some(list) = self.list(*key)? else { return Ok(Reply::Null) };
                index_of(*i, list.len()).map_or(Reply::Null, |i| Reply::Bulk(list[i].clone()))
            }
            Op::Lset(key, i, element) => {
                let list = self.list(*key)?.ok_or(err("ERR no such key"))?;
                let i = index_of(*i, list.len()).ok_or(err("ERR index out of range"))?;
                list[i] = element.clone();
                Reply::OK
            }
            Op::Linsert { key, before, pivot, element } => {
                let Some(list) = self.list(*key)? else { return Ok(Reply::Integer(0)) };
                let Some(at) = list.iter().position(|e| e == pivot) else { return Ok(Reply::Integer(-1)) };
                list.insert(if *before { at } else { at + 1 }, element.clone());
                Reply::Integer(list.len() as i64)
            }
            Op::Lrem(key, count, element) => {
                let Some(list) = self.list(*key)? else { return Ok(Reply::Integer(0)) };
                let limit = if *count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                let mut indexes: Vec<usize> = (0..list.len()).filter(|&i| &list[i] == element).collect();
                if *count < 0 {
                    indexes.reverse();
                }
                indexes.truncate(limit);
                indexes.sort_unstable();
                for &i in indexes.iter().rev() {
                    list.remove(i);
                }
                Reply::Integer(indexes.len() as i64)
            }
            Op::Ltrim(key, a, b) => {
                let Some(list) = self.list(*key)? else { return Ok(Reply::OK) };
                match range_of(*a, *b, list.len()) {
                    Some((a, b)) => {
                        list.truncate(b + 1);
                        list.drain(..a);
                    }
                    None => list.clear(),
                }
                Reply::OK
            }
            Op::Lpos { key, element, rank, count, maxlen } => {
                self.lpos(*key, element, *rank, *count, *maxlen)?
            }
            Op::Lmove { source, destination, from_left, to_left } => {
                if self.list(*source)?.is_none() {
                    return Ok(Reply::Null);
                }
                // The destination's type is checked before anything is popped.
                self.list(*destination)?;
                let Some(list) = self.list(*source)? else { return Ok(Reply::Null) };
                let element = if *from_left { list.pop_front() } else { list.pop_back() };
                let Some(element) = element else { return Ok(Reply::Null) };
                let target = match self.keys.entry(*destination).or_insert(Slot::List(VecDeque::new())) {
                    Slot::List(list) => list,
                    Slot::Str => unreachable!(),
                };
                if *to_left {
                    target.push_front(element.clone())
                } else {
                    target.push_back(element.clone())
                }
                Reply::Bulk(element)
            }
            Op::Lmpop { keys, left, count } => {
                if count.is_some_and(|n| n <= 0) {
                    return Err(err("ERR count should be greater than 0"));
                }
                for key in keys {
                    let Some(list) = self.list(*key)? else { continue };
                    let mut popped = Vec::new();
                    while popped.len() < count.unwrap_or(1) as usize {
                        match if *left { list.pop_front() } else { list.pop_back() } {
                            Some(element) => popped.push(element),
                            None => break,
                        }
                    }
                    return Ok(Reply::Array(vec![Reply::Bulk(key_name(*key)), bulks(popped)]));
                }
                Reply::NullArray
            }
            Op::SetString(key) => {
                self.keys.insert(*key, Slot::Str);
                Reply::OK
            }
            Op::Del(key) => Reply::Integer(i64::from(self.keys.remove(key).is_some())),
            Op::Config { .. } => Reply::OK,
        })
    }

    fn lpos(
        &mut self,
        key: Key,
        element: &[u8],
        rank: Option<i64>,
        count: Option<i64>,
        maxlen: Option<i64>,
    ) -> Result<Reply, Reply> {
        if rank == Some(0) {
            return Err(err(
                "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
            ));
        }
        if count.is_some_and(|n| n < 0) {
            return Err(err("ERR COUNT can't be negative"));
        }
        if maxlen.is_some_and(|n| n < 0) {
            return Err(err("ERR MAXLEN can't be negative"));
        }
        let rank = rank.unwrap_or(1);
        let Some(list) = self.list(key)? else {
            return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Null });
        };
        let order: Vec<usize> =
            if rank > 0 { (0..list.len()).collect() } else { (0..list.len()).rev().collect() };
        let limit = match count {
            None => 1,
            Some(0) => usize::MAX,
            Some(n) => n as usize,
        };
        let scanned = match maxlen {
            None | Some(0) => order.len(),
            Some(n) => (n as usize).min(order.len()),
        };
        let found: Vec<usize> = order[..scanned]
            .iter()
            .copied()
            .filter(|&i| list[i] == element)
            .skip(rank.unsigned_abs() as usize - 1)
            .take(limit)
            .collect();
        Ok(match count {
            Some(_) => Reply::Array(found.into_iter().map(|i| Reply::Integer(i as i64)).collect()),
            None => found.first().map_or(Reply::Null, |&i| Reply::Integer(i as i64)),
        })
    }
}

fn key() -> impl Strategy<Value = Key> {
    0u8..4
}

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop_oneof![Just(b"a".to_vec()), Just(b"b".to_vec()), Just(b"c".to_vec())],
        2 => proptest::collection::vec(any::<u8>(), 0..8),
        1 => (0usize..300, any::<u8>()).prop_map(|(n, b)| vec![b'a' + b % 3; n]),
        1 => (0u32..1000).prop_map(|n| format!("element:{n:08}:abcdefghijklmnopqrstuvwxyz").into_bytes()),
    ]
}

fn index() -> impl Strategy<Value = i64> {
    prop_oneof![8 => -12i64..12, 1 => Just(i64::MIN), 1 => Just(i64::MAX)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<bool>(), prop::bool::weighted(0.15), key(), proptest::collection::vec(element(), 1..12))
            .prop_map(|(left, only_existing, key, elements)| Op::Push { left, only_existing, key, elements }),
        4 => (any::<bool>(), key(), proptest::option::of(-1i64..6)).prop_map(|(left, key, count)| Op::Pop { left, key, count }),
        1 => key().prop_map(Op::Llen),
        3 => (key(), index(), index()).prop_map(|(k, a, b)| Op::Lrange(k, a, b)),
        2 => (key(), index()).prop_map(|(k, i)| Op::Lindex(k, i)),
        2 => (key(), index(), element()).prop_map(|(k, i, e)| Op::Lset(k, i, e)),
        2 => (key(), any::<bool>(), element(), element())
            .prop_map(|(key, before, pivot, element)| Op::Linsert { key, before, pivot, element }),
        2 => (key(), -3i64..4, element()).prop_map(|(k, n, e)| Op::Lrem(k, n, e)),
        1 => (key(), index(), index()).prop_map(|(k, a, b)| Op::Ltrim(k, a, b)),
        2 => (key(), element(), proptest::option::of(-3i64..4), proptest::option::of(-1i64..4), proptest::option::of(-1i64..8))
            .prop_map(|(key, element, rank, count, maxlen)| Op::Lpos { key, element, rank, count, maxlen }),
        2 => (key(), key(), any::<bool>(), any::<bool>())
            .prop_map(|(source, destination, from_left, to_left)| Op::Lmove { source, destination, from_left, to_left }),
        1 => (proptest::collection::vec(key(), 1..4), any::<bool>(), proptest::option::of(-1i64..5))
            .prop_map(|(keys, left, count)| Op::Lmpop { keys, left, count }),
        1 => key().prop_map(Op::SetString),
        1 => key().prop_map(Op::Del),
        1 => (prop_oneof![Just(1i64), Just(2), Just(3), Just(5), Just(-1), Just(-2)], 0i64..3)
            .prop_map(|(fill, depth)| Op::Config { fill, depth }),
    ]
}

/// Compares errors by their text (the model builds some as `Error::Message`).
fn render(reply: &Reply) -> String {
    match reply {
        Reply::Error(err) => format!("error: {err}"),
        other => format!("{other:?}"),
    }
}

fn check(ops: &[Op], fill: i64, depth: i64) {
    let engine = Engine::builder().stripes(4).build();
    let mut session = Session::new(&engine);
    let setup = Op::Config { fill, depth };
    assert_eq!(session.execute(&setup.argv()), Reply::OK);
    let mut model = Model::default();
    for (i, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let got = session.execute(&op.argv());
        assert_eq!(render(&got), render(&expected), "op #{i} {op:?}");
    }
    // Every list reads back whole and its length agrees.
    for key in 0..4 {
        let lrange = Op::Lrange(key, 0, -1);
        assert_eq!(render(&session.execute(&lrange.argv())), render(&model.apply(&lrange)), "final k{key}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lists_match_model(
        ops in proptest::collection::vec(op(), 1..150),
        fill in prop_oneof![Just(1i64), Just(2), Just(4), Just(-1)],
        depth in 0i64..3,
    ) {
        check(&ops, fill, depth);
    }
}

#[test]
fn large_list_with_compression_matches_model() {
    // Thousands of compressible elements: many interior nodes are LZ4 blocks.
    let elements: Vec<Vec<u8>> =
        (0..3000).map(|n| format!("element:{n:08}:abcdefghijklmnop").into_bytes()).collect();
    let mut ops = vec![Op::Push { left: false, only_existing: false, key: 0, elements: elements.clone() }];
    ops.extend((0..50).map(|i| Op::Lindex(0, i * 61 - 1500)));
    ops.push(Op::Lset(0, 1500, b"middle".to_vec()));
    ops.push(Op::Linsert { key: 0, before: true, pivot: b"middle".to_vec(), element: b"new".to_vec() });
    ops.push(Op::Lrange(0, 1490, 1510));
    ops.push(Op::Lrem(0, -1, elements[10].clone()));
    ops.push(Op::Ltrim(0, 100, -100));
    ops.extend((0..40).map(|i| Op::Pop { left: i % 2 == 0, key: 0, count: Some(37) }));
    check(&ops, -1, 1);
}
