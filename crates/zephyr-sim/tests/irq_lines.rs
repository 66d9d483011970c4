//! Interrupt lines with priorities (`irq_connect_dynamic`, `irq_enable`, `zr_irq_pend`), one
//! test per rule of the simulated NVIC (crates/zephyr-sim/src/nvic.rs), each citing the Zephyr
//! 2.7 source it follows. Board: 10 kHz ticks, 1 MHz cycles (100 cycles per tick).

mod common;

use std::ffi::c_void;

use common::*;
use zephyr_sim::{Sim, SimError, TraceEvent};
use zephyr_sys::*;

/// Connects `f` to line `irq` at `priority` (the closure is leaked: it outlives the run).
fn connect(irq: u32, priority: u32, f: impl Fn() + 'static) {
    connect_with(irq, priority, 0, f);
}

/// [`connect`] with `irq_connect_dynamic`'s `flags`.
fn connect_with(irq: u32, priority: u32, flags: u32, f: impl Fn() + 'static) {
    unsafe extern "C-unwind" fn trampoline(p: *const c_void) {
        // SAFETY: `p` is the leaked `Box<dyn Fn()>` connected below, alive for good.
        let f = unsafe { &*(p as *const Box<dyn Fn()>) };
        f();
    }
    // A thin pointer to the (fat) closure pointer: the parameter is one C pointer.
    #[allow(clippy::borrowed_box, reason = "the Box gives the closure a thin address")]
    let f: &'static Box<dyn Fn()> = leak(Box::new(Box::new(f) as Box<dyn Fn()>));
    // SAFETY: the trampoline and its parameter match; the closure is leaked.
    let vector = unsafe {
        irq_connect_dynamic(irq, priority, Some(trampoline), f as *const _ as *const c_void, flags)
    };
    assert_eq!(vector, irq as i32, "irq_connect_dynamic returns the vector");
}

/// Connects and enables.
fn line(irq: u32, priority: u32, f: impl Fn() + 'static) {
    connect(irq, priority, f);
    // SAFETY: a connected line of the board.
    unsafe { irq_enable(irq) };
}

fn pend(irq: u32) {
    // SAFETY: a line of the board, from a thread or an ISR.
    unsafe { zr_irq_pend(irq) };
}

fn in_isr() -> bool {
    // SAFETY: a plain query.
    unsafe { k_is_in_isr() }
}

/// arch/posix/core/irq.c + boards/posix/native_posix/irq_handler.c (`posix_sw_set_pending_IRQ`:
/// "this will interrupt immediately if the interrupt is not masked and IRQs are not locked"),
/// as NVIC_SetPendingIRQ on Cortex-M: pended from a thread with interrupts unlocked, an enabled
/// line's ISR runs before the call returns, in ISR context; the trace shows its entry and exit.
#[test]
fn thread_pend_runs_the_isr_at_once() {
    take_log();
    let outcome = Sim::new()
        .trace(true)
        .run(|| {
            line(3, 2, || log!("irq 3 in_isr={}", in_isr()));
            log!("pend");
            pend(3);
            log!("returned in_isr={}", in_isr());
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(take_log(), ["T=0 pend", "T=0 irq 3 in_isr=true", "T=0 returned in_isr=false"]);
    let lines: Vec<_> = outcome
        .trace
        .iter()
        .filter(|r| matches!(r.event, TraceEvent::IrqEnter { .. } | TraceEvent::IrqExit { .. }))
        .map(|r| r.event.clone())
        .collect();
    assert_eq!(lines, [TraceEvent::IrqEnter { irq: 3 }, TraceEvent::IrqExit { irq: 3 }]);
    assert_eq!(outcome.cpu.isr_count, 1);
}

/// include/irq.h `irq_lock`: "interrupts ... are held pending until the lock is released"
/// (on Cortex-M a BASEPRI raise, arch/arm/include/aarch32/asm_inline_gcc.h): a line pended
/// while locked runs at `irq_unlock`, once however often it was pended (one pending bit).
#[test]
fn locked_pend_waits_for_irq_unlock() {
    let ((), log) = run(0, || {
        line(5, 1, || log!("irq 5"));
        // SAFETY: lock and unlock on this thread.
        unsafe {
            let key = irq_lock();
            pend(5);
            pend(5);
            log!("still locked");
            irq_unlock(key);
        }
        log!("unlocked");
    });
    assert_eq!(log, ["T=0 still locked", "T=0 irq 5", "T=0 unlocked"]);
}

/// arch/arm/core/aarch32/irq_manage.c `arch_irq_disable`/`arch_irq_enable` (NVIC_DisableIRQ /
/// NVIC_EnableIRQ): a disabled line keeps its request pending; enabling it takes it.
#[test]
fn disabled_line_waits_for_irq_enable() {
    let ((), log) = run(0, || {
        connect(7, 2, || log!("irq 7"));
        // SAFETY: a connected line of the board.
        unsafe {
            assert_eq!(irq_is_enabled(7), 0);
            pend(7);
            log!("pended while disabled");
            irq_enable(7);
            assert_eq!(irq_is_enabled(7), 1);
            log!("enabled");
            irq_disable(7);
            pend(7);
            log!("disabled again");
            irq_enable(7);
        }
        log!("end");
    });
    assert_eq!(
        log,
        [
            "T=0 pended while disabled",
            "T=0 irq 7",
            "T=0 enabled",
            "T=0 disabled again",
            "T=0 irq 7",
            "T=0 end"
        ]
    );
}

/// ARMv7-M ARM B1.5.4 (an exception preempts only for a strictly more urgent group priority),
/// as Zephyr 2.7 configures the NVIC (arch/arm/core/aarch32/irq_manage.c
/// `z_arm_irq_priority_set`; ISRs run unlocked, arch/arm/core/aarch32/isr_wrapper.S): a line
/// pended from an ISR nests into it only if strictly more urgent; a less urgent one runs after.
#[test]
fn nesting_is_strictly_by_priority() {
    let ((), log) = run(0, || {
        line(10, 3, || {
            log!("irq 10 (prio 3) begins");
            pend(11);
            log!("irq 10 ends");
        });
        line(11, 1, || log!("irq 11 (prio 1) nested"));
        line(12, 1, || {
            log!("irq 12 (prio 1) begins");
            pend(13);
            log!("irq 12 ends");
        });
        line(13, 4, || log!("irq 13 (prio 4) after"));
        pend(10);
        pend(12);
    });
    assert_eq!(
        log,
        [
            "T=0 irq 10 (prio 3) begins",
            "T=0 irq 11 (prio 1) nested",
            "T=0 irq 10 ends",
            "T=0 irq 12 (prio 1) begins",
            "T=0 irq 12 ends",
            "T=0 irq 13 (prio 4) after",
        ]
    );
}

/// ARMv7-M ARM B1.5.4 (equal priority does not preempt; the pending exception is taken at the
/// exit, tail-chained): a line pended from an ISR of the same priority runs after it, before the
/// thread resumes.
#[test]
fn equal_priority_tail_chains() {
    let ((), log) = run(0, || {
        line(20, 2, || {
            log!("irq 20 begins");
            pend(21);
            log!("irq 20 ends");
        });
        line(21, 2, || log!("irq 21"));
        pend(20);
        log!("thread resumes");
    });
    assert_eq!(log, ["T=0 irq 20 begins", "T=0 irq 20 ends", "T=0 irq 21", "T=0 thread resumes"]);
}

/// ARMv7-M ARM B1.5.4 (among pending exceptions: the most urgent priority, then the lowest
/// exception number), as boards/posix/native_posix/irq_ctrl.c `hw_irq_ctrl_get_highest_prio_irq`
/// also picks: lines pending together run by priority, then by number.
#[test]
fn pending_lines_run_by_priority_then_number() {
    let ((), log) = run(0, || {
        for (irq, prio) in [(5, 3), (9, 1), (2, 3), (7, 1), (30, 0)] {
            line(irq, prio, move || log!("irq {irq}"));
        }
        // SAFETY: lock and unlock on this thread.
        unsafe {
            let key = irq_lock();
            for irq in [5, 9, 2, 7, 30] {
                pend(irq);
            }
            irq_unlock(key);
        }
    });
    assert_eq!(log, ["T=0 irq 30", "T=0 irq 7", "T=0 irq 9", "T=0 irq 2", "T=0 irq 5"]);
}

/// ARMv7-M ARM B1.5.2 (an active exception can be pending again; NVIC_SetPendingIRQ on the
/// running line): pending the line whose ISR runs makes it run once more after its exit, as an
/// Embassy executor's pender does from its own ISR.
#[test]
fn repend_while_active_runs_again_after_exit() {
    let ((), log) = run(0, || {
        let runs = leak(std::cell::Cell::new(0));
        line(4, 2, move || {
            runs.set(runs.get() + 1);
            log!("irq 4 run {} begins", runs.get());
            if runs.get() == 1 {
                pend(4);
                pend(4);
            }
            log!("irq 4 run {} ends", runs.get());
        });
        pend(4);
        log!("thread");
    });
    assert_eq!(
        log,
        [
            "T=0 irq 4 run 1 begins",
            "T=0 irq 4 run 1 ends",
            "T=0 irq 4 run 2 begins",
            "T=0 irq 4 run 2 ends",
            "T=0 thread"
        ]
    );
}

unsafe extern "C-unwind" fn log_expiry(_: *mut k_timer) {
    // SAFETY: a plain query.
    let c = unsafe { k_cycle_get_32() };
    log!("k_timer expiry at cycle {c}, in_isr={}", in_isr());
}

/// drivers/timer/cortex_m_systick.c (SysTick at `_IRQ_PRIO_OFFSET`, the most urgent level an
/// ISR can have) and ARMv7-M preemption: a `k_timer` due while a priority-2 ISR busy-waits
/// expires at its cycle inside that ISR; in a priority-0 ISR it waits for the ISR's exit.
/// Virtual time is charged to ISRs either way (crate::cpu).
#[test]
fn clock_isr_nests_into_a_busy_waiting_less_urgent_isr() {
    take_log();
    let outcome = Sim::new()
        .run(|| {
            let t = leak(k_timer::new());
            // SAFETY: the timer is leaked; kernel calls from main and from the ISRs.
            unsafe {
                k_timer_init(t, Some(log_expiry), None);
                line(1, 2, || {
                    log!("irq 1 (prio 2) busy-waits 500 us");
                    k_busy_wait(500);
                    log!("irq 1 ends at cycle {}", k_cycle_get_32());
                });
                line(2, 0, || {
                    log!("irq 2 (prio 0) busy-waits 500 us");
                    k_busy_wait(500);
                    log!("irq 2 ends at cycle {}", k_cycle_get_32());
                });
                k_timer_start(t, K_TICKS(2), K_NO_WAIT);
                pend(1);
                k_timer_start(t, K_TICKS(2), K_NO_WAIT);
                pend(2);
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        take_log(),
        [
            "T=0 irq 1 (prio 2) busy-waits 500 us",
            "T=2 k_timer expiry at cycle 200, in_isr=true",
            "T=5 irq 1 ends at cycle 500",
            "T=5 irq 2 (prio 0) busy-waits 500 us",
            "T=10 irq 2 ends at cycle 1000",
            "T=7 k_timer expiry at cycle 1000, in_isr=true",
        ]
    );
    let cpu = &outcome.cpu;
    assert_eq!(cpu.isr_cycles, 1000, "both busy waits are ISR time");
    assert_eq!(cpu.isr_count, 4);
    let threads: u64 = cpu.threads.iter().map(|t| t.cycles).sum();
    assert_eq!(threads + cpu.isr_cycles, cpu.total_cycles, "the accounting adds up");
}

/// kernel/sched.c + arch/arm/core/aarch32/exc_exit.S (`z_arm_int_exit`: pend PendSV if a more
/// urgent thread is ready): an ISR's exit is a reschedule point; the thread it readied runs
/// before `zr_irq_pend` returns to a preemptible thread, after a cooperative one blocks.
#[test]
fn isr_exit_preempts_the_thread_for_a_readied_more_urgent_one() {
    for (main_prio, expected) in [
        (5, ["T=0 worker woke", "T=0 pend returned"]),
        (-1, ["T=0 pend returned", "T=0 worker woke"]),
    ] {
        let ((), log) = run(main_prio, || {
            let s = sem(0, 1);
            spawn("worker", 2, K_NO_WAIT, move || {
                // SAFETY: a leaked semaphore.
                unsafe { k_sem_take(s, K_FOREVER) };
                log!("worker woke");
            });
            // SAFETY: a plain call; lets a less urgent worker reach its wait.
            unsafe { k_msleep(0) };
            line(6, 3, move || {
                // SAFETY: a leaked semaphore; giving is ISR-safe.
                unsafe { k_sem_give(s) }
            });
            pend(6);
            log!("pend returned");
            // SAFETY: lets the worker run if it has not.
            unsafe { k_msleep(1) };
        });
        assert_eq!(log, expected, "main at priority {main_prio}");
    }
}

/// kernel/sem.c `z_impl_k_sem_take` (`__ASSERT(... !arch_is_in_isr() ...)`): a blocking call
/// from a line's ISR ends the run with a report naming the ISR, its line and priority, and the
/// thread it interrupted; when nested, the innermost. The interrupted thread's destructors run
/// in thread context (here a `k_mutex_unlock`, which would panic again in ISR context).
#[test]
fn blocking_call_in_a_line_isr_is_reported() {
    let err = run_err(|| {
        line(8, 2, || {
            let s = sem(0, 1);
            // SAFETY: a leaked semaphore: the call panics before blocking.
            unsafe { k_sem_take(s, K_FOREVER) };
        });
        pend(8);
    });
    let SimError::Panic { context, message, .. } = &err else { panic!("expected a panic: {err}") };
    assert_eq!(context, "the ISR of irq 8 (priority 2) interrupting thread 'main'");
    assert_eq!(
        message,
        "k_sem_take: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );

    struct Unlock(*mut k_mutex);
    impl Drop for Unlock {
        fn drop(&mut self) {
            // SAFETY: main locked the leaked mutex; it unwinds in thread context.
            assert_eq!(unsafe { k_mutex_unlock(self.0) }, 0);
            log!("unlocked in thread context");
        }
    }
    let err = run_err(|| {
        line(9, 4, || pend(10));
        line(10, 1, || panic!("sensor out of range"));
        let m = leak(k_mutex::new());
        // SAFETY: a leaked mutex, locked by main.
        unsafe {
            k_mutex_init(m);
            k_mutex_lock(m, K_FOREVER);
        }
        let _guard = Unlock(m);
        pend(9);
    });
    let SimError::Panic { context, message, .. } = &err else { panic!("expected a panic: {err}") };
    assert_eq!(context, "the ISR of irq 10 (priority 1) interrupting thread 'main'");
    assert_eq!(message, "sensor out of range");
    assert_eq!(take_log(), ["T=0 unlocked in thread context"]);
}

/// What Zephyr asserts, reported naming the call: arch/common/sw_isr_common.c (the line must
/// exist, and be disabled when connected: `z_isr_install`), arch/arm/core/aarch32/irq_manage.c
/// (`z_arm_irq_priority_set`: "invalid priority"), and an unconnected line enabled (its vector
/// would be `z_irq_spurious`, arch/common/isr_tables.c, a fatal error).
#[test]
fn argument_checks() {
    fn message(main: impl FnOnce() + 'static) -> String {
        match run_err(main) {
            SimError::Panic { message, .. } => message,
            e => panic!("expected a panic: {e}"),
        }
    }
    assert_eq!(
        message(|| connect(64, 0, || {})),
        "irq_connect_dynamic: irq 64 out of range: the board has CONFIG_NUM_IRQS = 64 lines"
    );
    assert_eq!(
        message(|| connect(1, 7, || {})),
        "irq_connect_dynamic: invalid priority 7 for irq 1: priorities go from 0 (most urgent) \
         to IRQ_PRIO_LOWEST = 6"
    );
    assert_eq!(
        message(|| {
            line(1, 6, || {});
            connect(1, 6, || {});
        }),
        "irq_connect_dynamic: irq 1 is enabled: disable it before connecting another routine \
         (z_isr_install asserts this)"
    );
    assert_eq!(
        // SAFETY: a line of the board (unconnected: the call panics).
        message(|| unsafe { irq_enable(2) }),
        "irq_enable: irq 2 has no ISR connected (irq_connect_dynamic): on Zephyr it would run \
         z_irq_spurious, a fatal error"
    );
    assert_eq!(
        message(|| pend(64)),
        "zr_irq_pend: irq 64 out of range: the board has CONFIG_NUM_IRQS = 64 lines"
    );
    assert_eq!(CONFIG_NUM_IRQS, 64);
    assert_eq!(zr_IRQ_PRIO_LOWEST, 6);

    // Reconnecting a disabled line replaces its routine (z_isr_install overwrites the entry).
    let ((), log) = run(0, || {
        line(3, 2, || log!("first"));
        // SAFETY: a line of the board.
        unsafe { irq_disable(3) };
        connect(3, 2, || log!("second"));
        // SAFETY: as above.
        unsafe { irq_enable(3) };
        pend(3);
    });
    assert_eq!(log, ["T=0 second"]);
}

/// The same program gives the same trace, with and without a seed (crate docs: determinism).
#[test]
fn deterministic_with_and_without_a_seed() {
    let program = || {
        line(1, 3, || {
            pend(2);
            // SAFETY: a plain busy wait in an ISR.
            unsafe { k_busy_wait(300) };
        });
        line(2, 1, || log!("irq 2"));
        let t = leak(k_timer::new());
        // SAFETY: a leaked timer.
        unsafe {
            k_timer_init(t, Some(log_expiry), None);
            k_timer_start(t, K_TICKS(1), K_TICKS(1));
            pend(1);
            k_msleep(1);
            k_timer_stop(t);
        }
    };
    let trace = |seed: Option<u64>| {
        take_log();
        let sim = Sim::new().trace(true);
        let sim = match seed {
            Some(s) => sim.seed(s),
            None => sim,
        };
        let outcome = sim.run(program).unwrap_or_else(|e| panic!("{e}"));
        (outcome.trace, take_log())
    };
    assert_eq!(trace(None), trace(None));
    assert_eq!(trace(Some(7)), trace(Some(7)));
}

/// Connects `f` to line `irq` with `flags`, and enables it.
fn connect_flags(irq: u32, priority: u32, flags: u32, f: impl Fn() + 'static) {
    connect_with(irq, priority, flags, f);
    // SAFETY: a connected line of the board.
    unsafe { irq_enable(irq) };
}

thread_local! {
    /// What zero-latency ISRs saw (they may not use the kernel, so not even `log!`).
    static ZLI_RUNS: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn zli_mark(what: &'static str) {
    ZLI_RUNS.with(|r| r.borrow_mut().push(what));
}

fn zli_runs() -> Vec<&'static str> {
    ZLI_RUNS.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// arch/arm/core/aarch32/irq_manage.c:77-78 and include/arch/arm/aarch32/irq.h:88-93: with
/// `CONFIG_ZERO_LATENCY_IRQS`, a line connected with `IRQ_ZERO_LATENCY` runs at hardware
/// priority 0, which `irq_lock`'s BASEPRI raise (to `_EXC_IRQ_DEFAULT_PRIO`, exc.h:58) does
/// not mask: pended inside a locked section it runs at once, where an ordinary line of
/// priority 0 waits for `irq_unlock`.
#[test]
fn a_zero_latency_line_runs_inside_irq_lock() {
    take_log();
    zli_runs();
    let outcome = Sim::new()
        .zero_latency_irqs(true)
        .run(|| {
            connect_flags(3, 0, IRQ_ZERO_LATENCY, || zli_mark("zli"));
            line(4, 0, || log!("irq 4"));
            // SAFETY: a lock released below, on this thread.
            let key = unsafe { irq_lock() };
            pend(4);
            pend(3);
            log!("locked: zero-latency ran: {:?}", zli_runs());
            // SAFETY: the key of the lock above.
            unsafe { irq_unlock(key) };
            log!("unlocked");
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.cpu.isr_count, 2);
    assert_eq!(
        take_log(),
        ["T=0 locked: zero-latency ran: [\"zli\"]", "T=0 irq 4", "T=0 unlocked"]
    );
}

/// irq_manage.c:77-78: a zero-latency line is above every other: pended by an ISR of priority 0
/// it nests into it at once (strictly more urgent), and the priority it was connected with is
/// ignored (even one beyond `IRQ_PRIO_LOWEST`: irq.h:96-99 exempts zero-latency lines).
/// `IRQ_PRIO_LOWEST` is one less with the option (exc.h:52-54: SVCall moves to 1).
#[test]
fn a_zero_latency_line_nests_into_priority_0() {
    take_log();
    zli_runs();
    Sim::new()
        .zero_latency_irqs(true)
        .run(|| {
            connect_flags(3, 7, IRQ_ZERO_LATENCY, || zli_mark("zli"));
            line(4, 0, || {
                pend(3);
                log!("irq 4 after the pend: {:?}", zli_runs());
            });
            pend(4);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(take_log(), ["T=0 irq 4 after the pend: [\"zli\"]"]);

    let err = run_err_zli(|| line(5, 6, || {}));
    let SimError::Panic { message, .. } = &err else { panic!("expected a panic: {err}") };
    assert_eq!(
        message,
        "irq_connect_dynamic: invalid priority 6 for irq 5: priorities go from 0 (most urgent) \
         to IRQ_PRIO_LOWEST = 5"
    );
}

fn run_err_zli(main: impl FnOnce() + 'static) -> SimError {
    match Sim::new().zero_latency_irqs(true).capture_console(true).run(main) {
        Ok(_) => panic!("the simulation was expected to fail"),
        Err(e) => e,
    }
}

/// include/arch/arm/aarch32/irq.h:88-93 ("will run even if irq_lock() is active. Be
/// careful!"): a zero-latency ISR can interrupt the kernel inside its locked sections, so it
/// must not use the kernel. A kernel call from one ends the run naming the line.
#[test]
fn a_kernel_call_from_a_zero_latency_isr_is_reported() {
    let err = run_err_zli(|| {
        let s = sem(0, 1);
        let s = s as usize;
        connect_flags(6, 0, IRQ_ZERO_LATENCY, move || {
            // SAFETY: a leaked semaphore; the call panics (no kernel in a zero-latency ISR).
            unsafe { k_sem_give(s as *mut k_sem) };
        });
        pend(6);
    });
    let SimError::Panic { context, message, .. } = &err else { panic!("expected a panic: {err}") };
    assert_eq!(context, "the zero-latency ISR of irq 6 interrupting thread 'main'");
    assert!(message.starts_with("kernel call from the zero-latency ISR of irq 6: "), "{message}");
}

/// irq_manage.c:77 (`IS_ENABLED(CONFIG_ZERO_LATENCY_IRQS) && (flags & IRQ_ZERO_LATENCY)`):
/// without the option the flag is ignored: the line runs at the priority it was given, masked
/// by `irq_lock`, and may use the kernel.
#[test]
fn without_the_option_the_flag_is_ignored() {
    let ((), log) = run(0, || {
        connect_flags(3, 2, IRQ_ZERO_LATENCY, || log!("irq 3"));
        // SAFETY: a lock released below, on this thread.
        let key = unsafe { irq_lock() };
        pend(3);
        log!("locked");
        // SAFETY: the key of the lock above.
        unsafe { irq_unlock(key) };
    });
    assert_eq!(log, ["T=0 locked", "T=0 irq 3"]);
}

/// `samples/zero-latency`, a C program run on a real Zephyr 2.7.0 kernel (qemu_cortex_m3,
/// `CONFIG_ZERO_LATENCY_IRQS=y`) by `scripts/zephyr-test.sh`: the same steps here print what it
/// printed (its `expected.txt`): the lowest priority, a zero-latency line running inside
/// `irq_lock` where a priority-0 line waits, and one nesting into a priority-0 line's ISR.
#[test]
fn the_zero_latency_sample_prints_what_zephyr_printed() {
    const ZLI_LINE: u32 = 36;
    const LINE: u32 = 37;
    static ZLI_RUNS: AtomicI32 = AtomicI32::new(0);
    static LINE_RUNS: AtomicI32 = AtomicI32::new(0);
    static ZLI_RUNS_IN_LINE: AtomicI32 = AtomicI32::new(-1);
    use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

    take_log();
    let outcome = Sim::new()
        .zero_latency_irqs(true)
        .capture_console(true)
        .run(|| {
            let mut out = vec![format!("IRQ_PRIO_LOWEST {}", zephyr_sim::irq::prio_lowest())];
            connect_flags(ZLI_LINE, 7, IRQ_ZERO_LATENCY, || {
                ZLI_RUNS.fetch_add(1, Relaxed);
            });
            let line_isr = |nest: bool| {
                move || {
                    LINE_RUNS.fetch_add(1, Relaxed);
                    if nest {
                        pend(ZLI_LINE);
                        ZLI_RUNS_IN_LINE.store(ZLI_RUNS.load(Relaxed), Relaxed);
                    }
                }
            };
            connect_flags(LINE, 0, 0, line_isr(false));
            // SAFETY: a lock released below, on this thread.
            let key = unsafe { irq_lock() };
            pend(LINE);
            pend(ZLI_LINE);
            let (zli, line) = (ZLI_RUNS.load(Relaxed), LINE_RUNS.load(Relaxed));
            // SAFETY: the key of the lock above.
            unsafe { irq_unlock(key) };
            out.push(format!("locked: zero-latency ran {zli}, line ran {line}"));
            out.push(format!(
                "unlocked: zero-latency ran {}, line ran {}",
                ZLI_RUNS.load(Relaxed),
                LINE_RUNS.load(Relaxed)
            ));
            // SAFETY: a line of the board, disabled before it is connected again.
            unsafe { irq_disable(LINE) };
            connect_flags(LINE, 0, 0, line_isr(true));
            pend(LINE);
            out.push(format!(
                "pended by the line's ISR: zero-latency ran {} before it went on",
                ZLI_RUNS_IN_LINE.load(Relaxed)
            ));
            out.push("done".to_string());
            out
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = include_str!("../../../samples/zero-latency/expected.txt");
    assert_eq!(outcome.value.expect("main returned"), expected.lines().collect::<Vec<_>>());
}
