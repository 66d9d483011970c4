//! `zephyr::time` on simulated boards: tick rounding at two board rates, sleep, busy-wait,
//! timeouts past the horizon. (Arithmetic and timeout encodings need no kernel: they are unit
//! tests in `src/time.rs`.)

mod common;

use common::*;
use zephyr::thread::{Thread, ThreadId, ThreadStack};
use zephyr::time::{
    busy_wait, sleep, ticks_per_sec, uptime_ticks, Duration, Forever, Instant, NoWait,
};
use zephyr_sys::K_TICKS;

/// At 100 Hz a tick is 10 ms: sub-tick times round up to a whole tick when building a
/// duration, and readings round down.
#[test]
fn duration_rounding_at_100_hz() {
    let (r, _) = run_hz(100, 0, || {
        (
            ticks_per_sec(),
            [
                Duration::from_millis(1).ticks(),
                Duration::from_millis(10).ticks(),
                Duration::from_millis(11).ticks(),
                Duration::from_micros(1).ticks(),
                Duration::from_nanos(1).ticks(),
                Duration::from_secs(2).ticks(),
                Duration::from_millis(0).ticks(),
                Duration::millis(25).ticks(),
            ],
            [
                Duration::from_ticks(1).to_millis(),
                Duration::from_ticks(3).to_micros(),
                Duration::from_ticks(250).to_secs(),
                Duration::from_millis(15).to_millis(),
                Duration::from_ticks(1).to_nanos(),
            ],
        )
    });
    assert_eq!(r, (100, [1, 1, 2, 1, 1, 200, 0, 3], [10, 30_000, 2, 20, 10_000_000]));
}

/// At 10 kHz a tick is 100 µs: 1 ms is 10 ticks.
#[test]
fn duration_rounding_at_10_khz() {
    let (r, _) = run_hz(10_000, 0, || {
        (
            ticks_per_sec(),
            [
                Duration::from_millis(1).ticks(),
                Duration::from_micros(1).ticks(),
                Duration::from_micros(150).ticks(),
                Duration::from_micros(200).ticks(),
                Duration::from_secs(1).ticks(),
                Duration::secs(3).ticks(),
                Duration::micros(99).ticks(),
            ],
            [
                Duration::from_ticks(15).to_millis(),
                Duration::from_ticks(15).to_micros(),
                Duration::from_ticks(19_999).to_secs(),
            ],
        )
    });
    assert_eq!(r, (10_000, [10, 1, 2, 2, 10_000, 30_000, 1], [1, 1_500, 1]));
}

/// A relative sleep of N ticks ends N + 1 ticks later (the kernel's rounding: the current tick
/// has partly passed); an absolute one ends exactly at its tick; `NoWait` only yields.
#[test]
fn sleep_relative_and_absolute() {
    let (r, _) = run(0, || {
        let t0 = Instant::now();
        let left = sleep(Duration::from_ticks(100));
        let t1 = Instant::now();
        sleep(Instant::from_ticks(250));
        let t2 = uptime_ticks();
        sleep(NoWait);
        let t3 = uptime_ticks();
        sleep(Instant::from_ticks(10)); // already past: wakes at the next tick
        let t4 = uptime_ticks();
        (t0.ticks(), left, (t1 - t0).ticks(), t2, t3, t4, t1.elapsed().ticks())
    });
    assert_eq!(r, (0, Duration::ZERO, 101, 250, 250, 251, 150));
}

static SLEEPER_WAKER: Thread = Thread::new();
static SLEEPER_WAKER_STACK: ThreadStack<1024> = ThreadStack::new();

/// `sleep` returns the time left when the sleeper is woken early: 1000 ticks asked, woken at
/// tick 300, so 700 ticks (70 ms) were left. A `Forever` sleep resumed returns zero.
#[test]
fn sleep_returns_time_left() {
    let (r, log) = run(5, || {
        let main = ThreadId::current();
        SLEEPER_WAKER
            .spawn(&SLEEPER_WAKER_STACK, 4, move || {
                sleep(Instant::from_ticks(300));
                log!("waking main");
                main.wakeup();
                sleep(Instant::from_ticks(400));
                log!("resuming main");
                main.resume();
            })
            .unwrap();
        let left = sleep(Duration::from_millis(100));
        log!("main woke");
        let forever = sleep(Forever);
        log!("main resumed");
        (left, forever)
    });
    assert_eq!(r, (Duration::from_ticks(700), Duration::ZERO));
    assert_eq!(
        log,
        ["T=300 waking main", "T=300 main woke", "T=400 resuming main", "T=400 main resumed"]
    );
}

/// `busy_wait` spins in virtual time: 5 ticks at 10 kHz is 500 µs.
#[test]
fn busy_wait_advances_time() {
    let (r, _) = run(0, || {
        let t0 = uptime_ticks();
        busy_wait(Duration::from_ticks(5));
        let t1 = uptime_ticks();
        zephyr::time::busy_wait_us(1_000);
        (t0, t1, uptime_ticks())
    });
    assert_eq!(r, (0, 5, 15));
}

/// Blocking calls from an interrupt handler are refused with a panic naming the call.
#[test]
fn sleep_in_isr_panics() {
    let msg = run_panics(|| {
        zephyr_sim::irq::raise_after_us(10, || {
            sleep(Duration::from_ticks(1));
        });
        sleep(Duration::from_ticks(10));
    });
    assert!(msg.contains("sleep: blocking call from an interrupt handler"), "{msg}");
}

/// Timeouts at the extremes mean "never", not an overflow or a hang: a `Duration::MAX` take, a
/// sleep until tick 2^62, a `k_timer` and a raw sleep of `i64::MAX` ticks all simply wait
/// while the rest of the program runs and ends.
#[test]
fn timeouts_past_the_horizon_wait_forever_without_overflow() {
    use zephyr::sys::sync::Semaphore;
    static NEVER: Semaphore = Semaphore::new(0, 1);
    let outcome = zephyr_sim::Sim::new()
        .run(|| {
            zephyr_sim::spawn_thread("take", 3, || {
                let _ = NEVER.take(Duration::MAX);
                panic!("a Duration::MAX take returned");
            });
            zephyr_sim::spawn_thread("sleep", 3, || {
                zephyr::time::sleep(Instant::from_ticks(1 << 62));
                panic!("a sleep until tick 2^62 returned");
            });
            zephyr_sim::spawn_thread("raw", 3, || {
                // SAFETY: a raw sleep on a simulated thread.
                unsafe { zephyr_sys::k_sleep(K_TICKS(i64::MAX)) };
                panic!("a sleep of i64::MAX ticks returned");
            });
            let timer: *mut zephyr_sys::k_timer = Box::leak(Box::new(zephyr_sys::k_timer::new()));
            // SAFETY: a leaked timer, initialised before use, never moved.
            unsafe {
                zephyr_sys::k_timer_init(timer, None, None);
                zephyr_sys::k_timer_start(timer, K_TICKS(i64::MAX), K_TICKS(i64::MAX));
                zephyr_sys::k_msleep(50);
                assert_eq!(zephyr_sys::k_timer_status_get(timer), 0, "the timer expired");
            }
            7
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    assert_eq!(outcome.value, Some(7));
}
