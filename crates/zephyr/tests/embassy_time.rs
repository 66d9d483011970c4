//! The `embassy-time` driver on one `k_timer`: exact ticks, no drift, timeouts, many timers.
//! Board: 10 kHz (embassy-time `tick-hz-10_000`), so embassy ticks are kernel ticks.

mod embassy_common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use embassy_common::*;
use embassy_time::{with_timeout, Duration, Instant, Ticker, Timer};

/// `Timer::after` wakes exactly at its deadline tick: the driver arms the `k_timer` with an
/// absolute timeout (kernel/timeout.c, `K_TIMEOUT_ABS_TICKS`), never a tick early or late.
#[test]
fn timer_after_wakes_at_the_exact_tick() {
    let woke = run(5, || {
        run_task(async {
            let mut woke = Vec::new();
            for wait in [1u64, 7, 100, 12_345] {
                let t0 = ticks();
                Timer::after_ticks(wait).await;
                woke.push((wait, ticks() - t0, Instant::now().as_ticks()));
            }
            woke
        })
    });
    assert_eq!(
        woke,
        [(1, 1, 1), (7, 7, 8), (100, 100, 108), (12_345, 12_345, 12_453)],
        "(requested ticks, elapsed kernel ticks, embassy now)"
    );
}

/// `Ticker` keeps an absolute schedule: over 100 000 periods of 3 ticks each tick is on time
/// and nothing drifts.
#[test]
fn ticker_has_no_drift_over_100000_periods() {
    let late = run(5, || {
        run_task(async {
            let start = ticks();
            let mut ticker = Ticker::every(Duration::from_ticks(3));
            let mut off = 0u64;
            for n in 1..=100_000i64 {
                ticker.next().await;
                if ticks() != start + 3 * n {
                    off += 1;
                }
            }
            (off, ticks() - start)
        })
    });
    assert_eq!(late, (0, 300_000), "(periods off schedule, total ticks)");
}

/// `with_timeout` both ways: the inner future wins before the deadline, or the timeout wins
/// exactly at it.
#[test]
fn with_timeout_both_ways() {
    let r = run(5, || {
        let out = Rc::new(RefCell::new(Vec::new()));
        let o = out.clone();
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        executor().run_until(
            |s| {
                spawn(&s, async move {
                    let t0 = ticks();
                    let fast =
                        with_timeout(Duration::from_millis(10), Timer::after_millis(5)).await;
                    o.borrow_mut().push((fast.is_ok(), ticks() - t0));
                    let t1 = ticks();
                    let slow =
                        with_timeout(Duration::from_millis(5), Timer::after_millis(10)).await;
                    o.borrow_mut().push((slow.is_ok(), ticks() - t1));
                    d.set(true);
                })
            },
            || done.get(),
        );
        out.take()
    });
    assert_eq!(r, [(true, 50), (false, 50)]);
}

/// 1 000 timers with pseudo-random deadlines (a fixed xorshift seed) each fire at their own
/// tick, and the tasks run in deadline order.
#[test]
fn a_thousand_timers_fire_at_their_ticks_in_order() {
    let fired = run(5, || {
        let fired = Rc::new(RefCell::new(Vec::new()));
        let remaining = Rc::new(Cell::new(1000));
        let r = remaining.clone();
        executor().run_until(
            |s| {
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
                for i in 0..1000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let deadline = 1 + x % 50_000;
                    let f = fired.clone();
                    let r = r.clone();
                    spawn(&s, async move {
                        Timer::at(Instant::from_ticks(deadline)).await;
                        f.borrow_mut().push((deadline, ticks() as u64, i));
                        r.set(r.get() - 1);
                    });
                }
            },
            || remaining.get() == 0,
        );
        fired.take()
    });
    assert_eq!(fired.len(), 1000);
    for &(deadline, at, i) in &fired {
        assert_eq!(deadline, at, "timer {i} fired at tick {at}, deadline {deadline}");
    }
    assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0), "tasks ran in deadline order");
}

/// An empty queue stops the `k_timer` (kernel/timer.c: a stopped timer has no pending
/// expiry): after the last timer, nothing is armed and the board idles with nothing pending.
#[test]
fn an_empty_queue_leaves_no_timer_running() {
    // If a timer stayed armed after the last deadline, virtual time would jump to it and the
    // executor would run again; instead the board deadlocks at the last deadline (tick 30),
    // which the simulator reports.
    let err = zephyr_sim::Sim::new()
        .run(|| {
            executor().run(|s| {
                spawn(&s, async {
                    Timer::after_ticks(10).await;
                    Timer::after_ticks(20).await;
                })
            })
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("deadlock at tick 30:"), "{text}");
}

/// A board booted at a tick rate embassy-time was not built for is reported at the driver's
/// first use (without the `time-driver-convert` feature), naming both rates.
#[cfg(not(feature = "time-driver-convert"))]
#[test]
fn a_board_at_another_tick_rate_is_reported() {
    let err = zephyr_sim::Sim::new()
        .ticks_per_sec(100)
        .run(|| {
            let _ = Instant::now();
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the kernel ticks at 100 Hz but embassy-time at 10000 Hz"), "{text}");
}

/// With `time-driver-convert`, a 100 Hz board runs embassy-time at 10 kHz: `now()` converts
/// down, deadlines convert up, so a timer never wakes early: 15 ms (150 embassy ticks) is 1.5
/// kernel ticks, armed for the 2nd kernel tick after the start.
#[cfg(feature = "time-driver-convert")]
#[test]
fn a_100_hz_board_converts_and_never_wakes_early() {
    let (t0, t1, now) = zephyr_sim::Sim::new()
        .ticks_per_sec(100)
        .run(|| {
            run_task(async {
                let t0 = ticks();
                Timer::after_millis(15).await;
                (t0, ticks(), Instant::now().as_ticks())
            })
        })
        .unwrap()
        .value
        .unwrap();
    assert_eq!((t0, t1), (0, 2), "kernel ticks");
    assert_eq!(now, 200, "embassy ticks: 20 ms, not earlier than 15 ms");
}

/// A deadline past what a kernel timeout can hold (`Instant::from_ticks(1 << 63)`,
/// `Instant::MAX` minus one tick) means never: the driver's `k_timer` stays stopped instead of
/// expiring every tick (the cast to `k_ticks_t` went negative and `K_TIMEOUT_ABS_TICKS` clamped
/// it to tick 0), and the task simply never wakes.
#[test]
fn deadlines_past_the_horizon_never_expire() {
    for at in [1u64 << 63, u64::MAX - 1] {
        let outcome = zephyr_sim::Sim::new()
            .trace(true)
            .run(move || {
                thread("tasks", 2, move || {
                    executor().run(|s| {
                        spawn(&s, async move {
                            Timer::at(Instant::from_ticks(at)).await;
                            panic!("a timer past the horizon expired");
                        })
                    })
                });
                // SAFETY: a plain sleep on the main thread.
                unsafe { zephyr_sys::k_msleep(100) };
            })
            .unwrap_or_else(|e| panic!("simulation failed: {e}"));
        let expiries = outcome
            .trace
            .iter()
            .filter(|r| matches!(r.event, zephyr_sim::TraceEvent::TimerExpiry { .. }))
            .count();
        assert_eq!(expiries, 0, "timer expiries in 100 ms with only a deadline at tick {at}");
    }
}
