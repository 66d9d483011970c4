//! Embassy on two Zephyr threads, written against the upstream zephyr-lang-rust `zephyr` crate's
//! API and built here with no change to this source: `zephyr::set_logger` and `log`, a
//! `kobj_define!` thread with its priority, `zephyr::embassy::Executor` on each thread, a
//! `SendSpawner` crossing between them, `embassy-time` timers on the kernel's clock, a kernel
//! semaphore given by a plain thread and counted with `count_get`, `zephyr::kconfig`.
//!
//! On the simulator: `cargo run -p examples --bin upstream-embassy`, or, as for any such crate,
//! `scripts/sim-run samples/upstream/embassy`.

#![no_std]

use core::ffi::c_int;

use embassy_executor::{SendSpawner, Spawner};
use embassy_futures::select::{select, Either};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Ticker, Timer};
use log::info;
use static_cell::StaticCell;
use zephyr::embassy::Executor;
use zephyr::raw;
use zephyr::sys::sync::Semaphore;
use zephyr::time::NoWait;
use zephyr::{kobj_define, printkln};

/// The main thread's executor: more urgent than the low one.
const MAIN_PRIO: c_int = 2;
/// The second executor's thread.
const LOW_PRIO: c_int = 5;
/// A plain Zephyr thread that produces readings, least urgent.
const SENSOR_PRIO: c_int = 7;
/// How many workers the main executor runs at once.
const NUM_WORKERS: usize = 3;

static EXECUTOR_MAIN: StaticCell<Executor> = StaticCell::new();
static EXECUTOR_LOW: StaticCell<Executor> = StaticCell::new();

static LOW_SPAWNER: Channel<CriticalSectionRawMutex, SendSpawner, 1> = Channel::new();
/// One job channel per worker: an embassy-sync channel keeps one receiver waker, so workers
/// sharing one would keep waking each other.
static JOBS: [Channel<CriticalSectionRawMutex, u32, 2>; NUM_WORKERS] =
    [const { Channel::new() }; NUM_WORKERS];
static ANSWERS: Channel<CriticalSectionRawMutex, (usize, u32), 2> = Channel::new();

/// Readings the sensor thread has produced and nobody has taken yet.
static READINGS: Semaphore = Semaphore::new(0, 10);

kobj_define! {
    static LOW_THREAD: StaticThread;
    static LOW_STACK: ThreadStack<4096>;
    static SENSOR_THREAD: StaticThread;
    static SENSOR_STACK: ThreadStack<2048>;
}

#[no_mangle]
extern "C" fn rust_main() {
    unsafe {
        zephyr::set_logger().unwrap();
    }

    unsafe {
        raw::k_thread_priority_set(raw::k_current_get(), MAIN_PRIO);
    }

    let mut thread = LOW_THREAD.init_once(LOW_STACK.init_once(()).unwrap()).unwrap();
    thread.set_priority(LOW_PRIO);
    thread.set_name(c"low");
    thread.spawn(move || {
        low_executor();
    });

    let mut sensor = SENSOR_THREAD.init_once(SENSOR_STACK.init_once(()).unwrap()).unwrap();
    sensor.set_priority(SENSOR_PRIO);
    sensor.set_name(c"sensor");
    sensor.spawn(sensor_thread);

    info!(
        "Starting Embassy on {} at {} ticks per second",
        zephyr::kconfig::CONFIG_BOARD,
        zephyr::time::SYS_FREQUENCY
    );

    let executor = EXECUTOR_MAIN.init(Executor::new());
    executor.run(|spawner| {
        spawner.spawn(main(spawner).unwrap());
    })
}

fn low_executor() -> ! {
    let executor = EXECUTOR_LOW.init(Executor::new());
    executor.run(|spawner| {
        LOW_SPAWNER.try_send(spawner.make_send()).ok().unwrap();
    })
}

/// A plain Zephyr thread: a reading every 150 ms, five in all.
fn sensor_thread() {
    for _ in 0..5 {
        zephyr::time::sleep(zephyr::time::Duration::millis_at_least(150));
        READINGS.give();
    }
}

/// Prints a line stamped with embassy-time's clock, which is the kernel's.
macro_rules! say {
    ($($arg:tt)*) => {
        printkln!("{:>5} ms  {}", Instant::now().as_millis(), format_args!($($arg)*))
    };
}

#[embassy_executor::task]
async fn main(spawner: Spawner) {
    info!("Main task begins");
    let low_spawner = LOW_SPAWNER.receive().await;

    // A task on the other executor, through its SendSpawner.
    low_spawner.spawn(crunch().unwrap());
    for id in 0..NUM_WORKERS {
        spawner.spawn(worker(id).unwrap());
    }

    let mut ticker = Ticker::every(Duration::from_millis(100));
    let mut answers = 0;
    while answers < 6 {
        match select(ANSWERS.receive(), ticker.next()).await {
            Either::First((id, value)) => {
                answers += 1;
                say!("answer {} from worker {}", value, id);
            }
            Either::Second(()) => say!("tick; {} readings waiting", READINGS.count_get()),
        }
    }

    let kernel_ms = zephyr::time::now().ticks() * 1000 / u64::from(zephyr::time::SYS_FREQUENCY);
    say!("kernel clock says {} ms", kernel_ms);

    // Take every reading the sensor has produced so far without waiting.
    let mut taken = 0;
    while READINGS.take(NoWait).is_ok() {
        taken += 1;
    }
    say!("took {} readings", taken);
    info!("Embassy tests passed");
}

#[embassy_executor::task(pool_size = NUM_WORKERS)]
async fn worker(id: usize) {
    loop {
        let job = JOBS[id].receive().await;
        Timer::after_millis(10 * (id as u64 + 1)).await;
        ANSWERS.send((id, job * job)).await;
    }
}

/// On the low executor: hands out six jobs, one every 70 ms.
#[embassy_executor::task]
async fn crunch() {
    for job in 1..=6 {
        Timer::after(Duration::from_millis(70)).await;
        say!("low executor queues job {}", job);
        JOBS[job as usize % NUM_WORKERS].send(job).await;
    }
}
