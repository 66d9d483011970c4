//! Kernel timers (`kernel/timer.c`), with the rounding of Zephyr 2.7.
//!
//! `k_timer_start` subtracts one tick from a relative duration and period before the
//! timeout code adds one back, so a duration or period of N ticks expires N ticks after the
//! current tick (at least 1), and a 1-tick period expires every 2 ticks. This is what the
//! real-kernel traces in `conformance/s5_timers` show (newer kernels dropped the subtraction).
//! The period is re-armed from inside the expiry, relative to the expiry's own tick, so a
//! periodic timer does not drift.

use std::ffi::c_void;
use std::ptr::addr_of_mut;

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Target, Wait};
use crate::switch::{reschedule, swap};
use crate::trace::TraceEvent;

fn check(k: &mut Kernel, timer: *mut k_timer, call: &str) {
    // SAFETY: the caller of the API function guarantees `timer` points to a k_timer.
    k.check_object(unsafe { addr_of_mut!((*timer)._sim) }, timer, Z_SIM_TIMER, call);
}

/// Cancels the timer's pending expiry; returns whether it was running.
fn abort_timeout(k: &mut Kernel, timer: *mut k_timer) -> bool {
    // SAFETY: checked by the caller.
    let t = unsafe { &mut (*timer).timeout };
    if t.seq == 0 {
        return false;
    }
    k.timeouts.remove(&(t.deadline, t.seq));
    *t = _timeout::INACTIVE;
    true
}

fn arm(k: &mut Kernel, timer: *mut k_timer, duration: k_timeout_t) {
    // Past the horizon (see `Kernel::deadline`), the timer never expires: leave it stopped.
    let Some(deadline) = k.deadline(duration) else { return };
    let (deadline, seq) = k.add_timeout(deadline, Target::Timer(timer));
    // SAFETY: checked by the caller.
    unsafe { (*timer).timeout = _timeout { deadline, seq } };
}

/// Initialises a timer (`k_timer_init`).
///
/// # Safety
/// `timer` must be valid and must not move afterwards.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_init(
    timer: *mut k_timer,
    expiry_fn: k_timer_expiry_t,
    stop_fn: k_timer_stop_t,
) {
    with(|k| {
        // SAFETY: the caller guarantees `timer` is valid.
        unsafe {
            if (*timer)._sim.magic == Z_SIM_TIMER && (*timer)._sim.sim == k.id {
                abort_timeout(k, timer);
            }
            k.init_object(
                addr_of_mut!((*timer)._sim),
                addr_of_mut!((*timer).wait_q),
                timer as usize,
                Z_SIM_TIMER,
            );
            (*timer).timeout = _timeout::INACTIVE;
            (*timer).expiry_fn = expiry_fn;
            (*timer).stop_fn = stop_fn;
            (*timer).period = K_NO_WAIT;
            (*timer).status = 0;
            (*timer).user_data = std::ptr::null_mut::<c_void>();
        }
    });
}

/// Starts or restarts a timer (`k_timer_start`): clears its status and arms it. A `K_FOREVER`
/// duration returns without touching the timer.
///
/// # Safety
/// `timer` must be an initialised timer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_start(
    timer: *mut k_timer,
    duration: k_timeout_t,
    period: k_timeout_t,
) {
    if duration == K_FOREVER {
        return;
    }
    let mut duration = duration;
    let mut period = period;
    if period != K_FOREVER && period.ticks != 0 && Z_TICK_ABS(period.ticks) < 0 {
        period = K_TICKS((period.ticks - 1).max(1));
    }
    if Z_TICK_ABS(duration.ticks) < 0 {
        duration = K_TICKS((duration.ticks - 1).max(0));
    }
    with(|k| {
        check(k, timer, "k_timer_start");
        abort_timeout(k, timer);
        // SAFETY: checked above.
        unsafe {
            (*timer).period = period;
            (*timer).status = 0;
        }
        arm(k, timer, duration);
    });
}

/// A timer expired: the system clock ISR's work (`z_timer_expiration_handler`). Re-arms a
/// periodic timer, counts the expiry, calls the expiry function, wakes one status waiter.
pub(crate) fn expire(timer: *mut k_timer) {
    let expiry_fn = with(|k| {
        check(k, timer, "k_timer expiry");
        // SAFETY: checked above.
        let t = unsafe { &mut *timer };
        t.timeout = _timeout::INACTIVE;
        if t.period != K_NO_WAIT && t.period != K_FOREVER {
            let period = t.period;
            arm(k, timer, period);
        }
        t.status = t.status.wrapping_add(1);
        k.record(TraceEvent::TimerExpiry { timer: t._sim.id });
        t.expiry_fn
    });
    if let Some(f) = expiry_fn {
        // SAFETY: the application registered this function for this timer.
        unsafe { f(timer) };
    }
    with(|k| {
        // SAFETY: checked above.
        if let Some(w) = k.waitq_head(unsafe { &(*timer).wait_q }) {
            k.threads[w as usize].swap_retval = 0;
            k.unpend(w);
        }
    });
}

/// Stops a timer (`k_timer_stop`): on a running timer, calls its stop function in the
/// caller's context and wakes a `k_timer_status_sync` waiter; on a stopped one, nothing.
///
/// # Safety
/// `timer` must be an initialised timer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_stop(timer: *mut k_timer) {
    let stop_fn = with(|k| {
        check(k, timer, "k_timer_stop");
        // SAFETY: checked above.
        abort_timeout(k, timer).then(|| unsafe { (*timer).stop_fn })
    });
    let Some(stop_fn) = stop_fn else { return };
    if let Some(f) = stop_fn {
        // SAFETY: the application registered this function for this timer.
        unsafe { f(timer) };
    }
    // SAFETY: checked above.
    let woke = with(|k| k.unpend_first(unsafe { addr_of_mut!((*timer).wait_q) }).is_some());
    if woke {
        reschedule(false);
    }
}

/// Reads and resets a timer's expiry count (`k_timer_status_get`).
///
/// # Safety
/// `timer` must be an initialised timer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_status_get(timer: *mut k_timer) -> u32 {
    with(|k| {
        check(k, timer, "k_timer_status_get");
        // SAFETY: checked above.
        unsafe { std::mem::take(&mut (*timer).status) }
    })
}

/// Waits until the timer has expired at least once since the last read, or is stopped;
/// returns and resets the count (`k_timer_status_sync`). Returns 0 at once for a stopped
/// timer with nothing counted.
///
/// # Safety
/// `timer` must be an initialised timer. Thread context only.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_status_sync(timer: *mut k_timer) -> u32 {
    no_isr("k_timer_status_sync");
    loop {
        let r = with(|k| {
            check(k, timer, "k_timer_status_sync");
            // SAFETY: checked above.
            let t = unsafe { &mut *timer };
            if t.status != 0 || t.timeout.seq == 0 {
                return Some(std::mem::take(&mut t.status));
            }
            k.pend_current(Wait::TimerSync(timer), K_FOREVER);
            None
        });
        match r {
            Some(v) => return v,
            None => {
                swap();
            }
        }
    }
}

/// Ticks until the next expiry, 0 when stopped (`k_timer_remaining_ticks`).
///
/// # Safety
/// `timer` must be an initialised timer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_remaining_ticks(timer: *const k_timer) -> k_ticks_t {
    with(|k| {
        let timer = timer as *mut k_timer;
        check(k, timer, "k_timer_remaining_ticks");
        // SAFETY: checked above.
        let t = unsafe { &(*timer).timeout };
        if t.seq == 0 {
            0
        } else {
            (t.deadline - k.uptime_ticks()).max(0)
        }
    })
}

/// Absolute tick of the next expiry, or the current tick when stopped
/// (`k_timer_expires_ticks`).
///
/// # Safety
/// `timer` must be an initialised timer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_timer_expires_ticks(timer: *const k_timer) -> k_ticks_t {
    with(|k| {
        let timer = timer as *mut k_timer;
        check(k, timer, "k_timer_expires_ticks");
        // SAFETY: checked above.
        let t = unsafe { &(*timer).timeout };
        if t.seq == 0 {
            k.uptime_ticks()
        } else {
            t.deadline
        }
    })
}
