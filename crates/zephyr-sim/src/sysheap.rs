//! The allocator behind `k_heap` (Zephyr's `sys_heap`, lib/os/heap.c, plays this part): first
//! fit over the heap's own memory, with its bookkeeping inside that memory.
//!
//! The memory is cut into blocks of whole units (`UNIT` = two words: 16 bytes on 64-bit hosts).
//! Each block starts with a one-unit header (its size in bytes and a tag, free or used); the
//! payload follows. Blocks tile the region from its first unit to its last, so walking them
//! from the start finds every one.
//!
//! ```text
//!  free ── alloc (fits: split off the front for alignment and the tail if a unit is left) ──► used
//!  used ── free ──► free; adjacent free blocks merge when an alloc walks over them
//! ```
//!
//! Costs: `alloc` O(blocks) (first fit, merging as it walks), `free` O(1). Not thread-safe by
//! itself: the kernel calls it inside its own borrow, as Zephyr holds the heap's spinlock.

use std::mem::size_of;

/// Bytes per unit: a block header (size and tag) and the least alignment of a payload.
pub const UNIT: usize = 2 * size_of::<usize>();
const FREE: usize = 0x4652_4545;
const USED: usize = 0x5553_4544;

/// The pointer to address `addr` inside the heap's memory, derived from `mem` (so it keeps the
/// memory's provenance: no integer-to-pointer cast, as miri's strict provenance checks).
fn at(mem: *mut u8, addr: usize) -> *mut u8 {
    mem.wrapping_add(addr.wrapping_sub(mem as usize))
}

/// The unit-aligned part of `bytes` bytes at `mem`: `(start, end)` addresses.
fn region(mem: *mut u8, bytes: usize) -> (usize, usize) {
    let m = mem as usize;
    let start = m.next_multiple_of(UNIT);
    let end = (m + bytes) & !(UNIT - 1);
    (start, end.max(start))
}

/// Sets up `bytes` bytes at `mem` as one free block (none if it has no room for a header and a
/// unit of payload).
///
/// # Safety
/// `mem` must be valid for writes of `bytes` bytes, owned by the heap from now on.
pub unsafe fn init(mem: *mut u8, bytes: usize) {
    let (start, end) = region(mem, bytes);
    if end - start >= 2 * UNIT {
        // SAFETY: `start` is inside the region, unit-aligned.
        unsafe { write(mem, start, end - start, FREE) };
    }
}

/// # Safety
/// `b` must be a unit-aligned address inside a heap's region.
unsafe fn write(mem: *mut u8, b: usize, size: usize, tag: usize) {
    let h = at(mem, b) as *mut usize;
    // SAFETY: caller's contract: two words at `b` belong to the heap.
    unsafe {
        h.write(size);
        h.add(1).write(tag);
    }
}

/// # Safety
/// As [`write`], at a block header.
unsafe fn read(mem: *mut u8, b: usize) -> (usize, usize) {
    let h = at(mem, b) as *const usize;
    // SAFETY: caller's contract.
    unsafe { (h.read(), h.add(1).read()) }
}

/// Allocates `size` bytes aligned to `align` (a power of two; at least [`UNIT`] is given), or
/// returns null if no free block can hold them.
///
/// # Safety
/// `mem`/`bytes` must be a heap set up by [`init`] and used only through this module since.
pub unsafe fn alloc(mem: *mut u8, bytes: usize, align: usize, size: usize) -> *mut u8 {
    assert!(align.is_power_of_two(), "heap alloc: align {align} is not a power of two");
    let align = align.max(UNIT);
    let Some(need) = size.max(1).checked_next_multiple_of(UNIT).and_then(|n| n.checked_add(UNIT))
    else {
        return std::ptr::null_mut();
    };
    let (start, end) = region(mem, bytes);
    let mut b = start;
    while end - b >= 2 * UNIT {
        // SAFETY: `b` is a block header (blocks tile the region); so is each merged neighbour.
        unsafe {
            let (mut bsize, tag) = read(mem, b);
            if tag == FREE {
                while b + bsize < end {
                    let (nsize, ntag) = read(mem, b + bsize);
                    if ntag != FREE {
                        break;
                    }
                    bsize += nsize;
                }
                write(mem, b, bsize, FREE);
                let payload = b + UNIT;
                let front = payload.next_multiple_of(align) - payload;
                if front + need <= bsize {
                    let (used, rest) = if front > 0 {
                        write(mem, b, front, FREE);
                        (b + front, bsize - front)
                    } else {
                        (b, bsize)
                    };
                    if rest - need >= 2 * UNIT {
                        write(mem, used, need, USED);
                        write(mem, used + need, rest - need, FREE);
                    } else {
                        write(mem, used, rest, USED);
                    }
                    return at(mem, used + UNIT);
                }
            }
            b += bsize;
        }
    }
    std::ptr::null_mut()
}

/// Frees a block [`alloc`] returned.
///
/// # Safety
/// As [`alloc`].
///
/// # Panics
/// If `p` is not a block this heap has allocated (a double free, or memory of another heap).
pub unsafe fn free(mem: *mut u8, bytes: usize, p: *mut u8, call: &str) {
    let (start, end) = region(mem, bytes);
    let b = (p as usize).wrapping_sub(UNIT);
    let inside = (p as usize).is_multiple_of(UNIT) && b >= start && b + 2 * UNIT <= end;
    // SAFETY: `b` is unit-aligned and inside the region: a header if `p` came from `alloc`.
    if !inside || unsafe { read(mem, b).1 } != USED {
        panic!("{call}: {p:?} is not memory allocated from this heap (or was freed already)");
    }
    // SAFETY: as above.
    unsafe {
        let (size, _) = read(mem, b);
        write(mem, b, size, FREE);
    }
}

/// Bytes the largest single allocation could have now (for tests and reports).
///
/// # Safety
/// As [`alloc`].
pub unsafe fn largest_free(mem: *mut u8, bytes: usize) -> usize {
    let (start, end) = region(mem, bytes);
    let mut b = start;
    let mut best = 0;
    let mut run = 0;
    while end - b >= 2 * UNIT {
        // SAFETY: blocks tile the region.
        let (size, tag) = unsafe { read(mem, b) };
        if tag == FREE {
            run += size;
            best = best.max(run - UNIT);
        } else {
            run = 0;
        }
        b += size;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(bytes: usize) -> (Vec<u128>, *mut u8, usize) {
        let mut v = vec![0u128; bytes / 16];
        let p = v.as_mut_ptr() as *mut u8;
        // SAFETY: the vector's memory, owned by the test.
        unsafe { init(p, bytes) };
        (v, p, bytes)
    }

    #[test]
    fn allocates_frees_and_merges() {
        let (_v, m, n) = heap(1024);
        // SAFETY: a heap set up above.
        unsafe {
            let all = largest_free(m, n);
            assert_eq!(all, 1024 - UNIT);
            let a = alloc(m, n, 8, 100);
            let b = alloc(m, n, 8, 100);
            assert!(!a.is_null() && !b.is_null() && a != b);
            assert!(alloc(m, n, 8, 2000).is_null(), "too big");
            free(m, n, a, "t");
            free(m, n, b, "t");
            assert_eq!(largest_free(m, n), all, "freed blocks merge back into one");
            let c = alloc(m, n, 8, all);
            assert!(!c.is_null(), "the whole heap in one block once merged");
            assert!(alloc(m, n, 8, 1).is_null());
        }
    }

    #[test]
    fn honours_alignment() {
        let (_v, m, n) = heap(4096);
        // SAFETY: as above.
        unsafe {
            for align in [16, 64, 256, 1024] {
                let p = alloc(m, n, align, 10);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
            }
        }
    }

    #[test]
    #[should_panic(expected = "not memory allocated from this heap")]
    fn double_free_panics() {
        let (_v, m, n) = heap(256);
        // SAFETY: as above.
        unsafe {
            let a = alloc(m, n, 8, 8);
            free(m, n, a, "k_heap_free");
            free(m, n, a, "k_heap_free");
        }
    }
}
