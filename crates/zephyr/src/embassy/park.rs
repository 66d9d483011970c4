//! The executor's park/pend handshake: two flag bits, and decisions instead of kernel calls.
//!
//! The executor's thread blocks on a binary semaphore (`k_sem`, limit 1) when no task is ready,
//! and a pender gives it. [`Flags`] decides *when*: [`Flags::pend`] answers whether the caller
//! must give the semaphore ([`Pend::Give`]), [`Flags::park`] whether the executor must take it
//! ([`Park::Take`]). The executor (`executor.rs`) makes those kernel calls; this module makes
//! none, so the same code runs on the MCU and in the loom model check
//! (`tests/loom_executor.rs`, which includes this file and checks its interleavings).
//!
//! ```text
//!   run loop (executor thread)                  pender (any thread, any ISR, inside poll)
//!   ──────────────────────────                  ─────────────────────────────────────────
//! ┌►Flags::clear: store 0                       Flags::pend:
//! │ poll every ready task                         load == PENDED: Pend::Done (fast path)
//! │ Flags::park:                                  prev = fetch_or(PENDED)
//! │   load has PENDED: Park::Poll ──────┐         prev == PARKED (this pender alone saw
//! │   CAS 0 -> PARKED fails: Park::Poll ┤           PARKED without PENDED):
//! │   CAS ok: Park::Take                │           store PENDED (ends PARKED)
//! │     (the executor: k_sem_take)      │           Pend::Give (the pender: k_sem_give)
//! └─────────────────────────────────────┘         else: Pend::Done (no kernel call)
//! ```
//!
//! The states of the flags byte, and the function that takes each transition:
//!
//! | from              | to                | by                                           |
//! | ----------------- | ----------------- | -------------------------------------------- |
//! | any (not PARKED)  | 0                 | `clear`, before each poll                    |
//! | 0                 | PENDED            | `pend` while running: `Pend::Done`           |
//! | 0                 | PARKED            | `park`: `Park::Take`                         |
//! | PARKED            | PARKED \| PENDED  | the first `pend` after the park's CAS        |
//! | PARKED \| PENDED  | PENDED            | that same `pend`'s store: `Pend::Give`       |
//!
//! Why no wake-up is lost: a pend during the poll leaves `PENDED` set, so `park`'s CAS fails
//! and the loop polls again; a pend after the CAS sees `PARKED` and gives, and a semaphore
//! remembers a give that comes before the take. Why the semaphore's count never exceeds 1:
//! only the one pender whose `fetch_or` returned exactly `PARKED` gives, once per `Take`, and
//! the executor touches the flags again only after its take returned.
//!
//! Cost: a pend while the executor runs is one load (already `PENDED`) or one load and one
//! `fetch_or` (the first pend of a poll round), never a kernel call.
//!
//! The atomics are a type parameter ([`AtomicFlags`]): `core`'s `AtomicU8` on every target,
//! loom's in the model check, where this file is compiled into the test crate.

use core::sync::atomic::{AtomicU8, Ordering};

/// A task became ready since the executor last cleared the flags.
pub(crate) const PENDED: u8 = 1;
/// The executor's thread is blocked, or about to block, in its semaphore take.
pub(crate) const PARKED: u8 = 2;

/// The atomic byte the flags live in: the four operations the handshake uses, with
/// `core::sync::atomic::AtomicU8`'s meaning. Implemented for that type here, and for loom's
/// `AtomicU8` by the model check.
pub(crate) trait AtomicFlags {
    /// `AtomicU8::load`.
    fn load(&self, order: Ordering) -> u8;
    /// `AtomicU8::store`.
    fn store(&self, value: u8, order: Ordering);
    /// `AtomicU8::fetch_or`.
    fn fetch_or(&self, value: u8, order: Ordering) -> u8;
    /// `AtomicU8::compare_exchange`.
    fn compare_exchange(
        &self,
        current: u8,
        new: u8,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u8, u8>;
}

impl AtomicFlags for AtomicU8 {
    #[inline(always)]
    fn load(&self, order: Ordering) -> u8 {
        AtomicU8::load(self, order)
    }

    #[inline(always)]
    fn store(&self, value: u8, order: Ordering) {
        AtomicU8::store(self, value, order)
    }

    #[inline(always)]
    fn fetch_or(&self, value: u8, order: Ordering) -> u8 {
        AtomicU8::fetch_or(self, value, order)
    }

    #[inline(always)]
    fn compare_exchange(
        &self,
        current: u8,
        new: u8,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u8, u8> {
        AtomicU8::compare_exchange(self, current, new, success, failure)
    }
}

/// What the caller of [`Flags::pend`] must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "Pend::Give obliges the caller to give the executor's semaphore"]
pub(crate) enum Pend {
    /// Nothing: the executor runs, or another pend already woke it; a poll is due anyway.
    Done,
    /// Give the executor's semaphore: it parked, and this pend alone ended `PARKED`.
    Give,
}

/// What the executor must do after [`Flags::park`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "Park::Take obliges the executor to take its semaphore before polling again"]
pub(crate) enum Park {
    /// Poll again at once: a pend arrived since [`Flags::clear`].
    Poll,
    /// Take the semaphore (block until a pend gives it), then poll.
    Take,
}

/// The executor's two flag bits, `PENDED` and `PARKED`, in one atomic byte.
pub(crate) struct Flags<A: AtomicFlags = AtomicU8> {
    bits: A,
}

impl<A: AtomicFlags> Flags<A> {
    /// Flags in `bits`, which must hold 0 (running, nothing pended).
    pub(crate) const fn new(bits: A) -> Self {
        Self { bits }
    }

    /// Run loop, before each poll: clears `PENDED`. `PARKED` is clear here ([`park`](Self::park)
    /// returns `Take` only with `PARKED` set, and the take returns only after a pend's store
    /// ended it), so this is a store, not a read-modify-write.
    #[inline(always)]
    pub(crate) fn clear(&self) {
        self.bits.store(0, Ordering::Release);
    }

    /// A task became ready (it was queued before this call): makes the executor poll soon.
    /// Callable from any thread or ISR, and from inside the executor's own poll.
    ///
    /// The fast path assumes what embassy-executor's run queue does: the enqueue before this
    /// call is an acquire read-modify-write of the queue, ordered after the executor's last
    /// take of it (a release). So a pend whose task that take missed sees the `clear` before
    /// it, and cannot mistake an older `PENDED` for a poll still due. Over a run queue that
    /// does not synchronise, the model check loses a wake-up here.
    #[inline(always)]
    pub(crate) fn pend(&self) -> Pend {
        // Already pended and running: a poll is due after this point anyway (the executor
        // clears PENDED only right before it polls, and the task was queued before this call).
        if self.bits.load(Ordering::Acquire) == PENDED {
            return Pend::Done;
        }
        // 0 -> PENDED (running: no kernel call), or PARKED -> PARKED | PENDED: then this pender
        // is the only one that saw PARKED without PENDED, and it unparks.
        let prev = self.bits.fetch_or(PENDED, Ordering::AcqRel);
        if prev == PARKED {
            // The executor thread, once PARKED, touches the flags again only after its take
            // returns, which needs this pender's give; other penders only set PENDED again. So
            // a store ends PARKED.
            self.bits.store(PENDED, Ordering::Release);
            Pend::Give
        } else {
            Pend::Done
        }
    }

    /// Run loop, after a poll: whether the executor thread may block, which it may only if no
    /// pend arrived since [`clear`](Self::clear). On `Take` the flags say `PARKED`, and the
    /// executor must take its semaphore before it calls `clear` again.
    #[inline(always)]
    pub(crate) fn park(&self) -> Park {
        if self.bits.load(Ordering::Acquire) & PENDED != 0 {
            return Park::Poll;
        }
        match self.bits.compare_exchange(0, PARKED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Park::Take,
            Err(_) => Park::Poll,
        }
    }
}
