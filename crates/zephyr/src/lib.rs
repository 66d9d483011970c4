//! Safe Rust on Zephyr RTOS, with Embassy async tasks on Zephyr threads.
//!
//! The crate talks to the kernel only through `zephyr-sys` (Zephyr's C API with its real names),
//! so the same code runs on real Zephyr and, for tests, on the `zephyr-sim` simulated kernel.
//! Names and shapes follow the upstream zephyr-lang-rust `zephyr` crate where it has the same
//! thing (`zephyr::time::{Duration, Instant, Timeout, Forever, NoWait}`,
//! `zephyr::sys::sync::Semaphore`, `zephyr::embassy::Executor`, `printkln!`), so code moves over.
//!
//! | module | what |
//! | --- | --- |
//! | [`error`] | [`Error`], a typed errno, and [`Result`] |
//! | [`time`] | ticks, [`time::Duration`], [`time::Instant`], [`time::Timeout`], `sleep` |
//! | [`sys::sync`] | kernel semaphores and mutexes |
//! | [`sync`] | a data-owning [`sync::Mutex`] and a [`sync::Condvar`] |
//! | [`thread`](mod@thread) | threads with static stacks and priorities |
//! | [`timer`] | kernel timers, with a stopped/running typestate |
//! | [`work`] | work queues and work items; [`work::futures`]: waiting for kernel events from any executor |
//! | [`sys::asynch`] | `Semaphore::take_async`, [`sys::PollSignal`], [`sys::MsgQueue`] |
//! | [`device`] | devices by devicetree node label; GPIO, UART and I2C drivers (embedded-hal, embedded-io) |
//! | `kio` | async tasks on work queues (not with `no-kio`) |
//! | `embassy` | the Embassy executor (`executor-zephyr`) and `embassy-time` driver |
//!
//! # Quick start
//!
//! Embassy tasks on a Zephyr thread of priority 2 (the executor parks the thread whenever no
//! task is ready, so less urgent threads and the idle thread run):
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use embassy_time::{Duration, Ticker};
//! use static_cell::StaticCell;
//! use zephyr::embassy::Executor;
//! use zephyr::thread::{Thread, ThreadStack};
//!
//! static THREAD: Thread = Thread::named("tasks");
//! static STACK: ThreadStack<4096> = ThreadStack::new();
//! static EXECUTOR: StaticCell<Executor> = StaticCell::new();
//!
//! #[embassy_executor::task]
//! async fn heartbeat() {
//!     let mut ticker = Ticker::every(Duration::from_millis(500));
//!     loop {
//!         ticker.next().await;
//!         zephyr::printkln!("beat");
//!     }
//! }
//!
//! fn rust_main() {
//!     THREAD
//!         .spawn(&STACK, 2, || {
//!             EXECUTOR.init(Executor::new()).run(|spawner| spawner.spawn(heartbeat().unwrap()))
//!         })
//!         .unwrap();
//! }
//! ```
//!
//! On the host, run the same code on the simulated kernel: `zephyr_sim::Sim::new().run(rust_main)`
//! (see `examples/` and the tests).
//!
//! # On real Zephyr
//!
//! Built by the repository's Zephyr module (`rust_cargo_application()` in the application's
//! `CMakeLists.txt`), `zephyr-sys` takes its layouts and constants from the application's own
//! build and this crate also provides the program's panic handler (the message through `printk`,
//! then `k_panic()`) and a global allocator on the kernel heap (`CONFIG_HEAP_MEM_POOL_SIZE`).
//! Kernel objects in `static`s are initialised at their first use there (see [`object`]).
//!
//! # Features
//! * `executor-zephyr`: `embassy::Executor`, Embassy tasks on a Zephyr thread that parks when
//!   it has no work. Cannot be combined with embassy-executor's own `platform-*` executors.
//! * `embassy-time-driver` (alias `time-driver`): `embassy-time` on one `k_timer`;
//!   `time-driver-convert` allows differing tick rates.
//! * `critical-section-impl` (default): `critical-section` on `irq_lock`.
//! * `log` (default): a `log` backend printing through `printk`; `zephyr::set_logger()`.
//! * `no-kio`: removes `kio` (which needs a global allocator); the async kernel waits remain.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod device;
pub mod error;
pub mod object;
pub mod printk;
pub mod sync;
pub mod sys;
pub mod thread;
pub mod time;
pub mod timer;
pub mod work;

#[cfg(feature = "critical-section-impl")]
mod critical;

#[cfg(zephyr_real)]
mod rt;

#[cfg(feature = "log")]
pub mod logging;

/// Upstream's `unsafe fn zephyr::set_logger()` (feature `log`, on by default): see
/// [`logging::upstream_set_logger`].
#[cfg(feature = "log")]
pub use logging::upstream_set_logger as set_logger;

#[cfg(not(feature = "no-kio"))]
pub mod kio;

#[cfg(any(feature = "executor-zephyr", feature = "embassy-time-driver"))]
pub mod embassy;

pub use error::{Error, Result};

/// `#[zephyr::thread(stack_size = ..., pool_size = ...)]`: a function whose calls create
/// threads from a static pool (see [`thread`](mod@thread)'s docs). The attribute and the
/// `thread` module share the name, as upstream zephyr-lang-rust has them.
pub use zephyr_macros::thread;

/// The raw kernel API this crate is built on.
pub use zephyr_sys as raw;

// On the simulator the program is a host program: std provides its panic handler and global
// allocator, also to an application built as `crate-type = ["staticlib", "rlib"]` (the
// staticlib is built beside the rlib the simulator links, and needs both).
#[cfg(zephyr_sim)]
extern crate std;

pub mod kconfig {
    //! The build's Kconfig values, as constants (zephyr-lang-rust's `zephyr::kconfig`).
    //!
    //! One constant per integer, hex and string option of the configuration, with
    //! zephyr-lang-rust's types: decimal options are `isize`, `0x` hex options `usize`, strings
    //! `&str` (`CONFIG_BOARD`, `CONFIG_SYS_CLOCK_TICKS_PER_SEC`, ...). Boolean options are not
    //! constants: an application's `build.rs` turns them into cfgs with
    //! `zephyr_build::export_bool_kconfig()`.
    //!
    //! On real Zephyr the values are the application's `.config`. On the simulator they are the
    //! simulated board's configuration (`CONFIG_BOARD` is `"zephyr_sim"`): `zephyr-build`'s
    //! `boards/zephyr_sim_defconfig` and the fragments named in `ZEPHYR_SIM_CONF`
    //! (`scripts/sim-run` names the application's `prj.conf` there). So the documentation of a
    //! particular build shows that build's values, not those of every build.
    #![allow(missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/kconfig.rs"));
}
