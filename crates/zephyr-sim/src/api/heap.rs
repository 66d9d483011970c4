//! Heaps threads can wait on (`kernel/kheap.c`) and the system heap with `k_malloc`/`k_free`
//! (`kernel/mempool.c`).
//!
//! A `k_heap` allocates from its own memory with [`crate::sysheap`] (bookkeeping inside the
//! memory, as `sys_heap`). An allocation that does not fit waits, when given a timeout, on the
//! heap's wait queue; every `k_heap_free` wakes *all* waiters (`z_unpend_all`), each of which
//! tries again and waits again for what is left of its timeout (kernel/kheap.c:
//! `k_heap_aligned_alloc`'s loop), so the most urgent waiter whose request fits gets it.
//!
//! The system heap is a `k_heap` of `CONFIG_HEAP_MEM_POOL_SIZE` bytes, one per simulation.
//! `k_malloc` and friends store the heap's address in the word below the memory they return,
//! so `k_free` finds its heap (`z_heap_aligned_alloc`). A thread's resource pool
//! (`k_thread_heap_assign`, `k_thread_system_pool_assign`; inherited by the threads it
//! creates, none by default) is where kernel calls allocate on its behalf
//! (`z_thread_malloc`: `k_queue_alloc_append`, `k_stack_alloc_init`, `k_pipe_alloc_init`); in
//! an ISR they use the system heap.
//!
//! ```text
//!  alloc: fits ─► memory │ K_NO_WAIT or time is up ─► NULL │ else wait ── any free ──► try again
//! ```

use std::ffi::c_void;
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};
use crate::sysheap;

fn check(k: &mut Kernel, h: *mut k_heap, call: &str) {
    assert!(!h.is_null(), "{call}: heap is NULL");
    // SAFETY: the caller of the API function guarantees `h` points to a k_heap.
    unsafe {
        k.check_object(addr_of_mut!((*h)._sim), h, Z_SIM_HEAP, call);
        if (*h).zsim_unbuilt {
            // A statically defined heap, set up at its first use (kernel/kheap.c:
            // `statics_init` does it at boot).
            sysheap::init((*h).init_mem.cast(), (*h).init_bytes);
            (*h).zsim_unbuilt = false;
        }
    }
}

/// Allocates now, without waiting: the memory or null.
pub(crate) fn alloc_now(k: &mut Kernel, h: *mut k_heap, align: usize, bytes: usize) -> *mut c_void {
    check(k, h, "k_heap_alloc");
    // SAFETY: checked above: an initialised heap.
    unsafe { sysheap::alloc((*h).init_mem.cast(), (*h).init_bytes, align, bytes).cast() }
}

/// Frees memory of `h` and wakes every waiter; returns whether it woke any.
pub(crate) fn free_now(k: &mut Kernel, h: *mut k_heap, mem: *mut c_void, call: &str) -> bool {
    check(k, h, call);
    // SAFETY: checked above; `free` checks `mem` is one of the heap's blocks.
    unsafe { sysheap::free((*h).init_mem.cast(), (*h).init_bytes, mem.cast(), call) };
    let mut woke = false;
    // SAFETY: checked above.
    while k.unpend_first(unsafe { addr_of_mut!((*h).wait_q) }).is_some() {
        woke = true;
    }
    woke
}

/// Key of the per-simulation system heap among the simulation's boot statics.
static SYSTEM_HEAP_KEY: u8 = 0;

/// This simulation's system heap (`_system_heap`), set up at first use; null when
/// `CONFIG_HEAP_MEM_POOL_SIZE` is 0.
pub(crate) fn system_heap(k: &mut Kernel) -> *mut k_heap {
    if CONFIG_HEAP_MEM_POOL_SIZE == 0 {
        return null_mut();
    }
    let key = &SYSTEM_HEAP_KEY as *const u8 as usize;
    if let Some(e) = k.boot_statics.iter().find(|e| e.0 == key) {
        return e.1.cast();
    }
    let head = std::mem::size_of::<k_heap>().next_multiple_of(sysheap::UNIT);
    let layout = std::alloc::Layout::from_size_align(head + CONFIG_HEAP_MEM_POOL_SIZE, 16)
        .expect("system heap layout");
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!p.is_null(), "out of memory");
    k.boot_statics.push((key, p, layout));
    let h = p.cast::<k_heap>();
    // SAFETY: `p` holds a k_heap followed by the pool's bytes, freed with the simulation.
    unsafe {
        h.write(Z_HEAP_INITIALIZER(p.add(head).cast(), CONFIG_HEAP_MEM_POOL_SIZE));
    }
    h
}

/// `z_heap_aligned_alloc`: memory from `heap` with the heap's address in the word below it
/// (and, here, the block's own address in the word below that, so `k_free` needs no search).
pub(crate) fn ref_alloc(
    k: &mut Kernel,
    heap: *mut k_heap,
    align: usize,
    size: usize,
) -> *mut c_void {
    if heap.is_null() {
        return null_mut();
    }
    let word = std::mem::size_of::<*mut k_heap>();
    let align = align.max(2 * word);
    let Some(total) = size.checked_add(align) else { return null_mut() };
    let mem = alloc_now(k, heap, align, total);
    if mem.is_null() {
        return mem;
    }
    // SAFETY: `mem` has `align + size` bytes; the two words below `mem + align` are in them.
    unsafe {
        let user = mem.cast::<u8>().add(align);
        user.cast::<*mut k_heap>().sub(1).write(heap);
        user.cast::<*mut c_void>().sub(2).write(mem);
        user.cast()
    }
}

/// `k_free` inside the kernel borrow: returns whether it woke a waiter.
pub(crate) fn ref_free(k: &mut Kernel, ptr: *mut c_void) -> bool {
    if ptr.is_null() {
        return false;
    }
    // SAFETY: the caller's contract: `ptr` came from `ref_alloc`, which wrote the heap and
    // the block below it; `free_now` checks the block is one of the heap's.
    unsafe {
        let heap = ptr.cast::<*mut k_heap>().sub(1).read();
        let block = ptr.cast::<*mut c_void>().sub(2).read();
        assert!(!heap.is_null(), "k_free: {ptr:?} was not allocated with k_malloc");
        free_now(k, heap, block, "k_free")
    }
}

/// `z_thread_malloc`: from the current thread's resource pool, or the system heap in an ISR.
pub(crate) fn thread_malloc(k: &mut Kernel, size: usize) -> *mut c_void {
    let heap = if k.isr_depth > 0 {
        system_heap(k)
    } else {
        let obj = k.threads[k.current as usize].obj;
        // SAFETY: the current thread's object is valid while it runs.
        unsafe { (*obj).resource_pool }
    };
    ref_alloc(k, heap, std::mem::size_of::<*mut c_void>(), size)
}

/// Initialises a heap on `bytes` bytes at `mem` (`k_heap_init`).
///
/// # Safety
/// `h` must be valid and must not move afterwards; `mem` must be valid for `bytes` bytes and
/// belong to the heap for as long as it is used.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_heap_init(h: *mut k_heap, mem: *mut c_void, bytes: usize) {
    assert!(!h.is_null(), "k_heap_init: heap is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `h` and `mem`.
        unsafe {
            k.init_object(
                addr_of_mut!((*h)._sim),
                addr_of_mut!((*h).wait_q),
                h as usize,
                Z_SIM_HEAP,
            );
            (*h).init_mem = mem;
            (*h).init_bytes = bytes;
            (*h).zsim_unbuilt = false;
            sysheap::init(mem.cast(), bytes);
        }
    });
}

/// Allocates `bytes` aligned to `align` (`k_heap_aligned_alloc`): the memory, or null when it
/// does not fit within `timeout`. Each `k_heap_free` wakes every waiter, which tries again and
/// waits for the rest of its timeout (kernel/kheap.c).
///
/// # Safety
/// `h` must be an initialised heap.
///
/// # Panics
/// Waiting in an ISR; `align` not a power of two.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_heap_aligned_alloc(
    h: *mut k_heap,
    align: usize,
    bytes: usize,
    timeout: k_timeout_t,
) -> *mut c_void {
    // `sys_clock_timeout_end_calc`: the tick the wait ends at (None: never).
    let end = with(|k| {
        let now = k.uptime_ticks();
        if timeout == K_FOREVER {
            None
        } else if timeout == K_NO_WAIT {
            Some(now)
        } else if Z_TICK_ABS(timeout.ticks) >= 0 {
            Some(Z_TICK_ABS(timeout.ticks))
        } else {
            Some(now + timeout.ticks.max(1))
        }
    });
    loop {
        let r = with(|k| {
            let mem = alloc_now(k, h, align, bytes);
            let now = k.uptime_ticks();
            if !mem.is_null() {
                return Ok(mem);
            }
            let left = match end {
                None => K_FOREVER,
                Some(end) if end - now <= 0 => return Ok(null_mut()),
                Some(end) => K_TICKS(end - now),
            };
            if k.isr_depth > 0 {
                return Err(false);
            }
            // SAFETY: checked by `alloc_now`.
            let q = unsafe { addr_of_mut!((*h).wait_q) };
            k.pend_current(Wait::Object { q, call: "k_heap_alloc", obj: h as usize }, left);
            Err(true)
        });
        match r {
            Ok(mem) => return mem,
            Err(false) => no_isr("k_heap_alloc"),
            Err(true) => {
                swap();
            }
        }
    }
}

/// Allocates `bytes` pointer-aligned bytes (`k_heap_alloc`); see [`k_heap_aligned_alloc`].
///
/// # Safety
/// As [`k_heap_aligned_alloc`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_heap_alloc(
    h: *mut k_heap,
    bytes: usize,
    timeout: k_timeout_t,
) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { k_heap_aligned_alloc(h, std::mem::size_of::<*mut c_void>(), bytes, timeout) }
}

/// Frees memory of `h`, waking every waiting allocator (`k_heap_free`; ISR-safe), then
/// reschedules if it woke any.
///
/// # Safety
/// `h` must be an initialised heap and `mem` memory it allocated, not used after.
///
/// # Panics
/// If `mem` is not an allocated block of `h`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_heap_free(h: *mut k_heap, mem: *mut c_void) {
    if with(|k| free_now(k, h, mem, "k_heap_free")) {
        reschedule(false);
    }
}

/// Allocates from the system heap (`k_aligned_alloc`): null when out of memory or when
/// `CONFIG_HEAP_MEM_POOL_SIZE` is 0. ISR-safe (never waits).
///
/// # Safety
/// None beyond a running simulation.
///
/// # Panics
/// `align` not a power of two.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_aligned_alloc(align: usize, size: usize) -> *mut c_void {
    assert!(align.is_power_of_two(), "k_aligned_alloc: align {align} is not a power of two");
    with(|k| {
        let heap = system_heap(k);
        ref_alloc(k, heap, align, size)
    })
}

/// Allocates pointer-aligned memory from the system heap (`k_malloc`).
///
/// # Safety
/// None beyond a running simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_malloc(size: usize) -> *mut c_void {
    // SAFETY: forwarded.
    unsafe { k_aligned_alloc(std::mem::size_of::<*mut c_void>(), size) }
}

/// Allocates `nmemb * size` zeroed bytes from the system heap; null on overflow (`k_calloc`).
///
/// # Safety
/// None beyond a running simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_calloc(nmemb: usize, size: usize) -> *mut c_void {
    let Some(bytes) = nmemb.checked_mul(size) else { return null_mut() };
    // SAFETY: forwarded.
    let p = unsafe { k_malloc(bytes) };
    if !p.is_null() {
        // SAFETY: `p` has `bytes` bytes.
        unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, bytes) };
    }
    p
}

/// Frees memory of `k_malloc`, `k_calloc`, `k_aligned_alloc` or a resource pool (`k_free`);
/// null does nothing. Wakes the threads waiting on that heap.
///
/// # Safety
/// `ptr` must be null or such memory, not used after.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_free(ptr: *mut c_void) {
    if with(|k| ref_free(k, ptr)) {
        reschedule(false);
    }
}

/// Makes `heap` the thread's resource pool (`k_thread_heap_assign`, inline in kernel.h).
///
/// # Safety
/// `thread` must be a thread object; `heap` null or a heap that outlives its use.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_heap_assign(thread: k_tid_t, heap: *mut k_heap) {
    assert!(!thread.is_null(), "k_thread_heap_assign: thread is NULL");
    // SAFETY: the caller guarantees `thread`.
    unsafe { (*thread).resource_pool = heap };
}

/// Makes the system heap the thread's resource pool (`k_thread_system_pool_assign`).
///
/// # Safety
/// `thread` must be a thread object.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_system_pool_assign(thread: k_tid_t) {
    assert!(!thread.is_null(), "k_thread_system_pool_assign: thread is NULL");
    let heap = with(system_heap);
    // SAFETY: the caller guarantees `thread`.
    unsafe { (*thread).resource_pool = heap };
}
