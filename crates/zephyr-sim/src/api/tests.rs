//! The API from ISR context on a board whose threads never run (see `kernel::testing`): every
//! path that does not switch threads, so that miri checks its raw-pointer work (wait-queue
//! links, message copies, queue links, timer re-arming, poll registrations).
//!
//! Waiting "threads" here are registered and pended the way the blocking calls pend the
//! caller, and their results read back as the calls would return them.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::poll::{register, Poller};
use crate::kernel::testing::{in_isr, thread, waiters};
use crate::kernel::{with, FixedBox, Kernel, Wait};

/// `n` thread objects.
fn thread_objects(n: usize) -> Vec<FixedBox<k_thread>> {
    (0..n).map(|_| FixedBox::new(k_thread::new())).collect()
}

/// Registers a thread at `prio` on `obj` and pends it on `wait` with `swap_data`, as the
/// blocking call that waits on `wait` does.
fn waiting(obj: &FixedBox<k_thread>, prio: i32, wait: Wait, swap_data: *mut c_void) -> u32 {
    with(|k| {
        let slot = thread(k, obj, prio);
        k.threads[slot as usize].swap_data = swap_data;
        k.pend_thread(slot, wait, K_FOREVER);
        slot
    })
}

/// What a thread's blocking call returns, and whether it is ready again.
fn result(slot: u32) -> (c_int, bool) {
    with(|k: &mut Kernel| {
        let t = &k.threads[slot as usize];
        (t.swap_retval, t.is_ready())
    })
}

/// `k_sem_give` hands the semaphore to the most urgent, longest waiting thread, whose take
/// returns 0; with nobody waiting it counts up to the limit. `k_sem_take(K_NO_WAIT)` takes a
/// count or returns `-EBUSY`; `k_sem_reset` fails every waiter with `-EAGAIN` (kernel/sem.c).
#[test]
fn semaphore_from_an_isr() {
    in_isr(|| {
        let sem = FixedBox::new(k_sem::new());
        let s = sem.as_ptr();
        let objs = thread_objects(3);
        // SAFETY: `sem` is a live semaphore that does not move (so for every block below).
        assert_eq!(unsafe { k_sem_init(s, 0, 2) }, 0);
        let t: Vec<u32> = [4, 2, 4]
            .iter()
            .zip(&objs)
            .map(|(&prio, obj)| waiting(obj, prio, Wait::Sem(s), null_mut()))
            .collect();
        // SAFETY: as above.
        unsafe { k_sem_give(s) };
        assert_eq!(result(t[1]), (0, true));
        // SAFETY: as above.
        assert_eq!(with(|k| waiters(k, unsafe { addr_of_mut!((*s).wait_q) })), [t[0], t[2]]);

        // SAFETY: as above.
        unsafe { k_sem_reset(s) };
        assert_eq!([result(t[0]), result(t[2])], [(-EAGAIN, true); 2]);
        // SAFETY: as above.
        unsafe {
            for _ in 0..3 {
                k_sem_give(s);
            }
            assert_eq!(k_sem_count_get(s), 2, "gives past the limit are dropped");
            assert_eq!([k_sem_take(s, K_NO_WAIT), k_sem_take(s, K_NO_WAIT)], [0, 0]);
            assert_eq!(k_sem_take(s, K_NO_WAIT), -EBUSY);
        }
    });
}

/// A message queue copies messages into its ring and out in order, wrapping at the end of its
/// buffer. With a getter waiting, a put copies the message straight into the getter's buffer;
/// with a putter waiting on a full queue, a get moves the putter's message into the freed
/// slot; a purge fails waiters with `-ENOMSG` (kernel/msg_q.c).
#[test]
fn message_queue_from_an_isr() {
    in_isr(|| {
        let msgq = FixedBox::new(k_msgq::new());
        let q = msgq.as_ptr();
        let ring = FixedBox::new([0u32; 3]);
        let objs = thread_objects(3);
        let put = |v: u32| {
            // SAFETY: `q` is initialised below and does not move; `v` lives during the call.
            unsafe { k_msgq_put(q, &v as *const u32 as *const c_void, K_NO_WAIT) }
        };
        let get = || {
            let mut v = 0u32;
            // SAFETY: as above; `v` is writable for one message.
            let r = unsafe { k_msgq_get(q, &mut v as *mut u32 as *mut c_void, K_NO_WAIT) };
            (r, v)
        };
        // SAFETY: the ring holds 3 messages of 4 bytes and outlives the queue's use.
        unsafe { k_msgq_init(q, ring.as_ptr().cast(), 4, 3) };

        assert_eq!([put(1), put(2), put(3), put(4)], [0, 0, 0, -ENOMSG]);
        assert_eq!(get(), (0, 1));
        assert_eq!(put(4), 0, "into the slot at the start of the buffer");
        assert_eq!([get(), get(), get(), get()], [(0, 2), (0, 3), (0, 4), (-ENOMSG, 0)]);

        let inbox = FixedBox::new(0u32);
        let getter = waiting(&objs[0], 3, Wait::MsgqGet(q), inbox.as_ptr().cast());
        assert_eq!(put(7), 0);
        // SAFETY: the getter's buffer; the kernel no longer holds it.
        assert_eq!((result(getter), unsafe { *inbox.as_ptr() }), ((0, true), 7));
        // SAFETY: as above.
        assert_eq!(unsafe { k_msgq_num_used_get(q) }, 0, "handed over, not queued");

        assert_eq!([put(8), put(9), put(10)], [0; 3]);
        let outbox = FixedBox::new(11u32);
        let putter = waiting(&objs[1], 3, Wait::MsgqPut(q), outbox.as_ptr().cast());
        assert_eq!(get(), (0, 8));
        assert_eq!(result(putter), (0, true));
        assert_eq!([get(), get(), get()], [(0, 9), (0, 10), (0, 11)]);

        let late = waiting(&objs[2], 3, Wait::MsgqGet(q), inbox.as_ptr().cast());
        // SAFETY: as above.
        unsafe { k_msgq_purge(q) };
        assert_eq!(result(late), (-ENOMSG, true));
    });
}

/// One queue item: the kernel links items through their first word.
#[repr(C)]
struct Item {
    link: *mut c_void,
    value: u32,
}

/// A queue links items through their first word: appends at the tail, prepends at the head,
/// gets from the head. With a getter waiting, an append hands the item straight to it;
/// `k_queue_cancel_wait` makes a getter return null (kernel/queue.c).
#[test]
fn queue_from_an_isr() {
    in_isr(|| {
        let queue = FixedBox::new(k_queue::new());
        let q = queue.as_ptr();
        let items: Vec<FixedBox<Item>> =
            (0..4).map(|value| FixedBox::new(Item { link: null_mut(), value })).collect();
        let item = |i: usize| items[i].as_ptr().cast::<c_void>();
        let value = |p: *mut c_void| {
            assert!(!p.is_null(), "no item");
            // SAFETY: an item of this test, out of the queue.
            unsafe { (*p.cast::<Item>()).value }
        };
        let objs = thread_objects(2);
        // SAFETY: `q` is a live queue that does not move; the items stay valid while queued
        // (so for every block below).
        unsafe {
            k_queue_init(q);
            k_queue_append(q, item(0));
            k_queue_append(q, item(1));
            k_queue_prepend(q, item(2));
            assert_eq!(value(k_queue_peek_head(q)), 2);
            let order: Vec<u32> = (0..3).map(|_| value(k_queue_get(q, K_NO_WAIT))).collect();
            assert_eq!(order, [2, 0, 1]);
            assert!(k_queue_get(q, K_NO_WAIT).is_null());
            assert_eq!(k_queue_is_empty(q), 1);
        }

        let getter = waiting(&objs[0], 1, Wait::QueueGet(q), null_mut());
        // SAFETY: as above.
        unsafe { k_queue_append(q, item(3)) };
        assert_eq!(result(getter), (0, true));
        assert_eq!(value(with(|k| k.threads[getter as usize].swap_data)), 3);
        // SAFETY: as above.
        assert_eq!(unsafe { k_queue_is_empty(q) }, 1, "handed over, not queued");

        let cancelled = waiting(&objs[1], 1, Wait::QueueGet(q), null_mut());
        // SAFETY: as above.
        unsafe { k_queue_cancel_wait(q) };
        assert_eq!(result(cancelled), (0, true));
        assert!(with(|k| k.threads[cancelled as usize].swap_data).is_null());
    });
}

/// Counts expiries through the timer's user data (a `u32`).
unsafe extern "C-unwind" fn count_expiry(timer: *mut k_timer) {
    // SAFETY: the test set the user data to a live `u32`.
    unsafe { *k_timer_user_data_get(timer).cast::<u32>() += 1 };
}

/// Marks the stop through the user data (a `u32`).
unsafe extern "C-unwind" fn mark_stop(timer: *mut k_timer) {
    // SAFETY: as in `count_expiry`.
    unsafe { *k_timer_user_data_get(timer).cast::<u32>() = 1_000 };
}

/// A periodic `k_timer` of duration N and period P first expires N ticks after the current
/// tick, then every P ticks after its previous expiry, without drift (Zephyr 2.7's
/// kernel/timer.c); each expiry runs its expiry function in ISR context and counts in its
/// status. `k_timer_stop` calls the stop function.
#[test]
fn periodic_timer_expires_without_drift() {
    in_isr(|| {
        let timer = FixedBox::new(k_timer::new());
        let t = timer.as_ptr();
        let count = FixedBox::new(0u32);
        // SAFETY: `t` is a live timer that does not move; its user data is a live `u32` (so
        // for every block below).
        unsafe {
            k_timer_init(t, Some(count_expiry), Some(mark_stop));
            k_timer_user_data_set(t, count.as_ptr().cast());
            k_timer_start(t, K_TICKS(10), K_TICKS(5));
            assert_eq!((k_timer_remaining_ticks(t), k_timer_expires_ticks(t)), (10, 10));
        }
        with(|k| k.now = k.cycle_of_tick(25));
        assert!(crate::switch::run_due_interrupts());
        // SAFETY: as above.
        unsafe {
            assert_eq!(*count.as_ptr(), 4, "at ticks 10, 15, 20 and 25");
            assert_eq!(k_timer_status_get(t), 4);
            assert_eq!(k_timer_status_get(t), 0, "reading resets the status");
            assert_eq!(k_timer_expires_ticks(t), 30);
            k_timer_stop(t);
            assert_eq!((*count.as_ptr(), k_timer_remaining_ticks(t)), (1_000, 0));
        }
    });
}

/// `k_poll(K_NO_WAIT)` marks every event whose condition holds. A registered poller (a thread
/// in `k_poll`, registered on every object) is woken by the first object that becomes ready,
/// which sets that event's state and removes the poller's other registrations; a poll
/// signal keeps its result (kernel/poll.c).
#[test]
fn poll_events_from_an_isr() {
    in_isr(|| {
        let sem = FixedBox::new(k_sem::new());
        let sig = FixedBox::new(k_poll_signal::new());
        let (s, g) = (sem.as_ptr(), sig.as_ptr());
        let events = FixedBox::new([
            k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, s.cast()),
            k_poll_event::new(K_POLL_TYPE_SIGNAL, g.cast()),
        ]);
        let ev = events.as_ptr().cast::<k_poll_event>();
        let states = move || {
            // SAFETY: the events are live; the kernel holds no reference to them.
            unsafe { [(*ev).state, (*ev.add(1)).state] }
        };
        // SAFETY: the objects and events are live and do not move (so for every block below).
        unsafe {
            assert_eq!(k_sem_init(s, 1, 1), 0);
            k_poll_signal_init(g);
            assert_eq!(k_poll(ev, 2, K_NO_WAIT), 0);
        }
        assert_eq!(states(), [K_POLL_STATE_SEM_AVAILABLE, K_POLL_STATE_NOT_READY]);

        // SAFETY: as above.
        unsafe {
            assert_eq!(k_sem_take(s, K_NO_WAIT), 0);
            (*ev).state = K_POLL_STATE_NOT_READY;
        }
        let objs = thread_objects(1);
        let poller = with(|k| {
            let slot = thread(k, &objs[0], 0);
            for i in 0..2 {
                // SAFETY: within the two events.
                register(k, unsafe { ev.add(i) }, Poller::Thread(slot));
            }
            k.pend_thread(slot, Wait::Poll { events: ev, num: 2 }, K_FOREVER);
            slot
        });
        let (mut signaled, mut value): (c_uint, c_int) = (0, 0);
        // SAFETY: as above; the outputs are writable.
        unsafe {
            assert_eq!(k_poll_signal_raise(g, 42), 0);
            k_poll_signal_check(g, &mut signaled, &mut value);
        }
        assert_eq!((signaled, value), (1, 42));
        assert_eq!(result(poller), (0, true));
        assert_eq!(states(), [K_POLL_STATE_NOT_READY, K_POLL_STATE_SIGNALED]);
        assert!(with(|k| !k.poll.is_polled(s as usize)), "its other registration is gone");
        // SAFETY: as above.
        unsafe { k_poll_signal_reset(g) };
        // SAFETY: as above.
        unsafe { k_poll_signal_check(g, &mut signaled, &mut value) };
        assert_eq!((signaled, value), (0, 42));
    });
}

/// `zsim_boot_static_get` gives each key one zeroed block per simulation, the same on every
/// call, freed when the simulation ends (miri reports a leak or a bad free).
#[test]
fn boot_statics_are_per_simulation() {
    static KEY: u8 = 0;
    let key = std::ptr::addr_of!(KEY).cast::<c_void>();
    let first = in_isr(|| {
        // SAFETY: a power-of-two alignment.
        let (a, b) = unsafe { (zsim_boot_static(key, 16, 8), zsim_boot_static(key, 16, 8)) };
        assert_eq!(a, b);
        // SAFETY: 16 bytes, zeroed, this simulation's.
        unsafe {
            assert_eq!(*a.cast::<[u64; 2]>(), [0, 0]);
            *a.cast::<u64>() = 7;
        }
        a as usize
    });
    in_isr(|| {
        // SAFETY: as above.
        let a = unsafe { zsim_boot_static(key, 16, 8) };
        // SAFETY: as above.
        assert_eq!(unsafe { *a.cast::<u64>() }, 0, "another simulation's block ({first:#x})");
    });
}
