//! The `embassy-time` driver on Zephyr: `now()` from the kernel's uptime ticks, alarms on one
//! `k_timer`.
//!
//! # How it works
//!
//! * `now()` is `k_uptime_ticks()`, in embassy-time's ticks.
//! * Deadlines wait in a [`TimerQueue`], a pairing heap threaded through embassy-executor's
//!   per-task timer items (so only embassy-executor tasks can wait on a timer): scheduling is
//!   O(1), each expiry O(log n) amortized with n timers waiting, and the earliest deadline is
//!   at the root. One `k_timer` is armed for the earliest deadline with an absolute timeout
//!   (`K_TIMEOUT_ABS_TICKS`), which expires at that very tick on every Zephyr version
//!   (relative `k_timer` durations round differently between versions). It is re-armed only
//!   when the earliest deadline changes: `schedule_wake` of an earlier deadline, or an expiry.
//!   When the queue is empty the timer is stopped: no interrupts while nothing waits.
//! * The timer's expiry function runs in the system clock ISR: it only wakes wakers (which
//!   pend executors: an atomic operation, or a `k_sem_give`) and re-arms the timer.
//! * A timer dropped before its deadline (a `select` or `with_timeout` that another future
//!   won) stays queued: its task is woken once at that deadline, a spurious wake after which
//!   the task registers its current deadline again. A task waiting on several deadlines keeps
//!   the earliest.
//!
//! # When a task wakes
//!
//! Never early: a deadline is rounded *up* to a Zephyr tick, and the alarm fires at the start
//! of that tick, when `now()` has reached it. A deadline in the future at `schedule_wake` fires
//! exactly at its tick; one already past when scheduled fires at the next tick. The task then
//! runs when its executor's thread is scheduled: at once if that thread is the most urgent
//! ready one, otherwise after the more urgent threads block.
//!
//! # Tick rates
//!
//! Zephyr counts `CONFIG_SYS_CLOCK_TICKS_PER_SEC` ticks per second; embassy-time counts
//! `TICK_HZ`, chosen by its `tick-hz-*` features. They must agree: a mismatch is a compile error
//! that names the feature to pick, unless zephyr's `time-driver-convert` feature is enabled,
//! in which case `now()` converts down and deadlines convert up (so nothing wakes early). On the
//! simulator a board can also be booted at another rate; without `time-driver-convert` that is
//! a panic at the driver's first use, naming both rates.

use core::cell::RefCell;
use core::task::Waker;

use critical_section::Mutex;
use embassy_time_driver::{Driver, TICK_HZ};
use zephyr_sys::*;

use super::timer_queue::TimerQueue;
use crate::object::{BootStatic, KObj};

/// The compile error for a tick-rate mismatch, naming the embassy-time feature to pick.
#[cfg(not(feature = "time-driver-convert"))]
macro_rules! mismatch {
    ($hz:literal, $feature:literal) => {
        concat!(
            "zephyr time driver: Zephyr ticks at ",
            $hz,
            " Hz (CONFIG_SYS_CLOCK_TICKS_PER_SEC) but embassy-time at another rate: enable \
             embassy-time's feature `",
            $feature,
            "`, or zephyr's feature `time-driver-convert`"
        )
    };
}

#[cfg(not(feature = "time-driver-convert"))]
const _: () = {
    const MESSAGE: &str = match CONFIG_SYS_CLOCK_TICKS_PER_SEC {
        100 => mismatch!("100", "tick-hz-100"),
        1_000 => mismatch!("1000", "tick-hz-1_000"),
        10_000 => mismatch!("10000", "tick-hz-10_000"),
        32_768 => mismatch!("32768", "tick-hz-32_768"),
        _ => {
            "zephyr time driver: embassy-time's tick rate differs from Zephyr's \
             CONFIG_SYS_CLOCK_TICKS_PER_SEC: enable the embassy-time feature `tick-hz-N` with N \
             equal to it, or zephyr's feature `time-driver-convert`"
        }
    };
    if CONFIG_SYS_CLOCK_TICKS_PER_SEC as u64 != TICK_HZ {
        panic!("{}", MESSAGE);
    }
};

struct State {
    queue: Mutex<RefCell<TimerQueue>>,
    timer: KObj<k_timer>,
}

static STATE: BootStatic<State> = BootStatic::new(|| State {
    // SAFETY: the only timer queue of this system (of this boot, on the simulator): the driver
    // registered below is the only user of embassy-executor's timer items.
    queue: Mutex::new(RefCell::new(unsafe { TimerQueue::new() })),
    timer: KObj::timer(Some(alarm_expired), None),
});

/// Zephyr's tick rate, checked against embassy-time's unless converting.
#[inline]
fn zephyr_hz() -> u64 {
    let hz = sys_clock_ticks_per_sec() as u64;
    if !cfg!(feature = "time-driver-convert") && hz != TICK_HZ {
        rate_mismatch(hz);
    }
    hz
}

#[cold]
fn rate_mismatch(hz: u64) -> ! {
    panic!(
        "zephyr time driver: the kernel ticks at {hz} Hz but embassy-time at {TICK_HZ} Hz; \
         boot the board at {TICK_HZ} Hz, pick embassy-time's `tick-hz-{hz}` feature, or enable \
         zephyr's `time-driver-convert` feature"
    )
}

/// Zephyr ticks to embassy ticks, rounding down (a clock reading).
#[inline]
fn to_embassy(t: u64, hz: u64) -> u64 {
    if hz == TICK_HZ {
        t
    } else {
        z_tmcvt(t, hz, TICK_HZ, false)
    }
}

/// Embassy ticks to Zephyr ticks, rounding up (a deadline: never early).
#[inline]
fn to_zephyr(t: u64, hz: u64) -> u64 {
    if hz == TICK_HZ {
        t
    } else {
        z_tmcvt(t, TICK_HZ, hz, true)
    }
}

fn zephyr_now() -> u64 {
    // SAFETY: k_uptime_ticks has no preconditions.
    unsafe { k_uptime_ticks() as u64 }
}

/// Arms the timer for `next` (embassy ticks); false if `next` has already come, so the caller
/// must dequeue again. `u64::MAX` (nothing queued) stops the timer.
fn set_alarm(state: &State, next: u64) -> bool {
    let timer = state.timer.get();
    let at = to_zephyr(next, zephyr_hz());
    // Nothing queued (u64::MAX), or a deadline past what a kernel timeout encodes
    // (`K_TIMEOUT_ABS_TICKS` holds ticks up to 2^63 - 2): never, so no timer.
    if next == u64::MAX || at > (i64::MAX - 2) as u64 {
        // SAFETY: the timer is statically initialised and never moves (KObj checks);
        // k_timer_stop is ISR-safe.
        unsafe { k_timer_stop(timer) };
        return true;
    }
    if at <= zephyr_now() {
        return false;
    }
    // SAFETY: as above; an absolute timeout expires exactly at tick `at`.
    unsafe { k_timer_start(timer, K_TIMEOUT_ABS_TICKS(at as k_ticks_t), K_NO_WAIT) };
    true
}

/// Wakes what is due and re-arms for the rest. Runs in a critical section.
fn dequeue_and_rearm(state: &State, queue: &mut TimerQueue) {
    loop {
        let next = queue.next_expiration(ZephyrTimeDriver.now());
        if set_alarm(state, next) {
            return;
        }
    }
}

/// The timer's expiry function: in the system clock ISR.
unsafe extern "C-unwind" fn alarm_expired(_timer: *mut k_timer) {
    let state = STATE.get();
    critical_section::with(|cs| {
        let mut queue = state.queue.borrow_ref_mut(cs);
        dequeue_and_rearm(state, &mut queue);
    });
}

/// The driver (registered with `embassy_time_driver::time_driver_impl!`).
pub struct ZephyrTimeDriver;

impl Driver for ZephyrTimeDriver {
    fn now(&self) -> u64 {
        to_embassy(zephyr_now(), zephyr_hz())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        let state = STATE.get();
        critical_section::with(|cs| {
            let mut queue = state.queue.borrow_ref_mut(cs);
            // True only when the earliest deadline got earlier: otherwise the timer is
            // already armed for the earliest one.
            if queue.schedule_wake(at, waker) {
                dequeue_and_rearm(state, &mut queue);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: ZephyrTimeDriver = ZephyrTimeDriver);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_deadlines_up_and_readings_down() {
        // 10 kHz embassy, 100 Hz kernel: a deadline at embassy tick 101 needs kernel tick 2.
        assert_eq!(z_tmcvt(101, 10_000, 100, true), 2);
        assert_eq!(z_tmcvt(2, 100, 10_000, false), 200);
        assert_eq!(to_zephyr(12_345, TICK_HZ), 12_345);
    }
}
