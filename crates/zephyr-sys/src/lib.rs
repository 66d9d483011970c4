//! Raw Zephyr kernel API: the C names, types and signatures of `kernel.h`, for Rust.
//!
//! This crate is the seam between everything above it and a kernel. It declares the kernel's
//! functions with Zephyr's exact names and signatures
//! (`k_sem_take(*mut k_sem, k_timeout_t) -> c_int`), the kernel object types, the `K_*`
//! timeout constructors, errno values and the header-inline helpers of `kernel.h` and
//! `sys_clock.h` (`k_msleep`, `k_uptime_get`, the `k_*_to_*` conversions, ...).
//!
//! # Who provides the kernel
//!
//! Chosen when the crate is built (see `build.rs`):
//!
//! * **The simulator** (feature `simulator`, turned on by `zephyr-sim`, which defines every
//!   symbol with `#[no_mangle]`): a program links it with `use zephyr_sim as _;`. The object
//!   layouts are the simulator's (`sim_layout`), with a header that catches misuse.
//! * **Real Zephyr** (built by the Zephyr module's `rust_cargo_application()`, which sets
//!   `ZEPHYR_RUST_LAYOUT` and `ZEPHYR_DOTCONFIG`): every object type is opaque storage with the
//!   size and alignment the application's own Zephyr build measured (the layout probe
//!   `zephyr/src/zr_layout.c`, compiled with the application's compiler and flags); constants
//!   (errno, `K_POLL_*`, stack reservations) come from its headers and `CONFIG_*` values from its
//!   `.config`. Each function links to a `zr_<name>` wrapper in `zephyr/src/zr_shim.c`, built
//!   with the application, so `static inline` syscalls and macros (`k_sem_take`, `irq_lock`)
//!   have real symbols; each wrapper is one tail call.
//! * **Neither** (`cargo check`, docs, `no_std` builds without a Zephyr build): the crate
//!   compiles with the simulator's layouts, but every function links to
//!   `zephyr_sys_needs_a_zephyr_build__<name>`: linking such a build fails with that name
//!   rather than running with layouts that are not the kernel's.
//!
//! Code above this crate names only the types, constructors, constants and functions that all
//! providers have (for the few fields Rust reads, accessors such as [`zr_k_mutex_lock_count`]),
//! so it does not change with the kernel.
//!
//! # Extensions
//!
//! A few items are not Zephyr API. They carry a `zsim`/`z_sim`/`zr` prefix: so a simulated
//! board can differ from the compile-time defaults (see [`sys_clock_ticks_per_sec`]), and to
//! read the fields whose layout differs between providers.
#![no_std]
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]

use core::ffi::{c_char, c_int, c_uint, c_void};

/// Declares kernel functions, linked as the provider needs: by their own name on the
/// simulator (`extern "C-unwind"`, so a panic on a simulated thread reaches the simulator), by
/// their `zr_*` wrapper on real Zephyr (`extern "C"`: C does not unwind, and a `no_std`
/// `panic = "abort"` build then needs no unwinding runtime).
macro_rules! kernel_api {
    ($($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        #[cfg(not(any(zephyr_real, zephyr_unconfigured)))]
        extern "C-unwind" {
            $($(#[$meta])* pub fn $name($($arg: $ty),*) $(-> $ret)?;)*
        }
        #[cfg(zephyr_real)]
        extern "C" {
            $(
                $(#[$meta])*
                #[link_name = concat!("zr_", stringify!($name))]
                pub fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
        #[cfg(zephyr_unconfigured)]
        extern "C" {
            $(
                $(#[$meta])*
                #[link_name = concat!("zephyr_sys_needs_a_zephyr_build__", stringify!($name))]
                pub fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
    };
}

#[cfg(not(zephyr_real))]
pub mod errno;
#[cfg(not(zephyr_real))]
mod sim_layout;
#[cfg(not(zephyr_real))]
pub use sim_layout::*;
#[cfg(zephyr_real)]
mod real_layout;
#[cfg(zephyr_real)]
pub use real_layout::*;
pub mod drivers;
pub mod kobjects;
pub mod time;
pub mod work;

pub use drivers::*;
pub use errno::*;
pub use kobjects::*;
pub use time::*;
pub use work::*;

/// Kconfig options, as the build of a Zephyr application gives them: on real Zephyr from its
/// `.config`; otherwise defaults, each overridable by an environment variable of the same name
/// at build time.
pub mod kconfig {
    include!(concat!(env!("OUT_DIR"), "/kconfig.rs"));
}
pub use kconfig::*;

/// Lowest priority an application thread may have (`K_LOWEST_APPLICATION_THREAD_PRIO`).
pub const K_LOWEST_APPLICATION_THREAD_PRIO: c_int = CONFIG_NUM_PREEMPT_PRIORITIES - 1;
/// Highest (most urgent) priority a thread may have (`K_HIGHEST_THREAD_PRIO`).
pub const K_HIGHEST_THREAD_PRIO: c_int = -CONFIG_NUM_COOP_PRIORITIES;
/// Priority of the idle thread (`K_IDLE_PRIO`).
pub const K_IDLE_PRIO: c_int = CONFIG_NUM_PREEMPT_PRIORITIES;

/// Thread id: a pointer to the thread's `k_thread` object.
pub type k_tid_t = *mut k_thread;

/// A thread's entry point: `void (*)(void *p1, void *p2, void *p3)`.
pub type k_thread_entry_t =
    Option<unsafe extern "C-unwind" fn(p1: *mut c_void, p2: *mut c_void, p3: *mut c_void)>;

/// Timer expiry or stop function: `void (*)(struct k_timer *timer)`.
pub type k_timer_expiry_t = Option<unsafe extern "C-unwind" fn(timer: *mut k_timer)>;
/// Timer stop function: `void (*)(struct k_timer *timer)`.
pub type k_timer_stop_t = k_timer_expiry_t;

/// A work item's handler: `void (*)(struct k_work *work)`.
pub type k_work_handler_t = Option<unsafe extern "C-unwind" fn(work: *mut k_work)>;

kernel_api! {
    // ---- threads (kernel/thread.c, kernel/sched.c) ----
    /// Creates a thread; starts it after `delay` (`K_NO_WAIT`: now, `K_FOREVER`: at
    /// [`k_thread_start`]).
    pub fn k_thread_create(
        new_thread: *mut k_thread,
        stack: *mut k_thread_stack_t,
        stack_size: usize,
        entry: k_thread_entry_t,
        p1: *mut c_void,
        p2: *mut c_void,
        p3: *mut c_void,
        prio: c_int,
        options: u32,
        delay: k_timeout_t,
    ) -> k_tid_t;
    /// Starts a thread created with a `K_FOREVER` delay.
    pub fn k_thread_start(thread: k_tid_t);
    /// Waits for `thread` to exit: 0, `-EBUSY` (K_NO_WAIT), `-EAGAIN` (timeout), `-EDEADLK`.
    pub fn k_thread_join(thread: *mut k_thread, timeout: k_timeout_t) -> c_int;
    /// Ends `thread` (which may be the caller).
    pub fn k_thread_abort(thread: k_tid_t);
    /// Sleeps for `timeout`; returns the milliseconds left if woken early.
    pub fn k_sleep(timeout: k_timeout_t) -> i32;
    /// Sleeps for at least `us` microseconds; returns the microseconds left if woken early.
    pub fn k_usleep(us: i32) -> i32;
    /// Spins (without yielding) for `usec_to_wait` microseconds.
    pub fn k_busy_wait(usec_to_wait: u32);
    /// Moves the caller behind the ready threads of its own priority.
    pub fn k_yield();
    /// Wakes a sleeping thread early.
    pub fn k_wakeup(thread: k_tid_t);
    /// The calling thread.
    pub fn k_current_get() -> k_tid_t;
    /// Suspends a thread (cancelling its timeout).
    pub fn k_thread_suspend(thread: k_tid_t);
    /// Resumes a suspended thread; does nothing (and is not remembered) otherwise.
    pub fn k_thread_resume(thread: k_tid_t);
    /// A thread's priority.
    pub fn k_thread_priority_get(thread: k_tid_t) -> c_int;
    /// Sets a thread's priority; may reschedule.
    pub fn k_thread_priority_set(thread: k_tid_t, prio: c_int);
    /// Names a thread (copied, truncated to `CONFIG_THREAD_MAX_NAME_LEN - 1` bytes).
    pub fn k_thread_name_set(thread: k_tid_t, str_: *const c_char) -> c_int;
    /// A thread's name (NUL-terminated), or null.
    pub fn k_thread_name_get(thread: k_tid_t) -> *const c_char;
    /// Prevents the scheduler from preempting the caller (nests).
    pub fn k_sched_lock();
    /// Undoes one [`k_sched_lock`].
    pub fn k_sched_unlock();
    /// Sets the time slice to `slice` milliseconds (0: no slicing) for preemptible threads at
    /// or below priority `prio` (numerically `>=`), and restarts the caller's slice
    /// (kernel/sched.c). Only with `CONFIG_TIMESLICING` (on real Zephyr the wrapper is
    /// missing without it, and linking fails naming it).
    pub fn k_sched_time_slice_set(slice: u32, prio: c_int);

    // ---- semaphores (kernel/sem.c) ----
    /// Initialises a semaphore: 0, or `-EINVAL` if `limit == 0` or `initial_count > limit`.
    pub fn k_sem_init(sem: *mut k_sem, initial_count: c_uint, limit: c_uint) -> c_int;
    /// Takes a semaphore: 0, `-EBUSY` (K_NO_WAIT, unavailable) or `-EAGAIN` (timeout).
    pub fn k_sem_take(sem: *mut k_sem, timeout: k_timeout_t) -> c_int;
    /// Gives a semaphore (ISR-safe).
    pub fn k_sem_give(sem: *mut k_sem);
    /// Resets the count to 0; waiters return `-EAGAIN`.
    pub fn k_sem_reset(sem: *mut k_sem);
    /// The current count.
    pub fn k_sem_count_get(sem: *mut k_sem) -> c_uint;

    // ---- mutexes (kernel/mutex.c) ----
    /// Initialises a mutex; always 0.
    pub fn k_mutex_init(mutex: *mut k_mutex) -> c_int;
    /// Locks a mutex (recursive for the owner): 0, `-EBUSY` or `-EAGAIN`.
    pub fn k_mutex_lock(mutex: *mut k_mutex, timeout: k_timeout_t) -> c_int;
    /// Unlocks a mutex: 0, `-EPERM` (not the owner) or `-EINVAL` (not locked).
    pub fn k_mutex_unlock(mutex: *mut k_mutex) -> c_int;

    // ---- condition variables (kernel/condvar.c) ----
    /// Initialises a condition variable; always 0.
    pub fn k_condvar_init(condvar: *mut k_condvar) -> c_int;
    /// Wakes the first waiter; always 0.
    pub fn k_condvar_signal(condvar: *mut k_condvar) -> c_int;
    /// Wakes every waiter; returns how many were woken.
    pub fn k_condvar_broadcast(condvar: *mut k_condvar) -> c_int;
    /// Unlocks `mutex`, waits for a signal, relocks `mutex`: 0 or `-EAGAIN`.
    pub fn k_condvar_wait(
        condvar: *mut k_condvar,
        mutex: *mut k_mutex,
        timeout: k_timeout_t,
    ) -> c_int;

    // ---- timers (kernel/timer.c) ----
    /// Initialises a timer with its expiry function (run in ISR context) and stop function.
    pub fn k_timer_init(timer: *mut k_timer, expiry_fn: k_timer_expiry_t, stop_fn: k_timer_stop_t);
    /// Starts (or restarts) a timer: first expiry after `duration`, then every `period`.
    pub fn k_timer_start(timer: *mut k_timer, duration: k_timeout_t, period: k_timeout_t);
    /// Stops a running timer, calling its stop function; does nothing if it is not running.
    pub fn k_timer_stop(timer: *mut k_timer);
    /// Returns the number of expiries since the last read, and resets it.
    pub fn k_timer_status_get(timer: *mut k_timer) -> u32;
    /// Waits for the next expiry (or a stop) if the status is 0; returns and resets the status.
    pub fn k_timer_status_sync(timer: *mut k_timer) -> u32;
    /// Ticks until the next expiry (0 if not running).
    pub fn k_timer_remaining_ticks(timer: *const k_timer) -> k_ticks_t;
    /// Absolute tick of the next expiry.
    pub fn k_timer_expires_ticks(timer: *const k_timer) -> k_ticks_t;

    // ---- time (kernel/timeout.c, drivers/timer) ----
    /// Ticks since boot (`k_uptime_ticks`).
    pub fn k_uptime_ticks() -> i64;
    /// Hardware cycle counter, 32 bits (`k_cycle_get_32`).
    pub fn k_cycle_get_32() -> u32;
    /// Hardware cycle counter, 64 bits (`k_cycle_get_64`).
    pub fn k_cycle_get_64() -> u64;
    /// Hardware cycle counter rate, in Hz.
    pub fn sys_clock_hw_cycles_per_sec() -> c_int;

    // ---- console ----
    /// Writes `n` bytes to the console (what `printk` ends in).
    pub fn k_str_out(c: *mut c_char, n: usize);
}

#[cfg(feature = "simulator")]
extern "C-unwind" {
    /// Simulator extension: the tick rate of the running simulated board.
    pub fn zsim_sys_clock_ticks_per_sec() -> u32;
    /// Simulator extension: this simulation's instance of the static identified by `key`,
    /// `size` bytes aligned to `align`, zeroed on first use and freed when the simulation
    /// ends. See [`zsim_boot_static`].
    pub fn zsim_boot_static_get(key: *const c_void, size: usize, align: usize) -> *mut c_void;
}

/// Per-boot storage for a static that kernel-facing code keeps (a driver's state).
///
/// On real Zephyr a program boots once, so a `static` is per boot; this returns null and the
/// caller uses its `static`. On the simulator, many simulations run in one process (in
/// parallel test threads); this returns this simulation's own zeroed instance of the static
/// identified by `key` (any unique address, such as the static itself).
///
/// # Safety
/// `align` must be a power of two. The memory is freed without running destructors when the
/// simulation ends.
#[inline]
pub unsafe fn zsim_boot_static(key: *const c_void, size: usize, align: usize) -> *mut c_void {
    #[cfg(feature = "simulator")]
    {
        // SAFETY: forwarded caller contract.
        unsafe { zsim_boot_static_get(key, size, align) }
    }
    #[cfg(not(feature = "simulator"))]
    {
        let _ = (key, size, align);
        core::ptr::null_mut()
    }
}

// Interrupt locking (include/irq.h). On real Zephyr with a BASEPRI-based `irq_lock` (ARMv7-M,
// ARMv8-M Mainline, uniprocessor), `real_layout` does it inline instead: it runs on every
// critical section.
#[cfg(not(all(zephyr_irq_basepri, target_arch = "arm")))]
kernel_api! {
    /// Locks interrupts; returns the key to hand back to [`irq_unlock`]. Nests.
    pub fn irq_lock() -> c_uint;
    /// Releases the lock taken by the [`irq_lock`] call that returned `key`.
    pub fn irq_unlock(key: c_uint);
    /// Whether `key` says interrupts were unlocked before the `irq_lock` that returned it, i.e.
    /// whether `irq_unlock(key)` unlocks them (`arch_irq_unlocked`; inline in Zephyr, so a real
    /// provider supplies it as a shim).
    pub fn arch_irq_unlocked(key: c_uint) -> bool;
}

/// An interrupt service routine as [`irq_connect_dynamic`] takes it:
/// `void (*routine)(const void *parameter)`.
pub type zr_irq_routine_t = Option<unsafe extern "C-unwind" fn(parameter: *const c_void)>;

// Interrupt lines (include/irq.h). On real Zephyr `irq_connect_dynamic` needs
// CONFIG_DYNAMIC_INTERRUPTS (without it its wrapper is missing and linking fails naming it);
// `irq_enable`, `irq_disable` and `irq_is_enabled` are macros for `arch_irq_*`.
kernel_api! {
    /// Connects `routine(parameter)` to interrupt line `irq` at `priority` (0 is the most
    /// urgent; at most [`zr_IRQ_PRIO_LOWEST`]) (`irq_connect_dynamic`, include/irq.h,
    /// CONFIG_DYNAMIC_INTERRUPTS). Returns the vector (`irq`) or a negative errno. The line
    /// must be disabled; connecting a connected line replaces its routine.
    pub fn irq_connect_dynamic(
        irq: c_uint,
        priority: c_uint,
        routine: zr_irq_routine_t,
        parameter: *const c_void,
        flags: u32,
    ) -> c_int;
    /// Enables interrupt line `irq` (`irq_enable`): a pending request runs as soon as the CPU
    /// can take it.
    pub fn irq_enable(irq: c_uint);
    /// Disables interrupt line `irq` (`irq_disable`): requests stay pending.
    pub fn irq_disable(irq: c_uint);
    /// Nonzero when interrupt line `irq` is enabled (`irq_is_enabled`).
    pub fn irq_is_enabled(irq: c_uint) -> c_int;
}

/// `irq_connect_dynamic`'s flag for a zero-latency interrupt (`IRQ_ZERO_LATENCY`,
/// include/arch/arm/aarch32/irq.h:93; Cortex-M): with `CONFIG_ZERO_LATENCY_IRQS` the line runs
/// at hardware priority 0, whatever priority is passed, above the system clock and even while
/// `irq_lock` is held, and its ISR must not use the kernel. Without the option the flag is
/// ignored (arch/arm/core/aarch32/irq_manage.c:77).
pub const IRQ_ZERO_LATENCY: u32 = 1 << 0;

// `zr_irq_pend`: linked to the simulator's `zsim_irq_pend`, to the shim's `zr_irq_pend` on real
// Zephyr, to a name that fails the link otherwise.
#[cfg(not(any(zephyr_real, zephyr_unconfigured)))]
extern "C-unwind" {
    #[link_name = "zsim_irq_pend"]
    fn zr_irq_pend_provider(irq: c_uint);
}
#[cfg(zephyr_real)]
extern "C" {
    #[link_name = "zr_irq_pend"]
    fn zr_irq_pend_provider(irq: c_uint);
}
#[cfg(zephyr_unconfigured)]
extern "C" {
    #[link_name = "zephyr_sys_needs_a_zephyr_build__zr_irq_pend"]
    fn zr_irq_pend_provider(irq: c_uint);
}

/// Extension (not Zephyr API): sets interrupt line `irq` pending, as software can on every
/// architecture: `NVIC_SetPendingIRQ` on Cortex-M, `posix_sw_set_pending_IRQ` on native_posix
/// (boards/posix/native_posix/irq_handler.c), the simulated interrupt controller on the
/// simulator.
///
/// If the line is enabled and more urgent than what the CPU runs (any thread, or an ISR of a
/// less urgent priority), and interrupts are not locked, its routine runs before this returns;
/// otherwise it runs as soon as that stops being true (`irq_unlock`, `irq_enable`, the exit of
/// the ISRs that mask it). Pending a pending line does nothing more; pending the line whose
/// ISR is running makes it run once more after it exits.
///
/// # Safety
/// Callable from threads and ISRs. `irq` must be below `CONFIG_NUM_IRQS`; on real Zephyr it
/// must be a line the application owns (pending a device's line runs its driver's ISR).
#[inline]
pub unsafe fn zr_irq_pend(irq: c_uint) {
    // SAFETY: forwarded caller contract.
    unsafe { zr_irq_pend_provider(irq) }
}

// `k_is_in_isr` (kernel/thread.c: `arch_is_in_isr()`). On Cortex-M it is a read of IPSR, which
// `real_layout` does inline: the executor's pender and every blocking wrapper ask it.
#[cfg(not(all(zephyr_cortex_m, target_arch = "arm")))]
kernel_api! {
    /// True when called from an interrupt service routine.
    pub fn k_is_in_isr() -> bool;
}

/// Ticks per second of the running kernel.
///
/// On real Zephyr this is [`CONFIG_SYS_CLOCK_TICKS_PER_SEC`]. On the simulator a board may be
/// booted at another rate (to run one test suite at 100 Hz and 10 kHz); this reads it. Every
/// conversion in [`time`] goes through it.
#[inline]
pub fn sys_clock_ticks_per_sec() -> u32 {
    #[cfg(feature = "simulator")]
    {
        // SAFETY: a plain getter with no preconditions, callable from any context.
        unsafe { zsim_sys_clock_ticks_per_sec() }
    }
    #[cfg(not(feature = "simulator"))]
    {
        CONFIG_SYS_CLOCK_TICKS_PER_SEC
    }
}

/// Sleeps for `ms` milliseconds (`k_msleep`, inline in `kernel.h`).
///
/// # Safety
/// Thread context only (not an ISR); the kernel must be running.
#[inline]
pub unsafe fn k_msleep(ms: i32) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { k_sleep(K_MSEC(ms as i64)) }
}

/// Milliseconds since boot (`k_uptime_get`, inline in `kernel.h`).
///
/// # Safety
/// The kernel must be running.
#[inline]
pub unsafe fn k_uptime_get() -> i64 {
    // SAFETY: forwarded caller contract.
    k_ticks_to_ms_floor64(unsafe { k_uptime_ticks() } as u64) as i64
}

/// Low 32 bits of [`k_uptime_get`] (`k_uptime_get_32`).
///
/// # Safety
/// The kernel must be running.
#[inline]
pub unsafe fn k_uptime_get_32() -> u32 {
    // SAFETY: forwarded caller contract.
    unsafe { k_uptime_get() as u32 }
}

/// Writes a Rust string to the console with [`k_str_out`].
///
/// # Safety
/// The kernel must be running.
pub unsafe fn printk_str(s: &str) {
    // SAFETY: k_str_out only reads `n` bytes from the pointer.
    unsafe { k_str_out(s.as_ptr() as *mut c_char, s.len()) }
}

/// `printk` with Rust formatting: `printk!("x = {}\n", x)`.
///
/// Zephyr's `printk` is variadic C; Rust code formats itself and writes with [`k_str_out`].
/// Formatting uses a 256-byte stack buffer, flushed as it fills; nothing is allocated.
#[macro_export]
macro_rules! printk {
    ($($arg:tt)*) => {
        $crate::printk_fmt(::core::format_args!($($arg)*))
    };
}

/// Writes formatted output to the console (the function behind [`printk!`]).
pub fn printk_fmt(args: core::fmt::Arguments<'_>) {
    struct Console {
        buf: [u8; 256],
        len: usize,
    }
    impl Console {
        fn flush(&mut self) {
            if self.len > 0 {
                // SAFETY: the buffer holds `len` initialised bytes; k_str_out only reads them.
                unsafe { k_str_out(self.buf.as_mut_ptr() as *mut c_char, self.len) };
                self.len = 0;
            }
        }
    }
    impl core::fmt::Write for Console {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if self.len == self.buf.len() {
                    self.flush();
                }
                self.buf[self.len] = b;
                self.len += 1;
            }
            Ok(())
        }
    }
    let mut console = Console { buf: [0; 256], len: 0 };
    let _ = core::fmt::write(&mut console, args);
    console.flush();
}
