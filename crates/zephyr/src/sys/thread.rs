//! Threads in upstream zephyr-lang-rust's `sys::thread` shape: [`StaticThread`] and
//! [`ThreadStack`] from `kobj_define!`, and the [`Thread`] that `init_once` returns, to set up
//! and [`spawn`](Thread::spawn).
//!
//! ```no_run
//! # use zephyr_sim as _;
//! zephyr::kobj_define! {
//!     static WORKER: StaticThread;
//!     static WORKER_STACK: ThreadStack<2048>;
//! }
//!
//! let mut thread = WORKER.init_once(WORKER_STACK.init_once(()).unwrap()).unwrap();
//! thread.set_priority(5);
//! thread.set_name(c"worker");
//! let count = 3;
//! thread.spawn(move || {
//!     for i in 0..count {
//!         zephyr::printkln!("tick {i}");
//!     }
//! });
//! ```
//!
//! This is a thin front on [`crate::thread`](mod@crate::thread): a [`StaticThread`] holds a
//! [`crate::thread::Thread`] (so the `k_thread` lives in the `static` and never moves), and
//! [`Thread::spawn`] runs the closure through it. The closure is stored inline when it is at
//! most [`DEFAULT_CLOSURE_CAPACITY`] bytes (upstream boxes every closure); a bigger one is
//! boxed, which needs the global allocator, so with the `no-kio` feature (no allocator assumed)
//! it is a compile-time error instead.
//!
//! Each `static` hands out its object once per boot (per simulation on the simulator):
//! `init_once` returns `None` the second time.

use core::ffi::{c_int, CStr};
use core::fmt;
use core::mem::{align_of, size_of};
use core::sync::atomic::AtomicBool;

use zephyr_sys::k_thread_stack_t;

use crate::thread::{
    assert_thread_context, SpawnOptions, CLOSURE_ALIGN, DEFAULT_CLOSURE_CAPACITY, HIGHEST_PRIORITY,
    LOWEST_APPLICATION_PRIORITY,
};

#[cfg(not(feature = "no-kio"))]
extern crate alloc;

/// A thread stack claimed for good by one user: what `init_once(())` on a `kobj_define!`
/// `ThreadStack<N>` static returns (upstream's `zephyr::sys::thread::ThreadStack`).
///
/// It is only a handle (base and size); the memory is the `static`'s, so it never moves.
#[derive(Debug)]
pub struct ThreadStack {
    base: *mut k_thread_stack_t,
    size: usize,
}

// SAFETY: the handle names 'static stack memory that only its one holder uses; moving the
// handle between threads moves that right with it.
unsafe impl Send for ThreadStack {}

impl ThreadStack {
    /// A handle to stack memory at `base`, `size` bytes (`K_THREAD_STACK_SIZEOF`).
    ///
    /// # Safety
    /// `base` is a 'static thread stack of `size` usable bytes that nothing else uses, now or
    /// later (the handle is its one claim).
    pub(crate) unsafe fn from_raw(base: *mut k_thread_stack_t, size: usize) -> Self {
        ThreadStack { base, size }
    }

    /// The stack memory, for `k_thread_create` or `k_work_queue_start`.
    pub fn base(&self) -> *mut k_thread_stack_t {
        self.base
    }

    /// The stack size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// A thread object for a `static`, as `kobj_define!` declares `static NAME: StaticThread;`:
/// [`init_once`](Self::init_once) pairs it with a stack and returns the [`Thread`] to spawn.
pub struct StaticThread {
    thread: crate::thread::Thread,
    /// `init_once` has run in this boot (per simulation on the simulator).
    claimed: AtomicBool,
}

impl StaticThread {
    /// A thread object, never used (what `kobj_define!` puts in the `static`).
    pub const fn new() -> Self {
        StaticThread { thread: crate::thread::Thread::new(), claimed: AtomicBool::new(false) }
    }

    /// The thread, to run on `stack`: `Some` the first time in a boot, `None` after.
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// zephyr::kobj_define! {
    ///     static THREAD: StaticThread;
    ///     static STACK: ThreadStack<1024>;
    /// }
    /// let thread = THREAD.init_once(STACK.init_once(()).unwrap()).unwrap();
    /// thread.spawn(|| zephyr::printkln!("hello"));
    /// ```
    pub fn init_once(&'static self, stack: ThreadStack) -> Option<Thread> {
        if !crate::object::claim_once(&self.claimed) {
            return None;
        }
        Some(Thread { thread: &self.thread, stack, priority: 0, options: 0, name: None })
    }
}

impl Default for StaticThread {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticThread").finish_non_exhaustive()
    }
}

/// A thread ready to be set up and spawned once: what [`StaticThread::init_once`] returns.
///
/// Priority 0, no options and no name unless set.
pub struct Thread {
    thread: &'static crate::thread::Thread,
    stack: ThreadStack,
    priority: c_int,
    options: u32,
    name: Option<&'static CStr>,
}

impl Thread {
    /// Sets the priority the thread is created at (lower is more urgent; negative is
    /// cooperative; see [`crate::thread`](mod@crate::thread)).
    pub fn set_priority(&mut self, priority: c_int) {
        self.priority = priority;
    }

    /// Sets `k_thread_create`'s options (`K_ESSENTIAL`, `K_FP_REGS`, ...).
    pub fn set_options(&mut self, options: u32) {
        self.options = options;
    }

    /// Names the thread (truncated to `CONFIG_THREAD_MAX_NAME_LEN - 1` bytes; no effect
    /// without `CONFIG_THREAD_NAME`).
    pub fn set_name(&mut self, name: &'static CStr) {
        self.name = Some(name);
    }

    /// Creates the thread and starts it at once, running `child` (`k_thread_create` with
    /// `K_NO_WAIT`): it runs before `spawn` returns if more urgent than the caller.
    ///
    /// `child` is stored in the `StaticThread` if it takes at most
    /// [`DEFAULT_CLOSURE_CAPACITY`] bytes, and boxed otherwise; with the `no-kio` feature a
    /// bigger closure is a compile-time error.
    ///
    /// # Panics
    /// If the priority is outside [`HIGHEST_PRIORITY`] ..= [`LOWEST_APPLICATION_PRIORITY`]; in
    /// an interrupt handler.
    pub fn spawn<F: FnOnce() + Send + 'static>(self, child: F) {
        assert_thread_context("Thread::spawn");
        let mut options = SpawnOptions::new(self.priority, self.name.map(CStr::to_bytes))
            .unwrap_or_else(|_| {
                panic!(
                    "Thread::spawn: invalid priority {} (valid: {HIGHEST_PRIORITY} to \
                     {LOWEST_APPLICATION_PRIORITY})",
                    self.priority
                )
            });
        options.options = self.options;
        // `init_once` gives this `Thread` out once per boot, and it is spawned once: the
        // object has no live thread, unless another simulation running at the same time uses
        // the same `static`.
        let spawn = self.thread.begin_spawn().unwrap_or_else(|_| {
            panic!("Thread::spawn: the StaticThread's thread is alive (used by two simulations?)")
        });
        // The stack is ours for good (the handle is its one claim): no binding, and a stack
        // this object ran on before (through `crate::thread::Thread::spawn`) is free again.
        spawn.unbind_stack();
        let (base, size) = (self.stack.base(), self.stack.size());
        if size_of::<F>() <= DEFAULT_CLOSURE_CAPACITY && align_of::<F>() <= CLOSURE_ALIGN {
            spawn.create(base, size, &options, true, child);
        } else {
            #[cfg(not(feature = "no-kio"))]
            {
                let child = alloc::boxed::Box::new(child);
                spawn.create(base, size, &options, true, child);
            }
            #[cfg(feature = "no-kio")]
            const {
                assert!(
                    size_of::<F>() <= DEFAULT_CLOSURE_CAPACITY && align_of::<F>() <= CLOSURE_ALIGN,
                    "sys::thread::Thread::spawn: the closure is larger than \
                     DEFAULT_CLOSURE_CAPACITY bytes, and with `no-kio` there is no allocator to \
                     box it: capture less (references to statics), or use \
                     zephyr::thread::Thread<CAP>"
                );
            }
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("priority", &self.priority)
            .field("options", &self.options)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
