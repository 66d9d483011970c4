//! Time slicing: Zephyr 2.7's rules for rotating equal-priority threads, as plain functions.
//!
//! With `CONFIG_TIMESLICING` and a slice size set (`CONFIG_TIMESLICE_SIZE`, or
//! `k_sched_time_slice_set` at run time), a thread that has run for a whole slice goes to the
//! back of its priority's ready queue, so the next thread of that priority runs. The kernel
//! (`crate::kernel`) holds the state and makes the slice's end an event at a tick, like a
//! timeout; this module holds the two rules it asks about, each following Zephyr 2.7.0's
//! `kernel/sched.c`:
//!
//! * [`slice_ticks`]: the slice length in ticks (`k_sched_time_slice_set`, sched.c:368-382):
//!   `k_ms_to_ticks_ceil32(ms)`, at least 2 on a tickless kernel ("It's not possible to reliably
//!   set a 1-tick timeout if ticks aren't regular"), 0 (off) for 0 ms.
//! * [`sliceable`]: who may be rotated (`sliceable`, sched.c:384-390): a preemptible thread
//!   (not cooperative, scheduler not locked), ready, not more urgent than the slice priority,
//!   not the idle thread. Nothing asks whether other threads share its priority: a thread
//!   alone at its level goes "to the back" of a queue where it is alone, and keeps running.
//!
//! When the slice restarts (`z_reset_time_slice`, sched.c:356-366): when another thread is
//! switched in (`do_swap`, kernel/include/kswap.h:108-111), when the slice of a sliceable
//! thread runs out (`z_time_slice`, sched.c:413-417), when `k_sched_time_slice_set` is
//! called (for the calling thread), and whenever `update_cache` picks a thread to run next
//! that is not the running one and may preempt it (sched.c:447-457), before the switch. That
//! last one shows only when the switch does not follow: the caller holds `irq_lock`, keeps the
//! CPU, and the thread it readied runs when the restarted slice ends
//! (`Kernel::time_slice_kept_cpu`). The slice ends `slice` ticks after the
//! tick it restarted in (`slice_ticks = slice_time + sys_clock_elapsed()`, counted down by the
//! ticks each `sys_clock_announce` reports, kernel/timeout.c:234-238), and the timer is
//! programmed for that tick (`z_set_timeout_expiry`), so the rotation happens exactly there,
//! even while the thread spins in `k_busy_wait`, unless a timeout added since made the timer
//! skip it: `z_add_timeout` compares the two in different frames (timeout.c:122-137) and may
//! program the timeout's later tick, where the rotation then happens
//! (`Kernel::time_slice_timeout_added`). At any tick announcement where the
//! running thread is not sliceable, its slice is dropped until the next switch
//! (`slice_ticks = 0`, sched.c:420-422).

/// The slice length in ticks for `ms` milliseconds at `ticks_per_sec` on a tickless kernel
/// (`k_sched_time_slice_set`, kernel/sched.c:372-377): `MAX(2, k_ms_to_ticks_ceil32(ms))`, or 0
/// (slicing off) when `ms` is 0. Zephyr keeps it in an `int`; the simulator saturates at
/// `i32::MAX` ticks where Zephyr's conversion would wrap.
pub fn slice_ticks(ms: u32, ticks_per_sec: u32) -> i64 {
    if ms == 0 {
        return 0;
    }
    let ticks = (u64::from(ms) * u64::from(ticks_per_sec)).div_ceil(1000);
    ticks.clamp(2, i32::MAX as u64) as i64
}

/// Whether the running thread may be sliced (`sliceable`, kernel/sched.c:384-390):
/// preemptible (`prio >= 0` and no `k_sched_lock`), ready, not more urgent than `slice_prio`
/// (`!z_is_prio_higher(prio, slice_max_prio)`), and not the idle thread.
pub fn sliceable(prio: i32, sched_lock: u32, ready: bool, idle: bool, slice_prio: i32) -> bool {
    prio >= 0 && sched_lock == 0 && ready && prio >= slice_prio && !idle
}

/// What the kernel saw at the end of a kernel call after which the running thread, holding
/// `irq_lock`, kept the CPU with a more urgent thread ready (see
/// `Kernel::time_slice_kept_cpu`): the next such call restarts the slice
/// again only if the ready threads changed, as `update_cache` then ran again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadySeen {
    /// The kernel's switch count (`Kernel::switches`): a switch since ends the episode.
    pub switches: u64,
    /// The running thread's slot.
    pub thread: u32,
    /// The ready threads' slots and priorities, in slot order.
    pub ready: Vec<(u32, i32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_round_up_to_ticks_and_at_least_two() {
        // kernel/sched.c:372-377: k_ms_to_ticks_ceil32, then MAX(2, ...) when tickless.
        assert_eq!(slice_ticks(2, 10_000), 20);
        assert_eq!(slice_ticks(2, 100), 2, "0.2 ticks rounds up to 1, then MAX(2, 1)");
        assert_eq!(slice_ticks(15, 100), 2, "1.5 ticks rounds up to 2");
        assert_eq!(slice_ticks(25, 100), 3);
        assert_eq!(slice_ticks(1, 1000), 2);
        assert_eq!(slice_ticks(0, 10_000), 0, "0 ms turns slicing off");
        assert_eq!(slice_ticks(u32::MAX, 10_000), i32::MAX as i64);
    }

    #[test]
    fn only_preemptible_ready_threads_at_or_below_the_slice_priority() {
        // kernel/sched.c:384-390.
        assert!(sliceable(5, 0, true, false, 0));
        assert!(sliceable(0, 0, true, false, 0));
        assert!(!sliceable(-1, 0, true, false, -5), "cooperative");
        assert!(!sliceable(5, 1, true, false, 0), "scheduler locked");
        assert!(!sliceable(5, 0, false, false, 0), "not ready");
        assert!(!sliceable(3, 0, true, false, 5), "more urgent than the slice priority");
        assert!(sliceable(5, 0, true, false, 5), "at the slice priority");
        assert!(!sliceable(15, 0, true, true, 0), "idle");
    }
}
