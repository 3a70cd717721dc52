//! Guards `Engine::used_memory` (and so every value's `heap_bytes`) against a counting global
//! allocator: for strings of each kind and every collection in its compact and large forms,
//! the bytes the engine says it gained while filling (and, for large collections, lost while
//! deleting) must be within 2% of the bytes the allocator saw (the issue asks for 10%; every
//! case measures within 0.1%).
//!
//! Slot pages come from a process-wide pool of 2 MiB chunks that are never freed (see
//! `keyspace/pages.rs`), so the allocator cannot see which engine holds them: the pool is
//! filled once, before any measurement, and each key is charged one 64-byte slot on the
//! allocator's side.

#![expect(unsafe_code, reason = "a counting GlobalAlloc wrapper around System needs `unsafe impl`")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use memora_engine::{Engine, Reply, Session};

/// Requested bytes currently allocated, by every thread.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live requested bytes.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// returned memory and its contract are System's; the counter is a plain atomic and never
// allocates. Exercised by every test below (and `the_allocator_counts_live_bytes`).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s conditions (a non-zero size),
        // which are exactly `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`, hence from `System` with
        // `layout`, since every allocation here is forwarded to it.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout` (as in `dealloc`) and the caller
        // guarantees `new_size` is valid for `layout`'s alignment.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        new_ptr
    }
}

/// Held by each test while it measures, so that no other test's allocations land in its
/// deltas.
static MEASURING: Mutex<()> = Mutex::new(());

/// Bytes of one key's slot, taken from the page pool.
const SLOT_BYTES: usize = 64;

/// Keys the page pool is filled for: more than any test's engine holds at once.
const POOL_KEYS: usize = 150_000;

/// Takes the measuring lock, first filling the page pool so that no test's engine allocates
/// a chunk (a dropped engine gives its pages back to the pool).
fn measuring() -> MutexGuard<'static, ()> {
    static FILL_POOL: Once = Once::new();
    let guard = MEASURING.lock().unwrap_or_else(PoisonError::into_inner);
    FILL_POOL.call_once(|| {
        let engine = Engine::builder().stripes(1).databases(1).build();
        let mut session = Session::new(&engine);
        for from in (0..POOL_KEYS).step_by(1_000) {
            let pairs = (from..from + 1_000).flat_map(|i| [format!("pool:{i}"), "x".to_string()]);
            run(&mut session, &argv(&["MSET"], pairs));
        }
    });
    guard
}

/// Largest allowed gap between the engine's and the allocator's figures, as a fraction of the
/// allocator's.
const TOLERANCE: f64 = 0.02;

/// An engine small enough in fixed structures that the data dominates, with one command of
/// every family already run (lazily built state is not part of any delta).
fn engine_and_session() -> (Engine, Session) {
    let engine = Engine::builder().stripes(4).databases(1).build();
    let mut session = Session::new(&engine);
    for argv in [
        &["SET", "warm:s", "x"][..],
        &["RPUSH", "warm:l", "x"],
        &["SADD", "warm:t", "x"],
        &["HSET", "warm:h", "f", "v"],
        &["ZADD", "warm:z", "1", "m"],
    ] {
        run(&mut session, argv);
    }
    (engine, session)
}

fn run<A: AsRef<[u8]>>(session: &mut Session, argv: &[A]) -> Reply {
    let reply = session.execute(argv);
    if let Reply::Error(error) = &reply {
        let command: Vec<String> =
            argv.iter().take(3).map(|a| String::from_utf8_lossy(a.as_ref()).into()).collect();
        panic!("{command:?}: {error}");
    }
    reply
}

/// The allocator's and the engine's byte counts, now.
fn snapshot(engine: &Engine) -> (usize, u64) {
    let used = engine.used_memory();
    (LIVE_BYTES.load(Ordering::Relaxed), used)
}

/// Checks that the engine's byte change between `before` and `after` is within
/// [`TOLERANCE`] of the allocator's plus `slots` slots from the pool; `units` scales the
/// per-unit figures printed.
fn assert_close(case: &str, before: (usize, u64), after: (usize, u64), slots: isize, units: usize) {
    let allocated = after.0 as f64 - before.0 as f64 + (slots * SLOT_BYTES as isize) as f64;
    let reported = after.1 as f64 - before.1 as f64;
    let gap = (reported - allocated) / allocated.abs();
    println!(
        "{case:<44} allocator {:>12.0} B ({:>7.1}/unit)  used_memory {:>12.0} B ({:>7.1}/unit)  gap {:>+6.1}%",
        allocated,
        allocated / units as f64,
        reported,
        reported / units as f64,
        gap * 100.0
    );
    assert!(gap.abs() <= TOLERANCE, "{case}: used_memory moved {reported} B, the allocator {allocated} B");
}

/// Fills a fresh engine with `fill`, which adds `keys` keys, and compares the deltas; returns
/// the engine, its session and the snapshot after filling, for a delete-side check.
fn check_fill(
    case: &str,
    keys: usize,
    units: usize,
    fill: impl FnOnce(&mut Session),
) -> (Engine, Session, (usize, u64)) {
    let (engine, mut session) = engine_and_session();
    let before = snapshot(&engine);
    fill(&mut session);
    let after = snapshot(&engine);
    assert_close(case, before, after, keys as isize, units);
    (engine, session, after)
}

/// Deletes `keys` and compares the deltas with the state `before` (after the fill). The
/// stripes keep their pages, so no slot bytes come back.
fn check_delete(case: &str, engine: &Engine, session: &mut Session, before: (usize, u64), keys: &[String]) {
    for key in keys {
        assert_eq!(run(session, &["DEL", key.as_str()]), Reply::Integer(1), "{key}");
    }
    let after = snapshot(engine);
    assert_close(case, before, after, 0, keys.len());
}

fn encoding(session: &mut Session, key: &str) -> String {
    match run(session, &["OBJECT", "ENCODING", key]) {
        Reply::Bulk(name) => String::from_utf8_lossy(&name).into_owned(),
        other => panic!("OBJECT ENCODING {key}: {other:?}"),
    }
}

/// A printable value of `len` bytes, different for each `i`.
fn value(i: usize, len: usize) -> String {
    let mut out = format!("v{i:09}:");
    while out.len() < len {
        out.push(char::from(b'a' + (out.len() % 26) as u8));
    }
    out.truncate(len);
    out
}

/// Sets `count` string keys named by `key` to values made by `value_of`.
fn fill_strings(
    session: &mut Session,
    count: usize,
    key: impl Fn(usize) -> String,
    value_of: impl Fn(usize) -> String,
) {
    for i in 0..count {
        run(session, &["SET".to_string(), key(i), value_of(i)]);
    }
}

fn short_key(i: usize) -> String {
    format!("key:{i:08}")
}

fn check_strings(
    case: &str,
    count: usize,
    key: impl Fn(usize) -> String,
    value_of: impl Fn(usize) -> String,
) {
    let _guard = measuring();
    check_fill(case, count, count, |s| fill_strings(s, count, key, value_of));
}

#[test]
fn the_allocator_counts_live_bytes() {
    let _guard = measuring();
    // Other threads of the test harness allocate and free meanwhile: allow them 256 KiB.
    const SLACK: isize = 256 << 10;
    let live = || LIVE_BYTES.load(Ordering::Relaxed) as isize;
    let before = live();
    let mut buffer = Vec::<u8>::with_capacity(1 << 20);
    assert!(live() >= before + (1 << 20) - SLACK);
    buffer.reserve_exact(3 << 20);
    assert!(live() >= before + (3 << 20) - SLACK);
    drop(buffer);
    assert!(live() < before + SLACK);
}

#[test]
fn short_inline_strings() {
    check_strings("100k short strings (inline)", 100_000, short_key, |i| value(i, 8));
}

#[test]
fn hundred_byte_strings() {
    check_strings("100k strings of 100 B", 100_000, short_key, |i| value(i, 100));
}

#[test]
fn thousand_byte_strings() {
    check_strings("30k strings of 1000 B", 30_000, short_key, |i| value(i, 1000));
}

#[test]
fn integer_strings() {
    check_strings("100k integer strings", 100_000, short_key, |i| (i * 7919).to_string());
}

#[test]
fn long_keys() {
    let long_key = |i: usize| format!("{:0>60}", format!("long-key:{i}"));
    check_strings("100k 60 B keys, short values", 100_000, long_key, |i| value(i, 8));
}

/// `count` keys named `prefix:N`, each given `per_key` elements by `add`, which returns the
/// argv adding elements `from..to` to a key.
fn fill_keys(
    session: &mut Session,
    prefix: &str,
    count: usize,
    per_key: usize,
    add: &impl Fn(&str, std::ops::Range<usize>) -> Vec<String>,
) -> Vec<String> {
    let keys: Vec<String> = (0..count).map(|k| format!("{prefix}:{k}")).collect();
    for key in &keys {
        for from in (0..per_key).step_by(100) {
            run(session, &add(key, from..(from + 100).min(per_key)));
        }
    }
    keys
}

/// One collection case: many keys of few elements (compact form) and few keys of many
/// (large form), each in a fresh engine; the large one is then deleted.
fn check_collection(
    family: &str,
    compact: &str,
    large: &str,
    add: impl Fn(&str, std::ops::Range<usize>) -> Vec<String>,
) {
    let _guard = measuring();
    let case = format!("{family}: 40k keys x 5 ({compact})");
    check_fill(&case, 40_000, 200_000, |s| {
        let keys = fill_keys(s, family, 40_000, 5, &add);
        assert_eq!(encoding(s, &keys[0]), compact);
    });
    let mut keys = Vec::new();
    let case = format!("{family}: 4 keys x 50k ({large})");
    let (engine, mut session, filled) = check_fill(&case, 4, 200_000, |s| {
        keys = fill_keys(s, family, 4, 50_000, &add);
        assert_eq!(encoding(s, &keys[0]), large);
    });
    let case = format!("{family}: deleting the 4 keys");
    check_delete(&case, &engine, &mut session, filled, &keys);
}

fn argv(head: &[&str], rest: impl Iterator<Item = String>) -> Vec<String> {
    head.iter().map(|s| (*s).to_string()).chain(rest).collect()
}

/// A value of `len` hex digits that LZ4 cannot shrink much (list nodes then stay raw).
fn noisy_value(i: usize, len: usize) -> String {
    let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(&format!("{state:016x}"));
    }
    out.truncate(len);
    out
}

#[test]
fn lists() {
    check_collection("list", "listpack", "quicklist", |key, range| {
        argv(&["RPUSH", key], range.map(|i| noisy_value(i, 32)))
    });
}

#[test]
fn lists_with_compressed_nodes() {
    let _guard = measuring();
    let mut keys = Vec::new();
    let case = "list: 4 keys x 50k, compressible";
    let (engine, mut session, filled) = check_fill(case, 4, 200_000, |s| {
        let add =
            |key: &str, range: std::ops::Range<usize>| argv(&["RPUSH", key], range.map(|i| value(i, 32)));
        keys = fill_keys(s, "zlist", 4, 50_000, &add);
    });
    check_delete("list, compressible: deleting the 4 keys", &engine, &mut session, filled, &keys);
}

#[test]
fn sets_of_strings() {
    check_collection("set", "listpack", "hashtable", |key, range| {
        argv(&["SADD", key], range.map(|i| format!("member:{i:08}")))
    });
}

#[test]
fn sets_of_integers() {
    let _guard = measuring();
    check_fill("intset: 40k keys x 5", 40_000, 200_000, |s| {
        let add = |key: &str, range: std::ops::Range<usize>| {
            argv(&["SADD", key], range.map(|i| (i * 13).to_string()))
        };
        let keys = fill_keys(s, "intset", 40_000, 5, &add);
        assert_eq!(encoding(s, &keys[0]), "intset");
    });
}

#[test]
fn hashes() {
    check_collection("hash", "listpack", "hashtable", |key, range| {
        let pairs = range.flat_map(|i| [format!("field:{i:07}"), value(i, 32)]);
        argv(&["HSET", key], pairs)
    });
}

#[test]
fn hashes_with_field_ttls() {
    let _guard = measuring();
    let mut keys = Vec::new();
    let (engine, mut session, filled) =
        check_fill("hash: 4 keys x 50k, every field with a TTL", 4, 200_000, |s| {
            let add = |key: &str, range: std::ops::Range<usize>| {
                argv(&["HSET", key], range.flat_map(|i| [format!("field:{i:07}"), value(i, 32)]))
            };
            keys = fill_keys(s, "hashttl", 4, 50_000, &add);
            for key in &keys {
                for from in (0..50_000).step_by(100) {
                    let fields = (from..from + 100).map(|i| format!("field:{i:07}"));
                    run(s, &argv(&["HEXPIRE", key, "100000", "FIELDS", "100"], fields));
                }
            }
        });
    check_delete("hash with TTLs: deleting the 4 keys", &engine, &mut session, filled, &keys);
}

#[test]
fn sorted_sets() {
    check_collection("zset", "listpack", "skiplist", |key, range| {
        let pairs = range.flat_map(|i| [((i * 7919) % 100_003).to_string(), format!("member:{i:08}")]);
        argv(&["ZADD", key], pairs)
    });
}
