//! Simulator speed, side by side with its baselines in one run, reported as ratios.
//!
//! Run: `cargo bench -p zephyr-benches --bench simulator`
//!
//! 1. Thread switch: a `k_sem` ping-pong between two simulated threads, against two OS
//!    threads ping-ponging over `Mutex` + `Condvar` (what a simulator built on OS threads pays
//!    per switch), and against a bare corosensei round trip (the floor).
//! 2. Virtual time: a thread sleeping 1 ms in a loop for one simulated hour.
//!
//! `simulator profile [ROUNDS]` runs only the ping-pong (for a profiler); `simulator ratio
//! [SAMPLES]` only the interleaved measurement of the round trip and its floor, printed as
//! `sim_ns floor_ns ratio` (to compare two builds run alternately).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use corosensei::Coroutine;
use zephyr_benches::{best_ns_per_op, report};
use zephyr_sim::Sim;
use zephyr_sys::*;

struct PingPong {
    ping: k_sem,
    pong: k_sem,
    thread: k_thread,
    rounds: u64,
}

unsafe extern "C-unwind" fn ponger(
    p: *mut core::ffi::c_void,
    _: *mut core::ffi::c_void,
    _: *mut core::ffi::c_void,
) {
    // SAFETY: `p` is the leaked PingPong of this simulation; its semaphores are initialised.
    unsafe {
        let pp = p as *mut PingPong;
        for _ in 0..(*pp).rounds {
            k_sem_take(&mut (*pp).ping, K_FOREVER);
            k_sem_give(&mut (*pp).pong);
        }
    }
}

/// One simulation doing `rounds` round trips (2 thread switches each, main -> ponger ->
/// main, each one stack switch straight to the other thread).
fn sim_ping_pong(rounds: u64) {
    let outcome = Sim::new()
        .run(move || {
            let pp = Box::leak(Box::new(PingPong {
                ping: k_sem::new(),
                pong: k_sem::new(),
                thread: k_thread::new(),
                rounds,
            }));
            // SAFETY: the objects are leaked and never move; kernel calls from main.
            unsafe {
                k_sem_init(&mut pp.ping, 0, 1);
                k_sem_init(&mut pp.pong, 0, 1);
                let arg = pp as *mut PingPong as *mut core::ffi::c_void;
                k_thread_create(
                    &mut pp.thread,
                    std::ptr::null_mut(),
                    0,
                    Some(ponger),
                    arg,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    0,
                    0,
                    K_NO_WAIT,
                );
                for _ in 0..rounds {
                    k_sem_give(&mut pp.ping);
                    k_sem_take(&mut pp.pong, K_FOREVER);
                }
            }
        })
        .expect("simulation");
    assert!(outcome.switches >= 2 * rounds);
}

/// Two OS threads doing `rounds` round trips over Mutex + Condvar.
fn os_ping_pong(rounds: u64) {
    let state = Arc::new((Mutex::new(false), Condvar::new()));
    let other = state.clone();
    let t = std::thread::spawn(move || {
        let (m, cv) = &*other;
        for _ in 0..rounds {
            let mut ball = m.lock().unwrap();
            while !*ball {
                ball = cv.wait(ball).unwrap();
            }
            *ball = false;
            cv.notify_one();
        }
    });
    let (m, cv) = &*state;
    for _ in 0..rounds {
        let mut ball = m.lock().unwrap();
        *ball = true;
        cv.notify_one();
        while *ball {
            ball = cv.wait(ball).unwrap();
        }
    }
    t.join().unwrap();
}

/// A bare coroutine resumed and suspended `rounds` times, twice per round: issue 13's floor
/// for a round trip, four one-way stack switches (a simulated round trip makes two).
fn coroutine_round_trips(rounds: u64) {
    let mut co = Coroutine::new(|y, ()| loop {
        y.suspend(());
    });
    for _ in 0..2 * rounds {
        co.resume(());
    }
    // SAFETY: the coroutine only holds a loop with no live objects to drop.
    unsafe { co.force_reset() };
}

/// The best time per operation of two measurements, sampled alternately `samples` times each
/// (`(iterations, f)` as in [`best_ns_per_op`]).
fn best_ns_per_op_interleaved(samples: usize, a: (u64, fn(u64)), b: (u64, fn(u64))) -> (f64, f64) {
    let (mut best_a, mut best_b) = (f64::MAX, f64::MAX);
    for _ in 0..samples {
        best_a = best_a.min(best_ns_per_op(1, a.0, a.1));
        best_b = best_b.min(best_ns_per_op(1, b.0, b.1));
    }
    (best_a, best_b)
}

/// The simulated round trip and its floor, in ns, sampled alternately `samples` times each
/// (short samples, best of each): on a loaded machine both see the same conditions.
fn round_trip_and_floor(samples: usize) -> (f64, f64) {
    best_ns_per_op_interleaved(
        samples,
        (200_000, sim_ping_pong as fn(u64)),
        (2_000_000, coroutine_round_trips as fn(u64)),
    )
}

fn main() {
    // `simulator profile [ROUNDS]`: only the ping-pong, for a profiler (`perf record -g`,
    // `valgrind --tool=callgrind`).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "profile") {
        let rounds = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(20_000_000);
        sim_ping_pong(rounds);
        return;
    }
    // `simulator ratio [SAMPLES]`: only the interleaved measurement of the round trip and its
    // floor, printed as `sim_ns floor_ns ratio` (to compare builds run alternately).
    if let Some(i) = args.iter().position(|a| a == "ratio") {
        let samples = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(15);
        let (sim, floor) = round_trip_and_floor(samples);
        println!("{sim:.2} {floor:.3} {:.3}", sim / floor);
        return;
    }
    println!("zephyr-sim benchmarks (best of several samples; lower is better)\n");

    let (sim, floor) = round_trip_and_floor(15);
    let os = best_ns_per_op(3, 50_000, os_ping_pong);
    report(
        "k_sem ping-pong round trip (two threads, two thread switches)",
        ("zephyr-sim: two simulated threads, k_sem", sim),
        ("baseline: two OS threads, Mutex + Condvar", os),
    );
    report(
        "the same round trip against its floor",
        ("floor: two bare corosensei round trips", floor),
        ("zephyr-sim: two simulated threads, k_sem", sim),
    );
    // Issue 13's metric, against the floor it named: two coroutine switch pairs per round trip
    // (when a thread switch went through the scheduler's stack, that was what a round trip
    // made at least; now it makes two one-way switches, half that).
    let ratio = sim / floor;
    println!(
        "k_sem round trip vs a bare coroutine switch pair: {ratio:.1}x (goal <= 10x: {})\n",
        if ratio <= 10.0 { "met" } else { "not met" }
    );

    let start = Instant::now();
    let outcome = Sim::new()
        .run(|| {
            // SAFETY: kernel calls from the simulated main thread.
            unsafe {
                while k_uptime_get() < 3_600_000 {
                    k_msleep(1);
                }
                k_uptime_get()
            }
        })
        .expect("simulation");
    let wall = start.elapsed();
    println!("one simulated hour of k_msleep(1) in a loop (3 272 728 sleeps)");
    println!(
        "  simulated {:.1} s in {:.3} s of wall time: {:.0}x real time\n",
        outcome.value.unwrap() as f64 / 1000.0,
        wall.as_secs_f64(),
        3600.0 / wall.as_secs_f64()
    );
}
