//! Async kernel waits under both runtimes (`zephyr::embassy::Executor` and kio), woken by Rust
//! code, by raw C-level calls from another thread, and by ISRs; exact-tick timeouts; two
//! runtimes on one semaphore; `join_async` across queues; cancellation. Board: 10 kHz. (Without kio, `async_embassy.rs` covers the Embassy side.)
#![cfg(not(feature = "no-kio"))]

mod async_common;
mod embassy_common;

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_common::*;
use embassy_common::{executor, run_task, spawn, thread, ticks};
use embassy_futures::select::{select, Either};
use zephyr::kio;
use zephyr::sys::sync::Semaphore;
use zephyr::sys::{MsgQueue, PollSignal};
use zephyr::time::{Duration, Forever, NoWait};
use zephyr::Error;
use zephyr_sys::*;

/// `take_async` under kio: the same three givers.
#[test]
fn take_async_under_kio_woken_by_rust_c_and_isr() {
    for giver in [Giver::Rust, Giver::RawC, Giver::TimerIsr] {
        let got = sim(move || {
            let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
            give_at_200(sem, giver);
            let q = queue(c"kio", 3);
            let task = kio::spawn(
                async move {
                    // The time it got the semaphore (before the wait is dropped: see
                    // `a_raw_c_give_from_a_thread_is_waited_out_before_the_wait_is_reused`).
                    let mut take = core::pin::pin!(sem.take_async(Forever));
                    let r = take.as_mut().await;
                    (ticks(), r)
                },
                &q,
                c"task",
            );
            task.join()
        });
        assert_eq!(got, (200, Ok(())), "given by {giver:?}");
    }
}

/// Timeouts of async waits end at the same tick as the blocking call's: N + 1 ticks after the
/// current tick (kernel/timeout.c), under both runtimes; `NoWait` is `EBUSY` at once.
#[test]
fn take_async_times_out_at_the_exact_tick_under_both_runtimes() {
    let (embassy, kio_result) = sim(|| {
        let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
        let embassy = run_task(async move {
            let t0 = ticks();
            let busy = sem.take_async(NoWait).await;
            let r = sem.take_async(Duration::from_ticks(100)).await;
            (t0, ticks(), busy, r)
        });
        let q = queue(c"kio", 3);
        let k = kio::spawn(
            async move {
                let t0 = ticks();
                let r = sem.take_async(Duration::from_ticks(100)).await;
                (t0, ticks(), r)
            },
            &q,
            c"k",
        )
        .join();
        (embassy, k)
    });
    assert_eq!(embassy, (0, 101, Err(Error::EBUSY), Err(Error::EAGAIN)));
    assert_eq!(kio_result, (101, 202, Err(Error::EAGAIN)));
}

/// Two runtimes in one program, tasks of both awaiting the same semaphore: each give goes to
/// one waiter, in the order they started waiting (the Embassy executor decides in which order
/// its two tasks start).
#[test]
fn two_runtimes_wait_on_the_same_semaphore() {
    let order = sim(|| {
        let sem: &'static Semaphore = leak(Semaphore::new(0, 10));
        let order: &'static std::sync::Mutex<Vec<(String, i64)>> = leak(Default::default());
        let q = queue(c"kio", 4);
        // kio waiter first, then two embassy waiters (more urgent executor thread), then kio.
        let waits: &'static std::sync::Mutex<Vec<&'static str>> = leak(Default::default());
        let k1 = kio::spawn(
            async move {
                waits.lock().unwrap().push("kio-1");
                sem.take_async(Forever).await.unwrap();
                order.lock().unwrap().push(("kio-1".into(), ticks()));
            },
            &q,
            c"k1",
        );
        let ex = executor();
        thread("executor", 2, move || {
            ex.run(|s| {
                for name in ["embassy-1", "embassy-2"] {
                    spawn(&s, async move {
                        waits.lock().unwrap().push(name);
                        sem.take_async(Forever).await.unwrap();
                        order.lock().unwrap().push((name.into(), ticks()));
                    });
                }
            })
        });
        let k2 = kio::spawn(
            async move {
                waits.lock().unwrap().push("kio-2");
                sem.take_async(Forever).await.unwrap();
                order.lock().unwrap().push(("kio-2".into(), ticks()));
            },
            &q,
            c"k2",
        );
        for t in [10, 20, 30, 40] {
            zephyr::time::sleep(zephyr::time::Instant::from_ticks(t));
            sem.give();
        }
        k1.join();
        k2.join();
        zephyr::time::sleep(Duration::from_ticks(5));
        let v = order.lock().unwrap().clone();
        let w = waits.lock().unwrap().clone();
        (v, w)
    });
    let (order, waits) = order;
    let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(waits.len(), 4);
    assert_eq!(waits[0], "kio-1");
    assert_eq!(waits[3], "kio-2");
    assert_eq!(names, waits, "served in the order they started waiting, across runtimes");
    let at: Vec<i64> = order.iter().map(|(_, t)| *t).collect();
    assert_eq!(at, [10, 20, 30, 40]);
}

/// `join_async` across queues, and from an Embassy task: the joiner is woken when the task
/// ends, whatever runs it.
#[test]
fn join_async_across_queues_and_runtimes() {
    let (from_kio, from_embassy) = sim(|| {
        let slow = queue(c"slow", 6);
        let fast = queue(c"fast", 2);
        let worker = kio::spawn(
            async {
                kio::sleep(Duration::from_ticks(49)).await;
                (ticks(), 7u32)
            },
            &slow,
            c"worker",
        );
        let joiner =
            kio::spawn(async move { (worker.join_async().await, ticks()) }, &fast, c"joiner");
        let other = kio::spawn(
            async {
                kio::sleep(Duration::from_ticks(99)).await;
                42u32
            },
            &slow,
            c"other",
        );
        let seen = run_task(async move { (other.join_async().await, ticks()) });
        (joiner.join(), seen)
    });
    assert_eq!(from_kio, ((50, 7), 50));
    assert_eq!(from_embassy, (42, 100));
}

/// Cancellation: dropping a waiting `take_async` unregisters it. The semaphore is reused
/// afterwards; a give reaches the next waiter, and no stale wake reaches anyone.
#[test]
fn dropping_a_waiting_future_leaves_no_registration() {
    let r = sim(|| {
        let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
        let wakes: &'static AtomicU32 = leak(AtomicU32::new(0));
        thread("giver", 7, move || {
            zephyr::time::sleep(zephyr::time::Instant::from_ticks(100));
            sem.give();
        });
        let v = run_task(async move {
            let mut out = Vec::new();
            // Waits, then gives up at tick 50: the take_async future is dropped.
            let r = select(sem.take_async(Forever), kio::sleep(Duration::from_ticks(49))).await;
            out.push(format!("T={} select: {}", ticks(), matches!(r, Either::Second(()))));
            // At tick 100 the give finds no registered waiter: the count goes to 1.
            kio::sleep(zephyr::time::Instant::from_ticks(150)).await;
            out.push(format!("T={} count after give: {}", ticks(), sem.count()));
            // The semaphore works as before.
            let r = sem.take_async(Duration::from_ticks(10)).await;
            out.push(format!("T={} take_async: {r:?}", ticks()));
            wakes.fetch_add(1, Ordering::Relaxed);
            out
        });
        (v, wakes.load(Ordering::Relaxed))
    });
    assert_eq!(r.0, ["T=50 select: true", "T=150 count after give: 1", "T=150 take_async: Ok(())"]);
    assert_eq!(r.1, 1);
}

unsafe extern "C-unwind" fn raise_from_isr(timer: *mut k_timer) {
    // SAFETY: user data is the raw poll signal; raising is ISR-safe.
    unsafe { k_poll_signal_raise(k_timer_user_data_get(timer) as *mut k_poll_signal, 33) };
}

/// `PollSignal::wait_async`, raised by a timer ISR, under both runtimes.
#[test]
fn poll_signal_wait_async_raised_from_an_isr() {
    let got = sim(|| {
        let sig: &'static PollSignal = leak(PollSignal::new());
        let t: &'static mut k_timer = Box::leak(Box::new(k_timer::new()));
        // SAFETY: the timer is leaked; its user data is the signal's address.
        unsafe {
            k_timer_init(t, Some(raise_from_isr), None);
            k_timer_user_data_set(t, sig.as_raw() as *mut c_void);
            k_timer_start(t, K_TICKS(300), K_NO_WAIT);
        }
        let q = queue(c"kio", 3);
        let k = kio::spawn(async move { (sig.wait_async(Forever).await, ticks()) }, &q, c"k");
        let before = sig.check();
        let r = k.join();
        sig.reset();
        (before, r, sig.check())
    });
    assert_eq!(got, (None, (Ok(33), 300), None));
}

/// `MsgQueue::get_async` woken by a raw `k_msgq_put` from another thread (as C code would),
/// and `put_async` woken by a get.
#[test]
fn msg_queue_async_get_and_put() {
    let got = sim(|| {
        let mq: &'static MsgQueue<u32, 1> = leak(MsgQueue::new());
        let raw = mq.as_raw() as usize;
        thread("c-producer", 7, move || {
            for v in [11u32, 22] {
                // SAFETY: what a C producer would do with the queue.
                unsafe {
                    k_msgq_put(raw as *mut k_msgq, &v as *const u32 as *const c_void, K_FOREVER)
                };
                zephyr::time::sleep(Duration::from_ticks(99));
            }
        });
        let q = queue(c"kio", 3);
        let consumer = kio::spawn(
            async move {
                let a = mq.get_async(Forever).await.unwrap();
                let b = mq.get_async(Forever).await.unwrap();
                let timeout = mq.get_async(Duration::from_ticks(10)).await;
                (a, b, ticks(), timeout)
            },
            &q,
            c"consumer",
        );
        let c = consumer.join();
        // put_async on a full queue waits for a get.
        mq.put(1, NoWait).unwrap();
        let p = kio::spawn(
            async move {
                let r = mq.put_async(2, Forever).await;
                (r, ticks())
            },
            &q,
            c"p",
        );
        zephyr::time::sleep(Duration::from_ticks(20));
        let first = mq.get(NoWait);
        let r = p.join();
        (c, first, r, mq.get(NoWait))
    });
    // The second put comes at tick 100 from a raw C producer, a preemptible thread whose
    // k_msgq_put yields inside the call: the second get_async, done, is dropped while the
    // producer is still in its call, so the drop waits it out (to tick 102; see
    // `a_raw_c_give_from_a_thread_is_waited_out_before_the_wait_is_reused`). The timed get then
    // gives up 10 + 1 ticks later.
    assert_eq!(got.0, (11, 22, 113, Err(Error::EAGAIN)));
    assert_eq!(got.1, Ok(1));
    // Main frees the slot 20 + 1 ticks after 113: put_async completes at that tick.
    assert_eq!(got.2, (Ok(()), 134));
    assert_eq!(got.3, Ok(2));
}

/// kio basics: `sleep` ends at the exact tick, `yield_now` lets another task of the same
/// queue run, `spawn_local` takes a non-`Send` future from inside a task. The queue is less
/// urgent than main (5), so both tasks are queued before either runs.
#[test]
fn kio_sleep_yield_and_spawn_local() {
    let r = sim(|| {
        let q = queue(c"kio", 6);
        let log: &'static std::sync::Mutex<Vec<String>> = leak(Default::default());
        let a = kio::spawn(
            async move {
                for i in 0..2 {
                    log.lock().unwrap().push(format!("a{i}"));
                    kio::yield_now().await;
                }
            },
            &q,
            c"a",
        );
        let b = kio::spawn(
            async move {
                for i in 0..2 {
                    log.lock().unwrap().push(format!("b{i}"));
                    kio::yield_now().await;
                }
                let t0 = ticks();
                kio::sleep(Duration::from_ticks(10)).await;
                let rc = Rc::new(5); // not Send
                let local = kio::spawn_local(async move { *rc * 2 }, c"local");
                (t0, ticks(), local.join_async().await)
            },
            &q,
            c"b",
        );
        a.join();
        let b = b.join();
        let v = log.lock().unwrap().clone();
        (v, b)
    });
    assert_eq!(r.0, ["a0", "b0", "a1", "b1"]);
    assert_eq!(r.1, (0, 11, 10));
}

/// Misuse is a clear panic, not undefined behaviour: `spawn_local` outside a kio task.
#[test]
fn spawn_local_outside_kio_panics() {
    let err = zephyr_sim::Sim::new()
        .run(|| {
            let _ = kio::spawn_local(async {}, c"local");
        })
        .unwrap_err();
    let err = err.to_string();
    assert!(err.contains("kio::spawn_local(\"local\") must be called from a kio task"), "{err}");
}

/// Misuse is a clear panic: a blocking join on the queue that runs the task.
#[test]
fn blocking_join_on_the_tasks_own_queue_panics() {
    let err = zephyr_sim::Sim::new()
        .run(|| {
            let q = queue(c"kio", 3);
            let outer = kio::spawn(
                async move {
                    let inner = kio::spawn(async { 1 }, &q, c"inner");
                    inner.join()
                },
                &q,
                c"outer",
            );
            outer.join()
        })
        .unwrap_err();
    assert!(err.to_string().contains("would deadlock; use join_async"), "{err}");
}

/// A panic inside a kio task ends the system with the message, naming the queue's thread.
#[test]
fn a_panicking_kio_task_ends_the_system() {
    let err = zephyr_sim::Sim::new()
        .run(|| {
            let q = queue(c"kio-q", 3);
            kio::spawn(async { panic!("task failed") }, &q, c"task").join()
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("thread 'kio-q' panicked") && text.contains("task failed"), "{text}");
}

/// Arc is Send + Sync: a handle and a result may cross threads.
#[test]
fn join_handles_cross_threads() {
    let r = sim(|| {
        let q = queue(c"kio", 3);
        let h = kio::spawn(async { Arc::new(9) }, &q, c"h");
        let out: &'static std::sync::Mutex<Option<Arc<i32>>> = leak(Default::default());
        thread("joiner", 4, move || {
            *out.lock().unwrap() = Some(h.join());
        });
        zephyr::time::sleep(Duration::from_ticks(1));
        let v = *out.lock().unwrap().as_ref().unwrap().as_ref();
        v
    });
    assert_eq!(r, 9);
}

/// A semaphore notifies only its first poller (kernel/poll.c). A waiter that was notified but
/// is dropped before it takes the semaphore passes the notification on: the next waiter gets
/// it, at the same tick.
#[test]
fn a_dropped_notified_waiter_passes_the_give_on() {
    let got = sim(|| {
        let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
        give_at_200(sem, Giver::TimerIsr);
        let out = Rc::new(RefCell::new(Vec::new()));
        let (o1, o2) = (out.clone(), out.clone());
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        executor().run_until(
            |s| {
                spawn(&s, async move {
                    // Registered first, so notified first; but its sleep ends at the same tick
                    // and `select` polls the sleep first: the notified take is dropped.
                    let r = select(
                        kio::sleep(zephyr::time::Instant::from_ticks(200)),
                        sem.take_async(Forever),
                    )
                    .await;
                    o1.borrow_mut().push(format!(
                        "T={} first: {}",
                        ticks(),
                        matches!(r, Either::First(()))
                    ));
                });
                spawn(&s, async move {
                    kio::sleep(Duration::from_ticks(5)).await; // starts waiting second
                    let r = sem.take_async(Forever).await;
                    o2.borrow_mut().push(format!("T={} second: {r:?}", ticks()));
                    d.set(true);
                });
            },
            || done.get(),
        );
        out.take()
    });
    assert_eq!(got, ["T=200 first: true", "T=200 second: Ok(())"]);
}

/// Async waits at the extremes mean "never", not an overflow: a `take_async` and a
/// `kio::sleep` of `Duration::MAX` just wait, and lose a select against a 10 ms sleep.
#[test]
fn async_waits_past_the_horizon_wait_forever() {
    let r = zephyr_sim::Sim::new()
        .run(|| {
            let never: &'static Semaphore = Box::leak(Box::new(Semaphore::new(0, 1)));
            let max = zephyr::time::Duration::MAX;
            let ten_ms = zephyr::time::Duration::from_millis(10);
            let queue = zephyr::work::WorkQueue::system();
            let a = kio::block_on(
                async move {
                    matches!(
                        select(never.take_async(max), kio::sleep(ten_ms)).await,
                        Either::Second(_)
                    )
                },
                queue,
                c"block_on",
            );
            let b = kio::block_on(
                async move {
                    matches!(select(kio::sleep(max), kio::sleep(ten_ms)).await, Either::Second(_))
                },
                queue,
                c"block_on",
            );
            (a, b)
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    assert_eq!(r.value, Some((true, true)), "(take_async(MAX) lost, sleep(MAX) lost)");
}

/// A raw `k_sem_give` (C code) from a preemptible thread yields inside the call
/// (`k_work_submit_to_queue`, kernel/work.c) before it is done with the waiter's
/// registration: after it resumes, `signal_poll_event` clears `is_polling` and marks the event
/// (kernel/poll.c). A task on a more urgent queue, woken inside that yield, that re-armed the
/// same registration then would never hear of the next give (the simulator reproduces this,
/// `samples/kernel-rules`). So a wait that is re-armed or dropped while the giver is still in
/// its call waits for it (a tick of sleep, which lets the giver finish): every give of a loop
/// arrives, at the cost of that sleep to the waiting thread. Gives through `Semaphore::give`
/// lock the scheduler instead, so they do not yield inside and cost nothing.
#[test]
fn a_raw_c_give_from_a_thread_is_waited_out_before_the_wait_is_reused() {
    for raw in [true, false] {
        let got = sim(move || {
            let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
            let q = queue(c"kio", 3);
            let task = kio::spawn(
                async move {
                    let mut got = Vec::new();
                    for _ in 0..4 {
                        let r = sem.take_async(Forever).await;
                        got.push((ticks(), r.is_ok()));
                    }
                    got
                },
                &q,
                c"task",
            );
            let raw_sem = sem.as_raw() as usize;
            thread("giver", 7, move || {
                for t in [100, 200, 300, 400] {
                    zephyr::time::sleep(zephyr::time::Instant::from_ticks(t));
                    if raw {
                        // SAFETY: what a C thread does with the semaphore's address.
                        unsafe { k_sem_give(raw_sem as *mut k_sem) };
                    } else {
                        sem.give();
                    }
                }
            });
            task.join()
        });
        let expected = if raw {
            // Each take is dropped inside the giver's yield, and waits (sleeps k_sleep(1
            // tick): N + 1 ticks) for the giver to leave k_sem_give. Without that wait, the
            // next take's registration loses `is_polling` and a later give is never heard: the
            // run ends idle forever.
            [(102, true), (202, true), (302, true), (402, true)]
        } else {
            [(100, true), (200, true), (300, true), (400, true)]
        };
        assert_eq!(got, expected, "raw C give: {raw}");
    }
}

/// A task spawned onto a queue more urgent than the spawner runs inside the spawn's
/// `k_work_submit_to_queue` (Zephyr switches to the readied queue thread there) and may finish
/// before the call returns: the queue's reference to the task is taken before the submit, so
/// the finished task and its heap-owning output outlive that run (taken after it, the handler
/// freed the task under its `JoinHandle`: a double free). The same for a task that wakes
/// itself, and on the cooperative system queue.
#[test]
fn a_task_that_finishes_inside_its_spawn_keeps_its_output() {
    let r = sim(|| {
        let q = queue(c"urgent", 2);
        let boxed = kio::spawn(async { Box::new(7u64) }, &q, c"boxed").join();
        let text = kio::spawn(
            async {
                kio::yield_now().await;
                String::from("yielded")
            },
            &q,
            c"text",
        )
        .join();
        let system =
            kio::spawn(async { vec![1u8, 2, 3] }, zephyr::work::WorkQueue::system(), c"sys").join();
        (*boxed, text, system)
    });
    assert_eq!(r, (7, "yielded".to_owned(), vec![1, 2, 3]));
}
