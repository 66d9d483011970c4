//! Helpers for the safe-API tests: boot a simulated board, and a tick-stamped event log.
#![allow(dead_code)]

use std::cell::RefCell;

thread_local! {
    // All simulated threads and ISRs of one simulation run on the host thread that called
    // `Sim::run`, and each test runs on its own host thread: a thread-local log is per test.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Appends `T=<tick> <text>` to this simulation's log.
pub fn log(text: impl AsRef<str>) {
    let t = zephyr::time::uptime_ticks();
    LOG.with(|l| l.borrow_mut().push(format!("T={t} {}", text.as_ref())));
}

/// `log!("fmt", args)`: a tick-stamped log line.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => { $crate::common::log(format!($($arg)*)) };
}

/// Takes the log.
pub fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Boots a board at `hz` ticks per second with main at `main_prio`, runs `main`, and returns
/// what it returned and the log. Panics with the simulator's report if the simulation fails.
pub fn run_hz<R: 'static>(
    hz: u32,
    main_prio: i32,
    main: impl FnOnce() -> R + 'static,
) -> (R, Vec<String>) {
    take_log();
    let outcome = zephyr_sim::Sim::new()
        .ticks_per_sec(hz)
        .main_priority(main_prio)
        .capture_console(true)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    (outcome.value.expect("main returned"), take_log())
}

/// [`run_hz`] on the default 10 kHz board.
pub fn run<R: 'static>(main_prio: i32, main: impl FnOnce() -> R + 'static) -> (R, Vec<String>) {
    run_hz(10_000, main_prio, main)
}

/// Runs `main`, which is expected to fail the simulation (a panic on a simulated thread or
/// ISR), and returns the panic message.
pub fn run_panics(main: impl FnOnce() + 'static) -> String {
    take_log();
    match zephyr_sim::Sim::new().capture_console(true).run(main) {
        Ok(_) => panic!("the simulation was expected to fail"),
        Err(zephyr_sim::SimError::Panic { message, .. }) => message,
        Err(e) => panic!("expected a panic, got: {e}"),
    }
}

/// Runs `main` and returns the captured console output.
pub fn run_console(main: impl FnOnce() + 'static) -> String {
    take_log();
    let outcome = zephyr_sim::Sim::new()
        .capture_console(true)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    outcome.console
}
