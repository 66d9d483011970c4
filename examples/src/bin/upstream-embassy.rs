//! `samples/upstream/embassy` (Embassy tasks on two `kobj_define!` threads, with `log` and the
//! time driver), written for the upstream zephyr-lang-rust crate, booted unchanged on the
//! simulated board: this file is the whole runner.
//!
//! Run: `cargo run -p examples --bin upstream-embassy` (options: `--for <duration>`,
//! `--realtime`; see `zephyr_sim::runner`).

zephyr_sim::app_main!(upstream_embassy);
