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

unsafe extern "C-unwind" fn s1_h(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S1>();
        tr!("H(prio {}) starts running", k_thread_priority_get(k_current_get()));
        tr!("H blocks in k_sem_take(sem_h, K_FOREVER)");
        let r = k_sem_take(&mut s.sem_h, K_FOREVER);
        tr!("H woke from k_sem_take ret={r}");
        tr!("H exits");
    }
}

unsafe extern "C-unwind" fn s1_l(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!("L(prio {}) starts running", k_thread_priority_get(k_current_get()));
        tr!("L exits");
    }
}

unsafe extern "C-unwind" fn s1_e(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!("E(prio {}) starts running", k_thread_priority_get(k_current_get()));
        tr!("E exits");
    }
}

unsafe extern "C-unwind" fn s1_d(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
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

unsafe extern "C-unwind" fn s1_l2(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!("L2 starts running at prio {}", k_thread_priority_get(k_current_get()));
        tr!("L2 exits");
    }
}

fn s1_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S1 { sem_h: Z_SEM_INITIALIZER(0, 1), th: Default::default() });
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

/// An integer passed as a thread argument (C `(void *)(intptr_t)n`).
fn int_arg(n: isize) -> *mut c_void {
    n as *mut c_void
}

/// `printf` of a C format string whose only conversions are `%d`, for the scenarios that pass
/// their format as an argument (`TR(what, ...)`); the values are already C `int`s.
fn printf_d(f: &str, args: &[i32]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut parts = f.split("%d");
    out.push_str(parts.next().unwrap_or(""));
    for part in parts {
        out.push_str(&args.next().expect("too few arguments").to_string());
        out.push_str(part);
    }
    out
}

// ------------------------------------------------------------------ S2 cooperative
// Rules: a cooperative (negative-priority) thread keeps the CPU through k_sem_give and through
// timer ISRs until it yields or blocks; threads of equal priority run in the order they became
// ready; k_yield goes round robin among equal priorities and never runs a lower priority
// (kernel/sched.c: z_reschedule, k_yield, should_preempt; kernel/sem.c: z_impl_k_sem_give).

struct S2 {
    th: [k_thread; 8],
    sem_w: k_sem,
    sem_p: k_sem,
    sem_c: k_sem,
    sem_w2: k_sem,
    sem_q: [k_sem; 3],
    tmr: k_timer,
}

unsafe extern "C-unwind" fn s2_w(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("W(prio {}) blocks on sem_w", k_thread_priority_get(k_current_get()));
        let r = k_sem_take(&mut s.sem_w, K_FOREVER);
        tr!("W woke ret={r}, exits");
    }
}

unsafe extern "C-unwind" fn s2_p(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("P(prio {}) blocks on sem_p", k_thread_priority_get(k_current_get()));
        let r = k_sem_take(&mut s.sem_p, K_FOREVER);
        tr!("P woke ret={r}, exits");
    }
}

unsafe extern "C-unwind" fn s2_c(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("C(prio {}) starts", k_thread_priority_get(k_current_get()));
        k_sem_give(&mut s.sem_w);
        tr!("C after k_sem_give(sem_w) (W prio -4 now ready) - C still running");
        k_sem_give(&mut s.sem_p);
        tr!("C after k_sem_give(sem_p) (P prio 0 now ready) - C still running");
        k_busy_wait(ticks_us(3));
        tr!("C after busy-wait 3 ticks; before k_yield()");
        k_yield();
        tr!("C after k_yield(); now blocking on sem_c");
        k_sem_take(&mut s.sem_c, K_FOREVER);
        tr!("C exits");
    }
}

unsafe extern "C-unwind" fn s2_w2(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("W2(prio {}) blocks on sem_w2", k_thread_priority_get(k_current_get()));
        let r = k_sem_take(&mut s.sem_w2, K_FOREVER);
        tr!("W2 woke ret={r}, exits");
    }
}

unsafe extern "C-unwind" fn s2_tmr_fn(_: *mut k_timer) {
    // SAFETY: scenario code: kernel calls from the simulated timer ISR, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("ISR timer expiry: k_sem_give(sem_w2)");
        k_sem_give(&mut s.sem_w2);
    }
}

unsafe extern "C-unwind" fn s2_c2(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!(
            "C2(prio {}) starts; k_timer one-shot K_TICKS(2); busy-wait 10 ticks",
            k_thread_priority_get(k_current_get())
        );
        k_timer_start(&mut s.tmr, K_TICKS(2), K_NO_WAIT);
        k_busy_wait(ticks_us(10));
        tr!("C2 busy-wait done; before k_yield()");
        k_yield();
        tr!("C2 after k_yield(), exits");
    }
}

unsafe extern "C-unwind" fn s2_lowc(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "coop thread prio {} runs (arg {})",
            k_thread_priority_get(k_current_get()),
            a as isize as i32
        );
    }
}

unsafe extern "C-unwind" fn s2_c3(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        tr!("C3(prio -2) starts; creates coop LC(prio -1) and EC(prio -2)");
        create(&mut s.th[5], s2_lowc, int_arg(1), -1, K_NO_WAIT);
        create(&mut s.th[6], s2_lowc, int_arg(2), -2, K_NO_WAIT);
        tr!("C3 before k_yield() #1");
        k_yield();
        tr!("C3 after k_yield() #1");
        k_yield();
        tr!("C3 after k_yield() #2, exits");
    }
}

unsafe extern "C-unwind" fn s2_q(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S2>();
        let i = a as isize as i32;
        tr!("Q{}(prio 6) started, blocks on its sem", i + 1);
        k_sem_take(&mut s.sem_q[i as usize], K_FOREVER);
        tr!("Q{} runs after its sem given", i + 1);
    }
}

unsafe extern "C-unwind" fn s2_r(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let i = a as isize as i32;
        for k in 0..3 {
            tr!("R{i} iteration {k}, then k_yield()");
            k_yield();
        }
        tr!("R{i} done");
    }
}

fn s2_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S2 {
            th: Default::default(),
            sem_w: Z_SEM_INITIALIZER(0, 1),
            sem_p: Z_SEM_INITIALIZER(0, 1),
            sem_c: Z_SEM_INITIALIZER(0, 1),
            sem_w2: Z_SEM_INITIALIZER(0, 1),
            sem_q: Default::default(),
            tmr: k_timer::new(),
        });
        k_timer_init(&mut s.tmr, Some(s2_tmr_fn), None);
        for i in 0..3 {
            k_sem_init(&mut s.sem_q[i], 0, 1);
        }
        tick_align();
        tr!("main start prio={}  -- part A", k_thread_priority_get(k_current_get()));
        create(&mut s.th[0], s2_w, null_mut(), -4, K_NO_WAIT);
        create(&mut s.th[1], s2_p, null_mut(), 0, K_NO_WAIT);
        tr!("main: creating C(prio -2)");
        create(&mut s.th[2], s2_c, null_mut(), -2, K_NO_WAIT);
        tr!("main: back in main after C blocked");
        k_sem_give(&mut s.sem_c);
        tr!("main: after k_sem_give(sem_c)");
        k_msleep(2);

        tr!("main -- part B");
        create(&mut s.th[3], s2_w2, null_mut(), -4, K_NO_WAIT);
        create(&mut s.th[4], s2_c2, null_mut(), -2, K_NO_WAIT);
        tr!("main: back after C2 exits");
        k_msleep(2);

        tr!("main -- part C");
        create(&mut s.th[7], s2_c3, null_mut(), -2, K_NO_WAIT);
        tr!("main: back after coop threads");
        k_msleep(2);

        tr!("main -- part D: create Q1,Q2,Q3 (prio 6) in that order");
        for i in 0..3 {
            create(&mut s.th[i], s2_q, int_arg(i as isize), 6, K_NO_WAIT);
        }
        k_msleep(1);
        tr!("main: giving sems in order Q3, Q1, Q2 (main prio 5, no preemption)");
        k_sem_give(&mut s.sem_q[2]);
        k_sem_give(&mut s.sem_q[0]);
        k_sem_give(&mut s.sem_q[1]);
        tr!("main: sleeping");
        k_msleep(1);

        tr!("main -- part E: create R1,R2,R3 (prio 6)");
        for i in 0..3 {
            create(&mut s.th[3 + i], s2_r, int_arg(i as isize + 1), 6, K_NO_WAIT);
        }
        k_msleep(1);
        tr!("main: end");
        dump("S2-cooperative")
    }
}

conformance!(s2_cooperative, s2_main);

// ------------------------------------------------------------------ S3 semaphore
// Rules: k_sem_init returns -EINVAL (-22) for limit 0 or initial > limit; a take with K_NO_WAIT
// (or K_TICKS(0)) on an empty semaphore returns -EBUSY (-16); a timed take of N ticks returns
// -EAGAIN (-11) N+1 ticks after the current tick, aligned or mid-tick (kernel/timeout.c:
// z_add_timeout adds one tick); gives beyond the limit are dropped; a give hands the semaphore to
// the highest-priority, then longest-waiting, waiter; k_sem_reset wakes waiters with -EAGAIN
// (kernel/sem.c: z_impl_k_sem_init, z_impl_k_sem_give, z_impl_k_sem_take, z_impl_k_sem_reset).

struct S3 {
    s: k_sem,
    s2: k_sem,
    th: [k_thread; 4],
}

unsafe fn s3_timed_take(what: &str, to: k_timeout_t, midtick: bool) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S3>();
        tick_align();
        if midtick {
            k_busy_wait(ticks_us(1) / 2);
        }
        let t0 = now();
        let r = k_sem_take(&mut s.s, to);
        let t1 = now();

        tr!("{}", printf_d(what, &[t0, r, t1]));
    }
}

unsafe extern "C-unwind" fn s3_waiter(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S3>();
        let id = a as isize as i32;
        tr!(
            "waiter {id} (prio {}) blocks in k_sem_take(s2, K_FOREVER)",
            k_thread_priority_get(k_current_get())
        );
        let r = k_sem_take(&mut s.s2, K_FOREVER);
        tr!("waiter {id} woke ret={r}, count now {}", k_sem_count_get(&mut s.s2) as i32);
    }
}

fn s3_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S3 { s: k_sem::new(), s2: k_sem::new(), th: Default::default() });
        tick_align();
        let mut r = k_sem_init(&mut s.s, 0, 0);
        tr!("k_sem_init(initial 0, limit 0) = {r}");
        r = k_sem_init(&mut s.s, 5, 3);
        tr!("k_sem_init(initial 5, limit 3) = {r}");
        r = k_sem_init(&mut s.s, 3, 3);
        tr!("k_sem_init(initial 3, limit 3) = {r}, count={}", k_sem_count_get(&mut s.s) as i32);
        r = k_sem_init(&mut s.s, 0, 1);
        tr!("k_sem_init(initial 0, limit 1) = {r}, count={}", k_sem_count_get(&mut s.s) as i32);
        r = k_sem_take(&mut s.s, K_NO_WAIT);
        tr!("k_sem_take(empty, K_NO_WAIT) = {r}");
        r = k_sem_take(&mut s.s, K_TICKS(0));
        tr!("k_sem_take(empty, K_TICKS(0)) = {r}");

        s3_timed_take(
            "aligned: k_sem_take(K_TICKS(100)) at tick %d returned %d at tick %d",
            K_TICKS(100),
            false,
        );
        s3_timed_take(
            "mid-tick: k_sem_take(K_TICKS(100)) at tick %d returned %d at tick %d",
            K_TICKS(100),
            true,
        );
        s3_timed_take(
            "aligned: k_sem_take(K_TICKS(1)) at tick %d returned %d at tick %d",
            K_TICKS(1),
            false,
        );
        s3_timed_take(
            "mid-tick: k_sem_take(K_TICKS(1)) at tick %d returned %d at tick %d",
            K_TICKS(1),
            true,
        );
        s3_timed_take(
            "aligned: k_sem_take(K_MSEC(10)) at tick %d returned %d at tick %d",
            K_MSEC(10),
            false,
        );
        s3_timed_take(
            "mid-tick: k_sem_take(K_MSEC(10)) at tick %d returned %d at tick %d",
            K_MSEC(10),
            true,
        );

        k_sem_init(&mut s.s, 0, 3);
        for i in 0..5 {
            k_sem_give(&mut s.s);
            tr!("limit 3: after give #{} count={}", i + 1, k_sem_count_get(&mut s.s) as i32);
        }
        for i in 0..4 {
            r = k_sem_take(&mut s.s, K_NO_WAIT);
            tr!("take K_NO_WAIT #{} = {r}, count={}", i + 1, k_sem_count_get(&mut s.s) as i32);
        }

        // waiter ordering: main raised to prio 1 so gives never preempt
        k_sem_init(&mut s.s2, 0, 10);
        create(&mut s.th[0], s3_waiter, int_arg(1), 6, K_NO_WAIT);
        k_msleep(1);
        create(&mut s.th[1], s3_waiter, int_arg(2), 4, K_NO_WAIT);
        k_msleep(1);
        create(&mut s.th[2], s3_waiter, int_arg(3), 6, K_NO_WAIT);
        k_msleep(1);
        k_thread_priority_set(k_current_get(), 1);
        for i in 0..3 {
            k_sem_give(&mut s.s2);
            tr!(
                "main(prio 1) gave s2 #{}, count={}; sleeping 1 tick",
                i + 1,
                k_sem_count_get(&mut s.s2) as i32
            );
            k_sleep(K_TICKS(1));
        }
        k_thread_priority_set(k_current_get(), 5);

        // k_sem_reset with a waiter
        k_sem_init(&mut s.s2, 0, 10);
        create(&mut s.th[3], s3_waiter, int_arg(4), 3, K_NO_WAIT);
        k_sem_give(&mut s.s2);
        tr!("main gave s2 to waiter 4 (prio 3): count={}", k_sem_count_get(&mut s.s2) as i32);
        create(&mut s.th[3], s3_waiter, int_arg(5), 3, K_NO_WAIT);
        tr!("main: before k_sem_reset(s2) with waiter 5 blocked");
        k_sem_reset(&mut s.s2);
        tr!("main: after k_sem_reset(s2), count={}", k_sem_count_get(&mut s.s2) as i32);
        k_sem_give(&mut s.s2);
        k_sem_give(&mut s.s2);
        tr!("main: gave twice with no waiters, count={}", k_sem_count_get(&mut s.s2) as i32);
        k_sem_reset(&mut s.s2);
        tr!("main: k_sem_reset with no waiters, count={}", k_sem_count_get(&mut s.s2) as i32);
        k_msleep(1);
        dump("S3-semaphores")
    }
}

conformance!(s3_semaphore, s3_main);

// ------------------------------------------------------------------ S4 suspend/resume
// Rules: k_thread_resume of a thread that is not suspended does nothing and is not remembered,
// from a thread or from an ISR; k_thread_suspend cancels a sleep and a pend timeout for good
// (the thread continues only when resumed, or when the object is given); k_msleep resumed early
// returns the milliseconds left; a sleeping thread that was never suspended is not woken by
// k_thread_resume (kernel/thread.c: z_impl_k_thread_suspend, z_impl_k_thread_resume;
// kernel/sched.c: z_tick_sleep, z_impl_k_sleep; kernel/timeout.c: z_abort_timeout).

struct S4 {
    th: [k_thread; 3],
    tmr: k_timer,
    tmr_target: k_tid_t,
    sem_e: k_sem,
}

unsafe extern "C-unwind" fn s4_tmr_fn(_: *mut k_timer) {
    // SAFETY: scenario code: kernel calls from the simulated timer ISR, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S4>();
        tr!("ISR: k_thread_resume(T) while T is running (not suspended)");
        k_thread_resume(s.tmr_target);
    }
}

unsafe extern "C-unwind" fn s4_ta(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "TA(prio {}) running; now k_thread_suspend(self)",
            k_thread_priority_get(k_current_get())
        );
        k_thread_suspend(k_current_get());
        tr!("TA returned from self-suspend");
    }
}

unsafe extern "C-unwind" fn s4_tb(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        tr!(
            "TB(prio {}) running; busy-wait 5 ticks (ISR resumes TB at +2)",
            k_thread_priority_get(k_current_get())
        );
        k_busy_wait(ticks_us(5));
        tr!("TB now k_thread_suspend(self)");
        k_thread_suspend(k_current_get());
        tr!("TB returned from self-suspend");
    }
}

unsafe extern "C-unwind" fn s4_tc(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let ms = a as isize as i32;
        let t0 = now();

        tr!("TC k_msleep({ms}) starts at tick {t0}");
        let r = k_msleep(ms);
        tr!("TC k_msleep returned {r} (slept {} ticks)", now() - t0);
    }
}

unsafe extern "C-unwind" fn s4_te(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S4>();
        let t0 = now();

        tr!("TE k_sem_take(sem_e, K_MSEC(30)) at tick {t0}");
        let r = k_sem_take(&mut s.sem_e, K_MSEC(30));
        tr!("TE k_sem_take returned {r} after {} ticks", now() - t0);
    }
}

fn s4_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S4 {
            th: Default::default(),
            tmr: k_timer::new(),
            tmr_target: null_mut(),
            sem_e: Z_SEM_INITIALIZER(0, 1),
        });
        k_timer_init(&mut s.tmr, Some(s4_tmr_fn), None);
        tick_align();
        tr!("main -- part A");
        create(&mut s.th[0], s4_ta, null_mut(), 7, K_NO_WAIT);
        tr!("main: k_thread_resume(TA) while TA ready, not suspended");
        k_thread_resume(&mut s.th[0]);
        tr!("main: k_msleep(10)");
        k_msleep(10);
        tr!(
            "main: woke; TA state={} (should be suspended); k_thread_resume(TA)",
            s.th[0].base.thread_state as i32
        );
        k_thread_resume(&mut s.th[0]);
        tr!("main: k_msleep(1)");
        k_msleep(1);

        tr!("main -- part B");
        s.tmr_target = &mut s.th[1];
        k_timer_start(&mut s.tmr, K_TICKS(2), K_NO_WAIT);
        create(&mut s.th[1], s4_tb, null_mut(), 3, K_NO_WAIT);
        tr!("main: back; TB suspended? state={}; k_msleep(10)", s.th[1].base.thread_state as i32);
        k_msleep(10);
        tr!("main: TB still suspended; k_thread_resume(TB)");
        k_thread_resume(&mut s.th[1]);
        tr!("main: after resume");
        k_msleep(1);

        tr!("main -- part C (resume after the sleep deadline)");
        tick_align();
        create(&mut s.th[2], s4_tc, int_arg(50), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("main: k_thread_suspend(TC) while it sleeps");
        k_thread_suspend(&mut s.th[2]);
        k_msleep(90);
        tr!("main: TC did not wake at its deadline; k_thread_resume(TC)");
        k_thread_resume(&mut s.th[2]);
        tr!("main: after k_thread_resume(TC)");
        k_msleep(1);

        tr!("main -- part C2 (resume before the sleep deadline)");
        tick_align();
        create(&mut s.th[2], s4_tc, int_arg(50), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("main: k_thread_suspend(TC)");
        k_thread_suspend(&mut s.th[2]);
        k_msleep(10);
        tr!("main: k_thread_resume(TC) (before its 50 ms deadline)");
        k_thread_resume(&mut s.th[2]);
        tr!("main: after k_thread_resume(TC)");
        k_msleep(60);

        tr!("main -- part D (resume of a sleeping, never-suspended thread)");
        tick_align();
        create(&mut s.th[2], s4_tc, int_arg(50), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("main: k_thread_resume(TC) while TC sleeps (not suspended)");
        k_thread_resume(&mut s.th[2]);
        tr!("main: after k_thread_resume(TC)");
        k_msleep(60);

        tr!("main -- part E1 (suspend a thread pending with timeout)");
        tick_align();
        create(&mut s.th[2], s4_te, null_mut(), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("main: k_thread_suspend(TE)");
        k_thread_suspend(&mut s.th[2]);
        k_msleep(50);
        tr!("main: k_thread_resume(TE) at +60ms (past its 30 ms timeout)");
        k_thread_resume(&mut s.th[2]);
        tr!("main: after resume; sleeping 50 ms");
        k_msleep(50);
        tr!("main: k_sem_give(sem_e)");
        k_sem_give(&mut s.sem_e);
        tr!("main: after give");
        k_msleep(1);

        tr!("main -- part E2 (give while the pending thread is suspended)");
        tick_align();
        create(&mut s.th[2], s4_te, null_mut(), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("main: k_thread_suspend(TE)");
        k_thread_suspend(&mut s.th[2]);
        k_sem_give(&mut s.sem_e);
        tr!(
            "main: k_sem_give(sem_e) while TE suspended; count={}",
            k_sem_count_get(&mut s.sem_e) as i32
        );
        k_msleep(10);
        tr!("main: k_thread_resume(TE)");
        k_thread_resume(&mut s.th[2]);
        tr!("main: after resume");
        k_msleep(1);
        dump("S4-suspend-resume")
    }
}

conformance!(s4_suspend_resume, s4_main);

// ------------------------------------------------------------------ S5 timers
// Rules: a k_timer duration or period of N ticks expires at the current tick + N (not N+1), and
// K_TICKS(0) / K_NO_WAIT expire at the next tick; a 1-tick period expires every 2 ticks on this
// version; a periodic timer is re-armed at an absolute tick (no drift); the stop function runs
// only for an active timer; k_timer_status_sync blocks until the next expiry or a stop, and
// returns at once with a pending status; a restart clears the status; a K_FOREVER duration does
// not start the timer (kernel/timer.c: z_impl_k_timer_start, z_timer_expiration_handler,
// z_impl_k_timer_stop, z_impl_k_timer_status_sync; kernel/timeout.c: z_add_timeout).

struct TInfo {
    n: i32,
    limit: i32,
}

struct S5 {
    ta: k_timer,
    tb: k_timer,
    tc: k_timer,
    td: k_timer,
    te: k_timer,
    ia: TInfo,
    ib: TInfo,
    ic: TInfo,
    id_: TInfo,
    ie: TInfo,
    th: k_thread,
    c_exp_cyc: u32,
}

unsafe extern "C-unwind" fn s5_expiry(t: *mut k_timer) {
    // SAFETY: scenario code: kernel calls from the simulated timer ISR, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S5>();
        let i = k_timer_user_data_get(t) as *mut TInfo;

        (*i).n += 1;
        if std::ptr::eq(i, &s.ic) {
            s.c_exp_cyc = k_cycle_get_32();
        }
        if (*i).n <= (*i).limit {
            let f = if std::ptr::eq(i, &s.ia) {
                "  expiry A(10ms periodic) #%d"
            } else if std::ptr::eq(i, &s.ib) {
                "  expiry B(100 ticks periodic) #%d"
            } else if std::ptr::eq(i, &s.ic) {
                "  expiry C(one-shot) #%d"
            } else {
                "  expiry D/E #%d"
            };
            tr!("{}", printf_d(f, &[(*i).n]));
        }
    }
}

unsafe extern "C-unwind" fn s5_stopfn(_: *mut k_timer) {
    tr!("  stop fn called");
}

unsafe fn s5_tinit(t: *mut k_timer, i: *mut TInfo, with_stop: bool) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        k_timer_init(t, Some(s5_expiry), if with_stop { Some(s5_stopfn) } else { None });
        k_timer_user_data_set(t, i as *mut c_void);
    }
}

unsafe fn s5_oneshot(what: &str, d: k_timeout_t, mid: bool) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S5>();
        tick_align();
        if mid {
            k_busy_wait(ticks_us(1) / 2);
        }
        let t0 = now();
        let c0 = k_cycle_get_32();

        k_timer_start(&mut s.tc, d, K_NO_WAIT);
        let rem = k_timer_remaining_ticks(&s.tc) as i32;

        tr!("{}", printf_d(what, &[t0, rem]));
        let _ = k_timer_status_sync(&mut s.tc);
        tr!(
            "  -> fired {} hw cycles after k_timer_start (1 tick = {} cycles)",
            s.c_exp_cyc.wrapping_sub(c0) as i32,
            k_ticks_to_cyc_floor32(1) as i32
        );
        k_sleep(K_TICKS(2));
    }
}

unsafe extern "C-unwind" fn s5_sync_thread(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S5>();
        let t0 = now();

        tr!("H: k_timer_status_sync(E one-shot 50ms) blocks at {t0}");
        let r: u32 = k_timer_status_sync(&mut s.te);

        tr!("H: k_timer_status_sync returned {}", r as i32);
    }
}

fn s5_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S5 {
            ta: k_timer::new(),
            tb: k_timer::new(),
            tc: k_timer::new(),
            td: k_timer::new(),
            te: k_timer::new(),
            ia: TInfo { n: 0, limit: 5 },
            ib: TInfo { n: 0, limit: 5 },
            ic: TInfo { n: 0, limit: 100 },
            id_: TInfo { n: 0, limit: 100 },
            ie: TInfo { n: 0, limit: 0 },
            th: k_thread::new(),
            c_exp_cyc: 0,
        });
        let mut t0: i32;
        let mut r: i32;

        s5_tinit(&mut s.ta, &mut s.ia, true);
        s5_tinit(&mut s.tb, &mut s.ib, true);
        s5_tinit(&mut s.tc, &mut s.ic, false);
        s5_tinit(&mut s.td, &mut s.id_, true);
        s5_tinit(&mut s.te, &mut s.ie, true);

        // A
        tick_align();
        t0 = now();
        k_timer_start(&mut s.ta, K_MSEC(10), K_MSEC(10));
        tr!(
            "A: k_timer_start(K_MSEC(10), K_MSEC(10)) at tick {t0}; remaining_ticks={}",
            k_timer_remaining_ticks(&s.ta) as i32
        );
        k_msleep(1000);
        tr!(
            "A: after k_msleep(1000) (started at {t0}): status_get={}",
            k_timer_status_get(&mut s.ta) as i32
        );
        tr!(
            "A: second status_get={}; expiry-fn count={}",
            k_timer_status_get(&mut s.ta) as i32,
            s.ia.n
        );
        k_timer_stop(&mut s.ta);
        tr!("A: stopped");

        // B
        tick_align();
        t0 = now();
        k_timer_start(&mut s.tb, K_TICKS(100), K_TICKS(100));
        tr!(
            "B: k_timer_start(K_TICKS(100), K_TICKS(100)) at tick {t0}; remaining_ticks={}",
            k_timer_remaining_ticks(&s.tb) as i32
        );
        k_sleep(K_TICKS(550));
        tr!("B: status_get={}", k_timer_status_get(&mut s.tb) as i32);
        k_timer_stop(&mut s.tb);

        // C
        s5_oneshot("C: aligned  start K_TICKS(1) at %d, remaining=%d", K_TICKS(1), false);
        s5_oneshot("C: mid-tick start K_TICKS(1) at %d, remaining=%d", K_TICKS(1), true);
        s5_oneshot("C: aligned  start K_TICKS(0) at %d, remaining=%d", K_TICKS(0), false);
        s5_oneshot("C: aligned  start K_NO_WAIT at %d, remaining=%d", K_NO_WAIT, false);
        s5_oneshot("C: mid-tick start K_NO_WAIT at %d, remaining=%d", K_NO_WAIT, true);
        s5_oneshot("C: aligned  start K_TICKS(2) at %d, remaining=%d", K_TICKS(2), false);
        s5_oneshot("C: mid-tick start K_TICKS(2) at %d, remaining=%d", K_TICKS(2), true);
        s5_oneshot("C: aligned  start K_MSEC(1) at %d, remaining=%d", K_MSEC(1), false);
        s5_oneshot("C: aligned  start K_MSEC(10) at %d, remaining=%d", K_MSEC(10), false);
        k_sleep(K_MSEC(20));

        // D
        tr!("D: k_timer_stop on never-started timer:");
        k_timer_stop(&mut s.td);
        k_timer_start(&mut s.td, K_TICKS(2), K_NO_WAIT);
        k_sleep(K_TICKS(5));
        tr!("D: k_timer_stop on expired one-shot:");
        k_timer_stop(&mut s.td);
        k_timer_start(&mut s.td, K_TICKS(100), K_NO_WAIT);
        tr!("D: k_timer_stop on active timer:");
        k_timer_stop(&mut s.td);
        tr!("D: second k_timer_stop:");
        k_timer_stop(&mut s.td);
        tr!("D: done");

        // E
        tick_align();
        t0 = now();
        k_timer_start(&mut s.te, K_MSEC(5), K_NO_WAIT);
        r = k_timer_status_sync(&mut s.te) as i32;
        tr!("E: one-shot K_MSEC(5) started at {t0}; status_sync returned {r}");
        r = k_timer_status_sync(&mut s.te) as i32;
        tr!("E: status_sync on expired one-shot returned {r} (immediately)");
        k_timer_start(&mut s.te, K_TICKS(10), K_TICKS(10));
        k_sleep(K_TICKS(35));
        r = k_timer_status_sync(&mut s.te) as i32;
        tr!("E: periodic 10 ticks, after 35 ticks status_sync returned {r}");
        r = k_timer_status_sync(&mut s.te) as i32;
        tr!("E: status_sync again (blocks to next expiry) returned {r}");
        k_timer_stop(&mut s.te);
        tick_align();
        k_timer_start(&mut s.te, K_MSEC(50), K_NO_WAIT);
        create(&mut s.th, s5_sync_thread, null_mut(), 3, K_NO_WAIT);
        k_msleep(10);
        tr!("E: main k_timer_stop(E) while H blocked in status_sync");
        k_timer_stop(&mut s.te);
        tr!("E: main after stop");
        k_msleep(1);

        // F
        k_timer_start(&mut s.te, K_TICKS(10), K_TICKS(10));
        k_sleep(K_TICKS(35));
        k_timer_start(&mut s.te, K_TICKS(10), K_TICKS(10));
        tr!("F: restart after 3 expiries: status_get={}", k_timer_status_get(&mut s.te) as i32);
        k_timer_stop(&mut s.te);
        k_timer_start(&mut s.te, K_FOREVER, K_TICKS(10));
        tr!("F: start(K_FOREVER, 10 ticks): remaining={}", k_timer_remaining_ticks(&s.te) as i32);
        k_sleep(K_TICKS(30));
        tr!("F: after 30 ticks status_get={}", k_timer_status_get(&mut s.te) as i32);
        dump("S5-timers")
    }
}

conformance!(s5_timers, s5_main);

// ------------------------------------------------------------------ S7 sleep
// Rules: a sleep of N ticks ends N+1 ticks after the current tick, aligned or mid-tick
// (kernel/timeout.c: z_add_timeout adds one tick), so k_msleep(1) costs 11 ticks at 10 kHz,
// k_sleep(K_TICKS(1)) and k_usleep(1) 2 ticks; k_msleep(0) and k_sleep(K_TICKS(0)) only yield
// and return 0 at once (kernel/sched.c: z_tick_sleep, z_impl_k_sleep, z_impl_k_usleep).

unsafe fn s7_single(what: &str, kind: i32, mid: bool) {
    // SAFETY: scenario code: kernel calls from a simulated thread.
    unsafe {
        tick_align();
        if mid {
            k_busy_wait(ticks_us(1) / 2);
        }
        let t0 = now();
        let mut r = 0;

        match kind {
            0 => r = k_msleep(1),
            1 => r = k_msleep(0),
            2 => r = k_sleep(K_TICKS(1)),
            3 => r = k_sleep(K_TICKS(0)),
            4 => r = k_usleep(1),
            5 => r = k_msleep(10),
            _ => {}
        }
        tr!("{}", printf_d(what, &[t0, now(), r]));
    }
}

fn s7_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread.
    unsafe {
        let mut t0: i32;
        let mut t1: i32;

        s7_single("k_msleep(1)         from %d woke at %d ret=%d (aligned)", 0, false);
        s7_single("k_msleep(1)         from %d woke at %d ret=%d (mid-tick)", 0, true);
        s7_single("k_msleep(0)         from %d woke at %d ret=%d", 1, false);
        s7_single("k_sleep(K_TICKS(1)) from %d woke at %d ret=%d (aligned)", 2, false);
        s7_single("k_sleep(K_TICKS(1)) from %d woke at %d ret=%d (mid-tick)", 2, true);
        s7_single("k_sleep(K_TICKS(0)) from %d woke at %d ret=%d", 3, false);
        s7_single("k_usleep(1)         from %d woke at %d ret=%d (aligned)", 4, false);
        s7_single("k_usleep(1)         from %d woke at %d ret=%d (mid-tick)", 4, true);
        s7_single("k_msleep(10)        from %d woke at %d ret=%d (aligned)", 5, false);

        tick_align();
        t0 = now();
        for _ in 0..1000 {
            k_msleep(1);
        }
        t1 = now();
        tr!("1000 x k_msleep(1): from {t0} to {t1} = {} ticks", t1 - t0);

        tick_align();
        t0 = now();
        for _ in 0..1000 {
            k_sleep(K_TICKS(1));
        }
        t1 = now();
        tr!("1000 x k_sleep(K_TICKS(1)): from {t0} to {t1} = {} ticks", t1 - t0);

        tick_align();
        t0 = now();
        for _ in 0..100 {
            k_usleep(1);
        }
        t1 = now();
        tr!("100 x k_usleep(1): from {t0} to {t1} = {} ticks", t1 - t0);
        dump("S7-sleep")
    }
}

conformance!(s7_sleep, s7_main);

// ------------------------------------------------------------------ S9 mutex
// Rules: the owner locks recursively (lock_count counts); k_mutex_unlock by a non-owner returns
// -EPERM (-1), when not locked -EINVAL (-22); k_mutex_lock with K_NO_WAIT on a locked mutex
// returns -EBUSY (-16), a timed lock of N ticks -EAGAIN (-11) N+1 ticks later; a higher-priority
// waiter raises the owner to its priority, the owner drops back at unlock (the waiter gets the
// mutex inside k_mutex_unlock) or when the waiter times out (kernel/mutex.c: z_impl_k_mutex_lock,
// z_impl_k_mutex_unlock, adjust_owner_prio, new_prio_for_inheritance). Variant
// S9_CRASH_VARIANT=0 of main.c.

struct S9 {
    mtx: k_mutex,
    th: k_thread,
}

unsafe extern "C-unwind" fn s9_other(a: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = ctx::<S9>();
        let mode = a as isize as i32;
        let mut r: i32;

        if mode == 0 {
            r = k_mutex_unlock(&mut s.mtx);
            tr!(
                "other(prio {}): k_mutex_unlock by non-owner -> {r}",
                k_thread_priority_get(k_current_get())
            );
            r = k_mutex_lock(&mut s.mtx, K_NO_WAIT);
            tr!("other: k_mutex_lock(K_NO_WAIT) while locked -> {r}");
            let t0 = now();

            r = k_mutex_lock(&mut s.mtx, K_TICKS(10));
            tr!("other: k_mutex_lock(K_TICKS(10)) at {t0} -> {r}");
        } else if mode == 1 {
            tr!("waiter(prio 3): k_mutex_lock(K_FOREVER)");
            r = k_mutex_lock(&mut s.mtx, K_FOREVER);
            tr!("waiter: got mutex -> {r}, lock_count={}", s.mtx.lock_count as i32);
            k_mutex_unlock(&mut s.mtx);
            tr!("waiter: unlocked, exits");
        } else {
            tr!("waiter(prio 3): k_mutex_lock(K_TICKS(20))");
            r = k_mutex_lock(&mut s.mtx, K_TICKS(20));
            tr!("waiter: k_mutex_lock -> {r}");
        }
    }
}

fn s9_main() -> String {
    // SAFETY: scenario code: kernel calls from a simulated thread, on objects that
    // stay in place for the whole run.
    unsafe {
        let s = new_ctx(S9 { mtx: Z_MUTEX_INITIALIZER(), th: k_thread::new() });
        let mut r: i32;
        let me = k_current_get();

        tick_align();
        r = k_mutex_unlock(&mut s.mtx);
        tr!("unlock when not locked -> {r}");
        for i in 0..3 {
            r = k_mutex_lock(&mut s.mtx, K_NO_WAIT);
            tr!("main lock #{} -> {r}, lock_count={}", i + 1, s.mtx.lock_count as i32);
        }
        create(&mut s.th, s9_other, null_mut(), 3, K_NO_WAIT);
        tr!("main: back (prio now {})", k_thread_priority_get(me));
        k_thread_join(&mut s.th, K_FOREVER);
        for i in 0..4 {
            r = k_mutex_unlock(&mut s.mtx);
            tr!("main unlock #{} -> {r}, lock_count={}", i + 1, s.mtx.lock_count as i32);
        }

        k_mutex_lock(&mut s.mtx, K_FOREVER);
        tr!("main locked; prio={}; creating waiter prio 3", k_thread_priority_get(me));
        create(&mut s.th, s9_other, int_arg(1), 3, K_NO_WAIT);
        tr!("main: waiter blocked; main prio now {}", k_thread_priority_get(me));
        r = k_mutex_unlock(&mut s.mtx);
        tr!("main: after unlock -> {r}; prio now {}", k_thread_priority_get(me));
        k_thread_join(&mut s.th, K_FOREVER);

        k_mutex_lock(&mut s.mtx, K_FOREVER);
        create(&mut s.th, s9_other, int_arg(2), 3, K_NO_WAIT);
        // S9_CRASH_VARIANT == 0
        let t0 = now();

        tr!(
            "main: timed waiter blocked at {t0}; main prio now {}; k_sleep 30 ticks",
            k_thread_priority_get(me)
        );
        k_sleep(K_TICKS(30));
        tr!("main: after sleep; main prio now {}", k_thread_priority_get(me));
        r = k_mutex_unlock(&mut s.mtx);
        tr!("main: unlock -> {r}, lock_count={}", s.mtx.lock_count as i32);
        k_msleep(1);
        dump("S9-mutex")
    }
}

conformance!(s9_mutex, s9_main);
