//! The trace recorder of the conformance scenarios, as in their `main.c`: events are stored
//! with `k_uptime_ticks()` under `irq_lock` and printed at the end, so printing never disturbs
//! timing. Shared by the scenario tests.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::ffi::c_void;

use zephyr_sys::*;

thread_local! {
    static EVENTS: RefCell<Vec<(u32, String)>> = const { RefCell::new(Vec::new()) };
    static CTX: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

/// Records one event at the current tick (`tr()` in the C scenarios).
pub fn record(text: String) {
    // SAFETY: kernel calls from a simulated thread or ISR.
    unsafe {
        let key = irq_lock();
        let t = k_uptime_ticks() as u32;
        EVENTS.with(|e| e.borrow_mut().push((t, text)));
        irq_unlock(key);
    }
}

/// `TR(...)` of the C scenarios, with Rust formatting.
#[macro_export]
macro_rules! tr {
    ($($arg:tt)*) => { $crate::recorder::record(format!($($arg)*)) };
}

/// Stores the scenario's kernel objects for its thread functions (the C globals). Leaked on
/// purpose: kernel objects must stay in place for the whole run.
pub fn new_ctx<T>(value: T) -> &'static mut T {
    let p = Box::leak(Box::new(value));
    CTX.with(|c| c.set(p as *mut T as *mut ()));
    p
}

/// The scenario's objects.
pub fn ctx<T>() -> &'static mut T {
    // SAFETY: set by `new_ctx::<T>` of the running scenario, on this host thread.
    unsafe { &mut *(CTX.with(|c| c.get()) as *mut T) }
}

/// Microseconds in `n` ticks, for `k_busy_wait` (`TICKS_US`).
pub fn ticks_us(n: u64) -> u32 {
    (n * 1_000_000 / sys_clock_ticks_per_sec() as u64) as u32
}

/// `now()`: the current tick.
pub fn now() -> i32 {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_uptime_ticks() as i32 }
}

/// Returns just after a tick boundary (`tick_align`).
pub fn tick_align() {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sleep(K_TICKS(1)) };
}

/// `k_thread_create` with the scenarios' stack size and one argument.
///
/// # Safety
/// `th` must stay in place while the thread lives.
pub unsafe fn create(
    th: *mut k_thread,
    entry: unsafe extern "C-unwind" fn(*mut c_void, *mut c_void, *mut c_void),
    arg: *mut c_void,
    prio: i32,
    delay: k_timeout_t,
) -> k_tid_t {
    // SAFETY: forwarded caller contract.
    unsafe {
        k_thread_create(
            th,
            std::ptr::null_mut(),
            2048,
            Some(entry),
            arg,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            prio,
            0,
            delay,
        )
    }
}

/// Prints the trace like the scenarios' `dump()`, and returns it.
pub fn dump(name: &str) -> String {
    // SAFETY: kernel calls from a simulated thread.
    let (tps, hw) = unsafe { (sys_clock_ticks_per_sec(), sys_clock_hw_cycles_per_sec()) };
    let mut out = format!(
        "# scenario {name} board zephyr_sim ticks_per_sec {tps} hw_cycles_per_sec {hw} tickless 1\n"
    );
    EVENTS.with(|e| {
        let events = e.borrow();
        for (t, text) in events.iter().take(700) {
            out.push_str(&format!("T={t} {text}\n"));
        }
        if events.len() >= 700 {
            out.push_str("# TRACE BUFFER OVERFLOW\n");
        }
    });
    out.push_str("SCENARIO DONE\n");
    // SAFETY: kernel call from a simulated thread.
    unsafe { printk_str(&out) };
    out
}

/// Runs a scenario's `main` at `hz` with main at priority 5 (as the scenarios' prj.conf).
pub fn run_scenario(hz: u32, main: fn() -> String) -> String {
    EVENTS.with(|e| e.borrow_mut().clear());
    let outcome = zephyr_sim::Sim::new()
        .ticks_per_sec(hz)
        .main_priority(5)
        .capture_console(true)
        .run(main)
        .unwrap_or_else(|e| panic!("scenario failed: {e}"));
    let trace = outcome.value.expect("main returned");
    assert_eq!(outcome.console, trace, "printk output is the trace");
    trace
}

/// The real kernel's trace, with the board name replaced by the simulator's.
pub fn reference(scenario: &str, hz: u32) -> String {
    let path = format!(
        "{}/tests/conformance/{scenario}/native_posix_64-{hz}.trace",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")).replacen(
        "board native_posix_64",
        "board zephyr_sim",
        1,
    )
}

/// Compares line by line, naming the first difference.
pub fn assert_same_trace(actual: &str, expected: &str) {
    let a: Vec<&str> = actual.lines().collect();
    let e: Vec<&str> = expected.lines().collect();
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        assert_eq!(
            x,
            y,
            "line {} differs\n--- simulator:\n{actual}\n--- real kernel:\n{expected}",
            i + 1
        );
    }
    assert_eq!(
        a.len(),
        e.len(),
        "line count differs\n--- simulator:\n{actual}\n--- real kernel:\n{expected}"
    );
}

/// Defines the 10 kHz and 100 Hz tests of a scenario.
#[macro_export]
macro_rules! conformance {
    ($scenario:ident, $main:ident) => {
        mod $scenario {
            use super::*;
            #[test]
            fn at_10000_hz() {
                let trace = run_scenario(10_000, $main);
                assert_same_trace(&trace, &reference(stringify!($scenario), 10_000));
            }
            #[test]
            fn at_100_hz() {
                let trace = run_scenario(100, $main);
                assert_same_trace(&trace, &reference(stringify!($scenario), 100));
            }
        }
    };
}
