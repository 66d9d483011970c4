//! The async kernel waits' registration, notification and cancellation
//! (`src/work/poll_state.rs`, driven as `src/work/futures.rs` and `src/sys/asynch.rs` drive it),
//! model-checked with loom against a model of Zephyr 2.7's triggered work.
//!
//! Run: `RUSTFLAGS="--cfg zephyr_loom" cargo test -p zephyr --test loom_poll_wait --release`
//! (in the target directory of `tests/loom_executor.rs`, which explains the cfg).
//! `-- --nocapture` prints how many interleavings each model explored.
//!
//! # The model
//!
//! Four loom threads share one semaphore:
//!
//! * **the first waiter**, `Semaphore::take_async` (a `PollWait` on `K_POLL_TYPE_SEM_AVAILABLE`
//!   with `sem_hand_on`), polled once before the others start, so its triggered work is the
//!   first registered on the semaphore and the one a give notifies. Its thread then drops it,
//!   at whatever point loom picks: before the give, after it with the work queued, running or
//!   finished (a `select` that another branch won); in some models it is first polled again if
//!   it was woken.
//! * **the second waiter**, on loom's main thread: polls its `take_async` until it completes,
//!   or until nothing is left that could wake it, then drops it.
//! * **the giver**: one `k_sem_give`, either atomic (from an ISR, or this crate's give under
//!   the scheduler lock) or as a raw C give from a preemptible thread, which yields inside
//!   `k_work_submit_to_queue` after it queued the work, and clears the registration's
//!   `is_polling` only when it runs again (`signal_poll_event`).
//! * **the work queue's thread**, which runs queued items one at a time.
//!
//! The waiters run `PollState` itself (included from `src/work/poll_state.rs`) in a loom cell,
//! and make the kernel calls around it in the order `futures.rs` makes them (`PollWait::poll`,
//! `PollWait::cancel`, `cancel_and_hand_on`, `wait_for_trigger`; `TakeAsync::poll` and
//! `sem_hand_on`). The kernel is one structure under one loom mutex, which is also the
//! waits' critical section: on one CPU, `irq_lock` excludes both ISRs and the kernel. It
//! follows `kernel/poll.c`, `kernel/work.c` and `kernel/sem.c` of Zephyr 2.7:
//!
//! * the semaphore's count and its poll-event list, in registration order; a give increments
//!   the count and takes the first registration off the list; if that work still polls and
//!   is owned by its queue (`signal_triggered_work`), it stores `poll_result` 0 and queues the
//!   work; then `is_polling` is cleared (at once, or after the yield);
//! * `k_work_poll_init` + `k_work_poll_submit_to_queue`: a ready semaphore queues the work at
//!   once (`poll_result` 0), otherwise it registers in triggered mode;
//! * `k_work_poll_cancel`: `-EINVAL` unless owned, polling and in triggered mode; then
//!   unregisters and drops the ownership, and returns 0, even when a yielding giver already
//!   queued the item (the reason `PollWait::cancel` asks `k_work_busy_get` first);
//! * `k_work_busy_get` (queued or running) and `k_work_cancel_sync` (takes a queued item off
//!   its queue, waits for a running handler);
//! * the work queue: takes the first item (queued -> running), `triggered_work_handler`'s
//!   prologue (unregisters, drops the ownership), the handler (`fired`: `PollState::fire`,
//!   then the wake), then clears running, which releases `k_work_cancel_sync`.
//!
//! Each waiter's executor counts wakes; the second one sleeps on the kernel's condition
//! variable until it is woken or until every other thread has finished and the work queue is
//! idle (then nothing can wake it any more).
//!
//! # What is checked
//!
//! * (a) **No notification is lost**: when the second waiter can no longer be woken, the
//!   semaphore's count is 0 ("lost notification" otherwise); and at the end the count is 0
//!   and the waiters took the one give exactly once (takes equal gives).
//! * (b) **Nothing touches a released wait**: when a waiter's future goes (its cancel
//!   returned), its work item is neither queued, running, registered on the semaphore, nor
//!   inside a giver's call; the handler, the work queue, a giver and a wake each check that
//!   the wait they touch was not released ("after its future was released"). Re-arming while
//!   a giver is inside its call is caught the same way.
//! * (c) **One wake per notification**: the handler runs at most once per registration and
//!   always finds the waker the future registered, which it wakes once; the loom cell reports
//!   any access to the shared state that is not ordered with the handler's (the unlocked
//!   writes of `PollState::unregistered` and `report`).
//!
//! Broken variants (`#[should_panic]`) show that the model can fail: a cancel that trusts
//! `k_work_poll_cancel`'s `-EINVAL` without reading `poll_result` (issue 8's lost
//! notification), a cancel that does not wait for a running handler (`k_work_cancel`), a
//! cancel that asks `k_work_poll_cancel` without `k_work_busy_get` while a raw C giver is
//! inside its call, and a cancel or re-arm that does not wait for that giver
//! (`wait_for_trigger`).
//!
//! Simplifications: loom interleaves the threads with no regard to priorities, so every
//! order Zephyr's scheduler could choose is explored (and some it could not), and the work
//! queue's and the waiters' relative priorities need no parameter. The submit registers in
//! one step (Zephyr registers the events, then sets the triggered mode under a second lock
//! section; an event in between is reported as one ready at registration, as here). Not
//! modelled: timeouts (`-EAGAIN`), waits on two events (`MsgQueue::get_async` and its hand-on
//! signal), the other hand-ons (`PollSignal::wait_async`'s re-raise, `MsgQueue`'s), `k_poll`
//! threads among the pollers, more than one give.
//!
//! With 2 preemptions (`LOOM_MAX_PREEMPTIONS` overrides the tests' bounds) the correct models
//! explore 48 000 to 70 000 interleavings each, about a minute in all on two cores; with 3,
//! the first model explores 1.5 million in five minutes, and passes. Each broken variant fails
//! within 20 to 12 000 interleavings (at most a few seconds).
#![cfg(zephyr_loom)]

#[path = "../src/work/poll_state.rs"]
#[allow(dead_code)]
mod poll_state;

use std::collections::VecDeque;
use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use loom::cell::UnsafeCell;
use loom::sync::{Condvar, Mutex, MutexGuard};
use loom::thread;
use poll_state::{Cancel, PollState, Polled, Shared, SharedCell, FIRED, IDLE};

const EINVAL: c_int = 22;
const EINPROGRESS: c_int = 115;

/// The message of (a).
const LOST: &str = "lost notification: the semaphore is available and a waiter sleeps for good";
/// The message of (b).
const RELEASED: &str = "after its future was released";

// ---- the kernel ----------------------------------------------------------------------------

/// One `k_work_poll`: the `k_work` flags, the poller, and test bookkeeping.
#[derive(Default)]
struct Work {
    /// `K_WORK_QUEUED`.
    queued: bool,
    /// `K_WORK_RUNNING`.
    running: bool,
    /// `workq != NULL`: set by the submit, cleared by the handler's prologue and by a
    /// successful `k_work_poll_cancel` (not when `k_work_cancel_sync` discards the item).
    owned: bool,
    /// `poller.is_polling`.
    is_polling: bool,
    /// `poller.mode == MODE_TRIGGERED`.
    triggered_mode: bool,
    /// `poll_result`.
    poll_result: c_int,
    /// Bookkeeping: submissions so far (each `k_work_poll_init` starts a registration).
    registration: u32,
    /// Bookkeeping: the registration the handler last ran for.
    fired_for: Option<u32>,
    /// Bookkeeping: the future that owns it is gone.
    released: bool,
}

/// The kernel objects of the model, under `irq_lock`.
struct Kernel {
    /// The semaphore's count (no thread takes it blocking in this model).
    count: u32,
    /// The triggered work registered on the semaphore's poll event, in notification order.
    polled_by: VecDeque<usize>,
    /// Each waiter's triggered work.
    work: [Work; 2],
    /// The work queue's pending items.
    queue: VecDeque<usize>,
    /// A raw C giver that yielded inside its call, before it cleared this item's `is_polling`.
    giver_inside: Option<usize>,
    /// Bookkeeping: the giver and the first waiter's thread have finished.
    giver_done: bool,
    first_done: bool,
    /// Bookkeeping: the work queue's thread may stop once its queue is empty.
    stop: bool,
    /// Bookkeeping: wakes each waiter's executor received, and those by its handler.
    wakes: [usize; 2],
    handler_wakes: [usize; 2],
}

impl Kernel {
    fn new() -> Self {
        Kernel {
            count: 0,
            polled_by: VecDeque::new(),
            work: Default::default(),
            queue: VecDeque::new(),
            giver_inside: None,
            giver_done: false,
            first_done: false,
            stop: false,
            wakes: [0; 2],
            handler_wakes: [0; 2],
        }
    }

    /// `k_work_submit_to_queue`, the queueing: returns whether it queued the item (a result
    /// above 0, after which a preemptible caller yields).
    fn submit(&mut self, w: usize) -> bool {
        assert!(!self.work[w].released, "work submitted {RELEASED}");
        if self.work[w].queued {
            return false;
        }
        self.work[w].queued = true;
        self.queue.push_back(w);
        true
    }

    /// `k_work_poll_cancel`: 0 if the work was still polling for its events (then it is
    /// unregistered and no longer owned), `-EINVAL` otherwise (Zephyr 2.7's
    /// `triggered_work_cancel`, which does not look at the `k_work` flags).
    fn k_work_poll_cancel(&mut self, w: usize) -> c_int {
        let work = &mut self.work[w];
        if !(work.owned && work.is_polling && work.triggered_mode) {
            return -EINVAL;
        }
        work.triggered_mode = false;
        work.owned = false;
        self.polled_by.retain(|&x| x != w);
        0
    }

    /// `k_work_busy_get` != 0 (no delayable or cancelling states here).
    fn busy(&self, w: usize) -> bool {
        self.work[w].queued || self.work[w].running
    }

    /// Nothing can change any more but the second waiter itself: the giver and the first
    /// waiter have finished, and the work queue has nothing queued or running.
    fn quiescent(&self) -> bool {
        self.giver_done
            && self.first_done
            && self.queue.is_empty()
            && self.work.iter().all(|w| !w.running)
    }
}

/// `irq_lock` on one CPU, and the kernel it guards: critical sections, ISRs and kernel calls
/// exclude each other. `changed` wakes the threads that block (the work queue, a waiter in
/// `k_work_cancel_sync` or `wait_for_trigger`, an executor with nothing to poll).
struct Irq {
    lock: Mutex<()>,
    changed: Condvar,
    kernel: UnsafeCell<Kernel>,
}

// SAFETY: `kernel` is only accessed with `lock` held (`Irq::with`, `Irq::wait`, and reads
// inside a `PollState` transition, which holds it too); loom checks that claim.
unsafe impl Sync for Irq {}

impl Irq {
    fn new() -> Self {
        Self {
            lock: Mutex::new(()),
            changed: Condvar::new(),
            kernel: UnsafeCell::new(Kernel::new()),
        }
    }

    /// A kernel call: `f` on the kernel under the lock.
    fn with<R>(&self, f: impl FnOnce(&mut Kernel) -> R) -> R {
        let _guard = self.lock.lock().unwrap();
        // SAFETY: the lock is held.
        self.kernel.with_mut(|k| f(unsafe { &mut *k }))
    }

    /// A kernel call that may end a blocked thread's wait (it queues work, ends a handler,
    /// clears `is_polling`, wakes an executor, ends a thread): [`with`](Self::with), then the
    /// blocked threads look again. (Only these notify: each notification is a point where
    /// loom may switch threads, and the others would only add interleavings.)
    fn change<R>(&self, f: impl FnOnce(&mut Kernel) -> R) -> R {
        let guard = self.lock.lock().unwrap();
        // SAFETY: the lock is held.
        let r = self.kernel.with_mut(|k| f(unsafe { &mut *k }));
        self.changed.notify_all();
        drop(guard);
        r
    }

    /// A read of the kernel by a caller that holds the lock (inside a `PollState` transition).
    fn read<R>(&self, f: impl FnOnce(&Kernel) -> R) -> R {
        // SAFETY: the caller holds the lock.
        self.kernel.with(|k| f(unsafe { &*k }))
    }

    /// Blocks until `ready` holds, then runs `then` under the same lock.
    fn wait<R>(&self, ready: impl Fn(&Kernel) -> bool, then: impl FnOnce(&mut Kernel) -> R) -> R {
        let mut guard: MutexGuard<'_, ()> = self.lock.lock().unwrap();
        // SAFETY: the lock is held (re-acquired by each wait).
        while !self.kernel.with(|k| ready(unsafe { &*k })) {
            guard = self.changed.wait(guard).unwrap();
        }
        // SAFETY: as above.
        let r = self.kernel.with_mut(|k| then(unsafe { &mut *k }));
        drop(guard);
        r
    }
}

/// A wait's [`Shared`] in a loom cell, locked by the model's `irq_lock`: `futures.rs`'s
/// `CriticalCell`, with loom checking every access.
struct IrqCell {
    irq: Arc<Irq>,
    shared: UnsafeCell<Shared>,
}

// SAFETY: `shared` is only accessed under `irq.lock`, or by `unlocked` when `PollState`'s
// contract says nothing else touches it; loom checks both.
unsafe impl Sync for IrqCell {}

impl SharedCell for IrqCell {
    fn lock<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        let _guard = self.irq.lock.lock().unwrap();
        // SAFETY: the lock is held.
        self.shared.with_mut(|shared| f(unsafe { &mut *shared }))
    }

    unsafe fn unlocked<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        // SAFETY: the caller's contract; loom reports an access that races with it.
        self.shared.with_mut(|shared| f(unsafe { &mut *shared }))
    }
}

// ---- the system ----------------------------------------------------------------------------

/// How the giver gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Giver {
    /// In one step: an ISR, or `Semaphore::give` (under the scheduler lock).
    Atomic,
    /// A raw C `k_sem_give` from a preemptible thread: it yields inside
    /// `k_work_submit_to_queue` after it queued the work, and clears `is_polling` after.
    Yielding,
}

/// Which cancel the waiters run: `futures.rs`'s, or a broken one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Real,
    /// The cancel before issue 8's fix: a work item discarded from its queue counts as not
    /// notified (`settle` without `poll_result`).
    TrustsEinval,
    /// `k_work_cancel` instead of `k_work_cancel_sync`: a running handler is not waited for.
    NoSync,
    /// `k_work_poll_cancel` without `k_work_busy_get` first.
    NoBusyCheck,
    /// No `wait_for_trigger` (in cancel and before a re-arm).
    NoWaitForTrigger,
}

/// One model: the giver, what the first waiter does, the cancel, and how hard loom looks.
#[derive(Clone, Copy, Debug)]
struct Model {
    giver: Giver,
    /// Whether the first waiter, if woken before it is dropped, is polled once more (it may
    /// then take the semaphore, or re-arm).
    first_polls_when_woken: bool,
    variant: Variant,
    /// loom's preemption bound (`LOOM_MAX_PREEMPTIONS` overrides it).
    preemptions: usize,
}

/// What every thread shares: the kernel, the two waits' cells, bookkeeping outside the model
/// (std atomics: loom runs one thread at a time, and they add no interleavings).
struct System {
    model: Model,
    irq: Arc<Irq>,
    cells: [IrqCell; 2],
    /// Handler runs, per waiter.
    fires: [StdAtomicUsize; 2],
    /// Semaphores each waiter's `take_async` took (as its result).
    took: [StdAtomicUsize; 2],
}

impl System {
    fn new(model: Model) -> Self {
        let irq = Arc::new(Irq::new());
        let cell = || IrqCell { irq: irq.clone(), shared: UnsafeCell::new(Shared::new()) };
        Self {
            model,
            cells: [cell(), cell()],
            irq,
            fires: Default::default(),
            took: Default::default(),
        }
    }

    /// Waiter `w`'s state machine (over the borrowed cell: no copy, as `park.rs`'s broken
    /// variants borrow their atomic).
    fn state(&self, w: usize) -> PollState<&IrqCell> {
        PollState::new(&self.cells[w])
    }

    /// `k_sem_take(sem, K_NO_WAIT) == 0`.
    fn k_sem_take_no_wait(&self) -> bool {
        self.irq.with(|k| {
            let taken = k.count > 0;
            k.count -= u32::from(taken);
            taken
        })
    }

    /// `k_sem_give`, as `giver` gives (the hand-on's give is always atomic: `without_yield`).
    /// `last` runs in the call's last step (bookkeeping, without a step of its own).
    fn k_sem_give(&self, giver: Giver, last: impl FnOnce(&mut Kernel)) {
        let yielded = self.irq.change(|k| {
            // No thread pends in `k_sem_take` in this model: the count goes up, and
            // `z_handle_obj_poll_events` takes the first registration off the list.
            k.count += 1;
            let Some(w) = k.polled_by.pop_front() else {
                last(k);
                return None;
            };
            assert!(!k.work[w].released, "a give notified a registration {RELEASED}");
            // `signal_triggered_work` (every registration on the list is in triggered mode).
            let work = &mut k.work[w];
            let queued = if work.is_polling && work.owned {
                work.poll_result = 0;
                k.submit(w)
            } else {
                false
            };
            if queued && giver == Giver::Yielding {
                k.giver_inside = Some(w);
                return Some((w, last));
            }
            // `signal_poll_event`, right after.
            k.work[w].is_polling = false;
            last(k);
            None
        });
        // `k_yield()` inside `k_work_submit_to_queue`: any other thread may run here. (Not
        // `loom::thread::yield_now()`, which would make this switch free of the preemption
        // bound and multiply the interleavings by ten; a bound of one more pays for it.)
        if let Some((w, last)) = yielded {
            // Back in `signal_poll_event`.
            self.irq.change(|k| {
                assert!(!k.work[w].released, "a giver cleared is_polling of a wait {RELEASED}");
                k.work[w].is_polling = false;
                k.giver_inside = None;
                last(k);
            });
        }
    }

    /// The work queue's thread, until told to stop.
    fn work_queue(&self) {
        loop {
            let item = self.irq.wait(
                |k| !k.queue.is_empty() || k.stop,
                |k| {
                    let w = k.queue.pop_front()?;
                    let work = &mut k.work[w];
                    assert!(!work.released, "the work queue ran a work item {RELEASED}");
                    assert_ne!(
                        work.fired_for,
                        Some(work.registration),
                        "the handler ran twice for one registration"
                    );
                    work.fired_for = Some(work.registration);
                    work.queued = false;
                    work.running = true;
                    // `triggered_work_handler`: unregisters, drops the ownership.
                    if work.triggered_mode {
                        k.polled_by.retain(|&x| x != w);
                    }
                    k.work[w].owned = false;
                    Some(w)
                },
            );
            let Some(w) = item else { return };
            self.fired(w);
            // The handler returned: `K_WORK_RUNNING` cleared, `k_work_cancel_sync` released.
            self.irq.change(|k| {
                assert!(!k.work[w].released, "a handler was still running {RELEASED}");
                k.work[w].running = false;
            });
        }
    }

    /// `futures.rs`'s `fired`: the transition, then the wake outside the lock.
    fn fired(&self, w: usize) {
        let waker = self.state(w).fire(|| {
            self.irq.read(|k| {
                assert!(!k.work[w].released, "a handler ran {RELEASED}");
                k.work[w].poll_result
            })
        });
        self.fires[w].fetch_add(1, Relaxed);
        let waker = waker.expect("the handler found no waker: a registered waker was lost");
        waker.wake();
    }

    /// `k_work_poll_init` and `k_work_poll_submit_to_queue` on the semaphore, `K_FOREVER`.
    fn k_work_poll_submit(&self, w: usize) {
        self.irq.change(|k| {
            let work = &mut k.work[w];
            assert!(!work.released, "a wait was re-armed {RELEASED}");
            assert!(
                !work.queued && !work.running,
                "k_work_poll_init on a work item that is queued or running"
            );
            assert!(
                k.giver_inside != Some(w),
                "a wait was re-armed while the giver that triggered it is inside its call: it \
                 clears is_polling of the new registration, which then misses its event"
            );
            work.registration += 1;
            work.owned = true;
            work.is_polling = true;
            work.triggered_mode = false;
            work.poll_result = -EINPROGRESS;
            if k.count > 0 {
                // Ready now: submitted at once.
                k.work[w].is_polling = false;
                k.work[w].poll_result = 0;
                k.submit(w);
            } else {
                k.work[w].triggered_mode = true;
                k.polled_by.push_back(w);
            }
        });
    }

    /// `k_work_cancel_sync`: takes the item off its queue, or waits for its running handler.
    fn k_work_cancel_sync(&self, w: usize) {
        self.k_work_cancel(w);
        self.irq.wait(|k| !k.work[w].running, |_| ());
    }

    /// `k_work_cancel`: takes the item off its queue; a running handler goes on.
    fn k_work_cancel(&self, w: usize) {
        self.irq.with(|k| {
            if k.work[w].queued {
                k.work[w].queued = false;
                k.queue.retain(|&x| x != w);
            }
        });
    }

    /// `futures.rs`'s `wait_for_trigger`: until `is_polling` is clear (a giver that triggered
    /// the work has returned from its call). A sleep loop there, a condition variable here.
    fn wait_for_trigger(&self, w: usize) {
        self.irq.wait(|k| !k.work[w].is_polling, |_| ());
    }

    /// `settle` as it was before issue 8's fix: only a handler that ran counts.
    fn settle_trusting_einval(&self, w: usize) -> bool {
        self.cells[w].lock(|shared| {
            let notified = shared.state == FIRED && shared.result == 0;
            shared.state = IDLE;
            shared.waker = None;
            notified
        })
    }
}

/// A waiter's executor's waker: counts wakes in the kernel (the executor sleeps on them).
struct TaskWaker {
    irq: Arc<Irq>,
    w: usize,
}

impl Wake for TaskWaker {
    /// The handler's wake (it owns the waker it took).
    fn wake(self: Arc<Self>) {
        let w = self.w;
        self.irq.change(|k| {
            assert!(!k.work[w].released, "a waker was woken {RELEASED}");
            k.wakes[w] += 1;
            k.handler_wakes[w] += 1;
        });
    }

    /// A future waking itself (`PollWait::poll` while the last handler finishes).
    fn wake_by_ref(self: &Arc<Self>) {
        let w = self.w;
        self.irq.change(|k| k.wakes[w] += 1);
    }
}

// ---- the futures ---------------------------------------------------------------------------

/// `futures.rs`'s `PollWait` on the semaphore: the same transitions and kernel calls, in the
/// same order.
struct PollWait {
    system: Arc<System>,
    w: usize,
    armed: bool,
}

impl PollWait {
    /// `<PollWait as Future>::poll`: the kernel's result when it fired.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<c_int> {
        let (s, w) = (&*self.system, self.w);
        match s.state(w).poll(cx.waker()) {
            Polled::Waiting => Poll::Pending,
            Polled::Fired(result) => Poll::Ready(result),
            Polled::Idle => {
                if self.armed {
                    if s.irq.with(|k| k.busy(w)) {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    if s.model.variant != Variant::NoWaitForTrigger {
                        s.wait_for_trigger(w);
                    }
                }
                s.state(w).arm(cx.waker());
                s.k_work_poll_submit(w);
                self.armed = true;
                match s.state(w).fired_early() {
                    Some(result) => Poll::Ready(result),
                    None => Poll::Pending,
                }
            }
        }
    }

    /// `PollWait::cancel` (or a broken variant of it): whether a notification arrived that
    /// was not reported.
    fn cancel(&mut self) -> bool {
        let (s, w) = (&*self.system, self.w);
        let variant = s.model.variant;
        if !self.armed {
            return false;
        }
        if s.state(w).cancel() == Cancel::TryUnregister {
            // One critical section: `k_work_busy_get`, then `k_work_poll_cancel`.
            let r = s.irq.with(|k| {
                if variant != Variant::NoBusyCheck && k.busy(w) {
                    -EINVAL
                } else {
                    k.k_work_poll_cancel(w)
                }
            });
            if r == 0 {
                // SAFETY: unregistered before anything triggered it (if the kernel is right).
                unsafe { s.state(w).unregistered() };
                self.armed = false;
                return false;
            }
        }
        if variant == Variant::NoSync {
            s.k_work_cancel(w);
        } else {
            s.k_work_cancel_sync(w);
        }
        let notified = if variant == Variant::TrustsEinval {
            s.settle_trusting_einval(w)
        } else {
            s.state(w).settle(|| s.irq.read(|k| k.work[w].poll_result))
        };
        if variant != Variant::NoWaitForTrigger {
            s.wait_for_trigger(w);
        }
        self.armed = false;
        notified
    }
}

/// `asynch.rs`'s `TakeAsync` (no timeout): its `poll`, and its drop (`cancel_and_hand_on`
/// with `sem_hand_on`), which then releases the wait's memory. Called explicitly, not from
/// `Drop`: a drop during a panic's unwinding would make kernel calls.
struct TakeAsync {
    wait: PollWait,
}

impl TakeAsync {
    fn new(system: Arc<System>, w: usize) -> Self {
        Self { wait: PollWait { system, w, armed: false } }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let s = self.wait.system.clone();
        loop {
            if s.k_sem_take_no_wait() {
                s.took[self.wait.w].fetch_add(1, Relaxed);
                return Poll::Ready(());
            }
            match self.wait.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(0) => continue,
                Poll::Ready(result) => unreachable!("no timeout in this model: {result}"),
            }
        }
    }

    /// Drop: `cancel_and_hand_on`, then the memory goes; `last` runs in that last step.
    fn drop_wait(mut self, last: impl FnOnce(&mut Kernel)) {
        let s = self.wait.system.clone();
        let w = self.wait.w;
        if self.wait.cancel() {
            // `sem_hand_on`: take it and give it back (without yielding), which notifies the
            // next waiter.
            if s.k_sem_take_no_wait() {
                s.k_sem_give(Giver::Atomic, |_| ());
            }
        }
        s.irq.change(|k| {
            let work = &k.work[w];
            assert!(
                !work.queued && !work.running,
                "the work queue still holds a work item {RELEASED} (cancel returned too early)"
            );
            assert!(!k.polled_by.contains(&w), "a semaphore still lists a registration {RELEASED}");
            assert!(
                k.giver_inside != Some(w),
                "a giver is still inside the call that triggered a wait {RELEASED}"
            );
            k.work[w].released = true;
            last(k);
        });
    }
}

// ---- the threads and the checks ------------------------------------------------------------

impl Model {
    /// Checks every interleaving (within the preemption bound) of the four threads. Prints
    /// and returns how many loom explored.
    fn check(self) -> usize {
        let iterations = Arc::new(StdAtomicUsize::new(0));
        let counter = iterations.clone();
        let start = std::time::Instant::now();
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(self.preemptions));
        builder.max_branches = 10_000;
        let bound = builder.preemption_bound;
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            builder.check(move || {
                counter.fetch_add(1, Relaxed);
                run(self);
            })
        }));
        let n = iterations.load(Relaxed);
        let elapsed = start.elapsed();
        if let Err(panic) = checked {
            println!("{self:?} (bound {bound:?}): failed at interleaving {n}, {elapsed:.1?}");
            std::panic::resume_unwind(panic);
        }
        println!("{self:?} (bound {bound:?}): {n} interleavings in {elapsed:.1?}");
        n
    }
}

/// One execution: the first waiter registers, then the four threads run; the checks.
fn run(model: Model) {
    let system = Arc::new(System::new(model));
    let waker = |w| Waker::from(Arc::new(TaskWaker { irq: system.irq.clone(), w }));

    // The first waiter registers first: a give notifies it.
    let mut first = TakeAsync::new(system.clone(), 0);
    let first_waker = waker(0);
    assert!(first.poll(&mut Context::from_waker(&first_waker)).is_pending());

    let work_queue = {
        let system = system.clone();
        thread::spawn(move || system.work_queue())
    };
    let giver = {
        let system = system.clone();
        thread::spawn(move || {
            system.k_sem_give(model.giver, |k| k.giver_done = true);
        })
    };
    let first_thread = {
        let system = system.clone();
        thread::spawn(move || {
            // Dropped wherever loom runs this thread: before the give, or after it with the
            // work queued, running or done; polled once more first if it was woken.
            if model.first_polls_when_woken && system.irq.with(|k| k.wakes[0] > 0) {
                let _ = first.poll(&mut Context::from_waker(&first_waker));
            }
            first.drop_wait(|k| k.first_done = true);
        })
    };

    // The second waiter, on this thread, with an executor that sleeps until woken.
    let second_waker = waker(1);
    let mut second = TakeAsync::new(system.clone(), 1);
    let (mut seen, mut seen_from_handler) = (0, 0);
    loop {
        if second.poll(&mut Context::from_waker(&second_waker)).is_ready() {
            break;
        }
        let (wakes, from_handler, count) = system.irq.wait(
            |k| k.wakes[1] > seen || k.quiescent(),
            |k| (k.wakes[1], k.handler_wakes[1], k.count),
        );
        if wakes == seen {
            // Nothing can wake it any more: (a).
            assert_eq!(count, 0, "{LOST}");
            break;
        }
        if from_handler == seen_from_handler {
            // It woke itself (a handler still finishing): let the work queue run.
            thread::yield_now();
        }
        (seen, seen_from_handler) = (wakes, from_handler);
    }
    second.drop_wait(|_| ());

    giver.join().unwrap();
    first_thread.join().unwrap();
    system.irq.change(|k| k.stop = true);
    work_queue.join().unwrap();

    // (a): the one give was taken once, and nothing is left.
    let took: u32 = system.took.iter().map(|t| t.load(Relaxed) as u32).sum();
    let (count, handler_wakes) = system.irq.with(|k| (k.count, k.handler_wakes));
    assert_eq!((count, took), (0, 1), "{LOST} (count, takes) at the end; one give");
    // (c): each handler run woke its waker once.
    for (wakes, fires) in handler_wakes.iter().zip(&system.fires) {
        assert_eq!(*wakes, fires.load(Relaxed), "wakes per handler run");
    }
}

// ---- the models ----------------------------------------------------------------------------

const fn model(giver: Giver, first_polls_when_woken: bool, preemptions: usize) -> Model {
    Model { giver, first_polls_when_woken, variant: Variant::Real, preemptions }
}

/// An ISR (or this crate's `give`) gives while the first waiter is dropped at any point:
/// the notification reaches the second waiter, whether the first one's work was registered,
/// queued, running or done.
#[test]
fn a_dropped_waiter_hands_its_notification_on() {
    model(Giver::Atomic, false, 2).check();
}

/// The same with a raw C give from a preemptible thread, which yields inside its call: the
/// first waiter's cancel waits for it (`wait_for_trigger`) before its memory goes.
#[test]
fn a_giver_inside_its_call_is_waited_for() {
    model(Giver::Yielding, false, 2).check();
}

/// The first waiter, if woken, is polled once more before it is dropped: it takes the
/// semaphore, or finds it taken (the second waiter's first look was faster) and re-arms, or
/// wakes itself while its handler finishes.
#[test]
fn a_woken_waiter_polled_again_then_dropped() {
    model(Giver::Atomic, true, 2).check();
}

/// The same with the raw C giver: the re-arm waits until the giver has returned.
#[test]
fn a_woken_waiter_re_armed_after_the_giver_returned() {
    model(Giver::Yielding, true, 2).check();
}

// ---- broken variants: the model must catch each --------------------------------------------

/// Issue 8's bug: the first waiter's work was triggered and queued, its cancel discards it
/// (`k_work_poll_cancel` said `-EINVAL`) and, without reading `poll_result`, reports no
/// notification: the second waiter sleeps with the count at 1.
#[test]
#[should_panic(expected = "lost notification")]
fn broken_a_cancel_trusting_einval_loses_the_notification() {
    Model { variant: Variant::TrustsEinval, ..model(Giver::Atomic, false, 2) }.check();
}

/// `k_work_cancel` instead of `k_work_cancel_sync`: the cancel returns while the handler
/// runs, and the handler touches the released wait.
#[test]
#[should_panic(expected = "released")]
fn broken_a_cancel_not_waiting_for_the_handler() {
    Model { variant: Variant::NoSync, ..model(Giver::Atomic, false, 2) }.check();
}

/// `k_work_poll_cancel` without `k_work_busy_get`: while a raw C giver is inside its call,
/// Zephyr 2.7 reports the queued work cancelled (0), and its handler runs later.
#[test]
#[should_panic(expected = "released")]
fn broken_a_cancel_without_the_busy_check() {
    Model { variant: Variant::NoBusyCheck, ..model(Giver::Yielding, false, 2) }.check();
}

/// No `wait_for_trigger`: the wait's memory goes (or is re-armed) while the giver that
/// triggered it is still inside its call, which then writes to it.
#[test]
#[should_panic(expected = "giver")]
fn broken_no_wait_for_the_giver() {
    Model { variant: Variant::NoWaitForTrigger, ..model(Giver::Yielding, false, 2) }.check();
}
