//! The zephyr crate's GPIO, I2C and UART drivers (`zephyr::device::{gpio, i2c, uart}`, tested on
//! the simulator) on real Zephyr, against Zephyr's own drivers:
//!
//! * on `native_posix_64` (the default build), GPIO against the GPIO emulator (`gpio0`,
//!   `zephyr,gpio-emul`), whose inputs a C thread drives (`src/emul_helpers.c`), and I2C against
//!   Zephyr's AT24 EEPROM emulator on the I2C emulator (`i2c0`, `zephyr,i2c-emul-controller`;
//!   `boards/native_posix_64.overlay`);
//! * on `qemu_cortex_m3` (feature `uart`), the UART driver on `uart1` (the Stellaris driver),
//!   which `scripts/zephyr-test.sh` connects to a pipe: it reads a blocking write, then sends
//!   lines that an Embassy task echoes uppercased.
//!
//! Each check prints one `drivers: <what>: ok ...` line and panics (printing why) if it fails;
//! the last line is `drivers: all ok`. The async parts run as Embassy tasks under
//! `zephyr::embassy::Executor` on the main thread. `README.md` beside this crate lists the
//! checks and what the real kernel's drivers do differently from the simulator's models.
#![no_std]

#[cfg(not(feature = "uart"))]
mod emul;
#[cfg(feature = "uart")]
mod uart;

/// The Zephyr entry point (the module's `main()` calls it): runs this board's checks.
#[no_mangle]
pub extern "C" fn rust_main() {
    #[cfg(not(feature = "uart"))]
    emul::main();
    #[cfg(feature = "uart")]
    uart::main();
}
