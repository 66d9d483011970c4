//! Queues of data items (`kernel/queue.c`); a `k_fifo` is the same object.
//!
//! Items are linked through their first word, which the kernel overwrites (as in Zephyr's
//! `sys_sflist`): `head` and `tail` point at the items, each item's first word at the next,
//! with the item's own flags in the low two bits. An append, prepend or insert with a thread
//! waiting in `k_queue_get` hands the item straight to the first waiter (most urgent, then
//! longest waiting) without queueing it; otherwise the item is linked in and the first
//! `k_poll` event registered on the queue is notified. A call that woke a thread or notified
//! a poller reschedules (kernel/queue.c: `queue_insert`).
//!
//! The `alloc` variants (`k_queue_alloc_append`, `k_queue_alloc_prepend`, hence
//! `k_fifo_alloc_put`, `k_lifo_alloc_put`) leave the item's memory alone: with nobody
//! waiting they queue a two-word node allocated from the caller's resource pool (the system
//! heap in an ISR; `-ENOMEM` without one), flagged 1, that `k_queue_get` frees.
//! A `k_lifo` is this queue used at its head (`k_lifo_put` is `k_queue_prepend`).
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

/// The flag of a node allocated by the `alloc` variants (`sys_sfnode` flags 0x1).
const ALLOC_NODE: usize = 0x1;
const FLAG_MASK: usize = 0x3;

/// The node after `node`.
///
/// # Safety
/// `node` must be a queued node.
unsafe fn next(node: *mut c_void) -> *mut c_void {
    // SAFETY: caller's contract.
    let word = unsafe { *link(node) };
    // Clears the flag bits by moving the pointer back (keeping its provenance).
    word.wrapping_byte_sub(word as usize & FLAG_MASK)
}

/// Links `node` to `to`, keeping `node`'s flags.
///
/// # Safety
/// `node` must be a queued node (or one being queued, with its flags set).
unsafe fn set_next(node: *mut c_void, to: *mut c_void) {
    // SAFETY: caller's contract.
    unsafe {
        let flags = *link(node) as usize & FLAG_MASK;
        // `to` is word-aligned (its flag bits are 0): adding the flags sets them, and keeps
        // `to`'s provenance (no integer-to-pointer cast).
        *link(node) = to.wrapping_byte_sub(to as usize & FLAG_MASK).wrapping_byte_add(flags);
    }
}

/// The data of a node: the node itself, or what an allocated node points at.
///
/// # Safety
/// `node` must be a queued node.
unsafe fn data_of(node: *mut c_void) -> *mut c_void {
    // SAFETY: caller's contract: an allocated node is two words, the data in the second.
    unsafe {
        if *link(node) as usize & ALLOC_NODE != 0 {
            *link(node).add(1)
        } else {
            node
        }
    }
}

/// Unlinks `node` from after `prev` (null: the head).
///
/// # Safety
/// `prev` must be null or the node before `node`, both queued in `queue`.
unsafe fn unlink_after(queue: *mut k_queue, prev: *mut c_void, node: *mut c_void) {
    // SAFETY: caller's contract.
    unsafe {
        let q = &mut *queue;
        let after = next(node);
        if prev.is_null() {
            q.head = after;
        } else {
            set_next(prev, after);
        }
        if q.tail == node {
            q.tail = prev;
        }
    }
}

/// Takes the head node; returns its data, freeing an allocated node (then `.1` says whether
/// the free woke a thread waiting on the heap).
///
/// # Safety
/// `queue` must be initialised and not empty.
unsafe fn take_head(k: &mut Kernel, queue: *mut k_queue) -> (*mut c_void, bool) {
    // SAFETY: caller's contract.
    unsafe {
        let node = (*queue).head;
        unlink_after(queue, null_mut(), node);
        let data = data_of(node);
        let woke = if *link(node) as usize & ALLOC_NODE != 0 {
            super::heap::ref_free(k, node)
        } else {
            false
        };
        (data, woke)
    }
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

/// Where [`insert`] puts an item.
#[derive(Clone, Copy)]
enum At {
    /// At the tail.
    Tail,
    /// After this item (null: at the head).
    After(*mut c_void),
}

/// `queue_insert`: hands `data` to the first waiter, or links it in (through an allocated
/// node if `alloc`) and notifies a poller; then reschedules. 0, or `-ENOMEM` when `alloc`
/// finds no memory.
fn insert(queue: *mut k_queue, at: At, data: *mut c_void, alloc: bool, call: &str) -> i32 {
    assert!(alloc || !data.is_null(), "{call}: data is NULL");
    let (r, resched) = with(|k| {
        check(k, queue, call);
        // SAFETY: checked above.
        if let Some(t) = k.unpend_first(unsafe { addr_of_mut!((*queue).wait_q) }) {
            let t = &mut k.threads[t as usize];
            t.swap_retval = 0;
            t.swap_data = data;
            return (0, true);
        }
        let node = if alloc {
            let node = super::heap::thread_malloc(k, 2 * std::mem::size_of::<*mut c_void>());
            if node.is_null() {
                return (-ENOMEM, false);
            }
            // SAFETY: a fresh two-word node.
            unsafe {
                *link(node) = std::ptr::null_mut::<c_void>().wrapping_byte_add(ALLOC_NODE);
                *link(node).add(1) = data;
            }
            node
        } else {
            // SAFETY: the caller guarantees the item's first word is writable.
            unsafe { *link(data) = null_mut() };
            data
        };
        // SAFETY: checked above; the caller guarantees the item stays valid while queued and
        // that `prev` is queued here.
        unsafe {
            let q = &mut *queue;
            let prev = match at {
                At::Tail => q.tail,
                At::After(prev) => prev,
            };
            if prev.is_null() {
                set_next(node, q.head);
                q.head = node;
            } else {
                set_next(node, next(prev));
                set_next(prev, node);
            }
            if q.tail == prev {
                q.tail = node;
            }
        }
        let notified = notify(k, queue as usize, K_POLL_STATE_DATA_AVAILABLE);
        (0, notified)
    });
    yield_then_mark_ready();
    if resched {
        reschedule(false);
    }
    r
}

/// Appends an item (`k_queue_append`, also `k_fifo_put`; ISR-safe); its first word is
/// overwritten with the link. A waiting getter receives it directly.
///
/// # Safety
/// `queue` must be an initialised queue; `data` a valid item (at least one pointer, aligned)
/// that stays valid while queued.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_append(queue: *mut k_queue, data: *mut c_void) {
    insert(queue, At::Tail, data, false, "k_queue_append");
}

/// Prepends an item (`k_queue_prepend`, ISR-safe); see [`k_queue_append`].
///
/// # Safety
/// As [`k_queue_append`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_prepend(queue: *mut k_queue, data: *mut c_void) {
    insert(queue, At::After(null_mut()), data, false, "k_queue_prepend");
}

/// Inserts an item after `prev` (null: at the head) (`k_queue_insert`, ISR-safe); see
/// [`k_queue_append`].
///
/// # Safety
/// As [`k_queue_append`]; `prev` null or an item queued in `queue`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_insert(
    queue: *mut k_queue,
    prev: *mut c_void,
    data: *mut c_void,
) {
    insert(queue, At::After(prev), data, false, "k_queue_insert");
}

/// Appends `data` through a node allocated from the caller's resource pool (the system heap
/// in an ISR) (`k_queue_alloc_append`, ISR-safe): 0, or `-ENOMEM` with no pool or no room. A
/// waiting getter receives `data` directly (nothing is allocated).
///
/// # Safety
/// `queue` must be an initialised queue; `data` is not touched.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_alloc_append(
    queue: *mut k_queue,
    data: *mut c_void,
) -> i32 {
    insert(queue, At::Tail, data, true, "k_queue_alloc_append")
}

/// Prepends as [`k_queue_alloc_append`] appends (`k_queue_alloc_prepend`).
///
/// # Safety
/// As [`k_queue_alloc_append`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_alloc_prepend(
    queue: *mut k_queue,
    data: *mut c_void,
) -> i32 {
    insert(queue, At::After(null_mut()), data, true, "k_queue_alloc_prepend")
}

/// Appends the null-terminated list `head`..`tail` (`k_queue_append_list`): items go to the
/// waiting getters first, one each, in wait-queue order; the rest is linked in at once and a
/// poller notified. 0, or `-EINVAL` if `head` or `tail` is null. Reschedules.
///
/// # Safety
/// `queue` must be an initialised queue; the list's items linked through their first words
/// (plain items, flags 0), `tail` its last, valid while queued.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_append_list(
    queue: *mut k_queue,
    head: *mut c_void,
    tail: *mut c_void,
) -> c_int {
    if head.is_null() || tail.is_null() {
        return -EINVAL;
    }
    with(|k| {
        check(k, queue, "k_queue_append_list");
        let mut head = head;
        // SAFETY: checked above; the caller guarantees the list.
        unsafe {
            while !head.is_null() {
                let Some(t) = k.unpend_first(addr_of_mut!((*queue).wait_q)) else { break };
                let t = &mut k.threads[t as usize];
                t.swap_retval = 0;
                t.swap_data = head;
                head = *link(head);
            }
            if !head.is_null() {
                let q = &mut *queue;
                if q.tail.is_null() {
                    q.head = head;
                } else {
                    set_next(q.tail, head);
                }
                q.tail = tail;
            }
        }
        notify(k, queue as usize, K_POLL_STATE_DATA_AVAILABLE);
    });
    yield_then_mark_ready();
    reschedule(false);
    0
}

/// Moves every node of `list` into the queue as [`k_queue_append_list`] and empties `list`
/// (`k_queue_merge_slist`): 0, or `-EINVAL` for an empty list.
///
/// # Safety
/// As [`k_queue_append_list`]; `list` a valid list.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_merge_slist(
    queue: *mut k_queue,
    list: *mut sys_slist_t,
) -> c_int {
    assert!(!list.is_null(), "k_queue_merge_slist: list is NULL");
    // SAFETY: the caller guarantees `list`.
    let (head, tail) = unsafe { ((*list).head, (*list).tail) };
    if head.is_null() {
        return -EINVAL;
    }
    // SAFETY: forwarded contract.
    let r = unsafe { k_queue_append_list(queue, head, tail) };
    if r == 0 {
        // SAFETY: as above.
        unsafe {
            (*list).head = null_mut();
            (*list).tail = null_mut();
        }
    }
    r
}

/// Removes `data` from the queue if it is queued there (`k_queue_remove`): true if it was. Not
/// for items queued by the `alloc` variants (their nodes are not the data).
///
/// # Safety
/// `queue` must be an initialised queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_remove(queue: *mut k_queue, data: *mut c_void) -> bool {
    with(|k| {
        check(k, queue, "k_queue_remove");
        // SAFETY: checked above; queued nodes are valid.
        unsafe {
            let mut prev = null_mut();
            let mut node = (*queue).head;
            while !node.is_null() {
                if node == data {
                    unlink_after(queue, prev, node);
                    return true;
                }
                prev = node;
                node = next(node);
            }
            false
        }
    })
}

/// Appends `data` unless it is already queued (`k_queue_unique_append`): false if it was.
///
/// # Safety
/// As [`k_queue_append`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_unique_append(
    queue: *mut k_queue,
    data: *mut c_void,
) -> bool {
    let queued = with(|k| {
        check(k, queue, "k_queue_unique_append");
        // SAFETY: checked above; queued nodes are valid.
        unsafe {
            let mut node = (*queue).head;
            while !node.is_null() {
                if node == data {
                    return true;
                }
                node = next(node);
            }
            false
        }
    });
    if queued {
        return false;
    }
    insert(queue, At::Tail, data, false, "k_queue_unique_append");
    true
}

/// The last item without taking it, or null (`k_queue_peek_tail`).
///
/// # Safety
/// `queue` must be an initialised queue.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_queue_peek_tail(queue: *mut k_queue) -> *mut c_void {
    with(|k| {
        check(k, queue, "k_queue_peek_tail");
        // SAFETY: checked above; queued nodes are valid.
        unsafe {
            let t = (*queue).tail;
            if t.is_null() {
                t
            } else {
                data_of(t)
            }
        }
    })
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
            if !(*queue).head.is_null() {
                return Ok(take_head(k, queue));
            }
        }
        if timeout == K_NO_WAIT {
            return Ok((null_mut(), false));
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
        Ok((data, woke)) => {
            // Freeing an allocated node may have woken a thread waiting on its heap.
            if woke {
                reschedule(false);
            }
            data
        }
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
        // SAFETY: checked above; queued nodes are valid.
        unsafe {
            let h = (*queue).head;
            if h.is_null() {
                h
            } else {
                data_of(h)
            }
        }
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
