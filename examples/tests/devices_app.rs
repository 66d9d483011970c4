//! `samples/devices` on the simulator: the same `rust_main` that `scripts/zephyr-test.sh` runs
//! on real Zephyr, with a board whose node labels match `native_posix_64`'s devicetree.

use std::any::Any;

use zephyr_sim::devices::{Board, Model};

/// A device with no behaviour: only found by label.
struct Placeholder;

impl Model for Placeholder {
    fn kind(&self) -> &'static str {
        "placeholder"
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

#[test]
fn devices_and_pins_are_found_by_node_label() {
    let board = Board::new().device("gpio0", || Box::new(Placeholder)).pin("led0", "gpio0", 0, 0);
    let outcome = zephyr_sim::Sim::new()
        .board(board)
        .capture_console(true)
        .run(|| zephyr_devices_app::rust_main())
        .expect("the devices sample runs to its end");
    let console = &outcome.console;
    let golden = [
        "devices: gpio0 found and ready",
        "devices: an unknown label is ENOENT",
        "devices: led0 is pin 0 of gpio0, flags 0x0",
        "devices: all ok",
    ];
    let lines: Vec<&str> = console.lines().filter(|l| l.starts_with("devices:")).collect();
    assert_eq!(lines, golden, "console:\n{console}");
}

#[test]
fn a_device_that_failed_to_initialise_is_enodev() {
    let board = Board::new().device("gpio0", || Box::new(Placeholder)).not_ready("gpio0");
    let got = zephyr_sim::Sim::new()
        .board(board)
        .run(|| zephyr::device::Device::get("gpio0").map(|_| ()))
        .expect("runs")
        .value
        .expect("main returned");
    assert_eq!(got, Err(zephyr::Error::ENODEV));
}
