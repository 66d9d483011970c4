//! Helpers for the Embassy-on-Zephyr tests: spawning async blocks as tasks, threads from
//! closures, and running a simulation.
#![allow(dead_code)]

use std::ffi::c_void;
use std::future::Future;

use embassy_executor::raw::TaskStorage;
use embassy_executor::{SendSpawner, Spawner};
use zephyr::embassy::Executor;
use zephyr_sys::*;

/// Spawns `future` as a task on `spawner`'s executor, in its own leaked task storage (task
/// pools of `#[embassy_executor::task]` are process-wide statics, which tests running in
/// parallel simulations must not share).
pub fn spawn<F: Future<Output = ()> + 'static>(spawner: &Spawner, future: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    spawner.spawn(storage.spawn(|| future).expect("fresh task storage"));
}

/// Like [`spawn`], from another thread or executor, for a `Send` future.
pub fn spawn_send<F: Future<Output = ()> + Send + 'static>(spawner: &SendSpawner, future: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    spawner.spawn(storage.spawn(|| future).expect("fresh task storage"));
}

/// A leaked executor (executors are `'static`).
pub fn executor() -> &'static Executor {
    Box::leak(Box::new(Executor::new()))
}

unsafe extern "C-unwind" fn trampoline(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `p1` is the Box made by `thread`, handed over exactly once.
    let f = unsafe { Box::from_raw(p1 as *mut Box<dyn FnOnce()>) };
    f()
}

/// Creates and starts a Zephyr thread named `name` at `prio` running `f`.
pub fn thread(name: &str, prio: i32, f: impl FnOnce() + 'static) -> k_tid_t {
    let th: &'static mut k_thread = Box::leak(Box::new(k_thread::new()));
    let f: Box<Box<dyn FnOnce()>> = Box::new(Box::new(f));
    let cname = std::ffi::CString::new(name).unwrap();
    // SAFETY: the thread object is leaked (never moves); the trampoline takes the closure.
    unsafe {
        let tid = k_thread_create(
            th,
            std::ptr::null_mut(),
            0,
            Some(trampoline),
            Box::into_raw(f) as *mut c_void,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            prio,
            0,
            K_FOREVER,
        );
        k_thread_name_set(tid, cname.as_ptr());
        k_thread_start(tid);
        tid
    }
}

/// `k_uptime_ticks()`.
pub fn ticks() -> i64 {
    // SAFETY: kernel call from a simulated thread or ISR.
    unsafe { k_uptime_ticks() }
}

/// Runs `main` on a 10 kHz board with main at `main_prio`; panics with the simulator's
/// report if the run fails.
pub fn run<R: 'static>(main_prio: i32, main: impl FnOnce() -> R + 'static) -> R {
    zephyr_sim::Sim::new()
        .main_priority(main_prio)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"))
        .value
        .expect("main returned")
}
