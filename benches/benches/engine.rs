//! Criterion benchmarks of Memora's engine.
//!
//! Dimensions: path (`typed` API, `execute` through a `Session`) × operation (GET, SET) ×
//! threads (1, 2). Workload: 1M preloaded keys of 16 B with 32 B values (so every GET hits);
//! keys visited in a precomputed pseudo-random order; GET returns an owned copy.
//! Two-thread runs use `iter_custom`: both threads do `iters` operations from a common start,
//! and the throughput counts both threads' operations.
//!
//! ```text
//! cargo bench -p memora-benches --bench engine [-- FILTER]
//! ```

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memora_benches::run_parallel;
use memora_benches::systems::{MemoraExecute, MemoraTyped, Store, Worker, preload};
use memora_benches::workload::{DEFAULT_KEY_COUNT, Dataset, ORDER_LEN};
use memora_engine::Engine;

/// The preloaded engine, its keys and values, and the order keys are visited in.
struct Fixture {
    engine: Engine,
    data: Dataset,
    order: Vec<u32>,
}

/// Built once, shared by every benchmark (preloading takes about a second).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let data = Dataset::new(DEFAULT_KEY_COUNT);
        let engine = Engine::new();
        preload(&MemoraTyped(engine.clone()), &data);
        let order = data.visit_order(0xBE4C);
        Fixture { engine, data, order }
    })
}

/// Which operation a benchmark runs.
#[derive(Clone, Copy)]
enum Operation {
    Get,
    Set,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Set => "set",
        }
    }
}

/// Runs `iters` operations on `worker`, visiting the order from `start`.
#[inline]
fn run<W: Worker>(worker: &mut W, fixture: &Fixture, operation: Operation, start: usize, iters: u64) {
    for position in (start..).take(iters as usize) {
        let index = fixture.order[position & (ORDER_LEN - 1)] as usize;
        match operation {
            Operation::Get => {
                black_box(worker.get(black_box(fixture.data.key(index))));
            }
            Operation::Set => {
                worker.set(black_box(fixture.data.key(index)), black_box(fixture.data.value(index)))
            }
        }
    }
}

/// Benchmarks GET and SET on 1 and 2 threads for one way of reaching the engine.
fn bench_store<S: Store>(c: &mut Criterion, group_name: &str, store: &S) {
    let fixture = fixture();
    let mut group = c.benchmark_group(group_name);
    for operation in [Operation::Get, Operation::Set] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{}/1t", operation.name()), |b| {
            let mut worker = store.worker();
            let mut start = 0;
            b.iter_custom(|iters| {
                let begin = std::time::Instant::now();
                run(&mut worker, fixture, operation, start, iters);
                start = start.wrapping_add(iters as usize);
                begin.elapsed()
            });
        });
        group.throughput(Throughput::Elements(2));
        group.bench_function(format!("{}/2t", operation.name()), |b| {
            b.iter_custom(|iters| {
                run_parallel(2, |thread| {
                    let mut worker = store.worker();
                    run(&mut worker, fixture, operation, thread * (ORDER_LEN / 2), iters);
                })
            });
        });
    }
    group.finish();
}

/// The typed API: `Engine::get` / `Engine::set`, an engine clone per thread.
mod typed {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        bench_store(c, "typed", &MemoraTyped(fixture().engine.clone()));
    }
}

/// `Session::execute(argv)`, a session per thread, argv borrowed from the fixture.
mod execute {
    use super::*;

    pub(crate) fn bench(c: &mut Criterion) {
        bench_store(c, "execute", &MemoraExecute(fixture().engine.clone()));
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
    targets = typed::bench, execute::bench
}
criterion_main!(benches);
