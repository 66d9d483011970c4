//! Threads: create, start, join, abort, sleep, yield, suspend/resume, priorities, names
//! (`kernel/thread.c`, `kernel/sched.c`).

use std::ffi::{c_char, c_int, c_void, CStr};

use zephyr_sys::thread_state::*;
use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Wait};
use crate::switch::{exit_current, make_context, reschedule, retire, swap};
use crate::trace::TraceEvent;

pub(crate) fn check_prio(prio: c_int, call: &str) {
    if !(K_HIGHEST_THREAD_PRIO..=K_LOWEST_APPLICATION_THREAD_PRIO).contains(&prio) {
        panic!(
            "{call}: invalid thread priority {prio} (valid: {K_HIGHEST_THREAD_PRIO} to \
             {K_LOWEST_APPLICATION_THREAD_PRIO})"
        );
    }
}

/// Creates a thread (`k_thread_create`). The thread runs on a host stack; `stack` and
/// `stack_size` are accepted for API fidelity.
///
/// # Safety
/// `new_thread` must be valid and stay in place while the thread lives; `entry` must be safe to
/// call with `p1`, `p2`, `p3` on another thread.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_create(
    new_thread: *mut k_thread,
    _stack: *mut k_thread_stack_t,
    _stack_size: usize,
    entry: k_thread_entry_t,
    p1: *mut c_void,
    p2: *mut c_void,
    p3: *mut c_void,
    prio: c_int,
    options: u32,
    delay: k_timeout_t,
) -> k_tid_t {
    assert!(!new_thread.is_null(), "k_thread_create: new_thread is NULL");
    let entry = entry.expect("k_thread_create: entry is NULL");
    check_prio(prio, "k_thread_create");
    let start_now = with(|k| {
        // SAFETY: the caller guarantees `new_thread` is valid.
        let h = unsafe { &(*new_thread)._sim };
        if h.magic == Z_SIM_THREAD && h.sim == k.id && h.addr == new_thread as usize {
            let state = k.threads[h.id as usize].state;
            assert!(
                state & _THREAD_DEAD != 0,
                "k_thread_create: k_thread at {:#x} belongs to a thread that is still alive",
                new_thread as usize
            );
        }
        // A new thread shares its creator's resource pool (kernel/thread.c:
        // `z_setup_new_thread`; none for threads created from ISRs or before any thread runs).
        let pool = if k.isr_depth == 0 && (k.current as usize) < k.threads.len() {
            // SAFETY: the current thread's object is valid while it runs.
            unsafe { (*k.threads[k.current as usize].obj).resource_pool }
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: the caller guarantees `new_thread` is valid.
        unsafe { (*new_thread).resource_pool = pool };
        let slot = k.register_thread(new_thread, prio);
        // SAFETY: as above.
        unsafe { (*new_thread).base.user_options = options as u8 };
        // SAFETY: the caller guarantees `entry` may be called with these arguments.
        let body = Box::new(move || unsafe { entry(p1, p2, p3) });
        let co = make_context(k, slot, body);
        k.threads[slot as usize].co = Some(co);
        k.record(TraceEvent::Create { thread: slot });
        if delay == K_NO_WAIT {
            k.start_thread(slot);
            true
        } else {
            // A start delay of N ticks starts the thread N + 1 ticks from now.
            k.add_thread_timeout(slot, delay);
            false
        }
    });
    if start_now {
        reschedule(false);
    }
    new_thread
}

/// Starts a thread created with a `K_FOREVER` delay (`k_thread_start`).
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_start(thread: k_tid_t) {
    with(|k| {
        let slot = k.slot_of(thread, "k_thread_start");
        k.start_thread(slot);
    });
    reschedule(false);
}

/// Waits for a thread to exit (`k_thread_join`).
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_join(
    thread: *mut k_thread,
    timeout: k_timeout_t,
) -> c_int {
    no_isr("k_thread_join");
    let r = with(|k| {
        let slot = k.slot_of(thread, "k_thread_join");
        let cur = k.current;
        if k.threads[slot as usize].state & _THREAD_DEAD != 0 {
            return Some(0);
        }
        if timeout == K_NO_WAIT {
            return Some(-EBUSY);
        }
        let joins_us = matches!(k.threads[slot as usize].wait, Some(Wait::Join(j)) if j == cur);
        if slot == cur || joins_us {
            return Some(-EDEADLK);
        }
        k.pend_current(Wait::Join(slot), timeout);
        None
    });
    r.unwrap_or_else(swap)
}

/// Ends a thread (`k_thread_abort`); when it is the caller, does not return.
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_abort(thread: k_tid_t) {
    let (slot, is_current, dead, in_isr) = with(|k| {
        let slot = k.slot_of(thread, "k_thread_abort");
        let dead = k.threads[slot as usize].state & _THREAD_DEAD != 0;
        (slot, slot == k.current, dead, k.isr_depth > 0)
    });
    if dead {
        return;
    }
    if is_current {
        assert!(
            !in_isr,
            "k_thread_abort: aborting the interrupted thread from an ISR is not supported"
        );
        exit_current();
    }
    with(|k| k.mark_dead(slot));
    retire(slot);
    reschedule(false);
}

/// Puts the caller to sleep for `ticks` (`z_tick_sleep`); returns the ticks left if woken
/// early. Zero ticks yields.
fn tick_sleep(ticks: k_ticks_t) -> k_ticks_t {
    if ticks == 0 {
        // SAFETY: k_yield has no preconditions beyond thread context, checked by callers.
        unsafe { k_yield() };
        return 0;
    }
    let cur = with(|k| {
        let cur = k.current;
        let now = k.uptime_ticks();
        let abs = Z_TICK_ABS(ticks);
        k.threads[cur as usize].sleep_until =
            if abs >= 0 { abs } else { now.saturating_add(ticks) };
        k.set_state(cur, _THREAD_SLEEPING);
        k.add_thread_timeout(cur, K_TICKS(ticks));
        cur
    });
    swap();
    with(|k| (k.threads[cur as usize].sleep_until - k.uptime_ticks()).max(0))
}

/// Sleeps (`k_sleep`); returns the milliseconds left (rounded down) if woken early.
/// `K_FOREVER` suspends the caller and returns `K_TICKS_FOREVER`.
///
/// # Safety
/// Thread context only.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_sleep(timeout: k_timeout_t) -> i32 {
    crate::switch::kernel_call_entry();
    no_isr("k_sleep");
    if timeout == K_FOREVER {
        // SAFETY: suspending the current thread is always valid in thread context.
        unsafe { k_thread_suspend(k_current_get()) };
        return K_TICKS_FOREVER as i32;
    }
    let left = tick_sleep(timeout.ticks);
    k_ticks_to_ms_floor64(left as u64) as i32
}

/// Sleeps for at least `us` microseconds (`k_usleep`); returns the microseconds left.
///
/// # Safety
/// Thread context only.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_usleep(us: i32) -> i32 {
    no_isr("k_usleep");
    let ticks = k_us_to_ticks_ceil64(us.max(0) as u64) as k_ticks_t;
    let left = tick_sleep(ticks);
    k_ticks_to_us_floor64(left as u64) as i32
}

/// Moves the caller behind the ready threads of its priority (`k_yield`).
///
/// # Safety
/// Thread context only.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_yield() {
    crate::switch::kernel_call_entry();
    no_isr("k_yield");
    // Like a blocking call, a yield switches even while the caller holds `irq_lock` (the lock
    // belongs to the thread): kernel/sched.c's z_impl_k_yield calls z_swap unconditionally.
    let switch = with(|k| {
        let cur = k.current;
        k.requeue(cur);
        k.need_swap(true)
    });
    if switch {
        swap();
    }
}

/// Wakes a sleeping thread early (`k_wakeup`); does nothing to a pending thread. As in
/// Zephyr 2.7 (`z_impl_k_wakeup`), a thread that is only suspended (for instance by
/// `k_sleep(K_FOREVER)`, which suspends the caller) is woken too.
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_wakeup(thread: k_tid_t) {
    let woke = with(|k| {
        let slot = k.slot_of(thread, "k_wakeup");
        let state = k.threads[slot as usize].state;
        if state & _THREAD_PENDING != 0 {
            return false;
        }
        if state & _THREAD_SLEEPING != 0 {
            k.abort_thread_timeout(slot);
            k.clear_state(slot, _THREAD_SLEEPING);
            return true;
        }
        if state == _THREAD_SUSPENDED {
            k.clear_state(slot, _THREAD_SUSPENDED);
            return true;
        }
        false
    });
    if woke {
        reschedule(false);
    }
}

/// The calling thread (`k_current_get`); in an ISR, the interrupted one.
#[no_mangle]
pub extern "C-unwind" fn k_current_get() -> k_tid_t {
    with(|k| k.threads[k.current as usize].obj)
}

/// Suspends a thread (`k_thread_suspend`): cancels its timeout for good (a suspended sleeper
/// resumed early continues at once; a timed wait becomes untimed). Suspending the caller
/// switches away at once.
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_suspend(thread: k_tid_t) {
    let switch_now = crate::kernel::enter(|k| {
        let slot = k.slot_of(thread, "k_thread_suspend");
        if k.threads[slot as usize].state & _THREAD_DEAD != 0 {
            return false;
        }
        k.abort_thread_timeout(slot);
        k.set_state(slot, _THREAD_SUSPENDED);
        k.clear_state(slot, _THREAD_SLEEPING);
        slot == k.current && k.isr_depth == 0
    });
    if switch_now {
        swap();
    }
}

/// Resumes a suspended thread (`k_thread_resume`); on a thread that is not suspended it does
/// nothing, and is not remembered.
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_resume(thread: k_tid_t) {
    let resumed = crate::kernel::enter(|k| {
        let slot = k.slot_of(thread, "k_thread_resume");
        if k.threads[slot as usize].state & _THREAD_SUSPENDED == 0 {
            return false;
        }
        k.clear_state(slot, _THREAD_SUSPENDED);
        true
    });
    if resumed {
        reschedule(false);
    }
}

/// A thread's priority (`k_thread_priority_get`).
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_priority_get(thread: k_tid_t) -> c_int {
    with(|k| {
        let slot = k.slot_of(thread, "k_thread_priority_get");
        k.threads[slot as usize].prio
    })
}

/// Sets a thread's priority (`k_thread_priority_set`); a ready thread raised above the caller
/// runs inside the call.
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_priority_set(thread: k_tid_t, prio: c_int) {
    check_prio(prio, "k_thread_priority_set");
    let ready = with(|k| {
        let slot = k.slot_of(thread, "k_thread_priority_set");
        k.set_prio(slot, prio);
        k.threads[slot as usize].is_ready()
    });
    if ready {
        reschedule(true);
    }
}

/// Names a thread (`k_thread_name_set`); null `thread` names the caller.
///
/// # Safety
/// `thread` must be null or a thread of this simulation; `str_` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_name_set(thread: k_tid_t, str_: *const c_char) -> c_int {
    if str_.is_null() {
        return -EINVAL;
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(str_) }.to_bytes().to_vec();
    with(|k| {
        let slot =
            if thread.is_null() { k.current } else { k.slot_of(thread, "k_thread_name_set") };
        k.set_name(slot, &name);
    });
    0
}

/// A thread's name (`k_thread_name_get`).
///
/// # Safety
/// `thread` must be a thread of this simulation.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_name_get(thread: k_tid_t) -> *const c_char {
    with(|k| {
        let slot = k.slot_of(thread, "k_thread_name_get");
        // SAFETY: thread objects are valid while registered.
        unsafe { (*k.threads[slot as usize].obj).name.as_ptr() }
    })
}

/// Sets the time slice (`k_sched_time_slice_set`, kernel/sched.c:368-382): `slice` ms, as
/// ticks rounded up and at least 2 (0: off), for preemptible threads not more urgent than
/// `prio`; the running thread starts a fresh slice. Does not reschedule. Callable from threads
/// and ISRs. See [`crate::timeslice`].
///
/// # Panics
/// When the board has no time slicing (`CONFIG_TIMESLICING=n` and no
/// [`Sim::time_slice`](crate::Sim::time_slice)): on Zephyr the function would not exist.
#[no_mangle]
pub extern "C-unwind" fn k_sched_time_slice_set(slice: u32, prio: c_int) {
    with(|k| {
        assert!(
            k.timeslicing,
            "k_sched_time_slice_set: CONFIG_TIMESLICING is off on this board (set it in the \
             board's configuration, or use Sim::time_slice)"
        );
        k.set_time_slice(slice, prio);
    });
}

/// Locks the scheduler: the caller is not preempted until [`k_sched_unlock`] (`k_sched_lock`).
#[no_mangle]
pub extern "C-unwind" fn k_sched_lock() {
    with(|k| {
        let cur = k.current;
        k.threads[cur as usize].sched_lock += 1;
    });
}

/// Undoes one [`k_sched_lock`]; at zero, a more urgent ready thread runs (`k_sched_unlock`).
#[no_mangle]
pub extern "C-unwind" fn k_sched_unlock() {
    with(|k| {
        let t = &mut k.threads[k.current as usize];
        assert!(t.sched_lock > 0, "k_sched_unlock without k_sched_lock");
        t.sched_lock -= 1;
    });
    reschedule(false);
}

/// Sets `thread`'s deadline to `deadline` cycles after now (`k_thread_deadline_set`,
/// kernel/sched.c): `base.prio_deadline = k_cycle_get_32() + deadline`, and a ready thread is
/// queued again at its new place among its equals. No reschedule: the new order counts from
/// the next reschedule point.
///
/// # Safety
/// `thread` must be a thread of this simulation.
///
/// # Panics
/// Without `CONFIG_SCHED_DEADLINE` ([`crate::Sim::sched_deadline`]): on Zephyr the function
/// does not exist then.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_thread_deadline_set(thread: k_tid_t, deadline: c_int) {
    with(|k| {
        assert!(
            k.sched_deadline,
            "k_thread_deadline_set: needs CONFIG_SCHED_DEADLINE=y (Sim::sched_deadline(true))"
        );
        let slot = k.slot_of(thread, "k_thread_deadline_set");
        let now = k.now as u32;
        k.threads[slot as usize].prio_deadline = now.wrapping_add(deadline as u32);
        k.requeue_if_queued(slot);
    });
}
