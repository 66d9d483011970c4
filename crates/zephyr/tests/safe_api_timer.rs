//! `zephyr::timer`: the stopped/running typestate on static timers, waiting, counting,
//! stopping, drop-stops, callbacks in ISR context. Board: 10 kHz. Each test has its own
//! statics.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::*;
use zephyr::sys::sync::Semaphore;
use zephyr::time::{sleep, uptime_ticks, Duration, Forever, Instant, NoWait};
use zephyr::timer::StaticTimer;

static PERIODIC: StaticTimer = StaticTimer::new();

/// A periodic timer: the first expiry after the delay, then every period; `wait` blocks for
/// the next one, `read_count` counts the ones since the last read; `stop` gives back the stopped
/// handle, which starts again.
#[test]
fn typestate_start_wait_stop() {
    let (r, log) = run(0, || {
        let timer = PERIODIC.take().expect("free");
        let second = PERIODIC.take().is_none();
        let running = timer.start_simple(Duration::from_ticks(100), Duration::from_ticks(50));
        let n = running.wait();
        log!("first wait: {n}, {} ticks to the next", running.remaining().ticks());
        sleep(Instant::from_ticks(260));
        log!("count: {}, then {}", running.read_count(), running.read_count());
        let stopped = running.stop();
        sleep(Instant::from_ticks(400));
        let running = stopped.start_simple(Duration::from_ticks(10), NoWait);
        let n = running.read_count_wait();
        log!("restarted one-shot: {n}");
        second
    });
    assert!(r);
    assert_eq!(
        log,
        [
            "T=100 first wait: 1, 50 ticks to the next",
            "T=260 count: 3, then 0",
            "T=410 restarted one-shot: 1",
        ]
    );
}

static ONE_SHOT: StaticTimer = StaticTimer::new();

/// A one-shot timer, including at an absolute instant: after its expiry was read, `wait`
/// returns 0 at once (the timer is stopped) and nothing remains.
#[test]
fn one_shot_and_absolute_delay() {
    let (r, _) = run(0, || {
        let running = ONE_SHOT.take().unwrap().start_simple(Instant::from_ticks(500), NoWait);
        let first = (running.wait(), uptime_ticks());
        let second = (running.wait(), uptime_ticks(), running.remaining());
        let mut running = running;
        running.restart(Duration::from_ticks(30), Forever);
        let restarted = (running.wait(), uptime_ticks());
        (first, second, restarted)
    });
    assert_eq!(r, ((1, 500), (0, 500, Duration::ZERO), (1, 530)));
}

static DROPPED_TIMER: StaticTimer = StaticTimer::new();
static DROPPED_TIMER_FIRES: AtomicU32 = AtomicU32::new(0);

fn count_fire() {
    DROPPED_TIMER_FIRES.fetch_add(1, Ordering::Relaxed);
}

/// Dropping a running timer stops it (no expiry outlives its handle) and gives the handle back.
#[test]
fn dropping_a_running_timer_stops_it() {
    let (r, _) = run(0, || {
        let running = DROPPED_TIMER.take().unwrap().start_fn(
            count_fire,
            Duration::from_ticks(10),
            Duration::from_ticks(10),
        );
        let taken_while_running = DROPPED_TIMER.take().is_none();
        sleep(Instant::from_ticks(35));
        let before = DROPPED_TIMER_FIRES.load(Ordering::Relaxed);
        drop(running);
        sleep(Instant::from_ticks(200));
        let after = DROPPED_TIMER_FIRES.load(Ordering::Relaxed);
        let handle_back = DROPPED_TIMER.take();
        let back = handle_back.is_some();
        drop(handle_back);
        (taken_while_running, before, after, back, DROPPED_TIMER.take().is_some())
    });
    assert_eq!(r, (true, 3, 3, true, true));
}

static CALLBACK_TIMER: StaticTimer = StaticTimer::new();
static CALLBACK_SEM: Semaphore = Semaphore::new(0, 10);
static CALLBACK_IN_ISR: AtomicBool = AtomicBool::new(false);

fn on_expiry() {
    CALLBACK_IN_ISR.store(zephyr::thread::is_in_isr(), Ordering::Relaxed);
    CALLBACK_SEM.give();
}

/// A callback runs in interrupt context at each expiry; it can give a semaphore a thread
/// waits on. Restarting with `start_simple` drops the callback.
#[test]
fn callback_runs_in_isr_context() {
    let (r, log) = run(0, || {
        let running = CALLBACK_TIMER.take().unwrap().start_fn(
            on_expiry,
            Duration::from_ticks(20),
            Duration::from_ticks(20),
        );
        for _ in 0..3 {
            CALLBACK_SEM.take(Forever).unwrap();
            log!("callback gave");
        }
        let simple = running.stop().start_simple(Duration::from_ticks(5), NoWait);
        simple.wait();
        let given_after = CALLBACK_SEM.count();
        (CALLBACK_IN_ISR.load(Ordering::Relaxed), given_after)
    });
    assert_eq!(r, (true, 0));
    assert_eq!(log, ["T=20 callback gave", "T=40 callback gave", "T=60 callback gave"]);
}

/// `wait` blocks, so it is refused in an interrupt handler.
#[test]
fn wait_in_isr_panics() {
    static ISR_TIMER: StaticTimer = StaticTimer::new();
    let msg = run_panics(|| {
        let running = ISR_TIMER.take().unwrap().start_simple(Duration::from_ticks(100), NoWait);
        let running: &'static _ = Box::leak(Box::new(running));
        zephyr_sim::irq::raise_after_us(100, move || {
            running.wait();
        });
        sleep(Duration::from_ticks(10));
    });
    assert!(msg.contains("RunningTimer::wait: blocking call from an interrupt handler"), "{msg}");
}
