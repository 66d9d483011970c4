//! `CONFIG_SCHED_DEADLINE` and `k_thread_deadline_set` (kernel/sched.c: `z_sched_prio_cmp`,
//! `z_impl_k_thread_deadline_set`, `z_priq_dumb_add`), one test per rule. Board: 10 kHz
//! ticks, 1 MHz cycles.

mod common;

use common::*;
use zephyr_sys::*;

fn run_edf<R: 'static>(main_prio: i32, main: impl FnOnce() -> R + 'static) -> (R, Vec<String>) {
    take_log();
    let outcome = zephyr_sim::Sim::new()
        .main_priority(main_prio)
        .sched_deadline(true)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    (outcome.value.expect("main returned"), take_log())
}

/// kernel/sched.c (`z_sched_prio_cmp`, `z_impl_k_thread_deadline_set`): ready threads of
/// equal priority run in deadline order (sooner first), not in the order they became ready;
/// priority still comes first.
#[test]
fn equal_priorities_run_by_deadline() {
    let (_, log) = run_edf(2, || {
        let mut tids = Vec::new();
        for name in ["a", "b", "c"] {
            tids.push(spawn(name, 5, K_NO_WAIT, move || log!("{name}")));
        }
        spawn("urgent", 4, K_NO_WAIT, || log!("urgent"));
        // SAFETY: kernel calls on this simulation's threads.
        unsafe {
            k_thread_deadline_set(tids[0], 3000);
            k_thread_deadline_set(tids[1], 1000);
            k_thread_deadline_set(tids[2], 2000);
            k_sleep(K_TICKS(1));
        }
    });
    assert_eq!(log, ["T=0 urgent", "T=0 b", "T=0 c", "T=0 a"]);
}

/// kernel/sched.c (`z_priq_dumb_add` on wait queues): waiters of equal priority are woken in
/// deadline order.
#[test]
fn wait_queues_order_equal_priorities_by_deadline() {
    let (_, log) = run_edf(2, || {
        let s = sem(0, 10);
        for (name, deadline) in [("late", 900), ("soon", 100), ("mid", 500)] {
            let t = spawn(name, 5, K_NO_WAIT, move || {
                // SAFETY: kernel call on a leaked semaphore.
                unsafe { k_sem_take(s, K_FOREVER) };
                log!("{name}");
            });
            // SAFETY: kernel call on this simulation's thread.
            unsafe { k_thread_deadline_set(t, deadline) };
        }
        // SAFETY: kernel calls on a leaked semaphore.
        unsafe {
            k_sleep(K_TICKS(1));
            for _ in 0..3 {
                k_sem_give(s);
            }
            k_sleep(K_TICKS(1));
        }
    });
    assert_eq!(log, ["T=2 soon", "T=2 mid", "T=2 late"]);
}

/// kernel/thread.c (`prio_deadline = 0` for a new thread) with kernel/sched.c: with
/// deadlines, a new thread of main's priority, whose deadline (0) is sooner than main's, runs
/// at once; without, it waits behind main (FIFO among equals). And k_thread_deadline_set
/// exists only with CONFIG_SCHED_DEADLINE (here: a panic naming it).
#[test]
fn deadline_preempts_an_equal_priority_thread_and_needs_the_option() {
    let body = || {
        // SAFETY: a kernel call on the running thread.
        unsafe { k_thread_deadline_set(k_current_get(), 5000) };
        spawn("new", 5, K_NO_WAIT, || log!("new"));
        log!("main");
    };
    let (_, with_edf) = run_edf(5, body);
    assert_eq!(with_edf, ["T=0 new", "T=0 main"]);
    let err = run_err(body);
    assert_eq!(
        panic_message(&err),
        "k_thread_deadline_set: needs CONFIG_SCHED_DEADLINE=y (Sim::sched_deadline(true))"
    );
    let (_, fifo) = run(5, || {
        spawn("new", 5, K_NO_WAIT, || log!("new"));
        log!("main");
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(1)) };
    });
    assert_eq!(fifo, ["T=0 main", "T=0 new"]);
}
