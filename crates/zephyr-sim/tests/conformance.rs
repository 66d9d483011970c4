//! Conformance with a real Zephyr 2.7.0 kernel: each scenario of `shared/conformance`,
//! translated line by line from its `main.c`, must print the exact trace the real kernel
//! printed on `native_posix_64`, at 10 kHz and at 100 Hz (see `conformance/README.md`).
#![allow(clippy::missing_safety_doc)]

mod recorder;

use recorder::*;
use std::ffi::c_void;
use std::ptr::null_mut;
use zephyr_sys::*;

// ------------------------------------------------------------------ S1 preemption
// Rules: a higher-priority thread created with K_NO_WAIT, or readied by k_sem_give, or raised
// by k_thread_priority_set runs inside that call (kernel/sched.c: z_reschedule); k_yield runs
// equal priorities only; a start delay of N ticks starts the thread at N+1 ticks
// (kernel/timeout.c: z_add_timeout adds one tick).

struct S1 {
    sem_h: k_sem,
    th: [k_thread; 5],
}

unsafe extern "C" fn s1_h(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S1>();
        tr!(
            "H(prio {}) starts running",
            k_thread_priority_get(k_current_get())
        );
        tr!("H blocks in k_sem_take(sem_h, K_FOREVER)");
        let r = k_sem_take(&mut s.sem_h, K_FOREVER);
        tr!("H woke from k_sem_take ret={r}");
        tr!("H exits");
    }
}

unsafe extern "C" fn s1_l(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "L(prio {}) starts running",
            k_thread_priority_get(k_current_get())
        );
        tr!("L exits");
    }
}

unsafe extern "C" fn s1_e(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "E(prio {}) starts running",
            k_thread_priority_get(k_current_get())
        );
        tr!("E exits");
    }
}

unsafe extern "C" fn s1_d(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "D(prio {}, start delay {} ticks) starts running",
            k_thread_priority_get(k_current_get()),
            a as isize
        );
        tr!("D exits");
    }
}

unsafe extern "C" fn s1_l2(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "L2 starts running at prio {}",
            k_thread_priority_get(k_current_get())
        );
        tr!("L2 exits");
    }
}

fn s1_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S1 {
            sem_h: Z_SEM_INITIALIZER(0, 1),
            th: Default::default(),
        });
        tick_align();
        tr!("main start prio={}", k_thread_priority_get(k_current_get()));
        tr!("main: before k_thread_create(H prio 3, K_NO_WAIT)");
        create(&mut s.th[0], s1_h, null_mut(), 3, K_NO_WAIT);
        tr!("main: after k_thread_create(H)");
        create(&mut s.th[1], s1_l, null_mut(), 7, K_NO_WAIT);
        tr!("main: after k_thread_create(L prio 7, K_NO_WAIT)");
        create(&mut s.th[2], s1_e, null_mut(), 5, K_NO_WAIT);
        tr!("main: after k_thread_create(E prio 5 == main, K_NO_WAIT)");
        tr!("main: before k_sem_give(sem_h)");
        k_sem_give(&mut s.sem_h);
        tr!("main: after k_sem_give(sem_h)");
        tr!("main: before k_yield()");
        k_yield();
        tr!("main: after k_yield()");
        tr!("main: before k_msleep(10)");
        k_msleep(10);
        tr!("main: after k_msleep(10)");

        tick_align();
        let t0 = now();
        create(&mut s.th[3], s1_d, 5 as *mut c_void, 3, K_TICKS(5));
        tr!("main: created D(prio 3) with delay K_TICKS(5) at tick {t0}; busy-waiting 20 ticks");
        k_busy_wait(ticks_us(20));
        tr!("main: busy-wait done");

        create(&mut s.th[4], s1_l2, null_mut(), 7, K_NO_WAIT);
        tr!("main: created L2 prio 7; before k_thread_priority_set(L2, 4)");
        k_thread_priority_set(&mut s.th[4], 4);
        tr!("main: after k_thread_priority_set(L2, 4)");
        k_msleep(5);
        dump("S1-preemption")
    }
}

conformance!(s1_preemption, s1_main);
