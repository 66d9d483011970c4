//! The executor's park/pend protocol (`src/embassy/park.rs`), model-checked with loom: every
//! interleaving of penders and the run loop within a preemption bound, with the atomics'
//! orderings (loom's C11 model).
//!
//! Run: `RUSTFLAGS="--cfg zephyr_loom" cargo test -p zephyr --test loom_executor --release`
//! (with a target directory of its own: the flag rebuilds everything). Not `--cfg loom`: that
//! turns loom on inside cordyceps, embassy-executor's run queue, which then fails to build.
//! `-- --nocapture` prints how many interleavings each model explored.
//!
//! The model is the executor's loop (`executor.rs`, `run_until`) on loom's main thread and one
//! to three penders on loom threads, running `park.rs` itself, with the kernel replaced by loom
//! primitives:
//!
//! * `k_sem` (limit 1) is a count under a loom `Mutex` with a `Condvar`: `take` blocks until
//!   the count is 1 and takes it; `give` makes it 1, and asserts it was 0 (the protocol claims
//!   one give per park, so the count never needs the limit).
//! * embassy-executor's run queue is a counter of ready tasks: a wake adds one and calls the
//!   pender only when the queue was empty (`raw::SyncExecutor::enqueue`; cordyceps'
//!   `push_was_empty`, an `AcqRel` exchange), or after every wake in the stricter models, and
//!   a poll takes them all (`take_all`, an `AcqRel` swap).
//!
//! What is checked: no lost wake-up (the loop parks only while a wake is unpolled, so a take
//! that waits when every pender has finished waits forever: `take` panics "lost wake-up"); the
//! count never exceeds 1 (the assertion in `give`); a pend from inside the executor's own poll
//! makes no kernel call. Broken variants (`#[should_panic]`) show that the model can fail: a
//! wake by `k_thread_resume` before `k_thread_suspend` is lost; a park decided with a load and a
//! store instead of one compare-exchange loses a pend; a pender that gives whenever it sees
//! `PARKED` gives twice for one park; and the pend's fast path loses a pend over a run queue
//! that does not synchronise (the one assumption `park.rs` makes of embassy-executor).
//!
//! Within the bounds the tests set (2 to 4 preemptions; `LOOM_MAX_PREEMPTIONS` overrides them)
//! the correct models explore 54 000 to 230 000 interleavings each, about two minutes in all on
//! two cores; each broken variant fails in under a second.
#![cfg(zephyr_loom)]

#[path = "../src/embassy/park.rs"]
#[allow(dead_code)]
mod park;

use std::sync::atomic::AtomicUsize as StdAtomicUsize;

use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use park::{AtomicFlags, Flags, Park, Pend, PARKED, PENDED};

/// loom's `AtomicU8` as the flags' atomic, with one deviation: a store is modelled as a swap
/// (same ordering, the read discarded). loom 0.7 orders a plain store and a concurrent
/// read-modify-write only partially, so it lets a later load read a value that the store
/// provably overwrote (a coherence violation, of the class of tokio-rs/loom#254 and #389),
/// which here shows as a false lost wake-up. A swap is ordered after the value it reads, and
/// every execution with the swap is one of the store's (the same writes in the same order,
/// the same values read by the other operations), so the check explores a subset of the
/// store's executions, each of them valid.
impl AtomicFlags for AtomicU8 {
    fn load(&self, order: Ordering) -> u8 {
        AtomicU8::load(self, order)
    }

    fn store(&self, value: u8, order: Ordering) {
        AtomicU8::swap(self, value, order);
    }

    fn fetch_or(&self, value: u8, order: Ordering) -> u8 {
        AtomicU8::fetch_or(self, value, order)
    }

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

// ---- the two sides the executor is built from: decisions and the kernel ------------------

/// The flag protocol: the real [`Flags`], or a broken variant.
trait Protocol: Send + Sync + 'static {
    fn new() -> Self;
    fn clear(&self);
    fn pend(&self) -> Pend;
    fn park(&self) -> Park;
}

impl Protocol for Flags<AtomicU8> {
    fn new() -> Self {
        Flags::new(AtomicU8::new(0))
    }

    fn clear(&self) {
        Flags::clear(self)
    }

    fn pend(&self) -> Pend {
        Flags::pend(self)
    }

    fn park(&self) -> Park {
        Flags::park(self)
    }
}

/// How the executor's thread blocks and is woken: `give` is the pender's kernel call, `take`
/// the run loop's. `take` panics ("lost wake-up") instead of blocking forever once every
/// pender has finished (`pender_finished`) and no give is left: loom's own deadlock report
/// works too, but it aborts the test process, which `#[should_panic]` cannot catch.
trait Kernel: Send + Sync + 'static {
    fn new(penders: usize) -> Self;
    fn give(&self);
    fn take(&self);
    fn pender_finished(&self);
}

/// The message of a lost wake-up.
const LOST: &str = "lost wake-up: the executor blocks for good with a task queued";

/// A thread's blocking state, shared with the threads that may wake it, and whether every
/// pender has finished (set by the last one, under the same lock, so a blocked thread wakes
/// to see it). The count of penders left is test bookkeeping outside the model (a std atomic:
/// loom runs one thread at a time, and it adds no interleavings).
struct Blocking<T> {
    state: Mutex<(T, bool)>,
    changed: Condvar,
    penders_left: StdAtomicUsize,
}

impl<T> Blocking<T> {
    fn new(value: T, penders: usize) -> Self {
        Self {
            state: Mutex::new((value, penders == 0)),
            changed: Condvar::new(),
            penders_left: StdAtomicUsize::new(penders),
        }
    }

    /// Runs `f` on the value under the lock, and wakes the blocked thread.
    fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut state = self.state.lock().unwrap();
        let r = f(&mut state.0);
        self.changed.notify_one();
        r
    }

    /// Blocks until `ready` holds, then runs `then`; panics with [`LOST`] when no pender is
    /// left to make `ready` hold.
    fn wait(&self, ready: impl Fn(&T) -> bool, then: impl FnOnce(&mut T)) {
        let mut state = self.state.lock().unwrap();
        while !ready(&state.0) {
            assert!(!state.1, "{LOST}");
            state = self.changed.wait(state).unwrap();
        }
        then(&mut state.0);
    }

    fn pender_finished(&self) {
        if self.penders_left.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) == 1 {
            self.state.lock().unwrap().1 = true;
            self.changed.notify_one();
        }
    }
}

/// `k_sem` with limit 1, as the executor uses it: the count.
struct BinarySemaphore(Blocking<u32>);

impl Kernel for BinarySemaphore {
    fn new(penders: usize) -> Self {
        Self(Blocking::new(0, penders))
    }

    /// `k_sem_give`: the count goes to 1, and a waiting taker wakes.
    fn give(&self) {
        self.0.update(|count| {
            assert_eq!(*count, 0, "a second give for one park: the semaphore's count would be 2");
            *count = 1;
        });
    }

    /// `k_sem_take(K_FOREVER)`: waits until the count is 1, and takes it.
    fn take(&self) {
        self.0.wait(|&count| count == 1, |count| *count = 0);
    }

    fn pender_finished(&self) {
        self.0.pender_finished();
    }
}

/// Broken kernel: `k_thread_suspend` / `k_thread_resume`, with whether the executor's thread
/// is suspended. A resume of a thread that is not suspended yet does nothing
/// (`kernel/sched.c`): it is not remembered, unlike a give.
struct SuspendResume(Blocking<bool>);

impl Kernel for SuspendResume {
    fn new(penders: usize) -> Self {
        Self(Blocking::new(false, penders))
    }

    /// `k_thread_resume(executor)`.
    fn give(&self) {
        self.0.update(|suspended| *suspended = false);
    }

    /// `k_thread_suspend(k_current_get())`.
    fn take(&self) {
        self.0.update(|suspended| *suspended = true);
        self.0.wait(|&suspended| !suspended, |_| {});
    }

    fn pender_finished(&self) {
        self.0.pender_finished();
    }
}

// ---- the executor ------------------------------------------------------------------------

/// An executor as `executor.rs` builds it from a protocol and a kernel, with embassy's run
/// queue reduced to a count of ready tasks.
struct Executor<P, K> {
    flags: P,
    kernel: K,
    queued: AtomicUsize,
    model: Model,
}

impl<P: Protocol, K: Kernel> Executor<P, K> {
    fn new(model: Model) -> Self {
        Self { flags: P::new(), kernel: K::new(model.penders), queued: AtomicUsize::new(0), model }
    }

    /// `Signal::pend` (the `__pender`): the decision, then the kernel call it asks for.
    /// Returns the decision.
    fn pend(&self) -> Pend {
        let decision = self.flags.pend();
        if decision == Pend::Give {
            self.kernel.give();
        }
        decision
    }

    /// A task becomes ready, as embassy's waker does it: it is queued, then the pender is
    /// called (see [`PendOn`]). Returns the pender's decision, if it was called.
    fn wake(&self) -> Option<Pend> {
        let was_empty = self.queued.fetch_add(1, self.model.queue_order) == 0;
        match self.model.pend_on {
            PendOn::EmptyQueue if !was_empty => None,
            _ => Some(self.pend()),
        }
    }

    /// `run_until`, until every wake was polled. In each of the first `self_wakes` polls, a
    /// task wakes itself (or another task of this executor) from inside the poll, which must
    /// make no kernel call. Returns the number of polls.
    fn run(&self) -> usize {
        let Model { penders, wakes_each, mut self_wakes, queue_order, .. } = self.model;
        let total = penders * wakes_each + self_wakes;
        let mut polled = 0;
        let mut polls = 0;
        loop {
            self.flags.clear();
            // `raw.poll()`: every task queued so far runs (cordyceps' `take_all`).
            polled += self.queued.swap(0, queue_order);
            polls += 1;
            if self_wakes > 0 {
                self_wakes -= 1;
                let decision = self.wake();
                assert_ne!(decision, Some(Pend::Give), "a pend inside poll made a kernel call");
            }
            // `done()`.
            if polled == total {
                return polls;
            }
            if self.flags.park() == Park::Take {
                self.kernel.take();
            }
        }
    }
}

// ---- the checks --------------------------------------------------------------------------

/// When a wake calls the pender.
#[derive(Clone, Copy, Debug)]
enum PendOn {
    /// As embassy-executor does: only the wake that finds the run queue empty.
    EmptyQueue,
    /// After every wake: a stricter test of the protocol (any pend sequence must work), and
    /// the one that lets a double give show (embassy's rule hides it: a second pend of one
    /// park needs the first pend's task polled, which needs the park to end).
    EveryWake,
}

/// One model: who wakes the executor, how often, and how hard loom looks.
#[derive(Clone, Copy, Debug)]
struct Model {
    pend_on: PendOn,
    /// Pender threads (loom runs at most 5 threads, the executor's included).
    penders: usize,
    /// Wakes per pender thread.
    wakes_each: usize,
    /// Polls, the first ones, in which a task wakes a task of the executor.
    self_wakes: usize,
    /// The ordering of the run queue's enqueue and take-all: `AcqRel` as in cordyceps.
    queue_order: Ordering,
    /// loom's preemption bound (`LOOM_MAX_PREEMPTIONS` overrides it): how many times a thread
    /// may be switched away from while it could go on. Exhaustive search grows too fast past
    /// two penders; bugs of this size show within two or three (see the broken variants).
    preemptions: usize,
}

impl Model {
    /// `penders` threads waking `wakes_each` times each, as embassy wakes, with `preemptions`.
    const fn new(penders: usize, wakes_each: usize, preemptions: usize) -> Self {
        Self {
            pend_on: PendOn::EmptyQueue,
            penders,
            wakes_each,
            self_wakes: 0,
            queue_order: Ordering::AcqRel,
            preemptions,
        }
    }

    /// Checks every interleaving (within the preemption bound) of the pender threads against
    /// the run loop, with protocol `P` and kernel `K`. Prints and returns how many loom
    /// explored.
    fn check<P: Protocol, K: Kernel>(self) -> usize {
        let iterations = std::sync::Arc::new(StdAtomicUsize::new(0));
        let counter = iterations.clone();
        let start = std::time::Instant::now();
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(self.preemptions));
        builder.max_branches = 10_000;
        let bound = builder.preemption_bound;
        builder.check(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let executor = Arc::new(Executor::<P, K>::new(self));
            let threads: Vec<_> = (0..self.penders)
                .map(|_| {
                    let executor = executor.clone();
                    thread::spawn(move || {
                        for _ in 0..self.wakes_each {
                            executor.wake();
                        }
                        executor.kernel.pender_finished();
                    })
                })
                .collect();
            let polls = executor.run();
            for t in threads {
                t.join().unwrap();
            }
            assert!(polls > self.self_wakes, "a wake inside a poll is polled by a later poll");
        });
        let n = iterations.load(std::sync::atomic::Ordering::Relaxed);
        println!("{self:?} (bound {bound:?}): {n} interleavings in {:.1?}", start.elapsed());
        n
    }
}

/// The real protocol and semaphore.
type Real = Flags<AtomicU8>;

/// Two penders, two wakes each, as embassy wakes: every interleaving ends with every wake
/// polled, and the count never above 1.
#[test]
fn two_penders_two_wakes_each_none_lost() {
    Model::new(2, 2, 4).check::<Real, BinarySemaphore>();
}

/// The same with a pend after every wake (any pend sequence must work).
#[test]
fn two_penders_pending_every_wake_none_lost() {
    Model { pend_on: PendOn::EveryWake, ..Model::new(2, 2, 3) }.check::<Real, BinarySemaphore>();
}

/// Three penders, one wake each, a pend after every wake.
#[test]
fn three_penders_none_lost() {
    Model { pend_on: PendOn::EveryWake, ..Model::new(3, 1, 2) }.check::<Real, BinarySemaphore>();
}

/// Tasks waking tasks inside poll (`yield_now`) while other threads pend: the inner pends make
/// no kernel call, and the loop polls again instead of parking.
#[test]
fn pends_from_inside_poll_make_no_kernel_call() {
    Model { pend_on: PendOn::EveryWake, self_wakes: 2, ..Model::new(2, 1, 3) }
        .check::<Real, BinarySemaphore>();
}

// ---- broken variants: the model must catch each ------------------------------------------

/// The design `park.rs` replaced: park with `k_thread_suspend`, wake with `k_thread_resume`.
/// A pender that sees `PARKED` before the executor's thread suspends resumes a thread that is
/// not suspended, which Zephyr forgets: the thread then sleeps forever.
#[test]
#[should_panic(expected = "lost wake-up")]
fn broken_a_resume_before_the_suspend_is_lost() {
    Model::new(1, 1, 2).check::<Real, SuspendResume>();
}

/// Broken protocol: `park` tests `PENDED` with a load and then stores `PARKED`, instead of
/// one compare-exchange from 0. A pend between the two is overwritten: it saw the executor
/// running (no give), and the executor blocks with a task queued.
struct ParkWithAStore(AtomicU8);

impl Protocol for ParkWithAStore {
    fn new() -> Self {
        Self(AtomicU8::new(0))
    }

    fn clear(&self) {
        AtomicFlags::store(&self.0, 0, Ordering::Release);
    }

    fn pend(&self) -> Pend {
        Flags::new(&self.0).pend()
    }

    fn park(&self) -> Park {
        if AtomicFlags::load(&self.0, Ordering::Acquire) & PENDED != 0 {
            return Park::Poll;
        }
        AtomicFlags::store(&self.0, PARKED, Ordering::Release);
        Park::Take
    }
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn broken_a_park_decided_with_a_load_and_a_store_loses_a_pend() {
    Model::new(1, 1, 2).check::<ParkWithAStore, BinarySemaphore>();
}

/// Broken protocol: a pender gives whenever `PARKED` is set, not only when it alone found
/// `PARKED` without `PENDED`. Two penders of one park both give: the count would reach 2
/// (a real `k_sem` would stop at its limit, and the next park would return at once).
struct GiveWheneverParked(AtomicU8);

impl Protocol for GiveWheneverParked {
    fn new() -> Self {
        Self(AtomicU8::new(0))
    }

    fn clear(&self) {
        AtomicFlags::store(&self.0, 0, Ordering::Release);
    }

    fn pend(&self) -> Pend {
        let prev = AtomicFlags::fetch_or(&self.0, PENDED, Ordering::AcqRel);
        if prev & PARKED != 0 {
            AtomicFlags::store(&self.0, PENDED, Ordering::Release);
            Pend::Give
        } else {
            Pend::Done
        }
    }

    fn park(&self) -> Park {
        Flags::new(&self.0).park()
    }
}

#[test]
#[should_panic(expected = "semaphore's count would be 2")]
fn broken_a_give_whenever_parked_gives_twice_for_one_park() {
    Model { pend_on: PendOn::EveryWake, ..Model::new(2, 1, 2) }
        .check::<GiveWheneverParked, BinarySemaphore>();
}

/// The real protocol over a run queue that does not synchronise (`Relaxed` instead of
/// cordyceps' `AcqRel`): the pend's fast path can then read a `PENDED` older than the
/// executor's clear, and return without a give while the executor parks. This is the
/// assumption the fast path makes of embassy-executor: the enqueue that precedes a pend
/// acquires the executor's last take-all, and so sees the clear that came before it.
#[test]
#[should_panic(expected = "lost wake-up")]
fn broken_the_fast_path_over_a_relaxed_run_queue_loses_a_pend() {
    Model { pend_on: PendOn::EveryWake, queue_order: Ordering::Relaxed, ..Model::new(1, 2, 2) }
        .check::<Real, BinarySemaphore>();
}

/// `Flags` over a borrowed atomic, for the broken variants to reuse the real half.
impl AtomicFlags for &AtomicU8 {
    fn load(&self, order: Ordering) -> u8 {
        AtomicFlags::load(*self, order)
    }

    fn store(&self, value: u8, order: Ordering) {
        AtomicFlags::store(*self, value, order)
    }

    fn fetch_or(&self, value: u8, order: Ordering) -> u8 {
        AtomicFlags::fetch_or(*self, value, order)
    }

    fn compare_exchange(
        &self,
        current: u8,
        new: u8,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u8, u8> {
        AtomicFlags::compare_exchange(*self, current, new, success, failure)
    }
}
