//! `critical-section` on Zephyr: a critical section is `irq_lock`/`irq_unlock`, and leaving
//! the outermost one is a reschedule point.
//!
//! On a single CPU, `irq_lock` excludes every thread and ISR. (SMP Zephyr would need a
//! spinlock; the restore state is the `irq_lock` key.) Embassy's executor, `embassy-sync` and
//! this crate's time driver use it.
//!
//! # Why release reschedules
//!
//! Embassy's primitives wake tasks *inside* their critical sections (`Signal::signal`,
//! `Channel::send`, ...). The waker pends an executor with `k_sem_give`, which readies the
//! executor's thread, but a thread readied while interrupts are locked does not run at
//! `irq_unlock`: Zephyr's `z_reschedule` switches only when the caller's interrupts are
//! unlocked (`kernel/sched.c`; measured on Zephyr 2.7.0 in the simulator's conformance tests).
//! The kernel's own code avoids this by releasing its locks with `z_reschedule`. Here, the
//! executor's pender notes each `k_sem_give` it makes from thread context ([`note_wake`]), and
//! leaving the outermost critical section in thread context after such a give calls
//! `k_sched_lock(); k_sched_unlock();`, a reschedule point that switches only to a *more
//! urgent* ready thread. A more urgent executor then runs as soon as the critical section that
//! woke it ends, as it would had the wake been a plain `k_sem_give`. Critical sections with no
//! such wake cost one flag test more than `irq_unlock`.
//!
//! On real Zephyr on ARMv7-M/ARMv8-M Mainline there is no flag: the pender pends PendSV
//! (`zephyr_sys::zr_request_reschedule`), the exception in which Zephyr switches threads, as its
//! interrupt exit does after an ISR readied a thread. BASEPRI holds it back until the outermost
//! `irq_unlock`, which is then the reschedule point, and a critical-section exit is just
//! `irq_unlock`.

use core::sync::atomic::{AtomicBool, Ordering};

use zephyr_sys::{
    arch_irq_unlocked, irq_lock, irq_unlock, k_is_in_isr, k_sched_lock, k_sched_unlock,
};

/// Set when a thread readied a thread (an executor's) while it may have held `irq_lock`: per
/// simulation on the simulator, a plain static on a real kernel (read at every critical-section
/// exit, so it must cost one load).
#[cfg(zephyr_sim)]
static WOKE_THREAD: crate::object::BootStatic<AtomicBool> =
    crate::object::BootStatic::new(|| AtomicBool::new(false));
#[cfg(not(zephyr_sim))]
static WOKE_THREAD: AtomicBool = AtomicBool::new(false);

#[inline(always)]
fn woke_thread() -> &'static AtomicBool {
    #[cfg(zephyr_sim)]
    {
        WOKE_THREAD.get()
    }
    #[cfg(not(zephyr_sim))]
    {
        &WOKE_THREAD
    }
}

/// Notes that the caller, in thread context, just readied another thread and may be inside a
/// critical section: the end of the outermost one will be a reschedule point.
#[cfg_attr(not(feature = "executor-zephyr"), allow(dead_code))]
pub(crate) fn note_wake() {
    if zephyr_sys::ZR_RESCHEDULE_AT_IRQ_UNLOCK {
        // SAFETY: the pender calls this in thread context only.
        unsafe { zephyr_sys::zr_request_reschedule() };
    } else {
        woke_thread().store(true, Ordering::Relaxed);
    }
}

struct ZephyrCriticalSection;
critical_section::set_impl!(ZephyrCriticalSection);

// SAFETY: `irq_lock` nests and returns the key that `irq_unlock` restores, which is exactly the
// acquire/release contract; both may be called from threads and ISRs.
unsafe impl critical_section::Impl for ZephyrCriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        // SAFETY: irq_lock has no preconditions.
        unsafe { irq_lock() }
    }

    unsafe fn release(key: critical_section::RawRestoreState) {
        // SAFETY: `key` came from the matching `acquire`. The scheduler lock pair is only used
        // in thread context (it is not allowed in an ISR, whose exit reschedules anyway).
        unsafe {
            irq_unlock(key);
            if zephyr_sys::ZR_RESCHEDULE_AT_IRQ_UNLOCK {
                return; // the unlock itself was the reschedule point (PendSV)
            }
            // The flag first: most exits find it clear and end here, after one load.
            let woke = woke_thread();
            if woke.load(Ordering::Relaxed)
                && arch_irq_unlocked(key)
                && !k_is_in_isr()
                && woke.swap(false, Ordering::Relaxed)
            {
                k_sched_lock();
                k_sched_unlock();
            }
        }
    }
}
