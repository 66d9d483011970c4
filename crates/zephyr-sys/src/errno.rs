//! Error numbers, as Zephyr's C library defines them (`lib/libc/minimal/include/errno.h`).
//!
//! Kernel calls return them negated: `k_sem_take` returns `-EBUSY`.

use core::ffi::c_int;

/// Not owner.
pub const EPERM: c_int = 1;
/// No such entry.
pub const ENOENT: c_int = 2;
/// Interrupted call.
pub const EINTR: c_int = 4;
/// I/O error (an I2C target did not acknowledge, a bus error).
pub const EIO: c_int = 5;
/// No such device or address.
pub const ENXIO: c_int = 6;
/// Resource temporarily unavailable; the timeout expired.
pub const EAGAIN: c_int = 11;
/// Out of memory.
pub const ENOMEM: c_int = 12;
/// Bad address.
pub const EFAULT: c_int = 14;
/// Device or resource busy; unavailable with `K_NO_WAIT`.
pub const EBUSY: c_int = 16;
/// No such device (for example, a work queue that was never started).
pub const ENODEV: c_int = 19;
/// Invalid argument.
pub const EINVAL: c_int = 22;
/// No message of the desired type.
pub const ENOMSG: c_int = 35;
/// Resource deadlock would occur.
pub const EDEADLK: c_int = 45;
/// Function not implemented.
pub const ENOSYS: c_int = 88;
/// Address in use.
pub const EADDRINUSE: c_int = 112;
/// Timed out.
pub const ETIMEDOUT: c_int = 116;
/// Operation now in progress (`k_work_poll::poll_result` while triggered work waits).
pub const EINPROGRESS: c_int = 119;
/// Operation already in progress.
pub const EALREADY: c_int = 120;
/// Not supported.
pub const ENOTSUP: c_int = 134;
/// Operation canceled.
pub const ECANCELED: c_int = 140;
