//! Work queues: threads that run work items one at a time, in submission order.
//!
//! A [`WorkQueue`] is a started kernel work queue (`k_work_q`) and its thread, as a small
//! `Copy` handle: the system one ([`WorkQueue::system`]), one started by a
//! [`WorkQueueBuilder`] (upstream zephyr-lang-rust's way), or one in a `static`
//! [`StaticWorkQueue`]. [`kio::spawn`](crate::kio::spawn) runs async tasks on one; a [`Work`]
//! item runs a plain `fn()` on the queue it is submitted to; a [`DelayableWork`] item is
//! submitted after a delay. Like every kernel object here, work items live in `static`s (they
//! must not move while the kernel knows them).
//!
//! ```no_run
//! # use zephyr_sim as _;
//! # #[cfg(not(feature = "no-kio"))] {
//! use zephyr::thread::ThreadStack;
//! use zephyr::work::WorkQueueBuilder;
//!
//! static STACK: ThreadStack<2048> = ThreadStack::new();
//!
//! let queue = WorkQueueBuilder::new()
//!     .set_priority(4)
//!     .set_name(c"io-queue")
//!     .start(STACK.init_once(()).expect("STACK is unused"));
//! let answer = zephyr::kio::spawn(async { 42 }, &queue, c"answer").join();
//! assert_eq!(answer, 42);
//! # }
//! ```
//!
//! # A started queue lives for good
//! Zephyr 2.7 cannot stop a work queue: once started, its thread runs until the system stops,
//! and the kernel keeps pointing at its `k_work_q`. So a queue's object is never freed: a
//! [`StaticWorkQueue`] is a `static`, and [`WorkQueueBuilder::start`] allocates the object and
//! leaks it on purpose (one `k_work_q` per queue started, a few hundred bytes). A
//! [`WorkQueue`] handle is therefore free to copy and drop. (Upstream's `WorkQueue` panics when
//! dropped, and its users leak it with `Arc::into_raw`; that code still builds here and is
//! harmless.)
//!
//! [`futures`] holds the executor-independent machinery with which async code waits for
//! kernel events (`Semaphore::take_async`, `kio::sleep`, ...): triggered work and delayable
//! work that wake a `Waker` from a work queue thread, so the waiting future can be polled by
//! any executor.

pub mod futures;
mod poll_state;

#[cfg(not(feature = "no-kio"))]
extern crate alloc;

use core::ffi::{c_int, CStr};
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use zephyr_sys::*;

use crate::error::{to_result, Result};
use crate::object::{BootStatic, KObj};
use crate::thread::{ThreadId, ThreadStack};
use crate::time::Timeout;

/// What a submit did (`k_work_submit_to_queue`'s non-negative results).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// It was already queued: nothing changed (0).
    AlreadyQueued,
    /// It was queued (1).
    Queued,
    /// It was running and has been queued to run again (2).
    Requeued,
}

fn submitted(ret: c_int) -> Result<Submitted> {
    match to_result(ret)? {
        0 => Ok(Submitted::AlreadyQueued),
        1 => Ok(Submitted::Queued),
        _ => Ok(Submitted::Requeued),
    }
}

/// A started work queue and its thread (`k_work_q`): a `Copy` handle (see the
/// [module docs](self) for why the queue itself lives for good).
///
/// Get one from [`WorkQueue::system`], [`WorkQueueBuilder::start`] or
/// [`StaticWorkQueue::start`]; pass it by reference to [`kio::spawn`](crate::kio::spawn),
/// [`Work::submit_to`] and the like (an `Arc<WorkQueue>` derefs to it, as upstream code has it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WorkQueue {
    raw: *mut k_work_q,
}

// SAFETY: a started work queue is a kernel object that lives for good and is callable from any
// thread or ISR; the handle only passes its address to the kernel.
unsafe impl Send for WorkQueue {}
// SAFETY: as above.
unsafe impl Sync for WorkQueue {}

/// The system queue's handle, per boot (each simulation has its own system queue).
static SYSTEM: BootStatic<WorkQueue> = BootStatic::new(|| WorkQueue { raw: k_sys_work_q_ptr() });

impl WorkQueue {
    /// The kernel's system work queue (`k_sys_work_q`).
    pub fn system() -> &'static WorkQueue {
        SYSTEM.get()
    }

    /// The system work queue, by value (without the per-boot lookup of [`WorkQueue::system`]).
    #[inline]
    pub(crate) fn system_queue() -> WorkQueue {
        WorkQueue { raw: k_sys_work_q_ptr() }
    }

    /// A handle to a queue started elsewhere (C code, or raw kernel calls).
    ///
    /// # Safety
    /// `raw` is a started work queue that is never freed nor moved.
    pub unsafe fn from_raw(raw: *mut k_work_q) -> WorkQueue {
        WorkQueue { raw }
    }

    /// The raw queue.
    pub fn as_raw(&self) -> *mut k_work_q {
        self.raw
    }

    /// The queue's thread.
    pub fn thread(&self) -> ThreadId {
        // SAFETY: the queue is a started kernel work queue (type invariant).
        let tid = unsafe { k_work_queue_thread_get(self.raw) };
        // SAFETY: a started queue has a live thread object.
        unsafe { ThreadId::from_raw(tid) }.expect("a started work queue has a thread")
    }

    /// True when called from this queue's thread.
    pub fn is_current(&self) -> bool {
        // SAFETY: k_current_get has no preconditions.
        !crate::thread::is_in_isr() && self.thread().as_raw() == unsafe { k_current_get() }
    }
}

impl fmt::Debug for WorkQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkQueue({:p})", self.raw)
    }
}

/// Initialises and starts the queue at `raw` (`k_work_queue_init` + `k_work_queue_start`).
///
/// # Safety
/// `raw` is a queue object that was never started, never moves and is never freed; `stack` is
/// `size` bytes of thread stack that nothing else uses, now or later.
unsafe fn start_raw(
    raw: *mut k_work_q,
    stack: *mut k_thread_stack_t,
    size: usize,
    priority: c_int,
    name: Option<&'static CStr>,
    no_yield: bool,
) -> WorkQueue {
    let name = name.map_or(core::ptr::null(), CStr::as_ptr);
    let cfg = k_work_queue_config::new(name, no_yield);
    // SAFETY: caller contract; `cfg` is read during the call (the name is 'static).
    unsafe {
        k_work_queue_init(raw);
        k_work_queue_start(raw, stack, size, priority, &cfg);
    }
    WorkQueue { raw }
}

/// Starts work queues: upstream zephyr-lang-rust's builder (name, priority, `no_yield`,
/// `essential`), on a stack handle (`zephyr::sys::thread::ThreadStack`, what `kobj_define!`'s
/// stacks, or [`ThreadStack::init_once`], give).
///
/// ```no_run
/// # use zephyr_sim as _;
/// # #[cfg(not(feature = "no-kio"))] {
/// # extern crate alloc;
/// use alloc::sync::Arc;
/// use zephyr::thread::ThreadStack;
/// use zephyr::work::WorkQueueBuilder;
///
/// static WORK_STACK: ThreadStack<2048> = ThreadStack::new();
///
/// let worker = Arc::new(
///     WorkQueueBuilder::new().set_priority(1).start(WORK_STACK.init_once(()).unwrap()),
/// );
/// let handle = zephyr::kio::spawn(async { 1 + 1 }, &worker, c"sum");
/// assert_eq!(handle.join(), 2);
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct WorkQueueBuilder {
    name: Option<&'static CStr>,
    priority: c_int,
    no_yield: bool,
    essential: bool,
}

impl WorkQueueBuilder {
    /// Priority 0, no name, yielding between items, not essential.
    pub fn new() -> Self {
        Self::default()
    }

    /// The queue thread's name (shown by the kernel's thread tools and the simulator's trace).
    pub fn set_name(&mut self, name: &'static CStr) -> &mut Self {
        self.name = Some(name);
        self
    }

    /// Whether the queue's thread does **not** yield between work items
    /// (`k_work_queue_config::no_yield`). By default it yields, letting other threads of its
    /// priority (or, if cooperative, any ready thread) run between items.
    pub fn set_no_yield(&mut self, value: bool) -> &mut Self {
        self.no_yield = value;
        self
    }

    /// Upstream's "essential" flag (newer kernels: the system treats the queue thread's end as
    /// a fatal error). Zephyr 2.7's `k_work_queue_config` has no such field, so it is recorded
    /// but changes nothing; and a queue thread here only ends by a fatal error, which halts the
    /// system anyway.
    pub fn set_essential(&mut self, value: bool) -> &mut Self {
        self.essential = value;
        self
    }

    /// The queue thread's priority (Zephyr's: negative is cooperative, lower is more urgent).
    pub fn set_priority(&mut self, value: c_int) -> &mut Self {
        self.priority = value;
        self
    }

    /// Starts a queue on `stack`, its object on the heap, leaked on purpose (see the
    /// [module docs](self)); the stack is the queue's for good.
    ///
    /// Needs the global allocator (not with `no-kio`: use [`start_in`](Self::start_in)).
    #[cfg(not(feature = "no-kio"))]
    pub fn start(&self, stack: crate::sys::thread::ThreadStack) -> WorkQueue {
        let raw = alloc::boxed::Box::leak(alloc::boxed::Box::new(KObj::new(k_work_q::new())));
        // SAFETY: a fresh queue object, leaked (never freed, never moved); the stack handle is
        // the one claim on its memory, consumed here.
        unsafe {
            start_raw(
                raw.get(),
                stack.base(),
                stack.size(),
                self.priority,
                self.name,
                self.no_yield,
            )
        }
    }

    /// Starts `queue` (a `static` one) on `stack`.
    ///
    /// # Errors
    /// `EALREADY` if `queue` was already started (the stack handle is then dropped unused, and
    /// stays claimed).
    pub fn start_in(
        &self,
        queue: &'static StaticWorkQueue,
        stack: crate::sys::thread::ThreadStack,
    ) -> Result<WorkQueue> {
        queue.claim()?;
        // SAFETY: claimed above; the stack handle is its memory's one claim.
        Ok(unsafe { queue.start_claimed(self, stack) })
    }
}

/// A work queue object for a `static` (`K_WORK_QUEUE`-style), started once with
/// [`start`](Self::start) or [`WorkQueueBuilder::start_in`].
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::thread::ThreadStack;
/// use zephyr::work::StaticWorkQueue;
///
/// static QUEUE: StaticWorkQueue = StaticWorkQueue::new();
/// static STACK: ThreadStack<2048> = ThreadStack::new();
///
/// let queue = QUEUE.start(&STACK, 4, c"io-queue").unwrap();
/// assert_eq!(QUEUE.queue(), Some(queue));
/// ```
pub struct StaticWorkQueue {
    queue: KObj<k_work_q>,
    /// A start has claimed the queue (per boot: see [`Self::flag`]).
    claimed: AtomicBool,
    /// The start has finished: handles may be given out (per boot).
    started: AtomicBool,
}

impl Default for StaticWorkQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticWorkQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticWorkQueue")
            .field("started", &self.started.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl StaticWorkQueue {
    /// A work queue, not yet started.
    pub const fn new() -> Self {
        Self {
            queue: KObj::new(k_work_q::new()),
            claimed: AtomicBool::new(false),
            started: AtomicBool::new(false),
        }
    }

    /// This boot's copy of `flag` (the flag itself on real Zephyr; on the simulator each
    /// simulation starts its static queues anew).
    fn flag(flag: &'static AtomicBool) -> &'static AtomicBool {
        crate::object::boot_flag(flag as *const AtomicBool as *const (), flag)
    }

    /// Claims the queue for one start.
    fn claim(&'static self) -> Result<()> {
        if Self::flag(&self.claimed).swap(true, Ordering::AcqRel) {
            return Err(crate::Error::EALREADY);
        }
        Ok(())
    }

    /// Starts the claimed queue.
    ///
    /// # Safety
    /// `claim` succeeded and this is that start; `stack` is the one claim on its memory.
    unsafe fn start_claimed(
        &'static self,
        builder: &WorkQueueBuilder,
        stack: crate::sys::thread::ThreadStack,
    ) -> WorkQueue {
        // SAFETY: a static queue object (never moves, never freed) started only here; the
        // caller passes the stack's one claim.
        let queue = unsafe {
            start_raw(
                self.queue.get(),
                stack.base(),
                stack.size(),
                builder.priority,
                builder.name,
                builder.no_yield,
            )
        };
        Self::flag(&self.started).store(true, Ordering::Release);
        queue
    }

    /// Starts the queue's thread on `stack` at `priority`, named `name`
    /// (`k_work_queue_init` + `k_work_queue_start`). The stack is the queue's for good.
    ///
    /// # Errors
    /// `EALREADY` if the queue was already started; `EADDRINUSE` if the stack is already used
    /// (by a thread, or another queue).
    pub fn start<const N: usize>(
        &'static self,
        stack: &'static ThreadStack<N>,
        priority: i32,
        name: &'static CStr,
    ) -> Result<WorkQueue> {
        self.claim()?;
        let Some(stack) = stack.init_once(()) else {
            Self::flag(&self.claimed).store(false, Ordering::Release);
            return Err(crate::Error::EADDRINUSE);
        };
        let mut builder = WorkQueueBuilder::new();
        builder.set_priority(priority).set_name(name);
        // SAFETY: claimed above; the stack handle is its memory's one claim.
        Ok(unsafe { self.start_claimed(&builder, stack) })
    }

    /// The started queue, or `None` before [`start`](Self::start) has finished.
    pub fn queue(&'static self) -> Option<WorkQueue> {
        if Self::flag(&self.started).load(Ordering::Acquire) {
            Some(WorkQueue { raw: self.queue.get() })
        } else {
            None
        }
    }
}

/// A work item that runs `handler` on the queue it is submitted to (`k_work`).
#[repr(C)]
pub struct Work {
    /// Initialised (`k_work_init` with `run_work`) by `KObj` at its first use.
    work: KObj<k_work>,
    handler: fn(),
}

unsafe extern "C-unwind" fn run_work(work: *mut k_work) {
    // SAFETY: `work` is the first field of a repr(C) `Work` (KObj is repr(C) with the value
    // first), initialised by `Work::init` with this handler.
    let this = unsafe { &*(work as *const Work) };
    (this.handler)()
}

impl Work {
    /// A work item running `handler`.
    pub const fn new(handler: fn()) -> Self {
        Self { work: KObj::work(Some(run_work)), handler }
    }

    /// Submits to the system work queue (`k_work_submit`). ISR-safe.
    pub fn submit(&'static self) -> Result<Submitted> {
        self.submit_to(&WorkQueue::system_queue())
    }

    /// Submits to `queue` (`k_work_submit_to_queue`). ISR-safe.
    ///
    /// # Errors
    /// `EBUSY` while the item is being cancelled; `ENODEV` if the queue was never started.
    pub fn submit_to(&'static self, queue: &WorkQueue) -> Result<Submitted> {
        let w = self.work.get();
        // SAFETY: a valid item and queue.
        submitted(unsafe { k_work_submit_to_queue(queue.as_raw(), w) })
    }

    /// Takes the item off its queue if it is queued (`k_work_cancel`); true if it is still
    /// running afterwards.
    pub fn cancel(&'static self) -> bool {
        let w = self.work.get();
        // SAFETY: a valid item.
        unsafe { k_work_cancel(w) != 0 }
    }

    /// Waits until the item is neither queued nor running (`k_work_flush`).
    ///
    /// # Panics
    /// In an ISR.
    pub fn flush(&'static self) {
        let w = self.work.get();
        let mut sync = k_work_sync::default();
        // SAFETY: a valid item; blocking is checked by the kernel.
        unsafe { k_work_flush(w, &mut sync) };
    }

    /// Whether it is queued or running (`k_work_busy_get` != 0).
    pub fn is_busy(&'static self) -> bool {
        let w = self.work.get();
        // SAFETY: a valid item.
        unsafe { k_work_busy_get(w) != 0 }
    }
}

/// A work item submitted after a delay (`k_work_delayable`).
#[repr(C)]
pub struct DelayableWork {
    /// Initialised (`k_work_init_delayable` with `run_delayable`) by `KObj` at its first use.
    work: KObj<k_work_delayable>,
    handler: fn(),
}

unsafe extern "C-unwind" fn run_delayable(work: *mut k_work) {
    // SAFETY: `work` is the first field of the `k_work_delayable` inside a repr(C)
    // `DelayableWork`, initialised by `DelayableWork::init` with this handler.
    let this = unsafe { &*(work as *const DelayableWork) };
    (this.handler)()
}

impl DelayableWork {
    /// A delayable work item running `handler`.
    pub const fn new(handler: fn()) -> Self {
        Self { work: KObj::delayable(Some(run_delayable)), handler }
    }

    /// Submits to `queue` after `delay`, unless already scheduled or queued
    /// (`k_work_schedule_for_queue`).
    pub fn schedule(
        &'static self,
        queue: &WorkQueue,
        delay: impl Into<Timeout>,
    ) -> Result<Submitted> {
        let w = self.work.get();
        // SAFETY: a valid item and queue.
        submitted(unsafe { k_work_schedule_for_queue(queue.as_raw(), w, delay.into().0) })
    }

    /// Submits to `queue` after `delay`, replacing a pending delay
    /// (`k_work_reschedule_for_queue`).
    pub fn reschedule(
        &'static self,
        queue: &WorkQueue,
        delay: impl Into<Timeout>,
    ) -> Result<Submitted> {
        let w = self.work.get();
        // SAFETY: a valid item and queue.
        submitted(unsafe { k_work_reschedule_for_queue(queue.as_raw(), w, delay.into().0) })
    }

    /// Cancels a pending delay or a queued submission (`k_work_cancel_delayable`); true if it
    /// is still running afterwards.
    pub fn cancel(&'static self) -> bool {
        let w = self.work.get();
        // SAFETY: a valid item.
        unsafe { k_work_cancel_delayable(w) != 0 }
    }
}
