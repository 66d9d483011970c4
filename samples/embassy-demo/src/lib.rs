//! The main demo: Embassy tasks on two Zephyr threads of different priorities, every line
//! stamped with the kernel's time. The same code runs on a board and on the simulated kernel.
//!
//! * The `urgent` executor (a Zephyr thread at priority 2) runs a 200 ms `Ticker` heartbeat
//!   and a task that waits for readings from a plain Zephyr thread (`sensor`, priority 8).
//! * The `relaxed` executor (priority 6) runs two tasks that ping-pong over embassy-sync
//!   channels, a task that crunches numbers (busy for 30 ms, so the heartbeat preempts it), and
//!   spawns a task onto the urgent executor with a `SendSpawner`.
//! * Between events both executors park their threads in the kernel: the `sensor` thread and
//!   the idle thread get the CPU.
//!
//! # Where it runs
//! * **On Zephyr**: this directory is a Zephyr application (`CMakeLists.txt`, `prj.conf`); the
//!   `zephyr/` module builds the crate as a static library and its C `main()` calls
//!   [`rust_main`]. For example `west build -b qemu_cortex_m3 samples/embassy-demo --
//!   -DZEPHYR_EXTRA_MODULES=$PWD` from the repository root. The timestamps then come from the
//!   board's clock, so they differ from the simulator's by the kernel's latencies.
//! * **On the simulator**: `cargo run -p examples --bin embassy-demo` boots the simulated kernel
//!   with `main` at [`MAIN_PRIORITY`] and calls [`rust_main`]; in virtual time the output is
//!   exact and `examples/tests/golden/embassy-demo.txt` checks it (add `-- --realtime` to watch
//!   it at the speed of a real board).
//!
//! `no_std`: the crate uses only `zephyr`, the Embassy crates and `static_cell`, never the host.
#![no_std]

use embassy_executor::{SendSpawner, Spawner};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Instant, Ticker, Timer};
use static_cell::StaticCell;
use zephyr::embassy::Executor;
use zephyr::sys::sync::Semaphore;
use zephyr::thread::{Thread, ThreadId, ThreadStack};
use zephyr::time::{Forever, NoWait};
use zephyr::{printkln, time};

/// The main thread's priority: less urgent than every thread it starts, so each runs as soon as
/// it is ready (`CONFIG_MAIN_THREAD_PRIORITY` in `prj.conf`; the simulator runner boots with it).
pub const MAIN_PRIORITY: i32 = 10;

static URGENT: Thread = Thread::named("urgent");
static URGENT_STACK: ThreadStack<4096> = ThreadStack::new();
static URGENT_EXECUTOR: StaticCell<Executor> = StaticCell::new();
static RELAXED: Thread = Thread::named("relaxed");
static RELAXED_STACK: ThreadStack<4096> = ThreadStack::new();
static RELAXED_EXECUTOR: StaticCell<Executor> = StaticCell::new();
static SENSOR: Thread = Thread::named("sensor");
static SENSOR_STACK: ThreadStack<2048> = ThreadStack::new();

static PING: Channel<CriticalSectionRawMutex, u32, 1> = Channel::new();
static PONG: Channel<CriticalSectionRawMutex, u32, 1> = Channel::new();
static READING: Signal<CriticalSectionRawMutex, u32> = Signal::new();
static URGENT_SPAWNER: Signal<CriticalSectionRawMutex, SendSpawner> = Signal::new();
static DONE: Semaphore = Semaphore::new(0, 1);

/// Prints a line stamped with the kernel's uptime (virtual time on the simulator) and the speaker.
macro_rules! say {
    ($who:expr, $($arg:tt)*) => {{
        let us = Instant::now().as_micros();
        printkln!("[{:>4}.{:03} ms] {:<9} {}", us / 1000, us % 1000, $who, format_args!($($arg)*));
    }};
}

#[embassy_executor::task]
async fn heartbeat() {
    let start = Instant::now();
    let mut ticker = Ticker::every(Duration::from_millis(200));
    for n in 1..=5u64 {
        ticker.next().await;
        let late = Instant::now() - (start + Duration::from_millis(200 * n));
        say!("urgent", "heartbeat {n} (late by {} us)", late.as_micros());
    }
    DONE.give();
}

#[embassy_executor::task]
async fn sensor_reader() {
    loop {
        let value = READING.wait().await;
        say!("urgent", "reading {value} from the sensor thread, inside its signal() call");
    }
}

#[embassy_executor::task]
async fn report(rounds: u32) {
    say!("urgent", "report task (spawned by the relaxed executor): {rounds} round trips done");
}

#[embassy_executor::task]
async fn pinger(urgent: SendSpawner) {
    for i in 1..=3 {
        PING.send(i).await;
        let reply = PONG.receive().await;
        say!("relaxed", "ping {i} -> pong {reply}");
    }
    urgent.spawn(report(3).unwrap());
    say!("relaxed", "spawned `report` on the urgent executor; it already ran");
}

#[embassy_executor::task]
async fn ponger() {
    loop {
        let v = PING.receive().await;
        PONG.send(v * 10).await;
    }
}

#[embassy_executor::task]
async fn cruncher() {
    Timer::at(Instant::from_millis(390)).await;
    say!("relaxed", "crunching for 30 ms without yielding...");
    time::busy_wait(zephyr::time::Duration::from_millis(30));
    say!("relaxed", "crunch done (the heartbeat preempted it at 400 ms)");
}

fn urgent_main(spawner: Spawner) {
    URGENT_SPAWNER.signal(spawner.make_send());
    spawner.spawn(heartbeat().unwrap());
    spawner.spawn(sensor_reader().unwrap());
}

fn relaxed_main(spawner: Spawner) {
    let urgent = URGENT_SPAWNER.try_take().expect("the urgent executor started first");
    spawner.spawn(ponger().unwrap());
    spawner.spawn(pinger(urgent).unwrap());
    spawner.spawn(cruncher().unwrap());
}

/// The application's entry point: Zephyr's `main` calls it on the main thread; on the host,
/// `examples`' `embassy-demo` runner calls it on the simulator's main thread. It returns when the
/// heartbeat has beaten five times (the executors and their threads run on).
///
/// The main thread must be the least urgent of the demo's threads ([`MAIN_PRIORITY`]); if it is
/// not (a `prj.conf` without `CONFIG_MAIN_THREAD_PRIORITY=10`), it lowers its own priority first.
#[no_mangle]
pub extern "C-unwind" fn rust_main() {
    let main = ThreadId::current();
    if main.priority() != MAIN_PRIORITY {
        main.set_priority(MAIN_PRIORITY).expect("a valid application priority");
    }
    say!("main", "starting executors at priorities 2 and 6, and the sensor thread at 8");
    URGENT
        .spawn(&URGENT_STACK, 2, || URGENT_EXECUTOR.init(Executor::new()).run(urgent_main))
        .expect("urgent thread");
    RELAXED
        .spawn(&RELAXED_STACK, 6, || RELAXED_EXECUTOR.init(Executor::new()).run(relaxed_main))
        .expect("relaxed thread");
    SENSOR
        .spawn(&SENSOR_STACK, 8, || {
            for (wait_ms, value) in [(150, 21), (300, 42)] {
                time::sleep(zephyr::time::Duration::from_millis(wait_ms));
                say!("sensor", "signal({value}) from a plain Zephyr thread");
                READING.signal(value);
                say!("sensor", "signal() returned");
            }
        })
        .expect("sensor thread");
    say!("main", "waiting for the heartbeat to finish");
    DONE.take(Forever).expect("a semaphore taken forever returns 0");
    assert!(DONE.take(NoWait).is_err());
    say!("main", "done");
}
