//! Simulated UART: frames on two wires in virtual time, behind Zephyr 2.7's interrupt-driven
//! UART API.
//!
//! A [`UartModel`] is a 16550-like UART: a receive FIFO and a transmit FIFO of the same depth
//! (16 by default), a transmit shift register, and the line configuration of
//! `uart_configure` (8N1 at the board's baud rate by default). What the simulated functions do
//! follows `include/drivers/uart.h`'s contracts and what the ns16550 and stellaris drivers do
//! with their hardware.
//!
//! # Time on the wire
//!
//! A frame (start bit, data bits, parity bit, stop bits: 10 bits for 8N1) takes
//! `bits / baud` seconds. Frames sent back to back form a *burst*: frame `n` (from 1) of a burst
//! that started at cycle `s` ends at `s + ceil(n * bits * cycles_per_sec / baud)`, so
//! timestamps never drift however long the burst (115 200 baud on the 1 MHz counter: 86.8
//! cycles a frame, ending at 87, 174, 261, 348, ...). A frame that starts on an idle line starts
//! a new burst.
//!
//! * **Receive**: a test feeds bytes ([`UartPort::feed`]); each *lands* at the end of its frame:
//!   into the RX FIFO, or, if the FIFO is full, it is lost and `UART_ERROR_OVERRUN` is latched,
//!   as hardware does. An injected line error ([`UartPort::inject_error`]: framing, parity,
//!   break) takes one frame on the line and latches its `UART_ERROR_*` bit; the garbled frame
//!   puts no byte in the FIFO (Zephyr's API cannot say which byte an error belongs to).
//! * **Transmit**: `uart_fifo_fill` and `uart_poll_out` put bytes in the TX FIFO; the shift
//!   register takes the first at once if the line is idle, and the next one the moment the
//!   previous frame ends, so a FIFO kept non-empty sends a burst. A byte *leaves the wire* at the
//!   end of its frame: it is then in [`UartPort::tx_log`] with that cycle.
//!
//! # Interrupts: level-triggered
//!
//! ```text
//!   RX   asserted while  uart_irq_rx_enable'd   and the RX FIFO holds a byte
//!   TX   asserted while  uart_irq_tx_enable'd   and the TX FIFO has room
//!   ERR  asserted while  uart_irq_err_enable'd  and an error is latched (uart_err_check clears)
//! ```
//!
//! While any is asserted and a callback is set (`uart_irq_callback_user_data_set`), the
//! UART's ISR calls it, in ISR context, at the virtual time the condition arose (a frame
//! landed, a frame left the TX FIFO, the interrupt was enabled), and calls it again after it
//! returns for as long as one is still asserted, as a level-triggered interrupt line does. So a
//! callback must read what it is told about (`uart_fifo_read`), fill or disable TX
//! (`uart_irq_tx_disable` once it has nothing to send, as Zephyr's users do) and clear errors
//! (`uart_err_check`). One that leaves an interrupt asserted and does nothing would hang a real
//! CPU in its ISR: after a bound of calls at one instant the simulation ends with a panic naming
//! the UART and the interrupts still asserted.
//!
//! `uart_irq_update` returns 1 and latches nothing: the `uart_irq_*_ready` calls read the live
//! state. `uart_irq_rx_ready` is the RX FIFO's state whether or not RX interrupts are enabled
//! (as stm32's RXNE); `uart_irq_tx_ready` is true only with TX interrupts enabled (the masked
//! status, as stellaris and stm32 report it); `uart_irq_tx_complete` is true once the TX FIFO
//! and the shift register are empty (ns16550's `TEMT`).
//!
//! # In the trace
//!
//! With [`crate::Sim::trace`], the UART records [`TraceEvent::Device`] events under its node
//! label: `rx 0x41 'A'` when a byte lands, `rx 0x41 'A' lost: overrun` when the FIFO was full,
//! `rx framing error` (or `parity error`, `break`) when an injected error lands, `tx 0x41 'A'`
//! when a byte leaves the wire, and `configured 9600 8N1` after `uart_configure`.
//!
//! # Testing with it
//!
//! ```
//! use zephyr_sim::devices::{uart::UartPort, Board};
//! use zephyr_sys::*;
//!
//! let board = Board::new().uart("uart1", 115_200);
//! let (got, log) = zephyr_sim::Sim::new()
//!     .board(board)
//!     .run(|| {
//!         let port = UartPort::get("uart1");
//!         port.feed(b"hi"); // lands at cycles 87 and 174
//!         // SAFETY: kernel and UART calls from the simulated main thread.
//!         unsafe {
//!             let uart = zr_device_by_label(c"uart1".as_ptr());
//!             k_busy_wait(200);
//!             let mut c = 0u8;
//!             let mut got = Vec::new();
//!             while uart_poll_in(uart, &mut c) == 0 {
//!                 got.push(c);
//!             }
//!             uart_poll_out(uart, b'!'); // 10 bits at 115 200 baud from cycle 200
//!             k_busy_wait(100);
//!             (got, port.tx_log())
//!         }
//!     })
//!     .unwrap()
//!     .value
//!     .unwrap();
//! assert_eq!(got, b"hi");
//! assert_eq!(log, [(287, b'!')]);
//! ```

use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
use std::fmt::Write as _;

use zephyr_sys::uart_cfg::*;
use zephyr_sys::uart_errors::*;
use zephyr_sys::{device, uart_config, uart_irq_callback_user_data_t, EINVAL, ENOTSUP};

use super::{with_model, Board, Model};
use crate::irq;
use crate::kernel::{with, Kernel};
use crate::trace::TraceEvent;

/// The FIFO depth of [`Board::uart`]'s UARTs: a 16550's.
pub const DEFAULT_FIFO_DEPTH: usize = 16;

/// How many times one ISR may call the callback at one instant, beyond twice the FIFO depth,
/// before it is an interrupt storm.
const STORM_LIMIT: usize = 1000;

/// A receive error a test injects on the line ([`UartPort::inject_error`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineError {
    /// A frame without its stop bit (`UART_ERROR_FRAMING`).
    Framing,
    /// A frame whose parity bit is wrong (`UART_ERROR_PARITY`).
    Parity,
    /// The line held low for longer than a frame (`UART_BREAK`).
    Break,
}

impl LineError {
    /// Its `UART_ERROR_*` bit.
    pub fn bit(self) -> i32 {
        match self {
            LineError::Framing => UART_ERROR_FRAMING,
            LineError::Parity => UART_ERROR_PARITY,
            LineError::Break => UART_BREAK,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            LineError::Framing => "framing error",
            LineError::Parity => "parity error",
            LineError::Break => "break",
        }
    }
}

/// What one frame on the receive line carries.
#[derive(Clone, Copy, Debug)]
enum Frame {
    Byte(u8),
    Error(LineError),
}

/// The half-bits in one frame of `cfg` (half, for 1.5 stop bits): start, data, parity, stop.
fn frame_half_bits(cfg: &uart_config) -> u64 {
    let data = 5 + cfg.data_bits as u64; // UART_CFG_DATA_BITS_5 is 0
    let parity = (cfg.parity != UART_CFG_PARITY_NONE) as u64;
    let stop_halves = 1 + cfg.stop_bits as u64; // 0.5, 1, 1.5, 2 stop bits: 1 to 4 halves
    2 + 2 * data + 2 * parity + stop_halves
}

/// Frames sent back to back from `start`, at one rate.
#[derive(Clone, Copy, Debug)]
struct Burst {
    start: u64,
    /// Frames so far.
    frames: u64,
    half_bits: u64,
    baud: u64,
}

impl Burst {
    /// The cycle at which frame `n` (from 1) ends.
    fn end_of(&self, n: u64, hz: u64) -> u64 {
        let num = n as u128 * self.half_bits as u128 * hz as u128;
        let den = 2 * self.baud as u128;
        self.start + num.div_ceil(den) as u64
    }
}

/// One direction's wire: when its last frame ends, and the burst it belongs to.
#[derive(Clone, Copy, Debug, Default)]
struct Line {
    burst: Option<Burst>,
    /// End of the last frame (0: never used).
    end: u64,
}

impl Line {
    /// Schedules a frame that may start at `at` (or when the previous one ends, if later):
    /// returns when it ends. It continues the current burst if the line is still busy at `at`
    /// (or just became free) and the rate is the same.
    fn next_frame(&mut self, at: u64, cfg: &uart_config, hz: u64) -> u64 {
        let (half_bits, baud) = (frame_half_bits(cfg), cfg.baudrate as u64);
        let end = match &mut self.burst {
            Some(b) if at <= self.end && b.half_bits == half_bits && b.baud == baud => {
                b.frames += 1;
                b.end_of(b.frames, hz)
            }
            _ => {
                let b = Burst { start: at.max(self.end), frames: 1, half_bits, baud };
                self.burst = Some(b);
                b.end_of(1, hz)
            }
        };
        self.end = end;
        end
    }
}

/// The model of a UART (see the module docs).
#[derive(Debug)]
pub struct UartModel {
    label: String,
    config: uart_config,
    depth: usize,
    rx_fifo: VecDeque<u8>,
    tx_fifo: VecDeque<u8>,
    /// Frames on the receive line, by the cycle they land at.
    rx_line: VecDeque<(u64, Frame)>,
    rx_timing: Line,
    /// The byte in the transmit shift register, and when its frame ends.
    tx_shift: Option<(u8, u64)>,
    tx_timing: Line,
    /// Every byte that left the wire, with the cycle its frame ended.
    tx_log: Vec<(u64, u8)>,
    /// Latched `UART_ERROR_*` bits.
    errors: i32,
    rx_irq: bool,
    tx_irq: bool,
    err_irq: bool,
    callback: uart_irq_callback_user_data_t,
    user_data: *mut c_void,
    /// The interrupt was raised "now" and its ISR has not started yet.
    raised: bool,
    /// The ISR is calling the callback (it looks again before it returns).
    dispatching: bool,
    /// Line events to raise the ISR at (frame ends), gathered until the kernel is free.
    wakes: Vec<u64>,
}

impl Model for UartModel {
    fn kind(&self) -> &'static str {
        "UART"
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl UartModel {
    /// A UART labelled `label` (for the trace and messages) at `baud`, 8N1, with FIFOs of
    /// `depth` bytes, interrupts disabled, no callback.
    ///
    /// # Panics
    /// If `baud` or `depth` is 0.
    pub fn new(label: &str, baud: u32, depth: usize) -> Self {
        assert!(baud > 0, "UART '{label}': the baud rate must not be 0");
        assert!(depth > 0, "UART '{label}': the FIFO depth must be at least 1");
        UartModel {
            label: label.to_string(),
            config: uart_config {
                baudrate: baud,
                parity: UART_CFG_PARITY_NONE,
                stop_bits: UART_CFG_STOP_BITS_1,
                data_bits: UART_CFG_DATA_BITS_8,
                flow_ctrl: UART_CFG_FLOW_CTRL_NONE,
            },
            depth,
            rx_fifo: VecDeque::new(),
            tx_fifo: VecDeque::new(),
            rx_line: VecDeque::new(),
            rx_timing: Line::default(),
            tx_shift: None,
            tx_timing: Line::default(),
            tx_log: Vec::new(),
            errors: 0,
            rx_irq: false,
            tx_irq: false,
            err_irq: false,
            callback: None,
            user_data: std::ptr::null_mut(),
            raised: false,
            dispatching: false,
            wakes: Vec::new(),
        }
    }

    /// Records `what` in the trace under the UART's label, when tracing (the text is only
    /// built then: a UART at full speed lands and sends thousands of bytes a second).
    fn note(&self, k: &mut Kernel, what: impl FnOnce() -> String) {
        if k.trace.is_some() {
            k.record(TraceEvent::Device { device: self.label.clone(), what: what() });
        }
    }

    /// Brings the wires up to `k.now`: lands every frame that has ended and finishes every
    /// transmitted frame, in time order (a receive frame first when both end at one cycle).
    fn catch_up(&mut self, k: &mut Kernel) {
        loop {
            let rx = self.rx_line.front().map(|f| f.0).filter(|&t| t <= k.now);
            let tx = self.tx_shift.map(|s| s.1).filter(|&t| t <= k.now);
            match (rx, tx) {
                (None, None) => return,
                (Some(r), Some(t)) if t < r => self.finish_tx(k),
                (Some(_), _) => self.land_rx(k),
                (None, Some(_)) => self.finish_tx(k),
            }
        }
    }

    fn land_rx(&mut self, k: &mut Kernel) {
        let (_, frame) = self.rx_line.pop_front().expect("a frame to land");
        match frame {
            Frame::Byte(b) if self.rx_fifo.len() < self.depth => {
                self.rx_fifo.push_back(b);
                self.note(k, || format!("rx {}", show(b)));
            }
            Frame::Byte(b) => {
                self.errors |= UART_ERROR_OVERRUN;
                self.note(k, || format!("rx {} lost: overrun", show(b)));
            }
            Frame::Error(e) => {
                self.errors |= e.bit();
                self.note(k, || format!("rx {}", e.describe()));
            }
        }
    }

    fn finish_tx(&mut self, k: &mut Kernel) {
        let (b, end) = self.tx_shift.take().expect("a frame on the wire");
        self.tx_log.push((end, b));
        self.note(k, || format!("tx {}", show(b)));
        self.start_tx(end, k);
    }

    /// Moves the next FIFO byte into an idle shift register at `at`.
    fn start_tx(&mut self, at: u64, k: &Kernel) {
        if self.tx_shift.is_none() {
            if let Some(b) = self.tx_fifo.pop_front() {
                let end = self.tx_timing.next_frame(at, &self.config, k.cycles_per_sec as u64);
                self.tx_shift = Some((b, end));
                self.wakes.push(end);
            }
        }
    }

    fn tx_room(&self) -> usize {
        self.depth - self.tx_fifo.len()
    }

    /// Whether an enabled interrupt condition holds.
    fn asserted(&self) -> bool {
        (self.rx_irq && !self.rx_fifo.is_empty())
            || (self.tx_irq && self.tx_room() > 0)
            || (self.err_irq && self.errors != 0)
    }

    /// Whether to raise the interrupt now: one is asserted, and no ISR is raised or running
    /// (a running one looks again before it returns).
    fn needs_interrupt(&mut self) -> bool {
        if self.asserted() && self.callback.is_some() && !self.raised && !self.dispatching {
            self.raised = true;
            return true;
        }
        false
    }

    /// The interrupts asserted now, for the storm report.
    fn describe_asserted(&self) -> String {
        let mut s = Vec::new();
        if self.rx_irq && !self.rx_fifo.is_empty() {
            s.push(format!(
                "RX (the RX FIFO holds {} bytes: read them with uart_fifo_read, or \
                 uart_irq_rx_disable)",
                self.rx_fifo.len()
            ));
        }
        if self.tx_irq && self.tx_room() > 0 {
            s.push(format!(
                "TX (the TX FIFO has room for {} bytes: fill it with uart_fifo_fill, or \
                 uart_irq_tx_disable when there is nothing to send)",
                self.tx_room()
            ));
        }
        if self.err_irq && self.errors != 0 {
            s.push(format!("ERR (errors {:#x} latched: uart_err_check clears them)", self.errors));
        }
        s.join("; ")
    }

    /// Queues frames on the receive line from `at` (or when the line is free), back to back.
    fn feed(&mut self, at: u64, frames: impl IntoIterator<Item = Frame>, k: &Kernel) {
        let hz = k.cycles_per_sec as u64;
        for f in frames {
            let end = self.rx_timing.next_frame(at.max(k.now), &self.config, hz);
            self.rx_line.push_back((end, f));
            self.wakes.push(end);
        }
    }
}

/// A byte for the trace: `0x41 'A'`, or `0x0a`.
fn show(b: u8) -> String {
    let mut s = format!("{b:#04x}");
    if b.is_ascii_graphic() || b == b' ' {
        let _ = write!(s, " '{}'", b as char);
    }
    s
}

/// The line format for the trace: `8N1`.
fn format_name(cfg: &uart_config) -> String {
    let parity = ["N", "O", "E", "M", "S"][cfg.parity as usize];
    let stop = ["0.5", "1", "1.5", "2"][cfg.stop_bits as usize];
    format!("{}{parity}{stop}", 5 + cfg.data_bits)
}

impl Board {
    /// Adds a UART labelled `label` at `baud`, 8N1, with 16-byte FIFOs ([`UartModel`]).
    ///
    /// ```
    /// use zephyr_sim::devices::Board;
    /// let board = Board::new().uart("uart1", 115_200);
    /// ```
    ///
    /// # Panics
    /// If the label is taken or `baud` is 0.
    pub fn uart(self, label: &str, baud: u32) -> Self {
        self.uart_with_fifo(label, baud, DEFAULT_FIFO_DEPTH)
    }

    /// Adds a UART like [`Board::uart`] whose RX and TX FIFOs hold `depth` bytes each (1 for a
    /// UART with only a holding register).
    ///
    /// # Panics
    /// If the label is taken, or `baud` or `depth` is 0.
    pub fn uart_with_fifo(self, label: &str, baud: u32, depth: usize) -> Self {
        UartModel::new(label, baud, depth); // checks now rather than at boot
        let name = label.to_string();
        self.device(label, move || Box::new(UartModel::new(&name, baud, depth)))
    }
}

/// Runs `f` on UART `dev`'s model brought up to now, then raises what it asks for: the ISR at
/// each new line event, and at once if an interrupt became asserted.
fn call<R>(dev: *const device, name: &str, f: impl FnOnce(&mut UartModel, &mut Kernel) -> R) -> R {
    let (r, wakes, raise_now) = with_model(dev, name, |m: &mut UartModel, k| {
        m.catch_up(k);
        let r = f(m, k);
        (r, std::mem::take(&mut m.wakes), m.needs_interrupt())
    });
    schedule(dev, wakes, raise_now);
    r
}

/// Raises the ISR at each cycle of `wakes`, and now if `raise_now`.
fn schedule(dev: *const device, wakes: Vec<u64>, raise_now: bool) {
    let d = dev as usize;
    for at in wakes {
        irq::raise_at_cycle(at, move || isr(d as *const device, at));
    }
    if raise_now {
        irq::raise_after_cycles(0, move || isr(d as *const device, 0));
    }
}

/// The UART's ISR, raised for a line event due at `due` (0: "now"): brings the wires up to
/// date and calls the callback while an interrupt is asserted (see the module docs). Runs
/// outside the kernel borrow, in ISR context.
fn isr(dev: *const device, due: u64) {
    const CALL: &str = "UART interrupt";
    // Seeded runs may deliver an interrupt early within its tick: wait for the event.
    if with(|k| k.now < due) {
        let d = dev as usize;
        irq::raise_at_cycle(due, move || isr(d as *const device, due));
        return;
    }
    let mut rounds = 0usize;
    loop {
        let (call, wakes) = with_model(dev, CALL, |m: &mut UartModel, k| {
            m.raised = false;
            m.catch_up(k);
            let call = match m.callback {
                Some(cb) if m.asserted() => {
                    m.dispatching = true;
                    Some((cb, m.user_data, 2 * m.depth + STORM_LIMIT))
                }
                _ => {
                    m.dispatching = false;
                    None
                }
            };
            (call, std::mem::take(&mut m.wakes))
        });
        schedule(dev, wakes, false);
        let Some((cb, user_data, limit)) = call else { return };
        rounds += 1;
        if rounds > limit {
            let (label, now, what) = with_model(dev, CALL, |m: &mut UartModel, k| {
                (m.label.clone(), k.now, m.describe_asserted())
            });
            panic!(
                "{label}: interrupt storm: the UART's IRQ callback returned {limit} times at \
                 cycle {now} with interrupts still asserted: {what}. A level-triggered UART \
                 interrupt that the callback leaves asserted hangs a real CPU in its ISR"
            );
        }
        // SAFETY: the callback and its user data were given together by
        // `uart_irq_callback_user_data_set`; it runs in ISR context, outside the kernel borrow,
        // as a Zephyr UART driver's ISR calls it.
        unsafe { cb(dev, user_data) };
    }
}

/// Reads a character if one is waiting (`uart_poll_in`): 0 and the character, or -1 if the RX
/// FIFO is empty.
///
/// # Panics
/// If `dev` is not a UART of this simulation, or `p_char` is NULL.
///
/// # Safety
/// `p_char` must be valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_poll_in(dev: *const device, p_char: *mut u8) -> c_int {
    assert!(!p_char.is_null(), "uart_poll_in: p_char is NULL");
    match call(dev, "uart_poll_in", |m, _| m.rx_fifo.pop_front()) {
        Some(c) => {
            // SAFETY: the caller guarantees `p_char`.
            unsafe { p_char.write(c) };
            0
        }
        None => -1,
    }
}

/// Writes a character (`uart_poll_out`), waiting while the TX FIFO is full: the caller spins
/// (`k_busy_wait`'s machinery: virtual time passes, and interrupts run unless it holds
/// `irq_lock`) until the shift register takes a byte.
///
/// # Panics
/// If `dev` is not a UART of this simulation.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_poll_out(dev: *const device, out_char: u8) {
    loop {
        let wait = call(dev, "uart_poll_out", |m, k| {
            if m.tx_room() > 0 {
                m.tx_fifo.push_back(out_char);
                m.start_tx(k.now, k);
                None
            } else {
                // A full FIFO means the shift register is busy until its frame ends.
                let end = m.tx_shift.map_or(k.now + 1, |s| s.1);
                Some(end - k.now)
            }
        });
        match wait {
            None => return,
            Some(cycles) => crate::switch::busy_wait(cycles.max(1)),
        }
    }
}

/// Returns and clears the latched receive errors (`uart_err_check`): `UART_ERROR_*` bits, 0 if
/// none.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_err_check(dev: *const device) -> c_int {
    call(dev, "uart_err_check", |m, _| std::mem::take(&mut m.errors))
}

/// Sets the line configuration (`uart_configure`): 0; `-EINVAL` for a baud rate of 0 or a
/// field out of its enum's range; `-ENOTSUP` for what the simulated UART lacks (flow control,
/// 9 data bits, half a stop bit). Frames already on the wires keep their timing; later ones
/// use the new rate.
///
/// # Safety
/// `cfg` must be valid for a read.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_configure(
    dev: *const device,
    cfg: *const uart_config,
) -> c_int {
    assert!(!cfg.is_null(), "uart_configure: cfg is NULL");
    // SAFETY: the caller guarantees `cfg`.
    let cfg = unsafe { *cfg };
    if cfg.baudrate == 0
        || cfg.parity > UART_CFG_PARITY_SPACE
        || cfg.stop_bits > UART_CFG_STOP_BITS_2
        || cfg.data_bits > UART_CFG_DATA_BITS_9
        || cfg.flow_ctrl > UART_CFG_FLOW_CTRL_DTR_DSR
    {
        return -EINVAL;
    }
    if cfg.flow_ctrl != UART_CFG_FLOW_CTRL_NONE
        || cfg.data_bits == UART_CFG_DATA_BITS_9
        || cfg.stop_bits == UART_CFG_STOP_BITS_0_5
    {
        return -ENOTSUP;
    }
    call(dev, "uart_configure", |m, k| {
        m.config = cfg;
        m.note(k, || format!("configured {} {}", cfg.baudrate, format_name(&cfg)));
    });
    0
}

/// Reads the line configuration (`uart_config_get`): 0.
///
/// # Safety
/// `cfg` must be valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_config_get(
    dev: *const device,
    cfg: *mut uart_config,
) -> c_int {
    assert!(!cfg.is_null(), "uart_config_get: cfg is NULL");
    let c = call(dev, "uart_config_get", |m, _| m.config);
    // SAFETY: the caller guarantees `cfg`.
    unsafe { cfg.write(c) };
    0
}

/// Puts up to `size` bytes into the TX FIFO (`uart_fifo_fill`): as many as it has room for;
/// returns how many. The shift register takes the first at once if the line is idle.
///
/// # Safety
/// `tx_data` must be valid for `size` bytes.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_fifo_fill(
    dev: *const device,
    tx_data: *const u8,
    size: c_int,
) -> c_int {
    if size <= 0 {
        return 0;
    }
    assert!(!tx_data.is_null(), "uart_fifo_fill: tx_data is NULL");
    // SAFETY: the caller guarantees `tx_data` for `size` bytes.
    let data = unsafe { std::slice::from_raw_parts(tx_data, size as usize) };
    call(dev, "uart_fifo_fill", |m, k| {
        let n = m.tx_room().min(data.len());
        m.tx_fifo.extend(&data[..n]);
        m.start_tx(k.now, k);
        n as c_int
    })
}

/// Takes up to `size` bytes from the RX FIFO (`uart_fifo_read`); returns how many.
///
/// # Safety
/// `rx_data` must be valid for writes of `size` bytes.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_fifo_read(
    dev: *const device,
    rx_data: *mut u8,
    size: c_int,
) -> c_int {
    if size <= 0 {
        return 0;
    }
    assert!(!rx_data.is_null(), "uart_fifo_read: rx_data is NULL");
    let got: Vec<u8> = call(dev, "uart_fifo_read", |m, _| {
        let n = m.rx_fifo.len().min(size as usize);
        m.rx_fifo.drain(..n).collect()
    });
    // SAFETY: the caller guarantees `rx_data` for `size` bytes; `got` has at most `size`.
    unsafe { std::ptr::copy_nonoverlapping(got.as_ptr(), rx_data, got.len()) };
    got.len() as c_int
}

/// Enables the TX interrupt (`uart_irq_tx_enable`): asserted while the TX FIFO has room.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_tx_enable(dev: *const device) {
    call(dev, "uart_irq_tx_enable", |m, _| m.tx_irq = true);
}

/// Disables the TX interrupt (`uart_irq_tx_disable`).
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_tx_disable(dev: *const device) {
    call(dev, "uart_irq_tx_disable", |m, _| m.tx_irq = false);
}

/// Whether the TX FIFO takes a byte, with TX interrupts enabled (`uart_irq_tx_ready`): 1 or 0.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_tx_ready(dev: *const device) -> c_int {
    call(dev, "uart_irq_tx_ready", |m, _| (m.tx_irq && m.tx_room() > 0) as c_int)
}

/// Enables the RX interrupt (`uart_irq_rx_enable`): asserted while the RX FIFO holds a byte.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_rx_enable(dev: *const device) {
    call(dev, "uart_irq_rx_enable", |m, _| m.rx_irq = true);
}

/// Disables the RX interrupt (`uart_irq_rx_disable`).
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_rx_disable(dev: *const device) {
    call(dev, "uart_irq_rx_disable", |m, _| m.rx_irq = false);
}

/// Whether everything written has left the wire (`uart_irq_tx_complete`): 1 when the TX FIFO
/// and the shift register are empty, else 0.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_tx_complete(dev: *const device) -> c_int {
    call(dev, "uart_irq_tx_complete", |m, _| {
        (m.tx_fifo.is_empty() && m.tx_shift.is_none()) as c_int
    })
}

/// Whether the RX FIFO holds a byte (`uart_irq_rx_ready`): 1 or 0, whether or not RX
/// interrupts are enabled.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_rx_ready(dev: *const device) -> c_int {
    call(dev, "uart_irq_rx_ready", |m, _| !m.rx_fifo.is_empty() as c_int)
}

/// Enables the error interrupt (`uart_irq_err_enable`): asserted while an error is latched.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_err_enable(dev: *const device) {
    call(dev, "uart_irq_err_enable", |m, _| m.err_irq = true);
}

/// Disables the error interrupt (`uart_irq_err_disable`).
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_err_disable(dev: *const device) {
    call(dev, "uart_irq_err_disable", |m, _| m.err_irq = false);
}

/// Whether an enabled interrupt is asserted (`uart_irq_is_pending`): 1 or 0.
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_is_pending(dev: *const device) -> c_int {
    call(dev, "uart_irq_is_pending", |m, _| m.asserted() as c_int)
}

/// Starts an ISR's look at the interrupt state (`uart_irq_update`): always 1 (the
/// `uart_irq_*_ready` calls read the live state).
///
/// # Safety
/// `dev` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_update(dev: *const device) -> c_int {
    call(dev, "uart_irq_update", |_, _| 1)
}

/// Sets the interrupt callback and its user data (`uart_irq_callback_user_data_set`); `None`
/// removes it. If an enabled interrupt is already asserted, the new callback runs at once.
///
/// # Safety
/// `dev` must be a device; `cb` must stay callable with `user_data` until replaced.
#[no_mangle]
pub unsafe extern "C-unwind" fn uart_irq_callback_user_data_set(
    dev: *const device,
    cb: uart_irq_callback_user_data_t,
    user_data: *mut c_void,
) {
    call(dev, "uart_irq_callback_user_data_set", |m, _| {
        m.callback = cb;
        m.user_data = user_data;
    });
}

/// A test's handle on a simulated UART: feeds its receive line and reads what it sent.
///
/// Get it inside the simulation (`UartPort::get("uart1")`); its methods are for simulated
/// threads and ISRs (they use the running simulation's kernel).
#[derive(Clone, Debug)]
pub struct UartPort {
    label: String,
    dev: usize,
}

impl UartPort {
    /// The UART labelled `label`.
    ///
    /// # Panics
    /// Outside a simulation, or if the board has no device `label` or it is not a UART.
    pub fn get(label: &str) -> UartPort {
        super::with_model_by_label(label, |_: &mut UartModel| ());
        let dev = with(|k| k.devices.by_label(label)) as usize;
        UartPort { label: label.to_string(), dev }
    }

    fn dev(&self) -> *const device {
        self.dev as *const device
    }

    /// Sends `bytes` to the UART's receive line from now, back to back at its baud rate:
    /// byte `n` (from 1) lands `n` frame times later (after the frames already on the line, if
    /// it is busy), each raising the RX interrupt when it lands.
    pub fn feed(&self, bytes: impl AsRef<[u8]>) {
        let now = with(|k| k.now);
        self.feed_at(now, bytes);
    }

    /// Like [`feed`](Self::feed), with the first frame starting at cycle `at` (or when the
    /// line is free, if later; or now, if `at` has passed).
    pub fn feed_at(&self, at: u64, bytes: impl AsRef<[u8]>) {
        let frames: Vec<Frame> = bytes.as_ref().iter().map(|&b| Frame::Byte(b)).collect();
        call(self.dev(), &self.label, |m, k| m.feed(at, frames, k));
    }

    /// Sends one garbled frame carrying `error` after what is on the receive line: when it
    /// lands, the UART latches its `UART_ERROR_*` bit (and raises the error interrupt if it is
    /// enabled); no byte reaches the FIFO.
    pub fn inject_error(&self, error: LineError) {
        let now = with(|k| k.now);
        call(self.dev(), &self.label, |m, k| m.feed(now, [Frame::Error(error)], k));
    }

    /// Every byte that has left the wire so far, in order.
    pub fn transmitted(&self) -> Vec<u8> {
        call(self.dev(), &self.label, |m, _| m.tx_log.iter().map(|&(_, b)| b).collect())
    }

    /// Every byte that has left the wire so far, with the cycle at which its frame ended.
    pub fn tx_log(&self) -> Vec<(u64, u8)> {
        call(self.dev(), &self.label, |m, _| m.tx_log.clone())
    }

    /// How many bytes wait in the RX FIFO.
    pub fn rx_fifo_len(&self) -> usize {
        call(self.dev(), &self.label, |m, _| m.rx_fifo.len())
    }

    /// The cycle at which the last frame fed so far lands (0 if none was).
    pub fn rx_line_end(&self) -> u64 {
        call(self.dev(), &self.label, |m, _| m.rx_timing.end)
    }

    /// The line configuration.
    pub fn config(&self) -> uart_config {
        call(self.dev(), &self.label, |m, _| m.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(baud: u32) -> uart_config {
        UartModel::new("u", baud, 16).config
    }

    #[test]
    fn frames_of_a_burst_do_not_drift() {
        let mut line = Line::default();
        let c = cfg(115_200);
        let ends: Vec<u64> = (0..4).map(|_| line.next_frame(0, &c, 1_000_000)).collect();
        assert_eq!(ends, [87, 174, 261, 348]); // ceil(n * 86.805...)
                                               // 115 200 frames later: exactly 10 s.
        let b = line.burst.unwrap();
        assert_eq!(b.end_of(115_200, 1_000_000), 10_000_000);
    }

    #[test]
    fn a_frame_on_an_idle_line_starts_a_new_burst() {
        let mut line = Line::default();
        let c = cfg(9600);
        assert_eq!(line.next_frame(0, &c, 1_000_000), 1042);
        // Requested while the line is busy: after the first, in the same burst.
        assert_eq!(line.next_frame(500, &c, 1_000_000), 2084);
        // Requested after it went idle: a new burst from then.
        assert_eq!(line.next_frame(5000, &c, 1_000_000), 6042);
    }

    #[test]
    fn frame_bits_follow_the_configuration() {
        let mut c = cfg(9600);
        assert_eq!(frame_half_bits(&c), 20); // 8N1: 10 bits
        c.parity = UART_CFG_PARITY_EVEN;
        c.stop_bits = UART_CFG_STOP_BITS_2;
        assert_eq!(frame_half_bits(&c), 24); // 8E2: 12 bits
        c.data_bits = UART_CFG_DATA_BITS_5;
        c.parity = UART_CFG_PARITY_NONE;
        c.stop_bits = UART_CFG_STOP_BITS_1_5;
        assert_eq!(frame_half_bits(&c), 15); // 5N1.5: 7.5 bits
        assert_eq!(format_name(&c), "5N1.5");
    }
}
