//! Embassy on Zephyr: an executor that runs on a Zephyr thread, and the `embassy-time` driver.
//!
//! * [`Executor`] (feature `executor-zephyr`) runs Embassy tasks on the thread that calls
//!   [`Executor::run`], and blocks that thread in the kernel when no task is ready, so
//!   lower-priority threads and the idle thread run. Several executors may run on threads of
//!   different priorities; a [`SendSpawner`](embassy_executor::SendSpawner) spawns across them.
//! * `InterruptExecutor` (feature `executor-interrupt`) runs Embassy tasks in the handler of a
//!   Zephyr interrupt line: they preempt every thread as soon as they are woken.
//! * The time driver (feature `embassy-time-driver`, alias `time-driver`) implements
//!   `embassy-time` on one `k_timer`, with Zephyr's tick rate and embassy-time's checked at
//!   compile time (or converted, with `time-driver-convert`). Its deadlines wait in
//!   [`timer_queue::TimerQueue`], a pairing heap through the tasks: O(1) to schedule, O(log n)
//!   amortized per expiry.
//!
//! # Why not embassy-executor's `executor-thread` on Zephyr?
//!
//! Embassy's platform executors (`platform-cortex-m` + `executor-thread`, and the others) idle
//! with `WFE`/`WFI` or spin: the Zephyr thread that runs them never blocks in the kernel. The
//! scheduler then sees a ready thread forever: every lower-priority thread starves, and the
//! idle thread (which does power management) never runs. They also define the same `__pender`
//! symbol as this executor, so the two cannot be linked together; enabling both is a compile
//! error.

#[cfg(feature = "executor-zephyr")]
mod executor;
#[cfg(feature = "executor-interrupt")]
mod interrupt;
#[cfg(feature = "executor-zephyr")]
mod park;
#[cfg(feature = "executor-zephyr")]
pub use executor::*;
#[cfg(feature = "executor-interrupt")]
pub use interrupt::InterruptExecutor;

#[cfg(feature = "embassy-time-driver")]
pub mod time_driver;
#[cfg(feature = "embassy-time-driver")]
pub mod timer_queue;
