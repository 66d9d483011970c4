//! Kernel timers (`k_timer`) with a typestate: [`StoppedTimer`], [`RunningTimer`] and
//! [`CallbackTimer`].
//!
//! A timer is a [`StoppedTimer`] handle to a `k_timer` that never moves: either a `static`
//! [`StaticTimer`], whose [`take`](StaticTimer::take) hands out its one handle, or a timer of
//! its own on the heap, [`StoppedTimer::new`] (upstream zephyr-lang-rust's way; needs `alloc`,
//! so not with `no-kio`). Starting it consumes the handle and returns the running state:
//!
//! ```text
//!                 start_simple / start_fn                      start_callback
//!   StoppedTimer ────────────────────────► RunningTimer    StoppedTimer ──────► Pin<Box<CallbackTimer<T>>>
//!        ▲                                   │ stop               ▲                    │ stop
//!        └───────────────────────────────────┘                    └────────────────────┘
//! ```
//!
//! * [`start_simple`](StoppedTimer::start_simple): count expiries and wait for them
//!   ([`RunningTimer::read_count`], [`RunningTimer::read_count_wait`]).
//! * [`start_fn`](StoppedTimer::start_fn): also run a plain `fn()` at each expiry (no
//!   allocation).
//! * [`start_callback`](StoppedTimer::start_callback): run `call(&data)` at each expiry, with
//!   data the timer owns ([`Callback`]); upstream's shape, which boxes the callback.
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
//! With data, as upstream code writes it (not with `no-kio`):
//!
//! ```no_run
//! # use zephyr_sim as _;
//! # #[cfg(not(feature = "no-kio"))] {
//! # extern crate alloc;
//! use alloc::sync::Arc;
//! use core::sync::atomic::{AtomicUsize, Ordering};
//! use zephyr::time::Duration;
//! use zephyr::timer::{Callback, StoppedTimer};
//!
//! fn expired(count: &Arc<AtomicUsize>) {
//!     count.fetch_add(1, Ordering::Relaxed); // in the timer interrupt
//! }
//!
//! let count = Arc::new(AtomicUsize::new(0));
//! let timer = StoppedTimer::new().start_callback(
//!     Callback { call: expired, data: count.clone() },
//!     Duration::millis_at_least(10),
//!     Duration::millis_at_least(10),
//! );
//! // ... later: stop it (or drop it), which frees the k_timer and the data.
//! let _stopped = timer.stop();
//! # }
//! ```
//!
//! # Why handles
//! A running `k_timer` is linked into the kernel's timeout list by address. A typestate that
//! owned the `k_timer` by value would move it on every transition (`start_simple(self)`), and
//! the kernel would then write to the old place at the next expiry: use after free, silently.
//! So the object lives where it never moves (a `static`, or a heap block), and the typestates
//! are handles to it: they move freely, the kernel object does not.
//!
//! [`StaticTimer::take`] gives out at most one handle at a time (dropping the handle returns
//! it); a heap timer has exactly one handle, which frees it when dropped. So the type a handle
//! has is the state the timer is in: nobody else can start or stop it. Dropping a running
//! timer stops it first, so no expiry outlives its handle, and a [`CallbackTimer`]'s data is
//! dropped only once its timer is stopped.
//!
//! # Callbacks run in interrupt context
//! The functions given to [`StoppedTimer::start_fn`] and [`StoppedTimer::start_callback`] run
//! in the system clock's interrupt handler: they must not block (no mutexes, no sleeps, only
//! `NoWait` takes); give a semaphore, send on a bounded channel, or use a critical section to
//! hand work to a thread.
//!
//! # Dropped in an interrupt handler
//! A heap timer (and a [`CallbackTimer`]'s data) dropped in an interrupt handler is stopped
//! but **leaked**, not freed: that handler may have preempted the clock interrupt while it was
//! still inside this timer's expiry (Zephyr touches the `k_timer` again after the expiry
//! function returns), and nothing can wait for it there. From a thread, no expiry can be in
//! progress (one CPU; interrupts finish before the thread resumes), and the memory is freed.

#[cfg(not(feature = "no-kio"))]
extern crate alloc;

#[cfg(not(feature = "no-kio"))]
use alloc::boxed::Box;
use core::fmt;
use core::mem::ManuallyDrop;
#[cfg(not(feature = "no-kio"))]
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use zephyr_sys::{
    k_timer, k_timer_remaining_ticks, k_timer_start, k_timer_status_get, k_timer_status_sync,
    k_timer_stop, k_timer_user_data_get, k_timer_user_data_set,
};

use crate::object::KObj;
use crate::thread::assert_may_block;
use crate::time::{Duration, Timeout};

/// What an expiry runs: the first field of every handler the timer's user data points to
/// (a [`StaticTimer`]'s `fn()` slot, or a boxed [`Callback`]). One pointer names both the code
/// and its data, so an expiry can never pair one timer start's function with another's data.
#[repr(C)]
struct Handler {
    run: unsafe fn(*const Handler),
}

/// The handler of [`StoppedTimer::start_fn`]: the `fn()` to call, in the timer object.
#[repr(C)]
struct FnHandler {
    handler: Handler,
    /// A `fn()` cast to a pointer (set before the timer starts with this handler).
    function: AtomicPtr<()>,
}

/// Runs a [`FnHandler`]'s function.
///
/// # Safety
/// `h` is the `handler` field of a live `FnHandler` whose `function` holds a `fn()`.
unsafe fn run_fn(h: *const Handler) {
    // SAFETY: caller contract (`FnHandler` is repr(C) with `handler` first).
    let function = unsafe { &*(h as *const FnHandler) }.function.load(Ordering::Acquire);
    // SAFETY: `start_fn` stores a `fn()` before pointing the user data at this handler.
    let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(function) };
    f();
}

/// A kernel timer object for a `static`; [`take`](Self::take) its handle to use it.
pub struct StaticTimer {
    item: KObj<k_timer>,
    /// A handle exists.
    taken: AtomicBool,
    /// The handler of a timer started with `start_fn`.
    function: FnHandler,
}

impl StaticTimer {
    /// A stopped timer (`K_TIMER_DEFINE(name, expiry, NULL)` with this module's expiry
    /// function, which runs the handler the timer was started with, if any).
    pub const fn new() -> StaticTimer {
        StaticTimer {
            item: KObj::timer(Some(expiry), None),
            taken: AtomicBool::new(false),
            function: FnHandler {
                handler: Handler { run: run_fn },
                function: AtomicPtr::new(ptr::null_mut()),
            },
        }
    }

    /// The timer's handle, stopped; `None` while a handle exists.
    pub fn take(&'static self) -> Option<StoppedTimer> {
        if self.taken.swap(true, Ordering::Acquire) {
            return None;
        }
        Some(StoppedTimer { timer: TimerRef { timer: NonNull::from(self), heap: false } })
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

/// The expiry function of every timer here: runs the handler its user data points to, if any
/// (ISR context).
unsafe extern "C-unwind" fn expiry(timer: *mut k_timer) {
    // SAFETY: the kernel passes the expiring timer, one of ours.
    let handler = unsafe { k_timer_user_data_get(timer) } as *const Handler;
    if !handler.is_null() {
        // SAFETY: the user data is set only by `TimerRef::start`, to a handler that stays alive
        // until the timer is stopped (and, if stopped in an ISR, for good: see the module docs).
        unsafe { ((*handler).run)(handler) }
    }
}

/// One timer object: a `static` [`StaticTimer`] (whose one handle this is) or a heap one (which
/// this owns). Private and `Copy`: each public handle holds exactly one and releases it once.
#[derive(Clone, Copy)]
struct TimerRef {
    timer: NonNull<StaticTimer>,
    heap: bool,
}

// SAFETY: a `&'static StaticTimer` or a `Box<StaticTimer>`, both `Send` and `Sync` (the
// `k_timer` is only reached through kernel calls, the rest is atomics).
unsafe impl Send for TimerRef {}
// SAFETY: as above.
unsafe impl Sync for TimerRef {}

impl TimerRef {
    fn get(&self) -> &StaticTimer {
        // SAFETY: a static timer, or a heap one this handle owns and has not released.
        unsafe { self.timer.as_ref() }
    }

    fn raw(&self) -> *mut k_timer {
        self.get().item.get()
    }

    /// Points the user data at `handler` (null for none) and starts the timer.
    ///
    /// # Safety
    /// The timer is stopped; `handler` is null or lives until the timer is stopped by
    /// [`stop`](Self::stop).
    unsafe fn start(self, handler: *const Handler, delay: Timeout, period: Timeout) {
        let raw = self.raw();
        // SAFETY: a k_timer that never moves; stopped, so no expiry reads the user data now;
        // k_timer_start orders the store before any expiry it schedules.
        unsafe {
            k_timer_user_data_set(raw, handler as *mut _);
            k_timer_start(raw, delay.0, period.0);
        }
    }

    /// Stops the timer (`k_timer_stop`) and forgets its handler.
    fn stop(self) {
        let raw = self.raw();
        // SAFETY: a k_timer that never moves. No thread waits in `read_count_wait`: that
        // borrows the handle whose owner is stopping it. After the stop no expiry starts, and
        // none is in progress unless we preempted it in an ISR (then the handler it may use is
        // leaked, not freed).
        unsafe {
            k_timer_stop(raw);
            k_timer_user_data_set(raw, ptr::null_mut());
        }
    }

    /// Gives a static timer's handle back, or frees a heap timer (leaks it in an ISR). The
    /// timer is stopped.
    fn release(self) {
        if self.heap {
            // In an ISR it is leaked: see "Dropped in an interrupt handler" in the module docs.
            #[cfg(not(feature = "no-kio"))]
            if !crate::thread::is_in_isr() {
                // SAFETY: heap timers come from `Box::leak` in `StoppedTimer::new`; this handle
                // was their only owner, the timer is stopped, and in a thread no expiry is in
                // progress.
                drop(unsafe { Box::from_raw(self.timer.as_ptr()) });
            }
        } else {
            self.get().taken.store(false, Ordering::Release);
        }
    }
}

/// A timer that is not running.
///
/// Dropping it gives the handle back to its [`StaticTimer`], or frees a timer from
/// [`StoppedTimer::new`].
pub struct StoppedTimer {
    timer: TimerRef,
}

impl StoppedTimer {
    /// A timer of its own, on the heap (upstream zephyr-lang-rust's constructor): it never
    /// moves, and dropping its last handle stops and frees it.
    ///
    /// Needs the global allocator (not with `no-kio`; use a [`StaticTimer`] there).
    #[cfg(not(feature = "no-kio"))]
    pub fn new() -> StoppedTimer {
        let timer = Box::leak(Box::new(StaticTimer::new()));
        timer.taken.store(true, Ordering::Relaxed);
        StoppedTimer { timer: TimerRef { timer: NonNull::from(timer), heap: true } }
    }

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
        let timer = ManuallyDrop::new(self).timer;
        // SAFETY: a stopped timer (this handle says so); no handler.
        unsafe { timer.start(ptr::null(), delay.into(), period.into()) };
        RunningTimer { timer }
    }

    /// Starts the timer like [`start_simple`](Self::start_simple), also calling `function` at
    /// each expiry, **in interrupt context** (see the [module docs](self)). Needs no allocation.
    pub fn start_fn(
        self,
        function: fn(),
        delay: impl Into<Timeout>,
        period: impl Into<Timeout>,
    ) -> RunningTimer {
        let timer = ManuallyDrop::new(self).timer;
        let slot = &timer.get().function;
        slot.function.store(function as *mut (), Ordering::Release);
        // SAFETY: a stopped timer; the handler is in the timer object itself, which outlives
        // the timer's run.
        unsafe { timer.start(&slot.handler, delay.into(), period.into()) };
        RunningTimer { timer }
    }

    /// Starts the timer like [`start_simple`](Self::start_simple), calling `callback.call`
    /// with `&callback.data` at each expiry, **in interrupt context** (see the
    /// [module docs](self)); upstream zephyr-lang-rust's signature. The callback and its data
    /// are boxed (so they never move while the kernel may call them) and dropped once the timer
    /// has stopped.
    ///
    /// Needs the global allocator (not with `no-kio`; use [`start_fn`](Self::start_fn)).
    #[cfg(not(feature = "no-kio"))]
    pub fn start_callback<T: Send + Sync>(
        self,
        callback: Callback<T>,
        delay: impl Into<Timeout>,
        period: impl Into<Timeout>,
    ) -> Pin<Box<CallbackTimer<T>>> {
        let timer = ManuallyDrop::new(self).timer;
        let cell = NonNull::from(Box::leak(Box::new(CallbackCell {
            handler: Handler { run: run_callback::<T> },
            callback,
        })));
        // SAFETY: a stopped timer; the cell lives until the CallbackTimer stopped the timer.
        unsafe { timer.start(cell.as_ptr() as *const Handler, delay.into(), period.into()) };
        Box::pin(CallbackTimer { timer: Some(timer), cell: Some(cell) })
    }
}

#[cfg(not(feature = "no-kio"))]
impl Default for StoppedTimer {
    /// [`StoppedTimer::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StoppedTimer {
    fn drop(&mut self) {
        self.timer.release();
    }
}

impl fmt::Debug for StoppedTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoppedTimer").field("heap", &self.timer.heap).finish_non_exhaustive()
    }
}

/// A running timer; dropping it stops the timer (and gives the handle back, or frees it).
///
/// Upstream zephyr-lang-rust calls this `SimpleTimer`.
pub struct RunningTimer {
    timer: TimerRef,
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
    /// a running timer). The function of [`StoppedTimer::start_fn`], if any, stays.
    pub fn restart(&mut self, delay: impl Into<Timeout>, period: impl Into<Timeout>) {
        // SAFETY: a valid, never-moving k_timer; restarting a running timer is allowed.
        unsafe { k_timer_start(self.timer.raw(), delay.into().0, period.into().0) }
    }

    /// Stops the timer (`k_timer_stop`) and returns its stopped handle. Expiries not yet read
    /// are forgotten at the next start.
    pub fn stop(self) -> StoppedTimer {
        let timer = ManuallyDrop::new(self).timer;
        timer.stop();
        StoppedTimer { timer }
    }
}

impl Drop for RunningTimer {
    fn drop(&mut self) {
        self.timer.stop();
        self.timer.release();
    }
}

impl fmt::Debug for RunningTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningTimer").field("remaining", &self.remaining()).finish()
    }
}

/// What a [`CallbackTimer`] runs at each expiry: `call(&data)`, in interrupt context
/// (upstream zephyr-lang-rust's type).
///
/// The timer owns `data`; to share it with threads, make it an `Arc` of something usable from
/// an interrupt handler (atomics, a [`Semaphore`](crate::sys::sync::Semaphore), a critical
/// section mutex, a bounded channel's sender).
pub struct Callback<T: Send + Sync> {
    /// The function, called in the timer's interrupt with the data.
    pub call: fn(data: &T),
    /// The data passed to `call`.
    pub data: T,
}

impl<T: Send + Sync + fmt::Debug> fmt::Debug for Callback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback").field("data", &self.data).finish_non_exhaustive()
    }
}

/// A boxed callback: the handler the timer's user data points to, then the callback.
#[cfg(not(feature = "no-kio"))]
#[repr(C)]
struct CallbackCell<T: Send + Sync> {
    handler: Handler,
    callback: Callback<T>,
}

/// Runs a [`CallbackCell<T>`]'s callback.
///
/// # Safety
/// `h` is the `handler` field of a live `CallbackCell<T>` (the one `start_callback` made).
#[cfg(not(feature = "no-kio"))]
unsafe fn run_callback<T: Send + Sync>(h: *const Handler) {
    // SAFETY: caller contract (repr(C), `handler` first); shared access only (`T: Sync`).
    let cell = unsafe { &*(h as *const CallbackCell<T>) };
    (cell.callback.call)(&cell.callback.data)
}

/// A running timer that calls a [`Callback`] at each expiry: what
/// [`StoppedTimer::start_callback`] returns, pinned in a box as upstream has it.
///
/// Dropping it, or [`stop`](Self::stop), stops the timer, then drops the callback's data.
#[cfg(not(feature = "no-kio"))]
pub struct CallbackTimer<T: Send + Sync> {
    /// `None` once stopped.
    timer: Option<TimerRef>,
    /// The boxed callback the timer's user data points to; `None` once freed (or leaked).
    cell: Option<NonNull<CallbackCell<T>>>,
}

// SAFETY: the timer handle is `Send`; the callback cell is a `Box<CallbackCell<T>>` that this
// owns, whose data may be dropped on another thread (`T: Send`) and is shared with the timer
// interrupt (`T: Sync`).
#[cfg(not(feature = "no-kio"))]
unsafe impl<T: Send + Sync> Send for CallbackTimer<T> {}
// SAFETY: `&CallbackTimer` only reads the data (`T: Sync`) and the timer through kernel calls.
#[cfg(not(feature = "no-kio"))]
unsafe impl<T: Send + Sync> Sync for CallbackTimer<T> {}

#[cfg(not(feature = "no-kio"))]
impl<T: Send + Sync> CallbackTimer<T> {
    /// The callback's data.
    pub fn data(&self) -> &T {
        let cell = self.cell.expect("a running CallbackTimer has its callback");
        // SAFETY: the cell lives until `shut` (which needs `&mut self`); shared access only.
        unsafe { &cell.as_ref().callback.data }
    }

    /// Time until the next expiry (`k_timer_remaining_ticks`); zero when none is pending.
    pub fn remaining(&self) -> Duration {
        let timer = self.timer.expect("a running CallbackTimer has its timer");
        // SAFETY: a valid, never-moving k_timer.
        let ticks = unsafe { k_timer_remaining_ticks(timer.raw()) };
        Duration::from_ticks(ticks.max(0) as u64)
    }

    /// Stops the timer (`k_timer_stop`), drops the callback and its data, and returns the
    /// stopped handle (upstream's method; here it takes the pinned box `start_callback`
    /// returned).
    pub fn stop(self: Pin<Box<Self>>) -> StoppedTimer {
        let mut this = Pin::into_inner(self);
        let timer = this.shut().expect("a running CallbackTimer has its timer");
        StoppedTimer { timer }
    }

    /// Stops the timer, then frees the callback (leaks it in an ISR: see the module docs).
    fn shut(&mut self) -> Option<TimerRef> {
        let timer = self.timer.take()?;
        timer.stop();
        if let Some(cell) = self.cell.take() {
            if !crate::thread::is_in_isr() {
                // SAFETY: from `Box::leak` in `start_callback`, owned by this timer alone; the
                // timer is stopped and, in a thread, no expiry is in progress.
                drop(unsafe { Box::from_raw(cell.as_ptr()) });
            }
        }
        Some(timer)
    }
}

#[cfg(not(feature = "no-kio"))]
impl<T: Send + Sync> Drop for CallbackTimer<T> {
    fn drop(&mut self) {
        if let Some(timer) = self.shut() {
            timer.release();
        }
    }
}

#[cfg(not(feature = "no-kio"))]
impl<T: Send + Sync> fmt::Debug for CallbackTimer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTimer").field("remaining", &self.remaining()).finish()
    }
}
