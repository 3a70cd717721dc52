//! Hints to the processor: they change no result, only when memory is fetched.

/// Asks the processor to start loading the cache line holding `ptr` into its caches: a hint
/// that changes nothing else and never faults.
#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(unsafe_code, reason = "the SSE prefetch intrinsic; see the SAFETY comment")]
pub(crate) fn prefetch<T>(ptr: *const T) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `_mm_prefetch` only requires SSE, part of the x86-64 target's baseline features.
    // A prefetch reads nothing the program sees and never faults, whatever the address; here
    // callers pass addresses inside live allocations. Exercised by the test below, by
    // `prefetching_changes_nothing` (sorted-set tree) and by every `Session::execute`.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) }
}

/// Asks the processor to start loading the cache line holding `ptr` (no-op off x86-64).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn prefetch<T>(_ptr: *const T) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefetch_leaves_memory_as_it_was() {
        let bytes: Vec<u8> = (0..=255).collect();
        for at in [0, 1, 63, 64, 255] {
            prefetch(&bytes[at]);
        }
        prefetch(bytes.as_ptr().wrapping_add(1 << 20));
        prefetch(std::ptr::null::<u8>());
        assert!(bytes.iter().enumerate().all(|(i, &b)| usize::from(b) == i));
    }
}
