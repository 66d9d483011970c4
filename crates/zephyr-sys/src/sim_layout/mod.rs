//! Object layouts of the simulated kernel (and of builds with no Zephyr build to read).
//!
//! The fields Zephyr applications read (`k_sem::count`, `k_mutex::lock_count`,
//! `k_thread::base.thread_state`, ...) have Zephyr's names. The rest of each layout belongs to
//! the simulator: wait queues are lists threaded through its thread table, and every object
//! carries a [`z_sim_obj`] header with which the simulator detects objects that were never
//! initialised, or that moved in memory after their `k_*_init` (on real Zephyr both corrupt
//! kernel lists silently). Statically initialised objects (`Z_SEM_INITIALIZER`, ...) are
//! `const` here; on real Zephyr they are not (see `STATIC_OBJECTS_NEED_INIT`).

mod kobjects;
mod objects;
mod work;

pub use kobjects::*;
pub use objects::*;
pub use work::*;

/// A device (`struct device`): on the simulator, a simulated device the board description
/// created, named by its devicetree node label.
#[repr(C)]
#[derive(Debug)]
pub struct device {
    /// The device's name (its node label), NUL-terminated (`device->name`).
    pub name: *const core::ffi::c_char,
    /// The simulator's device number (an index into the board's devices).
    pub zsim_id: u32,
    /// The simulation the device belongs to.
    pub zsim_sim: u32,
}

/// Whether a statically defined kernel object needs its `k_*_init` call at run time before its
/// first use. `false` on the simulator, whose `Z_*_INITIALIZER`s are `const`; `true` on real
/// Zephyr, where they point into the object itself or at kernel-private functions.
pub const STATIC_OBJECTS_NEED_INIT: bool = false;

/// How many times the owner has locked `mutex` (`mutex->lock_count`).
///
/// # Safety
/// `mutex` must point to an initialised `k_mutex`.
#[inline]
pub unsafe fn zr_k_mutex_lock_count(mutex: *const k_mutex) -> u32 {
    // SAFETY: caller contract.
    unsafe { (*mutex).lock_count }
}

/// The result triggered work was submitted with (`work->poll_result`): 0 when an event fired,
/// `-EAGAIN` on timeout. Read it in the handler.
///
/// # Safety
/// `work` must point to a `k_work_poll`.
#[inline]
pub unsafe fn zr_k_work_poll_result(work: *const k_work_poll) -> core::ffi::c_int {
    // SAFETY: caller contract.
    unsafe { (*work).poll_result }
}

/// Whether triggered work's poller still polls (`work->poller.is_polling`). Set from submission
/// until `signal_poll_event` clears it, which, when a preemptible thread's event triggered the
/// work, happens only after that thread's submission yielded and it resumed (kernel/poll.c):
/// possibly after the handler ran.
///
/// # Safety
/// `work` must point to a `k_work_poll`.
#[inline]
pub unsafe fn zr_k_work_poll_is_polling(work: *const k_work_poll) -> bool {
    // SAFETY: caller contract; a volatile read, as another thread writes it.
    unsafe { core::ptr::addr_of!((*work).poller.is_polling).read_volatile() }
}

/// The work item inside triggered work (`&work->work`).
///
/// # Safety
/// `work` must point to a `k_work_poll`.
#[inline]
pub unsafe fn zr_k_work_poll_work(work: *mut k_work_poll) -> *mut k_work {
    // SAFETY: caller contract; no reference is created.
    unsafe { core::ptr::addr_of_mut!((*work).work) }
}

/// The work item inside delayable work (`&dwork->work`).
///
/// # Safety
/// `dwork` must point to a `k_work_delayable`.
#[inline]
pub unsafe fn zr_k_work_delayable_work(dwork: *mut k_work_delayable) -> *mut k_work {
    // SAFETY: caller contract; no reference is created.
    unsafe { core::ptr::addr_of_mut!((*dwork).work) }
}

impl k_work_queue_config {
    /// Start options: the thread's name (NUL-terminated, or null) and whether the queue's
    /// thread skips yielding between items.
    pub fn new(name: *const core::ffi::c_char, no_yield: bool) -> Self {
        Self { name, no_yield }
    }
}

/// A thread's priority (`k_thread_priority_get`; on real Zephyr a read of `base.prio`).
///
/// # Safety
/// `thread` must be a live thread.
#[inline]
pub unsafe fn zr_k_thread_priority(thread: crate::k_tid_t) -> core::ffi::c_int {
    // SAFETY: caller contract.
    unsafe { crate::k_thread_priority_get(thread) }
}

/// The calling thread (`k_current_get`; on real Zephyr a read of `_kernel`'s current thread
/// in place).
///
/// # Safety
/// As `k_current_get`: none.
#[inline]
pub unsafe fn zr_current_thread() -> crate::k_tid_t {
    // SAFETY: no precondition.
    unsafe { crate::k_current_get() }
}

/// The least urgent interrupt priority `irq_connect_dynamic` accepts (0 is the most urgent).
/// The simulated board's interrupt controller is a Cortex-M3's NVIC with 3 priority bits, as
/// on qemu_cortex_m3: `IRQ_PRIO_LOWEST` of include/arch/arm/aarch32/exc.h is
/// `BIT(NUM_IRQ_PRIO_BITS) - _IRQ_PRIO_OFFSET - 1` = 8 - 1 - 1 = 6, and 5 with
/// `CONFIG_ZERO_LATENCY_IRQS` (SVCall moves to priority 1 to leave 0 to zero-latency
/// interrupts, so `_IRQ_PRIO_OFFSET` is 2).
pub const zr_IRQ_PRIO_LOWEST: core::ffi::c_uint =
    if crate::CONFIG_ZERO_LATENCY_IRQS { 5 } else { 6 };

/// Whether [`zr_request_reschedule`] makes the end of the current `irq_lock` section a
/// reschedule point by itself (real Zephyr on Cortex-M: it pends PendSV). Not here: the
/// caller makes the end of its critical section a reschedule point itself.
pub const ZR_RESCHEDULE_AT_IRQ_UNLOCK: bool = false;

/// Does nothing here (see [`ZR_RESCHEDULE_AT_IRQ_UNLOCK`]).
///
/// # Safety
/// Thread context only.
#[inline]
pub unsafe fn zr_request_reschedule() {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accessors reach the fields they name, and a work item's pointer leads back to the
    /// whole delayable or triggered work it belongs to (the handler's `CONTAINER_OF`), with
    /// the provenance to use all of it.
    #[test]
    fn accessors_and_work_containers() {
        let mut dwork = k_work_delayable::new();
        let d: *mut k_work_delayable = &mut dwork;
        // SAFETY: `d` and `t` point to live objects; no reference to them is used meanwhile.
        unsafe {
            let work = zr_k_work_delayable_work(d);
            assert_eq!(k_work_delayable_from_work(work), d);
            (*k_work_delayable_from_work(work)).timeout.seq = 7;
            assert_eq!((*d).timeout.seq, 7);
        }

        let mut twork = k_work_poll::new();
        let t: *mut k_work_poll = &mut twork;
        // SAFETY: as above.
        unsafe {
            (*t).poll_result = -crate::EAGAIN;
            assert_eq!(zr_k_work_poll_result(t), -crate::EAGAIN);
            assert_eq!(zr_k_work_poll_work(t).cast::<k_work_poll>(), t);
        }

        let mut timer = k_timer::new();
        let mut data = 5u32;
        // SAFETY: as above.
        unsafe {
            k_timer_user_data_set(&mut timer, (&mut data as *mut u32).cast());
            assert_eq!(k_timer_user_data_get(&timer).cast::<u32>(), &mut data as *mut u32);
        }
        let stack = z_thread_stack::<64>::new();
        assert_eq!((stack.as_ptr() as usize % 16, stack.size()), (0, 64));
    }
}
