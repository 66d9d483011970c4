//! Semaphores (`kernel/sem.c`), mutexes (`kernel/mutex.c`) and condition variables
//! (`kernel/condvar.c`), one test per rule. Board: 10 kHz ticks.

mod common;

use common::*;
use zephyr_sys::*;

/// kernel/sem.c (`z_impl_k_sem_init`, `z_impl_k_sem_give`, `z_impl_k_sem_take`): init
/// rejects a zero limit and an initial count above it; gives beyond the limit are dropped;
/// takes count down; an empty take with K_NO_WAIT (or K_TICKS(0)) is -EBUSY.
#[test]
fn sem_give_take_and_limit() {
    let (r, _) = run(5, || {
        let s = leak(k_sem::new());
        // SAFETY: kernel calls from a simulated thread on a leaked semaphore.
        unsafe {
            let bad = (k_sem_init(s, 0, 0), k_sem_init(s, 4, 3));
            assert_eq!(k_sem_init(s, 0, 3), 0);
            for _ in 0..5 {
                k_sem_give(s);
            }
            let full = k_sem_count_get(s);
            let takes: Vec<i32> = (0..4).map(|_| k_sem_take(s, K_NO_WAIT)).collect();
            let zero_ticks = k_sem_take(s, K_TICKS(0));
            (bad, full, takes, zero_ticks, k_sem_count_get(s))
        }
    });
    assert_eq!(r, ((-EINVAL, -EINVAL), 3, vec![0, 0, 0, -EBUSY], -EBUSY, 0));
}

/// kernel/sem.c + kernel/timeout.c: a take of N ticks that is never given returns -EAGAIN
/// exactly N + 1 ticks after the current tick, and not one tick earlier.
#[test]
fn sem_take_times_out_at_exactly_n_plus_one_ticks() {
    let (_, log) = run(5, || {
        let s = sem(0, 1);
        spawn("taker", 4, K_NO_WAIT, move || {
            // SAFETY: kernel calls from a simulated thread on a leaked semaphore.
            let r = unsafe { k_sem_take(s, K_TICKS(100)) };
            log!("take returned {r}");
        });
        // SAFETY: kernel calls from a simulated thread.
        unsafe {
            k_sleep(K_TIMEOUT_ABS_TICKS(100));
            log!("taker still waiting");
            k_sleep(K_TIMEOUT_ABS_TICKS(102));
        }
    });
    assert_eq!(log, ["T=100 taker still waiting", "T=101 take returned -11"]);
}

/// kernel/sem.c (`z_unpend_first_thread`): a give goes to the most urgent waiter, and among
/// equals to the one that waited longest; `k_sem_reset` makes every waiter return -EAGAIN.
#[test]
fn sem_hands_off_to_most_urgent_then_oldest_waiter() {
    let (_, log) = run(1, || {
        let s = sem(0, 10);
        for (name, prio) in [("w6a", 6), ("w4", 4), ("w6b", 6), ("w5", 5)] {
            spawn(name, prio, K_NO_WAIT, move || {
                // SAFETY: kernel call from a simulated thread on a leaked semaphore.
                let r = unsafe { k_sem_take(s, K_FOREVER) };
                log!("{name} got {r}");
            });
        }
        // SAFETY: as above.
        unsafe {
            k_msleep(1); // everyone pends
            for _ in 0..3 {
                k_sem_give(s);
            }
            k_sem_reset(s);
            log!("main after reset, count {}", k_sem_count_get(s));
            k_msleep(1);
        }
    });
    assert_eq!(
        log,
        [
            "T=11 main after reset, count 0",
            "T=11 w4 got 0",
            "T=11 w5 got 0",
            "T=11 w6a got 0",
            "T=11 w6b got -11",
        ]
    );
}

/// kernel/mutex.c (`z_impl_k_mutex_lock`, `z_impl_k_mutex_unlock`): the owner locks
/// recursively and must unlock as often; a non-owner's unlock is -EPERM, an unlock of an
/// unlocked mutex -EINVAL, a busy lock with K_NO_WAIT -EBUSY.
#[test]
fn mutex_recursion_eperm_einval_ebusy() {
    let (r, _) = run(5, || {
        let m = leak(k_mutex::new());
        let mp: *mut k_mutex = m;
        // SAFETY: kernel calls from simulated threads on a leaked mutex.
        unsafe {
            k_mutex_init(mp);
            let not_locked = k_mutex_unlock(mp);
            let locks: Vec<(i32, u32)> =
                (0..3).map(|_| (k_mutex_lock(mp, K_NO_WAIT), (*mp).lock_count)).collect();
            let other = std::rc::Rc::new(std::cell::Cell::new((0, 0)));
            let o = other.clone();
            spawn("other", 3, K_NO_WAIT, move || {
                o.set((k_mutex_unlock(mp), k_mutex_lock(mp, K_NO_WAIT)));
            });
            let unlocks: Vec<(i32, u32)> =
                (0..4).map(|_| (k_mutex_unlock(mp), (*mp).lock_count)).collect();
            (not_locked, locks, other.get(), unlocks)
        }
    });
    assert_eq!(
        r,
        (
            -EINVAL,
            vec![(0, 1), (0, 2), (0, 3)],
            (-EPERM, -EBUSY),
            vec![(0, 2), (0, 1), (0, 0), (-EINVAL, 0)]
        )
    );
}

/// kernel/mutex.c (priority inheritance): a more urgent waiter raises the owner to its
/// priority; the owner drops back when it unlocks (and the waiter, now owner, runs inside
/// the unlock), or when the waiter times out.
#[test]
fn mutex_priority_inheritance_and_its_undoing() {
    let (_, log) = run(5, || {
        let m: *mut k_mutex = leak(k_mutex::new());
        let me = k_current_get_safe();
        // SAFETY: kernel calls from simulated threads on a leaked mutex.
        unsafe {
            k_mutex_init(m);
            k_mutex_lock(m, K_FOREVER);
            spawn("waiter", 3, K_NO_WAIT, move || {
                let r = k_mutex_lock(m, K_FOREVER);
                log!("waiter got the mutex: {r}");
                k_mutex_unlock(m);
            });
            log!("owner prio while waited on: {}", k_thread_priority_get(me));
            k_mutex_unlock(m);
            log!("owner prio after unlock: {}", k_thread_priority_get(me));

            k_mutex_lock(m, K_FOREVER);
            spawn("impatient", 2, K_NO_WAIT, move || {
                let r = k_mutex_lock(m, K_TICKS(20));
                log!("impatient gave up: {r}");
            });
            log!("owner prio: {}", k_thread_priority_get(me));
            k_sleep(K_TICKS(30));
            log!("owner prio after the waiter timed out: {}", k_thread_priority_get(me));
            k_mutex_unlock(m);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 owner prio while waited on: 3",
            "T=0 waiter got the mutex: 0",
            "T=0 owner prio after unlock: 5",
            "T=0 owner prio: 2",
            "T=21 impatient gave up: -11",
            "T=31 owner prio after the waiter timed out: 5",
        ]
    );
}

fn k_current_get_safe() -> k_tid_t {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_current_get() }
}

/// kernel/condvar.c: `k_condvar_wait` releases the mutex and waits atomically; a signal wakes
/// one waiter (which relocks the mutex before returning 0), a broadcast all, a timeout ends
/// the wait with -EAGAIN.
#[test]
fn condvar_signal_broadcast_timeout() {
    let (r, log) = run(5, || {
        let m: *mut k_mutex = leak(k_mutex::new());
        let cv: *mut k_condvar = leak(k_condvar::new());
        // SAFETY: kernel calls from simulated threads on leaked objects.
        unsafe {
            k_mutex_init(m);
            k_condvar_init(cv);
            for name in ["a", "b", "c"] {
                spawn(name, 4, K_NO_WAIT, move || {
                    k_mutex_lock(m, K_FOREVER);
                    let r = k_condvar_wait(cv, m, K_FOREVER);
                    let owner = (*m).owner == k_current_get();
                    log!("{name} woke {r}, owns mutex: {owner}");
                    k_mutex_unlock(m);
                });
            }
            let signal = k_condvar_signal(cv);
            k_msleep(1);
            let woken = k_condvar_broadcast(cv);
            k_msleep(1);
            k_mutex_lock(m, K_FOREVER);
            let t0 = k_uptime_ticks();
            let timed = k_condvar_wait(cv, m, K_TICKS(5));
            let t1 = k_uptime_ticks();
            let relocked = (*m).owner == k_current_get();
            (signal, woken, timed, t1 - t0, relocked)
        }
    });
    assert_eq!(r, (0, 2, -EAGAIN, 6, true));
    assert_eq!(
        log,
        [
            "T=0 a woke 0, owns mutex: true",
            "T=11 b woke 0, owns mutex: true",
            "T=11 c woke 0, owns mutex: true"
        ]
    );
}

/// kernel/mutex.c + CONFIG_PRIORITY_CEILING (-127 by default since before Zephyr 2.7): a
/// cooperative waiter raises a preemptible owner to its cooperative priority.
#[test]
fn mutex_inheritance_reaches_cooperative_priorities() {
    let (prio, _) = run(5, || {
        let m: *mut k_mutex = leak(k_mutex::new());
        // SAFETY: kernel calls from simulated threads on a leaked mutex.
        unsafe {
            k_mutex_init(m);
            k_mutex_lock(m, K_FOREVER);
            spawn("coop-waiter", -3, K_NO_WAIT, move || {
                k_mutex_lock(m, K_FOREVER);
                k_mutex_unlock(m);
            });
            let boosted = k_thread_priority_get(k_current_get());
            k_mutex_unlock(m);
            (boosted, k_thread_priority_get(k_current_get()))
        }
    });
    assert_eq!(prio, (-3, 5));
}
