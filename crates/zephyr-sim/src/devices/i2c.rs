//! Simulated I2C controller, with target models plugged in by 7-bit address.
//!
//! An [`I2cModel`] is the controller of one bus ([`Board::i2c`]). Targets are models
//! implementing [`I2cTarget`], attached at 7-bit addresses ([`Board::i2c_target`]); an address
//! with no target is not acknowledged, as on a real bus. Two ready-made targets cover the usual
//! cases: a [`RegisterFile`] (a sensor: a register pointer written first, then reads or writes
//! that auto-increment; [`RegisterFile::temperature_sensor`] is one with `WHO_AM_I` and data
//! registers) and an [`Eeprom`] (a 24C32: 2-byte addresses, 32-byte pages that wrap, and a
//! write cycle during which it does not acknowledge its address).
//!
//! # The driver calls (Zephyr 2.7's `drivers/i2c.h`)
//!
//! * `i2c_configure`: `I2C_MODE_MASTER` is required, `I2C_ADDR_10_BITS` is refused, and the
//!   speed is standard (100 kHz), fast (400 kHz) or fast-plus (1 MHz); anything else is
//!   `-EINVAL` and leaves the configuration as it was (as `drivers/i2c/i2c_mcux.c`). Before any
//!   call the bus runs at its devicetree `clock-frequency` ([`I2cModel::clock_frequency`],
//!   100 kHz by default).
//! * `i2c_transfer`: zero messages is 0 with no bus activity (the header). A message with
//!   `I2C_MSG_ADDR_10_BITS` is `-ENOTSUP` and an address above 0x7F `-EINVAL`, both checked
//!   before anything goes on the bus (as `i2c_nrfx_twim.c`, `i2c_sam0.c`, `i2c_mcux.c`). The
//!   first message starts with a START and the address; a later one with a repeated START and
//!   the address when it has `I2C_MSG_RESTART`, when its direction differs from the previous
//!   message's (the bus cannot turn around without one, `i2c_dw.c`), or after a STOP;
//!   otherwise its bytes follow the previous message's on the wire. A message with
//!   `I2C_MSG_STOP` ends with a STOP, and the last message always does (`i2c_dw.c`,
//!   `i2c_ll_stm32.c`). The controller acknowledges each byte it reads except the last one of
//!   a read phase. A NACK of the address or of a written byte ends the transfer with a STOP and
//!   `-EIO`, the remaining messages unsent. A bus held low ([`I2cModel::set_bus_stuck`]) is
//!   `-EBUSY` before anything is sent (`i2c_ll_stm32_v2.c`'s busy check).
//!
//! # Bus time, and how a transfer blocks its caller
//!
//! Each byte takes 9 bit times (8 data bits and the acknowledge), the address byte included; a
//! START, a repeated START and a STOP one bit time each. A write of `n` bytes is therefore
//! `1 + 9 (1 + n) + 1` bit times: at 100 kHz (10 µs a bit) one byte takes 200 µs.
//! A transfer runs like an interrupt-driven driver's:
//!
//! ```text
//!  caller's thread                       controller model                        ISR
//!  i2c_transfer
//!    k_sem_take(bus lock, K_FOREVER)     (transfers from several threads queue here)
//!    runs the messages ───────────────►  each START, byte and STOP reaches the target,
//!                                        stamped with its time on the bus (I2cTarget::at)
//!    k_sem_take(done, K_FOREVER)         bus time later ──────────────────────►  trace,
//!    (blocked, not busy)              ◄───────────────────────────────────────  k_sem_give(done)
//!    k_sem_give(bus lock); returns
//! ```
//!
//! So the caller's thread is blocked for the bus time and other threads run meanwhile; the
//! caller resumes at the completion interrupt. `i2c_transfer` blocks, so calling it from an
//! ISR is a panic naming it (Zephyr would block in the ISR). The target sees the whole
//! transfer when it starts (each event carries its bus time), and the read data is in the
//! caller's buffers when the call returns.
//!
//! # Trace
//!
//! Each transfer is one [`TraceEvent::Device`] at its end, for example `0x48 w[1] r[2] ack`
//! (address, then each phase after a START: written or read byte counts, `stop` for a STOP
//! between messages, then `ack`), `0x50 w nack(address)` or `0x50 w[3] nack(data)` (the byte
//! count includes the refused byte), or `bus busy`.
//!
//! # Writing a target
//!
//! ```
//! use zephyr_sim::devices::i2c::I2cTarget;
//!
//! /// Answers every read with a counter; acknowledges everything.
//! #[derive(Default)]
//! struct Counter(u8);
//!
//! impl I2cTarget for Counter {
//!     fn write(&mut self, _byte: u8) -> bool {
//!         true
//!     }
//!     fn read(&mut self) -> u8 {
//!         self.0 = self.0.wrapping_add(1);
//!         self.0
//!     }
//! }
//!
//! let board = zephyr_sim::devices::Board::new()
//!     .i2c("i2c0")
//!     .i2c_target("i2c0", 0x20, Counter::default);
//! # let _ = board;
//! ```

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::c_int;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use zephyr_sys::i2c_flags::*;
use zephyr_sys::{
    device, i2c_msg, k_sem, EBUSY, EINVAL, EIO, ENOTSUP, K_FOREVER, Z_SEM_INITIALIZER,
};

use super::{with_model, with_model_by_label, Board, Model};
use crate::api::sync::{k_sem_give, k_sem_take};
use crate::kernel::with;
use crate::trace::TraceEvent;

/// `I2C_ADDR_10_BITS` of `i2c_configure`'s word (`drivers/i2c.h`: deprecated, refused by the
/// controllers that check it).
const I2C_ADDR_10_BITS: u32 = 1 << 0;

/// The bit rate before any `i2c_configure` (the devicetree's usual `clock-frequency`).
pub const DEFAULT_CLOCK_FREQUENCY: u32 = 100_000;

// ------------------------------------------------------------------ targets

/// An I2C target (a device on the bus), as the controller sees it: byte by byte.
///
/// The controller calls [`at`](Self::at) with the bus time before every other call, then
/// [`start`](Self::start) after a START or repeated START with this target's address,
/// [`write`](Self::write) for each byte the controller writes, [`read`](Self::read) for each
/// byte it reads, and [`stop`](Self::stop) at the STOP that ends a transaction addressed to
/// this target (also after it refused its address or a byte). Only `write` and `read` must be
/// written; the others default to acknowledging and ignoring.
///
/// A target is `'static` and `Any`, so a test reaches it by type with [`with_target`]; a
/// target the test wants to see after the run is wrapped in a [`Shared`].
pub trait I2cTarget: Any {
    /// The virtual time (since boot) of the event of the next call: a START, a byte, a STOP.
    fn at(&mut self, _now: Duration) {}
    /// A START or repeated START addressed this target, for a read (`read`) or a write.
    /// Returns whether it acknowledges its address.
    fn start(&mut self, _read: bool) -> bool {
        true
    }
    /// The controller wrote `byte`. Returns whether the target acknowledges it.
    fn write(&mut self, byte: u8) -> bool;
    /// The controller reads a byte: the target's answer.
    fn read(&mut self) -> u8;
    /// A STOP ended the transaction.
    fn stop(&mut self) {}
}

/// A target the controller owns, reachable by type (the `Any` upcast, without trait
/// upcasting, which needs Rust 1.86).
trait AnyTarget {
    fn target(&mut self) -> &mut dyn I2cTarget;
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<T: I2cTarget> AnyTarget for T {
    fn target(&mut self) -> &mut dyn I2cTarget {
        self
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// A target shared between the board and the test, so the test can look at it during the run
/// or after it (the simulation, and with it [`with_target`], is gone then).
///
/// ```
/// use zephyr_sim::devices::i2c::{Eeprom, Shared};
///
/// let eeprom = Shared::new(Eeprom::at24c32());
/// let on_board = eeprom.clone();
/// let board = zephyr_sim::devices::Board::new()
///     .i2c("i2c0")
///     .i2c_target("i2c0", 0x50, move || on_board.clone());
/// // ... run a simulation on `board` ...
/// # let _ = board;
/// assert_eq!(eeprom.lock().write_cycles(), 0);
/// ```
///
/// Every boot of a board shares the one target (make a new `Shared` per run for fresh state).
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> Shared<T> {
    /// Shares `target`.
    pub fn new(target: T) -> Self {
        Shared(Arc::new(Mutex::new(target)))
    }

    /// The target. Do not hold it across a kernel call inside the simulation (a transfer to
    /// it would wait for it forever).
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // A panic while locked cannot break the target's invariants halfway in a way that
        // matters to a test: take it anyway.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: I2cTarget> I2cTarget for Shared<T> {
    fn at(&mut self, now: Duration) {
        self.lock().at(now)
    }
    fn start(&mut self, read: bool) -> bool {
        self.lock().start(read)
    }
    fn write(&mut self, byte: u8) -> bool {
        self.lock().write(byte)
    }
    fn read(&mut self) -> u8 {
        self.lock().read()
    }
    fn stop(&mut self) {
        self.lock().stop()
    }
}

/// A register-file target, like most sensors: the first byte written after a START sets the
/// register pointer; later written bytes go to the registers from there and reads come from
/// there, the pointer moving up one register per byte and wrapping at the end of the file.
///
/// A pointer beyond the file, and a write to a read-only register, are not acknowledged (a
/// data NACK, so the transfer fails with `-EIO`).
///
/// ```
/// use zephyr_sim::devices::i2c::RegisterFile;
///
/// let sensor = RegisterFile::new(16).with(0x0F, 0x33).read_only(0x0F);
/// assert_eq!(sensor.get(0x0F), 0x33);
/// ```
#[derive(Clone, Debug)]
pub struct RegisterFile {
    registers: Vec<u8>,
    read_only: Vec<bool>,
    pointer: usize,
    /// The next written byte is the register pointer (right after a START for a write).
    expect_pointer: bool,
    writes: Vec<(u8, u8)>,
}

/// The registers of [`RegisterFile::temperature_sensor`].
pub mod temperature_sensor {
    /// The temperature, high byte (read-only): a big-endian `i16` in hundredths of a degree
    /// Celsius, at `TEMPERATURE` and `TEMPERATURE + 1`.
    pub const TEMPERATURE: u8 = 0x00;
    /// Configuration register (read-write, 0 at reset).
    pub const CONFIG: u8 = 0x02;
    /// The identification register (read-only).
    pub const WHO_AM_I: u8 = 0x0F;
    /// What [`WHO_AM_I`] reads.
    pub const ID: u8 = 0xA1;
    /// The number of registers.
    pub const SIZE: usize = 16;
    /// The usual address of the sensor on its bus.
    pub const ADDRESS: u16 = 0x48;
}

impl RegisterFile {
    /// `size` registers (at most 256), all 0 and writable.
    ///
    /// # Panics
    /// If `size` is 0 or above 256.
    pub fn new(size: usize) -> Self {
        assert!((1..=256).contains(&size), "RegisterFile: 1 to 256 registers, not {size}");
        RegisterFile {
            registers: vec![0; size],
            read_only: vec![false; size],
            pointer: 0,
            expect_pointer: false,
            writes: Vec::new(),
        }
    }

    /// A temperature sensor: `WHO_AM_I` (0x0F) reads [`temperature_sensor::ID`], the
    /// temperature is a read-only big-endian `i16` in hundredths of a degree Celsius at 0x00
    /// and 0x01 (21.50 °C at reset), and 0x02 is a writable configuration register. See
    /// [`temperature_sensor`] for the names.
    pub fn temperature_sensor() -> Self {
        use temperature_sensor::*;
        let mut sensor = RegisterFile::new(SIZE)
            .with(WHO_AM_I, ID)
            .read_only(WHO_AM_I)
            .read_only(TEMPERATURE)
            .read_only(TEMPERATURE + 1);
        sensor.set_temperature(2150);
        sensor
    }

    /// Sets register `reg` to `value` (builder form of [`set`](Self::set)).
    pub fn with(mut self, reg: u8, value: u8) -> Self {
        self.set(reg, value);
        self
    }

    /// Makes register `reg` read-only for the controller (the test may still [`set`](Self::set)
    /// it).
    ///
    /// # Panics
    /// If there is no such register.
    pub fn read_only(mut self, reg: u8) -> Self {
        let n = self.registers.len();
        *self.read_only.get_mut(reg as usize).unwrap_or_else(|| {
            panic!("RegisterFile::read_only: no register {reg:#04x} (the file has {n})")
        }) = true;
        self
    }

    /// Sets register `reg` (as the sensor's hardware would, a new measurement).
    ///
    /// # Panics
    /// If there is no such register.
    pub fn set(&mut self, reg: u8, value: u8) {
        let n = self.registers.len();
        *self
            .registers
            .get_mut(reg as usize)
            .unwrap_or_else(|| panic!("RegisterFile: no register {reg:#04x} (the file has {n})")) =
            value;
    }

    /// Register `reg`.
    ///
    /// # Panics
    /// If there is no such register.
    pub fn get(&self, reg: u8) -> u8 {
        self.registers[reg as usize]
    }

    /// Sets the temperature of a [`temperature_sensor`](Self::temperature_sensor), in hundredths
    /// of a degree Celsius.
    pub fn set_temperature(&mut self, centi_celsius: i16) {
        let [high, low] = centi_celsius.to_be_bytes();
        self.set(temperature_sensor::TEMPERATURE, high);
        self.set(temperature_sensor::TEMPERATURE + 1, low);
    }

    /// Every register write the controller made, in order: (register, value).
    pub fn writes(&self) -> &[(u8, u8)] {
        &self.writes
    }
}

impl I2cTarget for RegisterFile {
    fn start(&mut self, read: bool) -> bool {
        self.expect_pointer = !read;
        true
    }

    fn write(&mut self, byte: u8) -> bool {
        if self.expect_pointer {
            self.expect_pointer = false;
            if byte as usize >= self.registers.len() {
                return false;
            }
            self.pointer = byte as usize;
            return true;
        }
        if self.read_only[self.pointer] {
            return false;
        }
        self.registers[self.pointer] = byte;
        self.writes.push((self.pointer as u8, byte));
        self.pointer = (self.pointer + 1) % self.registers.len();
        true
    }

    fn read(&mut self) -> u8 {
        let value = self.registers[self.pointer];
        self.pointer = (self.pointer + 1) % self.registers.len();
        value
    }
}

/// What an [`Eeprom`] expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EepromPhase {
    /// Not addressed.
    Idle,
    /// The high address byte.
    AddressHigh,
    /// The low address byte.
    AddressLow,
    /// Data to write into the page buffer.
    Data,
    /// Sending data.
    Reading,
}

/// A serial EEPROM like a 24C32 (4 KiB, 32-byte pages, two address bytes).
///
/// * **Write**: two address bytes (high first; bits beyond the size are ignored), then data.
///   The data goes into the page buffer; the address moves within the page and wraps at its
///   end, so a 33rd byte overwrites the first. The STOP starts the write cycle, which stores
///   the buffer; a repeated START instead discards it (as the chip does).
/// * **Write cycle**: for [`write_cycle`](Self::write_cycle) (5 ms by default, the 24LC32A's
///   t<sub>WR</sub>) after the STOP, the chip does not acknowledge its address, so a controller
///   polls it ("acknowledge polling") or waits.
/// * **Read**: from the current address, which moves up one byte per byte read and wraps at
///   the end of the memory; a random read writes the two address bytes, then reads after a
///   repeated START.
#[derive(Clone, Debug)]
pub struct Eeprom {
    memory: Vec<u8>,
    page_size: usize,
    write_cycle: Duration,
    now: Duration,
    busy_until: Duration,
    address: usize,
    high: u8,
    phase: EepromPhase,
    page_buffer: BTreeMap<usize, u8>,
    write_cycles: u32,
    refused: u32,
}

impl Eeprom {
    /// An EEPROM of `size` bytes in pages of `page_size` (both powers of two), erased (0xFF).
    ///
    /// # Panics
    /// If a size is not a power of two, the page is larger than the memory, or the memory
    /// needs more than two address bytes.
    pub fn new(size: usize, page_size: usize) -> Self {
        assert!(
            size.is_power_of_two() && page_size.is_power_of_two() && page_size <= size,
            "Eeprom: sizes must be powers of two, the page no larger than the memory"
        );
        assert!(size <= 1 << 16, "Eeprom: two address bytes reach 64 KiB");
        Eeprom {
            memory: vec![0xFF; size],
            page_size,
            write_cycle: Duration::from_millis(5),
            now: Duration::ZERO,
            busy_until: Duration::ZERO,
            address: 0,
            high: 0,
            phase: EepromPhase::Idle,
            page_buffer: BTreeMap::new(),
            write_cycles: 0,
            refused: 0,
        }
    }

    /// A 24C32: 4096 bytes, 32-byte pages, 5 ms write cycle.
    pub fn at24c32() -> Self {
        Eeprom::new(4096, 32)
    }

    /// Sets the write cycle time.
    pub fn write_cycle(mut self, time: Duration) -> Self {
        self.write_cycle = time;
        self
    }

    /// Fills the memory from address 0 with `data` (as programmed before the run).
    ///
    /// # Panics
    /// If `data` is larger than the memory.
    pub fn with_contents(mut self, data: &[u8]) -> Self {
        self.memory[..data.len()].copy_from_slice(data);
        self
    }

    /// The memory.
    pub fn memory(&self) -> &[u8] {
        &self.memory
    }

    /// How many write cycles have started (one per write transaction that stored data).
    pub fn write_cycles(&self) -> u32 {
        self.write_cycles
    }

    /// How many times it refused its address because a write cycle was running.
    pub fn refused(&self) -> u32 {
        self.refused
    }

    /// When the last write cycle ends (since boot; zero if none ran).
    pub fn busy_until(&self) -> Duration {
        self.busy_until
    }
}

impl I2cTarget for Eeprom {
    fn at(&mut self, now: Duration) {
        self.now = now;
    }

    fn start(&mut self, read: bool) -> bool {
        if self.now < self.busy_until {
            self.refused += 1;
            self.phase = EepromPhase::Idle;
            return false;
        }
        // A repeated START discards a page buffer not yet stored.
        self.page_buffer.clear();
        self.phase = if read { EepromPhase::Reading } else { EepromPhase::AddressHigh };
        true
    }

    fn write(&mut self, byte: u8) -> bool {
        match self.phase {
            EepromPhase::AddressHigh => {
                self.high = byte;
                self.phase = EepromPhase::AddressLow;
            }
            EepromPhase::AddressLow => {
                self.address = (((self.high as usize) << 8) | byte as usize) % self.memory.len();
                self.phase = EepromPhase::Data;
            }
            EepromPhase::Data => {
                self.page_buffer.insert(self.address, byte);
                let page = self.address - self.address % self.page_size;
                self.address = page + (self.address + 1) % self.page_size;
            }
            EepromPhase::Idle | EepromPhase::Reading => return false,
        }
        true
    }

    fn read(&mut self) -> u8 {
        let value = self.memory[self.address];
        self.address = (self.address + 1) % self.memory.len();
        value
    }

    fn stop(&mut self) {
        if self.phase == EepromPhase::Data && !self.page_buffer.is_empty() {
            for (&address, &value) in &self.page_buffer {
                self.memory[address] = value;
            }
            self.page_buffer.clear();
            self.busy_until = self.now + self.write_cycle;
            self.write_cycles += 1;
        }
        self.phase = EepromPhase::Idle;
    }
}

// ------------------------------------------------------------------ the controller

/// The simulated I2C controller of one bus: its configuration, its targets and the two
/// semaphores of its driver (the bus lock and the completion).
pub struct I2cModel {
    speed_hz: u32,
    targets: BTreeMap<u16, Box<dyn AnyTarget>>,
    bus_stuck: bool,
    transfers: u64,
    /// Held by the transfer in progress (the driver's mutex: `transfer_sync` in
    /// `i2c_nrfx_twim.c`, `bus_mutex` in `i2c_ll_stm32.c`). Boxed: it must not move.
    lock: Box<k_sem>,
    /// Given by the completion interrupt (`completion_sync`).
    done: Box<k_sem>,
}

impl Default for I2cModel {
    fn default() -> Self {
        Self::new()
    }
}

impl I2cModel {
    /// A controller with no targets, at [`DEFAULT_CLOCK_FREQUENCY`].
    pub fn new() -> Self {
        I2cModel {
            speed_hz: DEFAULT_CLOCK_FREQUENCY,
            targets: BTreeMap::new(),
            bus_stuck: false,
            transfers: 0,
            lock: Box::new(Z_SEM_INITIALIZER(1, 1)),
            done: Box::new(Z_SEM_INITIALIZER(0, 1)),
        }
    }

    /// Sets the bit rate before any `i2c_configure` (the devicetree's `clock-frequency`).
    ///
    /// # Panics
    /// If zero.
    pub fn clock_frequency(mut self, hz: u32) -> Self {
        assert!(hz > 0, "I2cModel::clock_frequency: zero");
        self.speed_hz = hz;
        self
    }

    /// Attaches `target` at 7-bit address `addr`.
    ///
    /// # Panics
    /// If `addr` is not a 7-bit address or is taken.
    pub fn attach<T: I2cTarget>(&mut self, addr: u16, target: T) {
        assert!(addr <= 0x7F, "I2C target address {addr:#x} is not a 7-bit address");
        assert!(!self.targets.contains_key(&addr), "two I2C targets at address {addr:#04x}");
        self.targets.insert(addr, Box::new(target));
    }

    /// The bus's bit rate, in Hz.
    pub fn speed_hz(&self) -> u32 {
        self.speed_hz
    }

    /// How many transfers went on the bus, failed ones included (not those refused before
    /// anything was sent: `-ENOTSUP`, `-EINVAL`, `-EBUSY`).
    pub fn transfers(&self) -> u64 {
        self.transfers
    }

    /// Holds the bus low (a target stuck mid-byte, a short): transfers fail with `-EBUSY`
    /// until released.
    pub fn set_bus_stuck(&mut self, stuck: bool) {
        self.bus_stuck = stuck;
    }

    /// Runs `msgs` against the target at `addr`, starting at cycle `now`: the bus events, the
    /// read data copied into the messages' buffers. Returns (result, bit times, trace text).
    ///
    /// # Safety
    /// Every message's buffer is valid for `len` bytes (written for a read).
    unsafe fn run(
        &mut self,
        msgs: &[i2c_msg],
        addr: u16,
        now: u64,
        cycles_per_sec: u32,
    ) -> (c_int, u64, String) {
        let start_ns = now as u128 * 1_000_000_000 / cycles_per_sec as u128;
        let speed = self.speed_hz as u128;
        let time = |bits: u64| {
            Duration::from_nanos((start_ns + bits as u128 * 1_000_000_000 / speed) as u64)
        };
        let mut target = self.targets.get_mut(&addr).map(|t| t.target());
        let mut bits = 0u64;
        // The direction of the phase on the bus, `None` before a START or after a STOP.
        let mut phase: Option<bool> = None;
        let mut addressed = false;
        let mut what = format!("{addr:#04x}");
        let mut count = 0usize;
        let mut result = 0;
        let last = msgs.len() - 1;
        'messages: for (i, msg) in msgs.iter().enumerate() {
            let read = msg.flags & I2C_MSG_READ != 0;
            if phase.is_none() || msg.flags & I2C_MSG_RESTART != 0 || phase != Some(read) {
                if phase.is_some() {
                    what += &format!("[{count}]");
                }
                bits += 1; // START or repeated START
                phase = Some(read);
                what += if read { " r" } else { " w" };
                count = 0;
                let ack = match target.as_deref_mut() {
                    Some(t) => {
                        addressed = true;
                        t.at(time(bits));
                        t.start(read)
                    }
                    None => false,
                };
                bits += 9;
                if !ack {
                    what += " nack(address)";
                    result = -EIO;
                    break 'messages;
                }
            }
            let t = target.as_deref_mut().expect("an acknowledged address has a target");
            let len = msg.len as usize;
            if read {
                let buf: &mut [u8] = if len == 0 {
                    &mut []
                } else {
                    // SAFETY: the caller guarantees the buffer.
                    unsafe { std::slice::from_raw_parts_mut(msg.buf, len) }
                };
                for byte in buf {
                    t.at(time(bits));
                    *byte = t.read();
                    bits += 9;
                    count += 1;
                }
            } else {
                let buf: &[u8] = if len == 0 {
                    &[]
                } else {
                    // SAFETY: the caller guarantees the buffer.
                    unsafe { std::slice::from_raw_parts(msg.buf, len) }
                };
                for &byte in buf {
                    t.at(time(bits));
                    let ack = t.write(byte);
                    bits += 9;
                    count += 1;
                    if !ack {
                        what += &format!("[{count}] nack(data)");
                        result = -EIO;
                        break 'messages;
                    }
                }
            }
            if msg.flags & I2C_MSG_STOP != 0 || i == last {
                what += &format!("[{count}]");
                if i != last {
                    what += " stop";
                }
                t.at(time(bits));
                t.stop();
                bits += 1;
                phase = None;
                addressed = false;
            }
        }
        if result != 0 {
            // The controller ends a refused transfer with a STOP.
            if let (true, Some(t)) = (addressed, target) {
                t.at(time(bits));
                t.stop();
            }
            bits += 1;
        } else {
            what += " ack";
        }
        self.transfers += 1;
        (result, bits, what)
    }
}

impl Model for I2cModel {
    fn kind(&self) -> &'static str {
        "I2C controller"
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

impl Board {
    /// Adds an I2C controller labelled `label`, at 100 kHz until configured, with no targets
    /// (add them with [`i2c_target`](Self::i2c_target)). For another `clock-frequency`, add
    /// an [`I2cModel`] with [`Board::device`].
    pub fn i2c(self, label: &str) -> Self {
        self.device(label, || Box::new(I2cModel::new()))
    }

    /// Attaches a target, built by `make` at each boot, at 7-bit address `addr` of the I2C
    /// controller labelled `bus`.
    ///
    /// ```
    /// use zephyr_sim::devices::i2c::{temperature_sensor, Eeprom, RegisterFile};
    ///
    /// let board = zephyr_sim::devices::Board::new()
    ///     .i2c("i2c0")
    ///     .i2c_target("i2c0", temperature_sensor::ADDRESS, RegisterFile::temperature_sensor)
    ///     .i2c_target("i2c0", 0x50, Eeprom::at24c32);
    /// # let _ = board;
    /// ```
    ///
    /// # Panics
    /// If there is no device `bus` or `addr` is not a 7-bit address; at boot, if `bus` is not
    /// an I2C controller or two targets share an address.
    pub fn i2c_target<T: I2cTarget>(
        mut self,
        bus: &str,
        addr: u16,
        make: impl Fn() -> T + Send + Sync + 'static,
    ) -> Self {
        assert!(addr <= 0x7F, "Board::i2c_target: {addr:#x} is not a 7-bit address");
        let entry = self.devices.iter_mut().find(|d| d.0 == bus);
        let entry = entry.unwrap_or_else(|| {
            panic!("Board::i2c_target: no device '{bus}' (add it with Board::i2c first)")
        });
        let previous = entry.2.clone();
        let label = bus.to_string();
        entry.2 = Arc::new(move || {
            let mut model = previous();
            let kind = model.kind();
            match model.as_any().downcast_mut::<I2cModel>() {
                Some(controller) => controller.attach(addr, make()),
                None => panic!("Board::i2c_target: '{label}' is a {kind}, not an I2C controller"),
            }
            model
        });
        self
    }
}

/// Runs `f` with the target of type `T` at `addr` on the I2C controller labelled `bus`, in a
/// running simulation (from a simulated thread or ISR; `f` makes no kernel call).
///
/// ```no_run
/// use zephyr_sim::devices::i2c::{with_target, RegisterFile};
///
/// // Inside the simulation: a new measurement.
/// with_target("i2c0", 0x48, |sensor: &mut RegisterFile| sensor.set_temperature(-512));
/// ```
///
/// # Panics
/// Outside a simulation, if `bus` is not an I2C controller, or if there is no target of type
/// `T` at `addr`.
pub fn with_target<T: I2cTarget, R>(bus: &str, addr: u16, f: impl FnOnce(&mut T) -> R) -> R {
    with_model_by_label(bus, |controller: &mut I2cModel| {
        let target = controller
            .targets
            .get_mut(&addr)
            .unwrap_or_else(|| panic!("with_target: no target at {addr:#04x} on '{bus}'"));
        let target = target.as_any().downcast_mut::<T>().unwrap_or_else(|| {
            panic!(
                "with_target: the target at {addr:#04x} on '{bus}' is not a {}",
                std::any::type_name::<T>()
            )
        });
        f(target)
    })
}

/// Runs `f` with the I2C controller labelled `bus` (to hold the bus stuck, count transfers,
/// read its speed), in a running simulation.
///
/// # Panics
/// Outside a simulation, or if `bus` is not an I2C controller.
pub fn with_controller<R>(bus: &str, f: impl FnOnce(&mut I2cModel) -> R) -> R {
    with_model_by_label(bus, f)
}

// ------------------------------------------------------------------ driver API

/// Configures an I2C controller (`i2c_configure`): 0, or `-EINVAL` without `I2C_MODE_MASTER`,
/// with `I2C_ADDR_10_BITS`, or for a speed other than standard, fast and fast-plus (as
/// `drivers/i2c/i2c_mcux.c`); the configuration is unchanged on error.
///
/// # Safety
/// `dev` must be a device.
///
/// # Panics
/// If `dev` is not an I2C controller of this board.
#[no_mangle]
pub unsafe extern "C-unwind" fn i2c_configure(dev: *const device, dev_config: u32) -> c_int {
    let speed = match (dev_config & I2C_SPEED_MASK) >> I2C_SPEED_SHIFT {
        I2C_SPEED_STANDARD => 100_000,
        I2C_SPEED_FAST => 400_000,
        I2C_SPEED_FAST_PLUS => 1_000_000,
        _ => 0,
    };
    let valid = dev_config & I2C_MODE_MASTER != 0 && dev_config & I2C_ADDR_10_BITS == 0;
    with_model(dev, "i2c_configure", |m: &mut I2cModel, _| {
        if !valid || speed == 0 {
            return -EINVAL;
        }
        m.speed_hz = speed;
        0
    })
}

/// Runs a transfer (`i2c_transfer`): the messages to the target at `addr`, blocking the caller
/// for the bus time (see the module docs): 0; `-EIO` when the address or a written byte is not
/// acknowledged (after a STOP); `-ENOTSUP` for 10-bit addressing; `-EINVAL` for an address
/// above 0x7F; `-EBUSY` when the bus is held low. Zero messages is 0 at once.
///
/// # Safety
/// `dev` must be a device; `msgs` valid for `num_msgs` messages, each buffer valid for its
/// length (written for a read) until the call returns.
///
/// # Panics
/// In an ISR (the call blocks); if `dev` is not an I2C controller of this board, `msgs` is null
/// with messages, or a buffer is null with a length.
#[no_mangle]
pub unsafe extern "C-unwind" fn i2c_transfer(
    dev: *const device,
    msgs: *mut i2c_msg,
    num_msgs: u8,
    addr: u16,
) -> c_int {
    if with(|k| k.isr_depth > 0) {
        panic!("i2c_transfer: blocking call from ISR context (the transfer waits for the bus)");
    }
    let (lock, done) = with_model(dev, "i2c_transfer", |m: &mut I2cModel, _| {
        (&mut *m.lock as *mut k_sem, &mut *m.done as *mut k_sem)
    });
    if num_msgs == 0 {
        return 0;
    }
    assert!(!msgs.is_null(), "i2c_transfer: msgs is NULL");
    // SAFETY: the caller guarantees `num_msgs` messages at `msgs`.
    let msgs = unsafe { std::slice::from_raw_parts(msgs, num_msgs as usize) };
    for m in msgs {
        assert!(!m.buf.is_null() || m.len == 0, "i2c_transfer: a message's buffer is NULL");
    }
    if msgs.iter().any(|m| m.flags & I2C_MSG_ADDR_10_BITS != 0) {
        return -ENOTSUP;
    }
    if addr > 0x7F {
        return -EINVAL;
    }
    // SAFETY: the model's semaphores live as long as the simulation, boxed (they do not move).
    unsafe { k_sem_take(lock, K_FOREVER) };
    let (result, cycles, label, what) = with_model(dev, "i2c_transfer", |m: &mut I2cModel, k| {
        let label = k.devices.label(dev);
        if m.bus_stuck {
            return (-EBUSY, 0, label, "bus busy".to_string());
        }
        // SAFETY: the caller guarantees the buffers.
        let (result, bits, what) = unsafe { m.run(msgs, addr, k.now, k.cycles_per_sec) };
        let per_sec = k.cycles_per_sec as u128;
        let cycles = (bits as u128 * per_sec).div_ceil(m.speed_hz as u128) as u64;
        (result, cycles, label, what)
    });
    if cycles == 0 {
        with(|k| k.record(TraceEvent::Device { device: label, what }));
    } else {
        let done_addr = done as usize;
        crate::irq::raise_after_cycles(cycles, move || {
            with(|k| k.record(TraceEvent::Device { device: label, what }));
            // SAFETY: the model's completion semaphore (see above); giving is ISR-safe.
            unsafe { k_sem_give(done_addr as *mut k_sem) };
        });
        // SAFETY: as above; thread context (checked at the top).
        unsafe { k_sem_take(done, K_FOREVER) };
    }
    // SAFETY: as above; this transfer holds the lock.
    unsafe { k_sem_give(lock) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `msgs` (flags, buffer) on `m` to `addr`, at cycle 0 of a 1 MHz counter.
    fn run(m: &mut I2cModel, addr: u16, msgs: &mut [(u8, Vec<u8>)]) -> (c_int, u64, String) {
        let raw: Vec<i2c_msg> = msgs
            .iter_mut()
            .map(|(f, b)| i2c_msg { buf: b.as_mut_ptr(), len: b.len() as u32, flags: *f })
            .collect();
        // SAFETY: the buffers live in `msgs` for the call.
        unsafe { m.run(&raw, addr, 0, 1_000_000) }
    }

    #[test]
    fn register_file_write_read_auto_increments() {
        let sensor = RegisterFile::temperature_sensor();
        let mut msgs = [(I2C_MSG_WRITE, vec![0x00]), (I2C_MSG_READ | I2C_MSG_RESTART, vec![0; 2])];
        let mut m = I2cModel::new();
        m.attach(0x48, sensor);
        let (r, bits, what) = run(&mut m, 0x48, &mut msgs);
        assert_eq!((r, what.as_str()), (0, "0x48 w[1] r[2] ack"));
        assert_eq!(bits, 1 + 9 + 9 + 1 + 9 + 18 + 1);
        assert_eq!(msgs[1].1, vec![0x08, 0x66]); // 2150 = 0x0866
    }

    #[test]
    fn eeprom_page_write_wraps_and_the_stop_starts_the_write_cycle() {
        let data: Vec<u8> = (0..34).collect();
        let mut write = vec![0x00, 0x3E];
        write.extend(&data);
        let mut m = I2cModel::new();
        m.attach(0x50, Eeprom::at24c32());
        let (r, bits, what) = run(&mut m, 0x50, &mut [(I2C_MSG_STOP, write)]);
        assert_eq!((r, what.as_str()), (0, "0x50 w[36] ack"));
        let e = m.targets.get_mut(&0x50).unwrap().as_any().downcast_mut::<Eeprom>().unwrap();
        // Page 0x20..0x40: 0x3E, 0x3F, then 0x20...; 34 bytes: the first two are overwritten.
        assert_eq!(e.memory()[0x3E], 32);
        assert_eq!(e.memory()[0x3F], 33);
        assert_eq!(e.memory()[0x20], 2);
        assert_eq!(e.memory()[0x40], 0xFF);
        assert_eq!(e.write_cycles(), 1);
        let stop_ns = (bits - 1) * 10_000;
        assert_eq!(e.busy_until(), Duration::from_nanos(stop_ns) + Duration::from_millis(5));
    }

    #[test]
    fn an_absent_address_and_a_refused_byte_end_the_transfer_with_a_stop() {
        let mut m = I2cModel::new();
        m.attach(0x48, RegisterFile::temperature_sensor());
        let (r, bits, what) = run(&mut m, 0x49, &mut [(I2C_MSG_WRITE, vec![1, 2])]);
        assert_eq!((r, bits, what.as_str()), (-EIO, 1 + 9 + 1, "0x49 w nack(address)"));
        // WHO_AM_I is read-only: the pointer is acknowledged, the data byte is not.
        let write = vec![temperature_sensor::WHO_AM_I, 7, 8];
        let (r, bits, what) = run(&mut m, 0x48, &mut [(I2C_MSG_STOP, write)]);
        assert_eq!((r, bits, what.as_str()), (-EIO, 1 + 27 + 1, "0x48 w[2] nack(data)"));
    }

    #[test]
    fn messages_of_one_direction_are_one_phase_a_turn_or_restart_or_stop_starts_another() {
        let mut m = I2cModel::new();
        m.attach(0x48, RegisterFile::new(8));
        let mut msgs = [
            (I2C_MSG_WRITE, vec![0x01]),
            (I2C_MSG_WRITE, vec![0xAA]), // same phase: register 1 = 0xAA
            (I2C_MSG_READ, vec![0]),     // turn: repeated START
            (I2C_MSG_READ | I2C_MSG_STOP, vec![0]), // same phase, then STOP
            (I2C_MSG_WRITE, vec![0x01]), // new START
        ];
        let (r, _, what) = run(&mut m, 0x48, &mut msgs);
        assert_eq!((r, what.as_str()), (0, "0x48 w[2] r[2] stop w[1] ack"));
        assert_eq!((msgs[2].1[0], msgs[3].1[0]), (0, 0)); // registers 2 and 3
    }

    #[test]
    fn an_eeprom_refuses_its_address_during_the_write_cycle() {
        let mut m = I2cModel::new();
        m.attach(0x50, Eeprom::at24c32().write_cycle(Duration::from_millis(1)));
        let (r, bits, _) = run(&mut m, 0x50, &mut [(I2C_MSG_STOP, vec![0, 0, 0x42])]);
        assert_eq!((r, bits), (0, 1 + 36 + 1));
        // At cycle 0 again: still in the write cycle.
        let (r, _, what) = run(&mut m, 0x50, &mut [(I2C_MSG_STOP, vec![0, 0])]);
        assert_eq!((r, what.as_str()), (-EIO, "0x50 w nack(address)"));
        // SAFETY: the buffers live for the call.
        let mut read = [0u8; 1];
        let mut addr = [0u8, 0];
        let msgs = [
            i2c_msg { buf: addr.as_mut_ptr(), len: 2, flags: I2C_MSG_WRITE },
            i2c_msg { buf: read.as_mut_ptr(), len: 1, flags: I2C_MSG_READ | I2C_MSG_RESTART },
        ];
        // SAFETY: the buffers live for the call. 2 ms later, at a 1 MHz counter.
        let (r, _, _) = unsafe { m.run(&msgs, 0x50, 2_000, 1_000_000) };
        assert_eq!((r, read[0]), (0, 0x42));
        let e = m.targets.get_mut(&0x50).unwrap().as_any().downcast_mut::<Eeprom>().unwrap();
        assert_eq!((e.refused(), e.write_cycles()), (1, 1));
    }
}
