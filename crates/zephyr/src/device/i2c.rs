//! I2C controller driver: embedded-hal 1.0 `I2c` (blocking) and embedded-hal-async `I2c`, on
//! Zephyr's `i2c_transfer`.
//!
//! [`I2c`] is a handle to an I2C controller found by devicetree node label
//! ([`I2c::get`]`("i2c0")`) or made from a [`Device`]. It is `Copy`: several tasks and threads
//! may each hold one for the same bus, since Zephyr's drivers serialise transfers themselves
//! (a semaphore held for the whole `i2c_transfer`), and each transaction is one
//! `i2c_transfer` call, so transactions of different users never interleave on the wire.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use embedded_hal::i2c::I2c as _;
//! use zephyr::device::i2c::{I2c, Speed};
//!
//! let mut bus = I2c::get("i2c0")?;
//! bus.configure(Speed::Fast)?;
//! let mut id = [0u8; 1];
//! bus.write_read(0x48, &[0x0F], &mut id)?; // WHO_AM_I
//! # Ok::<(), zephyr::device::i2c::Error>(())
//! ```
//!
//! # Transactions as Zephyr messages
//!
//! A transaction (embedded-hal's `transaction`, and `write`, `read`, `write_read` built on it)
//! becomes one `i2c_transfer` with one `struct i2c_msg` per [`Operation`], as embedded-hal's
//! contract requires: `I2C_MSG_RESTART` on an operation whose direction differs from the one
//! before it (a repeated START and the address), none between operations of one direction
//! (their bytes follow each other on the wire), and `I2C_MSG_STOP` on the last. A transaction
//! holds at most [`MAX_OPERATIONS`] operations (the messages are built on the stack; Zephyr's
//! own limit is 255); an empty one does nothing and succeeds. Some Zephyr drivers cannot send
//! adjacent operations of one direction without a repeated START unless given a buffer to join
//! them in (`zephyr,concat-buf-size` for nRF's TWIM, which otherwise fails with `ENOSPC`).
//!
//! # Blocking and async
//!
//! The blocking trait calls `i2c_transfer` on the calling thread, which the driver blocks
//! (not busy) until the transfer ends; it may not be called from an interrupt handler (a
//! panic naming the call).
//!
//! Zephyr 2.7's I2C API has no asynchronous transfer, so the async trait runs the blocking
//! `i2c_transfer` on a **work queue** and waits for it without blocking: the future submits a
//! work item, whose handler makes the transfer on the queue's thread and then wakes the task's
//! `Waker`. That works under `zephyr::embassy::Executor`, kio and any other executor, and the
//! executor's thread runs other tasks meanwhile. The queue is the system work queue unless
//! [`I2c::on_queue`] names another: while a transfer runs, its queue's thread is blocked, so the
//! system queue's other items (among them the wake-ups of this crate's async kernel waits)
//! wait for it. Give a bus its own queue when that matters:
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::device::i2c::I2c;
//! use zephyr::thread::ThreadStack;
//! use zephyr::work::StaticWorkQueue;
//!
//! static I2C_QUEUE: StaticWorkQueue = StaticWorkQueue::new();
//! static I2C_STACK: ThreadStack<1024> = ThreadStack::new();
//!
//! let queue = I2C_QUEUE.start(&I2C_STACK, 2, c"i2c")?;
//! let bus = I2c::get("i2c0")?.on_queue(&queue);
//! # Ok::<(), zephyr::Error>(())
//! ```
//!
//! Async transactions are served in submission order on their queue, and the driver's lock
//! orders them against blocking ones from threads.
//!
//! ## Cancellation
//!
//! The transfer works in the caller's buffers (no copy, no allocation). Dropping an async
//! transaction before it completes therefore waits until its work item is no longer using them:
//!
//! ```text
//!   poll: k_work_submit_to_queue          queue thread runs the handler          handler wakes the task
//!   Idle ─────────────────────────► Queued ──────────────────────────────► Running ────────────────────► Done
//!                                     │ drop: k_work_cancel_sync takes it      │ drop: k_work_cancel_sync
//!                                     │ off the queue, nothing was sent        │ waits for the handler
//! ```
//!
//! A transaction dropped while still queued never goes on the bus. One dropped while running
//! (on the wire, or waiting for the bus lock behind another transfer) cannot be stopped halfway
//! on a real bus: the dropping thread blocks until it ends, at most its bus time plus that of
//! the transfers ahead of it. So drop transactions from a thread (an executor's or a kio
//! queue's), never from an interrupt handler. As with every borrowed-buffer transfer in async
//! Rust (Embassy's DMA drivers too), leaking a started transaction (`mem::forget` of a boxed,
//! pinned future) is not supported: its buffers would be written after their borrow ended.
//!
//! # Errors
//!
//! Zephyr 2.7's drivers return `-EIO` for a target that does not acknowledge its address or a
//! byte, and for most other failures, so [`Error`] can rarely say more than
//! `NoAcknowledge(Unknown)`; see [`Error::from_errno`] for the whole mapping.

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::fmt;
use core::future::Future;
use core::marker::{PhantomData, PhantomPinned};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use embedded_hal::i2c::{ErrorKind, ErrorType, NoAcknowledgeSource, Operation, SevenBitAddress};
use zephyr_sys::i2c_flags::*;
use zephyr_sys::{
    device, i2c_configure, i2c_msg, i2c_transfer, k_work, k_work_cancel_sync, k_work_init,
    k_work_submit_to_queue, k_work_sync, EINVAL,
};

use super::Device;
use crate::work::WorkQueue;

/// The most operations a transaction may hold (the `i2c_msg` array is built on the stack of
/// the thread that makes the transfer: 16 messages are 192 bytes on a 32-bit MCU).
pub const MAX_OPERATIONS: usize = 16;

/// A bus speed (`I2C_SPEED_*` of `drivers/i2c.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    /// Standard mode, 100 kHz.
    Standard,
    /// Fast mode, 400 kHz.
    Fast,
    /// Fast-mode plus, 1 MHz.
    FastPlus,
}

impl Speed {
    /// The `I2C_SPEED_*` value.
    pub fn raw(self) -> u32 {
        match self {
            Speed::Standard => I2C_SPEED_STANDARD,
            Speed::Fast => I2C_SPEED_FAST,
            Speed::FastPlus => I2C_SPEED_FAST_PLUS,
        }
    }
}

/// An I2C error, with the embedded-hal [`ErrorKind`] it maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The target did not acknowledge: its address (`-ENXIO`, as some drivers report it), or
    /// something Zephyr's `-EIO` does not say (its drivers report a refused address, a refused
    /// byte and most bus failures alike).
    NoAcknowledge(NoAcknowledgeSource),
    /// The bus is stuck or failed (`-EBUSY`: held low by a target; `-ETIMEDOUT`: the transfer
    /// never finished).
    Bus(crate::Error),
    /// Anything else: an invalid argument (an address out of range, too many operations),
    /// something the controller does not support (10-bit addresses, a speed: `-ENOTSUP`,
    /// `-EINVAL`), a device that is not there.
    Other(crate::Error),
}

impl Error {
    /// The error of a Zephyr errno (positive): `EIO` is `NoAcknowledge(Unknown)`, `ENXIO`
    /// `NoAcknowledge(Address)`, `EBUSY` and `ETIMEDOUT` are `Bus`, the rest `Other`.
    pub fn from_errno(errno: crate::Error) -> Self {
        match errno {
            crate::Error::EIO => Error::NoAcknowledge(NoAcknowledgeSource::Unknown),
            crate::Error::ENXIO => Error::NoAcknowledge(NoAcknowledgeSource::Address),
            crate::Error::EBUSY | crate::Error::ETIMEDOUT => Error::Bus(errno),
            _ => Error::Other(errno),
        }
    }

    /// The errno: `ENXIO` for a refused address, `EIO` for another missing acknowledge.
    pub fn errno(self) -> crate::Error {
        match self {
            Error::NoAcknowledge(NoAcknowledgeSource::Address) => crate::Error::ENXIO,
            Error::NoAcknowledge(_) => crate::Error::EIO,
            Error::Bus(e) | Error::Other(e) => e,
        }
    }

    /// The result of a driver call: 0 is `Ok`, a negative errno an error.
    fn check(ret: c_int) -> Result<(), Error> {
        crate::error::to_result_void(ret).map_err(Error::from_errno)
    }
}

impl embedded_hal::i2c::Error for Error {
    fn kind(&self) -> ErrorKind {
        match *self {
            Error::NoAcknowledge(source) => ErrorKind::NoAcknowledge(source),
            Error::Bus(_) => ErrorKind::Bus,
            Error::Other(_) => ErrorKind::Other,
        }
    }
}

impl From<crate::Error> for Error {
    fn from(errno: crate::Error) -> Self {
        Error::from_errno(errno)
    }
}

impl From<Error> for crate::Error {
    fn from(e: Error) -> Self {
        e.errno()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAcknowledge(source) => write!(f, "I2C: no acknowledge ({source})"),
            Error::Bus(e) => write!(f, "I2C bus error: {e}"),
            Error::Other(e) => write!(f, "I2C error: {e}"),
        }
    }
}

impl core::error::Error for Error {}

/// An I2C controller (a bus), for blocking and async transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I2c {
    device: Device,
    queue: WorkQueue,
}

impl I2c {
    /// The I2C controller of the devicetree node labelled `label`; async transactions run on
    /// the system work queue (see [`on_queue`](Self::on_queue)).
    ///
    /// The node must be an I2C controller: on the simulator another kind of device panics at
    /// the first call, naming it; real Zephyr cannot check.
    ///
    /// # Errors
    /// As [`Device::get`]: `ENOENT`, `ENODEV`, `EINVAL`.
    pub fn get(label: &str) -> crate::Result<I2c> {
        Ok(I2c::new(Device::get(label)?))
    }

    /// The I2C controller `device` (which must be one; see [`get`](Self::get)).
    pub fn new(device: Device) -> I2c {
        I2c { device, queue: WorkQueue::system_queue() }
    }

    /// Runs this handle's async transactions on `queue` (a started work queue), instead of the
    /// system work queue. The queue's thread makes the transfers: its stack holds the message
    /// array and the driver's frames (1 KiB is plenty), and its priority is theirs.
    pub fn on_queue(mut self, queue: &WorkQueue) -> I2c {
        self.queue = *queue;
        self
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Sets the bus speed, as controller (`i2c_configure` with `I2C_MODE_MASTER`).
    ///
    /// # Errors
    /// What the driver returns: usually [`Error::Other`] with `EINVAL` or `EIO` for a speed
    /// it does not support.
    pub fn configure(&mut self, speed: Speed) -> Result<(), Error> {
        let config = I2C_MODE_MASTER | I2C_SPEED_SET(speed.raw());
        // SAFETY: the device is an I2C controller (`get`'s contract); a plain driver call.
        Error::check(unsafe { i2c_configure(self.device.as_raw(), config) })
    }

    /// The async form of embedded-hal's `transaction` at a 7-bit address, as a named future
    /// (the trait's `transaction` awaits it). Nothing happens until it is first polled; see
    /// the module docs for how it runs and what dropping it does.
    pub fn transaction_async<'a>(
        &self,
        address: u8,
        operations: &'a mut [Operation<'_>],
    ) -> Transaction<'a> {
        Transaction::new(self, address as u16, false, operations)
    }

    /// Like [`transaction_async`](Self::transaction_async), at a 10-bit address
    /// (`I2C_MSG_ADDR_10_BITS`; many controllers answer `ENOTSUP`; see
    /// [`transaction_10bit`](Self::transaction_10bit)).
    pub fn transaction_async_10bit<'a>(
        &self,
        address: u16,
        operations: &'a mut [Operation<'_>],
    ) -> Transaction<'a> {
        Transaction::new(self, address, true, operations)
    }

    /// A blocking transaction at a 10-bit address (`I2C_MSG_ADDR_10_BITS`; many controllers
    /// answer `ENOTSUP`). Not an `embedded_hal::i2c::I2c<TenBitAddress>` implementation: with
    /// two address modes, `bus.write(0x48, ..)` would no longer compile without a type suffix.
    ///
    /// # Errors
    /// As the 7-bit `transaction`.
    ///
    /// # Panics
    /// In an interrupt handler.
    pub fn transaction_10bit(
        &mut self,
        address: u16,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Error> {
        self.blocking(address, true, operations)
    }

    fn blocking(
        &mut self,
        address: u16,
        ten_bit: bool,
        ops: &mut [Operation<'_>],
    ) -> Result<(), Error> {
        crate::thread::assert_may_block("I2c::transaction");
        Error::check(transfer(self.device.as_raw(), address, ten_bit, ops))
    }
}

impl From<Device> for I2c {
    fn from(device: Device) -> Self {
        I2c::new(device)
    }
}

/// Makes `ops` one `i2c_transfer` to `address` (see the module docs): 0 or a negative errno.
/// Blocks the calling thread for the transfer.
fn transfer(dev: *const device, address: u16, ten_bit: bool, ops: &mut [Operation<'_>]) -> c_int {
    if ops.is_empty() {
        return 0;
    }
    let max_address = if ten_bit { 0x3FF } else { 0x7F };
    if ops.len() > MAX_OPERATIONS || address > max_address {
        return -EINVAL;
    }
    let empty = i2c_msg { buf: core::ptr::null_mut(), len: 0, flags: 0 };
    let mut msgs = [empty; MAX_OPERATIONS];
    let last = ops.len() - 1;
    let mut previous_read = None;
    for (i, op) in ops.iter_mut().enumerate() {
        let (buf, len, read) = match op {
            Operation::Read(b) => (b.as_mut_ptr(), b.len(), true),
            // A write message's buffer is only read by the driver.
            Operation::Write(b) => (b.as_ptr() as *mut u8, b.len(), false),
        };
        let Ok(len) = u32::try_from(len) else { return -EINVAL };
        let mut flags = if read { I2C_MSG_READ } else { I2C_MSG_WRITE };
        if previous_read.is_some_and(|p| p != read) {
            flags |= I2C_MSG_RESTART;
        }
        if i == last {
            flags |= I2C_MSG_STOP;
        }
        if ten_bit {
            flags |= I2C_MSG_ADDR_10_BITS;
        }
        msgs[i] = i2c_msg { buf, len, flags };
        previous_read = Some(read);
    }
    // SAFETY: `dev` is an I2C controller (`I2c::get`'s contract); the messages point into the
    // operations' buffers, which `ops` borrows (mutably for reads) for the whole call.
    unsafe { i2c_transfer(dev, msgs.as_mut_ptr(), ops.len() as u8, address) }
}

impl ErrorType for I2c {
    type Error = Error;
}

impl embedded_hal::i2c::I2c<SevenBitAddress> for I2c {
    /// One blocking `i2c_transfer` (see the module docs).
    ///
    /// # Panics
    /// In an interrupt handler.
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), Error> {
        self.blocking(address as u16, false, operations)
    }
}

impl embedded_hal_async::i2c::I2c<SevenBitAddress> for I2c {
    async fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Error> {
        self.transaction_async(address, operations).await
    }
}

// ------------------------------------------------------------------ async transactions

const IDLE: u8 = 0;
const PENDING: u8 = 1;
const DONE: u8 = 2;

/// What the future and its work item share (inside critical sections).
struct Shared {
    state: u8,
    result: c_int,
    waker: Option<Waker>,
}

/// A transfer for a work queue to make.
#[repr(C)]
struct Job {
    /// First: the handler's `*mut k_work` points here.
    work: k_work,
    dev: *const device,
    address: u16,
    ten_bit: bool,
    /// The caller's operations (their lifetime erased: the `Transaction` borrows them, and its
    /// drop waits for the handler).
    operations: *mut Operation<'static>,
    count: usize,
    queue: WorkQueue,
    /// Whether `work` was initialised and submitted (so drop has something to wait for).
    submitted: bool,
    shared: UnsafeCell<Shared>,
    _pinned: PhantomPinned,
}

/// The work item's handler, on the queue's thread: makes the transfer, then wakes the task.
unsafe extern "C-unwind" fn run_job(work: *mut k_work) {
    let job = work as *mut Job;
    // SAFETY: `work` is the first field of a repr(C) `Job` inside a pinned `Transaction`,
    // which stays alive until this handler has returned (its drop waits with
    // `k_work_cancel_sync`); the future does not touch these fields while the job is pending.
    let (dev, address, ten_bit, ops, count) =
        unsafe { ((*job).dev, (*job).address, (*job).ten_bit, (*job).operations, (*job).count) };
    // SAFETY: the operations are borrowed by the transaction for its whole life (see above),
    // and nothing else uses them until the handler is done.
    let ops = unsafe { core::slice::from_raw_parts_mut(ops, count) };
    let result = transfer(dev, address, ten_bit, ops);
    let waker = critical_section::with(|_| {
        // SAFETY: `shared` is only touched inside critical sections.
        let shared = unsafe { &mut *(*job).shared.get() };
        shared.state = DONE;
        shared.result = result;
        shared.waker.take()
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// An async I2C transaction ([`I2c::transaction_async`]): completes with the transfer's
/// result. Dropping it before it completes waits until its buffers are no longer used (see
/// the module docs).
#[must_use = "futures do nothing unless awaited"]
pub struct Transaction<'a> {
    job: Job,
    _operations: PhantomData<&'a mut [u8]>,
}

// SAFETY: the operations it points to are `Send` (`Operation` holds plain byte slices) and
// borrowed mutably by it; the job is shared with its handler only through kernel calls and
// critical sections; the device and queue are kernel objects usable from any thread.
unsafe impl Send for Transaction<'_> {}

impl<'a> Transaction<'a> {
    fn new(bus: &I2c, address: u16, ten_bit: bool, operations: &'a mut [Operation<'_>]) -> Self {
        Transaction {
            job: Job {
                work: k_work::new(),
                dev: bus.device.as_raw(),
                address,
                ten_bit,
                count: operations.len(),
                operations: operations.as_mut_ptr().cast(),
                queue: bus.queue,
                submitted: false,
                shared: UnsafeCell::new(Shared { state: IDLE, result: 0, waker: None }),
                _pinned: PhantomPinned,
            },
            _operations: PhantomData,
        }
    }
}

impl Future for Transaction<'_> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // SAFETY: nothing is moved out; the job stays pinned inside `self`. Only raw pointer
        // accesses to its fields follow, as its handler may be running.
        let job = unsafe { core::ptr::addr_of_mut!(self.get_unchecked_mut().job) };
        // SAFETY: `job` is valid (above); `shared` is only touched inside critical sections.
        let shared = unsafe { (*job).shared.get() };
        // SAFETY: as above; `submitted` is only written here and read by drop.
        if !unsafe { (*job).submitted } {
            // SAFETY: as above: nothing else uses the job before it is submitted.
            let (count, address, ten_bit) =
                unsafe { ((*job).count, (*job).address, (*job).ten_bit) };
            if count == 0 {
                return Poll::Ready(Ok(()));
            }
            let max_address = if ten_bit { 0x3FF } else { 0x7F };
            if count > MAX_OPERATIONS || address > max_address {
                return Poll::Ready(Err(Error::Other(crate::Error::EINVAL)));
            }
            critical_section::with(|_| {
                // SAFETY: see above.
                let shared = unsafe { &mut *shared };
                shared.state = PENDING;
                shared.waker = Some(cx.waker().clone());
            });
            // SAFETY: the job is pinned, and drop waits for the handler (k_work_cancel_sync)
            // before its memory or the borrowed operations go; the queue is a started queue.
            let ret = unsafe {
                let work = core::ptr::addr_of_mut!((*job).work);
                k_work_init(work, Some(run_job));
                (*job).submitted = true;
                k_work_submit_to_queue((*job).queue.as_raw(), work)
            };
            if ret < 0 {
                return Poll::Ready(Err(Error::Other(crate::Error(ret.unsigned_abs()))));
            }
        }
        critical_section::with(|_| {
            // SAFETY: see above.
            let shared = unsafe { &mut *shared };
            if shared.state == DONE {
                Poll::Ready(Error::check(shared.result))
            } else {
                shared.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.job.submitted {
            return;
        }
        // Taken off the queue if it is still queued (nothing was sent); waited for if its
        // handler runs (the transfer is on the bus, or waits for it); immediate once done.
        let mut sync = k_work_sync::default();
        // SAFETY: an initialised work item in this pinned future; thread context (a future is
        // dropped by its executor's thread; Zephyr asserts otherwise, the simulator panics).
        unsafe { k_work_cancel_sync(&mut self.job.work, &mut sync) };
    }
}
