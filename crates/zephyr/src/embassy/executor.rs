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
//!
//! # One run at a time
//!
//! A run lasts from `run`/`run_until` until `run_until` returns. The executor records the
//! thread that runs it, both in itself and in this boot's record (per simulation on the
//! simulator, as `BootStatic`s are), so a second run while one lasts is a panic naming the
//! misuse instead of two threads polling one executor: from another thread (naming it), from
//! inside the run itself, or in another simulation (a `static Executor` that a simulation on
//! another host thread runs, or one whose run an ended simulation left behind).

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU8, Ordering};

use embassy_executor::{raw, SendSpawner, Spawner};
use zephyr_sys::{
    k_current_get, k_sem, k_sem_give, k_sem_take, k_thread, zr_k_thread_priority, K_FOREVER,
};

use super::park::{Flags, Park, Pend};
use crate::object::KObj;
use crate::thread::ThreadId;

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
    /// The thread running the executor (null when no run lasts), to tell whether a wake may
    /// preempt the waking thread, and to keep simulations from sharing a run.
    thread: AtomicPtr<k_thread>,
}

impl Signal {
    /// Makes the executor poll soon; callable from any thread or ISR, and from inside `poll`.
    ///
    /// With `executor-interrupt` only the flag check is inline (it is all a pend costs while
    /// the executor runs): the pender's extra test for interrupt lines made it too big for LTO
    /// to inline it into embassy-executor's wake and spawn paths, which cost ~19 instructions
    /// per `cs` round trip on qemu_cortex_m3; with the give out of line it is inlined again.
    #[inline(always)]
    fn pend(&self) {
        if self.flags.pend() == Pend::Give {
            self.unpark();
        }
    }

    /// The executor is parked: gives its semaphore, and notes the wake for the end of the
    /// caller's critical section.
    #[cfg_attr(feature = "executor-interrupt", inline(never))]
    #[cfg_attr(not(feature = "executor-interrupt"), inline(always))]
    fn unpark(&self) {
        // SAFETY: the semaphore is statically initialised and never moves (checked by KObj);
        // k_sem_give is ISR-safe.
        unsafe { k_sem_give(self.sem.get()) };
        // Inside a critical section the give cannot switch yet: its end will, when the
        // executor's thread is one that would preempt the caller.
        // SAFETY: k_is_in_isr has no preconditions.
        if self.may_preempt_caller() && !unsafe { zephyr_sys::k_is_in_isr() } {
            crate::critical::note_wake();
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
            let caller = zr_k_thread_priority(zephyr_sys::zr_current_thread());
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
    #[cfg(feature = "executor-interrupt")]
    if super::interrupt::pend_if_irq(context) {
        return;
    }
    // SAFETY: every other raw executor in a program with `executor-zephyr` is created by
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
    /// The thread running the executor as this boot sees it, on real Zephyr (on the simulator
    /// each simulation has its own record: [`Executor::boot_runner`]).
    runner: AtomicPtr<k_thread>,
    _not_send: PhantomData<*mut ()>,
}

// SAFETY: the raw executor is created once (under a critical section) and then only used
// through `&'static` methods that embassy-executor allows from any thread (spawning with a
// SendSpawner); `poll` runs only on the one thread that holds the run (`start_run`).
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
            runner: AtomicPtr::new(core::ptr::null_mut()),
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
    /// In an ISR (the executor blocks its thread); while the executor already runs (see
    /// [`run_until`](Self::run_until)).
    pub fn run(&'static self, init: impl FnOnce(Spawner)) -> ! {
        self.run_until(init, || false);
        unreachable!("run_until with a `done` that is never true returned")
    }

    /// Runs the executor until `done` returns true; `done` is checked after each poll (so a
    /// task that makes it true must also have been polled). Lets tests end a run. Once it has
    /// returned, the executor may run again, on this thread or another.
    ///
    /// # Panics
    /// In an ISR (the executor blocks its thread). While the executor already runs: on another
    /// thread, on this one (called from inside its own run: a task, `init` or `done`), or in
    /// another simulation on the simulator (a `static` executor that a simulation on another
    /// host thread runs, or whose run an ended simulation left behind). One executor runs on
    /// one thread at a time.
    pub fn run_until(&'static self, init: impl FnOnce(Spawner), mut done: impl FnMut() -> bool) {
        crate::thread::assert_thread_context(
            "Executor::run: an executor runs on a thread it parks when idle (an ISR cannot \
             block)",
        );
        let _run = self.start_run();
        let raw = self.raw();
        init(raw.spawner());
        loop {
            self.signal.flags.clear();
            // Only this thread writes the count: no read-modify-write needed.
            self.polls.store(self.polls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
            // SAFETY: poll runs only here, on the thread that holds the run (`start_run`), never
            // re-entrantly (the pender never polls; a nested run panics in `start_run`).
            unsafe { raw.poll() };
            if done() {
                return;
            }
            self.signal.park();
        }
    }

    /// Makes the calling thread the one running this executor, until the returned guard is
    /// dropped (when `run_until` returns or unwinds).
    ///
    /// Two records, taken in this order and given back in the reverse: this boot's
    /// ([`boot_runner`](Self::boot_runner)), which tells a run on another thread of this
    /// simulation from one in another simulation, and the executor's own (`Signal::thread`),
    /// which every simulation sees. Whoever holds the second holds the first in its boot, so
    /// on real Zephyr (one boot) the second exchange never fails.
    fn start_run(&'static self) -> Run {
        // SAFETY: k_current_get has no preconditions.
        let me = unsafe { k_current_get() };
        let null = core::ptr::null_mut();
        let runner = self.boot_runner();
        if let Err(other) = runner.compare_exchange(null, me, Ordering::AcqRel, Ordering::Acquire) {
            runs_already(other, me);
        }
        let thread = &self.signal.thread;
        if thread.compare_exchange(null, me, Ordering::AcqRel, Ordering::Acquire).is_err() {
            runner.store(null, Ordering::Release);
            panic!(
                "Executor::run: this executor already runs in another simulation (one running \
                 now on another host thread, or one that ended while its thread ran the \
                 executor: a run lasts until run_until returns). An executor and its tasks \
                 belong to one simulation at a time; give each simulation its own (a leaked \
                 Box, or a StaticCell per run)"
            );
        }
        Run { runner, thread }
    }

    /// This boot's record of the thread running the executor: on the simulator, this
    /// simulation's own (null at first in each); on real Zephyr, [`Executor::runner`].
    fn boot_runner(&'static self) -> &'static AtomicPtr<k_thread> {
        let key = &self.runner as *const AtomicPtr<k_thread> as *const c_void;
        // SAFETY: the alignment of a type is a power of two.
        let p = unsafe {
            zephyr_sys::zsim_boot_static(
                key,
                core::mem::size_of::<AtomicPtr<k_thread>>(),
                core::mem::align_of::<AtomicPtr<k_thread>>(),
            )
        };
        if p.is_null() {
            &self.runner
        } else {
            // SAFETY: zeroed per-simulation memory is a valid null AtomicPtr, alive for the
            // whole simulation, which outlasts every run in it (a run ends before its thread,
            // or is discarded with the simulation).
            unsafe { &*(p as *const AtomicPtr<k_thread>) }
        }
    }
}

/// A run of an executor, from `start_run` to the end of `run_until`: dropping it lets the
/// executor run again.
struct Run {
    runner: &'static AtomicPtr<k_thread>,
    thread: &'static AtomicPtr<k_thread>,
}

impl Drop for Run {
    fn drop(&mut self) {
        // The reverse of `start_run`'s order (see there).
        self.thread.store(core::ptr::null_mut(), Ordering::Release);
        self.runner.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The panic for a run started while `other`, a thread of this boot, runs the executor.
#[cold]
fn runs_already(other: *mut k_thread, me: *mut k_thread) -> ! {
    if other == me {
        panic!(
            "Executor::run: this executor already runs on this thread (run or run_until called \
             from inside its own run: from a task, `init` or `done`)"
        );
    }
    // SAFETY: `other` is a thread of this boot that started a run which has not returned, so
    // its thread object is alive (a thread cannot exit inside run_until).
    let other = unsafe { ThreadId::from_raw(other) }.expect("a running thread is not null");
    panic!(
        "Executor::run: this executor already runs on thread '{}' ({other:?}); an executor runs \
         on one thread at a time: give each thread its own, and spawn across them with a \
         SendSpawner",
        other.name().as_str()
    );
}
