//! A thread that overflows its stack, and one that never gives up the CPU, end their run with
//! an error naming the thread; the test binary, and the next simulation, carry on.
//!
//! Zephyr's model: a stack guard (MPU region or canary) turns an overflow into the fatal error
//! `K_ERR_STACK_CHK_FAIL` ("Stack overflow", `kernel/fatal.c`), which aborts the thread and
//! runs `k_sys_fatal_error_handler`. Without the simulator's guard handler the host process
//! died of SIGSEGV, every other test of the binary with it (issue 8, item 4). The watchdog
//! (issue 8, item 3) ends a run whose thread spins without progress, whether it keeps making
//! kernel calls or none at all.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use zephyr_sim::{Sim, SimError};
use zephyr_sys::*;

/// The hosts where the guard handler and the watchdog's interrupt exist.
macro_rules! on_supported_hosts {
    ($($item:item)*) => {$(
        #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
        $item
    )*};
}

/// A plain simulation, to show the host thread still runs them after a failed one.
fn a_normal_run_works() {
    let outcome = Sim::new()
        .run(|| {
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(10) };
            7
        })
        .unwrap();
    assert_eq!(outcome.value, Some(7));
    assert_eq!(outcome.uptime_ticks, 101);
}

on_supported_hosts! {
    /// A 1 MiB array on the stack of a thread with a 64 KiB stack: the run ends with the
    /// stack-check fault naming the thread and its stack size, at the tick it happened, with the
    /// console up to then; the next simulation on the same host thread runs normally.
    #[test]
    fn a_stack_overflow_is_a_fatal_error_naming_the_thread() {
        let err = Sim::new()
            .stack_size(64 * 1024)
            .capture_console(true)
            .run(|| {
                // SAFETY: kernel calls from the simulated main thread.
                unsafe { k_msleep(1) };
                spawn("big-buffer", 5, K_NO_WAIT, || {
                    // SAFETY: console output from a simulated thread.
                    unsafe { printk_str("big-buffer: starting\n") };
                    fill_a_big_buffer();
                });
                // SAFETY: kernel call from the simulated main thread.
                unsafe { k_msleep(10) };
            })
            .unwrap_err();
        let SimError::StackOverflow { context, stack_size, uptime_ticks, console } = &err else {
            panic!("expected a stack overflow: {err}")
        };
        assert_eq!(context, "thread 'big-buffer'");
        assert_eq!(*stack_size, 64 * 1024);
        assert_eq!(*uptime_ticks, 11, "after main's first 1 ms sleep");
        assert_eq!(console, "big-buffer: starting\n");
        assert_eq!(
            err.to_string(),
            "fatal error: stack overflow (K_ERR_STACK_CHK_FAIL) in thread 'big-buffer' at tick \
             11: it used up its 65536-byte host stack; give simulated threads bigger stacks \
             with Sim::stack_size"
        );
        a_normal_run_works();
    }

    /// A function with a 1 MiB array on its stack (its frame is made at its entry).
    #[inline(never)]
    fn fill_a_big_buffer() {
        let buffer = [7u8; 1 << 20];
        black_box(&buffer);
    }

    /// `k_sem_take` is a blocking entry (`zephyr_sim::context`, "Blocking entries"): it
    /// returns to its caller with a jump, not a return. A thread resumed inside it, by a
    /// thread that blocked in it, overflows its stack once back in its own code: the fault is
    /// its own, and the report names it (not the thread that switched to it).
    #[test]
    fn a_thread_resumed_inside_k_sem_take_is_the_one_whose_overflow_is_reported() {
        let err = Sim::new()
            .stack_size(64 * 1024)
            .run(|| {
                let (a, b) = (sem(0, 1), sem(0, 1));
                spawn("deep", 0, K_NO_WAIT, move || {
                    // SAFETY: kernel calls from a simulated thread on leaked semaphores.
                    unsafe {
                        k_sem_give(a);
                        // Blocks; main, blocked in k_sem_take, resumes.
                        k_sem_take(b, K_FOREVER);
                    }
                    // Resumed by main's k_sem_take switching to it.
                    fill_a_big_buffer();
                });
                // SAFETY: kernel calls from the simulated main thread.
                unsafe {
                    // Blocks: "deep" starts (same priority, it was waiting its turn).
                    k_sem_take(a, K_FOREVER);
                    k_sem_give(b);
                    // Blocks: "deep" resumes inside its k_sem_take.
                    k_sem_take(a, K_FOREVER);
                }
            })
            .unwrap_err();
        let SimError::StackOverflow { context, .. } = &err else {
            panic!("expected a stack overflow: {err}")
        };
        assert_eq!(context, "thread 'deep'");
        a_normal_run_works();
    }

    /// Unbounded recursion on the main thread (the default 256 KiB stack) is the same fault.
    #[test]
    fn runaway_recursion_on_main_is_a_stack_overflow() {
        fn depth(n: u64) -> u64 {
            if black_box(n) == u64::MAX {
                return 0;
            }
            let mut frame = [n; 32];
            black_box(&mut frame);
            black_box(depth(n + 1)) + frame[0]
        }
        let err = Sim::new().run(|| depth(0)).unwrap_err();
        let SimError::StackOverflow { context, stack_size, .. } = &err else {
            panic!("expected a stack overflow: {err}")
        };
        assert_eq!(context, "thread 'main'");
        assert_eq!(*stack_size, 256 * 1024);
        a_normal_run_works();
    }

    /// A thread that spins without any kernel call cannot be unwound: the watchdog interrupts
    /// the host thread and the thread is abandoned where it spun. The run ends naming it.
    #[test]
    fn the_watchdog_ends_a_thread_spinning_without_kernel_calls() {
        let err = stalled_run(|| {
            let mut turns = 0u64;
            loop {
                turns = black_box(turns + 1);
            }
        });
        let SimError::Stalled { thread, .. } = &err else { panic!("expected a stall: {err}") };
        assert_eq!(thread, "spinner");
        a_normal_run_works();
    }
}

/// A thread that polls a semaphore with `K_NO_WAIT` forever, as a thread waiting for another
/// one it never lets run: the watchdog stops it at its next kernel call (the unwinding runs its
/// destructors) and the run ends with its report naming the thread.
#[test]
fn the_watchdog_ends_a_thread_polling_the_kernel_forever() {
    let dropped = Arc::new(AtomicBool::new(false));
    let seen = dropped.clone();
    let err = stalled_run(move || {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _guard = SetOnDrop(seen);
        let s = sem(0, 1);
        // SAFETY: kernel calls from a simulated thread on a leaked semaphore.
        while unsafe { k_sem_take(s, K_NO_WAIT) } != 0 {}
    });
    let SimError::Stalled { thread, report, uptime_ticks, .. } = &err else {
        panic!("expected a stall: {err}")
    };
    assert_eq!(thread, "spinner");
    assert_eq!(*uptime_ticks, 11, "virtual time stood still from the thread's start");
    assert!(report.starts_with("thread 'spinner' has run for "), "{report}");
    assert!(err.to_string().ends_with("The watchdog ended the run (Sim::stall_limit)."), "{err}");
    assert!(dropped.load(Ordering::Relaxed), "the stopped thread was unwound");
    a_normal_run_works();
}

/// Runs a simulation whose thread `spinner` (started after main's 1 ms sleep) runs `spin`,
/// with a 50 ms watchdog and a 100 ms stall limit; returns its error. The wall-clock wait
/// for the watchdog is inherent; nothing here asserts on timing.
fn stalled_run(spin: impl FnOnce() + 'static) -> SimError {
    Sim::new()
        .watchdog(Some(Duration::from_millis(50)))
        .stall_limit(Some(Duration::from_millis(100)))
        .run(move || {
            // SAFETY: kernel calls from the simulated main thread.
            unsafe { k_msleep(1) };
            spawn("spinner", 5, K_NO_WAIT, spin);
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(10) };
        })
        .unwrap_err()
}
