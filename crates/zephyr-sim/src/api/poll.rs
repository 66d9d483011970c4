//! Polling (`kernel/poll.c`): `k_poll` on several events, poll signals, and triggered work
//! (`k_work_poll`), which submits a work item when one of its events is ready.
//!
//! # Registrations
//!
//! A poller is a thread blocked in `k_poll` or triggered work waiting for its events. While
//! it waits, each of its events not yet ready is registered on the polled object: the kernel
//! keeps, per object address, the list of events registered on it (`PollState`), most
//! urgent poller first and FIFO among equals (`add_event`). When the object's state changes
//! it notifies only the **first** event of its list (`z_handle_obj_poll_events` takes it off
//! the list):
//!
//! * `k_sem_give` with no thread waiting in `k_sem_take` (`K_POLL_STATE_SEM_AVAILABLE`);
//! * `k_queue_append` / `k_queue_prepend` with no thread waiting in `k_queue_get`
//!   (`K_POLL_STATE_DATA_AVAILABLE`); `k_queue_cancel_wait` (`K_POLL_STATE_CANCELLED`);
//! * `k_msgq_put` that stores a message (`K_POLL_STATE_MSGQ_DATA_AVAILABLE`);
//! * `k_poll_signal_raise` (`K_POLL_STATE_SIGNALED`).
//!
//! The notified event gets the state bit; its poller stops waiting: a `k_poll` thread returns
//! 0 (`-EINTR` for a cancelled queue wait), triggered work is submitted with `poll_result` 0.
//! A poller registered on several objects is unregistered from all of them at that moment
//! (and likewise when it times out or its thread is aborted).
//!
//! ```text
//!  triggered work:   k_work_poll_init ──► idle ── k_work_poll_submit_to_queue ──► waiting
//!     waiting ── first event (poll_result 0) / timeout (-EAGAIN) ──► queued on its queue
//!     waiting ── k_work_poll_cancel (0) / submit again on the same queue ──► idle
//!     queued ── queue thread runs it: workq = NULL, then the handler ──► idle
//! ```
//!
//! # Differences from Zephyr
//!
//! * Zephyr unregisters a woken `k_poll` thread's other events only when that thread runs
//!   again (and triggered work's when its handler starts), so an object whose state changes
//!   in between notifies the stale registration and the next poller misses it; the simulator
//!   unregisters at once.
//! * Zephyr orders triggered work among an object's pollers by the priority of a "thread"
//!   that `poller_thread()` computes with `CONTAINER_OF` from the poller inside the
//!   `k_work_poll`, which is not a thread (the priority it reads is whatever memory precedes
//!   the item). The simulator makes triggered work compare equal to every poller: it goes
//!   behind the pollers registered before it, and a `k_poll` thread registered later goes
//!   before it only if it is more urgent than a thread poller behind it (`add_event`'s
//!   algorithm). Among themselves, triggered work items are notified in registration order.
//! * `k_poll` panics in an ISR only when it would block (Zephyr asserts for any timeout);
//!   invalid event types and misuse that Zephyr only asserts panic naming the call.

use std::collections::BTreeMap;
use std::ffi::{c_int, c_uint, c_void};
use std::ptr::addr_of_mut;

use zephyr_sys::*;

use super::no_isr;
use super::work::{init_work, k_work_submit_to_queue, submit_locked};
use crate::kernel::{with, FixedBox, Kernel, Target, Wait};
use crate::switch::{reschedule, swap};

/// Who waits on a registered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Poller {
    /// A thread blocked in `k_poll` (its slot).
    Thread(u32),
    /// Triggered work waiting for its events.
    Work(*mut k_work_poll),
}

/// One event registered on an object.
struct Registration {
    event: *mut k_poll_event,
    poller: Poller,
}

/// The kernel's poll bookkeeping.
pub(crate) struct PollState {
    /// Events registered on each polled object, by object address, in notification order.
    registered: BTreeMap<usize, Vec<Registration>>,
    /// Where threads in `k_poll` pend (must not move).
    pub wait_q: FixedBox<_wait_q_t>,
    /// Events whose triggered work was just submitted by a preemptible thread, which yields
    /// before they are marked ready (see [`notify`]): the submitting thread, the event, its
    /// state bit, its poller. Per thread: another thread, or an ISR, that runs during that
    /// yield must not finish (or yield for) a call it did not make.
    deferred: Vec<(u32, *mut k_poll_event, u32, *mut k_work_poll)>,
}

impl Default for PollState {
    fn default() -> Self {
        PollState {
            registered: BTreeMap::new(),
            wait_q: FixedBox::new(_wait_q_t::EMPTY),
            deferred: Vec::new(),
        }
    }
}

impl PollState {
    /// Whether events are registered on the object at `addr`.
    pub(crate) fn is_polled(&self, addr: usize) -> bool {
        self.registered.contains_key(&addr)
    }
}

/// Checks a polled object's header: every kernel object starts with its [`z_sim_obj`].
fn check_obj(k: &mut Kernel, obj: *mut c_void, kind: u32, call: &str) {
    assert!(!obj.is_null(), "{call}: a poll event has no object");
    k.check_object(obj as *mut z_sim_obj, obj, kind, call);
}

/// The state an event is in if its condition holds now (`is_condition_met`); checks the
/// object against the event's type.
fn condition_met(k: &mut Kernel, event: *mut k_poll_event, call: &str) -> Option<u32> {
    // SAFETY: the caller guarantees the events are valid; each object is checked before it is
    // read as its kind.
    unsafe {
        let (ty, obj) = ((*event).type_, (*event).obj);
        match ty {
            K_POLL_TYPE_IGNORE => None,
            K_POLL_TYPE_SEM_AVAILABLE => {
                check_obj(k, obj, Z_SIM_SEM, call);
                ((*(obj as *mut k_sem)).count > 0).then_some(K_POLL_STATE_SEM_AVAILABLE)
            }
            K_POLL_TYPE_DATA_AVAILABLE => {
                check_obj(k, obj, Z_SIM_QUEUE, call);
                let head = (*(obj as *mut k_queue)).head;
                (!head.is_null()).then_some(K_POLL_STATE_DATA_AVAILABLE)
            }
            K_POLL_TYPE_SIGNAL => {
                check_obj(k, obj, Z_SIM_POLL_SIGNAL, call);
                ((*(obj as *mut k_poll_signal)).signaled != 0).then_some(K_POLL_STATE_SIGNALED)
            }
            K_POLL_TYPE_MSGQ_DATA_AVAILABLE => {
                check_obj(k, obj, Z_SIM_MSGQ, call);
                ((*(obj as *mut k_msgq)).used_msgs > 0).then_some(K_POLL_STATE_MSGQ_DATA_AVAILABLE)
            }
            _ => panic!("{call}: invalid poll event type {ty:#x}"),
        }
    }
}

/// The priority that orders a poller among those of an object: a thread's own; none for
/// triggered work, which compares equal to every poller (see the module docs).
fn poller_prio(k: &Kernel, poller: Poller) -> Option<i32> {
    match poller {
        Poller::Thread(slot) => Some(k.threads[slot as usize].prio),
        Poller::Work(_) => None,
    }
}

/// Whether a poller of priority `a` is more urgent than one of `b` (`z_sched_prio_cmp > 0`).
fn more_urgent(a: Option<i32>, b: Option<i32>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a < b)
}

/// Registers `event` on its object for `poller` (`add_event`): at the tail if the tail is
/// more urgent, else before the first poller it is more urgent than, else at the tail.
pub(super) fn register(k: &mut Kernel, event: *mut k_poll_event, poller: Poller) {
    // SAFETY: the event was checked by `condition_met`.
    let obj = unsafe { (*event).obj } as usize;
    let prio = poller_prio(k, poller);
    let prios: Vec<Option<i32>> = k
        .poll
        .registered
        .get(&obj)
        .map(|list| list.iter().map(|r| poller_prio(k, r.poller)).collect())
        .unwrap_or_default();
    let pos = match prios.last() {
        Some(&tail) if !more_urgent(tail, prio) => {
            prios.iter().position(|&p| more_urgent(prio, p)).unwrap_or(prios.len())
        }
        _ => prios.len(),
    };
    k.poll.registered.entry(obj).or_default().insert(pos, Registration { event, poller });
}

/// Removes every registration of `poller` for `events` (`clear_event_registrations`).
pub(crate) fn unregister_all(
    k: &mut Kernel,
    events: *mut k_poll_event,
    num: c_int,
    poller: Poller,
) {
    if k.poll.registered.is_empty() {
        return;
    }
    for i in 0..num.max(0) as usize {
        // SAFETY: a poller's events stay valid while it waits (k_poll's and
        // k_work_poll_submit_to_queue's contracts).
        let (ev, ty, obj) = unsafe {
            let ev = events.add(i);
            (ev, (*ev).type_, (*ev).obj as usize)
        };
        if ty == K_POLL_TYPE_IGNORE {
            continue;
        }
        if let Some(list) = k.poll.registered.get_mut(&obj) {
            if let Some(pos) = list.iter().position(|r| r.event == ev && r.poller == poller) {
                list.remove(pos);
            }
            if list.is_empty() {
                k.poll.registered.remove(&obj);
            }
        }
    }
}

/// The object at `obj` reached `state`: notifies the first event registered on it, if any
/// (`z_handle_obj_poll_events`). Returns whether one was notified (a reschedule is due).
///
/// Triggered work is submitted with `k_work_submit_to_queue` (`signal_triggered_work`),
/// which in a preemptible thread yields when it queued the item (`kernel/work.c`), *before*
/// `signal_poll_event` clears `is_polling` and marks the event ready (`set_event_ready`,
/// `kernel/poll.c`). So a more urgent, or equal-priority, queue runs the handler while the
/// event's `state` is still `K_POLL_STATE_NOT_READY`, inside the call that made the object
/// ready (whose own state change, a count or a message, is already done). Here the event is
/// set aside and the caller finishes the rule with [`yield_then_mark_ready`] once it no
/// longer holds the kernel.
pub(crate) fn notify(k: &mut Kernel, obj: usize, state: u32) -> bool {
    if k.poll.registered.is_empty() {
        return false;
    }
    let Some(list) = k.poll.registered.get_mut(&obj) else { return false };
    let reg = list.remove(0);
    if list.is_empty() {
        k.poll.registered.remove(&obj);
    }
    match reg.poller {
        Poller::Thread(slot) => {
            // `signal_poller`: a thread still pending in k_poll wakes with 0 (-EINTR for a
            // cancelled queue wait); unpending unregisters its other events.
            if matches!(k.threads[slot as usize].wait, Some(Wait::Poll { .. })) {
                k.threads[slot as usize].swap_retval =
                    if state == K_POLL_STATE_CANCELLED { -EINTR } else { 0 };
                k.unpend(slot);
            }
        }
        Poller::Work(twork) => {
            if trigger(k, twork, 0) > 0 && super::work::is_preempt_thread(k) {
                let current = k.current;
                k.poll.deferred.push((current, reg.event, state, twork));
                return true;
            }
            // `signal_poll_event`, right after `signal_triggered_work` returned.
            // SAFETY: a notified poller's triggered work is valid.
            unsafe { (*twork).poller.is_polling = false };
        }
    }
    // SAFETY: a registered event is valid while its poller waits.
    unsafe { (*reg.event).state |= state };
    true
}

/// Whether [`yield_then_mark_ready`] has work to do for the running thread: it is a thread
/// (not an ISR) and set aside a triggered work's event in [`notify`].
#[inline]
pub(crate) fn deferred_for_current(k: &Kernel) -> bool {
    // Usually nothing is set aside: one test then (every wake-up's end asks).
    !k.poll.deferred.is_empty() && deferred_for_current_slow(k)
}

/// [`deferred_for_current`] when some thread set an event aside.
#[cold]
#[inline(never)]
fn deferred_for_current_slow(k: &Kernel) -> bool {
    k.isr_depth == 0 && k.poll.deferred.iter().any(|&(thread, ..)| thread == k.current)
}

/// The end of [`notify`]'s rule for triggered work submitted by a preemptible thread: yields
/// (the work queue's thread runs the handler if it is at least as urgent), then clears the
/// poller's `is_polling` and marks the event ready, as `signal_poll_event` does after
/// `signal_triggered_work` returns. (If the handler's owner submitted the same triggered work
/// again meanwhile, that registration loses `is_polling`, as on Zephyr 2.7, and its next event
/// is ignored.) Every kernel call that can notify a poller calls this after releasing the
/// kernel, before its own reschedule.
pub(crate) fn yield_then_mark_ready() {
    if !crate::kernel::peek(deferred_for_current) {
        return;
    }
    // SAFETY: only a preemptible thread defers (checked in `notify`), and this is that thread.
    unsafe { super::thread::k_yield() };
    with(|k| {
        let current = k.current;
        k.poll.deferred.retain(|&(thread, event, state, twork)| {
            if thread != current {
                return true;
            }
            // SAFETY: the event and the triggered work stay valid while submitted or running
            // (k_work_poll_submit_to_queue's contract), and after: their owner's memory.
            unsafe {
                (*twork).poller.is_polling = false;
                (*event).state |= state;
            }
            false
        });
    });
}

/// Triggered work stops waiting (`signal_triggered_work`, result 0, or
/// `triggered_work_expiration_handler`, `-EAGAIN`): unregisters its events, cancels its
/// timeout and submits it to its queue (a failed submission is dropped, as in Zephyr).
/// Returns what the submission returned (0 when the work was not waiting).
fn trigger(k: &mut Kernel, twork: *mut k_work_poll, result: c_int) -> c_int {
    // SAFETY: waiting triggered work is valid (k_work_poll_submit_to_queue's contract).
    unsafe {
        let poller = &mut (*twork).poller;
        // An event finds the work only while it polls (`signal_poll_event`: triggered mode;
        // `signal_triggered_work`: `is_polling`). Its timeout submits it unconditionally
        // (`triggered_work_expiration_handler`), even when a yield inside an earlier event
        // cleared `is_polling` of a later submission (see `yield_then_mark_ready`).
        let waiting = poller.is_polling && poller.mode == Z_POLLER_MODE_TRIGGERED;
        if !(waiting || result == -EAGAIN) || (*twork).workq.is_null() {
            return 0;
        }
        // The timeout clears `is_polling` before it submits; an event leaves it set until
        // `signal_poll_event` clears it after the submission (in `notify`, or after the
        // submission's yield in `yield_then_mark_ready`). `mode` stays triggered: Zephyr
        // changes it only when the work is cancelled or submitted again.
        if result == -EAGAIN {
            poller.is_polling = false;
        }
        (*twork).poll_result = result;
        abort_timeout(k, twork);
        let (events, num, workq) = ((*twork).events, (*twork).num_events, (*twork).workq);
        unregister_all(k, events, num, Poller::Work(twork));
        submit_locked(k, addr_of_mut!((*twork).work), workq, "k_work_poll (triggered)")
    }
}

fn abort_timeout(k: &mut Kernel, twork: *mut k_work_poll) {
    // SAFETY: the caller checked `twork`.
    let t = unsafe { &mut (*twork).timeout };
    if t.seq != 0 {
        k.timeouts.remove(&(t.deadline, t.seq));
        *t = _timeout::INACTIVE;
    }
}

/// Triggered work's timeout expired, in the system clock ISR: it is queued with
/// `poll_result` `-EAGAIN`.
pub(crate) fn triggered_work_expired(k: &mut Kernel, twork: *mut k_work_poll) {
    // SAFETY: waiting triggered work is valid; its timeout entry was just taken.
    unsafe { (*twork).timeout = _timeout::INACTIVE };
    // In the system clock's ISR: no yield.
    trigger(k, twork, -EAGAIN);
}

// ------------------------------------------------------------------ k_poll

/// Initialises a poll event (`k_poll_event_init`): `state` becomes `K_POLL_STATE_NOT_READY`,
/// `tag` is left alone.
///
/// # Safety
/// `event` must be valid; `obj` must be an object of the kind `type_` polls.
///
/// # Panics
/// If `mode` is not `K_POLL_MODE_NOTIFY_ONLY`, `type_` is unknown, or `obj` is null.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll_event_init(
    event: *mut k_poll_event,
    type_: u32,
    mode: c_int,
    obj: *mut c_void,
) {
    assert!(!event.is_null(), "k_poll_event_init: event is NULL");
    assert!(mode == K_POLL_MODE_NOTIFY_ONLY, "k_poll_event_init: only K_POLL_MODE_NOTIFY_ONLY");
    assert!(type_ < 1 << 4, "k_poll_event_init: invalid event type {type_:#x}");
    assert!(!obj.is_null(), "k_poll_event_init: obj is NULL");
    // SAFETY: the caller guarantees `event` is valid.
    unsafe {
        (*event).type_ = type_;
        (*event).state = K_POLL_STATE_NOT_READY;
        (*event).mode = mode;
        (*event).obj = obj;
    }
}

/// Waits until one of `events` is ready (`k_poll`): 0 when one is (each ready event's
/// `state` has its bit set; states are not cleared first, as in Zephyr), `-EAGAIN` at once
/// with `K_NO_WAIT` or when the timeout expires (N ticks: N + 1 ticks after the current tick),
/// `-EINTR` when a polled queue's wait was cancelled. Events already ready are all marked;
/// otherwise the caller registers on every object and blocks.
///
/// # Safety
/// `events` must point to `num_events` valid events that stay in place during the call.
///
/// # Panics
/// Blocking in an ISR; a negative count; an invalid event type or object.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll(
    events: *mut k_poll_event,
    num_events: c_int,
    timeout: k_timeout_t,
) -> c_int {
    crate::switch::kernel_call_entry();
    assert!(num_events >= 0, "k_poll: negative number of events ({num_events})");
    assert!(!events.is_null() || num_events == 0, "k_poll: events is NULL");
    if timeout != K_NO_WAIT {
        no_isr("k_poll");
    }
    let r = with(|k| {
        let cur = k.current;
        let mut polling = true;
        for i in 0..num_events as usize {
            // SAFETY: the caller guarantees `num_events` valid events.
            let (ev, ty) = unsafe { (events.add(i), (*events.add(i)).type_) };
            match condition_met(k, ev, "k_poll") {
                Some(state) => {
                    // SAFETY: as above.
                    unsafe { (*ev).state |= state };
                    polling = false;
                }
                None if polling && timeout != K_NO_WAIT && ty != K_POLL_TYPE_IGNORE => {
                    register(k, ev, Poller::Thread(cur));
                }
                None => {}
            }
        }
        if !polling {
            unregister_all(k, events, num_events, Poller::Thread(cur));
            return Some(0);
        }
        if timeout == K_NO_WAIT {
            return Some(-EAGAIN);
        }
        k.pend_current(Wait::Poll { events, num: num_events }, timeout);
        None
    });
    r.unwrap_or_else(swap)
}

// ------------------------------------------------------------------ poll signals

fn check_signal(k: &mut Kernel, sig: *mut k_poll_signal, call: &str) {
    assert!(!sig.is_null(), "{call}: sig is NULL");
    // SAFETY: the caller of the API function guarantees `sig` points to a k_poll_signal.
    k.check_object(unsafe { addr_of_mut!((*sig)._sim) }, sig, Z_SIM_POLL_SIGNAL, call);
}

/// Initialises a poll signal, not signalled (`k_poll_signal_init`); `result` is left alone.
///
/// # Safety
/// `sig` must be valid and must not move afterwards.
///
/// # Panics
/// If events are registered on it.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll_signal_init(sig: *mut k_poll_signal) {
    assert!(!sig.is_null(), "k_poll_signal_init: sig is NULL");
    with(|k| {
        let mut no_waiters = _wait_q_t::EMPTY;
        // SAFETY: the caller guarantees `sig` is valid.
        unsafe {
            k.init_object(
                addr_of_mut!((*sig)._sim),
                &mut no_waiters,
                sig as usize,
                Z_SIM_POLL_SIGNAL,
            );
            (*sig).signaled = 0;
        }
    });
}

/// Clears a signal (`k_poll_signal_reset`, ISR-safe).
///
/// # Safety
/// `sig` must be an initialised poll signal.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll_signal_reset(sig: *mut k_poll_signal) {
    with(|k| {
        check_signal(k, sig, "k_poll_signal_reset");
        // SAFETY: checked above.
        unsafe { (*sig).signaled = 0 };
    });
}

/// Reads a signal's state and result (`k_poll_signal_check`, ISR-safe).
///
/// # Safety
/// `sig` must be an initialised poll signal; `signaled` and `result` valid for writes.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll_signal_check(
    sig: *mut k_poll_signal,
    signaled: *mut c_uint,
    result: *mut c_int,
) {
    with(|k| {
        check_signal(k, sig, "k_poll_signal_check");
        // SAFETY: checked above; the caller guarantees the outputs are writable.
        unsafe {
            *signaled = (*sig).signaled;
            *result = (*sig).result;
        }
    });
}

/// Raises a signal with `result` (`k_poll_signal_raise`, ISR-safe): `signaled` becomes 1
/// (raises are not counted), and only the first registered poller is notified; then, if one
/// was, reschedules. Returns 0.
///
/// # Safety
/// `sig` must be an initialised poll signal.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_poll_signal_raise(
    sig: *mut k_poll_signal,
    result: c_int,
) -> c_int {
    let notified = crate::kernel::enter(|k| {
        check_signal(k, sig, "k_poll_signal_raise");
        // SAFETY: checked above.
        unsafe {
            (*sig).result = result;
            (*sig).signaled = 1;
        }
        notify(k, sig as usize, K_POLL_STATE_SIGNALED)
    });
    yield_then_mark_ready();
    if notified {
        reschedule(false);
    }
    0
}

// ------------------------------------------------------------------ triggered work

/// The `k_work` handler of every triggered work item (`triggered_work_handler`): drops the
/// ownership (`workq = NULL`, so it can be submitted again) and runs the real handler.
unsafe extern "C-unwind" fn triggered_work_handler(work: *mut k_work) {
    let twork = work as *mut k_work_poll;
    let handler = with(|k| {
        // SAFETY: `work` is the first field of the k_work_poll it belongs to (repr(C)).
        unsafe {
            if (*twork).poller.mode != Z_POLLER_MODE_NONE {
                let (events, num) = ((*twork).events, (*twork).num_events);
                unregister_all(k, events, num, Poller::Work(twork));
                (*twork).poller.mode = Z_POLLER_MODE_NONE;
            }
            (*twork).workq = std::ptr::null_mut();
            (*twork).real_handler
        }
    });
    if let Some(handler) = handler {
        // SAFETY: the application registered this handler for this item.
        unsafe { handler(work) };
    }
}

fn check_twork(k: &mut Kernel, twork: *mut k_work_poll, call: &str) {
    assert!(!twork.is_null(), "{call}: work is NULL");
    // SAFETY: the caller guarantees `twork` points to a k_work_poll.
    unsafe {
        k.check_object(addr_of_mut!((*twork).work._sim), twork, Z_SIM_WORK, call);
        let ours = triggered_work_handler as unsafe extern "C-unwind" fn(*mut k_work) as usize;
        if (*twork).work.handler.map(|f| f as usize) != Some(ours) {
            panic!(
                "{call}: k_work at {:#x} was not initialised with k_work_poll_init",
                twork as usize
            );
        }
    }
}

/// Stops waiting triggered work (`triggered_work_cancel`): 0 if it was waiting, `-EINVAL`
/// otherwise (already triggered, queued or running).
///
/// # Panics
/// If an event triggered the work and the kernel call that did has not returned yet (its
/// submission yielded, see [`notify`]): `is_polling` is still set, so Zephyr 2.7 reports the
/// work as cancelled (0) although it is queued, and its handler runs later, perhaps on memory
/// the caller freed. Check `k_work_busy_get` first.
fn cancel_locked(k: &mut Kernel, twork: *mut k_work_poll) -> c_int {
    // SAFETY: the caller checked `twork`.
    unsafe {
        let poller = &mut (*twork).poller;
        if !(poller.is_polling && poller.mode != Z_POLLER_MODE_NONE) {
            return -EINVAL;
        }
        if (*twork).workq.is_null()
            || (*twork).work.flags & zephyr_sys::work_flags::K_WORK_MASK as u32 != 0
        {
            panic!(
                "k_work_poll_cancel: triggered work at {:#x} was already triggered by a thread                  whose submission yielded and which has not returned from that kernel call:                  Zephyr 2.7 would report it cancelled (0) and still run its handler. Check                  k_work_busy_get() before cancelling",
                twork as usize
            );
        }
        poller.mode = Z_POLLER_MODE_NONE;
        abort_timeout(k, twork);
        let (events, num) = ((*twork).events, (*twork).num_events);
        unregister_all(k, events, num, Poller::Work(twork));
        (*twork).workq = std::ptr::null_mut();
        0
    }
}

/// Initialises triggered work with its handler (`k_work_poll_init`).
///
/// # Safety
/// `work` must be valid and must not move while submitted.
///
/// # Panics
/// If `handler` is null, or the item is waiting, queued or running.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_poll_init(
    work: *mut k_work_poll,
    handler: k_work_handler_t,
) {
    assert!(!work.is_null(), "k_work_poll_init: work is NULL");
    assert!(handler.is_some(), "k_work_poll_init: handler is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `work` is valid.
        unsafe {
            let h = &(*work).work._sim;
            if h.magic == Z_SIM_WORK
                && h.sim == k.id
                && (*work).poller.is_polling
                && (*work).poller.mode != Z_POLLER_MODE_NONE
            {
                panic!(
                    "k_work_poll_init: k_work_poll at {:#x} re-initialised while waiting for \
                     its events, or while the thread whose kernel call triggered it has not \
                     returned from it (its submission yielded; it will still clear \
                     is_polling, kernel/poll.c)",
                    work as usize
                );
            }
            init_work(
                k,
                addr_of_mut!((*work).work),
                Some(triggered_work_handler),
                0,
                "k_work_poll_init",
            );
            (*work).workq = std::ptr::null_mut();
            (*work).poller = z_poller::default();
            (*work).events = std::ptr::null_mut();
            (*work).num_events = 0;
            (*work).real_handler = handler;
            (*work).timeout = _timeout::INACTIVE;
            (*work).poll_result = 0;
        }
    });
}

/// Submits triggered work (`k_work_poll_submit_to_queue`, ISR-safe): it is queued on `work_q`
/// when the first of `events` is ready (`poll_result` 0) or when `timeout` expires (`-EAGAIN`;
/// N ticks: N + 1 ticks after the current tick). If an event is ready now, or the timeout is
/// `K_NO_WAIT`, it is submitted at once (a submit, which reschedules). Returns 0; `-EADDRINUSE`
/// if it is still owned by another queue; `-EINVAL` if it is owned by this queue but already
/// triggered. Submitting again while it waits on the same queue replaces the registration.
///
/// # Safety
/// `work` must be initialised with [`k_work_poll_init`]; `events` must point to `num_events`
/// valid events that stay in place until the handler runs or the work is cancelled.
///
/// # Panics
/// If `work_q` or `events` is null or `num_events` is not positive.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_poll_submit_to_queue(
    work_q: *mut k_work_q,
    work: *mut k_work_poll,
    events: *mut k_poll_event,
    num_events: c_int,
    timeout: k_timeout_t,
) -> c_int {
    poll_submit(work_q, work, events, num_events, timeout, "k_work_poll_submit_to_queue")
}

/// [`k_work_poll_submit_to_queue`] on the system work queue (`k_work_poll_submit`).
///
/// # Safety
/// As [`k_work_poll_submit_to_queue`].
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_poll_submit(
    work: *mut k_work_poll,
    events: *mut k_poll_event,
    num_events: c_int,
    timeout: k_timeout_t,
) -> c_int {
    let queue = with(super::work::sys_work_q);
    poll_submit(queue, work, events, num_events, timeout, "k_work_poll_submit")
}

fn poll_submit(
    work_q: *mut k_work_q,
    work: *mut k_work_poll,
    events: *mut k_poll_event,
    num_events: c_int,
    timeout: k_timeout_t,
    call: &str,
) -> c_int {
    assert!(!work_q.is_null(), "{call}: work_q is NULL");
    assert!(!events.is_null() && num_events > 0, "{call}: no events");
    let now = with(|k| -> Result<bool, c_int> {
        check_twork(k, work, call);
        // SAFETY: checked above; the caller guarantees the events.
        unsafe {
            let owner = (*work).workq;
            if !owner.is_null() {
                if owner != work_q {
                    return Err(-EADDRINUSE);
                }
                if cancel_locked(k, work) < 0 {
                    return Err(-EINVAL);
                }
            }
            (*work).poller = z_poller { is_polling: true, mode: Z_POLLER_MODE_NONE };
            (*work).workq = work_q;
            (*work).events = events;
            (*work).num_events = num_events;
            (*work).poll_result = -EINPROGRESS;
            let mut polling = true;
            for i in 0..num_events as usize {
                let ev = events.add(i);
                match condition_met(k, ev, call) {
                    Some(state) => {
                        (*ev).state |= state;
                        polling = false;
                    }
                    None if polling && (*ev).type_ != K_POLL_TYPE_IGNORE => {
                        register(k, ev, Poller::Work(work));
                    }
                    None => {}
                }
            }
            if polling && timeout != K_NO_WAIT {
                if let Some(deadline) = k.deadline(timeout) {
                    let (deadline, seq) = k.add_timeout(deadline, Target::PollWork(work));
                    (*work).timeout = _timeout { deadline, seq };
                }
                (*work).poller.mode = Z_POLLER_MODE_TRIGGERED;
                return Ok(false);
            }
            (*work).poll_result = if polling { -EAGAIN } else { 0 };
            (*work).poller.is_polling = false;
            unregister_all(k, events, num_events, Poller::Work(work));
            Ok(true)
        }
    });
    match now {
        Err(e) => e,
        Ok(false) => 0,
        Ok(true) => {
            // SAFETY: checked above; the queue is the caller's.
            unsafe { k_work_submit_to_queue(work_q, addr_of_mut!((*work).work)) };
            0
        }
    }
}

/// Cancels triggered work still waiting for its events (`k_work_poll_cancel`): 0 if it was
/// waiting; `-EINVAL` if it was never submitted, already triggered, queued or running.
///
/// # Safety
/// `work` must be null or point to a `k_work_poll` (initialised with [`k_work_poll_init`], or
/// all zero).
#[no_mangle]
pub unsafe extern "C-unwind" fn k_work_poll_cancel(work: *mut k_work_poll) -> c_int {
    // As in Zephyr, this is checked first: an item never submitted (even one never
    // initialised, all zero) is -EINVAL.
    // SAFETY: the caller guarantees a non-null `work` points to a k_work_poll.
    if work.is_null() || unsafe { (*work).workq }.is_null() {
        return -EINVAL;
    }
    with(|k| {
        check_twork(k, work, "k_work_poll_cancel");
        cancel_locked(k, work)
    })
}
