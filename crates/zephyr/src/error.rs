//! Errors: a typed errno, as the kernel returns it.
//!
//! Kernel calls return 0 or a negative errno; [`to_result`] turns that into a [`Result`] whose
//! error says which errno it was (`Error::EAGAIN` for a timeout, `Error::EBUSY` for "not
//! available without waiting", ...).

use core::ffi::c_int;
use core::fmt;

/// A Zephyr error number (positive: `EAGAIN`, not `-EAGAIN`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error(pub u32);

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

macro_rules! errnos {
    ($($name:ident: $doc:literal;)*) => {
        impl Error {
            $(
                #[doc = $doc]
                pub const $name: Error = Error(zephyr_sys::$name as u32);
            )*

            /// The errno's symbolic name, when it is one this crate knows.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Error::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM: "Not the owner (`k_mutex_unlock` by another thread).";
    ENOENT: "No such entry (a devicetree node label the board does not have).";
    EINTR: "Interrupted.";
    EIO: "I/O error (an I2C target did not acknowledge, a bus error).";
    ENXIO: "No such device or address.";
    EAGAIN: "The timeout expired, or the wait was cancelled (`k_sem_reset`).";
    ENOMEM: "Out of memory.";
    EBUSY: "Not available without waiting (`K_NO_WAIT`).";
    ENODEV: "No such device.";
    EINVAL: "Invalid argument.";
    ENOMSG: "No message.";
    EDEADLK: "Waiting would deadlock (a thread joining itself).";
    ENOSYS: "Not implemented.";
    EADDRINUSE: "Already in use.";
    ETIMEDOUT: "Timed out.";
    EALREADY: "Already in progress.";
    ENOTSUP: "Not supported.";
    ECANCELED: "Cancelled.";
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Error({name})"),
            None => write!(f, "Error({})", self.0),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (errno {})", self.0),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl core::error::Error for Error {}

/// Turns a kernel return value into a `Result`: negative is an errno, anything else success.
pub fn to_result(ret: c_int) -> Result<c_int> {
    if ret < 0 {
        Err(Error(ret.unsigned_abs()))
    } else {
        Ok(ret)
    }
}

/// Like [`to_result`], for calls whose success value is always 0.
pub fn to_result_void(ret: c_int) -> Result<()> {
    to_result(ret).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trip() {
        assert_eq!(to_result(-11), Err(Error::EAGAIN));
        assert_eq!(to_result(3), Ok(3));
        assert_eq!(Error::EBUSY.name(), Some("EBUSY"));
        assert_eq!(Error(9999).name(), None);
    }
}
