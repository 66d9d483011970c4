//! Scheduling rules of `kernel/sched.c` and `kernel/thread.c`, one test per rule.
//!
//! Board: 10 kHz ticks, 1 MHz cycles. Each log line is `T=<tick> <event>`.

mod common;

use common::*;
use zephyr_sys::*;

/// kernel/sched.c (`z_reschedule`, `should_preempt`): a preemptible thread is preempted inside
/// the call that readies a more urgent thread; a less urgent or equal one waits until it
/// blocks.
#[test]
fn preemption_order_across_priorities() {
    let (_, log) = run(5, || {
        log!("main starts");
        spawn("low", 7, K_NO_WAIT, || log!("low runs"));
        log!("main after creating low");
        spawn("equal", 5, K_NO_WAIT, || log!("equal runs"));
        log!("main after creating equal");
        spawn("high", 3, K_NO_WAIT, || log!("high runs"));
        log!("main after creating high");
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_msleep(1) };
        log!("main woke");
    });
    assert_eq!(
        log,
        [
            "T=0 main starts",
            "T=0 main after creating low",
            "T=0 main after creating equal",
            "T=0 high runs",
            "T=0 main after creating high",
            "T=0 equal runs",
            "T=0 low runs",
            "T=11 main woke",
        ]
    );
}

/// kernel/sched.c (`should_preempt`: `is_preempt(_current)`): a cooperative thread keeps the
/// CPU when it readies a more urgent thread, and gives it up when it yields.
#[test]
fn cooperative_thread_is_not_preempted() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        spawn("urgent", -5, K_NO_WAIT, move || {
            // SAFETY: kernel calls from a simulated thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("urgent runs");
        });
        spawn("coop", -1, K_NO_WAIT, move || {
            log!("coop gives");
            // SAFETY: as above.
            unsafe { k_sem_give(s) };
            log!("coop still running after give");
            // SAFETY: as above.
            unsafe { k_busy_wait(1000) };
            log!("coop still running after busy-wait");
            // SAFETY: as above.
            unsafe { k_yield() };
            log!("coop after yield");
        });
    });
    assert_eq!(
        log,
        [
            "T=0 coop gives",
            "T=0 coop still running after give",
            "T=10 coop still running after busy-wait",
            "T=10 urgent runs",
            "T=10 coop after yield",
        ]
    );
}

/// kernel/sched.c (`z_impl_k_yield`): yield puts the caller behind the ready threads of its
/// priority, so equal threads take turns; it does not run less urgent ones.
#[test]
fn yield_round_robin_among_equals() {
    let (_, log) = run(5, || {
        for name in ["A", "B", "C"] {
            spawn(name, 6, K_NO_WAIT, move || {
                for i in 0..2 {
                    log!("{name}{i}");
                    // SAFETY: kernel call from a simulated thread.
                    unsafe { k_yield() };
                }
            });
        }
        spawn("lower", 7, K_NO_WAIT, || log!("lower"));
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_yield() };
        log!("main: yield with only less urgent threads ready returns at once");
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_msleep(1) };
    });
    assert_eq!(
        log,
        [
            "T=0 main: yield with only less urgent threads ready returns at once",
            "T=0 A0",
            "T=0 B0",
            "T=0 C0",
            "T=0 A1",
            "T=0 B1",
            "T=0 C1",
            "T=0 lower",
        ]
    );
}

/// kernel/sched.c (`z_impl_k_thread_resume`): resuming a thread that is not suspended does
/// nothing and is not remembered: a later self-suspend still suspends.
#[test]
fn resume_of_a_running_thread_is_not_remembered() {
    let (states, log) = run(5, || {
        let t = spawn("worker", 7, K_NO_WAIT, || {
            log!("worker suspends itself");
            // SAFETY: kernel calls from a simulated thread.
            unsafe { k_thread_suspend(k_current_get()) };
            log!("worker resumed");
        });
        // SAFETY: kernel calls from a simulated thread; `t` is alive.
        unsafe {
            k_thread_resume(t); // not suspended yet: forgotten
            k_msleep(1);
            let suspended = (*t).base.thread_state & thread_state::_THREAD_SUSPENDED != 0;
            log!("main: worker suspended = {suspended}");
            k_thread_resume(t);
            k_msleep(1);
            suspended
        }
    });
    assert!(states);
    assert_eq!(
        log,
        ["T=0 worker suspends itself", "T=11 main: worker suspended = true", "T=11 worker resumed",]
    );
}

/// kernel/sched.c (`z_impl_k_thread_suspend` aborts the thread's timeout): a suspended
/// sleeper does not wake at its deadline; resumed later, it continues at once and `k_sleep`
/// returns 0; resumed before the deadline, it continues at once with the time left.
#[test]
fn suspend_cancels_a_sleep_for_good() {
    let (_, log) = run(5, || {
        let t = spawn("sleeper", 3, K_NO_WAIT, || {
            // SAFETY: kernel call from a simulated thread.
            let left = unsafe { k_msleep(5) };
            log!("sleeper returns {left}");
        });
        // SAFETY: kernel calls from a simulated thread; `t` is alive.
        unsafe {
            k_sleep(K_TICKS(9));
            k_thread_suspend(t);
            k_msleep(10); // past the sleeper's deadline (tick 51)
            log!("main resumes sleeper");
            k_thread_resume(t);
            let u = spawn("early", 3, K_NO_WAIT, || {
                let left = k_msleep(5);
                log!("early returns {left}");
            });
            k_sleep(K_TICKS(9));
            k_thread_suspend(u);
            k_sleep(K_TICKS(9));
            log!("main resumes early");
            k_thread_resume(u);
        }
    });
    assert_eq!(
        log,
        [
            "T=111 main resumes sleeper",
            "T=111 sleeper returns 0",
            "T=131 main resumes early",
            // Due at 111 + 50 = 161 (z_tick_sleep's expected wakeup): 30 ticks = 3 ms left.
            "T=131 early returns 3",
        ]
    );
}

/// kernel/thread.c (`z_impl_k_thread_join`): 0 once the thread ended, -EBUSY with K_NO_WAIT,
/// -EDEADLK for the caller itself, -EAGAIN when the timeout expires first.
#[test]
fn join_results() {
    let (r, _) = run(5, || {
        let t = spawn("worker", 6, K_NO_WAIT, || {
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_msleep(1) };
        });
        // SAFETY: kernel calls from a simulated thread; `t` is leaked.
        unsafe {
            let busy = k_thread_join(t, K_NO_WAIT);
            let me = k_thread_join(k_current_get(), K_FOREVER);
            let early = k_thread_join(t, K_TICKS(2));
            let t0 = k_uptime_ticks();
            let done = k_thread_join(t, K_FOREVER);
            let t1 = k_uptime_ticks();
            let again = k_thread_join(t, K_NO_WAIT);
            (busy, me, early, t0, done, t1, again)
        }
    });
    assert_eq!(r, (-EBUSY, -EDEADLK, -EAGAIN, 3, 0, 11, 0));
}

/// kernel/sched.c (`z_thread_abort`): aborting another thread ends it at once and wakes its
/// joiners; it never runs again.
#[test]
fn abort_ends_a_thread_and_wakes_joiners() {
    let (r, log) = run(5, || {
        let t = spawn("victim", 6, K_NO_WAIT, || {
            log!("victim runs");
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_sleep(K_FOREVER) };
            log!("victim must never get here");
        });
        spawn("joiner", 4, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread; `t` is leaked.
            let r = unsafe { k_thread_join(t, K_FOREVER) };
            log!("joiner: join returned {r}");
        });
        // SAFETY: kernel calls from a simulated thread.
        unsafe {
            k_msleep(1);
            log!("main aborts victim");
            k_thread_abort(t);
            log!("main after abort");
            (*t).base.thread_state & thread_state::_THREAD_DEAD != 0
        }
    });
    assert!(r);
    assert_eq!(
        log,
        [
            "T=0 victim runs",
            "T=11 main aborts victim",
            "T=11 joiner: join returned 0",
            "T=11 main after abort",
        ]
    );
}

/// kernel/sched.c (`z_impl_k_wakeup`): wakes a sleeping thread early; `k_sleep` returns the
/// milliseconds left.
#[test]
fn wakeup_ends_a_sleep_early() {
    let (_, log) = run(5, || {
        let t = spawn("sleeper", 4, K_NO_WAIT, || {
            // SAFETY: kernel call from a simulated thread.
            let left = unsafe { k_msleep(100) };
            log!("sleeper woke, {left} ms left");
        });
        // SAFETY: kernel calls from a simulated thread; `t` is leaked.
        unsafe {
            k_msleep(10);
            k_wakeup(t);
            log!("main after wakeup");
        }
    });
    // Due at 0 + 1000 ticks; woken at 101: 899 ticks = 89.9 ms, rounded down.
    assert_eq!(log, ["T=101 sleeper woke, 89 ms left", "T=101 main after wakeup"]);
}

/// kernel/sched.c (`k_sched_lock`): a thread that locks the scheduler is not preempted until
/// it unlocks; the unlock is a reschedule point.
#[test]
fn sched_lock_defers_preemption() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        spawn("high", 2, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("high runs");
        });
        // SAFETY: as above.
        unsafe {
            k_sched_lock();
            k_sem_give(s);
            log!("main still running with the scheduler locked");
            k_sched_unlock();
            log!("main after unlock");
        }
    });
    assert_eq!(
        log,
        [
            "T=0 main still running with the scheduler locked",
            "T=0 high runs",
            "T=0 main after unlock"
        ]
    );
}

/// kernel/timeout.c (`z_add_timeout`, CONFIG_TIMEOUT_64BIT): an absolute timeout ends exactly
/// at its tick; one at or before the current tick ends at the next tick.
#[test]
fn absolute_timeouts_end_at_their_tick() {
    let (r, _) = run(5, || {
        // SAFETY: kernel calls from a simulated thread.
        unsafe {
            k_sleep(K_TIMEOUT_ABS_TICKS(1234));
            let a = k_uptime_ticks();
            k_sleep(K_TIMEOUT_ABS_TICKS(1000));
            let b = k_uptime_ticks();
            let s = sem(0, 1);
            let r = k_sem_take(s, K_TIMEOUT_ABS_TICKS(2000));
            (a, b, r, k_uptime_ticks())
        }
    });
    assert_eq!(r, (1234, 1235, -EAGAIN, 2000));
}

/// Virtual time (native_sim model): when every thread is blocked, time jumps to the next
/// timeout. A thread sleeping 1 ms in a loop for a simulated hour: 3 600 000 sleeps of 11 ticks.
#[test]
fn one_simulated_hour_of_1ms_sleeps() {
    let (ticks, _) = run(5, || {
        // SAFETY: kernel calls from a simulated thread.
        unsafe {
            let mut n = 0u64;
            while k_uptime_get() < 3_600_000 {
                k_msleep(1);
                n += 1;
            }
            (n, k_uptime_ticks())
        }
    });
    // Each k_msleep(1) = 10 ticks + 1: 3 600 000 ms / 1.1 ms, rounded up.
    assert_eq!(ticks, (3_272_728, 36_000_008));
}

/// kernel/thread.c (`Z_ASSERT_VALID_PRIO`): an invalid priority is a fatal error naming the
/// call.
#[test]
fn invalid_priority_is_reported() {
    let err = run_err(|| {
        spawn("bad", 15, K_NO_WAIT, || {});
    });
    let text = err.to_string();
    assert!(text.contains("k_thread_create: invalid thread priority 15"), "{text}");
}

/// kernel/sched.c (`z_impl_k_wakeup`, Zephyr 2.7): a thread that only is suspended, such as
/// one in `k_sleep(K_FOREVER)` (which suspends the caller), is woken; `k_sleep` then returns
/// `K_TICKS_FOREVER`. A thread pending on an object is left alone.
#[test]
fn wakeup_ends_a_forever_sleep_but_not_a_wait() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        let sleeper = spawn("sleeper", 4, K_NO_WAIT, || {
            // SAFETY: kernel call from a simulated thread.
            let r = unsafe { k_sleep(K_FOREVER) };
            log!("sleeper woke, k_sleep returned {r}");
        });
        let waiter = spawn("waiter", 4, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            let r = unsafe { k_sem_take(s, K_FOREVER) };
            log!("waiter got {r}");
        });
        // SAFETY: kernel calls from the simulated main thread; the threads are alive.
        unsafe {
            k_msleep(1);
            k_wakeup(waiter);
            log!("main after waking the waiter");
            k_wakeup(sleeper);
            log!("main after waking the sleeper");
            k_sem_give(s);
        }
    });
    assert_eq!(
        log,
        [
            "T=11 main after waking the waiter",
            "T=11 sleeper woke, k_sleep returned -1",
            "T=11 main after waking the sleeper",
            "T=11 waiter got 0",
        ]
    );
}
