//! Async drivers on Zephyr, as a Zephyr application whose code also runs on the simulator:
//!
//! * a button (`sw0`, a GPIO interrupt) toggles an LED (`led0`);
//! * a line protocol on a UART (`uart1`): `led on`, `led off`, `temp` (reads the temperature
//!   sensor at address 0x48 on `i2c0`); anything else gets an error line.
//!
//! The protocol and the sensor code are written against the embedded-hal-async and
//! embedded-io-async traits only ([`serve`], [`read_temperature`]), so they would run on any HAL;
//! `rust_main` hands them Zephyr's drivers. Every event is printed with the kernel's uptime
//! (virtual time on the simulator): `cargo run -p examples --bin device-demo` scripts a button and
//! a terminal and prints what happens, which `examples/tests/demos.rs` compares with its golden
//! output.
#![no_std]

use core::cell::RefCell;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embedded_hal::digital::{OutputPin, PinState, StatefulOutputPin};
use embedded_hal_async::digital::Wait;
use embedded_hal_async::i2c::I2c as AsyncI2c;
use embedded_io_async::{Read, Write};
use static_cell::StaticCell;
use zephyr::device::gpio::{Input, Output, Pin, Pull};
use zephyr::device::i2c::I2c;
use zephyr::device::uart::{Uart, UartBuffers};
use zephyr::embassy::Executor;
use zephyr::printkln;

/// The temperature sensor's I2C address.
pub const SENSOR_ADDRESS: u8 = 0x48;
/// Its temperature register: a big-endian `i16` in hundredths of a degree Celsius.
pub const TEMPERATURE_REGISTER: u8 = 0x00;
/// The longest command line; longer lines are refused whole.
pub const MAX_LINE: usize = 32;

static LED: Mutex<CriticalSectionRawMutex, RefCell<Option<Output>>> =
    Mutex::new(RefCell::new(None));
static UART_BUFFERS: UartBuffers<64, 128> = UartBuffers::new();
static EXECUTOR: StaticCell<Executor> = StaticCell::new();

/// Prints a line stamped with the kernel's uptime.
macro_rules! say {
    ($($arg:tt)*) => {{
        let us = zephyr::time::Duration::from_ticks(zephyr::time::uptime_ticks()).to_micros();
        printkln!("[{:>4}.{:03} ms] {}", us / 1000, us % 1000, format_args!($($arg)*));
    }};
}

/// Sets the LED (logically: on is active, whatever the pin's polarity); returns the new state.
fn set_led(on: Option<bool>) -> bool {
    LED.lock(|led| {
        let mut led = led.borrow_mut();
        let led = led.as_mut().expect("the LED is set up before the tasks start");
        let on = on.unwrap_or_else(|| !led.is_set_high().unwrap_or(false));
        let _ = led.set_state(PinState::from(on));
        on
    })
}

/// Reads the sensor's temperature, in hundredths of a degree Celsius, over any async I2C bus.
pub async fn read_temperature<I: AsyncI2c>(i2c: &mut I) -> Result<i16, I::Error> {
    let mut raw = [0u8; 2];
    i2c.write_read(SENSOR_ADDRESS, &[TEMPERATURE_REGISTER], &mut raw).await?;
    Ok(i16::from_be_bytes(raw))
}

/// Serves the line protocol on any async byte stream, with `temp` reading `i2c`: forever, or
/// until the stream fails.
pub async fn serve<S: Read + Write, I: AsyncI2c>(
    port: &mut S,
    i2c: &mut I,
) -> Result<(), S::Error> {
    let mut line = [0u8; MAX_LINE];
    let mut len = 0;
    let mut too_long = false;
    port.write_all(b"ready\r\n").await?;
    loop {
        let mut byte = [0u8; 1];
        if port.read(&mut byte).await? == 0 {
            continue;
        }
        match byte[0] {
            b'\r' => {}
            b'\n' => {
                let text = core::str::from_utf8(&line[..len]).unwrap_or("?");
                if too_long {
                    say!("uart1     line too long, refused");
                    port.write_all(b"error: line too long\r\n").await?;
                } else {
                    answer(port, i2c, text).await?;
                }
                len = 0;
                too_long = false;
            }
            b if len < MAX_LINE => {
                line[len] = b;
                len += 1;
            }
            _ => too_long = true,
        }
    }
}

/// Answers one command line.
async fn answer<S: Write, I: AsyncI2c>(
    port: &mut S,
    i2c: &mut I,
    text: &str,
) -> Result<(), S::Error> {
    match text.trim() {
        "led on" | "led off" => {
            let on = set_led(Some(text.trim() == "led on"));
            say!("uart1     '{}': LED {}", text.trim(), if on { "on" } else { "off" });
            port.write_all(b"ok\r\n").await
        }
        "temp" => match read_temperature(i2c).await {
            Ok(t) => {
                let (sign, t) = if t < 0 { ("-", -(t as i32)) } else { ("", t as i32) };
                say!("uart1     'temp': {sign}{}.{:02} C from the sensor", t / 100, t % 100);
                let mut reply = Line::new();
                let _ = core::fmt::write(
                    &mut reply,
                    format_args!("temp {sign}{}.{:02} C\r\n", t / 100, t % 100),
                );
                port.write_all(reply.as_bytes()).await
            }
            Err(e) => {
                say!(
                    "uart1     'temp': the sensor did not answer ({:?})",
                    embedded_hal_async::i2c::Error::kind(&e)
                );
                port.write_all(b"error: sensor not answering\r\n").await
            }
        },
        other => {
            say!("uart1     unknown command '{other}'");
            port.write_all(b"error: unknown command\r\n").await
        }
    }
}

/// A small line of text on the stack (no allocator needed).
struct Line {
    buf: [u8; 48],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line { buf: [0; 48], len: 0 }
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[embassy_executor::task]
async fn button(mut button: Input) {
    loop {
        // The button pulls the line to its active level when pressed.
        if button.wait_for_rising_edge().await.is_err() {
            say!("sw0       interrupt setup failed");
            return;
        }
        let on = set_led(None);
        say!("sw0       pressed: LED {}", if on { "on" } else { "off" });
    }
}

#[embassy_executor::task]
async fn console(mut uart: Uart, mut i2c: I2c) {
    if let Err(e) = serve(&mut uart, &mut i2c).await {
        say!("uart1     stopped: {e:?}");
    }
}

/// The Zephyr entry point (the module's `main()` calls it): finds the devices, then runs the
/// two tasks on an executor on the main thread, forever.
#[no_mangle]
pub extern "C" fn rust_main() {
    let led = Pin::get("led0").and_then(|p| p.into_output(PinState::Low)).expect("led0");
    LED.lock(|l| *l.borrow_mut() = Some(led));
    let sw0 = Pin::get("sw0").and_then(|p| p.into_input_with(Pull::None)).expect("sw0");
    let uart = Uart::get("uart1", &UART_BUFFERS).expect("uart1");
    let i2c = I2c::get("i2c0").expect("i2c0");
    say!("main      led0, sw0, uart1 and i2c0 ready");
    let executor: &'static Executor = EXECUTOR.init(Executor::new());
    executor.run(|spawner| {
        spawner.spawn(button(sw0).expect("one button task"));
        spawner.spawn(console(uart, i2c).expect("one console task"));
    })
}
