//! Queues of data items (`kernel/queue.c`); a `k_fifo` is the same object.
//!
//! Items are linked through their first word, which the kernel overwrites (as in Zephyr):
//! `head` and `tail` point at the items, each item's first word at the next. An append or
//! prepend with a thread waiting in `k_queue_get` hands the item straight to the first
//! waiter (most urgent, then longest waiting) without queueing it; otherwise the item is
//! linked in and the first `k_poll` event registered on the queue is notified. A call that
//! woke a thread or notified a poller reschedules (kernel/queue.c: `resched`).
//!
//! ```text
//!  empty ── append / prepend (no waiter) ──► items ── get (last item) ──► empty
//!  empty ── get (timeout) ──► getter waits ── append / prepend: the item ──► getter returns it
//!                                          ── k_queue_cancel_wait / timeout ──► returns NULL
//! ```

use std::ffi::{c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::no_isr;
use super::poll::{notify, yield_then_mark_ready};
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

fn check(k: &mut Kernel, queue: *mut k_queue, call: &str) {
    assert!(!queue.is_null(), "{call}: queue is NULL");
    // SAFETY: the caller of the API function guarantees `queue` points to a k_queue.
    k.check_object(unsafe { addr_of_mut!((*queue)._sim) }, queue, Z_SIM_QUEUE, call);
}

/// The link word of an item.
fn link(item: *mut c_void) -> *mut *mut c_void {
    item as *mut *mut c_void
}

/// Initialises an empty queue (`k_queue_init`, also `k_fifo_init`).
///
/// # Safety
/// `queue` must be valid and must not move afterwards.
///
/// # Panics
/// If threads wait on it or events are registered on it.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_init(queue: *mut k_queue) {
    assert!(!queue.is_null(), "k_queue_init: queue is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `queue` is valid.
        unsafe {
            k.init_object(
                addr_of_mut!((*queue)._sim),
                addr_of_mut!((*queue).wait_q),
                queue as usize,
                Z_SIM_QUEUE,
            );
            (*queue).head = null_mut();
            (*queue).tail = null_mut();
        }
    });
}

/// `queue_insert`: hands `data` to the first waiter, or links it in and notifies a poller;
/// then reschedules if either happened.
fn insert(queue: *mut k_queue, data: *mut c_void, append: bool, call: &str) {
    assert!(!data.is_null(), "{call}: data is NULL");
    let resched = with(|k| {
        check(k, queue, call);
        // SAFETY: checked above.
        if let Some(t) = k.unpend_first(unsafe { addr_of_mut!((*queue).wait_q) }) {
            let t = &mut k.threads[t as usize];
            t.swap_retval = 0;
            t.swap_data = data;
            return true;
        }
        // SAFETY: checked above; the caller guarantees the item's first word is writable and
        // the item stays valid while queued.
        unsafe {
            let q = &mut *queue;
            if append {
                *link(data) = null_mut();
                if q.tail.is_null() {
                    q.head = data;
                } else {
                    *link(q.tail) = data;
                }
                q.tail = data;
            } else {
                *link(data) = q.head;
                q.head = data;
                if q.tail.is_null() {
                    q.tail = data;
                }
            }
        }
        notify(k, queue as usize, K_POLL_STATE_DATA_AVAILABLE)
    });
    yield_then_mark_ready();
    if resched {
        reschedule(false);
    }
}

/// Appends an item (`k_queue_append`, also `k_fifo_put`; ISR-safe); its first word is
/// overwritten with the link. A waiting getter receives it directly.
///
/// # Safety
/// `queue` must be an initialised queue; `data` a valid item (at least one pointer, aligned)
/// that stays valid while queued.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_append(queue: *mut k_queue, data: *mut c_void) {
    insert(queue, data, true, "k_queue_append");
}

/// Prepends an item (`k_queue_prepend`, ISR-safe); see [`k_queue_append`].
///
/// # Safety
/// As [`k_queue_append`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_prepend(queue: *mut k_queue, data: *mut c_void) {
    insert(queue, data, false, "k_queue_prepend");
}

/// Takes the first item (`k_queue_get`, also `k_fifo_get`): null at once when empty with
/// `K_NO_WAIT`; otherwise waits up to `timeout` (N ticks: N + 1 ticks after the current tick)
/// and returns the item handed over, or null on timeout or `k_queue_cancel_wait`.
///
/// # Safety
/// `queue` must be an initialised queue.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_get(
    queue: *mut k_queue,
    timeout: k_timeout_t,
) -> *mut c_void {
    let r = with(|k| {
        check(k, queue, "k_queue_get");
        // SAFETY: checked above; queued items are valid.
        unsafe {
            let q = &mut *queue;
            if !q.head.is_null() {
                let data = q.head;
                q.head = *link(data);
                if q.head.is_null() {
                    q.tail = null_mut();
                }
                return Ok(data);
            }
        }
        if timeout == K_NO_WAIT {
            return Ok(null_mut());
        }
        if k.isr_depth > 0 {
            return Err(false);
        }
        let cur = k.current as usize;
        k.threads[cur].swap_data = null_mut();
        k.pend_current(Wait::QueueGet(queue), timeout);
        Err(true)
    });
    match r {
        Ok(data) => data,
        Err(false) => {
            no_isr("k_queue_get");
            unreachable!()
        }
        Err(true) => {
            if swap() == 0 {
                with(|k| k.threads[k.current as usize].swap_data)
            } else {
                null_mut()
            }
        }
    }
}

/// Whether the queue is empty: nonzero if so (`k_queue_is_empty`).
///
/// # Safety
/// `queue` must be an initialised queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_is_empty(queue: *mut k_queue) -> c_int {
    with(|k| {
        check(k, queue, "k_queue_is_empty");
        // SAFETY: checked above.
        unsafe { (*queue).head.is_null() as c_int }
    })
}

/// The first item without taking it, or null (`k_queue_peek_head`).
///
/// # Safety
/// `queue` must be an initialised queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_peek_head(queue: *mut k_queue) -> *mut c_void {
    with(|k| {
        check(k, queue, "k_queue_peek_head");
        // SAFETY: checked above.
        unsafe { (*queue).head }
    })
}

/// Makes the first waiter of `k_queue_get` return null at once, and notifies the first
/// `k_poll` event registered on the queue with `K_POLL_STATE_CANCELLED` (its `k_poll`
/// returns `-EINTR`); nothing is remembered if nobody waits (`k_queue_cancel_wait`,
/// ISR-safe). Reschedules if it woke or notified anyone.
///
/// # Safety
/// `queue` must be an initialised queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_cancel_wait(queue: *mut k_queue) {
    let resched = with(|k| {
        check(k, queue, "k_queue_cancel_wait");
        // SAFETY: checked above.
        let woke = match k.unpend_first(unsafe { addr_of_mut!((*queue).wait_q) }) {
            Some(t) => {
                let t = &mut k.threads[t as usize];
                t.swap_retval = 0;
                t.swap_data = null_mut();
                true
            }
            None => false,
        };
        notify(k, queue as usize, K_POLL_STATE_CANCELLED) || woke
    });
    yield_then_mark_ready();
    if resched {
        reschedule(false);
    }
}
