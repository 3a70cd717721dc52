//! Criterion benchmarks of Memora with `maxmemory` set and eviction active, next to the same
//! workload without a limit (issue 4's target: 2-thread GET/SET throughput within 10% of the
//! no-limit figure).
//!
//! Workload: 1M keys of 16 B with 32 B values, visited in a precomputed pseudo-random order,
//! through the typed API. `nolimit`: every key preloaded, no limit. `evicting`: `maxmemory`
//! set to half of what the full key set takes, `allkeys-lru`, every key written once (so
//! half were evicted): from then on a GET misses about half the time and every SET of an
//! absent key evicts one. Operations: `get`, `set`, and `mix` (90% GET, 10% SET), on 2
//! threads (`iter_custom`, both threads' operations counted).
//!
//! ```text
//! cargo bench -p memora-benches --bench eviction [-- FILTER]
//! ```

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memora_benches::run_parallel;
use memora_benches::systems::{MemoraTyped, preload};
use memora_benches::workload::{DEFAULT_KEY_COUNT, Dataset, ORDER_LEN};
use memora_engine::{Engine, EvictionPolicy, SetOptions};

struct Fixture {
    data: Dataset,
    order: Vec<u32>,
    unlimited: Engine,
    evicting: Engine,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let data = Dataset::new(DEFAULT_KEY_COUNT);
        let unlimited = Engine::new();
        let empty = unlimited.used_memory();
        preload(&MemoraTyped(unlimited.clone()), &data);
        let full = unlimited.used_memory();
        let evicting = Engine::builder().maxmemory_policy(EvictionPolicy::AllKeysLru).build();
        let limit = empty + (full - empty) / 2;
        evicting.config_set(&[("maxmemory", limit.to_string().as_str())]).expect("maxmemory");
        preload(&MemoraTyped(evicting.clone()), &data);
        eprintln!(
            "eviction bench: full key set {} B, limit {limit} B, {} of {} keys held after preload",
            full,
            evicting.dbsize(),
            data.len()
        );
        let order = data.visit_order(0xE71C);
        Fixture { data, order, unlimited, evicting }
    })
}

#[derive(Clone, Copy)]
enum Operation {
    Get,
    Set,
    /// One SET in ten, the rest GETs.
    Mix,
}

fn run(engine: &Engine, fixture: &Fixture, operation: Operation, start: usize, iters: u64) {
    for position in (start..).take(iters as usize) {
        let index = fixture.order[position & (ORDER_LEN - 1)] as usize;
        let set = match operation {
            Operation::Get => false,
            Operation::Set => true,
            Operation::Mix => position % 10 == 0,
        };
        let key = black_box(fixture.data.key(index));
        if set {
            let _ = black_box(engine.set(key, fixture.data.value(index), SetOptions::default()));
        } else {
            let _ = black_box(engine.get(key));
        }
    }
}

fn bench(c: &mut Criterion) {
    let fixture = fixture();
    for (name, engine) in [("nolimit", &fixture.unlimited), ("evicting", &fixture.evicting)] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(2));
        for (label, operation) in [("get", Operation::Get), ("set", Operation::Set), ("mix", Operation::Mix)]
        {
            group.bench_function(format!("{label}/2t"), |b| {
                b.iter_custom(|iters| {
                    run_parallel(2, |thread| run(engine, fixture, operation, thread * (ORDER_LEN / 2), iters))
                });
            });
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
