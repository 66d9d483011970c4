//! `executor-zephyr` speed, side by side with its baselines in one run, reported as ratios.
//!
//! Run: `cargo bench -p zephyr-benches --bench executor`
//!
//! 1. Async ping-pong round trip: two tasks, two embassy-sync `Channel`s of capacity 1, on
//!    `zephyr::embassy::Executor` (on the simulated kernel), against embassy-executor's own
//!    `platform-std` executor, tokio's current-thread runtime, and the floor: embassy's raw
//!    executor with a flag-only pender. The baselines cannot be linked with `executor-zephyr`
//!    (same `__pender` symbol), so this builds them from `benches/baseline` and runs them.
//!    Two variants: lock-free channels (`NoopRawMutex`: the executor alone) and
//!    critical-section channels (`CriticalSectionRawMutex`: plus each platform's locking).
//! 2. Cross-thread wake round trip: a simulated thread wakes a task (Signal), the task wakes
//!    the thread (`k_sem_give`), against two simulated threads ping-ponging over `k_sem`.
//! 3. The async round trip against the thread round trip, both on the simulator.
//! 4. kio: the same ping-pong (critical-section channels) with two kio tasks on one work
//!    queue, against `executor-zephyr`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::process::Command;
use std::rc::Rc;

use embassy_executor::raw::TaskStorage;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex, RawMutex};
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use zephyr::embassy::Executor;
use zephyr_benches::{best_ns_per_op, report};
use zephyr_sim::Sim;
use zephyr_sys::*;

const ROUNDS: u32 = 1_000_000;
const SAMPLES: usize = 5;

fn spawn<F: Future<Output = ()> + 'static>(s: &Spawner, f: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    s.spawn(storage.spawn(|| f).expect("fresh storage"));
}

/// Two tasks ping-pong `rounds` times on one `executor-zephyr` executor (the main thread).
fn zephyr_ping_pong<M: RawMutex + 'static>(rounds: u64) {
    Sim::new()
        .run(move || {
            let chans: &'static (Channel<M, u32, 1>, Channel<M, u32, 1>) =
                Box::leak(Box::new((Channel::new(), Channel::new())));
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
            executor.run_until(
                |s| {
                    spawn(&s, async move {
                        loop {
                            let v = chans.0.receive().await;
                            chans.1.send(v + 1).await;
                        }
                    });
                    spawn(&s, async move {
                        for i in 0..rounds as u32 {
                            chans.0.send(i).await;
                            let r = chans.1.receive().await;
                            debug_assert_eq!(r, i + 1);
                        }
                        d.set(true);
                    });
                },
                || done.get(),
            );
        })
        .expect("simulation");
}

fn start_thread(prio: i32, f: impl FnOnce() + 'static) {
    zephyr_sim::spawn_thread("bench", prio, f);
}

/// A simulated thread (main) and a task on a more urgent executor thread ping-pong: thread ->
/// task through a `Signal` (the pender gives the parked executor's semaphore), task -> thread
/// through `k_sem_give`.
fn cross_thread_round_trips(rounds: u64) {
    Sim::new()
        .main_priority(6)
        .run(move || {
            let request: &'static Signal<CriticalSectionRawMutex, u32> =
                Box::leak(Box::new(Signal::new()));
            let reply: &'static mut k_sem = Box::leak(Box::new(k_sem::new()));
            // SAFETY: the semaphore is leaked.
            unsafe { k_sem_init(reply, 0, 1) };
            let reply = reply as *mut k_sem as usize;
            start_thread(4, move || {
                let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
                executor.run(|s| {
                    spawn(&s, async move {
                        loop {
                            request.wait().await;
                            // SAFETY: the leaked semaphore.
                            unsafe { k_sem_give(reply as *mut k_sem) };
                        }
                    })
                })
            });
            for i in 0..rounds as u32 {
                request.signal(i);
                // SAFETY: the leaked semaphore.
                unsafe { k_sem_take(reply as *mut k_sem, K_FOREVER) };
            }
        })
        .expect("simulation");
}

struct Pair {
    ping: k_sem,
    pong: k_sem,
}

/// Two simulated threads ping-pong over two semaphores.
fn thread_round_trips(rounds: u64) {
    Sim::new()
        .run(move || {
            let pair: &'static mut Pair =
                Box::leak(Box::new(Pair { ping: k_sem::new(), pong: k_sem::new() }));
            // SAFETY: leaked objects; kernel calls from simulated threads.
            unsafe {
                k_sem_init(&mut pair.ping, 0, 1);
                k_sem_init(&mut pair.pong, 0, 1);
            }
            let p = pair as *mut Pair as usize;
            start_thread(0, move || {
                let pair = p as *mut Pair;
                for _ in 0..rounds {
                    // SAFETY: as above.
                    unsafe {
                        k_sem_take(&mut (*pair).ping, K_FOREVER);
                        k_sem_give(&mut (*pair).pong);
                    }
                }
            });
            let pair = p as *mut Pair;
            for _ in 0..rounds {
                // SAFETY: as above.
                unsafe {
                    k_sem_give(&mut (*pair).ping);
                    k_sem_take(&mut (*pair).pong, K_FOREVER);
                }
            }
        })
        .expect("simulation");
}

/// Builds and runs the baselines of `benches/baseline`; returns ns per round trip by variant.
fn baselines() -> BTreeMap<String, f64> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/baseline");
    // Its own target directory, named explicitly so the binaries are found wherever cargo puts
    // targets (under CARGO_TARGET_DIR when that is set).
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => std::path::PathBuf::from(d).join("baseline"),
        None => std::path::PathBuf::from(dir).join("target"),
    };
    let mut results = BTreeMap::new();
    for (feature, bin) in
        [("std-executor", "embassy-std"), ("raw", "raw-flag"), ("tokio", "tokio-current-thread")]
    {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "--features", feature, "--bin", bin])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(dir)
            .status()
            .expect("cargo");
        assert!(status.success(), "building baseline {bin}");
        let out = Command::new(target_dir.join("release").join(bin))
            .args([ROUNDS.to_string(), SAMPLES.to_string()])
            .output()
            .expect("baseline runs");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((variant, ns)) = line.split_once(" ns_per_round_trip=") {
                results.insert(variant.to_string(), ns.parse().expect("number"));
            }
        }
    }
    results
}

/// Two kio tasks ping-pong `rounds` times on one work queue (main joins).
fn kio_ping_pong(rounds: u64) {
    Sim::new()
        .run(move || {
            type Chan = Channel<CriticalSectionRawMutex, u32, 1>;
            let chans: &'static (Chan, Chan) =
                Box::leak(Box::new((Channel::new(), Channel::new())));
            let stack: &'static zephyr::thread::ThreadStack<4096> =
                Box::leak(Box::new(zephyr::thread::ThreadStack::new()));
            let q = zephyr::work::WorkQueueBuilder::new()
                .set_priority(2)
                .set_name(c"kio")
                .start(stack.init_once(()).expect("stack"));
            let _ponger = zephyr::kio::spawn(
                async move {
                    loop {
                        let v = chans.0.receive().await;
                        chans.1.send(v + 1).await;
                    }
                },
                &q,
                c"ponger",
            );
            zephyr::kio::spawn(
                async move {
                    for i in 0..rounds as u32 {
                        chans.0.send(i).await;
                        let r = chans.1.receive().await;
                        debug_assert_eq!(r, i + 1);
                    }
                },
                &q,
                c"pinger",
            )
            .join();
        })
        .expect("simulation");
}

fn main() {
    println!("executor-zephyr benchmarks (best of {SAMPLES} samples; lower is better)\n");
    let base = baselines();
    let ours_noop = best_ns_per_op(SAMPLES, ROUNDS as u64, zephyr_ping_pong::<NoopRawMutex>);
    let ours_cs =
        best_ns_per_op(SAMPLES, ROUNDS as u64, zephyr_ping_pong::<CriticalSectionRawMutex>);
    for (variant, ours) in [("noop", ours_noop), ("cs", ours_cs)] {
        let what = format!(
            "async ping-pong round trip, Channel<{}, u32, 1>",
            if variant == "noop" { "NoopRawMutex" } else { "CriticalSectionRawMutex" }
        );
        let subject = ("executor-zephyr (simulated Zephyr thread)", ours);
        for (name, key) in [
            ("baseline: embassy platform-std executor", "embassy-std"),
            ("baseline: tokio current-thread", "tokio"),
            ("floor: embassy raw executor, flag pender", "raw-flag"),
        ] {
            report(&what, subject, (name, base[&format!("{key}/{variant}")]));
        }
    }

    let cross = best_ns_per_op(SAMPLES, 200_000, cross_thread_round_trips);
    let threads = best_ns_per_op(SAMPLES, ROUNDS as u64, thread_round_trips);
    report(
        "cross-thread wake round trip (thread -> task -> thread) against a thread round trip",
        ("thread <-> task (Signal, then k_sem_give)", cross),
        ("thread <-> thread (k_sem both ways)", threads),
    );
    let kio = best_ns_per_op(SAMPLES, ROUNDS as u64, kio_ping_pong);
    report(
        "async ping-pong round trip, Channel<CriticalSectionRawMutex, u32, 1>: kio",
        ("executor-zephyr (simulated Zephyr thread)", ours_cs),
        ("kio (two tasks on one simulated work queue)", kio),
    );
    report(
        "async round trip against thread round trip, both on the simulator",
        ("task <-> task (executor-zephyr, NoopRawMutex)", ours_noop),
        ("thread <-> thread (k_sem both ways)", threads),
    );
}
