//! Devices and GPIO pins found by devicetree node label, on real Zephyr (the module generates
//! the lookups from the application's devicetree) and on the simulator (the board description
//! answers).
//!
//! `rust_main` prints one `devices: ...` line per check and `devices: all ok` at the end;
//! `scripts/zephyr-test.sh` runs it on `native_posix_64` (whose devicetree has `gpio0`, the
//! GPIO emulator, and `led0` on it), and `examples/tests/devices_app.rs` on the simulator with
//! a board of the same labels. A failed check panics.
#![no_std]

use zephyr::device::Device;
use zephyr::printkln;
use zephyr::raw::{gpio_dt_spec, zr_gpio_dt_spec_by_label};
use zephyr::Error;

/// The Zephyr entry point (the module's `main()` calls it).
#[no_mangle]
pub extern "C" fn rust_main() {
    let gpio0 = Device::get("gpio0").expect("gpio0 is on the board and ready");
    printkln!("devices: gpio0 found and ready");

    assert_eq!(Device::get("no_such_node"), Err(Error::ENOENT));
    printkln!("devices: an unknown label is ENOENT");

    let mut spec = gpio_dt_spec { port: core::ptr::null(), pin: 0, dt_flags: 0 };
    // SAFETY: a NUL-terminated label and a valid out-pointer.
    let r = unsafe { zr_gpio_dt_spec_by_label(c"led0".as_ptr(), &mut spec) };
    assert_eq!(r, 0, "led0 has a gpios property");
    assert_eq!(spec.port, gpio0.as_raw(), "led0 is a pin of gpio0");
    printkln!("devices: led0 is pin {} of gpio0, flags {:#x}", spec.pin, spec.dt_flags);

    printkln!("devices: all ok");
}
