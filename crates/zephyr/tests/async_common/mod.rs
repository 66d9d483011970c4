//! Helpers shared by the async-wait tests: leaked objects, a simulation, and givers.
#![allow(dead_code)]

use std::ffi::c_void;

use zephyr::sys::sync::Semaphore;
use zephyr::thread::ThreadStack;
use zephyr::work::{StaticWorkQueue, WorkQueue};
use zephyr_sys::*;

use crate::embassy_common::thread;

pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// A started work queue at `prio`, leaked (a `StaticWorkQueue`: `WorkQueueBuilder::start`
/// needs kio's allocator, and these tests also run with `no-kio`).
pub fn queue(name: &'static std::ffi::CStr, prio: i32) -> WorkQueue {
    let stack = leak(ThreadStack::<4096>::new());
    leak(StaticWorkQueue::new()).start(stack, prio, name).unwrap()
}

pub fn sim<R: 'static>(main: impl FnOnce() -> R + 'static) -> R {
    zephyr_sim::Sim::new()
        .main_priority(5)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"))
        .value
        .expect("main returned")
}

/// How a test gives the semaphore.
#[derive(Clone, Copy, Debug)]
pub enum Giver {
    /// `Semaphore::give` from another Zephyr thread.
    Rust,
    /// A raw `k_sem_give` (what C code does) from another Zephyr thread.
    RawC,
    /// `k_sem_give` in a `k_timer` expiry function (ISR context).
    TimerIsr,
}

unsafe extern "C-unwind" fn give_from_isr(timer: *mut k_timer) {
    // SAFETY: user data is the raw semaphore; k_sem_give is ISR-safe.
    unsafe { k_sem_give(k_timer_user_data_get(timer) as *mut k_sem) };
}

/// Arranges for `sem` to be given at tick 200 by `giver`.
pub fn give_at_200(sem: &'static Semaphore, giver: Giver) {
    match giver {
        Giver::Rust => {
            thread("giver", 7, move || {
                zephyr::time::sleep(zephyr::time::Instant::from_ticks(200));
                sem.give();
            });
        }
        Giver::RawC => {
            let raw = sem.as_raw() as usize;
            thread("c-giver", 7, move || {
                // SAFETY: what a C thread would do with the semaphore's address.
                unsafe {
                    k_sleep(K_TIMEOUT_ABS_TICKS(200));
                    k_sem_give(raw as *mut k_sem);
                }
            });
        }
        Giver::TimerIsr => {
            let t: &'static mut k_timer = Box::leak(Box::new(k_timer::new()));
            // SAFETY: the timer is leaked; its user data is the semaphore's address.
            unsafe {
                k_timer_init(t, Some(give_from_isr), None);
                k_timer_user_data_set(t, sem.as_raw() as *mut c_void);
                k_timer_start(t, K_TIMEOUT_ABS_TICKS(200), K_NO_WAIT);
            }
        }
    }
}
