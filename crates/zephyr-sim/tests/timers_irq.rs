//! Timers (`kernel/timer.c`), ISR context and interrupt locking (`include/zephyr/irq.h`),
//! one test per rule. Board: 10 kHz ticks, 1 MHz cycles (100 cycles per tick).

mod common;

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::rc::Rc;

use common::*;
use zephyr_sys::*;

thread_local! {
    static EXPIRIES: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
    static STOPS: Cell<u32> = const { Cell::new(0) };
    static IN_ISR: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C-unwind" fn record_expiry(_: *mut k_timer) {
    // SAFETY: kernel calls from the timer ISR.
    let (t, isr) = unsafe { (k_uptime_ticks(), k_is_in_isr()) };
    EXPIRIES.with(|e| e.borrow_mut().push(t));
    IN_ISR.with(|v| v.borrow_mut().push(isr));
}

unsafe extern "C-unwind" fn record_stop(_: *mut k_timer) {
    STOPS.with(|s| s.set(s.get() + 1));
    // SAFETY: kernel call from the thread that called k_timer_stop.
    let isr = unsafe { k_is_in_isr() };
    IN_ISR.with(|v| v.borrow_mut().push(isr));
}

fn new_timer() -> *mut k_timer {
    let t: *mut k_timer = leak(k_timer::new());
    // SAFETY: the timer is leaked and never moves.
    unsafe { k_timer_init(t, Some(record_expiry), Some(record_stop)) };
    t
}

/// kernel/timer.c (`z_timer_expiration_handler` re-arms from the expiry's own tick): a
/// periodic timer keeps its phase exactly, here over 10 000 periods of 7 ticks; the expiry
/// function runs in ISR context.
#[test]
fn periodic_timer_has_no_drift_over_10000_periods() {
    EXPIRIES.with(|e| e.borrow_mut().clear());
    IN_ISR.with(|v| v.borrow_mut().clear());
    let (start, _) = run(5, || {
        let t = new_timer();
        // SAFETY: kernel calls from a simulated thread on a leaked timer.
        unsafe {
            k_sleep(K_TICKS(3));
            let start = k_uptime_ticks();
            k_timer_start(t, K_TICKS(7), K_TICKS(7));
            while EXPIRIES.with(|e| e.borrow().len()) < 10_000 {
                k_timer_status_sync(t);
            }
            k_timer_stop(t);
            start
        }
    });
    let expiries = EXPIRIES.with(|e| e.take());
    assert_eq!(expiries.len(), 10_000);
    for (i, &t) in expiries.iter().enumerate() {
        assert_eq!(t, start + 7 * (i as i64 + 1), "expiry #{}", i + 1);
    }
    let contexts = IN_ISR.with(|v| v.take());
    assert!(contexts[..10_000].iter().all(|&isr| isr), "expiry functions run in ISR context");
    assert!(!contexts[10_000], "the stop function runs in the caller's context");
}

/// kernel/timer.c (`z_impl_k_timer_stop`): the stop function runs only when a running timer
/// is stopped: not for a timer never started, nor an expired one-shot, nor a second stop.
#[test]
fn stop_function_only_for_a_running_timer() {
    let (stops, _) = run(5, || {
        STOPS.with(|s| s.set(0));
        let t = new_timer();
        let mut seen = Vec::new();
        // SAFETY: kernel calls from a simulated thread on a leaked timer.
        unsafe {
            k_timer_stop(t); // never started
            seen.push(STOPS.with(Cell::get));
            k_timer_start(t, K_TICKS(2), K_NO_WAIT);
            k_sleep(K_TICKS(5));
            k_timer_stop(t); // expired one-shot
            seen.push(STOPS.with(Cell::get));
            k_timer_start(t, K_TICKS(100), K_NO_WAIT);
            k_timer_stop(t); // running
            seen.push(STOPS.with(Cell::get));
            k_timer_stop(t); // already stopped
            seen.push(STOPS.with(Cell::get));
        }
        seen
    });
    assert_eq!(stops, [0, 0, 1, 1]);
}

/// kernel/timer.c (`z_impl_k_timer_status_sync`): blocks until the next expiry when nothing
/// is counted; returns the count at once otherwise; returns 0 at once on a stopped timer; a
/// waiter is released with 0 when the timer is stopped.
#[test]
fn status_sync_cases() {
    let (r, log) = run(5, || {
        let t = new_timer();
        // SAFETY: kernel calls from simulated threads on a leaked timer.
        unsafe {
            k_timer_start(t, K_TICKS(50), K_NO_WAIT);
            let first = k_timer_status_sync(t);
            let t1 = k_uptime_ticks();
            let expired = k_timer_status_sync(t);
            k_timer_start(t, K_TICKS(10), K_TICKS(10));
            k_sleep(K_TICKS(35));
            let counted = k_timer_status_sync(t);
            let get_after = k_timer_status_get(t);
            k_timer_start(t, K_TICKS(100), K_NO_WAIT);
            let tp = t as usize;
            spawn("syncer", 3, K_NO_WAIT, move || {
                let r = k_timer_status_sync(tp as *mut k_timer);
                log!("syncer released with {r}");
            });
            k_sleep(K_TICKS(10));
            log!("main stops the timer");
            k_timer_stop(t);
            log!("main after stop");
            (first, t1, expired, counted, get_after)
        }
    });
    // Started at 0: expiry at 50; restarted at 50 with period 10: expiries 60, 70, 80;
    // the sleep of 35 ticks ends at 86.
    assert_eq!(r, (1, 50, 0, 3, 0));
    assert_eq!(
        log,
        ["T=97 main stops the timer", "T=97 syncer released with 0", "T=97 main after stop"]
    );
}

/// kernel/timer.c (`z_impl_k_timer_start`) as measured on Zephyr 2.7: a duration of N ticks
/// expires at the current tick + N (at least 1), K_FOREVER leaves the timer alone, a restart
/// clears the status, and user data round-trips.
#[test]
fn timer_start_rounding_restart_and_forever() {
    EXPIRIES.with(|e| e.borrow_mut().clear());
    let (r, _) = run(5, || {
        let t = new_timer();
        let mut data = 7u32;
        // SAFETY: kernel calls from a simulated thread on a leaked timer.
        unsafe {
            k_timer_user_data_set(t, &mut data as *mut u32 as *mut c_void);
            k_timer_start(t, K_TICKS(0), K_NO_WAIT);
            let rem0 = k_timer_remaining_ticks(t);
            k_timer_status_sync(t);
            k_timer_start(t, K_TICKS(5), K_TICKS(5));
            k_sleep(K_TICKS(12));
            k_timer_start(t, K_TICKS(5), K_TICKS(5));
            let after_restart = k_timer_status_get(t);
            k_timer_stop(t);
            k_timer_start(t, K_FOREVER, K_TICKS(1));
            let forever = k_timer_remaining_ticks(t);
            let ud = *(k_timer_user_data_get(t) as *mut u32);
            (rem0, after_restart, forever, ud)
        }
    });
    assert_eq!(r, (1, 0, 0, 7));
    assert_eq!(EXPIRIES.with(|e| e.take()), [1, 6, 11]);
}

/// include/zephyr/irq.h + kernel/sched.c (`z_reschedule` checks the caller's interrupt
/// state), as measured on Zephyr 2.7: a thread readied under `irq_lock` does not run at the
/// give nor at `irq_unlock`, but at the caller's next reschedule point.
#[test]
fn irq_lock_defers_the_switch_to_the_next_reschedule_point() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        spawn("high", 3, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("high runs");
        });
        // SAFETY: as above.
        unsafe {
            let key = irq_lock();
            k_sem_give(s);
            log!("main after give, irqs locked");
            irq_unlock(key);
            log!("main after irq_unlock");
            k_yield();
            log!("main after k_yield");
        }
    });
    assert_eq!(
        log,
        [
            "T=0 main after give, irqs locked",
            "T=0 main after irq_unlock",
            "T=0 high runs",
            "T=0 main after k_yield",
        ]
    );
}

/// include/zephyr/irq.h: an interrupt that falls due while locked stays pending (the busy
/// wait is not interrupted) and runs at `irq_unlock`, whose interrupt exit then preempts the
/// caller. The timeout handler reads uptime as the tick it was scheduled for
/// (kernel/timeout.c: `sys_clock_announce` sets `curr_tick` per timeout).
#[test]
fn interrupt_pending_while_locked_runs_at_unlock() {
    EXPIRIES.with(|e| e.borrow_mut().clear());
    let (r, log) = run(5, || {
        let s = sem(0, 1);
        spawn("high", 3, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("high runs");
        });
        let t: *mut k_timer = leak(k_timer::new());
        unsafe extern "C-unwind" fn give(t: *mut k_timer) {
            // SAFETY: ISR-safe kernel calls; user data is the leaked semaphore.
            unsafe {
                EXPIRIES.with(|e| e.borrow_mut().push(k_uptime_ticks()));
                k_sem_give(k_timer_user_data_get(t) as *mut k_sem);
            }
        }
        // SAFETY: as above.
        unsafe {
            k_timer_init(t, Some(give), None);
            k_timer_user_data_set(t, s as *mut c_void);
            k_timer_start(t, K_TICKS(3), K_NO_WAIT);
            let key = irq_lock();
            k_busy_wait(1000); // 10 ticks, past the expiry at tick 3
            log!("main: busy-wait done, expiry pending");
            irq_unlock(key);
            log!("main after irq_unlock");
            k_cycle_get_32()
        }
    });
    assert_eq!(r, 1000);
    assert_eq!(EXPIRIES.with(|e| e.take()), [3]);
    assert_eq!(
        log,
        [
            "T=10 main: busy-wait done, expiry pending",
            "T=10 high runs",
            "T=10 main after irq_unlock"
        ]
    );
}

/// include/zephyr/irq.h: the lock belongs to the thread. While it sleeps, interrupts run and
/// other threads run with interrupts enabled; its lock is back when it resumes.
#[test]
fn irq_lock_belongs_to_the_thread() {
    EXPIRIES.with(|e| e.borrow_mut().clear());
    let (r, _) = run(5, || {
        let t = new_timer();
        // SAFETY: kernel calls from a simulated thread on a leaked timer.
        unsafe {
            let key = irq_lock();
            k_timer_start(t, K_TICKS(2), K_NO_WAIT);
            k_sleep(K_TICKS(5)); // blocks: the expiry at tick 2 runs meanwhile
            let expired = EXPIRIES.with(|e| e.borrow().clone());
            let nested = irq_lock();
            irq_unlock(nested);
            irq_unlock(key);
            (expired, key, nested)
        }
    });
    assert_eq!(r, (vec![2], 0, 1));
}

/// boards/native/native_sim model: a simulated device interrupt arriving during
/// `k_busy_wait` runs in ISR context and its exit preempts the busy thread for a more urgent
/// one it readied; the busy wait then finishes at its own end time.
#[test]
fn device_interrupt_preempts_a_busy_wait() {
    let (r, log) = run(5, || {
        let s = sem(0, 1);
        spawn("handler", 2, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            let r = unsafe { k_sem_take(s, K_FOREVER) };
            log!("handler woke {r} at cycle {}", zephyr_sim::irq::now_cycles());
        });
        let sp = s as usize;
        let isr_flag = Rc::new(Cell::new(false));
        let f = isr_flag.clone();
        zephyr_sim::irq::raise_after_us(250, move || {
            // SAFETY: ISR-safe kernel calls on a leaked semaphore.
            unsafe {
                f.set(k_is_in_isr());
                k_sem_give(sp as *mut k_sem);
            }
        });
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_busy_wait(1000) };
        log!("main: busy wait over at cycle {}", zephyr_sim::irq::now_cycles());
        isr_flag.get()
    });
    assert!(r, "the device interrupt ran in ISR context");
    assert_eq!(log, ["T=2 handler woke 0 at cycle 250", "T=10 main: busy wait over at cycle 1000"]);
}

/// kernel/sched.c (`z_impl_k_yield` swaps unconditionally; `z_reschedule` only with the
/// caller's interrupts unlocked): holding `irq_lock`, a give does not switch to the readied
/// thread, but a `k_yield` does, like a blocking call; the lock is the caller's again when it
/// resumes.
#[test]
fn k_yield_switches_even_under_irq_lock() {
    let (key_after, log) = run(5, || {
        let s = sem(0, 1);
        spawn("high", 3, K_NO_WAIT, move || {
            // SAFETY: kernel call from a simulated thread on a leaked semaphore.
            unsafe { k_sem_take(s, K_FOREVER) };
            log!("high runs");
        });
        // SAFETY: as above.
        unsafe {
            let key = irq_lock();
            k_sem_give(s);
            log!("main after give, irqs locked");
            k_yield();
            log!("main after k_yield, irqs still locked");
            let nested = irq_lock();
            irq_unlock(nested);
            irq_unlock(key);
            nested
        }
    });
    assert_eq!(key_after, 1, "the caller's lock was kept across the switch");
    assert_eq!(
        log,
        [
            "T=0 main after give, irqs locked",
            "T=0 high runs",
            "T=0 main after k_yield, irqs still locked"
        ]
    );
}

/// include/zephyr/irq.h on native_posix (`posix_irq_lock` returns the previous state): keys
/// are 0 (was unlocked) or 1 (was locked); nested locks are released in reverse order and only
/// the outermost unlock unlocks.
#[test]
fn irq_lock_keys_are_the_previous_state() {
    let (keys, _) = run(5, || {
        // SAFETY: kernel calls from the simulated main thread.
        unsafe {
            let a = irq_lock();
            let b = irq_lock();
            let c = irq_lock();
            irq_unlock(c);
            irq_unlock(b);
            let still_locked = !arch_irq_unlocked(irq_lock());
            irq_unlock(1);
            irq_unlock(a);
            let unlocked = arch_irq_unlocked(irq_lock());
            irq_unlock(0);
            (a, b, c, still_locked, unlocked)
        }
    });
    assert_eq!(keys, (0, 1, 1, true, true));
}
