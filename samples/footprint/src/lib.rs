//! What the Embassy executor and the `embassy-time` driver add to a Zephyr image.
//!
//! `scripts/zephyr-test.sh` builds this application for `qemu_cortex_m3` twice: without features
//! `rust_main` only prints a line; with `embassy` it also runs one task that waits on an
//! embassy-time `Timer` on a `zephyr::embassy::Executor`. The difference in flash and RAM between
//! the two linked images is the cost of the executor, the time driver and one small task.
#![no_std]

/// The Zephyr entry point (the module's `main()` calls it).
#[no_mangle]
pub extern "C" fn rust_main() {
    #[cfg(feature = "embassy")]
    tasks::run();
    zephyr::printkln!("footprint done");
}

#[cfg(feature = "embassy")]
mod tasks {
    use core::sync::atomic::{AtomicBool, Ordering};

    use embassy_time::{Duration, Timer};
    use static_cell::StaticCell;
    use zephyr::embassy::Executor;

    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    static DONE: AtomicBool = AtomicBool::new(false);

    #[embassy_executor::task]
    async fn wait_a_little() {
        Timer::after(Duration::from_millis(1)).await;
        DONE.store(true, Ordering::Relaxed);
    }

    /// Runs the task to its end on the calling (main) thread.
    pub fn run() {
        EXECUTOR.init(Executor::new()).run_until(
            |spawner| spawner.spawn(wait_a_little().unwrap()),
            || DONE.load(Ordering::Relaxed),
        );
    }
}
