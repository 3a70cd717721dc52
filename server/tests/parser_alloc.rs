//! Guards the parser's memory discipline: lengths a client merely claims (a million
//! arguments, a 512 MiB bulk) allocate nothing, and a pipeline of small commands parses
//! without allocating once the parser has warmed up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use memora_server::resp::{RequestParser, Step};

/// Counts bytes allocated. This file holds a single test, so no other test thread allocates
/// while it measures.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting.
#[expect(unsafe_code, reason = "a counting global allocator")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated_during(work: impl FnOnce()) -> usize {
    let before = ALLOCATED.load(Ordering::Relaxed);
    work();
    ALLOCATED.load(Ordering::Relaxed) - before
}

#[test]
fn claims_allocate_nothing_and_pipelines_parse_in_place() {
    const MAX: u64 = 512 * 1024 * 1024;
    let mut parser = RequestParser::new();
    let claim = b"*1048576\r\n$536870912\r\nabc";
    let bytes = allocated_during(|| assert_eq!(parser.parse(claim, MAX), Ok(Step::Incomplete)));
    assert!(bytes < 1024, "claimed lengths allocated {bytes} bytes");

    let mut pipeline = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{i:04}");
        pipeline.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
    }
    let mut parser = RequestParser::new();
    let parse_all = |parser: &mut RequestParser| {
        let mut pos = 0;
        let mut count = 0;
        while let Ok(Step::Command { consumed }) = parser.parse(&pipeline[pos..], MAX) {
            count += parser.args(&pipeline[pos..]).count();
            pos += consumed;
        }
        count
    };
    assert_eq!(parse_all(&mut parser), 2000);
    let bytes = allocated_during(|| assert_eq!(parse_all(&mut parser), 2000));
    assert_eq!(bytes, 0, "a warm parser allocates nothing for a pipeline");
}
