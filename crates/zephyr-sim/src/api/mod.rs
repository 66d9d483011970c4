//! The kernel API: every `zephyr-sys` symbol, defined with `#[no_mangle]`.
//!
//! Each function checks its arguments as Zephyr does (errno returns), checks what Zephyr only
//! asserts (blocking from an ISR, objects never initialised or moved: a panic naming the call),
//! updates the kernel in one `kernel::with` borrow, then switches if it must.
//!
//! All functions are `unsafe extern "C"`: callers pass raw pointers to kernel objects, which
//! must be valid, stay in place after initialisation, and outlive every thread using them.

pub mod heap;
pub mod irq;
pub mod mbox;
pub mod mem_slab;
pub mod misc;
pub mod msgq;
pub mod pipe;
pub mod poll;
pub mod queue;
pub mod stack;
pub mod sync;
pub mod thread;
pub mod timer;
pub mod work;

#[cfg(test)]
mod tests;

use crate::kernel::with;

/// Panics if called from an ISR: `call` may block.
pub(crate) fn no_isr(call: &str) {
    if with(|k| k.isr_depth > 0) {
        panic!("{call}: blocking call from ISR context (an ISR may only use K_NO_WAIT)");
    }
}
