//! Queues and FIFOs (`kernel/queue.c`) and message queues (`kernel/msg_q.c`), one test per
//! rule. Board: 10 kHz ticks, 1 MHz cycles; main runs at priority 5.

mod common;

use std::ffi::{c_char, c_void};

use common::*;
use zephyr_sys::*;

fn queue() -> *mut k_queue {
    let q: *mut k_queue = leak(k_queue::new());
    // SAFETY: leaked, never moves.
    unsafe { k_queue_init(q) };
    q
}

/// A leaked message queue of `max` u32 messages.
fn msgq(max: u32) -> *mut k_msgq {
    let q: *mut k_msgq = leak(k_msgq::new());
    let buffer = leak(vec![0u32; max as usize]).as_mut_ptr() as *mut c_char;
    // SAFETY: the queue and its buffer are leaked and never move.
    unsafe { k_msgq_init(q, buffer, 4, max) };
    q
}

fn put(q: *mut k_msgq, v: u32, timeout: k_timeout_t) -> i32 {
    // SAFETY: kernel call on a leaked message queue; the message is read during the call.
    unsafe { k_msgq_put(q, &v as *const u32 as *const c_void, timeout) }
}

fn get(q: *mut k_msgq, timeout: k_timeout_t) -> (i32, u32) {
    let mut v = 0u32;
    // SAFETY: kernel call on a leaked message queue; the buffer outlives the call.
    let r = unsafe { k_msgq_get(q, &mut v as *mut u32 as *mut c_void, timeout) };
    (r, v)
}

// ------------------------------------------------------------------ k_queue

/// kernel/queue.c (`queue_insert`, `z_impl_k_queue_get`): append adds at the tail, prepend
/// at the head, get takes the head; each item's first word links to the next; an empty
/// queue reads empty, peeks null, and a K_NO_WAIT get returns null.
#[test]
fn queue_append_prepend_get_in_order() {
    let (r, _) = run(5, || {
        let q = queue();
        let (a, b, c) = (item(1), item(2), item(3));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_queue_append(q, a);
            k_queue_append(q, b);
            k_queue_prepend(q, c);
            let linked = (*(c as *mut Item)).link == a && (*(a as *mut Item)).link == b;
            let head = (value(k_queue_peek_head(q)), k_queue_is_empty(q));
            let got: Vec<Option<u32>> = (0..3).map(|_| value(k_queue_get(q, K_NO_WAIT))).collect();
            let empty = (k_queue_is_empty(q), value(k_queue_peek_head(q)));
            let none = value(k_queue_get(q, K_NO_WAIT));
            (linked, head, got, empty, none)
        }
    });
    assert_eq!(r, (true, (Some(3), 0), vec![Some(3), Some(1), Some(2)], (1, None), None));
}

/// kernel/queue.c (`z_impl_k_queue_get`) + kernel/timeout.c: a get of N ticks on an empty
/// queue returns null N + 1 ticks after the current tick.
#[test]
fn queue_get_times_out_with_null() {
    let (r, _) = run(5, || {
        let q = queue();
        // SAFETY: kernel calls from a simulated thread on a leaked queue.
        unsafe { (value(k_queue_get(q, K_TICKS(5))), k_uptime_ticks()) }
    });
    assert_eq!(r, (None, 6));
}

/// kernel/queue.c (`queue_insert`: `z_unpend_first_thread`): with threads waiting in get, an
/// append hands the item straight to the most urgent (then longest waiting) one, which runs
/// inside the call if more urgent than the caller; the item is never queued.
#[test]
fn a_blocked_getter_receives_the_item_directly() {
    let (r, log) = run(5, || {
        let q = queue();
        for (name, prio) in [("g4", 4), ("g3", 3)] {
            spawn(name, prio, K_NO_WAIT, move || {
                // SAFETY: kernel call from a simulated thread on a leaked queue.
                let got = value(unsafe { k_queue_get(q, K_FOREVER) });
                log!("{name} got {got:?}");
            });
        }
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_queue_append(q, item(10));
            log!("main after first append");
            k_queue_prepend(q, item(20));
            k_queue_is_empty(q)
        }
    });
    assert_eq!(r, 1);
    assert_eq!(log, ["T=0 g3 got Some(10)", "T=0 main after first append", "T=0 g4 got Some(20)"]);
}

/// kernel/queue.c (`z_impl_k_queue_cancel_wait`): cancel_wait makes the first getter return
/// null and notifies the first poller with K_POLL_STATE_CANCELLED (its k_poll returns
/// -EINTR); with nobody waiting, nothing is remembered.
#[test]
fn cancel_wait_releases_a_getter_with_null_and_a_poller_with_eintr() {
    let (r, log) = run(5, || {
        let q = queue();
        spawn("getter", 4, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked queue.
            let got = value(unsafe { k_queue_get(q, K_FOREVER) });
            log!("getter got {got:?}");
        });
        spawn("poller", 3, K_NO_WAIT, move || {
            let ev = leak([k_poll_event::new(K_POLL_TYPE_DATA_AVAILABLE, q as *mut c_void)]);
            let ev = ev.as_mut_ptr();
            // SAFETY: kernel call from a simulated thread on leaked objects.
            let r = unsafe { k_poll(ev, 1, K_FOREVER) };
            // SAFETY: the leaked event.
            let state = unsafe { (*ev).state };
            log!("poller woke {r}, state {state}");
        });
        // SAFETY: kernel calls from a simulated thread on a leaked queue.
        unsafe {
            k_queue_cancel_wait(q);
            log!("main after cancel_wait");
            k_queue_cancel_wait(q);
            value(k_queue_get(q, K_TICKS(2)))
        }
    });
    assert_eq!(r, None);
    assert_eq!(
        log,
        ["T=0 poller woke -4, state 8", "T=0 getter got None", "T=0 main after cancel_wait"]
    );
}

/// kernel/queue.c (`handle_poll_events`) + kernel/poll.c: an append with no getter waiting
/// queues the item and wakes a k_poll waiter with K_POLL_STATE_DATA_AVAILABLE; the item stays
/// queued for it to take. k_fifo is the same object.
#[test]
fn append_wakes_a_k_poll_waiter_and_fifo_is_a_queue() {
    let (_, log) = run(5, || {
        let q: *mut k_fifo = leak(k_fifo::new());
        // SAFETY: leaked, never moves.
        unsafe { k_fifo_init(q) };
        spawn("poller", 3, K_NO_WAIT, move || {
            let ev = leak([k_poll_event::new(K_POLL_TYPE_FIFO_DATA_AVAILABLE, q as *mut c_void)]);
            let ev = ev.as_mut_ptr();
            // SAFETY: kernel calls from a simulated thread on leaked objects.
            unsafe {
                let r = k_poll(ev, 1, K_TIMEOUT_ABS_TICKS(100));
                let got = value(k_fifo_get(q, K_NO_WAIT));
                log!("poller woke {r}, state {}, took {got:?}", (*ev).state);
            }
        });
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_sleep(K_TICKS(3));
            k_fifo_put(q, item(7));
        }
    });
    assert_eq!(log, ["T=4 poller woke 0, state 4, took Some(7)"]);
}

// ------------------------------------------------------------------ k_msgq

/// kernel/msg_q.c (`put_msg_in_queue`, `z_impl_k_msgq_get`): messages come out in order,
/// across the ring's wrap-around; a put into a full queue returns -ENOMSG with K_NO_WAIT and
/// -EAGAIN when its timeout expires (N + 1 ticks later); a get from an empty one likewise.
#[test]
fn msgq_put_get_full_and_empty() {
    let (r, _) = run(5, || {
        let q = msgq(2);
        // SAFETY: kernel calls from a simulated thread on a leaked message queue.
        unsafe {
            let puts = (put(q, 1, K_NO_WAIT), put(q, 2, K_NO_WAIT), put(q, 3, K_NO_WAIT));
            let counts = (k_msgq_num_used_get(q), k_msgq_num_free_get(q));
            let full = (put(q, 3, K_TICKS(5)), k_uptime_ticks());
            let gets = (get(q, K_NO_WAIT), get(q, K_NO_WAIT), get(q, K_NO_WAIT));
            let empty = (get(q, K_TICKS(3)), k_uptime_ticks());
            put(q, 3, K_NO_WAIT);
            put(q, 4, K_NO_WAIT);
            let wrapped = (get(q, K_NO_WAIT), get(q, K_NO_WAIT), k_msgq_num_free_get(q));
            (puts, counts, full, gets, empty, wrapped)
        }
    });
    assert_eq!(
        r,
        (
            (0, 0, -ENOMSG),
            (2, 0),
            (-EAGAIN, 6),
            ((0, 1), (0, 2), (-ENOMSG, 0)),
            ((-EAGAIN, 0), 10),
            ((0, 3), (0, 4), 2)
        )
    );
}

/// kernel/msg_q.c (`put_msg_in_queue`: the first waiting receiver gets the message copied
/// into its buffer): a blocked getter receives a put message directly, also from an ISR
/// (K_NO_WAIT), and the message is never stored.
#[test]
fn a_blocked_getter_gets_a_put_message_directly() {
    let (r, log) = run(5, || {
        let q = msgq(2);
        spawn("getter", 3, K_NO_WAIT, move || {
            for _ in 0..2 {
                let (r, v) = get(q, K_FOREVER);
                log!("getter got {v}: {r}");
            }
        });
        let r = put(q, 42, K_NO_WAIT);
        log!("put returned {r}");
        let qa = q as usize;
        zephyr_sim::irq::raise_after_us(300, move || {
            log!("isr put returned {}", put(qa as *mut k_msgq, 43, K_NO_WAIT));
        });
        // SAFETY: kernel calls from a simulated thread on a leaked message queue.
        unsafe {
            k_msleep(1);
            k_msgq_num_used_get(q)
        }
    });
    assert_eq!(r, 0);
    assert_eq!(
        log,
        [
            "T=0 getter got 42: 0",
            "T=0 put returned 0",
            "T=3 isr put returned 0",
            "T=3 getter got 43: 0"
        ]
    );
}

/// kernel/msg_q.c (`z_impl_k_msgq_get`: the first waiting sender's message fills the freed
/// slot): a get from a full queue with a putter waiting returns the oldest message and
/// queues the putter's, which returns 0.
#[test]
fn a_get_moves_a_blocked_putters_message_in() {
    let (r, log) = run(5, || {
        let q = msgq(2);
        put(q, 1, K_NO_WAIT);
        put(q, 2, K_NO_WAIT);
        spawn("putter", 4, K_NO_WAIT, move || {
            let r = put(q, 3, K_FOREVER);
            log!("putter returned {r}");
        });
        let first = get(q, K_NO_WAIT);
        // SAFETY: kernel call on a leaked message queue.
        let used = unsafe { k_msgq_num_used_get(q) };
        (first, used, get(q, K_NO_WAIT), get(q, K_NO_WAIT))
    });
    assert_eq!(r, ((0, 1), 2, (0, 2), (0, 3)));
    assert_eq!(log, ["T=0 putter returned 0"]);
}

/// kernel/msg_q.c (`z_impl_k_msgq_purge`): purge drops every message and makes every waiting
/// putter return -ENOMSG.
#[test]
fn purge_drops_messages_and_fails_waiting_putters() {
    let (r, log) = run(5, || {
        let q = msgq(2);
        put(q, 1, K_NO_WAIT);
        put(q, 2, K_NO_WAIT);
        spawn("putter", 3, K_NO_WAIT, move || {
            let r = put(q, 3, K_FOREVER);
            log!("putter returned {r}");
        });
        // SAFETY: kernel calls from a simulated thread on a leaked message queue.
        unsafe {
            k_msgq_purge(q);
            log!("main after purge");
            (k_msgq_num_used_get(q), k_msgq_num_free_get(q), get(q, K_NO_WAIT))
        }
    });
    assert_eq!(r, (0, 2, (-ENOMSG, 0)));
    assert_eq!(log, ["T=0 putter returned -35", "T=0 main after purge"]);
}

/// kernel/msg_q.c (`msgq_handle_poll_events`) + kernel/poll.c: a put that stores a message
/// wakes a k_poll waiter with K_POLL_STATE_MSGQ_DATA_AVAILABLE.
#[test]
fn put_wakes_a_k_poll_waiter() {
    let (_, log) = run(5, || {
        let q = msgq(2);
        spawn("poller", 3, K_NO_WAIT, move || {
            let ev = leak([k_poll_event::new(K_POLL_TYPE_MSGQ_DATA_AVAILABLE, q as *mut c_void)]);
            let ev = ev.as_mut_ptr();
            // SAFETY: kernel calls from a simulated thread on leaked objects.
            let r = unsafe { k_poll(ev, 1, K_FOREVER) };
            // SAFETY: the leaked event.
            let state = unsafe { (*ev).state };
            log!("poller woke {r}, state {state}, message {:?}", get(q, K_NO_WAIT));
        });
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_sleep(K_TICKS(2)) };
        put(q, 9, K_NO_WAIT);
    });
    assert_eq!(log, ["T=3 poller woke 0, state 16, message (0, 9)"]);
}
