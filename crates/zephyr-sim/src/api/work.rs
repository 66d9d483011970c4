//! Work queues, work items and delayable work (`kernel/work.c`), and the system work queue.
//!
//! A work queue is a thread that runs the handlers of the items submitted to it, one at a
//! time, in submission order. A work item moves through these states (its `K_WORK_*` bits,
//! which `k_work_busy_get` reports):
//!
//! ```text
//!          k_work_submit_to_queue (1)        the queue thread takes it
//!   idle ────────────────────────────► QUEUED ─────────────────────────► RUNNING
//!    ▲ ▲        k_work_cancel (0)        │                                  │   │
//!    │ └─────────────────────────────────┘                                  │   │ submit (2)
//!    │                      handler returns                                 │   ▼
//!    └──────────────────────────────────────────────────────────────────────┘ RUNNING | QUEUED
//!                                                        (QUEUED again when the handler returns)
//!   RUNNING ── k_work_cancel ──► RUNNING | CANCELING ── handler returns ──► idle
//!              (submits return -EBUSY meanwhile; k_work_cancel_sync waits for the return)
//!
//!   delayable: idle ── k_work_schedule / k_work_reschedule ──► DELAYED ── delay ends ──► QUEUED
//!              DELAYED ── k_work_cancel_delayable ──► idle;  k_work_reschedule ──► DELAYED anew
//! ```
//!
//! # How it is simulated
//!
//! * Each started queue's pending list lives in the kernel (`WorkState`), keyed by the
//!   queue's address; entries are work items and flush markers (Zephyr's `z_work_flusher`
//!   items). The `k_work` objects keep Zephyr's `flags` and `queue` fields.
//! * The queue's thread is an ordinary simulated thread running `work_queue_main`. With
//!   nothing pending it pends on the queue's `notifyq` (`Wait::WorkQueue`) without a timeout,
//!   so an idle work queue counts as blocked: if every thread is blocked and nothing is pending,
//!   the run ends in a deadlock report that says "work queue 'name' waiting for work".
//!   A submit wakes it (`notify_queue_locked`).
//! * Threads in `k_work_flush` and `k_work_cancel[_delayable]_sync` wait on one kernel-owned
//!   wait queue (`WorkState::sync_q`): a flush is released when the queue thread reaches its
//!   marker, placed right after the item (or first, if the item runs), exactly where Zephyr
//!   puts its flusher item; a cancel when the handler returns.
//! * The end of a delay is a kernel timeout (`Target::DelayedWork`) run by the system clock
//!   ISR: a delay of N ticks queues the item N + 1 ticks after the current tick.
//!
//! # Rescheduling (and one difference between Zephyr versions)
//!
//! As in Zephyr 2.7.0 (the version whose real-kernel traces this simulator reproduces, and
//! what ZEPHYR-SEMANTICS.md describes), `k_work_submit_to_queue` that returns 1 or 2 from a
//! preemptible thread calls `k_yield()`: the queue's thread runs inside the call if it is more
//! urgent *or of equal priority*, and so does any other ready thread of the caller's priority.
//! From a cooperative thread or an ISR it does not reschedule (the ISR's exit does). Newer
//! kernels call `z_reschedule_unlocked()` instead, which does not run equal-priority threads.
//! `k_work_schedule[_for_queue]` and `k_work_reschedule[_for_queue]` do not reschedule at all
//! (kernel/work.c only unlocks), even with `K_NO_WAIT`: the queue thread they wake runs at the
//! caller's next reschedule point. After each item the queue thread yields, unless started
//! with `no_yield` (`work_queue_main`).
//!
//! # The system work queue
//!
//! Zephyr starts `k_sys_work_q` at boot, at `CONFIG_SYSTEM_WORKQUEUE_PRIORITY` (-1). The
//! simulator starts it the first time it is used ([`zsim_sys_work_q`], which every system-queue
//! call goes through), with its thread `sysworkq` already waiting for work as if it had been
//! started at boot: a simulation that never uses it has no extra thread.
//!
//! # Differences from Zephyr
//!
//! * Misuse that Zephyr only asserts panics naming the call: an item never initialised or
//!   re-initialised while busy, a queue started twice, plain-work calls on delayable work (and
//!   the reverse), `k_work_flush` / `k_work_cancel_sync` in an ISR.
//! * A `k_work_q` that is all zero (never initialised) counts as not started (`-ENODEV`), and
//!   `k_work_busy_get` of an all-zero `k_work` reads 0, as zeroed statics do on Zephyr.
//! * When several threads wait in `k_work_cancel_sync` for the same item, all are released
//!   when its handler returns; kernel/work.c releases only the first (`finalize_cancel_locked`
//!   stops at the first matching canceller), leaving the others blocked for ever.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{c_int, CStr};
use std::ptr::addr_of_mut;

use zephyr_sys::thread_state::_THREAD_PRESTART;
use zephyr_sys::work_flags::*;
use zephyr_sys::work_queue_flags::*;
use zephyr_sys::*;

use super::no_isr;
use super::thread::{check_prio, k_yield};
use crate::kernel::{with, FixedBox, Kernel, Target, Wait, NONE};
use crate::switch::{make_context, reschedule, swap};
use crate::trace::TraceEvent;

const RUNNING: u32 = K_WORK_RUNNING as u32;
const CANCELING: u32 = K_WORK_CANCELING as u32;
const QUEUED: u32 = K_WORK_QUEUED as u32;
const DELAYED: u32 = K_WORK_DELAYED as u32;
const DELAYABLE: u32 = K_WORK_DELAYABLE as u32;

/// Name of the system work queue's thread (as in Zephyr).
const SYS_WORK_Q_NAME: &[u8] = b"sysworkq";

/// An entry of a work queue's pending list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// A work item.
    Work(*mut k_work),
    /// A flush marker (Zephyr's `z_work_flusher`): reaching it releases the thread (this
    /// slot) waiting in `k_work_flush`.
    Flush(u32),
}

/// The kernel's work queue bookkeeping.
pub(crate) struct WorkState {
    /// Pending entries of each started queue, by queue address, in run order.
    pending: BTreeMap<usize, VecDeque<Pending>>,
    /// Where threads wait in `k_work_flush` and `k_work_cancel_sync` (must not move).
    pub sync_q: FixedBox<_wait_q_t>,
    /// This simulation's system work queue, once used (must not move).
    sys: Option<FixedBox<k_work_q>>,
}

impl Default for WorkState {
    fn default() -> Self {
        WorkState { pending: BTreeMap::new(), sync_q: FixedBox::new(_wait_q_t::EMPTY), sys: None }
    }
}

// ------------------------------------------------------------------ checks and helpers

fn check_work(k: &mut Kernel, work: *mut k_work, call: &str) {
    assert!(!work.is_null(), "{call}: work is NULL");
    // SAFETY: the caller of the API function guarantees `work` points to a k_work.
    k.check_object(unsafe { addr_of_mut!((*work)._sim) }, work, Z_SIM_WORK, call);
}

/// Checks a plain (not delayable) work item, as kernel/work.c asserts.
fn check_plain(k: &mut Kernel, work: *mut k_work, call: &str) {
    check_work(k, work, call);
    // SAFETY: checked above.
    if unsafe { (*work).flags } & DELAYABLE != 0 {
        panic!(
            "{call}: k_work at {:#x} is delayable work (use the k_work_*_delayable calls)",
            work as usize
        );
    }
}

/// Checks delayable work; returns its `k_work`.
fn check_delayable(k: &mut Kernel, dwork: *mut k_work_delayable, call: &str) -> *mut k_work {
    assert!(!dwork.is_null(), "{call}: dwork is NULL");
    // SAFETY: the caller guarantees `dwork` points to a k_work_delayable.
    let work = unsafe { addr_of_mut!((*dwork).work) };
    check_work(k, work, call);
    // SAFETY: checked above.
    if unsafe { (*work).flags } & DELAYABLE == 0 {
        panic!(
            "{call}: k_work at {:#x} is not delayable work (initialise it with \
             k_work_init_delayable)",
            work as usize
        );
    }
    work
}

/// Whether `queue` is started, checking its header; an all-zero (never initialised) queue is
/// not started, as a zeroed static on Zephyr.
fn queue_started(k: &mut Kernel, queue: *mut k_work_q, call: &str) -> bool {
    // SAFETY: the caller guarantees `queue` points to a k_work_q; the header is plain data.
    unsafe {
        if (*queue)._sim.magic == 0 {
            return false;
        }
        k.check_object(addr_of_mut!((*queue)._sim), queue, Z_SIM_WORK_Q, call);
        (*queue).flags & K_WORK_QUEUE_STARTED != 0
    }
}

/// The busy bits of an item (`work_busy_get_locked`).
fn busy(work: *const k_work) -> c_int {
    // SAFETY: the caller checked `work`.
    (unsafe { (*work).flags } as c_int) & K_WORK_MASK
}

/// Wakes the queue's thread if it waits for work (`notify_queue_locked`).
fn notify_queue(k: &mut Kernel, queue: *mut k_work_q) {
    // SAFETY: `queue` is a started queue (checked by the caller).
    if let Some(t) = k.unpend_first(unsafe { addr_of_mut!((*queue).notifyq) }) {
        k.threads[t as usize].swap_retval = 0;
    }
}

/// Submits `work` in the kernel (`submit_to_queue_locked`): 0 already queued, 1 queued, 2
/// queued again on the queue running it; `-EBUSY` while cancelling, `-EINVAL` with no queue
/// (null, and never submitted before), `-ENODEV` for a queue not started. A null `queue` means
/// the queue it was last submitted to. Wakes the queue's thread; the caller reschedules.
pub(crate) fn submit_locked(
    k: &mut Kernel,
    work: *mut k_work,
    queue: *mut k_work_q,
    call: &str,
) -> c_int {
    // SAFETY: the caller checked `work`; every access below is to its plain fields.
    unsafe {
        let flags = (*work).flags;
        if flags & CANCELING != 0 {
            return -EBUSY;
        }
        if flags & QUEUED != 0 {
            return 0;
        }
        let mut queue = if queue.is_null() { (*work).queue } else { queue };
        let mut ret = 1;
        if flags & RUNNING != 0 {
            // Never run a handler twice at once: requeue it where it runs.
            queue = (*work).queue;
            ret = 2;
        }
        if queue.is_null() {
            return -EINVAL;
        }
        if !queue_started(k, queue, call) {
            return -ENODEV;
        }
        k.work.pending.entry(queue as usize).or_default().push_back(Pending::Work(work));
        notify_queue(k, queue);
        (*work).flags |= QUEUED;
        (*work).queue = queue;
        ret
    }
}

/// Takes an item off its queue if queued, then flags it cancelling if it still runs
/// (`cancel_async_locked`); returns the busy bits.
fn cancel_async(k: &mut Kernel, work: *mut k_work) -> c_int {
    // SAFETY: the caller checked `work`.
    unsafe {
        if (*work).flags & CANCELING == 0 && (*work).flags & QUEUED != 0 {
            (*work).flags &= !QUEUED;
            let list = k.work.pending.entry((*work).queue as usize).or_default();
            if let Some(pos) = list.iter().position(|&p| p == Pending::Work(work)) {
                list.remove(pos);
            }
        }
        let mut ret = busy(work);
        if ret != 0 {
            (*work).flags |= CANCELING;
            ret = busy(work);
        }
        ret
    }
}

/// The handler of a cancelled item returned (`finalize_cancel_locked`): clears CANCELING
/// and releases every thread waiting for it in `k_work_cancel_sync`.
fn finalize_cancel(k: &mut Kernel, work: *mut k_work) {
    // SAFETY: the item is running on the caller's queue.
    unsafe { (*work).flags &= !CANCELING };
    let mut waiters = Vec::new();
    let mut t = k.waitq_head(k.work.sync_q.as_ptr()).unwrap_or(NONE);
    while t != NONE {
        if matches!(k.threads[t as usize].wait, Some(Wait::WorkCancel(w)) if w == work) {
            waiters.push(t);
        }
        t = k.threads[t as usize].wq_next;
    }
    for t in waiters {
        k.threads[t as usize].swap_retval = 0;
        k.unpend(t);
    }
}

/// Cancels a pending delay (`unschedule_locked`); true if the item was delayed.
fn unschedule(k: &mut Kernel, dwork: *mut k_work_delayable) -> bool {
    // SAFETY: the caller checked `dwork`.
    unsafe {
        if (*dwork).work.flags & DELAYED == 0 {
            return false;
        }
        (*dwork).work.flags &= !DELAYED;
        abort_delay(k, dwork);
        true
    }
}

fn abort_delay(k: &mut Kernel, dwork: *mut k_work_delayable) {
    // SAFETY: the caller checked `dwork`.
    let t = unsafe { &mut (*dwork).timeout };
    if t.seq != 0 {
        k.timeouts.remove(&(t.deadline, t.seq));
        *t = _timeout::INACTIVE;
    }
}

/// Schedules delayable work (`schedule_for_queue_locked`): `K_NO_WAIT` submits at once
/// (returning what a submit returns); otherwise the item is DELAYED and 1 is returned (a
/// `K_FOREVER` delay never ends).
fn schedule_locked(
    k: &mut Kernel,
    queue: *mut k_work_q,
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
    call: &str,
) -> c_int {
    // SAFETY: the caller checked `dwork`.
    unsafe {
        let work = addr_of_mut!((*dwork).work);
        if delay == K_NO_WAIT {
            return submit_locked(k, work, queue, call);
        }
        (*work).flags |= DELAYED;
        (*dwork).queue = queue;
        abort_delay(k, dwork);
        if let Some(deadline) = k.deadline(delay) {
            let (deadline, seq) = k.add_timeout(deadline, Target::DelayedWork(dwork));
            (*dwork).timeout = _timeout { deadline, seq };
        }
        1
    }
}

/// A delay ended, in the system clock ISR (`work_timeout`): submits the item to the queue it
/// was scheduled for, if still delayed. A failed submission is dropped silently, as in Zephyr.
pub(crate) fn delay_expired(k: &mut Kernel, dwork: *mut k_work_delayable) {
    // SAFETY: a scheduled item stays valid while scheduled (the caller's contract).
    let work = unsafe { addr_of_mut!((*dwork).work) };
    check_work(k, work, "k_work_delayable timeout");
    // SAFETY: checked above.
    unsafe {
        (*dwork).timeout = _timeout::INACTIVE;
        if (*work).flags & DELAYED != 0 {
            (*work).flags &= !DELAYED;
            submit_locked(k, work, (*dwork).queue, "k_work_delayable timeout");
        }
    }
}

/// Initialises a work item's header and fields; panics if it is busy in this simulation.
pub(crate) fn init_work(
    k: &mut Kernel,
    work: *mut k_work,
    handler: k_work_handler_t,
    flags: u32,
    call: &str,
) {
    assert!(!work.is_null(), "{call}: work is NULL");
    assert!(handler.is_some(), "{call}: handler is NULL");
    // SAFETY: the caller guarantees `work` points to a k_work; the header is plain data.
    unsafe {
        let h = &(*work)._sim;
        if h.magic == Z_SIM_WORK && h.sim == k.id && h.addr == work as usize && busy(work) != 0 {
            panic!(
                "{call}: k_work at {:#x} re-initialised while busy (k_work_busy_get = {:#x})",
                work as usize,
                busy(work)
            );
        }
        let mut no_waiters = _wait_q_t::EMPTY;
        k.init_object(addr_of_mut!((*work)._sim), &mut no_waiters, work as usize, Z_SIM_WORK);
        (*work).handler = handler;
        (*work).queue = std::ptr::null_mut();
        (*work).flags = flags;
    }
}

// ------------------------------------------------------------------ the queue thread

/// Creates the thread of `queue` (not started), running [`work_queue_main`].
fn create_queue_thread(k: &mut Kernel, queue: *mut k_work_q, prio: c_int, name: &[u8]) -> u32 {
    // SAFETY: the caller checked `queue`; its thread object lives inside it.
    let obj = unsafe { addr_of_mut!((*queue).thread) };
    let slot = k.register_thread(obj, prio);
    if !name.is_empty() {
        k.set_name(slot, name);
    }
    let co = make_context(k, slot, Box::new(move || work_queue_main(queue)));
    k.threads[slot as usize].co = Some(co);
    k.record(TraceEvent::Create { thread: slot });
    slot
}

/// What the queue thread does next.
enum Step {
    /// Run this entry (calling the handler of a work item).
    Run(Pending, k_work_handler_t),
    /// Nothing pending: it now pends on `notifyq`.
    Wait,
}

/// Takes the next entry, marking a work item RUNNING; or pends the thread for work.
fn next_step(k: &mut Kernel, queue: *mut k_work_q) -> Step {
    let entry = k.work.pending.get_mut(&(queue as usize)).and_then(VecDeque::pop_front);
    // SAFETY: the queue outlives its thread; queued items stay valid while queued.
    unsafe {
        match entry {
            Some(Pending::Work(w)) => {
                (*queue).flags |= K_WORK_QUEUE_BUSY;
                (*w).flags |= RUNNING;
                (*w).flags &= !QUEUED;
                Step::Run(Pending::Work(w), (*w).handler)
            }
            Some(flush) => {
                (*queue).flags |= K_WORK_QUEUE_BUSY;
                Step::Run(flush, None)
            }
            None => {
                k.pend_current(Wait::WorkQueue(queue), K_FOREVER);
                Step::Wait
            }
        }
    }
}

/// After an entry ran: clears RUNNING and completes cancellation, or releases a flusher;
/// returns whether the thread should yield (unless `no_yield`, after every item, as
/// `work_queue_main` does).
fn finish_entry(k: &mut Kernel, queue: *mut k_work_q, entry: Pending) -> bool {
    match entry {
        Pending::Work(w) => {
            // SAFETY: the item stays valid until its handler returned and it is not busy.
            let flags = unsafe {
                (*w).flags &= !RUNNING;
                (*w).flags
            };
            if flags & CANCELING != 0 {
                finalize_cancel(k, w);
            }
        }
        Pending::Flush(slot) => {
            if matches!(k.threads[slot as usize].wait, Some(Wait::WorkFlush(_))) {
                k.threads[slot as usize].swap_retval = 0;
                k.unpend(slot);
            }
        }
    }
    // SAFETY: the queue outlives its thread.
    unsafe {
        (*queue).flags &= !K_WORK_QUEUE_BUSY;
        (*queue).flags & K_WORK_QUEUE_NO_YIELD == 0
    }
}

/// The body of a work queue's thread (`work_queue_main`).
fn work_queue_main(queue: *mut k_work_q) {
    loop {
        match with(|k| next_step(k, queue)) {
            Step::Wait => {
                swap();
            }
            Step::Run(entry, handler) => {
                if let (Pending::Work(w), Some(handler)) = (entry, handler) {
                    // SAFETY: the application registered this handler for this item.
                    unsafe { handler(w) };
                }
                if with(|k| finish_entry(k, queue, entry)) {
                    // SAFETY: thread context (the queue's own thread).
                    unsafe { k_yield() };
                }
            }
        }
    }
}

/// The system work queue, started on first use (see the module docs).
pub(crate) fn sys_work_q(k: &mut Kernel) -> *mut k_work_q {
    if let Some(q) = &k.work.sys {
        return q.as_ptr();
    }
    let owned = FixedBox::new(k_work_q::new());
    let queue = owned.as_ptr();
    k.work.sys = Some(owned);
    // SAFETY: the kernel owns the queue and never moves it.
    unsafe {
        init_queue(k, queue);
        (*queue).flags = K_WORK_QUEUE_STARTED;
    }
    k.work.pending.insert(queue as usize, VecDeque::new());
    let slot = create_queue_thread(k, queue, CONFIG_SYSTEM_WORKQUEUE_PRIORITY, SYS_WORK_Q_NAME);
    // As if started at boot: the thread already waits for work. (When woken, its body starts
    // from the top, which is where it would loop back to.)
    k.threads[slot as usize].state &= !_THREAD_PRESTART;
    k.pend_thread(slot, Wait::WorkQueue(queue), K_FOREVER);
    queue
}

// ------------------------------------------------------------------ work queues

/// This simulation's system work queue (simulator extension behind `k_sys_work_q_ptr`):
/// started the first time it is used, at `CONFIG_SYSTEM_WORKQUEUE_PRIORITY`, on thread
/// `sysworkq`, already waiting for work as if started at boot. Callable from any context.
#[no_mangle]
pub extern "C-unwind" fn zsim_sys_work_q() -> *mut k_work_q {
    with(sys_work_q)
}

/// Initialises a work queue object (`k_work_queue_init`).
///
/// # Safety
/// `queue` must be valid and must not move afterwards.
///
/// # Panics
/// If the queue is started (its thread runs).
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_queue_init(queue: *mut k_work_q) {
    assert!(!queue.is_null(), "k_work_queue_init: queue is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `queue` is valid.
        unsafe {
            let h = &(*queue)._sim;
            if h.magic == Z_SIM_WORK_Q
                && h.sim == k.id
                && (*queue).flags & K_WORK_QUEUE_STARTED != 0
            {
                panic!(
                    "k_work_queue_init: work queue at {:#x} is started: its thread runs",
                    queue as usize
                );
            }
            init_queue(k, queue);
        }
    });
}

/// Registers `queue` as a fresh, stopped work queue of this simulation.
///
/// # Safety
/// `queue` must be valid.
unsafe fn init_queue(k: &mut Kernel, queue: *mut k_work_q) {
    // SAFETY: the caller guarantees `queue`.
    unsafe {
        k.init_object(
            addr_of_mut!((*queue)._sim),
            addr_of_mut!((*queue).notifyq),
            queue as usize,
            Z_SIM_WORK_Q,
        );
        (*queue).flags = 0;
    }
}

/// Starts a work queue's thread at `prio` (`k_work_queue_start`): `cfg` may name it and set
/// `no_yield`. The thread is created and started as by `k_thread_create` + `k_thread_start`,
/// so one more urgent than a preemptible caller runs (and waits for work) inside the call. The
/// stack is accepted for API fidelity (threads run on host stacks).
///
/// # Safety
/// `queue` must have been initialised with [`k_work_queue_init`], or be all zero (a static
/// `struct k_work_q`, which this call initialises, as Zephyr's does), and must not move;
/// `cfg` is null or valid, its name null or NUL-terminated. Thread context.
///
/// # Panics
/// If the queue is already started, or `prio` is not a valid thread priority.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_queue_start(
    queue: *mut k_work_q,
    _stack: *mut k_thread_stack_t,
    _stack_size: usize,
    prio: c_int,
    cfg: *const k_work_queue_config,
) {
    assert!(!queue.is_null(), "k_work_queue_start: queue is NULL");
    check_prio(prio, "k_work_queue_start");
    // SAFETY: the caller guarantees `cfg` is null or valid with a NUL-terminated name.
    let (name, no_yield) = unsafe {
        match cfg.as_ref() {
            None => (Vec::new(), false),
            Some(c) if c.name.is_null() => (Vec::new(), c.no_yield),
            Some(c) => (CStr::from_ptr(c.name).to_bytes().to_vec(), c.no_yield),
        }
    };
    with(|k| {
        // SAFETY: the caller guarantees `queue` is valid.
        unsafe {
            // Zephyr initialises the queue's lists and flags here (kernel/work.c), so a zeroed
            // queue never passed to k_work_queue_init may be started: kernel/system_work_q.c
            // and subsys/usb/device/usb_work_q.c start static queues that way.
            if (*queue)._sim.magic == 0 {
                init_queue(k, queue);
            }
            k.check_object(addr_of_mut!((*queue)._sim), queue, Z_SIM_WORK_Q, "k_work_queue_start");
            if (*queue).flags & K_WORK_QUEUE_STARTED != 0 {
                panic!(
                    "k_work_queue_start: work queue at {:#x} is already started",
                    queue as usize
                );
            }
            (*queue).flags =
                K_WORK_QUEUE_STARTED | if no_yield { K_WORK_QUEUE_NO_YIELD } else { 0 };
        }
        k.work.pending.insert(queue as usize, VecDeque::new());
        let slot = create_queue_thread(k, queue, prio, &name);
        k.start_thread(slot);
    });
    reschedule(false);
}

/// The thread of a started work queue, or null (`k_work_queue_thread_get`).
///
/// # Safety
/// `queue` must point to a `k_work_q`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_queue_thread_get(queue: *mut k_work_q) -> k_tid_t {
    assert!(!queue.is_null(), "k_work_queue_thread_get: queue is NULL");
    with(|k| {
        if queue_started(k, queue, "k_work_queue_thread_get") {
            // SAFETY: checked above.
            unsafe { addr_of_mut!((*queue).thread) }
        } else {
            std::ptr::null_mut()
        }
    })
}

// ------------------------------------------------------------------ work items

/// Initialises a work item with its handler (`k_work_init`).
///
/// # Safety
/// `work` must be valid and must not move while queued or running.
///
/// # Panics
/// If `handler` is null, or the item is busy (queued, running, being cancelled).
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_init(work: *mut k_work, handler: k_work_handler_t) {
    with(|k| init_work(k, work, handler, 0, "k_work_init"));
}

/// Submits a work item to `queue` (`k_work_submit_to_queue`, ISR-safe): 0 if already queued,
/// 1 if queued, 2 if queued again on the queue where it is running; `-EBUSY` while it is
/// being cancelled, `-EINVAL` for a null queue when it was never submitted, `-ENODEV` for a
/// queue never started. On success a preemptible caller yields, so a more urgent or
/// equal-priority queue thread runs inside the call (Zephyr 2.7; see the module docs).
///
/// # Safety
/// `work` must be an initialised work item; `queue` null or a `k_work_q`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_submit_to_queue(
    queue: *mut k_work_q,
    work: *mut k_work,
) -> c_int {
    let ret = crate::kernel::enter(|k| {
        check_work(k, work, "k_work_submit_to_queue");
        submit_locked(k, work, queue, "k_work_submit_to_queue")
    });
    yield_after_submit(ret);
    ret
}

/// What Zephyr 2.7's `k_work_submit_to_queue` does after a submit that changed the queue: a
/// preemptible caller (`k_is_preempt_thread`) yields.
fn yield_after_submit(ret: c_int) {
    if ret > 0 && with(|k| is_preempt_thread(k)) {
        // SAFETY: thread context (checked above).
        unsafe { k_yield() };
    }
}

/// Whether the caller is a preemptible thread (`k_is_preempt_thread`: not in an ISR, a
/// non-negative priority and the scheduler not locked).
pub(crate) fn is_preempt_thread(k: &Kernel) -> bool {
    let t = &k.threads[k.current as usize];
    k.isr_depth == 0 && k.current != crate::kernel::IDLE && t.prio >= 0 && t.sched_lock == 0
}

/// Submits a work item to the system work queue (`k_work_submit`, ISR-safe); see
/// [`k_work_submit_to_queue`].
///
/// # Safety
/// `work` must be an initialised work item.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_submit(work: *mut k_work) -> c_int {
    let ret = with(|k| {
        check_work(k, work, "k_work_submit");
        let queue = sys_work_q(k);
        submit_locked(k, work, queue, "k_work_submit")
    });
    yield_after_submit(ret);
    ret
}

/// The busy bits of a work item: `K_WORK_RUNNING`, `K_WORK_CANCELING`, `K_WORK_QUEUED`,
/// `K_WORK_DELAYED`, `K_WORK_FLUSHING` (`k_work_busy_get`, ISR-safe). An item that is all
/// zero (never initialised) reads 0, as a zeroed item does on Zephyr.
///
/// # Safety
/// `work` must point to a `k_work`, initialised or all zero.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_busy_get(work: *const k_work) -> c_int {
    let work = work as *mut k_work;
    assert!(!work.is_null(), "k_work_busy_get: work is NULL");
    // SAFETY: the caller guarantees `work` points to a k_work; the header is plain data.
    if unsafe { (*work)._sim.magic == 0 && (*work).flags == 0 } {
        return 0;
    }
    with(|k| {
        check_work(k, work, "k_work_busy_get");
        busy(work)
    })
}

/// Cancels a work item (`k_work_cancel`, ISR-safe): takes it off its queue if queued; if its
/// handler runs, flags it cancelling until the handler returns. Returns the busy bits left (0,
/// or `K_WORK_RUNNING | K_WORK_CANCELING`).
///
/// # Safety
/// `work` must be an initialised plain (not delayable) work item.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_cancel(work: *mut k_work) -> c_int {
    with(|k| {
        check_plain(k, work, "k_work_cancel");
        cancel_async(k, work)
    })
}

/// Cancels a work item and waits for a running handler to return (`k_work_cancel_sync`);
/// returns whether it was busy.
///
/// # Safety
/// `work` must be an initialised plain work item; `sync` valid. Thread context.
///
/// # Panics
/// In an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_cancel_sync(
    work: *mut k_work,
    sync: *mut k_work_sync,
) -> bool {
    no_isr("k_work_cancel_sync");
    assert!(!sync.is_null(), "k_work_cancel_sync: sync is NULL");
    let (pending, wait) = with(|k| {
        check_plain(k, work, "k_work_cancel_sync");
        cancel_and_pend(k, work)
    });
    if wait {
        swap();
    }
    pending
}

/// Cancels `work` and, if its handler is still running, pends the caller until it returns
/// (the kernel half of the `_sync` cancels). Returns (was busy, must wait).
fn cancel_and_pend(k: &mut Kernel, work: *mut k_work) -> (bool, bool) {
    let pending = busy(work) != 0;
    let mut wait = false;
    if pending {
        cancel_async(k, work);
        // SAFETY: checked by the caller.
        wait = unsafe { (*work).flags } & CANCELING != 0;
        if wait {
            k.pend_current(Wait::WorkCancel(work), K_FOREVER);
        }
    }
    (pending, wait)
}

/// Waits until a work item is neither queued nor running (`k_work_flush`): a flush marker
/// goes right after the item on its queue (first, if it runs) and the caller waits until the
/// queue thread reaches it. Returns whether it had to wait.
///
/// # Safety
/// `work` must be an initialised plain work item; `sync` valid. Thread context.
///
/// # Panics
/// In an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_flush(work: *mut k_work, sync: *mut k_work_sync) -> bool {
    no_isr("k_work_flush");
    assert!(!sync.is_null(), "k_work_flush: sync is NULL");
    let need = with(|k| {
        check_plain(k, work, "k_work_flush");
        // SAFETY: checked above.
        let (flags, queue) = unsafe { ((*work).flags, (*work).queue) };
        let need = flags & (QUEUED | RUNNING) != 0;
        if need {
            let marker = Pending::Flush(k.current);
            let list = k.work.pending.entry(queue as usize).or_default();
            match list.iter().position(|&p| p == Pending::Work(work)) {
                Some(pos) if flags & QUEUED != 0 => list.insert(pos + 1, marker),
                _ => list.push_front(marker),
            }
            notify_queue(k, queue);
            k.pend_current(Wait::WorkFlush(work), K_FOREVER);
        }
        need
    });
    if need {
        swap();
    }
    need
}

// ------------------------------------------------------------------ delayable work

/// Initialises delayable work with its handler (`k_work_init_delayable`); the handler gets
/// a pointer to `dwork->work`.
///
/// # Safety
/// `dwork` must be valid and must not move while scheduled, queued or running.
///
/// # Panics
/// If `handler` is null, or the item is busy.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_init_delayable(
    dwork: *mut k_work_delayable,
    handler: k_work_handler_t,
) {
    assert!(!dwork.is_null(), "k_work_init_delayable: dwork is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `dwork` is valid.
        unsafe {
            init_work(k, addr_of_mut!((*dwork).work), handler, DELAYABLE, "k_work_init_delayable");
            (*dwork).timeout = _timeout::INACTIVE;
            (*dwork).queue = std::ptr::null_mut();
        }
    });
}

/// Schedules delayable work on `queue` after `delay`, unless it is already delayed, queued
/// or being cancelled (`k_work_schedule_for_queue`, ISR-safe): 1 when scheduled (a delay of N
/// ticks queues it N + 1 ticks after the current tick), 0 when left alone; with `K_NO_WAIT`,
/// what a submit returns. Does not reschedule (see the module docs).
///
/// # Safety
/// `dwork` must be initialised delayable work; `queue` a `k_work_q`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_schedule_for_queue(
    queue: *mut k_work_q,
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
) -> c_int {
    with(|k| schedule(k, queue, dwork, delay, "k_work_schedule_for_queue"))
}

fn schedule(
    k: &mut Kernel,
    queue: *mut k_work_q,
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
    call: &str,
) -> c_int {
    let work = check_delayable(k, dwork, call);
    if busy(work) & !K_WORK_RUNNING == 0 {
        schedule_locked(k, queue, dwork, delay, call)
    } else {
        0
    }
}

/// [`k_work_schedule_for_queue`] on the system work queue (`k_work_schedule`).
///
/// # Safety
/// `dwork` must be initialised delayable work.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_schedule(
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
) -> c_int {
    with(|k| {
        let queue = sys_work_q(k);
        schedule(k, queue, dwork, delay, "k_work_schedule")
    })
}

/// Schedules delayable work on `queue` after `delay`, replacing any pending delay
/// (`k_work_reschedule_for_queue`, ISR-safe): 1 when delayed; with `K_NO_WAIT`, what a submit
/// returns. Does not reschedule.
///
/// # Safety
/// `dwork` must be initialised delayable work; `queue` a `k_work_q`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_reschedule_for_queue(
    queue: *mut k_work_q,
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
) -> c_int {
    with(|k| reschedule_work(k, queue, dwork, delay, "k_work_reschedule_for_queue"))
}

fn reschedule_work(
    k: &mut Kernel,
    queue: *mut k_work_q,
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
    call: &str,
) -> c_int {
    check_delayable(k, dwork, call);
    unschedule(k, dwork);
    schedule_locked(k, queue, dwork, delay, call)
}

/// [`k_work_reschedule_for_queue`] on the system work queue (`k_work_reschedule`).
///
/// # Safety
/// `dwork` must be initialised delayable work.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_reschedule(
    dwork: *mut k_work_delayable,
    delay: k_timeout_t,
) -> c_int {
    with(|k| {
        let queue = sys_work_q(k);
        reschedule_work(k, queue, dwork, delay, "k_work_reschedule")
    })
}

/// Cancels delayable work and waits for a running handler to return
/// (`k_work_cancel_delayable_sync`); returns whether it was busy (delayed, queued or running).
///
/// # Safety
/// `dwork` must be initialised delayable work; `sync` valid. Thread context.
///
/// # Panics
/// In an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_cancel_delayable_sync(
    dwork: *mut k_work_delayable,
    sync: *mut k_work_sync,
) -> bool {
    no_isr("k_work_cancel_delayable_sync");
    assert!(!sync.is_null(), "k_work_cancel_delayable_sync: sync is NULL");
    let (pending, wait) = with(|k| {
        let work = check_delayable(k, dwork, "k_work_cancel_delayable_sync");
        let pending = busy(work) != 0;
        if pending {
            unschedule(k, dwork);
        }
        (pending, cancel_and_pend(k, work).1)
    });
    if wait {
        swap();
    }
    pending
}

/// Cancels delayable work (`k_work_cancel_delayable`, ISR-safe): ends a pending delay and
/// takes the item off its queue; returns the busy bits left (see [`k_work_cancel`]).
///
/// # Safety
/// `dwork` must be initialised delayable work.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_cancel_delayable(dwork: *mut k_work_delayable) -> c_int {
    with(|k| {
        let work = check_delayable(k, dwork, "k_work_cancel_delayable");
        unschedule(k, dwork);
        cancel_async(k, work)
    })
}
