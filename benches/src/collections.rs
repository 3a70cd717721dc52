//! The collection workloads of `memory --collections`: one key holding many elements of one
//! family, filled one element per command through the typed API, with Redis's memory figures
//! for the same data.
//!
//! Data (deterministic, see [`crate::workload`]): sorted-set and set members of
//! [`MEMBER_LEN`] bytes (`member:0000042`), sorted-set scores from [`member_score`], hash
//! fields of [`FIELD_LEN`] bytes (`field:0000042`) with [`VALUE_LEN`]-byte values, list
//! elements of [`VALUE_LEN`] bytes from [`write_element`].
//!
//! Lists are measured twice: with Memora's default `list-compress-depth` of 1 (inner nodes
//! kept as LZ4 blocks when smaller, so the figure depends on how the data compresses), and
//! with depth 0, Redis's default, under which Redis's figure was taken.

use memora_engine::{Engine, Result};

use crate::workload::{
    FIELD_LEN, MEMBER_LEN, SplitMix64, VALUE_LEN, member_score, write_element, write_field, write_member,
    write_value,
};

/// A collection family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// A sorted set: ZADD to fill, ZRANK to look up, ZADD of new scores to update.
    Zset,
    /// A hash: HSET to fill, HGET to look up, HSET of new values to update.
    Hash,
    /// A set: SADD to fill, SISMEMBER to look up, SADD of existing members to update.
    Set,
    /// A list with Memora's default compression depth (1): RPUSH to fill, LINDEX within the
    /// first 1,000 elements to look up, LSET there to update.
    List,
    /// A list without compression (`list-compress-depth 0`, Redis's default), as [`Collection::List`].
    ListRaw,
}

impl Collection {
    /// Every family, in table order.
    pub const ALL: [Collection; 5] =
        [Collection::Zset, Collection::Hash, Collection::Set, Collection::List, Collection::ListRaw];

    /// The family's name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Zset => "zset",
            Collection::Hash => "hash",
            Collection::Set => "set",
            Collection::List => "list",
            Collection::ListRaw => "list-raw",
        }
    }

    /// A fresh engine configured for the family (only [`Collection::ListRaw`] differs from
    /// the defaults).
    pub fn engine(self) -> Engine {
        match self {
            Collection::ListRaw => Engine::builder().list_compress_depth(0).build(),
            _ => Engine::new(),
        }
    }

    /// The family named `name`.
    pub fn parse(name: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|family| family.name() == name)
    }

    /// What one element is, for tables.
    pub fn element(self) -> &'static str {
        match self {
            Collection::Zset => "14 B member + score",
            Collection::Hash => "13 B field, 32 B value",
            Collection::Set => "14 B member",
            Collection::List => "32 B element, LZ4 depth 1",
            Collection::ListRaw => "32 B element, no LZ4",
        }
    }

    /// The names of the fill, lookup and update commands, for tables.
    pub fn commands(self) -> [&'static str; 3] {
        match self {
            Collection::Zset => ["ZADD", "ZRANK", "ZADD(upd)"],
            Collection::Hash => ["HSET", "HGET", "HSET(upd)"],
            Collection::Set => ["SADD", "SISMEMBER", "SADD(dup)"],
            Collection::List | Collection::ListRaw => ["RPUSH", "LINDEX<1k", "LSET<1k"],
        }
    }

    /// Bytes per element Redis uses for the same data at 1M elements in one key (figures
    /// from the benchmark's issue: `INFO memory` growth divided by the element count).
    pub fn redis_bytes_per_element(self) -> f64 {
        match self {
            Collection::Zset => 110.0,
            Collection::Hash => 104.0,
            Collection::Set => 56.0,
            Collection::List | Collection::ListRaw => 34.0,
        }
    }

    /// The key the family's collection is stored under.
    pub fn key(self) -> &'static [u8] {
        self.name().as_bytes()
    }

    /// Adds elements `0..elements` to the family's key, one command each.
    pub fn fill(self, engine: &Engine, elements: usize) -> Result<()> {
        let key = self.key();
        let (mut member, mut field, mut value) = ([0u8; MEMBER_LEN], [0u8; FIELD_LEN], [0u8; VALUE_LEN]);
        for index in 0..elements {
            match self {
                Collection::Zset => {
                    write_member(index, &mut member);
                    engine.zadd(key, Default::default(), &[(member_score(index, 0), &member)])?;
                }
                Collection::Hash => {
                    write_field(index, &mut field);
                    write_value(index, &mut value);
                    engine.hset(key, &[(&field, &value)])?;
                }
                Collection::Set => {
                    write_member(index, &mut member);
                    engine.sadd(key, &[&member])?;
                }
                Collection::List | Collection::ListRaw => {
                    write_element(index, &mut value);
                    engine.rpush(key, &[&value])?;
                }
            }
        }
        Ok(())
    }

    /// The number of elements in the family's key.
    pub fn len(self, engine: &Engine) -> Result<usize> {
        let key = self.key();
        match self {
            Collection::Zset => engine.zcard(key),
            Collection::Hash => engine.hlen(key),
            Collection::Set => engine.scard(key),
            Collection::List | Collection::ListRaw => engine.llen(key),
        }
    }

    /// Runs `ops` lookups of random elements of a collection filled with `elements`; returns
    /// how many found their element (all of them, unless the engine lost some). Lists look
    /// at their first 1,000 elements only (LINDEX walks the list).
    pub fn lookup(self, engine: &Engine, elements: usize, ops: usize) -> Result<usize> {
        let key = self.key();
        let mut rng = SplitMix64::new(0x100C);
        let (mut member, mut field) = ([0u8; MEMBER_LEN], [0u8; FIELD_LEN]);
        let mut found = 0;
        for _ in 0..ops {
            let index = rng.below(elements as u64) as usize;
            let hit = match self {
                Collection::Zset => {
                    write_member(index, &mut member);
                    engine.zrank(key, member, false)?.is_some()
                }
                Collection::Hash => {
                    write_field(index, &mut field);
                    engine.hget(key, field)?.is_some()
                }
                Collection::Set => {
                    write_member(index, &mut member);
                    engine.sismember(key, member)?
                }
                Collection::List | Collection::ListRaw => {
                    engine.lindex(key, (index % 1000) as i64)?.is_some()
                }
            };
            found += usize::from(hit);
        }
        Ok(found)
    }

    /// Runs `ops` updates of random existing elements (new scores, new values, duplicate
    /// members) of a collection filled with `elements`.
    pub fn update(self, engine: &Engine, elements: usize, ops: usize) -> Result<()> {
        let key = self.key();
        let mut rng = SplitMix64::new(0x0BDA7E);
        let (mut member, mut field, mut value) = ([0u8; MEMBER_LEN], [0u8; FIELD_LEN], [0u8; VALUE_LEN]);
        for round in 1..=ops as u64 {
            let index = rng.below(elements as u64) as usize;
            match self {
                Collection::Zset => {
                    write_member(index, &mut member);
                    engine.zadd(key, Default::default(), &[(member_score(index, round), &member)])?;
                }
                Collection::Hash => {
                    write_field(index, &mut field);
                    write_value(index + 1, &mut value);
                    engine.hset(key, &[(&field, &value)])?;
                }
                Collection::Set => {
                    write_member(index, &mut member);
                    engine.sadd(key, &[&member])?;
                }
                Collection::List | Collection::ListRaw => {
                    write_element(index + 1, &mut value);
                    engine.lset(key, (index % 1000) as i64, value)?;
                }
            }
        }
        Ok(())
    }
}
