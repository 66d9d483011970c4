//! Errors instead of hangs or silent corruption, determinism, and isolation between
//! simulations.

mod common;

use std::ffi::c_void;
use std::ptr::null_mut;

use common::*;
use zephyr_sim::{Sim, SimError};
use zephyr_sys::*;

/// Every thread blocked for good, nothing pending: the run ends with a report naming each
/// thread and what it waits on (on real Zephyr the idle thread would spin forever).
#[test]
fn deadlock_is_reported_with_every_thread() {
    let err = run_err(|| {
        let s = sem(0, 1);
        lock_a_mutex_a_locker_waits_for();
        spawn_parked();
        // SAFETY: kernel calls from the simulated main thread on a leaked semaphore.
        unsafe {
            k_sleep(K_TICKS(10));
            k_sem_take(s, K_FOREVER);
        }
    });
    let SimError::Deadlock { report, .. } = &err else { panic!("expected a deadlock: {err}") };
    assert!(report.starts_with("deadlock at tick 11:"), "{report}");
    // `locker` waits for a mutex `main` owns: the threads wait on each other.
    assert!(report.lines().next().unwrap().ends_with("threads wait on each other"), "{report}");
    let lines: Vec<&str> = report.lines().skip(1).map(str::trim).collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].starts_with("main (prio 0): pending in k_sem_take on k_sem@0x"), "{report}");
    assert!(lines[0].ends_with(" forever"), "{report}");
    assert!(
        lines[1].starts_with("locker (prio 3): pending in k_mutex_lock on k_mutex@0x")
            && lines[1].ends_with("(owner main) forever"),
        "{report}"
    );
    assert_eq!(lines[2], "parked (prio 4): suspended");
}

/// The calling thread locks a mutex and starts `locker` (prio 3), which waits for it forever.
fn lock_a_mutex_a_locker_waits_for() {
    let m: *mut k_mutex = leak(k_mutex::new());
    // SAFETY: kernel calls from simulated threads on a leaked mutex.
    unsafe {
        k_mutex_init(m);
        k_mutex_lock(m, K_FOREVER);
        spawn("locker", 3, K_NO_WAIT, move || {
            k_mutex_lock(m, K_FOREVER);
        });
    }
}

/// Starts `parked` (prio 4), which suspends itself.
fn spawn_parked() {
    spawn("parked", 4, K_NO_WAIT, || {
        // SAFETY: suspending oneself in thread context.
        unsafe { k_thread_suspend(k_current_get()) };
    });
}

/// Idle is not a deadlock: when every thread waits for an event only an interrupt or a device
/// could bring (a semaphore, a resume) and none waits on another thread, the report says so,
/// and `Sim::idle_ends_run` makes it a normal end. Threads that wait on each other stay a
/// deadlock even then.
#[test]
fn idle_forever_is_told_apart_from_a_deadlock() {
    let idle = || {
        let s = sem(0, 1);
        spawn_parked();
        // SAFETY: a blocking take on the main thread.
        unsafe { k_sem_take(s, K_FOREVER) };
    };
    let err = run_err(idle);
    let SimError::Deadlock { report, .. } = &err else { panic!("expected a deadlock: {err}") };
    assert!(report.lines().next().unwrap().contains("idle forever"), "{report}");

    let outcome = Sim::new().idle_ends_run(true).run(idle).expect("idle ends the run");
    assert_eq!((outcome.value, outcome.exit_code), (None, None), "main never returned");

    let err = Sim::new()
        .idle_ends_run(true)
        .run(|| {
            lock_a_mutex_a_locker_waits_for();
            // SAFETY: suspending oneself in thread context.
            unsafe { k_thread_suspend(k_current_get()) };
        })
        .unwrap_err();
    assert!(err.to_string().contains("threads wait on each other"), "{err}");
}

unsafe extern "C-unwind" fn take_in_isr(t: *mut k_timer) {
    // SAFETY: user data is a leaked semaphore; blocking here is the misuse under test.
    unsafe { k_sem_take(k_timer_user_data_get(t) as *mut k_sem, K_FOREVER) };
}

/// include/zephyr/kernel.h ("may be called from ISR ... with K_NO_WAIT"): a blocking call in
/// an ISR is a fatal error naming the call (Zephyr only asserts).
#[test]
fn blocking_call_in_an_isr_panics_naming_the_call() {
    let err = run_err(|| {
        let s = sem(0, 1);
        let t: *mut k_timer = leak(k_timer::new());
        // SAFETY: kernel calls from a simulated thread on leaked objects.
        unsafe {
            k_timer_init(t, Some(take_in_isr), None);
            k_timer_user_data_set(t, s as *mut _);
            k_timer_start(t, K_TICKS(5), K_NO_WAIT);
            k_msleep(10);
        }
    });
    let SimError::Panic { context, message, uptime_ticks, .. } = &err else {
        panic!("expected a panic: {err}")
    };
    assert_eq!(context, "an ISR (while idle)");
    assert_eq!(
        message,
        "k_sem_take: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
    assert_eq!(*uptime_ticks, 5);
}

/// A panic on any simulated thread ends the whole system with its message, as a fatal error
/// does on a microcontroller; the thread is named.
#[test]
fn a_panic_on_a_thread_ends_the_system() {
    let err = run_err(|| {
        spawn("worker", 7, K_NO_WAIT, || panic!("sensor out of range: {}", 42));
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_msleep(100) };
        unreachable!("main never wakes: the worker's panic ended the system");
    });
    assert_eq!(
        err,
        SimError::Panic {
            context: "thread 'worker'".into(),
            message: "sensor out of range: 42".into(),
            uptime_ticks: 0,
            console: String::new(),
        }
    );
}

/// Using an object before its `k_*_init` is reported (on Zephyr it corrupts kernel lists).
#[test]
fn an_object_never_initialised_is_reported() {
    let err = run_err(|| {
        let s = leak(k_sem::new());
        // SAFETY: the misuse under test: a never-initialised but valid object.
        unsafe { k_sem_give(s) };
    });
    let text = err.to_string();
    assert!(text.contains("k_sem_give: k_sem at 0x"), "{text}");
    assert!(text.contains("was never initialised"), "{text}");
}

/// An object moved in memory after `k_*_init` is reported (its wait queue would dangle).
#[test]
fn an_object_moved_after_init_is_reported() {
    let err = run_err(|| {
        let mut first = Box::new(k_sem::new());
        // SAFETY: kernel call on a valid semaphore.
        unsafe { k_sem_init(&mut *first, 0, 1) };
        let mut moved = Box::new(std::mem::replace(&mut *first, k_sem::new()));
        // SAFETY: the misuse under test: the initialised object now lives elsewhere.
        unsafe { k_sem_give(&mut *moved) };
    });
    let text = err.to_string();
    assert!(text.contains("must not move in memory after initialisation"), "{text}");
}

/// Zephyr API contract: an object of one kind passed as another is reported.
#[test]
fn an_object_of_another_kind_is_reported() {
    let err = run_err(|| {
        let m: *mut k_mutex = leak(k_mutex::new());
        // SAFETY: the misuse under test: a mutex passed as a semaphore. Every kernel object
        // starts with its simulator header, so the kind check reads the mutex's.
        unsafe {
            k_mutex_init(m);
            k_sem_give(m as *mut k_sem);
        }
    });
    assert!(err.to_string().contains("is a k_mutex, not a k_sem"), "{err}");
}

/// `exit` ends the run at once with a code, like `exit()` in a native_sim program.
#[test]
fn exit_ends_the_run_with_a_code() {
    let outcome = Sim::new()
        .main_priority(5)
        .run(|| {
            spawn("quitter", 3, K_NO_WAIT, || zephyr_sim::exit(3));
            unreachable!("the quitter preempts main and ends the run")
        })
        .unwrap();
    assert_eq!(outcome.exit_code, Some(3));
    assert!(outcome.value.is_none());
}

fn busy_program() -> i64 {
    let s = sem(0, 1);
    for (i, prio) in [3, 5, 5, 7].into_iter().enumerate() {
        spawn(&format!("t{i}"), prio, K_NO_WAIT, move || {
            for round in 0..20 {
                // SAFETY: kernel calls from simulated threads on a leaked semaphore.
                unsafe {
                    match (i + round) % 3 {
                        0 => {
                            k_sem_take(s, K_TICKS(3));
                        }
                        1 => k_sem_give(s),
                        _ => {
                            k_usleep(150);
                        }
                    }
                    k_yield();
                }
            }
        });
    }
    // SAFETY: kernel calls from a simulated thread.
    unsafe {
        k_msleep(20);
        k_uptime_ticks()
    }
}

/// Determinism: the same program gives the same interleaving and timestamps, every run.
#[test]
fn the_same_program_gives_the_same_trace_twice() {
    let run = || Sim::new().trace(true).run(busy_program).unwrap();
    let (a, b) = (run(), run());
    assert!(a.switches > 50, "the program switches threads: {}", a.switches);
    assert!(a.trace.len() > 100);
    assert_eq!(a.trace_text(), b.trace_text());
    assert_eq!((a.value, a.cycles), (b.value, b.cycles));
}

/// Isolation: simulations on parallel host threads (as `cargo test` runs them) share
/// nothing, here at three tick rates at once.
#[test]
fn parallel_simulations_are_isolated() {
    let handles: Vec<_> = [100u32, 1000, 10_000, 32_768]
        .into_iter()
        .map(|hz| {
            std::thread::spawn(move || {
                let outcome = Sim::new()
                    .ticks_per_sec(hz)
                    .trace(true)
                    .run(|| {
                        let end = busy_program();
                        // SAFETY: kernel call from a simulated thread.
                        (end, sys_clock_ticks_per_sec())
                    })
                    .unwrap();
                (hz, outcome.value.unwrap(), outcome.trace_text())
            })
        })
        .collect();
    for h in handles {
        let (hz, (_, seen_hz), trace) = h.join().unwrap();
        assert_eq!(seen_hz, hz);
        let alone = Sim::new().ticks_per_sec(hz).trace(true).run(busy_program).unwrap();
        assert_eq!(trace, alone.trace_text(), "at {hz} Hz, alone and in parallel");
    }
}

/// A kernel call outside any simulation is a clear error, not undefined behaviour.
#[test]
fn a_kernel_call_outside_a_simulation_panics() {
    // SAFETY: the misuse under test.
    let r = std::panic::catch_unwind(|| unsafe { k_uptime_ticks() });
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or("");
    assert!(msg.starts_with("Zephyr kernel call outside a simulation"), "{msg}");
}

unsafe extern "C-unwind" fn nothing(_: *mut c_void, _: *mut c_void, _: *mut c_void) {}

/// kernel/thread.c: creating a thread on a `k_thread` whose thread is still alive is reported
/// (on Zephyr it corrupts the scheduler's lists); re-using a dead thread's object is fine.
#[test]
fn creating_on_a_live_thread_object_is_reported() {
    let err = run_err(|| {
        let th: *mut k_thread = leak(k_thread::new());
        let create = |prio| {
            // SAFETY: `th` is leaked; `nothing` takes no arguments.
            unsafe {
                k_thread_create(
                    th,
                    null_mut(),
                    0,
                    Some(nothing),
                    null_mut(),
                    null_mut(),
                    null_mut(),
                    prio,
                    0,
                    K_FOREVER,
                )
            }
        };
        create(7);
        // SAFETY: kernel calls from a simulated thread on a live thread.
        unsafe {
            k_thread_start(th);
            k_msleep(1); // it ran and ended: its object may be reused
            assert!((*th).base.thread_state & thread_state::_THREAD_DEAD != 0);
        }
        create(7); // fine: the first thread is dead
        create(7); // misuse: the second one is alive (not started)
    });
    let text = err.to_string();
    assert!(text.contains("k_thread_create: k_thread at 0x"), "{text}");
    assert!(text.contains("belongs to a thread that is still alive"), "{text}");
}

/// native_sim model ("a busy loop without kernel calls hangs the simulation"): the watchdog
/// names a thread that runs for a long wall-clock time without giving up the CPU. Here a
/// thread spins for 500 ms of wall time with a 20 ms watchdog; the diagnostic goes to stderr.
#[test]
fn the_watchdog_reports_a_thread_that_never_blocks() {
    let outcome = Sim::new()
        .watchdog(Some(std::time::Duration::from_millis(20)))
        .run(|| {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_millis(500) {
                // SAFETY: kernel call from a simulated thread. Time never advances here.
                let _ = unsafe { k_uptime_ticks() };
            }
        })
        .unwrap();
    assert_eq!(outcome.stalls, 1, "one stall, reported once");
}

/// Real-time pacing (native_sim's `--rt`): virtual time never runs ahead of the wall clock,
/// whether it moves while idle or in `k_busy_wait`, and the program does exactly what it does
/// unpaced.
#[test]
fn realtime_pacing_keeps_virtual_time_behind_the_wall_clock() {
    let program = || {
        // SAFETY: kernel calls from the simulated main thread.
        unsafe {
            for _ in 0..5 {
                k_msleep(10);
            }
            k_busy_wait(20_000);
            k_uptime_ticks()
        }
    };
    let start = std::time::Instant::now();
    let paced = Sim::new().realtime(true).trace(true).run(program).unwrap();
    let wall = start.elapsed();
    let free = Sim::new().trace(true).run(program).unwrap();
    assert_eq!(paced.value, Some(705));
    assert!(wall >= std::time::Duration::from_micros(70_500), "{wall:?}");
    assert_eq!(paced.trace_text(), free.trace_text());
}

fn arrival_cycle(seed: Option<u64>) -> u64 {
    let sim = match seed {
        Some(s) => Sim::new().seed(s),
        None => Sim::new(),
    };
    sim.run(|| {
        let at = std::rc::Rc::new(std::cell::Cell::new(0));
        let a = at.clone();
        zephyr_sim::irq::raise_at_cycle(1234, move || a.set(zephyr_sim::irq::now_cycles()));
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(2) };
        at.get()
    })
    .unwrap()
    .value
    .unwrap()
}

/// Seeded exploration: a device interrupt for cycle 1234 (tick 12, cycles 1200 to 1299)
/// arrives anywhere in that tick, varied by the seed and repeated by it; unseeded, exactly at
/// its cycle.
#[test]
fn a_seed_varies_interrupt_arrival_within_its_tick_and_repeats() {
    let arrivals: std::collections::BTreeSet<u64> =
        (0..32).map(|s| arrival_cycle(Some(s))).collect();
    assert!(arrivals.iter().all(|c| (1200..1300).contains(c)), "{arrivals:?}");
    assert!(arrivals.len() > 8, "{arrivals:?}");
    assert_eq!(arrival_cycle(Some(7)), arrival_cycle(Some(7)));
    assert_eq!(arrival_cycle(None), 1234);
}
