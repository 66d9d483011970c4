//! Thread pools behind `#[zephyr::thread]`: a fixed set of [`Thread`]s and stacks per function,
//! [`ReadyThread`] (created, not started) and [`RunningThread`] (started, joinable).
//!
//! A call of a `#[zephyr::thread]` function takes the first free slot of its pool, creates the
//! thread there with `K_FOREVER` (priority 0, named after the function) and returns a
//! [`ReadyThread`]; [`ReadyThread::start`] starts it. A slot is free when it was never used or
//! its last thread has ended (`k_thread_join(K_NO_WAIT)`, as upstream zephyr-lang-rust checks),
//! so a pool of `pool_size` threads serves any number of calls as long as no more than
//! `pool_size` threads are alive at once; one more is a panic naming the function.
//!
//! ```text
//!   free ──f(args)──▶ ReadyThread ──start()──▶ RunningThread ──(thread returns)──▶ free
//!                         │                                          ▲
//!                         └──────────── drop (k_thread_abort) ───────┘
//! ```
//!
//! The arguments travel inline in the slot's [`Thread`] (its closure buffer is exactly their
//! size), so a pool needs no allocator. Each slot is a `static` `Thread`, so everything in
//! [`Thread`]'s module docs holds: the `k_thread` never moves, and it is re-created only once
//! its previous thread is dead.

use core::ffi::c_int;
use core::fmt;
use core::mem::{align_of, size_of};
use core::sync::atomic::Ordering;

use zephyr_sys::{k_thread_abort, k_thread_join, k_thread_priority_set, k_thread_start};

use super::{
    assert_thread_context, check_priority, is_in_isr, SpawnOptions, Thread, ThreadId, ThreadStack,
    CLOSURE_ALIGN, HIGHEST_PRIORITY, LOWEST_APPLICATION_PRIORITY,
};
use crate::error::{to_result_void, Result};
use crate::time::{Forever, Timeout};

/// The threads and stacks of one `#[zephyr::thread]` function: `N` slots, each a [`Thread`]
/// whose closure holds at most `CAP` bytes (the arguments) and a stack of `STACK` bytes.
///
/// The `#[zephyr::thread]` attribute declares one in a `static` inside the function it
/// generates; code does not name this type otherwise.
pub struct ThreadPool<const CAP: usize, const STACK: usize, const N: usize> {
    threads: [Thread<CAP>; N],
    stacks: [ThreadStack<STACK>; N],
}

impl<const CAP: usize, const STACK: usize, const N: usize> ThreadPool<CAP, STACK, N> {
    /// A pool whose threads were never used.
    pub const fn new() -> Self {
        ThreadPool {
            threads: [const { Thread::new() }; N],
            stacks: [const { ThreadStack::new() }; N],
        }
    }

    /// Creates a thread named `name` running `f` in the first free slot, at priority 0, not
    /// started.
    ///
    /// # Panics
    /// If every slot's thread is still alive (or being created by another caller), naming
    /// `name` and the pool size; in an interrupt handler.
    pub fn spawn<F>(&'static self, name: &'static str, f: F) -> ReadyThread
    where
        F: FnOnce() + Send + 'static,
    {
        const {
            assert!(
                size_of::<F>() <= CAP,
                "ThreadPool::spawn: the arguments are larger than the pool's capacity"
            );
            assert!(align_of::<F>() <= CLOSURE_ALIGN, "ThreadPool::spawn: arguments over-aligned");
        }
        assert_thread_context(name);
        let options = SpawnOptions::new(0, Some(name.as_bytes()))
            .unwrap_or_else(|_| panic!("{name}: a thread name must not hold a NUL byte"));
        for (thread, stack) in self.threads.iter().zip(&self.stacks) {
            let Ok(spawn) = thread.begin_spawn() else { continue };
            spawn.bind_stack(stack).expect("a pool's stack serves only its own slot");
            let spawned =
                spawn.create(stack.stack.as_ptr(), stack.stack.size(), &options, false, f);
            return ReadyThread { id: spawned.id, slot: thread, generation: spawned.generation };
        }
        panic!(
            "{name}: all {N} threads of its #[zephyr::thread] pool are in use (pool_size = {N}); \
             let one end (join it) before calling again, or raise pool_size"
        )
    }
}

impl<const CAP: usize, const STACK: usize, const N: usize> Default for ThreadPool<CAP, STACK, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`ReadyThread`] or [`RunningThread`] needs of its slot, whatever its capacity.
trait Slot: Sync {
    /// How many times the slot's `k_thread` has been created.
    fn generation(&self) -> u32;
    /// Frees the slot of a created, never started thread: aborts it and drops its closure.
    fn discard(&'static self, id: ThreadId);
}

impl<const CAP: usize> Slot for Thread<CAP> {
    fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    fn discard(&'static self, id: ThreadId) {
        // SAFETY: a thread of this slot, created (never moves: `&'static`) and not started; an
        // abort makes it dead, which frees the slot.
        unsafe { k_thread_abort(id.as_raw()) };
        if !is_in_isr() {
            // The closure (the arguments) would otherwise wait for the slot's next use. If
            // another caller claimed the slot first, its `create` drops it.
            if let Ok(spawn) = self.begin_spawn() {
                spawn.drop_pending();
            }
        }
    }
}

/// A thread created by a `#[zephyr::thread]` function, not started yet: set its priority, then
/// [`start`](Self::start) it.
///
/// Dropping it without starting aborts the thread (its arguments are dropped), freeing its
/// slot of the pool.
#[must_use = "the thread runs only once started"]
pub struct ReadyThread {
    id: ThreadId,
    slot: &'static dyn Slot,
    generation: u32,
}

impl ReadyThread {
    /// Changes the priority the thread will start at (0 unless changed): lower is more urgent,
    /// negative is cooperative (see [`super`]).
    ///
    /// # Panics
    /// If `priority` is outside [`HIGHEST_PRIORITY`] ..= [`LOWEST_APPLICATION_PRIORITY`].
    pub fn set_priority(&self, priority: c_int) {
        if check_priority(priority).is_err() {
            panic!(
                "ReadyThread::set_priority: invalid priority {priority} (valid: \
                 {HIGHEST_PRIORITY} to {LOWEST_APPLICATION_PRIORITY})"
            );
        }
        // SAFETY: a created thread of a 'static slot, and a valid priority.
        unsafe { k_thread_priority_set(self.id.as_raw(), priority) };
    }

    /// The thread's id.
    pub fn id(&self) -> ThreadId {
        self.id
    }

    /// Starts the thread (`k_thread_start`); it runs at once if more urgent than the caller.
    pub fn start(self) -> RunningThread {
        let running = RunningThread { id: self.id, slot: self.slot, generation: self.generation };
        core::mem::forget(self);
        // SAFETY: created with K_FOREVER and not started (a `ReadyThread` exists once per
        // creation, and `start` consumes it).
        unsafe { k_thread_start(running.id.as_raw()) };
        running
    }
}

impl Drop for ReadyThread {
    fn drop(&mut self) {
        self.slot.discard(self.id);
    }
}

impl fmt::Debug for ReadyThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyThread").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A started thread of a `#[zephyr::thread]` pool, to wait for.
pub struct RunningThread {
    id: ThreadId,
    slot: &'static dyn Slot,
    generation: u32,
}

impl RunningThread {
    /// Waits for the thread to return (`k_thread_join(K_FOREVER)`); at once if it has.
    ///
    /// # Panics
    /// When called by the thread itself (it would wait forever), or in an interrupt handler.
    pub fn join(&self) {
        if let Err(e) = self.join_timeout(Forever) {
            panic!("RunningThread::join: {e:?} (a thread cannot join itself)");
        }
    }

    /// Waits up to `timeout` for the thread to return (`k_thread_join`).
    ///
    /// # Errors
    /// * [`Error::EBUSY`](crate::Error::EBUSY): still running, with
    ///   [`NoWait`](crate::time::NoWait).
    /// * [`Error::EAGAIN`](crate::Error::EAGAIN): the timeout expired.
    /// * [`Error::EDEADLK`](crate::Error::EDEADLK): the caller is that thread.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn join_timeout<T: Into<Timeout>>(&self, timeout: T) -> Result<()> {
        let timeout: Timeout = timeout.into();
        assert_thread_context("RunningThread::join");
        if self.slot.generation() != self.generation {
            // The slot made a newer thread, which it only does once this one has ended.
            return Ok(());
        }
        // SAFETY: a created thread of a 'static slot, in thread context. Should the thread end
        // and its slot serve a new call between the check above and this call, the join waits
        // for that newer thread too: later than needed, never wrong memory.
        to_result_void(unsafe { k_thread_join(self.id.as_raw(), timeout.0) })
    }

    /// The thread's id.
    pub fn id(&self) -> ThreadId {
        self.id
    }
}

impl fmt::Debug for RunningThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningThread").field("id", &self.id).finish_non_exhaustive()
    }
}
