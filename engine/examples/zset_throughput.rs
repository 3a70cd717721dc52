//! One-thread, in-process sorted set throughput at 1M members of 14 bytes in one key: ZADD
//! (random scores), ZRANK, ZSCORE and ZINCRBY through the typed API.
//!
//! `cargo run --release -p memora-engine --example zset_throughput [members]`

use std::time::Instant;

use memora_engine::{Engine, ZAddOptions};

fn main() {
    let members: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let engine = Engine::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let scores: Vec<f64> = (0..members).map(|_| (next() % 1_000_000_000) as f64 / 7.0).collect();

    let started = Instant::now();
    for (i, score) in scores.iter().enumerate() {
        engine.zadd(b"z", ZAddOptions::default(), &[(*score, name(i))]).expect("zadd");
    }
    report("ZADD", members, started);

    let order: Vec<usize> = (0..members).map(|_| (next() % members as u64) as usize).collect();
    let started = Instant::now();
    let mut sum = 0usize;
    for &i in &order {
        sum += engine.zrank(b"z", name(i), false).expect("zrank").map_or(0, |(rank, _)| rank);
    }
    report("ZRANK", members, started);

    let started = Instant::now();
    let mut total = 0.0;
    for &i in &order {
        total += engine.zscore(b"z", name(i)).expect("zscore").unwrap_or(0.0);
    }
    report("ZSCORE", members, started);

    let started = Instant::now();
    for (i, &at) in order.iter().enumerate().take(members / 10) {
        engine.zincrby(b"z", (i % 100) as f64, name(at)).expect("zincrby");
    }
    report("ZINCRBY", members / 10, started);
    println!("(checksums {sum} {total}; bytes a member: the `large_form_memory_per_member` test)");
}

/// The member for `i`: `member:` and 7 digits (14 bytes), built on the stack so the loop
/// measures the engine rather than cache misses on a table of names.
fn name(i: usize) -> [u8; 14] {
    let mut out = *b"member:0000000";
    let mut n = i;
    for at in (7..14).rev() {
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

fn report(what: &str, ops: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!("{what:8} {ops} ops in {secs:.3} s: {:.2} M ops/s", ops as f64 / secs / 1e6);
}
