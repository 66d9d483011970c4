//! The async drivers demo on the simulated Zephyr kernel: boots a board with a button, an LED,
//! a UART and an I2C temperature sensor, scripts a user (two button presses, then commands
//! typed on the UART, and the room warming up), runs the Zephyr application's `rust_main`
//! (`samples/device-demo`, the same code that builds for a board) and prints what happened:
//! the application's lines as they come, then the UART transcript and the LED's pin history.
//!
//! Run: `cargo run -p examples --bin device-demo`.

use std::cell::RefCell;
use std::rc::Rc;

use zephyr_sim::devices::gpio::GpioPort;
use zephyr_sim::devices::i2c::{temperature_sensor, with_target, RegisterFile};
use zephyr_sim::devices::uart::UartPort;
use zephyr_sim::devices::Board;
use zephyr_sys::gpio_flags::{GPIO_ACTIVE_LOW, GPIO_PULL_UP};

/// The LED's and the button's pins on `gpio0`.
const LED_PIN: u8 = 13;
const BUTTON_PIN: u8 = 11;

/// The board, as its devicetree would describe it.
fn board() -> Board {
    Board::new()
        .gpio("gpio0", 32)
        // An LED wired to light when the pin is low, and a button that pulls its pin low.
        .pin("led0", "gpio0", LED_PIN, GPIO_ACTIVE_LOW)
        .pin("sw0", "gpio0", BUTTON_PIN, GPIO_ACTIVE_LOW | GPIO_PULL_UP)
        .uart("uart1", 115_200)
        .i2c("i2c0")
        .i2c_target("i2c0", temperature_sensor::ADDRESS, RegisterFile::temperature_sensor)
}

/// Microseconds to cycles of the simulator's 1 MHz counter.
fn at_us(us: u64) -> u64 {
    us * zephyr_sys::CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC as u64 / 1_000_000
}

/// What the script saw at its end.
#[derive(Default)]
struct Seen {
    transcript: Vec<(u64, String)>,
    led: Vec<(u64, bool)>,
}

fn main() {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let s = seen.clone();
    let outcome = zephyr_sim::Sim::new()
        .board(board())
        .idle_ends_run(true)
        .run(move || {
            let button = GpioPort::get("gpio0");
            // Two presses of the button (the line goes low while pressed).
            for (press_ms, release_ms) in [(20, 60), (120, 150)] {
                button.drive_at_us(BUTTON_PIN, false, press_ms * 1000);
                button.drive_at_us(BUTTON_PIN, true, release_ms * 1000);
            }
            // Someone at a terminal, typing a line every 50 ms (the bytes arrive at 115 200
            // baud, 86.8 us apart).
            let uart = UartPort::get("uart1");
            for (ms, line) in [
                (200, "led on\n"),
                (250, "temp\n"),
                (300, "blink\n"),
                (400, "temp\n"),
                (450, "led off\n"),
            ] {
                uart.feed_at(at_us(ms * 1000), line);
            }
            // The room warms up to 23.75 C at 350 ms.
            zephyr_sim::irq::raise_at_cycle(at_us(350_000), || {
                with_target::<RegisterFile, _>("i2c0", temperature_sensor::ADDRESS, |t| {
                    t.set_temperature(2375)
                });
            });
            // At 600 ms, note what the UART sent and the LED pin did.
            zephyr_sim::irq::raise_at_cycle(at_us(600_000), move || {
                let mut seen = s.borrow_mut();
                let mut line = String::new();
                for (cycle, byte) in UartPort::get("uart1").tx_log() {
                    match byte {
                        b'\r' => {}
                        b'\n' => seen.transcript.push((cycle, std::mem::take(&mut line))),
                        b => line.push(b as char),
                    }
                }
                seen.led = GpioPort::get("gpio0").history(LED_PIN);
            });
            device_demo_app::rust_main();
        })
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    let seen = seen.borrow();
    println!("uart1 transcript (time of each line's last byte on the wire):");
    for (cycle, line) in &seen.transcript {
        println!("  [{:>4}.{:03} ms] {line}", cycle / 1000, cycle % 1000);
    }
    println!("led0 pin history (active low: 0 is lit):");
    for (cycle, high) in &seen.led {
        println!("  [{:>4}.{:03} ms] pin {LED_PIN} -> {}", cycle / 1000, cycle % 1000, *high as u8);
    }
    let ms = outcome.uptime_ticks * 1000 / zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC as i64;
    println!("(simulated {ms} ms; {} thread switches)", outcome.switches);
}
