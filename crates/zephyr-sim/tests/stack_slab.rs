//! Stacks (`kernel/stack.c`) and memory slabs (`kernel/mem_slab.c`), one test per rule.
//! Board: 10 kHz ticks, 1 MHz cycles; main runs at priority 5.

mod common;

use std::ffi::c_void;
use std::ptr::null_mut;

use common::*;
use zephyr_sys::*;

fn stack(n: u32) -> *mut k_stack {
    let s: *mut k_stack = leak(k_stack::new());
    let buf = leak(vec![0usize; n as usize]).as_mut_ptr();
    // SAFETY: leaked, never moves.
    unsafe { k_stack_init(s, buf, n) };
    s
}

fn pop(s: *mut k_stack, timeout: k_timeout_t) -> (i32, usize) {
    let mut v = 0;
    // SAFETY: kernel call on a leaked stack.
    let r = unsafe { k_stack_pop(s, &mut v, timeout) };
    (r, v)
}

/// kernel/stack.c (`z_impl_k_stack_push`, `z_impl_k_stack_pop`): last in, first out; a push
/// on a full stack returns -ENOMEM; a pop on an empty one -EBUSY with K_NO_WAIT and -EAGAIN
/// N + 1 ticks after a timeout of N.
#[test]
fn stack_lifo_full_and_empty() {
    let (r, _) = run(5, || {
        let s = stack(2);
        // SAFETY: kernel calls on a leaked stack.
        unsafe {
            let pushes = (k_stack_push(s, 1), k_stack_push(s, 2), k_stack_push(s, 3));
            let pops = (pop(s, K_NO_WAIT), pop(s, K_NO_WAIT), pop(s, K_NO_WAIT).0);
            let timed = (pop(s, K_TICKS(4)).0, k_uptime_ticks());
            (pushes, pops, timed)
        }
    });
    assert_eq!(r, ((0, 0, -ENOMEM), ((0, 2), (0, 1), -EBUSY), (-EAGAIN, 5)));
}

/// kernel/stack.c (`z_impl_k_stack_push`: `z_unpend_first_thread`,
/// `z_thread_return_value_set_with_data`): a push with poppers waiting hands the value to the
/// most urgent one (then the longest waiting), which runs inside the push if more urgent;
/// the value never lands on the stack.
#[test]
fn stack_push_hands_the_value_to_the_first_waiter() {
    let (r, log) = run(5, || {
        let s = stack(4);
        for (name, prio) in [("p4a", 4), ("p4b", 4), ("p3", 3)] {
            spawn(name, prio, K_NO_WAIT, move || {
                let (r, v) = pop(s, K_FOREVER);
                log!("{name} popped {r} {v}");
            });
        }
        // SAFETY: kernel calls on a leaked stack.
        unsafe {
            for v in [10, 20, 30] {
                k_stack_push(s, v);
            }
            pop(s, K_NO_WAIT).0
        }
    });
    assert_eq!(r, -EBUSY, "every value went to a waiter");
    assert_eq!(log, ["T=0 p3 popped 0 10", "T=0 p4a popped 0 20", "T=0 p4b popped 0 30"]);
}

/// kernel/stack.c (`z_impl_k_stack_alloc_init`, `k_stack_cleanup`): the buffer comes from the
/// thread's resource pool (none by default: -ENOMEM; kernel/thread.c gives new threads their
/// creator's pool); cleanup frees it, and refuses (-EAGAIN) while a thread waits.
#[test]
fn stack_alloc_init_uses_the_resource_pool() {
    let (r, _) = run(5, || {
        let s: *mut k_stack = leak(k_stack::new());
        // SAFETY: kernel calls on leaked objects from a simulated thread.
        unsafe {
            let without = k_stack_alloc_init(s, 4);
            k_thread_system_pool_assign(k_current_get());
            let with = k_stack_alloc_init(s, 4);
            spawn("waiter", 4, K_NO_WAIT, move || {
                pop(s, K_TICKS(10));
            });
            let busy = k_stack_cleanup(s);
            k_sleep(K_TICKS(20));
            (without, with, busy, k_stack_cleanup(s))
        }
    });
    assert_eq!(r, (-ENOMEM, 0, -EAGAIN, 0));
}

/// kernel/stack.c (`z_impl_k_stack_pop`) and the ISR rule of every blocking call: an ISR may
/// push and pop with K_NO_WAIT; a pop that would wait in an ISR is a fatal error naming it.
#[test]
fn stack_in_an_isr() {
    let (r, _) = run(5, || {
        let s = stack(2);
        isr_after(1, move || {
            // SAFETY: kernel calls on a leaked stack, from an ISR.
            unsafe { k_stack_push(s, 7) };
        });
        pop(s, K_FOREVER)
    });
    assert_eq!(r, (0, 7));
    let err = run_err(|| {
        let s = stack(2);
        isr_after(1, move || {
            pop(s, K_TICKS(1));
        });
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(5)) };
    });
    assert_eq!(
        panic_message(&err),
        "k_stack_pop: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
}

// ------------------------------------------------------------------ k_mem_slab

fn slab(block: usize, n: u32) -> *mut k_mem_slab {
    let s: *mut k_mem_slab = leak(k_mem_slab::new());
    let buf = leak(vec![0u64; block * n as usize / 8]).as_mut_ptr();
    // SAFETY: leaked, never moves.
    assert_eq!(unsafe { k_mem_slab_init(s, buf.cast(), block, n) }, 0);
    s
}

fn alloc(s: *mut k_mem_slab, timeout: k_timeout_t) -> (i32, *mut c_void) {
    let mut m = null_mut();
    // SAFETY: kernel call on a leaked slab.
    let r = unsafe { k_mem_slab_alloc(s, &mut m, timeout) };
    (r, m)
}

/// kernel/mem_slab.c (`create_free_list`): k_mem_slab_init returns -EINVAL unless the block
/// size and the buffer are pointer-aligned.
#[test]
fn slab_init_wants_aligned_blocks() {
    let (r, _) = run(5, || {
        let s: *mut k_mem_slab = leak(k_mem_slab::new());
        let buf = leak([0u64; 8]).as_mut_ptr();
        // SAFETY: leaked objects.
        unsafe {
            (
                k_mem_slab_init(s, buf.cast(), 12, 4),
                k_mem_slab_init(s, buf.cast::<u8>().add(1).cast(), 16, 2),
                k_mem_slab_init(s, buf.cast(), 16, 4),
            )
        }
    });
    assert_eq!(r, (-EINVAL, -EINVAL, 0));
}

/// kernel/mem_slab.c (`k_mem_slab_alloc`, `k_mem_slab_free`; kernel.h's counters): blocks are
/// distinct, counted (num_used, num_free, max_used); with none free, K_NO_WAIT returns -ENOMEM
/// and a null block, a timeout of N -EAGAIN N + 1 ticks later; a freed block is reused.
#[test]
fn slab_alloc_free_and_counts() {
    let (r, _) = run(5, || {
        let s = slab(32, 2);
        // SAFETY: kernel calls on a leaked slab.
        unsafe {
            let (ra, a) = alloc(s, K_NO_WAIT);
            let (rb, b) = alloc(s, K_NO_WAIT);
            let counts = (k_mem_slab_num_used_get(s), k_mem_slab_num_free_get(s));
            let none = alloc(s, K_NO_WAIT);
            let timed = (alloc(s, K_TICKS(3)).0, k_uptime_ticks());
            let mut a2 = a;
            k_mem_slab_free(s, &mut a2);
            let (rc, c) = alloc(s, K_NO_WAIT);
            let mut b2 = b;
            k_mem_slab_free(s, &mut b2);
            let after = (k_mem_slab_num_used_get(s), k_mem_slab_max_used_get(s));
            ((ra, rb, a != b), counts, (none.0, none.1.is_null()), timed, (rc, c == a), after)
        }
    });
    assert_eq!(r, ((0, 0, true), (2, 0), (-ENOMEM, true), (-EAGAIN, 4), (0, true), (1, 2)));
}

/// kernel/mem_slab.c (`k_mem_slab_free`: `z_unpend_first_thread`,
/// `z_thread_return_value_set_with_data`): a free with allocators waiting hands the block to
/// the most urgent one, which runs inside the free; the block stays in use.
#[test]
fn slab_free_hands_the_block_to_the_first_waiter() {
    let (r, log) = run(5, || {
        let s = slab(16, 1);
        let (_, block) = alloc(s, K_NO_WAIT);
        for (name, prio) in [("a4", 4), ("a3", 3)] {
            spawn(name, prio, K_NO_WAIT, move || {
                let (r, m) = alloc(s, K_TICKS(50));
                log!("{name} got {r} same={}", m == block);
            });
        }
        let mut m = block;
        // SAFETY: kernel calls on a leaked slab.
        unsafe {
            k_mem_slab_free(s, &mut m);
            log!("main after free");
            let used = k_mem_slab_num_used_get(s);
            k_sleep(K_TICKS(60));
            used
        }
    });
    assert_eq!(r, 1);
    assert_eq!(
        log,
        ["T=0 a3 got 0 same=true", "T=0 main after free", "T=51 a4 got -11 same=false"]
    );
}

/// kernel/mem_slab.c: a slab allocation that would wait in an ISR is a fatal error naming
/// the call (ISRs may allocate with K_NO_WAIT and free).
#[test]
fn slab_blocking_alloc_in_an_isr_panics() {
    let err = run_err(|| {
        let s = slab(16, 1);
        alloc(s, K_NO_WAIT);
        isr_after(1, move || {
            alloc(s, K_FOREVER);
        });
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(5)) };
    });
    assert_eq!(
        panic_message(&err),
        "k_mem_slab_alloc: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
}

/// A statically defined stack and slab (`K_STACK_DEFINE`, `K_MEM_SLAB_DEFINE`: zephyr-sys's
/// `Z_STACK_INITIALIZER`, `Z_MEM_SLAB_INITIALIZER`) work without an init call; the slab's
/// free list is built at its first use (kernel/mem_slab.c: `init_mem_slab_module`).
#[test]
fn static_stack_and_slab() {
    let (r, _) = run(5, || {
        let buf = leak([0usize; 3]).as_mut_ptr();
        let s: *mut k_stack = leak(Z_STACK_INITIALIZER(buf, 3));
        let blocks = leak([0u64; 8]).as_mut_ptr();
        let sl: *mut k_mem_slab = leak(Z_MEM_SLAB_INITIALIZER(blocks.cast(), 16, 4));
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_stack_push(s, 5);
            let popped = pop(s, K_NO_WAIT);
            let a = alloc(sl, K_NO_WAIT).0;
            (popped, a, k_mem_slab_num_free_get(sl))
        }
    });
    assert_eq!(r, ((0, 5), 0, 3));
}
