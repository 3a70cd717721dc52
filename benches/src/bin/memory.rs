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
//! ```text
//! cargo run --release -p memora-benches --bin memory [-- --keys N] [--system NAME]
//! ```

#![expect(unsafe_code, reason = "a counting GlobalAlloc wrapper around System needs `unsafe impl`")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};

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
}

impl Measurement {
    /// One line on stdout for the parent to parse.
    fn to_line(self) -> String {
        format!(
            "RESULT entries={} heap_bytes={} peak_bytes={} allocations={} rss_bytes={}",
            self.entries, self.heap_bytes, self.peak_bytes, self.allocations, self.rss_bytes
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
                _ => return None,
            }
        }
        Some(m)
    }
}

/// Fills a fresh store with `keys` entries, then measures it (before dropping it).
struct Fill {
    keys: usize,
    heap_before: usize,
    allocations_before: usize,
    rss_before: usize,
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
        let measurement = Measurement {
            entries: store.len(),
            heap_bytes: CURRENT_BYTES.load(Ordering::Relaxed).saturating_sub(self.heap_before),
            peak_bytes: PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(self.heap_before),
            allocations: LIVE_ALLOCATIONS.load(Ordering::Relaxed).saturating_sub(self.allocations_before),
            rss_bytes: rss_bytes().unwrap_or(0).saturating_sub(self.rss_before),
        };
        // Keep the store alive until measured; dropping a million entries is not measured.
        std::mem::forget(store);
        measurement
    }
}

/// Child mode: measures one system.
fn measure(kind: SystemKind, keys: usize) -> Measurement {
    let fill = Fill {
        keys,
        heap_before: CURRENT_BYTES.load(Ordering::Relaxed),
        allocations_before: LIVE_ALLOCATIONS.load(Ordering::Relaxed),
        rss_before: rss_bytes().unwrap_or(0),
    };
    reset_peak();
    // Room for every key plus slack, so the caches never evict (and are not over-sized).
    kind.build(keys + keys / 16, fill)
}

/// Parent mode: runs `memory --system NAME` for every system and prints the table.
fn measure_all(keys: usize) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    println!(
        "{keys} entries of {KEY_LEN} B keys and {VALUE_LEN} B values ({} B payload per entry)\n",
        KEY_LEN + VALUE_LEN
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "system", "heap B/e", "peak B/e", "allocs/e", "RSS B/e", "entries"
    );
    for kind in SYSTEMS {
        let output = Command::new(&exe)
            .args(["--system", kind.name(), "--keys", &keys.to_string()])
            .output()
            .map_err(|e| format!("running {}: {e}", kind.name()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(m) = stdout.lines().find_map(Measurement::from_line) else {
            return Err(format!(
                "{} printed no result: {}",
                kind.name(),
                String::from_utf8_lossy(&output.stderr)
            ));
        };
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

fn main() -> ExitCode {
    let mut system = None;
    let mut keys = DEFAULT_KEY_COUNT;
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        match (flag.as_str(), argv.next()) {
            ("--system", Some(name)) => match SystemKind::parse(&name) {
                Some(kind) => system = Some(kind),
                None => {
                    eprintln!("unknown system {name}");
                    return ExitCode::from(2);
                }
            },
            ("--keys", Some(n)) if n.parse::<usize>().is_ok_and(|n| n > 0) => {
                keys = n.parse().unwrap_or(keys)
            }
            _ => {
                eprintln!("usage: memory [--keys N] [--system NAME]");
                return ExitCode::from(2);
            }
        }
    }
    match system {
        Some(kind) => {
            println!("{}", measure(kind, keys).to_line());
            ExitCode::SUCCESS
        }
        None => match measure_all(keys) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        },
    }
}
