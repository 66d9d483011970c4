//! A byte pipe between threads ([`Pipe`], on `k_pipe`), with blocking `embedded-io` 0.7
//! `Read` and `Write`.
//!
//! Bytes go through an `N`-byte ring buffer, or straight into the buffer of a thread waiting to
//! read (Zephyr 2.7's `kernel/pipes.c`). [`Pipe::write`] and [`Pipe::read`] move at least
//! `min` bytes or fail: with `NoWait`, [`Error::EIO`] when fewer could move (nothing moves);
//! after a timeout, [`Error::EAGAIN`] when fewer than `min` had moved (those that did stay
//! moved). The `embedded-io` traits, on `&Pipe`, block until at least one byte moved, as
//! those traits ask. A pipe has no `k_poll` event in Zephyr 2.7, so there is no async form.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use embedded_io::{Read, Write};
//! use zephyr::sys::pipe::Pipe;
//!
//! static BYTES: Pipe<64> = Pipe::new();
//!
//! // In a producer thread:
//! (&BYTES).write_all(b"hello").unwrap();
//! // In a consumer thread:
//! let mut buf = [0; 5];
//! (&BYTES).read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"hello");
//! ```

use core::cell::UnsafeCell;
use core::ffi::c_void;

use zephyr_sys::{
    k_pipe, k_pipe_get, k_pipe_init, k_pipe_put, k_pipe_read_avail, k_pipe_write_avail, K_FOREVER,
};

use super::once::InitOnce;
use crate::error::{to_result_void, Error, Result};
use crate::object::KObj;
use crate::thread::assert_may_block;
use crate::time::Timeout;

/// A pipe with an `N`-byte buffer (`k_pipe`, `K_PIPE_DEFINE`); usable in a `static`. `N` may be
/// 0: bytes then move only between a writer and a reader that meet.
pub struct Pipe<const N: usize> {
    item: KObj<k_pipe>,
    buffer: UnsafeCell<[u8; N]>,
    init: InitOnce,
}

// SAFETY: the kernel serialises the pipe and its buffer.
unsafe impl<const N: usize> Sync for Pipe<N> {}

impl<const N: usize> Pipe<N> {
    /// An empty pipe, initialised (`k_pipe_init`) at its first use.
    pub const fn new() -> Self {
        Self {
            item: KObj::new(k_pipe::new()),
            buffer: UnsafeCell::new([0; N]),
            init: InitOnce::new(),
        }
    }

    fn raw(&self) -> *mut k_pipe {
        let pipe = self.item.get();
        let buffer = if N == 0 { core::ptr::null_mut() } else { self.buffer.get() as *mut u8 };
        // SAFETY: the pipe and its buffer live in `self`, which stays put from now on.
        self.init.call(|| unsafe { k_pipe_init(pipe, buffer, N) });
        pipe
    }

    /// Writes `data`, at least `min` bytes of it, waiting up to `timeout` (`k_pipe_put`);
    /// returns how many bytes went.
    ///
    /// # Errors
    /// [`Error::EINVAL`] if `min > data.len()`; [`Error::EIO`] with `NoWait` when fewer than
    /// `min` bytes could go (none went); [`Error::EAGAIN`] when the timeout expired with fewer
    /// than `min` written.
    ///
    /// # Panics
    /// Waiting in an interrupt handler; if the pipe moved since its first use.
    pub fn write<W: Into<Timeout>>(&self, data: &[u8], min: usize, timeout: W) -> Result<usize> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Pipe::write");
        }
        let mut written = 0;
        // SAFETY: an initialised pipe at a fixed address; `data` outlives the call (which only
        // reads it); blocking only in thread context.
        let r = unsafe {
            k_pipe_put(
                self.raw(),
                data.as_ptr() as *mut c_void,
                data.len(),
                &mut written,
                min,
                timeout.0,
            )
        };
        to_result_void(r).map(|()| written)
    }

    /// Reads into `buf`, at least `min` bytes, waiting up to `timeout` (`k_pipe_get`); returns
    /// how many bytes came.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    ///
    /// # Panics
    /// As [`write`](Self::write).
    pub fn read<W: Into<Timeout>>(&self, buf: &mut [u8], min: usize, timeout: W) -> Result<usize> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Pipe::read");
        }
        let mut read = 0;
        // SAFETY: as in `write`; `buf` is written only during the call.
        let r = unsafe {
            k_pipe_get(self.raw(), buf.as_mut_ptr().cast(), buf.len(), &mut read, min, timeout.0)
        };
        to_result_void(r).map(|()| read)
    }

    /// Bytes in the buffer (`k_pipe_read_avail`).
    pub fn read_avail(&self) -> usize {
        // SAFETY: an initialised pipe at a fixed address.
        unsafe { k_pipe_read_avail(self.raw()) }
    }

    /// Free bytes in the buffer (`k_pipe_write_avail`).
    pub fn write_avail(&self) -> usize {
        // SAFETY: as above.
        unsafe { k_pipe_write_avail(self.raw()) }
    }
}

impl<const N: usize> Default for Pipe<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        match *self {
            Error::EAGAIN => embedded_io::ErrorKind::TimedOut,
            Error::EINVAL => embedded_io::ErrorKind::InvalidInput,
            Error::ENOMEM => embedded_io::ErrorKind::OutOfMemory,
            _ => embedded_io::ErrorKind::Other,
        }
    }
}

impl<const N: usize> embedded_io::ErrorType for &Pipe<N> {
    type Error = Error;
}

impl<const N: usize> embedded_io::Read for &Pipe<N> {
    /// Blocks until at least one byte came (none for an empty `buf`).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        Pipe::read(*self, buf, 1, Timeout(K_FOREVER))
    }
}

impl<const N: usize> embedded_io::Write for &Pipe<N> {
    /// Blocks until at least one byte went (none for an empty `buf`).
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        Pipe::write(*self, buf, 1, Timeout(K_FOREVER))
    }

    /// Nothing to do: written bytes are in the pipe already.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
