//! `samples/interrupt` (an `InterruptExecutor`'s ticker task preempting a cooperative thread's
//! computation, a `SendSpawner` from a thread, tasks in ISR context) booted unchanged on the
//! simulated board: this file is the whole runner.
//!
//! Run: `cargo run -p examples --bin interrupt-demo` (options: `--for <duration>`,
//! `--realtime`; see `zephyr_sim::runner`).

zephyr_sim::app_main!(zephyr_interrupt_app);
