//! `InterruptExecutor`: Embassy tasks polled in the handler of a Zephyr interrupt line (issue
//! 12). Its tasks preempt every thread, cooperative ones and thread executors included; they
//! may not block; threads, ISRs and other executors spawn onto it with a `SendSpawner`; the
//! time driver wakes them at their tick. Board: 10 kHz ticks, 1 MHz cycles.
//!
//! The line's rules are Cortex-M's NVIC as Zephyr 2.7 programs it
//! (`arch/arm/core/aarch32/irq_manage.c`, `include/arch/arm/aarch32/exc.h`): an interrupt
//! preempts any thread; a pending line preempts an active one only if strictly more urgent;
//! the system clock (SysTick) is at priority 0 (`drivers/timer/cortex_m_systick.c`).

mod embassy_common;

use std::cell::RefCell;
use std::rc::Rc;

use embassy_common::*;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Instant, Timer};
use zephyr::embassy::InterruptExecutor;
use zephyr_sys::*;

/// A shared event log; entries are stamped with the tick and whether they ran in an ISR.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

// SAFETY: every simulation runs on one host thread, so the log is never touched from two host
// threads (tasks on the interrupt executor must be `Send` for a `SendSpawner`, which the `Rc`
// inside is not).
unsafe impl Send for Log {}

impl Log {
    fn push(&self, s: impl Into<String>) {
        // SAFETY: kernel call from a simulated thread or ISR.
        let isr = if unsafe { k_is_in_isr() } { " [isr]" } else { "" };
        self.0.borrow_mut().push(format!("T={} {}{isr}", ticks(), s.into()));
    }
    fn take(&self) -> Vec<String> {
        self.0.take()
    }
}

/// A leaked interrupt executor (one per simulation).
fn irq_executor() -> &'static InterruptExecutor {
    Box::leak(Box::new(InterruptExecutor::new()))
}

fn leak_signal() -> &'static Signal<CriticalSectionRawMutex, u32> {
    Box::leak(Box::new(Signal::new()))
}

/// Boots a board with main at priority 5, runs `main`, and returns the simulator's error
/// report, or `None` if the run succeeded.
fn sim_error(main: impl FnOnce() + 'static) -> Option<String> {
    zephyr_sim::Sim::new().main_priority(5).run(main).err().map(|e| e.to_string())
}

/// Asserts that `report` is a panic whose message holds every one of `expected`.
#[track_caller]
fn assert_panic(report: Option<String>, expected: &[&str]) {
    let report = report.expect("the simulation was expected to fail with a panic");
    assert!(report.contains("panicked"), "{report}");
    for e in expected {
        assert!(report.contains(e), "expected {e:?} in: {report}");
    }
}

/// A thread wakes a task on the interrupt executor: the signal's waker pends the line, whose
/// handler runs the task in ISR context before `signal` returns to the thread.
#[test]
fn a_thread_wakes_a_task_that_runs_before_the_call_returns() {
    let events = run(5, || {
        let log = Log::default();
        let signal = leak_signal();
        let executor = irq_executor();
        let spawner = executor.start(10, 2);
        let l = log.clone();
        spawn_send(&spawner, async move {
            l.push("task waits");
            let v = signal.wait().await;
            l.push(format!("task got {v}"));
        });
        log.push("main spawned");
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(5) };
        log.push("main signals");
        signal.signal(42);
        log.push("main after signal");
        assert_eq!(executor.irq(), Some(10));
        assert_eq!(executor.poll_count(), 2);
        log.take()
    });
    assert_eq!(
        events,
        [
            "T=0 task waits [isr]",
            "T=0 main spawned",
            "T=51 main signals",
            "T=51 task got 42 [isr]",
            "T=51 main after signal",
        ]
    );
}

/// Interrupt tasks preempt every thread executor, even one on a cooperative thread busy in a
/// long computation: the time driver's alarm (system clock ISR) wakes the task, and the line's
/// handler runs when the clock ISR returns, in the middle of the busy wait
/// (`kernel/timeout.c`: `sys_clock_announce`; cooperative threads are not preempted by
/// threads, but every interrupt preempts them).
#[test]
fn interrupt_tasks_preempt_a_cooperative_thread_executor() {
    let events = run(5, || {
        let log = Log::default();
        let spawner = irq_executor().start(7, 3);
        let l = log.clone();
        spawn_send(&spawner, async move {
            for _ in 0..3 {
                Timer::after_millis(2).await;
                l.push("tick");
            }
        });
        let l = log.clone();
        let done = Rc::new(std::cell::Cell::new(false));
        let d = done.clone();
        thread("coop", -2, move || {
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        l.push("crunch starts");
                        // SAFETY: kernel call from a simulated thread: 10 ms of computation.
                        unsafe { k_busy_wait(10_000) };
                        l.push("crunch ends");
                        d.set(true);
                    })
                },
                || done.get(),
            );
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(20) };
        log.take()
    });
    assert_eq!(
        events,
        [
            "T=0 crunch starts",
            "T=20 tick [isr]",
            "T=40 tick [isr]",
            "T=60 tick [isr]",
            "T=100 crunch ends",
        ]
    );
}

/// The time driver wakes interrupt tasks at exactly their deadline's tick, whatever the
/// threads do; `Instant::now()` in the task reads that tick.
#[test]
fn the_time_driver_wakes_interrupt_tasks_at_their_tick() {
    let events = run(5, || {
        let log = Log::default();
        let spawner = irq_executor().start(3, 1);
        let l = log.clone();
        spawn_send(&spawner, async move {
            let start = Instant::now();
            for ms in [1u64, 3, 7] {
                Timer::at(start + embassy_time::Duration::from_micros(ms * 1000 + 50)).await;
                l.push(format!("woke at {}", Instant::now().as_ticks()));
            }
        });
        // A busy main thread: the wakes still come at their tick.
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_busy_wait(9_000) };
        log.take()
    });
    assert_eq!(
        events,
        ["T=11 woke at 11 [isr]", "T=31 woke at 31 [isr]", "T=71 woke at 71 [isr]",]
    );
}

/// Threads and other executors spawn onto the interrupt executor with its `SendSpawner`; the
/// spawned task runs at once, preempting the spawner's thread.
#[test]
fn threads_and_thread_executors_spawn_onto_it() {
    let events = run(5, || {
        let log = Log::default();
        let executor = irq_executor();
        let spawner = executor.start(12, 4);
        let l = log.clone();
        let d = Rc::new(std::cell::Cell::new(false));
        let done = d.clone();
        thread("worker", 2, move || {
            crate::executor().run_until(
                |s| {
                    spawn(&s, async move {
                        Timer::after_millis(1).await;
                        let l2 = l.clone();
                        l.push("thread task spawns");
                        spawn_send(&spawner, async move { l2.push("spawned task runs") });
                        l.push("thread task after spawn");
                        d.set(true);
                    })
                },
                || done.get(),
            );
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(2) };
        let l = log.clone();
        log.push("main spawns");
        spawn_send(&executor.spawner(), async move { l.push("second task runs") });
        log.push("main after spawn");
        log.take()
    });
    assert_eq!(
        events,
        [
            "T=10 thread task spawns",
            "T=10 spawned task runs [isr]",
            "T=10 thread task after spawn",
            "T=21 main spawns",
            "T=21 second task runs [isr]",
            "T=21 main after spawn",
        ]
    );
}

/// An ISR less urgent than the line (a device interrupt at priority 0 is equally urgent:
/// tail-chained) wakes a task: it runs when that ISR returns, before the interrupted thread
/// resumes.
#[test]
fn an_isr_wakes_a_task_that_runs_when_the_isr_returns() {
    let events = run(5, || {
        let log = Log::default();
        let signal = leak_signal();
        let spawner = irq_executor().start(9, 2);
        let l = log.clone();
        spawn_send(&spawner, async move {
            let v = signal.wait().await;
            l.push(format!("task got {v}"));
        });
        let l = log.clone();
        zephyr_sim::irq::raise_after_us(1_500, move || {
            l.push("device isr signals");
            signal.signal(7);
            l.push("device isr returns");
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_busy_wait(3_000) };
        log.push("main resumes");
        log.take()
    });
    assert_eq!(
        events,
        [
            "T=15 device isr signals [isr]",
            "T=15 device isr returns [isr]",
            "T=15 task got 7 [isr]",
            "T=30 main resumes",
        ]
    );
}

/// Two interrupt executors nest like their lines: a task on the less urgent one that wakes
/// a task on the more urgent one is preempted by it at once; the reverse wake waits until the
/// more urgent handler returns.
#[test]
fn two_interrupt_executors_nest_by_priority() {
    let events = run(5, || {
        let log = Log::default();
        let (to_high, to_low) = (leak_signal(), leak_signal());
        let low = irq_executor().start(20, 5);
        let high = irq_executor().start(21, 1);
        let l = log.clone();
        spawn_send(&high, async move {
            let v = to_high.wait().await;
            l.push(format!("high got {v}"));
            to_low.signal(v + 1);
            l.push("high returns");
        });
        let l = log.clone();
        spawn_send(&low, async move {
            Timer::after_millis(1).await;
            l.push("low signals high");
            to_high.signal(1);
            l.push("low waits");
            let v = to_low.wait().await;
            l.push(format!("low got {v}"));
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(2) };
        log.take()
    });
    assert_eq!(
        events,
        [
            "T=10 low signals high [isr]",
            "T=10 high got 1 [isr]",
            "T=10 high returns [isr]",
            "T=10 low waits [isr]",
            "T=10 low got 2 [isr]",
        ]
    );
}

/// A blocking kernel call from an interrupt task is a panic that ends the run and names the
/// call and the ISR context (Zephyr asserts it: `kernel/sem.c` `k_sem_take`,
/// `kernel/sched.c` `z_tick_sleep`). `k_msleep` is `k_sleep` in Zephyr's header.
#[test]
fn a_blocking_call_from_an_interrupt_task_is_a_clear_panic() {
    let report = sim_error(|| {
        let spawner = irq_executor().start(5, 2);
        spawn_send(&spawner, async {
            Timer::after_millis(1).await;
            // SAFETY: kernel call (from an ISR: the misuse under test).
            unsafe { k_msleep(1) };
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(5) };
    });
    assert_panic(report, &["ISR of irq 5 (priority 2)", "k_sleep: blocking call from ISR context"]);

    let report = sim_error(|| {
        let spawner = irq_executor().start(5, 2);
        spawn_send(&spawner, async {
            let sem = zephyr::sys::sync::Semaphore::new(0, 1);
            let _ = sem.take(zephyr::time::Forever);
        });
    });
    assert_panic(report, &["Semaphore::take", "interrupt handler"]);

    let report = sim_error(|| {
        let spawner = irq_executor().start(5, 2);
        spawn_send(&spawner, async {
            executor().run(|_| {});
        });
    });
    assert_panic(report, &["Executor::run", "ISR"]);
}

/// Misuse of the executor itself is a panic naming it.
#[test]
fn starting_twice_or_spawning_before_start_is_a_clear_panic() {
    assert_panic(
        sim_error(|| {
            let executor = irq_executor();
            executor.start(5, 2);
            executor.start(6, 2);
        }),
        &["InterruptExecutor::start", "started already (on irq 5)"],
    );
    assert_panic(
        sim_error(|| {
            irq_executor().spawner();
        }),
        &["InterruptExecutor::spawner", "not started"],
    );
    assert_panic(
        sim_error(|| {
            irq_executor().start(5, 99);
        }),
        &["priority 99 is out of range"],
    );
}
