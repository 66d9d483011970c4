//! Work queues: threads that run work items one at a time, in submission order.
//!
//! A [`WorkQueue`] owns a kernel work queue (`k_work_q`) and its thread; [`WorkQueue::system`]
//! is the kernel's system work queue. A [`Work`] item runs a plain `fn()` on the queue it is
//! submitted to; a [`DelayableWork`] item is submitted after a delay. Like every kernel object
//! here they live in `static`s (they must not move while the kernel knows them).
//!
//! [`futures`] holds the executor-independent machinery with which async code waits for
//! kernel events (`Semaphore::take_async`, `kio::sleep`, ...): triggered work and delayable
//! work that wake a `Waker` from a work queue thread, so the waiting future can be polled by
//! any executor.

pub mod futures;
mod poll_state;

use core::ffi::c_int;

use zephyr_sys::*;

use crate::error::{to_result, Result};
use crate::object::KObj;
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

/// A work queue and its thread (`k_work_q`).
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::thread::ThreadStack;
/// use zephyr::work::WorkQueue;
///
/// static QUEUE: WorkQueue = WorkQueue::new();
/// static STACK: ThreadStack<2048> = ThreadStack::new();
///
/// QUEUE.start(&STACK, 4, c"io-queue").unwrap();
/// ```
pub struct WorkQueue {
    queue: KObj<k_work_q>,
}

impl Default for WorkQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkQueue {
    /// A work queue, not yet started.
    pub const fn new() -> Self {
        Self { queue: KObj::new(k_work_q::new()) }
    }

    /// Starts the queue's thread on `stack` at `priority`, named `name`
    /// (`k_work_queue_init` + `k_work_queue_start`). The stack is the queue's for good.
    ///
    /// # Errors
    /// `EADDRINUSE` if the stack is already used (by a thread, or this or another queue).
    pub fn start<const N: usize>(
        &'static self,
        stack: &'static ThreadStack<N>,
        priority: i32,
        name: &'static core::ffi::CStr,
    ) -> Result<()> {
        let raw_stack =
            stack.claim_for(self as *const Self as *const ()).ok_or(crate::Error::EADDRINUSE)?;
        let cfg = k_work_queue_config::new(name.as_ptr(), false);
        // SAFETY: the queue is 'static and never moves (KObj); the stack is 'static and now
        // belongs to this queue alone; `cfg` is read during the call.
        unsafe {
            k_work_queue_init(self.queue.get());
            k_work_queue_start(self.queue.get(), raw_stack, N, priority, &cfg);
        }
        Ok(())
    }

    /// The kernel object, for raw calls.
    pub fn as_raw(&'static self) -> *mut k_work_q {
        self.queue.get()
    }

    /// The system work queue (`k_sys_work_q`).
    pub fn system() -> QueueRef {
        QueueRef(k_sys_work_q_ptr())
    }

    /// A handle to this queue.
    pub fn handle(&'static self) -> QueueRef {
        QueueRef(self.queue.get())
    }
}

/// A started work queue: the system one, or a [`WorkQueue`] (`Copy`, `Send`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueRef(*mut k_work_q);

// SAFETY: a work queue is a kernel object callable from any thread or ISR.
unsafe impl Send for QueueRef {}
// SAFETY: as above.
unsafe impl Sync for QueueRef {}

impl QueueRef {
    /// The raw queue.
    pub fn as_raw(self) -> *mut k_work_q {
        self.0
    }

    /// The queue's thread.
    pub fn thread(self) -> ThreadId {
        // SAFETY: the queue is a started kernel work queue.
        let tid = unsafe { k_work_queue_thread_get(self.0) };
        // SAFETY: a started queue has a live thread object.
        unsafe { ThreadId::from_raw(tid) }.expect("a started work queue has a thread")
    }

    /// True when called from this queue's thread.
    pub fn is_current(self) -> bool {
        // SAFETY: k_current_get has no preconditions.
        !crate::thread::is_in_isr() && self.thread().as_raw() == unsafe { k_current_get() }
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
        self.submit_to(WorkQueue::system())
    }

    /// Submits to `queue` (`k_work_submit_to_queue`). ISR-safe.
    ///
    /// # Errors
    /// `EBUSY` while the item is being cancelled; `ENODEV` if the queue was never started.
    pub fn submit_to(&'static self, queue: QueueRef) -> Result<Submitted> {
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
        queue: QueueRef,
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
        queue: QueueRef,
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
