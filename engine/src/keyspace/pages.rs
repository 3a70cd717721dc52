//! Slot pages carved from 2 MiB chunks that the kernel may back with transparent huge pages.
//!
//! Uniform lookups over a keyspace much larger than the caches are bound by the slot access,
//! and on 4 KiB pages most of that is a TLB miss (the slots of 1M keys span 16K pages; a
//! page walk in a VM is expensive). Every stripe of every engine takes its 4 KiB pages of
//! slots from one process-wide pool of 2 MiB-aligned chunks, advised `MADV_HUGEPAGE` on Linux,
//! so that a huge page covers 512 slot pages.
//!
//! Chunks are never returned to the allocator: a dropped stripe (FLUSHDB, a dropped engine)
//! gives its pages back to the pool, where the next stripe that grows takes them. Memory
//! reporting counts the pages stripes hold, not the pool's spare ones.

use std::alloc::{Layout, alloc, handle_alloc_error};

use parking_lot::Mutex;

use super::slot::Slot;

/// Slots per page: 64 slots of 64 bytes, one 4 KiB page.
pub(crate) const PAGE_SLOTS: usize = 64;
/// Bytes per chunk: one huge page.
const CHUNK_BYTES: usize = 2 << 20;
/// Pages per chunk.
const CHUNK_PAGES: usize = CHUNK_BYTES / std::mem::size_of::<[Slot; PAGE_SLOTS]>();

/// A page of slots, owned by one stripe until given back.
pub(crate) type Page = &'static mut [Slot; PAGE_SLOTS];

/// Pages no stripe holds.
static SPARE: Mutex<Vec<Page>> = Mutex::new(Vec::new());

/// A page of free slots.
pub(crate) fn take() -> Page {
    let mut spare = SPARE.lock();
    if let Some(page) = spare.pop() {
        return page;
    }
    let chunk = new_chunk();
    let mut pages = chunk.iter_mut();
    let first = pages.next();
    spare.extend(pages);
    match first {
        Some(page) => page,
        // CHUNK_PAGES is 512: a chunk always has a first page.
        None => unreachable!("a chunk holds {CHUNK_PAGES} pages"),
    }
}

/// Returns a page to the pool, its slots reset to free.
pub(crate) fn give_back(page: Page) {
    for slot in page.iter_mut() {
        *slot = Slot::free();
    }
    SPARE.lock().push(page);
}

/// A fresh chunk of free-slot pages, leaked for the life of the process (see the module
/// docs). The memory is advised before it is first written, so that the first touch of each
/// 2 MiB faults in a huge page (zeroing it first would fault in 4 KiB pages).
#[expect(unsafe_code, reason = "an aligned allocation initialised as slot pages, and madvise")]
fn new_chunk() -> &'static mut [[Slot; PAGE_SLOTS]; CHUNK_PAGES] {
    const _: () = assert!(CHUNK_PAGES * std::mem::size_of::<[Slot; PAGE_SLOTS]>() == CHUNK_BYTES);
    let Ok(layout) = Layout::from_size_align(CHUNK_BYTES, CHUNK_BYTES) else {
        unreachable!("2 MiB is a valid size and alignment")
    };
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { alloc(layout) };
    if ptr.is_null() {
        handle_alloc_error(layout);
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `ptr..ptr + CHUNK_BYTES` is one allocation we own; MADV_HUGEPAGE only changes
    // how the kernel backs it and cannot affect memory safety (an error, e.g. THP disabled,
    // is ignored: the chunk then uses ordinary pages).
    unsafe {
        libc::madvise(ptr.cast(), CHUNK_BYTES, libc::MADV_HUGEPAGE);
    }
    let slots = ptr.cast::<Slot>();
    for i in 0..CHUNK_BYTES / std::mem::size_of::<Slot>() {
        // SAFETY: `i` slots of 64 bytes stay inside the CHUNK_BYTES allocation, which is
        // aligned to 2 MiB (more than `Slot`'s 64); writing initialises without reading.
        unsafe { slots.add(i).write(Slot::free()) };
    }
    // SAFETY: every slot of the CHUNK_BYTES allocation was initialised above, and it holds
    // exactly CHUNK_PAGES arrays of slots; the memory is never freed, so `'static` holds, and
    // this is the only reference to it.
    unsafe { &mut *ptr.cast::<[[Slot; PAGE_SLOTS]; CHUNK_PAGES]>() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pages_hold_free_slots() {
        let page = take();
        assert!(
            page.iter().all(|slot| !slot.is_occupied() && slot.meta() == 0 && slot.expire_at_ms().is_none())
        );
        let free = Slot::free();
        assert_eq!(format!("{free:?}"), format!("{:?}", page[0]));
        give_back(page);
    }

    #[test]
    fn pages_are_distinct_aligned_and_reused() {
        let pages: Vec<Page> = (0..CHUNK_PAGES + 3).map(|_| take()).collect();
        let mut addresses: Vec<usize> = pages.iter().map(|p| p.as_ptr() as usize).collect();
        assert!(addresses.iter().all(|a| a % 4096 == 0), "pages are 4 KiB aligned");
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), CHUNK_PAGES + 3, "no page is handed out twice");
        let first = pages[0].as_ptr() as usize;
        for page in pages {
            give_back(page);
        }
        let again: Vec<Page> = (0..CHUNK_PAGES + 3).map(|_| take()).collect();
        assert!(again.iter().any(|p| p.as_ptr() as usize == first), "given-back pages are reused");
        for page in again {
            give_back(page);
        }
    }
}
