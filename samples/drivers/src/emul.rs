//! `native_posix_64`: GPIO against Zephyr's GPIO emulator and I2C against its AT24 EEPROM
//! emulator, through `zephyr::device::{gpio, i2c}`.
//!
//! The pins (`boards/native_posix_64.overlay`): `led0` (gpio0 pin 0, active high) and `led1`
//! (pin 3, active low) are outputs whose wire levels `gpio_emul_output_get` reports; `sw0`
//! (pin 1, active high) and `sw1` (pin 2, active low) are inputs that the C thread of
//! `emul_helpers.c` drives with `gpio_emul_input_set` at a requested delay, while a task waits
//! with embedded-hal-async's `Wait`. The EEPROM answers at 0x50 on `i2c0`; nothing else does.

use core::ffi::c_int;

use embassy_futures::join::join;
use embassy_futures::select::{select, Either};
use embedded_hal::digital::{InputPin, OutputPin, PinState, StatefulOutputPin};
use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_async::digital::Wait;
use static_cell::StaticCell;
use zephyr::device::gpio::{Input, Pin};
use zephyr::device::i2c::{self, I2c};
use zephyr::embassy::Executor;
use zephyr::printkln;
use zephyr::raw::{device, gpio_pin_t};
use zephyr::time::{Duration, Instant};
use zephyr::work::futures::Sleep;

extern "C" {
    /// `gpio_emul_input_set` now, in this thread (see `emul_helpers.c`).
    fn drivers_emul_input_set(port: *const device, pin: gpio_pin_t, value: c_int) -> c_int;
    /// `gpio_emul_input_set` from the driving thread, `delay_ms` after it gets the request.
    fn drivers_emul_input_set_after(
        port: *const device,
        pin: gpio_pin_t,
        value: c_int,
        delay_ms: i32,
    ) -> c_int;
    /// The tick of the driving thread's last `gpio_emul_input_set`.
    fn drivers_emul_last_drive_tick() -> i64;
    /// `gpio_emul_output_get`: the wire level of an output.
    fn drivers_emul_output_get(port: *const device, pin: gpio_pin_t) -> c_int;
    /// Whether the emulator has the pin's interrupt enabled (`gpio_emul_flags_get`).
    fn drivers_emul_interrupt_enabled(port: *const device, pin: gpio_pin_t) -> c_int;
    /// Starts watching how this thread blocks while the driving thread delivers a change.
    fn drivers_emul_watch(port: *const device, pin: gpio_pin_t) -> c_int;
    /// Stops it: how often this thread was found blocked, and how often with interrupts locked.
    fn drivers_emul_unwatch(port: *const device, blocked: *mut c_int, locked: *mut c_int) -> c_int;
}

/// The AT24 EEPROM's address on `i2c0`.
const EEPROM: u8 = 0x50;
/// An address where no target answers.
const ABSENT: u8 = 0x21;

static EXECUTOR: StaticCell<Executor> = StaticCell::new();

/// An input pin and where the emulator has it.
struct Line {
    input: Input,
    port: *const device,
    pin: gpio_pin_t,
}

impl Line {
    /// The input pin labelled `label`.
    fn get(label: &str) -> Line {
        let pin = Pin::get(label).unwrap_or_else(|e| panic!("{label}: {e}"));
        let (port, number) = (pin.port().as_raw(), pin.number());
        let input = pin.into_input().unwrap_or_else(|e| panic!("{label} as input: {e}"));
        Line { input, port, pin: number }
    }

    /// Puts `wire` on the line now.
    fn set(&self, wire: bool) {
        // SAFETY: an input pin of the emulator, from the main thread.
        let r = unsafe { drivers_emul_input_set(self.port, self.pin, wire as c_int) };
        assert_eq!(r, 0, "gpio_emul_input_set on pin {}", self.pin);
    }

    /// Has the driving thread put `wire` on the line `ms` milliseconds from now (it gets the
    /// request once this thread waits).
    fn set_after(&self, wire: bool, ms: i32) {
        // SAFETY: as in `set`; the request is copied.
        let r = unsafe { drivers_emul_input_set_after(self.port, self.pin, wire as c_int, ms) };
        assert_eq!(r, 0, "queueing a level for pin {}", self.pin);
    }

    fn interrupt_enabled(&self) -> bool {
        // SAFETY: a pin of the emulator.
        let r = unsafe { drivers_emul_interrupt_enabled(self.port, self.pin) };
        assert!(r >= 0, "gpio_emul_flags_get: {r}");
        r == 1
    }
}

/// The tick of the driving thread's last level change.
fn last_drive_tick() -> u64 {
    // SAFETY: a plain read of a C variable.
    unsafe { drivers_emul_last_drive_tick() as u64 }
}

/// Runs the checks: GPIO outputs on the main thread, then the waits and I2C as an Embassy task.
pub fn main() {
    gpio_outputs();
    let executor: &'static Executor = EXECUTOR.init(Executor::new());
    executor.run(|spawner| spawner.spawn(checks().expect("one checks task")))
}

#[embassy_executor::task]
async fn checks() {
    gpio_inputs().await;
    i2c_eeprom().await;
    printkln!("drivers: all ok");
}

/// The wire level the emulator sees on output `pin`.
fn wire(pin: &Pin) -> bool {
    // SAFETY: an output pin of the emulator.
    let r = unsafe { drivers_emul_output_get(pin.port().as_raw(), pin.number()) };
    assert!(r >= 0, "gpio_emul_output_get: {r}");
    r == 1
}

/// Outputs: what `Output` sets is what the emulator drives, inverted for an active-low pin.
fn gpio_outputs() {
    let mut led = Pin::get("led0").and_then(|p| p.into_output(PinState::Low)).expect("led0");
    let mut seen = [false; 4];
    seen[0] = wire(led.pin());
    led.set_high().unwrap();
    seen[1] = wire(led.pin());
    assert!(led.is_set_high().unwrap());
    led.set_low().unwrap();
    seen[2] = wire(led.pin());
    StatefulOutputPin::toggle(&mut led).unwrap();
    seen[3] = wire(led.pin());
    assert_eq!(seen, [false, true, false, true], "led0's wire: initial low, high, low, toggled");
    assert!(led.is_set_high().unwrap());
    printkln!(
        "drivers: gpio output: led0 (gpio0 pin {}) low, set high, set low, toggled high: the \
         emulator's wire followed: ok",
        led.pin().number()
    );

    let mut led1 = Pin::get("led1").and_then(|p| p.into_output(PinState::Low)).expect("led1");
    assert!(led1.pin().is_active_low());
    let inactive = wire(led1.pin());
    led1.set_high().unwrap();
    let active = wire(led1.pin());
    assert_eq!((inactive, active), (true, false), "led1 is active low");
    printkln!(
        "drivers: gpio output active-low: led1 (pin {}) inactive is a high wire, active a low \
         one: ok",
        led1.pin().number()
    );
}

/// Inputs: levels read, then edges and levels awaited while the C thread drives the lines.
async fn gpio_inputs() {
    let mut sw0 = Line::get("sw0");
    sw0.set(false);
    let low = sw0.input.is_high().unwrap();
    sw0.set(true);
    let high = sw0.input.is_high().unwrap();
    sw0.set(false);
    assert_eq!((low, high), (false, true), "sw0 reads what the emulator drives");
    printkln!(
        "drivers: gpio input: sw0 (pin {}) reads the levels the emulator drives: ok",
        sw0.pin
    );

    // Each wait ends in the tick of the level change (the emulator runs the callback inside
    // gpio_emul_input_set, which wakes the executor), and leaves the interrupt disabled. The
    // executor's thread preempts the driving thread inside the emulator, and blocks on the
    // emulator's mutex when the completing wait disables the interrupt: the watch checks that
    // it blocks with interrupts unlocked (not inside a critical section).
    // SAFETY: sw0 is a pin of the emulator; the watch's callback lives in C statics.
    assert_eq!(unsafe { drivers_emul_watch(sw0.port, sw0.pin) }, 0);
    let mut report = [0u64; 5];
    for (i, (wire, ms)) in
        [(true, 5), (false, 3), (true, 2), (false, 4), (true, 1)].into_iter().enumerate()
    {
        let start = Instant::now();
        sw0.set_after(wire, ms);
        match i {
            0 => sw0.input.wait_for_rising_edge().await,
            1 => sw0.input.wait_for_falling_edge().await,
            2 => sw0.input.wait_for_high().await, // a level interrupt
            3 => sw0.input.wait_for_any_edge().await,
            _ => sw0.input.wait_for_any_edge().await,
        }
        .unwrap_or_else(|e| panic!("wait {i} on sw0: {e}"));
        let woke = Instant::now();
        assert_eq!(sw0.input.is_high().unwrap(), wire, "wait {i}: sw0's level after it");
        assert!(
            woke.duration_since(start) >= Duration::from_millis(ms as u64),
            "wait {i} ended early"
        );
        assert_eq!(woke.ticks(), last_drive_tick(), "wait {i} ended in the tick of the change");
        assert!(!sw0.interrupt_enabled(), "wait {i} left the interrupt enabled");
        report[i] = woke.duration_since(start).to_micros();
    }
    printkln!(
        "drivers: gpio wait: rising edge after {} us, falling edge after {} us, high (level) \
         after {} us, any edge after {} and {} us, each in the tick of the change: ok",
        report[0],
        report[1],
        report[2],
        report[3],
        report[4]
    );
    let (mut blocked, mut locked) = (0, 0);
    // SAFETY: the watch was added above; valid out-pointers.
    assert_eq!(unsafe { drivers_emul_unwatch(sw0.port, &mut blocked, &mut locked) }, 0);
    assert!(blocked > 0, "the executor never blocked inside the emulator's delivery");
    assert_eq!(locked, 0, "the executor blocked with interrupts locked {locked} times");
    printkln!(
        "drivers: gpio unregister: {blocked} of {} completed waits blocked on the emulator's \
         mutex (held by the thread delivering the edge), none with interrupts locked: ok",
        report.len()
    );

    // A level that already holds ends a level wait at once, without an interrupt.
    let start = Instant::now();
    sw0.input.wait_for_high().await.unwrap();
    assert_eq!(Instant::now(), start);
    assert!(!sw0.interrupt_enabled());

    // Cancellation: a wait dropped by `select` disables its interrupt; an edge while nobody
    // waits is not remembered; the next wait sees the next edge.
    sw0.set(false);
    let r = select(sw0.input.wait_for_rising_edge(), Sleep::new(Duration::from_millis(2))).await;
    assert!(matches!(r, Either::Second(())), "nothing drove sw0, so the sleep wins");
    assert!(!sw0.interrupt_enabled(), "a dropped wait disabled its interrupt");
    sw0.set_after(true, 1);
    Sleep::new(Duration::from_millis(3)).await;
    assert!(sw0.input.is_high().unwrap());
    sw0.set_after(false, 2);
    sw0.input.wait_for_falling_edge().await.unwrap();
    assert_eq!(Instant::now().ticks(), last_drive_tick());
    printkln!(
        "drivers: gpio cancel: a level wait that holds returns at once; a wait dropped by select \
         disabled its interrupt; the next wait saw the next edge: ok"
    );

    // Two pins of one controller wait at once, each woken by its own change; sw1 is active low,
    // so its rising edge (to active) is the wire falling.
    let mut sw1 = Line::get("sw1");
    sw1.set(true);
    assert!(!sw1.input.is_high().unwrap(), "sw1 is inactive with a high wire");
    sw1.set_after(false, 3);
    sw0.set_after(true, 3);
    let (a, b) = join(
        async {
            sw1.input.wait_for_rising_edge().await.unwrap();
            Instant::now()
        },
        async {
            sw0.input.wait_for_rising_edge().await.unwrap();
            Instant::now()
        },
    )
    .await;
    assert!(sw1.input.is_high().unwrap() && sw0.input.is_high().unwrap());
    assert!(b > a, "sw0 changed 3 ms after sw1");
    assert_eq!(b.ticks(), last_drive_tick());
    assert!(!sw0.interrupt_enabled() && !sw1.interrupt_enabled());
    printkln!(
        "drivers: gpio two pins: sw1 (active low: wire fell) and sw0 awaited together, woken {} \
         us apart by their own changes: ok",
        b.duration_since(a).to_micros()
    );
}

/// I2C: a page written and read back, blocking and async; an absent address is a typed NACK.
async fn i2c_eeprom() {
    use embedded_hal::i2c::I2c as Blocking;
    use embedded_hal_async::i2c::I2c as AsyncI2c;

    let mut bus = I2c::get("i2c0").expect("i2c0");

    // Blocking: one page (8 bytes) at 0x10, the word address first.
    let page = *b"zephyr+r";
    let mut write = [0u8; 9];
    write[0] = 0x10;
    write[1..].copy_from_slice(&page);
    Blocking::write(&mut bus, EEPROM, &write).expect("blocking page write");
    let mut back = [0u8; 10];
    Blocking::write_read(&mut bus, EEPROM, &[0x10], &mut back).expect("blocking write_read");
    assert_eq!(&back[..8], &page, "the page read back");
    assert_eq!(&back[8..], &[0xFF, 0xFF], "past the page: still erased");
    printkln!(
        "drivers: i2c blocking: a page written at 0x10 of the AT24 at {EEPROM:#x} on i2c0 and read \
         back (one i2c_transfer each): ok"
    );

    // Async (the transfer on the system work queue): the next page, then both read back.
    let page2 = *b"ust+i2c!";
    write[0] = 0x18;
    write[1..].copy_from_slice(&page2);
    AsyncI2c::write(&mut bus, EEPROM, &write).await.expect("async page write");
    let mut both = [0u8; 16];
    AsyncI2c::write_read(&mut bus, EEPROM, &[0x10], &mut both).await.expect("async write_read");
    assert_eq!(&both, b"zephyr+rust+i2c!");
    let mut again = [0u8; 8];
    Blocking::write_read(&mut bus, EEPROM, &[0x18], &mut again)
        .expect("blocking read of the async page");
    assert_eq!(again, page2);
    printkln!(
        "drivers: i2c async: a page written at 0x18 and both read back on the system work queue, \
         the same bytes as a blocking read: ok"
    );

    // An absent target: Zephyr's I2C emulator answers -EIO, which is a NACK of unknown source.
    let nack = i2c::Error::NoAcknowledge(NoAcknowledgeSource::Unknown);
    let e = Blocking::write(&mut bus, ABSENT, &[0]).expect_err("nobody at the absent address");
    assert_eq!(e, nack);
    assert_eq!(
        embedded_hal::i2c::Error::kind(&e),
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Unknown)
    );
    assert_eq!(zephyr::Error::from(e), zephyr::Error::EIO);
    let mut one = [0u8; 1];
    let e = AsyncI2c::write_read(&mut bus, ABSENT, &[0], &mut one).await.expect_err("async");
    assert_eq!(e, nack);
    printkln!(
        "drivers: i2c nack: address {ABSENT:#x} (absent) is NoAcknowledge(Unknown), -EIO, blocking \
         and async: ok"
    );
}
