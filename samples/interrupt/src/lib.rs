//! An `InterruptExecutor`'s rules, shown on a board: its task preempts a cooperative thread's
//! computation, a thread spawns onto it with a `SendSpawner`, and its tasks run in ISR context.
//!
//! 1. [`rust_main`] starts an [`InterruptExecutor`] on [`IRQ_LINE`] at priority
//!    [`IRQ_PRIORITY`] and spawns `ticker` onto it: the task notes the start instant (every
//!    time stamp below is milliseconds since it) and ticks every 10 ms with
//!    `embassy_time::Ticker`, four times, printing each tick's stamp and `k_is_in_isr()`.
//! 2. A cooperative thread (priority [`COMPUTE_PRIORITY`]) runs a thread [`Executor`] whose
//!    `compute` task busy-waits 35 ms (`k_busy_wait`). No thread can preempt a cooperative
//!    thread, yet the ticks print at 10, 20 and 30 ms, between the computation's `start` and
//!    `done` lines: the time driver's alarm (system clock ISR) pends the executor's line, whose
//!    handler polls the ticker task on top of the busy thread.
//! 3. The main thread spawns `spawned` onto the interrupt executor through its
//!    `SendSpawner`: the spawn pends the line, so the task prints before `spawn` returns, and so
//!    before the main thread's next line. Then it waits for the ticker's last tick.
//!
//! The computation busy-waits in slices of [`SLICE_US`], and stamps are rounded to the nearest
//! millisecond, for QEMU: there Zephyr 2.7's SysTick driver under QEMU's SysTick model
//! sometimes lets `k_cycle_get_32()` jump ahead by a whole programmed timeout (10 ms here; the
//! issue `scripts/zephyr-test.sh` describes), and one `k_busy_wait(35000)` then ended at 30 ms
//! at `-icount shift=0` and `1` (right after the third tick), at 35 ms at `2` and `3`. A jump
//! now cuts one 200 us slice short: the computation still ends at 35 ms. The uptime, which the
//! stamps and the time driver use, did not jump.
//!
//! Output (the same on the simulator, native_posix_64 and qemu_cortex_m3, with the board's
//! name; `examples/tests/golden/interrupt-demo.txt`):
//!
//! ```text
//! interrupt: InterruptExecutor at priority 2 on zephyr_sim
//!     0 ms  ticker: every 10 ms, in ISR: true
//!     0 ms  compute: 35 ms on a cooperative thread, in ISR: false
//!    10 ms  ticker: tick 1
//!    20 ms  ticker: tick 2
//!    30 ms  ticker: tick 3
//!    35 ms  compute: done
//!    35 ms  main: spawning onto the interrupt executor
//!    35 ms  spawned: running, in ISR: true
//!    35 ms  main: spawn returned
//!    40 ms  ticker: tick 4
//! interrupt: done
//! ```
//!
//! On the simulator: `cargo run -p examples --bin interrupt-demo`. On Zephyr: this directory is
//! the application (`scripts/zephyr-test.sh` builds and checks it on both boards).

#![no_std]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embassy_executor::Spawner;
use embassy_time::{Duration, Instant, Ticker};
use zephyr::embassy::{Executor, InterruptExecutor};
use zephyr::printkln;
use zephyr::sys::sync::Semaphore;
use zephyr::thread::{Thread, ThreadStack};
use zephyr::time::Forever;

/// The interrupt executor's priority (`IRQ_CONNECT`'s: 0 is the most urgent). The system clock
/// (0 on Cortex-M, 1 on native_posix) stays more urgent, and every thread less.
pub const IRQ_PRIORITY: u32 = 2;

/// The computing thread's priority: cooperative (negative), so no thread preempts it.
pub const COMPUTE_PRIORITY: i32 = -1;

/// The interrupt executor's line: one no device of the board uses.
#[cfg(CONFIG_BOARD_QEMU_CORTEX_M3)]
mod line {
    /// `qemu_cortex_m3` (TI LM3S6965): `CONFIG_NUM_IRQS` is 43
    /// (`soc/arm/ti_lm3s6965/Kconfig.defconfig`), and the devicetree
    /// (`dts/arm/ti/lm3s6965.dtsi`) uses lines 0-6, 30, 31, 33 and 42.
    pub const IRQ_LINE: u32 = 40;
}
/// The interrupt executor's line: one no device of the board uses.
#[cfg(any(CONFIG_BOARD_NATIVE_POSIX, CONFIG_BOARD_ZEPHYR_SIM))]
mod line {
    /// `native_posix(_64)`: 32 lines (`N_IRQS`, `boards/posix/native_posix/irq_ctrl.h`), of
    /// which the board uses 0-2 (`board_soc.h`). The simulator: 64 lines, none used by a device.
    pub const IRQ_LINE: u32 = 30;
}
#[cfg(not(any(CONFIG_BOARD_QEMU_CORTEX_M3, CONFIG_BOARD_NATIVE_POSIX, CONFIG_BOARD_ZEPHYR_SIM)))]
compile_error!(
    "samples/interrupt: pick an interrupt line no device uses on this board (src/lib.rs, mod line)"
);
pub use line::IRQ_LINE;
const _: () = assert!(IRQ_LINE < zephyr::raw::CONFIG_NUM_IRQS);

/// How long `compute` busy-waits.
const COMPUTE_MS: u32 = 35;
/// `compute`'s busy wait, in slices of this many microseconds (see the module docs).
pub const SLICE_US: u32 = 200;
/// The ticker's period.
const TICK_MS: u64 = 10;
/// The ticker's number of ticks: three within the computation, one after it (so the time
/// driver keeps its 10 ms alarm through the computation; see the module docs).
const TICKS: u32 = 4;

static URGENT: InterruptExecutor = InterruptExecutor::new();
static COMPUTE_EXECUTOR: Executor = Executor::new();
static COMPUTE_THREAD: Thread = Thread::named("compute");
static COMPUTE_STACK: ThreadStack<2048> = ThreadStack::new();
/// Set by `compute` when done: ends its executor's `run_until`.
static COMPUTED: AtomicBool = AtomicBool::new(false);

/// The ticks (`Instant::as_ticks`, low 32 bits) at which `ticker` started: time zero of the
/// printed stamps.
static START_TICKS: AtomicU32 = AtomicU32::new(0);

/// Given by `ticker` after its last tick; the main thread waits for it before `done`.
static TICKER_DONE: Semaphore = Semaphore::new(0, 1);

/// Milliseconds since `ticker` started, rounded to the nearest.
fn ms() -> u64 {
    let now = Instant::now().as_ticks() as u32;
    let ticks = now.wrapping_sub(START_TICKS.load(Ordering::Relaxed));
    (Duration::from_ticks(u64::from(ticks)) + Duration::from_micros(500)).as_millis()
}

/// Whether the caller runs in an ISR (`k_is_in_isr`).
fn in_isr() -> bool {
    // SAFETY: a plain query, valid in any context.
    unsafe { zephyr::raw::k_is_in_isr() }
}

/// On the interrupt executor: notes time zero, then prints [`TICKS`] ticks, one every
/// [`TICK_MS`], from the line's handler.
#[embassy_executor::task]
async fn ticker() {
    START_TICKS.store(Instant::now().as_ticks() as u32, Ordering::Relaxed);
    let mut ticker = Ticker::every(Duration::from_millis(TICK_MS));
    printkln!("{:5} ms  ticker: every {TICK_MS} ms, in ISR: {}", ms(), in_isr());
    for tick in 1..=TICKS {
        ticker.next().await;
        printkln!("{:5} ms  ticker: tick {tick}", ms());
    }
    TICKER_DONE.give();
}

/// On the cooperative thread's executor: busy-waits [`COMPUTE_MS`], as a long computation
/// would, then sets [`COMPUTED`].
#[embassy_executor::task]
async fn compute() {
    printkln!(
        "{:5} ms  compute: {COMPUTE_MS} ms on a cooperative thread, in ISR: {}",
        ms(),
        in_isr()
    );
    for _ in 0..COMPUTE_MS * 1000 / SLICE_US {
        // SAFETY: a busy wait, valid on any thread.
        unsafe { zephyr::raw::k_busy_wait(SLICE_US) };
    }
    printkln!("{:5} ms  compute: done", ms());
    COMPUTED.store(true, Ordering::Relaxed);
}

/// Spawned onto the interrupt executor from the main thread.
#[embassy_executor::task]
async fn spawned() {
    printkln!("{:5} ms  spawned: running, in ISR: {}", ms(), in_isr());
}

/// The application's entry point (Zephyr's `main` calls it; on the host, `examples`'
/// `interrupt-demo` runner). Prints the lines of the module documentation and returns.
///
/// # Panics
/// If the line cannot be connected, or the computing thread cannot be spawned or joined.
#[no_mangle]
pub extern "C-unwind" fn rust_main() {
    printkln!(
        "interrupt: InterruptExecutor at priority {IRQ_PRIORITY} on {}",
        zephyr::kconfig::CONFIG_BOARD
    );
    let spawner = URGENT.start(IRQ_LINE, IRQ_PRIORITY);
    // The line preempts this thread: the ticker has started when `spawn` returns.
    spawner.spawn(ticker().expect("a free task slot"));

    COMPUTE_THREAD
        .spawn(&COMPUTE_STACK, COMPUTE_PRIORITY, || {
            COMPUTE_EXECUTOR.run_until(
                |spawner: Spawner| spawner.spawn(compute().expect("a free task slot")),
                || COMPUTED.load(Ordering::Relaxed),
            );
        })
        .expect("the computing thread spawns");
    COMPUTE_THREAD.join(Forever).expect("the computing thread returns");

    printkln!("{:5} ms  main: spawning onto the interrupt executor", ms());
    spawner.spawn(spawned().expect("a free task slot"));
    printkln!("{:5} ms  main: spawn returned", ms());
    TICKER_DONE.take(Forever).expect("a semaphore taken forever returns 0");
    printkln!("interrupt: done");
}
