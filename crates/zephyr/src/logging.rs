//! A [`log`] backend that prints `[LEVEL] target: message` lines through `printk`.
//!
//! Call [`set_logger`] once at start-up; `log::info!` and friends then print to the Zephyr
//! console. Each record is formatted on the stack (no allocation) and written with `printk`, so
//! it works from threads and interrupt handlers alike; lines from different threads may
//! interleave when a record is longer than `printk`'s 256-byte buffer.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! zephyr::logging::set_logger().unwrap();
//! log::info!("booted"); // prints "[INFO] my_app: booted"
//! ```

use log::{LevelFilter, Log, Metadata, Record};

/// The `printk` logger that [`set_logger`] installs.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrintkLogger;

impl Log for PrintkLogger {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        // Filtering is `log::max_level`'s job.
        true
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // One write for the whole line, so short lines do not interleave.
            zephyr_sys::printk_fmt(format_args!(
                "[{}] {}: {}\n",
                record.level(),
                record.target(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}

static LOGGER: PrintkLogger = PrintkLogger;

/// Installs [`PrintkLogger`] as the `log` logger, with every level the build keeps enabled
/// (`log::STATIC_MAX_LEVEL`; lower it with `log::set_max_level`).
///
/// # Errors
/// If a logger is already installed.
pub fn set_logger() -> Result<(), log::SetLoggerError> {
    log::set_logger(&LOGGER)?;
    log::set_max_level(log::STATIC_MAX_LEVEL);
    Ok(())
}

/// The maximum level [`set_logger`] enables.
pub fn default_max_level() -> LevelFilter {
    log::STATIC_MAX_LEVEL
}
