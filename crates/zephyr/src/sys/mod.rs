//! Thin safe wrappers over kernel primitives (the `sys` layer of zephyr-lang-rust).

pub mod asynch;
pub mod irq;
pub mod sync;
pub mod thread;

pub use asynch::{MsgQueue, PollSignal};
