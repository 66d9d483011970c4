//! UART: interrupt-driven and buffered, with embedded-io-async and embedded-io.
//!
//! A [`Uart`] drives a UART through Zephyr's interrupt-driven API (`uart_irq_*`,
//! `uart_fifo_read`/`uart_fifo_fill`, `uart_err_check`): its interrupt callback moves received
//! bytes from the UART's RX FIFO into a receive ring buffer, and bytes to send from a transmit
//! ring buffer into the TX FIFO, and wakes whoever waits. The ring buffers live in a
//! [`UartBuffers`], a `static` (or leaked) object whose sizes are const generics: the driver
//! allocates nothing.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::device::uart::{Uart, UartBuffers};
//!
//! static BUFFERS: UartBuffers<64, 64> = UartBuffers::new();
//!
//! async fn echo() -> Result<(), zephyr::device::uart::UartError> {
//!     let uart = Uart::get("uart1", &BUFFERS).expect("uart1 is ready");
//!     let (mut rx, mut tx) = uart.split(); // or use `uart` whole
//!     let mut buf = [0u8; 16];
//!     loop {
//!         let n = rx.read(&mut buf).await?; // waits for at least one byte
//!         tx.write_all(&buf[..n]).await?;
//!     }
//! }
//! ```
//!
//! # What it implements
//! [`Uart`], and its halves [`UartRx`] and [`UartTx`] from [`Uart::split`] (for a reader task and
//! a writer task), implement embedded-io-async's `Read`, `BufRead` and `Write`, embedded-io's
//! blocking `Read`, `BufRead`, `Write`, `ReadReady` and `WriteReady`. The inherent methods have
//! embassy's names: `read`, `write`, `flush` are async; `blocking_read`, `blocking_write`,
//! `blocking_flush` block the calling thread on a kernel semaphore the interrupt gives (never
//! spinning). The async futures are woken from the UART's interrupt (a plain `Waker`, so they
//! work under `zephyr::embassy::Executor`, kio, or any executor).
//!
//! # The interrupt callback
//!
//! ```text
//!   uart_irq_update
//!   uart_err_check          -> errors noted (see "Reading")
//!   uart_irq_rx_ready ?     -> uart_fifo_read into the receive ring while it has room;
//!                              ring full: uart_irq_rx_disable (read re-enables it)
//!   uart_irq_tx_ready ?     -> uart_fifo_fill from the transmit ring;
//!                              ring empty: uart_irq_tx_disable (write re-enables it)
//!   wake the reader if bytes or an error came in, the writer if bytes went out
//! ```
//!
//! RX interrupts are enabled while the receive ring has room, TX interrupts while the transmit
//! ring holds bytes: a UART's interrupts are level-triggered, and a callback that leaves one
//! asserted without acting would run forever.
//!
//! # Reading: order, errors, cancellation
//!
//! A read returns at once with what the ring holds (at least one byte), or waits for the
//! interrupt to bring some. Receive errors (`uart_err_check`: overrun, parity, framing, break,
//! collision) are typed ([`UartError`]) and reported in stream order: the error is placed
//! after the bytes received before it, the read that reaches that place returns it (once),
//! and the next read goes on with the bytes after it. An error is never dropped: errors noted
//! before the previous one was read are reported at its place, one per read.
//!
//! The place is exact when the interrupt sees the error with the RX FIFO drained (the usual
//! case: the callback runs as each byte lands). When the ring is full, RX interrupts are off
//! and the FIFO holds bytes received before the error, whose number Zephyr's API does not
//! tell: the error waits until the reader has emptied the ring, then one interrupt drains the
//! FIFO into it and the error is placed after those bytes. So an overrun (a slow reader: ring
//! full, FIFO full, a byte lost) is reported exactly after the last byte kept, provided the
//! ring is at least as large as the FIFO; a line error that arrives while the ring is full
//! may follow bytes that reached the FIFO after it, at most a FIFO's worth.
//!
//! A read future copies bytes out only in the poll that completes it: dropping one that waits
//! (a `select` another branch won) loses nothing, and its waker is unregistered.
//!
//! # Writing and flushing
//!
//! A write copies into the transmit ring (waiting while it is full) and enables the TX
//! interrupt. [`flush`](UartTx::flush) waits until the ring is empty (woken by the interrupt)
//! and then until the UART has sent its last stop bit (`uart_irq_tx_complete`). Zephyr 2.7's
//! UART API has no "transmitter empty" interrupt that every driver provides, so that last
//! step sleeps until the end of the frames the driver handed to the FIFO, computed from the
//! baud rate (`uart_config_get`), then checks `uart_irq_tx_complete` (again one frame later if
//! the hardware is slower): usually one timer wake-up per flush. With a driver that implements
//! neither call (Zephyr 2.7's Stellaris driver: both `-ENOSYS`) nothing tells when the FIFO is
//! empty: there flush returns at the next tick after the last byte was handed to the UART,
//! whose FIFO may still be sending. Dropping a `Uart` (both halves) stops its interrupts and
//! discards what was not yet handed to the UART: flush first.
//!
//! # One driver per UART
//!
//! A `Uart` installs its interrupt callback on the device (`uart_irq_callback_user_data_set`);
//! a second `Uart` (or C code) setting a callback on the same device replaces it. Give each
//! UART one `Uart`. A [`UartBuffers`] serves one `Uart` at a time ([`Uart::new`] returns
//! `EBUSY` otherwise) and may be reused once that `Uart` is dropped.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use zephyr_sys::uart_errors::*;
use zephyr_sys::{
    device, k_cycle_get_64, sys_clock_hw_cycles_per_sec, uart_config, uart_config_get,
    uart_configure, uart_err_check, uart_fifo_fill, uart_fifo_read,
    uart_irq_callback_user_data_set, uart_irq_err_disable, uart_irq_err_enable,
    uart_irq_rx_disable, uart_irq_rx_enable, uart_irq_rx_ready, uart_irq_tx_complete,
    uart_irq_tx_disable, uart_irq_tx_enable, uart_irq_tx_ready, uart_irq_update,
};

use super::Device;
use crate::error::{to_result_void, Error, Result};
use crate::sys::sync::Semaphore;
use crate::thread::assert_may_block;
use crate::time::{Forever, Instant};
use crate::work::futures::Sleep;

/// `UART_ERROR_COLLISION` (Zephyr 2.7's `enum uart_rx_stop_reason`).
const UART_ERROR_COLLISION: i32 = 1 << 4;

/// The `UART_ERROR_*` bits Zephyr 2.7 defines (a driver's other bits are ignored).
const KNOWN_ERRORS: i32 =
    UART_ERROR_OVERRUN | UART_ERROR_PARITY | UART_ERROR_FRAMING | UART_BREAK | UART_ERROR_COLLISION;

/// A receive error the UART reported (`uart_err_check`), returned by the read that reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UartError {
    /// Bytes were lost: one arrived while the UART's receive FIFO was full
    /// (`UART_ERROR_OVERRUN`), because the reader did not keep up and the ring buffer and
    /// the FIFO filled.
    Overrun,
    /// A byte arrived with a wrong parity bit (`UART_ERROR_PARITY`).
    Parity,
    /// A frame arrived without its stop bit (`UART_ERROR_FRAMING`): wrong baud rate, noise.
    Framing,
    /// The line was held low for longer than a frame (`UART_BREAK`).
    Break,
    /// A collision on a shared line (`UART_ERROR_COLLISION`).
    Collision,
}

impl UartError {
    /// The error of the lowest bit set in `bits` (non-zero, of [`KNOWN_ERRORS`]), and that
    /// bit.
    fn lowest(bits: u8) -> (UartError, u8) {
        let bit = bits & bits.wrapping_neg();
        let e = match bit as i32 {
            UART_ERROR_OVERRUN => UartError::Overrun,
            UART_ERROR_PARITY => UartError::Parity,
            UART_ERROR_FRAMING => UartError::Framing,
            UART_BREAK => UartError::Break,
            _ => UartError::Collision,
        };
        (e, bit)
    }
}

impl fmt::Display for UartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UartError::Overrun => "UART overrun: received bytes were lost",
            UartError::Parity => "UART parity error",
            UartError::Framing => "UART framing error",
            UartError::Break => "UART break condition",
            UartError::Collision => "UART collision",
        })
    }
}

impl core::error::Error for UartError {}

impl embedded_io::Error for UartError {
    /// Parity and framing errors are [`InvalidData`](embedded_io::ErrorKind::InvalidData) (a
    /// byte arrived corrupted), a break is
    /// [`Interrupted`](embedded_io::ErrorKind::Interrupted) (reading may go on), an overrun and
    /// a collision are [`Other`](embedded_io::ErrorKind::Other).
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            UartError::Parity | UartError::Framing => embedded_io::ErrorKind::InvalidData,
            UartError::Break => embedded_io::ErrorKind::Interrupted,
            UartError::Overrun | UartError::Collision => embedded_io::ErrorKind::Other,
        }
    }
}

impl From<UartError> for Error {
    /// Every receive error is an I/O error ([`Error::EIO`]).
    fn from(_: UartError) -> Error {
        Error::EIO
    }
}

// ------------------------------------------------------------------ ring buffers

/// A ring buffer over storage elsewhere, with free-running counters (`head` = bytes taken out
/// so far, `tail` = bytes put in, both wrapping): the length is `tail - head`.
struct Ring {
    buf: *mut u8,
    cap: usize,
    head: usize,
    tail: usize,
}

impl Ring {
    const EMPTY: Ring = Ring { buf: core::ptr::null_mut(), cap: 0, head: 0, tail: 0 };

    fn len(&self) -> usize {
        self.tail.wrapping_sub(self.head)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn room(&self) -> usize {
        self.cap - self.len()
    }

    /// The free space after the tail, up to the end of the storage: where to put bytes.
    fn writable(&self) -> (*mut u8, usize) {
        let at = self.tail % self.cap.max(1);
        let len = self.room().min(self.cap - at);
        // SAFETY: `at < cap`, inside the storage (or 0 with no storage, then len is 0).
        (unsafe { self.buf.add(at) }, len)
    }

    /// The bytes after the head, up to the end of the storage (at most `limit`).
    fn readable(&self, limit: usize) -> (*const u8, usize) {
        let at = self.head % self.cap.max(1);
        let len = self.len().min(self.cap - at).min(limit);
        // SAFETY: as in `writable`.
        (unsafe { self.buf.add(at) }, len)
    }

    /// Copies from `data` into the ring, as much as fits; returns how much.
    fn push(&mut self, data: &[u8]) -> usize {
        let mut done = 0;
        while done < data.len() {
            let (p, len) = self.writable();
            let n = len.min(data.len() - done);
            if n == 0 {
                break;
            }
            // SAFETY: `p` has room for `len >= n` bytes, none of which holds unread data;
            // `data` is a separate buffer.
            unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), p, n) };
            self.tail = self.tail.wrapping_add(n);
            done += n;
        }
        done
    }

    /// Copies up to `limit` bytes out into `out`; returns how many.
    fn pop(&mut self, out: &mut [u8], limit: usize) -> usize {
        let mut done = 0;
        while done < out.len().min(limit) {
            let (p, len) = self.readable(limit - done);
            let n = len.min(out.len() - done);
            if n == 0 {
                break;
            }
            // SAFETY: `p` holds `len >= n` unread bytes; `out` is a separate buffer.
            unsafe { core::ptr::copy_nonoverlapping(p, out[done..].as_mut_ptr(), n) };
            self.head = self.head.wrapping_add(n);
            done += n;
        }
        done
    }
}

// ------------------------------------------------------------------ shared state

/// A receive error placed in the stream: reported when the reader reaches byte `at`.
#[derive(Clone, Copy)]
struct Marker {
    at: usize,
    bits: u8,
}

/// What the interrupt callback and the halves share (only inside critical sections).
struct State {
    dev: *const device,
    rx: Ring,
    tx: Ring,
    /// Whether this driver has the RX / TX interrupt enabled.
    rx_irq: bool,
    tx_irq: bool,
    /// The next error to report, at its place in the stream.
    marker: Option<Marker>,
    /// Errors seen while the RX FIFO still held bytes received before them (the ring was
    /// full): placed once the FIFO is drained.
    unplaced: u8,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    /// A frame's duration as the fraction `frame_num / frame_den` cycles (0/1: unknown).
    frame_num: u128,
    frame_den: u128,
    /// When the last byte handed to the TX FIFO will have left the wire, in cycles times
    /// `frame_den` (the frames of a burst follow each other exactly, as on the wire).
    tx_end: u128,
}

impl State {
    const fn new() -> State {
        State {
            dev: core::ptr::null(),
            rx: Ring::EMPTY,
            tx: Ring::EMPTY,
            rx_irq: false,
            tx_irq: false,
            marker: None,
            unplaced: 0,
            rx_waker: None,
            tx_waker: None,
            frame_num: 0,
            frame_den: 1,
            tx_end: 0,
        }
    }

    /// The interrupt callback's work (see the module docs); returns the wakers to wake.
    ///
    /// Every UART call here is on `self.dev`, the ready UART this state drives, and is one an
    /// interrupt callback may make.
    fn service(&mut self) -> (Option<Waker>, Option<Waker>) {
        let dev = self.dev;
        let (mut rx_news, mut tx_news) = (false, false);
        // SAFETY: see above.
        let errors = unsafe {
            uart_irq_update(dev);
            uart_err_check(dev)
        };
        if errors > 0 {
            self.unplaced |= (errors & KNOWN_ERRORS) as u8;
        }
        // Whether the RX FIFO is known to be empty after this: with RX interrupts on, the
        // callback has kept it so; with them off (the ring was full), only a short read says.
        let mut drained = self.rx_irq;
        // SAFETY: see above.
        if unsafe { uart_irq_rx_ready(dev) } > 0 {
            drained = false;
            loop {
                let (p, room) = self.rx.writable();
                if room == 0 {
                    if self.rx_irq {
                        // SAFETY: see above.
                        unsafe { uart_irq_rx_disable(dev) };
                        self.rx_irq = false;
                    }
                    break;
                }
                // SAFETY: see above; `p` has `room` free bytes of the receive ring.
                let n = unsafe { uart_fifo_read(dev, p, room as c_int) }.max(0) as usize;
                self.rx.tail = self.rx.tail.wrapping_add(n);
                rx_news |= n > 0;
                if n < room {
                    drained = true;
                    break;
                }
            }
        }
        if self.unplaced != 0 && drained {
            self.place_errors();
            rx_news = true;
        }
        // SAFETY: see above.
        if self.tx_irq && unsafe { uart_irq_tx_ready(dev) } > 0 {
            loop {
                let (p, len) = self.tx.readable(usize::MAX);
                if len == 0 {
                    // SAFETY: see above.
                    unsafe { uart_irq_tx_disable(dev) };
                    self.tx_irq = false;
                    tx_news = true;
                    break;
                }
                // SAFETY: see above; `p` holds `len` unsent bytes of the transmit ring.
                let n = unsafe { uart_fifo_fill(dev, p, len as c_int) };
                if n <= 0 {
                    break;
                }
                self.tx.head = self.tx.head.wrapping_add(n as usize);
                self.handed_to_fifo(n as u128);
                tx_news = true;
                if (n as usize) < len {
                    break;
                }
            }
        }
        let rx = if rx_news { self.rx_waker.take() } else { None };
        let tx = if tx_news { self.tx_waker.take() } else { None };
        (rx, tx)
    }

    /// Places the unplaced errors after every byte received so far.
    fn place_errors(&mut self) {
        let bits = core::mem::take(&mut self.unplaced);
        match &mut self.marker {
            // The earlier error is not read yet: report these at its place.
            Some(m) => m.bits |= bits,
            None => self.marker = Some(Marker { at: self.rx.tail, bits }),
        }
    }

    /// Notes `n` bytes handed to the TX FIFO now: the wire is busy `n` frames longer.
    fn handed_to_fifo(&mut self, n: u128) {
        // SAFETY: reading the cycle counter has no preconditions.
        let now = unsafe { k_cycle_get_64() } as u128 * self.frame_den;
        self.tx_end = self.tx_end.max(now) + n * self.frame_num;
    }

    /// The next read's outcome: an error at the head, or how many bytes come before the next
    /// error (all of them without one).
    fn readable(&mut self) -> core::result::Result<usize, UartError> {
        match self.marker {
            Some(m) if m.at == self.rx.head => {
                let (e, bit) = UartError::lowest(m.bits);
                let rest = m.bits & !bit;
                self.marker = (rest != 0).then_some(Marker { at: m.at, bits: rest });
                Err(e)
            }
            Some(m) => Ok(m.at.wrapping_sub(self.rx.head).min(self.rx.len())),
            None => Ok(self.rx.len()),
        }
    }

    /// After the reader took bytes: the ring has room, so RX interrupts may flow again. While
    /// an error waits for the FIFO's earlier bytes, only once the ring is empty, so that one
    /// interrupt drains the FIFO (if the ring is at least as large) and the error lands exactly
    /// after them, before any byte that arrives later.
    fn resume_rx(&mut self) {
        let room = if self.unplaced != 0 { self.rx.is_empty() } else { self.rx.room() > 0 };
        if !self.rx_irq && room {
            // SAFETY: the UART this state drives; enabling from a thread is allowed.
            unsafe { uart_irq_rx_enable(self.dev) };
            self.rx_irq = true;
        }
    }

    /// After the writer added bytes: let the TX interrupt take them.
    fn resume_tx(&mut self) {
        if !self.tx_irq && !self.tx.is_empty() {
            // SAFETY: as in `resume_rx`.
            unsafe { uart_irq_tx_enable(self.dev) };
            self.tx_irq = true;
        }
    }
}

/// The part of a [`UartBuffers`] that does not depend on its sizes.
struct Shared {
    /// A `Uart` uses these buffers.
    claimed: AtomicBool,
    /// Halves alive (2 after `Uart::new`; the last one dropped stops the driver).
    halves: AtomicU8,
    state: UnsafeCell<State>,
    /// Given by wakers of blocking reads and writes (see [`block_on`]).
    rx_blocker: Semaphore,
    tx_blocker: Semaphore,
}

// SAFETY: the state is only touched inside critical sections (`Shared::with`), which exclude
// each other and the interrupt callback; its raw pointers lead to the UART and to storage that
// lives as long as the `Shared` (both in one `'static` `UartBuffers`); the rest is atomics and
// kernel objects.
unsafe impl Sync for Shared {}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        critical_section::with(|_| {
            // SAFETY: the state is only touched inside critical sections, which exclude each
            // other (one CPU: `irq_lock`), and no reference to it escapes `f`.
            f(unsafe { &mut *self.state.get() })
        })
    }
}

/// Storage for a [`Uart`]: a receive ring of `RX` bytes, a transmit ring of `TX` bytes, and the
/// state the interrupt callback shares with the driver. Put it in a `static` (or leak it):
/// the driver keeps a `&'static` to it.
///
/// Size the receive ring for the longest time the reader may not read, at the baud rate
/// (115 200 baud is 11 520 bytes a second: 64 bytes last 5.6 ms), plus the UART's FIFO.
///
/// ```
/// use zephyr::device::uart::UartBuffers;
/// static UART1_BUFFERS: UartBuffers<256, 64> = UartBuffers::new();
/// ```
pub struct UartBuffers<const RX: usize, const TX: usize> {
    shared: Shared,
    rx: UnsafeCell<[u8; RX]>,
    tx: UnsafeCell<[u8; TX]>,
}

// SAFETY: the storage is written only through raw pointers inside critical sections (by the
// callback) or by the one `Uart` that claimed it (its bytes in the ring are disjoint from the
// callback's); `Shared`'s state is only touched inside critical sections, the rest is atomics
// and kernel objects.
unsafe impl<const RX: usize, const TX: usize> Sync for UartBuffers<RX, TX> {}

impl<const RX: usize, const TX: usize> UartBuffers<RX, TX> {
    /// Empty buffers.
    ///
    /// # Panics
    /// If `RX` or `TX` is 0 (at compile time in a `static`).
    pub const fn new() -> Self {
        assert!(RX > 0 && TX > 0, "UartBuffers: both rings need at least one byte");
        UartBuffers {
            shared: Shared {
                claimed: AtomicBool::new(false),
                halves: AtomicU8::new(0),
                state: UnsafeCell::new(State::new()),
                rx_blocker: Semaphore::new(0, 1),
                tx_blocker: Semaphore::new(0, 1),
            },
            rx: UnsafeCell::new([0; RX]),
            tx: UnsafeCell::new([0; TX]),
        }
    }
}

impl<const RX: usize, const TX: usize> Default for UartBuffers<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> fmt::Debug for UartBuffers<RX, TX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UartBuffers")
            .field("rx", &RX)
            .field("tx", &TX)
            .field("in_use", &self.shared.claimed.load(Ordering::Relaxed))
            .finish()
    }
}

/// The UART's interrupt callback (ISR context): moves bytes, wakes waiters.
unsafe extern "C-unwind" fn on_interrupt(_dev: *const device, user_data: *mut c_void) {
    // SAFETY: `Uart::new` set the user data to a `&'static Shared`.
    let shared = unsafe { &*(user_data as *const Shared) };
    let (rx, tx) = shared.with(State::service);
    if let Some(w) = rx {
        w.wake();
    }
    if let Some(w) = tx {
        w.wake();
    }
}

// ------------------------------------------------------------------ blocking

static SEMAPHORE_WAKER: RawWakerVTable =
    RawWakerVTable::new(|p| RawWaker::new(p, &SEMAPHORE_WAKER), give, give, |_| {});

/// The wake of a [`block_on`] waker: gives its semaphore.
fn give(p: *const ()) {
    // SAFETY: the data pointer of every `SEMAPHORE_WAKER` waker is a `&'static Semaphore`
    // (see `block_on`).
    unsafe { &*(p as *const Semaphore) }.give()
}

/// Runs `future` on the calling thread, which sleeps on `blocker` (given by the future's
/// waker, from the interrupt) whenever the future waits.
fn block_on<F: Future>(blocker: &'static Semaphore, call: &'static str, future: F) -> F::Output {
    assert_may_block(call);
    blocker.reset();
    let raw = RawWaker::new(blocker as *const Semaphore as *const (), &SEMAPHORE_WAKER);
    // SAFETY: the vtable's functions are sound for a `&'static Semaphore` data pointer, from
    // any thread or ISR (`give` is ISR-safe).
    let waker = unsafe { Waker::from_raw(raw) };
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        // A give since the poll is remembered (count 1), so no wake-up is lost.
        let _ = blocker.take(Forever);
    }
}

/// Unregisters a waiting future's waker when the future completes or is dropped.
struct Unregister<'a> {
    shared: &'a Shared,
    rx: bool,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.shared.with(|s| {
            if self.rx {
                s.rx_waker = None;
            } else {
                s.tx_waker = None;
            }
        });
    }
}

fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

// ------------------------------------------------------------------ the driver

/// An interrupt-driven, buffered UART (see the [module docs](self)).
///
/// Reads and writes go through its two halves, which [`split`](Self::split) hands out for two
/// tasks; the methods here delegate to them.
#[derive(Debug)]
pub struct Uart {
    rx: UartRx,
    tx: UartTx,
}

/// The receiving half of a [`Uart`].
pub struct UartRx {
    device: Device,
    shared: &'static Shared,
}

/// The transmitting half of a [`Uart`].
pub struct UartTx {
    device: Device,
    shared: &'static Shared,
}

impl Uart {
    /// Starts driving `device` with `buffers`: sets its interrupt callback, enables its RX and
    /// error interrupts. Bytes that arrived before are kept (read from the FIFO).
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// use zephyr::device::{uart::{Uart, UartBuffers}, Device};
    /// static BUFFERS: UartBuffers<64, 64> = UartBuffers::new();
    /// let uart = Uart::new(Device::get("uart1")?, &BUFFERS)?;
    /// # Ok::<(), zephyr::Error>(())
    /// ```
    ///
    /// # Errors
    /// `EBUSY` if another `Uart` uses `buffers`.
    pub fn new<const RX: usize, const TX: usize>(
        device: Device,
        buffers: &'static UartBuffers<RX, TX>,
    ) -> Result<Uart> {
        let shared = &buffers.shared;
        if shared.claimed.swap(true, Ordering::Acquire) {
            return Err(Error::EBUSY);
        }
        let dev = device.as_raw();
        let (frame_num, frame_den) = frame_time(dev);
        shared.with(|s| {
            *s = State::new();
            s.dev = dev;
            s.rx = Ring { buf: buffers.rx.get() as *mut u8, cap: RX, head: 0, tail: 0 };
            s.tx = Ring { buf: buffers.tx.get() as *mut u8, cap: TX, head: 0, tail: 0 };
            (s.frame_num, s.frame_den) = (frame_num, frame_den);
        });
        shared.halves.store(2, Ordering::Release);
        // SAFETY: `dev` is a ready device; the callback and its user data (a `&'static
        // Shared`) stay valid for good, and the callback does only what an ISR may.
        unsafe {
            uart_irq_callback_user_data_set(
                dev,
                Some(on_interrupt),
                shared as *const Shared as *mut c_void,
            );
            uart_irq_err_enable(dev);
        }
        shared.with(State::resume_rx);
        Ok(Uart { rx: UartRx { device, shared }, tx: UartTx { device, shared } })
    }

    /// The UART of the devicetree node labelled `label`, driven with `buffers`
    /// ([`Device::get`], then [`Uart::new`]).
    ///
    /// # Errors
    /// As [`Device::get`] (`ENOENT`, `ENODEV`) and [`Uart::new`] (`EBUSY`).
    pub fn get<const RX: usize, const TX: usize>(
        label: &str,
        buffers: &'static UartBuffers<RX, TX>,
    ) -> Result<Uart> {
        Uart::new(Device::get(label)?, buffers)
    }

    /// The two halves, for a reader task and a writer task. The driver stops when both are
    /// dropped.
    pub fn split(self) -> (UartRx, UartTx) {
        (self.rx, self.tx)
    }

    /// Borrows the two halves, to use both at once while keeping the `Uart`.
    pub fn split_ref(&mut self) -> (&mut UartRx, &mut UartTx) {
        (&mut self.rx, &mut self.tx)
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.rx.device
    }

    /// The line configuration (`uart_config_get`).
    ///
    /// # Errors
    /// What the driver returns (`ENOSYS` if it cannot tell).
    pub fn config(&self) -> Result<uart_config> {
        let mut cfg = uart_config::default();
        // SAFETY: a ready UART; `cfg` is valid for a write.
        to_result_void(unsafe { uart_config_get(self.device().as_raw(), &mut cfg) })?;
        Ok(cfg)
    }

    /// Changes the line configuration (`uart_configure`). Do it while nothing is being sent
    /// (after [`flush`](Self::flush)): frames in flight may be garbled, as on hardware.
    ///
    /// # Errors
    /// What the driver returns: `EINVAL`, `ENOTSUP` (a setting it lacks), `ENOSYS`.
    pub fn set_config(&mut self, cfg: &uart_config) -> Result<()> {
        let dev = self.device().as_raw();
        // SAFETY: a ready UART; `cfg` is valid for a read.
        to_result_void(unsafe { uart_configure(dev, cfg) })?;
        let (num, den) = frame_time(dev);
        self.rx.shared.with(|s| {
            (s.frame_num, s.frame_den) = (num, den);
            s.tx_end = 0;
        });
        Ok(())
    }

    /// Changes the baud rate, keeping the rest of the configuration.
    ///
    /// # Errors
    /// As [`config`](Self::config) and [`set_config`](Self::set_config).
    pub fn set_baudrate(&mut self, baudrate: u32) -> Result<()> {
        let cfg = uart_config { baudrate, ..self.config()? };
        self.set_config(&cfg)
    }

    /// Reads at least one byte (waiting for one), or the next receive error: see
    /// [`UartRx::read`].
    pub async fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
        self.rx.read(buf).await
    }

    /// Writes at least one byte into the transmit ring (waiting for room): see
    /// [`UartTx::write`].
    pub async fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
        self.tx.write(buf).await
    }

    /// Writes all of `buf` into the transmit ring: see [`UartTx::write_all`].
    pub async fn write_all(&mut self, buf: &[u8]) -> core::result::Result<(), UartError> {
        self.tx.write_all(buf).await
    }

    /// Waits until everything written has left the wire: see [`UartTx::flush`].
    pub async fn flush(&mut self) -> core::result::Result<(), UartError> {
        self.tx.flush().await
    }

    /// [`read`](Self::read), blocking the calling thread.
    pub fn blocking_read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
        self.rx.blocking_read(buf)
    }

    /// [`write`](Self::write), blocking the calling thread.
    pub fn blocking_write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
        self.tx.blocking_write(buf)
    }

    /// [`flush`](Self::flush), blocking the calling thread.
    pub fn blocking_flush(&mut self) -> core::result::Result<(), UartError> {
        self.tx.blocking_flush()
    }
}

/// A frame's duration on `dev`'s line as a fraction of cycles (`uart_config_get`); 0/1 if the
/// driver cannot tell.
fn frame_time(dev: *const device) -> (u128, u128) {
    let mut cfg = uart_config::default();
    // SAFETY: a ready UART; `cfg` is valid for a write.
    if unsafe { uart_config_get(dev, &mut cfg) } != 0 || cfg.baudrate == 0 {
        return (0, 1);
    }
    // Half-bits: start, 5 + data_bits, parity, stop (0.5 to 2 bits as 1 to 4 halves).
    let half_bits = 2
        + 2 * (5 + cfg.data_bits as u128)
        + if cfg.parity != 0 { 2 } else { 0 }
        + (1 + cfg.stop_bits as u128);
    // SAFETY: a plain query.
    let hz = unsafe { sys_clock_hw_cycles_per_sec() }.max(1) as u128;
    (half_bits * hz, 2 * cfg.baudrate as u128)
}

/// Stops the driver when the last half goes: interrupts off, callback removed, buffers free.
fn release(device: Device, shared: &'static Shared) {
    if shared.halves.fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    let dev = device.as_raw();
    shared.with(|s| {
        // SAFETY: the UART this driver drove.
        unsafe {
            uart_irq_rx_disable(dev);
            uart_irq_tx_disable(dev);
            uart_irq_err_disable(dev);
        }
        s.rx_irq = false;
        s.tx_irq = false;
        s.rx_waker = None;
        s.tx_waker = None;
    });
    // SAFETY: removing the callback; nothing calls it afterwards.
    unsafe { uart_irq_callback_user_data_set(dev, None, core::ptr::null_mut()) };
    shared.claimed.store(false, Ordering::Release);
}

impl UartRx {
    /// Reads into `buf`: at once if bytes are buffered (as many as fit, up to the next
    /// error), else waits for the interrupt to bring at least one. At an error's place in the
    /// stream it returns that error instead (once), and the next read goes on after it (see
    /// the [module docs](self)). An empty `buf` returns `Ok(0)` at once.
    ///
    /// Cancellation-safe: dropping the future before it completes loses no byte.
    pub async fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let _unregister = Unregister { shared: self.shared, rx: true };
        poll_fn(|cx| {
            self.shared.with(|s| match s.readable() {
                Err(e) => Poll::Ready(Err(e)),
                Ok(0) => {
                    register(&mut s.rx_waker, cx);
                    Poll::Pending
                }
                Ok(n) => {
                    let got = s.rx.pop(buf, n);
                    s.resume_rx();
                    Poll::Ready(Ok(got))
                }
            })
        })
        .await
    }

    /// Waits for buffered bytes and returns them without taking them (up to the end of the
    /// ring's storage or the next error); [`consume`](Self::consume) takes them. Returns the
    /// error at its place in the stream, as [`read`](Self::read) does.
    pub async fn fill_buf(&mut self) -> core::result::Result<&[u8], UartError> {
        let _unregister = Unregister { shared: self.shared, rx: true };
        let (p, len) = poll_fn(|cx| {
            self.shared.with(|s| match s.readable() {
                Err(e) => Poll::Ready(Err(e)),
                Ok(0) => {
                    register(&mut s.rx_waker, cx);
                    Poll::Pending
                }
                Ok(n) => Poll::Ready(Ok(s.rx.readable(n))),
            })
        })
        .await?;
        // SAFETY: these `len` bytes are unread ring storage: the callback writes only into
        // free space, and nothing frees them before `consume`, which needs `&mut self` (so
        // this borrow has ended).
        Ok(unsafe { core::slice::from_raw_parts(p, len) })
    }

    /// Takes `amt` bytes that [`fill_buf`](Self::fill_buf) returned.
    ///
    /// # Panics
    /// If `amt` is more than is buffered.
    pub fn consume(&mut self, amt: usize) {
        self.shared.with(|s| {
            assert!(
                amt <= s.rx.len(),
                "UartRx::consume: {amt} bytes, but only {} buffered",
                s.rx.len()
            );
            s.rx.head = s.rx.head.wrapping_add(amt);
            s.resume_rx();
        });
    }

    /// [`read`](Self::read), blocking the calling thread on a semaphore the interrupt gives.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn blocking_read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
        let shared: &'static Shared = self.shared;
        let blocker = &shared.rx_blocker;
        block_on(blocker, "UartRx::blocking_read", self.read(buf))
    }

    /// Whether a read would return at once (bytes or an error are buffered).
    pub fn read_ready(&self) -> bool {
        self.shared.with(|s| s.marker.is_some_and(|m| m.at == s.rx.head) || !s.rx.is_empty())
    }
}

impl UartTx {
    /// Copies as much of `buf` as fits into the transmit ring (waiting until at least one byte
    /// fits) and lets the interrupt send it; returns how much. An empty `buf` returns `Ok(0)`.
    ///
    /// Cancellation-safe: a dropped future has copied nothing.
    pub async fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let _unregister = Unregister { shared: self.shared, rx: false };
        poll_fn(|cx| {
            self.shared.with(|s| {
                let n = s.tx.push(buf);
                if n == 0 {
                    register(&mut s.tx_waker, cx);
                    return Poll::Pending;
                }
                s.resume_tx();
                Poll::Ready(Ok(n))
            })
        })
        .await
    }

    /// Writes all of `buf` (waiting for room as needed).
    pub async fn write_all(&mut self, mut buf: &[u8]) -> core::result::Result<(), UartError> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits until everything written has left the wire: the transmit ring is empty (woken by
    /// the interrupt), then the UART's FIFO and shift register (`uart_irq_tx_complete`,
    /// checked when the last frame should have ended; see the [module docs](self)).
    pub async fn flush(&mut self) -> core::result::Result<(), UartError> {
        {
            let _unregister = Unregister { shared: self.shared, rx: false };
            poll_fn(|cx| {
                self.shared.with(|s| {
                    if s.tx.is_empty() {
                        return Poll::Ready(());
                    }
                    register(&mut s.tx_waker, cx);
                    Poll::Pending
                })
            })
            .await;
        }
        let dev = self.device.as_raw();
        let mut checks = 0u32;
        loop {
            // SAFETY: a ready UART.
            let complete = unsafe { uart_irq_tx_complete(dev) };
            if complete > 0 || (complete < 0 && checks > 0) {
                return Ok(());
            }
            checks += 1;
            let (end, frame, den) = self.shared.with(|s| (s.tx_end, s.frame_num, s.frame_den));
            // SAFETY: a plain query.
            let now = unsafe { k_cycle_get_64() } as u128 * den;
            // The predicted end, or one more frame if it has passed (a slower UART).
            let until = if end > now { end } else { now + frame.max(den) };
            Sleep::new(Instant::from_ticks(cycles_to_tick_ceil(until.div_ceil(den)))).await;
        }
    }

    /// [`write`](Self::write), blocking the calling thread on a semaphore the interrupt gives.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn blocking_write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
        let shared: &'static Shared = self.shared;
        let blocker = &shared.tx_blocker;
        block_on(blocker, "UartTx::blocking_write", self.write(buf))
    }

    /// [`flush`](Self::flush), blocking the calling thread.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn blocking_flush(&mut self) -> core::result::Result<(), UartError> {
        let shared: &'static Shared = self.shared;
        let blocker = &shared.tx_blocker;
        block_on(blocker, "UartTx::blocking_flush", self.flush())
    }

    /// Whether a write would take a byte at once (the transmit ring has room).
    pub fn write_ready(&self) -> bool {
        self.shared.with(|s| s.tx.room() > 0)
    }
}

/// The first tick at or after cycle `cycles`.
fn cycles_to_tick_ceil(cycles: u128) -> u64 {
    // SAFETY: a plain query.
    let hz = unsafe { sys_clock_hw_cycles_per_sec() }.max(1) as u128;
    let ticks = (cycles * crate::time::ticks_per_sec() as u128).div_ceil(hz);
    ticks.min(u64::MAX as u128) as u64
}

impl Drop for UartRx {
    fn drop(&mut self) {
        release(self.device, self.shared);
    }
}

impl Drop for UartTx {
    fn drop(&mut self) {
        release(self.device, self.shared);
    }
}

impl fmt::Debug for UartRx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UartRx").field("device", &self.device).finish_non_exhaustive()
    }
}

impl fmt::Debug for UartTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UartTx").field("device", &self.device).finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------ embedded-io

macro_rules! io_traits {
    ($($ty:ty),*) => {$(
        impl embedded_io::ErrorType for $ty {
            type Error = UartError;
        }
    )*};
}
io_traits!(Uart, UartRx, UartTx);

macro_rules! read_traits {
    ($ty:ty, $($rx:tt)+) => {
        impl embedded_io_async::Read for $ty {
            async fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
                UartRx::read(self.$($rx)+, buf).await
            }
        }

        impl embedded_io_async::BufRead for $ty {
            async fn fill_buf(&mut self) -> core::result::Result<&[u8], UartError> {
                UartRx::fill_buf(self.$($rx)+).await
            }

            fn consume(&mut self, amt: usize) {
                UartRx::consume(self.$($rx)+, amt)
            }
        }

        impl embedded_io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, UartError> {
                UartRx::blocking_read(self.$($rx)+, buf)
            }
        }

        impl embedded_io::BufRead for $ty {
            fn fill_buf(&mut self) -> core::result::Result<&[u8], UartError> {
                let rx: &mut UartRx = self.$($rx)+;
                let shared: &'static Shared = rx.shared;
                block_on(&shared.rx_blocker, "embedded_io::BufRead::fill_buf", UartRx::fill_buf(rx))
            }

            fn consume(&mut self, amt: usize) {
                UartRx::consume(self.$($rx)+, amt)
            }
        }

        impl embedded_io::ReadReady for $ty {
            fn read_ready(&mut self) -> core::result::Result<bool, UartError> {
                Ok(UartRx::read_ready(self.$($rx)+))
            }
        }
    };
}

macro_rules! write_traits {
    ($ty:ty, $($tx:tt)+) => {
        impl embedded_io_async::Write for $ty {
            async fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
                UartTx::write(self.$($tx)+, buf).await
            }

            async fn flush(&mut self) -> core::result::Result<(), UartError> {
                UartTx::flush(self.$($tx)+).await
            }
        }

        impl embedded_io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, UartError> {
                UartTx::blocking_write(self.$($tx)+, buf)
            }

            fn flush(&mut self) -> core::result::Result<(), UartError> {
                UartTx::blocking_flush(self.$($tx)+)
            }
        }

        impl embedded_io::WriteReady for $ty {
            fn write_ready(&mut self) -> core::result::Result<bool, UartError> {
                Ok(UartTx::write_ready(self.$($tx)+))
            }
        }
    };
}

/// The identity, so the trait macros can name a half itself.
trait Itself {
    fn itself(&mut self) -> &mut Self {
        self
    }
}
impl Itself for UartRx {}
impl Itself for UartTx {}

read_traits!(Uart, split_ref().0);
read_traits!(UartRx, itself());
write_traits!(Uart, split_ref().1);
write_traits!(UartTx, itself());
