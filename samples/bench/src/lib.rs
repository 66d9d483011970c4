//! Round-trip benchmarks as a Zephyr application: kernel threads, Embassy tasks, and a thread
//! with a task, each timed with the cycle counter; the same code on a board and on the simulator.
//!
//! Each scenario makes [`ROUND_TRIPS`] round trips between two parties (after one warm-up round
//! trip that is not timed), reads `k_cycle_get_32()` before and after, and prints one line:
//!
//! | line | the two parties | how they hand over |
//! | --- | --- | --- |
//! | `bench thread` | the measuring thread (priority [`MEASURE_PRIORITY`]) and a partner thread one priority more urgent | two `k_sem`s |
//! | `bench thread-same-prio` | the same, partner at the same priority | two `k_sem`s |
//! | `bench cs` | two Embassy tasks on one [`Executor`] | two `Channel<CriticalSectionRawMutex, (), 1>` |
//! | `bench noop` | the same | two `Channel<NoopRawMutex, (), 1>` |
//! | `bench thread-task` | the measuring thread and a task on an executor thread of the same priority | a `Signal`; a `k_sem` back |
//! | `bench irq` | the measuring thread and the ISR of interrupt line [`IRQ_LINE`] (priority [`IRQ_PRIORITY`]) | `zr_irq_pend`; a `k_sem` back |
//! | `bench irq-task` (feature `irq`) | the measuring thread and a task on an `InterruptExecutor` on line [`IRQ_EXECUTOR_LINE`] (priority [`IRQ_PRIORITY`]) | a `Signal`; a `k_sem` back |
//!
//! then `bench hw_cycles_per_sec=H` (the cycle counter's rate) and `bench done`:
//!
//! ```text
//! bench thread round_trips=10000 cycles=C
//! ...
//! bench hw_cycles_per_sec=H
//! bench done
//! ```
//!
//! * **The kernel's own round trip** (`thread`, `thread-same-prio`) is the baseline the others
//!   compare with: on a board it is the C of `src/baseline.c` (feature `c-baseline`, which
//!   `CMakeLists.txt` turns on), on the simulator its Rust port (`src/baseline.rs`). With the
//!   partner more urgent, each `k_sem_give` switches to it at once; at the same priority, each
//!   `k_sem_take` that blocks switches. Both make two thread switches per round trip.
//! * **Task to task** (`cs`, `noop`): the executor's thread never blocks; `noop` is the
//!   executor alone, `cs` adds embassy-sync's critical sections (`irq_lock`). The tasks time
//!   themselves, so starting the executor's thread is not counted.
//! * **Thread to task** (`thread-task`) is to be read against `thread-same-prio`: the same two
//!   switches, through the executor's park (`k_sem_take`) and pender (`k_sem_give`).
//! * **Thread to interrupt** (`irq`, the kernel's own, in `src/baseline.c` as the thread
//!   baselines; `irq-task`, to be read against it): the thread pends the line, whose handler
//!   preempts it at once, gives the semaphore and returns; the thread's `k_sem_take` then finds
//!   the semaphore given and does not block. No thread switch: a round trip is a software pend,
//!   an interrupt entry and exit, a give and a take. In `irq-task` the `Signal`'s waker is the
//!   `InterruptExecutor`'s pender (`zr_irq_pend`), and the handler polls the executor, whose
//!   task gives the semaphore. `irq` connects its line with `irq_connect_dynamic` (in C, as
//!   the executor does from Rust), so both take Zephyr's same interrupt path. The lines are
//!   ones no device uses on the board (see [`IRQ_LINE`]).
//!
//! Each executor runs on the same static [`Thread`] (re-spawned per scenario) with
//! [`Executor::run_until`], so each scenario ends and the thread is joined before the next.
//!
//! # Where it runs
//! * **On Zephyr**: this directory is a Zephyr application (`CMakeLists.txt`, `prj.conf`), whose
//!   C `main()` calls [`rust_main`] (`west build -b qemu_cortex_m3 samples/bench --
//!   -DZEPHYR_EXTRA_MODULES=$PWD` from the repository root). Under QEMU with `-icount shift=0` every instruction takes
//!   1 ns, so instructions per round trip = `cycles * 1e9 / (hw_cycles_per_sec * round_trips)`.
//! * **On the simulator**: `cargo run -p examples --bin bench-app`; no virtual time passes
//!   while code runs, so every `cycles` is 0 there: it checks that every scenario runs to its
//!   end, not how fast.
//!
//! # Measured
//! `qemu_cortex_m3` (Zephyr 2.7.0, 12 MHz cycle counter, `-icount shift=0`), the module's
//! release build (`opt-level = "s"`, LTO; this application's Rust at 3), instructions per
//! round trip: `thread` ~456, `thread-same-prio` ~656, `cs` ~524, `noop` ~401, `thread-task`
//! ~848; with feature `irq` (zephyr's `executor-interrupt`): `irq` ~105, `irq-task` ~276,
//! and `thread-task` ~861 (the pender's test for interrupt lines). Under QEMU the cycle
//! counter moves in steps of 125 cycles, so each count is good to about 2 instructions. The Rust port of the baseline gives
//! the same counts as the C (the kernel's code dominates). On this board, a task-to-task round
//! trip costs more instructions than the kernel's thread-to-thread one. An interrupt round trip
//! makes no thread switch, so `irq` is a quarter of `thread`; `irq-task` adds the executor's
//! fixed costs to it (the `Signal`'s two critical sections, the pender, one poll of the run
//! queue and of the task, the Rust `Semaphore` wrappers): ~170 instructions, 2.6x `irq`, and
//! still under half of `thread-task`, its thread-executor counterpart.

#![no_std]

mod baseline;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex, RawMutex};
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use static_cell::StaticCell;
use zephyr::embassy::Executor;
#[cfg(feature = "irq")]
use zephyr::embassy::InterruptExecutor;
use zephyr::printkln;
use zephyr::sys::sync::Semaphore;
use zephyr::thread::{Thread, ThreadId, ThreadStack};
use zephyr::time::Forever;

/// Round trips timed per scenario.
pub const ROUND_TRIPS: u32 = 10_000;

/// The priority of the measuring thread (the main thread, which sets it; `prj.conf` sets
/// `CONFIG_MAIN_THREAD_PRIORITY` to it too), and of the executor threads. Preemptible, with a
/// more urgent preemptible priority free for the `thread` scenario's partner.
pub const MEASURE_PRIORITY: i32 = 5;

/// The partner thread's priority in the `thread` scenario: one more urgent than the measuring
/// thread, so every `k_sem_give(ping)` preempts the giver.
const URGENT_PARTNER_PRIORITY: i32 = MEASURE_PRIORITY - 1;

/// The priority (`IRQ_CONNECT`'s: 0 is the most urgent) of the interrupt lines of the `irq` and
/// `irq-task` scenarios: any priority preempts the measuring thread; 2 leaves the system clock
/// (0 on Cortex-M, 1 on native_posix) more urgent.
pub const IRQ_PRIORITY: u32 = 2;

/// The interrupt lines of the `irq` scenario ([`IRQ_LINE`]) and of the `irq-task` scenario's
/// executor ([`IRQ_EXECUTOR_LINE`]): lines no device of the board uses, picked per board.
#[cfg(CONFIG_BOARD_QEMU_CORTEX_M3)]
mod lines {
    /// `qemu_cortex_m3` (TI LM3S6965): `CONFIG_NUM_IRQS` is 43
    /// (`soc/arm/ti_lm3s6965/Kconfig.defconfig`), and the devicetree
    /// (`dts/arm/ti/lm3s6965.dtsi`) uses lines 0-6, 30, 31, 33 and 42; QEMU's `lm3s6965evb`
    /// model wires nothing to 40 or 41 either.
    pub const IRQ_LINE: u32 = 40;
    /// See [`IRQ_LINE`].
    pub const IRQ_EXECUTOR_LINE: u32 = 41;
}
/// The interrupt lines of the `irq` scenario ([`IRQ_LINE`]) and of the `irq-task` scenario's
/// executor ([`IRQ_EXECUTOR_LINE`]): lines no device of the board uses, picked per board.
#[cfg(any(CONFIG_BOARD_NATIVE_POSIX, CONFIG_BOARD_ZEPHYR_SIM))]
mod lines {
    /// `native_posix(_64)`: 32 lines (`N_IRQS`, `boards/posix/native_posix/irq_ctrl.h`), of
    /// which the board uses 0-2 (`TIMER_TICK_IRQ`, `OFFLOAD_SW_IRQ`, `COUNTER_EVENT_IRQ`,
    /// `board_soc.h`). The simulator (`zephyr_sim`): 64 lines, none used by a device.
    pub const IRQ_LINE: u32 = 30;
    /// See [`IRQ_LINE`].
    pub const IRQ_EXECUTOR_LINE: u32 = 31;
}
#[cfg(not(any(CONFIG_BOARD_QEMU_CORTEX_M3, CONFIG_BOARD_NATIVE_POSIX, CONFIG_BOARD_ZEPHYR_SIM)))]
compile_error!(
    "samples/bench: pick two interrupt lines no device uses on this board (src/lib.rs, mod lines)"
);
pub use lines::{IRQ_EXECUTOR_LINE, IRQ_LINE};
const _: () = assert!(IRQ_EXECUTOR_LINE < zephyr::raw::CONFIG_NUM_IRQS);

/// The thread every executor runs on, one scenario at a time.
static EXECUTOR_THREAD: Thread = Thread::named("bench-executor");
static EXECUTOR_STACK: ThreadStack<2048> = ThreadStack::new();

static CS_EXECUTOR: Executor = Executor::new();
static NOOP_EXECUTOR: Executor = Executor::new();
static THREAD_TASK_EXECUTOR: Executor = Executor::new();

/// Set by a scenario's last task when it is done: ends the executor's `run_until`.
static FINISHED: AtomicBool = AtomicBool::new(false);
/// Cycles of the latest task-to-task scenario, as its pinger measured them.
static CYCLES: AtomicU32 = AtomicU32::new(0);

/// The cycle counter (`k_cycle_get_32`), wrapping.
fn cycles() -> u32 {
    // SAFETY: reads the cycle counter; valid in any context.
    unsafe { zephyr::raw::k_cycle_get_32() }
}

fn report(scenario: &str, cycles: u32) {
    printkln!("bench {scenario} round_trips={ROUND_TRIPS} cycles={cycles}");
}

/// Spawns [`EXECUTOR_THREAD`] at [`MEASURE_PRIORITY`] to run `run`, a scenario's executor
/// (`run_until` [`finished`]), after clearing [`FINISHED`]. Returns once the thread is spawned;
/// join it with [`join_executor_thread`].
fn spawn_executor_thread(run: fn()) {
    FINISHED.store(false, Ordering::Relaxed);
    EXECUTOR_THREAD
        .spawn(&EXECUTOR_STACK, MEASURE_PRIORITY, run)
        .expect("the executor thread is free (the previous scenario joined it)");
}

fn join_executor_thread() {
    EXECUTOR_THREAD.join(Forever).expect("the executor thread returns");
}

/// Whether the scenario's last task is done (the `done` of `run_until`).
fn finished() -> bool {
    FINISHED.load(Ordering::Relaxed)
}

// ---- task to task: cs, noop -------------------------------------------------------------

/// The two channels of capacity 1 of a task-to-task ping-pong.
struct PingPong<M: RawMutex> {
    ping: Channel<M, (), 1>,
    pong: Channel<M, (), 1>,
}

impl<M: RawMutex> PingPong<M> {
    const fn new() -> Self {
        Self { ping: Channel::new(), pong: Channel::new() }
    }
}

/// The measuring side: one warm-up round trip, then [`ROUND_TRIPS`] timed ones. Stores the
/// cycles in [`CYCLES`] and sets [`FINISHED`].
async fn pinger<M: RawMutex>(channels: &PingPong<M>) {
    channels.ping.send(()).await;
    channels.pong.receive().await;
    let start = cycles();
    for _ in 0..ROUND_TRIPS {
        channels.ping.send(()).await;
        channels.pong.receive().await;
    }
    CYCLES.store(cycles().wrapping_sub(start), Ordering::Relaxed);
    FINISHED.store(true, Ordering::Relaxed);
}

/// The answering side: [`ROUND_TRIPS`] + 1 round trips (the warm-up included), then returns.
async fn ponger<M: RawMutex>(channels: &PingPong<M>) {
    for _ in 0..=ROUND_TRIPS {
        channels.ping.receive().await;
        channels.pong.send(()).await;
    }
}

static CS_CHANNELS: StaticCell<PingPong<CriticalSectionRawMutex>> = StaticCell::new();
static NOOP_CHANNELS: StaticCell<PingPong<NoopRawMutex>> = StaticCell::new();

#[embassy_executor::task]
async fn cs_pinger(channels: &'static PingPong<CriticalSectionRawMutex>) {
    pinger(channels).await;
}

#[embassy_executor::task]
async fn cs_ponger(channels: &'static PingPong<CriticalSectionRawMutex>) {
    ponger(channels).await;
}

#[embassy_executor::task]
async fn noop_pinger(channels: &'static PingPong<NoopRawMutex>) {
    pinger(channels).await;
}

#[embassy_executor::task]
async fn noop_ponger(channels: &'static PingPong<NoopRawMutex>) {
    ponger(channels).await;
}

/// `cs`: two tasks ping-pong over critical-section channels.
fn cs() -> u32 {
    spawn_executor_thread(|| {
        let channels: &'static PingPong<_> = CS_CHANNELS.init(PingPong::new());
        CS_EXECUTOR.run_until(
            |spawner| {
                spawner.spawn(cs_ponger(channels).expect("a free task slot"));
                spawner.spawn(cs_pinger(channels).expect("a free task slot"));
            },
            finished,
        );
    });
    join_executor_thread();
    CYCLES.load(Ordering::Relaxed)
}

/// `noop`: two tasks ping-pong over lock-free channels (only for tasks of one executor: the
/// channels are created on the executor's thread and never leave it).
fn noop() -> u32 {
    spawn_executor_thread(|| {
        let channels: &'static PingPong<_> = NOOP_CHANNELS.init(PingPong::new());
        NOOP_EXECUTOR.run_until(
            |spawner| {
                spawner.spawn(noop_ponger(channels).expect("a free task slot"));
                spawner.spawn(noop_pinger(channels).expect("a free task slot"));
            },
            finished,
        );
    });
    join_executor_thread();
    CYCLES.load(Ordering::Relaxed)
}

// ---- thread to task: thread-task --------------------------------------------------------

/// Thread to task: the measuring thread's request.
static REQUEST: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// Task to thread: the answer, which the thread waits for in `k_sem_take`.
static REPLY: Semaphore = Semaphore::new(0, 1);

/// Answers [`ROUND_TRIPS`] + 1 requests (the warm-up included), then sets [`FINISHED`].
#[embassy_executor::task]
async fn answerer() {
    for _ in 0..=ROUND_TRIPS {
        REQUEST.wait().await;
        REPLY.give();
    }
    FINISHED.store(true, Ordering::Relaxed);
}

/// `thread-task`: the calling thread signals a task on an executor thread of its own
/// priority, and waits on a semaphore the task gives.
fn thread_task() -> u32 {
    spawn_executor_thread(|| {
        THREAD_TASK_EXECUTOR
            .run_until(|spawner| spawner.spawn(answerer().expect("a free task slot")), finished);
    });
    let round_trip = || {
        REQUEST.signal(());
        REPLY.take(Forever).expect("a semaphore taken forever returns 0");
    };
    round_trip();
    let start = cycles();
    for _ in 0..ROUND_TRIPS {
        round_trip();
    }
    let elapsed = cycles().wrapping_sub(start);
    join_executor_thread();
    elapsed
}

// ---- thread to interrupt: irq-task ------------------------------------------------------

/// The `irq-task` scenario's executor, on [`IRQ_EXECUTOR_LINE`].
#[cfg(feature = "irq")]
static IRQ_EXECUTOR: InterruptExecutor = InterruptExecutor::new();
/// Thread to interrupt task: the measuring thread's request.
#[cfg(feature = "irq")]
static IRQ_REQUEST: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// Interrupt task to thread: the answer, given in the line's handler.
#[cfg(feature = "irq")]
static IRQ_REPLY: Semaphore = Semaphore::new(0, 1);

/// Answers [`ROUND_TRIPS`] + 1 requests (the warm-up included), in ISR context.
#[cfg(feature = "irq")]
#[embassy_executor::task]
async fn irq_answerer() {
    for _ in 0..=ROUND_TRIPS {
        IRQ_REQUEST.wait().await;
        IRQ_REPLY.give();
    }
}

/// `irq-task`: the calling thread signals a task on an `InterruptExecutor`, which runs in the
/// line's handler before `signal` returns, and takes the semaphore the task gave.
#[cfg(feature = "irq")]
fn irq_task() -> u32 {
    IRQ_EXECUTOR
        .start(IRQ_EXECUTOR_LINE, IRQ_PRIORITY)
        .spawn(irq_answerer().expect("a free task slot"));
    let round_trip = || {
        IRQ_REQUEST.signal(());
        IRQ_REPLY.take(Forever).expect("a semaphore taken forever returns 0");
    };
    round_trip();
    let start = cycles();
    for _ in 0..ROUND_TRIPS {
        round_trip();
    }
    cycles().wrapping_sub(start)
}

// ---- the application --------------------------------------------------------------------

/// The application's entry point: Zephyr's `main` calls it on the main thread; on the host,
/// `examples`' `bench-app` runner calls it on the simulator's main thread. Runs every scenario
/// in turn, prints its line, and returns after `bench done`.
///
/// # Panics
/// If a thread cannot be spawned or joined (a kernel configured without room for them).
#[no_mangle]
pub extern "C-unwind" fn rust_main() {
    ThreadId::current()
        .set_priority(MEASURE_PRIORITY)
        .expect("MEASURE_PRIORITY is an application priority");
    report("thread", baseline::thread_round_trips(URGENT_PARTNER_PRIORITY, ROUND_TRIPS));
    report("thread-same-prio", baseline::thread_round_trips(MEASURE_PRIORITY, ROUND_TRIPS));
    report("cs", cs());
    report("noop", noop());
    report("thread-task", thread_task());
    report("irq", baseline::irq_round_trips(IRQ_LINE, IRQ_PRIORITY, ROUND_TRIPS));
    #[cfg(feature = "irq")]
    report("irq-task", irq_task());
    // SAFETY: a plain query of the cycle counter's rate.
    let hz = unsafe { zephyr::raw::sys_clock_hw_cycles_per_sec() };
    printkln!("bench hw_cycles_per_sec={hz}");
    printkln!("bench done");
}
