//! Dining philosophers, written against the upstream zephyr-lang-rust `zephyr` crate's API and
//! built here with no change to this source: threads from a `#[zephyr::thread]` pool, forks as
//! `kobj_define!` semaphores or owned by a server thread reached through `sync::channel`, rounds
//! chosen by the application's Kconfig (`#[cfg(CONFIG_...)]`), shared statistics in an
//! `Arc<SpinMutex<_>>`.
//!
//! On the simulator: `cargo run -p examples --bin upstream-philosophers`, or, as for any such
//! crate, `scripts/sim-run samples/upstream/philosophers`. On a board: `west build -b <board>
//! samples/upstream/philosophers -- -DZEPHYR_EXTRA_MODULES=<this repository>`.

#![no_std]
// Kconfig options are cfgs this crate cannot declare in advance.
#![allow(unexpected_cfgs)]

extern crate alloc;

use alloc::vec::Vec;

use zephyr::printkln;
use zephyr::sync::{Arc, SpinMutex};
use zephyr::sys::uptime_get;
use zephyr::time::{sleep, Duration, Tick};

mod forks;

use forks::Forks;

/// How many philosophers (and forks).
const NUM_PHIL: usize = 5;

/// How many times each philosopher eats in a round.
const MEALS: usize = 4;

/// Stack of each philosopher thread: formatting needs some.
const PHIL_STACK_SIZE: usize = 4096;

#[no_mangle]
extern "C" fn rust_main() {
    printkln!("Dining philosophers on {}", zephyr::kconfig::CONFIG_BOARD);
    printkln!("Time tick: {} Hz", zephyr::time::SYS_FREQUENCY);

    #[cfg(CONFIG_PHIL_SEMAPHORES)]
    dine("semaphores", forks::semaphores());

    #[cfg(CONFIG_PHIL_CHANNEL)]
    dine("channel", forks::channel());

    printkln!("All rounds done at {} ms", uptime_get());
}

/// One round: every philosopher eats `MEALS` times; returns when all have left the table.
fn dine(what: &str, forks: Arc<dyn Forks>) {
    printkln!("Round '{}' starts at {} ms", what, uptime_get());
    let stats = Arc::new(SpinMutex::new(Stats::new()));

    // The pool has NUM_PHIL threads: the second round reuses those the first one joined.
    let running: Vec<_> =
        (0..NUM_PHIL).map(|n| philosopher(n, forks.clone(), stats.clone()).start()).collect();
    for phil in running {
        phil.join();
    }

    stats.lock().unwrap().show(what);
}

#[zephyr::thread(stack_size = PHIL_STACK_SIZE, pool_size = NUM_PHIL)]
fn philosopher(n: usize, forks: Arc<dyn Forks>, stats: Arc<SpinMutex<Stats>>) {
    // The last philosopher takes the forks in the other order, so nobody waits in a circle.
    let (first, second) = if n == NUM_PHIL - 1 { (0, n) } else { (n, n + 1) };

    for _ in 0..MEALS {
        forks.take(first);
        forks.take(second);
        let eating = random_delay(n);
        sleep(eating);
        stats.lock().unwrap().record_eat(n, eating);

        forks.release(second);
        forks.release(first);
        let thinking = random_delay(n);
        sleep(thinking);
        stats.lock().unwrap().record_think(n, thinking);
    }
    printkln!("Philosopher {} leaves at {} ms", n, uptime_get());
}

/// A delay from the philosopher's number and the uptime: varied, and the same on every run of
/// the simulator.
fn random_delay(n: usize) -> Duration {
    let mixed = (uptime_get() as usize / 3).wrapping_mul(n + 7) & 0xf;
    Duration::millis_at_least(((mixed + 1) * 5) as Tick)
}

/// What each philosopher did in a round.
struct Stats {
    meals: [u32; NUM_PHIL],
    eating_ms: [u64; NUM_PHIL],
    thinking_ms: [u64; NUM_PHIL],
}

impl Stats {
    const fn new() -> Self {
        Stats { meals: [0; NUM_PHIL], eating_ms: [0; NUM_PHIL], thinking_ms: [0; NUM_PHIL] }
    }

    fn record_eat(&mut self, n: usize, time: Duration) {
        self.meals[n] += 1;
        self.eating_ms[n] += time.to_millis();
    }

    fn record_think(&mut self, n: usize, time: Duration) {
        self.thinking_ms[n] += time.to_millis();
    }

    fn show(&self, what: &str) {
        printkln!(
            "Round '{}' done at {} ms: meals {:?}, eating {:?} ms, thinking {:?} ms",
            what,
            uptime_get(),
            self.meals,
            self.eating_ms,
            self.thinking_ms
        );
    }
}
