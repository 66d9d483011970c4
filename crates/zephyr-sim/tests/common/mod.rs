//! Helpers for the simulator's rule tests: a tick-stamped log and Rust-closure threads.
#![allow(dead_code)]

use std::cell::RefCell;

use zephyr_sys::*;

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Appends `T=<tick> <text>` to the log of the running simulation.
pub fn log(text: impl AsRef<str>) {
    // SAFETY: kernel call from a simulated thread or ISR.
    let t = unsafe { k_uptime_ticks() };
    LOG.with(|l| l.borrow_mut().push(format!("T={t} {}", text.as_ref())));
}

/// `log!("fmt", args)`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => { $crate::common::log(format!($($arg)*)) };
}

/// Takes the log.
pub fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Runs `main` on a default board (10 kHz, 1 MHz) with main at priority `main_prio`, and
/// returns its value and the log; panics with the simulator's report on failure.
pub fn run<R: 'static>(main_prio: i32, main: impl FnOnce() -> R + 'static) -> (R, Vec<String>) {
    take_log();
    let outcome = zephyr_sim::Sim::new()
        .main_priority(main_prio)
        .capture_console(true)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    (outcome.value.expect("main returned"), take_log())
}

/// Runs `main` and returns the simulator's error, which the test expects.
pub fn run_err(main: impl FnOnce() + 'static) -> zephyr_sim::SimError {
    take_log();
    match zephyr_sim::Sim::new().capture_console(true).run(main) {
        Ok(_) => panic!("the simulation was expected to fail"),
        Err(e) => e,
    }
}

/// Creates a thread named `name` running `f` at `prio`, started now (`delay` must be
/// `K_NO_WAIT`; use `k_thread_create` for start delays).
pub fn spawn(name: &str, prio: i32, delay: k_timeout_t, f: impl FnOnce() + 'static) -> k_tid_t {
    assert!(delay == K_NO_WAIT, "spawn: use k_thread_create for start delays");
    zephyr_sim::spawn_thread(name, prio, f)
}

/// A leaked, never-moving kernel object.
pub fn leak<T>(value: T) -> &'static mut T {
    Box::leak(Box::new(value))
}

/// A leaked semaphore initialised with `k_sem_init`.
pub fn sem(initial: u32, limit: u32) -> *mut k_sem {
    let s = leak(k_sem::new());
    // SAFETY: the semaphore is leaked and never moves.
    assert_eq!(unsafe { k_sem_init(s, initial, limit) }, 0);
    s
}

/// Runs `f` in the system clock ISR `ticks` ticks from now (a one-shot `k_timer`'s expiry).
pub fn isr_after(ticks: i64, f: impl FnOnce() + 'static) {
    unsafe extern "C-unwind" fn expiry(t: *mut k_timer) {
        // SAFETY: the user data is the leaked slot `isr_after` set; taken once.
        let slot = unsafe { &mut *(k_timer_user_data_get(t) as *mut Option<Box<dyn FnOnce()>>) };
        if let Some(f) = slot.take() {
            f();
        }
    }
    let slot: &mut Option<Box<dyn FnOnce()>> = leak(Some(Box::new(f)));
    let t: *mut k_timer = leak(k_timer::new());
    // SAFETY: the timer and the slot are leaked and never move.
    unsafe {
        k_timer_init(t, Some(expiry), None);
        k_timer_user_data_set(t, slot as *mut _ as *mut core::ffi::c_void);
        k_timer_start(t, K_TICKS(ticks), K_NO_WAIT);
    }
}

/// The message of the panic that ended a simulation.
pub fn panic_message(err: &zephyr_sim::SimError) -> String {
    match err {
        zephyr_sim::SimError::Panic { message, .. } => message.clone(),
        other => panic!("expected a panic: {other}"),
    }
}

/// A queue item (`k_queue`, `k_fifo`, `k_lifo`): the first word belongs to the kernel.
#[repr(C)]
pub struct Item {
    /// The kernel's link word (set by hand to build a list for `k_queue_append_list`).
    pub link: *mut std::ffi::c_void,
    /// The payload.
    pub value: u32,
}

/// A leaked queue item holding `value`.
pub fn item(value: u32) -> *mut std::ffi::c_void {
    leak(Item { link: std::ptr::null_mut(), value }) as *mut Item as *mut std::ffi::c_void
}

/// The value of an item from [`item`], or `None` for a null pointer (nothing received).
pub fn value(p: *mut std::ffi::c_void) -> Option<u32> {
    // SAFETY: non-null pointers come from `item()`, leaked and never freed.
    (!p.is_null()).then(|| unsafe { (*(p as *mut Item)).value })
}
