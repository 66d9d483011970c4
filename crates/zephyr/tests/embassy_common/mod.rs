//! Helpers for the Embassy-on-Zephyr tests: spawning async blocks as tasks, threads from
//! closures, and running a simulation.
#![allow(dead_code)]

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

/// Creates and starts a Zephyr thread named `name` at `prio` running `f`.
pub fn thread(name: &str, prio: i32, f: impl FnOnce() + 'static) -> k_tid_t {
    zephyr_sim::spawn_thread(name, prio, f)
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

/// Runs `future` as the only task of a new executor on the calling thread, until it
/// completes; returns its output.
pub fn run_task<T: 'static>(future: impl Future<Output = T> + 'static) -> T {
    let out = std::rc::Rc::new(std::cell::Cell::new(None));
    let o = out.clone();
    executor().run_until(
        |s| spawn(&s, async move { o.set(Some(future.await)) }),
        || {
            let v = out.take();
            let done = v.is_some();
            out.set(v);
            done
        },
    );
    out.take().expect("the task completed")
}
