//! Waiting for kernel events from async code, under any executor.
//!
//! The kernel can notify code that is not a thread in one way that works for every kernel
//! object and every producer (a Rust or C caller, a thread or an ISR): **triggered work**
//! (`k_work_poll`). [`PollWait`] registers a `k_work_poll` on one poll event (a semaphore
//! becoming available, data in a queue, a raised poll signal) with an absolute timeout; when
//! the event fires or the timeout expires, the kernel queues the work item on a work queue (the
//! system one by default), whose handler wakes the `Waker` stored next to it. The waiting
//! future is therefore woken by an ordinary `Waker::wake`, whatever executor polls it:
//! `zephyr::embassy::Executor`, `kio`, or any other.
//!
//! [`Sleep`] does the same with delayable work for a plain delay.
//!
//! # States and cancellation
//!
//! ```text
//!            poll: k_work_poll_submit            handler (work queue thread)
//!   Idle ──────────────────────────────► Waiting ─────────────────────────────► Fired(result)
//!    ▲                                      │ drop: k_work_poll_cancel == 0        │
//!    └──────── poll again (re-arm) ─────────┴──────────────────────────────────────┘
//! ```
//!
//! Dropping a future that waits cancels its registration ([`PollWait::cancel`]): if it still
//! waits, `k_work_poll_cancel` unregisters it. If the event already triggered, the work item
//! may be queued or running (`k_work_poll_cancel` then returns `-EINVAL`, `kernel/poll.c`), so
//! it is taken off its queue or its handler is waited for (`k_work_cancel_sync`) before the
//! memory goes: no kernel list ever points into freed memory, and no stale wake arrives later.
//!
//! The state the future shares with its handler, and every transition of it, is in
//! `poll_state.rs` (`PollState`, which draws them in full); this module makes the kernel calls
//! around them. `tests/loom_poll_wait.rs` model-checks that state machine with loom against a
//! model of the kernel's triggered work: no notification lost when a notified waiter is dropped,
//! no handler running after `cancel` returned, one wake per triggered registration.
//!
//! # Notification order, and passing a notification on
//!
//! A kernel object notifies only its *first* registered poller (`z_handle_obj_poll_events`
//! in `kernel/poll.c` takes one event off the object's list). A future that was notified but
//! is dropped before it takes what it was told about must pass the notification on, or the
//! next waiter sleeps while the object is ready. [`PollWait::cancel`] says whether that
//! happened, whether the handler had run or not: when the queued work item is discarded, the
//! result the kernel stored when it triggered (`poll_result`: 0 for an event, `-EAGAIN` for the
//! timeout) still tells. The callers then hand it on: a semaphore is taken and given back (a
//! give with no thread waiting notifies the next poller, `kernel/sem.c`), a poll signal is
//! raised again with its result, a message queue raises its hand-on signal.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context, Poll};

use zephyr_sys::*;

use super::poll_state::{Cancel, PollState, Polled, Shared, SharedCell, FIRED, IDLE, WAITING};
use super::WorkQueue;
use crate::time::Timeout;

/// [`Shared`] in an `UnsafeCell`, locked by critical sections: the [`SharedCell`] of every
/// target.
struct CriticalCell(UnsafeCell<Shared>);

impl SharedCell for CriticalCell {
    #[inline(always)]
    fn lock<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        // SAFETY: the cell is only touched inside critical sections like this one, or by
        // `unlocked` when the handler cannot run: `f` holds the only reference.
        critical_section::with(|_| f(unsafe { &mut *self.0.get() }))
    }

    #[inline(always)]
    unsafe fn unlocked<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        // SAFETY: the caller guarantees nothing else touches the state meanwhile.
        f(unsafe { &mut *self.0.get() })
    }
}

/// Triggered work waiting for one or two poll events, with the waker to wake.
#[repr(C)]
struct Registration {
    /// First: the handler's `*mut k_work` points here.
    work: k_work_poll,
    events: [k_poll_event; 2],
    /// What each event polls (`K_POLL_TYPE_*`) and on which object, for `k_poll_event_init`.
    types: [u32; 2],
    objs: [*mut c_void; 2],
    /// How many of `events` are used (1 or 2).
    num: usize,
    /// Whether `work` was ever initialised and submitted (so drop has something to cancel).
    armed: bool,
    /// What the future shares with the handler, and its transitions.
    state: PollState<CriticalCell>,
    queue: WorkQueue,
    _pinned: PhantomPinned,
}

unsafe extern "C-unwind" fn fired(work: *mut k_work) {
    // SAFETY: `work` is the `k_work` at the start of the `k_work_poll` at the start of a
    // repr(C) `Registration`, which stays alive until this handler has returned (its drop
    // cancels or waits with `k_work_cancel_sync`).
    let reg = unsafe { &*(work as *const Registration) };
    // SAFETY: `reg.work` is the triggered work this handler runs for.
    let waker = reg.state.fire(|| unsafe { zr_k_work_poll_result(&reg.work) });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Runs `make_ready`, a kernel call that may notify an async waiter (`k_sem_give`,
/// `k_msgq_put`, `k_poll_signal_raise`), so that it cannot yield inside: in a thread, under
/// `k_sched_lock`, whose `k_sched_unlock` is then the reschedule point (a more urgent work
/// queue runs the handler there, once the call has returned). Without the lock, a preemptible
/// thread's call yields before it is done with the waiter's registration (see
/// [`wait_for_trigger`]), and the woken task must then wait for that thread before it may
/// reuse or free the registration. This crate's own givers all go through here; raw calls from
/// C keep Zephyr's behaviour, which the waits handle.
pub(crate) fn without_yield<R>(make_ready: impl FnOnce() -> R) -> R {
    if crate::thread::is_in_isr() {
        return make_ready(); // an ISR never yields
    }
    // SAFETY: thread context; the lock is released below, on every path that returns.
    unsafe { k_sched_lock() };
    let r = make_ready();
    // SAFETY: paired with the lock above.
    unsafe { k_sched_unlock() };
    r
}

/// Returns once the kernel call that triggered `work` has returned.
///
/// When a preemptible thread's kernel call (`k_sem_give`, `k_msgq_put`, ...) triggers work,
/// `k_work_submit_to_queue` yields inside it, so a more urgent queue runs the handler, and the
/// woken task may run, before the call returns; after it returns, `signal_poll_event` still
/// writes `poller.is_polling = false` and the event's state (kernel/poll.c). Triggered work
/// re-submitted before that loses `is_polling` and misses its next event; memory freed before
/// that is written to. The window is open while `is_polling` is still set after the trigger;
/// the thread in it is ready (it yielded), so sleeping a tick lets it finish. This happens only
/// in that rare order, and costs nothing otherwise.
fn wait_for_trigger(work: &k_work_poll) {
    // SAFETY: a valid k_work_poll (a field of a live registration).
    while unsafe { zr_k_work_poll_is_polling(work) } {
        assert!(
            !crate::thread::is_in_isr(),
            "an async kernel wait was re-armed or dropped in an ISR while the thread that \
             triggered it is inside its kernel call"
        );
        // SAFETY: thread context (checked above).
        unsafe { k_sleep(K_TICKS(1)) };
    }
}

/// What a [`PollWait`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollResult {
    /// The event fired: the object may be ready (another waiter may have been faster).
    Ready,
    /// The timeout expired first.
    TimedOut,
}

/// A future that resolves when a kernel poll event fires or a deadline passes, woken through
/// triggered work on a work queue. Re-usable: after it resolves, polling it again waits again.
pub struct PollWait {
    reg: Registration,
    deadline: Option<k_ticks_t>,
    no_wait: bool,
    hand_on: Option<(HandOn, *const c_void)>,
}

/// What passes a notification on when a [`PollWait`] goes away after one it did not report
/// (see the module docs): called with the context given to [`PollWait::hand_on`].
pub type HandOn = unsafe fn(*const c_void);

// SAFETY: the registration is only shared with its handler through kernel calls and critical
// sections, never through thread-bound state; the object it polls is a kernel object, usable
// from any thread. Polling or dropping it on another thread is fine; the hand-on context is
// a kernel object or a `Sync` owner of one (`hand_on`'s contract).
unsafe impl Send for PollWait {}

impl PollWait {
    /// Waits for `type_` (`K_POLL_TYPE_*`) on `obj`, at most until `timeout` (an absolute
    /// deadline is computed now; `K_FOREVER` waits forever), notified through the system work
    /// queue.
    ///
    /// `obj` must be a kernel object of the kind `type_` names that outlives this future.
    pub fn new(type_: u32, obj: *mut c_void, timeout: impl Into<Timeout>) -> Self {
        Self::on_queue(type_, obj, timeout, &WorkQueue::system_queue())
    }

    /// Like [`new`](Self::new), notified through `queue`.
    pub fn on_queue(
        type_: u32,
        obj: *mut c_void,
        timeout: impl Into<Timeout>,
        queue: &WorkQueue,
    ) -> Self {
        let timeout = timeout.into();
        PollWait {
            reg: Registration {
                work: k_work_poll::new(),
                events: [k_poll_event::new(type_, obj), k_poll_event::new(type_, obj)],
                types: [type_, type_],
                objs: [obj, obj],
                num: 1,
                armed: false,
                state: PollState::new(CriticalCell(UnsafeCell::new(Shared::new()))),
                queue: *queue,
                _pinned: PhantomPinned,
            },
            deadline: absolute_deadline(timeout),
            no_wait: timeout.0 == K_NO_WAIT,
            hand_on: None,
        }
    }

    /// When this future is dropped (or [`cancel_and_hand_on`](Self::cancel_and_hand_on)
    /// is called) after an event notified it and before it reported that, `hand_on(context)`
    /// passes the notification on to the next waiter.
    ///
    /// # Safety
    /// `hand_on` must be sound to call with `context` for as long as this future lives.
    pub unsafe fn hand_on(mut self, hand_on: HandOn, context: *const c_void) -> Self {
        self.hand_on = Some((hand_on, context));
        self
    }

    /// [`cancel`](Self::cancel), then the [`hand_on`](Self::hand_on) function if a
    /// notification would otherwise be lost.
    pub fn cancel_and_hand_on(&mut self) {
        if self.cancel() {
            if let Some((hand_on, context)) = self.hand_on {
                // SAFETY: `hand_on`'s contract.
                unsafe { hand_on(context) };
            }
        }
    }

    /// Also wakes when `type_` fires on `obj` (a second event, for example a hand-on
    /// signal beside a message queue's data event).
    ///
    /// `obj` must be a kernel object of the kind `type_` names that outlives this future.
    ///
    /// # Panics
    /// If the wait already has two events.
    pub fn or(mut self, type_: u32, obj: *mut c_void) -> Self {
        assert!(self.reg.num == 1, "PollWait::or: at most two events");
        self.reg.events[1] = k_poll_event::new(type_, obj);
        self.reg.types[1] = type_;
        self.reg.objs[1] = obj;
        self.reg.num = 2;
        self
    }

    /// True when the timeout is `NoWait`: the caller should not wait at all.
    pub fn is_no_wait(&self) -> bool {
        self.no_wait
    }

    /// Stops waiting: unregisters the triggered work, or, if an event already triggered it,
    /// takes it off its queue or waits for its handler (thread context). Returns true when an
    /// event notified this future and it has not reported it: the caller must pass the
    /// notification on (see the module docs), or another waiter may never hear of it.
    ///
    /// Afterwards the future is idle: polling it again waits again. Dropping it cancels too
    /// (and forgets the answer).
    pub fn cancel(&mut self) -> bool {
        let reg = &mut self.reg;
        if !reg.armed {
            return false; // never armed
        }
        if reg.state.cancel() == Cancel::TryUnregister {
            // Still waiting, unless an event triggered it and it is queued or running: then
            // `k_work_poll_cancel` must not be asked, as it would report it cancelled while
            // the thread whose call triggered it has not returned (see `wait_for_trigger`).
            // Atomic against ISRs that trigger it.
            let work = &mut reg.work as *mut k_work_poll;
            // SAFETY: the registration is valid; neither call blocks.
            let r = critical_section::with(|_| unsafe {
                if k_work_busy_get(zr_k_work_poll_work(work)) == 0 {
                    k_work_poll_cancel(work)
                } else {
                    -EINVAL
                }
            });
            if r == 0 {
                // SAFETY: unregistered before anything triggered it: its handler never runs.
                unsafe { reg.state.unregistered() };
                reg.armed = false;
                return false;
            }
        }
        // Triggered (queued or running) or finished: make sure the handler is done.
        // SAFETY: the registration is valid; cancelling a work item that is idle, queued or
        // running is allowed in thread context.
        unsafe {
            let mut sync = k_work_sync::default();
            k_work_cancel_sync(zr_k_work_poll_work(&mut reg.work), &mut sync);
        }
        // Triggered, but the queued work may have been discarded before its handler ran: the
        // kernel stored the result when it triggered (0: an event, -EAGAIN: timeout).
        // SAFETY: the work item is idle now (cancelled or finished).
        let notified = reg.state.settle(|| unsafe { zr_k_work_poll_result(&reg.work) });
        wait_for_trigger(&reg.work);
        reg.armed = false;
        notified
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        // SAFETY: k_uptime_ticks has no preconditions.
        self.deadline.is_some_and(|d| unsafe { k_uptime_ticks() } >= d)
    }
}

/// The absolute tick at which `timeout` ends if it starts now (a relative timeout of N ticks
/// ends N + 1 ticks after the current tick, as a blocking call's would; `NoWait` ends now).
pub fn absolute_deadline(timeout: Timeout) -> Option<k_ticks_t> {
    let t = timeout.0;
    if t == K_FOREVER {
        return None;
    }
    if t == K_NO_WAIT {
        // SAFETY: k_uptime_ticks has no preconditions.
        return Some(unsafe { k_uptime_ticks() });
    }
    let abs = Z_TICK_ABS(t.ticks);
    if abs >= 0 {
        return Some(abs);
    }
    // SAFETY: k_uptime_ticks has no preconditions.
    Some(unsafe { k_uptime_ticks() }.saturating_add(t.ticks.max(0)).saturating_add(1))
}

impl Future for PollWait {
    type Output = PollResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<PollResult> {
        // SAFETY: nothing is moved out; the registration stays pinned inside `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let reg = &mut this.reg;
        match reg.state.poll(cx.waker()) {
            Polled::Waiting => Poll::Pending,
            Polled::Fired(result) => Poll::Ready(reported(result)),
            Polled::Idle => {
                if reg.armed {
                    // SAFETY: the work item is idle or finishing its previous run.
                    if unsafe { k_work_busy_get(zr_k_work_poll_work(&mut reg.work)) } != 0 {
                        // The previous handler has not returned yet (a preemptible queue thread
                        // was preempted right after waking us): try again shortly.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    wait_for_trigger(&reg.work);
                }
                let timeout = match this.deadline {
                    None => K_FOREVER,
                    Some(d) => K_TIMEOUT_ABS_TICKS(d),
                };
                reg.state.arm(cx.waker());
                // SAFETY: the registration is pinned (it does not move until dropped, and drop
                // unregisters it); the events' objects outlive the future (`new`'s contract).
                let ret = unsafe {
                    k_work_poll_init(&mut reg.work, Some(fired));
                    for i in 0..reg.num {
                        k_poll_event_init(
                            &mut reg.events[i],
                            reg.types[i],
                            K_POLL_MODE_NOTIFY_ONLY,
                            reg.objs[i],
                        );
                    }
                    k_work_poll_submit_to_queue(
                        reg.queue.as_raw(),
                        &mut reg.work,
                        reg.events.as_mut_ptr(),
                        reg.num as core::ffi::c_int,
                        timeout,
                    )
                };
                assert!(ret == 0, "k_work_poll_submit_to_queue failed: {ret}");
                reg.armed = true;
                // The handler may have run already (an event that was ready, on a queue more
                // urgent than us): report it now rather than wait for the wake.
                match reg.state.fired_early() {
                    Some(result) => Poll::Ready(reported(result)),
                    None => Poll::Pending,
                }
            }
        }
    }
}

/// What a fired wait reports for the kernel's `poll_result`.
fn reported(result: c_int) -> PollResult {
    if result == 0 {
        PollResult::Ready
    } else {
        PollResult::TimedOut
    }
}

impl Drop for PollWait {
    fn drop(&mut self) {
        self.cancel_and_hand_on();
    }
}

/// A future that completes after a delay, woken through delayable work on the system work
/// queue (so it works under any executor). `kio::sleep` returns one.
pub struct Sleep {
    reg: SleepReg,
    deadline: Option<k_ticks_t>,
}

#[repr(C)]
struct SleepReg {
    /// First: the handler's `*mut k_work` points here.
    work: k_work_delayable,
    /// Whether `work` was ever initialised and scheduled (so drop has something to cancel).
    armed: bool,
    shared: UnsafeCell<Shared>,
    _pinned: PhantomPinned,
}

unsafe extern "C-unwind" fn slept(work: *mut k_work) {
    // SAFETY: `work` is the `k_work` at the start of the `k_work_delayable` at the start of a
    // repr(C) `SleepReg`, alive until this handler has returned (see `Sleep`'s drop).
    let reg = unsafe { &*(work as *const SleepReg) };
    let waker = critical_section::with(|_| {
        // SAFETY: `shared` is only touched inside critical sections.
        let shared = unsafe { &mut *reg.shared.get() };
        shared.state = FIRED;
        shared.waker.take()
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

// SAFETY: as for `PollWait`.
unsafe impl Send for Sleep {}

impl Sleep {
    /// Completes when `timeout` has passed (measured from now; `Forever` never completes).
    pub fn new(timeout: impl Into<Timeout>) -> Self {
        Sleep {
            reg: SleepReg {
                work: k_work_delayable::new(),
                armed: false,
                shared: UnsafeCell::new(Shared { state: IDLE, result: 0, waker: None }),
                _pinned: PhantomPinned,
            },
            deadline: absolute_deadline(timeout.into()),
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out; the registration stays pinned inside `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(deadline) = this.deadline else {
            return Poll::Pending; // forever: nothing will wake it
        };
        let reg = &mut this.reg;
        let state = critical_section::with(|_| {
            // SAFETY: `shared` is only touched inside critical sections.
            let shared = unsafe { &mut *reg.shared.get() };
            shared.waker = Some(cx.waker().clone());
            shared.state
        });
        match state {
            FIRED => Poll::Ready(()),
            WAITING => Poll::Pending,
            _ => {
                // SAFETY: k_uptime_ticks has no preconditions.
                if unsafe { k_uptime_ticks() } >= deadline {
                    return Poll::Ready(());
                }
                critical_section::with(|_| {
                    // SAFETY: as above.
                    unsafe { (*reg.shared.get()).state = WAITING };
                });
                // SAFETY: the registration is pinned and unregistered by drop.
                let ret = unsafe {
                    k_work_init_delayable(&mut reg.work, Some(slept));
                    k_work_schedule_for_queue(
                        k_sys_work_q_ptr(),
                        &mut reg.work,
                        K_TIMEOUT_ABS_TICKS(deadline),
                    )
                };
                assert!(ret >= 0, "k_work_schedule_for_queue failed: {ret}");
                reg.armed = true;
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let reg = &mut self.reg;
        if !reg.armed {
            return; // never armed
        }
        // SAFETY: the registration is valid; this takes it off its timeout or queue, and waits
        // if its handler is running.
        unsafe {
            let mut sync = k_work_sync::default();
            k_work_cancel_delayable_sync(&mut reg.work, &mut sync);
        }
    }
}
