//! Test support shared by the engine's property tests and the fuzz targets: one operation
//! enum, its argv form, and a deliberately simple reference model (a `BTreeMap` plus a clock)
//! that predicts each operation's reply.
//!
//! Available under `cfg(test)` and the `test-utils` feature.

use std::collections::BTreeMap;

use crate::Reply;

/// A key index into a small key space, so that operations collide often.
pub type KeyId = u8;

/// One operation of a model-checked sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `SET k v` with optional `NX`/`XX` and `PX ms`.
    Set {
        /// Key.
        key: KeyId,
        /// Value bytes.
        value: Vec<u8>,
        /// 0 none, 1 NX, 2 XX.
        condition: u8,
        /// `PX` milliseconds, when set.
        px: Option<u32>,
    },
    /// `GET k`.
    Get(KeyId),
    /// `DEL k...`.
    Del(Vec<KeyId>),
    /// `INCRBY k n`.
    IncrBy(KeyId, i64),
    /// `APPEND k v`.
    Append(KeyId, Vec<u8>),
    /// `STRLEN k`.
    Strlen(KeyId),
    /// `EXISTS k...`.
    Exists(Vec<KeyId>),
    /// `PEXPIRE k ms`.
    PExpire(KeyId, i32),
    /// `PERSIST k`.
    Persist(KeyId),
    /// `PTTL k`.
    Pttl(KeyId),
    /// `RENAME a b`.
    Rename(KeyId, KeyId),
    /// `GETDEL k`.
    GetDel(KeyId),
    /// `MSET k v ...`.
    MSet(Vec<(KeyId, Vec<u8>)>),
    /// `MGET k...`.
    MGet(Vec<KeyId>),
    /// `SETRANGE k offset v` (offset kept small).
    SetRange(KeyId, u8, Vec<u8>),
    /// `GETRANGE k start end`.
    GetRange(KeyId, i8, i8),
    /// `DBSIZE`.
    DbSize,
    /// `FLUSHDB`.
    FlushDb,
    /// Moves the clock forward by this many milliseconds (not a command).
    Advance(u16),
}

/// The text of an error reply; panics on any other reply.
pub fn error_text(reply: Reply) -> String {
    match reply {
        Reply::Error(err) => err.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The key name for a key id.
pub fn key_name(key: KeyId) -> Vec<u8> {
    format!("key:{key}").into_bytes()
}

impl Op {
    /// The command's argv; `None` for [`Op::Advance`].
    pub fn argv(&self) -> Option<Vec<Vec<u8>>> {
        let k = |key: &KeyId| key_name(*key);
        let n = |n: i64| n.to_string().into_bytes();
        let mut argv: Vec<Vec<u8>> = match self {
            Op::Set { key, value, condition, px } => {
                let mut argv = vec![b"SET".to_vec(), k(key), value.clone()];
                match condition {
                    1 => argv.push(b"NX".to_vec()),
                    2 => argv.push(b"XX".to_vec()),
                    _ => {}
                }
                if let Some(ms) = px {
                    argv.extend([b"PX".to_vec(), n(i64::from(*ms))]);
                }
                argv
            }
            Op::Get(key) => vec![b"GET".to_vec(), k(key)],
            Op::Del(keys) => keys.iter().map(k).collect(),
            Op::IncrBy(key, by) => vec![b"INCRBY".to_vec(), k(key), n(*by)],
            Op::Append(key, v) => vec![b"APPEND".to_vec(), k(key), v.clone()],
            Op::Strlen(key) => vec![b"STRLEN".to_vec(), k(key)],
            Op::Exists(keys) => keys.iter().map(k).collect(),
            Op::PExpire(key, ms) => vec![b"PEXPIRE".to_vec(), k(key), n(i64::from(*ms))],
            Op::Persist(key) => vec![b"PERSIST".to_vec(), k(key)],
            Op::Pttl(key) => vec![b"PTTL".to_vec(), k(key)],
            Op::Rename(a, b) => vec![b"RENAME".to_vec(), k(a), k(b)],
            Op::GetDel(key) => vec![b"GETDEL".to_vec(), k(key)],
            Op::MSet(pairs) => pairs.iter().flat_map(|(key, v)| [k(key), v.clone()]).collect(),
            Op::MGet(keys) => keys.iter().map(k).collect(),
            Op::SetRange(key, off, v) => vec![b"SETRANGE".to_vec(), k(key), n(i64::from(*off)), v.clone()],
            Op::GetRange(key, a, b) => vec![b"GETRANGE".to_vec(), k(key), n(i64::from(*a)), n(i64::from(*b))],
            Op::DbSize => vec![b"DBSIZE".to_vec()],
            Op::FlushDb => vec![b"FLUSHDB".to_vec()],
            Op::Advance(_) => return None,
        };
        let name: &[u8] = match self {
            Op::Del(_) => b"DEL",
            Op::Exists(_) => b"EXISTS",
            Op::MSet(_) => b"MSET",
            Op::MGet(_) => b"MGET",
            _ => return Some(argv),
        };
        argv.insert(0, name.to_vec());
        Some(argv)
    }

    /// Decodes an operation from fuzzer bytes (consuming some); `None` when exhausted.
    pub fn from_bytes(input: &mut &[u8]) -> Option<Op> {
        let mut take = |n: usize| -> Option<Vec<u8>> {
            let n = n.min(input.len());
            let (head, rest) = input.split_at(n);
            *input = rest;
            Some(head.to_vec())
        };
        let head = take(3)?;
        let [tag, a, b] = head[..] else { return None };
        let key = a % 8;
        let small = |len: u8| (len % 6) as usize;
        Some(match tag % 19 {
            0 => Op::Set {
                key,
                value: take(small(b))?,
                condition: b % 3,
                px: (b & 0x80 != 0).then_some(u32::from(a) * 10),
            },
            1 => Op::Get(key),
            2 => Op::Del(vec![key, b % 8]),
            3 => Op::IncrBy(key, i64::from(b as i8)),
            4 => Op::Append(key, take(small(b))?),
            5 => Op::Strlen(key),
            6 => Op::Exists(vec![key, b % 8, key]),
            7 => Op::PExpire(key, i32::from(b as i8) * 10),
            8 => Op::Persist(key),
            9 => Op::Pttl(key),
            10 => Op::Rename(key, b % 8),
            11 => Op::GetDel(key),
            12 => Op::MSet(vec![(key, take(small(b))?), (b % 8, b"x".to_vec())]),
            13 => Op::MGet(vec![key, b % 8]),
            14 => Op::SetRange(key, b % 10, take(small(a))?),
            15 => Op::GetRange(key, a as i8 % 8, b as i8 % 8),
            16 => Op::DbSize,
            17 => Op::FlushDb,
            _ => Op::Advance(u16::from(b) * 4),
        })
    }
}

/// An entry of the model: bytes and an optional absolute expiry.
#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    expire_at_ms: Option<u64>,
}

/// The reference model: what each operation should answer.
#[derive(Debug, Clone)]
pub struct Model {
    now_ms: u64,
    map: BTreeMap<KeyId, Entry>,
}

fn int(n: usize) -> Reply {
    Reply::Integer(n as i64)
}

fn err(text: &'static str) -> Reply {
    Reply::Error(crate::Error::msg(text))
}

impl Model {
    /// An empty model at time `now_ms`.
    pub fn new(now_ms: u64) -> Model {
        Model { now_ms, map: BTreeMap::new() }
    }

    /// Drops entries whose expiry has passed (Redis: expired once now > expiry).
    fn purge(&mut self) {
        let now = self.now_ms;
        self.map.retain(|_, e| e.expire_at_ms.is_none_or(|at| now <= at));
    }

    fn get(&self, key: KeyId) -> Option<&Entry> {
        self.map.get(&key)
    }

    /// Applies `op`; returns the expected reply (`None` for [`Op::Advance`]).
    pub fn apply(&mut self, op: &Op) -> Option<Reply> {
        self.purge();
        Some(match op {
            Op::Advance(ms) => {
                self.now_ms += u64::from(*ms);
                return None;
            }
            Op::Set { key, value, condition, px } => {
                if *px == Some(0) {
                    return Some(Reply::Error(crate::Error::InvalidExpireTime("set")));
                }
                let exists = self.map.contains_key(key);
                if (*condition == 1 && exists) || (*condition == 2 && !exists) {
                    return Some(Reply::Null);
                }
                let expire_at_ms = px.map(|ms| self.now_ms + u64::from(ms));
                self.map.insert(*key, Entry { value: value.clone(), expire_at_ms });
                Reply::OK
            }
            Op::Get(key) => self.get(*key).map_or(Reply::Null, |e| Reply::Bulk(e.value.clone())),
            Op::Del(keys) => int(keys.iter().filter(|k| self.map.remove(k).is_some()).count()),
            Op::IncrBy(key, by) => self.incr_by(*key, *by),
            Op::Append(key, suffix) => {
                let entry = self.map.entry(*key).or_insert(Entry { value: Vec::new(), expire_at_ms: None });
                entry.value.extend_from_slice(suffix);
                int(entry.value.len())
            }
            Op::Strlen(key) => int(self.get(*key).map_or(0, |e| e.value.len())),
            Op::Exists(keys) => int(keys.iter().filter(|k| self.map.contains_key(k)).count()),
            Op::PExpire(key, ms) => match self.map.get_mut(key) {
                None => int(0),
                Some(_) if *ms <= 0 => {
                    self.map.remove(key);
                    int(1)
                }
                Some(e) => {
                    e.expire_at_ms = Some(self.now_ms + *ms as u64);
                    int(1)
                }
            },
            Op::Persist(key) => match self.map.get_mut(key) {
                Some(e) if e.expire_at_ms.is_some() => {
                    e.expire_at_ms = None;
                    int(1)
                }
                _ => int(0),
            },
            Op::Pttl(key) => Reply::Integer(match self.get(*key) {
                None => -2,
                Some(Entry { expire_at_ms: None, .. }) => -1,
                Some(Entry { expire_at_ms: Some(at), .. }) => (at - self.now_ms) as i64,
            }),
            Op::Rename(a, b) => match self.map.remove(a) {
                None => err("ERR no such key"),
                Some(e) => {
                    self.map.insert(*b, e);
                    Reply::OK
                }
            },
            Op::GetDel(key) => self.map.remove(key).map_or(Reply::Null, |e| Reply::Bulk(e.value)),
            Op::MSet(pairs) => {
                for (key, value) in pairs {
                    self.map.insert(*key, Entry { value: value.clone(), expire_at_ms: None });
                }
                Reply::OK
            }
            Op::MGet(keys) => Reply::Array(
                keys.iter()
                    .map(|k| self.get(*k).map_or(Reply::Null, |e| Reply::Bulk(e.value.clone())))
                    .collect(),
            ),
            Op::SetRange(key, offset, value) => self.setrange(*key, usize::from(*offset), value),
            Op::GetRange(key, start, end) => {
                let bytes = self.get(*key).map(|e| e.value.clone()).unwrap_or_default();
                Reply::Bulk(crate::strings::substring(&bytes, i64::from(*start), i64::from(*end)).to_vec())
            }
            Op::DbSize => int(self.map.len()),
            Op::FlushDb => {
                self.map.clear();
                Reply::OK
            }
        })
    }

    fn incr_by(&mut self, key: KeyId, by: i64) -> Reply {
        let current = match self.get(key) {
            None => 0,
            Some(e) => match crate::num::canonical_i64(&e.value) {
                Some(n) => n,
                None => return Reply::Error(crate::Error::NotInteger),
            },
        };
        let Some(next) = current.checked_add(by) else { return Reply::Error(crate::Error::Overflow) };
        let expire_at_ms = self.get(key).and_then(|e| e.expire_at_ms);
        self.map.insert(key, Entry { value: next.to_string().into_bytes(), expire_at_ms });
        Reply::Integer(next)
    }

    fn setrange(&mut self, key: KeyId, offset: usize, value: &[u8]) -> Reply {
        if value.is_empty() {
            return int(self.get(key).map_or(0, |e| e.value.len()));
        }
        let entry = self.map.entry(key).or_insert(Entry { value: Vec::new(), expire_at_ms: None });
        let end = offset + value.len();
        if entry.value.len() < end {
            entry.value.resize(end, 0);
        }
        entry.value[offset..end].copy_from_slice(value);
        int(entry.value.len())
    }
}
