//! Stacks of pointer-sized values (`kernel/stack.c`).
//!
//! A push with a thread waiting in `k_stack_pop` hands the value straight to the first waiter
//! (most urgent, then longest waiting) and reschedules; otherwise it goes on top, or fails with
//! `-ENOMEM` when the stack is full. A pop takes the top value. A stack has no `k_poll` event in
//! Zephyr 2.7.
//!
//! ```text
//!  push: a popper waits ─► it gets the value │ room ─► on top │ full ─► -ENOMEM
//!  pop:  values ─► the top one │ empty ─► -EBUSY (K_NO_WAIT) / wait: 0 (pushed to it), -EAGAIN
//! ```

use std::ffi::c_int;
use std::ptr::addr_of_mut;

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

fn check(k: &mut Kernel, stack: *mut k_stack, call: &str) {
    assert!(!stack.is_null(), "{call}: stack is NULL");
    // SAFETY: the caller of the API function guarantees `stack` points to a k_stack.
    k.check_object(unsafe { addr_of_mut!((*stack)._sim) }, stack, Z_SIM_STACK, call);
}

pub(super) fn init(
    k: &mut Kernel,
    stack: *mut k_stack,
    buffer: *mut stack_data_t,
    num_entries: u32,
) {
    // SAFETY: the caller of the API function guarantees `stack` is valid and `buffer` holds
    // `num_entries` values.
    unsafe {
        k.init_object(
            addr_of_mut!((*stack)._sim),
            addr_of_mut!((*stack).wait_q),
            stack as usize,
            Z_SIM_STACK,
        );
        (*stack).base = buffer;
        (*stack).next = buffer;
        (*stack).top = buffer.wrapping_add(num_entries as usize);
        (*stack).flags = 0;
    }
}

/// Initialises a stack of `num_entries` values on `buffer` (`k_stack_init`).
///
/// # Safety
/// `stack` must be valid and must not move afterwards; `buffer` valid for `num_entries` values
/// for as long as the stack is used.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_stack_init(
    stack: *mut k_stack,
    buffer: *mut stack_data_t,
    num_entries: u32,
) {
    assert!(!stack.is_null(), "k_stack_init: stack is NULL");
    with(|k| init(k, stack, buffer, num_entries));
}

/// Initialises a stack on a buffer from the caller's resource pool (`k_stack_alloc_init`): 0,
/// or `-ENOMEM` when the thread has no pool or it has no room.
///
/// # Safety
/// As [`k_stack_init`], minus the buffer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_stack_alloc_init(stack: *mut k_stack, num_entries: u32) -> i32 {
    assert!(!stack.is_null(), "k_stack_alloc_init: stack is NULL");
    with(|k| {
        let bytes = (num_entries as usize).saturating_mul(std::mem::size_of::<stack_data_t>());
        let buffer = super::heap::thread_malloc(k, bytes);
        if buffer.is_null() {
            return -ENOMEM;
        }
        init(k, stack, buffer.cast(), num_entries);
        // SAFETY: initialised above.
        unsafe { (*stack).flags = K_STACK_FLAG_ALLOC };
        0
    })
}

/// Frees the buffer of `k_stack_alloc_init` (`k_stack_cleanup`): 0, or `-EAGAIN` while threads
/// wait on the stack.
///
/// # Safety
/// `stack` must be an initialised stack.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_stack_cleanup(stack: *mut k_stack) -> c_int {
    let (r, woke) = with(|k| {
        check(k, stack, "k_stack_cleanup");
        // SAFETY: checked above.
        unsafe {
            if k.waitq_head(addr_of_mut!((*stack).wait_q)).is_some() {
                return (-EAGAIN, false);
            }
            let mut woke = false;
            if (*stack).flags & K_STACK_FLAG_ALLOC != 0 {
                woke = super::heap::ref_free(k, (*stack).base.cast());
                (*stack).base = std::ptr::null_mut();
                (*stack).flags &= !K_STACK_FLAG_ALLOC;
            }
            (0, woke)
        }
    });
    if woke {
        reschedule(false);
    }
    r
}

/// Pushes a value (`k_stack_push`; ISR-safe): to the first waiting popper if any (then
/// reschedules), else on top: 0, or `-ENOMEM` when full.
///
/// # Safety
/// `stack` must be an initialised stack.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_stack_push(stack: *mut k_stack, data: stack_data_t) -> c_int {
    let (r, resched) = with(|k| {
        check(k, stack, "k_stack_push");
        // SAFETY: checked above; `next` stays within `base..=top`.
        unsafe {
            if (*stack).next == (*stack).top {
                return (-ENOMEM, false);
            }
            if let Some(t) = k.unpend_first(addr_of_mut!((*stack).wait_q)) {
                let t = &mut k.threads[t as usize];
                t.swap_retval = 0;
                t.swap_data = data as *mut std::ffi::c_void;
                return (0, true);
            }
            (*stack).next.write(data);
            (*stack).next = (*stack).next.add(1);
            (0, false)
        }
    });
    if resched {
        reschedule(false);
    }
    r
}

/// Pops the top value into `*data` (`k_stack_pop`): 0; `-EBUSY` when empty with `K_NO_WAIT`;
/// otherwise waits up to `timeout` for a push (`-EAGAIN` when it ends).
///
/// # Safety
/// `stack` must be an initialised stack; `data` valid for a write.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_stack_pop(
    stack: *mut k_stack,
    data: *mut stack_data_t,
    timeout: k_timeout_t,
) -> c_int {
    let r = with(|k| {
        check(k, stack, "k_stack_pop");
        // SAFETY: checked above; the caller guarantees `data`.
        unsafe {
            if (*stack).next > (*stack).base {
                (*stack).next = (*stack).next.sub(1);
                data.write((*stack).next.read());
                return Ok(0);
            }
        }
        if timeout == K_NO_WAIT {
            return Ok(-EBUSY);
        }
        if k.isr_depth > 0 {
            return Err(false);
        }
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*stack).wait_q) };
        k.pend_current(Wait::Object { q, call: "k_stack_pop", obj: stack as usize }, timeout);
        Err(true)
    });
    match r {
        Ok(r) => r,
        Err(false) => {
            no_isr("k_stack_pop");
            unreachable!()
        }
        Err(true) => {
            let r = swap();
            if r == 0 {
                let v = with(|k| k.threads[k.current as usize].swap_data as stack_data_t);
                // SAFETY: the caller guarantees `data`.
                unsafe { data.write(v) };
            }
            r
        }
    }
}
