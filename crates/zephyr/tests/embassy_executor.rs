//! `executor-zephyr`: tasks on Zephyr threads that park when idle, woken from anywhere with no
//! lost wake-up; several executors at several priorities. Board: 10 kHz, 1 MHz cycles.

mod embassy_common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use embassy_common::*;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::Timer;
use zephyr::embassy::Executor;
use zephyr_sys::*;

fn log(l: &Rc<RefCell<Vec<String>>>, s: impl Into<String>) {
    l.borrow_mut().push(format!("T={} {}", ticks(), s.into()));
}

/// A plain Zephyr thread wakes a task: the signal's waker pends the executor, whose thread
/// (more urgent than the signalling one) runs the task inside the `signal` call
/// (kernel/sched.c: `k_sem_give` readies a more urgent thread and switches at once).
#[test]
fn a_zephyr_thread_wakes_a_task() {
    let events = run(8, || {
        let events = Rc::new(RefCell::new(Vec::new()));
        let signal: &'static Signal<CriticalSectionRawMutex, u32> =
            Box::leak(Box::new(Signal::new()));
        let e = events.clone();
        thread("executor", 3, move || {
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            let e2 = e.clone();
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        log(&e2, "task waits");
                        let v = signal.wait().await;
                        log(&e2, format!("task got {v}"));
                        d.set(true);
                    })
                },
                || done.get(),
            );
            log(&e, "executor returns");
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(5) };
        log(&events, "main signals");
        signal.signal(42);
        log(&events, "main after signal");
        events.take()
    });
    assert_eq!(
        events,
        [
            "T=0 task waits",
            "T=51 main signals",
            "T=51 task got 42",
            "T=51 executor returns",
            "T=51 main after signal",
        ]
    );
}

unsafe extern "C-unwind" fn signal_from_isr(timer: *mut k_timer) {
    // SAFETY: user data is the leaked signal; Signal::signal is ISR-safe (critical section).
    let signal =
        unsafe { &*(k_timer_user_data_get(timer) as *const Signal<CriticalSectionRawMutex, i64>) };
    signal.signal(ticks());
}

/// A timer ISR wakes a task (kernel/timer.c: the expiry function runs in the system clock
/// ISR); the executor thread runs when the ISR returns.
#[test]
fn a_timer_isr_wakes_a_task() {
    let got = run(5, || {
        let signal: &'static Signal<CriticalSectionRawMutex, i64> =
            Box::leak(Box::new(Signal::new()));
        let timer: *mut k_timer = Box::leak(Box::new(k_timer::new()));
        // SAFETY: the timer is leaked (never moves).
        unsafe {
            k_timer_init(timer, Some(signal_from_isr), None);
            k_timer_user_data_set(timer, signal as *const _ as *mut _);
            k_timer_start(timer, K_TICKS(250), K_NO_WAIT);
        }
        let got = Rc::new(Cell::new((0, 0)));
        let g = got.clone();
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        executor().run_until(
            |s| {
                spawn(&s, async move {
                    let sent_at = signal.wait().await;
                    g.set((sent_at, ticks()));
                    d.set(true);
                })
            },
            || done.get(),
        );
        got.get()
    });
    assert_eq!(got, (250, 250), "(tick in the ISR, tick the task ran)");
}

/// Executors on threads of different priorities preempt each other like threads: a task of
/// the more urgent executor runs in the middle of a busy task of the less urgent one, at the
/// very tick its timer expires.
#[test]
fn the_more_urgent_executor_preempts_the_less_urgent_one() {
    let events = run(10, || {
        let events = Rc::new(RefCell::new(Vec::new()));
        let (e_hi, e_lo) = (events.clone(), events.clone());
        thread("high-executor", 2, move || {
            let e = e_hi.clone();
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        Timer::after_ticks(30).await;
                        log(&e, "high task runs");
                    })
                },
                || e_hi.borrow().len() >= 2,
            );
        });
        thread("low-executor", 6, move || {
            let e = e_lo.clone();
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        log(&e, "low task starts 10 ms of busy work");
                        // SAFETY: kernel call from the executor's thread.
                        unsafe { k_busy_wait(10_000) };
                        log(&e, "low task done");
                    })
                },
                || e_lo.borrow().len() >= 3,
            );
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(20) };
        events.take()
    });
    assert_eq!(
        events,
        ["T=0 low task starts 10 ms of busy work", "T=30 high task runs", "T=100 low task done"]
    );
}

/// While executors have nothing to do they block in the kernel: a lower-priority plain thread
/// gets the CPU, and so does the idle thread. Measured with the simulator's trace.
#[test]
fn lower_priority_threads_and_idle_run_while_executors_wait() {
    let outcome = zephyr_sim::Sim::new()
        .main_priority(12)
        .trace(true)
        .run(|| {
            for (name, prio) in [("exec-a", 2), ("exec-b", 5)] {
                thread(name, prio, move || {
                    executor().run(|s| {
                        spawn(&s, async {
                            loop {
                                Timer::after_millis(10).await;
                            }
                        })
                    })
                });
            }
            // Main (prio 12, below both executors) works in 1 ms chunks for 100 ms.
            let mut chunks = 0;
            while ticks() < 1000 {
                // SAFETY: kernel call from the simulated main thread.
                unsafe { k_busy_wait(1000) };
                chunks += 1;
            }
            // SAFETY: as above.
            unsafe { k_msleep(50) };
            chunks
        })
        .unwrap();
    assert_eq!(outcome.value, Some(100), "main got every millisecond it asked for");
    let trace = outcome.trace_text();
    assert!(trace.contains("switch exec-a -> main"), "{trace}");
    assert!(trace.contains("switch main -> idle"), "the idle thread ran while all waited");
}

/// An idle executor does nothing while nothing happens: no polls, and its thread never runs
/// (so it makes no kernel call) until its timer fires.
#[test]
fn an_idle_executor_does_not_poll_or_run() {
    let outcome = zephyr_sim::Sim::new()
        .main_priority(10)
        .trace(true)
        .run(|| {
            let ex: &'static Executor = executor();
            thread("executor", 3, move || {
                ex.run(|s| {
                    spawn(&s, async {
                        Timer::after_secs(1).await;
                    })
                })
            });
            // The executor polled once (the spawn) and parked.
            let before = ex.poll_count();
            // SAFETY: kernel calls from the simulated main thread.
            unsafe { k_msleep(999) };
            let during = ex.poll_count();
            // SAFETY: as above.
            unsafe { k_msleep(2) };
            (before, during, ex.poll_count())
        })
        .unwrap();
    assert_eq!(outcome.value, Some((1, 1, 2)), "(polls before, after 999 ms, after the timer)");
    // Between main's first sleep and the timer at tick 10 000, the executor never ran.
    let switches_to_executor: Vec<i64> = outcome
        .trace
        .iter()
        .filter(|r| matches!(r.event, zephyr_sim::TraceEvent::Switch { to, .. } if outcome.thread_names[to as usize] == "executor"))
        .map(|r| r.tick)
        .collect();
    assert_eq!(switches_to_executor, [0, 10_000]);
}

/// Ping-pong between a plain Zephyr thread and a task, `rounds` times: the thread wakes the
/// task with a `Signal` (its waker pends the executor), the task wakes the thread with a
/// `k_sem_give`. Both sides block, so a single lost wake-up leaves both blocked forever, which
/// the simulator reports as a deadlock. Returns the last value and the executor's polls.
fn ping_pong(main_prio: i32, executor_prio: i32, rounds: u32) -> (u32, u32) {
    run(main_prio, move || {
        let request: &'static Signal<CriticalSectionRawMutex, u32> =
            Box::leak(Box::new(Signal::new()));
        let reply: *mut k_sem = Box::leak(Box::new(k_sem::new()));
        // SAFETY: the semaphore is leaked (never moves).
        unsafe { k_sem_init(reply, 0, 1) };
        let reply = reply as usize;
        let value = Rc::new(Cell::new(0));
        let v = value.clone();
        let ex = executor();
        thread("executor", executor_prio, move || {
            ex.run(|s| {
                spawn(&s, async move {
                    loop {
                        v.set(request.wait().await);
                        // SAFETY: the leaked semaphore; k_sem_give may be called anywhere.
                        unsafe { k_sem_give(reply as *mut k_sem) };
                    }
                })
            })
        });
        for i in 1..=rounds {
            request.signal(i);
            // SAFETY: kernel call from the simulated main thread on the leaked semaphore.
            assert_eq!(unsafe { k_sem_take(reply as *mut k_sem, K_FOREVER) }, 0);
        }
        (value.get(), ex.poll_count())
    })
}

/// One million wakes each way between a thread and a task, none lost. The executor is more
/// urgent than the thread, so every round the task really waits, its executor parks, and the
/// thread's `signal` wakes it through the pender (`k_sem_give`): the executor runs as soon as
/// the signal's critical section ends.
#[test]
fn a_million_cross_thread_wakes_none_lost() {
    let (last, polls) = ping_pong(6, 4, 1_000_000);
    assert_eq!(last, 1_000_000);
    assert!(polls > 1_000_000, "every round parks and wakes the executor: {polls} polls");
}

/// The same with the executor less urgent than the thread: the task's reply preempts it
/// inside its own poll, and the next request finds the task still running (a pend without
/// kernel call). Nothing is lost either way.
#[test]
fn cross_thread_wakes_with_a_less_urgent_executor() {
    let (last, _) = ping_pong(4, 6, 100_000);
    assert_eq!(last, 100_000);
}

/// A pend while the executor runs is only an atomic operation: no `k_sem_give`. A stray give
/// would leave the executor's semaphore at 1, and the next park would return at once for an
/// extra poll; the poll count is exact instead.
#[test]
fn waking_a_running_executor_makes_no_kernel_call() {
    let polls = run(5, || {
        let ex = executor();
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        ex.run_until(
            |s| {
                spawn(&s, async move {
                    for _ in 0..1000 {
                        // Wakes its own task: the pender runs inside poll, executor running.
                        embassy_futures::yield_now().await;
                    }
                    Timer::after_ticks(5).await;
                    d.set(true);
                })
            },
            || done.get(),
        );
        ex.poll_count()
    });
    // One poll to start, one per yield, one when the timer fires: nothing else.
    assert_eq!(polls, 1 + 1000 + 1);
}

/// `SendSpawner` across executors: a task of the less urgent executor spawns a task on the
/// more urgent one, whose thread runs it at once (inside the spawn, as a more urgent thread
/// readied by a kernel call runs inside that call).
#[test]
fn a_send_spawner_spawns_across_executors() {
    let events = run(10, || {
        let events = Rc::new(RefCell::new(Vec::new()));
        let high: &'static Executor = executor();
        thread("high", 2, move || high.run(|_| {}));
        let e = events.clone();
        thread("low", 6, move || {
            let e2 = e.clone();
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        Timer::after_ticks(10).await;
                        log(&e2, "low task spawns on the high executor");
                        let flag: &'static std::sync::atomic::AtomicBool =
                            Box::leak(Box::new(std::sync::atomic::AtomicBool::new(false)));
                        spawn_send(&high.send_spawner(), async move {
                            flag.store(true, std::sync::atomic::Ordering::Relaxed);
                        });
                        let ran = flag.load(std::sync::atomic::Ordering::Relaxed);
                        log(&e2, format!("back in the low task; spawned task ran: {ran}"));
                    })
                },
                || e.borrow().len() == 2,
            );
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(5) };
        events.take()
    });
    assert_eq!(
        events,
        [
            "T=10 low task spawns on the high executor",
            "T=10 back in the low task; spawned task ran: true"
        ]
    );
}

/// Seeded exploration (`Sim::seed`): an interrupt raised by a task for "now" arrives at one of
/// the executor thread's next kernel calls, varied by the seed: before the task's wait, inside
/// the poll, or between the executor's decision to park and its `k_sem_take`. Over 64 seeds
/// and 100 wakes each, none is lost (a lost one leaves the executor parked for good, which the
/// simulator reports as a deadlock), and the seeds do explore different interleavings.
#[test]
fn isr_wakes_at_explored_arrival_points_are_never_lost() {
    let mut traces = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let outcome = zephyr_sim::Sim::new()
            .seed(seed)
            .trace(true)
            .run(|| {
                let signal: &'static Signal<CriticalSectionRawMutex, u32> =
                    Box::leak(Box::new(Signal::new()));
                let done = Rc::new(Cell::new(false));
                let d = done.clone();
                executor().run_until(
                    |s| {
                        spawn(&s, async move {
                            for i in 0..100 {
                                zephyr_sim::irq::raise_after_cycles(0, move || signal.signal(i));
                                assert_eq!(signal.wait().await, i);
                            }
                            d.set(true);
                        })
                    },
                    || done.get(),
                );
            })
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        traces.insert(outcome.trace_text());
    }
    assert!(traces.len() > 8, "the seeds explored {} interleavings", traces.len());
}

/// The same exploration finds the race of a park/wake built on `k_thread_suspend` and
/// `k_thread_resume`: a resume that arrives between the "nothing to do" check and the suspend
/// is not remembered (kernel/sched.c), and the thread sleeps forever.
#[test]
fn the_exploration_finds_the_suspend_resume_race() {
    static FLAGS: [std::sync::atomic::AtomicBool; 64] =
        [const { std::sync::atomic::AtomicBool::new(false) }; 64];
    let lost = (0..64u64).filter(|&seed| {
        let flag = &FLAGS[seed as usize];
        zephyr_sim::Sim::new()
            .seed(seed)
            .run(move || {
                // SAFETY: kernel calls from the simulated main thread.
                let me = unsafe { k_current_get() } as usize;
                for _ in 0..100 {
                    zephyr_sim::irq::raise_after_cycles(0, move || {
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        // SAFETY: `me` is the main thread, alive while the run lasts.
                        unsafe { k_thread_resume(me as k_tid_t) };
                    });
                    while !flag.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        // SAFETY: as above.
                        unsafe { k_thread_suspend(me as k_tid_t) };
                    }
                }
            })
            .is_err()
    });
    assert!(lost.count() > 0, "some seed delivers the resume just before the suspend");
}

/// Misuse is a clear panic at the call, naming the executor: `Executor::run` in an ISR (it
/// would run tasks in interrupt context and only fail when it first parked, in `k_sem_take`).
#[test]
fn executor_run_in_an_isr_panics_at_entry() {
    let err = zephyr_sim::Sim::new()
        .run(|| {
            zephyr_sim::irq::raise_after_us(10, || {
                let ex: &'static Executor = Box::leak(Box::new(Executor::new()));
                ex.run_until(|_| {}, || true);
            });
            // SAFETY: a plain sleep on the main thread, long enough for the interrupt.
            unsafe { k_msleep(1) };
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Executor::run") && text.contains("ISR cannot block"), "{text}");
}
