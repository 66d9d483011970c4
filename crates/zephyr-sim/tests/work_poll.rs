//! Work queues and delayable work (`kernel/work.c`), polling and triggered work
//! (`kernel/poll.c`), one test per rule. Board: 10 kHz ticks, 1 MHz cycles; main runs at
//! priority 5 unless a test says otherwise.

mod common;

use std::ffi::{c_void, CStr, CString};
use std::ptr::null_mut;

use common::*;
use zephyr_sim::{Sim, SimError};
use zephyr_sys::work_flags::*;
use zephyr_sys::*;

// ------------------------------------------------------------------ helpers

/// A kernel object with a Rust closure, for handlers (`obj` first: the kernel's pointer to
/// the `k_work` at its start is a pointer to the whole job).
#[repr(C)]
struct Job<T> {
    obj: T,
    f: Box<dyn Fn(*mut k_work)>,
}

unsafe extern "C-unwind" fn run_job<T>(work: *mut k_work) {
    // SAFETY: `work` is the k_work at the start of `obj`, the first field of a repr(C) Job<T>
    // leaked by one of the constructors below.
    let job = unsafe { &*(work as *const Job<T>) };
    (job.f)(work)
}

/// A leaked work item running `f`.
fn work(f: impl Fn(*mut k_work) + 'static) -> *mut k_work {
    let job = leak(Job { obj: k_work::new(), f: Box::new(f) });
    let w: *mut k_work = &mut job.obj;
    // SAFETY: the item is leaked and never moves.
    unsafe { k_work_init(w, Some(run_job::<k_work>)) };
    w
}

/// A leaked delayable work item running `f`.
fn delayable(f: impl Fn() + 'static) -> *mut k_work_delayable {
    let job = leak(Job { obj: k_work_delayable::new(), f: Box::new(move |_| f()) });
    let d: *mut k_work_delayable = &mut job.obj;
    // SAFETY: as above.
    unsafe { k_work_init_delayable(d, Some(run_job::<k_work_delayable>)) };
    d
}

/// A leaked triggered work item running `f` (which gets the item, to read `poll_result`).
fn triggered(f: impl Fn(*mut k_work_poll) + 'static) -> *mut k_work_poll {
    let job = leak(Job { obj: k_work_poll::new(), f: Box::new(move |w| f(w as *mut k_work_poll)) });
    let t: *mut k_work_poll = &mut job.obj;
    // SAFETY: as above.
    unsafe { k_work_poll_init(t, Some(run_job::<k_work_poll>)) };
    t
}

/// A leaked work queue, started at `prio` on a thread named `name`.
fn start_queue(name: &str, prio: i32) -> *mut k_work_q {
    let q: *mut k_work_q = leak(k_work_q::new());
    let name = CString::new(name).unwrap();
    let cfg = k_work_queue_config { name: name.as_ptr(), no_yield: false };
    // SAFETY: the queue is leaked; the name is copied during the call.
    unsafe {
        k_work_queue_init(q);
        k_work_queue_start(q, null_mut(), 0, prio, &cfg);
    }
    q
}

/// Leaked poll events.
fn events<const N: usize>(list: [k_poll_event; N]) -> *mut k_poll_event {
    leak(list).as_mut_ptr()
}

fn state(events: *mut k_poll_event, i: usize) -> u32 {
    // SAFETY: `events` come from `events()` and hold at least `i + 1` entries.
    unsafe { (*events.add(i)).state }
}

fn clear_states(events: *mut k_poll_event, n: usize) {
    for i in 0..n {
        // SAFETY: as above.
        unsafe { (*events.add(i)).state = K_POLL_STATE_NOT_READY };
    }
}

fn signal() -> *mut k_poll_signal {
    let s: *mut k_poll_signal = leak(k_poll_signal::new());
    // SAFETY: leaked, never moves.
    unsafe { k_poll_signal_init(s) };
    s
}

fn obj<T>(p: *mut T) -> *mut c_void {
    p as *mut c_void
}

/// Name of the calling thread.
fn me() -> String {
    // SAFETY: kernel calls from a simulated thread; thread names are NUL-terminated.
    unsafe { CStr::from_ptr(k_thread_name_get(k_current_get())).to_string_lossy().into_owned() }
}

fn poll_result(tw: *mut k_work_poll) -> i32 {
    // SAFETY: triggered work from `triggered()`.
    unsafe { (*tw).poll_result }
}

// ------------------------------------------------------------------ work queues

/// kernel/work.c (`submit_to_queue_locked`, `queue_submit_locked`): a submit returns 1 when
/// it queues the item, 0 when it is already queued; -EINVAL with a null queue for an item
/// never submitted (a null queue otherwise means the last queue); -ENODEV for a queue never
/// started (initialised or all zero).
#[test]
fn submit_return_codes() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 7);
        let initialised: *mut k_work_q = leak(k_work_q::new());
        let zeroed: *mut k_work_q = leak(k_work_q::new());
        let w = work(|_| log!("w runs on {}", me()));
        let fresh = work(|_| {});
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_queue_init(initialised);
            let no_queue = k_work_submit_to_queue(null_mut(), fresh);
            let not_started = k_work_submit_to_queue(initialised, w);
            let all_zero = k_work_submit_to_queue(zeroed, w);
            let queued = k_work_submit_to_queue(q, w);
            let again = k_work_submit_to_queue(q, w);
            let busy = k_work_busy_get(w);
            k_msleep(1);
            let last_queue = k_work_submit_to_queue(null_mut(), w);
            k_msleep(1);
            (no_queue, not_started, all_zero, queued, again, busy, last_queue, k_work_busy_get(w))
        }
    });
    assert_eq!(r, (-EINVAL, -ENODEV, -ENODEV, 1, 0, K_WORK_QUEUED, 1, 0));
    assert_eq!(log, ["T=0 w runs on wq", "T=11 w runs on wq"]);
}

/// kernel/work.c (`cancel_async_locked`, `submit_to_queue_locked`): cancelling an item whose
/// handler runs flags it K_WORK_CANCELING (k_work_cancel returns RUNNING | CANCELING); until
/// the handler returns, a submit is refused with -EBUSY.
#[test]
fn submit_while_cancelling_is_ebusy() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let s = sem(0, 1);
        let w = work(move |_| {
            log!("handler blocks");
            // SAFETY: kernel call from the work queue thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("handler returns");
        });
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let submitted = k_work_submit_to_queue(q, w);
            let running = k_work_busy_get(w);
            let cancel = k_work_cancel(w);
            let refused = k_work_submit_to_queue(q, w);
            let cancelling = k_work_busy_get(w);
            k_sem_give(s);
            let after = k_work_busy_get(w);
            (submitted, running, cancel, refused, cancelling, after)
        }
    });
    let both = K_WORK_RUNNING | K_WORK_CANCELING;
    assert_eq!(r, (1, K_WORK_RUNNING, both, -EBUSY, both, 0));
    assert_eq!(log, ["T=0 handler blocks", "T=0 handler returns"]);
}

/// kernel/work.c (`work_queue_main`): items run one at a time, in submission order, on the
/// queue's thread; K_WORK_RUNNING is set while a handler runs, the others are K_WORK_QUEUED.
#[test]
fn items_run_in_submission_order_one_at_a_time() {
    let (_, log) = run(5, || {
        let q = start_queue("wq", 7);
        let items: Vec<*mut k_work> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                work(move |w| {
                    // SAFETY: kernel call on the running item.
                    let busy = unsafe { k_work_busy_get(w) };
                    log!("{name} runs on {}, busy {busy}", me());
                })
            })
            .collect();
        let (a, c) = (items[0], items[2]);
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            for &w in &items {
                k_work_submit_to_queue(q, w);
            }
            log!("queued: a {}, c {}", k_work_busy_get(a), k_work_busy_get(c));
            k_msleep(1);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 queued: a 4, c 4",
            "T=0 a runs on wq, busy 1",
            "T=0 b runs on wq, busy 1",
            "T=0 c runs on wq, busy 1",
        ]
    );
}

/// kernel/work.c of Zephyr 2.7 (`k_work_submit_to_queue` yields when it returns > 0 and the
/// caller is preemptible) + kernel/sched.c: a queue thread more urgent than the submitter, or
/// of equal priority, runs the handler inside the call; a less urgent one when the submitter
/// blocks.
#[test]
fn queue_priority_against_a_preemptible_submitter() {
    let (_, log) = run(5, || {
        let urgent = start_queue("urgent", 3);
        let equal = start_queue("equal", 5);
        let lazy = start_queue("lazy", 7);
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            for q in [urgent, equal, lazy] {
                let w = work(|_| log!("{} runs", me()));
                let r = k_work_submit_to_queue(q, w);
                let name = CStr::from_ptr(k_thread_name_get(k_work_queue_thread_get(q)));
                log!("submitted to {}: {r}", name.to_string_lossy());
            }
            k_yield();
            log!("main after k_yield");
            k_msleep(1);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 urgent runs",
            "T=0 submitted to urgent: 1",
            "T=0 equal runs",
            "T=0 submitted to equal: 1",
            "T=0 submitted to lazy: 1",
            "T=0 main after k_yield",
            "T=0 lazy runs",
        ]
    );
}

/// kernel/work.c + kernel/sched.c (`z_reschedule` does not preempt a cooperative thread): a
/// cooperative submitter keeps the CPU even from a more urgent queue thread until it blocks.
#[test]
fn a_cooperative_submitter_keeps_the_cpu() {
    let (_, log) = run(-2, || {
        let q = start_queue("wq", -3);
        let w = work(|_| log!("handler runs"));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let r = k_work_submit_to_queue(q, w);
            log!("submit returned {r}");
            k_msleep(1);
            log!("main wakes");
        }
    });
    assert_eq!(log, ["T=0 submit returned 1", "T=0 handler runs", "T=11 main wakes"]);
}

/// kernel/work.c (`submit_to_queue_locked`, K_WORK_RUNNING): a handler may resubmit its own
/// item: the submit returns 2 and the item is queued again on the queue running it, whatever
/// queue the call names (no handler runs twice at once).
#[test]
fn a_handler_resubmits_itself() {
    let (_, log) = run(5, || {
        let q = start_queue("wq", 7);
        let other = start_queue("other", 7);
        let runs = std::rc::Rc::new(std::cell::Cell::new(0));
        let w = work(move |w| {
            runs.set(runs.get() + 1);
            if runs.get() <= 2 {
                let target = if runs.get() == 1 { other } else { q };
                // SAFETY: kernel calls on the running item and leaked queues.
                let (r, busy) = unsafe { (k_work_submit_to_queue(target, w), k_work_busy_get(w)) };
                log!("run {} on {}: resubmit {r}, busy {busy}", runs.get(), me());
            } else {
                log!("run {} on {}", runs.get(), me());
            }
        });
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_submit_to_queue(q, w);
            k_msleep(1);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 run 1 on wq: resubmit 2, busy 5",
            "T=0 run 2 on wq: resubmit 2, busy 5",
            "T=0 run 3 on wq"
        ]
    );
}

/// kernel/work.c (`k_work_cancel`, `queue_remove_locked`): cancelling a queued item takes it
/// off its queue (it never runs) and returns 0; cancelling an idle item returns 0.
#[test]
fn cancel_takes_a_queued_item_off_its_queue() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 7);
        let a = work(|_| log!("a runs"));
        let b = work(|_| log!("b runs"));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_submit_to_queue(q, a);
            k_work_submit_to_queue(q, b);
            let cancel_queued = k_work_cancel(a);
            let busy = k_work_busy_get(a);
            let cancel_idle = k_work_cancel(a);
            k_msleep(1);
            (cancel_queued, busy, cancel_idle)
        }
    });
    assert_eq!(r, (0, 0, 0));
    assert_eq!(log, ["T=0 b runs"]);
}

/// kernel/work.c (`k_work_cancel_sync`, `finalize_cancel_locked`): cancel_sync on a running
/// item waits until its handler returns, then returns true; on an idle item it returns false
/// at once. Meanwhile submits are refused with -EBUSY.
#[test]
fn cancel_sync_waits_for_the_running_handler() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let w = work(|_| {
            log!("handler starts");
            // SAFETY: kernel call from the work queue thread.
            unsafe { k_sleep(K_TICKS(5)) };
            log!("handler returns");
        });
        // SAFETY: kernel calls from simulated threads on leaked objects.
        unsafe {
            k_work_submit_to_queue(q, w);
            spawn("other", 4, K_NO_WAIT, move || {
                k_sleep(K_TICKS(1));
                log!("other submits: {}", k_work_submit_to_queue(q, w));
            });
            let mut sync = k_work_sync::default();
            let waited = k_work_cancel_sync(w, &mut sync);
            log!("cancel_sync returned {waited}");
            let idle = k_work_cancel_sync(w, &mut sync);
            (waited, idle)
        }
    });
    assert_eq!(r, (true, false));
    assert_eq!(
        log,
        [
            "T=0 handler starts",
            "T=2 other submits: -16",
            "T=6 handler returns",
            "T=6 cancel_sync returned true"
        ]
    );
}

/// kernel/work.c (`k_work_flush`, `queue_flusher_locked`): flush waits until the queue
/// thread has run the item (its flusher goes right behind it), not the items after it, and
/// returns true; on an idle item it returns false at once.
#[test]
fn flush_waits_until_the_item_has_run() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 7);
        let a = work(|_| log!("a runs"));
        let b = work(|_| log!("b runs"));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_submit_to_queue(q, a);
            k_work_submit_to_queue(q, b);
            let mut sync = k_work_sync::default();
            let waited = k_work_flush(a, &mut sync);
            log!("flush returned {waited}, b busy {}", k_work_busy_get(b));
            let idle = k_work_flush(a, &mut sync);
            k_msleep(1);
            (waited, idle)
        }
    });
    assert_eq!(r, (true, false));
    assert_eq!(log, ["T=0 a runs", "T=0 flush returned true, b busy 4", "T=0 b runs"]);
}

/// kernel/work.c (`k_work_schedule_for_queue`, `k_work_reschedule_for_queue`,
/// `k_work_cancel_delayable`, `work_timeout`) + kernel/timeout.c: a delay of N ticks queues
/// the item N + 1 ticks after the current tick; schedule leaves a pending delay alone (0),
/// reschedule replaces it (1), cancel_delayable ends it; a K_NO_WAIT schedule queues at once
/// but is no reschedule point (the more urgent queue thread runs at the caller's next one).
#[test]
fn delayable_schedule_reschedule_cancel_at_exact_ticks() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let d = delayable(|| log!("d runs"));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let scheduled = k_work_schedule_for_queue(q, d, K_TICKS(10));
            let kept = k_work_schedule_for_queue(q, d, K_TICKS(3));
            let delayed = k_work_busy_get(&(*d).work);
            k_sleep(K_TIMEOUT_ABS_TICKS(20));
            let first = k_work_reschedule_for_queue(q, d, K_TICKS(10));
            let replaced = k_work_reschedule_for_queue(q, d, K_TICKS(5));
            k_sleep(K_TIMEOUT_ABS_TICKS(30));
            k_work_schedule_for_queue(q, d, K_TICKS(5));
            let cancelled = k_work_cancel_delayable(d);
            let idle = k_work_busy_get(&(*d).work);
            k_sleep(K_TIMEOUT_ABS_TICKS(40));
            let now = k_work_schedule_for_queue(q, d, K_NO_WAIT);
            log!("after schedule(K_NO_WAIT): {now}");
            k_yield();
            (scheduled, kept, delayed, first, replaced, cancelled, idle)
        }
    });
    assert_eq!(r, (1, 0, K_WORK_DELAYED, 1, 1, 0, 0));
    assert_eq!(
        log,
        ["T=11 d runs", "T=26 d runs", "T=40 after schedule(K_NO_WAIT): 1", "T=40 d runs"]
    );
}

/// kernel/work.c (`k_work_cancel_delayable_sync`): on a delayed item it ends the delay and
/// returns true at once (the handler never runs); on a running one it waits until the
/// handler returns; on an idle one it returns false.
#[test]
fn cancel_delayable_sync_ends_a_delay_or_waits_for_the_handler() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let d = delayable(|| {
            log!("handler starts");
            // SAFETY: kernel call from the work queue thread.
            unsafe { k_sleep(K_TICKS(5)) };
            log!("handler returns");
        });
        let mut sync = k_work_sync::default();
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_schedule_for_queue(q, d, K_TICKS(10));
            let delayed = k_work_cancel_delayable_sync(d, &mut sync);
            log!("cancelled the delay: {delayed}");
            k_sleep(K_TIMEOUT_ABS_TICKS(20));
            k_work_schedule_for_queue(q, d, K_TICKS(2));
            k_sleep(K_TICKS(3));
            let running = k_work_cancel_delayable_sync(d, &mut sync);
            log!("cancelled while running: {running}");
            (delayed, running, k_work_cancel_delayable_sync(d, &mut sync))
        }
    });
    assert_eq!(r, (true, true, false));
    assert_eq!(
        log,
        [
            "T=0 cancelled the delay: true",
            "T=23 handler starts",
            "T=29 handler returns",
            "T=29 cancelled while running: true",
        ]
    );
}

/// kernel/work.c (`k_sys_work_q`, CONFIG_SYSTEM_WORKQUEUE_PRIORITY = -1): the system work
/// queue runs at priority -1 on thread 'sysworkq', so a submit from a preemptible thread runs
/// the handler inside the call. The simulator starts it on first use: a simulation that never
/// uses it has no such thread.
#[test]
fn system_work_queue_runs_at_priority_minus_one_started_on_first_use() {
    let unused = Sim::new().run(|| {
        // SAFETY: kernel call from the main thread.
        unsafe { k_msleep(1) }
    });
    assert_eq!(unused.unwrap().thread_names, ["idle", "main"]);

    take_log();
    let used = Sim::new()
        .run(|| {
            let w = work(|_| {
                // SAFETY: kernel call from the work queue thread.
                let prio = unsafe { k_thread_priority_get(k_current_get()) };
                log!("w runs on {} at priority {prio}", me());
            });
            // SAFETY: kernel calls from the main thread on a leaked item.
            unsafe {
                let r = k_work_submit(w);
                log!("k_work_submit returned {r}");
                let d = delayable(|| log!("d runs on {}", me()));
                let s = k_work_schedule(d, K_TICKS(4));
                let thread = k_work_queue_thread_get(k_sys_work_q_ptr());
                k_msleep(1);
                (s, k_thread_priority_get(thread))
            }
        })
        .unwrap();
    assert_eq!(used.value, Some((1, CONFIG_SYSTEM_WORKQUEUE_PRIORITY)));
    assert_eq!(used.thread_names, ["idle", "main", "sysworkq"]);
    assert_eq!(
        take_log(),
        [
            "T=0 w runs on sysworkq at priority -1",
            "T=0 k_work_submit returned 1",
            "T=5 d runs on sysworkq"
        ]
    );
}

// ------------------------------------------------------------------ k_poll and signals

/// kernel/poll.c (`z_impl_k_poll`) + kernel/timeout.c: a poll on a semaphore and a signal
/// with a timeout of N ticks returns -EAGAIN exactly N + 1 ticks later; a give wakes it with
/// 0 and only that event's state set (the count is not taken); events already ready are all
/// marked, with K_NO_WAIT too.
#[test]
fn k_poll_on_a_sem_and_a_signal_with_timeout() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        let sig = signal();
        let ev = events([
            k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s)),
            k_poll_event::new(K_POLL_TYPE_SIGNAL, obj(sig)),
        ]);
        // SAFETY: kernel calls from simulated threads on leaked objects.
        unsafe {
            let r = k_poll(ev, 2, K_TICKS(20));
            log!("poll returned {r}, states {} {}", state(ev, 0), state(ev, 1));
            spawn("giver", 6, K_NO_WAIT, move || {
                k_sleep(K_TIMEOUT_ABS_TICKS(30));
                log!("giver gives");
                k_sem_give(s);
            });
            let r = k_poll(ev, 2, K_FOREVER);
            log!(
                "poll returned {r}, states {} {}, count {}",
                state(ev, 0),
                state(ev, 1),
                k_sem_count_get(s)
            );
            clear_states(ev, 2);
            k_poll_signal_raise(sig, 5);
            let r = k_poll(ev, 2, K_NO_WAIT);
            log!("poll returned {r}, states {} {}", state(ev, 0), state(ev, 1));
        }
    });
    assert_eq!(
        log,
        [
            "T=21 poll returned -11, states 0 0",
            "T=30 giver gives",
            "T=30 poll returned 0, states 2 0, count 1",
            "T=30 poll returned 0, states 2 1",
        ]
    );
}

/// kernel/poll.c (`z_impl_k_poll_signal_raise`, `_reset`, `_check`): raise sets signaled and
/// the result (raises are not counted: the last result wins), reset clears signaled only; a
/// poll with K_NO_WAIT on a reset signal returns -EAGAIN.
#[test]
fn poll_signal_raise_reset_check() {
    let (r, _) = run(5, || {
        let sig = signal();
        let ev = events([k_poll_event::new(K_POLL_TYPE_SIGNAL, obj(sig))]);
        let check = || {
            let (mut signaled, mut result) = (0, 0);
            // SAFETY: kernel call on a leaked signal.
            unsafe { k_poll_signal_check(sig, &mut signaled, &mut result) };
            (signaled, result)
        };
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let fresh = check();
            let raised = (k_poll_signal_raise(sig, 7), check());
            k_poll_signal_raise(sig, 9);
            let twice = check();
            let ready = k_poll(ev, 1, K_NO_WAIT);
            k_poll_signal_reset(sig);
            let reset = check();
            clear_states(ev, 1);
            let not_ready = k_poll(ev, 1, K_NO_WAIT);
            (fresh, raised, twice, ready, reset, not_ready, state(ev, 0))
        }
    });
    assert_eq!(r, ((0, 0), (0, (1, 7)), (1, 9), 0, (0, 9), -EAGAIN, K_POLL_STATE_NOT_READY));
}

/// kernel/poll.c (`z_impl_k_poll_signal_raise` takes the first event off the signal's list;
/// `add_event` orders pollers by priority, FIFO among equals): each raise wakes only the
/// first poller.
#[test]
fn a_signal_notifies_only_its_first_poller() {
    let (_, log) = run(7, || {
        let sig = signal();
        for (name, prio) in [("p6", 6), ("p4a", 4), ("p4b", 4)] {
            spawn(name, prio, K_NO_WAIT, move || {
                let ev = events([k_poll_event::new(K_POLL_TYPE_SIGNAL, obj(sig))]);
                // SAFETY: kernel call from a simulated thread on leaked objects.
                let r = unsafe { k_poll(ev, 1, K_FOREVER) };
                log!("{name} woke: {r}, state {}", state(ev, 0));
            });
        }
        for result in 1..=3 {
            // SAFETY: kernel call on a leaked signal.
            let r = unsafe { k_poll_signal_raise(sig, result) };
            log!("raise {result} returned {r}");
        }
    });
    assert_eq!(
        log,
        [
            "T=0 p4a woke: 0, state 1",
            "T=0 raise 1 returned 0",
            "T=0 p4b woke: 0, state 1",
            "T=0 raise 2 returned 0",
            "T=0 p6 woke: 0, state 1",
            "T=0 raise 3 returned 0",
        ]
    );
}

/// kernel/poll.c (`clear_event_registrations`) + kernel/sem.c (`handle_poll_events`): a
/// poller registered on two semaphores leaves both when one fires, so the other's next give
/// goes to the next poller, not to the stale registration.
#[test]
fn a_poller_leaves_every_object_when_one_fires() {
    let (r, log) = run(5, || {
        let (s1, s2) = (sem(0, 5), sem(0, 5));
        spawn("both", 3, K_NO_WAIT, move || {
            let ev = events([
                k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s1)),
                k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s2)),
            ]);
            // SAFETY: kernel call from a simulated thread on leaked objects.
            let r = unsafe { k_poll(ev, 2, K_FOREVER) };
            log!("both woke: {r}, states {} {}", state(ev, 0), state(ev, 1));
        });
        spawn("second", 4, K_NO_WAIT, move || {
            let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s2))]);
            // SAFETY: as above.
            let r = unsafe { k_poll(ev, 1, K_FOREVER) };
            log!("second woke: {r}, state {}", state(ev, 0));
        });
        // SAFETY: kernel calls on leaked semaphores.
        unsafe {
            k_sem_give(s1);
            k_sem_give(s2);
            (k_sem_count_get(s1), k_sem_count_get(s2))
        }
    });
    assert_eq!(r, (1, 1));
    assert_eq!(log, ["T=0 both woke: 0, states 2 0", "T=0 second woke: 0, state 2"]);
}

// ------------------------------------------------------------------ triggered work

/// kernel/poll.c (`signal_triggered_work`): triggered work waits (poll_result -EINPROGRESS,
/// not busy as a work item) until the first of its events is ready, then is queued once with
/// poll_result 0; later events do nothing. The give comes from a preemptible thread, so the
/// submission yields (kernel/work.c, `k_work_submit_to_queue`) and the more urgent queue runs
/// the handler inside `k_sem_give`, *before* `signal_poll_event` marks the event ready: the
/// handler sees both states `K_POLL_STATE_NOT_READY`.
#[test]
fn triggered_work_fires_once_on_the_first_event() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let s = sem(0, 5);
        let sig = signal();
        let ev = events([
            k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s)),
            k_poll_event::new(K_POLL_TYPE_SIGNAL, obj(sig)),
        ]);
        let tw = triggered(move |tw| {
            log!(
                "handler: poll_result {}, states {} {}",
                poll_result(tw),
                state(ev, 0),
                state(ev, 1)
            );
        });
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let r = k_work_poll_submit_to_queue(q, tw, ev, 2, K_FOREVER);
            let waiting = (poll_result(tw), k_work_busy_get(&(*tw).work));
            k_sleep(K_TIMEOUT_ABS_TICKS(5));
            k_sem_give(s);
            log!("main after give");
            k_poll_signal_raise(sig, 1);
            k_sem_give(s);
            k_msleep(1);
            (r, waiting)
        }
    });
    assert_eq!(r, (0, (-EINPROGRESS, 0)));
    assert_eq!(log, ["T=5 handler: poll_result 0, states 0 0", "T=5 main after give"]);
}

/// The same give from a cooperative thread (no yield: `k_is_preempt_thread()` is false) and
/// from an ISR: the handler runs after the event was marked ready (kernel/poll.c,
/// `set_event_ready` after `signal_triggered_work`), once the giver gives up the CPU.
#[test]
fn triggered_work_from_a_cooperative_thread_or_isr_sees_the_event_ready() {
    for from_isr in [false, true] {
        let (_, log) = run(-2, move || {
            let q = start_queue("wq", 3);
            let s = sem(0, 5);
            let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
            let tw = triggered(move |tw| {
                log!("handler: poll_result {}, state {}", poll_result(tw), state(ev, 0));
            });
            // SAFETY: kernel calls from a simulated thread (or ISR) on leaked objects.
            unsafe {
                k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
                let s = s as usize;
                if from_isr {
                    zephyr_sim::irq::raise_after_cycles(0, move || k_sem_give(s as *mut k_sem));
                } else {
                    k_sem_give(s as *mut k_sem);
                }
                log!("giver after give, state {}", state(ev, 0));
                k_msleep(1);
            }
        });
        assert_eq!(
            log,
            ["T=0 giver after give, state 2", "T=0 handler: poll_result 0, state 2"],
            "from an ISR: {from_isr}"
        );
    }
}

/// kernel/poll.c (`k_work_poll_submit_to_queue`): an event already ready at submit queues
/// the work at once (poll_result 0; the submit reschedules, so a more urgent queue runs it
/// inside the call); with K_NO_WAIT and nothing ready it is queued with -EAGAIN.
#[test]
fn triggered_work_with_a_ready_event_is_queued_at_once() {
    let (_, log) = run(5, || {
        let q = start_queue("wq", 3);
        let s = sem(1, 5);
        let empty = sem(0, 5);
        let ready = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let not_ready = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(empty))]);
        let tw = triggered(|tw| log!("handler: poll_result {}", poll_result(tw)));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let r = k_work_poll_submit_to_queue(q, tw, ready, 1, K_FOREVER);
            log!("submit returned {r}, state {}", state(ready, 0));
            let r = k_work_poll_submit_to_queue(q, tw, not_ready, 1, K_NO_WAIT);
            log!("submit returned {r}");
        }
    });
    assert_eq!(
        log,
        [
            "T=0 handler: poll_result 0",
            "T=0 submit returned 0, state 2",
            "T=0 handler: poll_result -11",
            "T=0 submit returned 0",
        ]
    );
}

/// kernel/poll.c (`triggered_work_expiration_handler`) + kernel/timeout.c: with no event
/// ready, triggered work with a timeout of N ticks is queued N + 1 ticks later with
/// poll_result -EAGAIN; the events are then no longer watched.
#[test]
fn triggered_work_times_out_with_eagain() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 3);
        let s = sem(0, 5);
        let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let tw = triggered(|tw| log!("handler: poll_result {}", poll_result(tw)));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_poll_submit_to_queue(q, tw, ev, 1, K_TICKS(10));
            k_sleep(K_TICKS(20));
            k_sem_give(s);
            (k_uptime_ticks(), k_sem_count_get(s), state(ev, 0))
        }
    });
    assert_eq!(r, (21, 1, K_POLL_STATE_NOT_READY));
    assert_eq!(log, ["T=11 handler: poll_result -11"]);
}

/// kernel/poll.c (`k_work_poll_cancel`, `triggered_work_cancel`): cancel returns 0 while the
/// work waits (it then never runs) and -EINVAL otherwise: never submitted, already
/// cancelled, or triggered and queued.
#[test]
fn triggered_work_cancel_before_firing() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 7);
        let s = sem(0, 5);
        let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let tw = triggered(|tw| log!("handler: poll_result {}", poll_result(tw)));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let never = k_work_poll_cancel(tw);
            k_work_poll_submit_to_queue(q, tw, ev, 1, K_TICKS(5));
            let waiting = k_work_poll_cancel(tw);
            let again = k_work_poll_cancel(tw);
            k_sem_give(s);
            k_msleep(1);
            k_sem_take(s, K_NO_WAIT);
            k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            k_sem_give(s); // triggers: queued on 'wq', which is less urgent than main
            let queued = k_work_poll_cancel(tw);
            k_msleep(1);
            (never, waiting, again, queued)
        }
    });
    assert_eq!(r, (-EINVAL, 0, -EINVAL, -EINVAL));
    assert_eq!(log, ["T=11 handler: poll_result 0"]);
}

/// kernel/poll.c (`k_work_poll_submit_to_queue` takes ownership): submitting again while it
/// waits on the same queue replaces the registration (it still fires once); on another queue
/// it is -EADDRINUSE until its handler starts; once triggered, a submit on the same queue is
/// -EINVAL. After the handler started, any queue may take it.
#[test]
fn triggered_work_resubmit_same_queue_and_other_queue() {
    let (r, log) = run(5, || {
        let q = start_queue("wq", 7);
        let other = start_queue("other", 7);
        let s = sem(0, 5);
        let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let tw = triggered(|tw| log!("handler on {}: poll_result {}", me(), poll_result(tw)));
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            let first = k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            let same = k_work_poll_submit_to_queue(q, tw, ev, 1, K_TICKS(100));
            let elsewhere = k_work_poll_submit_to_queue(other, tw, ev, 1, K_FOREVER);
            k_sem_give(s);
            let triggered_same = k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            let triggered_other = k_work_poll_submit_to_queue(other, tw, ev, 1, K_FOREVER);
            k_msleep(1);
            k_sem_take(s, K_NO_WAIT);
            let after = k_work_poll_submit_to_queue(other, tw, ev, 1, K_TICKS(5));
            k_msleep(1);
            (first, same, elsewhere, triggered_same, triggered_other, after)
        }
    });
    assert_eq!(r, (0, 0, -EADDRINUSE, -EINVAL, -EADDRINUSE, 0));
    assert_eq!(log, ["T=0 handler on wq: poll_result 0", "T=17 handler on other: poll_result -11"]);
}

/// kernel/poll.c (`add_event`, `z_handle_obj_poll_events`): one give notifies one poller.
/// Zephyr ranks triggered work by a priority read through `CONTAINER_OF` from memory that is
/// not a thread; the simulator ranks it equal to every poller, so triggered work is notified
/// in registration order whatever its queue's priority, and a thread polling later comes
/// after it.
#[test]
fn triggered_work_is_notified_in_registration_order() {
    let (_, log) = run(5, || {
        let low = start_queue("low", 7);
        let high = start_queue("high", 3);
        let s = sem(0, 5);
        // SAFETY: kernel calls from simulated threads on leaked objects.
        unsafe {
            for q in [low, high] {
                let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
                let tw = triggered(|tw| log!("{} fired: {}", me(), poll_result(tw)));
                k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            }
            spawn("poller", 2, K_NO_WAIT, move || {
                let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
                log!("poller woke {}", k_poll(ev, 1, K_FOREVER));
            });
            for i in 1..=3 {
                k_sem_give(s);
                log!("given {i}");
            }
            k_msleep(1);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 given 1",
            "T=0 high fired: 0",
            "T=0 given 2",
            "T=0 poller woke 0",
            "T=0 given 3",
            "T=0 low fired: 0",
        ]
    );
}

unsafe extern "C-unwind" fn give_user_data(t: *mut k_timer) {
    // SAFETY: ISR-safe kernel calls; the timer's user data is a leaked semaphore.
    unsafe { k_sem_give(k_timer_user_data_get(t) as *mut k_sem) };
}

/// kernel/sem.c (`handle_poll_events`) + kernel/poll.c + arch interrupt exit: a `k_sem_give`
/// in an ISR (a k_timer expiry, a device interrupt) triggers triggered work, whose more
/// urgent queue thread runs right after the ISR, preempting a busy-waiting thread.
#[test]
fn a_give_in_an_isr_triggers_triggered_work() {
    let (_, log) = run(5, || {
        let q = start_queue("wq", 3);
        let (s1, s2) = (sem(0, 1), sem(0, 1));
        let ev1 = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s1))]);
        let ev2 = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s2))]);
        let handler = |tw| {
            // SAFETY: kernel call from the work queue thread.
            let isr = unsafe { k_is_in_isr() };
            log!("handler on {}: poll_result {}, in ISR {isr}", me(), poll_result(tw));
        };
        let (tw1, tw2) = (triggered(handler), triggered(handler));
        let t: *mut k_timer = leak(k_timer::new());
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_work_poll_submit_to_queue(q, tw1, ev1, 1, K_FOREVER);
            k_work_poll_submit_to_queue(q, tw2, ev2, 1, K_FOREVER);
            k_timer_init(t, Some(give_user_data), None);
            k_timer_user_data_set(t, s1 as *mut c_void);
            k_timer_start(t, K_TICKS(5), K_NO_WAIT);
            k_sleep(K_TICKS(20));
        }
        log!("main wakes");
        let s2 = s2 as usize;
        zephyr_sim::irq::raise_after_us(250, move || {
            // SAFETY: ISR-safe kernel call on a leaked semaphore.
            unsafe { k_sem_give(s2 as *mut k_sem) }
        });
        // SAFETY: kernel call from the main thread.
        unsafe { k_busy_wait(1000) };
        log!("main: busy wait over");
    });
    assert_eq!(
        log,
        [
            "T=5 handler on wq: poll_result 0, in ISR false",
            "T=21 main wakes",
            "T=23 handler on wq: poll_result 0, in ISR false",
            "T=31 main: busy wait over",
        ]
    );
}

// ------------------------------------------------------------------ errors

/// Deadlock reports name the new waits: a thread in k_poll (with its number of events) and
/// an idle work queue, which counts as blocked.
#[test]
fn deadlock_report_names_a_k_poll_waiter_and_an_idle_work_queue() {
    let err = run_err(|| {
        let _q = start_queue("wq", 3);
        let s = sem(0, 1);
        let sig = signal();
        let ev = events([
            k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s)),
            k_poll_event::new(K_POLL_TYPE_SIGNAL, obj(sig)),
        ]);
        // SAFETY: kernel call from the main thread on leaked objects.
        unsafe { k_poll(ev, 2, K_FOREVER) };
    });
    let SimError::Deadlock { report, .. } = &err else { panic!("expected a deadlock: {err}") };
    let lines: Vec<&str> = report.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "main (prio 0): pending in k_poll on 2 events forever",
            "wq (prio 3): work queue 'wq' waiting for work"
        ],
        "{report}"
    );
}

unsafe extern "C-unwind" fn poll_in_isr(t: *mut k_timer) {
    // SAFETY: the misuse under test: a blocking k_poll in the timer ISR, on the leaked events
    // in the timer's user data.
    unsafe { k_poll(k_timer_user_data_get(t) as *mut k_poll_event, 1, K_FOREVER) };
}

/// kernel/poll.c (`__ASSERT(!arch_is_in_isr())`): a blocking k_poll in an ISR is a fatal
/// error naming the call.
#[test]
fn a_blocking_k_poll_in_an_isr_panics() {
    let err = run_err(|| {
        let s = sem(0, 1);
        let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let t: *mut k_timer = leak(k_timer::new());
        // SAFETY: kernel calls from the main thread on leaked objects.
        unsafe {
            k_timer_init(t, Some(poll_in_isr), None);
            k_timer_user_data_set(t, ev as *mut c_void);
            k_timer_start(t, K_TICKS(2), K_NO_WAIT);
            k_msleep(1);
        }
    });
    let SimError::Panic { message, .. } = &err else { panic!("expected a panic: {err}") };
    assert_eq!(message, "k_poll: blocking call from ISR context (an ISR may only use K_NO_WAIT)");
}

/// Objects never initialised, or of another kind, are reported naming the call (on Zephyr a
/// submit of an uninitialised item runs a null handler).
#[test]
fn uninitialised_work_and_wrong_poll_objects_are_reported() {
    let err = run_err(|| {
        let w: *mut k_work = leak(k_work::new());
        // SAFETY: the misuse under test.
        unsafe { k_work_submit(w) };
    });
    let text = err.to_string();
    assert!(text.contains("k_work_submit: k_work at 0x"), "{text}");
    assert!(
        text.contains("was never initialised (call k_work_init, k_work_init_delayable or k_work_poll_init first)"),
        "{text}"
    );

    let err = run_err(|| {
        let s = sem(0, 1);
        let ev = events([k_poll_event::new(K_POLL_TYPE_DATA_AVAILABLE, obj(s))]);
        // SAFETY: the misuse under test: a semaphore polled as a queue.
        unsafe { k_poll(ev, 1, K_NO_WAIT) };
    });
    assert!(err.to_string().contains("k_poll: object at 0x"), "{err}");
    assert!(err.to_string().contains("is a k_sem, not a k_queue"), "{err}");
}

/// The kernel rules of `samples/kernel-rules` (a C program run on a real Zephyr 2.7.0 kernel by
/// `scripts/zephyr-test.sh`), line by line on the simulator, against the same expected
/// output (`samples/kernel-rules/expected.txt`):
///
/// 1. A give from a preemptible thread submits triggered work through
///    `k_work_submit_to_queue`, which yields (kernel/work.c) *before* `signal_poll_event`
///    marks the event ready (kernel/poll.c): a more urgent queue runs the handler inside the
///    give and sees `K_POLL_STATE_NOT_READY`.
/// 2. The yield also hands the CPU to a queue of the giver's own priority.
/// 3. `poller->is_polling = false` runs after that yield, so triggered work submitted again
///    by its handler inside it loses `is_polling`: the next event is consumed without queuing
///    it; its timeout still fires (`triggered_work_expiration_handler` submits
///    unconditionally).
/// 4. `k_work_queue_start` initialises the queue itself: a zeroed queue never passed to
///    `k_work_queue_init` starts (kernel/system_work_q.c and subsys/usb/device/usb_work_q.c
///    start static queues that way).
#[test]
fn kernel_rules_of_triggered_work_and_queue_start_match_the_real_kernel() {
    let (_, log) = run(5, || {
        let q = start_queue("wq", 3);
        let q2 = start_queue("wq5", 5);
        let s = sem(0, 5);
        let ev = events([k_poll_event::new(K_POLL_TYPE_SEM_AVAILABLE, obj(s))]);
        let again = std::rc::Rc::new(std::cell::Cell::new(false));
        let a = again.clone();
        let tw = triggered(move |tw| {
            log!("handler on {}: poll_result {}, state {}", me(), poll_result(tw), state(ev, 0));
            if a.replace(false) {
                // SAFETY: re-submitting the leaked item from its own handler.
                let r = unsafe {
                    k_sem_take(s, K_NO_WAIT);
                    k_work_poll_submit_to_queue(q, tw, ev, 1, K_TIMEOUT_ABS_TICKS(50))
                };
                log!("resubmitted: {r}");
            }
        });
        let reinit = move || {
            // SAFETY: the leaked event.
            unsafe {
                k_poll_event_init(ev, K_POLL_TYPE_SEM_AVAILABLE, K_POLL_MODE_NOTIFY_ONLY, obj(s))
            }
        };
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            // 1: a preemptible giver, a more urgent queue.
            reinit();
            k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            k_sem_give(s);
            log!("s1 giver after give, state {}", state(ev, 0));
            k_sem_take(s, K_NO_WAIT);

            // 2: a queue of the giver's priority.
            reinit();
            k_work_poll_submit_to_queue(q2, tw, ev, 1, K_FOREVER);
            k_sem_give(s);
            log!("s2 giver after give, state {}", state(ev, 0));
            k_sem_take(s, K_NO_WAIT);
            k_msleep(1);

            // 3: submitted again inside the yield.
            reinit();
            again.set(true);
            k_work_poll_submit_to_queue(q, tw, ev, 1, K_FOREVER);
            k_sem_give(s);
            log!(
                "s3 after give, is_polling {}, count {}",
                (*tw).poller.is_polling as i32,
                k_sem_count_get(s)
            );
            k_sleep(K_TIMEOUT_ABS_TICKS(30));
            k_sem_give(s);
            log!("s3 second give, count {}", k_sem_count_get(s));
            k_sleep(K_TIMEOUT_ABS_TICKS(100));

            // 4: a zeroed queue, never initialised.
            let zq: *mut k_work_q = leak(std::mem::zeroed::<k_work_q>());
            k_work_queue_start(zq, null_mut(), 0, 3, std::ptr::null());
            let zw = work(|_| log!("zero queue ran on {}", me()));
            let r = k_work_submit_to_queue(zq, zw);
            log!("zero queue submitted: {r}");
        }
    });
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/kernel-rules");
    let expected = std::fs::read_to_string(root.join("expected.txt")).unwrap();
    let expected: Vec<&str> = expected.lines().filter(|l| l.starts_with("T=")).collect();
    assert_eq!(log, expected);
}

/// `k_work_queue_start` still refuses memory that is neither zero nor a work queue.
#[test]
fn work_queue_start_refuses_memory_that_is_not_a_queue() {
    let err = Sim::new()
        .run(|| {
            let q: *mut k_work_q = leak(k_work_q::new());
            // SAFETY: deliberately not a work queue.
            unsafe {
                (*(q as *mut z_sim_obj)).magic = 0x1234;
                k_work_queue_start(q, null_mut(), 0, 3, std::ptr::null());
            }
        })
        .expect_err("refused");
    assert!(matches!(err, SimError::Panic { .. }), "{err}");
    assert!(err.to_string().contains("k_work_queue_start"), "{err}");
}
