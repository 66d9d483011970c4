//! `executor-zephyr` misuse: one executor run twice at once is a panic naming the executor,
//! never two threads polling one executor (issue 8, item 3). A run lasts from `run`/`run_until`
//! until `run_until` returns; a second run while one lasts panics, whether it comes from
//! another thread, from inside the run, or from another simulation (a `static` executor). A
//! run that returned leaves the executor free to run again. Board: 10 kHz.
//!
//! Each simulation runs on a host thread of its own with a deadline, so a test whose run
//! spins (which these misuses did, before they were checked) fails instead of hanging.

mod embassy_common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use embassy_common::*;
use embassy_time::Timer;
use zephyr::embassy::Executor;
use zephyr_sys::*;

/// How long a simulation here may take on the wall clock (each takes milliseconds).
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `f` on a host thread of its own and returns what it returned, or fails the test if
/// it has not returned within [`DEADLINE`] (the thread is left spinning; the test binary ends
/// it when it exits).
fn within_deadline<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the simulation did not end within {DEADLINE:?}: it spins"),
    }
}

/// Boots a board with main at priority 5, runs `main`, and returns the simulator's error
/// report, or `None` if the run succeeded.
fn sim_error(main: impl FnOnce() + 'static) -> Option<String> {
    zephyr_sim::Sim::new().main_priority(5).run(main).err().map(|e| e.to_string())
}

/// Asserts that `report` is a panic whose message holds `expected`.
#[track_caller]
fn assert_panic(report: Option<String>, expected: &str) {
    let report = report.expect("the simulation was expected to fail with a panic");
    assert!(report.contains("panicked") && report.contains(expected), "{report}");
}

/// Runs `executor` on a new thread `name` at priority 3, forever, with one task that wakes
/// every millisecond.
fn run_on_thread(name: &str, executor: &'static Executor) {
    thread(name, 3, move || {
        executor.run(|s| {
            spawn(&s, async {
                loop {
                    Timer::after_millis(1).await;
                }
            })
        })
    });
}

/// A second thread's `run` while the first runs the executor: a panic naming the thread that
/// runs it. (Before: both threads polled one raw executor, each parking on its semaphore.)
#[test]
fn a_run_on_a_second_thread_panics_naming_the_first() {
    let report = within_deadline(|| {
        sim_error(|| {
            let ex = executor();
            run_on_thread("first", ex);
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(2) };
            thread("second", 4, move || ex.run(|_| {}));
            // SAFETY: as above.
            unsafe { k_msleep(2) };
        })
    });
    assert_panic(report, "Executor::run: this executor already runs on thread 'first'");
}

/// `run_until` from inside the executor's own run (here from a task): a panic, not a nested
/// poll of the same executor.
#[test]
fn a_run_from_inside_the_run_panics() {
    let report = within_deadline(|| {
        sim_error(|| {
            let ex = executor();
            ex.run_until(|s| spawn(&s, async move { ex.run_until(|_| {}, || true) }), || false);
        })
    });
    assert_panic(report, "Executor::run: this executor already runs on this thread");
}

/// A `static` executor whose run a simulation left behind when it ended (its thread was
/// discarded inside `run`): the next simulation's `run` panics. The executor's tasks and
/// state still belong to the ended run; polling them in another simulation would mix the two.
#[test]
fn a_static_executor_left_running_by_an_ended_simulation_panics_in_the_next() {
    static EXECUTOR: Executor = Executor::new();
    let first = within_deadline(|| {
        sim_error(|| {
            run_on_thread("executor", &EXECUTOR);
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(2) };
        })
    });
    assert_eq!(first, None, "the first simulation ends normally, its executor still running");
    let second = within_deadline(|| sim_error(|| EXECUTOR.run_until(|_| {}, || true)));
    assert_panic(second, "Executor::run: this executor already runs in another simulation");
}

/// A `static` executor run by two simulations at once (tests on two host threads): the
/// second's `run` panics. (Before: both host threads polled one raw executor, a data race,
/// until a pend reached the other simulation's semaphore.)
#[test]
fn a_static_executor_run_by_two_simulations_at_once_panics_in_the_second() {
    static EXECUTOR: Executor = Executor::new();
    let (running_tx, running_rx) = mpsc::channel();
    let (second_done_tx, second_done_rx) = mpsc::channel::<()>();
    let first = std::thread::spawn(move || {
        within_deadline(move || {
            sim_error(move || {
                run_on_thread("executor", &EXECUTOR);
                // SAFETY: kernel call from the simulated main thread.
                unsafe { k_msleep(2) };
                // The executor runs and is parked: let the other simulation try, and keep
                // this one alive until it has.
                running_tx.send(()).unwrap();
                second_done_rx.recv_timeout(DEADLINE).expect("the second simulation ends");
            })
        })
    });
    running_rx.recv_timeout(DEADLINE).expect("the first simulation runs the executor");
    let second = within_deadline(|| {
        sim_error(|| {
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            EXECUTOR.run_until(move |s| spawn(&s, async move { d.set(true) }), move || done.get());
        })
    });
    second_done_tx.send(()).unwrap();
    assert_eq!(first.join().unwrap(), None, "the first simulation is not disturbed");
    assert_panic(second, "Executor::run: this executor already runs in another simulation");
}

/// A run that returned ends: the executor runs again on the same thread, then on another
/// thread of the same simulation, then, `static`, in a later simulation. Each run polls the
/// tasks spawned in it.
#[test]
fn an_executor_whose_run_returned_runs_again() {
    static EXECUTOR: Executor = Executor::new();
    fn run_one_task(ex: &'static Executor) -> u32 {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        ex.run_until(
            move |s| {
                spawn(&s, async move {
                    Timer::after_ticks(3).await;
                    d.set(true);
                })
            },
            move || done.get(),
        );
        ex.poll_count()
    }
    let counts = within_deadline(|| {
        run(5, || {
            let first = run_one_task(&EXECUTOR);
            let again = run_one_task(&EXECUTOR);
            let on_other = Rc::new(Cell::new(0));
            let o = on_other.clone();
            thread("other", 3, move || o.set(run_one_task(&EXECUTOR)));
            // SAFETY: kernel call from the simulated main thread; the other run takes 3 ticks.
            unsafe { k_msleep(1) };
            (first, again, on_other.get())
        })
    });
    // Two polls per run: the spawn, then the timer.
    assert_eq!(counts, (2, 4, 6), "(polls after each run)");
    let later = within_deadline(|| run(5, || run_one_task(&EXECUTOR)));
    assert_eq!(later, 8, "a later simulation runs the static executor too");
}
