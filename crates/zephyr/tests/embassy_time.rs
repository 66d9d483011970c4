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

/// xorshift64: deterministic random durations.
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// 200 tasks loop on `Timer::after` and `Timer::at` with random deadlines (1..500 ticks ahead,
/// some already past), 40 timers each. With the executor's thread the most urgent, every wake
/// is at exactly its deadline tick (never early, never late; a past deadline does not wait).
/// The driver's `k_timer` expires exactly at the distinct deadline ticks, once each and never
/// otherwise: it is re-armed only for the earliest deadline, and once the last timer has fired
/// it is stopped (no expiry in the 5 s that main then sleeps).
#[test]
fn many_looping_timers_wake_at_their_exact_ticks_and_the_timer_stops_after() {
    const TASKS: u64 = 200;
    const ROUNDS: u64 = 40;
    let deadlines: Rc<RefCell<Vec<u64>>> = Rc::default();
    let misses: Rc<RefCell<Vec<(u64, u64, i64)>>> = Rc::default();
    let (d, m) = (deadlines.clone(), misses.clone());
    let outcome = zephyr_sim::Sim::new()
        .trace(true)
        .run(move || {
            let (d2, m2) = (d.clone(), m.clone());
            thread("tasks", 2, move || {
                executor().run(|s| {
                    for task in 0..TASKS {
                        let (deadlines, misses) = (d2.clone(), m2.clone());
                        spawn(&s, async move {
                            let mut x = 0x9E37_79B9_7F4A_7C15 ^ (task + 1).wrapping_mul(0x2545);
                            for _ in 0..ROUNDS {
                                let now = Instant::now().as_ticks();
                                let r = xorshift(&mut x);
                                let deadline = if r.is_multiple_of(4) {
                                    // Timer::at, sometimes a deadline already past.
                                    let at = (now + 1 + r % 500).saturating_sub(r % 3 * 100);
                                    Timer::at(Instant::from_ticks(at)).await;
                                    at
                                } else {
                                    let wait = 1 + r % 499;
                                    Timer::after_ticks(wait).await;
                                    now + wait
                                };
                                if deadline > now {
                                    deadlines.borrow_mut().push(deadline);
                                }
                                let expected = deadline.max(now);
                                if ticks() as u64 != expected {
                                    misses.borrow_mut().push((task, expected, ticks()));
                                }
                            }
                        });
                    }
                })
            });
            // SAFETY: a plain sleep on the main thread, well past the last deadline.
            unsafe { zephyr_sys::k_msleep(5_000) };
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    assert_eq!(*misses.borrow(), [], "(task, deadline, woke at tick)");
    let mut expected: Vec<u64> = deadlines.borrow().clone();
    assert_eq!(expected.len() as u64, 7_601, "timers that waited (of 8 000)");
    expected.sort_unstable();
    expected.dedup();
    let expiries: Vec<(u32, u64)> = outcome
        .trace
        .iter()
        .filter_map(|r| match r.event {
            zephyr_sim::TraceEvent::TimerExpiry { timer } => Some((timer, r.tick as u64)),
            _ => None,
        })
        .collect();
    assert!(expiries.iter().all(|&(timer, _)| timer == expiries[0].0), "one k_timer");
    let expiry_ticks: Vec<u64> = expiries.iter().map(|&(_, tick)| tick).collect();
    assert_eq!(expiry_ticks, expected, "k_timer expiries: exactly the distinct deadline ticks");
    assert!(*expected.last().unwrap() < 50_000, "the last deadline is well before main wakes");
}

/// A timer dropped before its deadline (the other future of a `select` won) costs its task at
/// most one spurious wake: the task's next timer, later than the dropped one, is polled at the
/// dropped deadline (tick 100: not yet expired, it registers again) and then at its own (220).
/// An earlier next timer replaces the dropped deadline: no spurious wake at all.
#[test]
fn a_dropped_timer_costs_at_most_one_spurious_wake() {
    use embassy_futures::select::{select, Either};
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;
    use embassy_sync::signal::Signal;

    /// Records the tick of every poll of `future`.
    async fn polled_at<F: core::future::Future>(polls: &RefCell<Vec<i64>>, future: F) {
        let mut future = core::pin::pin!(future);
        core::future::poll_fn(|cx| {
            polls.borrow_mut().push(ticks());
            future.as_mut().poll(cx)
        })
        .await;
    }

    let (later, earlier) = run(5, || {
        let signal: &'static Signal<NoopRawMutex, ()> = Box::leak(Box::new(Signal::new()));
        let polls: &'static RefCell<Vec<Vec<i64>>> = Box::leak(Box::default());
        let done = Rc::new(Cell::new(0));
        let d = done.clone();
        executor().run_until(
            |s| {
                spawn(&s, async move {
                    for at in [20, 240] {
                        Timer::at(Instant::from_ticks(at)).await;
                        signal.signal(());
                    }
                });
                spawn(&s, async move {
                    // The timer at tick 100 loses to the signal at tick 20, then is dropped.
                    let won = select(Timer::at(Instant::from_ticks(100)), signal.wait()).await;
                    assert!(matches!(won, Either::Second(())), "the signal wins at tick 20");
                    let p = RefCell::default();
                    polled_at(&p, Timer::at(Instant::from_ticks(220))).await;
                    polls.borrow_mut().push(p.take());
                    // At 220: a timer at 1000 dropped at 240, then one at 300 (earlier).
                    let won = select(Timer::at(Instant::from_ticks(1_000)), signal.wait()).await;
                    assert!(matches!(won, Either::Second(())), "the signal wins at tick 240");
                    let p = RefCell::default();
                    polled_at(&p, Timer::at(Instant::from_ticks(300))).await;
                    polls.borrow_mut().push(p.take());
                    d.set(1);
                });
            },
            || done.get() == 1,
        );
        let mut polls = polls.take();
        let earlier = polls.pop().unwrap();
        (polls.pop().unwrap(), earlier)
    });
    assert_eq!(later, [20, 100, 220], "polls of the later timer: one spurious, at 100");
    assert_eq!(earlier, [240, 300], "polls of the earlier timer: no spurious wake");
}
