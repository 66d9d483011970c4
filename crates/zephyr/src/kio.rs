//! kio: async Rust on Zephyr work queues.
//!
//! [`spawn`] puts a future on a work queue as a task: a heap-allocated `k_work` item whose
//! handler polls the future once. The task's [`Waker`] submits that work item again, so the
//! future is polled on its queue's thread whenever it is woken, from any thread or ISR. Many
//! tasks share one queue thread; tasks on a more urgent queue preempt tasks on a less urgent
//! one, like the queues' threads do.
//!
//! ```text
//!   spawn ──► Arc<Task { k_work, future }> ──k_work_submit──► queue thread: handler polls once
//!                      ▲                                                │ Pending
//!                      └──────────── Waker::wake = k_work_submit ◄──────┘ (from anywhere)
//! ```
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::kio::{sleep, spawn, spawn_local};
//! use zephyr::time::Duration;
//! use zephyr::work::WorkQueue;
//!
//! let handle = spawn(
//!     async {
//!         sleep(Duration::millis_at_least(5)).await;
//!         // A task may spawn futures that are not `Send` on its own queue.
//!         let local = std::rc::Rc::new(20);
//!         spawn_local(async move { *local + 1 }, c"local").join_async().await * 2
//!     },
//!     WorkQueue::system(),
//!     c"answer",
//! );
//! assert_eq!(handle.join(), 42);
//! ```
//!
//! Queues come from [`WorkQueue::system`], a [`WorkQueueBuilder`](crate::work::WorkQueueBuilder)
//! or a [`StaticWorkQueue`](crate::work::StaticWorkQueue); `spawn` takes `&WorkQueue`, so an
//! `&Arc<WorkQueue>` works as upstream code passes it.
//!
//! # Task names
//! Every task has a name, as upstream's API has it (`spawn(future, &queue, c"name")`). Zephyr
//! 2.7's work items have no name, so it stays in the task: [`JoinHandle::name`] and its `Debug`
//! show it, [`current_task_name`] tells a task its own, and kio's panics name the task they are
//! about (a blocking join that would deadlock, `spawn_local` outside a task).
//!
//! kio needs a global allocator (`alloc`). The `no-kio` feature removes this module.
//!
//! # Mixing runtimes
//!
//! Every async wait of this crate (`Semaphore::take_async`, [`sleep`],
//! [`PollSignal::wait_async`](crate::sys::PollSignal::wait_async), [`JoinHandle::join_async`],
//! ...) is woken through the kernel and a plain `Waker`, so it works the same under kio and
//! under `zephyr::embassy::Executor`: one program may run both, each with tasks awaiting the
//! same kernel objects. What cannot work is a clear panic: [`spawn_local`] outside a kio task,
//! and a blocking [`JoinHandle::join`] on the work queue that runs the task (a deadlock).
//! `embassy_time::Timer` relies on the time driver's queue (`zephyr::embassy::timer_queue`),
//! which lives in embassy-executor's tasks and so only accepts Embassy task wakers
//! (embassy-executor panics naming this); use [`sleep`] in kio tasks.

extern crate alloc;

use alloc::sync::Arc;
use core::cell::{Cell, UnsafeCell};
use core::ffi::CStr;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use critical_section::Mutex;
use zephyr_sys::*;

use crate::object::{BootStatic, KObj};
use crate::time::Timeout;
use crate::work::futures::Sleep;
use crate::work::WorkQueue;

enum State<F: Future> {
    Running(F),
    Done(Option<F::Output>),
}

/// A task: its work item (first, so the handler finds the task), its future, and how it ends.
#[repr(C)]
struct Task<F: Future> {
    work: k_work,
    queue: WorkQueue,
    name: &'static CStr,
    state: UnsafeCell<State<F>>,
    done: KObj<k_sem>,
    finished: AtomicBool,
    join_waker: Mutex<Cell<Option<Waker>>>,
}

// SAFETY: other threads and ISRs only touch `work` (through kernel calls), `queue`, `name`, the
// reference count, `finished`, `done` and `join_waker` (kernel or critical-section
// synchronised). The future and the output in `state` are only touched on the queue's thread
// (the handler), or by the single `JoinHandle` once `finished` says the handler is done with
// them; a future that is not `Send` is never dropped off its queue's thread (see `Drop`).
unsafe impl<F: Future> Send for Task<F> {}
// SAFETY: as above.
unsafe impl<F: Future> Sync for Task<F> {}

impl<F: Future> Drop for Task<F> {
    fn drop(&mut self) {
        if let State::Running(_) = self.state.get_mut() {
            // The last handle went away before the task finished. Drop its future only on its
            // own queue's thread (it may not be `Send`); elsewhere, leak it.
            if !self.queue.is_current() {
                let state = core::mem::replace(self.state.get_mut(), State::Done(None));
                core::mem::forget(state);
            }
        }
    }
}

/// The kio task being polled right now: its queue and name.
#[derive(Clone, Copy)]
struct Current {
    queue: WorkQueue,
    name: &'static CStr,
}

/// The kio task being polled right now, per boot.
static CURRENT: BootStatic<Mutex<Cell<Option<Current>>>> =
    BootStatic::new(|| Mutex::new(Cell::new(None)));

/// The task being polled on the calling thread, if any (a task of a less urgent queue that a
/// more urgent one preempted is not the calling thread's).
fn current_task() -> Option<Current> {
    critical_section::with(|cs| CURRENT.get().borrow(cs).get()).filter(|c| c.queue.is_current())
}

fn set_current_task(c: Option<Current>) -> Option<Current> {
    critical_section::with(|cs| CURRENT.get().borrow(cs).replace(c))
}

/// The name of the kio task that calls this (given to [`spawn`] or [`spawn_local`]); `None`
/// outside kio tasks.
pub fn current_task_name() -> Option<&'static CStr> {
    current_task().map(|c| c.name)
}

impl<F: Future + 'static> Task<F> {
    /// Submits the task's work item, handing the queue a reference while it is queued.
    ///
    /// The reference is taken **before** the submit: when the queue's thread is more urgent than
    /// the caller, Zephyr switches to it inside `k_work_submit_to_queue`, and the handler takes
    /// the reference back (and may drop it) before the call returns. Taken after, that handler
    /// would free a task its `JoinHandle` still points to.
    fn schedule(self: &Arc<Self>) {
        let ptr = Arc::as_ptr(self);
        // SAFETY: `ptr` comes from a live Arc (`self`): this is the queued item's reference.
        unsafe { Arc::increment_strong_count(ptr) };
        // SAFETY: the work item lives inside the Arc allocation (it never moves) and was
        // initialised by `spawn_on`.
        let r = unsafe {
            k_work_submit_to_queue(self.queue.as_raw(), &(*ptr).work as *const _ as *mut _)
        };
        if r <= 0 {
            // Not queued by this call (already queued: that submission holds its own
            // reference; or an error): give the reference back. `self` keeps the task alive.
            // SAFETY: the reference taken above, not handed to the queue.
            drop(unsafe { Arc::from_raw(ptr) });
        }
        assert!(r >= 0, "kio: k_work_submit_to_queue failed: {r}");
    }

    const VTABLE: RawWakerVTable =
        RawWakerVTable::new(Self::clone_waker, Self::wake, Self::wake_by_ref, Self::drop_waker);

    unsafe fn clone_waker(p: *const ()) -> RawWaker {
        // SAFETY: `p` is a strong reference of an Arc<Task<F>> owned by the waker.
        unsafe { Arc::increment_strong_count(p as *const Self) };
        RawWaker::new(p, &Self::VTABLE)
    }

    unsafe fn wake(p: *const ()) {
        // SAFETY: as above; this consumes the waker's reference.
        let task = unsafe { Arc::from_raw(p as *const Self) };
        task.schedule();
    }

    unsafe fn wake_by_ref(p: *const ()) {
        // SAFETY: as above, without consuming it.
        let task = core::mem::ManuallyDrop::new(unsafe { Arc::from_raw(p as *const Self) });
        task.schedule();
    }

    unsafe fn drop_waker(p: *const ()) {
        // SAFETY: as above.
        drop(unsafe { Arc::from_raw(p as *const Self) });
    }

    /// The work handler: polls the future once, on the queue's thread.
    unsafe extern "C-unwind" fn run(work: *mut k_work) {
        // SAFETY: `work` is the first field of a repr(C) Task<F> inside an Arc; the queue held
        // one strong reference for this run (see `schedule`), which we take back.
        let task = unsafe { Arc::from_raw(work as *const Self) };
        // SAFETY: only the queue's thread touches `state`, and only here.
        let state = unsafe { &mut *task.state.get() };
        let State::Running(future) = state else { return };
        let waker = core::mem::ManuallyDrop::new(
            // SAFETY: the raw waker borrows `task`'s reference for the duration of the poll.
            unsafe {
                Waker::from_raw(RawWaker::new(Arc::as_ptr(&task) as *const (), &Self::VTABLE))
            },
        );
        let mut cx = Context::from_waker(&waker);
        let outer = set_current_task(Some(Current { queue: task.queue, name: task.name }));
        // SAFETY: the future lives inside the Arc allocation and is never moved.
        let poll = unsafe { Pin::new_unchecked(future) }.poll(&mut cx);
        set_current_task(outer);
        if let Poll::Ready(output) = poll {
            *state = State::Done(Some(output));
            task.finished.store(true, Ordering::Release);
            // SAFETY: a valid semaphore inside the task.
            unsafe { k_sem_give(task.done.get()) };
            if let Some(w) = critical_section::with(|cs| task.join_waker.borrow(cs).take()) {
                w.wake();
            }
        }
    }
}

fn spawn_on<F>(future: F, queue: WorkQueue, name: &'static CStr) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let task = Arc::new(Task {
        work: k_work::new(),
        queue,
        name,
        state: UnsafeCell::new(State::Running(future)),
        done: KObj::sem(0, 1),
        finished: AtomicBool::new(false),
        join_waker: Mutex::new(Cell::new(None)),
    });
    // SAFETY: the work item is inside the Arc allocation and never moves.
    unsafe { k_work_init(&task.work as *const _ as *mut _, Some(Task::<F>::run)) };
    task.schedule();
    JoinHandle { task, _output: PhantomData }
}

/// Spawns `future` as a task named `name` on `queue`; it first runs when the queue's thread
/// gets to it (upstream zephyr-lang-rust's signature).
pub fn spawn<F>(future: F, queue: &WorkQueue, name: &'static CStr) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_on(future, *queue, name)
}

/// Spawns a future that need not be `Send`, as a task named `name`, on the work queue of the
/// calling kio task (upstream's signature; its output need not be `Send` either).
///
/// # Panics
/// When not called from a kio task.
pub fn spawn_local<F>(future: F, name: &'static CStr) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let Some(current) = current_task() else {
        panic!(
            "kio::spawn_local({name:?}) must be called from a kio task (it spawns on the calling \
             task's work queue); elsewhere use kio::spawn with a queue and a Send future"
        )
    };
    spawn_on(future, current.queue, name)
}

/// Waits asynchronously for `timeout` (relative timeouts end N + 1 ticks after the current
/// tick, like `k_sleep`). Works under any executor.
pub fn sleep(timeout: impl Into<Timeout>) -> Sleep {
    Sleep::new(timeout)
}

/// Lets other ready tasks run before continuing (wakes itself once).
pub async fn yield_now() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Type-erased access to a task's completion, for [`JoinHandle`].
trait Completion<T>: Send + Sync {
    fn queue(&self) -> WorkQueue;
    fn name(&self) -> &'static CStr;
    fn done_sem(&self) -> *mut k_sem;
    fn finished(&self) -> bool;
    /// # Safety
    /// Only after `finished()`; at most once.
    unsafe fn take_output(&self) -> T;
    fn set_join_waker(&self, waker: &Waker);
}

impl<F: Future + 'static> Completion<F::Output> for Task<F> {
    fn queue(&self) -> WorkQueue {
        self.queue
    }
    fn name(&self) -> &'static CStr {
        self.name
    }
    fn done_sem(&self) -> *mut k_sem {
        self.done.get()
    }
    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
    unsafe fn take_output(&self) -> F::Output {
        // SAFETY: finished: the handler no longer touches `state`; the handle is unique.
        match unsafe { &mut *self.state.get() } {
            State::Done(out) => out.take().expect("kio: task output taken twice"),
            State::Running(_) => unreachable!("kio: output taken before the task finished"),
        }
    }
    fn set_join_waker(&self, waker: &Waker) {
        critical_section::with(|cs| self.join_waker.borrow(cs).set(Some(waker.clone())));
    }
}

/// The handle of a spawned task: wait for its result, blocking ([`join`](Self::join)) or
/// asynchronously ([`join_async`](Self::join_async)). Dropping it detaches the task.
pub struct JoinHandle<T> {
    task: Arc<dyn Completion<T>>,
    _output: PhantomData<T>,
}

impl<T> JoinHandle<T> {
    /// The task's name, as given to [`spawn`] or [`spawn_local`].
    pub fn name(&self) -> &'static CStr {
        self.task.name()
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.task.finished()
    }

    /// Blocks the calling thread until the task finishes; returns its output.
    ///
    /// # Panics
    /// In an ISR; or on the work queue thread that runs the task (it could never finish:
    /// use [`join_async`](Self::join_async) there).
    pub fn join(self) -> T {
        match self.join_timeout(crate::time::Forever) {
            Ok(v) => v,
            Err(_) => unreachable!("a join without timeout returned early"),
        }
    }

    /// Like [`join`](Self::join), giving up after `timeout` (`Err` gives the handle back).
    ///
    /// # Panics
    /// As [`join`](Self::join).
    pub fn join_timeout(self, timeout: impl Into<Timeout>) -> core::result::Result<T, Self> {
        let name = self.task.name();
        assert!(!crate::thread::is_in_isr(), "kio: JoinHandle::join({name:?}) in an ISR");
        if !self.task.finished() && self.task.queue().is_current() {
            panic!(
                "kio: JoinHandle::join({name:?}) on the work queue thread that runs the task \
                 would deadlock; use join_async"
            );
        }
        // SAFETY: a valid semaphore inside the task, which this handle keeps alive.
        let r = unsafe { k_sem_take(self.task.done_sem(), timeout.into().0) };
        if r != 0 && !self.task.finished() {
            return Err(self);
        }
        // SAFETY: finished, and this handle is consumed.
        Ok(unsafe { self.task.take_output() })
    }

    /// Waits asynchronously for the task's output, under any executor (another kio queue,
    /// `zephyr::embassy::Executor`, ...).
    pub fn join_async(self) -> JoinAsync<T> {
        JoinAsync { handle: Some(self) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("name", &self.task.name())
            .field("finished", &self.task.finished())
            .finish()
    }
}

/// The future of [`JoinHandle::join_async`].
pub struct JoinAsync<T> {
    handle: Option<JoinHandle<T>>,
}

impl<T> Unpin for JoinAsync<T> {}

impl<T> Future for JoinAsync<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let handle = self.handle.as_ref().expect("JoinAsync polled after it finished");
        if !handle.task.finished() {
            handle.task.set_join_waker(cx.waker());
            if !handle.task.finished() {
                return Poll::Pending;
            }
        }
        let handle = self.handle.take().expect("checked above");
        // SAFETY: finished, and the handle is consumed.
        Poll::Ready(unsafe { handle.task.take_output() })
    }
}

/// Runs `future` to completion as a task named `name` on `queue` and blocks the calling thread
/// until it finishes (a convenience for threads that start kio work: `spawn(..).join()`).
///
/// # Panics
/// As [`JoinHandle::join`].
pub fn block_on<F>(future: F, queue: &WorkQueue, name: &'static CStr) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(future, queue, name).join()
}
