//! Where the CPU goes: the same Embassy workload under an executor that parks its thread when
//! its tasks wait, and under one that polls without ever parking; CPU accounting
//! ([`zephyr_sim::cpu`]) puts numbers on the difference.
//!
//! The workload: a task wakes every 10 ms (an embassy-time `Timer`) and works for 100 us
//! (`k_busy_wait`, the only way code takes virtual time without a cost model), for 100 ms.
//!
//! 1. **`executor-zephyr`** (`zephyr::embassy::Executor`): between rounds the executor's thread
//!    blocks on its semaphore, so the idle thread has the CPU 99% of the time: on an MCU, the
//!    time the kernel can spend in a low-power state.
//! 2. **Busy polling**: the same executor with one more task that yields forever, so that every
//!    poll pends the executor again and it never parks, as embassy's `executor-thread` does on
//!    a platform without a wait-for-event instruction. Each turn of the loop costs 5 us
//!    (`k_busy_wait(5)`, standing in for the instructions of a poll). Idle gets nothing: the
//!    executor's thread burns every cycle the workload leaves.
//!
//! Run: `cargo run -p examples --bin cpu-demo`; `tests/demos.rs` holds its output, numbers
//! included, to `tests/golden/cpu-demo.txt`.

use embassy_time::Timer;
use zephyr::embassy::Executor;

/// How long each scenario runs.
const RUN_MS: u64 = 100;

#[embassy_executor::task(pool_size = 2)]
async fn workload() {
    loop {
        Timer::after_millis(10).await;
        zephyr::time::busy_wait(zephyr::time::Duration::from_micros(100));
    }
}

#[embassy_executor::task]
async fn busy_poll() {
    loop {
        // One turn of a poll loop: some instructions, here 5 us of virtual time (the raw call:
        // `zephyr::time::busy_wait` rounds to whole ticks of 100 us).
        // SAFETY: `k_busy_wait` may be called from any thread.
        unsafe { zephyr_sys::k_busy_wait(5) };
        embassy_futures::yield_now().await;
    }
}

/// Runs the workload for [`RUN_MS`] on an executor on the main thread, with or without the
/// busy-polling task; returns how the CPU was spent.
fn scenario(busy: bool) -> zephyr_sim::cpu::CpuStats {
    let outcome = zephyr_sim::Sim::new()
        .time_limit(Some(std::time::Duration::from_millis(RUN_MS)))
        .run(move || {
            let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
            executor.run(move |spawner| {
                spawner.spawn(workload().unwrap());
                if busy {
                    spawner.spawn(busy_poll().unwrap());
                }
            })
        })
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    outcome.cpu
}

fn main() {
    println!("1. executor-zephyr: the executor's thread parks while its task waits");
    print!("{}", scenario(false));
    println!();
    println!("2. busy polling: the executor never parks (a task yields forever)");
    print!("{}", scenario(true));
}
