//! Memory slabs: fixed-size blocks from a buffer (`kernel/mem_slab.c`).
//!
//! Free blocks form a list through their first word. An allocation takes the first free block;
//! with none, it fails (`-ENOMEM`, `K_NO_WAIT`) or waits. A free with a thread waiting hands
//! the block straight to the first waiter (most urgent, then longest waiting) and reschedules;
//! otherwise the block goes back on the list. A slab has no `k_poll` event in Zephyr 2.7.
//! `max_used` is tracked as with `CONFIG_MEM_SLAB_TRACE_MAX_UTILIZATION`.
//!
//! ```text
//!  alloc: a free block ─► 0 │ none ─► -ENOMEM (K_NO_WAIT) / wait: 0 (a free handed it over), -EAGAIN
//!  free:  an allocator waits ─► it gets the block │ else ─► back on the free list
//! ```

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

/// `create_free_list`: -EINVAL unless the block size and buffer are pointer-aligned.
///
/// # Safety
/// `slab` must be valid, with `buffer` holding `num_blocks * block_size` bytes.
unsafe fn create_free_list(slab: *mut k_mem_slab) -> c_int {
    // SAFETY: caller's contract.
    unsafe {
        let s = &mut *slab;
        if (s.block_size | s.buffer as usize) & (std::mem::size_of::<*mut c_void>() - 1) != 0 {
            return -EINVAL;
        }
        s.free_list = null_mut();
        let mut p = s.buffer;
        for _ in 0..s.num_blocks {
            p.cast::<*mut c_char>().write(s.free_list);
            s.free_list = p;
            p = p.add(s.block_size);
        }
        s.zsim_unbuilt = false;
        0
    }
}

fn check(k: &mut Kernel, slab: *mut k_mem_slab, call: &str) {
    assert!(!slab.is_null(), "{call}: slab is NULL");
    // SAFETY: the caller of the API function guarantees `slab` points to a k_mem_slab.
    unsafe {
        k.check_object(addr_of_mut!((*slab)._sim), slab, Z_SIM_MEM_SLAB, call);
        if (*slab).zsim_unbuilt {
            // Statically defined: its free list is built at first use (`init_mem_slab_module`
            // does it at boot).
            (*slab).num_used = 0;
            (*slab).max_used = 0;
            assert!(
                create_free_list(slab) == 0,
                "{call}: statically defined k_mem_slab at {slab:?} has a block size or buffer \
                 that is not pointer-aligned"
            );
        }
    }
}

/// Initialises a slab of `num_blocks` blocks of `block_size` bytes on `buffer`
/// (`k_mem_slab_init`): 0, or `-EINVAL` if the block size or the buffer is not
/// pointer-aligned.
///
/// # Safety
/// `slab` must be valid and must not move afterwards; `buffer` valid for
/// `block_size * num_blocks` bytes while the slab is used.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_init(
    slab: *mut k_mem_slab,
    buffer: *mut c_void,
    block_size: usize,
    num_blocks: u32,
) -> c_int {
    assert!(!slab.is_null(), "k_mem_slab_init: slab is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `slab` and `buffer`.
        unsafe {
            let s = &mut *slab;
            s.num_blocks = num_blocks;
            s.block_size = block_size;
            s.buffer = buffer.cast();
            s.num_used = 0;
            s.max_used = 0;
            let rc = create_free_list(slab);
            if rc < 0 {
                return rc;
            }
            k.init_object(
                addr_of_mut!((*slab)._sim),
                addr_of_mut!((*slab).wait_q),
                slab as usize,
                Z_SIM_MEM_SLAB,
            );
            0
        }
    })
}

/// Allocates a block into `*mem` (`k_mem_slab_alloc`): 0; `-ENOMEM` (and `*mem` null) when
/// none is free with `K_NO_WAIT`; otherwise waits up to `timeout` (`-EAGAIN` when it ends).
///
/// # Safety
/// `slab` must be an initialised slab; `mem` valid for a write.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_alloc(
    slab: *mut k_mem_slab,
    mem: *mut *mut c_void,
    timeout: k_timeout_t,
) -> c_int {
    let r = with(|k| {
        check(k, slab, "k_mem_slab_alloc");
        // SAFETY: checked above; free blocks link through their first word.
        unsafe {
            let s = &mut *slab;
            if !s.free_list.is_null() {
                mem.write(s.free_list.cast());
                s.free_list = s.free_list.cast::<*mut c_char>().read();
                s.num_used += 1;
                s.max_used = s.max_used.max(s.num_used);
                return Ok(0);
            }
            if timeout == K_NO_WAIT {
                mem.write(null_mut());
                return Ok(-ENOMEM);
            }
        }
        if k.isr_depth > 0 {
            return Err(false);
        }
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*slab).wait_q) };
        k.pend_current(Wait::Object { q, call: "k_mem_slab_alloc", obj: slab as usize }, timeout);
        Err(true)
    });
    match r {
        Ok(r) => r,
        Err(false) => {
            no_isr("k_mem_slab_alloc");
            unreachable!()
        }
        Err(true) => {
            let r = swap();
            if r == 0 {
                let block = with(|k| k.threads[k.current as usize].swap_data);
                // SAFETY: the caller guarantees `mem`.
                unsafe { mem.write(block) };
            }
            r
        }
    }
}

/// Frees the block `*mem` (`k_mem_slab_free`; ISR-safe): with the free list empty and a thread
/// waiting, the block goes to that thread (which then counts as using it) and the call
/// reschedules; otherwise it returns to the free list.
///
/// # Safety
/// `slab` must be an initialised slab; `*mem` a block it allocated, not used after.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_free(slab: *mut k_mem_slab, mem: *mut *mut c_void) {
    let resched = with(|k| {
        check(k, slab, "k_mem_slab_free");
        // SAFETY: checked above; the caller guarantees `*mem` is one of the slab's blocks.
        unsafe {
            let s = &mut *slab;
            let block = mem.read();
            let start = s.buffer as usize;
            let end = start + s.block_size * s.num_blocks as usize;
            let b = block as usize;
            assert!(
                b >= start && b < end && (b - start).is_multiple_of(s.block_size.max(1)),
                "k_mem_slab_free: {block:?} is not a block of the k_mem_slab at {slab:?}"
            );
            if s.free_list.is_null() {
                if let Some(t) = k.unpend_first(addr_of_mut!((*slab).wait_q)) {
                    let t = &mut k.threads[t as usize];
                    t.swap_retval = 0;
                    t.swap_data = block;
                    return true;
                }
            }
            block.cast::<*mut c_char>().write(s.free_list);
            s.free_list = block.cast();
            s.num_used -= 1;
            false
        }
    });
    if resched {
        reschedule(false);
    }
}

/// Blocks in use (`k_mem_slab_num_used_get`).
///
/// # Safety
/// `slab` must be an initialised slab.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_num_used_get(slab: *mut k_mem_slab) -> u32 {
    with(|k| {
        check(k, slab, "k_mem_slab_num_used_get");
        // SAFETY: checked above.
        unsafe { (*slab).num_used }
    })
}

/// Blocks free (`k_mem_slab_num_free_get`).
///
/// # Safety
/// `slab` must be an initialised slab.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_num_free_get(slab: *mut k_mem_slab) -> u32 {
    with(|k| {
        check(k, slab, "k_mem_slab_num_free_get");
        // SAFETY: checked above.
        unsafe { (*slab).num_blocks - (*slab).num_used }
    })
}

/// Most blocks in use at once since initialisation (`k_mem_slab_max_used_get`).
///
/// # Safety
/// `slab` must be an initialised slab.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mem_slab_max_used_get(slab: *mut k_mem_slab) -> u32 {
    with(|k| {
        check(k, slab, "k_mem_slab_max_used_get");
        // SAFETY: checked above.
        unsafe { (*slab).max_used }
    })
}
