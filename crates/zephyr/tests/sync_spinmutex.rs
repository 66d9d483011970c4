//! `zephyr::sync::SpinMutex`: interrupts stay locked while it is held, threads and ISRs share
//! data through it, `try_lock` fails while it is held, and misuse (a second lock by the holder,
//! a lock held across a blocking call) is a panic naming it rather than a hang. Board: 10 kHz.

mod common;

use std::ffi::c_void;

use common::{run, run_panics};
use zephyr::sync::{SpinMutex, SpinTryLockError};
use zephyr::time::{busy_wait, sleep, Duration, Instant};
use zephyr_sys::*;

/// Runs `f` in ISR context (a `k_timer` expiry function) at `tick`, and every `period` ticks
/// after if `period` is not zero.
fn isr_at(tick: i64, period: i64, f: impl Fn() + 'static) {
    let f: Box<dyn Fn()> = Box::new(f);
    let f: *mut Box<dyn Fn()> = Box::into_raw(Box::new(f));
    let timer: &'static mut k_timer = Box::leak(Box::new(k_timer::new()));
    let period = if period == 0 { K_NO_WAIT } else { K_TICKS(period) };
    // SAFETY: the timer and the closure are leaked; the user data is the closure's address.
    unsafe {
        k_timer_init(timer, Some(run_isr), None);
        k_timer_user_data_set(timer, f as *mut c_void);
        k_timer_start(timer, K_TIMEOUT_ABS_TICKS(tick), period);
    }
}

unsafe extern "C-unwind" fn run_isr(timer: *mut k_timer) {
    // SAFETY: the user data is a leaked `Box<dyn Fn()>` (see `isr_at`).
    let f = unsafe { &*(k_timer_user_data_get(timer) as *const Box<dyn Fn()>) };
    f();
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// While a thread holds the lock, interrupts are locked: a timer due at tick 5 runs its ISR
/// only when the guard is dropped at tick 10, and the ISR takes the lock then.
#[test]
fn interrupts_wait_while_the_lock_is_held() {
    let (_, log) = run(5, || {
        let counter: &'static SpinMutex<u32> = leak(SpinMutex::new(0));
        isr_at(5, 0, move || {
            *counter.lock().unwrap() += 1;
            log!("isr: counted");
        });
        {
            let mut guard = counter.lock().unwrap();
            busy_wait(Duration::from_ticks(10));
            *guard += 10;
            log!("thread: releasing");
        }
        log!("thread: counter {}", *counter.lock().unwrap());
    });
    // The ISR runs at the release (tick 10); like Zephyr's announce of late ticks, it sees the
    // uptime of its due tick (5).
    assert_eq!(log, ["T=10 thread: releasing", "T=5 isr: counted", "T=10 thread: counter 11"]);
}

/// Threads and a periodic ISR share one counter through the lock, each read-modify-write
/// spanning tick boundaries: no increment is lost (the counter equals the increments made,
/// counted apart with atomics).
#[test]
fn threads_and_an_isr_share_data() {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static BY_ISR: AtomicU32 = AtomicU32::new(0);
    static BY_THREADS: AtomicU32 = AtomicU32::new(0);
    let (total, _) = run(5, || {
        let counter: &'static SpinMutex<u32> = leak(SpinMutex::new(0));
        isr_at(1, 1, move || {
            *counter.lock().unwrap() += 1;
            BY_ISR.fetch_add(1, Relaxed);
        });
        for prio in [4, 6] {
            zephyr_sim::spawn_thread("adder", prio, move || {
                for _ in 0..100 {
                    let mut guard = counter.lock().unwrap();
                    let v = *guard;
                    busy_wait(Duration::from_micros(150)); // a tick (and the ISR) falls due here
                    *guard = v + 1;
                    BY_THREADS.fetch_add(1, Relaxed);
                }
            });
        }
        sleep(Instant::from_ticks(1000));
        let total = *counter.lock().unwrap();
        total
    });
    let (by_isr, by_threads) = (BY_ISR.load(Relaxed), BY_THREADS.load(Relaxed));
    assert_eq!(by_threads, 200);
    assert!(by_isr > 100, "the ISR ran {by_isr} times");
    assert_eq!(total, by_isr + by_threads);
}

/// `try_lock` fails with `WouldBlock` while a guard lives (upstream's shape), and succeeds
/// once it is dropped; `into_inner` and `get_mut` need no lock.
#[test]
fn try_lock_fails_while_held() {
    let (r, _) = run(5, || {
        let m = SpinMutex::new(1);
        let guard = m.lock().unwrap();
        let busy = m.try_lock().err();
        drop(guard);
        *m.try_lock().unwrap() += 1;
        let mut m = m;
        *m.get_mut() += 1;
        (busy, m.into_inner())
    });
    assert_eq!(r, (Some(SpinTryLockError::WouldBlock), 3));
}

/// A second `lock` by the holder would spin forever on one CPU: it panics instead.
#[test]
fn locking_twice_panics() {
    let msg = run_panics(|| {
        let m = SpinMutex::new(0);
        let _a = m.lock().unwrap();
        let _b = m.lock().unwrap();
    });
    assert!(msg.contains("SpinMutex::lock: already locked"), "{msg}");
}

/// Blocking while holding the lock breaks its rule: a channel receive says so before it waits.
#[test]
#[cfg(not(feature = "no-kio"))]
fn a_channel_wait_while_holding_it_panics() {
    let msg = run_panics(|| {
        let m = SpinMutex::new(0);
        let (_tx, rx) = zephyr::sync::channel::unbounded::<u32>();
        let _g = m.lock().unwrap();
        let _ = rx.recv_timeout(Duration::from_ticks(5));
    });
    assert!(msg.contains("Receiver::recv: blocking while a SpinMutex is held"), "{msg}");
}

/// A thread that blocked while holding the lock is found out by the next context that locks
/// the mutex (on one CPU, waiting for it would never end).
#[test]
fn a_thread_that_blocked_holding_it_is_found_out() {
    let msg = run_panics(|| {
        let m: &'static SpinMutex<u32> = leak(SpinMutex::new(0));
        zephyr_sim::spawn_thread("holder", -1, move || {
            let _g = m.lock().unwrap();
            sleep(Duration::from_ticks(10)); // blocks with the mutex held
        });
        let _ = m.lock();
    });
    assert!(msg.contains("SpinMutex::lock: already locked"), "{msg}");
}
