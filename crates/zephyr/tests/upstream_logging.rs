//! Upstream zephyr-lang-rust's `unsafe { zephyr::set_logger() }` (feature `log`, a default
//! feature): the `printk` logger at upstream's maximum level, `Info`.
#![cfg(feature = "log")]

mod common;

/// `info!` and above print; `debug!` does not (upstream's level); a second install fails.
/// (The logger is process-wide: this is the only test in this binary.)
#[test]
fn upstream_set_logger_logs_at_info() {
    let console = common::run_console(|| {
        // SAFETY: upstream's contract (called once, at start-up); nothing else to uphold here.
        unsafe { zephyr::set_logger().unwrap() };
        // SAFETY: as above.
        assert!(unsafe { zephyr::set_logger() }.is_err());
        log::info!("hello from rust");
        log::debug!("not shown");
        log::error!(target: "app", "shown");
    });
    assert_eq!(console, "[INFO] upstream_logging: hello from rust\n[ERROR] app: shown\n");
}
