//! The process's memory allocator: mimalloc for the many small, short-lived allocations of
//! serving pages, the system allocator for large buffers.
//!
//! glibc's malloc spent about a fifth of an uncached page's CPU (arena locks between the async
//! workers and SQLite's connection threads, consolidating free lists); mimalloc's thread-local
//! heaps do the same work for far less. But mimalloc keeps freed memory in its arenas for reuse,
//! and an image decode's buffers (up to a few hundred MiB, freed on another thread than the next
//! decode's) then stayed resident: the parallel-upload check's peak went from ~335 to 410–500 MiB.
//! Large buffers therefore go to the system allocator, which maps the largest (image buffers of
//! tens of MiB and more) on their own and unmaps them when they are freed; smaller ones may stay
//! in its heap for reuse. The decode budget (`newsroom.decode_memory_mib`) then keeps bounding
//! what the process holds.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Allocations of at least this many bytes go to the system allocator, which maps the large ones
/// on their own (glibc's threshold starts at 128 KiB and rises to at most 32 MiB) and returns
/// them to the system when freed. A rendered page (about 20–40 KiB) and a database row stay
/// below it; 1 MiB was tried first and left the image decoders' medium buffers in mimalloc's
/// arenas (upload check peak 394–407 MiB against 369–388 MiB with 64 KiB and ~335 with glibc
/// alone).
pub const LARGE: usize = 64 << 10;

/// mimalloc below [`LARGE`], the system allocator from it on. Which of the two holds a block
/// follows from its size alone, which `dealloc` and `realloc` are given, so no bookkeeping is
/// needed.
pub struct SplitAllocator;

fn is_large(size: usize) -> bool {
    size >= LARGE
}

// SAFETY: every block is allocated and freed by the same allocator, chosen by its layout's size,
// and both allocators uphold `GlobalAlloc`'s contract; a `realloc` that crosses the threshold
// copies into a block of the other allocator and frees the old one.
unsafe impl GlobalAlloc for SplitAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { if is_large(layout.size()) { System.alloc(layout) } else { MiMalloc.alloc(layout) } }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { if is_large(layout.size()) { System.alloc_zeroed(layout) } else { MiMalloc.alloc_zeroed(layout) } }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the allocator that `layout.size()` selects (see `alloc`).
        unsafe { if is_large(layout.size()) { System.dealloc(ptr, layout) } else { MiMalloc.dealloc(ptr, layout) } }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (was_large, will_be_large) = (is_large(layout.size()), is_large(new_size));
        // SAFETY: as above; a block that changes sides is copied (the smaller of the two sizes)
        // into a new block from the other allocator before the old one is freed by its own.
        unsafe {
            match (was_large, will_be_large) {
                (false, false) => MiMalloc.realloc(ptr, layout, new_size),
                (true, true) => System.realloc(ptr, layout, new_size),
                _ => {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new_ptr = self.alloc(new_layout);
                    if !new_ptr.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new_ptr
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(size: usize) -> (*mut u8, Layout) {
        let layout = Layout::from_size_align(size, 16).expect("layout");
        let ptr = unsafe { SplitAllocator.alloc(layout) };
        assert!(!ptr.is_null());
        for i in 0..size {
            unsafe { ptr.add(i).write((i % 251) as u8) };
        }
        (ptr, layout)
    }

    fn assert_pattern(ptr: *const u8, len: usize) {
        for i in 0..len {
            assert_eq!(unsafe { ptr.add(i).read() }, (i % 251) as u8, "byte {i}");
        }
    }

    #[test]
    fn growing_across_the_threshold_keeps_the_contents() {
        let (ptr, layout) = filled(LARGE - 100);
        let grown = unsafe { SplitAllocator.realloc(ptr, layout, LARGE * 2) };
        assert!(!grown.is_null());
        assert_pattern(grown, LARGE - 100);
        unsafe { SplitAllocator.dealloc(grown, Layout::from_size_align(LARGE * 2, 16).expect("layout")) };
    }

    #[test]
    fn shrinking_across_the_threshold_keeps_what_fits() {
        let (ptr, layout) = filled(LARGE + 100);
        let shrunk = unsafe { SplitAllocator.realloc(ptr, layout, 1000) };
        assert!(!shrunk.is_null());
        assert_pattern(shrunk, 1000);
        unsafe { SplitAllocator.dealloc(shrunk, Layout::from_size_align(1000, 16).expect("layout")) };
    }

    #[test]
    fn alignment_is_kept_on_both_sides() {
        for size in [64, LARGE + 1] {
            let layout = Layout::from_size_align(size, 4096).expect("layout");
            let ptr = unsafe { SplitAllocator.alloc_zeroed(layout) };
            assert!(!ptr.is_null(), "size {size}");
            assert_eq!(ptr as usize % 4096, 0, "size {size}");
            assert!((0..size).all(|i| unsafe { ptr.add(i).read() } == 0));
            unsafe { SplitAllocator.dealloc(ptr, layout) };
        }
    }
}
