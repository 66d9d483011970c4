//! Thin safe wrappers over kernel primitives (the `sys` layer of zephyr-lang-rust).

pub mod asynch;
pub mod irq;
pub mod memory;
mod once;
pub mod pipe;
pub mod stack;
pub mod sync;
pub mod thread;

pub use asynch::{MsgQueue, PollSignal};

/// The raw timeouts "wait as long as it takes" and "do not wait" (upstream's
/// `zephyr::sys::K_FOREVER` and `K_NO_WAIT`; [`crate::time::Forever`] and
/// [`crate::time::NoWait`] are the typed forms).
pub use zephyr_sys::{K_FOREVER, K_NO_WAIT};

/// Milliseconds since boot (`k_uptime_get`), rounded down; upstream's `zephyr::sys::uptime_get`.
/// Callable from threads and interrupt handlers.
#[inline]
pub fn uptime_get() -> i64 {
    // SAFETY: a read of the kernel clock, valid from any context once the kernel runs (which
    // code using this crate always does).
    unsafe { zephyr_sys::k_uptime_get() }
}
