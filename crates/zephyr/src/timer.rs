//! Kernel timers (`k_timer`) with a typestate: [`StoppedTimer`] and [`RunningTimer`].
//!
//! A timer object is a `static` [`StaticTimer`]; [`StaticTimer::take`] hands out its one
//! [`StoppedTimer`] handle, which [`start_simple`](StoppedTimer::start_simple) (count expiries,
//! wait for them) or [`start_callback`](StoppedTimer::start_callback) (also run a function at
//! each expiry) turn into a [`RunningTimer`]; [`stop`](RunningTimer::stop) turns it back.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::time::Duration;
//! use zephyr::timer::StaticTimer;
//!
//! static TICKER: StaticTimer = StaticTimer::new();
//!
//! let timer = TICKER.take().expect("TICKER is free");
//! let running = timer.start_simple(Duration::from_millis(10), Duration::from_millis(10));
//! for _ in 0..3 {
//!     let expiries = running.wait(); // blocks until the next expiry
//!     assert!(expiries >= 1);
//! }
//! let stopped = running.stop(); // or drop it: that stops it too
//! drop(stopped); // gives the handle back: TICKER.take() works again
//! ```
//!
//! # Why handles to a `static`
//! A running `k_timer` is linked into the kernel's timeout list by address. A typestate that
//! owned the `k_timer` by value would move it on every transition (`start_simple(self)`), and
//! the kernel would then write to the old place at the next expiry: use after free, silently.
//! (Upstream zephyr-lang-rust avoids that with a heap box; this crate has no allocator.) So the
//! object lives in a `static` [`StaticTimer`] that never moves, and the typestates are handles
//! holding `&'static StaticTimer`: they move freely, the kernel object does not.
//!
//! [`StaticTimer::take`] gives out at most one handle at a time (dropping the handle returns
//! it), so the type a handle has is the state the timer is in: nobody else can start or stop
//! it. Dropping a [`RunningTimer`] stops the timer first, so no expiry outlives its handle.
//!
//! # Callbacks run in interrupt context
//! The function given to [`StoppedTimer::start_callback`] runs in the system clock's interrupt
//! handler: it must not block (no mutexes, no sleeps, only `NoWait` takes); give a semaphore or
//! use a critical section to hand work to a thread.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use zephyr_sys::{
    k_timer, k_timer_remaining_ticks, k_timer_start, k_timer_status_get, k_timer_status_sync,
    k_timer_stop, k_timer_user_data_get, k_timer_user_data_set,
};

use crate::object::KObj;
use crate::thread::assert_may_block;
use crate::time::{Duration, Timeout};

/// A kernel timer object for a `static`; [`take`](Self::take) its handle to use it.
pub struct StaticTimer {
    item: KObj<k_timer>,
    /// A handle exists.
    taken: AtomicBool,
    /// The callback of a timer started with `start_callback` (a `fn()`), or null.
    callback: AtomicPtr<()>,
}

impl StaticTimer {
    /// A stopped timer (`K_TIMER_DEFINE(name, expiry, NULL)` with this module's expiry
    /// function, which runs the callback of [`StoppedTimer::start_callback`] if there is one).
    pub const fn new() -> StaticTimer {
        StaticTimer {
            item: KObj::timer(Some(expiry), None),
            taken: AtomicBool::new(false),
            callback: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The timer's handle, stopped; `None` while a handle exists.
    pub fn take(&'static self) -> Option<StoppedTimer> {
        if self.taken.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: the k_timer is statically initialised and never moves (`&'static self`);
        // it is stopped (no handle existed, and dropping a running one stops it), so nothing
        // reads the user data now. The expiry function finds this `StaticTimer` through it.
        unsafe { k_timer_user_data_set(self.item.get(), self as *const Self as *mut _) };
        Some(StoppedTimer { timer: self })
    }

    fn raw(&self) -> *mut k_timer {
        self.item.get()
    }
}

impl Default for StaticTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTimer")
            .field("taken", &self.taken.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The expiry function of every [`StaticTimer`]: runs its callback, if any (ISR context).
unsafe extern "C-unwind" fn expiry(timer: *mut k_timer) {
    // SAFETY: the kernel passes the expiring timer, a `StaticTimer`'s, whose user data `take`
    // set to that `StaticTimer` before it could be started.
    let owner = unsafe { k_timer_user_data_get(timer) } as *const StaticTimer;
    if owner.is_null() {
        return;
    }
    // SAFETY: a `&'static StaticTimer`.
    let callback = unsafe { &*owner }.callback.load(Ordering::Acquire);
    if !callback.is_null() {
        // SAFETY: only `start_callback` stores a non-null value, a `fn()` cast to a pointer.
        let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(callback) };
        f();
    }
}

/// A timer that is not running: the handle [`StaticTimer::take`] returns.
///
/// Dropping it gives the handle back to its [`StaticTimer`].
pub struct StoppedTimer {
    timer: &'static StaticTimer,
}

impl StoppedTimer {
    /// Starts the timer (`k_timer_start`): first expiry after `delay`, then every `period`
    /// ([`NoWait`](crate::time::NoWait) or [`Forever`](crate::time::Forever) for one shot).
    ///
    /// `delay` may be a [`Duration`] or an absolute [`Instant`](crate::time::Instant). A delay
    /// of `Forever` leaves the timer stopped (as the kernel does), though the handle says
    /// running.
    pub fn start_simple(
        self,
        delay: impl Into<Timeout>,
        period: impl Into<Timeout>,
    ) -> RunningTimer {
        self.timer.callback.store(ptr::null_mut(), Ordering::Release);
        self.start(delay.into(), period.into())
    }

    /// Starts the timer like [`start_simple`](Self::start_simple), also calling `callback` at
    /// each expiry, **in interrupt context** (see the [module docs](self)).
    pub fn start_callback(
        self,
        callback: fn(),
        delay: impl Into<Timeout>,
        period: impl Into<Timeout>,
    ) -> RunningTimer {
        self.timer.callback.store(callback as *mut (), Ordering::Release);
        self.start(delay.into(), period.into())
    }

    fn start(self, delay: Timeout, period: Timeout) -> RunningTimer {
        let timer = ManuallyDrop::new(self).timer;
        // SAFETY: a statically initialised k_timer that never moves; starting a stopped timer
        // has no other precondition.
        unsafe { k_timer_start(timer.raw(), delay.0, period.0) };
        RunningTimer { timer }
    }
}

impl Drop for StoppedTimer {
    fn drop(&mut self) {
        self.timer.taken.store(false, Ordering::Release);
    }
}

impl fmt::Debug for StoppedTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoppedTimer").finish_non_exhaustive()
    }
}

/// A running timer; dropping it stops the timer (and gives the handle back).
///
/// Upstream zephyr-lang-rust calls this `SimpleTimer`.
pub struct RunningTimer {
    timer: &'static StaticTimer,
}

/// Upstream zephyr-lang-rust's name for a [`RunningTimer`] started by `start_simple`.
pub type SimpleTimer = RunningTimer;

impl RunningTimer {
    /// How many times the timer expired since this was last read (or the timer started), and
    /// resets that count (`k_timer_status_get`). Never blocks; fine in an interrupt handler.
    pub fn read_count(&self) -> u32 {
        // SAFETY: a valid, never-moving k_timer.
        unsafe { k_timer_status_get(self.timer.raw()) }
    }

    /// Waits until the timer has expired at least once since the count was last read, then
    /// reads and resets the count (`k_timer_status_sync`). Returns 0 at once if the timer has
    /// stopped (a one-shot that already expired and was read).
    ///
    /// # Panics
    /// In an interrupt handler (it blocks).
    pub fn wait(&self) -> u32 {
        assert_may_block("RunningTimer::wait");
        // SAFETY: a valid, never-moving k_timer, in thread context (checked above).
        unsafe { k_timer_status_sync(self.timer.raw()) }
    }

    /// Same as [`wait`](Self::wait) (the upstream name).
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn read_count_wait(&self) -> u32 {
        self.wait()
    }

    /// Time until the next expiry (`k_timer_remaining_ticks`); zero when no expiry is pending
    /// (a one-shot that fired).
    pub fn remaining(&self) -> Duration {
        // SAFETY: a valid, never-moving k_timer.
        let ticks = unsafe { k_timer_remaining_ticks(self.timer.raw()) };
        Duration::from_ticks(ticks.max(0) as u64)
    }

    /// Restarts the timer with a new delay and period, resetting its count (`k_timer_start` on
    /// a running timer). The callback, if any, stays.
    pub fn restart(&mut self, delay: impl Into<Timeout>, period: impl Into<Timeout>) {
        // SAFETY: a valid, never-moving k_timer; restarting a running timer is allowed.
        unsafe { k_timer_start(self.timer.raw(), delay.into().0, period.into().0) }
    }

    /// Stops the timer (`k_timer_stop`) and returns its stopped handle. Expiries not yet read
    /// are forgotten at the next start.
    pub fn stop(self) -> StoppedTimer {
        let timer = ManuallyDrop::new(self).timer;
        stop(timer);
        StoppedTimer { timer }
    }
}

fn stop(timer: &'static StaticTimer) {
    // SAFETY: a valid, never-moving k_timer. No thread can be waiting in `wait`: that borrows
    // the handle this is consuming.
    unsafe { k_timer_stop(timer.raw()) };
    timer.callback.store(ptr::null_mut(), Ordering::Release);
}

impl Drop for RunningTimer {
    fn drop(&mut self) {
        stop(self.timer);
        self.timer.taken.store(false, Ordering::Release);
    }
}

impl fmt::Debug for RunningTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningTimer").field("remaining", &self.remaining()).finish()
    }
}
