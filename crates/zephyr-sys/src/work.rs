//! Work queues, polling and queues (`include/zephyr/kernel.h`: `k_work`, `k_work_delayable`,
//! `k_work_q`, `k_poll`, `k_poll_signal`, `k_work_poll`, `k_queue`/`k_fifo`, `k_msgq`).
//!
//! The object layouts come from the provider (the simulator's, or the application's Zephyr
//! build); this module declares the functions.

use core::ffi::{c_char, c_int, c_uint, c_void};

use crate::{
    k_msgq, k_poll_event, k_poll_signal, k_queue, k_thread_stack_t, k_tid_t, k_timeout_t, k_work,
    k_work_delayable, k_work_handler_t, k_work_poll, k_work_q, k_work_queue_config, k_work_sync,
};

#[cfg(not(feature = "simulator"))]
extern "C" {
    /// The system work queue, started at boot (`k_sys_work_q`; priority
    /// `CONFIG_SYSTEM_WORKQUEUE_PRIORITY`, -1 by default).
    pub static mut k_sys_work_q: k_work_q;
}

#[cfg(feature = "simulator")]
extern "C-unwind" {
    /// Simulator extension: this simulation's system work queue. The simulator starts it
    /// (thread `sysworkq` at [`CONFIG_SYSTEM_WORKQUEUE_PRIORITY`](crate::CONFIG_SYSTEM_WORKQUEUE_PRIORITY)) the first time it is used,
    /// already waiting for work as if started at boot; a simulation that never uses it has no
    /// such thread.
    pub fn zsim_sys_work_q() -> *mut k_work_q;
}

/// The system work queue (`&k_sys_work_q`): on the simulator, each simulation has its own.
#[inline]
pub fn k_sys_work_q_ptr() -> *mut k_work_q {
    #[cfg(feature = "simulator")]
    {
        // SAFETY: a plain getter, callable from any context while a simulation runs.
        unsafe { zsim_sys_work_q() }
    }
    #[cfg(not(feature = "simulator"))]
    {
        // Taking the address of the kernel's static does not access it.
        core::ptr::addr_of_mut!(k_sys_work_q)
    }
}

kernel_api! {
    // ---- work queues (kernel/work.c) ----
    /// Initialises a work queue object (`k_work_queue_init`).
    pub fn k_work_queue_init(queue: *mut k_work_q);
    /// Starts a work queue's thread (`k_work_queue_start`).
    pub fn k_work_queue_start(
        queue: *mut k_work_q,
        stack: *mut k_thread_stack_t,
        stack_size: usize,
        prio: c_int,
        cfg: *const k_work_queue_config,
    );
    /// The thread of a work queue (`k_work_queue_thread_get`).
    pub fn k_work_queue_thread_get(queue: *mut k_work_q) -> k_tid_t;
    /// Initialises a work item (`k_work_init`).
    pub fn k_work_init(work: *mut k_work, handler: k_work_handler_t);
    /// Submits to a queue: 0 already queued, 1 queued, 2 re-queued while running; `-EBUSY`
    /// while cancelling, `-EINVAL` for a null queue, `-ENODEV` for a queue not started
    /// (`k_work_submit_to_queue`).
    pub fn k_work_submit_to_queue(queue: *mut k_work_q, work: *mut k_work) -> c_int;
    /// Submits to the system work queue (`k_work_submit`).
    pub fn k_work_submit(work: *mut k_work) -> c_int;
    /// The `K_WORK_*` state bits (`k_work_busy_get`).
    pub fn k_work_busy_get(work: *const k_work) -> c_int;
    /// Cancels: takes a queued item off its queue; returns the remaining busy bits
    /// (`k_work_cancel`).
    pub fn k_work_cancel(work: *mut k_work) -> c_int;
    /// Cancels and waits for a running handler to finish; true if it was busy
    /// (`k_work_cancel_sync`).
    pub fn k_work_cancel_sync(work: *mut k_work, sync: *mut k_work_sync) -> bool;
    /// Waits until the item is neither queued nor running; true if it had to wait
    /// (`k_work_flush`).
    pub fn k_work_flush(work: *mut k_work, sync: *mut k_work_sync) -> bool;
    /// Initialises delayable work (`k_work_init_delayable`).
    pub fn k_work_init_delayable(dwork: *mut k_work_delayable, handler: k_work_handler_t);
    /// Schedules unless already scheduled or queued: 0, 1, 2 or a negative errno
    /// (`k_work_schedule_for_queue`).
    pub fn k_work_schedule_for_queue(
        queue: *mut k_work_q,
        dwork: *mut k_work_delayable,
        delay: k_timeout_t,
    ) -> c_int;
    /// [`k_work_schedule_for_queue`] on the system work queue (`k_work_schedule`).
    pub fn k_work_schedule(dwork: *mut k_work_delayable, delay: k_timeout_t) -> c_int;
    /// Schedules, replacing any pending delay (`k_work_reschedule_for_queue`).
    pub fn k_work_reschedule_for_queue(
        queue: *mut k_work_q,
        dwork: *mut k_work_delayable,
        delay: k_timeout_t,
    ) -> c_int;
    /// [`k_work_reschedule_for_queue`] on the system work queue (`k_work_reschedule`).
    pub fn k_work_reschedule(dwork: *mut k_work_delayable, delay: k_timeout_t) -> c_int;
    /// Cancels a pending delay or queued item; returns the remaining busy bits
    /// (`k_work_cancel_delayable`).
    pub fn k_work_cancel_delayable(dwork: *mut k_work_delayable) -> c_int;
    /// Cancels delayable work and waits for a running handler to finish; true if it was busy
    /// (`k_work_cancel_delayable_sync`).
    pub fn k_work_cancel_delayable_sync(
        dwork: *mut k_work_delayable,
        sync: *mut k_work_sync,
    ) -> bool;

    // ---- polling (kernel/poll.c) ----
    /// Initialises a poll event (`k_poll_event_init`).
    pub fn k_poll_event_init(event: *mut k_poll_event, type_: u32, mode: c_int, obj: *mut c_void);
    /// Waits until one of the events is ready: 0, `-EAGAIN` on timeout, `-EINTR` when a queue
    /// wait was cancelled (`k_poll`).
    pub fn k_poll(events: *mut k_poll_event, num_events: c_int, timeout: k_timeout_t) -> c_int;
    /// Initialises a poll signal (`k_poll_signal_init`).
    pub fn k_poll_signal_init(sig: *mut k_poll_signal);
    /// Clears a signal (`k_poll_signal_reset`).
    pub fn k_poll_signal_reset(sig: *mut k_poll_signal);
    /// Reads a signal's state and result (`k_poll_signal_check`).
    pub fn k_poll_signal_check(sig: *mut k_poll_signal, signaled: *mut c_uint, result: *mut c_int);
    /// Raises a signal with `result`, notifying the first poller (ISR-safe;
    /// `k_poll_signal_raise`).
    pub fn k_poll_signal_raise(sig: *mut k_poll_signal, result: c_int) -> c_int;
    /// Initialises triggered work (`k_work_poll_init`).
    pub fn k_work_poll_init(work: *mut k_work_poll, handler: k_work_handler_t);
    /// Submits triggered work: queued on `work_q` when an event is ready (`poll_result` 0) or
    /// when `timeout` expires (`-EAGAIN`). `-EADDRINUSE` if pending on another queue
    /// (`k_work_poll_submit_to_queue`).
    pub fn k_work_poll_submit_to_queue(
        work_q: *mut k_work_q,
        work: *mut k_work_poll,
        events: *mut k_poll_event,
        num_events: c_int,
        timeout: k_timeout_t,
    ) -> c_int;
    /// [`k_work_poll_submit_to_queue`] on the system work queue (`k_work_poll_submit`).
    pub fn k_work_poll_submit(
        work: *mut k_work_poll,
        events: *mut k_poll_event,
        num_events: c_int,
        timeout: k_timeout_t,
    ) -> c_int;
    /// Cancels triggered work still waiting for its events: 0, or `-EINVAL` if it already
    /// triggered or was never submitted (`k_work_poll_cancel`).
    pub fn k_work_poll_cancel(work: *mut k_work_poll) -> c_int;

    // ---- queues (kernel/queue.c) ----
    /// Initialises a queue (`k_queue_init`).
    pub fn k_queue_init(queue: *mut k_queue);
    /// Appends an item (its first word is overwritten with a link; ISR-safe;
    /// `k_queue_append`).
    pub fn k_queue_append(queue: *mut k_queue, data: *mut c_void);
    /// Prepends an item (`k_queue_prepend`).
    pub fn k_queue_prepend(queue: *mut k_queue, data: *mut c_void);
    /// Takes the first item, waiting up to `timeout`; null if none (`k_queue_get`).
    pub fn k_queue_get(queue: *mut k_queue, timeout: k_timeout_t) -> *mut c_void;
    /// Whether the queue is empty (nonzero) (`k_queue_is_empty`).
    pub fn k_queue_is_empty(queue: *mut k_queue) -> c_int;
    /// The first item without taking it, or null (`k_queue_peek_head`).
    pub fn k_queue_peek_head(queue: *mut k_queue) -> *mut c_void;
    /// Makes one waiter of `k_queue_get` return null at once (`k_queue_cancel_wait`).
    pub fn k_queue_cancel_wait(queue: *mut k_queue);

    // ---- message queues (kernel/msg_q.c) ----
    /// Initialises a message queue on `buffer` (`msg_size * max_msgs` bytes; `k_msgq_init`).
    pub fn k_msgq_init(msgq: *mut k_msgq, buffer: *mut c_char, msg_size: usize, max_msgs: u32);
    /// Copies a message in: 0, `-ENOMSG` when full with `K_NO_WAIT`, `-EAGAIN` on timeout
    /// (`k_msgq_put`).
    pub fn k_msgq_put(msgq: *mut k_msgq, data: *const c_void, timeout: k_timeout_t) -> c_int;
    /// Copies a message out: 0, `-ENOMSG` when empty with `K_NO_WAIT`, `-EAGAIN` on timeout
    /// (`k_msgq_get`).
    pub fn k_msgq_get(msgq: *mut k_msgq, data: *mut c_void, timeout: k_timeout_t) -> c_int;
    /// Messages queued (`k_msgq_num_used_get`).
    pub fn k_msgq_num_used_get(msgq: *mut k_msgq) -> u32;
    /// Free slots (`k_msgq_num_free_get`).
    pub fn k_msgq_num_free_get(msgq: *mut k_msgq) -> u32;
    /// Drops every queued message; waiting putters return `-ENOMSG` (`k_msgq_purge`).
    pub fn k_msgq_purge(msgq: *mut k_msgq);
}

/// A `k_fifo` is a `k_queue` (`struct k_fifo`).
pub type k_fifo = k_queue;

/// Initialises a FIFO (`k_fifo_init`).
///
/// # Safety
/// As [`k_queue_init`].
pub unsafe fn k_fifo_init(fifo: *mut k_fifo) {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_init(fifo) }
}

/// Adds an item at the end of a FIFO (`k_fifo_put`).
///
/// # Safety
/// As [`k_queue_append`].
pub unsafe fn k_fifo_put(fifo: *mut k_fifo, data: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_append(fifo, data) }
}

/// Takes the first item of a FIFO (`k_fifo_get`).
///
/// # Safety
/// As [`k_queue_get`].
pub unsafe fn k_fifo_get(fifo: *mut k_fifo, timeout: k_timeout_t) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_get(fifo, timeout) }
}
