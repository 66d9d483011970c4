//! `executor-zephyr`: Embassy tasks on a Zephyr thread that parks in the kernel when idle.
//!
//! # How it parks and wakes
//!
//! The executor keeps two bits, `PENDED` (a task became ready) and `PARKED` (the thread is, or
//! is about to be, blocked), and a binary semaphore (`k_sem`, limit 1). The flag protocol is
//! in `park.rs` (`Flags`, drawn there), which decides and makes no kernel call; this module
//! makes the calls it decides on:
//!
//! ```text
//!   run loop (executor thread)                 pender (any thread, any ISR, inside poll)
//!   ───────────────────────────                ──────────────────────────────────────────
//!   Flags::clear                               Flags::pend() == Pend::Give:
//!   poll every ready task                          k_sem_give(sem)
//!   Flags::park() == Park::Take:                   (noted for the critical-section release)
//!       k_sem_take(sem, K_FOREVER)
//! ```
//!
//! No wake-up is lost: a pend during `poll` leaves `PENDED` set, so the park does not block
//! and the loop polls again; a pend after the park's decision sees `PARKED` and gives the
//! semaphore, and a semaphore *remembers* a give that arrives before the take (the count goes
//! to 1), so the take returns at once. A design that parks with `k_thread_suspend` and wakes
//! with `k_thread_resume` loses that wake-up: Zephyr does not remember a resume of a thread
//! that is not suspended yet (`kernel/sched.c`), which is the race Zephyr's Rust executor once
//! had. Exactly one pender per park gives, so the count never exceeds 1.
//! `tests/loom_executor.rs` model-checks these claims with loom over the interleavings of
//! penders and the run loop (and shows the suspend/resume design losing a wake-up).
//!
//! A pend while the executor runs (not `PARKED`) is an atomic load, plus one `fetch_or` for
//! the first pend of a poll round: no kernel call. A give from thread context is noted for the
//! critical-section release ([`crate::critical`] explains why: a wake inside a critical section
//! cannot switch threads until the section ends).

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU8, Ordering};

use embassy_executor::{raw, SendSpawner, Spawner};
use zephyr_sys::{
    k_current_get, k_sem, k_sem_give, k_sem_take, k_thread, zr_k_thread_priority, K_FOREVER,
};

use super::park::{Flags, Park, Pend};
use crate::object::KObj;

/// Compile-time guard: embassy-executor's platform executors define `Executor` or
/// `InterruptExecutor` and the `__pender` symbol, which this executor defines too. With such a
/// feature on, the names below are ambiguous and the error shows these lines.
#[allow(dead_code, unused_imports)]
#[deny(ambiguous_glob_imports)]
mod platform_conflict {
    mod executor_zephyr_cannot_be_combined_with_an_embassy_executor_platform_executor {
        pub struct Executor;
        pub struct InterruptExecutor;
    }
    use embassy_executor::*;
    use executor_zephyr_cannot_be_combined_with_an_embassy_executor_platform_executor::*;
    type ExecutorZephyrConflictsWithEmbassyExecutorThread = Executor;
    type ExecutorZephyrConflictsWithEmbassyExecutorInterrupt = InterruptExecutor;
}

/// The executor's wake-up state; the pender's context points here.
struct Signal {
    flags: Flags,
    sem: KObj<k_sem>,
    /// The thread running the executor (null until `run`), to tell whether a wake may preempt
    /// the waking thread.
    thread: AtomicPtr<k_thread>,
}

impl Signal {
    /// Makes the executor poll soon; callable from any thread or ISR, and from inside `poll`.
    fn pend(&self) {
        if self.flags.pend() == Pend::Give {
            // SAFETY: the semaphore is statically initialised and never moves (checked by
            // KObj); k_sem_give is ISR-safe.
            unsafe { k_sem_give(self.sem.get()) };
            // Inside a critical section the give cannot switch yet: its end will, when the
            // executor's thread is one that would preempt the caller.
            // SAFETY: k_is_in_isr has no preconditions.
            if self.may_preempt_caller() && !unsafe { zephyr_sys::k_is_in_isr() } {
                crate::critical::note_wake();
            }
        }
    }

    /// Whether the executor's thread, just readied by the calling thread, would preempt it:
    /// more urgent, and the caller preemptible (Zephyr's rule in `z_reschedule`). If not, the
    /// reschedule point at the end of the caller's critical section would not switch, and is
    /// skipped (it costs more than these two priority reads).
    fn may_preempt_caller(&self) -> bool {
        let executor = self.thread.load(Ordering::Relaxed);
        if executor.is_null() {
            return true;
        }
        // SAFETY: both are live threads (the executor's thread is blocked in, or running,
        // `run`; the caller is running); reading a priority has no other precondition.
        unsafe {
            let caller = zr_k_thread_priority(k_current_get());
            caller >= 0 && zr_k_thread_priority(executor) < caller
        }
    }

    /// Blocks the executor thread unless a pend arrived since the flags were cleared.
    fn park(&self) {
        if self.flags.park() == Park::Take {
            // SAFETY: as in `pend`; K_FOREVER cannot time out. A give that raced ahead of this
            // take left the count at 1, so the take returns at once.
            unsafe { k_sem_take(self.sem.get(), K_FOREVER) };
        }
    }
}

#[export_name = "__pender"]
fn __pender(context: *mut ()) {
    // SAFETY: every raw executor in a program with `executor-zephyr` is created by
    // `Executor::raw` with a pointer to its `Signal`, which lives as long as the executor
    // (`'static`).
    let signal = unsafe { &*(context as *const Signal) };
    signal.pend();
}

/// An Embassy executor that runs on the calling Zephyr thread and blocks it in the kernel when
/// no task is ready.
///
/// ```no_run
/// use static_cell::StaticCell;
/// use zephyr::embassy::Executor;
///
/// #[embassy_executor::task]
/// async fn blink() { /* ... */ }
///
/// static EXECUTOR: StaticCell<Executor> = StaticCell::new();
///
/// fn thread_body() -> ! {
///     let executor: &'static Executor = EXECUTOR.init(Executor::new());
///     executor.run(|spawner| spawner.spawn(blink().unwrap()))
/// }
/// ```
///
/// Run one per thread; for tasks at several priorities, run executors on threads of those
/// priorities and spawn across them with [`Executor::send_spawner`]. A more urgent executor's
/// thread preempts a less urgent one's like any Zephyr thread.
pub struct Executor {
    raw: UnsafeCell<MaybeUninit<raw::Executor>>,
    ready: AtomicBool,
    signal: Signal,
    polls: AtomicU32,
    _not_send: PhantomData<*mut ()>,
}

// SAFETY: the raw executor is created once (under a critical section) and then only used
// through `&'static` methods that embassy-executor allows from any thread (spawning with a
// SendSpawner); `poll` runs only on the thread in `run`.
unsafe impl Sync for Executor {}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    /// A new executor; it starts when [`run`](Self::run) is called on a `'static` reference.
    pub const fn new() -> Self {
        Self {
            raw: UnsafeCell::new(MaybeUninit::uninit()),
            ready: AtomicBool::new(false),
            signal: Signal {
                flags: Flags::new(AtomicU8::new(0)),
                sem: KObj::sem(0, 1),
                thread: AtomicPtr::new(core::ptr::null_mut()),
            },
            polls: AtomicU32::new(0),
            _not_send: PhantomData,
        }
    }

    /// The raw executor, created at its final address on first use.
    fn raw(&'static self) -> &'static raw::Executor {
        if !self.ready.load(Ordering::Acquire) {
            critical_section::with(|_| {
                if !self.ready.load(Ordering::Relaxed) {
                    let context = &self.signal as *const Signal as *mut ();
                    // SAFETY: not yet initialised; the critical section excludes other
                    // initialisers.
                    unsafe { (*self.raw.get()).write(raw::Executor::new(context)) };
                    self.ready.store(true, Ordering::Release);
                }
            });
        }
        // SAFETY: initialised above, never written again.
        unsafe { (*self.raw.get()).assume_init_ref() }
    }

    /// A spawner for this executor, to use on its own thread.
    pub fn spawner(&'static self) -> Spawner {
        self.raw().spawner()
    }

    /// A spawner that other threads (and other executors' tasks) can use to spawn `Send`
    /// tasks on this executor.
    pub fn send_spawner(&'static self) -> SendSpawner {
        self.raw().spawner().make_send()
    }

    /// How many times this executor has polled its ready tasks, wrapping at `u32::MAX` (for
    /// tests and diagnostics).
    pub fn poll_count(&self) -> u32 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Runs the executor on the calling thread, forever: `init` spawns the first tasks.
    ///
    /// # Panics
    /// In an ISR (the executor blocks its thread).
    pub fn run(&'static self, init: impl FnOnce(Spawner)) -> ! {
        self.run_until(init, || false);
        unreachable!("run_until with a `done` that is never true returned")
    }

    /// Runs the executor until `done` returns true; `done` is checked after each poll (so a
    /// task that makes it true must also have been polled). Lets tests end a run.
    ///
    /// # Panics
    /// In an ISR (the executor blocks its thread).
    pub fn run_until(&'static self, init: impl FnOnce(Spawner), mut done: impl FnMut() -> bool) {
        crate::thread::assert_thread_context(
            "Executor::run: an executor runs on a thread it parks when idle (an ISR cannot \
             block)",
        );
        let raw = self.raw();
        // SAFETY: k_current_get has no preconditions.
        self.signal.thread.store(unsafe { k_current_get() }, Ordering::Relaxed);
        init(raw.spawner());
        loop {
            self.signal.flags.clear();
            // Only this thread writes the count: no read-modify-write needed.
            self.polls.store(self.polls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
            // SAFETY: poll runs only here, on the executor's thread, never re-entrantly (the
            // pender never polls).
            unsafe { raw.poll() };
            if done() {
                return;
            }
            self.signal.park();
        }
    }
}
