//! `zephyr::logging`: `log` records printed through `printk` (feature `log`).
#![cfg(feature = "log")]

mod common;

/// The logger prints `[LEVEL] target: message` lines to the console; installing a second
/// logger fails. (The logger is process-wide: this is the only test in this binary.)
#[test]
fn log_records_go_to_printk() {
    let console = common::run_console(|| {
        zephyr::logging::set_logger().unwrap();
        assert!(zephyr::logging::set_logger().is_err());
        log::info!("booted at tick {}", zephyr::time::uptime_ticks());
        log::warn!(target: "sensor", "reading {} out of range", 1234);
        log::trace!("fine detail");
    });
    assert_eq!(
        console,
        "[INFO] safe_api_logging: booted at tick 0\n\
         [WARN] sensor: reading 1234 out of range\n\
         [TRACE] safe_api_logging: fine detail\n"
    );
}
