//! The measured workload, shared by the baselines and the workspace benchmark's copy of it:
//! two tasks ping-pong a counter through two embassy-sync `Channel`s of capacity 1.
//!
//! Two variants: with `NoopRawMutex` channels (both tasks share one executor, so no lock is
//! needed: this measures the executor), and with `CriticalSectionRawMutex` channels (adds the
//! platform's critical sections: a global std mutex here, `irq_lock` on Zephyr).

use std::future::Future;
use std::time::{Duration, Instant};

use embassy_executor::raw::TaskStorage;
use embassy_executor::Spawner;

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex, RawMutex};
use embassy_sync::channel::Channel;

/// The pinging side: sends `rounds` values and waits for each reply.
pub async fn ping<M: RawMutex>(to: &Channel<M, u32, 1>, from: &Channel<M, u32, 1>, rounds: u32) {
    for i in 0..rounds {
        to.send(i).await;
        let r = from.receive().await;
        debug_assert_eq!(r, i + 1);
    }
}

/// The ponging side: answers forever.
pub async fn pong<M: RawMutex>(from: &Channel<M, u32, 1>, to: &Channel<M, u32, 1>) {
    loop {
        let v = from.receive().await;
        to.send(v + 1).await;
    }
}

/// A pair of channels, leaked.
pub fn channels<M: RawMutex + 'static>() -> &'static (Channel<M, u32, 1>, Channel<M, u32, 1>) {
    Box::leak(Box::new((Channel::new(), Channel::new())))
}

/// Lock-free channels (one executor).
pub type Noop = NoopRawMutex;
/// Channels locked with the platform's critical section.
pub type Cs = CriticalSectionRawMutex;

/// Round trips per sample and samples per run; override with the first two arguments.
pub fn parameters() -> (u32, usize) {
    let mut args = std::env::args().skip(1);
    let rounds = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let samples = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    (rounds, samples)
}

/// Prints the best time per round trip in the format the workspace benchmark parses:
/// `<variant> ns_per_round_trip=<f64>`.
pub fn report(variant: &str, rounds: u32, best: Duration) {
    println!("{variant} ns_per_round_trip={:.2}", best.as_nanos() as f64 / rounds as f64);
}

/// Times `f` and keeps the best sample.
pub fn best_of(samples: usize, mut f: impl FnMut()) -> Duration {
    (0..samples)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Spawns `f` as a task in its own leaked task storage.
pub fn spawn<F: Future<Output = ()> + 'static>(s: &Spawner, f: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    s.spawn(storage.spawn(|| f).unwrap());
}
