//! Object layouts of real Zephyr: the application's own build measured them.
//!
//! `build.rs` generates, from the layout probe (`zephyr/src/zr_layout.c`) compiled for the
//! application, one opaque type per kernel object with its real size and alignment, the offsets
//! of the fields Rust reads, and constants from the headers. This file adds what every provider
//! offers on top: constructors, the statically-initialised forms, accessors and stacks.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_uint, c_void};
use core::mem::MaybeUninit;

use crate::{k_timer_expiry_t, k_timer_stop_t};

include!(concat!(env!("OUT_DIR"), "/layout.rs"));

/// Whether a statically defined kernel object needs its `k_*_init` call at run time before its
/// first use: `true` on real Zephyr, whose static initialisers (`Z_SEM_INITIALIZER`, ...) point
/// into the object itself or at kernel-private functions and have no `const` form in Rust.
pub const STATIC_OBJECTS_NEED_INIT: bool = true;

/// A `k_fifo` data-available poll type (same as [`K_POLL_TYPE_DATA_AVAILABLE`]).
pub const K_POLL_TYPE_FIFO_DATA_AVAILABLE: u32 = K_POLL_TYPE_DATA_AVAILABLE;
/// A `k_fifo` data-available poll state (same as [`K_POLL_STATE_DATA_AVAILABLE`]).
pub const K_POLL_STATE_FIFO_DATA_AVAILABLE: u32 = K_POLL_STATE_DATA_AVAILABLE;

/// Storage for a semaphore defined statically (`K_SEM_DEFINE`): zeroed here; the count and
/// limit are given to `k_sem_init` at first use (see [`STATIC_OBJECTS_NEED_INIT`]).
pub const fn Z_SEM_INITIALIZER(_initial_count: c_uint, _count_limit: c_uint) -> k_sem {
    k_sem::new()
}

/// Storage for a mutex defined statically (`K_MUTEX_DEFINE`): `k_mutex_init` it at first use.
pub const fn Z_MUTEX_INITIALIZER() -> k_mutex {
    k_mutex::new()
}

/// Storage for a condition variable defined statically: `k_condvar_init` it at first use.
pub const fn Z_CONDVAR_INITIALIZER() -> k_condvar {
    k_condvar::new()
}

/// Storage for a timer defined statically (`K_TIMER_DEFINE`): the functions are given to
/// `k_timer_init` at first use.
pub const fn Z_TIMER_INITIALIZER(
    _expiry_fn: k_timer_expiry_t,
    _stop_fn: k_timer_stop_t,
) -> k_timer {
    k_timer::new()
}

/// Storage for a queue defined statically (`K_QUEUE_DEFINE`): `k_queue_init` it at first use.
pub const fn Z_QUEUE_INITIALIZER() -> k_queue {
    k_queue::new()
}

/// Storage for a FIFO defined statically (`K_FIFO_DEFINE`): `k_fifo_init` it at first use.
pub const fn Z_FIFO_INITIALIZER() -> k_queue {
    k_queue::new()
}

/// Storage for a LIFO defined statically (`K_LIFO_DEFINE`): `k_lifo_init` it at first use.
pub const fn Z_LIFO_INITIALIZER() -> k_queue {
    k_queue::new()
}

/// Storage for a message queue defined statically (`K_MSGQ_DEFINE`): the buffer and sizes are
/// given to `k_msgq_init` at first use.
pub const fn Z_MSGQ_INITIALIZER(_buffer: *mut c_char, _msg_size: usize, _max_msgs: u32) -> k_msgq {
    k_msgq::new()
}

/// Storage for a stack defined statically (`K_STACK_DEFINE`): `k_stack_init` it at first use.
pub const fn Z_STACK_INITIALIZER(_buffer: *mut crate::stack_data_t, _num_entries: u32) -> k_stack {
    k_stack::new()
}

/// Storage for a slab defined statically (`K_MEM_SLAB_DEFINE`): `k_mem_slab_init` it at first
/// use.
pub const fn Z_MEM_SLAB_INITIALIZER(
    _buffer: *mut c_char,
    _block_size: usize,
    _num_blocks: u32,
) -> k_mem_slab {
    k_mem_slab::new()
}

/// Storage for a heap defined statically (`K_HEAP_DEFINE`): `k_heap_init` it at first use.
pub const fn Z_HEAP_INITIALIZER(_mem: *mut c_void, _bytes: usize) -> k_heap {
    k_heap::new()
}

/// Storage for a pipe defined statically (`K_PIPE_DEFINE`): `k_pipe_init` it at first use.
pub const fn Z_PIPE_INITIALIZER(_buffer: *mut core::ffi::c_uchar, _size: usize) -> k_pipe {
    k_pipe::new()
}

/// Storage for a mailbox defined statically (`K_MBOX_DEFINE`): `k_mbox_init` it at first use.
pub const fn Z_MBOX_INITIALIZER() -> k_mbox {
    k_mbox::new()
}

// `k_mbox_msg` is declared in `kobjects` with Zephyr 2.7's layout: check it against this
// build's header.
const _: () = {
    use crate::k_mbox_msg as M;
    use core::mem::offset_of;
    assert!(offset_of!(M, size) == ZR_OFFSET_k_mbox_msg__size);
    assert!(offset_of!(M, info) == ZR_OFFSET_k_mbox_msg__info);
    assert!(offset_of!(M, tx_data) == ZR_OFFSET_k_mbox_msg__tx_data);
    assert!(offset_of!(M, tx_block) == ZR_OFFSET_k_mbox_msg__tx_block);
    assert!(offset_of!(M, rx_source_thread) == ZR_OFFSET_k_mbox_msg__rx_source_thread);
    assert!(offset_of!(M, tx_target_thread) == ZR_OFFSET_k_mbox_msg__tx_target_thread);
    assert!(offset_of!(M, _syncing_thread) == ZR_OFFSET_k_mbox_msg___syncing_thread);
};

/// Storage for a poll signal defined statically: `k_poll_signal_init` it at first use.
pub const fn Z_POLL_SIGNAL_INITIALIZER() -> k_poll_signal {
    k_poll_signal::new()
}

impl k_poll_event {
    /// Storage for a poll event on `obj` for `type_`: zeroed here; `k_poll_event_init` it
    /// (with the same type and object) before handing it to the kernel.
    pub const fn new(_type_: u32, _obj: *mut c_void) -> Self {
        Self::zeroed()
    }
}

impl k_work_queue_config {
    /// Start options: the thread's name (NUL-terminated, or null) and whether the queue's
    /// thread skips yielding between items. Fields a newer kernel added stay zero (their
    /// defaults).
    // `name` is stored, never dereferenced here (clippy cannot tell a pointer written into the
    // struct from one read through).
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn new(name: *const c_char, no_yield: bool) -> Self {
        let mut cfg = Self::zeroed();
        let base = &mut cfg as *mut Self as *mut u8;
        // SAFETY: the offsets and sizes are those of this build's `struct k_work_queue_config`
        // (`const char *name; bool no_yield;`), measured by the layout probe.
        unsafe {
            base.add(ZR_OFFSET_k_work_queue_config__name)
                .cast::<*const c_char>()
                .write_unaligned(name);
            base.add(ZR_OFFSET_k_work_queue_config__no_yield).cast::<bool>().write(no_yield);
        }
        cfg
    }
}

/// How many times the owner has locked `mutex` (`mutex->lock_count`).
///
/// # Safety
/// `mutex` must point to an initialised `k_mutex`.
#[inline]
pub unsafe fn zr_k_mutex_lock_count(mutex: *const k_mutex) -> u32 {
    // SAFETY: caller contract; the offset is this build's `offsetof(struct k_mutex, lock_count)`
    // (a `uint32_t`).
    unsafe { (mutex as *const u8).add(ZR_OFFSET_k_mutex__lock_count).cast::<u32>().read() }
}

/// The result triggered work was submitted with (`work->poll_result`): 0 when an event fired,
/// `-EAGAIN` on timeout. Read it in the handler.
///
/// # Safety
/// `work` must point to a `k_work_poll`.
#[inline]
pub unsafe fn zr_k_work_poll_result(work: *const k_work_poll) -> c_int {
    // SAFETY: caller contract; the offset is this build's `offsetof(struct k_work_poll,
    // poll_result)` (an `int`).
    unsafe { (work as *const u8).add(ZR_OFFSET_k_work_poll__poll_result).cast::<c_int>().read() }
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
    // SAFETY: caller contract; the offset is this build's `offsetof(struct k_work_poll,
    // poller.is_polling)` (a `bool`); volatile, as another thread writes it.
    unsafe {
        (work as *const u8).add(ZR_OFFSET_k_work_poll__poller_is_polling).read_volatile() != 0
    }
}

/// The calling thread, as `k_current_get` returns it, read in place: `_kernel.cpus[0].current`
/// (the offset is this build's). Two loads instead of a call into the shim and on into the
/// kernel's out-of-line `z_impl_k_current_get`; valid because build.rs refuses `CONFIG_SMP` and
/// `CONFIG_USERSPACE` (one CPU, kernel-mode threads).
///
/// # Safety
/// No precondition beyond running on this kernel (from a thread or an ISR, as
/// `k_current_get`: in an ISR it is the interrupted thread).
#[inline]
pub unsafe fn zr_current_thread() -> crate::k_tid_t {
    extern "C" {
        static _kernel: u8;
    }
    // SAFETY: `_kernel` is the kernel's `struct z_kernel`; its CPU 0 `current` pointer is at the
    // probed offset and is only written by the kernel's own switch code, which a reader on this
    // single CPU cannot interleave with. A volatile read, as the kernel's field may change
    // between two reads (a switch in between).
    unsafe {
        core::ptr::addr_of!(_kernel)
            .add(ZR_OFFSET_z_kernel__current)
            .cast::<crate::k_tid_t>()
            .read_volatile()
    }
}

/// A thread's priority: `thread->base.prio`, what `k_thread_priority_get` returns, read in
/// place (the offset is this build's).
///
/// # Safety
/// `thread` must be a live thread.
#[inline]
pub unsafe fn zr_k_thread_priority(thread: crate::k_tid_t) -> c_int {
    // SAFETY: caller contract; `base.prio` is an `int8_t` at the offset the probe measured. A
    // racing priority change makes the read old or new, either a value the thread had.
    unsafe {
        (thread as *const u8).add(ZR_OFFSET_k_thread__base_prio).cast::<i8>().read_volatile()
            as c_int
    }
}

/// The work item inside triggered work (`&work->work`, its first field: build.rs checks).
///
/// # Safety
/// `work` must point to a `k_work_poll`.
#[inline]
pub unsafe fn zr_k_work_poll_work(work: *mut k_work_poll) -> *mut k_work {
    work.cast()
}

/// The work item inside delayable work (`&dwork->work`, its first field: build.rs checks).
///
/// # Safety
/// `dwork` must point to a `k_work_delayable`.
#[inline]
pub unsafe fn zr_k_work_delayable_work(dwork: *mut k_work_delayable) -> *mut k_work {
    dwork.cast()
}

/// The delayable work containing `work` (`k_work_delayable_from_work`).
///
/// # Safety
/// `work` must be the `work` field of a `k_work_delayable`.
pub unsafe fn k_work_delayable_from_work(work: *mut k_work) -> *mut k_work_delayable {
    work.cast()
}

/// One element of a thread stack (`k_thread_stack_t`).
#[repr(C)]
pub struct k_thread_stack_t {
    _data: u8,
}

/// Stack memory for one kernel thread of `N` bytes, laid out as `K_KERNEL_STACK_DEFINE(name, N)`
/// lays it out in this build: aligned to `Z_KERNEL_STACK_OBJ_ALIGN`, with
/// `K_KERNEL_STACK_RESERVED` bytes (an MPU guard, if any) below the `N` usable ones, and room
/// for the kernel to round `N` up to `ARCH_STACK_PTR_ALIGN`.
#[repr(C)]
pub struct z_thread_stack<const N: usize> {
    _align: [z_stack_obj_align; 0],
    _reserved: UnsafeCell<[MaybeUninit<u8>; K_KERNEL_STACK_RESERVED]>,
    data: UnsafeCell<[MaybeUninit<u8>; N]>,
    _round_up: UnsafeCell<[MaybeUninit<u8>; ARCH_STACK_PTR_ALIGN]>,
}

// SAFETY: the buffer is only handed to the kernel as raw memory; Rust code never reads it.
unsafe impl<const N: usize> Sync for z_thread_stack<N> {}

impl<const N: usize> z_thread_stack<N> {
    /// Uninitialised stack memory.
    pub const fn new() -> Self {
        Self {
            _align: [],
            _reserved: UnsafeCell::new([MaybeUninit::uninit(); K_KERNEL_STACK_RESERVED]),
            data: UnsafeCell::new([MaybeUninit::uninit(); N]),
            _round_up: UnsafeCell::new([MaybeUninit::uninit(); ARCH_STACK_PTR_ALIGN]),
        }
    }
    /// The pointer to pass to `k_thread_create` (the stack object, reserved area included).
    pub const fn as_ptr(&self) -> *mut k_thread_stack_t {
        self as *const Self as *mut k_thread_stack_t
    }
    /// The size to pass to `k_thread_create` (`K_KERNEL_STACK_SIZEOF`).
    pub const fn size(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for z_thread_stack<N> {
    fn default() -> Self {
        Self::new()
    }
}

kernel_api! {
    /// Sets a timer's user data (`k_timer_user_data_set`).
    pub fn k_timer_user_data_set(timer: *mut k_timer, user_data: *mut c_void);
    /// A timer's user data (`k_timer_user_data_get`).
    pub fn k_timer_user_data_get(timer: *const k_timer) -> *mut c_void;
}

kernel_api! {
    /// Ends the system with a fatal error (`k_panic`): what a Rust panic on real Zephyr does.
    pub fn k_panic() -> !;
}

/// Locks interrupts (`irq_lock`): raises BASEPRI to `_EXC_IRQ_DEFAULT_PRIO`, keeping a higher
/// value already there, and returns the previous BASEPRI as the key. The same instructions as
/// `arch_irq_lock` in `include/arch/arm/aarch32/asm_inline_gcc.h`, inline, since every critical
/// section runs them.
///
/// # Safety
/// Hand the key back to [`irq_unlock`], in nesting order.
#[cfg(all(zephyr_irq_basepri, target_arch = "arm"))]
#[inline(always)]
pub unsafe fn irq_lock() -> c_uint {
    let key: u32;
    // SAFETY: reading BASEPRI and raising it with BASEPRI_MAX only masks interrupts; the `isb`
    // makes the new mask take effect before the next instruction. Not `nomem`: the lock orders
    // memory accesses (a compiler barrier, as the C version's "memory" clobber).
    unsafe {
        core::arch::asm!(
            "mrs {key}, basepri",
            "msr basepri_max, {prio}",
            "isb",
            key = out(reg) key,
            prio = in(reg) ZR_EXC_IRQ_DEFAULT_PRIO,
            options(nostack, preserves_flags),
        );
    }
    key
}

/// Releases the lock taken by the [`irq_lock`] call that returned `key` (`irq_unlock`: restores
/// BASEPRI).
///
/// # Safety
/// `key` must come from the matching [`irq_lock`].
#[cfg(all(zephyr_irq_basepri, target_arch = "arm"))]
#[inline(always)]
pub unsafe fn irq_unlock(key: c_uint) {
    // SAFETY: restores the mask the matching irq_lock found (caller contract).
    unsafe {
        core::arch::asm!(
            "msr basepri, {key}",
            "isb",
            key = in(reg) key,
            options(nostack, preserves_flags),
        );
    }
}

/// Whether `key` says interrupts were unlocked before the `irq_lock` that returned it
/// (`arch_irq_unlocked`: a BASEPRI of 0 masks nothing).
///
/// # Safety
/// None; `unsafe` as the other providers' declaration is.
#[cfg(all(zephyr_irq_basepri, target_arch = "arm"))]
#[inline(always)]
pub unsafe fn arch_irq_unlocked(key: c_uint) -> bool {
    key == 0
}

/// True when called from an interrupt service routine (`k_is_in_isr`: on Cortex-M,
/// `arch_is_in_isr()` is "IPSR is not 0", i.e. handler mode; `arch/arm/include/aarch32/
/// cortex_m/exc.h`), inline.
///
/// # Safety
/// None; `unsafe` as the other providers' declaration is.
#[cfg(all(zephyr_cortex_m, target_arch = "arm"))]
#[inline(always)]
pub unsafe fn k_is_in_isr() -> bool {
    let ipsr: u32;
    // SAFETY: reading IPSR has no side effect.
    unsafe {
        core::arch::asm!("mrs {}, ipsr", out(reg) ipsr, options(nomem, nostack, preserves_flags));
    }
    ipsr != 0
}

/// Whether [`zr_request_reschedule`] makes the end of the current `irq_lock` section a
/// reschedule point by itself: on ARMv7-M/ARMv8-M Mainline, yes (it pends PendSV, which
/// BASEPRI holds back until the outermost `irq_unlock`).
#[cfg(all(zephyr_irq_basepri, target_arch = "arm"))]
pub const ZR_RESCHEDULE_AT_IRQ_UNLOCK: bool = true;

/// Asks for a reschedule when the calling thread's `irq_lock` section ends, after it readied a
/// thread inside that section (where `z_reschedule` cannot switch).
///
/// On Cortex-M, Zephyr switches threads in the PendSV exception, to the thread in
/// `_kernel.ready_q.cache`, which the readying call already updated. Pending PendSV is what
/// Zephyr's own interrupt exit does after an ISR readied a thread (`z_arm_int_exit`), and what
/// `arch_swap` does; BASEPRI holds it back until the outermost `irq_unlock`, where it runs and
/// switches if a more urgent thread is ready (otherwise it returns to the caller). Outside an
/// `irq_lock` section (BASEPRI 0) the readying call has already rescheduled: nothing to do.
///
/// # Safety
/// Thread context only.
#[cfg(all(zephyr_irq_basepri, target_arch = "arm"))]
#[inline]
pub unsafe fn zr_request_reschedule() {
    /// `SCB->ICSR`, and its `PENDSVSET` bit (ARMv7-M Architecture Reference Manual, B3.2.4).
    const SCB_ICSR: *mut u32 = 0xE000_ED04 as *mut u32;
    const ICSR_PENDSVSET: u32 = 1 << 28;
    let basepri: u32;
    // SAFETY: reading BASEPRI has no side effect.
    unsafe {
        core::arch::asm!("mrs {}, basepri", out(reg) basepri, options(nomem, nostack, preserves_flags));
    }
    if basepri != 0 {
        // SAFETY: ICSR's set bits are write-one-to-set and its other fields ignore writes of
        // zero; pending PendSV from thread mode is what arch_swap does.
        unsafe { SCB_ICSR.write_volatile(ICSR_PENDSVSET) };
    }
}

/// Without a PendSV-style deferred switch, the caller makes the end of its critical section a
/// reschedule point itself.
#[cfg(not(all(zephyr_irq_basepri, target_arch = "arm")))]
pub const ZR_RESCHEDULE_AT_IRQ_UNLOCK: bool = false;

/// Does nothing here (see [`ZR_RESCHEDULE_AT_IRQ_UNLOCK`]).
///
/// # Safety
/// Thread context only.
#[cfg(not(all(zephyr_irq_basepri, target_arch = "arm")))]
#[inline]
pub unsafe fn zr_request_reschedule() {}
