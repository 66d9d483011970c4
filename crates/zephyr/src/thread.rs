//! Threads with static stacks: [`Thread`], [`ThreadStack`], [`ThreadId`], priorities, and
//! `#[zephyr::thread]` pools ([`ReadyThread`], [`RunningThread`]).
//!
//! Zephyr threads live in statically allocated objects: a `k_thread` and a stack. Here both are
//! `static`s the application declares, and [`Thread::spawn`] runs a Rust closure on them:
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::thread::{preemptible, Thread, ThreadStack};
//! use zephyr::time::Forever;
//!
//! static WORKER: Thread = Thread::named("worker");
//! static WORKER_STACK: ThreadStack<2048> = ThreadStack::new();
//!
//! let count = 3;
//! let id = WORKER.spawn(&WORKER_STACK, preemptible(5), move || {
//!     for i in 0..count {
//!         zephyr::printkln!("tick {i}");
//!     }
//! })?;
//! WORKER.join(Forever)?;
//! # Ok::<(), zephyr::Error>(())
//! ```
//!
//! # How it stays sound without allocation
//! * **The closure is stored inline** in the [`Thread`] object (up to `CAP` bytes, 64 by
//!   default; a bigger closure is a compile-time error, so capture references to statics rather
//!   than large values). An `extern "C-unwind"` trampoline moves it onto the new thread's stack
//!   and calls it. `F: Send + 'static`, as for `std::thread::spawn`.
//! * **A `Thread` runs one kernel thread at a time.** [`Thread::spawn`] takes `&'static self`
//!   (so the `k_thread` can never move or be freed) and fails with [`Error::EBUSY`] while the
//!   previous thread is alive (checked with `k_thread_join(K_NO_WAIT)`) or another spawn of
//!   the same `Thread` is in progress: re-creating a live `k_thread` would corrupt the kernel.
//!   Once the thread has returned, the `Thread` can be spawned again.
//! * **A stack serves one `Thread`.** A [`ThreadStack`] records which `Thread` uses it;
//!   spawning another `Thread` on it fails with [`Error::EADDRINUSE`] until its user is spawned
//!   on another stack or gives it up with [`Thread::release_stack`] (both only once its thread
//!   has returned). Two live threads never share a stack.
//! * **Re-creation is atomic**: the `k_thread` is re-created with interrupts locked (and not
//!   started until after), so no thread or ISR sees it half-initialised. This assumes one CPU,
//!   as the rest of this crate does.
//!
//! # Priorities
//! Plain `i32`, as in Zephyr: lower is more urgent. Negative priorities are *cooperative* (the
//! thread runs until it blocks or yields), non-negative ones *preemptible* (a more urgent
//! thread that becomes ready takes the CPU at once). [`cooperative`] and [`preemptible`] are
//! `K_PRIO_COOP` and `K_PRIO_PREEMPT`. Valid: [`HIGHEST_PRIORITY`] to
//! [`LOWEST_APPLICATION_PRIORITY`]; others are [`Error::EINVAL`].
//!
//! # Thread ids
//! A [`ThreadId`] is the address of a `k_thread`. Ids of threads made by this module point into
//! `static`s and stay valid; [`ThreadId::current`] assumes the same of every thread (as with
//! `K_THREAD_DEFINE`, and the kernel's own main thread): a thread object must not be freed
//! while ids of it are in use.
//!
//! On the simulator, a `static` [`Thread`] serves each simulation in turn (whether it was
//! created is per simulation), one simulation at a time.
//!
//! # Thread pools: `#[zephyr::thread]`
//! As in upstream zephyr-lang-rust, the attribute turns a function into a thread body with a
//! pool of `pool_size` static threads and stacks: calling it creates a thread with the
//! arguments (not started, priority 0, named after the function) and returns a
//! [`ReadyThread`]; [`ReadyThread::start`] returns a [`RunningThread`] to join. A slot whose
//! thread has ended serves the next call; a call while all are alive panics. The arguments
//! (`Send + 'static`; references must be `&'static`) are stored inline: no allocation.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use core::sync::atomic::{AtomicU32, Ordering};
//!
//! static MEALS: AtomicU32 = AtomicU32::new(0);
//!
//! #[zephyr::thread(stack_size = 2048, pool_size = 3)]
//! fn philosopher(n: u32, meals: &'static AtomicU32) {
//!     meals.fetch_add(n, Ordering::Relaxed);
//! }
//!
//! let first = philosopher(1, &MEALS);
//! first.set_priority(4);
//! let running = [first.start(), philosopher(2, &MEALS).start()];
//! for thread in &running {
//!     thread.join();
//! }
//! assert_eq!(MEALS.load(Ordering::Relaxed), 3);
//! ```
//!
//! # Upstream-shaped static threads
//! `kobj_define!`'s `StaticThread` and `ThreadStack<N>` (see [`crate::sys::thread`]) run on
//! this module's [`Thread`] and [`ThreadStack`]; [`stack_len`] rounds stack sizes as upstream.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_void};
use core::fmt;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use zephyr_sys::{
    k_current_get, k_thread, k_thread_create, k_thread_join, k_thread_name_get, k_thread_name_set,
    k_thread_priority_get, k_thread_priority_set, k_thread_resume, k_thread_start,
    k_thread_suspend, k_tid_t, k_wakeup, k_yield, z_thread_stack, CONFIG_NUM_COOP_PRIORITIES,
    CONFIG_THREAD_MAX_NAME_LEN, K_FOREVER, K_HIGHEST_THREAD_PRIO, K_LOWEST_APPLICATION_THREAD_PRIO,
    K_NO_WAIT,
};

use crate::error::{to_result_void, Error, Result};
use crate::object::KObj;
use crate::sys::irq::IrqLock;
use crate::time::Timeout;

mod pool;

pub use pool::{ReadyThread, RunningThread, ThreadPool};

/// The most urgent priority a thread may have (`K_HIGHEST_THREAD_PRIO`, cooperative).
pub const HIGHEST_PRIORITY: i32 = K_HIGHEST_THREAD_PRIO;
/// The least urgent priority an application thread may have
/// (`K_LOWEST_APPLICATION_THREAD_PRIO`).
pub const LOWEST_APPLICATION_PRIORITY: i32 = K_LOWEST_APPLICATION_THREAD_PRIO;

/// Cooperative priority `n` (`K_PRIO_COOP(n)`): `n = 0` is the most urgent, and every
/// cooperative priority is more urgent than every preemptible one.
pub const fn cooperative(n: i32) -> i32 {
    -(CONFIG_NUM_COOP_PRIORITIES - n)
}

/// Preemptible priority `n` (`K_PRIO_PREEMPT(n)`): `n` itself, 0 being the most urgent.
pub const fn preemptible(n: i32) -> i32 {
    n
}

fn check_priority(prio: i32) -> Result<()> {
    if (HIGHEST_PRIORITY..=LOWEST_APPLICATION_PRIORITY).contains(&prio) {
        Ok(())
    } else {
        Err(Error::EINVAL)
    }
}

/// Whether the caller is an interrupt handler (`k_is_in_isr`).
pub fn is_in_isr() -> bool {
    // SAFETY: a plain query, valid in any context.
    unsafe { zephyr_sys::k_is_in_isr() }
}

/// Panics if called from an interrupt handler: `call` is for threads only.
#[track_caller]
pub(crate) fn assert_thread_context(call: &'static str) {
    if is_in_isr() {
        panic!("{call}: not allowed in an interrupt handler");
    }
}

/// Panics if called from an interrupt handler: `call` would block.
#[track_caller]
pub(crate) fn assert_may_block(call: &'static str) {
    if is_in_isr() {
        panic!("{call}: blocking call from an interrupt handler (only NoWait is allowed there)");
    }
}

/// Moves the calling thread behind the other ready threads of its priority (`k_yield`).
///
/// # Panics
/// In an interrupt handler.
pub fn yield_now() {
    assert_thread_context("yield_now");
    // SAFETY: thread context (checked above).
    unsafe { k_yield() }
}

/// Memory for one thread's stack (`K_THREAD_STACK_DEFINE(name, N)`), for a `static`.
///
/// A stack is used by one [`Thread`] at a time (see the [module docs](self)).
pub struct ThreadStack<const N: usize> {
    stack: z_thread_stack<N>,
    /// The `Thread` that uses this stack, null, or [`HANDED_OUT`] once
    /// [`init_once`](Self::init_once) gave it away.
    owner: AtomicPtr<()>,
    /// `init_once` has run in this boot (per simulation on the simulator).
    handed_out: AtomicBool,
}

/// The owner of a stack that [`ThreadStack::init_once`] handed out: its address marks them.
static HANDED_OUT: u8 = 0;

/// The stack pointer alignment that [`stack_len`] rounds up to (`ARCH_STACK_PTR_ALIGN`; 16 on
/// the simulator).
#[cfg(zephyr_real)]
const STACK_PTR_ALIGN: usize = zephyr_sys::ARCH_STACK_PTR_ALIGN;
#[cfg(not(zephyr_real))]
const STACK_PTR_ALIGN: usize = 16;

/// A stack size rounded up to the stack pointer alignment, as zephyr-lang-rust's `stack_len`:
/// what `kobj_define!`'s `ThreadStack<N>` and `#[zephyr::thread(stack_size = N)]` allocate.
///
/// ```
/// # use zephyr_sim as _;
/// assert_eq!(zephyr::thread::stack_len(1000) % 8, 0);
/// assert!(zephyr::thread::stack_len(1000) >= 1000);
/// ```
pub const fn stack_len(size: usize) -> usize {
    size.next_multiple_of(STACK_PTR_ALIGN)
}

impl<const N: usize> ThreadStack<N> {
    /// Stack memory, not yet used by any thread.
    pub const fn new() -> Self {
        ThreadStack {
            stack: z_thread_stack::new(),
            owner: AtomicPtr::new(ptr::null_mut()),
            handed_out: AtomicBool::new(false),
        }
    }

    /// The stack size in bytes (`K_THREAD_STACK_SIZEOF`).
    pub const fn size(&self) -> usize {
        N
    }

    /// Hands the stack out for good, as upstream's `kobj_define!` stacks do: the handle goes to
    /// [`sys::thread::StaticThread::init_once`](crate::sys::thread::StaticThread::init_once) or
    /// a work queue. `None` on a second call in the same boot, or if a [`Thread`] uses the stack.
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// zephyr::kobj_define! {
    ///     static STACK: ThreadStack<2048>;
    /// }
    /// let stack = STACK.init_once(()).unwrap();
    /// assert!(stack.size() >= 2048);
    /// assert!(STACK.init_once(()).is_none());
    /// ```
    pub fn init_once(&'static self, _args: ()) -> Option<crate::sys::thread::ThreadStack> {
        if !crate::object::claim_once(&self.handed_out) {
            return None;
        }
        let marker = ptr::addr_of!(HANDED_OUT) as *mut ();
        match self.owner.compare_exchange(
            ptr::null_mut(),
            marker,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // Handed out now, or in an earlier boot (another simulation) of the same program.
            Ok(_) => {}
            Err(owner) if owner == marker => {}
            Err(_) => return None,
        }
        // SAFETY: a 'static stack of N bytes, claimed for good above: no `Thread` or work queue
        // binds it any more (their claims need a null owner), and this boot hands it out once.
        Some(unsafe { crate::sys::thread::ThreadStack::from_raw(self.stack.as_ptr(), N) })
    }
}

impl<const N: usize> Default for ThreadStack<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for ThreadStack<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadStack").field("size", &N).finish_non_exhaustive()
    }
}

/// How many bytes a [`Thread`] keeps for its closure by default.
pub const DEFAULT_CLOSURE_CAPACITY: usize = 64;

/// The alignment of a [`Thread`]'s closure storage: closures may not need more.
pub const CLOSURE_ALIGN: usize = 16;

#[repr(C, align(16))]
struct ClosureBuf<const CAP: usize>([MaybeUninit<u8>; CAP]);

/// A thread object (`k_thread`) for a `static`, that runs a closure of up to `CAP` bytes.
///
/// See the [module docs](self) for how spawning stays sound.
pub struct Thread<const CAP: usize = DEFAULT_CLOSURE_CAPACITY> {
    thread: KObj<k_thread>,
    name: Option<&'static str>,
    /// A spawn is in progress: it alone touches the cells below.
    spawning: AtomicBool,
    /// The `k_thread` has been created at least once in this boot (so kernel calls on it are
    /// valid). Reached through [`Thread::created`], which makes it per simulation.
    created: AtomicBool,
    /// How many times the `k_thread` has been created: tells a [`RunningThread`] whether the
    /// thread it stands for has been replaced (so has ended).
    generation: AtomicU32,
    /// The closure of the latest spawn, until its thread takes it.
    closure: UnsafeCell<ClosureBuf<CAP>>,
    /// Drops the closure in `closure`, while it has not been taken.
    pending: UnsafeCell<Option<unsafe fn(*mut u8)>>,
    /// The `owner` field of the stack this `Thread` uses.
    stack_owner: UnsafeCell<Option<&'static AtomicPtr<()>>>,
}

// SAFETY: the cells are touched only (a) by a spawner holding `spawning` while no kernel thread
// runs from this object (the previous one is dead or was never created), or (b) by the thread
// that spawner started, which takes the closure once before running it; the kernel's thread
// start and join order (a) and (b). The closure is `Send`, so it may run on the new thread.
unsafe impl<const CAP: usize> Sync for Thread<CAP> {}

impl<const CAP: usize> Thread<CAP> {
    /// A thread object, never spawned.
    pub const fn new() -> Self {
        Self::with_name(None)
    }

    /// A thread object whose threads are named `name` (truncated to
    /// `CONFIG_THREAD_MAX_NAME_LEN - 1` bytes).
    pub const fn named(name: &'static str) -> Self {
        Self::with_name(Some(name))
    }

    const fn with_name(name: Option<&'static str>) -> Self {
        Thread {
            thread: KObj::new(k_thread::new()),
            name,
            spawning: AtomicBool::new(false),
            created: AtomicBool::new(false),
            generation: AtomicU32::new(0),
            closure: UnsafeCell::new(ClosureBuf([MaybeUninit::uninit(); CAP])),
            pending: UnsafeCell::new(None),
            stack_owner: UnsafeCell::new(None),
        }
    }

    /// Starts a thread running `f` on `stack` at `priority` (`k_thread_create`). It runs at once
    /// if more urgent than the caller.
    ///
    /// `F` may be at most `CAP` bytes with alignment at most [`CLOSURE_ALIGN`]: a bigger one does
    /// not compile.
    ///
    /// ```compile_fail
    /// # use zephyr_sim as _;
    /// use zephyr::thread::{Thread, ThreadStack};
    /// static SMALL: Thread<16> = Thread::new();
    /// static STACK: ThreadStack<1024> = ThreadStack::new();
    /// let big = [0u8; 64];
    /// let _ = SMALL.spawn(&STACK, 5, move || drop(big)); // 64 bytes > 16: error
    /// ```
    ///
    /// # Errors
    /// * [`Error::EBUSY`]: this `Thread`'s previous thread is still alive, or another thread is
    ///   spawning it right now.
    /// * [`Error::EADDRINUSE`]: `stack` belongs to another `Thread`.
    /// * [`Error::EINVAL`]: `priority` is out of range, or the name holds a NUL byte.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn spawn<F, const N: usize>(
        &'static self,
        stack: &'static ThreadStack<N>,
        priority: i32,
        f: F,
    ) -> Result<ThreadId>
    where
        F: FnOnce() + Send + 'static,
    {
        const {
            assert!(
                size_of::<F>() <= CAP,
                "Thread::spawn: the closure is larger than the Thread's capacity (Thread<CAP>)"
            );
            assert!(align_of::<F>() <= CLOSURE_ALIGN, "Thread::spawn: closure over-aligned");
        }
        assert_thread_context("Thread::spawn");
        let options = SpawnOptions::new(priority, self.name.map(str::as_bytes))?;
        let spawn = self.begin_spawn()?;
        spawn.bind_stack(stack)?;
        Ok(spawn.create(stack.stack.as_ptr(), stack.stack.size(), &options, true, f).id)
    }

    /// Claims this `Thread` for a spawn: fails with [`Error::EBUSY`] while another spawn of it
    /// is in progress or its previous thread is alive (`k_thread_join(K_NO_WAIT)`).
    pub(crate) fn begin_spawn(&'static self) -> Result<SpawnGuard<CAP>> {
        if self.spawning.swap(true, Ordering::Acquire) {
            return Err(Error::EBUSY);
        }
        // From here on, dropping the guard ends the claim.
        let guard = SpawnGuard { thread: self };
        if self.created().load(Ordering::Acquire) {
            // SAFETY: the k_thread was created in this boot and never moves (`&'static self`).
            if unsafe { k_thread_join(self.thread.get(), K_NO_WAIT) } != 0 {
                return Err(Error::EBUSY);
            }
        }
        // The previous thread (if any) is dead, and `spawning` excludes other spawners: the cells
        // are the guard's.
        Ok(guard)
    }

    /// Waits for this `Thread`'s current thread to return (`k_thread_join`); at once if it has.
    ///
    /// # Errors
    /// * [`Error::EINVAL`]: never spawned.
    /// * [`Error::EBUSY`]: still running, with [`NoWait`](crate::time::NoWait).
    /// * [`Error::EAGAIN`]: the timeout expired.
    /// * [`Error::EDEADLK`]: the caller is that thread.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn join<T: Into<Timeout>>(&'static self, timeout: T) -> Result<()> {
        let timeout: Timeout = timeout.into();
        assert_thread_context("Thread::join");
        if !self.created().load(Ordering::Acquire) {
            return Err(Error::EINVAL);
        }
        // SAFETY: a created, never-moving k_thread, in thread context.
        to_result_void(unsafe { k_thread_join(self.thread.get(), timeout.0) })
    }

    /// Lets another `Thread` use the stack this one ran on, once its thread has returned.
    ///
    /// # Errors
    /// [`Error::EBUSY`]: the thread is still alive, or another thread is spawning this `Thread`.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn release_stack(&'static self) -> Result<()> {
        assert_thread_context("Thread::release_stack");
        self.begin_spawn()?.unbind_stack();
        Ok(())
    }

    /// The id of this `Thread`'s kernel thread (alive or not), once spawned.
    pub fn id(&'static self) -> Option<ThreadId> {
        if self.created().load(Ordering::Acquire) {
            NonNull::new(self.thread.get()).map(ThreadId)
        } else {
            None
        }
    }

    /// Whether the `k_thread` was created in this boot: per simulation on the simulator (a
    /// `static` `Thread` serves each simulation in turn), the field itself on real Zephyr.
    fn created(&'static self) -> &'static AtomicBool {
        crate::object::boot_flag(&self.created as *const AtomicBool as *const (), &self.created)
    }

    /// Takes the closure out of the buffer for the thread that runs it.
    ///
    /// # Safety
    /// The buffer holds an `F` not yet taken, and the caller is the thread spawned with it.
    unsafe fn take_closure<F>(&self) -> F {
        // SAFETY: per the contract, the spawner is done with the cells and only this thread
        // touches them until it dies.
        unsafe {
            *self.pending.get() = None;
            (self.closure.get() as *const F).read()
        }
    }
}

/// What a spawn passes to `k_thread_create` besides the stack, checked before it claims the
/// `Thread`.
pub(crate) struct SpawnOptions {
    priority: i32,
    /// `k_thread_create`'s `options` (`K_ESSENTIAL`, `K_FP_REGS`, ...).
    pub(crate) options: u32,
    name: Option<[c_char; CONFIG_THREAD_MAX_NAME_LEN]>,
}

impl SpawnOptions {
    /// Checks `priority` and converts `name`.
    ///
    /// # Errors
    /// [`Error::EINVAL`]: `priority` is out of range, or `name` holds a NUL byte.
    pub(crate) fn new(priority: i32, name: Option<&[u8]>) -> Result<Self> {
        check_priority(priority)?;
        let name = match name {
            Some(name) => Some(c_name(name)?),
            None => None,
        };
        Ok(SpawnOptions { priority, options: 0, name })
    }
}

/// What [`SpawnGuard::create`] made: the thread, and which creation of its `Thread` it is.
pub(crate) struct Spawned {
    pub(crate) id: ThreadId,
    pub(crate) generation: u32,
}

/// A spawn of a [`Thread`] in progress (its `spawning` flag, held until dropped): the previous
/// thread from it is dead (or there was none), so the guard alone touches the cells.
pub(crate) struct SpawnGuard<const CAP: usize> {
    thread: &'static Thread<CAP>,
}

impl<const CAP: usize> Drop for SpawnGuard<CAP> {
    fn drop(&mut self) {
        self.thread.spawning.store(false, Ordering::Release);
    }
}

impl<const CAP: usize> SpawnGuard<CAP> {
    /// Binds `stack` to this `Thread` (freeing the stack it used before, if another).
    ///
    /// # Errors
    /// [`Error::EADDRINUSE`]: `stack` belongs to another `Thread` or to a work queue.
    pub(crate) fn bind_stack<const N: usize>(&self, stack: &'static ThreadStack<N>) -> Result<()> {
        let me = self.thread as *const Thread<CAP> as *mut ();
        match stack.owner.compare_exchange(ptr::null_mut(), me, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(owner) if owner == me => {}
            Err(_) => return Err(Error::EADDRINUSE),
        }
        // SAFETY: the guard owns the cells (see `begin_spawn`).
        let stack_owner = unsafe { &mut *self.thread.stack_owner.get() };
        if let Some(previous) = stack_owner.take() {
            if !ptr::eq(previous, &stack.owner) {
                // Our previous stack is free again: its thread (ours) is dead.
                previous.store(ptr::null_mut(), Ordering::Release);
            }
        }
        *stack_owner = Some(&stack.owner);
        Ok(())
    }

    /// Frees the stack this `Thread` last ran on, if any: for a spawn on a stack claimed by other
    /// means (a `sys::thread::ThreadStack` handle), and [`Thread::release_stack`].
    pub(crate) fn unbind_stack(&self) {
        // SAFETY: the guard owns the cells (see `begin_spawn`); its thread is dead.
        if let Some(owner) = unsafe { (*self.thread.stack_owner.get()).take() } {
            owner.store(ptr::null_mut(), Ordering::Release);
        }
    }

    /// Drops a closure that a thread of this `Thread` never took (it was aborted before it ran).
    pub(crate) fn drop_pending(&self) {
        // SAFETY: the guard owns the cells (see `begin_spawn`); `pending` says whether the buffer
        // holds a closure, of the type `pending` drops.
        unsafe {
            if let Some(drop_it) = (*self.thread.pending.get()).take() {
                drop_it(self.thread.closure.get() as *mut u8);
            }
        }
    }

    /// Creates the thread on the stack at `base` (`size` bytes) to run `f`, and starts it if
    /// `start` (otherwise it waits for `k_thread_start`).
    ///
    /// The stack must be bound to this `Thread` ([`bind_stack`](Self::bind_stack)) or claimed
    /// for it for good (a `sys::thread::ThreadStack` handle): the callers guarantee that no
    /// other live thread uses it. `F` must fit the closure buffer; the public callers check that
    /// at compile time, and this asserts it.
    pub(crate) fn create<F>(
        self,
        base: *mut zephyr_sys::k_thread_stack_t,
        size: usize,
        options: &SpawnOptions,
        start: bool,
        f: F,
    ) -> Spawned
    where
        F: FnOnce() + Send + 'static,
    {
        assert!(size_of::<F>() <= CAP && align_of::<F>() <= CLOSURE_ALIGN);
        let thread = self.thread;
        self.drop_pending();
        // SAFETY: the guard owns the cells, and the buffer no longer holds a closure; `F` fits
        // (asserted above).
        unsafe {
            (thread.closure.get() as *mut F).write(f);
            *thread.pending.get() = Some(drop_closure::<F>);
        }
        let generation = thread.generation.fetch_add(1, Ordering::AcqRel).wrapping_add(1);

        let tid = thread.thread.get();
        {
            // No thread or ISR may see the k_thread while it is re-initialised.
            let _irq = IrqLock::new();
            // SAFETY: `tid` is our never-moving k_thread, not alive (`begin_spawn` checked); the
            // stack is ours alone (the caller's duty); the trampoline gets this `Thread`, whose
            // buffer holds an `F`. K_FOREVER: created, not started, so nothing runs under the
            // lock.
            unsafe {
                k_thread_create(
                    tid,
                    base,
                    size,
                    Some(trampoline::<F, CAP>),
                    thread as *const Thread<CAP> as *mut c_void,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    options.priority,
                    options.options,
                    K_FOREVER,
                );
                if let Some(name) = &options.name {
                    k_thread_name_set(tid, name.as_ptr());
                }
            }
        }
        thread.created().store(true, Ordering::Release);
        drop(self);
        if start {
            // SAFETY: created above with K_FOREVER.
            unsafe { k_thread_start(tid) };
        }
        Spawned { id: ThreadId(NonNull::new(tid).expect("k_thread is not null")), generation }
    }
}

impl<const CAP: usize> Default for Thread<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> fmt::Debug for Thread<CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Drops an `F` left in a closure buffer.
///
/// # Safety
/// `p` points to a valid `F`, which is not used again.
unsafe fn drop_closure<F>(p: *mut u8) {
    // SAFETY: per the contract.
    unsafe { ptr::drop_in_place(p as *mut F) }
}

/// The entry point of threads made by [`Thread::spawn`]: runs the closure stored in the
/// `Thread` that `p1` points to.
unsafe extern "C-unwind" fn trampoline<F: FnOnce() + Send + 'static, const CAP: usize>(
    p1: *mut c_void,
    _p2: *mut c_void,
    _p3: *mut c_void,
) {
    // SAFETY: `spawn` passes its `&'static Thread<CAP>`, whose buffer holds the `F` it wrote
    // just before creating this thread.
    let f = unsafe { (*(p1 as *const Thread<CAP>)).take_closure::<F>() };
    f();
}

/// Converts a name to a NUL-terminated C string of at most `CONFIG_THREAD_MAX_NAME_LEN - 1`
/// bytes, truncated at a character boundary if it is UTF-8 (at a byte otherwise).
// Without CONFIG_THREAD_NAME a real build has CONFIG_THREAD_MAX_NAME_LEN = 1: the bounds are
// then constants clippy finds trivial, and the code stays right.
#[allow(clippy::unnecessary_min_or_max)]
fn c_name(name: &[u8]) -> Result<[c_char; CONFIG_THREAD_MAX_NAME_LEN]> {
    if name.contains(&0) {
        return Err(Error::EINVAL);
    }
    let mut len = name.len().min(CONFIG_THREAD_MAX_NAME_LEN - 1);
    if let Ok(text) = core::str::from_utf8(name) {
        while !text.is_char_boundary(len) {
            len -= 1;
        }
    }
    let mut buf = [0 as c_char; CONFIG_THREAD_MAX_NAME_LEN];
    for (d, s) in buf.iter_mut().zip(&name[..len]) {
        *d = *s as c_char;
    }
    Ok(buf)
}

/// A thread's identity (`k_tid_t`), to inspect and control it.
///
/// See the [module docs](self) for what an id assumes about thread objects.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadId(NonNull<k_thread>);

// SAFETY: an id is the address of a thread object that outlives it (module contract); every
// kernel call on it is serialised by the kernel and valid from any thread.
unsafe impl Send for ThreadId {}
// SAFETY: as above.
unsafe impl Sync for ThreadId {}

impl ThreadId {
    /// The calling thread (`k_current_get`); in an interrupt handler, the interrupted thread.
    pub fn current() -> ThreadId {
        // SAFETY: a plain query, valid in any context.
        let tid = unsafe { k_current_get() };
        ThreadId(NonNull::new(tid).expect("k_current_get returned NULL"))
    }

    /// An id from a raw thread id.
    ///
    /// # Safety
    /// `tid` must be a thread created by `k_thread_create` (or the kernel), whose object stays
    /// valid while the id or its copies are used.
    pub unsafe fn from_raw(tid: k_tid_t) -> Option<ThreadId> {
        NonNull::new(tid).map(ThreadId)
    }

    /// The raw thread id.
    pub fn as_raw(self) -> k_tid_t {
        self.0.as_ptr()
    }

    /// The thread's priority (`k_thread_priority_get`).
    pub fn priority(self) -> i32 {
        // SAFETY: a valid thread (type invariant).
        unsafe { k_thread_priority_get(self.as_raw()) }
    }

    /// Changes the thread's priority (`k_thread_priority_set`); the scheduler may switch at
    /// once.
    ///
    /// # Errors
    /// [`Error::EINVAL`] for a priority outside [`HIGHEST_PRIORITY`] ..=
    /// [`LOWEST_APPLICATION_PRIORITY`].
    pub fn set_priority(self, priority: i32) -> Result<()> {
        check_priority(priority)?;
        // SAFETY: a valid thread (type invariant) and a valid priority (checked above).
        unsafe { k_thread_priority_set(self.as_raw(), priority) };
        Ok(())
    }

    /// Suspends the thread until [`resume`](Self::resume) (`k_thread_suspend`); a sleep or
    /// timed wait it was in loses its timeout. Suspending the caller switches away at once.
    pub fn suspend(self) {
        // SAFETY: a valid thread (type invariant).
        unsafe { k_thread_suspend(self.as_raw()) }
    }

    /// Resumes a suspended thread (`k_thread_resume`); does nothing to one that is not.
    pub fn resume(self) {
        // SAFETY: a valid thread (type invariant).
        unsafe { k_thread_resume(self.as_raw()) }
    }

    /// Ends the thread's [`sleep`](crate::time::sleep) early (`k_wakeup`); does nothing to a
    /// thread that is not sleeping.
    pub fn wakeup(self) {
        // SAFETY: a valid thread (type invariant).
        unsafe { k_wakeup(self.as_raw()) }
    }

    /// Names the thread (`k_thread_name_set`), truncated to `CONFIG_THREAD_MAX_NAME_LEN - 1`
    /// bytes at a character boundary.
    ///
    /// # Errors
    /// [`Error::EINVAL`] if `name` holds a NUL byte; what the kernel returns (`ENOSYS` without
    /// `CONFIG_THREAD_NAME`).
    pub fn set_name(self, name: &str) -> Result<()> {
        let buf = c_name(name.as_bytes())?;
        // SAFETY: a valid thread (type invariant); `buf` is NUL-terminated and the kernel
        // copies it.
        to_result_void(unsafe { k_thread_name_set(self.as_raw(), buf.as_ptr()) })
    }

    /// The thread's name (`k_thread_name_get`), copied out; empty if it has none.
    // As for `c_name`: without CONFIG_THREAD_NAME the loop bound is 0.
    #[allow(clippy::absurd_extreme_comparisons)]
    pub fn name(self) -> ThreadName {
        let mut out = ThreadName { buf: [0; CONFIG_THREAD_MAX_NAME_LEN], len: 0 };
        // A rename cannot change it halfway through the copy.
        let _irq = IrqLock::new();
        // SAFETY: a valid thread (type invariant); the kernel returns null or a NUL-terminated
        // string of at most CONFIG_THREAD_MAX_NAME_LEN bytes inside the thread object.
        unsafe {
            let p = k_thread_name_get(self.as_raw());
            if !p.is_null() {
                while out.len < CONFIG_THREAD_MAX_NAME_LEN - 1 {
                    let c = *p.add(out.len) as u8;
                    if c == 0 {
                        break;
                    }
                    out.buf[out.len] = c;
                    out.len += 1;
                }
            }
        }
        out
    }
}

impl fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThreadId({:p})", self.0)
    }
}

/// A thread's name, copied out of the kernel by [`ThreadId::name`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadName {
    buf: [u8; CONFIG_THREAD_MAX_NAME_LEN],
    len: usize,
}

impl ThreadName {
    /// The name's bytes (no NUL).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The name as text: its longest valid UTF-8 prefix (names set from C may be cut inside a
    /// character).
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                let valid = &self.buf[..e.valid_up_to()];
                // SAFETY: `valid_up_to` bytes are valid UTF-8.
                unsafe { core::str::from_utf8_unchecked(valid) }
            }
        }
    }
}

impl fmt::Debug for ThreadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ThreadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ThreadName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ThreadName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
