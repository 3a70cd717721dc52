//! Criterion benchmarks of Memora's collection types through the typed API.
//!
//! Dimensions: family (lists, hashes, sets, sorted sets) × operation × collection size
//! (`small`: 100 elements, within the compact encodings' default limits; `large`: 100k
//! elements). One thread. Every collection lives in its own key of one engine, preloaded
//! once; operations leave its size unchanged, so later samples see the same collection:
//!
//! - lists: `lpush+rpop` (LPUSH one 32 B element, then RPOP one; counted as 2 operations),
//!   `lrange10` (LRANGE of 10 elements from a random index);
//! - hashes (13 B fields, 32 B values): `hset` (overwrites an existing field), `hget`;
//! - sets (14 B members): `sadd` (an existing member), `sismember` (a hit);
//! - sorted sets (14 B members, integer scores below 10^9): `zadd` (a new score for an
//!   existing member, so it moves), `zrank`, `zrange10` (ZRANGE by rank, 10 members from a
//!   random rank).
//!
//! Members and elements are picked by a seeded generator and formatted before timing.
//!
//! ```text
//! cargo bench -p memora-benches --bench collections [-- FILTER]
//! ```

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use memora_benches::workload::{
    FIELD_LEN, MEMBER_LEN, SplitMix64, VALUE_LEN, member_score, write_field, write_member, write_value,
};
use memora_engine::{Engine, ZRangeOptions};

/// Element count of a `small` collection.
const SMALL_LEN: usize = 100;
/// Element count of a `large` collection.
const LARGE_LEN: usize = 100_000;
/// The sizes benchmarked, with their names.
const SIZES: [(&str, usize); 2] = [("small", SMALL_LEN), ("large", LARGE_LEN)];
/// Elements read by the range benchmarks.
const RANGE_LEN: usize = 10;

/// The preloaded engine and the formatted members, fields and values `0..LARGE_LEN`.
struct Fixture {
    engine: Engine,
    members: Vec<[u8; MEMBER_LEN]>,
    fields: Vec<[u8; FIELD_LEN]>,
    values: Vec<[u8; VALUE_LEN]>,
}

/// The key holding the collection of `family` with `len` elements, e.g. `zset:100000`.
fn key(family: &str, len: usize) -> Vec<u8> {
    format!("{family}:{len}").into_bytes()
}

/// Built once, shared by every benchmark.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut members = vec![[0u8; MEMBER_LEN]; LARGE_LEN];
        let mut fields = vec![[0u8; FIELD_LEN]; LARGE_LEN];
        let mut values = vec![[0u8; VALUE_LEN]; LARGE_LEN];
        for index in 0..LARGE_LEN {
            write_member(index, &mut members[index]);
            write_field(index, &mut fields[index]);
            write_value(index, &mut values[index]);
        }
        let engine = Engine::new();
        for (_, len) in SIZES {
            for index in 0..len {
                engine.rpush(key("list", len), &[&values[index]]).expect("rpush");
                engine.hset(key("hash", len), &[(&fields[index], &values[index])]).expect("hset");
                engine.sadd(key("set", len), &[&members[index]]).expect("sadd");
                let pair = (member_score(index, 0), &members[index]);
                engine.zadd(key("zset", len), Default::default(), &[pair]).expect("zadd");
            }
        }
        Fixture { engine, members, fields, values }
    })
}

/// Registers one benchmark per size: `body(fixture, key, len, rng)` runs one iteration.
fn per_size<F>(group: &mut BenchmarkGroup<'_, WallTime>, family: &str, name: &str, ops: u64, mut body: F)
where
    F: FnMut(&Fixture, &[u8], usize, &mut SplitMix64),
{
    let fixture = fixture();
    group.throughput(Throughput::Elements(ops));
    for (size, len) in SIZES {
        let key = key(family, len);
        let mut rng = SplitMix64::new(0xC011 ^ len as u64);
        group.bench_function(format!("{name}/{size}"), |b| b.iter(|| body(fixture, &key, len, &mut rng)));
    }
}

/// LPUSH+RPOP and LRANGE.
mod lists {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("lists");
        per_size(&mut group, "list", "lpush+rpop", 2, |f, key, len, rng| {
            let element = &f.values[rng.below(len as u64) as usize];
            black_box(f.engine.lpush(key, &[black_box(element)]).expect("lpush"));
            black_box(f.engine.rpop(key).expect("rpop"));
        });
        per_size(&mut group, "list", "lrange10", 1, |f, key, len, rng| {
            let start = rng.below((len - RANGE_LEN) as u64) as i64;
            black_box(f.engine.lrange(key, start, start + RANGE_LEN as i64 - 1).expect("lrange"));
        });
        group.finish();
    }
}

/// HSET (overwrite) and HGET.
mod hashes {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("hashes");
        per_size(&mut group, "hash", "hset", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            let value = &f.values[rng.below(len as u64) as usize];
            black_box(f.engine.hset(key, &[(black_box(&f.fields[index]), black_box(value))]).expect("hset"));
        });
        per_size(&mut group, "hash", "hget", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            black_box(f.engine.hget(key, black_box(&f.fields[index])).expect("hget"));
        });
        group.finish();
    }
}

/// SADD (existing member) and SISMEMBER.
mod sets {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("sets");
        per_size(&mut group, "set", "sadd", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            black_box(f.engine.sadd(key, &[black_box(&f.members[index])]).expect("sadd"));
        });
        per_size(&mut group, "set", "sismember", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            black_box(f.engine.sismember(key, black_box(&f.members[index])).expect("sismember"));
        });
        group.finish();
    }
}

/// ZADD (score update), ZRANK and ZRANGE by rank.
mod zsets {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("zsets");
        per_size(&mut group, "zset", "zadd", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            let pair = (member_score(index, rng.next_u64()), black_box(&f.members[index]));
            black_box(f.engine.zadd(key, Default::default(), &[pair]).expect("zadd"));
        });
        per_size(&mut group, "zset", "zrank", 1, |f, key, len, rng| {
            let index = rng.below(len as u64) as usize;
            black_box(f.engine.zrank(key, black_box(&f.members[index]), false).expect("zrank"));
        });
        per_size(&mut group, "zset", "zrange10", 1, |f, key, len, rng| {
            let start = rng.below((len - RANGE_LEN) as u64) as i64;
            let range = ZRangeOptions::rank(start, start + RANGE_LEN as i64 - 1);
            black_box(f.engine.zrange(key, &range).expect("zrange"));
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = lists::bench, hashes::bench, sets::bench, zsets::bench
}
criterion_main!(benches);
