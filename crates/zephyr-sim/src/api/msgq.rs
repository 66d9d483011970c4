//! Message queues (`kernel/msg_q.c`): fixed-size messages copied into and out of a ring
//! buffer the application provides.
//!
//! A put into a queue with room hands the message straight to the first thread waiting in
//! `k_msgq_get` (most urgent, then longest waiting), or else copies it into the ring and
//! notifies the first `k_poll` event registered on the queue. A get from a queue with
//! messages takes the oldest, then moves the message of the first thread waiting in
//! `k_msgq_put` (the queue was full) into the freed slot and wakes it. Getters and putters
//! share one wait queue (only one kind can wait at a time). A call that woke a thread or
//! notified a poller reschedules.
//!
//! ```text
//!  put: room ─► to the first getter, or into the ring │ full ─► -ENOMSG (K_NO_WAIT) / wait
//!  get: data ─► oldest message; a waiting putter's message fills the slot │ empty ─► -ENOMSG / wait
//!  waits end with 0 (served), -EAGAIN (timeout: N ticks end N + 1 ticks after the current
//!  tick) or -ENOMSG (k_msgq_purge)
//! ```

use std::ffi::{c_char, c_int, c_void};
use std::ptr::addr_of_mut;

use zephyr_sys::*;

use super::no_isr;
use super::poll::notify;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

fn check(k: &mut Kernel, msgq: *mut k_msgq, call: &str) {
    assert!(!msgq.is_null(), "{call}: msgq is NULL");
    // SAFETY: the caller of the API function guarantees `msgq` points to a k_msgq.
    k.check_object(unsafe { addr_of_mut!((*msgq)._sim) }, msgq, Z_SIM_MSGQ, call);
}

/// What a put or get decided inside the kernel borrow.
enum Outcome {
    /// Return this, after rescheduling if the flag says so.
    Done(c_int, bool),
    /// The caller pends: switch away.
    Block,
    /// The caller would block in an ISR.
    Isr,
}

/// Copies one message.
///
/// # Safety
/// `from` and `to` must be valid for `size` bytes and not overlap.
unsafe fn copy(from: *const c_void, to: *mut c_void, size: usize) {
    // SAFETY: caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, size) }
}

/// Advances a ring pointer by one message, wrapping at the end.
///
/// # Safety
/// `msgq` must be initialised and `p` one of its slots.
unsafe fn advance(msgq: *mut k_msgq, p: *mut c_char) -> *mut c_char {
    // SAFETY: caller's contract: `p + msg_size` stays within the buffer or is its end.
    unsafe {
        let next = p.add((*msgq).msg_size);
        if next == (*msgq).buffer_end {
            (*msgq).buffer_start
        } else {
            next
        }
    }
}

fn finish(outcome: Outcome, call: &str) -> c_int {
    match outcome {
        Outcome::Done(r, resched) => {
            super::poll::yield_then_mark_ready();
            if resched {
                reschedule(false);
            }
            r
        }
        Outcome::Block => swap(),
        Outcome::Isr => {
            no_isr(call);
            unreachable!()
        }
    }
}

/// Initialises a message queue on `buffer`, which holds `max_msgs` messages of `msg_size`
/// bytes (`k_msgq_init`).
///
/// # Safety
/// `msgq` must be valid and must not move afterwards; `buffer` must be valid for
/// `msg_size * max_msgs` bytes for as long as the queue is used.
///
/// # Panics
/// If the buffer size overflows, or threads wait on the queue or events are registered on it.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_init(
    msgq: *mut k_msgq,
    buffer: *mut c_char,
    msg_size: usize,
    max_msgs: u32,
) {
    assert!(!msgq.is_null(), "k_msgq_init: msgq is NULL");
    let bytes = msg_size
        .checked_mul(max_msgs as usize)
        .expect("k_msgq_init: msg_size * max_msgs overflows");
    with(|k| {
        // SAFETY: the caller guarantees `msgq` is valid and `buffer` holds `bytes` bytes.
        unsafe {
            k.init_object(
                addr_of_mut!((*msgq)._sim),
                addr_of_mut!((*msgq).wait_q),
                msgq as usize,
                Z_SIM_MSGQ,
            );
            let q = &mut *msgq;
            q.msg_size = msg_size;
            q.max_msgs = max_msgs;
            q.buffer_start = buffer;
            q.buffer_end = buffer.wrapping_add(bytes);
            q.read_ptr = buffer;
            q.write_ptr = buffer;
            q.used_msgs = 0;
        }
    });
}

/// Copies a message into the queue (`k_msgq_put`; ISR-safe with `K_NO_WAIT`): 0; `-ENOMSG`
/// when full with `K_NO_WAIT` or when purged while waiting; `-EAGAIN` on timeout.
///
/// # Safety
/// `msgq` must be an initialised message queue; `data` valid for `msg_size` bytes (until the
/// call returns).
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_put(
    msgq: *mut k_msgq,
    data: *const c_void,
    timeout: k_timeout_t,
) -> c_int {
    let outcome = with(|k| {
        check(k, msgq, "k_msgq_put");
        // SAFETY: checked above; the caller guarantees `data`; a waiting getter's buffer
        // stays valid while it waits.
        unsafe {
            let size = (*msgq).msg_size;
            if (*msgq).used_msgs < (*msgq).max_msgs {
                if let Some(t) = k.unpend_first(addr_of_mut!((*msgq).wait_q)) {
                    let t = &mut k.threads[t as usize];
                    copy(data, t.swap_data, size);
                    t.swap_retval = 0;
                    return Outcome::Done(0, true);
                }
                copy(data, (*msgq).write_ptr as *mut c_void, size);
                (*msgq).write_ptr = advance(msgq, (*msgq).write_ptr);
                (*msgq).used_msgs += 1;
                let notified = notify(k, msgq as usize, K_POLL_STATE_MSGQ_DATA_AVAILABLE);
                return Outcome::Done(0, notified);
            }
        }
        if timeout == K_NO_WAIT {
            return Outcome::Done(-ENOMSG, false);
        }
        if k.isr_depth > 0 {
            return Outcome::Isr;
        }
        let cur = k.current as usize;
        k.threads[cur].swap_data = data as *mut c_void;
        k.pend_current(Wait::MsgqPut(msgq), timeout);
        Outcome::Block
    });
    finish(outcome, "k_msgq_put")
}

/// Copies the oldest message out (`k_msgq_get`; ISR-safe with `K_NO_WAIT`): 0; `-ENOMSG`
/// when empty with `K_NO_WAIT` or when purged while waiting; `-EAGAIN` on timeout. A waiting
/// putter's message takes the freed slot.
///
/// # Safety
/// `msgq` must be an initialised message queue; `data` valid for `msg_size` bytes of writes
/// (while the call waits, too).
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_get(
    msgq: *mut k_msgq,
    data: *mut c_void,
    timeout: k_timeout_t,
) -> c_int {
    let outcome = with(|k| {
        check(k, msgq, "k_msgq_get");
        // SAFETY: checked above; the caller guarantees `data`; a waiting putter's message
        // stays valid while it waits.
        unsafe {
            let size = (*msgq).msg_size;
            if (*msgq).used_msgs > 0 {
                copy((*msgq).read_ptr as *const c_void, data, size);
                (*msgq).read_ptr = advance(msgq, (*msgq).read_ptr);
                (*msgq).used_msgs -= 1;
                let mut resched = false;
                if let Some(t) = k.unpend_first(addr_of_mut!((*msgq).wait_q)) {
                    let t = &mut k.threads[t as usize];
                    copy(t.swap_data, (*msgq).write_ptr as *mut c_void, size);
                    (*msgq).write_ptr = advance(msgq, (*msgq).write_ptr);
                    (*msgq).used_msgs += 1;
                    t.swap_retval = 0;
                    resched = true;
                }
                return Outcome::Done(0, resched);
            }
        }
        if timeout == K_NO_WAIT {
            return Outcome::Done(-ENOMSG, false);
        }
        if k.isr_depth > 0 {
            return Outcome::Isr;
        }
        let cur = k.current as usize;
        k.threads[cur].swap_data = data;
        k.pend_current(Wait::MsgqGet(msgq), timeout);
        Outcome::Block
    });
    finish(outcome, "k_msgq_get")
}

/// Messages queued (`k_msgq_num_used_get`).
///
/// # Safety
/// `msgq` must be an initialised message queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_num_used_get(msgq: *mut k_msgq) -> u32 {
    with(|k| {
        check(k, msgq, "k_msgq_num_used_get");
        // SAFETY: checked above.
        unsafe { (*msgq).used_msgs }
    })
}

/// Free slots (`k_msgq_num_free_get`).
///
/// # Safety
/// `msgq` must be an initialised message queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_num_free_get(msgq: *mut k_msgq) -> u32 {
    with(|k| {
        check(k, msgq, "k_msgq_num_free_get");
        // SAFETY: checked above.
        unsafe { (*msgq).max_msgs - (*msgq).used_msgs }
    })
}

/// Drops every queued message; every waiting thread returns `-ENOMSG` (`k_msgq_purge`).
/// Reschedules if it woke any.
///
/// # Safety
/// `msgq` must be an initialised message queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_purge(msgq: *mut k_msgq) {
    let woke = with(|k| {
        check(k, msgq, "k_msgq_purge");
        let mut woke = false;
        // SAFETY: checked above.
        unsafe {
            while let Some(t) = k.unpend_first(addr_of_mut!((*msgq).wait_q)) {
                k.threads[t as usize].swap_retval = -ENOMSG;
                woke = true;
            }
            (*msgq).used_msgs = 0;
            (*msgq).read_ptr = (*msgq).write_ptr;
        }
        woke
    });
    if woke {
        reschedule(false);
    }
}

/// Copies the oldest message out without taking it (`k_msgq_peek`; ISR-safe): 0, or `-ENOMSG`
/// when empty (kernel/msg_q.c: `z_impl_k_msgq_peek`).
///
/// # Safety
/// `msgq` must be an initialised message queue; `data` valid for `msg_size` bytes of writes.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_peek(msgq: *mut k_msgq, data: *mut c_void) -> c_int {
    with(|k| {
        check(k, msgq, "k_msgq_peek");
        // SAFETY: checked above; the caller guarantees `data`.
        unsafe {
            if (*msgq).used_msgs == 0 {
                return -ENOMSG;
            }
            copy((*msgq).read_ptr as *const c_void, data, (*msgq).msg_size);
            0
        }
    })
}

/// Fills `attrs` with the message size, capacity and messages queued (`k_msgq_get_attrs`).
///
/// # Safety
/// `msgq` must be an initialised message queue; `attrs` valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_msgq_get_attrs(msgq: *mut k_msgq, attrs: *mut k_msgq_attrs) {
    with(|k| {
        check(k, msgq, "k_msgq_get_attrs");
        // SAFETY: checked above; the caller guarantees `attrs`.
        unsafe {
            attrs.write(k_msgq_attrs {
                msg_size: (*msgq).msg_size,
                max_msgs: (*msgq).max_msgs,
                used_msgs: (*msgq).used_msgs,
            })
        }
    })
}
