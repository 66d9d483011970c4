//! Object layouts of the simulated kernel (and of builds with no Zephyr build to read).
//!
//! The fields Zephyr applications read (`k_sem::count`, `k_mutex::lock_count`,
//! `k_thread::base.thread_state`, ...) have Zephyr's names. The rest of each layout belongs to
//! the simulator: wait queues are lists threaded through its thread table, and every object
//! carries a [`z_sim_obj`] header with which the simulator detects objects that were never
//! initialised, or that moved in memory after their `k_*_init` (on real Zephyr both corrupt
//! kernel lists silently). Statically initialised objects (`Z_SEM_INITIALIZER`, ...) are
//! `const` here; on real Zephyr they are not (see `STATIC_OBJECTS_NEED_INIT`).

mod objects;
mod work;

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
