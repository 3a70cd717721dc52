//! Criterion benchmark of PUBLISH through the typed API, in process.
//!
//! Dimensions: subscribers to the channel (1, 10, 100). One publisher thread (criterion's)
//! publishes a 32 B payload to one channel; one drain thread owns every subscriber and empties
//! their queues in a loop, so queues stay short (the machine has 2 cores: one each). The
//! subscribers' buffer limit is lifted so that a drain thread falling behind cannot turn
//! deliveries into cheap drops; the count of messages drained is checked at the end.
//! Throughput is in PUBLISH calls; deliveries are that times the subscriber count.
//!
//! ```text
//! cargo bench -p memora-benches --bench pubsub [-- FILTER]
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memora_engine::{BufferLimit, Engine};

/// Subscriber counts benchmarked.
const SUBSCRIBERS: [usize; 3] = [1, 10, 100];
/// The payload published.
const PAYLOAD: [u8; 32] = [b'p'; 32];

fn publish(c: &mut Criterion) {
    let mut group = c.benchmark_group("pubsub");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    for subscribers in SUBSCRIBERS {
        let engine = Engine::builder()
            .pubsub_buffer_limit(BufferLimit { hard_bytes: 0, soft_bytes: 0, soft_secs: 0 })
            .build();
        let mut subs: Vec<_> = (0..subscribers)
            .map(|_| {
                let mut s = engine.subscriber();
                s.subscribe(&["bench"]);
                s
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let drained = Arc::new(AtomicU64::new(0));
        let drain = {
            let (stop, drained) = (Arc::clone(&stop), Arc::clone(&drained));
            std::thread::spawn(move || {
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut idle = true;
                    for sub in &mut subs {
                        while let Ok(Some(message)) = sub.try_recv() {
                            black_box(message);
                            count += 1;
                            idle = false;
                        }
                    }
                    if idle {
                        std::thread::yield_now();
                    }
                }
                for sub in &mut subs {
                    while let Ok(Some(_)) = sub.try_recv() {
                        count += 1;
                    }
                }
                drained.store(count, Ordering::Relaxed);
            })
        };
        let mut published = 0u64;
        group.bench_function(format!("publish/{subscribers}"), |b| {
            b.iter(|| {
                published += 1;
                black_box(engine.publish(b"bench", PAYLOAD))
            })
        });
        stop.store(true, Ordering::Relaxed);
        drain.join().expect("drain thread");
        let drained = drained.load(Ordering::Relaxed);
        assert_eq!(drained, published * subscribers as u64, "every delivery drained");
    }
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
