//! Semaphores, mutexes and condition variables (`kernel/sem.c`, `kernel/mutex.c`,
//! `kernel/condvar.c`).

use std::ffi::{c_int, c_uint};
use std::ptr::addr_of_mut;

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{enter, with, Kernel, Wait};
use crate::switch::{after_wake, prepare_swap, reschedule, swap, swap_to, wake_end};

fn check_sem(k: &mut Kernel, sem: *mut k_sem, call: &str) {
    // SAFETY: the caller of the API function guarantees `sem` points to a k_sem.
    k.check_object(unsafe { addr_of_mut!((*sem)._sim) }, sem, Z_SIM_SEM, call);
}

fn check_mutex(k: &mut Kernel, m: *mut k_mutex, call: &str) {
    // SAFETY: the caller of the API function guarantees `m` points to a k_mutex.
    k.check_object(unsafe { addr_of_mut!((*m)._sim) }, m, Z_SIM_MUTEX, call);
}

/// Initialises a semaphore (`k_sem_init`): `-EINVAL` if `limit == 0` or `initial_count >
/// limit`, leaving it untouched.
///
/// # Safety
/// `sem` must be valid and must not move afterwards.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_sem_init(
    sem: *mut k_sem,
    initial_count: c_uint,
    limit: c_uint,
) -> c_int {
    if limit == 0 || initial_count > limit {
        return -EINVAL;
    }
    with(|k| {
        // SAFETY: the caller guarantees `sem` is valid.
        unsafe {
            k.init_object(
                addr_of_mut!((*sem)._sim),
                addr_of_mut!((*sem).wait_q),
                sem as usize,
                Z_SIM_SEM,
            );
            (*sem).count = initial_count;
            (*sem).limit = limit;
        }
    });
    0
}

/// Gives a semaphore (`k_sem_give`, ISR-safe): hands it to the most urgent, longest waiting
/// thread, else counts up to the limit (extra gives are dropped) and notifies the first
/// `k_poll` event registered on it (`handle_poll_events`, called whether or not the count
/// was at its limit); then reschedules.
///
/// # Safety
/// `sem` must be an initialised semaphore.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_sem_give(sem: *mut k_sem) {
    let end = enter(|k| {
        check_sem(k, sem, "k_sem_give");
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*sem).wait_q) };
        // The woken thread's k_sem_take returns 0.
        if k.unpend_first_returning(q, 0).is_none() {
            // SAFETY: checked above.
            unsafe {
                if (*sem).count != (*sem).limit {
                    (*sem).count += 1;
                }
            }
            crate::api::poll::notify(k, sem as usize, K_POLL_STATE_SEM_AVAILABLE);
        }
        wake_end(k)
    });
    after_wake(end);
}

crate::context::blocking_entry! {
    /// Takes a semaphore (`k_sem_take`): 0; `-EBUSY` when unavailable with `K_NO_WAIT`; `-EAGAIN`
    /// when the timeout expires (a timeout of N ticks ends N + 1 ticks after the current tick).
    ///
    /// # Safety
    /// `sem` must be an initialised semaphore.
    ///
    /// # Panics
    /// Waiting (any timeout but `K_NO_WAIT`) in an ISR.
    pub unsafe extern "C-unwind" fn k_sem_take(sem: *mut k_sem, timeout: k_timeout_t) -> c_int
        => k_sem_take_body;
}

/// [`k_sem_take`]'s body.
///
/// # Safety
/// As [`k_sem_take`].
unsafe extern "C-unwind" fn k_sem_take_body(sem: *mut k_sem, timeout: k_timeout_t) -> c_int {
    let r = enter(|k| {
        check_sem(k, sem, "k_sem_take");
        // SAFETY: checked above.
        unsafe {
            if (*sem).count > 0 {
                (*sem).count -= 1;
                return Ok(0);
            }
        }
        if timeout == K_NO_WAIT {
            return Ok(-EBUSY);
        }
        if k.isr_depth > 0 {
            return Err(None);
        }
        k.pend_current(Wait::Sem(sem), timeout);
        // Pend and choose the next thread in one borrow.
        Err(Some(prepare_swap(k)))
    });
    match r {
        Ok(v) => v,
        Err(Some(handoff)) => swap_to(handoff),
        Err(None) => {
            no_isr("k_sem_take");
            unreachable!()
        }
    }
}

/// Resets a semaphore (`k_sem_reset`): every waiter returns `-EAGAIN`, the count becomes 0.
///
/// # Safety
/// `sem` must be an initialised semaphore.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_sem_reset(sem: *mut k_sem) {
    with(|k| {
        check_sem(k, sem, "k_sem_reset");
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*sem).wait_q) };
        while let Some(t) = k.unpend_first(q) {
            k.threads[t as usize].swap_retval = -EAGAIN;
        }
        // SAFETY: checked above.
        unsafe { (*sem).count = 0 };
    });
    reschedule(false);
}

/// A semaphore's count (`k_sem_count_get`).
///
/// # Safety
/// `sem` must be an initialised semaphore.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_sem_count_get(sem: *mut k_sem) -> c_uint {
    with(|k| {
        check_sem(k, sem, "k_sem_count_get");
        // SAFETY: checked above.
        unsafe { (*sem).count }
    })
}

/// Initialises a mutex (`k_mutex_init`).
///
/// # Safety
/// `mutex` must be valid and must not move afterwards.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mutex_init(mutex: *mut k_mutex) -> c_int {
    with(|k| {
        // SAFETY: the caller guarantees `mutex` is valid.
        unsafe {
            k.init_object(
                addr_of_mut!((*mutex)._sim),
                addr_of_mut!((*mutex).wait_q),
                mutex as usize,
                Z_SIM_MUTEX,
            );
            (*mutex).owner = std::ptr::null_mut();
            (*mutex).lock_count = 0;
            (*mutex).owner_orig_prio = K_LOWEST_APPLICATION_THREAD_PRIO;
        }
    });
    0
}

/// The priority an owner inherits from a waiter (`new_prio_for_inheritance`): the more
/// urgent of the two, but never above `CONFIG_PRIORITY_CEILING`.
fn inherited_prio(target: c_int, limit: c_int) -> c_int {
    target.min(limit).max(CONFIG_PRIORITY_CEILING)
}

/// Sets the owner's priority (`adjust_owner_prio`); returns whether it is ready (a reschedule
/// may be due).
fn adjust_owner_prio(k: &mut Kernel, m: *mut k_mutex, prio: c_int) -> bool {
    // SAFETY: `m` was checked by the caller; its owner is a thread of this simulation.
    let owner = unsafe { (*m).owner };
    if owner.is_null() {
        return false;
    }
    let slot = k.slot_of(owner, "k_mutex");
    if k.threads[slot as usize].prio == prio {
        return false;
    }
    k.set_prio(slot, prio);
    k.threads[slot as usize].is_ready()
}

/// Locks a mutex (`k_mutex_lock`): 0 (recursively for the owner), `-EBUSY` with `K_NO_WAIT`,
/// `-EAGAIN` on timeout. A more urgent waiter raises the owner to its priority until the
/// owner unlocks or the waiter times out.
///
/// # Safety
/// `mutex` must be an initialised mutex.
///
/// # Panics
/// In an ISR (mutexes cannot be used there).
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mutex_lock(mutex: *mut k_mutex, timeout: k_timeout_t) -> c_int {
    crate::switch::kernel_call_entry();
    no_isr("k_mutex_lock");
    let r = with(|k| {
        check_mutex(k, mutex, "k_mutex_lock");
        let cur = k.current;
        let me = k.threads[cur as usize].obj;
        // SAFETY: checked above.
        let m = unsafe { &mut *mutex };
        if m.lock_count == 0 || m.owner == me {
            if m.lock_count == 0 {
                m.owner_orig_prio = k.threads[cur as usize].prio;
            }
            m.lock_count += 1;
            m.owner = me;
            return Some(0);
        }
        if timeout == K_NO_WAIT {
            return Some(-EBUSY);
        }
        let owner = k.slot_of(m.owner, "k_mutex_lock");
        let prio = inherited_prio(k.threads[cur as usize].prio, k.threads[owner as usize].prio);
        if prio < k.threads[owner as usize].prio {
            adjust_owner_prio(k, mutex, prio);
        }
        k.pend_current(Wait::Mutex(mutex), timeout);
        None
    });
    if let Some(v) = r {
        return v;
    }
    if swap() == 0 {
        return 0;
    }
    // Timed out: the owner drops to what the remaining waiters (if any) justify.
    let resched = with(|k| {
        // SAFETY: checked above; still valid while the caller uses it.
        let (head, orig) = unsafe { (k.waitq_head(&(*mutex).wait_q), (*mutex).owner_orig_prio) };
        let prio = match head {
            Some(w) => inherited_prio(k.threads[w as usize].prio, orig),
            None => orig,
        };
        adjust_owner_prio(k, mutex, prio)
    });
    if resched {
        reschedule(false);
    }
    -EAGAIN
}

/// Unlocks in the kernel; `Ok(true)` when a waiter took the mutex and a reschedule is due.
fn unlock(k: &mut Kernel, mutex: *mut k_mutex) -> Result<bool, c_int> {
    check_mutex(k, mutex, "k_mutex_unlock");
    let me = k.threads[k.current as usize].obj;
    // SAFETY: checked above.
    let m = unsafe { &mut *mutex };
    if m.owner.is_null() {
        return Err(-EINVAL);
    }
    if m.owner != me {
        return Err(-EPERM);
    }
    if m.lock_count > 1 {
        m.lock_count -= 1;
        return Ok(false);
    }
    let orig = m.owner_orig_prio;
    adjust_owner_prio(k, mutex, orig);
    match k.unpend_first(&mut m.wait_q) {
        Some(new_owner) => {
            m.owner = k.threads[new_owner as usize].obj;
            m.owner_orig_prio = k.threads[new_owner as usize].prio;
            k.threads[new_owner as usize].swap_retval = 0;
            Ok(true)
        }
        None => {
            m.owner = std::ptr::null_mut();
            m.lock_count = 0;
            Ok(false)
        }
    }
}

/// Unlocks a mutex (`k_mutex_unlock`): 0, `-EPERM` if the caller is not the owner, `-EINVAL`
/// if it is not locked. The last unlock hands it to the first waiter.
///
/// # Safety
/// `mutex` must be an initialised mutex.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mutex_unlock(mutex: *mut k_mutex) -> c_int {
    crate::switch::kernel_call_entry();
    no_isr("k_mutex_unlock");
    match with(|k| unlock(k, mutex)) {
        Err(e) => e,
        Ok(resched) => {
            if resched {
                reschedule(false);
            }
            0
        }
    }
}

fn check_condvar(k: &mut Kernel, cv: *mut k_condvar, call: &str) {
    // SAFETY: the caller of the API function guarantees `cv` points to a k_condvar.
    k.check_object(unsafe { addr_of_mut!((*cv)._sim) }, cv, Z_SIM_CONDVAR, call);
}

/// Initialises a condition variable (`k_condvar_init`).
///
/// # Safety
/// `condvar` must be valid and must not move afterwards.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_condvar_init(condvar: *mut k_condvar) -> c_int {
    with(|k| {
        // SAFETY: the caller guarantees `condvar` is valid.
        unsafe {
            k.init_object(
                addr_of_mut!((*condvar)._sim),
                addr_of_mut!((*condvar).wait_q),
                condvar as usize,
                Z_SIM_CONDVAR,
            )
        }
    });
    0
}

fn wake(condvar: *mut k_condvar, all: bool, call: &str) -> c_int {
    let woken = with(|k| {
        check_condvar(k, condvar, call);
        let mut woken = 0;
        // SAFETY: checked above.
        while let Some(t) = k.unpend_first(unsafe { addr_of_mut!((*condvar).wait_q) }) {
            k.threads[t as usize].swap_retval = 0;
            woken += 1;
            if !all {
                break;
            }
        }
        woken
    });
    reschedule(false);
    woken
}

/// Wakes the first waiter (`k_condvar_signal`); returns 0.
///
/// # Safety
/// `condvar` must be an initialised condition variable.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_condvar_signal(condvar: *mut k_condvar) -> c_int {
    wake(condvar, false, "k_condvar_signal");
    0
}

/// Wakes every waiter (`k_condvar_broadcast`); returns how many.
///
/// # Safety
/// `condvar` must be an initialised condition variable.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_condvar_broadcast(condvar: *mut k_condvar) -> c_int {
    wake(condvar, true, "k_condvar_broadcast")
}

/// Atomically unlocks `mutex` and waits on `condvar`, then relocks `mutex` (`k_condvar_wait`):
/// 0 when signalled, `-EAGAIN` on timeout.
///
/// # Safety
/// `condvar` and `mutex` must be initialised; the caller must own `mutex`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_condvar_wait(
    condvar: *mut k_condvar,
    mutex: *mut k_mutex,
    timeout: k_timeout_t,
) -> c_int {
    no_isr("k_condvar_wait");
    with(|k| {
        check_condvar(k, condvar, "k_condvar_wait");
        if let Err(e) = unlock(k, mutex) {
            panic!("k_condvar_wait: the caller does not hold the mutex (k_mutex_unlock: {e})");
        }
        k.pend_current(Wait::Condvar(condvar), timeout);
    });
    let r = swap();
    // SAFETY: forwarded caller contract.
    unsafe { k_mutex_lock(mutex, K_FOREVER) };
    r
}
