//! `samples/upstream/philosophers` (dining philosophers on a `#[zephyr::thread]` pool,
//! `kobj_define!` semaphores and `sync::channel`), written for the upstream zephyr-lang-rust
//! crate, booted unchanged on the simulated board: this file is the whole runner.
//!
//! Run: `cargo run -p examples --bin upstream-philosophers` (options: `--for <duration>`,
//! `--realtime`; see `zephyr_sim::runner`).

zephyr_sim::app_main!(upstream_philosophers);
