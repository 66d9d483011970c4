//! Simulator layouts of `k_thread`, `k_sem`, `k_mutex`, `k_condvar`, `k_timer` and their parts
//! (see [`super`]).

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_uint, c_void};
use core::mem::MaybeUninit;

use crate::{k_timeout_t, k_timer_expiry_t, k_timer_stop_t, CONFIG_THREAD_MAX_NAME_LEN, K_NO_WAIT};

/// Header the simulator keeps in every kernel object (not part of Zephyr's layouts).
#[repr(C)]
#[derive(Debug)]
pub struct z_sim_obj {
    /// Object kind and initialisation state: one of the `Z_SIM_*` kinds, or 0 when never
    /// initialised.
    pub magic: u32,
    /// Which simulation the object was registered in (0: statically initialised, not yet used).
    pub sim: u32,
    /// Kernel-private index (the thread slot of a `k_thread`).
    pub id: u32,
    /// Kernel-private flags.
    pub flags: u32,
    /// Address the object had when it was initialised.
    pub addr: usize,
}

impl z_sim_obj {
    /// The header of an object that was never initialised (all zero, as in `.bss`).
    pub const UNINIT: Self = Self { magic: 0, sim: 0, id: 0, flags: 0, addr: 0 };

    /// The header of a statically initialised object (`K_SEM_DEFINE` and friends): the kernel
    /// registers it at its address on first use.
    pub const fn statically(kind: u32) -> Self {
        Self { magic: kind, sim: 0, id: 0, flags: 0, addr: 0 }
    }
}

/// `z_sim_obj::magic` of a `k_thread`.
pub const Z_SIM_THREAD: u32 = 0x5448_5244; // "THRD"
/// `z_sim_obj::magic` of a `k_sem`.
pub const Z_SIM_SEM: u32 = 0x5345_4d41; // "SEMA"
/// `z_sim_obj::magic` of a `k_mutex`.
pub const Z_SIM_MUTEX: u32 = 0x4d55_5458; // "MUTX"
/// `z_sim_obj::magic` of a `k_condvar`.
pub const Z_SIM_CONDVAR: u32 = 0x434f_4e44; // "COND"
/// `z_sim_obj::magic` of a `k_timer`.
pub const Z_SIM_TIMER: u32 = 0x5449_4d52; // "TIMR"

/// A wait queue (`_wait_q_t`): the threads pending on an object, highest priority first, FIFO
/// among equals. On the simulator: first and last thread slot, `u32::MAX` when empty.
#[repr(C)]
#[derive(Debug)]
pub struct _wait_q_t {
    /// First waiter's slot.
    pub head: u32,
    /// Last waiter's slot.
    pub tail: u32,
}

impl _wait_q_t {
    /// An empty wait queue.
    pub const EMPTY: Self = Self { head: u32::MAX, tail: u32::MAX };
}

/// A pending timeout (`struct _timeout`): absolute deadline tick and insertion order.
#[repr(C)]
#[derive(Debug)]
pub struct _timeout {
    /// Absolute tick at which it expires.
    pub deadline: i64,
    /// Order among timeouts with the same deadline; 0 when inactive.
    pub seq: u64,
}

impl _timeout {
    /// An inactive timeout.
    pub const INACTIVE: Self = Self { deadline: 0, seq: 0 };
}

/// Thread states (`thread_state` bits, `kernel/include/kthread.h`).
pub mod thread_state {
    /// Not a real thread.
    pub const _THREAD_DUMMY: u8 = 1 << 0;
    /// Waiting on a kernel object.
    pub const _THREAD_PENDING: u8 = 1 << 1;
    /// Created, not yet started.
    pub const _THREAD_PRESTART: u8 = 1 << 2;
    /// Ended.
    pub const _THREAD_DEAD: u8 = 1 << 3;
    /// Suspended by `k_thread_suspend`.
    pub const _THREAD_SUSPENDED: u8 = 1 << 4;
    /// Being aborted.
    pub const _THREAD_ABORTING: u8 = 1 << 5;
    /// Sleeping in `k_sleep` (simulator; Zephyr 2.7 folds it into other states).
    pub const _THREAD_SLEEPING: u8 = 1 << 6;
    /// In the ready queue.
    pub const _THREAD_QUEUED: u8 = 1 << 7;
}

/// The scheduler's view of a thread (`struct _thread_base`).
#[repr(C)]
#[derive(Debug)]
pub struct _thread_base {
    /// State bits, see [`thread_state`].
    pub thread_state: u8,
    /// Priority: lower is more urgent, negative is cooperative.
    pub prio: i8,
    /// `K_*` option bits given at creation.
    pub user_options: u8,
    /// `k_sched_lock` nesting depth.
    pub sched_locked: u8,
}

/// A thread (`struct k_thread`).
#[repr(C)]
#[derive(Debug)]
pub struct k_thread {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Scheduler state.
    pub base: _thread_base,
    /// NUL-terminated name.
    pub name: [c_char; CONFIG_THREAD_MAX_NAME_LEN],
    /// The heap `k_malloc`-like kernel allocations on the thread's behalf come from
    /// (`resource_pool`: `k_queue_alloc_append`, `k_stack_alloc_init`, ...); null for none.
    /// A new thread inherits its creator's.
    pub resource_pool: *mut super::kobjects::k_heap,
}

impl k_thread {
    /// A thread object not yet given to `k_thread_create`.
    pub const fn new() -> Self {
        Self {
            base: _thread_base { thread_state: 0, prio: 0, user_options: 0, sched_locked: 0 },
            name: [0; CONFIG_THREAD_MAX_NAME_LEN],
            resource_pool: core::ptr::null_mut(),
            _sim: z_sim_obj::UNINIT,
        }
    }
}

impl Default for k_thread {
    fn default() -> Self {
        Self::new()
    }
}

/// One element of a thread stack (`k_thread_stack_t`).
#[repr(C)]
pub struct k_thread_stack_t {
    _data: u8,
}

/// Stack memory for one thread (what `K_THREAD_STACK_DEFINE(name, N)` declares).
///
/// On the simulator the thread runs on a host stack and this buffer only records the size the
/// application asked for; on real Zephyr the thread runs on it.
#[repr(C, align(16))]
pub struct z_thread_stack<const N: usize> {
    data: UnsafeCell<[MaybeUninit<u8>; N]>,
}

// SAFETY: the buffer is only handed to the kernel as raw memory; Rust code never reads it.
unsafe impl<const N: usize> Sync for z_thread_stack<N> {}

impl<const N: usize> z_thread_stack<N> {
    /// Uninitialised stack memory.
    pub const fn new() -> Self {
        Self { data: UnsafeCell::new([MaybeUninit::uninit(); N]) }
    }
    /// The pointer to pass to `k_thread_create`.
    pub const fn as_ptr(&self) -> *mut k_thread_stack_t {
        self.data.get() as *mut k_thread_stack_t
    }
    /// The size to pass to `k_thread_create` (`K_THREAD_STACK_SIZEOF`).
    pub const fn size(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for z_thread_stack<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A counting semaphore (`struct k_sem`).
#[repr(C)]
#[derive(Debug)]
pub struct k_sem {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_sem_take`.
    pub wait_q: _wait_q_t,
    /// Current count.
    pub count: c_uint,
    /// Maximum count.
    pub limit: c_uint,
}

/// A statically initialised semaphore (`Z_SEM_INITIALIZER`, what `K_SEM_DEFINE` expands to).
pub const fn Z_SEM_INITIALIZER(initial_count: c_uint, count_limit: c_uint) -> k_sem {
    k_sem {
        wait_q: _wait_q_t::EMPTY,
        count: initial_count,
        limit: count_limit,
        _sim: z_sim_obj::statically(Z_SIM_SEM),
    }
}

/// Maximum semaphore limit (`K_SEM_MAX_LIMIT`).
pub const K_SEM_MAX_LIMIT: c_uint = c_uint::MAX;

/// A recursive mutex with priority inheritance (`struct k_mutex`).
#[repr(C)]
#[derive(Debug)]
pub struct k_mutex {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_mutex_lock`.
    pub wait_q: _wait_q_t,
    /// Owning thread, or null.
    pub owner: *mut k_thread,
    /// How many times the owner has locked it.
    pub lock_count: u32,
    /// The owner's priority before any inheritance.
    pub owner_orig_prio: c_int,
}

/// A statically initialised mutex (`Z_MUTEX_INITIALIZER`, what `K_MUTEX_DEFINE` expands to).
pub const fn Z_MUTEX_INITIALIZER() -> k_mutex {
    k_mutex {
        wait_q: _wait_q_t::EMPTY,
        owner: core::ptr::null_mut(),
        lock_count: 0,
        owner_orig_prio: 0,
        _sim: z_sim_obj::statically(Z_SIM_MUTEX),
    }
}

/// A condition variable (`struct k_condvar`).
#[repr(C)]
#[derive(Debug)]
pub struct k_condvar {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_condvar_wait`.
    pub wait_q: _wait_q_t,
}

/// A statically initialised condition variable (`Z_CONDVAR_INITIALIZER`).
pub const fn Z_CONDVAR_INITIALIZER() -> k_condvar {
    k_condvar { wait_q: _wait_q_t::EMPTY, _sim: z_sim_obj::statically(Z_SIM_CONDVAR) }
}

/// A kernel timer (`struct k_timer`).
#[repr(C)]
#[derive(Debug)]
pub struct k_timer {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// The pending expiry, if running.
    pub timeout: _timeout,
    /// Threads waiting in `k_timer_status_sync`.
    pub wait_q: _wait_q_t,
    /// Called in ISR context at each expiry.
    pub expiry_fn: k_timer_expiry_t,
    /// Called by `k_timer_stop` on a running timer.
    pub stop_fn: k_timer_stop_t,
    /// Period (already adjusted by `k_timer_start`).
    pub period: k_timeout_t,
    /// Expiries since the status was last read.
    pub status: u32,
    /// Application data (`k_timer_user_data_set`).
    pub user_data: *mut c_void,
}

/// A statically initialised timer (`Z_TIMER_INITIALIZER`, what `K_TIMER_DEFINE` expands to).
pub const fn Z_TIMER_INITIALIZER(expiry_fn: k_timer_expiry_t, stop_fn: k_timer_stop_t) -> k_timer {
    k_timer {
        timeout: _timeout::INACTIVE,
        wait_q: _wait_q_t::EMPTY,
        expiry_fn,
        stop_fn,
        period: K_NO_WAIT,
        status: 0,
        user_data: core::ptr::null_mut(),
        _sim: z_sim_obj::statically(Z_SIM_TIMER),
    }
}

/// Sets a timer's user data (`k_timer_user_data_set`, inline in `kernel.h`).
///
/// # Safety
/// `timer` must point to a valid `k_timer`.
#[inline]
pub unsafe fn k_timer_user_data_set(timer: *mut k_timer, user_data: *mut c_void) {
    // SAFETY: caller guarantees `timer` is valid.
    unsafe { (*timer).user_data = user_data }
}

/// A timer's user data (`k_timer_user_data_get`, inline in `kernel.h`).
///
/// # Safety
/// `timer` must point to a valid `k_timer`.
#[inline]
pub unsafe fn k_timer_user_data_get(timer: *const k_timer) -> *mut c_void {
    // SAFETY: caller guarantees `timer` is valid.
    unsafe { (*timer).user_data }
}

macro_rules! uninit_constructors {
    ($($ty:ident => $value:expr;)*) => {$(
        impl $ty {
            /// An object not yet initialised: pass it to its `k_*_init` before any other use
            /// (the simulator reports a use before that).
            pub const fn new() -> Self {
                $value
            }
        }
        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }
    )*};
}

uninit_constructors! {
    k_sem => k_sem { wait_q: _wait_q_t::EMPTY, count: 0, limit: 0, _sim: z_sim_obj::UNINIT };
    k_mutex => k_mutex {
        wait_q: _wait_q_t::EMPTY,
        owner: core::ptr::null_mut(),
        lock_count: 0,
        owner_orig_prio: 0,
        _sim: z_sim_obj::UNINIT,
    };
    k_condvar => k_condvar { wait_q: _wait_q_t::EMPTY, _sim: z_sim_obj::UNINIT };
    k_timer => k_timer {
        timeout: _timeout::INACTIVE,
        wait_q: _wait_q_t::EMPTY,
        expiry_fn: None,
        stop_fn: None,
        period: K_NO_WAIT,
        status: 0,
        user_data: core::ptr::null_mut(),
        _sim: z_sim_obj::UNINIT,
    };
}
