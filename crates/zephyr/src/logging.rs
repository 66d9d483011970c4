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
//!
//! # Upstream's `zephyr::set_logger`
//!
//! Code written for upstream zephyr-lang-rust calls `unsafe { zephyr::set_logger().unwrap() }`:
//! that is [`upstream_set_logger`], re-exported at the crate root under that name. It installs
//! the same logger with upstream's maximum level, `Info` (where [`set_logger`] enables every
//! level the build keeps). The `log` feature that provides both is a default feature, so such a
//! program builds with only `zephyr` (and `log`, for the macros) in its `Cargo.toml`. Lines read
//! `[INFO] target: message` (upstream prints `INFO:target: message`).

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
    install(log::STATIC_MAX_LEVEL)
}

/// Upstream zephyr-lang-rust's `zephyr::set_logger` (re-exported at the crate root under that
/// name): installs [`PrintkLogger`] with the maximum level `Info`, as upstream does.
///
/// # Safety
/// None beyond [`set_logger`]'s: this is `unsafe` only so that upstream code, which calls it in
/// an `unsafe` block, builds without an `unused_unsafe` warning. (Upstream's reason, the `log`
/// crate's racy installation on targets without atomic pointers, does not apply: there this
/// crate installs the logger inside a critical section.)
///
/// # Errors
/// If a logger is already installed.
pub unsafe fn upstream_set_logger() -> Result<(), log::SetLoggerError> {
    install(LevelFilter::Info)
}

#[cfg(target_has_atomic = "ptr")]
fn install(level: LevelFilter) -> Result<(), log::SetLoggerError> {
    log::set_logger(&LOGGER)?;
    log::set_max_level(level);
    Ok(())
}

/// Targets without atomic pointers (Cortex-M0) only have the `log` crate's racy setters; a
/// critical section makes them atomic on this single-CPU kernel.
#[cfg(not(target_has_atomic = "ptr"))]
fn install(level: LevelFilter) -> Result<(), log::SetLoggerError> {
    critical_section::with(|_| {
        // SAFETY: interrupts are locked on the only CPU, so no other thread or ISR runs during
        // the call: nothing sets or reads the logger concurrently.
        unsafe {
            log::set_logger_racy(&LOGGER)?;
            log::set_max_level_racy(level);
        }
        Ok(())
    })
}

/// The maximum level [`set_logger`] enables.
pub fn default_max_level() -> LevelFilter {
    log::STATIC_MAX_LEVEL
}
