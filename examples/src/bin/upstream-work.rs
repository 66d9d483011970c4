//! `samples/upstream/work` (kio tasks on `WorkQueueBuilder` queues, a timer with user data, a
//! channel from an ISR), written for the upstream zephyr-lang-rust crate, booted unchanged on
//! the simulated board: this file is the whole runner.
//!
//! Run: `cargo run -p examples --bin upstream-work` (options: `--for <duration>`,
//! `--realtime`; see `zephyr_sim::runner`).

zephyr_sim::app_main!(upstream_work);
