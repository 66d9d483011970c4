//! An async kernel wait's states: what `PollWait` and its handler do under the lock, and the
//! decisions they return instead of kernel calls.
//!
//! A [`PollWait`](super::futures::PollWait) shares three fields with its triggered work's
//! handler ([`Shared`]: the state, the result, the waker), which both sides touch only inside
//! critical sections. [`PollState`] holds them and takes every transition; the future and the
//! handler (`futures.rs`) make the kernel calls around them (`k_work_poll_submit_to_queue`,
//! `k_work_poll_cancel`, `k_work_cancel_sync`) in the order the transitions ask for. This
//! module makes none, so the same code runs on the MCU and in the loom model check
//! (`tests/loom_poll_wait.rs`, which includes this file and checks its interleavings against a
//! model of the kernel's triggered work).
//!
//! ```text
//!              arm, then k_work_poll_submit_to_queue
//!   ┌──────► IDLE ─────────────────────────────────────► WAITING ◄──┐ poll: stores the
//!   │         ▲  ▲                                         │  │  │   │ newest waker
//!   │         │  └─ unregistered: k_work_poll_cancel == 0 ─┘  │  └───┘ (Polled::Waiting)
//!   │         │                                               │ fire: the handler, on the
//!   │         │    poll / fired_early: Polled::Fired(result)  ▼ work queue's thread
//!   │         └────────────────────────────────────────────  FIRED
//!   │
//!   └── settle, after k_work_cancel_sync, from WAITING or FIRED: notified and not reported?
//! ```
//!
//! | from    | to      | by                                                                   |
//! | ------- | ------- | -------------------------------------------------------------------- |
//! | IDLE    | WAITING | [`arm`](PollState::arm), before the future submits its work          |
//! | WAITING | WAITING | [`poll`](PollState::poll): stores the newest waker                   |
//! | WAITING | FIRED   | [`fire`](PollState::fire): the kernel's result; takes the waker      |
//! | FIRED   | IDLE    | [`poll`](PollState::poll) or [`fired_early`](PollState::fired_early) |
//! | WAITING | IDLE    | [`unregistered`](PollState::unregistered): the work never triggered  |
//! | any     | IDLE    | [`settle`](PollState::settle): its handler is done or discarded      |
//!
//! Cancelling ([`PollState::cancel`]) is two-phase. While the state says WAITING the work may
//! still be registered on its objects: the future asks the kernel to unregister it (only if it
//! is not queued or running: `k_work_busy_get`, then `k_work_poll_cancel`, in one critical
//! section), and if that returns 0 the handler will never run ([`Cancel::TryUnregister`]).
//! Otherwise an event (or the timeout) already triggered it: the future takes it off its queue
//! or waits for its running handler (`k_work_cancel_sync`, [`Cancel::WaitForHandler`]), and
//! [`settle`](PollState::settle) then tells whether a notification arrived that the future never
//! reported: FIRED with result 0, or still WAITING (the queued work was discarded before its
//! handler ran) with the result the kernel stored when it triggered (`poll_result`, 0 for an
//! event). Trusting `k_work_poll_cancel`'s `-EINVAL` alone lost that notification (issue 8).
//!
//! Cost: one critical section per call (the same ones `futures.rs` had before this module, in
//! the same places), a waker clone in `arm` and in `poll` while waiting; the writes after the
//! handler is done with the state (`unregistered`, a result reported) take no lock. No kernel
//! call.
//!
//! The lock and cell are a type parameter ([`SharedCell`]): an `UnsafeCell` under
//! `critical_section` in `futures.rs`, a loom cell under a loom mutex (the model's `irq_lock`)
//! in the model check.

use core::ffi::c_int;
use core::task::Waker;

/// Not armed, or its last notification reported.
pub(crate) const IDLE: u8 = 0;
/// Armed: the triggered work is registered, or triggered and its handler has not run yet.
pub(crate) const WAITING: u8 = 1;
/// The handler ran: `result` holds the kernel's `poll_result`, not reported yet.
pub(crate) const FIRED: u8 = 2;

/// What a wait shares with its handler; only touched under the [`SharedCell`]'s lock.
pub(crate) struct Shared {
    /// [`IDLE`], [`WAITING`] or [`FIRED`].
    pub(crate) state: u8,
    /// The kernel's `poll_result` when the handler ran: 0 for an event, `-EAGAIN` for the
    /// timeout.
    pub(crate) result: c_int,
    /// Whom the handler wakes.
    pub(crate) waker: Option<Waker>,
}

impl Shared {
    /// Idle, nothing stored.
    pub(crate) const fn new() -> Self {
        Self { state: IDLE, result: 0, waker: None }
    }
}

/// Where [`Shared`] lives and how it is locked: `critical_section` over an `UnsafeCell` on
/// every target (`futures.rs`), a loom mutex over a loom cell in the model check.
pub(crate) trait SharedCell {
    /// Runs `f` on the state inside the lock (a critical section: the handler, any ISR and any
    /// other thread are excluded).
    fn lock<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R;

    /// Runs `f` on the state without the lock.
    ///
    /// # Safety
    /// Nothing else may touch the state meanwhile: the handler never runs for this arm (it was
    /// unregistered before it triggered) or is done with the state (it set FIRED), and the
    /// caller owns the wait.
    unsafe fn unlocked<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R;
}

impl<C: SharedCell> SharedCell for &C {
    #[inline(always)]
    fn lock<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        C::lock(*self, f)
    }

    #[inline(always)]
    unsafe fn unlocked<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        // SAFETY: the caller's contract, passed on.
        unsafe { C::unlocked(*self, f) }
    }
}

/// What [`PollState::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "Polled::Idle obliges the caller to arm the wait (or report it)"]
pub(crate) enum Polled {
    /// Still waiting; the newest waker is stored.
    Waiting,
    /// The handler ran with this result, now reported (the state is IDLE again).
    Fired(c_int),
    /// Not armed (or its last result was reported): arm it to wait.
    Idle,
}

/// What the future must do next to cancel (after [`PollState::cancel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a cancel must finish before the wait's memory goes"]
pub(crate) enum Cancel {
    /// The state says WAITING: in one critical section, if the work is neither queued nor
    /// running (`k_work_busy_get` == 0), `k_work_poll_cancel`; if that returns 0, call
    /// [`unregistered`](PollState::unregistered) and stop: the handler never runs. Otherwise go
    /// on as for [`WaitForHandler`](Cancel::WaitForHandler).
    TryUnregister,
    /// Triggered or fired: `k_work_cancel_sync` (the handler is then done or will never run),
    /// then [`settle`](PollState::settle).
    WaitForHandler,
}

/// The transitions of one wait's [`Shared`] state, in the cell `C`.
pub(crate) struct PollState<C: SharedCell> {
    cell: C,
}

impl<C: SharedCell> PollState<C> {
    /// A state in `cell`, which must hold an IDLE [`Shared`].
    pub(crate) const fn new(cell: C) -> Self {
        Self { cell }
    }

    /// The future is polled: WAITING stores `waker` (the handler wakes the newest); FIRED
    /// reports the result and goes IDLE; IDLE asks the caller to arm.
    #[inline(always)]
    pub(crate) fn poll(&self, waker: &Waker) -> Polled {
        let (state, result) = self.cell.lock(|shared| {
            if shared.state == WAITING {
                shared.waker = Some(waker.clone());
            }
            (shared.state, shared.result)
        });
        match state {
            WAITING => Polled::Waiting,
            FIRED => {
                // SAFETY: the handler left its critical section after it set FIRED and touches
                // the state no more; nothing else does until the caller arms the wait again.
                unsafe { self.report() };
                Polled::Fired(result)
            }
            _ => Polled::Idle,
        }
    }

    /// FIRED -> IDLE: the result is reported. Outside the lock, as `futures.rs` always did it:
    /// a second critical section would buy nothing.
    ///
    /// # Safety
    /// The state is FIRED: the handler has set it and touches it no more.
    #[inline(always)]
    unsafe fn report(&self) {
        // SAFETY: the caller's contract.
        unsafe { self.cell.unlocked(|shared| shared.state = IDLE) };
    }

    /// IDLE -> WAITING with `waker`, right before the future submits its triggered work (so a
    /// handler that runs at once finds both).
    #[inline(always)]
    pub(crate) fn arm(&self, waker: &Waker) {
        self.cell.lock(|shared| {
            shared.state = WAITING;
            shared.waker = Some(waker.clone());
        });
    }

    /// Right after the submit: if the handler already ran (an event that was ready, on a
    /// queue more urgent than the caller), FIRED -> IDLE and its result, to report now.
    #[inline(always)]
    pub(crate) fn fired_early(&self) -> Option<c_int> {
        let (state, result) = self.cell.lock(|shared| (shared.state, shared.result));
        if state != FIRED {
            return None;
        }
        // SAFETY: FIRED, read inside the lock.
        unsafe { self.report() };
        Some(result)
    }

    /// The handler, on the work queue's thread: -> FIRED with `poll_result()` (the kernel's
    /// result, read inside the lock), and the waker to wake once the lock is released.
    #[inline(always)]
    pub(crate) fn fire(&self, poll_result: impl FnOnce() -> c_int) -> Option<Waker> {
        self.cell.lock(|shared| {
            shared.state = FIRED;
            shared.result = poll_result();
            shared.waker.take()
        })
    }

    /// An armed wait is cancelled: whether it may still be registered
    /// ([`Cancel::TryUnregister`]) or must wait for its handler ([`Cancel::WaitForHandler`]).
    #[inline(always)]
    pub(crate) fn cancel(&self) -> Cancel {
        if self.cell.lock(|shared| shared.state) == WAITING {
            Cancel::TryUnregister
        } else {
            Cancel::WaitForHandler
        }
    }

    /// `k_work_poll_cancel` returned 0 after [`Cancel::TryUnregister`]: WAITING -> IDLE.
    ///
    /// # Safety
    /// The kernel unregistered the work before any event or timeout triggered it, so its
    /// handler never runs, and the caller owns the wait.
    #[inline(always)]
    pub(crate) unsafe fn unregistered(&self) {
        // SAFETY: the caller's contract: no handler touches the state any more.
        unsafe { self.cell.unlocked(|shared| shared.state = IDLE) };
    }

    /// The handler is done or will never run (after `k_work_cancel_sync`): -> IDLE, the waker
    /// dropped. Returns whether a notification arrived that the future has not reported: the
    /// handler ran with result 0 (FIRED), or the work was triggered and discarded from its
    /// queue before its handler ran (still WAITING) and `poll_result()`, the result the
    /// kernel stored when it triggered, is 0. The caller must then pass the notification on.
    #[inline(always)]
    pub(crate) fn settle(&self, poll_result: impl FnOnce() -> c_int) -> bool {
        self.cell.lock(|shared| {
            let notified = match shared.state {
                FIRED => shared.result == 0,
                WAITING => poll_result() == 0,
                _ => false,
            };
            shared.state = IDLE;
            shared.waker = None;
            notified
        })
    }
}

#[cfg(test)]
mod tests {
    //! The transitions one at a time, as a specification; `tests/loom_poll_wait.rs` checks
    //! their interleavings with the handler and the kernel.

    use core::cell::RefCell;

    use super::*;

    const EAGAIN: c_int = -11;

    /// A cell for one thread: the lock is a `RefCell` borrow.
    struct Local(RefCell<Shared>);

    impl SharedCell for Local {
        fn lock<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
            f(&mut self.0.borrow_mut())
        }

        unsafe fn unlocked<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
            f(&mut self.0.borrow_mut())
        }
    }

    /// A waker that does nothing (`Waker::noop` needs Rust 1.85; the crate supports 1.80).
    fn noop() -> Waker {
        use core::task::{RawWaker, RawWakerVTable};
        const VTABLE: RawWakerVTable = RawWakerVTable::new(
            |_| RawWaker::new(core::ptr::null(), &VTABLE),
            |_| {},
            |_| {},
            |_| {},
        );
        // SAFETY: the vtable's functions ignore the (null) data pointer.
        unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) }
    }

    fn idle() -> PollState<Local> {
        PollState::new(Local(RefCell::new(Shared::new())))
    }

    #[test]
    fn a_fired_wait_reports_its_result_once() {
        let state = idle();
        assert_eq!(state.poll(&noop()), Polled::Idle);
        state.arm(&noop());
        assert_eq!(state.fired_early(), None);
        assert_eq!(state.poll(&noop()), Polled::Waiting);
        assert!(state.fire(|| 0).is_some(), "the handler takes the waker the future stored");
        assert_eq!(state.poll(&noop()), Polled::Fired(0));
        assert_eq!(state.poll(&noop()), Polled::Idle);
    }

    #[test]
    fn a_handler_that_ran_before_the_submit_returned_is_reported_at_once() {
        let state = idle();
        state.arm(&noop());
        assert!(state.fire(|| EAGAIN).is_some());
        assert_eq!(state.fired_early(), Some(EAGAIN));
        assert_eq!(state.poll(&noop()), Polled::Idle);
    }

    #[test]
    fn a_waiting_wait_is_unregistered_with_nothing_to_hand_on() {
        let state = idle();
        state.arm(&noop());
        assert_eq!(state.cancel(), Cancel::TryUnregister);
        // SAFETY: a test: no handler exists.
        unsafe { state.unregistered() };
        assert_eq!(state.poll(&noop()), Polled::Idle);
    }

    /// Issue 8: the event triggered the work, `k_work_poll_cancel` said `-EINVAL` and
    /// `k_work_cancel_sync` discarded the queued work before its handler ran. The result the
    /// kernel stored tells: an event is a notification to hand on, the timeout is not.
    #[test]
    fn a_trigger_discarded_before_its_handler_ran_is_a_notification() {
        for (poll_result, notified) in [(0, true), (EAGAIN, false)] {
            let state = idle();
            state.arm(&noop());
            assert_eq!(state.cancel(), Cancel::TryUnregister);
            assert_eq!(state.settle(|| poll_result), notified);
            assert_eq!(state.poll(&noop()), Polled::Idle);
        }
    }

    #[test]
    fn a_fired_result_not_reported_is_a_notification() {
        for (result, notified) in [(0, true), (EAGAIN, false)] {
            let state = idle();
            state.arm(&noop());
            let _ = state.fire(|| result);
            assert_eq!(state.cancel(), Cancel::WaitForHandler);
            assert_eq!(state.settle(|| unreachable!("the handler's result counts")), notified);
        }
        // Reported already: nothing to hand on.
        let state = idle();
        state.arm(&noop());
        let _ = state.fire(|| 0);
        assert_eq!(state.poll(&noop()), Polled::Fired(0));
        assert_eq!(state.cancel(), Cancel::WaitForHandler);
        assert!(!state.settle(|| unreachable!()));
    }
}
