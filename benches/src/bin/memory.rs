//! `memory`: bytes per entry of Memora and its peers, after inserting 1M entries of 16 B keys
//! and 32 B values (48 B of payload per entry).
//!
//! Two measures per system:
//! - heap bytes, from a counting global allocator: requested bytes still live after the
//!   inserts, divided by the entry count (so it includes each system's fixed overhead, tables
//!   at their load factor and per-entry boxes, but not malloc's own per-chunk headers);
//! - RSS growth, from `/proc/self/statm`, which does include malloc's overhead and
//!   fragmentation.
//!
//! Each system runs in a child process of its own (`memory --system NAME`), so RSS starts
//! clean; without `--system` the binary runs every system that way and prints a table.
//!
//! With `--collections`, it measures instead one key holding 1M elements of each collection
//! family (see `memora_benches::collections`), filled one command per element, each family
//! in child processes of its own (`memory --collection NAME`), `--runs` times (default 3),
//! and prints the median bytes per element against Redis's figure for the same data (target:
//! at most 0.8x), then the one-thread throughput of filling, looking up and updating each
//! collection, with the sorted-set targets (ZADD >= 0.7M ops/s, ZRANK >= 1M ops/s). The
//! throughput runs through the counting allocator (a few relaxed atomic adds per allocation).
//!
//! ```text
//! cargo run --release -p memora-benches --bin memory [-- --keys N] [--system NAME]
//! cargo run --release -p memora-benches --bin memory -- --collections [--elements N] [--runs N]
//! cargo run --release -p memora-benches --bin memory -- --collection zset   # one family, raw line
//! ```

#![expect(unsafe_code, reason = "a counting GlobalAlloc wrapper around System needs `unsafe impl`")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use memora_benches::collections::Collection;
use memora_benches::systems::{Store, StoreVisitor, SystemKind, Worker};
use memora_benches::workload::{DEFAULT_KEY_COUNT, KEY_LEN, VALUE_LEN, write_key, write_value};

/// Systems measured, in table order.
const SYSTEMS: [SystemKind; 7] = [
    SystemKind::Memora,
    SystemKind::MemoraDb1,
    SystemKind::MemoraTtl,
    SystemKind::DashMap,
    SystemKind::Scc,
    SystemKind::Moka,
    SystemKind::QuickCache,
];
/// The target for Memora, in heap bytes per entry (README "Targets").
const TARGET_BYTES_PER_ENTRY: f64 = 80.0;
/// The target for collections: at most this fraction of Redis's bytes per element.
const TARGET_REDIS_RATIO: f64 = 0.8;
/// The target for ZADD on a sorted set of 1M members, in operations per second.
const TARGET_ZADD_OPS: f64 = 700_000.0;
/// The target for ZRANK on a sorted set of 1M members, in operations per second.
const TARGET_ZRANK_OPS: f64 = 1_000_000.0;

/// Requested bytes currently allocated.
static CURRENT_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Highest `CURRENT_BYTES` since the last [`reset_peak`].
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Allocations currently live.
static LIVE_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes and allocations.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn record_alloc(size: usize) {
    let current = CURRENT_BYTES.fetch_add(size, Ordering::Relaxed) + size;
    PEAK_BYTES.fetch_max(current, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

fn record_free(size: usize) {
    CURRENT_BYTES.fetch_sub(size, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
}

fn reset_peak() {
    PEAK_BYTES.store(CURRENT_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// returned memory and its contract are System's; the counters are plain atomics and never
// allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s conditions (a non-zero size),
        // which are exactly `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`, hence from `System` with
        // `layout`, since every allocation here is forwarded to it.
        unsafe { System.dealloc(ptr, layout) };
        record_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout` (as in `dealloc`) and the caller
        // guarantees `new_size` is valid for `layout`'s alignment.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            record_free(layout.size());
            record_alloc(new_size);
        }
        new_ptr
    }
}

/// Resident set size in bytes, from `/proc/self/statm` (its second field, in pages).
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    rustix::param::page_size()
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> usize {
    4096
}

/// What one child process measured.
#[derive(Debug, Clone, Copy, Default)]
struct Measurement {
    entries: usize,
    heap_bytes: usize,
    peak_bytes: usize,
    allocations: usize,
    rss_bytes: usize,
    /// Collections only: time to fill, to run one lookup per element, and to run one update
    /// per element, in nanoseconds.
    fill_ns: usize,
    lookup_ns: usize,
    update_ns: usize,
}

impl Measurement {
    /// One line on stdout for the parent to parse.
    fn to_line(self) -> String {
        format!(
            "RESULT entries={} heap_bytes={} peak_bytes={} allocations={} rss_bytes={} fill_ns={} \
             lookup_ns={} update_ns={}",
            self.entries,
            self.heap_bytes,
            self.peak_bytes,
            self.allocations,
            self.rss_bytes,
            self.fill_ns,
            self.lookup_ns,
            self.update_ns
        )
    }

    fn from_line(line: &str) -> Option<Measurement> {
        let mut m = Measurement::default();
        for field in line.strip_prefix("RESULT ")?.split_whitespace() {
            let (name, value) = field.split_once('=')?;
            let value: usize = value.parse().ok()?;
            match name {
                "entries" => m.entries = value,
                "heap_bytes" => m.heap_bytes = value,
                "peak_bytes" => m.peak_bytes = value,
                "allocations" => m.allocations = value,
                "rss_bytes" => m.rss_bytes = value,
                "fill_ns" => m.fill_ns = value,
                "lookup_ns" => m.lookup_ns = value,
                "update_ns" => m.update_ns = value,
                _ => return None,
            }
        }
        Some(m)
    }
}

/// The counters at the start of a measurement.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    heap_bytes: usize,
    allocations: usize,
    rss_bytes: usize,
}

impl Baseline {
    /// Reads the counters now and restarts the peak from here.
    fn take() -> Baseline {
        let baseline = Baseline {
            heap_bytes: CURRENT_BYTES.load(Ordering::Relaxed),
            allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed),
            rss_bytes: rss_bytes().unwrap_or(0),
        };
        reset_peak();
        baseline
    }

    /// What was added since the baseline, for `entries` entries.
    fn measure(self, entries: usize) -> Measurement {
        Measurement {
            entries,
            heap_bytes: CURRENT_BYTES.load(Ordering::Relaxed).saturating_sub(self.heap_bytes),
            peak_bytes: PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(self.heap_bytes),
            allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed).saturating_sub(self.allocations),
            rss_bytes: rss_bytes().unwrap_or(0).saturating_sub(self.rss_bytes),
            ..Measurement::default()
        }
    }
}

/// Fills a fresh store with `keys` entries, then measures it (before dropping it).
struct Fill {
    keys: usize,
    baseline: Baseline,
}

impl StoreVisitor for Fill {
    type Output = Measurement;

    fn visit<S: Store + 'static>(self, store: S) -> Measurement {
        let (mut key, mut value) = ([0u8; KEY_LEN], [0u8; VALUE_LEN]);
        let mut worker = store.worker();
        for index in 0..self.keys {
            write_key(index, &mut key);
            write_value(index, &mut value);
            worker.set(&key, &value);
        }
        drop(worker);
        store.settle();
        let measurement = self.baseline.measure(store.len());
        // Keep the store alive until measured; dropping a million entries is not measured.
        std::mem::forget(store);
        measurement
    }
}

/// Child mode: measures one system.
fn measure(kind: SystemKind, keys: usize) -> Measurement {
    let fill = Fill { keys, baseline: Baseline::take() };
    // Room for every key plus slack, so the caches never evict (and are not over-sized).
    kind.build(keys + keys / 16, fill)
}

/// Runs this binary with `args` in a child process and parses its result line.
fn run_child(args: &[&str]) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let output = Command::new(&exe).args(args).output().map_err(|e| format!("running {args:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(Measurement::from_line)
        .ok_or_else(|| format!("{args:?} printed no result: {}", String::from_utf8_lossy(&output.stderr)))
}

/// Parent mode: runs `memory --system NAME` for every system and prints the table.
fn measure_all(keys: usize) -> Result<(), String> {
    println!(
        "{keys} entries of {KEY_LEN} B keys and {VALUE_LEN} B values ({} B payload per entry)\n",
        KEY_LEN + VALUE_LEN
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "system", "heap B/e", "peak B/e", "allocs/e", "RSS B/e", "entries"
    );
    for kind in SYSTEMS {
        let m = run_child(&["--system", kind.name(), "--keys", &keys.to_string()])?;
        let per = |bytes: usize| bytes as f64 / keys as f64;
        let mark = match kind {
            SystemKind::Memora | SystemKind::MemoraDb1 | SystemKind::MemoraTtl => {
                if per(m.heap_bytes) <= TARGET_BYTES_PER_ENTRY { "  <= 80 PASS" } else { "  > 80 MISS" }
            }
            _ => "",
        };
        println!(
            "{:<12} {:>10.1} {:>10.1} {:>10.2} {:>10.1} {:>10}{mark}",
            kind.name(),
            per(m.heap_bytes),
            per(m.peak_bytes),
            m.allocations as f64 / keys as f64,
            per(m.rss_bytes),
            m.entries
        );
    }
    Ok(())
}

/// Child mode for collections: fills one key of `collection` with `elements` elements,
/// measures its memory, then times one lookup and one update per element.
fn measure_collection(collection: Collection, elements: usize) -> Result<Measurement, String> {
    let engine = collection.engine();
    let fail = |e: memora_engine::Error| format!("{}: {e}", collection.name());
    let baseline = Baseline::take();
    let start = Instant::now();
    collection.fill(&engine, elements).map_err(fail)?;
    let fill_ns = start.elapsed().as_nanos() as usize;
    let mut m = baseline.measure(collection.len(&engine).map_err(fail)?);
    m.fill_ns = fill_ns;
    let start = Instant::now();
    let found = collection.lookup(&engine, elements, elements).map_err(fail)?;
    m.lookup_ns = start.elapsed().as_nanos() as usize;
    if found != elements {
        return Err(format!("{}: {found} of {elements} lookups found their element", collection.name()));
    }
    let start = Instant::now();
    collection.update(&engine, elements, elements).map_err(fail)?;
    m.update_ns = start.elapsed().as_nanos() as usize;
    // Dropping a million elements is not measured.
    std::mem::forget(engine);
    Ok(m)
}

/// The median of `field` over `runs` (the upper one of an even count).
fn median(runs: &[Measurement], field: impl Fn(&Measurement) -> usize) -> usize {
    let mut values: Vec<usize> = runs.iter().map(field).collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// "PASS" or "MISS".
fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// Parent mode for collections: `runs` child processes per family, median of each figure.
fn measure_collections(elements: usize, runs: usize) -> Result<(), String> {
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); Collection::ALL.len()];
    for run in 1..=runs {
        eprintln!("run {run}/{runs}");
        for (collection, results) in Collection::ALL.into_iter().zip(&mut results) {
            let m = run_child(&["--collection", collection.name(), "--elements", &elements.to_string()])?;
            if m.entries != elements {
                return Err(format!("{}: {} elements, expected {elements}", collection.name(), m.entries));
            }
            eprintln!("  {:<8} {}", collection.name(), m.to_line());
            results.push(m);
        }
    }
    let per = |bytes: usize| bytes as f64 / elements as f64;
    let mops = |ns: usize| if ns == 0 { 0.0 } else { elements as f64 * 1e3 / ns as f64 };
    println!("{elements} elements in one key, one command per element, median of {runs} run(s)\n");
    println!(
        "{:<8} {:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  target",
        "type", "element", "heap B/e", "peak B/e", "allocs/e", "RSS B/e", "redis B/e", "m/redis"
    );
    for (collection, runs) in Collection::ALL.into_iter().zip(&results) {
        let heap = per(median(runs, |m| m.heap_bytes));
        let ratio = heap / collection.redis_bytes_per_element();
        println!(
            "{:<8} {:<26} {:>9.1} {:>9.1} {:>9.2} {:>9.1} {:>9.1} {:>8.2}x  <= {TARGET_REDIS_RATIO:.2}x {}",
            collection.name(),
            collection.element(),
            heap,
            per(median(runs, |m| m.peak_bytes)),
            median(runs, |m| m.allocations) as f64 / elements as f64,
            per(median(runs, |m| m.rss_bytes)),
            collection.redis_bytes_per_element(),
            ratio,
            verdict(ratio <= TARGET_REDIS_RATIO)
        );
    }
    println!("\none thread, M ops/s (fill: into a growing key; lookup and update: random elements)\n");
    println!("{:<8} {:>19} {:>19} {:>19}", "type", "fill", "lookup", "update");
    for (collection, runs) in Collection::ALL.into_iter().zip(&results) {
        let [fill, lookup, update] = collection.commands();
        println!(
            "{:<8} {fill:>12} {:>6.2} {lookup:>12} {:>6.2} {update:>12} {:>6.2}",
            collection.name(),
            mops(median(runs, |m| m.fill_ns)),
            mops(median(runs, |m| m.lookup_ns)),
            mops(median(runs, |m| m.update_ns)),
        );
    }
    let zset = &results[0];
    let checks = [
        ("ZADD of new members (fill)", median(zset, |m| m.fill_ns), TARGET_ZADD_OPS),
        ("ZADD of new scores (full)", median(zset, |m| m.update_ns), TARGET_ZADD_OPS),
        ("ZRANK (full)", median(zset, |m| m.lookup_ns), TARGET_ZRANK_OPS),
    ];
    println!();
    for (what, ns, target) in checks {
        let ops = mops(ns) * 1e6;
        println!("{what:<30} {:>6.2} M ops/s  >= {:.2} {}", ops / 1e6, target / 1e6, verdict(ops >= target));
    }
    Ok(())
}

/// What the command line asks for.
enum Mode {
    /// Every system, as a table.
    Systems,
    /// One system, a raw result line.
    System(SystemKind),
    /// Every collection family, as tables.
    Collections,
    /// One collection family, a raw result line.
    Collection(Collection),
}

const USAGE: &str = "usage: memory [--keys N] [--system NAME]\n       \
                     memory --collections [--elements N] [--runs N] | --collection NAME [--elements N]";

/// Parses the command line: the mode, the entry (or element) count and the run count.
fn parse_args() -> Result<(Mode, usize, usize), String> {
    let (mut mode, mut count, mut runs) = (Mode::Systems, DEFAULT_KEY_COUNT, 3);
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        if flag == "--collections" {
            mode = Mode::Collections;
            continue;
        }
        if !["--system", "--collection", "--keys", "--elements", "--runs"].contains(&flag.as_str()) {
            return Err(format!("unknown flag {flag}"));
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = value.parse::<usize>().ok().filter(|&n| n > 0);
        match flag.as_str() {
            "--system" => {
                mode = Mode::System(SystemKind::parse(&value).ok_or(format!("unknown system {value}"))?)
            }
            "--collection" => {
                mode =
                    Mode::Collection(Collection::parse(&value).ok_or(format!("unknown collection {value}"))?)
            }
            "--keys" | "--elements" => count = number.ok_or(format!("bad count {value}"))?,
            "--runs" => runs = number.ok_or(format!("bad run count {value}"))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((mode, count, runs))
}

fn main() -> ExitCode {
    let (mode, count, runs) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match mode {
        Mode::System(kind) => {
            println!("{}", measure(kind, count).to_line());
            Ok(())
        }
        Mode::Collection(collection) => {
            measure_collection(collection, count).map(|m| println!("{}", m.to_line()))
        }
        Mode::Systems => measure_all(count),
        Mode::Collections => measure_collections(count, runs),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
